"""Fixtures of the pay-back tests: the minting tests' anvil (one per module on its ``ANVIL_PORT``,
H3b's 8831-8839) and fresh platform per test, the Pi flow tests' peer (one per module), and a
fresh database per test on SQLite and PostgreSQL (tests/settlement/paybacks/support.py)."""

from __future__ import annotations

from tests.settlement.flow.support import peer
from tests.settlement.minting.conftest import anvil, chain, w3
from tests.settlement.paybacks.support import fresh_db

__all__ = ["anvil", "chain", "fresh_db", "peer", "w3"]
