"""Errors of quoting, each built from the quote or source it is about."""

from __future__ import annotations

import uuid
from datetime import datetime

from common.errors import ConflictError, MSCError, NotFoundError


class RateUnavailableError(MSCError):
    """The rate source cannot give a usable rate; no quote can be made now."""

    code = "rate_unavailable"
    status_code = 503

    def __init__(self, source: str, problem: str) -> None:
        super().__init__(f"rate source {source} is unavailable: {problem}", source=source)


class QuoteNotFoundError(NotFoundError):
    """No quote has this id."""

    code = "quote_not_found"

    def __init__(self, quote_id: uuid.UUID) -> None:
        super().__init__(f"quote {quote_id} does not exist", quote_id=str(quote_id))


class QuoteExpiredError(ConflictError):
    """The quote's firm price is no longer honoured."""

    code = "quote_expired"

    def __init__(self, quote_id: uuid.UUID, expires_at: datetime, now: datetime) -> None:
        super().__init__(
            f"quote {quote_id} expired at {expires_at.isoformat()} (now {now.isoformat()}); "
            "request a new quote",
            quote_id=str(quote_id),
            expires_at=expires_at.isoformat(),
        )


class QuoteAlreadyUsedError(ConflictError):
    """The quote was already taken by another payment; a quote pays for one payment only."""

    code = "quote_already_used"

    def __init__(self, quote_id: uuid.UUID, payment_id: uuid.UUID | None) -> None:
        super().__init__(
            f"quote {quote_id} is already used by payment {payment_id}",
            quote_id=str(quote_id),
            payment_id=str(payment_id),
        )
