"""One error envelope for every failure: ``{"error", "message", "details"}``.

Any :class:`common.errors.MSCError` answers with its own ``status_code`` and ``to_dict()``. The
framework's own failures are put in the same envelope: malformed JSON is 400 ``invalid_json``,
a body of the wrong shape is 422 ``validation_error`` listing each field's problem, an unknown
route is 404 ``not_found``. Bad input never produces a 500; an unexpected exception does, without
leaking its text.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException

from common.errors import MSCError

log = logging.getLogger(__name__)

# FastAPI's detail when the body cannot be decoded at all (e.g. invalid UTF-8).
_UNPARSEABLE_BODY = "There was an error parsing the body"
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    415: "unsupported_media_type",
}


class FieldProblem(BaseModel):
    """What is wrong with one field of the request."""

    field: str = Field(description="Dotted path of the field inside its location, e.g. `fee.total`.")
    location: str = Field(description="`body`, `query`, `path` or `header`.")
    problem: str = Field(description="Human-readable description of the problem.")
    type: str = Field(description="Machine-readable problem type (pydantic's error type).")


class ErrorResponse(BaseModel):
    """The body of every error response."""

    error: str = Field(description="Stable snake_case code clients can switch on.", examples=["not_found"])
    message: str = Field(description="What went wrong, for the person who caused it.")
    details: dict[str, Any] | None = Field(
        default=None, description="Structured context; for 422, `fields` lists each field's problem."
    )


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries documenting the error envelope for ``statuses``."""
    return {status: {"model": ErrorResponse} for status in statuses}


class InvalidJSONError(MSCError):
    """The request body is not valid JSON."""

    code = "invalid_json"
    status_code = 400

    def __init__(self, problem: str) -> None:
        super().__init__(f"the request body is not valid JSON: {problem}")


class RequestValidationFailedError(MSCError):
    """The request is well-formed JSON but fields are missing, of the wrong type or out of range."""

    code = "validation_error"
    status_code = 422

    def __init__(self, problems: list[FieldProblem]) -> None:
        names = ", ".join(sorted({p.field or p.location for p in problems}))
        super().__init__(
            f"the request has invalid fields: {names}", fields=[p.model_dump() for p in problems]
        )


def install_error_handlers(app: FastAPI) -> None:
    """Registers the handlers that produce the envelope."""
    app.add_exception_handler(MSCError, _msc_error)
    app.add_exception_handler(RequestValidationError, _request_validation_error)
    app.add_exception_handler(HTTPException, _http_exception)
    app.add_exception_handler(Exception, _unexpected)


def envelope(error: MSCError, headers: dict[str, str] | None = None) -> JSONResponse:
    """The JSON response of ``error``."""
    return JSONResponse(error.to_dict(), status_code=error.status_code, headers=headers)


async def _msc_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, MSCError)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
    return envelope(exc, headers)


async def _request_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    for err in errors:
        if err.get("type") == "json_invalid":
            problem = err.get("ctx", {}).get("error", "JSON decode error")
            return envelope(InvalidJSONError(f"{problem} at position {err['loc'][-1]}"))
    return envelope(RequestValidationFailedError([_problem(err) for err in errors]))


def _problem(err: Any) -> FieldProblem:
    loc = [str(part) for part in err.get("loc", ())]
    location = loc[0] if loc else "body"
    return FieldProblem(
        field=".".join(loc[1:]), location=location, problem=str(err.get("msg", "")), type=str(err.get("type"))
    )


async def _http_exception(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 400 and exc.detail == _UNPARSEABLE_BODY:
        return envelope(InvalidJSONError("the body cannot be decoded as UTF-8 JSON"))
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    message = str(exc.detail)
    if exc.status_code == 404:
        message = f"no route {request.method} {request.url.path}"
    body = {"error": code, "message": message}
    return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    body = {"error": "internal_error", "message": "an unexpected error occurred; it has been logged"}
    return JSONResponse(body, status_code=500)


def use_envelope_in_openapi(app: FastAPI) -> None:
    """Documents FastAPI's automatic 422 responses with :class:`ErrorResponse`, the body really sent."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = FastAPI.openapi(app)
            ref = "#/components/schemas/ErrorResponse"
            for operations in schema.get("paths", {}).values():
                for operation in operations.values():
                    response = operation.get("responses", {}).get("422")
                    if response is not None:
                        response["content"] = {"application/json": {"schema": {"$ref": ref}}}
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components.pop("HTTPValidationError", None)
            components.pop("ValidationError", None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
