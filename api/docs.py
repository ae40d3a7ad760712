"""``/docs`` (Swagger UI) and ``/redoc`` (ReDoc) served from this app, with no CDN and no inline script.

FastAPI's own pages load Swagger UI and ReDoc from a CDN (blocked by the Content-Security-Policy,
and dead offline) and start them with an inline ``<script>`` (also blocked). Here the files come
from the ``fastapi-offline`` package (``/docs/assets``: ``swagger-ui-bundle.js``, ``swagger-ui.css``;
``/docs/assets-redoc``: its ``redoc.standalone.js``), the pages are HTML with no inline script or
style, and each viewer is started by a file under ``/docs/assets-local`` that reads the OpenAPI URL
from the page's markup.

``/redoc`` has its own policy, differing from the origin's in one place. ReDoc's bundle renders
with styled-components, which writes its CSS into ``<style>`` elements it creates at run time;
``style-src 'self'`` blocks those, and the page renders unstyled with CSP violations. Each
``/redoc`` answer therefore draws a fresh random nonce and allows ``<style nonce=…>`` with it
(``style-src 'self' 'nonce-…'``, :func:`api.security_headers.content_security_policy`).
``redoc-init.js`` carries the nonce in its own ``nonce`` attribute, runs before the bundle, puts the
nonce on every ``<style>`` the page's scripts create (the bundle inserts perfect-scrollbar's CSS
while it loads, before ReDoc reads any option) and starts ReDoc with it (``Redoc.init(url,
{nonce}, element)``, which hands it to styled-components as webpack's ``__webpack_require__.nc``).
No ``'unsafe-inline'`` anywhere: a ``<style>`` injected into markup has no nonce and is refused,
and ``script-src`` stays ``'self'``. Hence also: ReDoc's search is off (it runs in a Worker built
from a ``blob:`` URL, a script that ``'self'`` rightly refuses), and the bundle's one CDN address
(the Redocly logo) is served as an empty ``data:`` image (:func:`redoc_bundle`). The page is not
cached (``no-store``): a nonce is used once.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

from api.security_headers import content_security_policy

DOCS_URL = "/docs"
REDOC_URL = "/redoc"
ASSETS_URL = "/docs/assets"
LOCAL_ASSETS_URL = "/docs/assets-local"
SWAGGER_ASSETS = Path(fastapi_offline.__file__).parent / "static"
"""Swagger UI's JavaScript and CSS, and ReDoc's standalone bundle, as ``fastapi-offline`` ships them."""
LOCAL_ASSETS = Path(__file__).parent / "static"
REDOC_BUNDLE_URL = "/docs/assets-redoc/redoc.standalone.js"
REDOCLY_LOGO_URL = b'"https://cdn.redoc.ly/redoc/logo-mini.svg"'
"""The one address ReDoc's bundle loads on its own: the logo beside "API docs by Redocly"."""
EMPTY_IMAGE_URL = b'"data:image/svg+xml,%3Csvg xmlns=%27http://www.w3.org/2000/svg%27/%3E"'


def redoc_bundle() -> bytes:
    """ReDoc's standalone bundle as ``fastapi-offline`` ships it, with its CDN logo made an empty image.

    ReDoc always renders the Redocly logo from ``cdn.redoc.ly`` in its side menu (no option turns
    it off): offline it cannot load, and ``img-src 'self' data:`` refuses it with a violation in the
    console. The address is swapped for an empty ``data:`` SVG; nothing else in the bundle changes
    (the credit's text and link stay). If an upgrade moves the address the bundle is served as is,
    and the Chromium test of ``/redoc`` reports the refused image.
    """
    bundle = (SWAGGER_ASSETS / "redoc.standalone.js").read_bytes()
    return bundle.replace(REDOCLY_LOGO_URL, EMPTY_IMAGE_URL)


def docs_page(title: str, openapi_url: str) -> str:
    """The HTML of the docs page (no inline script or style)."""
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} - docs</title>
<link rel="stylesheet" href="{ASSETS_URL}/swagger-ui.css">
<link rel="icon" type="image/png" href="{ASSETS_URL}/favicon.png">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{openapi_url}"></div>
<script src="{ASSETS_URL}/swagger-ui-bundle.js"></script>
<script src="{LOCAL_ASSETS_URL}/swagger-init.js"></script>
</body>
</html>
"""


def redoc_page(title: str, openapi_url: str, nonce: str) -> str:
    """The HTML of the ReDoc page (no inline script or style); ``nonce`` is the answer's style nonce."""
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} - ReDoc</title>
<link rel="icon" type="image/png" href="{ASSETS_URL}/favicon.png">
</head>
<body>
<div id="redoc" data-openapi-url="{openapi_url}"></div>
<script src="{LOCAL_ASSETS_URL}/redoc-init.js" nonce="{nonce}"></script>
<script src="{REDOC_BUNDLE_URL}"></script>
</body>
</html>
"""


def install_docs(app: FastAPI) -> None:
    """Serves ``/docs``, ``/redoc`` and their assets on ``app`` (made with ``docs_url=redoc_url=None``)."""
    assert app.openapi_url is not None
    page = docs_page(app.title, app.openapi_url)
    openapi_url = app.openapi_url
    app.mount(ASSETS_URL, StaticFiles(directory=SWAGGER_ASSETS), name="docs-assets")
    app.mount(LOCAL_ASSETS_URL, StaticFiles(directory=LOCAL_ASSETS), name="docs-local-assets")

    @app.get(DOCS_URL, include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(page)

    bundle = redoc_bundle()

    @app.get(REDOC_BUNDLE_URL, include_in_schema=False)
    def redoc_bundle_file() -> Response:
        return Response(bundle, media_type="text/javascript; charset=utf-8")

    @app.get(REDOC_URL, include_in_schema=False)
    def redoc() -> HTMLResponse:
        nonce = secrets.token_urlsafe(18)
        return HTMLResponse(
            redoc_page(app.title, openapi_url, nonce),
            headers={
                "Content-Security-Policy": content_security_policy(style_nonce=nonce),
                "Cache-Control": "no-store",
            },
        )
