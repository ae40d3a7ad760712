"""Signing in and out, accepting an invitation, the shop list, and the user's own security page.

* ``/portal/login``: e-mail, password and (when enrolled) the authenticator code; throttling and
  lockout say when to try again, never which part was wrong. A sign-in rotates the session.
* ``/portal/logout``, ``/portal/logout-everywhere``: POST with the session's CSRF token.
* ``/portal/invite/{token}``: the invitee sets a password (or proves an existing one).
* ``/portal``: the user's shops; with exactly one, straight to its Today page.
* ``/portal/me/security``: TOTP enrolment (QR code as a ``data:`` image, recovery codes shown
  once) and changing the password (which ends every other session).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

import segno
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from accounts import repository as account_rows
from accounts.errors import (
    InvalidCredentialsError,
    InvitationInvalidError,
    LoginThrottledError,
    SecondFactorRequiredError,
    SessionInvalidError,
    TotpStateError,
    WeakPasswordError,
)
from accounts.models import Membership
from api.merchants.models import Merchant
from portal.services import portal_services
from portal.web import (
    LOGIN_PATH,
    SignedInUser,
    check_anonymous_csrf,
    clear_session_cookie,
    client_address,
    language_of,
    presented_csrf,
    redirect,
    render,
    safe_next,
    session_token,
    set_session_cookie,
    signed_in,
)
from webui.i18n import N_, gettext

router = APIRouter(prefix="/portal", tags=["portal"], include_in_schema=False)
User = Annotated[SignedInUser, Depends(signed_in)]
JAKARTA = ZoneInfo("Asia/Jakarta")

WRONG_CREDENTIALS = N_("The e-mail, password or code is wrong.")
THROTTLED = N_("Too many failed attempts. Try again after %(time)s (Jakarta time).")
CODE_NEEDED = N_("Enter the 6-digit code from your authenticator app.")
INVITATION_INVALID = N_("This invitation has been used, withdrawn or has expired. Ask for a new one.")
PASSWORDS_DIFFER = N_("The two passwords are not the same.")
WEAK_PASSWORD = N_("Choose a password of at least %(count)s characters.")
WRONG_PASSWORD = N_("The current password is wrong.")
WRONG_CODE = N_("The code is wrong. Check that the phone's clock is right and try the next code.")
TOTP_ALREADY_ON = N_("The authenticator app is already set up.")
TOTP_ON = N_(
    "The authenticator app is set up. Keep these recovery codes somewhere safe: "
    "each works once, and they are shown only now."
)


def _when(until: datetime) -> str:
    return until.astimezone(JAKARTA).strftime("%H:%M")


# ------------------------------------------------------------------------------ sign-in


def _login_page(
    request: Request, next_path: str | None, *, status_code: int = 200, error: str = "", notice: str = ""
) -> HTMLResponse:
    return render(
        request,
        None,
        "portal/auth/login.html",
        status_code=status_code,
        error=error,
        notice=notice,
        next=safe_next(next_path),
    )


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> HTMLResponse:
    """The sign-in form."""
    notice = ""
    if request.query_params.get("welcome"):
        notice = gettext(
            language_of(request), N_("Your account is ready. Sign in with your e-mail and password.")
        )
    elif request.query_params.get("bye"):
        notice = gettext(language_of(request), N_("You have signed out."))
    return _login_page(request, request.query_params.get("next"), notice=notice)


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    email: Annotated[str, Form(max_length=254)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    code: Annotated[str, Form(max_length=32)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Signs in: a new session (the one the browser came with ends), then the page asked for."""
    check_anonymous_csrf(request, csrf)
    accounts = portal_services(request).accounts
    language = language_of(request)
    try:
        signed = accounts.sign_in(
            email,
            password,
            client_address(request),
            code=code.strip() or None,
            previous_token=session_token(request),
        )
    except LoginThrottledError as exc:
        message = gettext(language, THROTTLED, time=_when(exc.until))
        return _login_page(request, next, error=message, status_code=429)
    except SecondFactorRequiredError:
        return _login_page(request, next, error=gettext(language, CODE_NEEDED), status_code=401)
    except InvalidCredentialsError:
        return _login_page(request, next, error=gettext(language, WRONG_CREDENTIALS), status_code=401)
    response = redirect(safe_next(next))
    set_session_cookie(request, response, signed)
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    """Ends this session (CSRF-checked: another site cannot sign the merchant out)."""
    return await _end(request, everywhere=False)


@router.post("/logout-everywhere")
async def logout_everywhere(request: Request) -> Response:
    """Ends every session of the user: a copied cookie stops working too."""
    return await _end(request, everywhere=True)


async def _end(request: Request, *, everywhere: bool) -> Response:
    accounts = portal_services(request).accounts
    token = session_token(request)
    response = redirect(f"{LOGIN_PATH}?bye=1")
    if token is None:
        return response
    presented = await presented_csrf(request)
    try:
        await run_in_threadpool(accounts.check_csrf, token, presented)
    except SessionInvalidError:
        clear_session_cookie(request, response)
        return response
    if everywhere:
        await run_in_threadpool(accounts.sign_out_everywhere, token)
    else:
        await run_in_threadpool(accounts.sign_out, token)
    clear_session_cookie(request, response)
    return response


# ------------------------------------------------------------------------------ invitations


def _invite_page(request: Request, token: str, *, error: str = "", status_code: int = 200) -> HTMLResponse:
    return render(request, None, "portal/auth/invite.html", status_code=status_code, error=error, token=token)


@router.get("/invite/{token}", response_class=HTMLResponse)
def invitation_page(request: Request, token: str) -> HTMLResponse:
    """The invitee chooses a password (the invitation is checked when the form is sent)."""
    return _invite_page(request, token)


@router.post("/invite/{token}", response_class=HTMLResponse)
def accept_invitation(
    request: Request,
    token: str,
    display_name: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=256)] = "",
    password_again: Annotated[str, Form(max_length=256)] = "",
    csrf: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Accepts the invitation; the new member then signs in."""
    check_anonymous_csrf(request, csrf)
    services = portal_services(request)
    language = language_of(request)
    if password != password_again:
        return _invite_page(request, token, error=gettext(language, PASSWORDS_DIFFER), status_code=422)
    try:
        services.accounts.accept_invitation(token, password, display_name, client_address(request))
    except InvitationInvalidError:
        return _invite_page(request, token, error=gettext(language, INVITATION_INVALID), status_code=409)
    except WeakPasswordError:
        message = gettext(language, WEAK_PASSWORD, count=services.account_settings.min_password_length)
        return _invite_page(request, token, error=message, status_code=422)
    except LoginThrottledError as exc:
        return _invite_page(
            request, token, error=gettext(language, THROTTLED, time=_when(exc.until)), status_code=429
        )
    except InvalidCredentialsError:
        return _invite_page(request, token, error=gettext(language, WRONG_PASSWORD), status_code=401)
    return redirect(f"{LOGIN_PATH}?welcome=1")


# ------------------------------------------------------------------------------ shops


@router.get("", response_class=HTMLResponse)
def shops(request: Request, user: User) -> Response:
    """The user's shops; with exactly one, its Today page."""
    with portal_services(request).sessions() as db:
        rows = db.execute(
            select(Merchant.id, Merchant.name, Merchant.kelurahan, Membership.role)
            .join(Membership, Membership.merchant_id == Merchant.id)
            .where(Membership.user_id == user.user_id)
            .order_by(Merchant.name)
        ).all()
    if len(rows) == 1:
        return redirect(f"/portal/m/{rows[0].id}")
    return render(request, None, "portal/auth/shops.html", csrf=user.csrf, signed_in=True, shops=rows)


# ------------------------------------------------------------------------------ security


def _security_page(
    request: Request,
    user: SignedInUser,
    *,
    status_code: int = 200,
    error: str = "",
    notice: str = "",
    enrolment_qr: str = "",
    enrolment_secret: str = "",
    recovery_codes: list[str] | None = None,
) -> HTMLResponse:
    services = portal_services(request)
    with services.sessions() as db:
        row = account_rows.user(db, user.user_id)
        enabled = row is not None and row.totp_enabled_at is not None
        email = row.email if row is not None else ""
    return render(
        request,
        None,
        "portal/auth/security.html",
        status_code=status_code,
        csrf=user.csrf,
        signed_in=True,
        email=email,
        totp_enabled=enabled,
        codes_left=services.accounts.recovery_codes_left(user.user_id) if enabled else 0,
        error=error,
        notice=notice,
        enrolment_qr=enrolment_qr,
        enrolment_secret=enrolment_secret,
        recovery_codes=recovery_codes or [],
        min_password=services.account_settings.min_password_length,
    )


@router.get("/me/security", response_class=HTMLResponse)
def security(request: Request, user: User) -> HTMLResponse:
    """The second factor's state and the password form."""
    return _security_page(request, user)


@router.post("/me/security/totp", response_class=HTMLResponse)
def begin_totp(request: Request, user: User) -> HTMLResponse:
    """Starts enrolment: the QR code for the authenticator app (this page only, never stored in clear)."""
    try:
        enrolment = portal_services(request).accounts.begin_totp(user.session_token)
    except TotpStateError:
        return _security_page(request, user, error=gettext(user.language, TOTP_ALREADY_ON), status_code=409)
    qr = segno.make(enrolment.uri, error="m").svg_data_uri(scale=5, border=4)
    return _security_page(request, user, enrolment_qr=qr, enrolment_secret=enrolment.secret)


@router.post("/me/security/totp/confirm", response_class=HTMLResponse)
def confirm_totp(
    request: Request, user: User, code: Annotated[str, Form(max_length=32)] = ""
) -> HTMLResponse:
    """Turns the second factor on with a right code; shows the recovery codes once."""
    try:
        codes = portal_services(request).accounts.confirm_totp(user.session_token, code.strip())
    except SecondFactorRequiredError:
        return _security_page(request, user, error=gettext(user.language, WRONG_CODE), status_code=422)
    except TotpStateError:
        return _security_page(request, user, error=gettext(user.language, TOTP_ALREADY_ON), status_code=409)
    notice = gettext(user.language, TOTP_ON)
    return _security_page(request, user, notice=notice, recovery_codes=codes)


@router.post("/me/security/password", response_class=HTMLResponse)
def change_password(
    request: Request,
    user: User,
    current: Annotated[str, Form(max_length=256)] = "",
    new: Annotated[str, Form(max_length=256)] = "",
    new_again: Annotated[str, Form(max_length=256)] = "",
) -> Response:
    """Changes the password; every session ends and this browser gets a new one."""
    services = portal_services(request)
    if new != new_again:
        return _security_page(request, user, error=gettext(user.language, PASSWORDS_DIFFER), status_code=422)
    try:
        signed = services.accounts.change_password(user.session_token, current, new)
    except WeakPasswordError:
        message = gettext(user.language, WEAK_PASSWORD, count=services.account_settings.min_password_length)
        return _security_page(request, user, error=message, status_code=422)
    except LoginThrottledError as exc:
        message = gettext(user.language, THROTTLED, time=_when(exc.until))
        return _security_page(request, user, error=message, status_code=429)
    except InvalidCredentialsError:
        return _security_page(request, user, error=gettext(user.language, WRONG_PASSWORD), status_code=401)
    response = redirect("/portal/me/security?changed=1")
    set_session_cookie(request, response, signed)
    return response
