"""The monthly report as CSV (exact integers) and as an A4 PDF (the merchant statements' style).

CSV columns ``figure,kelurahan_code,kelurahan,value``: one row per figure (``figure`` its path in
the JSON, e.g. ``reserves.reserves``; empty value: not available), then four rows per kelurahan
(``kelurahan.payments`` / ``.idr`` / ``.pi`` / ``.merchants``), then the text facts (month, end
block, sha256, liabilities root, ...) as ``fact.*`` rows. Text cells are neutralised
(:mod:`audit.csv_safe`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import partial

from api.monthly.view import Figure, kelurahan_rows, sections
from audit.csv_safe import text_cell
from audit.monthly.store import StoredReport
from merchant_reports.pdf_document import ReportPdf
from webui.i18n import N_, gettext, idr, number, pi

CSV_COLUMNS = ("figure", "kelurahan_code", "kelurahan", "value")
PAGE_WIDTH_MM = 194.0
ROW_MM = 5.2
FOOTNOTE = N_(
    "Exact integers of every figure are in the CSV and JSON of this report; the SHA-256 is over its JSON figures."  # noqa: E501
)


def facts(report: StoredReport) -> list[tuple[str, str]]:
    """The report's text facts: month, end block, sha256, the liabilities root and its publication."""
    f = report.figures
    attestation = f["attestation"]
    reserves = f["reserves"]
    return [
        ("month", report.month),
        ("start", f["start"]),
        ("end", f["end"]),
        ("end_block.number", str(report.end_block_number)),
        ("end_block.hash", report.end_block_hash),
        ("end_block.timestamp", str(report.end_block_timestamp)),
        ("sha256", report.sha256),
        ("simulated", "true" if f["simulated"] else "false"),
        ("reserves.reference", "" if reserves is None else reserves["reference"]),
        ("reserves.tx_hash", "" if reserves is None else reserves["tx_hash"]),
        ("attestation.published", "true" if attestation and attestation["published"] else "false"),
        ("attestation.root", "" if attestation is None else attestation["root"]),
        ("attestation.total", "" if attestation is None else attestation["total"]),
        ("attestation.tx_hash", "" if attestation is None else attestation["tx_hash"]),
    ]


def report_csv(report: StoredReport) -> str:
    """The CSV text (see the module docstring)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for _key, _title, figures in sections(report):
        for figure in figures:
            writer.writerow((figure.path, "", "", "" if figure.value is None else str(figure.value)))
    for k in kelurahan_rows(report):
        for name, value in (
            ("payments", k.payments),
            ("idr", k.idr),
            ("pi", k.pi),
            ("merchants", k.merchants),
        ):
            writer.writerow((f"kelurahan.{name}", text_cell(k.code), text_cell(k.name), str(value)))
    for fact, text in facts(report):
        writer.writerow((f"fact.{fact}", "", "", text_cell(text)))
    return out.getvalue()


def formatted(figure: Figure, language: str) -> str:
    """A figure for people: Rupiah/MSC the Indonesian way, Pi exact, counts grouped."""
    if figure.value is None:
        return "—"
    if figure.kind == "sen":
        return idr(figure.value)
    if figure.kind == "pi":
        return pi(figure.value)
    if figure.kind == "block":
        return str(figure.value)
    return number(figure.value, language)


def report_pdf(report: StoredReport, language: str) -> bytes:
    """The report as an A4 PDF in ``language``."""
    _ = partial(gettext, language)  # ``_``: the name tools/i18n.sh extracts messages by
    title = _("Monthly public report") + f" {report.month}"
    pdf = ReportPdf("A4", title)
    pdf.font(15, bold=True)
    pdf.cell(PAGE_WIDTH_MM, 8, title, new_x="LMARGIN", new_y="NEXT")
    pdf.font(8)
    end_time = datetime.fromtimestamp(report.end_block_timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    attestation = report.figures["attestation"]
    lines = [
        (_("End block"), f"{report.end_block_number} · {end_time}"),
        (_("Block hash"), report.end_block_hash),
        ("SHA-256", report.sha256),
        (
            _("Liabilities root"),
            attestation["root"] if attestation and attestation["published"] else _("not published"),
        ),
    ]
    if attestation and attestation["published"]:
        lines.append((_("Published in"), attestation["tx_hash"]))
    if report.figures["simulated"]:
        lines.append(("[SIMULASI]", _("Includes simulated (pilot) merchants.")))
    for label, value in lines:
        pdf.cell(34, 4.4, label)
        pdf.multi_cell(PAGE_WIDTH_MM - 34, 4.4, value)
    for _key, heading, figures in sections(report):
        pdf.ln(1.5)
        pdf.font(10, bold=True)
        pdf.cell(PAGE_WIDTH_MM, 6, _(heading), new_x="LMARGIN", new_y="NEXT")
        pdf.font(8.5)
        for figure in figures:
            _row(pdf, (110.0, 84.0), (_(figure.label), formatted(figure, language)))
    pdf.ln(1.5)
    pdf.font(10, bold=True)
    pdf.cell(PAGE_WIDTH_MM, 6, _("Per kelurahan"), new_x="LMARGIN", new_y="NEXT")
    pdf.font(8)
    columns = (60.0, 20.0, 44.0, 50.0, 20.0)
    _row(pdf, columns, (_("Kelurahan"), _("Payments"), _("Rupiah"), "Pi", _("Merchants")), bold=True)
    for k in kelurahan_rows(report):
        name = k.name or _("Not in the city")
        _row(pdf, columns, (name, str(k.payments), idr(k.idr), pi(k.pi), str(k.merchants)))
    pdf.ln(2)
    pdf.font(7.5)
    pdf.multi_cell(
        PAGE_WIDTH_MM,
        3.8,
        _(FOOTNOTE),
    )
    return bytes(pdf.output())


def _row(pdf: ReportPdf, widths: Sequence[float], cells: Sequence[str], *, bold: bool = False) -> None:
    if bold:
        pdf.font(8, bold=True)
    for width, cell in zip(widths, cells, strict=True):
        pdf.cell(width, ROW_MM, cell, border="B")
    pdf.ln(ROW_MM)
    if bold:
        pdf.font(8)
