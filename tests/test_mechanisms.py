"""The leadership systems differ because of their mechanisms, and each mechanism does what it says."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest

import careos_sim
from careos_sim.experiment.compare import compare
from careos_sim.measure.statistics import mean_ci
from careos_sim.model.leadership import propensity
from careos_sim.model.entities import Nurse
from careos_sim.model.mechanisms import MAPPING, Resolved, resolve
from careos_sim.spec.scenario import ScenarioSpec
from careos_sim.model.unit import CareUnit

ROOT = Path(__file__).resolve().parents[1] / "scenarios"
TELLING, LISTENING = ROOT / "telling.yaml", ROOT / "listening.yaml"
YEAR = 365.0


def load(path: Path, **sets) -> careos_sim.ScenarioSpec:
    return careos_sim.load_scenario(path, overrides=sets)


def diff_ci(a, b, metric: str) -> tuple[float, float, float]:
    """Mean and 95% CI of the paired difference b - a over replications."""
    return mean_ci(b.replications[metric].to_numpy() - a.replications[metric].to_numpy())


# --------------------------------------------------------------------------- the mapping


def test_every_mechanism_is_mapped_from_one_dial_and_can_be_set_directly():
    assert {f.name for f in fields(Resolved)} == set(MAPPING)
    telling, listening = resolve(ScenarioSpec().leadership), load(LISTENING).leadership
    for name, m in MAPPING.items():
        assert getattr(telling, name) == m.at_0
        assert getattr(resolve(listening), name) == pytest.approx(m.at_1)
    direct = load(LISTENING, **{"leadership.mechanisms.fix_success": 0.2})
    assert resolve(direct.leadership).fix_success == 0.2


@pytest.mark.parametrize("name", sorted(MAPPING))
def test_mapping_is_monotone_in_its_dial(name):
    m = MAPPING[name]
    path = "leadership.listening" if m.dial == "listening" else f"leadership.elements.{m.dial}"
    values = [getattr(resolve(load(TELLING, **{path: d}).leadership), name) for d in np.linspace(0, 1, 5)]
    steps = np.diff(values)
    assert np.all(steps >= 0) or np.all(steps <= 0)
    assert values[0] == m.at_0 and values[-1] == pytest.approx(m.at_1)


# --------------------------------------------------------------------------- the learning loop


def test_a_fix_lowers_its_defects_encounter_rate():
    unit = CareUnit(load(TELLING, **{"run.horizon_days": 1}), seed=1, replication=0)
    unit.defects.start()
    defect = max(unit.defects.defects, key=lambda d: d.rate)
    kind = unit.defects.cats[defect.category].task_types[0]
    t = careos_sim.spec.scenario.TASK_TYPES.index(kind)
    before = unit.defects.encounter_rate(t, lep=1)
    unit.defects.fix(defect, sustained=True)
    after = unit.defects.encounter_rate(t, lep=1)
    removed = before - after
    assert 0 < removed < defect.base_rate  # part of its rate, never all of it
    assert defect.rate == pytest.approx(defect.base_rate - removed)


def test_fixes_remove_a_drawn_share_of_the_rate_around_its_mean():
    unit = CareUnit(load(TELLING, **{"run.horizon_days": 1}), seed=1, replication=0)
    shares = np.array([unit.defects.fix_reduction() for _ in range(4000)])
    cfg = unit.scenario.defects
    assert shares.mean() == pytest.approx(cfg.fix_reduction_mean, abs=0.01)
    assert 0.0 < shares.min() and shares.max() < 1.0
    assert (shares > 0.95).mean() < 0.02  # rarely all of it


def test_no_fix_capacity_means_nothing_is_fixed():
    none = load(LISTENING, **{"leadership.quality_team.fte": 0, "leadership.leader_fix_hours_per_week": 0,
                              **{f"departments.{d}.fix_hours_per_week": 0 for d in careos_sim.spec.scenario.DEPARTMENTS}})
    result = careos_sim.run(none, replications=2, seed=4, horizon_days=180)
    assert (result.replications["learning.fixes_per_month"] == 0).all()
    some = careos_sim.run(load(LISTENING), replications=2, seed=4, horizon_days=180)
    assert (some.replications["learning.fixes_per_month"] > 1).all()


def _early_late(result, metric: str, weeks: int = 8) -> tuple[float, float]:
    weekly = result.weekly[result.weekly["days"] > 6.9]
    by_week = weekly.groupby("week")[metric].mean()
    return by_week.iloc[:weeks].mean(), by_week.iloc[-weeks:].mean()


def test_reporting_falls_under_telling_and_rises_under_listening():
    telling = careos_sim.run(load(TELLING), replications=3, seed=6, horizon_days=YEAR, workers=2)
    listening = careos_sim.run(load(LISTENING), replications=3, seed=6, horizon_days=YEAR, workers=2)
    metric = "learning.reporting_propensity_mean"
    start = propensity(Nurse(0).efficacy)  # every nurse's willingness at time 0
    late = _early_late(telling, metric)[1]
    assert late < 0.85 * start, (start, late)  # learned helplessness: unanswered reports
    late = _early_late(listening, metric)[1]
    assert late > 1.15 * start, (start, late)  # visible, celebrated fixes
    # and so does the share of encounters that reach someone who can fix them, over the year
    share = "learning.report_pct"
    assert listening.replications[share].min() > 3 * telling.replications[share].max()


# --------------------------------------------------------------------------- no defects, no advantage


@pytest.mark.study  # minutes of simulation: run by .ci/run with -m study
def test_without_defects_listening_wins_nothing_beyond_its_costs():
    """With defects disabled, listening's only differences are its costs (huddle time, leader hours)
    and its float budget: it must not come out better on safety or missed care."""
    sets = {"defects.enabled": False}
    result = compare(load(TELLING, **sets), load(LISTENING, **sets), replications=6, seed=3, horizon_days=YEAR,
                     workers=2)
    paired = result.paired.set_index("metric")
    for metric in ("safety.harm_per_1000_patient_days", "effectiveness.missed_care_pct"):
        assert paired.at[metric, "better"] != "b", paired.loc[metric]
    # ... whereas with defects, the learning loop makes it better on harm and on the defects met
    # (missed care may not yet be better in a first year that pays for the launch)
    with_defects = compare(load(TELLING), load(LISTENING), replications=4, seed=3, horizon_days=YEAR, workers=2)
    paired = with_defects.paired.set_index("metric")
    for metric in ("safety.harm_per_1000_patient_days", "learning.defect_encounters_per_rn_8h"):
        assert paired.at[metric, "better"] == "b", paired.loc[metric]


# --------------------------------------------------------------------------- workforce and equity


@pytest.mark.study  # minutes of simulation: run by .ci/run with -m study
def test_more_nurses_mean_less_burnout():
    burnout = []
    for day, night in ((6, 7), (5, 6), (4, 5)):
        sc = load(TELLING, **{"staff.nurses.ratio.day": day, "staff.nurses.ratio.night": night})
        reps = careos_sim.run(sc, replications=4, seed=8, horizon_days=YEAR, workers=2).replications
        burnout.append(reps["workforce.burnout_pct"].to_numpy())
    means = [b.mean() for b in burnout]
    assert means[0] > means[1] > means[2], means
    lo, hi = mean_ci(burnout[0] - burnout[2])[1:]
    assert lo > 0  # 1:6 days against 1:4: clearly more burnout


@pytest.mark.study  # minutes of simulation: run by .ci/run with -m study
def test_lep_patients_fare_worse_only_while_interpreter_defects_exist():
    with_defects = careos_sim.run(load(TELLING), replications=8, seed=12, horizon_days=YEAR, workers=2)
    reps = with_defects.replications
    _, lo, _ = mean_ci(reps["equity.harm_ratio"])
    assert lo > 1.0, reps["equity.harm_ratio"].tolist()
    parity = load(TELLING, **{"defects.categories.interpreter_access.share": 0.0})
    reps = careos_sim.run(parity, replications=8, seed=12, horizon_days=YEAR, workers=2).replications
    for metric in ("equity.harm_ratio", "equity.missed_care_ratio"):
        mean, lo, hi = mean_ci(reps[metric])
        assert lo <= 1.0 <= hi or abs(mean - 1.0) < 0.1, (metric, mean, lo, hi)


def test_presets_share_one_unit_and_differ_only_in_leadership():
    telling, listening = load(TELLING).model_dump(), load(LISTENING).model_dump()
    assert [key for key in telling if telling[key] != listening[key]] == ["leadership"]
    assert "extends: default.yaml" in TELLING.read_text() and "extends: default.yaml" in LISTENING.read_text()
