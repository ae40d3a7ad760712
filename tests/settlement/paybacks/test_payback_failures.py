"""What stops a pay-back and what it does then: the Pi platform unavailable (waits, then finishes,
paying once), a burn the token refuses (failed with a reason, retried by an operator), MSC paid
back to another key than this service's (left owed, no Pi paid), and the app wallet's one payout
slot shared with the Pi refunds of refused payments."""

from __future__ import annotations

import pytest

from settlement.flow.errors import WalletBusyError
from settlement.flow.models import RefundStatus
from settlement.paybacks.models import PaybackStatus as B
from settlement.payments.models import PaymentStatus as S
from settlement.pi.platform_client import PiPlatformClient
from tests.settlement.flow.support import API_KEY, PI, Order, Peer, new_order
from tests.settlement.ledger.support import Db
from tests.settlement.minting.support import Chain
from tests.settlement.paybacks.support import World, make_world

ANVIL_PORT = 8833


class CrashError(Exception):
    """The process dies here."""


def _refunded(world: World, sell: int = 6 * PI) -> Order:
    order = world.paid(sell)
    world.refund(order, order.payment.idr_amount // 4)
    return order


def test_pi_platform_unavailable_waits_then_pays_once(fresh_db: Db, chain: Chain, peer: Peer) -> None:
    world = make_world(fresh_db, chain, peer)
    order = _refunded(world)
    before = world.pi_of(order)
    no_retries = PiPlatformClient(API_KEY, peer.server.platform_url, max_retries=0, sleep=lambda _s: None)

    # 1. Pi answers 500 before anything is created (its list of incomplete payments, then the
    #    customer's payment record): the pay-back waits, nothing on Pi.
    world.control_fault(count=2)
    report = world.service(platform=no_retries).run_once()
    (payback,) = world.paybacks(order)
    assert report.waiting == [payback.id] and payback.status == B.OWED and payback.pi_payment_id is None
    assert world.check()[0]

    # 2. The payout lands, then completing it on Pi answers 500: it waits in pi_submitted.
    def fault_after_send(point: str) -> None:
        if point == "pi_sent":
            world.control_fault(count=1)

    report = world.service(fault_after_send, platform=no_retries).run_once()
    (payback,) = world.paybacks(order)
    assert report.waiting == [payback.id] and payback.status == B.PI_SUBMITTED
    assert world.pi_of(order) == before + payback.pi_amount  # on the ledger already
    assert world.check()[0]

    # 3. Pi is back: the same envelope is found included, completed, the MSC burned; paid once.
    report = world.service(platform=no_retries).run_once()
    (done,) = world.paybacks(order)
    assert report.completed == [done.id] and done.txid == payback.txid
    assert world.pi_of(order) == before + done.pi_amount
    assert world.check() == (True, 0, 0, 0) and world.burns_booked()
    no_retries.close()
    world.env.close()


def test_a_refused_burn_fails_for_an_operator_and_a_retry_finishes(
    fresh_db: Db, chain: Chain, peer: Peer
) -> None:
    world = make_world(fresh_db, chain, peer)
    order = _refunded(world)
    owner = chain.sender(chain.owner)
    owner.transact(chain.platform.msc.functions.pause())
    supply = chain.supply()

    report = world.service().run_once()

    (payback,) = world.paybacks(order)
    assert report.failed == [payback.id]
    assert (payback.status, payback.failed_from) == (B.FAILED, B.PI_PAID)
    assert "burn" in (payback.error_reason or "") and payback.burn_raw_tx is None
    assert chain.supply() == supply and world.owed() == payback.msc_amount  # Pi paid, MSC still owed
    assert world.check() == (True, payback.msc_amount, 0, payback.msc_amount)
    assert world.service().run_once().completed == []  # failed stays failed until an operator acts

    owner.transact(chain.platform.msc.functions.unpause())
    assert world.service().retry(payback.id).status == B.PI_PAID
    assert world.service().run_once().completed == [payback.id]
    assert chain.supply() == supply - payback.msc_amount
    assert world.check() == (True, 0, 0, 0) and world.burns_booked()
    world.env.close()


def test_msc_paid_back_to_another_key_is_left_owed_and_no_pi_is_paid(
    fresh_db: Db, chain: Chain, peer: Peer
) -> None:
    world = make_world(fresh_db, chain, peer)
    order = _refunded(world)
    before = world.pi_of(order)

    report = world.service(signer=chain.redeemer).run_once()  # a process holding another key

    (payback,) = world.paybacks(order)
    assert report.elsewhere == 1 and report.completed == report.failed == []
    assert payback.status == B.OWED and payback.payer == chain.depositor.address
    assert world.pi_of(order) == before
    assert world.check() == (True, payback.msc_amount, 0, payback.msc_amount)
    assert world.service().run_once().completed == [payback.id]  # the settlement key's process
    world.env.close()


def test_refunds_and_paybacks_share_the_app_wallet_slot(fresh_db: Db, chain: Chain, peer: Peer) -> None:
    world = make_world(fresh_db, chain, peer)
    env = world.env
    # A refused payment's Pi refund signed and recorded: it holds the wallet.
    refused = _refused(world)
    refund = env.refunds.request(refused.payment.id, "wrong amount")
    env.refunds.process(refund.id, max_steps=2)
    assert env.refunds.get(refund.id).status == RefundStatus.SUBMITTED
    order = _refunded(world)

    report = world.service().run_once()

    (payback,) = world.paybacks(order)
    assert report.waiting == [payback.id] and payback.status == B.PI_CREATED

    # The refund finishes and frees the wallet; the pay-back goes on.
    env.refunds.resume_all()
    assert env.refunds.get(refund.id).status == RefundStatus.COMPLETED
    assert world.service().run_once().completed == [payback.id]

    # The other way round: a pay-back holding the wallet (crashed after signing) blocks a refund.
    refused = _refused(world)
    refund = env.refunds.request(refused.payment.id, "wrong amount")
    second = _refunded(world)

    def crash(point: str) -> None:
        if point == "pi_submitted":
            raise CrashError(point)

    with pytest.raises(CrashError):
        world.service(crash).run_once()
    with pytest.raises(WalletBusyError):
        env.refunds.process(refund.id)
    assert world.service().run_once().completed == [world.paybacks(second)[0].id]
    assert env.refunds.process(refund.id).status == RefundStatus.COMPLETED
    assert env.flow.get(refused.payment.id).status == S.REFUNDED
    world.env.close()


def _refused(world: World) -> Order:
    """A payment whose customer sent 3 Pi instead of the quote: refused with the Pi received."""
    env = world.env
    order = new_order(env)
    env.flow.approve(order.payment.id)
    txid = env.control.wallet_pay(order.pi_id, amount_stroops=3 * PI)
    env.flow.submit_txid(order.payment.id, txid)
    assert env.flow.verify_and_complete(order.payment.id).status == S.ERROR
    return order


def test_a_failed_paybacks_pi_payment_left_on_pi_is_cancelled(fresh_db: Db, chain: Chain, peer: Peer) -> None:
    world = make_world(fresh_db, chain, peer)
    order = _refunded(world)

    def crash(point: str) -> None:
        if point == "pi_created":
            raise CrashError(point)

    with pytest.raises(CrashError):
        world.service(crash).run_once()
    (payback,) = world.paybacks(order)
    # It fails while Pi is down, so its Pi payment could not be cancelled then: it blocks the customer.
    no_retries = PiPlatformClient(API_KEY, peer.server.platform_url, max_retries=0, sleep=lambda _s: None)
    world.control_fault(count=1)
    world.service(platform=no_retries)._fail(payback, "an operator's case")
    pi_id = payback.pi_payment_id or ""
    assert not world.env.platform.get_payment(pi_id).status.cancelled

    report = world.service().run_once()

    assert report.failed == report.completed == []
    assert world.env.platform.get_payment(pi_id).status.cancelled
    assert world.paybacks(order)[0].status == B.FAILED
    no_retries.close()
    world.env.close()
