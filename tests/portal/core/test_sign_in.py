"""Signing in and out of the portal through its forms (SQLite and PostgreSQL)."""

from __future__ import annotations

from accounts.service import SESSION_COOKIE
from tests.portal.support import Portal, csrf_of


def test_owner_signs_in_and_lands_on_today_in_indonesian(portal: Portal) -> None:
    merchant = portal.add_merchant()
    owner = portal.onboard_owner(merchant)
    client = portal.client()
    form = client.get("/portal/login")
    assert form.status_code == 200
    answer = client.post(
        "/portal/login",
        data={"email": owner.email, "password": owner.password, "csrf": csrf_of(form), "next": ""},
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/portal"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=") and "Secure" in cookie and "HttpOnly" in cookie
    assert "samesite=lax" in cookie.lower() and "Path=/" in cookie
    shops = client.get("/portal")
    assert shops.status_code == 303 and shops.headers["location"] == f"/portal/m/{merchant}"
    today = client.get(f"/portal/m/{merchant}")
    assert today.status_code == 200
    assert '<html lang="id">' in today.text
