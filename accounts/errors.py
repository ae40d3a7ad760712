"""Errors of merchant accounts.

Sign-in errors say nothing that tells a guesser which part was wrong or whether the account
exists: unknown e-mail and wrong password are the same :class:`InvalidCredentialsError`.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from common.errors import ConflictError, MSCError, NotFoundError, ValidationError


class InvalidCredentialsError(MSCError):
    """The e-mail and password (or the second factor) do not sign in; which one is not said."""

    code = "invalid_credentials"
    status_code = 401

    def __init__(self) -> None:
        super().__init__("the e-mail, password or code is wrong")


class LoginThrottledError(MSCError):
    """Too many failed sign-ins for this account or from this address: wait before trying again."""

    code = "login_throttled"
    status_code = 429

    def __init__(self, until: datetime) -> None:
        super().__init__(
            f"too many failed sign-ins; try again after {until.isoformat()}", retry_after=until.isoformat()
        )
        self.until = until


class SecondFactorRequiredError(MSCError):
    """The action (or the sign-in) needs a fresh TOTP or recovery code."""

    code = "second_factor_required"
    status_code = 403

    def __init__(self, why: str) -> None:
        super().__init__(f"a second factor is required: {why}")


class SessionInvalidError(MSCError):
    """The session is unknown, expired, idle too long or revoked: sign in again."""

    code = "session_invalid"
    status_code = 401

    def __init__(self) -> None:
        super().__init__("the session is not valid; sign in again")


class PermissionDeniedError(MSCError):
    """The user's role for the merchant does not allow this."""

    code = "permission_denied"
    status_code = 403

    def __init__(self, user_id: uuid.UUID, merchant_id: uuid.UUID, permission: str) -> None:
        super().__init__(
            f"user {user_id} may not {permission} for merchant {merchant_id}",
            merchant_id=str(merchant_id),
            permission=permission,
        )


class InvitationInvalidError(ConflictError):
    """The invitation token is unknown, used, revoked or expired (which one is not said)."""

    code = "invitation_invalid"

    def __init__(self) -> None:
        super().__init__("the invitation is not valid (used, withdrawn or expired); ask for a new one")


class WeakPasswordError(ValidationError):
    """The chosen password is too short or too long."""

    code = "weak_password"

    def __init__(self, why: str) -> None:
        super().__init__(f"choose another password: {why}")


class CsrfTokenInvalidError(MSCError):
    """A form came without its session's CSRF token (or with another session's)."""

    code = "csrf_token_invalid"
    status_code = 403

    def __init__(self) -> None:
        super().__init__("the form's security token is missing or wrong; reload the page")


class UserNotFoundError(NotFoundError):
    """No merchant user has this id."""

    code = "merchant_user_not_found"

    def __init__(self, user_id: uuid.UUID) -> None:
        super().__init__(f"merchant user {user_id} does not exist", user_id=str(user_id))


class TotpStateError(ConflictError):
    """The second factor is not in the state this step needs (not enrolled, already on)."""

    code = "totp_state"

    def __init__(self, why: str) -> None:
        super().__init__(f"second factor: {why}")


class LastOwnerError(ConflictError):
    """The merchant's only owner cannot be removed: nobody could take money out or manage users."""

    code = "last_owner"

    def __init__(self, merchant_id: uuid.UUID) -> None:
        super().__init__(f"merchant {merchant_id} must keep at least one owner", merchant_id=str(merchant_id))
