"""What every portal page shares: security headers, cookies, language, error pages (SQLite and
PostgreSQL)."""

from __future__ import annotations

import pytest

from api.wallets.service import ContractsNotDeployedError
from custody.settings import CustodySettings
from portal import sales
from portal.services import PortalServices
from portal.web import INSECURE_SESSION_COOKIE
from tests.portal.support import MakePortal, Portal, csrf_of


def test_pages_carry_the_csp_and_are_not_cached(portal: Portal) -> None:
    shop = portal.add_merchant()
    client = portal.owner_client(shop)
    for path in ("/portal/login", f"/portal/m/{shop}", f"/portal/m/{shop}/payments", "/portal/me/security"):
        page = client.get(path)
        assert page.status_code == 200, path
        csp = page.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp, path
        assert page.headers["cache-control"] == "no-store", path
        assert page.headers["x-frame-options"] == "DENY", path
        assert "<script>" not in page.text and " style=" not in page.text and " onclick=" not in page.text, (
            path
        )


def test_language_switch_is_remembered_and_the_menu_follows_it(portal: Portal) -> None:
    shop = portal.add_merchant()
    client = portal.owner_client(shop)
    english = client.get(f"/portal/m/{shop}", params={"lang": "en"})
    assert '<html lang="en">' in english.text and ">Today" in english.text
    assert 'id="lang-id"' in english.text and f'href="/portal/m/{shop}?lang=id"' in english.text
    assert "msc_lang=en" in english.headers["set-cookie"]
    later = client.get(f"/portal/m/{shop}/payments")
    assert '<html lang="en">' in later.text and ">Payments<" in later.text


def test_an_unexpected_failure_is_a_page_without_details(
    portal: Portal, monkeypatch: pytest.MonkeyPatch
) -> None:
    shop = portal.add_merchant()
    client = portal.owner_client(shop)

    def broken(*_args: object) -> None:
        raise RuntimeError("database password is hunter2")

    monkeypatch.setattr(sales, "day_sales", broken)
    page = client.get(f"/portal/m/{shop}")
    assert page.status_code == 500 and "Terjadi kesalahan" in page.text
    assert "hunter2" not in page.text and "RuntimeError" not in page.text


def test_without_secure_cookies_the_session_cookie_drops_the_host_prefix(
    make_portal: MakePortal, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MSC_PORTAL_SECURE_COOKIES", "false")
    portal = make_portal()
    owner = portal.onboard_owner(portal.add_merchant())
    client = portal.client()
    form = client.get("/portal/login")
    answer = client.post(
        "/portal/login", data={"email": owner.email, "password": owner.password, "csrf": csrf_of(form)}
    )
    cookies = answer.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith(f"{INSECURE_SESSION_COOKIE}="))
    assert "Secure" not in session and "HttpOnly" in session
    assert client.get(f"/portal/m/{owner.merchant_id}").status_code == 200


def test_custody_is_offered_only_with_a_master_key(portal: Portal) -> None:
    assert portal.services.custody_enabled
    with pytest.raises(ContractsNotDeployedError):
        _ = portal.services.custody  # a key, but no contracts deployed here yet
    keyless = PortalServices(
        portal.app.state,
        portal.services.settings,
        portal.services.account_settings,
        portal.services.contracts,
        custody_settings_given=CustodySettings.from_env({}),
    )
    assert keyless.custody is None and not keyless.custody_enabled
    assert "master_key" not in repr(keyless) and "SecretStr" not in repr(keyless)
