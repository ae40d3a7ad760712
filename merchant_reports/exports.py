"""The payments export: a merchant's payments in a date range, one row each, for bookkeeping."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from merchant_reports import repository
from merchant_reports.periods import day_range
from settlement.minting.ids import escrow_payment_id

MAX_ROWS = 100_000
"""Most payments one export holds (a stall's year is far below it); bounds one request's work."""


@dataclass(frozen=True, slots=True)
class PaymentLine:
    """One payment as exported. Amounts are integers: sen and 10^-7 Pi."""

    payment_id: uuid.UUID
    created_at: datetime
    status: str
    pi_payment_id: str
    txid: str | None
    reference: str | None
    idr_amount: int
    pi_amount: int
    fee_pi: int

    @property
    def explorer_path(self) -> str:
        """The public explorer's page of the payment's escrow deposit."""
        return f"/explorer/payment/0x{escrow_payment_id(self.payment_id).hex()}"


def payments(session: Session, merchant_id: uuid.UUID, first: date, last: date) -> list[PaymentLine]:
    """The merchant's payments created from ``first`` to ``last`` (Jakarta days, both included).

    Raises:
        ReportPeriodError: ``last`` before ``first`` or the range is too long.
    """
    start, end = day_range(first, last)
    rows = repository.payments_between(session, str(merchant_id), start, end, MAX_ROWS)
    return [
        PaymentLine(
            payment_id=row.payment.id,
            created_at=row.payment.created_at,
            status=row.payment.status,
            pi_payment_id=row.payment.pi_payment_id,
            txid=row.payment.txid,
            reference=row.reference,
            idr_amount=row.payment.idr_amount,
            pi_amount=row.payment.pi_amount,
            fee_pi=row.payment.fee_pi,
        )
        for row in rows
    ]
