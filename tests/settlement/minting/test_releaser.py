"""EscrowReleaser on a real anvil: due escrows are released to their merchants and booked once,
including releases someone else made on-chain."""

from __future__ import annotations

from typing import Any

from web3 import Web3
from web3.contract.contract import ContractFunction

from chain.errors import ContractRevertError
from chain.sender import TransactionSender
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
DEPTH = 3


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


def test_a_frozen_merchant_never_stalls_the_other_releases(db: Db, chain: Chain) -> None:
    merchants = merchant_map(3)
    ids = make_pending(db.sessions, list(merchants), 6)
    info = amounts(db.sessions, ids)
    minter = EscrowMinter(
        db.sessions,
        chain.platform,
        chain.sender(chain.depositor),
        merchant_addresses=resolver(merchants),
        hold_seconds=HOLD,
    )
    assert minter.run_once().completed == 6
    frozen_id = info[ids[0]][0]
    frozen = merchants[frozen_id]
    msc = chain.platform.msc.functions
    chain.sender(chain.owner).transact(msc.freeze(frozen))
    frozen_count = sum(1 for m, _a in info.values() if m == frozen_id)
    chain.advance(HOLD + 1)
    releaser = EscrowReleaser(db.sessions, chain.platform, chain.sender(chain.redeemer), batch_size=2)

    # Every payable merchant is paid and booked; the frozen merchant's payments wait, held.
    assert releaser.run_once() == 6 - frozen_count
    held = sum(a for m, a in info.values() if m == frozen_id)
    assert chain.escrowed() == held
    assert all(chain.escrow_record(i)[5] == 1 for i in ids if info[i][0] == frozen_id)
    with db.sessions() as session:
        assert balance_of(session, chart.msc_merchant_balance(frozen_id)) == 0
        assert balance_of(session, chart.msc_minted_to_escrow(frozen_id)) == held
    assert ledger_balanced(db.sessions)

    # Unfrozen, the next run releases and books them.
    chain.sender(chain.owner).transact(msc.unfreeze(frozen))
    assert releaser.run_once() == frozen_count
    assert chain.escrowed() == 0
    assert ledger_balanced(db.sessions)


class _BatchRevertingSender:
    """A sender whose ``releaseBatch`` reverts (as on an escrow that reverts whole), the rest real."""

    def __init__(self, real: TransactionSender) -> None:
        self.real = real
        self.address = real.address
        self.singles = 0

    def reset_nonces(self) -> None:
        self.real.reset_nonces()

    def transact(self, fn: ContractFunction, **kwargs: int) -> object:
        if fn.fn_name == "releaseBatch":
            raise ContractRevertError("MSCAccountFrozen", {})
        self.singles += 1
        return self.real.transact(fn, **kwargs)


def test_a_reverting_batch_falls_back_to_single_releases(db: Db, chain: Chain) -> None:
    merchants = merchant_map(2)
    ids = make_pending(db.sessions, list(merchants), 4)
    minter = EscrowMinter(
        db.sessions,
        chain.platform,
        chain.sender(chain.depositor),
        merchant_addresses=resolver(merchants),
        hold_seconds=HOLD,
    )
    assert minter.run_once().completed == 4
    frozen = next(iter(merchants.values()))
    chain.sender(chain.owner).transact(chain.platform.msc.functions.freeze(frozen))
    chain.advance(HOLD + 1)
    sender = _BatchRevertingSender(chain.sender(chain.redeemer))
    releaser = EscrowReleaser(db.sessions, chain.platform, sender)  # type: ignore[arg-type]
    info = amounts(db.sessions, ids)
    payable = [i for i in ids if merchants[info[i][0]] != frozen]
    assert releaser.run_once() == len(payable)  # the frozen merchant's releases fail alone
    assert sender.singles == len(ids)  # each tried on its own
    assert chain.escrowed() == sum(a for i, (_m, a) in info.items() if i not in payable)
    assert ledger_balanced(db.sessions)


def test_a_release_is_booked_at_depth_and_a_reorged_one_is_sent_again_and_booked_once(
    sqlite_db: Db, chain: Chain
) -> None:
    """A crash between a releaseBatch and its booking loses nothing (the chain is the record and is
    read back); a release a reorg takes away is not booked early, is found held again, is released
    again and is booked once, at the confirmation depth."""
    db, w3 = sqlite_db, chain.w3
    merchants = merchant_map(1)
    ids = make_pending(db.sessions, list(merchants), 2)
    info = amounts(db.sessions, ids)
    minter = EscrowMinter(
        db.sessions,
        chain.platform,
        chain.sender(chain.depositor),
        merchant_addresses=resolver(merchants),
        hold_seconds=HOLD,
    )
    assert minter.run_once().completed == 2
    chain.advance(HOLD + 1)
    keeper = Web3.to_checksum_address(chain.redeemer.address)
    releaser = EscrowReleaser(db.sessions, chain.platform, chain.sender(chain.redeemer), confirmations=DEPTH)
    start, nonce = w3.eth.block_number, w3.eth.get_transaction_count(keeper)
    merchant_id = next(iter(merchants))

    assert releaser.run_once() == 0  # released, not deep enough to book
    assert chain.escrowed() == 0 and w3.eth.get_transaction_count(keeper) == nonce + 1
    assert releaser.run_once() == 0 and w3.eth.get_transaction_count(keeper) == nonce + 1  # not resent

    _rpc(w3, "anvil_reorg", [w3.eth.block_number - start, []])  # the release is gone
    assert chain.escrowed() == sum(a for _, a in info.values())
    with db.sessions() as session:
        assert balance_of(session, chart.msc_merchant_balance(merchant_id)) == 0  # nothing booked

    assert releaser.run_once() == 0  # found held again: released again
    assert chain.escrowed() == 0
    _rpc(w3, "anvil_mine", [hex(DEPTH)])
    assert releaser.run_once() == 2
    assert releaser.run_once() == 0
    with db.sessions() as session:
        assert balance_of(session, chart.msc_merchant_balance(merchant_id)) == sum(
            a for _, a in info.values()
        )
        assert balance_of(session, chart.msc_minted_to_escrow(merchant_id)) == 0
    assert ledger_balanced(db.sessions)


def _rpc(w3: Web3, method: str, params: list[Any]) -> Any:
    answer = w3.provider.make_request(method, params)  # type: ignore[arg-type]
    assert "error" not in answer, answer
    return answer["result"]
