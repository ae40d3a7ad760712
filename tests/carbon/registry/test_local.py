"""The local registry's rules and its serial arithmetic, in process."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from carbon.registry import (
    BridgeBackStatus,
    InvalidRegistryRequestError,
    RegistryAdapter,
    RegistryStateConflictError,
    SerialRange,
    UnknownProjectError,
)
from carbon.registry.local import LocalRegistry
from carbon.registry.ranges import RangeSet
from tests.carbon.registry.support import tx


def test_rangeSet_mergesSplitsAndTakesLowest() -> None:
    ranges = RangeSet([SerialRange(1, 10), SerialRange(21, 30), SerialRange(11, 12)])
    assert ranges.ranges == (SerialRange(1, 12), SerialRange(21, 30)) and ranges.total == 22
    ranges.remove(SerialRange(5, 22))
    assert ranges.ranges == (SerialRange(1, 4), SerialRange(23, 30))
    assert ranges.contains(SerialRange(24, 30)) and not ranges.contains(SerialRange(4, 23))
    assert ranges.intersection(SerialRange(3, 24)) == (SerialRange(3, 4), SerialRange(23, 24))
    assert ranges.take_lowest(6) == (SerialRange(1, 4), SerialRange(23, 24))
    assert ranges.ranges == (SerialRange(25, 30),)


def test_serialRange_refusesEmptyOrZero() -> None:
    with pytest.raises(InvalidRegistryRequestError):
        SerialRange(5, 4)
    with pytest.raises(InvalidRegistryRequestError):
        SerialRange(0, 4)


def test_localRegistry_isAnAdapter_andLocksLowestFreeAcrossGaps() -> None:
    registry = LocalRegistry(clock=lambda: datetime(2025, 3, 1, tzinfo=UTC))
    assert isinstance(registry, RegistryAdapter)
    registry.register_project("PRJ-1", "Solar")
    assert registry.issue_verified_units("PRJ-1", 2020, 50) == SerialRange(1, 50)
    assert registry.issue_verified_units("PRJ-1", 2020, 50) == SerialRange(51, 100)
    registry.request_tokenisation("PRJ-1", 2020, 10, SerialRange(5, 14), "a")
    receipt = registry.request_tokenisation("PRJ-1", 2020, 10, None, "b")
    assert receipt.serials == (SerialRange(1, 4), SerialRange(15, 20))
    assert receipt.locked_at == datetime(2025, 3, 1, tzinfo=UTC)
    assert registry.free_units("PRJ-1", 2020) == 80


def test_operatorActions_areIdempotentButNotContradictory() -> None:
    registry = LocalRegistry()
    registry.register_project("PRJ-1", "Solar")
    registry.register_project("PRJ-1", "Solar")
    with pytest.raises(RegistryStateConflictError):
        registry.register_project("PRJ-1", "Wind")
    with pytest.raises(UnknownProjectError):
        registry.issue_verified_units("PRJ-2", 2020, 1)
    registry.open_account("ACC-1", "Holder")
    registry.issue_verified_units("PRJ-1", 2020, 10)
    lock = registry.request_tokenisation("PRJ-1", 2020, 10, None, "t")
    registry.confirm_mint(lock.reference, 1, tx(1))
    registry.request_bridge_back(1, 4, "ACC-1", "BB-1", "b")
    assert registry.confirm_bridge_back("BB-1").status is BridgeBackStatus.CONFIRMED
    assert registry.confirm_bridge_back("BB-1").status is BridgeBackStatus.CONFIRMED
    with pytest.raises(RegistryStateConflictError):
        registry.refuse_bridge_back("BB-1", "too late")


def test_inputValidation_beforeAnyState() -> None:
    registry = LocalRegistry()
    registry.register_project("PRJ-1", "Solar")
    registry.issue_verified_units("PRJ-1", 2020, 10)
    for bad in (
        lambda: registry.request_tokenisation("PRJ-1", 1800, 1, None, "k"),
        lambda: registry.request_tokenisation("PRJ-1", 2020, True, None, "k"),  # type: ignore[arg-type]
        lambda: registry.request_tokenisation("PRJ 1", 2020, 1, None, "k"),
        lambda: registry.request_tokenisation("PRJ-1", 2020, 1, None, "key with spaces"),
        lambda: registry.confirm_mint("SRN-TOK-000001", 2**256, tx(1)),
        lambda: registry.confirm_mint("SRN-TOK-000001", 1, "0xABC"),
    ):
        with pytest.raises(InvalidRegistryRequestError):
            bad()
    assert registry.free_units("PRJ-1", 2020) == 10
