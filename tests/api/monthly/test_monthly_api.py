"""``/v1/reports/monthly`` and the explorer's downloads show exactly the stored report, with exact
integers, on SQLite and PostgreSQL; a bad or unknown month is a 4xx and nothing is written."""

from __future__ import annotations

import csv
import io
import json

from pypdf import PdfReader
from sqlalchemy import func, select

from api.monthly.view import SECTIONS
from audit.monthly.figures import canonical_json, sha256_of
from audit.monthly.models import MonthlyReportRow
from city.kelurahan import KELURAHAN
from tests.api.monthly.support import ROOT, TX, sample, store
from tests.api.support import Db, Harness
from webui.i18n import gettext


def _count(db: Db) -> int:
    with db.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(MonthlyReportRow)) or 0)


def test_the_json_api_serves_the_stored_report_and_refuses_bad_months(db: Db, api: Harness) -> None:
    report = sample("2031-05")
    digest = store(db.sessions, report)
    store(db.sessions, sample("2031-04", published=False, supply=5))

    listing = api.client.get("/v1/reports/monthly").json()["reports"]
    assert [r["month"] for r in listing] == ["2031-05", "2031-04"]
    assert listing[0]["liabilities_root"] == ROOT and listing[0]["sha256"] == digest

    body = api.client.get("/v1/reports/monthly/2031-05").json()
    assert body["sha256"] == digest == sha256_of(canonical_json(body["figures"]))
    assert body["figures"] == report.to_json()
    assert body["figures"]["msc_supply"] == "123456789012345678901"  # exact, as text
    assert body["end_block"]["number"] == "4242"
    assert body["kelurahan_names"][KELURAHAN[0].code] == KELURAHAN[0].name
    assert api.client.get("/explorer/reports/2031-05.json").json() == body

    before = _count(db)
    for path, status in (
        ("/v1/reports/monthly/2031-13", 422),
        ("/v1/reports/monthly/31-05", 422),
        ("/v1/reports/monthly/2031-06", 404),
        ("/explorer/reports/2031-06.csv", 404),
        ("/explorer/reports/2031-06.pdf", 404),
    ):
        answer = api.client.get(path)
        assert answer.status_code == status, path
    unpublished = api.client.get("/explorer/reports/2031-04?lang=en")
    assert unpublished.status_code == 200 and 'id="liabilities-root">not published<' in unpublished.text
    published = api.client.get("/explorer/reports/2031-05")
    assert f'id="liabilities-root">{ROOT}<' in published.text and "belum diterbitkan" not in published.text
    page = api.client.get("/explorer/reports/2030-13")
    assert page.status_code == 422 and "report-error" in page.text
    assert _count(db) == before


def test_csv_and_pdf_agree_with_the_json(db: Db, api: Harness) -> None:
    report = sample("2031-07")
    store(db.sessions, report)
    figures = api.client.get("/v1/reports/monthly/2031-07").json()["figures"]

    answer = api.client.get("/explorer/reports/2031-07.csv")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    values = {r["figure"]: r["value"] for r in rows if not r["figure"].startswith(("kelurahan.", "fact."))}
    assert values["msc_supply"] == figures["msc_supply"] == str(report.msc_supply)
    assert values["reserves.reserves"] == str(report.reserves.reserves if report.reserves else "")
    assert values["liabilities.total"] == str(report.liabilities.total) == figures["liabilities"]["total"]
    assert values["settled_pi"] == figures["settled_pi"]
    assert values["carbon.bridged_total"] == "7"
    per = {
        (r["kelurahan_code"], r["figure"]): r["value"] for r in rows if r["figure"].startswith("kelurahan.")
    }
    assert len({code for code, _ in per}) == 28  # the 27 kelurahan and unknown
    assert per[(KELURAHAN[0].code, "kelurahan.idr")] == "17500000"
    assert per[(KELURAHAN[1].code, "kelurahan.payments")] == "0"
    assert per[("unknown", "kelurahan.pi")] == "3367106"
    fact = {r["figure"]: r["value"] for r in rows if r["figure"].startswith("fact.")}
    assert fact["fact.attestation.root"] == ROOT and fact["fact.attestation.tx_hash"] == TX
    assert fact["fact.simulated"] == "true"

    for language, heading in (("id", "Laporan publik bulanan"), ("en", "Monthly public report")):
        pdf = api.client.get(f"/explorer/reports/2031-07.pdf?lang={language}")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
        assert f"{heading} 2031-07" in text
        assert ROOT in text and "[SIMULASI]" in text
        assert KELURAHAN[0].name in text
    assert json.loads(canonical_json(figures)) == figures


def test_every_label_of_the_report_is_translated() -> None:
    """The figure labels live in Python (api/monthly/view.py, extracted by webui/babel.cfg's
    ``api/**.py``); each has an Indonesian translation."""
    labels = [title for _key, title, _rows in SECTIONS] + [
        label for *_, rows in SECTIONS for _p, label, _k in rows
    ]
    for label in labels:
        assert gettext("id", label) != label, label
