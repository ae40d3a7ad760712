"""Serving an ASGI app with uvicorn on a background thread (local peers, the launcher, tests).

The local Pi peer, the local carbon registry and the launcher's API all need "serve this app on
127.0.0.1 until I say stop, and tell me when it accepts connections". This is that, once.
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import Any, Self

import uvicorn

from common.errors import ConfigurationError


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class BackgroundServer:
    """``app`` served by uvicorn on a daemon thread; use as a context manager.

    Attributes:
        port: The port served (a free one when none was given).
        url: ``http://127.0.0.1:<port>`` (no trailing slash).
    """

    def __init__(
        self,
        app: Any,
        *,
        name: str,
        port: int | None = None,
        host: str = "127.0.0.1",
        graceful_shutdown_s: int = 2,
    ) -> None:
        self.name = name
        self.port = port or free_port()
        self.url = f"http://{host}:{self.port}"
        self._server = uvicorn.Server(
            uvicorn.Config(
                app,
                host=host,
                port=self.port,
                log_level="warning",
                timeout_graceful_shutdown=graceful_shutdown_s,
            )
        )
        self._thread = threading.Thread(target=self._server.run, name=f"{name}-{self.port}", daemon=True)

    def start(self, timeout: float = 10.0) -> Self:
        """Starts serving; returns once uvicorn accepts connections.

        Raises:
            ConfigurationError: the server did not come up in time (e.g. the port is taken).
        """
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise ConfigurationError(f"{self.name} did not start on port {self.port} (is it taken?)")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        """Stops serving and waits for the thread."""
        self._server.should_exit = True
        self._thread.join(timeout=10)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
