"""The presets at the calibrated point reproduce the published figures.

* A steady baseline: the telling preset lands inside every band of ``calibration.md`` in year
  one, in year two and in year three taken alone (the bands of
  ``experiments/calibration/default-unit.yaml``, one source for the calibration and this test).
* The listening end inside the evidence: over two years on the default unit, 8 paired
  replications, all-cause harm rate ratio 0.60-0.90, burnout relative reduction 10-35%,
  encounters ratio at least 0.50, cost per patient-day within 5% (implementation included).

These are statistical studies of the real model (a few minutes of CPU), marked slow; CI runs
them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

import careos_sim
from careos_sim.experiment.compare import compare
from careos_sim.measure.statistics import mean_ci

ROOT = Path(__file__).resolve().parents[1]
TELLING, LISTENING = ROOT / "scenarios" / "telling.yaml", ROOT / "scenarios" / "listening.yaml"
TARGETS = ROOT / "experiments" / "calibration" / "default-unit.yaml"
YEARS = 3


#: Targets the calibrated point does not meet on this test's sample, with why (docs/model.md,
#: section 7.2). Strict: the day one passes, the test fails until this list and the docs say so.
KNOWN_MISSES: dict[str, str] = {}


def _bands() -> list:
    spec = yaml.safe_load(TARGETS.read_text())
    targets = [t for t in spec["targets"] if t.get("side") == "telling" and "year" in t]
    return [pytest.param(t, id=t["name"], marks=pytest.mark.xfail(strict=True, reason=KNOWN_MISSES[t["name"]]))
            if t["name"] in KNOWN_MISSES else pytest.param(t, id=t["name"]) for t in targets]


@pytest.fixture(scope="module")
def telling_years() -> dict[tuple[int, str], np.ndarray]:
    """Per-year metrics of the telling preset over three 52-week years, 16 replications."""
    from careos_sim.experiment.replications import with_run_settings
    from careos_sim.model.replication import run_replication
    from concurrent.futures import ProcessPoolExecutor

    scenario = with_run_settings(careos_sim.load_scenario(TELLING), horizon_days=364.0 * YEARS)
    with ProcessPoolExecutor(2) as pool:
        results = list(pool.map(run_replication, [scenario] * 16, [20261125] * 16, range(16)))
    out: dict[tuple[int, str], list[float]] = {}
    for r in results:
        for row in r.yearly:
            for name, value in row.items():
                out.setdefault((int(row["year"]), name), []).append(value)
    return {k: np.asarray(v) for k, v in out.items()}


@pytest.mark.slow
@pytest.mark.study
@pytest.mark.parametrize("target", _bands())
def test_telling_baseline_is_steady_inside_every_band(telling_years, target):
    values = telling_years[(target["year"], target["metric"])]
    mean, lo, hi = mean_ci(values)
    assert target["low"] <= mean <= target["high"], (
        f"{target['name']}: mean {mean:.2f} [{lo:.2f}, {hi:.2f}] outside {target['low']}-{target['high']}")


@pytest.fixture(scope="module")
def two_years() -> careos_sim.Comparison:
    return compare(careos_sim.load_scenario(TELLING), careos_sim.load_scenario(LISTENING), replications=8,
                   seed=20261125, horizon_days=728, workers=2)


INTERVENTION = {
    # metric: (lowest, highest ratio listening / telling, source)
    "safety.harm_per_1000_patient_days": (0.60, 0.90, "AHRQ scorecard -17%; Landrigan 2010; bundles"),
    "workforce.burnout_pct": (0.65, 0.90, "West 2016; Panagioti 2017: a 10-35% relative reduction"),
    "learning.defect_encounters_per_rn_8h": (0.50, 1.00, "Stevens 2017; Tucker, Heisler & Janisse 2014"),
    "efficiency.cost_per_patient_day": (0.95, 1.05, "implementation included, within 5%"),
}


@pytest.mark.slow
@pytest.mark.study
@pytest.mark.parametrize("metric", sorted(INTERVENTION))
def test_listening_effect_lies_inside_the_intervention_evidence(two_years, metric):
    low, high, source = INTERVENTION[metric]
    a = two_years.a.replications[metric].to_numpy()
    b = two_years.b.replications[metric].to_numpy()
    ratio = b.mean() / a.mean()
    assert low <= ratio <= high, f"{metric}: listening / telling = {ratio:.3f}, evidence {low}-{high} ({source})"


def test_defaults_are_the_calibrated_point():
    """The shipped calibration's chosen point is what the presets run: every fitted parameter's
    default (scenario schema, so every scenario that does not set it) equals the last stage
    that fitted it: stage 5's ``chosen.yaml`` (burnout level, other-reasons turnover) over
    stage 4's (the rest)."""
    chosen = yaml.safe_load((TARGETS.parent / "default-unit-stage4" / "chosen.yaml").read_text())
    stage5 = yaml.safe_load((TARGETS.parent / "default-unit-stage5" / "chosen.yaml").read_text())
    for side in chosen:
        chosen[side].update(stage5[side])
    assert len(stage5["telling"]) == 2 and len(chosen["telling"]) == 8
    for path in (TELLING, LISTENING):
        side = "telling" if path == TELLING else "listening"
        data = careos_sim.load_scenario(path).model_dump()
        for dotted, value in chosen[side].items():
            node = data
            for part in dotted.split("."):
                node = node[part]
            assert node == pytest.approx(value, rel=1e-6), (side, dotted, node, value)
