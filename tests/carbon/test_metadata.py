"""ERC-1155 carbon-credit metadata: content, canonical bytes and content address."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import unicodedata
from decimal import Decimal
from pathlib import Path

import pytest

from carbon.documents.errors import InvalidCIDError
from carbon.documents.metadata import (
    CarbonCreditMetadata,
    DocumentRef,
    Location,
    ProjectType,
    VerificationStatus,
    build_metadata,
    canonical_json,
)
from carbon.documents.store import LocalDocumentStore
from common.errors import ValidationError

PDD = DocumentRef(
    name="Project design document",
    cid="bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e",
    sha256=hashlib.sha256(b"hello world").hexdigest(),
)
VERIFICATION = DocumentRef(
    name="Verification report 2024",
    cid="bafkreidfdrlkeq4m4xnxuyx6iae76fdm4wgl5d4xzsb77ixhyqwumhz244",
    sha256=hashlib.sha256(b"Hello IPFS\n").hexdigest(),
)
CREDIT = CarbonCreditMetadata(
    token_id=2**200 + 7,
    project_id="VCS-4242",
    project_name="Hutan Rakyat Madiun",
    project_type=ProjectType.FOREST,
    standard="Verra VCS",
    methodology="VM0047",
    location=Location(
        country="ID",
        region="Jawa Timur \u2013 Madiun",
        latitude=Decimal("-7.62980"),
        longitude=Decimal("111.5239"),
    ),
    vintage=2024,
    verification_status=VerificationStatus.VERIFIED,
    documents=(VERIFICATION, PDD),
)


def raw_leaf_cid(data: bytes) -> str:
    """CIDv1 of a single-chunk file computed independently: 'b' + base32(0x01 0x55 0x12 0x20 sha256)."""
    binary = bytes([0x01, 0x55, 0x12, 0x20]) + hashlib.sha256(data).digest()
    return "b" + base64.b32encode(binary).decode().lower().rstrip("=")


def test_metadata_content() -> None:
    document = build_metadata(CREDIT)
    metadata = json.loads(document.json_bytes)

    assert metadata["name"] == "Hutan Rakyat Madiun carbon credit, vintage 2024"
    assert "VCS-4242" in metadata["description"]
    assert metadata["decimals"] == 0
    assert metadata["properties"] == {
        "token_id": str(2**200 + 7),
        "project_id": "VCS-4242",
        "project_type": "forest",
        "standard": "Verra VCS",
        "methodology": "VM0047",
        "location": {
            "country": "ID",
            "region": "Jawa Timur \u2013 Madiun",
            "latitude": "-7.6298",
            "longitude": "111.5239",
        },
        "vintage": 2024,
        "verification_status": "verified",
        "documents": [
            {"name": "Project design document", "cid": PDD.cid, "sha256": PDD.sha256},
            {"name": "Verification report 2024", "cid": VERIFICATION.cid, "sha256": VERIFICATION.sha256},
        ],
    }


def test_serialisation_is_canonical_utf8_without_whitespace() -> None:
    document = build_metadata(CREDIT)
    parsed = json.loads(document.json_bytes)
    expected = json.dumps(parsed, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    assert document.json_bytes == expected
    assert "\u2013".encode() in document.json_bytes  # raw UTF-8, not \u escapes
    assert b"\n" not in document.json_bytes and b'": ' not in document.json_bytes
    assert b"." not in json.dumps(parsed["properties"]["vintage"]).encode()  # integers stay integers


def test_cid_and_uri_address_the_exact_bytes() -> None:
    document = build_metadata(CREDIT)
    assert document.cid == raw_leaf_cid(document.json_bytes)
    assert document.uri == f"ipfs://{document.cid}"


def test_same_facts_give_the_same_cid() -> None:
    reordered = dataclasses.replace(CREDIT, documents=(PDD, VERIFICATION))
    decomposed = dataclasses.replace(
        CREDIT,
        documents=(PDD, VERIFICATION),
        project_name=unicodedata.normalize("NFD", CREDIT.project_name + " Café"),
    )
    composed = dataclasses.replace(CREDIT, project_name=CREDIT.project_name + " Café")

    assert build_metadata(reordered) == build_metadata(CREDIT)
    assert build_metadata(decomposed) == build_metadata(composed)
    same_point = dataclasses.replace(
        CREDIT, location=dataclasses.replace(CREDIT.location, latitude=Decimal("-7.6298000"))
    )
    assert build_metadata(same_point).cid == build_metadata(CREDIT).cid


def test_any_change_changes_the_cid() -> None:
    base = build_metadata(CREDIT).cid
    assert build_metadata(dataclasses.replace(CREDIT, vintage=2023)).cid != base
    assert (
        build_metadata(dataclasses.replace(CREDIT, verification_status=VerificationStatus.SUSPENDED)).cid
        != base
    )
    assert build_metadata(dataclasses.replace(CREDIT, documents=(PDD,))).cid != base


@pytest.mark.parametrize(
    "change",
    [
        {"token_id": -1},
        {"token_id": 2**256},
        {"vintage": 1899},
        {"project_id": "  "},
        {"location": Location(country="Indonesia", region="Jawa Timur")},
        {"location": Location(country="ID", region="Jawa Timur", latitude=Decimal("-7.6"))},
        {"location": Location(country="ID", region="X", latitude=Decimal("91"), longitude=Decimal("0"))},
        {"location": Location(country="ID", region="X", latitude=-7.6, longitude=111.5)},  # type: ignore[arg-type]
        {"location": Location(country="ID", region="X", latitude=Decimal("NaN"), longitude=Decimal("0"))},
        {"documents": (PDD, dataclasses.replace(PDD, cid=VERIFICATION.cid))},  # duplicate name
        {"documents": (dataclasses.replace(PDD, sha256="ABC"),)},
    ],
)
def test_invalid_metadata_is_rejected(change: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        build_metadata(dataclasses.replace(CREDIT, **change))  # type: ignore[arg-type]


def test_malformed_document_cid_is_rejected() -> None:
    bad = dataclasses.replace(PDD, cid="QmWmRj3dFDZdb6ABvbmKhEL6TmPbAfBZ1t5BxsEyJrcZhE")
    with pytest.raises(InvalidCIDError):
        build_metadata(dataclasses.replace(CREDIT, documents=(bad,)))


def test_canonical_json_refuses_floats() -> None:
    with pytest.raises(ValidationError):
        canonical_json({"amount": {"tonnes": 1.5}})
    assert canonical_json({"b": [1, "x"], "a": None}) == b'{"a":null,"b":[1,"x"]}'


def test_documents_and_metadata_round_trip_through_a_store(tmp_path: Path) -> None:
    store = LocalDocumentStore(tmp_path)
    report = store.add(b"%PDF-1.7 verification report")
    credit = dataclasses.replace(CREDIT, documents=(DocumentRef.from_stored("Verification report", report),))

    document = build_metadata(credit)
    stored = store.add(document.json_bytes)

    assert stored.cid == document.cid
    cited = json.loads(store.get(document.cid))["properties"]["documents"][0]
    assert store.get(cited["cid"]) == b"%PDF-1.7 verification report"
    assert cited["sha256"] == hashlib.sha256(b"%PDF-1.7 verification report").hexdigest()
