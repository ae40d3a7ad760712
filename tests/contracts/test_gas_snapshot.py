"""Gas is a tracked figure: MSC, LockStaking and MerchantEscrow must match bench/gas-snapshot.json
within 1%.

Gas is deterministic for the same bytecode and calls; the 1% allows for signature calldata
(zero bytes cost less) in permit. A deliberate change updates the snapshot with
``python bench/gas.py --write-snapshot`` in the same commit.
"""

from __future__ import annotations

import json

import brownie

from bench.gas import (
    SNAPSHOT,
    measure,
    measure_carbon,
    measure_liabilities,
    measure_market,
    measure_platform,
)


def _drift(expected: dict[str, int], actual: dict[str, int]) -> dict[str, tuple[int, int]]:
    assert set(actual) == set(expected)
    return {
        op: (expected[op], actual[op])
        for op in expected
        if abs(actual[op] - expected[op]) > expected[op] // 100
    }


def test_gas_tokenMatchesCommittedSnapshot() -> None:
    expected = json.loads(SNAPSHOT.read_text())["MadiunStableCoin"]
    drift = _drift(expected, measure(brownie.accounts, brownie, brownie.chain).gas["MSC"])
    assert drift == {}, f"gas changed (snapshot, now): {drift}; run `python bench/gas.py --write-snapshot`"


def test_gas_stakingAndEscrowMatchCommittedSnapshot() -> None:
    expected = json.loads(SNAPSHOT.read_text())["platform"]
    drift = _drift(expected, measure_platform(brownie.accounts, brownie, brownie.chain))
    assert drift == {}, f"gas changed (snapshot, now): {drift}; run `python bench/gas.py --write-snapshot`"


def test_gas_carbonMatchesCommittedSnapshot() -> None:
    expected = json.loads(SNAPSHOT.read_text())["carbon"]
    drift = _drift(expected, measure_carbon(brownie.accounts, brownie, brownie.chain))
    assert drift == {}, f"gas changed (snapshot, now): {drift}; run `python bench/gas.py --write-snapshot`"


def test_gas_marketMatchesCommittedSnapshot() -> None:
    expected = json.loads(SNAPSHOT.read_text())["market"]
    drift = _drift(expected, measure_market(brownie.accounts, brownie, brownie.chain))
    assert drift == {}, f"gas changed (snapshot, now): {drift}; run `python bench/gas.py --write-snapshot`"


def test_gas_liabilityPublishMatchesCommittedSnapshot() -> None:
    expected = json.loads(SNAPSHOT.read_text())["liabilities"]
    drift = _drift(expected, measure_liabilities(brownie.accounts, brownie, brownie.chain))
    assert drift == {}, f"gas changed (snapshot, now): {drift}; run `python bench/gas.py --write-snapshot`"
