"""The lender role's routes: ``/v1/lender/merchants`` and each sharing merchant's health report.

A lender key reads only merchants whose sharing consent names its lender (and who consent to
scoring) at the moment of the request. Any other merchant, known or not, answers the same 404 as
an id that does not exist, and nothing is built for it. A successful read is logged
(:func:`city.credit.consent.record_read`) in the same transaction as the report is built, so the
merchant sees every read in its log.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.auth import Principal, require_role
from api.credit.lender_keys import lender_of_key
from api.credit.schemas import SharingMerchant, SharingMerchantList
from api.db import get_sessions
from api.errors import error_responses
from api.models import Merchant, Role
from city.credit import consent
from city.credit.report import build_health_report
from city.credit.report_pdf import render_health_report_pdf
from common.errors import NotFoundError, ValidationError
from common.sql.helpers import utcnow
from webui.i18n import LANGUAGES

router = APIRouter(prefix="/v1/lender", tags=["lender"])

JAKARTA = ZoneInfo("Asia/Jakarta")
Sessions = Annotated[sessionmaker[Session], Depends(get_sessions)]
LenderKey = Annotated[Principal, Depends(require_role(Role.LENDER))]


class MerchantNotSharedError(NotFoundError):
    """The merchant does not exist or does not share with this lender (the answer is the same)."""

    code = "merchant_not_found"

    def __init__(self) -> None:
        super().__init__("no such merchant")


def _lender(session: Session, principal: Principal) -> uuid.UUID:
    lender_id = lender_of_key(session, principal.api_key_id)
    assert lender_id is not None  # lender keys always have one (a CHECK constraint)
    return lender_id


def _shared(session: Session, principal: Principal, merchant_id: str, what: str) -> uuid.UUID:
    """The merchant's id if it shares with the caller's lender now; the read is then logged.

    Raises:
        MerchantNotSharedError: a malformed or unknown id, or no consent to this lender.
    """
    try:
        merchant = uuid.UUID(merchant_id)
    except ValueError:
        raise MerchantNotSharedError() from None
    lender_id = _lender(session, principal)
    now = utcnow()
    if not consent.may_share(session, merchant, lender_id, now):
        raise MerchantNotSharedError()
    consent.record_read(session, merchant, lender_id, what, now)
    return merchant


class InvalidReportDayError(ValidationError):
    """A report day before :data:`FIRST_REPORT_DAY` or after today (Asia/Jakarta)."""

    code = "invalid_report_day"

    def __init__(self, day: date, today: date) -> None:
        super().__init__(
            f"as_of must be between {FIRST_REPORT_DAY.isoformat()} and today ({today.isoformat()})",
            as_of=day.isoformat(),
        )


FIRST_REPORT_DAY = date(2020, 1, 1)
"""No report is built for a day before this (the platform has no books that old)."""


def _as_of(as_of: date | None) -> date:
    """The report's day: ``as_of``, else today in Asia/Jakarta.

    Raises:
        InvalidReportDayError: a day in the future or before :data:`FIRST_REPORT_DAY`.
    """
    today = utcnow().astimezone(JAKARTA).date()
    if as_of is None:
        return today
    if not FIRST_REPORT_DAY <= as_of <= today:
        raise InvalidReportDayError(as_of, today)
    return as_of


AsOf = Annotated[date | None, Query(description="The report's day (Asia/Jakarta); default: today.")]


@router.get(
    "/merchants",
    response_model=SharingMerchantList,
    responses=error_responses(401, 403),
    summary="Merchants that share their health report with you (lender)",
)
def sharing_merchants(principal: LenderKey, sessions: Sessions) -> SharingMerchantList:
    """Only the merchants whose consent names your lender right now; nothing else."""
    with sessions() as session:
        ids = consent.merchants_sharing_with(session, _lender(session, principal), utcnow())
        rows = session.execute(select(Merchant.id, Merchant.name).where(Merchant.id.in_(ids)))
        names: dict[uuid.UUID, str] = {merchant_id: name for merchant_id, name in rows}
        return SharingMerchantList(items=[SharingMerchant(merchant_id=m, name=names.get(m, "")) for m in ids])


@router.get(
    "/merchants/{merchant_id}/health-report",
    responses=error_responses(401, 403, 404, 422),
    summary="A sharing merchant's 'Laporan Kesehatan UMKM' as JSON (lender)",
)
def health_report(
    merchant_id: str, principal: LenderKey, sessions: Sessions, as_of: AsOf = None
) -> dict[str, Any]:
    """The health report, if the merchant shares with you now (else 404, as for an unknown
    merchant). The read is recorded in the merchant's consent log."""
    day = _as_of(as_of)
    with sessions.begin() as session:
        merchant = _shared(session, principal, merchant_id, "health-report.json")
        report = build_health_report(session, merchant, day)
        body: dict[str, Any] = report.to_json()
    return body


@router.get(
    "/merchants/{merchant_id}/health-report.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}, **error_responses(401, 403, 404, 422)},
    summary="A sharing merchant's 'Laporan Kesehatan UMKM' as PDF (lender)",
)
def health_report_pdf(
    merchant_id: str,
    principal: LenderKey,
    sessions: Sessions,
    as_of: AsOf = None,
    lang: Annotated[str, Query(description="`id` (default) or `en`.")] = "id",
) -> Response:
    """The same report as a PDF, in Indonesian or English; the read is recorded likewise."""
    language = lang if lang in LANGUAGES else "id"
    day = _as_of(as_of)
    with sessions.begin() as session:
        merchant = _shared(session, principal, merchant_id, "health-report.pdf")
        report = build_health_report(session, merchant, day)
        pdf = render_health_report_pdf(report, language)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="laporan-kesehatan-{merchant}.pdf"'},
    )
