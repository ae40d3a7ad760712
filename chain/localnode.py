"""The embedded EVM node: anvil from node_modules, started and stopped by the project."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

from chain.connection import connect
from chain.errors import ChainConnectionError, ToolchainMissingError
from chain.settings import PROJECT_ROOT


def anvil_binary() -> Path:
    """The anvil executable the project installed (or one on PATH).

    Raises:
        ToolchainMissingError: none is installed; ``make setup`` installs it from npm.
    """
    local = PROJECT_ROOT / "node_modules" / ".bin" / "anvil"
    if local.exists():
        return local
    found = shutil.which("anvil")
    if found:
        return Path(found)
    raise ToolchainMissingError("anvil is not installed: run `make setup` (it comes from npm)")


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something already listens on ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


class AnvilNode:
    """A local anvil process with the same settings Brownie's development network uses.

    ``gas_limit``: the block gas limit (Brownie's development default; a benchmark may give a
    public chain's, e.g. 30M, since how many payments one transaction carries depends on it).
    ``genesis_timestamp``: start the chain's clock at this Unix time instead of now (blocks then
    advance with the wall clock from there); ``msc up --pilot`` starts in the previous month so
    that month has an end block for its public report.
    """

    def __init__(
        self,
        port: int = 8545,
        chain_id: int = 31337,
        accounts: int = 10,
        gas_limit: int = 12_000_000,
        genesis_timestamp: int | None = None,
    ) -> None:
        self.port = port
        self.chain_id = chain_id
        self.accounts = accounts
        self.gas_limit = gas_limit
        self.genesis_timestamp = genesis_timestamp
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The node's JSON-RPC URL."""
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout_s: float = 20.0) -> str:
        """Starts anvil and waits until it answers; returns its URL.

        Raises:
            ChainConnectionError: the port is taken, or anvil did not come up in time.
        """
        if port_in_use(self.port):
            raise ChainConnectionError(
                f"something already listens on port {self.port}: stop it (another `make run`?) first",
                port=self.port,
            )
        cmd = [
            str(anvil_binary()),
            "--port",
            str(self.port),
            "--chain-id",
            str(self.chain_id),
            "--accounts",
            str(self.accounts),
            "--gas-limit",
            str(self.gas_limit),
            "--block-base-fee-per-gas",
            "0",
            "--silent",
        ]
        if self.genesis_timestamp is not None:
            # Blocks then follow the wall clock from this moment (a chain that starts in the past).
            cmd += ["--timestamp", str(self.genesis_timestamp)]
        self._proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise ChainConnectionError(f"anvil exited with code {self._proc.returncode}")
            try:
                connect(self.url, expected_chain_id=self.chain_id, timeout_s=1.0)
                return self.url
            except ChainConnectionError:
                time.sleep(0.1)
        self.stop()
        raise ChainConnectionError(f"anvil did not answer on {self.url} within {timeout_s}s")

    def stop(self) -> None:
        """Stops anvil (its chain is in memory and goes with it)."""
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._proc = None

    def __enter__(self) -> AnvilNode:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
