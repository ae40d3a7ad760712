"""The whole platform on one anvil, and carbon-credit and carbon-market traffic for it.

:func:`deploy_world` deploys MSC, LockStaking, MerchantEscrow, CarbonCredits and CarbonMarket with
:func:`chain.deploy.deploy_platform` (every role on dev account 0) and returns the views the other
indexer tests' helpers take (:class:`~tests.indexer.support.Chain` for MSC, ``Platform`` for escrow
and staking, ``Carbon`` for the credits). :class:`MarketTraffic` drives the credits and the market:
issuance, transfers, retirements, bridge-backs, signed orders settled one by one and in batches
(partial fills of the same order across blocks), cancellations (sometimes twice), nonce bumps and
term changes. Orders are signed by anvil (``eth_signTypedData_v4`` for its unlocked accounts, in
one batch per block), the same EIP-712 typed data a wallet signs (:func:`chain.eip712.order`).

:func:`assert_market_exact` checks every market row against the contract at the checkpoint.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_abi import encode as abi_encode
from eth_utils import keccak
from sqlalchemy import Engine, select
from web3 import Web3

from chain import eip712
from chain.deploy import DeployPlan, deploy_platform
from indexer.market_state import ALLOWLIST, NONCES, ORDERS, TERMS, TRADES
from indexer.reader import (
    account_trades,
    market_allowlisted,
    market_nonce,
    market_order,
    market_terms,
    token_trades,
)
from indexer.store import CHECKPOINTS
from tests.indexer.support import BUILD_DIR, Chain, dump, rpc, rpc_batch
from tests.indexer.test_carbon_projections import T1, T2, T3, Carbon
from tests.indexer.test_platform_projections import Platform, call_many

GAS = 600_000
BATCH_GAS = 6_000_000
GAS_PRICE = 10**9
BUY, SELL = 0, 1
TOKENS = (T1, T2, T3)
ORDER_TYPEHASH = keccak(
    text="Order(address trader,uint8 side,uint256 tokenId,uint64 amount,uint256 price,uint64 expiry,"
    "uint256 salt,uint256 nonce)"
)
ORDER_TYPES = ["bytes32", "address", "uint8", "uint256", "uint64", "uint256", "uint64", "uint256", "uint256"]
MARKET_TABLES = (TRADES, ORDERS, NONCES, TERMS, ALLOWLIST)


@dataclass
class World:
    """The five contracts on one node, as each test helper wants to see them."""

    chain: Chain
    platform: Platform
    carbon: Carbon
    market: Any

    @property
    def url(self) -> str:
        """The node's URL."""
        return self.chain.url


def deploy_world(url: str, folder: Path) -> World:
    """The platform deployed by :func:`chain.deploy.deploy_platform`, every role on account 0."""
    w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 60}))
    accounts = [str(a) for a in w3.eth.accounts]
    path = folder / "test.json"
    deployment = deploy_platform(w3, BUILD_DIR, DeployPlan(accounts[0], network="test"), path)

    def bound(name: str) -> Any:
        from chain.artifacts import load_artifact

        address = deployment.contracts[name].address
        return w3.eth.contract(
            address=Web3.to_checksum_address(address), abi=load_artifact(BUILD_DIR, name).abi
        )

    msc = bound("MadiunStableCoin")
    first = min(c.block_number for c in deployment.contracts.values())
    chain = Chain(url, w3, str(msc.address).lower(), first, path, accounts)
    platform = Platform(chain, msc, bound("LockStaking"), bound("MerchantEscrow"))
    return World(chain, platform, Carbon(chain, bound("CarbonCredits")), bound("CarbonMarket"))


def order_hash(o: Sequence[Any]) -> str:
    """The contract's ``hashOrder`` (the EIP-712 struct hash) of order tuple ``o``."""
    values = [ORDER_TYPEHASH, Web3.to_checksum_address(o[0]), *o[1:]]
    return "0x" + keccak(abi_encode(ORDER_TYPES, values)).hex()


@dataclass
class OpenOrder:
    """An order the traffic signed and may fill again: its tuple, signature and what is left."""

    order: tuple[Any, ...]
    signature: bytes
    left: int


@dataclass
class MarketTraffic:
    """Carbon credit and market actions, a few per block alongside the other contracts' traffic.

    Every hash of every order signed is kept (``hashes``) so the checks also see orders that
    never filled. The traffic's view (open orders, nonces) is its own bookkeeping: a fill that
    reverts (an account frozen by the MSC traffic, an order overfilled within a block) emits
    nothing and only costs coverage.
    """

    world: World
    seed: int
    rng: random.Random = field(init=False)
    hashes: set[str] = field(default_factory=set)
    open: list[OpenOrder] = field(default_factory=list)
    nonces: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    salt: int = 0
    requests: int = 0

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        accounts = self.world.chain.accounts
        self.owner = accounts[0]
        self.traders = accounts[1:9]
        self.domain = eip712.market_domain(self.world.chain.w3.eth.chain_id, self.world.market.address)

    def tx(self, sender: str, contract: Any, fn: str, *args: Any, gas: int = GAS) -> tuple[str, list[Any]]:
        """An ``eth_sendTransaction`` call of ``contract.fn(*args)``."""
        data = contract.encode_abi(fn, args=list(args))
        tx = {
            "from": sender,
            "to": contract.address,
            "data": data,
            "gas": hex(gas),
            "gasPrice": hex(GAS_PRICE),
        }
        return "eth_sendTransaction", [tx]

    def setup_calls(self) -> list[tuple[str, list[Any]]]:
        """Two projects and three vintages (credits and approvals follow in :meth:`funding_calls`)."""
        c, owner = self.world.carbon.contract, self.owner
        calls = [
            self.tx(owner, c, "registerProject", "SRN-PPI-0042", 1, 2, "Kab. Madiun, Jawa Timur"),
            self.tx(owner, c, "registerProject", "VCS-1234", 4, 0, "Sumba Timur, NTT"),
        ]
        calls += [
            self.tx(owner, c, "verifyVintage", 1, 2021, 10**9, b"\x11" * 32, "bafy-docs-1", "bafy-meta-1"),
            self.tx(owner, c, "verifyVintage", 1, 2022, 10**9, b"\x22" * 32, "bafy-docs-2", "bafy-meta-2"),
            self.tx(owner, c, "verifyVintage", 2, 2023, 10**12, b"\x33" * 32, "bafy-docs-3", "bafy-meta-3"),
        ]
        return calls

    def funding_calls(self) -> list[tuple[str, list[Any]]]:
        """Issuance to every trader, the approvals the market needs, two allowlisted traders."""
        c, m, owner = self.world.carbon.contract, self.world.market, self.owner
        msc = self.world.platform.msc
        calls = [self.tx(owner, c, "issue", t, a, 10**6) for t in TOKENS for a in self.traders]
        for a in self.traders:
            calls.append(self.tx(a, c, "setApprovalForAll", m.address, True))
            calls.append(self.tx(a, msc, "approve", m.address, 10**30))
        calls += [self.tx(owner, m, "setAllowlisted", t, True) for t in self.traders[:2]]
        return calls

    # ------------------------------------------------------------ orders

    def _order(
        self, trader: str, side: int, token: int, amount: int, price: int, expiry: int
    ) -> tuple[Any, ...]:
        self.salt += 1
        o = (trader, side, token, amount, price, expiry, self.salt, self.nonces[trader])
        self.hashes.add(order_hash(o))
        return o

    def _sign(self, orders: Sequence[tuple[Any, ...]]) -> list[bytes]:
        if not orders:
            return []
        calls = [("eth_signTypedData_v4", [o[0], eip712.order(self.domain, o)]) for o in orders]
        return [bytes.fromhex(s[2:]) for s in rpc_batch(self.world.url, calls)]

    def _fill_pairs(self, now: int, count: int) -> list[tuple[OpenOrder, OpenOrder, int, int]]:
        """``count`` (buy, sell, amount, price) matches: new orders, or open ones filled again."""
        pending: list[tuple[tuple[Any, ...] | OpenOrder, tuple[Any, ...] | OpenOrder, int, int]] = []
        used: set[str] = set()
        for _ in range(count):
            buyer, seller = self.rng.sample(self.traders, 2)
            reuse = [o for o in self.open if o.left > 0 and order_hash(o.order) not in used]
            if reuse and self.rng.random() < 0.35:
                old = self.rng.choice(reuse)
                used.add(order_hash(old.order))
                trader, side, token, _amount, limit = old.order[:5]
                counter = self.rng.choice([t for t in self.traders if t != trader])
                other = self._order(
                    counter, SELL if side == BUY else BUY, token, old.left, limit, now + 10**7
                )
                amount = self.rng.randrange(1, old.left + 1)
                pending.append((old, other, amount, limit) if side == BUY else (other, old, amount, limit))
                continue
            token = self.rng.choice(TOKENS)
            big = self.rng.random() < 0.1  # above the size limit: only the allowlisted two
            if big:
                buyer, seller = self.traders[0], self.traders[1]
            size = self.rng.randrange(1_001, 5_000) if big else self.rng.randrange(1, 400)
            sell_price = self.rng.randrange(10_000, 200_000)
            buy_price = sell_price + self.rng.randrange(0, 20_000)
            buy = self._order(buyer, BUY, token, size, buy_price, now + 10**7)
            sell = self._order(seller, SELL, token, size + self.rng.randrange(0, 50), sell_price, now + 10**7)
            amount = size if self.rng.random() < 0.4 else self.rng.randrange(1, size + 1)
            pending.append((buy, sell, amount, self.rng.choice([buy_price, sell_price])))
        fresh = [o for b, s, _, _ in pending for o in (b, s) if isinstance(o, tuple)]
        signatures = dict(zip(map(order_hash, fresh), self._sign(fresh), strict=True))
        out = []
        for b, s, amount, price in pending:
            pair = []
            for o in (b, s):
                if isinstance(o, tuple):
                    o = OpenOrder(o, signatures[order_hash(o)], o[3])
                    self.open.append(o)
                pair.append(o)
            pair[0].left -= amount
            pair[1].left -= amount
            out.append((pair[0], pair[1], amount, price))
        self.open = [o for o in self.open if o.left > 0]
        return out

    @staticmethod
    def _fill(buy: OpenOrder, sell: OpenOrder, amount: int, price: int) -> tuple[Any, ...]:
        return (buy.order, buy.signature, sell.order, sell.signature, amount, price)

    # ------------------------------------------------------------ a block

    def calls(self, now: int, fills: int) -> list[tuple[str, list[Any]]]:
        """One block's worth of market and carbon actions (about ``fills`` fills among them)."""
        m, owner, rng = self.world.market, self.owner, self.rng
        settler = owner
        out: list[tuple[str, list[Any]]] = []
        pairs = self._fill_pairs(now, fills)
        singles, batched = pairs[: len(pairs) // 2], pairs[len(pairs) // 2 :]
        out += [self.tx(settler, m, "settle", self._fill(*p)) for p in singles]
        for start in range(0, len(batched), 4):
            part = [self._fill(*p) for p in batched[start : start + 4]]
            out.append(self.tx(settler, m, "settleBatch", part, gas=BATCH_GAS))
        if self.open and rng.random() < 0.7:  # a cancellation, now and then twice
            victim = rng.choice(self.open)
            self.open.remove(victim)
            out.append(self.tx(victim.order[0], m, "cancel", victim.order))
            if rng.random() < 0.3:
                out.append(self.tx(victim.order[0], m, "cancel", victim.order))
        if rng.random() < 0.4:  # a nonce bump: the trader's open orders go stale
            trader = rng.choice(self.traders)
            self.nonces[trader] += 1
            self.open = [o for o in self.open if o.order[0] != trader]
            out.append(self.tx(trader, m, "incrementNonce"))
        r = rng.random()
        if r < 0.15:
            out.append(
                self.tx(owner, m, "setFee", rng.randrange(0, 501), rng.choice([owner, self.traders[0]]))
            )
        elif r < 0.25:
            out.append(self.tx(owner, m, "setSizeLimit", rng.choice([1_000, 2_000, 10**6])))
        elif r < 0.35:
            out.append(self.tx(owner, m, "setAllowlisted", rng.choice(self.traders[1:]), rng.random() < 0.6))
        out += self._carbon_calls(now)
        return out

    def _carbon_calls(self, now: int) -> list[tuple[str, list[Any]]]:
        c, owner, rng = self.world.carbon.contract, self.owner, self.rng
        a = self.world.chain.accounts
        out = []
        holder, other = rng.sample(self.traders, 2)
        token = rng.choice(TOKENS)
        out.append(self.tx(holder, c, "safeTransferFrom", holder, other, token, rng.randrange(1, 50), b""))
        out.append(
            self.tx(
                holder, c, "safeBatchTransferFrom", holder, other, [T1, T3], [rng.randrange(1, 9)] * 2, b""
            )
        )
        retirement = (
            holder,
            token,
            rng.randrange(1, 30),
            a[9],
            "PT Madiun Hijau",
            "offset",
            1_700_000_000,
            now,
        )
        out.append(self.tx(holder, c, "retire", retirement))
        if rng.random() < 0.5:
            self.requests += 1
            out.append(
                self.tx(
                    holder, c, "requestBridgeBack", token, rng.randrange(1, 20), f"SRN-ACC-{self.requests}"
                )
            )
        if self.requests and rng.random() < 0.5:
            request = rng.randrange(1, self.requests + 1)
            if rng.random() < 0.5:
                out.append(self.tx(owner, c, "confirmBridgeBack", request, f"SRN-REF-{request}"))
            else:
                out.append(self.tx(owner, c, "refuseBridgeBack", request, "account not found"))
        if rng.random() < 0.3:
            out.append(self.tx(owner, c, "issue", rng.choice(TOKENS), rng.choice(self.traders), 10**4))
        return out


# ---------------------------------------------------------------------- checks


def dump_market(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """The market tables plus :func:`support.dump`, for equality checks."""
    out = dump(engine)
    with engine.connect() as conn:
        for table in MARKET_TABLES:
            out[table.name] = sorted(tuple(r) for r in conn.execute(select(table)))
    return out


def assert_market_exact(engine: Engine, world: World, hashes: Sequence[str]) -> int:
    """Every market row against CarbonMarket at the checkpoint; returns the block.

    ``hashes``: every order hash the traffic signed (one that never filled must have no row or a
    cancelled one). Checks ``filled``, ``cancelled``, ``nonceOf``, ``terms()`` and
    ``isAllowlisted`` for every order and account, that each order's fills add up to its trades,
    and that the readers' trade lists are the table's rows in chain order.
    """
    m = world.market
    market = str(m.address).lower()
    accounts = world.chain.accounts
    with engine.connect() as conn:
        block = conn.execute(select(CHECKPOINTS.c.block_number)).scalar_one()
        orders = {r.order_hash: r for r in conn.execute(select(ORDERS))}
        nonces = {r.trader: r.nonce for r in conn.execute(select(NONCES))}
        trades = list(conn.execute(select(TRADES).order_by(TRADES.c.block_number, TRADES.c.log_index)))
        terms = market_terms(conn, market, 0)
        allowed = {a.lower(): market_allowlisted(conn, market, a, 0) for a in accounts}
        read_nonces = {a.lower(): market_nonce(conn, market, a, 0) for a in accounts}
        by_token = {t: token_trades(conn, t, 0) for t in TOKENS}
        by_account = {a.lower(): account_trades(conn, a, 0) for a in accounts}
        sample = sorted(orders)[:25]
        read_orders = {h: market_order(conn, h, 0) for h in sample}
    assert {r.market for r in orders.values()} <= {market}

    everything = sorted(set(hashes) | set(orders))
    filled = call_many(world.platform, m, "filled", [[bytes.fromhex(h[2:])] for h in everything], block)
    cancelled = call_many(world.platform, m, "cancelled", [[bytes.fromhex(h[2:])] for h in everything], block)
    traded: dict[str, int] = defaultdict(int)
    counts: dict[str, int] = defaultdict(int)
    for t in trades:
        for h in (t.buy_hash, t.sell_hash):
            traded[h] += t.amount
            counts[h] += 1
        assert t.notional == t.amount * t.price and t.fee <= t.notional
    for h, on_chain_filled, on_chain_cancelled in zip(everything, filled, cancelled, strict=True):
        row = orders.get(h)
        if row is None:
            assert on_chain_filled == 0 and not on_chain_cancelled, h
            continue
        assert row.filled == on_chain_filled == traded[h], h
        assert row.fills == counts[h], h
        assert (row.cancellations > 0) == on_chain_cancelled, h
        assert (row.cancelled_block is None) == (row.cancellations == 0), h
    on_chain_nonces = call_many(world.platform, m, "nonceOf", [[a] for a in accounts], block)
    for a, nonce in zip(accounts, on_chain_nonces, strict=True):
        assert nonces.get(a.lower(), 0) == nonce == read_nonces[a.lower()], a
    fee_bps, recipient, size_limit = call_many(world.platform, m, "terms", [[]], block)[0]
    assert terms == {"fee_bps": fee_bps, "fee_recipient": recipient.lower(), "size_limit": size_limit}
    on_list = call_many(world.platform, m, "isAllowlisted", [[a] for a in accounts], block)
    assert [allowed[a.lower()] for a in accounts] == list(on_list)
    rows = [dict(t._mapping) for t in trades]
    for token, listed in by_token.items():
        assert listed == [r for r in rows if r["token_id"] == token], token
    for account, listed in by_account.items():
        assert listed == [r for r in rows if account in (r["buyer"], r["seller"])], account
    for h, answer in read_orders.items():
        assert answer == dict(orders[h]._mapping), h
    return block


def mine(url: str, calls: Sequence[tuple[str, list[Any]]], jump: int = 0) -> None:
    """Mines ``calls`` in one block (automine off meanwhile), then moves the clock ``jump`` seconds."""
    rpc(url, "evm_setAutomine", [False])
    try:
        if calls:
            rpc_batch(url, calls)
        rpc(url, "evm_mine")
    finally:
        rpc(url, "evm_setAutomine", [True])
    if jump:
        rpc(url, "evm_increaseTime", [jump])
