"""The lender role over the API (SQLite and PostgreSQL).

* a lender key lists only merchants that share with its lender right now;
* a health report of a merchant that does not share with it (no consent, another lender's,
  revoked, unknown or malformed id) is the same 404 as an unknown merchant and logs nothing;
* a merchant that shares gets read (JSON and PDF), and the merchant sees each read in its log;
* a lender key reaches nothing else: every other route answers it as a key without rights.
"""

from __future__ import annotations

import re
import uuid
from datetime import date

import pytest

from api.auth import issue_key
from api.credit import lender
from api.models import Role
from portal.web import api_routes
from tests.api.credit.support import consent_to, lender_key, logged
from tests.api.support import Harness, MakeApi, bearer, new_merchant
from tests.city.lpui.support import Books, jakarta

CONSENTS = "/v1/merchants/me/consents"


def _report(client: Harness, merchant: uuid.UUID | str, headers: dict[str, str], suffix: str = "") -> object:
    return client.client.get(f"/v1/lender/merchants/{merchant}/health-report{suffix}", headers=headers)


def test_non_consenting_and_other_lenders_merchants_are_the_same_404(
    make_api: MakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    built: list[object] = []
    monkeypatch.setattr(lender, "build_health_report", lambda *args, **kw: built.append(args))
    api = make_api()
    db, client = api.db, api.client
    _lender, mine = lender_key(db)
    _other, theirs = lender_key(db)
    silent, _ = new_merchant(db)  # consents to nothing
    scoring_only, scoring_key = new_merchant(db)
    assert client.post(CONSENTS, json={"purpose": "scoring"}, headers=bearer(scoring_key)).status_code == 201
    elsewhere, elsewhere_key = new_merchant(db)  # shares with the other lender only
    consent_to(client, bearer(elsewhere_key), _other)

    unknown = client.get(f"/v1/lender/merchants/{uuid.uuid4()}/health-report", headers=mine)
    assert unknown.status_code == 404
    for merchant in (silent, scoring_only, elsewhere, "not-a-uuid"):
        for suffix in ("", ".pdf"):
            answer = client.get(f"/v1/lender/merchants/{merchant}/health-report{suffix}", headers=mine)
            assert (answer.status_code, answer.json()) == (404, unknown.json()), (merchant, suffix)
    assert client.get("/v1/lender/merchants", headers=mine).json() == {"items": []}
    assert [m["merchant_id"] for m in client.get("/v1/lender/merchants", headers=theirs).json()["items"]] == [
        str(elsewhere)
    ]
    # nothing read, nothing logged beyond the merchants' own grants
    assert logged(db, silent) == []
    assert logged(db, scoring_only) == [("grant", None)]
    assert logged(db, elsewhere) == [("grant", None), ("grant", None)]
    assert built == []  # nothing was computed for any of them


def test_a_sharing_merchant_is_read_and_sees_every_read_until_it_revokes(
    make_api: MakeApi, books: Books
) -> None:
    api = make_api()
    db, client = api.db, api.client
    lender, headers = lender_key(db, f"Bank Madiun {uuid.uuid4().hex[:6]}")
    merchant = books.merchant("Taman")
    with db.sessions.begin() as session:
        merchant_headers = bearer(issue_key(session, Role.MERCHANT, merchant).secret)
    as_of = date(2025, 3, 10)
    books.pay(merchant, 150_000, jakarta(date(2025, 3, 1), 10))
    books.pay(merchant, 250_000, jakarta(date(2025, 3, 8), 11))
    consent_to(client, merchant_headers, lender)

    listed = client.get("/v1/lender/merchants", headers=headers).json()["items"]
    assert listed == [{"merchant_id": str(merchant), "name": "Warung Bu Sri"}]
    report = client.get(
        f"/v1/lender/merchants/{merchant}/health-report", params={"as_of": as_of.isoformat()}, headers=headers
    )
    assert report.status_code == 200, report.text
    assert str(merchant) in report.text and "2025-03-10" in report.text
    pdf = client.get(
        f"/v1/lender/merchants/{merchant}/health-report.pdf",
        params={"as_of": as_of.isoformat(), "lang": "en"},
        headers=headers,
    )
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")

    for day in ("2019-12-31", "2999-01-01"):  # before any books, or not yet: 422, nothing read
        refused = client.get(
            f"/v1/lender/merchants/{merchant}/health-report", params={"as_of": day}, headers=headers
        )
        assert refused.status_code == 422 and refused.json()["error"] == "invalid_report_day"

    events = client.get(CONSENTS, headers=merchant_headers).json()["events"]
    assert [(e["kind"], e["what"]) for e in events] == [
        ("read", "health-report.pdf"),
        ("read", "health-report.json"),
        ("grant", None),
        ("grant", None),
    ]
    assert events[0]["actor"] == f"lender:{lender}" and events[0]["lender_id"] == str(lender)

    scoring = next(
        c
        for c in client.get(CONSENTS, headers=merchant_headers).json()["active"]
        if c["purpose"] == "scoring"
    )
    assert client.delete(f"{CONSENTS}/{scoring['id']}", headers=merchant_headers).status_code == 200
    after = client.get(f"/v1/lender/merchants/{merchant}/health-report", headers=headers)
    assert after.status_code == 404 and after.json()["error"] == "merchant_not_found"
    assert client.get("/v1/lender/merchants", headers=headers).json() == {"items": []}
    assert [kind for kind, _ in logged(db, merchant)].count("read") == 2


def test_a_lender_key_reaches_nothing_but_the_lender_routes(make_api: MakeApi) -> None:
    """Every route outside ``/v1/lender`` answers a lender key as it answers a key without rights:
    403 where a key is needed (401 without one), otherwise exactly what an anonymous caller gets."""
    api = make_api()
    _lender, headers = lender_key(api.db)
    merchant, merchant_secret = new_merchant(api.db)
    checked = 0
    for route in api_routes(api.client.app):  # type: ignore[arg-type]
        if route.path.startswith("/v1/lender"):
            continue
        path = re.sub(r"\{[^}]+\}", str(merchant), route.path)
        for method in sorted(route.methods - {"HEAD", "OPTIONS"}):
            anonymous = api.client.request(method, path, json={})
            as_lender = api.client.request(method, path, json={}, headers=headers)
            if anonymous.status_code == 401:
                assert as_lender.status_code == 403, (method, route.path, as_lender.text)
            else:
                assert as_lender.status_code == anonymous.status_code, (method, route.path)
            checked += 1
    assert checked > 50
    for path in ("/v1/lender/merchants", f"/v1/lender/merchants/{merchant}/health-report"):
        assert api.client.get(path, headers=bearer(merchant_secret)).status_code == 403
        assert api.client.get(path).status_code == 401
