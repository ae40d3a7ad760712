"""Security headers on every HTTP answer of the app: the API, the explorer, the docs, static files, errors.

One policy for the whole origin, so no page can be the weak one:

* ``Content-Security-Policy``: scripts, styles, fonts and fetches from this origin only, no inline
  script or style (``'unsafe-inline'`` is absent: an injected ``<script>`` or ``onclick`` does not
  run), no plugins, no ``<base>`` rewrites, forms post only here, and ``frame-ancestors 'none'``
  (no other site may frame a page to click-jack it). Images may also be ``data:`` URLs (Swagger
  UI's icons). The explorer and ``/docs`` are built for it: their scripts are files, their styles
  stylesheets.
* ``X-Frame-Options: DENY`` for browsers that predate ``frame-ancestors``.
* ``X-Content-Type-Options: nosniff``: a document or export is never run as the script or page a
  browser might guess it is.
* ``Referrer-Policy: no-referrer``: addresses, payment ids and searches in explorer URLs are not
  sent to other sites.
* ``Cross-Origin-Opener-Policy: same-origin``: a page opened from another site gets no handle on ours.

A response that already sets one of these headers keeps its own value (a route may need stricter).
The one route that sets its own policy is ``/redoc``: the same policy plus a per-response nonce
in ``style-src`` for the ``<style>`` elements ReDoc creates (:func:`content_security_policy`).
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def content_security_policy(style_nonce: str | None = None) -> str:
    """The origin's Content-Security-Policy; with ``style_nonce``, ``<style>`` elements carrying it apply too.

    The nonce is the one widening a page may ask for, and only for styles: ``/redoc`` (see
    :mod:`api.docs`) renders with styled-components, which writes its CSS into ``<style>`` elements
    it creates at run time; they carry the page's per-response nonce. Scripts stay ``'self'`` on
    every page, and no page gets ``'unsafe-inline'`` or ``'unsafe-eval'``.
    """
    style_src = "style-src 'self'" if style_nonce is None else f"style-src 'self' 'nonce-{style_nonce}'"
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            style_src,
            "img-src 'self' data:",
            "font-src 'self'",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


CONTENT_SECURITY_POLICY = content_security_policy()
SECURITY_HEADERS: dict[str, str] = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}


class SecurityHeadersMiddleware:
    """ASGI middleware adding :data:`SECURITY_HEADERS` to every HTTP response (see the module docstring)."""

    def __init__(self, app: ASGIApp, headers: dict[str, str] | None = None) -> None:
        self.app = app
        self.headers = SECURITY_HEADERS if headers is None else headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Calls the app and adds the headers to its response start."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
