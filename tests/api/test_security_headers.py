"""Security headers on every kind of answer, and /docs and /redoc working offline under the CSP.

The docs pages are loaded in Debian's headless Chromium (Playwright, never a downloaded browser) from
the app served by uvicorn, with every request to another host aborted (the network is "cut"): it must
list the API's routes with no Content-Security-Policy violation and no console error. /redoc's
policy is the origin's with a per-answer nonce for the <style> elements ReDoc creates.
"""

from __future__ import annotations

import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import Page, Route, sync_playwright

from api.app import create_app
from api.security_headers import SECURITY_HEADERS
from api.settings import ApiSettings
from chain.settings import ChainSettings
from tests.api.support import BUILD_DIR, Harness, MakeApi, bearer, new_merchant

# Installed by the page before its own scripts: collects CSP violations as the browser reports them.
CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', e => {
  window.__cspViolations.push(e.violatedDirective + ' ' + e.blockedURI);
});
"""


def assert_secure(response: Any) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, (response.url, name, response.headers.get(name))
    csp = response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert "frame-ancestors 'none'" in csp


def test_everyKindOfAnswer_carriesTheSecurityHeaders(make_api: MakeApi) -> None:
    api = make_api(max_body_bytes=1024)
    _, key = new_merchant(api.db)
    client = api.client
    answers = [
        client.get("/healthz"),
        client.get("/openapi.json"),
        client.get("/docs"),
        client.get("/docs/assets/swagger-ui-bundle.js"),
        client.get("/docs/assets-local/swagger-init.js"),
        client.get("/explorer"),
        client.get("/explorer/static/explorer.css"),
        client.get("/explorer/export/nothing.csv"),  # 404 of the explorer
        client.get("/v1/merchants/me"),  # 401
        client.get("/v1/merchants/me", headers=bearer(key)),  # 200 JSON
        client.post("/v1/quotes", json={"sell_amount": True}, headers=bearer(key)),  # 422
        client.post("/v1/quotes", content=b"x" * 2000, headers=bearer(key)),  # 413 from the body limit
        client.get("/nothing-here"),  # 404
    ]
    assert {a.status_code for a in answers} >= {200, 401, 404, 413, 422}
    for answer in answers:
        assert_secure(answer)


def test_docsPage_hasNoInlineScript_andNoCdn(api: Harness) -> None:
    html = api.client.get("/docs").text
    scripts = re.findall(r"<script\b[^>]*>(.*?)</script>", html, flags=re.S)
    assert scripts and all(body.strip() == "" for body in scripts)  # every script is a file
    assert re.findall(r"<script\b([^>]*)>", html) == [
        ' src="/docs/assets/swagger-ui-bundle.js"',
        ' src="/docs/assets-local/swagger-init.js"',
    ]
    assert "<style" not in html and " style=" not in html and "://" not in html


def test_redocPage_hasNoInlineScript_andNoCdn_andAFreshStyleNonce(api: Harness) -> None:
    answers = [api.client.get("/redoc") for _ in range(2)]
    nonces = []
    for answer in answers:
        assert answer.status_code == 200
        html = answer.text
        scripts = re.findall(r"<script\b[^>]*>(.*?)</script>", html, flags=re.S)
        assert scripts and all(body.strip() == "" for body in scripts)  # every script is a file
        tags = re.findall(r"<script\b([^>]*)>", html)
        init = re.fullmatch(r' src="/docs/assets-local/redoc-init.js" nonce="([A-Za-z0-9_-]{24})"', tags[0])
        assert init and tags[1:] == [' src="/docs/assets-redoc/redoc.standalone.js"']
        assert "<style" not in html and " style=" not in html and "://" not in html
        nonce = init.group(1)
        nonces.append(nonce)
        # The origin's policy with the nonce in style-src only; scripts as strict as everywhere.
        csp = answer.headers["Content-Security-Policy"]
        assert csp == SECURITY_HEADERS["Content-Security-Policy"].replace(
            "style-src 'self'", f"style-src 'self' 'nonce-{nonce}'"
        )
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp and "script-src 'self';" in csp
        for name, value in SECURITY_HEADERS.items():
            if name != "Content-Security-Policy":
                assert answer.headers[name] == value
        assert answer.headers["Cache-Control"] == "no-store"
    assert nonces[0] != nonces[1]  # one per answer
    for asset in ("/docs/assets-redoc/redoc.standalone.js", "/docs/assets-local/redoc-init.js"):
        answer = api.client.get(asset)
        assert answer.status_code == 200 and "javascript" in answer.headers["content-type"]
        assert_secure(answer)
    bundle = api.client.get("/docs/assets-redoc/redoc.standalone.js").text
    assert "Redoc" in bundle and "cdn.redoc.ly" not in bundle  # its one CDN image made an empty one


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """The app over an empty SQLite database, served by uvicorn in a thread."""
    from common.sql.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'api.sqlite3'}"
    upgrade(url)
    chain = ChainSettings.from_env(
        {}, rpc_url="http://127.0.0.1:9", build_dir=BUILD_DIR, deployments_dir=tmp_path
    )
    app = create_app(ApiSettings.from_env({}, database_url=url), chain_settings=chain)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@dataclass
class OfflinePage:
    """A Chromium page that may reach only 127.0.0.1, with what it logged and tried to reach."""

    page: Page
    errors: list[str] = field(default_factory=list)
    """Console errors and uncaught exceptions."""
    aborted: list[str] = field(default_factory=list)
    """URLs off this machine the page tried to load (each refused)."""


@contextmanager
def offline_page() -> Iterator[OfflinePage]:
    """Debian's Chromium, headless, with the network cut and CSP violations recorded in
    ``window.__cspViolations``."""
    executable = shutil.which("chromium")
    assert executable, "Debian's chromium must be installed (/usr/bin/chromium)"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, headless=True)
        try:
            offline = OfflinePage(browser.new_page())

            def cut(route: Route) -> None:
                if route.request.url.startswith("http://127.0.0.1:"):
                    route.continue_()
                else:
                    offline.aborted.append(route.request.url)
                    route.abort()

            offline.page.add_init_script(CSP_LISTENER)
            offline.page.route("**/*", cut)
            offline.page.on("console", lambda m: offline.errors.append(m.text) if m.type == "error" else None)
            offline.page.on("pageerror", lambda e: offline.errors.append(str(e)))
            yield offline
        finally:
            browser.close()


def test_docs_listsTheRoutes_offline_underTheCsp(served: str) -> None:
    with offline_page() as offline:
        page = offline.page
        page.goto(served + "/docs")
        page.wait_for_selector(".opblock-summary-path", timeout=30_000)
        paths = page.locator(".opblock-summary-path").evaluate_all(
            "els => els.map(e => e.getAttribute('data-path'))"
        )
        # Open one operation: its schema renders too (React styles through the CSSOM, not inline).
        page.locator(".opblock-summary-path[data-path='/v1/market/orders']").first.click()
        page.wait_for_selector(".opblock-body", timeout=10_000)
        violations = page.evaluate("window.__cspViolations")
    assert {"/v1/market/orders", "/v1/merchants", "/v1/carbon/retirements", "/healthz"} <= set(paths)
    assert violations == []
    assert offline.errors == []
    assert offline.aborted == []  # nothing even tried to leave the machine


def test_redoc_rendersTheOperations_offline_underTheCsp(served: str) -> None:
    with offline_page() as offline:
        page = offline.page
        page.goto(served + "/redoc")
        # ReDoc lists every operation in its side menu and renders each one's path.
        page.wait_for_selector("[role=menuitem]", timeout=30_000)
        page.get_by_text("/v1/market/orders", exact=False).first.wait_for(timeout=10_000)
        text = page.inner_text("#redoc")
        # Its styles applied (styled-components' <style> elements carry the nonce): the menu is
        # laid out beside the content, not stacked above it as unstyled markup would be.
        styles = page.evaluate(
            "() => [...document.querySelectorAll('style')].map(s => s.nonce !== '' && s.sheet !== null)"
        )
        menu_position = page.locator(".menu-content").first.evaluate("e => getComputedStyle(e).position")
        violations = page.evaluate("window.__cspViolations")
    assert "/v1/market/orders" in text and "/v1/merchants" in text and "/healthz" in text
    assert styles and all(styles)
    assert menu_position == "sticky"
    assert violations == []  # no refused script, style, worker, image or fetch
    assert offline.errors == []
    assert offline.aborted == []  # nothing even tried to leave the machine
