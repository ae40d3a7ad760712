"""Bad input: a flaky node (HTTP errors, timeouts, refused ranges), logs that do not decode or come
from unknown contracts, and a node that silently leaves logs out (caught by verify)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from chain.localnode import AnvilNode
from indexer.models import LogStatus
from indexer.pipeline import StepResult
from indexer.rpc import RpcClient
from indexer.store import DECODED, RAW_LOGS
from indexer.verify import verify_range
from tests.indexer.faultproxy import FaultProxy, Faults
from tests.indexer.support import Chain, Traffic, assert_exact, deploy, dump, index, pipeline_for, rpc

PORT = 8631
PROXY_PORT = 8632
TRANSFER = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chain]:
    with AnvilNode(port=PORT) as node:
        c = deploy(node.url, Path(tmp_path_factory.mktemp("faults")))
        Traffic(c, seed=31).blocks(40, 10)
        yield c


def test_a_flaky_node_gives_the_same_mirror(chain, make_db, backend):
    faults = Faults(fail_every=7, slow_every=13, slow_s=0.6, max_range=3)
    with FaultProxy(chain.url, PROXY_PORT, faults) as proxy:
        pipeline = pipeline_for(
            make_db(backend),
            chain,
            rpc_url=proxy.url,
            initial_span=16,
            max_span=64,
            rpc_timeout_s=0.3,
            rpc_max_retries=10,
        )
        pipeline.run(follow=False)
    reference = index(make_db(backend), chain)
    assert dump(pipeline.engine) == dump(reference.engine)
    assert faults.injected_errors > 5
    errors = {
        s.labels["kind"]: s.value
        for m in pipeline.metrics.errors.collect()
        for s in m.samples
        if s.name.endswith("_total")
    }
    assert errors.get("http", 0) > 0 and errors.get("timeout", 0) > 0 and errors.get("range", 0) > 0


def _log(block: dict, address: str, topics: list[str], data: str, index: int) -> dict:
    return {
        "address": address,
        "topics": topics,
        "data": data,
        "blockNumber": block["number"],
        "blockHash": block["hash"],
        "transactionHash": "0x" + "ab" * 32,
        "transactionIndex": "0x0",
        "logIndex": hex(index),
        "removed": False,
    }


def test_undecodable_and_unknown_logs_are_stored_raw_and_reported(chain, make_db, backend):
    block = rpc(chain.url, "eth_getBlockByNumber", [hex(chain.deploy_block + 10), False])
    word = "00" * 32
    injected = [
        _log(
            block, "0x" + "12" * 20, [TRANSFER, "0x" + word, "0x" + word], "0x" + word, 9000
        ),  # unknown contract
        _log(block, chain.address, [TRANSFER, "0x" + word, "0x" + word], "0x1234", 9001),  # truncated data
        _log(block, chain.address, ["0x" + "77" * 32], "0x", 9002),  # unknown event
        _log(block, chain.address, [], "0x", 9003),  # anonymous: no topics at all
    ]
    reported: list[StepResult] = []
    with FaultProxy(chain.url, PROXY_PORT, Faults(inject=injected)) as proxy:
        pipeline = pipeline_for(make_db(backend), chain, rpc_url=proxy.url)
        pipeline.run(follow=False, on_step=reported.append)
    problems = sorted((p.log_index, p.status) for r in reported for p in r.problems)
    assert problems == [
        (9000, LogStatus.UNKNOWN_CONTRACT),
        (9001, LogStatus.UNDECODABLE),
        (9002, LogStatus.UNKNOWN_EVENT),
        (9003, LogStatus.UNKNOWN_EVENT),
    ]
    with pipeline.engine.connect() as conn:
        raw = dict(
            conn.execute(
                select(RAW_LOGS.c.log_index, RAW_LOGS.c.status).where(RAW_LOGS.c.log_index >= 9000)
            ).all()
        )
        decoded = conn.execute(select(DECODED.c.id).where(DECODED.c.log_index >= 9000)).all()
    assert raw == {
        9000: "unknown_contract",
        9001: "undecodable",
        9002: "unknown_event",
        9003: "unknown_event",
    }
    assert decoded == []
    assert_exact(pipeline.engine, chain)
    differences = verify_range(
        pipeline.engine, RpcClient(chain.url), pipeline.registry, chain.deploy_block, chain.head()
    )
    assert [(d.kind, d.block_number) for d in differences] == [("extra", int(block["number"], 16))] * 4


def test_verify_catches_logs_a_node_left_out(chain, make_db, backend):
    victim = chain.deploy_block + 20

    def drop(lg: dict) -> bool:
        return int(lg["blockNumber"], 16) == victim and lg["topics"][0] != TRANSFER

    with FaultProxy(chain.url, PROXY_PORT, Faults(drop=drop)) as proxy:
        pipeline = pipeline_for(make_db(backend), chain, rpc_url=proxy.url)
        pipeline.run(follow=False)
    receipts = rpc(chain.url, "eth_getBlockReceipts", [hex(victim)])
    dropped = sum(1 for r in receipts for lg in r["logs"] if lg["topics"][0] != TRANSFER)
    assert dropped > 0
    differences = verify_range(
        pipeline.engine, RpcClient(chain.url), pipeline.registry, chain.deploy_block, chain.head()
    )
    assert [(d.kind, d.block_number) for d in differences] == [("missing", victim)] * dropped
