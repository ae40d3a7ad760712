"""The Pi SDK's callbacks through the API: ``onReadyForServerApproval`` queues the approval,
``onReadyForServerCompletion`` records the txid once and queues verification; duplicates, also
five at once, are no-ops; a bad txid is a clear error and changes nothing.

The worker side (what the queued tasks do on the Pi peer and the chain) is tested in
tests/settlement/workers/.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from stellar_sdk import Keypair

from api.app import create_app
from api.payments.precheck import PiPaymentCheck
from api.settings import ApiSettings
from chain.settings import ChainSettings
from common.sql.engine import create_engine_from_url, make_sessionmaker
from common.sql.migrate import upgrade
from pi_peer.control import PeerControl
from pi_peer.server import PeerServer
from settlement.flow.binding import payment_metadata
from settlement.payments.models import Payment, PaymentStatus, PaymentStatusChange
from settlement.payments.service import PaymentService
from settlement.pi.platform_client import PiPlatformClient
from tests.api.support import BUILD_DIR, Db, bearer, new_merchant
from tests.api.test_payments import PI, Api, RecordingQueue, api, open_api, txid
from tests.support.pi_peer import API_KEY as PEER_API_KEY
from tests.support.pi_peer import app_keypair, control, peer

__all__ = ["api", "app_keypair", "control", "peer"]


@pytest.fixture(scope="module")
def pg_api(pg_schema_factory: Callable[[], str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """The app on a PostgreSQL schema of its own: concurrent writers are PostgreSQL's deployment
    (the embedded SQLite default serves one process)."""
    url = pg_schema_factory()
    upgrade(url)
    engine = create_engine_from_url(url)
    yield from open_api(Db("postgresql", url, engine, make_sessionmaker(engine)), tmp_path_factory)
    engine.dispose()


def test_piComplete_recordsTxid_queuesVerification_duplicatesAreNoops(api: Api) -> None:
    _, key = new_merchant(api.db)
    made = api.pay(key, api.quote(key), "piDone1").json()
    api.move(made["id"], PaymentStatus.PENDING_USER_TRANSFER_START)
    tx = txid()
    done = api.client.post("/v1/pi/payments/piDone1/complete", json={"txid": tx.upper()}, headers=bearer(key))
    assert done.status_code == 202, done.text
    assert done.json()["status"] == "pending_anchor" and done.json()["txid"] == tx
    assert done.json()["queued"] == "payments.verify_and_complete"
    before = api.counts()
    again = api.client.post("/v1/pi/payments/piDone1/complete", json={"txid": tx}, headers=bearer(key))
    assert again.status_code == 202 and again.json()["txid"] == tx
    assert api.counts() == before
    verify = "payments.verify_and_complete"
    assert api.queue.of(made["id"]) == ["payments.approve", verify, verify]
    approve = api.client.post("/v1/pi/payments/piDone1/approve", headers=bearer(key))
    assert approve.status_code == 202 and approve.json()["status"] == "pending_anchor"


def test_piComplete_badInput_isClearError_andChangesNothing(api: Api) -> None:
    _, key = new_merchant(api.db)
    first = api.pay(key, api.quote(key), "piTxA").json()
    second = api.pay(key, api.quote(key), "piTxB").json()
    waiting = api.pay(key, api.quote(key), "piTxC").json()
    for payment in (first, second):
        api.move(payment["id"], PaymentStatus.PENDING_USER_TRANSFER_START)
    used = txid()
    assert (
        api.client.post(
            "/v1/pi/payments/piTxA/complete", json={"txid": used}, headers=bearer(key)
        ).status_code
        == 202
    )
    before = api.counts()
    headers = {**bearer(key), "Content-Type": "application/json"}
    cases: list[tuple[Any, int, str]] = [
        # A txid already paying another payment: one Pi transaction pays once (which one is not said).
        (
            api.client.post("/v1/pi/payments/piTxB/complete", json={"txid": used}, headers=headers),
            409,
            "txid_already_used",
        ),
        # Another txid for a payment whose txid is recorded.
        (
            api.client.post("/v1/pi/payments/piTxA/complete", json={"txid": txid()}, headers=headers),
            409,
            "payment_txid_mismatch",
        ),
        # Not approved yet: no transaction can be expected.
        (
            api.client.post("/v1/pi/payments/piTxC/complete", json={"txid": txid()}, headers=headers),
            409,
            "invalid_transition",
        ),
        (
            api.client.post("/v1/pi/payments/piNobody/complete", json={"txid": txid()}, headers=headers),
            404,
            "pi_payment_not_found",
        ),
        (
            api.client.post("/v1/pi/payments/piTxB/complete", json={"txid": "abc"}, headers=headers),
            422,
            "validation_error",
        ),
        (
            api.client.post("/v1/pi/payments/piTxB/complete", content=b"{txid:", headers=headers),
            400,
            "invalid_json",
        ),
        (
            api.client.post(
                "/v1/pi/payments/piTxB/complete", content=b'{"txid":"' + b"a" * 5000 + b'"}', headers=headers
            ),
            413,
            "payload_too_large",
        ),
    ]
    assert first["id"] not in cases[0][0].text
    for response, status, code in cases:
        assert (response.status_code, response.json()["error"]) == (status, code), response.text
    assert api.counts() == before
    assert api.queue.of(second["id"]) == ["payments.approve"]
    assert api.queue.of(waiting["id"]) == ["payments.approve"]


def test_sameCallbacksFiveTimesConcurrently_recordOnce(pg_api: Api) -> None:
    api = pg_api
    _, key = new_merchant(api.db)
    quote_id = api.quote(key)
    barrier = threading.Barrier(5)
    results: list[Any] = []

    def deliver(call: Any) -> None:
        barrier.wait()
        results.append(call())

    def run_five(call: Any) -> list[Any]:
        results.clear()
        threads = [threading.Thread(target=deliver, args=(call,)) for _ in range(5)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return list(results)

    created = run_five(lambda: api.pay(key, quote_id, "piConcurrent1"))
    assert [r.status_code for r in created] == [202] * 5, [r.text for r in created]
    ids = {r.json()["id"] for r in created}
    assert len(ids) == 1
    payment_id = ids.pop()
    api.move(payment_id, PaymentStatus.PENDING_USER_TRANSFER_START)
    tx = txid()
    completed = run_five(
        lambda: api.client.post(
            "/v1/pi/payments/piConcurrent1/complete", json={"txid": tx}, headers=bearer(key)
        )
    )
    assert [r.status_code for r in completed] == [202] * 5, [r.text for r in completed]
    with api.db.sessions() as session:
        assert (
            session.scalar(
                select(func.count()).select_from(Payment).where(Payment.pi_payment_id == "piConcurrent1")
            )
            == 1
        )
        moves = session.scalars(
            select(PaymentStatusChange.to_status).where(
                PaymentStatusChange.payment_id == uuid.UUID(payment_id)
            )
        ).all()
    assert sorted(moves) == ["pending_anchor", "pending_user_transfer_start"]


@pytest.fixture
def peer_api(
    db: Db, peer: PeerServer, app_keypair: Keypair, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Api]:
    """The app with the Pi network configured (a real Pi peer) and a recording queue (no workers)."""
    check = PiPaymentCheck(PiPlatformClient(PEER_API_KEY, peer.platform_url), app_keypair.public_key)
    settings = ApiSettings.from_env({}, database_url=db.url)
    chain = ChainSettings.from_env(
        {}, rpc_url="http://127.0.0.1:9", build_dir=BUILD_DIR, deployments_dir=tmp_path_factory.mktemp("dep")
    )
    queue = RecordingQueue()
    app = create_app(settings, chain_settings=chain, task_queue=queue, pi_check=check)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Api(client, db, queue)


def test_piComplete_beforeTheApprovalMoveIsRecorded_takesTheTxidWhenPiApproved(
    peer_api: Api, peer: PeerServer, control: PeerControl
) -> None:
    """The customer paid between the approval step's call to Pi and its move: the callback makes
    the move (Pi shows the payment approved) and records the txid; for a payment Pi has not
    approved the same callback is 409 and changes nothing."""
    merchant_id, key = new_merchant(peer_api.db)
    approve_on_pi = {"Authorization": f"Key {PEER_API_KEY}"}
    for approved in (True, False):
        user = control.create_user(100 * PI)
        quote_id = peer_api.quote(key)
        pi_id = control.create_u2a_payment(user.uid, 10, "Pecel", payment_metadata(merchant_id, quote_id))
        made = peer_api.pay(key, quote_id, pi_id)
        assert made.status_code == 202 and made.json()["status"] == "incomplete", made.text
        if approved:
            approval = httpx.post(f"{peer.platform_url}/payments/{pi_id}/approve", headers=approve_on_pi)
            approval.raise_for_status()
            tx = control.wallet_pay(pi_id)
        else:
            tx = txid()
        before = peer_api.counts()
        done = peer_api.client.post(
            f"/v1/pi/payments/{pi_id}/complete", json={"txid": tx}, headers=bearer(key)
        )
        detail = peer_api.client.get(f"/v1/payments/{made.json()['id']}", headers=bearer(key)).json()
        moves = [(h["from_status"], h["to_status"]) for h in detail["history"]]
        if approved:
            assert done.status_code == 202, done.text
            assert (done.json()["status"], done.json()["txid"]) == ("pending_anchor", tx)
            assert moves == [
                ("incomplete", "pending_user_transfer_start"),
                ("pending_user_transfer_start", "pending_anchor"),
            ]
            assert peer_api.queue.of(made.json()["id"])[-1] == "payments.verify_and_complete"
        else:
            assert done.status_code == 409 and done.json()["error"] == "invalid_transition", done.text
            assert (detail["status"], detail["txid"], moves) == ("incomplete", None, [])
            assert peer_api.counts() == before


def test_createPayment_piPaymentMeantForAnotherMerchant_isRefusedUnrecorded_andStaysTheirs(
    peer_api: Api, control: PeerControl
) -> None:
    """A customer starts a Pi payment for merchant B (its metadata names B and B's quote). Merchant
    A presenting it with A's own quote is refused (422) before anything is recorded, and the
    answer names nothing of B's; B then records it as usual. Metadata naming A but another quote,
    or nothing, is refused the same way; the right binding with another amount is a mismatch."""
    b_merchant, b_key = new_merchant(peer_api.db)
    a_merchant, a_key = new_merchant(peer_api.db)
    b_quote = peer_api.quote(b_key)
    customer = control.create_user(100 * PI)
    pi_id = control.create_u2a_payment(customer.uid, 10, "Pecel", payment_metadata(b_merchant, b_quote))

    a_quote = peer_api.quote(a_key)
    before = peer_api.counts()
    claimed = peer_api.pay(a_key, a_quote, pi_id)
    assert claimed.status_code == 422 and claimed.json()["error"] == "pi_payment_not_bound", claimed.text
    assert str(b_merchant) not in claimed.text and b_quote not in claimed.text
    assert peer_api.counts() == before

    mine = peer_api.pay(b_key, b_quote, pi_id)
    assert mine.status_code == 202 and mine.json()["merchant_id"] == str(b_merchant), mine.text
    assert peer_api.pay(a_key, a_quote, pi_id).status_code == 422  # and A still cannot take it
    assert mine.json()["id"] not in peer_api.pay(a_key, a_quote, pi_id).text

    for metadata, amount, code in (
        (payment_metadata(a_merchant, str(uuid.uuid4())), 10, "pi_payment_not_bound"),
        ({}, 10, "pi_payment_not_bound"),
        ({"merchant": str(a_merchant)}, 10, "pi_payment_not_bound"),
        (payment_metadata(a_merchant, a_quote), 9, "pi_payment_mismatch"),
    ):
        user = control.create_user(100 * PI)
        other_pi = control.create_u2a_payment(user.uid, amount, "Pecel", metadata)
        before = peer_api.counts()
        refused = peer_api.pay(a_key, a_quote, other_pi)
        assert (refused.status_code, refused.json()["error"]) == (422, code), refused.text
        assert peer_api.counts() == before
    user = control.create_user(100 * PI)
    bound = control.create_u2a_payment(user.uid, 10, "Pecel", payment_metadata(a_merchant, a_quote))
    assert peer_api.pay(a_key, a_quote, bound).status_code == 202


def test_piApprove_ofARecordedPaymentPiDoesNotBindToItsMerchant_is422AndQueuesNothing(
    peer_api: Api, control: PeerControl
) -> None:
    """A payment recorded before the binding was checked (or by a path that skipped it) is checked
    again when its approval callback arrives: not bound, nothing is queued."""
    merchant_id, key = new_merchant(peer_api.db)
    quote_id = peer_api.quote(key)
    user = control.create_user(100 * PI)
    pi_id = control.create_u2a_payment(user.uid, 10, "Pecel", payment_metadata(uuid.uuid4(), quote_id))
    payments: PaymentService = peer_api.client.app.state.payments  # type: ignore[attr-defined]
    with peer_api.db.sessions.begin() as session:
        payment = payments.create(
            session, pi_payment_id=pi_id, merchant_id=str(merchant_id), quote_id=uuid.UUID(quote_id)
        )
    refused = peer_api.client.post(f"/v1/pi/payments/{pi_id}/approve", headers=bearer(key))
    assert refused.status_code == 422 and refused.json()["error"] == "pi_payment_not_bound", refused.text
    assert peer_api.queue.of(str(payment.id)) == []
