"""How the explorer's pages show values: Rupiah and tonnes with the exact integer on hover, links.

Every amount is rendered as ``<span class="amt" data-exact="<integer>" title="<integer> <unit>">``
around its readable form, so a reader (or a test) can always get the exact minor-unit value from
the page itself; formatting is display only and nothing is parsed back.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from markupsafe import Markup, escape

from audit.explorer.tables import Kind
from common.money import format_idr

BASE = "/explorer"


def idr(sen: int | None) -> Markup:
    """Sen as ``Rp 15.000,50`` with the exact sen on hover."""
    if sen is None:
        return Markup("&ndash;")
    return Markup('<span class="amt" data-exact="{0}" title="{0} sen">{1}</span>').format(
        int(sen), format_idr(int(sen))
    )


def tonnes(value: int | None) -> Markup:
    """Whole tonnes of CO2e as ``1.200 t`` (Indonesian grouping) with the exact integer on hover."""
    if value is None:
        return Markup("&ndash;")
    grouped = f"{int(value):,}".replace(",", ".")
    return Markup('<span class="amt" data-exact="{0}" title="{0} t CO2e">{1} t</span>').format(
        int(value), grouped
    )


def short(text: str, keep: int = 6) -> str:
    """``0x1234…abcd`` for long hex; other text unchanged."""
    if len(text) <= 2 + 2 * keep + 1:
        return text
    return f"{text[: 2 + keep]}…{text[-keep:]}"


def timestamp(seconds: int | None) -> str:
    """Unix seconds as UTC ``2026-11-22 13:36:55``."""
    if seconds is None:
        return "-"
    return datetime.fromtimestamp(int(seconds), UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _link(href: str, text: str, title: str | None = None) -> Markup:
    if title is None:
        return Markup('<a href="{0}">{1}</a>').format(href, text)
    return Markup('<a href="{0}" title="{2}" class="mono">{1}</a>').format(href, text, title)


def address(value: str | None) -> Markup:
    """A link to the address page, shortened, full address on hover."""
    if not value:
        return Markup("&ndash;")
    return _link(f"{BASE}/address/{quote(value)}", short(value), value)


def cell(value: Any, kind: Kind | str) -> Markup:
    """One table cell's content for a value of ``kind``."""
    kind = Kind(kind)
    if value is None:
        return Markup("&ndash;")
    if kind is Kind.IDR:
        return idr(int(value))
    if kind is Kind.TONNES:
        return tonnes(int(value))
    if kind is Kind.ADDRESS:
        return address(str(value))
    if kind is Kind.TX:
        return _link(f"{BASE}/tx/{quote(str(value))}", short(str(value)), str(value))
    if kind is Kind.PAYMENT:
        return _link(f"{BASE}/payment/{quote(str(value))}", short(str(value)), str(value))
    if kind is Kind.BLOCK:
        return _link(f"{BASE}/block/{int(value)}", str(int(value)))
    if kind is Kind.TOKEN:
        return _link(f"{BASE}/carbon/vintage/{int(value)}", str(int(value)))
    if kind is Kind.CERTIFICATE:
        return _link(f"{BASE}/certificate/{int(value)}", f"#{int(value)}")
    if kind is Kind.TIME:
        return Markup(escape(timestamp(int(value))))
    if kind is Kind.TXS:
        links = [_link(f"{BASE}/tx/{quote(str(tx))}", short(str(tx)), str(tx)) for tx in value]
        return Markup(" ").join(links)
    if kind is Kind.SCORE:
        return Markup('<span class="num" title="{0}">{1:.3f}</span>').format(float(value), float(value))
    if kind is Kind.CHECK:
        return Markup('<span class="{0}">{1}</span>').format(
            "ok" if value else "fail", "ok" if value else "FAIL"
        )
    if kind is Kind.INT and not isinstance(value, int):
        return Markup(escape(str(value)))
    if kind is Kind.INT:
        return Markup('<span class="num">{0}</span>').format(int(value))
    if isinstance(value, dict | list):
        return Markup('<code class="args">{0}</code>').format(json.dumps(value, sort_keys=True))
    return Markup(escape(str(value)))
