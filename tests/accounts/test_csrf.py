"""CSRF tokens: valid only in the session that issued them, refused when missing, altered, from
another session, or from before the sign-in that rotated the session."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accounts import csrf
from accounts.errors import CsrfTokenInvalidError
from tests.accounts.conftest import PASSWORD, address, onboard_owner


def test_a_token_is_accepted_only_in_its_own_session(service, db):
    owner = onboard_owner(service, db)
    mine = service.sign_in(owner.email, PASSWORD, address()).token
    other = service.sign_in(owner.email, PASSWORD, address()).token
    token = service.csrf_token(mine)
    assert service.check_csrf(mine, token).user_id == owner.user_id
    assert service.csrf_token(mine) != token  # a fresh token per form
    for session_token, presented in ((mine, None), (mine, ""), (other, token), (mine, token[:-2] + "xx")):
        with pytest.raises(CsrfTokenInvalidError):
            service.check_csrf(session_token, presented)


def test_tokens_from_before_a_sign_in_do_not_survive_the_rotation(service, db):
    owner = onboard_owner(service, db)
    before = service.sign_in(owner.email, PASSWORD, address()).token
    token = service.csrf_token(before)
    after = service.sign_in(owner.email, PASSWORD, address(), previous_token=before).token
    with pytest.raises(CsrfTokenInvalidError):
        service.check_csrf(after, token)


@settings(max_examples=50, deadline=None)
@given(garbage=st.text(max_size=120))
def test_property_no_forged_token_verifies(garbage):
    secret = os.urandom(32)
    assert not csrf.verify(secret, garbage)
    assert csrf.verify(secret, csrf.issue(secret))
    assert not csrf.verify(os.urandom(32), csrf.issue(secret))
