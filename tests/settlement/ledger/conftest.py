"""Fixtures of the ledger tests (shared with the other settlement test folders)."""

from tests.settlement.ledger.support import clock, db, pg_db

__all__ = ["clock", "db", "pg_db"]
