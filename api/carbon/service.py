"""Reading credits and certificates (the indexer's mirror first, the chain when it has no row)
and relaying holders' EIP-712 signed retirements to ``CarbonCredits.retireWithSig``.

Why both sources: the mirror answers lists cheaply and as of a confirmation depth, but lags the
chain by the indexer's polling and is empty until the indexer has run; the contract always knows.
Each answer says which one it came from (``source``).

A retirement is sent by :mod:`api.carbon.relays`, written ahead: dry-run, signed, committed to
``carbon_relays``, then broadcast. The dry run (the gas estimate) catches a signature that is
malformed, expired, from another signer or for more than the balance: nothing is signed, written
or sent, and the caller gets 422 with the contract's custom-error name (``CarbonInvalidSignature``,
``CarbonSignatureExpired``, ``ERC1155InsufficientBalance``...). The relayer only pays gas: the
holder's signature (with its nonce) is the authorisation. This module holds what the relaying
needs from the contract: the call, the certificate of a receipt, the relayer and its sender lock.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Literal

from fastapi import Request
from sqlalchemy import Connection, select
from sqlalchemy.orm import Session, sessionmaker
from web3 import Web3
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractLogicError
from web3.logs import DISCARD

from chain.errors import ContractRevertError
from chain.platform import Platform, load_platform
from chain.settings import ChainSettings
from chain.signer import Signer
from common.errors import ConfigurationError, MSCError, NotFoundError
from indexer.carbon_state import PROJECT_TYPES, PROJECTS, STANDARDS, VINTAGES
from indexer.models import Block
from indexer.reader import carbon_certificate, carbon_vintage
from settlement.minting.chainlock import SenderLock

CARBON_CONTRACT = "CarbonCredits"
Source = Literal["mirror", "chain"]
"""Where an answer was read: the indexer's SQL mirror, or the node."""
_build_lock = threading.Lock()


class RelayerNotConfiguredError(MSCError):
    """The API has no signer to relay retirements with (``MSC_SIGNER_KEY`` / keystore)."""

    code = "carbon_relayer_not_configured"
    status_code = 503

    def __init__(self) -> None:
        super().__init__("retirements cannot be relayed: the platform's relayer key is not configured")


class CarbonUnavailableError(MSCError):
    """The carbon contract cannot be reached: no deployment file, or an unusable one."""

    code = "carbon_unavailable"
    status_code = 503

    def __init__(self, problem: str) -> None:
        super().__init__(f"the carbon credits contract is not available: {problem}")


class VintageNotFoundError(NotFoundError):
    """No verified vintage has this token id."""

    code = "carbon_vintage_not_found"

    def __init__(self, token_id: int) -> None:
        super().__init__(f"no verified carbon vintage has token id {token_id}", token_id=str(token_id))


class CertificateNotFoundError(NotFoundError):
    """No retirement certificate has this id."""

    code = "carbon_certificate_not_found"

    def __init__(self, certificate_id: int) -> None:
        super().__init__(
            f"retirement certificate {certificate_id} does not exist", certificate_id=str(certificate_id)
        )


@dataclass(frozen=True)
class SignedRetirement:
    """A holder's signed ``Retirement`` and the ``deadline`` and ``signature`` it was signed with."""

    holder: str
    token_id: int
    tonnes: int
    beneficiary: str
    beneficiary_name: str
    reason: str
    period_start: int
    period_end: int
    deadline: int
    signature: bytes

    def as_tuple(self) -> tuple[Any, ...]:
        """The contract's ``Retirement`` tuple."""
        return (
            Web3.to_checksum_address(self.holder),
            self.token_id,
            self.tonnes,
            Web3.to_checksum_address(self.beneficiary),
            self.beneficiary_name,
            self.reason,
            self.period_start,
            self.period_end,
        )


@dataclass(frozen=True)
class Relayed:
    """A retirement that was mined: its certificate and transaction."""

    certificate_id: int
    tx_hash: str
    block_number: int


def _metadata_uri(cid: str) -> str:
    return f"ipfs://{cid}" if cid else ""


def _hex32(value: Any) -> str:
    return value if isinstance(value, str) else "0x" + bytes(value).hex()


class CarbonGateway:
    """The deployed CarbonCredits contract, the mirror's view of it, and (optionally) a relayer.

    Args:
        platform: The deployed platform on a connected node.
        relayer: Signs and pays for relayed retirements; None disables relaying (503).
        confirmations: Mirror answers are as of this many blocks below the head the indexer saw.
    """

    def __init__(self, platform: Platform, relayer: Signer | None, *, confirmations: int = 0) -> None:
        self.platform = platform
        self.contract = platform.carbon
        self.address = self.contract.address
        self.confirmations = confirmations
        self._relayer = relayer
        self._locks: dict[Any, SenderLock] = {}
        self._locks_lock = threading.Lock()

    # ---------------------------------------------------------------- credits

    def vintages(self, conn: Connection) -> tuple[Source, list[dict[str, Any]]]:
        """Every verified vintage with its project: from the mirror if it has any, else from the chain."""
        rows = conn.execute(
            select(VINTAGES.c.token_id)
            .where(VINTAGES.c.carbon == self.address.lower())
            .order_by(VINTAGES.c.token_id)
        ).all()
        mirrored = [self._mirror_vintage(conn, int(r.token_id)) for r in rows]
        found = [v for v in mirrored if v is not None]
        if found:
            return "mirror", found
        verified = self.contract.events.VintageVerified.get_logs(from_block=self._deploy_block())
        token_ids = sorted({int(log["args"]["tokenId"]) for log in verified})
        return "chain", [self._chain_vintage(t) for t in token_ids]

    def vintage(self, conn: Connection, token_id: int) -> tuple[Source, dict[str, Any]]:
        """One vintage: the mirror's confirmed row, else the chain's.

        Raises:
            VintageNotFoundError: not verified on chain either.
        """
        row = self._mirror_vintage(conn, token_id)
        if row is not None:
            return "mirror", row
        return "chain", self._chain_vintage(token_id)

    def _deploy_block(self) -> int:
        return self.platform.deployment.contract(CARBON_CONTRACT).block_number

    def _mirror_vintage(self, conn: Connection, token_id: int) -> dict[str, Any] | None:
        v = carbon_vintage(conn, token_id, self.confirmations, carbon=self.address)
        if v is None:
            return None
        p = conn.execute(
            select(PROJECTS).where(
                PROJECTS.c.carbon == self.address.lower(), PROJECTS.c.project_key == int(v["project_key"])
            )
        ).one_or_none()
        if p is None:
            return None
        held = int(v["issued"]) - int(v["retired"]) - int(v["bridged"]) - int(v["held_for_bridge"])
        return {
            "token_id": int(v["token_id"]),
            "project": {
                "project_key": int(p.project_key),
                "registry_id": p.registry_id,
                "project_type": p.project_type,
                "standard": p.standard,
                "location": p.location,
            },
            "year": int(v["year"]),
            "verified_tonnes": int(v["verified_tonnes"]),
            "issued": int(v["issued"]),
            "retired": int(v["retired"]),
            "bridged": int(v["bridged"]),
            "held_for_bridge": int(v["held_for_bridge"]),
            "available": held,
            "documents_sha256": _hex32(v["documents_sha256"]),
            "documents_cid": v["documents_cid"],
            "metadata_uri": _metadata_uri(v["metadata_cid"]),
        }

    def _chain_vintage(self, token_id: int) -> dict[str, Any]:
        fns = self.contract.functions
        if not 0 <= token_id < 2**256:
            raise VintageNotFoundError(token_id)
        (project_key, year, verified, verified_tonnes, issued, retired, bridged, sha, docs_cid, meta_cid) = (
            fns.vintage(token_id).call()
        )
        if not verified:
            raise VintageNotFoundError(token_id)
        registry_id, project_type, standard, location, _ = fns.project(project_key).call()
        held_for_bridge = int(fns.balanceOf(self.address, token_id).call())
        return {
            "token_id": token_id,
            "project": {
                "project_key": int(project_key),
                "registry_id": registry_id,
                "project_type": PROJECT_TYPES[int(project_type)],
                "standard": STANDARDS[int(standard)],
                "location": location,
            },
            "year": int(year),
            "verified_tonnes": int(verified_tonnes),
            "issued": int(issued),
            "retired": int(retired),
            "bridged": int(bridged),
            "held_for_bridge": held_for_bridge,
            "available": int(issued) - int(retired) - int(bridged) - held_for_bridge,
            "documents_sha256": "0x" + bytes(sha).hex(),
            "documents_cid": docs_cid,
            "metadata_uri": _metadata_uri(meta_cid),
        }

    # ---------------------------------------------------------------- certificates

    def certificate(self, conn: Connection, certificate_id: int) -> tuple[Source, dict[str, Any]]:
        """A retirement certificate with its vintage's metadata URI: the mirror's, else the chain's.

        Raises:
            CertificateNotFoundError: the contract does not know it either.
        """
        row = carbon_certificate(conn, certificate_id, self.confirmations, carbon=self.address)
        if row is not None:
            token_id = int(row["token_id"])
            return "mirror", {
                "certificate_id": certificate_id,
                "token_id": token_id,
                "tonnes": int(row["tonnes"]),
                "retired_at": _block_time(conn, int(row["block_number"])),
                "period_start": int(row["period_start"]),
                "period_end": int(row["period_end"]),
                "retired_by": Web3.to_checksum_address(row["retired_by"]),
                "beneficiary": Web3.to_checksum_address(row["beneficiary"]),
                "beneficiary_name": row["beneficiary_name"],
                "reason": row["reason"],
                "block_number": int(row["block_number"]),
                "tx_hash": _hex32(row["tx_hash"]),
                "metadata_uri": self._uri(conn, token_id),
            }
        if not 0 < certificate_id < 2**256:
            raise CertificateNotFoundError(certificate_id)
        try:
            c = self.contract.functions.certificate(certificate_id).call()
        except ContractLogicError as exc:  # CarbonCertificateUnknown
            raise CertificateNotFoundError(certificate_id) from exc
        token_id, tonnes, retired_at, period_start, period_end, retired_by, beneficiary, name, reason = c
        return "chain", {
            "certificate_id": certificate_id,
            "token_id": int(token_id),
            "tonnes": int(tonnes),
            "retired_at": int(retired_at),
            "period_start": int(period_start),
            "period_end": int(period_end),
            "retired_by": Web3.to_checksum_address(retired_by),
            "beneficiary": Web3.to_checksum_address(beneficiary),
            "beneficiary_name": name,
            "reason": reason,
            "block_number": None,
            "tx_hash": None,
            "metadata_uri": str(self.contract.functions.uri(int(token_id)).call()),
        }

    def _uri(self, conn: Connection, token_id: int) -> str:
        cid = conn.execute(
            select(VINTAGES.c.metadata_cid).where(
                VINTAGES.c.carbon == self.address.lower(), VINTAGES.c.token_id == token_id
            )
        ).scalar_one_or_none()
        if cid is not None:
            return _metadata_uri(cid)
        return str(self.contract.functions.uri(token_id).call())

    # ---------------------------------------------------------------- retirements

    def nonce(self, holder: str) -> int:
        """The holder's next ``retireWithSig`` nonce."""
        return int(self.contract.functions.nonces(Web3.to_checksum_address(holder)).call())

    def domain(self) -> dict[str, Any]:
        """The contract's EIP-712 domain, as wallets put it in ``eth_signTypedData_v4``."""
        return {
            "name": "MSC Carbon Credits",
            "version": "1",
            "chainId": self.platform.deployment.chain_id,
            "verifyingContract": self.address,
        }

    @property
    def relayer(self) -> Signer:
        """The key that signs and pays for retirements (and holds the platform's custody credits).

        Raises:
            RelayerNotConfiguredError: no relayer key.
        """
        if self._relayer is None:
            raise RelayerNotConfiguredError()
        return self._relayer

    @property
    def custody_address(self) -> str:
        """The platform's custody account (the relayer), whose credits operators retire for customers.

        Raises:
            RelayerNotConfiguredError: no relayer key.
        """
        return self.relayer.address

    def sender_lock(self, sessions: sessionmaker[Session]) -> SenderLock:
        """The relayer's sender lock on the database of ``sessions``: one per gateway and engine, so the
        threads of this process share its local lock (and, on PostgreSQL, every process its advisory
        lock, which settlement's senders of the same key take too).

        Raises:
            RelayerNotConfiguredError: no relayer key.
        """
        address = self.relayer.address
        with self._locks_lock:
            engine = sessions.kw.get("bind")
            lock = self._locks.get(engine)
            if lock is None:
                lock = self._locks[engine] = SenderLock.for_sessions(sessions, address)
            return lock

    def latest_block_time(self) -> int:
        """Unix seconds of the chain's latest block: what ``block.timestamp`` is at least, next block."""
        return int(self.platform.w3.eth.get_block("latest")["timestamp"])

    def retirement_call(self, r: SignedRetirement, *, custodial: bool) -> ContractFunction:
        """The contract call that retires ``r``: ``retire`` from custody (``r.holder`` must be
        :attr:`custody_address`), or ``retireWithSig`` with the holder's signature."""
        fns = self.contract.functions
        if custodial:
            return fns.retire(r.as_tuple())
        return fns.retireWithSig(r.as_tuple(), r.deadline, r.signature)

    def certificate_of(self, receipt: Any) -> Relayed:
        """The certificate of a mined retirement, from its ``CreditsRetired`` event.

        Raises:
            ContractRevertError: the receipt has no ``CreditsRetired`` event of this contract.
        """
        # DISCARD: the receipt's other logs (the burn's TransferSingle) are not CreditsRetired.
        events = self.contract.events.CreditsRetired().process_receipt(receipt, errors=DISCARD)
        mine = [e for e in events if e["address"] == self.address]
        if len(mine) != 1:
            raise ContractRevertError("Unknown", {"reason": "no CreditsRetired event in the receipt"})
        return Relayed(
            certificate_id=int(mine[0]["args"]["certificateId"]),
            tx_hash=receipt["transactionHash"].to_0x_hex(),
            block_number=int(receipt["blockNumber"]),
        )


def build_gateway(settings: ChainSettings | None = None, *, confirmations: int = 0) -> CarbonGateway:
    """A gateway on the configured node and deployment, relaying with the configured signer if any."""
    settings = settings or ChainSettings.from_env()
    platform = load_platform(settings)
    try:
        relayer: Signer | None = Signer.from_settings(settings)
    except ConfigurationError:
        relayer = None
    return CarbonGateway(platform, relayer, confirmations=confirmations)


def _block_time(conn: Connection, number: int) -> int | None:
    """Unix seconds of mirrored block ``number``: a certificate's ``retiredAt``, which the contract sets
    to the timestamp of the retiring block. The mirror keeps every block with a log, so this is known
    for every mirrored retirement; None only if that header was never stored."""
    timestamp = conn.execute(select(Block.timestamp).where(Block.number == number)).scalar_one_or_none()
    return None if timestamp is None else int(timestamp)


def get_carbon(request: Request) -> CarbonGateway:
    """The app's carbon gateway (a dependency): ``app.state.carbon``, or built once from ``MSC_*``."""
    state = request.app.state
    gateway: CarbonGateway | None = getattr(state, "carbon", None)
    if gateway is None:
        with _build_lock:
            gateway = getattr(state, "carbon", None)
            if gateway is None:
                try:
                    gateway = state.carbon = build_gateway()
                except ConfigurationError as exc:  # no or stale deployment: a service state, not a bug
                    raise CarbonUnavailableError(exc.message) from exc
    return gateway
