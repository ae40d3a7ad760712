"""Errors of merchant webhooks, each built from the object it is about."""

from __future__ import annotations

import uuid

from common.errors import ConflictError, NotFoundError, ValidationError
from settlement.webhooks.signing import WebhookSignatureError

__all__ = [
    "DeliveryInFlightError",
    "EndpointNotFoundError",
    "EventDedupeConflictError",
    "EventNotFoundError",
    "InvalidEventError",
    "TooManyEndpointsError",
    "WebhookSignatureError",
]


class InvalidEventError(ValidationError):
    """An event type that does not exist, or data that cannot be sent as exact JSON."""

    code = "invalid_webhook_event"


class EndpointNotFoundError(NotFoundError):
    """No live endpoint with this id belongs to the merchant."""

    code = "webhook_endpoint_not_found"

    def __init__(self, endpoint_id: uuid.UUID) -> None:
        super().__init__(f"webhook endpoint {endpoint_id} does not exist", endpoint_id=str(endpoint_id))


class EventNotFoundError(NotFoundError):
    """No event with this id belongs to the merchant."""

    code = "webhook_event_not_found"

    def __init__(self, event_id: str) -> None:
        super().__init__(f"webhook event {event_id} does not exist", event_id=event_id)


class EventDedupeConflictError(ConflictError):
    """A dedupe key was already used for an event of another type or with other data."""

    code = "webhook_event_dedupe_conflict"

    def __init__(self, dedupe_key: str, event_id: str) -> None:
        super().__init__(
            f"dedupe key {dedupe_key!r} was already used by event {event_id} with another type or data",
            dedupe_key=dedupe_key,
            event_id=event_id,
        )


class DeliveryInFlightError(ConflictError):
    """A redelivery was asked for while a dispatcher is sending the event to that endpoint."""

    code = "webhook_delivery_in_flight"

    def __init__(self, event_id: str, endpoint_id: uuid.UUID) -> None:
        super().__init__(
            f"event {event_id} is being delivered to endpoint {endpoint_id} right now; retry shortly",
            event_id=event_id,
            endpoint_id=str(endpoint_id),
        )


class TooManyEndpointsError(ConflictError):
    """The merchant already has the largest number of live endpoints allowed."""

    code = "webhook_endpoint_limit"

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"a merchant can have at most {limit} webhook endpoints; delete one first", limit=limit
        )
