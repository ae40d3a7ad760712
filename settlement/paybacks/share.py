"""How much Pi a customer gets back for MSC the escrow paid back: pro rata of what they paid.

A payment credited ``idr_amount`` sen of MSC for ``pi_amount`` Pi minor units (the quote's fee
included). MSC paid back for it is owed back in Pi at the same proportion, cumulatively over all
the payment's pay-backs in the order they are recorded::

    pi_due(c)  = floor(pi_amount * min(c, idr_amount) / idr_amount)   (c: sen paid back so far)
    this one   = pi_due(before + msc) - pi_due(before)

so the parts telescope: however a refund is split, the customer gets ``pi_due(total)``, never more
than ``pi_amount``, and exactly ``pi_amount`` once the whole payment is paid back (the fee too:
the customer did not get what they paid a fee for). Rounding is down, in the platform's
disfavour only by less than one minor unit in total. Of each part, ``fee`` is the share that
returns the quote's fee (``floor(fee_pi * msc / idr_amount)``, at most the part), booked against
fees income; the rest reverses the conversion.
"""

from __future__ import annotations

from dataclasses import dataclass

from common.errors import ValidationError


@dataclass(frozen=True, slots=True)
class PiShare:
    """Pi minor units owed for one pay-back."""

    pi: int
    """Paid to the customer."""
    fee: int
    """Of ``pi``, the part that returns the quote's fee."""


def _due(pi_amount: int, idr_amount: int, paid_back: int) -> int:
    return pi_amount * min(paid_back, idr_amount) // idr_amount


def pi_share(pi_amount: int, fee_pi: int, idr_amount: int, before: int, msc: int) -> PiShare:
    """The Pi owed for ``msc`` sen paid back after ``before`` sen of the same payment.

    Raises:
        ValidationError: amounts out of range (nothing credited, a negative part).
    """
    if idr_amount <= 0 or pi_amount < 0 or not 0 <= fee_pi <= pi_amount or before < 0 or msc <= 0:
        raise ValidationError(
            f"no Pi share for {msc} sen after {before} of a payment of {idr_amount} sen "
            f"for {pi_amount} Pi minor units"
        )
    pi = _due(pi_amount, idr_amount, before + msc) - _due(pi_amount, idr_amount, before)
    fee = min(fee_pi * min(msc, idr_amount) // idr_amount, pi)
    return PiShare(pi, fee)
