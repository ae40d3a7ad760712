"""Child processes of a benchmark, with what they cost: CPU seconds and peak memory read from ``/proc``.

A benchmark that runs the platform in its production layout (API processes, Celery workers, the
Pi peer, the chain, PostgreSQL) must say where the machine's CPU went, not only how fast the
whole was: each part's CPU is read from ``/proc/<pid>/stat`` for the process and every descendant
(uvicorn's and Celery's worker processes), and its memory is the sum of their ``VmHWM`` (peak
resident set). Linux only, like the machines this runs on.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

_TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name (None: the process is gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one live process (0 when it is gone)."""
    fields = _stat(pid)
    return 0.0 if fields is None else (int(fields[11]) + int(fields[12])) / _TICKS


def descendants(root: int) -> list[int]:
    """``root`` and every live process below it."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields is not None:
                children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, ()))
    return found


def peak_rss_mib(pids: Iterable[int]) -> float:
    """Sum of the peak resident sets (``VmHWM``) of ``pids``, in MiB."""
    total_kib = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total_kib += int(line.split()[1])
        except OSError:
            continue
    return total_kib / 1024


def processes_named(name: str) -> list[int]:
    """Live processes whose command name is ``name`` (e.g. every PostgreSQL backend)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if Path(f"/proc/{entry.name}/comm").read_text().strip() == name:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@dataclass
class CpuLedger:
    """CPU seconds of a set of processes between :meth:`start` and :meth:`stop`.

    A process that appears in between counts from zero; one that exits in between loses what it
    spent after :meth:`start` (the benchmark's parts live through the whole run).
    """

    pids: Callable[[], list[int]]
    _before: dict[int, float] = field(default_factory=dict)

    def start(self) -> None:
        self._before = {pid: cpu_seconds(pid) for pid in self.pids()}

    def stop(self) -> float:
        return sum(max(cpu_seconds(pid) - self._before.get(pid, 0.0), 0.0) for pid in self.pids())


@dataclass
class Child:
    """One part of the platform in its own process group, logging to a file."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path

    @classmethod
    def start(cls, name: str, argv: list[str], env: dict[str, str], folder: Path, cwd: Path) -> Child:
        folder.mkdir(parents=True, exist_ok=True)
        log = folder / f"{name}.log"
        with log.open("wb") as handle:
            process = subprocess.Popen(
                argv, cwd=cwd, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
            )
        return cls(name, process, log)

    def pids(self) -> list[int]:
        return descendants(self.process.pid) if self.process.poll() is None else []

    def wait_until(self, ready: Callable[[], bool], timeout: float = 60.0) -> None:
        """Waits for ``ready()``; raises with the log's tail if the process dies or time runs out."""
        deadline = time.monotonic() + timeout
        while not ready():
            if self.process.poll() is not None or time.monotonic() > deadline:
                tail = self.log.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{self.name} did not come up:\n{tail}")
            time.sleep(0.1)

    def log_lines_containing(self, needle: str) -> int:
        return sum(needle in line for line in self.log.read_text(errors="replace").splitlines())

    def stop(self) -> None:
        """SIGTERM to the group, then SIGKILL if it lingers."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
