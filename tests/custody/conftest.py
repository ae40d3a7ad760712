"""Fixtures of the custody tests: a migrated database per backend, merchants, key managers."""

from __future__ import annotations

import base64
import secrets
import uuid

import pytest

from custody.keystore import EnvelopeKeyManager
from custody.settings import MasterKeyRing
from tests.settlement.ledger.support import Db, clock, db, pg_db
from tests.support.factories import add_merchant

__all__ = ["clock", "db", "pg_db"]


def new_merchant(db: Db) -> uuid.UUID:
    """A merchant row (custodial keys reference it)."""
    return add_merchant(db.sessions)


def random_master_key() -> bytes:
    """32 random bytes."""
    return secrets.token_bytes(32)


def b64(key: bytes) -> str:
    """Standard base64 of ``key``."""
    return base64.b64encode(key).decode()


@pytest.fixture
def master_key() -> bytes:
    """A fresh master key."""
    return random_master_key()


@pytest.fixture
def keys(master_key: bytes) -> EnvelopeKeyManager:
    """An envelope key manager under ``master_key``."""
    return EnvelopeKeyManager(MasterKeyRing.of(master_key))


@pytest.fixture
def merchant(db: Db) -> uuid.UUID:
    """A new merchant."""
    return new_merchant(db)
