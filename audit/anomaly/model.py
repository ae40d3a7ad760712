"""The IsolationForest: train, persist with its version and feature list, reload, score incrementally.

The forest catches what no rule describes. Its score is ``-score_samples`` (higher = easier to
isolate = more unusual); trades above the ``flag_quantile`` of the training scores are flagged.
Every model flag names the features that drove it: the ones whose robust z-score (distance from
the training median in units of 1.4826 x MAD) is largest in absolute value.

The model carries the :class:`~audit.anomaly.features.ActivityState` of everything it has seen,
so ``score`` on tomorrow's trades continues where today's left off; a saved and reloaded model
scores identically to the one that was saved.
"""

from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import sklearn
from sklearn.ensemble import IsolationForest

from audit.anomaly.config import ModelConfig
from audit.anomaly.errors import AnomalyError, ModelFileError
from audit.anomaly.features import FEATURE_NAMES, ActivityState, compute_features
from audit.anomaly.flags import MODEL, Flag
from audit.anomaly.trades import BoolArray, FloatArray, TradeTable

MODEL_FORMAT_VERSION = 1
"""Bumped whenever the persisted layout or the meaning of a feature changes."""
_MAD_TO_SIGMA = 1.4826


@dataclass(frozen=True)
class ModelScores:
    """Scores of one batch with the features they were computed from."""

    scores: FloatArray
    features: FloatArray


@dataclass
class AnomalyModel:
    """A trained forest plus what is needed to score and explain new trades.

    Attributes:
        forest: The fitted IsolationForest.
        threshold: Scores at or above this are flagged.
        center, scale: Per-feature median and robust scale (1.4826 x MAD) of the training data.
        state: Running activity statistics (advanced by every :meth:`score`).
        top_features: How many driving features a flag reports.
        feature_names: Feature order the forest was trained on.
        sklearn_version: scikit-learn version that trained it.
        format_version: :data:`MODEL_FORMAT_VERSION` at training time.
    """

    forest: IsolationForest
    threshold: float
    center: FloatArray
    scale: FloatArray
    state: ActivityState
    top_features: int = 3
    feature_names: tuple[str, ...] = FEATURE_NAMES
    sklearn_version: str = field(default=sklearn.__version__)
    format_version: int = MODEL_FORMAT_VERSION

    @classmethod
    def train(cls, table: TradeTable, config: ModelConfig | None = None) -> AnomalyModel:
        """Fits a forest on ``table``'s trades; the model's state then continues after them."""
        config = config or ModelConfig()
        state = ActivityState()
        features = compute_features(table, state)
        if len(features) < 2:
            raise AnomalyError("the model needs at least 2 trades to train on", trades=len(features))
        forest = IsolationForest(
            n_estimators=config.n_estimators,
            max_samples=min(config.max_samples, len(features)),
            random_state=config.random_state,
        ).fit(features)
        scores = -forest.score_samples(features)
        center = np.median(features, axis=0)
        mad = np.median(np.abs(features - center), axis=0) * _MAD_TO_SIGMA
        spread = features.std(axis=0)
        scale = np.where(mad > 1e-9, mad, np.where(spread > 1e-9, spread, 1.0))
        threshold = float(np.quantile(scores, config.flag_quantile))
        return cls(forest, threshold, center, scale, state, config.top_features)

    def score(self, table: TradeTable) -> ModelScores:
        """Scores a batch of trades that follow what the model has seen, and remembers them."""
        features = compute_features(table, self.state)
        if len(features) == 0:
            return ModelScores(np.zeros(0), features)
        return ModelScores(-self.forest.score_samples(features), features)

    def robust_z(self, features: FloatArray) -> FloatArray:
        """Robust z-scores of feature rows against the training distribution."""
        return (features - self.center) / self.scale

    def flags(self, table: TradeTable, scored: ModelScores, active: BoolArray | None = None) -> list[Flag]:
        """One flag per trade scored at or above the threshold (``active`` masks allowed trades)."""
        hit = scored.scores >= self.threshold
        if active is not None:
            hit &= active
        positions = np.flatnonzero(hit)
        if len(positions) == 0:
            return []
        z = self.robust_z(scored.features[positions])
        top = np.argsort(-np.abs(z), axis=1)[:, : self.top_features]
        flags = []
        for row, pos in enumerate(positions.tolist()):
            evidence: dict[str, float] = {}
            parts = []
            for col in top[row].tolist():
                name = self.feature_names[col]
                evidence[name] = round(float(scored.features[pos, col]), 6)
                evidence[f"{name}_robust_z"] = round(float(z[row, col]), 3)
                parts.append(f"{name}={scored.features[pos, col]:.3g} ({z[row, col]:+.1f} robust z)")
            score = float(scored.scores[pos])
            reason = f"isolation score {score:.3f} >= {self.threshold:.3f}; drivers: " + ", ".join(parts)
            accounts = (table.accounts[int(table.sender[pos])], table.accounts[int(table.receiver[pos])])
            flags.append(
                Flag(
                    MODEL,
                    min(1.0, score),
                    (table.tx_hash[pos],),
                    reason,
                    tuple(dict.fromkeys(accounts)),
                    features=evidence,
                )
            )
        return flags

    def snapshot(self) -> AnomalyModel:
        """An independent copy (e.g. to score a what-if batch without advancing this model)."""
        return copy.deepcopy(self)

    def save(self, path: str | Path) -> None:
        """Persists the model (joblib) with its format version, scikit-learn version and features."""
        payload: dict[str, Any] = {
            "format_version": self.format_version,
            "sklearn_version": self.sklearn_version,
            "feature_names": list(self.feature_names),
            "forest": self.forest,
            "threshold": self.threshold,
            "center": self.center,
            "scale": self.scale,
            "state": self.state,
            "top_features": self.top_features,
        }
        joblib.dump(payload, Path(path))

    @classmethod
    def load(cls, path: str | Path) -> AnomalyModel:
        """Loads a saved model.

        Raises:
            ModelFileError: the file is missing or unreadable, of another format version, or trained
                on a different feature list than this code computes.
        """
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                payload = joblib.load(Path(path))
        except FileNotFoundError:
            raise ModelFileError(f"model file {str(path)!r} does not exist", path=str(path)) from None
        except Exception as exc:  # joblib/pickle raise many kinds of errors on a corrupt file
            raise ModelFileError(
                f"model file {str(path)!r} cannot be loaded: {exc}", path=str(path)
            ) from None
        if not isinstance(payload, dict) or payload.get("format_version") != MODEL_FORMAT_VERSION:
            found = payload.get("format_version") if isinstance(payload, dict) else None
            raise ModelFileError(
                f"model file {str(path)!r} has format version {found!r}; "
                f"this code reads {MODEL_FORMAT_VERSION}",
                path=str(path),
            )
        if tuple(payload["feature_names"]) != FEATURE_NAMES:
            raise ModelFileError(
                f"model file {str(path)!r} was trained on other features; retrain it", path=str(path)
            )
        for warning in caught:
            warnings.warn(
                f"model file {path}: {warning.message} "
                f"(trained with scikit-learn {payload['sklearn_version']}, "
                f"running {sklearn.__version__})",
                stacklevel=2,
            )
        return cls(
            forest=payload["forest"],
            threshold=float(payload["threshold"]),
            center=payload["center"],
            scale=payload["scale"],
            state=payload["state"],
            top_features=int(payload["top_features"]),
            feature_names=tuple(payload["feature_names"]),
            sklearn_version=str(payload["sklearn_version"]),
            format_version=int(payload["format_version"]),
        )
