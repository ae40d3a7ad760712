"""Detector thresholds: documented defaults, overridable from a TOML or JSON file.

Every key lives in a section named after the rule it tunes; an unknown section or key, or a value
of the wrong type, is refused with :class:`~audit.anomaly.errors.DetectorConfigError` naming it,
so a typo never silently falls back to a default. Money is configured in integer sen. The full
key reference with examples is ``audit/anomaly/README.md``; ``example_config.toml`` next to this
module lists every key with its default.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from audit.anomaly.errors import DetectorConfigError
from audit.anomaly.trades import KIND_CODE

REPORTING_THRESHOLD_SEN = 50_000_000_000
"""Indonesia's cash-transaction reporting threshold (PPATK): Rp 500,000,000, in sen."""


@dataclass(frozen=True)
class StructuringConfig:
    """Many payments just under the reporting threshold.

    Attributes:
        threshold_sen: Reporting threshold in sen (default Rp 500,000,000).
        band_fraction: Width of the "just under" band as a fraction of the threshold: a payment is
            in the band when ``threshold * (1 - band_fraction) <= amount < threshold``.
        min_count: In-band payments by one account (see ``group_by``) within the window that make a flag.
        window_hours: Length of the sliding window.
        kinds: Trade kinds considered (MSC only).
        group_by: ``sender`` (one account splitting payments out) and/or ``receiver`` (many payments
            collected by one account; hub accounts such as the issuer are skipped there).
    """

    threshold_sen: int = REPORTING_THRESHOLD_SEN
    band_fraction: float = 0.10
    min_count: int = 3
    window_hours: int = 168
    kinds: tuple[str, ...] = ("transfer", "settlement", "redemption")
    group_by: tuple[str, ...] = ("sender", "receiver")


@dataclass(frozen=True)
class DormantConfig:
    """Sudden activity of a dormant account.

    Attributes:
        inactive_days: Days without any activity (sent or received) after which an account is dormant.
        burst_hours: After the account wakes up, trades it *sends* within this many hours are flagged.
        min_amount_sen: MSC trades below this amount are not flagged (carbon trades always are).
    """

    inactive_days: int = 90
    burst_hours: int = 24
    min_amount_sen: int = 0


@dataclass(frozen=True)
class WashTradeConfig:
    """Wash trades and self-trades: one beneficial owner on both sides.

    Attributes:
        kinds: Trade kinds that count as market trades (default: carbon trades only; transfers
            between one's own accounts are normal).
        funding_kinds: Kinds whose first incoming MSC to an account is its "first funding" edge.
        max_funded_accounts: A funder that first-funded more accounts than this is a public on-ramp
            (bank gateway, exchange), not an owner, and is not clustered.
    """

    kinds: tuple[str, ...] = ("carbon_trade",)
    funding_kinds: tuple[str, ...] = ("transfer",)
    max_funded_accounts: int = 5


@dataclass(frozen=True)
class CycleConfig:
    """Round trips and cycles of roughly conserved amounts among a few accounts.

    Attributes:
        window_hours: The whole cycle must close within this many hours of its first hop.
        max_length: Most accounts (= hops) in a cycle; 2 is a round trip.
        amount_tolerance: Each hop's amount may differ from the first hop's by at most this fraction.
        min_amount_sen: Hops smaller than this are ignored (petty repayments between friends).
        kinds: Trade kinds that can be hops (MSC only).
        max_search_steps: Budget of path extensions; the search stops (with a note) beyond it.
    """

    window_hours: int = 72
    max_length: int = 5
    amount_tolerance: float = 0.05
    min_amount_sen: int = 100_000_000
    kinds: tuple[str, ...] = ("transfer", "settlement")
    max_search_steps: int = 1_000_000


@dataclass(frozen=True)
class SpikeConfig:
    """Price or volume jumps of a carbon series within a day.

    Attributes:
        max_price_move: Relative move from the reference price that is flagged (0.5 = 50%, where the
            exchange would halt trading).
        max_volume_factor: A trade of at least this many times the reference trade size is flagged.
        window_hours: Reference trades must be at most this old.
        reference_trades: The reference is the median of up to this many previous trades of the series.
        min_reference_trades: No reference (and no flag) with fewer previous trades in the window.
    """

    max_price_move: float = 0.5
    max_volume_factor: float = 20.0
    window_hours: int = 24
    reference_trades: int = 15
    min_reference_trades: int = 3


@dataclass(frozen=True)
class AccountsConfig:
    """Accounts with a known role.

    Attributes:
        hubs: Issuer, bank gateways, exchanges: never clustered as owners, never part of a cycle.
            Receivers of redemptions and funders above ``wash_trade.max_funded_accounts`` are hubs
            automatically.
    """

    hubs: tuple[str, ...] = ()


@dataclass(frozen=True)
class AllowListConfig:
    """Known account pairs whose mutual trades are expected (a merchant and its payout account).

    Attributes:
        pairs: Unordered ``[a, b]`` pairs; trades between them are left out of every rule and the
            model's flags (they still count as activity for dormancy and as funding edges).
    """

    pairs: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ModelConfig:
    """The IsolationForest.

    Attributes:
        n_estimators: Trees in the forest.
        max_samples: Samples drawn per tree.
        flag_quantile: Scores above this quantile of the training scores are flagged.
        top_features: Features reported as the drivers of a model flag.
        random_state: Seed, for reproducible training.
    """

    n_estimators: int = 100
    max_samples: int = 256
    flag_quantile: float = 0.999
    top_features: int = 3
    random_state: int = 0


@dataclass(frozen=True)
class DetectorConfig:
    """All sections; the defaults are the documented thresholds."""

    structuring: StructuringConfig = field(default_factory=StructuringConfig)
    dormant: DormantConfig = field(default_factory=DormantConfig)
    wash_trade: WashTradeConfig = field(default_factory=WashTradeConfig)
    cycle: CycleConfig = field(default_factory=CycleConfig)
    spike: SpikeConfig = field(default_factory=SpikeConfig)
    accounts: AccountsConfig = field(default_factory=AccountsConfig)
    allow_list: AllowListConfig = field(default_factory=AllowListConfig)
    model: ModelConfig = field(default_factory=ModelConfig)


_KIND_KEYS = {"kinds", "funding_kinds"}


def _coerce(where: str, default: Any, value: Any) -> Any:
    """Checks ``value`` against the type of the key's default and converts lists to tuples."""
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif isinstance(default, tuple):
        ok = isinstance(value, list)
        if ok and where.endswith("pairs"):
            ok = all(
                isinstance(p, list) and len(p) == 2 and all(isinstance(a, str) for a in p) for p in value
            )
            value = tuple((str(p[0]), str(p[1])) for p in value) if ok else value
        elif ok:
            ok = all(isinstance(v, str) for v in value)
            value = tuple(value) if ok else value
    else:  # pragma: no cover - every default is one of the above
        ok = False
    if not ok:
        raise DetectorConfigError(
            f"config key {where} must be of the type of its default {default!r}, got {value!r}", key=where
        )
    return value


def _check(config: DetectorConfig) -> None:
    """Range checks that types alone do not catch."""
    s, c, sp = config.structuring, config.cycle, config.spike
    problems = []
    for section in ("structuring", "wash_trade", "cycle"):
        for key in ("kinds", "funding_kinds"):
            for kind in getattr(getattr(config, section), key, ()):
                if kind not in KIND_CODE:
                    problems.append(f"{section}.{key}: unknown kind {kind!r}")
    if not 0 < s.band_fraction < 1:
        problems.append("structuring.band_fraction must be between 0 and 1")
    if not set(s.group_by) <= {"sender", "receiver"}:
        problems.append("structuring.group_by may only contain 'sender' and 'receiver'")
    if c.max_length < 2:
        problems.append("cycle.max_length must be at least 2")
    if not 0 <= c.amount_tolerance < 1:
        problems.append("cycle.amount_tolerance must be in [0, 1)")
    if sp.min_reference_trades < 1 or sp.reference_trades < sp.min_reference_trades:
        problems.append("spike.reference_trades must be >= spike.min_reference_trades >= 1")
    if not 0 < config.model.flag_quantile < 1:
        problems.append("model.flag_quantile must be between 0 and 1")
    positive = {
        "structuring.threshold_sen": s.threshold_sen,
        "structuring.min_count": s.min_count,
        "structuring.window_hours": s.window_hours,
        "dormant.inactive_days": config.dormant.inactive_days,
        "cycle.window_hours": c.window_hours,
        "spike.max_price_move": sp.max_price_move,
        "spike.max_volume_factor": sp.max_volume_factor,
        "spike.window_hours": sp.window_hours,
        "model.n_estimators": config.model.n_estimators,
        "model.max_samples": config.model.max_samples,
    }
    problems += [f"{key} must be positive" for key, value in positive.items() if value <= 0]
    if problems:
        raise DetectorConfigError("invalid detector config: " + "; ".join(problems), problems=problems)


def config_from_mapping(data: dict[str, Any]) -> DetectorConfig:
    """Builds a config from ``{section: {key: value}}``; missing keys keep their defaults."""
    base = DetectorConfig()
    sections = {f.name: getattr(base, f.name) for f in fields(base)}
    updates: dict[str, Any] = {}
    for name, values in data.items():
        if name not in sections:
            raise DetectorConfigError(
                f"unknown config section [{name}]; known: {', '.join(sections)}", section=name
            )
        if not isinstance(values, dict):
            raise DetectorConfigError(f"config section [{name}] must be a table of keys", section=name)
        current = sections[name]
        known = {f.name: getattr(current, f.name) for f in fields(current)}
        changes = {}
        for key, value in values.items():
            if key not in known:
                raise DetectorConfigError(
                    f"unknown config key {name}.{key}; known: {', '.join(known)}", key=f"{name}.{key}"
                )
            changes[key] = _coerce(f"{name}.{key}", known[key], value)
        updates[name] = replace(current, **changes)
    config = replace(base, **updates)
    _check(config)
    return config


def load_config(path: str | Path | None) -> DetectorConfig:
    """Reads a ``.toml`` or ``.json`` config file; ``None`` gives the defaults."""
    if path is None:
        return DetectorConfig()
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise DetectorConfigError(
            f"cannot read config file {str(path)!r}: {exc.strerror}", path=str(path)
        ) from None
    try:
        data = json.loads(text) if path.suffix.lower() == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as exc:
        raise DetectorConfigError(f"config file {str(path)!r} is not valid: {exc}", path=str(path)) from None
    if not isinstance(data, dict):
        raise DetectorConfigError(f"config file {str(path)!r} must hold a table of sections", path=str(path))
    return config_from_mapping(data)
