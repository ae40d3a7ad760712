"""Merchant webhooks: events written in the same transaction as the change they announce (a
transactional outbox), delivered by a dispatcher with Stripe-style signatures, retries with
exponential backoff and jitter, and a dead state after the last attempt.

``emit`` is what other services call; ``verify_signature`` is what merchants (and the tests) use
to check what they receive; ``WebhookDispatcher.run_once`` delivers what is due.
"""

from settlement.webhooks.dispatcher import DispatchReport, WebhookDispatcher
from settlement.webhooks.events import EventType
from settlement.webhooks.service import emit
from settlement.webhooks.signing import SIGNATURE_HEADER, sign, verify_signature

__all__ = [
    "SIGNATURE_HEADER",
    "DispatchReport",
    "EventType",
    "WebhookDispatcher",
    "emit",
    "sign",
    "verify_signature",
]
