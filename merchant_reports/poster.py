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
QR_MIN_SIDE_MM = 40.0
"""The smallest side the code gets when a long name takes room (still easily scanned)."""
URL_TOP_MM = 139.0
"""Where the link is printed at the foot of the sheet."""
TITLE_MM = 9.0
STEP_LINE_MM = 4.2


def poster_pdf(name: str, kelurahan: str, url: str, language: str) -> bytes:
    """The A6 poster of the merchant ``name`` in ``kelurahan`` for its checkout ``url``.

    Everything stays on the one sheet: a long name is set smaller, and the code gives up the
    space the text needs (never below :data:`QR_MIN_SIDE_MM`).
    """
    _ = partial(gettext, language)  # ``_``: the name tools/i18n.sh extracts messages by
    pdf = ReportPdf(A6, _("Pay with Pi") + f" — {name}")
    pdf.set_auto_page_break(auto=False)
    width = A6[0] - pdf.l_margin - pdf.r_margin
    steps = (
        _("1. Open the Pi Browser and scan this code."),
        _("2. Type the amount in Rupiah and check the price in Pi."),
        _("3. Approve the payment in your Pi wallet and show the receipt."),
    )
    pdf.font(8.5)
    steps_height = sum(_height(pdf, width, STEP_LINE_MM, step) for step in steps)
    pdf.set_y(10)
    pdf.font(15, bold=True)
    if _height(pdf, width, 7, name) > 14:  # more than two lines
        pdf.font(10, bold=True)
    pdf.multi_cell(width, 7 if pdf.font_size_pt == 15 else 5, name, align="C")
    pdf.font(10)
    pdf.multi_cell(width, 5, _("Kelurahan %(name)s", name=kelurahan), align="C")
    top = pdf.get_y() + 3
    room = URL_TOP_MM - top - 2 - TITLE_MM - steps_height - 2
    side = max(QR_MIN_SIDE_MM, min(QR_SIDE_MM, room))
    _draw_qr(pdf, url, (A6[0] - side) / 2, top, side)
    pdf.set_y(top + side + 2)
    pdf.font(18, bold=True)
    pdf.cell(width, TITLE_MM, _("Pay with Pi"), align="C", new_x="LMARGIN", new_y="NEXT")
    pdf.font(8.5)
    for step in steps:
        pdf.multi_cell(width, STEP_LINE_MM, step, align="L")
    pdf.set_y(URL_TOP_MM)
    pdf.font(6.5)
    pdf.cell(width, 4, url, align="C", link=url)
    return bytes(pdf.output())


def _height(pdf: ReportPdf, width: float, line: float, text: str) -> float:
    """The height ``text`` takes in the current font when wrapped to ``width``."""
    height = pdf.multi_cell(width, line, text, dry_run=True, output="HEIGHT")
    assert isinstance(height, float | int)
    return float(height)


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
