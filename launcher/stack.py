"""The platform's long-running parts on the embedded defaults, started and stopped as one.

``msc up`` needs: a local chain with the contracts, a fresh SQLite database, the indexer following
the chain into it, the local Pi peer standing in for the Pi platform and Horizon, and the API
serving merchants, auditors and the explorer. Each part is started here in dependency order and
stopped in reverse by one ``ExitStack``, so a failure half-way never leaves a process behind.
"""

from __future__ import annotations

import base64
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from pydantic import SecretStr
from stellar_sdk import Keypair

from api.app import create_app
from api.settings import ApiSettings
from chain.localnode import AnvilNode
from chain.platform import Platform, load_platform
from chain.settings import PROJECT_ROOT, ChainSettings
from chain.signer import dev_private_key
from common.serving import BackgroundServer
from common.sql.migrate import upgrade
from indexer.cli import build_pipeline
from indexer.pipeline import Pipeline
from indexer.settings import IndexerSettings
from pi_peer.server import PeerServer
from pi_peer.state import PeerConfig

log = logging.getLogger(__name__)

#: The demo's fixed local secrets: development only (ApiSettings refuses such values in production).
DEMO_ADMIN_SECRET = "msc-demo-admin-secret-local-only"
DEMO_PI_API_KEY = "msc-demo-pi-server-key"


def _new_master_key() -> str:
    """A fresh custody master key (32 random bytes, base64), as ``MSC_CUSTODY_MASTER_KEY`` takes it."""
    return base64.b64encode(os.urandom(32)).decode()


@dataclass(frozen=True)
class StackPorts:
    """Where each part listens on 127.0.0.1."""

    chain: int = 8545
    api: int = 8000
    pi_peer: int = 8031


@dataclass
class Stack:
    """The running platform: use as a context manager, read the URLs and handles once entered.

    Attributes:
        var_dir: Working files (the SQLite database, documents); the database is recreated on each
            start because the local chain starts from genesis each time.
        deploy: Deploys the contracts onto the running node (``msc up`` uses Brownie).
        given_database_url: Use (and migrate) this database instead of a fresh SQLite file.
        index: Run the indexer (the benchmark measures settlement without it).
        genesis_timestamp: Start the chain's clock at this Unix time (default: now).
        prepare_database: Called with the migrated database's URL and the deployed platform before
            the indexer, the API and its workers start (``msc up --pilot`` generates the pilot city
            there, with no worker sweeping its half-made payments; the indexer then mirrors what it
            sent on the chain).
        custody_master_key: The custodial wallets' master key (base64), new on each start like the
            database it seals keys in; never printed.
    """

    var_dir: Path = PROJECT_ROOT / "var"
    ports: StackPorts = field(default_factory=StackPorts)
    deploy: Callable[[str], None] | None = None
    given_database_url: str = ""
    index: bool = True
    genesis_timestamp: int | None = None
    prepare_database: Callable[[str, Platform], None] | None = None
    node: AnvilNode | None = None
    platform: Platform | None = None
    database_url: str = ""
    pipeline: Pipeline | None = None
    peer: PeerServer | None = None
    api: BackgroundServer | None = None
    app_keypair: Keypair = field(default_factory=Keypair.random)
    custody_master_key: str = field(default_factory=lambda: _new_master_key(), repr=False)
    liabilities_salt_secret: str = field(default_factory=lambda: secrets.token_hex(32), repr=False)
    _exit: ExitStack = field(default_factory=ExitStack)
    _stop_indexer: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> Stack:
        try:
            self._start()
        except BaseException:
            self._exit.close()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._exit.close()

    # ------------------------------------------------------------------ parts

    def _start(self) -> None:
        settings = ChainSettings.from_env()
        node = AnvilNode(port=self.ports.chain, genesis_timestamp=self.genesis_timestamp)
        self.node = self._exit.enter_context(node)
        if self.deploy is not None:
            self.deploy(settings.network)
        self.platform = load_platform(settings.model_copy(update={"rpc_url": self.node.url}))
        self.database_url = self._database()
        if self.prepare_database is not None:
            self.prepare_database(self.database_url, self.platform)
        if self.index:
            self._start_indexer(settings)
        self.peer = self._exit.enter_context(
            PeerServer(
                PeerConfig(api_key=DEMO_PI_API_KEY, app_secret=self.app_keypair.secret),
                port=self.ports.pi_peer,
            )
        )
        os.environ.update(self.worker_environment(settings))
        api_settings = ApiSettings(database_url=self.database_url, admin_secret=SecretStr(DEMO_ADMIN_SECRET))
        chain_settings = settings.model_copy(update={"rpc_url": self.node.url})
        app = create_app(api_settings, chain_settings=chain_settings)
        self.api = self._exit.enter_context(BackgroundServer(app, name="api", port=self.ports.api))

    def worker_environment(self, chain: ChainSettings) -> dict[str, str]:
        """What the API's in-process workers read: the database, the Pi peer as the Pi platform and
        Horizon, the issuer's development key (deployer = escrow depositor and operator, minter,
        redeemer), the app wallet's seed (customers are paid back in Pi from it), and
        the checkout's settings: the page loads the peer's Pi SDK stand-in, and QR codes encode the
        API's own address.

        The escrow hold is ten minutes (the demo fast-forwards the local chain past it); production
        keeps days.
        """
        assert self.node is not None and self.peer is not None
        issuer = dev_private_key(0)
        return {
            "MSC_DATABASE_URL": self.database_url,
            "MSC_RPC_URL": self.node.url,
            "MSC_NETWORK": chain.network,
            "MSC_PI_API_KEY": DEMO_PI_API_KEY,
            "MSC_PI_PLATFORM_URL": self.peer.platform_url,
            "MSC_PI_HORIZON_URL": self.peer.url.rstrip("/"),
            "MSC_PI_NETWORK_PASSPHRASE": self.peer.state.config.network_passphrase,
            "MSC_PI_APP_ADDRESS": self.app_keypair.public_key,
            "MSC_SIGNER_KEY": issuer,
            "MSC_WORKER_REDEEMER_KEY": issuer,
            "MSC_REFUNDS_OPERATOR_KEY": issuer,  # the escrow's operator: refunds after release
            "MSC_PAYBACKS_APP_SECRET": self.app_keypair.secret,  # pays customers back for refunds
            "MSC_WORKER_ESCROW_HOLD_SECONDS": "600",
            "MSC_WORKER_SWEEP_SECONDS": "1",
            "MSC_WORKER_STALE_SECONDS": "2",
            # anvil mines a block only when a transaction arrives: waiting for 12 blocks on top of an
            # escrow refund could wait forever here (a live network adds them in seconds).
            "MSC_ESCROW_BOOKS_CONFIRMATIONS": "0",
            "MSC_CHECKOUT_SDK_URL": self.peer.url + "sdk/pi-sdk.js",
            "MSC_CHECKOUT_PUBLIC_URL": self.api_url,
            "MSC_PORTAL_PUBLIC_BASE_URL": self.api_url,
            # Custodial wallets of this run's merchants, sealed under a key as new as its database.
            "MSC_CUSTODY_MASTER_KEY": self.custody_master_key,
            # Salts of the merchants' proof-of-liabilities leaves, new with the database.
            "MSC_LIABILITIES_SALT_SECRET": self.liabilities_salt_secret,
        }

    @property
    def api_url(self) -> str:
        """Where the API (and the checkout at ``/pay``) listens: ``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.ports.api}"

    def _database(self) -> str:
        if self.given_database_url:
            upgrade(self.given_database_url)
            return self.given_database_url
        self.var_dir.mkdir(parents=True, exist_ok=True)
        path = self.var_dir / "msc.sqlite3"
        for stale in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            stale.unlink(missing_ok=True)
        url = f"sqlite:///{path}"
        upgrade(url)
        return url

    def _start_indexer(self, chain: ChainSettings) -> None:
        assert self.node is not None
        settings = IndexerSettings(
            database_url=self.database_url,
            rpc_url=self.node.url,
            deployment_file=chain.deployments_dir / f"{chain.network}.json",
            build_dir=chain.build_dir,
            poll_interval_s=0.2,
        )
        self.pipeline = build_pipeline(settings)
        pipeline = self.pipeline
        thread = threading.Thread(
            target=pipeline.run,
            kwargs={"follow": True, "should_stop": self._stop_indexer.is_set},
            name="indexer",
            daemon=True,
        )
        thread.start()

        def stop() -> None:
            self._stop_indexer.set()
            thread.join(timeout=10)
            pipeline.engine.dispose()

        self._exit.callback(stop)

    def wait_indexed(self, timeout_s: float = 30.0) -> int:
        """Waits until the mirror has caught up with the chain's head; returns that block."""
        assert self.pipeline is not None and self.platform is not None
        head = self.platform.w3.eth.block_number
        deadline = time.monotonic() + timeout_s
        while self.pipeline.checkpoint().block_number < head:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the indexer did not reach block {head} in {timeout_s:.0f} s")
            time.sleep(0.1)
        return head
