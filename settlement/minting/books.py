"""What the books say the settlement account holds in MSC, for reconciliation against the chain.

The settlement key only ever holds MSC on its way somewhere, each part with a record:

* minted for an open mint batch and not yet deposited: the batch's final mints
  (``minted_amount``) minus its holdings the escrow holds (read by the caller, from the mirror or
  the chain), plus a written-ahead mint whose fate is not known yet (in flight);
* relayed to it by a redemption and not yet burned (when it is also the redeemer): intents
  ``relayed``, payouts whose burn is not written; a written-ahead burn or a ``pending`` intent is
  in flight (it may or may not have moved the MSC);
* paid back to it by the escrow as the payer of record of its deposits, and owed to customers:
  merchants' refunds, the payer's share of a dispute, a dispute decided by default, the guarantee
  fund's cover (``customer_refunds_owed``, booked by :mod:`settlement.escrowbooks`, attributed to
  the depositor of the payment's mint batch, which is the payer the minter deposits with), until
  the customer's Pi refund is issued and the MSC burned (:mod:`settlement.paybacks`, which clears
  the account when the burn is mined; a written-ahead burn is in flight). Outcomes the mirror shows
  and the escrow books have not reached yet (they book at a confirmation depth) are in flight,
  given by the caller.

Anything else on the account is MSC nobody can account for: the minter never spends it, and the
reconciliation check ``settlement_account_balance_booked`` fails until an operator explains it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from settlement.ledger import chart
from settlement.ledger.models import Currency, JournalEntry, LedgerAccount, Posting
from settlement.minting.models import EscrowHolding, MintBatch, MintBatchState
from settlement.paybacks.models import Payback, PaybackStatus
from settlement.payouts.models import Payout
from settlement.redemption.models import Redemption, RedemptionIntent, RedemptionIntentStatus


@dataclass(frozen=True)
class SettlementBooks:
    """The books' account of one settlement address's MSC (sen)."""

    minted_open: int
    """Final mints of batches not completed."""
    open_holdings: dict[str, int]
    """Escrow id (0x-hex) -> sen of every holding of those batches (the caller subtracts the
    deposited ones)."""
    mint_in_flight: int
    """Written-ahead mints of those batches not known to be final."""
    redeemed_unburned: int
    """Relayed to it by redemptions and not burned (no burn written)."""
    redemptions_in_flight: int
    """Pending intents and written-ahead, unbooked burns: they may or may not have moved MSC."""
    refunds_owed: int = 0
    """Paid back to it by the escrow for its payments and owed to customers
    (``customer_refunds_owed`` of those payments): not deposit money, never spent by the minter."""
    paybacks_burning: int = 0
    """Of ``refunds_owed``, pay-backs whose burn is written and not known to be mined: in flight."""

    def bounds(self, deposited_open: int, refunds_unbooked: int = 0) -> tuple[int, int]:
        """The least and the most the account may hold, given the sen of the open batches'
        holdings that the escrow holds and the sen the escrow paid back to it that the escrow
        books have not booked yet."""
        owed = self.refunds_owed - self.paybacks_burning
        low = max(self.minted_open - deposited_open, 0) + self.redeemed_unburned + owed
        in_flight = self.mint_in_flight + self.redemptions_in_flight + self.paybacks_burning
        return low, low + in_flight + refunds_unbooked


def _sum(session: Session, statement: object) -> int:
    return int(session.scalar(statement) or 0)  # type: ignore[call-overload]


def settlement_account_books(session: Session, account: str) -> SettlementBooks:
    """The books of ``account`` (EIP-55) as :class:`SettlementBooks`."""
    open_batch = (MintBatch.depositor == account) & (MintBatch.state != str(MintBatchState.COMPLETED))
    minted = _sum(session, select(func.coalesce(func.sum(MintBatch.minted_amount), 0)).where(open_batch))
    in_flight = _sum(
        session,
        select(func.coalesce(func.sum(MintBatch.mint_amount), 0)).where(
            open_batch, MintBatch.mint_raw_tx.is_not(None)
        ),
    )
    holdings = {
        escrow_id: int(amount)
        for escrow_id, amount in session.execute(
            select(EscrowHolding.escrow_id, EscrowHolding.amount)
            .join(MintBatch, MintBatch.id == EscrowHolding.batch_id)
            .where(open_batch)
        )
    }
    unburned = (Redemption.redeemer == account) & Redemption.burned_at.is_(None)
    redeemed = _sum(
        session,
        select(func.coalesce(func.sum(Payout.amount), 0))
        .join(Redemption, Redemption.payout_id == Payout.id)
        .where(unburned, Redemption.burn_raw_tx.is_(None)),
    )
    burning = _sum(
        session,
        select(func.coalesce(func.sum(Payout.amount), 0))
        .join(Redemption, Redemption.payout_id == Payout.id)
        .where(unburned, Redemption.burn_raw_tx.is_not(None)),
    )
    intents = {
        status: _sum(
            session,
            select(func.coalesce(func.sum(RedemptionIntent.amount), 0)).where(
                RedemptionIntent.redeemer == account, RedemptionIntent.status == str(status)
            ),
        )
        for status in (RedemptionIntentStatus.RELAYED, RedemptionIntentStatus.PENDING)
    }
    burning = _sum(
        session,
        select(func.coalesce(func.sum(Payback.msc_amount), 0)).where(
            Payback.payer == account, Payback.status == str(PaybackStatus.BURN_WRITTEN)
        ),
    )
    return SettlementBooks(
        refunds_owed=customer_refunds_owed(session).get(account, 0),
        paybacks_burning=burning,
        minted_open=minted,
        open_holdings=holdings,
        mint_in_flight=in_flight,
        redeemed_unburned=redeemed + intents[RedemptionIntentStatus.RELAYED],
        redemptions_in_flight=burning + intents[RedemptionIntentStatus.PENDING],
    )


def customer_refunds_owed(session: Session) -> dict[str, int]:
    """Settlement address -> sen of ``customer_refunds_owed`` it holds: the account's credit
    balance per payment (the entries' reference), attributed to the depositor of the payment's
    mint batch (the payer of record the escrow paid back). References that are not minted
    payments are left out (no such entry is posted today)."""
    per_payment = {
        str(reference): -int(amount)
        for reference, amount in session.execute(
            select(JournalEntry.reference, func.sum(Posting.amount))
            .join(Posting, Posting.entry_id == JournalEntry.id)
            .join(LedgerAccount, LedgerAccount.id == Posting.account_id)
            .where(
                LedgerAccount.code == chart.CUSTOMER_REFUNDS_OWED.code,
                LedgerAccount.currency == str(Currency.IDR),
                JournalEntry.reference.is_not(None),
            )
            .group_by(JournalEntry.reference)
        )
        if int(amount)
    }
    owed: dict[str, int] = {}
    for payment_id, depositor in _depositors(session, per_payment):
        owed[depositor] = owed.get(depositor, 0) + per_payment[str(payment_id)]
    return owed


def _depositors(session: Session, references: dict[str, int]) -> list[tuple[object, str]]:
    ids = []
    for reference in references:
        try:
            ids.append(uuid.UUID(reference))
        except ValueError:
            continue
    rows: list[tuple[object, str]] = []
    for start in range(0, len(ids), 500):
        rows.extend(
            (payment_id, str(depositor))
            for payment_id, depositor in session.execute(
                select(EscrowHolding.payment_id, MintBatch.depositor)
                .join(MintBatch, MintBatch.id == EscrowHolding.batch_id)
                .where(EscrowHolding.payment_id.in_(ids[start : start + 500]))
            )
        )
    return rows
