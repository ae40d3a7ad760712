"""Fixtures of the accounts tests: a migrated database per backend, a settable clock, merchants,
and an account service with cheap argon2 parameters (the production ones cost 64 MiB a hash)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pyotp
import pytest

from accounts.models import Role
from accounts.seeds import SeedBox
from accounts.service import AccountService
from accounts.settings import AccountSettings
from custody.settings import CustodySettings
from tests.settlement.ledger.support import Clock, Db, clock, db
from tests.support.factories import add_merchant

__all__ = ["clock", "db"]

PASSWORD = "kopi-tubruk-2026!"
FAST = {"argon2_time_cost": 1, "argon2_memory_kib": 64, "argon2_parallelism": 1}


def account_service(db: Db, clock: Clock, **overrides: object) -> AccountService:
    """A service on ``db`` with cheap hashing and ``overrides`` of the settings."""
    settings = AccountSettings.from_env({}, **{**FAST, **overrides})
    return AccountService(
        db.sessions, settings, seeds=SeedBox(CustodySettings.from_env({}).key_ring()), clock=clock
    )


def new_merchant(db: Db) -> uuid.UUID:
    """A merchant row."""
    return add_merchant(db.sessions, name="Bakso Pak Kumis", kelurahan="Taman")


def email() -> str:
    """A unique e-mail."""
    return f"user-{uuid.uuid4().hex[:10]}@example.id"


def address() -> str:
    """A unique client address."""
    return f"client-{uuid.uuid4().hex[:16]}"


@dataclass
class Member:
    """A user with a role for a merchant."""

    user_id: uuid.UUID
    email: str
    merchant_id: uuid.UUID
    role: Role


def onboard_owner(service: AccountService, db: Db) -> Member:
    """The operator onboards a merchant and its owner accepts the invitation."""
    merchant_id = new_merchant(db)
    address_ = email()
    invitation = service.invite_owner(merchant_id, address_, operator="ops@bank")
    user_id = service.accept_invitation(invitation.token, PASSWORD, "Bu Sri")
    return Member(user_id, address_, merchant_id, Role.OWNER)


def add_cashier(service: AccountService, owner_token: str, owner: Member) -> Member:
    """The owner invites a cashier, who accepts."""
    address_ = email()
    invitation = service.invite_cashier(owner_token, owner.merchant_id, address_)
    user_id = service.accept_invitation(invitation.token, PASSWORD, "Mas Budi")
    return Member(user_id, address_, owner.merchant_id, Role.CASHIER)


def enrol_totp(service: AccountService, token: str, clock: Clock) -> tuple[pyotp.TOTP, list[str]]:
    """Turns TOTP on for the session's user; its generator and recovery codes."""
    enrolment = service.begin_totp(token)
    totp = pyotp.TOTP(enrolment.secret)
    codes = service.confirm_totp(token, totp.at(clock.now))
    clock.advance(30)  # the enrolment's code is used; the next sign-in needs the next step
    return totp, codes


@pytest.fixture
def service(db: Db, clock: Clock) -> AccountService:
    """An account service with cheap hashing."""
    return account_service(db, clock)
