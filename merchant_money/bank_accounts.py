"""The bank account a merchant's Rupiah payouts go to: read it, change it, keep every version.

A change is the most sensitive thing an owner does after taking money out (a thief who changes
the account takes every later payout), so :class:`merchant_money.service.MoneyService` lets it
happen only with the owner's second factor verified for that action, and announces it to every
owner (a notice on their pages) and to the merchant's webhook endpoints, in the transaction of
the change itself.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from merchant_money import notices
from merchant_money.errors import BankAccountChangedError, BankAccountInvalidError, BankAccountMissingError
from merchant_money.models import MerchantBankAccount, NoticeKind
from settlement.webhooks.events import EventType
from settlement.webhooks.service import emit

_BANK_CODE = re.compile(r"[A-Z0-9]{2,16}")
_ACCOUNT_NUMBER = re.compile(r"[0-9]{6,20}")
_NAME_PUNCTUATION = frozenset(" .,'-")
_HOLDER_MAX = 120


@dataclass(frozen=True)
class BankAccountInput:
    """A bank account as an owner typed it, checked and normalised by :func:`clean`."""

    bank_code: str
    account_number: str
    holder_name: str


def clean(bank_code: str, account_number: str, holder_name: str) -> BankAccountInput:
    """The account in stored form: bank code upper-cased, the number's spaces and dashes dropped,
    the holder's name NFC-normalised with single spaces.

    Indonesian account numbers are 6 to 20 digits (BRI 15, BCA 10, Mandiri 13...); a holder name is
    letters with spaces and the punctuation names use (``. , ' -``), as the bank prints it.

    Raises:
        BankAccountInvalidError: a field is malformed (the message says which and why).
    """
    code = bank_code.strip().upper()
    if not _BANK_CODE.fullmatch(code):
        raise BankAccountInvalidError("bank_code", "must be 2 to 16 letters or digits (e.g. BRI, BCA, 002)")
    number = re.sub(r"[\s-]", "", account_number)
    if not _ACCOUNT_NUMBER.fullmatch(number):
        raise BankAccountInvalidError("account_number", "must be 6 to 20 digits")
    name = " ".join(unicodedata.normalize("NFC", holder_name).split())
    if not name or len(name) > _HOLDER_MAX:
        raise BankAccountInvalidError("holder_name", f"must be 1 to {_HOLDER_MAX} characters")
    if not any(ch.isalpha() for ch in name) or any(
        not (ch.isalpha() or ch in _NAME_PUNCTUATION) for ch in name
    ):
        raise BankAccountInvalidError("holder_name", "may hold only letters, spaces and . , ' -")
    return BankAccountInput(code, number, name)


def current(session: Session, merchant_id: uuid.UUID) -> MerchantBankAccount | None:
    """The merchant's current bank account, if it has one."""
    statement = select(MerchantBankAccount).where(MerchantBankAccount.current_for == merchant_id)
    return session.scalars(statement).first()


def require_current(session: Session, merchant_id: uuid.UUID) -> MerchantBankAccount:
    """The merchant's current bank account.

    Raises:
        BankAccountMissingError: none on file.
    """
    account = current(session, merchant_id)
    if account is None:
        raise BankAccountMissingError(merchant_id)
    return account


def history(session: Session, merchant_id: uuid.UUID) -> list[MerchantBankAccount]:
    """Every version of the merchant's account, newest first."""
    statement = (
        select(MerchantBankAccount)
        .where(MerchantBankAccount.merchant_id == merchant_id)
        .order_by(MerchantBankAccount.created_at.desc(), MerchantBankAccount.id)
    )
    return list(session.scalars(statement))


def change(
    session: Session,
    merchant_id: uuid.UUID,
    account: BankAccountInput,
    changed_by: uuid.UUID | None,
    now: datetime,
    *,
    replaces: uuid.UUID | None = None,
) -> MerchantBankAccount:
    """Makes ``account`` the merchant's current one, keeping the previous version, and announces
    it (a notice to every owner, a ``merchant.bank_account_changed`` webhook event), all in the
    caller's transaction.

    Args:
        replaces: The id of the account the form showed (None: it showed none); a change made
            meanwhile by someone else is refused instead of silently overwritten.

    Raises:
        BankAccountChangedError: the current account is not ``replaces`` (a concurrent change).
    """
    old = current(session, merchant_id)
    if (old.id if old else None) != replaces:
        raise BankAccountChangedError(merchant_id)
    if old is not None:
        retired = session.execute(
            update(MerchantBankAccount)
            .where(MerchantBankAccount.id == old.id, MerchantBankAccount.current_for == merchant_id)
            .values(current_for=None, replaced_at=now)
            .execution_options(synchronize_session="fetch")
        )
        if getattr(retired, "rowcount", 0) != 1:
            raise BankAccountChangedError(merchant_id)
    row = MerchantBankAccount(
        id=uuid.uuid4(),
        merchant_id=merchant_id,
        bank_code=account.bank_code,
        account_number=account.account_number,
        holder_name=account.holder_name,
        current_for=merchant_id,
        changed_by_user_id=changed_by,
        created_at=now,
    )
    try:
        with session.begin_nested():  # a concurrent first account loses on the unique current_for
            session.add(row)
            session.flush()
    except IntegrityError:
        raise BankAccountChangedError(merchant_id) from None
    _announce(session, merchant_id, row, now)
    return row


def _announce(session: Session, merchant_id: uuid.UUID, row: MerchantBankAccount, now: datetime) -> None:
    """A notice to every owner and one webhook event, in the change's transaction."""
    notices.post_to_owners(session, merchant_id, NoticeKind.BANK_ACCOUNT_CHANGED, row.masked, now)
    emit(
        session,
        merchant_id,
        EventType.MERCHANT_BANK_ACCOUNT_CHANGED,
        {
            "bank_code": row.bank_code,
            "account_last4": row.account_number[-4:],
            "holder_name": row.holder_name,
            "changed_by_user_id": str(row.changed_by_user_id) if row.changed_by_user_id else "",
        },
        dedupe_key=f"bank_account:{row.id}",
        now=now,
    )


def change_confirmed(
    sessions: sessionmaker[Session],
    merchant_id: uuid.UUID,
    entered: tuple[str, str, str],
    changed_by: uuid.UUID,
    replaces: uuid.UUID | None,
    confirm: Callable[[], object],
    now: datetime,
) -> uuid.UUID:
    """An owner's change from the portal: the fields are checked first (a typo does not use up the
    code), then ``confirm`` verifies the second factor, then :func:`change` commits.

    Args:
        entered: Bank code, account number and holder name as typed.

    Returns:
        The new current account's id.

    Raises:
        BankAccountInvalidError: a field is malformed (the code is not used).
        SecondFactorRequiredError, PermissionDeniedError: from ``confirm``; nothing changed.
        BankAccountChangedError: another change was made meanwhile.
    """
    account = clean(*entered)
    confirm()
    with sessions.begin() as session:
        return change(session, merchant_id, account, changed_by, now, replaces=replaces).id
