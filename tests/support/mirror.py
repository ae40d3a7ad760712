"""Mirroring a test chain into a test database, as the indexer's backfill does."""

from __future__ import annotations

from pathlib import Path

from chain.settings import PROJECT_ROOT
from indexer.cli import build_pipeline
from indexer.settings import IndexerSettings

BUILD = PROJECT_ROOT / "build"


def backfill(
    database_url: str, rpc_url: str, deployment_file: Path, *, stream: str = "default", initial_span: int = 64
) -> None:
    """Indexes the chain at ``rpc_url`` (the contracts of ``deployment_file``) into the migrated
    database at ``database_url`` up to its head, then stops."""
    settings = IndexerSettings(
        database_url=database_url,
        rpc_url=rpc_url,
        deployment_file=deployment_file,
        build_dir=BUILD,
        stream=stream,
        initial_span=initial_span,
        rpc_backoff_s=0.01,
    )
    pipeline = build_pipeline(settings)
    try:
        pipeline.run(follow=False)
    finally:
        pipeline.engine.dispose()
