"""Signing in and out of the portal through its forms (SQLite and PostgreSQL)."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient

from accounts.models import Role
from accounts.service import SESSION_COOKIE
from tests.portal.support import PASSWORD, Person, Portal, csrf_of, new_email


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


def _copy_session(portal: Portal, source: TestClient) -> TestClient:
    """A second browser holding a copy of ``source``'s session cookie (a stolen cookie)."""
    thief = portal.client()
    thief.cookies.set(SESSION_COOKIE, source.cookies[SESSION_COOKIE], domain="testserver.local")
    return thief


def _signed_in(client: TestClient, merchant: uuid.UUID) -> bool:
    answer = client.get(f"/portal/m/{merchant}")
    if answer.status_code == 303:
        assert answer.headers["location"] == f"/portal/login?next=/portal/m/{merchant}"
        return False
    assert answer.status_code == 200, answer.text
    return True


def test_sign_in_rotates_the_session_and_ends_the_one_the_browser_came_with(portal: Portal) -> None:
    merchant = portal.add_merchant()
    owner = portal.onboard_owner(merchant)
    client = portal.sign_in(owner)
    before = client.cookies[SESSION_COOKIE]
    planted = _copy_session(portal, client)
    assert _signed_in(planted, merchant)
    portal.sign_in(owner, client)  # signs in again in the same browser
    after = client.cookies[SESSION_COOKIE]
    assert after != before
    assert _signed_in(client, merchant)
    assert not _signed_in(planted, merchant)  # the id from before the sign-in is worth nothing


def test_sign_out_everywhere_makes_a_copied_cookie_stop_working(portal: Portal) -> None:
    merchant = portal.add_merchant()
    owner = portal.onboard_owner(merchant)
    phone = portal.sign_in(owner)
    laptop = portal.sign_in(owner)
    stolen = _copy_session(portal, phone)
    assert _signed_in(stolen, merchant) and _signed_in(laptop, merchant)
    shops = phone.get("/portal/me/security")
    ended = phone.post("/portal/logout-everywhere", data={"csrf": csrf_of(shops)})
    assert ended.status_code == 303 and ended.headers["location"] == "/portal/login?bye=1"
    assert SESSION_COOKIE not in phone.cookies
    for client in (phone, laptop, stolen):
        assert not _signed_in(client, merchant)


def test_sign_out_needs_the_forms_token_and_ends_only_this_session(portal: Portal) -> None:
    merchant = portal.add_merchant()
    owner = portal.onboard_owner(merchant)
    phone, laptop = portal.sign_in(owner), portal.sign_in(owner)
    refused = phone.post("/portal/logout", data={"csrf": "forged.token"})
    assert refused.status_code == 403 and _signed_in(phone, merchant)
    page = phone.get(f"/portal/m/{merchant}")
    assert phone.post("/portal/logout", data={"csrf": csrf_of(page)}).status_code == 303
    assert not _signed_in(phone, merchant) and _signed_in(laptop, merchant)


def test_a_wrong_password_says_so_without_saying_which_part_then_throttles_then_locks(portal: Portal) -> None:
    merchant = portal.add_merchant()
    owner = portal.onboard_owner(merchant)
    client = portal.client()
    form = client.get("/portal/login")
    attempt = {"email": owner.email, "password": "not-the-password", "csrf": csrf_of(form), "next": ""}
    unknown = client.post("/portal/login", data={**attempt, "email": "nobody@example.id"})
    assert unknown.status_code == 401 and "E-mail, kata sandi atau kode salah." in unknown.text
    settings = portal.services.account_settings
    for _ in range(settings.free_failures):
        wrong = client.post("/portal/login", data=attempt)
        assert wrong.status_code == 401 and "E-mail, kata sandi atau kode salah." in wrong.text
    waiting = client.post("/portal/login", data={**attempt, "password": owner.password})
    assert waiting.status_code == 429 and "Terlalu banyak percobaan gagal" in waiting.text
    assert SESSION_COOKIE not in client.cookies
    for _ in range(settings.lockout_failures - settings.free_failures):
        portal.clock.advance(settings.backoff_max_seconds + 1)
        client.post("/portal/login", data=attempt)
    portal.clock.advance(settings.backoff_max_seconds + 1)  # past any backoff, not the lockout
    locked = client.post("/portal/login", data={**attempt, "password": owner.password})
    assert locked.status_code == 429 and "WIB" in locked.text
    portal.clock.advance(settings.lockout_seconds + 1)
    assert portal.sign_in(owner, client)
    assert _signed_in(client, merchant)


def test_a_login_form_without_its_token_is_refused(portal: Portal) -> None:
    owner = portal.onboard_owner(portal.add_merchant())
    client = portal.client()
    client.get("/portal/login")
    answer = client.post("/portal/login", data={"email": owner.email, "password": owner.password, "csrf": ""})
    assert answer.status_code == 403 and SESSION_COOKIE not in client.cookies
    assert "Muat ulang halaman" in answer.text


def test_next_goes_only_to_portal_pages(portal: Portal) -> None:
    merchant = portal.add_merchant()
    owner = portal.onboard_owner(merchant)
    for target, expected in (
        (f"/portal/m/{merchant}/payments", f"/portal/m/{merchant}/payments"),
        ("https://evil.example/portal", "/portal"),
        ("//evil.example/portal", "/portal"),
        ("/explorer", "/portal"),
    ):
        client = portal.client()
        form = client.get("/portal/login", params={"next": target})
        answer = client.post(
            "/portal/login",
            data={"email": owner.email, "password": owner.password, "csrf": csrf_of(form), "next": target},
        )
        assert answer.headers["location"] == expected


def test_invitation_is_accepted_once_through_its_page(portal: Portal) -> None:
    merchant = portal.add_merchant()
    email = new_email()
    invitation = portal.accounts.invite_owner(merchant, email, operator="ops@bank")
    client = portal.client()
    page = client.get(f"/portal/invite/{invitation.token}")
    assert page.status_code == 200 and "Terima undangan" in page.text
    form = {"csrf": csrf_of(page), "display_name": "Bu Sri", "password": PASSWORD, "password_again": "other"}
    differ = client.post(f"/portal/invite/{invitation.token}", data=form)
    assert differ.status_code == 422 and "Kedua kata sandi tidak sama." in differ.text
    short = client.post(
        f"/portal/invite/{invitation.token}", data={**form, "password": "short", "password_again": "short"}
    )
    assert short.status_code == 422 and "minimal 10 karakter" in short.text
    accepted = client.post(f"/portal/invite/{invitation.token}", data={**form, "password_again": PASSWORD})
    assert accepted.status_code == 303 and accepted.headers["location"] == "/portal/login?welcome=1"
    again = client.post(f"/portal/invite/{invitation.token}", data={**form, "password_again": PASSWORD})
    assert again.status_code == 409 and "sudah dipakai" in again.text
    person = Person(
        portal.accounts.sign_in(email, PASSWORD, "t").user_id, email, PASSWORD, merchant, Role.OWNER
    )
    assert _signed_in(portal.sign_in(person), merchant)


def test_totp_enrolment_shows_a_qr_and_recovery_codes_once_then_sign_in_needs_a_code(portal: Portal) -> None:
    merchant = portal.add_merchant()
    owner = portal.onboard_owner(merchant)
    client = portal.sign_in(owner)
    security = client.get("/portal/me/security")
    assert 'id="totp-off"' in security.text
    begun = client.post("/portal/me/security/totp", data={"csrf": csrf_of(security)})
    assert 'src="data:image/svg+xml' in begun.text  # the QR code never leaves this answer
    wrong = client.post("/portal/me/security/totp/confirm", data={"csrf": csrf_of(begun), "code": "000000"})
    assert wrong.status_code == 422 and "Kode salah" in wrong.text and 'id="totp-off"' in wrong.text
    client.post("/portal/me/security/totp", data={"csrf": csrf_of(wrong)})  # restart: a new key
    totp, codes = portal.enrol_totp(client)
    assert len(codes) == portal.services.account_settings.recovery_codes
    shown = client.get("/portal/me/security")
    assert 'id="totp-on"' in shown.text and not any(code in shown.text for code in codes)
    fresh = portal.client()
    form = fresh.get("/portal/login")
    no_code = fresh.post(
        "/portal/login", data={"email": owner.email, "password": owner.password, "csrf": csrf_of(form)}
    )
    assert no_code.status_code == 401 and "kode 6 angka" in no_code.text
    assert _signed_in(portal.sign_in(owner, fresh, code=portal.code(totp)), merchant)
    assert _signed_in(portal.sign_in(owner, portal.client(), code=codes[0]), merchant)  # a recovery code
    reused = portal.client()
    form = reused.get("/portal/login")
    answer = reused.post(
        "/portal/login",
        data={"email": owner.email, "password": owner.password, "csrf": csrf_of(form), "code": codes[0]},
    )
    assert answer.status_code == 401  # each recovery code works once


def test_changing_the_password_ends_other_sessions_and_keeps_this_one(portal: Portal) -> None:
    merchant = portal.add_merchant()
    owner = portal.onboard_owner(merchant)
    client, other = portal.sign_in(owner), portal.sign_in(owner)
    page = client.get("/portal/me/security")
    new = "es-teh-manis-2027"
    wrong = client.post(
        "/portal/me/security/password",
        data={"csrf": csrf_of(page), "current": "nope-nope-nope", "new": new, "new_again": new},
    )
    assert wrong.status_code == 401
    changed = client.post(
        "/portal/me/security/password",
        data={"csrf": csrf_of(page), "current": owner.password, "new": new, "new_again": new},
    )
    assert changed.status_code == 303
    assert _signed_in(client, merchant) and not _signed_in(other, merchant)


def test_a_user_of_several_shops_picks_one_and_sees_only_its_own(portal: Portal) -> None:
    first, second, foreign = (
        portal.add_merchant(name) for name in ("Warung Satu", "Warung Dua", "Warung Asing")
    )
    owner = portal.onboard_owner(first)
    signed = portal.accounts.sign_in(owner.email, owner.password, "t")
    invitation = portal.accounts.invite_owner(second, owner.email, operator="ops@bank")
    portal.accounts.accept_invitation(invitation.token, owner.password, "")  # an existing user proves it
    portal.accounts.sign_out(signed.token)
    client = portal.sign_in(owner)
    shops = client.get("/portal")
    assert shops.status_code == 200
    assert "Warung Satu" in shops.text and "Warung Dua" in shops.text and "Warung Asing" not in shops.text
    assert f'href="/portal/m/{second}"' in shops.text and str(foreign) not in shops.text
