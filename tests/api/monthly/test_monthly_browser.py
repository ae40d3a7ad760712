"""``/explorer/reports`` and a month's page in Chromium on a 360 px phone: Indonesian by default,
the last report's on-chain root on the list, every figure visible with its exact integer in
``title``, the English switch, and the CSV / JSON / PDF downloads parse and agree with the page."""

from __future__ import annotations

import csv
import io

from playwright.sync_api import Page

from city.kelurahan import KELURAHAN
from tests.api.monthly.support import ROOT, TX, sample, store
from tests.portal.support import Served, no_horizontal_scroll

MONTH = "2032-02"


def test_the_reports_on_a_phone(served: Served, phone: Page) -> None:
    report = sample(MONTH)
    digest = store(served.portal.db.sessions, report)

    phone.goto(f"{served.url}/explorer/reports")
    assert phone.locator("html").get_attribute("lang") == "id"
    assert phone.locator("h1").inner_text() == "Laporan publik bulanan"
    assert phone.locator("#last-root").inner_text() == ROOT
    assert phone.locator(f"#reports tr[data-month='{MONTH}']").count() == 1
    no_horizontal_scroll(phone)

    phone.click("#last-link")
    assert phone.url.endswith(f"/explorer/reports/{MONTH}")
    assert phone.locator("#simulated").inner_text() == "[SIMULASI]"
    assert phone.locator("#liabilities-root").inner_text() == ROOT
    assert phone.locator("#liabilities-tx").inner_text() == TX
    assert phone.locator("#report-sha256").inner_text() == digest
    supply = phone.locator("tr[data-figure='msc_supply'] .amt")
    assert supply.is_visible() and supply.get_attribute("title") == f"msc_supply={report.msc_supply}"
    assert phone.locator("tr[data-figure='settled_pi'] .amt").inner_text() == "14,9495358 Pi"
    assert phone.locator("#kelurahan tbody tr").count() == 28
    first = phone.locator(f"#kelurahan tr[data-code='{KELURAHAN[0].code}'] td").nth(3).locator(".amt")
    assert first.get_attribute("title") == "idr_sen=17500000" and first.inner_text() == "Rp 175.000"
    no_horizontal_scroll(phone)

    phone.click("#lang-en")
    assert phone.locator("html").get_attribute("lang") == "en"
    assert phone.locator("tr[data-figure='msc_supply'] th").inner_text() == "MSC supply"

    links = {
        kind: phone.locator(f"#download-{kind}").get_attribute("href") for kind in ("csv", "json", "pdf")
    }
    as_json = phone.request.get(f"{served.url}{links['json']}").json()
    assert as_json["sha256"] == digest and as_json["figures"]["msc_supply"] == str(report.msc_supply)
    rows = list(csv.DictReader(io.StringIO(phone.request.get(f"{served.url}{links['csv']}").text())))
    values = {r["figure"]: r["value"] for r in rows}
    assert values["msc_supply"] == as_json["figures"]["msc_supply"]
    assert values["liabilities.total"] == as_json["figures"]["liabilities"]["total"]
    assert values["fact.sha256"] == digest
    pdf = phone.request.get(f"{served.url}{links['pdf']}")
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf" and pdf.body().startswith(b"%PDF")
