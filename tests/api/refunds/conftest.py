"""Fixtures of the refund API tests: the API harness (SQLite and PostgreSQL), a platform on a
private anvil (H3's port 8825), and API merchants (custodial, or with their own wallet) whose
payment is held in the escrow; the app refunds through ``app.state.refunds``."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from eth_account import Account
from web3 import Web3

from api.merchants import service as merchants
from api.merchants.schemas import MerchantCreate
from chain.localnode import AnvilNode
from chain.signer import Signer
from custody.keystore import EnvelopeKeyManager
from custody.service import CustodyService
from custody.settings import MasterKeyRing
from merchant_refunds.sending import RefundSender
from merchant_refunds.service import MerchantRefundService
from settlement.minting.ids import escrow_payment_id
from tests.api.support import Harness, MakeApi, bearer, db, make_api
from tests.settlement.escrowbooks.support import make_scene
from tests.settlement.minting.support import Chain, deploy

__all__ = ["db", "make_api"]

ANVIL_PORT = 8825


@pytest.fixture(scope="module")
def w3() -> Iterator[Web3]:
    with AnvilNode(port=ANVIL_PORT) as node:
        yield Web3(Web3.HTTPProvider(node.url, request_kwargs={"timeout": 60}))


@pytest.fixture
def chain(w3: Web3, tmp_path: Path) -> Chain:
    return deploy(w3, tmp_path)


@dataclass
class ApiShop:
    """An API merchant, its key's headers and its payment held in escrow."""

    api: Harness
    headers: dict[str, str]
    merchant_id: uuid.UUID
    address: str
    payment_id: uuid.UUID
    amount: int
    chain: Chain
    wallet: Signer | None
    """The merchant's own wallet key (None: custodial)."""

    def held(self) -> int:
        record = self.chain.platform.escrow.functions.getPayment(escrow_payment_id(self.payment_id)).call()
        return int(record[1])


def _shop(api: Harness, chain: Chain, *, custodial: bool) -> ApiShop:
    wallet = None if custodial else Signer(Account.create())
    custody = CustodyService(
        EnvelopeKeyManager(MasterKeyRing.of(os.urandom(32))),
        chain_id=chain.w3.eth.chain_id,
        token_address=chain.platform.msc.address,
        escrow_address=chain.platform.escrow.address,
    )
    data = MerchantCreate(
        name="Soto Pak Kumis",
        kelurahan="Taman",
        pi_username=f"pi_{uuid.uuid4().hex[:12]}",
        **({"custody": True} if wallet is None else {"evm_address": wallet.address}),
    )
    with api.db.sessions.begin() as session:
        merchant, key = merchants.create(session, data, keys=custody.keys)
        merchant_id, address, secret = merchant.id, merchant.evm_address, key.secret
    scene = make_scene(api.db, chain, {str(merchant_id): address}, 1)  # type: ignore[arg-type]
    sender = RefundSender(api.db.sessions, chain.platform, custody, Signer.dev(3), chain.owner)
    api.client.app.state.refunds = MerchantRefundService(  # type: ignore[attr-defined]
        api.db.sessions, chain.platform, custody, sender
    )
    payment = scene.ids[0]
    return ApiShop(api, bearer(secret), merchant_id, address, payment, scene.info[payment][1], chain, wallet)


@pytest.fixture
def custodial(make_api: MakeApi, chain: Chain) -> ApiShop:
    return _shop(make_api(), chain, custodial=True)


@pytest.fixture
def own_wallet(make_api: MakeApi, chain: Chain) -> ApiShop:
    return _shop(make_api(), chain, custodial=False)
