"""``/explorer/forecasts`` in Chromium on a 360 px phone: no console error, no CSP violation, the
page fits; what a person sees: the totals table with exact integers on hover, the chart, the
notice when the model does not beat the baseline, choosing another series, the English switch."""

from __future__ import annotations

from datetime import date

from playwright.sync_api import Page

from tests.api.forecast.support import TAMAN, trade_and_forecast
from tests.city.lpui.support import Books
from tests.portal.support import Served, no_horizontal_scroll

FIRST = date(2041, 7, 1)


def test_the_forecasts_page_on_a_phone(served: Served, phone: Page) -> None:
    trade_and_forecast(Books(served.portal.db), FIRST, with_klegen=False)

    phone.goto(f"{served.url}/explorer/forecasts?kelurahan={TAMAN}")
    assert phone.locator("html").get_attribute("lang") == "id"
    assert phone.locator("#fc-subject").inner_text() == "Taman"
    no_horizontal_scroll(phone)
    notice = phone.locator("#fc-notice-value")
    assert notice.is_visible()
    assert notice.inner_text() == "Prakiraan ini tidak lebih baik dari baseline musiman-naif."
    totals = phone.locator("#fc-totals-value tbody tr")
    assert totals.count() == 3
    assert [totals.nth(n).get_attribute("data-days") for n in range(3)] == ["30", "60", "90"]
    point = totals.first.locator("td span").first
    assert (point.get_attribute("title") or "").startswith("point_sen=")
    assert phone.locator("#fc-chart-value polygon.fc-band").count() == 1
    assert phone.locator("#fc-backtest-value tbody tr").count() == 2

    phone.select_option("#fc-kelurahan", "35.77.02.1005")  # Winongo: no payments
    phone.click("#fc-show")
    assert "kelurahan=35.77.02.1005" in phone.url
    assert phone.locator("#fc-skipped").inner_text().startswith("Tidak ada prakiraan")

    phone.goto(f"{served.url}/explorer/forecasts?kelurahan={TAMAN}")
    phone.click("#lang-en")
    assert phone.locator("html").get_attribute("lang") == "en"
    assert f"kelurahan={TAMAN}" in phone.url
    assert phone.locator("#fc-notice-count").inner_text() == (
        "This forecast is not better than the seasonal-naive baseline."
    )
    assert phone.locator("#fc-totals-count thead th").first.inner_text() == "Next days"
