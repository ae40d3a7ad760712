"""Redeeming from the portal: the owner types an amount and a second-factor code; the platform
signs the EIP-3009 ``ReceiveWithAuthorization`` with the merchant's custodial key (or the owner's
own wallet signed it in the browser) and the redemption takes the API's path:
``RedemptionService.prepare`` (write-ahead intent, then the relay) -> ``request`` (the payout, in a
transaction) -> ``process`` (the burn).

A form submission carries a random ``submission`` id rendered into the page; the redemption's
idempotency key is derived from it, so a double submit or a reload after a crash finds the first
submission's intent or payout and redeems once. That check comes before the second factor: a
replay moves nothing new, so it needs no fresh code (and a used code would refuse it).
"""

from __future__ import annotations

import logging
import os
import re
import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from chain.errors import ChainError
from common.errors import ValidationError
from custody.errors import CustodyKeyNotFoundError
from custody.service import CustodyService
from merchant_money import bank_accounts
from merchant_money._merchants import address_of
from merchant_money.errors import AmountInvalidError, NotCustodialError
from settlement.payouts import repository as payout_repository
from settlement.payouts.models import Payout, PayoutStatusChange
from settlement.payouts.service import PayoutService
from settlement.redemption.errors import InsufficientBalanceError, RedemptionAbandonedError
from settlement.redemption.models import RedemptionIntent, RedemptionIntentStatus
from settlement.redemption.service import Authorization, RedemptionRequest, RedemptionService

log = logging.getLogger(__name__)

DEFAULT_VALID_SECONDS = 3600
"""How long a portal-made authorization stays valid (capped by the redemption horizon)."""
_SUBMISSION = re.compile(r"[A-Za-z0-9_-]{16,64}")

Confirm = Callable[[], object]
"""Verifies the owner's second factor now (raises when it is wrong); called once, after every
check that needs no code and before anything is signed."""


def payouts_of(
    sessions: sessionmaker[Session], merchant_id: uuid.UUID, limit: int = 50
) -> list[tuple[Payout, list[PayoutStatusChange]]]:
    """The merchant's latest payouts, newest first, each with its status history (SQL only: shown
    even while the chain cannot be read)."""
    history = PayoutService().history
    with sessions() as session:
        rows = list(
            session.scalars(
                select(Payout)
                .where(Payout.merchant_id == str(merchant_id))
                .order_by(Payout.created_at.desc())
                .limit(limit)
            )
        )
        return [(p, history(session, p.id)) for p in rows]


def new_submission() -> str:
    """A fresh form-submission id (rendered into the redeem form)."""
    return uuid.uuid4().hex + uuid.uuid4().hex[:8]


def submission_key(submission: str) -> str:
    """The redemption idempotency key of a form submission.

    Raises:
        ValidationError: the id is malformed (a damaged or forged form).
    """
    if not _SUBMISSION.fullmatch(submission):
        raise ValidationError("the form is damaged; reload the page", field="submission")
    return f"portal-{submission}"


class PortalRedemptions:
    """Redemptions started from the portal.

    Args:
        sessions: The platform database.
        redemptions: The API's redemption service (same redeemer, same write-ahead path).
        custody: The custodial wallets (None: custody is not configured; only own wallets redeem).
        valid_seconds: Lifetime of an authorization the platform signs.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        redemptions: RedemptionService,
        custody: CustodyService | None,
        *,
        valid_seconds: int = DEFAULT_VALID_SECONDS,
    ) -> None:
        self.sessions = sessions
        self.redemptions = redemptions
        self.custody = custody
        self.valid_seconds = min(valid_seconds, redemptions.max_valid_seconds)

    # ------------------------------------------------------------------ reads

    def payouts(
        self, merchant_id: uuid.UUID, limit: int = 50
    ) -> list[tuple[Payout, list[PayoutStatusChange]]]:
        """The merchant's latest payouts, newest first, each with its status history."""
        return payouts_of(self.sessions, merchant_id, limit)

    def wallet_typed_data(self, merchant_id: uuid.UUID) -> dict[str, Any]:
        """The ``ReceiveWithAuthorization`` an own-wallet merchant signs, with ``value`` 0: the page's
        script puts the amount in sen there before asking the wallet (EIP-1193
        ``eth_signTypedData_v4``). The nonce is fresh; the window is the chain's time plus
        :attr:`valid_seconds`."""
        with self.sessions() as session:
            sender = address_of(session, merchant_id)
        typed = self.redemptions.typed_data(
            sender, 0, 0, self._chain_time() + self.valid_seconds, os.urandom(32)
        )
        message = typed["message"]
        message["nonce"] = "0x" + bytes(message["nonce"]).hex()
        return typed

    # ------------------------------------------------------------------ redeem

    def redeem_custodial(
        self, merchant_id: uuid.UUID, submission: str, amount: int, confirm: Confirm
    ) -> uuid.UUID:
        """Redeems ``amount`` sen from the merchant's custodial wallet; the payout's id.

        Raises:
            ValidationError: malformed submission; AmountInvalidError: not a positive amount.
            BankAccountMissingError: no bank account on file.
            NotCustodialError: the merchant has no custodial wallet.
            InsufficientBalanceError: the wallet holds less (checked before the code is used).
            SecondFactorRequiredError: from ``confirm``; nothing was signed.
            RedemptionAbandonedError: this submission's redemption was abandoned (nothing moved).
            Any refusal of :meth:`RedemptionService.prepare` (nothing moved).
        """
        key = submission_key(submission)
        done = self._already(merchant_id, key)
        if done is not None:
            return done
        _check_amount(amount)
        if self.custody is None:
            raise NotCustodialError(merchant_id)
        with self.sessions() as session:
            account = bank_accounts.require_current(session, merchant_id)
            try:
                wallet = self.custody.wallet(session, merchant_id)
            except CustodyKeyNotFoundError:
                raise NotCustodialError(merchant_id) from None
        self._check_balance(wallet.address, amount)
        confirm()
        typed = self.redemptions.typed_data(
            wallet.address, amount, 0, self._chain_time() + self.valid_seconds, os.urandom(32)
        )
        with self.sessions.begin() as session:
            auth = self.custody.sign_redemption(session, merchant_id, typed, self.redemptions.redeemer)
        return self._submit(merchant_id, key, wallet.address, amount, account.payout_reference, auth)

    def redeem_signed(
        self,
        merchant_id: uuid.UUID,
        submission: str,
        amount: int,
        authorization: Authorization,
        confirm: Confirm,
    ) -> uuid.UUID:
        """Redeems with an authorization the owner's own wallet signed in the browser.

        Raises:
            As :meth:`redeem_custodial` (bar NotCustodialError); a signature that is not the
            merchant's is refused by the redemption service before anything is sent.
        """
        key = submission_key(submission)
        done = self._already(merchant_id, key)
        if done is not None:
            return done
        _check_amount(amount)
        with self.sessions() as session:
            account = bank_accounts.require_current(session, merchant_id)
            address = address_of(session, merchant_id)
        self._check_balance(address, amount)
        confirm()
        return self._submit(merchant_id, key, address, amount, account.payout_reference, authorization)

    # ------------------------------------------------------------------ internals

    def _submit(
        self, merchant_id: uuid.UUID, key: str, address: str, amount: int, bank: str, auth: Authorization
    ) -> uuid.UUID:
        """The API's path: write-ahead intent and relay, the payout in a transaction, then the burn."""
        request = RedemptionRequest(
            idempotency_key=key,
            merchant_id=str(merchant_id),
            merchant_address=address,
            amount=amount,
            bank_account=bank,
            authorization=auth,
        )
        self.redemptions.prepare(request)
        with self.sessions.begin() as session:
            payout_id = self.redemptions.request(session, request).id
        self._process(payout_id)
        return payout_id

    def _process(self, payout_id: uuid.UUID) -> None:
        try:
            self.redemptions.process(payout_id)
        except ChainError as exc:  # recorded; the settlement workers burn it later
            log.warning("portal redemption %s recorded, burn deferred: %s", payout_id, exc)

    def _already(self, merchant_id: uuid.UUID, key: str) -> uuid.UUID | None:
        """The payout of an earlier submission with this key (finishing its intent if it was left
        half-way), or None when the key is new.

        Raises:
            RedemptionAbandonedError: its relay never happened and never will.
        """
        full = f"{merchant_id}:{key}"
        with self.sessions() as session:
            payout = payout_repository.by_key(session, full)
            intent = session.scalars(
                select(RedemptionIntent).where(RedemptionIntent.idempotency_key == full)
            ).one_or_none()
            intent_id = intent.id if intent is not None else None
        if payout is not None:
            self._process(payout.id)
            return payout.id
        if intent_id is None:
            return None
        status = self.redemptions.finish_intent(intent_id)
        if status == RedemptionIntentStatus.ABANDONED:
            raise RedemptionAbandonedError(key, intent_id)
        with self.sessions() as session:
            payout = payout_repository.by_key(session, full)
        if payout is None:  # pragma: no cover - finish_intent records the payout or raises
            raise ChainError(f"redemption {key} is not finished yet; reload in a moment")
        self._process(payout.id)
        return payout.id

    def _check_balance(self, address: str, amount: int) -> None:
        balance = int(self.redemptions.platform.msc.functions.balanceOf(address).call())
        if balance < amount:
            raise InsufficientBalanceError(address, balance, amount)

    def _chain_time(self) -> int:
        return int(self.redemptions.platform.w3.eth.get_block("latest")["timestamp"])


def _check_amount(amount: int) -> None:
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise AmountInvalidError("must be a positive number of Rupiah")
    if amount > 2**63 - 1:
        raise AmountInvalidError("is too large")
