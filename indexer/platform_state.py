"""Pure state transitions of the escrow payment and staking lock rows, one event at a time.

Each derived row (a dict of its table's columns) moves forward with ``apply_*`` and back with
``revert_*``. The projections use both against rows loaded from SQL (apply for new ranges,
revert for orphaned blocks on a reorg), and the reader uses ``revert_*`` in memory to show a row
as of a confirmed block. Keeping one definition of every transition in one place is what makes a
reverted mirror equal a fresh index. The transitions mirror ``MerchantEscrow`` and
``LockStaking``; an event that does not fit the row (a payment deposited twice, a release of a
payment not held) raises :class:`ProjectionError` rather than corrupting the mirror.

Reverting cannot restore ``escrow_payments.last_block`` (it is a maximum over the payment's
surviving events): ``revert_payment`` sets it to None and the caller fills it in with
:func:`last_payment_blocks`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from sqlalchemy import Connection, Table, and_, func, select

from indexer.errors import ProjectionError
from indexer.models import EscrowPayment, EscrowStatus, StakingLock, StakingLockStatus
from indexer.store import DECODED, RAW_LOGS, chunks

PAYMENTS: Table = EscrowPayment.__table__  # type: ignore[assignment]
LOCKS: Table = StakingLock.__table__  # type: ignore[assignment]

PAYMENT_EVENTS = ("Deposited", "Released", "Refunded", "Disputed", "DisputeResolved", "GuaranteeRefundPaid")
"""MerchantEscrow events that change a payment; each carries the payment id as its first topic."""
LOCK_EVENTS = ("Locked", "RewardPaid", "Withdrawn", "ExitedEarly")
"""LockStaking events that change a lock; each carries the lock id as its first topic."""
OPEN_PAYMENT = (EscrowStatus.HELD.value, EscrowStatus.DISPUTED.value)
"""Statuses whose ``held`` amount is still in escrow."""

Row = dict[str, Any]
Key = tuple[str, Any]


class ChainEvent(Protocol):
    """What the transitions read from an event (``indexer.projections.EventRecord`` fits)."""

    @property
    def block_number(self) -> int: ...

    @property
    def address(self) -> str: ...

    @property
    def event(self) -> str: ...

    @property
    def args(self) -> dict[str, Any]: ...


def payment_key(e: ChainEvent) -> Key:
    """(escrow address, payment id) of a payment event."""
    return e.address, str(e.args["paymentId"]).lower()


def lock_key(e: ChainEvent) -> Key:
    """(staking address, lock id) of a lock event."""
    return e.address, int(e.args["lockId"])


def _need(row: Row | None, e: ChainEvent, what: str) -> Row:
    if row is None:
        raise ProjectionError(f"{e.event} at block {e.block_number} for an unknown {what}")
    return dict(row)


def _take(row: Row, column: str, amount: int, e: ChainEvent) -> None:
    if row[column] < amount:
        raise ProjectionError(f"{e.event} at block {e.block_number} takes {column} below zero")
    row[column] -= amount


def _expect_status(row: Row, e: ChainEvent, *statuses: str) -> None:
    if row["status"] not in statuses:
        raise ProjectionError(f"{e.event} at block {e.block_number} finds the row {row['status']}")


# ---------------------------------------------------------------------- escrow payments


def apply_payment(row: Row | None, e: ChainEvent) -> Row:
    """The payment row after event ``e`` (``row`` None: the payment does not exist yet)."""
    a = e.args
    if e.event == "Deposited":
        if row is not None:
            raise ProjectionError(f"payment {a['paymentId']} deposited twice (block {e.block_number})")
        amount = int(a["amount"])
        return {
            "escrow": e.address,
            "payment_id": str(a["paymentId"]).lower(),
            "merchant": a["merchant"],
            "payer": a["payer"],
            "amount": amount,
            "held": amount,
            "status": EscrowStatus.HELD.value,
            "release_after": int(a["releaseAfter"]),
            "dispute_deadline": None,
            "released": 0,
            "refunded": 0,
            "covered": 0,
            "deposit_block": e.block_number,
            "last_block": e.block_number,
        }
    new = _need(row, e, "payment")
    if e.event == "Released":
        _expect_status(new, e, EscrowStatus.HELD.value)
        amount = int(a["amount"])
        _take(new, "held", amount, e)
        new["released"] += amount
        new["status"] = EscrowStatus.RELEASED.value
    elif e.event == "Refunded":
        _expect_status(new, e, *OPEN_PAYMENT)
        amount = int(a["amount"])
        _take(new, "held", amount, e)
        new["refunded"] += amount
        if new["held"] != int(a["remaining"]):
            raise ProjectionError(f"Refunded at block {e.block_number} leaves a remainder the mirror lacks")
        if new["held"] == 0:
            new["status"] = EscrowStatus.REFUNDED.value
    elif e.event == "Disputed":
        _expect_status(new, e, EscrowStatus.HELD.value)
        new["status"] = EscrowStatus.DISPUTED.value
        new["dispute_deadline"] = int(a["deadline"])
    elif e.event == "DisputeResolved":
        _expect_status(new, e, EscrowStatus.DISPUTED.value)
        to_merchant, to_payer = int(a["toMerchant"]), int(a["toPayer"])
        _take(new, "held", to_merchant + to_payer, e)
        new["released"] += to_merchant
        new["refunded"] += to_payer
        new["status"] = EscrowStatus.REFUNDED.value if a["byDefault"] else EscrowStatus.SPLIT.value
    elif e.event == "GuaranteeRefundPaid":
        _expect_status(new, e, EscrowStatus.RELEASED.value)
        new["covered"] += int(a["amount"])
    else:
        raise ProjectionError(f"{e.event} is not a payment event")
    new["last_block"] = e.block_number
    return new


def revert_payment(row: Row | None, e: ChainEvent) -> Row | None:
    """The payment row before event ``e``, the latest event applied to it (None: not deposited).

    ``last_block`` comes back None: see the module docstring.
    """
    if e.event == "Deposited":
        return None
    new = _need(row, e, "payment")
    a = e.args
    if e.event == "Released":
        amount = int(a["amount"])
        new["held"] += amount
        _take(new, "released", amount, e)
        new["status"] = EscrowStatus.HELD.value
    elif e.event == "Refunded":
        amount = int(a["amount"])
        new["held"] += amount
        _take(new, "refunded", amount, e)
        # A refund leaves a payment held or disputed; a dispute never returns to held, so the
        # deadline (set by the dispute, cleared when it is reverted) tells which it was.
        disputed = new["dispute_deadline"] is not None
        new["status"] = EscrowStatus.DISPUTED.value if disputed else EscrowStatus.HELD.value
    elif e.event == "Disputed":
        new["status"] = EscrowStatus.HELD.value
        new["dispute_deadline"] = None
    elif e.event == "DisputeResolved":
        to_merchant, to_payer = int(a["toMerchant"]), int(a["toPayer"])
        new["held"] += to_merchant + to_payer
        _take(new, "released", to_merchant, e)
        _take(new, "refunded", to_payer, e)
        new["status"] = EscrowStatus.DISPUTED.value
    elif e.event == "GuaranteeRefundPaid":
        _take(new, "covered", int(a["amount"]), e)
    else:
        raise ProjectionError(f"{e.event} is not a payment event")
    new["last_block"] = None
    return new


def last_payment_blocks(
    conn: Connection, escrow: str, payment_ids: Iterable[str], at_most: int
) -> dict[str, int]:
    """The latest block at or below ``at_most`` with a payment event of each id (absent: none).

    Payment events carry the payment id as topic1, so this is an indexed look-up per payment
    (``ix_raw_logs_address_topic1``), joined to the decoded events to count payment events only.
    """
    found: dict[str, int] = {}
    ids = sorted(set(payment_ids))
    for part in chunks(ids):
        query = (
            select(RAW_LOGS.c.topic1, func.max(RAW_LOGS.c.block_number))
            .join(
                DECODED,
                and_(
                    DECODED.c.block_hash == RAW_LOGS.c.block_hash, DECODED.c.log_index == RAW_LOGS.c.log_index
                ),
            )
            .where(
                RAW_LOGS.c.address == escrow,
                RAW_LOGS.c.topic1.in_(part),
                RAW_LOGS.c.block_number <= at_most,
                DECODED.c.event.in_(PAYMENT_EVENTS),
            )
            .group_by(RAW_LOGS.c.topic1)
        )
        found.update((str(r[0]), int(r[1])) for r in conn.execute(query))
    return found


def fill_last_blocks(conn: Connection, rows: Mapping[Key, Row | None], at_most: int) -> None:
    """Sets ``last_block`` of the reverted payment rows (those where it is None) in place."""
    missing: dict[str, list[str]] = {}
    for (escrow, payment_id), row in rows.items():
        if row is not None and row["last_block"] is None:
            missing.setdefault(escrow, []).append(payment_id)
    for escrow, ids in missing.items():
        blocks = last_payment_blocks(conn, escrow, ids, at_most)
        for payment_id in ids:
            row = rows[(escrow, payment_id)]
            assert row is not None
            # The deposit survived (else the row would be gone), so a block is always found; the
            # deposit block is the floor should the raw log be missing.
            row["last_block"] = blocks.get(payment_id, row["deposit_block"])


# ---------------------------------------------------------------------- staking locks


def apply_lock(row: Row | None, e: ChainEvent) -> Row:
    """The lock row after event ``e`` (``row`` None: the lock does not exist yet)."""
    a = e.args
    if e.event == "Locked":
        if row is not None:
            raise ProjectionError(f"lock {a['lockId']} created twice (block {e.block_number})")
        return {
            "staking": e.address,
            "lock_id": int(a["lockId"]),
            "owner": a["owner"],
            "tier": int(a["tier"]),
            "amount": int(a["amount"]),
            "starts_at": int(a["start"]),
            "ends_at": int(a["end"]),
            "weight_bps": int(a["weightBps"]),
            "status": StakingLockStatus.OPEN.value,
            "rewards_paid": 0,
            "penalty": 0,
            "opened_block": e.block_number,
            "closed_block": None,
        }
    new = _need(row, e, "lock")
    _expect_status(new, e, StakingLockStatus.OPEN.value)
    if e.event == "RewardPaid":
        new["rewards_paid"] += int(a["reward"])
    elif e.event == "Withdrawn":
        new["status"] = StakingLockStatus.WITHDRAWN.value
        new["closed_block"] = e.block_number
    elif e.event == "ExitedEarly":
        new["status"] = StakingLockStatus.EXITED.value
        new["penalty"] = int(a["penalty"])
        new["closed_block"] = e.block_number
    else:
        raise ProjectionError(f"{e.event} is not a lock event")
    return new


def revert_lock(row: Row | None, e: ChainEvent) -> Row | None:
    """The lock row before event ``e``, the latest event applied to it (None: not created)."""
    if e.event == "Locked":
        return None
    new = _need(row, e, "lock")
    if e.event == "RewardPaid":
        _take(new, "rewards_paid", int(e.args["reward"]), e)
    elif e.event in ("Withdrawn", "ExitedEarly"):
        new["status"] = StakingLockStatus.OPEN.value
        new["penalty"] = 0
        new["closed_block"] = None
    else:
        raise ProjectionError(f"{e.event} is not a lock event")
    return new


# ---------------------------------------------------------------------- row I/O


def load_rows(conn: Connection, table: Table, keys: Iterable[Key]) -> dict[Key, Row | None]:
    """The rows of ``table`` (first two primary-key columns: address, id) for ``keys``; None if absent."""
    address_col, id_col = (c for c in table.primary_key.columns)
    by_address: dict[str, list[Any]] = {}
    wanted = set(keys)
    for address, ident in wanted:
        by_address.setdefault(address, []).append(ident)
    rows: dict[Key, Row | None] = dict.fromkeys(wanted)
    for address, ids in by_address.items():
        for part in chunks(sorted(ids)):
            query = select(table).where(address_col == address, id_col.in_(part))
            for r in conn.execute(query):
                row = dict(r._mapping)
                rows[(row[address_col.name], row[id_col.name])] = row
    return rows
