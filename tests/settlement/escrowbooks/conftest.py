"""Fixtures of the escrow books tests: the minting tests' own (one anvil per module on its
``ANVIL_PORT``, a fresh platform per test, migrated databases on SQLite and PostgreSQL)."""

from __future__ import annotations

from tests.settlement.minting.conftest import anvil, chain, db, w3

__all__ = ["anvil", "chain", "db", "w3"]
