"""The monthly statement of one merchant, computed from the settlement ledger.

Every figure is a sum of ledger postings of the merchant's accounts (chart:
``idr_owed_to_merchant:<m>``, ``msc_minted_to_escrow:<m>``, ``msc_merchant_balance:<m>``) in the
Jakarta month, classified by the entry's business movement (:mod:`settlement.ledger.flows`):

* **sales**: ``conversion`` entries, the Rupiah owed to the merchant for a completed Pi payment
  (its gross); the conversion fee is the Pi the platform kept from the customer's payment (the Pi
  leg of the same conversion), shown in Pi because it was charged in Pi;
* **refunds**: what left the merchant's escrow or wallet for the customer (``customer_refunds_owed``);
  **covered refunds**: what the guarantee fund paid back to customers for the merchant's released
  payments (``guarantee_refund``; no account of the merchant moves, the merchant owes the fund
  on-chain). Both reduce the month's net sales: the customer got the money back either way;
* **released**: what moved from the escrow to the merchant's wallet (a release, the merchant's
  share of a dispute);
* **payouts**: ``redemption`` entries (MSC burned for a bank transfer: amount, redemption fee, net);
  **reversed**: a failed payout's MSC given back.

Why a closing check: each account's closing balance is its opening balance plus the month's
postings, and the statement carries both, so whatever the flows post in the future, a movement the
statement does not name shows as "other" instead of silently breaking the sum.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from common.errors import NotFoundError
from merchant_reports import repository
from merchant_reports.periods import Month, local_day
from settlement.ledger import chart
from settlement.ledger.service import balance_of

REFUNDS_OWED = chart.CUSTOMER_REFUNDS_OWED.code
FEES_INCOME = chart.FEES_INCOME_IDR.code
PAYOUTS_PENDING = chart.MERCHANT_PAYOUTS_PENDING.code


class MerchantNotFoundError(NotFoundError):
    """No merchant with this id."""

    code = "merchant_not_found"

    def __init__(self, merchant_id: uuid.UUID) -> None:
        super().__init__(f"merchant {merchant_id} does not exist", merchant_id=str(merchant_id))


@dataclass(frozen=True, slots=True)
class DayLine:
    """One Jakarta day of sales. Amounts in sen, except ``fees_pi`` (10^-7 Pi)."""

    day: date
    sales: int
    gross: int
    fees_pi: int
    refunds: int
    covered: int
    """Refunds the guarantee fund paid for the merchant (sen)."""

    @property
    def net(self) -> int:
        """Sales less every refund, in sen."""
        return self.gross - self.refunds - self.covered


@dataclass(frozen=True, slots=True)
class PayoutLine:
    """One redemption of the month: MSC burned for a Rupiah bank transfer (sen)."""

    payout_id: str
    day: date
    amount: int
    fee: int
    net: int
    status: str
    bank_reference: str | None


@dataclass(frozen=True, slots=True)
class AccountLine:
    """One of the merchant's ledger accounts over the month (sen, on its credit side)."""

    code: str
    opening: int
    closing: int
    other: int
    """Movement of a kind the statement does not name (0 for every flow known today)."""


@dataclass(frozen=True, slots=True)
class Statement:
    """A merchant's month, from the ledger."""

    merchant_id: uuid.UUID
    merchant_name: str
    kelurahan: str
    evm_address: str
    month: Month
    generated_at: datetime
    days: tuple[DayLine, ...]
    payouts: tuple[PayoutLine, ...]
    minted: int
    released: int
    reversed: int
    accounts: tuple[AccountLine, ...]

    @property
    def sales(self) -> int:
        """Number of sales in the month."""
        return sum(d.sales for d in self.days)

    @property
    def gross(self) -> int:
        """Sales in sen."""
        return sum(d.gross for d in self.days)

    @property
    def fees_pi(self) -> int:
        """Conversion fees in 10^-7 Pi."""
        return sum(d.fees_pi for d in self.days)

    @property
    def refunds(self) -> int:
        """Refunds in sen."""
        return sum(d.refunds for d in self.days)

    @property
    def covered(self) -> int:
        """Refunds paid by the guarantee fund in sen."""
        return sum(d.covered for d in self.days)

    @property
    def net(self) -> int:
        """Sales less every refund in sen."""
        return self.gross - self.refunds - self.covered

    @property
    def payouts_amount(self) -> int:
        """MSC redeemed in sen."""
        return sum(p.amount for p in self.payouts)

    @property
    def payouts_fee(self) -> int:
        """Redemption fees in sen."""
        return sum(p.fee for p in self.payouts)

    @property
    def payouts_net(self) -> int:
        """Rupiah sent to the bank account in sen."""
        return sum(p.net for p in self.payouts)


@dataclass
class _Tally:
    sales: dict[date, int]
    gross: dict[date, int]
    refunds: dict[date, int]
    covered: dict[date, int]
    sale_day: dict[str, date]
    minted: int = 0
    released: int = 0
    reversed: int = 0


def build(session: Session, merchant_id: uuid.UUID, month: Month, now: datetime) -> Statement:
    """The statement of ``merchant_id`` for ``month``, read in one session.

    Raises:
        MerchantNotFoundError: no such merchant.
    """
    row = repository.merchant(session, merchant_id)
    if row is None:
        raise MerchantNotFoundError(merchant_id)
    owner = str(merchant_id)
    refs = (
        chart.idr_owed_to_merchant(owner),
        chart.msc_minted_to_escrow(owner),
        chart.msc_merchant_balance(owner),
    )
    entries = repository.merchant_entries(session, owner, month.start, month.end)
    tally = _Tally(defaultdict(int), defaultdict(int), defaultdict(int), defaultdict(int), {})
    payout_rows: list[tuple[str, date, int, int, int]] = []
    moved: dict[str, int] = defaultdict(int)
    explained: dict[str, int] = defaultdict(int)
    owed, escrow, wallet = (ref.code for ref in refs)
    for entry in entries:
        day = local_day(entry.posted_at)
        amounts = entry.amounts
        for code in (owed, escrow, wallet):
            moved[code] += amounts.get(code, 0)
        if entry.kind == "conversion" and amounts.get(owed, 0) < 0:
            tally.sales[day] += 1
            tally.gross[day] += -amounts[owed]
            tally.sale_day[entry.reference or ""] = day
            explained[owed] += amounts[owed]
        elif entry.kind == "msc_minted_to_escrow":
            tally.minted += -amounts.get(escrow, 0)
            explained[owed] += amounts.get(owed, 0)
            explained[escrow] += amounts.get(escrow, 0)
        elif entry.kind == "redemption" and amounts.get(wallet, 0) > 0:
            payout_rows.append(
                (
                    entry.reference or "",
                    day,
                    amounts[wallet],
                    -amounts.get(FEES_INCOME, 0),
                    -amounts.get(PAYOUTS_PENDING, 0),
                )
            )
            explained[wallet] += amounts[wallet]
        elif entry.kind == "payout_reversed":
            tally.reversed += -amounts.get(wallet, 0)
            explained[wallet] += amounts.get(wallet, 0)
        elif amounts.get(escrow, 0) > 0 or amounts.get(wallet, 0) > 0:
            # Money leaving the escrow (or the wallet) for the customer, the merchant's wallet or both.
            tally.refunds[day] += -amounts.get(REFUNDS_OWED, 0)
            if amounts.get(escrow, 0) > 0:
                tally.released += -min(amounts.get(wallet, 0), 0)
            explained[escrow] += amounts.get(escrow, 0)
            explained[wallet] += amounts.get(wallet, 0)
    for posted_at, amount in repository.guarantee_refunds(
        session, owner, month.start, month.end, REFUNDS_OWED
    ):
        tally.covered[local_day(posted_at)] += amount
    fees = repository.conversion_fees_pi(session, tally.sale_day, chart.FEES_INCOME_PI.code)
    fees_by_day: dict[date, int] = defaultdict(int)
    for reference, day in tally.sale_day.items():
        fees_by_day[day] += fees.get(reference, 0)
    statuses = repository.payout_statuses(session, [p[0] for p in payout_rows])
    payouts = tuple(
        PayoutLine(
            pid,
            day,
            amount,
            fee,
            net,
            statuses[pid].status if pid in statuses else "unknown",
            statuses[pid].bank_reference if pid in statuses else None,
        )
        for pid, day, amount, fee, net in payout_rows
    )
    days = tuple(
        DayLine(
            day, tally.sales[day], tally.gross[day], fees_by_day[day], tally.refunds[day], tally.covered[day]
        )
        for day in month.days
    )
    accounts = tuple(_account_line(session, ref, month, moved, explained) for ref in refs)
    return Statement(
        merchant_id=merchant_id,
        merchant_name=row.name,
        kelurahan=row.kelurahan,
        evm_address=row.evm_address,
        month=month,
        generated_at=now,
        days=days,
        payouts=payouts,
        minted=tally.minted,
        released=tally.released,
        reversed=tally.reversed,
        accounts=accounts,
    )


def _account_line(
    session: Session, ref: chart.AccountRef, month: Month, moved: dict[str, int], explained: dict[str, int]
) -> AccountLine:
    """Opening and closing balances (credit side) and the movement the statement does not name.

    The opening balance counts entries posted before the month's first instant; the closing one
    is the opening plus every posting of the month (the same rows the figures come from).
    """
    opening = _balance_before(session, ref, month.start)
    return AccountLine(
        code=ref.code,
        opening=opening,
        closing=opening - moved[ref.code],
        other=-(moved[ref.code] - explained[ref.code]),
    )


def _balance_before(session: Session, ref: chart.AccountRef, moment: datetime) -> int:
    """The account's balance over entries posted strictly before ``moment``."""
    # balance_of counts entries posted at or before ``as_of``; the ledger's clock has microseconds.
    return balance_of(session, ref, as_of=moment - timedelta(microseconds=1))
