"""Refunding a payment from the portal (``/portal/m/{merchant_id}/payments/{payment_id}/refund``).

Owners only (``Permission.REFUND``; the form's CSRF token is checked by :func:`portal.web.member`).
The page is the payment's detail with, in its refund block, where the money is (held in escrow,
or released), the most that can be refunded now, the form (full or part, in Rupiah, with a reason)
and the payment's refunds with their state. The domain work is :mod:`merchant_refunds`: the page
records the refund (one per form submission) and takes it to the chain as far as it goes at once;
the worker's ``refunds.resume`` finishes what a slow chain leaves under way.

A merchant whose escrow address is its own wallet signs the refund in the browser: ``refunds.js``
asks ``window.ethereum`` (EIP-1193 ``eth_signTypedData_v4``) to sign the ``RefundAuthorization`` the
page carries (in a ``data-`` attribute; the CSP allows no inline script) with the amount filled in,
then posts the signature, which the service checks before anything is recorded.
"""

from __future__ import annotations

import json
import re
import secrets
import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from accounts.models import Permission
from chain import eip712
from chain.errors import ChainError
from common.errors import MSCError, ValidationError
from merchant_refunds.assembly import app_refunds
from merchant_refunds.errors import RefundSignatureError, RefundsUnavailableError
from merchant_refunds.models import RefundRoute
from merchant_refunds.service import MerchantRefundService, Refundable, RefundRequest, WalletAuthorization
from portal import sales
from portal.pages.payments import status_label
from portal.services import portal_services
from portal.web import Member, member, redirect, render
from webui.i18n import N_, gettext, rupiah_input

router = APIRouter(prefix="/portal/m/{merchant_id}", tags=["portal"], include_in_schema=False)
Refunder = Annotated[Member, Depends(member(Permission.REFUND))]

_SUBMISSION = re.compile(r"[0-9a-f]{32}")

STATES: dict[str, str] = {
    "requested": N_("Asked, not sent yet"),
    "signed": N_("Signed, being sent"),
    "sent": N_("Sent, waiting for confirmation"),
    "confirmed": N_("Refunded"),
    "failed": N_("Not refunded, nothing moved"),
}
ROUTES: dict[str, str] = {
    "escrow": N_("from the escrow"),
    "guarantee": N_("from the guarantee fund"),
}
ERRORS: dict[str, str] = {
    "refund_amount_invalid": N_("Type an amount in whole Rupiah, at most the refundable amount."),
    "refund_reason_invalid": N_("Write why you refund (3 to 500 characters of plain text)."),
    "refund_in_progress": N_("Another refund of this payment is under way. Wait until it is done."),
    "refund_not_possible": N_("This payment cannot be refunded now."),
    "refund_signature_invalid": N_("Your wallet's signature was not accepted. Sign the refund again."),
    "refunds_unavailable": N_("Refunds are not available right now. Try again later."),
    "validation_error": N_("The form is damaged. Reload the page and try again."),
}
DONE = N_("Refund recorded. The customer gets the money back as soon as the chain confirms it.")
_PASS_THROUGH = ("session_invalid", "permission_denied", "csrf_token_invalid", "portal_not_found")


def refund_service(request: Request) -> MerchantRefundService:
    """The app's refund service (``app.state.refunds``, built from the environment on first use).

    Raises:
        RefundsUnavailableError: no platform signer or no deployed platform.
    """
    return app_refunds(request.app.state)


def _page(
    request: Request,
    owner: Member,
    payment_id: uuid.UUID,
    *,
    error: str = "",
    done: bool = False,
    reason: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    """The payment's page with its refund block (``error``: an error code shown above the form)."""
    services = portal_services(request)
    language = owner.language
    with services.sessions() as db:
        detail = sales.payment_detail(db, owner.merchant_id, payment_id)
        refundable: Refundable | None = None
        refunds = []
        typed = ""
        try:
            service = refund_service(request)
            refundable = service.refundable(db, owner.merchant_id, payment_id)
            refunds = service.refunds_of(db, owner.merchant_id, payment_id)
            if refundable.route == RefundRoute.ESCROW and not refundable.custodial and refundable.maximum > 0:
                # The amount (1 sen here) is filled in by refunds.js before the wallet signs.
                data = service.typed_data(db, owner.merchant_id, payment_id, 1, secrets.token_bytes(32))
                typed = json.dumps(eip712.as_json(data))
        except RefundsUnavailableError:
            error = error or "refunds_unavailable"
        except ChainError:
            error = error or "refunds_unavailable"
    return render(
        request,
        owner,
        "portal/refunds/refund.html",
        status_code=status_code,
        detail=detail,
        payment=detail.payment,
        label=lambda s: status_label(language, s),
        state_label=lambda state: _label(language, STATES, state),
        route_label=lambda route: _label(language, ROUTES, route),
        receipt_url=f"/pay/receipt/{payment_id}",
        refund_url=f"/portal/m/{owner.merchant_id}/payments/{payment_id}/refund",
        can_refund=False,
        refundable=refundable,
        refunds=refunds,
        submission=uuid.uuid4().hex,
        typed_json=typed,
        reason=reason,
        error=gettext(language, ERRORS.get(error, ERRORS["validation_error"])) if error else "",
        done=gettext(language, DONE) if done else "",
        jakarta=sales.JAKARTA,
    )


def _wallet_authorization(signature: str, nonce: str, valid_before: str) -> WalletAuthorization:
    """The browser wallet's signed fields from the form.

    Raises:
        RefundSignatureError: a field is not hex or not a number (a damaged form).
    """
    try:
        return WalletAuthorization(
            bytes.fromhex(nonce.removeprefix("0x")),
            int(valid_before),
            bytes.fromhex(signature.removeprefix("0x")),
        )
    except ValueError:
        raise RefundSignatureError("fields are malformed") from None


def _label(language: str, labels: dict[str, str], key: str) -> str:
    """``key`` in words, in ``language`` (the key itself when it has no label)."""
    return gettext(language, labels.get(key, key))


@router.get("/payments/{payment_id}/refund", response_class=HTMLResponse)
def refund_form(request: Request, owner: Refunder, payment_id: uuid.UUID, done: str = "") -> HTMLResponse:
    """The payment with the refund form: held or released, the refundable maximum, its refunds."""
    return _page(request, owner, payment_id, done=done == "1")


@router.post("/payments/{payment_id}/refund", response_class=HTMLResponse)
def refund(
    request: Request,
    owner: Refunder,
    payment_id: uuid.UUID,
    submission: Annotated[str, Form(max_length=64)],
    reason: Annotated[str, Form(max_length=2000)] = "",
    kind: Annotated[str, Form(max_length=16)] = "partial",
    amount: Annotated[str, Form(max_length=40)] = "",
    signature: Annotated[str, Form(max_length=1002)] = "",
    nonce: Annotated[str, Form(max_length=70)] = "",
    valid_before: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    """Refunds the whole refundable amount or ``amount`` Rupiah with ``reason``; the same
    submission refunds once. A refusal shows the page again with why (nothing recorded or sent)."""
    services = portal_services(request)
    try:
        if not _SUBMISSION.fullmatch(submission) or kind not in ("full", "partial"):
            raise ValidationError("the refund form is damaged")
        service = refund_service(request)
        if kind == "full":
            with services.sessions() as db:
                sen: int | None = service.refundable(db, owner.merchant_id, payment_id).maximum
        else:
            sen = rupiah_input(amount)
        service.submit(
            RefundRequest(
                merchant_id=owner.merchant_id,
                payment_id=payment_id,
                amount=sen if sen is not None else -1,
                reason=reason,
                idempotency_key=f"portal:{submission}",
                requested_by_user_id=owner.user_id,
                authorization=_wallet_authorization(signature, nonce, valid_before) if signature else None,
            )
        )
    except MSCError as exc:
        if exc.code in _PASS_THROUGH or exc.code in ("refund_payment_not_found", "portal_payment_not_found"):
            raise
        code = exc.code if exc.code in ERRORS else "validation_error"
        status = exc.status_code if 400 <= exc.status_code < 600 else 409
        return _page(request, owner, payment_id, error=code, reason=reason, status_code=status)
    return redirect(f"/portal/m/{owner.merchant_id}/payments/{payment_id}/refund?done=1")
