"""Languages and money for the pages people use (checkout now; the portal and the explorer later).

Why here and not in each page package: a Pioneer in Madiun must see the same words, the same
``Rp 12.000`` and the same language choice on every page, so the catalogues, the negotiation and
the formatting live once.

* **Catalogues**: gettext ``.po`` files under ``webui/locale/<lang>/LC_MESSAGES/messages.po``,
  extracted with Babel into the checked-in ``webui/locale/messages.pot`` (``tools/i18n.sh``).
  They are compiled in memory at first use (:func:`translations`), so no binary ``.mo`` is
  checked in or built by hand.
* **Language**: Bahasa Indonesia unless the visitor chose another (``?lang=en``, remembered in a
  cookie) or their browser's ``Accept-Language`` prefers one we have (:func:`negotiate`).
* **Money**: Rupiah through Babel's ``format_currency`` in the ``id_ID`` locale in every language
  (``Rp 12.000``: the way the city writes prices); Pi through ``format_decimal`` with up to 7
  decimals. Amounts are integers of minor units (sen, 10^-7 Pi) until this last step.
* **Templates**: one Jinja2 environment per language with the ``i18n`` extension and the
  language's catalogue installed (newstyle gettext: autoescaped, ``%(name)s`` placeholders), so
  rendering is thread-safe and ``{% trans %}`` / ``_()`` need nothing from the caller.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from babel.dates import format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal
from babel.support import Translations

LOCALE_DIR = Path(__file__).parent / "locale"
LANGUAGES: tuple[str, ...] = ("id", "en")
"""Languages with a catalogue, the default first."""
DEFAULT_LANGUAGE = "id"
"""Bahasa Indonesia: the language of the city the platform serves."""
LANGUAGE_NAMES: Mapping[str, str] = {"id": "Bahasa Indonesia", "en": "English"}
"""Each language named in itself (what the switcher shows)."""
LANGUAGE_COOKIE = "msc_lang"
"""Cookie remembering a visitor's explicit choice."""
LANGUAGE_PARAM = "lang"
"""Query parameter that switches the language (and sets the cookie)."""
MONEY_LOCALE = "id_ID"
"""Locale of every Rupiah and Pi amount, whatever the page's language."""
SEN_PER_RUPIAH = 100
PI_MINOR_PER_PI = 10**7

_RANGE = re.compile(r"^\s*([A-Za-z]{1,8})(?:-[A-Za-z0-9]{1,8})*\s*(?:;\s*q\s*=\s*([0-9.]{1,5}))?\s*$")


def supported(language: str | None) -> str | None:
    """``language`` (any case, any region: ``en-GB``) as one of :data:`LANGUAGES`, or None."""
    if not language:
        return None
    primary = language.strip().split("-")[0].split("_")[0].lower()
    return primary if primary in LANGUAGES else None


def parse_accept_language(header: str | None) -> list[str]:
    """The language ranges of an ``Accept-Language`` header, most preferred first (RFC 9110 12.5.4).

    Malformed ranges are skipped; ``q=0`` means "not this one"; equal weights keep their order.
    """
    weighted: list[tuple[float, int, str]] = []
    for position, part in enumerate((header or "").split(",")[:50]):
        match = _RANGE.match(part)
        if match is None:
            continue
        try:
            weight = float(match.group(2)) if match.group(2) is not None else 1.0
        except ValueError:
            continue
        if 0 < weight <= 1:
            weighted.append((-weight, position, match.group(1).lower()))
    return [language for _w, _p, language in sorted(weighted)]


def negotiate(accept_language: str | None, chosen: Iterable[str | None] = ()) -> str:
    """The page's language: the first supported explicit choice (query parameter, then cookie),
    else the browser's most preferred supported language, else :data:`DEFAULT_LANGUAGE`."""
    for value in chosen:
        language = supported(value)
        if language is not None:
            return language
    for candidate in parse_accept_language(accept_language):
        language = supported(candidate)
        if language is not None:
            return language
    return DEFAULT_LANGUAGE


@lru_cache(maxsize=len(LANGUAGES))
def translations(language: str) -> Translations:
    """The compiled catalogue of ``language`` (read from its ``.po`` once, compiled in memory).

    Raises:
        ValueError: not one of :data:`LANGUAGES`.
    """
    if language not in LANGUAGES:
        raise ValueError(f"no catalogue for language {language!r}; have {', '.join(LANGUAGES)}")
    with (LOCALE_DIR / language / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(fp=compiled)


def gettext(language: str, message: str, **values: Any) -> str:
    """``message`` translated into ``language``, with ``%(name)s`` placeholders filled."""
    text = translations(language).gettext(message)
    return text % values if values else text


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for "mark, translate later"
    """Marks ``message`` for extraction; it is translated where it is shown (:func:`gettext`)."""
    return message


def idr(sen: int) -> str:
    """Sen as Rupiah the Indonesian way: ``Rp 12.000`` (``Rp 12.000,50`` when there are sen)."""
    amount = Decimal(int(sen)) / SEN_PER_RUPIAH
    pattern = "¤ #,##0" if int(sen) % SEN_PER_RUPIAH == 0 else "¤ #,##0.00"
    return str(format_currency(amount, "IDR", format=pattern, locale=MONEY_LOCALE, currency_digits=False))


def idr_rate(rupiah: str | Decimal) -> str:
    """A Rupiah rate given as exact decimal text (``"15000"``), the Indonesian way: ``Rp 15.000``."""
    amount = Decimal(str(rupiah))
    pattern = "¤ #,##0" if amount == amount.to_integral_value() else "¤ #,##0.00######"
    return str(format_currency(amount, "IDR", format=pattern, locale=MONEY_LOCALE, currency_digits=False))


def pi(minor: int) -> str:
    """Pi minor units (10^-7 Pi) as Pi, exact, the Indonesian way: ``3,0303031 Pi``."""
    amount = Decimal(int(minor)) / PI_MINOR_PER_PI
    return f"{format_decimal(amount, format='#,##0.0######', locale=MONEY_LOCALE)} Pi"


def rupiah_input(text: str) -> int | None:
    """Sen of what a customer typed as a Rupiah amount, or None if it is not one.

    Accepts whole Rupiah with Indonesian thousands dots or spaces (``12.000``, ``12 000``,
    ``12000``); refuses decimals, signs and anything else (a price at a stall is whole Rupiah).
    """
    cleaned = re.sub(r"[\s.]", "", text.strip().removeprefix("Rp").removeprefix("rp"))
    if not cleaned.isascii() or not cleaned.isdigit() or len(cleaned) > 15:
        return None
    return int(cleaned) * SEN_PER_RUPIAH


class PageTemplates:
    """Jinja2 templates rendered in a language: one environment per language.

    Each environment autoescapes, has the ``i18n`` extension with its language's catalogue
    (newstyle: translated strings are escaped and take ``%(name)s`` values) and the ``idr`` and
    ``pi`` filters.

    Args:
        directories: Template folders, searched in order (a page package's own, then shared ones).
        filters: Extra filters of the page package.
    """

    def __init__(self, directories: Iterable[Path], filters: Mapping[str, Any] | None = None) -> None:
        loader = jinja2.FileSystemLoader([str(d) for d in directories])
        self._environments: dict[str, jinja2.Environment] = {}
        for language in LANGUAGES:
            env = jinja2.Environment(
                loader=loader,
                autoescape=jinja2.select_autoescape(("html", "xml", "svg")),
                extensions=["jinja2.ext.i18n"],
                undefined=jinja2.StrictUndefined,
            )
            env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
            env.filters.update(idr=idr, pi=pi, **(filters or {}))
            env.globals.update(
                language=language, languages=LANGUAGES, language_names=LANGUAGE_NAMES, rate_text=idr_rate
            )
            self._environments[language] = env

    def render(self, template: str, language: str, /, **context: Any) -> str:
        """``template`` rendered in ``language`` with ``context``."""
        return self._environments[language].get_template(template).render(**context)


NUMBER_LOCALES: Mapping[str, str] = {"id": "id_ID", "en": "en_GB"}
"""Locale of counts, tonnes and dates in each language (Rupiah and Pi stay in :data:`MONEY_LOCALE`):
``1.200`` and ``22 Nov 2026 13.36.55`` in Bahasa Indonesia, ``1,200`` and ``22 Nov 2026, 13:36:55``
in English (day before month, 24-hour clock, as the city reads dates)."""


def number(value: int | Decimal | float, language: str, pattern: str | None = None) -> str:
    """``value`` grouped the way ``language`` writes numbers (``pattern``: a Babel number pattern,
    e.g. ``"#,##0.000"``); display only, the exact value goes beside it."""
    return str(format_decimal(value, format=pattern, locale=NUMBER_LOCALES[language]))


def utc_moment(seconds: int, language: str) -> str:
    """Unix ``seconds`` as a UTC date and time the way ``language`` writes them, ``UTC`` appended."""
    moment = datetime.fromtimestamp(int(seconds), UTC)
    return f"{format_datetime(moment, 'medium', tzinfo=UTC, locale=NUMBER_LOCALES[language])} UTC"


LANGUAGE_COOKIE_SECONDS = 365 * 86400
"""How long a language chosen with ``?lang=`` is remembered (a year)."""


def remember_language(query_language: str | None, response: Any, language: str) -> None:
    """Marks a public page's ``response`` as in ``language`` (``Content-Language``; ``Vary`` on what
    chose it) and, when the visitor chose one with ``?lang=`` (``query_language``), remembers it in
    the language cookie (HttpOnly, SameSite=Lax, Secure): the explorer and the command centre's
    pages share this, so a choice made on one holds on the others."""
    response.headers["Content-Language"] = language
    response.headers["Vary"] = "Accept-Language, Cookie"
    chosen = supported(query_language)
    if chosen is not None:
        response.set_cookie(
            LANGUAGE_COOKIE,
            chosen,
            max_age=LANGUAGE_COOKIE_SECONDS,
            httponly=True,
            samesite="lax",
            secure=True,
        )
