"""MSC as a plain ERC-20: metadata, transfer, approve, transferFrom, and their reverts."""

from __future__ import annotations

import brownie
from brownie import ZERO_ADDRESS

from tests.contracts.conftest import USER_FUNDS
from tests.support.brownie_errors import err

MAX_UINT = 2**256 - 1


def test_metadata_isRupiahWithTwoDecimals(msc):
    assert msc.name() == "Madiun Stable Coin"
    assert msc.symbol() == "MSC"
    assert msc.decimals() == 2
    assert msc.totalSupply() == 0


def test_transfer_movesBalanceAndEmits(funded, alice, bob):
    tx = funded.transfer(bob, 1_500, {"from": alice})
    assert tx.return_value is True
    assert funded.balanceOf(alice) == USER_FUNDS - 1_500
    assert funded.balanceOf(bob) == USER_FUNDS + 1_500
    assert tx.events["Transfer"][0]["from"] == alice
    assert tx.events["Transfer"][0]["to"] == bob
    assert tx.events["Transfer"][0]["value"] == 1_500
    assert funded.totalSupply() == 2 * USER_FUNDS


def test_transfer_toSelfKeepsBalance(funded, alice):
    funded.transfer(alice, 700, {"from": alice})
    assert funded.balanceOf(alice) == USER_FUNDS


def test_transfer_zeroValueIsAllowed(funded, alice, carol):
    tx = funded.transfer(carol, 0, {"from": alice})
    assert tx.events["Transfer"][0]["value"] == 0
    assert funded.balanceOf(carol) == 0


def test_transfer_revertsWhenBalanceTooLow(funded, alice, bob):
    with brownie.reverts(err("ERC20InsufficientBalance", alice, USER_FUNDS, USER_FUNDS + 1)):
        funded.transfer(bob, USER_FUNDS + 1, {"from": alice})
    assert funded.balanceOf(alice) == USER_FUNDS


def test_transfer_revertsToZeroAddress(funded, alice):
    with brownie.reverts(err("ERC20InvalidReceiver", ZERO_ADDRESS)):
        funded.transfer(ZERO_ADDRESS, 1, {"from": alice})


def test_transfer_revertsToTheTokenItself(funded, alice):
    with brownie.reverts(err("ERC20InvalidReceiver", funded)):
        funded.transfer(funded, 1, {"from": alice})


def test_approve_setsAllowanceAndEmits(funded, alice, bob):
    tx = funded.approve(bob, 5_000, {"from": alice})
    assert tx.return_value is True
    assert funded.allowance(alice, bob) == 5_000
    assert tx.events["Approval"][0]["owner"] == alice
    assert tx.events["Approval"][0]["spender"] == bob
    assert tx.events["Approval"][0]["value"] == 5_000


def test_approve_revertsForZeroSpender(funded, alice):
    with brownie.reverts(err("ERC20InvalidSpender", ZERO_ADDRESS)):
        funded.approve(ZERO_ADDRESS, 1, {"from": alice})


def test_transferFrom_spendsAllowance(funded, alice, bob, carol):
    funded.approve(bob, 5_000, {"from": alice})
    tx = funded.transferFrom(alice, carol, 2_000, {"from": bob})
    assert tx.return_value is True
    assert funded.allowance(alice, bob) == 3_000
    assert funded.balanceOf(carol) == 2_000
    assert funded.balanceOf(alice) == USER_FUNDS - 2_000
    assert "Approval" not in tx.events  # like OpenZeppelin 5: spending does not re-emit Approval


def test_transferFrom_infiniteAllowanceIsNotSpent(funded, alice, bob, carol):
    funded.approve(bob, MAX_UINT, {"from": alice})
    funded.transferFrom(alice, carol, 2_000, {"from": bob})
    assert funded.allowance(alice, bob) == MAX_UINT


def test_transferFrom_revertsWhenAllowanceTooLow(funded, alice, bob, carol):
    funded.approve(bob, 100, {"from": alice})
    with brownie.reverts(err("ERC20InsufficientAllowance", bob, 100, 101)):
        funded.transferFrom(alice, carol, 101, {"from": bob})
    assert funded.allowance(alice, bob) == 100


def test_transferFrom_revertsWhenBalanceTooLow(funded, alice, bob, carol):
    funded.approve(bob, MAX_UINT, {"from": alice})
    with brownie.reverts(err("ERC20InsufficientBalance", alice, USER_FUNDS, USER_FUNDS + 1)):
        funded.transferFrom(alice, carol, USER_FUNDS + 1, {"from": bob})


def test_transferFrom_revertsToZeroAddress(funded, alice, bob):
    funded.approve(bob, 10, {"from": alice})
    with brownie.reverts(err("ERC20InvalidReceiver", ZERO_ADDRESS)):
        funded.transferFrom(alice, ZERO_ADDRESS, 1, {"from": bob})
