"""``pilot``: a small seeded pilot (3 UMKM in 3 kelurahan, 21 days) on SQLite and on PostgreSQL,
made once per test session and backend (the forecasts only read the books)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import pytest
from sqlalchemy.orm import Session, sessionmaker

from common.sql.engine import create_engine_from_url, make_sessionmaker
from common.sql.migrate import upgrade
from launcher.pilot import Pilot, PilotPlan, PilotSummary

PLAN = PilotPlan(merchants=3, days=21, seed=5, end=date(2026, 11, 1))
"""Days 2026-10-11 .. 2026-10-31; merchants in the first three kelurahan by code."""


@dataclass(frozen=True)
class PilotDb:
    """A migrated database holding the pilot."""

    url: str
    sessions: sessionmaker[Session]
    summary: PilotSummary


@pytest.fixture(scope="session", params=("sqlite", "postgresql"))
def pilot(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PilotDb]:
    """The pilot's database of the test's backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('forecast') / 'pilot.sqlite3'}"
    else:
        url = request.getfixturevalue("pg_schema_factory")()
    upgrade(url)
    engine = create_engine_from_url(url)
    sessions = make_sessionmaker(engine)
    yield PilotDb(url, sessions, Pilot(sessions, PLAN).run())
    engine.dispose()
