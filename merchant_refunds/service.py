"""Merchants refund their customers' payments: what is refundable, the request, the record.

A refund comes out of the escrow while the payment is held (or disputed): the escrow merchant's
EIP-712 ``RefundAuthorization``, signed by the platform for a custodial wallet or by the merchant's
own wallet, relayed by the platform. After release it comes out of the guarantee fund (the
operator's ``coverRefund``, at most what was released minus earlier cover and at most the fund).
Either way the MSC goes back to the payer of record (the platform, since customers pay in Pi), the
escrow books book the event into ``customer_refunds_owed`` and the pay-backs return the Pi.

:meth:`MerchantRefundService.request` checks everything (the payment is the merchant's and
settled into the escrow, the amount is refundable now, the reason is clean text) and records the
refund before anything is signed or sent; a second submission of the same form (its idempotency
key) returns the same refund. :class:`merchant_refunds.sending.RefundSender` then takes it to the
chain, resumably.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eth_account import Account
from eth_account.messages import encode_typed_data
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from web3 import Web3

from chain import eip712
from chain.platform import Platform
from common.errors import MSCError
from common.sql.helpers import utcnow
from custody.service import CustodyService
from merchant_refunds.chain_reads import EscrowPosition, chain_time, read_position
from merchant_refunds.errors import (
    RefundAmountError,
    RefundInProgressError,
    RefundNotPossibleError,
    RefundPaymentNotFoundError,
    RefundReplayMismatchError,
    RefundSignatureError,
)
from merchant_refunds.models import MerchantRefund, MerchantRefundChange, RefundRoute, RefundState
from merchant_refunds.reasons import clean_reason
from merchant_refunds.sending import DEADLINE_MARGIN_S, RefundSender
from settlement.minting.ids import escrow_payment_id
from settlement.minting.models import EscrowHolding
from settlement.payments.models import Payment, PaymentStatus

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WalletAuthorization:
    """A refund authorization the merchant's own wallet signed (from :meth:`typed_data`)."""

    nonce: bytes
    valid_before: int
    signature: bytes


@dataclass(frozen=True)
class RefundRequest:
    """One submission of the refund form (or API call).

    Attributes:
        amount: Sen (MSC units) to refund.
        idempotency_key: The form's one-time key: the same key refunds once.
        authorization: The own wallet's signature (a merchant whose escrow address is not custodial).
    """

    merchant_id: uuid.UUID
    payment_id: uuid.UUID
    amount: int
    reason: str
    idempotency_key: str
    requested_by_user_id: uuid.UUID | None = None
    requested_by_api_key_id: uuid.UUID | None = None
    authorization: WalletAuthorization | None = None


@dataclass(frozen=True)
class Refundable:
    """What can be refunded of a payment now, and from where."""

    payment_id: uuid.UUID
    idr_amount: int
    """Sen the payment settled into the escrow."""
    route: RefundRoute | None
    """Escrow while held, guarantee fund after release, None when neither is possible."""
    in_escrow: int
    """Sen still held (0 once released or ended)."""
    released: int
    """Sen released to the merchant (0 while held)."""
    covered: int
    """Sen the guarantee fund already paid back."""
    maximum: int
    """The most a refund can be now (0: none possible)."""
    custodial: bool
    """Whether the platform signs for the merchant (else its own wallet signs)."""
    signer: str | None
    """The payment's escrow merchant: the address whose signature refunds it while held."""
    in_progress: bool
    """Another refund of the payment is under way."""
    why_not: str | None
    """Why nothing is refundable, when ``maximum`` is 0."""


@dataclass(frozen=True)
class RefundView:
    """A refund as callers and pages see it (no signature, no raw transaction)."""

    id: uuid.UUID
    payment_id: uuid.UUID
    route: str
    amount: int
    reason: str
    state: str
    tx_hash: str | None
    failure: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, row: MerchantRefund) -> RefundView:
        """The view of a row."""
        return cls(
            row.id,
            row.payment_id,
            row.route,
            row.amount,
            row.reason,
            row.state,
            row.tx_hash,
            row.failure,
            row.created_at,
            row.updated_at,
        )


class MerchantRefundService:
    """Refund requests of merchants (see the module docstring).

    Args:
        sessions: The platform database.
        platform: The deployed contracts.
        custody: The custodial wallets (to tell whether the platform signs for the merchant).
        sender: Takes recorded refunds to the chain.
        guarantee_refunds: Whether refunds after release are offered (an operator key is set).
        authorization_ttl_s: Validity of the typed data handed to own wallets.
        clock: Current UTC time.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        platform: Platform,
        custody: CustodyService,
        sender: RefundSender,
        *,
        guarantee_refunds: bool = True,
        authorization_ttl_s: int = 3600,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.sessions = sessions
        self.platform = platform
        self.custody = custody
        self.sender = sender
        self.guarantee_refunds = guarantee_refunds
        self.authorization_ttl_s = authorization_ttl_s
        self._now = clock

    # ------------------------------------------------------------------------------ reading

    def refundable(self, session: Session, merchant_id: uuid.UUID, payment_id: uuid.UUID) -> Refundable:
        """What of ``payment_id`` the merchant can refund now.

        Raises:
            RefundPaymentNotFoundError: no such payment of this merchant.
        """
        payment, holding = self._payment(session, merchant_id, payment_id)
        in_progress = self._open_refund(session, payment_id) is not None
        if holding is None or payment.status != PaymentStatus.COMPLETED:
            return Refundable(
                payment_id=payment_id,
                idr_amount=payment.idr_amount,
                route=None,
                in_escrow=0,
                released=0,
                covered=0,
                maximum=0,
                custodial=False,
                signer=None,
                in_progress=in_progress,
                why_not="the payment is not settled into the escrow yet",
            )
        position = read_position(self.platform, payment_id)
        custodial = self._custodial(session, merchant_id, position.merchant)
        route, maximum, why = _route(position, self.guarantee_refunds)
        if in_progress:
            maximum, why = 0, "another refund of this payment is under way"
        return Refundable(
            payment_id=payment_id,
            idr_amount=payment.idr_amount,
            route=route,
            in_escrow=position.amount if position.held else 0,
            released=position.amount if position.released else 0,
            covered=position.covered,
            maximum=maximum,
            custodial=custodial,
            signer=position.merchant,
            in_progress=in_progress,
            why_not=why if maximum == 0 else None,
        )

    def refunds_of(self, session: Session, merchant_id: uuid.UUID, payment_id: uuid.UUID) -> list[RefundView]:
        """The merchant's refunds of a payment, oldest first.

        Raises:
            RefundPaymentNotFoundError: no such payment of this merchant.
        """
        self._payment(session, merchant_id, payment_id)
        rows = session.scalars(
            select(MerchantRefund)
            .where(MerchantRefund.merchant_id == merchant_id, MerchantRefund.payment_id == payment_id)
            .order_by(MerchantRefund.created_at)
        )
        return [RefundView.of(row) for row in rows]

    def typed_data(
        self, session: Session, merchant_id: uuid.UUID, payment_id: uuid.UUID, amount: int, nonce: bytes
    ) -> dict[str, Any]:
        """The ``RefundAuthorization`` a merchant's own wallet signs for a refund of ``amount``.

        Raises:
            RefundPaymentNotFoundError, RefundNotPossibleError, RefundAmountError: as :meth:`request`.
        """
        refundable = self.refundable(session, merchant_id, payment_id)
        _check_amount(refundable, amount)
        if refundable.route != RefundRoute.ESCROW:
            raise RefundNotPossibleError(payment_id, "only a held payment's refund is signed by the merchant")
        domain = eip712.escrow_domain(int(self.platform.w3.eth.chain_id), self.platform.escrow.address)
        valid_before = chain_time(self.platform) + self.authorization_ttl_s
        return eip712.refund_authorization(domain, escrow_payment_id(payment_id), amount, nonce, valid_before)

    # ------------------------------------------------------------------------------ requesting

    def request(self, req: RefundRequest) -> RefundView:
        """Records the refund (``requested``) after checking it; nothing is signed or sent here.

        Returns:
            The refund; the same one for a repeated idempotency key.

        Raises:
            RefundPaymentNotFoundError: the payment is not the merchant's.
            RefundNotPossibleError: nothing of the payment can be refunded now.
            RefundInProgressError: another refund of the payment is under way.
            RefundAmountError: the amount is not between 1 sen and what is refundable.
            RefundReasonError: the reason is missing or not clean text.
            RefundSignatureError: an own-wallet merchant's signature is missing or not its own.
            RefundReplayMismatchError: the idempotency key was used for another refund.
        """
        reason = clean_reason(req.reason)
        try:
            with self.sessions.begin() as session:
                existing = self._by_key(session, req)
                if existing is not None:
                    return existing
                row = self._new_refund(session, req, reason)
                return RefundView.of(row)
        except IntegrityError:
            # A concurrent submission of the same form, or of another refund of the payment.
            with self.sessions() as session:
                existing = self._by_key(session, req)
                if existing is not None:
                    return existing
            raise RefundInProgressError(req.payment_id) from None

    def submit(self, req: RefundRequest) -> RefundView:
        """:meth:`request`, then takes the refund to the chain as far as it goes now.

        A chain failure after the record leaves it for :meth:`RefundSender.resume`; the caller
        shows the refund as under way.
        """
        refund = self.request(req)
        try:
            self.sender.advance(refund.id)
        except MSCError as exc:  # the record is committed; the worker resumes it
            log.warning("refund %s left for the worker to resume: %s", refund.id, exc.message)
        with self.sessions() as session:
            row = session.get(MerchantRefund, refund.id, populate_existing=True)
            assert row is not None
            return RefundView.of(row)

    def _new_refund(self, session: Session, req: RefundRequest, reason: str) -> MerchantRefund:
        refundable = self.refundable(session, req.merchant_id, req.payment_id)
        if refundable.in_progress:
            raise RefundInProgressError(req.payment_id)
        if refundable.route is None:
            raise RefundNotPossibleError(req.payment_id, refundable.why_not or "nothing is refundable")
        _check_amount(refundable, req.amount)
        now = self._now()
        row = MerchantRefund(
            id=uuid.uuid4(),
            merchant_id=req.merchant_id,
            payment_id=req.payment_id,
            idempotency_key=req.idempotency_key,
            open_for=req.payment_id,
            route=str(refundable.route),
            amount=req.amount,
            reason=reason,
            requested_by_user_id=req.requested_by_user_id,
            requested_by_api_key_id=req.requested_by_api_key_id,
            state=str(RefundState.REQUESTED),
            created_at=now,
            updated_at=now,
        )
        if refundable.route == RefundRoute.ESCROW and not refundable.custodial:
            self._accept_wallet_signature(row, req)
        session.add(row)
        session.flush()
        session.add(
            MerchantRefundChange(
                refund_id=row.id, from_state=None, to_state=row.state, detail="requested", at=now
            )
        )
        return row

    def _accept_wallet_signature(self, row: MerchantRefund, req: RefundRequest) -> None:
        """Checks an own wallet's signature of the refund (an ERC-1271 wallet is left to the
        escrow's dry run before anything is sent) and keeps it on the row."""
        auth = req.authorization
        if auth is None:
            raise RefundSignatureError("is missing: the merchant's own wallet must sign this refund")
        position = read_position(self.platform, req.payment_id)
        if auth.valid_before <= chain_time(self.platform) + DEADLINE_MARGIN_S:
            raise RefundSignatureError("expires too soon")
        domain = eip712.escrow_domain(int(self.platform.w3.eth.chain_id), self.platform.escrow.address)
        typed = eip712.refund_authorization(
            domain, escrow_payment_id(req.payment_id), req.amount, auth.nonce, auth.valid_before
        )
        try:
            signer = Account.recover_message(encode_typed_data(full_message=typed), signature=auth.signature)
        except Exception:  # eth_account raises assorted errors on a malformed signature
            signer = None
        is_contract = len(self.platform.w3.eth.get_code(Web3.to_checksum_address(position.merchant))) > 0
        if signer != position.merchant and not is_contract:
            raise RefundSignatureError(f"is not signed by the payment's merchant {position.merchant}")
        row.signer, row.auth_nonce = position.merchant, "0x" + auth.nonce.hex()
        row.valid_before, row.signature = auth.valid_before, "0x" + auth.signature.hex()

    # ------------------------------------------------------------------------------ helpers

    @staticmethod
    def _by_key(session: Session, req: RefundRequest) -> RefundView | None:
        row = session.scalars(
            select(MerchantRefund).where(
                MerchantRefund.merchant_id == req.merchant_id,
                MerchantRefund.idempotency_key == req.idempotency_key,
            )
        ).one_or_none()
        if row is None:
            return None
        if (row.payment_id, row.amount) != (req.payment_id, req.amount):
            raise RefundReplayMismatchError(row.id)
        return RefundView.of(row)

    @staticmethod
    def _payment(
        session: Session, merchant_id: uuid.UUID, payment_id: uuid.UUID
    ) -> tuple[Payment, EscrowHolding | None]:
        payment = session.get(Payment, payment_id)
        if payment is None or payment.merchant_id != str(merchant_id):
            raise RefundPaymentNotFoundError(payment_id)
        return payment, session.get(EscrowHolding, payment_id)

    @staticmethod
    def _open_refund(session: Session, payment_id: uuid.UUID) -> uuid.UUID | None:
        return session.scalar(select(MerchantRefund.id).where(MerchantRefund.open_for == payment_id))

    def _custodial(self, session: Session, merchant_id: uuid.UUID, address: str) -> bool:
        keys = self.custody.keys.keys_of(session, merchant_id)
        return any(k.address == Web3.to_checksum_address(address) for k in keys)


def _route(position: EscrowPosition, guarantee_refunds: bool) -> tuple[RefundRoute | None, int, str | None]:
    """Where a refund would come from, its maximum, and why none is possible."""
    if position.held:
        return RefundRoute.ESCROW, position.amount, None
    if position.released:
        if not guarantee_refunds:
            return None, 0, "refunds after release are not offered on this platform"
        coverable = min(position.amount - position.covered, position.guarantee_fund)
        why = "the guarantee fund cannot cover it now" if coverable == 0 else None
        return RefundRoute.GUARANTEE, coverable, why
    return None, 0, "the payment was already refunded or decided"


def _check_amount(refundable: Refundable, amount: int) -> None:
    if refundable.route is None or refundable.maximum == 0:
        raise RefundNotPossibleError(refundable.payment_id, refundable.why_not or "nothing is refundable")
    if not 0 < amount <= refundable.maximum:
        raise RefundAmountError(amount, refundable.maximum)
