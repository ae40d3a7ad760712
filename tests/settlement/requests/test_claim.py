"""Payment requests' guarded moves on PostgreSQL: of customers paying one one-use request at once,
exactly one claims it; it is paid once; a lapsed payment frees it; a reusable one takes many."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from api.merchants import service as merchants
from api.merchants.schemas import MerchantCreate
from common.errors import ConflictError
from common.sql.engine import create_engine_from_url, make_sessionmaker
from common.sql.migrate import upgrade
from settlement.payments.models import Payment, PaymentStatus
from settlement.payments.service import PaymentService
from settlement.quotes.rates import FixedRateSource
from settlement.quotes.service import QuoteService, QuoteSettings
from settlement.requests import service
from settlement.requests.errors import PaymentRequestInProgressError, PaymentRequestPaidError
from settlement.requests.models import RequestStatus

CUSTOMERS = 6


@pytest.fixture(scope="module")
def sessions(pg_schema_factory: Callable[[], str]) -> Iterator[sessionmaker[Session]]:
    url = pg_schema_factory()
    upgrade(url)
    engine = create_engine_from_url(url)
    yield make_sessionmaker(engine)
    engine.dispose()


def _merchant(sessions: sessionmaker[Session]) -> uuid.UUID:
    data = MerchantCreate(
        name="Warung",
        kelurahan="Taman",
        evm_address="0x" + uuid.uuid4().hex + uuid.uuid4().hex[:8],
        pi_username=f"pi_{uuid.uuid4().hex[:12]}",
    )
    with sessions.begin() as session:
        return merchants.create(session, data)[0].id


def _payment(sessions: sessionmaker[Session], payments: PaymentService, merchant: uuid.UUID) -> uuid.UUID:
    with sessions.begin() as session:
        quote = payments.quotes.create(session, sell_asset="PI", buy_asset="IDR", buy_amount=1_000_000)
        payment = payments.create(
            session, pi_payment_id=f"pi-{uuid.uuid4().hex}", merchant_id=str(merchant), quote_id=quote.id
        )
        return payment.id


def test_one_use_request_is_claimed_by_exactly_one_of_concurrent_payments(
    sessions: sessionmaker[Session],
) -> None:
    payments = PaymentService(QuoteService(FixedRateSource(Decimal("15000")), QuoteSettings.from_env({})))
    merchant = _merchant(sessions)
    with sessions.begin() as session:
        request_id = service.create(
            session,
            merchant_id=merchant,
            amount=1_000_000,
            reference="Pesanan",
            reusable=False,
            expires_at=None,
        ).id
    candidates = [_payment(sessions, payments, merchant) for _ in range(CUSTOMERS)]
    barrier = threading.Barrier(CUSTOMERS)
    won: list[uuid.UUID] = []
    lost: list[str] = []

    def pay(payment_id: uuid.UUID) -> None:
        barrier.wait()
        try:
            with sessions.begin() as session:
                service.claim(session, request_id, payment_id)
            won.append(payment_id)
        except ConflictError as error:
            lost.append(error.code)

    threads = [threading.Thread(target=pay, args=(p,)) for p in candidates]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert (
        len(won) == 1 and sorted(set(lost)) == ["payment_request_in_progress"] and len(lost) == CUSTOMERS - 1
    )
    with sessions.begin() as session:
        assert service.get(session, request_id).payment_id == won[0]
        # The winner's payment lapses: the request is free again, and another customer can claim it.
        session.execute(update(Payment).where(Payment.id == won[0]).values(status=PaymentStatus.EXPIRED))
        assert service.refresh(session, request_id).status == RequestStatus.OPEN
    # A payment refused before any Pi transaction frees it too; one refused with a transaction
    # recorded holds it for an operator.
    third = next(p for p in candidates if p != won[0])
    with sessions.begin() as session:
        service.claim(session, request_id, third)
        session.execute(update(Payment).where(Payment.id == third).values(status=PaymentStatus.ERROR))
        assert service.refresh(session, request_id).status == RequestStatus.OPEN
    held = next(p for p in candidates if p not in (won[0], third))
    with sessions.begin() as session:
        service.claim(session, request_id, held)
        session.execute(
            update(Payment).where(Payment.id == held).values(status=PaymentStatus.ERROR, txid="ab" * 32)
        )
        assert service.refresh(session, request_id).status == RequestStatus.PROCESSING
        session.execute(
            update(Payment).where(Payment.id == held).values(status=PaymentStatus.EXPIRED, txid=None)
        )
        assert service.refresh(session, request_id).status == RequestStatus.OPEN
    second = next(p for p in candidates if p not in (won[0], third, held))
    with sessions.begin() as session:
        service.claim(session, request_id, second)
        session.execute(update(Payment).where(Payment.id == second).values(status=PaymentStatus.COMPLETED))
        assert service.refresh(session, request_id).status == RequestStatus.PAID
    for other in (p for p in candidates if p != second):
        with pytest.raises(PaymentRequestPaidError), sessions.begin() as session:
            service.claim(session, request_id, other)
    with sessions.begin() as session:
        moves = [(h.from_status, h.to_status) for h in service.repository.history(session, request_id)]
    assert moves == [("", "open")] + [("open", "processing"), ("processing", "open")] * 3 + [
        ("open", "processing"),
        ("processing", "paid"),
    ]


def test_reusable_request_takes_many_payments(sessions: sessionmaker[Session]) -> None:
    payments = PaymentService(QuoteService(FixedRateSource(Decimal("15000")), QuoteSettings.from_env({})))
    merchant = _merchant(sessions)
    with sessions.begin() as session:
        request_id = service.create(
            session, merchant_id=merchant, amount=1_000_000, reference="Menu", reusable=True, expires_at=None
        ).id
    for _ in range(3):
        payment = _payment(sessions, payments, merchant)
        with sessions.begin() as session:
            service.claim(session, request_id, payment)
    with sessions.begin() as session:
        assert service.refresh(session, request_id).status == RequestStatus.OPEN
    assert PaymentRequestInProgressError.status_code == 409
