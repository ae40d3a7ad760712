"""Run the peer with uvicorn on a background thread (tests, demos) or in the foreground."""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType

import uvicorn

from pi_peer.app import create_app
from pi_peer.state import PeerConfig


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PeerServer:
    """A peer served by uvicorn on a daemon thread; use as a context manager.

    Attributes:
        url: Root URL (Horizon lives here; the Platform API at ``url + "v2"``).
        state: The peer's in-memory state (read-only use in tests).
    """

    def __init__(self, config: PeerConfig, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        app, self.state = create_app(config)
        self._server = uvicorn.Server(
            uvicorn.Config(
                app, host="127.0.0.1", port=self.port, log_level="warning", timeout_graceful_shutdown=2
            )
        )
        self._thread = threading.Thread(target=self._server.run, name=f"pi-peer-{self.port}", daemon=True)

    @property
    def platform_url(self) -> str:
        """Base URL of the Platform API (``.../v2``)."""
        return self.url + "v2"

    def start(self, timeout: float = 10.0) -> PeerServer:
        """Start serving; return once uvicorn accepts connections."""
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"pi peer did not start on port {self.port}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        """Stop serving (open SSE streams are ended first)."""
        self.state.closing.set()
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def __enter__(self) -> PeerServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
