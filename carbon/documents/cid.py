"""Content identifiers (CIDs) for project documents, computed the way an IPFS node computes them.

A verification document is addressed by the exact CID kubo prints for
``ipfs add --cid-version=1 --raw-leaves``, so anyone holding the file can recompute the address with
stock IPFS tooling and a CID we publish on-chain can be fetched from any IPFS node. That CID is:

* the file cut into fixed-size chunks of 256 KiB (262144 bytes), the last one possibly shorter;
* every chunk a *raw* block (codec 0x55) addressed by its sha2-256 multihash;
* the chunks joined by a *balanced* DAG of dag-pb (codec 0x70) nodes holding at most 174 links each,
  every node carrying a UnixFS ``Data`` message of type File with the total ``filesize`` and one
  ``blocksizes`` entry per child;
* a one-chunk file is just its raw block, an empty file the raw block of no bytes;
* the root rendered as CIDv1 in lower-case base32 with multibase prefix ``b``.

Everything here is a pure function of the bytes; files are read chunk by chunk so a large document
never has to sit in memory whole. The legacy layouts (dag-pb leaves, CIDv0) are available through
:class:`ImportOptions` only so the layout can be checked against kubo's published test vectors.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from carbon.documents.errors import InvalidCIDError

CODEC_RAW = 0x55
CODEC_DAG_PB = 0x70
MULTIHASH_SHA2_256 = 0x12
SHA2_256_DIGEST_LENGTH = 32
DEFAULT_CHUNK_SIZE = 262_144
DEFAULT_MAX_LINKS = 174
UNIXFS_TYPE_FILE = 2
MULTIBASE_BASE32 = "b"

_WIRE_VARINT = 0
_WIRE_LENGTH_DELIMITED = 2
_BASE32_ALPHABET = frozenset("abcdefghijklmnopqrstuvwxyz234567")
_BASE58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_SUPPORTED_CODECS = frozenset({CODEC_RAW, CODEC_DAG_PB})


# --- varints and multihashes -----------------------------------------------------------------------


def encode_varint(value: int) -> bytes:
    """Encode a non-negative integer as an unsigned LEB128 varint (multiformats and protobuf)."""
    if value < 0:
        raise ValueError(f"varint must be non-negative, got {value}")
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def decode_varint(buf: bytes, offset: int = 0) -> tuple[int, int]:
    """Decode one unsigned varint at ``offset``; returns the value and the offset just past it.

    Raises:
        ValueError: the buffer ends inside the varint, or the varint is longer than 9 bytes
            (multiformats caps varints at 63 bits, which also rules out padded encodings).
    """
    value = 0
    shift = 0
    for index in range(offset, min(len(buf), offset + 9)):
        byte = buf[index]
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            if byte == 0 and index > offset:
                raise ValueError("varint is not minimally encoded")
            return value, index + 1
        shift += 7
    raise ValueError("truncated or over-long varint")


def sha256_hex(data: bytes) -> str:
    """Plain hex SHA-256 of ``data``, the checksum registries and auditors compare against."""
    return hashlib.sha256(data).hexdigest()


def multihash_from_digest(digest: bytes) -> bytes:
    """Wrap a sha2-256 digest as a multihash: ``<0x12><0x20><digest>``."""
    if len(digest) != SHA2_256_DIGEST_LENGTH:
        raise ValueError(f"sha2-256 digest must be 32 bytes, got {len(digest)}")
    return encode_varint(MULTIHASH_SHA2_256) + encode_varint(SHA2_256_DIGEST_LENGTH) + digest


def multihash_sha256(data: bytes) -> bytes:
    """The sha2-256 multihash of ``data``."""
    return multihash_from_digest(hashlib.sha256(data).digest())


def decode_multihash(multihash: bytes) -> tuple[int, bytes]:
    """Split a multihash into its hash-function code and digest, checking the declared length.

    Raises:
        ValueError: the multihash is truncated or has trailing bytes.
    """
    code, offset = decode_varint(multihash)
    length, offset = decode_varint(multihash, offset)
    digest = multihash[offset:]
    if len(digest) != length:
        raise ValueError(f"multihash declares {length} digest bytes but carries {len(digest)}")
    return code, digest


# --- CIDs --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CID:
    """A parsed content identifier.

    Attributes:
        version: 1 for every document CID we produce; 0 only for kubo's legacy layout.
        codec: Multicodec of the addressed block, :data:`CODEC_RAW` or :data:`CODEC_DAG_PB`.
        multihash: The multihash of the block's bytes.
    """

    version: int
    codec: int
    multihash: bytes

    def to_bytes(self) -> bytes:
        """Binary CID as it appears inside dag-pb links (a CIDv0 is its bare multihash)."""
        if self.version == 0:
            return self.multihash
        return encode_varint(self.version) + encode_varint(self.codec) + self.multihash

    def encode(self) -> str:
        """String form: base32 lower-case with prefix ``b`` for CIDv1, base58btc for CIDv0."""
        if self.version == 0:
            return _base58btc_encode(self.multihash)
        return MULTIBASE_BASE32 + _base32_encode(self.to_bytes())

    def __str__(self) -> str:
        return self.encode()

    @property
    def digest(self) -> bytes:
        """The sha2-256 digest the CID commits to."""
        return decode_multihash(self.multihash)[1]


def cid_for_block(codec: int, block: bytes, version: int = 1) -> CID:
    """The CID of one block of bytes under ``codec`` (sha2-256)."""
    return CID(version=version, codec=codec, multihash=multihash_sha256(block))


def decode_cid(text: str) -> CID:
    """Parse a base32 CIDv1 string back into version, codec and multihash.

    Only what our documents use is accepted (multibase ``b``, CIDv1, raw or dag-pb, sha2-256 with a
    32-byte digest), and only in canonical form, so one document has exactly one accepted spelling.

    Raises:
        InvalidCIDError: ``text`` is not such a CID; the message says which part is wrong.
    """
    if not isinstance(text, str) or not text:
        raise InvalidCIDError(str(text), "empty or not a string")
    if text[0] != MULTIBASE_BASE32:
        raise InvalidCIDError(text, "only lower-case base32 CIDv1 (multibase prefix 'b') is accepted")
    body = text[1:]
    if not body or not set(body) <= _BASE32_ALPHABET:
        raise InvalidCIDError(text, "contains characters outside the lower-case base32 alphabet")
    raw = _base32_decode(text, body)
    try:
        version, offset = decode_varint(raw)
        codec, offset = decode_varint(raw, offset)
        hash_code, digest = decode_multihash(raw[offset:])
    except ValueError as exc:
        raise InvalidCIDError(text, str(exc)) from exc
    if version != 1:
        raise InvalidCIDError(text, f"CID version {version} is not supported")
    if codec not in _SUPPORTED_CODECS:
        raise InvalidCIDError(text, f"codec 0x{codec:x} is neither raw (0x55) nor dag-pb (0x70)")
    if hash_code != MULTIHASH_SHA2_256 or len(digest) != SHA2_256_DIGEST_LENGTH:
        raise InvalidCIDError(text, f"multihash 0x{hash_code:x} is not a 32-byte sha2-256 digest")
    cid = CID(version=version, codec=codec, multihash=raw[offset:])
    if cid.encode() != text:
        raise InvalidCIDError(text, "not in canonical form")
    return cid


def _base32_encode(data: bytes) -> str:
    """RFC 4648 base32, lower-case, without padding (multibase ``base32``)."""
    return base64.b32encode(data).decode("ascii").lower().rstrip("=")


def _base32_decode(text: str, body: str) -> bytes:
    """Inverse of :func:`_base32_encode`; ``text`` is only used for the error message."""
    padding = "=" * (-len(body) % 8)
    try:
        return base64.b32decode(body.upper() + padding)
    except binascii.Error as exc:
        raise InvalidCIDError(text, f"bad base32 length: {exc}") from exc


def _base58btc_encode(data: bytes) -> str:
    """Bitcoin base58 (used only to print legacy CIDv0 strings)."""
    number = int.from_bytes(data, "big")
    chars: list[str] = []
    while number:
        number, remainder = divmod(number, 58)
        chars.append(_BASE58_ALPHABET[remainder])
    leading_zeros = len(data) - len(data.lstrip(b"\x00"))
    return "1" * leading_zeros + "".join(reversed(chars))


# --- protobuf: UnixFS Data and dag-pb PBNode ------------------------------------------------------


def _field_key(number: int, wire_type: int) -> bytes:
    return encode_varint((number << 3) | wire_type)


def _varint_field(number: int, value: int) -> bytes:
    return _field_key(number, _WIRE_VARINT) + encode_varint(value)


def _bytes_field(number: int, payload: bytes) -> bytes:
    return _field_key(number, _WIRE_LENGTH_DELIMITED) + encode_varint(len(payload)) + payload


def encode_unixfs_file(filesize: int, blocksizes: Sequence[int], data: bytes | None = None) -> bytes:
    """Encode a UnixFS ``Data`` message of type File.

    Fields go in field-number order, as Go's and JS's encoders write them: Type (1), Data (2, only for
    dag-pb leaves that carry bytes inline), filesize (3), then one non-packed blocksizes (4) entry per
    child. ``blocksizes`` is proto2 ``repeated uint64`` without ``packed``, hence one key per entry.
    """
    out = bytearray(_varint_field(1, UNIXFS_TYPE_FILE))
    if data is not None:
        out += _bytes_field(2, data)
    out += _varint_field(3, filesize)
    for size in blocksizes:
        out += _varint_field(4, size)
    return bytes(out)


def encode_pb_link(target: CID, tsize: int, name: str = "") -> bytes:
    """Encode one dag-pb ``PBLink``: Hash (1), Name (2, always written, empty for file chunks), Tsize (3).

    ``tsize`` is the cumulative size of the DAG below the link: the block itself plus everything it
    links to (for a raw leaf, the chunk length).
    """
    return (
        _bytes_field(1, target.to_bytes()) + _bytes_field(2, name.encode("utf-8")) + _varint_field(3, tsize)
    )


def encode_pb_node(links: Sequence[bytes], data: bytes) -> bytes:
    """Encode a dag-pb ``PBNode`` from already-encoded links and the UnixFS data.

    The dag-pb spec fixes the byte order: every Links entry (field 2) comes *before* Data (field 1),
    whatever the field numbers suggest; any other order gives a different CID from every IPFS node.
    """
    out = bytearray()
    for link in links:
        out += _bytes_field(2, link)
    out += _bytes_field(1, data)
    return bytes(out)


# --- chunking and the balanced DAG ------------------------------------------------------------------


class ByteSource(Protocol):
    """Anything with a binary ``read(size)``: open files, sockets' file objects, :class:`io.BytesIO`."""

    def read(self, size: int = -1, /) -> bytes:
        """Return up to ``size`` bytes; ``b""`` at the end."""
        ...


@dataclass(frozen=True)
class ImportOptions:
    """How a file is turned into a DAG; the defaults are kubo's ``--cid-version=1 --raw-leaves``.

    Attributes:
        chunk_size: Fixed chunk size in bytes (kubo ``--chunker=size-N``).
        max_links: Most children one dag-pb node may hold (kubo ``--max-file-links``).
        raw_leaves: Store chunks as raw blocks; ``False`` wraps them in dag-pb nodes (legacy).
        cid_version: CID version of the dag-pb nodes; raw leaves are always CIDv1.
    """

    chunk_size: int = DEFAULT_CHUNK_SIZE
    max_links: int = DEFAULT_MAX_LINKS
    raw_leaves: bool = True
    cid_version: int = 1

    def __post_init__(self) -> None:
        if self.chunk_size <= 0:
            raise ValueError(f"chunk_size must be positive, got {self.chunk_size}")
        if self.max_links < 2:
            raise ValueError(f"max_links must be at least 2, got {self.max_links}")
        if self.cid_version not in (0, 1):
            raise ValueError(f"cid_version must be 0 or 1, got {self.cid_version}")


DEFAULT_OPTIONS = ImportOptions()

BlockSink = Callable[[CID, bytes], None]
"""Receives every block as it is built (leaves before the nodes linking to them)."""


@dataclass(frozen=True)
class DagLink:
    """A built subtree as its parent sees it.

    Attributes:
        cid: The subtree root's CID.
        file_size: File bytes under it (the parent's ``blocksizes`` entry).
        dag_size: Encoded bytes of every block under it (the parent link's ``Tsize``).
    """

    cid: CID
    file_size: int
    dag_size: int


@dataclass
class BalancedDagBuilder:
    """Builds kubo's balanced file DAG bottom-up from a stream of chunks.

    ``levels[0]`` holds leaves, ``levels[n]`` nodes of height ``n``. A level is folded into a parent
    node only when one more link arrives while it is already full, or at :meth:`finish`; that gives
    the same tree as kubo's top-down filling (full subtrees left, the last subtree partial but of the
    same height, even if it ends up with a single child). Memory is bounded by ``max_links`` links
    per level, never by the file size.
    """

    options: ImportOptions = DEFAULT_OPTIONS
    on_block: BlockSink | None = None
    levels: list[list[DagLink]] = field(default_factory=list)

    def add_chunk(self, chunk: bytes) -> None:
        """Add the next chunk of the file as a leaf."""
        self._push(0, self._make_leaf(chunk))

    def finish(self) -> DagLink:
        """Fold the pending levels into the root and return it; an empty file becomes one empty leaf."""
        if not self.levels:
            self.add_chunk(b"")
        level = 0
        while True:
            pending = self.levels[level]
            if level == len(self.levels) - 1:
                if level == 0 and len(pending) == 1:
                    return pending[0]
                return self._make_node(pending)
            if pending:
                self.levels[level] = []
                self._push(level + 1, self._make_node(pending))
            level += 1

    def _push(self, level: int, link: DagLink) -> None:
        if len(self.levels) == level:
            self.levels.append([])
        siblings = self.levels[level]
        if len(siblings) == self.options.max_links:
            self.levels[level] = []
            self._push(level + 1, self._make_node(siblings))
        self.levels[level].append(link)

    def _make_leaf(self, chunk: bytes) -> DagLink:
        if self.options.raw_leaves:
            cid = cid_for_block(CODEC_RAW, chunk)
            self._emit(cid, chunk)
            return DagLink(cid=cid, file_size=len(chunk), dag_size=len(chunk))
        block = encode_pb_node([], encode_unixfs_file(len(chunk), [], data=chunk))
        cid = cid_for_block(CODEC_DAG_PB, block, self.options.cid_version)
        self._emit(cid, block)
        return DagLink(cid=cid, file_size=len(chunk), dag_size=len(block))

    def _make_node(self, children: Sequence[DagLink]) -> DagLink:
        file_size = sum(child.file_size for child in children)
        data = encode_unixfs_file(file_size, [child.file_size for child in children])
        block = encode_pb_node([encode_pb_link(child.cid, child.dag_size) for child in children], data)
        cid = cid_for_block(CODEC_DAG_PB, block, self.options.cid_version)
        self._emit(cid, block)
        return DagLink(cid=cid, file_size=file_size, dag_size=len(block) + sum(c.dag_size for c in children))

    def _emit(self, cid: CID, block: bytes) -> None:
        if self.on_block is not None:
            self.on_block(cid, block)


def iter_chunks(stream: ByteSource, chunk_size: int) -> Iterator[bytes]:
    """Yield ``chunk_size``-byte chunks of ``stream`` (the last may be shorter); nothing for an empty one.

    Short reads (pipes, sockets) are topped up, so chunk boundaries depend only on the content, as
    with kubo's fixed-size splitter.
    """
    while True:
        chunk = _read_full(stream, chunk_size)
        if chunk:
            yield chunk
        if len(chunk) < chunk_size:
            return


def _read_full(stream: ByteSource, size: int) -> bytes:
    first = stream.read(size)
    if len(first) in (0, size):
        return first
    parts = [first]
    missing = size - len(first)
    while missing:
        more = stream.read(missing)
        if not more:
            break
        parts.append(more)
        missing -= len(more)
    return b"".join(parts)


@dataclass(frozen=True)
class FileDigest:
    """Everything we record about a document's bytes, gathered in one pass.

    Attributes:
        cid: CIDv1 string of the document.
        sha256: Hex SHA-256 of the whole file.
        size: Length in bytes.
    """

    cid: str
    sha256: str
    size: int


def build_dag(
    chunks: Iterator[bytes], options: ImportOptions = DEFAULT_OPTIONS, on_block: BlockSink | None = None
) -> DagLink:
    """Build the DAG of a file given as chunks and return its root."""
    builder = BalancedDagBuilder(options=options, on_block=on_block)
    for chunk in chunks:
        builder.add_chunk(chunk)
    return builder.finish()


def digest_stream(stream: ByteSource, options: ImportOptions = DEFAULT_OPTIONS) -> FileDigest:
    """CID, SHA-256 and size of a readable binary stream, reading one chunk at a time."""
    sha = hashlib.sha256()
    size = 0

    def counted() -> Iterator[bytes]:
        nonlocal size
        for chunk in iter_chunks(stream, options.chunk_size):
            sha.update(chunk)
            size += len(chunk)
            yield chunk

    root = build_dag(counted(), options)
    return FileDigest(cid=root.cid.encode(), sha256=sha.hexdigest(), size=size)


def digest_file(path: str | Path, options: ImportOptions = DEFAULT_OPTIONS) -> FileDigest:
    """:func:`digest_stream` of the file at ``path``."""
    with open(path, "rb") as stream:
        return digest_stream(stream, options)


def _slices(data: bytes, chunk_size: int) -> Iterator[bytes]:
    view = memoryview(data)
    for start in range(0, len(data), chunk_size):
        yield bytes(view[start : start + chunk_size])


def cid_for_bytes(data: bytes, options: ImportOptions = DEFAULT_OPTIONS) -> str:
    """The CID string kubo gives ``data`` under ``options`` (by default ``--cid-version=1 --raw-leaves``)."""
    return build_dag(_slices(data, options.chunk_size), options).cid.encode()


def cid_for_file(path: str | Path, options: ImportOptions = DEFAULT_OPTIONS) -> str:
    """The CID string of the file at ``path``, streamed chunk by chunk."""
    return digest_file(path, options).cid
