"""SQL tables derived from CarbonMarket events: trades, per-order fill state, nonces, terms.

Trades and the terms/allowlist histories are append-only rows keyed by their log's position, so
a reorg deletes the rows above the common ancestor. Orders and nonces are entity rows moved
forward and back by :mod:`indexer.market_state`. Conventions as :mod:`indexer.models`: addresses
lowercase ``0x`` text, hashes as bytes (:class:`HexBytes`), amounts exact :class:`Uint256`.
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import BigInteger, Boolean, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from common.sql.base import Base
from common.sql.types import HexBytes, Uint256


class OrderSide(StrEnum):
    """``ICarbonMarket.Side`` as the mirror names it."""

    BUY = "buy"
    SELL = "sell"


class MarketTrade(Base):
    """One settled fill (``OrderFilled``): who bought what from whom, at what price and fee.

    ``amount`` is tonnes, ``price`` MSC sen per tonne, ``notional`` = amount x price (what the
    buyer paid), ``fee`` what the fee recipient got out of it (the seller received notional - fee).
    """

    __tablename__ = "market_trades"
    __table_args__ = (
        Index("ix_market_trades_market_token_block", "market", "token_id", "block_number", "log_index"),
        Index("ix_market_trades_market_buyer", "market", "buyer"),
        Index("ix_market_trades_market_seller", "market", "seller"),
        Index("ix_market_trades_block_number", "block_number"),
    )

    market: Mapped[str] = mapped_column(String(42), primary_key=True, doc="The market contract's address.")
    block_number: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    log_index: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    tx_hash: Mapped[str] = mapped_column(HexBytes, nullable=False)
    buy_hash: Mapped[str] = mapped_column(HexBytes, nullable=False, doc="EIP-712 hash of the buy order.")
    sell_hash: Mapped[str] = mapped_column(HexBytes, nullable=False, doc="EIP-712 hash of the sell order.")
    token_id: Mapped[int] = mapped_column(Uint256, nullable=False, doc="Carbon credit id (vintage).")
    buyer: Mapped[str] = mapped_column(String(42), nullable=False)
    seller: Mapped[str] = mapped_column(String(42), nullable=False)
    amount: Mapped[int] = mapped_column(Uint256, nullable=False, doc="Tonnes.")
    price: Mapped[int] = mapped_column(Uint256, nullable=False, doc="MSC sen per tonne.")
    notional: Mapped[int] = mapped_column(Uint256, nullable=False, doc="amount x price, MSC sen.")
    fee: Mapped[int] = mapped_column(Uint256, nullable=False, doc="MSC sen to the fee recipient.")


class MarketOrder(Base):
    """What the chain knows of one order hash: fills so far and cancellations.

    A row exists once the order filled or was cancelled. ``side`` and ``token_id`` are known only
    from a fill (``OrderCancelled`` carries just the hash and trader). ``filled`` equals the
    contract's ``filled(orderHash)``; ``cancellations > 0`` its ``cancelled(orderHash)``.
    """

    __tablename__ = "market_orders"
    __table_args__ = (Index("ix_market_orders_market_trader", "market", "trader"),)

    market: Mapped[str] = mapped_column(String(42), primary_key=True)
    order_hash: Mapped[str] = mapped_column(HexBytes, primary_key=True)
    trader: Mapped[str] = mapped_column(String(42), nullable=False)
    side: Mapped[str | None] = mapped_column(String(4), doc="An OrderSide value, once filled.")
    token_id: Mapped[int | None] = mapped_column(Uint256, doc="Once filled.")
    filled: Mapped[int] = mapped_column(Uint256, nullable=False, doc="Tonnes filled so far.")
    fills: Mapped[int] = mapped_column(Integer, nullable=False, doc="Number of fills.")
    cancellations: Mapped[int] = mapped_column(
        Integer, nullable=False, doc="OrderCancelled events (cancel may be called again)."
    )
    first_block: Mapped[int] = mapped_column(BigInteger, nullable=False, doc="Its first fill or cancel.")
    cancelled_block: Mapped[int | None] = mapped_column(BigInteger, doc="Its first cancellation.")


class MarketNonce(Base):
    """A trader's order nonce (``NonceIncremented``); orders with an older nonce never fill."""

    __tablename__ = "market_nonces"

    market: Mapped[str] = mapped_column(String(42), primary_key=True)
    trader: Mapped[str] = mapped_column(String(42), primary_key=True)
    nonce: Mapped[int] = mapped_column(Uint256, nullable=False)


class MarketTermsChange(Base):
    """A change of the market's terms: ``FeeSet`` (fee columns) or ``SizeLimitSet`` (size limit)."""

    __tablename__ = "market_terms"

    market: Mapped[str] = mapped_column(String(42), primary_key=True)
    block_number: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    log_index: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    fee_bps: Mapped[int | None] = mapped_column(Integer, doc="FeeSet only.")
    fee_recipient: Mapped[str | None] = mapped_column(String(42), doc="FeeSet only.")
    size_limit: Mapped[int | None] = mapped_column(Uint256, doc="SizeLimitSet only, tonnes.")


class MarketAllowlistChange(Base):
    """An allowlist change (``AllowlistSet``); an account's latest row is its current standing."""

    __tablename__ = "market_allowlist"
    __table_args__ = (Index("ix_market_allowlist_market_account", "market", "account"),)

    market: Mapped[str] = mapped_column(String(42), primary_key=True)
    block_number: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    log_index: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    account: Mapped[str] = mapped_column(String(42), nullable=False)
    allowed: Mapped[bool] = mapped_column(Boolean, nullable=False)
