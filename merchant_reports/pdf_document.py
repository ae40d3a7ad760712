"""A PDF page set up the same way for every report: a Unicode font from the system, or the PDF
core font when there is none.

Why a system font: a merchant's name or kelurahan can hold any character (``Warung Bu Sri ☕``,
accented letters); the PDF core fonts know only Latin-1. Debian's ``fonts-dejavu-core`` is
embedded (subset) when present; nothing is downloaded. Without it, text is reduced to Latin-1 so
the PDF still renders (a character it cannot show becomes ``?``).
"""

from __future__ import annotations

from pathlib import Path

from fpdf import FPDF

FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"))
FAMILY = "DejaVu"
CORE_FAMILY = "helvetica"


class ReportPdf(FPDF):
    """An FPDF with the report font registered and Latin-1 fallback for the core font."""

    def __init__(self, page_format: str | tuple[float, float], title: str) -> None:
        """A document of one page of ``page_format`` (a name like ``A4`` or millimetres)."""
        super().__init__(orientation="portrait", unit="mm", format=page_format)
        self.family = _register_font(self)
        self.set_title(title)
        self.set_creator("MSC platform")
        self.set_margins(8, 8, 8)
        self.set_auto_page_break(auto=True, margin=10)
        self.add_page()

    def font(self, size: float, bold: bool = False) -> None:
        """Selects the report font at ``size`` points."""
        self.set_font(self.family, "B" if bold else "", size)

    def normalize_text(self, text: str) -> str:
        """Text the current font can draw (Latin-1 only for the core font)."""
        if self.family == CORE_FAMILY:
            text = text.encode("latin-1", "replace").decode("latin-1")
        return super().normalize_text(text)


def _register_font(pdf: FPDF) -> str:
    for folder in FONT_DIRS:
        regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        if regular.is_file() and bold.is_file():
            pdf.add_font(FAMILY, "", str(regular))
            pdf.add_font(FAMILY, "B", str(bold))
            return FAMILY
    return CORE_FAMILY
