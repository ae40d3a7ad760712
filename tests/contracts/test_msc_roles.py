"""Issuer roles: assignment by the owner, two-step ownership, no renouncing."""

from __future__ import annotations

import brownie
from brownie import ZERO_ADDRESS

from tests.support.brownie_errors import err

MASTER_MINTER, PAUSER, FREEZER, RESCUER, RESERVE_ATTESTER = range(5)


def test_constructor_assignsEveryRole(msc, roles):
    assert msc.owner() == roles.owner
    assert msc.roleHolder(MASTER_MINTER) == roles.master_minter
    assert msc.roleHolder(PAUSER) == roles.pauser
    assert msc.roleHolder(FREEZER) == roles.freezer
    assert msc.roleHolder(RESCUER) == roles.rescuer
    assert msc.roleHolder(RESERVE_ATTESTER) == roles.attester


def test_setRole_movesTheRoleAndEmits(msc, roles, carol):
    tx = msc.setRole(PAUSER, carol, {"from": roles.owner})
    assert msc.roleHolder(PAUSER) == carol
    event = tx.events["RoleTransferred"][0]
    assert (event["role"], event["previous"], event["account"]) == (PAUSER, roles.pauser, carol)
    msc.pause({"from": carol})
    with brownie.reverts(err("MSCUnauthorized", roles.pauser, PAUSER)):
        msc.unpause({"from": roles.pauser})


def test_setRole_revertsForNonOwner(msc, roles, carol):
    with brownie.reverts(err("OwnableUnauthorizedAccount", carol)):
        msc.setRole(FREEZER, carol, {"from": carol})
    assert msc.roleHolder(FREEZER) == roles.freezer


def test_setRole_revertsForZeroAddress(msc, roles):
    with brownie.reverts(err("MSCZeroAddress")):
        msc.setRole(RESCUER, ZERO_ADDRESS, {"from": roles.owner})


def test_setRole_revertsForUnknownRole(msc, roles, carol):
    with brownie.reverts():
        msc.setRole(5, carol, {"from": roles.owner})


def test_constructor_revertsForZeroRoleHolder(roles):
    from brownie import MadiunStableCoin

    with brownie.reverts(err("MSCZeroAddress")):
        MadiunStableCoin.deploy(
            roles.owner,
            ZERO_ADDRESS,
            roles.pauser,
            roles.freezer,
            roles.rescuer,
            roles.attester,
            {"from": roles.owner},
        )


def test_ownership_transfersInTwoSteps(msc, roles, carol):
    tx = msc.transferOwnership(carol, {"from": roles.owner})
    assert "OwnershipTransferStarted" in tx.events
    assert msc.owner() == roles.owner
    assert msc.pendingOwner() == carol
    tx = msc.acceptOwnership({"from": carol})
    assert tx.events["OwnershipTransferred"][0]["newOwner"] == carol
    assert msc.owner() == carol


def test_acceptOwnership_revertsForOthers(msc, roles, carol, bob):
    msc.transferOwnership(carol, {"from": roles.owner})
    with brownie.reverts(err("OwnableUnauthorizedAccount", bob)):
        msc.acceptOwnership({"from": bob})


def test_renounceOwnership_isDisabled(msc, roles):
    with brownie.reverts(err("MSCRenounceDisabled")):
        msc.renounceOwnership({"from": roles.owner})
    assert msc.owner() == roles.owner


def test_renounceOwnership_revertsForNonOwnerFirst(msc, carol):
    with brownie.reverts(err("OwnableUnauthorizedAccount", carol)):
        msc.renounceOwnership({"from": carol})
