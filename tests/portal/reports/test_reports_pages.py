"""The reports pages: QR poster, payments export, monthly statement; who may see what."""

from __future__ import annotations

import csv
import io

from pypdf import PdfReader

from merchant_reports import statement
from merchant_reports.periods import Month
from tests.merchant_reports.support import Books, wib
from tests.portal.support import Portal
from tests.settlement.ledger.support import Clock
from webui.i18n import idr

POINTS_PER_MM = 72 / 25.4


def march_books(portal: Portal, merchant, monkeypatch) -> list:
    """Two March sales (one partly refunded) and a payout, posted through the ledger flows."""
    with portal.db.sessions.begin() as session:
        books = Books(session, Clock(), str(merchant), monkeypatch)
        first = books.at(wib(2026, 3, 3, 8)).sale()
        second = books.at(wib(2026, 3, 20, 21)).sale()
        books.refund(second, 700_00)
        books.release(first)
        books.payout(first.idr_amount, 1_500_00)
    return [first, second]


def test_owner_sees_the_statement_totals_and_downloads_the_same_figures(portal: Portal, monkeypatch) -> None:
    merchant = portal.add_merchant(name="Warung Bu Sri")
    sales = march_books(portal, merchant, monkeypatch)
    client = portal.owner_client(merchant)
    page = client.get(f"/portal/m/{merchant}/reports?month=2026-03")
    assert page.status_code == 200
    gross = sum(p.idr_amount for p in sales)
    assert f'id="total-gross" class="amount">{idr(gross)}<' in page.text
    assert f'id="total-net" class="amount">{idr(gross - 700_00)}<' in page.text
    with portal.db.sessions() as session:
        st = statement.build(session, merchant, Month(2026, 3), wib(2026, 4, 1))
    assert st.gross == gross and st.refunds == 700_00 and st.payouts_fee == 1_500_00

    as_csv = client.get(f"/portal/m/{merchant}/reports/statement/2026-03.csv")
    assert as_csv.status_code == 200 and as_csv.headers["content-type"].startswith("text/csv")
    assert (
        "attachment" in as_csv.headers["content-disposition"]
        and as_csv.headers["cache-control"] == "no-store"
    )
    rows = list(csv.reader(io.StringIO(as_csv.text.removeprefix("\ufeff"))))
    total = next(r for r in rows if r and r[0] == "Total" and len(r) == 12)
    assert total[1:3] == ["2", str(gross)] and total[10] == str(gross - 700_00)

    as_pdf = client.get(f"/portal/m/{merchant}/reports/statement/2026-03.pdf")
    assert as_pdf.status_code == 200 and as_pdf.headers["content-type"] == "application/pdf"
    text = PdfReader(io.BytesIO(as_pdf.content)).pages[0].extract_text()
    assert "Laporan bulanan 2026-03" in text and idr(gross) in text and idr(gross - 700_00) in text

    assert client.get(f"/portal/m/{merchant}/reports/statement/2026-13.csv").status_code == 422
    assert client.get(f"/portal/m/{merchant}/reports/statement/2026-03.xls").status_code == 404


def test_cashier_exports_sales_but_never_reaches_the_statement(portal: Portal, monkeypatch) -> None:
    merchant = portal.add_merchant()
    sales = march_books(portal, merchant, monkeypatch)
    cashier = portal.cashier_client(merchant)
    page = cashier.get(f"/portal/m/{merchant}/reports?month=2026-03")
    assert page.status_code == 200
    assert 'id="statement-totals"' not in page.text and "statement/" not in page.text
    for fmt in ("csv", "pdf"):
        refused = cashier.get(f"/portal/m/{merchant}/reports/statement/2026-03.{fmt}")
        assert refused.status_code == 403 and refused.headers["content-type"].startswith("text/html")
    export = cashier.get(
        f"/portal/m/{merchant}/reports/payments.csv", params={"from": "2026-01-01", "to": "2026-12-31"}
    )
    assert export.status_code == 200
    rows = list(csv.reader(io.StringIO(export.text.removeprefix("\ufeff"))))
    assert len(rows) == 3  # the header and the two March payments
    assert [r[1] for r in rows[1:]] == [str(p.id) for p in sales]


def test_another_shops_member_gets_not_found(portal: Portal) -> None:
    shop_a, shop_b = portal.add_merchant(), portal.add_merchant()
    owner_b = portal.owner_client(shop_b)
    for path in ("reports", "reports/statement/2026-03.csv", "qr.pdf", "settings"):
        assert owner_b.get(f"/portal/m/{shop_a}/{path}").status_code == 404


def test_qr_poster_is_a6_with_the_shops_checkout_link(portal: Portal) -> None:
    merchant = portal.add_merchant(name="Bakso Pak Kumis", kelurahan="Manguharjo")
    answer = portal.cashier_client(merchant).get(f"/portal/m/{merchant}/qr.pdf")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/pdf"
    page = PdfReader(io.BytesIO(answer.content)).pages[0]
    assert (
        round(float(page.mediabox.width) / POINTS_PER_MM),
        round(float(page.mediabox.height) / POINTS_PER_MM),
    ) == (
        105,
        148,
    )
    text = page.extract_text()
    assert "Bakso Pak Kumis" in text and "Manguharjo" in text and "Bayar dengan Pi" in text
    links = {annot.get_object()["/A"]["/URI"] for annot in page["/Annots"]}
    assert links == {f"https://testserver/pay/{merchant}"}


def test_a_payments_export_with_a_bad_range_is_refused(portal: Portal) -> None:
    merchant = portal.add_merchant()
    owner = portal.owner_client(merchant)
    path = f"/portal/m/{merchant}/reports/payments.csv"
    for first, last in (
        ("2026-03-31", "2026-03-01"),
        ("2026-3-1", "2026-03-31"),
        ("2025-01-01", "2026-12-31"),
    ):
        answer = owner.get(path, params={"from": first, "to": last})
        assert answer.status_code == 422 and answer.headers["content-type"].startswith("text/html")
    assert owner.get(path).status_code == 422
