"""TOTP second factor (RFC 6238): enrolment, sign-in with a code, no replay, recovery codes, and
``require_second_factor`` before payouts and bank-account changes. Property: no wrong password or
code ever signs in."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pyotp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from accounts import credentials
from accounts.errors import (
    InvalidCredentialsError,
    LoginThrottledError,
    PermissionDeniedError,
    SecondFactorRequiredError,
    TotpStateError,
)
from accounts.models import Permission, RecoveryCode
from tests.accounts.conftest import PASSWORD, account_service, add_cashier, address, enrol_totp, onboard_owner


def test_enrolment_gives_a_provisioning_uri_and_needs_a_right_code(service, db, clock):
    owner = onboard_owner(service, db)
    token = service.sign_in(owner.email, PASSWORD, address()).token
    enrolment = service.begin_totp(token)
    uri = urlparse(enrolment.uri)
    assert uri.scheme == "otpauth" and uri.netloc == "totp"
    assert parse_qs(uri.query)["secret"] == [enrolment.secret] and parse_qs(uri.query)["issuer"] == [
        "MSC Merchant"
    ]
    assert enrolment.secret not in repr(enrolment)
    with pytest.raises(SecondFactorRequiredError):
        service.confirm_totp(
            token, "000000" if pyotp.TOTP(enrolment.secret).at(clock.now) != "000000" else "111111"
        )
    codes = service.confirm_totp(token, pyotp.TOTP(enrolment.secret).at(clock.now))
    assert len(codes) == service.settings.recovery_codes and len(set(codes)) == len(codes)
    with db.sessions() as session:
        stored = session.scalars(
            select(RecoveryCode.code_hash).where(RecoveryCode.user_id == owner.user_id)
        ).all()
    assert sorted(stored) == sorted(credentials.recovery_code_hash(c) for c in codes)
    assert not set(codes) & set(stored)
    with pytest.raises(TotpStateError):
        service.begin_totp(token)


def test_sign_in_needs_the_code_and_a_used_code_is_refused(service, db, clock):
    owner = onboard_owner(service, db)
    totp, _ = enrol_totp(service, service.sign_in(owner.email, PASSWORD, address()).token, clock)
    with pytest.raises(SecondFactorRequiredError):
        service.sign_in(owner.email, PASSWORD, address())
    code = totp.at(clock.now)
    service.sign_in(owner.email, PASSWORD, address(), code=code)
    with pytest.raises(InvalidCredentialsError):  # the same code again, within its 30 s
        service.sign_in(owner.email, PASSWORD, address(), code=code)
    clock.advance(30)
    service.sign_in(owner.email, PASSWORD, address(), code=totp.at(clock.now))


def test_a_code_of_an_earlier_step_than_the_last_used_is_refused(service, db, clock):
    owner = onboard_owner(service, db)
    totp, _ = enrol_totp(service, service.sign_in(owner.email, PASSWORD, address()).token, clock)
    previous = totp.at(clock.now)  # valid within the drift window of the next step...
    clock.advance(30)
    service.sign_in(owner.email, PASSWORD, address(), code=totp.at(clock.now))
    with pytest.raises(InvalidCredentialsError):  # ...but older than the one just used
        service.sign_in(owner.email, PASSWORD, address(), code=previous)


def test_a_recovery_code_signs_in_once(service, db, clock):
    owner = onboard_owner(service, db)
    _, codes = enrol_totp(service, service.sign_in(owner.email, PASSWORD, address()).token, clock)
    service.sign_in(owner.email, PASSWORD, address(), code=codes[0].lower().replace("-", " "))
    assert service.recovery_codes_left(owner.user_id) == len(codes) - 1
    with pytest.raises(InvalidCredentialsError):
        service.sign_in(owner.email, PASSWORD, address(), code=codes[0])


def test_payouts_and_bank_changes_need_a_fresh_second_factor(service, db, clock):
    owner = onboard_owner(service, db)
    token = service.sign_in(owner.email, PASSWORD, address()).token
    with pytest.raises(SecondFactorRequiredError, match="authenticator app first"):
        service.require_second_factor(token, owner.merchant_id, Permission.REDEEM, "123456")
    totp, _ = enrol_totp(service, token, clock)
    for permission in (Permission.REDEEM, Permission.CHANGE_BANK_ACCOUNT):
        with pytest.raises(SecondFactorRequiredError):
            service.require_second_factor(token, owner.merchant_id, permission, None)
        code = totp.at(clock.now)
        principal = service.require_second_factor(token, owner.merchant_id, permission, code)
        assert principal.user_id == owner.user_id
        with pytest.raises(SecondFactorRequiredError, match="used already"):
            service.require_second_factor(token, owner.merchant_id, permission, code)
        clock.advance(30)


def test_a_cashier_is_refused_money_out_whatever_code_it_has(service, db, clock):
    owner = onboard_owner(service, db)
    owner_token = service.sign_in(owner.email, PASSWORD, address()).token
    cashier = add_cashier(service, owner_token, owner)
    cashier_token = service.sign_in(cashier.email, PASSWORD, address()).token
    totp, _ = enrol_totp(service, cashier_token, clock)
    for permission in (Permission.REDEEM, Permission.CHANGE_BANK_ACCOUNT):
        with pytest.raises(PermissionDeniedError):
            service.require_second_factor(cashier_token, owner.merchant_id, permission, totp.at(clock.now))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    wrong_password=st.text(min_size=0, max_size=40).filter(lambda p: p != PASSWORD),
    wrong_code=st.text(alphabet="0123456789", min_size=0, max_size=8),
    password_is_right=st.booleans(),
)
def test_property_a_wrong_password_or_code_never_signs_in(
    db, clock, wrong_password, wrong_code, password_is_right
):
    service = account_service(
        db, clock, free_failures=1000, address_free_failures=1000, lockout_failures=1000
    )
    owner = onboard_owner(service, db)
    totp, _ = enrol_totp(service, service.sign_in(owner.email, PASSWORD, address()).token, clock)
    step = totp.timecode(clock.now)
    valid_now = {totp.generate_otp(step + offset) for offset in (-1, 0, 1)}
    password = PASSWORD if password_is_right else wrong_password
    code = wrong_code if wrong_code not in valid_now else None
    if password_is_right and code is None:
        code = ""  # a right password with no code is still not a sign-in
    with pytest.raises((InvalidCredentialsError, SecondFactorRequiredError, LoginThrottledError)):
        service.sign_in(owner.email, password, address(), code=code)
    if not password_is_right:  # a wrong password with the right code fails too
        with pytest.raises(InvalidCredentialsError):
            service.sign_in(owner.email, wrong_password, address(), code=totp.at(clock.now))
