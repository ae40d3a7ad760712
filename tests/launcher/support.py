"""Running ``msc up`` as a newcomer does, serving, for the launcher tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from chain.settings import PROJECT_ROOT

MSC = str(Path(sys.executable).with_name("msc"))
SERVING = "press Ctrl-C"
"""The line ``msc up`` prints once everything is up and the demo has run."""


@contextmanager
def msc_up(*args: str) -> Iterator[str]:
    """``msc up *args`` serving on the embedded defaults; yields what it printed until then, and
    stops it (SIGTERM, then kill) at the end."""
    proc = subprocess.Popen(
        [MSC, "up", *args], cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env=dict(os.environ),
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if SERVING in line:
                break
        output = "".join(lines)
        assert SERVING in output, output[-5000:]
        yield output
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
