"""Patients: admissions by hour of day, attributes, beds, boarding, stays and care needs.

Each patient has two streams of its own, keyed by its arrival index (``patient.calls`` and
``patient.care``), so a patient's call lights, task minutes and round offsets do not depend on
how the unit is staffed: common random numbers hold patient by patient, not just overall.
Arrival times come from the ``arrivals`` stream and nothing else draws from it.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any, Callable, Generator

import simpy

from careos_sim.measure.eventlog import NO_EVENT_LOG, NoEventLog
from careos_sim.measure.recorder import Recorder
from careos_sim.model.entities import Patient, Task
from careos_sim.model.shared.flow import FLAT_DEMAND, NO_ROUTING, Demand, Routing
from careos_sim.model.streams import Stream, Streams
from careos_sim.model.tasks import TYPE_INDEX, TaskQueue
from careos_sim.spec.scenario import (DurationSpec, EventTaskSpec, ScenarioSpec, ScheduledTaskSpec,
                                     SCHEDULED_TASK_TYPES, TASK_TYPES)
from careos_sim.clock import DAY, INFINITY

__all__ = ["PatientFlow", "TaskKind", "draw_minutes"]

#: Task types whose minutes are longer for an LEP patient (the encounter goes through an interpreter).
INTERPRETED = frozenset({"communication", "admission"})


def draw_minutes(spec: DurationSpec, stream: Stream) -> float:
    """One duration in minutes from a :class:`Duration` spec."""
    if spec.dist == "exponential":
        return stream.exponential(spec.mean)
    if spec.dist == "lognormal":
        return stream.lognormal(spec.mean, spec.cv) if spec.cv > 0 else spec.mean
    if spec.dist == "gamma":
        return stream.gamma(spec.mean, spec.cv) if spec.cv > 0 else spec.mean
    return spec.mean


class TaskKind:
    """One kind of task as :meth:`PatientFlow.task` needs it, read from its spec once (a spec is a
    validated pydantic model, several times slower to read than a plain attribute, and a task is
    made for every call light and round). Its minutes are drawn as :func:`draw_minutes` draws them,
    with the same arithmetic, so the same numbers."""

    __slots__ = ("spec", "type_index", "priority", "window", "interpreter", "lognormal", "mean", "sigma", "half")

    def __init__(self, kind: str, spec: EventTaskSpec, interpreter_factor: float):
        self.spec = spec
        self.type_index = TYPE_INDEX[kind]
        self.priority = spec.priority
        self.window = spec.window_min
        self.interpreter = interpreter_factor if kind in INTERPRETED else None  # for an LEP patient
        d = spec.minutes
        self.lognormal = d.dist == "lognormal" and d.cv > 0
        self.mean = d.mean
        s2 = math.log1p(d.cv * d.cv)  # as Stream.lognormal computes them
        self.sigma = math.sqrt(s2)
        self.half = 0.5 * s2

    def make(self, patient: Patient, due: float, stream: Stream,
             on_done: Callable[[Task, float], None] | None = None) -> Task:
        """A task of this kind for ``patient``, due at ``due``, its minutes drawn from ``stream``."""
        if self.lognormal:
            z = stream.normals  # the next normal from the stream's buffer (Stream: same as normal())
            minutes = self.mean * math.exp(self.sigma * (z.pop() if z else stream.normal()) - self.half) * patient.demand
        else:
            minutes = draw_minutes(self.spec.minutes, stream) * patient.demand
        if patient.lep and self.interpreter is not None:
            minutes *= self.interpreter
        window = self.window
        return Task(self.type_index, patient, due, due + window if window is not None else None, minutes,
                    self.priority, on_done)


class PatientFlow:
    """Arrivals, beds, boarding and diversion, stays, and the care each patient needs."""

    def __init__(self, env: simpy.Environment, scenario: ScenarioSpec, streams: Streams, queue: TaskQueue,
                 recorder: Recorder, event_log: NoEventLog = NO_EVENT_LOG, routing: Routing = NO_ROUTING,
                 demand: Demand = FLAT_DEMAND, index_offset: int = 0):
        """``routing``: where a patient goes when the unit is full (overflow) and after discharge
        (transfer to another unit); a unit alone boards its patients and discharges them home.
        ``demand``: admissions over time as a multiple of the unit's own (weekday, season, surges).
        ``index_offset``: added to the patients' indices, so that they are unique in a hospital
        (their random streams stay keyed by the unit's own count)."""
        self.env = env
        self.sc = scenario  # its unit, patients and tasks blocks
        self.streams = streams
        self.queue = queue
        self.rec = recorder
        self.event_log = event_log
        self.routing = routing
        self.demand = demand
        self.index_offset = index_offset
        self.free_beds = scenario.unit.beds
        self.boarding: deque[tuple[Patient, float]] = deque()
        self.present: dict[int, Patient] = {}
        self._next_index = 0
        p = scenario.patients
        self._acuity = p.acuity.levels()
        self._shares = tuple(level.share for _, level in self._acuity)
        self._call_gap = 60.0 / p.call_lights_per_hour if p.call_lights_per_hour > 0 else INFINITY
        tasks = scenario.tasks
        self._call = tasks.call_light
        self._admission = tasks.admission
        self._discharge = tasks.discharge
        factor = tasks.lep_interpreter_factor  # every kind of task, read from its spec once
        self._kinds: dict[str, TaskKind] = {kind: TaskKind(kind, getattr(tasks, kind), factor) for kind in TASK_TYPES}
        self._call_kind = self._kinds["call_light"]  # (a call light is made for every call)

    # ------------------------------------------------------------------ patients
    def new_patient(self) -> Patient:
        """Create the next patient, drawing its attributes from its own streams."""
        i = self._next_index
        self._next_index += 1
        index = self.index_offset + i
        care = self.streams.stream("patient.care", i, block=64)
        calls = self.streams.stream("patient.calls", i, block=64)
        defects = self.streams.stream("patient.defects", i, block=64)
        a = care.choice(self._shares)
        level = self._acuity[a][1]
        lep = 1 if care.random() < self.sc.patients.lep_share else 0
        los = care.lognormal(level.los_days_mean * DAY, self.sc.patients.los_cv)
        patient = Patient(index, a, level.demand_factor, lep, los, calls, care, defects)
        patient.harm_factor = level.harm_factor
        return patient

    def task(self, kind: str, spec: EventTaskSpec, patient: Patient, due: float, stream: Stream,
             on_done: Callable[[Task, float], None] | None = None) -> Task:
        return self._kind(kind, spec).make(patient, due, stream, on_done)

    def _kind(self, kind: str, spec: EventTaskSpec) -> TaskKind:
        """The kind of task ``kind`` with ``spec`` (the scenario's own, read once, or another)."""
        k = self._kinds.get(kind)
        return k if k is not None and k.spec is spec else TaskKind(kind, spec, self.sc.tasks.lep_interpreter_factor)

    # ------------------------------------------------------------------ start
    def start(self) -> None:
        """Initial census, then arrivals and scheduled rounds."""
        p = self.sc.patients
        beds = self.sc.unit.beds
        if p.hold_census_full:
            for _ in range(beds):
                self._occupy(self.new_patient(), boarded=0.0, stay=False, initial=True)
        else:
            for _ in range(round(beds * p.initial_occupancy)):
                patient = self.new_patient()
                # Already part-way through the stay: the remaining stay is a uniform share of it.
                patient.los *= patient.care.random()
                self._occupy(patient, boarded=0.0, stay=True, initial=True)
            if self.sc.admissions_per_day() > 0:
                self.env.process(self._arrivals())
        self.env.process(self._midnights())
        for kind in SCHEDULED_TASK_TYPES:
            spec: ScheduledTaskSpec = getattr(self.sc.tasks, kind)
            if spec.per_day > 0:
                self.env.process(self._rounds(kind, spec))

    # ------------------------------------------------------------------ arrivals and beds
    def _arrivals(self) -> Generator[simpy.Event, Any, None]:
        """Non-homogeneous Poisson admissions by hour of day (thinning)."""
        env = self.env
        stream = self.streams.stream("arrivals")
        profile = self.sc.patients.admission_profile
        mean_w = sum(profile) / 24.0
        per_min = self.sc.admissions_per_day() / DAY
        rates = [per_min * w / mean_w for w in profile]
        demand = self.demand
        peak = max(rates) * demand.peak
        while True:
            yield env.timeout(stream.exponential(1.0 / peak))
            hour = int(env.now // 60.0) % 24
            if stream.random() * peak < rates[hour] * demand.factor(env.now):
                self.arrive(self.new_patient())

    def arrive(self, patient: Patient) -> None:
        """An admission request: take a free bed, or board until one frees or the limit passes."""
        now = self.env.now
        self.rec.admission_request(now)
        self.rec.log(now, "arrival", patient=patient.index, value=patient.los, acuity=patient.acuity, lep=patient.lep)
        if self.free_beds > 0 and not self.boarding:
            self._occupy(patient, boarded=0.0, stay=True)
            return
        if self.routing.overflow(self, patient):
            return
        self.board(patient)

    def has_bed(self) -> bool:
        """A bed is free and nobody is waiting for one."""
        return self.free_beds > 0 and not self.boarding

    def accept(self, patient: Patient, off_service: bool, minutes_factor: float = 1.0,
               harm_factor: float = 1.0, transfer: bool = False) -> None:
        """A patient from another unit (an overflow admission, or a transfer): a bed if one is free,
        else board here. Off-service patients get less familiar care: their tasks take
        ``minutes_factor`` longer and every harm is ``harm_factor`` likelier. A transfer is an
        admission request here (an overflow's request was counted at its own unit)."""
        if transfer:
            self.rec.admission_request(self.env.now)
        if off_service:
            patient.demand *= minutes_factor
            patient.harm_factor *= harm_factor
        patient.present = False
        patient.ready_at = INFINITY
        patient.extra_minutes = 0.0
        patient.los_extended = False
        if self.has_bed():
            self._occupy(patient, boarded=0.0, stay=True)
        else:
            self.board(patient)

    def board(self, patient: Patient) -> None:
        """Wait for a bed here, up to the boarding limit; then the patient is diverted."""
        now = self.env.now
        self.boarding.append((patient, now))
        self.event_log.patient_boarded(now, patient)
        limit = self.sc.patients.boarding.max_hours * 60.0
        self.env.timeout(limit).callbacks.append(lambda _: self._divert(patient, limit))

    def _divert(self, patient: Patient, limit: float) -> None:
        for i, (who, _) in enumerate(self.boarding):
            if who is patient:
                del self.boarding[i]
                self.rec.diverted(limit)
                self.rec.log(self.env.now, "divert", patient=patient.index, value=limit)
                self.event_log.patient_diverted(self.env.now, patient, limit)
                return

    def _occupy(self, patient: Patient, boarded: float, stay: bool, initial: bool = False) -> None:
        """Put a patient in a bed. The initial census is no admission: no admission work, not counted."""
        now = self.env.now
        self.free_beds -= 1
        patient.present = True
        patient.admitted_at = now
        self.present[patient.index] = patient
        self.rec.admitted(now, boarded, patient.lep, new=not initial)
        if not initial:
            self.rec.patient_day_pairs += 1  # a new patient-day (the patients present at midnight are counted then)
        self.rec.log(now, "admit", patient=patient.index, value=boarded)
        if initial:
            self.event_log.patient_at_start(now, patient)
        else:
            self.event_log.patient_admitted(now, patient, boarded)
            self.queue.push(self.task("admission", self._admission, patient, now, patient.care))
        if self._call_gap < INFINITY:  # the first call light, then each the next (_call_light)
            self.queue.call_at(now + patient.calls.exponential(self._call_gap), self._call_light, patient)
        if stay:
            self.env.process(self._stay(patient))

    def _free_bed(self) -> None:
        self.free_beds += 1
        if self.boarding:
            patient, since = self.boarding.popleft()
            self._occupy(patient, boarded=self.env.now - since, stay=True)

    def boarding_minutes_pending(self) -> float:
        """Minutes boarded so far by patients still waiting (counted at the end of a run)."""
        now = self.env.now
        return sum(now - since for _, since in self.boarding)

    # ------------------------------------------------------------------ the stay
    def _stay(self, patient: Patient) -> Generator[simpy.Event, Any, None]:
        yield self.env.timeout(patient.los)
        while patient.extra_minutes > 0:  # harm or failed communication lengthened the stay
            extra, patient.extra_minutes = patient.extra_minutes, 0.0
            yield self.env.timeout(extra)
        patient.ready_at = self.env.now
        self.queue.push(self.task("discharge", self._discharge, patient, self.env.now, patient.care,
                                  on_done=self._leave))

    def _leave(self, task: Task, now: float) -> None:
        patient = task.patient
        self.queue.flush()  # what came due while the patient was here enters first
        patient.present = False
        del self.present[patient.index]
        self.rec.discharged(now, now - patient.admitted_at, now - patient.ready_at, patient.lep)
        self.rec.log(now, "discharge", patient=patient.index, value=now - patient.admitted_at)
        self.event_log.patient_discharged(now, patient)
        self._free_bed()
        self.routing.discharged(self, patient)

    def _midnights(self) -> Generator[simpy.Event, Any, None]:
        """Every midnight, each patient on the unit starts a new calendar patient-day."""
        while True:
            self.rec.patient_day_pairs += len(self.present)
            yield self.env.timeout(DAY)

    def _call_light(self, patient: Patient, time: float) -> Task | None:
        """The patient's call light at ``time``, while on the unit, and the next one (Poisson,
        independent of pending ones). The queue calls this when the call comes due
        (``TaskQueue.call_at``), so it reads only the patient and its own stream."""
        if not patient.present:
            return None
        stream = patient.calls
        task = self._call_kind.make(patient, time, stream)
        self.queue.call_at(time + stream.exponential(self._call_gap), self._call_light, patient)
        return task

    def _rounds(self, kind: str, spec: ScheduledTaskSpec) -> Generator[simpy.Event, Any, None]:
        """Scheduled rounds: each patient's task comes due at the round time plus a spread."""
        env = self.env
        interval = DAY / spec.per_day
        first = spec.first_hour * 60.0 % interval
        push = self.queue.push
        push_at = self.queue.push_at
        make = self._kind(kind, spec).make
        spread = spec.spread_min
        yield env.timeout(first)
        while True:
            now = env.now
            for patient in list(self.present.values()):
                care = patient.care
                u = care.uniforms  # the next uniform from the buffer (Stream: same as random())
                offset = (u.pop() if u else care.random()) * spread
                task = make(patient, now + offset, care)
                if offset > 0:
                    push_at(now + offset, task)  # the queue enters it when it comes due
                else:
                    push(task)
            yield env.timeout(interval)
