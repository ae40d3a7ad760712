"""Labelled evaluation data: a simulated month-scale economy of Madiun with injected anomalies.

Normal activity follows the shape of the real thing: customers are topped up from bank gateways,
pay their favourite merchants (a few popular warung and shops get most of the traffic) with the
daily rhythm of WIB (UTC+7: breakfast, lunch and evening peaks, quiet nights), now and then send
money to friends; merchants move each day's takings to their own payout account, which redeems
weekly at the issuer, and pay suppliers (a few wholesalers weekly, with large invoices); carbon
traders and some merchants trade carbon credit series during business hours around a reference
price that drifts slowly.

On top of that, episodes of each anomaly kind are injected and their trades labelled with the
kind (``wash_trade``, ``cycle``, ``spike``, ``structuring``, ``dormant``); every other row has an
empty label. Everything derives from one seed, so a file is reproducible.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from audit.anomaly.csvio import write_trades
from audit.anomaly.errors import GeneratorSettingsError
from audit.anomaly.flags import CYCLE, DORMANT, RULE_KINDS, SPIKE, STRUCTURING, WASH_TRADE
from audit.anomaly.trades import IntArray, TradeRow

WIB = 7 * 3600
DAY = 86400
RP = 100  # sen per rupiah
_RETAIL_PROFILE = np.array(
    [
        0.2,
        0.1,
        0.1,
        0.1,
        0.3,
        0.8,
        2.0,
        4.0,
        4.0,
        3.0,
        3.0,
        4.0,
        6.0,
        5.0,
        3.0,
        3.0,
        4.0,
        5.0,
        7.0,
        8.0,
        6.0,
        4.0,
        2.0,
        0.8,
    ]
)
_BUSINESS_PROFILE = np.array([0.0] * 8 + [3.0, 5.0, 5.0, 4.0, 2.0, 4.0, 5.0, 4.0, 2.0] + [0.0] * 7)


@dataclass(frozen=True)
class GeneratorSettings:
    """Size and shape of the simulated economy.

    Attributes:
        seed: Seed of every random draw.
        days: Length of the simulation (dormancy episodes need more than ~110 days).
        start: First day (UTC date).
        customers, merchants, suppliers, traders, gateways: Accounts of each role.
        carbon_series: Carbon credit series traded.
        carbon_trades_per_day: Mean carbon trades per series and day.
        episodes: Injected episodes per anomaly kind (0 gives clean activity).
        kinds: Anomaly kinds to inject.
    """

    seed: int = 0
    days: int = 150
    start: str = "2024-01-01"
    customers: int = 1500
    merchants: int = 120
    suppliers: int = 20
    traders: int = 30
    gateways: int = 2
    carbon_series: int = 3
    carbon_trades_per_day: float = 20.0
    episodes: int = 10
    kinds: tuple[str, ...] = RULE_KINDS


@dataclass
class GeneratedData:
    """The generated trades and the roles behind the addresses (for tests and demos)."""

    rows: list[TradeRow]
    roles: dict[str, str] = field(default_factory=dict)
    payout_pairs: list[tuple[str, str]] = field(default_factory=list)
    episodes: dict[str, int] = field(default_factory=dict)


class _Ledger:
    """Accumulates trades column-wise while the simulation runs."""

    def __init__(self, rng: np.random.Generator, start: int) -> None:
        self.rng = rng
        self.start = start
        self.ts: list[int] = []
        self.kind: list[str] = []
        self.sender: list[str] = []
        self.receiver: list[str] = []
        self.series: list[str] = []
        self.amount: list[int] = []
        self.price: list[int] = []
        self.label: list[str] = []
        self.roles: dict[str, str] = {}

    def address(self, role: str) -> str:
        """A fresh 20-byte hex address with a remembered role."""
        addr = "0x" + self.rng.bytes(20).hex()
        self.roles[addr] = role
        return addr

    def addresses(self, role: str, n: int) -> list[str]:
        """``n`` fresh addresses."""
        return [self.address(role) for _ in range(n)]

    def times(self, days: IntArray, profile: np.ndarray) -> IntArray:
        """Timestamps on the given day numbers, hour drawn from a local-time ``profile``."""
        hours = self.rng.choice(24, size=len(days), p=profile / profile.sum())
        seconds = self.rng.integers(0, 3600, size=len(days))
        return self.start + days * DAY + hours * 3600 + seconds - WIB

    def add(
        self,
        ts: int,
        kind: str,
        sender: str,
        receiver: str,
        amount: int,
        series: str = "",
        price: int = 0,
        label: str = "",
    ) -> None:
        """One trade."""
        self.extend([ts], kind, [sender], [receiver], [amount], series=[series], price=[price], label=label)

    def extend(
        self,
        ts: IntArray | list[int],
        kind: str,
        senders: list[str],
        receivers: list[str],
        amounts: IntArray | list[int],
        *,
        series: list[str] | None = None,
        price: IntArray | list[int] | None = None,
        label: str = "",
    ) -> None:
        """Many trades of one kind."""
        n = len(senders)
        self.ts += [int(t) for t in ts]
        self.kind += [kind] * n
        self.sender += senders
        self.receiver += receivers
        self.amount += [int(a) for a in amounts]
        self.series += series if series is not None else [""] * n
        self.price += [int(p) for p in price] if price is not None else [0] * n
        self.label += [label] * n

    def rows(self) -> list[TradeRow]:
        """The trades in time order, with fresh transaction hashes."""
        n = len(self.ts)
        raw = self.rng.bytes(32 * n).hex()
        order = sorted(range(n), key=self.ts.__getitem__)
        return [
            TradeRow(
                ts=self.ts[i],
                tx_hash="0x" + raw[64 * k : 64 * k + 64],
                kind=self.kind[i],
                sender=self.sender[i],
                receiver=self.receiver[i],
                token="CARBON" if self.kind[i] == "carbon_trade" else "MSC",
                token_id=self.series[i],
                amount=self.amount[i],
                price=self.price[i],
                label=self.label[i],
            )
            for k, i in enumerate(order)
        ]


def _round_to(values: np.ndarray, unit: int) -> IntArray:
    """Rounds positive amounts to a multiple of ``unit`` (at least one unit)."""
    return np.maximum(np.round(values / unit), 1).astype(np.int64) * unit


class _Economy:
    """The normal activity; keeps the handles the injections need."""

    def __init__(self, s: GeneratorSettings, ledger: _Ledger) -> None:
        self.s, self.led, self.rng = s, ledger, ledger.rng
        self.gateways = ledger.addresses("gateway", s.gateways)
        self.issuer = ledger.address("issuer")
        self.customers = ledger.addresses("customer", s.customers)
        self.merchants = ledger.addresses("merchant", s.merchants)
        self.payouts = ledger.addresses("payout", s.merchants)
        self.suppliers = ledger.addresses("supplier", s.suppliers)
        self.traders = ledger.addresses("trader", s.traders)
        self.series = [
            f"IDN-VCS-{int(self.rng.integers(1000, 4000))}-{2019 + i % 5}" for i in range(s.carbon_series)
        ]
        drift = self.rng.normal(0.0, 0.01, size=(s.carbon_series, s.days)).cumsum(axis=1)
        self.ref_price = self.rng.uniform(50_000, 120_000, size=(s.carbon_series, 1)) * RP * np.exp(drift)

    def gateway(self) -> str:
        """A random bank gateway."""
        return self.gateways[int(self.rng.integers(len(self.gateways)))]

    def fund(self, ts: int, account: str, rupiah_low: float, rupiah_high: float) -> None:
        """A top-up from a gateway."""
        amount = _round_to(np.array([self.rng.uniform(rupiah_low, rupiah_high) * RP]), 1000 * RP)[0]
        self.led.add(ts, "transfer", self.gateway(), account, int(amount))

    def run(self) -> None:
        """Generates all normal activity."""
        rng, start = self.rng, self.led.start
        for group, low, high in (
            (self.customers, 2e5, 2e6),
            (self.merchants, 1e6, 1e7),
            (self.suppliers, 5e6, 5e7),
            (self.traders, 5e7, 3e8),
        ):
            for account in group:
                self.fund(start + int(rng.integers(0, 2 * 3600)), account, low, high)
        self._purchases_and_payouts()
        self._topups_and_friends()
        self._suppliers()
        self._carbon()

    def _purchases_and_payouts(self) -> None:
        s, rng, led = self.s, self.rng, self.led
        popularity = 1.0 / np.arange(1, s.merchants + 1) ** 0.8
        popularity /= popularity.sum()
        favourites = np.stack(
            [rng.choice(s.merchants, size=4, replace=False, p=popularity) for _ in range(s.customers)]
        )
        rate = np.clip(rng.lognormal(np.log(0.7), 0.5, size=s.customers), 0.3, 3.0)
        counts = rng.poisson(rate * (s.days - 1))
        customer = np.repeat(np.arange(s.customers), counts)
        pick = rng.choice(4, size=len(customer), p=[0.5, 0.25, 0.15, 0.1])
        merchant = favourites[customer, pick]
        day = rng.integers(1, s.days, size=len(customer))
        ticket = rng.lognormal(np.log(40_000), 0.8, size=s.merchants)
        amount = _round_to(ticket[merchant] * rng.lognormal(0.0, 0.4, size=len(customer)) * RP, 500 * RP)
        led.extend(
            led.times(day, _RETAIL_PROFILE),
            "settlement",
            [self.customers[c] for c in customer.tolist()],
            [self.merchants[m] for m in merchant.tolist()],
            amount,
        )
        takings = np.zeros((s.merchants, s.days + 1), dtype=np.int64)
        np.add.at(takings, (merchant, day), amount)
        m_idx, d_idx = np.nonzero(takings)
        payout = (takings[m_idx, d_idx] * rng.uniform(0.85, 1.0, size=len(m_idx))).astype(np.int64)
        ts = led.start + d_idx * DAY + 21 * 3600 + rng.integers(0, 3600, size=len(m_idx)) - WIB
        led.extend(
            ts,
            "transfer",
            [self.merchants[m] for m in m_idx.tolist()],
            [self.payouts[m] for m in m_idx.tolist()],
            np.maximum(payout, 1),
        )
        weekly = np.zeros((s.merchants, s.days // 7 + 1), dtype=np.int64)
        np.add.at(weekly, (m_idx, d_idx // 7), payout)
        w_m, w_w = np.nonzero(weekly[:, 1:])
        if len(w_m):
            redeem = (weekly[w_m, w_w + 1] * rng.uniform(0.9, 1.0, size=len(w_m))).astype(np.int64)
            days = np.minimum((w_w + 1) * 7, s.days - 1)
            led.extend(
                led.times(days, _BUSINESS_PROFILE),
                "redemption",
                [self.payouts[m] for m in w_m.tolist()],
                [self.issuer] * len(w_m),
                np.maximum(redeem, 1),
            )

    def _topups_and_friends(self) -> None:
        s, rng, led = self.s, self.rng, self.led
        n_top = rng.poisson((s.days - 1) / 7, size=s.customers)
        who = np.repeat(np.arange(s.customers), n_top)
        day = rng.integers(1, s.days, size=len(who))
        amount = _round_to(rng.uniform(1e5, 1e6, size=len(who)) * RP, 50_000 * RP)
        led.extend(
            led.times(day, _RETAIL_PROFILE),
            "transfer",
            [self.gateway() for _ in range(len(who))],
            [self.customers[c] for c in who.tolist()],
            amount,
        )
        friends = rng.integers(0, s.customers, size=(s.customers, 3))
        n_p2p = rng.poisson(0.03 * (s.days - 1), size=s.customers)
        who = np.repeat(np.arange(s.customers), n_p2p)
        friend = friends[who, rng.integers(0, 3, size=len(who))]
        keep = friend != who
        who, friend = who[keep], friend[keep]
        day = rng.integers(1, s.days, size=len(who))
        amount = _round_to(
            np.minimum(rng.lognormal(np.log(100_000), 0.8, size=len(who)), 5e6) * RP, 1000 * RP
        )
        led.extend(
            led.times(day, _RETAIL_PROFILE),
            "transfer",
            [self.customers[c] for c in who.tolist()],
            [self.customers[c] for c in friend.tolist()],
            amount,
        )

    def _suppliers(self) -> None:
        s, rng, led = self.s, self.rng, self.led
        wholesale = rng.random(s.merchants) < 0.1
        for m, merchant in enumerate(self.merchants):
            usual = rng.choice(s.suppliers, size=min(2, s.suppliers), replace=False)
            rate, median, sigma = (1 / 7, 1.5e8, 0.7) if wholesale[m] else (0.1, 3e6, 1.0)
            n = int(rng.poisson(rate * (s.days - 1)))
            day = rng.integers(1, s.days, size=n)
            amount = _round_to(rng.lognormal(np.log(median), sigma, size=n) * RP, 1000 * RP)
            sup = usual[rng.integers(0, len(usual), size=n)]
            led.extend(
                led.times(day, _BUSINESS_PROFILE),
                "transfer",
                [merchant] * n,
                [self.suppliers[i] for i in sup.tolist()],
                amount,
            )
        for supplier in self.suppliers:
            days = np.arange(3, s.days, 3)
            amount = _round_to(rng.uniform(1e6, 2e7, size=len(days)) * RP, 1000 * RP)
            led.extend(
                led.times(days, _BUSINESS_PROFILE),
                "redemption",
                [supplier] * len(days),
                [self.issuer] * len(days),
                amount,
            )

    def _carbon(self) -> None:
        s, rng, led = self.s, self.rng, self.led
        buyers_pool = self.traders + self.merchants[: max(1, s.merchants // 5)]
        for k, series in enumerate(self.series):
            n = int(rng.poisson(s.carbon_trades_per_day * s.days))
            day = rng.integers(0, s.days, size=n)
            price = _round_to(self.ref_price[k, day] * np.exp(rng.normal(0.0, 0.03, size=n)), 100 * RP)
            tonnes = np.maximum(np.round(rng.lognormal(np.log(10), 0.7, size=n)), 1).astype(np.int64)
            seller = rng.integers(0, len(self.traders), size=n)
            buyer = rng.integers(0, len(buyers_pool), size=n)
            clash = buyer == seller  # traders come first in buyers_pool
            buyer[clash] = (buyer[clash] + 1) % len(buyers_pool)
            led.extend(
                led.times(day, _BUSINESS_PROFILE),
                "carbon_trade",
                [self.traders[i] for i in seller.tolist()],
                [buyers_pool[i] for i in buyer.tolist()],
                tonnes,
                series=[series] * n,
                price=price,
            )

    def carbon_price(self, k: int, day: int) -> float:
        """Reference price of series ``k`` on ``day`` in sen per tonne."""
        return float(self.ref_price[k, min(max(day, 0), self.s.days - 1)])


class _Injector:
    """Adds labelled anomaly episodes on top of an :class:`_Economy`."""

    def __init__(self, economy: _Economy) -> None:
        self.e, self.led, self.rng, self.s = economy, economy.led, economy.rng, economy.s

    def _day(self, low: int = 10) -> int:
        return int(self.rng.integers(low, max(low + 1, self.s.days - 5)))

    def _at(self, day: int, profile: np.ndarray = _BUSINESS_PROFILE) -> int:
        return int(self.led.times(np.array([day]), profile)[0])

    def _carbon_trade(
        self,
        ts: int,
        seller: str,
        buyer: str,
        label: str,
        *,
        factor: float = 1.0,
        tonnes: int | None = None,
        k: int | None = None,
    ) -> None:
        rng = self.rng
        k = int(rng.integers(len(self.e.series))) if k is None else k
        day = (ts - self.led.start) // DAY
        price = _round_to(
            np.array([self.e.carbon_price(k, day) * factor * np.exp(rng.normal(0, 0.02))]), 100 * RP
        )
        size = tonnes if tonnes is not None else max(1, round(float(rng.lognormal(np.log(10), 0.6))))
        self.led.add(ts, "carbon_trade", seller, buyer, size, self.e.series[k], int(price[0]), label)

    def wash_trade(self, episode: int) -> None:
        """Accounts funded by one owner trade carbon among themselves (every 4th: a self-trader)."""
        rng, led, day = self.rng, self.led, self._day()
        t = self._at(day)
        if episode % 4 == 3:
            trader = self.e.traders[int(rng.integers(len(self.e.traders)))]
            for i in range(int(rng.integers(2, 4))):
                self._carbon_trade(t + i * int(rng.integers(1800, 7200)), trader, trader, WASH_TRADE)
            return
        owner = led.address("wash_owner")
        self.e.fund(t - DAY, owner, 1e8, 4e8)
        wallets = [owner, *led.addresses("wash_wallet", int(rng.integers(2, 4)))]
        for i, wallet in enumerate(wallets[1:]):
            amount = _round_to(np.array([rng.uniform(2e7, 8e7) * RP]), 1000 * RP)[0]
            led.add(t - DAY + 3600 * (i + 1), "transfer", owner, wallet, int(amount))
        k = int(rng.integers(len(self.e.series)))
        for _ in range(int(rng.integers(4, 9))):
            a, b = rng.choice(len(wallets), size=2, replace=False)
            self._carbon_trade(
                self._at(day + int(rng.integers(0, 3))), wallets[a], wallets[b], WASH_TRADE, k=k
            )

    def cycle(self, episode: int) -> None:
        """An amount travels around 2-4 existing accounts and comes back within two days."""
        rng, day = self.rng, self._day()
        length = 2 + episode % 3
        pool = self.e.customers + self.e.traders
        members = [pool[int(i)] for i in rng.choice(len(pool), size=length, replace=False)]
        amount = float(rng.uniform(1e7, 2e8) * RP)
        t = self._at(day, _RETAIL_PROFILE)
        for hop in range(length):
            amount *= 1.0 - rng.uniform(0.0, 0.01)
            sent = int(_round_to(np.array([amount]), 1000 * RP)[0])
            self.led.add(t, "transfer", members[hop], members[(hop + 1) % length], sent, label=CYCLE)
            t += int(rng.integers(3600, 16 * 3600))

    def spike(self, episode: int) -> None:
        """A pump, a crash or an outsized block trade in one carbon series."""
        rng, day = self.rng, self._day()
        t = self._at(day)
        k = int(rng.integers(len(self.e.series)))
        variant = episode % 3
        for _ in range(int(rng.integers(1, 3)) if variant == 2 else int(rng.integers(2, 4))):
            seller, buyer = (
                self.e.traders[int(i)] for i in rng.choice(len(self.e.traders), 2, replace=False)
            )
            if variant == 0:
                self._carbon_trade(t, seller, buyer, SPIKE, factor=float(rng.uniform(1.6, 2.5)), k=k)
            elif variant == 1:
                self._carbon_trade(t, seller, buyer, SPIKE, factor=float(rng.uniform(0.3, 0.45)), k=k)
            else:
                self._carbon_trade(t, seller, buyer, SPIKE, tonnes=int(rng.integers(400, 1000)), k=k)
            t += int(rng.integers(600, 3600))

    def _band_amount(self) -> int:
        return int(_round_to(np.array([self.rng.uniform(4.55e8, 4.995e8) * RP]), 100_000 * RP)[0])

    def structuring(self, episode: int) -> None:
        """Payments just under Rp 500 million: split by one sender, or collected from several (fan-in)."""
        rng, led, day = self.rng, self.led, self._day()
        targets = self.e.suppliers + self.e.merchants + self.e.customers[:50]
        if episode % 3 == 2:
            collector = led.address("structuring_collector")
            for i in range(int(rng.integers(3, 6))):
                mule = led.address("structuring_mule")
                self.e.fund(self._at(day - 1), mule, 5.2e8, 6e8)
                led.add(
                    self._at(day + i), "transfer", mule, collector, self._band_amount(), label=STRUCTURING
                )
            return
        sender = led.address("structuring_sender")
        self.e.fund(self._at(day - 1), sender, 2e9, 3e9)
        receivers = [
            targets[int(i)] for i in rng.choice(len(targets), size=int(rng.integers(1, 4)), replace=False)
        ]
        for i in range(int(rng.integers(3, 7))):
            receiver = receivers[i % len(receivers)]
            led.add(
                self._at(day + int(rng.integers(0, 5))),
                "transfer",
                sender,
                receiver,
                self._band_amount(),
                label=STRUCTURING,
            )

    def dormant(self, episode: int) -> bool:
        """An account active in its first weeks, silent for 95+ days, then moving money out."""
        rng, led = self.rng, self.led
        first = int(rng.integers(0, 5))
        last = first + int(rng.integers(3, 12))
        low, high = last + 95, min(last + 130, self.s.days - 1)
        if low > high:
            return False
        account = led.address("dormant")
        self.e.fund(self._at(first, _RETAIL_PROFILE) + DAY // 2, account, 5e6, 2e7)
        for day in sorted({first + 1, last, *rng.integers(first + 1, last + 1, size=3).tolist()}):
            merchant = self.e.merchants[int(rng.integers(len(self.e.merchants)))]
            amount = _round_to(np.array([rng.uniform(2e4, 2e5) * RP]), 500 * RP)[0]
            led.add(self._at(day, _RETAIL_PROFILE), "settlement", account, merchant, int(amount))
        t = self._at(int(rng.integers(low, high + 1)), _RETAIL_PROFILE)
        for _ in range(int(rng.integers(1, 4))):
            to = self.e.customers[int(rng.integers(len(self.e.customers)))]
            amount = _round_to(np.array([rng.uniform(1e6, 5e6) * RP]), 1000 * RP)[0]
            led.add(t, "transfer", account, to, int(amount), label=DORMANT)
            t += int(rng.integers(300, 3 * 3600))
        return True


def generate(settings: GeneratorSettings | None = None) -> GeneratedData:
    """Simulates the economy and injects ``settings.episodes`` episodes of each kind."""
    s = settings or GeneratorSettings()
    if (
        s.days < 20
        or min(s.customers, s.merchants, s.suppliers, s.gateways, s.carbon_series) < 1
        or s.traders < 3
    ):
        raise GeneratorSettingsError(
            "the generator needs >= 20 days, >= 3 traders and at least one account of every other role",
            days=s.days,
        )
    unknown = set(s.kinds) - set(RULE_KINDS)
    if unknown:
        raise GeneratorSettingsError(f"unknown anomaly kind(s) {sorted(unknown)}; known: {RULE_KINDS}")
    rng = np.random.default_rng(s.seed)
    start = int(datetime.fromisoformat(s.start).replace(tzinfo=UTC).timestamp())
    ledger = _Ledger(rng, start)
    economy = _Economy(s, ledger)
    economy.run()
    injector = _Injector(economy)
    done: dict[str, int] = {}
    for kind in s.kinds:
        for episode in range(s.episodes):
            if kind == DORMANT:
                done[kind] = done.get(kind, 0) + int(injector.dormant(episode))
            else:
                {
                    WASH_TRADE: injector.wash_trade,
                    CYCLE: injector.cycle,
                    SPIKE: injector.spike,
                    STRUCTURING: injector.structuring,
                }[kind](episode)
                done[kind] = done.get(kind, 0) + 1
    pairs = list(zip(economy.merchants, economy.payouts, strict=True))
    return GeneratedData(ledger.rows(), ledger.roles, pairs, done)


def write_labelled(path: str | Path, data: GeneratedData) -> None:
    """Writes the trades with the ``label`` column."""
    write_trades(path, data.rows, with_label=True)
