"""The owner's "Data & kredit" page over HTTP (SQLite and PostgreSQL): grant scoring and sharing,
see them and the log, revoke; a cashier is refused, a form without CSRF changes nothing, sharing
before scoring says why, and another shop's consent is not found."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import func, select

from city.credit import consent
from city.credit.models import Consent
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
