"""PiPlatformClient against the local Pi peer: the full U2A flow and every refusal, with real values."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal

import pytest
from stellar_sdk import Asset, Keypair, Server, TransactionBuilder

from pi_peer.control import PeerControl, PeerUserInfo
from pi_peer.server import PeerServer, free_port
from settlement.pi.amounts import PiAmountError, to_minor, to_stellar_amount
from settlement.pi.platform_client import (
    PiAlreadyApprovedError,
    PiAlreadyCancelledError,
    PiAlreadyCompletedError,
    PiOngoingPaymentFoundError,
    PiPayment,
    PiPaymentNotFoundError,
    PiPlatformClient,
    PiPlatformUnavailableError,
    PiTxidMismatchError,
    PiUnauthorizedError,
    PiVerificationFailedError,
    _loads,
)

API_KEY = "test-server-api-key"
PI = 10_000_000


@pytest.fixture
def client(peer: PeerServer) -> Iterator[PiPlatformClient]:
    """The production client with instant backoff."""
    with PiPlatformClient(API_KEY, peer.platform_url, sleep=lambda _s: None, timeout=5) as c:
        yield c


def user_pays(server: Server, user: PeerUserInfo, destination: str, amount: str, memo: str) -> str:
    """The Pioneer's wallet: build, sign and submit a real payment with stellar-sdk; returns the txid."""
    kp = Keypair.from_secret(user.secret_seed)
    account = server.load_account(kp.public_key)
    tx = (
        TransactionBuilder(account, network_passphrase="Pi Testnet", base_fee=100)
        .append_payment_op(destination=destination, asset=Asset.native(), amount=amount)
        .add_text_memo(memo)
        .add_time_bounds(int(time.time()), int(time.time()) + 60)
        .build()
    )
    tx.sign(kp)
    return str(server.submit_transaction(tx)["hash"])


def approved_payment(
    client: PiPlatformClient, control: PeerControl, user: PeerUserInfo, amount: str
) -> PiPayment:
    """A U2A payment created as the Pi SDK would, then approved by us."""
    pid = control.create_u2a_payment(user.uid, Decimal(amount), "Kopi susu", {"order": "MDN-1"})
    return client.approve_payment(pid)


def test_u2a_flow_approve_pay_complete(
    client: PiPlatformClient, control: PeerControl, horizon_server: Server, app_keypair: Keypair
) -> None:
    user = control.create_user(50 * PI)
    pid = control.create_u2a_payment(user.uid, Decimal("1.2345678"), "Kopi susu", {"order": "MDN-1"})
    fresh = client.get_payment(pid)
    assert fresh.amount == 12_345_678 and fresh.amount_pi == Decimal("1.2345678")
    assert fresh.direction == "user_to_app" and fresh.network == "Pi Testnet"
    assert fresh.from_address == user.public_key and fresh.to_address == app_keypair.public_key
    assert fresh.metadata == {"order": "MDN-1"} and fresh.transaction is None
    assert not any(fresh.status.model_dump().values())

    approved = client.approve_payment(pid)
    assert approved.status.developer_approved and not approved.status.transaction_verified

    txid = user_pays(horizon_server, user, app_keypair.public_key, "1.2345678", pid)
    linked = client.get_payment(pid)
    assert linked.transaction is not None
    assert (linked.transaction.txid, linked.transaction.verified) == (txid, True)
    assert linked.transaction.link.endswith(f"/transactions/{txid}")
    assert linked.status.transaction_verified and not linked.status.developer_completed

    done = client.complete_payment(pid, txid)
    assert done.status.developer_completed and done.is_completed
    user_balance = horizon_server.accounts().account_id(user.public_key).call()["balances"][0]["balance"]
    assert user_balance == "48.7654222"  # 50 - 1.2345678 - 0.00001 fee


def test_reusing_a_txid_for_another_payment_fails_verification(
    client: PiPlatformClient, control: PeerControl, horizon_server: Server, app_keypair: Keypair
) -> None:
    alice = control.create_user(20 * PI)
    bob = control.create_user(20 * PI)
    first = approved_payment(client, control, alice, "2")
    txid = user_pays(horizon_server, alice, app_keypair.public_key, "2", first.identifier)
    client.complete_payment(first.identifier, txid)
    second = approved_payment(client, control, bob, "2")
    with pytest.raises(PiVerificationFailedError) as info:
        client.complete_payment(second.identifier, txid)
    assert info.value.pi_error == "verification_failed"
    assert "another payment" in (info.value.verification_error or "")
    assert not client.get_payment(second.identifier).status.developer_completed


def test_wrong_memo_is_not_linked_and_fails_verification(
    client: PiPlatformClient, control: PeerControl, horizon_server: Server, app_keypair: Keypair
) -> None:
    user = control.create_user(20 * PI)
    payment = approved_payment(client, control, user, "3")
    txid = user_pays(horizon_server, user, app_keypair.public_key, "3", "not-the-payment-id")
    assert client.get_payment(payment.identifier).transaction is None
    with pytest.raises(PiVerificationFailedError) as info:
        client.complete_payment(payment.identifier, txid)
    assert "Memo" in (info.value.verification_error or "")


def test_wrong_amount_is_linked_unverified_and_cannot_complete(
    client: PiPlatformClient, control: PeerControl, horizon_server: Server, app_keypair: Keypair
) -> None:
    user = control.create_user(20 * PI)
    payment = approved_payment(client, control, user, "3")
    txid = user_pays(horizon_server, user, app_keypair.public_key, "2.9999999", payment.identifier)
    linked = client.get_payment(payment.identifier)
    assert linked.transaction is not None and linked.transaction.txid == txid
    assert linked.transaction.verified is False and linked.status.transaction_verified is False
    with pytest.raises(PiVerificationFailedError) as info:
        client.complete_payment(payment.identifier, txid)
    assert "amount" in (info.value.verification_error or "")
    with pytest.raises(PiTxidMismatchError):
        client.complete_payment(payment.identifier, "ab" * 32)


def test_already_completed_is_reconciled_only_for_the_same_txid(
    client: PiPlatformClient, control: PeerControl, horizon_server: Server, app_keypair: Keypair
) -> None:
    user = control.create_user(20 * PI)
    payment = approved_payment(client, control, user, "0.5")
    txid = user_pays(horizon_server, user, app_keypair.public_key, "0.5", payment.identifier)
    client.complete_payment(payment.identifier, txid)
    with pytest.raises(PiAlreadyCompletedError) as info:
        client.complete_payment(payment.identifier, txid)
    assert info.value.payment is not None and info.value.payment.status.developer_completed
    reconciled = client.complete_payment_reconciled(payment.identifier, txid)
    assert reconciled.transaction is not None and reconciled.transaction.txid == txid
    with pytest.raises(PiTxidMismatchError):
        client.complete_payment_reconciled(payment.identifier, "cd" * 32)
    with pytest.raises(PiAlreadyApprovedError):
        client.approve_payment(payment.identifier)
    assert client.approve_payment_reconciled(payment.identifier).status.developer_approved


def test_error_codes_map_to_typed_errors(
    peer: PeerServer, client: PiPlatformClient, control: PeerControl
) -> None:
    with pytest.raises(PiPaymentNotFoundError) as info:
        client.get_payment("NoSuchPayment0000000000000000")
    assert (info.value.http_status, info.value.pi_error) == (404, "payment_not_found")
    with PiPlatformClient("wrong-key", peer.platform_url) as intruder, pytest.raises(PiUnauthorizedError):
        intruder.get_payment("anything")
    user = control.create_user(20 * PI)
    pid = control.create_u2a_payment(user.uid, 1, "x", {})
    cancelled = client.cancel_payment(pid)
    assert cancelled.status.cancelled
    with pytest.raises(PiAlreadyCancelledError):
        client.approve_payment(pid)
    with pytest.raises(PiAlreadyCancelledError) as again:
        client.cancel_payment(pid)
    assert again.value.pi_error == "cancelled_payment" and again.value.payment is not None


def test_platform_5xx_is_retried_for_reads_only(client: PiPlatformClient, control: PeerControl) -> None:
    user = control.create_user(20 * PI)
    pid = control.create_u2a_payment(user.uid, 1, "x", {})
    control.arm_fault("platform", count=2, status=500)
    assert client.get_payment(pid).identifier == pid  # two HTML 500s, then success
    assert control.fired_faults()["platform"] == 2
    control.arm_fault("platform", count=1, status=502)
    with pytest.raises(PiPlatformUnavailableError) as info:
        client.approve_payment(pid)  # a POST that may have landed is not replayed
    assert info.value.http_status == 502
    assert control.fired_faults()["platform"] == 3
    assert client.get_payment(pid).status.developer_approved is False


def test_connection_errors_retry_with_backoff_then_fail() -> None:
    slept: list[float] = []
    with (
        PiPlatformClient(
            API_KEY, f"http://127.0.0.1:{free_port()}/v2", max_retries=3, backoff=0.1, sleep=slept.append
        ) as dead,
        pytest.raises(PiPlatformUnavailableError),
    ):
        dead.approve_payment("abc")
    assert slept == [0.1, 0.2, 0.4]


def test_incomplete_server_payments_and_a2u_creation(
    client: PiPlatformClient, control: PeerControl, app_keypair: Keypair
) -> None:
    user = control.create_user(5 * PI)
    created = client.create_payment(amount=7_654_321, memo="Refund", metadata={"refund": 1}, uid=user.uid)
    assert created.direction == "app_to_user" and created.amount == 7_654_321
    assert (created.from_address, created.to_address) == (app_keypair.public_key, user.public_key)
    pending = client.incomplete_server_payments()
    assert [(p.identifier, p.amount) for p in pending] == [(created.identifier, 7_654_321)]
    with pytest.raises(PiOngoingPaymentFoundError) as info:
        client.create_payment(amount=1, memo="again", metadata={}, uid=user.uid)
    assert info.value.payment is not None and info.value.payment.identifier == created.identifier
    client.cancel_payment(created.identifier)
    assert client.incomplete_server_payments() == []


def test_amounts_are_exact_and_over_precise_amounts_rejected() -> None:
    raw = _loads('{"amount": 0.1000001, "big": 123456789.1234567}')
    assert to_minor(raw["amount"]) == 1_000_001 and to_minor(raw["big"]) == 1_234_567_891_234_567
    assert to_stellar_amount(1_000_001) == "0.1000001"
    with pytest.raises(PiAmountError):
        to_minor(_loads("1.00000001"))
    with pytest.raises(PiAmountError):
        to_minor(0.1)  # type: ignore[arg-type]
    dto = {
        "identifier": "x",
        "user_uid": "u",
        "amount": _loads("1.12345678"),
        "memo": "",
        "metadata": {},
        "from_address": "a",
        "to_address": "b",
        "direction": "user_to_app",
        "created_at": "t",
        "network": "Pi Testnet",
        "transaction": None,
        "status": dict.fromkeys(
            [
                "developer_approved",
                "transaction_verified",
                "developer_completed",
                "cancelled",
                "user_cancelled",
            ],
            False,
        ),
    }
    with pytest.raises(PiAmountError):
        PiPayment.model_validate(dto)
