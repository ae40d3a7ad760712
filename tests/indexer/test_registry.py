"""The precompiled decoders agree with eth_abi and refuse logs that do not fit the ABI."""

from __future__ import annotations

import eth_abi
import pytest

from chain.artifacts import load_artifact
from indexer.models import LogStatus
from indexer.registry import ContractSpec, Registry
from tests.indexer.support import BUILD_DIR

MSC = "0x" + "aa" * 20
TRANSFER = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
ALICE, BOB = "0x" + "11" * 20, "0x" + "22" * 20


@pytest.fixture(scope="module")
def registry() -> Registry:
    abi = load_artifact(BUILD_DIR, "MadiunStableCoin").abi
    return Registry.of([ContractSpec("MadiunStableCoin", MSC, abi, 1)])


def _topic(address: str) -> str:
    return "0x" + "0" * 24 + address[2:]


def test_static_events_decode_exactly_up_to_uint256_max(registry):
    data = "0x" + eth_abi.encode(["uint256"], [2**256 - 1]).hex()
    result = registry.decode(MSC, [TRANSFER, _topic(ALICE), _topic(BOB)], data)
    assert result.status is LogStatus.DECODED and result.decoded is not None
    assert result.decoded.args == {"from": ALICE, "to": BOB, "value": 2**256 - 1}


def test_dynamic_events_fall_back_to_eth_abi(registry):
    decoder = next(d for d in registry._decoders[MSC].values() if d.event == "ReservesAttested")
    data = "0x" + eth_abi.encode(["uint256", "uint256", "string"], [10**30, 7, "ref-9"]).hex()
    result = registry.decode(MSC, [decoder.topic0], data)
    assert result.decoded is not None
    assert result.decoded.args == {"reserves": 10**30, "supply": 7, "attestationRef": "ref-9"}


@pytest.mark.parametrize(
    ("topics", "data", "status"),
    [
        ([TRANSFER, _topic(ALICE), _topic(BOB)], "0x12", LogStatus.UNDECODABLE),  # short data
        ([TRANSFER, _topic(ALICE)], "0x" + "00" * 32, LogStatus.UNDECODABLE),  # missing topic
        ([TRANSFER, "0x" + "ff" * 32, _topic(BOB)], "0x" + "00" * 32, LogStatus.UNDECODABLE),  # dirty address
        (["0x" + "99" * 32], "0x", LogStatus.UNKNOWN_EVENT),
        ([], "0x", LogStatus.UNKNOWN_EVENT),
    ],
)
def test_logs_that_do_not_fit_are_reported_not_raised(registry, topics, data, status):
    result = registry.decode(MSC, topics, data)
    assert result.status is status and result.decoded is None and result.error


def test_unknown_addresses_are_reported(registry):
    assert registry.decode("0x" + "bb" * 20, [TRANSFER], "0x").status is LogStatus.UNKNOWN_CONTRACT
