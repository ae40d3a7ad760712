"""Posting remembers committed accounts only: fewer statements, never a rolled-back account id."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import Engine, event

from settlement.ledger.account_cache import ACCOUNTS
from settlement.ledger.chart import AccountRef
from settlement.ledger.errors import AccountKindConflictError
from settlement.ledger.models import AccountKind, Currency
from settlement.ledger.service import EntryDraft, balance_of, credit, debit, post
from tests.settlement.ledger.support import unique


def pair() -> tuple[AccountRef, AccountRef]:
    tag = unique("cache")
    return (
        AccountRef(f"{tag}:wallet", Currency.PI, AccountKind.ASSET),
        AccountRef(f"{tag}:owed", Currency.PI, AccountKind.LIABILITY),
    )


def draft(wallet: AccountRef, owed: AccountRef, amount: int) -> EntryDraft:
    return EntryDraft(unique("k"), Currency.PI, "test", (debit(wallet, amount), credit(owed, amount)))


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn, _cursor, statement, _params, _context, _many) -> None:  # type: ignore[no-untyped-def]
        seen.append(statement.split()[0].upper())

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


class BoomError(Exception):
    pass


def test_posting_on_committed_accounts_is_two_inserts(db):
    wallet, owed = pair()
    with db.sessions() as session, session.begin():
        post(session, draft(wallet, owed, 5))
    with statements(db.engine) as seen, db.sessions() as session, session.begin():
        post(session, draft(wallet, owed, 7))
    assert seen == ["INSERT", "INSERT"]
    with db.sessions() as session:
        assert balance_of(session, wallet) == 12


def test_accounts_of_a_rolled_back_transaction_are_not_remembered(db):
    wallet, owed = pair()
    with pytest.raises(BoomError), db.sessions() as session, session.begin():
        post(session, draft(wallet, owed, 5))  # creates both accounts, then everything rolls back
        raise BoomError
    # Had the rolled-back ids been cached, these postings would break the accounts' foreign key.
    with db.sessions() as session, session.begin():
        post(session, draft(wallet, owed, 3))
    with db.sessions() as session:
        assert balance_of(session, wallet) == 3


def test_accounts_of_a_rolled_back_savepoint_are_not_remembered(db):
    wallet, owed = pair()
    other_wallet, other_owed = pair()
    with db.sessions() as session, session.begin():
        savepoint = session.begin_nested()
        post(session, draft(wallet, owed, 5))
        savepoint.rollback()
        post(session, draft(other_wallet, other_owed, 1))  # the outer transaction commits
    with db.sessions() as session, session.begin():
        post(session, draft(wallet, owed, 4))
    with db.sessions() as session:
        assert (balance_of(session, wallet), balance_of(session, other_wallet)) == (4, 1)


def test_a_session_closed_without_commit_remembers_nothing(db):
    wallet, owed = pair()
    with db.sessions() as session:
        post(session, draft(wallet, owed, 5))  # never committed
    with db.sessions() as session, session.begin():
        post(session, draft(wallet, owed, 2))
    with db.sessions() as session:
        assert balance_of(session, owed) == 2


def test_a_remembered_account_still_refuses_another_kind(db):
    wallet, owed = pair()
    with db.sessions() as session, session.begin():
        post(session, draft(wallet, owed, 5))
    renamed = AccountRef(wallet.code, wallet.currency, AccountKind.LIABILITY)
    with db.sessions() as session, pytest.raises(AccountKindConflictError, match="exists as asset"):
        post(session, draft(renamed, owed, 1))


def test_a_forgotten_cache_falls_back_to_the_database(db):
    wallet, owed = pair()
    with db.sessions() as session, session.begin():
        first = post(session, draft(wallet, owed, 5))
        first_accounts = sorted(p.account_id for p in first.postings)
    ACCOUNTS.clear()
    with db.sessions() as session, session.begin():
        second = post(session, draft(wallet, owed, 6))
        assert sorted(p.account_id for p in second.postings) == first_accounts
