"""The mint's linger: ``payments.mint`` waits for a batch to fill (``MSC_WORKER_MINT_MIN_BATCH``) or
for its oldest payment to wait long enough (``MSC_WORKER_MINT_LINGER_SECONDS``), on a real anvil,
on SQLite and PostgreSQL; and the decision rule itself as a property."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update
from web3 import Web3

from common.errors import ConfigurationError
from settlement.ledger.sql import utcnow
from settlement.minting.minter import EscrowMinter
from settlement.minting.models import EscrowHolding, MintBatch
from settlement.payments.models import Payment
from settlement.workers import steps
from settlement.workers.assembly import base_context, with_components
from settlement.workers.context import WorkerContext
from settlement.workers.settings import WorkerSettings
from tests.settlement.minting.support import (
    Chain,
    Db,
    make_pending,
    merchant_map,
    open_db,
    resolver,
    statuses,
)
from tests.settlement.workers.support import Stack

ANVIL_PORT = 8722


class CrashAfterClaimError(Exception):
    """Raised by the observer: the minter dies right after its batch record commits."""


@pytest.fixture(params=("sqlite", "postgresql"))
def db(request: pytest.FixtureRequest, tmp_path: Path, pg_schema_factory: Callable[[], str]) -> Iterator[Db]:
    """A fresh migrated database per test, so each test sees only its own pending payments."""
    url = f"sqlite:///{tmp_path / 'linger.sqlite3'}" if request.param == "sqlite" else pg_schema_factory()
    database = open_db(str(request.param), url)
    yield database
    database.engine.dispose()


@pytest.fixture
def merchants() -> dict[str, str]:
    return merchant_map(3)


def context(
    db: Db, stack: Stack, merchants: dict[str, str], environ: dict[str, str], **minter_kwargs: object
) -> WorkerContext:
    """A worker context on ``db`` with the mint settings of ``environ`` (wired as a worker process
    wires them) and an escrow minter on the stack's chain."""
    ctx = with_components(base_context(db.sessions, WorkerSettings.from_env(environ)), environ)
    chain = stack.chain
    ctx.minter = EscrowMinter(
        db.sessions,
        chain.platform,
        chain.sender(chain.depositor),
        merchant_addresses=resolver(merchants),
        **minter_kwargs,  # type: ignore[arg-type]
    )
    return ctx


def lingering(min_batch: int, linger_seconds: float) -> dict[str, str]:
    return {
        "MSC_WORKER_MINT_MIN_BATCH": str(min_batch),
        "MSC_WORKER_MINT_LINGER_SECONDS": str(linger_seconds),
    }


def nonce(chain: Chain) -> int:
    """Transactions sent so far by the escrow depositor."""
    return chain.w3.eth.get_transaction_count(Web3.to_checksum_address(chain.depositor.address))


def batches_of(db: Db, ids: list[uuid.UUID]) -> dict[uuid.UUID, list[str]]:
    """The batches holding any of ``ids``: their depositBatch transaction hashes."""
    with db.sessions() as session:
        held = select(EscrowHolding.batch_id).where(EscrowHolding.payment_id.in_(ids))
        batch_ids = set(session.scalars(held))
        rows = session.scalars(select(MintBatch).where(MintBatch.id.in_(batch_ids)))
        return {b.id: list(b.deposit_tx_hashes) for b in rows}


def age(db: Db, ids: list[uuid.UUID], seconds: float) -> None:
    """Moves the payments' ``pending_stellar`` time ``seconds`` into the past."""
    with db.sessions.begin() as session:
        then = utcnow() - timedelta(seconds=seconds)
        session.execute(update(Payment).where(Payment.id.in_(ids)).values(updated_at=then))


def test_the_mint_settings_default_to_minting_at_once_and_refuse_nonsense(db: Db) -> None:
    defaults = WorkerSettings.from_env({})
    assert (defaults.worker_mint_min_batch, defaults.worker_mint_linger_seconds) == (1, 0.0)
    wired = with_components(base_context(db.sessions, defaults), lingering(100, 2.5))
    assert (wired.mint_min_batch, wired.mint_linger_seconds) == (100, 2.5)
    for bad in (lingering(0, 1.0), lingering(10, -0.1)):
        with pytest.raises(ConfigurationError):
            WorkerSettings.from_env(bad)


@settings(max_examples=300, deadline=None)
@given(
    waiting=st.integers(min_value=0, max_value=2_000),
    age_s=st.floats(min_value=0, max_value=1e6, allow_nan=False),
    min_batch=st.integers(min_value=1, max_value=1_000),
    linger_s=st.floats(min_value=0, max_value=1e6, allow_nan=False),
    more=st.integers(min_value=0, max_value=100),
    later=st.floats(min_value=0, max_value=1e3, allow_nan=False),
)
def test_a_batch_is_due_iff_it_is_full_or_its_oldest_payment_lingered_long_enough(
    waiting: int, age_s: float, min_batch: int, linger_s: float, more: int, later: float
) -> None:
    due = steps.mint_is_due(waiting, age_s, min_batch, linger_s)
    assert due == (waiting >= min_batch or (waiting > 0 and age_s >= linger_s))
    if due:  # more payments or more waiting never take a due batch back
        assert steps.mint_is_due(waiting + more, age_s + later, min_batch, linger_s)
    assert not steps.mint_is_due(0, age_s, min_batch, linger_s)  # nothing waits, nothing to mint
    assert steps.mint_is_due(waiting, age_s, 1, 0.0) == (waiting > 0)  # the defaults: at once


def test_below_the_min_batch_and_younger_than_the_linger_nothing_is_minted(
    db: Db, stack: Stack, merchants: dict[str, str]
) -> None:
    ctx = context(db, stack, merchants, lingering(5, 60))
    ids = make_pending(db.sessions, list(merchants), 3, book=False)
    before = nonce(stack.chain)

    result = steps.mint_pending(ctx)

    assert result.outcome.startswith("lingering: 3 pending, oldest "), result.outcome
    assert result.outcome.endswith("< 60.0s"), result.outcome
    assert statuses(db.sessions, ids) == {"pending_stellar": 3}
    assert batches_of(db, ids) == {}  # not even claimed
    assert nonce(stack.chain) == before


def test_reaching_the_min_batch_mints_the_waiting_payments_in_one_transaction(
    db: Db, stack: Stack, merchants: dict[str, str]
) -> None:
    ctx = context(db, stack, merchants, lingering(5, 60))
    ids = make_pending(db.sessions, list(merchants), 4, book=False)
    assert steps.mint_pending(ctx).outcome.startswith("lingering: 4 pending")

    ids += make_pending(db.sessions, list(merchants), 1, book=False)  # the fifth fills the batch
    result = steps.mint_pending(ctx)

    assert result.outcome.startswith("minted: "), result.outcome
    assert statuses(db.sessions, ids) == {"completed": 5}
    batches = batches_of(db, ids)
    assert len(batches) == 1 and [len(hashes) for hashes in batches.values()] == [1], batches
    assert all(stack.chain.escrow_record(pid)[1] > 0 for pid in ids)


def test_a_small_batch_is_minted_once_its_oldest_payment_has_lingered(
    db: Db, stack: Stack, merchants: dict[str, str]
) -> None:
    ctx = context(db, stack, merchants, lingering(100, 30))
    ids = make_pending(db.sessions, list(merchants), 3, book=False)
    assert steps.mint_pending(ctx).outcome.startswith("lingering: 3 pending")

    age(db, ids[:1], 31)  # only the oldest has waited out the linger; the batch takes all three
    result = steps.mint_pending(ctx)

    assert result.outcome.startswith("minted: "), result.outcome
    assert statuses(db.sessions, ids) == {"completed": 3}
    assert len(batches_of(db, ids)) == 1


def test_the_remainder_of_a_full_batch_waits_when_it_is_small_and_young(
    db: Db, stack: Stack, merchants: dict[str, str]
) -> None:
    environ = {**lingering(4, 60), "MSC_WORKER_MINT_BATCH": "4"}
    ctx = context(db, stack, merchants, environ)
    ids = make_pending(db.sessions, list(merchants), 10, book=False)

    result = steps.mint_pending(ctx)

    # Two full batches of four go; the last two are below the min batch and young.
    assert result.outcome.startswith("minted: "), result.outcome
    assert "; lingering: 2 pending, oldest " in result.outcome, result.outcome
    assert statuses(db.sessions, ids) == {"completed": 8, "pending_stellar": 2}
    assert len(batches_of(db, ids)) == 2


def test_the_defaults_mint_at_once_as_before(db: Db, stack: Stack, merchants: dict[str, str]) -> None:
    ctx = context(db, stack, merchants, {})
    assert (ctx.mint_min_batch, ctx.mint_linger_seconds) == (1, 0.0)
    one = make_pending(db.sessions, list(merchants), 1, book=False)
    before = nonce(stack.chain)

    assert steps.mint_pending(ctx).outcome.startswith("minted: ")

    assert statuses(db.sessions, one) == {"completed": 1}
    assert nonce(stack.chain) > before
    assert steps.mint_pending(ctx).outcome == "nothing to mint"


def test_a_batch_left_open_by_a_crash_is_recovered_without_lingering(
    db: Db, stack: Stack, merchants: dict[str, str]
) -> None:
    def crash(step: str, _batch: uuid.UUID) -> None:
        if step == "recorded":
            raise CrashAfterClaimError(step)

    crashing = context(db, stack, merchants, {}, observer=crash)
    ids = make_pending(db.sessions, list(merchants), 2, book=False)
    with pytest.raises(CrashAfterClaimError):
        steps.mint_pending(crashing)
    assert len(batches_of(db, ids)) == 1 and statuses(db.sessions, ids) == {"pending_stellar": 2}

    # Far below the min batch and young, but claimed: the open batch is finished at once.
    result = steps.mint_pending(context(db, stack, merchants, lingering(100, 60)))

    assert result.outcome.startswith("minted: "), result.outcome
    assert statuses(db.sessions, ids) == {"completed": 2}
