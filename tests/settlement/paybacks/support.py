"""A world for the pay-back tests: real Pi payments on the local Pi peer, minted into the escrow on a
private anvil, refunded there by the merchant, indexed and booked as ``customer_refunds_owed``.

Each test gets a fresh platform on the module's anvil and a fresh database (the settlement key's
books must hold nothing of another test for the reconciliation check to be exact); the Pi peer is
shared by the module (every test uses fresh Pioneers).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select

from audit.reconcile.chainview import ChainView
from audit.reconcile.checks import burned_ledger_matches_chain, settlement_account_balance_booked
from chain.signer import Signer
from settlement.flow.settings import FlowSettings
from settlement.ledger import chart
from settlement.ledger.service import balance_of
from settlement.minting.minter import EscrowMinter
from settlement.paybacks.models import Payback
from settlement.paybacks.service import Hook, PaybackService
from settlement.payments.models import PaymentStatus as S
from settlement.pi.platform_client import PiPlatformClient
from tests.settlement.escrowbooks.support import Scene
from tests.settlement.flow.support import Env, Order, Peer, make_env, new_order
from tests.settlement.ledger.support import BACKENDS, Db, _open
from tests.settlement.minting.support import Chain, amounts

MERCHANT = Signer.dev(5)


@pytest.fixture(params=BACKENDS)
def fresh_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Db]:
    """A migrated database of this test alone (SQLite, then PostgreSQL)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'paybacks.sqlite3'}"
    else:
        url = request.getfixturevalue("pg_schema_factory")()
    database = _open(str(request.param), url)
    yield database
    database.engine.dispose()


def _any_merchant(_session: object, merchant_ids: object) -> dict[str, str]:
    return {str(m): MERCHANT.address for m in merchant_ids}  # type: ignore[attr-defined]


@dataclass
class World:
    """The services and actors of one test."""

    db: Db
    chain: Chain
    env: Env
    scene: Scene

    @property
    def settlement(self) -> str:
        """The settlement key's address (the escrow's depositor and payer of record)."""
        return self.chain.depositor.address

    def paid(self, sell_amount: int) -> Order:
        """A customer's payment on Pi, verified, converted and minted into the escrow."""
        order = new_order(self.env, sell_amount=sell_amount, balance=sell_amount + 10 * 10**7)
        self.env.flow.approve(order.payment.id)
        txid = self.env.control.wallet_pay(order.pi_id)
        self.env.flow.submit_txid(order.payment.id, txid)
        assert self.env.flow.verify_and_complete(order.payment.id).status == S.PENDING_STELLAR
        minter = EscrowMinter(
            self.db.sessions,
            self.chain.platform,
            self.chain.sender(self.chain.depositor),
            merchant_addresses=_any_merchant,
        )
        assert minter.run_once().completed == 1
        self.scene.ids.append(order.payment.id)
        self.scene.info.update(amounts(self.db.sessions, [order.payment.id]))
        with self.db.sessions() as session:
            order.payment = self.env.payments.get(session, order.payment.id)
        return order

    def refund(self, order: Order, sen: int) -> None:
        """The merchant refunds ``sen`` of the payment in the escrow; indexed and booked."""
        self.scene.merchants[order.payment.merchant_id] = MERCHANT.address
        self.scene.refund(order.payment.id, sen)
        self.book()

    def book(self) -> None:
        """The mirror catches up and the escrow books book what it shows."""
        self.scene.index()
        self.scene.booker().run_once()

    def service(
        self,
        hook: Hook | None = None,
        *,
        platform: PiPlatformClient | None = None,
        signer: Signer | None = None,
    ) -> PaybackService:
        """A pay-back service (a new "process"), with the settlement key unless ``signer``."""
        options = {} if hook is None else {"hook": hook}
        return PaybackService(
            self.db.sessions,
            platform or self.env.platform,
            self.env.horizon,
            self.env.peer.app,
            self.chain.platform,
            signer or self.chain.depositor,
            settings=FlowSettings.from_env({}),
            **options,  # type: ignore[arg-type]
        )

    def paybacks(self, order: Order) -> list[Payback]:
        """The payment's pay-backs in the order they were recorded."""
        with self.db.sessions() as session:
            return list(
                session.scalars(
                    select(Payback).where(Payback.payment_id == order.payment.id).order_by(Payback.created_at)
                )
            )

    def check(self) -> tuple[bool, int, int, int]:
        """``settlement_account_balance_booked`` on the settlement key at the head:
        (ok, books' least figure, in flight, balance)."""
        view = ChainView(self.chain.platform, int(self.chain.w3.eth.block_number))
        with self.db.engine.connect() as conn:
            (result,) = [
                r for r in settlement_account_balance_booked(conn, view) if r.subject == self.settlement
            ]
        return result.ok, result.expected, int(result.details["in_flight"]), result.actual

    def burns_booked(self) -> bool:
        """``burned_ledger_matches_chain`` (every burner) after the mirror caught up."""
        self.scene.index()
        view = ChainView(self.chain.platform, int(self.chain.w3.eth.block_number))
        with self.db.engine.connect() as conn:
            (result,) = burned_ledger_matches_chain()(conn, view)
        return result.ok

    def owed(self) -> int:
        """The books' ``customer_refunds_owed``."""
        with self.db.sessions() as session:
            return balance_of(session, chart.CUSTOMER_REFUNDS_OWED)

    def control_fault(self, count: int) -> None:
        """The next ``count`` Pi Platform API calls answer 500."""
        self.env.control.arm_fault("platform", count=count, status=500)

    def pi_of(self, order: Order) -> int:
        """The customer's Pi balance (minor units)."""
        return self.env.horizon.balance(order.user.public_key)


def make_world(db: Db, chain: Chain, peer: Peer) -> World:
    """A world on ``db``, ``chain`` and ``peer``."""
    env = make_env(db, peer)
    scene = Scene(db, chain, {}, [], {}, stream=f"paybacks-{uuid.uuid4().hex[:8]}")  # type: ignore[arg-type]
    return World(db, chain, env, scene)
