"""Publishing a period's root on LiabilityAttestation, write-ahead and resumable.

Steps, each committed before the next: (1) the snapshot with its leaves (status ``written``);
(2) the signed ``publish`` transaction, stored with its hash (``signed``); (3) the broadcast; (4)
``confirmed`` once mined. A crash anywhere resumes from the stored state: a stored transaction is
re-broadcast as is (same hash and nonce, so it is mined at most once); and before anything is
signed the chain is asked whether the period already holds this root. A period on-chain with
another root is a conflict, never overwritten (the contract refuses it too).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from web3 import Web3
from web3.contract import Contract
from web3.exceptions import ContractLogicError

from audit.liabilities.models import LiabilitySnapshot, SnapshotStatus
from audit.liabilities.service import period_number, take_snapshot
from chain.errors import ChainError
from chain.revert import RevertDecoder
from chain.signer import Signer
from common.errors import ConflictError, NotFoundError
from common.sql.helpers import utcnow
from settlement.redemption import rawtx

MAX_ROUNDS = 4


@dataclass(frozen=True, slots=True)
class Published:
    """A period as it stands on-chain after :func:`publish_period`."""

    period: str
    root: str
    total: int
    block_number: int
    tx_hash: str | None
    leaf_count: int


@dataclass(frozen=True, slots=True)
class Attester:
    """What sends the transaction: the node, the contract, the attester's key, the error decoder."""

    w3: Web3
    contract: Contract
    signer: Signer
    decoder: RevertDecoder


def onchain_root(contract: Contract, period: str) -> str | None:
    """The root the chain holds for ``period`` (0x-hex), or None if nothing was published."""
    number = period_number(period)
    if contract.functions.latestPeriod().call() < number:
        return None
    try:
        stored = contract.functions.attestation(number).call()
    except ContractLogicError:  # LiabilityPeriodUnknown: a later period was published, not this one
        return None
    return "0x" + bytes(stored[0]).hex()


def publish_tx(contract: Contract, period: str, from_block: int) -> str | None:
    """The transaction that published ``period`` (its ``LiabilitiesAttested`` event), if found."""
    logs = contract.events.LiabilitiesAttested.get_logs(
        argument_filters={"period": period_number(period)}, from_block=from_block
    )
    return logs[0]["transactionHash"].to_0x_hex() if logs else None


def _snapshot(session: Session, period: str) -> LiabilitySnapshot:
    snapshot = session.scalar(
        select(LiabilitySnapshot).where(LiabilitySnapshot.period == period).with_for_update()
    )
    if snapshot is None:  # step 1 writes it; only a concurrent delete gets here
        raise NotFoundError("no liabilities snapshot for this period", period=period)
    return snapshot


def _set(snapshot: LiabilitySnapshot, status: SnapshotStatus, tx_hash: str | None, raw: str | None) -> None:
    snapshot.status, snapshot.tx_hash, snapshot.raw_tx = str(status), tx_hash, raw
    snapshot.updated_at = utcnow()


def publish_period(
    sessions: sessionmaker[Session], attester: Attester, period: str, secret: bytes
) -> Published:
    """Snapshots ``period`` (if not yet) and publishes its root; safe to call again after a crash.

    Raises:
        ConflictError: the chain holds another root for the period.
        ContractRevertError: the contract refused the publish (e.g. a later period is published).
        TransactionNotMinedError: broadcast but not mined in time; call again to resume.
    """
    with sessions.begin() as session:
        take_snapshot(session, period, secret, attester.w3.eth.block_number)
    for _ in range(MAX_ROUNDS):
        with sessions.begin() as session:
            snapshot = _snapshot(session, period)
            status = SnapshotStatus(snapshot.status)
            if status is SnapshotStatus.CONFIRMED:
                return _published(snapshot)
            if status is SnapshotStatus.WRITTEN:
                on_chain = onchain_root(attester.contract, period)
                if on_chain is not None and on_chain != snapshot.root:
                    raise ConflictError("the chain holds another root for this period", period=period)
                if on_chain == snapshot.root:
                    tx_hash = publish_tx(attester.contract, period, snapshot.block_number)
                    _set(snapshot, SnapshotStatus.CONFIRMED, tx_hash, None)
                    return _published(snapshot)
                fn = attester.contract.functions.publish(
                    period_number(period),
                    bytes.fromhex(snapshot.root[2:]),
                    snapshot.total,
                    snapshot.block_number,
                )
                call = rawtx.sign_call(attester.w3, attester.signer, attester.decoder, fn)
                _set(snapshot, SnapshotStatus.SIGNED, call.tx_hash, call.raw)
                continue  # committed before it is broadcast
            call = rawtx.SignedCall(str(snapshot.tx_hash), str(snapshot.raw_tx))
        receipt = rawtx.broadcast(attester.w3, call)
        with sessions.begin() as session:
            snapshot = _snapshot(session, period)
            if receipt is not None and receipt["status"] == 1:
                _set(snapshot, SnapshotStatus.CONFIRMED, call.tx_hash, None)
                return _published(snapshot)
            # Never mined (nonce taken) or reverted: the period is re-checked on-chain and re-signed.
            _set(snapshot, SnapshotStatus.WRITTEN, None, None)
        if receipt is not None:
            rawtx.require_success(receipt, f"publish of {period}")
    raise ChainError(f"publish of {period} did not settle after {MAX_ROUNDS} rounds; call again")


def _published(snapshot: LiabilitySnapshot) -> Published:
    return Published(
        period=snapshot.period,
        root=snapshot.root,
        total=snapshot.total,
        block_number=snapshot.block_number,
        tx_hash=snapshot.tx_hash,
        leaf_count=snapshot.leaf_count,
    )
