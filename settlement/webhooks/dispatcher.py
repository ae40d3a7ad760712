"""Delivers due webhook deliveries: claim, sign, POST, then record the outcome.

At-least-once delivery, made exactly-once in effect by the event id every attempt carries:

* a delivery is claimed by a conditional UPDATE (``pending`` and due, or ``sending`` with an
  expired lease); only one dispatcher's UPDATE matches, so two never own it at once;
* the claim commits before the POST; the outcome is recorded only if the claim is still ours;
* a dispatcher killed between the POST and the record leaves the delivery ``sending``; after the
  lease any dispatcher sends it again with the same event id and body, which receivers de-duplicate.

A 2xx answer delivers. Anything else (another status, a timeout, a refused connection) schedules a
retry after an exponential backoff with jitter, until ``max_attempts``, after which the delivery
is ``dead`` (a merchant can still redeliver it by hand). Redirects are not followed: a webhook
URL that moved must be updated by its merchant.

Each attempt resolves the endpoint's host, refuses private and local addresses
(:mod:`settlement.webhooks.targets`) and connects to the address it checked, so a URL registered
before the check, or a name re-pointed since, cannot reach the platform's own network. What an
attempt records for the merchant is the status code and a generic reason, never the receiver's
body or a low-level error text.
"""

from __future__ import annotations

import logging
import random
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
from sqlalchemy import Engine, and_, or_, select, update
from sqlalchemy.orm import Session

from common.sql.helpers import utcnow
from settlement.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint, WebhookEvent
from settlement.webhooks.service import active_secrets
from settlement.webhooks.signing import SIGNATURE_HEADER, sign
from settlement.webhooks.targets import (
    Resolver,
    TargetPolicy,
    WebhookTargetRefusedError,
    pinned_request,
    resolve_target,
)

log = logging.getLogger(__name__)

USER_AGENT = "MSC-Webhooks/1"
MAX_ERROR_CHARS = 500


def failure_reason(status_code: int | None, exc: Exception | None = None) -> str:
    """The reason an attempt failed as the merchant sees it: never the receiver's answer or an
    exception's text (either could carry what an internal service said)."""
    if isinstance(exc, WebhookTargetRefusedError):
        return exc.message[:MAX_ERROR_CHARS]
    if status_code is not None:
        if 300 <= status_code < 400:
            return f"HTTP {status_code}: redirects are not followed; register the final URL"
        return f"HTTP {status_code}: the endpoint did not answer 2xx"
    if isinstance(exc, httpx.TimeoutException):
        return "no answer within the timeout"
    return "the endpoint could not be reached"


@dataclass(frozen=True)
class Attempt:
    """What one POST of a claimed delivery needs."""

    delivery_id: int
    claim_token: str
    attempts: int
    event_id: str
    event_type: str
    body: str
    url: str | None
    """None when the endpoint was deleted after the delivery was scheduled."""
    secrets: list[str]


@dataclass
class DispatchReport:
    """What one :meth:`WebhookDispatcher.run_once` did, by delivery id."""

    delivered: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    dead: list[int] = field(default_factory=list)
    lost_claims: list[int] = field(default_factory=list)
    """Deliveries whose claim another dispatcher took over before the outcome was recorded."""

    @property
    def handled(self) -> int:
        """Deliveries this run claimed and tried."""
        return len(self.delivered) + len(self.retrying) + len(self.dead) + len(self.lost_claims)


def backoff_delay(attempts: int, base_s: float, max_s: float, jitter: float) -> float:
    """Seconds to wait after the ``attempts``-th failed attempt: ``base * 2^(attempts-1)``, capped,
    scaled by ``jitter`` in [0.5, 1] ("equal jitter": never less than half the nominal delay, and
    retries of many deliveries that failed together spread out instead of arriving together)."""
    nominal = min(max_s, base_s * 2 ** max(0, attempts - 1))
    return nominal * min(1.0, max(0.5, jitter))


class WebhookDispatcher:
    """Delivers webhooks from one database; any number may run at once.

    Args:
        engine: The database with the webhook tables.
        client: The HTTP client (default: one with ``timeout_s`` and no redirects).
        timeout_s: Per-request timeout of the default client.
        max_attempts: Attempts before a delivery is dead.
        backoff_base_s / backoff_max_s: First retry delay and its cap (doubling per attempt).
        lease_s: How long a claim lasts; must outlast one POST.
        batch_size: Deliveries looked at per :meth:`run_once`.
        clock: Current time (tests move it forward instead of sleeping).
        jitter: Returns a factor in [0.5, 1] per retry (default: uniform random).
        on_sent: Called after the POST and before the outcome is recorded (tests crash there).
        policy: Which target addresses are allowed (default: public addresses only).
        resolver: Resolves a host to addresses (default: the system's; tests inject one).
    """

    def __init__(
        self,
        engine: Engine,
        *,
        client: httpx.Client | None = None,
        timeout_s: float = 10.0,
        max_attempts: int = 8,
        backoff_base_s: float = 30.0,
        backoff_max_s: float = 6 * 3600.0,
        lease_s: float = 60.0,
        batch_size: int = 50,
        clock: Callable[[], datetime] = utcnow,
        jitter: Callable[[], float] | None = None,
        on_sent: Callable[[Attempt, int | None], None] | None = None,
        policy: TargetPolicy | None = None,
        resolver: Resolver | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._engine = engine
        self._client = client or httpx.Client(timeout=timeout_s, follow_redirects=False)
        self._owns_client = client is None
        self._max_attempts = max_attempts
        self._base = backoff_base_s
        self._max = backoff_max_s
        self._lease = timedelta(seconds=lease_s)
        self._batch = batch_size
        self._clock = clock
        self._jitter = jitter or (lambda: random.uniform(0.5, 1.0))
        self._on_sent = on_sent
        self._policy = policy or TargetPolicy()
        self._resolver = resolver

    def close(self) -> None:
        """Closes the HTTP client if this dispatcher made it."""
        if self._owns_client:
            self._client.close()

    def run_once(self) -> DispatchReport:
        """Claims, sends and records every due delivery (up to ``batch_size``), one at a time."""
        report = DispatchReport()
        for delivery_id in self._due_ids():
            attempt = self._claim(delivery_id)
            if attempt is not None:
                self._deliver(attempt, report)
        return report

    def run(self, stop: threading.Event, idle_s: float = 1.0) -> None:
        """Dispatches until ``stop`` is set, sleeping ``idle_s`` when nothing was due."""
        while not stop.is_set():
            if self.run_once().handled == 0:
                stop.wait(idle_s)

    # ------------------------------------------------------------------ internals

    def _due(self, now: datetime) -> object:
        d = WebhookDelivery
        return or_(
            and_(d.status == DeliveryStatus.PENDING.value, d.next_attempt_at <= now),
            and_(d.status == DeliveryStatus.SENDING.value, d.lease_until < now),
        )

    def _due_ids(self) -> list[int]:
        query = (
            select(WebhookDelivery.id)
            .where(self._due(self._clock()))  # type: ignore[arg-type]
            .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
            .limit(self._batch)
        )
        with self._engine.connect() as connection:
            return [row.id for row in connection.execute(query)]

    def _claim(self, delivery_id: int) -> Attempt | None:
        """Takes the delivery if it is still due (the conditional UPDATE is the claim)."""
        now = self._clock()
        token = uuid.uuid4().hex
        claim = (
            update(WebhookDelivery)
            .where(WebhookDelivery.id == delivery_id, self._due(now))  # type: ignore[arg-type]
            .values(
                status=DeliveryStatus.SENDING.value,
                claim_token=token,
                lease_until=now + self._lease,
                attempts=WebhookDelivery.attempts + 1,
            )
        )
        # The UPDATE comes first in its transaction: SQLite takes the write lock before reading and
        # PostgreSQL re-checks the WHERE after a concurrent claim commits.
        with Session(self._engine) as session, session.begin():
            if session.execute(claim).rowcount != 1:  # type: ignore[attr-defined]
                return None
            delivery = session.get_one(WebhookDelivery, delivery_id)
            event = session.get_one(WebhookEvent, delivery.event_id)
            endpoint = session.get_one(WebhookEndpoint, delivery.endpoint_id)
            live = endpoint.deleted_at is None
            return Attempt(
                delivery_id=delivery_id,
                claim_token=token,
                attempts=delivery.attempts,
                event_id=event.id,
                event_type=event.type,
                body=event.body,
                url=endpoint.url if live else None,
                secrets=active_secrets(session, endpoint.id, now) if live else [],
            )

    def _deliver(self, attempt: Attempt, report: DispatchReport) -> None:
        if attempt.url is None or not attempt.secrets:
            self._record(
                attempt, report.dead, report, status=DeliveryStatus.DEAD, last_error="endpoint deleted"
            )
            return
        status_code: int | None = None
        error: str | None = None
        try:
            response = self._post(attempt)
            status_code = response.status_code
            if not 200 <= status_code < 300:
                error = failure_reason(status_code)
        except (httpx.HTTPError, WebhookTargetRefusedError) as exc:
            log.info("webhook delivery %d failed: %r", attempt.delivery_id, exc)
            error = failure_reason(None, exc)
        if self._on_sent is not None:
            self._on_sent(attempt, status_code)
        if error is None:
            self._record(
                attempt,
                report.delivered,
                report,
                status=DeliveryStatus.DELIVERED,
                last_status_code=status_code,
                last_error=None,
                delivered_at=self._clock(),
            )
            return
        if attempt.attempts >= self._max_attempts:
            log.warning(
                "webhook delivery %d is dead after %d attempts: %s",
                attempt.delivery_id,
                attempt.attempts,
                error,
            )
            self._record(
                attempt,
                report.dead,
                report,
                status=DeliveryStatus.DEAD,
                last_status_code=status_code,
                last_error=error,
            )
            return
        delay = backoff_delay(attempt.attempts, self._base, self._max, self._jitter())
        self._record(
            attempt,
            report.retrying,
            report,
            status=DeliveryStatus.PENDING,
            last_status_code=status_code,
            last_error=error,
            next_attempt_at=self._clock() + timedelta(seconds=delay),
        )

    def _post(self, attempt: Attempt) -> httpx.Response:
        """Resolves and checks the target, then POSTs to the checked address (no second lookup).

        Raises:
            WebhookTargetRefusedError: the host is, or resolves to, a refused address.
            httpx.HTTPError: the POST failed.
        """
        assert attempt.url is not None
        target = resolve_target(attempt.url, self._policy, self._resolver)
        payload = attempt.body.encode()
        timestamp = int(self._clock().timestamp())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            SIGNATURE_HEADER: sign(payload, attempt.secrets, timestamp),
            "MSC-Event-Id": attempt.event_id,
            "MSC-Event-Type": attempt.event_type,
        }
        return pinned_request(self._client, target, payload, headers)

    def _record(
        self,
        attempt: Attempt,
        bucket: list[int],
        report: DispatchReport,
        *,
        status: DeliveryStatus,
        **values: object,
    ) -> None:
        """Records the outcome if the claim is still ours (else another dispatcher owns it now)."""
        statement = (
            update(WebhookDelivery)
            .where(
                WebhookDelivery.id == attempt.delivery_id,
                WebhookDelivery.claim_token == attempt.claim_token,
                WebhookDelivery.status == DeliveryStatus.SENDING.value,
            )
            .values(status=status.value, claim_token=None, lease_until=None, **values)
        )
        with self._engine.begin() as connection:
            if connection.execute(statement).rowcount == 1:
                bucket.append(attempt.delivery_id)
                return
        log.warning("webhook delivery %d: claim lost before its outcome was recorded", attempt.delivery_id)
        report.lost_claims.append(attempt.delivery_id)
