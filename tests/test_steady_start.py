"""A stationary start (docs/model.md, section 2.3, "A steady start"): every slow stock begins
where the status quo holds it, so the telling baseline has no start-up transient.

* the staff's mean exhaustion at time 0 is ``initial_mean`` (the centre solved by quadrature,
  survivor selection included);
* positions are vacant at time 0 with the steady chance h d / (1 + h d);
* the initial defect stock has ``initial_fixed_share`` of its defects already fixed, the most
  met most often, without counting them as fixes of the run;
* the default lifetime keeps the status quo's stock stationary at its initial size.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import careos_sim
from careos_sim.model.mechanisms import resolve
from careos_sim.model.unit import CareUnit

ROOT = Path(__file__).resolve().parents[1]

TELLING = ROOT / "scenarios" / "telling.yaml"


def _telling(*sets: str):
    return careos_sim.load_scenario(TELLING, overrides=list(sets))


@pytest.mark.parametrize("mean", [0.2, 0.45, 0.7])
def test_staff_start_at_the_given_mean_exhaustion(mean):
    scenario = _telling(f"staff.exhaustion.initial_mean={mean}")
    values = [n.exhaustion for r in range(60) for n in CareUnit(scenario, 7, r).workforce.nurses]
    assert abs(np.mean(values) - mean) < 0.02, (np.mean(values), mean)


def test_without_selection_the_centre_is_still_the_mean():
    # nobody ever leaves: no survivor selection, the centre only corrects the logistic's curvature
    scenario = _telling("staff.exhaustion.initial_mean=0.45", "staff.turnover.other_reasons_annual_rate=0",
                        "staff.turnover.annual_rate_at_threshold=0")
    values = [n.exhaustion for r in range(60) for n in CareUnit(scenario, 7, r).workforce.nurses]
    assert abs(np.mean(values) - 0.45) < 0.02


def test_positions_vacant_at_the_start_at_the_steady_share():
    scenario = _telling("staff.turnover.hiring_delay_days=365")  # a slow market: many vacancies
    vacant, positions, expected = 0, 0, []
    for r in range(80):
        unit = CareUnit(scenario, 11, r)
        nurses = list(unit.workforce.nurses)
        hd = np.mean([unit.workforce.hazard(n.exhaustion) for n in nurses]) * 365.0
        unit.workforce.start()
        vacant += unit.recorder.vacancies.level
        positions += len(nurses)
        expected.append(hd / (1 + hd))
    share = vacant / positions
    assert abs(share - np.mean(expected)) < 0.03, (share, np.mean(expected))
    assert share > 0.1  # the check has power: about a sixth of positions start vacant here


def test_no_vacancies_at_the_start_when_nobody_leaves():
    scenario = _telling("staff.turnover.other_reasons_annual_rate=0", "staff.turnover.annual_rate_at_threshold=0")
    unit = CareUnit(scenario, 11, 0)
    unit.workforce.start()
    assert unit.recorder.vacancies.level == 0


def _initial_stock(share: float, n: int = 2000, seed: int = 3):
    scenario = _telling(f"defects.initial={n}", f"defects.initial_fixed_share={share}")
    unit = CareUnit(scenario, seed, 0)
    unit.defects.start()
    unit.learning.start()  # the leadership system learns which of them were fixed
    return unit, list(unit.defects.defects)


def test_part_of_the_initial_stock_is_already_fixed_the_most_met_most_often():
    unit, stock = _initial_stock(0.36)
    fixed = np.array([d.fixed for d in stock])
    assert abs(fixed.mean() - 0.36) < 0.03
    base = np.array([d.base_rate for d in stock])
    order = np.argsort(base)
    low, high = fixed[order[: len(stock) // 5]].mean(), fixed[order[-len(stock) // 5:]].mean()
    assert low < 0.26 and high > 0.46, (low, high)  # share x (0.5 + rank): about 0.22 and 0.50
    reduced = [d.rate / d.base_rate for d in stock if d.fixed]
    assert all(r < 1.0 for r in reduced) and abs(1 - np.mean(reduced) - unit.scenario.defects.fix_reduction_mean) < 0.03
    assert all(d.id in unit.backlog.entries for d in stock if d.fixed)  # known: in the backlog
    # not fixes of the run, and not in the unfixed stock the metrics count
    assert unit.recorder.fixes == 0
    assert unit.recorder.active_defects.level == len(stock) - fixed.sum()


def test_no_initial_fixes_at_share_zero():
    unit, stock = _initial_stock(0.0)
    assert not any(d.fixed for d in stock)
    assert unit.recorder.active_defects.level == len(stock)


def test_the_default_lifetime_keeps_the_status_quo_stock_stationary():
    """initial = (12 x new_per_month + mandates_per_year x mandate_defects) x lifetime / 365.25,
    within a defect, at the defaults (docs/model.md, section 2.3)."""
    scenario = _telling()
    d = scenario.defects
    mech = resolve(scenario.leadership)
    arrivals = 12 * d.new_per_month + scenario.leadership.mandates_per_year * mech.mandate_defects
    assert abs(arrivals * d.lifetime_days / 365.25 - d.initial) < 1.0


def test_the_stock_size_does_not_drift():
    """Over four years of the status quo's arrivals and retirements (the defect process alone:
    fixes reduce rates but remove nothing), the present stock stays at its initial size, where
    the old lifetime of 1,460 days made it grow towards 137."""
    def sizes(*sets):
        out = []
        for r in range(20):
            unit = CareUnit(_telling(*sets), 5, r)
            unit.defects.start()
            unit.env.run(until=4 * 364 * 1440.0)
            out.append(len(unit.defects.defects))
        return np.mean(out)

    steady, old = sizes(), sizes("defects.lifetime_days=1460")
    assert abs(steady - 60) < 6, steady  # 20 replications: standard error about 2
    assert old > 95, old  # the check has power: 137 - 77 exp(-1) = 109 expected

def test_listening_starts_from_the_same_state():
    """A unit adopting listening at time 0 starts from today's state: the same staff, the same
    vacancies and the same initial stock, fixed defects included (common random numbers)."""
    listening = careos_sim.load_scenario(ROOT / "scenarios" / "listening.yaml")
    a, b = CareUnit(_telling(), 9, 2), CareUnit(listening, 9, 2)
    for u in (a, b):
        u.defects.start()
        u.workforce.start()
    assert [n.exhaustion for n in a.workforce.nurses] == [n.exhaustion for n in b.workforce.nurses]
    assert [(d.base_rate, d.rate, d.fixed) for d in a.defects.defects] == \
        [(d.base_rate, d.rate, d.fixed) for d in b.defects.defects]
