"""Item 7b: the minter books a batch only at the confirmation depth; a reorg that takes its mint
and deposit away is found and redone exactly once (the same written-ahead mint rebroadcast), and
only then booked. The test starts its own anvil (the ``anvil`` fixture, on ``ANVIL_PORT``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from web3 import Web3

from settlement.minting.minter import EscrowMinter
from settlement.minting.models import MintBatch
from tests.settlement.minting.support import (
    Chain,
    Db,
    amounts,
    ledger_balanced,
    ledger_in_escrow,
    make_pending,
    merchant_map,
    resolver,
    statuses,
)

ANVIL_PORT = 8717
DEPTH = 3


def rpc(w3: Web3, method: str, params: list[Any]) -> Any:
    answer = w3.provider.make_request(method, params)  # type: ignore[arg-type]
    assert "error" not in answer, answer
    return answer["result"]


def batch_of(db: Db) -> MintBatch:
    with db.sessions() as session:
        return session.scalars(select(MintBatch).order_by(MintBatch.created_at.desc()).limit(1)).one()


def test_a_reorged_deposit_is_redone_once_and_booked_only_at_depth(sqlite_db: Db, chain: Chain) -> None:
    db, w3 = sqlite_db, chain.w3
    merchants = merchant_map(2)
    ids = make_pending(db.sessions, list(merchants), 3)
    total = sum(a for _, a in amounts(db.sessions, ids).values())
    minter = EscrowMinter(
        db.sessions,
        chain.platform,
        chain.sender(chain.depositor),
        merchant_addresses=resolver(merchants),
        confirmations=DEPTH,
        confirmation_wait_s=0,
    )
    start = w3.eth.block_number

    first = minter.run_once()  # minted and deposited, but not deep enough to book

    assert (first.completed, first.minted) == (0, total)
    assert chain.escrowed() == total and statuses(db.sessions, ids) == {"pending_stellar": 3}
    written = batch_of(db)
    assert (written.state, written.minted_amount, written.mint_amount) == ("deposited", 0, total)
    assert written.mint_raw_tx is not None

    # The blocks of the mint and the deposits are reorganised away (replaced by empty ones).
    rpc(w3, "anvil_reorg", [w3.eth.block_number - start, []])
    assert chain.escrowed() == 0 and chain.balance(chain.depositor.address) == 0

    redo = minter.run_once()  # found missing: the same mint rebroadcast, deposits redone

    assert redo.completed == 0 and redo.minted == 0
    assert chain.escrowed() == total and chain.supply() == total  # once, not twice
    assert batch_of(db).mint_tx_hash == written.mint_tx_hash

    rpc(w3, "anvil_mine", [hex(DEPTH)])
    booked = minter.run_once()

    assert (booked.completed, booked.minted, booked.tx_hashes) == (3, 0, [])
    done = batch_of(db)
    assert (done.state, done.minted_amount, done.mint_raw_tx, done.mint_amount) == (
        "completed",
        total,
        None,
        None,
    )
    assert statuses(db.sessions, ids) == {"completed": 3}
    assert chain.supply() == chain.escrowed() == total
    assert chain.balance(chain.depositor.address) == 0
    assert ledger_in_escrow(db.sessions, merchants) == total
    assert ledger_balanced(db.sessions)
    assert minter.run_once().tx_hashes == []
