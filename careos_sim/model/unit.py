"""One inpatient unit as a SimPy model, and one replication of it.

:func:`run_unit` is a pure function of (scenario, seed, replication): it builds the
runtime state from the frozen scenario, runs it, and returns the facts it recorded. It never
reads files or global state, so replications can run in any process, in any order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping

import pandas as pd
import simpy

from careos_sim.measure.eventlog import NO_EVENT_LOG, EventLog
from careos_sim.measure.metrics import ALL, evaluate
from careos_sim.measure.recorder import EVENT_COLUMNS, Facts, Recorder
from careos_sim.model.defects import DefectSystem
from careos_sim.model.environment import Environment
from careos_sim.model.leadership import Backlog, LearningSystem, Pressure, Reporting
from careos_sim.model.mechanisms import resolve
from careos_sim.model.nurses import NO_FLOAT_POOL, FloatCover, Staff, headcount
from careos_sim.model.patients import PatientFlow
from careos_sim.model.safety import Safety
from careos_sim.model.shared.departments import DepartmentDesk, Desk, FixedFn, HospitalDepartment
from careos_sim.model.shared.flow import FLAT_DEMAND, NO_ROUTING, Demand, Routing
from careos_sim.model.streams import Streams
from careos_sim.model.tasks import TaskQueue
from careos_sim.model.workforce import Workforce
from careos_sim.spec.scenario import LeadershipSpec, ScenarioSpec
from careos_sim.clock import DAY, WEEK

__all__ = ["CareUnit", "UnitLinks", "ALONE", "ReplicationResult", "run_unit", "EVENT_COLUMNS"]



@dataclass(frozen=True)
class UnitLinks:
    """What a unit shares with the hospital it is part of; a unit alone shares nothing.

    ``stream_scope`` names its random streams (a hospital's unit by its name); ``index_offset``
    makes its patients' indices unique in the hospital; ``routing`` and ``demand``: overflow,
    transfers and admissions over time; ``float_pool``: who covers open slots before agency;
    ``departments``: shared departments (empty: the unit's own desks); ``own_mandates``: its
    leaders issue its mandates (else the hospital does); ``goal_phase``: the hospital's rotating
    goal (None: the unit's own); ``on_period(week, facts)``: told of each closed week;
    ``weekly_rows``: keep the unit's own row of metrics a week (a hospital keeps rows of all its
    units together instead, so that its memory grows by one row a week, not one a unit)."""

    stream_scope: str = ""
    index_offset: int = 0
    routing: Routing = NO_ROUTING
    demand: Demand = FLAT_DEMAND
    float_pool: FloatCover = NO_FLOAT_POOL
    departments: Mapping[str, HospitalDepartment] = field(default_factory=dict)
    own_mandates: bool = True
    goal_phase: float | None = None
    on_period: Callable[[int, Facts], None] = lambda week, facts: None
    weekly_rows: bool = True


ALONE = UnitLinks()


class CareUnit:
    """The runtime model of one unit on one SimPy environment.

    Each component is built from its own block of the scenario and is handed its collaborators
    when it is built, in the order they depend on each other: safety; the task queue (missed care
    goes to safety); the workforce (the employed nurses); leaders' pressure and the reporting of
    defects; the defects (harm goes to safety, encounters to reporting); the leadership system
    (prioritising and fixing the defects, escalating to departments); the staff at work (the
    queue, the workforce, safety, pressure and the defects' extra minutes); and the patients.
    ``ocel`` (a :class:`~careos_sim.measure.eventlog.EventLog`, or the do-nothing default) is
    given to each; ``links``: what it shares with a hospital (:class:`UnitLinks`).
    """

    def __init__(self, scenario: ScenarioSpec, seed: int, replication: int, event_log: bool = False,
                 env: Environment | None = None, ocel: EventLog | None = None, links: UnitLinks = ALONE):
        self.scenario = sc = scenario
        self.env = env = env if env is not None else Environment()
        self.warmup = sc.run.warmup_days * DAY
        self.end = self.warmup + sc.run.horizon_days * DAY
        self.streams = streams = Streams(seed, replication, links.stream_scope)
        #: the object-centric event log (``eventlog.py``), when one is kept
        self.ocel = ocel
        log = ocel if ocel is not None else NO_EVENT_LOG
        summarise = (lambda f: evaluate(f, ALL)) if links.weekly_rows else None
        self.recorder = rec = Recorder(self.warmup, event_log=event_log, summarise=summarise,
                                       on_period=links.on_period)
        self.mechanisms = mech = resolve(sc.leadership)
        self.shifts = sc.staff.roster == "shifts"
        self.safety = Safety(env, sc.safety, sc.leadership.pressure_slip_factor, streams.stream("safety"), rec, log)
        self.queue = TaskQueue(env, rec, self.safety.missed, log)
        self.workforce = Workforce(env, sc.staff, headcount(sc), streams, rec)
        self.pressure = Pressure(env, sc.leadership, rec)
        self.backlog = Backlog()
        self.reporting = Reporting(env, mech, streams.stream("leadership.reporting"), rec, self.pressure, self.backlog,
                                   log)
        self.defects = DefectSystem(env, sc, mech, streams, rec, self.safety.harm, self.reporting.encounter, log,
                                    own_mandates=links.own_mandates)
        self.learning = LearningSystem(env, sc, mech, streams, rec, self.defects, self.reporting, self.pressure,
                                       self._desks(links), log, goal_phase=links.goal_phase)
        hooks = (self.defects.task_hook,) if sc.defects.enabled else ()
        self.staff = Staff(env, sc, self.queue, self.workforce, self.safety, self.pressure, hooks, rec,
                           huddle_minutes=mech.huddle_minutes_per_shift if self.shifts else 0.0,
                           float_nurses=int(round(mech.float_nurses)) if self.shifts else 0, event_log=log,
                           float_pool=links.float_pool)
        self.patients = PatientFlow(env, sc, streams, self.queue, rec, log, routing=links.routing,
                                    demand=links.demand, index_offset=links.index_offset)

    def _desks(self, links: UnitLinks) -> Callable[[FixedFn], Mapping[str, Desk]]:
        """The departments the unit escalates to: its own desks, or its windows onto a hospital's."""
        sc, rec = self.scenario, self.recorder
        if links.departments:
            return lambda on_fixed: {name: dept.desk_for(self.defects, rec, on_fixed)
                                     for name, dept in links.departments.items()}
        own = {name: DepartmentDesk(self.env, name, cfg, self.streams.stream(f"departments.{name}"), rec,
                                    self.defects, sc.departments.capacity_factor)
               for name, cfg in sc.departments.items()}
        return lambda on_fixed: own

    def adopt(self, leadership: LeadershipSpec) -> None:
        """The unit adopts another leadership system now (a hospital's rollout): every component
        that follows the leadership system takes its mechanisms from now on; its launch (longer
        huddles, training) starts now."""
        mech = resolve(leadership)
        self.mechanisms = mech
        self.safety.adopt(leadership.pressure_slip_factor)
        self.pressure.adopt(leadership)
        self.reporting.adopt(mech)
        self.defects.adopt(mech)
        self.learning.adopt(leadership, mech, int(self.env.now // WEEK))
        self.staff.adopt(leadership, mech.huddle_minutes_per_shift if self.shifts else 0.0,
                         int(round(mech.float_nurses)) if self.shifts else 0)

    def start(self) -> None:
        """Start the unit's processes (in this order: same-instant events run in scheduling order)."""
        self.defects.start()
        self.learning.start()
        self.workforce.start()
        self.staff.start()
        self.patients.start()

    def finish(self) -> Recorder:
        """At the end of the horizon: tasks still queued, boarding so far, and the last period."""
        self.queue.expire_all()
        self.recorder.boarding_minutes += self.patients.boarding_minutes_pending()
        self.recorder.close_period(self.end)
        return self.recorder

    def _periods(self) -> Iterator[simpy.Event]:
        """Close a period at the end of the warm-up and every week after (and before) it."""
        boundary = self.warmup % WEEK or WEEK
        while boundary < self.end:
            yield self.env.timeout(boundary - self.env.now)
            self.queue.flush()  # tasks that came due in the period enter it before it closes
            self.recorder.close_period(self.env.now)
            boundary += WEEK

    def run(self) -> Recorder:
        """Run to the end of the horizon and close the last period."""
        self.start()
        self.env.process(self._periods())
        self.env.run(until=self.end)
        return self.finish()


@dataclass
class ReplicationResult:
    """What one replication produced: totals, metrics, weekly rows and (optionally) events."""

    replication: int
    seed: int
    metrics: dict[str, float]
    weekly: list[dict[str, float]]
    facts: Facts
    events: list[tuple] | None = None
    #: Metrics of each year taken alone (52-week blocks after the warm-up): ``year`` (1-based),
    #: ``days`` (364, or fewer for a last, partial block) and every metric.
    yearly: list[dict[str, float]] = field(default_factory=list)
    #: The object-centric event log of the first days (``ocel_days``), when one was asked for.
    ocel: EventLog | None = None
    #: A hospital's units, by name: each one's metrics, facts and yearly metrics
    #: (``careos_sim.model.hospital.UnitResult``); empty for a unit alone.
    units: dict[str, Any] = field(default_factory=dict)

    def events_frame(self) -> pd.DataFrame:
        """The event log as a typed table (nullable integers where a field does not apply); a
        hospital's has a last column, ``unit``, the unit where the event happened (nurse numbers are
        each unit's own; a float pool's nurses are numbered from
        :data:`~careos_sim.model.shared.float_pool.POOL_NURSE_IDS`; patient numbers are the hospital's)."""
        columns = [*EVENT_COLUMNS, "unit"] if self.units else list(EVENT_COLUMNS)
        frame = pd.DataFrame(self.events or [], columns=columns)
        for col in ("patient", "nurse", "acuity", "lep"):
            frame[col] = frame[col].astype("Int64")
        frame["value"] = frame["value"].astype(float)
        return frame.astype({"event": "string", "task": "string", **({"unit": "string"} if self.units else {})})


def run_unit(scenario: ScenarioSpec, seed: int, replication: int, event_log: bool = False,
             ocel_days: float | None = None, links: UnitLinks = ALONE) -> ReplicationResult:
    """Run one replication of a unit; a pure function of its arguments. ``ocel_days``: also keep an
    OCEL 2.0 event log of the first that many days (``careos_sim.measure.eventlog``); it changes no
    number. ``links``: the unit as a hospital links it (for a unit alone, nothing shared)."""
    log = EventLog(ocel_days) if ocel_days is not None else None
    unit = CareUnit(scenario, seed, replication, event_log=event_log, ocel=log, links=links)
    rec = unit.run()
    total = rec.total()
    yearly = [{"year": i + 1, "days": f.minutes / DAY, **evaluate(f, ALL)} for i, f in enumerate(rec.years())]
    return ReplicationResult(replication, seed, evaluate(total, ALL), rec.weekly, total, rec.events, yearly, log)
