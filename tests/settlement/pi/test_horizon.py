"""PiHorizon against the local Pi peer: reads, SSE, and A2U payouts surviving 504s and clock skew."""

from __future__ import annotations

import queue
import threading
import time

import pytest
from stellar_sdk import Keypair

from pi_peer.control import PeerControl
from pi_peer.server import PeerServer
from settlement.pi.horizon import (
    PI_TESTNET_PASSPHRASE,
    PiHorizon,
    PiLedgerNotFoundError,
    PiOperation,
    PiPayoutExpiredError,
    PiSubmitRejectedError,
)
from settlement.pi.platform_client import PiPlatformClient

API_KEY = "test-server-api-key"
PI = 10_000_000


@pytest.fixture
def horizon(peer: PeerServer) -> PiHorizon:
    """The production Horizon client; resubmits quickly."""
    return PiHorizon(peer.url, PI_TESTNET_PASSPHRASE, resubmit_interval=0.1)


@pytest.fixture
def platform(peer: PeerServer) -> PiPlatformClient:
    """The production Platform API client."""
    return PiPlatformClient(API_KEY, peer.platform_url, sleep=lambda _s: None)


def test_a2u_payout_survives_504s_and_completes(
    horizon: PiHorizon, platform: PiPlatformClient, control: PeerControl, app_keypair: Keypair
) -> None:
    user = control.create_user(2 * PI)
    payment = platform.create_payment(amount=12_500_001, memo="Cashback", metadata={"order": 9}, uid=user.uid)
    app_before = horizon.balance(app_keypair.public_key)
    control.arm_fault("horizon_submit", count=3, status=504)
    tx = horizon.pay(app_keypair, payment.to_address, payment.amount, payment.identifier, timeout_seconds=30)
    assert control.fired_faults()["horizon_submit"] == 3
    assert tx.successful and tx.memo == payment.identifier and tx.source_account == app_keypair.public_key
    assert horizon.balance(user.public_key) == 2 * PI + 12_500_001
    assert horizon.balance(app_keypair.public_key) == app_before - 12_500_001 - tx.fee_charged
    ops = horizon.transaction_operations(tx.hash)
    assert [(o.type, o.from_address, o.to_address, o.amount) for o in ops] == [
        ("payment", app_keypair.public_key, user.public_key, 12_500_001)
    ]
    linked = platform.get_payment(payment.identifier)
    assert (
        linked.transaction is not None and linked.transaction.txid == tx.hash and linked.transaction.verified
    )
    assert platform.incomplete_server_payments()[0].identifier == payment.identifier
    assert platform.complete_payment(payment.identifier, tx.hash).status.developer_completed
    assert platform.incomplete_server_payments() == []


def test_504_after_inclusion_is_resubmitted_without_double_payment(
    horizon: PiHorizon, control: PeerControl, app_keypair: Keypair
) -> None:
    user = control.create_user(2 * PI)
    before = horizon.balance(user.public_key)
    control.arm_fault("horizon_submit", count=2, status=504, apply_first=True)
    tx = horizon.pay(app_keypair, user.public_key, 3 * PI, "payout-1", timeout_seconds=30)
    assert horizon.balance(user.public_key) == before + 3 * PI  # applied exactly once
    assert horizon.get_transaction(tx.hash).ledger == tx.ledger
    assert control.fired_faults()["horizon_submit"] == 2


def test_tx_too_early_is_resubmitted_until_the_ledger_clock_catches_up(
    horizon: PiHorizon, control: PeerControl, app_keypair: Keypair
) -> None:
    user = control.create_user(2 * PI)
    control.set_clock_offset(-2)  # the network's clock is 2 s behind ours: min_time is in its future
    started = time.monotonic()
    tx = horizon.pay(app_keypair, user.public_key, PI, "early", timeout_seconds=30)
    assert tx.successful and time.monotonic() - started >= 0.9
    assert horizon.balance(user.public_key) == 3 * PI


def test_payout_expires_when_every_attempt_fails(
    horizon: PiHorizon, control: PeerControl, app_keypair: Keypair
) -> None:
    user = control.create_user(2 * PI)
    control.arm_fault("horizon_submit", count=1000, status=504)
    envelope = horizon.build_payout(app_keypair, user.public_key, PI, "never", timeout_seconds=1)
    with pytest.raises(PiPayoutExpiredError):
        horizon.submit(envelope)
    with pytest.raises(PiLedgerNotFoundError):
        horizon.get_transaction(envelope.hash_hex())
    assert horizon.balance(user.public_key) == 2 * PI


def test_rejections_are_typed_with_result_codes(
    horizon: PiHorizon, control: PeerControl, app_keypair: Keypair
) -> None:
    user = control.create_user(2 * PI)
    poor = Keypair.from_secret(user.secret_seed)
    with pytest.raises(PiSubmitRejectedError) as info:
        horizon.pay(poor, app_keypair.public_key, 5 * PI, "too-much")
    assert (info.value.tx_code, info.value.op_codes) == ("tx_failed", ["op_underfunded"])
    assert horizon.balance(poor.public_key) == 2 * PI - 100  # the failed tx still paid its fee


def test_find_by_memo_and_page_payments_from_a_cursor(
    horizon: PiHorizon, control: PeerControl, app_keypair: Keypair
) -> None:
    user = control.create_user(2 * PI)
    txs = [horizon.pay(app_keypair, user.public_key, n, f"memo-{n}") for n in (1, 2, 3)]
    found = horizon.find_transaction_by_memo(app_keypair.public_key, "memo-2", page_size=1)
    assert found is not None and found.hash == txs[1].hash
    assert horizon.find_transaction_by_memo(app_keypair.public_key, "absent", page_size=2) is None
    everything = list(horizon.iter_payments(user.public_key, limit=2))
    assert [(o.type, o.amount) for o in everything] == [
        ("create_account", 2 * PI),
        ("payment", 1),
        ("payment", 2),
        ("payment", 3),
    ]
    after_first = list(horizon.iter_payments(user.public_key, cursor=everything[1].paging_token))
    assert [o.amount for o in after_first] == [2, 3]


def test_sse_stream_from_cursor_delivers_history_then_live(
    horizon: PiHorizon, control: PeerControl, app_keypair: Keypair
) -> None:
    user = control.create_user(2 * PI)
    first = horizon.pay(app_keypair, user.public_key, 11, "s-1")
    cursor = horizon.payments_page(user.public_key, limit=1).next_cursor  # after the create_account
    assert cursor is not None
    got: queue.Queue[PiOperation] = queue.Queue()

    def listen() -> None:
        for op in horizon.stream_payments(user.public_key, cursor=cursor):
            got.put(op)
            if got.qsize() == 2:
                return

    threading.Thread(target=listen, daemon=True).start()
    historic = got.get(timeout=5)
    assert (historic.transaction_hash, historic.amount) == (first.hash, 11)
    second = horizon.pay(app_keypair, user.public_key, 22, "s-2")
    live = got.get(timeout=5)
    assert (live.transaction_hash, live.amount, live.to_address) == (second.hash, 22, user.public_key)


def test_reads_retry_through_transient_horizon_failures(
    horizon: PiHorizon, control: PeerControl, app_keypair: Keypair
) -> None:
    control.arm_fault("horizon_read", count=2, status=503)
    assert horizon.balance(app_keypair.public_key) == 1_000 * PI
    assert control.fired_faults()["horizon_read"] == 2
