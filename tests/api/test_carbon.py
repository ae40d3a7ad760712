"""``/v1/carbon`` on a real anvil: credits read from the chain and then from the indexer's mirror,
a holder's EIP-712 signed retirement relayed end to end (balance and certificate checked on chain),
and every refusal answered 4xx with the contract's custom-error name and nothing sent.

The platform is deployed once per module on anvil (port 8730); each backend (SQLite, PostgreSQL)
gets its own migrated database and app, so the mirror of one never shows in the other.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from web3 import Web3

from api.app import create_app
from api.auth import issue_key
from api.carbon.service import CarbonGateway
from api.idempotency import Idempotency
from api.models import Role
from api.settings import ApiSettings
from chain.deploy import DeployPlan, deploy_platform
from chain.deployments import Deployment
from chain.eip712 import carbon_domain, retirement
from chain.localnode import AnvilNode
from chain.platform import Platform
from chain.settings import PROJECT_ROOT, ChainSettings
from chain.signer import Signer
from common.sql.engine import create_engine_from_url, make_sessionmaker
from common.sql.migrate import upgrade
from indexer.cli import build_pipeline
from indexer.settings import IndexerSettings

PORT = 8730
BUILD = PROJECT_ROOT / "build"
HOLDER, OTHER, RELAYER = 5, 6, 1
YEAR = 2025
ISSUED = 500
CUSTODY = 100
DOCS = b"Laporan verifikasi mangrove Madiun 2025"
DOCS_CID = "bafkreigg2xdocsdocsdocsdocsdocsdocsdocsdocsdocsdocsdocsdo"
META_CID = "bafkreiadfpmetametametametametametametametametametametame"
PERIOD = (1_735_689_600, 1_767_225_599)  # 2025


@dataclass
class CarbonChain:
    """The deployed platform with one registered project, a verified and issued vintage."""

    node: AnvilNode
    platform: Platform
    deployment: Deployment
    deployment_file: Path
    token_id: int

    @property
    def w3(self) -> Web3:
        return self.platform.w3


def seed_carbon(platform: Platform) -> int:
    """Registers a mangrove project, verifies its 2025 vintage (1,200 t) and issues 500 t to the holder
    and 100 t to the platform's custody account (the relayer)."""
    w3, carbon = platform.w3, platform.carbon
    owner = w3.eth.accounts[0]

    def send(fn: Any) -> None:
        receipt = w3.eth.wait_for_transaction_receipt(fn.transact({"from": owner}))
        assert receipt["status"] == 1

    send(carbon.functions.registerProject("SRN-PPI-MGV-0042", 1, 2, "Kab. Madiun, Jawa Timur"))
    token_id = int(carbon.functions.tokenIdOf(1, YEAR).call())
    send(carbon.functions.verifyVintage(1, YEAR, 1_200, hashlib.sha256(DOCS).digest(), DOCS_CID, META_CID))
    send(carbon.functions.issue(token_id, Signer.dev(HOLDER).address, ISSUED))
    send(carbon.functions.issue(token_id, Signer.dev(RELAYER).address, CUSTODY))
    return token_id


def deploy_carbon_chain(port: int, folder: Path) -> Iterator[CarbonChain]:
    """Starts anvil on ``port``, deploys and seeds the platform; stops anvil when closed."""
    with AnvilNode(port=port) as node:
        w3 = Web3(Web3.HTTPProvider(node.url, request_kwargs={"timeout": 60}))
        out = folder / "development.json"
        deployment = deploy_platform(w3, BUILD, DeployPlan(w3.eth.accounts[0]), out)
        platform = Platform(w3, deployment, BUILD)
        yield CarbonChain(node, platform, deployment, out, seed_carbon(platform))


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CarbonChain]:
    yield from deploy_carbon_chain(PORT, tmp_path_factory.mktemp("carbon-chain"))


@dataclass
class App:
    client: TestClient
    url: str
    key: str


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def app(
    request: pytest.FixtureRequest, chain: CarbonChain, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[App]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('carbon-api') / 'api.sqlite3'}"
    else:
        url = request.getfixturevalue("pg_schema_factory")()
    upgrade(url)
    engine = create_engine_from_url(url)
    with make_sessionmaker(engine).begin() as session:
        key = issue_key(session, Role.OPERATOR).secret
    engine.dispose()
    settings = ApiSettings.from_env({}, database_url=url)
    chain_settings = ChainSettings.from_env(
        {}, rpc_url=chain.node.url, build_dir=BUILD, deployments_dir=chain.deployment_file.parent
    )
    api = create_app(settings, chain_settings=chain_settings)
    api.state.carbon = CarbonGateway(chain.platform, Signer.dev(RELAYER))
    with TestClient(api, raise_server_exceptions=False) as client:
        yield App(client, url, key)


def index(chain: CarbonChain, db_url: str) -> None:
    """Backfills the indexer's mirror of the chain up to its head."""
    settings = IndexerSettings.from_env(
        {},
        database_url=db_url,
        rpc_url=chain.node.url,
        deployment_file=chain.deployment_file,
        build_dir=BUILD,
    )
    pipeline = build_pipeline(settings)
    try:
        pipeline.run(follow=False)
    finally:
        pipeline.engine.dispose()


def signed_body(
    chain: CarbonChain,
    *,
    signer: int = HOLDER,
    tonnes: int = 20,
    deadline: int | None = None,
    name: str = "Warung Pecel Bu Sri",
    period: tuple[int, int] = PERIOD,
) -> dict[str, Any]:
    """A retirement of the holder's credits, signed by dev account ``signer``, as the API takes it."""
    holder = Signer.dev(HOLDER).address
    beneficiary = Signer.dev(7).address
    deadline = deadline if deadline is not None else int(time.time()) + 3600
    r = (holder, chain.token_id, tonnes, beneficiary, name, "Offset listrik warung 2025", *period)
    carbon = chain.platform.carbon
    nonce = carbon.functions.nonces(holder).call()
    domain = carbon_domain(chain.deployment.chain_id, carbon.address)
    signature = Signer.dev(signer).sign_typed_data(retirement(domain, r, nonce, deadline)).signature
    return {
        "holder": holder,
        "token_id": chain.token_id,
        "tonnes": tonnes,
        "beneficiary": beneficiary,
        "beneficiary_name": name,
        "reason": "Offset listrik warung 2025",
        "period_start": period[0],
        "period_end": period[1],
        "deadline": deadline,
        "signature": "0x" + bytes(signature).hex(),
        "acknowledge_public_beneficiary": True,
    }


def balance(chain: CarbonChain, account: int = HOLDER) -> int:
    """Credits of the vintage that dev account ``account`` holds, on chain."""
    return int(chain.platform.carbon.functions.balanceOf(Signer.dev(account).address, chain.token_id).call())


def held(chain: CarbonChain) -> int:
    """Credits of the vintage held by anyone (the holder and the custody account are the only ones)."""
    return balance(chain) + balance(chain, RELAYER)


def auth(app: App) -> dict[str, str]:
    return {"Authorization": f"Bearer {app.key}"}


def test_credits_are_read_from_the_chain_until_the_mirror_has_them(app: App, chain: CarbonChain) -> None:
    response = app.client.get("/v1/carbon/credits")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["source"] == "chain"
    (vintage,) = body["vintages"]
    on_chain = chain.platform.carbon.functions.vintage(chain.token_id).call()
    assert vintage["token_id"] == chain.token_id == (1 << 16) | YEAR
    assert vintage["project"] == {
        "project_key": 1,
        "registry_id": "SRN-PPI-MGV-0042",
        "project_type": "mangrove",
        "standard": "srn_ppi",
        "location": "Kab. Madiun, Jawa Timur",
    }
    assert (vintage["verified_tonnes"], vintage["issued"], vintage["retired"]) == tuple(on_chain[3:6])
    assert vintage["available"] == vintage["issued"] - vintage["retired"] == held(chain)
    assert vintage["documents_sha256"] == "0x" + hashlib.sha256(DOCS).hexdigest()
    assert vintage["metadata_uri"] == f"ipfs://{META_CID}"
    one = app.client.get(f"/v1/carbon/credits/{chain.token_id}").json()
    assert one == {**vintage, "source": "chain"}


def test_a_signed_retirement_is_relayed_and_its_certificate_is_on_chain_and_in_the_mirror(
    app: App, chain: CarbonChain
) -> None:
    holder = Signer.dev(HOLDER).address
    before = balance(chain)
    nonce = app.client.get(f"/v1/carbon/retirements/nonce/{holder}").json()
    assert nonce["nonce"] == chain.platform.carbon.functions.nonces(holder).call()
    assert nonce["domain"]["verifyingContract"] == chain.platform.carbon.address

    body = signed_body(chain, tonnes=20)
    response = app.client.post(
        "/v1/carbon/retirements", json=body, headers={**auth(app), "Idempotency-Key": "r1"}
    )
    assert response.status_code == 201, response.text
    relayed = response.json()
    assert balance(chain) == before - 20
    certificate = chain.platform.carbon.functions.certificate(relayed["certificate_id"]).call()
    assert tuple(certificate[0:2]) == (chain.token_id, 20)
    assert list(certificate[5:9]) == [holder, body["beneficiary"], body["beneficiary_name"], body["reason"]]
    receipt = chain.w3.eth.get_transaction_receipt(relayed["tx_hash"])
    assert receipt["from"] == Signer.dev(RELAYER).address  # the platform paid the gas
    replay = app.client.post(
        "/v1/carbon/retirements", json=body, headers={**auth(app), "Idempotency-Key": "r1"}
    )
    assert replay.json() == relayed and replay.headers["Idempotent-Replayed"] == "true"
    assert balance(chain) == before - 20

    read = app.client.get(f"/v1/carbon/certificates/{relayed['certificate_id']}").json()
    assert (read["source"], read["tonnes"], read["beneficiary_name"], read["retired_at"]) == (
        "chain",
        20,
        body["beneficiary_name"],
        certificate[2],  # the contract's retiredAt
    )
    assert read["metadata_uri"] == f"ipfs://{META_CID}"

    index(chain, app.url)
    mirrored = app.client.get(f"/v1/carbon/certificates/{relayed['certificate_id']}").json()
    assert mirrored["source"] == "mirror"
    assert mirrored["tx_hash"] == relayed["tx_hash"]
    assert (
        mirrored["retired_at"]
        == certificate[2]
        == chain.w3.eth.get_block(receipt["blockNumber"])["timestamp"]
    )
    assert {k: mirrored[k] for k in ("tonnes", "beneficiary", "beneficiary_name", "metadata_uri")} == {
        k: read[k] for k in ("tonnes", "beneficiary", "beneficiary_name", "metadata_uri")
    }
    credits = app.client.get("/v1/carbon/credits").json()
    assert credits["source"] == "mirror"
    (vintage,) = credits["vintages"]
    assert vintage["retired"] == chain.platform.carbon.functions.vintage(chain.token_id).call()[5]
    assert vintage["available"] == held(chain)


def _refused(
    app: App,
    chain: CarbonChain,
    body: dict[str, Any],
    path: str = "/v1/carbon/retirements",
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    relayer = Web3.to_checksum_address(Signer.dev(RELAYER).address)
    sent_before = chain.w3.eth.get_transaction_count(relayer)
    block_before, held_before = chain.w3.eth.block_number, held(chain)
    response = app.client.post(path, json=body, headers=headers or auth(app))
    assert chain.w3.eth.get_transaction_count(relayer) == sent_before  # the dry run refused it: nothing sent
    assert (chain.w3.eth.block_number, held(chain)) == (block_before, held_before)
    assert 400 <= response.status_code < 500, response.text
    result: dict[str, Any] = response.json()
    return result


@pytest.mark.parametrize(
    ("change", "error_name"),
    [
        ({"deadline": 1_000_000}, "CarbonSignatureExpired"),
        ({"signer": OTHER}, "CarbonInvalidSignature"),
        ({"tonnes": 10_000}, "ERC1155InsufficientBalance"),
    ],
)
def test_a_bad_signed_retirement_is_refused_with_the_contracts_error_and_nothing_is_sent(
    app: App, chain: CarbonChain, change: dict[str, Any], error_name: str
) -> None:
    body = signed_body(chain, **change)
    error = _refused(app, chain, body)
    assert (error["error"], error["details"]["error_name"]) == ("contract_reverted", error_name)


def test_a_malformed_or_tampered_signature_is_refused_with_the_contracts_error(
    app: App, chain: CarbonChain
) -> None:
    body = signed_body(chain)
    short = _refused(app, chain, {**body, "signature": "0x" + "ab" * 10})
    assert short["details"]["error_name"] == "CarbonInvalidSignature"
    tampered = _refused(app, chain, {**body, "beneficiary_name": "Someone Else"})
    assert tampered["details"]["error_name"] == "CarbonInvalidSignature"


@pytest.mark.parametrize(
    "change",
    [
        {"acknowledge_public_beneficiary": False},
        {"acknowledge_public_beneficiary": None},
        {"signature": "0xnothex"},
        {"tonnes": 0},
        {"holder": "0x123"},
        {"period_end": PERIOD[0] - 1},
    ],
)
def test_a_malformed_request_is_422_before_the_chain(
    app: App, chain: CarbonChain, change: dict[str, Any]
) -> None:
    body = {**signed_body(chain), **change}
    body = {k: v for k, v in body.items() if v is not None}
    error = _refused(app, chain, body)
    assert error["error"] == "validation_error"


def test_the_schema_warns_that_beneficiary_names_are_public_forever(app: App) -> None:
    schema = app.client.get("/openapi.json").json()["components"]["schemas"]["RetirementCreate"]
    assert "public blockchain" in schema["properties"]["beneficiary_name"]["description"]
    assert schema["properties"]["acknowledge_public_beneficiary"]["const"] is True
    assert "acknowledge_public_beneficiary" in schema["required"]


def test_unknown_ids_are_404_and_relaying_needs_a_key(app: App, chain: CarbonChain) -> None:
    assert (
        app.client.get(f"/v1/carbon/credits/{chain.token_id + 1}").json()["error"]
        == "carbon_vintage_not_found"
    )
    missing = app.client.get("/v1/carbon/certificates/999999")
    assert (missing.status_code, missing.json()["error"]) == (404, "carbon_certificate_not_found")
    assert app.client.post("/v1/carbon/retirements", json=signed_body(chain)).status_code == 401


def custodial_body(tonnes: int) -> dict[str, Any]:
    return {
        "token_id": (1 << 16) | YEAR,
        "tonnes": tonnes,
        "beneficiary": Signer.dev(8).address,
        "beneficiary_name": "Koperasi Tani Madiun",
        "reason": "Offset pupuk 2025",
        "period_start": PERIOD[0],
        "period_end": PERIOD[1],
        "acknowledge_public_beneficiary": True,
    }


def test_an_operator_retires_custodial_credits_from_the_platforms_account(
    app: App, chain: CarbonChain
) -> None:
    before = balance(chain, RELAYER)
    response = app.client.post(
        "/v1/carbon/retirements/custodial",
        json=custodial_body(30),
        headers={**auth(app), "Idempotency-Key": "c1"},
    )
    assert response.status_code == 201, response.text
    relayed = response.json()
    assert relayed["holder"] == Signer.dev(RELAYER).address
    assert balance(chain, RELAYER) == before - 30
    certificate = chain.platform.carbon.functions.certificate(relayed["certificate_id"]).call()
    assert (certificate[1], certificate[5], certificate[7]) == (30, relayed["holder"], "Koperasi Tani Madiun")

    too_much = _refused(app, chain, custodial_body(10_000), "/v1/carbon/retirements/custodial")
    assert too_much["details"]["error_name"] == "ERC1155InsufficientBalance"


def test_custodial_retirement_is_for_operators_only(app: App, chain: CarbonChain) -> None:
    engine = create_engine_from_url(app.url)
    with make_sessionmaker(engine).begin() as session:
        auditor = issue_key(session, Role.AUDITOR).secret
    engine.dispose()
    error = _refused(
        app,
        chain,
        custodial_body(1),
        "/v1/carbon/retirements/custodial",
        {"Authorization": f"Bearer {auditor}"},
    )
    assert error["error"] == "forbidden"


def _served_typed_data(app: App, contract: str, primary: str, message: dict[str, Any]) -> dict[str, Any]:
    """What a wallet builds from ``GET /v1/wallets/contracts`` alone: the served domain and types."""
    served = app.client.get("/v1/wallets/contracts").json()
    return {
        "types": served["eip712_types"][contract],
        "primaryType": primary,
        "domain": served["eip712_domains"][contract],
        "message": message,
    }


def _onchain_domain(contract: Any) -> dict[str, Any]:
    """The domain the contract itself signs with (ERC-5267 ``eip712Domain()``)."""
    _fields, name, version, chain_id, verifying, _salt, _ext = contract.functions.eip712Domain().call()
    return {"name": name, "version": version, "chainId": chain_id, "verifyingContract": verifying}


def test_a_retirement_signed_from_the_served_domain_and_types_is_accepted_by_the_contract(
    app: App, chain: CarbonChain
) -> None:
    carbon = chain.platform.carbon
    served = app.client.get("/v1/wallets/contracts").json()
    assert served["eip712_domains"]["CarbonCredits"] == _onchain_domain(carbon)
    assert set(served["eip712_types"]["CarbonCredits"]) == {"EIP712Domain", "Retirement"}
    holder = Signer.dev(HOLDER).address
    deadline = int(time.time()) + 3600
    message = {
        "holder": holder,
        "tokenId": chain.token_id,
        "tonnes": 3,
        "beneficiary": Signer.dev(7).address,
        "beneficiaryName": "Sekolah Dasar Taman",
        "reason": "Offset from the served domain",
        "periodStart": PERIOD[0],
        "periodEnd": PERIOD[1],
        "nonce": carbon.functions.nonces(holder).call(),
        "deadline": deadline,
    }
    typed = _served_typed_data(app, "CarbonCredits", "Retirement", message)
    signature = Signer.dev(HOLDER).sign_typed_data(typed).signature
    before = balance(chain)
    body = {
        "holder": holder,
        "token_id": chain.token_id,
        "tonnes": 3,
        "beneficiary": message["beneficiary"],
        "beneficiary_name": message["beneficiaryName"],
        "reason": message["reason"],
        "period_start": PERIOD[0],
        "period_end": PERIOD[1],
        "deadline": deadline,
        "signature": "0x" + bytes(signature).hex(),
        "acknowledge_public_beneficiary": True,
    }
    relayed = app.client.post("/v1/carbon/retirements", json=body, headers=auth(app))
    assert relayed.status_code == 201, relayed.text  # the contract's retireWithSig verified it
    assert balance(chain) == before - 3


def test_an_order_signed_from_the_served_domain_and_types_is_what_the_market_verifies(
    app: App, chain: CarbonChain
) -> None:
    from eth_account import Account
    from eth_account.messages import encode_typed_data

    from market.acceptance import OrderAcceptance
    from market.orders import Side
    from market.signed import SignedOrder

    market = chain.platform.market
    served = app.client.get("/v1/wallets/contracts").json()
    assert served["eip712_domains"]["CarbonMarket"] == _onchain_domain(market)
    trader = Signer.dev(5)
    terms = (trader.address, 1, chain.token_id, 4, 125_000, int(time.time()) + 3600, 99, 0)
    names = ["trader", "side", "tokenId", "amount", "price", "expiry", "salt", "nonce"]
    typed = _served_typed_data(app, "CarbonMarket", "Order", dict(zip(names, terms, strict=True)))
    signable = encode_typed_data(full_message=typed)
    # The struct hash is the contract's hashOrder of the same terms: the served types are the contract's.
    assert signable.body == market.functions.hashOrder(terms).call()
    signature = bytes(trader.sign_typed_data(typed).signature)
    assert Account.recover_message(signable, signature=signature) == trader.address
    signed = SignedOrder(
        trader=trader.address,
        side=Side.SELL,
        token_id=chain.token_id,
        amount=4,
        price=125_000,
        expiry=terms[5],
        salt=99,
        nonce=0,
        signature="0x" + signature.hex(),
    )
    acceptance = OrderAcceptance(
        market,
        chain.platform.msc,
        chain.platform.carbon,
        chain.deployment.chain_id,
        lambda: int(time.time()),
    )
    acceptance.check_terms(signed)  # the platform's own verifier accepts the signature


# ---------------------------------------------------------------- write-ahead retirements


def _relay_rows(app: App) -> list[dict[str, Any]]:
    """The carbon_relays rows of the app's database, oldest first."""
    engine = create_engine_from_url(app.url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT * FROM carbon_relays ORDER BY created_at")).mappings().all()
    finally:
        engine.dispose()
    # Raw SQL: SQLite gives ids as bare hex, PostgreSQL as UUIDs; one form for both.
    return [{**r, "id": str(uuid.UUID(str(r["id"])))} for r in rows]


def _fail_once(monkeypatch: pytest.MonkeyPatch, owner: Any, name: str) -> list[int]:
    """Makes ``owner.name`` raise the first time it is called (after that it works); returns a counter."""
    original = getattr(owner, name)
    calls: list[int] = []

    def failing(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError(f"simulated failure in {name}")
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, failing)
    return calls


def test_a_custodial_retirement_whose_answer_was_lost_is_not_retired_twice_on_retry(
    app: App, chain: CarbonChain, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The idempotency record fails to commit after the retirement was mined: the retry with the same
    key answers that retirement's certificate instead of retiring the custody account's credits again."""
    before = balance(chain, RELAYER)
    headers = {**auth(app), "Idempotency-Key": "lost-custodial"}
    _fail_once(monkeypatch, Idempotency, "_complete")
    lost = app.client.post("/v1/carbon/retirements/custodial", json=custodial_body(4), headers=headers)
    assert lost.status_code == 500, lost.text
    assert balance(chain, RELAYER) == before - 4  # mined, but the answer was never recorded

    retry = app.client.post("/v1/carbon/retirements/custodial", json=custodial_body(4), headers=headers)
    assert retry.status_code == 201, retry.text
    assert balance(chain, RELAYER) == before - 4  # not retired twice
    relayed = retry.json()
    certificate = chain.platform.carbon.functions.certificate(relayed["certificate_id"]).call()
    assert (certificate[1], certificate[5]) == (4, Signer.dev(RELAYER).address)
    assert chain.w3.eth.get_transaction_receipt(relayed["tx_hash"])["blockNumber"] == relayed["block_number"]
    again = app.client.post("/v1/carbon/retirements/custodial", json=custodial_body(4), headers=headers)
    assert again.json() == relayed and again.headers["Idempotent-Replayed"] == "true"
    (row,) = [r for r in _relay_rows(app) if r["idempotency_key"] == "lost-custodial"]
    assert (row["status"], row["tx_hash"], row["kind"]) == ("retired", relayed["tx_hash"], "custodial")


def test_a_signed_retirement_whose_answer_was_lost_replays_its_certificate_on_retry(
    app: App, chain: CarbonChain, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = balance(chain)
    body = signed_body(chain, tonnes=2)
    headers = {**auth(app), "Idempotency-Key": "lost-signed"}
    _fail_once(monkeypatch, Idempotency, "_complete")
    lost = app.client.post("/v1/carbon/retirements", json=body, headers=headers)
    assert lost.status_code == 500, lost.text
    assert balance(chain) == before - 2

    retry = app.client.post("/v1/carbon/retirements", json=body, headers=headers)
    assert retry.status_code == 201, retry.text  # not 422 "nonce used"
    relayed = retry.json()
    assert balance(chain) == before - 2
    certificate = chain.platform.carbon.functions.certificate(relayed["certificate_id"]).call()
    assert (certificate[1], certificate[5]) == (2, body["holder"])


def test_a_retirement_signed_and_written_but_never_broadcast_is_sent_once_by_the_retry(
    app: App, chain: CarbonChain, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The process dies between the write-ahead commit and the broadcast: the retry sends the stored
    transaction itself (same hash), and it is mined once."""
    from api.carbon import relays

    before = balance(chain, RELAYER)
    headers = {**auth(app), "Idempotency-Key": "unsent-custodial"}
    _fail_once(monkeypatch, relays.rawtx, "broadcast")
    crashed = app.client.post("/v1/carbon/retirements/custodial", json=custodial_body(3), headers=headers)
    assert crashed.status_code == 500, crashed.text
    assert balance(chain, RELAYER) == before  # nothing was sent
    (row,) = [r for r in _relay_rows(app) if r["idempotency_key"] == "unsent-custodial"]
    assert row["status"] == "pending"  # but the signed transaction was written first

    retry = app.client.post("/v1/carbon/retirements/custodial", json=custodial_body(3), headers=headers)
    assert retry.status_code == 201, retry.text
    assert retry.json()["tx_hash"] == row["tx_hash"]  # the written transaction, not a second one
    assert balance(chain, RELAYER) == before - 3


def test_a_written_retirement_whose_nonce_was_taken_is_re_signed_once(
    app: App, chain: CarbonChain, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stored transaction can never be mined (another transaction of the relayer used its nonce):
    the chain shows no retirement from it, so the retry signs a new one, mined once."""
    from api.carbon import relays

    before = balance(chain, RELAYER)
    headers = {**auth(app), "Idempotency-Key": "lost-nonce-custodial"}
    _fail_once(monkeypatch, relays.rawtx, "broadcast")
    crashed = app.client.post("/v1/carbon/retirements/custodial", json=custodial_body(2), headers=headers)
    assert crashed.status_code == 500, crashed.text
    (row,) = [r for r in _relay_rows(app) if r["idempotency_key"] == "lost-nonce-custodial"]
    _take_relayer_nonce(chain)

    retry = app.client.post("/v1/carbon/retirements/custodial", json=custodial_body(2), headers=headers)
    assert retry.status_code == 201, retry.text
    relayed = retry.json()
    assert relayed["tx_hash"] != row["tx_hash"]
    assert balance(chain, RELAYER) == before - 2
    again = app.client.post("/v1/carbon/retirements/custodial", json=custodial_body(2), headers=headers)
    assert again.json() == relayed
    assert balance(chain, RELAYER) == before - 2


def test_two_identical_custodial_retirements_at_once_retire_once(
    app: App, chain: CarbonChain, monkeypatch: pytest.MonkeyPatch
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from api.carbon import relays

    original = relays.rawtx.broadcast

    def slow(*args: Any, **kwargs: Any) -> Any:
        time.sleep(0.5)  # widen the window in which the duplicate arrives
        return original(*args, **kwargs)

    monkeypatch.setattr(relays.rawtx, "broadcast", slow)
    before = balance(chain, RELAYER)
    headers = {**auth(app), "Idempotency-Key": "twice-at-once"}
    with ThreadPoolExecutor(2) as pool:
        answers = list(
            pool.map(
                lambda _: app.client.post(
                    "/v1/carbon/retirements/custodial", json=custodial_body(1), headers=headers
                ),
                range(2),
            )
        )
    assert [a.status_code for a in answers] == [201, 201], [a.text for a in answers]
    assert answers[0].json() == answers[1].json()
    assert balance(chain, RELAYER) == before - 1


def test_a_different_request_under_a_used_key_is_409_and_nothing_is_sent(
    app: App, chain: CarbonChain
) -> None:
    headers = {**auth(app), "Idempotency-Key": "reused-key"}
    first = app.client.post("/v1/carbon/retirements/custodial", json=custodial_body(1), headers=headers)
    assert first.status_code == 201, first.text
    error = _refused(app, chain, custodial_body(2), "/v1/carbon/retirements/custodial", headers)
    assert error["error"] == "idempotency_key_reused"


@pytest.mark.parametrize("route", ["signed", "custodial"])
def test_a_retirement_whose_period_has_not_ended_is_422_on_period_end_and_nothing_is_written(
    app: App, chain: CarbonChain, route: str
) -> None:
    """The contract refuses a period not over yet (CarbonInvalidPeriod): the API says so on the field,
    judged by the chain's latest block time, before anything is signed, written or sent."""
    now = int(chain.w3.eth.get_block("latest")["timestamp"])
    future = now + 86_400
    if route == "signed":
        body, path = signed_body(chain, period=(PERIOD[0], future)), "/v1/carbon/retirements"
    else:
        body = {**custodial_body(1), "period_end": future}
        path = "/v1/carbon/retirements/custodial"
    rows = len(_relay_rows(app))
    error = _refused(app, chain, body, path, {**auth(app), "Idempotency-Key": f"future-{route}"})
    assert error["error"] == "validation_error"
    assert [f["field"] for f in error["details"]["fields"]] == ["period_end"]
    assert error["details"]["latest_block_time"] >= now
    assert len(_relay_rows(app)) == rows


def _take_relayer_nonce(chain: CarbonChain) -> None:
    """Mines a plain transfer from the relayer with its next nonce (one a written retirement holds)."""
    relayer, w3 = Signer.dev(RELAYER), chain.w3
    taker = relayer.sign_transaction(
        {
            "to": relayer.address,
            "value": 0,
            "gas": 21_000,
            "gasPrice": w3.eth.gas_price,
            "nonce": w3.eth.get_transaction_count(Web3.to_checksum_address(relayer.address), "pending"),
            "chainId": w3.eth.chain_id,
        }
    )
    w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(taker.raw_transaction))


def test_pending_retirements_left_by_failed_requests_are_finished_from_the_chain(
    app: App, chain: CarbonChain, monkeypatch: pytest.MonkeyPatch
) -> None:
    """finish_pending: a written, unsent retirement is sent once and recorded with its certificate (a
    later retry of its key answers that certificate); one whose nonce was taken retired nothing and is
    failed (a later retry of its key signs anew and retires once)."""
    from api.carbon import relays

    gateway: CarbonGateway = app.client.app.state.carbon  # type: ignore[attr-defined]

    def crash(tonnes: int, key: str) -> dict[str, Any]:
        _fail_once(monkeypatch, relays.rawtx, "broadcast")
        headers = {**auth(app), "Idempotency-Key": key}
        response = app.client.post(
            "/v1/carbon/retirements/custodial", json=custodial_body(tonnes), headers=headers
        )
        assert response.status_code == 500, response.text
        (row,) = [r for r in _relay_rows(app) if r["idempotency_key"] == key]
        assert row["status"] == "pending"
        return row

    def finish() -> dict[str, str]:
        engine = create_engine_from_url(app.url)
        try:
            later = datetime.now(UTC) + timedelta(seconds=5)
            done = relays.finish_pending(gateway, make_sessionmaker(engine), later)
        finally:
            engine.dispose()
        return {str(k): str(v) for k, v in done.items()}

    before = balance(chain, RELAYER)
    sent = crash(1, "finish-sent")
    assert finish() == {str(sent["id"]): "retired"}
    assert balance(chain, RELAYER) == before - 1
    (row,) = [r for r in _relay_rows(app) if r["idempotency_key"] == "finish-sent"]
    headers = {**auth(app), "Idempotency-Key": "finish-sent"}
    retry = app.client.post("/v1/carbon/retirements/custodial", json=custodial_body(1), headers=headers)
    assert (retry.status_code, retry.json()["tx_hash"]) == (201, sent["tx_hash"]), retry.text
    assert retry.json()["certificate_id"] == int(row["certificate_id"])
    assert balance(chain, RELAYER) == before - 1

    lost = crash(2, "finish-lost")
    _take_relayer_nonce(chain)
    assert finish() == {str(lost["id"]): "failed"}
    assert balance(chain, RELAYER) == before - 1  # it retired nothing
    headers = {**auth(app), "Idempotency-Key": "finish-lost"}
    retry = app.client.post("/v1/carbon/retirements/custodial", json=custodial_body(2), headers=headers)
    assert retry.status_code == 201, retry.text
    assert retry.json()["tx_hash"] != lost["tx_hash"]
    assert balance(chain, RELAYER) == before - 3
    again = app.client.post("/v1/carbon/retirements/custodial", json=custodial_body(2), headers=headers)
    assert again.json() == retry.json()
    assert balance(chain, RELAYER) == before - 3
