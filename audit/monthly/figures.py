"""The monthly report's figures: frozen dataclasses of exact integers, and their canonical JSON.

Units: IDR in sen, MSC in its smallest unit, Pi in 10^-7 Pi, carbon in tonnes. In the JSON every
integer is written as a decimal string (exact in any JSON reader, whatever its number type), every
key is sorted and there is no whitespace, so equal reports have equal bytes and one sha256.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any

UNKNOWN_KELURAHAN = "unknown"
"""The code of merchants in no kelurahan of the city (no ``kelurahan_code``)."""


@dataclass(frozen=True, slots=True)
class EndBlock:
    """The month's last mirrored block."""

    number: int
    hash: str
    timestamp: int


@dataclass(frozen=True, slots=True)
class Reserves:
    """The last ``ReservesAttested`` up to the end block."""

    reserves: int
    supply: int
    reference: str
    block: int
    tx_hash: str


@dataclass(frozen=True, slots=True)
class Liabilities:
    """What the platform owes off-chain, from the books cut at the end block's timestamp (sen)."""

    ledger_entry_id: int
    credited_not_minted: int
    payouts_unpaid: int
    refunds_owed: int
    merchants: int

    @property
    def total(self) -> int:
        """The three amounts' sum."""
        return self.credited_not_minted + self.payouts_unpaid + self.refunds_owed


@dataclass(frozen=True, slots=True)
class Attestation:
    """The month's proof-of-liabilities snapshot and its on-chain publication, if any."""

    published: bool
    status: str
    root: str
    total: int
    snapshot_block: int
    tx_hash: str
    onchain_block: int | None
    """The block of the ``LiabilitiesAttested`` event in the mirror (None: not mirrored)."""


@dataclass(frozen=True, slots=True)
class Flow:
    """A count of movements and their amount."""

    count: int
    amount: int


@dataclass(frozen=True, slots=True)
class KelurahanTotal:
    """Settled payments of one kelurahan's merchants in the month."""

    code: str
    payments: int
    idr: int
    pi: int
    merchants: int


@dataclass(frozen=True, slots=True)
class Carbon:
    """Carbon tonnes issued, retired and bridged back: in the month and in all up to the end block."""

    issued: int
    retired: int
    bridged: int
    issued_total: int
    retired_total: int
    bridged_total: int


@dataclass(frozen=True, slots=True)
class Anomalies:
    """Anomaly flags raised in the month and flags confirmed (reviewed) in the month."""

    raised: int
    confirmed: int


@dataclass(frozen=True, slots=True)
class Reconciliation:
    """Finished reconciliation runs at blocks of the month, with their checks."""

    runs: int
    failed_runs: int
    checks: int
    failed_checks: int
    last_run_id: int | None
    last_run_ok: bool | None


@dataclass(frozen=True, slots=True)
class MonthlyReport:
    """One month's public report."""

    month: str
    start: str
    """ISO-8601 UTC instant the month starts (00:00 WIB of its first day)."""
    end: str
    """ISO-8601 UTC instant the next month starts (exclusive)."""
    end_block: EndBlock
    msc_supply: int
    mints_total: int
    burns_total: int
    reserves: Reserves | None
    liabilities: Liabilities
    attestation: Attestation | None
    mints: Flow
    burns: Flow
    settled_payments: int
    settled_idr: int
    settled_pi: int
    active_merchants: int
    payers: int | None
    """Distinct Pi users who paid the month's settled payments (``payments.payer_uid``, kept since
    migration 0036); None when no settled payment of the month has a known payer."""
    kelurahan: tuple[KelurahanTotal, ...]
    escrow_outstanding: int
    carbon: Carbon
    anomalies: Anomalies
    reconciliation: Reconciliation
    simulated: bool
    """Whether a simulated (pilot, [SIMULASI]) merchant is in the figures."""

    def to_json(self) -> dict[str, Any]:
        """The report as JSON values; every integer a decimal string, ``total`` of liabilities added."""
        raw = asdict(self)
        raw["liabilities"]["total"] = self.liabilities.total
        return _exact(raw)  # type: ignore[no-any-return]


def _exact(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dict):
        return {k: _exact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_exact(v) for v in value]
    raise TypeError(f"not a report value: {type(value).__name__}")


def canonical_json(figures: dict[str, Any]) -> str:
    """Sorted keys, no whitespace, UTF-8 text: the stored and hashed form."""
    return json.dumps(figures, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_of(text: str) -> str:
    """Hex sha256 of ``text``'s UTF-8 bytes."""
    return hashlib.sha256(text.encode()).hexdigest()
