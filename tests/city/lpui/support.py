"""Settled payments at chosen moments, made the way the settlement makes them.

The ``db`` fixture is shared by the session, so each test works on its own days (far apart in
2031..2040) and never sees another test's payments inside its windows; 2100-01-01 is kept for the
metrics test, which needs the latest day in the database.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from settlement.payments.models import PaymentStatus as S
from settlement.payments.service import PaymentService
from settlement.quotes.rates import FixedRateSource
from settlement.quotes.service import QuoteService, QuoteSettings
from tests.api.support import Db
from tests.support.factories import add_merchant

JAKARTA = ZoneInfo("Asia/Jakarta")


def jakarta(day: date, hour: int = 12, minute: int = 0) -> datetime:
    """``hour:minute`` Asia/Jakarta on ``day``, in UTC."""
    return datetime.combine(day, time(hour, minute), tzinfo=JAKARTA).astimezone(UTC)


@dataclass
class Books:
    """Merchants and settled payments on one database, with a clock the test sets."""

    db: Db
    now: datetime = field(default_factory=lambda: datetime(2031, 1, 1, tzinfo=UTC))

    def clock(self) -> datetime:
        """The services' current time."""
        return self.now

    def merchant(self, kelurahan: str) -> uuid.UUID:
        """A new merchant trading in ``kelurahan`` (any spelling)."""
        return add_merchant(self.db.sessions, kelurahan=kelurahan)

    def pay(self, merchant_id: uuid.UUID, sen: int, at: datetime, *, until: S = S.COMPLETED) -> uuid.UUID:
        """A payment of ``sen`` to the merchant moved through ``PaymentService`` up to ``until``;
        every step happens at ``at`` (so it settles at ``at``)."""
        self.now = at
        quotes = QuoteService(
            FixedRateSource("15000"),
            QuoteSettings.from_env({}, ttl_seconds=300, fee_bps=100, network_fee_minor=100),
            clock=self.clock,
        )
        payments = PaymentService(quotes, clock=self.clock)
        with self.db.sessions.begin() as session:
            quote = quotes.create(session, sell_asset="PI", buy_asset="IDR", buy_amount=sen)
            payment_id = payments.create(
                session,
                pi_payment_id=f"pi-{uuid.uuid4().hex}",
                merchant_id=str(merchant_id),
                quote_id=quote.id,
            ).id
        steps = [
            (S.INCOMPLETE, S.PENDING_USER_TRANSFER_START),
            (S.PENDING_USER_TRANSFER_START, S.PENDING_ANCHOR),
            (S.PENDING_ANCHOR, S.PENDING_STELLAR),
            (S.PENDING_STELLAR, S.COMPLETED),
        ]
        for before, after in steps:
            with self.db.sessions.begin() as session:
                if after == S.PENDING_ANCHOR:
                    payments.record_txid(session, payment_id, uuid.uuid4().hex + uuid.uuid4().hex)
                else:
                    payments.transition(session, payment_id, before, after, "test")
            if after == until:
                break
        return payment_id


@pytest.fixture
def books(db: Db) -> Iterator[Books]:
    """Payments on ``db`` (both backends)."""
    yield Books(db)
