"""Config loading (TOML/JSON, documented defaults, strict keys) and the flag review workflow."""

from __future__ import annotations

from pathlib import Path

import pytest

from audit.anomaly.config import REPORTING_THRESHOLD_SEN, DetectorConfig, load_config
from audit.anomaly.errors import DetectorConfigError, FlagReviewError
from audit.anomaly.flags import Flag, FlagStatus, flag_rows, rupiah
from common.errors import MSCError

EXAMPLE = Path(__file__).resolve().parents[2] / "audit" / "anomaly" / "example_config.toml"


def test_documented_defaults() -> None:
    config = DetectorConfig()
    assert config.structuring.threshold_sen == REPORTING_THRESHOLD_SEN == 50_000_000_000
    assert config.dormant.inactive_days == 90
    assert config.spike.max_price_move == 0.5


def test_example_config_lists_the_defaults() -> None:
    assert load_config(EXAMPLE) == DetectorConfig()


def test_toml_and_json_overrides(tmp_path: Path) -> None:
    toml = tmp_path / "c.toml"
    toml.write_text('[dormant]\ninactive_days = 30\n[allow_list]\npairs = [["m", "p"]]\n', encoding="utf-8")
    config = load_config(toml)
    assert config.dormant.inactive_days == 30 and config.allow_list.pairs == (("m", "p"),)
    js = tmp_path / "c.json"
    js.write_text('{"spike": {"max_price_move": 0.3}, "cycle": {"kinds": ["transfer"]}}', encoding="utf-8")
    config = load_config(js)
    assert config.spike.max_price_move == 0.3 and config.cycle.kinds == ("transfer",)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[dormant]\ninactive_dayz = 3\n", "unknown config key dormant.inactive_dayz"),
        ("[dormat]\n", "unknown config section"),
        ("[dormant]\ninactive_days = 'ninety'\n", "dormant.inactive_days must be"),
        ("[structuring]\nkinds = ['swap']\n", "unknown kind 'swap'"),
        ("[structuring]\nband_fraction = 1.5\n", "band_fraction"),
        ("[dormant\n", "not valid"),
    ],
)
def test_bad_configs_are_refused(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DetectorConfigError, match=message):
        load_config(path)


def test_missing_config_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DetectorConfigError, match="cannot read config file"):
        load_config(tmp_path / "missing.toml")


def test_flag_review_workflow() -> None:
    flag = Flag("cycle", 0.8, ("0x1", "0x2"), "ring")
    assert flag.status is FlagStatus.OPEN
    confirmed = flag.confirm("reported to PPATK")
    assert confirmed.status is FlagStatus.CONFIRMED and confirmed.flag_id == flag.flag_id
    assert flag.dismiss().status is FlagStatus.DISMISSED
    with pytest.raises(FlagReviewError) as caught:
        confirmed.dismiss()
    assert isinstance(caught.value, MSCError)
    assert confirmed.to_dict()["status"] == "confirmed"


def test_flag_rows_one_per_tx_and_kind_highest_score() -> None:
    flags = [
        Flag("cycle", 0.7, ("0x1", "0x2"), "a"),
        Flag("cycle", 0.9, ("0x2",), "b"),
        Flag("spike", 0.6, ("0x2",), "c"),
    ]
    rows = flag_rows(flags, {"0x2": 0, "0x1": 1})
    assert rows == [("0x2", "cycle", 0.9, "b"), ("0x2", "spike", 0.6, "c"), ("0x1", "cycle", 0.7, "a")]


def test_rupiah_formatting() -> None:
    assert rupiah(50_000_000_000) == "Rp 500.000.000"
    assert rupiah(12_345) == "Rp 123,45"
