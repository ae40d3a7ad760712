"""Benchmark of settlement end to end through HTTP, in the production layout (not a test).

The platform runs as it is deployed, each part in its own processes on loopback: the API under
uvicorn with two worker processes, Celery workers on Redis (one of them running the periodic
sweep), the local Pi peer as the Pi platform and Horizon, anvil with the contracts, and
PostgreSQL. A load generator in this process plays merchants' servers and their customers' Pi
wallets. Each settlement is the whole integration: a firm quote (``POST /v1/quotes``), the
customer's Pi payment, ``POST /v1/payments`` (approved on Pi by a worker), the wallet waiting for
the approval on the Pi platform, signing and submitting the Pi transaction, the completion callback
(verification on Horizon, completion on Pi, ledger postings), and the batched mint into the
merchant escrow. A settlement counts when its payment is ``completed`` (MSC in escrow).

Printed, per run: settlements per second, the p50/p99 latency of create-payment, on-chain
transactions per 1,000 settlements, HTTP requests per settlement (from the API's and the peer's
access logs), CPU milliseconds per settlement by part (from ``/proc``: load generator, API, workers,
Pi peer, anvil, PostgreSQL) and the peak memory of every process together. Three runs in one
invocation:

* ``batched``: minting waits for 250 payments or 15 s (``MSC_WORKER_MINT_MIN_BATCH``/``_LINGER_SECONDS``);
* ``unbatched``: the baseline, one mint per payment (``MSC_WORKER_MINT_BATCH=1``);
* ``floor``: the CPU cost of one bare HTTP round trip on this machine (the peer's smallest
  endpoint, same client library and server), which with the requests a settlement needs bounds
  what any Python service speaking this protocol could settle per second on these cores.

Run: ``.venv/bin/python bench/settlement.py [--payments 1000] [--baseline 200]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from sqlalchemy import Engine, create_engine, func, select, text
from stellar_sdk import Keypair
from web3 import Web3

from bench.procs import Child, CpuLedger, descendants, peak_rss_mib, processes_named
from chain.deploy import DeployPlan, deploy_platform
from chain.localnode import AnvilNode
from chain.settings import PROJECT_ROOT
from chain.signer import Signer, dev_private_key
from common.sql.migrate import upgrade
from pi_peer.control import PeerControl
from pi_peer.state import TESTNET_PASSPHRASE
from settlement.flow.binding import payment_metadata
from settlement.payments.models import Payment

PI = 10**7
CHAIN_PORT, API_PORT, PEER_PORT = 8575, 8076, 8077
CLIENTS = 32  # concurrent merchant servers / customers
# Ethereum mainnet's and Polygon PoS's block gas limit (30M; anvil's Brownie default here is 12M):
# the minter sizes each depositBatch to the block, ~440 payments at 30M, ~177 at 12M.
BLOCK_GAS_LIMIT = 30_000_000
API_PROCESSES = 2
WORKER_PROCESSES, WORKER_THREADS = 2, 8
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BROKER = "redis://127.0.0.1:6379/13"
ADMIN_SECRET = "msc-bench-admin-secret-local-only"
PI_API_KEY = "msc-bench-pi-server-key"
VAR = PROJECT_ROOT / "var" / "bench"
ACCESS = 'HTTP/1.1" '  # one uvicorn access-log line per request
# The fewest HTTP round trips one settlement needs in this protocol, whoever implements it: the
# merchant's server asks a quote, records the payment and forwards the completion (3); the
# customer's Pi app creates the payment and submits the signed transaction (2); the platform reads
# and approves the payment on Pi (2), then reads it again, reads the transaction on Horizon and
# completes it on Pi (3). The batched mint adds a few RPC calls per hundreds of payments.
PROTOCOL_ROUND_TRIPS = 10


@dataclass
class Run:
    """One measured run."""

    label: str
    payments: int
    seconds: float
    create_ms: list[float]
    transactions: int
    requests: int
    cpu_s: dict[str, float]
    peak_mib: float
    credited_seconds: float = 0.0

    @property
    def per_second(self) -> float:
        """Settlements per second, until the last one is in escrow."""
        return self.payments / self.seconds

    @property
    def credited_per_second(self) -> float:
        """Settlements per second, until the last one is verified, completed on Pi and booked."""
        return self.payments / (self.credited_seconds or self.seconds)

    @property
    def tx_per_1000(self) -> float:
        return self.transactions * 1000 / self.payments

    def cpu_ms(self, part: str | None = None) -> float:
        """CPU milliseconds per settlement, of one part or of all."""
        spent = sum(self.cpu_s.values()) if part is None else self.cpu_s.get(part, 0.0)
        return spent * 1000 / self.payments


@dataclass
class Platform:
    """The parts of the platform, each in its own processes."""

    node: AnvilNode
    peer: Child
    api: Child
    workers: list[Child]
    database_url: str
    w3: Web3
    parts: dict[str, Callable[[], list[int]]] = field(default_factory=dict)

    def stop(self) -> None:
        for child in [self.api, *self.workers, self.peer]:
            child.stop()
        self.node.stop()


def _deploy(w3: Web3, network: str) -> None:
    """The contracts by web3.py, reserves attested, the issuer a minter of them."""
    issuer = Signer.dev(0).address
    deployment = deploy_platform(
        w3, PROJECT_ROOT / "build", DeployPlan(issuer, network=network), VAR / f"{network}.json"
    )
    msc = w3.eth.contract(
        address=deployment.contract("MadiunStableCoin").address,
        abi=[
            {
                "name": name,
                "type": "function",
                "stateMutability": "nonpayable",
                "inputs": [{"name": "a", "type": t}, {"name": "b", "type": u}],
                "outputs": [],
            }
            for name, t, u in (
                ("attestReserves", "uint256", "string"),
                ("configureMinter", "address", "uint256"),
            )
        ],
    )
    for call in (
        msc.functions.attestReserves(10**30, "BENCH"),
        msc.functions.configureMinter(issuer, 10**30),
    ):
        w3.eth.wait_for_transaction_receipt(call.transact({"from": issuer}))


def _schema_url(name: str) -> str:
    engine = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{name}"'))
    engine.dispose()
    return f"{PG_ADMIN}?options=-csearch_path%3D{name}"


def _http_ready(url: str) -> Callable[[], bool]:
    def ready() -> bool:
        try:
            return httpx.get(url, timeout=1.0).status_code < 500
        except httpx.HTTPError:
            return False

    return ready


def start_platform(label: str, mint: dict[str, str]) -> Platform:
    """anvil + contracts, a fresh schema, the peer, the API processes and the Celery workers."""
    folder = VAR / label
    node = AnvilNode(port=CHAIN_PORT, gas_limit=BLOCK_GAS_LIMIT)
    node.start()
    try:
        w3 = Web3(Web3.HTTPProvider(node.url))
        _deploy(w3, "bench")
        database_url = _schema_url(f"bench_{label}")
        upgrade(database_url)
        app_secret = Keypair.random().secret
        python, base = sys.executable, {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
        peer = Child.start(
            "pi-peer",
            [
                python,
                "-m",
                "pi_peer",
                "--port",
                str(PEER_PORT),
                "--api-key",
                PI_API_KEY,
                "--app-secret",
                app_secret,
            ],
            base,
            folder,
            PROJECT_ROOT,
        )
        peer.wait_until(_http_ready(f"http://127.0.0.1:{PEER_PORT}/_peer/app"))
        env = {
            **base,
            "MSC_DATABASE_URL": database_url,
            "MSC_RPC_URL": node.url,
            "MSC_NETWORK": "bench",
            "MSC_DEPLOYMENTS_DIR": str(VAR),
            "MSC_PI_API_KEY": PI_API_KEY,
            "MSC_PI_PLATFORM_URL": f"http://127.0.0.1:{PEER_PORT}/v2",
            "MSC_PI_HORIZON_URL": f"http://127.0.0.1:{PEER_PORT}",
            "MSC_PI_NETWORK_PASSPHRASE": TESTNET_PASSPHRASE,
            "MSC_PI_APP_ADDRESS": Keypair.from_secret(app_secret).public_key,
            "MSC_SIGNER_KEY": dev_private_key(0),
            "MSC_WORKER_REDEEMER_KEY": dev_private_key(0),
            "MSC_WORKER_ESCROW_HOLD_SECONDS": "600",
            "MSC_WORKER_SWEEP_SECONDS": "1",
            "MSC_WORKER_STALE_SECONDS": "30",
            "MSC_BROKER_URL": BROKER,
            "MSC_WORKER_QUEUE": f"bench-{label}-{uuid.uuid4().hex[:8]}",
            "MSC_API_ADMIN_SECRET": ADMIN_SECRET,
            **mint,
        }
        workers = []
        for n in range(WORKER_PROCESSES):
            argv = [
                python, "-m", "celery", "-A", "settlement.workers.celery_app", "worker",
                "-Q", env["MSC_WORKER_QUEUE"], "--pool", "threads", "--concurrency", str(WORKER_THREADS),
                "-n", f"bench{n}-{uuid.uuid4().hex[:6]}@%h", "--without-mingle", "--without-gossip",
                "--loglevel", "INFO",
            ]  # fmt: skip
            if n == 0:
                argv += ["-B", "-s", str(folder / "beat-schedule")]
            workers.append(Child.start(f"worker{n}", argv, env, folder, PROJECT_ROOT))
        api_argv = [
            python, "-m", "uvicorn", "--factory", "api.app:create_app", "--host", "127.0.0.1",
            "--port", str(API_PORT), "--workers", str(API_PROCESSES),
        ]  # fmt: skip
        api = Child.start("api", api_argv, env, folder, PROJECT_ROOT)
        api.wait_until(_http_ready(f"http://127.0.0.1:{API_PORT}/healthz"))
        for worker in workers:
            worker.wait_until(lambda w=worker: "ready." in w.log.read_text(errors="replace"))
    except BaseException:
        node.stop()
        raise
    platform = Platform(node, peer, api, workers, database_url, w3)
    platform.parts = {
        "load generator": lambda: [os.getpid()],
        "API": api.pids,
        "workers": lambda: [pid for w in workers for pid in w.pids()],
        "Pi peer": peer.pids,
        "anvil": lambda: processes_named("anvil"),
        "PostgreSQL": lambda: processes_named("postgres"),
    }
    return platform


def _onboard(api: httpx.Client) -> tuple[str, str]:
    operator = api.post("/v1/api-keys", json={"role": "operator"}, headers={"X-Admin-Secret": ADMIN_SECRET})
    operator.raise_for_status()
    made = api.post(
        "/v1/merchants",
        json={
            "name": "Warung Bench",
            "kelurahan": "Taman",
            "evm_address": Signer.dev(5).address,
            "pi_username": f"bench{uuid.uuid4().hex[:8]}",
        },
        headers={
            "Authorization": f"Bearer {operator.json()['api_key']}",
            "Idempotency-Key": uuid.uuid4().hex,
        },
    )
    made.raise_for_status()
    return str(made.json()["api_key"]), str(made.json()["merchant"]["id"])


class LoadGenerator:
    """Merchants' servers and their customers' wallets: each thread keeps its connections."""

    def __init__(self, key: str, merchant_id: str) -> None:
        self.auth = {"Authorization": f"Bearer {key}"}
        self.merchant_id = merchant_id
        self.latencies: list[float] = []
        self._local = threading.local()

    def _clients(self) -> tuple[httpx.Client, PeerControl]:
        if getattr(self._local, "api", None) is None:
            self._local.api = httpx.Client(base_url=f"http://127.0.0.1:{API_PORT}", timeout=60.0)
            self._local.wallet = PeerControl(f"http://127.0.0.1:{PEER_PORT}")
        return self._local.api, self._local.wallet

    def customers(self, count: int) -> list[str]:
        """Customers with Pi in their wallets (made before the clock starts: they exist already)."""
        _api, wallet = self._clients()
        return [wallet.create_user(10 * PI).uid for _ in range(count)]

    def settle(self, customer: str) -> None:
        """One payment, from the quote to the completion callback; the rest is the workers'."""
        api, wallet = self._clients()
        quote = api.post("/v1/quotes", json={"sell_amount": 3 * PI}, headers=self.auth)
        assert quote.status_code == 201, quote.text
        # The customer's Pi app binds the payment to the merchant and the quote (Pi.createPayment's metadata).
        metadata = payment_metadata(self.merchant_id, quote.json()["id"])
        pi_id = wallet.create_u2a_payment(customer, Decimal(3), "bench", metadata)
        t0 = time.perf_counter()
        created = api.post(
            "/v1/payments", json={"quote_id": quote.json()["id"], "pi_payment_id": pi_id}, headers=self.auth
        )
        self.latencies.append((time.perf_counter() - t0) * 1000)
        assert created.status_code == 202, created.text
        # The customer's Pi app waits for the approval on the Pi platform, then pays.
        txid = wallet.wallet_pay(pi_id, await_approval=30)
        done = api.post(f"/v1/pi/payments/{pi_id}/complete", json={"txid": txid}, headers=self.auth)
        assert done.status_code == 202, done.text


def _count(engine: Engine, *statuses: str) -> int:
    """Payments in any of ``statuses`` now."""
    with engine.connect() as conn:
        return int(
            conn.scalar(select(func.count()).select_from(Payment).where(Payment.status.in_(statuses))) or 0
        )


def _wait_for(engine: Engine, payments: int, *statuses: str) -> None:
    while _count(engine, *statuses) < payments:
        time.sleep(0.05)


def measure(label: str, payments: int, mint: dict[str, str]) -> Run:
    """Starts the platform, settles ``payments`` through HTTP, and measures."""
    platform = start_platform(label, mint)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{API_PORT}", timeout=30) as api:
            key, merchant_id = _onboard(api)
        load = LoadGenerator(key, merchant_id)
        customers = load.customers(payments)
        issuer = Signer.dev(0).address
        nonce_before = platform.w3.eth.get_transaction_count(issuer)
        requests_before = platform.api.log_lines_containing(ACCESS) + platform.peer.log_lines_containing(
            ACCESS
        )
        engine = create_engine(platform.database_url)
        ledgers = {part: CpuLedger(pids) for part, pids in platform.parts.items()}
        for ledger in ledgers.values():
            ledger.start()
        started = time.perf_counter()
        with ThreadPoolExecutor(CLIENTS) as pool:
            for f in [pool.submit(load.settle, customer) for customer in customers]:
                f.result()
        _wait_for(engine, payments, "pending_stellar", "completed")  # verified, completed on Pi, booked
        credited = time.perf_counter() - started
        _wait_for(engine, payments, "completed")  # and in escrow: the last batch may linger
        seconds = time.perf_counter() - started
        cpu = {part: ledger.stop() for part, ledger in ledgers.items()}
        engine.dispose()
        transactions = platform.w3.eth.get_transaction_count(issuer) - nonce_before
        requests = (
            platform.api.log_lines_containing(ACCESS)
            + platform.peer.log_lines_containing(ACCESS)
            - requests_before
        )
        peak = peak_rss_mib(
            pid for part, pids in platform.parts.items() if part != "PostgreSQL" for pid in pids()
        )
        return Run(label, payments, seconds, load.latencies, transactions, requests, cpu, peak, credited)
    finally:
        platform.stop()


def measure_floor(round_trips: int = 4000) -> Run:
    """The CPU of one bare HTTP round trip: httpx client threads against the peer's ``/_peer/app``
    (a constant JSON answer) under uvicorn, client and server CPU both counted."""
    peer = Child.start(
        "floor-peer",
        [sys.executable, "-m", "pi_peer", "--port", str(PEER_PORT), "--api-key", PI_API_KEY],
        {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        VAR / "floor",
        PROJECT_ROOT,
    )
    try:
        url = f"http://127.0.0.1:{PEER_PORT}/_peer/app"
        peer.wait_until(_http_ready(url))
        local = threading.local()

        def one(_: int) -> None:
            if getattr(local, "client", None) is None:
                local.client = httpx.Client(timeout=30)
            local.client.get(url).raise_for_status()

        client, server = CpuLedger(lambda: [os.getpid()]), CpuLedger(lambda: descendants(peer.process.pid))
        client.start()
        server.start()
        started = time.perf_counter()
        with ThreadPoolExecutor(CLIENTS) as pool:
            list(pool.map(one, range(round_trips)))
        seconds = time.perf_counter() - started
        cpu = {"load generator": client.stop(), "Pi peer": server.stop()}
        return Run("floor", round_trips, seconds, [], 0, round_trips, cpu, peak_rss_mib(peer.pids()))
    finally:
        peer.stop()


def report(runs: list[Run], floor: Run) -> None:
    """The table, CPU by part, the floor and the targets."""
    cores = os.cpu_count() or 1
    print(
        f"\nSettlement end to end through HTTP (PostgreSQL; API {API_PROCESSES} processes, Celery "
        f"{WORKER_PROCESSES}x{WORKER_THREADS} threads, Pi peer, anvil; {CLIENTS} clients; {cores} cores)"
    )
    print(
        f"{'run':<10} {'payments':>8} {'booked/s':>8} {'escrow/s':>8} {'create p50':>10} {'p99':>9} "
        f"{'tx/1000':>7} {'req/settl':>9} {'CPU ms/settl':>12} {'peak MiB':>8}"
    )
    for r in runs:
        q = statistics.quantiles(r.create_ms, n=100)
        print(
            f"{r.label:<10} {r.payments:>8} {r.credited_per_second:>8.1f} {r.per_second:>8.1f} "
            f"{q[49]:>8.1f}ms {q[98]:>7.1f}ms {r.tx_per_1000:>7.1f} {r.requests / r.payments:>9.1f} "
            f"{r.cpu_ms():>12.1f} {r.peak_mib:>8.0f}"
        )
    batched, unbatched = runs
    parts = ", ".join(f"{part} {batched.cpu_ms(part):.1f}" for part in batched.cpu_s)
    print(f"CPU ms per settlement by part ({batched.label}): {parts}")
    per_trip = floor.cpu_ms()
    trips = batched.requests / batched.payments
    least = cores * 1000 / (PROTOCOL_ROUND_TRIPS * per_trip)
    print(
        f"floor: one bare HTTP round trip costs {per_trip:.2f} CPU ms, client + server "
        f"({floor.per_second:,.0f}/s on {CLIENTS} threads): the {trips:.1f} round trips of a settlement "
        f"measured here cap {cores} cores at {cores * 1000 / (trips * per_trip):,.0f} settlements/s, the "
        f"protocol's least {PROTOCOL_ROUND_TRIPS} at {least:,.0f}/s, "
        f"before any work is done"
    )
    print(
        f"target: 500 settlements/s with <= 10 on-chain tx per 1,000. {batched.label} vs {unbatched.label}: "
        f"{batched.per_second / unbatched.per_second:.2f}x the rate into escrow, "
        f"{unbatched.tx_per_1000 / max(batched.tx_per_1000, 1e-9):.0f}x fewer transactions"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--payments", type=int, default=1000)
    parser.add_argument("--baseline", type=int, default=200, help="payments in the unbatched baseline run")
    args = parser.parse_args()
    batched = {
        "MSC_WORKER_MINT_BATCH": "500",
        "MSC_WORKER_MINT_MIN_BATCH": "250",
        "MSC_WORKER_MINT_LINGER_SECONDS": "15",
    }
    runs = [
        measure("batched", args.payments, batched),
        measure("unbatched", args.baseline, {"MSC_WORKER_MINT_BATCH": "1"}),
    ]
    report(runs, measure_floor())


if __name__ == "__main__":
    main()
