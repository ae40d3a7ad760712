"""Developer-side helpers (``/_peer``) that play the Pioneer's part and steer the peer in tests.

* ``POST /_peer/users`` ``{"balance_stroops": int, "username"?: str}``: a user with a fresh keypair
  whose account is created on the ledger by a real ``create_account`` transaction. Answers the
  uid, public key and secret seed (the test plays that user's wallet).
* ``POST /_peer/payments`` ``{"uid", "amount", "memo", "metadata"}``: a user-to-app payment as
  ``Pi.createPayment`` makes it (all status flags false).
* ``POST /_peer/payments/{id}/wallet_pay`` ``{"amount_stroops"?, "memo"?, "await_approval_seconds"?}``:
  the Pi wallet builds and signs the payment transaction with stellar-sdk using the user's key and
  submits it; with ``await_approval_seconds`` it first waits (up to 60 s) for the developer's
  approval, as the Pi app's payment dialog does, instead of refusing at once.
* ``POST /_peer/payments/{id}/user_cancel``: the user closes the payment dialog.
* ``POST /_peer/faults`` ``{"target", "count", "status", "apply_first"?}`` and ``DELETE``.
* ``POST /_peer/clock`` ``{"offset_seconds": int}``: skew the ledger clock (``tx_too_early``).
* ``GET /_peer/app``: the app wallet address and network passphrase.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from stellar_sdk import Account, Asset, Keypair, TransactionBuilder

from pi_peer import jsonnum
from pi_peer.ledger import SubmitRejectedError, stroops_to_str
from pi_peer.platform import PlatformError
from pi_peer.platform_api import error_response, json_response, parse_amount, payment_dto
from pi_peer.state import PeerState

#: The longest a wallet waits for the developer's approval, and how often it looks.
MAX_APPROVAL_WAIT = 60.0
APPROVAL_POLL_SECONDS = 0.01


def build_control_router(state: PeerState) -> APIRouter:
    """All ``/_peer`` routes over ``state``."""
    router = APIRouter(prefix="/_peer")
    platform = state.platform
    ledger = state.ledger

    async def body_of(request: Request) -> dict[str, Any]:
        raw = await request.body()
        data = jsonnum.loads(raw) if raw else {}
        if not isinstance(data, dict):
            raise PlatformError(400, "invalid_arguments", "Body must be a JSON object.")
        return data

    @router.get("/app")
    def app_info() -> Response:
        return json_response(
            {"public_key": platform.app_address, "network_passphrase": ledger.network_passphrase}
        )

    @router.post("/users")
    async def create_user(request: Request) -> Response:
        try:
            data = await body_of(request)
            balance = data.get("balance_stroops", 100 * 10_000_000)
            if not isinstance(balance, int) or isinstance(balance, bool):
                raise PlatformError(400, "invalid_amount", "balance_stroops must be an integer.")
            keypair = Keypair.random()
            state.fund(keypair.public_key, balance)
            user = platform.add_user(keypair, data.get("username"))
        except PlatformError as error:
            return error_response(error, str(request.base_url))
        except SubmitRejectedError as rejected:
            return json_response({"error": "funding_failed", "error_message": rejected.tx_code}, 400)
        return json_response(
            {
                "uid": user.uid,
                "username": user.username,
                "public_key": keypair.public_key,
                "secret_seed": keypair.secret,
            }
        )

    @router.post("/payments")
    async def create_payment(request: Request) -> Response:
        base = str(request.base_url)
        try:
            data = await body_of(request)
            amount = parse_amount(data.get("amount"))
            payment = platform.create(
                str(data.get("uid")),
                amount,
                str(data.get("memo", "")),
                data.get("metadata") or {},
                "user_to_app",
            )
        except PlatformError as error:
            return error_response(error, base)
        return json_response(payment_dto(payment, base))

    @router.post("/payments/{payment_id}/wallet_pay")
    async def wallet_pay(payment_id: str, request: Request) -> Response:
        base = str(request.base_url)
        try:
            data = await body_of(request)
            payment = platform.get(payment_id)
            user = platform.user(payment.user_uid)
        except PlatformError as error:
            return error_response(error, base)
        if payment.direction != "user_to_app":
            return json_response({"error": "invalid_arguments", "error_message": "Not a U2A payment."}, 400)
        # The Pi app shows "waiting for approval" and lets the user pay once the developer approved.
        try:
            wait = min(max(float(data.get("await_approval_seconds") or 0), 0.0), MAX_APPROVAL_WAIT)
        except (TypeError, ValueError):
            return json_response(
                {"error": "invalid_arguments", "error_message": "await_approval_seconds: a number."}, 400
            )
        waited = 0.0
        while not payment.developer_approved and waited < wait and not payment.finished:
            await asyncio.sleep(APPROVAL_POLL_SECONDS)
            waited += APPROVAL_POLL_SECONDS
        if not payment.developer_approved:
            return json_response(
                {"error": "not_approved", "error_message": "Awaiting developer approval."}, 400
            )
        account = ledger.account(user.keypair.public_key)
        if account is None:
            return json_response({"error": "missing_wallet", "error_message": "User wallet not found."}, 400)
        amount = data.get("amount_stroops", payment.amount)
        now = ledger.now()
        tx = (
            TransactionBuilder(
                source_account=Account(account.account_id, account.sequence),
                network_passphrase=ledger.network_passphrase,
                base_fee=ledger.base_fee,
            )
            .append_payment_op(
                destination=payment.to_address, asset=Asset.native(), amount=stroops_to_str(int(amount))
            )
            .add_text_memo(str(data.get("memo", payment.identifier)))
            .add_time_bounds(now, now + 180)
            .build()
        )
        tx.sign(user.keypair)
        try:
            record = ledger.submit(tx.to_xdr())
        except SubmitRejectedError as rejected:
            return json_response(
                {
                    "error": "transaction_failed",
                    "error_message": rejected.tx_code,
                    "operations": rejected.op_codes,
                },
                400,
            )
        return json_response({"txid": record.hash, "ledger": record.ledger})

    @router.post("/payments/{payment_id}/user_cancel")
    def user_cancel(payment_id: str, request: Request) -> Response:
        try:
            return json_response(payment_dto(platform.user_cancel(payment_id), str(request.base_url)))
        except PlatformError as error:
            return error_response(error, str(request.base_url))

    @router.post("/faults")
    async def arm_fault(request: Request) -> Response:
        data = await body_of(request)
        target = data.get("target")
        if target not in {"horizon_submit", "horizon_read", "platform"}:
            return json_response({"error": "invalid_arguments", "error_message": "unknown target"}, 400)
        state.faults.arm(
            target,
            count=int(data.get("count", 1)),
            status=int(data.get("status", 504 if target != "platform" else 500)),
            apply_first=bool(data.get("apply_first", False)),
        )
        return json_response({"armed": target})

    @router.delete("/faults")
    def clear_faults() -> Response:
        state.faults.clear()
        return json_response({"cleared": True})

    @router.get("/faults")
    def fired_faults() -> Response:
        return json_response({"fired": dict(state.faults.fired)})

    @router.post("/clock")
    async def set_clock(request: Request) -> Response:
        data = await body_of(request)
        ledger.clock_offset = int(data.get("offset_seconds", 0))
        return json_response({"offset_seconds": ledger.clock_offset, "now": ledger.now()})

    return router
