"""CarbonMarket: signed orders, delivery-versus-payment fills, partial fills, cancellation,
nonce bumps, fee math, allowlist, and every refusal leaving balances untouched."""

from __future__ import annotations

import brownie
from brownie import ZERO_ADDRESS, CarbonMarket, chain
from eth_abi import encode as abi_encode
from eth_utils import keccak

from chain import eip712
from chain.signer import Signer
from tests.contracts.conftest import FEE_BPS, SIZE_LIMIT, VINTAGE
from tests.support.brownie_errors import err
from tests.support.profile import block_time

BUY, SELL = 0, 1
TOKEN = (1 << 16) | VINTAGE
SETTLER_ROLE = keccak(text="SETTLER_ROLE")
OPERATOR_ROLE = keccak(text="OPERATOR_ROLE")
PRICE = 120_000  # Rp 1.200 per tonne, in sen


def order(trader, side, amount=100, price=PRICE, salt=1, nonce=0, expiry=None, token=TOKEN):  # type: ignore[no-untyped-def]
    return (str(trader), side, token, amount, price, expiry or block_time() + 3600, salt, nonce)


def sign(market, key: Signer, o) -> bytes:  # type: ignore[no-untyped-def]
    return key.sign_typed_data(eip712.order(eip712.market_domain(31337, market.address), o)).signature


def h(market, o) -> bytes:  # type: ignore[no-untyped-def]
    """An order's hash as Brownie renders a bytes32 error argument."""
    return bytes.fromhex(str(market.hashOrder(o))[2:])


def fill(market, buy, buy_key, sell, sell_key, amount, price=PRICE):  # type: ignore[no-untyped-def]
    return (buy, sign(market, buy_key, buy), sell, sign(market, sell_key, sell), amount, price)


def test_hashOrder_isTheEip712StructHash(market, bob):
    o = order(bob, BUY)
    typehash = keccak(
        text="Order(address trader,uint8 side,uint256 tokenId,uint64 amount,uint256 price,uint64 expiry,"
        "uint256 salt,uint256 nonce)"
    )
    expected = keccak(
        abi_encode(
            ["bytes32", "address", "uint8", "uint256", "uint64", "uint256", "uint64", "uint256", "uint256"],
            [typehash, *o],
        )
    )
    assert market.hashOrder(o) == "0x" + expected.hex()


def test_settle_movesMscAndCreditsWithFee(market, funded, carbon, roles, alice, bob, alice_key, bob_key):
    buy, sell = order(bob, BUY, 100), order(alice, SELL, 100)
    msc_bob, msc_alice, msc_fee = (
        funded.balanceOf(bob),
        funded.balanceOf(alice),
        funded.balanceOf(roles.rescuer),
    )
    tx = market.settle(fill(market, buy, bob_key, sell, alice_key, 60), {"from": roles.minter})
    notional = 60 * PRICE
    fee = notional * FEE_BPS // 10_000
    assert funded.balanceOf(bob) == msc_bob - notional
    assert funded.balanceOf(alice) == msc_alice + notional - fee
    assert funded.balanceOf(roles.rescuer) == msc_fee + fee
    assert (carbon.balanceOf(alice, TOKEN), carbon.balanceOf(bob, TOKEN)) == (1_940, 60)
    event = tx.events["OrderFilled"][0]
    assert (event["buyer"], event["seller"], event["amount"], event["price"], event["fee"]) == (
        bob,
        alice,
        60,
        PRICE,
        fee,
    )
    assert market.filled(market.hashOrder(buy)) == 60


def test_settle_partialFillsUpToTheOrderAmountOnly(market, roles, alice, bob, alice_key, bob_key):
    buy, sell = order(bob, BUY, 100), order(alice, SELL, 500)
    market.settle(fill(market, buy, bob_key, sell, alice_key, 70), {"from": roles.minter})
    market.settle(fill(market, buy, bob_key, sell, alice_key, 30), {"from": roles.minter})
    with brownie.reverts(err("MarketOrderOverfilled", h(market, buy), 100, 100, 1)):
        market.settle(fill(market, buy, bob_key, sell, alice_key, 1), {"from": roles.minter})
    assert market.filled(market.hashOrder(sell)) == 100


def test_settle_betweenTheLimitsOnly(market, roles, alice, bob, alice_key, bob_key):
    buy, sell = order(bob, BUY, price=PRICE), order(alice, SELL, price=PRICE - 5_000)
    market.settle(fill(market, buy, bob_key, sell, alice_key, 1, PRICE - 2_000), {"from": roles.minter})
    for price in (PRICE + 1, PRICE - 5_001):
        with brownie.reverts(err("MarketPriceOutsideLimits", price, PRICE, PRICE - 5_000)):
            market.settle(fill(market, buy, bob_key, sell, alice_key, 1, price), {"from": roles.minter})


def test_settle_refusesAndChangesNothing(
    market, funded, carbon, roles, alice, bob, carol, alice_key, bob_key
):
    msc_bob = funded.balanceOf(bob)
    buy, sell = order(bob, BUY), order(alice, SELL)
    cases = [
        (fill(market, buy, bob_key, sell, alice_key, 0), err("MarketZeroAmount")),
        (fill(market, sell, alice_key, buy, bob_key, 1), err("MarketWrongSide", h(market, sell))),
        (
            fill(market, buy, bob_key, order(alice, SELL, token=TOKEN + 1), alice_key, 1),
            err("MarketTokenMismatch", TOKEN, TOKEN + 1),
        ),
        (fill(market, buy, bob_key, order(bob, SELL), bob_key, 1), err("MarketSelfTrade", bob)),
        (
            (buy, sign(market, alice_key, buy), sell, sign(market, alice_key, sell), 1, PRICE),
            err("MarketInvalidSignature", bob),
        ),
    ]
    for f, error in cases:
        with brownie.reverts(error):
            market.settle(f, {"from": roles.minter})
    expired = order(bob, BUY, expiry=block_time() - 1)
    with brownie.reverts(err("MarketOrderExpired", h(market, expired), expired[5])):
        market.settle(fill(market, expired, bob_key, sell, alice_key, 1), {"from": roles.minter})
    with brownie.reverts(err("AccessControlUnauthorizedAccount", carol, SETTLER_ROLE)):
        market.settle(fill(market, buy, bob_key, sell, alice_key, 1), {"from": carol})
    assert funded.balanceOf(bob) == msc_bob
    assert carbon.balanceOf(bob, TOKEN) == 0


def test_settle_revertsWhenBuyerLacksMscOrSellerLacksCredits(
    market, funded, carbon, roles, alice, bob, carol, alice_key, bob_key
):
    carol_key = Signer.dev(9)
    funded.approve(market, 2**256 - 1, {"from": carol})
    with brownie.reverts(err("ERC20InsufficientBalance", carol, 0, PRICE - PRICE * FEE_BPS // 10_000)):
        market.settle(
            fill(market, order(carol, BUY), carol_key, order(alice, SELL), alice_key, 1),
            {"from": roles.minter},
        )
    funded.mint(carol, PRICE, {"from": roles.minter})
    carbon.setApprovalForAll(market, True, {"from": bob})  # approved, but holds no credits
    with brownie.reverts(err("ERC1155InsufficientBalance", bob, 0, 1, TOKEN)):
        market.settle(
            fill(market, order(carol, BUY), carol_key, order(bob, SELL), bob_key, 1), {"from": roles.minter}
        )


def test_cancel_stopsTheOrder(market, roles, alice, bob, alice_key, bob_key):
    buy, sell = order(bob, BUY), order(alice, SELL)
    with brownie.reverts(err("MarketNotTrader", alice, bob)):
        market.cancel(buy, {"from": alice})
    tx = market.cancel(buy, {"from": bob})
    assert tx.events["OrderCancelled"][0]["orderHash"] == "0x" + bytes(market.hashOrder(buy)).hex()
    with brownie.reverts(err("MarketOrderCancelled", h(market, buy))):
        market.settle(fill(market, buy, bob_key, sell, alice_key, 1), {"from": roles.minter})


def test_incrementNonce_cancelsAllOpenOrders(market, roles, alice, bob, alice_key, bob_key):
    buy, sell = order(bob, BUY), order(alice, SELL)
    assert market.incrementNonce({"from": bob}).return_value == 1
    with brownie.reverts(err("MarketOrderNonceStale", h(market, buy), 0, 1)):
        market.settle(fill(market, buy, bob_key, sell, alice_key, 1), {"from": roles.minter})
    fresh = order(bob, BUY, nonce=1)
    market.settle(fill(market, fresh, bob_key, sell, alice_key, 1), {"from": roles.minter})


def test_allowlist_requiredAboveSizeLimit(market, roles, alice, bob, alice_key, bob_key):
    big_buy, big_sell = order(bob, BUY, SIZE_LIMIT + 1), order(alice, SELL, SIZE_LIMIT + 1)
    with brownie.reverts(err("MarketNotAllowlisted", bob, SIZE_LIMIT + 1, SIZE_LIMIT)):
        market.settle(fill(market, big_buy, bob_key, big_sell, alice_key, 1), {"from": roles.minter})
    market.setAllowlisted(bob, True, {"from": roles.master_minter})
    with brownie.reverts(err("MarketNotAllowlisted", alice, SIZE_LIMIT + 1, SIZE_LIMIT)):
        market.settle(fill(market, big_buy, bob_key, big_sell, alice_key, 1), {"from": roles.minter})
    market.setAllowlisted(alice, True, {"from": roles.master_minter})
    market.settle(fill(market, big_buy, bob_key, big_sell, alice_key, 1), {"from": roles.minter})
    assert market.isAllowlisted(alice)


def test_settleBatch_isAllOrNothing(market, carbon, roles, alice, bob, alice_key, bob_key):
    good = fill(market, order(bob, BUY, salt=1), bob_key, order(alice, SELL, salt=1), alice_key, 10)
    bad = fill(market, order(bob, BUY, salt=2), bob_key, order(alice, SELL, salt=2), alice_key, 0)
    with brownie.reverts(err("MarketZeroAmount")):
        market.settleBatch([good, bad], {"from": roles.minter})
    assert carbon.balanceOf(bob, TOKEN) == 0
    tx = market.settleBatch(
        [good, fill(market, order(bob, BUY, salt=3), bob_key, order(alice, SELL, salt=3), alice_key, 5)],
        {"from": roles.minter},
    )
    assert len(tx.events["OrderFilled"]) == 2
    assert carbon.balanceOf(bob, TOKEN) == 15
    with brownie.reverts(err("MarketBatchSize", 0, 100)):
        market.settleBatch([], {"from": roles.minter})


def test_operatorSettings_andPause(market, roles, alice, bob, carol, alice_key, bob_key):
    market.setFee(100, carol, {"from": roles.master_minter})
    assert list(market.terms())[:2] == [100, carol]
    with brownie.reverts(err("MarketFeeTooHigh", 501, 500)):
        market.setFee(501, carol, {"from": roles.master_minter})
    with brownie.reverts(err("MarketZeroAddress")):
        market.setFee(1, ZERO_ADDRESS, {"from": roles.master_minter})
    market.setSizeLimit(5, {"from": roles.master_minter})
    assert market.terms()[2] == 5
    with brownie.reverts(err("AccessControlUnauthorizedAccount", alice, OPERATOR_ROLE)):
        market.setSizeLimit(1, {"from": alice})
    market.pause({"from": roles.master_minter})
    with brownie.reverts(err("EnforcedPause")):
        market.settle(
            fill(market, order(bob, BUY, 5), bob_key, order(alice, SELL, 5), alice_key, 1),
            {"from": roles.minter},
        )
    market.unpause({"from": roles.master_minter})


def test_constructor_validatesItsArguments(funded, carbon, roles):
    with brownie.reverts(err("MarketFeeTooHigh", 501, 500)):
        CarbonMarket.deploy(
            funded, carbon, roles.owner, roles.owner, roles.owner, roles.owner, 501, 1, {"from": roles.owner}
        )
    with brownie.reverts(err("MarketZeroAddress")):
        CarbonMarket.deploy(
            funded, carbon, roles.owner, ZERO_ADDRESS, roles.owner, roles.owner, 0, 1, {"from": roles.owner}
        )


# --------------------------------------------------------------- daily size limit, unpayable fee recipient


def test_settle_sizeLimitIsPerAccountPerDay(market, funded, carbon, roles, alice, bob, alice_key, bob_key):
    """Orders each within the limit, split to evade it, stop at the limit per account and UTC day."""
    for salt in range(4):  # 4 x 250 t = the whole daily limit, in separate orders
        buy, sell = order(bob, BUY, 250, 1_000, salt=salt), order(alice, SELL, 250, 1_000, salt=salt)
        market.settle(fill(market, buy, bob_key, sell, alice_key, 250, 1_000), {"from": roles.minter})
    assert (market.tradedToday(bob), market.tradedToday(alice)) == (SIZE_LIMIT, SIZE_LIMIT)
    buy, sell = order(bob, BUY, 1, salt=9), order(alice, SELL, 1, salt=9)
    with brownie.reverts(err("MarketDailyLimitExceeded", bob, SIZE_LIMIT, 1, SIZE_LIMIT)):
        market.settle(fill(market, buy, bob_key, sell, alice_key, 1), {"from": roles.minter})
    market.setAllowlisted(bob, True, {"from": roles.master_minter})
    with brownie.reverts(err("MarketDailyLimitExceeded", alice, SIZE_LIMIT, 1, SIZE_LIMIT)):
        market.settle(fill(market, buy, bob_key, sell, alice_key, 1), {"from": roles.minter})
    # The next UTC day starts afresh.
    chain.sleep(86_400)
    chain.mine()
    buy, sell = order(bob, BUY, 1, salt=10), order(alice, SELL, 1, salt=10)
    market.settle(fill(market, buy, bob_key, sell, alice_key, 1), {"from": roles.minter})
    assert market.tradedToday(alice) == 1


def test_settle_succeedsWhenFeeRecipientFrozen(market, funded, roles, alice, bob, carol, alice_key, bob_key):
    funded.freeze(roles.rescuer, {"from": roles.freezer})  # the fee recipient
    buy, sell = order(bob, BUY, 100), order(alice, SELL, 100)
    msc_bob, msc_alice = funded.balanceOf(bob), funded.balanceOf(alice)
    tx = market.settle(fill(market, buy, bob_key, sell, alice_key, 100), {"from": roles.minter})
    notional = 100 * PRICE
    fee = notional * FEE_BPS // 10_000
    assert funded.balanceOf(bob) == msc_bob - notional
    assert funded.balanceOf(alice) == msc_alice + notional - fee
    assert dict(tx.events["FeeAccrued"][0]) == {
        "buyHash": market.hashOrder(buy),
        "recipient": roles.rescuer,
        "fee": fee,
    }
    assert market.feesAccrued() == fee == funded.balanceOf(market)
    with brownie.reverts(err("MSCAccountFrozen", roles.rescuer)):
        market.collectFees({"from": carol})
    market.setFee(FEE_BPS, carol, {"from": roles.master_minter})
    tx = market.collectFees({"from": bob})  # anyone may push them to the recipient
    assert tx.return_value == fee and funded.balanceOf(carol) == fee
    assert tx.events["FeesCollected"][0]["recipient"] == carol
    assert market.feesAccrued() == 0 == funded.balanceOf(market)
    with brownie.reverts(err("MarketNothingToCollect")):
        market.collectFees({"from": bob})


def test_setFee_revertsForUnpayableRecipient(market, funded, carbon, roles, carol):
    funded.freeze(carol, {"from": roles.freezer})
    for unpayable in (carol, funded.address, market.address):
        with brownie.reverts(err("MarketRecipientUnpayable", unpayable)):
            market.setFee(FEE_BPS, unpayable, {"from": roles.master_minter})
    with brownie.reverts(err("MarketRecipientUnpayable", carol)):
        CarbonMarket.deploy(
            funded,
            carbon,
            roles.owner,
            roles.minter,
            roles.master_minter,
            carol,
            FEE_BPS,
            SIZE_LIMIT,
            {"from": roles.owner},
        )
