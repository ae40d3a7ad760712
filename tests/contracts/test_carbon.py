"""CarbonCredits: projects, verified vintages with content-addressed documents, issuance,
transfers, retirement with certificates (direct, approved, EIP-712 signed), bridge-back."""

from __future__ import annotations

import hashlib

import brownie
from brownie import ZERO_ADDRESS, CarbonCredits, chain
from eth_utils import keccak

from carbon.documents import (
    CarbonCreditMetadata,
    DocumentRef,
    Location,
    ProjectType,
    VerificationStatus,
    build_metadata,
    cid_for_bytes,
)
from chain import eip712
from chain.signer import Signer
from tests.contracts.conftest import MANGROVE, VERIFIED_TONNES, VERRA, VINTAGE
from tests.support.brownie_errors import err
from tests.support.profile import block_time

REPORT = b"Verification report 2025, Mangrove restoration Madiun (SRN-PPI-MGV-0042)\n" * 50
TOKEN = (1 << 16) | VINTAGE
PERIOD = (1_735_689_600, 1_767_225_599)  # calendar year 2025, UTC
VERIFIER_ROLE = keccak(text="VERIFIER_ROLE")
REGISTRAR_ROLE = keccak(text="REGISTRAR_ROLE")
BRIDGE_OPERATOR_ROLE = keccak(text="BRIDGE_OPERATOR_ROLE")
PENDING, CONFIRMED, REFUSED = 1, 2, 3


def _metadata_cid() -> str:
    doc = DocumentRef("Verification report 2025", cid_for_bytes(REPORT), hashlib.sha256(REPORT).hexdigest())
    return build_metadata(
        CarbonCreditMetadata(
            token_id=TOKEN,
            project_id="SRN-PPI-MGV-0042",
            project_name="Mangrove restoration Madiun",
            project_type=ProjectType.FOREST,
            standard="Verra VCS",
            methodology="VM0033",
            location=Location(country="ID", region="Jawa Timur"),
            vintage=VINTAGE,
            verification_status=VerificationStatus.VERIFIED,
            documents=(doc,),
        )
    ).cid


def _verify(carbon, roles, tonnes=VERIFIED_TONNES):  # type: ignore[no-untyped-def]
    return carbon.verifyVintage(
        1,
        VINTAGE,
        tonnes,
        hashlib.sha256(REPORT).digest(),
        cid_for_bytes(REPORT),
        _metadata_cid(),
        {"from": roles.rescuer},
    )


def _retirement(holder, tonnes=5, beneficiary=None, name="PT Kopi Madiun", reason="Offset 2025 roasting"):  # type: ignore[no-untyped-def]
    return (str(holder), TOKEN, tonnes, str(beneficiary or holder), name, reason, PERIOD[0], PERIOD[1])


def _issued(carbon, roles, to, tonnes=1_000):  # type: ignore[no-untyped-def]
    _verify(carbon, roles)
    carbon.issue(TOKEN, to, tonnes, {"from": roles.rescuer})


# --------------------------------------------------------------- projects and vintages


def test_registerProject_recordsRegistryFields(carbon):
    assert list(carbon.project(1)) == ["SRN-PPI-MGV-0042", MANGROVE, VERRA, "Kab. Madiun, Jawa Timur", True]


def test_registerProject_revertsForEmptyFieldsAndOthers(carbon, roles, alice):
    with brownie.reverts(err("CarbonEmptyField", "registryId")):
        carbon.registerProject("", 0, 0, "X", {"from": roles.attester})
    with brownie.reverts(err("CarbonEmptyField", "location")):
        carbon.registerProject("X", 0, 0, "", {"from": roles.attester})
    with brownie.reverts(err("AccessControlUnauthorizedAccount", alice, REGISTRAR_ROLE)):
        carbon.registerProject("X", 0, 0, "Y", {"from": alice})


def test_verifyVintage_recordsDocumentsAndContentAddressedUri(carbon, roles):
    tx = _verify(carbon, roles)
    assert tx.return_value == TOKEN == carbon.tokenIdOf(1, VINTAGE)
    v = carbon.vintage(TOKEN)
    assert (v[0], v[1], v[2], v[3], v[4]) == (1, VINTAGE, True, VERIFIED_TONNES, 0)
    assert v[7] == "0x" + hashlib.sha256(REPORT).hexdigest()
    assert v[8] == cid_for_bytes(REPORT)
    assert carbon.uri(TOKEN) == f"ipfs://{_metadata_cid()}"
    assert tx.events["URI"][0]["value"] == f"ipfs://{_metadata_cid()}"
    assert carbon.uri(12345) == ""


def test_verifyVintage_revertsForBadInput(carbon, roles, alice):
    sha, cid, meta = hashlib.sha256(REPORT).digest(), cid_for_bytes(REPORT), _metadata_cid()
    with brownie.reverts(err("CarbonProjectUnknown", 9)):
        carbon.verifyVintage(9, VINTAGE, 1, sha, cid, meta, {"from": roles.rescuer})
    with brownie.reverts(err("CarbonVintageInvalidYear", 1989)):
        carbon.verifyVintage(1, 1989, 1, sha, cid, meta, {"from": roles.rescuer})
    with brownie.reverts(err("CarbonZeroAmount")):
        carbon.verifyVintage(1, VINTAGE, 0, sha, cid, meta, {"from": roles.rescuer})
    with brownie.reverts(err("CarbonEmptyField", "documentsSha256")):
        carbon.verifyVintage(1, VINTAGE, 1, b"\x00" * 32, cid, meta, {"from": roles.rescuer})
    with brownie.reverts(err("CarbonEmptyField", "documentsCid")):
        carbon.verifyVintage(1, VINTAGE, 1, sha, "", meta, {"from": roles.rescuer})
    with brownie.reverts(err("CarbonEmptyField", "metadataCid")):
        carbon.verifyVintage(1, VINTAGE, 1, sha, cid, "", {"from": roles.rescuer})
    with brownie.reverts(err("AccessControlUnauthorizedAccount", alice, VERIFIER_ROLE)):
        carbon.verifyVintage(1, VINTAGE, 1, sha, cid, meta, {"from": alice})
    _verify(carbon, roles)
    with brownie.reverts(err("CarbonVintageAlreadyVerified", TOKEN)):
        _verify(carbon, roles)


# --------------------------------------------------------------- issuance and transfer


def test_issue_mintsUpToVerifiedTonnesOnly(carbon, roles, alice):
    _verify(carbon, roles)
    tx = carbon.issue(TOKEN, alice, 6_000, {"from": roles.rescuer})
    assert carbon.balanceOf(alice, TOKEN) == 6_000
    assert tx.events["CreditsIssued"][0]["issuedTotal"] == 6_000
    assert tx.events["TransferSingle"][0]["value"] == 6_000
    with brownie.reverts(err("CarbonIssuanceExceedsVerified", TOKEN, 6_000, VERIFIED_TONNES, 4_001)):
        carbon.issue(TOKEN, alice, 4_001, {"from": roles.rescuer})
    carbon.issue(TOKEN, alice, 4_000, {"from": roles.rescuer})
    assert carbon.vintage(TOKEN)[4] == VERIFIED_TONNES


def test_issue_revertsForUnverifiedVintageZeroOrOthers(carbon, roles, alice):
    with brownie.reverts(err("CarbonVintageNotVerified", TOKEN)):
        carbon.issue(TOKEN, alice, 1, {"from": roles.rescuer})
    _verify(carbon, roles)
    with brownie.reverts(err("CarbonZeroAmount")):
        carbon.issue(TOKEN, alice, 0, {"from": roles.rescuer})
    with brownie.reverts(err("AccessControlUnauthorizedAccount", alice, VERIFIER_ROLE)):
        carbon.issue(TOKEN, alice, 1, {"from": alice})


def test_transfer_andBatchTransferAsErc1155(carbon, roles, alice, bob):
    _issued(carbon, roles, alice)
    single = carbon.safeTransferFrom(alice, bob, TOKEN, 100, b"", {"from": alice})
    batch = carbon.safeBatchTransferFrom(alice, bob, [TOKEN], [50], b"", {"from": alice})
    assert single.events["TransferSingle"][0]["value"] == 100
    # ERC-1155: a batch transfer MUST emit TransferSingle or TransferBatch (OZ 5: Single for one id).
    assert batch.events["TransferSingle"][0]["value"] == 50
    assert (carbon.balanceOf(alice, TOKEN), carbon.balanceOf(bob, TOKEN)) == (850, 150)
    assert carbon.supportsInterface("0xd9b67a26")  # ERC-1155


# --------------------------------------------------------------- retirement


def test_retire_burnsAndIssuesReadableCertificate(carbon, roles, alice, carol):
    _issued(carbon, roles, alice)
    tx = carbon.retire(_retirement(alice, 40, carol), {"from": alice})
    cert_id = tx.return_value
    assert carbon.balanceOf(alice, TOKEN) == 960
    c = carbon.certificate(cert_id)
    assert (c[0], c[1], c[3], c[4], c[5], c[6], c[7], c[8]) == (
        TOKEN,
        40,
        PERIOD[0],
        PERIOD[1],
        alice,
        carol,
        "PT Kopi Madiun",
        "Offset 2025 roasting",
    )
    assert c[2] == chain[tx.block_number].timestamp
    assert carbon.vintage(TOKEN)[5] == 40
    assert carbon.retiredFor(TOKEN, carol) == 40
    event = tx.events["CreditsRetired"][0]
    assert (event["certificateId"], event["beneficiary"], event["tonnes"]) == (cert_id, carol, 40)


def test_retire_byApprovedOperatorOnly(carbon, roles, alice, bob):
    _issued(carbon, roles, alice)
    with brownie.reverts(err("CarbonNotApproved", alice, bob)):
        carbon.retire(_retirement(alice), {"from": bob})
    carbon.setApprovalForAll(bob, True, {"from": alice})
    carbon.retire(_retirement(alice), {"from": bob})
    assert carbon.balanceOf(alice, TOKEN) == 995


def test_retire_revertsForBadInputAndChangesNothing(carbon, roles, alice):
    _issued(carbon, roles, alice)
    for retirement, error in (
        (_retirement(alice, 0), err("CarbonZeroAmount")),
        (_retirement(alice, name=""), err("CarbonEmptyField", "beneficiaryName")),
        (_retirement(alice, reason=""), err("CarbonEmptyField", "reason")),
        ((str(alice), TOKEN, 5, ZERO_ADDRESS, "N", "R", *PERIOD), err("CarbonZeroAddress")),
        (
            (str(alice), TOKEN, 5, str(alice), "N", "R", PERIOD[1], PERIOD[0]),
            err("CarbonInvalidPeriod", PERIOD[1], PERIOD[0]),
        ),
        (_retirement(alice, 1_001), err("ERC1155InsufficientBalance", alice, 1_000, 1_001, TOKEN)),
    ):
        with brownie.reverts(error):
            carbon.retire(retirement, {"from": alice})
    assert carbon.balanceOf(alice, TOKEN) == 1_000
    assert carbon.vintage(TOKEN)[5] == 0


def test_certificate_revertsForUnknownId(carbon):
    with brownie.reverts(err("CarbonCertificateUnknown", 77)):
        carbon.certificate(77)


def _sign_retirement(carbon, key: Signer, retirement, nonce: int, deadline: int) -> bytes:  # type: ignore[no-untyped-def]
    typed = eip712.retirement(eip712.carbon_domain(31337, carbon.address), retirement, nonce, deadline)
    return key.sign_typed_data(typed).signature


def test_retireWithSig_relayedOnceForTheSigner(carbon, roles, alice, bob, alice_key):
    _issued(carbon, roles, alice)
    retirement = _retirement(alice, 12)
    deadline = block_time() + 3600
    signature = _sign_retirement(carbon, alice_key, retirement, 0, deadline)
    cert_id = carbon.retireWithSig(retirement, deadline, signature, {"from": bob}).return_value
    assert carbon.certificate(cert_id)[5] == alice
    assert carbon.balanceOf(alice, TOKEN) == 988
    assert carbon.nonces(alice) == 1
    with brownie.reverts(err("CarbonInvalidSignature", alice)):
        carbon.retireWithSig(retirement, deadline, signature, {"from": bob})


def test_retireWithSig_revertsForTamperedExpiredOrForeignSignature(
    carbon, roles, alice, bob, alice_key, bob_key
):
    _issued(carbon, roles, alice)
    deadline = block_time() + 3600
    signature = _sign_retirement(carbon, alice_key, _retirement(alice, 12), 0, deadline)
    with brownie.reverts(err("CarbonInvalidSignature", alice)):
        carbon.retireWithSig(_retirement(alice, 13), deadline, signature, {"from": bob})
    with brownie.reverts(err("CarbonInvalidSignature", alice)):
        carbon.retireWithSig(_retirement(alice, 12, reason="other"), deadline, signature, {"from": bob})
    foreign = _sign_retirement(carbon, bob_key, _retirement(alice, 12), 0, deadline)
    with brownie.reverts(err("CarbonInvalidSignature", alice)):
        carbon.retireWithSig(_retirement(alice, 12), deadline, foreign, {"from": bob})
    past = block_time() - 1
    expired = _sign_retirement(carbon, alice_key, _retirement(alice, 12), 0, past)
    with brownie.reverts(err("CarbonSignatureExpired", past)):
        carbon.retireWithSig(_retirement(alice, 12), past, expired, {"from": bob})
    assert carbon.balanceOf(alice, TOKEN) == 1_000


# --------------------------------------------------------------- bridge back


def test_bridgeBack_heldThenBurnedOnConfirmation(carbon, roles, alice, bob):
    _issued(carbon, roles, alice)
    tx = carbon.requestBridgeBack(TOKEN, 300, "SRN-PPI/ACC/7781", {"from": alice})
    request_id = tx.return_value
    assert carbon.balanceOf(alice, TOKEN) == 700
    assert carbon.balanceOf(carbon, TOKEN) == 300
    assert list(carbon.bridgeRequest(request_id)) == [TOKEN, alice, 300, PENDING, "SRN-PPI/ACC/7781"]
    assert tx.events["BridgeBackRequested"][0]["registryAccount"] == "SRN-PPI/ACC/7781"
    tx = carbon.confirmBridgeBack(request_id, "SRN-PPI/TX/2026/0099", {"from": roles.freezer})
    assert carbon.balanceOf(carbon, TOKEN) == 0
    assert carbon.vintage(TOKEN)[6] == 300
    assert carbon.bridgeRequest(request_id)[3] == CONFIRMED
    assert tx.events["BridgeBackConfirmed"][0]["registryReference"] == "SRN-PPI/TX/2026/0099"
    with brownie.reverts(err("CarbonBridgeRequestNotPending", request_id, CONFIRMED)):
        carbon.refuseBridgeBack(request_id, "late", {"from": roles.freezer})


def test_bridgeBack_returnedOnRefusal(carbon, roles, alice):
    _issued(carbon, roles, alice)
    request_id = carbon.requestBridgeBack(TOKEN, 300, "SRN-PPI/ACC/7781", {"from": alice}).return_value
    tx = carbon.refuseBridgeBack(request_id, "unknown registry account", {"from": roles.freezer})
    assert carbon.balanceOf(alice, TOKEN) == 1_000
    assert carbon.bridgeRequest(request_id)[3] == REFUSED
    assert tx.events["BridgeBackRefused"][0]["reason"] == "unknown registry account"
    with brownie.reverts(err("CarbonBridgeRequestNotPending", request_id, REFUSED)):
        carbon.confirmBridgeBack(request_id, "X", {"from": roles.freezer})


def test_bridgeBack_revertsForBadInputOrOthers(carbon, roles, alice):
    _issued(carbon, roles, alice)
    with brownie.reverts(err("CarbonZeroAmount")):
        carbon.requestBridgeBack(TOKEN, 0, "ACC", {"from": alice})
    with brownie.reverts(err("CarbonEmptyField", "registryAccount")):
        carbon.requestBridgeBack(TOKEN, 1, "", {"from": alice})
    with brownie.reverts(err("ERC1155InsufficientBalance", alice, 1_000, 1_001, TOKEN)):
        carbon.requestBridgeBack(TOKEN, 1_001, "ACC", {"from": alice})
    request_id = carbon.requestBridgeBack(TOKEN, 1, "ACC", {"from": alice}).return_value
    with brownie.reverts(err("AccessControlUnauthorizedAccount", alice, BRIDGE_OPERATOR_ROLE)):
        carbon.confirmBridgeBack(request_id, "X", {"from": alice})
    with brownie.reverts(err("CarbonEmptyField", "registryReference")):
        carbon.confirmBridgeBack(request_id, "", {"from": roles.freezer})
    with brownie.reverts(err("CarbonBridgeRequestNotPending", 99, 0)):
        carbon.confirmBridgeBack(99, "X", {"from": roles.freezer})


def test_heldCredits_cannotBeMovedByAnyoneElse(carbon, roles, alice, bob):
    """Credits awaiting the registry are in the contract's balance; no approval can move them."""
    _issued(carbon, roles, alice)
    carbon.requestBridgeBack(TOKEN, 300, "ACC", {"from": alice})
    with brownie.reverts(err("ERC1155MissingApprovalForAll", bob, carbon)):
        carbon.safeTransferFrom(carbon, bob, TOKEN, 1, b"", {"from": bob})


# --------------------------------------------------------------- pause and constructor


def test_pause_stopsEveryMovement(carbon, roles, alice, bob):
    _issued(carbon, roles, alice)
    carbon.pause({"from": roles.pauser})
    with brownie.reverts(err("EnforcedPause")):
        carbon.safeTransferFrom(alice, bob, TOKEN, 1, b"", {"from": alice})
    with brownie.reverts(err("EnforcedPause")):
        carbon.retire(_retirement(alice), {"from": alice})
    with brownie.reverts(err("EnforcedPause")):
        carbon.issue(TOKEN, alice, 1, {"from": roles.rescuer})
    carbon.unpause({"from": roles.pauser})
    carbon.safeTransferFrom(alice, bob, TOKEN, 1, b"", {"from": alice})


def test_constructor_revertsForZeroAddress(roles):
    with brownie.reverts(err("CarbonZeroAddress")):
        CarbonCredits.deploy(
            roles.owner, ZERO_ADDRESS, roles.owner, roles.owner, roles.owner, {"from": roles.owner}
        )


def test_retire_revertsForPeriodNotYetOver(carbon, roles, alice):
    """CarbonInvalidPeriod says a period in the future is refused: one ending after now is."""
    _issued(carbon, roles, alice)
    now = block_time()
    for start, end in ((now - 100, now + 3_600), (now + 3_600, now + 7_200)):
        r = (str(alice), TOKEN, 5, str(alice), "PT Kopi Madiun", "Offset", start, end)
        with brownie.reverts(err("CarbonInvalidPeriod", start, end)):
            carbon.retire(r, {"from": alice})
    r = (str(alice), TOKEN, 5, str(alice), "PT Kopi Madiun", "Offset", now - 100, now - 1)
    carbon.retire(r, {"from": alice})
    assert carbon.balanceOf(alice, TOKEN) == 995
