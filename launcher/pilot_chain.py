"""The pilot on the chain: customers paying merchants' wallets in MSC, and the Pi payments' MSC in
the escrow.

Half of the pilot's customers pay in MSC (see :func:`launcher.pilot.sales`). Such a customer holds
MSC in a wallet of its own and sends it to the merchant's wallet: a plain ERC-20 ``transfer`` that
no platform service sees, only the chain mirror (the indexer), which is where the LPUI, the
forecasts and the LDCI count it (:mod:`city.mirror_payments`). The other half pay in Pi, and the
settlement mints each payment's MSC into the merchant escrow. So here, on the stack's local chain
(anvil), on each sale's day:

* the customer's wallet is an address derived from its payer id (the same simulated Pioneers as
  the Pi half: a shop's regulars and the city's passers-by, :meth:`Pilot.payer_uid`); no key
  exists for it, anvil impersonates it (``anvil_autoImpersonateAccount``);
* each morning (06:00 Jakarta) the issuer mints each of the day's MSC customers exactly what it
  spends that day (it topped up at the bank: minting is how MSC enters circulation), and itself
  the day's Pi payments' total, as the settlement's minter does;
* then one block per Jakarta hour of trade, stamped with that hour's last moment: every MSC sale
  as its customer's ``transfer`` to the merchant's wallet, and the Pi payments that settled in
  that hour deposited into the escrow with ``depositBatch``, as the minter deposits them (escrow
  id from the payment's id, the issuer as payer, the workers' default three-day hold). The books
  already hold those payments as minted into the escrow (:mod:`launcher.pilot`), so books and
  chain agree, and nobody releases them: the pilot has no escrow holdings for the releaser;
* before the first morning the issuer attests reserves grown by everything the pilot mints (a
  ``SIMULASI/...`` reference), gives itself that much more mint allowance and lets the escrow
  pull its MSC.

Every transfer lands on its sale's Jakarta day and block times only move forward; what would not
fit in one block's gas goes into the next, a second later. Automine is off
while it runs: a block's transactions go as one JSON-RPC batch with explicit nonces and gas, then
``evm_mine`` at the block's time (about fifteen round trips per simulated day instead of two per
transaction). Each block must hold every transaction sent for it, and at the end each merchant's
balance must have grown by exactly its MSC sales, the escrow's by exactly the Pi payments and the
supply by both: otherwise :class:`PilotChainError`.

It runs once, on a fresh chain whose clock is before the pilot's first morning (``msc up --pilot``
starts its chain then); a chain already past it is refused before anything is sent.
"""

from __future__ import annotations

import hashlib
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import Any

import eth_abi
import httpx
from eth_utils import keccak, to_checksum_address

from common.errors import MSCError
from launcher.pilot import JAKARTA, STEP, PilotPlan, Sale, sales
from settlement.minting.ids import escrow_payment_id

TOPUP_HOUR = time(6)
"""When (Jakarta) the day's MSC customers top up: before the shops open at 07:00."""
MINT_GAS, TRANSFER_GAS, ISSUER_GAS = 120_000, 90_000, 200_000
"""Gas given to each kind of transaction (well above what each uses; sent without estimates)."""
DEPOSIT_GAS = 120_000
"""Gas per escrow deposit in a batch (and once more for the batch)."""
DEPOSIT_CHUNK = 50
"""Deposits per ``depositBatch`` (the escrow takes up to 500)."""
HOLD_SECONDS = 3 * 24 * 3600
"""The escrow hold of the pilot's Pi payments: the settlement workers' default (three days)."""
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

    @property
    def at(self) -> datetime:
        """When the customer paid."""
        return self.sale.at


@dataclass(frozen=True)
class ChainDeposit:
    """One Pi payment's escrow deposit as sent: its escrow id, merchant and amount (sen), made
    when the payment settled (four steps after its sale began, :data:`launcher.pilot.STEP`)."""

    sale: Sale
    escrow_id: bytes
    merchant: str
    amount: int

    @property
    def at(self) -> datetime:
        """When the settlement deposited it."""
        return self.sale.at + 4 * STEP


Move = ChainSale | ChainDeposit
"""What the pilot puts on the chain for one sale."""


@dataclass(frozen=True)
class ChainSummary:
    """What the pilot put on the chain.

    Attributes:
        transfers: Customers' MSC transfers to merchants.
        amount: Their total, in sen (= MSC minor units).
        payers: Distinct customer wallets.
        deposits: Pi payments deposited into the escrow.
        escrowed: Their total, in sen.
        blocks: Blocks mined.
        first_block: The first of them (0 when nothing was sent).
        last_block: The last of them (0 when nothing was sent).
    """

    transfers: int
    amount: int
    payers: int
    deposits: int
    escrowed: int
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
APPROVE = _selector("approve(address,uint256)")
DEPOSIT_BATCH = _selector("depositBatch((bytes32,address,address,uint96,uint40)[])")


def _deposit_batch_data(deposits: Sequence[ChainDeposit], payer: str) -> str:
    """``depositBatch`` calldata: each deposit held :data:`HOLD_SECONDS` with ``payer`` as payer."""
    requests = [(d.escrow_id, d.merchant, payer, d.amount, HOLD_SECONDS) for d in deposits]
    return DEPOSIT_BATCH + eth_abi.encode(["(bytes32,address,address,uint96,uint40)[]"], [requests]).hex()


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
    """Sends a :class:`PilotPlan`'s MSC sales, and its Pi payments' escrow deposits, on a local
    chain (anvil) as the module says.

    Args:
        rpc_url: The chain's JSON-RPC address (an anvil node: it uses ``anvil_*`` and ``evm_*``).
        msc: The MSC contract's address.
        escrow: The merchant escrow's address.
        issuer: The account that attests reserves, configures minters, mints and deposits into the
            escrow (unlocked on the node: anvil's development account 0 on the stack, which is
            the stack's settlement key too).
        block_gas: The most gas (as declared by its transactions) one block takes; a block's
            transactions beyond it go into the next block, a second later (default: the chain's
            block gas limit).
    """

    def __init__(
        self, rpc_url: str, msc: str, escrow: str, issuer: str, block_gas: int | None = None
    ) -> None:
        self.rpc = JsonRpc(rpc_url)
        self._block_gas = block_gas or 0
        self.msc = to_checksum_address(msc)
        self.escrow = to_checksum_address(escrow)
        self.issuer = to_checksum_address(issuer)
        self._nonces: dict[str, int] = {}
        self._last_time = 0
        self._blocks: list[int] = []
        self._gas_price = 0

    def run(
        self,
        plan: PilotPlan,
        merchants: Sequence[str],
        payer_uid: Callable[[Sale], str],
        pi_payments: Sequence[tuple[Sale, uuid.UUID]] = (),
    ) -> ChainSummary:
        """Sends every MSC sale of ``plan`` (``merchants[i]`` is the ``i``-th merchant's wallet)
        and deposits each of ``pi_payments`` (a Pi sale and its settled payment's id) into the
        escrow for its merchant.

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
        deposits = [
            ChainDeposit(
                s, escrow_payment_id(pid), to_checksum_address(merchants[s.merchant]), s.rupiah * 100
            )
            for s, pid in pi_payments
        ]
        if not chain_sales and not deposits:
            return ChainSummary(0, 0, 0, 0, 0, 0, 0, 0)
        try:
            return self._run(plan, chain_sales, deposits)
        finally:
            self.rpc.close()

    def _run(
        self, plan: PilotPlan, chain_sales: list[ChainSale], deposits: list[ChainDeposit]
    ) -> ChainSummary:
        latest = self.rpc.call("eth_getBlockByNumber", ["latest", False])
        self._last_time = int(latest["timestamp"], 16)
        everything: list[Move] = [*chain_sales, *deposits]
        first_morning = _morning(min(m.at for m in everything))
        if self._last_time >= int(first_morning.timestamp()):
            raise PilotChainError(
                f"the chain's clock ({datetime.fromtimestamp(self._last_time, UTC):%Y-%m-%d %H:%M} UTC) is "
                f"past the pilot's first morning ({first_morning:%Y-%m-%d %H:%M} Jakarta): "
                "start a fresh chain before it"
            )
        self._gas_price = 2 * int(latest.get("baseFeePerGas") or "0x0", 16)
        self._block_gas = self._block_gas or int(latest["gasLimit"], 16)
        paid, escrowed = sum(c.amount for c in chain_sales), sum(d.amount for d in deposits)
        merchants = sorted({c.merchant for c in chain_sales})
        before = self._balances([*merchants, self.escrow])
        supply_before = self._read(SUPPLY)
        reserves = int(self._read(RESERVES, length=2)[0:64], 16)
        allowance = self._read(ALLOWANCE + _word(self.issuer))
        self.rpc.batch([("anvil_autoImpersonateAccount", [True]), ("evm_setAutomine", [False])])
        try:
            reference = f"SIMULASI/PILOT/{plan.seed}"
            issuer_txs = [
                self._tx(self.issuer, _attest_data(reserves + paid + escrowed, reference), ISSUER_GAS),
                self._tx(
                    self.issuer,
                    CONFIGURE + _word(self.issuer) + _word(allowance + paid + escrowed),
                    ISSUER_GAS,
                ),
                self._tx(self.issuer, APPROVE + _word(self.escrow) + _word(2**256 - 1), ISSUER_GAS),
            ]
            funded: set[str] = set()
            for day in _by_day(everything):
                self._day(
                    [m for m in day if isinstance(m, ChainSale)],
                    [m for m in day if isinstance(m, ChainDeposit)],
                    funded,
                    issuer_txs,
                )
                issuer_txs = []
        finally:
            self.rpc.call("evm_setAutomine", [True])
        self._check(chain_sales, deposits, before, supply_before + paid + escrowed)
        return ChainSummary(
            transfers=len(chain_sales),
            amount=paid,
            payers=len(funded),
            deposits=len(deposits),
            escrowed=escrowed,
            blocks=len(self._blocks),
            first_block=self._blocks[0],
            last_block=self._blocks[-1],
        )

    def _day(
        self,
        day_sales: list[ChainSale],
        day_deposits: list[ChainDeposit],
        funded: set[str],
        issuer_txs: list[dict[str, Any]],
    ) -> None:
        """One day: the morning's mints (customers' top-ups, the day's Pi settlements for the
        issuer) in one block, then one block per hour of trade with its MSC payments and one
        escrow deposit batch of the Pi payments settled in it."""
        spent: dict[str, int] = defaultdict(int)
        for c in day_sales:
            spent[c.payer] += c.amount
        new = [p for p in spent if p not in funded]
        if self._gas_price and new:
            self.rpc.batch([("anvil_setBalance", [p, hex(GAS_MONEY)]) for p in new])
        funded.update(new)
        mints = [
            self._tx(self.issuer, MINT + _word(p) + _word(amount), MINT_GAS) for p, amount in spent.items()
        ]
        if settled := sum(d.amount for d in day_deposits):
            mints.append(self._tx(self.issuer, MINT + _word(self.issuer) + _word(settled), MINT_GAS))
        moves: list[Move] = [*day_sales, *day_deposits]
        self._block([*issuer_txs, *mints], _morning(moves[0].at))
        hours: dict[int, list[Move]] = defaultdict(list)
        for m in moves:
            hours[m.at.astimezone(JAKARTA).hour].append(m)
        for hour in sorted(hours):
            group = sorted(hours[hour], key=lambda m: m.at)
            txs = [
                self._tx(c.payer, TRANSFER + _word(c.merchant) + _word(c.amount), TRANSFER_GAS)
                for c in group
                if isinstance(c, ChainSale)
            ]
            held = [d for d in group if isinstance(d, ChainDeposit)]
            for i in range(0, len(held), DEPOSIT_CHUNK):
                chunk = held[i : i + DEPOSIT_CHUNK]
                txs.append(
                    self._tx(
                        self.issuer,
                        _deposit_batch_data(chunk, self.issuer),
                        DEPOSIT_GAS * (len(chunk) + 1),
                        self.escrow,
                    )
                )
            self._block(txs, group[-1].at)

    def _tx(self, sender: str, data: str, gas: int, to: str | None = None) -> dict[str, Any]:
        """A transaction from ``sender`` to ``to`` (MSC by default) with its next nonce."""
        if sender not in self._nonces:
            self._nonces[sender] = int(self.rpc.call("eth_getTransactionCount", [sender, "pending"]), 16)
        nonce = self._nonces[sender]
        self._nonces[sender] = nonce + 1
        return {
            "from": sender,
            "to": to or self.msc,
            "data": data,
            "gas": hex(gas),
            "gasPrice": hex(self._gas_price),
            "nonce": hex(nonce),
        }

    def _block(self, txs: list[dict[str, Any]], at: datetime) -> None:
        """Sends ``txs`` and mines them at ``at`` (or just after the previous block): one block, or
        several a second apart when their gas would not fit in one."""
        group: list[dict[str, Any]] = []
        gas = 0
        for tx in txs:
            if group and gas + int(tx["gas"], 16) > self._block_gas:
                self._mine(group, at)
                group, gas = [], 0
            group.append(tx)
            gas += int(tx["gas"], 16)
        self._mine(group, at)

    def _mine(self, txs: list[dict[str, Any]], at: datetime) -> None:
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
        self,
        chain_sales: list[ChainSale],
        deposits: list[ChainDeposit],
        before: dict[str, int],
        supply: int,
    ) -> None:
        """Each merchant got exactly its MSC sales, the escrow exactly the Pi payments, and the
        supply grew by exactly both (a reverted transaction shows here)."""
        expected = dict(before)
        for c in chain_sales:
            expected[c.merchant] += c.amount
        expected[self.escrow] += sum(d.amount for d in deposits)
        after = self._balances(expected)
        wrong = [a for a in expected if after[a] != expected[a]]
        if wrong:
            raise PilotChainError(
                f"{len(wrong)} wallet(s) did not receive the pilot's MSC, e.g. {wrong[0]}: "
                f"{after[wrong[0]]} instead of {expected[wrong[0]]}"
            )
        if (actual := self._read(SUPPLY)) != supply:
            raise PilotChainError(f"MSC supply is {actual} after the pilot instead of {supply}")


def _morning(moment: datetime) -> datetime:
    """06:00 Jakarta on ``moment``'s Jakarta day."""
    return datetime.combine(moment.astimezone(JAKARTA).date(), TOPUP_HOUR, JAKARTA)


def _by_day(moves: list[Move]) -> list[list[Move]]:
    """The payments and deposits grouped by Jakarta day, in day order."""
    days: dict[Any, list[Move]] = defaultdict(list)
    for m in moves:
        days[m.at.astimezone(JAKARTA).date()].append(m)
    return [days[d] for d in sorted(days)]


def pilot_genesis(plan: PilotPlan) -> int:
    """Where a chain for the pilot starts: the pilot's first day, 00:00 Jakarta (Unix seconds)."""
    return int(datetime.combine(plan.first_day, time(0), JAKARTA).timestamp())
