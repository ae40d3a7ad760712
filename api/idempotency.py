"""Stripe-style ``Idempotency-Key`` for POSTs.

A POST carrying ``Idempotency-Key: <key>`` is executed at most once per (API key, key):

* the first request claims the key by inserting its record **in the same transaction as its
  effect**, and stores the response status and body before committing; if it fails, the
  transaction (record included) rolls back and the key can be retried;
* a repeat with the same method, path and JSON body gets the stored status and body replayed,
  byte for byte, with ``Idempotent-Replayed: true``;
* a repeat with a different request is 409 ``idempotency_key_reused``;
* a concurrent duplicate blocks on the unique index (PostgreSQL) or the write lock (SQLite)
  until the first commits, then is replayed; if the first is still running after the database's
  lock wait, it gets 409 ``idempotency_in_progress`` and can retry.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import Response
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from api.auth import Principal, authenticate
from api.models import IdempotencyRecord
from common.errors import ConflictError, MSCError
from common.sql.helpers import insert_or_ignore, utcnow

MAX_KEY_LENGTH = 255
REPLAYED_HEADER = "Idempotent-Replayed"
# How long a duplicate waits on PostgreSQL for the first request before answering "in progress".
PG_LOCK_TIMEOUT = "10s"


class InvalidIdempotencyKeyError(MSCError):
    """The ``Idempotency-Key`` header is empty, too long or not printable ASCII."""

    code = "invalid_idempotency_key"
    status_code = 400

    def __init__(self) -> None:
        super().__init__(f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable ASCII characters")


class IdempotencyKeyReusedError(ConflictError):
    """The key was already used for a different request."""

    code = "idempotency_key_reused"

    def __init__(self, key: str) -> None:
        super().__init__(
            f"Idempotency-Key {key!r} was already used with a different request; use a new key",
            key=key,
        )


class IdempotencyInProgressError(ConflictError):
    """Another request with the same key is still running."""

    code = "idempotency_in_progress"

    def __init__(self, key: str) -> None:
        super().__init__(f"a request with Idempotency-Key {key!r} is still in progress; retry", key=key)


@dataclass(frozen=True)
class Idempotency:
    """The idempotency context of one POST (see the module docstring)."""

    key: str | None
    api_key_id: uuid.UUID
    request_hash: str

    def run(
        self,
        sessions: sessionmaker[Session],
        effect: Callable[[Session], Any],
        *,
        status_code: int,
        redact: Callable[[Any], Any] | None = None,
    ) -> Response:
        """Runs ``effect`` once for this key, in one transaction with the idempotency record.

        Args:
            sessions: Session factory; a transaction is opened here.
            effect: Does the work in the given session and returns the response model.
            status_code: Status of a successful response.
            redact: Turns the JSON body into what may be stored (e.g. drops a one-time secret).

        Raises:
            IdempotencyKeyReusedError: the key was used for another request.
            IdempotencyInProgressError: a duplicate did not finish within the lock wait.
        """
        with sessions.begin() as session:
            if self.key is not None:
                replay = self._claim(session, self.key)
                if replay is not None:
                    return replay
            body = jsonable_encoder(effect(session))
            rendered = _render(body)
            if self.key is not None:
                stored = _render(redact(body)) if redact is not None else rendered
                self._complete(session, self.key, status_code, stored)
        return Response(rendered, status_code=status_code, media_type="application/json")

    def _claim(self, session: Session, key: str) -> Response | None:
        """Inserts the record, or returns the stored response of an earlier identical request."""
        postgres = session.get_bind().dialect.name == "postgresql"
        try:
            if postgres:
                session.execute(text(f"SET LOCAL lock_timeout = '{PG_LOCK_TIMEOUT}'"))
            inserted = insert_or_ignore(
                session,
                IdempotencyRecord.__table__,  # type: ignore[arg-type]
                {
                    "id": uuid.uuid4(),
                    "api_key_id": self.api_key_id,
                    "key": key,
                    "request_hash": self.request_hash,
                    "created_at": utcnow(),
                },
                conflict=["api_key_id", "key"],
            )
            if postgres:
                session.execute(text("SET LOCAL lock_timeout = DEFAULT"))
        except OperationalError as exc:  # lock wait exceeded (PG lock_timeout, SQLite busy_timeout)
            raise IdempotencyInProgressError(key) from exc
        if inserted:
            return None
        record = session.scalars(
            select(IdempotencyRecord).where(
                IdempotencyRecord.api_key_id == self.api_key_id, IdempotencyRecord.key == key
            )
        ).one()
        if record.request_hash != self.request_hash:
            raise IdempotencyKeyReusedError(key)
        if record.response_status is None or record.response_body is None:
            raise IdempotencyInProgressError(key)  # unreachable while records commit with effects
        return Response(
            record.response_body,
            status_code=record.response_status,
            media_type="application/json",
            headers={REPLAYED_HEADER: "true"},
        )

    def _complete(self, session: Session, key: str, status_code: int, body: str) -> None:
        record = session.scalars(
            select(IdempotencyRecord).where(
                IdempotencyRecord.api_key_id == self.api_key_id, IdempotencyRecord.key == key
            )
        ).one()
        record.response_status = status_code
        record.response_body = body


def _render(body: Any) -> str:
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


def request_hash(method: str, path: str, body: bytes) -> str:
    """SHA-256 of the request; JSON bodies are canonicalised so whitespace and key order don't count."""
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        canonical = body
    digest = hashlib.sha256(f"{method} {path}\n".encode())
    digest.update(canonical)
    return digest.hexdigest()


async def idempotency(
    request: Request,
    principal: Annotated[Principal, Depends(authenticate)],
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            description="Makes the POST safe to retry: the same key and body replay the first response; "
            "a different body with the same key is 409. Scoped to the API key.",
            max_length=MAX_KEY_LENGTH,
        ),
    ] = None,
) -> Idempotency:
    """The idempotency context of the request (a dependency).

    Raises:
        InvalidIdempotencyKeyError: the header is empty or not printable ASCII.
    """
    if idempotency_key is not None and (
        not idempotency_key or not all(" " <= ch <= "~" for ch in idempotency_key)
    ):
        raise InvalidIdempotencyKeyError()
    body = await request.body()
    return Idempotency(
        key=idempotency_key,
        api_key_id=principal.api_key_id,
        request_hash=request_hash(request.method, request.url.path, body),
    )
