"""Migration 0028: existing merchants whose kelurahan names one of the city's get its code and
official spelling; the others keep their text with a null code; every one is real (not simulated)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import text

from common.sql.engine import create_engine_from_url
from common.sql.migrate import upgrade


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_0028_backfillsTheCodesOfRecognisedKelurahan(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'before0028.sqlite3'}"
    else:
        url = request.getfixturevalue("pg_schema_factory")()
    upgrade(url, "0026")
    engine = create_engine_from_url(url)
    rows = {
        "oro oro OMBO": ("Oro-oro Ombo", "35.77.01.1001"),
        "Taman": ("Taman", "35.77.03.1009"),
        "35.77.02.1005": ("Winongo", "35.77.02.1005"),
        "Y": ("Y", None),
        "@Taman": ("@Taman", None),
    }
    ids: dict[str, uuid.UUID] = {}
    try:
        with engine.begin() as conn:
            for n, given in enumerate(rows):
                ids[given] = uuid.uuid4()
                conn.execute(
                    text(
                        "INSERT INTO merchants"
                        " (id, name, kelurahan, evm_address, pi_username, created_at, status)"
                        " VALUES (:id, :name, :kelurahan, :address, :username, :at, 'active')"
                    ),
                    {
                        "id": ids[given] if backend == "postgresql" else ids[given].hex,
                        "name": f"Warung {n}",
                        "kelurahan": given,
                        "address": "0x" + f"{n + 1:02x}" * 20,
                        "username": f"user_{n}",
                        "at": datetime(2026, 1, 1, tzinfo=UTC),
                    },
                )
        upgrade(url, "0028")
        with engine.connect() as conn:
            for given, expected in rows.items():
                key = ids[given] if backend == "postgresql" else ids[given].hex
                found = conn.execute(
                    text("SELECT kelurahan, kelurahan_code, simulated FROM merchants WHERE id = :id"),
                    {"id": key},
                ).one()
                assert (found[0], found[1]) == expected, given
                assert not found[2]
    finally:
        engine.dispose()
