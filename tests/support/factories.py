"""Factories of test objects that several test packages need (the FastAPI template's
``tests/utils``): one place that knows which columns a row must have."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from eth_account import Account
from sqlalchemy.orm import Session, sessionmaker

from api.merchants.models import Merchant


def add_merchant(
    sessions: sessionmaker[Session], *, name: str = "Warung Bu Sri", kelurahan: str = "Kartoharjo"
) -> uuid.UUID:
    """Commits a merchant row with a fresh EVM address and Pi username; returns its id."""
    merchant_id = uuid.uuid4()
    with sessions.begin() as session:
        session.add(
            Merchant(
                id=merchant_id,
                name=name,
                kelurahan=kelurahan,
                evm_address=Account.create().address,
                pi_username=f"merchant_{merchant_id.hex[:12]}",
                created_at=datetime(2026, 1, 1, tzinfo=UTC),
            )
        )
    return merchant_id
