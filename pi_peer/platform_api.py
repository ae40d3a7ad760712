"""The Pi Platform API part of the peer (``/v2``), with the documented shapes and error bodies.

Every call needs ``Authorization: Key <server api key>``; errors are
``{"error": code, "error_message": text}`` plus ``payment`` / ``verification_error`` where the
official pi-nodejs SDK types them. Amounts are written as exact JSON numbers.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from pi_peer import jsonnum
from pi_peer.platform import PeerPayment, PlatformError
from pi_peer.state import PeerState

_RAILS_500 = (
    "<!DOCTYPE html>\n<html>\n<head>\n  <title>We're sorry, but something went wrong ({status})</title>\n"
    '</head>\n<body>\n  <div class="dialog"><h1>We\'re sorry, but something went wrong.</h1></div>\n'
    "</body>\n</html>\n"
)


def payment_dto(payment: PeerPayment, horizon_base: str) -> dict[str, Any]:
    """The ``PaymentDTO`` of ``payment``."""
    transaction = None
    if payment.txid is not None:
        transaction = {
            "txid": payment.txid,
            "verified": payment.tx_verified,
            "_link": f"{horizon_base.rstrip('/')}/transactions/{payment.txid}",
        }
    return {
        "identifier": payment.identifier,
        "user_uid": payment.user_uid,
        "amount": Decimal(payment.amount).scaleb(-7),
        "memo": payment.memo,
        "metadata": payment.metadata,
        "from_address": payment.from_address,
        "to_address": payment.to_address,
        "direction": payment.direction,
        "created_at": payment.created_at,
        "network": payment.network,
        "status": {
            "developer_approved": payment.developer_approved,
            "transaction_verified": payment.transaction_verified,
            "developer_completed": payment.developer_completed,
            "cancelled": payment.cancelled,
            "user_cancelled": payment.user_cancelled,
        },
        "transaction": transaction,
    }


def json_response(body: Any, status: int = 200) -> Response:
    """A JSON response written by :func:`jsonnum.dumps` (exact amounts)."""
    return Response(jsonnum.dumps(body), status_code=status, media_type="application/json; charset=utf-8")


def error_response(error: PlatformError, horizon_base: str) -> Response:
    """Pi's error body for ``error``."""
    body: dict[str, Any] = {"error": error.error, "error_message": error.message}
    for key, value in error.extra.items():
        body[key] = payment_dto(value, horizon_base) if isinstance(value, PeerPayment) else value
    return json_response(body, error.status)


def parse_amount(value: Any) -> int:
    """Stroops of a JSON amount (number parsed as Decimal, or string); refuses > 7 decimals."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal | str):
        raise PlatformError(400, "invalid_amount", "Amount must be a number.")
    try:
        scaled = Decimal(value).scaleb(7)
    except ArithmeticError as exc:
        raise PlatformError(400, "invalid_amount", "Amount must be a number.") from exc
    if not scaled.is_finite() or scaled != scaled.to_integral_value():
        raise PlatformError(400, "invalid_amount", "Amount has more than 7 decimals.")
    return int(scaled)


def build_platform_router(state: PeerState) -> APIRouter:
    """All ``/v2`` routes over ``state``."""
    router = APIRouter(prefix="/v2")
    platform = state.platform

    def guard(request: Request) -> Response | None:
        fault = state.faults.take("platform")
        if fault is not None:
            return HTMLResponse(_RAILS_500.format(status=fault.status), status_code=fault.status)
        if request.headers.get("authorization", "") != f"Key {state.config.api_key}":
            return json_response({"error": "unauthorized", "error_message": "Unauthorized"}, 401)
        return None

    def run(request: Request, action: Any) -> Response:
        refused = guard(request)
        if refused is not None:
            return refused
        base = str(request.base_url)
        try:
            result = action()
        except PlatformError as error:
            return error_response(error, base)
        if isinstance(result, list):
            return json_response({"incomplete_server_payments": [payment_dto(p, base) for p in result]})
        return json_response(payment_dto(result, base))

    @router.get("/payments/incomplete_server_payments")
    def incomplete(request: Request) -> Response:
        return run(request, platform.incomplete_server_payments)

    @router.get("/payments/{payment_id}")
    def get_payment(payment_id: str, request: Request) -> Response:
        return run(request, lambda: platform.get(payment_id))

    @router.post("/payments/{payment_id}/approve")
    def approve(payment_id: str, request: Request) -> Response:
        return run(request, lambda: platform.approve(payment_id))

    @router.post("/payments/{payment_id}/complete")
    async def complete(payment_id: str, request: Request) -> Response:
        raw = await request.body()
        try:
            body = jsonnum.loads(raw) if raw else {}
        except ValueError:
            body = {}
        txid = body.get("txid") if isinstance(body, dict) else None
        return run(request, lambda: platform.complete(payment_id, txid if isinstance(txid, str) else None))

    @router.post("/payments/{payment_id}/cancel")
    def cancel(payment_id: str, request: Request) -> Response:
        return run(request, lambda: platform.cancel(payment_id))

    @router.post("/payments")
    async def create(request: Request) -> Response:
        raw = await request.body()

        def action() -> PeerPayment:
            try:
                body = jsonnum.loads(raw)
            except ValueError as exc:
                raise PlatformError(400, "invalid_arguments", "Body must be JSON.") from exc
            data = body.get("payment") if isinstance(body, dict) else None
            if not isinstance(data, dict) or not isinstance(data.get("uid"), str):
                raise PlatformError(
                    400, "invalid_arguments", "payment.uid, amount, memo, metadata are required."
                )
            amount = parse_amount(data.get("amount"))
            memo = data.get("memo")
            if not isinstance(memo, str):
                raise PlatformError(400, "invalid_arguments", "payment.memo must be a string.")
            metadata = data.get("metadata")
            if not isinstance(metadata, dict):
                raise PlatformError(400, "invalid_metadata", "payment.metadata must be an object.")
            return platform.create(data["uid"], amount, memo, metadata, "app_to_user")

        return run(request, action)

    return router
