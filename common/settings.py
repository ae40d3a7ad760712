"""Validated settings read from the environment with a per-component prefix.

eth-brownie pins python-dotenv 0.16, which rules out pydantic-settings 2.x, so this is the small
part of it the platform needs: a pydantic model whose fields are filled from ``<PREFIX><FIELD>``
environment variables (case-insensitive), validated once, and refused with a clear error.
A checked-in ``.env.example`` lists every variable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict
from pydantic import ValidationError as PydanticValidationError

from common.errors import ConfigurationError


class EnvSettings(BaseModel):
    """Base for a component's settings; subclasses set ``env_prefix`` and declare fields."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    env_prefix: ClassVar[str] = "MSC_"
    env_aliases: ClassVar[dict[str, str]] = {}
    """Fields read from a variable other than ``<prefix><FIELD>``: one setting shared by several
    components is one variable (e.g. the deployment's environment)."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Self:
        """Builds the settings from ``environ`` (default: the process environment).

        Args:
            environ: Where to read variables from.
            overrides: Values that win over the environment (used by tests and the launcher).

        Raises:
            ConfigurationError: a variable is present but invalid; the message names it.
        """
        source = os.environ if environ is None else environ
        by_upper = {key.upper(): value for key, value in source.items()}
        values: dict[str, Any] = {}
        for field in cls.model_fields:
            variable = cls.env_aliases.get(field, f"{cls.env_prefix}{field}").upper()
            if variable in by_upper and by_upper[variable] != "":
                values[field] = by_upper[variable]
        values.update(overrides)
        try:
            return cls.model_validate(values)
        except PydanticValidationError as exc:
            problems = "; ".join(
                f"{cls.env_prefix}{'.'.join(str(p) for p in err['loc'])}".upper() + f": {err['msg']}"
                for err in exc.errors()
            )
            raise ConfigurationError(f"invalid settings: {problems}") from exc
