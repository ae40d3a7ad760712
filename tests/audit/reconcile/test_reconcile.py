"""Reconciliation on a real mirror: all checks pass, and each deliberate break is caught and reported.

One anvil (port 8750) with the platform and its activity; mirrors backfilled into SQLite and
PostgreSQL. Every break is undone after its run, so the tests share the module's mirror.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, delete, select, update

from audit.cli import main
from audit.reconcile.alerts import Alerter
from audit.reconcile.checks import default_checks
from audit.reconcile.metrics import AuditMetrics
from audit.reconcile.runner import reconcile_once
from audit.store.models import ReconciliationCheck, ReconciliationRun
from chain.localnode import AnvilNode
from common.errors import ValidationError
from indexer.models import CarbonRetirement, EscrowPayment, TokenBalance
from launcher.demo import DEMO_ESCROWED
from settlement.ledger.models import JournalEntry, LedgerAccount, Posting
from tests.audit.reconcile.support import (
    BUILD,
    HELD,
    REDEEMED,
    AlertReceiver,
    World,
    build_mirror,
    build_world,
)

PORT = 8750
ESCROW_BOOKS_CHECKS = {
    "escrow_books_released",
    "escrow_books_refunded",
    "escrow_books_split_to_merchant",
    "escrow_books_split_to_payer",
    "escrow_books_default_refunded",
    "escrow_books_guarantee_paid",
    "escrow_books_held",
    "escrow_books_guarantee_fund",
}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with AnvilNode(port=PORT) as node:
        yield build_world(node.url, tmp_path_factory.mktemp("world"))


@pytest.fixture(scope="module")
def mirrors(
    world: World, tmp_path_factory: pytest.TempPathFactory, pg_schema_factory: Callable[[], str]
) -> Iterator[dict[str, Engine]]:
    folder: Path = tmp_path_factory.mktemp("mirror")
    engines = {
        "sqlite": build_mirror(world, f"sqlite:///{folder / 'mirror.sqlite3'}"),
        "postgresql": build_mirror(world, pg_schema_factory()),
    }
    yield engines
    for engine in engines.values():
        engine.dispose()


@pytest.fixture(scope="module")
def receiver() -> Iterator[AlertReceiver]:
    yield from AlertReceiver().serve()


def run(world: World, engine: Engine, receiver: AlertReceiver | None = None) -> tuple[Any, AuditMetrics]:
    metrics = AuditMetrics()
    alerter = Alerter(metrics, receiver.url if receiver else None)
    report = reconcile_once(engine, world.platform, metrics=metrics, alerter=alerter)
    return report, metrics


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_every_check_passes_on_a_faithful_mirror(
    world: World, mirrors: dict[str, Engine], backend: str
) -> None:
    engine = mirrors[backend]
    report, metrics = run(world, engine)

    assert report.ok, [r.to_dict() for r in report.failed]
    names = {r.check for r in report.results}
    assert names == {
        "msc_supply_matches_balances",
        "msc_supply_mirror_matches_chain",
        "msc_supply_within_reserves",
        "escrow_mirror_matches_chain",
        "escrow_ledger_matches_chain",
        "minted_to_escrow_ledger_matches_chain",
        "burned_ledger_matches_chain",
        "carbon_supply_balanced",
        "carbon_retired_matches_chain",
        *ESCROW_BOOKS_CHECKS,
    }
    by_name = {r.check: r for r in report.results}
    supply = world.platform.msc.functions.totalSupply().call(block_identifier=report.block)
    assert by_name["msc_supply_matches_balances"].actual == supply > 0
    assert by_name["escrow_ledger_matches_chain"].actual == HELD
    assert by_name["burned_ledger_matches_chain"].expected == REDEEMED
    assert by_name["carbon_supply_balanced"].expected == 1_200
    assert by_name["carbon_retired_matches_chain"].actual == 120
    assert by_name["escrow_books_released"].actual == DEMO_ESCROWED
    assert by_name["escrow_books_held"].actual == HELD
    assert not report.alerted
    assert metrics.registry.get_sample_value("msc_supply_sen") == supply
    assert metrics.registry.get_sample_value("msc_escrow_outstanding_sen") == HELD
    token = by_name["carbon_retired_matches_chain"].subject
    assert metrics.registry.get_sample_value("msc_carbon_retired_tonnes", {"token_id": token}) == 120
    assert metrics.registry.get_sample_value("msc_reserves_attested_sen") >= supply
    with engine.connect() as conn:
        stored = conn.execute(select(ReconciliationRun).where(ReconciliationRun.id == report.run_id)).one()
        rows = conn.execute(
            select(ReconciliationCheck.check, ReconciliationCheck.ok).where(
                ReconciliationCheck.run_id == report.run_id
            )
        ).all()
    assert stored.ok is True and stored.finished_at is not None and stored.block == report.block
    assert len(rows) == len(report.results) and all(ok for _, ok in rows)


def test_a_block_other_than_the_mirrors_is_refused_and_nothing_is_stored(
    world: World, mirrors: dict[str, Engine]
) -> None:
    engine = mirrors["sqlite"]
    with engine.connect() as conn:
        before = conn.execute(select(ReconciliationRun.id)).all()
    with pytest.raises(ValidationError, match="mirror holds balances as of block"):
        reconcile_once(engine, world.platform, block=1, checks=default_checks())
    with engine.connect() as conn:
        assert conn.execute(select(ReconciliationRun.id)).all() == before


def _remove_balance_row(conn: Any) -> Callable[[Any], None]:
    row = conn.execute(select(TokenBalance).where(TokenBalance.balance > 0).limit(1)).one()
    conn.execute(delete(TokenBalance).where(TokenBalance.account == row.account))
    return lambda c: c.execute(
        TokenBalance.__table__.insert().values(token=row.token, account=row.account, balance=row.balance)
    )


def _change_escrow_amount(conn: Any) -> Callable[[Any], None]:
    row = conn.execute(select(EscrowPayment).where(EscrowPayment.status == "held")).one()
    conn.execute(
        update(EscrowPayment).where(EscrowPayment.payment_id == row.payment_id).values(held=row.held - 100)
    )
    return lambda c: c.execute(
        update(EscrowPayment).where(EscrowPayment.payment_id == row.payment_id).values(held=row.held)
    )


def _alter_ledger_posting(conn: Any) -> Callable[[Any], None]:
    posting = conn.execute(
        select(Posting.id, Posting.amount)
        .join(LedgerAccount, LedgerAccount.id == Posting.account_id)
        .join(JournalEntry, JournalEntry.id == Posting.entry_id)
        .where(JournalEntry.idempotency_key == "payment:p2:msc_minted_to_escrow:IDR", Posting.amount < 0)
    ).one()
    conn.execute(update(Posting).where(Posting.id == posting.id).values(amount=posting.amount + 250))
    return lambda c: c.execute(update(Posting).where(Posting.id == posting.id).values(amount=posting.amount))


def _alter_release_posting(conn: Any) -> Callable[[Any], None]:
    """The books credit the merchant less than the escrow released (an outcome booked wrong)."""
    posting = conn.execute(
        select(Posting.id, Posting.amount)
        .join(JournalEntry, JournalEntry.id == Posting.entry_id)
        .where(JournalEntry.idempotency_key == "payment:p1:release:IDR", Posting.amount < 0)
    ).one()
    conn.execute(update(Posting).where(Posting.id == posting.id).values(amount=posting.amount + 1))
    return lambda c: c.execute(update(Posting).where(Posting.id == posting.id).values(amount=posting.amount))


def _drop_retirement_row(conn: Any) -> Callable[[Any], None]:
    row = conn.execute(select(CarbonRetirement.__table__)).one()
    conn.execute(delete(CarbonRetirement).where(CarbonRetirement.certificate_id == row.certificate_id))
    return lambda c: c.execute(CarbonRetirement.__table__.insert().values(**row._mapping))


BREAKS: dict[str, tuple[Callable[[Any], Callable[[Any], None]], set[str]]] = {
    "balance_row_removed": (_remove_balance_row, {"msc_supply_matches_balances"}),
    "escrow_amount_changed": (_change_escrow_amount, {"escrow_mirror_matches_chain", "escrow_books_held"}),
    "ledger_posting_altered": (
        _alter_ledger_posting,
        {"escrow_ledger_matches_chain", "minted_to_escrow_ledger_matches_chain", "escrow_books_held"},
    ),
    "release_booked_short": (_alter_release_posting, {"escrow_books_released"}),
    "retirement_row_dropped": (
        _drop_retirement_row,
        {"carbon_supply_balanced", "carbon_retired_matches_chain"},
    ),
}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
@pytest.mark.parametrize("name", sorted(BREAKS))
def test_a_deliberate_break_is_detected_stored_counted_and_posted(
    world: World, mirrors: dict[str, Engine], receiver: AlertReceiver, backend: str, name: str
) -> None:
    engine = mirrors[backend]
    breaker, expected_failures = BREAKS[name]
    with engine.begin() as conn:
        restore = breaker(conn)
    try:
        receiver.received.clear()
        report, metrics = run(world, engine, receiver)
    finally:
        with engine.begin() as conn:
            restore(conn)

    failed = {r.check for r in report.failed}
    assert failed == expected_failures
    assert report.alerted
    for check in expected_failures:
        assert metrics.registry.get_sample_value("msc_reconciliation_failures_total", {"check": check}) >= 1
    with engine.connect() as conn:
        stored = conn.execute(
            select(ReconciliationCheck).where(
                ReconciliationCheck.run_id == report.run_id, ReconciliationCheck.ok.is_(False)
            )
        ).all()
        run_ok = conn.execute(
            select(ReconciliationRun.ok).where(ReconciliationRun.id == report.run_id)
        ).scalar()
    assert run_ok is False
    assert {row.check for row in stored} == expected_failures
    for row in stored:
        assert row.expected != row.actual
        assert int(row.expected) - int(row.actual) != 0
    (alert,) = receiver.received
    assert alert["path"] == "/alerts"
    assert alert["body"]["run_id"] == report.run_id
    assert {f["check"] for f in alert["body"]["failed"]} == expected_failures
    assert {(f["expected"], f["actual"]) for f in alert["body"]["failed"]} == {
        (row.expected, row.actual) for row in stored
    }
    # Restored: the mirror is faithful again.
    assert run(world, engine)[0].ok


def test_the_cli_reconciles_and_exits_non_zero_with_an_alert_on_a_break(
    world: World, mirrors: dict[str, Engine], receiver: AlertReceiver, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = mirrors["sqlite"]
    chain_args = [
        "--database-url",
        engine.url.render_as_string(hide_password=False),
        "--rpc-url",
        world.url,
        "--deployment-file",
        str(world.deployment_file),
        "--build-dir",
        str(BUILD),
    ]
    assert main(["reconcile", *chain_args]) == 0
    out = capsys.readouterr().out
    assert "all checks passed" in out and "ok   carbon_supply_balanced" in out
    assert main(["reconcile", "--block", "1", *chain_args]) == 2
    assert "mirror holds balances as of block" in capsys.readouterr().err

    with engine.begin() as conn:
        restore = _drop_retirement_row(conn)
    try:
        receiver.received.clear()
        status = main(["reconcile", "--alert-webhook-url", receiver.url, *chain_args])
    finally:
        with engine.begin() as conn:
            restore(conn)
    assert status == 1
    out = capsys.readouterr().out
    assert "FAIL carbon_retired_matches_chain" in out and "2 check(s) FAILED" in out
    (alert,) = receiver.received
    assert {f["check"] for f in alert["body"]["failed"]} == {
        "carbon_supply_balanced",
        "carbon_retired_matches_chain",
    }
