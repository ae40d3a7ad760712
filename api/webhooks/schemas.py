"""Request and response shapes of merchant webhooks."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, UrlConstraints

from api.types import Bigint, CleanName
from settlement.webhooks.events import EventType
from settlement.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint, WebhookEvent
from settlement.webhooks.service import MAX_ROTATION_GRACE_S

WebhookUrl = Annotated[AnyHttpUrl, UrlConstraints(max_length=2048, allowed_schemes=["http", "https"])]
Description = CleanName

SECRET_NOTE = (
    "Shown only in this response. Verify each delivery's `MSC-Signature` header "
    "(`t=<unix>,v1=<hex>[,v1=<hex>...]`): HMAC-SHA256 of `<t>.<raw body>` keyed by this secret; "
    "`settlement.webhooks.verify_signature` does it. `null` on an idempotent replay."
)


class EndpointCreate(BaseModel):
    """An endpoint to add."""

    model_config = ConfigDict(extra="forbid")

    url: WebhookUrl = Field(description="Where events are POSTed (http or https).")
    event_types: list[EventType] = Field(
        min_length=1, max_length=len(EventType), description="Event types this endpoint receives."
    )
    description: Description | None = Field(default=None, description="A note for the merchant's own use.")


class EndpointRead(BaseModel):
    """A webhook endpoint (its secrets are never listed)."""

    id: uuid.UUID
    url: str
    event_types: list[EventType]
    description: str | None
    created_at: datetime

    @classmethod
    def of(cls, endpoint: WebhookEndpoint) -> EndpointRead:
        """The response shape of ``endpoint``."""
        return cls(
            id=endpoint.id,
            url=endpoint.url,
            event_types=[EventType(t) for t in endpoint.event_types],
            description=endpoint.description,
            created_at=endpoint.created_at,
        )


class EndpointCreated(BaseModel):
    """A new endpoint and its signing secret."""

    endpoint: EndpointRead
    secret: str | None = Field(description=SECRET_NOTE)


class EndpointList(BaseModel):
    """The merchant's endpoints, oldest first."""

    endpoints: list[EndpointRead]


class SecretRotate(BaseModel):
    """How long the current secrets keep signing next to the new one."""

    model_config = ConfigDict(extra="forbid")

    grace_period_s: Annotated[Bigint, Field(le=MAX_ROTATION_GRACE_S)] = Field(
        default=86_400,
        description="Seconds during which deliveries carry a `v1` for the old secret(s) as well as the "
        "new one, so the receiver can switch secrets without refusing genuine events.",
    )


class SecretRotated(BaseModel):
    """The endpoint's new secret."""

    secret: str | None = Field(description=SECRET_NOTE)
    previous_secrets_expire_at: datetime = Field(description="When the old secret(s) stop signing.")


class DeliveryRead(BaseModel):
    """One event's delivery to one endpoint."""

    endpoint_id: uuid.UUID
    status: DeliveryStatus
    attempts: int = Field(description="POSTs made so far.")
    next_attempt_at: datetime = Field(description="When the next attempt is due (while `pending`).")
    last_status_code: int | None = Field(description="HTTP status of the last attempt; null: no answer.")
    last_error: str | None
    delivered_at: datetime | None

    @classmethod
    def of(cls, d: WebhookDelivery) -> DeliveryRead:
        """The response shape of ``d``."""
        return cls(
            endpoint_id=d.endpoint_id,
            status=DeliveryStatus(d.status),
            attempts=d.attempts,
            next_attempt_at=d.next_attempt_at,
            last_status_code=d.last_status_code,
            last_error=d.last_error,
            delivered_at=d.delivered_at,
        )


class EventRead(BaseModel):
    """An event and where its deliveries are."""

    id: str = Field(description="`evt_...`; the same on every attempt, for de-duplication.")
    type: EventType
    created_at: datetime
    data: dict[str, Any] = Field(description="The payload; see the event type's documentation.")
    deliveries: list[DeliveryRead]

    @classmethod
    def of(cls, event: WebhookEvent, deliveries: list[WebhookDelivery]) -> EventRead:
        """The response shape of ``event``."""
        return cls(
            id=event.id,
            type=EventType(event.type),
            created_at=event.created_at,
            data=event.data,
            deliveries=[DeliveryRead.of(d) for d in deliveries],
        )


class EventList(BaseModel):
    """The merchant's newest events first."""

    events: list[EventRead]


class Redeliver(BaseModel):
    """Which endpoint to send the event to again."""

    model_config = ConfigDict(extra="forbid")

    endpoint_id: uuid.UUID
