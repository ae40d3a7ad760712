"""ERC-1155 metadata JSON for carbon-credit tokens, content-addressed like the documents it cites.

A token's metadata ties the on-chain id to the project it stands for and to the CIDs and SHA-256
checksums of the project's verification documents. It is serialised canonically (sorted keys, no
whitespace, UTF-8, Unicode NFC, documents in a fixed order, numbers only as integers or decimal
strings) so the same facts always give the same bytes and therefore the same CID: anyone can rebuild
the JSON and check the ``ipfs://`` URI the contract returns.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from carbon.documents.cid import cid_for_bytes, decode_cid
from carbon.documents.store import StoredDocument
from common.errors import ValidationError

ERC1155_DECIMALS = 0
MAX_TOKEN_ID = 2**256 - 1
MIN_VINTAGE = 1990
MAX_VINTAGE = 2100
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_COUNTRY_CODE = re.compile(r"[A-Z]{2}")


class ProjectType(StrEnum):
    """Kind of project the credits come from."""

    FOREST = "forest"
    RENEWABLE_ENERGY = "renewable_energy"
    ENERGY_EFFICIENCY = "energy_efficiency"
    OTHER = "other"


class VerificationStatus(StrEnum):
    """Where the project stands with its verification body."""

    PENDING = "pending"
    VERIFIED = "verified"
    SUSPENDED = "suspended"
    REJECTED = "rejected"


@dataclass(frozen=True)
class DocumentRef:
    """A verification document as cited in the metadata.

    Attributes:
        name: Human-readable title, e.g. "Verification report 2024".
        cid: CIDv1 (base32) of the document.
        sha256: Hex SHA-256 of the document.
    """

    name: str
    cid: str
    sha256: str

    @classmethod
    def from_stored(cls, name: str, stored: StoredDocument) -> DocumentRef:
        """Cite a document just added to a :class:`~carbon.documents.store.DocumentStore`."""
        return cls(name=name, cid=stored.cid, sha256=stored.sha256)


@dataclass(frozen=True)
class Location:
    """Where the project is.

    Attributes:
        country: ISO 3166-1 alpha-2 code, e.g. "ID".
        region: Province / region name.
        latitude: Decimal degrees (a :class:`~decimal.Decimal`, never a float), or None.
        longitude: Decimal degrees, or None.
    """

    country: str
    region: str
    latitude: Decimal | None = None
    longitude: Decimal | None = None


@dataclass(frozen=True)
class CarbonCreditMetadata:
    """The facts behind one carbon-credit token id.

    Attributes:
        token_id: ERC-1155 token id (uint256).
        project_id: Registry identifier of the project, e.g. "VCS-1234".
        project_name: Display name of the project.
        project_type: Kind of project.
        standard: Certification standard, e.g. "Verra VCS".
        methodology: Methodology applied, e.g. "VM0007".
        location: Where the project is.
        vintage: Year the emission reductions happened.
        verification_status: Current verification status.
        documents: Verification documents cited (order does not matter).
        description: Free text; a sentence is generated from the facts when empty.
    """

    token_id: int
    project_id: str
    project_name: str
    project_type: ProjectType
    standard: str
    methodology: str
    location: Location
    vintage: int
    verification_status: VerificationStatus
    documents: tuple[DocumentRef, ...] = field(default_factory=tuple)
    description: str = ""


@dataclass(frozen=True)
class MetadataDocument:
    """Serialised metadata and its address.

    Attributes:
        json_bytes: Canonical UTF-8 JSON, exactly the bytes to add to IPFS.
        cid: CIDv1 of those bytes.
        uri: ``ipfs://<cid>``, the token URI to set on-chain.
    """

    json_bytes: bytes
    cid: str
    uri: str


def canonical_json(value: Any) -> bytes:
    """Serialise ``value`` canonically: sorted keys, no whitespace, UTF-8, NFC strings, no floats.

    Raises:
        ValidationError: ``value`` contains a float (or NaN/infinity), which has no single spelling.
    """
    normalised = _normalise(value)
    text = json.dumps(normalised, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.encode("utf-8")


def _normalise(value: Any) -> Any:
    if isinstance(value, float):
        raise ValidationError(
            "metadata may not contain floats; use integers or decimal strings", value=repr(value)
        )
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, dict):
        return {_normalise(key): _normalise(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_normalise(item) for item in value]
    return value


def metadata_dict(credit: CarbonCreditMetadata) -> dict[str, Any]:
    """The ERC-1155 metadata object for ``credit`` after validating it.

    Raises:
        ValidationError: a field is missing or out of range (the message names it).
        InvalidCIDError: a cited document's CID is malformed.
    """
    _validate(credit)
    return {
        "name": f"{credit.project_name} carbon credit, vintage {credit.vintage}",
        "description": credit.description or _default_description(credit),
        "decimals": ERC1155_DECIMALS,
        "properties": {
            "token_id": str(credit.token_id),
            "project_id": credit.project_id,
            "project_type": credit.project_type.value,
            "standard": credit.standard,
            "methodology": credit.methodology,
            "location": _location_dict(credit.location),
            "vintage": credit.vintage,
            "verification_status": credit.verification_status.value,
            "documents": [
                {"name": doc.name, "cid": doc.cid, "sha256": doc.sha256}
                for doc in sorted(credit.documents, key=lambda doc: (doc.name, doc.cid))
            ],
        },
    }


def build_metadata(credit: CarbonCreditMetadata) -> MetadataDocument:
    """Canonical metadata JSON for ``credit`` with its CID and ``ipfs://`` URI."""
    json_bytes = canonical_json(metadata_dict(credit))
    cid = cid_for_bytes(json_bytes)
    return MetadataDocument(json_bytes=json_bytes, cid=cid, uri=f"ipfs://{cid}")


def _default_description(credit: CarbonCreditMetadata) -> str:
    return (
        f"One tonne of CO2e from {credit.project_type.value.replace('_', ' ')} project "
        f"{credit.project_id} ({credit.location.region}, {credit.location.country}), vintage "
        f"{credit.vintage}, {credit.standard} {credit.methodology}."
    )


def _location_dict(location: Location) -> dict[str, str]:
    out = {"country": location.country, "region": location.region}
    if location.latitude is not None and location.longitude is not None:
        out["latitude"] = _decimal_text(location.latitude)
        out["longitude"] = _decimal_text(location.longitude)
    return out


def _decimal_text(value: Decimal) -> str:
    """Fixed-point text without exponent or trailing zeros, so equal values print the same."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


def _validate(credit: CarbonCreditMetadata) -> None:
    _require(0 <= credit.token_id <= MAX_TOKEN_ID, "token_id", "must be a uint256")
    for name in ("project_id", "project_name", "standard", "methodology"):
        _require(bool(str(getattr(credit, name)).strip()), name, "must not be empty")
    _require(MIN_VINTAGE <= credit.vintage <= MAX_VINTAGE, "vintage", f"must be {MIN_VINTAGE}-{MAX_VINTAGE}")
    _require(isinstance(credit.project_type, ProjectType), "project_type", "must be a ProjectType")
    _require(
        isinstance(credit.verification_status, VerificationStatus),
        "verification_status",
        "must be a VerificationStatus",
    )
    _validate_location(credit.location)
    names = [doc.name for doc in credit.documents]
    _require(len(names) == len(set(names)), "documents", "document names must be unique")
    for doc in credit.documents:
        _require(bool(doc.name.strip()), "documents.name", "must not be empty")
        _require(bool(_SHA256_HEX.fullmatch(doc.sha256)), "documents.sha256", "must be 64 lower-case hex")
        decode_cid(doc.cid)  # raises InvalidCIDError unless a canonical base32 CIDv1


def _validate_location(location: Location) -> None:
    _require(bool(_COUNTRY_CODE.fullmatch(location.country)), "location.country", "must be ISO 3166 alpha-2")
    _require(bool(location.region.strip()), "location.region", "must not be empty")
    coordinates = (location.latitude, location.longitude)
    _require(
        all(c is None for c in coordinates)
        or all(isinstance(c, Decimal) and c.is_finite() for c in coordinates),
        "location",
        "latitude and longitude must both be finite Decimals or both be absent",
    )
    if location.latitude is not None and location.longitude is not None:
        _require(abs(location.latitude) <= 90, "location.latitude", "must be within -90..90")
        _require(abs(location.longitude) <= 180, "location.longitude", "must be within -180..180")


def _require(condition: bool, field_name: str, rule: str) -> None:
    if not condition:
        raise ValidationError(f"carbon credit metadata field {field_name} {rule}", field=field_name)
