"""Benchmark of the matching engine (not a test): throughput and peak memory on a realistic order flow.

Generates a fixed-seed flow over several carbon tokens (limit orders around a drifting mid price, a share
of them marketable, cancels of recent orders, occasional self-matches, fills confirmed in settlement
batches) and runs it through:

* ``MatchingEngine``: the real engine with every safeguard on (limits set high enough not to refuse);
* a naive baseline: one Python list per book side, re-sorted after every insert, matched from the front
  and cancelled by linear search.

Both must produce the same fills (checked), so the comparison is like for like. Throughput runs without
tracemalloc; peak memory is measured in a second pass with tracemalloc on.

It then measures, in the same run, the gas of settling fills on-chain (``CarbonMarket.settle`` of one
fill and ``settleBatch`` of 50) on anvil through Brownie, with bench/gas.py's measurement.

Run: ``.venv/bin/python bench/market.py [--orders N] [--no-gas]``.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import sys
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common.errors import MSCError
from market.book import StpPolicy
from market.engine import MatchingEngine
from market.orders import Order, Side
from market.safeguards import SafeguardConfig

SEED = 20_240_601
START_MS = 1_717_200_000_000
TICK = 1_000  # sen: quotes move in Rp 10 steps
TOKENS = {1: 6_000_000, 2: 4_500_000, 3: 7_500_000, 4: 3_200_000, 5: 5_800_000}  # sen per tonne
ACCOUNTS = 300
SIZES = (1, 2, 5, 10, 20, 50, 100, 250, 500, 1_000)
SIZE_WEIGHTS = (10, 10, 20, 20, 15, 10, 7, 4, 3, 1)
SETTLEMENT_BATCH = 1_000  # events between confirmations of every pending fill

Event = tuple[str, str, str, Side, int, int, int] | tuple[str, str]


def generate_flow(orders: int, seed: int = SEED) -> list[Event]:
    """A deterministic flow of ``("new", id, account, side, token, amount, price)`` and ``("cancel", id)``."""
    rng = random.Random(seed)
    mids = dict(TOKENS)
    recent: dict[int, list[str]] = {token: [] for token in TOKENS}
    flow: list[Event] = []
    made = 0
    while made < orders:
        token = rng.choice(tuple(TOKENS))
        if rng.random() < 0.3 and recent[token]:
            pool = recent[token]
            flow.append(("cancel", pool.pop(rng.randrange(len(pool)))))
            continue
        made += 1
        mid = mids[token]
        mids[token] = min(
            max(mid + rng.choice((-TICK, 0, 0, TICK)), TOKENS[token] * 9 // 10), TOKENS[token] * 11 // 10
        )
        side = Side.BUY if rng.random() < 0.5 else Side.SELL
        sign = 1 if side is Side.BUY else -1
        if rng.random() < 0.25:
            price = mid + sign * rng.randint(0, 5) * TICK  # marketable
        else:
            price = mid - sign * rng.randint(1, 15) * TICK  # passive
        order_id = f"0x{made:064x}"
        amount = rng.choices(SIZES, SIZE_WEIGHTS)[0]
        flow.append(("new", order_id, f"acct{rng.randrange(ACCOUNTS)}", side, token, amount, price))
        pool = recent[token]
        pool.append(order_id)
        if len(pool) > 400:
            del pool[: len(pool) - 400]
    return flow


@dataclass
class Result:
    """What one implementation did with the flow."""

    name: str
    orders: int
    seconds: float
    fills: list[tuple[str, str, int, int]]
    peak_bytes: int = 0


def run_engine(flow: list[Event]) -> Result:
    """Feed the flow to the real engine; fills are confirmed every ``SETTLEMENT_BATCH`` events."""
    now = [START_MS]

    def clock() -> int:
        return now[0]

    config = SafeguardConfig(account_daily_limit=10**12, market_daily_limit=10**12)
    engine = MatchingEngine(clock, config, StpPolicy.CANCEL_RESTING)
    for token, price in TOKENS.items():
        engine.set_reference_price(token, price)
    fills: list[tuple[str, str, int, int]] = []
    submitted = 0
    start = time.perf_counter()
    for index, event in enumerate(flow):
        now[0] += 1
        if event[0] == "new":
            _, order_id, account, side, token, amount, price = event  # type: ignore[misc]
            order = Order(order_id, account, account, side, token, amount, price)
            for fill in engine.submit(order):
                fills.append((fill.maker_order_id, fill.taker_order_id, fill.amount, fill.price))
            submitted += 1
        else:
            with contextlib.suppress(MSCError):
                engine.cancel(event[1])
        if index % SETTLEMENT_BATCH == 0:
            for fill in engine.pending_fills():
                engine.confirm_fill(fill)
    seconds = time.perf_counter() - start
    return Result("MatchingEngine (all safeguards)", submitted, seconds, fills)


class NaiveBook:
    """Baseline: each side is a list of (sort key, sequence, order) re-sorted after every insert."""

    def __init__(self) -> None:
        self.bids: list[tuple[int, int, Order]] = []
        self.asks: list[tuple[int, int, Order]] = []


def run_naive(flow: list[Event]) -> Result:
    """Feed the flow to the naive baseline (same matching rules, cancel-resting self-match prevention)."""
    books = {token: NaiveBook() for token in TOKENS}
    live: dict[str, Order] = {}
    fills: list[tuple[str, str, int, int]] = []
    submitted = 0
    start = time.perf_counter()
    for sequence, event in enumerate(flow):
        if event[0] == "cancel":
            order = live.pop(event[1], None)
            if order is not None:
                book = books[order.token_id]
                entries = book.bids if order.side is Side.BUY else book.asks
                for i, entry in enumerate(entries):
                    if entry[2] is order:
                        del entries[i]
                        break
            continue
        _, order_id, account, side, token, amount, price = event  # type: ignore[misc]
        taker = Order(order_id, account, account, side, token, amount, price, remaining=amount)
        submitted += 1
        book = books[token]
        opposite = book.asks if side is Side.BUY else book.bids
        while taker.remaining and opposite:
            maker = opposite[0][2]
            if (maker.price > price) if side is Side.BUY else (maker.price < price):
                break
            if maker.beneficial_owner == account:
                opposite.pop(0)
                del live[maker.order_id]
                continue
            quantity = min(maker.remaining, taker.remaining)
            maker.remaining -= quantity
            taker.remaining -= quantity
            fills.append((maker.order_id, order_id, quantity, maker.price))
            if not maker.remaining:
                opposite.pop(0)
                del live[maker.order_id]
        if taker.remaining:
            live[order_id] = taker
            own = book.bids if side is Side.BUY else book.asks
            own.append((-price if side is Side.BUY else price, sequence, taker))
            own.sort(key=_entry_key)
    seconds = time.perf_counter() - start
    return Result("naive (list re-sorted per insert)", submitted, seconds, fills)


def _entry_key(entry: tuple[int, int, Order]) -> tuple[int, int]:
    return entry[0], entry[1]


def with_peak_memory(runner: Callable[[list[Event]], Result], flow: list[Event]) -> int:
    """Peak bytes traced while ``runner`` processes the flow."""
    tracemalloc.start()
    try:
        runner(flow)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def measure_fill_gas() -> dict[str, int]:
    """Gas of one fill and of a batch of 50 on anvil (Brownie's ``msc-bench`` network)."""
    import importlib.util

    import brownie
    from brownie import network, project

    spec = importlib.util.spec_from_file_location("msc_bench_gas", Path(__file__).with_name("gas.py"))
    assert spec is not None and spec.loader is not None
    gas_bench = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = gas_bench  # its dataclasses look their module up by name
    spec.loader.exec_module(gas_bench)
    proj = project.load(Path(__file__).resolve().parent.parent, name="MSCMarketBench")
    network.connect("msc-bench")
    try:
        return dict(gas_bench.measure_market(brownie.accounts, proj, brownie.chain))
    finally:
        network.disconnect()


def main() -> None:
    """Generate the flow, run both implementations, check they agree and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--orders", type=int, default=200_000)
    parser.add_argument("--no-gas", action="store_true", help="skip the on-chain gas of fills")
    args = parser.parse_args()
    flow = generate_flow(args.orders)
    cancels = sum(1 for e in flow if e[0] == "cancel")
    print(f"flow: {args.orders} orders + {cancels} cancels over {len(TOKENS)} tokens, seed {SEED}")
    results = [run_engine(flow), run_naive(flow)]
    if results[0].fills != results[1].fills:
        raise SystemExit("engine and naive baseline disagree on the fills")
    for result, runner in zip(results, (run_engine, run_naive), strict=True):
        result.peak_bytes = with_peak_memory(runner, flow)
    fills = results[0].fills
    print(f"fills: {len(fills)} ({sum(f[2] for f in fills)} t), identical in both implementations")
    print()
    print(f"| {'implementation':<34} | {'orders/s':>10} | {'seconds':>8} | {'peak MiB':>8} |")
    print(f"|{'-' * 36}|{'-' * 12}|{'-' * 10}|{'-' * 10}|")
    for r in results:
        rate = r.orders / r.seconds
        print(f"| {r.name:<34} | {rate:>10,.0f} | {r.seconds:>8.2f} | {r.peak_bytes / 2**20:>8.1f} |")
    print(f"\nspeed-up over the naive baseline: {results[1].seconds / results[0].seconds:.1f}x")
    if not args.no_gas:
        gas = measure_fill_gas()
        single, batch = gas["market fill (single)"], gas["market batch of 50 fills, per fill"]
        print("\nOn-chain settlement of matched fills (CarbonMarket, anvil):")
        print(f"| {'settlement':<34} | {'gas per fill':>12} |")
        print(f"|{'-' * 36}|{'-' * 14}|")
        print(f"| {'one fill (settle)':<34} | {single:>12,} |")
        print(f"| {'batch of 50 fills (settleBatch)':<34} | {batch:>12,} |")
        print(f"batching saves {100 * (single - batch) / single:.0f}% of the gas per fill")


if __name__ == "__main__":
    main()
