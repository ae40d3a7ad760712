"""``read_snapshot``: a session that reads one snapshot while another process commits, on SQLite
(WAL) and PostgreSQL — what the explorer and the monthly report rely on while the indexer runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from common.sql.engine import create_engine_from_url, make_sessionmaker
from common.sql.helpers import read_snapshot
from common.sql.migrate import upgrade
from indexer.models import Block


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_a_snapshot_does_not_see_later_commits_and_a_new_session_does(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = (
        f"sqlite:///{tmp_path / 'snapshot.sqlite3'}"
        if backend == "sqlite"
        else request.getfixturevalue("pg_schema_factory")()
    )
    upgrade(url)
    reader_engine, writer_engine = create_engine_from_url(url), create_engine_from_url(url)
    try:
        sessions = make_sessionmaker(reader_engine)

        def commit_block(number: int) -> None:
            with writer_engine.begin() as conn:
                conn.execute(
                    insert(Block).values(
                        number=number, hash=f"0x{number:064x}", parent_hash="0x" + "00" * 32, timestamp=number
                    )
                )

        commit_block(1)
        with sessions() as session:
            read_snapshot(session)
            assert session.scalar(select(func.count()).select_from(Block)) == 1
            commit_block(2)  # the indexer commits while the report reads
            assert session.scalar(select(func.count()).select_from(Block)) == 1
            assert session.scalar(select(func.max(Block.number))) == 1
            session.rollback()
        with sessions() as session:
            assert session.scalar(select(func.count()).select_from(Block)) == 2
    finally:
        reader_engine.dispose()
        writer_engine.dispose()
