"""The registry adapter over HTTP (httpx), speaking the REST shape of API.md.

Every state change sends an ``Idempotency-Key`` header and keeps the same key across its retries, so a
retry after a lost answer gets the registry's stored result instead of applying the change twice.
Retries (exponential backoff with full jitter) happen only where the outcome is unknown or the
registry asked to come back later: connection errors, timeouts, 429 (waiting at least its
``Retry-After``) and 5xx. A 4xx is the registry's answer to this exact request, so it is turned into
the typed error it names and never retried. When the attempts run out the call raises
:class:`RegistryUnavailableError`; the change may or may not have been applied, and repeating the call
with the same key is safe (the outbox does exactly that).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any, Self, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from carbon.registry.errors import (
    RegistryAuthError,
    RegistryProtocolError,
    RegistryRefusedError,
    RegistryUnavailableError,
    error_from_wire,
)
from carbon.registry.interface import (
    BridgeBackRequest,
    RetirementRecord,
    SerialRange,
    TokenisationReceipt,
    check_token_id,
    check_tonnes,
)
from carbon.registry.local import check_idempotency_key, derived_confirm_mint_key
from carbon.registry.schemas import (
    BridgeBackBody,
    BridgeBackRequestBody,
    ErrorBody,
    MintConfirmationBody,
    RetirementBody,
    RetirementRequestBody,
    SerialRangeBody,
    TokenisationBody,
    TokenisationRequestBody,
)
from carbon.registry.settings import RegistrySettings

logger = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)

RETRYABLE_STATUSES = frozenset({429}) | frozenset(range(500, 600))


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a call is retried.

    Attributes:
        max_attempts: Tries per call, the first included.
        base_delay: Delay cap of the first retry; doubles per retry ("full jitter": the actual delay
            is uniform in ``[0, cap]``, which spreads clients that failed together).
        max_delay: Upper bound of any backoff cap.
        max_retry_after: Longest ``Retry-After`` honoured; longer ends the call with the error.
    """

    max_attempts: int = 5
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_retry_after: float = 120.0

    def backoff(self, retry: int, rng: random.Random) -> float:
        """Delay before retry number ``retry`` (1-based), full jitter."""
        cap = min(self.max_delay, self.base_delay * 2 ** (retry - 1))
        return rng.uniform(0, cap)

    def after_retry_after(self, retry_after: float, rng: random.Random) -> float:
        """Delay honouring a server's ``Retry-After``: at least that long, plus a little jitter."""
        return retry_after + rng.uniform(0, min(self.base_delay, 1.0))


def parse_retry_after(
    value: str | None, now: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or HTTP-date), or None if absent/bad."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now()).total_seconds())


class HttpRegistryAdapter:
    """:class:`RegistryAdapter` against a registry API (API.md); thread-safe, use as a context manager."""

    def __init__(
        self,
        base_url: str,
        api_token: str,
        *,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._rng = rng or random.Random()
        self._client = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={
                "Authorization": f"Bearer {api_token}",
                "Accept": "application/json",
                "User-Agent": "msc-platform-registry-adapter/1",
            },
            timeout=timeout,
            transport=transport,
        )

    @classmethod
    def from_settings(cls, settings: RegistrySettings, **kwargs: Any) -> HttpRegistryAdapter:
        """An adapter configured from ``MSC_REGISTRY_*`` settings."""
        retry = RetryPolicy(
            max_attempts=settings.max_attempts,
            base_delay=settings.backoff_base_seconds,
            max_delay=settings.backoff_max_seconds,
            max_retry_after=settings.max_retry_after_seconds,
        )
        return cls(
            settings.base_url, settings.api_token, timeout=settings.timeout_seconds, retry=retry, **kwargs
        )

    def close(self) -> None:
        """Closes the connection pool."""
        self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # --- RegistryAdapter ---------------------------------------------------------------------------

    def request_tokenisation(
        self,
        project_id: str,
        vintage: int,
        tonnes: int,
        serial_range: SerialRange | None,
        idempotency_key: str,
    ) -> TokenisationReceipt:
        """``POST /v1/tokenisations``: locks verified units before a mint."""
        body = TokenisationRequestBody(
            project_id=project_id,
            vintage=vintage,
            tonnes=check_tonnes(tonnes),
            serial_range=None if serial_range is None else SerialRangeBody.of(serial_range),
        )
        data = self._call("POST", "/v1/tokenisations", body, idempotency_key)
        return self._parse(TokenisationBody, data).to_domain()

    def confirm_mint(
        self, reference: str, token_id: int, tx_hash: str, idempotency_key: str | None = None
    ) -> TokenisationReceipt:
        """``POST /v1/tokenisations/{reference}/mint-confirmation``."""
        body = MintConfirmationBody(token_id=str(check_token_id(token_id)), tx_hash=tx_hash)
        key = idempotency_key or derived_confirm_mint_key(reference, token_id, tx_hash)
        data = self._call("POST", f"/v1/tokenisations/{_segment(reference)}/mint-confirmation", body, key)
        return self._parse(TokenisationBody, data).to_domain()

    def report_retirement(
        self,
        token_id: int,
        tonnes: int,
        beneficiary_name: str,
        reason: str,
        certificate_id: str,
        tx_hash: str,
        idempotency_key: str,
    ) -> RetirementRecord:
        """``POST /v1/retirements``."""
        body = RetirementRequestBody(
            token_id=str(check_token_id(token_id)),
            tonnes=check_tonnes(tonnes),
            beneficiary_name=beneficiary_name,
            reason=reason,
            certificate_id=certificate_id,
            tx_hash=tx_hash,
        )
        data = self._call("POST", "/v1/retirements", body, idempotency_key)
        return self._parse(RetirementBody, data).to_domain()

    def request_bridge_back(
        self,
        token_id: int,
        tonnes: int,
        registry_account: str,
        request_id: str,
        idempotency_key: str,
    ) -> BridgeBackRequest:
        """``POST /v1/bridge-backs``: answers the request, pending review."""
        body = BridgeBackRequestBody(
            request_id=request_id,
            token_id=str(check_token_id(token_id)),
            tonnes=check_tonnes(tonnes),
            registry_account=registry_account,
        )
        data = self._call("POST", "/v1/bridge-backs", body, idempotency_key)
        return self._parse(BridgeBackBody, data).to_domain()

    def bridge_back_status(self, request_id: str) -> BridgeBackRequest:
        """``GET /v1/bridge-backs/{request_id}``."""
        data = self._call("GET", f"/v1/bridge-backs/{_segment(request_id)}", None, None)
        return self._parse(BridgeBackBody, data).to_domain()

    def tokenisation(self, reference: str) -> TokenisationReceipt:
        """``GET /v1/tokenisations/{reference}`` (not part of the Protocol; handy for reconciliation)."""
        data = self._call("GET", f"/v1/tokenisations/{_segment(reference)}", None, None)
        return self._parse(TokenisationBody, data).to_domain()

    # --- transport ---------------------------------------------------------------------------------

    def _call(self, method: str, path: str, body: BaseModel | None, idempotency_key: str | None) -> Any:
        """Sends the request with retries; the decoded JSON of the 2xx answer.

        Raises:
            RegistryRefusedError (or a subclass): the registry answered 4xx.
            RegistryAuthError: 401/403.
            RegistryUnavailableError: no 2xx/4xx answer within the attempts.
            RegistryProtocolError: a 2xx answer that is not JSON.
        """
        headers = {}
        if idempotency_key is not None:
            headers["Idempotency-Key"] = check_idempotency_key(idempotency_key)
        content = None if body is None else body.model_dump_json().encode()
        if content is not None:
            headers["Content-Type"] = "application/json"
        last_problem = "no attempt made"
        for attempt in range(1, self._retry.max_attempts + 1):
            delay: float | None = None
            try:
                response = self._client.request(method, path, content=content, headers=headers)
            except httpx.TransportError as exc:
                last_problem = f"{type(exc).__name__}: {exc}"
            else:
                if response.is_success:
                    return self._json(response, path)
                if response.status_code not in RETRYABLE_STATUSES:
                    raise self._refusal(response)
                last_problem = f"HTTP {response.status_code}"
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                if retry_after is not None:
                    if retry_after > self._retry.max_retry_after:
                        raise RegistryUnavailableError(
                            f"registry asked to retry {method} {path} after {retry_after:.0f} s, longer than "
                            f"the {self._retry.max_retry_after:.0f} s this client waits",
                            retry_after=retry_after,
                        )
                    delay = self._retry.after_retry_after(retry_after, self._rng)
            if attempt == self._retry.max_attempts:
                break
            if delay is None:
                delay = self._retry.backoff(attempt, self._rng)
            logger.warning(
                "registry %s %s attempt %d failed (%s); retrying in %.2f s",
                method,
                path,
                attempt,
                last_problem,
                delay,
            )
            self._sleep(delay)
        raise RegistryUnavailableError(
            f"registry {method} {path} failed after {self._retry.max_attempts} attempts: {last_problem}",
            attempts=self._retry.max_attempts,
            last_problem=last_problem,
        )

    @staticmethod
    def _json(response: httpx.Response, path: str) -> Any:
        try:
            return response.json()
        except ValueError as exc:
            raise RegistryProtocolError(f"registry answered {path} with a body that is not JSON") from exc

    @staticmethod
    def _refusal(response: httpx.Response) -> Exception:
        try:
            error = ErrorBody.model_validate(response.json())
        except (ValueError, PydanticValidationError):
            error = ErrorBody(
                error="registry_refused", message=f"registry answered HTTP {response.status_code}"
            )
        if response.status_code in (401, 403):
            return RegistryAuthError(f"registry refused our credentials: {error.message}")
        refusal = error_from_wire(error.error, error.message, error.details)
        if isinstance(refusal, RegistryRefusedError):
            return refusal
        return RegistryRefusedError(error.message, registry_code=error.error, status=response.status_code)

    @staticmethod
    def _parse(model: type[M], data: Any) -> M:
        try:
            return model.model_validate(data)
        except PydanticValidationError as exc:
            raise RegistryProtocolError(f"registry answer does not match API.md: {exc}") from exc


def _segment(value: str) -> str:
    """``value`` quoted as one URL path segment."""
    return quote(value, safe="")
