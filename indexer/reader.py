"""Read side for the explorer and reconciliation: data only up to a confirmation depth.

The mirror follows the head, so its newest blocks may still be reorged away. A reader that must
not show such data (reconciliation, payouts) asks for a depth; the answer is bounded by the
stream's checkpoint and by the node head the indexer last saw minus that depth. Escrow payments,
staking locks, carbon vintages and market orders are answered as of that block too (derived rows
with the newer events undone); carbon certificates, market trades and the market's terms never
change once written, so they are filtered by their block.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, Table, or_, select

from indexer.carbon_state import RETIREMENTS, VINTAGE_EVENTS, VINTAGES, revert_vintage, vintage_key
from indexer.market_state import (
    ALLOWLIST,
    NONCES,
    ORDER_EVENTS,
    ORDERS,
    TERMS,
    TRADES,
    latest_terms,
    nonce_key,
    revert_nonce,
    revert_order,
)
from indexer.platform_state import (
    LOCK_EVENTS,
    LOCKS,
    OPEN_PAYMENT,
    PAYMENT_EVENTS,
    PAYMENTS,
    Key,
    Row,
    fill_last_blocks,
    load_rows,
    lock_key,
    payment_key,
    revert_lock,
    revert_payment,
)
from indexer.projections import EventRecord
from indexer.store import DECODED, load_checkpoint


def confirmed_block(conn: Connection, confirmations: int, stream: str = "default") -> int | None:
    """The highest block with at least ``confirmations`` blocks on top that the mirror has (None: none)."""
    state = load_checkpoint(conn, stream)
    if state is None:
        return None
    block = min(state.block_number, state.chain_head - confirmations)
    return block if block >= 0 else None


def confirmed_events(
    conn: Connection, contract: str, event: str, confirmations: int, stream: str = "default"
) -> list[dict[str, Any]]:
    """Decoded events of ``contract.event`` up to the confirmed block, in chain order."""
    block = confirmed_block(conn, confirmations, stream)
    if block is None:
        return []
    query = (
        select(DECODED.c.block_number, DECODED.c.log_index, DECODED.c.tx_hash, DECODED.c.args)
        .where(DECODED.c.contract == contract, DECODED.c.event == event, DECODED.c.block_number <= block)
        .order_by(DECODED.c.block_number, DECODED.c.log_index)
    )
    return [dict(row._mapping) for row in conn.execute(query)]


# ---------------------------------------------------------------------- escrow and staking
#
# The derived rows hold the state at the stream's checkpoint. To show them as of the confirmed
# block, the events between the two (at most ``confirmations`` blocks of them) are read back
# from ``decoded_events`` and undone in memory with the projections' own transitions.


def _unconfirmed(
    conn: Connection, contract: str, events: Sequence[str], above: int, address: str | None
) -> list[EventRecord]:
    """Decoded events of ``contract`` named in ``events`` above block ``above``, in chain order."""
    query = select(
        DECODED.c.block_number,
        DECODED.c.block_hash,
        DECODED.c.log_index,
        DECODED.c.tx_hash,
        DECODED.c.address,
        DECODED.c.contract,
        DECODED.c.event,
        DECODED.c.args,
    ).where(DECODED.c.contract == contract, DECODED.c.event.in_(events), DECODED.c.block_number > above)
    if address is not None:
        query = query.where(DECODED.c.address == address.lower())
    rows = conn.execute(query.order_by(DECODED.c.block_number, DECODED.c.log_index))
    return [EventRecord(*row) for row in rows]


def _as_of(
    conn: Connection,
    table: Table,
    rows: dict[Key, Row | None],
    unconfirmed: Sequence[EventRecord],
    key_of: Callable[[EventRecord], Key],
    revert: Callable[[Row | None, EventRecord], Row | None],
    *,
    all_touched: bool,
) -> dict[Key, Row | None]:
    """``rows`` of ``table`` (checkpoint state) with the ``unconfirmed`` events undone, newest first.

    Only rows in ``rows`` are reverted unless ``all_touched``, which loads every row of ``table``
    an unconfirmed event touched as well (for totals over rows whose status changed since).
    """
    touched = {key_of(e) for e in unconfirmed}
    if all_touched:
        missing = touched - rows.keys()
        rows.update(load_rows(conn, table, missing))
    for e in reversed(unconfirmed):
        key = key_of(e)
        if key in rows:
            rows[key] = revert(rows[key], e)
    return rows


def _payment_rows(conn: Connection, *where: Any) -> dict[Key, Row | None]:
    return {(r.escrow, r.payment_id): dict(r._mapping) for r in conn.execute(select(PAYMENTS).where(*where))}


def _confirmed_payments(
    conn: Connection,
    confirmations: int,
    stream: str,
    contract: str,
    escrow: str | None,
    *where: Any,
    all_touched: bool = False,
) -> list[Row]:
    block = confirmed_block(conn, confirmations, stream)
    state = load_checkpoint(conn, stream)
    if block is None or state is None:
        return []
    if escrow is not None:
        where = (*where, PAYMENTS.c.escrow == escrow.lower())
    rows = _payment_rows(conn, *where)
    if block < state.block_number:
        events = _unconfirmed(conn, contract, PAYMENT_EVENTS, block, escrow)
        rows = _as_of(conn, PAYMENTS, rows, events, payment_key, revert_payment, all_touched=all_touched)
        fill_last_blocks(conn, rows, block)
    return [row for row in rows.values() if row is not None]


def escrow_payment(
    conn: Connection,
    payment_id: str,
    confirmations: int,
    stream: str = "default",
    contract: str = "MerchantEscrow",
    escrow: str | None = None,
) -> dict[str, Any] | None:
    """Payment ``payment_id`` (``0x`` bytes32 hex) as of the confirmed block, None if not deposited by then.

    Args:
        contract: The escrow's name in the deployment file (for its unconfirmed events).
        escrow: Its address, when several escrow contracts are followed.
    """
    rows = _confirmed_payments(
        conn, confirmations, stream, contract, escrow, PAYMENTS.c.payment_id == payment_id.lower()
    )
    return rows[0] if rows else None


def merchant_payments(
    conn: Connection,
    merchant: str,
    confirmations: int,
    stream: str = "default",
    contract: str = "MerchantEscrow",
    escrow: str | None = None,
) -> list[dict[str, Any]]:
    """The payments of ``merchant`` as of the confirmed block, oldest deposit first."""
    rows = _confirmed_payments(
        conn, confirmations, stream, contract, escrow, PAYMENTS.c.merchant == merchant.lower()
    )
    return sorted(rows, key=lambda r: (r["deposit_block"], r["payment_id"]))


def outstanding_escrow(
    conn: Connection,
    confirmations: int,
    stream: str = "default",
    contract: str = "MerchantEscrow",
    escrow: str | None = None,
) -> int:
    """What is still in escrow (held and disputed payments) as of the confirmed block.

    Equals the first value of the contract's ``totals()`` at that block. Summed in Python: uint256
    is text on SQLite, where SQL's SUM would not be exact.
    """
    rows = _confirmed_payments(
        conn, confirmations, stream, contract, escrow, PAYMENTS.c.status.in_(OPEN_PAYMENT), all_touched=True
    )
    return sum(row["held"] for row in rows if row["status"] in OPEN_PAYMENT)


def holder_locks(
    conn: Connection,
    owner: str,
    confirmations: int,
    stream: str = "default",
    contract: str = "LockStaking",
    staking: str | None = None,
) -> list[dict[str, Any]]:
    """The locks of ``owner`` (open and closed) as of the confirmed block, by lock id."""
    block = confirmed_block(conn, confirmations, stream)
    state = load_checkpoint(conn, stream)
    if block is None or state is None:
        return []
    query = select(LOCKS).where(LOCKS.c.owner == owner.lower())
    if staking is not None:
        query = query.where(LOCKS.c.staking == staking.lower())
    rows: dict[Key, Row | None] = {(r.staking, r.lock_id): dict(r._mapping) for r in conn.execute(query)}
    if block < state.block_number:
        events = _unconfirmed(conn, contract, LOCK_EVENTS, block, staking)
        rows = _as_of(conn, LOCKS, rows, events, lock_key, revert_lock, all_touched=False)
    return sorted((r for r in rows.values() if r is not None), key=lambda r: (r["staking"], r["lock_id"]))


# ---------------------------------------------------------------------- carbon credits


def carbon_vintage(
    conn: Connection,
    token_id: int,
    confirmations: int,
    stream: str = "default",
    contract: str = "CarbonCredits",
    carbon: str | None = None,
) -> dict[str, Any] | None:
    """Vintage ``token_id`` with its counters as of the confirmed block, None if not verified by then.

    Args:
        contract: The carbon contract's name in the deployment file (for its unconfirmed events).
        carbon: Its address, when several carbon contracts are followed.
    """
    block = confirmed_block(conn, confirmations, stream)
    state = load_checkpoint(conn, stream)
    if block is None or state is None:
        return None
    query = select(VINTAGES).where(VINTAGES.c.token_id == int(token_id))
    if carbon is not None:
        query = query.where(VINTAGES.c.carbon == carbon.lower())
    rows: dict[Key, Row | None] = {(r.carbon, r.token_id): dict(r._mapping) for r in conn.execute(query)}
    if block < state.block_number:
        events = _unconfirmed(conn, contract, VINTAGE_EVENTS, block, carbon)
        rows = _as_of(conn, VINTAGES, rows, events, vintage_key, revert_vintage, all_touched=False)
    live = sorted((r for r in rows.values() if r is not None), key=lambda r: r["carbon"])
    return live[0] if live else None


def _confirmed_certificates(
    conn: Connection, confirmations: int, stream: str, carbon: str | None, *where: Any
) -> list[dict[str, Any]]:
    block = confirmed_block(conn, confirmations, stream)
    if block is None:
        return []
    query = select(RETIREMENTS).where(RETIREMENTS.c.block_number <= block, *where)
    if carbon is not None:
        query = query.where(RETIREMENTS.c.carbon == carbon.lower())
    rows = [dict(r._mapping) for r in conn.execute(query)]
    return sorted(rows, key=lambda r: (r["carbon"], r["certificate_id"]))


def carbon_certificate(
    conn: Connection,
    certificate_id: int,
    confirmations: int,
    stream: str = "default",
    carbon: str | None = None,
) -> dict[str, Any] | None:
    """Retirement certificate ``certificate_id`` if issued by the confirmed block, else None."""
    rows = _confirmed_certificates(
        conn, confirmations, stream, carbon, RETIREMENTS.c.certificate_id == int(certificate_id)
    )
    return rows[0] if rows else None


def beneficiary_retirements(
    conn: Connection,
    beneficiary: str,
    confirmations: int,
    stream: str = "default",
    carbon: str | None = None,
) -> list[dict[str, Any]]:
    """The certificates retired for ``beneficiary`` up to the confirmed block, by certificate id."""
    return _confirmed_certificates(
        conn, confirmations, stream, carbon, RETIREMENTS.c.beneficiary == beneficiary.lower()
    )


# ---------------------------------------------------------------------- carbon market


def _trades(
    conn: Connection, confirmations: int, stream: str, market: str | None, limit: int | None, *where: Any
) -> list[dict[str, Any]]:
    block = confirmed_block(conn, confirmations, stream)
    if block is None:
        return []
    query = select(TRADES).where(TRADES.c.block_number <= block, *where)
    if market is not None:
        query = query.where(TRADES.c.market == market.lower())
    query = query.order_by(TRADES.c.block_number, TRADES.c.log_index, TRADES.c.market)
    if limit is not None:
        query = query.limit(limit)
    return [dict(r._mapping) for r in conn.execute(query)]


def token_trades(
    conn: Connection,
    token_id: int,
    confirmations: int,
    stream: str = "default",
    market: str | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """The fills of carbon credit ``token_id`` up to the confirmed block, oldest first (block, log index).

    Args:
        market: The market's address, when several markets are followed.
        limit: At most this many (the oldest).
    """
    return _trades(conn, confirmations, stream, market, limit, TRADES.c.token_id == int(token_id))


def account_trades(
    conn: Connection,
    account: str,
    confirmations: int,
    stream: str = "default",
    market: str | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """The fills ``account`` bought or sold in up to the confirmed block, oldest first."""
    who = account.lower()
    return _trades(
        conn, confirmations, stream, market, limit, or_(TRADES.c.buyer == who, TRADES.c.seller == who)
    )


def market_order(
    conn: Connection,
    order_hash: str,
    confirmations: int,
    stream: str = "default",
    contract: str = "CarbonMarket",
    market: str | None = None,
) -> dict[str, Any] | None:
    """Order ``order_hash`` (``0x`` EIP-712 hash) as of the confirmed block: filled tonnes, fills,
    cancellations; None when it had neither filled nor been cancelled by then.

    Args:
        contract: The market's name in the deployment file (for its unconfirmed events).
        market: Its address, when several markets are followed.
    """
    block = confirmed_block(conn, confirmations, stream)
    state = load_checkpoint(conn, stream)
    if block is None or state is None:
        return None
    wanted = order_hash.lower()
    query = select(ORDERS).where(ORDERS.c.order_hash == wanted)
    if market is not None:
        query = query.where(ORDERS.c.market == market.lower())
    rows: dict[Key, Row | None] = {(r.market, r.order_hash): dict(r._mapping) for r in conn.execute(query)}
    if block < state.block_number:
        for e in reversed(_unconfirmed(conn, contract, ORDER_EVENTS, block, market)):
            names = [str(e.args[k]).lower() for k in ("buyHash", "sellHash", "orderHash") if k in e.args]
            key = (e.address, wanted)
            if wanted in names and key in rows:
                rows[key] = revert_order(rows[key], e, wanted)
    live = sorted((r for r in rows.values() if r is not None), key=lambda r: r["market"])
    return live[0] if live else None


def market_terms(
    conn: Connection, market: str, confirmations: int, stream: str = "default"
) -> dict[str, Any] | None:
    """Fee (bps), fee recipient and size limit (tonnes) of ``market`` at the confirmed block.

    None before the first confirmed block; a value never set by then is None.
    """
    block = confirmed_block(conn, confirmations, stream)
    if block is None:
        return None
    query = (
        select(TERMS)
        .where(TERMS.c.market == market.lower(), TERMS.c.block_number <= block)
        .order_by(TERMS.c.block_number, TERMS.c.log_index)
    )
    return latest_terms(list(conn.execute(query)))


def market_allowlisted(
    conn: Connection, market: str, account: str, confirmations: int, stream: str = "default"
) -> bool:
    """Whether ``account`` is on ``market``'s allowlist at the confirmed block."""
    block = confirmed_block(conn, confirmations, stream)
    if block is None:
        return False
    query = (
        select(ALLOWLIST.c.allowed)
        .where(
            ALLOWLIST.c.market == market.lower(),
            ALLOWLIST.c.account == account.lower(),
            ALLOWLIST.c.block_number <= block,
        )
        .order_by(ALLOWLIST.c.block_number.desc(), ALLOWLIST.c.log_index.desc())
        .limit(1)
    )
    row = conn.execute(query).first()
    return bool(row[0]) if row is not None else False


def market_nonce(
    conn: Connection,
    market: str,
    trader: str,
    confirmations: int,
    stream: str = "default",
    contract: str = "CarbonMarket",
) -> int:
    """``trader``'s order nonce on ``market`` at the confirmed block (0: never bumped).

    Orders signed with an older nonce can no longer fill.
    """
    block = confirmed_block(conn, confirmations, stream)
    state = load_checkpoint(conn, stream)
    if block is None or state is None:
        return 0
    key = (market.lower(), trader.lower())
    query = select(NONCES).where(NONCES.c.market == key[0], NONCES.c.trader == key[1])
    rows: dict[Key, Row | None] = {key: None}
    rows.update(((r.market, r.trader), dict(r._mapping)) for r in conn.execute(query))
    if block < state.block_number:
        events = _unconfirmed(conn, contract, ("NonceIncremented",), block, key[0])
        rows = _as_of(
            conn,
            NONCES,
            rows,
            [e for e in events if nonce_key(e) == key],
            nonce_key,
            revert_nonce,
            all_touched=False,
        )
    row = rows[key]
    return 0 if row is None else int(row["nonce"])
