"""The whole registry cycle over HTTP: the adapter against the local registry server, no stubs."""

from __future__ import annotations

import httpx
import pytest

from carbon.registry import (
    BridgeBackStatus,
    DuplicateSerialsError,
    IdempotencyKeyReusedError,
    InsufficientTokenisedUnitsError,
    InsufficientVerifiedUnitsError,
    InvalidRegistryRequestError,
    RegistryAdapter,
    RegistryAuthError,
    RegistryStateConflictError,
    SerialRange,
    TokenisationStatus,
    UnknownBridgeBackError,
    UnknownProjectError,
    UnknownRegistryAccountError,
    UnknownTokenError,
    UnknownTokenisationError,
)
from carbon.registry.http import HttpRegistryAdapter
from carbon.registry.server import RegistryServer
from tests.carbon.registry.support import ACCOUNT, API_TOKEN, PROJECT, TOKEN_ID, VINTAGE, minted, tx


def admin(server: RegistryServer, path: str, body: dict[str, object]) -> httpx.Response:
    """An operator call to the registry's admin endpoints."""
    response = httpx.post(
        f"{server.url}/v1/admin/{path}", json=body, headers={"Authorization": f"Bearer {API_TOKEN}"}
    )
    assert response.is_success, response.text
    return response


def test_fullCycle_registerTokeniseMintRetireBridgeBack_confirmAndRefuse() -> None:
    with RegistryServer(API_TOKEN) as server, HttpRegistryAdapter(server.url, API_TOKEN) as adapter:
        assert isinstance(adapter, RegistryAdapter)
        admin(server, "projects", {"project_id": "PRJ-A", "name": "Mangrove restoration"})
        issued = admin(server, "projects/PRJ-A/issuances", {"vintage": 2022, "tonnes": 1000}).json()
        assert issued == {"first": 1, "last": 1000}
        admin(server, "accounts", {"account_id": "ACC-1", "holder": "PT Satu"})

        locked = adapter.request_tokenisation("PRJ-A", 2022, 300, SerialRange(101, 400), "tok-a")
        assert locked.status is TokenisationStatus.LOCKED
        assert locked.serials == (SerialRange(101, 400),)
        assert locked.token_id is None
        assert server.registry.free_units("PRJ-A", 2022) == 700

        token_id = 7 * 2**128
        mint = adapter.confirm_mint(locked.reference, token_id, tx(1))
        assert (mint.status, mint.token_id, mint.tx_hash, mint.serials) == (
            TokenisationStatus.MINTED,
            token_id,
            tx(1),
            locked.serials,
        )
        assert adapter.tokenisation(locked.reference) == mint

        retired = adapter.report_retirement(
            token_id, 25, "PT Madiun Hijau", "2024 offset", "CERT-1", tx(2), "ret-1"
        )
        assert retired.serials == (SerialRange(101, 125),)
        assert (retired.project_id, retired.vintage, retired.tonnes) == ("PRJ-A", 2022, 25)

        pending = adapter.request_bridge_back(token_id, 50, "ACC-1", "BB-1", "bb-1")
        assert pending.status is BridgeBackStatus.PENDING
        assert pending.serials == (SerialRange(126, 175),)
        assert adapter.bridge_back_status("BB-1") == pending

        admin(server, "bridge-backs/BB-1/decision", {"decision": "confirmed"})
        confirmed = adapter.bridge_back_status("BB-1")
        assert confirmed.status is BridgeBackStatus.CONFIRMED
        assert confirmed.decided_at is not None and confirmed.refusal_reason is None
        assert server.registry.snapshot()["accounts"]["ACC-1"] == {("PRJ-A", 2022): (SerialRange(126, 175),)}

        adapter.request_bridge_back(token_id, 100, "ACC-1", "BB-2", "bb-2")
        admin(server, "bridge-backs/BB-2/decision", {"decision": "refused", "reason": "account under review"})
        refused = adapter.bridge_back_status("BB-2")
        assert (refused.status, refused.refusal_reason) == (BridgeBackStatus.REFUSED, "account under review")
        live, retired_ranges, bridging, bridged = server.registry.snapshot()["tokens"][token_id]
        assert live == (SerialRange(176, 400),)  # the refused units are live again
        assert retired_ranges == (SerialRange(101, 125),)
        assert bridging == ()
        assert bridged == (SerialRange(126, 175),)


def test_replays_returnSameResult_andChangeNothing(
    server: RegistryServer, adapter: HttpRegistryAdapter
) -> None:
    first = adapter.request_tokenisation(PROJECT, VINTAGE, 40, None, "tok-1")
    mint = adapter.confirm_mint(first.reference, TOKEN_ID, tx(1))
    retirement = adapter.report_retirement(TOKEN_ID, 5, "Budi", "offset", "CERT-9", tx(2), "ret-9")
    bridge = adapter.request_bridge_back(TOKEN_ID, 5, ACCOUNT, "BB-9", "bb-9")
    before = server.registry.snapshot()
    replays = server.registry.replays

    assert adapter.request_tokenisation(PROJECT, VINTAGE, 40, None, "tok-1") == first
    assert adapter.confirm_mint(first.reference, TOKEN_ID, tx(1)) == mint
    assert adapter.report_retirement(TOKEN_ID, 5, "Budi", "offset", "CERT-9", tx(2), "ret-9") == retirement
    assert adapter.request_bridge_back(TOKEN_ID, 5, ACCOUNT, "BB-9", "bb-9") == bridge

    assert server.registry.snapshot() == before
    assert server.registry.replays == replays + 4


def test_sameFactsUnderNewKey_returnExistingRecord(
    server: RegistryServer, adapter: HttpRegistryAdapter
) -> None:
    minted(adapter)
    retirement = adapter.report_retirement(TOKEN_ID, 5, "Budi", "offset", "CERT-1", tx(2), "ret-a")
    bridge = adapter.request_bridge_back(TOKEN_ID, 5, ACCOUNT, "BB-1", "bb-a")
    before = server.registry.snapshot()
    assert adapter.report_retirement(TOKEN_ID, 5, "Budi", "offset", "CERT-1", tx(2), "ret-b") == retirement
    assert adapter.request_bridge_back(TOKEN_ID, 5, ACCOUNT, "BB-1", "bb-b") == bridge
    assert server.registry.snapshot() == before
    with pytest.raises(RegistryStateConflictError):
        adapter.report_retirement(TOKEN_ID, 6, "Budi", "offset", "CERT-1", tx(2), "ret-c")
    with pytest.raises(RegistryStateConflictError):
        adapter.request_bridge_back(TOKEN_ID, 6, ACCOUNT, "BB-1", "bb-c")


def test_keyReusedForOtherRequest_refusedAndNothingChanges(
    server: RegistryServer, adapter: HttpRegistryAdapter
) -> None:
    adapter.request_tokenisation(PROJECT, VINTAGE, 10, None, "tok-1")
    before = server.registry.snapshot()
    with pytest.raises(IdempotencyKeyReusedError) as refused:
        adapter.request_tokenisation(PROJECT, VINTAGE, 11, None, "tok-1")
    assert refused.value.details["idempotency_key"] == "tok-1"
    assert server.registry.snapshot() == before


def test_doubleTokenisationOfSameSerials_refused(
    server: RegistryServer, adapter: HttpRegistryAdapter
) -> None:
    adapter.request_tokenisation(PROJECT, VINTAGE, 20, SerialRange(11, 30), "tok-1")
    before = server.registry.snapshot()
    with pytest.raises(DuplicateSerialsError) as duplicate:
        adapter.request_tokenisation(PROJECT, VINTAGE, 20, SerialRange(21, 40), "tok-2")
    assert duplicate.value.details["conflicting"] == ["21..30"]
    assert duplicate.value.status_code == 409
    assert server.registry.snapshot() == before
    # The refusal is remembered under its key: replaying it refuses again, identically.
    with pytest.raises(DuplicateSerialsError):
        adapter.request_tokenisation(PROJECT, VINTAGE, 20, SerialRange(21, 40), "tok-2")
    # Free serials elsewhere are still fine.
    assert adapter.request_tokenisation(PROJECT, VINTAGE, 10, SerialRange(31, 40), "tok-3").serials == (
        SerialRange(31, 40),
    )


def test_refusals_areTypedErrors(adapter: HttpRegistryAdapter) -> None:
    with pytest.raises(UnknownProjectError):
        adapter.request_tokenisation("PRJ-NOPE", VINTAGE, 1, None, "k1")
    with pytest.raises(InsufficientVerifiedUnitsError) as insufficient:
        adapter.request_tokenisation(PROJECT, VINTAGE, 101, None, "k2")
    assert (insufficient.value.details["available"], insufficient.value.details["requested"]) == (100, 101)
    with pytest.raises(InsufficientVerifiedUnitsError):
        adapter.request_tokenisation(PROJECT, VINTAGE, 10, SerialRange(95, 104), "k3")  # 101.. not issued
    with pytest.raises(InsufficientVerifiedUnitsError):
        adapter.request_tokenisation(PROJECT, 2023, 1, None, "k4")  # no units of that vintage
    with pytest.raises(UnknownTokenisationError):
        adapter.confirm_mint("SRN-TOK-999999", TOKEN_ID, tx(1))
    with pytest.raises(UnknownTokenError):
        adapter.report_retirement(TOKEN_ID, 1, "Budi", "offset", "CERT-1", tx(2), "k5")
    minted(adapter, tonnes=10)
    with pytest.raises(InsufficientTokenisedUnitsError):
        adapter.report_retirement(TOKEN_ID, 11, "Budi", "offset", "CERT-1", tx(2), "k6")
    with pytest.raises(UnknownRegistryAccountError):
        adapter.request_bridge_back(TOKEN_ID, 1, "ACC-NOPE", "BB-1", "k7")
    with pytest.raises(UnknownBridgeBackError):
        adapter.bridge_back_status("BB-NOPE")


def test_mintConfirmation_bindsOneTokenIdPerProjectVintage(
    server: RegistryServer, adapter: HttpRegistryAdapter
) -> None:
    first = adapter.request_tokenisation(PROJECT, VINTAGE, 10, None, "tok-1")
    adapter.confirm_mint(first.reference, TOKEN_ID, tx(1))
    with pytest.raises(RegistryStateConflictError):
        adapter.confirm_mint(first.reference, TOKEN_ID, tx(99))  # same lock, another mint tx
    second = adapter.request_tokenisation(PROJECT, VINTAGE, 10, None, "tok-2")
    with pytest.raises(RegistryStateConflictError):
        adapter.confirm_mint(second.reference, TOKEN_ID + 1, tx(2))  # vintage already has a token id
    server.registry.issue_verified_units(PROJECT, 2022, 10)
    third = adapter.request_tokenisation(PROJECT, 2022, 10, None, "tok-3")
    with pytest.raises(RegistryStateConflictError):
        adapter.confirm_mint(third.reference, TOKEN_ID, tx(3))  # token id belongs to 2021
    assert adapter.confirm_mint(second.reference, TOKEN_ID, tx(2)).serials == (SerialRange(11, 20),)


def test_badCredentials_and_malformedRequests_areRefusedWithoutRetry(server: RegistryServer) -> None:
    with HttpRegistryAdapter(server.url, "wrong-token") as stranger, pytest.raises(RegistryAuthError):
        stranger.request_tokenisation(PROJECT, VINTAGE, 1, None, "k1")
    with HttpRegistryAdapter(server.url, API_TOKEN) as adapter:
        with pytest.raises(InvalidRegistryRequestError):
            adapter.request_tokenisation(PROJECT, VINTAGE, 0, None, "k2")  # refused before sending
        with pytest.raises(InvalidRegistryRequestError):
            adapter.request_tokenisation(
                PROJECT, VINTAGE, 5, SerialRange(1, 4), "k3"
            )  # registry: size != tonnes
    raw = httpx.post(
        f"{server.url}/v1/tokenisations",
        json={"project_id": PROJECT, "vintage": VINTAGE, "tonnes": 1},
        headers={"Authorization": f"Bearer {API_TOKEN}"},
    )
    assert raw.status_code == 422 and raw.json()["error"] == "invalid_registry_request"  # no Idempotency-Key
    raw = httpx.post(
        f"{server.url}/v1/tokenisations",
        json={"project_id": PROJECT, "vintage": VINTAGE, "tonnes": "1"},
        headers={"Authorization": f"Bearer {API_TOKEN}", "Idempotency-Key": "k4"},
    )
    assert raw.status_code == 422 and raw.json()["error"] == "invalid_registry_request"  # tonnes as text
    assert [r.status for r in server.requests] == [401, 422, 422, 422]  # each sent once
    assert server.registry.free_units(PROJECT, VINTAGE) == 100
