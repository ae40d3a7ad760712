"""SQL tables of merchant users, their roles, invitations, sessions, login throttles and events.

Invariants:
- No secret a person holds is stored in a form that lets a reader of the database use it:
  passwords as argon2id hashes; session ids, invitation tokens and recovery codes (each at least
  128 random bits) as SHA-256. The TOTP seed must be readable to check codes, so it is
  encrypted (:mod:`accounts.seeds`) under a key derived from the custody master key.
- An invitation is accepted at most once: the move out of ``pending`` is one conditional UPDATE
  that also requires it unexpired.
- A TOTP code is used at most once: ``totp_last_step`` only grows, by a conditional UPDATE.
- A session is valid only while ``now < expires_at`` (absolute), ``now < last_seen_at + idle``
  and ``revoked_at IS NULL``; sign-out everywhere sets ``revoked_at`` on every session of the user.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from common.sql.base import Base
from common.sql.helpers import BigId, UtcDateTime


class Role(StrEnum):
    """What a user may do for one merchant."""

    OWNER = "owner"
    """Everything: money out, refunds, bank account, users, keys."""
    CASHIER = "cashier"
    """Sees sales and payment requests, creates payment requests; takes no money out."""


class Permission(StrEnum):
    """One thing a page or form does, checked against the user's role for the merchant."""

    VIEW_SALES = "view_sales"
    CREATE_PAYMENT_REQUEST = "create_payment_request"
    REFUND = "refund"
    REDEEM = "redeem"
    CHANGE_BANK_ACCOUNT = "change_bank_account"
    MANAGE_USERS = "manage_users"
    MANAGE_API_KEYS = "manage_api_keys"
    VIEW_STATEMENT = "view_statement"
    """The monthly statement: it shows payouts and balances, money a cashier does not handle."""
    MANAGE_CONSENT = "manage_consent"
    """Consent to credit scoring and to sharing with lenders (UU 27/2022): the owner's decision."""


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.OWNER: frozenset(Permission),
    Role.CASHIER: frozenset({Permission.VIEW_SALES, Permission.CREATE_PAYMENT_REQUEST}),
}
"""The permissions of each role; anything not listed is refused."""


class InvitationStatus(StrEnum):
    """Where an invitation is."""

    PENDING = "pending"
    """Sent; can be accepted until it expires."""
    ACCEPTED = "accepted"
    """Used once; never again."""
    REVOKED = "revoked"
    """Withdrawn by whoever may invite."""


class MerchantUser(Base):
    """A person who signs in to the portal (may belong to several merchants)."""

    __tablename__ = "merchant_users"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    email: Mapped[str] = mapped_column(String(254), nullable=False, unique=True, doc="Lower-cased.")
    display_name: Mapped[str] = mapped_column(String(200), nullable=False)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False, doc="argon2id PHC string.")
    totp_secret: Mapped[str | None] = mapped_column(
        String(160),
        nullable=True,
        doc="The TOTP seed sealed by accounts.seeds (AES-256-GCM, bound to the user); set at enrolment.",
    )
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    totp_last_step: Mapped[int | None] = mapped_column(
        BigInteger, nullable=True, doc="Time step of the last accepted code; older or equal ones are refused."
    )
    disabled_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)

    def __repr__(self) -> str:
        return f"MerchantUser(id={self.id}, email={self.email!r})"


class Membership(Base):
    """A user's role for one merchant."""

    __tablename__ = "merchant_memberships"
    __table_args__ = (
        UniqueConstraint("user_id", "merchant_id", name="uq_merchant_memberships_user_merchant"),
        Index("ix_merchant_memberships_merchant_id", "merchant_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("merchant_users.id"), nullable=False)
    merchant_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("merchants.id"), nullable=False)
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)


class Invitation(Base):
    """An invitation to become a merchant's owner or cashier; its token is stored hashed."""

    __tablename__ = "merchant_invitations"
    __table_args__ = (Index("ix_merchant_invitations_merchant_id", "merchant_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    merchant_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("merchants.id"), nullable=False)
    email: Mapped[str] = mapped_column(String(254), nullable=False, doc="Lower-cased invitee address.")
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True, doc="SHA-256 hex.")
    invited_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("merchant_users.id"), nullable=True, doc="The inviting owner; NULL: the operator."
    )
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    accepted_by_user_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("merchant_users.id"), nullable=True
    )
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)


class WebSession(Base):
    """A server-side sign-in session; the cookie holds the id, the table only its SHA-256."""

    __tablename__ = "merchant_sessions"
    __table_args__ = (Index("ix_merchant_sessions_user_id", "user_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("merchant_users.id"), nullable=False)
    csrf_secret: Mapped[bytes] = mapped_column(
        LargeBinary, nullable=False, doc="32 random bytes keying this session's CSRF tokens."
    )
    client_address: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False, doc="Absolute expiry.")
    second_factor_at: Mapped[datetime | None] = mapped_column(
        UtcDateTime, nullable=True, doc="When a TOTP or recovery code was last verified in this session."
    )
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class RecoveryCode(Base):
    """A one-use recovery code of a user's second factor, stored as SHA-256."""

    __tablename__ = "merchant_recovery_codes"
    __table_args__ = (Index("ix_merchant_recovery_codes_user_id", "user_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("merchant_users.id"), nullable=False)
    code_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    used_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class LoginThrottle(Base):
    """Failed sign-ins of one account or one client address, and until when it must wait."""

    __tablename__ = "merchant_login_throttles"

    key: Mapped[str] = mapped_column(
        String(80),
        primary_key=True,
        doc="'account:' + SHA-256 of the e-mail, or 'address:' + client address.",
    )
    failures: Mapped[int] = mapped_column(Integer, nullable=False)
    blocked_until: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)


class AccountEvent(Base):
    """One security event (sign-in, failure, lockout, invitation, factor change, sign-out)."""

    __tablename__ = "merchant_account_events"
    __table_args__ = (Index("ix_merchant_account_events_user_id", "user_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    merchant_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, nullable=True)
    kind: Mapped[str] = mapped_column(String(40), nullable=False)
    detail: Mapped[str] = mapped_column(Text, nullable=False, doc="Never a secret.")
    at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
