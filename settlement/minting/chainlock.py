"""One sender at a time per key: the chain phase of minting (and of redemptions) is serialised.

Two minter processes may claim batches at the same time (their payments never overlap), but
what they send from the one settlement key must not interleave: nonces would collide and the
"mint only what the idle balance does not cover" rule needs the balance to be nobody else's in
the meantime. On PostgreSQL the lock is a session advisory lock keyed by the schema and the
address, so it spans processes and machines and dies with a killed process's connection. On
SQLite (the single-process embedded default) a process-local lock is enough.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from common.errors import ConfigurationError

_LOCK_KEY = "hashtext(current_schema() || :scope || :address)"


class SenderLock:
    """Serialises everything sent from ``address`` through this database.

    Args:
        engine: The settlement database; on PostgreSQL it hosts the advisory lock.
        address: The sending account.
    """

    def __init__(self, engine: Engine, address: str) -> None:
        self._engine = engine
        self._params = {"scope": "/msc-sender/", "address": address.lower()}
        self._local = threading.Lock()

    @contextmanager
    def hold(self) -> Iterator[None]:
        """Holds the lock for the block (waits for another holder to finish)."""
        with self._local:
            if self._engine.dialect.name != "postgresql":
                yield
                return
            with self._engine.connect() as conn:
                conn.execute(text(f"SELECT pg_advisory_lock({_LOCK_KEY})"), self._params)
                conn.commit()
                try:
                    yield
                finally:
                    conn.execute(text(f"SELECT pg_advisory_unlock({_LOCK_KEY})"), self._params)
                    conn.commit()

    @classmethod
    def for_sessions(cls, sessions: sessionmaker[Session], address: str) -> SenderLock:
        """The lock of ``address`` on the database ``sessions`` is bound to.

        Raises:
            ConfigurationError: the session factory is not bound to an engine.
        """
        engine = sessions.kw.get("bind")
        if not isinstance(engine, Engine):
            raise ConfigurationError("the settlement session factory must be bound to an engine")
        return cls(engine, address)
