"""The Pi owed for MSC paid back (settlement.paybacks.share): however a payment's refunds are split,
the customer never gets more Pi than they paid, gets exactly that once everything is paid back, and
each part's fee share stays within the part and, in total, within the quote's fee."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from common.errors import ValidationError
from settlement.paybacks.share import pi_share

#: Pure arithmetic: cheap, so many examples even locally.
EXAMPLES = 1000 if os.environ.get("CI") == "true" else 100


@st.composite
def payments_and_parts(draw: st.DrawFn) -> tuple[int, int, int, list[int]]:
    pi_amount = draw(st.integers(min_value=0, max_value=10**15))
    fee_pi = draw(st.integers(min_value=0, max_value=pi_amount))
    idr_amount = draw(st.integers(min_value=1, max_value=10**13))
    parts: list[int] = []
    left = idr_amount
    for _ in range(draw(st.integers(min_value=1, max_value=8))):
        if left == 0:
            break
        part = draw(st.integers(min_value=1, max_value=left))
        parts.append(part)
        left -= part
    if draw(st.booleans()) and left:
        parts.append(left)  # paid back in full
    return pi_amount, fee_pi, idr_amount, parts


@settings(max_examples=EXAMPLES, deadline=None)
@given(payments_and_parts())
def test_parts_never_pay_back_more_than_was_paid(case: tuple[int, int, int, list[int]]) -> None:
    pi_amount, fee_pi, idr_amount, parts = case
    before = paid = fees = 0
    for msc in parts:
        share = pi_share(pi_amount, fee_pi, idr_amount, before, msc)
        assert 0 <= share.fee <= share.pi
        before += msc
        paid += share.pi
        fees += share.fee
        assert paid <= pi_amount
        assert paid == pi_amount * before // idr_amount  # the parts telescope: no rounding drift
    assert fees <= fee_pi
    if before == idr_amount:
        assert paid == pi_amount


@settings(max_examples=EXAMPLES, deadline=None)
@given(st.integers(min_value=1, max_value=10**12), st.integers(min_value=1, max_value=10**12))
def test_a_refund_beyond_the_credit_pays_no_more(idr_amount: int, extra: int) -> None:
    share = pi_share(10**9, 10**6, idr_amount, idr_amount, extra)
    assert share.pi == 0


@pytest.mark.parametrize(
    ("pi_amount", "fee_pi", "idr_amount", "before", "msc"),
    [(1, 0, 0, 0, 1), (1, 2, 1, 0, 1), (1, 0, 1, -1, 1), (1, 0, 1, 0, 0), (-1, 0, 1, 0, 1)],
)
def test_out_of_range_amounts_are_refused(
    pi_amount: int, fee_pi: int, idr_amount: int, before: int, msc: int
) -> None:
    with pytest.raises(ValidationError):
        pi_share(pi_amount, fee_pi, idr_amount, before, msc)
