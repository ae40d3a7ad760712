"""Alerting on failed checks: a log line, the failure metric and a JSON POST to a webhook.

Delivery is best effort by design: the results are already stored when alerts go out, so a
webhook that is down loses no finding (the explorer and the metric still show it); the failed
delivery is logged and counted so the operator sees the alert channel itself is broken.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import requests

from audit.reconcile.metrics import AuditMetrics
from audit.reconcile.results import CheckResult

LOG = logging.getLogger("audit.reconcile")


class Alerter:
    """Sends one alert per run with failed checks."""

    def __init__(self, metrics: AuditMetrics, webhook_url: str | None = None, timeout_s: float = 5.0) -> None:
        self.metrics = metrics
        self.webhook_url = webhook_url
        self.timeout_s = timeout_s

    def payload(self, run_id: int, block: int, failed: Sequence[CheckResult]) -> dict[str, Any]:
        """The webhook body: which run, which block, and each failed check with its figures."""
        return {
            "source": "msc-reconciliation",
            "run_id": run_id,
            "block": block,
            "failed": [result.to_dict() for result in failed],
        }

    def alert(self, run_id: int, block: int, failed: Sequence[CheckResult]) -> bool:
        """Logs and posts the failures; returns whether the webhook accepted them (False if none set)."""
        if not failed:
            return False
        for result in failed:
            LOG.error(
                "reconciliation run %s at block %s: %s [%s] expected %s, found %s",
                run_id,
                block,
                result.check,
                result.subject,
                result.expected,
                result.actual,
            )
        if not self.webhook_url:
            self.metrics.alerts.labels(outcome="disabled").inc()
            return False
        try:
            response = requests.post(
                self.webhook_url, json=self.payload(run_id, block, failed), timeout=self.timeout_s
            )
            response.raise_for_status()
        except requests.RequestException as exc:
            LOG.error("reconciliation alert for run %s not delivered to the webhook: %s", run_id, exc)
            self.metrics.alerts.labels(outcome="failed").inc()
            return False
        self.metrics.alerts.labels(outcome="sent").inc()
        return True
