"""What the escrow says about a payment's refundable money, read in one place."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from chain.platform import Platform
from settlement.minting.ids import escrow_payment_id

HELD, DISPUTED, RELEASED = 1, 2, 3


@dataclass(frozen=True)
class EscrowPosition:
    """``getPayment`` of one settlement payment, with the guarantee fund's balance."""

    merchant: str
    """The escrow's merchant of the payment (the address whose signature refunds it while held)."""
    status: int
    """0 None, 1 Held, 2 Disputed, 3 Released, 4 Refunded, 5 Split."""
    amount: int
    """Sen still in escrow while held or disputed; what was released once released."""
    covered: int
    """Sen of it the guarantee fund already paid back (after release)."""
    guarantee_fund: int
    """Sen in the guarantee fund."""

    @property
    def held(self) -> bool:
        """Whether a refund comes out of the escrow (held or disputed)."""
        return self.status in (HELD, DISPUTED)

    @property
    def released(self) -> bool:
        """Whether the payment was paid to the merchant (a refund needs the guarantee fund)."""
        return self.status == RELEASED


def read_position(platform: Platform, payment_id: uuid.UUID) -> EscrowPosition:
    """The escrow's record of ``payment_id`` and the guarantee fund, at the head."""
    escrow = platform.escrow.functions
    merchant, amount, _payer, _release_after, _deadline, status, covered = escrow.getPayment(
        escrow_payment_id(payment_id)
    ).call()
    _escrowed, fund = escrow.totals().call()
    return EscrowPosition(str(merchant), int(status), int(amount), int(covered), int(fund))


def chain_time(platform: Platform) -> int:
    """The latest block's timestamp (the chain's clock, which authorizations are checked against)."""
    return int(platform.w3.eth.get_block("latest")["timestamp"])
