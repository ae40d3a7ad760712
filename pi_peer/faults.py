"""Failure injection: make the next N calls of one kind fail the way the real services do.

Targets:

* ``horizon_submit``: ``POST /transactions`` answers Horizon's 504 timeout problem (or another
  status). With ``apply_first`` the transaction IS applied before the error, which is the case a
  client must survive by resubmitting the same envelope (the ledger answers the included result).
* ``horizon_read``: any Horizon ``GET`` answers the status.
* ``platform``: any ``/v2`` Platform API call answers the status with the HTML error page the Pi
  API has been seen to return (pi-platform-docs issues #27, #29).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Literal

FaultTarget = Literal["horizon_submit", "horizon_read", "platform"]


@dataclass
class Fault:
    """One armed fault."""

    target: FaultTarget
    status: int
    remaining: int
    apply_first: bool = False


class Faults:
    """Thread-safe queue of armed faults per target."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._armed: dict[str, Fault] = {}
        self.fired: dict[str, int] = {}

    def arm(self, target: FaultTarget, *, count: int, status: int, apply_first: bool = False) -> None:
        """Make the next ``count`` calls to ``target`` fail with ``status``."""
        with self._lock:
            self._armed[target] = Fault(target, status, count, apply_first)

    def take(self, target: FaultTarget) -> Fault | None:
        """The fault to apply to this call, consuming one use, or None."""
        with self._lock:
            fault = self._armed.get(target)
            if fault is None or fault.remaining <= 0:
                return None
            fault.remaining -= 1
            self.fired[target] = self.fired.get(target, 0) + 1
            return Fault(fault.target, fault.status, 1, fault.apply_first)

    def clear(self) -> None:
        """Disarm everything."""
        with self._lock:
            self._armed.clear()
