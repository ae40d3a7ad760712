"""The checked-in Grafana dashboard and Prometheus config name only metrics the code registers."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import yaml
from prometheus_client import CollectorRegistry

from api.metrics import ApiMetrics
from audit.reconcile.metrics import AuditMetrics
from chain.settings import PROJECT_ROOT
from city.lpui import metrics as lpui_metrics
from indexer.metrics import IndexerMetrics
from settlement.workers import metrics as worker_metrics

DASHBOARD = PROJECT_ROOT / "ops" / "grafana" / "msc-dashboard.json"
PROMETHEUS = PROJECT_ROOT / "ops" / "prometheus.yml"
SOURCE_PACKAGES = (
    "api",
    "audit",
    "carbon",
    "chain",
    "city",
    "common",
    "indexer",
    "launcher",
    "market",
    "settlement",
)
METRIC_CLASSES = {"Counter", "Gauge", "Histogram", "Summary", "Info", "Enum"}
SUFFIXES = {
    "Counter": ("", "_total", "_created"),
    "Gauge": ("",),
    "Histogram": ("_bucket", "_sum", "_count", "_created"),
    "Summary": ("", "_sum", "_count", "_created"),
    "Info": ("_info",),
    "Enum": ("",),
}
METRIC_TOKEN = re.compile(r"\bmsc_[a-z0-9_]+\b")


def declared_metrics() -> set[str]:
    """Every sample name of every prometheus_client metric declared in the platform's source."""
    names: set[str] = set()
    for package in SOURCE_PACKAGES:
        for path in (PROJECT_ROOT / package).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            if "prometheus_client" not in text:
                continue
            for node in ast.walk(ast.parse(text)):
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                    continue
                kind = node.func.id
                if kind not in METRIC_CLASSES or not node.args:
                    continue
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    names.update(first.value + suffix for suffix in SUFFIXES[kind])
    return names


def registered_metrics(registry: CollectorRegistry) -> set[str]:
    """Sample names a live registry exposes (labelled metrics get one sample per label set)."""
    names: set[str] = set()
    for family in registry.collect():
        names.add(family.name)
        names.update(sample.name for sample in family.samples)
        if family.type == "counter":
            names.add(family.name + "_total")
        if family.type == "histogram":
            names.update(family.name + s for s in ("_bucket", "_sum", "_count"))
    return names


def dashboard_exprs(dashboard: dict[str, Any]) -> list[str]:
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def test_the_dashboard_is_a_grafana_dashboard_on_a_prometheus_datasource_variable() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    assert dashboard["uid"] and dashboard["title"] and isinstance(dashboard["schemaVersion"], int)
    (variable,) = dashboard["templating"]["list"]
    assert (variable["type"], variable["query"], variable["name"]) == (
        "datasource",
        "prometheus",
        "datasource",
    )
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    for panel in dashboard["panels"]:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert (
            set(panel["gridPos"]) == {"h", "w", "x", "y"}
            and panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
        )
        ref_ids = [t["refId"] for t in panel["targets"]]
        assert panel["targets"] and len(ref_ids) == len(set(ref_ids))
    titles = " | ".join(panel["title"].lower() for panel in dashboard["panels"])
    for topic in (
        "kelurahan",
        "pi volume",
        "supply",
        "reserves",
        "escrow",
        "retired",
        "anomaly",
        "indexer lag",
    ):
        assert topic in titles


def test_every_metric_the_dashboard_queries_is_registered_in_the_code() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    used = {name for expr in dashboard_exprs(dashboard) for name in METRIC_TOKEN.findall(expr)}
    declared = declared_metrics()
    live = set().union(
        *(registered_metrics(m.registry) for m in (AuditMetrics(), IndexerMetrics(), ApiMetrics())),
        registered_metrics(worker_metrics.REGISTRY),  # the settlement tasks' (process) registry
        registered_metrics(lpui_metrics.REGISTRY),  # the LPUI gauges (process registry too)
    )
    assert len(used) >= 10
    assert used - declared == set(), "dashboard metrics not declared in the source"
    assert used - live == set(), "dashboard metrics not exposed by a live registry"


def test_declared_metrics_are_found_by_the_source_scan() -> None:
    # Guards the scan itself: it must see what the live registries expose.
    live = registered_metrics(AuditMetrics().registry) | registered_metrics(IndexerMetrics().registry)
    declared = declared_metrics()
    assert {n for n in live if not n.endswith("_created")} <= declared


def test_the_prometheus_config_scrapes_every_process_with_metrics() -> None:
    config = yaml.safe_load(Path(PROMETHEUS).read_text(encoding="utf-8"))
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) == {"msc-api", "msc-indexer", "msc-audit", "msc-workers"}
    for job in jobs.values():
        (static,) = job["static_configs"]
        assert all(re.fullmatch(r"[\w.-]+:\d+", target) for target in static["targets"])
    assert config["global"]["scrape_interval"]
