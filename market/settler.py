"""Settles matched fills on-chain with ``CarbonMarket.settleBatch``, crash-safe.

One round (:meth:`Settler.run_once`):

1. **Resolve batches in flight first.** A batch recorded by an earlier (possibly crashed) run is decided
   from its receipt: status 1 settles its fills, status 0 returns them to pending. Without a receipt, the
   *same signed transaction* is rebroadcast (same nonce and hash, so it can never settle anything twice);
   if its nonce was meanwhile taken by another transaction it can never be mined, which the contract's
   ``filled(orderHash)`` counters confirm before its fills are released. Nothing new is sent until every
   batch in flight is resolved.
2. **Take up to ``max_batch`` pending fills** (oldest first) and dry-run ``settleBatch`` with ``eth_call``.
   ``settleBatch`` is all-or-nothing, so one bad fill would block the rest: on a revert the first failing
   fill is found by bisecting prefixes of the batch (a prefix fails exactly when it contains the first bad
   fill), its custom error is decoded, the fill is rolled back in the book, the order that caused it (by
   the error's order hash or address: e.g. ``ERC1155InsufficientBalance`` names the seller) is cancelled,
   and the rest is tried again. A revert that is about the market rather than a fill (paused, the settler
   without its role) stops the round instead, leaving every fill pending.
3. **Write ahead, then send.** The signed transaction, its hash and nonce are committed as a ``prepared``
   batch (its fills linked to it) *before* it is broadcast; then the receipt decides as in 1.

Only one settler may run per settler key (nonces are taken from the node's pending count).

Write-ahead audit (the shape "a transaction sent before its record is written"): the settler does
not have it. ``store.record_batch`` commits the signed transaction (raw bytes, hash, nonce) and links
its fills in its own transaction and returns before ``send_raw_transaction`` is called, so a crash
at any point leaves either nothing sent and nothing recorded (the fills are still unbatched) or a
``prepared`` batch that recovery decides from the chain: the receipt of that exact hash, else a
rebroadcast of the same bytes (same nonce: it can settle at most once), else, when the nonce went to
another transaction, the contract's ``filled(orderHash)`` compared with what the database settled
before the fills are released (tests/market/test_settler.py kills the round at ``recorded`` and at
``sent``). Left open: a batch is confirmed at its receipt, with no confirmation depth, so a reorg
deeper than that block would need an operator.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hexbytes import HexBytes
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import ContractLogicError, TimeExhausted, TransactionNotFound
from web3.logs import DISCARD
from web3.types import TxReceipt

from chain.errors import ChainError, ContractRevertError
from chain.revert import RevertDecoder
from chain.signer import Signer
from market.models import BatchStatus, SettlementBatch
from market.orders import Fill
from market.service import MarketService
from market.signed import SignedOrder
from market.store import SettledFill

log = logging.getLogger(__name__)

DEFAULT_MAX_BATCH = 40
"""Fills per transaction by default. Measured on anvil: 40 fills used 3,039,740 gas (~76k each, more for
cold accounts), so a batch stays well inside a 12M-gas block; up to the contract's ``MAX_BATCH`` (100) can
be configured where blocks are larger."""


BATCH_LEVEL_ERRORS = frozenset({"EnforcedPause", "AccessControlUnauthorizedAccount", "MarketBatchSize"})
"""Reverts that say nothing about a fill (the market is paused, the settler lost its role): rolling fills
back for them would empty the book for nothing, so the round stops and the fills stay pending."""


class SettlementBlockedError(ChainError):
    """The market refuses every settlement right now (paused, or the settler lacks the role)."""

    code = "settlement_blocked"
    status_code = 503


class SettlementInconsistencyError(ChainError):
    """A dropped batch's orders show more filled on-chain than the database says settled."""

    code = "settlement_inconsistent"


@dataclass
class SettleReport:
    """What one round did."""

    settled: list[int] = field(default_factory=list)
    """Sequences of fills that settled."""
    rolled_back: dict[int, str] = field(default_factory=dict)
    """Sequence -> decoded error of fills rolled back."""
    batches: list[str] = field(default_factory=list)
    """Transaction hashes of the batches resolved as settled."""


class Settler:
    """Submits the market's pending fills (see the module docstring)."""

    def __init__(
        self,
        service: MarketService,
        market: Contract,
        signer: Signer,
        decoder: RevertDecoder,
        *,
        max_batch: int = DEFAULT_MAX_BATCH,
        receipt_timeout_s: float = 60.0,
        hook: Callable[[str], None] | None = None,
    ) -> None:
        limit = market.functions.MAX_BATCH().call()
        if not 0 < max_batch <= limit:
            raise ValueError(f"max_batch must be 1..{limit} (the contract's MAX_BATCH), got {max_batch}")
        self.service = service
        self.store = service.store
        self.market = market
        self.w3: Web3 = market.w3
        self.signer = signer
        self.decoder = decoder
        self.max_batch = max_batch
        self.receipt_timeout_s = receipt_timeout_s
        self._hook = hook or (lambda _stage: None)
        """Called at ``"recorded"`` (batch written, not sent) and ``"sent"``: the crash tests raise here."""

    # -- rounds ------------------------------------------------------------------------------------

    def run_once(self, max_rounds: int = 10) -> SettleReport:
        """Resolves batches in flight, then settles pending fills in up to ``max_rounds`` batches."""
        report = SettleReport()
        self.resolve_in_flight(report)
        for _ in range(max_rounds):
            fills = self.store.unbatched_fills(self.max_batch)
            if not fills:
                break
            self._settle(fills, report)
        return report

    def run_forever(self, stop: threading.Event, interval_s: float = 2.0) -> None:
        """Runs rounds until ``stop`` is set (the settler worker).

        A failed round (node unreachable, market paused, a receipt timeout) is logged and retried after
        ``interval_s``: every round starts by resolving what the failed one left in flight.
        """
        while not stop.is_set():
            try:
                self.run_once()
            except Exception:  # the worker must outlive any one round; the next round resolves the state
                log.exception("settlement round failed; retrying in %ss", interval_s)
            stop.wait(interval_s)

    def resolve_in_flight(self, report: SettleReport | None = None) -> None:
        """Decides every recorded batch from its receipt, rebroadcasting its signed transaction if needed."""
        report = report or SettleReport()
        for batch in self.store.batches_in_flight():
            receipt = self._receipt(batch.tx_hash)
            if receipt is None and self._nonce_taken(batch):
                receipt = self._receipt(batch.tx_hash)  # mined between the two reads
                if receipt is None:
                    self._drop(batch)
                    continue
            if receipt is None:
                # "already known" or "nonce too low" are both fine: the receipt decides below.
                with contextlib.suppress(Exception):
                    self.w3.eth.send_raw_transaction(HexBytes(batch.raw_tx))
                receipt = self._wait(batch.tx_hash)
            self._resolve(batch.id, batch.tx_hash, self.store.batch_fills(batch.id), receipt, report)

    # -- one batch ---------------------------------------------------------------------------------

    def _settle(self, fills: list[Fill], report: SettleReport) -> None:
        terms = self.store.terms_of({f.buy_order_id for f in fills} | {f.sell_order_id for f in fills})
        fills = list(fills)
        while fills:
            payload = [_fill_struct(f, terms) for f in fills]
            failure = self._dry_run(payload)
            if failure is None:
                break
            if failure.error_name in BATCH_LEVEL_ERRORS:
                raise SettlementBlockedError(
                    f"settlement is blocked: {failure}; {len(fills)} fills stay pending",
                    error=failure.error_name,
                )
            index = self._first_failing(payload)
            error = self._dry_run(payload[: index + 1]) or failure
            bad = fills.pop(index)
            offender = _offender(error, bad, terms)
            self.service.rollback(bad, str(error), offender)
            report.rolled_back[bad.sequence] = error.error_name
        if not fills:
            return
        fn = self.market.functions.settleBatch(payload)
        sender = self.signer.address
        gas = fn.estimate_gas({"from": sender})
        nonce = self.w3.eth.get_transaction_count(Web3.to_checksum_address(sender), "pending")
        tx = fn.build_transaction({"from": sender, "nonce": nonce, "gas": gas * 12 // 10})
        signed = self.signer.sign_transaction(dict(tx))
        tx_hash = "0x" + bytes(signed.hash).hex()
        batch_id = self.store.record_batch(
            sender, nonce, tx_hash, "0x" + bytes(signed.raw_transaction).hex(), fills
        )
        self._hook("recorded")
        self.w3.eth.send_raw_transaction(signed.raw_transaction)
        self._hook("sent")
        self._resolve(batch_id, tx_hash, fills, self._wait(tx_hash), report)

    def _dry_run(self, payload: list[tuple[Any, ...]]) -> ContractRevertError | None:
        """The decoded revert of ``settleBatch(payload)`` as an ``eth_call``, or None if it would succeed."""
        try:
            self.market.functions.settleBatch(payload).call({"from": self.signer.address})
        except ContractLogicError as exc:
            return self.decoder.decode(_revert_data(exc))
        return None

    def _first_failing(self, payload: list[tuple[Any, ...]]) -> int:
        """Index of the first fill whose settlement reverts (the whole payload is known to revert)."""
        low, high = 1, len(payload)
        while low < high:
            middle = (low + high) // 2
            if self._dry_run(payload[:middle]) is None:
                low = middle + 1
            else:
                high = middle
        return low - 1

    # -- receipts ----------------------------------------------------------------------------------

    def _receipt(self, tx_hash: str) -> TxReceipt | None:
        try:
            return self.w3.eth.get_transaction_receipt(HexBytes(tx_hash))
        except TransactionNotFound:
            return None

    def _wait(self, tx_hash: str) -> TxReceipt:
        try:
            return self.w3.eth.wait_for_transaction_receipt(HexBytes(tx_hash), timeout=self.receipt_timeout_s)
        except TimeExhausted as exc:
            raise ChainError(
                f"settlement batch {tx_hash} not mined within {self.receipt_timeout_s}s; it stays in "
                "flight and is resolved by the next round",
                tx_hash=tx_hash,
            ) from exc

    def _nonce_taken(self, batch: SettlementBatch) -> bool:
        """Whether the sender's mined nonce count has passed the batch's nonce."""
        return bool(
            self.w3.eth.get_transaction_count(Web3.to_checksum_address(batch.sender), "latest") > batch.nonce
        )

    def _resolve(
        self, batch_id: int, tx_hash: str, fills: list[Fill], receipt: TxReceipt, report: SettleReport
    ) -> None:
        block = int(receipt["blockNumber"])
        if receipt["status"] != 1:
            with self.store.transaction() as session:
                self.store.resolve_batch(
                    session, batch_id, BatchStatus.REVERTED, block_number=block, error="reverted on-chain"
                )
            return
        events = self.market.events.OrderFilled().process_receipt(receipt, errors=DISCARD)
        if len(events) != len(fills):
            raise SettlementInconsistencyError(
                f"batch {tx_hash} emitted {len(events)} OrderFilled events for {len(fills)} fills",
                tx_hash=tx_hash,
            )
        settled = [
            SettledFill(
                fill.sequence,
                str(event["args"]["buyer"]),
                str(event["args"]["seller"]),
                int(event["args"]["fee"]),
            )
            for fill, event in zip(fills, events, strict=True)
        ]
        self.service.confirm_batch(batch_id, fills, settled, tx_hash, block)
        report.settled.extend(f.sequence for f in fills)
        report.batches.append(tx_hash)

    def _drop(self, batch: SettlementBatch) -> None:
        """Releases a batch that can never be mined, once the contract confirms none of it settled."""
        fills = self.store.batch_fills(batch.id)
        order_ids = {f.buy_order_id for f in fills} | {f.sell_order_id for f in fills}
        settled = self.store.settled_amounts(order_ids)
        for order_id in sorted(order_ids):
            on_chain = self.market.functions.filled(bytes.fromhex(order_id[2:])).call()
            if on_chain != settled.get(order_id, 0):
                raise SettlementInconsistencyError(
                    f"order {order_id}: {on_chain} t filled on-chain but {settled.get(order_id, 0)} t "
                    f"settled in the database while batch {batch.tx_hash} is unresolved",
                    order_id=order_id,
                )
        with self.store.transaction() as session:
            self.store.resolve_batch(
                session, batch.id, BatchStatus.DROPPED, error="nonce used by another transaction"
            )


def _fill_struct(fill: Fill, terms: dict[str, SignedOrder]) -> tuple[Any, ...]:
    """The contract's ``Fill`` struct for an engine fill."""
    buy, sell = terms[fill.buy_order_id], terms[fill.sell_order_id]
    return (
        buy.as_tuple(),
        buy.signature_bytes,
        sell.as_tuple(),
        sell.signature_bytes,
        fill.amount,
        fill.price,
    )


def _offender(error: ContractRevertError, fill: Fill, terms: dict[str, SignedOrder]) -> str | None:
    """The order of ``fill`` whose state made it revert, from the error's arguments, or None."""
    buy_id, sell_id = fill.buy_order_id, fill.sell_order_id
    buyer = Web3.to_checksum_address(terms[buy_id].trader)
    seller = Web3.to_checksum_address(terms[sell_id].trader)
    values = [v for v in error.args_by_name.values() if isinstance(v, str)]
    for value in values:
        if value.lower() in (buy_id, sell_id):
            return value.lower()
    for value in values:
        if value == buyer:
            return buy_id
        if value == seller:
            return sell_id
    name = error.error_name
    if name.startswith(("ERC20", "MSC")):
        return buy_id
    if name.startswith("ERC1155"):
        return sell_id
    return None


def _revert_data(exc: ContractLogicError) -> str | None:
    data = exc.data
    if isinstance(data, dict):
        data = data.get("data")
    return data if isinstance(data, str) else None
