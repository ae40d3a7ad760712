"""Settings of the escrow pay-backs (``MSC_PAYBACKS_*``); the Pi and chain settings are shared."""

from __future__ import annotations

from typing import ClassVar, Self

from pydantic import SecretStr, model_validator

from common.settings import EnvSettings
from settlement.workers.settings import Environment, production_refusal


class PaybackSettings(EnvSettings):
    """What the pay-backs need beyond the Pi flow's and the chain's settings.

    Attributes:
        app_secret: The app wallet's secret seed (``S...``): it signs the Pi payouts. Unset, the
            pay-backs do not run (nothing else in the workers signs Pi payouts).
        environment: The deployment's ``MSC_API_ENVIRONMENT``; ``production`` refuses a seed
            published in the repository or not random.
    """

    env_prefix = "MSC_PAYBACKS_"
    env_aliases: ClassVar[dict[str, str]] = {"environment": "MSC_API_ENVIRONMENT"}

    app_secret: SecretStr = SecretStr("")
    environment: Environment = "development"

    @model_validator(mode="after")
    def _refuse_unsafe_seed_in_production(self) -> Self:
        if self.environment == "production":
            problem = production_refusal("MSC_PAYBACKS_APP_SECRET", self.app_secret.get_secret_value())
            if problem is not None:
                raise ValueError(problem)
        return self

    @property
    def configured(self) -> bool:
        """Whether the app wallet's seed is set."""
        return bool(self.app_secret.get_secret_value())
