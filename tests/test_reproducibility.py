"""Same scenario, same seed: the same numbers, whatever the workers; common random numbers."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import careos_sim
from careos_sim.model.replication import run_replication

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "scenarios" / "default.yaml"


@pytest.fixture(scope="module")
def short_default() -> careos_sim.ScenarioSpec:
    return careos_sim.load_scenario(DEFAULT, overrides={"run.horizon_days": 28})


def test_same_seed_same_numbers(short_default):
    a = careos_sim.run(short_default, replications=3, seed=42)
    b = careos_sim.run(short_default, replications=3, seed=42)
    pd.testing.assert_frame_equal(a.replications, b.replications)
    pd.testing.assert_frame_equal(a.weekly, b.weekly)


def test_other_seed_or_replication_other_numbers(short_default):
    a = careos_sim.run(short_default, replications=2, seed=42).replications
    b = careos_sim.run(short_default, replications=2, seed=43).replications
    col = "timeliness.call_light_wait_min_mean"
    assert a[col].iloc[0] != a[col].iloc[1]
    assert a[col].iloc[0] != b[col].iloc[0]


def test_workers_do_not_change_numbers(short_default):
    one = careos_sim.run(short_default, replications=4, seed=9, workers=1)
    two = careos_sim.run(short_default, replications=4, seed=9, workers=2)
    pd.testing.assert_frame_equal(one.replications, two.replications)
    pd.testing.assert_frame_equal(one.summary, two.summary)
    pd.testing.assert_frame_equal(one.weekly, two.weekly)


def _arrivals(scenario: careos_sim.ScenarioSpec, seed: int = 4) -> pd.DataFrame:
    events = run_replication(scenario, seed, 0, event_log=True).events_frame()
    return events[events.event == "arrival"].reset_index(drop=True)


def test_staffing_leaves_patient_arrivals_unchanged(short_default):
    """Common random numbers: a different staffing level sees the very same patients."""
    base = _arrivals(short_default)
    for sets in ({"staff.nurses.ratio.day": 4, "staff.nurses.ratio.night": 4},
                 {"staff.nurses.ratio.day": 8}, {"staff.roster": "continuous", "staff.nurses.on_duty": 7}):
        other = _arrivals(careos_sim.load_scenario(DEFAULT, overrides={"run.horizon_days": 28, **sets}))
        pd.testing.assert_frame_equal(base, other)
    assert len(base) > 100


def test_staffing_changes_outcomes_but_not_demand(short_default):
    """The same patients ask to be admitted; fewer nurses answer their call lights later."""
    lean = careos_sim.load_scenario(DEFAULT, overrides={"run.horizon_days": 28, "staff.nurses.ratio.day": 7,
                                                        "staff.nurses.ratio.night": 8})
    a, b = run_replication(short_default, 4, 0), run_replication(lean, 4, 0)
    assert b.metrics["timeliness.call_light_wait_min_mean"] > a.metrics["timeliness.call_light_wait_min_mean"]
    assert b.facts.admission_requests == a.facts.admission_requests > 100


def test_memory_is_weekly_aggregates_only(short_default):
    """Without an event log a replication keeps one record per week, not per event."""
    result = run_replication(short_default, 1, 0)
    assert result.events is None
    assert len(result.weekly) == 4
    assert [row["week"] for row in result.weekly] == [0, 1, 2, 3]
