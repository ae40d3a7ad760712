"""Rupiah amounts as integer sen, and their display."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from common.errors import MSCError, ValidationError
from common.money import format_idr, rupiah


def test_rupiah_isHundredSen() -> None:
    assert rupiah(15_000) == 1_500_000


def test_formatIdr_usesIndonesianSeparators() -> None:
    assert format_idr(1_500_050) == "Rp 15.000,50"
    assert format_idr(0) == "Rp 0,00"
    assert format_idr(-99) == "-Rp 0,99"
    assert format_idr(rupiah(1_000_000_000)) == "Rp 1.000.000.000,00"


@given(st.integers(min_value=-(10**30), max_value=10**30))
def test_formatIdr_keepsEveryDigit(sen: int) -> None:
    text = format_idr(sen)
    digits = text.replace("Rp ", "").replace(".", "").replace(",", "").lstrip("-")
    assert int(digits) == abs(sen)
    assert text.startswith("-") == (sen < 0)


def test_errors_carryCodeStatusAndDetails() -> None:
    error = ValidationError("amount must be positive", field="amount")
    assert isinstance(error, MSCError)
    assert error.status_code == 422
    assert error.to_dict() == {
        "error": "validation_error",
        "message": "amount must be positive",
        "details": {"field": "amount"},
    }
