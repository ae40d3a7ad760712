"""Flags: what the detector hands to auditors, and their review status.

A flag names the rule or model that fired, a score in ``[0, 1]`` (higher is more suspicious),
the evidence (the transactions involved, the accounts, context transactions such as funding edges,
and for model flags the features that drove the score) and a status an auditor moves from
``open`` to ``confirmed`` or ``dismissed``. The CSV output has one row per flagged transaction and
anomaly kind, which is what the explorer joins on.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from enum import StrEnum
from pathlib import Path
from typing import Any

from audit.anomaly.errors import FlagReviewError
from audit.csv_safe import text_cell

WASH_TRADE = "wash_trade"
CYCLE = "cycle"
SPIKE = "spike"
STRUCTURING = "structuring"
DORMANT = "dormant"
MODEL = "isolation_forest"
RULE_KINDS: tuple[str, ...] = (WASH_TRADE, CYCLE, SPIKE, STRUCTURING, DORMANT)
"""Anomaly kinds produced by rules (also the labels of the evaluation generator)."""
OUTPUT_COLUMNS: tuple[str, ...] = ("tx_hash", "anomaly", "score", "reason")


class FlagStatus(StrEnum):
    """Review state of a flag."""

    OPEN = "open"
    CONFIRMED = "confirmed"
    DISMISSED = "dismissed"


@dataclass(frozen=True)
class Flag:
    """One finding.

    Attributes:
        anomaly: Rule kind (:data:`RULE_KINDS`) or :data:`MODEL`.
        score: Severity in ``[0, 1]``.
        tx_hashes: The flagged transactions.
        reason: One sentence an auditor can read.
        accounts: Accounts involved.
        context_tx: Transactions that explain the flag without being flagged (funding edges,
            reference trades of a price move).
        features: For model flags: the driving features, ``name`` (value) and ``name_robust_z``
            (its robust z-score).
        status: Review status.
        note: The auditor's note on the last review.
    """

    anomaly: str
    score: float
    tx_hashes: tuple[str, ...]
    reason: str
    accounts: tuple[str, ...] = ()
    context_tx: tuple[str, ...] = ()
    features: dict[str, float] = field(default_factory=dict)
    status: FlagStatus = FlagStatus.OPEN
    note: str = ""

    @property
    def flag_id(self) -> str:
        """Stable identifier: the same finding on the same data gets the same id."""
        digest = hashlib.sha256("|".join((self.anomaly, *sorted(self.tx_hashes))).encode()).hexdigest()
        return f"{self.anomaly}-{digest[:16]}"

    def review(self, status: FlagStatus, note: str = "") -> Flag:
        """The flag with a new status; only an open flag can be confirmed or dismissed.

        Raises:
            FlagReviewError: the flag is already closed, or the new status is ``open``.
        """
        if self.status is not FlagStatus.OPEN or status is FlagStatus.OPEN:
            raise FlagReviewError(
                f"flag {self.flag_id} is {self.status.value}; it cannot become {status.value}",
                flag_id=self.flag_id,
            )
        return replace(self, status=status, note=note)

    def confirm(self, note: str = "") -> Flag:
        """Auditor confirms the finding."""
        return self.review(FlagStatus.CONFIRMED, note)

    def dismiss(self, note: str = "") -> Flag:
        """Auditor dismisses the finding as expected activity."""
        return self.review(FlagStatus.DISMISSED, note)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form with the full evidence."""
        return {
            "flag_id": self.flag_id,
            "anomaly": self.anomaly,
            "score": round(self.score, 6),
            "reason": self.reason,
            "tx_hashes": list(self.tx_hashes),
            "accounts": list(self.accounts),
            "context_tx": list(self.context_tx),
            "features": self.features,
            "status": self.status.value,
            "note": self.note,
        }


def flag_rows(
    flags: Iterable[Flag], tx_order: dict[str, int] | None = None
) -> list[tuple[str, str, float, str]]:
    """One ``(tx_hash, anomaly, score, reason)`` per flagged transaction and kind (highest score wins).

    Rows are ordered by ``tx_order`` (position of the transaction in the input) when given.
    """
    best: dict[tuple[str, str], tuple[float, str]] = {}
    for flag in flags:
        for tx in flag.tx_hashes:
            key = (tx, flag.anomaly)
            if key not in best or flag.score > best[key][0]:
                best[key] = (flag.score, flag.reason)
    order = tx_order or {}
    keys = sorted(best, key=lambda k: (order.get(k[0], len(order)), k[0], k[1]))
    return [(tx, kind, best[(tx, kind)][0], best[(tx, kind)][1]) for tx, kind in keys]


def write_flags_csv(path: str | Path, flags: Iterable[Flag], tx_order: dict[str, int] | None = None) -> int:
    """Writes the flag CSV (:data:`OUTPUT_COLUMNS`); returns the number of rows."""
    rows = flag_rows(flags, tx_order)
    with Path(path).open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(OUTPUT_COLUMNS)
        for tx, kind, score, reason in rows:
            writer.writerow([text_cell(tx), text_cell(kind), f"{score:.4f}", text_cell(reason)])
    return len(rows)


def write_flags_json(path: str | Path, flags: Iterable[Flag]) -> None:
    """Writes every flag with its full evidence and status, for the review workflow."""
    Path(path).write_text(json.dumps([f.to_dict() for f in flags], indent=2) + "\n", encoding="utf-8")


def rupiah(sen: int) -> str:
    """Sen as Indonesian-formatted rupiah: ``Rp 480.000.000`` (``,50`` appended for sen)."""
    whole, cents = divmod(int(sen), 100)
    text = f"Rp {whole:,}".replace(",", ".")
    return f"{text},{cents:02d}" if cents else text


def severity(value: float, limit: float) -> float:
    """Score for a measure that crossed ``limit``: 0.5 at the limit, 1.0 at twice the limit or more."""
    if limit <= 0:
        return 1.0
    return float(min(1.0, max(0.5, 0.5 * value / limit)))
