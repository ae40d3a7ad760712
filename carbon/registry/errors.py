"""Errors of the registry adapter (SRN-PPI / IDXCarbon side of carbon-credit tokenisation).

Two families matter to callers, because they decide what a retry may do:

* :class:`RegistryRefusedError` and its subclasses: the registry looked at the request and said no
  (unknown project, not enough verified units, serials already locked, ...). Refusals are final for
  that request: sending it again, even with backoff, gives the same answer, so nothing retries them.
* :class:`RegistryUnavailableError`: the registry could not be reached or kept failing (timeouts,
  429, 5xx) after every retry. The request may or may not have been applied; sending it again with
  the same idempotency key is always safe and is what the outbox does.

Every class keeps the ``(message, **details)`` constructor of :class:`MSCError`, so the HTTP client can
rebuild the exact error the registry server raised from its JSON body (``error`` code + details).
"""

from __future__ import annotations

from common.errors import ConflictError, MSCError, NotFoundError, ValidationError


class RegistryRefusedError(MSCError):
    """The registry refused the request; retrying it unchanged cannot succeed."""

    code = "registry_refused"
    status_code = 409


class UnknownProjectError(RegistryRefusedError, NotFoundError):
    """No project with this id is registered."""

    code = "unknown_project"
    status_code = 404


class InsufficientVerifiedUnitsError(RegistryRefusedError, ConflictError):
    """The project + vintage does not hold that many verified, unencumbered units (or those serials)."""

    code = "insufficient_verified_units"
    status_code = 409


class DuplicateSerialsError(RegistryRefusedError, ConflictError):
    """Some of the serials asked for are already locked, tokenised, retired or bridged back."""

    code = "duplicate_serials"
    status_code = 409


class UnknownRegistryAccountError(RegistryRefusedError, NotFoundError):
    """No registry account with this id exists (the destination of a bridge-back)."""

    code = "unknown_registry_account"
    status_code = 404


class UnknownTokenisationError(RegistryRefusedError, NotFoundError):
    """No tokenisation with this registry reference exists."""

    code = "unknown_tokenisation"
    status_code = 404


class UnknownTokenError(RegistryRefusedError, NotFoundError):
    """No minted tokenisation was confirmed under this token id."""

    code = "unknown_token"
    status_code = 404


class UnknownBridgeBackError(RegistryRefusedError, NotFoundError):
    """No bridge-back request with this id exists."""

    code = "unknown_bridge_back"
    status_code = 404


class InsufficientTokenisedUnitsError(RegistryRefusedError, ConflictError):
    """Fewer live tokenised units exist for this token id than the retirement / bridge-back needs."""

    code = "insufficient_tokenised_units"
    status_code = 409


class RegistryStateConflictError(RegistryRefusedError, ConflictError):
    """The request contradicts what the registry already recorded (e.g. a second, different mint)."""

    code = "registry_state_conflict"
    status_code = 409


class IdempotencyKeyReusedError(RegistryRefusedError, ConflictError):
    """The idempotency key was already used for a different request; nothing was changed."""

    code = "idempotency_key_reused"
    status_code = 422


class InvalidRegistryRequestError(RegistryRefusedError, ValidationError):
    """The request is malformed or out of range (bad tonnes, serials, tx hash, ...)."""

    code = "invalid_registry_request"
    status_code = 422


class RegistryAuthError(MSCError):
    """The registry rejected our credentials (HTTP 401/403): a configuration problem, never retried."""

    code = "registry_unauthorized"
    status_code = 502


class RegistryUnavailableError(MSCError):
    """The registry could not be reached or kept failing after every retry; the outcome is unknown."""

    code = "registry_unavailable"
    status_code = 503


class RegistryProtocolError(MSCError):
    """The registry answered something API.md does not allow (bad JSON, unknown shape)."""

    code = "registry_protocol_error"
    status_code = 502


ERRORS_BY_CODE: dict[str, type[MSCError]] = {
    cls.code: cls
    for cls in (
        RegistryRefusedError,
        UnknownProjectError,
        InsufficientVerifiedUnitsError,
        DuplicateSerialsError,
        UnknownRegistryAccountError,
        UnknownTokenisationError,
        UnknownTokenError,
        UnknownBridgeBackError,
        InsufficientTokenisedUnitsError,
        RegistryStateConflictError,
        IdempotencyKeyReusedError,
        InvalidRegistryRequestError,
        RegistryAuthError,
    )
}
"""Error classes by the ``error`` code the registry API puts in its JSON error bodies."""


def error_from_wire(code: str, message: str, details: dict[str, object] | None) -> MSCError:
    """Rebuilds the error a registry answered with, or a generic refusal for an unknown code."""
    cls = ERRORS_BY_CODE.get(code, RegistryRefusedError)
    extra = dict(details or {})
    if cls is RegistryRefusedError and code != RegistryRefusedError.code:
        extra["registry_code"] = code
    return cls(message, **extra)
