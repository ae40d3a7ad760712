"""The owner's "Data & kredit" page: consent to credit scoring and to sharing with lenders, and the
log of who did what with the shop's data (issue #15, in the spirit of UU 27/2022).

* grant or revoke scoring; grant sharing with a chosen lender (needs scoring) or revoke it;
  revoking scoring revokes every sharing grant with it;
* the log: every grant, revocation and lender read, newest first, with who did it;
* while scoring is allowed, the shop's own LDCI as a lender would read it (each component with its
  value and weight) and its "Laporan Kesehatan UMKM" as a PDF: the owner sees what it shares. Its
  own reading is not a lender's read and is not logged.

Only the owner (``manage_consent``); every form is a POST with the session's CSRF token (checked
by :func:`portal.web.member`). The page works over :mod:`city.credit.consent`, as the API does.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from accounts.models import MerchantUser, Permission
from city.credit import consent
from city.credit.models import Consent, ConsentEvent, Purpose
from city.credit.report import HealthReport, HealthReportUnavailableError, build_health_report
from city.credit.report_pdf import TEXT, render_health_report_pdf
from portal import sales
from portal.services import portal_services
from portal.web import Member, member, redirect, render
from webui.i18n import N_, gettext

router = APIRouter(prefix="/portal/m/{merchant_id}/privacy", tags=["portal"], include_in_schema=False)
Owner = Annotated[Member, Depends(member(Permission.MANAGE_CONSENT))]
LOG_ROWS = 200
"""The newest log lines shown (the API returns the whole log)."""

KINDS = {"grant": N_("Granted"), "revoke": N_("Revoked"), "read": N_("Read by the lender")}
PURPOSES = {"scoring": N_("Credit scoring"), "sharing": N_("Sharing with a lender")}
ERRORS = {
    "scoring_consent_required": N_("Allow credit scoring first: a lender can only read a scored report."),
    "unknown_lender": N_("Choose a lender from the list."),
    "invalid_consent": N_("Choose a lender from the list."),
}

REFUSALS = (consent.ScoringConsentRequiredError, consent.InvalidConsentError, consent.UnknownLenderError)
"""Grants the page refuses by showing itself again with why."""


@dataclass(frozen=True)
class LogRow:
    """One line of the log as the page shows it."""

    at: datetime
    kind: str
    detail: str
    """The purpose, the lender of a grant or revocation of sharing, and what a read read."""
    actor: str


def _actor(language: str, actor: str, users: dict[str, str], lenders: dict[str, str]) -> str:
    kind, _, ident = actor.partition(":")
    if kind == "portal_user":
        return users.get(ident) or gettext(language, N_("A user of the shop"))
    if kind == "api_key":
        return gettext(language, N_("Your API key"))
    if kind == "lender":
        return lenders.get(ident) or gettext(language, N_("A lender"))
    return actor


def _log(db: Session, who: Member, lender_names: dict[str, str]) -> list[LogRow]:
    events: list[ConsentEvent] = consent.events(db, who.merchant_id, limit=LOG_ROWS)
    user_ids = {uuid.UUID(e.actor.split(":", 1)[1]) for e in events if e.actor.startswith("portal_user:")}
    users = {
        str(user_id): name
        for user_id, name in db.execute(
            select(MerchantUser.id, MerchantUser.display_name).where(MerchantUser.id.in_(user_ids))
        )
    }
    lang = who.language
    return [
        LogRow(
            at=e.at.astimezone(sales.JAKARTA),
            kind=gettext(lang, KINDS.get(e.kind, e.kind)),
            detail=_detail(lang, e, lender_names),
            actor=_actor(lang, e.actor, users, lender_names),
        )
        for e in events
    ]


def _detail(language: str, event: ConsentEvent, lender_names: dict[str, str]) -> str:
    parts = [gettext(language, PURPOSES.get(event.purpose, event.purpose))]
    if event.lender_id is not None and event.kind != "read":  # a read's lender is its actor
        parts.append(lender_names.get(str(event.lender_id), ""))
    if event.what:
        parts.append(event.what)
    return " · ".join(part for part in parts if part)


def _page(request: Request, who: Member, *, status_code: int = 200, error: str | None = None) -> HTMLResponse:
    now = portal_services(request).clock()
    with portal_services(request).sessions() as db:
        lenders = consent.lenders(db)
        names = {str(row.id): row.name for row in lenders}
        active: list[Consent] = consent.active_consents(db, who.merchant_id, now)
        log = _log(db, who, names)
        scoring = next((c for c in active if c.purpose == Purpose.SCORING), None)
        report = _own_report(db, who, now) if scoring else None
    sharing = [c for c in active if c.purpose == Purpose.SHARING]
    shared_with = {c.lender_id for c in sharing}
    context: dict[str, Any] = {
        "scoring": scoring,
        "sharing": [(c, names.get(str(c.lender_id), "")) for c in sharing],
        "choices": [row for row in lenders if row.id not in shared_with],
        "log": log,
        "report": report,
        "labels": {name: texts[who.language] for name, texts in TEXT.items()},
        "jakarta": sales.JAKARTA,
        "error": error,
    }
    return render(request, who, "portal/privacy/privacy.html", status_code=status_code, **context)


def _own_report(db: Session, who: Member, now: datetime) -> HealthReport | None:
    """The shop's health report as of yesterday (Jakarta), None when it has no score."""
    try:
        return build_health_report(db, who.merchant_id, _yesterday(now), now=lambda: now)
    except HealthReportUnavailableError:
        return None


def _yesterday(now: datetime) -> date:
    """The last complete Asia/Jakarta day: what the daily computation scores."""
    return now.astimezone(sales.JAKARTA).date() - timedelta(days=1)


@router.get("/health-report.pdf")
def own_health_report(request: Request, owner: Owner) -> Response:
    """The shop's own "Laporan Kesehatan UMKM" (PDF in the owner's language); 404 without a score
    or without consent to scoring."""
    now = portal_services(request).clock()
    with portal_services(request).sessions() as db:
        report = build_health_report(db, owner.merchant_id, _yesterday(now), now=lambda: now)
    return Response(
        render_health_report_pdf(report, owner.language),
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="laporan-kesehatan-{report.as_of}.pdf"'},
    )


@router.get("", response_class=HTMLResponse)
def privacy_page(request: Request, owner: Owner) -> HTMLResponse:
    """The shop's consents and its data log."""
    return _page(request, owner)


@router.post("/grant", response_class=HTMLResponse)
def grant(
    request: Request,
    owner: Owner,
    purpose: Annotated[str, Form(max_length=16)],
    lender_id: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """Grants scoring, or sharing with the chosen lender; a refusal shows the page with why."""
    services = portal_services(request)
    try:
        chosen = uuid.UUID(lender_id) if lender_id.strip() else None
    except ValueError:
        chosen = uuid.UUID(int=0)  # no such lender: refused below like any unknown one
    try:
        with services.sessions.begin() as db:
            consent.grant(
                db, owner.merchant_id, purpose, chosen, consent.portal_actor(owner.user_id), services.clock()
            )
    except (
        consent.ScoringConsentRequiredError,
        consent.InvalidConsentError,
        consent.UnknownLenderError,
    ) as refused:
        message = gettext(owner.language, ERRORS.get(refused.code, ERRORS["invalid_consent"]))
        return _page(request, owner, status_code=refused.status_code, error=message)
    return redirect(f"/portal/m/{owner.merchant_id}/privacy")


@router.post("/{consent_id}/revoke", response_class=HTMLResponse)
def revoke(request: Request, owner: Owner, consent_id: uuid.UUID) -> Response:
    """Revokes a consent now (revoking scoring revokes every sharing grant with it)."""
    services = portal_services(request)
    with services.sessions.begin() as db:
        consent.revoke(
            db, owner.merchant_id, consent_id, consent.portal_actor(owner.user_id), services.clock()
        )
    return redirect(f"/portal/m/{owner.merchant_id}/privacy")
