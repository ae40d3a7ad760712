"""The audit's Celery tasks: registered with a beat schedule, runnable on a worker (here eagerly)."""

from __future__ import annotations

from pathlib import Path

from celery import Celery
from sqlalchemy import select

from audit.store.models import AnomalyScan
from audit.tasks import RECONCILE, SCAN, register_audit_tasks
from common.sql.engine import create_engine_from_url
from common.sql.migrate import upgrade


def test_the_tasks_are_registered_with_a_beat_schedule() -> None:
    app = Celery("audit-test", broker="memory://")
    app.conf.beat_schedule = {"settlement-sweep": {"task": "settlement.sweep", "schedule": 30.0}}
    register_audit_tasks(app, reconcile_every_s=60, scan_every_s=120)
    assert {RECONCILE, SCAN} <= set(app.tasks)
    schedule = app.conf.beat_schedule
    assert schedule["audit-reconcile"] == {"task": RECONCILE, "schedule": 60}
    assert schedule["audit-scan"] == {"task": SCAN, "schedule": 120}
    assert "settlement-sweep" in schedule


def test_the_scan_task_runs_on_a_worker_and_scans_nothing_before_the_indexer(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'audit.sqlite3'}"
    upgrade(url)
    app = Celery("audit-test", broker="memory://")
    register_audit_tasks(app)
    result = app.tasks[SCAN].apply(kwargs={"database_url": url}).get()
    assert result["scan_id"] is None and result["stored"] == [] and result["trades"] == 0
    engine = create_engine_from_url(url)
    with engine.connect() as conn:
        assert conn.execute(select(AnomalyScan)).all() == []
    engine.dispose()
