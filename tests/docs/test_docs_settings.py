"""Every ``MSC_*`` setting the docs name is one the platform reads.

Why: an operator sets what docs/operations.md and CONTRIBUTING.md tell them to; a renamed or
invented variable would be silently ignored by the process. Each ``MSC_NAME`` in the documents
must appear in ``.env.example`` (the list of every variable the platform reads) or in the source
of a package that reads it. Families (``MSC_PI_*``, ``MSC_ROLE_<ROLE>``) are checked by prefix.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES: tuple[str, ...] = (
    *("common", "chain", "indexer", "settlement", "api", "audit", "carbon", "market", "checkout"),
    *("custody", "accounts", "webui", "launcher", "pi_peer", "scripts"),
)
_NAME = re.compile(r"\bMSC_[A-Z0-9_]*[A-Z0-9](?![A-Z0-9_]*[*<])")


def known_text() -> str:
    """``.env.example`` and every Python source that may read a setting."""
    parts = [(ROOT / ".env.example").read_text(encoding="utf-8")]
    for package in PACKAGES:
        parts.extend(path.read_text(encoding="utf-8") for path in sorted((ROOT / package).rglob("*.py")))
    return "\n".join(parts)


@pytest.mark.parametrize("document", ["CONTRIBUTING.md", "docs/operations.md", "docs/architecture.md"])
def test_docs_nameOnlySettingsThePlatformReads(document: str) -> None:
    """Each ``MSC_*`` variable the document names is in .env.example or read by the code."""
    text = (ROOT / document).read_text(encoding="utf-8")
    known = known_text()
    unknown = sorted({name for name in _NAME.findall(text) if not re.search(rf"\b{name}\b", known)})
    assert unknown == []


def test_nameRegex_skipsFamilies() -> None:
    """``MSC_PI_*`` and ``MSC_ROLE_<ROLE>`` are families, not names; ``MSC_RPC_URL`` is a name."""
    assert _NAME.findall("`MSC_PI_*` `MSC_ROLE_<ROLE>` `MSC_RPC_URL`, MSC_API_ENVIRONMENT=production") == [
        "MSC_RPC_URL",
        "MSC_API_ENVIRONMENT",
    ]
