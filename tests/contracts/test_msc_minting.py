"""Minters, minting against attested reserves, burning, and reserve attestations."""

from __future__ import annotations

import brownie
from brownie import ZERO_ADDRESS, chain

from tests.contracts.conftest import MINTER_ALLOWANCE, RESERVES, USER_FUNDS
from tests.support.brownie_errors import err

MASTER_MINTER, RESERVE_ATTESTER = 0, 4
MAX_UINT248 = 2**248 - 1


# --------------------------------------------------------------- configureMinter / removeMinter


def test_configureMinter_setsAllowanceAndEmits(msc, roles, carol):
    tx = msc.configureMinter(carol, 5_000, {"from": roles.master_minter})
    assert msc.isMinter(carol)
    assert msc.minterAllowance(carol) == 5_000
    assert tx.events["MinterConfigured"][0]["minter"] == carol
    assert tx.events["MinterConfigured"][0]["allowance"] == 5_000


def test_configureMinter_replacesAllowance(msc, roles):
    msc.configureMinter(roles.minter, 7, {"from": roles.master_minter})
    assert msc.minterAllowance(roles.minter) == 7


def test_configureMinter_revertsForNonMasterMinter(msc, roles, carol):
    with brownie.reverts(err("MSCUnauthorized", carol, MASTER_MINTER)):
        msc.configureMinter(carol, 1, {"from": carol})


def test_configureMinter_revertsForZeroAddress(msc, roles):
    with brownie.reverts(err("MSCZeroAddress")):
        msc.configureMinter(ZERO_ADDRESS, 1, {"from": roles.master_minter})


def test_configureMinter_revertsAboveMaxAmount(msc, roles, carol):
    with brownie.reverts(err("MSCAmountTooLarge", MAX_UINT248 + 1, MAX_UINT248)):
        msc.configureMinter(carol, MAX_UINT248 + 1, {"from": roles.master_minter})


def test_removeMinter_stopsMintingAndEmits(msc, roles, alice):
    tx = msc.removeMinter(roles.minter, {"from": roles.master_minter})
    assert tx.events["MinterRemoved"][0]["minter"] == roles.minter
    assert not msc.isMinter(roles.minter)
    assert msc.minterAllowance(roles.minter) == 0
    with brownie.reverts(err("MSCNotMinter", roles.minter)):
        msc.mint(alice, 1, {"from": roles.minter})


def test_removeMinter_revertsForUnknownMinter(msc, roles, carol):
    with brownie.reverts(err("MSCNotMinter", carol)):
        msc.removeMinter(carol, {"from": roles.master_minter})


def test_removeMinter_revertsForNonMasterMinter(msc, roles, carol):
    with brownie.reverts(err("MSCUnauthorized", carol, MASTER_MINTER)):
        msc.removeMinter(roles.minter, {"from": carol})


# --------------------------------------------------------------- mint


def test_mint_creditsConsumesAllowanceAndEmits(msc, roles, alice):
    tx = msc.mint(alice, 12_345, {"from": roles.minter})
    assert msc.balanceOf(alice) == 12_345
    assert msc.totalSupply() == 12_345
    assert msc.minterAllowance(roles.minter) == MINTER_ALLOWANCE - 12_345
    assert tx.events["Mint"][0]["minter"] == roles.minter
    assert tx.events["Mint"][0]["to"] == alice
    assert tx.events["Mint"][0]["amount"] == 12_345
    transfer = tx.events["Transfer"][0]
    assert (transfer["from"], transfer["to"], transfer["value"]) == (ZERO_ADDRESS, alice, 12_345)


def test_mint_revertsForNonMinter(msc, alice):
    with brownie.reverts(err("MSCNotMinter", alice)):
        msc.mint(alice, 1, {"from": alice})


def test_mint_revertsForZeroAmount(msc, roles, alice):
    with brownie.reverts(err("MSCZeroAmount")):
        msc.mint(alice, 0, {"from": roles.minter})


def test_mint_revertsToZeroAddressOrToken(msc, roles):
    with brownie.reverts(err("ERC20InvalidReceiver", ZERO_ADDRESS)):
        msc.mint(ZERO_ADDRESS, 1, {"from": roles.minter})
    with brownie.reverts(err("ERC20InvalidReceiver", msc)):
        msc.mint(msc, 1, {"from": roles.minter})


def test_mint_revertsAboveMinterAllowance(msc, roles, alice):
    with brownie.reverts(
        err("MSCMintAllowanceExceeded", roles.minter, MINTER_ALLOWANCE, MINTER_ALLOWANCE + 1)
    ):
        msc.mint(alice, MINTER_ALLOWANCE + 1, {"from": roles.minter})
    assert msc.totalSupply() == 0


def test_mint_revertsAboveAttestedReserves(msc, roles, alice):
    msc.configureMinter(roles.minter, RESERVES * 2, {"from": roles.master_minter})
    msc.mint(alice, RESERVES, {"from": roles.minter})
    with brownie.reverts(err("MSCReservesExceeded", RESERVES + 1, RESERVES)):
        msc.mint(alice, 1, {"from": roles.minter})
    assert msc.totalSupply() == RESERVES


def test_mint_revertsWhenMinterFrozen(msc, roles, alice):
    msc.freeze(roles.minter, {"from": roles.freezer})
    with brownie.reverts(err("MSCAccountFrozen", roles.minter)):
        msc.mint(alice, 1, {"from": roles.minter})


def test_mint_revertsToFrozenAccount(msc, roles, alice):
    msc.freeze(alice, {"from": roles.freezer})
    with brownie.reverts(err("MSCAccountFrozen", alice)):
        msc.mint(alice, 1, {"from": roles.minter})


def test_mint_revertsWhenPaused(msc, roles, alice):
    msc.pause({"from": roles.pauser})
    with brownie.reverts(err("EnforcedPause")):
        msc.mint(alice, 1, {"from": roles.minter})


# --------------------------------------------------------------- burn


def test_burn_destroysOwnBalanceAndEmits(msc, roles):
    msc.mint(roles.minter, 10_000, {"from": roles.minter})
    tx = msc.burn(4_000, {"from": roles.minter})
    assert msc.balanceOf(roles.minter) == 6_000
    assert msc.totalSupply() == 6_000
    assert tx.events["Burn"][0]["minter"] == roles.minter
    assert tx.events["Burn"][0]["amount"] == 4_000
    transfer = tx.events["Transfer"][0]
    assert (transfer["from"], transfer["to"], transfer["value"]) == (roles.minter, ZERO_ADDRESS, 4_000)
    assert msc.minterAllowance(roles.minter) == MINTER_ALLOWANCE - 10_000  # burning does not refill it


def test_burn_worksForFrozenMinter(msc, roles):
    """The issuer's own burn is never blocked by a freeze (an audited pitfall of fiat tokens)."""
    msc.mint(roles.minter, 10_000, {"from": roles.minter})
    msc.freeze(roles.minter, {"from": roles.freezer})
    msc.burn(10_000, {"from": roles.minter})
    assert msc.balanceOf(roles.minter) == 0
    assert msc.totalSupply() == 0


def test_burn_revertsForNonMinter(funded, alice):
    with brownie.reverts(err("MSCNotMinter", alice)):
        funded.burn(1, {"from": alice})


def test_burn_revertsAboveBalance(msc, roles):
    msc.mint(roles.minter, 10, {"from": roles.minter})
    with brownie.reverts(err("ERC20InsufficientBalance", roles.minter, 10, 11)):
        msc.burn(11, {"from": roles.minter})


def test_burn_revertsForZeroAmount(msc, roles):
    with brownie.reverts(err("MSCZeroAmount")):
        msc.burn(0, {"from": roles.minter})


def test_burn_revertsWhenPaused(msc, roles):
    msc.mint(roles.minter, 10, {"from": roles.minter})
    msc.pause({"from": roles.pauser})
    with brownie.reverts(err("EnforcedPause")):
        msc.burn(10, {"from": roles.minter})


# --------------------------------------------------------------- attestReserves


def test_attestReserves_recordsAmountTimeAndEmits(funded, roles):
    tx = funded.attestReserves(RESERVES + 500, "BPK/2026/11/ATTEST-7", {"from": roles.attester})
    reserves, attested_at = funded.attestedReserves()
    assert reserves == RESERVES + 500
    assert attested_at == chain[tx.block_number].timestamp
    event = tx.events["ReservesAttested"][0]
    assert event["reserves"] == RESERVES + 500
    assert event["supply"] == 2 * USER_FUNDS
    assert event["attestationRef"] == "BPK/2026/11/ATTEST-7"


def test_attestReserves_mayEqualSupply(funded, roles):
    funded.attestReserves(2 * USER_FUNDS, "EXACT", {"from": roles.attester})
    assert funded.attestedReserves()[0] == 2 * USER_FUNDS


def test_attestReserves_revertsBelowSupply(funded, roles):
    supply = 2 * USER_FUNDS
    with brownie.reverts(err("MSCReservesBelowSupply", supply - 1, supply)):
        funded.attestReserves(supply - 1, "SHORT", {"from": roles.attester})
    assert funded.attestedReserves()[0] == RESERVES


def test_attestReserves_revertsForEmptyReference(msc, roles):
    with brownie.reverts(err("MSCEmptyReference")):
        msc.attestReserves(1, "", {"from": roles.attester})


def test_attestReserves_revertsAboveMaxAmount(msc, roles):
    with brownie.reverts(err("MSCAmountTooLarge", MAX_UINT248 + 1, MAX_UINT248)):
        msc.attestReserves(MAX_UINT248 + 1, "HUGE", {"from": roles.attester})


def test_attestReserves_revertsForNonAttester(msc, carol):
    with brownie.reverts(err("MSCUnauthorized", carol, RESERVE_ATTESTER)):
        msc.attestReserves(1, "X", {"from": carol})
