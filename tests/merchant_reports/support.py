"""A merchant's month built through the real services: quotes, PaymentService, PayoutService and
the ledger flows, each posted at a chosen instant (the ledger's clock is the test's)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from sqlalchemy.orm import Session

from merchant_reports.periods import JAKARTA
from settlement.ledger import flows
from settlement.payments.models import Payment
from settlement.payouts.models import Payout
from settlement.payouts.service import PayoutService
from settlement.quotes.models import Quote
from tests.settlement.ledger.support import Clock, make_payment, unique


def wib(year: int, month: int, day: int, hour: int = 12, minute: int = 0) -> datetime:
    """A Jakarta wall-clock time as an aware UTC datetime."""
    return datetime(year, month, day, hour, minute, tzinfo=JAKARTA).astimezone(UTC)


@dataclass
class Books:
    """Posts movements for one merchant at the instants the test chooses."""

    session: Session
    clock: Clock
    merchant: str
    monkeypatch: pytest.MonkeyPatch
    payments: list[Payment] = field(default_factory=list)

    def at(self, moment: datetime) -> Books:
        """Moves the services' and the ledger's clock to ``moment``."""
        self.clock.now = moment
        self.monkeypatch.setattr("settlement.ledger.service.utcnow", lambda: self.clock.now)
        return self

    def sale(self, *, mint: bool = True, sell_amount: int | None = None) -> Payment:
        """A Pi payment received and converted (and minted to escrow unless ``mint`` is False)."""
        payment = make_payment(self.session, self.clock, self.merchant)
        quote = self.session.get(Quote, payment.quote_id)
        assert quote is not None
        flows.record_pi_received(self.session, payment)
        flows.record_conversion(self.session, payment, quote)
        if mint:
            flows.record_msc_minted_to_escrow(self.session, payment)
        self.payments.append(payment)
        return payment

    def refund(self, payment: Payment, amount: int) -> None:
        """The merchant refunds part of an escrowed payment (one ``Refunded`` event)."""
        event = flows.ChainEvent("0x" + uuid.uuid4().hex * 2, 0)
        flows.record_escrow_refund(self.session, payment, amount, event)

    def guarantee_refund(self, payment: Payment, amount: int) -> None:
        """The guarantee fund refunds part of a released payment (one ``GuaranteeRefunded`` event)."""
        event = flows.ChainEvent("0x" + uuid.uuid4().hex * 2, 1)
        flows.record_guarantee_refund(self.session, payment, amount, event)

    def release(self, payment: Payment, amount: int | None = None) -> None:
        """The escrow releases the payment (less what was refunded) to the merchant's wallet."""
        flows.record_release(self.session, payment, amount)

    def payout(self, amount: int, fee: int, *, paid: bool = True) -> Payout:
        """The merchant redeems ``amount`` sen (fee included); the bank pays it."""
        payout = PayoutService(self.clock).request(
            self.session,
            idempotency_key=unique("po"),
            merchant_id=self.merchant,
            amount=amount,
            fee=fee,
            bank_account="BRI 0001",
        )
        flows.record_redemption(self.session, payout)
        if paid:
            flows.record_payout_paid(self.session, payout)
        return payout
