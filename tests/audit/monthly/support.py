"""A real chain and mirror for the monthly report: anvil with a genesis three months back, the
platform and its demo, then chosen activity in the test month ``M`` at chosen block times:

* a reserve attestation, two mints and a mint + burn inside ``M``;
* the month's end block ``E``: a mint one second before ``M`` ends (23:59:59 WIB of its last day);
* the block ``E + 1``: a mint at exactly 00:00 WIB of the next month, which must not count;
* the month's liabilities root published on LiabilityAttestation after the month.

Each backend (SQLite and PostgreSQL) gets the same books: ledger entries before and after the
cut, settled payments of three merchants (one simulated, one in no kelurahan) at the month's
edges, anomaly flags and reconciliation runs in and out of the month; then the indexer backfills.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert, update
from sqlalchemy.orm import Session, sessionmaker
from web3 import Web3

from api.merchants.models import Merchant
from audit.liabilities.models import LiabilitySnapshot
from audit.liabilities.publish import Attester, publish_period
from audit.liabilities.service import take_snapshot
from audit.monthly.period import Month, last_ended
from audit.store.models import ANOMALY_FLAGS, RECONCILIATION_CHECKS, RECONCILIATION_RUNS
from chain.sender import TransactionSender
from chain.signer import Signer
from city.kelurahan import KELURAHAN
from common.sql.engine import create_engine_from_url, make_sessionmaker
from common.sql.migrate import upgrade
from settlement.ledger import chart
from settlement.ledger.models import Currency
from settlement.ledger.service import EntryDraft, credit, debit, post
from settlement.payments.models import Payment
from tests.api.support import Db
from tests.audit.reconcile.support import World
from tests.city.lpui.support import Books
from tests.support import mirror

SECRET = b"monthly-report-test-secret-0123456789"
RESERVES = 987_654_321_00
MINT_A, MINT_B, BURNED, MINT_END, MINT_AFTER = 1_000_00, 2_500_00, 400_00, 70_00, 9_99


def month_under_test(now: datetime) -> Month:
    """The month tested: two months before the last ended one (so the next month has ended too)."""
    return last_ended(now).previous().previous()


@dataclass
class Chain:
    """What the test month's activity left on the chain."""

    world: World
    month: Month
    end_block: int
    after_block: int
    reserves_tx: str
    attester: Attester


def at(w3: Web3, moment: datetime) -> None:
    """The next block is mined at ``moment``."""
    w3.provider.make_request("evm_setNextBlockTimestamp", [int(moment.timestamp())])  # type: ignore[arg-type]


def month_activity(world: World, month: Month) -> Chain:
    """The chain activity of the test month (see the module docstring)."""
    platform = world.platform
    w3, msc = platform.w3, platform.msc
    issuer, holder = Signer.dev(0), Signer.dev(3)
    send = TransactionSender(w3, issuer, platform.decoder).transact
    at(w3, month.start + timedelta(days=2))
    receipt: Any = send(msc.functions.attestReserves(RESERVES, "BANK/RESERVES/MONTH"))
    reserves_tx = "0x" + bytes(receipt["transactionHash"]).hex()
    at(w3, month.start + timedelta(days=3))
    send(msc.functions.mint(holder.address, MINT_A))
    at(w3, month.start + timedelta(days=10))
    send(msc.functions.mint(issuer.address, MINT_B))
    at(w3, month.start + timedelta(days=11))
    send(msc.functions.burn(BURNED))
    at(w3, month.end - timedelta(seconds=1))
    send(msc.functions.mint(holder.address, MINT_END))
    end_block = w3.eth.block_number
    at(w3, month.end)
    send(msc.functions.mint(holder.address, MINT_AFTER))
    attester = Attester(w3, platform.contract("LiabilityAttestation"), issuer, platform.decoder)
    return Chain(world, month, end_block, end_block + 1, reserves_tx, attester)


def _owe(session: Session, key: str, merchant: str, sen: int, when: datetime) -> None:
    post(
        session,
        EntryDraft(
            key,
            Currency.IDR,
            "test",
            (debit(chart.FX_CONVERSION_IDR, sen), credit(chart.idr_owed_to_merchant(merchant), sen)),
        ),
        now=when,
    )


@dataclass
class Backend:
    """One database holding the books and the mirror."""

    name: str
    url: str
    engine: Engine
    sessions: sessionmaker[Session]


def seed_books(chain: Chain, name: str, url: str) -> Backend:
    """The books, flags and runs of ``chain``'s month on a fresh database at ``url``."""
    month = chain.month
    upgrade(url)
    engine = create_engine_from_url(url)
    sessions = make_sessionmaker(engine)
    with sessions.begin() as s:
        _owe(s, "owe:in", "m-month", 1_000, month.start + timedelta(days=5))
        _owe(s, "owe:edge", "m-edge", 23, month.end - timedelta(seconds=1))
        _owe(s, "owe:late", "m-late", 77, month.end + timedelta(hours=1))
    books = Books(Db(name, url, engine, sessions))
    kartoharjo = books.merchant(KELURAHAN[0].name)
    pilot = books.merchant(KELURAHAN[1].name)
    nowhere = books.merchant("Luar Kota")
    with sessions.begin() as s:
        s.get_one(Merchant, pilot).simulated = True
    paid = {
        books.pay(kartoharjo, 150_000_00, month.start + timedelta(days=3)): "pioneer-a",
        books.pay(kartoharjo, 25_000_00, month.end - timedelta(seconds=30)): "pioneer-b",
        books.pay(kartoharjo, 99_00, month.end): "pioneer-c",  # settles in the next month
        books.pay(kartoharjo, 11_00, month.start - timedelta(seconds=1)): "pioneer-d",  # previous month
        books.pay(pilot, 42_000_00, month.start + timedelta(days=20)): "pioneer-a",  # a payer of two shops
        books.pay(nowhere, 5_000_00, month.start + timedelta(days=21)): None,  # settled before 0036
    }
    with sessions.begin() as s:  # the payer Pi names, as the settlement flow stores it
        for payment_id, payer in paid.items():
            s.get_one(Payment, payment_id).payer_uid = payer
    inside, after = month.start + timedelta(days=9), month.end + timedelta(days=1)
    with engine.begin() as conn:
        for flag_id, created, status, reviewed in (
            ("f-in-open", inside, "open", None),
            ("f-in-confirmed", inside, "confirmed", inside + timedelta(days=1)),
            ("f-after", after, "confirmed", after),
        ):
            conn.execute(
                insert(ANOMALY_FLAGS).values(
                    id=flag_id,
                    kind="wash_trade",
                    source="rule",
                    score=0.5,
                    reason="",
                    tx_hashes=[],
                    accounts=[],
                    evidence={},
                    block_number=None,
                    status=status,
                    note="",
                    created_at=created,
                    reviewed_at=reviewed,
                    reviewed_by="auditor" if reviewed else None,
                )
            )
        for block, ok, checks in (
            (chain.end_block, False, (True, False)),
            (chain.after_block, True, (True,)),
        ):
            run_id = conn.execute(
                insert(RECONCILIATION_RUNS)
                .values(block=block, started_at=inside, finished_at=inside, ok=ok)
                .returning(RECONCILIATION_RUNS.c.id)
            ).scalar_one()
            for n, verdict in enumerate(checks):
                conn.execute(
                    insert(RECONCILIATION_CHECKS).values(
                        run_id=run_id,
                        block_number=block,
                        check=f"c{n}",
                        subject="",
                        ok=verdict,
                        expected="1",
                        actual="1" if verdict else "2",
                        details={},
                        created_at=inside,
                    )
                )
    return Backend(name, url, engine, sessions)


def publish_liabilities(chain: Chain, backends: list[Backend]) -> None:
    """Publishes the month's root from the first backend's books; the others hold the same
    snapshot (same books, same secret: same root) marked with that publication."""
    at(chain.world.platform.w3, chain.month.end + timedelta(days=1))
    done = publish_period(backends[0].sessions, chain.attester, chain.month.text, SECRET)
    for other in backends[1:]:
        with other.sessions.begin() as s:
            snapshot = take_snapshot(s, chain.month.text, SECRET, done.block_number)
            assert snapshot.root == done.root
            s.execute(
                update(LiabilitySnapshot)
                .where(LiabilitySnapshot.id == snapshot.id)
                .values(status="confirmed", tx_hash=done.tx_hash)
            )


def backfill(chain: Chain, backend: Backend) -> None:
    """Mirrors the whole chain into the backend's database."""
    mirror.backfill(backend.url, chain.world.url, chain.world.deployment_file)


def genesis_for(month: Month) -> int:
    """Anvil's genesis time: 20 days before the test month."""
    return int((month.start - timedelta(days=20)).timestamp())


def utc(seconds: int) -> datetime:
    """A Unix time as a UTC datetime."""
    return datetime.fromtimestamp(seconds, UTC)


MakeUrl = Callable[[], str]
