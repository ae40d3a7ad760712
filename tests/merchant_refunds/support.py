"""A refund scene: a custodial merchant's payments minted into the escrow on a fresh platform, and
the refund service over them (relayer dev 3, operator = the deployment's owner)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from chain.signer import Signer
from custody.keystore import EnvelopeKeyManager
from custody.service import CustodyService
from custody.settings import MasterKeyRing
from merchant_refunds.sending import RefundSender
from merchant_refunds.service import MerchantRefundService, RefundRequest
from settlement.minting.ids import escrow_payment_id
from tests.settlement.escrowbooks.support import Scene, make_scene
from tests.settlement.minting.support import Chain, Db
from tests.support.factories import add_merchant

RELAYER = 3


@dataclass
class RefundScene:
    """Payments of one merchant in escrow and the services that refund them."""

    scene: Scene
    merchant: uuid.UUID
    wallet: str
    custody: CustodyService
    sender: RefundSender
    service: MerchantRefundService

    @property
    def chain(self) -> Chain:
        return self.scene.chain

    @property
    def ids(self) -> list[uuid.UUID]:
        return self.scene.ids

    def amount(self, payment: uuid.UUID) -> int:
        return self.scene.info[payment][1]

    def record(self, payment: uuid.UUID) -> tuple[int, int, int]:
        """(escrow amount, status, covered) of a payment."""
        r = self.chain.platform.escrow.functions.getPayment(escrow_payment_id(payment)).call()
        return int(r[1]), int(r[5]), int(r[6])

    def relayer_nonce(self) -> int:
        return int(self.chain.w3.eth.get_transaction_count(Signer.dev(RELAYER).address))

    def ask(
        self, payment: uuid.UUID, amount: int, key: str | None = None, reason: str = "Pesanan salah"
    ) -> RefundRequest:
        return RefundRequest(
            merchant_id=self.merchant,
            payment_id=payment,
            amount=amount,
            reason=reason,
            idempotency_key=key or uuid.uuid4().hex,
        )


def refund_scene(
    db: Db,
    chain: Chain,
    count: int = 2,
    *,
    observer: Callable[[str, uuid.UUID], None] | None = None,
    custodial: bool = True,
    master_key: bytes | None = None,
) -> RefundScene:
    """``count`` payments of a fresh merchant held in the escrow; its address is a custodial wallet
    (or, with ``custodial=False``, dev account 5: a merchant with its own wallet)."""
    custody = CustodyService(
        EnvelopeKeyManager(MasterKeyRing.of(master_key or os.urandom(32))),
        chain_id=chain.w3.eth.chain_id,
        token_address=chain.platform.msc.address,
        escrow_address=chain.platform.escrow.address,
    )
    merchant = add_merchant(db.sessions)
    with db.sessions.begin() as session:
        wallet = custody.open_wallet(session, merchant).address
    address = wallet if custodial else Signer.dev(5).address
    scene = make_scene(db, chain, {str(merchant): address}, count)
    sender = RefundSender(
        db.sessions, chain.platform, custody, Signer.dev(RELAYER), chain.owner, observer=observer
    )
    service = MerchantRefundService(db.sessions, chain.platform, custody, sender)
    return RefundScene(scene, merchant, address, custody, sender, service)


class SimulatedCrashError(Exception):
    """Raised by an observer to kill a run between two committed steps."""


def crash_at(step: str) -> Callable[[str, uuid.UUID], None]:
    """An observer that kills the run once, right after ``step`` is committed."""
    fired: list[bool] = []

    def observe(seen: str, _refund: uuid.UUID) -> None:
        if seen == step and not fired:
            fired.append(True)
            raise SimulatedCrashError(step)

    return observe
