"""Retirements written ahead: dry-run, signed, committed, then broadcast, so none happens twice.

A retirement is irreversible once mined. The API used to send it inside its idempotency
transaction, so a failure between the mined transaction and that commit (a crash, a database
error) left no record: a retry of the same ``Idempotency-Key`` retired the custody account's credits
again (``retire`` has no nonce of its own), or answered 422 for a signed one (its nonce used).

Now, under the relayer's sender lock (so no other transaction of the key takes the nonce between
signing and sending):

1. a period not over yet is refused on ``period_end`` (the contract's ``CarbonInvalidPeriod``),
   judged by the latest block's time, before anything is signed;
2. the call is dry-run and signed (:func:`settlement.redemption.rawtx.sign_call`), and the signed
   raw transaction is committed as a ``pending`` :class:`~api.carbon.models.CarbonRelay` under the
   request's key: only then is it broadcast;
3. its outcome moves the row (conditional update, with history): ``retired`` with the certificate
   of its ``CreditsRetired`` event, or ``failed`` if it reverted on-chain.

A retry of the same key (same request) finds the row: a ``retired`` one answers its certificate; a
``pending`` one is broadcast again as stored (same hash, same nonce: mined at most once) or its
receipt read; a stored transaction that can never be mined (the node refuses its nonce as used and
the chain has no receipt of it, so it retired nothing) is re-signed, dry run first; a ``failed`` one
retired nothing and is signed anew. A different request under the key is 409. Rows left
``pending`` by requests that are never retried are brought to ``retired``/``failed`` by
:func:`finish_pending` (a sweep), so the table never shows a mined retirement as pending.

Known limits: ``retired`` is recorded at the receipt (0 confirmations; a reorg deeper than the
receipt is not followed here); a stored transaction whose fees fell below the chain's base fee is
not re-priced: the node refuses it and the row stays ``pending`` until the relayer's next transaction
takes its nonce, after which it is re-signed as above.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi.responses import Response
from sqlalchemy import CursorResult, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from web3.types import TxReceipt

from api.carbon.models import CarbonRelay, CarbonRelayChange, CarbonRelayKind, CarbonRelayStatus
from api.carbon.service import CarbonGateway, Relayed, SignedRetirement
from api.idempotency import (
    REPLAYED_HEADER,
    Idempotency,
    IdempotencyInProgressError,
    IdempotencyKeyReusedError,
)
from api.models import IdempotencyRecord
from chain.errors import ChainError, ContractRevertError
from common.errors import ConflictError, ValidationError
from common.sql.helpers import utcnow
from settlement.redemption import rawtx

S = CarbonRelayStatus
MAX_RESIGNS = 3
"""Re-signings of one request in one call before giving up (each needs its nonce taken again)."""


class RetirementPeriodNotOverError(ValidationError):
    """The retirement claims a period that has not ended on chain (``CarbonInvalidPeriod``)."""

    def __init__(self, period_end: int, latest_block_time: int) -> None:
        problem = (
            f"the period must be over: period_end {period_end} is after the chain's latest block time "
            f"{latest_block_time}"
        )
        super().__init__(
            f"the request has invalid fields: period_end ({problem})",
            fields=[
                {"field": "period_end", "location": "body", "problem": problem, "type": "period_not_over"}
            ],
            period_end=period_end,
            latest_block_time=latest_block_time,
        )


class CarbonRelayMovedError(ConflictError):
    """A relay row was not where this request left it (moved by a process outside the sender lock)."""

    code = "carbon_relay_moved"

    def __init__(self, relay_id: uuid.UUID, expected: str) -> None:
        super().__init__(
            f"carbon relay {relay_id} is no longer {expected}; retry the request", relay_id=str(relay_id)
        )


def stored_answer(sessions: sessionmaker[Session], idem: Idempotency) -> Response | None:
    """The answer already recorded under the request's key, replayed, before anything is sent.

    Raises:
        IdempotencyKeyReusedError: the key was used for a different request (any route).
    """
    if idem.key is None:
        return None
    with sessions() as session:
        record = session.scalars(
            select(IdempotencyRecord).where(
                IdempotencyRecord.api_key_id == idem.api_key_id, IdempotencyRecord.key == idem.key
            )
        ).one_or_none()
    if record is None:
        return None
    if record.request_hash != idem.request_hash:
        raise IdempotencyKeyReusedError(idem.key)
    if record.response_status is None or record.response_body is None:
        return None  # a claim still running: the relay row (under the sender lock) decides
    return Response(
        record.response_body,
        status_code=record.response_status,
        media_type="application/json",
        headers={REPLAYED_HEADER: "true"},
    )


def retire(
    gateway: CarbonGateway,
    sessions: sessionmaker[Session],
    idem: Idempotency,
    kind: CarbonRelayKind,
    r: SignedRetirement,
) -> Relayed:
    """Retires ``r`` at most once per (API key, ``Idempotency-Key``), written ahead (module docstring).

    Raises:
        RelayerNotConfiguredError: no relayer key.
        RetirementPeriodNotOverError: ``r.period_end`` is after the latest block's time.
        IdempotencyKeyReusedError: the key was used for a different retirement.
        ContractRevertError: the dry run refused it (nothing written or sent), or it reverted.
        ChainError: its outcome is not known yet (the row stays pending; a retry finishes it).
    """
    lock = gateway.sender_lock(sessions)
    latest = gateway.latest_block_time()
    if r.period_end > latest:
        raise RetirementPeriodNotOverError(r.period_end, latest)
    with lock.hold():
        if idem.key is not None:
            with sessions() as session:
                row = session.scalars(
                    select(CarbonRelay).where(
                        CarbonRelay.api_key_id == idem.api_key_id, CarbonRelay.idempotency_key == idem.key
                    )
                ).one_or_none()
            if row is not None:
                if row.request_hash != idem.request_hash:
                    raise IdempotencyKeyReusedError(idem.key)
                return _resume(gateway, sessions, row, r)
        call = _sign(gateway, kind, r)
        relay_id = _write(sessions, idem, kind, r, call)
        return _send(gateway, sessions, relay_id, kind, r, call)


def _sign(gateway: CarbonGateway, kind: CarbonRelayKind, r: SignedRetirement) -> rawtx.SignedCall:
    """Dry-runs and signs the retirement with the relayer's next nonce (under the sender lock)."""
    fn = gateway.retirement_call(r, custodial=kind == CarbonRelayKind.CUSTODIAL)
    return rawtx.sign_call(gateway.platform.w3, gateway.relayer, gateway.platform.decoder, fn)


def _write(
    sessions: sessionmaker[Session],
    idem: Idempotency,
    kind: CarbonRelayKind,
    r: SignedRetirement,
    call: rawtx.SignedCall,
) -> uuid.UUID:
    """Commits the ``pending`` row holding the signed transaction, before it is broadcast.

    Raises:
        IdempotencyInProgressError: a request with the same key wrote its row first (one that did not
            hold this process's lock); nothing was sent by this one.
    """
    now = utcnow()
    row = CarbonRelay(
        id=uuid.uuid4(),
        api_key_id=idem.api_key_id,
        idempotency_key=idem.key,
        request_hash=idem.request_hash,
        kind=str(kind),
        holder=r.holder,
        token_id=r.token_id,
        tonnes=r.tonnes,
        raw_tx=call.raw,
        tx_hash=call.tx_hash,
        status=str(S.PENDING),
        created_at=now,
        updated_at=now,
    )
    try:
        with sessions.begin() as session:
            session.add(row)
    except IntegrityError as exc:
        raise IdempotencyInProgressError(idem.key or "") from exc
    return row.id


def _resume(
    gateway: CarbonGateway, sessions: sessionmaker[Session], row: CarbonRelay, r: SignedRetirement
) -> Relayed:
    """Finishes a row of an earlier attempt of the same request (under the sender lock)."""
    kind = CarbonRelayKind(row.kind)
    if row.status == S.RETIRED:
        assert row.certificate_id is not None and row.block_number is not None
        return Relayed(row.certificate_id, row.tx_hash, row.block_number)
    if row.status == S.PENDING:
        return _send(gateway, sessions, row.id, kind, r, rawtx.SignedCall(row.tx_hash, row.raw_tx))
    # failed: mined and reverted (or refused when re-signed): nothing was retired, so sign anew.
    call = _sign(gateway, kind, r)
    with sessions.begin() as session:
        _move(session, row.id, S.FAILED, S.PENDING, f"signed anew as {call.tx_hash}", row.tx_hash, call)
    return _send(gateway, sessions, row.id, kind, r, call)


def _send(
    gateway: CarbonGateway,
    sessions: sessionmaker[Session],
    relay_id: uuid.UUID,
    kind: CarbonRelayKind,
    r: SignedRetirement,
    call: rawtx.SignedCall,
) -> Relayed:
    """Broadcasts the written transaction (or reads its receipt) and moves the row by its outcome."""
    for _ in range(MAX_RESIGNS):
        receipt = rawtx.broadcast(gateway.platform.w3, call)
        if receipt is not None:
            return _record(gateway, sessions, relay_id, call, receipt)
        call = _resign(gateway, sessions, relay_id, kind, r, call)
    raise CarbonRelayMovedError(relay_id, "sendable: its nonce keeps being taken")


def _resign(
    gateway: CarbonGateway,
    sessions: sessionmaker[Session],
    relay_id: uuid.UUID,
    kind: CarbonRelayKind,
    r: SignedRetirement,
    lost: rawtx.SignedCall,
) -> rawtx.SignedCall:
    """Replaces a written transaction that can never be mined by a new one, committed before it is sent.

    Raises:
        ChainError: the chain has a receipt of ``lost`` after all (nothing is replaced).
        ContractRevertError: the new one's dry run refuses it (the row is ``failed``).
    """
    # The node refused its nonce as used; a receipt of it would mean it retired: then keep it.
    if rawtx.receipt_of(gateway.platform.w3, lost.tx_hash) is not None:
        raise ChainError(f"retirement {lost.tx_hash} was mined after all; retry to read it")
    try:
        fresh = _sign(gateway, kind, r)
    except ContractRevertError as exc:
        with sessions.begin() as session:
            _move(session, relay_id, S.PENDING, S.FAILED, f"re-signing refused: {exc}", lost.tx_hash)
        raise
    with sessions.begin() as session:
        reason = f"{lost.tx_hash} lost its nonce unmined (retired nothing); re-signed as {fresh.tx_hash}"
        _move(session, relay_id, S.PENDING, S.PENDING, reason, lost.tx_hash, fresh)
    return fresh


def _record(
    gateway: CarbonGateway,
    sessions: sessionmaker[Session],
    relay_id: uuid.UUID,
    call: rawtx.SignedCall,
    receipt: TxReceipt,
) -> Relayed:
    """Moves the row by the mined transaction's receipt: ``retired`` with its certificate, or ``failed``.

    Raises:
        ContractRevertError: it reverted on-chain (nothing was retired).
    """
    if receipt["status"] != 1:
        with sessions.begin() as session:
            _move(session, relay_id, S.PENDING, S.FAILED, f"{call.tx_hash} reverted on-chain", call.tx_hash)
        rawtx.require_success(receipt, "the retirement")
    relayed = gateway.certificate_of(receipt)
    with sessions.begin() as session:
        _move(
            session,
            relay_id,
            S.PENDING,
            S.RETIRED,
            f"certificate {relayed.certificate_id} in block {relayed.block_number}",
            call.tx_hash,
            certificate_id=relayed.certificate_id,
            block_number=relayed.block_number,
        )
    return relayed


def finish_pending(
    gateway: CarbonGateway, sessions: sessionmaker[Session], older_than: datetime, limit: int = 100
) -> dict[uuid.UUID, CarbonRelayStatus]:
    """Brings rows left ``pending`` (since before ``older_than``) by requests that failed and were not
    retried to where the chain says they are, so the table never shows a mined retirement as pending.

    Each stored transaction is broadcast again as written (the request was made; it is mined at most
    once) or its receipt read: mined rows become ``retired`` or ``failed``; one that lost its nonce
    unmined retired nothing and becomes ``failed`` (without the request's signature there is nothing
    to re-sign: a retry of the key signs anew). One still not mined stays ``pending``. Idempotent.

    Returns:
        Each examined row's status after.
    """
    with sessions() as session:
        ids = list(
            session.scalars(
                select(CarbonRelay.id)
                .where(CarbonRelay.status == str(S.PENDING), CarbonRelay.updated_at <= older_than)
                .order_by(CarbonRelay.updated_at)
                .limit(limit)
            )
        )
    statuses: dict[uuid.UUID, CarbonRelayStatus] = {}
    with gateway.sender_lock(sessions).hold():
        for relay_id in ids:
            statuses[relay_id] = _finish(gateway, sessions, relay_id)
    return statuses


def _finish(
    gateway: CarbonGateway, sessions: sessionmaker[Session], relay_id: uuid.UUID
) -> CarbonRelayStatus:
    """One pending row from the chain (under the sender lock); its status after."""
    with sessions() as session:
        row = session.get(CarbonRelay, relay_id)
        assert row is not None
        if row.status != S.PENDING:
            return S(row.status)
        call = rawtx.SignedCall(row.tx_hash, row.raw_tx)
    try:
        receipt = rawtx.broadcast(gateway.platform.w3, call)
    except ChainError:  # refused or not mined yet: its outcome is still unknown
        return S.PENDING
    if receipt is None:
        with sessions.begin() as session:
            reason = f"{call.tx_hash} lost its nonce unmined: retired nothing"
            _move(session, relay_id, S.PENDING, S.FAILED, reason, call.tx_hash)
        return S.FAILED
    try:
        _record(gateway, sessions, relay_id, call, receipt)
    except ContractRevertError:
        return S.FAILED
    return S.RETIRED


def _move(
    session: Session,
    relay_id: uuid.UUID,
    from_status: CarbonRelayStatus,
    to_status: CarbonRelayStatus,
    reason: str,
    tx_hash: str,
    signed: rawtx.SignedCall | None = None,
    **values: Any,
) -> None:
    """Moves the row from ``from_status`` (still holding ``tx_hash``) to ``to_status``, with history;
    ``signed`` replaces its transaction.

    Raises:
        CarbonRelayMovedError: the row is not in ``from_status`` with ``tx_hash`` any more.
    """
    now = utcnow()
    if signed is not None:
        values.update(raw_tx=signed.raw, tx_hash=signed.tx_hash)
    result = session.execute(
        update(CarbonRelay)
        .where(
            CarbonRelay.id == relay_id,
            CarbonRelay.status == str(from_status),
            CarbonRelay.tx_hash == tx_hash,
        )
        .values(status=str(to_status), updated_at=now, **values)
    )
    assert isinstance(result, CursorResult)
    if result.rowcount != 1:
        raise CarbonRelayMovedError(relay_id, f"{from_status} with {tx_hash}")
    session.add(
        CarbonRelayChange(
            relay_id=relay_id, from_status=str(from_status), to_status=str(to_status), reason=reason, at=now
        )
    )
