"""The city's reference data: 27 kelurahan, 9 in each of 3 kecamatan, looked up by name or code."""

from __future__ import annotations

from collections import Counter

import pytest

from city.kelurahan import BY_CODE, KECAMATAN, KELURAHAN, UnknownKelurahanError, lookup


def test_27Kelurahan_9PerKecamatan_withUniqueCodesAndNames() -> None:
    assert len(KELURAHAN) == 27
    assert Counter(k.kecamatan for k in KELURAHAN) == {"Kartoharjo": 9, "Manguharjo": 9, "Taman": 9}
    assert len({k.code for k in KELURAHAN}) == 27
    assert len({k.name.casefold() for k in KELURAHAN}) == 27
    assert {k.kecamatan_code for k in KELURAHAN} == set(KECAMATAN)
    assert all(k.code.startswith("35.77.0") and len(k.code) == 13 for k in KELURAHAN)
    assert [k.code for k in KELURAHAN] == sorted(BY_CODE)


@pytest.mark.parametrize(
    ("given", "code"),
    [
        ("Oro-oro Ombo", "35.77.01.1001"),
        ("oro oro ombo", "35.77.01.1001"),
        ("  ORO-ORO   OMBO ", "35.77.01.1001"),
        ("Oro-Oro-Ombo", "35.77.01.1001"),
        ("nambangan kidul", "35.77.02.1009"),
        ("Madiun-Lor", "35.77.02.1006"),
        ("taman", "35.77.03.1009"),
        ("35.77.03.1009", "35.77.03.1009"),
        (" 35.77.01.1008 ", "35.77.01.1008"),
    ],
)
def test_lookup_byNameInAnyCaseSpacingOrHyphenation_orByCode(given: str, code: str) -> None:
    found = lookup(given)
    assert found.code == code
    assert found is BY_CODE[code]


def test_lookup_givesTheKecamatan() -> None:
    assert (lookup("Kejuron").kecamatan, lookup("Kejuron").kecamatan_code) == ("Taman", "35.77.03")
    assert lookup("Klegen").kecamatan == "Kartoharjo"
    assert lookup("Winongo").kecamatan == "Manguharjo"


@pytest.mark.parametrize("given", ["", "Y", "Jakarta", "35.77.03.1010", "35.77.03", "Tamanan", "@Taman"])
def test_unknown_isAValidationError_namedUnknownKelurahan(given: str) -> None:
    with pytest.raises(UnknownKelurahanError) as raised:
        lookup(given)
    assert raised.value.code == "unknown_kelurahan"
    assert raised.value.status_code == 422
