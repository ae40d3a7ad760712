"""What every portal page shares: who is signed in (:func:`member`), rendering (:func:`render`),
the second factor for money out (:func:`second_factor`), and the pages that refuse a request.

Routes for one merchant live under ``/portal/m/{merchant_id}/...`` and take
``Annotated[Member, Depends(member(Permission.X))]``. Before the route's body runs, that dependency
checks, in this order:

1. a live session (else 303 to ``/portal/login?next=<this page>``);
2. a role for that merchant (else the 404 page: merchant A never learns whether B exists);
3. the role allows ``X`` (else the 403 page);
4. for anything but GET/HEAD, the form field ``csrf`` (or the ``X-CSRF-Token`` header) is a token
   of this session (else the 403 page; nothing has changed).

Refusals are exceptions whose handlers render pages in the visitor's language (Indonesian by
default), so a route never builds a refusal itself. The permission is recorded on the dependency
(:func:`route_permission`), which lets the navigation show only what the role may use and lets a
test walk every route and check it is guarded.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute

from accounts.errors import CsrfTokenInvalidError, PermissionDeniedError, SessionInvalidError
from accounts.models import ROLE_PERMISSIONS, Permission, Role
from accounts.service import SESSION_COOKIE, SignedIn, session_cookie
from api.merchants.models import Merchant
from checkout.endpoints import checkout_settings
from common.errors import MSCError, NotFoundError
from portal.services import PortalServices, portal_services
from webui.i18n import (
    LANGUAGE_COOKIE,
    LANGUAGE_NAMES,
    LANGUAGE_PARAM,
    LANGUAGES,
    N_,
    PageTemplates,
    gettext,
    idr,
    negotiate,
    pi,
    supported,
)

PACKAGE = Path(__file__).parent
TEMPLATES_DIR = PACKAGE / "templates"
STATIC_DIR = PACKAGE / "static"
STATIC_URL = "/portal/static"
PORTAL_PREFIX = "/portal"
MERCHANT_PREFIX = "/portal/m/{merchant_id}"
LOGIN_PATH = "/portal/login"
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"
ANONYMOUS_CSRF_COOKIE = "msc_portal_csrf"
"""Double-submit CSRF token of the forms shown before sign-in (sign-in, invitation)."""
INSECURE_SESSION_COOKIE = "msc_portal_session"
"""Session cookie name when ``secure_cookies`` is off (``__Host-`` cookies must be Secure)."""
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

templates = PageTemplates([TEMPLATES_DIR])
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Member:
    """The signed-in user acting for one merchant on this request."""

    user_id: uuid.UUID
    merchant_id: uuid.UUID
    role: Role
    language: str
    csrf: str
    """Value for ``<input type="hidden" name="csrf">`` of this page's forms."""
    session_token: str = field(repr=False)

    def may(self, permission: Permission) -> bool:
        """Whether the role allows ``permission`` (a page shows a link or button only then)."""
        return permission in ROLE_PERMISSIONS[self.role]


# ------------------------------------------------------------------------------ refusals


class SignInRequiredError(MSCError):
    """No live session: the visitor is sent to the sign-in page, then back to ``next_path``."""

    code = "sign_in_required"
    status_code = 303

    def __init__(self, next_path: str) -> None:
        super().__init__("sign in to see this page")
        self.next_path = next_path


class MerchantNotVisibleError(NotFoundError):
    """The user has no role for the merchant (or it does not exist: the answer is the same)."""

    code = "portal_not_found"

    def __init__(self) -> None:
        super().__init__("page not found")


REFUSAL_MESSAGES: dict[str, str] = {
    "portal_not_found": N_("This page does not exist, or it belongs to a shop you are not a member of."),
    "permission_denied": N_("Your role for this shop does not allow this. Ask the shop's owner."),
    "csrf_token_invalid": N_(
        "This form has expired or did not come from this page. Reload the page and try again."
    ),
    "not_found": N_("This page does not exist."),
    "http_not_found": N_("This page does not exist."),
    "invalid_address": N_("This page address is not valid."),
}
"""What the visitor reads, by error code; other errors say :data:`GENERIC_MESSAGE`."""
GENERIC_MESSAGE = N_("Something went wrong. Try again in a moment.")
TITLES: dict[int, str] = {
    403: N_("Not allowed"),
    404: N_("Not found"),
}
GENERIC_TITLE = N_("Something went wrong")


# ------------------------------------------------------------------------------ requests


def language_of(request: Request) -> str:
    """The visitor's language: ``?lang=``, then the cookie, then ``Accept-Language``, else Indonesian."""
    return negotiate(
        request.headers.get("accept-language"),
        (request.query_params.get(LANGUAGE_PARAM), request.cookies.get(LANGUAGE_COOKIE)),
    )


def session_cookie_name(services: PortalServices) -> str:
    """The session cookie's name: ``__Host-msc-session`` unless cookies are not Secure."""
    return SESSION_COOKIE if services.settings.secure_cookies else INSECURE_SESSION_COOKIE


def session_token(request: Request) -> str | None:
    """The session id the browser sent, if any."""
    return request.cookies.get(session_cookie_name(portal_services(request))) or None


def client_address(request: Request) -> str:
    """The client's address (a sign-in throttling key), as the server sees it.

    Behind a reverse proxy, run uvicorn with ``--proxy-headers --forwarded-allow-ips=<proxy>`` so
    this is the visitor's address; otherwise every visitor shares the proxy's address throttle.
    """
    return request.client.host if request.client else "unknown"


def here(request: Request) -> str:
    """This request's path and query (where to come back to after signing in)."""
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def safe_next(next_path: str | None) -> str:
    """``next_path`` if it is a portal page of this site, else the portal's start page (no open redirect)."""
    if (
        next_path
        and next_path.startswith(PORTAL_PREFIX)
        and not next_path.startswith("//")
        and "\\" not in next_path
        and all(ord(c) > 32 for c in next_path)
    ):
        return next_path
    return PORTAL_PREFIX


async def presented_csrf(request: Request) -> str | None:
    """The CSRF token a POST carries: the ``X-CSRF-Token`` header, else the form's ``csrf`` field."""
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        value = (await request.form()).get(CSRF_FIELD)
        return value if isinstance(value, str) else None
    return None


def member(permission: Permission) -> Callable[..., Awaitable[Member]]:
    """A FastAPI dependency: the signed-in member of ``{merchant_id}`` whose role allows ``permission``.

    Raises (rendered as pages by the handlers :func:`install_handlers` adds):
        SignInRequiredError: no live session (303 to the sign-in page).
        MerchantNotVisibleError: no role for that merchant (404).
        PermissionDeniedError: the role does not allow ``permission`` (403).
        CsrfTokenInvalidError: a POST without this session's CSRF token (403).
    """

    async def dependency(request: Request, merchant_id: uuid.UUID) -> Member:
        services = portal_services(request)
        accounts = services.accounts
        token = session_token(request)
        if token is None:
            raise SignInRequiredError(here(request))
        try:
            principal = await run_in_threadpool(accounts.authenticate, token)
        except SessionInvalidError:
            raise SignInRequiredError(here(request)) from None
        role = await run_in_threadpool(accounts.role, principal.user_id, merchant_id)
        if role is None:
            raise MerchantNotVisibleError()
        if permission not in ROLE_PERMISSIONS[role]:
            raise PermissionDeniedError(principal.user_id, merchant_id, permission)
        if request.method not in _SAFE_METHODS:
            presented = await presented_csrf(request)
            try:
                await run_in_threadpool(accounts.check_csrf, token, presented)
            except SessionInvalidError:
                raise SignInRequiredError(here(request)) from None
        csrf = await run_in_threadpool(accounts.csrf_token, token)
        return Member(principal.user_id, merchant_id, role, language_of(request), csrf, token)

    dependency.permission = permission  # type: ignore[attr-defined]
    dependency.__name__ = f"member_{permission}"
    return dependency


@dataclass(frozen=True)
class SignedInUser:
    """The signed-in user on a page that is not about one merchant (the shop list, security)."""

    user_id: uuid.UUID
    language: str
    csrf: str
    session_token: str = field(repr=False)


async def signed_in(request: Request) -> SignedInUser:
    """A FastAPI dependency: the signed-in user (any role); POSTs must carry the session's CSRF token.

    Raises:
        SignInRequiredError: no live session.
        CsrfTokenInvalidError: a POST without this session's CSRF token.
    """
    accounts = portal_services(request).accounts
    token = session_token(request)
    if token is None:
        raise SignInRequiredError(here(request))
    try:
        principal = await run_in_threadpool(accounts.authenticate, token)
        if request.method not in _SAFE_METHODS:
            await run_in_threadpool(accounts.check_csrf, token, await presented_csrf(request))
        csrf = await run_in_threadpool(accounts.csrf_token, token)
    except SessionInvalidError:
        raise SignInRequiredError(here(request)) from None
    return SignedInUser(principal.user_id, language_of(request), csrf, token)


def set_session_cookie(request: Request, response: Response, signed: SignedIn) -> None:
    """Puts a new session's id in the session cookie (Secure, HttpOnly, SameSite=Lax)."""
    services = portal_services(request)
    cookie = session_cookie(signed, services.clock())
    if not services.settings.secure_cookies:
        cookie.update(key=INSECURE_SESSION_COOKIE, secure=False)
    response.set_cookie(**cookie)  # type: ignore[arg-type]


def clear_session_cookie(request: Request, response: Response) -> None:
    """Tells the browser to forget the session cookie."""
    services = portal_services(request)
    secure = services.settings.secure_cookies
    response.delete_cookie(
        session_cookie_name(services), path="/", secure=secure, httponly=True, samesite="lax"
    )


def route_permission(route: BaseRoute) -> Permission | None:
    """The permission a route's :func:`member` dependency requires, or None if it has none."""
    if not isinstance(route, APIRoute):
        return None
    stack = list(route.dependant.dependencies)
    while stack:
        dependant = stack.pop()
        found = getattr(dependant.call, "permission", None)
        if isinstance(found, Permission):
            return found
        stack.extend(dependant.dependencies)
    return None


def second_factor(request: Request, member: Member, code: str, permission: Permission) -> None:
    """Verifies the member's TOTP or recovery code for a money-out or bank-account action, now.

    Raises:
        SecondFactorRequiredError: no second factor enrolled, no code, or a wrong or used code.
        PermissionDeniedError: the role does not allow ``permission``.
        SessionInvalidError: the session ended meanwhile.
    """
    portal_services(request).accounts.require_second_factor(
        member.session_token, member.merchant_id, permission, code.strip() or None
    )


def anonymous_csrf(request: Request) -> str:
    """The CSRF token of a form shown before sign-in (double submit: cookie and form field)."""
    cached = getattr(request.state, "anonymous_csrf", None)
    if isinstance(cached, str):
        return cached
    token = request.cookies.get(ANONYMOUS_CSRF_COOKIE, "")
    if len(token) != 43 or not token.replace("-", "").replace("_", "").isalnum():
        token = secrets.token_urlsafe(32)
    request.state.anonymous_csrf = token
    return token


def check_anonymous_csrf(request: Request, presented: str | None) -> None:
    """Refuses a pre-sign-in form whose token is not the browser's cookie.

    Raises:
        CsrfTokenInvalidError: missing or different.
    """
    cookie = request.cookies.get(ANONYMOUS_CSRF_COOKIE, "")
    if not cookie or not presented or not secrets.compare_digest(cookie.encode(), presented.encode()):
        raise CsrfTokenInvalidError()


def public_url(request: Request, path: str) -> str:
    """``path`` as an absolute URL people can open (QR codes, shared links): the portal's public
    base URL, else the checkout's (the origin its QR codes encode), else this request's origin."""
    base = (
        portal_services(request).settings.public_base_url
        or checkout_settings(request).public_url
        or str(request.base_url)
    )
    return base.rstrip("/") + path


# ------------------------------------------------------------------------------ rendering


@dataclass(frozen=True)
class NavItem:
    """A link of the portal's menu."""

    href: str
    label: str
    active: bool


NAVIGATION: tuple[tuple[str, str], ...] = (
    ("", N_("Today")),
    ("/payments", N_("Payments")),
    ("/requests", N_("Requests")),
    ("/money", N_("Money")),
    ("/reports", N_("Reports")),
    ("/settings", N_("Settings")),
    ("/privacy", N_("Data & credit")),
)
"""The menu of a merchant's pages: a link shows when its GET route exists and the role allows
the permission that route requires."""


def _get_routes(app: FastAPI) -> dict[str, Permission | None]:
    cached: dict[str, Permission | None] | None = getattr(app.state, "portal_get_routes", None)
    if cached is None:
        cached = {
            route.path: route_permission(route) for route in api_routes(app) if "GET" in (route.methods or ())
        }
        app.state.portal_get_routes = cached
    return cached


def navigation(request: Request, member: Member) -> list[NavItem]:
    """The menu links this member may use, the current page's marked active."""
    routes = _get_routes(request.app)
    base = f"/portal/m/{member.merchant_id}"
    items = []
    for suffix, label in NAVIGATION:
        path = MERCHANT_PREFIX + suffix
        if path not in routes:
            continue
        needed = routes[path]
        if needed is not None and not member.may(needed):
            continue
        href = base + suffix
        active = request.url.path == href or (suffix != "" and request.url.path.startswith(href + "/"))
        items.append(NavItem(href, gettext(member.language, label), active))
    return items


def language_links(request: Request, language: str) -> list[dict[str, Any]]:
    """The language switcher: each language with the link that shows this page in it."""
    params = [(k, v) for k, v in request.query_params.multi_items() if k != LANGUAGE_PARAM]
    links = []
    for code in LANGUAGES:
        query = urlencode([*params, (LANGUAGE_PARAM, code)])
        links.append(
            {
                "code": code,
                "name": LANGUAGE_NAMES[code],
                "href": f"{request.url.path}?{query}",
                "current": code == language,
            }
        )
    return links


def _merchant_name(services: PortalServices, merchant_id: uuid.UUID) -> str:
    with services.sessions() as db:
        return db.scalar(select(Merchant.name).where(Merchant.id == merchant_id)) or ""


def render(
    request: Request,
    member: Member | None,
    template: str,
    /,
    *,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """``template`` as a page in the member's (or visitor's) language.

    The template gets, besides ``context``: ``_`` (gettext, with ``%(name)s`` values), ``idr``,
    ``pi``, ``member``, ``csrf`` (the value of every form's hidden ``csrf`` field), ``lang``,
    ``nav`` (the links the role may use), ``merchant_name``, ``signed_in``, ``static_url``,
    ``language_links`` (the switcher; ``other_language`` is the one to offer) and ``path``. A
    signed-in page outside a merchant (no ``member``) passes its session's ``csrf`` and
    ``signed_in=True`` in ``context``; values in ``context`` win.
    """
    services = portal_services(request)
    language = member.language if member is not None else language_of(request)
    csrf = member.csrf if member is not None else (str(context.pop("csrf", "")) or anonymous_csrf(request))
    links = language_links(request, language)
    values: dict[str, Any] = {
        "idr": idr,
        "pi": pi,
        "member": member,
        "csrf": csrf,
        "lang": language,
        "nav": navigation(request, member) if member is not None else [],
        "merchant_name": _merchant_name(services, member.merchant_id) if member is not None else "",
        "signed_in": member is not None,
        "static_url": STATIC_URL,
        "language_links": links,
        "other_language": next(link for link in links if not link["current"]),
        "path": request.url.path,
    }
    values.update(context)
    html = templates.render(template, language, **values)
    response = HTMLResponse(html, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    secure = services.settings.secure_cookies
    chosen = supported(request.query_params.get(LANGUAGE_PARAM))
    if chosen is not None:
        response.set_cookie(
            LANGUAGE_COOKIE, chosen, max_age=365 * 86400, httponly=True, samesite="lax", secure=secure
        )
    anonymous = getattr(request.state, "anonymous_csrf", None)
    if anonymous is not None and request.cookies.get(ANONYMOUS_CSRF_COOKIE) != anonymous:
        response.set_cookie(
            ANONYMOUS_CSRF_COOKIE,
            anonymous,
            httponly=True,
            samesite="strict",
            secure=secure,
            path=PORTAL_PREFIX,
        )
    return response


def redirect(path: str) -> RedirectResponse:
    """A 303 to ``path`` (after a form: the browser GETs the next page)."""
    return RedirectResponse(path, status_code=303)


# ------------------------------------------------------------------------------ refusal pages


def error_page(request: Request, status_code: int, code: str) -> HTMLResponse:
    """The page of a refusal or failure, in the visitor's language, without the session's menu."""
    language = language_of(request)
    message = gettext(language, REFUSAL_MESSAGES.get(code, GENERIC_MESSAGE))
    title = gettext(language, TITLES.get(status_code, GENERIC_TITLE))
    return render(request, None, "portal/error.html", status_code=status_code, title=title, message=message)


def _is_portal(request: Request) -> bool:
    return request.url.path == PORTAL_PREFIX or request.url.path.startswith(PORTAL_PREFIX + "/")


def install_handlers(app: FastAPI) -> None:
    """Answers errors on ``/portal`` pages with pages; other paths keep the API's JSON handlers.

    Call after ``api.errors.install_error_handlers``: the handlers it installed are wrapped.
    """
    api_handlers = dict(app.exception_handlers)

    def fallback(kind: type[Exception]) -> Callable[[Request, Exception], Awaitable[Response]]:
        handler = api_handlers[kind]

        async def call(request: Request, exc: Exception) -> Response:
            result = handler(request, exc)
            if isinstance(result, Awaitable):
                result = await result
            assert isinstance(result, Response)
            return result

        return call

    json_msc = fallback(MSCError)
    json_http = fallback(HTTPException)
    json_validation = fallback(RequestValidationError)
    json_unexpected = fallback(Exception)

    async def on_msc_error(request: Request, exc: Exception) -> Response:
        if not _is_portal(request):
            return await json_msc(request, exc)
        assert isinstance(exc, MSCError)
        if isinstance(exc, SignInRequiredError):
            return redirect(f"{LOGIN_PATH}?next={quote(exc.next_path, safe='/')}")
        status = exc.status_code if 400 <= exc.status_code < 600 else 500
        return await run_in_threadpool(error_page, request, status, exc.code)

    async def on_http_error(request: Request, exc: Exception) -> Response:
        if not _is_portal(request):
            return await json_http(request, exc)
        assert isinstance(exc, HTTPException)
        code = "http_not_found" if exc.status_code == 404 else "http_error"
        return await run_in_threadpool(error_page, request, exc.status_code, code)

    async def on_validation_error(request: Request, exc: Exception) -> Response:
        if not _is_portal(request):
            return await json_validation(request, exc)
        assert isinstance(exc, RequestValidationError)
        # A damaged id in the address is a page that does not exist, not a form error.
        in_path = any(err.get("loc", ("",))[0] == "path" for err in exc.errors())
        if in_path:
            return await run_in_threadpool(error_page, request, 404, "invalid_address")
        return await run_in_threadpool(error_page, request, 422, "invalid_form")

    app.add_exception_handler(MSCError, on_msc_error)
    app.add_exception_handler(HTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)

    async def on_unexpected(request: Request, exc: Exception) -> Response:
        if not _is_portal(request):
            return await json_unexpected(request, exc)
        log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
        try:
            return await run_in_threadpool(error_page, request, 500, "internal_error")
        except Exception:  # the page itself failed (the database is down): the plain answer
            log.exception("the error page failed on %s", request.url.path)
            return HTMLResponse("<!doctype html><title>500</title><p>Error</p>", status_code=500)

    app.add_exception_handler(Exception, on_unexpected)


def api_routes(app: FastAPI) -> Iterator[APIRoute]:
    """Every API route of ``app``, those of included routers too (FastAPI keeps them nested).

    The portal's routers are included without a prefix of their own, so a route's ``path`` is
    the path it answers at.
    """
    pending: list[BaseRoute] = list(app.routes)
    while pending:
        route = pending.pop(0)
        included = getattr(route, "original_router", None)
        if included is not None:
            pending.extend(included.routes)
        elif isinstance(route, APIRoute):
            yield route


def portal_routes(app: FastAPI) -> Iterator[APIRoute]:
    """The app's routes under ``/portal/m/{merchant_id}`` (for tests and documentation)."""
    for route in api_routes(app):
        if route.path.startswith("/portal/m/"):
            yield route
