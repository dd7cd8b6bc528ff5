"""The full model reduced to an M/M/c queue agrees with queueing theory (model section 9).

These run the real model (``scenarios/verification/mmc.yaml``), moved only through the
``--set`` paths a user would use, never a separate queue written for the test.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import careos_sim
from careos_sim.measure.statistics import mean_ci
from analytic import mmc_wait, mmc_wait_over

ROOT = Path(__file__).resolve().parents[1]
MMC = ROOT / "scenarios" / "verification" / "mmc.yaml"
DEFAULT = ROOT / "scenarios" / "default.yaml"

# (beds, call lights per patient-hour, mean minutes, nurses): lambda = beds x rate / 60, mu = 1 / minutes
CASES = [
    (30, 0.5, 6.0, 2),  # rho 0.75
    (20, 1.2, 4.0, 3),  # rho 0.53
    (40, 0.9, 5.0, 4),  # rho 0.75
    (10, 0.3, 10.0, 1),  # M/M/1, rho 0.5
    (60, 0.8, 3.5, 4),  # rho 0.70
]


def mmc(beds: int, rate: float, minutes: float, nurses: int, **extra) -> careos_sim.ScenarioSpec:
    return careos_sim.load_scenario(MMC, overrides={
        "unit.beds": beds,
        "patients.call_lights_per_hour": rate,
        "tasks.call_light.minutes.mean": minutes,
        "staff.nurses.on_duty": nurses,
        **extra,
    })


@pytest.mark.parametrize("beds,rate,minutes,nurses", CASES)
def test_wait_and_utilisation_match_erlang_c(beds, rate, minutes, nurses):
    lam, mu = beds * rate / 60.0, 1.0 / minutes
    result = careos_sim.run(mmc(beds, rate, minutes, nurses), replications=12, seed=7)
    reps = result.replications

    # 99% intervals: five cases x three checks at 95% would fail by chance too often.
    wait, lo, hi = mean_ci(reps["timeliness.call_light_wait_min_mean"], level=0.99)
    expected = mmc_wait(lam, mu, nurses)
    assert lo <= expected <= hi, f"Erlang-C wait {expected:.3f} outside [{lo:.3f}, {hi:.3f}] (mean {wait:.3f})"

    util, lo, hi = mean_ci(reps["efficiency.nurse_utilization_pct"], level=0.99)
    rho = 100 * lam / (nurses * mu)
    assert lo <= rho <= hi, f"utilisation {rho:.2f}% outside [{lo:.2f}, {hi:.2f}]"

    over, lo, hi = mean_ci(reps["timeliness.call_light_over_10min_pct"], level=0.99)
    expected_over = 100 * mmc_wait_over(lam, mu, nurses, 10.0)
    assert lo <= expected_over <= hi, f"P(wait > 10) {expected_over:.2f}% outside [{lo:.2f}, {hi:.2f}]"


def test_arrival_rate_is_lambda():
    result = careos_sim.run(mmc(30, 0.5, 6.0, 2), replications=4, seed=3)
    rate, lo, hi = mean_ci(result.replications["flow.call_lights_per_patient_hour"], level=0.99)
    assert lo <= 0.5 <= hi
    assert result.metric("counts.patient_days")["mean"] == pytest.approx(30 * 60)


def test_more_nurses_never_lengthen_the_wait():
    """Pathwise: same patients and call lights (common random numbers), more servers, no longer waits."""
    waits = []
    for nurses in (2, 3, 4, 6):
        reps = careos_sim.run(mmc(30, 0.5, 6.0, nurses), replications=5, seed=11).replications
        waits.append(reps["timeliness.call_light_wait_min_mean"].to_numpy())
    for fewer, more in zip(waits, waits[1:]):
        assert np.all(more <= fewer + 1e-12), (fewer, more)
    assert waits[-1].mean() < waits[0].mean() / 10


def test_littles_law_on_the_default_unit():
    """L = lambda W for the task queue and for the census, on a default run."""
    result = careos_sim.run(careos_sim.load_scenario(DEFAULT), replications=3, seed=5, horizon_days=365)
    for _, row in result.replications.iterrows():
        queue_l = row["flow.pending_tasks_mean"]
        queue_lw = row["flow.task_arrivals_per_hour"] / 60.0 * row["flow.task_queue_min_mean"]
        assert queue_l == pytest.approx(queue_lw, rel=0.01)
        census_l = row["flow.mean_census"]
        census_lw = row["flow.admissions_per_day"] * row["flow.los_days_mean"]
        assert census_l == pytest.approx(census_lw, rel=0.03)
        assert 20 < census_l < 30  # about 85% of 30 beds
