"""The monthly statement as an A4 PDF: who and which month, the sales of each day, the month's
payouts, the merchant's ledger balances, and how to check every figure on the public explorer.

The figures are the :class:`~merchant_reports.statement.Statement`'s integers, formatted the
Indonesian way (``Rp 12.000``); the CSV carries the same figures as exact integers.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

from merchant_reports.csv_files import explorer_note
from merchant_reports.pdf_document import ReportPdf
from merchant_reports.periods import JAKARTA
from merchant_reports.statement import Statement
from webui.i18n import gettext, idr, pi

PAGE_WIDTH_MM = 194.0  # A4 (210 mm) less two 8 mm margins
DAY_COLUMNS = (23.0, 14.0, 32.0, 30.0, 31.0, 32.0, 32.0)
PAYOUT_COLUMNS = (72.0, 22.0, 34.0, 30.0, 36.0)
ROW_MM = 5.2


def statement_pdf(st: Statement, language: str, explorer_url: str) -> bytes:
    """The statement ``st`` rendered in ``language``."""
    _ = partial(gettext, language)  # ``_``: the name tools/i18n.sh extracts messages by
    pdf = ReportPdf("A4", _("Monthly statement") + f" {st.month} — {st.merchant_name}")
    pdf.font(15, bold=True)
    pdf.cell(PAGE_WIDTH_MM, 8, _("Monthly statement") + f" {st.month}", new_x="LMARGIN", new_y="NEXT")
    pdf.font(9)
    for label, value in (
        (_("Merchant"), st.merchant_name),
        (_("Kelurahan"), st.kelurahan),
        (_("Merchant id"), str(st.merchant_id)),
        (_("MSC address"), st.evm_address),
        (_("Period"), f"{st.month} — " + _("Days in Asia/Jakarta time (WIB)")),
        (_("Generated"), st.generated_at.astimezone(JAKARTA).strftime("%Y-%m-%d %H:%M WIB")),
    ):
        pdf.cell(34, 4.6, label)
        pdf.multi_cell(PAGE_WIDTH_MM - 34, 4.6, value)
    pdf.ln(2)
    header = (
        _("Day"),
        _("Sales"),
        _("Gross"),
        _("Refunds"),
        _("Guarantee fund"),
        _("Net"),
        _("Conversion fee"),
    )
    _row(pdf, DAY_COLUMNS, header, bold=True, fill=True)
    for d in st.days:
        if d.sales or d.refunds or d.covered:
            figures = (
                d.day.isoformat(),
                str(d.sales),
                idr(d.gross),
                idr(d.refunds),
                idr(d.covered),
                idr(d.net),
                pi(d.fees_pi),
            )
            _row(pdf, DAY_COLUMNS, figures)
    totals = (
        _("Total"),
        str(st.sales),
        idr(st.gross),
        idr(st.refunds),
        idr(st.covered),
        idr(st.net),
        pi(st.fees_pi),
    )
    _row(pdf, DAY_COLUMNS, totals, bold=True, fill=True)
    pdf.font(7.5)
    pdf.multi_cell(
        PAGE_WIDTH_MM,
        3.8,
        _(
            "Days without sales or refunds are left out. Refunds came out of the shop's escrow; the "
            "guarantee fund paid the refunds of payments already released (the shop owes them to the "
            "fund). The conversion fee is the Pi the platform kept from the customers' payments; the "
            "Rupiah figures are what the shop was credited."
        ),
    )
    pdf.ln(3)
    pdf.font(11, bold=True)
    pdf.cell(PAGE_WIDTH_MM, 6, _("Payouts"), new_x="LMARGIN", new_y="NEXT")
    payout_header = (_("Payout"), _("Day"), _("Amount"), _("Fee"), _("To the bank"))
    _row(pdf, PAYOUT_COLUMNS, payout_header, bold=True, fill=True)
    for p in st.payouts:
        _row(pdf, PAYOUT_COLUMNS, (p.payout_id, p.day.isoformat(), idr(p.amount), idr(p.fee), idr(p.net)))
    payout_totals = (_("Total"), "", idr(st.payouts_amount), idr(st.payouts_fee), idr(st.payouts_net))
    _row(pdf, PAYOUT_COLUMNS, payout_totals, bold=True, fill=True)
    pdf.ln(3)
    pdf.font(11, bold=True)
    pdf.cell(PAGE_WIDTH_MM, 6, _("Balances"), new_x="LMARGIN", new_y="NEXT")
    pdf.font(9)
    for name, amount in (
        (_("Minted to escrow"), st.minted),
        (_("Released from escrow"), st.released),
        (_("Payouts reversed"), st.reversed),
    ):
        _row(pdf, (100.0, 40.0), (name, idr(amount)))
    _row(pdf, (100.0, 40.0, 40.0), (_("Ledger account"), _("Opening"), _("Closing")), bold=True, fill=True)
    for account in st.accounts:
        _row(pdf, (100.0, 40.0, 40.0), (account.code, idr(account.opening), idr(account.closing)))
    pdf.ln(3)
    pdf.font(8)
    pdf.multi_cell(PAGE_WIDTH_MM, 4, explorer_note(language, explorer_url))
    return bytes(pdf.output())


def _row(
    pdf: ReportPdf, widths: Sequence[float], cells: Sequence[str], bold: bool = False, fill: bool = False
) -> None:
    """One table row: the first cell left-aligned, the figures right-aligned."""
    pdf.font(8.5, bold=bold)
    pdf.set_fill_color(235, 235, 235)
    for index, (width, text) in enumerate(zip(widths, cells, strict=True)):
        pdf.cell(width, ROW_MM, text, border="B", align="L" if index == 0 else "R", fill=fill)
    pdf.ln(ROW_MM)
