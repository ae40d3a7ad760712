"""Quotes through the API: SEP-38 decimal strings plus exact minor units, stored and read back."""

from __future__ import annotations

from fractions import Fraction

from api.models import Role
from tests.api.support import Harness, bearer, new_merchant, staff_key


def test_quote_roundTrip_sellAmount(api: Harness) -> None:
    _, key = new_merchant(api.db)
    made = api.client.post("/v1/quotes", json={"sell_amount": 10 * 10**7}, headers=bearer(key))
    assert made.status_code == 201
    quote = made.json()
    # 10 Pi at 15000 IDR/Pi, 1% fee (rounded up) plus a 100-minor-unit network fee.
    assert quote["sell_asset"] == "PI" and quote["buy_asset"] == "IDR"
    assert quote["sell_amount"] == "10.0000000"
    assert quote["fee"] == {
        "total": "0.1000100",
        "asset": "PI",
        "details": [{"name": "service", "amount": "0.1000000"}, {"name": "network", "amount": "0.0000100"}],
    }
    minor = quote["minor_units"]
    assert minor["sell_amount"] == 10 * 10**7 and minor["fee_total"] == 1_000_100
    assert minor["buy_amount"] == 14_849_985  # floor((10^8 - 1000100) * 15000 / 10^5) sen
    assert quote["buy_amount"] == "148499.85"
    price = Fraction(minor["price"]["numerator"], minor["price"]["denominator"])
    assert (minor["sell_amount"] - minor["fee_total"]) == price * minor["buy_amount"]
    assert quote["expires_at"].endswith("Z")

    read = api.client.get(f"/v1/quotes/{quote['id']}", headers=bearer(key))
    assert read.status_code == 200
    assert read.json() == quote


def test_quote_buyAmount(api: Harness) -> None:
    key = staff_key(api.db, Role.OPERATOR)
    made = api.client.post("/v1/quotes", json={"buy_amount": 1_500_000}, headers=bearer(key))
    assert made.status_code == 201
    assert made.json()["minor_units"]["buy_amount"] == 1_500_000
    assert made.json()["buy_amount"] == "15000.00"


def test_quote_missingId_is404(api: Harness) -> None:
    key = staff_key(api.db, Role.AUDITOR)
    response = api.client.get("/v1/quotes/00000000-0000-0000-0000-000000000000", headers=bearer(key))
    assert response.status_code == 404
    assert response.json()["error"] == "quote_not_found"
