"""The merchant portal's part of the demo: the operator invites a shop's owner, who signs in.

What an operator and a new owner do, against the running stack and through its real routes:

1. the operator (a key issued with the admin secret) asks ``POST /v1/merchants/<id>/owner-invitations``
   for the owner's invitation link (shown once; only its hash is stored);
2. the owner opens the link, chooses a password (``POST /portal/invite/<token>``, with the page's
   double-submit CSRF token), and signs in at ``/portal/login``, which opens a session.

The launcher prints the portal's address with this owner's e-mail and password, so a newcomer can
sign in and see the shop's day, its payments and money. The password is new on every run (the
demo's database is too), and the demo owner has no second factor yet: the portal asks for one
(``/portal/me/security``) before any payout.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

import httpx

from launcher.settlement_demo import DemoError, SettlementDemoResult, _ok
from portal.web import ANONYMOUS_CSRF_COOKIE

#: The shop whose owner the demo invites (it received the checkout's payment), and the owner.
DEMO_SHOP = "Toko Batik Madiun"
DEMO_OWNER_EMAIL = "pemilik@batikmadiun.example"
DEMO_OWNER_NAME = "Bu Ratna"
LOGIN_PATH = "/portal/login"


@dataclass(frozen=True)
class PortalDemoResult:
    """How to reach the portal as the demo's owner."""

    login_url: str
    shop_url: str
    email: str
    password: str = field(repr=False)


def _shop_id(result: SettlementDemoResult) -> str:
    names = [name for name, _ in result.merchants]
    if DEMO_SHOP not in names:
        raise DemoError(f"the settlement demo onboarded no {DEMO_SHOP}")
    return result.merchant_ids[names.index(DEMO_SHOP)]


def _csrf_form(client: httpx.Client, path: str, data: dict[str, str]) -> httpx.Response:
    """Posts a pre-sign-in form the way a browser does: the same fresh token in cookie and form."""
    token = secrets.token_urlsafe(32)
    page = client.get(path, headers={"Cookie": f"{ANONYMOUS_CSRF_COOKIE}={token}"})
    if page.status_code != 200:
        raise DemoError(f"GET {path}: {page.status_code}")
    return client.post(
        path, data={**data, "csrf": token}, headers={"Cookie": f"{ANONYMOUS_CSRF_COOKIE}={token}"}
    )


def run_portal_demo(api_url: str, admin_secret: str, settled: SettlementDemoResult) -> PortalDemoResult:
    """Invites the demo shop's owner, accepts the invitation and checks that the owner can sign in.

    Raises:
        DemoError: a step was refused (the message names the route and its answer).
    """
    merchant_id = _shop_id(settled)
    password = "demo-" + secrets.token_urlsafe(12)
    with httpx.Client(base_url=api_url, timeout=30.0, follow_redirects=False) as api:
        operator = _ok(
            api.post("/v1/api-keys", json={"role": "operator"}, headers={"X-Admin-Secret": admin_secret}), 201
        )["api_key"]
        invitation = _ok(
            api.post(
                f"/v1/merchants/{merchant_id}/owner-invitations",
                json={"email": DEMO_OWNER_EMAIL},
                headers={"Authorization": f"Bearer {operator}"},
            ),
            201,
        )
        invite_path = httpx.URL(invitation["link"]).path
        accepted = _csrf_form(
            api,
            invite_path,
            {"display_name": DEMO_OWNER_NAME, "password": password, "password_again": password},
        )
        if accepted.status_code != 303:
            raise DemoError(f"POST {invite_path}: {accepted.status_code}")
        signed_in = _csrf_form(api, LOGIN_PATH, {"email": DEMO_OWNER_EMAIL, "password": password})
        if signed_in.status_code != 303 or "msc-session" not in signed_in.headers.get("set-cookie", ""):
            raise DemoError(f"POST {LOGIN_PATH}: {signed_in.status_code}, no session")
    return PortalDemoResult(
        login_url=api_url + LOGIN_PATH,
        shop_url=f"{api_url}/portal/m/{merchant_id}",
        email=DEMO_OWNER_EMAIL,
        password=password,
    )


def describe_portal(result: PortalDemoResult) -> str:
    """The launcher's lines about the portal: where to sign in, and as whom."""
    return "\n".join(
        [
            f"Portal:    {result.login_url}  (merchants' portal, Bahasa Indonesia / English)",
            f"           owner of {DEMO_SHOP}: {result.email} / password {result.password}",
            f"           the shop's day: {result.shop_url}",
        ]
    )
