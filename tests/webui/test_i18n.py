"""The people pages' languages and money: negotiation, catalogues in sync, Indonesian formatting."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from webui import i18n
from webui.i18n import LOCALE_DIR, PageTemplates, idr, idr_rate, negotiate, pi, rupiah_input


@pytest.mark.parametrize(
    ("header", "chosen", "expected"),
    [
        (None, (), "id"),
        ("", (), "id"),
        ("en-US,en;q=0.9", (), "en"),
        ("fr-FR, en;q=0.5, id;q=0.8", (), "id"),
        ("fr, de;q=0.9", (), "id"),
        ("en;q=0, id", (), "id"),
        ("en;q=abc, en-GB;q=0.3", (), "en"),
        ("en", ("id", None), "id"),
        ("id", (None, "en"), "en"),
        ("id", ("xx", "EN"), "en"),
    ],
)
def test_negotiate_prefers_choice_then_browser_then_indonesian(
    header: str | None, chosen: tuple[str | None, ...], expected: str
) -> None:
    assert negotiate(header, chosen) == expected


def test_money_is_written_the_indonesian_way() -> None:
    assert idr(1_200_000) == "Rp 12.000"
    assert idr(123_456_789) == "Rp 1.234.567,89"
    assert idr(0) == "Rp 0"
    assert idr_rate("15000") == "Rp 15.000"
    assert pi(30_303_031) == "3,0303031 Pi"
    assert pi(10**7) == "1,0 Pi"


@pytest.mark.parametrize(
    ("text", "sen"),
    [("12.000", 1_200_000), ("12000", 1_200_000), (" Rp 12 000 ", 1_200_000), ("1", 100)],
)
def test_rupiah_input_reads_whole_rupiah(text: str, sen: int) -> None:
    assert rupiah_input(text) == sen


@pytest.mark.parametrize("text", ["", "12,5", "-5", "1e3", "١٢", "abc", "9" * 16])
def test_rupiah_input_refuses_anything_else(text: str) -> None:
    assert rupiah_input(text) is None


def test_catalogues_translate_every_message_of_the_template() -> None:
    with (LOCALE_DIR / "messages.pot").open("rb") as f:
        template = {m.id for m in read_po(f) if m.id}
    with (LOCALE_DIR / "id" / "LC_MESSAGES" / "messages.po").open("rb") as f:
        indonesian = {m.id: m.string for m in read_po(f, locale="id") if m.id}
    assert set(indonesian) == template
    assert [message for message, text in indonesian.items() if not text] == []
    assert i18n.gettext("id", "Pay with Pi") == "Bayar dengan Pi"
    assert i18n.gettext("en", "Pay with Pi") == "Pay with Pi"
    assert i18n.gettext("id", "Kelurahan %(name)s", name="Taman") == "Kelurahan Taman"


def test_templates_render_in_each_language_and_escape(tmp_path: Path) -> None:
    (tmp_path / "page.html").write_text('{{ _("Pay with Pi") }} {{ amount | idr }} {{ name }} {{ language }}')
    pages = PageTemplates([tmp_path])
    assert (
        pages.render("page.html", "id", amount=1_200_000, name="<b>")
        == "Bayar dengan Pi Rp 12.000 &lt;b&gt; id"
    )
    assert pages.render("page.html", "en", amount=50, name="x") == "Pay with Pi Rp 0,50 x en"
