"""Shared field types of request bodies: strict integers for money and quantities, clean free text.

**Integers.** JSON ``true``, ``"100"`` and ``1.0`` are not amounts: pydantic's lax mode would read them
as 1, 100 and 1, so a client bug (or a probe) would move money. Every amount, price, quantity, id and
time in a request is a strict JSON integer, bounded by what stores it: ``Bigint`` (SQL BIGINT, the
platform's money columns), ``Uint256`` / ``Uint64`` / ``Uint40`` (the contracts' argument types). A
field narrows further with ``Annotated[Bigint, Field(le=...)]``: the type's own ``ge``/``le`` come after
a plain ``= Field(le=...)`` and would win over it (``= Field(gt=0)`` is fine: ``gt`` is another key).

**Free text.** Names, descriptions, references and reasons end up in SQL, in bank files, on chain,
in CSV exports and on pages. NUL, the other C0/C1 controls, line/paragraph separators and bidirectional
overrides (which make ``txt.exe`` show as ``exe.txt``) are refused, not stripped: the caller learns its
value is wrong instead of having it silently changed. Text is normalised to NFC (one code-point
sequence per visible string, so equal names compare equal) and its length is counted in code points
after normalisation.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from typing import Annotated

from pydantic import AfterValidator, Field, Strict, StringConstraints

INT64_MAX = 2**63 - 1
"""Largest SQL BIGINT: money, quantities and times stored in SQL."""
UINT40_MAX = 2**40 - 1
UINT64_MAX = 2**64 - 1
UINT256_MAX = 2**256 - 1

Bigint = Annotated[int, Strict(), Field(ge=0, le=INT64_MAX)]
"""A non-negative strict JSON integer that fits a SQL BIGINT (sen, Pi minor units, tonnes, seconds)."""
Uint40 = Annotated[int, Strict(), Field(ge=0, le=UINT40_MAX)]
"""A strict JSON integer of a contract's ``uint40`` (unix seconds on chain)."""
Uint64 = Annotated[int, Strict(), Field(ge=0, le=UINT64_MAX)]
"""A strict JSON integer of a contract's ``uint64``."""
Uint256 = Annotated[int, Strict(), Field(ge=0, le=UINT256_MAX)]
"""A strict JSON integer of a contract's ``uint256`` (token ids, salts, nonces, deadlines)."""

# Bidirectional formatting characters (Unicode's Bidi_Control property): they reorder what a reader
# sees without being visible themselves (CVE-2021-42574, "Trojan Source").
BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Cc = C0 controls, DEL and C1 controls; Cs = lone surrogates (not text, unencodable in UTF-8);
# Zl/Zp = line and paragraph separators (line breaks inside a one-line field).
REFUSED_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})


def refused_character(value: str) -> tuple[int, str] | None:
    """The position and character of the first character free text may not contain, or None."""
    for index, char in enumerate(value):
        if char in BIDI_CONTROLS or unicodedata.category(char) in REFUSED_CATEGORIES:
            return index, char
    return None


def clean_text(max_length: int) -> Callable[[str], str]:
    """A validator: NFC-normalises text, refuses controls and bidi overrides, limits its code points."""

    def check(value: str) -> str:
        value = unicodedata.normalize("NFC", value)
        found = refused_character(value)
        if found is not None:
            index, char = found
            raise ValueError(
                f"contains U+{ord(char):04X} ({unicodedata.name(char, 'a control character')}) at "
                f"position {index}: control, separator and bidirectional-override characters are not allowed"
            )
        if len(value) > max_length:
            raise ValueError(f"is {len(value)} characters long after NFC normalisation; at most {max_length}")
        return value

    return check


CleanCode = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=64),
    AfterValidator(clean_text(64)),
]
"""Clean one-line text of at most 64 code points (asset codes and the like)."""
CleanShortText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    AfterValidator(clean_text(100)),
]
"""Clean one-line text of at most 100 code points (places)."""
CleanName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
    AfterValidator(clean_text(200)),
]
"""Clean one-line text of at most 200 code points (names, bank accounts, descriptions)."""
CleanText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=500),
    AfterValidator(clean_text(500)),
]
"""Clean one-line text of at most 500 code points (reasons, references, certificate text)."""


def email_shape(value: str) -> str:
    """A validator: one ``@`` between a local part and a domain with a dot, no spaces (deliverability
    is the invitation's business: the link goes to that address and nowhere else)."""
    local, at, domain = value.rpartition("@")
    if not at or not local or "." not in domain.strip(".") or any(c.isspace() for c in value):
        raise ValueError("is not an e-mail address (name@domain.example)")
    return value


Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=3, max_length=254),
    AfterValidator(clean_text(254)),
    AfterValidator(email_shape),
]
"""A clean e-mail address of at most 254 code points (RFC 5321's limit)."""
