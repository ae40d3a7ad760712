"""The ledger's rules: balanced single-currency entries, idempotency, derived balances."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError

from common.errors import ValidationError
from settlement.ledger import repository
from settlement.ledger.chart import AccountRef
from settlement.ledger.errors import (
    AccountKindConflictError,
    AccountNotFoundError,
    CurrencyMismatchError,
    IdempotencyConflictError,
    UnbalancedEntryError,
)
from settlement.ledger.models import AccountKind, Currency, JournalEntry, Posting
from settlement.ledger.service import (
    EntryDraft,
    Leg,
    balance,
    balance_of,
    credit,
    debit,
    ensure_account,
    post,
)
from tests.settlement.ledger.support import unique


def accounts(currency: Currency = Currency.PI) -> tuple[AccountRef, AccountRef, AccountRef]:
    """A fresh asset, liability and income account."""
    tag = unique("t")
    return (
        AccountRef(f"{tag}:wallet", currency, AccountKind.ASSET),
        AccountRef(f"{tag}:owed", currency, AccountKind.LIABILITY),
        AccountRef(f"{tag}:fees", currency, AccountKind.INCOME),
    )


def draft(key: str, *legs: Leg, currency: Currency = Currency.PI) -> EntryDraft:
    return EntryDraft(key, currency, "test", tuple(legs), reference="ref")


def test_balanced_entry_is_posted_and_balances_are_derived(db, clock):
    wallet, owed, fees = accounts()
    with db.sessions() as session, session.begin():
        entry = post(
            session, draft(unique("k"), debit(wallet, 100), credit(owed, 97), credit(fees, 3)), now=clock()
        )
        assert sorted(p.amount for p in entry.postings) == [-97, -3, 100]
    with db.sessions() as session:
        assert balance_of(session, wallet) == 100  # debit-normal
        assert balance_of(session, owed) == 97  # credit-normal
        assert balance_of(session, fees) == 3
        assert repository.entry_imbalances(session) == []


@pytest.mark.parametrize(
    "legs",
    [
        lambda w, o: (debit(w, 100), credit(o, 99)),
        lambda w, o: (debit(w, 100),),
        lambda w, o: (),
    ],
)
def test_unbalanced_entries_are_refused_and_write_nothing(db, legs):
    wallet, owed, _ = accounts()
    key = unique("k")
    with db.sessions() as session, pytest.raises(UnbalancedEntryError, match=key):
        post(session, draft(key, *legs(wallet, owed)))
    with db.sessions() as session:
        assert repository.entry_by_key(session, key) is None


def test_an_entry_holds_one_currency(db):
    wallet, _, _ = accounts(Currency.PI)
    _, owed_idr, _ = accounts(Currency.IDR)
    with db.sessions() as session, pytest.raises(CurrencyMismatchError, match="one entry holds one currency"):
        post(session, draft(unique("k"), debit(wallet, 5), credit(owed_idr, 5)))


def test_database_refuses_a_posting_in_another_currency_than_its_account(db):
    wallet, owed, _ = accounts(Currency.PI)
    with db.sessions() as session, session.begin():
        entry = post(session, draft(unique("k"), debit(wallet, 5), credit(owed, 5)))
        entry_id = entry.id
        account_id = entry.postings[0].account_id
    with db.sessions() as session, pytest.raises(IntegrityError):
        session.execute(
            insert(Posting).values(entry_id=entry_id, account_id=account_id, currency="IDR", amount=1)
        )
        session.flush()


@pytest.mark.parametrize("amount", [0, -5, True, 1.5])
def test_debit_and_credit_take_positive_integers(amount):
    wallet, _, _ = accounts()
    with pytest.raises(ValidationError, match="positive integer"):
        debit(wallet, amount)


def test_replay_returns_the_first_entry_and_posts_nothing(db):
    wallet, owed, _ = accounts()
    key = unique("k")
    with db.sessions() as session, session.begin():
        first = post(session, draft(key, debit(wallet, 10), credit(owed, 10)))
    with db.sessions() as session, session.begin():
        # Leg order and description do not matter for a replay.
        replay = EntryDraft(key, Currency.PI, "test", (credit(owed, 10), debit(wallet, 10)), "ref", "again")
        assert post(session, replay).id == first.id
    with db.sessions() as session:
        assert balance_of(session, wallet) == 10
        assert (
            len(session.scalars(select(JournalEntry).where(JournalEntry.idempotency_key == key)).all()) == 1
        )


def test_same_key_with_other_content_is_a_conflict(db):
    wallet, owed, _ = accounts()
    key = unique("k")
    with db.sessions() as session, session.begin():
        post(session, draft(key, debit(wallet, 10), credit(owed, 10)))
    with db.sessions() as session, pytest.raises(IdempotencyConflictError, match=key) as caught:
        post(session, draft(key, debit(wallet, 11), credit(owed, 11)))
    assert caught.value.status_code == 409


def test_balance_at_a_point_in_time(db, clock):
    wallet, owed, _ = accounts()
    ids = []
    with db.sessions() as session, session.begin():
        for amount in (10, 20, 30):
            ids.append(
                post(session, draft(unique("k"), debit(wallet, amount), credit(owed, amount)), now=clock()).id
            )
            clock.advance(60)
    start = clock.now - timedelta(seconds=180)
    with db.sessions() as session:
        assert balance_of(session, wallet, as_of_entry_id=ids[0]) == 10
        assert balance_of(session, wallet, as_of_entry_id=ids[1]) == 30
        assert balance_of(session, owed, as_of=start + timedelta(seconds=61)) == 30
        assert balance_of(session, owed, as_of=start - timedelta(seconds=1)) == 0
        assert balance_of(session, owed) == 60


def test_unknown_account_balance_is_not_found(db):
    with db.sessions() as session, pytest.raises(AccountNotFoundError, match="nope"):
        balance(session, "nope", Currency.PI)


def test_account_kind_is_fixed_once_created(db):
    wallet, _, _ = accounts()
    with db.sessions() as session, session.begin():
        ensure_account(session, wallet)
    with db.sessions() as session, pytest.raises(AccountKindConflictError, match="exists as asset"):
        ensure_account(session, AccountRef(wallet.code, wallet.currency, AccountKind.LIABILITY))
