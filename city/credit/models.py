"""The consent registry's tables: lenders, consents and the append-only consent event log.

In the spirit of Indonesia's personal-data law (UU 27/2022): a merchant opts in to scoring and to
sharing with a named lender, may revoke at any time, and every grant, revocation and read is
recorded here and shown to the merchant. ``credit_consent_events`` is only ever inserted into.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Uuid, text
from sqlalchemy.orm import Mapped, mapped_column

from common.sql.base import Base
from common.sql.helpers import BigId, UtcDateTime


class Purpose(StrEnum):
    """What a merchant consents to."""

    SCORING = "scoring"
    """Its books may be used to compute its credit score and health report."""
    SHARING = "sharing"
    """One named lender may read its health report (needs scoring consent)."""


class EventKind(StrEnum):
    """What happened to a merchant's data."""

    GRANT = "grant"
    """A consent was given."""
    REVOKE = "revoke"
    """A consent was withdrawn (by the merchant, or with the scoring consent it depends on)."""
    READ = "read"
    """A lender read something of the merchant's (``what`` says what)."""


class Lender(Base):
    """A lender (bank, cooperative, fintech) that merchants may share their health report with."""

    __tablename__ = "credit_lenders"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200), nullable=False, unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)


class Consent(Base):
    """One consent of a merchant, active from ``granted_at`` until ``revoked_at`` (if ever)."""

    __tablename__ = "credit_consents"
    __table_args__ = (
        # At most one active grant per merchant and purpose (and lender): two grants racing each
        # other cannot both insert (see city.credit.consent.grant).
        Index(
            "uq_credit_consents_active_scoring",
            "merchant_id",
            unique=True,
            sqlite_where=text("purpose = 'scoring' AND revoked_at IS NULL"),
            postgresql_where=text("purpose = 'scoring' AND revoked_at IS NULL"),
        ),
        Index(
            "uq_credit_consents_active_sharing",
            "merchant_id",
            "lender_id",
            unique=True,
            sqlite_where=text("purpose = 'sharing' AND revoked_at IS NULL"),
            postgresql_where=text("purpose = 'sharing' AND revoked_at IS NULL"),
        ),
    )
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    merchant_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("merchants.id"), nullable=False, index=True
    )
    purpose: Mapped[str] = mapped_column(String(16), nullable=False, doc="A :class:`Purpose`.")
    lender_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("credit_lenders.id"), nullable=True, doc="Set exactly for sharing consents."
    )
    granted_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    granted_by: Mapped[str] = mapped_column(
        String(80), nullable=False, doc="``portal_user:<id>`` or ``api_key:<id>``."
    )
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    revoked_by: Mapped[str | None] = mapped_column(String(80), nullable=True)


class ConsentEvent(Base):
    """One line of a merchant's consent log: a grant, a revocation or a read (append-only)."""

    __tablename__ = "credit_consent_events"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    merchant_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("merchants.id"), nullable=False, index=True
    )
    kind: Mapped[str] = mapped_column(String(16), nullable=False, doc="An :class:`EventKind`.")
    purpose: Mapped[str] = mapped_column(String(16), nullable=False, doc="A :class:`Purpose`.")
    lender_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("credit_lenders.id"), nullable=True)
    consent_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("credit_consents.id"), nullable=True, doc="The consent granted or revoked."
    )
    actor: Mapped[str] = mapped_column(
        String(80), nullable=False, doc="``portal_user:<id>``, ``api_key:<id>`` or ``lender:<id>``."
    )
    at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    what: Mapped[str | None] = mapped_column(
        String(200), nullable=True, doc="For reads: what was read (e.g. ``health-report.json``)."
    )
