"""End to end on anvil and PostgreSQL: two traders sign orders with their own keys, submit them through
the HTTP API, the orders match, the settler settles the fills on-chain in one ``settleBatch``, the
indexer mirrors the chain into the same database, and the mirror's MSC balances (``token_balances``)
and carbon balances (``carbon_balances``) equal both the chain's answers and the amounts expected from
the prices, the fee and the tonnes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.app import create_app
from api.auth import issue_key
from api.models import Role
from api.settings import ApiSettings
from chain.settings import ChainSettings
from chain.signer import Signer
from common.sql.engine import create_engine_from_url, make_sessionmaker
from common.sql.migrate import upgrade
from indexer.cli import build_pipeline
from indexer.models import CarbonBalance, TokenBalance
from indexer.settings import IndexerSettings
from market.orders import Side
from market.service import MarketService
from market.settler import Settler
from market.store import MarketStore
from tests.api.support import bearer
from tests.market.market_chain import (
    BUILD_DIR,
    REF,
    SETTLER_INDEX,
    TOKEN,
    MarketChain,
    market_chain,
    order_body,
)

PORT = 8762
BUYER, SELLER = 1, 2
FEE_BPS = 25


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MarketChain]:
    with market_chain(PORT, tmp_path_factory.mktemp("e2e-chain")) as c:
        yield c


def test_two_traders_trade_through_the_api_and_the_mirror_matches_the_chain(
    chain: MarketChain, pg_schema_factory: object
) -> None:
    url = pg_schema_factory()  # type: ignore[operator]
    upgrade(url)
    engine = create_engine_from_url(url)
    sessions = make_sessionmaker(engine)
    chain_settings = ChainSettings.from_env(
        {}, rpc_url=chain.node.url, build_dir=BUILD_DIR, deployments_dir=chain.deployment_file.parent
    )
    app = create_app(ApiSettings.from_env({}, database_url=url), chain_settings=chain_settings)
    buyer, seller = chain.trader(BUYER), chain.trader(SELLER)
    chain.fund_msc(BUYER, 100 * REF)
    chain.give_credits(SELLER, 80)
    start_msc = {a: chain.msc(a) for a in (buyer, seller, chain.fee_recipient)}
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            market = app.state.market = MarketService(MarketStore(sessions), chain.acceptance())
            with sessions.begin() as session:
                operator = issue_key(session, Role.OPERATOR).secret
            keys = {}
            for index in (BUYER, SELLER):
                made = client.post(
                    "/v1/merchants",
                    json={
                        "name": f"Trader {index}",
                        "kelurahan": "Oro-oro Ombo",
                        "evm_address": chain.trader(index),
                        "pi_username": f"e2e_{index}_{uuid.uuid4().hex[:6]}",
                    },
                    headers=bearer(operator),
                )
                assert made.status_code == 201, made.text
                keys[index] = made.json()["api_key"]
            ref = client.put(f"/v1/market/references/{TOKEN}", json={"price": REF}, headers=bearer(operator))
            assert ref.status_code == 204

            for amount, price in ((50, 118_000), (30, 123_000)):
                order = chain.sign(SELLER, Side.SELL, amount, price)
                sent = client.post("/v1/market/orders", json=order_body(order), headers=bearer(keys[SELLER]))
                assert sent.status_code == 201, sent.text
            bid = chain.sign(BUYER, Side.BUY, 60, 123_000)
            taken = client.post("/v1/market/orders", json=order_body(bid), headers=bearer(keys[BUYER]))
            assert taken.status_code == 201, taken.text
            assert [(f["amount"], f["price"]) for f in taken.json()["fills"]] == [
                (50, 118_000),
                (10, 123_000),
            ]

            report = Settler(
                market, chain.platform.market, Signer.dev(SETTLER_INDEX), chain.platform.decoder
            ).run_once()
            assert len(report.batches) == 1 and len(report.settled) == 2

            trades = client.get(f"/v1/market/trades/{TOKEN}").json()
            assert [(t["amount"], t["status"], t["tx_hash"]) for t in trades] == [
                (10, "settled", report.batches[0]),
                (50, "settled", report.batches[0]),
            ]
            book = client.get(f"/v1/market/books/{TOKEN}").json()
            assert book["asks"] == [{"price": 123_000, "amount": 20, "orders": 1}] and book["bids"] == []

        indexer = IndexerSettings(
            database_url=url,
            rpc_url=chain.node.url,
            deployment_file=chain.deployment_file,
            build_dir=BUILD_DIR,
            rpc_backoff_s=0.01,
        )
        build_pipeline(indexer).run(follow=False)

        notional = 50 * 118_000 + 10 * 123_000
        fee = 50 * 118_000 * FEE_BPS // 10_000 + 10 * 123_000 * FEE_BPS // 10_000
        expected_msc = {
            buyer: start_msc[buyer] - notional,
            seller: start_msc[seller] + notional - fee,
            chain.fee_recipient: start_msc[chain.fee_recipient] + fee,
        }
        expected_credits = {buyer: 60, seller: 20}
        msc_address = chain.platform.msc.address.lower()
        carbon_address = chain.platform.carbon.address.lower()
        with sessions() as session:
            mirrored_msc = {
                r.account: r.balance
                for r in session.scalars(select(TokenBalance).where(TokenBalance.token == msc_address))
            }
            mirrored_credits = {
                r.holder: r.balance
                for r in session.scalars(
                    select(CarbonBalance).where(
                        CarbonBalance.carbon == carbon_address, CarbonBalance.token_id == TOKEN
                    )
                )
            }
        for account, amount in expected_msc.items():
            assert chain.msc(account) == amount
            assert mirrored_msc.get(account.lower(), 0) == amount, account
        for account, tonnes in expected_credits.items():
            assert chain.credits(account) == tonnes
            assert mirrored_credits.get(account.lower(), 0) == tonnes, account

        # The public explorer lists the vintage's trades from the mirror, exact to the sen.
        with TestClient(app, raise_server_exceptions=False) as client:
            exported = client.get(f"/explorer/export/trades.json?token_id={TOKEN}&sort=price&dir=asc")
            assert exported.status_code == 200, exported.text
            rows = exported.json()["rows"]
            mine = client.get(f"/explorer/export/trades.json?address={seller}").json()["rows"]
        assert [(r["tonnes"], r["price"], r["notional"], r["fee"]) for r in rows] == [
            (50, 118_000, 50 * 118_000, 50 * 118_000 * FEE_BPS // 10_000),
            (10, 123_000, 10 * 123_000, 10 * 123_000 * FEE_BPS // 10_000),
        ]
        assert {(r["buyer"], r["seller"], r["tx"]) for r in rows} == {
            (buyer.lower(), seller.lower(), report.batches[0].lower())
        }
        assert sorted((r["tonnes"], r["price"]) for r in mine) == [(10, 123_000), (50, 118_000)]
    finally:
        engine.dispose()
