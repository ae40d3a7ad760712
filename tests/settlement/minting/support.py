"""Shared pieces of the minting, release and redemption tests: a freshly deployed platform on a
private anvil with the settlement roles, migrated databases, and pending_stellar payments.

Roles: dev account 0 owns everything and mints test MSC to merchants; dev 1 is the settlement
key (escrow depositor and MSC minter); dev 2 is the redeemer (an MSC minter that receives and
burns redeemed MSC). Merchants are dev accounts 5..9.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, insert, select
from sqlalchemy.orm import Session, sessionmaker
from web3 import Web3

from chain.deploy import DeployPlan, deploy_platform
from chain.deployments import Deployment
from chain.platform import Platform
from chain.sender import TransactionSender
from chain.settings import PROJECT_ROOT
from chain.signer import Signer
from common.sql.engine import create_engine_from_url, make_sessionmaker
from common.sql.migrate import upgrade
from settlement.ledger import chart
from settlement.ledger.flows import record_conversion
from settlement.ledger.repository import entry_imbalances
from settlement.ledger.service import balance_of
from settlement.ledger.sql import utcnow
from settlement.minting.ids import escrow_payment_id
from settlement.payments.models import Payment, PaymentStatus
from settlement.quotes.models import Quote

BUILD = PROJECT_ROOT / "build"
RESERVES = 10**15
ALLOWANCE = 10**14


@dataclass
class Db:
    """A migrated database."""

    backend: str
    url: str
    engine: Engine
    sessions: sessionmaker[Session]


def open_db(backend: str, url: str) -> Db:
    """Migrates ``url`` and opens it."""
    upgrade(url)
    engine = create_engine_from_url(url)
    return Db(backend, url, engine, make_sessionmaker(engine))


@dataclass
class Chain:
    """A freshly deployed platform and its keys."""

    w3: Web3
    platform: Platform
    deployment: Deployment
    deployment_file: Path
    owner: Signer
    depositor: Signer
    redeemer: Signer

    def sender(self, signer: Signer) -> TransactionSender:
        """A transaction sender for ``signer``."""
        return TransactionSender(self.w3, signer, self.platform.decoder)

    def supply(self) -> int:
        """MSC total supply (sen)."""
        return int(self.platform.msc.functions.totalSupply().call())

    def balance(self, address: str) -> int:
        """MSC balance (sen)."""
        return int(self.platform.msc.functions.balanceOf(address).call())

    def escrowed(self) -> int:
        """Sen held in open escrows."""
        return int(self.platform.escrow.functions.totals().call()[0])

    def escrow_record(self, payment_id: uuid.UUID) -> Any:
        """``getPayment`` of a settlement payment."""
        return self.platform.escrow.functions.getPayment(escrow_payment_id(payment_id)).call()

    def advance(self, seconds: int) -> None:
        """Moves the chain's clock forward and mines a block."""
        self.w3.provider.make_request("evm_increaseTime", [seconds])  # type: ignore[arg-type]
        self.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]


def deploy(w3: Web3, folder: Path) -> Chain:
    """Deploys the platform with the settlement roles and minters configured."""
    owner, depositor, redeemer = Signer.dev(0), Signer.dev(1), Signer.dev(2)
    out = folder / f"deployment-{uuid.uuid4().hex[:8]}.json"
    deployment = deploy_platform(
        w3, BUILD, DeployPlan(owner.address, roles={"ESCROW_DEPOSITOR": depositor.address}), out
    )
    platform = Platform(w3, deployment, BUILD)
    chain = Chain(w3, platform, deployment, out, owner, depositor, redeemer)
    send = chain.sender(owner)
    msc = platform.msc
    send.transact(msc.functions.attestReserves(RESERVES, "TEST-RESERVES"))
    for minter in (owner, depositor, redeemer):
        send.transact(msc.functions.configureMinter(minter.address, ALLOWANCE))
    return chain


def merchant_map(count: int = 5) -> dict[str, str]:
    """Fresh merchant ids mapped to dev accounts 5.. (their EVM addresses)."""
    return {f"m-{uuid.uuid4().hex[:10]}": Signer.dev(5 + i).address for i in range(count)}


def resolver(addresses: Mapping[str, str]) -> Any:
    """A merchant-address source over a dict."""

    def resolve(session: Session, merchant_ids: Collection[str]) -> Mapping[str, str]:
        return {m: addresses[m] for m in merchant_ids if m in addresses}

    return resolve


def make_pending(
    sessions: sessionmaker[Session], merchant_ids: list[str], count: int, *, book: bool = True
) -> list[uuid.UUID]:
    """``count`` payments in ``pending_stellar`` (amounts 1,000.00 + i sen, merchants in turn), each
    with its quote and, with ``book``, its conversion posted as the Pi flow posts it."""
    now = utcnow()
    quotes: list[dict[str, Any]] = []
    payments: list[dict[str, Any]] = []
    for i in range(count):
        quote_id, payment_id = uuid.uuid4(), uuid.uuid4()
        idr = 100_000 + i
        fee = 1_000
        quotes.append(
            {
                "id": quote_id,
                "sell_asset": "PI",
                "buy_asset": "IDR",
                "sell_amount": 10 * 10**7 + fee,
                "buy_amount": idr,
                "fee_total": fee,
                "fee_asset": "PI",
                "fee_details": [{"name": "network", "amount": fee}],
                "price_numerator": 10 * 10**7,
                "price_denominator": idr,
                "market_price_numerator": 10 * 10**7,
                "market_price_denominator": idr,
                "rate_idr_per_pi": "15000",
                "rate_source": "test",
                "created_at": now,
                "expires_at": now + timedelta(minutes=5),
                "payment_id": payment_id,
                "used_at": now,
            }
        )
        payments.append(
            {
                "id": payment_id,
                "pi_payment_id": f"pi-{payment_id.hex}",
                "merchant_id": merchant_ids[i % len(merchant_ids)],
                "quote_id": quote_id,
                "txid": f"tx-{payment_id.hex}",
                "pi_amount": 10 * 10**7 + fee,
                "fee_pi": fee,
                "idr_amount": idr,
                "status": str(PaymentStatus.PENDING_STELLAR),
                "created_at": now,
                "updated_at": now,
            }
        )
    with sessions.begin() as session:
        session.execute(insert(Quote), quotes)
        session.execute(insert(Payment), payments)
        if book:
            for row in payments:
                payment = session.get(Payment, row["id"])
                quote = session.get(Quote, row["quote_id"])
                assert payment is not None and quote is not None
                record_conversion(session, payment, quote)
    return [p["id"] for p in payments]


def statuses(sessions: sessionmaker[Session], ids: list[uuid.UUID]) -> dict[str, int]:
    """How many of ``ids`` are in each status."""
    with sessions() as session:
        rows = session.execute(
            select(Payment.status, func.count()).where(Payment.id.in_(ids)).group_by(Payment.status)
        )
        return {status: int(n) for status, n in rows}


def ledger_in_escrow(sessions: sessionmaker[Session], merchant_ids: Collection[str]) -> int:
    """Sum of the ``msc_minted_to_escrow`` balances of ``merchant_ids``."""
    with sessions() as session:
        return sum(balance_of(session, chart.msc_minted_to_escrow(m)) for m in merchant_ids)


def ledger_balanced(sessions: sessionmaker[Session]) -> bool:
    """Every entry's postings sum to zero."""
    with sessions() as session:
        return entry_imbalances(session) == []


def amounts(sessions: sessionmaker[Session], ids: list[uuid.UUID]) -> dict[uuid.UUID, tuple[str, int]]:
    """``{payment id: (merchant id, idr_amount)}``."""
    with sessions() as session:
        rows = session.execute(
            select(Payment.id, Payment.merchant_id, Payment.idr_amount).where(Payment.id.in_(ids))
        )
        return {pid: (m, int(a)) for pid, m, a in rows}
