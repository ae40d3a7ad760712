"""EIP-2612 permits and EIP-3009 authorizations: use, replay, expiry, wrong parties, front-running."""

from __future__ import annotations

import brownie
from brownie import PermitVault, chain
from eth_abi import encode as abi_encode
from eth_utils import keccak

from tests.contracts.conftest import USER_FUNDS
from tests.support.brownie_errors import err
from tests.support.profile import block_time
from tests.support.signing import sign_authorization, sign_cancel, sign_permit

HOUR = 3600


def _deadline() -> int:
    return block_time() + HOUR


# --------------------------------------------------------------- EIP-2612 permit


def test_domainSeparator_matchesEip712Domain(msc):
    _fields, name, version, chain_id, verifying, _salt, _ext = msc.eip712Domain()
    assert (name, version, chain_id, verifying) == ("Madiun Stable Coin", "1", 31337, msc.address)
    typehash = keccak(
        text="EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
    )
    expected = keccak(
        abi_encode(
            ["bytes32", "bytes32", "bytes32", "uint256", "address"],
            [typehash, keccak(text="Madiun Stable Coin"), keccak(text="1"), 31337, msc.address],
        )
    )
    assert msc.DOMAIN_SEPARATOR() == "0x" + expected.hex()


def test_permit_setsAllowanceAndBumpsNonce(funded, alice, bob, alice_key):
    deadline = _deadline()
    v, r, s = sign_permit(funded, alice_key, str(bob), 5_000, 0, deadline)
    tx = funded.permit(alice, bob, 5_000, deadline, v, r, s, {"from": bob})
    assert funded.allowance(alice, bob) == 5_000
    assert funded.nonces(alice) == 1
    assert tx.events["Approval"][0]["value"] == 5_000
    funded.transferFrom(alice, bob, 5_000, {"from": bob})
    assert funded.balanceOf(bob) == USER_FUNDS + 5_000


def test_permit_revertsOnReplay(funded, alice, bob, alice_key):
    deadline = _deadline()
    v, r, s = sign_permit(funded, alice_key, str(bob), 5_000, 0, deadline)
    funded.permit(alice, bob, 5_000, deadline, v, r, s, {"from": bob})
    funded.approve(bob, 0, {"from": alice})
    with brownie.reverts(err("MSCInvalidSignature", alice)):
        funded.permit(alice, bob, 5_000, deadline, v, r, s, {"from": bob})
    assert funded.allowance(alice, bob) == 0


def test_permit_revertsAfterDeadline(funded, alice, bob, alice_key):
    deadline = block_time() + 60
    v, r, s = sign_permit(funded, alice_key, str(bob), 1, 0, deadline)
    chain.sleep(120)
    with brownie.reverts(err("MSCPermitExpired", deadline)):
        funded.permit(alice, bob, 1, deadline, v, r, s, {"from": bob})


def test_permit_revertsForAnotherSpender(funded, alice, bob, carol, alice_key):
    deadline = _deadline()
    v, r, s = sign_permit(funded, alice_key, str(bob), 5_000, 0, deadline)
    with brownie.reverts(err("MSCInvalidSignature", alice)):
        funded.permit(alice, carol, 5_000, deadline, v, r, s, {"from": carol})
    assert funded.allowance(alice, carol) == 0


def test_permit_revertsForAnotherValue(funded, alice, bob, alice_key):
    deadline = _deadline()
    v, r, s = sign_permit(funded, alice_key, str(bob), 5_000, 0, deadline)
    with brownie.reverts(err("MSCInvalidSignature", alice)):
        funded.permit(alice, bob, 5_001, deadline, v, r, s, {"from": bob})


def test_permit_revertsWhenSignedByAnotherKey(funded, alice, bob, bob_key):
    deadline = _deadline()
    v, r, s = sign_permit(funded, bob_key, str(bob), 5_000, 0, deadline)
    with brownie.reverts(err("MSCInvalidSignature", alice)):
        funded.permit(alice, bob, 5_000, deadline, v, r, s, {"from": bob})


def test_safePermit_toleratesFrontRunPermit(funded, alice, bob, alice_key):
    """A front-runner submits alice's permit first: the naive deposit reverts, the SafePermit one works."""
    vault = PermitVault.deploy(funded, {"from": bob})
    deadline = _deadline()
    v, r, s = sign_permit(funded, alice_key, str(vault), 3_000, 0, deadline)
    funded.permit(alice, vault, 3_000, deadline, v, r, s, {"from": bob})  # the front-run
    with brownie.reverts(err("MSCInvalidSignature", alice)):
        vault.depositWithPermitNaive(3_000, deadline, v, r, s, {"from": alice})
    vault.depositWithPermit(3_000, deadline, v, r, s, {"from": alice})
    assert vault.deposits(alice) == 3_000
    assert funded.balanceOf(vault) == 3_000


def test_safePermit_revertsWhenPermitFailsAndNoAllowance(funded, alice, bob, alice_key, bob_key):
    vault = PermitVault.deploy(funded, {"from": bob})
    deadline = _deadline()
    v, r, s = sign_permit(funded, bob_key, str(vault), 3_000, 0, deadline)  # wrong signer
    with brownie.reverts(err("SafePermitFailed", alice, vault, 0, 3_000)):
        vault.depositWithPermit(3_000, deadline, v, r, s, {"from": alice})


# --------------------------------------------------------------- EIP-3009


def test_transferWithAuthorization_movesFundsForAnyRelayer(funded, alice, bob, carol, alice_key):
    nonce = b"\x11" * 32
    valid_before = _deadline()
    v, r, s = sign_authorization(
        funded, "TransferWithAuthorization", alice_key, str(bob), 2_500, 0, valid_before, nonce
    )
    tx = funded.transferWithAuthorization(alice, bob, 2_500, 0, valid_before, nonce, v, r, s, {"from": carol})
    assert funded.balanceOf(bob) == USER_FUNDS + 2_500
    assert funded.authorizationState(alice, nonce)
    assert tx.events["AuthorizationUsed"][0]["authorizer"] == alice
    assert tx.events["AuthorizationUsed"][0]["nonce"] == "0x" + nonce.hex()


def test_transferWithAuthorization_revertsOnReplay(funded, alice, bob, alice_key):
    nonce = b"\x12" * 32
    valid_before = _deadline()
    v, r, s = sign_authorization(
        funded, "TransferWithAuthorization", alice_key, str(bob), 1, 0, valid_before, nonce
    )
    funded.transferWithAuthorization(alice, bob, 1, 0, valid_before, nonce, v, r, s, {"from": bob})
    with brownie.reverts(err("MSCAuthorizationUsed", alice, nonce)):
        funded.transferWithAuthorization(alice, bob, 1, 0, valid_before, nonce, v, r, s, {"from": bob})
    assert funded.balanceOf(bob) == USER_FUNDS + 1


def test_transferWithAuthorization_revertsBeforeValidAfter(funded, alice, bob, alice_key):
    nonce = b"\x13" * 32
    valid_after = block_time() + HOUR
    valid_before = valid_after + HOUR
    v, r, s = sign_authorization(
        funded, "TransferWithAuthorization", alice_key, str(bob), 1, valid_after, valid_before, nonce
    )
    with brownie.reverts(err("MSCAuthorizationNotYetValid", valid_after)):
        funded.transferWithAuthorization(
            alice, bob, 1, valid_after, valid_before, nonce, v, r, s, {"from": bob}
        )


def test_transferWithAuthorization_revertsAfterValidBefore(funded, alice, bob, alice_key):
    nonce = b"\x14" * 32
    valid_before = block_time() + 60
    v, r, s = sign_authorization(
        funded, "TransferWithAuthorization", alice_key, str(bob), 1, 0, valid_before, nonce
    )
    chain.sleep(120)
    with brownie.reverts(err("MSCAuthorizationExpired", valid_before)):
        funded.transferWithAuthorization(alice, bob, 1, 0, valid_before, nonce, v, r, s, {"from": bob})


def test_transferWithAuthorization_revertsForAnotherPayee(funded, alice, bob, carol, alice_key):
    nonce = b"\x15" * 32
    valid_before = _deadline()
    v, r, s = sign_authorization(
        funded, "TransferWithAuthorization", alice_key, str(bob), 1, 0, valid_before, nonce
    )
    with brownie.reverts(err("MSCInvalidSignature", alice)):
        funded.transferWithAuthorization(alice, carol, 1, 0, valid_before, nonce, v, r, s, {"from": carol})


def test_receiveWithAuthorization_onlyPayeeMaySubmit(funded, alice, bob, carol, alice_key):
    nonce = b"\x16" * 32
    valid_before = _deadline()
    v, r, s = sign_authorization(
        funded, "ReceiveWithAuthorization", alice_key, str(bob), 900, 0, valid_before, nonce
    )
    with brownie.reverts(err("MSCCallerNotPayee", carol, bob)):
        funded.receiveWithAuthorization(alice, bob, 900, 0, valid_before, nonce, v, r, s, {"from": carol})
    funded.receiveWithAuthorization(alice, bob, 900, 0, valid_before, nonce, v, r, s, {"from": bob})
    assert funded.balanceOf(bob) == USER_FUNDS + 900


def test_receiveWithAuthorization_rejectsTransferTypedSignature(funded, alice, bob, alice_key):
    """A TransferWithAuthorization signature cannot be replayed through receiveWithAuthorization."""
    nonce = b"\x17" * 32
    valid_before = _deadline()
    v, r, s = sign_authorization(
        funded, "TransferWithAuthorization", alice_key, str(bob), 1, 0, valid_before, nonce
    )
    with brownie.reverts(err("MSCInvalidSignature", alice)):
        funded.receiveWithAuthorization(alice, bob, 1, 0, valid_before, nonce, v, r, s, {"from": bob})


def test_cancelAuthorization_preventsLaterUse(funded, alice, bob, alice_key):
    nonce = b"\x18" * 32
    valid_before = _deadline()
    cv, cr, cs = sign_cancel(funded, alice_key, nonce)
    tx = funded.cancelAuthorization(alice, nonce, cv, cr, cs, {"from": bob})
    assert tx.events["AuthorizationCanceled"][0]["authorizer"] == alice
    assert funded.authorizationState(alice, nonce)
    v, r, s = sign_authorization(
        funded, "TransferWithAuthorization", alice_key, str(bob), 1, 0, valid_before, nonce
    )
    with brownie.reverts(err("MSCAuthorizationUsed", alice, nonce)):
        funded.transferWithAuthorization(alice, bob, 1, 0, valid_before, nonce, v, r, s, {"from": bob})


def test_cancelAuthorization_revertsForUsedNonce(funded, alice, bob, alice_key):
    nonce = b"\x19" * 32
    valid_before = _deadline()
    v, r, s = sign_authorization(
        funded, "TransferWithAuthorization", alice_key, str(bob), 1, 0, valid_before, nonce
    )
    funded.transferWithAuthorization(alice, bob, 1, 0, valid_before, nonce, v, r, s, {"from": bob})
    cv, cr, cs = sign_cancel(funded, alice_key, nonce)
    with brownie.reverts(err("MSCAuthorizationUsed", alice, nonce)):
        funded.cancelAuthorization(alice, nonce, cv, cr, cs, {"from": bob})


def test_cancelAuthorization_revertsForWrongSigner(funded, alice, bob, bob_key):
    nonce = b"\x1a" * 32
    cv, cr, cs = sign_cancel(funded, bob_key, nonce)
    with brownie.reverts(err("MSCInvalidSignature", alice)):
        funded.cancelAuthorization(alice, nonce, cv, cr, cs, {"from": bob})
    assert not funded.authorizationState(alice, nonce)
