"""The settler on a real anvil: matched fills go on-chain in one settleBatch with exact balances; a fill
that fails on-chain is rolled back in the book while the rest of the batch settles; a crash after the
batch is recorded, or after it is sent, is resolved from the receipt without settling anything twice;
a batch whose nonce was taken by another transaction is dropped (checked against ``filled(hash)``)
and its fills settle in a new batch."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from chain.signer import Signer
from common.sql.engine import create_engine_from_url, make_sessionmaker
from common.sql.migrate import upgrade
from market.models import BatchStatus, FillStatus, MarketFill, MarketOrder, MarketTrade, SettlementBatch
from market.orders import Side
from market.service import MarketService
from market.settler import SettlementBlockedError, Settler
from market.store import MarketStore
from tests.market.market_chain import REF, SETTLER_INDEX, TOKEN, MarketChain, market_chain

PORT = 8760
FEE_BPS = 25


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MarketChain]:
    with market_chain(PORT, tmp_path_factory.mktemp("settler-chain")) as c:
        yield c


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MarketStore]:
    url = f"sqlite:///{tmp_path_factory.mktemp('settler-db') / 'market.sqlite3'}"
    upgrade(url)
    engine = create_engine_from_url(url)
    yield MarketStore(make_sessionmaker(engine))
    engine.dispose()


def new_service(chain: MarketChain, store: MarketStore) -> MarketService:
    """A market service as a freshly started process builds it (the book from SQL)."""
    service = MarketService(store, chain.acceptance())
    service.set_reference_price(TOKEN, REF)
    return service


def settler_for(
    chain: MarketChain, service: MarketService, hook: object = None, max_batch: int = 40
) -> Settler:
    return Settler(
        service,
        chain.platform.market,
        Signer.dev(SETTLER_INDEX),
        chain.platform.decoder,
        max_batch=max_batch,
        hook=hook,  # type: ignore[arg-type]
    )


def fee(amount: int, price: int) -> int:
    return amount * price * FEE_BPS // 10_000


def balances(chain: MarketChain, *indexes: int) -> dict[str, tuple[int, int]]:
    accounts = [chain.trader(i) for i in indexes] + [chain.fee_recipient]
    return {a: (chain.msc(a), chain.credits(a)) for a in accounts}


def test_matched_fills_settle_in_one_batch_with_exact_balances(
    chain: MarketChain, store: MarketStore
) -> None:
    service = new_service(chain, store)
    buyer, sellers = 1, (2, 3, 4)
    chain.fund_msc(buyer, 100 * 121_000)
    for i, seller in enumerate(sellers):
        chain.give_credits(seller, 10 + i)
    before = balances(chain, buyer, *sellers)
    prices = (119_000, 120_000, 121_000)
    for seller, price, amount in zip(sellers, prices, (10, 11, 12), strict=True):
        service.submit(chain.sign(seller, Side.SELL, amount, price))
    sweep = service.submit(chain.sign(buyer, Side.BUY, 33, 121_000))
    assert [(f.amount, f.price) for f in sweep.fills] == [(10, 119_000), (11, 120_000), (12, 121_000)]

    block_before = chain.w3.eth.block_number
    report = settler_for(chain, service).run_once()

    assert len(report.batches) == 1 and chain.w3.eth.block_number == block_before + 1
    assert sorted(report.settled) == sorted(f.sequence for f in sweep.fills)
    after = balances(chain, buyer, *sellers)
    paid = sum(a * p for a, p in zip((10, 11, 12), prices, strict=True))
    fees = sum(fee(a, p) for a, p in zip((10, 11, 12), prices, strict=True))
    b = chain.trader(buyer)
    assert after[b] == (before[b][0] - paid, before[b][1] + 33)
    for seller, price, amount in zip(sellers, prices, (10, 11, 12), strict=True):
        s = chain.trader(seller)
        assert after[s] == (before[s][0] + amount * price - fee(amount, price), before[s][1] - amount)
    assert after[chain.fee_recipient][0] == before[chain.fee_recipient][0] + fees
    with store.sessions() as session:
        trades = session.scalars(select(MarketTrade).order_by(MarketTrade.fill_sequence)).all()
        assert [(t.amount, t.price, t.fee, t.buyer) for t in trades] == [
            (a, p, fee(a, p), b) for a, p in zip((10, 11, 12), prices, strict=True)
        ]
        assert {t.tx_hash for t in trades} == set(report.batches)
    order_hash = bytes.fromhex(sweep.order.order_id[2:])
    assert chain.platform.market.functions.filled(order_hash).call() == 33
    assert service.engine.pending_fills() == []


def test_a_fill_that_fails_on_chain_is_rolled_back_and_the_rest_settles(
    chain: MarketChain, store: MarketStore
) -> None:
    service = new_service(chain, store)
    buyer, sellers = 5, (2, 3, 4)
    chain.fund_msc(buyer, 30 * 120_000)
    for seller in sellers:
        chain.give_credits(seller, 10)
    makers = [service.submit(chain.sign(s, Side.SELL, 10, 120_000)).order.order_id for s in sellers]
    sweep = service.submit(chain.sign(buyer, Side.BUY, 30, 120_000))
    assert len(sweep.fills) == 3
    # Between match and settlement the middle seller moves its credits away.
    middle = chain.trader(3)
    held = chain.credits(middle)
    carbon = chain.platform.carbon.functions
    chain.send(carbon.safeTransferFrom(middle, chain.trader(7), TOKEN, held, b""), middle)
    before = balances(chain, buyer, 2, 3, 4)

    report = settler_for(chain, service).run_once()

    failed = sweep.fills[1]
    assert report.rolled_back == {failed.sequence: "ERC1155InsufficientBalance"}
    assert sorted(report.settled) == [sweep.fills[0].sequence, sweep.fills[2].sequence]
    assert len(report.batches) == 1
    after = balances(chain, buyer, 2, 3, 4)
    b = chain.trader(buyer)
    assert after[b] == (before[b][0] - 20 * 120_000, before[b][1] + 20)
    assert after[middle] == before[middle]
    for seller in (2, 4):
        s = chain.trader(seller)
        assert after[s] == (before[s][0] + 10 * 120_000 - fee(10, 120_000), before[s][1] - 10)
    with store.sessions() as session:
        rows = {f.sequence: f for f in session.scalars(select(MarketFill))}
        offender = session.get(MarketOrder, makers[1])
        assert offender is not None
        assert rows[failed.sequence].status == str(FillStatus.ROLLED_BACK)
        assert "ERC1155InsufficientBalance" in (rows[failed.sequence].error or "")
        assert (offender.status, offender.cancel_reason) == ("cancelled", "settlement_failed")
        assert "ERC1155InsufficientBalance" in (offender.settlement_error or "")
    # The offending seller is out of the book; nothing of this round is left pending.
    assert makers[1] not in list(service.open_order_ids())
    assert service.engine.pending_fills() == []
    assert chain.platform.market.functions.filled(bytes.fromhex(makers[1][2:])).call() == 0


@pytest.mark.parametrize("crash_at", ["recorded", "sent"])
def test_a_crash_mid_batch_is_resolved_from_the_receipt_without_settling_twice(
    chain: MarketChain, store: MarketStore, crash_at: str
) -> None:
    service = new_service(chain, store)
    chain.fund_msc(6, 8 * 120_000)
    chain.give_credits(2, 8)
    service.submit(chain.sign(2, Side.SELL, 8, 120_000))
    taker = service.submit(chain.sign(6, Side.BUY, 8, 120_000))
    before = balances(chain, 6, 2)
    settler_key = Signer.dev(SETTLER_INDEX).address
    sent_before = chain.w3.eth.get_transaction_count(settler_key)

    class CrashError(Exception):
        pass

    def crash(stage: str) -> None:
        if stage == crash_at:
            raise CrashError(stage)

    with pytest.raises(CrashError):
        settler_for(chain, service, crash).run_once()
    with store.sessions() as session:
        batch = session.scalars(select(SettlementBatch).order_by(SettlementBatch.id.desc())).first()
        assert batch is not None and batch.status == str(BatchStatus.PREPARED)
    if crash_at == "sent":  # it reached the node before the crash; let it be mined
        chain.w3.eth.wait_for_transaction_receipt(batch.tx_hash, timeout=30)
    mined_after_crash = chain.w3.eth.get_transaction_count(settler_key) - sent_before
    assert mined_after_crash == (1 if crash_at == "sent" else 0)

    restarted = new_service(chain, store)  # the process restarts: the book and batches come from SQL
    report = settler_for(chain, restarted).run_once()

    assert report.batches == [batch.tx_hash]
    assert chain.w3.eth.get_transaction_count(settler_key) - sent_before == 1  # one transaction, ever
    after = balances(chain, 6, 2)
    buyer, seller = chain.trader(6), chain.trader(2)
    assert after[buyer] == (before[buyer][0] - 8 * 120_000, before[buyer][1] + 8)
    assert after[seller] == (before[seller][0] + 8 * 120_000 - fee(8, 120_000), before[seller][1] - 8)
    assert chain.platform.market.functions.filled(bytes.fromhex(taker.order.order_id[2:])).call() == 8
    assert restarted.engine.pending_fills() == []
    assert settler_for(chain, restarted).run_once().batches == []


def test_a_batch_whose_nonce_was_taken_is_dropped_and_its_fills_settle_again(
    chain: MarketChain, store: MarketStore
) -> None:
    service = new_service(chain, store)
    chain.fund_msc(6, 5 * 120_000)
    chain.give_credits(4, 5)
    service.submit(chain.sign(4, Side.SELL, 5, 120_000))
    service.submit(chain.sign(6, Side.BUY, 5, 120_000))

    def crash(stage: str) -> None:
        if stage == "recorded":
            raise RuntimeError("killed before sending")

    with pytest.raises(RuntimeError):
        settler_for(chain, service, crash).run_once()
    # Another transaction from the settler's key takes the recorded batch's nonce.
    settler = Signer.dev(SETTLER_INDEX)
    w3 = chain.w3
    tx = {
        "to": settler.address,
        "value": 0,
        "gas": 21_000,
        "gasPrice": w3.eth.gas_price,
        "nonce": w3.eth.get_transaction_count(settler.address),
        "chainId": w3.eth.chain_id,
    }
    w3.eth.wait_for_transaction_receipt(
        w3.eth.send_raw_transaction(settler.sign_transaction(tx).raw_transaction)
    )
    before = balances(chain, 6, 4)

    report = settler_for(chain, new_service(chain, store)).run_once()

    with store.sessions() as session:
        statuses = [b.status for b in session.scalars(select(SettlementBatch).order_by(SettlementBatch.id))]
    assert statuses[-2:] == [str(BatchStatus.DROPPED), str(BatchStatus.SETTLED)]
    assert len(report.batches) == 1
    after = balances(chain, 6, 4)
    assert after[chain.trader(6)][1] == before[chain.trader(6)][1] + 5
    assert after[chain.trader(4)][1] == before[chain.trader(4)][1] - 5


def test_fills_beyond_the_batch_size_go_in_further_batches(chain: MarketChain, store: MarketStore) -> None:
    service = new_service(chain, store)
    chain.fund_msc(7, 3 * 120_000)
    for seller in (2, 3, 4):
        chain.give_credits(seller, 1)
        service.submit(chain.sign(seller, Side.SELL, 1, 120_000))
    sweep = service.submit(chain.sign(7, Side.BUY, 3, 120_000))
    with pytest.raises(ValueError, match="MAX_BATCH"):
        settler_for(chain, service, max_batch=101)

    report = settler_for(chain, service, max_batch=2).run_once()

    assert len(report.batches) == 2
    assert report.settled == [f.sequence for f in sweep.fills]
    with store.sessions() as session:
        per_batch = [
            session.scalars(select(MarketTrade.fill_sequence).where(MarketTrade.tx_hash == tx)).all()
            for tx in report.batches
        ]
    assert [len(b) for b in per_batch] == [2, 1]


def test_a_paused_market_blocks_the_round_without_rolling_anything_back(
    chain: MarketChain, store: MarketStore
) -> None:
    service = new_service(chain, store)
    chain.fund_msc(7, 2 * 120_000)
    chain.give_credits(3, 2)
    service.submit(chain.sign(3, Side.SELL, 2, 120_000))
    fills = service.submit(chain.sign(7, Side.BUY, 2, 120_000)).fills
    market = chain.platform.market.functions
    chain.send(market.pause())
    try:
        with pytest.raises(SettlementBlockedError, match="EnforcedPause"):
            settler_for(chain, service).run_once()
        assert service.engine.pending_fills() == fills  # nothing rolled back, nothing sent
    finally:
        chain.send(market.unpause())

    # The worker loop settles them once the market is open again.
    stop = threading.Event()
    worker = threading.Thread(target=settler_for(chain, service).run_forever, args=(stop, 0.05))
    worker.start()
    try:
        deadline = time.monotonic() + 30
        while service.engine.pending_fills() and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        worker.join(timeout=30)
    assert not worker.is_alive()
    assert service.engine.pending_fills() == []
    assert chain.credits(chain.trader(7)) >= 2


def test_a_failed_fill_puts_the_resting_maker_back_into_the_book(
    chain: MarketChain, store: MarketStore
) -> None:
    service = new_service(chain, store)
    chain.fund_msc(5, 10 * 119_000)
    chain.give_credits(6, 10)
    bid = service.submit(chain.sign(5, Side.BUY, 10, 119_000)).order.order_id
    depth_before = service.depth(TOKEN, 5)
    hit = service.submit(chain.sign(6, Side.SELL, 10, 119_000))
    assert [f.maker_order_id for f in hit.fills] == [bid]
    assert service.depth(TOKEN, 5)["bids"] != depth_before["bids"]
    seller = chain.trader(6)
    carbon = chain.platform.carbon.functions
    chain.send(carbon.safeTransferFrom(seller, chain.trader(7), TOKEN, chain.credits(seller), b""), seller)

    report = settler_for(chain, service).run_once()

    assert report.rolled_back == {hit.fills[0].sequence: "ERC1155InsufficientBalance"}
    assert report.batches == []  # nothing else was pending: no transaction at all
    assert service.depth(TOKEN, 5) == depth_before  # the buyer's bid rests again, whole, in its place
    restored = service.engine.order(bid)
    assert (restored.remaining, restored.filled, restored.status) == (10, 0, "open")
    with store.sessions() as session:
        taker = session.get(MarketOrder, hit.order.order_id)
        assert taker is not None and taker.status == "cancelled"
        assert "ERC1155InsufficientBalance" in (taker.settlement_error or "")
    # The restart sees the same book.
    assert new_service(chain, store).depth(TOKEN, 5) == depth_before
    service.cancel(bid)  # leave the module's book empty
