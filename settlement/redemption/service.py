"""Redeeming MSC for Rupiah: relay the merchant's signed authorization, burn, pay out.

``request`` (in the caller's transaction, e.g. the API's idempotency transaction):
the merchant's EIP-3009 ``ReceiveWithAuthorization`` for exactly the amount, payable to the
redeemer (the settlement key, an MSC minter), is checked off-chain (signature, window, balance,
nonce), relayed with ``receiveWithAuthorization`` (only the payee may submit it, so nobody can
front-run it), and the payout (``requested``) and its redemption record are written. The
authorization's nonce is the on-chain idempotency key: if a crash lost the SQL side after the
relay, the same request finds the nonce used, reads the relay's ``Transfer`` from the chain and
records it then; an authorization redeems once (a unique constraint on the nonce).

Then the payout's steps, each one conditional status move plus its ledger entry in one
transaction (:mod:`settlement.ledger.flows`):

* ``process``: burn the redeemed MSC (a write-ahead transaction: at most one burn) and hand the
  payout to the bank transfer, ``requested -> processing`` with ``record_redemption``;
* ``mark_paid`` / ``mark_failed``: the bank's answer, ``processing -> paid | failed``;
* ``reverse``: a failed payout's MSC re-issued (minted) to the merchant (write-ahead, at most
  once), ``failed -> reversed`` with ``record_payout_reversed``: the merchant's claim is back.

Invariant: MSC supply drops by exactly the amount of each burned redemption and rises by exactly
the amount of each reversal; the redeemer's balance is the sum of relayed, not yet burned
redemptions.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from web3 import Web3
from web3.logs import DISCARD

from chain.eip712 import authorization as authorization_typed_data
from chain.eip712 import msc_domain, split_signature
from chain.errors import ChainError, ContractRevertError
from chain.platform import Platform
from chain.sender import TransactionSender
from chain.signer import Signer
from common.errors import ValidationError
from settlement.ledger.flows import (
    record_payout_failed,
    record_payout_paid,
    record_payout_reversed,
    record_redemption,
)
from settlement.ledger.sql import utcnow
from settlement.minting.chainlock import SenderLock
from settlement.payouts import repository as payout_repository
from settlement.payouts.errors import PayoutIdempotencyConflictError
from settlement.payouts.models import Payout, PayoutStatus
from settlement.payouts.service import PayoutService
from settlement.redemption import rawtx
from settlement.redemption.errors import (
    AuthorizationUsedError,
    InsufficientBalanceError,
    InvalidAuthorizationError,
    RedemptionNotFoundError,
)
from settlement.redemption.models import Redemption

P = PayoutStatus
RECEIVE = "ReceiveWithAuthorization"


@dataclass(frozen=True)
class Authorization:
    """A merchant's signed EIP-3009 ``ReceiveWithAuthorization`` to the redeemer."""

    sender: str
    """The merchant's address (``from``)."""
    value: int
    """Sen of MSC; must equal the redeemed amount."""
    valid_after: int
    valid_before: int
    nonce: bytes
    """32 random bytes the merchant chose."""
    signature: bytes
    """65 bytes ``r || s || v``."""

    @property
    def nonce_hex(self) -> str:
        """The nonce as 0x-hex."""
        return "0x" + self.nonce.hex()


@dataclass(frozen=True)
class RedemptionRequest:
    """What a merchant asks to redeem."""

    idempotency_key: str
    merchant_id: str
    merchant_address: str
    amount: int
    bank_account: str
    authorization: Authorization
    fee: int = 0


class RedemptionService:
    """Redemptions and their payouts.

    Args:
        sessions: The settlement database.
        platform: The deployed contracts.
        signer: The redeemer: receives the merchants' MSC and burns it, re-issues reversed
            payouts. Must be an MSC minter (with allowance for re-issues). Keep it apart from
            the escrow depositor, whose idle balance means deposit money.
        payouts: The payout records (default: a new :class:`PayoutService`).
        clock: Current UTC time.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        platform: Platform,
        signer: Signer,
        *,
        payouts: PayoutService | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.sessions = sessions
        self.platform = platform
        self.signer = signer
        self.sender = TransactionSender(platform.w3, signer, platform.decoder)
        self.payouts = payouts or PayoutService(clock=clock)
        self.clock = clock
        self.lock = SenderLock.for_sessions(sessions, signer.address)

    @property
    def redeemer(self) -> str:
        """The address authorizations must pay."""
        return self.signer.address

    def typed_data(
        self, sender: str, value: int, valid_after: int, valid_before: int, nonce: bytes
    ) -> dict[str, Any]:
        """The EIP-712 message a merchant signs to redeem ``value`` sen (what its wallet shows)."""
        domain = msc_domain(self.platform.w3.eth.chain_id, self.platform.msc.address)
        return authorization_typed_data(
            domain, RECEIVE, sender, self.redeemer, value, valid_after, valid_before, nonce
        )

    # ------------------------------------------------------------------ request

    def request(self, session: Session, req: RedemptionRequest) -> Payout:
        """Relays the authorization and records the payout in ``session`` (the caller commits).

        The same idempotency key with the same content returns the first payout without
        touching the chain.

        Raises:
            ValidationError: amounts out of range, or the authorization is not for this amount.
            InvalidAuthorizationError: bad signature, wrong signer, outside its validity window.
            InsufficientBalanceError: the merchant holds less MSC than the amount.
            AuthorizationUsedError: the nonce was used (by another payout or on-chain) or cancelled.
            PayoutIdempotencyConflictError: the key was used for another redemption.
            ContractRevertError: the relay would revert for another reason (nothing sent).
        """
        key = f"{req.merchant_id}:{req.idempotency_key}"
        existing = payout_repository.by_key(session, key)
        if existing is not None:
            if (existing.merchant_id, existing.amount, existing.fee, existing.bank_account) != (
                req.merchant_id,
                req.amount,
                req.fee,
                req.bank_account,
            ) or self._redemption_nonce(session, existing.id) != req.authorization.nonce_hex:
                raise PayoutIdempotencyConflictError(req.idempotency_key, existing.id)
            return existing
        self._check(session, req)
        with self.lock.hold():
            transfer_tx = self._relay(req)
        payout = self.payouts.request(
            session,
            idempotency_key=key,
            merchant_id=req.merchant_id,
            amount=req.amount,
            fee=req.fee,
            bank_account=req.bank_account,
        )
        auth = req.authorization
        session.add(
            Redemption(
                payout_id=payout.id,
                merchant_address=Web3.to_checksum_address(req.merchant_address),
                redeemer=self.redeemer,
                auth_nonce=auth.nonce_hex,
                valid_before=auth.valid_before,
                transfer_tx_hash=transfer_tx,
                created_at=self.clock(),
            )
        )
        session.flush()
        return payout

    def _check(self, session: Session, req: RedemptionRequest) -> None:
        """Everything that can be checked without sending (so a refusal changes nothing)."""
        auth = req.authorization
        for name, value in (("amount", req.amount), ("fee", req.fee)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValidationError(f"{name} must be an integer of sen", field=name)
        if req.amount <= 0 or not 0 <= req.fee < req.amount:
            raise ValidationError(
                f"amount must be positive and the fee between 0 and the amount; got {req.amount}, {req.fee}"
            )
        if auth.value != req.amount:
            raise InvalidAuthorizationError(
                f"it authorizes {auth.value} sen, not the {req.amount} sen redeemed"
            )
        if Web3.to_checksum_address(auth.sender) != Web3.to_checksum_address(req.merchant_address):
            raise InvalidAuthorizationError("it is not from the merchant's address", sender=auth.sender)
        if len(auth.nonce) != 32 or len(auth.signature) != 65:
            raise InvalidAuthorizationError("the nonce must be 32 bytes and the signature 65 bytes")
        typed = self.typed_data(auth.sender, auth.value, auth.valid_after, auth.valid_before, auth.nonce)
        try:
            signer = Account.recover_message(encode_typed_data(full_message=typed), signature=auth.signature)
        except Exception as exc:  # malformed signatures raise assorted errors in eth_keys
            raise InvalidAuthorizationError("the signature cannot be decoded") from exc
        if signer != Web3.to_checksum_address(req.merchant_address):
            raise InvalidAuthorizationError(
                f"it is signed by {signer}, not by the merchant's address {req.merchant_address}"
            )
        now = int(self.platform.w3.eth.get_block("latest")["timestamp"])
        if not auth.valid_after < now < auth.valid_before:
            raise InvalidAuthorizationError(
                f"it is valid from {auth.valid_after} to {auth.valid_before}; the chain's time is {now}"
            )
        holder = session.scalars(
            select(Redemption.payout_id).where(
                Redemption.merchant_address == Web3.to_checksum_address(req.merchant_address),
                Redemption.auth_nonce == auth.nonce_hex,
            )
        ).one_or_none()
        if holder is not None:
            raise AuthorizationUsedError(req.merchant_address, auth.nonce_hex, holder)

    def _relay(self, req: RedemptionRequest) -> str:
        """Moves the MSC to the redeemer; the tx hash (also of an earlier relay lost to a crash)."""
        auth = req.authorization
        msc = self.platform.msc
        if msc.functions.authorizationState(auth.sender, auth.nonce).call():
            found = self._earlier_relay(req)
            if found is None:
                raise AuthorizationUsedError(req.merchant_address, auth.nonce_hex)
            return found
        balance = int(msc.functions.balanceOf(auth.sender).call())
        if balance < req.amount:
            raise InsufficientBalanceError(auth.sender, balance, req.amount)
        v, r, s = split_signature(auth.signature)
        fn = msc.functions.receiveWithAuthorization(
            auth.sender, self.redeemer, auth.value, auth.valid_after, auth.valid_before, auth.nonce, v, r, s
        )
        try:
            receipt = self.sender.transact(fn)
        except ContractRevertError as exc:
            if exc.error_name == "MSCInvalidSignature":
                raise InvalidAuthorizationError("the token refused the signature") from exc
            raise
        return receipt["transactionHash"].to_0x_hex()

    def _earlier_relay(self, req: RedemptionRequest) -> str | None:
        """The relay of this authorization to the redeemer if the chain shows one (a crash lost
        the SQL record after it was sent)."""
        auth = req.authorization
        msc = self.platform.msc
        logs = msc.events.AuthorizationUsed().get_logs(
            from_block=0,
            argument_filters={"authorizer": Web3.to_checksum_address(auth.sender), "nonce": auth.nonce},
        )
        for log in logs:
            receipt = self.platform.w3.eth.get_transaction_receipt(log["transactionHash"])
            for transfer in msc.events.Transfer().process_receipt(receipt, errors=DISCARD):
                args = transfer["args"]
                if (args["from"], args["to"], int(args["value"])) == (
                    Web3.to_checksum_address(auth.sender),
                    self.redeemer,
                    req.amount,
                ):
                    return str(log["transactionHash"].to_0x_hex())
        return None

    def _redemption_nonce(self, session: Session, payout_id: uuid.UUID) -> str | None:
        return session.scalars(
            select(Redemption.auth_nonce).where(Redemption.payout_id == payout_id)
        ).one_or_none()

    # ------------------------------------------------------------------ payout steps

    def process(self, payout_id: uuid.UUID) -> Payout:
        """Finishes what is in flight: a requested payout's burn (then ``-> processing``), a
        started reversal. Idempotent; safe after a crash at any point."""
        with self.sessions() as session:
            payout = self.payouts.get(session, payout_id)
            status = P(payout.status)
            redemption = self._redemption(session, payout_id)
            reversal_started = redemption.reissue_raw_tx is not None
        if status == P.REQUESTED:
            self._burn(payout_id)
        elif status == P.FAILED and reversal_started:
            return self.reverse(payout_id)
        with self.sessions() as session:
            return self.payouts.get(session, payout_id)

    def _burn(self, payout_id: uuid.UUID) -> None:
        with self.lock.hold():
            with self.sessions.begin() as session:
                redemption = self._redemption(session, payout_id, lock=True)
                payout = self.payouts.get(session, payout_id)
                if payout.status != P.REQUESTED:
                    return
                if redemption.burn_raw_tx is None:
                    call = rawtx.sign_call(
                        self.platform.w3,
                        self.signer,
                        self.platform.decoder,
                        self.platform.msc.functions.burn(payout.amount),
                    )
                    redemption.burn_tx_hash, redemption.burn_raw_tx = call.tx_hash, call.raw
            receipt = self._send_written(payout_id, "burn")
            with self.sessions.begin() as session:
                redemption = self._redemption(session, payout_id, lock=True)
                payout = self.payouts.get(session, payout_id)
                if payout.status != P.REQUESTED:
                    return
                redemption.burned_at = self.clock()
                record_redemption(session, payout)
                self.payouts.transition(
                    session,
                    payout_id,
                    P.REQUESTED,
                    P.PROCESSING,
                    f"MSC burned in {receipt['transactionHash'].to_0x_hex()}; bank transfer handed over",
                )

    def mark_paid(self, payout_id: uuid.UUID, bank_reference: str) -> Payout:
        """The bank confirmed the transfer: ``processing -> paid``.

        Raises:
            InvalidTransitionError: the payout is not processing.
            ValidationError: empty bank reference.
        """
        if not bank_reference:
            raise ValidationError("a paid payout needs the bank's transfer reference")
        with self.sessions.begin() as session:
            self._redeemed(session, payout_id)
            payout = self.payouts.transition(
                session,
                payout_id,
                P.PROCESSING,
                P.PAID,
                f"bank transfer {bank_reference} paid",
                bank_reference=bank_reference,
            )
            record_payout_paid(session, payout)
            return payout

    def mark_failed(self, payout_id: uuid.UUID, reason: str) -> Payout:
        """The bank rejected the transfer: ``processing -> failed``; the Rupiah is owed until reversed.

        Raises:
            InvalidTransitionError: the payout is not processing.
            ValidationError: empty reason.
        """
        if not reason:
            raise ValidationError("a failed payout needs the bank's reason")
        with self.sessions.begin() as session:
            self._redeemed(session, payout_id)
            payout = self.payouts.transition(
                session,
                payout_id,
                P.PROCESSING,
                P.FAILED,
                f"bank transfer failed: {reason}",
                failure_reason=reason,
            )
            record_payout_failed(session, payout)
            return payout

    def reverse(self, payout_id: uuid.UUID) -> Payout:
        """Re-issues a failed payout's full amount as MSC to the merchant: ``failed -> reversed``.

        Raises:
            InvalidTransitionError: the payout is not failed.
        """
        with self.lock.hold():
            with self.sessions.begin() as session:
                payout = self.payouts.get(session, payout_id)
                if payout.status == P.REVERSED:
                    return payout
                if payout.status != P.FAILED:
                    # the same error a conditional move would give, before anything is signed
                    self.payouts.transition(session, payout_id, P.FAILED, P.REVERSED, "reversal")
                redemption = self._redemption(session, payout_id, lock=True)
                if redemption.reissue_raw_tx is None:
                    fn = self.platform.msc.functions.mint(redemption.merchant_address, payout.amount)
                    call = rawtx.sign_call(self.platform.w3, self.signer, self.platform.decoder, fn)
                    redemption.reissue_tx_hash, redemption.reissue_raw_tx = call.tx_hash, call.raw
            receipt = self._send_written(payout_id, "reissue")
            with self.sessions.begin() as session:
                redemption = self._redemption(session, payout_id, lock=True)
                payout = self.payouts.get(session, payout_id)
                if payout.status == P.REVERSED:
                    return payout
                redemption.reissued_at = self.clock()
                payout = self.payouts.transition(
                    session,
                    payout_id,
                    P.FAILED,
                    P.REVERSED,
                    f"MSC re-issued to {redemption.merchant_address} "
                    f"in {receipt['transactionHash'].to_0x_hex()}",
                )
                record_payout_reversed(session, payout)
                return payout

    def redemption(self, session: Session, payout_id: uuid.UUID) -> Redemption:
        """The on-chain side of a payout.

        Raises:
            RedemptionNotFoundError: the payout was not made by a redemption.
        """
        return self._redemption(session, payout_id)

    # ------------------------------------------------------------------ helpers

    def _send_written(self, payout_id: uuid.UUID, kind: str) -> Any:
        """Broadcasts the written-ahead ``kind`` transaction; re-signs once if its nonce was lost."""
        for _ in range(2):
            with self.sessions() as session:
                redemption = self._redemption(session, payout_id)
                tx_hash = getattr(redemption, f"{kind}_tx_hash")
                raw = getattr(redemption, f"{kind}_raw_tx")
            receipt = rawtx.broadcast(self.platform.w3, rawtx.SignedCall(tx_hash, raw))
            if receipt is not None:
                if receipt["status"] != 1:
                    self._forget(payout_id, kind)  # nothing happened; the next attempt re-signs
                rawtx.require_success(receipt, kind)
                return receipt
            self._forget(payout_id, kind)
            with self.sessions.begin() as session:
                redemption = self._redemption(session, payout_id, lock=True)
                payout = self.payouts.get(session, payout_id)
                fn = (
                    self.platform.msc.functions.burn(payout.amount)
                    if kind == "burn"
                    else self.platform.msc.functions.mint(redemption.merchant_address, payout.amount)
                )
                call = rawtx.sign_call(self.platform.w3, self.signer, self.platform.decoder, fn)
                setattr(redemption, f"{kind}_tx_hash", call.tx_hash)
                setattr(redemption, f"{kind}_raw_tx", call.raw)
        raise ChainError(f"the {kind} of payout {payout_id} lost its nonce twice; retry later")

    def _forget(self, payout_id: uuid.UUID, kind: str) -> None:
        with self.sessions.begin() as session:
            redemption = self._redemption(session, payout_id, lock=True)
            setattr(redemption, f"{kind}_tx_hash", None)
            setattr(redemption, f"{kind}_raw_tx", None)

    def _redeemed(self, session: Session, payout_id: uuid.UUID) -> None:
        """Raises unless ``payout_id`` is a payout made by a redemption (before any move)."""
        self.payouts.get(session, payout_id)
        self._redemption(session, payout_id)

    def _redemption(self, session: Session, payout_id: uuid.UUID, *, lock: bool = False) -> Redemption:
        statement = select(Redemption).where(Redemption.payout_id == payout_id)
        if lock:
            statement = statement.with_for_update()
        redemption = session.scalars(statement).one_or_none()
        if redemption is None:
            raise RedemptionNotFoundError(payout_id)
        return redemption
