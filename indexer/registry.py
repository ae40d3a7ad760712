"""Which contracts the indexer follows, and a decoder per (address, topic0) built once.

The registry is built from the deployment file (names and addresses) and the compiled ABIs.
Each event gets an :class:`EventDecoder` compiled ahead of time: static parameters (addresses,
integers, bools, fixed bytes) are sliced straight out of the hex text, which is several times
faster than a generic ABI decode; events with dynamic parameters (strings, arrays) fall back to
``eth_abi``. A new contract (staking, escrow, carbon credits) is followed by adding it to the
deployment file; nothing here changes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import eth_abi
from eth_utils import event_abi_to_log_topic
from eth_utils.abi import collapse_if_tuple

from chain.artifacts import load_artifact
from chain.deployments import read_deployment
from indexer.errors import DecodeError
from indexer.models import LogStatus

WordDecoder = Callable[[str], Any]
_STATIC = re.compile(r"^(address|bool|u?int(\d*)|bytes(\d+))$")


@dataclass(frozen=True)
class ContractSpec:
    """One followed contract.

    Attributes:
        name: Its name in the deployment file (also the projections' key).
        address: Lowercase ``0x`` address.
        abi: Its ABI (only the events are used).
        start_block: Block it was deployed in; nothing before it is fetched.
    """

    name: str
    address: str
    abi: tuple[dict[str, Any], ...]
    start_block: int


class Decoded(NamedTuple):
    """A decoded log: contract and event names and the arguments by name (Python values).

    (Named tuples, not dataclasses: one of each is built per log, and tuples build fastest.)
    """

    contract: str
    event: str
    args: dict[str, Any]


class DecodeResult(NamedTuple):
    """What the registry made of one log: a status, the decoded event if any, the error if not."""

    status: LogStatus
    decoded: Decoded | None = None
    error: str | None = None


def _word_decoder(abi_type: str) -> WordDecoder | None:
    """A decoder for one 32-byte word (64 hex chars) of a static type, None for dynamic types."""
    match = _STATIC.match(abi_type)
    if match is None:
        return None
    if abi_type == "address":
        return _address_word
    if abi_type == "bool":
        return _bool_word
    if match.group(3):
        return _fixed_bytes_word(int(match.group(3)))
    bits = int(match.group(2) or 256)
    if abi_type.startswith("int"):
        return _int_word(bits)
    return _uint256_word if bits == 256 else _uint_word(bits)


_ADDRESS_PADDING = "0" * 24


def _address_word(word: str) -> str:
    if not word.startswith(_ADDRESS_PADDING):
        raise DecodeError("address word has non-zero padding")
    return "0x" + word[24:].lower()


def _bool_word(word: str) -> bool:
    value = int(word, 16)
    if value > 1:
        raise DecodeError("bool word is neither 0 nor 1")
    return value == 1


def _uint256_word(word: str) -> int:
    """64 hex digits always fit a uint256: no range check needed."""
    return int(word, 16)


def _uint_word(bits: int) -> WordDecoder:
    limit = 1 << bits

    def decode(word: str) -> int:
        value = int(word, 16)
        if value >= limit:
            raise DecodeError(f"uint{bits} out of range")
        return value

    return decode


def _int_word(bits: int) -> WordDecoder:
    half = 1 << (bits - 1)

    def decode(word: str) -> int:
        value = int(word, 16)
        if value >= 1 << 255:
            value -= 1 << 256
        if not -half <= value < half:
            raise DecodeError(f"int{bits} out of range")
        return value

    return decode


def _fixed_bytes_word(size: int) -> WordDecoder:
    def decode(word: str) -> str:
        if word[2 * size :].strip("0"):
            raise DecodeError(f"bytes{size} word has non-zero padding")
        return "0x" + word[: 2 * size].lower()

    return decode


def _hash_word(word: str) -> str:
    """Indexed dynamic values are stored by the EVM as their keccak hash."""
    return "0x" + word.lower()


def _normalise(value: Any) -> Any:
    """eth_abi's values in the mirror's conventions (lowercase addresses, hex bytes)."""
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, list | tuple):
        return [_normalise(v) for v in value]
    if isinstance(value, str) and len(value) == 42 and value.startswith("0x"):
        return value.lower()
    return value


class EventDecoder:
    """Decodes logs of one event of one contract; built once, used for every log."""

    def __init__(self, contract: str, event_abi: Mapping[str, Any]) -> None:
        self.contract = contract
        self.event = str(event_abi["name"])
        topic: bytes = event_abi_to_log_topic(dict(event_abi))  # type: ignore[arg-type]
        self.topic0 = "0x" + topic.hex()
        inputs = list(event_abi.get("inputs", []))
        self._indexed: list[tuple[str, WordDecoder]] = []
        self._data_names: list[str] = []
        self._data_types: list[str] = []
        for item in inputs:
            abi_type = collapse_if_tuple(item)
            if item.get("indexed"):
                self._indexed.append((item["name"], _word_decoder(abi_type) or _hash_word))
            else:
                self._data_names.append(item["name"])
                self._data_types.append(abi_type)
        decoders = [_word_decoder(t) for t in self._data_types]
        self._static: list[WordDecoder] | None = (
            [d for d in decoders if d is not None] if all(d is not None for d in decoders) else None
        )
        self._topic_count = 1 + len(self._indexed)
        # Where each value sits, precomputed: (name, decoder, topic index) and (name, decoder,
        # offset in the 0x-prefixed data text); the data text of a static event has one length.
        self._topic_slots = [(name, dec, i + 1) for i, (name, dec) in enumerate(self._indexed)]
        self._data_slots = (
            [
                (name, dec, 2 + 64 * i)
                for i, (name, dec) in enumerate(zip(self._data_names, self._static, strict=True))
            ]
            if self._static is not None
            else []
        )
        self._data_length = 2 + 64 * len(self._data_slots)

    def decode(self, topics: Sequence[str], data: str) -> Decoded:
        """Decodes one log's topics and data (``0x`` hex text, as the node sends them).

        Raises:
            DecodeError: wrong number of topics, wrong data length, or a value that does not fit.
        """
        if len(topics) != self._topic_count:
            raise DecodeError(f"{self.event} has {self._topic_count} topics, the log has {len(topics)}")
        args: dict[str, Any] = {}
        for name, decode, i in self._topic_slots:
            topic = topics[i]
            if len(topic) != 66:
                raise DecodeError(f"topic of {name} is not 32 bytes")
            args[name] = decode(topic[2:])
        if self._static is not None:
            if len(data) != self._data_length:
                raise DecodeError(
                    f"{self.event} data is {(len(data) - 2) // 2} bytes, expected {32 * len(self._static)}"
                )
            for name, decode, start in self._data_slots:
                args[name] = decode(data[start : start + 64])
        else:
            try:
                values = eth_abi.decode(self._data_types, bytes.fromhex(data[2:]))
            except Exception as exc:  # eth_abi raises several unrelated types for bad input
                raise DecodeError(f"{self.event} data does not decode: {exc}") from exc
            for name, value in zip(self._data_names, values, strict=True):
                args[name] = _normalise(value)
        return Decoded(self.contract, self.event, args)


@dataclass
class Registry:
    """The followed contracts and their precompiled decoders, by address then topic0."""

    contracts: tuple[ContractSpec, ...]
    _decoders: dict[str, dict[str, EventDecoder]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._decoders = {}
        for spec in self.contracts:
            by_topic: dict[str, EventDecoder] = {}
            for item in spec.abi:
                if item.get("type") == "event" and not item.get("anonymous"):
                    decoder = EventDecoder(spec.name, item)
                    by_topic[decoder.topic0] = decoder
            self._decoders[spec.address.lower()] = by_topic

    @property
    def addresses(self) -> list[str]:
        """Every followed address (lowercase), for eth_getLogs' address filter."""
        return sorted(self._decoders)

    @property
    def start_block(self) -> int:
        """The first block any followed contract can have logs in."""
        return min((c.start_block for c in self.contracts), default=0)

    def name_of(self, address: str) -> str | None:
        """The contract name at ``address``, None when it is not followed."""
        address = address.lower()
        return next((c.name for c in self.contracts if c.address.lower() == address), None)

    def decode(self, address: str, topics: Sequence[str], data: str) -> DecodeResult:
        """Decodes one log; never raises: failures come back as a status and an error text."""
        by_topic = self._decoders.get(address.lower())
        if by_topic is None:
            return DecodeResult(LogStatus.UNKNOWN_CONTRACT, error=f"no followed contract at {address}")
        decoder = by_topic.get(topics[0].lower()) if topics else None
        if decoder is None:
            topic = topics[0] if topics else "none"
            return DecodeResult(LogStatus.UNKNOWN_EVENT, error=f"topic0 {topic} matches no event of the ABI")
        try:
            return DecodeResult(LogStatus.DECODED, decoder.decode(topics, data))
        except DecodeError as exc:
            return DecodeResult(LogStatus.UNDECODABLE, error=exc.message)

    @classmethod
    def from_deployment(
        cls, deployment_file: Path, build_dir: Path, artifact_names: Mapping[str, str] | None = None
    ) -> Registry:
        """The registry for every contract in a deployment file.

        Args:
            deployment_file: ``deployments/<network>.json``.
            build_dir: Brownie's build folder holding ``contracts/<Name>.json``.
            artifact_names: Artifact name per deployment name when they differ (default: same).
        """
        deployment = read_deployment(deployment_file)
        names = artifact_names or {}
        specs = [
            ContractSpec(
                name=c.name,
                address=c.address.lower(),
                abi=load_artifact(build_dir, names.get(c.name, c.name)).abi,
                start_block=c.block_number,
            )
            for c in deployment.contracts.values()
        ]
        return cls(tuple(specs))

    @classmethod
    def of(cls, specs: Iterable[ContractSpec]) -> Registry:
        """A registry of explicit contract specs (tests, tools)."""
        return cls(tuple(specs))
