"""The consent registry: grants, revocations and reads of a merchant's credit data, all logged.

Rules (issue #15, in the spirit of UU 27/2022 on personal data):

* a merchant opts in to ``scoring`` (its books may be scored) and, separately, to ``sharing``
  its health report with one named lender; sharing needs an active scoring consent;
* granting what is already granted changes nothing (one active row per purpose and lender);
* revoking is possible at any time; revoking scoring revokes every sharing grant with it;
* every grant, revocation and lender read is appended to ``credit_consent_events``, which the
  merchant sees.

Every function works in the caller's transaction and takes the moment ``at`` explicitly, so a
test (or a report "as of" a day) decides the time. Nothing here commits.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from city.credit.models import Consent, ConsentEvent, EventKind, Lender, Purpose
from common.errors import ConflictError, NotFoundError, ValidationError

MAX_LENDER_NAME = 200
MAX_WHAT = 200


class UnknownLenderError(ValidationError):
    """The lender named does not exist."""

    code = "unknown_lender"

    def __init__(self, lender_id: uuid.UUID) -> None:
        super().__init__(
            f"no lender has the id {lender_id}; GET /v1/lenders lists them", lender_id=str(lender_id)
        )


class InvalidConsentError(ValidationError):
    """A consent request that does not make sense (sharing without a lender, scoring with one)."""

    code = "invalid_consent"


class ScoringConsentRequiredError(ConflictError):
    """Sharing with a lender was asked for while the merchant does not consent to scoring."""

    code = "scoring_consent_required"

    def __init__(self) -> None:
        super().__init__(
            "sharing with a lender needs consent to scoring first: grant `scoring`, then `sharing`"
        )


class ConsentNotFoundError(NotFoundError):
    """No consent with that id belongs to the merchant."""

    code = "consent_not_found"

    def __init__(self, consent_id: uuid.UUID) -> None:
        super().__init__(f"no consent {consent_id} of this merchant", consent_id=str(consent_id))


@dataclass(frozen=True)
class Revoked:
    """What one revocation ended: the consent asked for, and any sharing grants ended with it."""

    consent: Consent
    cascaded: tuple[Consent, ...]


def portal_actor(user_id: uuid.UUID) -> str:
    """The ``actor`` of something a portal user did."""
    return f"portal_user:{user_id}"


def api_key_actor(api_key_id: uuid.UUID) -> str:
    """The ``actor`` of something done with an API key."""
    return f"api_key:{api_key_id}"


def lender_actor(lender_id: uuid.UUID) -> str:
    """The ``actor`` of a lender's read."""
    return f"lender:{lender_id}"


# ------------------------------------------------------------------------------ lenders


def lender_named(session: Session, name: str, at: datetime) -> Lender:
    """The lender called ``name`` (surrounding spaces ignored), created at ``at`` if new.

    Raises:
        InvalidConsentError: an empty or too long name.
    """
    clean = " ".join(name.split())
    if not clean or len(clean) > MAX_LENDER_NAME or not clean.isprintable():
        raise InvalidConsentError(f"a lender's name is 1 to {MAX_LENDER_NAME} printable characters")
    found = session.scalars(select(Lender).where(Lender.name == clean)).one_or_none()
    if found is not None:
        return found
    lender = Lender(id=uuid.uuid4(), name=clean, created_at=at)
    session.add(lender)
    session.flush()
    return lender


def lenders(session: Session) -> list[Lender]:
    """Every lender, by name."""
    return list(session.scalars(select(Lender).order_by(Lender.name, Lender.id)))


def lender(session: Session, lender_id: uuid.UUID) -> Lender:
    """One lender.

    Raises:
        UnknownLenderError: no such lender.
    """
    found = session.get(Lender, lender_id)
    if found is None:
        raise UnknownLenderError(lender_id)
    return found


# ------------------------------------------------------------------------------ reading


def _active_at(at: datetime) -> object:
    """The condition "granted by ``at`` and not revoked by then"."""
    return and_(Consent.granted_at <= at, or_(Consent.revoked_at.is_(None), Consent.revoked_at > at))


def active_consents(session: Session, merchant_id: uuid.UUID, at: datetime) -> list[Consent]:
    """The merchant's consents active at ``at``: scoring first, then sharing grants by grant time."""
    rows = session.scalars(
        select(Consent)
        .where(Consent.merchant_id == merchant_id, _active_at(at))  # type: ignore[arg-type]
        .order_by(Consent.purpose, Consent.granted_at, Consent.id)
    )
    return list(rows)


def events(session: Session, merchant_id: uuid.UUID, limit: int | None = None) -> list[ConsentEvent]:
    """The merchant's consent log, newest first (reads included)."""
    statement = (
        select(ConsentEvent)
        .where(ConsentEvent.merchant_id == merchant_id)
        .order_by(ConsentEvent.at.desc(), ConsentEvent.id.desc())
    )
    if limit is not None:
        statement = statement.limit(limit)
    return list(session.scalars(statement))


def _active(
    session: Session, merchant_id: uuid.UUID, purpose: Purpose, lender_id: uuid.UUID | None, at: datetime
) -> Consent | None:
    lender_match = Consent.lender_id.is_(None) if lender_id is None else Consent.lender_id == lender_id
    return session.scalars(
        select(Consent)
        .where(
            Consent.merchant_id == merchant_id,
            Consent.purpose == str(purpose),
            lender_match,
            _active_at(at),  # type: ignore[arg-type]
        )
        .order_by(Consent.granted_at)
        .limit(1)
    ).one_or_none()


def merchants_consenting_to_scoring(session: Session, at: datetime) -> list[uuid.UUID]:
    """The merchants whose scoring consent is active at ``at``, sorted: the only ones scored."""
    rows = session.scalars(
        select(Consent.merchant_id)
        .where(Consent.purpose == str(Purpose.SCORING), _active_at(at))  # type: ignore[arg-type]
        .distinct()
    )
    return sorted(rows)


def merchants_sharing_with(session: Session, lender_id: uuid.UUID, at: datetime) -> list[uuid.UUID]:
    """The merchants that share with ``lender_id`` at ``at`` (sharing and scoring both active), sorted."""
    sharing = set(
        session.scalars(
            select(Consent.merchant_id).where(
                Consent.purpose == str(Purpose.SHARING),
                Consent.lender_id == lender_id,
                _active_at(at),  # type: ignore[arg-type]
            )
        )
    )
    return sorted(sharing & set(merchants_consenting_to_scoring(session, at)))


def may_share(session: Session, merchant_id: uuid.UUID, lender_id: uuid.UUID, at: datetime) -> bool:
    """Whether ``lender_id`` may read the merchant's health report at ``at``."""
    return (
        _active(session, merchant_id, Purpose.SCORING, None, at) is not None
        and _active(session, merchant_id, Purpose.SHARING, lender_id, at) is not None
    )


# ------------------------------------------------------------------------------ writing


def _log(
    session: Session,
    merchant_id: uuid.UUID,
    kind: EventKind,
    purpose: Purpose | str,
    lender_id: uuid.UUID | None,
    actor: str,
    at: datetime,
    consent_id: uuid.UUID | None = None,
    what: str | None = None,
) -> None:
    session.add(
        ConsentEvent(
            merchant_id=merchant_id,
            kind=str(kind),
            purpose=str(purpose),
            lender_id=lender_id,
            consent_id=consent_id,
            actor=actor,
            at=at,
            what=what,
        )
    )


def grant(
    session: Session,
    merchant_id: uuid.UUID,
    purpose: Purpose | str,
    lender_id: uuid.UUID | None,
    actor: str,
    at: datetime,
) -> Consent:
    """Grants a consent (or returns the active one: granting twice changes nothing), logged.

    Raises:
        InvalidConsentError: an unknown purpose, sharing without a lender, scoring with one.
        UnknownLenderError: the lender does not exist.
        ScoringConsentRequiredError: sharing while scoring is not consented to.
    """
    try:
        wanted = Purpose(purpose)
    except ValueError:
        raise InvalidConsentError(f"purpose must be one of: {', '.join(p.value for p in Purpose)}") from None
    if (wanted == Purpose.SHARING) != (lender_id is not None):
        raise InvalidConsentError("sharing names a lender (lender_id); scoring names none")
    if lender_id is not None:
        lender(session, lender_id)
    existing = _active(session, merchant_id, wanted, lender_id, at)
    if existing is not None:
        return existing
    if wanted == Purpose.SHARING and _active(session, merchant_id, Purpose.SCORING, None, at) is None:
        raise ScoringConsentRequiredError()
    consent = Consent(
        id=uuid.uuid4(),
        merchant_id=merchant_id,
        purpose=str(wanted),
        lender_id=lender_id,
        granted_at=at,
        granted_by=actor,
    )
    try:
        with session.begin_nested():
            session.add(consent)
    except IntegrityError:
        # A concurrent grant of the same consent committed first (the partial unique indexes):
        # granting is idempotent, so its row is the answer.
        raced = _active(session, merchant_id, wanted, lender_id, at)
        if raced is None:
            raise
        return raced
    _log(session, merchant_id, EventKind.GRANT, wanted, lender_id, actor, at, consent.id)
    session.flush()
    return consent


def _end(session: Session, consent: Consent, actor: str, at: datetime) -> None:
    consent.revoked_at = at
    consent.revoked_by = actor
    _log(
        session,
        consent.merchant_id,
        EventKind.REVOKE,
        consent.purpose,
        consent.lender_id,
        actor,
        at,
        consent.id,
    )


def revoke(
    session: Session, merchant_id: uuid.UUID, consent_id: uuid.UUID, actor: str, at: datetime
) -> Revoked:
    """Revokes one of the merchant's consents at ``at`` (an already revoked one is left as it is);
    revoking scoring also revokes every active sharing grant, each logged.

    Raises:
        ConsentNotFoundError: no such consent of this merchant (another merchant's included).
    """
    consent = session.get(Consent, consent_id, with_for_update=True)
    if consent is None or consent.merchant_id != merchant_id:
        raise ConsentNotFoundError(consent_id)
    if consent.revoked_at is not None and consent.revoked_at <= at:
        return Revoked(consent, ())
    cascaded: list[Consent] = []
    if consent.purpose == Purpose.SCORING:
        cascaded = [c for c in active_consents(session, merchant_id, at) if c.purpose == Purpose.SHARING]
        for sharing in cascaded:
            _end(session, sharing, actor, at)
    _end(session, consent, actor, at)
    session.flush()
    return Revoked(consent, tuple(cascaded))


def record_read(
    session: Session, merchant_id: uuid.UUID, lender_id: uuid.UUID, what: str, at: datetime
) -> None:
    """Logs that ``lender_id`` read ``what`` of the merchant at ``at`` (the merchant sees it).

    Raises:
        InvalidConsentError: ``what`` is empty or too long.
    """
    if not what or len(what) > MAX_WHAT or not what.isprintable():
        raise InvalidConsentError(f"what was read is 1 to {MAX_WHAT} characters")
    _log(
        session,
        merchant_id,
        EventKind.READ,
        Purpose.SHARING,
        lender_id,
        lender_actor(lender_id),
        at,
        what=what,
    )
    session.flush()
