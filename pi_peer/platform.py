"""The peer's Pi Platform state: users, payments and their state machine.

Mirrors the documented flow (pi-platform-docs ``payments.md`` / ``platform_API.md``): a
user-to-app payment is created by the Pi SDK with every status flag false, approved by the
developer, paid on chain by the user's wallet (memo = payment identifier), which Pi links and
verifies, then completed by the developer with the txid. App-to-user payments are created by the
developer (``POST /payments``), paid by the app wallet, and completed with the txid. Error codes
are the ones the official pi-nodejs SDK types (``src/types/errors.ts``); ``already_approved`` and
``unauthorized`` are used where that list has none.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

from stellar_sdk import Keypair

from pi_peer.ledger import Ledger, TransactionRecord

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


class PlatformError(Exception):
    """A Platform API refusal: HTTP status, Pi error code, message, optional extra fields."""

    def __init__(self, status: int, error: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message
        self.extra = extra


@dataclass
class PeerUser:
    """A Pioneer: app-specific uid, username and wallet keypair."""

    uid: str
    username: str
    keypair: Keypair


@dataclass
class PeerPayment:
    """One payment; ``amount`` in stroops (10^-7 Pi)."""

    identifier: str
    user_uid: str
    amount: int
    memo: str
    metadata: dict[str, Any]
    from_address: str
    to_address: str
    direction: Literal["user_to_app", "app_to_user"]
    created_at: str
    network: str
    developer_approved: bool = False
    transaction_verified: bool = False
    developer_completed: bool = False
    cancelled: bool = False
    user_cancelled: bool = False
    txid: str | None = None
    tx_verified: bool = False
    verification_error: str | None = field(default=None)

    @property
    def finished(self) -> bool:
        """Completed or cancelled: no longer "ongoing"."""
        return self.developer_completed or self.cancelled or self.user_cancelled


class Platform:
    """Payments of one app on one network, linked to the peer's ledger."""

    def __init__(self, ledger: Ledger, app_address: str, network: str, seed: str = "pi-peer") -> None:
        self._ledger = ledger
        self.app_address = app_address
        self.network = network
        self._seed = seed
        # Shared with the ledger: linking runs inside ledger submission, completion reads the ledger.
        self._lock = ledger.lock
        self._users: dict[str, PeerUser] = {}
        self._payments: dict[str, PeerPayment] = {}
        self._txid_owner: dict[str, str] = {}
        self._counter = 0
        ledger.on_transaction(self._on_transaction)

    # -- ids

    def _next(self) -> int:
        self._counter += 1
        return self._counter

    def _payment_id(self) -> str:
        digest = hashlib.sha256(f"{self._seed}/payment/{self._next()}".encode()).digest()
        number = int.from_bytes(digest, "big")
        chars = []
        for _ in range(28):  # Pi identifiers are 28 characters: they fit a 28-byte text memo.
            number, rem = divmod(number, 62)
            chars.append(_ALPHABET[rem])
        return "".join(chars)

    # -- users

    def add_user(self, keypair: Keypair, username: str | None = None) -> PeerUser:
        """Register a user whose wallet is ``keypair``."""
        with self._lock:
            n = self._next()
            uid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{self._seed}/user/{n}"))
            user = PeerUser(uid, username or f"pioneer{n}", keypair)
            self._users[uid] = user
            return user

    def user(self, uid: str) -> PeerUser:
        """The user or ``user_not_found``."""
        with self._lock:
            found = self._users.get(uid)
        if found is None:
            raise PlatformError(404, "user_not_found", f"User {uid} not found.")
        return found

    # -- payments

    def get(self, identifier: str) -> PeerPayment:
        """The payment or ``payment_not_found``."""
        with self._lock:
            payment = self._payments.get(identifier)
        if payment is None:
            raise PlatformError(404, "payment_not_found", "Payment not found")
        return payment

    def create(
        self, uid: str, amount: int, memo: str, metadata: dict[str, Any], direction: str
    ) -> PeerPayment:
        """Create a payment (U2A as the Pi SDK does, A2U as ``POST /payments`` does)."""
        if amount <= 0:
            raise PlatformError(400, "invalid_amount", "Amount must be positive.")
        if not isinstance(metadata, dict):
            raise PlatformError(400, "invalid_metadata", "Metadata must be an object.")
        with self._lock:
            user = self.user(uid)
            for other in self._payments.values():
                if other.user_uid == uid and other.direction == direction and not other.finished:
                    raise PlatformError(
                        400,
                        "ongoing_payment_found",
                        "A payment is already ongoing for this user.",
                        payment=other,
                    )
            wallet = user.keypair.public_key
            u2a = direction == "user_to_app"
            payment = PeerPayment(
                identifier=self._payment_id(),
                user_uid=uid,
                amount=amount,
                memo=memo,
                metadata=metadata,
                from_address=wallet if u2a else self.app_address,
                to_address=self.app_address if u2a else wallet,
                direction="user_to_app" if u2a else "app_to_user",
                created_at=datetime.fromtimestamp(self._ledger.now(), tz=UTC).strftime(
                    "%Y-%m-%dT%H:%M:%S.000Z"
                ),
                network=self.network,
                developer_approved=not u2a,
            )
            self._payments[payment.identifier] = payment
            return payment

    def approve(self, identifier: str) -> PeerPayment:
        """Server-side approval."""
        with self._lock:
            payment = self.get(identifier)
            self._refuse_if_cancelled(payment)
            if payment.developer_approved:
                raise PlatformError(400, "already_approved", "Payment already approved.", payment=payment)
            payment.developer_approved = True
            return payment

    def complete(self, identifier: str, txid: str | None) -> PeerPayment:
        """Server-side completion with the txid; Pi verifies the transaction against the payment."""
        if not txid:
            raise PlatformError(400, "missing_txid", "The txid parameter is required.")
        txid = txid.lower()
        with self._lock:
            payment = self.get(identifier)
            self._refuse_if_cancelled(payment)
            if payment.developer_completed:
                raise PlatformError(400, "already_completed", "Payment already completed.", payment=payment)
            if payment.txid is not None and payment.txid != txid:
                raise PlatformError(
                    400, "txid_mismatch", "The txid does not match the payment's transaction."
                )
            if payment.txid is None:
                owner = self._txid_owner.get(txid)
                if owner is not None and owner != identifier:
                    raise PlatformError(
                        400,
                        "verification_failed",
                        "Transaction verification failed.",
                        verification_error=f"Transaction {txid} already belongs to another payment.",
                    )
                record = self._ledger.transaction(txid)
                if record is None:
                    raise PlatformError(
                        400,
                        "verification_failed",
                        "Transaction verification failed.",
                        verification_error="Transaction not found on the blockchain.",
                    )
                error = self._verify(payment, record)
                if error is not None:
                    raise PlatformError(
                        400,
                        "verification_failed",
                        "Transaction verification failed.",
                        verification_error=error,
                    )
                self._link(payment, record, None)
            elif not payment.tx_verified:
                raise PlatformError(
                    400,
                    "verification_failed",
                    "Transaction verification failed.",
                    verification_error=payment.verification_error
                    or "Transaction does not match the payment.",
                )
            payment.developer_completed = True
            return payment

    def cancel(self, identifier: str) -> PeerPayment:
        """Developer cancellation (only before a transaction exists)."""
        with self._lock:
            payment = self.get(identifier)
            self._refuse_if_cancelled(payment)
            if payment.developer_completed:
                raise PlatformError(400, "already_completed", "Payment already completed.", payment=payment)
            if payment.txid is not None:
                raise PlatformError(
                    400, "payment_tx_present", "A transaction was already made for this payment."
                )
            payment.cancelled = True
            return payment

    def user_cancel(self, identifier: str) -> PeerPayment:
        """The user closes the payment dialog before paying."""
        with self._lock:
            payment = self.get(identifier)
            if payment.txid is None and not payment.finished:
                payment.user_cancelled = True
            return payment

    def incomplete_server_payments(self) -> list[PeerPayment]:
        """A2U payments created but not completed (with or without a transaction) and not cancelled."""
        with self._lock:
            return [
                p
                for p in self._payments.values()
                if p.direction == "app_to_user" and not p.developer_completed and not p.cancelled
            ]

    # -- chain linking

    def _refuse_if_cancelled(self, payment: PeerPayment) -> None:
        if payment.cancelled or payment.user_cancelled:
            raise PlatformError(400, "cancelled_payment", "Payment was cancelled.", payment=payment)

    def _verify(self, payment: PeerPayment, record: TransactionRecord) -> str | None:
        """Why ``record`` does not pay ``payment``, or None when it does."""
        if not record.successful:
            return "Transaction failed on the blockchain."
        if record.memo_type != "text" or record.memo != payment.identifier:
            return f"Memo {record.memo!r} does not match the payment identifier."
        pays = [
            o for o in record.operations if o.type == "payment" and o.fields.get("asset_type") == "native"
        ]
        if len(pays) != 1:
            return "Transaction must contain exactly one native payment."
        op = pays[0]
        if op.fields["from"] != payment.from_address or op.fields["to"] != payment.to_address:
            return "Transaction addresses do not match the payment."
        amount = int(Decimal(op.fields["amount"]).scaleb(7))
        if amount != payment.amount:
            return f"Transaction amount {op.fields['amount']} does not match the payment amount."
        return None

    def _link(self, payment: PeerPayment, record: TransactionRecord, error: str | None) -> None:
        payment.txid = record.hash
        payment.tx_verified = error is None
        payment.transaction_verified = error is None
        payment.verification_error = error
        self._txid_owner[record.hash] = payment.identifier

    def _on_transaction(self, record: TransactionRecord) -> None:
        """Pi watches the chain: a tx whose memo names an approved, unpaid payment gets linked."""
        if record.memo_type != "text" or record.memo is None or not record.successful:
            return
        with self._lock:
            payment = self._payments.get(record.memo)
            if payment is None or payment.txid is not None or payment.finished:
                return
            if not payment.developer_approved or record.source_account != payment.from_address:
                return
            self._link(payment, record, self._verify(payment, record))
