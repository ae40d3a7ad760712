"""What a merchant holds, read exactly: each escrowed payment's amount and release date from the
escrow contract (the books only list the candidates), released MSC from ``balanceOf``; a release
the books have not booked yet is already shown as released, not as held."""

from __future__ import annotations

from datetime import UTC, datetime

from web3 import Web3

from chain.signer import Signer
from merchant_money import holdings
from settlement.minting.ids import escrow_payment_id
from settlement.minting.minter import EscrowMinter
from tests.api.support import Db
from tests.settlement.minting.support import Chain, make_pending, resolver
from tests.support.factories import add_merchant


def test_escrow_holdings_and_balances_come_from_the_chain(db: Db, chain: Chain) -> None:
    merchant_id = add_merchant(db.sessions)
    address = Signer.dev(6).address
    before = chain.balance(address)
    ids = make_pending(db.sessions, [str(merchant_id)], 3)
    EscrowMinter(
        db.sessions,
        chain.platform,
        chain.sender(chain.depositor),
        merchant_addresses=resolver({str(merchant_id): address}),
    ).run_once()
    with db.sessions() as session:
        held = holdings.read(session, chain.platform, merchant_id, address, [])
    assert sorted((p.payment_id, p.amount) for p in held.held) == sorted(
        (pid, 100_000 + i) for i, pid in enumerate(ids)
    )
    for payment in held.held:
        record = chain.escrow_record(payment.payment_id)
        assert payment.release_after == datetime.fromtimestamp(record[3], UTC) and not payment.disputed
        assert payment.paid_to == Web3.to_checksum_address(address)
    assert held.held_total == 300_003
    assert [(b.address, b.balance, b.custodial) for b in held.balances] == [(address, before, False)]

    # the hold passes and anyone releases the first payment; the books have not booked it yet
    chain.advance(366 * 86400)
    chain.sender(chain.owner).transact(
        chain.platform.escrow.functions.releaseBatch([escrow_payment_id(ids[0])])
    )
    custodial = [(Signer.dev(7).address, False)]
    with db.sessions() as session:
        after = holdings.read(session, chain.platform, merchant_id, address, custodial)
    assert sorted(p.payment_id for p in after.held) == sorted(ids[1:])
    assert after.held_total == 100_001 + 100_002
    shown = {b.address: b for b in after.balances}
    assert shown[address].balance == before + 100_000 and shown[address].current
    assert shown[Signer.dev(7).address].custodial and not shown[Signer.dev(7).address].current
    assert after.released_total == before + 100_000 + chain.balance(Signer.dev(7).address)
