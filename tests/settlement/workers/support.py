"""The whole settlement stack for the worker tests: PostgreSQL, the local Pi peer, a private anvil
with the platform deployed, the API, and real ``celery worker`` processes started and killed here.

Customers pay through the Pi peer exactly as the Pi SDK would; merchants' Pi app servers are the
test, calling the API's callback endpoints. Checks are end to end: each payment's status history,
its journal entries, the ledger's balance, the escrow on the chain and the app's Pi wallet.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from eth_account import Account
from fastapi.testclient import TestClient
from sqlalchemy import select
from stellar_sdk import Keypair

from api.app import create_app
from api.payments.precheck import PiPaymentCheck
from api.settings import ApiSettings
from chain.settings import PROJECT_ROOT, ChainSettings
from chain.signer import DEV_MNEMONIC
from pi_peer.control import PeerControl, PeerUserInfo
from pi_peer.server import PeerServer
from settlement.flow.binding import payment_metadata
from settlement.ledger import chart
from settlement.ledger.models import JournalEntry
from settlement.ledger.repository import entry_imbalances
from settlement.ledger.service import balance_of
from settlement.minting.ids import escrow_payment_id
from settlement.payments.models import Payment, PaymentStatusChange
from settlement.pi.horizon import PI_TESTNET_PASSPHRASE, PiHorizon
from settlement.pi.platform_client import PiPlatformClient
from settlement.quotes.service import QuoteSettings
from settlement.workers.queue import TaskQueue
from tests.api.support import Db, bearer, new_merchant
from tests.settlement.minting.support import Chain

PI = 10**7
PEER_API_KEY = "workers-test-server-key"
BUILD = PROJECT_ROOT / "build"
HAPPY_MOVES = [
    ("incomplete", "pending_user_transfer_start"),
    ("pending_user_transfer_start", "pending_anchor"),
    ("pending_anchor", "pending_stellar"),
    ("pending_stellar", "completed"),
]
# Kinds of the journal entries of one settled payment: Pi in, Pi sold and Rupiah owed, MSC in escrow.
SETTLED_ENTRIES = ["conversion", "conversion", "msc_minted_to_escrow", "pi_received"]
HELD = 1  # MerchantEscrow's status of a payment held in escrow


def dev_key(index: int) -> str:
    """The hex private key of anvil's development account ``index``."""
    Account.enable_unaudited_hdwallet_features()
    return str(Account.from_mnemonic(DEV_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}").key.hex())


@dataclass
class Peer:
    """A running Pi peer and its app wallet."""

    server: PeerServer
    app: Keypair
    control: PeerControl

    def check(self) -> PiPaymentCheck:
        """The API's check of Pi payments against this peer."""
        return PiPaymentCheck(PiPlatformClient(PEER_API_KEY, self.server.platform_url), self.app.public_key)

    def app_balance(self) -> int:
        """Pi minor units in the app wallet."""
        return PiHorizon(self.server.url, PI_TESTNET_PASSPHRASE).balance(self.app.public_key)


@dataclass
class Stack:
    """Database, Pi peer and chain of one test module."""

    db: Db
    peer: Peer
    chain: Chain
    rpc_url: str

    def worker_env(self, broker_url: str, queue: str, **extra: str) -> dict[str, str]:
        """The environment of a worker process (and of the API's context) for this stack."""
        env = {
            "MSC_DATABASE_URL": self.db.url,
            "MSC_BROKER_URL": broker_url,
            "MSC_WORKER_QUEUE": queue,
            "MSC_WORKER_BACKOFF_SECONDS": "0.2",
            "MSC_WORKER_BACKOFF_MAX_SECONDS": "1",
            "MSC_WORKER_SWEEP_SECONDS": "1",
            "MSC_WORKER_STALE_SECONDS": "2",
            "MSC_WORKER_VISIBILITY_TIMEOUT": "20",
            "MSC_WORKER_ESCROW_HOLD_SECONDS": "3600",
            "MSC_PI_API_KEY": PEER_API_KEY,
            "MSC_PI_PLATFORM_URL": self.peer.server.platform_url,
            "MSC_PI_HORIZON_URL": self.peer.server.url,
            "MSC_PI_NETWORK_PASSPHRASE": PI_TESTNET_PASSPHRASE,
            "MSC_PI_APP_ADDRESS": self.peer.app.public_key,
            "MSC_RPC_URL": self.rpc_url,
            "MSC_NETWORK": self.chain.deployment_file.stem,
            "MSC_DEPLOYMENTS_DIR": str(self.chain.deployment_file.parent),
            "MSC_BUILD_DIR": str(BUILD),
            "MSC_SIGNER_KEY": dev_key(1),  # the deployment's escrow depositor and MSC minter
            "MSC_WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",  # the tests' webhook receivers listen on 127.0.0.1
        }
        env.update(extra)
        return env


@dataclass
class Api:
    """The API on the stack's database with a given task queue."""

    client: TestClient
    stack: Stack
    merchant_id: uuid.UUID
    key: str


@dataclass
class Order:
    """One customer's payment: the Pioneer, the Pi payment id, and our payment id once created."""

    user: PeerUserInfo
    pi_id: str
    quote_id: str
    payment_id: str = ""
    txid: str = ""


def open_api(
    stack: Stack, queue: TaskQueue, deployments: Path, pi_check: PiPaymentCheck | None = None
) -> Iterator[Api]:
    """The API with ``queue`` (and ``pi_check``) and a fresh merchant (yields; closes the app after)."""
    settings = ApiSettings.from_env({}, database_url=stack.db.url, webhook_allow_private_targets=True)
    chain = ChainSettings.from_env({}, rpc_url=stack.rpc_url, build_dir=BUILD, deployments_dir=deployments)
    quotes = QuoteSettings.from_env({}, ttl_seconds=300, fee_bps=100, network_fee_minor=100)
    app = create_app(
        settings, chain_settings=chain, quote_settings=quotes, task_queue=queue, pi_check=pi_check
    )
    merchant_id, key = new_merchant(stack.db)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Api(client, stack, merchant_id, key)


def new_order(api: Api, *, sell_amount: int = 10 * PI, paid_amount: int | None = None) -> Order:
    """A Pioneer, a firm quote, and the Pi SDK's payment for ``paid_amount`` (default: the quote's)."""
    quote = api.client.post("/v1/quotes", json={"sell_amount": sell_amount}, headers=bearer(api.key))
    assert quote.status_code == 201, quote.text
    control = api.stack.peer.control
    user = control.create_user(100 * PI)
    amount = Decimal(paid_amount if paid_amount is not None else sell_amount).scaleb(-7)
    metadata = payment_metadata(api.merchant_id, quote.json()["id"])  # binds it to the merchant and quote
    pi_id = control.create_u2a_payment(user.uid, amount, "Pecel Bu Sri", metadata)
    return Order(user, pi_id, str(quote.json()["id"]))


def create_payment(api: Api, order: Order) -> Any:
    """``onReadyForServerApproval``: the merchant's server forwards it with the quote."""
    response = api.client.post(
        "/v1/payments",
        json={"quote_id": order.quote_id, "pi_payment_id": order.pi_id},
        headers=bearer(api.key),
    )
    if response.status_code == 202:
        order.payment_id = response.json()["id"]
    return response


def complete(api: Api, order: Order, txid: str) -> Any:
    """``onReadyForServerCompletion`` with ``txid``."""
    return api.client.post(
        f"/v1/pi/payments/{order.pi_id}/complete", json={"txid": txid}, headers=bearer(api.key)
    )


def status_of(db: Db, payment_id: str) -> str | None:
    """The payment's status as committed."""
    with db.sessions() as session:
        return session.scalar(select(Payment.status).where(Payment.id == uuid.UUID(payment_id)))


def wait_for(
    what: str,
    predicate: Callable[[], bool],
    timeout: float = 60.0,
    on_timeout: Callable[[], str] = lambda: "",
) -> None:
    """Polls ``predicate`` until it holds; fails with ``what`` (and the diagnosis) after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}\n{on_timeout()}")
        time.sleep(0.1)


def wait_statuses(
    db: Db, ids: Iterable[str], wanted: str, timeout: float = 60.0, log: Path | None = None
) -> None:
    """Waits until every payment of ``ids`` is ``wanted``."""
    ids = list(ids)

    def current() -> dict[str, str | None]:
        return {pid: status_of(db, pid) for pid in ids}

    def diagnose() -> str:
        tail = log.read_text()[-4000:] if log is not None and log.exists() else ""
        return f"statuses: {current()}\n{tail}"

    wait_for(
        f"{len(ids)} payments {wanted}",
        lambda: all(s == wanted for s in current().values()),
        timeout,
        diagnose,
    )


def pay_through(api: Api, order: Order, timeout: float = 60.0, log: Path | None = None) -> None:
    """The customer's side after approval: waits for it, pays in the Pi wallet, and the merchant's
    server forwards the txid."""
    wait_statuses(api.stack.db, [order.payment_id], "pending_user_transfer_start", timeout, log)
    order.txid = api.stack.peer.control.wallet_pay(order.pi_id)
    response = complete(api, order, order.txid)
    assert response.status_code == 202, response.text


@dataclass
class Settled:
    """What the books and the chain say about a set of payments."""

    moves: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    entries: dict[str, list[str]] = field(default_factory=dict)
    escrow: dict[str, tuple[int, int]] = field(default_factory=dict)
    idr: dict[str, int] = field(default_factory=dict)
    pi: dict[str, int] = field(default_factory=dict)


def settled(stack: Stack, ids: Iterable[str]) -> Settled:
    """History, journal entry kinds, escrow record (status, amount) and amounts of each payment."""
    out = Settled()
    with stack.db.sessions() as session:
        for pid in ids:
            uid = uuid.UUID(pid)
            rows = session.scalars(
                select(PaymentStatusChange)
                .where(PaymentStatusChange.payment_id == uid)
                .order_by(PaymentStatusChange.id)
            )
            out.moves[pid] = [(r.from_status, r.to_status) for r in rows]
            kinds = session.scalars(select(JournalEntry.kind).where(JournalEntry.reference == pid))
            out.entries[pid] = sorted(kinds)
            payment = session.get(Payment, uid)
            assert payment is not None
            out.idr[pid], out.pi[pid] = payment.idr_amount, payment.pi_amount
            record = stack.chain.platform.escrow.functions.getPayment(escrow_payment_id(uid)).call()
            out.escrow[pid] = _escrow_status_amount(record)
    return out


def _escrow_status_amount(record: Any) -> tuple[int, int]:
    """(status, amount) of a ``getPayment`` record: (merchant, amount, payer, releaseAfter,
    disputeDeadline, status, covered)."""
    return int(record[5]), int(record[1])


def assert_settled_exactly_once(stack: Stack, ids: list[str], merchant_id: uuid.UUID) -> None:
    """Each payment completed once: four moves, one set of entries, one escrow deposit of its amount;
    every ledger entry balances; the ledger's escrow account equals the chain's deposits."""
    state = settled(stack, ids)
    for pid in ids:
        assert state.moves[pid] == HAPPY_MOVES, (pid, state.moves[pid])
        assert state.entries[pid] == SETTLED_ENTRIES, (pid, state.entries[pid])
        assert state.escrow[pid] == (HELD, state.idr[pid]), (pid, state.escrow[pid])
    with stack.db.sessions() as session:
        assert entry_imbalances(session) == []
        in_escrow = balance_of(session, chart.msc_minted_to_escrow(str(merchant_id)))
        owed = balance_of(session, chart.idr_owed_to_merchant(str(merchant_id)))
    assert abs(in_escrow) == sum(state.idr.values())
    assert owed == 0  # everything owed to the merchant was minted into its escrow


@dataclass
class Worker:
    """A ``celery worker`` process of the settlement tasks, started with :func:`start_worker`."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path
    broker_url: str
    queue: str

    def ready(self) -> bool:
        return "ready." in self.log.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL the worker's process group: no shutdown, no acknowledgement, mid-step."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        """Warm shutdown (finish the running step), then kill if it lingers."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()


def start_worker(
    name: str, env: dict[str, str], folder: Path, *, beat: bool = False, wait: bool = True
) -> Worker:
    """Starts ``celery -A settlement.workers.celery_app worker`` on the env's queue (2 processes).

    The prefork pool acknowledges from the main process's event loop; with the threads pool a
    broker restart can hit kombu's channel teardown from a worker thread and stop the worker.
    """
    log = folder / f"{name}.log"
    command = [
        sys.executable, "-m", "celery", "-A", "settlement.workers.celery_app", "worker",
        "-Q", env["MSC_WORKER_QUEUE"], "--pool", "prefork", "--concurrency", "2",
        "-n", f"{name}-{uuid.uuid4().hex[:6]}@%h", "--without-mingle", "--without-gossip",
        "--loglevel", "INFO",
    ]  # fmt: skip
    if beat:
        command += ["-B", "-s", str(folder / f"{name}-beat-schedule")]
    full_env = {**os.environ, **env, "PYTHONPATH": str(PROJECT_ROOT)}
    handle = log.open("wb")
    process = subprocess.Popen(
        command,
        cwd=PROJECT_ROOT,
        env=full_env,
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    handle.close()
    worker = Worker(name, process, log, env["MSC_BROKER_URL"], env["MSC_WORKER_QUEUE"])
    if wait:
        wait_for(f"worker {name} to start", lambda: worker.ready() or process.poll() is not None, 60)
        assert process.poll() is None, log.read_text()[-3000:]
    return worker
