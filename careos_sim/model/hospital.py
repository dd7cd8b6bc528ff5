"""A hospital of many units on one SimPy environment, and one replication of it.

Every unit is a :class:`~careos_sim.model.unit.CareUnit` built from its own scenario, with its
random streams named by the unit (``unit:NAME/...``): adding a unit, or changing one unit's
system, never shifts another unit's patients. What the units share is built once, on the
hospital's own streams (``hospital/...``), and handed to each unit when it is built
(:class:`~careos_sim.model.unit.UnitLinks`):

* departments (:class:`~careos_sim.model.shared.departments.HospitalDepartment`) that own most
  defects: one queue and one fix capacity for every unit's escalations, a working fix reaching
  the failure mode on every unit;
* a float pool (:class:`~careos_sim.model.shared.float_pool.FloatPool`) of real nurses covering
  open slots before agency;
* a quality team (:class:`~careos_sim.model.shared.quality_team.QualityTeam`) allocated across
  units by a policy;
* hospital leadership: mandates landing on every unit at once, one rotating goal, and the
  rollout schedule (a unit adopts another leadership system on a given day);
* patient flow (:class:`~careos_sim.model.shared.flow.HospitalRouting`: overflow to other units,
  off-service care, transfers) and demand over time (weekday, season, surges).

Every metric exists per unit and for the hospital: the hospital's facts are its units' facts
(and its float pool's) summed, and the metrics the same formulas on them.
"""

from __future__ import annotations

import gc
import threading
import zlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator

import simpy

from careos_sim.measure.eventlog import EventLog
from careos_sim.measure.metrics import ALL, evaluate
from careos_sim.measure.recorder import Facts, Recorder
from careos_sim.model.environment import Environment
from careos_sim.model.nurses import NO_FLOAT_POOL, FloatCover
from careos_sim.model.shared.departments import HospitalDepartment
from careos_sim.model.shared.float_pool import POOL_NURSE_IDS, FloatPool
from careos_sim.model.shared.flow import Demand, HospitalRouting, Surge
from careos_sim.model.shared.quality_team import QualityTeam
from careos_sim.model.streams import Streams
from careos_sim.model.unit import CareUnit, ReplicationResult, UnitLinks
from careos_sim.spec.hospital import HospitalSpec, HospitalUnitSpec
from careos_sim.spec.scenario import DIMENSIONS, ScenarioSpec
from careos_sim.clock import DAY, WEEK, YEAR

__all__ = ["Hospital", "UnitResult", "run_hospital", "unit_links", "FLOAT_POOL"]

#: the name under which the float pool's own facts (its nurses' burnout, turnover) are reported
FLOAT_POOL = "float pool"


def unit_links(name: str, **shared) -> UnitLinks:
    """How a hospital links the unit called ``name``: its streams named by it, its patients'
    indices in a range of their own (from the name, so the order of units does not matter)."""
    return UnitLinks(stream_scope=f"unit:{name}", index_offset=(zlib.crc32(name.encode("utf-8")) & 0xFFFFF) << 24,
                     **shared)


#: The cyclic garbage collector's thresholds while a hospital runs (Python's default: 700, 10,
#: 10). A hospital keeps about twenty units' objects, far more than a core's cache holds, and at
#: the default the collector scans its young generations every few tasks; measured on the default
#: hospital (45 days, compiled build, nine interleaved pairs in one process), the run took 4-33%
#: less time with these, in every pair; a unit alone gained nothing, and keeps the default. The
#: collector changes no number; garbage waits longer to be collected: about 8 MiB more traced
#: memory, a constant (26.0 MiB at 84 days and 26.3 at 168, against 17.9 and 18.2 with the
#: default; ``python benchmarks/hospital.py --memory``).
RUN_GC_THRESHOLDS = (100_000, 50, 100)

_gc_lock = threading.Lock()
_gc_runs = 0  # hospitals running now, in any thread
_gc_saved: tuple[int, ...] = ()


@contextmanager
def _collecting_less_often() -> Iterator[None]:
    """:data:`RUN_GC_THRESHOLDS` while at least one hospital runs in the process; the thresholds
    that were set before once the last one ends."""
    global _gc_runs, _gc_saved
    with _gc_lock:
        if _gc_runs == 0:
            _gc_saved = gc.get_threshold()
            gc.set_threshold(*RUN_GC_THRESHOLDS)
        _gc_runs += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_runs -= 1
            if _gc_runs == 0:
                gc.set_threshold(*_gc_saved)


def _scenario_at_start(unit: HospitalUnitSpec, run) -> ScenarioSpec:
    """The unit's scenario with the hospital's run block and the leadership it has at time 0."""
    return unit.scenario.model_copy(update={"run": run, "leadership": unit.leadership_on(0.0)})


class Hospital:
    """The runtime model of a hospital: its units and what they share, on one environment."""

    def __init__(self, spec: HospitalSpec, seed: int, replication: int, event_log: bool = False,
                 ocel: EventLog | None = None):
        self.spec = spec
        self.env = env = Environment()
        self.warmup = spec.run.warmup_days * DAY
        self.end = self.warmup + spec.run.horizon_days * DAY
        self.streams = streams = Streams(seed, replication, "hospital")
        self._parts: dict[int, list[Facts]] = {}
        self.weekly: list[dict[str, float]] = []
        lead = spec.leadership
        goal = streams.stream("leadership.goal").random() * len(DIMENSIONS) if lead.shared_goal else None
        self.departments = {name: HospitalDepartment(env, name, cfg, streams.stream(f"departments.{name}"),
                                                     spec.departments.capacity_factor)
                            for name, cfg in spec.departments.items()} if lead.shared_departments else {}
        first = spec.units[0].scenario
        self.pool_recorder = Recorder(self.warmup, on_period=self._collect)
        self.pool: FloatPool | None = None
        cover: FloatCover = NO_FLOAT_POOL
        if spec.float_pool.nurses > 0:
            staff = first.staff.model_copy(update={"nurses": first.staff.nurses.model_copy(
                update={"hourly_wage": spec.float_pool_hourly_wage()})})
            self.pool = FloatPool(env, spec.float_pool.nurses, spec.float_pool.dispatch, staff,
                                  Streams(seed, replication, "float_pool"), self.pool_recorder)
            cover = self.pool
        flows: dict = {}  # the units' patient flows by name, filled as the units are built below
        flow = spec.flow
        self.routing = HospitalRouting(flows, {u.name: u.specialty for u in spec.units}, flow.overflow,
                                       flow.off_service_minutes_factor, flow.off_service_harm_factor,
                                       [(t.from_, t.to, t.share) for t in flow.transfers])
        d = spec.demand
        self.demand = Demand(d.weekday, d.seasonal_amplitude, d.seasonal_peak_day,
                             [Surge(self.warmup / DAY + s.start_day, s.days, s.factor) for s in d.surges])
        self.units: dict[str, CareUnit] = {}
        for u in spec.units:
            links = unit_links(u.name, routing=self.routing, demand=self.demand, float_pool=cover,
                               departments=self.departments, own_mandates=not lead.shared_mandates,
                               goal_phase=goal, on_period=self._collect, weekly_rows=False)
            view = ocel.for_unit(u.name, u.specialty, POOL_NURSE_IDS) if ocel is not None else None
            unit = CareUnit(_scenario_at_start(u, spec.run), seed, replication, event_log=event_log, env=env,
                            ocel=view, links=links)
            self.units[u.name] = unit
            flows[u.name] = unit.patients
        qt = spec.quality_team
        hours = spec.quality_team_fte() * first.leadership.quality_team.hours_per_fte_week
        self.quality_team = QualityTeam(env, qt.allocation, hours, qt.reallocate_days,
                                        [u.learning for u in self.units.values()],
                                        [u.recorder for u in self.units.values()])
        rates = [u.leadership_on(0.0).mandates_per_year for u in spec.units]
        self.mandates_per_year = sum(rates) / len(rates) if lead.shared_mandates else 0.0

    # ------------------------------------------------------------------ processes
    def _collect(self, week: int, facts: Facts) -> None:
        self._parts.setdefault(week, []).append(facts)

    def _mandates(self) -> Iterator[simpy.Event]:
        """Hospital leadership's mandates: Poisson arrivals, each landing on every unit at once."""
        stream = self.streams.stream("mandates.times")
        gap = YEAR / self.mandates_per_year
        while True:
            yield self.env.timeout(stream.exponential(gap))
            for unit in self.units.values():
                unit.defects.mandate()

    def _rollout(self, unit: CareUnit, at: float, leadership) -> Iterator[simpy.Event]:
        yield self.env.timeout(at)
        unit.adopt(leadership)

    def _periods(self) -> Iterator[simpy.Event]:
        """Close every unit's (and the pool's) week at each boundary, and the hospital's with them."""
        boundary = self.warmup % WEEK or WEEK
        while boundary < self.end:
            yield self.env.timeout(boundary - self.env.now)
            self._close(self.env.now)
            boundary += WEEK

    def _close(self, now: float) -> None:
        self._parts = {}
        for rec in self.recorders():
            rec.close_period(now)
        for week, parts in self._parts.items():
            facts = Facts.combine(parts)
            self.weekly.append({"week": week, "start_day": (now - facts.minutes) / DAY, "days": facts.minutes / DAY,
                                **evaluate(facts, ALL)})

    def run(self) -> None:
        """Run to the end of the horizon and close the last week."""
        env = self.env
        for unit in self.units.values():
            unit.start()
        for dept in self.departments.values():
            dept.start()
        if self.pool is not None:
            self.pool.start()
        self.quality_team.start()
        if self.mandates_per_year > 0:
            env.process(self._mandates())
        for u in self.spec.units:
            for day, leadership in u.rollout:
                if day > 0:
                    env.process(self._rollout(self.units[u.name], self.warmup + day * DAY, leadership))
        env.process(self._periods())
        with _collecting_less_often():
            env.run(until=self.end)
        self._parts = {}
        for unit in self.units.values():
            unit.queue.expire_all()
            unit.recorder.boarding_minutes += unit.patients.boarding_minutes_pending()
        self._close(self.end)

    # ------------------------------------------------------------------ results
    def recorders(self) -> list[Recorder]:
        """The units' recorders, and the float pool's when there is one."""
        pool = [self.pool_recorder] if self.pool is not None else []
        return [u.recorder for u in self.units.values()] + pool

    def total(self) -> Facts:
        return Facts.combine([r.total() for r in self.recorders()])

    def years(self) -> list[Facts]:
        blocks = [r.years() for r in self.recorders()]
        n = max(len(b) for b in blocks)
        return [Facts.combine([b[i] for b in blocks if i < len(b)]) for i in range(n)]


@dataclass
class UnitResult:
    """One unit's share of a hospital replication: its metrics and facts, its yearly metrics."""

    metrics: dict[str, float]
    facts: Facts
    yearly: list[dict[str, float]] = field(default_factory=list)


def _yearly(years: list[Facts]) -> list[dict[str, float]]:
    return [{"year": i + 1, "days": f.minutes / DAY, **evaluate(f, ALL)} for i, f in enumerate(years) if f.values]


def run_hospital(spec: HospitalSpec, seed: int, replication: int, event_log: bool = False,
                 ocel_days: float | None = None) -> ReplicationResult:
    """One replication of a hospital; a pure function of its arguments. The result's metrics,
    weekly rows and yearly rows are the hospital's; ``units`` holds each unit's (and the float
    pool's facts under :data:`FLOAT_POOL`, when there is one)."""
    log = EventLog(ocel_days) if ocel_days is not None else None
    hospital = Hospital(spec, seed, replication, event_log=event_log, ocel=log)
    hospital.run()
    total = hospital.total()
    units = {name: UnitResult(evaluate(u.recorder.total(), ALL), u.recorder.total(), _yearly(u.recorder.years()))
             for name, u in hospital.units.items()}
    if hospital.pool is not None:
        pool = hospital.pool_recorder.total()
        units[FLOAT_POOL] = UnitResult(evaluate(pool, ALL), pool, [])
    events = None
    if event_log:  # every unit's, in time order (a unit's own order kept at a tie), with the unit's name
        events = sorted(((*e, name) for name, u in hospital.units.items() for e in (u.recorder.events or [])),
                        key=lambda e: e[0])
    return ReplicationResult(replication, seed, evaluate(total, ALL), hospital.weekly, total, events,
                             _yearly(hospital.years()), log, units=units)
