"""Driving a recorded refund to the chain, one committed step at a time (write-ahead).

``requested`` -> ``signed``: under the sending key's lock, the escrow record is read again, the
merchant's ``RefundAuthorization`` is signed (custodial key) or taken as given (own wallet), the
relay transaction (``refundWithAuthorization`` from the relayer, or ``coverRefund`` from the
operator after release) is dry-run and signed, and all of it is committed before anything is
broadcast. A dry run that reverts ends the refund as ``failed``: nothing was sent.

``signed`` -> ``sent``: the stored transaction is broadcast (a restart broadcasts the same one:
same hash, same nonce, so it is mined at most once) and its receipt recorded. A transaction whose
nonce went to another one can never be mined: for the escrow route the authorization's use is
looked up on-chain first (its ``RefundAuthorizationUsed`` event), so a refund relayed by someone
else is recognised, never signed again with a new nonce; otherwise it is signed again (same
authorization). A reverted receipt ends it as ``failed`` with the contract's error.

``sent`` -> ``confirmed``: once its block is ``confirmations`` deep (the releaser's depth) and
the receipt is still there; a reorg that dropped it takes it back to ``signed`` (broadcast again).

An ``observer`` hears each committed step (``requested``, ``signed``, ``sent``, ``confirmed``,
``failed``); the crash tests raise in it to kill the run between steps.
"""

from __future__ import annotations

import logging
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from web3 import Web3
from web3.contract.contract import ContractFunction
from web3.exceptions import ContractLogicError
from web3.types import TxReceipt

from chain import eip712
from chain.errors import ChainError, ContractRevertError
from chain.platform import Platform
from chain.signer import Signer
from common.errors import MSCError
from common.sql.helpers import utcnow
from custody.errors import CustodySigningRefusedError
from custody.service import CustodyService
from merchant_refunds.chain_reads import EscrowPosition, chain_time, read_position
from merchant_refunds.errors import RefundNotFoundError
from merchant_refunds.models import (
    OPEN_STATES,
    MerchantRefund,
    MerchantRefundChange,
    RefundRoute,
    RefundState,
)
from settlement.minting.chainlock import SenderLock
from settlement.minting.ids import escrow_payment_id
from settlement.redemption import rawtx

log = logging.getLogger(__name__)

Step = str
StepObserver = Callable[[Step, uuid.UUID], None]

#: An authorization this close to its deadline is not sent (it could expire before it is mined).
DEADLINE_MARGIN_S = 60


@dataclass
class ResumeReport:
    """What one :meth:`RefundSender.resume` did."""

    advanced: dict[uuid.UUID, str] = field(default_factory=dict)
    """Refund -> the state it reached."""
    errors: dict[uuid.UUID, str] = field(default_factory=dict)
    """Refund -> why it could not go on now (tried again next run)."""


class RefundSender:
    """Takes recorded refunds to the chain (see the module docstring).

    Args:
        sessions: The platform database.
        platform: The deployed contracts.
        custody: Signs custodial merchants' refund authorizations.
        relayer: Pays the gas of ``refundWithAuthorization`` (any funded key).
        operator: The escrow's OPERATOR_ROLE key (``coverRefund``); None: no refunds after release.
        confirmations: Blocks on top of a refund before it is ``confirmed`` (the releaser's depth).
        authorization_ttl_s: How long a custodial authorization is valid on-chain.
        pending_timeout_s: How long a run waits for a receipt before leaving it for the next run.
        clock: Current UTC time.
        observer: Told of each committed step.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        platform: Platform,
        custody: CustodyService,
        relayer: Signer,
        operator: Signer | None,
        *,
        confirmations: int = 0,
        authorization_ttl_s: int = 3600,
        pending_timeout_s: float = 120.0,
        clock: Callable[[], datetime] = utcnow,
        observer: StepObserver | None = None,
    ) -> None:
        if confirmations < 0:
            raise ValueError("confirmations must be at least 0")
        self.sessions = sessions
        self.platform = platform
        self.custody = custody
        self.relayer = relayer
        self.operator = operator
        self.confirmations = confirmations
        self.authorization_ttl_s = authorization_ttl_s
        self.pending_timeout_s = pending_timeout_s
        self.clock = clock
        self.observer = observer
        self._locks: dict[str, SenderLock] = {}

    # ------------------------------------------------------------------------------ driving

    def advance(self, refund_id: uuid.UUID) -> RefundState:
        """Takes the refund as far as it can go now; returns the state it reached.

        Raises:
            RefundNotFoundError: no refund has this id.
            ChainError: the node failed or a receipt is late; the refund stays where it was
                committed and the next :meth:`resume` goes on from there.
        """
        state, route = self._state(refund_id)
        if state not in OPEN_STATES:
            return state
        with self._lock(self._signer(route)).hold():
            for _ in range(4):  # requested -> signed -> sent -> confirmed, plus one re-sign
                state, route = self._state(refund_id)
                if state == RefundState.REQUESTED:
                    self._sign(refund_id)
                elif state == RefundState.SIGNED:
                    self._send(refund_id)
                elif state == RefundState.SENT:
                    if not self._confirm(refund_id):
                        break
                else:
                    break
        return self._state(refund_id)[0]

    def resume(self, limit: int = 100) -> ResumeReport:
        """Advances every refund still under way (after a crash, a node outage, a late receipt)."""
        report = ResumeReport()
        with self.sessions() as session:
            ids = list(
                session.scalars(
                    select(MerchantRefund.id)
                    .where(MerchantRefund.state.in_([str(s) for s in OPEN_STATES]))
                    .order_by(MerchantRefund.created_at)
                    .limit(limit)
                )
            )
        for refund_id in ids:
            try:
                report.advanced[refund_id] = str(self.advance(refund_id))
            except MSCError as exc:  # a node outage, a late receipt, a key that cannot be opened
                log.warning("refund %s could not go on now: %s", refund_id, exc.message)
                report.errors[refund_id] = exc.message
        return report

    # ------------------------------------------------------------------------------ steps

    def _sign(self, refund_id: uuid.UUID) -> None:
        """``requested`` -> ``signed`` (or ``failed``): authorization and transaction written ahead."""
        with self.sessions.begin() as session:
            row = self._row(session, refund_id)
            if row.state != RefundState.REQUESTED:
                return
            position = read_position(self.platform, row.payment_id)
            refusal = _refusal(row, position)
            fn: ContractFunction | None = None
            if refusal is None:
                fn, refusal = self._call(session, row, position)
            if refusal is not None or fn is None:
                self._move(session, row, RefundState.FAILED, refusal or "nothing to send")
                step = "failed"
            else:
                try:
                    call = rawtx.sign_call(
                        self.platform.w3, self._signer(RefundRoute(row.route)), self.platform.decoder, fn
                    )
                except ContractRevertError as exc:
                    self._move(session, row, RefundState.FAILED, f"the escrow refuses it: {exc.error_name}")
                    step = "failed"
                else:
                    row.sender = self._signer(RefundRoute(row.route)).address
                    row.tx_hash, row.raw_tx = call.tx_hash, call.raw
                    # The earliest block the transaction (or its authorization's use) can be in.
                    row.block_number = int(self.platform.w3.eth.block_number)
                    self._move(session, row, RefundState.SIGNED, f"transaction {call.tx_hash} signed")
                    step = "signed"
        self._notify(step, refund_id)

    def _call(
        self, session: Session, row: MerchantRefund, position: EscrowPosition
    ) -> tuple[ContractFunction | None, str | None]:
        """The escrow call that makes the refund, signing a custodial authorization if needed."""
        escrow = self.platform.escrow.functions
        key = escrow_payment_id(row.payment_id)
        if row.route == RefundRoute.GUARANTEE:
            return escrow.coverRefund(key, row.amount), None
        now = chain_time(self.platform)
        if (
            row.valid_before is not None
            and row.valid_before <= now + DEADLINE_MARGIN_S
            and self._custodial(session, row)
        ):
            if row.valid_before > now:
                raise ChainError(
                    f"refund {row.id}: its authorization is about to expire; signed again after it does"
                )
            # An expired authorization can never be used (the escrow refuses it from validBefore on)
            # and its transaction was never mined: the platform signs a fresh one for the merchant.
            row.signature, row.auth_nonce, row.valid_before = None, None, None
        if row.signature is None:
            nonce, valid_before = secrets.token_bytes(32), now + self.authorization_ttl_s
            domain = eip712.escrow_domain(int(self.platform.w3.eth.chain_id), self.platform.escrow.address)
            typed = eip712.refund_authorization(domain, key, row.amount, nonce, valid_before)
            try:
                signed = self.custody.sign_escrow_refund(
                    session, row.merchant_id, typed, signer=position.merchant
                )
            except CustodySigningRefusedError as exc:
                return None, f"the merchant's custodial wallet cannot sign it: {exc.message}"
            row.signer, row.auth_nonce = signed.signer, "0x" + nonce.hex()
            row.valid_before, row.signature = valid_before, "0x" + signed.signature.hex()
        assert row.auth_nonce is not None and row.valid_before is not None and row.signature is not None
        if row.valid_before <= now + DEADLINE_MARGIN_S:
            return None, "the merchant's authorization expired before it was sent"
        return (
            escrow.refundWithAuthorization(
                key,
                row.amount,
                bytes.fromhex(row.auth_nonce[2:]),
                row.valid_before,
                bytes.fromhex(row.signature[2:]),
            ),
            None,
        )

    def _send(self, refund_id: uuid.UUID) -> None:
        """``signed`` -> ``sent`` / ``failed`` / back to ``requested`` (see the module docstring)."""
        with self.sessions() as session:
            row = self._row(session, refund_id)
            if row.state != RefundState.SIGNED or row.tx_hash is None or row.raw_tx is None:
                return
            call = rawtx.SignedCall(row.tx_hash, row.raw_tx)
        receipt = rawtx.broadcast(self.platform.w3, call, self.pending_timeout_s)
        with self.sessions.begin() as session:
            row = self._row(session, refund_id)
            if row.state != RefundState.SIGNED or row.tx_hash != call.tx_hash:
                return
            if receipt is None:
                used = self._authorization_use(row)
                if used is not None:
                    row.tx_hash, row.raw_tx, row.block_number = used[0], None, used[1]
                    self._move(session, row, RefundState.SENT, f"authorization used in {used[0]}")
                    step = "sent"
                else:
                    row.tx_hash, row.raw_tx = None, None
                    self._move(
                        session,
                        row,
                        RefundState.REQUESTED,
                        f"{call.tx_hash} can never be mined; signing again",
                    )
                    step = "requested"
            elif receipt["status"] != 1:
                used = self._authorization_use(row)  # relayed by someone else first?
                if used is not None:
                    row.tx_hash, row.raw_tx, row.block_number = used[0], None, used[1]
                    self._move(session, row, RefundState.SENT, f"authorization used in {used[0]}")
                    step = "sent"
                else:
                    self._move(session, row, RefundState.FAILED, f"reverted on-chain: {self._why(receipt)}")
                    step = "failed"
            else:
                row.block_number = int(receipt["blockNumber"])
                self._move(session, row, RefundState.SENT, f"mined in block {row.block_number}")
                step = "sent"
        self._notify(step, refund_id)

    def _confirm(self, refund_id: uuid.UUID) -> bool:
        """``sent`` -> ``confirmed`` at the depth; True when the refund moved (and may go on)."""
        with self.sessions() as session:
            row = self._row(session, refund_id)
            if row.state != RefundState.SENT or row.tx_hash is None:
                return False
            tx_hash = row.tx_hash
        receipt = rawtx.receipt_of(self.platform.w3, tx_hash)
        head = int(self.platform.w3.eth.block_number)
        if receipt is not None and head - int(receipt["blockNumber"]) < self.confirmations:
            return False
        with self.sessions.begin() as session:
            row = self._row(session, refund_id)
            if row.state != RefundState.SENT or row.tx_hash != tx_hash:
                return False
            if receipt is None or receipt["status"] != 1:
                back = RefundState.SIGNED if row.raw_tx is not None else RefundState.REQUESTED
                if back == RefundState.REQUESTED:
                    row.tx_hash = None
                self._move(session, row, back, f"{tx_hash} left the chain (reorg); sending again")
                step = str(back)
            else:
                row.block_number = int(receipt["blockNumber"])
                self._move(session, row, RefundState.CONFIRMED, f"{self.confirmations} blocks deep")
                step = "confirmed"
        self._notify(step, refund_id)
        return step != "confirmed"

    # ------------------------------------------------------------------------------ helpers

    def _authorization_use(self, row: MerchantRefund) -> tuple[str, int] | None:
        """The transaction and block that used this refund's authorization, if any did."""
        if row.route != RefundRoute.ESCROW or row.signer is None or row.auth_nonce is None:
            return None
        escrow = self.platform.escrow.functions
        if not escrow.authorizationState(row.signer, bytes.fromhex(row.auth_nonce[2:])).call():
            return None
        event = self.platform.escrow.events.RefundAuthorizationUsed
        logs = event.get_logs(
            from_block=row.block_number or 0,
            argument_filters={"merchant": row.signer, "nonce": bytes.fromhex(row.auth_nonce[2:])},
        )
        if not logs:
            return None
        return logs[-1]["transactionHash"].to_0x_hex(), int(logs[-1]["blockNumber"])

    def _why(self, receipt: TxReceipt) -> str:
        """The custom error of a reverted refund transaction, replayed at its block."""
        tx = self.platform.w3.eth.get_transaction(receipt["transactionHash"])
        call: Any = {"from": tx["from"], "to": tx["to"], "data": tx["input"]}
        try:
            self.platform.w3.eth.call(call, block_identifier=int(receipt["blockNumber"]) - 1)
        except ContractLogicError as exc:
            data = exc.data.get("data") if isinstance(exc.data, dict) else exc.data
            return self.platform.decoder.decode(data if isinstance(data, str) else None).error_name
        return "unknown (the replay succeeded)"

    def _custodial(self, session: Session, row: MerchantRefund) -> bool:
        """Whether the platform signed (and may sign again) this refund's authorization."""
        if row.signer is None:
            return False
        signer = Web3.to_checksum_address(row.signer)
        return any(k.address == signer for k in self.custody.keys.keys_of(session, row.merchant_id))

    def _signer(self, route: RefundRoute) -> Signer:
        if route == RefundRoute.ESCROW:
            return self.relayer
        if self.operator is None:
            raise ChainError("no operator key is configured for refunds from the guarantee fund")
        return self.operator

    def _lock(self, signer: Signer) -> SenderLock:
        if signer.address not in self._locks:
            self._locks[signer.address] = SenderLock.for_sessions(self.sessions, signer.address)
        return self._locks[signer.address]

    def _state(self, refund_id: uuid.UUID) -> tuple[RefundState, RefundRoute]:
        with self.sessions() as session:
            row = self._row(session, refund_id)
            return RefundState(row.state), RefundRoute(row.route)

    @staticmethod
    def _row(session: Session, refund_id: uuid.UUID) -> MerchantRefund:
        row = session.scalars(
            select(MerchantRefund)
            .where(MerchantRefund.id == refund_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).one_or_none()
        if row is None:
            raise RefundNotFoundError(refund_id)
        return row

    def _move(self, session: Session, row: MerchantRefund, to: RefundState, detail: str) -> None:
        now = self.clock()
        session.add(
            MerchantRefundChange(
                refund_id=row.id, from_state=row.state, to_state=str(to), detail=detail, at=now
            )
        )
        row.state, row.updated_at = str(to), now
        if to in (RefundState.CONFIRMED, RefundState.FAILED):
            row.open_for = None
            row.failure = detail if to == RefundState.FAILED else None

    def _notify(self, step: Step, refund_id: uuid.UUID) -> None:
        if self.observer is not None:
            self.observer(step, refund_id)


def _refusal(row: MerchantRefund, position: EscrowPosition) -> str | None:
    """Why the escrow would refuse the refund now (read before signing anything), or None."""
    if row.route == RefundRoute.ESCROW:
        if not position.held:
            return f"the payment is no longer held in escrow (status {position.status})"
        if row.amount > position.amount:
            return f"only {position.amount} sen is left in escrow"
        if row.signer is not None and Web3.to_checksum_address(row.signer) != position.merchant:
            return "the authorization's signer is not the payment's escrow merchant"
        return None
    if not position.released:
        return f"the payment is not released (status {position.status})"
    coverable = min(position.amount - position.covered, position.guarantee_fund)
    if row.amount > coverable:
        return f"only {coverable} sen can be covered by the guarantee fund"
    return None
