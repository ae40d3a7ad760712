"""A custodial key signs a redemption the existing RedemptionService accepts, on anvil, end to end;
and it refuses to sign anything that is not that merchant's move of MSC."""

from __future__ import annotations

import os
import time
import uuid

import pytest
from eth_account import Account

from chain.eip712 import authorization, msc_domain, permit
from custody.errors import CustodySigningRefusedError
from custody.keystore import EnvelopeKeyManager
from custody.service import CustodyService
from custody.settings import MasterKeyRing
from settlement.redemption.errors import InvalidAuthorizationError
from settlement.redemption.service import RedemptionRequest, RedemptionService
from tests.settlement.minting.conftest import anvil, chain, db, w3
from tests.settlement.minting.support import Chain, Db
from tests.support.factories import add_merchant

__all__ = ["anvil", "chain", "db", "w3"]

ANVIL_PORT = 8718
FUNDS = 250_000


def _merchant(db: Db) -> uuid.UUID:
    return add_merchant(db.sessions, name="Pecel Mbok Yem", kelurahan="Manguharjo")


def _custody(chain: Chain) -> CustodyService:
    keys = EnvelopeKeyManager(MasterKeyRing.of(os.urandom(32)))
    return CustodyService(keys, chain_id=chain.w3.eth.chain_id, token_address=chain.platform.msc.address)


def _request(service: RedemptionService, custody: CustodyService, db: Db, merchant: uuid.UUID, amount: int):
    with db.sessions.begin() as session:
        wallet = custody.wallet(session, merchant)
        typed = service.typed_data(wallet.address, amount, 0, int(time.time()) + 3600, os.urandom(32))
        auth = custody.sign_redemption(session, merchant, typed, service.redeemer)
    return RedemptionRequest(
        idempotency_key=uuid.uuid4().hex,
        merchant_id=str(merchant),
        merchant_address=wallet.address,
        amount=amount,
        bank_account="BRI 0123",
        authorization=auth,
    )


def test_a_custodial_signature_redeems_through_the_redemption_service(db: Db, chain: Chain) -> None:
    custody = _custody(chain)
    merchant = _merchant(db)
    with db.sessions.begin() as session:
        wallet = custody.open_wallet(session, merchant)
    chain.sender(chain.owner).transact(chain.platform.msc.functions.mint(wallet.address, FUNDS))
    service = RedemptionService(db.sessions, chain.platform, chain.redeemer)
    supply = chain.supply()

    req = _request(service, custody, db, merchant, 100_000)
    with db.sessions.begin() as session:
        payout = service.request(session, req)
    done = service.process(payout.id)

    assert done.status == "processing"
    assert chain.balance(wallet.address) == FUNDS - 100_000
    assert chain.supply() == supply - 100_000


def test_the_service_refuses_a_custodial_signature_for_another_amount(db: Db, chain: Chain) -> None:
    custody = _custody(chain)
    merchant = _merchant(db)
    with db.sessions.begin() as session:
        custody.open_wallet(session, merchant)
    service = RedemptionService(db.sessions, chain.platform, chain.redeemer)
    req = _request(service, custody, db, merchant, 10_000)
    forged = RedemptionRequest(
        req.idempotency_key,
        req.merchant_id,
        req.merchant_address,
        20_000,
        req.bank_account,
        type(req.authorization)(
            req.authorization.sender,
            20_000,
            req.authorization.valid_after,
            req.authorization.valid_before,
            req.authorization.nonce,
            req.authorization.signature,
        ),
    )
    with pytest.raises(InvalidAuthorizationError, match="signed by"):
        service.prepare(forged)


def test_after_rotation_the_old_wallets_msc_moves_to_the_new_one(db: Db, chain: Chain) -> None:
    custody = _custody(chain)
    merchant = _merchant(db)
    with db.sessions.begin() as session:
        old = custody.open_wallet(session, merchant)
    chain.sender(chain.owner).transact(chain.platform.msc.functions.mint(old.address, FUNDS))
    with db.sessions.begin() as session:
        new = custody.rotate(session, merchant)
    domain = msc_domain(chain.w3.eth.chain_id, chain.platform.msc.address)
    nonce, valid_before = os.urandom(32), int(time.time()) + 3600
    typed = authorization(
        domain, "TransferWithAuthorization", old.address, new.address, FUNDS, 0, valid_before, nonce
    )
    with db.sessions.begin() as session:
        auth = custody.sign_transfer_out(session, merchant, typed, new.address)
    v, r, s = auth.signature[64], auth.signature[:32], auth.signature[32:64]
    call = chain.platform.msc.functions.transferWithAuthorization(
        old.address, new.address, FUNDS, 0, valid_before, nonce, v, r, s
    )
    chain.sender(chain.owner).transact(call)  # anyone may submit a transfer authorization
    assert chain.balance(old.address) == 0 and chain.balance(new.address) == FUNDS


def test_custody_signs_only_the_merchants_redemption_to_the_redeemer(db: Db, chain: Chain) -> None:
    custody = _custody(chain)
    merchant, other = _merchant(db), _merchant(db)
    with db.sessions.begin() as session:
        wallet = custody.open_wallet(session, merchant)
        other_wallet = custody.open_wallet(session, other)
    domain = msc_domain(chain.w3.eth.chain_id, chain.platform.msc.address)
    redeemer = chain.redeemer.address
    stranger = Account.create().address
    nonce = os.urandom(32)
    refused = {
        "to another address": authorization(
            domain, "ReceiveWithAuthorization", wallet.address, stranger, 1, 0, 2**40, nonce
        ),
        "a transfer": authorization(
            domain, "TransferWithAuthorization", wallet.address, redeemer, 1, 0, 2**40, nonce
        ),
        "a permit": permit(domain, wallet.address, redeemer, 1, 0, 2**40),
        "another merchant's wallet": authorization(
            domain, "ReceiveWithAuthorization", other_wallet.address, redeemer, 1, 0, 2**40, nonce
        ),
        "another token": authorization(
            msc_domain(chain.w3.eth.chain_id, stranger),
            "ReceiveWithAuthorization",
            wallet.address,
            redeemer,
            1,
            0,
            2**40,
            nonce,
        ),
        "another chain": authorization(
            msc_domain(1, chain.platform.msc.address),
            "ReceiveWithAuthorization",
            wallet.address,
            redeemer,
            1,
            0,
            2**40,
            nonce,
        ),
    }
    for case, typed in refused.items():
        with pytest.raises(CustodySigningRefusedError), db.sessions() as session:
            custody.sign_redemption(session, merchant, typed, redeemer)
            pytest.fail(f"signed {case}")
