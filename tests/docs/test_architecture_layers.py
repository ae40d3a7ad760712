"""The dependencies docs/architecture.md describes are the ones the code has.

Why: "dependencies point one way" is a design rule a newcomer reads in the docs; this test reads
every import of every package (``import x`` and ``from x import y``, at any depth, in functions
too) and fails when a package imports one that its row of the table in docs/architecture.md
does not allow, unless the import is one of the exceptions listed there. A stale exception (the
import is gone) fails too, so the document and the code move together.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

BELOW_THE_WEB_APP = frozenset(
    {"common", "chain", "indexer", "market", "carbon", "settlement", "audit", "custody", "accounts"}
    | {"merchant_money", "merchant_refunds", "city"}
)
"""Everything the web application (layer 5) may build on."""

ALLOWED: dict[str, frozenset[str]] = {
    "common": frozenset(),
    "webui": frozenset(),
    "chain": frozenset({"common"}),
    "indexer": frozenset({"common", "chain"}),
    "market": frozenset({"common", "chain"}),
    "carbon": frozenset({"common"}),
    "accounts": frozenset({"common"}),
    "pi_peer": frozenset({"common"}),
    "city": frozenset({"common", "settlement"}),
    "settlement": frozenset({"common", "chain", "indexer"}),
    "audit": frozenset({"common", "chain", "indexer", "settlement", "carbon", "webui"}),
    "custody": frozenset({"common", "chain", "settlement"}),
    "merchant_money": frozenset({"common", "chain", "settlement", "custody", "accounts"}),
    "merchant_refunds": frozenset({"common", "chain", "settlement", "custody"}),
    "api": frozenset(BELOW_THE_WEB_APP | {"webui", "checkout", "portal", "merchant_reports"}),
    "checkout": frozenset(BELOW_THE_WEB_APP | {"webui", "api", "portal", "merchant_reports"}),
    "portal": frozenset(BELOW_THE_WEB_APP | {"webui", "api", "checkout", "merchant_reports"}),
    "merchant_reports": frozenset(BELOW_THE_WEB_APP | {"webui", "api", "checkout", "portal"}),
    "launcher": frozenset(
        BELOW_THE_WEB_APP | {"webui", "api", "checkout", "portal", "merchant_reports", "pi_peer"}
    ),
}
"""Each package's row of the table in docs/architecture.md: what it may import."""

EXCEPTIONS: frozenset[tuple[str, str]] = frozenset(
    {
        ("settlement/workers/celery_app.py", "audit"),
        ("audit/reconcile/opsgauges.py", "api"),
        ("settlement/workers/tasks.py", "merchant_refunds"),
        ("settlement/workers/tasks.py", "merchant_money"),
    }
)
"""Imports against the layers that docs/architecture.md names, each inside a function."""


def imports_of(path: Path) -> set[str]:
    """The top-level names of every absolute import in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def violations() -> tuple[list[str], set[tuple[str, str]]]:
    """Imports the table does not allow, and the exceptions actually found."""
    found: list[str] = []
    used: set[tuple[str, str]] = set()
    for package, allowed in ALLOWED.items():
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = str(path.relative_to(ROOT))
            for imported in imports_of(path) & set(ALLOWED) - {package}:
                if imported in allowed:
                    continue
                if (relative, imported) in EXCEPTIONS:
                    used.add((relative, imported))
                    continue
                found.append(f"{relative} imports {imported}")
    return found, used


def test_everyPackage_hasARow() -> None:
    """Every Python package at the top of the repository is in the table."""
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests", "tools"}
    assert packages == set(ALLOWED)


def test_imports_followTheLayers_ofTheArchitectureDocument() -> None:
    """No package imports one its row does not allow, except the documented exceptions."""
    found, used = violations()
    assert found == []
    assert used == set(EXCEPTIONS), "an exception listed here no longer exists: update the docs and this test"


def test_theExceptions_areNamedInTheArchitectureDocument() -> None:
    """The document names every exception the test allows."""
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    for path, imported in EXCEPTIONS:
        assert f"`{path}`" in text, path
        assert imported in text
