"""What the contracts themselves say at one block: the "chain" side of every check.

Reads go through ``eth_call`` pinned to the block being reconciled, so a block mined while the
run is in progress cannot make the chain and the mirror disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from web3 import Web3

from chain.platform import Platform


@dataclass(frozen=True)
class VintageSupply:
    """The counters of one carbon vintage on chain, in tonnes."""

    issued: int
    retired: int
    bridged: int


class ChainView:
    """Read-only calls to the platform's contracts at a fixed block."""

    def __init__(self, platform: Platform, block: int) -> None:
        self.platform = platform
        self.block = block

    def _call(self, fn: Any) -> Any:
        return fn.call(block_identifier=self.block)

    @property
    def msc_address(self) -> str:
        """The MSC token's address, lowercase (as the mirror stores it)."""
        return str(self.platform.msc.address).lower()

    @property
    def escrow_address(self) -> str:
        """The merchant escrow's address, lowercase."""
        return str(self.platform.escrow.address).lower()

    @property
    def carbon_address(self) -> str:
        """The carbon credits contract's address, lowercase."""
        return str(self.platform.carbon.address).lower()

    def total_supply(self) -> int:
        """MSC total supply (sen)."""
        return int(self._call(self.platform.msc.functions.totalSupply()))

    def attested_reserves(self) -> int:
        """The last attested Rupiah reserves (sen)."""
        reserves, _ = self._call(self.platform.msc.functions.attestedReserves())
        return int(reserves)

    def msc_balance(self, account: str) -> int:
        """MSC balance of ``account`` (sen)."""
        return int(self._call(self.platform.msc.functions.balanceOf(Web3.to_checksum_address(account))))

    def escrow_totals(self) -> tuple[int, int]:
        """What the escrow holds for payments and its guarantee fund (sen)."""
        escrowed, fund = self._call(self.platform.escrow.functions.totals())
        return int(escrowed), int(fund)

    def vintage(self, token_id: int) -> VintageSupply:
        """Issued, retired and bridged tonnes of a carbon vintage."""
        v = self._call(self.platform.carbon.functions.vintage(token_id))
        # Vintage struct: projectKey, year, verified, verifiedTonnes, issued, retired, bridged, ...
        return VintageSupply(issued=int(v[4]), retired=int(v[5]), bridged=int(v[6]))
