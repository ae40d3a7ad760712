"""Races on PostgreSQL: the same idempotency key posted from two connections at once."""

from __future__ import annotations

import threading

from sqlalchemy import select

from settlement.ledger.chart import AccountRef
from settlement.ledger.models import AccountKind, Currency, JournalEntry
from settlement.ledger.service import EntryDraft, balance_of, credit, debit, post
from tests.settlement.ledger.support import unique


def test_concurrent_replays_of_one_key_post_one_entry(pg_db):
    tag = unique("race")
    wallet = AccountRef(f"{tag}:wallet", Currency.PI, AccountKind.ASSET)
    owed = AccountRef(f"{tag}:owed", Currency.PI, AccountKind.LIABILITY)
    draft = EntryDraft(f"{tag}:k", Currency.PI, "race", (debit(wallet, 7), credit(owed, 7)))
    barrier = threading.Barrier(4)
    ids: list[int] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            with pg_db.sessions() as session, session.begin():
                barrier.wait()
                ids.append(post(session, draft).id)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert len(set(ids)) == 1
    with pg_db.sessions() as session:
        assert (
            len(
                session.scalars(
                    select(JournalEntry).where(JournalEntry.idempotency_key == draft.idempotency_key)
                ).all()
            )
            == 1
        )
        assert balance_of(session, wallet) == 7
