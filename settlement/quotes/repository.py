"""SQL of quotes: insert, load, and the conditional update that hands a quote to one payment."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CursorResult, update
from sqlalchemy.orm import Session

from settlement.quotes.models import Quote


def add(session: Session, quote: Quote) -> Quote:
    """Inserts ``quote`` (flushed, so its id is visible to the transaction)."""
    session.add(quote)
    session.flush()
    return quote


def get(session: Session, quote_id: uuid.UUID, *, fresh: bool = False) -> Quote | None:
    """The quote with ``quote_id``; ``fresh`` re-reads it from the database."""
    return session.get(Quote, quote_id, populate_existing=fresh)


def mark_used(session: Session, quote_id: uuid.UUID, payment_id: uuid.UUID, now: datetime) -> bool:
    """Hands the quote to ``payment_id`` if it is unused and unexpired at ``now``.

    One ``UPDATE ... WHERE payment_id IS NULL AND expires_at > now``: of two payments racing for
    the same quote, the database lets exactly one match.

    Returns:
        Whether this call took the quote.
    """
    statement = (
        update(Quote)
        .where(Quote.id == quote_id, Quote.payment_id.is_(None), Quote.expires_at > now)
        .values(payment_id=payment_id, used_at=now)
        .execution_options(synchronize_session=False)
    )
    result = session.execute(statement)
    assert isinstance(result, CursorResult)
    return result.rowcount == 1
