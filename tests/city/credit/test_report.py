"""The "Laporan Kesehatan UMKM" (city/credit/report.py, report_pdf.py) of a seeded pilot merchant
(SQLite and PostgreSQL): exact figures in JSON, the stored score when there is one, no report
without consent or history, and the PDF read back in Indonesian and English."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import partial

import pytest
from pypdf import PdfReader

from city.credit.inputs import read_inputs
from city.credit.ldci import score
from city.credit.ldci_models import store_day, stored_row
from city.credit.report import HealthReportUnavailableError, build_health_report
from city.credit.report_pdf import UnknownLanguageError, render_health_report_pdf, rupiah
from common.errors import NotFoundError
from tests.city.credit.test_ldci_books import GRANTED, LAST, PLAN, PilotBooks, drawn_days, seeded_pilot

NOW = datetime(2026, 11, 2, 1, 30, tzinfo=UTC)


def _same(moment: datetime) -> datetime:
    """A clock stopped at ``moment``."""
    return moment


@pytest.fixture(scope="module", params=("sqlite", "postgresql"))
def pilot(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[PilotBooks]:
    """The seeded pilot, shared by the module's tests."""
    yield from seeded_pilot(request, tmp_path_factory.mktemp("report"))


def test_report_json_hasTheMonthsAndTheComputedScore_exactly(pilot: PilotBooks) -> None:
    merchant = pilot.merchants[0]
    with pilot.sessions() as session:
        report = build_health_report(session, merchant, LAST, now=lambda: NOW)
        expected = score(read_inputs(session, merchant, LAST))
    assert expected is not None
    body = json.loads(json.dumps(report.to_json()))  # JSON-ready as it is
    drawn = drawn_days(0)
    by_month: dict[str, tuple[int, int]] = {}
    for day, (count, value) in drawn.items():
        c, v = by_month.get(day.strftime("%Y-%m"), (0, 0))
        by_month[day.strftime("%Y-%m")] = (c + count, v + value)
    assert [(m["month"], m["sales_count"], m["sales_value_sen"]) for m in body["months"]] == [
        (month, *by_month.get(month, (0, 0))) for month in ("2026-08", "2026-09", "2026-10")
    ]
    assert body["months"][-1]["last"] == "2026-10-31" and body["months"][0]["first"] == "2026-08-01"
    assert body["merchant_id"] == str(merchant) and body["simulated"] is True
    assert body["merchant_name"].startswith("[SIMULASI] ") and body["kelurahan_code"].startswith("35.77.")
    assert body["period"] == {"first": (LAST - timedelta(days=89)).isoformat(), "last": LAST.isoformat()}
    assert body["active_days"] == len(drawn) and body["window_days"] == 90
    assert (body["refunds"], body["disputes"]) == (0, 0)
    ldci = body["ldci"]
    assert ldci["score"] == expected.score and ldci["stored"] is False and ldci["formula_version"] == "ldci-1"
    assert sum(c["weight_bp"] for c in ldci["components"]) == 10_000
    for shown, component in zip(ldci["components"], expected.components, strict=True):
        assert shown["name"] == component.name and shown["weight_bp"] == component.weight_bp
        if component.value is None:
            assert (shown["measured"], shown["value_bp"], shown["value_num"]) == (False, None, None)
        else:
            assert (shown["value_num"], shown["value_den"]) == (
                component.value.numerator,
                component.value.denominator,
            )
    assert body["generated_at"] == NOW.isoformat()


def test_report_usesTheStoredScore_whenTheDayWasComputed(pilot: PilotBooks) -> None:
    merchant, day = pilot.merchants[1], LAST - timedelta(days=3)
    with pilot.sessions.begin() as session:
        store_day(session, day, [merchant], NOW)
    with pilot.sessions.begin() as session:  # a stored figure stands even if the formula read differently
        row = stored_row(session, merchant, day)
        assert row is not None and row.score is not None
        row.score = 777
    with pilot.sessions() as session:
        report = build_health_report(session, merchant, day, now=lambda: NOW)
    assert report.score_stored and report.ldci.score == 777 and report.to_json()["ldci"]["stored"] is True


def test_noConsent_noHistory_noMerchant_noReport(pilot: PilotBooks) -> None:
    with pilot.sessions() as session:
        cases = (
            (pilot.merchants[2], LAST, "does not consent"),
            (pilot.merchants[0], PLAN.first_day - timedelta(days=1), "no settled payment"),
            (uuid.uuid4(), LAST, "no such merchant"),
            (pilot.merchants[0], LAST, "does not consent"),  # asked before the consent was given
        )
        for i, (merchant, day, why) in enumerate(cases):
            at = GRANTED - timedelta(hours=1) if i == 3 else NOW
            with pytest.raises(HealthReportUnavailableError, match=why) as refused:
                build_health_report(session, merchant, day, now=partial(_same, at))
            assert isinstance(refused.value, NotFoundError) and refused.value.status_code == 404
            assert refused.value.code == "health_report_unavailable"


def test_pdf_readsBack_inIndonesian_andEnglish(pilot: PilotBooks) -> None:
    with pilot.sessions() as session:
        report = build_health_report(session, pilot.merchants[0], LAST, now=lambda: NOW)
    october = report.months[-1]
    diversity = next(c for c in report.ldci.components if c.name == "customer_diversity")
    assert diversity.value is not None  # the pilot's payments name their payers
    for language, title, score_label, diversity_label in (
        ("id", "Laporan Kesehatan UMKM", "Skor LDCI", "Keragaman pelanggan"),
        ("en", "UMKM Health Report", "LDCI score", "Customer diversity"),
    ):
        reader = PdfReader(io.BytesIO(render_health_report_pdf(report, language)))
        text = " ".join(page.extract_text() for page in reader.pages)
        assert len(reader.pages) == 1
        assert reader.metadata is not None and reader.metadata.title == f"{title} — {report.merchant_name}"
        assert title in text and f"{score_label}: {report.ldci.score} / 1000" in text
        assert report.merchant_name in text and str(report.merchant_id) in text
        assert rupiah(october.value_sen) in text and diversity_label in text
        assert ("SIMULASI" if language == "id" else "SIMULATED") in text
    assert render_health_report_pdf(report)[:5] == b"%PDF-"  # Indonesian by default
    with pytest.raises(UnknownLanguageError):
        render_health_report_pdf(report, "fr")


def test_rupiah_isExact() -> None:
    assert [rupiah(s) for s in (0, 100, 1_500_050, 123_456_789_00, -250)] == [
        "Rp 0",
        "Rp 1",
        "Rp 15.000,50",
        "Rp 123.456.789",
        "-Rp 2,50",
    ]
