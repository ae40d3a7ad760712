"""The webhook event types and the payload (``data``) each one carries.

Every delivery body is the JSON object ``{"id", "type", "created", "merchant_id", "data"}``:

* ``id`` — ``evt_`` + 32 hex digits, unique per event and the same on every attempt and
  redelivery, so a receiver de-duplicates on it;
* ``type`` — one of :class:`EventType`;
* ``created`` — Unix seconds when the event was emitted (with the state change);
* ``merchant_id`` — the merchant the event belongs to;
* ``data`` — the object below. Amounts are JSON integers of minor units (Pi: 10^-7 Pi,
  IDR / MSC: sen), never floats.
"""

from __future__ import annotations

from enum import StrEnum


class EventType(StrEnum):
    """What happened; the docstring of each value lists the fields of its ``data``."""

    PAYMENT_COMPLETED = "payment.completed"
    """A customer's Pi payment was verified and settled into the merchant escrow.

    ``data``: ``payment_id`` (str), ``pi_payment_id`` (str), ``amount_pi_minor`` (int, 10^-7 Pi),
    ``amount_idr_minor`` (int, sen credited to the merchant), ``quote_id`` (str), ``txid`` (str,
    the Pi blockchain transaction), ``escrow_payment_id`` (str, 0x bytes32 on chain).
    """
    PAYMENT_FAILED = "payment.failed"
    """A payment ended without settlement (cancelled, expired, or its Pi transaction did not verify).

    ``data``: ``payment_id`` (str), ``pi_payment_id`` (str), ``amount_pi_minor`` (int),
    ``reason`` (str, machine-readable), ``message`` (str, human-readable).
    """
    PAYOUT_PAID = "payout.paid"
    """A redemption's bank transfer was confirmed: Rupiah reached the merchant's account.

    ``data``: ``payout_id`` (str), ``amount_idr_minor`` (int, sen), ``bank_reference`` (str),
    ``burn_tx_hash`` (str, the MSC burn on chain).
    """
    PAYOUT_FAILED = "payout.failed"
    """A redemption's bank transfer failed; the burned MSC is re-issued to the merchant.

    ``data``: ``payout_id`` (str), ``amount_idr_minor`` (int, sen), ``reason`` (str),
    ``message`` (str).
    """
    MERCHANT_BANK_ACCOUNT_CHANGED = "merchant.bank_account_changed"
    """An owner changed the bank account the merchant's payouts go to (with its second factor).

    ``data``: ``bank_code`` (str), ``account_last4`` (str, the number's last four digits),
    ``holder_name`` (str), ``changed_by_user_id`` (str, empty when an operator changed it).
    """


DATA_FIELDS: dict[EventType, str] = {
    EventType.PAYMENT_COMPLETED: "`payment_id`, `pi_payment_id`, `amount_pi_minor` (int, 10^-7 Pi), "
    "`amount_idr_minor` (int, sen), `quote_id`, `txid`, `escrow_payment_id`",
    EventType.PAYMENT_FAILED: "`payment_id`, `pi_payment_id`, `amount_pi_minor` (int), `reason`, `message`",
    EventType.PAYOUT_PAID: "`payout_id`, `amount_idr_minor` (int, sen), `bank_reference`, `burn_tx_hash`",
    EventType.PAYOUT_FAILED: "`payout_id`, `amount_idr_minor` (int, sen), `reason`, `message`",
    EventType.MERCHANT_BANK_ACCOUNT_CHANGED: (
        "`bank_code`, `account_last4`, `holder_name`, `changed_by_user_id`"
    ),
}
"""The ``data`` fields of each event type, as the API documents them (the docstrings above say more)."""
