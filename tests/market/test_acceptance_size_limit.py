"""The contract's size limit at acceptance: per order, and per account and UTC day net of the
trader's open orders, so an order that settlement would refuse never enters the book."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from chain.signer import Signer
from market.acceptance import Commitments, DailySizeLimitError, NotAllowlistedError
from market.orders import Side
from tests.market.market_chain import REF, SETTLER_INDEX, MarketChain, market_chain

PORT = 8763
LIMIT = 1_000  # chain.deploy's MARKET_SIZE_LIMIT_TONNES


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MarketChain]:
    with market_chain(PORT, tmp_path_factory.mktemp("size-chain")) as c:
        c.fund_msc(1, 10**12)
        c.give_credits(2, 5_000)
        yield c


def _settle(chain: MarketChain, tonnes: int) -> None:
    """One fill of ``tonnes``, trader 1 buying from trader 2, sent by the settler (anvil signs for it)."""
    buy, sell = chain.sign(1, Side.BUY, tonnes, REF), chain.sign(2, Side.SELL, tonnes, REF)
    fill = (buy.as_tuple(), buy.signature_bytes, sell.as_tuple(), sell.signature_bytes, tonnes, REF)
    chain.send(chain.platform.market.functions.settle(fill), Signer.dev(SETTLER_INDEX).address)


def test_check_chain_refusesOrderAboveLimitForNonAllowlisted(chain: MarketChain) -> None:
    acceptance = chain.acceptance()
    with pytest.raises(NotAllowlistedError):
        acceptance.check_chain(chain.sign(1, Side.BUY, LIMIT + 1, REF), Commitments())


def test_check_chain_countsTodaysTradesAndOpenOrders(chain: MarketChain) -> None:
    acceptance = chain.acceptance()
    acceptance.check_chain(chain.sign(1, Side.BUY, 600, REF), Commitments(open_tonnes=400))
    # Split orders do not evade the limit: 600 t open already, 600 t more is refused.
    with pytest.raises(DailySizeLimitError) as refused:
        acceptance.check_chain(chain.sign(1, Side.BUY, 600, REF), Commitments(open_tonnes=600))
    assert refused.value.code == "market_daily_size_limit"
    _settle(chain, 700)  # 700 t traded on-chain today by both traders
    assert chain.platform.market.functions.tradedToday(chain.trader(1)).call() == 700
    acceptance.check_chain(chain.sign(1, Side.BUY, 300, REF), Commitments())
    with pytest.raises(DailySizeLimitError):
        acceptance.check_chain(chain.sign(1, Side.BUY, 301, REF), Commitments())
    with pytest.raises(DailySizeLimitError):
        acceptance.check_chain(chain.sign(2, Side.SELL, 200, REF), Commitments(open_tonnes=101))


def test_check_chain_allowlistedTradeAboveTheLimit(chain: MarketChain) -> None:
    chain.send(chain.platform.market.functions.setAllowlisted(chain.trader(3), True))
    acceptance = chain.acceptance()
    with pytest.raises(NotAllowlistedError):
        acceptance.check_chain(chain.sign(4, Side.BUY, LIMIT + 1, REF), Commitments())
    acceptance._check_size(chain.trader(3), 5_000, 10**6)  # no raise: allowlisted
