"""Helpers of the consent and lender API tests: lender keys, merchants' consents over HTTP."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient
from sqlalchemy import select

from api.credit.lender_keys import issue_lender_key
from city.credit.models import ConsentEvent
from common.sql.helpers import utcnow
from tests.api.support import Db, bearer


def lender_key(db: Db, name: str | None = None) -> tuple[uuid.UUID, dict[str, str]]:
    """A new lender (or the one called ``name``) and the headers of a new key of it."""
    with db.sessions.begin() as session:
        key, lender = issue_lender_key(session, name or f"Koperasi {uuid.uuid4().hex[:8]}", utcnow())
        return lender.id, bearer(key.secret)


def consent_to(client: TestClient, merchant_headers: dict[str, str], lender_id: uuid.UUID) -> None:
    """The merchant grants scoring and sharing with ``lender_id`` over the API."""
    for body in ({"purpose": "scoring"}, {"purpose": "sharing", "lender_id": str(lender_id)}):
        answer = client.post("/v1/merchants/me/consents", json=body, headers=merchant_headers)
        assert answer.status_code == 201, answer.text


def logged(db: Db, merchant_id: uuid.UUID) -> list[tuple[str, str | None]]:
    """The merchant's log lines (kind, what), oldest first."""
    with db.sessions() as session:
        rows = session.execute(
            select(ConsentEvent.kind, ConsentEvent.what)
            .where(ConsentEvent.merchant_id == merchant_id)
            .order_by(ConsentEvent.id)
        )
        return [(kind, what) for kind, what in rows]
