"""Merchant users: invitations, sign-in with throttling and a second factor, sessions, roles, CSRF.

Every public method runs its own transaction, because a refused sign-in must still be recorded:
the failure counts toward the throttle even though the caller receives an error.

Why each rule:
- Unknown e-mail and wrong password get the same error after the same argon2 work (a decoy hash),
  and go through the same throttle (keyed by the e-mail's hash, whether or not it has an account),
  so neither the answer, its timing nor a lockout tells a guesser which e-mails exist.
- A sign-in always creates a new session id (and CSRF secret) and ends the one the browser came
  with, so an id planted before sign-in (session fixation) is worth nothing after it.
- Money out and bank-account changes need a TOTP or recovery code verified at that moment, not a
  session that once had one: a stolen session cookie alone cannot move money.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from accounts import credentials, csrf, repository
from accounts.errors import (
    CsrfTokenInvalidError,
    InvalidCredentialsError,
    InvitationInvalidError,
    LastOwnerError,
    LoginThrottledError,
    PermissionDeniedError,
    SecondFactorRequiredError,
    SessionInvalidError,
    TotpStateError,
    UserNotFoundError,
    WeakPasswordError,
)
from accounts.models import (
    ROLE_PERMISSIONS,
    Invitation,
    InvitationStatus,
    MerchantUser,
    Permission,
    RecoveryCode,
    Role,
    WebSession,
)
from accounts.seeds import SeedBox
from accounts.settings import AccountSettings
from common.errors import ValidationError
from common.sql.helpers import utcnow

logger = logging.getLogger(__name__)

MAX_PASSWORD_LENGTH = 256
SECOND_FACTOR_PERMISSIONS = frozenset({Permission.REDEEM, Permission.CHANGE_BANK_ACCOUNT})
"""Permissions that need a second factor verified for the action itself."""


@dataclass(frozen=True)
class SignedIn:
    """A new session: ``token`` goes into the cookie (Secure, HttpOnly, SameSite) and nowhere else."""

    token: str = field(repr=False)
    user_id: uuid.UUID
    expires_at: datetime


@dataclass(frozen=True)
class Principal:
    """Who a valid session belongs to."""

    user_id: uuid.UUID
    session_id: uuid.UUID
    expires_at: datetime


@dataclass(frozen=True)
class InvitationIssued:
    """An invitation: ``token`` goes into the link e-mailed to the invitee, once."""

    invitation_id: uuid.UUID
    token: str = field(repr=False)
    expires_at: datetime


@dataclass(frozen=True)
class TotpEnrolment:
    """What the authenticator app needs (shown once, as a QR code of ``uri``)."""

    secret: str = field(repr=False)
    uri: str = field(repr=False)


SESSION_COOKIE = "__Host-msc-session"
"""The ``__Host-`` prefix makes browsers refuse the cookie unless it is Secure, host-only and Path=/."""


def session_cookie(signed: SignedIn, now: datetime) -> dict[str, object]:
    """The keyword arguments of Starlette's ``Response.set_cookie`` for a new session.

    Secure and HttpOnly (no script reads it), SameSite=Lax (not sent on cross-site posts; links
    from an e-mail still arrive signed in), expiring with the session's absolute expiry.
    """
    return {
        "key": SESSION_COOKIE,
        "value": signed.token,
        "max_age": max(0, int((signed.expires_at - now).total_seconds())),
        "path": "/",
        "secure": True,
        "httponly": True,
        "samesite": "lax",
    }


def normalise_email(email: str) -> str:
    """The e-mail as stored and compared: trimmed and lower-cased.

    Raises:
        ValidationError: it does not look like an address.
    """
    cleaned = email.strip().lower()
    if "@" not in cleaned or len(cleaned) > 254 or cleaned.startswith("@") or cleaned.endswith("@"):
        raise ValidationError("an e-mail address is needed", field="email")
    return cleaned


def _account_key(email: str) -> str:
    return "account:" + hashlib.sha256(email.encode()).hexdigest()


def _address_key(client_address: str) -> str:
    return "address:" + client_address[:64]


class AccountService:
    """Merchant users and their sessions.

    Args:
        sessions: The platform database.
        settings: Lifetimes, throttling and hashing parameters.
        seeds: Seals TOTP seeds at rest; build it as
            ``SeedBox(CustodySettings.from_env().key_ring())`` (under ``MSC_CUSTODY_MASTER_KEY``).
        clock: Current UTC time.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        settings: AccountSettings | None = None,
        *,
        seeds: SeedBox,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.sessions = sessions
        self.settings = settings or AccountSettings.from_env()
        self.seeds = seeds
        self.clock = clock
        self.passwords = credentials.PasswordHasher(
            self.settings.argon2_time_cost, self.settings.argon2_memory_kib, self.settings.argon2_parallelism
        )

    # ------------------------------------------------------------------ invitations

    def invite_owner(self, merchant_id: uuid.UUID, email: str, operator: str) -> InvitationIssued:
        """The operator invites a merchant's owner (onboarding)."""
        return self._invite(merchant_id, email, Role.OWNER, None, f"by operator {operator}")

    def invite_cashier(self, token: str, merchant_id: uuid.UUID, email: str) -> InvitationIssued:
        """An owner invites a cashier of its merchant.

        Raises:
            SessionInvalidError: the inviter's session is not valid.
            PermissionDeniedError: the inviter is not an owner of the merchant.
        """
        principal = self.authorize(token, merchant_id, Permission.MANAGE_USERS)
        return self._invite(
            merchant_id, email, Role.CASHIER, principal.user_id, f"by user {principal.user_id}"
        )

    def _invite(
        self, merchant_id: uuid.UUID, email: str, role: Role, inviter: uuid.UUID | None, why: str
    ) -> InvitationIssued:
        now = self.clock()
        token = credentials.new_token()
        invitation = Invitation(
            merchant_id=merchant_id,
            email=normalise_email(email),
            role=role,
            token_hash=credentials.token_hash(token),
            invited_by_user_id=inviter,
            status=InvitationStatus.PENDING,
            expires_at=now + timedelta(seconds=self.settings.invitation_seconds),
            created_at=now,
            updated_at=now,
        )
        with self.sessions.begin() as db:
            db.add(invitation)
            db.flush()
            repository.record(db, "invited", f"{role} {why}", now, user_id=inviter, merchant_id=merchant_id)
        return InvitationIssued(invitation.id, token, invitation.expires_at)

    def revoke_invitation(self, invitation_id: uuid.UUID) -> bool:
        """Withdraws a pending invitation; whether it was pending."""
        with self.sessions.begin() as db:
            return repository.revoke_invitation(db, invitation_id, self.clock())

    def accept_invitation(
        self, token: str, password: str, display_name: str, client_address: str = "unknown"
    ) -> uuid.UUID:
        """Accepts an invitation once: a new user sets its password; an existing one proves it.

        Returns:
            The user's id.

        Raises:
            InvitationInvalidError: unknown, used, revoked or expired (not said which).
            WeakPasswordError: a new user's password is too short or too long.
            InvalidCredentialsError: an existing user's password is wrong (counted by the same
                throttle as sign-ins, so an invitation is no way around it).
            LoginThrottledError: that account or address must wait.
        """
        now = self.clock()
        with self.sessions.begin() as db:
            invitation = repository.invitation_by_token(db, credentials.token_hash(token))
            if (
                invitation is None
                or invitation.status != InvitationStatus.PENDING
                or invitation.expires_at <= now
            ):
                raise InvitationInvalidError()
            keys = (_account_key(invitation.email), _address_key(client_address))
            user = repository.user_by_email(db, invitation.email)
            if user is None:
                self._check_password_policy(password)
                user = MerchantUser(
                    email=invitation.email,
                    display_name=display_name.strip()[:200] or invitation.email,
                    password_hash=self.passwords.hash(password),
                    created_at=now,
                    updated_at=now,
                )
                db.add(user)
                db.flush()
                proven = True
            else:
                self._check_throttle(db, keys, now)
                proven = self.passwords.verify(user.password_hash, password)
            if proven:
                if not repository.accept_invitation(db, invitation.id, user.id, now):
                    raise InvitationInvalidError()
                repository.add_membership(db, user.id, invitation.merchant_id, invitation.role, now)
                repository.record(
                    db,
                    "invitation_accepted",
                    str(invitation.role),
                    now,
                    user_id=user.id,
                    merchant_id=invitation.merchant_id,
                )
        if not proven:
            self._count_failure(keys, now, user.id)
            raise InvalidCredentialsError()
        return user.id

    def _check_password_policy(self, password: str) -> None:
        if len(password) < self.settings.min_password_length:
            raise WeakPasswordError(f"use at least {self.settings.min_password_length} characters")
        if len(password) > MAX_PASSWORD_LENGTH:
            raise WeakPasswordError(f"use at most {MAX_PASSWORD_LENGTH} characters")

    # ------------------------------------------------------------------ sign-in

    def sign_in(
        self,
        email: str,
        password: str,
        client_address: str,
        *,
        code: str | None = None,
        previous_token: str | None = None,
    ) -> SignedIn:
        """Signs a user in: checks the throttle, the password and (when enrolled) the second factor.

        Args:
            email: What the person typed.
            password: What the person typed.
            client_address: The client's IP address (throttled on its own).
            code: A TOTP or recovery code; needed when the user enrolled a second factor.
            previous_token: The session id the browser came with; it is ended (rotation).

        Raises:
            LoginThrottledError: the account or the address must wait; nothing was checked.
            InvalidCredentialsError: wrong e-mail, password or code (counted as a failure).
            SecondFactorRequiredError: password right, no code given (not a failure).
        """
        now = self.clock()
        try:
            normalised = normalise_email(email)
        except ValidationError:
            normalised = email.strip().lower()[:254]
        keys = (_account_key(normalised), _address_key(client_address))
        with self.sessions.begin() as db:
            self._check_throttle(db, keys, now)
            user = repository.user_by_email(db, normalised)
            password_ok = self.passwords.verify(user.password_hash if user else None, password)
            ok = password_ok and user is not None and user.disabled_at is None
            if ok and user is not None and user.totp_enabled_at is not None:
                if not code:
                    raise SecondFactorRequiredError("enter the code from your authenticator app")
                ok = self._use_second_factor(db, user, code, now)
        if not ok or user is None:
            self._count_failure(keys, now, user.id if user else None)
            raise InvalidCredentialsError()
        return self._open_session(user, client_address, previous_token, password, now)

    def _open_session(
        self,
        user: MerchantUser,
        client_address: str,
        previous_token: str | None,
        password: str,
        now: datetime,
    ) -> SignedIn:
        token = credentials.new_token()
        expires_at = now + timedelta(seconds=self.settings.session_absolute_seconds)
        with self.sessions.begin() as db:
            if previous_token:
                previous = repository.session_by_token(db, credentials.token_hash(previous_token))
                if previous is not None:
                    repository.revoke_session(db, previous.id, now)
            if self.passwords.needs_rehash(user.password_hash):
                stored = repository.user(db, user.id)
                if stored is not None:
                    stored.password_hash = self.passwords.hash(password)
                    stored.updated_at = now
                    repository.record(db, "password_rehashed", "new hash parameters", now, user_id=user.id)
            db.add(
                WebSession(
                    token_hash=credentials.token_hash(token),
                    user_id=user.id,
                    csrf_secret=csrf.new_secret(),
                    client_address=client_address[:64],
                    created_at=now,
                    last_seen_at=now,
                    expires_at=expires_at,
                    second_factor_at=now if user.totp_enabled_at is not None else None,
                )
            )
            repository.clear(db, _account_key(user.email))
            repository.record(db, "signed_in", f"from {client_address[:64]}", now, user_id=user.id)
        logger.info("merchant user %s signed in", user.id)
        return SignedIn(token, user.id, expires_at)

    def _check_throttle(self, db: Session, keys: tuple[str, ...], now: datetime) -> None:
        for key in keys:
            row = repository.throttle(db, key)
            if row is not None and row.blocked_until is not None and row.blocked_until > now:
                raise LoginThrottledError(row.blocked_until)

    def _count_failure(self, keys: tuple[str, ...], now: datetime, user_id: uuid.UUID | None) -> None:
        """Counts a failed sign-in on the account and the address, with exponential backoff."""
        s = self.settings
        limits = (
            (s.free_failures, s.lockout_failures),
            (s.address_free_failures, s.address_lockout_failures),
        )
        with self.sessions.begin() as db:
            for key, (free, lockout) in zip(keys, limits, strict=True):
                failures = repository.count_failure(db, key, now)
                if failures >= lockout:
                    repository.block(db, key, now + timedelta(seconds=s.lockout_seconds))
                    repository.record(db, "locked_out", key.split(":")[0], now, user_id=user_id)
                elif failures >= free:
                    exponent = min(failures - free, 30)
                    wait = min(s.backoff_base_seconds * 2**exponent, s.backoff_max_seconds)
                    repository.block(db, key, now + timedelta(seconds=wait))
            repository.record(db, "sign_in_failed", "", now, user_id=user_id)

    # ------------------------------------------------------------------ sessions

    def _live_session(self, db: Session, token: str | None, now: datetime) -> WebSession:
        if not token:
            raise SessionInvalidError()
        web_session = repository.session_by_token(db, credentials.token_hash(token))
        if web_session is None:
            raise SessionInvalidError()
        idle_since = now - timedelta(seconds=self.settings.session_idle_seconds)
        if not repository.touch_session(db, web_session.id, now, idle_since):
            raise SessionInvalidError()
        user = repository.user(db, web_session.user_id)
        if user is None or user.disabled_at is not None:
            raise SessionInvalidError()
        return web_session

    def authenticate(self, token: str | None) -> Principal:
        """The principal of a live session, recording its use (which restarts the idle timer).

        Raises:
            SessionInvalidError: unknown, revoked, past its absolute expiry or idle too long.
        """
        now = self.clock()
        with self.sessions.begin() as db:
            web_session = self._live_session(db, token, now)
            return Principal(web_session.user_id, web_session.id, web_session.expires_at)

    def sign_out(self, token: str) -> None:
        """Ends this session."""
        now = self.clock()
        with self.sessions.begin() as db:
            web_session = repository.session_by_token(db, credentials.token_hash(token))
            if web_session is not None and repository.revoke_session(db, web_session.id, now):
                repository.record(db, "signed_out", "", now, user_id=web_session.user_id)

    def sign_out_everywhere(self, token: str) -> int:
        """Ends every session of the signed-in user (a lost phone, a shared computer).

        Returns:
            How many sessions were ended (this one included).
        """
        now = self.clock()
        with self.sessions.begin() as db:
            web_session = self._live_session(db, token, now)
            ended = repository.revoke_sessions_of(db, web_session.user_id, now)
            repository.record(
                db, "signed_out_everywhere", f"{ended} sessions", now, user_id=web_session.user_id
            )
        logger.info("merchant user %s signed out everywhere (%d sessions)", web_session.user_id, ended)
        return ended

    def change_password(self, token: str, current: str, new: str) -> SignedIn:
        """Changes the signed-in user's password and ends every session, this one included, then
        opens a fresh one (whoever knew the old password, or holds an old cookie, is out).

        Raises:
            SessionInvalidError: the session is not valid.
            InvalidCredentialsError: ``current`` is wrong (counted by the throttle).
            WeakPasswordError: ``new`` is too short or too long.
        """
        now = self.clock()
        self._check_password_policy(new)
        with self.sessions.begin() as db:
            web_session = self._live_session(db, token, now)
            user = self._user(db, web_session.user_id)
            keys = (_account_key(user.email), _address_key(web_session.client_address))
            self._check_throttle(db, keys, now)
            changed = self.passwords.verify(user.password_hash, current)
            if changed:
                user.password_hash = self.passwords.hash(new)
                user.updated_at = now
                ended = repository.revoke_sessions_of(db, user.id, now)
                repository.record(db, "password_changed", f"{ended} sessions ended", now, user_id=user.id)
        if not changed:
            self._count_failure(keys, now, user.id)
            raise InvalidCredentialsError()
        return self._open_session(user, web_session.client_address, None, new, now)

    def disable_user(self, user_id: uuid.UUID, operator: str) -> int:
        """The operator disables a user (left the business, compromised): no sign-in, every session
        ended at once.

        Returns:
            How many sessions were ended.

        Raises:
            UserNotFoundError: no such user.
        """
        now = self.clock()
        with self.sessions.begin() as db:
            user = self._user(db, user_id)
            user.disabled_at = now
            user.updated_at = now
            ended = repository.revoke_sessions_of(db, user_id, now)
            repository.record(db, "disabled", f"by operator {operator}", now, user_id=user_id)
        logger.info("merchant user %s disabled by %s (%d sessions ended)", user_id, operator, ended)
        return ended

    def remove_member(self, token: str, merchant_id: uuid.UUID, user_id: uuid.UUID) -> bool:
        """An owner removes a user's role for the merchant (a cashier who left, another owner).

        Returns:
            Whether the user had a role.

        Raises:
            SessionInvalidError, PermissionDeniedError: as :meth:`authorize` (``manage_users``).
            LastOwnerError: it is the merchant's only owner.
        """
        principal = self.authorize(token, merchant_id, Permission.MANAGE_USERS)
        now = self.clock()
        with self.sessions.begin() as db:
            owners = repository.owners(db, merchant_id, lock=True)
            if owners == [user_id]:
                raise LastOwnerError(merchant_id)
            removed = repository.remove_membership(db, user_id, merchant_id)
            if removed:
                repository.record(
                    db,
                    "member_removed",
                    f"by user {principal.user_id}",
                    now,
                    user_id=user_id,
                    merchant_id=merchant_id,
                )
        return removed

    # ------------------------------------------------------------------ authorization

    def role(self, user_id: uuid.UUID, merchant_id: uuid.UUID) -> Role | None:
        """The user's role for the merchant, or None."""
        with self.sessions() as db:
            value = repository.role(db, user_id, merchant_id)
        return Role(value) if value is not None else None

    def authorize(self, token: str | None, merchant_id: uuid.UUID, permission: Permission) -> Principal:
        """The principal of a live session whose role for ``merchant_id`` allows ``permission``.

        Permissions that move money or its destination (``SECOND_FACTOR_PERMISSIONS``) also need
        :meth:`require_second_factor` with a code; this check alone never grants them.

        Raises:
            SessionInvalidError: the session is not valid.
            PermissionDeniedError: no role for the merchant, or one without the permission.
        """
        principal = self.authenticate(token)
        role = self.role(principal.user_id, merchant_id)
        if role is None or permission not in ROLE_PERMISSIONS[role]:
            raise PermissionDeniedError(principal.user_id, merchant_id, permission)
        return principal

    def require_second_factor(
        self, token: str | None, merchant_id: uuid.UUID, permission: Permission, code: str | None
    ) -> Principal:
        """Authorizes a payout or a bank-account change: the role allows it and ``code`` (TOTP or
        recovery) is verified now, once.

        Raises:
            SessionInvalidError, PermissionDeniedError: as :meth:`authorize`.
            SecondFactorRequiredError: no second factor enrolled, no code, or a wrong or used code.
        """
        principal = self.authorize(token, merchant_id, permission)
        now = self.clock()
        with self.sessions.begin() as db:
            user = repository.user(db, principal.user_id)
            if user is None or user.totp_enabled_at is None:
                raise SecondFactorRequiredError("set up an authenticator app first")
            if not code:
                raise SecondFactorRequiredError("enter the code from your authenticator app")
            verified = self._use_second_factor(db, user, code, now)
            if verified:
                repository.mark_second_factor(db, principal.session_id, now)
                repository.record(
                    db,
                    "second_factor_verified",
                    str(permission),
                    now,
                    user_id=user.id,
                    merchant_id=merchant_id,
                )
        if not verified:
            with self.sessions.begin() as db:
                repository.record(db, "second_factor_failed", str(permission), now, user_id=principal.user_id)
            raise SecondFactorRequiredError("the code is wrong or was used already")
        return principal

    # ------------------------------------------------------------------ second factor

    def begin_totp(self, token: str) -> TotpEnrolment:
        """Starts (or restarts) TOTP enrolment for the signed-in user; in force after :meth:`confirm_totp`.

        Raises:
            TotpStateError: a second factor is on already.
        """
        now = self.clock()
        with self.sessions.begin() as db:
            web_session = self._live_session(db, token, now)
            user = self._user(db, web_session.user_id)
            if user.totp_enabled_at is not None:
                raise TotpStateError("it is on already")
            secret = credentials.new_totp_secret()
            user.totp_secret = self.seeds.seal(user.id, secret)
            user.totp_last_step = None
            user.updated_at = now
            return TotpEnrolment(secret, credentials.provisioning_uri(secret, user.email))

    def confirm_totp(self, token: str, code: str) -> list[str]:
        """Turns the second factor on once the app shows a right code; returns the recovery codes
        (shown once, stored hashed).

        Raises:
            TotpStateError: no enrolment started, or it is on already.
            SecondFactorRequiredError: the code is wrong.
        """
        now = self.clock()
        with self.sessions.begin() as db:
            web_session = self._live_session(db, token, now)
            user = self._user(db, web_session.user_id)
            if user.totp_enabled_at is not None or user.totp_secret is None:
                raise TotpStateError(
                    "start the enrolment first" if user.totp_secret is None else "it is on already"
                )
            seed = self.seeds.open(user.id, user.totp_secret)
            step = credentials.totp_step(seed, code, now, user.totp_last_step)
            if step is None or not repository.use_totp_step(db, user.id, step):
                raise SecondFactorRequiredError("the code is wrong; check the phone's clock")
            codes = [credentials.new_recovery_code() for _ in range(self.settings.recovery_codes)]
            for recovery in codes:
                db.add(RecoveryCode(user_id=user.id, code_hash=credentials.recovery_code_hash(recovery)))
            user.totp_enabled_at = now
            user.updated_at = now
            repository.mark_second_factor(db, web_session.id, now)
            repository.record(db, "second_factor_enabled", "totp", now, user_id=user.id)
            return codes

    def reseal_totp_seeds(self, batch: int = 500) -> int:
        """Re-seals up to ``batch`` TOTP seeds from a previous master key to the current one.

        Part of a master-key rotation, beside ``EnvelopeKeyManager.rewrap``; seeds under a master
        key not configured are left as they are.

        Returns:
            How many seeds were re-sealed; call until 0.
        """
        previous = self.seeds.previous_ids
        if not previous:
            return 0
        with self.sessions.begin() as db:
            users = repository.users_with_seed_under(db, previous, batch)
            for user in users:
                if user.totp_secret is not None:
                    user.totp_secret = self.seeds.seal(user.id, self.seeds.open(user.id, user.totp_secret))
            return len(users)

    def recovery_codes_left(self, user_id: uuid.UUID) -> int:
        """How many unused recovery codes the user has."""
        with self.sessions() as db:
            return repository.unused_recovery_codes(db, user_id)

    def _use_second_factor(self, db: Session, user: MerchantUser, code: str, now: datetime) -> bool:
        """Verifies and uses up a TOTP code (or a recovery code) of ``user``; False when wrong or used."""
        if user.totp_secret is None:
            return False
        step = credentials.totp_step(
            self.seeds.open(user.id, user.totp_secret), code, now, user.totp_last_step
        )
        if step is not None:
            return repository.use_totp_step(db, user.id, step)
        return repository.use_recovery_code(db, user.id, credentials.recovery_code_hash(code), now)

    def _user(self, db: Session, user_id: uuid.UUID) -> MerchantUser:
        user = repository.user(db, user_id)
        if user is None:
            raise UserNotFoundError(user_id)
        return user

    # ------------------------------------------------------------------ CSRF

    def csrf_token(self, token: str) -> str:
        """A CSRF token for a form of this session.

        Raises:
            SessionInvalidError: the session is not valid.
        """
        now = self.clock()
        with self.sessions.begin() as db:
            return csrf.issue(self._live_session(db, token, now).csrf_secret)

    def check_csrf(self, token: str | None, presented: str | None) -> Principal:
        """The session's principal if ``presented`` is a CSRF token of this session.

        Raises:
            SessionInvalidError: the session is not valid.
            CsrfTokenInvalidError: the form's token is missing or another session's.
        """
        now = self.clock()
        with self.sessions.begin() as db:
            web_session = self._live_session(db, token, now)
            if not csrf.verify(web_session.csrf_secret, presented):
                raise CsrfTokenInvalidError()
            return Principal(web_session.user_id, web_session.id, web_session.expires_at)
