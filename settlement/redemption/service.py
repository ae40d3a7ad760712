"""Redeeming MSC for Rupiah: relay the merchant's signed authorization, burn, pay out.

``request``: the merchant's EIP-3009 ``ReceiveWithAuthorization`` for exactly the amount, payable
to the redeemer (the settlement key, an MSC minter), is checked off-chain first: every integer
against SQL's int64 and the contract's uint256, the validity window against the chain's time and
the configured horizon (``valid_before`` at most ``max_valid_seconds`` ahead), the signature, the
balance, the nonce, and a dry run of the relay. Only then is the intent committed (write-ahead:
authorization, nonce, amount, the signed relay's hash) and the relay broadcast with
``receiveWithAuthorization`` (only the payee may submit it, so nobody can front-run it). Last, the
payout (``requested``) and its redemption record are written in the caller's transaction (e.g.
the API's idempotency transaction). If that write fails or the process dies after the relay, the
intent stays ``pending``/``relayed`` and :meth:`RedemptionService.finish_intent` (the workers'
``redemptions.finish``, found by the sweep) finishes it from the chain: ``authorizationState`` and
the relay's ``Transfer`` say whether the MSC moved. An authorization redeems once (unique
constraints on the nonce, and the token's own nonce).

Then the payout's steps, each one conditional status move plus its ledger entry in one
transaction (:mod:`settlement.ledger.flows`):

* ``process``: burn the redeemed MSC (a write-ahead transaction: at most one burn) and hand the
  payout to the bank transfer, ``requested -> processing`` with ``record_redemption``;
* ``mark_paid`` / ``mark_failed``: the bank's answer, ``processing -> paid | failed``;
* ``reverse``: a failed payout's MSC re-issued (minted) to the merchant (write-ahead, at most
  once), ``failed -> reversed`` with ``record_payout_reversed``: the merchant's claim is back.

Invariants: MSC supply drops by exactly the amount of each burned redemption and rises by exactly
the amount of each reversal; the redeemer's balance is the sum of relayed, not yet burned
redemptions (intents ``relayed`` and redemptions not burned); no 4xx answer leaves a row or a
chain change behind.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from web3 import Web3
from web3.exceptions import TransactionNotFound
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
from settlement.payments.statemachine import InvalidTransitionError
from settlement.payouts import repository as payout_repository
from settlement.payouts.errors import PayoutIdempotencyConflictError
from settlement.payouts.models import Payout, PayoutStatus
from settlement.payouts.service import PayoutService
from settlement.redemption import rawtx
from settlement.redemption.errors import (
    AuthorizationUsedError,
    InsufficientBalanceError,
    InvalidAuthorizationError,
    RedemptionAbandonedError,
    RedemptionIntentNotFoundError,
    RedemptionNotFoundError,
)
from settlement.redemption.models import (
    INT64_MAX,
    Redemption,
    RedemptionIntent,
    RedemptionIntentChange,
    RedemptionIntentStatus,
)

P = PayoutStatus
IS = RedemptionIntentStatus
RECEIVE = "ReceiveWithAuthorization"
#: Default of how far ahead an authorization's ``valid_before`` may be
#: (``MSC_WORKER_REDEMPTION_MAX_VALID_SECONDS``).
DEFAULT_MAX_VALID_SECONDS = 86_400


def _checksum(address: str) -> str:
    return Web3.to_checksum_address(address)


def _in_mempool(w3: Web3, tx_hash: str) -> bool:
    """Whether the node knows ``tx_hash`` as sent but not mined."""
    try:
        w3.eth.get_transaction(tx_hash)  # type: ignore[arg-type]
    except TransactionNotFound:
        return False
    return True


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
        max_valid_seconds: How far after the chain's time an authorization's ``valid_before``
            may be; a longer-lived one is refused before anything is sent.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        platform: Platform,
        signer: Signer,
        *,
        payouts: PayoutService | None = None,
        clock: Callable[[], datetime] = utcnow,
        max_valid_seconds: int = DEFAULT_MAX_VALID_SECONDS,
    ) -> None:
        self.sessions = sessions
        self.max_valid_seconds = max_valid_seconds
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
        """Relays the authorization (written ahead) and records the payout in ``session`` (the
        caller commits).

        :meth:`prepare` checks everything and commits the intent before the relay; the payout is
        then written in ``session``. If that transaction is lost, the committed intent is finished
        by the same request retried, or by the workers (:meth:`finish_intent`). The same
        idempotency key with the same content returns the first payout without touching the chain.

        Raises:
            ValidationError: amounts or times out of range (SQL int64, uint256, the validity
                horizon), or the authorization is not for this amount.
            InvalidAuthorizationError: bad signature, wrong signer, outside its validity window.
            InsufficientBalanceError: the merchant holds less MSC than the amount.
            AuthorizationUsedError: the nonce was used (by another payout or on-chain) or cancelled.
            PayoutIdempotencyConflictError: the key was used for another redemption.
            ContractRevertError: the relay would revert for another reason (nothing sent).
            ChainError: the relay was sent but its outcome is not known yet (the intent is kept
                and finished later).
        """
        existing = self._existing(session, req)
        if existing is not None:
            return existing
        self.prepare(req)
        return self.record(session, req)

    def prepare(self, req: RedemptionRequest) -> None:
        """Checks the request, commits its intent, then relays it: the irreversible step comes
        last, after everything that can refuse and after its record is durable.

        Runs in its own transactions (call it before the caller's transaction writes anything:
        SQLite has one writer). Returns at once when the key already has a payout, or an intent
        that is relayed (a retry).

        Raises:
            See :meth:`request`. A refusal leaves no row and changes nothing on the chain.
        """
        key = self._key(req)
        with self.sessions() as session:
            if payout_repository.by_key(session, key) is not None:
                return  # the caller's idempotency answers it
            intent = self._intent_by_key(session, key)
            if intent is not None and not self._same_intent(intent, req):
                raise PayoutIdempotencyConflictError(req.idempotency_key, intent.payout_id or intent.id)
            resumed = None if intent is None else (intent.id, IS(intent.status))
        if resumed is None:
            self._check(req)
            with self.lock.hold():
                self._relay_new(req)
            return
        intent_id, status = resumed
        if status == IS.PENDING:
            with self.lock.hold():
                status = self._finish_pending(intent_id)
        if status == IS.ABANDONED:
            raise RedemptionAbandonedError(req.idempotency_key, intent_id)

    def record(self, session: Session, req: RedemptionRequest) -> Payout:
        """Writes the payout and the redemption of the relayed intent of ``req`` in ``session``.

        If the workers recorded it meanwhile, their payout is returned.

        Raises:
            ChainError: the intent is not relayed (the relay's outcome is not known yet).
        """
        existing = self._existing(session, req)
        if existing is not None:
            return existing
        intent = self._intent_by_key(session, self._key(req), lock=True)
        if intent is None:
            raise ChainError(f"redemption {req.idempotency_key} has no intent; it was not relayed")
        return self._record_intent(session, intent)

    def _record_intent(self, session: Session, intent: RedemptionIntent) -> Payout:
        """``relayed -> recorded`` with its payout and redemption row (``intent`` is locked)."""
        if intent.status == IS.RECORDED and intent.payout_id is not None:
            return self.payouts.get(session, intent.payout_id)
        if intent.status == IS.ABANDONED:
            raise RedemptionAbandonedError(intent.idempotency_key, intent.id)
        if intent.status != IS.RELAYED or intent.transfer_tx_hash is None:
            raise ChainError(
                f"the relay of redemption intent {intent.id} is {intent.status}; it is finished later"
            )
        payout = self.payouts.request(
            session,
            idempotency_key=intent.idempotency_key,
            merchant_id=intent.merchant_id,
            amount=intent.amount,
            fee=intent.fee,
            bank_account=intent.bank_account,
        )
        session.add(
            Redemption(
                payout_id=payout.id,
                merchant_address=intent.merchant_address,
                redeemer=intent.redeemer,
                auth_nonce=intent.auth_nonce,
                valid_before=intent.valid_before,
                transfer_tx_hash=intent.transfer_tx_hash,
                created_at=self.clock(),
            )
        )
        session.flush()
        self._move_intent(
            session, intent.id, IS.RELAYED, IS.RECORDED, f"payout {payout.id} recorded", payout_id=payout.id
        )
        return payout

    def _existing(self, session: Session, req: RedemptionRequest) -> Payout | None:
        """The payout already recorded under the request's key (same content), or None.

        Raises:
            PayoutIdempotencyConflictError: the key holds a payout with other content.
        """
        existing = payout_repository.by_key(session, self._key(req))
        if existing is None:
            return None
        if (existing.merchant_id, existing.amount, existing.fee, existing.bank_account) != (
            req.merchant_id,
            req.amount,
            req.fee,
            req.bank_account,
        ) or self._redemption_nonce(session, existing.id) != req.authorization.nonce_hex:
            raise PayoutIdempotencyConflictError(req.idempotency_key, existing.id)
        return existing

    @staticmethod
    def _key(req: RedemptionRequest) -> str:
        return f"{req.merchant_id}:{req.idempotency_key}"

    def _same_intent(self, intent: RedemptionIntent, req: RedemptionRequest) -> bool:
        auth = req.authorization
        return (
            intent.merchant_id,
            intent.merchant_address,
            intent.amount,
            intent.fee,
            intent.bank_account,
            intent.auth_nonce,
            intent.valid_after,
            intent.valid_before,
        ) == (
            req.merchant_id,
            _checksum(req.merchant_address),
            req.amount,
            req.fee,
            req.bank_account,
            auth.nonce_hex,
            auth.valid_after,
            auth.valid_before,
        )

    def _check_bounds(self, req: RedemptionRequest) -> None:
        """Every integer against what SQL (int64) and the contract (uint256) can hold, before
        anything else reads them (an out-of-range value must never reach a signature check, a
        relay or an insert)."""
        auth = req.authorization
        values = (
            ("amount", req.amount),
            ("fee", req.fee),
            ("authorization.value", auth.value),
            ("authorization.valid_after", auth.valid_after),
            ("authorization.valid_before", auth.valid_before),
        )
        for name, value in values:
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValidationError(f"{name} must be an integer", field=name)
            if not 0 <= value <= INT64_MAX:
                raise ValidationError(
                    f"{name} must be between 0 and {INT64_MAX}; got {value}", field=name, value=str(value)
                )
        if req.amount <= 0 or not 0 <= req.fee < req.amount:
            raise ValidationError(
                f"amount must be positive and the fee between 0 and the amount; got {req.amount}, {req.fee}"
            )
        if len(auth.nonce) != 32 or len(auth.signature) != 65:
            raise InvalidAuthorizationError("the nonce must be 32 bytes and the signature 65 bytes")

    def _check(self, req: RedemptionRequest) -> None:
        """Everything that can be checked without sending (so a refusal changes nothing)."""
        self._check_bounds(req)
        auth = req.authorization
        if auth.value != req.amount:
            raise InvalidAuthorizationError(
                f"it authorizes {auth.value} sen, not the {req.amount} sen redeemed"
            )
        if _checksum(auth.sender) != _checksum(req.merchant_address):
            raise InvalidAuthorizationError("it is not from the merchant's address", sender=auth.sender)
        now = int(self.platform.w3.eth.get_block("latest")["timestamp"])
        if not auth.valid_after < now < auth.valid_before:
            raise InvalidAuthorizationError(
                f"it is valid from {auth.valid_after} to {auth.valid_before}; the chain's time is {now}"
            )
        if auth.valid_before > now + self.max_valid_seconds:
            raise InvalidAuthorizationError(
                f"it is valid until {auth.valid_before}, more than {self.max_valid_seconds} s after the "
                f"chain's time {now}; sign one that expires sooner",
                valid_before=str(auth.valid_before),
                horizon_seconds=self.max_valid_seconds,
            )
        typed = self.typed_data(auth.sender, auth.value, auth.valid_after, auth.valid_before, auth.nonce)
        try:
            signer = Account.recover_message(encode_typed_data(full_message=typed), signature=auth.signature)
        except Exception as exc:  # malformed signatures raise assorted errors in eth_keys
            raise InvalidAuthorizationError("the signature cannot be decoded") from exc
        if signer != _checksum(req.merchant_address):
            raise InvalidAuthorizationError(
                f"it is signed by {signer}, not by the merchant's address {req.merchant_address}"
            )
        with self.sessions() as session:
            holder = self._nonce_holder(session, _checksum(req.merchant_address), auth.nonce_hex)
        if holder is not None:
            raise AuthorizationUsedError(req.merchant_address, auth.nonce_hex, holder)

    def _nonce_holder(self, session: Session, merchant: str, nonce: str) -> uuid.UUID | None:
        """The payout (or intent) that already holds ``nonce`` of ``merchant``, if any."""
        payout_id = session.scalars(
            select(Redemption.payout_id).where(
                Redemption.merchant_address == merchant, Redemption.auth_nonce == nonce
            )
        ).one_or_none()
        if payout_id is not None:
            return payout_id
        return session.scalars(
            select(RedemptionIntent.id).where(
                RedemptionIntent.merchant_address == merchant, RedemptionIntent.auth_nonce == nonce
            )
        ).one_or_none()

    def _relay_call(self, sender: str, auth: Authorization) -> rawtx.SignedCall:
        """Signs the relay after a dry run (under the sender lock).

        Raises:
            InvalidAuthorizationError: the token refuses the signature.
            ContractRevertError: it would revert for another reason (nothing is signed).
        """
        v, r, s = split_signature(auth.signature)
        fn = self.platform.msc.functions.receiveWithAuthorization(
            sender, self.redeemer, auth.value, auth.valid_after, auth.valid_before, auth.nonce, v, r, s
        )
        try:
            return rawtx.sign_call(self.platform.w3, self.signer, self.platform.decoder, fn)
        except ContractRevertError as exc:
            if exc.error_name == "MSCInvalidSignature":
                raise InvalidAuthorizationError("the token refused the signature") from exc
            raise

    def _relay_new(self, req: RedemptionRequest) -> None:
        """Dry-runs and signs the relay, commits the intent, broadcasts (under the sender lock)."""
        auth = req.authorization
        msc = self.platform.msc
        sender = _checksum(auth.sender)
        if msc.functions.authorizationState(sender, auth.nonce).call():
            raise AuthorizationUsedError(req.merchant_address, auth.nonce_hex)
        balance = int(msc.functions.balanceOf(sender).call())
        if balance < req.amount:
            raise InsufficientBalanceError(auth.sender, balance, req.amount)
        call = self._relay_call(sender, auth)
        intent_id = self._write_intent(req, call.tx_hash)
        self._broadcast_relay(intent_id, call)

    def _write_intent(self, req: RedemptionRequest, tx_hash: str) -> uuid.UUID:
        """Commits the intent (``pending``, with the hash of the relay about to be sent).

        Raises:
            AuthorizationUsedError: another request holds the nonce (a concurrent one).
            PayoutIdempotencyConflictError: another request holds the key (a concurrent one).
        """
        auth = req.authorization
        now = self.clock()
        intent = RedemptionIntent(
            id=uuid.uuid4(),
            idempotency_key=self._key(req),
            merchant_id=req.merchant_id,
            merchant_address=_checksum(req.merchant_address),
            redeemer=self.redeemer,
            amount=req.amount,
            fee=req.fee,
            bank_account=req.bank_account,
            valid_after=auth.valid_after,
            valid_before=auth.valid_before,
            auth_nonce=auth.nonce_hex,
            signature="0x" + auth.signature.hex(),
            status=str(IS.PENDING),
            transfer_tx_hash=tx_hash,
            created_at=now,
            updated_at=now,
        )
        try:
            with self.sessions.begin() as session:
                session.add(intent)
        except IntegrityError as exc:
            with self.sessions() as session:
                taken = self._intent_by_key(session, self._key(req))
            if taken is not None:
                raise PayoutIdempotencyConflictError(req.idempotency_key, taken.id) from exc
            raise AuthorizationUsedError(req.merchant_address, auth.nonce_hex) from exc
        return intent.id

    def _broadcast_relay(self, intent_id: uuid.UUID, call: rawtx.SignedCall) -> None:
        """Sends the written-ahead relay and moves the intent by its outcome.

        Raises:
            ContractRevertError: it reverted on-chain (nothing moved; the intent is abandoned).
            ChainError: its outcome is not known (the intent stays pending for the workers).
        """
        receipt = rawtx.broadcast(self.platform.w3, call)
        if receipt is None:
            raise ChainError(f"the relay {call.tx_hash} lost its nonce; the workers finish it")
        if receipt["status"] != 1:
            with self.sessions.begin() as session:
                self._move_intent(
                    session, intent_id, IS.PENDING, IS.ABANDONED, f"the relay {call.tx_hash} reverted"
                )
        rawtx.require_success(receipt, "the relay")
        with self.sessions.begin() as session:
            self._move_intent(
                session,
                intent_id,
                IS.PENDING,
                IS.RELAYED,
                f"MSC moved to the redeemer in {call.tx_hash}",
                transfer_tx_hash=call.tx_hash,
            )

    # ------------------------------------------------------------------ finishing intents

    def open_intents(self, older_than: datetime, limit: int = 1000) -> list[uuid.UUID]:
        """Intents left ``pending`` or ``relayed`` since before ``older_than`` (for the sweep)."""
        with self.sessions() as session:
            return list(
                session.scalars(
                    select(RedemptionIntent.id)
                    .where(
                        RedemptionIntent.status.in_((str(IS.PENDING), str(IS.RELAYED))),
                        RedemptionIntent.updated_at <= older_than,
                    )
                    .order_by(RedemptionIntent.updated_at)
                    .limit(limit)
                )
            )

    def finish_intent(self, intent_id: uuid.UUID) -> RedemptionIntentStatus:
        """Brings an intent left behind by a failed or killed request to ``recorded`` or
        ``abandoned``, from the chain's state: ``authorizationState`` and the relay's receipt.

        A used nonce whose relay paid the redeemer is recorded (payout and redemption); a nonce
        used otherwise, or an authorization that expired unused, is abandoned (nothing moved); a
        still valid, unused one is relayed now (the merchant signed it to be redeemed), after a
        dry run. Idempotent.
        """
        with self.lock.hold():
            status = self._finish_pending(intent_id)
            if status != IS.RELAYED:
                return status
            with self.sessions.begin() as session:
                intent = self._intent(session, intent_id, lock=True)
                if intent.status == IS.RELAYED:
                    self._record_intent(session, intent)
            return IS.RECORDED

    def _finish_pending(self, intent_id: uuid.UUID) -> RedemptionIntentStatus:
        """Resolves a ``pending`` intent from the chain (under the sender lock); its status after."""
        with self.sessions() as session:
            intent = self._intent(session, intent_id)
            status = IS(intent.status)
            sender, nonce = intent.merchant_address, bytes.fromhex(intent.auth_nonce[2:])
            tx_hash, valid_before = intent.transfer_tx_hash, intent.valid_before
            auth = Authorization(
                sender,
                intent.amount,
                intent.valid_after,
                intent.valid_before,
                nonce,
                bytes.fromhex(intent.signature[2:]),
            )
        if status != IS.PENDING:
            return status
        w3, msc = self.platform.w3, self.platform.msc
        if tx_hash is not None and rawtx.receipt_of(w3, tx_hash) is None and _in_mempool(w3, tx_hash):
            raise ChainError(f"the relay {tx_hash} of redemption intent {intent_id} is still pending")
        if msc.functions.authorizationState(sender, nonce).call():
            found = self._earlier_relay(auth)
            with self.sessions.begin() as session:
                if found is None:
                    self._move_intent(
                        session,
                        intent_id,
                        IS.PENDING,
                        IS.ABANDONED,
                        "the nonce was used or cancelled without paying the redeemer",
                    )
                    return IS.ABANDONED
                self._move_intent(
                    session,
                    intent_id,
                    IS.PENDING,
                    IS.RELAYED,
                    f"found on-chain: MSC moved to the redeemer in {found}",
                    transfer_tx_hash=found,
                )
                return IS.RELAYED
        if int(w3.eth.get_block("latest")["timestamp"]) >= valid_before:
            with self.sessions.begin() as session:
                self._move_intent(
                    session, intent_id, IS.PENDING, IS.ABANDONED, "the authorization expired unused"
                )
            return IS.ABANDONED
        try:
            call = self._relay_call(sender, auth)
        except ContractRevertError as exc:  # InvalidAuthorizationError is a ValidationError
            with self.sessions.begin() as session:
                self._move_intent(
                    session, intent_id, IS.PENDING, IS.ABANDONED, f"the relay would revert: {exc}"
                )
            return IS.ABANDONED
        with self.sessions.begin() as session:
            self._intent(session, intent_id, lock=True).transfer_tx_hash = call.tx_hash
        self._broadcast_relay(intent_id, call)
        return IS.RELAYED

    def _earlier_relay(self, auth: Authorization) -> str | None:
        """The relay of this authorization to the redeemer if the chain shows one."""
        msc = self.platform.msc
        logs = msc.events.AuthorizationUsed().get_logs(
            from_block=0,
            argument_filters={"authorizer": _checksum(auth.sender), "nonce": auth.nonce},
        )
        for log in logs:
            receipt = self.platform.w3.eth.get_transaction_receipt(log["transactionHash"])
            for transfer in msc.events.Transfer().process_receipt(receipt, errors=DISCARD):
                args = transfer["args"]
                if (args["from"], args["to"], int(args["value"])) == (
                    _checksum(auth.sender),
                    self.redeemer,
                    auth.value,
                ):
                    return str(log["transactionHash"].to_0x_hex())
        return None

    def _move_intent(
        self,
        session: Session,
        intent_id: uuid.UUID,
        from_status: RedemptionIntentStatus,
        to_status: RedemptionIntentStatus,
        reason: str,
        **values: Any,
    ) -> None:
        """One conditional status move of an intent with its history row.

        Raises:
            InvalidTransitionError: the intent is no longer ``from_status``.
        """
        now = self.clock()
        moved = session.execute(
            update(RedemptionIntent)
            .where(RedemptionIntent.id == intent_id, RedemptionIntent.status == str(from_status))
            .values(status=str(to_status), updated_at=now, **values)
            .execution_options(synchronize_session="fetch")
        )
        if moved.rowcount != 1:  # type: ignore[attr-defined]
            raise InvalidTransitionError("redemption intent", intent_id, from_status, to_status)
        session.add(
            RedemptionIntentChange(
                intent_id=intent_id,
                from_status=str(from_status),
                to_status=str(to_status),
                reason=reason,
                at=now,
            )
        )

    def _intent_by_key(self, session: Session, key: str, *, lock: bool = False) -> RedemptionIntent | None:
        statement = select(RedemptionIntent).where(RedemptionIntent.idempotency_key == key)
        if lock:
            statement = statement.with_for_update()
        return session.scalars(statement).one_or_none()

    def _intent(self, session: Session, intent_id: uuid.UUID, *, lock: bool = False) -> RedemptionIntent:
        statement = select(RedemptionIntent).where(RedemptionIntent.id == intent_id)
        if lock:
            statement = statement.with_for_update()
        intent = session.scalars(statement).one_or_none()
        if intent is None:
            raise RedemptionIntentNotFoundError(intent_id)
        return intent

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
