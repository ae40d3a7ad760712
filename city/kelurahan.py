"""Kota Madiun's 27 kelurahan in its 3 kecamatan, with their Kemendagri codes (reference data).

The codes are the Ministry of Home Affairs' (Kemendagri) administrative area codes, as published
in its decree on area codes and data (``35`` Jawa Timur, ``35.77`` Kota Madiun, ``35.77.01``
Kartoharjo, ``35.77.02`` Manguharjo, ``35.77.03`` Taman; a kelurahan adds ``.1001`` ... ``.1009``).
Merchants register with one of them; reports and the command centre group by its code, never by a
spelling of its name.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from common.errors import ValidationError

CITY_CODE = "35.77"
CITY_NAME = "Kota Madiun"
KECAMATAN: dict[str, str] = {"35.77.01": "Kartoharjo", "35.77.02": "Manguharjo", "35.77.03": "Taman"}
"""The city's kecamatan (districts) by code."""


@dataclass(frozen=True)
class Kelurahan:
    """One kelurahan: its Kemendagri code, official name, and the kecamatan it lies in."""

    code: str
    name: str

    @property
    def kecamatan_code(self) -> str:
        """``35.77.0k``: the first three parts of the code."""
        return self.code.rsplit(".", 1)[0]

    @property
    def kecamatan(self) -> str:
        """The kecamatan's name."""
        return KECAMATAN[self.kecamatan_code]


KELURAHAN: tuple[Kelurahan, ...] = (
    Kelurahan("35.77.01.1001", "Oro-oro Ombo"),
    Kelurahan("35.77.01.1002", "Sukosari"),
    Kelurahan("35.77.01.1003", "Klegen"),
    Kelurahan("35.77.01.1004", "Rejomulyo"),
    Kelurahan("35.77.01.1005", "Pilangbango"),
    Kelurahan("35.77.01.1006", "Tawangrejo"),
    Kelurahan("35.77.01.1007", "Kanigoro"),
    Kelurahan("35.77.01.1008", "Kartoharjo"),
    Kelurahan("35.77.01.1009", "Kelun"),
    Kelurahan("35.77.02.1001", "Manguharjo"),
    Kelurahan("35.77.02.1002", "Sogaten"),
    Kelurahan("35.77.02.1003", "Patihan"),
    Kelurahan("35.77.02.1004", "Ngegong"),
    Kelurahan("35.77.02.1005", "Winongo"),
    Kelurahan("35.77.02.1006", "Madiun Lor"),
    Kelurahan("35.77.02.1007", "Pangongangan"),
    Kelurahan("35.77.02.1008", "Nambangan Lor"),
    Kelurahan("35.77.02.1009", "Nambangan Kidul"),
    Kelurahan("35.77.03.1001", "Mojorejo"),
    Kelurahan("35.77.03.1002", "Pandean"),
    Kelurahan("35.77.03.1003", "Banjarejo"),
    Kelurahan("35.77.03.1004", "Kuncen"),
    Kelurahan("35.77.03.1005", "Manisrejo"),
    Kelurahan("35.77.03.1006", "Kejuron"),
    Kelurahan("35.77.03.1007", "Josenan"),
    Kelurahan("35.77.03.1008", "Demangan"),
    Kelurahan("35.77.03.1009", "Taman"),
)
"""All 27, in code order."""

BY_CODE: dict[str, Kelurahan] = {k.code: k for k in KELURAHAN}


def _key(text: str) -> str:
    """A name as compared: NFKC, case-folded, hyphens and runs of spaces as one space."""
    folded = unicodedata.normalize("NFKC", text).casefold().replace("-", " ")
    return " ".join(folded.split())


_BY_NAME: dict[str, Kelurahan] = {_key(k.name): k for k in KELURAHAN}


class UnknownKelurahanError(ValidationError):
    """The kelurahan is not one of Kota Madiun's."""

    code = "unknown_kelurahan"

    def __init__(self, given: str) -> None:
        super().__init__(
            f"{given!r} is not a kelurahan of {CITY_NAME}: give its name or Kemendagri code "
            f"(e.g. 'Taman' or '35.77.03.1009')",
            kelurahan=given,
        )


def lookup(given: str) -> Kelurahan:
    """The kelurahan ``given`` names: its Kemendagri code, or its name in any case and spacing
    (``"oro oro ombo"`` is Oro-oro Ombo).

    Raises:
        UnknownKelurahanError: no kelurahan of the city has that code or name.
    """
    text = given.strip()
    found = BY_CODE.get(text) or _BY_NAME.get(_key(text))
    if found is None:
        raise UnknownKelurahanError(given)
    return found
