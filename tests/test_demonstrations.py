"""Each of the app's demonstrations shows what its text says it shows, at its own settings.

The demonstrations are what educators run; their "what to look for" text makes claims about
the direction of each outcome. These tests run every demonstration exactly as the app runs it
(its presets, overrides, horizon, replications and seed) and check those claims, so a model
change that silently breaks a demonstration fails here; the weekly claims (when a side is worse
or better) are checked on the weekly series, with weeks numbered from 1 as the figures number
them. Marked slow and study (two to three minutes on two cores): not in the default run;
.ci/run runs them with ``python -m pytest -m study``.
"""

from __future__ import annotations

import pandas as pd
import pytest

from careos_sim.app.logic import DEMOS, demo_scenarios
from careos_sim.experiment.compare import compare

pytestmark = [pytest.mark.slow, pytest.mark.study]


def _run(key: str):
    demo = next(d for d in DEMOS if d.key == key)
    a, b, _ = demo_scenarios(demo)
    return compare(a, b, workers=2)


@pytest.fixture(scope="module")
def comparisons() -> dict:
    return {d.key: _run(d.key) for d in DEMOS}


@pytest.fixture(scope="module")
def demo_results(comparisons) -> dict[str, pd.DataFrame]:
    return {key: c.paired.set_index("metric") for key, c in comparisons.items()}


def _weekly(comparison, metric: str) -> pd.DataFrame:
    """Each side's weekly mean of ``metric`` over the replications; index: the week as the figures number
    it (from 1), and how many days it has."""
    frames = {side: r.weekly.groupby("week").agg(value=(metric, "mean"), days=("days", "first"))
              for side, r in (("a", comparison.a), ("b", comparison.b))}
    out = pd.DataFrame({"a": frames["a"]["value"], "b": frames["b"]["value"], "days": frames["a"]["days"]})
    out.index = out.index + 1
    return out


def _better(paired: pd.DataFrame, metric: str) -> str:
    return str(paired.at[metric, "better"])


def test_telling_versus_listening(demo_results):
    p = demo_results["telling-vs-listening"]
    for metric in ("safety.harm_per_1000_patient_days", "efficiency.workaround_time_pct", "learning.report_pct",
                   "learning.fixes_per_month", "learning.active_defects_end", "workforce.burnout_pct"):
        assert _better(p, metric) == "b", metric
    # "missed care is slightly higher under listening" in its first six months (the launch)
    assert p.at["effectiveness.missed_care_pct", "diff_mean"] > 0
    # "the gains are bounded: many defects stay"
    assert p.at["learning.active_defects_end", "b_mean"] > 0.3 * p.at["learning.active_defects_end", "a_mean"]


def test_capability_trap_pressure_alone(demo_results, comparisons):
    p = demo_results["capability-trap"]
    pressure = _weekly(comparisons["capability-trap"], "flow.pressure_mean")
    # "on from the second week and stays near its maximum (about 0.9 on average); without it, it is zero"
    assert pressure.at[1, "a"] == 0 and (pressure.loc[2:, "a"] > 0.5).all() and (pressure["b"] == 0).all()
    assert 0.85 < p.at["flow.pressure_mean", "a_mean"] < 0.95 and p.at["flow.pressure_mean", "b_mean"] == 0
    # "missed care is about 5 points lower, in every week once the pressure is on"
    missed = _weekly(comparisons["capability-trap"], "effectiveness.missed_care_pct")
    assert _better(p, "effectiveness.missed_care_pct") == "a"
    assert 4 < p.at["effectiveness.missed_care_pct", "diff_mean"] < 6
    assert (missed.loc[2:, "b"] > missed.loc[2:, "a"]).all()
    # "harm from slips doubles, more than the harm it saves from missed care, so harm overall is higher"
    slips = p.loc["safety.harm_slip_per_1000_patient_days"]
    assert 1.7 < slips["a_mean"] / slips["b_mean"] < 2.4 and slips["better"] == "b"
    saved = p.loc["safety.harm_missed_care_per_1000_patient_days"]
    assert saved["better"] == "a" and -slips["diff_mean"] > saved["diff_mean"] > 0
    assert _better(p, "safety.harm_per_1000_patient_days") == "b"
    # "nurses report about half as many of the defects they meet"
    reports = p.loc["learning.report_pct"]
    assert reports["better"] == "b" and 0.4 < reports["a_mean"] / reports["b_mean"] < 0.7
    # "burnout hardly differs"
    assert abs(p.at["workforce.burnout_pct", "diff_mean"]) < 2
    # "the defect stock hardly falls under either (from about 38 to 35 or 36 in the year)"
    stock = _weekly(comparisons["capability-trap"], "learning.active_defects_end")
    assert stock.at[1, "a"] == stock.at[1, "b"] and abs(stock.at[1, "a"] - 38) <= 1
    for side in "ab":
        assert 35 <= round(p.at["learning.active_defects_end", f"{side}_mean"]) <= 36
    assert _better(p, "learning.active_defects_end") == "neither"
    assert p.at["learning.fixes_per_month", "a_mean"] < 3 and p.at["learning.fixes_per_month", "b_mean"] < 3


def test_capability_trap_worse_before_better(demo_results, comparisons):
    p = demo_results["worse-before-better"]
    missed = _weekly(comparisons["worse-before-better"], "effectiveness.missed_care_pct")
    diff = missed["b"] - missed["a"]
    # "above working harder's in every week from week 2 to week 20, within about a point of it until
    # week 36, and below it in every week from week 37 to the end of the second year"
    assert (diff.loc[2:20] > 0).all()
    assert (diff.loc[21:36].abs() < 1).all()
    assert (diff.loc[37:] < 0).all() and diff.index.max() >= 104
    # "over the two years it is 11.8% against 13.1%, a difference whose interval only just includes zero"
    row = p.loc["effectiveness.missed_care_pct"]
    assert (round(row["b_mean"], 1), round(row["a_mean"], 1)) == (11.8, 13.1)
    assert row["better"] == "neither" and row["diff_ci_low"] < 0 < row["diff_ci_high"] < 0.5
    # "harm is lower under listening in almost every week from the start"
    harm = _weekly(comparisons["worse-before-better"], "safety.harm_per_1000_patient_days")
    assert (harm["b"] < harm["a"]).sum() >= 0.95 * len(harm)
    # "over the two years harm, burnout, turnover, reporting and the defect stock are all better under listening"
    for metric in ("safety.harm_per_1000_patient_days", "workforce.burnout_pct", "workforce.turnover_annual_pct",
                   "learning.report_pct", "learning.active_defects_end"):
        assert _better(p, metric) == "b", metric
    # "for about 8 USD more per patient-day"
    assert _better(p, "efficiency.cost_per_patient_day") == "a"
    assert 6 < p.at["efficiency.cost_per_patient_day", "diff_mean"] < 10
    # "pressure is on from the second week, about 0.9 on average"
    pressure = _weekly(comparisons["worse-before-better"], "flow.pressure_mean")
    assert pressure.at[1, "a"] == 0 and (pressure.loc[2:, "a"] > 0).all() and (pressure["b"] == 0).all()
    assert 0.85 < p.at["flow.pressure_mean", "a_mean"] < 0.95


def test_interpreter_equity(demo_results):
    p = demo_results["interpreter-equity"]
    assert _better(p, "equity.missed_care_gap_pct") == "b"
    assert abs(p.at["equity.missed_care_gap_pct", "b_mean"]) < 0.5  # "falls to about zero"
    # "harm from failed communication disappears (none at all)"
    assert p.at["safety.harm_communication_per_1000_patient_days", "b_mean"] == 0
    assert p.at["safety.harm_communication_per_1000_patient_days", "a_mean"] > 0
    # "the outcomes of other patients hardly move"
    assert _better(p, "equity.harm_other_per_1000_patient_days") == "neither"
    assert _better(p, "equity.missed_care_other_pct") == "neither"
    # "LEP patients' harm, the harm ratio and the harm gap fall towards the others'"
    assert p.at["equity.harm_lep_per_1000_patient_days", "diff_mean"] < 0
    assert p.at["equity.harm_ratio", "a_mean"] > p.at["equity.harm_ratio", "b_mean"]
    assert abs(p.at["equity.harm_gap_per_1000_patient_days", "b_mean"]) < \
        abs(p.at["equity.harm_gap_per_1000_patient_days", "a_mean"])
