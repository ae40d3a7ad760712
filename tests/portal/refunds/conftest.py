"""Fixtures of the portal's refund tests: a platform on a private anvil (H3's port 8824), a
custodial merchant whose payment is minted into the escrow, and the app's refund service over the
portal's database and custody master key (relayer dev 3, operator = the deployment's owner)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from web3 import Web3

from chain.localnode import AnvilNode
from chain.signer import Signer
from custody.keystore import EnvelopeKeyManager
from custody.service import CustodyService
from merchant_refunds.sending import RefundSender
from merchant_refunds.service import MerchantRefundService
from settlement.minting.ids import escrow_payment_id
from tests.portal.support import Portal
from tests.settlement.escrowbooks.support import make_scene
from tests.settlement.minting.support import Chain, deploy

ANVIL_PORT = 8824


@pytest.fixture(scope="module")
def w3() -> Iterator[Web3]:
    """A private anvil for the module."""
    with AnvilNode(port=ANVIL_PORT) as node:
        yield Web3(Web3.HTTPProvider(node.url, request_kwargs={"timeout": 60}))


@pytest.fixture
def chain(w3: Web3, tmp_path: Path) -> Chain:
    """A freshly deployed platform."""
    return deploy(w3, tmp_path)


@dataclass
class Shop:
    """A custodial merchant with one payment held in the escrow."""

    merchant_id: uuid.UUID
    wallet: str
    payment_id: uuid.UUID
    amount: int
    chain: Chain

    def held(self) -> int:
        """Sen of the payment still in escrow."""
        return int(
            self.chain.platform.escrow.functions.getPayment(escrow_payment_id(self.payment_id)).call()[1]
        )


@pytest.fixture
def shop(portal: Portal, chain: Chain) -> Shop:
    """A merchant with a custodial wallet and a payment held for it; the app refunds through
    ``app.state.refunds``."""
    return make_shop(portal, chain)


def make_shop(portal: Portal, chain: Chain, wallet: str | None = None) -> Shop:
    """:func:`shop` on any portal harness (the served one too); with ``wallet``, the merchant's own
    wallet address holds the escrow instead of a custodial one."""
    keys = EnvelopeKeyManager(portal.services.custody_settings.key_ring())
    custody = CustodyService(
        keys,
        chain_id=chain.w3.eth.chain_id,
        token_address=chain.platform.msc.address,
        escrow_address=chain.platform.escrow.address,
    )
    merchant = portal.add_merchant(name="Warung Bu Sri")
    if wallet is None:
        with portal.db.sessions.begin() as session:
            wallet = custody.open_wallet(session, merchant).address
    scene = make_scene(portal.db, chain, {str(merchant): wallet}, 1)  # type: ignore[arg-type]
    sender = RefundSender(portal.db.sessions, chain.platform, custody, Signer.dev(3), chain.owner)
    portal.app.state.refunds = MerchantRefundService(portal.db.sessions, chain.platform, custody, sender)
    payment = scene.ids[0]
    return Shop(merchant, wallet, payment, scene.info[payment][1], chain)
