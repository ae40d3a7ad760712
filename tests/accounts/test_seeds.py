"""TOTP seeds are sealed at rest, bound to their user, and re-sealed by a master-key rotation."""

from __future__ import annotations

import os

import pyotp
import pytest

from accounts import repository
from accounts.errors import SecondFactorRequiredError, TotpStateError
from accounts.models import Permission
from accounts.seeds import SeedBox
from accounts.service import AccountService
from accounts.settings import AccountSettings
from custody.settings import MasterKeyRing
from tests.accounts.conftest import FAST, PASSWORD, address, onboard_owner


def _service(db, clock, ring: MasterKeyRing) -> AccountService:
    return AccountService(db.sessions, AccountSettings.from_env({}, **FAST), seeds=SeedBox(ring), clock=clock)


def _stored_seed(db, user_id) -> str:
    with db.sessions() as session:
        user = repository.user(session, user_id)
        assert user is not None and user.totp_secret is not None
        return user.totp_secret


def _enrol(service, db, clock):
    owner = onboard_owner(service, db)
    token = service.sign_in(owner.email, PASSWORD, address()).token
    enrolment = service.begin_totp(token)
    service.confirm_totp(token, pyotp.TOTP(enrolment.secret).at(clock.now))
    clock.advance(30)
    return owner, pyotp.TOTP(enrolment.secret)


def test_the_seed_is_stored_sealed_and_bound_to_its_user(db, clock):
    ring = MasterKeyRing.of(os.urandom(32))
    service = _service(db, clock, ring)
    owner, totp = _enrol(service, db, clock)
    other, _ = _enrol(service, db, clock)
    stored = _stored_seed(db, owner.user_id)
    assert totp.secret not in stored and stored.startswith(f"v1:{ring.current_id}:")
    with db.sessions.begin() as session:  # the seed copied onto another user's row does not open
        victim = repository.user(session, other.user_id)
        assert victim is not None
        victim.totp_secret = stored
    with pytest.raises(TotpStateError, match="does not authenticate"):
        service.sign_in(other.email, PASSWORD, address(), code=totp.at(clock.now))
    service.sign_in(owner.email, PASSWORD, address(), code=totp.at(clock.now))


def test_a_master_key_rotation_reseals_the_seeds(db, clock):
    old, new = os.urandom(32), os.urandom(32)
    before = _service(db, clock, MasterKeyRing.of(old))
    owner, totp = _enrol(before, db, clock)
    during = _service(db, clock, MasterKeyRing.of(new, (old,)))
    resealed = 0
    while (batch := during.reseal_totp_seeds(batch=1)) > 0:
        resealed += batch
    assert resealed == 1  # seeds under master keys it does not hold are left alone
    after = _service(db, clock, MasterKeyRing.of(new))
    assert _stored_seed(db, owner.user_id).startswith(f"v1:{MasterKeyRing.of(new).current_id}:")
    after.sign_in(owner.email, PASSWORD, address(), code=totp.at(clock.now))
    clock.advance(30)
    with pytest.raises(TotpStateError, match="not configured"):
        before.sign_in(owner.email, PASSWORD, address(), code=totp.at(clock.now))


def test_a_wrong_code_is_still_a_plain_refusal_with_sealed_seeds(db, clock):
    service = _service(db, clock, MasterKeyRing.of(os.urandom(32)))
    owner, totp = _enrol(service, db, clock)
    token = service.sign_in(owner.email, PASSWORD, address(), code=totp.at(clock.now)).token
    with pytest.raises(SecondFactorRequiredError):
        service.require_second_factor(token, owner.merchant_id, Permission.REDEEM, "12")
