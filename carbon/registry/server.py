"""The local registry served over HTTP, speaking exactly API.md (FastAPI), with fault injection.

Tests drive :class:`carbon.registry.http.HttpRegistryAdapter` against this server, so every request
really crosses HTTP: JSON bodies, Bearer auth, Idempotency-Key headers, error bodies, Retry-After.
The state behind it is a :class:`LocalRegistry`, the same one the in-process demo uses.

Run it standalone with ``python -m carbon.registry.server --port 8700 --token dev-token``.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

import uvicorn
from fastapi import Depends, FastAPI, Header, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from carbon.registry.errors import InvalidRegistryRequestError, RegistryAuthError
from carbon.registry.faults import Fault, Faults
from carbon.registry.interface import BridgeBackStatus
from carbon.registry.local import LocalRegistry, check_idempotency_key
from carbon.registry.schemas import (
    AccountBody,
    BridgeBackBody,
    BridgeBackRequestBody,
    DecisionBody,
    FaultBody,
    IssuanceBody,
    MintConfirmationBody,
    ProjectBody,
    RetirementBody,
    RetirementRequestBody,
    SerialRangeBody,
    TokenisationBody,
    TokenisationRequestBody,
)
from common.errors import MSCError
from common.serving import BackgroundServer

ADMIN_PREFIX = "/v1/admin/"


@dataclass(frozen=True)
class RequestRecord:
    """One request the server answered (tests count retries and replays with these)."""

    method: str
    path: str
    idempotency_key: str | None
    status: int
    fault: str | None


def required_idempotency_key(idempotency_key: Annotated[str | None, Header()] = None) -> str:
    """The request's Idempotency-Key header; every state change must carry one.

    Raises:
        InvalidRegistryRequestError: missing, or not 1-255 printable ASCII characters.
    """
    if idempotency_key is None:
        raise InvalidRegistryRequestError("the Idempotency-Key header is required on state changes")
    return check_idempotency_key(idempotency_key)


IdemKey = Annotated[str, Depends(required_idempotency_key)]


def create_app(registry: LocalRegistry, api_token: str, faults: Faults | None = None) -> FastAPI:
    """The registry API over ``registry``; ``faults`` (if given) hits every non-admin ``/v1`` request."""
    faults = faults or Faults()
    log: list[RequestRecord] = []
    app = FastAPI(title="Local carbon registry (SRN-PPI shape)", version="1")
    app.state.registry = registry
    app.state.faults = faults
    app.state.requests = log

    @app.middleware("http")
    async def inject_faults(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        path = request.url.path
        fault = faults.take() if path.startswith("/v1/") and not path.startswith(ADMIN_PREFIX) else None
        response = await _answer(request, call_next, fault)
        log.append(
            RequestRecord(
                request.method,
                path,
                request.headers.get("idempotency-key"),
                response.status_code,
                None if fault is None else f"{fault.kind}:{fault.status}",
            )
        )
        return response

    @app.exception_handler(MSCError)
    async def registry_error(_request: Request, exc: MSCError) -> JSONResponse:
        # RegistryAuthError is a 502 to the platform's own callers, but the registry itself says 401.
        status = 401 if isinstance(exc, RegistryAuthError) else exc.status_code
        return JSONResponse(exc.to_dict(), status_code=status)

    @app.exception_handler(RequestValidationError)
    async def invalid_body(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()]
        error = InvalidRegistryRequestError("request does not match the registry API", problems=problems)
        return JSONResponse(error.to_dict(), status_code=error.status_code)

    def authorised(authorization: Annotated[str | None, Header()] = None) -> None:
        if authorization != f"Bearer {api_token}":
            raise RegistryAuthError("missing or wrong Bearer token")

    auth = [Depends(authorised)]

    @app.post("/v1/tokenisations", status_code=201, dependencies=auth)
    def request_tokenisation(body: TokenisationRequestBody, key: IdemKey) -> TokenisationBody:
        receipt = registry.request_tokenisation(
            body.project_id,
            body.vintage,
            body.tonnes,
            None if body.serial_range is None else body.serial_range.to_domain(),
            key,
        )
        return TokenisationBody.of(receipt)

    @app.get("/v1/tokenisations/{reference}", dependencies=auth)
    def get_tokenisation(reference: str) -> TokenisationBody:
        return TokenisationBody.of(registry.tokenisation(reference))

    @app.post("/v1/tokenisations/{reference}/mint-confirmation", dependencies=auth)
    def confirm_mint(reference: str, body: MintConfirmationBody, key: IdemKey) -> TokenisationBody:
        return TokenisationBody.of(registry.confirm_mint(reference, int(body.token_id), body.tx_hash, key))

    @app.post("/v1/retirements", status_code=201, dependencies=auth)
    def report_retirement(body: RetirementRequestBody, key: IdemKey) -> RetirementBody:
        record = registry.report_retirement(
            int(body.token_id),
            body.tonnes,
            body.beneficiary_name,
            body.reason,
            body.certificate_id,
            body.tx_hash,
            key,
        )
        return RetirementBody.of(record)

    @app.post("/v1/bridge-backs", status_code=202, dependencies=auth)
    def request_bridge_back(body: BridgeBackRequestBody, key: IdemKey, response: Response) -> BridgeBackBody:
        request = registry.request_bridge_back(
            int(body.token_id), body.tonnes, body.registry_account, body.request_id, key
        )
        response.headers["Location"] = f"/v1/bridge-backs/{request.request_id}"
        return BridgeBackBody.of(request)

    @app.get("/v1/bridge-backs/{request_id}", dependencies=auth)
    def bridge_back_status(request_id: str) -> BridgeBackBody:
        return BridgeBackBody.of(registry.bridge_back_status(request_id))

    # --- operator endpoints (the registry's own staff; local registry only) ------------------------

    @app.post("/v1/admin/projects", status_code=201, dependencies=auth)
    def register_project(body: ProjectBody) -> dict[str, str]:
        registry.register_project(body.project_id, body.name)
        return {"project_id": body.project_id, "name": body.name}

    @app.post("/v1/admin/projects/{project_id}/issuances", status_code=201, dependencies=auth)
    def issue_units(project_id: str, body: IssuanceBody) -> SerialRangeBody:
        return SerialRangeBody.of(registry.issue_verified_units(project_id, body.vintage, body.tonnes))

    @app.post("/v1/admin/accounts", status_code=201, dependencies=auth)
    def open_account(body: AccountBody) -> dict[str, str]:
        registry.open_account(body.account_id, body.holder)
        return {"account_id": body.account_id, "holder": body.holder}

    @app.post("/v1/admin/bridge-backs/{request_id}/decision", dependencies=auth)
    def decide_bridge_back(request_id: str, body: DecisionBody) -> BridgeBackBody:
        if body.decision is BridgeBackStatus.CONFIRMED:
            return BridgeBackBody.of(registry.confirm_bridge_back(request_id))
        if body.decision is BridgeBackStatus.REFUSED and body.reason:
            return BridgeBackBody.of(registry.refuse_bridge_back(request_id, body.reason))
        raise InvalidRegistryRequestError("decision must be 'confirmed', or 'refused' with a reason")

    @app.post("/v1/admin/faults", status_code=204, dependencies=auth)
    def arm_fault(body: FaultBody) -> Response:
        faults.arm(
            "timeout" if body.kind == "timeout" else "status",
            body.count,
            status=body.status,
            retry_after=body.retry_after,
            delay_seconds=body.delay_seconds,
            apply_first=body.apply_first,
        )
        return Response(status_code=204)

    return app


async def _answer(
    request: Request, call_next: Callable[[Request], Awaitable[Response]], fault: Fault | None
) -> Response:
    """The real answer, or the fault's answer (after applying the request if the fault says so)."""
    if fault is None:
        return await call_next(request)
    if fault.apply_first:
        response = await call_next(request)
        await _drain(response)
        if fault.kind == "timeout":
            await asyncio.sleep(fault.delay_seconds)
            return response
    elif fault.kind == "timeout":
        await asyncio.sleep(fault.delay_seconds)
        return _fault_response(Fault("status", 1, status=504))
    return _fault_response(fault)


async def _drain(response: Response) -> None:
    body_iterator: Any = getattr(response, "body_iterator", None)
    if body_iterator is None:
        return
    chunks = [chunk async for chunk in body_iterator]

    async def replay() -> Any:
        for chunk in chunks:
            yield chunk

    response.body_iterator = replay()  # type: ignore[attr-defined]


def _fault_response(fault: Fault) -> JSONResponse:
    headers = {} if fault.retry_after is None else {"Retry-After": str(fault.retry_after)}
    code = "rate_limited" if fault.status == 429 else "service_unavailable"
    body = {"error": code, "message": f"injected fault: HTTP {fault.status}"}
    return JSONResponse(body, status_code=fault.status, headers=headers)


class RegistryServer(BackgroundServer):
    """A local registry served by uvicorn on a daemon thread; use as a context manager.

    Attributes:
        url: Base URL (``http://127.0.0.1:<port>``); the API lives under ``/v1``.
        registry: The state behind the API (tests inspect it directly).
        faults: Arm faults here (or through ``POST /v1/admin/faults``).
        requests: Every request answered, in order.
    """

    def __init__(
        self, api_token: str, registry: LocalRegistry | None = None, port: int | None = None
    ) -> None:
        self.registry = registry or LocalRegistry()
        self.faults = Faults()
        app = create_app(self.registry, api_token, self.faults)
        self.requests: list[RequestRecord] = app.state.requests
        super().__init__(app, name="registry", port=port, graceful_shutdown_s=1)


def main(argv: list[str] | None = None) -> None:
    """Serves an empty local registry in the foreground."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8700)
    parser.add_argument("--token", required=True, help="the Bearer token clients must send")
    args = parser.parse_args(argv)
    uvicorn.run(create_app(LocalRegistry(), args.token), host=args.host, port=args.port)


if __name__ == "__main__":
    main()
