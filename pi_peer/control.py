"""A small client of the peer's ``/_peer`` helper endpoints (the Pioneer's side, faults, clock)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx

from pi_peer import jsonnum


@dataclass(frozen=True)
class PeerUserInfo:
    """A user created on the peer; ``secret_seed`` lets the test play the user's wallet."""

    uid: str
    username: str
    public_key: str
    secret_seed: str


class PeerControl:
    """Drive the peer's helper endpoints."""

    def __init__(self, base_url: str) -> None:
        self._http = httpx.Client(base_url=base_url.rstrip("/") + "/_peer/", timeout=10)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def _post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self._http.post(
            path, content=jsonnum.dumps(body or {}), headers={"Content-Type": "application/json"}
        )
        data = jsonnum.loads(response.text)
        if response.status_code >= 400:
            raise RuntimeError(f"peer refused {path}: {data}")
        return data

    def app_address(self) -> str:
        """The app wallet's public key."""
        return str(jsonnum.loads(self._http.get("app").text)["public_key"])

    def create_user(self, balance_stroops: int, username: str | None = None) -> PeerUserInfo:
        """A user whose account holds ``balance_stroops``."""
        body: dict[str, Any] = {"balance_stroops": balance_stroops}
        if username:
            body["username"] = username
        return PeerUserInfo(**self._post("users", body))

    def create_u2a_payment(self, uid: str, amount: Decimal | int, memo: str, metadata: dict[str, Any]) -> str:
        """Create a user-to-app payment as the Pi SDK would; returns its identifier."""
        data = self._post("payments", {"uid": uid, "amount": amount, "memo": memo, "metadata": metadata})
        return str(data["identifier"])

    def wallet_pay(self, payment_id: str, *, await_approval: float = 0.0, **overrides: Any) -> str:
        """Let the user's Pi wallet sign and submit the payment transaction; returns the txid.

        ``await_approval``: seconds the wallet waits for the developer's approval before paying
        (0: refuse at once if the payment is not approved yet).
        """
        body = dict(overrides)
        if await_approval:
            body["await_approval_seconds"] = Decimal(str(await_approval))
        return str(self._post(f"payments/{payment_id}/wallet_pay", body)["txid"])

    def user_cancel(self, payment_id: str) -> None:
        """The user closes the payment dialog."""
        self._post(f"payments/{payment_id}/user_cancel")

    def arm_fault(self, target: str, *, count: int, status: int, apply_first: bool = False) -> None:
        """Make the next ``count`` calls to ``target`` fail with ``status``."""
        self._post("faults", {"target": target, "count": count, "status": status, "apply_first": apply_first})

    def fired_faults(self) -> dict[str, int]:
        """How many injected faults fired per target."""
        return dict(jsonnum.loads(self._http.get("faults").text)["fired"])

    def set_clock_offset(self, seconds: int) -> None:
        """Skew the ledger's clock by ``seconds``."""
        self._post("clock", {"offset_seconds": seconds})
