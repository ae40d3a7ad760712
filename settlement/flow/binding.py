"""Binding a customer's Pi payment to the merchant and quote it pays, before anything approves it.

Why: a Pi payment identifier alone says nothing about whom the customer meant to pay. Anyone who
learns one (a merchant's server sees its customers' ids, a shared checkout page shows them) could
present it with their own quote and have the platform approve it, settle it into their own escrow,
and leave the intended merchant with nothing. So whoever starts the payment (the merchant's Pi app
or the platform's checkout) calls ``Pi.createPayment`` with

    metadata: {"merchant": <merchant id>, "quote": <quote id>, "request": <payment request id>?}

and the Pi platform keeps that object with the payment, out of the presenter's reach. Before a Pi
payment is recorded, approved, or credited, the platform reads Pi's own record of it
(``GET /v2/payments/{id}``) and compares it with ours: the metadata names exactly the merchant and
the quote the payment is being bound to, the amount is the quote's, it is a user-to-app payment to
the platform's account, and (when the caller knows it) the payer is the expected Pioneer. Anything
else is refused, and the refusal never repeats what the metadata named, so it cannot tell one
merchant anything about another.

The API's ``POST /v1/payments``, the Pi callbacks, the approval and verification steps of
:class:`~settlement.flow.pi_flow.PiPaymentFlow` (which the reconciler replays) and the hosted
checkout all call :func:`binding_refusal` / :func:`check_binding`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from settlement.flow import checks
from settlement.flow.errors import PiPaymentCancelledError, PiPaymentMismatchError, PiPaymentNotBoundError
from settlement.payments.models import Payment
from settlement.pi.platform_client import PiPayment, PiPlatformClient

MERCHANT_KEY = "merchant"
"""Metadata key naming the merchant the payment pays (its id as text)."""
QUOTE_KEY = "quote"
"""Metadata key naming the firm quote the payment is priced at (its UUID as text)."""
REQUEST_KEY = "request"
"""Optional metadata key naming the merchant's payment request (hosted checkout)."""


@dataclass(frozen=True)
class Binding:
    """What a Pi payment must be bound to, from our own records.

    Attributes:
        merchant_id: The merchant the payment is recorded for (``payments.merchant_id``).
        quote_id: The quote it is recorded at.
        amount: Pi minor units it must carry (the quote's ``sell_amount``).
        request_id: The payment request it must name, when the caller presents one.
        payer_uid: The Pioneer who must pay it, when the caller knows them (``user_uid``).
    """

    merchant_id: str
    quote_id: uuid.UUID
    amount: int
    request_id: str | None = None
    payer_uid: str | None = None


def binding_of(payment: Payment) -> Binding:
    """The binding a recorded payment keeps: its merchant, its quote and its Pi amount."""
    return Binding(merchant_id=payment.merchant_id, quote_id=payment.quote_id, amount=payment.pi_amount)


def payment_metadata(
    merchant_id: str | uuid.UUID, quote_id: uuid.UUID | str, request_id: str | None = None
) -> dict[str, str]:
    """The ``metadata`` to give ``Pi.createPayment`` so the payment binds to this merchant and quote."""
    metadata = {MERCHANT_KEY: str(merchant_id), QUOTE_KEY: str(quote_id)}
    if request_id is not None:
        metadata[REQUEST_KEY] = request_id
    return metadata


def _names(value: Any, expected: str) -> bool:
    """Whether a metadata value names ``expected`` exactly (UUIDs in any standard spelling)."""
    if not isinstance(value, str):
        return False
    if value == expected:
        return True
    try:
        return uuid.UUID(value) == uuid.UUID(expected)
    except ValueError:
        return False


def metadata_refusal(pi: PiPayment, binding: Binding) -> str | None:
    """Why Pi's metadata (and payer) do not bind the payment to ``binding``, or None.

    The reasons name only what the caller itself asked for, never what the metadata says.
    """
    metadata = pi.metadata if isinstance(pi.metadata, dict) else {}
    if not _names(metadata.get(MERCHANT_KEY), binding.merchant_id):
        return (
            f"Pi payment {pi.identifier} is not bound to merchant {binding.merchant_id}: "
            f"Pi.createPayment's metadata must name it as {MERCHANT_KEY!r}"
        )
    if not _names(metadata.get(QUOTE_KEY), str(binding.quote_id)):
        return (
            f"Pi payment {pi.identifier} is not bound to quote {binding.quote_id}: "
            f"Pi.createPayment's metadata must name it as {QUOTE_KEY!r}"
        )
    if binding.request_id is not None and not _names(metadata.get(REQUEST_KEY), binding.request_id):
        return (
            f"Pi payment {pi.identifier} is not bound to payment request {binding.request_id}: "
            f"Pi.createPayment's metadata must name it as {REQUEST_KEY!r}"
        )
    if binding.payer_uid is not None and pi.user_uid != binding.payer_uid:
        return f"Pi payment {pi.identifier} is not made by the expected Pioneer"
    return None


def binding_refusal(pi: PiPayment, binding: Binding, *, pi_payment_id: str, app_address: str) -> str | None:
    """Why Pi's record of a payment cannot be bound to ``binding``, or None when it can.

    Checks the metadata first (a payment meant for someone else is refused as such, whatever its
    amount), then the payment itself (:func:`settlement.flow.checks.pi_payment_mismatch`).
    """
    if pi.identifier != pi_payment_id:
        return f"the Pi platform answered payment {pi.identifier}, not {pi_payment_id}"
    return metadata_refusal(pi, binding) or checks.pi_payment_mismatch(
        pi, pi_payment_id=pi_payment_id, amount=binding.amount, app_address=app_address
    )


def check_binding(
    platform: PiPlatformClient, pi_payment_id: str, binding: Binding, *, app_address: str
) -> PiPayment:
    """Reads the payment on the Pi platform and raises unless it binds to ``binding`` and is open.

    Changes nothing anywhere: callers run it before recording or approving the payment.

    Returns:
        Pi's record of the payment.

    Raises:
        PiPaymentNotBoundError: its metadata (or payer) names another merchant, quote or request,
            or none (422).
        PiPaymentMismatchError: another amount, direction or destination (422).
        PiPaymentCancelledError: cancelled already (409).
        PiPaymentNotFoundError: the Pi platform does not know the payment (404).
        PiPlatformUnavailableError: the Pi platform did not answer (503; retry).
    """
    pi = platform.get_payment(pi_payment_id)
    unbound = metadata_refusal(pi, binding) if pi.identifier == pi_payment_id else None
    if unbound is not None:
        raise PiPaymentNotBoundError(pi_payment_id, unbound)
    mismatch = binding_refusal(pi, binding, pi_payment_id=pi_payment_id, app_address=app_address)
    if mismatch is not None:
        raise PiPaymentMismatchError(pi_payment_id, mismatch)
    if pi.status.cancelled or pi.status.user_cancelled:
        raise PiPaymentCancelledError(pi_payment_id)
    return pi
