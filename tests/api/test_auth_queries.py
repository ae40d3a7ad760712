"""Authentication costs one indexed lookup per request, even when several dependencies need the caller."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, event

from tests.api.support import Harness, bearer, new_merchant

QUOTE = {"sell_asset": "PI", "buy_asset": "IDR", "sell_amount": 10 * 10**7}


@contextmanager
def api_key_lookups() -> Iterator[list[str]]:
    seen: list[str] = []

    def record(_conn, _cursor, statement, _params, _context, _many) -> None:  # type: ignore[no-untyped-def]
        if "FROM api_keys" in statement:
            seen.append(statement)

    event.listen(Engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(Engine, "before_cursor_execute", record)


def test_a_post_with_role_and_idempotency_checks_reads_the_key_once(api: Harness) -> None:
    _, key = new_merchant(api.db)
    headers = {**bearer(key), "Idempotency-Key": uuid.uuid4().hex}
    with api_key_lookups() as seen:
        response = api.client.post("/v1/quotes", json=QUOTE, headers=headers)
    assert response.status_code == 201, response.text
    assert len(seen) == 1
