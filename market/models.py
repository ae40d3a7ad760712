"""SQL tables of the carbon market: signed orders, matched fills, settlement batches, settled trades.

The book lives in memory (:mod:`market.engine`); these tables are its durable form. Every change the
engine makes is written here in one transaction before the caller is answered, so a new engine rebuilt
from these rows (:mod:`market.store`) is the same book. Units as everywhere in the market: tonnes
(whole ERC-1155 tokens), sen per tonne, milliseconds since the epoch for engine times and unix seconds
for the on-chain expiry.

Invariants:

* ``filled + remaining + cancelled == amount`` for every order row.
* A fill is ``pending`` until its batch's receipt says it settled (``settled``, with a trade row) or
  the settler rolled it back (``rolled_back``, never retried); a pending fill belongs to at most one
  batch that is not yet resolved.
* A batch is written (``prepared``, with its signed raw transaction and nonce) before it is sent: a
  crash at any point leaves a record from which the batch is resolved by its receipt, not resent blind.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from common.sql.base import Base
from common.sql.helpers import BigId, UtcDateTime
from common.sql.types import Uint256


class FillStatus(StrEnum):
    """Where a matched fill is in settlement."""

    PENDING = "pending"
    """Matched in the book; not yet settled on-chain (possibly in a batch in flight)."""
    SETTLED = "settled"
    """Its batch's transaction succeeded: MSC and credits moved."""
    ROLLED_BACK = "rolled_back"
    """It failed on-chain; the engine gave the maker its tonnes back and cancelled the taker."""


class BatchStatus(StrEnum):
    """Where a ``settleBatch`` transaction is."""

    PREPARED = "prepared"
    """Signed and recorded; may or may not have reached the node (a crash can happen right here)."""
    SETTLED = "settled"
    """Mined with status 1: every fill of it settled."""
    REVERTED = "reverted"
    """Mined with status 0: nothing moved; its fills went back to pending and were re-checked."""
    DROPPED = "dropped"
    """Never mined and can no longer be (its nonce was used by another transaction)."""


class MarketOrder(Base):
    """A signed order as the trader's wallet signed it, plus its state in the book."""

    __tablename__ = "market_book_orders"
    __table_args__ = (
        Index("ix_market_book_orders_trader_status", "trader", "status"),
        Index("ix_market_book_orders_token_id_status", "token_id", "status"),
        # A restart reads the open orders in priority order through this index, never the archive.
        Index("ix_market_book_orders_status_sequence", "status", "sequence"),
    )

    order_id: Mapped[str] = mapped_column(
        String(66), primary_key=True, doc="The contract's EIP-712 struct hash (``hashOrder``), 0x-hex."
    )
    trader: Mapped[str] = mapped_column(String(42), nullable=False, doc="EIP-55 address that signed.")
    beneficial_owner: Mapped[str] = mapped_column(
        String(64), nullable=False, doc="Account behind the wallet (self-match prevention, daily limits)."
    )
    side: Mapped[str] = mapped_column(String(4), nullable=False, doc="``buy`` or ``sell``.")
    token_id: Mapped[int] = mapped_column(Uint256, nullable=False, doc="CarbonCredits token id.")
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False, doc="Tonnes ordered.")
    price: Mapped[int] = mapped_column(BigInteger, nullable=False, doc="Limit in MSC sen per tonne.")
    expiry: Mapped[int] = mapped_column(Uint256, nullable=False, doc="Unix seconds, as signed (uint64).")
    salt: Mapped[int] = mapped_column(Uint256, nullable=False)
    nonce: Mapped[int] = mapped_column(Uint256, nullable=False, doc="The trader's contract nonce.")
    signature: Mapped[str] = mapped_column(Text, nullable=False, doc="65-byte signature, 0x-hex.")
    sequence: Mapped[int] = mapped_column(
        BigInteger, nullable=False, unique=True, doc="Time priority assigned at acceptance."
    )
    timestamp_ms: Mapped[int] = mapped_column(BigInteger, nullable=False, doc="Acceptance time.")
    remaining: Mapped[int] = mapped_column(BigInteger, nullable=False, doc="Tonnes resting in the book.")
    filled: Mapped[int] = mapped_column(
        BigInteger, nullable=False, doc="Tonnes matched (pending or settled)."
    )
    cancelled: Mapped[int] = mapped_column(BigInteger, nullable=False, doc="Tonnes cancelled.")
    status: Mapped[str] = mapped_column(String(16), nullable=False, doc="``market.orders.OrderStatus``.")
    cancel_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)
    settlement_error: Mapped[str | None] = mapped_column(
        Text, nullable=True, doc="Set when a fill of this order failed on-chain because of this order."
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)


class SettlementBatch(Base):
    """One ``CarbonMarket.settleBatch`` transaction: written before it is sent (write-ahead)."""

    __tablename__ = "market_settlement_batches"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False, doc="``BatchStatus``.")
    sender: Mapped[str] = mapped_column(String(42), nullable=False, doc="The settler's address.")
    nonce: Mapped[int] = mapped_column(BigInteger, nullable=False, doc="The transaction's nonce.")
    tx_hash: Mapped[str] = mapped_column(String(66), nullable=False, unique=True)
    raw_tx: Mapped[str] = mapped_column(
        Text, nullable=False, doc="The signed transaction: resending it can never settle anything twice."
    )
    block_number: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class MarketFill(Base):
    """One match of a resting (maker) order with an incoming (taker) order, at the maker's price."""

    __tablename__ = "market_book_fills"
    __table_args__ = (
        Index("ix_market_book_fills_status_sequence", "status", "sequence"),
        Index("ix_market_book_fills_token_id_sequence", "token_id", "sequence"),
        # Today's fills (the safeguards' day counters at restart) and a token's trades since a time.
        Index("ix_market_book_fills_timestamp_ms", "timestamp_ms"),
        Index("ix_market_book_fills_token_id_timestamp_ms", "token_id", "timestamp_ms"),
    )

    sequence: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    token_id: Mapped[int] = mapped_column(Uint256, nullable=False)
    maker_order_id: Mapped[str] = mapped_column(
        String(66), ForeignKey("market_book_orders.order_id"), nullable=False
    )
    taker_order_id: Mapped[str] = mapped_column(
        String(66), ForeignKey("market_book_orders.order_id"), nullable=False
    )
    maker_account: Mapped[str] = mapped_column(String(64), nullable=False)
    taker_account: Mapped[str] = mapped_column(String(64), nullable=False)
    taker_side: Mapped[str] = mapped_column(String(4), nullable=False)
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False, doc="Tonnes.")
    price: Mapped[int] = mapped_column(BigInteger, nullable=False, doc="Maker's price, sen per tonne.")
    timestamp_ms: Mapped[int] = mapped_column(BigInteger, nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False, doc="``FillStatus``.")
    batch_id: Mapped[int | None] = mapped_column(
        BigId,
        ForeignKey("market_settlement_batches.id"),
        nullable=True,
        doc="The batch it is (or was last) in.",
    )
    error: Mapped[str | None] = mapped_column(Text, nullable=True, doc="Why it was rolled back.")


class MarketTrade(Base):
    """A fill that settled on-chain, with what the contract's ``OrderFilled`` event reported."""

    __tablename__ = "market_book_trades"
    __table_args__ = (Index("ix_market_book_trades_token_id_block_number", "token_id", "block_number"),)

    fill_sequence: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("market_book_fills.sequence"), primary_key=True, autoincrement=False
    )
    token_id: Mapped[int] = mapped_column(Uint256, nullable=False)
    buyer: Mapped[str] = mapped_column(String(42), nullable=False)
    seller: Mapped[str] = mapped_column(String(42), nullable=False)
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False, doc="Tonnes.")
    price: Mapped[int] = mapped_column(BigInteger, nullable=False, doc="Sen per tonne.")
    fee: Mapped[int] = mapped_column(Uint256, nullable=False, doc="MSC sen taken from the seller's proceeds.")
    tx_hash: Mapped[str] = mapped_column(String(66), nullable=False)
    block_number: Mapped[int] = mapped_column(BigInteger, nullable=False)
    timestamp_ms: Mapped[int] = mapped_column(BigInteger, nullable=False, doc="When it matched.")


class MarketToken(Base):
    """Per-token market state that is not derivable from orders and fills: reference price, halt."""

    __tablename__ = "market_book_tokens"

    token_id: Mapped[int] = mapped_column(Uint256, primary_key=True)
    reference_price: Mapped[int | None] = mapped_column(BigInteger, nullable=True, doc="Sen per tonne.")
    reference_as_of_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    halted_day: Mapped[int | None] = mapped_column(
        BigInteger, nullable=True, doc="UTC day number the market was halted on (None: not halted)."
    )
