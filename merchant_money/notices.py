"""Notices to a merchant's owners: posted with the change they announce, shown until dismissed."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from accounts import repository as accounts_repository
from merchant_money.errors import NoticeNotFoundError
from merchant_money.models import MerchantNotice, NoticeKind


def post(
    session: Session, merchant_id: uuid.UUID, user_id: uuid.UUID, kind: NoticeKind, detail: str, now: datetime
) -> MerchantNotice:
    """Adds a notice for one owner in the caller's transaction."""
    notice = MerchantNotice(
        id=uuid.uuid4(), merchant_id=merchant_id, user_id=user_id, kind=kind, detail=detail, created_at=now
    )
    session.add(notice)
    return notice


def post_to_owners(
    session: Session, merchant_id: uuid.UUID, kind: NoticeKind, detail: str, now: datetime
) -> int:
    """A notice for every owner of the merchant; how many were posted."""
    owners = accounts_repository.owners(session, merchant_id)
    for owner in owners:
        post(session, merchant_id, owner, kind, detail, now)
    return len(owners)


def open_for(session: Session, merchant_id: uuid.UUID, user_id: uuid.UUID) -> list[MerchantNotice]:
    """The user's notices of this merchant not yet dismissed, newest first."""
    statement = (
        select(MerchantNotice)
        .where(
            MerchantNotice.merchant_id == merchant_id,
            MerchantNotice.user_id == user_id,
            MerchantNotice.dismissed_at.is_(None),
        )
        .order_by(MerchantNotice.created_at.desc())
    )
    return list(session.scalars(statement))


def dismiss(
    session: Session, merchant_id: uuid.UUID, user_id: uuid.UUID, notice_id: uuid.UUID, now: datetime
) -> None:
    """Dismisses one of the user's notices (dismissing twice is harmless).

    Raises:
        NoticeNotFoundError: the notice is not this user's for this merchant.
    """
    notice = session.get(MerchantNotice, notice_id)
    if notice is None or (notice.merchant_id, notice.user_id) != (merchant_id, user_id):
        raise NoticeNotFoundError(notice_id)
    session.execute(
        update(MerchantNotice)
        .where(MerchantNotice.id == notice_id, MerchantNotice.dismissed_at.is_(None))
        .values(dismissed_at=now)
        .execution_options(synchronize_session="fetch")
    )
