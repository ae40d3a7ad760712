"""The health report as an A4 PDF, in Indonesian ("Laporan Kesehatan UMKM", the default) or English.

The page shows what :class:`~city.credit.report.HealthReport` holds: who, the period, the last three
months of sales in exact Rupiah, active days, refunds and disputes, the LDCI and a table of its
components (value, weight, and the raw figures each came from), and the formula in one line.

Why the labels live here and not in the web app's catalogues: ``city`` sits below ``webui`` in the
layers (docs/architecture.md), so the two languages of this one document are a table in this
module. The font follows ``merchant_reports/pdf_document.py``: DejaVu Sans from the system when
present (any character of a merchant's name), else the PDF core font reduced to Latin-1.
"""

from __future__ import annotations

from pathlib import Path

from fpdf import FPDF

from city.credit.inputs import JAKARTA
from city.credit.ldci import Component
from city.credit.report import HealthReport
from common.errors import ValidationError
from common.money import SEN_PER_RUPIAH

FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"))
PAGE_WIDTH_MM = 194.0  # A4 (210 mm) less two 8 mm margins
ROW_MM = 5.6
MONTH_COLUMNS = (60.0, 40.0, 94.0)
COMPONENT_COLUMNS = (44.0, 24.0, 22.0, 104.0)
LANGUAGES = ("id", "en")

TEXT: dict[str, dict[str, str]] = {
    "title": {"id": "Laporan Kesehatan UMKM", "en": "UMKM Health Report"},
    "simulated": {
        "id": "SIMULASI: merchant pilot, data tidak nyata",
        "en": "SIMULATED: a pilot merchant, not real data",
    },
    "merchant": {"id": "Merchant", "en": "Merchant"},
    "kelurahan": {"id": "Kelurahan", "en": "Kelurahan"},
    "merchant_id": {"id": "ID merchant", "en": "Merchant id"},
    "as_of": {"id": "Per tanggal", "en": "As of"},
    "period": {"id": "Periode skor", "en": "Score period"},
    "generated": {"id": "Dibuat", "en": "Generated"},
    "formula": {"id": "Versi rumus", "en": "Formula version"},
    "source": {"id": "Sumber skor", "en": "Score source"},
    "stored": {"id": "perhitungan harian tersimpan", "en": "the stored daily computation"},
    "computed": {"id": "dihitung saat laporan dibuat", "en": "computed when the report was made"},
    "days_wib": {"id": "hari dalam waktu Asia/Jakarta (WIB)", "en": "days in Asia/Jakarta time (WIB)"},
    "score": {"id": "Skor LDCI", "en": "LDCI score"},
    "sales": {"id": "Penjualan tiga bulan terakhir", "en": "Sales in the last three months"},
    "month": {"id": "Bulan", "en": "Month"},
    "count": {"id": "Transaksi", "en": "Payments"},
    "value": {"id": "Nilai", "en": "Value"},
    "to_date": {"id": "s.d.", "en": "to"},
    "activity": {"id": "Aktivitas", "en": "Activity"},
    "active_days": {"id": "Hari aktif", "en": "Active days"},
    "of": {"id": "dari", "en": "of"},
    "refunds": {"id": "Pengembalian dana", "en": "Refunds"},
    "disputes": {"id": "Sengketa", "en": "Disputes"},
    "components": {"id": "Komponen skor", "en": "Score components"},
    "component": {"id": "Komponen", "en": "Component"},
    "weight": {"id": "Bobot", "en": "Weight"},
    "inputs": {"id": "Data", "en": "Inputs"},
    "not_measured": {"id": "tidak diukur", "en": "not measured"},
    "formula_line": {
        "id": "Skor = 1000 x jumlah(bobot x nilai) / jumlah bobot komponen yang terukur, dibulatkan. "
        "Rumus lengkap dan alasannya: city/credit/README.md.",
        "en": "Score = 1000 x sum(weight x value) / sum of the measured components' weights, rounded. "
        "The full formula and its reasons: city/credit/README.md.",
    },
    "volume": {"id": "Volume transaksi", "en": "Transaction volume"},
    "trend": {"id": "Tren", "en": "Trend"},
    "stability": {"id": "Stabilitas", "en": "Stability"},
    "customer_diversity": {"id": "Keragaman pelanggan", "en": "Customer diversity"},
    "refunds_disputes": {"id": "Pengembalian & sengketa", "en": "Refunds & disputes"},
    "tenure": {"id": "Lama di platform", "en": "Tenure on the platform"},
}
"""Every label of the document in Indonesian and English (``active_days`` serves as both the
activity line and the component's name)."""


class UnknownLanguageError(ValidationError):
    """The report is written in Indonesian (``id``) or English (``en``) only."""

    code = "unknown_language"


def rupiah(sen: int) -> str:
    """Exact Rupiah the Indonesian way: ``Rp 12.000``, ``Rp 12.000,50`` when there are sen."""
    whole, cents = divmod(abs(sen), SEN_PER_RUPIAH)
    text = "Rp " + f"{whole:,}".replace(",", ".") + (f",{cents:02d}" if cents else "")
    return ("-" if sen < 0 else "") + text


def basis_points(bp: int, language: str) -> str:
    """Basis points as a percentage with two decimals (``7345`` -> ``73,45%`` / ``73.45%``)."""
    whole, rest = divmod(bp, 100)
    return f"{whole}{',' if language == 'id' else '.'}{rest:02d}%"


def _inputs_text(component: Component, language: str) -> str:
    parts = []
    for key, value in component.inputs.items():
        shown = (
            rupiah(value)
            if key.endswith("_sen")
            else (f"{value:,}".replace(",", "." if language == "id" else ","))
        )
        parts.append(f"{key}={shown}")
    return ", ".join(parts)


class _Pdf(FPDF):
    """An A4 page with DejaVu Sans when the system has it, else the core font in Latin-1."""

    def __init__(self, title: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.family = "helvetica"
        for folder in FONT_DIRS:
            regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
            if regular.is_file() and bold.is_file():
                self.add_font("DejaVu", "", str(regular))
                self.add_font("DejaVu", "B", str(bold))
                self.family = "DejaVu"
                break
        self.set_title(title)
        self.set_creator("MSC platform")
        self.set_margins(8, 8, 8)
        self.set_auto_page_break(auto=True, margin=10)
        self.add_page()

    def font(self, size: float, bold: bool = False) -> None:
        """Selects the document font at ``size`` points."""
        self.set_font(self.family, "B" if bold else "", size)

    def normalize_text(self, text: str) -> str:
        """Text the current font can draw (Latin-1 only for the core font)."""
        if self.family == "helvetica":
            text = text.encode("latin-1", "replace").decode("latin-1")
        return super().normalize_text(text)

    def row(self, widths: tuple[float, ...], cells: tuple[str, ...], *, bold: bool = False) -> None:
        """One table row (a header when ``bold``)."""
        self.font(8.5, bold=bold)
        for width, text in zip(widths, cells, strict=True):
            self.cell(width, ROW_MM, text, border=1, fill=bold)
        self.ln(ROW_MM)


def render_health_report_pdf(report: HealthReport, language: str = "id") -> bytes:
    """The report as PDF bytes, in ``language`` (``id``, the default, or ``en``).

    Raises:
        UnknownLanguageError: another language.
    """
    if language not in LANGUAGES:
        raise UnknownLanguageError(
            f"the health report is written in {' or '.join(LANGUAGES)}, not {language!r}"
        )

    def t(key: str) -> str:
        return TEXT[key][language]

    pdf = _Pdf(f"{t('title')} — {report.merchant_name}")
    pdf.set_fill_color(235, 235, 235)
    pdf.font(16, bold=True)
    pdf.cell(PAGE_WIDTH_MM, 9, t("title"), new_x="LMARGIN", new_y="NEXT")
    if report.simulated:
        pdf.font(10, bold=True)
        pdf.set_text_color(170, 0, 0)
        pdf.cell(PAGE_WIDTH_MM, 6, t("simulated"), new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(0, 0, 0)
    pdf.font(9)
    kelurahan = report.kelurahan + (f" ({report.kelurahan_code})" if report.kelurahan_code else "")
    generated = report.generated_at.astimezone(JAKARTA).strftime("%Y-%m-%d %H:%M WIB")
    for label, value in (
        (t("merchant"), report.merchant_name),
        (t("kelurahan"), kelurahan),
        (t("merchant_id"), str(report.merchant_id)),
        (t("as_of"), report.as_of.isoformat()),
        (
            t("period"),
            f"{report.period_first.isoformat()} — {report.period_last.isoformat()}, {t('days_wib')}",
        ),
        (t("generated"), generated),
        (t("formula"), report.formula_version),
        (t("source"), t("stored") if report.score_stored else t("computed")),
    ):
        pdf.cell(34, 4.8, label)
        pdf.multi_cell(PAGE_WIDTH_MM - 34, 4.8, value, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.font(14, bold=True)
    pdf.cell(PAGE_WIDTH_MM, 9, f"{t('score')}: {report.ldci.score} / 1000", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1)

    pdf.font(11, bold=True)
    pdf.cell(PAGE_WIDTH_MM, 7, t("sales"), new_x="LMARGIN", new_y="NEXT")
    pdf.row(MONTH_COLUMNS, (t("month"), t("count"), t("value")), bold=True)
    for m in report.months:
        label = m.month
        if m.last == report.as_of:
            label = f"{m.month} ({t('to_date')} {m.last.isoformat()})"
        pdf.row(MONTH_COLUMNS, (label, str(m.count), rupiah(m.value_sen)))
    pdf.ln(2)

    pdf.font(11, bold=True)
    pdf.cell(PAGE_WIDTH_MM, 7, t("activity"), new_x="LMARGIN", new_y="NEXT")
    pdf.font(9)
    for label, value in (
        (t("active_days"), f"{report.active_days} {t('of')} {report.window_days}"),
        (t("refunds"), str(report.refunds)),
        (t("disputes"), str(report.disputes)),
    ):
        pdf.cell(44, 4.8, label)
        pdf.cell(PAGE_WIDTH_MM - 44, 4.8, value, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)

    pdf.font(11, bold=True)
    pdf.cell(PAGE_WIDTH_MM, 7, t("components"), new_x="LMARGIN", new_y="NEXT")
    pdf.row(COMPONENT_COLUMNS, (t("component"), t("value"), t("weight"), t("inputs")), bold=True)
    for c in report.ldci.components:
        value = t("not_measured") if c.value_bp is None else basis_points(c.value_bp, language)
        first_line = (t(c.name), value, basis_points(c.weight_bp, language))
        pdf.font(8.5)
        top = pdf.get_y()
        pdf.set_x(pdf.l_margin + sum(COMPONENT_COLUMNS[:3]))
        pdf.multi_cell(
            COMPONENT_COLUMNS[3], 4.2, _inputs_text(c, language), border=1, new_x="LMARGIN", new_y="NEXT"
        )
        height = pdf.get_y() - top
        pdf.set_xy(pdf.l_margin, top)
        for width, text in zip(COMPONENT_COLUMNS[:3], first_line, strict=True):
            pdf.cell(width, height, text, border=1)
        pdf.set_xy(pdf.l_margin, top + height)
    pdf.ln(2)
    pdf.font(8)
    pdf.multi_cell(PAGE_WIDTH_MM, 4.2, t("formula_line"), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
