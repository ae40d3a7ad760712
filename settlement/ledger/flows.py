"""The ledger entries of each business movement of a payment or payout.

Every helper posts under an idempotency key derived from the payment or payout id and the
movement (``payment:<id>:conversion:PI``), so a retried task, a restart or a duplicate callback
posts nothing twice. Helpers do not check statuses: the caller moves the record's status and
posts the movement in one transaction. The accounts are described in :mod:`settlement.ledger.chart`.

Movement                         Entries (Dr / Cr)
-------------------------------  -----------------------------------------------------------------
pi received                      PI: pi_platform_wallet / pi_received
conversion at the quote          PI: pi_received / fees_income (one leg per fee item) + fx_conversion
                                 IDR: fx_conversion / idr_owed_to_merchant:<m>
MSC minted to escrow             IDR: idr_owed_to_merchant:<m> / msc_minted_to_escrow:<m>
release from escrow              IDR: msc_minted_to_escrow:<m> / msc_merchant_balance:<m>
redemption (MSC burned)          IDR: msc_merchant_balance:<m> / merchant_payouts_pending + fees_income
payout paid                      IDR: merchant_payouts_pending / bank_payouts
payout failed                    IDR: merchant_payouts_pending / payouts_failed
payout reversed                  IDR: payouts_failed + fees_income / msc_merchant_balance:<m>
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from common.errors import ValidationError
from settlement.ledger import chart
from settlement.ledger.models import Currency, JournalEntry
from settlement.ledger.service import EntryDraft, Leg, credit, debit, post, post_all
from settlement.payments.models import Payment
from settlement.payouts.models import Payout
from settlement.quotes.models import Quote


def _payment_entry(payment: Payment, movement: str, currency: Currency, *legs: Leg, note: str) -> EntryDraft:
    return EntryDraft(
        idempotency_key=f"payment:{payment.id}:{movement}:{currency}",
        currency=currency,
        kind=movement,
        legs=tuple(legs),
        reference=str(payment.id),
        description=f"{note} (Pi payment {payment.pi_payment_id}, merchant {payment.merchant_id})",
    )


def _payout_entry(payout: Payout, movement: str, *legs: Leg, note: str) -> EntryDraft:
    return EntryDraft(
        idempotency_key=f"payout:{payout.id}:{movement}",
        currency=Currency.IDR,
        kind=movement,
        legs=tuple(legs),
        reference=str(payout.id),
        description=f"{note} (payout {payout.idempotency_key}, merchant {payout.merchant_id})",
    )


def record_pi_received(session: Session, payment: Payment) -> JournalEntry:
    """The customer's Pi arrived in the platform wallet (after the txid was verified)."""
    return post(
        session,
        _payment_entry(
            payment,
            "pi_received",
            Currency.PI,
            debit(chart.PI_PLATFORM_WALLET, payment.pi_amount),
            credit(chart.PI_RECEIVED, payment.pi_amount),
            note="Pi received",
        ),
    )


def record_conversion(session: Session, payment: Payment, quote: Quote) -> list[JournalEntry]:
    """The payment's Pi converted to Rupiah owed to the merchant at its firm quote, fee itemised.

    Raises:
        ValidationError: the quote is not the payment's, or their amounts disagree.
    """
    if quote.id != payment.quote_id or (quote.sell_amount, quote.fee_total, quote.buy_amount) != (
        payment.pi_amount,
        payment.fee_pi,
        payment.idr_amount,
    ):
        raise ValidationError(
            f"quote {quote.id} does not match payment {payment.id}", payment_id=str(payment.id)
        )
    fee_legs = [credit(chart.FEES_INCOME_PI, int(item["amount"])) for item in quote.fee_details]
    converted = payment.pi_amount - payment.fee_pi
    names = ", ".join(f"{item['name']} {item['amount']}" for item in quote.fee_details) or "none"
    pi_leg = _payment_entry(
        payment,
        "conversion",
        Currency.PI,
        debit(chart.PI_RECEIVED, payment.pi_amount),
        *fee_legs,
        credit(chart.FX_CONVERSION_PI, converted),
        note=f"Pi sold at quote {quote.id} (fee: {names})",
    )
    idr_leg = _payment_entry(
        payment,
        "conversion",
        Currency.IDR,
        debit(chart.FX_CONVERSION_IDR, payment.idr_amount),
        credit(chart.idr_owed_to_merchant(payment.merchant_id), payment.idr_amount),
        note=f"Rupiah owed at quote {quote.id}",
    )
    return post_all(session, [pi_leg, idr_leg])


def record_msc_minted_to_escrow(session: Session, payment: Payment) -> JournalEntry:
    """The merchant's Rupiah minted as MSC into the escrow, keyed by the payment id."""
    merchant = payment.merchant_id
    return post(
        session,
        _payment_entry(
            payment,
            "msc_minted_to_escrow",
            Currency.IDR,
            debit(chart.idr_owed_to_merchant(merchant), payment.idr_amount),
            credit(chart.msc_minted_to_escrow(merchant), payment.idr_amount),
            note="MSC minted to escrow",
        ),
    )


def record_release(session: Session, payment: Payment) -> JournalEntry:
    """The payment's escrowed MSC released to the merchant's wallet."""
    merchant = payment.merchant_id
    return post(
        session,
        _payment_entry(
            payment,
            "release",
            Currency.IDR,
            debit(chart.msc_minted_to_escrow(merchant), payment.idr_amount),
            credit(chart.msc_merchant_balance(merchant), payment.idr_amount),
            note="escrow released",
        ),
    )


def record_redemption(session: Session, payout: Payout) -> JournalEntry:
    """The merchant's MSC burned for a Rupiah payout; the fee, if any, is income."""
    legs = [
        debit(chart.msc_merchant_balance(payout.merchant_id), payout.amount),
        credit(chart.MERCHANT_PAYOUTS_PENDING, payout.net_amount),
    ]
    if payout.fee:
        legs.append(credit(chart.FEES_INCOME_IDR, payout.fee))
    return post(session, _payout_entry(payout, "redemption", *legs, note="MSC redeemed"))


def record_payout_paid(session: Session, payout: Payout) -> JournalEntry:
    """The bank confirmed the Rupiah transfer."""
    return post(
        session,
        _payout_entry(
            payout,
            "payout_paid",
            debit(chart.MERCHANT_PAYOUTS_PENDING, payout.net_amount),
            credit(chart.BANK_PAYOUTS, payout.net_amount),
            note="payout paid",
        ),
    )


def record_payout_failed(session: Session, payout: Payout) -> JournalEntry:
    """The bank rejected the transfer; the Rupiah is owed until the payout is reversed."""
    return post(
        session,
        _payout_entry(
            payout,
            "payout_failed",
            debit(chart.MERCHANT_PAYOUTS_PENDING, payout.net_amount),
            credit(chart.PAYOUTS_FAILED, payout.net_amount),
            note="payout failed",
        ),
    )


def record_payout_reversed(session: Session, payout: Payout) -> JournalEntry:
    """A failed payout undone: the full amount, fee included, goes back to the merchant as MSC."""
    legs = [debit(chart.PAYOUTS_FAILED, payout.net_amount)]
    if payout.fee:
        legs.append(debit(chart.FEES_INCOME_IDR, payout.fee))
    legs.append(credit(chart.msc_merchant_balance(payout.merchant_id), payout.amount))
    return post(session, _payout_entry(payout, "payout_reversed", *legs, note="payout reversed"))
