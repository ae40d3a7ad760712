"""SQL of merchant accounts: lookups and the conditional updates every one-use secret relies on."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from accounts.models import (
    AccountEvent,
    Invitation,
    InvitationStatus,
    LoginThrottle,
    Membership,
    MerchantUser,
    RecoveryCode,
    WebSession,
)
from common.sql.helpers import insert_or_ignore


def _one_row(result: object) -> bool:
    return int(getattr(result, "rowcount", 0)) == 1


# ---------------------------------------------------------------------- users and roles


def user(session: Session, user_id: uuid.UUID) -> MerchantUser | None:
    """The user with this id."""
    return session.get(MerchantUser, user_id)


def user_by_email(session: Session, email: str) -> MerchantUser | None:
    """The user with this (lower-cased) e-mail."""
    return session.scalars(select(MerchantUser).where(MerchantUser.email == email)).first()


def role(session: Session, user_id: uuid.UUID, merchant_id: uuid.UUID) -> str | None:
    """The user's role for the merchant, or None."""
    statement = select(Membership.role).where(
        Membership.user_id == user_id, Membership.merchant_id == merchant_id
    )
    return session.scalars(statement).first()


def add_membership(
    session: Session, user_id: uuid.UUID, merchant_id: uuid.UUID, role: str, at: datetime
) -> bool:
    """Gives the user a role for the merchant unless it has one; whether it was added."""
    values = {"user_id": user_id, "merchant_id": merchant_id, "role": role, "created_at": at}
    return insert_or_ignore(session, Membership.__table__, values, ["user_id", "merchant_id"])  # type: ignore[arg-type]


def remove_membership(session: Session, user_id: uuid.UUID, merchant_id: uuid.UUID) -> bool:
    """Removes the user's role for the merchant; whether it had one."""
    result = session.execute(
        delete(Membership)
        .where(Membership.user_id == user_id, Membership.merchant_id == merchant_id)
        .execution_options(synchronize_session=False)
    )
    return _one_row(result)


def owners(session: Session, merchant_id: uuid.UUID, *, lock: bool = False) -> list[uuid.UUID]:
    """The merchant's owners (their membership rows locked when ``lock``)."""
    statement = select(Membership).where(Membership.merchant_id == merchant_id, Membership.role == "owner")
    if lock:
        statement = statement.with_for_update()
    return [row.user_id for row in session.scalars(statement)]


def memberships(session: Session, user_id: uuid.UUID) -> list[Membership]:
    """The user's roles, one per merchant."""
    return list(session.scalars(select(Membership).where(Membership.user_id == user_id)))


def users_with_seed_under(session: Session, master_key_ids: list[str], limit: int) -> list[MerchantUser]:
    """Up to ``limit`` users whose TOTP seed is sealed under one of ``master_key_ids``, locked."""
    statement = (
        select(MerchantUser)
        .where(or_(*(MerchantUser.totp_secret.like(f"v1:{key_id}:%") for key_id in master_key_ids)))
        .order_by(MerchantUser.id)
        .limit(limit)
        .with_for_update()
    )
    return list(session.scalars(statement))


# ---------------------------------------------------------------------- invitations


def invitation_by_token(session: Session, token_hash: str) -> Invitation | None:
    """The invitation whose token hashes to ``token_hash``."""
    return session.scalars(select(Invitation).where(Invitation.token_hash == token_hash)).first()


def accept_invitation(session: Session, invitation_id: uuid.UUID, user_id: uuid.UUID, now: datetime) -> bool:
    """Moves a pending, unexpired invitation to accepted; False if another acceptance won or it lapsed."""
    result = session.execute(
        update(Invitation)
        .where(
            Invitation.id == invitation_id,
            Invitation.status == InvitationStatus.PENDING,
            Invitation.expires_at > now,
        )
        .values(status=InvitationStatus.ACCEPTED, accepted_by_user_id=user_id, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return _one_row(result)


def revoke_invitation(session: Session, invitation_id: uuid.UUID, now: datetime) -> bool:
    """Moves a pending invitation to revoked; False when it was not pending."""
    result = session.execute(
        update(Invitation)
        .where(Invitation.id == invitation_id, Invitation.status == InvitationStatus.PENDING)
        .values(status=InvitationStatus.REVOKED, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return _one_row(result)


# ---------------------------------------------------------------------- sessions


def session_by_token(session: Session, token_hash: str) -> WebSession | None:
    """The web session whose id hashes to ``token_hash``."""
    return session.scalars(select(WebSession).where(WebSession.token_hash == token_hash)).first()


def touch_session(session: Session, session_id: uuid.UUID, now: datetime, idle_since: datetime) -> bool:
    """Records use of a live session; False when it is revoked, past its absolute expiry or idle."""
    result = session.execute(
        update(WebSession)
        .where(
            WebSession.id == session_id,
            WebSession.revoked_at.is_(None),
            WebSession.expires_at > now,
            WebSession.last_seen_at > idle_since,
        )
        .values(last_seen_at=now)
        .execution_options(synchronize_session=False)
    )
    return _one_row(result)


def revoke_session(session: Session, session_id: uuid.UUID, now: datetime) -> bool:
    """Ends one session; False when it was ended already."""
    result = session.execute(
        update(WebSession)
        .where(WebSession.id == session_id, WebSession.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    return _one_row(result)


def revoke_sessions_of(session: Session, user_id: uuid.UUID, now: datetime) -> int:
    """Ends every live session of the user; how many."""
    result = session.execute(
        update(WebSession)
        .where(WebSession.user_id == user_id, WebSession.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0))


def mark_second_factor(session: Session, session_id: uuid.UUID, now: datetime) -> None:
    """Records that a second factor was just verified in this session."""
    session.execute(
        update(WebSession)
        .where(WebSession.id == session_id)
        .values(second_factor_at=now)
        .execution_options(synchronize_session=False)
    )


# ---------------------------------------------------------------------- second factor


def use_totp_step(session: Session, user_id: uuid.UUID, step: int) -> bool:
    """Records ``step`` as the user's last used TOTP step if it is newer; False: replay (or a race lost)."""
    result = session.execute(
        update(MerchantUser)
        .where(
            MerchantUser.id == user_id,
            or_(MerchantUser.totp_last_step.is_(None), MerchantUser.totp_last_step < step),
        )
        .values(totp_last_step=step)
        .execution_options(synchronize_session=False)
    )
    return _one_row(result)


def use_recovery_code(session: Session, user_id: uuid.UUID, code_hash: str, now: datetime) -> bool:
    """Marks the user's unused recovery code with this hash used; False when none is."""
    result = session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user_id,
            RecoveryCode.code_hash == code_hash,
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return _one_row(result)


def unused_recovery_codes(session: Session, user_id: uuid.UUID) -> int:
    """How many recovery codes the user has left."""
    statement = select(RecoveryCode.id).where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))
    return len(list(session.scalars(statement)))


# ---------------------------------------------------------------------- throttling


def throttle(session: Session, key: str) -> LoginThrottle | None:
    """The throttle row of an account or address key."""
    return session.get(LoginThrottle, key)


def count_failure(session: Session, key: str, now: datetime) -> int:
    """Adds one failure to ``key`` atomically; the new count."""
    insert_or_ignore(
        session,
        LoginThrottle.__table__,  # type: ignore[arg-type]
        {"key": key, "failures": 0, "blocked_until": None, "updated_at": now},
        ["key"],
    )
    session.execute(
        update(LoginThrottle)
        .where(LoginThrottle.key == key)
        .values(failures=LoginThrottle.failures + 1, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    failures = session.scalars(select(LoginThrottle.failures).where(LoginThrottle.key == key)).one()
    return int(failures)


def block(session: Session, key: str, until: datetime) -> None:
    """Refuses sign-ins on ``key`` until ``until`` (never shortens a longer block)."""
    session.execute(
        update(LoginThrottle)
        .where(
            LoginThrottle.key == key,
            or_(LoginThrottle.blocked_until.is_(None), LoginThrottle.blocked_until < until),
        )
        .values(blocked_until=until)
        .execution_options(synchronize_session=False)
    )


def clear(session: Session, key: str) -> None:
    """Forgets the failures of ``key`` (after a successful sign-in of that account)."""
    session.execute(
        update(LoginThrottle)
        .where(LoginThrottle.key == key)
        .values(failures=0, blocked_until=None)
        .execution_options(synchronize_session=False)
    )


# ---------------------------------------------------------------------- events


def record(
    session: Session,
    kind: str,
    detail: str,
    at: datetime,
    *,
    user_id: uuid.UUID | None = None,
    merchant_id: uuid.UUID | None = None,
) -> None:
    """Appends one security event."""
    session.add(AccountEvent(user_id=user_id, merchant_id=merchant_id, kind=kind, detail=detail, at=at))


def events(session: Session, user_id: uuid.UUID) -> list[AccountEvent]:
    """The user's security events, oldest first."""
    statement = select(AccountEvent).where(AccountEvent.user_id == user_id).order_by(AccountEvent.id)
    return list(session.scalars(statement))
