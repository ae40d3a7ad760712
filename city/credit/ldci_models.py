"""The ``ldci_daily`` table: a consenting merchant's LDCI on each Asia/Jakarta day, as computed.

One row per (merchant, day), written by :func:`store_day` (``python -m city.credit compute``) only
for merchants who consent to scoring when it runs:

* ``score``: 0..1000, or NULL when the merchant had no settled payment in the window (no history
  is no score, never 0).
* ``components``: canonical JSON (sorted keys, no spaces) of integers only: a list of
  ``{"name", "weight_bp", "value_num", "value_den", "inputs": {...}}`` in the report's order, the
  value an exact fraction ``value_num / value_den`` in [0, 1] (both NULL when not measured);
  ``[]`` with a NULL score.
* ``formula_version``: the formula that made it (:data:`city.credit.ldci.FORMULA_VERSION`).
"""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime
from fractions import Fraction
from typing import Any

from sqlalchemy import Date, Integer, String, Text, UniqueConstraint, Uuid, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from city.credit.inputs import read_inputs
from city.credit.ldci import FORMULA_VERSION, Component, LdciScore, score
from common.sql.base import Base
from common.sql.helpers import BigId, UtcDateTime


class LdciDaily(Base):
    """The LDCI of one merchant on one day, with the components it came from."""

    __tablename__ = "ldci_daily"
    __table_args__ = (UniqueConstraint("merchant_id", "day"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    merchant_id: Mapped[uuid.UUID] = mapped_column(Uuid, nullable=False)
    day: Mapped[date] = mapped_column(Date, nullable=False, doc="Asia/Jakarta calendar day scored.")
    score: Mapped[int | None] = mapped_column(Integer, nullable=True, doc="0..1000; NULL: no history.")
    components: Mapped[str] = mapped_column(Text, nullable=False, doc="Canonical JSON of integers.")
    formula_version: Mapped[str] = mapped_column(String(16), nullable=False)
    computed_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)


def components_json(components: tuple[Component, ...]) -> str:
    """The canonical JSON of ``components`` (integers only; the same text for the same score)."""
    rows: list[dict[str, Any]] = [
        {
            "name": c.name,
            "weight_bp": c.weight_bp,
            "value_num": None if c.value is None else c.value.numerator,
            "value_den": None if c.value is None else c.value.denominator,
            "inputs": dict(c.inputs),
        }
        for c in components
    ]
    return json.dumps(rows, sort_keys=True, separators=(",", ":"))


def components_from_json(text: str) -> tuple[Component, ...]:
    """The components stored by :func:`components_json`."""
    rows = json.loads(text)
    return tuple(
        Component(
            name=str(row["name"]),
            value=None
            if row["value_num"] is None
            else Fraction(int(row["value_num"]), int(row["value_den"])),
            weight_bp=int(row["weight_bp"]),
            inputs={str(k): int(v) for k, v in row["inputs"].items()},
        )
        for row in rows
    )


def stored_score(row: LdciDaily) -> LdciScore | None:
    """The score a row holds, None when it holds "no history"."""
    if row.score is None:
        return None
    return LdciScore(row.day, row.score, components_from_json(row.components), row.formula_version)


def stored_row(session: Session, merchant_id: uuid.UUID, day: date) -> LdciDaily | None:
    """The stored row of the merchant's ``day``, if it was computed."""
    return session.scalars(
        select(LdciDaily).where(LdciDaily.merchant_id == merchant_id, LdciDaily.day == day)
    ).one_or_none()


def store_day(
    session: Session, day: date, merchant_ids: list[uuid.UUID], computed_at: datetime
) -> list[LdciDaily]:
    """Recomputes ``day`` for exactly ``merchant_ids`` (the merchants consenting to scoring) in
    the caller's transaction: the day's rows are replaced, so a rerun leaves one row per merchant
    and a merchant no longer consenting loses its row of that day."""
    session.execute(delete(LdciDaily).where(LdciDaily.day == day))
    rows = []
    for merchant_id in sorted(set(merchant_ids)):
        result = score(read_inputs(session, merchant_id, day))
        rows.append(
            LdciDaily(
                merchant_id=merchant_id,
                day=day,
                score=None if result is None else result.score,
                components="[]" if result is None else components_json(result.components),
                formula_version=FORMULA_VERSION,
                computed_at=computed_at,
            )
        )
    session.add_all(rows)
    session.flush()
    return rows
