"""Factories of test objects that several test packages need (the FastAPI template's
``tests/utils``): one place that knows which columns a row must have."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from eth_account import Account
from sqlalchemy.orm import Session, sessionmaker

from api.merchants.models import Merchant
from city.kelurahan import UnknownKelurahanError, lookup


def add_merchant(
    sessions: sessionmaker[Session], *, name: str = "Warung Bu Sri", kelurahan: str = "Kartoharjo"
) -> uuid.UUID:
    """Commits a merchant row with a fresh EVM address and Pi username; returns its id.

    A ``kelurahan`` of the city is stored as the onboarding stores it (official name and code); any
    other text is stored as given with no code, like a row older than migration 0028.
    """
    merchant_id = uuid.uuid4()
    try:
        place = lookup(kelurahan)
        kelurahan, code = place.name, place.code
    except UnknownKelurahanError:
        code = None
    with sessions.begin() as session:
        session.add(
            Merchant(
                id=merchant_id,
                name=name,
                kelurahan=kelurahan,
                kelurahan_code=code,
                evm_address=Account.create().address,
                pi_username=f"merchant_{merchant_id.hex[:12]}",
                created_at=datetime(2026, 1, 1, tzinfo=UTC),
            )
        )
    return merchant_id
