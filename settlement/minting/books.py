"""What the books say the settlement account holds in MSC, for reconciliation against the chain.

The settlement key only ever holds MSC on its way somewhere, each part with a record:

* minted for an open mint batch and not yet deposited: the batch's final mints
  (``minted_amount``) minus its holdings the escrow holds (read by the caller, from the mirror or
  the chain), plus a written-ahead mint whose fate is not known yet (in flight);
* relayed to it by a redemption and not yet burned (when it is also the redeemer): intents
  ``relayed``, payouts whose burn is not written; a written-ahead burn or a ``pending`` intent is
  in flight (it may or may not have moved the MSC).

Anything else on the account is MSC nobody can account for: the minter never spends it, and the
reconciliation check ``settlement_account_balance_booked`` fails until an operator explains it.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from settlement.minting.models import EscrowHolding, MintBatch, MintBatchState
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

    def bounds(self, deposited_open: int) -> tuple[int, int]:
        """The least and the most the account may hold, given the sen of the open batches'
        holdings that the escrow holds."""
        low = max(self.minted_open - deposited_open, 0) + self.redeemed_unburned
        return low, low + self.mint_in_flight + self.redemptions_in_flight


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
    return SettlementBooks(
        minted_open=minted,
        open_holdings=holdings,
        mint_in_flight=in_flight,
        redeemed_unburned=redeemed + intents[RedemptionIntentStatus.RELAYED],
        redemptions_in_flight=burning + intents[RedemptionIntentStatus.PENDING],
    )
