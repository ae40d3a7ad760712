"""Fixtures for the anomaly detector tests: a small labelled economy and a compact trade builder."""

from __future__ import annotations

import pytest

from audit.anomaly.generator import GeneratedData, GeneratorSettings, generate
from audit.anomaly.trades import TradeRow, TradeTable

T0 = 1_704_067_200  # 2024-01-01T00:00:00Z
HOUR = 3600
DAY = 86400
SMALL = GeneratorSettings(seed=7, days=120, customers=150, merchants=15, suppliers=5, traders=12, episodes=4)


class Builder:
    """Builds a :class:`TradeTable` from short calls; times are offsets from ``T0`` in seconds."""

    def __init__(self) -> None:
        self.rows: list[TradeRow] = []

    def msc(self, t: int, sender: str, receiver: str, amount: int, kind: str = "transfer") -> str:
        """An MSC trade; returns its hash."""
        tx = f"0x{len(self.rows):04x}"
        self.rows.append(
            TradeRow(T0 + t, tx, kind, sender, receiver, "MSC", "", amount, 0, len(self.rows) + 2)
        )
        return tx

    def carbon(self, t: int, seller: str, buyer: str, tonnes: int, price: int, series: str = "S1") -> str:
        """A carbon trade; returns its hash."""
        tx = f"0x{len(self.rows):04x}"
        self.rows.append(
            TradeRow(
                T0 + t, tx, "carbon_trade", seller, buyer, "CARBON", series, tonnes, price, len(self.rows) + 2
            )
        )
        return tx

    def table(self) -> TradeTable:
        """The trades so far."""
        return TradeTable.from_rows(self.rows)


@pytest.fixture
def build() -> Builder:
    """A fresh builder."""
    return Builder()


@pytest.fixture(scope="session")
def small_data() -> GeneratedData:
    """A 120-day economy of 150 customers with 4 episodes of each anomaly kind."""
    return generate(SMALL)


@pytest.fixture(scope="session")
def small_table(small_data: GeneratedData) -> TradeTable:
    """``small_data`` as a table."""
    return TradeTable.from_rows(small_data.rows)
