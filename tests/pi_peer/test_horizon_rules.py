"""The peer's Horizon, driven only through stellar-sdk: real envelopes, real result codes."""

from __future__ import annotations

import queue
import threading
import time

import pytest
from stellar_sdk import Account, Asset, Keypair, Server, TransactionBuilder
from stellar_sdk import xdr as sx
from stellar_sdk.client.requests_client import RequestsClient
from stellar_sdk.exceptions import BadRequestError, NotFoundError, raise_request_exception

from pi_peer.control import PeerControl
from pi_peer.server import PeerServer

PASSPHRASE = "Pi Testnet"
PI = 10_000_000


def build(
    source: Keypair,
    sequence: int,
    destination: str,
    amount: str,
    *,
    memo: str = "memo",
    signer: Keypair | None = None,
    passphrase: str = PASSPHRASE,
    fee: int = 100,
    bounds: tuple[int, int] | None = None,
) -> str:
    """A payment envelope built and signed by stellar-sdk (``sequence`` = account's current; +1 is used)."""
    now = int(time.time())
    min_t, max_t = bounds or (0, now + 60)
    tx = (
        TransactionBuilder(Account(source.public_key, sequence), network_passphrase=passphrase, base_fee=fee)
        .append_payment_op(destination=destination, asset=Asset.native(), amount=amount)
        .add_text_memo(memo)
        .add_time_bounds(min_t, max_t)
        .build()
    )
    tx.sign(signer or source)
    return tx.to_xdr()


def codes(exc: BadRequestError) -> dict[str, object]:
    """Horizon's extras.result_codes of a failed submission."""
    assert exc.extras is not None
    return dict(exc.extras["result_codes"])


def seq(server: Server, account_id: str) -> int:
    """Current sequence number of an account."""
    return server.load_account(account_id).sequence


def balance(server: Server, account_id: str) -> str:
    """Native balance string of an account."""
    data = server.accounts().account_id(account_id).call()
    return str(next(b["balance"] for b in data["balances"] if b["asset_type"] == "native"))


def test_account_shape_and_funding_are_real_transactions(
    peer: PeerServer, control: PeerControl, horizon_server: Server, app_keypair: Keypair
) -> None:
    user = control.create_user(25 * PI)
    data = horizon_server.accounts().account_id(user.public_key).call()
    assert data["id"] == user.public_key
    assert data["balances"] == [
        {
            "balance": "25.0000000",
            "buying_liabilities": "0.0000000",
            "selling_liabilities": "0.0000000",
            "asset_type": "native",
        }
    ]
    # Ledger 2 funded the app, ledger 3 created this user: sequence = ledger << 32.
    assert int(data["sequence"]) == 3 << 32
    funding = horizon_server.payments().for_account(user.public_key).call()["_embedded"]["records"]
    assert [(r["type"], r["account"], r["starting_balance"]) for r in funding] == [
        ("create_account", user.public_key, "25.0000000")
    ]
    assert balance(horizon_server, app_keypair.public_key) == "1000.0000000"


def test_successful_payment_moves_exact_amounts_and_charges_fee(
    control: PeerControl, horizon_server: Server, app_keypair: Keypair
) -> None:
    user = control.create_user(10 * PI)
    kp = Keypair.from_secret(user.secret_seed)
    env = build(kp, seq(horizon_server, kp.public_key), app_keypair.public_key, "1.2345678", memo="hello")
    resp = horizon_server.submit_transaction(env)
    assert resp["successful"] is True and resp["memo"] == "hello" and resp["fee_charged"] == "100"
    assert balance(horizon_server, kp.public_key) == "8.7654222"  # 10 - 1.2345678 - 0.0000100
    assert balance(horizon_server, app_keypair.public_key) == "1001.2345678"
    result = sx.TransactionResult.from_xdr(resp["result_xdr"])
    assert result.result.code == sx.TransactionResultCode.txSUCCESS
    ops = horizon_server.operations().for_transaction(resp["hash"]).call()["_embedded"]["records"]
    assert [(o["type"], o["from"], o["to"], o["amount"]) for o in ops] == [
        ("payment", kp.public_key, app_keypair.public_key, "1.2345678")
    ]
    # Resubmitting the identical envelope returns the included result; nothing is applied twice.
    again = horizon_server.submit_transaction(env)
    assert again["hash"] == resp["hash"] and again["ledger"] == resp["ledger"]
    assert balance(horizon_server, kp.public_key) == "8.7654222"


def test_bad_signature_is_tx_bad_auth(
    control: PeerControl, horizon_server: Server, app_keypair: Keypair
) -> None:
    user = control.create_user(10 * PI)
    kp = Keypair.from_secret(user.secret_seed)
    env = build(kp, seq(horizon_server, kp.public_key), app_keypair.public_key, "1", signer=Keypair.random())
    with pytest.raises(BadRequestError) as info:
        horizon_server.submit_transaction(env)
    assert info.value.status == 400
    assert codes(info.value) == {"transaction": "tx_bad_auth"}
    assert balance(horizon_server, kp.public_key) == "10.0000000"


def test_signed_for_another_network_is_tx_bad_auth(
    control: PeerControl, horizon_server: Server, app_keypair: Keypair
) -> None:
    user = control.create_user(10 * PI)
    kp = Keypair.from_secret(user.secret_seed)
    env = build(kp, seq(horizon_server, kp.public_key), app_keypair.public_key, "1", passphrase="Pi Network")
    with pytest.raises(BadRequestError) as info:
        horizon_server.submit_transaction(env)
    assert codes(info.value)["transaction"] == "tx_bad_auth"


def test_bad_sequence_is_tx_bad_seq(
    control: PeerControl, horizon_server: Server, app_keypair: Keypair
) -> None:
    user = control.create_user(10 * PI)
    kp = Keypair.from_secret(user.secret_seed)
    current = seq(horizon_server, kp.public_key)
    with pytest.raises(BadRequestError) as info:
        horizon_server.submit_transaction(build(kp, current + 1, app_keypair.public_key, "1"))
    assert codes(info.value) == {"transaction": "tx_bad_seq"}
    assert seq(horizon_server, kp.public_key) == current


def test_overspend_is_op_underfunded_but_fee_and_sequence_are_consumed(
    control: PeerControl, horizon_server: Server, app_keypair: Keypair
) -> None:
    user = control.create_user(10 * PI)
    kp = Keypair.from_secret(user.secret_seed)
    current = seq(horizon_server, kp.public_key)
    # 9.5 Pi would leave 0.5, under the 1 Pi minimum balance (2 base reserves of 0.5).
    with pytest.raises(BadRequestError) as info:
        horizon_server.submit_transaction(build(kp, current, app_keypair.public_key, "9.5"))
    assert codes(info.value) == {"transaction": "tx_failed", "operations": ["op_underfunded"]}
    result = sx.TransactionResult.from_xdr(info.value.extras["result_xdr"])  # type: ignore[index]
    assert result.result.code == sx.TransactionResultCode.txFAILED
    assert balance(horizon_server, kp.public_key) == "9.9999900"
    assert seq(horizon_server, kp.public_key) == current + 1


def test_fee_beyond_reserve_is_tx_insufficient_balance(
    control: PeerControl, horizon_server: Server, app_keypair: Keypair
) -> None:
    user = control.create_user(1 * PI)  # exactly the minimum balance: cannot even pay the fee
    kp = Keypair.from_secret(user.secret_seed)
    with pytest.raises(BadRequestError) as info:
        horizon_server.submit_transaction(
            build(kp, seq(horizon_server, kp.public_key), app_keypair.public_key, "0.1")
        )
    assert codes(info.value) == {"transaction": "tx_insufficient_balance"}


def test_time_bounds_fee_and_destination_rules(
    control: PeerControl, horizon_server: Server, app_keypair: Keypair
) -> None:
    user = control.create_user(10 * PI)
    kp = Keypair.from_secret(user.secret_seed)
    s = seq(horizon_server, kp.public_key)
    now = int(time.time())
    cases = [
        (build(kp, s, app_keypair.public_key, "1", bounds=(0, now - 5)), {"transaction": "tx_too_late"}),
        (
            build(kp, s, app_keypair.public_key, "1", bounds=(now + 300, now + 600)),
            {"transaction": "tx_too_early"},
        ),
        (build(kp, s, app_keypair.public_key, "1", fee=99), {"transaction": "tx_insufficient_fee"}),
    ]
    for envelope, expected in cases:
        with pytest.raises(BadRequestError) as info:
            horizon_server.submit_transaction(envelope)
        assert codes(info.value) == expected
    with pytest.raises(BadRequestError) as info:
        horizon_server.submit_transaction(build(kp, s, Keypair.random().public_key, "1"))
    assert codes(info.value) == {"transaction": "tx_failed", "operations": ["op_no_destination"]}


def test_malformed_envelope_and_unknown_resources(horizon_server: Server, peer: PeerServer) -> None:
    # stellar-sdk refuses to send undecodable XDR itself, so post through its HTTP client directly.
    response = RequestsClient().post(peer.url + "transactions", data={"tx": "AAAAnotxdr"})
    with pytest.raises(BadRequestError) as info:
        raise_request_exception(response)
    assert info.value.type == "https://stellar.org/horizon-errors/transaction_malformed"
    with pytest.raises(NotFoundError):
        horizon_server.transactions().transaction("00" * 32).call()
    with pytest.raises(NotFoundError):
        horizon_server.accounts().account_id(Keypair.random().public_key).call()


def test_account_payments_paging_with_cursor_and_links(
    control: PeerControl, horizon_server: Server, app_keypair: Keypair
) -> None:
    user = control.create_user(20 * PI)
    kp = Keypair.from_secret(user.secret_seed)
    for i in range(5):
        horizon_server.submit_transaction(
            build(kp, seq(horizon_server, kp.public_key), app_keypair.public_key, f"0.000000{i + 1}")
        )
    builder = horizon_server.payments().for_account(kp.public_key).limit(2).order(desc=False)
    first = builder.call()["_embedded"]["records"]
    second = builder.next()["_embedded"]["records"]
    third = builder.next()["_embedded"]["records"]
    amounts = [r.get("amount") or r.get("starting_balance") for r in first + second + third]
    assert amounts == ["20.0000000", "0.0000001", "0.0000002", "0.0000003", "0.0000004", "0.0000005"]
    ids = [int(r["paging_token"]) for r in first + second + third]
    assert ids == sorted(ids)
    desc = horizon_server.payments().for_account(kp.public_key).limit(1).order(desc=True).call()
    assert desc["_embedded"]["records"][0]["amount"] == "0.0000005"
    txs = horizon_server.transactions().for_account(kp.public_key).order(desc=True).limit(2).call()
    assert [t["source_account_sequence"] for t in txs["_embedded"]["records"]] == [
        str(seq(horizon_server, kp.public_key)),
        str(seq(horizon_server, kp.public_key) - 1),
    ]


def test_sse_payment_stream_with_stellar_sdk_from_cursor_then_live(
    control: PeerControl, horizon_server: Server, app_keypair: Keypair
) -> None:
    user = control.create_user(20 * PI)
    kp = Keypair.from_secret(user.secret_seed)
    horizon_server.submit_transaction(
        build(kp, seq(horizon_server, kp.public_key), app_keypair.public_key, "2")
    )
    page = horizon_server.payments().for_account(app_keypair.public_key).call()["_embedded"]["records"]
    cursor = page[0]["paging_token"]  # the app's own funding; stream starts after it
    received: queue.Queue[dict[str, object]] = queue.Queue()

    def listen() -> None:
        # Counted here, not by the queue's size: the test takes records out as they arrive.
        for count, record in enumerate(
            Server(horizon_server.horizon_url)
            .payments()
            .for_account(app_keypair.public_key)
            .cursor(cursor)
            .stream(),
            start=1,
        ):
            received.put(record)
            if count == 2:
                return

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    historic = received.get(timeout=5)
    assert (historic["from"], historic["amount"]) == (kp.public_key, "2.0000000")
    horizon_server.submit_transaction(
        build(kp, seq(horizon_server, kp.public_key), app_keypair.public_key, "3")
    )
    live = received.get(timeout=5)
    assert (live["from"], live["to"], live["amount"]) == (kp.public_key, app_keypair.public_key, "3.0000000")
    assert int(str(live["paging_token"])) > int(str(historic["paging_token"]))
    thread.join(timeout=5)
    assert not thread.is_alive()  # the stream ended with the test, not with the peer


def test_wallet_helper_builds_signs_and_submits_real_transaction(
    peer: PeerServer, control: PeerControl, horizon_server: Server, app_keypair: Keypair
) -> None:
    import httpx

    user = control.create_user(10 * PI)
    pid = control.create_u2a_payment(user.uid, 2, "tea", {"order": 7})
    httpx.post(
        f"{peer.platform_url}/payments/{pid}/approve", headers={"Authorization": "Key test-server-api-key"}
    )
    txid = control.wallet_pay(pid)
    tx = horizon_server.transactions().transaction(txid).call()
    assert (tx["memo"], tx["source_account"], tx["successful"]) == (pid, user.public_key, True)
    assert len(tx["signatures"]) == 1


def test_wallet_waits_for_the_developers_approval_when_asked(
    peer: PeerServer, control: PeerControl, horizon_server: Server
) -> None:
    """With ``await_approval`` the wallet pays once the app approves (as the Pi app's dialog does);
    without it, or when the approval never comes, it refuses and nothing is submitted."""
    import threading
    import time

    import httpx

    user = control.create_user(10 * PI)
    pid = control.create_u2a_payment(user.uid, 2, "tea", {})
    with pytest.raises(RuntimeError, match="not_approved"):
        control.wallet_pay(pid)
    started = time.monotonic()
    with pytest.raises(RuntimeError, match="not_approved"):
        control.wallet_pay(pid, await_approval=0.3)
    assert time.monotonic() - started >= 0.3
    with pytest.raises(RuntimeError, match="invalid_arguments"):
        control._post(f"payments/{pid}/wallet_pay", {"await_approval_seconds": "soon"})
    assert (
        horizon_server.payments().for_account(user.public_key).call()["_embedded"]["records"][-1]["type"]
        == "create_account"
    )  # nothing was paid yet

    def approve_later() -> None:
        time.sleep(0.2)
        httpx.post(
            f"{peer.platform_url}/payments/{pid}/approve",
            headers={"Authorization": "Key test-server-api-key"},
        ).raise_for_status()

    approver = threading.Thread(target=approve_later)
    approver.start()
    txid = control.wallet_pay(pid, await_approval=10)
    approver.join()
    tx = horizon_server.transactions().transaction(txid).call()
    assert (tx["memo"], tx["source_account"], tx["successful"]) == (pid, user.public_key, True)
