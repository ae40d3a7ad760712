"""The LPUI and the LDCI count MSC paid straight to merchants' wallets, read from the chain mirror of
a real chain.

A small pilot (4 UMKM over 3 days) runs on anvil started at the pilot's first day: its Pi half
through the settlement services into the books, its MSC half as customers' transfers to the
merchants' wallets (:mod:`launcher.pilot_chain`). After the last sale, on the same day, the chain
also gets what is not a payment to a merchant — a mint straight to a merchant's wallet, a release
from the escrow to a merchant, a merchant paying itself, a payment to a wallet no merchant
registered — and one more real payment from an ordinary wallet. The indexer mirrors the chain into
SQLite and PostgreSQL; the LPUI's inputs per kelurahan and day must be exactly the plan's draws
(Pi sales + MSC sales) plus that one payment, and so must one merchant's LDCI inputs.
"""

from __future__ import annotations

import shutil
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker
from web3 import Web3

from api.merchants.models import Merchant
from chain.deploy import DeployPlan, deploy_platform
from chain.localnode import AnvilNode
from chain.platform import Platform
from chain.sender import TransactionSender
from chain.settings import PROJECT_ROOT
from chain.signer import Signer
from city.credit.inputs import read_inputs
from city.kelurahan import KELURAHAN
from city.lpui.compute import compute_range, daily_totals
from city.lpui.settings import LpuiSettings
from common.sql.engine import create_engine_from_url, make_sessionmaker
from common.sql.migrate import upgrade
from launcher.pilot import JAKARTA, STEP, Pilot, PilotPlan, merchant_data, sales
from launcher.pilot_chain import PilotChain, PilotChainError, pilot_genesis
from launcher.pilot_demo import move_to_demo_time
from settlement.minting.ids import escrow_payment_id
from settlement.payments.models import Payment
from tests.support.mirror import backfill

PORT = 8905
BUILD = PROJECT_ROOT / "build"
PLAN = PilotPlan(merchants=4, days=3, seed=7, end=date(2026, 6, 4))
LAST_DAY = PLAN.end - timedelta(days=1)
EXTRA = 12_345_00
"""The ordinary wallet's payment to merchant 3 (sen)."""

pytestmark = pytest.mark.skipif(shutil.which("anvil") is None, reason="anvil (npm) is needed")


@dataclass(frozen=True)
class World:
    """The chain after the pilot and the extras."""

    url: str
    platform: Platform
    deployment_file: Path
    wallets: list[str]
    books: Engine
    """The SQLite books whose Pi payments the chain's escrow holds."""


def _evening(minute: int) -> int:
    """22:MM Jakarta on the pilot's last day (after its last sale, before midnight)."""
    return int(datetime.combine(LAST_DAY, time(22, minute), JAKARTA).timestamp())


def _extras(platform: Platform, wallets: list[str]) -> None:
    """After the pilot, on its last day: four transfers that are not payments to a merchant and one
    that is."""
    w3, msc, escrow = platform.w3, platform.msc, platform.escrow
    issuer, customer, stranger = Signer.dev(0), Signer.dev(3), Signer.dev(5)
    send = TransactionSender(w3, issuer, platform.decoder).transact
    minute = iter(range(60))

    def at_next_minute() -> None:
        w3.provider.make_request("evm_setNextBlockTimestamp", [_evening(next(minute))])  # type: ignore[arg-type]

    at_next_minute()
    send(msc.functions.attestReserves(msc.functions.totalSupply().call() + 100_000_00, "LPUI/TEST"))
    at_next_minute()
    send(msc.functions.configureMinter(issuer.address, 100_000_00))
    at_next_minute()
    send(msc.functions.mint(wallets[0], 1_000_00))  # a mint: MSC entering circulation
    at_next_minute()
    send(msc.functions.mint(issuer.address, 2_000_00))
    at_next_minute()
    send(msc.functions.approve(escrow.address, 2_000_00))
    at_next_minute()
    payment = Web3.keccak(text="lpui-mirror-escrowed")
    send(escrow.functions.deposit(payment, wallets[1], customer.address, 2_000_00, 0))
    at_next_minute()
    TransactionSender(w3, customer, platform.decoder).transact(escrow.functions.release(payment))  # a release
    at_next_minute()
    w3.provider.make_request("anvil_impersonateAccount", [wallets[2]])  # type: ignore[arg-type]
    w3.provider.make_request("anvil_setBalance", [wallets[2], hex(10**18)])  # type: ignore[arg-type]
    msc.functions.transfer(wallets[2], 1_00).transact({"from": wallets[2]})  # to itself
    at_next_minute()
    send(msc.functions.mint(stranger.address, EXTRA + 3_00))
    at_next_minute()
    as_stranger = TransactionSender(w3, stranger, platform.decoder).transact
    as_stranger(msc.functions.transfer(Signer.dev(6).address, 3_00))  # to no merchant
    at_next_minute()
    as_stranger(msc.functions.transfer(wallets[3], EXTRA))  # a payment: counted


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """Anvil from the pilot's first day, the platform deployed, the pilot's books in SQLite and its
    MSC sales and Pi payments' escrow deposits on the chain, then the extras."""
    folder = tmp_path_factory.mktemp("lpui-mirror")
    books = f"sqlite:///{folder / 'books.sqlite3'}"
    upgrade(books)
    engine = create_engine_from_url(books)
    with AnvilNode(port=PORT, genesis_timestamp=pilot_genesis(PLAN)) as node:
        w3 = Web3(Web3.HTTPProvider(node.url, request_kwargs={"timeout": 60}))
        out = folder / "deployment.json"
        platform = Platform(w3, deploy_platform(w3, BUILD, DeployPlan(Signer.dev(0).address), out), BUILD)
        wallets = [str(merchant_data(PLAN, i).evm_address) for i in range(PLAN.merchants)]
        pilot = Pilot(make_sessionmaker(engine), PLAN)
        paid_in_pi = list(
            zip(
                [s for s in sales(PLAN) if s.in_pi],
                [uuid.UUID(i) for i in pilot.run().payment_ids],
                strict=True,
            )
        )
        issuer = Signer.dev(0).address
        # A small gas budget per block, so the mornings' mints and busy hours spill into more blocks.
        chain = PilotChain(node.url, platform.msc.address, platform.escrow.address, issuer, block_gas=400_000)
        summary = chain.run(PLAN, wallets, pilot.payer_uid, paid_in_pi)
        assert summary.transfers == sum(not s.in_pi for s in sales(PLAN)) > 0
        assert summary.deposits == len(paid_in_pi) > 0
        moments = [s.at + 4 * STEP if s.in_pi else s.at for s in sales(PLAN)]
        hours = {m.astimezone(JAKARTA).replace(minute=0, second=0) for m in moments}
        assert summary.blocks > PLAN.days + len(hours)  # a morning and an hour each, and spilled ones
        _extras(platform, wallets)
        yield World(node.url, platform, out, wallets, engine)
    engine.dispose()


def _mirrored_books(world: World, url: str) -> sessionmaker[Session]:
    """The pilot's books in ``url`` (migrated), then the chain backfilled into it; returns the
    sessionmaker."""
    upgrade(url)
    engine = create_engine_from_url(url)
    sessions = make_sessionmaker(engine)
    Pilot(sessions, PLAN).run()
    backfill(url, world.url, world.deployment_file)
    return sessions


def _expected() -> dict[tuple[str, date], tuple[int, int]]:
    """Every sale of the plan on its kelurahan and Jakarta day (a Pi sale settles four steps after
    it starts, an MSC sale in its hour's block: both the same day), plus the extra payment."""
    totals: dict[tuple[str, date], list[int]] = defaultdict(lambda: [0, 0])
    for sale in sales(PLAN):
        moment = sale.at + 4 * STEP if sale.in_pi else sale.at
        key = (KELURAHAN[sale.merchant % len(KELURAHAN)].code, moment.astimezone(JAKARTA).date())
        totals[key][0] += 1
        totals[key][1] += sale.rupiah * 100
    extra = totals[(KELURAHAN[3].code, LAST_DAY)]
    extra[0] += 1
    extra[1] += EXTRA
    return {key: (count, value) for key, (count, value) in totals.items()}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_lpui_counts_pi_from_the_books_and_msc_from_the_mirror(
    world: World, backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = (
        f"sqlite:///{tmp_path / 'city.sqlite3'}"
        if backend == "sqlite"
        else request.getfixturevalue("pg_schema_factory")()
    )
    sessions = _mirrored_books(world, url)
    with sessions() as session:
        totals = daily_totals(session, PLAN.first_day, LAST_DAY)
        _check_ldci_inputs(session)
    assert totals == _expected()
    msc_only = sum(s.rupiah * 100 for s in sales(PLAN) if not s.in_pi)
    assert msc_only > 0 and sum(v for _, v in totals.values()) > msc_only  # both halves are in

    with sessions.begin() as session:
        figures = compute_range(session, LAST_DAY, LAST_DAY, LpuiSettings(window_days=3))
    stored = {f.kelurahan_code: (f.tx_count, f.tx_value_sen) for f in figures if f.tx_count}
    window: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for (code, _day), (count, value) in _expected().items():
        window[code][0] += count
        window[code][1] += value
    assert stored == {code: (c, v) for code, (c, v) in window.items()}


def _check_ldci_inputs(session: Session) -> None:
    """Merchant 3's LDCI inputs hold its Pi and MSC sales and the extra payment, its MSC payers
    among its customers; merchant 0's hold nothing of the mint it got."""
    for index, extra in ((3, EXTRA), (0, 0)):
        merchant_id = session.scalar(
            select(Merchant.id).where(Merchant.pi_username == merchant_data(PLAN, index).pi_username)
        )
        assert merchant_id is not None
        inputs = read_inputs(session, merchant_id, LAST_DAY, window_days=7)  # the shortest window
        mine = [s for s in sales(PLAN) if s.merchant == index]
        assert [d.count for d in inputs.days] == [0] * (7 - PLAN.days) + [
            sum(1 for s in mine if s.day == n) + (n == PLAN.days - 1 and extra > 0) for n in range(PLAN.days)
        ]
        assert sum(d.value_sen for d in inputs.days) == sum(s.rupiah * 100 for s in mine) + extra
        assert inputs.payer_counts is not None and sum(inputs.payer_counts) == len(mine) + (extra > 0)
        assert inputs.first_settled == PLAN.first_day + timedelta(days=min(s.day for s in mine))


def test_the_pi_payments_are_held_in_the_escrow_as_the_books_say(world: World) -> None:
    escrow = world.platform.escrow
    with Session(world.books) as session:
        payments = session.execute(select(Payment.id, Payment.merchant_id, Payment.idr_amount)).all()
        wallet_of = {str(m): w for m, w in session.execute(select(Merchant.id, Merchant.evm_address))}
    assert len(payments) == sum(s.in_pi for s in sales(PLAN))
    for payment_id, merchant_id, amount in payments:
        held = escrow.functions.getPayment(escrow_payment_id(payment_id)).call()
        assert (held[0], held[1], held[2]) == (wallet_of[str(merchant_id)], amount, Signer.dev(0).address)
        assert held[5] == 1  # Held: nobody released it
    escrowed, _fund = escrow.functions.totals().call()
    assert escrowed == sum(amount for *_, amount in payments)  # (the extras released theirs)


def test_the_pilot_refuses_a_chain_past_its_first_morning(world: World) -> None:
    msc = world.platform.msc
    supply = msc.functions.totalSupply().call()
    payer = Pilot(make_sessionmaker(create_engine_from_url("sqlite://")), PLAN).payer_uid
    with pytest.raises(PilotChainError, match="first morning"):
        PilotChain(world.url, msc.address, world.platform.escrow.address, Signer.dev(0).address).run(
            PLAN, world.wallets, payer
        )
    assert msc.functions.totalSupply().call() == supply  # nothing was sent


def test_the_demo_time_is_refused_on_a_chain_already_past_it(world: World) -> None:
    w3 = world.platform.w3
    head = w3.eth.block_number
    with pytest.raises(PilotChainError, match="past the demo's time"):
        move_to_demo_time(world.platform, PLAN.first_day)  # two hours before that month: long gone
    assert w3.eth.block_number == head  # no block was mined
