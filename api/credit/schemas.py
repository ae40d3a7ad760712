"""Request and response bodies of the consent and lender routes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from city.credit.models import Consent, ConsentEvent, Lender


class LenderView(BaseModel):
    """A lender a merchant may share its health report with."""

    id: uuid.UUID
    name: str


class LenderList(BaseModel):
    """Every lender, by name."""

    items: list[LenderView]


class ConsentCreate(BaseModel):
    """A consent to grant."""

    model_config = ConfigDict(extra="forbid")

    purpose: Literal["scoring", "sharing"] = Field(
        description="`scoring`: your books may be scored; `sharing`: the lender `lender_id` may read "
        "your health report (needs `scoring` first)."
    )
    lender_id: uuid.UUID | None = Field(
        default=None, description="For `sharing` only: a lender of GET /v1/lenders."
    )


class ConsentView(BaseModel):
    """One consent."""

    id: uuid.UUID
    purpose: str
    lender_id: uuid.UUID | None
    granted_at: datetime
    granted_by: str
    revoked_at: datetime | None
    revoked_by: str | None


class ConsentEventView(BaseModel):
    """One line of the consent log."""

    kind: str = Field(description="`grant`, `revoke` or `read`.")
    purpose: str
    lender_id: uuid.UUID | None
    consent_id: uuid.UUID | None
    actor: str = Field(description="`portal_user:<id>`, `api_key:<id>` or `lender:<id>`.")
    at: datetime
    what: str | None = Field(description="For reads: what the lender read.")


class ConsentOverview(BaseModel):
    """A merchant's active consents and its whole consent log, newest first (reads included)."""

    active: list[ConsentView]
    events: list[ConsentEventView]


class ConsentRevoked(BaseModel):
    """A revoked consent, and the sharing grants revoked with it (revoking scoring)."""

    consent: ConsentView
    also_revoked: list[ConsentView]


class SharingMerchant(BaseModel):
    """A merchant that currently shares its health report with the calling lender."""

    merchant_id: uuid.UUID
    name: str


class SharingMerchantList(BaseModel):
    """The merchants sharing with the calling lender, nothing else."""

    items: list[SharingMerchant]


def lender_view(row: Lender) -> LenderView:
    """The API form of a lender."""
    return LenderView(id=row.id, name=row.name)


def consent_view(row: Consent) -> ConsentView:
    """The API form of a consent."""
    return ConsentView(
        id=row.id,
        purpose=row.purpose,
        lender_id=row.lender_id,
        granted_at=row.granted_at,
        granted_by=row.granted_by,
        revoked_at=row.revoked_at,
        revoked_by=row.revoked_by,
    )


def event_view(row: ConsentEvent) -> ConsentEventView:
    """The API form of a log line."""
    return ConsentEventView(
        kind=row.kind,
        purpose=row.purpose,
        lender_id=row.lender_id,
        consent_id=row.consent_id,
        actor=row.actor,
        at=row.at,
        what=row.what,
    )
