"""Pause, freeze, court-ordered wipe and rescue."""

from __future__ import annotations

import brownie
from brownie import ZERO_ADDRESS

from tests.contracts.conftest import USER_FUNDS
from tests.support.brownie_errors import err
from tests.support.profile import block_time
from tests.support.signing import sign_authorization, sign_permit

PAUSER, FREEZER, RESCUER = 1, 2, 3


# --------------------------------------------------------------- pause


def test_pause_blocksEveryMovementAndApproval(funded, roles, alice, bob, bob_key):
    tx = funded.pause({"from": roles.pauser})
    assert tx.events["Paused"][0]["account"] == roles.pauser
    assert funded.paused()
    for call in (
        lambda: funded.transfer(bob, 1, {"from": alice}),
        lambda: funded.approve(bob, 1, {"from": alice}),
        lambda: funded.transferFrom(alice, bob, 1, {"from": bob}),
        lambda: funded.mint(alice, 1, {"from": roles.minter}),
    ):
        with brownie.reverts(err("EnforcedPause")):
            call()
    deadline = block_time() + 3600
    v, r, s = sign_permit(funded, bob_key, str(alice), 5, funded.nonces(bob), deadline)
    with brownie.reverts(err("EnforcedPause")):
        funded.permit(bob, alice, 5, deadline, v, r, s, {"from": alice})
    assert funded.balanceOf(alice) == USER_FUNDS


def test_unpause_restoresMovementsAndEmits(funded, roles, alice, bob):
    funded.pause({"from": roles.pauser})
    tx = funded.unpause({"from": roles.pauser})
    assert tx.events["Unpaused"][0]["account"] == roles.pauser
    funded.transfer(bob, 1, {"from": alice})
    assert funded.balanceOf(bob) == USER_FUNDS + 1


def test_pause_revertsForNonPauser(msc, carol):
    with brownie.reverts(err("MSCUnauthorized", carol, PAUSER)):
        msc.pause({"from": carol})


def test_unpause_revertsForNonPauser(msc, roles, carol):
    msc.pause({"from": roles.pauser})
    with brownie.reverts(err("MSCUnauthorized", carol, PAUSER)):
        msc.unpause({"from": carol})


def test_pause_revertsWhenAlreadyPaused(msc, roles):
    msc.pause({"from": roles.pauser})
    with brownie.reverts(err("EnforcedPause")):
        msc.pause({"from": roles.pauser})


def test_unpause_revertsWhenNotPaused(msc, roles):
    with brownie.reverts(err("ExpectedPause")):
        msc.unpause({"from": roles.pauser})


# --------------------------------------------------------------- freeze


def test_freeze_blocksSendingAndReceiving(funded, roles, alice, bob):
    tx = funded.freeze(alice, {"from": roles.freezer})
    assert tx.events["AccountFrozen"][0]["account"] == alice
    assert funded.isFrozen(alice)
    with brownie.reverts(err("MSCAccountFrozen", alice)):
        funded.transfer(bob, 1, {"from": alice})
    with brownie.reverts(err("MSCAccountFrozen", alice)):
        funded.transfer(alice, 1, {"from": bob})
    assert funded.balanceOf(alice) == USER_FUNDS


def test_freeze_blocksApprovingAndBeingApproved(funded, roles, alice, bob):
    funded.freeze(alice, {"from": roles.freezer})
    with brownie.reverts(err("MSCAccountFrozen", alice)):
        funded.approve(bob, 1, {"from": alice})
    with brownie.reverts(err("MSCAccountFrozen", alice)):
        funded.approve(alice, 1, {"from": bob})


def test_freeze_blocksPermitFromFrozenOwner(funded, roles, alice, bob, alice_key):
    """An approval signed by a frozen account cannot be granted, so none springs to life later."""
    funded.freeze(alice, {"from": roles.freezer})
    deadline = block_time() + 3600
    v, r, s = sign_permit(funded, alice_key, str(bob), 5, funded.nonces(alice), deadline)
    with brownie.reverts(err("MSCAccountFrozen", alice)):
        funded.permit(alice, bob, 5, deadline, v, r, s, {"from": bob})
    funded.unfreeze(alice, {"from": roles.freezer})
    assert funded.allowance(alice, bob) == 0


def test_freeze_blocksFrozenSpenderWithOlderAllowance(funded, roles, alice, bob, carol):
    funded.approve(bob, 100, {"from": alice})
    funded.freeze(bob, {"from": roles.freezer})
    with brownie.reverts(err("MSCAccountFrozen", bob)):
        funded.transferFrom(alice, carol, 1, {"from": bob})


def test_freeze_blocksTransferFromFrozenOwner(funded, roles, alice, bob, carol):
    funded.approve(bob, 100, {"from": alice})
    funded.freeze(alice, {"from": roles.freezer})
    with brownie.reverts(err("MSCAccountFrozen", alice)):
        funded.transferFrom(alice, carol, 1, {"from": bob})


def test_freeze_blocksAuthorizationFromFrozenPayer(funded, roles, alice, bob, alice_key):
    funded.freeze(alice, {"from": roles.freezer})
    nonce = b"\x01" * 32
    valid_before = block_time() + 3600
    v, r, s = sign_authorization(
        funded, "TransferWithAuthorization", alice_key, str(bob), 5, 0, valid_before, nonce
    )
    with brownie.reverts(err("MSCAccountFrozen", alice)):
        funded.transferWithAuthorization(alice, bob, 5, 0, valid_before, nonce, v, r, s, {"from": bob})
    assert not funded.authorizationState(alice, nonce)


def test_unfreeze_restoresAccountAndEmits(funded, roles, alice, bob):
    funded.freeze(alice, {"from": roles.freezer})
    tx = funded.unfreeze(alice, {"from": roles.freezer})
    assert tx.events["AccountUnfrozen"][0]["account"] == alice
    funded.transfer(bob, 1, {"from": alice})
    assert funded.balanceOf(alice) == USER_FUNDS - 1


def test_freeze_revertsWhenAlreadyFrozen(msc, roles, alice):
    msc.freeze(alice, {"from": roles.freezer})
    with brownie.reverts(err("MSCAccountFrozen", alice)):
        msc.freeze(alice, {"from": roles.freezer})


def test_unfreeze_revertsWhenNotFrozen(msc, roles, alice):
    with brownie.reverts(err("MSCAccountNotFrozen", alice)):
        msc.unfreeze(alice, {"from": roles.freezer})


def test_freeze_revertsForNonFreezer(msc, alice, carol):
    with brownie.reverts(err("MSCUnauthorized", carol, FREEZER)):
        msc.freeze(alice, {"from": carol})
    with brownie.reverts(err("MSCUnauthorized", carol, FREEZER)):
        msc.unfreeze(alice, {"from": carol})


# --------------------------------------------------------------- wipe


def test_wipeFrozenBalance_burnsWholeBalanceAndEmits(funded, roles, alice):
    funded.freeze(alice, {"from": roles.freezer})
    tx = funded.wipeFrozenBalance(alice, "PN-MADIUN/123/2026", {"from": roles.owner})
    assert funded.balanceOf(alice) == 0
    assert funded.totalSupply() == USER_FUNDS
    event = tx.events["FrozenBalanceWiped"][0]
    assert (event["account"], event["amount"], event["courtOrder"]) == (
        alice,
        USER_FUNDS,
        "PN-MADIUN/123/2026",
    )
    transfer = tx.events["Transfer"][0]
    assert (transfer["from"], transfer["to"], transfer["value"]) == (alice, ZERO_ADDRESS, USER_FUNDS)
    assert funded.isFrozen(alice)


def test_wipeFrozenBalance_worksWhilePaused(funded, roles, alice):
    funded.freeze(alice, {"from": roles.freezer})
    funded.pause({"from": roles.pauser})
    funded.wipeFrozenBalance(alice, "PN-MADIUN/124/2026", {"from": roles.owner})
    assert funded.balanceOf(alice) == 0


def test_wipeFrozenBalance_revertsForUnfrozenAccount(funded, roles, alice):
    with brownie.reverts(err("MSCAccountNotFrozen", alice)):
        funded.wipeFrozenBalance(alice, "PN", {"from": roles.owner})
    assert funded.balanceOf(alice) == USER_FUNDS


def test_wipeFrozenBalance_revertsWithoutCourtOrder(funded, roles, alice):
    funded.freeze(alice, {"from": roles.freezer})
    with brownie.reverts(err("MSCEmptyReference")):
        funded.wipeFrozenBalance(alice, "", {"from": roles.owner})


def test_wipeFrozenBalance_revertsForNonOwner(funded, roles, alice):
    funded.freeze(alice, {"from": roles.freezer})
    with brownie.reverts(err("OwnableUnauthorizedAccount", roles.freezer)):
        funded.wipeFrozenBalance(alice, "PN", {"from": roles.freezer})


# --------------------------------------------------------------- rescue


def test_rescueERC20_returnsStrayTokensAndEmits(msc, roles, stray_token, carol):
    stray_token.mint(msc, 777, {"from": carol})
    tx = msc.rescueERC20(stray_token, carol, 700, {"from": roles.rescuer})
    assert stray_token.balanceOf(carol) == 700
    assert stray_token.balanceOf(msc) == 77
    event = tx.events["TokensRescued"][0]
    assert (event["token"], event["to"], event["amount"]) == (stray_token, carol, 700)


def test_rescueERC20_revertsForNonRescuer(msc, stray_token, carol):
    with brownie.reverts(err("MSCUnauthorized", carol, RESCUER)):
        msc.rescueERC20(stray_token, carol, 1, {"from": carol})


def test_rescueERC20_revertsToZeroAddress(msc, roles, stray_token):
    with brownie.reverts(err("MSCZeroAddress")):
        msc.rescueERC20(stray_token, ZERO_ADDRESS, 1, {"from": roles.rescuer})


def test_rescueERC20_revertsAboveHeldAmount(msc, roles, stray_token, carol):
    stray_token.mint(msc, 5, {"from": carol})
    with brownie.reverts(err("ERC20InsufficientBalance", msc, 5, 6)):
        msc.rescueERC20(stray_token, carol, 6, {"from": roles.rescuer})
