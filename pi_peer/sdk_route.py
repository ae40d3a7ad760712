"""The peer's stand-in of the Pi SDK for browsers: ``/sdk/pi-sdk.js``, its calls, and ``GET /v2/me``.

The checkout page loads the Pi SDK from the URL its settings name: Pi's own script in the Pi
Browser, this one in development and tests. It has the same interface and callback order
(``window.Pi.init``, ``Pi.authenticate(scopes, onIncompletePaymentFound)`` resolving
``{accessToken, user}``, ``Pi.createPayment(data, {onReadyForServerApproval,
onReadyForServerCompletion, onCancel, onError})``); its "wallet" is a small dialog whose Pay
button asks the peer to sign and submit a real Stellar transaction from the Pioneer's key.

* ``POST /_peer/sdk/authenticate`` ``{"uid"?}``: signs in the Pioneer ``uid`` (a new funded one
  when unknown), answers an access token, the user and their open payment, if any.
* ``GET /v2/me`` with ``Authorization: Bearer <token>``: the Platform API's answer (401 for an
  unknown token); platform faults apply (``/_peer/faults`` target ``platform``).
* ``POST /_peer/sdk/payments`` ``{"access_token", "amount", "memo", "metadata"}``: ``Pi.createPayment``.
* ``POST /_peer/sdk/payments/{id}/pay`` ``{"access_token"}``: the wallet waits (up to 60 s) for
  the developer's approval, signs and submits the payment transaction, answers the txid.
* ``POST /_peer/sdk/payments/{id}/cancel`` ``{"access_token"}``: the Pioneer closes the dialog.

Bodies are sent as ``text/plain`` JSON and answers carry ``Access-Control-Allow-Origin: *``: the
page's origin differs from the peer's, and simple requests need no preflight.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from stellar_sdk import Account, Asset, Keypair, TransactionBuilder

from pi_peer import jsonnum
from pi_peer.ledger import SubmitRejectedError, stroops_to_str
from pi_peer.platform import PeerPayment, PeerUser, PlatformError
from pi_peer.platform_api import json_response, parse_amount, payment_dto
from pi_peer.state import PeerState

SDK_FILE = Path(__file__).parent / "static" / "pi-sdk.js"
NEW_USER_BALANCE = 1_000 * 10_000_000
"""Stroops a Pioneer signed in for the first time starts with (1000 Pi)."""
MAX_APPROVAL_WAIT = 60.0
APPROVAL_POLL_SECONDS = 0.05
CORS = {"Access-Control-Allow-Origin": "*"}


class _Sessions:
    """Access tokens the stand-in issued, and each Pioneer's payments made through it."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.tokens: dict[str, str] = {}
        self.payments: dict[str, list[str]] = {}

    def issue(self, uid: str) -> str:
        token = secrets.token_urlsafe(24)
        with self.lock:
            self.tokens[token] = uid
        return token

    def uid(self, token: object) -> str | None:
        with self.lock:
            return self.tokens.get(token) if isinstance(token, str) else None

    def add_payment(self, uid: str, identifier: str) -> None:
        with self.lock:
            self.payments.setdefault(uid, []).append(identifier)

    def payments_of(self, uid: str) -> list[str]:
        with self.lock:
            return list(self.payments.get(uid, []))


def build_sdk_router(state: PeerState) -> APIRouter:
    """The stand-in SDK's routes over ``state``."""
    router = APIRouter()
    platform = state.platform
    ledger = state.ledger
    sessions = _Sessions()

    def answer(body: Any, status: int = 200) -> Response:
        response = json_response(body, status)
        response.headers.update(CORS)
        return response

    def refusal(error: PlatformError, base: str) -> Response:
        body: dict[str, Any] = {"error": error.error, "error_message": error.message}
        for key, value in error.extra.items():
            body[key] = payment_dto(value, base) if isinstance(value, PeerPayment) else value
        return answer(body, error.status)

    async def body_of(request: Request) -> dict[str, Any]:
        raw = await request.body()
        try:
            data = jsonnum.loads(raw) if raw else {}
        except ValueError as exc:
            raise PlatformError(400, "invalid_arguments", "Body must be JSON.") from exc
        if not isinstance(data, dict):
            raise PlatformError(400, "invalid_arguments", "Body must be a JSON object.")
        return data

    def signed_in(data: dict[str, Any]) -> PeerUser:
        uid = sessions.uid(data.get("access_token"))
        if uid is None:
            raise PlatformError(401, "unauthorized", "Sign in first.")
        return platform.user(uid)

    def open_payment(uid: str) -> PeerPayment | None:
        for identifier in reversed(sessions.payments_of(uid)):
            payment = platform.get(identifier)
            if not payment.finished:
                return payment
        return None

    @router.get("/sdk/pi-sdk.js")
    def sdk_script() -> Response:
        return FileResponse(SDK_FILE, media_type="application/javascript", headers=CORS)

    @router.get("/v2/me")
    def me(request: Request) -> Response:
        fault = state.faults.take("platform")
        if fault is not None:
            return HTMLResponse("<h1>We're sorry, but something went wrong.</h1>", status_code=fault.status)
        header = request.headers.get("authorization", "")
        uid = sessions.uid(header.removeprefix("Bearer ")) if header.startswith("Bearer ") else None
        if uid is None:
            return json_response({"error": "unauthorized", "error_message": "Invalid access token"}, 401)
        user = platform.user(uid)
        return json_response(
            {
                "uid": user.uid,
                "username": user.username,
                "credentials": {"scopes": ["username", "payments"], "valid_until": {"timestamp": 0}},
            }
        )

    @router.post("/_peer/sdk/authenticate")
    async def authenticate(request: Request) -> Response:
        base = str(request.base_url)
        try:
            data = await body_of(request)
            uid = data.get("uid")
            try:
                user = platform.user(uid) if isinstance(uid, str) and uid else None
            except PlatformError:
                user = None
            if user is None:
                keypair = Keypair.random()
                state.fund(keypair.public_key, NEW_USER_BALANCE)
                user = platform.add_user(keypair)
            token = sessions.issue(user.uid)
            waiting = open_payment(user.uid)
        except PlatformError as error:
            return refusal(error, base)
        return answer(
            {
                "access_token": token,
                "user": {"uid": user.uid, "username": user.username},
                "incomplete_payment": payment_dto(waiting, base) if waiting is not None else None,
            }
        )

    @router.post("/_peer/sdk/payments")
    async def create_payment(request: Request) -> Response:
        base = str(request.base_url)
        try:
            data = await body_of(request)
            user = signed_in(data)
            amount = parse_amount(data.get("amount"))
            metadata = data.get("metadata")
            if not isinstance(metadata, dict):
                raise PlatformError(400, "invalid_metadata", "metadata must be an object.")
            payment = platform.create(user.uid, amount, str(data.get("memo", "")), metadata, "user_to_app")
            sessions.add_payment(user.uid, payment.identifier)
        except PlatformError as error:
            return refusal(error, base)
        return answer(payment_dto(payment, base))

    @router.post("/_peer/sdk/payments/{payment_id}/cancel")
    async def cancel(payment_id: str, request: Request) -> Response:
        base = str(request.base_url)
        try:
            user = signed_in(await body_of(request))
            payment = platform.get(payment_id)
            if payment.user_uid != user.uid:
                raise PlatformError(404, "payment_not_found", "Payment not found")
            return answer(payment_dto(platform.user_cancel(payment_id), base))
        except PlatformError as error:
            return refusal(error, base)

    @router.post("/_peer/sdk/payments/{payment_id}/pay")
    async def pay(payment_id: str, request: Request) -> Response:
        base = str(request.base_url)
        try:
            user = signed_in(await body_of(request))
            payment = platform.get(payment_id)
            if payment.user_uid != user.uid:
                raise PlatformError(404, "payment_not_found", "Payment not found")
        except PlatformError as error:
            return refusal(error, base)
        waited = 0.0
        while not payment.developer_approved and not payment.finished and waited < MAX_APPROVAL_WAIT:
            await asyncio.sleep(APPROVAL_POLL_SECONDS)
            waited += APPROVAL_POLL_SECONDS
        if not payment.developer_approved or payment.finished:
            return answer(
                {"error": "not_approved", "error_message": "The app did not approve the payment."}, 400
            )
        account = ledger.account(user.keypair.public_key)
        if account is None:
            return answer({"error": "missing_wallet", "error_message": "User wallet not found."}, 400)
        now = ledger.now()
        tx = (
            TransactionBuilder(
                source_account=Account(account.account_id, account.sequence),
                network_passphrase=ledger.network_passphrase,
                base_fee=ledger.base_fee,
            )
            .append_payment_op(
                destination=payment.to_address, asset=Asset.native(), amount=stroops_to_str(payment.amount)
            )
            .add_text_memo(payment.identifier)
            .add_time_bounds(now, now + 180)
            .build()
        )
        tx.sign(user.keypair)
        try:
            record = ledger.submit(tx.to_xdr())
        except SubmitRejectedError as rejected:
            return answer({"error": "transaction_failed", "error_message": rejected.tx_code}, 400)
        return answer({"txid": record.hash})

    return router
