"""Exact Pi amounts as integer minor units.

Pi, like Stellar's native asset, has 7 decimals: one Pi is 10,000,000 minor units ("stroops").
Money never goes through ``float`` here: amounts arrive as JSON numbers parsed to
:class:`decimal.Decimal` or as Horizon's decimal strings ("12.3400000"), and leave as integer
minor units. Anything finer than 10^-7 Pi cannot exist on the ledger, so it is rejected rather
than rounded.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from common.errors import ValidationError

PI_DECIMALS = 7
MINOR_PER_PI = 10**PI_DECIMALS
# Stellar amounts are signed 64-bit integers of stroops.
MAX_MINOR = 2**63 - 1


class PiAmountError(ValidationError):
    """An amount is not a valid Pi amount (not a number, negative, too precise or too large)."""

    code = "pi_amount_invalid"


def to_minor(value: Decimal | int | str) -> int:
    """Convert a Pi amount (``Decimal``, ``int`` Pi, or decimal string) to integer minor units.

    Raises :class:`PiAmountError` for floats, non-finite values, negatives, more than 7 decimals
    or amounts that do not fit Stellar's int64.
    """
    if isinstance(value, bool | float):
        raise PiAmountError(f"Pi amounts must not be floats or booleans, got {value!r}.", value=repr(value))
    try:
        dec = value if isinstance(value, Decimal) else Decimal(value)
    except (InvalidOperation, ValueError) as exc:
        raise PiAmountError(f"{value!r} is not a decimal number.", value=str(value)) from exc
    if not dec.is_finite():
        raise PiAmountError(f"{value!r} is not a finite amount.", value=str(value))
    scaled = dec.scaleb(PI_DECIMALS)
    if scaled != scaled.to_integral_value():
        raise PiAmountError(
            f"{value} Pi has more than {PI_DECIMALS} decimals; Pi cannot represent it.", value=str(value)
        )
    minor = int(scaled)
    if minor < 0:
        raise PiAmountError(f"{value} Pi is negative.", value=str(value))
    if minor > MAX_MINOR:
        raise PiAmountError(f"{value} Pi is larger than the ledger can hold.", value=str(value))
    return minor


def to_decimal(minor: int) -> Decimal:
    """The exact Pi amount of ``minor`` units as a Decimal with 7 places."""
    _check_minor(minor)
    return Decimal(minor).scaleb(-PI_DECIMALS)


def to_stellar_amount(minor: int) -> str:
    """Render minor units as Horizon/stellar-sdk's amount string, e.g. ``12345`` -> ``"0.0012345"``."""
    _check_minor(minor)
    whole, frac = divmod(minor, MINOR_PER_PI)
    return f"{whole}.{frac:07d}"


def _check_minor(minor: int) -> None:
    if isinstance(minor, bool) or not isinstance(minor, int):
        raise PiAmountError(f"Minor units must be an int, got {minor!r}.", value=repr(minor))
    if minor < 0 or minor > MAX_MINOR:
        raise PiAmountError(f"{minor} minor units is out of range.", value=minor)
