"""Refuses request bodies above ``max_body_bytes`` with 413 before the application sees them.

Both the declared ``Content-Length`` and the bytes actually streamed are checked (a chunked or
lying client cannot get past the limit), and the body is buffered here, so a handler never starts
on a request that is later found too large: an oversized request changes nothing.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from common.errors import MSCError


class PayloadTooLargeError(MSCError):
    """The request body is larger than the API accepts."""

    code = "payload_too_large"
    status_code = 413

    def __init__(self, limit: int) -> None:
        super().__init__(f"the request body is larger than {limit} bytes", limit=limit)


class InvalidContentLengthError(MSCError):
    """The ``Content-Length`` header is not a non-negative integer."""

    code = "invalid_content_length"
    status_code = 400

    def __init__(self, value: str) -> None:
        super().__init__(f"Content-Length {value[:40]!r} is not a non-negative integer")


class BodySizeLimitMiddleware:
    """ASGI middleware enforcing the body limit (see the module docstring)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Checks the declared length, buffers the body within the limit, then calls the app."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length")
        if declared is not None:
            if not declared.isdigit():
                await _reject(InvalidContentLengthError(declared), scope, receive, send)
                return
            if int(declared) > self.max_bytes:
                await _reject(PayloadTooLargeError(self.max_bytes), scope, receive, send)
                return
        chunks: list[bytes] = []
        total = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client left; there is no one to answer
            chunk = message.get("body", b"")
            total += len(chunk)
            if total > self.max_bytes:
                await _reject(PayloadTooLargeError(self.max_bytes), scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(b"".join(chunks), receive), send)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands out the buffered body once, then defers to the real one."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _reject(error: MSCError, scope: Scope, receive: Receive, send: Send) -> None:
    response = JSONResponse(error.to_dict(), status_code=error.status_code, headers={"Connection": "close"})
    await response(scope, receive, send)
