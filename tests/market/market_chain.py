"""The whole platform on a private anvil for the market tests: funded traders, credits, signed orders.

Roles go to dev account 0 (which anvil signs for), except the market's settler (dev key 9, which the
settler signs with locally, as in production) and its fee recipient (dev account 8). Traders are dev
accounts 1-7; they sign orders off-chain with their dev keys (chain.eip712), exactly as a wallet would.
"""

from __future__ import annotations

import dataclasses
import itertools
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from web3 import Web3

from chain import eip712
from chain.deploy import DeployPlan, deploy_platform
from chain.deployments import Deployment
from chain.localnode import AnvilNode
from chain.platform import Platform
from chain.settings import PROJECT_ROOT
from chain.signer import Signer
from market.acceptance import OrderAcceptance
from market.orders import Side
from market.signed import SignedOrder

BUILD_DIR = PROJECT_ROOT / "build"
PROJECT, VINTAGE = 1, 2025
TOKEN = PROJECT << 16 | VINTAGE
REF = 120_000  # Rp 1.200 per tonne, in sen
SETTLER_INDEX, FEE_INDEX = 9, 8
_salts = itertools.count(1)


@dataclass
class MarketChain:
    """The deployed platform and helpers to fund traders and sign their orders."""

    node: AnvilNode
    w3: Web3
    deployment: Deployment
    deployment_file: Path
    platform: Platform

    @property
    def owner(self) -> str:
        return str(self.w3.eth.accounts[0])

    @property
    def fee_recipient(self) -> str:
        return Signer.dev(FEE_INDEX).address

    def trader(self, index: int) -> str:
        """The address of trader dev account ``index``."""
        return Signer.dev(index).address

    def send(self, fn: Any, sender: str | None = None) -> Any:
        """Sends a contract call from an unlocked account and checks it succeeded."""
        receipt = self.w3.eth.wait_for_transaction_receipt(fn.transact({"from": sender or self.owner}))
        assert receipt["status"] == 1
        return receipt

    def fund_msc(self, index: int, amount: int, approve: int | None = None) -> None:
        """Mints ``amount`` sen to trader ``index`` and lets the market spend ``approve`` (default: all)."""
        trader = self.trader(index)
        self.send(self.platform.msc.functions.mint(trader, amount))
        allowance = self.platform.msc.functions.allowance(trader, self.platform.market.address).call()
        self.send(
            self.platform.msc.functions.approve(
                self.platform.market.address, allowance + (approve or amount)
            ),
            trader,
        )

    def give_credits(self, index: int, tonnes: int, approve: bool = True) -> None:
        """Issues ``tonnes`` of :data:`TOKEN` to trader ``index`` and approves the market as operator."""
        trader = self.trader(index)
        self.send(self.platform.carbon.functions.issue(TOKEN, trader, tonnes))
        if approve:
            self.send(
                self.platform.carbon.functions.setApprovalForAll(self.platform.market.address, True), trader
            )

    def msc(self, account: str) -> int:
        return int(self.platform.msc.functions.balanceOf(account).call())

    def credits(self, account: str) -> int:
        return int(self.platform.carbon.functions.balanceOf(account, TOKEN).call())

    def sign(
        self,
        index: int,
        side: Side,
        amount: int,
        price: int,
        *,
        expiry: int | None = None,
        nonce: int = 0,
        key_index: int | None = None,
    ) -> SignedOrder:
        """An order of trader ``index`` signed with dev key ``key_index`` (default: its own)."""
        terms = SignedOrder(
            self.trader(index),
            side,
            TOKEN,
            amount,
            price,
            expiry or int(time.time()) + 3_600,
            next(_salts),
            nonce,
            "0x",
        )
        domain = eip712.market_domain(self.deployment.chain_id, self.platform.market.address)
        signer = Signer.dev(index if key_index is None else key_index)
        signature = signer.sign_typed_data(eip712.order(domain, terms.as_tuple())).signature
        return dataclasses.replace(terms, signature="0x" + bytes(signature).hex())

    def acceptance(self) -> OrderAcceptance:
        """Acceptance checks against this market, with the wall clock (anvil's blocks follow it)."""
        p = self.platform
        return OrderAcceptance(p.market, p.msc, p.carbon, self.deployment.chain_id, lambda: int(time.time()))


@contextmanager
def market_chain(port: int, folder: Path) -> Iterator[MarketChain]:
    """anvil on ``port`` with the platform deployed, reserves attested and one verified vintage."""
    with AnvilNode(port=port) as node:
        w3 = Web3(Web3.HTTPProvider(node.url, request_kwargs={"timeout": 60}))
        owner = str(w3.eth.accounts[0])
        plan = DeployPlan(
            owner,
            roles={
                "MARKET_SETTLER": Signer.dev(SETTLER_INDEX).address,
                "MARKET_FEE_RECIPIENT": Signer.dev(FEE_INDEX).address,
            },
        )
        out = folder / "development.json"
        deployment = deploy_platform(w3, BUILD_DIR, plan, out)
        chain = MarketChain(node, w3, deployment, out, Platform(w3, deployment, BUILD_DIR))
        msc, carbon = chain.platform.msc.functions, chain.platform.carbon.functions
        chain.send(msc.attestReserves(10**15, "bank-attestation-1"))
        chain.send(msc.configureMinter(owner, 10**15))
        chain.send(carbon.registerProject("SRN-PPI-MGV-0042", 1, 2, "Kab. Madiun, Jawa Timur"))
        chain.send(carbon.verifyVintage(PROJECT, VINTAGE, 10**9, b"\x11" * 32, "bafy-docs", "bafy-meta"))
        yield chain


def order_body(order: SignedOrder) -> dict[str, Any]:
    """The JSON body of ``POST /v1/market/orders`` for a signed order."""
    return {
        "order": {
            "trader": order.trader,
            "side": str(order.side),
            "token_id": order.token_id,
            "amount": order.amount,
            "price": order.price,
            "expiry": order.expiry,
            "salt": order.salt,
            "nonce": order.nonce,
        },
        "signature": order.signature,
    }
