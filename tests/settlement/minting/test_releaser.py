"""EscrowReleaser on a real anvil: due escrows are released to their merchants and booked once,
including releases someone else made on-chain."""

from __future__ import annotations

from web3 import Web3

from settlement.ledger import chart
from settlement.ledger.service import balance_of
from settlement.minting.ids import escrow_payment_id
from settlement.minting.minter import EscrowMinter
from settlement.minting.releaser import EscrowReleaser
from tests.settlement.minting.support import (
    Chain,
    Db,
    amounts,
    ledger_balanced,
    make_pending,
    merchant_map,
    resolver,
)

ANVIL_PORT = 8712
HOLD = 100


def test_due_escrows_are_released_and_booked_once(db: Db, chain: Chain) -> None:
    merchants = merchant_map(2)
    ids = make_pending(db.sessions, list(merchants), 5)
    info = amounts(db.sessions, ids)
    minter = EscrowMinter(
        db.sessions,
        chain.platform,
        chain.sender(chain.depositor),
        merchant_addresses=resolver(merchants),
        hold_seconds=HOLD,
    )
    assert minter.run_once().completed == 5
    keeper = Web3.to_checksum_address(chain.redeemer.address)  # anyone may release after the hold
    releaser = EscrowReleaser(db.sessions, chain.platform, chain.sender(chain.redeemer))
    before = {a: chain.balance(a) for a in merchants.values()}

    assert releaser.run_once() == 0  # nothing is due yet
    # The payer (the platform) confirms one payment early, on-chain, outside the releaser.
    chain.sender(chain.depositor).transact(chain.platform.escrow.functions.release(escrow_payment_id(ids[0])))
    chain.advance(HOLD + 1)
    nonce = chain.w3.eth.get_transaction_count(keeper)

    assert releaser.run_once() == 5  # four released now, one booked from the chain
    assert chain.w3.eth.get_transaction_count(keeper) == nonce + 1  # one releaseBatch
    assert chain.escrowed() == 0
    with db.sessions() as session:
        for merchant_id, address in merchants.items():
            owed = sum(a for m, a in info.values() if m == merchant_id)
            assert chain.balance(address) - before[address] == owed
            assert balance_of(session, chart.msc_merchant_balance(merchant_id)) == owed
            assert balance_of(session, chart.msc_minted_to_escrow(merchant_id)) == 0
    assert ledger_balanced(db.sessions)

    assert releaser.run_once() == 0  # booked once
    assert chain.w3.eth.get_transaction_count(keeper) == nonce + 1
