"""Firm quotes in SQL: validation, exact storage, expiry and single use."""

from __future__ import annotations

import uuid
from fractions import Fraction

import pytest

from common.errors import ValidationError
from settlement.quotes.errors import QuoteAlreadyUsedError, QuoteExpiredError, QuoteNotFoundError
from settlement.quotes.schemas import QuoteCreate, QuoteRead
from tests.settlement.ledger.support import quote_service


def test_sell_quote_is_stored_exactly(db, clock):
    service = quote_service(clock, rate="15000.123456789")
    with db.sessions() as session, session.begin():
        quote = service.create(session, sell_asset="PI", buy_asset="IDR", sell_amount=123_456_789)
        quote_id = quote.id
    with db.sessions() as session:
        stored = service.get(session, quote_id)
        assert stored.sell_amount == 123_456_789
        assert (stored.sell_amount - stored.fee_total) * stored.price.denominator == (
            stored.price.numerator * stored.buy_amount
        )
        assert stored.market_price == Fraction(10**5) / Fraction("15000.123456789")
        assert stored.price >= stored.market_price
        assert stored.expires_at == clock.now.replace(minute=5)
        assert stored.fee_details == [
            {"name": "service", "amount": 1_234_568},
            {"name": "network", "amount": 100},
        ]
        assert stored.rate_idr_per_pi == "15000.123456789"


def test_buy_quote_buys_exactly_the_amount_asked(db, clock):
    with db.sessions() as session, session.begin():
        quote = quote_service(clock).create(session, sell_asset="PI", buy_asset="IDR", buy_amount=1_500_000)
        assert quote.buy_amount == 1_500_000
        # 15,000 IDR at 15,000 IDR/Pi is 1 Pi; the fee comes on top.
        assert quote.sell_amount - quote.fee_total == 10**7


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sell_asset": "PI", "buy_asset": "IDR"}, "exactly one of sell_amount and buy_amount"),
        ({"sell_asset": "PI", "buy_asset": "IDR", "sell_amount": 5, "buy_amount": 5}, "exactly one"),
        ({"sell_asset": "PI", "buy_asset": "IDR", "sell_amount": -1}, "sell_amount must be positive"),
        ({"sell_asset": "PI", "buy_asset": "IDR", "buy_amount": 0}, "buy_amount must be positive"),
        (
            {"sell_asset": "BTC", "buy_asset": "IDR", "sell_amount": 5},
            "cannot quote 'BTC' -> 'IDR'; supported: PI -> IDR",
        ),
        ({"sell_asset": "IDR", "buy_asset": "PI", "sell_amount": 5}, "cannot quote 'IDR' -> 'PI'"),
    ],
)
def test_quote_input_is_validated(db, clock, kwargs, message):
    with db.sessions() as session, pytest.raises(ValidationError, match=message) as caught:
        quote_service(clock).create(session, **kwargs)
    assert caught.value.status_code == 422


def test_expired_quote_is_refused_with_its_expiry(db, clock):
    service = quote_service(clock, ttl=60)
    with db.sessions() as session, session.begin():
        quote = service.create(session, sell_asset="PI", buy_asset="IDR", sell_amount=10**7)
    clock.advance(61)
    with db.sessions() as session, pytest.raises(QuoteExpiredError) as caught:
        service.use(session, quote.id, uuid.uuid4())
    assert caught.value.status_code == 409
    assert "expired at 2026-01-01T12:01:00+00:00" in caught.value.message
    assert caught.value.details["expires_at"] == "2026-01-01T12:01:00+00:00"


def test_quote_is_used_by_at_most_one_payment(db, clock):
    service = quote_service(clock)
    first, second = uuid.uuid4(), uuid.uuid4()
    with db.sessions() as session, session.begin():
        quote = service.create(session, sell_asset="PI", buy_asset="IDR", sell_amount=10**7)
    with db.sessions() as session, session.begin():
        assert service.use(session, quote.id, first).payment_id == first
    with db.sessions() as session, pytest.raises(QuoteAlreadyUsedError, match=str(first)):
        service.use(session, quote.id, second)


def test_unknown_quote_is_not_found(db, clock):
    missing = uuid.uuid4()
    with db.sessions() as session, pytest.raises(QuoteNotFoundError, match=str(missing)):
        quote_service(clock).use(session, missing, uuid.uuid4())


def test_sep38_rendering_uses_decimal_strings_of_whole_units(db, clock):
    with db.sessions() as session, session.begin():
        quote = quote_service(clock).create(session, sell_asset="PI", buy_asset="IDR", sell_amount=10 * 10**7)
        body = QuoteRead.from_quote(quote).sep38()
    assert body["sell_amount"] == "10.0000000"
    assert body["buy_amount"] == "148499.85"
    assert body["fee"] == {
        "total": "0.1000100",
        "asset": "PI",
        "details": [{"name": "service", "amount": "0.1000000"}, {"name": "network", "amount": "0.0000100"}],
    }
    assert body["expires_at"] == "2026-01-01T12:05:00Z"
    assert body["price"].startswith("0.00006666")  # ~1/15000 Pi per IDR (fee excluded)


def test_quote_create_schema_is_strict():
    with pytest.raises(Exception, match="sell_amount"):
        QuoteCreate.model_validate({"sell_amount": "10"})
    assert QuoteCreate(sell_amount=5).buy_asset == "IDR"
