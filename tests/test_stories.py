"""Tiny SimPy stories: small deterministic units whose event logs can be read line by line."""

from __future__ import annotations

from typing import Any

import pytest

from careos_sim.spec.scenario import SCHEDULED_TASK_TYPES, ScenarioSpec
from careos_sim.model.replication import run_replication
from careos_sim.model.unit import CareUnit

FIXED = {"dist": "fixed"}
NO_ROUNDS = {kind: {"per_day": 0} for kind in SCHEDULED_TASK_TYPES}


def tiny(**blocks: Any) -> ScenarioSpec:
    """A small unit with no randomness left that a story does not ask for."""
    data: dict[str, Any] = {
        "unit": {"beds": 2},
        "patients": {"hold_census_full": True, "call_lights_per_hour": 0, "lep_share": 0,
                     "acuity": {k: {"demand_factor": 1.0} for k in ("low", "medium", "high")}},
        "tasks": dict(NO_ROUNDS),
        "staff": {"roster": "continuous", "dynamics": False, "nurses": {"on_duty": 1}},
        "defects": {"enabled": False},
        "safety": {"slip_probability": 0, "missed_medication_harm": 0, "missed_assessment_harm": 0,
                   "missed_other_harm": 0},
        "run": {"horizon_days": 1},
    }
    for key, value in blocks.items():
        data[key] = {**data.get(key, {}), **value}
    return ScenarioSpec.model_validate(data)


def log(scenario: ScenarioSpec, *kinds: str) -> list[tuple]:
    """(time, event, patient, nurse, task, value) of the events of the given kinds."""
    events = run_replication(scenario, 1, 0, event_log=True).events or []
    return [e[:6] for e in events if not kinds or e[1] in kinds]


def test_a_task_not_started_in_its_window_is_missed_care():
    # Two patients, one nurse, one medication round at 00:00 taking 40 minutes with a 30-minute window:
    # the first dose starts on time, the second would start at minute 40, past its window.
    sc = tiny(tasks={**NO_ROUNDS, "medication": {"per_day": 1, "first_hour": 0, "spread_min": 0,
                                                  "minutes": {**FIXED, "mean": 40}, "window_min": 30}})
    events = log(sc, "start", "missed")
    assert events == [(0.0, "start", 0, 0, "medication", 40.0), (40.0, "missed", 1, None, "medication", None)]
    m = run_replication(sc, 1, 0).metrics
    assert m["effectiveness.missed_care_pct"] == pytest.approx(50.0)
    assert m["effectiveness.missed_medication_pct"] == pytest.approx(50.0)
    assert m["timeliness.task_lateness_min_p90"] < 1.0


def test_priority_then_due_time():
    # At 00:00 documentation (priority 5) comes due for both patients: the idle nurse takes the first
    # at once. At 00:05 assessments (priority 2) come due for both. When she is free at 00:10, the
    # queue holds the second documentation (due earlier) and two assessments: priority wins.
    sc = tiny(tasks={**NO_ROUNDS,
                     "documentation": {"per_day": 1, "first_hour": 0, "spread_min": 0, "priority": 5,
                                       "minutes": {**FIXED, "mean": 10}, "window_min": None},
                     "assessment": {"per_day": 1, "first_hour": 5 / 60, "spread_min": 0, "priority": 2,
                                    "minutes": {**FIXED, "mean": 10}, "window_min": None}})
    starts = [(t, task) for t, _, _, _, task, _ in log(sc, "start")]
    assert starts == [(0.0, "documentation"), (10.0, "assessment"), (20.0, "assessment"),
                      (30.0, "documentation")]


def test_shift_roster_handoff_and_overtime():
    # 5 beds at 1:5 days and nights: one nurse a shift, 7:00 and 19:00 changes, 15-minute handoff.
    sc = tiny(unit={"beds": 5},
              staff={"roster": "shifts", "nurses": {"ratio": {"day": 5, "night": 5}, "shifts_per_week": 3.5},
                     "shifts": {"day_start_hour": 7, "handoff_minutes": 15},
                     "overtime": {"backlog_threshold_tasks": 0, "max_minutes": 30}},
              tasks={**NO_ROUNDS, "documentation": {"per_day": 2, "first_hour": 6.5, "spread_min": 0,
                                                    "minutes": {**FIXED, "mean": 20}, "window_min": None}})
    events = log(sc, "on", "off")
    on = [(t, nurse) for t, kind, _, nurse, _, _ in events if kind == "on"]
    assert [t for t, _ in on] == [0.0, 420.0, 1140.0]  # night shift on at 0, day at 07:00, night at 19:00
    assert len({who for _, who in on}) == 3  # nobody works two shifts in a row
    off = [(t, overtime) for t, kind, _, _, _, overtime in events if kind == "off"]
    # Documentation for 5 patients comes due at 06:30 (100 minutes of work): the night nurse works
    # 06:30-07:00, then stays as overtime until her 30-minute cap (finishing the task in hand).
    assert off[0][0] == pytest.approx(450.0) and off[0][1] == pytest.approx(30.0)
    m = run_replication(sc, 1, 0).metrics
    assert m["efficiency.overtime_hours_per_fte_week"] > 0


def test_boarding_then_admission_and_diversion():
    sc = tiny(unit={"beds": 1},
              patients={"hold_census_full": False, "admissions_per_day": 0, "initial_occupancy": 0,
                        "boarding": {"max_hours": 1}},
              tasks={**NO_ROUNDS, "admission": {"minutes": {**FIXED, "mean": 10}},
                     "discharge": {"minutes": {**FIXED, "mean": 30}}})
    unit = CareUnit(sc, seed=1, replication=0, event_log=True)
    flow = unit.patients

    def story(env):
        first, second = flow.new_patient(), flow.new_patient()
        first.los, second.los = 20.0, 10_000.0  # the second stays past the end of the run
        flow.arrive(first)  # takes the bed; admission work 0-10; ready at 20; discharge work 20-50
        yield env.timeout(5)
        flow.arrive(second)  # boards from minute 5, gets the bed at 50 (boarded 45 minutes)
        yield env.timeout(1)
        third = flow.new_patient()
        flow.arrive(third)  # boards from minute 6, still waiting at 66: diverted

    unit.env.process(story(unit.env))
    rec = unit.run()
    events = [(t, kind, patient, value) for t, kind, patient, _, _, value, *_ in rec.events
              if kind in ("admit", "discharge", "divert")]
    assert events == [(0.0, "admit", 0, 0.0), (50.0, "discharge", 0, 50.0), (50.0, "admit", 1, 45.0),
                      (66.0, "divert", 2, 60.0)]
    total = rec.total()
    assert total.admission_requests == 3 and total.admissions == 2 and total.diversions == 1
    assert total.boarding_minutes == pytest.approx(45.0 + 60.0)
    assert total.discharge_delay_minutes == pytest.approx(30.0)


def test_call_lights_wait_for_a_busy_nurse():
    sc = tiny(patients={"call_lights_per_hour": 2.0},
              tasks={**NO_ROUNDS, "call_light": {"minutes": {"dist": "exponential", "mean": 20.0}}},
              run={"horizon_days": 5})
    m = run_replication(sc, 3, 0).metrics
    # 2 patients x 2 an hour = 4 calls an hour of 20 minutes each: more than one nurse can do.
    assert m["efficiency.nurse_utilization_pct"] > 98
    assert m["timeliness.call_light_wait_min_mean"] > 60
