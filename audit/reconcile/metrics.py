"""Prometheus metrics of the audit processes (reconciliation, anomaly scan) and the ops gauges.

One :class:`AuditMetrics` per process, on its own registry (several in one test process never
collide). Besides the reconciliation results it carries the operations gauges the Grafana
dashboard (``ops/grafana/msc-dashboard.json``) shows, refreshed from SQL by
:func:`audit.reconcile.opsgauges.refresh_ops_gauges` after each run.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

from audit.reconcile.results import CheckResult


class AuditMetrics:
    """The collectors of reconciliation, anomaly scanning and the platform's operations figures."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.check_ok = Gauge(
            "msc_reconciliation_check_ok",
            "1 when the last run's check held, 0 when it failed",
            ["check", "subject"],
            registry=r,
        )
        self.failures = Counter(
            "msc_reconciliation_failures", "Failed reconciliation check results", ["check"], registry=r
        )
        self.runs = Counter(
            "msc_reconciliation_runs", "Reconciliation runs by outcome", ["outcome"], registry=r
        )
        self.last_block = Gauge(
            "msc_reconciliation_last_block", "Block of the last finished reconciliation run", registry=r
        )
        self.alerts = Counter(
            "msc_reconciliation_alerts",
            "Alert webhook deliveries by outcome (sent, failed, disabled)",
            ["outcome"],
            registry=r,
        )
        self.supply = Gauge(
            "msc_supply_sen", "MSC total supply at the last reconciled block (sen)", registry=r
        )
        self.reserves = Gauge(
            "msc_reserves_attested_sen",
            "Attested Rupiah reserves at the last reconciled block (sen)",
            registry=r,
        )
        self.escrow_outstanding = Gauge(
            "msc_escrow_outstanding_sen",
            "MSC held in the merchant escrow for open payments (sen)",
            registry=r,
        )
        self.carbon_retired = Gauge(
            "msc_carbon_retired_tonnes",
            "Carbon credits retired, per token id (t CO2e)",
            ["token_id"],
            registry=r,
        )
        self.settlements = Gauge(
            "msc_settlements_completed",
            "Pi payments settled into MSC, per merchant kelurahan",
            ["kelurahan"],
            registry=r,
        )
        self.pi_volume = Gauge(
            "msc_pi_volume_minor",
            "Pi received for settled payments, per kelurahan (10^-7 Pi)",
            ["kelurahan"],
            registry=r,
        )
        self.flags_open = Gauge(
            "msc_anomaly_flags_open", "Anomaly flags awaiting review, per kind", ["kind"], registry=r
        )
        self.flags_stored = Counter(
            "msc_anomaly_flags_stored", "New anomaly flags stored by scans, per kind", ["kind"], registry=r
        )
        self.scan_last_block = Gauge(
            "msc_anomaly_scan_last_block", "Highest block the anomaly scanner has scored", registry=r
        )

    def record_check(self, result: CheckResult) -> None:
        """Sets the check's gauge and counts a failure."""
        self.check_ok.labels(check=result.check, subject=result.subject).set(1 if result.ok else 0)
        if not result.ok:
            self.failures.labels(check=result.check).inc()

    def serve(self, port: int) -> None:
        """Serves ``/metrics`` on ``port`` in a background thread."""
        start_http_server(port, registry=self.registry)
