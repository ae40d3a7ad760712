"""What the checkout does, over the settlement services: price, bind, approve, complete, settle.

The pages (:mod:`checkout.endpoints`) only render and call these. Every step that touches money
goes through the settlement's own services and the money-safety binding
(:mod:`settlement.flow.binding`):

* :meth:`Checkout.quote` prices a Rupiah amount for a merchant (or a payment request) at a firm
  quote and records which merchant and request that quote is for (``checkout_quotes``).
* :meth:`Checkout.approve` (``onReadyForServerApproval``) asks the Pi platform who signed in
  (``GET /v2/me``), reads Pi's record of the payment and checks it against our records (merchant,
  quote, request, amount, payer) before anything is written; then, in ONE transaction, records the
  payment at the quote (the quote is used once) and claims the payment request (one-use requests
  once); then approves it through :class:`~settlement.flow.pi_flow.PiPaymentFlow`. A refusal
  changes nothing here, and a payment bound to us that will never be approved is cancelled on Pi
  so it does not block the customer's next payment.
* :meth:`Checkout.complete` (``onReadyForServerCompletion``) records the txid through the flow
  (unique, before any check) once Pi links that transaction to the payment, and queues the
  verification on Horizon, the completion on Pi and the mint into escrow.
* :meth:`Checkout.settle_incomplete` (``onIncompletePaymentFound``) finishes a payment a closed
  page left behind: one with a transaction goes on as if completion had arrived; one without is
  cancelled on Pi and expired here, so it no longer blocks the customer.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import httpx
from sqlalchemy.orm import Session, sessionmaker

from api.merchants import service as merchants
from api.merchants.models import Merchant, MerchantStatus
from api.merchants.service import MerchantSuspendedError
from checkout.pi_users import PiUser, fetch_me
from common.errors import ConflictError, MSCError, NotFoundError, ValidationError
from settlement.flow.binding import Binding, check_binding, payment_metadata
from settlement.flow.errors import PiPaymentMismatchError
from settlement.flow.pi_flow import PiPaymentFlow, normalise_txid
from settlement.flow.settings import FlowSettings
from settlement.payments import repository as payments_repo
from settlement.payments.errors import InvalidTransitionError, PaymentConflictError
from settlement.payments.models import Payment, PaymentStatus
from settlement.payments.service import PaymentService
from settlement.pi.horizon import PiHorizon
from settlement.pi.platform_client import (
    PiAlreadyCancelledError,
    PiPayment,
    PiPlatformClient,
    PiPlatformError,
)
from settlement.quotes.errors import QuoteAlreadyUsedError
from settlement.quotes.models import Quote
from settlement.quotes.service import QuoteService
from settlement.requests import service as requests
from settlement.requests.errors import PaymentRequestNotFoundError
from settlement.requests.models import HostedQuote, PaymentRequest
from settlement.workers.queue import TaskQueue
from settlement.workers.settings import PiSettings
from settlement.workers.steps import VERIFY

log = logging.getLogger(__name__)

MEMO_LIMIT = 100
"""Characters of the memo the Pioneer sees in the Pi wallet."""


class MerchantNotFoundError(NotFoundError):
    """No merchant has this id."""

    code = "merchant_not_found"

    def __init__(self, merchant_id: uuid.UUID) -> None:
        super().__init__(f"merchant {merchant_id} does not exist", merchant_id=str(merchant_id))


class CheckoutQuoteNotFoundError(NotFoundError):
    """The quote was not made by the checkout (or does not exist)."""

    code = "checkout_quote_not_found"

    def __init__(self, quote_id: uuid.UUID) -> None:
        super().__init__(f"quote {quote_id} was not made by the checkout", quote_id=str(quote_id))


class CheckoutPaymentNotFoundError(NotFoundError):
    """No checkout payment is recorded for this Pi payment (or it is not this Pioneer's)."""

    code = "checkout_payment_not_found"

    def __init__(self, pi_payment_id: str) -> None:
        super().__init__(f"no checkout payment is recorded for Pi payment {pi_payment_id}")


class PiTransactionNotLinkedError(ConflictError):
    """Pi does not link this transaction to the payment (yet): it cannot be recorded."""

    code = "pi_transaction_not_linked"

    def __init__(self, pi_payment_id: str) -> None:
        super().__init__(f"the Pi platform links no such transaction to payment {pi_payment_id}")


class CheckoutPaymentRefusedError(ConflictError):
    """The payment was recorded and then refused by the approval step (its reason is kept)."""

    code = "checkout_payment_refused"

    def __init__(self, payment: Payment) -> None:
        super().__init__(f"payment {payment.id} was refused: {payment.error_reason or payment.status}")


class CheckoutUnavailableError(MSCError):
    """The platform's Pi app is not configured: nothing can be paid."""

    code = "checkout_unavailable"
    status_code = 503

    def __init__(self) -> None:
        super().__init__("the checkout is not configured with a Pi app (MSC_PI_*)")


@dataclass
class CheckoutPi:
    """The platform's Pi app, as the checkout uses it.

    Attributes:
        platform: Pi Platform API client (the app's server key).
        platform_url: Pi Platform API root (``.../v2``), for ``GET /me`` with a user's token.
        flow: The Pi payment flow (approval, txid, verification) on the platform's database.
        me_transport: Optional httpx transport of ``GET /me`` (tests).
    """

    platform: PiPlatformClient
    platform_url: str
    flow: PiPaymentFlow
    me_transport: httpx.BaseTransport | None = None

    @property
    def app_address(self) -> str:
        """The platform's Pi account: the only destination customers pay."""
        return self.flow.app_address

    @classmethod
    def build(
        cls,
        sessions: sessionmaker[Session],
        payments: PaymentService,
        environ: Mapping[str, str] | None = None,
    ) -> CheckoutPi | None:
        """The app from ``MSC_PI_*`` on ``sessions``, or None when it is not configured."""
        pi = PiSettings.from_env(environ)
        if not pi.configured:
            return None
        platform = PiPlatformClient(pi.api_key.get_secret_value(), pi.platform_url)
        horizon = PiHorizon(pi.horizon_url, pi.network_passphrase)
        flow = PiPaymentFlow(
            sessions, payments, platform, horizon, pi.app_address, FlowSettings.from_env(environ)
        )
        return cls(platform=platform, platform_url=pi.platform_url, flow=flow)

    def me(self, access_token: str) -> PiUser:
        """Who ``access_token`` belongs to, on the Pi platform."""
        return fetch_me(self.platform_url, access_token, transport=self.me_transport)


@dataclass(frozen=True)
class QuoteView:
    """A checkout quote with what its page shows."""

    quote: Quote
    hosted: HostedQuote
    merchant: Merchant
    request: PaymentRequest | None

    @property
    def metadata(self) -> dict[str, str]:
        """The ``metadata`` the page gives ``Pi.createPayment``."""
        request_id = str(self.hosted.request_id) if self.hosted.request_id is not None else None
        return payment_metadata(self.hosted.merchant_id, self.quote.id, request_id)

    @property
    def memo(self) -> str:
        """The ``memo`` the customer sees in the Pi wallet: the merchant (and reference)."""
        text = (
            self.merchant.name if self.request is None else f"{self.merchant.name}: {self.request.reference}"
        )
        return text[:MEMO_LIMIT]


@dataclass(frozen=True)
class Receipt:
    """A payment as its receipt shows it."""

    payment: Payment
    quote: Quote
    merchant: Merchant | None
    hosted: HostedQuote | None
    request: PaymentRequest | None
    paid_at: datetime | None = None
    """When the customer's Pi was verified and credited (the move to ``pending_stellar``)."""

    @property
    def paid(self) -> bool:
        """The customer's Pi is verified on the ledger and credited (MSC minted or being minted)."""
        return self.payment.status in (PaymentStatus.PENDING_STELLAR, PaymentStatus.COMPLETED)

    @property
    def in_escrow(self) -> bool:
        """The merchant's MSC is minted into the escrow."""
        return self.payment.status == PaymentStatus.COMPLETED

    @property
    def failed(self) -> bool:
        """The payment ended without a credit."""
        return self.payment.status in (PaymentStatus.EXPIRED, PaymentStatus.ERROR, PaymentStatus.REFUNDED)


class Checkout:
    """The checkout's operations (see the module docstring).

    Args:
        sessions: The platform database.
        quotes: The quote service (the API's: same rate source and lifetime).
        payments: The payment service.
        pi: The platform's Pi app; None when ``MSC_PI_*`` is not set (pages render, paying is 503).
        tasks: Where verification is queued (the API's task queue).
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        quotes: QuoteService,
        payments: PaymentService,
        pi: CheckoutPi | None,
        tasks: TaskQueue,
    ) -> None:
        self.sessions = sessions
        self.quotes = quotes
        self.payments = payments
        self.pi = pi
        self.tasks = tasks

    def _pi(self) -> CheckoutPi:
        if self.pi is None:
            raise CheckoutUnavailableError()
        return self.pi

    # ----------------------------------------------------------------------------- reading

    def merchant(self, merchant_id: uuid.UUID) -> Merchant:
        """The merchant.

        Raises:
            MerchantNotFoundError: none.
        """
        with self.sessions() as session:
            merchant = session.get(Merchant, merchant_id)
        if merchant is None:
            raise MerchantNotFoundError(merchant_id)
        _payable(merchant)
        return merchant

    def request(self, request_id: uuid.UUID) -> tuple[PaymentRequest, Merchant]:
        """The payment request (its status brought up to date) and its merchant.

        Raises:
            PaymentRequestNotFoundError: none.
        """
        with self.sessions.begin() as session:
            request = requests.refresh(session, request_id)
            merchant = session.get(Merchant, request.merchant_id)
        assert merchant is not None  # a foreign key
        _payable(merchant)
        return request, merchant

    def quote_view(self, quote_id: uuid.UUID) -> QuoteView:
        """A quote the checkout made, with its merchant and request.

        Raises:
            CheckoutQuoteNotFoundError: not a checkout quote.
        """
        with self.sessions() as session:
            hosted = session.get(HostedQuote, quote_id)
            quote = session.get(Quote, quote_id)
            if hosted is None or quote is None:
                raise CheckoutQuoteNotFoundError(quote_id)
            merchant = session.get(Merchant, hosted.merchant_id)
            request = session.get(PaymentRequest, hosted.request_id) if hosted.request_id else None
        assert merchant is not None
        _payable(merchant)
        return QuoteView(quote, hosted, merchant, request)

    def receipt(self, payment_id: uuid.UUID) -> Receipt:
        """A payment with its quote, merchant and request (a request's status brought up to date).

        Raises:
            PaymentNotFoundError: none.
        """
        with self.sessions.begin() as session:
            payment = self.payments.get(session, payment_id)
            quote = session.get(Quote, payment.quote_id)
            hosted = session.get(HostedQuote, payment.quote_id)
            request = None
            if hosted is not None and hosted.request_id is not None:
                request = requests.refresh(session, hosted.request_id)
            merchant_id = hosted.merchant_id if hosted is not None else _uuid_or_none(payment.merchant_id)
            merchant = session.get(Merchant, merchant_id) if merchant_id is not None else None
            paid_at = next(
                (
                    h.at
                    for h in self.payments.history(session, payment.id)
                    if h.to_status == PaymentStatus.PENDING_STELLAR
                ),
                None,
            )
        assert quote is not None
        return Receipt(payment, quote, merchant, hosted, request, paid_at)

    # ------------------------------------------------------------------------------ pricing

    def quote(self, merchant_id: uuid.UUID, amount: int | None, request_id: uuid.UUID | None) -> QuoteView:
        """A firm quote for ``amount`` sen to the merchant, or for the payment request's amount.

        Raises:
            MerchantNotFoundError: no such merchant.
            PaymentRequestNotFoundError, PaymentRequest*Error: the request cannot be paid.
            ValidationError: no or a bad amount.
            RateUnavailableError: no rate to price at.
        """
        with self.sessions.begin() as session:
            merchant = session.get(Merchant, merchant_id)
            if merchant is None:
                raise MerchantNotFoundError(merchant_id)
            _payable(merchant)
            request = None
            if request_id is not None:
                request = requests.refresh(session, request_id)
                if request.merchant_id != merchant_id:
                    raise PaymentRequestNotFoundError(request_id)
                requests.check_payable(request, self.quotes.clock())
                amount = request.amount
            if amount is None:
                raise ValidationError("give the amount in Rupiah")
            quote = self.quotes.create(session, sell_asset="PI", buy_asset="IDR", buy_amount=amount)
            hosted = requests.record_hosted_quote(
                session, quote_id=quote.id, merchant_id=merchant_id, amount=amount, request_id=request_id
            )
        return QuoteView(quote, hosted, merchant, request)

    def renew(self, quote_id: uuid.UUID) -> QuoteView:
        """A new firm quote for the same merchant, amount and request as ``quote_id``."""
        old = self.quote_view(quote_id)
        return self.quote(old.hosted.merchant_id, old.hosted.amount, old.hosted.request_id)

    def payment_of_quote(self, quote_id: uuid.UUID) -> uuid.UUID | None:
        """The payment a quote was used by, if any (a page reloaded in the middle goes there)."""
        with self.sessions() as session:
            quote = session.get(Quote, quote_id)
        return quote.payment_id if quote is not None else None

    # ---------------------------------------------------------------------------- the Pi flow

    def approve(self, pi_payment_id: str, quote_id: uuid.UUID, access_token: str) -> Payment:
        """``onReadyForServerApproval``: bind, record, claim and approve (see the module docstring).

        Raises:
            PiSignInRefusedError: the access token is not accepted by Pi.
            CheckoutQuoteNotFoundError: not a checkout quote.
            PiPaymentNotBoundError, PiPaymentMismatchError, PiPaymentCancelledError: Pi's record
                does not match ours (tampered amount or metadata, another Pioneer, cancelled).
            QuoteExpiredError, QuoteAlreadyUsedError: the quote cannot pay it.
            PaymentRequest*Error: the request cannot be paid (paid, in progress, expired, cancelled).
            CheckoutPaymentRefusedError: the approval step refused it.
            MerchantSuspendedError: the merchant was suspended (nothing recorded; cancelled on Pi).
            PiPlatformUnavailableError: Pi did not answer (nothing changed; try again).
        """
        pi_app = self._pi()
        user = pi_app.me(access_token)
        with self.sessions() as session:
            hosted = session.get(HostedQuote, quote_id)
            quote = session.get(Quote, quote_id)
            recorded = payments_repo.by_pi_payment_id(session, pi_payment_id)
        if hosted is None or quote is None:
            raise CheckoutQuoteNotFoundError(quote_id)
        binding = Binding(
            merchant_id=str(hosted.merchant_id),
            quote_id=quote_id,
            amount=int(quote.sell_amount),
            request_id=str(hosted.request_id) if hosted.request_id is not None else None,
            payer_uid=user.uid,
        )
        if recorded is not None and recorded.quote_id == quote_id:
            payment = recorded  # a repeated callback: approving again is idempotent
        else:
            try:
                pi = check_binding(pi_app.platform, pi_payment_id, binding, app_address=pi_app.app_address)
            except PiPaymentMismatchError:
                # Bound to this very quote but not its amount (tampered): never recorded, so never
                # approved; cancel it on Pi and let the customer start again. A payment not bound
                # to us (PiPaymentNotBoundError) is left alone, and so is one recorded already.
                if recorded is None:
                    self._cancel_on_pi(pi_app, pi_payment_id)
                raise
            try:
                payment = self._record(pi_payment_id, hosted, quote_id)
            except MSCError:
                with self.sessions() as session:
                    recorded = payments_repo.by_pi_payment_id(session, pi_payment_id)
                if recorded is None:  # never recorded, so never approved: unblock the Pioneer
                    self._cancel_on_pi(pi_app, pi.identifier)
                raise
        approved = pi_app.flow.approve(payment.id)
        if approved.status in (PaymentStatus.EXPIRED, PaymentStatus.ERROR):
            with self.sessions.begin() as session:
                if hosted.request_id is not None:
                    requests.refresh(session, hosted.request_id)
            raise CheckoutPaymentRefusedError(approved)
        return approved

    def _record(self, pi_payment_id: str, hosted: HostedQuote, quote_id: uuid.UUID) -> Payment:
        """The payment at the quote and the request's claim, in one transaction."""
        try:
            with self.sessions.begin() as session:
                merchants.ensure_active(session, hosted.merchant_id)  # suspended since the quote
                payment = self.payments.create(
                    session,
                    pi_payment_id=pi_payment_id,
                    merchant_id=str(hosted.merchant_id),
                    quote_id=quote_id,
                )
                if hosted.request_id is not None:
                    requests.claim(session, hosted.request_id, payment.id)
                return payment
        except (PaymentConflictError, QuoteAlreadyUsedError):
            # A concurrent delivery of the same callback took the quote (the quote's row lock made
            # this one wait for it) and recorded the payment: that payment is the answer.
            with self.sessions() as session:
                existing = payments_repo.by_pi_payment_id(session, pi_payment_id)
            if existing is not None and existing.quote_id == quote_id:
                return existing
            raise

    def complete(self, pi_payment_id: str, txid: str, access_token: str) -> Payment:
        """``onReadyForServerCompletion``: records the txid Pi links to the payment, queues verification.

        Raises:
            PiSignInRefusedError: the access token is not accepted by Pi.
            CheckoutPaymentNotFoundError: not recorded, or another Pioneer's.
            PiTransactionNotLinkedError: Pi links no such transaction to it.
            InvalidTxidError, TxidMismatchError, TxidAlreadyUsedError, InvalidTransitionError: the
                flow's refusals.
        """
        pi_app = self._pi()
        user = pi_app.me(access_token)
        txid = normalise_txid(txid)
        payment, pi = self._customers_payment(pi_app, pi_payment_id, user)
        if pi.transaction is None or pi.transaction.txid.lower() != txid:
            raise PiTransactionNotLinkedError(pi_payment_id)
        recorded = pi_app.flow.submit_txid(payment.id, txid)
        self.tasks.enqueue(VERIFY, str(recorded.id))
        return recorded

    def settle_incomplete(self, pi_payment_id: str, access_token: str) -> Payment | None:
        """``onIncompletePaymentFound``: finishes a payment an earlier visit left behind.

        With a transaction linked on Pi it goes on to verification (as if the completion callback
        had arrived); without one it is cancelled on Pi and expired here, so the customer can pay
        again. Returns our payment, or None when we never recorded it (then it is only cancelled
        on Pi, if it has no transaction).

        Raises:
            PiSignInRefusedError: the access token is not accepted by Pi.
            CheckoutPaymentNotFoundError: another Pioneer's payment.
        """
        return self._finish(
            pi_payment_id,
            access_token,
            "left unpaid by an earlier visit; cancelled at the customer's next sign-in",
        )

    def cancelled(self, pi_payment_id: str, access_token: str) -> Payment | None:
        """``onCancel`` / ``onError``: the Pi dialog closed; an unpaid payment is cancelled and
        expired, and one whose Pi transaction went out anyway is settled (never lost).

        Raises:
            PiSignInRefusedError: the access token is not accepted by Pi.
            CheckoutPaymentNotFoundError: another Pioneer's payment.
        """
        return self._finish(pi_payment_id, access_token, "cancelled by the customer in the Pi wallet")

    def _finish(self, pi_payment_id: str, access_token: str, reason: str) -> Payment | None:
        """Settles (transaction linked) or cancels and expires (none) the Pioneer's Pi payment."""
        pi_app = self._pi()
        user = pi_app.me(access_token)
        pi = pi_app.platform.get_payment(pi_payment_id)
        if pi.user_uid != user.uid or pi.direction != "user_to_app":
            raise CheckoutPaymentNotFoundError(pi_payment_id)
        with self.sessions() as session:
            payment = payments_repo.by_pi_payment_id(session, pi_payment_id)
        if pi.transaction is not None:
            if payment is None:
                return None  # Pi lets a wallet pay only what we approved, after recording it
            with contextlib.suppress(InvalidTransitionError):
                payment = pi_app.flow.submit_txid(payment.id, pi.transaction.txid)
            self.tasks.enqueue(VERIFY, str(payment.id))
            return pi_app.flow.get(payment.id)
        self._cancel_on_pi(pi_app, pi_payment_id)
        if payment is None:
            return None
        expired = pi_app.flow.expire(payment.id, reason)
        self._release_request(payment)
        return expired

    def _customers_payment(
        self, pi_app: CheckoutPi, pi_payment_id: str, user: PiUser
    ) -> tuple[Payment, PiPayment]:
        """Our payment for ``pi_payment_id`` and Pi's record, if it is this Pioneer's."""
        with self.sessions() as session:
            payment = payments_repo.by_pi_payment_id(session, pi_payment_id)
        if payment is None:
            raise CheckoutPaymentNotFoundError(pi_payment_id)
        pi = pi_app.platform.get_payment(pi_payment_id)
        if pi.user_uid != user.uid:
            raise CheckoutPaymentNotFoundError(pi_payment_id)
        return payment, pi

    def _release_request(self, payment: Payment) -> None:
        with self.sessions.begin() as session:
            hosted = session.get(HostedQuote, payment.quote_id)
            if hosted is not None and hosted.request_id is not None:
                requests.refresh(session, hosted.request_id)

    @staticmethod
    def _cancel_on_pi(pi_app: CheckoutPi, pi_payment_id: str) -> None:
        """Cancels a payment that will never be approved, so it stops blocking the customer."""
        try:
            pi_app.platform.cancel_payment(pi_payment_id)
        except PiAlreadyCancelledError:
            pass
        except PiPlatformError:
            log.warning("could not cancel Pi payment %s; the reconciler will", pi_payment_id, exc_info=True)


def _payable(merchant: Merchant) -> None:
    """Refuses a suspended merchant's pages and quotes (its receipts stay readable).

    Raises:
        MerchantSuspendedError: the merchant is suspended.
    """
    if merchant.status != MerchantStatus.ACTIVE:
        raise MerchantSuspendedError(merchant.id)


def _uuid_or_none(value: str) -> uuid.UUID | None:
    """``value`` as a UUID (a merchant's id as payments record it), or None if it is not one."""
    try:
        return uuid.UUID(value)
    except ValueError:
        return None
