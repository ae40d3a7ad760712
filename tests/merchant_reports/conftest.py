"""Fixtures of the merchant reports tests: the settlement tests' migrated databases (SQLite and
PostgreSQL) and settable clock."""

from tests.settlement.ledger.support import clock, db

__all__ = ["clock", "db"]
