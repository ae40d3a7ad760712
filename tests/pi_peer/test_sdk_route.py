"""The peer's Pi SDK stand-in over HTTP: sign-in with ``GET /v2/me``, the open payment reported at
the next sign-in, a wallet that pays only what the app approved, and CORS for the page's origin."""

from __future__ import annotations

import json
from typing import Any

import httpx

from pi_peer.control import PeerControl
from pi_peer.server import PeerServer
from tests.support.pi_peer import API_KEY


def _post(client: httpx.Client, path: str, body: dict[str, Any]) -> httpx.Response:
    # text/plain, as the script sends it: a simple request, no CORS preflight
    return client.post(path, content=json.dumps(body), headers={"Content-Type": "text/plain"})


def test_sign_in_me_and_the_open_payment_at_the_next_sign_in(peer: PeerServer, control: PeerControl) -> None:
    with httpx.Client(base_url=peer.url) as client:
        script = client.get("/sdk/pi-sdk.js")
        assert script.status_code == 200 and "window.Pi" in script.text
        assert script.headers["content-type"].startswith("application/javascript")
        first = _post(client, "/_peer/sdk/authenticate", {"uid": None})
        assert first.headers["access-control-allow-origin"] == "*"
        token, uid = first.json()["access_token"], first.json()["user"]["uid"]
        assert first.json()["incomplete_payment"] is None
        me = client.get("/v2/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200 and me.json()["uid"] == uid
        for header in ({"Authorization": "Bearer nope"}, {"Authorization": f"Key {API_KEY}"}, {}):
            assert client.get("/v2/me", headers=header).status_code == 401
        metadata = {"merchant": "m", "quote": "q"}
        made = _post(
            client,
            "/_peer/sdk/payments",
            {"access_token": token, "amount": "1.5", "memo": "x", "metadata": metadata},
        )
        assert (
            made.status_code == 200 and made.json()["amount"] == 1.5 and made.json()["metadata"] == metadata
        )
        again = _post(client, "/_peer/sdk/authenticate", {"uid": uid})  # a later visit, same Pioneer
        assert again.json()["user"]["uid"] == uid
        assert again.json()["incomplete_payment"]["identifier"] == made.json()["identifier"]
        busy = _post(
            client, "/_peer/sdk/payments", {"access_token": token, "amount": "1", "memo": "x", "metadata": {}}
        )
        assert busy.status_code == 400 and busy.json()["error"] == "ongoing_payment_found"
        control.arm_fault("platform", count=1, status=503)
        assert client.get("/v2/me", headers={"Authorization": f"Bearer {token}"}).status_code == 503


def test_the_wallet_pays_only_after_approval_and_only_its_own_payment(peer: PeerServer) -> None:
    platform = httpx.Client(base_url=peer.platform_url + "/", headers={"Authorization": f"Key {API_KEY}"})
    with httpx.Client(base_url=peer.url) as client, platform:
        token = _post(client, "/_peer/sdk/authenticate", {}).json()["access_token"]
        stranger = _post(client, "/_peer/sdk/authenticate", {}).json()["access_token"]
        made = _post(
            client, "/_peer/sdk/payments", {"access_token": token, "amount": "2", "memo": "x", "metadata": {}}
        ).json()
        pid = made["identifier"]
        assert _post(client, f"/_peer/sdk/payments/{pid}/pay", {"access_token": stranger}).status_code == 404
        assert (
            _post(client, f"/_peer/sdk/payments/{pid}/cancel", {"access_token": stranger}).status_code == 404
        )
        assert platform.post(f"payments/{pid}/approve").status_code == 200
        paid = _post(client, f"/_peer/sdk/payments/{pid}/pay", {"access_token": token})
        assert paid.status_code == 200
        linked = platform.get(f"payments/{pid}").json()["transaction"]
        assert linked["txid"] == paid.json()["txid"]
        second = _post(
            client,
            "/_peer/sdk/payments",
            {"access_token": stranger, "amount": "1", "memo": "y", "metadata": {}},
        ).json()
        cancelled = _post(
            client, f"/_peer/sdk/payments/{second['identifier']}/cancel", {"access_token": stranger}
        )
        assert cancelled.json()["status"]["user_cancelled"] is True
        refused = _post(client, f"/_peer/sdk/payments/{second['identifier']}/pay", {"access_token": stranger})
        assert refused.status_code == 400 and refused.json()["error"] == "not_approved"
