"""Prometheus metrics of one indexer, on their own registry (several indexers per process in tests)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server


class IndexerMetrics:
    """Head lag, progress, events, reorgs and errors of one indexer stream."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.head_lag = Gauge(
            "msc_indexer_head_lag_blocks",
            "Blocks between the node's head and the checkpoint",
            registry=self.registry,
        )
        self.checkpoint = Gauge(
            "msc_indexer_checkpoint_block", "Last committed block", registry=self.registry
        )
        self.events = Counter(
            "msc_indexer_events_indexed", "Logs written to the mirror", ["status"], registry=self.registry
        )
        self.reorgs = Counter("msc_indexer_reorgs", "Reorgs rolled back", registry=self.registry)
        self.reorg_depth = Gauge(
            "msc_indexer_last_reorg_depth_blocks",
            "Blocks rolled back by the last reorg",
            registry=self.registry,
        )
        self.errors = Counter(
            "msc_indexer_errors", "Failed attempts by kind", ["kind"], registry=self.registry
        )

    def error(self, kind: str) -> None:
        """Counts one failed attempt of ``kind``."""
        self.errors.labels(kind=kind).inc()

    def serve(self, port: int) -> None:
        """Serves ``/metrics`` on ``port`` in a background thread."""
        start_http_server(port, registry=self.registry)
