"""The merchants' side of the demo, through the API only: Pi in, MSC in escrow, Rupiah out.

What a merchant integration does, step by step, against the running stack:

1. the operator (with a key issued by the admin secret) onboards three Madiun merchants;
2. for each customer payment, the merchant's server asks for a firm quote, the customer's Pi app
   creates the payment (the local Pi peer plays the Pi SDK), the merchant's server forwards
   ``onReadyForServerApproval`` and, once the customer's wallet has signed and submitted the Pi
   transaction, ``onReadyForServerCompletion`` with its txid; the workers approve, verify on
   Horizon, complete on Pi, and mint the Rupiah amount into the merchant escrow in a batch;
3. when the escrow hold ends the workers release it, and a merchant redeems part of its MSC for
   Rupiah with a signed EIP-3009 authorization; the operator confirms the bank transfer.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx

from chain.eip712 import authorization, msc_domain
from chain.platform import Platform
from chain.signer import Signer
from common.errors import MSCError
from common.money import format_idr
from pi_peer.control import PeerControl
from settlement.flow.binding import payment_metadata

PI = 10**7  # Pi minor units per Pi

#: (name, kelurahan, anvil dev account, Pi username) of the demo's merchants.
MERCHANTS = (
    ("Warung Pecel Bu Sri", "Taman", 5, "warungbusri"),
    ("Toko Batik Madiun", "Kartoharjo", 6, "batikmadiun"),
    ("Kerajinan Bambu Pak Darto", "Manguharjo", 7, "bambudarto"),
)
#: Pi each customer pays, by merchant index.
PAYMENTS_PI = ((0, 12), (0, 7), (1, 25), (2, 9))
HOLD_FAST_FORWARD_S = 3600  # past the demo's escrow hold (MSC_WORKER_ESCROW_HOLD_SECONDS)
REDEEM_SHARE = 2  # the first merchant redeems half of what it was released


class DemoError(MSCError):
    """The settlement demo could not finish (the stack is not healthy)."""

    code = "demo_failed"


@dataclass
class SettlementDemoResult:
    """What the demo did, for the launcher's summary."""

    merchants: list[tuple[str, str]] = field(default_factory=list)  # (name, address)
    merchant_ids: list[str] = field(default_factory=list)  # in the order of ``merchants``
    payments: list[dict[str, Any]] = field(default_factory=list)
    released_to: dict[str, int] = field(default_factory=dict)
    redemption: dict[str, Any] = field(default_factory=dict)
    unpaid_redemption: dict[str, Any] = field(default_factory=dict)  # burned, bank transfer pending


def _ok(response: httpx.Response, *expected: int) -> Any:
    if response.status_code not in expected:
        request = response.request
        raise DemoError(f"{request.method} {request.url.path}: {response.status_code} {response.text}")
    return response.json()


def _wait(what: str, predicate: Callable[[], bool], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise DemoError(f"timed out waiting for {what}")
        time.sleep(0.2)


def run_settlement_demo(
    api_url: str,
    admin_secret: str,
    peer_url: str,
    platform: Platform,
    redeemer: str,
    *,
    unpaid_redemption: bool = False,
) -> SettlementDemoResult:
    """Runs the merchants' demo against the stack at ``api_url`` (see the module docstring).

    Args:
        api_url: The API's base URL.
        admin_secret: ``MSC_API_ADMIN_SECRET`` of that API (issues the operator's key).
        peer_url: The local Pi peer (its Pioneer-side control API plays the customers' wallets).
        platform: The deployed contracts (to show on-chain balances next to the API's figures).
        redeemer: The address that receives redeemed MSC and burns it.
        unpaid_redemption: Also leave the second merchant's payout burned and not yet paid.
    """
    result = SettlementDemoResult()
    pioneers = PeerControl(peer_url)
    with httpx.Client(base_url=api_url, timeout=30.0) as api:
        operator = _ok(
            api.post("/v1/api-keys", json={"role": "operator"}, headers={"X-Admin-Secret": admin_secret}), 201
        )["api_key"]
        keys: list[str] = []
        merchant_ids: list[str] = []
        for name, kelurahan, account, username in MERCHANTS:
            address = Signer.dev(account).address
            made = _ok(
                api.post(
                    "/v1/merchants",
                    json={
                        "name": name,
                        "kelurahan": kelurahan,
                        "evm_address": address,
                        "pi_username": username,
                    },
                    headers={"Authorization": f"Bearer {operator}", "Idempotency-Key": f"onboard-{username}"},
                ),
                201,
            )
            keys.append(made["api_key"])
            merchant_ids.append(str(made["merchant"]["id"]))
            result.merchants.append((name, address))
            result.merchant_ids.append(str(made["merchant"]["id"]))

        for merchant, pi in PAYMENTS_PI:
            auth = {"Authorization": f"Bearer {keys[merchant]}"}
            quote = _ok(api.post("/v1/quotes", json={"sell_amount": pi * PI}, headers=auth), 201)
            customer = pioneers.create_user(100 * PI)
            # The customer's Pi app binds the payment to the merchant and its quote (Pi.createPayment's
            # metadata); the platform refuses a Pi payment whose metadata names anyone else.
            pi_id = pioneers.create_u2a_payment(
                customer.uid,
                Decimal(pi),
                f"Order at {MERCHANTS[merchant][0]}",
                payment_metadata(merchant_ids[merchant], quote["id"]),
            )
            body = {"quote_id": quote["id"], "pi_payment_id": pi_id}
            payment = _ok(api.post("/v1/payments", json=body, headers=auth), 202)

            def status(pid: str = payment["id"], headers: dict[str, str] = auth) -> str:
                return str(_ok(api.get(f"/v1/payments/{pid}", headers=headers), 200)["status"])

            _wait("the approval", lambda: status() == "pending_user_transfer_start")
            txid = pioneers.wallet_pay(pi_id)
            _ok(api.post(f"/v1/pi/payments/{pi_id}/complete", json={"txid": txid}, headers=auth), 202)
            _wait("the settlement", lambda: status() == "completed")
            result.payments.append(
                {
                    "merchant": MERCHANTS[merchant][0],
                    "pi_minor": quote["minor_units"]["sell_amount"],
                    "idr_minor": quote["minor_units"]["buy_amount"],
                    "txid": txid,
                }
            )

        msc = platform.msc
        first_name, first_address = result.merchants[0]
        owed = sum(p["idr_minor"] for p in result.payments if p["merchant"] == first_name)
        # The local chain mines only when a transaction arrives, so its clock stands still between
        # them: move it past the escrow hold, as days passing would on a live network.
        platform.w3.provider.make_request("evm_increaseTime", [HOLD_FAST_FORWARD_S])  # type: ignore[arg-type]
        platform.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
        _wait("the escrow release", lambda: msc.functions.balanceOf(first_address).call() >= owed, 90.0)
        for name, address in result.merchants:
            result.released_to[name] = int(msc.functions.balanceOf(address).call())

        amount = result.released_to[first_name] // REDEEM_SHARE
        result.redemption = _redeem(api, platform, keys[0], operator, first_address, redeemer, amount)
        if unpaid_redemption:
            # A payout still waiting for its bank transfer: the platform owes it off-chain (the
            # month's proof of liabilities then has a leaf for this merchant).
            second_name, second_address = result.merchants[1]
            share = result.released_to[second_name] // REDEEM_SHARE
            result.unpaid_redemption = _redeem(
                api, platform, keys[1], operator, second_address, redeemer, share, pay=False
            )
    pioneers.close()
    return result


def _redeem(
    api: httpx.Client,
    platform: Platform,
    key: str,
    operator: str,
    merchant: str,
    redeemer: str,
    amount: int,
    *,
    pay: bool = True,
) -> dict[str, Any]:
    """The merchant signs a ReceiveWithAuthorization to the redeemer; the API relays and burns it;
    the operator records the bank transfer (unless not ``pay``: the payout stays processing)."""
    supply_before = int(platform.msc.functions.totalSupply().call())
    chain_now = int(platform.w3.eth.get_block("latest")["timestamp"])  # the signature is checked on chain
    nonce, valid_before = os.urandom(32), chain_now + 3600
    domain = msc_domain(platform.w3.eth.chain_id, platform.msc.address)
    typed = authorization(
        domain, "ReceiveWithAuthorization", merchant, redeemer, amount, 0, valid_before, nonce
    )
    signer = next(Signer.dev(i) for i in range(10) if Signer.dev(i).address == merchant)
    signature = signer.sign_typed_data(typed).signature
    body = {
        "amount": amount,
        "bank_account": "Bank Jatim 0012345678",
        "authorization": {
            "valid_after": 0,
            "valid_before": valid_before,
            "nonce": "0x" + nonce.hex(),
            "signature": "0x" + bytes(signature).hex(),
        },
    }
    auth = {"Authorization": f"Bearer {key}"}
    idem = {"Idempotency-Key": uuid.uuid4().hex}
    payout = _ok(api.post("/v1/redemptions", json=body, headers={**auth, **idem}), 201)

    def status() -> str:
        return str(_ok(api.get(f"/v1/redemptions/{payout['id']}", headers=auth), 200)["status"])

    _wait("the burn", lambda: status() == "processing")
    if not pay:
        burned = supply_before - int(platform.msc.functions.totalSupply().call())
        return {"id": payout["id"], "amount": amount, "status": "processing", "burned": burned}
    paid = _ok(
        api.post(
            f"/v1/redemptions/{payout['id']}/paid",
            json={"bank_reference": "JATIM-TRF-2026-0001"},
            headers={"Authorization": f"Bearer {operator}", "Idempotency-Key": uuid.uuid4().hex},
        ),
        200,
    )
    burned = supply_before - int(platform.msc.functions.totalSupply().call())
    return {"id": payout["id"], "amount": amount, "status": paid["status"], "burned": burned}


def describe_settlement(result: SettlementDemoResult) -> str:
    """The demo's lines for the launcher's summary."""
    lines = [f"  onboarded {len(result.merchants)} merchants: " + ", ".join(n for n, _ in result.merchants)]
    for p in result.payments:
        pi = Decimal(p["pi_minor"]).scaleb(-7)
        lines.append(
            f"  {p['merchant']}: customer paid {pi} Pi (tx {p['txid'][:12]}…), "
            f"settled {format_idr(p['idr_minor'])} of MSC into escrow"
        )
    released = ", ".join(f"{n} {format_idr(v)}" for n, v in result.released_to.items())
    lines.append(f"  escrow released after the hold: {released}")
    r = result.redemption
    lines.append(
        f"  redemption {r['id']}: {format_idr(r['amount'])} of MSC burned "
        f"(supply -{format_idr(r['burned'])}), bank transfer {r['status']}"
    )
    if u := result.unpaid_redemption:
        lines.append(
            f"  redemption {u['id']}: {format_idr(u['amount'])} of MSC burned, bank transfer not yet "
            "paid (owed off-chain: in the month's proof of liabilities)"
        )
    return "\n".join(lines)
