"""SQL tables of a merchant's bank account on file and of the notices shown to its owners.

Invariants:
- A merchant has at most one current bank account: ``current_for`` holds the merchant id exactly
  while the row is current and is unique (NULLs never collide), so two changes racing cannot both
  leave a current account. Replaced rows are kept (``replaced_at`` set): the history of who
  changed the account, and when, is never rewritten.
- A wallet move (export or rotation sweep) is committed with its signed authorization and its
  signed relay transaction before the relay is broadcast (write-ahead), so a restart rebroadcasts
  the same transaction or reads the authorization's state on chain instead of moving twice; the
  EIP-3009 nonce is unique per sender, and ``idempotency_key`` per request.
- A notice belongs to one owner of one merchant and is shown until that owner dismisses it;
  dismissing is a conditional UPDATE (``dismissed_at IS NULL``), so it happens once.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from common.sql.base import Base
from common.sql.helpers import UtcDateTime


class NoticeKind(StrEnum):
    """What a notice announces (the page words it in the reader's language)."""

    BANK_ACCOUNT_CHANGED = "bank_account_changed"
    """The payout bank account was changed; ``detail`` holds the new account, masked."""
    WALLET_ROTATED = "wallet_rotated"
    """The custodial wallet got a new address; ``detail`` holds the new address."""
    WALLET_EXPORTED = "wallet_exported"
    """The custodial wallet's MSC was moved to the owner's own address (``detail``)."""


class MerchantBankAccount(Base):
    """One version of the bank account a merchant's Rupiah payouts are sent to."""

    __tablename__ = "merchant_bank_accounts"
    __table_args__ = (Index("ix_merchant_bank_accounts_merchant_id", "merchant_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    merchant_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("merchants.id"), nullable=False)
    bank_code: Mapped[str] = mapped_column(
        String(16),
        nullable=False,
        doc="Short bank name or code as the operator's bank knows it (BRI, BCA...).",
    )
    account_number: Mapped[str] = mapped_column(String(20), nullable=False, doc="Digits only, 6 to 20.")
    holder_name: Mapped[str] = mapped_column(String(120), nullable=False, doc="As on the bank's records.")
    current_for: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, nullable=True, unique=True, doc="The merchant id while this row is current, else NULL."
    )
    changed_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("merchant_users.id"), nullable=True, doc="The owner who set it; NULL: an operator."
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    replaced_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)

    @property
    def payout_reference(self) -> str:
        """The text a payout carries as its bank account (what the operator's bank transfer uses)."""
        return f"{self.bank_code} {self.account_number} a.n. {self.holder_name}"

    @property
    def masked(self) -> str:
        """The account as shown in notices: bank and the last four digits only."""
        return f"{self.bank_code} ••••{self.account_number[-4:]}"


class MerchantNotice(Base):
    """An announcement to one owner of a merchant, shown on the owner's pages until dismissed."""

    __tablename__ = "merchant_notices"
    __table_args__ = (Index("ix_merchant_notices_user_merchant", "user_id", "merchant_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    merchant_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("merchants.id"), nullable=False)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("merchant_users.id"), nullable=False)
    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    detail: Mapped[str] = mapped_column(Text, nullable=False, doc="Shown with the notice; never a secret.")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    dismissed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class WalletMoveKind(StrEnum):
    """Why MSC leaves a custodial address."""

    EXPORT = "export"
    """To the owner's own wallet: the merchant leaves custody (the MSC moves, the key never does)."""
    ROTATION = "rotation"
    """From a retired custodial address to the merchant's new current one."""


class WalletMoveStatus(StrEnum):
    """Where a wallet move is between its write-ahead record and the chain."""

    PENDING = "pending"
    """Committed with its signed relay; the relay may or may not be mined (the chain says)."""
    DONE = "done"
    """The relay was mined successfully (``tx_hash``); final."""
    ABANDONED = "abandoned"
    """The relay reverted or its authorization expired unused; nothing moved; final."""


class MerchantWalletMove(Base):
    """A ``transferWithAuthorization`` out of a custodial address, relayed by the platform."""

    __tablename__ = "merchant_wallet_moves"
    __table_args__ = (
        Index("ix_merchant_wallet_moves_merchant_id", "merchant_id"),
        Index("uq_merchant_wallet_moves_sender_nonce", "from_address", "auth_nonce", unique=True),
        CheckConstraint("amount > 0", name="amount_positive"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    idempotency_key: Mapped[str] = mapped_column(
        String(200), nullable=False, unique=True, doc="``merchant_id:key`` of the form submission."
    )
    merchant_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("merchants.id"), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    from_address: Mapped[str] = mapped_column(String(42), nullable=False, doc="EIP-55 custodial address.")
    to_address: Mapped[str] = mapped_column(String(42), nullable=False, doc="EIP-55 destination.")
    amount: Mapped[int] = mapped_column(BigInteger, nullable=False, doc="Sen of MSC moved.")
    valid_after: Mapped[int] = mapped_column(BigInteger, nullable=False, doc="Unix time.")
    valid_before: Mapped[int] = mapped_column(BigInteger, nullable=False, doc="Unix time.")
    signature: Mapped[str] = mapped_column(
        String(132), nullable=False, doc="0x-hex r || s || v of the custodial key (a one-use authorization)."
    )
    auth_nonce: Mapped[str] = mapped_column(String(66), nullable=False, doc="0x-hex bytes32.")
    tx_hash: Mapped[str] = mapped_column(String(66), nullable=False, doc="The signed relay's hash.")
    raw_tx: Mapped[str] = mapped_column(
        Text, nullable=False, doc="The signed relay, written before broadcast."
    )
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    requested_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("merchant_users.id"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
