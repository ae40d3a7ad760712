"""The Horizon part of the peer: the endpoints stellar-sdk's ``Server`` uses, with Horizon's shapes.

``POST /transactions`` takes the form field ``tx`` (base64 envelope XDR), applies it to the
ledger and answers the transaction resource, or Horizon's ``transaction_failed`` problem with
``extras.result_codes`` / ``result_xdr`` / ``envelope_xdr``. ``GET /accounts/{id}/payments`` with
``Accept: text/event-stream`` streams like Horizon: an ``open`` event with data ``"hello"``, then
one event per record with ``id`` = paging token, so stellar-sdk resumes from the last id.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from pi_peer.horizon_views import (
    NOT_FOUND_DETAIL,
    account_view,
    ledger_view,
    operation_view,
    page_view,
    problem,
    transaction_view,
)
from pi_peer.ledger import MalformedEnvelopeError, OperationRecord, SubmitRejectedError, TransactionRecord
from pi_peer.state import TOTAL_SUPPLY, PeerState

_PAYMENT_TYPES = {
    "create_account",
    "payment",
    "path_payment_strict_receive",
    "path_payment_strict_send",
    "account_merge",
}
_HAL = "application/hal+json; charset=utf-8"
_PROBLEM = "application/problem+json; charset=utf-8"


class HorizonProblemError(Exception):
    """An error answered as Horizon's problem document."""

    def __init__(self, body: dict[str, Any]) -> None:
        super().__init__(body.get("title"))
        self.body = body


def _hal(body: dict[str, Any], status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status, media_type=_HAL)


def problem_response(body: dict[str, Any]) -> JSONResponse:
    """Render a problem document with its status."""
    return JSONResponse(body, status_code=int(body["status"]), media_type=_PROBLEM)


def _not_found() -> HorizonProblemError:
    return HorizonProblemError(problem(404, "not_found", "Resource Missing", NOT_FOUND_DETAIL))


def _bad_request(field: str, reason: str) -> HorizonProblemError:
    return HorizonProblemError(
        problem(
            400,
            "bad_request",
            "Bad Request",
            "The request you sent was invalid in some way.",
            {"invalid_field": field, "reason": reason},
        )
    )


def _base(request: Request) -> str:
    return str(request.base_url)


def _paging(request: Request) -> tuple[str, str, int]:
    q = request.query_params
    order = q.get("order", "asc") or "asc"
    if order not in {"asc", "desc"}:
        raise _bad_request("order", "order must be asc or desc")
    try:
        limit = int(q.get("limit", "10") or "10")
    except ValueError as exc:
        raise _bad_request("limit", "unsigned integer required") from exc
    if not 1 <= limit <= 200:
        raise _bad_request("limit", "limit must be between 1 and 200")
    return q.get("cursor", "") or "", order, limit


def _select(keys: list[int], cursor: str, order: str, limit: int, latest: int) -> list[int]:
    """Indices of ``keys`` (ascending) after ``cursor`` in ``order``, at most ``limit``."""
    if cursor == "now":
        start = latest
    elif cursor == "":
        start = -1 if order == "asc" else 2**63
    else:
        try:
            start = int(cursor)
        except ValueError as exc:
            raise _bad_request("cursor", "cursor must be a paging token or 'now'") from exc
    if order == "asc":
        picked = [i for i, k in enumerate(keys) if k > start]
    else:
        picked = [i for i, k in reversed(list(enumerate(keys))) if k < start]
    return picked[:limit]


def _sse_event(record: dict[str, Any]) -> str:
    return f"id: {record['paging_token']}\ndata: {json.dumps(record)}\n\n"


def build_horizon_router(state: PeerState) -> APIRouter:
    """All Horizon routes over ``state``."""
    router = APIRouter()
    ledger = state.ledger

    def read_fault() -> None:
        fault = state.faults.take("horizon_read")
        if fault is not None:
            raise HorizonProblemError(problem(fault.status, "timeout", "Timeout", "Injected read failure."))

    def account_payments(account_id: str) -> list[OperationRecord]:
        return [
            o
            for o in ledger.operations(include_failed=False)
            if o.type in _PAYMENT_TYPES and account_id in o.participants
        ]

    def account_transactions(account_id: str) -> list[TransactionRecord]:
        return [t for t in ledger.transactions() if t.successful and account_id in t.participants]

    @router.get("/")
    def root(request: Request) -> JSONResponse:
        latest = ledger.latest()
        return _hal(
            {
                "_links": {"self": {"href": _base(request)}},
                "horizon_version": "pi-peer",
                "core_version": "pi-peer",
                "history_latest_ledger": latest.sequence,
                "core_latest_ledger": latest.sequence,
                "network_passphrase": ledger.network_passphrase,
                "current_protocol_version": 19,
            }
        )

    @router.get("/accounts/{account_id}")
    def get_account(account_id: str, request: Request) -> JSONResponse:
        read_fault()
        acc = ledger.account(account_id)
        if acc is None:
            raise _not_found()
        return _hal(account_view(_base(request), acc, ledger))

    @router.get("/transactions/{tx_hash}")
    def get_transaction(tx_hash: str, request: Request) -> JSONResponse:
        read_fault()
        tx = ledger.transaction(tx_hash)
        if tx is None:
            raise _not_found()
        return _hal(transaction_view(_base(request), tx))

    def tx_ops_page(tx_hash: str, request: Request, path: str, only_payments: bool) -> JSONResponse:
        read_fault()
        tx = ledger.transaction(tx_hash)
        if tx is None:
            raise _not_found()
        cursor, order, limit = _paging(request)
        ops = [o for o in tx.operations if not only_payments or o.type in _PAYMENT_TYPES]
        idx = _select([o.id for o in ops], cursor, order, limit, ops[-1].id if ops else 0)
        base = _base(request)
        records = [operation_view(base, ops[i]) for i in idx]
        return _hal(page_view(base, path, records, cursor=cursor, order=order, limit=limit))

    @router.get("/transactions/{tx_hash}/operations")
    def get_tx_operations(tx_hash: str, request: Request) -> JSONResponse:
        return tx_ops_page(tx_hash, request, f"transactions/{tx_hash}/operations", False)

    @router.get("/transactions/{tx_hash}/payments")
    def get_tx_payments(tx_hash: str, request: Request) -> JSONResponse:
        return tx_ops_page(tx_hash, request, f"transactions/{tx_hash}/payments", True)

    @router.get("/accounts/{account_id}/transactions")
    def get_account_transactions(account_id: str, request: Request) -> JSONResponse:
        read_fault()
        if ledger.account(account_id) is None:
            raise _not_found()
        cursor, order, limit = _paging(request)
        txs = account_transactions(account_id)
        latest = ledger.latest().sequence << 32
        idx = _select([t.paging_token for t in txs], cursor, order, limit, latest)
        base = _base(request)
        records = [transaction_view(base, txs[i]) for i in idx]
        path = f"accounts/{account_id}/transactions"
        return _hal(page_view(base, path, records, cursor=cursor, order=order, limit=limit))

    @router.get("/accounts/{account_id}/payments", response_model=None)
    async def get_account_payments(account_id: str, request: Request) -> Response:
        cursor, order, limit = _paging(request)
        if "text/event-stream" in request.headers.get("accept", ""):
            return StreamingResponse(
                stream_payments(request, account_id, cursor), media_type="text/event-stream"
            )
        read_fault()
        if ledger.account(account_id) is None:
            raise _not_found()
        ops = account_payments(account_id)
        latest = (ledger.latest().sequence + 1) << 32
        idx = _select([o.id for o in ops], cursor, order, limit, latest)
        base = _base(request)
        records = [operation_view(base, ops[i]) for i in idx]
        path = f"accounts/{account_id}/payments"
        return _hal(page_view(base, path, records, cursor=cursor, order=order, limit=limit))

    async def stream_payments(request: Request, account_id: str, cursor: str) -> AsyncIterator[str]:
        base = _base(request)
        if cursor == "now":
            position = (ledger.latest().sequence + 1) << 32
        else:
            try:
                position = int(cursor) if cursor else -1
            except ValueError:
                position = -1
        yield 'retry: 1000\nevent: open\ndata: "hello"\n\n'
        idle = 0
        while not state.closing.is_set():
            fresh = [o for o in account_payments(account_id) if o.id > position]
            for op in fresh:
                yield _sse_event(operation_view(base, op))
                position = op.id
            if await request.is_disconnected():
                return
            idle = 0 if fresh else idle + 1
            if idle and idle % 100 == 0:
                yield ": keepalive\n\n"
            await asyncio.sleep(0.05)

    @router.get("/ledgers")
    def get_ledgers(request: Request) -> JSONResponse:
        read_fault()
        cursor, order, limit = _paging(request)
        headers = ledger.ledgers()
        idx = _select([h.sequence << 32 for h in headers], cursor, order, limit, headers[-1].sequence << 32)
        base = _base(request)
        records = [ledger_view(base, headers[i], ledger, TOTAL_SUPPLY) for i in idx]
        return _hal(page_view(base, "ledgers", records, cursor=cursor, order=order, limit=limit))

    @router.post("/transactions")
    async def post_transaction(request: Request) -> JSONResponse:
        form = parse_qs((await request.body()).decode("utf-8", errors="replace"))
        envelope = (form.get("tx") or [""])[0]
        if not envelope:
            raise _bad_request("tx", "Transaction envelope is required")
        fault = state.faults.take("horizon_submit")
        if fault is not None and not fault.apply_first:
            return problem_response(_timeout(fault.status))
        try:
            record = await asyncio.to_thread(ledger.submit, envelope)
        except MalformedEnvelopeError:
            return problem_response(
                problem(
                    400,
                    "transaction_malformed",
                    "Transaction Malformed",
                    "Horizon could not decode the transaction envelope in this request. A transaction should "
                    "be an XDR TransactionEnvelope struct encoded using base64.",
                    {"envelope_xdr": envelope},
                )
            )
        except SubmitRejectedError as rejected:
            if fault is not None:
                return problem_response(_timeout(fault.status))
            codes: dict[str, Any] = {"transaction": rejected.tx_code}
            if rejected.op_codes:
                codes["operations"] = rejected.op_codes
            return problem_response(
                problem(
                    400,
                    "transaction_failed",
                    "Transaction Failed",
                    "The transaction failed when submitted to the stellar network. The `extras.result_codes` "
                    "field on this response contains further details.",
                    {"envelope_xdr": envelope, "result_codes": codes, "result_xdr": rejected.result_xdr},
                )
            )
        if fault is not None:
            return problem_response(_timeout(fault.status))
        return _hal(transaction_view(_base(request), record))

    return router


def _timeout(status: int) -> dict[str, Any]:
    if status == 504:
        return problem(
            504,
            "timeout",
            "Timeout",
            "Your request timed out before completing.  Please try your request again. If you are submitting "
            "a transaction make sure you are sending exactly the same transaction (with the same sequence "
            "number).",
        )
    return problem(
        status, "server_error", "Internal Server Error", "An error occurred while processing this request."
    )


def horizon_exception_handler() -> Callable[[Request, Exception], Response]:
    """Turn :class:`HorizonProblemError` into its response."""

    def handle(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HorizonProblemError)
        return problem_response(exc.body)

    return handle
