"""The contract's size limit at acceptance: per order, and per account and UTC day net of the
trader's open orders, so an order that settlement would refuse never enters the book."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from chain.signer import Signer
from common.sql.engine import create_engine_from_url, make_sessionmaker
from common.sql.migrate import upgrade
from market.acceptance import Commitments, DailySizeLimitError, NotAllowlistedError
from market.orders import Side
from market.service import MarketService
from market.store import MarketStore
from tests.market.market_chain import REF, SETTLER_INDEX, TOKEN, MarketChain, market_chain

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


@pytest.fixture
def service(chain: MarketChain, tmp_path: Path) -> Iterator[MarketService]:
    """A market service over a fresh database, checking orders against the module's market."""
    url = f"sqlite:///{tmp_path / 'market.sqlite3'}"
    upgrade(url)
    engine = create_engine_from_url(url)
    market = MarketService(MarketStore(make_sessionmaker(engine)), chain.acceptance())
    market.set_reference_price(TOKEN, REF)
    yield market
    engine.dispose()


def test_submit_splitOrdersOfBothSidesCountAgainstTheDailyLimit(
    chain: MarketChain, service: MarketService
) -> None:
    """Resting orders of either side and pending fills, as the trader's buyer or seller, count as
    open tonnes: a non-allowlisted trader cannot split past the limit at acceptance."""
    trader = 5
    chain.fund_msc(trader, 10**12)
    chain.give_credits(trader, 2_000)
    assert chain.platform.market.functions.tradedToday(chain.trader(trader)).call() == 0
    service.submit(chain.sign(trader, Side.BUY, 400, REF - 1_000))  # rests: nobody sells this low
    service.submit(chain.sign(trader, Side.SELL, 300, REF + 1_000))  # rests on the other side
    assert service.commitments(chain.trader(trader), TOKEN).open_tonnes == 700
    with pytest.raises(DailySizeLimitError):
        service.submit(chain.sign(trader, Side.BUY, 301, REF - 1_000))
    service.submit(chain.sign(trader, Side.BUY, 200, REF - 1_000))  # 900 t open

    # Trader 6 buys 100 t of its resting sell: a pending fill still counts (100 t), the rest 200 t.
    chain.fund_msc(6, 10**12)
    taker = service.submit(chain.sign(6, Side.BUY, 100, REF + 1_000))
    assert [f.amount for f in taker.fills] == [100]
    assert service.commitments(chain.trader(trader), TOKEN).open_tonnes == 900
    assert service.commitments(chain.trader(6), TOKEN).open_tonnes == 100  # the buyer's side too
    with pytest.raises(DailySizeLimitError):
        service.submit(chain.sign(trader, Side.SELL, 101, REF + 1_000))
    service.submit(chain.sign(trader, Side.SELL, 100, REF + 1_000))  # exactly the limit
