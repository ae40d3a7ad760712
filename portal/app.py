"""The portal's routers and static files, collected for ``api.app.create_app``.

Each page area is a module ``portal.pages.<name>`` with a ``router``; :data:`PAGE_MODULES` names
them (an area is added by appending its module name).
"""

from __future__ import annotations

import importlib

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from api.wallets.service import ContractsCatalog
from portal.services import PortalServices
from portal.web import STATIC_DIR, STATIC_URL, install_handlers

PAGE_MODULES: tuple[str, ...] = (
    "auth",
    "today",
    "payments",
    "requests",
    "reports",
    "settings",
    "money",
    "refunds",
    "privacy",
)
"""Modules of ``portal.pages`` whose ``router`` is part of the portal."""


def _routers() -> list[APIRouter]:
    routers = []
    for name in PAGE_MODULES:
        module = importlib.import_module(f"portal.pages.{name}")
        router = module.router
        assert isinstance(router, APIRouter), f"portal.pages.{name}.router is not an APIRouter"
        routers.append(router)
    return routers


PORTAL_ROUTERS: list[APIRouter] = _routers()
"""Every page area's router, in :data:`PAGE_MODULES` order."""


def install(app: FastAPI, contracts: ContractsCatalog) -> None:
    """Puts the portal's services on ``app.state.portal``, its pages' error handlers and its static
    files on ``app`` (after ``api.errors.install_error_handlers``; the routers are included by
    ``create_app``)."""
    app.state.portal = PortalServices.from_env(app.state, contracts)
    install_handlers(app)
    app.mount(STATIC_URL, StaticFiles(directory=STATIC_DIR), name="portal-static")
