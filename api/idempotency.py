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

Some effects commit in a transaction of their own (the carbon market writes its book under its
own lock and transaction) and cannot share the record's transaction. For those,
:meth:`Idempotency.run_committed` claims the key in a committed "in progress" record first; a
concurrent duplicate waits for that record to be completed (or released on failure, when it
claims the key itself) and replays the stored answer, on SQLite and PostgreSQL alike. Only an
effect that is itself safe to repeat may use it (the market's is: the same signed order answers
its current state): a claim whose process died is taken over after :data:`STALE_CLAIM`.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import Response
from sqlalchemy import CursorResult, delete, select, text, update
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
# How long a duplicate of a committed claim (run_committed) waits for its answer, and how often it looks.
CLAIM_WAIT_SECONDS = 10.0
CLAIM_POLL_SECONDS = 0.02
STALE_CLAIM = timedelta(minutes=5)
"""A run_committed claim older than this, still unanswered, belongs to a dead process: taken over."""


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

    def run_committed(
        self,
        sessions: sessionmaker[Session],
        effect: Callable[[], tuple[Any, int]],
    ) -> Response:
        """Runs ``effect`` (which commits on its own) once for this key; duplicates replay its answer.

        The key is claimed in a committed record before the effect runs, the answer is stored after
        it; a failure releases the claim so the key can be retried. A concurrent duplicate waits for
        the answer instead of running the effect again (see the module docstring).

        Args:
            sessions: Session factory for the idempotency record.
            effect: Does the work in its own transaction; returns the response model and status.

        Raises:
            IdempotencyKeyReusedError: the key was used for another request.
            IdempotencyInProgressError: the first request did not answer within the wait.
        """
        if self.key is None:
            body, status_code = effect()
            return Response(
                _render(jsonable_encoder(body)), status_code=status_code, media_type="application/json"
            )
        key = self.key
        deadline = time.monotonic() + CLAIM_WAIT_SECONDS
        while True:
            claimed, replay = self._claim_committed(sessions, key)
            if replay is not None:
                return replay
            if claimed is not None:
                break
            if time.monotonic() > deadline:
                raise IdempotencyInProgressError(key)
            time.sleep(CLAIM_POLL_SECONDS)
        try:
            body, status_code = effect()
        except BaseException:
            with sessions.begin() as session:  # release the claim: the key may be retried
                session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.id == claimed))
            raise
        rendered = _render(jsonable_encoder(body))
        with sessions.begin() as session:
            session.execute(
                update(IdempotencyRecord)
                .where(IdempotencyRecord.id == claimed)
                .values(response_status=status_code, response_body=rendered)
            )
        return Response(rendered, status_code=status_code, media_type="application/json")

    def _claim_committed(
        self, sessions: sessionmaker[Session], key: str
    ) -> tuple[uuid.UUID | None, Response | None]:
        """One attempt: (our claim's id, None), (None, the stored answer) or (None, None) to wait."""
        claim = uuid.uuid4()
        now = utcnow()
        with sessions.begin() as session:
            inserted = insert_or_ignore(
                session,
                IdempotencyRecord.__table__,  # type: ignore[arg-type]
                {
                    "id": claim,
                    "api_key_id": self.api_key_id,
                    "key": key,
                    "request_hash": self.request_hash,
                    "created_at": now,
                },
                conflict=["api_key_id", "key"],
            )
            if inserted:
                return claim, None
            record = session.scalars(
                select(IdempotencyRecord).where(
                    IdempotencyRecord.api_key_id == self.api_key_id, IdempotencyRecord.key == key
                )
            ).one_or_none()
            if record is None:  # released between our insert and our read: claim again
                return None, None
            if record.request_hash != self.request_hash:
                raise IdempotencyKeyReusedError(key)
            if record.response_status is not None and record.response_body is not None:
                return None, _replay(record)
            if now - record.created_at > STALE_CLAIM:
                # Conditional: of several duplicates finding the same dead claim, one takes it over.
                result = session.execute(
                    update(IdempotencyRecord)
                    .where(
                        IdempotencyRecord.id == record.id,
                        IdempotencyRecord.created_at == record.created_at,
                        IdempotencyRecord.response_status.is_(None),
                    )
                    .values(created_at=now)
                )
                assert isinstance(result, CursorResult)
                if result.rowcount == 1:
                    return record.id, None
        return None, None

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
            # A run_committed claim of the same key on another route shape: answer "in progress".
            raise IdempotencyInProgressError(key)
        return _replay(record)

    def _complete(self, session: Session, key: str, status_code: int, body: str) -> None:
        record = session.scalars(
            select(IdempotencyRecord).where(
                IdempotencyRecord.api_key_id == self.api_key_id, IdempotencyRecord.key == key
            )
        ).one()
        record.response_status = status_code
        record.response_body = body


def _replay(record: IdempotencyRecord) -> Response:
    """The stored answer of a completed record, marked as a replay."""
    assert record.response_status is not None and record.response_body is not None
    return Response(
        record.response_body,
        status_code=record.response_status,
        media_type="application/json",
        headers={REPLAYED_HEADER: "true"},
    )


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
