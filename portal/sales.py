"""What the portal reads about a merchant's payments: today's sales, the live feed, the list and
one payment with its history.

A payment counts as *received* from its first move into a credited status
(``settlement.requests.service.CREDITED``: verified and completed on Pi, MSC minted or being
minted into escrow); that moment is its time in "today" and in the feed. Days are Asia/Jakarta
days (the merchant's calendar), turned into UTC bounds before they reach SQL.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Subquery, and_, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from common.errors import NotFoundError
from settlement.payments.models import Payment, PaymentStatus, PaymentStatusChange
from settlement.requests.service import CREDITED

JAKARTA = ZoneInfo("Asia/Jakarta")
RECEIVED_STATUSES = tuple(str(s) for s in sorted(CREDITED))
"""Statuses in which a payment's Pi has arrived and is credited to the merchant."""


class PortalRecordNotFoundError(NotFoundError):
    """No payment (or payment request) with this id belongs to the merchant; another merchant's
    answers the same, so ids of other shops cannot be probed."""

    code = "portal_not_found"

    def __init__(self, kind: str, record_id: uuid.UUID) -> None:
        super().__init__(f"{kind} {record_id} not found", id=str(record_id))


def jakarta_day(day: date) -> tuple[datetime, datetime]:
    """The UTC bounds ``[start, end)`` of a Jakarta calendar day."""
    start = datetime.combine(day, time(), tzinfo=JAKARTA)
    return start, start + timedelta(days=1)


def jakarta_today(now: datetime) -> date:
    """The Jakarta calendar day of ``now``."""
    return now.astimezone(JAKARTA).date()


def _received_at() -> Subquery:
    """Each payment's first move into a received status (``payment_id``, ``received_at``)."""
    return (
        select(
            PaymentStatusChange.payment_id.label("payment_id"),
            func.min(PaymentStatusChange.at).label("received_at"),
        )
        .where(PaymentStatusChange.to_status.in_(RECEIVED_STATUSES))
        .group_by(PaymentStatusChange.payment_id)
        .subquery()
    )


@dataclass(frozen=True)
class DaySales:
    """Payments received in one day."""

    count: int
    idr_sen: int
    """Rupiah (sen) credited: what the customers' Pi bought after fees."""
    pi_minor: int
    """Pi minor units the customers paid."""


def day_sales(session: Session, merchant_id: uuid.UUID, day: date) -> DaySales:
    """The merchant's payments received on the Jakarta ``day``."""
    start, end = jakarta_day(day)
    received = _received_at()
    row = session.execute(
        select(
            func.count(Payment.id),
            func.coalesce(func.sum(Payment.idr_amount), 0),
            func.coalesce(func.sum(Payment.pi_amount), 0),
        )
        .join(received, received.c.payment_id == Payment.id)
        .where(
            Payment.merchant_id == str(merchant_id),
            Payment.status.in_(RECEIVED_STATUSES),
            received.c.received_at >= start,
            received.c.received_at < end,
        )
    ).one()
    return DaySales(int(row[0]), int(row[1]), int(row[2]))


@dataclass(frozen=True)
class Received:
    """A payment's arrival: one event of the live feed."""

    event_id: int
    """The status-history row's id: the feed's cursor (``Last-Event-ID``)."""
    payment_id: uuid.UUID
    idr_sen: int
    pi_minor: int
    at: datetime


def feed_cursor(session: Session) -> int:
    """Where a new feed starts: after every status move recorded so far."""
    return int(session.scalar(select(func.coalesce(func.max(PaymentStatusChange.id), 0))) or 0)


def received_after(session: Session, merchant_id: uuid.UUID, cursor: int, limit: int = 50) -> list[Received]:
    """The merchant's payments first received after history row ``cursor``, oldest first.

    A payment moving ``pending_stellar -> completed`` is announced once, at its first credited move.
    """
    earlier = aliased(PaymentStatusChange)
    first_credit = ~exists().where(
        earlier.payment_id == PaymentStatusChange.payment_id,
        earlier.to_status.in_(RECEIVED_STATUSES),
        earlier.id < PaymentStatusChange.id,
    )
    rows = session.execute(
        select(
            PaymentStatusChange.id, Payment.id, Payment.idr_amount, Payment.pi_amount, PaymentStatusChange.at
        )
        .join(Payment, Payment.id == PaymentStatusChange.payment_id)
        .where(
            PaymentStatusChange.id > cursor,
            PaymentStatusChange.to_status.in_(RECEIVED_STATUSES),
            Payment.merchant_id == str(merchant_id),
            first_credit,
        )
        .order_by(PaymentStatusChange.id)
        .limit(limit)
    ).all()
    return [Received(int(r[0]), r[1], int(r[2]), int(r[3]), r[4]) for r in rows]


def recently_received(
    session: Session, merchant_id: uuid.UUID, since: datetime, limit: int = 20
) -> list[Received]:
    """The merchant's payments received since ``since``, newest first (the feed's first lines)."""
    received = _received_at()
    rows = session.execute(
        select(Payment.id, Payment.idr_amount, Payment.pi_amount, received.c.received_at)
        .join(received, received.c.payment_id == Payment.id)
        .where(
            Payment.merchant_id == str(merchant_id),
            Payment.status.in_(RECEIVED_STATUSES),
            received.c.received_at >= since,
        )
        .order_by(received.c.received_at.desc())
        .limit(limit)
    ).all()
    return [Received(0, r[0], int(r[1]), int(r[2]), r[3]) for r in rows]


# ------------------------------------------------------------------------------ the list


@dataclass(frozen=True)
class PaymentFilter:
    """What the payment list shows: a status, a Jakarta date range and a search.

    ``search`` matches a Pi payment id or a Pi txid exactly, the start of the payment's id, or an
    amount (``amount_sen``, when the search reads as Rupiah).
    """

    status: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    search: str = ""
    amount_sen: int | None = None


@dataclass(frozen=True)
class PaymentPage:
    """One page of the list."""

    payments: list[Payment]
    page: int
    has_next: bool


def payments_page(
    session: Session, merchant_id: uuid.UUID, filters: PaymentFilter, page: int, size: int
) -> PaymentPage:
    """The merchant's payments matching ``filters``, newest first, page ``page`` (1-based)."""
    statement = select(Payment).where(Payment.merchant_id == str(merchant_id))
    if filters.status:
        statement = statement.where(Payment.status == filters.status)
    if filters.date_from is not None:
        statement = statement.where(Payment.created_at >= jakarta_day(filters.date_from)[0])
    if filters.date_to is not None:
        statement = statement.where(Payment.created_at < jakarta_day(filters.date_to)[1])
    search = filters.search.strip()
    if search:
        options = [Payment.pi_payment_id == search, Payment.txid == search]
        prefix = search.lower().replace("-", "")
        if 4 <= len(prefix) <= 32 and all(c in "0123456789abcdef" for c in prefix):
            options.append(_id_prefix(prefix))
        if filters.amount_sen is not None:
            options.append(Payment.idr_amount == filters.amount_sen)
        statement = statement.where(or_(*options))
    rows = list(
        session.scalars(
            statement.order_by(Payment.created_at.desc(), Payment.id)
            .offset((page - 1) * size)
            .limit(size + 1)
        )
    )
    return PaymentPage(rows[:size], page, len(rows) > size)


def _id_prefix(hex_prefix: str) -> ColumnElement[bool]:
    """Payment ids starting with ``hex_prefix`` (a full id matches exactly, on either backend)."""
    if len(hex_prefix) == 32:
        return Payment.id == uuid.UUID(hex_prefix)
    low = uuid.UUID(hex_prefix.ljust(32, "0"))
    high = uuid.UUID(hex_prefix.ljust(32, "f"))
    return and_(Payment.id >= low, Payment.id <= high)


@dataclass(frozen=True)
class PaymentDetail:
    """One payment and its status moves (oldest first)."""

    payment: Payment
    history: list[PaymentStatusChange]
    received_at: datetime | None


def payment_detail(session: Session, merchant_id: uuid.UUID, payment_id: uuid.UUID) -> PaymentDetail:
    """The merchant's payment ``payment_id`` with its history.

    Raises:
        PortalRecordNotFoundError: none, or another merchant's.
    """
    payment = session.get(Payment, payment_id)
    if payment is None or payment.merchant_id != str(merchant_id):
        raise PortalRecordNotFoundError("payment", payment_id)
    history = list(
        session.scalars(
            select(PaymentStatusChange)
            .where(PaymentStatusChange.payment_id == payment_id)
            .order_by(PaymentStatusChange.id)
        )
    )
    received = next((h.at for h in history if h.to_status in RECEIVED_STATUSES), None)
    return PaymentDetail(payment, history, received)


STATUSES: tuple[str, ...] = tuple(str(s) for s in PaymentStatus)
"""Every payment status, in the order of the settlement."""
