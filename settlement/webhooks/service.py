"""Emitting events (the transactional outbox) and managing a merchant's endpoints and secrets.

Every function works in the caller's session and never commits: :func:`emit` is called inside the
transaction of the state change it announces, so the event and its deliveries exist exactly when
that change committed, and a dispatcher delivers them afterwards.
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from common.sql.helpers import insert_or_ignore, utcnow
from settlement.webhooks.errors import (
    DeliveryInFlightError,
    EndpointNotFoundError,
    EventDedupeConflictError,
    EventNotFoundError,
    InvalidEventError,
    TooManyEndpointsError,
)
from settlement.webhooks.events import EventType
from settlement.webhooks.models import (
    DeliveryStatus,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
    WebhookSecret,
)

SECRET_PREFIX = "whsec_"
MAX_ENDPOINTS_PER_MERCHANT = 16
MAX_ROTATION_GRACE_S = 7 * 24 * 3600


def new_secret() -> str:
    """A fresh signing secret: ``whsec_`` + 192 random bits."""
    return SECRET_PREFIX + secrets.token_hex(24)


def _check_data(value: Any, path: str = "data") -> None:
    """Refuses what JSON cannot carry exactly: floats (money is integers), non-string keys, objects."""
    if isinstance(value, bool) or value is None or isinstance(value, int | str):
        return
    if isinstance(value, float):
        raise InvalidEventError(f"{path} is a float; amounts are integers of minor units", field=path)
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidEventError(f"{path} has a non-string key {key!r}", field=path)
            _check_data(item, f"{path}.{key}")
        return
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check_data(item, f"{path}[{i}]")
        return
    raise InvalidEventError(f"{path} is a {type(value).__name__}, which JSON cannot carry", field=path)


def _event_type(event_type: str) -> EventType:
    try:
        return EventType(event_type)
    except ValueError:
        names = ", ".join(t.value for t in EventType)
        raise InvalidEventError(f"unknown event type {event_type!r}; types are {names}") from None


def emit(
    session: Session,
    merchant_id: str | uuid.UUID,
    event_type: str,
    data: Mapping[str, Any],
    *,
    dedupe_key: str | None = None,
    now: datetime | None = None,
) -> str:
    """Records an event and one pending delivery per subscribed endpoint, in the caller's transaction.

    Args:
        session: The transaction of the state change the event announces.
        merchant_id: The merchant the event belongs to.
        event_type: An :class:`EventType` value (its docstring lists ``data``'s fields).
        data: The event's payload; integers for amounts, no floats.
        dedupe_key: When given, emitting the same key again (a retried job) returns the first
            event's id and adds nothing.
        now: Current time (default: the clock).

    Returns:
        The event id (``evt_...``), which receivers de-duplicate on.

    Raises:
        InvalidEventError: unknown type, or data JSON cannot carry exactly.
        EventDedupeConflictError: the dedupe key was used for another type or other data.
    """
    kind = _event_type(event_type)
    _check_data(data)
    now = now or utcnow()
    merchant = str(merchant_id)
    event_id = f"evt_{uuid.uuid4().hex}"
    plain = json.loads(json.dumps(dict(data)))
    body = json.dumps(
        {
            "id": event_id,
            "type": kind.value,
            "created": int(now.timestamp()),
            "merchant_id": merchant,
            "data": plain,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    values = {
        "id": event_id,
        "merchant_id": merchant,
        "type": kind.value,
        "dedupe_key": dedupe_key,
        "data": plain,
        "body": body,
        "created_at": now,
    }
    table = WebhookEvent.__table__
    if dedupe_key is not None:
        if not insert_or_ignore(session, table, values, conflict=["merchant_id", "dedupe_key"]):  # type: ignore[arg-type]
            first = session.scalars(
                select(WebhookEvent).where(
                    WebhookEvent.merchant_id == merchant, WebhookEvent.dedupe_key == dedupe_key
                )
            ).one()
            if first.type != kind.value or first.data != plain:
                raise EventDedupeConflictError(dedupe_key, first.id)
            return first.id
    else:
        session.execute(table.insert().values(**values))  # type: ignore[attr-defined]
    for endpoint in _live_endpoints(session, merchant):
        if kind.value in endpoint.event_types:
            session.add(_pending(event_id, endpoint.id, now))
    session.flush()
    return event_id


def _pending(event_id: str, endpoint_id: uuid.UUID, now: datetime) -> WebhookDelivery:
    return WebhookDelivery(
        event_id=event_id,
        endpoint_id=endpoint_id,
        status=DeliveryStatus.PENDING.value,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )


def _live_endpoints(session: Session, merchant_id: str) -> list[WebhookEndpoint]:
    return list(
        session.scalars(
            select(WebhookEndpoint)
            .where(WebhookEndpoint.merchant_id == merchant_id, WebhookEndpoint.deleted_at.is_(None))
            .order_by(WebhookEndpoint.created_at, WebhookEndpoint.id)
        )
    )


def create_endpoint(
    session: Session,
    merchant_id: str | uuid.UUID,
    url: str,
    event_types: Iterable[str],
    description: str | None = None,
    *,
    now: datetime | None = None,
) -> tuple[WebhookEndpoint, str]:
    """Adds an endpoint with its first secret; returns both (the secret is shown to the merchant once).

    Raises:
        InvalidEventError: an unknown event type, or none.
        TooManyEndpointsError: the merchant is at :data:`MAX_ENDPOINTS_PER_MERCHANT`.
    """
    now = now or utcnow()
    merchant = str(merchant_id)
    types = sorted({_event_type(t).value for t in event_types})
    if not types:
        raise InvalidEventError("an endpoint subscribes to at least one event type")
    if len(_live_endpoints(session, merchant)) >= MAX_ENDPOINTS_PER_MERCHANT:
        raise TooManyEndpointsError(MAX_ENDPOINTS_PER_MERCHANT)
    endpoint = WebhookEndpoint(
        id=uuid.uuid4(),
        merchant_id=merchant,
        url=url,
        event_types=types,
        description=description,
        created_at=now,
    )
    secret = new_secret()
    session.add(endpoint)
    session.flush()
    session.add(WebhookSecret(id=uuid.uuid4(), endpoint_id=endpoint.id, secret=secret, created_at=now))
    session.flush()
    return endpoint, secret


def get_endpoint(session: Session, merchant_id: str | uuid.UUID, endpoint_id: uuid.UUID) -> WebhookEndpoint:
    """A live endpoint of the merchant.

    Raises:
        EndpointNotFoundError: none (or another merchant's, or deleted).
    """
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or endpoint.merchant_id != str(merchant_id) or endpoint.deleted_at is not None:
        raise EndpointNotFoundError(endpoint_id)
    return endpoint


def list_endpoints(session: Session, merchant_id: str | uuid.UUID) -> list[WebhookEndpoint]:
    """The merchant's live endpoints, oldest first."""
    return _live_endpoints(session, str(merchant_id))


def delete_endpoint(
    session: Session, merchant_id: str | uuid.UUID, endpoint_id: uuid.UUID, *, now: datetime | None = None
) -> None:
    """Deletes an endpoint: no new deliveries; its waiting deliveries become dead.

    Raises:
        EndpointNotFoundError: no live endpoint with this id for the merchant.
    """
    now = now or utcnow()
    endpoint = get_endpoint(session, merchant_id, endpoint_id)
    endpoint.deleted_at = now
    session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.endpoint_id == endpoint_id,
            WebhookDelivery.status == DeliveryStatus.PENDING.value,
        )
        .values(status=DeliveryStatus.DEAD.value, last_error="endpoint deleted")
    )
    session.flush()


def active_secrets(session: Session, endpoint_id: uuid.UUID, now: datetime) -> list[str]:
    """The secrets that sign a delivery made at ``now``: the current one first, then those in grace."""
    rows = session.scalars(
        select(WebhookSecret)
        .where(
            WebhookSecret.endpoint_id == endpoint_id,
            or_(WebhookSecret.expires_at.is_(None), WebhookSecret.expires_at > now),
        )
        .order_by(WebhookSecret.created_at.desc(), WebhookSecret.id)
    )
    return [row.secret for row in rows]


def rotate_secret(
    session: Session,
    merchant_id: str | uuid.UUID,
    endpoint_id: uuid.UUID,
    grace_s: int,
    *,
    now: datetime | None = None,
) -> tuple[str, datetime]:
    """Adds a new secret; the current ones keep signing for ``grace_s`` seconds more.

    During the grace period every delivery carries one ``v1`` per active secret, so the merchant
    can switch its receiver to the new secret at any moment without refusing a genuine event.

    Returns:
        The new secret (shown once) and when the old ones stop signing.

    Raises:
        EndpointNotFoundError: no live endpoint with this id for the merchant.
        InvalidEventError: ``grace_s`` outside 0 .. :data:`MAX_ROTATION_GRACE_S`.
    """
    if not 0 <= grace_s <= MAX_ROTATION_GRACE_S:
        raise InvalidEventError(f"the grace period is 0 to {MAX_ROTATION_GRACE_S} seconds", grace_s=grace_s)
    now = now or utcnow()
    get_endpoint(session, merchant_id, endpoint_id)
    old_until = now + timedelta(seconds=grace_s)
    # Secrets already in an earlier grace period keep their (earlier) end.
    session.execute(
        update(WebhookSecret)
        .where(
            WebhookSecret.endpoint_id == endpoint_id,
            or_(WebhookSecret.expires_at.is_(None), WebhookSecret.expires_at > old_until),
        )
        .values(expires_at=old_until)
    )
    secret = new_secret()
    session.add(WebhookSecret(id=uuid.uuid4(), endpoint_id=endpoint_id, secret=secret, created_at=now))
    session.flush()
    return secret, old_until


def get_event(session: Session, merchant_id: str | uuid.UUID, event_id: str) -> WebhookEvent:
    """An event of the merchant.

    Raises:
        EventNotFoundError: none (or another merchant's).
    """
    event = session.get(WebhookEvent, event_id)
    if event is None or event.merchant_id != str(merchant_id):
        raise EventNotFoundError(event_id)
    return event


def list_events(
    session: Session, merchant_id: str | uuid.UUID, *, limit: int = 50, event_type: str | None = None
) -> list[tuple[WebhookEvent, list[WebhookDelivery]]]:
    """The merchant's newest events with their deliveries."""
    query = select(WebhookEvent).where(WebhookEvent.merchant_id == str(merchant_id))
    if event_type is not None:
        query = query.where(WebhookEvent.type == _event_type(event_type).value)
    events = list(
        session.scalars(query.order_by(WebhookEvent.created_at.desc(), WebhookEvent.id).limit(limit))
    )
    return [(event, deliveries_of(session, event.id)) for event in events]


def deliveries_of(session: Session, event_id: str) -> list[WebhookDelivery]:
    """The deliveries of one event, by endpoint creation order."""
    return list(
        session.scalars(
            select(WebhookDelivery).where(WebhookDelivery.event_id == event_id).order_by(WebhookDelivery.id)
        )
    )


def redeliver(
    session: Session,
    merchant_id: str | uuid.UUID,
    event_id: str,
    endpoint_id: uuid.UUID,
    *,
    now: datetime | None = None,
) -> WebhookDelivery:
    """Schedules the event for delivery to the endpoint now, with the same event id and body.

    A delivered or dead delivery goes back to pending (its attempt count restarts, so a dead one
    gets the full retry schedule again); an endpoint created after the event gets a new delivery.

    Raises:
        EventNotFoundError / EndpointNotFoundError: not the merchant's.
        DeliveryInFlightError: a dispatcher is sending it right now.
    """
    now = now or utcnow()
    get_event(session, merchant_id, event_id)
    get_endpoint(session, merchant_id, endpoint_id)
    inserted = insert_or_ignore(
        session,
        WebhookDelivery.__table__,  # type: ignore[arg-type]
        {
            "event_id": event_id,
            "endpoint_id": endpoint_id,
            "status": DeliveryStatus.PENDING.value,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        },
        conflict=["event_id", "endpoint_id"],
    )
    if not inserted:
        reset = session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.event_id == event_id,
                WebhookDelivery.endpoint_id == endpoint_id,
                WebhookDelivery.status != DeliveryStatus.SENDING.value,
            )
            .values(status=DeliveryStatus.PENDING.value, attempts=0, next_attempt_at=now, delivered_at=None)
        )
        if reset.rowcount != 1:  # type: ignore[attr-defined]
            raise DeliveryInFlightError(event_id, endpoint_id)
    session.expire_all()
    return session.scalars(
        select(WebhookDelivery).where(
            WebhookDelivery.event_id == event_id, WebhookDelivery.endpoint_id == endpoint_id
        )
    ).one()
