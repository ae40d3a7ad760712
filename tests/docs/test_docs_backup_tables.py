"""docs/operations.md says, for every table, whether the chain can rebuild it or only a backup can.

Why: an operator decides what to back up, and what a restore can lose, from section 4 of the
runbook. A table added without a line there would be a table nobody knows must be backed up. The
rule: the "Rebuildable from the chain" paragraph names exactly the indexer's mirror tables (those
declared in ``indexer.models`` and ``indexer.market_models``), and every other table of the one
Alembic environment is named under "Not rebuildable" (``prefix_*`` names a family of tables).
"""

from __future__ import annotations

import fnmatch
import importlib
import re
from pathlib import Path

from sqlalchemy import MetaData

ROOT = Path(__file__).resolve().parents[2]
MIRROR_MODULES = ("indexer.models", "indexer.market_models")


def model_modules() -> list[str]:
    """The model modules the one Alembic environment imports (``migrations/env.py``)."""
    source = (ROOT / "migrations" / "env.py").read_text(encoding="utf-8")
    block = source.split("MODEL_MODULES = (", 1)[1].split(")", 1)[0]
    return re.findall(r"\"([\w.]+)\"", block)


def tables_of(modules: list[str] | tuple[str, ...]) -> set[str]:
    """Names of the tables the given model modules declare."""
    names: set[str] = set()
    for name in modules:
        module = importlib.import_module(name)
        for value in vars(module).values():
            table = getattr(value, "__table__", None)
            if table is not None and getattr(value, "__module__", None) == name:
                names.add(table.name)
    return names


def all_tables() -> set[str]:
    """Every table of the platform's metadata, after importing every model module."""
    for name in model_modules():
        importlib.import_module(name)
    from common.sql.base import Base

    metadata: MetaData = Base.metadata
    return set(metadata.tables)


def backup_section() -> tuple[set[str], set[str]]:
    """The code names of section 4's "Rebuildable" paragraph and of the rest of the section."""
    text = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    section = text[text.index("## 4. Backups and restore") : text.index("## 5.")]
    rebuildable, rest = section.split("**Not rebuildable", 1)
    names = re.compile(r"`([a-z_*]+)`")
    return set(names.findall(rebuildable)), set(names.findall(rest))


def test_rebuildableParagraph_namesExactlyTheMirror() -> None:
    """What the runbook says a backfill rebuilds is what the indexer writes, no more, no less."""
    rebuildable, _ = backup_section()
    mirror = tables_of(MIRROR_MODULES)
    assert mirror, "no mirror tables found"
    assert rebuildable & all_tables() == mirror


def test_everyOtherTable_isNamedAsNotRebuildable() -> None:
    """Every record the platform keeps outside the mirror is named for the backup."""
    _, records = backup_section()
    others = all_tables() - tables_of(MIRROR_MODULES)
    unnamed = {t for t in others if not any(fnmatch.fnmatchcase(t, name) for name in records)}
    assert unnamed == set()
    assert not {t for t in tables_of(MIRROR_MODULES) if t in records}, "a mirror table listed as a record"
