"""Fixtures of the payments tests (defined in tests/settlement/ledger/support.py)."""

from tests.settlement.ledger.support import clock, db, pg_db

__all__ = ["clock", "db", "pg_db"]
