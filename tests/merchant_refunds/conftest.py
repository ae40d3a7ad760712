"""Fixtures of the merchant refund tests: the minting tests' own (one anvil per module on its
``ANVIL_PORT``, in H3's 8821-8829 range; a fresh platform per test; migrated SQLite and
PostgreSQL databases)."""

from __future__ import annotations

from tests.settlement.minting.conftest import anvil, chain, db, pg_db, sqlite_db, w3

__all__ = ["anvil", "chain", "db", "pg_db", "sqlite_db", "w3"]
