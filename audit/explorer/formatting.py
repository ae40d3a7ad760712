"""How the explorer's pages show values: Rupiah and tonnes with the exact integer on hover, links.

Every amount is rendered as ``<span class="amt" data-exact="<integer>" title="<integer> <unit>">``
around its readable form, so a reader (or a test) can always get the exact minor-unit value from
the page itself; formatting is display only and nothing is parsed back. Rupiah are written the
Indonesian way in every language (as on every page people use, :mod:`webui.i18n`); tonnes, scores
and times the way the page's language writes them, times with their exact Unix seconds on hover.
Words (statuses, check results) are translated; their raw values stay in ``data-`` attributes.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from markupsafe import Markup, escape

from audit.explorer.tables import Kind
from common.money import format_idr
from webui.i18n import DEFAULT_LANGUAGE, N_, gettext, number, utc_moment

BASE = "/explorer"

STATUS_WORDS: dict[str, str] = {
    # Escrow payments (indexer.models.EscrowStatus).
    "held": N_("held"),
    "disputed": N_("disputed"),
    "released": N_("released"),
    "refunded": N_("refunded"),
    "split": N_("split"),
    # Staking locks (StakingLockStatus) and anomaly flags' review (open, confirmed, dismissed).
    "open": N_("open"),
    "withdrawn": N_("withdrawn"),
    "exited": N_("exited"),
    "confirmed": N_("confirmed"),
    "dismissed": N_("dismissed"),
    # Bridge-backs to the registry (CarbonBridgeStatus).
    "pending": N_("pending"),
    "refused": N_("refused"),
}
"""The statuses the mirror stores, each an English msgid (the stored value is the API's)."""


def idr(sen: int | None) -> Markup:
    """Sen as ``Rp 15.000,50`` with the exact sen on hover."""
    if sen is None:
        return Markup("&ndash;")
    return Markup('<span class="amt" data-exact="{0}" title="{0} sen">{1}</span>').format(
        int(sen), format_idr(int(sen))
    )


def tonnes(value: int | None, language: str = DEFAULT_LANGUAGE) -> Markup:
    """Whole tonnes of CO2e as ``1.200 t`` (``1,200 t`` in English) with the exact integer on hover."""
    if value is None:
        return Markup("&ndash;")
    return Markup('<span class="amt" data-exact="{0}" title="{0} t CO2e">{1} t</span>').format(
        int(value), number(int(value), language)
    )


def status(value: str | None, language: str = DEFAULT_LANGUAGE) -> Markup:
    """A stored status in the page's language, the stored value in ``data-status``."""
    if value is None:
        return Markup("&ndash;")
    word = STATUS_WORDS.get(str(value))
    shown = gettext(language, word) if word is not None else str(value)
    return Markup('<span class="status" data-status="{0}">{1}</span>').format(str(value), shown)


def short(text: str, keep: int = 6) -> str:
    """``0x1234…abcd`` for long hex; other text unchanged."""
    if len(text) <= 2 + 2 * keep + 1:
        return text
    return f"{text[: 2 + keep]}…{text[-keep:]}"


def timestamp(seconds: int | None, language: str = DEFAULT_LANGUAGE) -> Markup:
    """Unix seconds as a UTC time in the language (``22 Nov 2026 13.36.55 UTC``), in a ``<time>``
    whose ``title`` is the exact Unix seconds."""
    if seconds is None:
        return Markup("-")
    moment = datetime.fromtimestamp(int(seconds), UTC)
    return Markup('<time datetime="{0}" title="{1}">{2}</time>').format(
        moment.strftime("%Y-%m-%dT%H:%M:%SZ"), int(seconds), utc_moment(int(seconds), language)
    )


def _link(href: str, text: str, title: str | None = None) -> Markup:
    if title is None:
        return Markup('<a href="{0}">{1}</a>').format(href, text)
    return Markup('<a href="{0}" title="{2}" class="mono">{1}</a>').format(href, text, title)


def address(value: str | None) -> Markup:
    """A link to the address page, shortened, full address on hover."""
    if not value:
        return Markup("&ndash;")
    return _link(f"{BASE}/address/{quote(value)}", short(value), value)


def cell(value: Any, kind: Kind | str, language: str = DEFAULT_LANGUAGE) -> Markup:
    """One table cell's content for a value of ``kind``, in ``language``."""
    kind = Kind(kind)
    if value is None:
        return Markup("&ndash;")
    if kind is Kind.IDR:
        return idr(int(value))
    if kind is Kind.TONNES:
        return tonnes(int(value), language)
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
        return timestamp(int(value), language)
    if kind is Kind.TXS:
        links = [_link(f"{BASE}/tx/{quote(str(tx))}", short(str(tx)), str(tx)) for tx in value]
        return Markup(" ").join(links)
    if kind is Kind.SCORE:
        return Markup('<span class="num" title="{0}">{1}</span>').format(
            float(value), number(float(value), language, "0.000")
        )
    if kind is Kind.CHECK:
        return Markup('<span class="{0}">{1}</span>').format(
            "ok" if value else "fail", gettext(language, "ok") if value else gettext(language, "FAIL")
        )
    if kind is Kind.INT and not isinstance(value, int):
        return Markup(escape(str(value)))
    if kind is Kind.INT:
        return Markup('<span class="num">{0}</span>').format(int(value))
    if isinstance(value, dict | list):
        return Markup('<code class="args">{0}</code>').format(json.dumps(value, sort_keys=True))
    return Markup(escape(str(value)))
