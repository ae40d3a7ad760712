"""``/explorer/lpui`` in Chromium on a 360 px phone: no console error, no CSP violation, the
heat-map scrolls inside its box (the page itself does not), exact integers on hover, the English
switch and the CSV link work."""

from __future__ import annotations

from datetime import date, timedelta

from playwright.sync_api import Page

from city.lpui.compute import compute_range
from city.lpui.settings import LpuiSettings
from tests.city.lpui.support import Books, jakarta
from tests.portal.support import Served, no_horizontal_scroll

DAY = date(2038, 4, 21)


def test_the_page_on_a_phone(served: Served, phone: Page) -> None:
    books = Books(served.portal.db)
    taman, klegen = books.merchant("Taman"), books.merchant("Klegen")
    books.pay(taman, 10_000, jakarta(DAY, 9))
    books.pay(taman, 20_000, jakarta(DAY, 10))
    books.pay(klegen, 60_000, jakarta(DAY - timedelta(days=1), 10))
    with books.db.sessions.begin() as session:
        compute_range(session, DAY - timedelta(days=13), DAY, LpuiSettings.from_env({}, window_days=3))

    phone.goto(f"{served.url}/explorer/lpui?last={DAY.isoformat()}")
    assert phone.locator("html").get_attribute("lang") == "id"
    assert phone.locator("h2").nth(1).inner_text().startswith("Peringkat")
    no_horizontal_scroll(phone)
    heat = phone.locator("#lpui-heat")
    assert heat.locator("tbody tr").count() == 27
    box_width = phone.evaluate("document.querySelector('#lpui-heat').parentElement.clientWidth")
    table_width = phone.evaluate("document.querySelector('#lpui-heat').scrollWidth")
    assert box_width <= 360 < table_width  # 14 days do not fit: the table scrolls in its box
    cell = heat.locator("tr[data-code='35.77.03.1009'] td").last
    assert cell.inner_text() == "8000" and "lpui-b4" in (cell.get_attribute("class") or "")
    assert "avg_value_sen=10000" in (cell.get_attribute("title") or "")
    assert phone.locator("#lpui-ranking tbody tr").first.get_attribute("data-code") == "35.77.03.1009"
    assert phone.locator("#lpui-trend tbody tr").count() == 14

    phone.click("#lang-en")  # keeps the days shown
    assert phone.locator("html").get_attribute("lang") == "en"
    assert phone.locator("h2").nth(1).inner_text() == f"Ranking on {DAY.isoformat()}"
    assert f"last={DAY.isoformat()}" in phone.url
    csv_href = phone.locator("#lpui-csv").get_attribute("href")
    assert csv_href is not None
    answer = phone.request.get(f"{served.url}{csv_href}")
    assert answer.ok and answer.text().count("\n") == 1 + 14 * 27
