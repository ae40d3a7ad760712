"""The peer's single ASGI app: Horizon at ``/``, the Platform API at ``/v2``, helpers at ``/_peer``."""

from __future__ import annotations

from fastapi import FastAPI

from pi_peer.control_api import build_control_router
from pi_peer.horizon_api import HorizonProblemError, build_horizon_router, horizon_exception_handler
from pi_peer.platform_api import build_platform_router
from pi_peer.sdk_route import build_sdk_router
from pi_peer.state import PeerConfig, PeerState


def create_app(config: PeerConfig) -> tuple[FastAPI, PeerState]:
    """Build a fresh peer (new ledger, new payments) and its app."""
    state = PeerState.create(config)
    app = FastAPI(title="Pi peer", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_exception_handler(HorizonProblemError, horizon_exception_handler())
    app.include_router(build_platform_router(state))
    app.include_router(build_control_router(state))
    app.include_router(build_sdk_router(state))  # the Pi SDK stand-in for browsers (pi_peer/sdk_route.py)
    app.include_router(build_horizon_router(state))
    return app, state
