"""RedemptionService when a step is interrupted: the relay's SQL lost after the chain moved the
MSC, the burn written ahead but not broadcast, the burn mined but not booked. Each is resumed
from the chain and burns exactly once."""

from __future__ import annotations

import dataclasses
import os
import time
import uuid
from typing import Any

import pytest
from eth_account import Account
from sqlalchemy import func, select

from chain.eip712 import authorization, msc_domain
from chain.signer import Signer
from common.errors import MSCError
from settlement.payouts.models import Payout
from settlement.redemption import rawtx
from settlement.redemption.errors import AuthorizationUsedError
from settlement.redemption.models import Redemption
from settlement.redemption.service import Authorization, RedemptionRequest, RedemptionService
from tests.settlement.minting.support import Chain, Db, ledger_balanced

ANVIL_PORT = 8714
FUNDS = 300_000


def funded_merchant(chain: Chain) -> Signer:
    signer = Signer(Account.create())
    chain.sender(chain.owner).transact(chain.platform.msc.functions.mint(signer.address, FUNDS))
    return signer


def request(chain: Chain, merchant: Signer, amount: int, key: str | None = None) -> RedemptionRequest:
    nonce, valid_before = os.urandom(32), int(time.time()) + 3600
    domain = msc_domain(chain.w3.eth.chain_id, chain.platform.msc.address)
    typed = authorization(
        domain,
        "ReceiveWithAuthorization",
        merchant.address,
        chain.redeemer.address,
        amount,
        0,
        valid_before,
        nonce,
    )
    signature = merchant.sign_typed_data(typed).signature
    return RedemptionRequest(
        idempotency_key=key or uuid.uuid4().hex,
        merchant_id=f"m-{merchant.address[2:10]}",
        merchant_address=merchant.address,
        amount=amount,
        bank_account="BNI 42",
        authorization=Authorization(merchant.address, amount, 0, valid_before, nonce, bytes(signature)),
    )


def count(db: Db, model: Any) -> int:
    with db.sessions() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_a_relay_whose_record_was_lost_is_found_on_chain_and_recorded_once(db: Db, chain: Chain) -> None:
    service = RedemptionService(db.sessions, chain.platform, chain.redeemer)
    merchant = funded_merchant(chain)
    req = request(chain, merchant, 50_000)
    supply, payouts = chain.supply(), count(db, Payout)
    with db.sessions() as session:  # relayed, then the process died before its commit
        service.request(session, req)
        session.rollback()
    assert count(db, Payout) == payouts and chain.balance(chain.redeemer.address) == 50_000

    with db.sessions.begin() as session:  # the client's retry
        payout = service.request(session, req)
    done = service.process(payout.id)

    assert done.status == "processing"
    assert chain.supply() == supply - 50_000 and chain.balance(chain.redeemer.address) == 0
    assert chain.balance(merchant.address) == FUNDS - 50_000
    # The same authorization under another key redeems nothing more.
    with db.sessions() as session, pytest.raises(AuthorizationUsedError):
        service.request(session, dataclasses.replace(req, idempotency_key=uuid.uuid4().hex))
    assert ledger_balanced(db.sessions)


@pytest.mark.parametrize("interrupted", ["before_broadcast", "after_broadcast"])
def test_an_interrupted_burn_is_resumed_and_burns_once(
    db: Db, chain: Chain, interrupted: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = RedemptionService(db.sessions, chain.platform, chain.redeemer)
    merchant = funded_merchant(chain)
    with db.sessions.begin() as session:
        payout = service.request(session, request(chain, merchant, 80_000))
    supply = chain.supply()
    real = rawtx.broadcast

    def crash(w3: Any, call: rawtx.SignedCall, timeout_s: float = 120.0) -> Any:
        if interrupted == "after_broadcast":
            real(w3, call, timeout_s)
        raise MSCError("the process died here")

    monkeypatch.setattr(rawtx, "broadcast", crash)
    with pytest.raises(MSCError, match="died"):
        service.process(payout.id)
    with db.sessions() as session:
        written = session.get(Redemption, payout.id)
        assert written is not None and written.burn_raw_tx is not None and written.burned_at is None
    assert chain.supply() == (supply - 80_000 if interrupted == "after_broadcast" else supply)

    monkeypatch.setattr(rawtx, "broadcast", real)
    assert service.process(payout.id).status == "processing"
    assert service.process(payout.id).status == "processing"

    assert chain.supply() == supply - 80_000  # burned exactly once
    with db.sessions() as session:
        done = session.get(Redemption, payout.id)
        assert done is not None and done.burn_tx_hash == written.burn_tx_hash  # the same transaction
    assert ledger_balanced(db.sessions)
