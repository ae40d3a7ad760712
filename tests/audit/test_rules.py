"""Every rule fires on its injected case and stays quiet on a clean look-alike; the allow-list suppresses."""

from __future__ import annotations

from typing import Any

from audit.anomaly.config import DetectorConfig, config_from_mapping
from audit.anomaly.detector import detect
from audit.anomaly.flags import CYCLE, DORMANT, SPIKE, STRUCTURING, WASH_TRADE, Flag

HOUR, DAY = 3600, 86400
RP = 100
BAND = 490_000_000 * RP  # just under the Rp 500,000,000 reporting threshold


def flagged(flags: list[Flag], kind: str) -> set[str]:
    return {tx for f in flags if f.anomaly == kind for tx in f.tx_hashes}


def run(build: Any, kind: str, config: DetectorConfig | None = None) -> tuple[set[str], list[Flag]]:
    result = detect(build.table(), config)
    return flagged(result.flags, kind), [f for f in result.flags if f.anomaly == kind]


def test_wash_trade_between_accounts_funded_from_one_source(build: Any) -> None:
    build.msc(0, "bank", "owner", 10**10)
    build.msc(HOUR, "owner", "w1", 10**9)
    build.msc(2 * HOUR, "owner", "w2", 10**9)
    t1 = build.carbon(DAY, "w1", "w2", 10, 8_000_000)
    t2 = build.carbon(DAY + HOUR, "w2", "owner", 10, 8_000_000)
    hit, flags = run(build, WASH_TRADE)
    assert hit == {t1, t2}
    assert len(flags) == 1 and set(flags[0].accounts) == {"w1", "w2", "owner"}
    assert len(flags[0].context_tx) == 3  # first funding of owner, w1 and w2
    assert 0.5 <= flags[0].score <= 1.0


def test_self_trade_is_a_wash_trade(build: Any) -> None:
    tx = build.carbon(0, "t1", "t1", 5, 8_000_000)
    hit, flags = run(build, WASH_TRADE)
    assert hit == {tx} and flags[0].score == 1.0


def test_no_wash_trade_between_independently_funded_accounts(build: Any) -> None:
    build.msc(0, "bank_a", "w1", 10**9)
    build.msc(0, "bank_b", "w2", 10**9)
    build.carbon(DAY, "w1", "w2", 10, 8_000_000)
    build.msc(2 * DAY, "w1", "w2", 10**6)  # a plain transfer later is not a first funding
    assert run(build, WASH_TRADE)[0] == set()


def test_public_on_ramp_is_not_an_owner(build: Any) -> None:
    for i in range(6):  # one gateway funding six accounts is a hub (max_funded_accounts = 5)
        build.msc(i, "gateway", f"c{i}", 10**9)
    build.carbon(DAY, "c0", "c1", 10, 8_000_000)
    assert run(build, WASH_TRADE)[0] == set()


def test_cycle_of_conserved_amounts_is_flagged(build: Any) -> None:
    a = build.msc(0, "A", "B", 50_000_000 * RP)
    b = build.msc(5 * HOUR, "B", "C", 49_800_000 * RP)
    c = build.msc(20 * HOUR, "C", "A", 49_500_000 * RP)
    build.msc(21 * HOUR, "A", "D", 49_000_000 * RP)  # leaves the ring: not part of the cycle
    hit, flags = run(build, CYCLE)
    assert hit == {a, b, c}
    assert "3-account cycle" in flags[0].reason


def test_round_trip_is_flagged(build: Any) -> None:
    a = build.msc(0, "A", "B", 20_000_000 * RP)
    b = build.msc(HOUR, "B", "A", 20_000_000 * RP)
    hit, flags = run(build, CYCLE)
    assert hit == {a, b} and "round trip" in flags[0].reason


def test_no_cycle_when_amounts_change_or_window_passes(build: Any) -> None:
    build.msc(0, "A", "B", 50_000_000 * RP)
    build.msc(HOUR, "B", "C", 30_000_000 * RP)  # not conserved
    build.msc(2 * HOUR, "C", "A", 30_000_000 * RP)
    build.msc(0, "X", "Y", 50_000_000 * RP)
    build.msc(4 * DAY, "Y", "X", 50_000_000 * RP)  # closes after the 72 h window
    build.msc(0, "P", "Q", 500_000 * RP)  # below min_amount_sen
    build.msc(HOUR, "Q", "P", 500_000 * RP)
    assert run(build, CYCLE)[0] == set()


def test_cycle_through_a_hub_is_ignored(build: Any) -> None:
    build.msc(0, "A", "B", 50_000_000 * RP)
    build.msc(HOUR, "B", "issuer", 50_000_000 * RP, kind="redemption")
    build.msc(2 * HOUR, "issuer", "A", 50_000_000 * RP)
    assert run(build, CYCLE)[0] == set()


def _market(build: Any, n: int = 6, price: int = 8_000_000) -> None:
    for i in range(n):
        build.carbon(i * HOUR, f"s{i}", f"b{i}", 10, price + (i % 3) * 100_000)


def test_price_spike_is_flagged(build: Any) -> None:
    _market(build)
    tx = build.carbon(7 * HOUR, "s", "b", 10, 13_000_000)  # +60%
    hit, flags = run(build, SPIKE)
    assert hit == {tx}
    assert "up from the reference" in flags[0].reason and len(flags[0].context_tx) == 6


def test_crash_and_volume_jump_are_flagged(build: Any) -> None:
    _market(build)
    crash = build.carbon(7 * HOUR, "s", "b", 10, 3_500_000)
    block = build.carbon(8 * HOUR, "s", "b", 500, 8_000_000)
    assert run(build, SPIKE)[0] == {crash, block}


def test_normal_moves_and_stale_references_are_quiet(build: Any) -> None:
    _market(build)
    build.carbon(7 * HOUR, "s", "b", 30, 10_000_000)  # +25%, 3x size
    build.carbon(3 * DAY, "s", "b", 10, 16_000_000)  # a new level after two quiet days: no reference
    build.carbon(0, "s", "b", 10, 30_000_000, series="S2")  # first trade of another series
    assert run(build, SPIKE)[0] == set()


def test_structuring_by_one_sender(build: Any) -> None:
    txs = {build.msc(d * DAY, "smurf", f"r{d}", BAND + d) for d in range(3)}
    hit, flags = run(build, STRUCTURING)
    assert hit == txs
    assert "reporting threshold" in flags[0].reason and "sent by smurf" in flags[0].reason


def test_structuring_fan_in_to_one_receiver(build: Any) -> None:
    txs = {build.msc(d * DAY, f"mule{d}", "collector", BAND) for d in range(4)}
    assert run(build, STRUCTURING)[0] == txs


def test_no_structuring_when_few_spread_or_outside_band(build: Any) -> None:
    build.msc(0, "a", "x", BAND)
    build.msc(DAY, "a", "y", BAND)  # two only
    for d in range(3):
        build.msc(d * 10 * DAY, "b", "z", BAND)  # three, but ten days apart
        build.msc(d * DAY, "c", "z2", 400_000_000 * RP)  # below the band
        build.msc(d * DAY, "e", "z3", 500_000_000 * RP)  # at the threshold: reported anyway
    assert run(build, STRUCTURING)[0] == set()


def test_structuring_threshold_is_configurable(build: Any) -> None:
    txs = {build.msc(d * DAY, "s", "r", 95_000_000 * RP) for d in range(3)}
    config = config_from_mapping({"structuring": {"threshold_sen": 100_000_000 * RP}})
    assert run(build, STRUCTURING)[0] == set()
    assert run(build, STRUCTURING, config)[0] == txs


def test_dormant_account_waking_up_is_flagged(build: Any) -> None:
    build.msc(0, "bank", "sleeper", 10**9)
    build.msc(DAY, "sleeper", "shop", 10**6, kind="settlement")
    out1 = build.msc(100 * DAY, "sleeper", "x", 10**9)
    out2 = build.msc(100 * DAY + 5 * HOUR, "sleeper", "y", 10**9)
    build.msc(103 * DAY, "sleeper", "z", 10**9)  # after the 24 h burst: activity again, not sudden
    hit, flags = run(build, DORMANT)
    assert hit == {out1, out2}
    assert "inactive for 99 days" in flags[0].reason


def test_active_or_receiving_accounts_are_not_dormant(build: Any) -> None:
    build.msc(0, "bank", "busy", 10**9)
    for d in range(0, 200, 30):
        build.msc(d * DAY, "busy", "shop", 10**6)
    build.msc(0, "bank", "quiet", 10**9)
    build.msc(150 * DAY, "busy", "quiet", 10**9)  # receiving after a long silence is not flagged
    build.msc(150 * DAY, "newcomer", "shop", 10**9)  # first seen: no known past
    assert run(build, DORMANT)[0] == set()


def test_allow_list_suppresses_expected_pairs(build: Any) -> None:
    build.msc(0, "merchant", "payout", 20_000_000 * RP)
    build.msc(HOUR, "payout", "merchant", 20_000_000 * RP)  # a float returned: a round trip
    build.carbon(DAY, "merchant", "payout", 10, 8_000_000)  # first funding made them one owner
    assert run(build, CYCLE)[0] and run(build, WASH_TRADE)[0]
    config = config_from_mapping({"allow_list": {"pairs": [["payout", "merchant"]]}})
    result = detect(build.table(), config)
    assert result.flags == [] and result.allowed_trades == 3


def test_allow_list_keeps_other_pairs(build: Any) -> None:
    build.msc(0, "A", "B", 20_000_000 * RP)
    build.msc(HOUR, "B", "A", 20_000_000 * RP)
    config = config_from_mapping({"allow_list": {"pairs": [["A", "C"]]}})
    assert run(build, CYCLE, config)[0]
