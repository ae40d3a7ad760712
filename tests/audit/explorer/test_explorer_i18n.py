"""The explorer's languages without a chain or a browser: Bahasa Indonesia by default, English on
request (remembered in a cookie), figures formatted in the language with their exact integers
beside them, every message translated, and exports that do not change with the language.

The pages with real data, in Chromium, are in ``test_explorer_browser.py``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import ApiSettings
from audit.explorer.endpoints import PACKAGE
from audit.explorer.formatting import STATUS_WORDS, cell, status, timestamp, tonnes
from audit.explorer.tables import Kind
from chain.settings import PROJECT_ROOT, ChainSettings
from common.sql.migrate import upgrade
from webui.i18n import LOCALE_DIR, PageTemplates

MOMENT = 1_763_818_615  # 2025-11-22 13:36:55 UTC
OTHER_PAGES = {"lpui.html"}
"""Templates in the explorer's folder rendered by other packages (their own tests cover them);
forecast.html and monthly*.html are matched by name below."""


class _NoTasks:
    """The app's task queue: the explorer enqueues nothing."""

    def enqueue(self, name: str, *args: str) -> bool:
        return False


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """The API app over an empty, migrated SQLite mirror (no confirmed block yet)."""
    folder = tmp_path_factory.mktemp("explorer-i18n")
    url = f"sqlite:///{folder / 'mirror.sqlite3'}"
    upgrade(url)
    chain = ChainSettings.from_env(
        {}, rpc_url="http://127.0.0.1:9", build_dir=PROJECT_ROOT / "build", deployments_dir=folder
    )
    app = create_app(ApiSettings.from_env({}, database_url=url), chain_settings=chain, task_queue=_NoTasks())
    with TestClient(app, base_url="https://testserver") as test_client:
        yield test_client


def html_lang(body: str) -> str:
    """The ``lang`` of the page's ``<html>`` element."""
    match = re.search(r'<html lang="([a-z]+)">', body)
    assert match is not None, body[:200]
    return match.group(1)


# ---------------------------------------------------------------------- formatting


def test_tonnes_and_times_are_written_in_the_language_with_the_exact_integer_on_hover() -> None:
    assert str(tonnes(1_200_000, "en")) == (
        '<span class="amt" data-exact="1200000" title="1200000 t CO2e">1,200,000 t</span>'
    )
    assert ">1.200.000 t<" in str(tonnes(1_200_000, "id"))
    indonesian, english = str(timestamp(MOMENT, "id")), str(timestamp(MOMENT, "en"))
    assert indonesian == (
        f'<time datetime="2025-11-22T13:36:55Z" title="{MOMENT}">22 Nov 2025 13.36.55 UTC</time>'
    )
    assert english == (
        f'<time datetime="2025-11-22T13:36:55Z" title="{MOMENT}">22 Nov 2025, 13:36:55 UTC</time>'
    )
    assert str(cell(0.91, Kind.SCORE, "id")) == '<span class="num" title="0.91">0,910</span>'
    assert str(cell(0.91, Kind.SCORE, "en")) == '<span class="num" title="0.91">0.910</span>'
    assert ">GAGAL<" in str(cell(False, Kind.CHECK, "id")) and ">FAIL<" in str(cell(False, Kind.CHECK, "en"))
    # Rupiah are written the Indonesian way in both languages (as on every page people use).
    assert ">Rp 15.000,50<" in str(cell(1_500_050, Kind.IDR, "en"))


def test_statuses_are_translated_and_keep_the_stored_value() -> None:
    assert str(status("released", "id")) == '<span class="status" data-status="released">dilepas</span>'
    assert str(status("released", "en")) == '<span class="status" data-status="released">released</span>'
    assert str(status("<b>new</b>", "id")) == (
        '<span class="status" data-status="&lt;b&gt;new&lt;/b&gt;">&lt;b&gt;new&lt;/b&gt;</span>'
    )
    # Every stored status has its own Indonesian word (none is shown raw).
    assert [value for value in STATUS_WORDS if f">{value}<" in str(status(value, "id"))] == []


def _explorer_messages() -> set[str]:
    """Every msgid of the explorer's own templates and Python modules, extracted as tools/i18n.sh does."""
    keywords = {"_": None, "N_": None, "gettext": (2,)}
    found: list[object] = []
    for path in sorted(PACKAGE.glob("*.py")):
        found += [m[1] for m in extract_from_file("python", str(path), keywords=keywords)]
    for path in sorted((PACKAGE / "templates").glob("*.html")):
        if path.name in OTHER_PAGES or path.name.startswith(("forecast", "monthly")):
            continue
        options = {"extensions": "jinja2.ext.i18n"}
        found += [m[1] for m in extract_from_file("jinja2", str(path), keywords=keywords, options=options)]
    return {m for m in found if isinstance(m, str)}  # (singular, plural) tuples: the explorer has none


def test_every_message_of_the_explorer_has_its_indonesian() -> None:
    messages = _explorer_messages()
    assert {"Overview", "Escrow payment", "Share of supply (bps)", "released", "FAIL"} <= messages
    with (LOCALE_DIR / "id" / "LC_MESSAGES" / "messages.po").open("rb") as f:
        indonesian = {m.id: m.string for m in read_po(f, locale="id") if isinstance(m.id, str) and m.id}
    assert sorted(m for m in messages if not indonesian.get(m)) == []
    # Placeholders survive translation.
    placeholders = re.compile(r"%\(\w+\)s")
    for message in messages:
        assert sorted(placeholders.findall(message)) == sorted(placeholders.findall(str(indonesian[message])))


# ---------------------------------------------------------------------- pages


def test_pages_are_indonesian_unless_english_is_chosen_and_remembered(client: TestClient) -> None:
    client.cookies.clear()
    page = client.get("/explorer")
    assert page.status_code == 200 and html_lang(page.text) == "id"
    assert page.headers["content-language"] == "id"
    assert "Ringkasan" in page.text and "Cermin buku besar belum memiliki blok terkonfirmasi." in page.text
    assert 'id="lang-en" href="/explorer?lang=en"' in page.text and "set-cookie" not in page.headers

    english = client.get("/explorer", params={"lang": "en"})
    assert html_lang(english.text) == "en" and "The ledger mirror has no confirmed block yet." in english.text
    assert "msc_lang=en" in english.headers["set-cookie"] and "HttpOnly" in english.headers["set-cookie"]
    assert client.cookies.get("msc_lang") == "en"
    remembered = client.get("/explorer/carbon")  # no ?lang: the cookie
    assert html_lang(remembered.text) == "en" and "<h1>Carbon credits</h1>" in remembered.text
    back = client.get("/explorer/carbon", params={"lang": "id"})
    assert html_lang(back.text) == "id" and "<h1>Kredit karbon</h1>" in back.text
    assert html_lang(client.get("/explorer/carbon").text) == "id"
    client.cookies.clear()


def test_the_browsers_language_counts_and_an_unknown_choice_is_ignored(client: TestClient) -> None:
    client.cookies.clear()
    preferred = client.get("/explorer/token", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert html_lang(preferred.text) == "en" and "set-cookie" not in preferred.headers
    unknown = client.get("/explorer/token", params={"lang": "xx"})
    assert html_lang(unknown.text) == "id" and "set-cookie" not in unknown.headers


def test_the_language_switch_keeps_the_page_and_its_query(client: TestClient) -> None:
    client.cookies.clear()
    page = client.get("/explorer/anomalies", params={"status": "open", "lang": "id"})
    assert 'id="lang-en" href="/explorer/anomalies?status=open&amp;lang=en"' in page.text
    assert '<strong lang="id" id="lang-current">Bahasa Indonesia</strong>' in page.text
    client.cookies.clear()


def test_errors_are_in_the_language_and_keep_their_status(client: TestClient) -> None:
    client.cookies.clear()
    missing = client.get(f"/explorer/tx/0x{'ab' * 32}")
    assert missing.status_code == 404 and "<h1>Tidak ditemukan</h1>" in missing.text
    assert f"transaksi 0x{'ab' * 32} tidak ada di buku besar" in missing.text
    english = client.get(f"/explorer/tx/0x{'ab' * 32}", params={"lang": "en"})
    assert english.status_code == 404 and f"transaction 0x{'ab' * 32} is not in the ledger" in english.text
    client.cookies.clear()
    # The empty mirror has no block: said so, not "as of block None".
    no_block = client.get("/explorer/block/3")
    assert no_block.status_code == 404
    assert "blok 3 tidak ada di buku besar: cermin belum memiliki blok terkonfirmasi" in no_block.text
    # A refusal's reason is the platform's English message, marked as English, after an Indonesian lead.
    refused = client.get("/explorer/address/0x1234")
    assert refused.status_code == 422 and "Permintaan ditolak" in refused.text
    reason = r'<p class="error" id="error-message" lang="en">not an address: [^<]*0x1234'
    assert re.search(reason, refused.text)
    nothing = client.get("/explorer/search", params={"q": "nothing-matches"})
    assert nothing.status_code == 404 and "Tidak ada yang cocok per blok" in nothing.text


def test_exports_and_the_read_api_do_not_change_with_the_language(client: TestClient) -> None:
    client.cookies.clear()
    for path in ("/explorer/export/blocks.json", "/explorer/export/holders.csv", "/explorer/api/overview"):
        indonesian = client.get(path, params={"lang": "id"})
        english = client.get(path, params={"lang": "en"}, headers={"Accept-Language": "en"})
        assert indonesian.status_code == english.status_code == 200, path
        assert indonesian.content == english.content, path
    columns = client.get("/explorer/export/blocks.json").json()["columns"]
    assert [c["title"] for c in columns] == ["Block", "Hash", "Time", "Events"]  # the API's words
    client.cookies.clear()


def test_a_page_extending_base_without_the_explorers_variables_still_renders() -> None:
    templates = PageTemplates([PACKAGE / "templates"])
    body = templates.render("base.html", "en", static="/explorer/static")
    assert html_lang(body) == "en" and 'id="as-of"' not in body
    assert 'id="lang-id" href="?lang=id"' in body
    lpui_style = templates.render("base.html", "id", static="/s", here="/explorer/x?first=1&")
    assert 'href="/explorer/x?first=1&amp;lang=en"' in lpui_style
