"""How many of the city's merchants are simulated (the pilot's ``[SIMULASI]`` UMKM).

The command centre's pages say so above their figures whenever the books hold any: a pilot's
numbers must never pass for real trade (issue 15: "shown as such on every page").
"""

from __future__ import annotations

from sqlalchemy import Boolean, column, func, select, table
from sqlalchemy.orm import Session

_merchants = table("merchants", column("simulated", Boolean))


def simulated_merchants(session: Session) -> int:
    """The number of merchants marked ``simulated``."""
    return int(
        session.scalar(select(func.count()).select_from(_merchants).where(_merchants.c.simulated)) or 0
    )
