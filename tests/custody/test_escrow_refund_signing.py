"""A custodial key signs an escrow RefundAuthorization that the escrow accepts when relayed, on
anvil; and it refuses anything else: another type, another escrow or chain, another merchant's key."""

from __future__ import annotations

import os
import time
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from chain import eip712
from chain.signer import Signer
from custody.errors import CustodySigningRefusedError
from custody.keystore import EnvelopeKeyManager
from custody.models import CustodyKeyHistory
from custody.service import CustodyService
from custody.settings import MasterKeyRing
from settlement.minting.ids import escrow_payment_id
from tests.settlement.minting.conftest import anvil, chain, db, w3
from tests.settlement.minting.support import Chain, Db
from tests.support.factories import add_merchant

__all__ = ["anvil", "chain", "db", "w3"]

ANVIL_PORT = 8821
AMOUNT = 50_000
HOLD = 3 * 24 * 3600


def _custody(chain: Chain, *, escrow: str | None = None) -> CustodyService:
    return CustodyService(
        EnvelopeKeyManager(MasterKeyRing.of(os.urandom(32))),
        chain_id=chain.w3.eth.chain_id,
        token_address=chain.platform.msc.address,
        escrow_address=escrow if escrow is not None else chain.platform.escrow.address,
    )


def _deposit(chain: Chain, merchant_address: str) -> bytes:
    """A payment of AMOUNT held for ``merchant_address`` (the depositor is the payer)."""
    key = escrow_payment_id(uuid.uuid4())
    send = chain.sender(chain.depositor)
    send.transact(chain.platform.msc.functions.mint(chain.depositor.address, AMOUNT))
    send.transact(chain.platform.msc.functions.approve(chain.platform.escrow.address, AMOUNT))
    send.transact(
        chain.platform.escrow.functions.deposit(key, merchant_address, chain.depositor.address, AMOUNT, HOLD)
    )
    return key


def _typed(chain: Chain, key: bytes, amount: int, **domain: Any) -> dict[str, Any]:
    d = eip712.escrow_domain(
        domain.get("chain_id", chain.w3.eth.chain_id), domain.get("escrow", chain.platform.escrow.address)
    )
    return eip712.refund_authorization(d, key, amount, os.urandom(32), int(time.time()) + 3600)


def _relay(chain: Chain, typed: dict[str, Any], signature: bytes) -> Any:
    m = typed["message"]
    fn = chain.platform.escrow.functions.refundWithAuthorization(
        m["paymentId"], m["amount"], m["nonce"], m["validBefore"], signature
    )
    return chain.sender(Signer.dev(3)).transact(fn)


def test_a_custodial_refund_signature_is_relayed_by_anyone(db: Db, chain: Chain) -> None:
    custody = _custody(chain)
    merchant = add_merchant(db.sessions)
    with db.sessions.begin() as session:
        wallet = custody.open_wallet(session, merchant)
    key = _deposit(chain, wallet.address)
    payer_before = chain.balance(chain.depositor.address)
    typed = _typed(chain, key, 20_000)

    with db.sessions.begin() as session:
        signed = custody.sign_escrow_refund(session, merchant, typed)
    receipt = _relay(chain, typed, signed.signature)

    assert receipt["status"] == 1
    assert signed.signer == wallet.address
    assert chain.platform.escrow.functions.getPayment(key).call()[1] == 30_000
    assert chain.balance(chain.depositor.address) == payer_before + 20_000
    with db.sessions() as session:
        kinds = session.scalars(
            select(CustodyKeyHistory.detail).where(CustodyKeyHistory.key_id == wallet.key_id)
        ).all()
    assert any(detail.startswith("EIP-712 RefundAuthorization") for detail in kinds)


def test_a_payment_held_for_a_retired_key_is_refunded_with_that_key(db: Db, chain: Chain) -> None:
    custody = _custody(chain)
    merchant = add_merchant(db.sessions)
    with db.sessions.begin() as session:
        old = custody.open_wallet(session, merchant)
    key = _deposit(chain, old.address)
    with db.sessions.begin() as session:
        new = custody.rotate(session, merchant)
    typed = _typed(chain, key, AMOUNT)
    with db.sessions.begin() as session:
        signed = custody.sign_escrow_refund(session, merchant, typed, signer=old.address)
    _relay(chain, typed, signed.signature)
    assert signed.signer == old.address != new.address
    assert chain.platform.escrow.functions.getPayment(key).call()[5] == 4  # Refunded


def _signatures(db: Db) -> int:
    with db.sessions() as session:
        return len(
            session.scalars(select(CustodyKeyHistory.id).where(CustodyKeyHistory.kind == "signed")).all()
        )


def _refused(custody: CustodyService, db: Db, merchant: uuid.UUID, typed: Any, **kw: Any) -> str:
    """The refusal's message; nothing was signed (no key history entry)."""
    before = _signatures(db)
    with db.sessions.begin() as session, pytest.raises(CustodySigningRefusedError) as caught:
        custody.sign_escrow_refund(session, merchant, typed, **kw)
    assert _signatures(db) == before
    return caught.value.message


def test_refuses_what_is_not_this_escrows_refund_authorization(db: Db, chain: Chain) -> None:
    custody = _custody(chain)
    merchant, other = add_merchant(db.sessions), add_merchant(db.sessions)
    with db.sessions.begin() as session:
        custody.open_wallet(session, merchant)
        stranger = custody.open_wallet(session, other)
    key = escrow_payment_id(uuid.uuid4())
    good = _typed(chain, key, 1_000)

    msc = eip712.msc_domain(chain.w3.eth.chain_id, chain.platform.msc.address)
    transfer = eip712.authorization(
        msc, "TransferWithAuthorization", stranger.address, stranger.address, 1, 0, 2**40, os.urandom(32)
    )
    assert "not a RefundAuthorization" in _refused(custody, db, merchant, transfer)
    assert "domain" in _refused(custody, db, merchant, _typed(chain, key, 1_000, chain_id=1))
    assert "domain" in _refused(
        custody, db, merchant, _typed(chain, key, 1_000, escrow=chain.platform.msc.address)
    )
    as_msc = dict(good, domain=msc.as_dict())
    assert "domain" in _refused(custody, db, merchant, as_msc)
    extra = dict(good, message={**good["message"], "to": stranger.address})
    assert "not a refund authorization" in _refused(custody, db, merchant, extra)
    retyped = dict(
        good, types={**good["types"], "RefundAuthorization": [{"name": "paymentId", "type": "bytes32"}]}
    )
    assert "types" in _refused(custody, db, merchant, retyped)
    zero = dict(good, message={**good["message"], "amount": 0})
    assert "out of range" in _refused(custody, db, merchant, zero)
    bad_id = dict(good, message={**good["message"], "paymentId": 32})
    assert "fields" in _refused(custody, db, merchant, bad_id)
    assert "not a custodial address" in _refused(custody, db, merchant, good, signer=stranger.address)
    unconfigured = CustodyService(
        custody.keys, chain_id=chain.w3.eth.chain_id, token_address=chain.platform.msc.address
    )
    assert "no escrow" in _refused(unconfigured, db, merchant, good)


def test_hex_fields_from_json_sign_the_same_message(db: Db, chain: Chain) -> None:
    custody = _custody(chain)
    merchant = add_merchant(db.sessions)
    with db.sessions.begin() as session:
        wallet = custody.open_wallet(session, merchant)
    key = _deposit(chain, wallet.address)
    typed = _typed(chain, key, 5_000)
    as_json = dict(
        typed,
        message={
            **typed["message"],
            "paymentId": "0x" + key.hex(),
            "nonce": "0x" + typed["message"]["nonce"].hex(),
        },
    )
    with db.sessions.begin() as session:
        signed = custody.sign_escrow_refund(session, merchant, as_json)
    _relay(chain, typed, signed.signature)
    assert chain.platform.escrow.functions.getPayment(key).call()[1] == AMOUNT - 5_000
