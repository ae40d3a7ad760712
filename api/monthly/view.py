"""What the page, the CSV and the PDF show of a stored report: one list of figures, once.

Every figure is a path into the stored figures (``reserves.reserves``), an English label (a msgid,
translated where shown) and a kind saying how to format it (``sen``, ``pi``, ``count``,
``tonnes``, ``block``). Values are exact integers read from the stored decimal strings; a figure
whose parent is absent (no reserve attestation yet) is None. Kelurahan names come from
:mod:`city.kelurahan` (``audit`` stores codes only; see :mod:`audit.monthly.build`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from audit.monthly.figures import UNKNOWN_KELURAHAN
from audit.monthly.store import StoredReport
from city.kelurahan import KELURAHAN
from webui.i18n import N_


@dataclass(frozen=True, slots=True)
class Figure:
    """One line of the report."""

    section: str
    path: str
    label: str
    kind: str
    value: int | None


SECTIONS: tuple[tuple[str, str, tuple[tuple[str, str, str], ...]], ...] = (
    (
        "chain",
        N_("On the chain at the end block"),
        (
            ("msc_supply", N_("MSC supply"), "sen"),
            ("mints_total", N_("MSC minted in all"), "sen"),
            ("burns_total", N_("MSC burned in all"), "sen"),
            ("reserves.reserves", N_("Attested reserves"), "sen"),
            ("reserves.supply", N_("Supply at the attestation"), "sen"),
            ("reserves.block", N_("Block of the attestation"), "block"),
            ("escrow_outstanding", N_("Escrow outstanding"), "sen"),
        ),
    ),
    (
        "liabilities",
        N_("Owed off-chain (the books at the end block's time)"),
        (
            ("liabilities.credited_not_minted", N_("Payments credited, not yet minted"), "sen"),
            ("liabilities.payouts_unpaid", N_("Payouts not yet paid"), "sen"),
            ("liabilities.refunds_owed", N_("Refunds owed"), "sen"),
            ("liabilities.total", N_("Total owed off-chain"), "sen"),
            ("liabilities.merchants", N_("Merchants owed"), "count"),
            ("liabilities.ledger_entry_id", N_("Last ledger entry counted"), "block"),
        ),
    ),
    (
        "month",
        N_("In the month"),
        (
            ("mints.count", N_("Mints"), "count"),
            ("mints.amount", N_("MSC minted"), "sen"),
            ("burns.count", N_("Burns"), "count"),
            ("burns.amount", N_("MSC burned"), "sen"),
            ("settled_payments", N_("Payments settled"), "count"),
            ("settled_idr", N_("Settlement volume in Rupiah"), "sen"),
            ("settled_pi", N_("Settlement volume in Pi"), "pi"),
            ("active_merchants", N_("Active merchants"), "count"),
            ("payers", N_("Distinct payers"), "count"),
        ),
    ),
    (
        "carbon",
        N_("Carbon credits (tonnes)"),
        (
            ("carbon.issued", N_("Issued in the month"), "tonnes"),
            ("carbon.retired", N_("Retired in the month"), "tonnes"),
            ("carbon.bridged", N_("Bridged back in the month"), "tonnes"),
            ("carbon.issued_total", N_("Issued in all"), "tonnes"),
            ("carbon.retired_total", N_("Retired in all"), "tonnes"),
            ("carbon.bridged_total", N_("Bridged back in all"), "tonnes"),
        ),
    ),
    (
        "audit",
        N_("Audit results"),
        (
            ("anomalies.raised", N_("Anomaly flags raised"), "count"),
            ("anomalies.confirmed", N_("Anomaly flags confirmed"), "count"),
            ("reconciliation.runs", N_("Reconciliation runs"), "count"),
            ("reconciliation.failed_runs", N_("Runs with a failed check"), "count"),
            ("reconciliation.checks", N_("Checks"), "count"),
            ("reconciliation.failed_checks", N_("Failed checks"), "count"),
        ),
    ),
)


def lookup(figures: dict[str, Any], path: str) -> int | None:
    """The exact integer at ``path`` (None: a parent or the value is null)."""
    value: Any = figures
    for part in path.split("."):
        if value is None:
            return None
        value = value[part]
    return None if value is None else int(value)


def sections(report: StoredReport) -> list[tuple[str, str, list[Figure]]]:
    """(key, title msgid, figures) of every section, in order."""
    return [
        (
            key,
            title,
            [Figure(key, path, label, kind, lookup(report.figures, path)) for path, label, kind in rows],
        )
        for key, title, rows in SECTIONS
    ]


@dataclass(frozen=True, slots=True)
class KelurahanRow:
    """One kelurahan's line (27 of the city, then ``unknown`` if it has payments)."""

    code: str
    name: str
    kecamatan: str
    payments: int
    idr: int
    pi: int
    merchants: int


def kelurahan_rows(report: StoredReport) -> list[KelurahanRow]:
    """Every kelurahan of the city (zeros without payments), then ``unknown`` when it has any."""
    stored = {row["code"]: row for row in report.figures["kelurahan"]}

    def of(code: str, name: str, kecamatan: str) -> KelurahanRow:
        row = stored.get(code, {"payments": "0", "idr": "0", "pi": "0", "merchants": "0"})
        return KelurahanRow(
            code,
            name,
            kecamatan,
            int(row["payments"]),
            int(row["idr"]),
            int(row["pi"]),
            int(row["merchants"]),
        )

    rows = [of(k.code, k.name, k.kecamatan) for k in KELURAHAN]
    if UNKNOWN_KELURAHAN in stored:
        rows.append(of(UNKNOWN_KELURAHAN, "", ""))
    return rows


def kelurahan_names() -> dict[str, str]:
    """Kemendagri code -> official name, for the JSON."""
    return {k.code: k.name for k in KELURAHAN}


def as_json(report: StoredReport) -> dict[str, Any]:
    """The report as ``/v1/reports/monthly/{month}`` and the ``.json`` download serve it.

    ``figures`` is the stored canonical JSON parsed (``sha256`` is over its canonical text, see
    :func:`audit.monthly.figures.canonical_json`); integers are decimal strings.
    """
    return {
        "month": report.month,
        "sha256": report.sha256,
        "end_block": {
            "number": str(report.end_block_number),
            "hash": report.end_block_hash,
            "timestamp": str(report.end_block_timestamp),
        },
        "created_at": report.created_at.isoformat(),
        "figures": report.figures,
        "kelurahan_names": kelurahan_names(),
    }
