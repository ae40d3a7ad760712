"""Every relative link in the repository's Markdown resolves inside the repository.

Why: a reader has a clone and nothing else. A link to ``../shared/ARCHITECTURE.md`` (or any path
outside the clone) is dead for everyone but its author, and a link to a file that moved is dead
for all. Checked: every ``[text](target)``, image and ``[label]: target`` definition outside code
(fenced blocks and inline code spans are not links) in every Markdown file git tracks or would
track; URLs with a scheme (``https:``, ``mailto:``) are not checked. A ``#fragment`` on a Markdown
target must name one of its headings (GitHub's anchor for it).
"""

from __future__ import annotations

import fnmatch
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

_FENCED = re.compile(r"^\s*(`{3,}|~{3,}).*?^\s*\1\s*$", re.MULTILINE | re.DOTALL)
_CODE_SPAN = re.compile(r"(`+)(?!`).*?(?<!`)\1(?!`)", re.DOTALL)
_INLINE_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_DEFINITION = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+.*)?$", re.MULTILINE)
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def markdown_files() -> list[Path]:
    """Markdown files git tracks or would track (ignored trees such as .venv are left out)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z", "--", "*.md"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return sorted({ROOT / name for name in listed.split("\0") if name and (ROOT / name).is_file()})


def links_in(text: str) -> list[str]:
    """The link targets of a Markdown text; links inside code (fenced or inline) are not links.

    Link text may itself be code (``[`docs/x.md`](docs/x.md)``), so a link is dropped only when
    it starts inside a code span, not when it contains one.
    """
    prose = _FENCED.sub("", text)
    spans = [match.span() for match in _CODE_SPAN.finditer(prose)]

    def in_code(position: int) -> bool:
        return any(start <= position < end for start, end in spans)

    inline = [m for m in _INLINE_LINK.finditer(prose) if not in_code(m.start())]
    defined = [m for m in _DEFINITION.finditer(prose) if not in_code(m.start(1))]
    return [m.group(1) for m in sorted(inline + defined, key=lambda m: m.start())]


def anchors(path: Path) -> set[str]:
    """GitHub's anchors for the headings of a Markdown file."""
    found: set[str] = set()
    for line in _FENCED.sub("", path.read_text(encoding="utf-8")).splitlines():
        heading = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if heading:
            slug = re.sub(r"[^\w\- ]", "", heading.group(1).lower()).replace(" ", "-")
            found.add(slug)
    return found


def broken_links(path: Path, text: str | None = None) -> list[str]:
    """Why each relative link of ``path`` (or of ``text`` as if it were there) is broken."""
    problems: list[str] = []
    for target in links_in(path.read_text(encoding="utf-8") if text is None else text):
        if _SCHEME.match(target):
            continue
        file_part, _, fragment = target.partition("#")
        file_part = file_part.split("?", 1)[0]
        resolved = (ROOT / file_part.lstrip("/")) if file_part.startswith("/") else (path.parent / file_part)
        resolved = resolved.resolve() if file_part else path
        if not resolved.is_relative_to(ROOT):
            problems.append(f"{target}: outside the repository")
        elif not resolved.exists():
            problems.append(f"{target}: no such file")
        elif fragment and resolved.suffix == ".md" and fragment.lower() not in anchors(resolved):
            problems.append(f"{target}: no heading #{fragment} in {resolved.relative_to(ROOT)}")
    return problems


def test_linkChecker_catchesOutsideMissingAndBadAnchors() -> None:
    """The checker itself: outside, missing and bad anchors are caught; code and URLs are not links."""
    doc = ROOT / "docs" / "architecture.md"
    assert "dependencies-point-one-way" in anchors(doc)
    text = (
        "[a](../shared/ARCHITECTURE.md) [b](docs/nope.md) [c](docs/architecture.md#nope) "
        "[ok](docs/architecture.md#components) [web](https://example.org) `[code](../x.md)`\n"
        "```\n[fenced](../y.md)\n```\n[def]: ../z.md\n"
    )
    assert links_in(text) == [
        "../shared/ARCHITECTURE.md",
        "docs/nope.md",
        "docs/architecture.md#nope",
        "docs/architecture.md#components",
        "https://example.org",
        "../z.md",
    ]
    assert broken_links(ROOT / "README.md", text) == [
        "../shared/ARCHITECTURE.md: outside the repository",
        "docs/nope.md: no such file",
        "docs/architecture.md#nope: no heading #nope in docs/architecture.md",
        "../z.md: outside the repository",
    ]


@pytest.mark.parametrize("path", markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_markdownLinks_resolveInsideTheRepository(path: Path) -> None:
    """No link points outside the clone (no ``../shared``) and every relative target exists."""
    assert broken_links(path) == []


#: Paths the documents name that a clone does not have until something creates them.
CREATED_LATER = frozenset({"var/msc.sqlite3", "deployments/msc-live.json", "build/", "interfaces/"})
_CODE_PATH = re.compile(r"`([A-Za-z_.][\w.\-]*/[^`\s]*)`")


def named_paths_missing(path: Path, present: set[str]) -> list[str]:
    """Repository paths a document names in code (``tests/api/test_x.py``, globs too) that are not
    in the repository; placeholders (``<area>``, ``Thing``, ``...``) and :data:`CREATED_LATER`
    are left out."""
    top = {name.split("/", 1)[0] for name in present}
    missing: list[str] = []
    for token in _CODE_PATH.findall(path.read_text(encoding="utf-8")):
        if token.split("/", 1)[0] not in top or token in CREATED_LATER:
            continue
        if "<" in token or "thing" in token.lower() or "..." in token:
            continue
        wanted = token.split("::", 1)[0].split("#", 1)[0].rstrip("/")
        if not any(fnmatch.fnmatchcase(name, wanted) or name.startswith(wanted + "/") for name in present):
            missing.append(token)
    return missing


@pytest.mark.parametrize(
    "path",
    [ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_docs_nameOnlyPathsThatExist(path: Path) -> None:
    """Every file the docs name (where an invariant is enforced, which test checks it) is there."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    present = {name for name in listed.split("\0") if name}
    assert named_paths_missing(path, present) == []


def test_pathChecker_catchesAMissingFile(tmp_path: Path) -> None:
    """The checker itself: a named file that is not there is caught; globs and placeholders pass."""
    doc = tmp_path / "doc.md"
    doc.write_text(
        "`tests/api/test_gone.py` `tests/contracts/test_*_properties.py` `api/<area>/schemas.py` "
        "`contracts/interfaces/IThing.sol` `settlement/...` `var/msc.sqlite3` `README.md`",
        encoding="utf-8",
    )
    present = {"tests/contracts/test_msc_properties.py", "api/app.py", "settlement/x.py", "README.md"}
    assert named_paths_missing(doc, present) == ["tests/api/test_gone.py"]


def test_readme_linksTheDocs_andNothingOutside() -> None:
    """The README sends readers to docs/ and CONTRIBUTING.md, never to ``../shared``."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "../shared" not in readme
    targets = links_in(readme)
    for wanted in ("docs/architecture.md", "docs/operations.md", "CONTRIBUTING.md"):
        assert wanted in targets
