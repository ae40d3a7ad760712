"""Stateful property test of CarbonMarket (see ICarbonMarket.sol): across any sequence of fills,
cancellations and nonce bumps, MSC and credits are conserved among the traders and the fee
recipient, and no order is ever filled beyond its amount."""

from __future__ import annotations

import brownie
from brownie import accounts
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from chain.signer import Signer
from tests.contracts.test_market import BUY, SELL, TOKEN, fill, order
from tests.support.profile import stateful_settings

TRADERS = (7, 8, 9)


def test_market_conserves_msc_and_credits(market, funded, carbon, roles):
    funded.mint(accounts[9], 50_000_000, {"from": roles.minter})  # alice and bob hold MSC already
    for i in TRADERS:
        funded.approve(market, 2**256 - 1, {"from": accounts[i]})
        carbon.setApprovalForAll(market, True, {"from": accounts[i]})
    carbon.safeTransferFrom(accounts[7], accounts[9], TOKEN, 500, b"", {"from": accounts[7]})
    watched = [*TRADERS, 4]  # traders and the fee recipient (rescuer)
    brownie.chain.snapshot()

    class MarketMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            brownie.chain.revert()
            self.msc_total = sum(funded.balanceOf(accounts[i]) for i in watched)
            self.credit_total = sum(carbon.balanceOf(accounts[i], TOKEN) for i in TRADERS)
            self.orders: list[tuple] = []
            self.salt = 0

        @rule(
            buyer=st.sampled_from(TRADERS),
            seller=st.sampled_from(TRADERS),
            size=st.integers(1, 80),
            take=st.integers(1, 100),
            buy_price=st.integers(100, 200_000),
            sell_price=st.integers(100, 200_000),
        )
        def trade(
            self, buyer: int, seller: int, size: int, take: int, buy_price: int, sell_price: int
        ) -> None:
            self.salt += 1
            nonces = {i: market.nonceOf(accounts[i]) for i in (buyer, seller)}
            buy = order(accounts[buyer], BUY, size, buy_price, salt=self.salt, nonce=nonces[buyer])
            sell = order(accounts[seller], SELL, size, sell_price, salt=self.salt, nonce=nonces[seller])
            self.orders += [buy, sell]
            f = fill(market, buy, Signer.dev(buyer), sell, Signer.dev(seller), min(take, size), sell_price)
            ok = (
                buyer != seller
                and sell_price <= buy_price
                and carbon.balanceOf(accounts[seller], TOKEN) >= min(take, size)
                and funded.balanceOf(accounts[buyer]) >= min(take, size) * sell_price
            )
            if ok:
                market.settle(f, {"from": roles.minter})
            else:
                with brownie.reverts():
                    market.settle(f, {"from": roles.minter})

        @rule(trader=st.sampled_from(TRADERS))
        def bump_nonce(self, trader: int) -> None:
            market.incrementNonce({"from": accounts[trader]})

        @invariant()
        def conserved(self) -> None:
            assert sum(funded.balanceOf(accounts[i]) for i in watched) == self.msc_total
            assert sum(carbon.balanceOf(accounts[i], TOKEN) for i in TRADERS) == self.credit_total

        @invariant()
        def never_overfilled(self) -> None:
            for o in self.orders[-6:]:
                assert market.filled(market.hashOrder(o)) <= o[3]

    run_state_machine_as_test(
        MarketMachine,
        settings=stateful_settings(),
    )
