"""Escrow and staking projections: every derived row equals what the contracts answer.

MSC, LockStaking and MerchantEscrow are deployed on a private anvil and driven through a few
hundred mixed actions in blocks of ~30 transactions with time jumps between them: locks, claims,
withdrawals, early exits, kicks and reward fundings; single and batch deposits, single and batch
releases (early by the payer and after the hold), partial and full refunds, disputes decided by
the arbiter and by default after the deadline, guarantee funding, withdrawals and covered
refunds. The mirror (SQLite and PostgreSQL) is then checked row by row against ``getPayment``,
``getLock``, ``totals``, ``totalPrincipal`` and ``rewardTotals``; the reader's confirmed views
against a mirror stopped at the confirmed block; and after reorgs that replace blocks full of
escrow and staking events, the reverted mirror against a fresh index.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from eth_utils.abi import collapse_if_tuple
from sqlalchemy import Engine, func, select
from web3 import Web3

from chain.artifacts import load_artifact
from chain.deployments import DeployedContract, Deployment, write_deployment
from chain.localnode import AnvilNode
from indexer.models import EscrowStatus, StakingLockStatus
from indexer.pipeline import Pipeline
from indexer.platform_state import LOCKS, PAYMENTS
from indexer.projections import GUARANTEE, REWARD_PERIODS
from indexer.reader import escrow_payment, holder_locks, merchant_payments, outstanding_escrow
from indexer.store import CHECKPOINTS, DECODED
from tests.indexer.conftest import BACKENDS
from tests.indexer.support import (
    BIG,
    BUILD_DIR,
    Chain,
    assert_exact,
    dump,
    index,
    pipeline_for,
    rpc,
    rpc_batch,
)

PORT = 8641
REORG_PORT = 8642
GAS = 400_000
BATCH_GAS = 2_500_000
GAS_PRICE = 10**9
HOUR = 3_600
DAY = 86_400
TIERS = {1: (2 * HOUR, 10_000, 500), 2: (DAY, 15_000, 1_000), 3: (3 * DAY, 20_000, 2_500)}
"""tier -> (duration, weight bps, early-exit penalty bps)."""
STATUS = {
    1: EscrowStatus.HELD,
    2: EscrowStatus.DISPUTED,
    3: EscrowStatus.RELEASED,
    4: EscrowStatus.REFUNDED,
    5: EscrowStatus.SPLIT,
}
"""IMerchantEscrow.Status value -> the mirror's status (0, None, means never deposited)."""
ZERO = "0x" + "0" * 40


@dataclass
class Platform:
    """The three contracts on one anvil, and the :class:`Chain` the indexer helpers take."""

    chain: Chain
    msc: Any
    staking: Any
    escrow: Any

    @property
    def url(self) -> str:
        """The node's URL."""
        return self.chain.url


def _deploy(w3: Web3, name: str, *args: Any) -> tuple[Any, int, str]:
    artifact = load_artifact(BUILD_DIR, name)
    owner = w3.eth.accounts[0]
    tx_hash = (
        w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
        .constructor(*args)
        .transact({"from": owner})
    )
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash)
    contract = w3.eth.contract(address=receipt["contractAddress"], abi=artifact.abi)
    return contract, int(receipt["blockNumber"]), tx_hash.to_0x_hex()


def deploy_platform(url: str, folder: Path) -> Platform:
    """MSC, LockStaking and MerchantEscrow with every role on account 0 (penalties to account 9).

    The deployment file names them as ``scripts/deploy.py`` does, so the default projections
    pick them up.
    """
    w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 60}))
    accounts = [str(a) for a in w3.eth.accounts]
    owner = accounts[0]
    msc, msc_block, msc_tx = _deploy(w3, "MadiunStableCoin", owner, owner, owner, owner, owner, owner)
    staking, staking_block, staking_tx = _deploy(
        w3, "LockStaking", msc.address, owner, owner, owner, accounts[9]
    )
    escrow, escrow_block, escrow_tx = _deploy(w3, "MerchantEscrow", msc.address, owner, owner, owner, owner)
    contracts = {
        "MadiunStableCoin": DeployedContract("MadiunStableCoin", msc.address, msc_block, msc_tx),
        "LockStaking": DeployedContract("LockStaking", staking.address, staking_block, staking_tx),
        "MerchantEscrow": DeployedContract("MerchantEscrow", escrow.address, escrow_block, escrow_tx),
    }
    deployment = Deployment(
        network="test",
        chain_id=w3.eth.chain_id,
        genesis_hash=w3.eth.get_block(0)["hash"].to_0x_hex(),
        contracts=contracts,
    )
    path = folder / "test.json"
    write_deployment(path, deployment)
    chain = Chain(url, w3, str(msc.address).lower(), msc_block, path, accounts)
    return Platform(chain, msc, staking, escrow)


def call_many(
    platform: Platform,
    contract: Any,
    fn: str,
    arg_lists: Sequence[Sequence[Any]],
    block: int | str = "latest",
) -> list[Any]:
    """``contract.fn(*args)`` for every args in one JSON-RPC batch; single outputs unwrapped."""
    if not arg_lists:
        return []
    abi = next(i for i in contract.abi if i.get("type") == "function" and i["name"] == fn)
    types = [collapse_if_tuple(o) for o in abi["outputs"]]
    tag = block if isinstance(block, str) else hex(block)
    calls = [
        ("eth_call", [{"to": contract.address, "data": contract.encode_abi(fn, args=list(a))}, tag])
        for a in arg_lists
    ]
    decoded = [
        platform.chain.w3.codec.decode(types, bytes.fromhex(r[2:])) for r in rpc_batch(platform.url, calls)
    ]
    return [d[0] if len(d) == 1 else d for d in decoded]


@dataclass
class Payment:
    """The traffic's view of a payment: parties and the contract's last answer."""

    merchant: str
    payer: str
    status: int = 0
    amount: int = 0
    release_after: int = 0
    deadline: int = 0
    covered: int = 0


@dataclass
class Lock:
    """The traffic's view of an open lock (from ``getLock``)."""

    owner: str
    amount: int
    end: int
    weight: int


@dataclass
class PlatformTraffic:
    """Mixed escrow and staking actions, chosen from the contracts' state after every block.

    The view is reloaded from the chain after each block, so a transaction that reverts (two
    choices racing within a block) costs nothing but coverage. No entity is acted on twice in a
    block.
    """

    platform: Platform
    seed: int
    rng: random.Random = field(init=False)
    payments: dict[str, Payment] = field(default_factory=dict)
    locks: dict[int, Lock] = field(default_factory=dict)
    max_lock_id: int = 0
    guarantee: int = 0
    now: int = 0

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        accounts = self.platform.chain.accounts
        self.owner = accounts[0]
        self.merchants = accounts[1:4]
        self.payers = accounts[4:8]
        self.holders = accounts[1:9]

    # ------------------------------------------------------------ plumbing

    def _tx(self, sender: str, contract: Any, fn: str, *args: Any, gas: int = GAS) -> tuple[str, list[Any]]:
        data = contract.encode_abi(fn, args=list(args))
        tx = {
            "from": sender,
            "to": contract.address,
            "data": data,
            "gas": hex(gas),
            "gasPrice": hex(GAS_PRICE),
        }
        return "eth_sendTransaction", [tx]

    def mine(self, calls: Sequence[tuple[str, list[Any]]], jump: int = 0) -> None:
        """Mines ``calls`` in one block, then moves the clock ``jump`` seconds for the next block."""
        rpc(self.platform.url, "evm_setAutomine", [False])
        try:
            if calls:
                rpc_batch(self.platform.url, calls)
            rpc(self.platform.url, "evm_mine")
        finally:
            rpc(self.platform.url, "evm_setAutomine", [True])
        if jump:
            rpc(self.platform.url, "evm_increaseTime", [jump])
        self.sync()

    def setup(self) -> None:
        """Reserves and a minter, balances and approvals, tiers, a short dispute window, funds."""
        p = self.platform
        msc, staking, escrow = p.msc, p.staking, p.escrow
        calls = [
            self._tx(self.owner, msc, "attestReserves", BIG, "ref-0"),
            self._tx(self.owner, msc, "configureMinter", self.owner, BIG),
        ]
        calls += [self._tx(self.owner, msc, "mint", a, 10**15) for a in p.chain.accounts]
        for account in p.chain.accounts:
            calls.append(self._tx(account, msc, "approve", staking.address, BIG))
            calls.append(self._tx(account, msc, "approve", escrow.address, BIG))
        calls += [self._tx(self.owner, staking, "setTier", t, *terms, True) for t, terms in TIERS.items()]
        calls.append(self._tx(self.owner, staking, "fundRewards", 5 * 10**9, 2 * DAY))
        calls.append(self._tx(self.owner, escrow, "setDisputeWindow", HOUR))
        calls.append(self._tx(self.owner, escrow, "fundGuarantee", 10**9))
        self.mine(calls)

    def sync(self) -> None:
        """Reloads the view of payments, locks, the guarantee fund and the clock from the chain."""
        p = self.platform
        self.now = int(p.chain.w3.eth.get_block("latest")["timestamp"])
        ids = list(self.payments)
        for pid, answer in zip(
            ids, call_many(p, p.escrow, "getPayment", [[bytes.fromhex(i[2:])] for i in ids]), strict=True
        ):
            view = self.payments[pid]
            _merchant, view.amount, _payer, view.release_after, view.deadline, view.status, view.covered = (
                answer
            )
        self.guarantee = call_many(p, p.escrow, "totals", [[]])[0][1]
        while True:  # locks created in the last block: ids follow the highest known one
            owner = call_many(p, p.staking, "getLock", [[self.max_lock_id + 1]])[0][0]
            if owner == ZERO:
                break
            self.max_lock_id += 1
            self.locks[self.max_lock_id] = Lock(owner, 0, 0, 0)
        ids_l = list(self.locks)
        for lock_id, lk in zip(ids_l, call_many(p, p.staking, "getLock", [[i] for i in ids_l]), strict=True):
            owner, amount, _penalty, _paid, _start, end, weight = lk
            if owner == ZERO:
                del self.locks[lock_id]
            else:
                self.locks[lock_id] = Lock(Web3.to_checksum_address(owner), amount, end, weight)

    # ------------------------------------------------------------ choices

    def _payments(self, status: int, busy: set[str]) -> list[str]:
        return [pid for pid, v in self.payments.items() if v.status == status and pid not in busy]

    def _new_payment(self) -> tuple[str, str, str, int, int]:
        pid = "0x" + self.rng.randbytes(32).hex()
        merchant, payer = self.rng.choice(self.merchants), self.rng.choice(self.payers)
        self.payments[pid] = Payment(merchant, payer)
        hold = self.rng.choice([0, HOUR, 6 * HOUR, 2 * DAY])
        return pid, merchant, payer, self.rng.randrange(10**4, 10**8), hold

    def escrow_action(self, busy: set[str], after: int) -> tuple[str, list[Any]] | None:
        """One escrow transaction; ``after`` is the earliest timestamp the next block can have."""
        e, rng = self.platform.escrow, self.rng
        r = rng.random()
        held, disputed = self._payments(1, busy), self._payments(2, busy)
        released = [
            pid for pid in self._payments(3, busy) if self.payments[pid].amount > self.payments[pid].covered
        ]
        if r < 0.22 or not held:
            pid, merchant, payer, amount, hold = self._new_payment()
            return self._tx(self.owner, e, "deposit", bytes.fromhex(pid[2:]), merchant, payer, amount, hold)
        if r < 0.30:
            requests = [self._new_payment() for _ in range(rng.randrange(2, 6))]
            batch = [(bytes.fromhex(pid[2:]), m, p, a, h) for pid, m, p, a, h in requests]
            return self._tx(self.owner, e, "depositBatch", batch, gas=BATCH_GAS)
        if r < 0.40:
            pid = rng.choice(held)
            busy.add(pid)
            view = self.payments[pid]
            sender = view.payer if view.release_after > after else rng.choice(self.holders)
            return self._tx(sender, e, "release", bytes.fromhex(pid[2:]))
        if r < 0.46:
            picks = rng.sample(held, min(len(held), rng.randrange(2, 8)))
            busy.update(picks)
            return self._tx(
                rng.choice(self.holders),
                e,
                "releaseBatch",
                [bytes.fromhex(p[2:]) for p in picks],
                gas=BATCH_GAS,
            )
        if r < 0.60:
            pid = rng.choice(held + disputed)
            busy.add(pid)
            view = self.payments[pid]
            amount = view.amount if rng.random() < 0.4 or view.amount < 2 else rng.randrange(1, view.amount)
            return self._tx(view.merchant, e, "refund", bytes.fromhex(pid[2:]), amount)
        if r < 0.72:
            pid = rng.choice(held)
            busy.add(pid)
            return self._tx(self.payments[pid].payer, e, "dispute", bytes.fromhex(pid[2:]))
        if r < 0.80 and disputed:
            pid = rng.choice(disputed)
            busy.add(pid)
            view = self.payments[pid]
            if view.deadline < after and rng.random() < 0.6:
                return self._tx(rng.choice(self.holders), e, "resolveExpiredDispute", bytes.fromhex(pid[2:]))
            return self._tx(
                self.owner, e, "resolveDispute", bytes.fromhex(pid[2:]), rng.randrange(0, view.amount + 1)
            )
        if r < 0.88 and released and self.guarantee > 0:
            pid = rng.choice(released)
            busy.add(pid)
            view = self.payments[pid]
            most = min(view.amount - view.covered, self.guarantee)
            amount = rng.randrange(1, most + 1)
            self.guarantee -= amount
            return self._tx(self.owner, e, "coverRefund", bytes.fromhex(pid[2:]), amount)
        if r < 0.95 or self.guarantee < 2:
            return self._tx(self.owner, e, "fundGuarantee", rng.randrange(10**6, 10**8))
        amount = rng.randrange(1, self.guarantee // 2 + 1)
        self.guarantee -= amount
        return self._tx(self.owner, e, "withdrawGuarantee", amount, self.platform.chain.accounts[9])

    def staking_action(self, busy: set[str], after: int) -> tuple[str, list[Any]] | None:
        """One staking transaction; ``after`` is the earliest timestamp the next block can have."""
        s, rng = self.platform.staking, self.rng
        r = rng.random()
        free = [i for i in self.locks if f"lock{i}" not in busy]
        ended = [i for i in free if self.locks[i].end <= self.now]
        running = [i for i in free if self.locks[i].end > after + 60]
        if r < 0.35 or not free:
            return self._tx(
                rng.choice(self.holders), s, "lock", rng.randrange(10**5, 10**9), rng.choice(list(TIERS))
            )
        if r < 0.55:
            lock_id = rng.choice(free)
            busy.add(f"lock{lock_id}")
            return self._tx(self.locks[lock_id].owner, s, "claim", lock_id)
        if r < 0.70 and ended:
            lock_id = rng.choice(ended)
            busy.add(f"lock{lock_id}")
            return self._tx(self.locks[lock_id].owner, s, "withdraw", lock_id)
        if r < 0.85 and running:
            lock_id = rng.choice(running)
            busy.add(f"lock{lock_id}")
            return self._tx(self.locks[lock_id].owner, s, "exitEarly", lock_id)
        kickable = [i for i in ended if self.locks[i].weight > 0]
        if r < 0.95 and kickable:
            lock_id = rng.choice(kickable)
            busy.add(f"lock{lock_id}")
            return self._tx(rng.choice(self.holders), s, "kick", lock_id)
        return self._tx(self.owner, s, "fundRewards", rng.randrange(10**8, 10**9), rng.choice([DAY, 2 * DAY]))

    def round(self, txs: int, jump: int) -> None:
        """One block of ``txs`` mixed actions (about half escrow), then ``jump`` seconds of time."""
        busy: set[str] = set()
        after = self.now + 1
        calls = []
        for _ in range(txs):
            action = (
                self.escrow_action(busy, after)
                if self.rng.random() < 0.55
                else self.staking_action(busy, after)
            )
            if action is not None:
                calls.append(action)
        self.mine(calls, jump)


JUMPS = (HOUR, 3 * HOUR, 1_800, DAY, 2 * HOUR, 6 * HOUR, 2 * DAY, HOUR, 3 * HOUR, 1_800, DAY, 2 * HOUR, HOUR)


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """The platform after ~400 mixed escrow and staking transactions in 13 blocks."""
    with AnvilNode(port=PORT) as node:
        p = deploy_platform(node.url, Path(tmp_path_factory.mktemp("platform")))
        traffic = PlatformTraffic(p, seed=21)
        traffic.setup()
        for jump in JUMPS:
            traffic.round(30, jump)
        yield p


# ---------------------------------------------------------------------- checks


def dump_platform(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """The derived escrow and staking tables plus :func:`support.dump`, for equality checks."""
    out = dump(engine)
    with engine.connect() as conn:
        for table in (PAYMENTS, GUARANTEE, LOCKS, REWARD_PERIODS):
            out[table.name] = sorted(tuple(r) for r in conn.execute(select(table)))
    return out


def assert_platform_exact(engine: Engine, platform: Platform, payment_ids: Sequence[str]) -> int:
    """Every escrow and staking row against the contracts at the checkpoint; returns the block.

    ``payment_ids``: every id the traffic ever tried (a deposit that reverted, or was orphaned by
    a reorg, must have no row).
    """
    p = platform
    with engine.connect() as conn:
        block = conn.execute(select(CHECKPOINTS.c.block_number)).scalar_one()
        payments = {r.payment_id: r for r in conn.execute(select(PAYMENTS))}
        locks = {r.lock_id: r for r in conn.execute(select(LOCKS))}
        periods = list(conn.execute(select(REWARD_PERIODS)))
        guarantee = list(
            conn.execute(select(GUARANTEE).order_by(GUARANTEE.c.block_number, GUARANTEE.c.log_index))
        )
        outstanding = outstanding_escrow(conn, 0)
        by_merchant = {m.lower(): merchant_payments(conn, m, 0) for m in p.chain.accounts}
        by_holder = {h.lower(): holder_locks(conn, h, 0) for h in p.chain.accounts}
    escrow = p.escrow.address.lower()

    ids = sorted(set(payment_ids) | set(payments))
    answers = call_many(p, p.escrow, "getPayment", [[bytes.fromhex(i[2:])] for i in ids], block)
    for pid, (merchant, amount, payer, release_after, deadline, status, covered) in zip(
        ids, answers, strict=True
    ):
        row = payments.get(pid)
        if status == 0:
            assert row is None, f"payment {pid} is not on chain"
            continue
        assert row is not None, f"payment {pid} missing"
        assert row.escrow == escrow
        assert (row.merchant, row.payer) == (merchant.lower(), payer.lower()), pid
        assert row.status == STATUS[status], pid
        assert row.release_after == release_after, pid
        assert row.dispute_deadline == (deadline or None), pid
        assert row.covered == covered, pid
        assert row.held + row.released + row.refunded == row.amount, pid
        if row.status in (EscrowStatus.HELD, EscrowStatus.DISPUTED):
            assert row.held == amount, pid
        else:
            assert row.held == 0, pid
        if row.status == EscrowStatus.RELEASED:
            assert row.released == amount, pid
        elif row.status == EscrowStatus.REFUNDED:
            assert row.released == 0 and row.refunded == row.amount, pid
        elif row.status == EscrowStatus.SPLIT:
            assert row.released <= amount <= row.amount, pid
    escrowed, fund = call_many(p, p.escrow, "totals", [[]], block)[0]
    assert (
        outstanding
        == escrowed
        == sum(r.held for r in payments.values() if r.status in (EscrowStatus.HELD, EscrowStatus.DISPUTED))
    )
    assert (guarantee[-1].balance if guarantee else 0) == fund
    running = 0
    for change in guarantee:
        running += change.amount if change.increase else -change.amount
        assert running == change.balance
    msc_balance = call_many(p, p.msc, "balanceOf", [[p.escrow.address]], block)[0]
    assert msc_balance == escrowed + fund
    for merchant, rows in by_merchant.items():
        assert sorted(r["payment_id"] for r in rows) == sorted(
            k for k, r in payments.items() if r.merchant == merchant
        )

    lock_ids = list(range(1, max(locks, default=0) + 3))
    on_chain = call_many(p, p.staking, "getLock", [[i] for i in lock_ids], block)
    for lock_id, (owner, amount, penalty_bps, _paid, start, end, weight) in zip(
        lock_ids, on_chain, strict=True
    ):
        row = locks.get(lock_id)
        if row is None or row.status != StakingLockStatus.OPEN:
            assert owner == ZERO, f"lock {lock_id} should be closed or absent"
            if row is not None:
                duration, weight_bps, tier_penalty = TIERS[row.tier]
                assert row.closed_block is not None
                assert row.ends_at - row.starts_at == duration and row.weight_bps == weight_bps
                expected = (
                    row.amount * tier_penalty // 10_000 if row.status == StakingLockStatus.EXITED else 0
                )
                assert row.penalty == expected, lock_id
            continue
        assert (row.owner, row.amount) == (owner.lower(), amount), lock_id
        assert (row.starts_at, row.ends_at) == (start, end), lock_id
        assert penalty_bps == TIERS[row.tier][2], lock_id
        assert weight in (row.weight_bps, 0), lock_id  # 0: kicked, which the events do not show
        assert row.penalty == 0 and row.closed_block is None, lock_id
    principal = call_many(p, p.staking, "totalPrincipal", [[]], block)[0]
    funded, paid = call_many(p, p.staking, "rewardTotals", [[]], block)[0]
    assert principal == sum(r.amount for r in locks.values() if r.status == StakingLockStatus.OPEN)
    assert funded == sum(r.amount for r in periods)
    assert paid == sum(r.rewards_paid for r in locks.values())
    for holder, rows in by_holder.items():
        assert sorted(r["lock_id"] for r in rows) == sorted(k for k, r in locks.items() if r.owner == holder)
    return block


def _payment_ids(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(select(PAYMENTS.c.payment_id)).scalars())


# ---------------------------------------------------------------------- tests


def test_platform_mirror_equals_the_contracts(platform, make_db, backend):
    pipeline = index(make_db(backend), platform.chain, initial_span=2, max_span=4)
    with pipeline.engine.connect() as conn:
        counts: dict[str, int] = {}
        for (event,) in conn.execute(select(DECODED.c.event)):
            counts[event] = counts.get(event, 0) + 1
        decisions = conn.execute(select(DECODED.c.args).where(DECODED.c.event == "DisputeResolved")).scalars()
        by_default = {bool(args["byDefault"]) for args in decisions}
    platform_events = sum(n for e, n in counts.items() if e not in ("Transfer", "Approval", "Mint"))
    assert platform_events >= 300, counts
    for kind in (
        "Deposited",
        "Released",
        "Refunded",
        "Disputed",
        "DisputeResolved",
        "GuaranteeRefundPaid",
        "GuaranteeFundChanged",
        "Locked",
        "RewardPaid",
        "Withdrawn",
        "ExitedEarly",
        "RewardsFunded",
    ):
        assert counts.get(kind, 0) > 0, kind
    assert by_default == {True, False}  # disputes decided by the arbiter and by default
    kicked = call_many(platform, platform.staking, "getLock", [[i] for i in range(1, 200)])
    assert any(owner != ZERO and weight == 0 for owner, *_, weight in kicked)  # some lock was kicked
    assert (
        assert_platform_exact(pipeline.engine, platform, _payment_ids(pipeline.engine))
        == platform.chain.head()
    )
    assert_exact(pipeline.engine, platform.chain)


def test_reader_answers_as_of_the_confirmed_block(platform, make_db, backend):
    """With ``confirmations`` k, the reader equals a mirror that stopped k blocks below the head."""
    full = index(make_db(backend), platform.chain)
    head = platform.chain.head()
    accounts = [a.lower() for a in platform.chain.accounts]
    ids = _payment_ids(full.engine)
    with full.engine.connect() as conn:  # the last blocks changed payments: k matters
        assert any(escrow_payment(conn, pid, 3) != escrow_payment(conn, pid, 0) for pid in ids)
    for k in (1, 3, 6):
        stopped = pipeline_for(make_db(backend), platform.chain)
        stopped.run(follow=False, stop_at=head - k)
        with full.engine.connect() as late, stopped.engine.connect() as early:
            assert outstanding_escrow(late, k) == outstanding_escrow(early, 0)
            assert (
                outstanding_escrow(late, k)
                == call_many(platform, platform.escrow, "totals", [[]], head - k)[0][0]
            )
            for pid in ids:
                assert escrow_payment(late, pid, k) == escrow_payment(early, pid, 0), (k, pid)
            for account in accounts:
                assert merchant_payments(late, account, k) == merchant_payments(early, account, 0)
                assert holder_locks(late, account, k) == holder_locks(early, account, 0)


def _changes_above(engine: Engine, block: int) -> int:
    """Payment and lock events above ``block`` other than the ones creating a payment or lock."""
    events: tuple[str, ...] = ("Released", "Refunded", "Disputed", "DisputeResolved", "GuaranteeRefundPaid")
    events += ("RewardPaid", "Withdrawn", "ExitedEarly")
    with engine.connect() as conn:
        query = select(func.count()).where(DECODED.c.block_number > block, DECODED.c.event.in_(events))
        return int(conn.execute(query).scalar_one())


def _catch_up(pipelines: list[Pipeline]) -> None:
    for p in pipelines:
        p.run(follow=False)


def test_reorg_of_escrow_and_staking_blocks_equals_a_fresh_index(tmp_path_factory, make_db):
    with AnvilNode(port=REORG_PORT) as node:
        platform = deploy_platform(node.url, Path(tmp_path_factory.mktemp("platform_reorg")))
        traffic = PlatformTraffic(platform, seed=31)
        traffic.setup()
        for jump in JUMPS[:6]:
            traffic.round(25, jump)
        live = [pipeline_for(make_db(b), platform.chain, initial_span=2, max_span=4) for b in BACKENDS]
        _catch_up(live)

        def check() -> None:
            for backend, p in zip(BACKENDS, live, strict=True):
                fresh = index(make_db(backend), platform.chain)
                assert dump_platform(p.engine) == dump_platform(fresh.engine), backend
                assert_platform_exact(p.engine, platform, list(traffic.payments))

        # 1. a longer fork replaces the last 4 blocks (full of escrow and staking events)
        fork_base = platform.chain.head()
        snapshot = rpc(platform.url, "evm_snapshot")
        for jump in (HOUR, 2 * HOUR, DAY, HOUR):
            traffic.round(25, jump)
        _catch_up(live)
        # the blocks about to be orphaned changed payments and locks that survive the reorg
        assert _changes_above(live[0].engine, fork_base) > 20
        rpc(platform.url, "evm_revert", [snapshot])
        traffic.sync()
        traffic.rng.seed(32)
        for jump in (2 * HOUR, HOUR, 3 * HOUR, DAY, HOUR):
            traffic.round(25, jump)
        _catch_up(live)
        check()

        # 2. a shorter fork: the checkpoint block no longer exists
        snapshot = rpc(platform.url, "evm_snapshot")
        for jump in (HOUR, DAY, HOUR):
            traffic.round(25, jump)
        _catch_up(live)
        rpc(platform.url, "evm_revert", [snapshot])
        traffic.sync()
        traffic.rng.seed(33)
        traffic.round(25, HOUR)
        _catch_up(live)
        check()
        for p in live:
            assert p.metrics.reorgs._value.get() == 2
