"""Celery tasks of the audit: ``audit.reconcile`` and ``audit.scan``, run periodically by beat.

The work is :func:`audit.reconcile.runner.reconcile_once` and :func:`audit.scan.scan_once`; the
tasks only build their inputs from ``MSC_AUDIT_*`` settings (arguments override them, as JSON
strings so any broker can carry them) and return a JSON summary. Both are safe to run twice or
concurrently: a reconciliation run is a new record each time, and a scan's flags are keyed by
their finding and its cursor only moves forward with them.

``register_audit_tasks(app)`` adds them to a Celery app (the settlement workers' app, or one of
their own) with a beat schedule; the process's metrics are served on ``MSC_AUDIT_METRICS_PORT``.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from celery import Celery

from audit.anomaly.config import load_config
from audit.reconcile.alerts import Alerter
from audit.reconcile.checks import default_checks
from audit.reconcile.metrics import AuditMetrics
from audit.reconcile.runner import reconcile_once
from audit.scan import ScanSettings, scan_once
from audit.settings import AuditSettings
from common.sql.engine import create_engine_from_url

RECONCILE = "audit.reconcile"
SCAN = "audit.scan"
DEFAULT_EVERY_S = 300.0

_metrics: AuditMetrics | None = None
_metrics_lock = threading.Lock()


def process_metrics(settings: AuditSettings) -> AuditMetrics:
    """The worker process's one :class:`AuditMetrics`, served on the configured port once."""
    global _metrics
    with _metrics_lock:
        if _metrics is None:
            _metrics = AuditMetrics()
            if settings.metrics_port:
                _metrics.serve(settings.metrics_port)
        return _metrics


def _settings(overrides: dict[str, Any]) -> AuditSettings:
    return AuditSettings.from_env(**{k: v for k, v in overrides.items() if v is not None})


def run_reconcile(database_url: str | None = None, alert_webhook_url: str | None = None) -> dict[str, Any]:
    """One reconciliation at the mirror's block; returns the run id, block and failed checks."""
    settings = _settings({"database_url": database_url, "alert_webhook_url": alert_webhook_url})
    metrics = process_metrics(settings)
    engine = create_engine_from_url(settings.resolved_database_url())
    try:
        report = reconcile_once(
            engine,
            settings.platform(),
            stream=settings.stream,
            checks=default_checks(settings.burners()),
            metrics=metrics,
            alerter=Alerter(metrics, settings.alert_webhook_url),
        )
    finally:
        engine.dispose()
    return {
        "run_id": report.run_id,
        "block": report.block,
        "ok": report.ok,
        "failed": [r.to_dict() for r in report.failed],
    }


def run_scan(database_url: str | None = None, model_path: str | None = None) -> dict[str, Any]:
    """One incremental anomaly scan; returns the block range and the new flag ids."""
    settings = _settings({"database_url": database_url, "model_path": model_path})
    scan_settings = ScanSettings(
        config=load_config(settings.detector_config),
        model_path=Path(settings.model_path) if settings.model_path else None,
        lookback_days=settings.lookback_days,
        stream=settings.stream,
    )
    engine = create_engine_from_url(settings.resolved_database_url())
    try:
        report = scan_once(engine, scan_settings, metrics=process_metrics(settings))
    finally:
        engine.dispose()
    return {
        "scan_id": report.scan_id,
        "from_block": report.from_block,
        "to_block": report.to_block,
        "trades": report.trades,
        "stored": report.stored,
        "model_version": report.model_version,
    }


def register_audit_tasks(
    app: Celery, *, reconcile_every_s: float = DEFAULT_EVERY_S, scan_every_s: float = DEFAULT_EVERY_S
) -> None:
    """Adds ``audit.reconcile`` and ``audit.scan`` to ``app`` and to its beat schedule."""
    app.task(name=RECONCILE)(run_reconcile)
    app.task(name=SCAN)(run_scan)
    schedule = dict(app.conf.beat_schedule or {})
    schedule["audit-reconcile"] = {"task": RECONCILE, "schedule": reconcile_every_s}
    schedule["audit-scan"] = {"task": SCAN, "schedule": scan_every_s}
    app.conf.beat_schedule = schedule
