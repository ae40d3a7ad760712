"""The one error root of the platform.

Every error raised on purpose is an :class:`MSCError`: it carries a message meant for the person
who caused it, a stable machine-readable ``code`` and the HTTP status the API answers with. Domain
errors subclass it next to the service they belong to and build their message from the object
they are about, so one handler in the API turns any of them into a clear response.
"""

from __future__ import annotations

from typing import Any, ClassVar


class MSCError(Exception):
    """Root of every error the platform raises on purpose.

    Attributes:
        code: Stable snake_case identifier clients can switch on.
        status_code: HTTP status the API answers with.
        details: Extra structured context (never secrets), shown to the client.
    """

    code: ClassVar[str] = "msc_error"
    status_code: ClassVar[int] = 500

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        """The error as the JSON body the API returns."""
        body: dict[str, Any] = {"error": self.code, "message": self.message}
        if self.details:
            body["details"] = self.details
        return body


class ConfigurationError(MSCError):
    """A setting is missing or invalid; the process refuses to start with it."""

    code = "configuration_error"
    status_code = 500


class ValidationError(MSCError):
    """Input from a caller is malformed or out of range; nothing was changed."""

    code = "validation_error"
    status_code = 422


class NotFoundError(MSCError):
    """The thing asked for does not exist (or is not visible to the caller)."""

    code = "not_found"
    status_code = 404


class ConflictError(MSCError):
    """The request conflicts with the current state (a duplicate, a wrong status)."""

    code = "conflict"
    status_code = 409
