"""The book's durable form: engine events written to SQL, and an engine rebuilt from SQL.

The matching engine reports every state change as a plain-data event (``on_event``). :meth:`MarketStore.apply`
writes one operation's events in one transaction: new orders with their signed terms, the new state of
every order the operation touched, new fills, settled or rolled-back fills, halts and reference prices.
The caller answers only after that commit, so an acknowledged order is never lost.

:meth:`MarketStore.snapshot` turns the rows back into :meth:`market.engine.MatchingEngine.snapshot` form:
resting orders in price-time priority (a level's queue is always ordered by ``sequence``, see
:mod:`market.book`), the fills still pending settlement, today's trades, the counters, and the
safeguards' day counters recomputed from today's fills. ``MatchingEngine.restore`` of it is the same book.

A restart reads only what the book needs: the open orders (an index on ``(status, sequence)``), the
orders with fills pending settlement, and today's fills. Filled, cancelled and expired orders and
older fills stay in the same tables as an archive the reads reach (a trader's orders, trades,
candles: :meth:`MarketStore.candles`), so a restart's time and memory follow the open book, not the
platform's age.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from common.sql.helpers import utcnow
from market.book import StpPolicy
from market.engine import SNAPSHOT_VERSION
from market.marketdata import Candle, MarketData
from market.models import (
    BatchStatus,
    FillStatus,
    MarketFill,
    MarketOrder,
    MarketToken,
    MarketTrade,
    SettlementBatch,
)
from market.orders import DAY_MS, Fill, OrderStatus, Side
from market.safeguards import SafeguardConfig
from market.signed import SignedOrder

_STATE_FIELDS = ("remaining", "filled", "cancelled", "status", "cancel_reason")


@dataclass(frozen=True, slots=True)
class SettledFill:
    """What the chain reported for one settled fill (from its ``OrderFilled`` event)."""

    sequence: int
    buyer: str
    seller: str
    fee: int


class MarketStore:
    """Reads and writes the market's tables through one session factory."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        with self.sessions.begin() as session:
            yield session

    # -- engine events -----------------------------------------------------------------------------

    def apply(
        self,
        session: Session,
        events: Iterable[Mapping[str, Any]],
        signed: Mapping[str, SignedOrder] | None = None,
    ) -> None:
        """Writes engine ``events`` in ``session`` (the caller's transaction).

        Args:
            session: The open transaction.
            events: Events in the order the engine emitted them.
            signed: Signed terms of orders new in these events, by order id.
        """
        signed = signed or {}
        now = utcnow()
        for event in events:
            kind = event["type"]
            for data in event.get("orders", ()):
                self._write_order(session, data, signed.get(data["order_id"]), now)
            if kind == "submit":
                for data in event["fills"]:
                    session.add(_fill_row(data))
                session.flush()
            elif kind in ("confirm", "rollback"):
                status = FillStatus.SETTLED if kind == "confirm" else FillStatus.ROLLED_BACK
                session.execute(
                    update(MarketFill)
                    .where(MarketFill.sequence == event["fill"]["sequence"])
                    .values(status=str(status))
                )
            elif kind == "halt":
                self._token(session, event["token_id"]).halted_day = event["time"] // DAY_MS
            elif kind == "resume":
                self._token(session, event["token_id"]).halted_day = None
            elif kind == "reference":
                token = self._token(session, event["token_id"])
                token.reference_price = event["price"]
                token.reference_as_of_ms = event["as_of"]
        session.flush()

    def _write_order(
        self, session: Session, data: Mapping[str, Any], terms: SignedOrder | None, now: Any
    ) -> None:
        row = session.get(MarketOrder, data["order_id"])
        if row is None:
            if terms is None:
                raise LookupError(f"order {data['order_id']} is new but its signed terms were not given")
            row = MarketOrder(
                order_id=data["order_id"],
                trader=terms.trader,
                beneficial_owner=data["beneficial_owner"],
                side=str(terms.side),
                token_id=terms.token_id,
                amount=terms.amount,
                price=terms.price,
                expiry=terms.expiry,
                salt=terms.salt,
                nonce=terms.nonce,
                signature=terms.signature,
                sequence=data["sequence"],
                timestamp_ms=data["timestamp"],
                created_at=now,
            )
            session.add(row)
        for name in _STATE_FIELDS:
            setattr(row, name, data[name])
        session.flush()

    @staticmethod
    def _token(session: Session, token_id: int) -> MarketToken:
        row = session.get(MarketToken, token_id)
        if row is None:
            row = MarketToken(token_id=token_id)
            session.add(row)
        return row

    # -- restore -----------------------------------------------------------------------------------

    def snapshot(self, config: SafeguardConfig, stp: StpPolicy, now_ms: int) -> dict[str, Any]:
        """The engine snapshot these tables describe, as of ``now_ms`` (see the module docstring)."""
        day = now_ms // DAY_MS
        with self.sessions() as session:
            pending_rows = session.scalars(
                select(MarketFill)
                .where(MarketFill.status == str(FillStatus.PENDING))
                .order_by(MarketFill.sequence)
            ).all()
            pending = [_fill_dict(r) for r in pending_rows]
            with_pending = {f["maker_order_id"] for f in pending} | {f["taker_order_id"] for f in pending}
            # Open orders through the (status, sequence) index, then the few finished ones whose fills
            # still await settlement: the archive of filled, cancelled and expired orders is not read.
            live_rows = list(
                session.scalars(
                    select(MarketOrder)
                    .where(MarketOrder.status == str(OrderStatus.OPEN))
                    .order_by(MarketOrder.sequence)
                )
            )
            loaded = {r.order_id for r in live_rows}
            missing = sorted(with_pending - loaded)
            if missing:
                live_rows.extend(
                    session.scalars(select(MarketOrder).where(MarketOrder.order_id.in_(missing)))
                )
                live_rows.sort(key=lambda r: r.sequence)
            orders = [_order_dict(r) for r in live_rows]
            # Today's trades only: the safeguards' day counters need them; older trades are read from
            # SQL by the queries that show them (trades, candles).
            trades = [
                _fill_dict(r)
                for r in session.scalars(
                    select(MarketFill)
                    .where(
                        MarketFill.timestamp_ms >= day * DAY_MS,
                        MarketFill.status != str(FillStatus.ROLLED_BACK),
                    )
                    .order_by(MarketFill.token_id, MarketFill.sequence)
                )
            ]
            # The engine refuses a resubmitted id it knows; ids of archived orders are refused by the
            # service from SQL (MarketService.submit), so only the loaded ones are needed here.
            seen = sorted(r.order_id for r in live_rows)
            next_sequence = (session.scalar(select(func.max(MarketOrder.sequence))) or 0) + 1
            next_fill = (session.scalar(select(func.max(MarketFill.sequence))) or 0) + 1
            tokens = session.scalars(select(MarketToken).order_by(MarketToken.token_id)).all()
        books: dict[int, tuple[list[dict[str, Any]], list[dict[str, Any]]]] = {}
        open_volume: dict[str, int] = {}
        for data in orders:
            if data["status"] != str(OrderStatus.OPEN):
                continue
            bids, asks = books.setdefault(data["token_id"], ([], []))
            (bids if data["side"] == str(Side.BUY) else asks).append(data)
            owner = data["beneficial_owner"]
            open_volume[owner] = open_volume.get(owner, 0) + data["remaining"]
        account_traded: dict[str, int] = {}
        market_traded: dict[int, int] = {}
        day_open: dict[int, int] = {}
        for fill in sorted(trades, key=lambda f: f["sequence"]):
            if fill["timestamp"] // DAY_MS != day:
                continue
            for account in (fill["maker_account"], fill["taker_account"]):
                account_traded[account] = account_traded.get(account, 0) + fill["amount"]
            market_traded[fill["token_id"]] = market_traded.get(fill["token_id"], 0) + fill["amount"]
            day_open.setdefault(fill["token_id"], fill["price"])
        return {
            "version": SNAPSHOT_VERSION,
            "stp": str(stp),
            "next_sequence": next_sequence,
            "next_fill": next_fill,
            "safeguards": {
                "config": config.to_dict(),
                "references": [
                    [t.token_id, t.reference_price, t.reference_as_of_ms]
                    for t in tokens
                    if t.reference_price is not None
                ],
                "day": day,
                "account_traded": sorted(account_traded.items()),
                "market_traded": sorted(market_traded.items()),
                "day_open": sorted(day_open.items()),
                "halted": [[t.token_id, t.halted_day] for t in tokens if t.halted_day == day],
                "open_volume": sorted(open_volume.items()),
            },
            "orders": orders,
            "books": [
                [
                    token,
                    [o["order_id"] for o in sorted(bids, key=lambda o: (-o["price"], o["sequence"]))],
                    [o["order_id"] for o in sorted(asks, key=lambda o: (o["price"], o["sequence"]))],
                ]
                for token, (bids, asks) in sorted(books.items())
            ],
            "pending": pending,
            "trades": trades,
            "seen": seen,
        }

    def candles(self, token_id: int, interval_ms: int, since_ms: int | None = None) -> list[Candle]:
        """OHLCV candles of ``token_id``'s fills that were not rolled back, from SQL (archive included)."""
        data = MarketData()
        with self.sessions() as session:
            query = select(MarketFill).where(
                MarketFill.token_id == token_id, MarketFill.status != str(FillStatus.ROLLED_BACK)
            )
            if since_ms is not None:
                query = query.where(MarketFill.timestamp_ms >= since_ms)
            for row in session.scalars(query.order_by(MarketFill.sequence)):
                data.record(Fill.from_dict(_fill_dict(row)))
        return data.candles(token_id, interval_ms, since_ms)

    # -- reads ---------------------------------------------------------------------------------------

    def signed_order(self, session: Session, order_id: str) -> SignedOrder | None:
        """The signed terms of an order, or None if it was never accepted."""
        row = session.get(MarketOrder, order_id)
        return None if row is None else _terms(row)

    def order(self, order_id: str) -> MarketOrder | None:
        """An order row (detached), or None."""
        with self.sessions() as session:
            return session.get(MarketOrder, order_id)

    def orders_of(self, trader: str, status: str | None = None, limit: int = 100) -> list[MarketOrder]:
        """A trader's orders, newest first."""
        with self.sessions() as session:
            query = select(MarketOrder).where(MarketOrder.trader == trader)
            if status is not None:
                query = query.where(MarketOrder.status == status)
            return list(session.scalars(query.order_by(MarketOrder.sequence.desc()).limit(limit)))

    def trades(
        self, token_id: int, since_ms: int | None = None, limit: int = 100
    ) -> list[tuple[MarketFill, MarketTrade | None]]:
        """Fills of ``token_id`` that were not rolled back, newest first, with their settlement if any."""
        with self.sessions() as session:
            query = (
                select(MarketFill, MarketTrade)
                .outerjoin(MarketTrade, MarketTrade.fill_sequence == MarketFill.sequence)
                .where(MarketFill.token_id == token_id, MarketFill.status != str(FillStatus.ROLLED_BACK))
            )
            if since_ms is not None:
                query = query.where(MarketFill.timestamp_ms >= since_ms)
            rows = session.execute(query.order_by(MarketFill.sequence.desc()).limit(limit)).all()
            return [(fill, trade) for fill, trade in rows]

    # -- settlement --------------------------------------------------------------------------------

    def unbatched_fills(self, limit: int) -> list[Fill]:
        """Pending fills not in a batch in flight, oldest first (the next batch)."""
        with self.sessions() as session:
            in_flight = select(SettlementBatch.id).where(SettlementBatch.status == str(BatchStatus.PREPARED))
            rows = session.scalars(
                select(MarketFill)
                .where(
                    MarketFill.status == str(FillStatus.PENDING),
                    (MarketFill.batch_id.is_(None)) | MarketFill.batch_id.not_in(in_flight),
                )
                .order_by(MarketFill.sequence)
                .limit(limit)
            ).all()
            return [Fill.from_dict(_fill_dict(r)) for r in rows]

    def terms_of(self, order_ids: Iterable[str]) -> dict[str, SignedOrder]:
        """Signed terms by order id."""
        with self.sessions() as session:
            rows = session.scalars(select(MarketOrder).where(MarketOrder.order_id.in_(set(order_ids))))
            return {r.order_id: _terms(r) for r in rows}

    def record_batch(self, sender: str, nonce: int, tx_hash: str, raw_tx: str, fills: list[Fill]) -> int:
        """Writes a prepared batch and links its fills to it, before it is sent; returns its id."""
        with self.transaction() as session:
            batch = SettlementBatch(
                status=str(BatchStatus.PREPARED),
                sender=sender,
                nonce=nonce,
                tx_hash=tx_hash,
                raw_tx=raw_tx,
                created_at=utcnow(),
            )
            session.add(batch)
            session.flush()
            session.execute(
                update(MarketFill)
                .where(MarketFill.sequence.in_([f.sequence for f in fills]))
                .values(batch_id=batch.id)
            )
            return batch.id

    def batches_in_flight(self) -> list[SettlementBatch]:
        """Batches recorded but not yet resolved, oldest first."""
        with self.sessions() as session:
            return list(
                session.scalars(
                    select(SettlementBatch)
                    .where(SettlementBatch.status == str(BatchStatus.PREPARED))
                    .order_by(SettlementBatch.id)
                )
            )

    def settled_amounts(self, order_ids: Iterable[str]) -> dict[str, int]:
        """Tonnes settled on-chain per order (what the contract's ``filled(orderHash)`` should say)."""
        ids = set(order_ids)
        totals: dict[str, int] = {}
        with self.sessions() as session:
            rows = session.execute(
                select(MarketFill.maker_order_id, MarketFill.taker_order_id, MarketFill.amount).where(
                    MarketFill.status == str(FillStatus.SETTLED),
                    MarketFill.maker_order_id.in_(ids) | MarketFill.taker_order_id.in_(ids),
                )
            )
            for maker, taker, amount in rows:
                for order_id in (maker, taker):
                    if order_id in ids:
                        totals[order_id] = totals.get(order_id, 0) + amount
        return totals

    def batch_fills(self, batch_id: int) -> list[Fill]:
        """The pending fills of a batch, in batch order."""
        with self.sessions() as session:
            rows = session.scalars(
                select(MarketFill)
                .where(MarketFill.batch_id == batch_id, MarketFill.status == str(FillStatus.PENDING))
                .order_by(MarketFill.sequence)
            ).all()
            return [Fill.from_dict(_fill_dict(r)) for r in rows]

    def resolve_batch(self, session: Session, batch_id: int, status: BatchStatus, **values: Any) -> None:
        """Marks a batch resolved in the caller's transaction."""
        session.execute(
            update(SettlementBatch)
            .where(SettlementBatch.id == batch_id)
            .values(status=str(status), resolved_at=utcnow(), **values)
        )

    def record_trades(
        self,
        session: Session,
        fills: Mapping[int, Fill],
        settled: Iterable[SettledFill],
        tx_hash: str,
        block: int,
    ) -> None:
        """Writes the trade rows of settled fills in the caller's transaction."""
        for item in settled:
            fill = fills[item.sequence]
            session.add(
                MarketTrade(
                    fill_sequence=item.sequence,
                    token_id=fill.token_id,
                    buyer=item.buyer,
                    seller=item.seller,
                    amount=fill.amount,
                    price=fill.price,
                    fee=item.fee,
                    tx_hash=tx_hash,
                    block_number=block,
                    timestamp_ms=fill.timestamp,
                )
            )

    def mark_failed(self, session: Session, sequence: int, error: str, offender: str | None) -> None:
        """Records why a fill was rolled back and, if one order caused it, on that order."""
        session.execute(update(MarketFill).where(MarketFill.sequence == sequence).values(error=error))
        if offender is not None:
            session.execute(
                update(MarketOrder).where(MarketOrder.order_id == offender).values(settlement_error=error)
            )


def _fill_row(data: Mapping[str, Any]) -> MarketFill:
    return MarketFill(
        sequence=data["sequence"],
        token_id=data["token_id"],
        maker_order_id=data["maker_order_id"],
        taker_order_id=data["taker_order_id"],
        maker_account=data["maker_account"],
        taker_account=data["taker_account"],
        taker_side=data["taker_side"],
        amount=data["amount"],
        price=data["price"],
        timestamp_ms=data["timestamp"],
        status=str(FillStatus.PENDING),
    )


def _fill_dict(row: MarketFill) -> dict[str, Any]:
    return {
        "sequence": row.sequence,
        "token_id": row.token_id,
        "maker_order_id": row.maker_order_id,
        "taker_order_id": row.taker_order_id,
        "maker_account": row.maker_account,
        "taker_account": row.taker_account,
        "taker_side": row.taker_side,
        "amount": row.amount,
        "price": row.price,
        "timestamp": row.timestamp_ms,
    }


def _order_dict(row: MarketOrder) -> dict[str, Any]:
    return {
        "order_id": row.order_id,
        "owner": row.trader,
        "beneficial_owner": row.beneficial_owner,
        "side": row.side,
        "token_id": row.token_id,
        "amount": row.amount,
        "price": row.price,
        "expiry": row.expiry * 1000,
        "sequence": row.sequence,
        "timestamp": row.timestamp_ms,
        "remaining": row.remaining,
        "filled": row.filled,
        "cancelled": row.cancelled,
        "status": row.status,
        "cancel_reason": row.cancel_reason,
    }


def _terms(row: MarketOrder) -> SignedOrder:
    return SignedOrder(
        trader=row.trader,
        side=Side(row.side),
        token_id=row.token_id,
        amount=row.amount,
        price=row.price,
        expiry=row.expiry,
        salt=row.salt,
        nonce=row.nonce,
        signature=row.signature,
    )
