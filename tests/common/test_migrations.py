"""The Alembic history is one line and builds exactly the tables the models declare, on both backends.

Several packages add tables; a model changed without its migration (or a migration that drifts
from its model) would only surface in production. Autogenerate's comparison finds it here.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from common.sql.base import Base
from common.sql.engine import create_engine_from_url
from common.sql.migrate import alembic_config, upgrade

ENV_PY = Path(__file__).resolve().parents[2] / "migrations" / "env.py"


def _model_modules() -> list[str]:
    """MODEL_MODULES as migrations/env.py lists them (env.py only runs inside Alembic)."""
    block = re.search(r"MODEL_MODULES = \((.*?)\)", ENV_PY.read_text(), re.S)
    assert block is not None
    return re.findall(r'"([\w.]+)"', block.group(1))


def test_the_history_has_one_head() -> None:
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migrations_build_exactly_the_models(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    for module in _model_modules():
        importlib.import_module(module)
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'schema.sqlite3'}"
    else:
        url = request.getfixturevalue("pg_schema_factory")()
    upgrade(url)
    engine = create_engine_from_url(url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    finally:
        engine.dispose()
    assert diff == []
