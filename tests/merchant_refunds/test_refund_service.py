"""Merchant refunds on anvil, on SQLite and PostgreSQL: partial and full while held, after release
from the guarantee fund, refusals that send nothing, crashes between steps, a replayed form; and the
escrow books book every refund into customer_refunds_owed once."""

from __future__ import annotations

import os
import uuid
from dataclasses import replace

import pytest
from sqlalchemy import select
from web3 import Web3

from chain.signer import Signer
from indexer.models import DecodedEvent
from merchant_refunds.errors import (
    RefundAmountError,
    RefundInProgressError,
    RefundPaymentNotFoundError,
    RefundReasonError,
    RefundReplayMismatchError,
    RefundSignatureError,
)
from merchant_refunds.models import MerchantRefund, MerchantRefundChange, RefundState
from merchant_refunds.service import WalletAuthorization
from settlement.ledger import chart
from settlement.ledger.service import balance_of
from tests.merchant_refunds.support import RefundScene, SimulatedCrashError, crash_at, refund_scene
from tests.settlement.escrowbooks.support import HOLD, by_kind
from tests.settlement.minting.support import Chain, Db
from tests.support.factories import add_merchant

ANVIL_PORT = 8822
HELD, RELEASED, REFUNDED = 1, 3, 4


def _refunds(db: Db, payment: uuid.UUID) -> list[MerchantRefund]:
    with db.sessions() as session:
        return list(session.scalars(select(MerchantRefund).where(MerchantRefund.payment_id == payment)))


def _books(s: RefundScene) -> tuple[dict[str, int], int]:
    """Indexes the chain, runs the escrow books, and returns (entries by kind, refunds owed)."""
    s.scene.index()
    s.scene.booker().run_once()
    with s.scene.db.sessions() as session:
        owed = balance_of(session, chart.CUSTOMER_REFUNDS_OWED)
    return by_kind(s.scene.entries()), owed


def test_partial_then_full_refund_while_held(db: Db, chain: Chain) -> None:
    s = refund_scene(db, chain)
    payment = s.ids[0]
    total = s.amount(payment)
    payer_before = chain.balance(chain.depositor.address)
    _, owed_before = _books(s)

    first = s.service.submit(s.ask(payment, 30_000, reason="  Satu   porsi\nkurang "))
    assert first.state == RefundState.CONFIRMED
    assert first.reason == "Satu porsi kurang"
    assert s.record(payment)[:2] == (total - 30_000, HELD)
    with db.sessions() as session:
        left = s.service.refundable(session, s.merchant, payment)
    assert (left.maximum, left.in_escrow, left.custodial) == (total - 30_000, total - 30_000, True)

    second = s.service.submit(s.ask(payment, total - 30_000))
    assert second.state == RefundState.CONFIRMED
    assert s.record(payment)[:2] == (0, REFUNDED)
    assert chain.balance(chain.depositor.address) == payer_before + total
    with db.sessions() as session:
        assert s.service.refundable(session, s.merchant, payment).maximum == 0
        states = [
            c.to_state
            for c in session.scalars(
                select(MerchantRefundChange)
                .where(MerchantRefundChange.refund_id == first.id)
                .order_by(MerchantRefundChange.id)
            )
        ]
    assert states == ["requested", "signed", "sent", "confirmed"]

    kinds, owed = _books(s)
    assert kinds.get("escrow_refund") == 2
    assert abs(owed - owed_before) == total
    with db.sessions() as session:  # the indexer decodes the new event from the same ABI
        used = session.scalars(
            select(DecodedEvent.args).where(
                DecodedEvent.address == s.scene.escrow, DecodedEvent.event == "RefundAuthorizationUsed"
            )
        ).all()
    assert len(used) == 2 and all(Web3.to_checksum_address(a["merchant"]) == s.wallet for a in used)


def test_refund_after_release_comes_from_the_guarantee_fund(db: Db, chain: Chain) -> None:
    s = refund_scene(db, chain, count=1)
    payment = s.ids[0]
    total = s.amount(payment)
    chain.advance(HOLD + 1)
    s.scene.release(payment)
    with db.sessions() as session:
        nothing = s.service.refundable(session, s.merchant, payment)
    assert (nothing.route, nothing.maximum, nothing.released) == ("guarantee", 0, total)
    s.scene.fund_guarantee(total * 2)

    refund = s.service.submit(s.ask(payment, total - 1_000))

    assert (refund.route, refund.state) == ("guarantee", RefundState.CONFIRMED)
    assert s.record(payment) == (total, RELEASED, total - 1_000)
    with db.sessions() as session:
        assert s.service.refundable(session, s.merchant, payment).maximum == 1_000
    with pytest.raises(RefundAmountError):
        s.service.request(s.ask(payment, 1_001))
    kinds, _ = _books(s)
    assert kinds.get("guarantee_refund") == 1


def test_over_refund_is_refused_and_nothing_is_recorded_or_sent(db: Db, chain: Chain) -> None:
    s = refund_scene(db, chain, count=1)
    payment = s.ids[0]
    nonce = s.relayer_nonce()
    for amount in (s.amount(payment) + 1, 0, -5):
        with pytest.raises(RefundAmountError):
            s.service.submit(s.ask(payment, amount))
    with pytest.raises(RefundReasonError):
        s.service.submit(s.ask(payment, 1_000, reason=" \t "))
    with pytest.raises(RefundReasonError):
        s.service.submit(s.ask(payment, 1_000, reason="ok\u202egnp.exe"))
    other = add_merchant(db.sessions)
    with pytest.raises(RefundPaymentNotFoundError):
        s.service.submit(replace(s.ask(payment, 1_000), merchant_id=other))
    assert _refunds(db, payment) == []
    assert s.relayer_nonce() == nonce
    assert s.record(payment)[0] == s.amount(payment)


@pytest.mark.parametrize("step", ["signed", "sent"])
def test_a_crash_after_a_step_resumes_without_a_second_send(db: Db, chain: Chain, step: str) -> None:
    s = refund_scene(db, chain, count=1, observer=crash_at(step))
    payment = s.ids[0]
    nonce = s.relayer_nonce()

    with pytest.raises(SimulatedCrashError):
        s.service.submit(s.ask(payment, 10_000))
    [row] = _refunds(db, payment)
    assert row.state == step
    assert row.raw_tx is not None  # written ahead before anything was broadcast

    report = s.sender.resume()
    again = s.sender.resume()

    assert report.advanced == {row.id: "confirmed"}
    assert again.advanced == {}
    assert s.record(payment)[0] == s.amount(payment) - 10_000
    assert s.relayer_nonce() == nonce + 1  # one transaction, ever
    kinds, _ = _books(s)
    assert kinds.get("escrow_refund") == 1


def test_a_replayed_form_refunds_once(db: Db, chain: Chain) -> None:
    s = refund_scene(db, chain, count=1)
    payment = s.ids[0]
    ask = s.ask(payment, 5_000, key="form-123")

    first = s.service.submit(ask)
    second = s.service.submit(ask)

    assert first.id == second.id
    assert second.state == RefundState.CONFIRMED
    assert len(_refunds(db, payment)) == 1
    assert s.record(payment)[0] == s.amount(payment) - 5_000
    with pytest.raises(RefundReplayMismatchError):
        s.service.request(s.ask(payment, 6_000, key="form-123"))


def test_one_refund_of_a_payment_at_a_time(db: Db, chain: Chain) -> None:
    s = refund_scene(db, chain, count=1)
    payment = s.ids[0]
    waiting = s.service.request(s.ask(payment, 1_000))
    with pytest.raises(RefundInProgressError):
        s.service.request(s.ask(payment, 2_000))
    assert s.sender.advance(waiting.id) == RefundState.CONFIRMED
    assert s.service.submit(s.ask(payment, 2_000)).state == RefundState.CONFIRMED
    assert s.record(payment)[0] == s.amount(payment) - 3_000


def test_a_refund_the_escrow_no_longer_allows_fails_with_nothing_sent(db: Db, chain: Chain) -> None:
    s = refund_scene(db, chain, count=1)
    payment = s.ids[0]
    recorded = s.service.request(s.ask(payment, 1_000))
    chain.advance(HOLD + 1)
    s.scene.release(payment)  # released before the refund was signed
    nonce = s.relayer_nonce()

    assert s.sender.advance(recorded.id) == RefundState.FAILED

    [row] = _refunds(db, payment)
    assert "no longer held" in (row.failure or "")
    assert row.open_for is None
    assert s.relayer_nonce() == nonce


def test_a_merchant_with_its_own_wallet_signs_its_refund(db: Db, chain: Chain) -> None:
    s = refund_scene(db, chain, count=1, custodial=False)
    payment = s.ids[0]
    with db.sessions() as session:
        assert s.service.refundable(session, s.merchant, payment).custodial is False
    with pytest.raises(RefundSignatureError):
        s.service.request(s.ask(payment, 4_000))
    with db.sessions() as session:
        typed = s.service.typed_data(session, s.merchant, payment, 4_000, os.urandom(32))
    message = typed["message"]
    assert isinstance(message, dict)

    def signed_by(index: int) -> WalletAuthorization:
        signature = bytes(Signer.dev(index).sign_typed_data(typed).signature)
        return WalletAuthorization(message["nonce"], message["validBefore"], signature)

    with pytest.raises(RefundSignatureError):
        s.service.request(replace(s.ask(payment, 4_000), authorization=signed_by(6)))
    with pytest.raises(RefundSignatureError):  # signed for 4,000, asked for 4,001
        s.service.request(replace(s.ask(payment, 4_001), authorization=signed_by(5)))

    refund = s.service.submit(replace(s.ask(payment, 4_000), authorization=signed_by(5)))

    assert refund.state == RefundState.CONFIRMED
    assert s.record(payment)[0] == s.amount(payment) - 4_000
