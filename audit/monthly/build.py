"""Builds one month's report from the indexer's mirror at the end block and the books at its time.

Chain figures are read as of the end block ``E`` with the explorer's own queries
(:mod:`audit.explorer.queries`, :mod:`indexer.reader`), through an :class:`AsOf` whose confirmed
block is ``E``: MSC supply (the supply history), the last reserve attestation, escrow outstanding,
carbon totals. Mints and burns are the MSC ``Transfer`` events from / to the zero address: in the
month (blocks after the previous month's end block up to ``E``) and in all up to ``E``.

The books are cut at ``E``'s timestamp: every ledger entry posted at or before it
(:func:`audit.liabilities.books.liabilities_at`). Flows of the month (payments settled, flags
raised or confirmed) count what happened in the month's Asia/Jakarta bounds; reconciliation runs
count by their block (after the previous end block, up to ``E``).

Per kelurahan: by the merchant's ``kelurahan_code`` (``unknown`` without one). ``audit`` sits below
``city`` in the layers (city imports settlement's books), so names are added by the page (api).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

from sqlalchemy import Boolean, Connection, String, Uuid, column, func, select, table
from sqlalchemy.orm import Session

from audit.explorer import queries
from audit.liabilities.books import liabilities_at
from audit.liabilities.models import LiabilitySnapshot, SnapshotStatus
from audit.monthly.figures import (
    UNKNOWN_KELURAHAN,
    Anomalies,
    Attestation,
    Carbon,
    EndBlock,
    Flow,
    KelurahanTotal,
    Liabilities,
    MonthlyReport,
    Reconciliation,
    Reserves,
)
from audit.monthly.period import BlockRef, Month, end_block, last_block_before
from audit.store.models import ANOMALY_FLAGS, RECONCILIATION_CHECKS, RECONCILIATION_RUNS
from common.sql.helpers import utcnow
from indexer import reader
from indexer.projections import ZERO_ADDRESS
from indexer.store import DECODED, load_checkpoint
from settlement.ledger.models import JournalEntry
from settlement.payments.models import Payment, PaymentStatus, PaymentStatusChange

ATTESTATION_CONTRACT = "LiabilityAttestation"
MERCHANTS = table(
    "merchants",
    column("id", Uuid),
    column("kelurahan_code", String),
    column("simulated", Boolean),
)
"""The merchants' table as the audit reads it (``audit`` does not import the web app's models)."""


def at_block(conn: Connection, block: BlockRef, stream: str = "default") -> queries.AsOf:
    """An :class:`AsOf` whose confirmed block is ``block`` (it must be at or below the checkpoint)."""
    state = load_checkpoint(conn, stream)
    assert state is not None and block.number <= state.block_number
    return queries.AsOf(
        block=block.number,
        checkpoint=state.block_number,
        head=state.chain_head,
        confirmations=state.chain_head - block.number,
        stream=stream,
        timestamp=block.timestamp,
        contracts=queries.contract_addresses(conn),
    )


def build_report(
    session: Session, month: Month, *, now: datetime | None = None, stream: str = "default"
) -> MonthlyReport:
    """``month``'s report (nothing is written).

    Raises:
        MonthNotReadyError: the month has not ended, or the mirror has not reached its end.
    """
    conn = session.connection()
    end = end_block(conn, month, now or utcnow(), stream)
    previous = last_block_before(conn, month.start, stream)
    at = at_block(conn, end, stream)
    mints_total, burns_total, mints, burns = _mints_and_burns(
        conn, at, -1 if previous is None else previous.number
    )
    settled = _settled(session, month)
    merchants = _merchants(conn)
    cut = _books_cut(session, end.timestamp)
    owed = liabilities_at(session, cut)
    active = {m for m, *_ in settled}
    simulated = any(merchants.get(m, ("", False))[1] for m in active | {row.merchant_id for row in owed})
    return MonthlyReport(
        month=month.text,
        start=month.start.isoformat(),
        end=month.end.isoformat(),
        end_block=EndBlock(end.number, end.hash, end.timestamp),
        msc_supply=queries.msc_supply(conn, at) or 0,
        mints_total=mints_total,
        burns_total=burns_total,
        reserves=_reserves(conn, at),
        liabilities=Liabilities(
            ledger_entry_id=cut,
            credited_not_minted=sum(r.credited_not_minted for r in owed),
            payouts_unpaid=sum(r.payouts_unpaid for r in owed),
            refunds_owed=sum(r.refunds_owed for r in owed),
            merchants=len(owed),
        ),
        attestation=_attestation(session, conn, month, end),
        mints=mints,
        burns=burns,
        settled_payments=len(settled),
        settled_idr=sum(s[1] for s in settled),
        settled_pi=sum(s[2] for s in settled),
        active_merchants=len(active),
        payers=len({payer for *_, payer in settled if payer is not None}) or None,
        kelurahan=_per_kelurahan(settled, merchants),
        escrow_outstanding=reader.outstanding_escrow(conn, at.confirmations, at.stream),
        carbon=_carbon(conn, at, None if previous is None else at_block(conn, previous, stream)),
        anomalies=_anomalies(conn, month),
        reconciliation=_reconciliation(conn, -1 if previous is None else previous.number, end.number),
        simulated=simulated,
    )


def _books_cut(session: Session, timestamp: int) -> int:
    """The id of the last ledger entry posted at or before ``timestamp`` (0: none)."""
    moment = datetime.fromtimestamp(timestamp, UTC)
    found = session.scalar(select(func.max(JournalEntry.id)).where(JournalEntry.posted_at <= moment))
    return int(found or 0)


def _mints_and_burns(conn: Connection, at: queries.AsOf, after: int) -> tuple[int, int, Flow, Flow]:
    """(minted in all, burned in all, mints in the month, burns in the month) up to ``at.block``."""
    token = at.address(queries.MSC)
    if token is None or at.block is None:
        return 0, 0, Flow(0, 0), Flow(0, 0)
    rows = conn.execute(
        select(DECODED.c.block_number, DECODED.c.args).where(
            DECODED.c.contract == queries.MSC,
            DECODED.c.address == token,
            DECODED.c.event == "Transfer",
            DECODED.c.block_number <= at.block,
        )
    )
    minted = burned = 0
    month_mints = [0, 0]
    month_burns = [0, 0]
    for block_number, args in rows:
        value = int(args["value"])
        in_month = block_number > after
        if args["from"] == ZERO_ADDRESS:
            minted += value
            if in_month:
                month_mints[0] += 1
                month_mints[1] += value
        if args["to"] == ZERO_ADDRESS:
            burned += value
            if in_month:
                month_burns[0] += 1
                month_burns[1] += value
    return minted, burned, Flow(*month_mints), Flow(*month_burns)


def _reserves(conn: Connection, at: queries.AsOf) -> Reserves | None:
    found = queries.attestations(conn, at)
    if not found:
        return None
    last = found[-1]
    return Reserves(
        last["reserves"], last["supply"], str(last["reference"]), int(last["block"]), str(last["tx"])
    )


def _attestation(session: Session, conn: Connection, month: Month, end: BlockRef) -> Attestation | None:
    """The month's liabilities snapshot (None: not taken) and its ``LiabilitiesAttested`` in the mirror."""
    snapshot = session.scalar(select(LiabilitySnapshot).where(LiabilitySnapshot.period == month.text))
    if snapshot is None:
        return None
    period = month.year * 100 + month.month
    onchain = None
    for block_number, args in conn.execute(
        select(DECODED.c.block_number, DECODED.c.args)
        .where(DECODED.c.contract == ATTESTATION_CONTRACT, DECODED.c.event == "LiabilitiesAttested")
        .order_by(DECODED.c.block_number)
    ):
        if int(args["period"]) == period:
            onchain = int(block_number)
            break
    return Attestation(
        published=snapshot.status == str(SnapshotStatus.CONFIRMED),
        status=snapshot.status,
        root=snapshot.root,
        total=int(snapshot.total),
        snapshot_block=int(snapshot.block_number),
        tx_hash=snapshot.tx_hash or "",
        onchain_block=onchain,
    )


def _settled(session: Session, month: Month) -> list[tuple[str, int, int, str | None]]:
    """(merchant id, sen, 10^-7 Pi, payer or None) of each payment that became ``completed`` in the
    month."""
    moved = (
        select(PaymentStatusChange.payment_id)
        .where(
            PaymentStatusChange.to_status == PaymentStatus.COMPLETED.value,
            PaymentStatusChange.at >= month.start,
            PaymentStatusChange.at < month.end,
        )
        .distinct()
        .subquery()
    )
    rows = session.execute(
        select(Payment.merchant_id, Payment.idr_amount, Payment.pi_amount, Payment.payer_uid).join(
            moved, moved.c.payment_id == Payment.id
        )
    )
    return [(str(m), int(idr), int(pi), payer) for m, idr, pi, payer in rows]


def _merchants(conn: Connection) -> dict[str, tuple[str, bool]]:
    """Merchant id -> (kelurahan code or ``unknown``, simulated)."""
    return {
        str(m): (code or UNKNOWN_KELURAHAN, bool(sim))
        for m, code, sim in conn.execute(
            select(MERCHANTS.c.id, MERCHANTS.c.kelurahan_code, MERCHANTS.c.simulated)
        )
    }


def _per_kelurahan(
    settled: list[tuple[str, int, int, str | None]], merchants: dict[str, tuple[str, bool]]
) -> tuple[KelurahanTotal, ...]:
    """Totals per kelurahan code with settled payments, by code (``unknown`` last)."""
    sums: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    active: dict[str, set[str]] = defaultdict(set)
    for merchant, idr, pi, _payer in settled:
        code = merchants.get(merchant, (UNKNOWN_KELURAHAN, False))[0]
        sums[code][0] += 1
        sums[code][1] += idr
        sums[code][2] += pi
        active[code].add(merchant)
    codes = sorted(sums, key=lambda c: (c == UNKNOWN_KELURAHAN, c))
    return tuple(KelurahanTotal(c, sums[c][0], sums[c][1], sums[c][2], len(active[c])) for c in codes)


def _carbon(conn: Connection, at: queries.AsOf, before: queries.AsOf | None) -> Carbon:
    now = queries.carbon_totals(conn, at)
    then = (
        queries.carbon_totals(conn, before)
        if before is not None
        else {"issued": 0, "retired": 0, "bridged": 0}
    )
    return Carbon(
        issued=now["issued"] - then["issued"],
        retired=now["retired"] - then["retired"],
        bridged=now["bridged"] - then["bridged"],
        issued_total=now["issued"],
        retired_total=now["retired"],
        bridged_total=now["bridged"],
    )


def _anomalies(conn: Connection, month: Month) -> Anomalies:
    flags = ANOMALY_FLAGS.c
    raised = conn.scalar(
        select(func.count()).where(flags.created_at >= month.start, flags.created_at < month.end)
    )
    confirmed = conn.scalar(
        select(func.count()).where(
            flags.status == "confirmed", flags.reviewed_at >= month.start, flags.reviewed_at < month.end
        )
    )
    return Anomalies(int(raised or 0), int(confirmed or 0))


def _reconciliation(conn: Connection, after: int, upto: int) -> Reconciliation:
    runs_table = RECONCILIATION_RUNS.c
    runs = list(
        conn.execute(
            select(runs_table.id, runs_table.ok)
            .where(runs_table.block > after, runs_table.block <= upto, runs_table.finished_at.is_not(None))
            .order_by(runs_table.block, runs_table.id)
        )
    )
    ids = [int(r.id) for r in runs]
    verdicts = (
        list(
            conn.execute(
                select(RECONCILIATION_CHECKS.c.ok).where(RECONCILIATION_CHECKS.c.run_id.in_(ids))
            ).scalars()
        )
        if ids
        else []
    )
    return Reconciliation(
        runs=len(runs),
        failed_runs=sum(1 for r in runs if r.ok is False),
        checks=len(verdicts),
        failed_checks=sum(1 for ok in verdicts if not ok),
        last_run_id=ids[-1] if ids else None,
        last_run_ok=None if not runs else bool(runs[-1].ok),
    )
