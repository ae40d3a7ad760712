"""The checkout's routes under ``/pay``: pages customers open in the Pi Browser, their QR codes,
and the calls the page makes from the Pi SDK's callbacks.

* ``/pay/<merchant>``: the merchant's static link (the customer types the Rupiah amount);
  ``/pay/r/<request>``: a payment request (fixed amount). Each leads to ``/pay/q/<quote>``: the
  firm Pi amount with its countdown and the Pi button; a reloaded quote page whose quote already
  paid a payment goes on to that payment's receipt.
* ``/pay/receipt/<payment>``: follows the payment to "paid", then is the printable receipt.
* ``/pay/api/...``: JSON calls of ``checkout.js`` (approve, complete, incomplete, cancel, renew,
  progress). Errors answer ``{"error": code, "message": <the customer's sentence>}``.

Pages are server-rendered in the visitor's language (:mod:`webui.i18n`); forms and the page's
calls carry a CSRF token (double submit: a ``SameSite=Strict`` cookie and the same value in the
form or the ``X-CSRF-Token`` header). The pages' Content-Security-Policy allows scripts from this
origin and the Pi SDK's origin only, and no inline script or style.
"""

from __future__ import annotations

import hmac
import secrets
import uuid
from collections.abc import Callable
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import SQLAlchemyError

from api.payment_requests.endpoints import router as payment_requests_router
from audit.explorer import queries
from audit.explorer.endpoints import reading
from checkout import qr
from checkout.messages import customer_message
from checkout.schemas import ApproveRequest, CompleteRequest, PaymentProgress, PiPaymentRequest, QuoteRenewal
from checkout.service import Checkout, CheckoutPi, QuoteView, Receipt
from checkout.settings import CheckoutSettings
from common.errors import MSCError, NotFoundError
from common.sql.helpers import utcnow
from settlement.minting.ids import escrow_payment_id
from settlement.payments.models import Payment
from settlement.payments.service import PaymentService
from webui.i18n import (
    LANGUAGE_COOKIE,
    LANGUAGE_PARAM,
    N_,
    PageTemplates,
    gettext,
    negotiate,
    rupiah_input,
    supported,
)

PACKAGE = FilePath(__file__).parent
STATIC_DIR = PACKAGE / "static"
STATIC_URL = "/pay/static"
CSRF_COOKIE = "msc_csrf"
CSRF_FIELD = "csrf"
CSRF_HEADER = "X-CSRF-Token"

templates = PageTemplates([PACKAGE / "templates"])
router = APIRouter(prefix="/pay", tags=["checkout"], include_in_schema=False)


class CsrfError(MSCError):
    """The form or call does not carry the page's CSRF token."""

    code = "csrf_failed"
    status_code = 403

    def __init__(self) -> None:
        super().__init__("the CSRF token is missing or does not match; reload the page")


# ------------------------------------------------------------------------------ dependencies


def checkout_settings(request: Request) -> CheckoutSettings:
    """The app's checkout settings (``app.state.checkout_settings``), read from the environment once."""
    settings = getattr(request.app.state, "checkout_settings", None)
    if settings is None:
        settings = CheckoutSettings.from_env()
        request.app.state.checkout_settings = settings
    assert isinstance(settings, CheckoutSettings)
    return settings


def get_checkout(request: Request) -> Checkout:
    """The app's checkout (``app.state.checkout``), built on the app's services once.

    Its Pi app is ``app.state.checkout_pi`` if set (tests), else built from ``MSC_PI_*``.
    """
    checkout = getattr(request.app.state, "checkout", None)
    if checkout is None:
        state = request.app.state
        payments: PaymentService = state.payments
        pi = getattr(state, "checkout_pi", None) or CheckoutPi.build(state.sessions, payments)
        checkout = Checkout(state.sessions, state.quotes, payments, pi, state.tasks)
        state.checkout = checkout
    assert isinstance(checkout, Checkout)
    return checkout


Service = Annotated[Checkout, Depends(get_checkout)]
Settings = Annotated[CheckoutSettings, Depends(checkout_settings)]


def language_of(request: Request) -> str:
    """The visitor's language: ``?lang=``, then the cookie, then ``Accept-Language``, else Indonesian."""
    return negotiate(
        request.headers.get("accept-language"),
        (request.query_params.get(LANGUAGE_PARAM), request.cookies.get(LANGUAGE_COOKIE)),
    )


def content_security_policy(settings: CheckoutSettings) -> str:
    """The pages' policy: this origin, plus exactly the Pi SDK's origin for its script and calls."""
    sdk = settings.sdk_origin
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' {sdk}",
            "style-src 'self'",
            "img-src 'self' data:",
            "font-src 'self'",
            f"connect-src 'self' {sdk}",
            f"frame-src {sdk}",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            f"frame-ancestors {settings.frame_ancestors}",
        ]
    )


def _csrf_token(request: Request) -> tuple[str, bool]:
    """The visitor's CSRF token and whether it is new (to be set as a cookie)."""
    token = request.cookies.get(CSRF_COOKIE, "")
    if len(token) == 43 and token.replace("-", "").replace("_", "").isalnum():
        return token, False
    return secrets.token_urlsafe(32), True


def _check_csrf(request: Request, presented: str | None) -> None:
    cookie = request.cookies.get(CSRF_COOKIE, "")
    if not cookie or not presented or not hmac.compare_digest(cookie.encode(), presented.encode()):
        raise CsrfError()


def _render(
    request: Request, settings: CheckoutSettings, name: str, *, status: int = 200, **context: Any
) -> HTMLResponse:
    """A page in the visitor's language, with its CSP, language and CSRF cookies."""
    language = language_of(request)
    token, new_token = _csrf_token(request)
    html = templates.render(
        name,
        language,
        static=STATIC_URL,
        csrf=token,
        settings=settings,
        path=request.url.path,
        **context,
    )
    response = HTMLResponse(html, status_code=status)
    response.headers["Content-Security-Policy"] = content_security_policy(settings)
    response.headers["Cache-Control"] = "no-store"
    chosen = supported(request.query_params.get(LANGUAGE_PARAM))
    if chosen is not None:
        response.set_cookie(
            LANGUAGE_COOKIE,
            chosen,
            max_age=365 * 86400,
            httponly=True,
            samesite="lax",
            secure=settings.secure_cookies,
        )
    if new_token:
        response.set_cookie(
            CSRF_COOKIE, token, httponly=True, samesite="strict", secure=settings.secure_cookies, path="/pay"
        )
    return response


def _error_page(request: Request, settings: CheckoutSettings, error: MSCError) -> HTMLResponse:
    language = language_of(request)
    return _render(
        request,
        settings,
        "error.html",
        status=error.status_code,
        message=customer_message(error, language),
        code=error.code,
    )


def _json_error(request: Request, error: MSCError) -> JSONResponse:
    message = customer_message(error, language_of(request))
    return JSONResponse({"error": error.code, "message": message}, status_code=error.status_code)


def _page(request: Request, settings: CheckoutSettings, build: Callable[[], Response]) -> Response:
    try:
        return build()
    except MSCError as error:
        return _error_page(request, settings, error)


class CheckoutLinkNotFoundError(NotFoundError):
    """A checkout address whose id is not an id at all (a mistyped or damaged QR code)."""

    code = "checkout_link_not_found"

    def __init__(self, text: str) -> None:
        super().__init__(f"{text[:80]!r} is not a checkout link id")


def _link_id(text: str) -> uuid.UUID:
    """The id in a page's address; an unreadable one is a 404 page in the customer's language
    (not the API's JSON 422: the person holding the phone scanned a printed code)."""
    try:
        return uuid.UUID(text)
    except ValueError:
        raise CheckoutLinkNotFoundError(text) from None


async def _form(request: Request) -> dict[str, str]:
    """An ``application/x-www-form-urlencoded`` body (first value of each field)."""
    body = (await request.body()).decode("utf-8", errors="replace")
    return {key: values[0] for key, values in parse_qs(body, max_num_fields=10).items()}


LEDGER_STATUS = {
    "held": N_("Held in escrow"),
    "disputed": N_("Held in escrow (disputed)"),
    "released": N_("Released to the merchant"),
    "refunded": N_("Refunded to the payer"),
    "split": N_("Decided by the arbiter"),
}
"""The escrow deposit's status on the public ledger, as a customer reads it."""


def ledger_state(request: Request, payment_id: uuid.UUID) -> dict[str, Any] | None:
    """The payment's escrow deposit as the explorer's mirror shows it (None: not mirrored yet).

    Read through the explorer's own snapshot (same confirmation depth), so the receipt never shows
    more than the public explorer does.
    """
    try:
        with reading(request) as (conn, at, _settings):
            row = queries.escrow_payment(conn, at, "0x" + escrow_payment_id(payment_id).hex())
            if row is None:
                return None
            return {**row, "block": at.block}
    except (MSCError, SQLAlchemyError):
        return None  # no mirror here (the indexer does not run): the receipt links the explorer


def explorer_payment_url(payment_id: uuid.UUID) -> str:
    """The explorer's page of the payment's escrow deposit (keyed by the payment's escrow id)."""
    return f"/explorer/payment/0x{escrow_payment_id(payment_id).hex()}"


def _origin(request: Request, settings: CheckoutSettings) -> str:
    return settings.public_url.rstrip("/") or str(request.base_url).rstrip("/")


QrFormat = Literal["svg", "png"]
QR_DRAWERS: dict[str, tuple[Callable[[str], bytes], str]] = {
    "svg": (qr.svg, "image/svg+xml"),
    "png": (qr.png, "image/png"),
}


def _qr(
    request: Request, settings: CheckoutSettings, fmt: QrFormat, path: str, exists: Callable[[], object]
) -> Response:
    """The QR code of ``path`` on the checkout's public origin, if ``exists()`` finds its object."""

    def build() -> Response:
        exists()
        draw, media_type = QR_DRAWERS[fmt]
        data = draw(f"{_origin(request, settings)}{path}")
        return Response(data, media_type=media_type, headers={"Cache-Control": "public, max-age=86400"})

    return _page(request, settings, build)


# ------------------------------------------------------------------------------ static files


@router.get("/static/{name}")
def static_file(name: str) -> Response:
    """The checkout's CSS and JavaScript (files only: the CSP forbids inline code)."""
    path = (STATIC_DIR / name).resolve()
    if path.parent != STATIC_DIR.resolve() or not path.is_file():
        return Response(status_code=404)
    return FileResponse(path, headers={"Cache-Control": "public, max-age=300"})


# ------------------------------------------------------------------------------ JSON calls


def _json_call(request: Request, call: Callable[[], dict[str, Any]]) -> Response:
    """A page's JSON call: its CSRF token first, then ``call``; a refusal is the error envelope
    with the customer's sentence in their language."""
    try:
        _check_csrf(request, request.headers.get(CSRF_HEADER))
        return JSONResponse(call())
    except MSCError as error:
        return _json_error(request, error)


def _payment_answer(payment: Payment | None) -> dict[str, Any]:
    """Where the page goes next for ``payment`` (all ``None`` when there is none)."""
    if payment is None:
        return {"payment_id": None, "status": None, "receipt_url": None}
    receipt_url = f"/pay/receipt/{payment.id}"
    return {"payment_id": str(payment.id), "status": payment.status, "receipt_url": receipt_url}


@router.post("/api/approve")
def api_approve(data: ApproveRequest, request: Request, checkout: Service) -> Response:
    """``onReadyForServerApproval``."""

    def approve() -> dict[str, Any]:
        payment = checkout.approve(data.pi_payment_id, data.quote_id, data.access_token)
        return {"payment_id": str(payment.id), "status": payment.status}

    return _json_call(request, approve)


@router.post("/api/complete")
def api_complete(data: CompleteRequest, request: Request, checkout: Service) -> Response:
    """``onReadyForServerCompletion``."""
    return _json_call(
        request,
        lambda: _payment_answer(checkout.complete(data.pi_payment_id, data.txid, data.access_token)),
    )


@router.post("/api/incomplete")
def api_incomplete(data: PiPaymentRequest, request: Request, checkout: Service) -> Response:
    """``onIncompletePaymentFound``: settles the earlier visit's payment before a new one starts."""
    return _json_call(
        request,
        lambda: _payment_answer(checkout.settle_incomplete(data.pi_payment_id, data.access_token)),
    )


@router.post("/api/cancel")
def api_cancel(data: PiPaymentRequest, request: Request, checkout: Service) -> Response:
    """``onCancel``: the customer closed the Pi dialog."""

    def cancel() -> dict[str, Any]:
        payment = checkout.cancelled(data.pi_payment_id, data.access_token)
        return {"status": payment.status if payment is not None else None}

    return _json_call(request, cancel)


@router.post("/api/renew")
def api_renew(data: QuoteRenewal, request: Request, checkout: Service) -> Response:
    """A new firm quote replacing an expired one: the page shows its new amount and countdown."""

    def renew() -> dict[str, Any]:
        view = checkout.renew(data.quote_id)
        return {"quote_id": str(view.quote.id), "url": f"/pay/q/{view.quote.id}"}

    return _json_call(request, renew)


@router.get("/api/payments/{payment_id}")
def api_progress(payment_id: uuid.UUID, request: Request, checkout: Service) -> Response:
    """Where a payment is (the page polls this until it is paid or failed)."""
    try:
        receipt = checkout.receipt(payment_id)
    except MSCError as error:
        return _json_error(request, error)
    return JSONResponse(_progress(receipt, language_of(request)).model_dump(mode="json"))


def _progress(receipt: Receipt, language: str) -> PaymentProgress:
    if receipt.in_escrow:
        message = gettext(language, "Paid. The merchant's Rupiah is held in escrow on the public ledger.")
    elif receipt.paid:
        message = gettext(
            language, "Paid. Your Pi is verified on the Pi ledger; the merchant's MSC is being minted."
        )
    elif receipt.failed:
        message = gettext(language, "This payment did not go through. Nothing was credited.")
    else:
        message = gettext(language, "Waiting for your Pi payment to be confirmed…")
    payment = receipt.payment
    return PaymentProgress(
        payment_id=payment.id,
        status=payment.status,
        paid=receipt.paid,
        in_escrow=receipt.in_escrow,
        failed=receipt.failed,
        receipt_url=f"/pay/receipt/{payment.id}",
        message=message,
    )


# ------------------------------------------------------------------------------ request links


@router.get("/r/{request_id}/qr.{fmt}")
def request_qr(
    request_id: uuid.UUID, fmt: QrFormat, request: Request, settings: Settings, checkout: Service
) -> Response:
    """The payment request's checkout link as a QR code (``svg`` or ``png``)."""
    return _qr(request, settings, fmt, f"/pay/r/{request_id}", lambda: checkout.request(request_id))


@router.get("/r/{request_id}", response_class=HTMLResponse)
def request_page(request_id: str, request: Request, settings: Settings, checkout: Service) -> Response:
    """A payment request: merchant, reference, Rupiah amount, and the button to a firm Pi price."""

    def build() -> Response:
        payment_request, merchant = checkout.request(_link_id(request_id))
        return _render(request, settings, "request.html", merchant=merchant, payment_request=payment_request)

    return _page(request, settings, build)


@router.post("/r/{request_id}")
async def request_quote(
    request_id: uuid.UUID, request: Request, settings: Settings, checkout: Service
) -> Response:
    """Prices the request at a firm quote and goes to its page."""
    form = await _form(request)

    def build() -> Response:
        _check_csrf(request, form.get(CSRF_FIELD))
        payment_request, _merchant = checkout.request(request_id)
        view = checkout.quote(payment_request.merchant_id, None, request_id)
        return RedirectResponse(f"/pay/q/{view.quote.id}", status_code=303)

    return _page(request, settings, build)


# ------------------------------------------------------------------------------ quotes, receipts


@router.get("/q/{quote_id}", response_class=HTMLResponse)
def quote_page(quote_id: str, request: Request, settings: Settings, checkout: Service) -> Response:
    """The firm Pi price with its countdown and the Pi button (or, if paid already, the receipt)."""

    def build() -> Response:
        quote = _link_id(quote_id)
        paid_by = checkout.payment_of_quote(quote)
        if paid_by is not None:
            return RedirectResponse(f"/pay/receipt/{paid_by}", status_code=303)
        view = checkout.quote_view(quote)
        return _render(request, settings, "quote.html", view=view, expired=_expired(view))

    return _page(request, settings, build)


def _expired(view: QuoteView) -> bool:
    return utcnow() >= view.quote.expires_at


@router.post("/q/{quote_id}/renew")
async def renew_quote(
    quote_id: uuid.UUID, request: Request, settings: Settings, checkout: Service
) -> Response:
    """A new firm quote for an expired one (the form the page shows when its countdown ends)."""
    form = await _form(request)

    def build() -> Response:
        _check_csrf(request, form.get(CSRF_FIELD))
        view = checkout.renew(quote_id)
        return RedirectResponse(f"/pay/q/{view.quote.id}", status_code=303)

    return _page(request, settings, build)


@router.get("/receipt/{payment_id}", response_class=HTMLResponse)
def receipt_page(payment_id: str, request: Request, settings: Settings, checkout: Service) -> Response:
    """The payment's progress, then its printable receipt (bukti transaksi)."""

    def build() -> Response:
        receipt = checkout.receipt(_link_id(payment_id))
        payment = receipt.payment.id
        progress = _progress(receipt, language_of(request))
        return _render(
            request,
            settings,
            "receipt.html",
            receipt=receipt,
            progress=progress,
            explorer_url=explorer_payment_url(payment),
            ledger=ledger_state(request, payment),
            ledger_status=LEDGER_STATUS,
            receipt_link=f"{_origin(request, settings)}/pay/receipt/{payment}",
        )

    return _page(request, settings, build)


@router.get("/receipt/{payment_id}/qr.svg")
def receipt_qr(payment_id: uuid.UUID, request: Request, settings: Settings, checkout: Service) -> Response:
    """The receipt's own address as a QR code (printed on the receipt)."""
    return _qr(request, settings, "svg", f"/pay/receipt/{payment_id}", lambda: checkout.receipt(payment_id))


# ------------------------------------------------------------------------------ merchant links


@router.get("/{merchant_id}/qr.{fmt}")
def merchant_qr(
    merchant_id: uuid.UUID, fmt: QrFormat, request: Request, settings: Settings, checkout: Service
) -> Response:
    """The merchant's static checkout link as a QR code (``svg`` or ``png``), for the stall's card."""
    return _qr(request, settings, fmt, f"/pay/{merchant_id}", lambda: checkout.merchant(merchant_id))


@router.get("/{merchant_id}", response_class=HTMLResponse)
def merchant_page(merchant_id: str, request: Request, settings: Settings, checkout: Service) -> Response:
    """The merchant's static link: its name and kelurahan and a Rupiah amount to type."""
    return _page(
        request,
        settings,
        lambda: _render(
            request,
            settings,
            "merchant.html",
            merchant=checkout.merchant(_link_id(merchant_id)),
            amount_text="",
            error=None,
        ),
    )


@router.post("/{merchant_id}")
async def merchant_quote(
    merchant_id: uuid.UUID, request: Request, settings: Settings, checkout: Service
) -> Response:
    """Prices the typed amount at a firm quote and goes to its page (or shows the form again)."""
    form = await _form(request)

    def build() -> Response:
        _check_csrf(request, form.get(CSRF_FIELD))
        merchant = checkout.merchant(merchant_id)
        text = form.get("amount", "")
        sen = rupiah_input(text)
        if sen is None or sen <= 0:
            language = language_of(request)
            error = gettext(language, "Type the amount in Rupiah, for example 12.000.")
            return _render(
                request,
                settings,
                "merchant.html",
                status=422,
                merchant=merchant,
                amount_text=text,
                error=error,
            )
        view = checkout.quote(merchant_id, sen, None)
        return RedirectResponse(f"/pay/q/{view.quote.id}", status_code=303)

    return _page(request, settings, build)


routers = (payment_requests_router, router)
"""Everything the checkout adds to the API app: the merchants' payment-request API and the pages."""

__all__ = ["router", "routers"]
