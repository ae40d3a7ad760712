"""The IsolationForest: persist/reload gives identical scores, incremental scoring is batch-invariant."""

from __future__ import annotations

from pathlib import Path

import joblib
import numpy as np
import pytest

from audit.anomaly.config import ModelConfig
from audit.anomaly.detector import detect
from audit.anomaly.errors import ModelFileError
from audit.anomaly.features import FEATURE_NAMES
from audit.anomaly.flags import MODEL
from audit.anomaly.model import AnomalyModel
from audit.anomaly.trades import TradeTable

CONFIG = ModelConfig(n_estimators=50, flag_quantile=0.99)


def halves(table: TradeTable) -> tuple[TradeTable, TradeTable]:
    n = len(table)
    return table.take(np.arange(n) < n // 2), table.take(np.arange(n) >= n // 2)


def test_persist_reload_gives_identical_scores(small_table: TradeTable, tmp_path: Path) -> None:
    first, second = halves(small_table)
    model = AnomalyModel.train(first, CONFIG)
    path = tmp_path / "model.joblib"
    model.save(path)
    reloaded = AnomalyModel.load(path)
    assert reloaded.feature_names == FEATURE_NAMES and reloaded.threshold == model.threshold
    expected = model.score(second).scores
    got = reloaded.score(second).scores
    np.testing.assert_array_equal(expected, got)
    payload = joblib.load(path)
    assert payload["format_version"] == 1 and payload["sklearn_version"]


def test_incremental_scoring_matches_one_batch(small_table: TradeTable) -> None:
    first, second = halves(small_table)
    model = AnomalyModel.train(first, CONFIG)
    whole = model.snapshot().score(second).scores
    stepwise = model.snapshot()
    parts = [stepwise.score(second.take(p)).scores for p in np.array_split(np.arange(len(second)), 5)]
    np.testing.assert_allclose(np.concatenate(parts), whole, rtol=0, atol=1e-12)


def test_model_flags_name_their_driving_features(small_table: TradeTable) -> None:
    first, second = halves(small_table)
    model = AnomalyModel.train(first, CONFIG)
    result = detect(second, model=model, rules=())
    flags = [f for f in result.flags if f.anomaly == MODEL]
    assert flags and result.model_scores is not None
    assert len(flags) <= 0.05 * len(second)
    for flag in flags[:20]:
        assert len(flag.tx_hashes) == 1
        names = [k for k in flag.features if not k.endswith("_robust_z")]
        assert len(names) == CONFIG.top_features and set(names) <= set(FEATURE_NAMES)
        assert all(f"{n}_robust_z" in flag.features for n in names)
        assert "drivers:" in flag.reason


def test_mismatched_or_corrupt_model_files_are_refused(small_table: TradeTable, tmp_path: Path) -> None:
    model = AnomalyModel.train(small_table.take(np.arange(len(small_table)) < 2000), CONFIG)
    path = tmp_path / "m.joblib"
    model.save(path)
    payload = joblib.load(path)
    payload["feature_names"] = ["something_else"]
    joblib.dump(payload, path)
    with pytest.raises(ModelFileError, match="other features"):
        AnomalyModel.load(path)
    path.write_bytes(b"not a model")
    with pytest.raises(ModelFileError, match="cannot be loaded"):
        AnomalyModel.load(path)
    with pytest.raises(ModelFileError, match="does not exist"):
        AnomalyModel.load(tmp_path / "none.joblib")
