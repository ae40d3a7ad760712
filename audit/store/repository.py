"""Reading and writing the audit tables: flags (stored once, reviewed once) and scan cursors."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from audit.anomaly.flags import MODEL, Flag, FlagStatus
from audit.store.models import ANOMALY_ACCOUNTS, ANOMALY_FLAGS, ANOMALY_SCANS
from common.errors import ConflictError, NotFoundError, ValidationError

REVIEW_STATUSES = (FlagStatus.CONFIRMED.value, FlagStatus.DISMISSED.value)


def flag_values(
    flag: Flag, *, created_at: datetime, model_version: str | None, blocks: dict[str, int]
) -> dict[str, Any]:
    """The ``anomaly_flags`` row of a detector flag."""
    source = f"model:{model_version}" if flag.anomaly == MODEL else flag.anomaly
    heights = [blocks[tx] for tx in flag.tx_hashes if tx in blocks]
    return {
        "id": flag.flag_id,
        "kind": flag.anomaly,
        "source": source,
        "score": float(flag.score),
        "reason": flag.reason,
        "tx_hashes": list(flag.tx_hashes),
        "accounts": list(flag.accounts),
        "evidence": {
            "context_tx": list(flag.context_tx),
            "features": flag.features,
            "blocks": sorted(set(heights)),
        },
        "block_number": max(heights) if heights else None,
        "status": FlagStatus.OPEN.value,
        "note": "",
        "created_at": created_at,
    }


def store_flags(conn: Connection, rows: Iterable[dict[str, Any]]) -> list[str]:
    """Inserts the flags not stored yet (same id = same finding); returns the ids inserted.

    ``ON CONFLICT DO NOTHING`` keeps an auditor's review of an earlier identical flag untouched.
    """
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stored: list[str] = []
    for values in rows:
        statement = (
            insert(ANOMALY_FLAGS).values(**values).on_conflict_do_nothing(index_elements=["id"])
        ).returning(ANOMALY_FLAGS.c.id)
        if conn.execute(statement).first() is not None:
            stored.append(str(values["id"]))
    return stored


def last_scanned_block(conn: Connection) -> int | None:
    """The highest block a finished scan covered (None before the first scan)."""
    value = conn.execute(
        select(func.max(ANOMALY_SCANS.c.to_block)).where(ANOMALY_SCANS.c.finished_at.is_not(None))
    ).scalar()
    return None if value is None else int(value)


def set_flag_status(
    conn: Connection, flag_id: str, status: str, *, reviewer: str, note: str, now: datetime
) -> None:
    """Moves an open flag to ``confirmed`` or ``dismissed`` (once: a reviewed flag stays reviewed).

    The update is conditional on the flag still being open, so two reviewers racing cannot both
    win: the second gets a :class:`ConflictError` and changes nothing.

    Raises:
        ValidationError: ``status`` is not confirmed/dismissed, or no reviewer is named.
        NotFoundError: no such flag.
        ConflictError: the flag was already reviewed.
    """
    if status not in REVIEW_STATUSES:
        raise ValidationError(f"a flag can be set to {' or '.join(REVIEW_STATUSES)}, not {status!r}")
    if not reviewer.strip():
        raise ValidationError("a review needs the reviewer's name")
    result = conn.execute(
        update(ANOMALY_FLAGS)
        .where(ANOMALY_FLAGS.c.id == flag_id, ANOMALY_FLAGS.c.status == FlagStatus.OPEN.value)
        .values(status=status, note=note, reviewed_at=now, reviewed_by=reviewer.strip())
    )
    if result.rowcount == 1:
        return
    current = conn.execute(select(ANOMALY_FLAGS.c.status).where(ANOMALY_FLAGS.c.id == flag_id)).scalar()
    if current is None:
        raise NotFoundError(f"no anomaly flag {flag_id!r}", flag_id=flag_id)
    raise ConflictError(
        f"flag {flag_id} is already {current}; a reviewed flag cannot be reviewed again",
        flag_id=flag_id,
        status=current,
    )


def last_seen(conn: Connection, accounts: Iterable[str]) -> dict[str, tuple[int, int]]:
    """``account -> (last_ts, last_block)`` of the given accounts that scans have seen before."""
    wanted = sorted(set(accounts))
    found: dict[str, tuple[int, int]] = {}
    for i in range(0, len(wanted), 500):  # bound the IN list on every backend
        rows = conn.execute(
            select(
                ANOMALY_ACCOUNTS.c.account, ANOMALY_ACCOUNTS.c.last_ts, ANOMALY_ACCOUNTS.c.last_block
            ).where(ANOMALY_ACCOUNTS.c.account.in_(wanted[i : i + 500]))
        )
        found.update({str(a): (int(ts), int(block)) for a, ts, block in rows})
    return found


def record_activity(conn: Connection, latest: dict[str, tuple[int, int]]) -> None:
    """Stores each account's latest ``(ts, block)`` (scans go forward, so the newest wins)."""
    if not latest:
        return
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    for account, (ts, block) in sorted(latest.items()):
        statement = insert(ANOMALY_ACCOUNTS).values(account=account, last_ts=ts, last_block=block)
        conn.execute(
            statement.on_conflict_do_update(
                index_elements=["account"],
                set_={"last_ts": statement.excluded.last_ts, "last_block": statement.excluded.last_block},
            )
        )
