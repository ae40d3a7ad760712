"""Incremental anomaly scanning of the mirror: new blocks only, rules with context, the model, flags stored.

Each scan covers the blocks after the last finished scan up to the mirror's checkpoint. Rules
look at windows of time (a cycle closes within 72 hours, structuring counts a week), so they
run over the new trades plus ``lookback_days`` of earlier ones; only flags naming at least one
new trade are kept, and a flag's id is derived from its kind and transactions, so a finding is
stored once whatever the overlap. Each account's last activity is kept (``anomaly_accounts``),
so an account waking after months is known to have been active before, however far back that
is (see :func:`_history_markers`). The persisted model scores only the new trades (its activity
state advances) and is saved back afterwards.

Crash safety: the flags and the scan row are committed in one transaction, so a crash before it
scans the same blocks again (nothing stored twice). The model file is replaced atomically after
that commit; a crash in between only loses one batch's advance of the model's activity state.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
from sqlalchemy import Connection, Engine, insert

from audit.anomaly.allowlist import allowed_mask
from audit.anomaly.config import DetectorConfig
from audit.anomaly.detector import detect
from audit.anomaly.flags import Flag
from audit.anomaly.model import AnomalyModel
from audit.anomaly.trades import TradeRow, TradeTable
from audit.mirror_trades import MirrorTrade, block_of, load_trades
from audit.reconcile.metrics import AuditMetrics
from audit.reconcile.opsgauges import refresh_flag_gauges
from audit.store.models import ANOMALY_SCANS
from audit.store.repository import flag_values, last_scanned_block, last_seen, record_activity, store_flags
from common.sql.helpers import utcnow
from indexer.store import load_checkpoint

DAY = 86_400
HISTORY = "(earlier activity)"
"""Counterparty of the markers that stand for an account's last trade before the context."""


@dataclass(frozen=True)
class ScanSettings:
    """What a scan uses.

    Attributes:
        config: Rule thresholds and the allow-list.
        model_path: A model saved by ``python -m audit train`` (None: rules only).
        lookback_days: Earlier activity the rules see as context (covers every rule's window).
        stream: The indexer stream whose checkpoint bounds the scan.
    """

    config: DetectorConfig = field(default_factory=DetectorConfig)
    model_path: Path | None = None
    lookback_days: int = 8
    stream: str = "default"


@dataclass(frozen=True)
class ScanReport:
    """What a scan did; ``scan_id`` is None when there was nothing new to scan."""

    scan_id: int | None
    from_block: int
    to_block: int
    trades: int
    flags_found: int
    stored: list[str]
    model_version: str | None


def model_version(model: AnomalyModel) -> str:
    """A short id of a trained model that survives its activity state advancing.

    Built from what training fixed (format, features, threshold, training medians and scales),
    so every flag from one training run names the same ``model:<version>``.
    """
    digest = hashlib.sha256()
    digest.update(f"{model.format_version}|{','.join(model.feature_names)}|{model.threshold!r}".encode())
    digest.update(np.ascontiguousarray(model.center, dtype=np.float64).tobytes())
    digest.update(np.ascontiguousarray(model.scale, dtype=np.float64).tobytes())
    return f"v{model.format_version}-{digest.hexdigest()[:12]}"


def _history_markers(conn: Connection, new: list[MirrorTrade], context: list[MirrorTrade]) -> list[TradeRow]:
    """One 1-sen marker trade per new account at its last activity older than the context.

    Without it the dormancy rule would take an account silent for months for a newcomer (the
    context holds only days). A marker is too small for every amount-based rule, never a new
    trade (flags must name one), and its counterparty only ever receives, so it raises nothing.
    """
    in_context = {a for t in context for a in (t.row.sender, t.row.receiver)}
    wanted = {a for t in new for a in (t.row.sender, t.row.receiver)} - in_context
    return [
        TradeRow(ts, f"last-seen:{account}", "transfer", account, HISTORY, "MSC", "", 1, 0)
        for account, (ts, _) in sorted(last_seen(conn, wanted).items())
    ]


def _latest_activity(trades: list[MirrorTrade]) -> dict[str, tuple[int, int]]:
    latest: dict[str, tuple[int, int]] = {}
    for t in trades:  # chain order: later trades overwrite earlier ones
        for account in (t.row.sender, t.row.receiver):
            latest[account] = (t.row.ts, t.block_number)
    return latest


def _save_atomically(model: AnomalyModel, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    model.save(tmp)
    os.replace(tmp, path)


def scan_once(
    engine: Engine,
    settings: ScanSettings | None = None,
    *,
    metrics: AuditMetrics | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> ScanReport:
    """Scores the mirror's activity since the last scan and stores the new flags."""
    settings = settings or ScanSettings()
    metrics = metrics or AuditMetrics()
    with engine.connect() as conn:
        state = load_checkpoint(conn, settings.stream)
        last = last_scanned_block(conn)
        start = 0 if last is None else last + 1
        end = -1 if state is None else state.block_number
        if end < start:
            return ScanReport(None, start, end, 0, 0, [], None)
        new = load_trades(conn, start, end)
        context = []
        if new.trades and start > 0:
            since = min(t.row.ts for t in new.trades) - settings.lookback_days * DAY
            context = load_trades(conn, 0, start - 1, since_ts=since).trades
        history = _history_markers(conn, new.trades, context)
    model = AnomalyModel.load(settings.model_path) if settings.model_path else None
    version = model_version(model) if model else None
    new_ids = {t.row.tx_hash for t in new.trades}
    flags: list[Flag] = []
    if new.trades:
        table = TradeTable.from_rows(history + [t.row for t in context] + new.rows)
        found = detect(table, settings.config).flags
        flags = [f for f in found if new_ids.intersection(f.tx_hashes)]
        if model is not None:
            fresh = TradeTable.from_rows(new.rows)
            active = ~allowed_mask(fresh, settings.config.allow_list.pairs)
            flags += model.flags(fresh, model.score(fresh), active)
    blocks = block_of([*context, *new.trades])
    now = clock()
    with engine.begin() as conn:
        stored = store_flags(
            conn, [flag_values(f, created_at=now, model_version=version, blocks=blocks) for f in flags]
        )
        scan_id = conn.execute(
            insert(ANOMALY_SCANS).values(
                from_block=start,
                to_block=end,
                trades=len(new.trades),
                flags=len(stored),
                model_version=version,
                started_at=now,
                finished_at=clock(),
            )
        ).inserted_primary_key
        record_activity(conn, _latest_activity(new.trades))
        refresh_flag_gauges(conn, metrics)
    if model is not None and settings.model_path is not None:
        _save_atomically(model, settings.model_path)
    kinds = {f.flag_id: f.anomaly for f in flags}
    for flag_id in stored:
        metrics.flags_stored.labels(kind=kinds[flag_id]).inc()
    metrics.scan_last_block.set(end)
    return ScanReport(
        int(scan_id[0]) if scan_id else None, start, end, len(new.trades), len(flags), stored, version
    )
