"""Client for the Pi Platform API (``https://api.minepi.com/v2``), server side.

Why our own client: the community pi-python SDK parses amounts as floats and swallows HTTP errors;
settlement needs exact amounts and every refusal as a typed error it can act on.

Sources relied on (public docs and the official Node SDK):

* pi-apps/pi-platform-docs ``platform_API.md``: base path ``/v2``, ``Authorization: Key <key>``,
  the endpoints ``GET /payments/{id}``, ``POST /payments/{id}/approve``,
  ``POST /payments/{id}/complete`` (body ``{"txid": ...}``), ``POST /payments/{id}/cancel``,
  ``GET /payments/incomplete_server_payments`` (``{"incomplete_server_payments": [PaymentDTO]}``),
  ``POST /payments`` (A2U, body ``{"payment": {"amount", "memo", "metadata", "uid"}}``) and the
  ``PaymentDTO`` shape parsed by :class:`PiPayment`.
* pi-apps/pi-nodejs ``src/types/errors.ts`` and ``src/index.ts``: error bodies are
  ``{"error": code, "error_message": text}``, ``verification_failed`` adds ``verification_error``,
  ``ongoing_payment_found`` / ``already_completed`` / ``cancelled_payment`` add the ``payment``;
  the code list mapped in :data:`_ERRORS`. (pi-nodejs reads ``incomplete_server_paymenets`` with a
  typo; the docs spell ``incomplete_server_payments``; both are accepted.)
* pi-apps/pi-platform-docs issues #27/#29/#36: the API can answer 500 with an HTML body, so a
  non-JSON error body must not crash the client.

Retries: connection failures that happen before the request is sent are retried for every call;
timeouts and 5xx answers only for the idempotent GETs. POSTs that may have reached Pi are never
replayed blindly: use :meth:`PiPlatformClient.complete_payment_reconciled` (and friends) which turn
``already_completed`` into a read-back check instead.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any, ClassVar, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator

from common.errors import MSCError
from settlement.pi.amounts import PiAmountError, to_decimal, to_minor

MAINNET_BASE_URL = "https://api.minepi.com/v2"

# --------------------------------------------------------------------------------------------- model


class PiPaymentStatus(BaseModel):
    """The status flags of a payment, exactly as the Platform API reports them."""

    model_config = ConfigDict(frozen=True)

    developer_approved: bool
    transaction_verified: bool
    developer_completed: bool
    cancelled: bool
    user_cancelled: bool


class PiPaymentTransaction(BaseModel):
    """The blockchain transaction linked to a payment (``null`` until one is made)."""

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    txid: str
    verified: bool
    link: str = Field(alias="_link")


class PiPayment(BaseModel):
    """A ``PaymentDTO``; ``amount`` is held as integer minor units (10^-7 Pi), never a float."""

    model_config = ConfigDict(frozen=True)

    identifier: str
    user_uid: str
    amount: int
    memo: str
    metadata: dict[str, Any] | None
    from_address: str
    to_address: str
    direction: Literal["user_to_app", "app_to_user"]
    created_at: str
    network: str
    status: PiPaymentStatus
    transaction: PiPaymentTransaction | None

    @field_validator("amount", mode="before")
    @classmethod
    def _amount_to_minor(cls, value: object) -> int:
        # The raw JSON is parsed with parse_float=Decimal, so ``value`` is a Decimal, int or str.
        if isinstance(value, Decimal | int | str) and not isinstance(value, bool):
            return to_minor(value)
        raise PiAmountError(f"Payment amount {value!r} is not a number.", value=repr(value))

    @property
    def amount_pi(self) -> Decimal:
        """The amount in Pi, exact."""
        return to_decimal(self.amount)

    @property
    def is_completed(self) -> bool:
        """True when the developer has completed the payment."""
        return self.status.developer_completed


# -------------------------------------------------------------------------------------------- errors


class PiPlatformError(MSCError):
    """The Pi Platform API refused a call or could not be used.

    Attributes:
        pi_error: Pi's own error code (``error`` field), if any.
        http_status: HTTP status Pi answered with, if any.
        payment: The payment Pi returned with the error, if any.
    """

    code: ClassVar[str] = "pi_platform_error"
    status_code: ClassVar[int] = 502

    def __init__(
        self,
        message: str,
        *,
        pi_error: str | None = None,
        http_status: int | None = None,
        payment: PiPayment | None = None,
        **details: Any,
    ) -> None:
        super().__init__(message, pi_error=pi_error, http_status=http_status, **details)
        self.pi_error = pi_error
        self.http_status = http_status
        self.payment = payment


class PiUnauthorizedError(PiPlatformError):
    """The server API key was refused; a configuration problem on our side."""

    code = "pi_unauthorized"
    status_code = 502


class PiPaymentNotFoundError(PiPlatformError):
    """Pi does not know this payment identifier (or it belongs to another app)."""

    code = "pi_payment_not_found"
    status_code = 404


class PiAlreadyApprovedError(PiPlatformError):
    """The payment was approved before."""

    code = "pi_already_approved"
    status_code = 409


class PiAlreadyCompletedError(PiPlatformError):
    """The payment was completed before."""

    code = "pi_already_completed"
    status_code = 409


class PiAlreadyCancelledError(PiPlatformError):
    """The payment is cancelled (Pi's ``already_cancelled`` / ``cancelled_payment``)."""

    code = "pi_already_cancelled"
    status_code = 409


class PiTxidMismatchError(PiPlatformError):
    """The txid given on completion differs from the transaction Pi linked to the payment."""

    code = "pi_txid_mismatch"
    status_code = 409


class PiVerificationFailedError(PiPlatformError):
    """Pi checked the transaction on chain and it does not match the payment."""

    code = "pi_verification_failed"
    status_code = 422

    @property
    def verification_error(self) -> str | None:
        """Pi's reason, e.g. a memo or amount mismatch."""
        value = self.details.get("verification_error")
        return value if isinstance(value, str) else None


class PiOngoingPaymentFoundError(PiPlatformError):
    """The user already has an unfinished payment; Pi returns it in ``payment``."""

    code = "pi_ongoing_payment_found"
    status_code = 409


class PiPlatformUnavailableError(PiPlatformError):
    """Pi could not be reached or kept failing (5xx/timeouts) after the allowed retries."""

    code = "pi_platform_unavailable"
    status_code = 503


class PiBadResponseError(PiPlatformError):
    """Pi answered something that is not the documented shape."""

    code = "pi_bad_response"
    status_code = 502


_ERRORS: Mapping[str, type[PiPlatformError]] = {
    "unauthorized": PiUnauthorizedError,
    "payment_not_found": PiPaymentNotFoundError,
    "already_approved": PiAlreadyApprovedError,
    "already_completed": PiAlreadyCompletedError,
    "already_cancelled": PiAlreadyCancelledError,
    "cancelled_payment": PiAlreadyCancelledError,
    "txid_mismatch": PiTxidMismatchError,
    "verification_failed": PiVerificationFailedError,
    "ongoing_payment_found": PiOngoingPaymentFoundError,
}


# -------------------------------------------------------------------------------------------- client


def _loads(text: str) -> Any:
    """Parse JSON with every non-integer number as a Decimal (no float ever exists)."""
    return json.loads(text, parse_float=Decimal)


def _dumps(payload: Any) -> str:
    """Serialise JSON, rendering Decimals as exact JSON numbers (never through float)."""
    if isinstance(payload, Decimal):
        if not payload.is_finite():
            raise PiAmountError(f"{payload} is not a finite number.", value=str(payload))
        return format(payload, "f")
    if isinstance(payload, Mapping):
        items = (f"{json.dumps(str(k))}:{_dumps(v)}" for k, v in payload.items())
        return "{" + ",".join(items) + "}"
    if isinstance(payload, list | tuple):
        return "[" + ",".join(_dumps(v) for v in payload) + "]"
    if isinstance(payload, float):
        raise PiAmountError("Floats are not allowed in Pi request bodies.", value=repr(payload))
    return json.dumps(payload)


class PiPlatformClient:
    """Synchronous, typed client of the Pi Platform API for one app (one server API key).

    Args:
        api_key: The app's server API key (sent as ``Authorization: Key <api_key>``).
        base_url: API root including ``/v2``.
        timeout: Per-request timeout in seconds.
        max_retries: Extra attempts for retryable failures.
        backoff: First backoff delay in seconds; doubled on each retry.
        transport: Optional httpx transport (tests, proxies).
        sleep: Injected sleep function so tests do not wait for real.
    """

    def __init__(
        self,
        api_key: str,
        base_url: str = MAINNET_BASE_URL,
        *,
        timeout: float = 10.0,
        max_retries: int = 3,
        backoff: float = 0.2,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not api_key:
            raise PiUnauthorizedError("No Pi server API key is configured.")
        self._http = httpx.Client(
            base_url=base_url.rstrip("/") + "/",
            headers={"Authorization": f"Key {api_key}", "Accept": "application/json"},
            timeout=timeout,
            transport=transport,
        )
        self._max_retries = max_retries
        self._backoff = backoff
        self._sleep = sleep

    # -- lifecycle

    def close(self) -> None:
        """Close the underlying connection pool."""
        self._http.close()

    def __enter__(self) -> PiPlatformClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- endpoints

    def get_payment(self, payment_id: str) -> PiPayment:
        """``GET /payments/{id}``."""
        return self._payment(self._call("GET", f"payments/{_seg(payment_id)}", idempotent=True))

    def approve_payment(self, payment_id: str) -> PiPayment:
        """``POST /payments/{id}/approve``: server-side approval of a user-to-app payment."""
        return self._payment(self._call("POST", f"payments/{_seg(payment_id)}/approve", idempotent=False))

    def complete_payment(self, payment_id: str, txid: str) -> PiPayment:
        """``POST /payments/{id}/complete`` with the blockchain txid."""
        body = {"txid": txid}
        return self._payment(
            self._call("POST", f"payments/{_seg(payment_id)}/complete", body=body, idempotent=False)
        )

    def cancel_payment(self, payment_id: str) -> PiPayment:
        """``POST /payments/{id}/cancel``."""
        return self._payment(self._call("POST", f"payments/{_seg(payment_id)}/cancel", idempotent=False))

    def incomplete_server_payments(self) -> list[PiPayment]:
        """``GET /payments/incomplete_server_payments``: A2U payments not yet completed."""
        data = self._call("GET", "payments/incomplete_server_payments", idempotent=True)
        if not isinstance(data, dict):
            raise PiBadResponseError("Pi answered a non-object for incomplete_server_payments.")
        raw = data.get("incomplete_server_payments", data.get("incomplete_server_paymenets"))
        if not isinstance(raw, list):
            raise PiBadResponseError("Pi's incomplete_server_payments answer has no payment list.")
        return [self._payment(item) for item in raw]

    def create_payment(self, *, amount: int, memo: str, metadata: dict[str, Any], uid: str) -> PiPayment:
        """``POST /payments``: create an app-to-user payment of ``amount`` minor units to ``uid``."""
        body = {"payment": {"amount": to_decimal(amount), "memo": memo, "metadata": metadata, "uid": uid}}
        return self._payment(self._call("POST", "payments", body=body, idempotent=False))

    # -- reconciling helpers

    def approve_payment_reconciled(self, payment_id: str) -> PiPayment:
        """Approve; if Pi says it already is, read it back and return it (safe after a lost answer)."""
        try:
            return self.approve_payment(payment_id)
        except PiAlreadyApprovedError:
            payment = self.get_payment(payment_id)
            if not payment.status.developer_approved:
                raise
            return payment

    def complete_payment_reconciled(self, payment_id: str, txid: str) -> PiPayment:
        """Complete; on ``already_completed`` return the payment only if it was completed with ``txid``.

        A completion whose answer was lost (timeout, 5xx after commit) is retried by callers; the
        second attempt gets ``already_completed``, which is success exactly when the linked txid is
        ours. Any other txid is a real conflict and is raised as :class:`PiTxidMismatchError`.
        """
        try:
            return self.complete_payment(payment_id, txid)
        except PiAlreadyCompletedError as exc:
            payment = self.get_payment(payment_id)
            linked = payment.transaction.txid if payment.transaction else None
            if payment.status.developer_completed and linked == txid:
                return payment
            raise PiTxidMismatchError(
                f"Payment {payment_id} was completed with txid {linked}, not {txid}.",
                pi_error="already_completed",
                payment=payment,
                linked_txid=linked,
            ) from exc

    # -- transport

    def _call(self, method: str, path: str, *, body: Any = None, idempotent: bool) -> Any:
        content = _dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if content is not None else None
        attempt = 0
        while True:
            try:
                response = self._http.request(method, path, content=content, headers=headers)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                # Never reached Pi: safe to retry whatever the method.
                if attempt < self._max_retries:
                    attempt = self._wait(attempt)
                    continue
                raise PiPlatformUnavailableError(f"Pi Platform API unreachable: {exc}.", path=path) from exc
            except httpx.TransportError as exc:
                if idempotent and attempt < self._max_retries:
                    attempt = self._wait(attempt)
                    continue
                raise PiPlatformUnavailableError(
                    f"Pi Platform API {method} {path} failed in transit: {exc}.", path=path
                ) from exc
            if response.status_code >= 500:
                if idempotent and attempt < self._max_retries:
                    attempt = self._wait(attempt)
                    continue
                raise self._error(response, path, unavailable=True)
            if response.status_code >= 400:
                raise self._error(response, path, unavailable=False)
            try:
                return _loads(response.text)
            except json.JSONDecodeError as exc:
                raise PiBadResponseError(f"Pi answered non-JSON to {method} {path}.", path=path) from exc

    def _wait(self, attempt: int) -> int:
        self._sleep(self._backoff * (2**attempt))
        return attempt + 1

    def _error(self, response: httpx.Response, path: str, *, unavailable: bool) -> PiPlatformError:
        status = response.status_code
        try:
            body = _loads(response.text)
        except json.JSONDecodeError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("error"), str):
            cls: type[PiPlatformError] = PiPlatformUnavailableError if unavailable else PiBadResponseError
            if status == 401:
                cls = PiUnauthorizedError
            return cls(f"Pi answered HTTP {status} to {path}.", http_status=status, path=path)
        pi_error: str = body["error"]
        message = body.get("error_message") or pi_error
        payment = None
        if isinstance(body.get("payment"), dict):
            try:
                payment = PiPayment.model_validate(body["payment"])
            except (ValueError, MSCError):
                payment = None
        cls = _ERRORS.get(pi_error, PiPlatformUnavailableError if unavailable else PiPlatformError)
        if status == 401 and cls is PiPlatformError:
            cls = PiUnauthorizedError
        extra: dict[str, Any] = {}
        if isinstance(body.get("verification_error"), str):
            extra["verification_error"] = body["verification_error"]
        return cls(
            f"Pi refused {path}: {message}",
            pi_error=pi_error,
            http_status=status,
            payment=payment,
            path=path,
            **extra,
        )

    @staticmethod
    def _payment(data: Any) -> PiPayment:
        if not isinstance(data, dict):
            raise PiBadResponseError("Pi answered a non-object where a PaymentDTO was expected.")
        try:
            return PiPayment.model_validate(data)
        except PiAmountError:
            raise
        except ValueError as exc:
            raise PiBadResponseError(f"Pi's PaymentDTO does not match the documented shape: {exc}") from exc


def _seg(value: str) -> str:
    """One URL path segment; refuses identifiers that would change the path."""
    if not value or "/" in value or value in {".", ".."} or "?" in value or "#" in value:
        raise PiPaymentNotFoundError(f"{value!r} is not a valid Pi payment identifier.", value=value)
    return value
