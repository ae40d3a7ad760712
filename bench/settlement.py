"""Benchmark of settlement end to end through HTTP (not a test).

A load generator plays merchants' servers and their customers' Pi wallets against the real stack
on loopback: anvil with the contracts, the API (uvicorn) with its in-process workers, the local Pi
peer as the Pi platform and Horizon, and PostgreSQL (or SQLite). Each settlement is the whole
integration: a firm quote, the customer's Pi payment, ``POST /v1/payments`` (approval by the
workers), the customer's wallet signing and submitting the Pi transaction, the completion callback
(verification on Horizon, completion on Pi, ledger postings), and the batched mint into the merchant
escrow. It prints settlements per second, the p50/p99 latency of create-payment, the process's peak
memory, and the on-chain transactions per 1,000 settlements, for batched minting and, in the same
run, for a baseline that mints each payment on its own (``MSC_WORKER_MINT_BATCH=1``).

Run: ``.venv/bin/python bench/settlement.py [--payments 1000] [--baseline 200] [--database sqlite]``
(PostgreSQL by default: the ``test`` database on 127.0.0.1, in a throwaway schema).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
from sqlalchemy import create_engine, func, select, text
from web3 import Web3

from chain.deploy import DeployPlan, deploy_platform
from chain.settings import PROJECT_ROOT
from chain.signer import Signer
from launcher.stack import DEMO_ADMIN_SECRET, Stack, StackPorts
from pi_peer.control import PeerControl
from settlement.payments.models import Payment

PI = 10**7
PORTS = StackPorts(chain=8575, api=8076, pi_peer=8077)
CLIENTS = 24  # concurrent merchant servers / customers
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@dataclass
class Run:
    """One measured run."""

    label: str
    payments: int
    seconds: float
    create_ms: list[float]
    transactions: int

    @property
    def per_second(self) -> float:
        return self.payments / self.seconds

    @property
    def tx_per_1000(self) -> float:
        return self.transactions * 1000 / self.payments


def _deploy(network_dir: Path) -> object:
    """A deploy step for the stack: web3.py deployment, reserves attested, the issuer a minter."""

    def deploy(network: str) -> None:
        w3 = Web3(Web3.HTTPProvider(f"http://127.0.0.1:{PORTS.chain}"))
        issuer = Signer.dev(0).address
        deployment = deploy_platform(
            w3, PROJECT_ROOT / "build", DeployPlan(issuer, network=network), network_dir / f"{network}.json"
        )
        msc = w3.eth.contract(
            address=deployment.contract("MadiunStableCoin").address,
            abi=[
                {
                    "name": "attestReserves",
                    "type": "function",
                    "stateMutability": "nonpayable",
                    "inputs": [{"name": "a", "type": "uint256"}, {"name": "r", "type": "string"}],
                    "outputs": [],
                },
                {
                    "name": "configureMinter",
                    "type": "function",
                    "stateMutability": "nonpayable",
                    "inputs": [{"name": "m", "type": "address"}, {"name": "a", "type": "uint256"}],
                    "outputs": [],
                },
            ],
        )
        for call in (
            msc.functions.attestReserves(10**30, "BENCH"),
            msc.functions.configureMinter(issuer, 10**30),
        ):
            w3.eth.wait_for_transaction_receipt(call.transact({"from": issuer}))

    return deploy


def _schema_url(name: str) -> str:
    engine = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{name}"'))
    engine.dispose()
    return f"{PG_ADMIN}?options=-csearch_path%3D{name}"


def _onboard(api: httpx.Client) -> str:
    operator = api.post(
        "/v1/api-keys", json={"role": "operator"}, headers={"X-Admin-Secret": DEMO_ADMIN_SECRET}
    )
    key = operator.json()["api_key"]
    made = api.post(
        "/v1/merchants",
        json={
            "name": "Warung Bench",
            "kelurahan": "Taman",
            "evm_address": Signer.dev(5).address,
            "pi_username": f"bench{uuid.uuid4().hex[:8]}",
        },
        headers={"Authorization": f"Bearer {key}", "Idempotency-Key": uuid.uuid4().hex},
    )
    return str(made.json()["api_key"])


_clients = threading.local()


def _one_settlement(api_url: str, peer_url: str, key: str, latencies: list[float]) -> None:
    """What one merchant server and its customer do for one payment (until the callback is in).

    Each load-generator thread keeps its connections, as a merchant's server keeps a pool.
    """
    auth = {"Authorization": f"Bearer {key}"}
    if getattr(_clients, "api", None) is None:
        _clients.api = httpx.Client(base_url=api_url, timeout=60.0)
        _clients.pioneers = PeerControl(peer_url)
    api, pioneers = _clients.api, _clients.pioneers
    quote = api.post("/v1/quotes", json={"sell_amount": 3 * PI}, headers=auth).json()
    user = pioneers.create_user(10 * PI)
    pi_id = pioneers.create_u2a_payment(user.uid, Decimal(3), "bench", {})
    t0 = time.perf_counter()
    created = api.post("/v1/payments", json={"quote_id": quote["id"], "pi_payment_id": pi_id}, headers=auth)
    latencies.append((time.perf_counter() - t0) * 1000)
    assert created.status_code == 202, created.text
    payment_id = created.json()["id"]
    while (
        api.get(f"/v1/payments/{payment_id}", headers=auth).json()["status"] != "pending_user_transfer_start"
    ):
        time.sleep(0.05)
    txid = pioneers.wallet_pay(pi_id)
    done = api.post(f"/v1/pi/payments/{pi_id}/complete", json={"txid": txid}, headers=auth)
    assert done.status_code == 202, done.text


def measure(label: str, payments: int, database: str, mint_batch: int) -> Run:
    """Starts a fresh stack, settles ``payments`` through HTTP, and measures."""
    network_dir = PROJECT_ROOT / "var" / "bench"
    network_dir.mkdir(parents=True, exist_ok=True)
    os.environ.update(
        {
            "MSC_NETWORK": "bench",
            "MSC_DEPLOYMENTS_DIR": str(network_dir),
            "MSC_WORKER_MINT_BATCH": str(mint_batch),
            "MSC_WORKER_THREADS": "8",
            "MSC_BROKER_URL": "",
        }
    )
    url = _schema_url(f"bench_{label}") if database == "postgresql" else ""
    with Stack(
        var_dir=network_dir, ports=PORTS, deploy=_deploy(network_dir), given_database_url=url, index=False
    ) as stack:
        assert stack.api is not None and stack.peer is not None and stack.platform is not None
        with httpx.Client(base_url=stack.api.url, timeout=30) as api:
            key = _onboard(api)
        w3, issuer = stack.platform.w3, Signer.dev(0).address
        nonce_before = w3.eth.get_transaction_count(issuer)
        engine = create_engine(stack.database_url)
        latencies: list[float] = []
        started = time.perf_counter()
        with ThreadPoolExecutor(CLIENTS) as pool:
            for f in [
                pool.submit(_one_settlement, stack.api.url, stack.peer.url, key, latencies)
                for _ in range(payments)
            ]:
                f.result()
        while True:
            with engine.connect() as conn:
                done = conn.scalar(
                    select(func.count()).select_from(Payment).where(Payment.status == "completed")
                )
            if done == payments:
                break
            time.sleep(0.05)
        seconds = time.perf_counter() - started
        engine.dispose()
        transactions = w3.eth.get_transaction_count(issuer) - nonce_before
    return Run(label, payments, seconds, latencies, transactions)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--payments", type=int, default=1000)
    parser.add_argument("--baseline", type=int, default=200, help="payments in the unbatched baseline run")
    parser.add_argument("--database", choices=("postgresql", "sqlite"), default="postgresql")
    args = parser.parse_args()
    runs = [
        measure("batched", args.payments, args.database, mint_batch=500),
        measure("unbatched", args.baseline, args.database, mint_batch=1),
    ]
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\nSettlement end to end through HTTP ({args.database}, {CLIENTS} concurrent clients, 2 cores)")
    print(
        f"{'run':<11} {'payments':>8} {'settled/s':>10} {'create p50':>11} {'create p99':>11} {'tx/1000':>8}"
    )
    for r in runs:
        q = statistics.quantiles(r.create_ms, n=100)
        print(
            f"{r.label:<11} {r.payments:>8} {r.per_second:>10.1f} "
            f"{q[49]:>9.1f}ms {q[98]:>9.1f}ms {r.tx_per_1000:>8.1f}"
        )
    print(f"peak memory (whole process: API, workers, Pi peer, load generator): {peak_mib:.0f} MiB")
    print(
        f"target: 500 settlements/s with <= 10 on-chain tx per 1,000; batched vs unbatched: "
        f"{runs[0].per_second / runs[1].per_second:.2f}x the rate, "
        f"{runs[1].tx_per_1000 / max(runs[0].tx_per_1000, 1e-9):.0f}x fewer transactions"
    )


if __name__ == "__main__":
    main()
