"""``/v1/market`` on a real anvil: submit, replay, cancel, my orders (only mine), book depth, trades,
candles, reference prices; every acceptance refusal (mis-signed, expired, stale nonce, no MSC or no
allowance, no credits or no operator approval, too large for a non-allowlisted trader, someone else's
address) is a clear 4xx and stores nothing; malformed input is a clear 4xx."""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from api.auth import issue_key
from api.market.service import build_market
from api.models import Role
from api.settings import ApiSettings
from chain.settings import ChainSettings
from common.sql.engine import create_engine_from_url, make_sessionmaker
from common.sql.migrate import upgrade
from market.models import MarketFill, MarketOrder
from market.orders import Side
from market.service import MarketService
from market.signed import SignedOrder
from market.store import MarketStore
from tests.api.support import bearer
from tests.market.market_chain import BUILD_DIR, REF, TOKEN, MarketChain, market_chain, order_body

PORT = 8761
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
BUYER, SELLER, PAUPER = 1, 2, 3


@dataclass
class Env:
    """The chain, the app's client, its database and one merchant key per trader index."""

    chain: MarketChain
    client: TestClient
    sessions: sessionmaker[Session]
    keys: dict[int, str]
    operator: str
    auditor: str

    def submit(self, index: int, order: SignedOrder) -> Any:
        return self.client.post("/v1/market/orders", json=order_body(order), headers=bearer(self.keys[index]))

    def rows(self) -> tuple[int, int]:
        with self.sessions() as session:
            orders = session.scalar(select(func.count()).select_from(MarketOrder)) or 0
            fills = session.scalar(select(func.count()).select_from(MarketFill)) or 0
        return orders, fills


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    folder = tmp_path_factory.mktemp("market-api")
    url = f"sqlite:///{folder / 'api.sqlite3'}"
    upgrade(url)
    engine = create_engine_from_url(url)
    sessions = make_sessionmaker(engine)
    with market_chain(PORT, folder) as chain:
        chain_settings = ChainSettings.from_env(
            {}, rpc_url=chain.node.url, build_dir=BUILD_DIR, deployments_dir=folder
        )
        app = create_app(ApiSettings.from_env({}, database_url=url), chain_settings=chain_settings)
        with TestClient(app, raise_server_exceptions=False) as client:
            app.state.market = MarketService(MarketStore(sessions), chain.acceptance())
            with sessions.begin() as session:
                operator = issue_key(session, Role.OPERATOR).secret
                auditor = issue_key(session, Role.AUDITOR).secret
            keys = {}
            for index in (BUYER, SELLER, PAUPER):
                made = client.post(
                    "/v1/merchants",
                    json={
                        "name": f"Trader {index}",
                        "kelurahan": "Taman",
                        "evm_address": chain.trader(index),
                        "pi_username": f"trader_{index}_{uuid.uuid4().hex[:6]}",
                    },
                    headers=bearer(operator),
                )
                assert made.status_code == 201, made.text
                keys[index] = made.json()["api_key"]
            put = client.put(f"/v1/market/references/{TOKEN}", json={"price": REF}, headers=bearer(operator))
            assert put.status_code == 204, put.text
            chain.fund_msc(BUYER, 10_000 * REF)
            chain.give_credits(SELLER, 2_000)
            yield Env(chain, client, sessions, keys, operator, auditor)
    engine.dispose()


def test_orders_match_and_show_in_book_trades_and_candles(env: Env) -> None:
    chain = env.chain
    sell = chain.sign(SELLER, Side.SELL, 10, 121_000)
    made = env.submit(SELLER, sell)
    assert made.status_code == 201, made.text
    assert made.json()["order"]["order_id"] == sell.order_hash
    assert chain.platform.market.functions.hashOrder(sell.as_tuple()).call().hex() == sell.order_hash[2:]
    book = env.client.get(f"/v1/market/books/{TOKEN}").json()
    assert book["asks"][0] == {"price": 121_000, "amount": 10, "orders": 1}

    buy = env.submit(BUYER, chain.sign(BUYER, Side.BUY, 4, 122_000))
    assert buy.status_code == 201, buy.text
    fills = buy.json()["fills"]
    assert [(f["amount"], f["price"], f["maker_order_id"]) for f in fills] == [(4, 121_000, sell.order_hash)]
    assert buy.json()["order"]["status"] == "filled"
    book = env.client.get(f"/v1/market/books/{TOKEN}", params={"levels": 1}).json()
    assert book["asks"] == [{"price": 121_000, "amount": 6, "orders": 1}]

    trades = env.client.get(f"/v1/market/trades/{TOKEN}").json()
    assert trades[0]["sequence"] == fills[0]["sequence"]
    assert (trades[0]["amount"], trades[0]["price"], trades[0]["status"]) == (4, 121_000, "pending")
    candles = env.client.get(f"/v1/market/candles/{TOKEN}", params={"interval": "1m"}).json()
    last = candles[-1]
    assert (last["close"], last["trades"]) == (121_000, 1) and last["volume"] >= 4

    before = env.rows()
    again = env.submit(SELLER, sell)
    assert again.status_code == 200 and again.json()["replayed"] is True
    assert again.json()["order"]["remaining"] == 6
    assert env.rows() == before


def test_my_orders_are_only_mine_and_cancel_is_mine_only(env: Env) -> None:
    chain = env.chain
    mine = env.submit(SELLER, chain.sign(SELLER, Side.SELL, 5, 140_000)).json()["order"]["order_id"]
    theirs = env.submit(BUYER, chain.sign(BUYER, Side.BUY, 5, 100_000)).json()["order"]["order_id"]

    listed = env.client.get("/v1/market/orders", headers=bearer(env.keys[SELLER])).json()
    assert mine in {o["order_id"] for o in listed}
    assert {o["trader"] for o in listed} == {chain.trader(SELLER)}
    open_only = env.client.get(
        "/v1/market/orders", params={"status": "open"}, headers=bearer(env.keys[BUYER])
    ).json()
    assert [o["order_id"] for o in open_only] == [theirs]

    assert env.client.get(f"/v1/market/orders/{theirs}", headers=bearer(env.keys[SELLER])).status_code == 404
    assert (
        env.client.delete(f"/v1/market/orders/{theirs}", headers=bearer(env.keys[SELLER])).status_code == 404
    )
    cancelled = env.client.delete(f"/v1/market/orders/{mine}", headers=bearer(env.keys[SELLER]))
    assert cancelled.status_code == 200
    assert (cancelled.json()["status"], cancelled.json()["cancelled"]) == ("cancelled", 5)
    twice = env.client.delete(f"/v1/market/orders/{mine}", headers=bearer(env.keys[SELLER]))
    assert (twice.status_code, twice.json()["error"]) == (409, "order_not_open")
    assert (
        env.client.delete(f"/v1/market/orders/{theirs}", headers=bearer(env.keys[BUYER])).status_code == 200
    )


def test_acceptance_refuses_orders_that_cannot_settle_and_stores_nothing(env: Env) -> None:
    chain = env.chain
    market = chain.platform.market.functions
    now = int(time.time())
    cases: list[tuple[int, SignedOrder, int, str]] = [
        (BUYER, chain.sign(BUYER, Side.BUY, 1, REF, key_index=PAUPER), 422, "order_signature_invalid"),
        (BUYER, chain.sign(BUYER, Side.BUY, 1, REF, expiry=now - 5), 422, "order_expired"),
        (BUYER, chain.sign(BUYER, Side.BUY, 1, REF, nonce=1), 409, "order_nonce_stale"),
        (PAUPER, chain.sign(PAUPER, Side.BUY, 1, REF), 409, "insufficient_funds"),
        (PAUPER, chain.sign(PAUPER, Side.SELL, 1, REF), 409, "insufficient_funds"),
        (SELLER, chain.sign(SELLER, Side.SELL, 1_001, REF), 403, "market_not_allowlisted"),
        (BUYER, chain.sign(SELLER, Side.SELL, 1, REF), 403, "trader_mismatch"),
    ]
    canonical = chain.sign(BUYER, Side.BUY, 1, REF)
    raw = bytes.fromhex(canonical.signature[2:])
    high_s = (SECP256K1_N - int.from_bytes(raw[32:64])).to_bytes(32)
    malleated = raw[:32] + high_s + bytes([55 - raw[64]])  # the same signer's other, non-canonical form
    zero_v = raw[:64] + bytes([raw[64] - 27])
    for form in (malleated, zero_v):
        cases.append(
            (
                BUYER,
                dataclasses.replace(canonical, signature="0x" + form.hex()),
                422,
                "order_signature_invalid",
            )
        )
    before = env.rows()
    for index, order, status, code in cases:
        answer = env.submit(index, order)
        assert (answer.status_code, answer.json()["error"]) == (status, code), answer.text
        assert answer.json()["message"]
    # MSC held but not approved to the market, credits held but the market not an approved operator.
    chain.send(chain.platform.msc.functions.mint(chain.trader(PAUPER), 5 * REF))
    chain.give_credits(PAUPER, 5, approve=False)
    for side in (Side.BUY, Side.SELL):
        answer = env.submit(PAUPER, chain.sign(PAUPER, side, 1, REF))
        assert (answer.status_code, answer.json()["error"]) == (409, "insufficient_funds"), answer.text
    assert env.rows() == before
    assert market.isAllowlisted(chain.trader(SELLER)).call() is False

    # The large order is accepted once the seller is allowlisted (the refusal was the allowlist).
    chain.send(market.setAllowlisted(chain.trader(SELLER), True))
    large = env.submit(SELLER, chain.sign(SELLER, Side.SELL, 1_001, 143_000))
    assert large.status_code == 201, large.text
    assert (
        env.client.delete(
            f"/v1/market/orders/{large.json()['order']['order_id']}", headers=bearer(env.keys[SELLER])
        ).status_code
        == 200
    )


def test_a_buyer_cannot_commit_the_same_msc_twice(env: Env) -> None:
    chain = env.chain
    chain.fund_msc(PAUPER, 10 * 100_000)
    first = env.submit(PAUPER, chain.sign(PAUPER, Side.BUY, 6, 100_000))
    assert first.status_code == 201, first.text
    second = env.submit(PAUPER, chain.sign(PAUPER, Side.BUY, 6, 100_000))
    assert (second.status_code, second.json()["error"]) == (409, "insufficient_funds")
    assert second.json()["details"]["needed"] == 12 * 100_000
    env.client.delete(
        f"/v1/market/orders/{first.json()['order']['order_id']}", headers=bearer(env.keys[PAUPER])
    )


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        (lambda b: b["order"].update(amount=-1), 422, "validation_error"),
        (lambda b: b["order"].update(side="hold"), 422, "validation_error"),
        (lambda b: b.update(signature="0x1234"), 422, "validation_error"),
        (lambda b: b["order"].update(trader="0x12"), 422, "validation_error"),
        (lambda b: b["order"].update(price=REF * 2), 422, "price_band"),
        (lambda b: b["order"].update(extra=1), 422, "validation_error"),
    ],
)
def test_bad_input_is_a_clear_4xx(env: Env, change: Any, status: int, code: str) -> None:
    data = order_body(env.chain.sign(BUYER, Side.BUY, 1, REF))
    change(data)
    if code == "price_band":  # a valid signature over the out-of-band terms
        data = order_body(env.chain.sign(BUYER, Side.BUY, 1, REF * 2))
    before = env.rows()
    answer = env.client.post("/v1/market/orders", json=data, headers=bearer(env.keys[BUYER]))
    assert (answer.status_code, answer.json()["error"]) == (status, code), answer.text
    assert env.rows() == before


def test_auth_and_malformed_paths_are_clear_4xx(env: Env) -> None:
    data = order_body(env.chain.sign(BUYER, Side.BUY, 1, REF))
    client = env.client
    assert client.post("/v1/market/orders", json=data).status_code == 401
    assert client.post("/v1/market/orders", json=data, headers=bearer(env.auditor)).status_code == 403
    assert client.get("/v1/market/orders/0x12", headers=bearer(env.keys[BUYER])).status_code == 422
    assert client.get(f"/v1/market/candles/{TOKEN}", params={"interval": "7m"}).status_code == 422
    assert client.get("/v1/market/books/-1").status_code == 422
    put = client.put(f"/v1/market/references/{TOKEN}", json={"price": REF}, headers=bearer(env.keys[BUYER]))
    assert put.status_code == 403
    unknown = client.get("/v1/market/orders/0x" + "ab" * 32, headers=bearer(env.keys[BUYER]))
    assert (unknown.status_code, unknown.json()["error"]) == (404, "unknown_order")


def test_the_app_builds_its_market_from_chain_settings(env: Env, tmp_path: Any) -> None:
    settings = ChainSettings.from_env(
        {},
        rpc_url=env.chain.node.url,
        build_dir=BUILD_DIR,
        deployments_dir=env.chain.deployment_file.parent,
    )
    service = build_market(env.sessions, settings)
    assert service.acceptance is not None
    assert service.acceptance.market_address == env.chain.platform.market.address
    assert list(service.open_order_ids()) == list(env.client.app.state.market.open_order_ids())  # type: ignore[attr-defined]


def test_without_a_deployment_the_market_answers_503(env: Env, tmp_path: Any) -> None:
    settings = ChainSettings.from_env(
        {}, rpc_url=env.chain.node.url, build_dir=BUILD_DIR, deployments_dir=tmp_path
    )
    app = create_app(
        ApiSettings.from_env({}, database_url=str(env.sessions.kw["bind"].url)), chain_settings=settings
    )
    with pytest.MonkeyPatch.context() as patch, TestClient(app, raise_server_exceptions=False) as client:
        patch.setenv("MSC_DEPLOYMENTS_DIR", str(tmp_path))
        patch.setenv("MSC_RPC_URL", env.chain.node.url)
        answer = client.get(f"/v1/market/books/{TOKEN}")
    assert (answer.status_code, answer.json()["error"]) == (503, "market_unavailable")
