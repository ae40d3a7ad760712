"""Server-side sessions: stored hashed, idle and absolute expiry, rotation on sign-in, sign-out
(one and everywhere); property: no session outlives its absolute expiry, however it is used."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from accounts import credentials
from accounts.errors import InvalidCredentialsError, SessionInvalidError
from accounts.models import WebSession
from accounts.service import SESSION_COOKIE, session_cookie
from tests.accounts.conftest import PASSWORD, account_service, address, onboard_owner


def test_the_session_id_is_stored_only_hashed(service, db):
    owner = onboard_owner(service, db)
    signed = service.sign_in(owner.email, PASSWORD, address())
    with db.sessions() as session:
        row = session.scalars(select(WebSession).where(WebSession.user_id == owner.user_id)).one()
    assert row.token_hash == credentials.token_hash(signed.token) and signed.token not in row.token_hash
    assert signed.token not in repr(signed)
    assert service.authenticate(signed.token).session_id == row.id


def test_an_idle_session_ends_and_use_keeps_it_alive(service, db, clock):
    owner = onboard_owner(service, db)
    token = service.sign_in(owner.email, PASSWORD, address()).token
    idle = service.settings.session_idle_seconds
    for _ in range(3):
        clock.advance(idle - 5)
        service.authenticate(token)
    clock.advance(idle + 1)
    with pytest.raises(SessionInvalidError):
        service.authenticate(token)


def test_a_session_ends_at_its_absolute_expiry_even_while_in_use(service, db, clock):
    owner = onboard_owner(service, db)
    signed = service.sign_in(owner.email, PASSWORD, address())
    while clock.now + timedelta(seconds=600) < signed.expires_at:
        clock.advance(600)
        service.authenticate(signed.token)
    clock.now = signed.expires_at
    with pytest.raises(SessionInvalidError):
        service.authenticate(signed.token)


def test_signing_in_rotates_the_session_the_browser_came_with(service, db):
    owner = onboard_owner(service, db)
    first = service.sign_in(owner.email, PASSWORD, address())
    second = service.sign_in(owner.email, PASSWORD, address(), previous_token=first.token)
    assert second.token != first.token
    with pytest.raises(SessionInvalidError):
        service.authenticate(first.token)
    service.authenticate(second.token)


def test_sign_out_ends_one_session_and_sign_out_everywhere_ends_all(service, db):
    owner = onboard_owner(service, db)
    phone, laptop, stolen = (service.sign_in(owner.email, PASSWORD, address()).token for _ in range(3))
    service.sign_out(phone)
    with pytest.raises(SessionInvalidError):
        service.authenticate(phone)
    service.authenticate(stolen)  # a copied cookie works until the owner signs out everywhere
    assert service.sign_out_everywhere(laptop) == 2
    for token in (laptop, stolen):
        with pytest.raises(SessionInvalidError):
            service.authenticate(token)


def test_unknown_or_missing_session_ids_are_refused(service):
    for token in (None, "", "forged", credentials.new_token()):
        with pytest.raises(SessionInvalidError):
            service.authenticate(token)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(gaps=st.lists(st.integers(min_value=1, max_value=3600), min_size=1, max_size=40))
def test_property_no_session_outlives_its_absolute_expiry(db, clock, gaps):
    service = account_service(db, clock, session_absolute_seconds=4 * 3600, session_idle_seconds=3600)
    owner = onboard_owner(service, db)
    signed = service.sign_in(owner.email, PASSWORD, address())
    alive = True
    for gap in gaps:
        clock.advance(gap)
        try:
            principal = service.authenticate(signed.token)
        except SessionInvalidError:
            alive = False
            continue
        assert alive, "a session came back after it ended"
        assert clock.now < signed.expires_at and principal.expires_at == signed.expires_at
    clock.now = max(clock.now, signed.expires_at)
    with pytest.raises(SessionInvalidError):
        service.authenticate(signed.token)


def test_the_session_cookie_is_secure_httponly_samesite_and_host_only(service, db, clock):
    owner = onboard_owner(service, db)
    signed = service.sign_in(owner.email, PASSWORD, address())
    cookie = session_cookie(signed, clock.now)
    assert SESSION_COOKIE.startswith("__Host-") and cookie["key"] == SESSION_COOKIE
    assert cookie["secure"] is True and cookie["httponly"] is True and cookie["samesite"] == "lax"
    assert cookie["path"] == "/" and "domain" not in cookie
    assert cookie["max_age"] == service.settings.session_absolute_seconds


def test_a_disabled_user_is_signed_out_everywhere_and_cannot_sign_in(service, db):
    owner = onboard_owner(service, db)
    tokens = [service.sign_in(owner.email, PASSWORD, address()).token for _ in range(2)]
    assert service.disable_user(owner.user_id, operator="ops@bank") == 2
    for token in tokens:
        with pytest.raises(SessionInvalidError):
            service.authenticate(token)
    with pytest.raises(InvalidCredentialsError):
        service.sign_in(owner.email, PASSWORD, address())
