"""Property: whatever entries (and replays) are posted, every entry sums to zero per currency,
each balance equals the sum of the postings the model made, and a replay posts nothing twice."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from settlement.ledger import repository
from settlement.ledger.chart import AccountRef
from settlement.ledger.models import AccountKind, Currency, JournalEntry, Posting
from settlement.ledger.service import EntryDraft, Leg, balance_of, post
from tests.settlement.ledger.support import unique

KINDS = (AccountKind.ASSET, AccountKind.LIABILITY, AccountKind.INCOME, AccountKind.EXPENSE)

# An entry: a currency, some (account index, signed amount) legs and the index balancing them.
entry_shapes = st.tuples(
    st.sampled_from([Currency.PI, Currency.IDR]),
    st.lists(
        st.tuples(st.integers(0, 3), st.integers(-(10**15), 10**15).filter(bool)), min_size=1, max_size=4
    ),
    st.integers(0, 3),
)
plans = st.lists(st.tuples(entry_shapes, st.booleans()), min_size=1, max_size=8)


@settings(max_examples=25, deadline=None)
@given(plan=plans)
def test_entries_balance_and_replays_post_nothing(db, plan):
    tag = unique("p")
    refs = {
        (currency, i): AccountRef(f"{tag}:{i}", currency, KINDS[i]) for currency in Currency for i in range(4)
    }
    expected: Counter[AccountRef] = Counter()
    keys: list[str] = []
    with db.sessions() as session, session.begin():
        for n, ((currency, legs, balancing), replay) in enumerate(plan):
            entry_legs = [Leg(refs[currency, i], amount) for i, amount in legs]
            total = sum(amount for _, amount in legs)
            if total:
                entry_legs.append(Leg(refs[currency, balancing], -total))
            if len(entry_legs) < 2:
                continue
            draft = EntryDraft(f"{tag}:{n}", currency, "prop", tuple(entry_legs))
            post(session, draft)
            keys.append(draft.idempotency_key)
            for leg in entry_legs:
                expected[leg.account] += leg.amount
            if replay:
                post(session, draft)  # posts nothing
    with db.sessions() as session:
        entries = session.scalars(select(JournalEntry).where(JournalEntry.idempotency_key.in_(keys))).all()
        assert len(entries) == len(keys)
        for entry in entries:
            assert sum(p.amount for p in entry.postings) == 0
            assert {p.account.currency for p in entry.postings} == {entry.currency}
        posting_count = session.scalar(
            select(func.count()).select_from(Posting).where(Posting.entry_id.in_([e.id for e in entries]))
        )
        assert posting_count == sum(len(e.postings) for e in entries)
        for ref in refs.values():
            signed = expected[ref]
            assert balance_of(session, ref) == (signed if ref.kind.debit_normal else -signed)
        assert repository.entry_imbalances(session) == []
