"""Precision tools: MSER-5 on series with a known answer, the sequential procedure's stopping
point, the ``precision`` command, and the warnings of the other commands."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import careos_sim
from careos_sim.cli.main import _build_parser, main
from careos_sim.experiment.precision import (MAX_RELATIVE_HALF_WIDTH, MIN_HORIZON_DAYS, MIN_REPLICATIONS, MSER_BATCH, Target,
                                  mser5, parse_target, parse_targets, precision_warnings, table_warnings, required_replications,
                                  sequential_precision, warmup_weeks)

REPO = Path(__file__).resolve().parents[1]
TELLING = REPO / "scenarios" / "telling.yaml"
LISTENING = REPO / "scenarios" / "listening.yaml"
#: a small unit for a week or two: a replication takes a few hundredths of a second
SMALL = ["unit.beds=6"]
CHEAP = ["--horizon-days", "7", "--set", "unit.beds=6", "--seed", "5", "--workers", "1", "--quiet"]


def cli(capsys, *argv) -> tuple[int, str, str]:
    capsys.readouterr()
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


# --------------------------------------------------------------------------- MSER-5


def test_mser5_finds_a_known_initial_transient():
    rng = np.random.default_rng(7)
    t = np.arange(500)
    x = 10.0 * np.exp(-t / 20.0) + rng.normal(0.0, 1.0, t.size)  # the bias is below the noise after about 50
    r = mser5(x)
    assert r.batches == 100 and r.truncate_obs == MSER_BATCH * r.truncate_batches
    assert 30 <= r.truncate_obs <= 120, r.truncate_obs
    assert r.reliable
    assert r.statistic.size == r.batches - 1
    assert r.statistic[r.truncate_batches] == pytest.approx(r.statistic[: r.search_end + 1].min())
    # the statistic is, by definition, the variance of the batch means kept over their count
    z = x[:500].reshape(100, 5).mean(axis=1)
    d = r.truncate_batches
    kept = z[d:]
    assert r.statistic[d] == pytest.approx(((kept - kept.mean()) ** 2).sum() / kept.size ** 2)


def test_mser5_truncates_little_of_a_stationary_series():
    rng = np.random.default_rng(3)
    r = mser5(rng.normal(5.0, 1.0, 500))
    assert r.truncate_obs <= 50 and r.reliable  # at most 10% of the series


def test_mser5_on_a_constant_series_truncates_nothing():
    r = mser5(np.full(60, 3.5))
    assert r.truncate_batches == 0 and r.reliable


def test_mser5_says_unreliable_when_the_transient_outlasts_half_the_run():
    r = mser5(np.linspace(0.0, 10.0, 200))  # a trend to the end: the minimum is at the boundary
    assert r.truncate_batches == r.search_end == 20
    assert not r.reliable
    short = mser5(np.ones(12))  # two batches: too short to trust
    assert short.batches == 2 and not short.reliable
    with pytest.raises(ValueError):
        mser5([1.0, math.nan, 2.0])


def _weekly(values_by_rep: list[np.ndarray], metric: str, side: str | None = None, warmup_weeks_: int = 0):
    rows = []
    for rep, values in enumerate(values_by_rep):
        for i, v in enumerate(values):
            rows.append({**({"side": side} if side else {}), "replication": rep, "week": i - warmup_weeks_,
                         "start_day": 7.0 * i, "days": 7.0, metric: v})
    return pd.DataFrame(rows)


def test_warmup_weeks_on_the_mean_weekly_series():
    rng = np.random.default_rng(11)
    weeks = np.arange(150)
    metric = "workforce.burnout_pct"
    reps = [40.0 - 20.0 * np.exp(-weeks / 10.0) + rng.normal(0.0, 3.0, weeks.size) for _ in range(4)]
    flat = [np.full(weeks.size, 12.0) + rng.normal(0.0, 1.0, weeks.size) for _ in range(4)]
    weekly = pd.concat([_weekly(reps, metric, "a"), _weekly(flat, metric, "b")], ignore_index=True)
    # a partial last week is left out
    weekly = pd.concat([weekly, weekly[weekly["week"] == 149].assign(week=150, start_day=1050.0, days=2.0)])
    table = warmup_weeks(weekly, [metric]).set_index("side")
    assert list(table.columns[:2]) == ["metric", "weeks"]
    a, b = table.loc["a"], table.loc["b"]
    assert a["weeks"] == 150 and a["reliable"]
    assert 15 <= a["truncate_weeks"] <= 60, a["truncate_weeks"]
    assert a["warmup_days"] == pytest.approx(7.0 * a["truncate_weeks"])
    assert b["truncate_weeks"] <= 15 and b["reliable"]
    with pytest.raises(KeyError):
        warmup_weeks(weekly, ["no.such_metric"])


# --------------------------------------------------------------------------- targets


def test_targets_parse_absolute_and_relative_and_refuse_bad_input():
    assert parse_target("safety.harm_per_1000_patient_days=2.5") == Target("safety.harm_per_1000_patient_days", 2.5,
                                                                           False)
    t = parse_target("workforce.burnout_pct=5%")
    assert t.relative and t.value == pytest.approx(0.05) and t.half_width(-40.0) == pytest.approx(2.0)
    assert parse_target("workforce.burnout_pct").relative  # the default target is relative
    with pytest.raises(careos_sim.InputError) as exc:
        parse_targets(["turnover=5%", "workforce.burnout_pct=0", "workforce.burnout_pct=x%"])
    text = str(exc.value)
    assert "turnover" in text and "workforce.turnover_annual_pct" in text  # did you mean
    assert text.count("the target must be") == 2


# --------------------------------------------------------------------------- the sequential procedure


def _alternating(start: int, stop: int) -> pd.DataFrame:
    """Replication r: 10 + 1 or 10 - 1 by parity: at every even n the mean is 10 and the sample standard
    deviation sqrt(n / (n - 1)), so the 95% half-width is t(n - 1) / sqrt(n - 1)."""
    r = np.arange(start, stop)
    return pd.DataFrame({"replication": r, "x": 10.0 + np.where(r % 2 == 0, 1.0, -1.0)})


def test_the_sequential_procedure_stops_at_the_first_batch_that_meets_the_target():
    expected = next(n for n in range(4, 200, 2) if stats.t.ppf(0.975, n - 1) / math.sqrt(n - 1) <= 0.5)
    assert expected == 20  # t(19) / sqrt(19) = 0.480; t(17) / sqrt(17) = 0.512
    calls = []

    def draw(start, stop):
        calls.append((start, stop))
        return _alternating(start, stop)

    result = sequential_precision(draw, [Target("x", 0.5, relative=False)], initial=4, batch=2, max_replications=50)
    assert result.met and result.stopped == "met" and result.replications == expected
    assert calls[0] == (0, 4) and all(b - a == 2 for a, b in calls[1:]) and calls[-1][1] == expected
    row = result.table.iloc[0]
    assert row["n"] == expected and row["mean"] == pytest.approx(10.0) and row["met"]
    assert row["half_width"] == pytest.approx(stats.t.ppf(0.975, expected - 1) / math.sqrt(expected - 1))
    assert row["n_needed"] == expected and not row["projected"]
    assert list(result.history["n"]) == list(range(4, expected + 1, 2))
    assert not result.history["met"].iloc[:-1].any()

    # relative: 5% of |10| is the same half-width, so the same stop
    rel = sequential_precision(_alternating, [Target("x", 0.05)], initial=4, batch=2, max_replications=50)
    assert rel.replications == expected

    # a cap first: not met, and a projection at least as large as the true answer for this spread
    capped = sequential_precision(_alternating, [Target("x", 0.2, relative=False)], initial=4, batch=2,
                                  max_replications=10)
    assert capped.stopped == "cap" and capped.replications == 10 and not capped.met
    row = capped.table.iloc[0]
    assert row["projected"] and not row["met"]
    s10 = _alternating(0, 10)["x"].std(ddof=1)  # the spread seen at the cap, carried forward (Law and Kelton)
    projection = next(i for i in range(10, 10**4) if stats.t.ppf(0.975, i - 1) * s10 / math.sqrt(i) <= 0.2)
    assert row["n_needed"] == projection > 10


def test_required_replications_runs_on_common_seeds_and_matches_run_and_compare():
    a = careos_sim.load_scenario(TELLING, SMALL)
    targets = {"efficiency.nurse_utilization_pct": "100%", "effectiveness.missed_care_pct": 1e9}
    one = required_replications(a, targets, seed=5, horizon_days=7, batch=3, max_replications=9)
    assert one.met and one.replications == 3 and not one.paired  # loose targets: met at the first step
    plain = careos_sim.run(a, replications=3, seed=5, horizon_days=7).summary.set_index("metric")
    for row in one.table.itertuples():
        assert row.mean == pytest.approx(plain.at[row.metric, "mean"])
        assert (row.ci_low, row.ci_high) == pytest.approx((plain.at[row.metric, "ci_low"],
                                                           plain.at[row.metric, "ci_high"]))
    assert len(one.a.replications) == 3 and "week" in one.weekly.columns

    b = careos_sim.load_scenario(LISTENING, SMALL)
    tight = {"safety.harm_per_1000_patient_days": 1e-6}  # cannot be met: runs to the cap
    two = required_replications(a, tight, b, seed=5, horizon_days=7, batch=2, max_replications=5)
    assert two.paired and two.stopped == "cap" and two.replications == 5
    assert list(two.history["n"]) == [3, 5]
    paired = careos_sim.compare(a, b, replications=5, seed=5, horizon_days=7).paired.set_index("metric")
    row = two.table.set_index("metric").loc["safety.harm_per_1000_patient_days"]
    assert row["mean"] == pytest.approx(paired.at["safety.harm_per_1000_patient_days", "diff_mean"])
    assert row["ci_high"] == pytest.approx(paired.at["safety.harm_per_1000_patient_days", "diff_ci_high"])
    assert set(two.weekly["side"]) == {"a", "b"}


# --------------------------------------------------------------------------- warnings


def test_precision_warnings_say_what_is_wrong_and_nothing_otherwise():
    assert precision_warnings(10, 730, {"workforce.turnover_annual_pct": (-1.9, 0.9)}) == []
    few = precision_warnings(MIN_REPLICATIONS - 1, 730)
    assert len(few) == 1 and few[0].startswith(f"Only {MIN_REPLICATIONS - 1} replications")
    short = precision_warnings(10, MIN_HORIZON_DAYS - 1)
    assert len(short) == 1 and "short horizon" in short[0] and "docs/model.md" in short[0]
    wide = precision_warnings(10, 730, {"workforce.turnover_annual_pct": (12.0, 152.0),
                                        "workforce.burnout_pct": (40.0, MAX_RELATIVE_HALF_WIDTH * 40.0 + 1),
                                        "safety.harm_per_1000_patient_days": (50.0, 3.0),
                                        "effectiveness.missed_care_pct": (math.nan, math.nan)})
    assert len(wide) == 2
    assert "half-width 152 against a mean of 12" in wide[0] and "as wide as a mean itself" in wide[0]
    assert "careos-sim precision" in wide[0] and "more than half" in wide[1]
    assert all("\n" not in w for w in few + short + wide)
    # a comparison: the half-width of B - A against A's mean, so an outcome the sides agree on does not warn
    paired = pd.DataFrame({"metric": ["effectiveness.missed_care_pct", "workforce.turnover_annual_pct"],
                           "a_mean": [10.0, 20.0], "diff_mean": [0.05, 1.0], "diff_ci_low": [-0.9, -140.0],
                           "diff_ci_high": [1.0, 164.0]})
    (turnover,) = table_warnings(10, 730, paired, "diff_")
    assert "`workforce.turnover_annual_pct`" in turnover and "against A's mean of 20" in turnover


# --------------------------------------------------------------------------- the command line


def test_precision_command_prints_a_table_and_the_warmup(capsys):
    rc, out, err = cli(capsys, "precision", TELLING, *CHEAP, "--metric", "efficiency.nurse_utilization_pct=100%",
                       "--metric", "effectiveness.missed_care_pct=0.5", "--batch", "2",
                       "--max-replications", "5", "--warmup")
    assert rc == 0, err
    lines = out.splitlines()
    assert "not every target met within --max-replications 5" in out
    row = next(line for line in lines if line.startswith("efficiency.nurse_utilization_pct"))
    assert row.split()[1] == "5" and " yes " in row and row.rstrip().endswith(" 3")  # met from the first step on
    row = next(line for line in lines if line.startswith("effectiveness.missed_care_pct") and " no " in line)
    assert row.split()[1] == "5" and "~" in row  # not met: a projection
    assert "MSER-5" in out and "suggested run.warmup_days" in out
    assert "careos-sim: warning: A short horizon (7 days" in err


def test_precision_command_json_for_a_pair(capsys):
    rc, out, err = cli(capsys, "precision", TELLING, LISTENING, *CHEAP, "-m", "safety.harm_per_1000_patient_days=1e9",
                       "--json")
    assert rc == 0, err
    doc = json.loads(out)
    assert doc["paired"] and doc["stopped"] == "met" and doc["replications"] == 5 and doc["a"] == str(TELLING)
    m = doc["metrics"]["safety.harm_per_1000_patient_days"]
    assert m["met"] and m["n"] == 5 and m["target_half_width"] == 1e9


def test_precision_command_names_a_bad_metric_and_exits_2(capsys):
    rc, out, err = cli(capsys, "precision", TELLING, *CHEAP, "--metric", "harm_per_1000=5%",
                       "--metric", "workforce.burnout_pct=abc")
    assert rc == 2 and out == ""
    lines = err.splitlines()
    assert any(line.startswith("--metric harm_per_1000=5%: harm_per_1000: unknown metric") for line in lines), err
    assert "safety.harm_per_1000_patient_days" in err  # did you mean
    assert any("workforce.burnout_pct: the target must be" in line for line in lines), err
    assert "Traceback" not in err


def test_precision_command_respects_the_cost_caps(capsys, monkeypatch):
    monkeypatch.setenv("CAREOS_SIM_MAX_RUNS", "50")
    rc, _, err = cli(capsys, "precision", TELLING, LISTENING, *CHEAP, "--max-replications", "30")
    assert rc == 2 and err.startswith("--max-replications: max-replications:") and "max_runs" in err, err


def test_every_precision_option_states_its_default():
    sub = _build_parser()._subparsers._group_actions[0].choices["precision"]
    for action in sub._actions:
        if action.option_strings and "--help" not in action.option_strings:
            assert action.help and "default" in action.help, action.option_strings


def test_run_with_two_replications_warns_on_stderr(capsys):
    rc, out, err = cli(capsys, "run", TELLING, *CHEAP, "--replications", "2", "--json")
    assert rc == 0
    json.loads(out)  # the warnings stay off stdout
    warnings = [line for line in err.splitlines() if line.startswith("careos-sim: warning: ")]
    assert any("Only 2 replications" in w for w in warnings), err
    assert any("short horizon" in w for w in warnings), err
