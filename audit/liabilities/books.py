"""What the platform owes each merchant off-chain, read from the double-entry books at a cut.

Three exact integer amounts per merchant, in sen (1 MSC = 1 sen), each a liability account's
credit balance over the ledger entries with ``id <= cut`` (the books are append-only, so an entry
id is a cheap, exact cut; the chain block is recorded beside it when the snapshot is taken):

* ``credited_not_minted``: ``idr_owed_to_merchant:<merchant>`` — payments converted to Rupiah
  and credited to the merchant, not yet minted as MSC (so not in MSC's supply);
* ``payouts_unpaid``: ``merchant_payouts_pending`` + ``payouts_failed`` per payout (the entries'
  reference), attributed to the payout's merchant — MSC burned, Rupiah not yet transferred;
* ``refunds_owed``: ``customer_refunds_owed`` per payment (the entries' reference), attributed
  to the payment's merchant — refunds the merchant's customers are owed and not yet paid back.

A merchant with all three at zero gets no leaf. Money the chain already shows (MSC in escrow or in
a merchant's wallet) is not here: it is part of ``totalSupply`` and checked against reserves.
Caveat: an entry id allocated before the cut but committed after it is not counted; the cut is
taken inside one transaction, so all three amounts see the same committed entries.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from settlement.ledger import chart
from settlement.ledger.models import Currency, JournalEntry, LedgerAccount, Posting
from settlement.payments.models import Payment
from settlement.payouts.models import Payout

OWED_PREFIX = chart.idr_owed_to_merchant("").code
CHUNK = 500


@dataclass(frozen=True, slots=True)
class MerchantLiabilities:
    """One merchant's off-chain liabilities in sen, in the tree's amount order."""

    merchant_id: str
    credited_not_minted: int
    payouts_unpaid: int
    refunds_owed: int

    @property
    def amounts(self) -> tuple[int, int, int]:
        """The amounts in :data:`audit.liabilities.tree.AMOUNT_FIELDS` order."""
        return (self.credited_not_minted, self.payouts_unpaid, self.refunds_owed)

    @property
    def total(self) -> int:
        """Their sum."""
        return sum(self.amounts)


def ledger_cut(session: Session) -> int:
    """The id of the latest ledger entry (0 for empty books): the cut to read the books at."""
    return int(session.scalar(select(func.coalesce(func.max(JournalEntry.id), 0))) or 0)


def liabilities_at(session: Session, cut: int) -> list[MerchantLiabilities]:
    """Every merchant's non-zero liabilities over the entries with ``id <= cut``, by merchant id."""
    credited: dict[str, int] = defaultdict(int)
    for owner, amount in session.execute(
        select(LedgerAccount.owner, func.sum(Posting.amount))
        .join(Posting, Posting.account_id == LedgerAccount.id)
        .where(
            LedgerAccount.currency == str(Currency.IDR),
            LedgerAccount.code.startswith(OWED_PREFIX, autoescape=True),
            Posting.entry_id <= cut,
        )
        .group_by(LedgerAccount.owner)
    ):
        if owner is not None:
            credited[str(owner)] += -int(amount)
    payouts = _per_reference(session, cut, (chart.MERCHANT_PAYOUTS_PENDING.code, chart.PAYOUTS_FAILED.code))
    refunds = _per_reference(session, cut, (chart.CUSTOMER_REFUNDS_OWED.code,))
    unpaid = _attribute(session, Payout, payouts)
    owed = _attribute(session, Payment, refunds)
    merchants = sorted(set(credited) | set(unpaid) | set(owed))
    rows = [MerchantLiabilities(m, credited.get(m, 0), unpaid.get(m, 0), owed.get(m, 0)) for m in merchants]
    return [row for row in rows if row.total]


def _per_reference(session: Session, cut: int, codes: Iterable[str]) -> dict[str, int]:
    """Credit balance per entry reference over the accounts ``codes``."""
    sums: dict[str, int] = defaultdict(int)
    query = (
        select(LedgerAccount.code, JournalEntry.reference, func.sum(Posting.amount))
        .join(Posting, Posting.account_id == LedgerAccount.id)
        .join(JournalEntry, JournalEntry.id == Posting.entry_id)
        .where(LedgerAccount.currency == str(Currency.IDR), JournalEntry.id <= cut)
    )
    for _code, reference, amount in session.execute(
        query.where(LedgerAccount.code.in_(tuple(codes)), JournalEntry.reference.is_not(None)).group_by(
            LedgerAccount.code, JournalEntry.reference
        )
    ):
        sums[str(reference)] += -int(amount)
    return {ref: value for ref, value in sums.items() if value}


def _attribute(
    session: Session, model: type[Payment] | type[Payout], per_ref: dict[str, int]
) -> dict[str, int]:
    """Sums ``per_ref`` (reference = the row's UUID) per the row's merchant; unknown references
    are left out (no such entry is posted today)."""
    ids: list[uuid.UUID] = []
    for reference in per_ref:
        try:
            ids.append(uuid.UUID(reference))
        except ValueError:
            continue
    per_merchant: dict[str, int] = defaultdict(int)
    for start in range(0, len(ids), CHUNK):
        for row_id, merchant_id in session.execute(
            select(model.id, model.merchant_id).where(model.id.in_(ids[start : start + CHUNK]))
        ):
            per_merchant[str(merchant_id)] += per_ref[str(row_id)]
    return dict(per_merchant)
