"""MerchantEscrow: deposits, release, refunds, disputes, the guarantee fund, batches."""

from __future__ import annotations

import brownie
from brownie import ZERO_ADDRESS, MerchantEscrow, chain
from eth_utils import keccak

from tests.contracts.conftest import DAY
from tests.support.brownie_errors import err

HELD, DISPUTED, RELEASED, REFUNDED, SPLIT = 1, 2, 3, 4, 5
DEPOSITOR_ROLE = keccak(text="DEPOSITOR_ROLE")
ARBITER_ROLE = keccak(text="ARBITER_ROLE")
OPERATOR_ROLE = keccak(text="OPERATOR_ROLE")
HOLD = 3 * DAY


def pid(n: int) -> bytes:
    """A payment id (the settlement service uses the Pi payment id's hash)."""
    return keccak(text=f"pi-payment-{n}")


def _advance(seconds: int) -> None:
    chain.sleep(seconds)
    chain.mine()


def _status(escrow, n: int) -> int:  # type: ignore[no-untyped-def]
    return int(escrow.getPayment(pid(n))[5])


def _deposit(escrow, roles, merchant, payer, n=1, amount=50_000, hold=HOLD):  # type: ignore[no-untyped-def]
    return escrow.deposit(pid(n), merchant, payer, amount, hold, {"from": roles.minter})


# --------------------------------------------------------------- deposit


def test_deposit_holdsFundsAndEmits(escrow, funded, roles, alice, bob):
    tx = _deposit(escrow, roles, alice, bob)
    now = chain[tx.block_number].timestamp
    merchant, amount, payer, release_after, _deadline, status, covered = escrow.getPayment(pid(1))
    assert (merchant, amount, payer, release_after, status) == (alice, 50_000, bob, now + HOLD, HELD)
    assert covered == 0
    assert funded.balanceOf(escrow) == 50_000
    assert [int(x) for x in escrow.totals()] == [50_000, 0]
    event = tx.events["Deposited"][0]
    assert (event["paymentId"], event["merchant"], event["payer"], event["amount"]) == (
        "0x" + pid(1).hex(),
        alice,
        bob,
        50_000,
    )


def test_deposit_revertsForReusedPaymentIdEvenAfterRelease(escrow, roles, alice, bob):
    _deposit(escrow, roles, alice, bob)
    with brownie.reverts(err("EscrowPaymentExists", pid(1))):
        _deposit(escrow, roles, alice, bob)
    escrow.release(pid(1), {"from": bob})
    with brownie.reverts(err("EscrowPaymentExists", pid(1))):
        _deposit(escrow, roles, alice, bob)


def test_deposit_revertsForBadInput(escrow, roles, alice, bob):
    with brownie.reverts(err("EscrowZeroAddress")):
        escrow.deposit(pid(2), ZERO_ADDRESS, bob, 1, HOLD, {"from": roles.minter})
    with brownie.reverts(err("EscrowZeroAddress")):
        escrow.deposit(pid(2), alice, ZERO_ADDRESS, 1, HOLD, {"from": roles.minter})
    with brownie.reverts(err("EscrowAmountInvalid", 0, 2**96 - 1)):
        escrow.deposit(pid(2), alice, bob, 0, HOLD, {"from": roles.minter})
    with brownie.reverts(err("EscrowHoldTooLong", 366 * DAY, 365 * DAY)):
        escrow.deposit(pid(2), alice, bob, 1, 366 * DAY, {"from": roles.minter})
    assert _status(escrow, 2) == 0


def test_deposit_revertsForNonDepositor(escrow, alice, bob):
    with brownie.reverts(err("AccessControlUnauthorizedAccount", alice, DEPOSITOR_ROLE)):
        escrow.deposit(pid(3), alice, bob, 1, HOLD, {"from": alice})


def test_deposit_revertsWhenPaused(escrow, roles, alice, bob):
    escrow.pause({"from": roles.master_minter})
    with brownie.reverts(err("EnforcedPause")):
        _deposit(escrow, roles, alice, bob)


def test_depositBatch_pullsTheTotalOnce(escrow, funded, roles, alice, bob, carol):
    requests = [(pid(10 + i), alice if i % 2 else carol, bob, 1_000 + i, HOLD) for i in range(20)]
    tx = escrow.depositBatch(requests, {"from": roles.minter})
    assert len(tx.events["Deposited"]) == 20
    assert len(tx.events["Transfer"]) == 1
    assert funded.balanceOf(escrow) == sum(1_000 + i for i in range(20))


def test_depositBatch_isAllOrNothing(escrow, funded, roles, alice, bob):
    _deposit(escrow, roles, alice, bob, n=11)
    requests = [(pid(10), alice, bob, 1_000, HOLD), (pid(11), alice, bob, 1_000, HOLD)]
    with brownie.reverts(err("EscrowPaymentExists", pid(11))):
        escrow.depositBatch(requests, {"from": roles.minter})
    assert _status(escrow, 10) == 0
    assert funded.balanceOf(escrow) == 50_000


def test_depositBatch_revertsForEmptyOrOversizedBatch(escrow, roles):
    with brownie.reverts(err("EscrowBatchSize", 0, 500)):
        escrow.depositBatch([], {"from": roles.minter})


# --------------------------------------------------------------- release


def test_release_afterHoldByAnyone(escrow, funded, roles, alice, bob, carol):
    _deposit(escrow, roles, alice, bob)
    with brownie.reverts(err("EscrowStillHeld", pid(1), escrow.getPayment(pid(1))[3])):
        escrow.release(pid(1), {"from": carol})
    _advance(HOLD + 1)
    before = funded.balanceOf(alice)
    tx = escrow.release(pid(1), {"from": carol})
    assert funded.balanceOf(alice) == before + 50_000
    assert _status(escrow, 1) == RELEASED
    assert tx.events["Released"][0]["byPayer"] is False
    assert [int(x) for x in escrow.totals()] == [0, 0]
    with brownie.reverts(err("EscrowWrongStatus", pid(1), RELEASED)):
        escrow.release(pid(1), {"from": carol})


def test_release_earlyWhenPayerConfirms(escrow, roles, alice, bob):
    _deposit(escrow, roles, alice, bob)
    tx = escrow.release(pid(1), {"from": bob})
    assert tx.events["Released"][0]["byPayer"] is True
    assert _status(escrow, 1) == RELEASED


def test_release_revertsForUnknownPayment(escrow, bob):
    with brownie.reverts(err("EscrowWrongStatus", pid(404), 0)):
        escrow.release(pid(404), {"from": bob})


def test_releaseBatch_releasesDueAndSkipsTheRest(escrow, funded, roles, alice, bob, carol):
    for n in range(5):
        _deposit(escrow, roles, alice, bob, n=n, amount=1_000, hold=DAY)
    _deposit(escrow, roles, alice, bob, n=5, amount=1_000, hold=10 * DAY)  # not due yet
    _advance(DAY + 1)
    escrow.dispute(pid(0), {"from": bob})  # disputed meanwhile: skipped, not reverted
    before = funded.balanceOf(alice)
    tx = escrow.releaseBatch([pid(n) for n in range(6)] + [pid(99)], {"from": carol})
    assert tx.return_value == 4
    assert funded.balanceOf(alice) == before + 4_000
    assert [_status(escrow, n) for n in range(6)] == [DISPUTED, RELEASED, RELEASED, RELEASED, RELEASED, HELD]
    assert [int(x) for x in escrow.totals()] == [2_000, 0]


# --------------------------------------------------------------- refunds


def test_refund_partialThenFull(escrow, funded, roles, alice, bob):
    _deposit(escrow, roles, alice, bob)
    before = funded.balanceOf(bob)
    tx = escrow.refund(pid(1), 20_000, {"from": alice})
    assert tx.events["Refunded"][0]["remaining"] == 30_000
    assert _status(escrow, 1) == HELD
    tx = escrow.refund(pid(1), 30_000, {"from": alice})
    assert funded.balanceOf(bob) == before + 50_000
    assert _status(escrow, 1) == REFUNDED
    assert escrow.getPayment(pid(1))[1] == 0
    assert tx.events["Refunded"][0]["remaining"] == 0


def test_refund_revertsAboveRemainingOrForOthers(escrow, roles, alice, bob):
    _deposit(escrow, roles, alice, bob)
    with brownie.reverts(err("EscrowAmountInvalid", 50_001, 50_000)):
        escrow.refund(pid(1), 50_001, {"from": alice})
    with brownie.reverts(err("EscrowAmountInvalid", 0, 50_000)):
        escrow.refund(pid(1), 0, {"from": alice})
    with brownie.reverts(err("EscrowNotParty", pid(1), bob, "merchant")):
        escrow.refund(pid(1), 1, {"from": bob})


def test_refund_revertsAfterRelease(escrow, roles, alice, bob):
    _deposit(escrow, roles, alice, bob)
    escrow.release(pid(1), {"from": bob})
    with brownie.reverts(err("EscrowWrongStatus", pid(1), RELEASED)):
        escrow.refund(pid(1), 1, {"from": alice})


def test_refund_worksWhilePaused(escrow, roles, alice, bob):
    _deposit(escrow, roles, alice, bob)
    escrow.pause({"from": roles.master_minter})
    escrow.refund(pid(1), 50_000, {"from": alice})
    assert _status(escrow, 1) == REFUNDED


# --------------------------------------------------------------- disputes


def test_dispute_blocksReleaseUntilArbiterSplits(escrow, funded, roles, alice, bob, carol):
    _deposit(escrow, roles, alice, bob)
    tx = escrow.dispute(pid(1), {"from": bob})
    assert tx.events["Disputed"][0]["deadline"] == chain[tx.block_number].timestamp + 14 * DAY
    _advance(HOLD + 1)
    with brownie.reverts(err("EscrowWrongStatus", pid(1), DISPUTED)):
        escrow.release(pid(1), {"from": carol})
    merchant_before, payer_before = funded.balanceOf(alice), funded.balanceOf(bob)
    tx = escrow.resolveDispute(pid(1), 35_000, {"from": roles.freezer})
    assert funded.balanceOf(alice) == merchant_before + 35_000
    assert funded.balanceOf(bob) == payer_before + 15_000
    assert _status(escrow, 1) == SPLIT
    assert tx.events["DisputeResolved"][0]["byDefault"] is False


def test_dispute_onlyPayerAndOnlyWhileHeld(escrow, roles, alice, bob):
    _deposit(escrow, roles, alice, bob)
    with brownie.reverts(err("EscrowNotParty", pid(1), alice, "payer")):
        escrow.dispute(pid(1), {"from": alice})
    escrow.release(pid(1), {"from": bob})
    with brownie.reverts(err("EscrowWrongStatus", pid(1), RELEASED)):
        escrow.dispute(pid(1), {"from": bob})


def test_resolveDispute_arbiterCannotTakeMoreThanThePayment(escrow, funded, roles, alice, bob):
    """Circle's refund protocol let an arbiter drain other payments; here each payment is its own pot."""
    _deposit(escrow, roles, alice, bob, n=1, amount=50_000)
    _deposit(escrow, roles, alice, bob, n=2, amount=70_000)
    escrow.dispute(pid(1), {"from": bob})
    with brownie.reverts(err("EscrowAmountInvalid", 50_001, 50_000)):
        escrow.resolveDispute(pid(1), 50_001, {"from": roles.freezer})
    with brownie.reverts(err("EscrowWrongStatus", pid(2), HELD)):
        escrow.resolveDispute(pid(2), 0, {"from": roles.freezer})
    assert funded.balanceOf(escrow) == 120_000


def test_resolveDispute_revertsForNonArbiter(escrow, roles, alice, bob):
    _deposit(escrow, roles, alice, bob)
    escrow.dispute(pid(1), {"from": bob})
    with brownie.reverts(err("AccessControlUnauthorizedAccount", alice, ARBITER_ROLE)):
        escrow.resolveDispute(pid(1), 50_000, {"from": alice})


def test_resolveExpiredDispute_refundsPayerByDefault(escrow, funded, roles, alice, bob, carol):
    _deposit(escrow, roles, alice, bob)
    escrow.dispute(pid(1), {"from": bob})
    deadline = escrow.getPayment(pid(1))[4]
    with brownie.reverts(err("EscrowDisputeOpen", pid(1), deadline)):
        escrow.resolveExpiredDispute(pid(1), {"from": carol})
    _advance(14 * DAY + 1)
    before = funded.balanceOf(bob)
    tx = escrow.resolveExpiredDispute(pid(1), {"from": carol})
    assert funded.balanceOf(bob) == before + 50_000
    assert _status(escrow, 1) == REFUNDED
    assert tx.events["DisputeResolved"][0]["byDefault"] is True


def test_setDisputeWindow_boundsAndRole(escrow, roles, alice):
    escrow.setDisputeWindow(7 * DAY, {"from": roles.master_minter})
    assert escrow.disputeWindow() == 7 * DAY
    with brownie.reverts(err("EscrowDisputeWindowInvalid", 60, 3600, 90 * DAY)):
        escrow.setDisputeWindow(60, {"from": roles.master_minter})
    with brownie.reverts(err("AccessControlUnauthorizedAccount", alice, OPERATOR_ROLE)):
        escrow.setDisputeWindow(7 * DAY, {"from": alice})


# --------------------------------------------------------------- guarantee fund


def test_coverRefund_paysPayerFromFundAfterRelease(escrow, funded, roles, alice, bob):
    escrow.fundGuarantee(100_000, {"from": roles.master_minter})
    _deposit(escrow, roles, alice, bob)
    with brownie.reverts(err("EscrowWrongStatus", pid(1), HELD)):
        escrow.coverRefund(pid(1), 1, {"from": roles.master_minter})
    escrow.release(pid(1), {"from": bob})
    before = funded.balanceOf(bob)
    tx = escrow.coverRefund(pid(1), 30_000, {"from": roles.master_minter})
    assert funded.balanceOf(bob) == before + 30_000
    assert [int(x) for x in escrow.totals()] == [0, 70_000]
    event = tx.events["GuaranteeRefundPaid"][0]
    assert (event["merchant"], event["payer"], event["amount"]) == (alice, bob, 30_000)
    with brownie.reverts(err("EscrowAmountInvalid", 20_001, 20_000)):
        escrow.coverRefund(pid(1), 20_001, {"from": roles.master_minter})


def test_coverRefund_cannotExceedTheFund(escrow, roles, alice, bob):
    escrow.fundGuarantee(10, {"from": roles.master_minter})
    _deposit(escrow, roles, alice, bob)
    escrow.release(pid(1), {"from": bob})
    with brownie.reverts(err("EscrowAmountInvalid", 11, 10)):
        escrow.coverRefund(pid(1), 11, {"from": roles.master_minter})


def test_guarantee_fundAndWithdrawByRole(escrow, funded, roles, alice, carol):
    tx = escrow.fundGuarantee(5_000, {"from": roles.master_minter})
    assert tx.events["GuaranteeFundChanged"][0]["delta"] == 5_000
    with brownie.reverts(err("AccessControlUnauthorizedAccount", alice, OPERATOR_ROLE)):
        escrow.fundGuarantee(1, {"from": alice})
    with brownie.reverts(err("AccessControlUnauthorizedAccount", alice, b"\x00" * 32)):
        escrow.withdrawGuarantee(1, alice, {"from": alice})
    escrow.withdrawGuarantee(2_000, carol, {"from": roles.owner})
    assert funded.balanceOf(carol) == 2_000
    assert [int(x) for x in escrow.totals()] == [0, 3_000]
    with brownie.reverts(err("EscrowAmountInvalid", 3_001, 3_000)):
        escrow.withdrawGuarantee(3_001, carol, {"from": roles.owner})


def test_constructor_revertsForZeroAddress(funded, roles):
    with brownie.reverts(err("EscrowZeroAddress")):
        MerchantEscrow.deploy(
            funded, roles.owner, ZERO_ADDRESS, roles.owner, roles.owner, {"from": roles.owner}
        )


def test_pause_blocksReleaseUntilUnpaused(escrow, roles, alice, bob):
    _deposit(escrow, roles, alice, bob)
    escrow.pause({"from": roles.master_minter})
    with brownie.reverts(err("EnforcedPause")):
        escrow.release(pid(1), {"from": bob})
    with brownie.reverts(err("EnforcedPause")):
        escrow.releaseBatch([pid(1)], {"from": bob})
    escrow.unpause({"from": roles.master_minter})
    escrow.release(pid(1), {"from": bob})
    assert _status(escrow, 1) == RELEASED


def test_pause_revertsForNonOperator(escrow, alice):
    with brownie.reverts(err("AccessControlUnauthorizedAccount", alice, OPERATOR_ROLE)):
        escrow.pause({"from": alice})


def test_releaseBatch_revertsForOversizedBatch(escrow, bob):
    with brownie.reverts(err("EscrowBatchSize", 501, 500)):
        escrow.releaseBatch([pid(n) for n in range(501)], {"from": bob})


def test_refund_duringDisputeSettlesIt(escrow, funded, roles, alice, bob):
    _deposit(escrow, roles, alice, bob)
    escrow.dispute(pid(1), {"from": bob})
    escrow.refund(pid(1), 50_000, {"from": alice})
    assert _status(escrow, 1) == REFUNDED
    with brownie.reverts(err("EscrowWrongStatus", pid(1), REFUNDED)):
        escrow.resolveDispute(pid(1), 0, {"from": roles.freezer})


def test_guarantee_rejectsZeroAmountAndZeroRecipient(escrow, roles):
    with brownie.reverts(err("EscrowAmountInvalid", 0, 2**96 - 1)):
        escrow.fundGuarantee(0, {"from": roles.master_minter})
    escrow.fundGuarantee(10, {"from": roles.master_minter})
    with brownie.reverts(err("EscrowZeroAddress")):
        escrow.withdrawGuarantee(1, ZERO_ADDRESS, {"from": roles.owner})


# --------------------------------------------------------------- merchants that cannot be paid


def test_releaseBatch_skipsFrozenMerchantAndReleasesTheRest(escrow, funded, roles, alice, bob, carol):
    _deposit(escrow, roles, alice, bob, n=1, amount=1_000, hold=DAY)
    _deposit(escrow, roles, carol, bob, n=2, amount=2_000, hold=DAY)
    _deposit(escrow, roles, alice, bob, n=3, amount=3_000, hold=DAY)
    _advance(DAY + 1)
    funded.freeze(carol, {"from": roles.freezer})
    before = funded.balanceOf(alice)
    tx = escrow.releaseBatch([pid(1), pid(2), pid(3)], {"from": bob})  # reverted whole before
    assert tx.return_value == 2
    assert funded.balanceOf(alice) == before + 4_000
    assert [_status(escrow, n) for n in (1, 2, 3)] == [RELEASED, HELD, RELEASED]
    skipped = tx.events["ReleaseSkipped"]
    assert len(skipped) == 1
    assert dict(skipped[0]) == {"paymentId": "0x" + pid(2).hex(), "merchant": carol, "amount": 2_000}
    assert [e["paymentId"] for e in tx.events["Released"]] == ["0x" + pid(1).hex(), "0x" + pid(3).hex()]
    assert [int(x) for x in escrow.totals()] == [2_000, 0]
    assert funded.balanceOf(escrow) == 2_000
    # The skipped payment waits; once the merchant is unfrozen it releases like any other.
    funded.unfreeze(carol, {"from": roles.freezer})
    assert escrow.releaseBatch([pid(2)], {"from": bob}).return_value == 1
    assert funded.balanceOf(carol) == 2_000 and _status(escrow, 2) == RELEASED
    assert [int(x) for x in escrow.totals()] == [0, 0] and funded.balanceOf(escrow) == 0


def test_releaseBatch_revertsWhenAReleaseIsStarvedOfGas(escrow, roles, alice, bob):
    for n in range(3):
        _deposit(escrow, roles, alice, bob, n=n, amount=1_000, hold=0)
    _advance(1)
    ids = [pid(n) for n in range(3)]
    needed = escrow.releaseBatch.estimate_gas(ids, {"from": bob})
    for gas in range(needed - 40_000, needed, 2_000):
        # Too little gas never skips a payment: the batch reverts (or releases) whole.
        try:
            tx = escrow.releaseBatch(ids, {"from": bob, "gas_limit": gas})
        except brownie.exceptions.VirtualMachineError:
            assert [_status(escrow, n) for n in range(3)] == [HELD] * 3
            continue
        assert "ReleaseSkipped" not in tx.events
        break


def test_deposit_revertsForUnpayableMerchantOrPayer(escrow, funded, roles, alice, bob):
    for unpayable in (funded.address, escrow.address):
        with brownie.reverts(err("EscrowPartyUnpayable", unpayable)):
            _deposit(escrow, roles, unpayable, bob)
        with brownie.reverts(err("EscrowPartyUnpayable", unpayable)):
            _deposit(escrow, roles, alice, unpayable)
        with brownie.reverts(err("EscrowPartyUnpayable", unpayable)):
            escrow.depositBatch([(pid(7), unpayable, bob, 1_000, 0)], {"from": roles.minter})


def test_resolveDispute_revertsAfterDeadline(escrow, funded, roles, alice, bob, carol):
    _deposit(escrow, roles, alice, bob)
    deadline = escrow.dispute(pid(1), {"from": bob}).events["Disputed"][0]["deadline"]
    _advance(escrow.disputeWindow() + 1)
    with brownie.reverts(err("EscrowDisputeExpired", pid(1), deadline)):
        escrow.resolveDispute(pid(1), 50_000, {"from": roles.freezer})
    before = funded.balanceOf(bob)
    escrow.resolveExpiredDispute(pid(1), {"from": carol})  # the default applies, as documented
    assert funded.balanceOf(bob) == before + 50_000 and _status(escrow, 1) == REFUNDED
