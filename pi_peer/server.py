"""Run the peer with uvicorn on a background thread (tests, demos) or in the foreground."""

from __future__ import annotations

from common.serving import BackgroundServer, free_port
from pi_peer.app import create_app
from pi_peer.state import PeerConfig

__all__ = ["PeerServer", "free_port"]


class PeerServer(BackgroundServer):
    """A peer served by uvicorn on a daemon thread; use as a context manager.

    Attributes:
        url: Root URL (Horizon lives here; the Platform API at ``url + "v2"``).
        state: The peer's in-memory state (read-only use in tests).
    """

    def __init__(self, config: PeerConfig, port: int | None = None) -> None:
        app, self.state = create_app(config)
        super().__init__(app, name="pi-peer", port=port)
        self.url = self.url + "/"

    @property
    def platform_url(self) -> str:
        """Base URL of the Platform API (``.../v2``)."""
        return self.url + "v2"

    def stop(self) -> None:
        """Stop serving (open SSE streams are ended first)."""
        self.state.closing.set()
        super().stop()
