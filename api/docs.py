"""``/docs``: Swagger UI served from this app, with no CDN and no inline script.

FastAPI's own page loads Swagger UI from a CDN (blocked by the Content-Security-Policy, and dead
offline) and starts it with an inline ``<script>`` (also blocked). Here the files come from the
``fastapi-offline`` package (``/docs/assets``), the page is static HTML, and Swagger UI is started
by ``/docs/assets-local/swagger-init.js``, which reads the OpenAPI URL from the page's markup.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_URL = "/docs"
ASSETS_URL = "/docs/assets"
LOCAL_ASSETS_URL = "/docs/assets-local"
SWAGGER_ASSETS = Path(fastapi_offline.__file__).parent / "static"
"""Swagger UI's JavaScript and CSS as the ``fastapi-offline`` package ships them."""
LOCAL_ASSETS = Path(__file__).parent / "static"


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


def install_docs(app: FastAPI) -> None:
    """Serves the docs page and its assets on ``app`` (created with ``docs_url=None``)."""
    assert app.openapi_url is not None
    page = docs_page(app.title, app.openapi_url)
    app.mount(ASSETS_URL, StaticFiles(directory=SWAGGER_ASSETS), name="docs-assets")
    app.mount(LOCAL_ASSETS_URL, StaticFiles(directory=LOCAL_ASSETS), name="docs-local-assets")

    @app.get(DOCS_URL, include_in_schema=False)
    def docs() -> HTMLResponse:
        return HTMLResponse(page)
