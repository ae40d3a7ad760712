"""SQL tables of merchant webhooks: endpoints, their signing secrets, events and deliveries.

Invariants (tested in tests/settlement/webhooks/):

* an event row and its delivery rows are written in the transaction of the change they announce,
  so an event exists exactly when its change committed;
* there is at most one delivery per (event, endpoint) (a unique constraint), and a delivery is
  claimed by one dispatcher at a time (a conditional UPDATE with a lease);
* the delivered body is the event's stored ``body``, byte for byte, on every attempt.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from common.sql.base import Base
from common.sql.helpers import BigId, UtcDateTime


class DeliveryStatus(StrEnum):
    """Where one delivery of an event to an endpoint is."""

    PENDING = "pending"
    """Waiting for its attempt at ``next_attempt_at`` (first one, or a retry after a failure)."""
    SENDING = "sending"
    """Claimed by a dispatcher until ``lease_until``; after that any dispatcher may claim it again."""
    DELIVERED = "delivered"
    """The endpoint answered 2xx; done (until a merchant asks for a redelivery)."""
    DEAD = "dead"
    """Every attempt failed (or the endpoint was deleted); only a manual redelivery sends it again."""


class WebhookEndpoint(Base):
    """A merchant's URL that receives events of the types it subscribed to."""

    __tablename__ = "webhook_endpoints"
    __table_args__ = (Index("ix_webhook_endpoints_merchant_id", "merchant_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    merchant_id: Mapped[str] = mapped_column(String(128), nullable=False, doc="The owning merchant.")
    url: Mapped[str] = mapped_column(String(2048), nullable=False, doc="http(s) URL events are POSTed to.")
    event_types: Mapped[list[str]] = mapped_column(
        JSON, nullable=False, doc="EventType values this endpoint receives."
    )
    description: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    deleted_at: Mapped[datetime | None] = mapped_column(
        UtcDateTime, nullable=True, doc="Set when deleted; kept so past deliveries still name it."
    )


class WebhookSecret(Base):
    """A signing secret of an endpoint; several are active during a rotation's grace period.

    The secret must be stored in a usable form (HMAC needs it), as Stripe does; it is shown to the
    merchant when created and never returned by a listing.
    """

    __tablename__ = "webhook_secrets"
    __table_args__ = (Index("ix_webhook_secrets_endpoint_id", "endpoint_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    endpoint_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("webhook_endpoints.id"), nullable=False)
    secret: Mapped[str] = mapped_column(String(64), nullable=False, doc="`whsec_` + random; the HMAC key.")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    expires_at: Mapped[datetime | None] = mapped_column(
        UtcDateTime, nullable=True, doc="None while current; a rotation sets it to now + grace period."
    )


class WebhookEvent(Base):
    """Something that happened to a merchant, with the exact body every delivery sends."""

    __tablename__ = "webhook_events"
    __table_args__ = (
        UniqueConstraint("merchant_id", "dedupe_key"),
        Index("ix_webhook_events_merchant_id_created_at", "merchant_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True, doc="`evt_` + 32 hex digits.")
    merchant_id: Mapped[str] = mapped_column(String(128), nullable=False)
    type: Mapped[str] = mapped_column(String(64), nullable=False, doc="An EventType value.")
    dedupe_key: Mapped[str | None] = mapped_column(
        String(255), nullable=True, doc="Caller-chosen key: emitting it again returns the first event."
    )
    data: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False, doc="The JSON body POSTed, byte for byte.")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)


class WebhookDelivery(Base):
    """The delivery of one event to one endpoint, with its attempts and schedule."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "endpoint_id"),
        Index("ix_webhook_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
        CheckConstraint("status IN ('pending', 'sending', 'delivered', 'dead')", name="status_valid"),
        CheckConstraint("attempts >= 0", name="attempts_valid"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(40), ForeignKey("webhook_events.id"), nullable=False)
    endpoint_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("webhook_endpoints.id"), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, doc="A DeliveryStatus value.")
    attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0, doc="POSTs made so far.")
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    claim_token: Mapped[str | None] = mapped_column(String(32), nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    last_status_code: Mapped[int | None] = mapped_column(
        Integer, nullable=True, doc="HTTP status of the last attempt (None: no answer)."
    )
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
