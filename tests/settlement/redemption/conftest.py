"""Fixtures of the redemption tests: the minting tests' anvil, platform and databases."""

from tests.settlement.minting.conftest import anvil, chain, db, w3

__all__ = ["anvil", "chain", "db", "w3"]
