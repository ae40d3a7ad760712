"""Settings of the LPUI computation (``MSC_LPUI_*``)."""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field, model_validator

from common.settings import EnvSettings


class LpuiSettings(EnvSettings):
    """How the index is computed.

    Attributes:
        window_days: Days in the trailing window whose daily figures are averaged (the day itself
            and the ``window_days - 1`` days before it).
        weight_count: Weight of the normalised average daily transaction count.
        weight_value: Weight of the normalised average daily transaction value. The two weights
            are exact decimals in [0, 1] with at most 4 decimals that sum to exactly 1.
    """

    env_prefix = "MSC_LPUI_"

    window_days: int = Field(default=30, ge=1, le=366)
    weight_count: Decimal = Field(default=Decimal("0.6"), ge=0, le=1)
    weight_value: Decimal = Field(default=Decimal("0.4"), ge=0, le=1)

    @model_validator(mode="after")
    def _weights_sum_to_one(self) -> LpuiSettings:
        if self.weight_count + self.weight_value != 1:
            raise ValueError("MSC_LPUI_WEIGHT_COUNT + MSC_LPUI_WEIGHT_VALUE must be exactly 1")
        if any((w * 10000) % 1 for w in (self.weight_count, self.weight_value)):
            raise ValueError("a weight has at most 4 decimals (it is stored in basis points)")
        return self
