"""Re-reads blocks from the node through transaction receipts and compares them with the mirror.

eth_getLogs is the indexer's fast path, but a node can answer it with HTTP 200 and logs missing;
receipts are a second, independent source. Every difference is reported: logs missing from the
mirror, logs in the mirror the chain does not have, logs whose content differs, and mirrored
blocks whose hash is no longer canonical.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select

from indexer.errors import RpcError
from indexer.registry import Registry
from indexer.rpc import RpcClient
from indexer.store import BLOCKS, RAW_LOGS

LogKey = tuple[str, int]  # (block hash, log index)
LogBody = tuple[int, str, tuple[str, ...], str]  # (block number, address, topics, data)


@dataclass(frozen=True)
class Difference:
    """One disagreement between the chain and the mirror."""

    kind: str  # "missing" | "extra" | "different" | "block_hash"
    block_number: int
    detail: str


def _receipt_logs(rpc: RpcClient, numbers: Sequence[int], addresses: set[str]) -> dict[LogKey, LogBody]:
    """The followed contracts' logs of ``numbers``, read from the blocks' receipts."""
    try:
        per_block = rpc.batch([("eth_getBlockReceipts", [hex(n)]) for n in numbers])
    except RpcError:
        per_block = []
        for n in numbers:  # nodes without eth_getBlockReceipts: one receipt per transaction
            block = rpc.call("eth_getBlockByNumber", [hex(n), False])
            hashes = block["transactions"] if block else []
            per_block.append(rpc.batch([("eth_getTransactionReceipt", [h]) for h in hashes]))
    logs: dict[LogKey, LogBody] = {}
    for receipts in per_block:
        for receipt in receipts or []:
            for lg in receipt.get("logs", []):
                address = lg["address"].lower()
                if address in addresses:
                    key = (lg["blockHash"].lower(), int(lg["logIndex"], 16))
                    topics = tuple(t.lower() for t in lg["topics"])
                    logs[key] = (int(lg["blockNumber"], 16), address, topics, lg["data"].lower())
    return logs


def _mirror_logs(engine: Engine, first: int, last: int) -> dict[LogKey, LogBody]:
    t = RAW_LOGS.c
    query = select(
        t.block_hash, t.log_index, t.block_number, t.address, t.topic0, t.topic1, t.topic2, t.topic3, t.data
    ).where(t.block_number.between(first, last))
    with engine.connect() as conn:
        return {
            (r.block_hash, r.log_index): (
                r.block_number,
                r.address,
                tuple(x for x in (r.topic0, r.topic1, r.topic2, r.topic3) if x),
                r.data,
            )
            for r in conn.execute(query)
        }


def verify_range(
    engine: Engine, rpc: RpcClient, registry: Registry, first: int, last: int, chunk: int = 50
) -> list[Difference]:
    """Every difference between the chain and the mirror in blocks ``first``..``last``."""
    addresses = set(registry.addresses)
    differences: list[Difference] = []
    chain: dict[LogKey, LogBody] = {}
    for start in range(first, last + 1, chunk):
        chain.update(_receipt_logs(rpc, range(start, min(last, start + chunk - 1) + 1), addresses))
    mirror = _mirror_logs(engine, first, last)
    for key in sorted(chain.keys() - mirror.keys(), key=lambda k: (chain[k][0], k[1])):
        differences.append(Difference("missing", chain[key][0], f"log {key[1]} of block {key[0]}"))
    for key in sorted(mirror.keys() - chain.keys(), key=lambda k: (mirror[k][0], k[1])):
        differences.append(
            Difference("extra", mirror[key][0], f"log {key[1]} of block {key[0]} ({mirror[key][1]})")
        )
    for key in sorted(chain.keys() & mirror.keys(), key=lambda k: (chain[k][0], k[1])):
        if chain[key] != mirror[key]:
            differences.append(
                Difference(
                    "different", chain[key][0], f"log {key[1]}: chain {chain[key]} != mirror {mirror[key]}"
                )
            )
    with engine.connect() as conn:
        stored = [
            (r[0], r[1])
            for r in conn.execute(
                select(BLOCKS.c.number, BLOCKS.c.hash).where(BLOCKS.c.number.between(first, last))
            )
        ]
    node = rpc.headers([n for n, _ in stored], missing_ok=True)
    for number, block_hash in stored:
        header = node.get(number)
        if header is None or header.hash != block_hash:
            differences.append(
                Difference(
                    "block_hash",
                    number,
                    f"mirror has {block_hash}, node {header.hash if header else 'no block'}",
                )
            )
    return sorted(differences, key=lambda d: d.block_number)


def summarise(differences: Sequence[Difference]) -> dict[str, Any]:
    """Counts by kind, for the CLI's last line."""
    counts: dict[str, int] = {}
    for d in differences:
        counts[d.kind] = counts.get(d.kind, 0) + 1
    return counts
