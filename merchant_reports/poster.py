"""The printable QR poster of a merchant: A6 portrait, its name, kelurahan and the QR code of its
checkout link, "Bayar dengan Pi" and three steps for the customer.

The QR code is drawn as vector squares from segno's module matrix (no raster image), so it stays
sharp at any printer resolution; it keeps the four-module quiet zone the standard asks for, and
the same error correction as the checkout's QR images (``M``). The code's area is also a link
annotation to the URL, so the PDF opened on a phone can be tapped.
"""

from __future__ import annotations

from functools import partial

import segno

from checkout.qr import BORDER
from merchant_reports.pdf_document import ReportPdf
from webui.i18n import gettext

A6 = (105.0, 148.0)
"""Width and height of an A6 sheet in millimetres (ISO 216)."""
QR_SIDE_MM = 66.0
"""Printed side of the code, quiet zone included: scannable from arm's length at a counter."""


def poster_pdf(name: str, kelurahan: str, url: str, language: str) -> bytes:
    """The A6 poster of the merchant ``name`` in ``kelurahan`` for its checkout ``url``."""
    _ = partial(gettext, language)  # ``_``: the name tools/i18n.sh extracts messages by
    pdf = ReportPdf(A6, _("Pay with Pi") + f" — {name}")
    pdf.set_auto_page_break(auto=False)
    width = A6[0] - pdf.l_margin - pdf.r_margin
    pdf.set_y(10)
    pdf.font(15, bold=True)
    pdf.multi_cell(width, 7, name, align="C", max_line_height=7)
    pdf.font(10)
    pdf.multi_cell(width, 5, _("Kelurahan %(name)s", name=kelurahan), align="C")
    top = pdf.get_y() + 3
    _draw_qr(pdf, url, (A6[0] - QR_SIDE_MM) / 2, top, QR_SIDE_MM)
    pdf.set_y(top + QR_SIDE_MM + 2)
    pdf.font(18, bold=True)
    pdf.cell(width, 9, _("Pay with Pi"), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.font(8.5)
    for step in (
        _("1. Open the Pi Browser and scan this code."),
        _("2. Type the amount in Rupiah and check the price in Pi."),
        _("3. Approve the payment in your Pi wallet and show the receipt."),
    ):
        pdf.multi_cell(width, 4.2, step, align="L")
    pdf.set_y(A6[1] - 9)
    pdf.font(6.5)
    pdf.cell(width, 4, url, align="C", link=url)
    return bytes(pdf.output())


def _draw_qr(pdf: ReportPdf, url: str, x: float, y: float, side: float) -> None:
    """The QR code of ``url`` as black squares on white, ``side`` mm wide with its quiet zone."""
    code = segno.make(url, error="m")
    modules = code.symbol_size(border=BORDER)[0]
    unit = side / modules
    pdf.set_fill_color(255, 255, 255)
    pdf.rect(x, y, side, side, style="F")
    pdf.set_fill_color(0, 0, 0)
    for row_index, row in enumerate(code.matrix):
        column = 0
        while column < len(row):
            if not row[column]:
                column += 1
                continue
            run = column
            while run < len(row) and row[run]:
                run += 1
            # One rectangle per horizontal run of dark modules: fewer, seamless shapes.
            pdf.rect(
                x + (BORDER + column) * unit,
                y + (BORDER + row_index) * unit,
                (run - column) * unit,
                unit,
                "F",
            )
            column = run
    pdf.link(x, y, side, side, url)
