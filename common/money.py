"""Money as integers in minor units, and how people read it.

Rupiah amounts are integer sen everywhere (MSC has 2 decimals: 1 unit = 1 sen = Rp 0.01).
Formatting is for display only; nothing is ever parsed back from a formatted string.
"""

from __future__ import annotations

SEN_PER_RUPIAH = 100


def rupiah(whole_rupiah: int) -> int:
    """Sen in ``whole_rupiah`` Rupiah (for readable constants: ``rupiah(15_000)``)."""
    return whole_rupiah * SEN_PER_RUPIAH


def format_idr(sen: int) -> str:
    """Indonesian notation: ``format_idr(1_500_050) == "Rp 15.000,50"``."""
    sign = "-" if sen < 0 else ""
    whole, cents = divmod(abs(sen), SEN_PER_RUPIAH)
    grouped = f"{whole:,}".replace(",", ".")
    return f"{sign}Rp {grouped},{cents:02d}"
