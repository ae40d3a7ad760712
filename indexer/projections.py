"""Derived tables: handlers per (contract, event) that keep them in step with the decoded events.

A :class:`Projection` says which (contract, event) pairs it consumes, applies a range's events in
one set-based pass, and reverts the events of orphaned blocks on a reorg. Reverting works from
the decoded events being rolled back (they carry every amount), so a reorg costs work in
proportion to its depth, not to the size of the mirror. Projections plug in by adding a class
here and listing it in :func:`default_projections`; the pipeline does not change. Besides the
ERC-20 one there are MerchantEscrow payments and guarantee fund, and LockStaking locks and
reward periods (their per-event transitions live in :mod:`indexer.platform_state`), and
CarbonCredits projects, vintages, balances, certificates and bridge-backs
(:mod:`indexer.carbon_state`), and CarbonMarket trades, orders, nonces and terms
(:mod:`indexer.market_state`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple, Protocol

from sqlalchemy import Connection, Table, delete, select

from indexer.carbon_state import (
    BRIDGE_REQUESTS,
    CARBON_BALANCES,
    CARBON_EVENTS,
    PROJECTS,
    REQUEST_EVENTS,
    RETIREMENTS,
    VINTAGE_EVENTS,
    VINTAGES,
    apply_request,
    apply_vintage,
    project_key,
    project_row,
    request_key,
    retirement_row,
    revert_request,
    revert_vintage,
    transfers,
    vintage_key,
)
from indexer.errors import ProjectionError
from indexer.market_state import (
    ALLOWLIST,
    MARKET_EVENTS,
    NONCES,
    ORDER_EVENTS,
    ORDERS,
    TERMS,
    TRADES,
    allowlist_row,
    apply_nonce,
    apply_order,
    nonce_key,
    order_keys,
    revert_nonce,
    revert_order,
    terms_row,
    trade_row,
)
from indexer.models import EscrowGuarantee, StakingRewardPeriod, SupplyHistory, TokenBalance
from indexer.platform_state import (
    LOCK_EVENTS,
    LOCKS,
    PAYMENT_EVENTS,
    PAYMENTS,
    Key,
    Row,
    apply_lock,
    apply_payment,
    fill_last_blocks,
    load_rows,
    lock_key,
    payment_key,
    revert_lock,
    revert_payment,
)
from indexer.store import chunks, upsert

ZERO_ADDRESS = "0x" + "0" * 40
BALANCES: Table = TokenBalance.__table__  # type: ignore[assignment]
SUPPLY: Table = SupplyHistory.__table__  # type: ignore[assignment]
GUARANTEE: Table = EscrowGuarantee.__table__  # type: ignore[assignment]
REWARD_PERIODS: Table = StakingRewardPeriod.__table__  # type: ignore[assignment]


class EventRecord(NamedTuple):
    """A decoded event with its position in the chain; ``args`` hold exact Python ints.

    (Events reloaded from ``decoded_events`` have integers as decimal strings; handlers call
    ``int()`` on amounts, which accepts both.) A named tuple: one is built per log on the hot
    path, and tuples build several times faster than frozen dataclasses.
    """

    block_number: int
    block_hash: str
    log_index: int
    tx_hash: str
    address: str
    contract: str
    event: str
    args: dict[str, Any]


class Projection(Protocol):
    """A handler that maintains derived tables from some events."""

    name: str

    def handles(self) -> Iterable[tuple[str, str]]:
        """The (contract name, event name) pairs this projection consumes."""
        ...

    def apply(self, conn: Connection, events: Sequence[EventRecord]) -> None:
        """Applies a range's events (chain order) inside the range's transaction."""
        ...

    def revert(self, conn: Connection, events: Sequence[EventRecord], ancestor: int) -> None:
        """Undoes ``events`` (all of its events above block ``ancestor``, chain order)."""
        ...


class Erc20Projection:
    """ERC-20 balances and total supply from ``Transfer(from, to, value)``.

    Mints are transfers from the zero address and burns (MSC's ``burn`` and
    ``wipeFrozenBalance``) transfers to it, so supply is the running sum of both. Balances are
    read for the touched accounts, changed in Python with exact ints, and written back in one
    upsert per range: one round trip per range instead of one per event.
    """

    name = "erc20"

    def __init__(self, contracts: Iterable[str]) -> None:
        self._contracts = tuple(contracts)

    def handles(self) -> Iterable[tuple[str, str]]:
        """``Transfer`` of every configured token contract."""
        return [(contract, "Transfer") for contract in self._contracts]

    def apply(self, conn: Connection, events: Sequence[EventRecord]) -> None:
        """Adds the transfers to balances and appends supply rows for blocks that minted or burned."""
        deltas: dict[tuple[str, str], int] = defaultdict(int)
        supply_deltas: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        for e in events:
            value = int(e.args["value"])
            sender, receiver = e.args["from"], e.args["to"]
            if sender == ZERO_ADDRESS:
                supply_deltas[e.address][e.block_number] += value
            else:
                deltas[(e.address, sender)] -= value
            if receiver == ZERO_ADDRESS:
                supply_deltas[e.address][e.block_number] -= value
            else:
                deltas[(e.address, receiver)] += value
        self._add_to_balances(conn, deltas)
        rows = []
        for token, by_block in supply_deltas.items():
            supply = self._latest_supply(conn, token)
            for block in sorted(by_block):
                supply += by_block[block]
                if supply < 0:
                    raise ProjectionError(f"total supply of {token} would go negative at block {block}")
                rows.append({"token": token, "block_number": block, "total_supply": supply})
        upsert(conn, SUPPLY, rows, ("token", "block_number"))

    def revert(self, conn: Connection, events: Sequence[EventRecord], ancestor: int) -> None:
        """Takes the orphaned transfers back out of balances; drops supply rows above ``ancestor``."""
        deltas: dict[tuple[str, str], int] = defaultdict(int)
        for e in events:
            value = int(e.args["value"])
            if e.args["from"] != ZERO_ADDRESS:
                deltas[(e.address, e.args["from"])] += value
            if e.args["to"] != ZERO_ADDRESS:
                deltas[(e.address, e.args["to"])] -= value
        self._add_to_balances(conn, deltas)
        conn.execute(delete(SUPPLY).where(SUPPLY.c.block_number > ancestor))

    @staticmethod
    def _latest_supply(conn: Connection, token: str) -> int:
        row = conn.execute(
            select(SUPPLY.c.total_supply)
            .where(SUPPLY.c.token == token)
            .order_by(SUPPLY.c.block_number.desc())
            .limit(1)
        ).first()
        return 0 if row is None else int(row[0])

    @staticmethod
    def _add_to_balances(conn: Connection, deltas: dict[tuple[str, str], int]) -> None:
        by_token: dict[str, list[str]] = defaultdict(list)
        for token, account in deltas:
            by_token[token].append(account)
        rows = []
        for token, accounts in by_token.items():
            current: dict[str, int] = {}
            for part in chunks(accounts):
                query = select(BALANCES.c.account, BALANCES.c.balance).where(
                    BALANCES.c.token == token, BALANCES.c.account.in_(part)
                )
                current.update((r[0], r[1]) for r in conn.execute(query))
            for account in accounts:
                delta = deltas[(token, account)]
                if delta == 0 and account in current:
                    continue
                balance = current.get(account, 0) + delta
                if balance < 0:
                    raise ProjectionError(
                        f"balance of {account} in {token} would go negative", account=account
                    )
                rows.append({"token": token, "account": account, "balance": balance})
        upsert(conn, BALANCES, rows, ("token", "account"))


def _store_rows(conn: Connection, table: Table, rows: dict[Key, Row | None]) -> None:
    """Writes changed entity rows back: one upsert for the live ones, deletes for the gone ones."""
    address_col, id_col = (c for c in table.primary_key.columns)
    live = [row for row in rows.values() if row is not None]
    upsert(conn, table, live, (address_col.name, id_col.name))
    gone: dict[str, list[Any]] = defaultdict(list)
    for (address, ident), row in rows.items():
        if row is None:
            gone[address].append(ident)
    for address, ids in gone.items():
        for part in chunks(ids):
            conn.execute(delete(table).where(address_col == address, id_col.in_(part)))


class EscrowProjection:
    """MerchantEscrow payments (``escrow_payments``) and guarantee fund history (``escrow_guarantee``).

    Like the ERC-20 projection, a range is one read of the touched payments, the transitions in
    Python (:func:`indexer.platform_state.apply_payment`) and one upsert. A reorg undoes the
    orphaned events newest first with :func:`~indexer.platform_state.revert_payment` (so a
    payment deposited in an orphaned block disappears) and drops guarantee rows above the ancestor.
    """

    name = "escrow"

    def __init__(self, contracts: Iterable[str]) -> None:
        self._contracts = tuple(contracts)

    def handles(self) -> Iterable[tuple[str, str]]:
        """The payment events and ``GuaranteeFundChanged`` of every configured escrow contract."""
        return [(c, ev) for c in self._contracts for ev in (*PAYMENT_EVENTS, "GuaranteeFundChanged")]

    def apply(self, conn: Connection, events: Sequence[EventRecord]) -> None:
        """Moves the touched payments forward and appends the guarantee fund's changes."""
        payment_events = [e for e in events if e.event in PAYMENT_EVENTS]
        rows = load_rows(conn, PAYMENTS, map(payment_key, payment_events))
        for e in payment_events:
            key = payment_key(e)
            rows[key] = apply_payment(rows[key], e)
        _store_rows(conn, PAYMENTS, rows)
        fund_rows = []
        for e in events:
            if e.event == "GuaranteeFundChanged":
                delta = int(e.args["delta"])
                fund_rows.append(
                    {
                        "escrow": e.address,
                        "block_number": e.block_number,
                        "log_index": e.log_index,
                        "actor": e.args["by"],
                        "increase": delta > 0,
                        "amount": abs(delta),
                        "balance": int(e.args["balance"]),
                    }
                )
        upsert(conn, GUARANTEE, fund_rows, ("escrow", "block_number", "log_index"))

    def revert(self, conn: Connection, events: Sequence[EventRecord], ancestor: int) -> None:
        """Undoes the orphaned payment events newest first; drops guarantee rows above ``ancestor``."""
        payment_events = [e for e in events if e.event in PAYMENT_EVENTS]
        rows = load_rows(conn, PAYMENTS, map(payment_key, payment_events))
        for e in reversed(payment_events):
            key = payment_key(e)
            rows[key] = revert_payment(rows[key], e)
        fill_last_blocks(conn, rows, ancestor)
        _store_rows(conn, PAYMENTS, rows)
        conn.execute(delete(GUARANTEE).where(GUARANTEE.c.block_number > ancestor))


class StakingProjection:
    """LockStaking locks (``staking_locks``) and reward fundings (``staking_reward_periods``).

    Same shape as :class:`EscrowProjection`, with
    :func:`~indexer.platform_state.apply_lock` / :func:`~indexer.platform_state.revert_lock`.
    """

    name = "staking"

    def __init__(self, contracts: Iterable[str]) -> None:
        self._contracts = tuple(contracts)

    def handles(self) -> Iterable[tuple[str, str]]:
        """The lock events and ``RewardsFunded`` of every configured staking contract."""
        return [(c, ev) for c in self._contracts for ev in (*LOCK_EVENTS, "RewardsFunded")]

    def apply(self, conn: Connection, events: Sequence[EventRecord]) -> None:
        """Moves the touched locks forward and appends the reward fundings."""
        lock_events = [e for e in events if e.event in LOCK_EVENTS]
        rows = load_rows(conn, LOCKS, map(lock_key, lock_events))
        for e in lock_events:
            key = lock_key(e)
            rows[key] = apply_lock(rows[key], e)
        _store_rows(conn, LOCKS, rows)
        periods = [
            {
                "staking": e.address,
                "block_number": e.block_number,
                "log_index": e.log_index,
                "funder": e.args["funder"],
                "amount": int(e.args["amount"]),
                "rate": int(e.args["rate"]),
                "period_finish": int(e.args["periodFinish"]),
            }
            for e in events
            if e.event == "RewardsFunded"
        ]
        upsert(conn, REWARD_PERIODS, periods, ("staking", "block_number", "log_index"))

    def revert(self, conn: Connection, events: Sequence[EventRecord], ancestor: int) -> None:
        """Undoes the orphaned lock events newest first; drops reward periods above ``ancestor``."""
        lock_events = [e for e in events if e.event in LOCK_EVENTS]
        rows = load_rows(conn, LOCKS, map(lock_key, lock_events))
        for e in reversed(lock_events):
            key = lock_key(e)
            rows[key] = revert_lock(rows[key], e)
        _store_rows(conn, LOCKS, rows)
        conn.execute(delete(REWARD_PERIODS).where(REWARD_PERIODS.c.block_number > ancestor))


class CarbonProjection:
    """CarbonCredits: ``carbon_projects``, ``carbon_vintages``, ``carbon_balances``,
    ``carbon_retirements`` and ``carbon_bridge_requests``.

    Same shape as :class:`EscrowProjection`: one read of the touched rows per range, the
    transitions of :mod:`indexer.carbon_state` in Python, one write. Balances come from the
    ERC-1155 ``TransferSingle``/``TransferBatch`` (the contract's own address is the bridge-back
    custody); rows that reach zero are deleted. Projects and certificates never change, so a reorg
    deletes the orphaned ones; vintages and requests are undone newest first; balances take the
    orphaned transfers back out.
    """

    name = "carbon"

    def __init__(self, contracts: Iterable[str]) -> None:
        self._contracts = tuple(contracts)

    def handles(self) -> Iterable[tuple[str, str]]:
        """The project, vintage, retirement, bridge-back and ERC-1155 transfer events."""
        return [(c, ev) for c in self._contracts for ev in CARBON_EVENTS]

    def apply(self, conn: Connection, events: Sequence[EventRecord]) -> None:
        """Adds projects and certificates, moves vintages, requests and balances forward."""
        projects = [project_row(e) for e in events if e.event == "ProjectRegistered"]
        upsert(conn, PROJECTS, projects, ("carbon", "project_key"))
        certificates = [retirement_row(e) for e in events if e.event == "CreditsRetired"]
        upsert(conn, RETIREMENTS, certificates, ("carbon", "certificate_id"))
        self._step(conn, events, VINTAGES, VINTAGE_EVENTS, vintage_key, apply_vintage, None)
        self._step(conn, events, BRIDGE_REQUESTS, REQUEST_EVENTS, request_key, apply_request, None)
        self._add_to_balances(conn, self._deltas(events, 1))

    def revert(self, conn: Connection, events: Sequence[EventRecord], ancestor: int) -> None:
        """Undoes the orphaned events newest first; drops projects and certificates they created."""
        self._add_to_balances(conn, self._deltas(events, -1))
        self._step(conn, events, BRIDGE_REQUESTS, REQUEST_EVENTS, request_key, None, revert_request)
        self._step(conn, events, VINTAGES, VINTAGE_EVENTS, vintage_key, None, revert_vintage)
        for table, event, key_of in (
            (RETIREMENTS, "CreditsRetired", lambda e: (e.address, int(e.args["certificateId"]))),
            (PROJECTS, "ProjectRegistered", project_key),
        ):
            gone: dict[Key, Row | None] = {key_of(e): None for e in events if e.event == event}
            _store_rows(conn, table, gone)

    @staticmethod
    def _step(
        conn: Connection,
        events: Sequence[EventRecord],
        table: Table,
        kinds: Sequence[str],
        key_of: Any,
        forward: Any,
        backward: Any,
    ) -> None:
        """Loads the rows ``kinds`` of events touch, applies (``forward``) or reverts them, stores."""
        chosen = [e for e in events if e.event in kinds]
        if not chosen:
            return
        rows = load_rows(conn, table, map(key_of, chosen))
        for e in chosen if forward is not None else reversed(chosen):
            key = key_of(e)
            rows[key] = forward(rows[key], e) if forward is not None else backward(rows[key], e)
        _store_rows(conn, table, rows)

    @staticmethod
    def _deltas(events: Sequence[EventRecord], sign: int) -> dict[tuple[str, int, str], int]:
        deltas: dict[tuple[str, int, str], int] = defaultdict(int)
        for e in events:
            if e.event not in ("TransferSingle", "TransferBatch"):
                continue
            sender, receiver = e.args["from"], e.args["to"]
            for token_id, value in transfers(e):
                if sender != ZERO_ADDRESS:
                    deltas[(e.address, token_id, sender)] -= sign * value
                if receiver != ZERO_ADDRESS:
                    deltas[(e.address, token_id, receiver)] += sign * value
        return deltas

    @staticmethod
    def _add_to_balances(conn: Connection, deltas: dict[tuple[str, int, str], int]) -> None:
        by_carbon: dict[str, set[str]] = defaultdict(set)
        for carbon, _token_id, holder in deltas:
            by_carbon[carbon].add(holder)
        current: dict[tuple[str, int, str], int] = {}
        for carbon, holders in by_carbon.items():
            for part in chunks(sorted(holders)):
                query = select(CARBON_BALANCES).where(
                    CARBON_BALANCES.c.carbon == carbon, CARBON_BALANCES.c.holder.in_(part)
                )
                current.update(((r.carbon, r.token_id, r.holder), r.balance) for r in conn.execute(query))
        rows, gone = [], []
        for key, delta in deltas.items():
            if delta == 0:
                continue
            balance = current.get(key, 0) + delta
            if balance < 0:
                raise ProjectionError(
                    f"carbon balance of {key[2]} in token {key[1]} would go negative", account=key[2]
                )
            if balance == 0:
                gone.append(key)
            else:
                rows.append({"carbon": key[0], "token_id": key[1], "holder": key[2], "balance": balance})
        upsert(conn, CARBON_BALANCES, rows, ("carbon", "token_id", "holder"))
        b = CARBON_BALANCES.c
        for carbon, token_id, holder in gone:
            conn.execute(
                delete(CARBON_BALANCES).where(b.carbon == carbon, b.token_id == token_id, b.holder == holder)
            )


class MarketProjection:
    """CarbonMarket: ``market_trades``, ``market_orders``, ``market_nonces``, ``market_terms`` and
    ``market_allowlist``.

    Trades and the terms/allowlist histories are appended per log and dropped above the ancestor
    on a reorg. Orders (two per fill: buy and sell) and nonces follow the shape of
    :class:`EscrowProjection`: one read of the touched rows, the transitions of
    :mod:`indexer.market_state` in Python, one write; reverts run newest first.
    """

    name = "market"

    def __init__(self, contracts: Iterable[str]) -> None:
        self._contracts = tuple(contracts)

    def handles(self) -> Iterable[tuple[str, str]]:
        """Fills, cancellations, nonce bumps, fee, size-limit and allowlist changes."""
        return [(c, ev) for c in self._contracts for ev in MARKET_EVENTS]

    def apply(self, conn: Connection, events: Sequence[EventRecord]) -> None:
        """Appends trades and history rows; moves the touched orders and nonces forward."""
        upsert(conn, TRADES, [trade_row(e) for e in events if e.event == "OrderFilled"], _LOG_KEY)
        upsert(conn, TERMS, [terms_row(e) for e in events if e.event in ("FeeSet", "SizeLimitSet")], _LOG_KEY)
        upsert(conn, ALLOWLIST, [allowlist_row(e) for e in events if e.event == "AllowlistSet"], _LOG_KEY)
        order_events = [e for e in events if e.event in ORDER_EVENTS]
        if order_events:
            rows = load_rows(conn, ORDERS, (k for e in order_events for k in order_keys(e)))
            for e in order_events:
                for key in order_keys(e):
                    rows[key] = apply_order(rows[key], e, key[1])
            _store_rows(conn, ORDERS, rows)
        nonce_events = [e for e in events if e.event == "NonceIncremented"]
        if nonce_events:
            nonces = load_rows(conn, NONCES, map(nonce_key, nonce_events))
            for e in nonce_events:
                nonces[nonce_key(e)] = apply_nonce(nonces[nonce_key(e)], e)
            _store_rows(conn, NONCES, nonces)

    def revert(self, conn: Connection, events: Sequence[EventRecord], ancestor: int) -> None:
        """Undoes the orphaned order and nonce events newest first; drops appended rows above ``ancestor``."""
        order_events = [e for e in events if e.event in ORDER_EVENTS]
        if order_events:
            rows = load_rows(conn, ORDERS, (k for e in order_events for k in order_keys(e)))
            for e in reversed(order_events):
                for key in reversed(order_keys(e)):
                    rows[key] = revert_order(rows[key], e, key[1])
            _store_rows(conn, ORDERS, rows)
        nonce_events = [e for e in events if e.event == "NonceIncremented"]
        if nonce_events:
            nonces = load_rows(conn, NONCES, map(nonce_key, nonce_events))
            for e in reversed(nonce_events):
                nonces[nonce_key(e)] = revert_nonce(nonces[nonce_key(e)], e)
            _store_rows(conn, NONCES, nonces)
        for table in (TRADES, TERMS, ALLOWLIST):
            conn.execute(delete(table).where(table.c.block_number > ancestor))


_LOG_KEY = ("market", "block_number", "log_index")


class ProjectionSet:
    """The projections of a pipeline, routed by (contract, event)."""

    def __init__(self, projections: Sequence[Projection]) -> None:
        self.projections = tuple(projections)
        self._routes: dict[tuple[str, str], list[int]] = defaultdict(list)
        for i, projection in enumerate(self.projections):
            for key in projection.handles():
                self._routes[key].append(i)

    @property
    def keys(self) -> set[tuple[str, str]]:
        """Every (contract, event) some projection consumes."""
        return set(self._routes)

    def _split(self, events: Iterable[EventRecord]) -> list[list[EventRecord]]:
        groups: list[list[EventRecord]] = [[] for _ in self.projections]
        for e in events:
            for i in self._routes.get((e.contract, e.event), ()):
                groups[i].append(e)
        return groups

    def apply(self, conn: Connection, events: Sequence[EventRecord]) -> None:
        """Hands each projection its events of the range."""
        for projection, group in zip(self.projections, self._split(events), strict=True):
            if group:
                projection.apply(conn, group)

    def revert(self, conn: Connection, events: Sequence[EventRecord], ancestor: int) -> None:
        """Hands each projection its orphaned events (also when none, so it drops rows above)."""
        for projection, group in zip(self.projections, self._split(events), strict=True):
            projection.revert(conn, group, ancestor)


def default_projections(
    token_contracts: Iterable[str] = ("MadiunStableCoin",),
    escrow_contracts: Iterable[str] = ("MerchantEscrow",),
    staking_contracts: Iterable[str] = ("LockStaking",),
    carbon_contracts: Iterable[str] = ("CarbonCredits",),
    market_contracts: Iterable[str] = ("CarbonMarket",),
) -> ProjectionSet:
    """The platform's projections, by deployment-file name: ERC-20 balances and supply of MSC,
    escrow payments and guarantee fund, staking locks and reward periods, carbon credits, and
    the carbon market's trades, orders, nonces and terms.

    A name missing from the deployment file simply never matches an event.
    """
    return ProjectionSet(
        [
            Erc20Projection(token_contracts),
            EscrowProjection(escrow_contracts),
            StakingProjection(staking_contracts),
            CarbonProjection(carbon_contracts),
            MarketProjection(market_contracts),
        ]
    )
