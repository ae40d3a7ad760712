"""Posting balanced, idempotent journal entries and reading derived balances.

Rules every entry obeys (checked here before anything is written):

* at least two postings, all in the entry's one currency, each a non-zero integer of minor units;
* the postings sum to zero (debits = credits);
* the entry and its postings are written in the caller's transaction (one ``INSERT`` each), so
  they commit or roll back together;
* the idempotency key is unique: posting the same key again returns the first entry and writes
  nothing; the same key with other content is a :class:`IdempotencyConflictError`.

Balances are never stored: :func:`balance` sums postings, optionally up to an entry id or a time.
Entry ids grow in insertion order; under concurrent writers an id can commit after a higher one,
so an ``as_of_entry_id`` balance is exact for entries committed by the time it is read.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from common.errors import ValidationError
from common.sql.helpers import insert_or_ignore, utcnow
from settlement.ledger import account_cache, repository
from settlement.ledger.chart import AccountRef
from settlement.ledger.errors import (
    AccountKindConflictError,
    AccountNotFoundError,
    CurrencyMismatchError,
    IdempotencyConflictError,
    UnbalancedEntryError,
)
from settlement.ledger.models import AccountKind, Currency, JournalEntry, LedgerAccount


@dataclass(frozen=True, slots=True)
class Leg:
    """One posting to be written: a signed amount (debit > 0, credit < 0) on an account."""

    account: AccountRef
    amount: int


def debit(account: AccountRef, amount: int) -> Leg:
    """A debit of ``amount`` (> 0) minor units."""
    return Leg(account, _positive(amount))


def credit(account: AccountRef, amount: int) -> Leg:
    """A credit of ``amount`` (> 0) minor units."""
    return Leg(account, -_positive(amount))


def _positive(amount: int) -> int:
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise ValidationError(f"a posting amount must be a positive integer of minor units, got {amount!r}")
    return amount


@dataclass(frozen=True, slots=True)
class EntryDraft:
    """An entry to post: what moved (legs), why (kind, reference) and its idempotency key."""

    idempotency_key: str
    currency: Currency
    kind: str
    legs: tuple[Leg, ...]
    reference: str | None = None
    description: str = field(default="", compare=False)

    def content_hash(self) -> str:
        """SHA-256 of the content a replay must repeat (leg order and description do not count)."""
        legs = sorted([leg.account.code, leg.amount] for leg in self.legs)
        canonical = json.dumps(
            {"currency": str(self.currency), "kind": self.kind, "reference": self.reference, "legs": legs},
            sort_keys=True,
            separators=(",", ":"),
        )
        return hashlib.sha256(canonical.encode()).hexdigest()

    def validate(self) -> None:
        """Checks the rules of an entry.

        Raises:
            ValidationError: empty key, or a leg amount that is not a non-zero integer.
            CurrencyMismatchError: a leg's account is in another currency.
            UnbalancedEntryError: fewer than two legs, or they do not sum to zero.
        """
        if not self.idempotency_key:
            raise ValidationError("a journal entry needs an idempotency key")
        for leg in self.legs:
            if isinstance(leg.amount, bool) or not isinstance(leg.amount, int) or leg.amount == 0:
                raise ValidationError(
                    f"journal entry {self.idempotency_key!r}: posting to {leg.account.code!r} must be a "
                    f"non-zero integer of minor units, got {leg.amount!r}"
                )
            if leg.account.currency != self.currency:
                raise CurrencyMismatchError(
                    self.idempotency_key, leg.account.code, leg.account.currency, self.currency
                )
        total = sum(leg.amount for leg in self.legs)
        if len(self.legs) < 2 or total != 0:
            raise UnbalancedEntryError(self.idempotency_key, self.currency, total, len(self.legs))


def ensure_account(session: Session, ref: AccountRef, *, now: datetime | None = None) -> LedgerAccount:
    """The account ``ref`` names, created on first use (safe against concurrent creators).

    Always asks the database; the account is then remembered for :func:`post` once the session
    commits (see :mod:`settlement.ledger.account_cache`).

    Raises:
        AccountKindConflictError: it exists with another kind.
    """
    account = repository.account_by_code(session, ref.code, ref.currency)
    if account is None:
        insert_or_ignore(
            session,
            LedgerAccount.__table__,  # type: ignore[arg-type]
            {
                "code": ref.code,
                "currency": str(ref.currency),
                "kind": str(ref.kind),
                "owner": ref.owner,
                "created_at": now or utcnow(),
            },
            ["code", "currency"],
        )
        account = repository.account_by_code(session, ref.code, ref.currency)
        assert account is not None  # inserted now or by a concurrent creator that committed
    if account.kind != ref.kind:
        raise AccountKindConflictError(ref.code, ref.currency, account.kind, ref.kind)
    account_cache.stage(session, account)
    return account


def account_id(session: Session, ref: AccountRef, *, now: datetime | None = None) -> int:
    """The id of the account ``ref`` names: remembered if it is committed, else :func:`ensure_account`.

    Raises:
        AccountKindConflictError: it exists with another kind.
    """
    known = account_cache.lookup(session, (ref.code, str(ref.currency)))
    if known is None:
        return ensure_account(session, ref, now=now).id
    if known.kind != ref.kind:
        raise AccountKindConflictError(ref.code, ref.currency, known.kind, ref.kind)
    return known.id


def post(session: Session, draft: EntryDraft, *, now: datetime | None = None) -> JournalEntry:
    """Posts ``draft`` once; a replay of its idempotency key returns the first entry.

    A first posting is two statements (the entry, then its postings) once the accounts are
    remembered; nothing written is read back. A replay (the key is taken) reads the entry to
    compare its content.

    Args:
        session: The caller's session; the entry is part of its transaction (commit is the caller's).
        draft: The entry.
        now: Posting time (default: the current UTC time).

    Returns:
        The entry written now (its ``postings`` load when first read), or the one already posted
        under the same key.

    Raises:
        UnbalancedEntryError, CurrencyMismatchError, ValidationError: the draft breaks a rule.
        IdempotencyConflictError: the key was used for different content.
        AccountKindConflictError: a leg names an existing account with another kind.
    """
    draft.validate()
    digest = draft.content_hash()
    # Accounts first, so a refused account leaves no entry without postings in the transaction.
    accounts = {leg.account: account_id(session, leg.account, now=now) for leg in draft.legs}
    values = {
        "idempotency_key": draft.idempotency_key,
        "currency": str(draft.currency),
        "kind": draft.kind,
        "reference": draft.reference,
        "description": draft.description,
        "content_hash": digest,
        "posted_at": now or utcnow(),
    }
    entry_id = repository.insert_entry(session, values)
    if entry_id is None:  # the key is taken: by an earlier posting or a concurrent one that committed
        existing = repository.entry_by_key(session, draft.idempotency_key)
        assert existing is not None
        return _replayed(existing, digest)
    repository.insert_postings(
        session,
        [
            {
                "entry_id": entry_id,
                "account_id": accounts[leg.account],
                "currency": str(draft.currency),
                "amount": leg.amount,
            }
            for leg in draft.legs
        ],
    )
    return repository.attach_entry(session, entry_id, values)


def post_all(
    session: Session, drafts: Iterable[EntryDraft], *, now: datetime | None = None
) -> list[JournalEntry]:
    """Posts several entries (e.g. the two currency legs of a conversion) in the caller's transaction.

    Every draft is validated before the first is written, so a bad one writes nothing.
    """
    drafts = list(drafts)
    for draft in drafts:
        draft.validate()
    return [post(session, draft, now=now) for draft in drafts]


def _replayed(entry: JournalEntry, digest: str) -> JournalEntry:
    if entry.content_hash != digest:
        raise IdempotencyConflictError(entry.idempotency_key, entry.id)
    return entry


def balance(
    session: Session,
    code: str,
    currency: Currency,
    *,
    as_of_entry_id: int | None = None,
    as_of: datetime | None = None,
) -> int:
    """Balance of an account on its normal side, derived from its postings.

    Assets and expenses count debits as positive; liabilities, income and equity count credits
    as positive, so each reads as "how much" in its own terms.

    Args:
        code: Account code.
        currency: Account currency.
        as_of_entry_id: Count only entries up to and including this id.
        as_of: Count only entries posted at or before this time.

    Raises:
        AccountNotFoundError: no such account.
    """
    account = repository.account_by_code(session, code, currency)
    if account is None:
        raise AccountNotFoundError(code, currency)
    signed = repository.posting_sum(session, account.id, up_to_entry_id=as_of_entry_id, up_to_time=as_of)
    return signed if AccountKind(account.kind).debit_normal else -signed


def balance_of(
    session: Session, ref: AccountRef, *, as_of_entry_id: int | None = None, as_of: datetime | None = None
) -> int:
    """:func:`balance` of an :class:`AccountRef`; 0 if the account was never used."""
    if repository.account_by_code(session, ref.code, ref.currency) is None:
        return 0
    return balance(session, ref.code, ref.currency, as_of_entry_id=as_of_entry_id, as_of=as_of)
