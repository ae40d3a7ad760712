"""``/v1/webhooks``: a merchant's webhook endpoints, secret rotation, events and redelivery."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from sqlalchemy.orm import Session, sessionmaker

from api.auth import Principal, require_role
from api.db import get_sessions
from api.errors import error_responses
from api.idempotency import Idempotency, idempotency
from api.models import Role
from api.settings import ApiSettings
from api.webhooks.schemas import (
    DeliveryRead,
    EndpointCreate,
    EndpointCreated,
    EndpointList,
    EndpointRead,
    EventList,
    EventRead,
    Redeliver,
    SecretRotate,
    SecretRotated,
)
from settlement.webhooks import service
from settlement.webhooks.events import DATA_FIELDS, EventType
from settlement.webhooks.targets import Resolver, TargetPolicy, resolve_target

EVENTS_DOC = "\n".join(f"* `{t.value}`: {fields}" for t, fields in DATA_FIELDS.items())
CREATE_DOC = f"""Adds an endpoint and returns its signing secret, shown this once.

Each delivery is a POST of `{{"id", "type", "created", "merchant_id", "data"}}` with the headers
`MSC-Signature`, `MSC-Event-Id` and `MSC-Event-Type`. Answer 2xx within 10 s; anything else is
retried with exponential backoff (30 s doubling, with jitter) up to 8 attempts, then the delivery
is `dead` (redeliver it by hand). The event `id` is the same on every attempt: de-duplicate on it.
Amounts are integers of minor units. The URL's host must be, and resolve to, public addresses only
(no loopback, private, link-local, multicast or reserved address, in any spelling); in production
it must be https. Redirects are not followed. A failed delivery shows its status code and a
generic reason, never the receiving server's answer.
Event types and their `data`:

{EVENTS_DOC}
"""

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])

Sessions = Annotated[sessionmaker[Session], Depends(get_sessions)]
Merchant = Annotated[Principal, Depends(require_role(Role.MERCHANT))]


def _merchant(principal: Principal) -> uuid.UUID:
    assert principal.merchant_id is not None  # merchant keys always have one (a CHECK constraint)
    return principal.merchant_id


def _target_policy(request: Request) -> tuple[TargetPolicy, Resolver | None]:
    """The webhook target policy of this app (private targets only in development, by setting;
    https only in production) and its resolver (``app.state.webhook_resolver``; tests inject one)."""
    settings: ApiSettings = request.app.state.settings
    policy = TargetPolicy(
        allow_private=settings.webhook_allow_private_targets,
        require_https=settings.environment == "production",
    )
    return policy, getattr(request.app.state, "webhook_resolver", None)


def _without_secret(body: Any) -> Any:
    return {**body, "secret": None}


@router.post(
    "/endpoints",
    status_code=201,
    response_model=EndpointCreated,
    responses=error_responses(400, 401, 403, 409, 413, 422),
    summary="Add a webhook endpoint (merchant)",
    description=CREATE_DOC,
)
def create_endpoint(
    request: Request,
    data: EndpointCreate,
    principal: Merchant,
    idem: Annotated[Idempotency, Depends(idempotency)],
    sessions: Sessions,
) -> Response:
    """Adds an endpoint and returns its signing secret, shown this once (see ``CREATE_DOC``)."""

    policy, resolver = _target_policy(request)
    resolve_target(str(data.url), policy, resolver)  # the dispatcher checks again at each delivery

    def effect(session: Session) -> EndpointCreated:
        endpoint, secret = service.create_endpoint(
            session, _merchant(principal), str(data.url), data.event_types, data.description
        )
        return EndpointCreated(endpoint=EndpointRead.of(endpoint), secret=secret)

    return idem.run(sessions, effect, status_code=201, redact=_without_secret)


@router.get(
    "/endpoints",
    response_model=EndpointList,
    responses=error_responses(401, 403),
    summary="The merchant's webhook endpoints (merchant)",
)
def list_endpoints(principal: Merchant, sessions: Sessions) -> EndpointList:
    """Live endpoints, oldest first; secrets are never listed."""
    with sessions() as session:
        return EndpointList(
            endpoints=[EndpointRead.of(e) for e in service.list_endpoints(session, _merchant(principal))]
        )


@router.delete(
    "/endpoints/{endpoint_id}",
    status_code=204,
    response_class=Response,
    responses=error_responses(401, 403, 404, 422),
    summary="Delete a webhook endpoint (merchant)",
)
def delete_endpoint(endpoint_id: uuid.UUID, principal: Merchant, sessions: Sessions) -> Response:
    """Stops deliveries to the endpoint; deliveries still waiting become `dead`."""
    with sessions.begin() as session:
        service.delete_endpoint(session, _merchant(principal), endpoint_id)
    return Response(status_code=204)


@router.post(
    "/endpoints/{endpoint_id}/rotate-secret",
    response_model=SecretRotated,
    responses=error_responses(400, 401, 403, 404, 409, 413, 422),
    summary="Rotate an endpoint's signing secret (merchant)",
)
def rotate_secret(
    endpoint_id: uuid.UUID,
    data: SecretRotate,
    principal: Merchant,
    idem: Annotated[Idempotency, Depends(idempotency)],
    sessions: Sessions,
) -> Response:
    """Issues a new secret; the old one keeps signing for `grace_period_s`.

    Meanwhile each delivery carries two `v1` signatures (one per secret), so a receiver holding
    either secret accepts it: deploy the new secret, then let the old one expire.
    """

    def effect(session: Session) -> SecretRotated:
        secret, until = service.rotate_secret(session, _merchant(principal), endpoint_id, data.grace_period_s)
        return SecretRotated(secret=secret, previous_secrets_expire_at=until)

    return idem.run(sessions, effect, status_code=200, redact=_without_secret)


@router.get(
    "/events",
    response_model=EventList,
    responses=error_responses(401, 403, 422),
    summary="The merchant's webhook events (merchant)",
)
def list_events(
    principal: Merchant,
    sessions: Sessions,
    limit: Annotated[int, Query(ge=1, le=200, description="How many, newest first.")] = 50,
    type: Annotated[EventType | None, Query(description="Only events of this type.")] = None,
) -> EventList:
    """Newest events first, each with its deliveries' status, attempts and last answer."""
    with sessions() as session:
        rows = service.list_events(
            session, _merchant(principal), limit=limit, event_type=type.value if type else None
        )
        return EventList(events=[EventRead.of(event, deliveries) for event, deliveries in rows])


@router.post(
    "/events/{event_id}/redeliver",
    status_code=202,
    response_model=DeliveryRead,
    responses=error_responses(400, 401, 403, 404, 409, 413, 422),
    summary="Send an event to an endpoint again (merchant)",
)
def redeliver(
    event_id: Annotated[str, Path(min_length=1, max_length=40, description="`evt_...`")],
    data: Redeliver,
    principal: Merchant,
    idem: Annotated[Idempotency, Depends(idempotency)],
    sessions: Sessions,
) -> Response:
    """Schedules the event for the endpoint now, with the same event id and body (a dead delivery
    gets a fresh retry schedule); 409 while a delivery of it is in flight."""

    def effect(session: Session) -> DeliveryRead:
        return DeliveryRead.of(service.redeliver(session, _merchant(principal), event_id, data.endpoint_id))

    return idem.run(sessions, effect, status_code=202)
