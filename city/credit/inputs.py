"""Reads a merchant's LDCI inputs (:class:`city.credit.ldci.LdciInputs`) from the books.

What counts, the same way as the LPUI (:mod:`city.lpui.compute`):

* a settled payment is a ``payments`` row in status ``completed``, counted once on the
  Asia/Jakarta day of its ``payment_status_history`` move to ``completed``, worth its
  ``idr_amount`` in sen; expired, errored or Pi-refunded payments never settled and never count;
* a refund is a ``merchant_refunds`` row of one of the window's settled payments that did not
  fail (requested, signed, sent or confirmed: the merchant chose to pay back);
* a dispute is an ``escrow_payments`` row (the chain mirror) of one of the window's settled
  payments whose status is ``disputed`` (open) or ``split`` (decided by the arbiter);
* an MSC payment is an MSC transfer from a customer's wallet straight to the merchant's registered
  wallet, read from the chain mirror on its block's Jakarta day (:mod:`city.mirror_payments`, as
  the LPUI counts it); it is a sale like a settled payment, with no refund or dispute of its own
  (those go through the platform);
* the first sale is the merchant's earliest settled payment or MSC payment up to the day scored.

Payers: a settled payment keeps the Pi user who paid it (``payments.payer_uid``, stored by the
settlement flow with the credit since migration 0036), an MSC payment its paying wallet;
``payer_counts`` counts the window's sales per payer. Payments settled before 0036 have no payer
and are left out of the counts; when none of the window's sales has one, ``payer_counts`` is None
and the customer-diversity component is reported as not measured rather than guessed.

``city`` reads other packages' tables as the books (lightweight ``table()`` declarations), never
the web app's models (docs/architecture.md).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Boolean, String, Uuid, column, func, select, table
from sqlalchemy.orm import Session

from city.credit.ldci import WINDOW_DAYS, DayFigures, LdciInputs
from city.mirror_payments import MscPayment, msc_payments
from common.errors import ValidationError
from common.sql.types import HexBytes
from settlement.minting.ids import payment_id_from_escrow_id
from settlement.payments.models import Payment, PaymentStatus, PaymentStatusChange

JAKARTA = ZoneInfo("Asia/Jakarta")

merchants_table = table(
    "merchants",
    column("id", Uuid),
    column("name", String),
    column("kelurahan", String),
    column("kelurahan_code", String),
    column("simulated", Boolean),
    column("evm_address", String),
)
"""The merchants as the books see them (``city`` does not import the web app's models)."""
_refunds = table("merchant_refunds", column("id", Uuid), column("payment_id", Uuid), column("state", String))
_escrow_payments = table("escrow_payments", column("payment_id", HexBytes), column("status", String))

REFUND_STATES_COUNTED = ("requested", "signed", "sent", "confirmed")
"""Every ``merchant_refunds`` state but ``failed`` (nothing moved)."""
DISPUTE_STATUSES = ("disputed", "split")
"""``escrow_payments`` statuses of a payment the customer disputed (open, or decided)."""


@dataclass(frozen=True)
class SettledPayment:
    """One sale: a settled payment (its id) or an MSC payment on chain (``payment_id`` None), the
    Jakarta day it settled or was paid, its value in sen and its payer (None: not known)."""

    payment_id: uuid.UUID | None
    day: date
    value_sen: int
    payer_uid: str | None = None


def jakarta_day(moment: datetime) -> date:
    """The Asia/Jakarta calendar day of a UTC moment."""
    return moment.astimezone(JAKARTA).date()


def day_start_utc(day: date) -> datetime:
    """00:00 Asia/Jakarta of ``day``, in UTC."""
    return datetime.combine(day, time(0), tzinfo=JAKARTA).astimezone(UTC)


def settled_payments(
    session: Session, merchant_id: uuid.UUID, first: date, last: date
) -> list[SettledPayment]:
    """The merchant's payments settled on Jakarta days ``first`` .. ``last``, oldest first."""
    if last < first:
        raise ValidationError(f"the range ends ({last}) before it starts ({first})")
    completed = (
        select(PaymentStatusChange.payment_id, PaymentStatusChange.at)
        .where(PaymentStatusChange.to_status == PaymentStatus.COMPLETED.value)
        .subquery()
    )
    rows = session.execute(
        select(Payment.id, Payment.idr_amount, completed.c.at, Payment.payer_uid)
        .join(completed, completed.c.payment_id == Payment.id)
        .where(Payment.merchant_id == str(merchant_id))
        .where(Payment.status == PaymentStatus.COMPLETED.value)
        .where(completed.c.at >= day_start_utc(first))
        .where(completed.c.at < day_start_utc(last + timedelta(days=1)))
        .order_by(completed.c.at, Payment.id)
    ).all()
    return [SettledPayment(pid, jakarta_day(at), int(idr), payer) for pid, idr, at, payer in rows]


def merchant_wallet(session: Session, merchant_id: uuid.UUID) -> str | None:
    """The merchant's registered wallet, None without one."""
    return session.scalar(select(merchants_table.c.evm_address).where(merchants_table.c.id == merchant_id))


def _as_sale(payment: MscPayment) -> SettledPayment:
    return SettledPayment(None, jakarta_day(payment.at), payment.value_sen, payment.payer)


def msc_sales(session: Session, merchant_id: uuid.UUID, first: date, last: date) -> list[SettledPayment]:
    """The MSC payments to the merchant's wallet on Jakarta days ``first`` .. ``last``, oldest
    first (none without a wallet)."""
    wallet = merchant_wallet(session, merchant_id)
    if wallet is None:
        return []
    end = day_start_utc(last + timedelta(days=1))
    return [_as_sale(p) for p in msc_payments(session, [wallet], day_start_utc(first), end)]


def sales_of(session: Session, merchant_id: uuid.UUID, first: date, last: date) -> list[SettledPayment]:
    """The merchant's settled payments and MSC payments on Jakarta days ``first`` .. ``last``, by day."""
    pi = settled_payments(session, merchant_id, first, last)
    return sorted([*pi, *msc_sales(session, merchant_id, first, last)], key=lambda p: p.day)


def payer_counts(payments: list[SettledPayment]) -> tuple[int, ...] | None:
    """Settled payments per known payer (largest first), None when no payment has a payer."""
    counts: dict[str, int] = defaultdict(int)
    for p in payments:
        if p.payer_uid is not None:
            counts[p.payer_uid] += 1
    return tuple(sorted(counts.values(), reverse=True)) or None


def first_settled_day(
    session: Session, merchant_id: uuid.UUID, as_of: date, msc_history: Sequence[MscPayment] = ()
) -> date | None:
    """The Jakarta day of the merchant's first sale up to ``as_of``: its first settled payment or
    the first of ``msc_history`` (its MSC payments up to ``as_of``, oldest first), None if none."""
    first_at = session.scalar(
        select(func.min(PaymentStatusChange.at))
        .join(Payment, Payment.id == PaymentStatusChange.payment_id)
        .where(Payment.merchant_id == str(merchant_id))
        .where(Payment.status == PaymentStatus.COMPLETED.value)
        .where(PaymentStatusChange.to_status == PaymentStatus.COMPLETED.value)
        .where(PaymentStatusChange.at < day_start_utc(as_of + timedelta(days=1)))
    )
    days = [] if first_at is None else [jakarta_day(first_at)]
    days += [jakarta_day(msc_history[0].at)] if msc_history else []
    return min(days, default=None)


def refunds_of(session: Session, merchant_id: uuid.UUID, payment_ids: set[uuid.UUID]) -> int:
    """Refunds (not failed) of these payments of the merchant."""
    if not payment_ids:
        return 0
    refunded = session.execute(
        select(_refunds.c.payment_id)
        .join(Payment, Payment.id == _refunds.c.payment_id)
        .where(Payment.merchant_id == str(merchant_id))
        .where(_refunds.c.state.in_(REFUND_STATES_COUNTED))
    ).scalars()
    return sum(1 for pid in refunded if pid in payment_ids)


def disputes_of(session: Session, payment_ids: set[uuid.UUID]) -> int:
    """Escrow payments of these payments that were disputed (open or decided)."""
    if not payment_ids:
        return 0
    count = 0
    for escrow_id in session.execute(
        select(_escrow_payments.c.payment_id).where(_escrow_payments.c.status.in_(DISPUTE_STATUSES))
    ).scalars():
        try:
            if payment_id_from_escrow_id(bytes.fromhex(escrow_id[2:])) in payment_ids:
                count += 1
        except ValidationError:  # an escrow payment that is not a settlement payment's
            continue
    return count


def read_inputs(
    session: Session, merchant_id: uuid.UUID, as_of: date, window_days: int = WINDOW_DAYS
) -> LdciInputs:
    """The merchant's LDCI inputs for the ``window_days`` Jakarta days ending on ``as_of``."""
    first = as_of - timedelta(days=window_days - 1)
    wallet = merchant_wallet(session, merchant_id)
    end = day_start_utc(as_of + timedelta(days=1))
    history = msc_payments(session, [wallet], None, end) if wallet else []  # for the window and tenure
    paid_in_msc = [_as_sale(p) for p in history if jakarta_day(p.at) >= first]
    payments = sorted(
        [*settled_payments(session, merchant_id, first, as_of), *paid_in_msc], key=lambda p: p.day
    )
    per_day: dict[date, tuple[int, int]] = defaultdict(lambda: (0, 0))
    for p in payments:
        count, value = per_day[p.day]
        per_day[p.day] = (count + 1, value + p.value_sen)
    window = tuple(DayFigures(*per_day.get(first + timedelta(days=n), (0, 0))) for n in range(window_days))
    ids = {p.payment_id for p in payments if p.payment_id is not None}
    return LdciInputs(
        as_of=as_of,
        days=window,
        payer_counts=payer_counts(payments),
        refunds=refunds_of(session, merchant_id, ids),
        disputes=disputes_of(session, ids),
        first_settled=first_settled_day(session, merchant_id, as_of, history),
    )
