"""Fixtures for the contract tests: a deployed MSC with its role holders and funded users.

Accounts (anvil's development keys, so tests can also sign with them off-chain):
0 owner, 1 master minter, 2 pauser, 3 freezer, 4 rescuer, 5 reserve attester, 6 minter,
7 alice, 8 bob, 9 carol.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from brownie import MadiunStableCoin, OZBaselineToken, accounts

from chain.signer import Signer
from common.money import rupiah

RESERVES = rupiah(1_000_000_000)
MINTER_ALLOWANCE = rupiah(100_000_000)
USER_FUNDS = rupiah(1_000_000)


@pytest.fixture(autouse=True)
def isolate(fn_isolation: None) -> None:
    """Every test starts from the chain state the module fixtures left, and is rolled back."""


@pytest.fixture(scope="module")
def roles() -> SimpleNamespace:
    return SimpleNamespace(
        owner=accounts[0],
        master_minter=accounts[1],
        pauser=accounts[2],
        freezer=accounts[3],
        rescuer=accounts[4],
        attester=accounts[5],
        minter=accounts[6],
    )


@pytest.fixture(scope="module")
def alice():  # type: ignore[no-untyped-def]
    return accounts[7]


@pytest.fixture(scope="module")
def bob():  # type: ignore[no-untyped-def]
    return accounts[8]


@pytest.fixture(scope="module")
def carol():  # type: ignore[no-untyped-def]
    return accounts[9]


@pytest.fixture(scope="module")
def alice_key() -> Signer:
    return Signer.dev(7)


@pytest.fixture(scope="module")
def bob_key() -> Signer:
    return Signer.dev(8)


@pytest.fixture(scope="module")
def msc(roles: SimpleNamespace):  # type: ignore[no-untyped-def]
    """MSC with reserves attested and one minter configured; no supply yet."""
    token = MadiunStableCoin.deploy(
        roles.owner,
        roles.master_minter,
        roles.pauser,
        roles.freezer,
        roles.rescuer,
        roles.attester,
        {"from": roles.owner},
    )
    token.attestReserves(RESERVES, "TEST/ATTESTATION/1", {"from": roles.attester})
    token.configureMinter(roles.minter, MINTER_ALLOWANCE, {"from": roles.master_minter})
    return token


@pytest.fixture(scope="module")
def funded(msc, roles, alice, bob):  # type: ignore[no-untyped-def]
    """MSC with USER_FUNDS minted to alice and to bob."""
    msc.mint(alice, USER_FUNDS, {"from": roles.minter})
    msc.mint(bob, USER_FUNDS, {"from": roles.minter})
    return msc


@pytest.fixture(scope="module")
def stray_token(roles):  # type: ignore[no-untyped-def]
    """Another ERC-20, for rescue tests."""
    return OZBaselineToken.deploy({"from": roles.owner})


DAY = 86_400
TIER_30, TIER_90 = 1, 3


@pytest.fixture(scope="module")
def staking(funded, roles):  # type: ignore[no-untyped-def]
    """LockStaking on MSC with a 30-day 1x tier (5% penalty) and a 90-day 2x tier (10% penalty).

    Roles: owner = admin, master minter = operator, pauser = pauser, rescuer = penalty recipient.
    The operator holds MSC for funding rewards.
    """
    from brownie import LockStaking

    contract = LockStaking.deploy(
        funded, roles.owner, roles.master_minter, roles.pauser, roles.rescuer, {"from": roles.owner}
    )
    contract.setTier(TIER_30, 30 * DAY, 10_000, 500, True, {"from": roles.master_minter})
    contract.setTier(TIER_90, 90 * DAY, 20_000, 1_000, True, {"from": roles.master_minter})
    funded.mint(roles.master_minter, USER_FUNDS * 10, {"from": roles.minter})
    funded.approve(contract, 2**256 - 1, {"from": roles.master_minter})
    return contract


@pytest.fixture(scope="module")
def escrow(funded, roles):  # type: ignore[no-untyped-def]
    """MerchantEscrow on MSC. Roles: owner = admin, minter = depositor (it mints and deposits,
    as the settlement service will), freezer = arbiter, master minter = operator."""
    from brownie import MerchantEscrow

    contract = MerchantEscrow.deploy(
        funded, roles.owner, roles.minter, roles.freezer, roles.master_minter, {"from": roles.owner}
    )
    funded.mint(roles.minter, USER_FUNDS * 10, {"from": roles.minter})
    funded.approve(contract, 2**256 - 1, {"from": roles.minter})
    funded.mint(roles.master_minter, USER_FUNDS * 10, {"from": roles.minter})
    funded.approve(contract, 2**256 - 1, {"from": roles.master_minter})
    return contract


MANGROVE, VERRA = 1, 0
VINTAGE = 2025
VERIFIED_TONNES = 10_000


@pytest.fixture(scope="module")
def carbon(roles):  # type: ignore[no-untyped-def]
    """CarbonCredits with one registered mangrove project. Roles: owner = admin, reserve attester =
    registrar, rescuer = verifier, freezer = bridge operator, pauser = pauser."""
    from brownie import CarbonCredits

    contract = CarbonCredits.deploy(
        roles.owner, roles.attester, roles.rescuer, roles.freezer, roles.pauser, {"from": roles.owner}
    )
    contract.registerProject(
        "SRN-PPI-MGV-0042", MANGROVE, VERRA, "Kab. Madiun, Jawa Timur", {"from": roles.attester}
    )
    return contract


SIZE_LIMIT = 1_000  # tonnes; larger orders need allowlisted traders
FEE_BPS = 50  # 0.5%


@pytest.fixture(scope="module")
def market(funded, carbon, roles, alice, bob):  # type: ignore[no-untyped-def]
    """CarbonMarket over MSC and CarbonCredits. Settler = minter account, operator = master minter,
    fee recipient = rescuer. Alice holds 2,000 t of the 2025 vintage and sells; Bob buys with MSC.
    Both have approved the market."""
    import hashlib

    from brownie import CarbonMarket

    contract = CarbonMarket.deploy(
        funded,
        carbon,
        roles.owner,
        roles.minter,
        roles.master_minter,
        roles.rescuer,
        FEE_BPS,
        SIZE_LIMIT,
        {"from": roles.owner},
    )
    token = carbon.verifyVintage(
        1,
        VINTAGE,
        VERIFIED_TONNES,
        hashlib.sha256(b"report").digest(),
        "bafkdocs",
        "bafkmeta",
        {"from": roles.rescuer},
    ).return_value
    carbon.issue(token, alice, 2_000, {"from": roles.rescuer})
    carbon.setApprovalForAll(contract, True, {"from": alice})
    funded.approve(contract, 2**256 - 1, {"from": bob})
    return contract
