"""Chain and database helpers for the indexer tests (and the benchmark).

Traffic goes through anvil's unlocked development accounts with batched ``eth_sendTransaction``
(anvil signs natively): signing thousands of transactions in Python costs ~5 ms each, which would
dominate the suite's time budget. The accounts are those of :meth:`chain.signer.Signer.dev`.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from sqlalchemy import Engine, select
from web3 import Web3

from chain.artifacts import load_artifact
from chain.deployments import DeployedContract, Deployment, write_deployment
from chain.settings import PROJECT_ROOT
from chain.signer import Signer
from indexer.cli import build_pipeline
from indexer.pipeline import Pipeline
from indexer.projections import BALANCES, SUPPLY
from indexer.settings import IndexerSettings
from indexer.store import BLOCKS, CHECKPOINTS, DECODED, RAW_LOGS

BUILD_DIR = PROJECT_ROOT / "build"
GAS = 200_000
GAS_PRICE = 10**9
BIG = 10**30


def rpc(url: str, method: str, params: Sequence[Any] = ()) -> Any:
    """One raw JSON-RPC call; raises on an error answer."""
    answer = requests.post(
        url, json={"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}, timeout=60
    ).json()
    if "error" in answer:
        raise RuntimeError(f"{method}: {answer['error']}")
    return answer["result"]


def rpc_batch(url: str, calls: Sequence[tuple[str, Sequence[Any]]]) -> list[Any]:
    """Several JSON-RPC calls in one request; raises on the first error."""
    body = [{"jsonrpc": "2.0", "id": i, "method": m, "params": list(p)} for i, (m, p) in enumerate(calls)]
    answers = sorted(requests.post(url, json=body, timeout=120).json(), key=lambda a: a["id"])
    for a in answers:
        if "error" in a:
            raise RuntimeError(f"batch call failed: {a['error']}")
    return [a["result"] for a in answers]


@dataclass
class Chain:
    """An anvil node with MSC deployed and a deployment file describing it."""

    url: str
    w3: Web3
    address: str
    deploy_block: int
    deployment_file: Path
    accounts: list[str] = field(default_factory=list)

    @property
    def msc(self) -> Any:
        """The MSC contract bound to web3."""
        return self.w3.eth.contract(
            address=Web3.to_checksum_address(self.address),
            abi=load_artifact(BUILD_DIR, "MadiunStableCoin").abi,
        )

    def head(self) -> int:
        """The node's head."""
        return int(rpc(self.url, "eth_blockNumber"), 16)


def deploy(url: str, folder: Path) -> Chain:
    """Deploys MSC with every role on dev account 0, reserves attested and account 0 a minter."""
    w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 60}))
    owner = Signer.dev(0).address
    artifact = load_artifact(BUILD_DIR, "MadiunStableCoin")
    factory = w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    tx_hash = factory.constructor(owner, owner, owner, owner, owner, owner).transact({"from": owner})
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash)
    address = str(receipt["contractAddress"])
    msc = w3.eth.contract(address=address, abi=artifact.abi)
    w3.eth.wait_for_transaction_receipt(msc.functions.attestReserves(BIG, "ref-0").transact({"from": owner}))
    w3.eth.wait_for_transaction_receipt(msc.functions.configureMinter(owner, BIG).transact({"from": owner}))
    deployment = Deployment(
        network="test",
        chain_id=w3.eth.chain_id,
        genesis_hash=w3.eth.get_block(0)["hash"].to_0x_hex(),
        contracts={
            "MadiunStableCoin": DeployedContract(
                "MadiunStableCoin", address, receipt["blockNumber"], tx_hash.to_0x_hex()
            )
        },
    )
    path = folder / "test.json"
    write_deployment(path, deployment)
    accounts = [str(a) for a in w3.eth.accounts]
    return Chain(url, w3, address.lower(), receipt["blockNumber"], path, accounts)


class Traffic:
    """Generates mixed MSC traffic: mints, transfers, approvals and transferFrom, burns,
    freezes with wipes and unfreezes, and reserve attestations (a string argument).

    A shadow of balances keeps most transactions valid; the few that revert (reordering within
    a block) emit nothing and are harmless.
    """

    def __init__(self, chain: Chain, seed: int = 1) -> None:
        self.chain = chain
        self.rng = random.Random(seed)
        self.owner = chain.accounts[0]
        self.holders = chain.accounts[1:]
        self.balances = {a: 0 for a in chain.accounts}
        self.frozen: set[str] = set()
        self._msc = chain.msc
        self._attest = 0

    def _call(self, sender: str, fn: str, *args: Any) -> tuple[str, list[Any]]:
        data = self._msc.encode_abi(fn, args=list(args))
        tx = {
            "from": sender,
            "to": self.chain.address,
            "data": data,
            "gas": hex(GAS),
            "gasPrice": hex(GAS_PRICE),
        }
        return "eth_sendTransaction", [tx]

    def one(self) -> tuple[str, list[Any]]:
        """One random transaction request."""
        r = self.rng.random()
        rich = [a for a in self.holders if self.balances[a] > 0 and a not in self.frozen]
        if r < 0.30 or not rich:
            to = self.rng.choice([*self.holders, self.owner])
            amount = self.rng.randrange(1, 10**12)
            self.balances[to] += amount
            return self._call(self.owner, "mint", to, amount)
        if r < 0.75:
            sender = self.rng.choice(rich)
            to = self.rng.choice([a for a in self.chain.accounts if a != sender])
            amount = self.rng.randrange(0, self.balances[sender] + 1)
            if to in self.frozen:
                to = self.owner
            self.balances[sender] -= amount
            self.balances[to] += amount
            return self._call(sender, "transfer", to, amount)
        if r < 0.82:
            spender = self.rng.choice(self.holders)
            return self._call(self.rng.choice(rich), "approve", spender, self.rng.randrange(0, 10**12))
        if r < 0.88 and self.balances[self.owner] > 0:
            amount = self.rng.randrange(1, self.balances[self.owner] + 1)
            self.balances[self.owner] -= amount
            return self._call(self.owner, "burn", amount)
        if r < 0.93:
            if self.frozen:
                account = self.frozen.pop()
                return self._call(self.owner, "unfreeze", account)
            account = self.rng.choice(self.holders)
            self.frozen.add(account)
            return self._call(self.owner, "freeze", account)
        if r < 0.96 and self.frozen:
            account = next(iter(self.frozen))
            self.balances[account] = 0
            return self._call(self.owner, "wipeFrozenBalance", account, f"court-{self.rng.randrange(10**6)}")
        self._attest += 1
        return self._call(self.owner, "attestReserves", BIG + self._attest, f"ref-{self._attest}")

    def blocks(self, blocks: int, per_block: int) -> None:
        """Mines ``blocks`` blocks of ``per_block`` transactions each (automine is switched off meanwhile)."""
        url = self.chain.url
        rpc(url, "evm_setAutomine", [False])
        try:
            for _ in range(blocks):
                rpc_batch(url, [self.one() for _ in range(per_block)])
                rpc(url, "evm_mine")
        finally:
            rpc(url, "evm_setAutomine", [True])
        self.resync()

    def resync(self) -> None:
        """Reloads the shadow balances and frozen set from the chain (after reverts or reorgs)."""
        msc = self._msc.functions
        self.balances = {a: msc.balanceOf(a).call() for a in self.chain.accounts}
        self.frozen = {a for a in self.chain.accounts if msc.isFrozen(a).call()}


def settings_for(db_url: str, chain: Chain, rpc_url: str | None = None, **overrides: Any) -> IndexerSettings:
    """Indexer settings for ``chain`` into ``db_url``."""
    values: dict[str, Any] = {
        "initial_span": 8,
        "max_span": 64,
        "target_logs": 400,
        "rpc_backoff_s": 0.01,
        "poll_interval_s": 0.05,
    }
    values.update(overrides)
    return IndexerSettings(
        database_url=db_url,
        rpc_url=rpc_url or chain.url,
        deployment_file=chain.deployment_file,
        build_dir=BUILD_DIR,
        **values,
    )


def pipeline_for(db_url: str, chain: Chain, rpc_url: str | None = None, **overrides: Any) -> Pipeline:
    """A pipeline over ``chain`` into ``db_url``."""
    return build_pipeline(settings_for(db_url, chain, rpc_url, **overrides))


def index(db_url: str, chain: Chain, **overrides: Any) -> Pipeline:
    """Backfills ``chain`` up to its head into ``db_url``; returns the pipeline used."""
    pipeline = pipeline_for(db_url, chain, **overrides)
    pipeline.run(follow=False)
    return pipeline


def dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """The mirror's content, without surrogate ids or bookkeeping-only blocks, for equality checks."""
    with engine.connect() as conn:
        raw = sorted(tuple(r) for r in conn.execute(select(*[c for c in RAW_LOGS.c if c.name != "id"])))
        decoded = sorted(
            (
                r.block_number,
                r.log_index,
                r.block_hash,
                r.tx_hash,
                r.address,
                r.contract,
                r.event,
                sorted(r.args.items()),
            )
            for r in conn.execute(select(*[c for c in DECODED.c if c.name != "id"]))
        )
        balances = sorted(tuple(r) for r in conn.execute(select(BALANCES)) if r.balance != 0)
        supply = sorted(tuple(r) for r in conn.execute(select(SUPPLY)))
        log_blocks = sorted(
            tuple(r)
            for r in conn.execute(
                select(BLOCKS.c.number, BLOCKS.c.hash, BLOCKS.c.timestamp).where(
                    BLOCKS.c.number.in_(select(RAW_LOGS.c.block_number))
                )
            )
        )
        checkpoint = sorted((r.block_number, r.block_hash) for r in conn.execute(select(CHECKPOINTS)))
    return {
        "raw": raw,
        "decoded": decoded,
        "balances": balances,
        "supply": supply,
        "blocks": log_blocks,
        "checkpoint": checkpoint,
    }


def assert_exact(engine: Engine, chain: Chain) -> int:
    """Every mirrored balance and supply row equals the contract's answer at the same block.

    Returns the checkpoint block the comparison was made at.
    """
    with engine.connect() as conn:
        block = conn.execute(select(CHECKPOINTS.c.block_number)).scalar_one()
        balances = {(r.account): r.balance for r in conn.execute(select(BALANCES))}
        supply = [(r.block_number, r.total_supply) for r in conn.execute(select(SUPPLY))]
    msc = chain.msc
    token = chain.address
    accounts = set(balances) | {a.lower() for a in chain.accounts}
    calls: list[tuple[str, Sequence[Any]]] = []
    for account in sorted(accounts):
        data = msc.encode_abi("balanceOf", args=[Web3.to_checksum_address(account)])
        calls.append(("eth_call", [{"to": token, "data": data}, hex(block)]))
    supply_data = msc.encode_abi("totalSupply", args=[])
    calls += [("eth_call", [{"to": token, "data": supply_data}, hex(n)]) for n, _ in supply]
    calls.append(("eth_call", [{"to": token, "data": supply_data}, hex(block)]))
    results = [int(r, 16) for r in rpc_batch(chain.url, calls)]
    on_chain = dict(zip(sorted(accounts), results, strict=False))
    for account in sorted(accounts):
        assert balances.get(account, 0) == on_chain[account], f"balance of {account} at block {block}"
    for (number, total), expected in zip(supply, results[len(accounts) :], strict=False):
        assert total == expected, f"total supply at block {number}"
    latest = max(supply)[1] if supply else 0
    assert latest == results[-1], f"total supply at checkpoint {block}"
    return block
