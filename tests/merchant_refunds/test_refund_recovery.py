"""Recovery paths of a written-ahead refund on anvil (SQLite and PostgreSQL): its transaction's
nonce taken by another one (signed again with the same authorization), its authorization relayed
by someone else first (recognised, never refunded twice), an expired custodial authorization
(signed afresh, only once it can no longer be used)."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from web3 import Web3

from chain.signer import Signer
from merchant_refunds.models import MerchantRefund, RefundState
from settlement.minting.ids import escrow_payment_id
from tests.merchant_refunds.support import RELAYER, SimulatedCrashError, crash_at, refund_scene
from tests.settlement.minting.support import Chain, Db

ANVIL_PORT = 8826


def _crashed_after_signing(db: Db, chain: Chain, amount: int = 8_000):  # type: ignore[no-untyped-def]
    s = refund_scene(db, chain, count=1, observer=crash_at("signed"))
    with pytest.raises(SimulatedCrashError):
        s.service.submit(s.ask(s.ids[0], amount))
    with db.sessions() as session:
        row = session.scalars(select(MerchantRefund).where(MerchantRefund.payment_id == s.ids[0])).one()
    return s, row


def _take_relayer_nonce(chain: Chain) -> None:
    """Another transaction of the relayer takes the nonce the stored refund was signed with."""
    relayer = Signer.dev(RELAYER)
    w3 = chain.w3
    tx = {
        "to": relayer.address,
        "value": 0,
        "gas": 21_000,
        "gasPrice": w3.eth.gas_price,
        "nonce": w3.eth.get_transaction_count(relayer.address),
        "chainId": w3.eth.chain_id,
    }
    w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(relayer.sign_transaction(tx).raw_transaction)
    )


def test_a_refund_whose_nonce_was_taken_is_signed_again_and_refunds_once(db: Db, chain: Chain) -> None:
    s, row = _crashed_after_signing(db, chain)
    _take_relayer_nonce(chain)

    report = s.sender.resume()

    [done] = s.service.refunds_of(db.sessions(), s.merchant, s.ids[0])
    assert report.advanced == {row.id: "confirmed"}
    assert done.tx_hash != row.tx_hash  # a new transaction, the same authorization
    assert s.record(s.ids[0])[0] == s.amount(s.ids[0]) - 8_000


def test_an_authorization_relayed_by_someone_else_is_recognised(db: Db, chain: Chain) -> None:
    s, row = _crashed_after_signing(db, chain)
    assert row.auth_nonce and row.signature and row.valid_before
    fn = chain.platform.escrow.functions.refundWithAuthorization(
        escrow_payment_id(s.ids[0]),
        row.amount,
        bytes.fromhex(row.auth_nonce[2:]),
        row.valid_before,
        bytes.fromhex(row.signature[2:]),
    )
    theirs = chain.sender(Signer.dev(4)).transact(fn)["transactionHash"].to_0x_hex()

    report = s.sender.resume()  # our stored transaction is mined and reverts: the nonce is used

    [done] = s.service.refunds_of(db.sessions(), s.merchant, s.ids[0])
    assert report.advanced == {row.id: "confirmed"}
    assert done.tx_hash == theirs
    assert s.record(s.ids[0])[0] == s.amount(s.ids[0]) - 8_000  # refunded once


def test_an_expired_custodial_authorization_is_signed_afresh(db: Db, chain: Chain) -> None:
    s, row = _crashed_after_signing(db, chain)
    _take_relayer_nonce(chain)
    chain.advance(3_600 + 10)  # past the authorization's validBefore

    s.sender.resume()

    with db.sessions() as session:
        again = session.get(MerchantRefund, row.id)
        assert again is not None
    assert again.state == RefundState.CONFIRMED
    assert again.auth_nonce != row.auth_nonce
    assert row.signer is not None
    old_used = chain.platform.escrow.functions.authorizationState(
        Web3.to_checksum_address(row.signer), bytes.fromhex(str(row.auth_nonce)[2:])
    ).call()
    assert old_used is False
    assert s.record(s.ids[0])[0] == s.amount(s.ids[0]) - 8_000
