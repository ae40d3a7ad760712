"""Settings of the explorer (``MSC_EXPLORER_*``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from common.settings import EnvSettings


class ExplorerSettings(EnvSettings):
    """What the explorer shows.

    Attributes:
        confirmations: Blocks a block needs on top of it before the explorer shows its data.
            0 shows everything the indexer has committed (a local chain that mines on demand);
            a public network wants as many as the indexer's reorg window makes safe.
        stream: The indexer checkpoint the mirror is read through.
        page_size: Rows per table page unless the request asks for another size.
        max_page_size: The largest page a request may ask for (exports are not paged).
        max_export_rows: The most rows one CSV/JSON export carries; a larger table is refused
            with a message rather than cut silently.
        documents_dir: The local content-addressed document store (``carbon.documents``) whose
            verification documents and metadata the explorer serves by CID; None serves none
            (they stay reachable as ``ipfs://<cid>`` on any IPFS gateway).
    """

    env_prefix = "MSC_EXPLORER_"

    confirmations: int = Field(default=0, ge=0)
    stream: str = "default"
    page_size: int = Field(default=25, ge=1)
    max_page_size: int = Field(default=200, ge=1)
    max_export_rows: int = Field(default=100_000, ge=1)
    documents_dir: Path | None = None
