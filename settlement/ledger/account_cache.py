"""Ledger account ids remembered per database, so posting an entry does not look its accounts up.

Accounts are immutable once created: nothing updates or deletes a ``ledger_accounts`` row (only
:func:`settlement.ledger.service.ensure_account` writes them, with insert-or-ignore), so the id and
kind of an account stay true for as long as its database exists. What is remembered must be
committed, though: an account created (or first seen) inside a transaction that then rolls back
does not exist, and a posting to its id would fail the foreign key. So an account a session
resolves is only *staged* on that session and joins the shared cache when the session's root
transaction commits; any rollback (a savepoint's included) or a close without commit discards
what was staged. Sessions bound to a connection rather than an engine (a test's outer transaction
may still roll back after the session "commits") neither read nor feed the cache.

The cache is keyed by engine, so two databases in one process (the tests' SQLite and PostgreSQL)
never see each other's ids. A database rebuilt under a live engine (a migration downgrade) needs a
process restart, as any schema change does.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session, SessionTransaction

from settlement.ledger.models import LedgerAccount

# session.info key of the accounts staged by the session's current root transaction.
_STAGED = "settlement.ledger.staged_accounts"


@dataclass(frozen=True, slots=True)
class KnownAccount:
    """What a posting needs of a committed account: its id, and its kind to check the caller's."""

    id: int
    kind: str


AccountKey = tuple[str, str]
"""``(code, currency)``, the account's natural key."""


@dataclass
class _Staged:
    """Accounts one root transaction resolved, waiting for its commit."""

    transaction: SessionTransaction
    engine: Engine
    accounts: dict[AccountKey, KnownAccount]


class AccountCache:
    """Committed accounts by engine and ``(code, currency)``; safe to share between threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_engine: weakref.WeakKeyDictionary[Engine, dict[AccountKey, KnownAccount]] = (
            weakref.WeakKeyDictionary()
        )

    def get(self, engine: Engine, key: AccountKey) -> KnownAccount | None:
        """The remembered account, or None (the caller then asks the database)."""
        with self._lock:
            known = self._by_engine.get(engine)
            return None if known is None else known.get(key)

    def put_all(self, engine: Engine, accounts: dict[AccountKey, KnownAccount]) -> None:
        """Remembers committed accounts of ``engine``'s database."""
        with self._lock:
            self._by_engine.setdefault(engine, {}).update(accounts)

    def clear(self) -> None:
        """Forgets everything (tests; a process that rebuilt its database)."""
        with self._lock:
            self._by_engine.clear()


ACCOUNTS = AccountCache()
"""The process's cache; :mod:`settlement.ledger.service` reads it and stages into it."""


def engine_of(session: Session) -> Engine | None:
    """The engine the session's ledger tables live on, or None when it is bound to a connection."""
    bind = session.get_bind(LedgerAccount)
    return bind if isinstance(bind, Engine) else None


def lookup(session: Session, key: AccountKey) -> KnownAccount | None:
    """The committed account ``key`` as remembered for the session's database, if it is."""
    engine = engine_of(session)
    return None if engine is None else ACCOUNTS.get(engine, key)


def stage(session: Session, account: LedgerAccount) -> None:
    """Notes an account the session read or created; it is cached once the session commits."""
    engine = engine_of(session)
    transaction = session.get_transaction()
    if engine is None or transaction is None:
        return
    staged = session.info.get(_STAGED)
    if not isinstance(staged, _Staged) or staged.transaction is not transaction:
        staged = _Staged(transaction, engine, {})
        session.info[_STAGED] = staged
    staged.accounts[(account.code, account.currency)] = KnownAccount(account.id, account.kind)


@event.listens_for(Session, "after_commit")
def _promote(session: Session) -> None:
    # Fired for a savepoint's release too; only the root transaction's commit makes rows durable.
    if session.in_nested_transaction():
        return
    staged = session.info.pop(_STAGED, None)
    if isinstance(staged, _Staged) and staged.transaction is session.get_transaction():
        ACCOUNTS.put_all(staged.engine, staged.accounts)


@event.listens_for(Session, "after_soft_rollback")
def _discard_on_rollback(session: Session, _previous: Any) -> None:
    # Any rollback, a savepoint's included, may have undone a staged account: forget them all.
    session.info.pop(_STAGED, None)


@event.listens_for(Session, "after_transaction_end")
def _discard_on_end(session: Session, transaction: SessionTransaction) -> None:
    # A root transaction that ends without committing (a close) leaves nothing behind.
    if transaction.parent is None:
        session.info.pop(_STAGED, None)
