"""One inpatient unit as a SimPy model, and one replication of it.

:func:`run_replication` is a pure function of (scenario, seed, replication): it builds the
runtime state from the frozen scenario, runs it, and returns the facts it recorded. It never
reads files or global state, so replications can run in any process, in any order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

import pandas as pd
import simpy

from careos_sim.measure.eventlog import NO_EVENT_LOG, EventLog
from careos_sim.measure.metrics import ALL, evaluate
from careos_sim.measure.recorder import EVENT_COLUMNS, Facts, Recorder
from careos_sim.model.defects import DefectSystem
from careos_sim.model.leadership import LearningSystem, Pressure, Reporting
from careos_sim.model.mechanisms import resolve
from careos_sim.model.nurses import Staff, headcount
from careos_sim.model.patients import DAY, PatientFlow
from careos_sim.model.safety import Safety
from careos_sim.model.streams import Streams
from careos_sim.model.tasks import TaskQueue
from careos_sim.model.workforce import Workforce
from careos_sim.spec.scenario import ScenarioSpec

__all__ = ["CareUnit", "ReplicationResult", "run_replication", "EVENT_COLUMNS"]

WEEK = 7 * DAY


class CareUnit:
    """The runtime model of one unit on one SimPy environment.

    Each component is built from its own block of the scenario and is handed its collaborators
    when it is built, in the order they depend on each other: safety; the task queue (missed care
    goes to safety); the workforce (the employed nurses); leaders' pressure and the reporting of
    defects; the defects (harm goes to safety, encounters to reporting); the leadership system
    (prioritising and fixing the defects); the staff at work (the queue, the workforce, safety,
    pressure and the defects' extra minutes); and the patients. ``event_log`` (a
    :class:`~careos_sim.measure.eventlog.EventLog`, or the do-nothing default) is given to each.
    """

    def __init__(self, scenario: ScenarioSpec, seed: int, replication: int, event_log: bool = False,
                 env: simpy.Environment | None = None, ocel: EventLog | None = None):
        self.scenario = sc = scenario
        self.env = env = env if env is not None else simpy.Environment()
        self.warmup = sc.run.warmup_days * DAY
        self.end = self.warmup + sc.run.horizon_days * DAY
        self.streams = streams = Streams(seed, replication)
        #: the object-centric event log (``eventlog.py``), when one is kept
        self.ocel = ocel
        log = ocel if ocel is not None else NO_EVENT_LOG
        self.recorder = rec = Recorder(self.warmup, event_log=event_log, summarise=lambda f: evaluate(f, ALL))
        self.mechanisms = mech = resolve(sc.leadership)
        shifts = sc.staff.roster == "shifts"
        self.safety = Safety(env, sc.safety, sc.leadership.pressure_slip_factor, streams.stream("safety"), rec, log)
        self.queue = TaskQueue(env, rec, self.safety.missed, log)
        self.workforce = Workforce(env, sc.staff, headcount(sc), streams, rec)
        self.pressure = Pressure(env, sc.leadership, rec)
        self.reporting = Reporting(env, mech, streams.stream("leadership.reporting"), rec, self.pressure, log)
        self.defects = DefectSystem(env, sc, mech, streams, rec, self.safety.harm, self.reporting.encounter, log)
        self.learning = LearningSystem(env, sc, mech, streams, rec, self.defects, self.reporting, self.pressure, log)
        hooks = (self.defects.task_hook,) if sc.defects.enabled else ()
        self.staff = Staff(env, sc, self.queue, self.workforce, self.safety, self.pressure, hooks, rec,
                           huddle_minutes=mech.huddle_minutes_per_shift if shifts else 0.0,
                           float_nurses=int(round(mech.float_nurses)) if shifts else 0, event_log=log)
        self.patients = PatientFlow(env, sc, streams, self.queue, rec, log)

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
        self.defects.start()
        self.learning.start()
        self.workforce.start()
        self.staff.start()
        self.patients.start()
        self.env.process(self._periods())
        self.env.run(until=self.end)
        self.queue.expire_all()
        self.recorder.boarding_minutes += self.patients.boarding_minutes_pending()
        self.recorder.close_period(self.end)
        return self.recorder


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

    def events_frame(self) -> pd.DataFrame:
        """The event log as a typed table (nullable integers where a field does not apply)."""
        frame = pd.DataFrame(self.events or [], columns=list(EVENT_COLUMNS))
        for col in ("patient", "nurse", "acuity", "lep"):
            frame[col] = frame[col].astype("Int64")
        frame["value"] = frame["value"].astype(float)
        return frame.astype({"event": "string", "task": "string"})


def run_replication(scenario: ScenarioSpec, seed: int, replication: int, event_log: bool = False,
                    ocel_days: float | None = None) -> ReplicationResult:
    """Run one replication; a pure function of its arguments. ``ocel_days``: also keep an OCEL 2.0
    event log of the first that many days (``careos_sim.measure.eventlog``); it changes no number."""
    log = EventLog(ocel_days) if ocel_days is not None else None
    unit = CareUnit(scenario, seed, replication, event_log=event_log, ocel=log)
    rec = unit.run()
    total = rec.total()
    yearly = [{"year": i + 1, "days": f.minutes / DAY, **evaluate(f, ALL)} for i, f in enumerate(rec.years())]
    return ReplicationResult(replication, seed, evaluate(total, ALL), rec.weekly, total, rec.events, yearly, log)
