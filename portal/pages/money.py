"""The Money page of a merchant (``/portal/m/{merchant_id}/money``): what it holds and taking it out.

Shown to owners only (``Permission.REDEEM``): MSC in escrow per payment with its release date and
released MSC per address (read from the chain; see :mod:`merchant_money.holdings`), the bank
account on file, the redeem form, payouts with their status history and, for a platform-managed
wallet, export and rotation. Every form carries the session's CSRF token; redeeming, exporting,
rotating and changing the bank account also need a TOTP (or recovery) code verified for that
action, after every check that needs no code (a typo does not use the code up).

A merchant with its own wallet signs the redemption in the browser: ``money.js`` asks
``window.ethereum`` (EIP-1193 ``eth_signTypedData_v4``) to sign the typed data the page carries
(in a non-executable ``application/json`` element; the CSP allows no inline script) with the
amount filled in, then posts the signature.
"""

from __future__ import annotations

import json
import logging
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from accounts.models import Permission
from api.redemptions.endpoints import get_redemptions
from common.errors import MSCError, ValidationError
from custody import repository as custody_keys
from custody.models import CustodyKeyStatus
from merchant_money import bank_accounts, holdings, notices
from merchant_money._merchants import address_of
from merchant_money.errors import AmountInvalidError, NotCustodialError
from merchant_money.redeem import PortalRedemptions, new_submission, payouts_of
from merchant_money.wallet import WalletMoves, moves_of
from portal.services import portal_services
from portal.web import Member, member, redirect, render, second_factor
from settlement.redemption.errors import InvalidAuthorizationError
from settlement.redemption.service import Authorization
from webui.i18n import N_, gettext, rupiah_input

router = APIRouter(prefix="/portal/m/{merchant_id}", tags=["portal"], include_in_schema=False)
Owner = Annotated[Member, Depends(member(Permission.REDEEM))]
BankEditor = Annotated[Member, Depends(member(Permission.CHANGE_BANK_ACCOUNT))]
log = logging.getLogger(__name__)

PAYOUT_STATUS: dict[str, str] = {
    "requested": N_("Requested"),
    "processing": N_("Being transferred"),
    "paid": N_("Paid to your bank account"),
    "failed": N_("Transfer failed"),
    "reversed": N_("Returned to your wallet"),
}
MOVE_STATUS: dict[str, str] = {
    "pending": N_("Being sent"),
    "done": N_("Sent"),
    "abandoned": N_("Not sent (nothing moved)"),
}
NOTICES: dict[str, str] = {
    "bank_account_changed": N_("The payout bank account was changed to %(detail)s."),
    "wallet_rotated": N_("Your platform wallet has a new address: %(detail)s."),
    "wallet_exported": N_("Your MSC was moved out of the platform wallet to %(detail)s."),
}
DONE: dict[str, str] = {
    "redeemed": N_("Redemption received. The Rupiah is on its way to your bank account."),
    "bank": N_("Bank account saved. Every owner has been told."),
    "exported": N_("Your MSC was sent to your own wallet."),
    "rotated": N_("Your platform wallet has a new address; its MSC was moved there."),
    "swept": N_("The MSC of your old wallet address was moved to the current one."),
}
ERRORS: dict[str, str] = {
    "second_factor_required": N_("The code from your authenticator app is missing, wrong or already used."),
    "amount_invalid": N_("Type the amount in whole Rupiah, e.g. 25.000."),
    "insufficient_balance": N_("Your wallet holds less MSC than that amount."),
    "bank_account_missing": N_("Add your bank account first: payouts need one."),
    "bank_account_invalid": N_(
        "Check the bank account: bank code 2-16 letters or digits, account number 6-20 digits, "
        "holder name in letters."
    ),
    "bank_account_changed": N_("The bank account was changed meanwhile. Check it and try again."),
    "destination_refused": N_("MSC cannot be sent to that address. Give the address of your own wallet."),
    "nothing_to_move": N_("Your platform wallet holds no MSC to move."),
    "not_custodial": N_("Your shop uses its own wallet: sign with it instead."),
    "invalid_authorization": N_("The wallet's signature was not accepted. Sign again."),
    "authorization_used": N_("That signature was used already. Sign again."),
    "redemption_abandoned": N_("That redemption did not go through; nothing moved. Try again."),
    "validation_error": N_("The form is damaged. Reload the page and try again."),
    "chain_error": N_("The blockchain is busy. Nothing was lost: reload this page in a minute to finish."),
    "transaction_not_mined": N_(
        "The blockchain is busy. Nothing was lost: reload this page in a minute to finish."
    ),
}
CHAIN_DOWN = N_("The blockchain cannot be read right now; figures will be back shortly.")


# ------------------------------------------------------------------------------ services


def _redemptions(request: Request) -> PortalRedemptions:
    services = portal_services(request)
    return PortalRedemptions(services.sessions, get_redemptions(request), services.custody)


def _wallet(request: Request) -> WalletMoves | None:
    services = portal_services(request)
    custody = services.custody
    if custody is None:
        return None
    return WalletMoves(services.sessions, get_redemptions(request), custody, clock=services.clock)


def _custodial_wallet(request: Request, owner: Member) -> WalletMoves:
    """The shop's platform-managed wallet moves.

    Raises:
        NotCustodialError: the shop signs with its own wallet (or custody is off in this process).
    """
    wallet = _wallet(request)
    if wallet is None:
        raise NotCustodialError(owner.merchant_id)
    return wallet


def _custodial_keys(request: Request, merchant_id: uuid.UUID) -> list[tuple[str, bool]]:
    """The merchant's custodial addresses (current first or not), from SQL: known even when the
    chain or the deployment cannot be read."""
    with portal_services(request).sessions() as db:
        return [
            (k.address, k.status == CustodyKeyStatus.CURRENT)
            for k in custody_keys.of_merchant(db, merchant_id)
        ]


def _chain_reads(
    request: Request, merchant_id: uuid.UUID, on_file: str, custodial: list[tuple[str, bool]]
) -> tuple[holdings.Holdings | None, dict[str, Any] | None]:
    """The holdings and, for an own wallet, the typed data to sign; (None, None) while the chain
    (or the deployment) cannot be read: the rest of the page still works."""
    try:
        portal_redemptions = _redemptions(request)
        with portal_services(request).sessions() as db:
            held = holdings.read(db, portal_redemptions.redemptions.platform, merchant_id, on_file, custodial)
        typed = None if custodial else portal_redemptions.wallet_typed_data(merchant_id)
    except (MSCError, OSError, ValueError) as exc:
        log.warning("money page of %s: chain not readable: %s", merchant_id, type(exc).__name__)
        return None, None
    return held, typed


# ------------------------------------------------------------------------------ page


def _page(request: Request, owner: Member, *, error: str = "", status_code: int = 200) -> HTMLResponse:
    """The money page, with ``error`` (an error code) shown above the forms when given."""
    services = portal_services(request)
    language = owner.language
    custodial = _custodial_keys(request, owner.merchant_id)
    with services.sessions() as db:
        on_file = address_of(db, owner.merchant_id)
        account = bank_accounts.current(db, owner.merchant_id)
        open_notices = [
            {"id": n.id, "text": gettext(language, NOTICES.get(n.kind, "%(detail)s"), detail=n.detail)}
            for n in notices.open_for(db, owner.merchant_id, owner.user_id)
        ]
    held, typed = _chain_reads(request, owner.merchant_id, on_file, custodial)
    payouts = [
        {
            "id": payout.id,
            "amount": payout.amount,
            "status": gettext(language, PAYOUT_STATUS.get(payout.status, payout.status)),
            "code": payout.status,
            "created": payout.created_at,
            "history": [
                {"to": gettext(language, PAYOUT_STATUS.get(h.to_status, h.to_status)), "at": h.at}
                for h in history
            ],
        }
        for payout, history in payouts_of(services.sessions, owner.merchant_id)
    ]
    moves = [
        {"move": m, "status": gettext(language, MOVE_STATUS.get(m.status, m.status))}
        for m in moves_of(services.sessions, owner.merchant_id)
    ]
    done = request.query_params.get("done", "")
    return render(
        request,
        owner,
        "portal/money/money.html",
        status_code=status_code,
        held=held,
        chain_down=gettext(language, CHAIN_DOWN) if held is None else "",
        account=account,
        notices=open_notices,
        custodial=bool(custodial),
        current_address=next((a for a, current in custodial if current), on_file),
        typed_json=json.dumps(typed) if typed else "",
        typed_shown=json.dumps(typed, indent=1) if typed else "",
        submission=new_submission(),
        payouts=payouts,
        moves=moves,
        done=gettext(language, DONE[done]) if done in DONE else "",
        error=gettext(language, ERRORS.get(error, "validation_error")) if error else "",
        base=f"/portal/m/{owner.merchant_id}/money",
    )


def _refused(request: Request, owner: Member, exc: MSCError) -> HTMLResponse:
    """The page again with the refusal explained (nothing changed); session and permission
    errors are left to the portal's handlers."""
    code = exc.code if exc.code in ERRORS else "validation_error"
    status = exc.status_code if 400 <= exc.status_code < 600 else 409
    return _page(request, owner, error=code, status_code=status)


@router.get("/money", response_class=HTMLResponse)
def money(request: Request, owner: Owner) -> HTMLResponse:
    """Escrow holdings, released balance, bank account, redeem, payouts, wallet."""
    return _page(request, owner)


# ------------------------------------------------------------------------------ forms

_PASS_THROUGH = ("session_invalid", "permission_denied", "csrf_token_invalid", "portal_not_found")


def _run(request: Request, owner: Member, action: Any, done: str) -> Response:
    """Runs a form's action; a refusal re-renders the page with its reason, success redirects."""
    try:
        action()
    except MSCError as exc:
        if exc.code in _PASS_THROUGH:
            raise
        return _refused(request, owner, exc)
    return redirect(f"/portal/m/{owner.merchant_id}/money?done={done}")


@router.post("/money/redeem", response_class=HTMLResponse)
def redeem(
    request: Request,
    owner: Owner,
    amount: Annotated[str, Form(max_length=40)],
    submission: Annotated[str, Form(max_length=64)],
    code: Annotated[str, Form(max_length=40)] = "",
    signature: Annotated[str, Form(max_length=140)] = "",
    nonce: Annotated[str, Form(max_length=70)] = "",
    valid_after: Annotated[str, Form(max_length=20)] = "0",
    valid_before: Annotated[str, Form(max_length=20)] = "0",
) -> Response:
    """Redeems the amount: signed by the custodial wallet after the code, or by the owner's own
    wallet in the browser (the signature fields). A double submit redeems once."""
    sen = rupiah_input(amount)
    service = _redemptions(request)

    def confirm() -> None:
        second_factor(request, owner, code, Permission.REDEEM)

    def act() -> None:
        if sen is None:
            raise AmountInvalidError("is not a whole number of Rupiah")
        if signature:
            with portal_services(request).sessions() as db:
                sender = address_of(db, owner.merchant_id)
            auth = _authorization(sender, sen, signature, nonce, valid_after, valid_before)
            service.redeem_signed(owner.merchant_id, submission, sen, auth, confirm)
        else:
            service.redeem_custodial(owner.merchant_id, submission, sen, confirm)

    return _run(request, owner, act, "redeemed")


def _authorization(
    sender: str, amount: int, signature: str, nonce: str, valid_after: str, valid_before: str
) -> Authorization:
    """The browser wallet's authorization from the form's fields.

    Raises:
        InvalidAuthorizationError: a field is not hex or not a number.
    """
    try:
        return Authorization(
            sender=sender,
            value=amount,
            valid_after=int(valid_after),
            valid_before=int(valid_before),
            nonce=bytes.fromhex(nonce.removeprefix("0x")),
            signature=bytes.fromhex(signature.removeprefix("0x")),
        )
    except ValueError:
        raise InvalidAuthorizationError("the signed fields are malformed") from None


@router.post("/money/bank-account", response_class=HTMLResponse)
def change_bank_account(
    request: Request,
    owner: BankEditor,
    bank_code: Annotated[str, Form(max_length=40)],
    account_number: Annotated[str, Form(max_length=40)],
    holder_name: Annotated[str, Form(max_length=200)],
    replaces: Annotated[str, Form(max_length=40)] = "",
    code: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Changes the bank account on file (with the code); every owner gets a notice."""
    services = portal_services(request)

    def act() -> None:
        try:
            shown = uuid.UUID(replaces) if replaces else None
        except ValueError:
            raise ValidationError("damaged form", field="replaces") from None
        bank_accounts.change_confirmed(
            services.sessions,
            owner.merchant_id,
            (bank_code, account_number, holder_name),
            owner.user_id,
            shown,
            lambda: second_factor(request, owner, code, Permission.CHANGE_BANK_ACCOUNT),
            services.clock(),
        )

    return _run(request, owner, act, "bank")


@router.post("/money/export", response_class=HTMLResponse)
def export(
    request: Request,
    owner: Owner,
    destination: Annotated[str, Form(max_length=100)],
    submission: Annotated[str, Form(max_length=64)],
    code: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """Moves all MSC of the platform wallet to the owner's own address (with the code)."""

    def act() -> None:
        _custodial_wallet(request, owner).export(
            owner.merchant_id,
            submission,
            destination,
            owner.user_id,
            lambda: second_factor(request, owner, code, Permission.REDEEM),
        )

    return _run(request, owner, act, "exported")


@router.post("/money/rotate", response_class=HTMLResponse)
def rotate(
    request: Request,
    owner: Owner,
    submission: Annotated[str, Form(max_length=64)],
    code: Annotated[str, Form(max_length=40)] = "",
) -> Response:
    """A new platform wallet address; the MSC moves there (with the code)."""

    def act() -> None:
        _custodial_wallet(request, owner).rotate(
            owner.merchant_id,
            submission,
            owner.user_id,
            lambda: second_factor(request, owner, code, Permission.REDEEM),
        )

    return _run(request, owner, act, "rotated")


@router.post("/money/sweep", response_class=HTMLResponse)
def sweep(
    request: Request,
    owner: Owner,
    submission: Annotated[str, Form(max_length=64)],
) -> Response:
    """Moves MSC released to an old (rotated) platform-wallet address to the current one. It stays
    the shop's, between its own addresses, so no code is asked (the rotation asked one)."""

    def act() -> None:
        _custodial_wallet(request, owner).sweep(owner.merchant_id, submission, owner.user_id)

    return _run(request, owner, act, "swept")


@router.post("/money/notices/{notice_id}/dismiss", response_class=HTMLResponse)
def dismiss_notice(request: Request, owner: Owner, notice_id: uuid.UUID) -> Response:
    """Hides one of the owner's notices."""
    services = portal_services(request)
    with services.sessions.begin() as db:
        notices.dismiss(db, owner.merchant_id, owner.user_id, notice_id, services.clock())
    return redirect(f"/portal/m/{owner.merchant_id}/money")
