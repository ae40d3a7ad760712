"""No password, session id, invitation token, TOTP seed or recovery code appears in a log line (any
level), an exception's text or a returned object's repr, across every path, failures included."""

from __future__ import annotations

import logging

import pyotp
import pytest

from accounts import repository
from accounts.models import Permission
from common.errors import MSCError
from tests.accounts.conftest import PASSWORD, address, email, new_merchant


def test_account_secrets_never_reach_logs_exceptions_or_reprs(
    service, db, clock, caplog: pytest.LogCaptureFixture
):
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    secrets_seen: list[str] = [PASSWORD]

    def attempt(action) -> None:  # type: ignore[no-untyped-def]
        try:
            texts.append(repr(action()))
        except MSCError as exc:
            texts.extend([str(exc), repr(exc), repr(exc.to_dict())])

    merchant = new_merchant(db)
    invitation = service.invite_owner(merchant, email(), operator="ops")
    secrets_seen.append(invitation.token)
    texts.append(repr(invitation))
    user_id = service.accept_invitation(invitation.token, PASSWORD, "Owner")
    with db.sessions() as session:
        user = repository.user(session, user_id)
        assert user is not None
        address_of_user = user.email
        secrets_seen.append(user.password_hash)
    signed = service.sign_in(address_of_user, PASSWORD, address())
    secrets_seen.append(signed.token)
    texts.append(repr(signed))
    enrolment = service.begin_totp(signed.token)
    secrets_seen.append(enrolment.secret)
    texts.append(repr(enrolment))
    codes = service.confirm_totp(signed.token, pyotp.TOTP(enrolment.secret).at(clock.now))
    secrets_seen += codes
    csrf_token = service.csrf_token(signed.token)
    secrets_seen.append(csrf_token)
    for action in (
        lambda: service.accept_invitation(invitation.token, PASSWORD, "again"),
        lambda: service.sign_in(address_of_user, PASSWORD + "x", address()),
        lambda: service.sign_in(address_of_user, PASSWORD, address()),
        lambda: service.sign_in(address_of_user, PASSWORD, address(), code="000000"),
        lambda: service.authenticate(signed.token + "x"),
        lambda: service.check_csrf(signed.token, csrf_token + "x"),
        lambda: service.require_second_factor(signed.token, merchant, Permission.REDEEM, "1"),
        lambda: service.sign_in(address_of_user, PASSWORD, address(), code=codes[0]),
        lambda: service.sign_out_everywhere(signed.token),
        lambda: service.authenticate(signed.token),
    ):
        attempt(action)
    haystack = "\n".join(texts) + "\n" + caplog.text + "\n" + "\n".join(repr(r.args) for r in caplog.records)
    assert "signed in" in caplog.text and len(texts) >= 12
    for secret in secrets_seen:
        assert secret not in haystack
