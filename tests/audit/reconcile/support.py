"""A real mirror for the audit tests: anvil, the whole platform deployed, activity, books, backfill.

Activity is the launcher's demo (reserves, mint, a merchant payment, an escrow payment released,
a staking lock, a carbon project issued, sold and retired) plus a second escrow payment still
held and a redemption (merchant -> issuer, burned). The settlement books get the entries the
settlement service posts for the same movements, so books, mirror and chain agree.
"""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session
from web3 import Web3

from chain import eip712
from chain.deploy import DeployPlan, deploy_platform
from chain.platform import Platform
from chain.sender import TransactionSender
from chain.settings import PROJECT_ROOT
from chain.signer import Signer
from common.money import rupiah
from common.sql.engine import create_engine_from_url
from common.sql.migrate import upgrade
from indexer.cli import build_pipeline
from indexer.settings import IndexerSettings
from launcher.carbon_demo import run_carbon_demo
from launcher.demo import DEMO_ESCROWED, run_demo
from settlement.ledger import chart
from settlement.ledger.models import Currency
from settlement.ledger.service import EntryDraft, credit, debit, post
from tests.support.mirror import backfill

BUILD = PROJECT_ROOT / "build"
MERCHANT_ID = "m-warung-1"
HELD = rupiah(7_500)
REDEEMED = rupiah(5_000)
HOUR = 3_600


@dataclass
class World:
    """The chain with its activity."""

    url: str
    platform: Platform
    deployment_file: Path
    issuer: str
    merchant: str


def build_world(url: str, folder: Path) -> World:
    """Deploys the platform on the node at ``url`` and runs the activity."""
    w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 60}))
    issuer, merchant, customer = Signer.dev(0), Signer.dev(1), Signer.dev(6)
    out = folder / "deployment.json"
    deployment = deploy_platform(w3, BUILD, DeployPlan(issuer.address), out)
    platform = Platform(w3, deployment, BUILD)
    run_demo(platform)
    run_carbon_demo(platform, folder / "documents")
    msc, escrow = platform.msc, platform.escrow
    as_issuer = TransactionSender(w3, issuer, platform.decoder)
    as_merchant = TransactionSender(w3, merchant, platform.decoder)
    # A second Pi payment settled into the escrow and still held.
    as_issuer.transact(msc.functions.mint(issuer.address, HELD))
    as_issuer.transact(msc.functions.approve(escrow.address, HELD))
    payment = Web3.keccak(text="audit-pi-payment-0002")
    as_issuer.transact(
        escrow.functions.deposit(payment, merchant.address, customer.address, HELD, 30 * 86_400)
    )
    # A redemption: the merchant hands MSC back, the issuer burns it for a Rupiah payout.
    as_merchant.transact(msc.functions.transfer(issuer.address, REDEEMED))
    as_issuer.transact(msc.functions.burn(REDEEMED))
    return World(url, platform, out, issuer.address, merchant.address)


def book_settlements(engine: Engine) -> None:
    """The settlement books for the world's escrow payments and the redemption."""
    m = MERCHANT_ID

    def entry(key: str, kind: str, *legs: Any) -> EntryDraft:
        return EntryDraft(key, Currency.IDR, kind, tuple(legs), reference=key.split(":")[1])

    drafts = [
        entry(
            "payment:p1:msc_minted_to_escrow:IDR",
            "msc_minted_to_escrow",
            debit(chart.idr_owed_to_merchant(m), DEMO_ESCROWED),
            credit(chart.msc_minted_to_escrow(m), DEMO_ESCROWED),
        ),
        entry(
            "payment:p1:release:IDR",
            "release",
            debit(chart.msc_minted_to_escrow(m), DEMO_ESCROWED),
            credit(chart.msc_merchant_balance(m), DEMO_ESCROWED),
        ),
        entry(
            "payment:p2:msc_minted_to_escrow:IDR",
            "msc_minted_to_escrow",
            debit(chart.idr_owed_to_merchant(m), HELD),
            credit(chart.msc_minted_to_escrow(m), HELD),
        ),
        entry(
            "payout:r1:redemption",
            "redemption",
            debit(chart.msc_merchant_balance(m), REDEEMED),
            credit(chart.MERCHANT_PAYOUTS_PENDING, REDEEMED),
        ),
    ]
    with Session(engine) as session:
        for draft in drafts:
            post(session, draft)
        session.commit()


def build_mirror(world: World, url: str) -> Engine:
    """Migrates ``url``, backfills the world's chain into it and books the settlements."""
    upgrade(url)
    backfill(url, world.url, world.deployment_file)
    engine = create_engine_from_url(url)
    book_settlements(engine)
    return engine


@dataclass
class AlertReceiver:
    """A real HTTP server on 127.0.0.1 (an OS-chosen port) that records every JSON POST."""

    received: list[dict[str, Any]] = field(default_factory=list)
    server: http.server.ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        """Where to POST alerts."""
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}/alerts"

    def serve(self) -> Iterator[AlertReceiver]:
        """Runs the server for the duration of a fixture."""
        received = self.received

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                received.append({"path": self.path, "body": json.loads(body)})
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.server.shutdown()
            self.server.server_close()
            thread.join(timeout=5)


MILLION = rupiah(1_000_000)


def add_trading(world: World) -> int:
    """More activity after the demo: a three-account MSC cycle, a round trip between the merchant
    and its supplier (an allow-listable pair) and two carbon market fills. Returns its first block.
    """
    w3, platform = world.platform.w3, world.platform
    first = w3.eth.block_number + 1
    issuer, merchant, supplier = Signer.dev(0), Signer.dev(1), Signer.dev(2)
    buyer, a, b, c = Signer.dev(5), Signer.dev(7), Signer.dev(8), Signer.dev(9)
    msc, carbon, market = platform.msc, platform.carbon, platform.market

    def send(signer: Signer, fn: Any) -> None:
        TransactionSender(w3, signer, platform.decoder).transact(fn)

    send(issuer, msc.functions.mint(a.address, 2 * MILLION))
    send(issuer, msc.functions.mint(supplier.address, 2 * MILLION))
    send(a, msc.functions.transfer(b.address, 1_500_000_00))
    send(b, msc.functions.transfer(c.address, 1_490_000_00))
    send(c, msc.functions.transfer(a.address, 1_480_000_00))
    send(supplier, msc.functions.transfer(merchant.address, 1_200_000_00))
    send(merchant, msc.functions.transfer(supplier.address, 1_200_000_00))
    # The carbon buyer of the demo sells 2 x 10 t to account a through the market.
    token_id = int(next(e for e in carbon.events.CreditsIssued().get_logs(from_block=0)).args["tokenId"])
    send(buyer, carbon.functions.setApprovalForAll(market.address, True))
    send(a, msc.functions.approve(market.address, 2 * MILLION))
    domain = eip712.market_domain(w3.eth.chain_id, market.address)
    expiry = w3.eth.get_block("latest")["timestamp"] + 86_400
    for salt in (1, 2):
        price = rupiah(50_000)
        buy = (a.address, 0, token_id, 10, price, expiry, salt, 0)
        sell = (buyer.address, 1, token_id, 10, price, expiry, salt, 0)
        fill = (
            buy,
            a.sign_typed_data(eip712.order(domain, buy)).signature,
            sell,
            buyer.sign_typed_data(eip712.order(domain, sell)).signature,
            10,
            price,
        )
        send(issuer, market.functions.settle(fill))
    return first


def index_to(world: World, url: str, stop_at: int | None = None) -> None:
    """Backfills the world's chain into the (migrated) mirror at ``url``, up to ``stop_at``."""
    settings = IndexerSettings(
        database_url=url,
        rpc_url=world.url,
        deployment_file=world.deployment_file,
        build_dir=BUILD,
        initial_span=64,
        rpc_backoff_s=0.01,
    )
    pipeline = build_pipeline(settings)
    try:
        pipeline.run(follow=False, stop_at=stop_at)
    finally:
        pipeline.engine.dispose()


def add_dormant_wake(world: World, days: int = 100) -> int:
    """``days`` of silence, then account c of the cycle sends again; returns the first block after."""
    w3 = world.platform.w3
    w3.provider.make_request("evm_increaseTime", [days * 86_400])  # type: ignore[arg-type]
    w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
    first = w3.eth.block_number + 1
    c, b = Signer.dev(9), Signer.dev(8)
    TransactionSender(w3, c, world.platform.decoder).transact(
        world.platform.msc.functions.transfer(b.address, rupiah(5_000))
    )
    return first
