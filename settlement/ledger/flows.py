"""The ledger entries of each business movement of a payment or payout.

Every helper posts under an idempotency key derived from the payment or payout id and the
movement (``payment:<id>:conversion:PI``), so a retried task, a restart or a duplicate callback
posts nothing twice. Escrow outcomes that can happen more than once per payment (partial refunds)
or that belong to no payment (guarantee fund changes) are keyed by the chain event that reported
them (``escrow:<tx hash>:<log index>``); a release, at most one per payment, keeps its payment key
so the releaser and the escrow books (:mod:`settlement.escrowbooks`) book it once between them.
Helpers do not check statuses: the caller moves the record's status and posts the movement in one
transaction. The accounts are described in :mod:`settlement.ledger.chart`.

Movement                         Entries (Dr / Cr)
-------------------------------  -----------------------------------------------------------------
pi received                      PI: pi_platform_wallet / pi_received
conversion at the quote          PI: pi_received / fees_income (one leg per fee item) + fx_conversion
                                 IDR: fx_conversion / idr_owed_to_merchant:<m>
MSC minted to escrow             IDR: idr_owed_to_merchant:<m> / msc_minted_to_escrow:<m>
release from escrow              IDR: msc_minted_to_escrow:<m> / msc_merchant_balance:<m>
refund by the merchant           IDR: msc_minted_to_escrow:<m> / customer_refunds_owed
dispute decided by the arbiter   IDR: msc_minted_to_escrow:<m> / msc_merchant_balance:<m>
                                      + customer_refunds_owed
dispute decided by default       IDR: msc_minted_to_escrow:<m> / customer_refunds_owed
guarantee fund covers a refund   IDR: guarantee_fund / customer_refunds_owed
guarantee fund paid in           IDR: guarantee_fund_contributions / guarantee_fund
guarantee fund withdrawn         IDR: guarantee_fund / guarantee_fund_contributions
pay-back: Pi paid to the customer PI: fees_income (fee share) + fx_conversion / pi_platform_wallet
pay-back: MSC burned             IDR: customer_refunds_owed / fx_conversion
redemption (MSC burned)          IDR: msc_merchant_balance:<m> / merchant_payouts_pending + fees_income
payout paid                      IDR: merchant_payouts_pending / bank_payouts
payout failed                    IDR: merchant_payouts_pending / payouts_failed
payout reversed                  IDR: payouts_failed + fees_income / msc_merchant_balance:<m>
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from common.errors import ValidationError
from settlement.ledger import chart
from settlement.ledger.models import Currency, JournalEntry
from settlement.ledger.service import EntryDraft, Leg, credit, debit, post, post_all
from settlement.paybacks.models import Payback
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


def record_release(session: Session, payment: Payment, amount: int | None = None) -> JournalEntry:
    """The payment's escrowed MSC released to the merchant's wallet.

    Args:
        amount: What the escrow released (its ``Released`` event, or ``getPayment().amount`` once
            released): the payment's amount less what the merchant refunded before. Default: the
            whole payment.
    """
    merchant = payment.merchant_id
    released = payment.idr_amount if amount is None else amount
    return post(
        session,
        _payment_entry(
            payment,
            "release",
            Currency.IDR,
            debit(chart.msc_minted_to_escrow(merchant), released),
            credit(chart.msc_merchant_balance(merchant), released),
            note="escrow released",
        ),
    )


@dataclass(frozen=True, slots=True)
class ChainEvent:
    """The on-chain log an escrow outcome was read from: its identity is the idempotency key."""

    tx_hash: str
    """``0x`` lowercase hex."""
    log_index: int

    @property
    def key(self) -> str:
        """``escrow:<tx hash>:<log index>``."""
        return f"escrow:{self.tx_hash.lower()}:{self.log_index}"


def _escrow_entry(
    event: ChainEvent, movement: str, *legs: Leg, reference: str | None, note: str
) -> EntryDraft:
    return EntryDraft(
        idempotency_key=event.key,
        currency=Currency.IDR,
        kind=movement,
        legs=tuple(legs),
        reference=reference,
        description=f"{note} (transaction {event.tx_hash}, log {event.log_index})",
    )


def _of(payment: Payment) -> str:
    return f"(Pi payment {payment.pi_payment_id}, merchant {payment.merchant_id})"


def record_escrow_refund(session: Session, payment: Payment, amount: int, event: ChainEvent) -> JournalEntry:
    """The merchant refunded ``amount`` of the escrowed payment to the payer (the platform), which
    now owes it to the customer; one entry per ``Refunded`` event (a payment can be refunded in parts)."""
    return post(
        session,
        _escrow_entry(
            event,
            "escrow_refund",
            debit(chart.msc_minted_to_escrow(payment.merchant_id), amount),
            credit(chart.CUSTOMER_REFUNDS_OWED, amount),
            reference=str(payment.id),
            note=f"escrow refunded by the merchant {_of(payment)}",
        ),
    )


def record_dispute_resolution(
    session: Session,
    payment: Payment,
    to_merchant: int,
    to_payer: int,
    by_default: bool,
    event: ChainEvent,
) -> JournalEntry:
    """A dispute decided: the arbiter's split (``escrow_split``) or, after the arbiter's deadline,
    the default full refund (``escrow_default_refund``). The payer's share is owed to the customer.

    Raises:
        ValidationError: nothing was left to decide (a disputed payment always holds something).
    """
    legs = []
    if to_merchant:
        legs.append(credit(chart.msc_merchant_balance(payment.merchant_id), to_merchant))
    if to_payer:
        legs.append(credit(chart.CUSTOMER_REFUNDS_OWED, to_payer))
    total = to_merchant + to_payer
    if total <= 0 or to_merchant < 0 or to_payer < 0:
        raise ValidationError(
            f"dispute resolution of payment {payment.id} moved {to_merchant} + {to_payer}",
            payment_id=str(payment.id),
        )
    return post(
        session,
        _escrow_entry(
            event,
            "escrow_default_refund" if by_default else "escrow_split",
            debit(chart.msc_minted_to_escrow(payment.merchant_id), total),
            *legs,
            reference=str(payment.id),
            note=(
                f"dispute {'decided by default' if by_default else 'split by the arbiter'}: "
                f"{to_merchant} to merchant {payment.merchant_id}, {to_payer} to the customer "
                f"(Pi payment {payment.pi_payment_id})"
            ),
        ),
    )


def record_guarantee_refund(
    session: Session, payment: Payment, amount: int, event: ChainEvent
) -> JournalEntry:
    """The guarantee fund paid ``amount`` of a released payment back to the payer (the platform),
    owed to the customer; the merchant's debt to the fund stays on-chain (``covered``)."""
    return post(
        session,
        _escrow_entry(
            event,
            "guarantee_refund",
            debit(chart.GUARANTEE_FUND, amount),
            credit(chart.CUSTOMER_REFUNDS_OWED, amount),
            reference=str(payment.id),
            note=f"refund covered by the guarantee fund {_of(payment)}",
        ),
    )


def record_guarantee_fund_change(session: Session, delta: int, actor: str, event: ChainEvent) -> JournalEntry:
    """The operator paid MSC into the guarantee fund (``delta`` > 0) or withdrew it (``delta`` < 0).

    A decrease that pays a covered refund is booked by :func:`record_guarantee_refund`, not here.

    Raises:
        ValidationError: ``delta`` is zero.
    """
    if delta > 0:
        legs = (debit(chart.GUARANTEE_FUND_CONTRIBUTIONS, delta), credit(chart.GUARANTEE_FUND, delta))
        movement, note = "guarantee_funded", f"guarantee fund paid in by {actor}"
    else:
        legs = (debit(chart.GUARANTEE_FUND, -delta), credit(chart.GUARANTEE_FUND_CONTRIBUTIONS, -delta))
        movement, note = "guarantee_withdrawn", f"guarantee fund withdrawn by {actor}"
    return post(session, _escrow_entry(event, movement, *legs, reference=None, note=note))


def _payback_entry(payback: Payback, movement: str, currency: Currency, *legs: Leg, note: str) -> EntryDraft:
    return EntryDraft(
        idempotency_key=f"payback:{payback.id}:{movement}",
        currency=currency,
        kind=movement,
        legs=tuple(legs),
        # The payment's id, as on the refund entries: customer_refunds_owed is read per payment.
        reference=str(payback.payment_id),
        description=f"{note} (pay-back {payback.id} of {payback.source_key})",
    )


def record_payback_pi_paid(session: Session, payback: Payback) -> JournalEntry | None:
    """The customer's Pi left the platform wallet: the conversion is reversed in Pi, the quote's
    fee share out of fees income (:mod:`settlement.paybacks.share`). None when no Pi was owed."""
    if payback.pi_amount == 0:
        return None
    legs = [credit(chart.PI_PLATFORM_WALLET, payback.pi_amount)]
    if payback.fee_pi:
        legs.append(debit(chart.FEES_INCOME_PI, payback.fee_pi))
    if payback.pi_amount > payback.fee_pi:
        legs.append(debit(chart.FX_CONVERSION_PI, payback.pi_amount - payback.fee_pi))
    return post(session, _payback_entry(payback, "payback_pi_paid", Currency.PI, *legs, note="Pi paid back"))


def record_payback_burned(session: Session, payback: Payback) -> JournalEntry:
    """The MSC paid back for the customer is burned: nothing is owed for it any more, and the
    Rupiah it stood for goes back to the conversion account it came from."""
    return post(
        session,
        _payback_entry(
            payback,
            "payback_burned",
            Currency.IDR,
            debit(chart.CUSTOMER_REFUNDS_OWED, payback.msc_amount),
            credit(chart.FX_CONVERSION_IDR, payback.msc_amount),
            note="MSC paid back by the escrow burned",
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
