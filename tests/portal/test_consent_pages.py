"""The owner's "Data & kredit" page over HTTP (SQLite and PostgreSQL): grant scoring and sharing,
see them and the log, revoke; a cashier is refused, a form without CSRF changes nothing, sharing
before scoring says why, and another shop's consent is not found."""

from __future__ import annotations

import io
import re
import uuid
from datetime import timedelta

from pypdf import PdfReader
from sqlalchemy import func, select

from city.credit import consent
from city.credit.inputs import JAKARTA
from city.credit.models import Consent
from city.credit.report import build_health_report
from common.sql.helpers import utcnow
from tests.portal.support import Portal, csrf_of


def _lender(portal: Portal, name: str) -> uuid.UUID:
    with portal.db.sessions.begin() as session:
        return consent.lender_named(session, name, utcnow()).id


def _consents(portal: Portal, merchant: uuid.UUID) -> int:
    with portal.db.sessions() as session:
        return session.scalar(select(func.count()).where(Consent.merchant_id == merchant)) or 0


def test_owner_grants_sees_and_revokes_with_the_log(portal: Portal) -> None:
    merchant = portal.add_merchant()
    name = f"Koperasi Madiun {uuid.uuid4().hex[:6]}"
    lender = _lender(portal, name)
    owner = portal.owner_client(merchant)
    page_path = f"/portal/m/{merchant}/privacy"
    page = owner.get(page_path)
    assert page.status_code == 200 and 'id="grant-scoring"' in page.text and 'id="no-log"' in page.text
    assert f'href="{page_path}"' in page.text  # in the menu

    early = owner.post(
        f"{page_path}/grant", data={"csrf": csrf_of(page), "purpose": "sharing", "lender_id": str(lender)}
    )
    assert early.status_code == 409 and 'id="privacy-error"' in early.text
    assert _consents(portal, merchant) == 0

    for data in ({"purpose": "scoring"}, {"purpose": "sharing", "lender_id": str(lender)}):
        done = owner.post(f"{page_path}/grant", data={"csrf": csrf_of(owner.get(page_path)), **data})
        assert done.status_code == 303 and done.headers["location"] == page_path
    page = owner.get(page_path)
    assert 'id="revoke-scoring"' in page.text and f'data-lender="{lender}"' in page.text
    log = page.text.split('id="consent-log"')[1]
    assert log.count("<tr>") == 3  # header + two grants
    with portal.db.sessions() as session:
        assert consent.may_share(session, merchant, lender, utcnow())
        scoring_id = next(
            c.id for c in consent.active_consents(session, merchant, utcnow()) if c.purpose == "scoring"
        )
        consent.record_read(session, merchant, lender, "health-report.json", utcnow())
        session.commit()

    revoked = owner.post(f"{page_path}/{scoring_id}/revoke", data={"csrf": csrf_of(page)})
    assert revoked.status_code == 303
    page = owner.get(page_path)
    assert 'id="grant-scoring"' in page.text and 'id="no-sharing"' in page.text
    rows = re.findall(r"<tr>(.*?)</tr>", page.text.split('id="consent-log"')[1], re.S)
    assert len(rows) == 1 + 5  # 2 grants, 1 read, 2 revocations
    assert "health-report.json" in page.text and name in rows[3]  # the read, by the lender
    with portal.db.sessions() as session:
        assert not consent.may_share(session, merchant, lender, utcnow())


def test_cashiers_forms_without_csrf_and_other_shops_are_refused(portal: Portal) -> None:
    merchant, other = portal.add_merchant(), portal.add_merchant()
    page_path = f"/portal/m/{merchant}/privacy"
    cashier = portal.cashier_client(merchant)
    assert cashier.get(page_path).status_code == 403
    assert f'href="{page_path}"' not in cashier.get(f"/portal/m/{merchant}").text
    owner = portal.owner_client(merchant)
    assert owner.post(f"{page_path}/grant", data={"purpose": "scoring"}).status_code == 403
    assert owner.post(f"{page_path}/grant", data={"purpose": "scoring", "csrf": "x" * 43}).status_code == 403
    assert _consents(portal, merchant) == 0
    with portal.db.sessions.begin() as session:
        theirs = consent.grant(session, other, "scoring", None, "test", utcnow()).id
    token = portal.csrf(owner, page_path)
    assert owner.post(f"{page_path}/{theirs}/revoke", data={"csrf": token}).status_code == 404
    assert owner.get(f"/portal/m/{other}/privacy").status_code == 404
    with portal.db.sessions() as session:
        assert other in consent.merchants_consenting_to_scoring(session, utcnow())


def test_owner_sees_its_own_score_and_report_while_scoring_is_allowed(portal: Portal) -> None:
    merchant = portal.add_merchant()
    for rupiah in (25_000, 40_000, 12_500):
        portal.pay(merchant, rupiah)
    owner = portal.owner_client(merchant)
    page_path = f"/portal/m/{merchant}/privacy"
    assert owner.get(f"{page_path}/health-report.pdf").status_code == 404  # no consent: no report
    assert 'id="own-score"' not in owner.get(page_path).text

    done = owner.post(
        f"{page_path}/grant", data={"csrf": csrf_of(owner.get(page_path)), "purpose": "scoring"}
    )
    assert done.status_code == 303
    assert 'id="no-score"' in owner.get(page_path).text  # today's sales are scored from tomorrow
    portal.clock.advance(86_400)
    owner = portal.owner_client(merchant)  # a day later: the session has idled out, sign in again
    page = owner.get(page_path).text
    yesterday = portal.clock().astimezone(JAKARTA).date() - timedelta(days=1)
    with portal.db.sessions() as session:
        expected = build_health_report(session, merchant, yesterday)
    assert f"{expected.ldci.score} / 1000" in page.split('id="own-score"')[1].split("</h3>")[0]
    rows = re.findall(r'<tr data-component="(\w+)">', page)
    assert rows == [c.name for c in expected.ldci.components] and len(rows) == 7
    pdf = owner.get(f"{page_path}/health-report.pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Laporan Kesehatan UMKM" in text and f"{expected.ldci.score} / 1000" in text
    log = page.split('id="consent-log"')[1]
    assert log.count("<tr>") == 2  # header + the grant: the owner's own reading is not a lender's read
