"""argon2id passwords with rehash-on-verify; login throttling with exponential backoff and lockout,
per account and per client address, with the same answer (and work) for unknown e-mails."""

from __future__ import annotations

import pytest

from accounts import repository
from accounts.errors import InvalidCredentialsError, LoginThrottledError, SessionInvalidError
from tests.accounts.conftest import PASSWORD, account_service, address, email, new_merchant, onboard_owner


def _hash(db, user_id):
    with db.sessions() as session:
        user = repository.user(session, user_id)
        assert user is not None
        return user.password_hash


def test_passwords_are_argon2id_and_rehashed_when_parameters_change(service, db, clock):
    owner = onboard_owner(service, db)
    stored = _hash(db, owner.user_id)
    assert stored.startswith("$argon2id$") and PASSWORD not in stored and "m=64,t=1,p=1" in stored
    stronger = account_service(db, clock, argon2_time_cost=2, argon2_memory_kib=128)
    with pytest.raises(InvalidCredentialsError):
        stronger.sign_in(owner.email, "wrong-password-123", address())
    assert _hash(db, owner.user_id) == stored  # a wrong password changes nothing
    stronger.sign_in(owner.email, PASSWORD, address())
    rehashed = _hash(db, owner.user_id)
    assert rehashed != stored and "m=128,t=2,p=1" in rehashed
    service.sign_in(owner.email, PASSWORD, address())  # the new hash still verifies


def test_unknown_email_gets_the_same_answer_after_the_same_work(service, db, monkeypatch):
    owner = onboard_owner(service, db)
    calls: list[str] = []
    real = service.passwords._hasher

    class Counting:
        """The real hasher, counting ``verify`` calls (argon2's hasher has slots)."""

        def __getattr__(self, name: str) -> object:
            return getattr(real, name)

        def verify(self, stored: str, password: str) -> bool:
            calls.append(stored)
            return real.verify(stored, password)

    monkeypatch.setattr(service.passwords, "_hasher", Counting())
    answers = []
    for who in (owner.email, email()):
        with pytest.raises(InvalidCredentialsError) as caught:
            service.sign_in(who, "wrong-password-123", address())
        answers.append(caught.value.to_dict())
    assert answers[0] == answers[1]
    assert len(calls) == 2 and all(stored.startswith("$argon2id$") for stored in calls)


def test_failures_back_off_exponentially_then_lock_the_account(db, clock):
    service = account_service(db, clock, free_failures=3, backoff_base_seconds=2, lockout_failures=6)
    owner = onboard_owner(service, db)
    waits = []
    for attempt in range(6):
        with pytest.raises(InvalidCredentialsError):
            service.sign_in(owner.email, "wrong-password-123", address())
        if attempt < 2:
            continue  # the free failures
        with pytest.raises(LoginThrottledError) as caught:
            service.sign_in(owner.email, PASSWORD, address())  # the right password is not even checked
        waits.append((caught.value.until - clock.now).total_seconds())
        clock.now = caught.value.until
    assert waits[:3] == [2, 4, 8]
    assert waits[3] == service.settings.lockout_seconds
    service.sign_in(owner.email, PASSWORD, address())  # after the lockout, and the counter resets
    with pytest.raises(InvalidCredentialsError):
        service.sign_in(owner.email, "wrong-password-123", address())
    service.sign_in(owner.email, PASSWORD, address())


def test_an_unknown_email_is_throttled_like_a_known_one(db, clock):
    service = account_service(db, clock, free_failures=2)
    ghost = email()
    for _ in range(2):
        with pytest.raises(InvalidCredentialsError):
            service.sign_in(ghost, "anything-at-all", address())
    with pytest.raises(LoginThrottledError):
        service.sign_in(ghost, "anything-at-all", address())


def test_one_client_address_trying_many_accounts_is_throttled(db, clock):
    service = account_service(db, clock, address_free_failures=4, free_failures=3)
    owner = onboard_owner(service, db)
    client = address()
    for _ in range(4):
        with pytest.raises(InvalidCredentialsError):
            service.sign_in(email(), "guess-guess-guess", client)
    with pytest.raises(LoginThrottledError):
        service.sign_in(owner.email, PASSWORD, client)
    service.sign_in(owner.email, PASSWORD, address())  # the account itself is not blocked


def test_changing_the_password_ends_every_session_and_the_old_password(service, db):
    owner = onboard_owner(service, db)
    here, elsewhere = (service.sign_in(owner.email, PASSWORD, address()).token for _ in range(2))
    with pytest.raises(InvalidCredentialsError):
        service.change_password(here, "not-the-password", "a-brand-new-password")
    fresh = service.change_password(here, PASSWORD, "a-brand-new-password")
    for token in (here, elsewhere):
        with pytest.raises(SessionInvalidError):
            service.authenticate(token)
    assert service.authenticate(fresh.token).user_id == owner.user_id
    with pytest.raises(InvalidCredentialsError):
        service.sign_in(owner.email, PASSWORD, address())
    service.sign_in(owner.email, "a-brand-new-password", address())


def test_an_invitation_is_no_way_around_the_throttle(db, clock):
    service = account_service(db, clock, free_failures=2)
    owner = onboard_owner(service, db)
    invitation = service.invite_owner(new_merchant(db), owner.email, operator="ops")
    for _ in range(2):
        with pytest.raises(InvalidCredentialsError):
            service.accept_invitation(invitation.token, "guessing-the-password", "x", address())
    with pytest.raises(LoginThrottledError):
        service.accept_invitation(invitation.token, PASSWORD, "x", address())
    with pytest.raises(LoginThrottledError):
        service.sign_in(owner.email, PASSWORD, address())
