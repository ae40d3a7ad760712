"""The pilot's MSC half on the chain: simulated customers paying simulated merchants' wallets in MSC.

Half of the pilot's customers pay in MSC (see :func:`launcher.pilot.sales`). Such a customer holds
MSC in a wallet of its own and sends it to the merchant's wallet: a plain ERC-20 ``transfer`` that
no platform service sees, only the chain mirror (the indexer), which is where the LPUI and the
forecasts count it (:mod:`city.lpui.compute`). So here each of those sales is a real transaction
on the stack's local chain (anvil), on its sale's day:

* the customer's wallet is an address derived from its payer id (the same simulated Pioneers as
  the Pi half: a shop's regulars and the city's passers-by, :meth:`Pilot.payer_uid`); no key
  exists for it, anvil impersonates it (``anvil_autoImpersonateAccount``);
* each morning (06:00 Jakarta) the issuer mints each of the day's MSC customers exactly what it
  spends that day (it topped up at the bank: minting is how MSC enters circulation), then every
  sale is its customer's ``transfer`` to the merchant's wallet, one block per Jakarta hour of
  trade, stamped with that hour's last sale (so every transfer lands on its sale's Jakarta day,
  which is what the LPUI counts, and block times only move forward);
* before the first morning the issuer attests reserves grown by the pilot's whole MSC amount (a
  ``SIMULASI/...`` reference) and gives itself that much more mint allowance.

Automine is off while it runs: a block's transactions go as one JSON-RPC batch with explicit
nonces and gas, then ``evm_mine`` at the block's time (about fifteen round trips per simulated day
instead of two per transaction). Each block must hold every transaction sent for it, and at the
end each merchant's balance must have grown by exactly its MSC sales and the supply by their total:
otherwise :class:`PilotChainError`.

It runs once, on a fresh chain whose clock is before the pilot's first morning (``msc up --pilot``
starts its chain then); a chain already past it is refused before anything is sent.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any

import httpx
from eth_utils import keccak, to_checksum_address

from common.errors import MSCError
from launcher.pilot import JAKARTA, PilotPlan, Sale, sales

TOPUP_HOUR = time(6)
"""When (Jakarta) the day's MSC customers top up: before the shops open at 07:00."""
MINT_GAS, TRANSFER_GAS, ISSUER_GAS = 120_000, 90_000, 200_000
"""Gas given to each kind of transaction (well above what each uses; sent without estimates)."""
GAS_MONEY = 10**18
"""Ether each customer wallet gets for gas (when the chain charges for it)."""


class PilotChainError(MSCError):
    """The chain cannot take the pilot, or did not end up as the pilot's sales say it must."""

    code = "pilot_chain"


@dataclass(frozen=True)
class ChainSale:
    """One MSC-paid sale as sent: who paid whom, how much (sen), and when."""

    sale: Sale
    payer: str
    merchant: str
    amount: int


@dataclass(frozen=True)
class ChainSummary:
    """What the pilot put on the chain.

    Attributes:
        transfers: Customers' MSC transfers to merchants.
        amount: Their total, in sen (= MSC minor units).
        payers: Distinct customer wallets.
        blocks: Blocks mined.
        first_block: The first of them (0 when nothing was sent).
        last_block: The last of them (0 when nothing was sent).
    """

    transfers: int
    amount: int
    payers: int
    blocks: int
    first_block: int
    last_block: int


def payer_address(payer_uid: str) -> str:
    """The simulated customer's wallet: an address derived from its payer id (no key exists)."""
    return to_checksum_address(hashlib.sha256(f"msc-pilot-wallet:{payer_uid}".encode()).digest()[:20])


def _word(value: int | str) -> str:
    """One ABI word (address or uint256) as 64 hex digits."""
    number = int(value, 16) if isinstance(value, str) else value
    return f"{number:064x}"


def _selector(signature: str) -> str:
    return "0x" + keccak(text=signature)[:4].hex()


MINT, TRANSFER = _selector("mint(address,uint256)"), _selector("transfer(address,uint256)")
ATTEST, CONFIGURE = _selector("attestReserves(uint256,string)"), _selector("configureMinter(address,uint256)")
RESERVES, ALLOWANCE = _selector("attestedReserves()"), _selector("minterAllowance(address)")
BALANCE, SUPPLY = _selector("balanceOf(address)"), _selector("totalSupply()")


def _attest_data(reserves: int, reference: str) -> str:
    """``attestReserves(reserves, reference)`` calldata (one dynamic string argument)."""
    text = reference.encode()
    padded = text.hex().ljust(((len(text) + 31) // 32) * 64, "0")
    return ATTEST + _word(reserves) + _word(64) + _word(len(text)) + padded


class JsonRpc:
    """A node's JSON-RPC over HTTP, with batches (one round trip for many calls)."""

    def __init__(self, url: str, timeout_s: float = 120.0) -> None:
        self.url = url
        self.client = httpx.Client(timeout=timeout_s)

    def close(self) -> None:
        """Closes the HTTP connection."""
        self.client.close()

    def call(self, method: str, params: list[Any]) -> Any:
        """One call's result."""
        return self.batch([(method, params)])[0]

    def batch(self, calls: Sequence[tuple[str, list[Any]]]) -> list[Any]:
        """The calls' results, in order.

        Raises:
            PilotChainError: the node answered any of them with an error.
        """
        if not calls:
            return []
        payload = [{"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in enumerate(calls)]
        answers = self.client.post(self.url, json=payload).json()
        if isinstance(answers, dict):  # a node that answers a whole batch with one error
            answers = [answers]
        by_id = {a.get("id"): a for a in answers}
        results = []
        for i, (method, _params) in enumerate(calls):
            answer = by_id.get(i, {"error": {"message": "no answer"}})
            if "error" in answer:
                raise PilotChainError(f"{method} failed on the chain: {answer['error'].get('message')}")
            results.append(answer["result"])
        return results


class PilotChain:
    """Sends a :class:`PilotPlan`'s MSC sales on a local chain (anvil) as the module says.

    Args:
        rpc_url: The chain's JSON-RPC address (an anvil node: it uses ``anvil_*`` and ``evm_*``).
        msc: The MSC contract's address.
        issuer: The account that attests reserves, configures minters and mints (unlocked on the
            node: anvil's development account 0 on the stack).
    """

    def __init__(self, rpc_url: str, msc: str, issuer: str) -> None:
        self.rpc = JsonRpc(rpc_url)
        self.msc = to_checksum_address(msc)
        self.issuer = to_checksum_address(issuer)
        self._nonces: dict[str, int] = {}
        self._last_time = 0
        self._blocks: list[int] = []
        self._gas_price = 0

    def run(
        self, plan: PilotPlan, merchants: Sequence[str], payer_uid: Callable[[Sale], str]
    ) -> ChainSummary:
        """Sends every MSC sale of ``plan`` (``merchants[i]`` is the ``i``-th merchant's wallet).

        Raises:
            PilotChainError: the chain's clock is past the first morning, a block did not take what
                was sent, or the balances do not add up afterwards (see the module).
        """
        chain_sales = [
            ChainSale(
                s, payer_address(payer_uid(s)), to_checksum_address(merchants[s.merchant]), s.rupiah * 100
            )
            for s in sales(plan)
            if not s.in_pi
        ]
        if not chain_sales:
            return ChainSummary(0, 0, 0, 0, 0, 0)
        try:
            return self._run(plan, chain_sales)
        finally:
            self.rpc.close()

    def _run(self, plan: PilotPlan, chain_sales: list[ChainSale]) -> ChainSummary:
        latest = self.rpc.call("eth_getBlockByNumber", ["latest", False])
        self._last_time = int(latest["timestamp"], 16)
        first_morning = _morning(chain_sales[0].sale.at)
        if self._last_time >= int(first_morning.timestamp()):
            raise PilotChainError(
                f"the chain's clock ({datetime.fromtimestamp(self._last_time, UTC):%Y-%m-%d %H:%M} UTC) is "
                f"past the pilot's first morning ({first_morning:%Y-%m-%d %H:%M} Jakarta): "
                "start a fresh chain before it"
            )
        self._gas_price = 2 * int(latest.get("baseFeePerGas") or "0x0", 16)
        total = sum(c.amount for c in chain_sales)
        merchants = sorted({c.merchant for c in chain_sales})
        before = self._balances(merchants)
        supply_before = self._read(SUPPLY)
        reserves = int(self._read(RESERVES, length=2)[0:64], 16)
        allowance = self._read(ALLOWANCE + _word(self.issuer))
        self.rpc.batch([("anvil_autoImpersonateAccount", [True]), ("evm_setAutomine", [False])])
        try:
            issuer_txs = [
                self._tx(
                    self.issuer, _attest_data(reserves + total, f"SIMULASI/PILOT/{plan.seed}"), ISSUER_GAS
                ),
                self._tx(self.issuer, CONFIGURE + _word(self.issuer) + _word(allowance + total), ISSUER_GAS),
            ]
            funded: set[str] = set()
            for day_sales in _by_day(chain_sales):
                self._day(day_sales, funded, issuer_txs)
                issuer_txs = []
        finally:
            self.rpc.call("evm_setAutomine", [True])
        self._check(chain_sales, merchants, before, supply_before + total)
        return ChainSummary(
            transfers=len(chain_sales),
            amount=total,
            payers=len(funded),
            blocks=len(self._blocks),
            first_block=self._blocks[0],
            last_block=self._blocks[-1],
        )

    def _day(self, day_sales: list[ChainSale], funded: set[str], issuer_txs: list[dict[str, Any]]) -> None:
        """One day: the morning's top-ups in one block, then one block per hour of trade."""
        spent: dict[str, int] = defaultdict(int)
        for c in day_sales:
            spent[c.payer] += c.amount
        new = [p for p in spent if p not in funded]
        if self._gas_price:
            self.rpc.batch([("anvil_setBalance", [p, hex(GAS_MONEY)]) for p in new])
        funded.update(new)
        mints = [
            self._tx(self.issuer, MINT + _word(p) + _word(amount), MINT_GAS) for p, amount in spent.items()
        ]
        self._block([*issuer_txs, *mints], _morning(day_sales[0].sale.at))
        hours: dict[int, list[ChainSale]] = defaultdict(list)
        for c in day_sales:
            hours[c.sale.at.astimezone(JAKARTA).hour].append(c)
        for hour in sorted(hours):
            group = sorted(hours[hour], key=lambda c: c.sale.at)
            txs = [
                self._tx(c.payer, TRANSFER + _word(c.merchant) + _word(c.amount), TRANSFER_GAS) for c in group
            ]
            self._block(txs, group[-1].sale.at)

    def _tx(self, sender: str, data: str, gas: int) -> dict[str, Any]:
        """A transaction from ``sender`` to MSC with its next nonce."""
        if sender not in self._nonces:
            self._nonces[sender] = int(self.rpc.call("eth_getTransactionCount", [sender, "pending"]), 16)
        nonce = self._nonces[sender]
        self._nonces[sender] = nonce + 1
        return {
            "from": sender,
            "to": self.msc,
            "data": data,
            "gas": hex(gas),
            "gasPrice": hex(self._gas_price),
            "nonce": hex(nonce),
        }

    def _block(self, txs: list[dict[str, Any]], at: datetime) -> None:
        """Sends ``txs`` and mines them in one block at ``at`` (or just after the previous block)."""
        self.rpc.batch([("eth_sendTransaction", [tx]) for tx in txs])
        stamp = max(int(at.timestamp()), self._last_time + 1)
        self.rpc.call("evm_mine", [stamp])
        block = self.rpc.call("eth_getBlockByNumber", ["latest", False])
        if len(block["transactions"]) != len(txs) or int(block["timestamp"], 16) != stamp:
            raise PilotChainError(
                f"block {int(block['number'], 16)} holds {len(block['transactions'])} of the {len(txs)} "
                "pilot transactions sent for it"
            )
        self._last_time = stamp
        self._blocks.append(int(block["number"], 16))

    def _read(self, data: str, length: int = 1) -> Any:
        """An ``eth_call`` to MSC: the integer it returns (``length`` 1) or its raw words."""
        result: str = self.rpc.call("eth_call", [{"to": self.msc, "data": data}, "latest"])
        return int(result, 16) if length == 1 else result[2:]

    def _balances(self, accounts: Iterable[str]) -> dict[str, int]:
        accounts = list(accounts)
        calls = [("eth_call", [{"to": self.msc, "data": BALANCE + _word(a)}, "latest"]) for a in accounts]
        return {a: int(r, 16) for a, r in zip(accounts, self.rpc.batch(calls), strict=True)}

    def _check(
        self, chain_sales: list[ChainSale], merchants: list[str], before: dict[str, int], supply: int
    ) -> None:
        """Each merchant got exactly its MSC sales, and the supply grew by exactly their total."""
        expected = dict(before)
        for c in chain_sales:
            expected[c.merchant] += c.amount
        after = self._balances(merchants)
        wrong = [m for m in merchants if after[m] != expected[m]]
        if wrong:
            raise PilotChainError(
                f"{len(wrong)} merchant wallet(s) did not receive their MSC sales, e.g. {wrong[0]}: "
                f"{after[wrong[0]]} instead of {expected[wrong[0]]}"
            )
        if (actual := self._read(SUPPLY)) != supply:
            raise PilotChainError(f"MSC supply is {actual} after the pilot instead of {supply}")


def _morning(moment: datetime) -> datetime:
    """06:00 Jakarta on ``moment``'s Jakarta day."""
    return datetime.combine(moment.astimezone(JAKARTA).date(), TOPUP_HOUR, JAKARTA)


def _by_day(chain_sales: list[ChainSale]) -> list[list[ChainSale]]:
    """The sales grouped by Jakarta day, in day order."""
    days: dict[Any, list[ChainSale]] = defaultdict(list)
    for c in chain_sales:
        days[c.sale.at.astimezone(JAKARTA).date()].append(c)
    return [days[d] for d in sorted(days)]


def pilot_genesis(plan: PilotPlan) -> int:
    """Where a chain for the pilot starts: the pilot's first day, 00:00 Jakarta (Unix seconds)."""
    return int(datetime.combine(plan.first_day, time(0), JAKARTA).timestamp())
