"""Pure state transitions of the CarbonCredits rows, one event at a time.

Like :mod:`indexer.platform_state`: each derived row (a dict of its table's columns) moves
forward with ``apply_*`` and back with ``revert_*``; the projection uses both against rows read
from SQL, the reader uses ``revert_*`` in memory to show a vintage as of a confirmed block. An
event that does not fit the row raises :class:`ProjectionError`.

Vintage counters mirror ``ICarbonCredits.Vintage`` (``issued``, ``retired``, ``bridged``) plus
``held_for_bridge``: tonnes in the contract's custody for pending bridge-back requests. Per token,
holders' balances (the contract's own excluded) + held_for_bridge + retired + bridged == issued.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table

from indexer.errors import ProjectionError
from indexer.models import (
    CarbonBalance,
    CarbonBridgeRequest,
    CarbonBridgeStatus,
    CarbonProject,
    CarbonRetirement,
    CarbonVintage,
)
from indexer.platform_state import ChainEvent, Key, Row, _expect_status, _need, _take

PROJECTS: Table = CarbonProject.__table__  # type: ignore[assignment]
VINTAGES: Table = CarbonVintage.__table__  # type: ignore[assignment]
CARBON_BALANCES: Table = CarbonBalance.__table__  # type: ignore[assignment]
RETIREMENTS: Table = CarbonRetirement.__table__  # type: ignore[assignment]
BRIDGE_REQUESTS: Table = CarbonBridgeRequest.__table__  # type: ignore[assignment]

PROJECT_TYPES = ("reforestation", "mangrove", "peatland", "solar", "wind", "hydro", "biogas", "other")
"""``ICarbonCredits.ProjectType`` by value."""
STANDARDS = ("verra_vcs", "gold_standard", "srn_ppi")
"""``ICarbonCredits.Standard`` by value."""

VINTAGE_EVENTS = (
    "VintageVerified",
    "CreditsIssued",
    "CreditsRetired",
    "BridgeBackRequested",
    "BridgeBackConfirmed",
    "BridgeBackRefused",
)
"""CarbonCredits events that change a vintage; each carries the token id."""
REQUEST_EVENTS = ("BridgeBackRequested", "BridgeBackConfirmed", "BridgeBackRefused")
"""CarbonCredits events that change a bridge-back request; each carries the request id."""
TRANSFER_EVENTS = ("TransferSingle", "TransferBatch")
"""ERC-1155 movements (mints, transfers, burns, custody moves)."""
CARBON_EVENTS = ("ProjectRegistered", *VINTAGE_EVENTS, *TRANSFER_EVENTS)
"""Every CarbonCredits event the carbon projection consumes."""


def project_key(e: ChainEvent) -> Key:
    """(carbon address, project key) of ``ProjectRegistered``."""
    return e.address, int(e.args["projectKey"])


def vintage_key(e: ChainEvent) -> Key:
    """(carbon address, token id) of a vintage event."""
    return e.address, int(e.args["tokenId"])


def request_key(e: ChainEvent) -> Key:
    """(carbon address, request id) of a bridge-back event."""
    return e.address, int(e.args["requestId"])


def transfers(e: ChainEvent) -> list[tuple[int, int]]:
    """(token id, value) pairs of a ``TransferSingle`` or ``TransferBatch``."""
    a = e.args
    if e.event == "TransferSingle":
        return [(int(a["id"]), int(a["value"]))]
    ids, values = [int(i) for i in a["ids"]], [int(v) for v in a["values"]]
    if len(ids) != len(values):
        raise ProjectionError(
            f"TransferBatch at block {e.block_number} has {len(ids)} ids, {len(values)} values"
        )
    return list(zip(ids, values, strict=True))


def project_row(e: ChainEvent) -> Row:
    """The ``carbon_projects`` row of a ``ProjectRegistered``."""
    a = e.args
    return {
        "carbon": e.address,
        "project_key": int(a["projectKey"]),
        "registry_id": a["registryId"],
        "project_type": PROJECT_TYPES[int(a["projectType"])],
        "standard": STANDARDS[int(a["standard"])],
        "location": a["location"],
        "registered_block": e.block_number,
    }


def retirement_row(e: Any) -> Row:
    """The ``carbon_retirements`` row of a ``CreditsRetired`` (an ``EventRecord``)."""
    a = e.args
    return {
        "carbon": e.address,
        "certificate_id": int(a["certificateId"]),
        "token_id": int(a["tokenId"]),
        "beneficiary": a["beneficiary"],
        "retired_by": a["retiredBy"],
        "tonnes": int(a["tonnes"]),
        "beneficiary_name": a["beneficiaryName"],
        "reason": a["reason"],
        "period_start": int(a["periodStart"]),
        "period_end": int(a["periodEnd"]),
        "block_number": e.block_number,
        "tx_hash": e.tx_hash,
    }


# ---------------------------------------------------------------------- vintages


def apply_vintage(row: Row | None, e: ChainEvent) -> Row:
    """The vintage row after event ``e`` (``row`` None: not verified yet)."""
    a = e.args
    if e.event == "VintageVerified":
        if row is not None:
            raise ProjectionError(f"vintage {a['tokenId']} verified twice (block {e.block_number})")
        return {
            "carbon": e.address,
            "token_id": int(a["tokenId"]),
            "project_key": int(a["projectKey"]),
            "year": int(a["year"]),
            "verified_tonnes": int(a["verifiedTonnes"]),
            "documents_sha256": str(a["documentsSha256"]).lower(),
            "documents_cid": a["documentsCid"],
            "metadata_cid": a["metadataCid"],
            "issued": 0,
            "retired": 0,
            "bridged": 0,
            "held_for_bridge": 0,
            "verified_block": e.block_number,
        }
    new = _need(row, e, "vintage")
    tonnes = int(a["tonnes"])
    if e.event == "CreditsIssued":
        new["issued"] += tonnes
        if new["issued"] != int(a["issuedTotal"]) or new["issued"] > new["verified_tonnes"]:
            raise ProjectionError(
                f"CreditsIssued at block {e.block_number} disagrees with the mirror's total"
            )
    elif e.event == "CreditsRetired":
        new["retired"] += tonnes
    elif e.event == "BridgeBackRequested":
        new["held_for_bridge"] += tonnes
    elif e.event == "BridgeBackConfirmed":
        _take(new, "held_for_bridge", tonnes, e)
        new["bridged"] += tonnes
    elif e.event == "BridgeBackRefused":
        _take(new, "held_for_bridge", tonnes, e)
    else:
        raise ProjectionError(f"{e.event} is not a vintage event")
    return new


def revert_vintage(row: Row | None, e: ChainEvent) -> Row | None:
    """The vintage row before event ``e``, the latest event applied to it (None: not verified)."""
    if e.event == "VintageVerified":
        return None
    new = _need(row, e, "vintage")
    tonnes = int(e.args["tonnes"])
    if e.event == "CreditsIssued":
        _take(new, "issued", tonnes, e)
    elif e.event == "CreditsRetired":
        _take(new, "retired", tonnes, e)
    elif e.event == "BridgeBackRequested":
        _take(new, "held_for_bridge", tonnes, e)
    elif e.event == "BridgeBackConfirmed":
        _take(new, "bridged", tonnes, e)
        new["held_for_bridge"] += tonnes
    elif e.event == "BridgeBackRefused":
        new["held_for_bridge"] += tonnes
    else:
        raise ProjectionError(f"{e.event} is not a vintage event")
    return new


# ---------------------------------------------------------------------- bridge-back requests


def apply_request(row: Row | None, e: ChainEvent) -> Row:
    """The bridge-back request row after event ``e`` (``row`` None: not requested yet)."""
    a = e.args
    if e.event == "BridgeBackRequested":
        if row is not None:
            raise ProjectionError(f"bridge-back {a['requestId']} requested twice (block {e.block_number})")
        return {
            "carbon": e.address,
            "request_id": int(a["requestId"]),
            "token_id": int(a["tokenId"]),
            "holder": a["holder"],
            "tonnes": int(a["tonnes"]),
            "registry_account": a["registryAccount"],
            "status": CarbonBridgeStatus.PENDING.value,
            "registry_reference": None,
            "refusal_reason": None,
            "requested_block": e.block_number,
            "resolved_block": None,
        }
    new = _need(row, e, "bridge-back request")
    _expect_status(new, e, CarbonBridgeStatus.PENDING.value)
    if int(a["tonnes"]) != new["tonnes"] or int(a["tokenId"]) != new["token_id"]:
        raise ProjectionError(f"{e.event} at block {e.block_number} does not match its request")
    if e.event == "BridgeBackConfirmed":
        new["status"] = CarbonBridgeStatus.CONFIRMED.value
        new["registry_reference"] = a["registryReference"]
    elif e.event == "BridgeBackRefused":
        new["status"] = CarbonBridgeStatus.REFUSED.value
        new["refusal_reason"] = a["reason"]
    else:
        raise ProjectionError(f"{e.event} is not a bridge-back event")
    new["resolved_block"] = e.block_number
    return new


def revert_request(row: Row | None, e: ChainEvent) -> Row | None:
    """The request row before event ``e``, the latest event applied to it (None: not requested)."""
    if e.event == "BridgeBackRequested":
        return None
    new = _need(row, e, "bridge-back request")
    if e.event not in ("BridgeBackConfirmed", "BridgeBackRefused"):
        raise ProjectionError(f"{e.event} is not a bridge-back event")
    new.update(
        status=CarbonBridgeStatus.PENDING.value,
        registry_reference=None,
        refusal_reason=None,
        resolved_block=None,
    )
    return new
