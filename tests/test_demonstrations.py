"""Each of the app's demonstrations shows what its text says it shows, at its own settings.

The demonstrations are what educators run; their "what to look for" text makes claims about
the direction of each outcome. These tests run every demonstration exactly as the app runs it
(its presets, overrides, horizon, replications and seed) and check those claims, so a model
change that silently breaks a demonstration fails here. Marked slow and study (about a minute):
not in the default run; .ci/run runs them with ``python -m pytest -m study``.
"""

from __future__ import annotations

import pandas as pd
import pytest

from careos_sim.app.logic import DEMOS, demo_scenarios
from careos_sim.compare import compare

pytestmark = [pytest.mark.slow, pytest.mark.study]


def _run(key: str) -> pd.DataFrame:
    demo = next(d for d in DEMOS if d.key == key)
    a, b, _ = demo_scenarios(demo)
    return compare(a, b, workers=2).paired.set_index("metric")


@pytest.fixture(scope="module")
def demo_results() -> dict[str, pd.DataFrame]:
    return {d.key: _run(d.key) for d in DEMOS}


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


def test_capability_trap(demo_results):
    p = demo_results["capability-trap"]
    assert p.at["flow.pressure_mean", "a_mean"] > 0.7 and p.at["flow.pressure_mean", "b_mean"] == 0
    for metric in ("safety.harm_slip_per_1000_patient_days", "workforce.mean_exhaustion", "workforce.burnout_pct",
                   "learning.reporting_propensity_mean", "learning.active_defects_end"):
        assert _better(p, metric) == "b", metric
    assert _better(p, "effectiveness.missed_care_pct") != "b"  # "no worse than working smarter's"


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
