"""Every ledger page says when the books hold the pilot's simulated merchants (issue 15: what the
pilot makes is "shown as such on every page"), in the visitor's language, and says nothing when
they hold none."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from api.app import create_app
from api.merchants.models import Merchant
from api.settings import ApiSettings
from chain.settings import PROJECT_ROOT, ChainSettings
from common.sql.engine import create_engine_from_url, make_sessionmaker
from common.sql.migrate import upgrade
from tests.support.factories import add_merchant

PAGES = ("/explorer", "/explorer/blocks", "/explorer/txs", "/explorer/token", "/explorer/anomalies")
NOTICE = 'id="simulated-ledger-notice" title="simulated_merchants={}"'


class _NoTasks:
    def enqueue(self, name: str, *args: str) -> bool:
        return False


@pytest.fixture
def app_and_db(tmp_path: Path) -> Iterator[tuple[TestClient, str]]:
    """The API over a migrated SQLite database with no merchant yet."""
    url = f"sqlite:///{tmp_path / 'ledger.sqlite3'}"
    upgrade(url)
    chain = ChainSettings.from_env(
        {}, rpc_url="http://127.0.0.1:9", build_dir=PROJECT_ROOT / "build", deployments_dir=tmp_path
    )
    app = create_app(ApiSettings.from_env({}, database_url=url), chain_settings=chain, task_queue=_NoTasks())
    with TestClient(app, base_url="https://testserver") as client:
        yield client, url


def test_no_notice_without_simulated_merchants(app_and_db: tuple[TestClient, str]) -> None:
    client, url = app_and_db
    engine = create_engine_from_url(url)
    try:
        add_merchant(make_sessionmaker(engine))  # a real one
    finally:
        engine.dispose()
    for page in PAGES:
        body = client.get(page).text
        assert "simulated-ledger-notice" not in body and "[SIMULASI]" not in body, page


def test_every_ledger_page_says_the_pilot_is_simulated(app_and_db: tuple[TestClient, str]) -> None:
    client, url = app_and_db
    engine = create_engine_from_url(url)
    try:
        sessions = make_sessionmaker(engine)
        ids = [add_merchant(sessions, name=f"[SIMULASI] Warung {n}") for n in range(2)]
        add_merchant(sessions)  # and a real one, not counted
        with sessions.begin() as session:
            session.execute(update(Merchant).where(Merchant.id.in_(ids)).values(simulated=True))
    finally:
        engine.dispose()
    for page in PAGES:
        body = client.get(page).text
        assert NOTICE.format(2) in body, page
        assert "2 pedagang simulasi" in body and "tidak nyata" in body, page
    english = client.get("/explorer?lang=en").text
    assert NOTICE.format(2) in english and "2 simulated pilot merchants" in english
