"""Over one year the telling preset lands inside every band of the calibration targets.

The targets table of ``calibration.md`` (see docs/model.md, "Verification and validation"):
each band must hold the mean over replications and its 95% confidence interval, with enough
replications that an interval means something.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import careos_sim

TELLING = Path(__file__).resolve().parents[1] / "scenarios" / "telling.yaml"

BANDS = {
    # metric: (low, high, source)
    "learning.defect_encounters_per_rn_8h": (6.5, 10.5, "Tucker & Spear 2006: 8.4 per RN per 8 h"),
    "efficiency.workaround_time_pct": (10.0, 15.0, "Tucker, Heisler & Janisse 2014 (>= 10%); ISMP 2016 (15%)"),
    "learning.report_pct": (3.0, 12.0, "Tucker & Edmondson 2003: about 7% reach someone who can fix them"),
    "workforce.burnout_pct": (35.0, 54.0, "NASEM 2019"),
    "workforce.turnover_annual_pct": (14.0, 22.0, "NSI 2025: med-surg 18.0%"),
    "safety.harm_per_1000_patient_days": (45.0, 75.0, "von Plessen et al. 2012: about 60 (+-25%)"),
    "safety.harm_per_100_admissions": (22.5, 37.5, "Eggenschwiler et al. 2022: about 30 (+-25%)"),
    "effectiveness.nurse_shifts_with_missed_care_pct": (70.0, 95.0, "Ball et al. 2014: most (86% of RNs)"),
}


@pytest.fixture(scope="module")
def telling_year() -> careos_sim.RunResult:
    scenario = careos_sim.load_scenario(TELLING)
    return careos_sim.run(scenario, replications=40, seed=20261125, horizon_days=365, workers=2)


@pytest.mark.slow
@pytest.mark.parametrize("metric", sorted(BANDS))
def test_telling_baseline_in_band(telling_year, metric):
    low, high, source = BANDS[metric]
    m = telling_year.metric(metric)
    assert low <= m["ci_low"] and m["ci_high"] <= high, (
        f"{metric}: mean {m['mean']:.2f} [{m['ci_low']:.2f}, {m['ci_high']:.2f}] outside {low}-{high} ({source})")
