"""Every shell command in the documentation is run, checked, or listed as needing a live network.

Why: a newcomer and an operator follow README.md, CONTRIBUTING.md and docs/*.md from a clone and
nothing else, so a command there that no longer works is a bug. The rule:

* **Where.** Fenced blocks whose info string is ``sh`` (or starts with ``sh``) in README.md,
  CONTRIBUTING.md and docs/*.md. A command is one line of such a block (backslash continuations
  joined), without a trailing ``# comment``; blank lines and comment lines are not commands.
  Blocks in other languages (``python``, the plain output blocks) are not commands.
* **Live network: listed, then skipped, never silently.** A command in a block tagged
  ``sh live``, or ending in ``# live network``, needs a live chain, a production database or real
  keys. Each one must be listed in :data:`LIVE_COMMANDS` below, and each is reported as its own
  skipped test with its text. A marked command that is not listed fails, and so does a listed one
  the documents no longer contain.
* **Long-running: checked.** ``make <target>`` installs and runs for minutes (``make run``,
  ``make test``, ``make bench``, ``make lint``), so it is checked with ``make -n <target>``: the
  target exists and its prerequisites resolve.
* **pytest: collected.** A ``pytest`` command runs with ``--collect-only -q`` appended: its paths,
  options (Brownie's ``--network``) and imports are proved; its tests run in ``make test``.
* **Everything else: run as written**, under bash after ``source tools/env.sh``, from the
  repository root, with every ``MSC_*`` variable removed and ``MSC_DATABASE_URL`` pointing at a
  fresh temporary SQLite file (so ``alembic upgrade head`` builds a scratch database, never a real
  one); it must exit 0 within :data:`TIMEOUT_S`. Such commands must be fast and leave the working
  tree alone (``--help``, ``alembic heads``, ``ruff check``, ``brownie networks list``).

The whole module runs in well under a minute (the pytest collection, about 15 s, is the longest).
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 60

LIVE_COMMANDS: frozenset[str] = frozenset(
    {
        # docs/operations.md: deploying to a live network and rotating roles
        "brownie networks add Live msc-live host='$MSC_RPC_URL' chainid=137",
        "MSC_DEPLOYER_KEY=0x... MSC_ROLE_OWNER=0x... MSC_ROLE_MASTER_MINTER=0x... "
        "brownie run scripts/deploy.py --network msc-live",
        "brownie console --network msc-live",
        # docs/operations.md: the production database
        "MSC_DATABASE_URL=postgresql+psycopg://msc@db/msc python -m api keys issue --role operator",
        'pg_dump --format=custom --file=msc-$(date +%F).dump "$MSC_DATABASE_URL"',
        'pg_restore --clean --if-exists --dbname="$RESTORE_DATABASE_URL" msc-2026-01-31.dump',
        "python -m audit reconcile",
        "python -m api keys revoke 3f0c2a6e-0000-4000-8000-000000000000",
    }
)
"""Commands that need a live chain, a production database or real keys: skipped, by name."""

LIVE_MARK = "# live network"
_FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([^`\s]*)\s*(.*)$")
_TRAILING_COMMENT = re.compile(r"\s+#(?:\s.*)?$")


@dataclass(frozen=True)
class Command:
    """One documented shell command and where it was found."""

    text: str
    source: str
    """``path:line`` of the command's first line."""
    live: bool


def documents() -> list[Path]:
    """The documents whose commands a reader runs: README.md, CONTRIBUTING.md, docs/*.md."""
    found = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]
    return [path for path in found if path.is_file()]


def commands_in(path: Path) -> list[Command]:
    """The commands of the ``sh`` blocks of ``path`` (see the module docstring for the rule)."""
    found: list[Command] = []
    fence: str | None = None
    language, tags = "", ""
    pending, pending_line = "", 0
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        match = _FENCE.match(raw)
        if fence is None:
            if match:
                fence, language, tags = match.group(2), match.group(3).lower(), match.group(4).lower()
            continue
        if match and match.group(2).startswith(fence) and not match.group(3):
            fence = None
            continue
        if language != "sh":
            continue
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if not pending:
            pending_line = number
        if line.endswith("\\"):
            pending += line[:-1].rstrip() + " "
            continue
        whole = pending + line
        pending = ""
        live = "live" in tags.split() or whole.rstrip().endswith(LIVE_MARK)
        text = _TRAILING_COMMENT.sub("", whole).strip()
        found.append(Command(text, f"{path.relative_to(ROOT)}:{pending_line}", live))
    return found


def _once(commands: list[Command]) -> list[Command]:
    """One test per distinct command text (``make test`` appears in README and CONTRIBUTING)."""
    first: dict[str, Command] = {}
    for command in commands:
        if command.text in first:
            kept = first[command.text]
            first[command.text] = Command(kept.text, f"{kept.source}, {command.source}", kept.live)
        else:
            first[command.text] = command
    return list(first.values())


ALL = [command for path in documents() for command in commands_in(path)]
RUNNABLE = _once([c for c in ALL if not c.live])
LIVE = _once([c for c in ALL if c.live])


def _id(command: Command) -> str:
    return f"{command.source} {command.text}"


def test_docs_haveCommands_andEveryLiveOneIsListed() -> None:
    """The documents have commands; the live ones are exactly :data:`LIVE_COMMANDS`."""
    assert len(RUNNABLE) >= 10, [c.text for c in ALL]
    sources = " ".join(c.source for c in ALL)
    for document in ("README.md", "CONTRIBUTING.md", "docs/operations.md"):
        assert document in sources
    marked = {c.text for c in LIVE}
    assert marked - LIVE_COMMANDS == set(), "marked live in the docs but not listed in LIVE_COMMANDS"
    assert LIVE_COMMANDS - marked == set(), "listed in LIVE_COMMANDS but no longer in the docs"
    unmarked = {c.text for c in RUNNABLE} & LIVE_COMMANDS
    assert unmarked == set(), f"listed as live but not marked live where they appear: {unmarked}"


@pytest.mark.parametrize("command", LIVE, ids=_id)
def test_liveCommand_isSkippedByName(command: Command) -> None:
    """A live command is reported, not run: it needs a live chain, database or keys."""
    assert command.text in LIVE_COMMANDS
    pytest.skip(f"needs a live network: {command.text} ({command.source})")


def _environment(tmp_path: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("MSC_")}
    env["MSC_DATABASE_URL"] = f"sqlite:///{tmp_path / 'docs.sqlite3'}"
    return env


def shell_for(command: str) -> str:
    """What the test runs for a documented command (the rule in the module docstring)."""
    make = re.fullmatch(r"make\s+([A-Za-z0-9_.-]+)", command)
    if make:
        return f"make -n {make.group(1)}"
    last = command.split("&&")[-1].strip()
    if re.match(r"(\S+=\S*\s+)*pytest(\s|$)", last):
        return f"source tools/env.sh && {command} --collect-only -q"
    return f"source tools/env.sh && {command}"


def test_shellFor_followsTheRule() -> None:
    """make is dry-run, pytest only collects, the rest runs as written after env.sh."""
    assert shell_for("make test") == "make -n test"
    collected = shell_for("source tools/env.sh && pytest tests/x.py -q")
    assert collected.endswith("pytest tests/x.py -q --collect-only -q")
    assert shell_for("alembic heads") == "source tools/env.sh && alembic heads"


@pytest.mark.parametrize("command", RUNNABLE, ids=_id)
def test_documentedCommand_works(command: Command, tmp_path: Path) -> None:
    """Runs (or, for make and pytest, checks) one documented command; it must exit 0."""
    shell = shell_for(command.text)
    done = subprocess.run(
        ["bash", "-c", shell],
        cwd=ROOT,
        env=_environment(tmp_path),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, (
        f"{command.source}: `{command.text}` (ran `{shell}`) exited {done.returncode}\n"
        f"stdout:\n{done.stdout[-3000:]}\nstderr:\n{done.stderr[-3000:]}"
    )
    if shell.startswith("make -n"):
        assert done.stdout.strip(), f"make -n printed no recipe for `{command.text}`"
