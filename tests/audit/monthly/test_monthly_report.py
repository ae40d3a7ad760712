"""The monthly report's figures equal the chain, the mirror and the books at the month's end
block, on SQLite and PostgreSQL; the block after it and the entries after its time are left out;
stored write-once; a bad or unready month is refused and stores nothing (CLI included)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from audit.cli import main as audit_main
from audit.monthly.build import build_report
from audit.monthly.figures import MonthlyReport, canonical_json, sha256_of
from audit.monthly.models import MonthlyReportRow
from audit.monthly.period import InvalidMonthError, MonthNotReadyError, parse_month
from audit.monthly.store import get_report, publish
from chain.localnode import AnvilNode
from city.kelurahan import KELURAHAN
from common.sql.helpers import utcnow
from indexer.projections import ZERO_ADDRESS
from indexer.store import BLOCKS, DECODED
from settlement.ledger.models import JournalEntry, LedgerAccount, Posting
from settlement.payments.models import Payment, PaymentStatusChange
from tests.audit.monthly.support import (
    BURNED,
    MINT_A,
    MINT_B,
    MINT_END,
    RESERVES,
    Backend,
    Chain,
    backfill,
    genesis_for,
    month_activity,
    month_under_test,
    publish_liabilities,
    seed_books,
    utc,
)
from tests.audit.reconcile.support import build_world

PORT = 8930
NOW = utcnow()


@pytest.fixture(scope="module")
def chain_and_backends(
    tmp_path_factory: pytest.TempPathFactory, pg_schema_factory: Callable[[], str]
) -> Iterator[tuple[Chain, dict[str, Backend]]]:
    month = month_under_test(NOW)
    folder = tmp_path_factory.mktemp("monthly")
    with AnvilNode(port=PORT, genesis_timestamp=genesis_for(month)) as node:
        chain = month_activity(build_world(node.url, folder), month)
        backends = [
            seed_books(chain, "sqlite", f"sqlite:///{folder / 'monthly.sqlite3'}"),
            seed_books(chain, "postgresql", pg_schema_factory()),
        ]
        publish_liabilities(chain, backends)
        for backend in backends:
            backfill(chain, backend)
        yield chain, {b.name: b for b in backends}
        for backend in backends:
            backend.engine.dispose()


def _report(backend: Backend, month_text: str) -> MonthlyReport:
    with backend.sessions() as session:
        return build_report(session, parse_month(month_text), now=NOW)


def _mirror_supply_flows(session: Session, token: str, first: int, last: int) -> tuple[int, int, int, int]:
    """(mints, minted, burns, burned) over the mirror's MSC Transfer rows of blocks first..last."""
    mints = minted = burns = burned = 0
    for (args,) in session.execute(
        select(DECODED.c.args).where(
            DECODED.c.address == token,
            DECODED.c.event == "Transfer",
            DECODED.c.block_number.between(first, last),
        )
    ):
        if args["from"] == ZERO_ADDRESS:
            mints, minted = mints + 1, minted + int(args["value"])
        if args["to"] == ZERO_ADDRESS:
            burns, burned = burns + 1, burned + int(args["value"])
    return mints, minted, burns, burned


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_figures_equal_the_chain_the_mirror_and_the_books_at_the_end_block(
    chain_and_backends: tuple[Chain, dict[str, Backend]], backend: str
) -> None:
    chain, backends = chain_and_backends
    db = backends[backend]
    month = chain.month
    w3, platform = chain.world.platform.w3, chain.world.platform
    report = _report(db, month.text)
    end = chain.end_block

    # The end block: the last one before 00:00 WIB of the next month; the next block is after it.
    assert report.end_block.number == end
    assert report.end_block.timestamp == int((month.end - timedelta(seconds=1)).timestamp())
    assert report.end_block.hash == "0x" + bytes(w3.eth.get_block(end)["hash"]).hex()
    assert w3.eth.get_block(end + 1)["timestamp"] == int(month.end.timestamp())

    # Chain figures, from the node at the end block.
    assert report.msc_supply == platform.msc.functions.totalSupply().call(block_identifier=end)
    assert report.msc_supply == report.mints_total - report.burns_total
    assert report.escrow_outstanding == platform.escrow.functions.totals().call(block_identifier=end)[0]
    assert report.reserves is not None
    assert (report.reserves.reserves, report.reserves.reference) == (RESERVES, "BANK/RESERVES/MONTH")
    assert report.reserves.tx_hash == chain.reserves_tx

    # Mints and burns of the month: the mirror's rows of blocks after the previous end block up to
    # the end block; the mint at 00:00 WIB of the next month (block end + 1) is not among them.
    with db.sessions() as s:
        token = str(
            s.scalar(select(DECODED.c.address).where(DECODED.c.contract == "MadiunStableCoin").limit(1))
        )
        previous_end = s.scalar(
            select(func.max(BLOCKS.c.number)).where(BLOCKS.c.timestamp < int(month.start.timestamp()))
        )
        assert previous_end is not None
        in_month = _mirror_supply_flows(s, token, previous_end + 1, end)
        upto = _mirror_supply_flows(s, token, 0, end)
    assert in_month == (3, MINT_A + MINT_B + MINT_END, 1, BURNED)
    assert (report.mints.count, report.mints.amount, report.burns.count, report.burns.amount) == in_month
    assert (report.mints_total, report.burns_total) == (upto[1], upto[3])

    # Carbon: every issue, retirement and bridge-back in the mirror up to the end block.
    with db.sessions() as s:
        tonnes = {"CreditsIssued": 0, "CreditsRetired": 0, "BridgeBackConfirmed": 0}
        for event, args in s.execute(
            select(DECODED.c.event, DECODED.c.args).where(
                DECODED.c.event.in_(tuple(tonnes)), DECODED.c.block_number <= end
            )
        ):
            tonnes[event] += int(args["tonnes"])
    carbon = report.carbon
    assert tonnes["CreditsIssued"] > 0
    assert (carbon.issued_total, carbon.retired_total, carbon.bridged_total) == (
        tonnes["CreditsIssued"],
        tonnes["CreditsRetired"],
        tonnes["BridgeBackConfirmed"],
    )
    assert (carbon.issued, carbon.retired, carbon.bridged) == (0, 0, 0)  # all in the month before

    # The books cut at the end block's time: entries posted later (77 sen, the demo's) are out.
    with db.sessions() as s:
        moment = utc(report.end_block.timestamp)
        owed = -int(
            s.scalar(
                select(func.sum(Posting.amount))
                .join(LedgerAccount, LedgerAccount.id == Posting.account_id)
                .join(JournalEntry, JournalEntry.id == Posting.entry_id)
                .where(LedgerAccount.code.like("idr_owed_to_merchant:%"), JournalEntry.posted_at <= moment)
            )
            or 0
        )
        cut = s.scalar(select(func.max(JournalEntry.id)).where(JournalEntry.posted_at <= moment))
    liabilities = report.liabilities
    assert owed == 1_023
    assert (liabilities.credited_not_minted, liabilities.total, liabilities.merchants) == (owed, owed, 2)
    assert liabilities.ledger_entry_id == cut

    # Settled payments: those whose move to completed is inside the month's WIB bounds.
    with db.sessions() as s:
        settled = s.execute(
            select(Payment.merchant_id, Payment.idr_amount, Payment.pi_amount)
            .join(PaymentStatusChange, PaymentStatusChange.payment_id == Payment.id)
            .where(
                PaymentStatusChange.to_status == "completed",
                PaymentStatusChange.at >= month.start,
                PaymentStatusChange.at < month.end,
            )
        ).all()
    assert len(settled) == 4
    assert report.settled_payments == 4
    assert (
        report.settled_idr == sum(int(r[1]) for r in settled) == 150_000_00 + 25_000_00 + 42_000_00 + 5_000_00
    )
    assert report.settled_pi == sum(int(r[2]) for r in settled) > 0
    assert report.active_merchants == len({r[0] for r in settled}) == 3
    assert report.payers == 2  # pioneer-a (two shops) and pioneer-b; one payment's payer unknown
    rows = {k.code: (k.payments, k.idr, k.merchants) for k in report.kelurahan}
    assert rows == {
        KELURAHAN[0].code: (2, 175_000_00, 1),
        KELURAHAN[1].code: (1, 42_000_00, 1),
        "unknown": (1, 5_000_00, 1),
    }
    assert [k.code for k in report.kelurahan][-1] == "unknown"
    assert sum(k.payments for k in report.kelurahan) == 4
    assert sum(k.idr for k in report.kelurahan) == report.settled_idr
    assert report.simulated is True

    # Audit: flags raised / confirmed in the month; runs at blocks of the month only.
    assert (report.anomalies.raised, report.anomalies.confirmed) == (2, 1)
    recon = report.reconciliation
    assert (recon.runs, recon.failed_runs, recon.checks, recon.failed_checks, recon.last_run_ok) == (
        1,
        1,
        2,
        1,
        False,
    )

    # The month's liabilities root as published on chain (the mirror holds its event).
    attestation = report.attestation
    assert attestation is not None and attestation.published
    events = chain.attester.contract.events.LiabilitiesAttested.get_logs(from_block=0)
    assert len(events) == 1
    assert attestation.root == "0x" + bytes(events[0]["args"]["root"]).hex()
    assert attestation.total == events[0]["args"]["total"]
    assert attestation.tx_hash == "0x" + bytes(events[0]["transactionHash"]).hex()
    assert attestation.onchain_block == events[0]["blockNumber"]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_previous_month_and_this_one_add_up(
    chain_and_backends: tuple[Chain, dict[str, Backend]], backend: str
) -> None:
    chain, backends = chain_and_backends
    before = _report(backends[backend], chain.month.previous().text)
    this = _report(backends[backend], chain.month.text)
    assert before.end_block.number < this.end_block.number
    assert before.mints.amount + this.mints.amount == this.mints_total
    assert before.burns.amount + this.burns.amount == this.burns_total
    assert before.carbon.issued == this.carbon.issued_total > 0
    assert before.attestation is None  # no snapshot taken for that month: "not published"
    assert before.settled_payments == 1 and before.settled_idr == 11_00


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_stored_once_and_a_bad_or_unready_month_stores_nothing(
    chain_and_backends: tuple[Chain, dict[str, Backend]], backend: str
) -> None:
    chain, backends = chain_and_backends
    db = backends[backend]
    for bad in (chain.month.next(), parse_month("2999-01")):  # mirror not there / not ended
        with pytest.raises(MonthNotReadyError):
            publish(db.sessions, bad, now=NOW)
    with pytest.raises(InvalidMonthError):
        parse_month("2026-13")
    with db.sessions() as s:
        assert s.scalar(select(func.count()).select_from(MonthlyReportRow)) == 0
    stored, new = publish(db.sessions, chain.month, now=NOW)
    assert new and stored.sha256 == sha256_of(canonical_json(_report(db, chain.month.text).to_json()))
    again, new_again = publish(db.sessions, chain.month, now=NOW)
    assert not new_again and again == stored
    with db.sessions() as s:
        assert get_report(s, chain.month.text) == stored
        assert s.scalar(select(func.count()).select_from(MonthlyReportRow)) == 1
        s.execute(MonthlyReportRow.__table__.delete())  # type: ignore[attr-defined]
        s.commit()


def test_the_cli_builds_once_and_refuses_bad_months(
    chain_and_backends: tuple[Chain, dict[str, Backend]], capsys: pytest.CaptureFixture[str]
) -> None:
    chain, backends = chain_and_backends
    url = backends["sqlite"].url
    # "last" is the last ended month: the mirror ends one day into the month after the tested one.
    for bad in ("2026-13", "last-ish", chain.month.next().text, "2999-01", "last"):
        assert audit_main(["monthly", "build", "--month", bad, "--database-url", url]) == 2
        assert "error:" in capsys.readouterr().err
    with backends["sqlite"].sessions() as s:
        assert s.scalar(select(func.count()).select_from(MonthlyReportRow)) == 0
    assert audit_main(["monthly", "build", "--month", chain.month.text, "--database-url", url]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["new"] is True and first["end_block"] == chain.end_block
    assert first["figures"]["msc_supply"] == str(_report(backends["sqlite"], chain.month.text).msc_supply)
    assert audit_main(["monthly", "build", "--month", chain.month.text, "--database-url", url]) == 0
    second = json.loads(capsys.readouterr().out)
    assert second["new"] is False and second["sha256"] == first["sha256"]
    assert second["figures"] == first["figures"]
    with backends["sqlite"].sessions() as s:
        s.execute(MonthlyReportRow.__table__.delete())  # type: ignore[attr-defined]
        s.commit()
