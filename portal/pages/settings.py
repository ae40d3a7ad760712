"""Settings of a merchant: users and roles, webhooks, API keys and the language.

* users (``manage_users``): the members and their roles; invite a cashier (the invitation link
  is shown once, to be sent to the cashier); remove a member (never the last owner);
* webhooks and API keys (``manage_api_keys``): for merchants with a developer; add an endpoint
  (its URL checked against the same SSRF policy as the API), delete it, rotate its signing
  secret; issue, revoke and rotate keys. A secret is shown once, in the answer to the form that
  created it, and never in a listing;
* language: the portal's language for this browser (the switcher's cookie).

Every form is a POST with the session's CSRF token (checked by :func:`portal.web.member`).
Answers that show a secret are rendered directly (``Cache-Control: no-store``), never redirected
to a page that could show it again.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from accounts.errors import LastOwnerError
from accounts.models import Membership, MerchantUser, Permission
from api import key_lifecycle
from api.auth import Principal, issue_key
from api.models import ApiKey, Role
from api.settings import ApiSettings
from common.errors import MSCError
from portal.services import portal_services
from portal.web import Member, member, public_url, redirect, render
from settlement.webhooks import service as webhooks
from settlement.webhooks.events import EventType
from settlement.webhooks.targets import TargetPolicy, resolve_target
from webui.i18n import LANGUAGE_COOKIE, N_, gettext, supported

router = APIRouter(prefix="/portal/m/{merchant_id}/settings", tags=["portal"], include_in_schema=False)
UserManager = Annotated[Member, Depends(member(Permission.MANAGE_USERS))]
KeyManager = Annotated[Member, Depends(member(Permission.MANAGE_API_KEYS))]
ROTATION_GRACE = timedelta(hours=24)
"""How long an old webhook secret or API key keeps working after a rotation from the portal."""
LAST_OWNER = N_("The shop's only owner cannot be removed.")


@dataclass(frozen=True)
class MemberRow:
    """A user with a role for the merchant."""

    user_id: uuid.UUID
    display_name: str
    email: str
    role: str


def _members(db: Session, merchant_id: uuid.UUID) -> list[MemberRow]:
    statement = (
        select(MerchantUser.id, MerchantUser.display_name, MerchantUser.email, Membership.role)
        .join(Membership, Membership.user_id == MerchantUser.id)
        .where(Membership.merchant_id == merchant_id)
        .order_by(Membership.role.desc(), MerchantUser.email)
    )
    return [MemberRow(*row) for row in db.execute(statement)]


def _keys(db: Session, merchant_id: uuid.UUID, now: datetime) -> list[ApiKey]:
    rows = db.scalars(select(ApiKey).where(ApiKey.merchant_id == merchant_id).order_by(ApiKey.created_at))
    return [row for row in rows if row.revoked_at is None or row.revoked_at > now]


def _page(request: Request, who: Member, *, status_code: int = 200, **shown: Any) -> HTMLResponse:
    """The settings page; ``shown`` carries a secret or link shown once, or an error."""
    services = portal_services(request)
    now = services.clock()
    with services.sessions() as db:
        members = _members(db, who.merchant_id)
        endpoints = (
            webhooks.list_endpoints(db, who.merchant_id) if who.may(Permission.MANAGE_API_KEYS) else []
        )
        keys = _keys(db, who.merchant_id, now) if who.may(Permission.MANAGE_API_KEYS) else []
    context: dict[str, Any] = {"invite_link": None, "secret": None, "api_key": None, "error": None}
    context.update(shown)
    return render(
        request,
        who,
        "portal/settings/settings.html",
        status_code=status_code,
        members=members,
        endpoints=endpoints,
        keys=keys,
        event_types=[t.value for t in EventType],
        now=now,
        **context,
    )


def _merchant_principal(who: Member) -> Principal:
    """The merchant as the key lifecycle's caller: the portal acts for it, no API key calls."""
    return Principal(api_key_id=uuid.UUID(int=0), role=Role.MERCHANT, merchant_id=who.merchant_id)


@router.get("", response_class=HTMLResponse)
def settings_page(request: Request, owner: UserManager) -> HTMLResponse:
    """Users, webhooks, API keys and language."""
    return _page(request, owner)


@router.post("/users/invite", response_class=HTMLResponse)
def invite_cashier(
    request: Request, owner: UserManager, email: Annotated[str, Form(max_length=254)]
) -> Response:
    """Invites a cashier; the invitation link is shown this once."""
    issued = portal_services(request).accounts.invite_cashier(owner.session_token, owner.merchant_id, email)
    return _page(request, owner, invite_link=public_url(request, f"/portal/invite/{issued.token}"))


@router.post("/users/{user_id}/remove", response_class=HTMLResponse)
def remove_member(request: Request, owner: UserManager, user_id: uuid.UUID) -> Response:
    """Removes a member's role (refused for the only owner)."""
    try:
        portal_services(request).accounts.remove_member(owner.session_token, owner.merchant_id, user_id)
    except LastOwnerError:
        return _page(request, owner, status_code=409, error=gettext(owner.language, LAST_OWNER))
    return redirect(f"/portal/m/{owner.merchant_id}/settings")


@router.post("/webhooks", response_class=HTMLResponse)
def add_webhook(
    request: Request,
    owner: KeyManager,
    url: Annotated[str, Form(max_length=2048)],
    events: Annotated[list[str], Form()],
    description: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Adds an endpoint after checking its target; its signing secret is shown this once."""
    settings: ApiSettings = request.app.state.settings
    policy = TargetPolicy(
        allow_private=settings.webhook_allow_private_targets,
        require_https=settings.environment == "production",
    )
    try:
        resolve_target(url, policy, getattr(request.app.state, "webhook_resolver", None))
        with portal_services(request).sessions.begin() as db:
            _endpoint, secret = webhooks.create_endpoint(
                db, owner.merchant_id, url, events, description or None
            )
    except MSCError as refused:  # a refused target or event list: said on the page, nothing stored
        return _page(request, owner, status_code=refused.status_code, error=refused.message)
    return _page(request, owner, secret=secret)


@router.post("/webhooks/{endpoint_id}/delete", response_class=HTMLResponse)
def delete_webhook(request: Request, owner: KeyManager, endpoint_id: uuid.UUID) -> Response:
    """Stops deliveries to the endpoint."""
    with portal_services(request).sessions.begin() as db:
        webhooks.delete_endpoint(db, owner.merchant_id, endpoint_id)
    return redirect(f"/portal/m/{owner.merchant_id}/settings")


@router.post("/webhooks/{endpoint_id}/rotate", response_class=HTMLResponse)
def rotate_webhook_secret(request: Request, owner: KeyManager, endpoint_id: uuid.UUID) -> Response:
    """A new signing secret, shown this once; the old one signs for 24 hours more."""
    with portal_services(request).sessions.begin() as db:
        secret, _until = webhooks.rotate_secret(
            db, owner.merchant_id, endpoint_id, int(ROTATION_GRACE.total_seconds())
        )
    return _page(request, owner, secret=secret)


@router.post("/keys", response_class=HTMLResponse)
def issue_api_key(request: Request, owner: KeyManager) -> Response:
    """A new API key of the merchant, shown this once."""
    with portal_services(request).sessions.begin() as db:
        issued = issue_key(db, Role.MERCHANT, owner.merchant_id)
    return _page(request, owner, api_key=issued.secret)


@router.post("/keys/{key_id}/revoke", response_class=HTMLResponse)
def revoke_api_key(request: Request, owner: KeyManager, key_id: uuid.UUID) -> Response:
    """Revokes the key now."""
    with portal_services(request).sessions.begin() as db:
        key_lifecycle.revoke(db, _merchant_principal(owner), key_id)
    return redirect(f"/portal/m/{owner.merchant_id}/settings")


@router.post("/keys/{key_id}/rotate", response_class=HTMLResponse)
def rotate_api_key(request: Request, owner: KeyManager, key_id: uuid.UUID) -> Response:
    """The key's successor, shown this once; the old key works for 24 hours more."""
    with portal_services(request).sessions.begin() as db:
        issued, _until = key_lifecycle.rotate(
            db, _merchant_principal(owner), key_id, int(ROTATION_GRACE.total_seconds())
        )
    return _page(request, owner, api_key=issued.secret)


@router.post("/language")
def choose_language(
    request: Request, owner: UserManager, language: Annotated[str, Form(max_length=8)]
) -> Response:
    """Remembers the portal's language in this browser (the language switcher's cookie)."""
    response = redirect(f"/portal/m/{owner.merchant_id}/settings")
    chosen = supported(language)
    if chosen is not None:
        response.set_cookie(
            LANGUAGE_COOKIE,
            chosen,
            max_age=365 * 86400,
            httponly=True,
            samesite="lax",
            secure=portal_services(request).settings.secure_cookies,
        )
    return response
