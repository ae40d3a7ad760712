"""LocalDocumentStore and IpfsHttpDocumentStore: addressing, verification, atomic writes, RPC use."""

from __future__ import annotations

import hashlib
import os
import socket
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import ipfshttpclient
import ipfshttpclient.exceptions
import pytest

from carbon.documents.cid import DEFAULT_CHUNK_SIZE, cid_for_bytes, decode_cid
from carbon.documents.errors import (
    DocumentIntegrityError,
    DocumentNotFoundError,
    InvalidCIDError,
    IpfsNodeError,
)
from carbon.documents.store import DocumentStore, IpfsHttpDocumentStore, LocalDocumentStore, StoredDocument
from common.errors import MSCError, NotFoundError, ValidationError

if TYPE_CHECKING:
    from tests.carbon.conftest import RunningNode

# ipfshttpclient 0.7.0 passes an argument urllib3 2.x deprecates; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:The 'strict' parameter:FutureWarning")

REPORT = b"%PDF-1.7\nVerification report: Madiun community forest, vintage 2024\n"
MULTI_CHUNK = (bytes(range(251)) * 3200)[: 3 * DEFAULT_CHUNK_SIZE + 100]  # 4 distinct chunks
ABSENT_CID = cid_for_bytes(b"never stored")


@pytest.fixture
def local_store(tmp_path: Path) -> LocalDocumentStore:
    return LocalDocumentStore(tmp_path / "docs")


@pytest.fixture
def ipfs_store(kubo_node: RunningNode) -> Iterator[IpfsHttpDocumentStore]:
    store = IpfsHttpDocumentStore(kubo_node.addr, timeout=10, offline=True)
    yield store
    store.close()


@pytest.fixture(params=["local", "ipfs"])
def any_store(request: pytest.FixtureRequest) -> DocumentStore:
    name = "local_store" if request.param == "local" else "ipfs_store"
    store: DocumentStore = request.getfixturevalue(name)
    return store


# --- the DocumentStore contract, for both stores ----------------------------------------------------------


@pytest.mark.parametrize("content", [b"", REPORT, MULTI_CHUNK], ids=["empty", "small", "multi-chunk"])
def test_add_then_get_round_trips_with_our_cid(any_store: DocumentStore, content: bytes) -> None:
    stored = any_store.add(content)
    assert stored == StoredDocument(
        cid=cid_for_bytes(content), sha256=hashlib.sha256(content).hexdigest(), size=len(content)
    )
    assert any_store.has(stored.cid)
    assert any_store.get(stored.cid) == content


def test_adding_twice_is_harmless(any_store: DocumentStore) -> None:
    assert any_store.add(REPORT) == any_store.add(REPORT)
    assert any_store.get(cid_for_bytes(REPORT)) == REPORT


def test_unknown_cid_is_not_found(any_store: DocumentStore) -> None:
    assert not any_store.has(ABSENT_CID)
    with pytest.raises(DocumentNotFoundError) as caught:
        any_store.get(ABSENT_CID)
    assert isinstance(caught.value, NotFoundError)
    assert caught.value.status_code == 404
    assert caught.value.to_dict()["details"] == {"cid": ABSENT_CID}


@pytest.mark.parametrize(
    "bad_cid",
    ["", "not-a-cid", "QmWmRj3dFDZdb6ABvbmKhEL6TmPbAfBZ1t5BxsEyJrcZhE", ABSENT_CID.upper(), ABSENT_CID[:-4]],
)
def test_invalid_cid_is_a_validation_error(any_store: DocumentStore, bad_cid: str) -> None:
    with pytest.raises(InvalidCIDError) as caught:
        any_store.get(bad_cid)
    assert isinstance(caught.value, ValidationError)
    assert caught.value.code == "invalid_cid"
    with pytest.raises(InvalidCIDError):
        any_store.has(bad_cid)


# --- LocalDocumentStore ------------------------------------------------------------------------------------


def test_local_layout_is_addressed_by_cid(local_store: LocalDocumentStore) -> None:
    stored = local_store.add(REPORT)
    path = local_store.path_for(stored.cid)
    assert path.name == stored.cid
    assert path.read_bytes() == REPORT
    assert path.is_relative_to(local_store.root / "documents")


def test_corrupted_bytes_are_detected_on_get(local_store: LocalDocumentStore) -> None:
    stored = local_store.add(REPORT)
    path = local_store.path_for(stored.cid)
    path.write_bytes(REPORT.replace(b"2024", b"2025"))  # bit rot, or someone "fixing" a date

    with pytest.raises(DocumentIntegrityError) as caught:
        local_store.get(stored.cid)
    error = caught.value
    assert isinstance(error, MSCError)
    assert error.code == "document_integrity_error"
    assert error.details["expected_cid"] == stored.cid
    assert error.details["actual_cid"] == cid_for_bytes(path.read_bytes())


def test_adding_again_repairs_a_corrupted_copy(local_store: LocalDocumentStore) -> None:
    stored = local_store.add(REPORT)
    local_store.path_for(stored.cid).write_bytes(b"garbage")
    local_store.add(REPORT)
    assert local_store.get(stored.cid) == REPORT


def test_killed_write_leaves_no_visible_document(local_store: LocalDocumentStore) -> None:
    # What a process killed mid-write leaves behind: a temp file holding part of the document.
    leftover = local_store.root / "tmp" / ".partial-deadbeefdeadbeef"
    leftover.write_bytes(REPORT[:10])
    cid = cid_for_bytes(REPORT)

    assert not local_store.has(cid)
    with pytest.raises(DocumentNotFoundError):
        local_store.get(cid)
    assert not any(p.is_file() for p in (local_store.root / "documents").rglob("*"))
    assert local_store.purge_incomplete() == 1
    assert not leftover.exists()


def test_crash_before_rename_publishes_nothing(
    local_store: LocalDocumentStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def crash(src: object, dst: object) -> None:
        raise OSError("simulated power loss before rename")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="power loss"):
        local_store.add(REPORT)
    monkeypatch.undo()

    assert not local_store.has(cid_for_bytes(REPORT))
    assert list((local_store.root / "tmp").iterdir()) == []  # the temp file was cleaned up too
    assert local_store.add(REPORT).cid == cid_for_bytes(REPORT)  # and a retry works


def test_add_file_streams_5_mib_without_holding_it(local_store: LocalDocumentStore, tmp_path: Path) -> None:
    source = tmp_path / "monitoring-report.bin"
    block = hashlib.sha256(b"5 MiB").digest()
    with open(source, "wb") as out:
        for _ in range(5 * 1024 * 1024 // 32):
            out.write(block)

    tracemalloc.start()
    try:
        stored = local_store.add_file(source)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    content = source.read_bytes()
    assert stored.size == 5 * 1024 * 1024
    assert stored.cid == cid_for_bytes(content)
    assert stored.sha256 == hashlib.sha256(content).hexdigest()
    assert local_store.path_for(stored.cid).read_bytes() == content
    assert peak < 3 * DEFAULT_CHUNK_SIZE, f"peak {peak} bytes: the file was not streamed"


# --- IpfsHttpDocumentStore against the fake kubo RPC API ---------------------------------------------------


def test_add_asks_for_our_layout_then_pins_the_verified_cid(
    ipfs_store: IpfsHttpDocumentStore, kubo_node: RunningNode
) -> None:
    stored = ipfs_store.add(MULTI_CHUNK)

    calls = [(path, query) for path, query in kubo_node.node.requests if path != "/api/v0/version"]
    assert [path for path, _ in calls] == ["/api/v0/add", "/api/v0/pin/add"]
    add_query = calls[0][1]
    assert add_query["cid-version"] == ["1"]
    assert add_query["raw-leaves"] == ["True"]
    assert add_query["chunker"] == ["size-262144"]
    assert add_query["pin"] == ["False"]  # pinned only after our check
    assert calls[1][1]["arg"] == [stored.cid]
    assert stored.cid in kubo_node.node.pins
    assert len(kubo_node.node.blocks) == 5  # 4 raw leaves + 1 dag-pb root, built by the node


def test_add_file_streams_to_the_node(ipfs_store: IpfsHttpDocumentStore, tmp_path: Path) -> None:
    path = tmp_path / "project-design-document.pdf"
    path.write_bytes(MULTI_CHUNK)
    stored = ipfs_store.add_file(path)
    assert stored.cid == cid_for_bytes(MULTI_CHUNK)
    assert ipfs_store.get(stored.cid) == MULTI_CHUNK


def test_node_answering_another_cid_is_refused_and_nothing_is_pinned(
    ipfs_store: IpfsHttpDocumentStore, kubo_node: RunningNode
) -> None:
    kubo_node.node.force_raw_leaves = False  # e.g. Import config overriding our options

    with pytest.raises(DocumentIntegrityError) as caught:
        ipfs_store.add(REPORT)

    node_cid = caught.value.details["actual_cid"]
    assert decode_cid(node_cid).codec == 0x70  # the node wrapped the leaf in dag-pb
    assert caught.value.details["expected_cid"] == cid_for_bytes(REPORT)
    assert kubo_node.node.pins == set()


def test_damaged_block_on_the_node_is_detected_on_get(
    ipfs_store: IpfsHttpDocumentStore, kubo_node: RunningNode
) -> None:
    stored = ipfs_store.add(REPORT)
    key = kubo_node.node.block_key(stored.cid)
    kubo_node.node.blocks[key] = kubo_node.node.blocks[key][:-1] + b"?"

    with pytest.raises(DocumentIntegrityError):
        ipfs_store.get(stored.cid)


def test_node_version_and_why_connect_is_not_used(ipfs_store: IpfsHttpDocumentStore) -> None:
    assert ipfs_store.node_version() == "0.29.0"
    # ipfshttpclient.connect() would refuse this (and every current) kubo version:
    with pytest.raises(ipfshttpclient.exceptions.VersionMismatch):
        ipfshttpclient.assert_version("0.29.0")


def test_unreachable_node_is_an_ipfs_node_error() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    store = IpfsHttpDocumentStore(f"/ip4/127.0.0.1/tcp/{port}/http", timeout=2)
    with pytest.raises(IpfsNodeError) as caught:
        store.add(REPORT)
    assert caught.value.status_code == 502
    with pytest.raises(IpfsNodeError):
        store.get(cid_for_bytes(REPORT))
