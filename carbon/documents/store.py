"""Stores for project verification documents, addressed and verified by their IPFS CID.

Two stores share one protocol: :class:`LocalDocumentStore` keeps documents in a directory (tests,
single-node deployments, a cache in front of IPFS) and :class:`IpfsHttpDocumentStore` keeps them on
an IPFS node through its HTTP RPC API. Both recompute the CID themselves and refuse bytes that do not
match it, so a document served under a CID is always the document that CID names.
"""

from __future__ import annotations

import contextlib
import io
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

import ipfshttpclient
import ipfshttpclient.exceptions as ipfs_errors

from carbon.documents.cid import (
    DEFAULT_OPTIONS,
    ByteSource,
    FileDigest,
    cid_for_bytes,
    decode_cid,
    digest_stream,
    sha256_hex,
)
from carbon.documents.errors import DocumentIntegrityError, DocumentNotFoundError, IpfsNodeError

DEFAULT_IPFS_API_ADDR = "/ip4/127.0.0.1/tcp/5001/http"
DEFAULT_IPFS_TIMEOUT_SECONDS = 120
_TEMP_PREFIX = ".partial-"


@dataclass(frozen=True)
class StoredDocument:
    """What a store returns after keeping a document.

    Attributes:
        cid: CIDv1 (base32) the document is addressed by.
        sha256: Hex SHA-256 of the whole document, for registries that want a plain checksum.
        size: Length in bytes.
    """

    cid: str
    sha256: str
    size: int

    @classmethod
    def from_digest(cls, digest: FileDigest) -> StoredDocument:
        """Build from a one-pass :class:`FileDigest`."""
        return cls(cid=digest.cid, sha256=digest.sha256, size=digest.size)


class DocumentStore(Protocol):
    """A content-addressed store of project documents."""

    def add(self, data: bytes) -> StoredDocument:
        """Keep ``data`` and return its address; adding the same bytes twice is harmless."""
        ...

    def get(self, cid: str) -> bytes:
        """The bytes stored under ``cid``, verified against it.

        Raises:
            InvalidCIDError: ``cid`` is not a CIDv1 string.
            DocumentNotFoundError: nothing is stored under ``cid``.
            DocumentIntegrityError: the stored bytes do not hash to ``cid``.
        """
        ...

    def has(self, cid: str) -> bool:
        """Whether a document is stored under ``cid`` (raises InvalidCIDError for a malformed one)."""
        ...


def verify_document(cid: str, data: bytes, source: str) -> None:
    """Raise :class:`DocumentIntegrityError` unless ``data`` hashes to ``cid``.

    Args:
        cid: The canonical CID string the bytes were requested or announced under.
        data: The bytes to check.
        source: Where the bytes came from, for the error message.
    """
    actual = cid_for_bytes(data)
    if actual != cid:
        raise DocumentIntegrityError(expected_cid=cid, actual_cid=actual, source=source)


def _digest_bytes(data: bytes) -> StoredDocument:
    return StoredDocument(cid=cid_for_bytes(data), sha256=sha256_hex(data), size=len(data))


class _TeeReader:
    """Reads from ``source`` and copies every byte read into ``sink`` (hash while writing)."""

    def __init__(self, source: ByteSource, sink: IO[bytes]) -> None:
        self._source = source
        self._sink = sink

    def read(self, size: int = -1, /) -> bytes:
        data = self._source.read(size)
        self._sink.write(data)
        return data


class LocalDocumentStore:
    """Documents kept as files in a directory, each named by its CID.

    Layout: ``<root>/documents/<2 chars>/<cid>`` (fan-out on the CID's next-to-last characters, like
    IPFS's flatfs, so no directory grows huge) and ``<root>/tmp`` for writes in progress. A document
    is written to a temp file, flushed and fsynced, then moved into place with :func:`os.replace`,
    which is atomic on one file system: a crash leaves either no document or the whole document,
    never half of one. Temp files live outside ``documents/`` and never look like a CID, so a
    leftover one is invisible to :meth:`get` and :meth:`has`; :meth:`purge_incomplete` removes them.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self._documents = self.root / "documents"
        self._tmp = self.root / "tmp"
        self._documents.mkdir(parents=True, exist_ok=True)
        self._tmp.mkdir(parents=True, exist_ok=True)

    def path_for(self, cid: str) -> Path:
        """Where the document with this (validated) CID lives or would live."""
        canonical = decode_cid(cid).encode()
        return self._documents / canonical[-3:-1] / canonical

    def add(self, data: bytes) -> StoredDocument:
        """Keep ``data``; see :class:`DocumentStore`."""
        stored = _digest_bytes(data)
        target = self.path_for(stored.cid)
        if not _holds(target, data):
            with self._temp_file() as (temp_path, out):
                out.write(data)
                self._commit(temp_path, out, target)
        return stored

    def add_stream(self, stream: ByteSource) -> StoredDocument:
        """Keep the contents of a binary stream, hashing while copying so it is read only once."""
        with self._temp_file() as (temp_path, out):
            digest = digest_stream(_TeeReader(stream, out), DEFAULT_OPTIONS)
            self._commit(temp_path, out, self.path_for(digest.cid))
        return StoredDocument.from_digest(digest)

    def add_file(self, path: str | Path) -> StoredDocument:
        """Keep the file at ``path`` without loading it whole into memory."""
        with open(path, "rb") as stream:
            return self.add_stream(stream)

    def get(self, cid: str) -> bytes:
        """The verified bytes under ``cid``; see :class:`DocumentStore`."""
        path = self.path_for(cid)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise DocumentNotFoundError(cid) from None
        verify_document(path.name, data, source=f"local store {self.root}")
        return data

    def has(self, cid: str) -> bool:
        """Whether ``cid`` is stored; see :class:`DocumentStore`."""
        return self.path_for(cid).is_file()

    def purge_incomplete(self) -> int:
        """Delete temp files left behind by interrupted writes; returns how many were removed.

        Only safe while no write is in progress (run it at start-up).
        """
        removed = 0
        for leftover in self._tmp.glob(f"{_TEMP_PREFIX}*"):
            leftover.unlink(missing_ok=True)
            removed += 1
        return removed

    @contextlib.contextmanager
    def _temp_file(self) -> Iterator[tuple[Path, IO[bytes]]]:
        """Open a fresh temp file; it is removed again unless :meth:`_commit` moved it into place."""
        temp_path = self._tmp / f"{_TEMP_PREFIX}{secrets.token_hex(8)}"
        try:
            with open(temp_path, "xb") as out:
                yield temp_path, out
        finally:
            temp_path.unlink(missing_ok=True)

    @staticmethod
    def _commit(temp_path: Path, out: IO[bytes], target: Path) -> None:
        """Flush and fsync the temp file, then atomically move it to ``target`` and fsync the directory."""
        out.flush()
        os.fsync(out.fileno())
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(temp_path, target)
        _fsync_directory(target.parent)


def _holds(path: Path, data: bytes) -> bool:
    """Whether ``path`` already holds exactly ``data`` (so an add can skip the write, or repair)."""
    try:
        return path.stat().st_size == len(data) and path.read_bytes() == data
    except FileNotFoundError:
        return False


def _fsync_directory(directory: Path) -> None:
    """Make a rename durable; a no-op where directories cannot be opened (Windows)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class IpfsHttpDocumentStore:
    """Documents added to and pinned on an IPFS node (kubo) through its HTTP RPC API.

    Every add asks the node for exactly our layout (``cid_version=1``, ``raw_leaves=True``, 256 KiB
    fixed chunks) and checks the CID it answers against our own computation before pinning, so a node
    configured differently (another chunker, trickle layout, an old version ignoring raw leaves) is
    caught instead of silently publishing a CID no one else can reproduce. Content is pinned only
    after that check; kubo holds newly added blocks until the next garbage collection, which leaves
    ample time for the pin that follows.

    Args:
        addr: Multiaddr of the node's RPC API, e.g. ``/ip4/127.0.0.1/tcp/5001/http``.
        timeout: Seconds to wait for any one RPC call.
        offline: Ask the node not to search the network for content it lacks (``get`` then fails
            fast with :class:`DocumentNotFoundError` instead of waiting for the timeout).
        client: A ready client to use instead of building one (tests, shared sessions).
    """

    def __init__(
        self,
        addr: str = DEFAULT_IPFS_API_ADDR,
        *,
        timeout: int = DEFAULT_IPFS_TIMEOUT_SECONDS,
        offline: bool = False,
        client: Any = None,
    ) -> None:
        # ipfshttpclient.connect() checks the daemon version against a hard-coded window
        # (0.4.23 <= version < 0.8.0) and raises VersionMismatch for every current kubo, although the
        # endpoints we use (add, pin/add, pin/ls, cat, version) are unchanged. Constructing Client
        # directly skips that check; our own CID verification is the compatibility check that matters.
        self._client = (
            client
            if client is not None
            else ipfshttpclient.Client(addr=addr, timeout=timeout, offline=offline)
        )
        self._addr = addr

    def close(self) -> None:
        """Release the client's connection pool."""
        self._client.close()

    def node_version(self) -> str:
        """The node's version string (``/api/v0/version``), e.g. for a health check."""
        response = self._call("version", self._client.version)
        return str(response["Version"])

    def add(self, data: bytes) -> StoredDocument:
        """Add ``data`` to the node, verify the CID it reports, then pin it."""
        expected = _digest_bytes(data)
        self._add_and_pin(io.BytesIO(data), expected.cid)
        return expected

    def add_file(self, path: str | Path) -> StoredDocument:
        """Add the file at ``path``; it is hashed locally and streamed to the node, never loaded whole."""
        with open(path, "rb") as stream:
            expected = StoredDocument.from_digest(digest_stream(stream, DEFAULT_OPTIONS))
        self._add_and_pin(str(path), expected.cid)
        return expected

    def get(self, cid: str) -> bytes:
        """The verified bytes under ``cid`` from the node (``/api/v0/cat``); see :class:`DocumentStore`."""
        canonical = decode_cid(cid).encode()
        try:
            data = self._client.cat(canonical)
        except ipfs_errors.ErrorResponse as exc:
            if _means_missing(exc):
                raise DocumentNotFoundError(canonical) from exc
            raise IpfsNodeError("cat", str(exc)) from exc
        except ipfs_errors.Error as exc:
            raise IpfsNodeError("cat", str(exc)) from exc
        verify_document(canonical, bytes(data), source=f"IPFS node {self._addr}")
        return bytes(data)

    def has(self, cid: str) -> bool:
        """Whether the node holds ``cid`` pinned recursively (``/api/v0/pin/ls``)."""
        canonical = decode_cid(cid).encode()
        try:
            response = self._client.pin.ls(canonical, type="recursive")
        except ipfs_errors.ErrorResponse as exc:
            if _means_missing(exc):
                return False
            raise IpfsNodeError("pin/ls", str(exc)) from exc
        except ipfs_errors.Error as exc:
            raise IpfsNodeError("pin/ls", str(exc)) from exc
        return canonical in response.get("Keys", {})

    def _add_and_pin(self, content: IO[bytes] | str, expected_cid: str) -> None:
        response = self._call(
            "add",
            self._client.add,
            content,
            cid_version=1,
            raw_leaves=True,
            chunker=f"size-{DEFAULT_OPTIONS.chunk_size}",
            trickle=False,
            pin=False,
        )
        returned = str(response["Hash"])
        if returned != expected_cid:
            raise DocumentIntegrityError(
                expected_cid=expected_cid, actual_cid=returned, source=f"IPFS node {self._addr} (add)"
            )
        pinned = self._call("pin/add", self._client.pin.add, expected_cid)
        if expected_cid not in pinned.get("Pins", []):
            raise IpfsNodeError("pin/add", f"node did not confirm the pin of {expected_cid}: {pinned!r}")

    @staticmethod
    def _call(operation: str, function: Any, *args: Any, **kwargs: Any) -> Any:
        """Run one client call, turning the client's exceptions into :class:`IpfsNodeError`."""
        try:
            return function(*args, **kwargs)
        except ipfs_errors.Error as exc:
            raise IpfsNodeError(operation, str(exc)) from exc


def _means_missing(error: Exception) -> bool:
    """Whether a node error message says the content is absent (kubo has no error codes for it)."""
    message = str(error).lower()
    return "not found" in message or "not pinned" in message
