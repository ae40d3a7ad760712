"""The revert decoder: custom errors by name with typed arguments, built-ins, and bad data."""

from __future__ import annotations

from eth_abi import encode as abi_encode
from eth_utils import function_signature_to_4byte_selector

from chain.revert import RevertDecoder

ABI = [
    {
        "type": "error",
        "name": "MSCMintAllowanceExceeded",
        "inputs": [
            {"name": "minter", "type": "address"},
            {"name": "allowance", "type": "uint256"},
            {"name": "needed", "type": "uint256"},
        ],
    },
    {"type": "error", "name": "MSCZeroAmount", "inputs": []},
    {
        "type": "error",
        "name": "Pair",
        "inputs": [
            {
                "name": "p",
                "type": "tuple",
                "components": [{"name": "a", "type": "uint8"}, {"name": "b", "type": "bytes32"}],
            }
        ],
    },
    {"type": "function", "name": "mint", "inputs": [], "outputs": []},
]
MINTER = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


def _data(signature: str, types: list[str], values: list[object]) -> str:
    return "0x" + (function_signature_to_4byte_selector(signature) + abi_encode(types, values)).hex()


def test_decode_customErrorWithNamedTypedArgs() -> None:
    data = _data(
        "MSCMintAllowanceExceeded(address,uint256,uint256)",
        ["address", "uint256", "uint256"],
        [MINTER, 5, 2**200],
    )
    error = RevertDecoder([ABI]).decode(data)
    assert error.error_name == "MSCMintAllowanceExceeded"
    assert error.args_by_name == {"minter": MINTER, "allowance": 5, "needed": 2**200}
    assert error.raw == data
    assert "MSCMintAllowanceExceeded(minter=" in error.message


def test_decode_errorWithoutArguments() -> None:
    error = RevertDecoder([ABI]).decode(_data("MSCZeroAmount()", [], []))
    assert (error.error_name, error.args_by_name) == ("MSCZeroAmount", {})


def test_decode_tupleArgumentUsesCanonicalSignature() -> None:
    data = _data("Pair((uint8,bytes32))", ["(uint8,bytes32)"], [(7, b"\x01" * 32)])
    error = RevertDecoder([ABI]).decode(data)
    assert error.error_name == "Pair"
    assert error.args_by_name == {"p": (7, b"\x01" * 32)}


def test_decode_builtinErrorString() -> None:
    error = RevertDecoder([]).decode(_data("Error(string)", ["string"], ["not allowed"]))
    assert (error.error_name, error.args_by_name) == ("Error", {"message": "not allowed"})


def test_decode_builtinPanic() -> None:
    error = RevertDecoder([]).decode(bytes.fromhex(_data("Panic(uint256)", ["uint256"], [0x11])[2:]))
    assert (error.error_name, error.args_by_name) == ("Panic", {"code": 0x11})


def test_decode_unknownSelectorKeepsRawData() -> None:
    error = RevertDecoder([ABI]).decode("0xdeadbeef0001")
    assert error.error_name == "Unknown"
    assert error.args_by_name == {"data": "0xdeadbeef0001"}


def test_decode_emptyRevert() -> None:
    assert RevertDecoder([ABI]).decode(None).error_name == "EmptyRevert"
    assert RevertDecoder([ABI]).decode("0x").error_name == "EmptyRevert"


def test_decode_truncatedPayloadKeepsNameAndRawData() -> None:
    data = _data(
        "MSCMintAllowanceExceeded(address,uint256,uint256)", ["address", "uint256", "uint256"], [MINTER, 5, 6]
    )[:-40]
    error = RevertDecoder([ABI]).decode(data)
    assert error.error_name == "MSCMintAllowanceExceeded"
    assert set(error.args_by_name) == {"data"}
