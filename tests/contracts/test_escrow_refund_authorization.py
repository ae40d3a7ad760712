"""MerchantEscrow.refundWithAuthorization: a merchant's EIP-712 signed refund, relayed by anyone."""

from __future__ import annotations

import secrets

import brownie
from brownie import ERC1271Wallet, chain
from eth_abi import encode as abi_encode
from eth_utils import keccak

from chain import eip712
from chain.signer import Signer
from tests.contracts.test_escrow import DISPUTED, HELD, REFUNDED, RELEASED, _deposit, _status, pid
from tests.support.brownie_errors import err
from tests.support.profile import block_time

HOUR = 3600
TYPE = "RefundAuthorization(bytes32 paymentId,uint96 amount,bytes32 nonce,uint256 validBefore)"


def _sign(escrow, key: Signer, n: int, amount: int, nonce: bytes, valid_before: int) -> bytes:  # type: ignore[no-untyped-def]
    domain = eip712.escrow_domain(chain.id, escrow.address)
    data = eip712.refund_authorization(domain, pid(n), amount, nonce, valid_before)
    return bytes(key.sign_typed_data(data).signature)


def _authorized(escrow, key, relayer, n=1, amount=20_000, nonce=None, valid_before=None):  # type: ignore[no-untyped-def]
    nonce = nonce or secrets.token_bytes(32)
    valid_before = valid_before or block_time() + HOUR
    signature = _sign(escrow, key, n, amount, nonce, valid_before)
    return escrow.refundWithAuthorization(pid(n), amount, nonce, valid_before, signature, {"from": relayer})


def test_domain_matchesPythonTypedData(escrow):
    _fields, name, version, chain_id, verifying, _salt, _ext = escrow.eip712Domain()
    assert (name, version, chain_id, verifying) == ("MerchantEscrow", "1", chain.id, escrow.address)
    assert escrow.REFUND_AUTHORIZATION_TYPEHASH() == "0x" + keccak(text=TYPE).hex()
    domain_typehash = keccak(
        text="EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
    )
    expected = keccak(
        abi_encode(
            ["bytes32", "bytes32", "bytes32", "uint256", "address"],
            [domain_typehash, keccak(text="MerchantEscrow"), keccak(text="1"), chain.id, escrow.address],
        )
    )
    assert escrow.DOMAIN_SEPARATOR() == "0x" + expected.hex()


def test_refundWithAuthorization_relayedRefundsLikeTheMerchant(
    escrow, funded, roles, alice, bob, carol, alice_key
):
    _deposit(escrow, roles, alice, bob)
    before = funded.balanceOf(bob)
    nonce = secrets.token_bytes(32)
    tx = _authorized(escrow, alice_key, carol, amount=20_000, nonce=nonce)
    refunded = tx.events["Refunded"][0]
    assert (refunded["paymentId"], refunded["payer"], refunded["amount"], refunded["remaining"]) == (
        "0x" + pid(1).hex(),
        bob,
        20_000,
        30_000,
    )
    used = tx.events["RefundAuthorizationUsed"][0]
    assert (used["merchant"], used["nonce"]) == (alice, "0x" + nonce.hex())
    assert escrow.authorizationState(alice, nonce) is True
    assert _status(escrow, 1) == HELD
    assert escrow.getPayment(pid(1))[1] == 30_000
    assert [int(x) for x in escrow.totals()] == [30_000, 0]
    assert funded.balanceOf(bob) == before + 20_000
    assert funded.balanceOf(escrow) == 30_000
    assert funded.balanceOf(carol) == 0  # the relayer only pays gas


def test_refundWithAuthorization_fullRefundEndsPayment(escrow, funded, roles, alice, bob, carol, alice_key):
    _deposit(escrow, roles, alice, bob)
    before = funded.balanceOf(bob)
    _authorized(escrow, alice_key, carol, amount=20_000)
    _authorized(escrow, alice_key, carol, amount=30_000)
    assert _status(escrow, 1) == REFUNDED
    assert funded.balanceOf(bob) == before + 50_000
    assert [int(x) for x in escrow.totals()] == [0, 0]


def test_refundWithAuthorization_revertsWhenExpired(escrow, roles, alice, bob, carol, alice_key):
    _deposit(escrow, roles, alice, bob)
    valid_before = block_time() + 60
    nonce = secrets.token_bytes(32)
    signature = _sign(escrow, alice_key, 1, 10_000, nonce, valid_before)
    chain.sleep(120)
    chain.mine()
    with brownie.reverts(err("EscrowAuthorizationExpired", valid_before)):
        escrow.refundWithAuthorization(pid(1), 10_000, nonce, valid_before, signature, {"from": carol})
    assert escrow.getPayment(pid(1))[1] == 50_000
    assert escrow.authorizationState(alice, nonce) is False


def test_refundWithAuthorization_revertsOnReplayedNonce(escrow, roles, alice, bob, carol, alice_key):
    _deposit(escrow, roles, alice, bob)
    nonce = secrets.token_bytes(32)
    valid_before = block_time() + HOUR
    signature = _sign(escrow, alice_key, 1, 10_000, nonce, valid_before)
    escrow.refundWithAuthorization(pid(1), 10_000, nonce, valid_before, signature, {"from": carol})
    with brownie.reverts(err("EscrowAuthorizationUsed", alice, nonce)):
        escrow.refundWithAuthorization(pid(1), 10_000, nonce, valid_before, signature, {"from": bob})
    # The same nonce signed for another amount is spent too.
    other = _sign(escrow, alice_key, 1, 5_000, nonce, valid_before)
    with brownie.reverts(err("EscrowAuthorizationUsed", alice, nonce)):
        escrow.refundWithAuthorization(pid(1), 5_000, nonce, valid_before, other, {"from": carol})
    assert escrow.getPayment(pid(1))[1] == 40_000


def test_refundWithAuthorization_revertsForWrongSigner(escrow, roles, alice, bob, carol, bob_key):
    _deposit(escrow, roles, alice, bob)
    with brownie.reverts(err("EscrowInvalidSignature", alice)):
        _authorized(escrow, bob_key, carol, amount=10_000)
    assert escrow.getPayment(pid(1))[1] == 50_000


def test_refundWithAuthorization_revertsForAnotherAmountOrPayment(
    escrow, roles, alice, bob, carol, alice_key
):
    _deposit(escrow, roles, alice, bob)
    _deposit(escrow, roles, alice, bob, n=2)
    nonce = secrets.token_bytes(32)
    valid_before = block_time() + HOUR
    signature = _sign(escrow, alice_key, 1, 10_000, nonce, valid_before)
    with brownie.reverts(err("EscrowInvalidSignature", alice)):
        escrow.refundWithAuthorization(pid(1), 50_000, nonce, valid_before, signature, {"from": carol})
    with brownie.reverts(err("EscrowInvalidSignature", alice)):
        escrow.refundWithAuthorization(pid(2), 10_000, nonce, valid_before, signature, {"from": carol})
    with brownie.reverts(err("EscrowInvalidSignature", alice)):
        escrow.refundWithAuthorization(pid(1), 10_000, nonce, valid_before + 1, signature, {"from": carol})
    assert [escrow.getPayment(pid(n))[1] for n in (1, 2)] == [50_000, 50_000]


def test_refundWithAuthorization_revertsOverAvailable(escrow, roles, alice, bob, carol, alice_key):
    _deposit(escrow, roles, alice, bob)
    with brownie.reverts(err("EscrowAmountInvalid", 50_001, 50_000)):
        _authorized(escrow, alice_key, carol, amount=50_001)
    with brownie.reverts(err("EscrowAmountInvalid", 0, 50_000)):
        _authorized(escrow, alice_key, carol, amount=0)


def test_refundWithAuthorization_revertsAfterRelease(escrow, roles, alice, bob, carol, alice_key):
    _deposit(escrow, roles, alice, bob)
    escrow.release(pid(1), {"from": bob})
    with brownie.reverts(err("EscrowWrongStatus", pid(1), RELEASED)):
        _authorized(escrow, alice_key, carol, amount=10_000)


def test_refundWithAuthorization_worksWhilePausedAndDisputed(escrow, roles, alice, bob, carol, alice_key):
    _deposit(escrow, roles, alice, bob)
    escrow.dispute(pid(1), {"from": bob})
    escrow.pause({"from": roles.master_minter})
    _authorized(escrow, alice_key, carol, amount=10_000)
    assert _status(escrow, 1) == DISPUTED
    assert escrow.getPayment(pid(1))[1] == 40_000


def test_refundWithAuthorization_acceptsErc1271Merchant(escrow, roles, bob, carol, alice_key, bob_key):
    wallet = ERC1271Wallet.deploy(alice_key.address, {"from": carol})
    _deposit(escrow, roles, wallet, bob)
    tx = _authorized(escrow, alice_key, carol, amount=10_000)
    assert tx.events["RefundAuthorizationUsed"][0]["merchant"] == wallet.address
    with brownie.reverts(err("EscrowInvalidSignature", wallet)):
        _authorized(escrow, bob_key, carol, amount=10_000)
    assert escrow.getPayment(pid(1))[1] == 40_000


def test_refund_byMerchantUnchangedAndNotByOthers(escrow, roles, alice, bob, carol):
    _deposit(escrow, roles, alice, bob)
    with brownie.reverts(err("EscrowNotParty", pid(1), carol, "merchant")):
        escrow.refund(pid(1), 1, {"from": carol})
    tx = escrow.refund(pid(1), 50_000, {"from": alice})
    assert "RefundAuthorizationUsed" not in tx.events
    assert _status(escrow, 1) == REFUNDED
