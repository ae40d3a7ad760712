"""Debian's Chromium for the browser tests, through Playwright, never a downloaded browser."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager

from playwright.sync_api import Browser, sync_playwright


@contextmanager
def debian_chromium() -> Iterator[Browser]:
    """Headless ``/usr/bin/chromium`` (``tools/services.sh`` installs it), closed at the end."""
    executable = shutil.which("chromium")
    assert executable, "Debian's chromium must be installed (/usr/bin/chromium)"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, headless=True)
        try:
            yield browser
        finally:
            browser.close()
