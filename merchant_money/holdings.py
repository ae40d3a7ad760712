"""What a merchant holds: MSC in escrow per payment (with its release date) and released MSC.

Sources, chosen for exactness:

* **Which payments** may still be in escrow comes from the settlement books (``escrow_holdings``
  rows of the merchant not yet booked as released). The books lag the chain by the minter's
  confirmation depth, so they are only the list of candidates.
* **What each one holds** comes from the chain: the escrow's ``getPayment`` of every candidate,
  read in one JSON-RPC batch at one block. The amount (after partial refunds), the status
  (held, disputed, or already released/refunded but not booked yet) and ``releaseAfter`` are the
  contract's own, so the page never shows MSC the escrow no longer holds.
* **Released MSC** is ``balanceOf`` each of the merchant's addresses at the same block: its
  address on file and, for a platform-managed wallet, every custodial address (a rotated one
  still receives releases of payments made before the rotation).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session
from web3 import Web3

from chain.platform import Platform
from settlement.minting.escrow_reads import read_escrow_records
from settlement.minting.models import EscrowHolding

ESCROW_HELD = 1
ESCROW_DISPUTED = 2


@dataclass(frozen=True)
class HeldPayment:
    """One payment's MSC still in the escrow."""

    payment_id: uuid.UUID
    amount: int
    """Sen of MSC the escrow holds for it now (after any partial refund)."""
    release_after: datetime
    """From when anyone may release it to the merchant (the chain's time)."""
    disputed: bool
    """A dispute holds it until the arbiter decides."""
    paid_to: str
    """The address its release pays (the merchant's address when it was paid)."""


@dataclass(frozen=True)
class AddressBalance:
    """Released MSC at one of the merchant's addresses."""

    address: str
    balance: int
    """Sen of MSC."""
    custodial: bool
    current: bool
    """The address new payments settle to."""


@dataclass(frozen=True)
class Holdings:
    """Everything the merchant holds, read at one block."""

    block: int
    held: list[HeldPayment]
    balances: list[AddressBalance]

    @property
    def held_total(self) -> int:
        """Sen in escrow."""
        return sum(p.amount for p in self.held)

    @property
    def released_total(self) -> int:
        """Sen released to the merchant's addresses."""
        return sum(b.balance for b in self.balances)


def read(
    session: Session,
    platform: Platform,
    merchant_id: uuid.UUID,
    address_on_file: str,
    custodial: list[tuple[str, bool]],
) -> Holdings:
    """The merchant's escrow holdings and balances, at the chain's head.

    Args:
        address_on_file: The merchant's ``evm_address``.
        custodial: The merchant's custodial addresses with whether each is current.

    Raises:
        ChainError: the node did not answer.
    """
    candidates = list(
        session.scalars(
            select(EscrowHolding)
            .where(EscrowHolding.merchant_id == str(merchant_id), EscrowHolding.released_at.is_(None))
            .order_by(EscrowHolding.release_after, EscrowHolding.payment_id)
        )
    )
    block = platform.w3.eth.block_number
    records = read_escrow_records(
        platform.w3,
        platform.escrow.address,
        [bytes.fromhex(h.escrow_id[2:]) for h in candidates],
        at_block=block,
    )
    held = [
        HeldPayment(
            payment_id=holding.payment_id,
            amount=record.amount,
            release_after=datetime.fromtimestamp(record.release_after, UTC),
            disputed=record.status == ESCROW_DISPUTED,
            paid_to=record.merchant,
        )
        for holding, record in zip(candidates, records, strict=True)
        if record.status in (ESCROW_HELD, ESCROW_DISPUTED) and record.amount > 0
    ]
    addresses: dict[str, tuple[bool, bool]] = {}
    for address, current in custodial:
        addresses[Web3.to_checksum_address(address)] = (True, current)
    on_file = Web3.to_checksum_address(address_on_file)
    addresses.setdefault(on_file, (False, True))
    balances = [
        AddressBalance(
            address,
            int(platform.msc.functions.balanceOf(address).call(block_identifier=block)),
            custodial_flag,
            current or address == on_file,
        )
        for address, (custodial_flag, current) in addresses.items()
    ]
    return Holdings(block, held, balances)
