"""Where the Pi -> IDR rate comes from: a fixed operator rate or an HTTP price feed.

A rate is a :class:`~decimal.Decimal` of Rupiah per Pi, never a float: the feed's JSON is parsed
with ``parse_float=Decimal`` and a decimal string is preferred.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Protocol

import httpx

from common.sql.helpers import utcnow
from settlement.quotes.errors import RateUnavailableError


@dataclass(frozen=True, slots=True)
class Rate:
    """Rupiah per Pi as a source reported it."""

    idr_per_pi: Decimal
    source: str
    observed_at: datetime


class RateSource(Protocol):
    """Anything that can say what one Pi is worth in Rupiah now."""

    def current_rate(self) -> Rate:
        """The rate to quote at.

        Raises:
            RateUnavailableError: no usable rate right now.
        """
        ...


def parse_rate(value: object, source: str) -> Decimal:
    """A positive finite Decimal from a decimal string (or an exactly parsed JSON number).

    Raises:
        RateUnavailableError: anything else.
    """
    if isinstance(value, bool | float) or not isinstance(value, str | Decimal | int):
        raise RateUnavailableError(source, f"price must be a decimal string, got {value!r}")
    try:
        rate = Decimal(value)
    except InvalidOperation as exc:
        raise RateUnavailableError(source, f"price {value!r} is not a decimal number") from exc
    if not rate.is_finite() or rate <= 0:
        raise RateUnavailableError(source, f"price {value!r} is not a positive number")
    return rate


class FixedRateSource:
    """The operator's fixed rate (the embedded default and the fallback when a feed is down)."""

    def __init__(self, idr_per_pi: Decimal | str) -> None:
        self.idr_per_pi = parse_rate(idr_per_pi, "fixed")

    def current_rate(self) -> Rate:
        """The configured rate, observed now."""
        return Rate(self.idr_per_pi, "fixed", utcnow())


class HttpPriceFeed:
    """A JSON price feed over HTTP, e.g. ``GET /price?pair=PI-IDR`` -> ``{"price": "15000.25"}``.

    Args:
        url: Where to GET the price.
        client: An httpx client to reuse (default: a new one owned by this feed).
        field: Key of the price in the JSON object.
        timeout: Seconds before the feed counts as unavailable.
    """

    def __init__(
        self, url: str, *, client: httpx.Client | None = None, field: str = "price", timeout: float = 5.0
    ) -> None:
        self.url = url
        self.field = field
        self._client = client or httpx.Client(timeout=timeout)

    def current_rate(self) -> Rate:
        """Fetches the price now.

        Raises:
            RateUnavailableError: transport error, non-2xx status, invalid JSON or price.
        """
        try:
            response = self._client.get(self.url)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise RateUnavailableError(self.url, f"{type(exc).__name__}: {exc}") from exc
        try:
            body = json.loads(response.content, parse_float=Decimal)
        except ValueError as exc:
            raise RateUnavailableError(self.url, "response is not JSON") from exc
        if not isinstance(body, dict) or self.field not in body:
            raise RateUnavailableError(self.url, f"response has no {self.field!r} field")
        return Rate(parse_rate(body[self.field], self.url), self.url, utcnow())

    def close(self) -> None:
        """Closes the HTTP client."""
        self._client.close()
