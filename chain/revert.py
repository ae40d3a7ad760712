"""Turning revert data into the contract's custom error, by name, with typed arguments.

Solidity encodes a custom error like a call: a 4-byte selector of ``Name(types)`` and the
ABI-encoded arguments. The decoder indexes every error of every compiled ABI once by selector,
so decoding is a dictionary look-up, and also knows the two built-ins: ``Error(string)`` from
``require``/``revert("...")`` and ``Panic(uint256)`` from failed asserts and arithmetic.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from eth_abi import decode as abi_decode
from eth_utils import function_signature_to_4byte_selector, to_checksum_address

from chain.errors import ContractRevertError

_BUILTINS: dict[bytes, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    bytes.fromhex("08c379a0"): ("Error", ("string",), ("message",)),
    bytes.fromhex("4e487b71"): ("Panic", ("uint256",), ("code",)),
}


@dataclass(frozen=True)
class ErrorSpec:
    """One custom error: its name, argument types and argument names."""

    name: str
    types: tuple[str, ...]
    names: tuple[str, ...]


def _abi_type(param: Mapping[str, Any]) -> str:
    """The canonical type string of an ABI parameter, tuples expanded."""
    typ = str(param["type"])
    if typ.startswith("tuple"):
        inner = ",".join(_abi_type(c) for c in param["components"])
        return f"({inner}){typ[5:]}"
    return typ


class RevertDecoder:
    """Decodes revert data using the errors of the given ABIs."""

    def __init__(self, abis: Iterable[Iterable[Mapping[str, Any]]]) -> None:
        self._specs: dict[bytes, ErrorSpec] = {
            sel: ErrorSpec(name, types, names) for sel, (name, types, names) in _BUILTINS.items()
        }
        for abi in abis:
            for item in abi:
                if item.get("type") != "error":
                    continue
                types = tuple(_abi_type(p) for p in item["inputs"])
                names = tuple(p.get("name") or f"arg{i}" for i, p in enumerate(item["inputs"]))
                selector = function_signature_to_4byte_selector(f"{item['name']}({','.join(types)})")
                self._specs[selector] = ErrorSpec(str(item["name"]), types, names)

    def decode(self, data: bytes | str | None, *, tx_hash: str | None = None) -> ContractRevertError:
        """The typed error for revert ``data`` (hex string or bytes).

        Unknown selectors and empty data still give an error, named ``"Unknown"`` or
        ``"EmptyRevert"``, keeping the raw data so nothing is lost.
        """
        raw = _as_bytes(data)
        if not raw:
            return ContractRevertError("EmptyRevert", {}, tx_hash=tx_hash, raw="0x")
        spec = self._specs.get(raw[:4])
        if spec is None:
            return ContractRevertError(
                "Unknown", {"data": "0x" + raw.hex()}, tx_hash=tx_hash, raw="0x" + raw.hex()
            )
        try:
            values = abi_decode(list(spec.types), raw[4:])
        except Exception:  # malformed payload: keep it raw rather than fail the caller
            return ContractRevertError(
                spec.name, {"data": "0x" + raw[4:].hex()}, tx_hash=tx_hash, raw="0x" + raw.hex()
            )
        args = {n: _normalise(t, v) for n, t, v in zip(spec.names, spec.types, values, strict=True)}
        return ContractRevertError(spec.name, args, tx_hash=tx_hash, raw="0x" + raw.hex())


def _as_bytes(data: bytes | str | None) -> bytes:
    if data is None:
        return b""
    if isinstance(data, bytes):
        return data
    text = data[2:] if data.startswith("0x") else data
    return bytes.fromhex(text)


def _normalise(typ: str, value: Any) -> Any:
    """Addresses checksummed and bytes as hex, so errors read the same everywhere."""
    if typ == "address":
        return to_checksum_address(value)
    if typ.startswith("bytes"):
        return "0x" + bytes(value).hex()
    return value
