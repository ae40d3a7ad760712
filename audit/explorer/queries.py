"""Read queries of the explorer over the indexer's mirror, all as of one confirmed block.

The mirror's derived tables (balances, payments, locks, vintages, carbon balances) hold the state
at the indexer's checkpoint; the explorer shows the state at the *confirmed* block below it
(:func:`indexer.reader.confirmed_block`). Rows the reader already answers as of that block
(payments, locks, vintages, certificates) come from :mod:`indexer.reader`; MSC and carbon balances
are taken back here the same way, by undoing the transfers above the confirmed block (at most
``confirmations`` blocks of them). Event lists are simply cut at the confirmed block.

Every function takes the one :class:`AsOf` of the request, so a page never mixes two blocks.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Boolean,
    Connection,
    Numeric,
    Select,
    Table,
    and_,
    cast,
    column,
    func,
    or_,
    select,
    table,
)

from audit.store.models import ANOMALY_FLAGS, RECONCILIATION_CHECKS, RECONCILIATION_RUNS
from common.errors import MSCError
from indexer import reader
from indexer.carbon_state import VINTAGES
from indexer.carbon_state import transfers as carbon_transfers
from indexer.market_models import MarketTrade
from indexer.models import CarbonBalance, CarbonBridgeRequest, CarbonProject, CarbonRetirement
from indexer.platform_state import LOCKS, PAYMENTS
from indexer.projections import BALANCES, SUPPLY, ZERO_ADDRESS, EventRecord
from indexer.store import BLOCKS, DECODED, load_checkpoint
from settlement.minting.ids import escrow_payment_id, payment_id_from_escrow_id
from settlement.payments.models import Payment
from settlement.payouts.models import Payout, PayoutStatus

MERCHANTS = table("merchants", column("simulated", Boolean))
"""The merchants as the ledger pages see them: only whether any is simulated."""

PROJECTS: Table = CarbonProject.__table__  # type: ignore[assignment]
RETIREMENTS: Table = CarbonRetirement.__table__  # type: ignore[assignment]
TRADES: Table = MarketTrade.__table__  # type: ignore[assignment]
BRIDGE_REQUESTS: Table = CarbonBridgeRequest.__table__  # type: ignore[assignment]
PAYOUTS: Table = Payout.__table__  # type: ignore[assignment]
CARBON_BALANCES: Table = CarbonBalance.__table__  # type: ignore[assignment]
SETTLEMENT_PAYMENTS: Table = Payment.__table__  # type: ignore[assignment]

MSC = "MadiunStableCoin"
STAKING = "LockStaking"
ESCROW = "MerchantEscrow"
CARBON = "CarbonCredits"
MARKET = "CarbonMarket"
CONTRACT_NAMES = (MSC, STAKING, ESCROW, CARBON, MARKET)

PENDING_PAYOUT = (PayoutStatus.REQUESTED.value, PayoutStatus.PROCESSING.value, PayoutStatus.FAILED.value)
"""Payouts whose Rupiah the bank still owes: MSC is burned, the transfer is not confirmed (a failed
one stays owed until it is reversed)."""


@dataclass(frozen=True)
class AsOf:
    """The block a request shows data as of, and where the mirror stands.

    ``block`` is None while the mirror has no block with enough confirmations.
    """

    block: int | None
    checkpoint: int | None
    head: int | None
    confirmations: int
    stream: str
    timestamp: int | None
    contracts: dict[str, str]
    """Followed contract name -> lowercase address, as the mirror's events name them."""
    simulated: int = 0
    """Simulated (pilot, ``[SIMULASI]``) merchants in the books: every page says so when any."""

    def address(self, name: str) -> str | None:
        """The address of contract ``name`` (None: the mirror has no event of it)."""
        return self.contracts.get(name)


def as_of(conn: Connection, confirmations: int, stream: str = "default") -> AsOf:
    """Where a request reads: the confirmed block, the checkpoint and the node head the indexer saw."""
    state = load_checkpoint(conn, stream)
    block = reader.confirmed_block(conn, confirmations, stream)
    timestamp = None
    if block is not None:
        timestamp = conn.execute(select(BLOCKS.c.timestamp).where(BLOCKS.c.number == block)).scalar()
    return AsOf(
        block=block,
        checkpoint=state.block_number if state else None,
        head=state.chain_head if state else None,
        confirmations=confirmations,
        stream=stream,
        timestamp=timestamp,
        contracts=contract_addresses(conn),
        simulated=int(
            conn.execute(select(func.count()).select_from(MERCHANTS).where(MERCHANTS.c.simulated)).scalar()
            or 0
        ),
    )


def contract_addresses(conn: Connection) -> dict[str, str]:
    """The platform's contracts the mirror has events of, by deployment-file name (indexed look-ups)."""
    found: dict[str, str] = {}
    for name in CONTRACT_NAMES:
        address = conn.execute(select(DECODED.c.address).where(DECODED.c.contract == name).limit(1)).scalar()
        if address is not None:
            found[name] = str(address)
    return found


def _events_above(conn: Connection, contract: str, events: Sequence[str], above: int) -> list[EventRecord]:
    """Decoded events of ``contract`` named in ``events`` above block ``above``, in chain order."""
    query = (
        select(
            DECODED.c.block_number,
            DECODED.c.block_hash,
            DECODED.c.log_index,
            DECODED.c.tx_hash,
            DECODED.c.address,
            DECODED.c.contract,
            DECODED.c.event,
            DECODED.c.args,
        )
        .where(DECODED.c.contract == contract, DECODED.c.event.in_(events), DECODED.c.block_number > above)
        .order_by(DECODED.c.block_number, DECODED.c.log_index)
    )
    return [EventRecord(*row) for row in conn.execute(query)]


# ---------------------------------------------------------------------- MSC


def msc_balances(conn: Connection, at: AsOf, accounts: Iterable[str] | None = None) -> dict[str, int]:
    """MSC balances as of the confirmed block (all accounts that ever held, or just ``accounts``).

    The checkpoint's balances with the later transfers taken back out.
    """
    token = at.address(MSC)
    if token is None or at.block is None:
        return {}
    wanted = None if accounts is None else {a.lower() for a in accounts}
    query = select(BALANCES.c.account, BALANCES.c.balance).where(BALANCES.c.token == token)
    if wanted is not None:
        query = query.where(BALANCES.c.account.in_(sorted(wanted)))
    balances: dict[str, int] = defaultdict(int, {r.account: int(r.balance) for r in conn.execute(query)})
    if at.checkpoint is not None and at.block < at.checkpoint:
        for e in _events_above(conn, MSC, ("Transfer",), at.block):
            value = int(e.args["value"])
            if e.args["from"] != ZERO_ADDRESS:
                balances[e.args["from"]] += value
            if e.args["to"] != ZERO_ADDRESS:
                balances[e.args["to"]] -= value
    if wanted is not None:
        return {a: balances.get(a, 0) for a in wanted}
    return dict(balances)


def msc_holders(conn: Connection, at: AsOf) -> list[dict[str, Any]]:
    """Accounts with a non-zero MSC balance as of the confirmed block, with their share of supply."""
    balances = msc_balances(conn, at)
    supply = msc_supply(conn, at) or 0
    return [
        {"account": account, "balance": balance, "share_bps": balance * 10_000 // supply if supply else 0}
        for account, balance in balances.items()
        if balance != 0
    ]


def msc_supply(conn: Connection, at: AsOf) -> int | None:
    """MSC total supply after the confirmed block (None: no token in the mirror)."""
    token = at.address(MSC)
    if token is None or at.block is None:
        return None
    value = conn.execute(
        select(SUPPLY.c.total_supply)
        .where(SUPPLY.c.token == token, SUPPLY.c.block_number <= at.block)
        .order_by(SUPPLY.c.block_number.desc())
        .limit(1)
    ).scalar()
    return 0 if value is None else int(value)


def supply_history_query(at: AsOf) -> Select[Any]:
    """Supply after each block that minted or burned, up to the confirmed block, with block times."""
    token = at.address(MSC) or ""
    return (
        select(
            SUPPLY.c.block_number.label("block"),
            BLOCKS.c.timestamp.label("time"),
            SUPPLY.c.total_supply.label("supply"),
        )
        .select_from(SUPPLY.outerjoin(BLOCKS, BLOCKS.c.number == SUPPLY.c.block_number))
        .where(SUPPLY.c.token == token, SUPPLY.c.block_number <= (at.block if at.block is not None else -1))
    )


def attestations(conn: Connection, at: AsOf) -> list[dict[str, Any]]:
    """Every reserve attestation (``ReservesAttested``) up to the confirmed block, oldest first."""
    if at.block is None:
        return []
    return [
        {
            "block": e["block_number"],
            "reserves": int(e["args"]["reserves"]),
            "supply": int(e["args"]["supply"]),
            "reference": e["args"]["attestationRef"],
            "tx": e["tx_hash"],
        }
        for e in reader.confirmed_events(conn, MSC, "ReservesAttested", at.confirmations, at.stream)
    ]


def pending_payouts(conn: Connection) -> tuple[int, int]:
    """(sen owed, count) of redemption payouts the bank has not yet confirmed as paid.

    Off-chain records, so not subject to the confirmation depth; summed in Python (exact).
    """
    amounts = conn.execute(select(PAYOUTS.c.amount).where(PAYOUTS.c.status.in_(PENDING_PAYOUT))).scalars()
    values = [int(a) for a in amounts]
    return sum(values), len(values)


def transfers_query(at: AsOf, address: str | None = None) -> Select[Any]:
    """MSC ``Transfer`` events up to the confirmed block, optionally of one address (either side)."""
    sender = DECODED.c.args["from"].as_string()
    receiver = DECODED.c.args["to"].as_string()
    query = select(
        DECODED.c.block_number.label("block"),
        DECODED.c.log_index.label("log_index"),
        DECODED.c.tx_hash.label("tx"),
        sender.label("from"),
        receiver.label("to"),
        DECODED.c.args["value"].as_string().label("value"),
    ).where(
        DECODED.c.contract == MSC,
        DECODED.c.event == "Transfer",
        DECODED.c.block_number <= (at.block if at.block is not None else -1),
    )
    if address is not None:
        query = query.where(or_(sender == address.lower(), receiver == address.lower()))
    return query


def transfer_value_order() -> Any:
    """The SQL expression that sorts transfers by value (decimal text compared as a number)."""
    return cast(DECODED.c.args["value"].as_string(), Numeric(78, 0))


# ---------------------------------------------------------------------- blocks, transactions, events


def blocks_query(at: AsOf) -> Select[Any]:
    """Mirrored blocks up to the confirmed block with their count of decoded events.

    The mirror keeps headers of blocks with logs, range boundaries and recent blocks only, so a
    block with no platform event may be missing: the list is of the platform's blocks.
    """
    counts = (
        select(DECODED.c.block_number, func.count().label("events"))
        .group_by(DECODED.c.block_number)
        .subquery()
    )
    return (
        select(
            BLOCKS.c.number.label("block"),
            BLOCKS.c.hash.label("hash"),
            BLOCKS.c.timestamp.label("time"),
            func.coalesce(counts.c.events, 0).label("events"),
        )
        .select_from(BLOCKS.outerjoin(counts, counts.c.block_number == BLOCKS.c.number))
        .where(BLOCKS.c.number <= (at.block if at.block is not None else -1))
    )


def block(conn: Connection, at: AsOf, number: int) -> dict[str, Any] | None:
    """Block ``number``'s header if it is confirmed and mirrored (None otherwise)."""
    if at.block is None or number > at.block:
        return None
    row = conn.execute(select(BLOCKS).where(BLOCKS.c.number == number)).first()
    return None if row is None else dict(row._mapping)


def transactions_query(at: AsOf) -> Select[Any]:
    """Transactions with platform events up to the confirmed block: block, hash, event count."""
    return (
        select(
            func.min(DECODED.c.block_number).label("block"),
            DECODED.c.tx_hash.label("tx"),
            func.count().label("events"),
        )
        .where(DECODED.c.block_number <= (at.block if at.block is not None else -1))
        .group_by(DECODED.c.tx_hash)
    )


def events_query(at: AsOf, *, tx: str | None = None, block_number: int | None = None) -> Select[Any]:
    """Decoded events up to the confirmed block, of one transaction or one block."""
    query = select(
        DECODED.c.block_number.label("block"),
        DECODED.c.log_index.label("log_index"),
        DECODED.c.tx_hash.label("tx"),
        DECODED.c.contract.label("contract"),
        DECODED.c.event.label("event"),
        DECODED.c.args.label("args"),
    ).where(DECODED.c.block_number <= (at.block if at.block is not None else -1))
    if tx is not None:
        query = query.where(DECODED.c.tx_hash == tx.lower())
    if block_number is not None:
        query = query.where(DECODED.c.block_number == block_number)
    return query


def tx_block(conn: Connection, at: AsOf, tx: str) -> int | None:
    """The block of transaction ``tx`` if it has a confirmed platform event (None otherwise)."""
    if at.block is None:
        return None
    value = conn.execute(
        select(func.min(DECODED.c.block_number)).where(
            DECODED.c.tx_hash == tx.lower(), DECODED.c.block_number <= at.block
        )
    ).scalar()
    return None if value is None else int(value)


# ---------------------------------------------------------------------- escrow and staking


def escrow_payment(conn: Connection, at: AsOf, payment_id: str) -> dict[str, Any] | None:
    """Escrow payment ``payment_id`` as of the confirmed block (None: not deposited by then)."""
    if at.block is None:
        return None
    return reader.escrow_payment(conn, payment_id.lower(), at.confirmations, at.stream, ESCROW)


def settlement_escrow_id(conn: Connection, text: str) -> str | None:
    """The escrow key (``0x`` bytes32) of a settlement payment named by its UUID or its Pi payment id.

    The settlement keys each escrow deposit by its payment's UUID (:mod:`settlement.minting.ids`),
    so a citizen holding a receipt with either id finds the deposit. None: no such payment.
    """
    try:
        return "0x" + escrow_payment_id(uuid.UUID(text)).hex()
    except ValueError:
        pass
    found = conn.execute(
        select(SETTLEMENT_PAYMENTS.c.id).where(SETTLEMENT_PAYMENTS.c.pi_payment_id == text)
    ).scalar()
    return None if found is None else "0x" + escrow_payment_id(found).hex()


def settlement_payment(conn: Connection, escrow_id: str) -> dict[str, Any] | None:
    """The Pi side of an escrow deposit the settlement made: Pi payment id and Pi transaction.

    None for deposits not keyed by a settlement payment (made directly on the contract).
    """
    try:
        payment_id = payment_id_from_escrow_id(bytes.fromhex(escrow_id.removeprefix("0x")))
    except (ValueError, MSCError):
        return None
    row = conn.execute(
        select(
            SETTLEMENT_PAYMENTS.c.id, SETTLEMENT_PAYMENTS.c.pi_payment_id, SETTLEMENT_PAYMENTS.c.txid
        ).where(SETTLEMENT_PAYMENTS.c.id == payment_id)
    ).first()
    return None if row is None else dict(row._mapping)


def address_payments(conn: Connection, at: AsOf, address: str) -> list[dict[str, Any]]:
    """Escrow payments where ``address`` is the merchant or the payer, as of the confirmed block."""
    if at.block is None:
        return []
    address = address.lower()
    rows = {
        r["payment_id"]: r
        for r in reader.merchant_payments(conn, address, at.confirmations, at.stream, ESCROW)
    }
    payer_ids = conn.execute(select(PAYMENTS.c.payment_id).where(PAYMENTS.c.payer == address)).scalars()
    for payment_id in payer_ids:
        if payment_id not in rows:
            row = reader.escrow_payment(conn, payment_id, at.confirmations, at.stream, ESCROW)
            if row is not None:
                rows[payment_id] = row
    return list(rows.values())


def address_locks(conn: Connection, at: AsOf, address: str) -> list[dict[str, Any]]:
    """Staking locks of ``address`` (open and closed) as of the confirmed block."""
    if at.block is None:
        return []
    return reader.holder_locks(conn, address, at.confirmations, at.stream, STAKING)


def staked_principal(conn: Connection, at: AsOf, address: str | None = None) -> int:
    """Principal locked at the confirmed block, of ``address`` or of everyone (the contract's
    ``totalPrincipal()`` at that block).

    A lock's principal never changes, so a lock counts when it was opened by the confirmed block
    and not closed by it; one query, no events to undo. Summed in Python (exact on SQLite).
    """
    if at.block is None:
        return 0
    query = select(LOCKS.c.amount).where(
        LOCKS.c.opened_block <= at.block,
        or_(LOCKS.c.closed_block.is_(None), LOCKS.c.closed_block > at.block),
    )
    if address is not None:
        query = query.where(LOCKS.c.owner == address.lower())
    return sum(int(amount) for amount in conn.execute(query).scalars())


# ---------------------------------------------------------------------- carbon credits


def projects(conn: Connection, at: AsOf) -> list[dict[str, Any]]:
    """Carbon projects registered by the confirmed block."""
    if at.block is None:
        return []
    query = select(PROJECTS).where(PROJECTS.c.registered_block <= at.block)
    return [dict(r._mapping) for r in conn.execute(query)]


def vintages(conn: Connection, at: AsOf, project_key: int | None = None) -> list[dict[str, Any]]:
    """Verified vintages with their counters (issued, retired, bridged; tonnes) as of the confirmed block."""
    if at.block is None:
        return []
    query = select(VINTAGES.c.carbon, VINTAGES.c.token_id).where(VINTAGES.c.verified_block <= at.block)
    if project_key is not None:
        query = query.where(VINTAGES.c.project_key == project_key)
    rows = []
    for address, token_id in conn.execute(query):
        row = reader.carbon_vintage(conn, int(token_id), at.confirmations, at.stream, CARBON, carbon=address)
        if row is not None:
            row["outstanding"] = int(row["issued"]) - int(row["retired"]) - int(row["bridged"])
            rows.append(row)
    return rows


def carbon_totals(conn: Connection, at: AsOf) -> dict[str, int]:
    """Tonnes issued, retired and bridged back over every vintage, as of the confirmed block."""
    totals = {"issued": 0, "retired": 0, "bridged": 0, "verified": 0}
    for row in vintages(conn, at):
        totals["issued"] += int(row["issued"])
        totals["retired"] += int(row["retired"])
        totals["bridged"] += int(row["bridged"])
        totals["verified"] += int(row["verified_tonnes"])
    return totals


def carbon_holdings(
    conn: Connection, at: AsOf, *, holder: str | None = None, token_id: int | None = None
) -> list[dict[str, Any]]:
    """Carbon credit balances (tonnes, non-zero) as of the confirmed block, of a holder or of a vintage."""
    if at.block is None:
        return []
    table = CARBON_BALANCES
    query = select(table.c.token_id, table.c.holder, table.c.balance)
    if holder is not None:
        query = query.where(table.c.holder == holder.lower())
    if token_id is not None:
        query = query.where(table.c.token_id == token_id)
    balances: dict[tuple[int, str], int] = defaultdict(int)
    for r in conn.execute(query):
        balances[(int(r.token_id), r.holder)] = int(r.balance)
    if at.checkpoint is not None and at.block < at.checkpoint:
        for e in _events_above(conn, CARBON, ("TransferSingle", "TransferBatch"), at.block):
            for tid, value in carbon_transfers(e):
                if token_id is not None and tid != token_id:
                    continue
                for side, sign in (("from", 1), ("to", -1)):
                    account = e.args[side]
                    if account != ZERO_ADDRESS and (holder is None or account == holder.lower()):
                        balances[(tid, account)] += sign * value
    return [
        {"token_id": tid, "holder": account, "balance": value}
        for (tid, account), value in balances.items()
        if value != 0
    ]


def retirements_query(
    at: AsOf,
    *,
    token_id: int | None = None,
    address: str | None = None,
) -> Select[Any]:
    """Retirement certificates up to the confirmed block, of a vintage or an address (either side)."""
    query = select(
        RETIREMENTS.c.certificate_id.label("certificate"),
        RETIREMENTS.c.token_id.label("token_id"),
        RETIREMENTS.c.tonnes.label("tonnes"),
        RETIREMENTS.c.beneficiary_name.label("beneficiary_name"),
        RETIREMENTS.c.beneficiary.label("beneficiary"),
        RETIREMENTS.c.retired_by.label("retired_by"),
        RETIREMENTS.c.reason.label("reason"),
        RETIREMENTS.c.block_number.label("block"),
        RETIREMENTS.c.tx_hash.label("tx"),
    )
    return _carbon_rows_of(query, RETIREMENTS, at, token_id, address, ("beneficiary", "retired_by"))


def trades_query(at: AsOf, *, token_id: int | None = None, address: str | None = None) -> Select[Any]:
    """Carbon market fills settled up to the confirmed block, of a vintage or an address (either side)."""
    query = select(
        TRADES.c.block_number.label("block"),
        TRADES.c.log_index.label("log_index"),
        TRADES.c.tx_hash.label("tx"),
        TRADES.c.token_id.label("token_id"),
        TRADES.c.buyer.label("buyer"),
        TRADES.c.seller.label("seller"),
        TRADES.c.amount.label("tonnes"),
        TRADES.c.price.label("price"),
        TRADES.c.notional.label("notional"),
        TRADES.c.fee.label("fee"),
    )
    return _carbon_rows_of(query, TRADES, at, token_id, address, ("buyer", "seller"))


def _carbon_rows_of(
    query: Select[Any],
    table: Table,
    at: AsOf,
    token_id: int | None,
    address: str | None,
    parties: tuple[str, str],
) -> Select[Any]:
    """``query`` over ``table`` up to the confirmed block, of one vintage and/or one address on
    either side (``parties`` names the two address columns)."""
    query = query.where(table.c.block_number <= (at.block if at.block is not None else -1))
    if token_id is not None:
        query = query.where(table.c.token_id == token_id)
    if address is not None:
        address = address.lower()
        query = query.where(or_(*(table.c[side] == address for side in parties)))
    return query


def certificate(conn: Connection, at: AsOf, certificate_id: int) -> dict[str, Any] | None:
    """Retirement certificate ``certificate_id`` if issued by the confirmed block."""
    if at.block is None:
        return None
    return reader.carbon_certificate(conn, certificate_id, at.confirmations, at.stream)


def bridge_requests(conn: Connection, at: AsOf, token_id: int) -> list[dict[str, Any]]:
    """Bridge-back requests of a vintage made by the confirmed block; one resolved after it shows pending."""
    if at.block is None:
        return []
    query = select(BRIDGE_REQUESTS).where(
        and_(BRIDGE_REQUESTS.c.token_id == token_id, BRIDGE_REQUESTS.c.requested_block <= at.block)
    )
    rows = []
    for r in conn.execute(query):
        row = dict(r._mapping)
        if row["resolved_block"] is not None and row["resolved_block"] > at.block:
            row.update(status="pending", registry_reference=None, refusal_reason=None, resolved_block=None)
        rows.append(row)
    return rows


def project_of(conn: Connection, at: AsOf, project_key: int) -> dict[str, Any] | None:
    """Project ``project_key`` if registered by the confirmed block."""
    for row in projects(conn, at):
        if int(row["project_key"]) == project_key:
            return row
    return None


def project_by_registry_id(conn: Connection, at: AsOf, registry_id: str) -> dict[str, Any] | None:
    """The project with registry id ``registry_id`` (e.g. ``SRN-PPI-MGV-0042``), if registered by then."""
    for row in projects(conn, at):
        if str(row["registry_id"]).lower() == registry_id.lower():
            return row
    return None


# ---------------------------------------------------------------------- audit: anomalies, reconciliation


def anomalies_query(at: AsOf, *, status: str | None = None, kind: str | None = None) -> Select[Any]:
    """Anomaly flags whose transactions are confirmed (off-chain flags, with no block, always shown)."""
    confirmed = at.block if at.block is not None else -1
    query = select(
        ANOMALY_FLAGS.c.id.label("flag"),
        ANOMALY_FLAGS.c.kind.label("kind"),
        ANOMALY_FLAGS.c.source.label("source"),
        ANOMALY_FLAGS.c.score.label("score"),
        ANOMALY_FLAGS.c.status.label("status"),
        ANOMALY_FLAGS.c.block_number.label("block"),
        ANOMALY_FLAGS.c.tx_hashes.label("txs"),
        ANOMALY_FLAGS.c.reason.label("reason"),
        ANOMALY_FLAGS.c.evidence.label("evidence"),
    ).where(or_(ANOMALY_FLAGS.c.block_number.is_(None), ANOMALY_FLAGS.c.block_number <= confirmed))
    if status is not None:
        query = query.where(ANOMALY_FLAGS.c.status == status)
    if kind is not None:
        query = query.where(ANOMALY_FLAGS.c.kind == kind)
    return query


def anomaly_kinds(conn: Connection) -> list[str]:
    """The kinds of flag stored (for the page's filter links)."""
    return sorted(str(k) for k in conn.execute(select(ANOMALY_FLAGS.c.kind).distinct()).scalars())


def latest_reconciliation(conn: Connection, at: AsOf) -> dict[str, Any] | None:
    """The newest finished reconciliation run at or below the confirmed block, with its failing count."""
    if at.block is None:
        return None
    run = conn.execute(
        select(RECONCILIATION_RUNS)
        .where(RECONCILIATION_RUNS.c.block <= at.block, RECONCILIATION_RUNS.c.finished_at.is_not(None))
        .order_by(RECONCILIATION_RUNS.c.block.desc(), RECONCILIATION_RUNS.c.id.desc())
        .limit(1)
    ).first()
    if run is None:
        return None
    row = dict(run._mapping)
    verdicts = list(
        conn.execute(
            select(RECONCILIATION_CHECKS.c.ok).where(RECONCILIATION_CHECKS.c.run_id == row["id"])
        ).scalars()
    )
    row.update(checks=len(verdicts), failing=sum(1 for ok in verdicts if not ok))
    return row


def reconciliation_checks_query(run_id: int) -> Select[Any]:
    """The checks of reconciliation run ``run_id``; expected and actual are exact decimal text."""
    return select(
        RECONCILIATION_CHECKS.c.id.label("id"),
        RECONCILIATION_CHECKS.c.check.label("check"),
        RECONCILIATION_CHECKS.c.subject.label("subject"),
        RECONCILIATION_CHECKS.c.ok.label("ok"),
        RECONCILIATION_CHECKS.c.expected.label("expected"),
        RECONCILIATION_CHECKS.c.actual.label("actual"),
        RECONCILIATION_CHECKS.c.block_number.label("block"),
        RECONCILIATION_CHECKS.c.details.label("details"),
    ).where(RECONCILIATION_CHECKS.c.run_id == run_id)


def published_cid(conn: Connection, at: AsOf, cid: str) -> bool:
    """Whether a vintage verified by the confirmed block names ``cid`` as its documents or metadata."""
    if at.block is None:
        return False
    query = (
        select(VINTAGES.c.token_id)
        .where(
            VINTAGES.c.verified_block <= at.block,
            or_(VINTAGES.c.documents_cid == cid, VINTAGES.c.metadata_cid == cid),
        )
        .limit(1)
    )
    return conn.execute(query).first() is not None
