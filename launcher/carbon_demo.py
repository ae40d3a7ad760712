"""The carbon part of the demo: a mangrove project in Madiun from registration to a retirement
certificate, its verification documents kept in the local content-addressed store.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from web3.logs import DISCARD

from carbon.documents import (
    CarbonCreditMetadata,
    DocumentRef,
    LocalDocumentStore,
    Location,
    ProjectType,
    VerificationStatus,
    build_metadata,
)
from chain.platform import Platform
from chain.sender import TransactionSender
from chain.signer import Signer

MANGROVE, VERRA = 1, 0
VINTAGE = 2025
VERIFIED_TONNES = 5_000
ISSUED = 1_200
SOLD = 300
RETIRED = 120
PERIOD_2025 = (1_735_689_600, 1_767_225_599)

VERIFICATION_REPORT = (
    b"Verification report: Mangrove restoration, Kabupaten Madiun, Jawa Timur\n"
    b"Registry id SRN-PPI-MGV-0042, vintage 2025, methodology VM0033, verified 5,000 t CO2e.\n"
)


@dataclass(frozen=True)
class CarbonDemoResult:
    """What the carbon demo did."""

    token_id: int
    documents_cid: str
    metadata_uri: str
    certificate_id: int
    buyer: str
    buyer_balance: int
    retired: int


def run_carbon_demo(platform: Platform, documents_root: Path) -> CarbonDemoResult:
    """Registers, documents, verifies, issues, sells and retires credits of one vintage."""
    operator, project_owner, buyer = Signer.dev(0), Signer.dev(4), Signer.dev(5)
    carbon = platform.carbon
    as_operator = TransactionSender(platform.w3, operator, platform.decoder)

    store = LocalDocumentStore(documents_root)
    report = store.add(VERIFICATION_REPORT)
    registered = as_operator.transact(
        carbon.functions.registerProject("SRN-PPI-MGV-0042", MANGROVE, VERRA, "Kab. Madiun, Jawa Timur")
    )
    (project,) = carbon.events.ProjectRegistered().process_receipt(registered, errors=DISCARD)
    project_key = project.args["projectKey"]
    token_id = carbon.functions.tokenIdOf(project_key, VINTAGE).call()
    metadata = build_metadata(
        CarbonCreditMetadata(
            token_id=token_id,
            project_id="SRN-PPI-MGV-0042",
            project_name="Mangrove restoration Madiun",
            project_type=ProjectType.FOREST,
            standard="Verra VCS",
            methodology="VM0033",
            location=Location(country="ID", region="Jawa Timur"),
            vintage=VINTAGE,
            verification_status=VerificationStatus.VERIFIED,
            documents=(DocumentRef.from_stored("Verification report 2025", report),),
        )
    )
    store.add(metadata.json_bytes)
    as_operator.transact(
        carbon.functions.verifyVintage(
            project_key, VINTAGE, VERIFIED_TONNES, bytes.fromhex(report.sha256), report.cid, metadata.cid
        )
    )
    as_operator.transact(carbon.functions.issue(token_id, project_owner.address, ISSUED))
    TransactionSender(platform.w3, project_owner, platform.decoder).transact(
        carbon.functions.safeTransferFrom(project_owner.address, buyer.address, token_id, SOLD, b"")
    )
    retired = TransactionSender(platform.w3, buyer, platform.decoder).transact(
        carbon.functions.retire(
            (
                buyer.address,
                token_id,
                RETIRED,
                buyer.address,
                "Warung Pecel Bu Sri",
                "Offset 2025 cooking fuel",
                *PERIOD_2025,
            )
        )
    )
    (event,) = carbon.events.CreditsRetired().process_receipt(retired, errors=DISCARD)
    return CarbonDemoResult(
        token_id=token_id,
        documents_cid=report.cid,
        metadata_uri=carbon.functions.uri(token_id).call(),
        certificate_id=event.args["certificateId"],
        buyer=buyer.address,
        buyer_balance=carbon.functions.balanceOf(buyer.address, token_id).call(),
        retired=carbon.functions.vintage(token_id).call()[5],
    )


def describe_carbon(result: CarbonDemoResult) -> str:
    """The carbon demo's outcome in a few lines."""
    return "\n".join(
        [
            f"  carbon: mangrove project SRN-PPI-MGV-0042 verified for vintage {VINTAGE}, "
            f"documents {result.documents_cid}",
            f"          token {result.token_id} (metadata {result.metadata_uri}): {ISSUED:,} t issued, "
            f"{SOLD} t sold to {result.buyer}",
            f"          {result.retired} t retired for Warung Pecel Bu Sri, "
            f"certificate #{result.certificate_id}; buyer holds {result.buyer_balance} t",
        ]
    )
