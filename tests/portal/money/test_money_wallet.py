"""Custodial wallet export and rotation on a real anvil: the MSC moves (never the key), once per
submission, after the owner's code; a rotated address keeps signing so later releases to it are
swept; a move written ahead and interrupted before its broadcast is finished once."""

from __future__ import annotations

import base64
import json
import os
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from eth_account import Account
from sqlalchemy import select

from accounts.errors import SecondFactorRequiredError
from accounts.service import AccountService
from chain.signer import dev_private_key
from custody.keystore import EnvelopeKeyManager
from custody.service import CustodyService
from custody.settings import MasterKeyRing
from merchant_money import notices
from merchant_money.__main__ import main as finish_moves
from merchant_money._merchants import address_of
from merchant_money.errors import DestinationRefusedError, NothingToMoveError
from merchant_money.models import MerchantWalletMove, NoticeKind, WalletMoveStatus
from merchant_money.redeem import new_submission
from merchant_money.wallet import WalletMoves
from settlement.redemption.service import RedemptionService
from tests.api.support import Db
from tests.portal.money.conftest import (
    FUNDS,
    Shop,
    code,
    confirm,
    counts,
    custodial_shop,
    killed_before_broadcast,
)
from tests.settlement.ledger.support import Clock
from tests.settlement.minting.support import Chain


def test_export_moves_all_msc_to_the_owners_wallet_once(
    db: Db, chain: Chain, shop: Shop, accounts: AccountService, wallet: WalletMoves, clock: Clock
) -> None:
    destination = Account.create().address
    submission = new_submission()
    check = confirm(accounts, shop.owner, shop.merchant_id, code(shop.owner, clock))
    [move] = wallet.export(shop.merchant_id, submission, destination, shop.owner.user_id, check)
    assert (move.status, move.amount, move.to_address) == (WalletMoveStatus.DONE, FUNDS, destination)
    assert (chain.balance(shop.address), chain.balance(destination)) == (0, FUNDS)
    before = counts(db, shop.merchant_id)

    def must_not_ask() -> None:
        raise AssertionError("a replay needs no second factor")

    [again] = wallet.export(shop.merchant_id, submission, destination, shop.owner.user_id, must_not_ask)
    assert again.id == move.id and counts(db, shop.merchant_id) == before
    assert chain.balance(destination) == FUNDS
    with db.sessions() as session:
        shown = notices.open_for(session, shop.merchant_id, shop.owner.user_id)
        assert (shown[0].kind, shown[0].detail) == (NoticeKind.WALLET_EXPORTED, destination)


@pytest.mark.parametrize("which", ["zero", "token", "escrow", "itself", "garbage", "bad checksum"])
def test_export_to_an_address_that_would_lose_the_msc_is_refused(
    db: Db, chain: Chain, shop: Shop, accounts: AccountService, wallet: WalletMoves, clock: Clock, which: str
) -> None:
    mixed = Account.create().address
    bad_checksum = mixed[:2] + "".join(c.swapcase() if c.isalpha() else c for c in mixed[2:6]) + mixed[6:]
    destination = {
        "zero": "0x" + "0" * 40,
        "token": chain.platform.msc.address,
        "escrow": chain.platform.escrow.address,
        "itself": shop.address,
        "garbage": "warung-sri",
        "bad checksum": bad_checksum if bad_checksum != mixed else "0x" + "g" * 40,
    }[which]
    before = counts(db, shop.merchant_id)
    with pytest.raises(DestinationRefusedError):
        wallet.export(shop.merchant_id, new_submission(), destination, shop.owner.user_id, lambda: None)
    assert counts(db, shop.merchant_id) == before and chain.balance(shop.address) == FUNDS


def test_export_without_or_with_a_wrong_code_moves_nothing(
    db: Db, chain: Chain, shop: Shop, accounts: AccountService, wallet: WalletMoves
) -> None:
    before = counts(db, shop.merchant_id)
    for value in (None, "000000"):
        with pytest.raises(SecondFactorRequiredError):
            wallet.export(
                shop.merchant_id,
                new_submission(),
                Account.create().address,
                shop.owner.user_id,
                confirm(accounts, shop.owner, shop.merchant_id, value),
            )
    assert counts(db, shop.merchant_id) == before and chain.balance(shop.address) == FUNDS


def test_rotation_moves_new_payments_and_the_msc_to_a_new_address_and_the_old_key_still_sweeps(
    db: Db,
    chain: Chain,
    shop: Shop,
    accounts: AccountService,
    custody: CustodyService,
    wallet: WalletMoves,
    clock: Clock,
) -> None:
    check = confirm(accounts, shop.owner, shop.merchant_id, code(shop.owner, clock))
    new_address, [sweep] = wallet.rotate(shop.merchant_id, new_submission(), shop.owner.user_id, check)
    assert new_address != shop.address and sweep.status == WalletMoveStatus.DONE
    assert (chain.balance(shop.address), chain.balance(new_address)) == (0, FUNDS)
    with db.sessions() as session:
        assert address_of(session, shop.merchant_id) == new_address  # new payments settle there
        assert custody.wallet(session, shop.merchant_id).address == new_address
    # an escrowed payment made before the rotation releases to the old address later: swept with
    # the retired key, no code needed (the money stays the merchant's)
    chain.sender(chain.owner).transact(chain.platform.msc.functions.mint(shop.address, 12_345))
    [late] = wallet.sweep(shop.merchant_id, new_submission(), None)
    assert late.status == WalletMoveStatus.DONE and late.from_address == shop.address
    assert (chain.balance(shop.address), chain.balance(new_address)) == (0, FUNDS + 12_345)
    # a double submit of the rotation is refused by its used code: rotated once
    with pytest.raises(SecondFactorRequiredError):
        wallet.rotate(shop.merchant_id, new_submission(), shop.owner.user_id, check)
    with db.sessions() as session:
        assert len(custody.keys.keys_of(session, shop.merchant_id)) == 2


def test_a_move_written_ahead_but_not_broadcast_is_finished_once(
    db: Db, chain: Chain, shop: Shop, wallet: WalletMoves, monkeypatch: pytest.MonkeyPatch
) -> None:
    destination = Account.create().address
    submission = new_submission()
    with killed_before_broadcast(monkeypatch):
        wallet.export(shop.merchant_id, submission, destination, None, lambda: None)
    with db.sessions() as session:
        [pending] = session.scalars(
            select(MerchantWalletMove).where(MerchantWalletMove.merchant_id == shop.merchant_id)
        ).all()
        assert pending.status == WalletMoveStatus.PENDING and pending.raw_tx.startswith("0x")
    assert chain.balance(destination) == 0  # written ahead, nothing sent
    assert wallet.finish(pending.id).status == WalletMoveStatus.DONE
    assert wallet.finish(pending.id).status == WalletMoveStatus.DONE
    [again] = wallet.export(shop.merchant_id, submission, destination, None, lambda: None)
    assert again.id == pending.id
    assert (chain.balance(shop.address), chain.balance(destination)) == (0, FUNDS)


def test_an_empty_wallet_has_nothing_to_export(db: Db, chain: Chain, shop: Shop, wallet: WalletMoves) -> None:
    wallet.export(shop.merchant_id, new_submission(), Account.create().address, None, lambda: None)
    with pytest.raises(NothingToMoveError):
        wallet.export(shop.merchant_id, new_submission(), Account.create().address, None, lambda: None)


def test_a_move_whose_relay_lost_its_nonce_is_relayed_again_once(
    db: Db, chain: Chain, shop: Shop, wallet: WalletMoves, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Written ahead, then the relayer's nonce is taken by another of its transactions: the stored
    relay can never be mined, the authorization is unused, so the sweep signs a new relay of it."""
    destination = Account.create().address
    with killed_before_broadcast(monkeypatch):
        wallet.export(shop.merchant_id, new_submission(), destination, None, lambda: None)
    with db.sessions() as session:
        [pending] = session.scalars(
            select(MerchantWalletMove).where(MerchantWalletMove.merchant_id == shop.merchant_id)
        ).all()
    # another transaction of the relayer takes the nonce the stored relay was signed with
    chain.sender(chain.redeemer).transact(chain.platform.msc.functions.approve(destination, 1))
    assert wallet.finish_open(pending.updated_at + timedelta(seconds=1)).get("done", 0) >= 1
    with db.sessions() as session:
        finished = session.get(MerchantWalletMove, pending.id)
        assert finished is not None and finished.status == WalletMoveStatus.DONE
        assert finished.tx_hash != pending.tx_hash
    assert (chain.balance(shop.address), chain.balance(destination)) == (0, FUNDS)
    assert pending.id not in wallet.open_moves(pending.updated_at + timedelta(days=1))


def test_a_pending_move_whose_msc_left_meanwhile_is_abandoned_not_kept_pending(
    db: Db, chain: Chain, shop: Shop, wallet: WalletMoves, monkeypatch: pytest.MonkeyPatch
) -> None:
    with killed_before_broadcast(monkeypatch):
        wallet.export(shop.merchant_id, new_submission(), Account.create().address, None, lambda: None)
    with db.sessions() as session:
        [stuck] = session.scalars(
            select(MerchantWalletMove).where(MerchantWalletMove.merchant_id == shop.merchant_id)
        ).all()
    # the relayer's nonce is taken and the MSC leaves by another export: the stuck relay can neither
    # be mined nor re-signed (it would revert)
    chain.sender(chain.redeemer).transact(chain.platform.msc.functions.approve(shop.address, 1))
    other = Account.create().address
    [moved] = wallet.export(shop.merchant_id, new_submission(), other, None, lambda: None)
    assert moved.status == WalletMoveStatus.DONE and chain.balance(other) == FUNDS
    assert wallet.finish(stuck.id).status == WalletMoveStatus.ABANDONED
    assert chain.balance(shop.address) == 0 and chain.balance(other) == FUNDS


def test_the_finish_moves_command_finishes_what_a_crash_left(
    db: Db,
    chain: Chain,
    accounts: AccountService,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    master = os.urandom(32)
    custody = CustodyService(
        EnvelopeKeyManager(MasterKeyRing.of(master)),
        chain_id=chain.w3.eth.chain_id,
        token_address=chain.platform.msc.address,
    )
    shop = custodial_shop(db, chain, accounts, custody, clock)
    moves = WalletMoves(db.sessions, RedemptionService(db.sessions, chain.platform, chain.redeemer), custody)
    destination = Account.create().address
    with killed_before_broadcast(monkeypatch):
        moves.export(shop.merchant_id, new_submission(), destination, None, lambda: None)
    shutil.copy(chain.deployment_file, tmp_path / "development.json")
    for name, value in {
        "MSC_DATABASE_URL": db.url,
        "MSC_RPC_URL": str(chain.w3.provider.endpoint_uri),  # type: ignore[attr-defined]
        "MSC_NETWORK": "development",
        "MSC_DEPLOYMENTS_DIR": str(tmp_path),
        "MSC_WORKER_REDEEMER_KEY": dev_private_key(2),
        "MSC_CUSTODY_MASTER_KEY": base64.b64encode(master).decode(),
    }.items():
        monkeypatch.setenv(name, value)
    assert finish_moves(["finish-moves", "--older-than", "0"]) == 0
    assert json.loads(capsys.readouterr().out).get("done", 0) >= 1  # other tests' moves may end too
    with db.sessions() as session:
        [move] = session.scalars(
            select(MerchantWalletMove).where(MerchantWalletMove.merchant_id == shop.merchant_id)
        ).all()
        assert move.status == WalletMoveStatus.DONE
    assert (chain.balance(shop.address), chain.balance(destination)) == (0, FUNDS)
