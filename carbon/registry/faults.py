"""Fault injection for the local registry server: make the next N adapter requests fail like a real API.

Kinds:

* ``status``: answer ``status`` (503 by default; 429 with ``Retry-After``; any 4xx/5xx) with an error
  body. With ``apply_first`` the request IS applied before the error is returned, which is the case an
  idempotent client must survive: the retry has to get the stored result, not a second effect.
* ``timeout``: hold the answer for ``delay_seconds`` (longer than the client's timeout). With
  ``apply_first`` the request is applied and its answer arrives too late; without, nothing is applied
  and a 504 follows the delay.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from typing import Literal

FaultKind = Literal["status", "timeout"]


@dataclass(frozen=True)
class Fault:
    """One armed fault; ``remaining`` is how many more requests it hits."""

    kind: FaultKind
    remaining: int
    status: int = 503
    retry_after: int | None = None
    delay_seconds: float = 1.0
    apply_first: bool = False


class Faults:
    """Thread-safe FIFO of armed faults; each adapter request consumes at most one use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._armed: list[Fault] = []
        self.fired = 0

    def arm(
        self,
        kind: FaultKind,
        count: int,
        *,
        status: int = 503,
        retry_after: int | None = None,
        delay_seconds: float = 1.0,
        apply_first: bool = False,
    ) -> None:
        """Makes the next ``count`` adapter requests fail this way (after faults armed before)."""
        with self._lock:
            self._armed.append(Fault(kind, count, status, retry_after, delay_seconds, apply_first))

    def take(self) -> Fault | None:
        """The fault for this request, consuming one use, or None."""
        with self._lock:
            if not self._armed:
                return None
            fault = self._armed[0]
            if fault.remaining <= 1:
                self._armed.pop(0)
            else:
                self._armed[0] = replace(fault, remaining=fault.remaining - 1)
            self.fired += 1
            return fault

    def clear(self) -> None:
        """Disarms everything."""
        with self._lock:
            self._armed.clear()
