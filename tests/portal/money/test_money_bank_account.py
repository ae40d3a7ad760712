"""The bank account on file: validated, changed only with a fresh second factor, every version kept,
announced to every owner and to the merchant's webhooks; a cashier changes nothing."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from accounts.errors import PermissionDeniedError, SecondFactorRequiredError
from accounts.models import Permission
from accounts.service import AccountService
from merchant_money import bank_accounts, notices
from merchant_money.errors import BankAccountChangedError, BankAccountInvalidError
from merchant_money.models import MerchantBankAccount, NoticeKind
from settlement.webhooks.models import WebhookEvent
from tests.accounts.conftest import PASSWORD, address, email
from tests.api.support import Db
from tests.portal.money.conftest import Person, code, confirm, sign_up
from tests.settlement.ledger.support import Clock
from tests.support.factories import add_merchant

CHANGE = Permission.CHANGE_BANK_ACCOUNT


@pytest.mark.parametrize(
    ("entered", "field"),
    [
        (("B", "1234567", "Sri"), "bank_code"),
        (("BRI!", "1234567", "Sri"), "bank_code"),
        (("BRI", "12345", "Sri"), "account_number"),
        (("BRI", "1" * 21, "Sri"), "account_number"),
        (("BRI", "12a4567", "Sri"), "account_number"),
        (("BRI", "1234567", "   "), "holder_name"),
        (("BRI", "1234567", "Sri\u202eWahyuni"), "holder_name"),
        (("BRI", "1234567", "Sri <b>"), "holder_name"),
        (("BRI", "1234567", "x" * 121), "holder_name"),
    ],
)
def test_a_malformed_account_is_refused_with_the_field_named(
    entered: tuple[str, str, str], field: str
) -> None:
    with pytest.raises(BankAccountInvalidError) as refused:
        bank_accounts.clean(*entered)
    assert refused.value.details["field"] == field and refused.value.status_code == 422


def test_an_account_is_normalised() -> None:
    cleaned = bank_accounts.clean(" bca ", "0123 4567-89", "  Sri   Wahyuni, S.E. ")
    assert (cleaned.bank_code, cleaned.account_number, cleaned.holder_name) == (
        "BCA",
        "0123456789",
        "Sri Wahyuni, S.E.",
    )


def owners_and_cashier(
    db: Db, accounts: AccountService, clock: Clock
) -> tuple[uuid.UUID, Person, Person, Person]:
    merchant_id = add_merchant(db.sessions)
    first, second = sign_up(accounts, merchant_id, clock), sign_up(accounts, merchant_id, clock)
    mail = email()
    invitation = accounts.invite_cashier(first.token, merchant_id, mail)
    cashier_id = accounts.accept_invitation(invitation.token, PASSWORD, "Mas Budi")
    cashier = Person(cashier_id, accounts.sign_in(mail, PASSWORD, address()).token, None)
    return merchant_id, first, second, cashier


def test_a_change_needs_the_code_keeps_history_and_tells_every_owner(
    db: Db, accounts: AccountService, clock: Clock
) -> None:
    merchant_id, first, second, _ = owners_and_cashier(db, accounts, clock)
    entered = ("BRI", "012301000456501", "Sri Wahyuni")
    original = bank_accounts.change_confirmed(
        db.sessions,
        merchant_id,
        entered,
        first.user_id,
        None,
        confirm(accounts, first, merchant_id, code(first, clock), CHANGE),
        clock.now,
    )
    clock.advance(60)
    replaced = bank_accounts.change_confirmed(
        db.sessions,
        merchant_id,
        ("BCA", "0987654321", "Sri Wahyuni"),
        second.user_id,
        original,
        confirm(accounts, second, merchant_id, code(second, clock), CHANGE),
        clock.now,
    )
    with db.sessions() as session:
        current = bank_accounts.require_current(session, merchant_id)
        assert (current.id, current.bank_code, current.changed_by_user_id) == (
            replaced,
            "BCA",
            second.user_id,
        )
        versions = bank_accounts.history(session, merchant_id)
        assert [v.id for v in versions] == [replaced, original]
        assert versions[1].replaced_at is not None and versions[1].current_for is None
        for owner in (first, second):
            shown = notices.open_for(session, merchant_id, owner.user_id)
            assert [(n.kind, n.detail) for n in shown] == [
                (NoticeKind.BANK_ACCOUNT_CHANGED, "BCA ••••4321"),
                (NoticeKind.BANK_ACCOUNT_CHANGED, "BRI ••••6501"),
            ]
        events = session.scalars(
            select(WebhookEvent)
            .where(WebhookEvent.merchant_id == str(merchant_id))
            .order_by(WebhookEvent.created_at)
        ).all()
        assert [(e.type, e.data["account_last4"]) for e in events] == [
            ("merchant.bank_account_changed", "6501"),
            ("merchant.bank_account_changed", "4321"),
        ]
    # a notice dismissed by one owner stays for the other
    with db.sessions.begin() as session:
        notice = notices.open_for(session, merchant_id, first.user_id)[0]
        notices.dismiss(session, merchant_id, first.user_id, notice.id, clock.now)
    with db.sessions() as session:
        assert len(notices.open_for(session, merchant_id, first.user_id)) == 1
        assert len(notices.open_for(session, merchant_id, second.user_id)) == 2


def versions(db: Db, merchant_id: uuid.UUID) -> list[tuple[uuid.UUID, uuid.UUID | None]]:
    with db.sessions() as session:
        rows = session.scalars(
            select(MerchantBankAccount).where(MerchantBankAccount.merchant_id == merchant_id)
        )
        return sorted((r.id, r.current_for) for r in rows)


def test_without_or_with_a_wrong_code_or_as_a_cashier_nothing_changes(
    db: Db, accounts: AccountService, clock: Clock
) -> None:
    merchant_id, owner, _, cashier = owners_and_cashier(db, accounts, clock)
    entered = ("BRI", "012301000456501", "Sri Wahyuni")
    attempts = [
        (confirm(accounts, owner, merchant_id, None, CHANGE), SecondFactorRequiredError),
        (confirm(accounts, owner, merchant_id, "000000", CHANGE), SecondFactorRequiredError),
        (confirm(accounts, cashier, merchant_id, "123456", CHANGE), PermissionDeniedError),
    ]
    for check, error in attempts:
        with pytest.raises(error):
            bank_accounts.change_confirmed(
                db.sessions, merchant_id, entered, owner.user_id, None, check, clock.now
            )
    assert versions(db, merchant_id) == []
    with db.sessions() as session:
        assert notices.open_for(session, merchant_id, owner.user_id) == []


def test_a_malformed_account_does_not_use_up_the_code(db: Db, accounts: AccountService, clock: Clock) -> None:
    merchant_id, owner, _, _ = owners_and_cashier(db, accounts, clock)
    value = code(owner, clock)
    with pytest.raises(BankAccountInvalidError):
        bank_accounts.change_confirmed(
            db.sessions,
            merchant_id,
            ("BRI", "12", "Sri"),
            owner.user_id,
            None,
            confirm(accounts, owner, merchant_id, value, CHANGE),
            clock.now,
        )
    bank_accounts.change_confirmed(
        db.sessions,
        merchant_id,
        ("BRI", "1234567", "Sri"),
        owner.user_id,
        None,
        confirm(accounts, owner, merchant_id, value, CHANGE),
        clock.now,
    )
    assert len(versions(db, merchant_id)) == 1


def test_a_change_made_meanwhile_is_not_overwritten(db: Db, accounts: AccountService, clock: Clock) -> None:
    merchant_id, first, second, _ = owners_and_cashier(db, accounts, clock)
    with db.sessions.begin() as session:
        shown = bank_accounts.change(
            session, merchant_id, bank_accounts.clean("BRI", "1234567", "Sri"), first.user_id, clock.now
        ).id
    with db.sessions.begin() as session:  # the other owner changes it while the first's form is open
        bank_accounts.change(
            session,
            merchant_id,
            bank_accounts.clean("BNI", "7654321", "Sri"),
            second.user_id,
            clock.now,
            replaces=shown,
        )
    before = versions(db, merchant_id)
    with pytest.raises(BankAccountChangedError), db.sessions.begin() as session:
        bank_accounts.change(
            session,
            merchant_id,
            bank_accounts.clean("BCA", "1111111", "Sri"),
            first.user_id,
            clock.now,
            replaces=shown,
        )
    assert versions(db, merchant_id) == before
