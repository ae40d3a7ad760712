"""Trades from the chain mirror, in the shape the anomaly detector reads (:class:`TradeRow`).

The mirror's decoded events are turned into the four trade kinds of :mod:`audit.anomaly.trades`:

* ``transfer``: an MSC ``Transfer`` between two accounts, neither of them a platform contract
  (movements into and out of the escrow, staking and market are described by those contracts'
  own events, or are not trades at all) and neither the zero address;
* ``settlement``: a Pi->MSC settlement, i.e. an escrow ``Deposited``: payer -> merchant;
* ``redemption``: MSC destroyed for Rupiah, an MSC ``Transfer`` to the zero address: the holder ->
  the MSC contract (standing for the issuer); court-ordered wipes are not redemptions;
* ``carbon_trade``: a market ``OrderFilled``: seller -> buyer, tonnes at a price in sen per tonne.

Mints are issuance, not trades. A transaction with several trades gets ``<tx>#<log index>`` ids
(the detector needs a unique id per row); one trade keeps the plain transaction hash. The MSC
legs of a market fill (buyer -> seller, buyer -> fee recipient) are part of the carbon trade.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, Table, select

from audit.anomaly.csvio import MAX_AMOUNT, write_trades
from audit.anomaly.trades import TradeRow
from indexer.models import Block, DecodedEvent

DECODED: Table = DecodedEvent.__table__  # type: ignore[assignment]
BLOCKS: Table = Block.__table__  # type: ignore[assignment]
ZERO = "0x" + "0" * 40
MSC = "MadiunStableCoin"
ESCROW = "MerchantEscrow"
MARKET = "CarbonMarket"
PLATFORM_CONTRACTS = ("MadiunStableCoin", "LockStaking", "MerchantEscrow", "CarbonCredits", "CarbonMarket")
WANTED: tuple[tuple[str, str], ...] = (
    (MSC, "Transfer"),
    (MSC, "FrozenBalanceWiped"),
    (ESCROW, "Deposited"),
    (MARKET, "OrderFilled"),
)


@dataclass(frozen=True)
class MirrorTrade:
    """A trade with where it sits on chain (the scanner's cursor is a block number)."""

    row: TradeRow
    block_number: int
    log_index: int


@dataclass
class MirrorTrades:
    """The trades of a block range, and what was left out and why."""

    trades: list[MirrorTrade]
    skipped: Counter[str]

    @property
    def rows(self) -> list[TradeRow]:
        """The trade rows, in chain order."""
        return [t.row for t in self.trades]


def platform_addresses(conn: Connection) -> dict[str, str]:
    """Lowercase address -> contract name of every platform contract the mirror has events of."""
    rows = conn.execute(
        select(DECODED.c.address, DECODED.c.contract)
        .where(DECODED.c.contract.in_(PLATFORM_CONTRACTS))
        .distinct()
    )
    return {str(address).lower(): str(contract) for address, contract in rows}


def _trade(
    contract: str, event: str, args: dict[str, str], ts: int, tx: str, msc_address: str, system: set[str]
) -> TradeRow | str:
    """The trade an event stands for, or the reason it is none."""
    if contract == ESCROW:
        return TradeRow(
            ts, tx, "settlement", args["payer"], args["merchant"], "MSC", "", int(args["amount"]), 0
        )
    if contract == MARKET:
        return TradeRow(
            ts,
            tx,
            "carbon_trade",
            args["seller"],
            args["buyer"],
            "CARBON",
            str(int(args["tokenId"])),
            int(args["amount"]),
            int(args["price"]),
        )
    sender, receiver, value = args["from"].lower(), args["to"].lower(), int(args["value"])
    if sender == ZERO:
        return "mint"
    if sender in system or receiver in system:
        return "platform contract"
    if receiver == ZERO:
        return TradeRow(ts, tx, "redemption", sender, msc_address, "MSC", "", value, 0)
    return TradeRow(ts, tx, "transfer", sender, receiver, "MSC", "", value, 0)


def load_trades(
    conn: Connection, from_block: int, to_block: int, *, since_ts: int | None = None
) -> MirrorTrades:
    """Every trade in blocks ``from_block..to_block`` (and at or after ``since_ts``), in chain order."""
    addresses = platform_addresses(conn)
    system = set(addresses)
    msc_address = next((a for a, name in addresses.items() if name == MSC), ZERO)
    query = (
        select(
            DECODED.c.block_number,
            DECODED.c.log_index,
            DECODED.c.tx_hash,
            DECODED.c.contract,
            DECODED.c.event,
            DECODED.c.args,
            BLOCKS.c.timestamp,
        )
        .join(BLOCKS, BLOCKS.c.number == DECODED.c.block_number)
        .where(
            DECODED.c.block_number >= from_block,
            DECODED.c.block_number <= to_block,
            DECODED.c.contract.in_([c for c, _ in WANTED]),
            DECODED.c.event.in_([e for _, e in WANTED]),
        )
        .order_by(DECODED.c.block_number, DECODED.c.log_index)
    )
    if since_ts is not None:
        query = query.where(BLOCKS.c.timestamp >= since_ts)
    events = [row for row in conn.execute(query) if (row.contract, row.event) in WANTED]
    wiped = {row.tx_hash for row in events if row.event == "FrozenBalanceWiped"}
    fills = {row.tx_hash for row in events if row.event == "OrderFilled"}
    skipped: Counter[str] = Counter()
    found: list[tuple[TradeRow, int, int]] = []
    for row in events:
        if row.event == "FrozenBalanceWiped":
            continue
        if row.tx_hash in wiped and row.event == "Transfer":
            skipped["court-ordered wipe"] += 1
            continue
        if row.tx_hash in fills and row.event == "Transfer":
            skipped["payment leg of a carbon trade"] += 1
            continue
        trade = _trade(
            row.contract, row.event, row.args, int(row.timestamp), row.tx_hash, msc_address, system
        )
        if isinstance(trade, str):
            skipped[trade] += 1
        elif trade.amount <= 0 or (trade.price and trade.price <= 0):
            skipped["zero amount"] += 1
        elif trade.amount > MAX_AMOUNT or trade.price > MAX_AMOUNT:
            skipped["amount beyond the detector's sanity bound"] += 1
        else:
            found.append((trade, int(row.block_number), int(row.log_index)))
    per_tx = Counter(trade.tx_hash for trade, _, _ in found)
    trades = [
        MirrorTrade(_unique(trade, log_index, per_tx[trade.tx_hash] > 1), block, log_index)
        for trade, block, log_index in found
    ]
    return MirrorTrades(trades, skipped)


def _unique(trade: TradeRow, log_index: int, shared: bool) -> TradeRow:
    if not shared:
        return trade
    return TradeRow(
        trade.ts,
        f"{trade.tx_hash}#{log_index}",
        trade.kind,
        trade.sender,
        trade.receiver,
        trade.token,
        trade.token_id,
        trade.amount,
        trade.price,
    )


def export_trades(conn: Connection, path: str | Path, to_block: int, from_block: int = 0) -> MirrorTrades:
    """Writes the mirror's trades of ``from_block..to_block`` as a detector trades CSV."""
    trades = load_trades(conn, from_block, to_block)
    write_trades(path, trades.rows)
    return trades


def block_of(trades: Iterable[MirrorTrade]) -> dict[str, int]:
    """Trade id -> block number, for placing flags on chain."""
    return {t.row.tx_hash: t.block_number for t in trades}
