"""Transactional outbox: chain events reach the registry exactly once, across crashes and restarts.

Why: a retirement or bridge-back is booked in SQL when its chain event is seen, and must then be
reported to the registry. Calling the registry inside that transaction would report events whose
bookkeeping later rolls back; calling it after commit loses the report if the process dies in between.
So the report is written as a row in the SAME transaction as the bookkeeping (``enqueue_*``), and a
dispatcher delivers committed rows afterwards.

Exactly-once effect = at-least-once delivery + an idempotency key per row:

* a row is claimed by a conditional UPDATE (``status = pending`` and due, or ``sending`` with an
  expired lease); only one dispatcher's UPDATE matches, so two dispatchers never both own a row;
* the claim is committed before the call, then the call is made with the row's idempotency key, then
  the row is marked ``sent`` (only if the claim is still ours);
* a dispatcher killed between the call and the mark leaves the row ``sending``; once the lease expires
  any dispatcher reclaims it and sends it again with the same key, and the registry answers its stored
  result instead of applying it twice.

Refusals (4xx) are final: the row becomes ``failed`` for an operator. Anything else (registry
unavailable after the adapter's own retries, a protocol error) puts the row back to ``pending`` with
exponential backoff. The lease must outlast one call including the adapter's retries; if it does not,
a second send may happen, which the idempotency key still makes harmless.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Table, and_, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from carbon.registry.errors import IdempotencyKeyReusedError, RegistryRefusedError
from carbon.registry.interface import (
    RegistryAdapter,
    check_identifier,
    check_text,
    check_token_id,
    check_tonnes,
    check_tx_hash,
)
from carbon.registry.local import check_idempotency_key
from carbon.registry.models import OutboxKind, OutboxStatus, RegistryOutboxRow

logger = logging.getLogger(__name__)
_table: Table = RegistryOutboxRow.__table__  # type: ignore[assignment]


def utcnow() -> datetime:
    """The current time, aware UTC."""
    return datetime.now(UTC)


def enqueue_retirement(
    session: Session,
    *,
    token_id: int,
    tonnes: int,
    beneficiary_name: str,
    reason: str,
    certificate_id: str,
    tx_hash: str,
    idempotency_key: str,
    now: datetime | None = None,
) -> bool:
    """Adds a retirement report to ``session``'s transaction (the caller commits it with its bookkeeping).

    Use a key derived from the chain event (e.g. ``retirement:<tx hash>:<log index>``) so re-processing
    the same event enqueues nothing new.

    Returns:
        Whether a row was added (False: this key is already queued with the same payload).

    Raises:
        InvalidRegistryRequestError: an argument is malformed (nothing is queued).
        IdempotencyKeyReusedError: the key is queued with a different payload.
    """
    check_token_id(token_id)
    check_tonnes(tonnes)
    check_text(beneficiary_name, "beneficiary name", 200)
    check_text(reason, "retirement reason")
    check_identifier(certificate_id, "certificate id")
    check_tx_hash(tx_hash)
    payload = {
        "token_id": str(token_id),
        "tonnes": tonnes,
        "beneficiary_name": beneficiary_name,
        "reason": reason,
        "certificate_id": certificate_id,
        "tx_hash": tx_hash,
    }
    return _enqueue(session, OutboxKind.RETIREMENT, payload, idempotency_key, now or utcnow())


def enqueue_bridge_back(
    session: Session,
    *,
    token_id: int,
    tonnes: int,
    registry_account: str,
    request_id: str,
    idempotency_key: str,
    now: datetime | None = None,
) -> bool:
    """Adds a bridge-back request to ``session``'s transaction (see :func:`enqueue_retirement`)."""
    check_token_id(token_id)
    check_tonnes(tonnes)
    check_identifier(registry_account, "registry account")
    check_identifier(request_id, "bridge-back request id")
    payload = {
        "token_id": str(token_id),
        "tonnes": tonnes,
        "registry_account": registry_account,
        "request_id": request_id,
    }
    return _enqueue(session, OutboxKind.BRIDGE_BACK, payload, idempotency_key, now or utcnow())


def _enqueue(session: Session, kind: OutboxKind, payload: dict[str, Any], key: str, now: datetime) -> bool:
    check_idempotency_key(key)
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        insert(_table)
        .values(
            kind=kind.value,
            idempotency_key=key,
            payload=text,
            status=OutboxStatus.PENDING.value,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        # ON CONFLICT DO NOTHING: a duplicate never aborts the caller's whole transaction.
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(_table.c.id)
    )
    if session.execute(statement).first() is not None:
        return True
    existing = session.execute(
        select(_table.c.kind, _table.c.payload).where(_table.c.idempotency_key == key)
    ).one()
    if (existing.kind, existing.payload) != (kind.value, text):
        raise IdempotencyKeyReusedError(
            f"outbox key {key!r} is already queued for a different {existing.kind} report",
            idempotency_key=key,
        )
    return False


@dataclass(frozen=True)
class ClaimedRow:
    """A row this dispatcher owns until its lease ends."""

    id: int
    kind: OutboxKind
    idempotency_key: str
    payload: dict[str, Any]
    claim_token: str
    attempts: int


@dataclass
class DispatchReport:
    """What one :meth:`OutboxDispatcher.run_once` did, by row id."""

    sent: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    deferred: list[int] = field(default_factory=list)
    lost_claims: list[int] = field(default_factory=list)
    """Rows sent whose claim another dispatcher had taken over meanwhile (it resends; harmless)."""

    @property
    def handled(self) -> int:
        """Rows this run claimed and tried."""
        return len(self.sent) + len(self.failed) + len(self.deferred) + len(self.lost_claims)


class OutboxDispatcher:
    """Delivers outbox rows to a :class:`RegistryAdapter`; any number may run at once.

    Args:
        engine: The database holding ``carbon_registry_outbox``.
        adapter: Where reports go (HTTP in production).
        worker_id: Names this dispatcher in ``claimed_by`` (default: host, pid and a random suffix).
        lease_seconds: How long a claim lasts; must outlast one adapter call with its retries.
        batch_size: Rows looked at per :meth:`run_once`.
        backoff_base_seconds / backoff_max_seconds: Redelivery delay after a transient failure,
            doubling per attempt.
        clock: Current time (tests move it forward to expire leases).
        on_sent: Called after the registry accepted a row and before the row is marked sent; a hook
            for metrics and for tests that crash the dispatcher exactly there.
    """

    def __init__(
        self,
        engine: Engine,
        adapter: RegistryAdapter,
        *,
        worker_id: str | None = None,
        lease_seconds: float = 120.0,
        batch_size: int = 50,
        backoff_base_seconds: float = 5.0,
        backoff_max_seconds: float = 3600.0,
        clock: Callable[[], datetime] = utcnow,
        on_sent: Callable[[ClaimedRow, Any], None] | None = None,
    ) -> None:
        self._engine = engine
        self._adapter = adapter
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._lease = timedelta(seconds=lease_seconds)
        self._batch_size = batch_size
        self._backoff_base = backoff_base_seconds
        self._backoff_max = backoff_max_seconds
        self._clock = clock
        self._on_sent = on_sent

    def run_once(self) -> DispatchReport:
        """Claims, sends and settles every due row (up to ``batch_size``), one row at a time."""
        report = DispatchReport()
        for row_id in self._due_ids():
            claimed = self._claim(row_id)
            if claimed is not None:
                self._deliver(claimed, report)
        return report

    def run(self, stop: threading.Event, idle_seconds: float = 1.0) -> None:
        """Dispatches until ``stop`` is set, sleeping ``idle_seconds`` when nothing was due."""
        while not stop.is_set():
            if self.run_once().handled == 0:
                stop.wait(idle_seconds)

    def _due(self, now: datetime) -> Any:
        return or_(
            and_(_table.c.status == OutboxStatus.PENDING.value, _table.c.next_attempt_at <= now),
            and_(_table.c.status == OutboxStatus.SENDING.value, _table.c.lease_until < now),
        )

    def _due_ids(self) -> list[int]:
        query = (
            select(_table.c.id).where(self._due(self._clock())).order_by(_table.c.id).limit(self._batch_size)
        )
        with self._engine.connect() as connection:
            return [row.id for row in connection.execute(query)]

    def _claim(self, row_id: int) -> ClaimedRow | None:
        """Takes the row if it is still due: the conditional UPDATE is the claim; None if someone else won."""
        now = self._clock()
        token = uuid.uuid4().hex
        claim = (
            update(_table)
            .where(_table.c.id == row_id, self._due(now))
            .values(
                status=OutboxStatus.SENDING.value,
                claim_token=token,
                claimed_by=self.worker_id,
                lease_until=now + self._lease,
                attempts=_table.c.attempts + 1,
            )
        )
        # The UPDATE is the transaction's first statement, so SQLite takes the write lock before reading
        # (no stale snapshot to upgrade) and PostgreSQL re-checks the WHERE after a concurrent claim.
        with self._engine.begin() as connection:
            if connection.execute(claim).rowcount != 1:
                return None
            row = connection.execute(
                select(_table.c.kind, _table.c.idempotency_key, _table.c.payload, _table.c.attempts).where(
                    _table.c.id == row_id
                )
            ).one()
        return ClaimedRow(
            row_id, OutboxKind(row.kind), row.idempotency_key, json.loads(row.payload), token, row.attempts
        )

    def _deliver(self, row: ClaimedRow, report: DispatchReport) -> None:
        try:
            result = self._send(row)
        except RegistryRefusedError as refusal:
            logger.error("registry refused outbox row %d (%s): %s", row.id, row.kind, refusal.message)
            self._settle(
                row, report.failed, report, status=OutboxStatus.FAILED, last_error=_describe(refusal)
            )
            return
        except Exception as exc:  # unavailable, protocol error, auth: try again later
            delay = min(self._backoff_max, self._backoff_base * 2 ** (row.attempts - 1))
            logger.warning("outbox row %d not delivered (%s); next attempt in %.0f s", row.id, exc, delay)
            self._settle(
                row,
                report.deferred,
                report,
                status=OutboxStatus.PENDING,
                last_error=_describe(exc),
                next_attempt_at=self._clock() + timedelta(seconds=delay),
            )
            return
        if self._on_sent is not None:
            self._on_sent(row, result)
        answer = json.dumps(asdict(result), sort_keys=True, default=str)
        self._settle(row, report.sent, report, status=OutboxStatus.SENT, result=answer, sent_at=self._clock())

    def _send(self, row: ClaimedRow) -> Any:
        payload = row.payload
        if row.kind is OutboxKind.RETIREMENT:
            return self._adapter.report_retirement(
                token_id=int(payload["token_id"]),
                tonnes=payload["tonnes"],
                beneficiary_name=payload["beneficiary_name"],
                reason=payload["reason"],
                certificate_id=payload["certificate_id"],
                tx_hash=payload["tx_hash"],
                idempotency_key=row.idempotency_key,
            )
        return self._adapter.request_bridge_back(
            token_id=int(payload["token_id"]),
            tonnes=payload["tonnes"],
            registry_account=payload["registry_account"],
            request_id=payload["request_id"],
            idempotency_key=row.idempotency_key,
        )

    def _settle(self, row: ClaimedRow, bucket: list[int], report: DispatchReport, **values: Any) -> None:
        """Records the outcome if the claim is still ours (else another dispatcher owns the row now)."""
        statement = (
            update(_table)
            .where(
                _table.c.id == row.id,
                _table.c.claim_token == row.claim_token,
                _table.c.status == OutboxStatus.SENDING.value,
            )
            .values(claim_token=None, lease_until=None, **values)
        )
        with self._engine.begin() as connection:
            if connection.execute(statement).rowcount == 1:
                bucket.append(row.id)
                return
        logger.warning("outbox row %d: claim lost to another dispatcher before it was settled", row.id)
        report.lost_claims.append(row.id)


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"
