"""Exactly once with real Celery workers over Redis: workers competing for one queue with
duplicate messages and duplicate callbacks, a worker SIGKILLed between the escrow deposit and its
bookkeeping, and the broker restarted (losing every queued message) mid-run. Each time every
payment is settled exactly once: one status history, one set of balanced journal entries, one
escrow deposit of its amount, and the chain's MSC supply equal to what the books say was minted.

Redis: DB 1 and 2 of the shared server (unique queue names, keys deleted after), and a private
``redis-server`` on port 8729 for the restart. Anvil: port 8721.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

from common.serving import free_port
from settlement.workers.celery_app import create_celery
from settlement.workers.queue import CeleryQueue
from settlement.workers.settings import WorkerSettings
from tests.settlement.workers.support import (
    Api,
    Order,
    Stack,
    Worker,
    assert_settled_exactly_once,
    complete,
    create_payment,
    new_order,
    open_api,
    pay_through,
    settled,
    start_worker,
    status_of,
    wait_for,
    wait_statuses,
)

ANVIL_PORT = 8721
SHARED_REDIS = "redis://127.0.0.1:6379"
PRIVATE_REDIS_PORT = 8729


def celery_queue(broker_url: str, queue: str) -> CeleryQueue:
    """The API's queue: publishes to ``broker_url``."""
    settings = WorkerSettings.from_env({}, broker_url=broker_url, worker_queue=queue)
    return CeleryQueue(create_celery(settings), queue)


def forget_queue(broker_url: str) -> None:
    """Empties the Redis database the test used (DBs 1 and 2 are this test module's alone):
    the queue, kombu's unacked set and bindings."""
    client = redis.Redis.from_url(broker_url)
    client.flushdb()
    client.close()


def deliver_five_times(api: Api, order: Order) -> list[int]:
    """The completion callback, five times at once."""
    answers: list[int] = []
    barrier = threading.Barrier(5)

    def deliver() -> None:
        barrier.wait()
        answers.append(complete(api, order, order.txid).status_code)

    threads = [threading.Thread(target=deliver) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return answers


@pytest.fixture
def workers() -> Iterator[list[Worker]]:
    """Workers a test starts; all killed at the end, then their queues deleted from Redis."""
    started: list[Worker] = []
    yield started
    for worker in started:
        worker.kill()
    for worker in started:
        if worker.broker_url.startswith(SHARED_REDIS):
            forget_queue(worker.broker_url)


def test_two_workers_competing_for_one_queue_settle_each_payment_once(
    stack: Stack, workers: list[Worker], tmp_path: Path
) -> None:
    broker, queue = f"{SHARED_REDIS}/1", f"h1c-compete-{time.monotonic_ns()}"
    env = stack.worker_env(broker, queue)
    metrics_port, metrics_dir = free_port(), tmp_path / "w1-metrics"
    metrics_dir.mkdir()
    w1_env = {
        **env,
        "MSC_WORKER_METRICS_PORT": str(metrics_port),
        "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir),
    }
    workers += [start_worker("w1", w1_env, tmp_path, wait=False)]
    workers += [start_worker("w2", env, tmp_path, wait=False)]
    for worker in workers:
        wait_for(f"{worker.name} ready", worker.ready, 60, lambda w=worker: w.log.read_text()[-2000:])  # type: ignore[misc]
    tasks = celery_queue(broker, queue)
    for api in open_api(stack, tasks, tmp_path / "deployments"):
        app_before = stack.peer.app_balance()
        orders = [new_order(api) for _ in range(6)]
        for order in orders:
            assert create_payment(api, order).status_code == 202
            for _ in range(3):  # duplicate messages: both workers get the same payment's step
                assert tasks.enqueue("payments.approve", order.payment_id)
        for order in orders:
            pay_through(api, order, log=workers[0].log)
            assert deliver_five_times(api, order) == [202] * 5
            tasks.enqueue("payments.mint")
        ids = [o.payment_id for o in orders]
        wait_statuses(stack.db, ids, "completed", 90, workers[0].log)
        assert_settled_exactly_once(stack, ids, api.merchant_id)
        assert stack.peer.app_balance() == app_before + sum(settled(stack, ids).pi.values())
    # Both workers did settlement work: they really competed for the queue.
    for worker in workers:
        assert "succeeded" in worker.log.read_text(), worker.log.read_text()[-2000:]
    # w1's main process serves what its pool's children ran (prometheus multiprocess mode).
    exposition = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).text
    ran = {
        (s.labels["task"], s.labels["outcome"]): s.value
        for family in text_string_to_metric_families(exposition)
        if family.name == "msc_worker_tasks"
        for s in family.samples
        if s.name == "msc_worker_tasks_total"
    }
    assert sum(v for (_task, outcome), v in ran.items() if outcome == "ok") > 0, exposition[-2000:]


def test_a_worker_killed_between_mint_and_bookkeeping_loses_and_doubles_nothing(
    stack: Stack, workers: list[Worker], tmp_path: Path
) -> None:
    broker, queue = f"{SHARED_REDIS}/2", f"h1c-crash-{time.monotonic_ns()}"
    marker = tmp_path / "crashed"
    crashing = stack.worker_env(
        broker,
        queue,
        MSC_WORKER_CONTEXT_FACTORY="tests.settlement.workers.crashing:build_context",
        MSC_TEST_CRASH_MARKER=str(marker),
    )
    supply_before = stack.chain.supply()
    depositor = stack.chain.depositor.address
    idle_before = stack.chain.balance(depositor)
    escrowed_before = stack.chain.escrowed()
    victim = start_worker("victim", crashing, tmp_path)
    workers.append(victim)
    tasks = celery_queue(broker, queue)
    for api in open_api(stack, tasks, tmp_path / "deployments"):
        orders = [new_order(api) for _ in range(3)]
        for order in orders:
            assert create_payment(api, order).status_code == 202
        for order in orders:
            pay_through(api, order, log=victim.log)
        ids = [o.payment_id for o in orders]
        # The first mint deposits, then the worker is SIGKILLed before it books anything.
        wait_for("the worker to die at 'deposited'", lambda: victim.process.poll() is not None, 60,
                 lambda: victim.log.read_text()[-3000:])  # fmt: skip
        assert marker.exists() and victim.process.returncode == -9
        stranded = [pid for pid in ids if status_of(stack.db, pid) == "pending_stellar"]
        held = [pid for pid in stranded if settled(stack, [pid]).escrow[pid][0] == 1]
        assert held, "the kill must leave a payment deposited on-chain but not booked"

        # A healthy worker (with the sweep) takes over: it finds the deposit on the chain,
        # books it, and mints nothing twice.
        rescuer = start_worker("rescuer", stack.worker_env(broker, queue), tmp_path, beat=True)
        workers.append(rescuer)
        wait_statuses(stack.db, ids, "completed", 90, rescuer.log)
        assert_settled_exactly_once(stack, ids, api.merchant_id)
        total = sum(settled(stack, ids).idr.values())
        assert stack.chain.escrowed() - escrowed_before == total
        minted = stack.chain.supply() - supply_before
        assert minted == total + (stack.chain.balance(depositor) - idle_before)  # no MSC minted twice


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    """A redis-server of this test alone on port 8729, without persistence (a restart loses
    every queued message); the list holds the running process (replaced on restart)."""
    processes = [_start_redis(tmp_path)]
    yield processes
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def _start_redis(folder: Path) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        ["redis-server", "--port", str(PRIVATE_REDIS_PORT), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", str(folder)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    client = redis.Redis(port=PRIVATE_REDIS_PORT)

    def answers() -> bool:
        try:
            return bool(client.ping())
        except redis.ConnectionError:
            return False

    wait_for("the private redis-server", answers, 20)
    client.close()
    return process


def test_redis_restarted_mid_run_loses_no_payment_and_doubles_none(
    stack: Stack, workers: list[Worker], private_redis: list[subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    broker, queue = f"redis://127.0.0.1:{PRIVATE_REDIS_PORT}/0", "h1c-restart"
    worker = start_worker("survivor", stack.worker_env(broker, queue), tmp_path, beat=True)
    workers.append(worker)
    tasks = celery_queue(broker, queue)
    for api in open_api(stack, tasks, tmp_path / "deployments"):
        orders = [new_order(api) for _ in range(4)]
        for order in orders:
            assert create_payment(api, order).status_code == 202
        wait_statuses(stack.db, [o.payment_id for o in orders], "pending_user_transfer_start", 60, worker.log)
        for order in orders:
            order.txid = stack.peer.control.wallet_pay(order.pi_id)

        # Redis dies: every queued message is gone. Callbacks still succeed (the txid is recorded,
        # the verification cannot be queued), then Redis comes back empty.
        private_redis[0].kill()
        private_redis[0].wait(timeout=10)
        for order in orders[:2]:
            assert complete(api, order, order.txid).status_code == 202
        private_redis.append(_start_redis(tmp_path))
        for order in orders[2:]:
            assert complete(api, order, order.txid).status_code == 202

        ids = [o.payment_id for o in orders]
        wait_statuses(stack.db, ids, "completed", 90, worker.log)
        assert_settled_exactly_once(stack, ids, api.merchant_id)
    assert worker.process.poll() is None  # the worker rode out the restart
