"""A small stand-in for a kubo node's HTTP RPC API, for testing IpfsHttpDocumentStore without a daemon.

It speaks the endpoints the store uses the way kubo does: POST only, options in the query string,
``/api/v0/add`` reading the multipart body and answering newline-delimited JSON objects
``{"Name", "Hash", "Size"}``, errors as HTTP 500 with ``{"Message", "Code", "Type": "error"}``.
Nothing is canned: ``add`` chunks the uploaded bytes and builds the DAG with the options it was sent
(kubo's defaults when absent: CIDv0, raw leaves only with CIDv1), keeps every block in a block store,
and ``cat`` reassembles files by walking the stored DAG, so a damaged block really comes back damaged.
"""

from __future__ import annotations

import email.parser
import email.policy
import io
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from carbon.documents.cid import (
    CID,
    CODEC_RAW,
    ImportOptions,
    build_dag,
    decode_cid,
    decode_varint,
    iter_chunks,
)
from carbon.documents.errors import InvalidCIDError

KUBO_VERSION = {
    "Version": "0.29.0",
    "Commit": "",
    "Repo": "15",
    "System": "amd64/linux",
    "Golang": "go1.22.4",
}


class RpcError(Exception):
    """An error the node reports as kubo does (HTTP 500 + JSON body)."""


@dataclass
class FakeKuboNode:
    """State of the fake node: its block store, its pins and the requests it served."""

    force_raw_leaves: bool | None = None  # emulate a node that overrides the raw-leaves option
    blocks: dict[bytes, bytes] = field(default_factory=dict)
    pins: set[str] = field(default_factory=set)
    requests: list[tuple[str, dict[str, list[str]]]] = field(default_factory=list)

    def add(self, query: dict[str, list[str]], files: list[tuple[str, bytes]]) -> list[dict[str, str]]:
        options = self._import_options(query)
        results = []
        for name, content in files:
            root = build_dag(iter_chunks(io.BytesIO(content), options.chunk_size), options, self._put)
            cid = root.cid.encode()
            if _flag(query, "pin", default=True):
                self.pins.add(cid)
            results.append({"Name": name or cid, "Hash": cid, "Size": str(root.dag_size)})
        return results

    def pin_add(self, arg: str) -> dict[str, Any]:
        cid = _strip_ipfs_prefix(arg)
        self.cat(cid)  # the whole DAG must be present (offline node: nothing to fetch)
        self.pins.add(cid)
        return {"Pins": [cid]}

    def pin_ls(self, arg: str) -> dict[str, Any]:
        cid = _strip_ipfs_prefix(arg)
        if cid not in self.pins:
            raise RpcError(f"path '{cid}' is not pinned")
        return {"Keys": {cid: {"Type": "recursive"}}}

    def cat(self, arg: str) -> bytes:
        return b"".join(self._file_bytes(_binary_cid(_strip_ipfs_prefix(arg))))

    def block_key(self, cid_text: str) -> bytes:
        """Binary CID under which a block is stored (for tests that damage blocks)."""
        return _binary_cid(cid_text)

    def _import_options(self, query: dict[str, list[str]]) -> ImportOptions:
        cid_version = int(query.get("cid-version", ["0"])[0])
        raw_leaves = _flag(query, "raw-leaves", default=cid_version == 1)
        if self.force_raw_leaves is not None:
            raw_leaves = self.force_raw_leaves
        if _flag(query, "trickle", default=False):
            raise RpcError("trickle layout is not implemented by this test node")
        chunker = query.get("chunker", ["size-262144"])[0]
        if not chunker.startswith("size-"):
            raise RpcError(f"unrecognized chunker option: {chunker}")
        return ImportOptions(chunk_size=int(chunker[5:]), raw_leaves=raw_leaves, cid_version=cid_version)

    def _put(self, cid: CID, block: bytes) -> None:
        self.blocks[cid.to_bytes() if cid.version else bytes([1, 0x70]) + cid.multihash] = block

    def _file_bytes(self, key: bytes) -> Iterator[bytes]:
        block = self.blocks.get(key)
        if block is None:
            raise RpcError(f"block was not found locally (offline): ipld: could not find {key.hex()}")
        if key[1] == CODEC_RAW:
            yield block
            return
        links, inline = _parse_dag_pb_file(block)
        yield inline
        for child in links:
            yield from self._file_bytes(child if child[0] == 1 else bytes([1, 0x70]) + child)


def _flag(query: dict[str, list[str]], name: str, default: bool) -> bool:
    if name not in query:
        return default
    return query[name][0].lower() in ("true", "1", "")


def _strip_ipfs_prefix(arg: str) -> str:
    return arg.removeprefix("/ipfs/").split("/")[0]


def _binary_cid(text: str) -> bytes:
    try:
        return decode_cid(text).to_bytes()
    except InvalidCIDError as exc:
        raise RpcError(f"invalid path {text!r}: {exc.details['reason']}") from exc


def _fields(buf: bytes) -> Iterator[tuple[int, int | bytes]]:
    offset = 0
    while offset < len(buf):
        key, offset = decode_varint(buf, offset)
        value, offset = decode_varint(buf, offset)
        if key & 7 == 2:
            yield key >> 3, buf[offset : offset + value]
            offset += value
        else:
            yield key >> 3, value


def _parse_dag_pb_file(block: bytes) -> tuple[list[bytes], bytes]:
    """Child CIDs and inline file bytes of a dag-pb UnixFS file node."""
    links: list[bytes] = []
    inline = b""
    for number, value in _fields(block):
        assert isinstance(value, bytes)
        if number == 2:
            links.extend(v for n, v in _fields(value) if n == 1 and isinstance(v, bytes))
        elif number == 1:
            inline = b"".join(v for n, v in _fields(value) if n == 2 and isinstance(v, bytes))
    return links, inline


class _Handler(BaseHTTPRequestHandler):
    node: FakeKuboNode

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        self._reply(405, b"405 - Method Not Allowed\n", "text/plain")

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query, keep_blank_values=True)
        self.node.requests.append((url.path, query))
        body = self._read_body()
        try:
            self._dispatch(url.path, query, body)
        except RpcError as exc:
            payload = {"Message": str(exc), "Code": 0, "Type": "error"}
            self._reply(500, json.dumps(payload).encode(), "application/json")

    def _dispatch(self, path: str, query: dict[str, list[str]], body: bytes) -> None:
        arg = query.get("arg", [""])[0]
        if path == "/api/v0/version":
            self._json([KUBO_VERSION])
        elif path == "/api/v0/add":
            self._json(self.node.add(query, self._multipart_files(body)))
        elif path == "/api/v0/pin/add":
            self._json([self.node.pin_add(arg)])
        elif path == "/api/v0/pin/ls":
            self._json([self.node.pin_ls(arg)])
        elif path == "/api/v0/cat":
            self._reply(200, self.node.cat(arg), "text/plain", {"X-Stream-Output": "1"})
        else:
            self._reply(404, b"404 page not found\n", "text/plain")

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts: list[bytes] = []
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        return self.rfile.read(int(self.headers.get("Content-Length", "0")))

    def _multipart_files(self, body: bytes) -> list[tuple[str, bytes]]:
        content_type = self.headers.get("Content-Type", "")
        if not content_type.startswith("multipart/"):
            raise RpcError("file argument 'path' is required")
        head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
        files = []
        for part in message.iter_parts():
            if part.get_content_type() in ("application/octet-stream", "text/plain") or part.get_filename():
                payload = part.get_payload(decode=True)
                assert isinstance(payload, bytes)
                files.append((part.get_filename() or "", payload))
        return files

    def _json(self, objects: list[dict[str, Any]]) -> None:
        body = b"".join(json.dumps(obj).encode() + b"\n" for obj in objects)
        self._reply(200, body, "application/json", {"X-Chunked-Output": "1"})

    def _reply(
        self, status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)


@dataclass
class RunningNode:
    """A started fake node and the multiaddr of its RPC API."""

    node: FakeKuboNode
    addr: str


@pytest.fixture
def kubo_node() -> Iterator[RunningNode]:
    """A fake kubo RPC API on an ephemeral loopback port, stopped after the test."""
    node = FakeKuboNode()
    handler = type("Handler", (_Handler,), {"node": node})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield RunningNode(node=node, addr=f"/ip4/127.0.0.1/tcp/{server.server_address[1]}/http")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
