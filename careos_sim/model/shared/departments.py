"""Hospital departments as the owners of most defects: escalation, triage and fixing.

Most of the failures nurses meet are not the unit's to fix: missing supplies belong to supply
chain, medication problems to pharmacy, EHR problems to IT, and so on (``calibration.md``,
defect ownership; Tucker, Heisler & Janisse 2014). A unit can only *escalate* such a defect to
its owner. The owner takes an escalation up after a response delay, shorter for a stronger
escalation (more reports behind it, stated in clinical language), then works on what it has
taken up, strongest first, with its own limited fix capacity. A working fix removes part of the
defect's rate, as a unit fix does. A listening unit therefore gains from departments only
through better evidence and better choice of what to escalate, never through capacity it does
not have.

In a hospital the departments are shared (:class:`HospitalDepartment`): one queue and one fix
capacity for every unit's escalations. Escalations of the same failure mode (a defect's
``key``) from several units add up to one stronger escalation, and a working fix reaches that
failure mode on every unit at once.
"""

from __future__ import annotations

import math
from typing import Callable, Iterator, Protocol

import simpy

from careos_sim.measure.recorder import Recorder
from careos_sim.model.defects import DefectSystem
from careos_sim.model.entities import Defect
from careos_sim.model.streams import Stream
from careos_sim.spec.scenario import DepartmentSpec
from careos_sim.clock import DAY, WEEK

__all__ = ["FixedFn", "Desk", "DepartmentDesk", "HospitalDepartment", "UnitDesk", "escalation_strength"]



def escalation_strength(reports: int, clarity: float) -> float:
    """How compelling an escalation is: its clarity (clinical language) times the square root of
    the reports behind it (diminishing returns: the fourth report adds less than the second)."""
    return clarity * math.sqrt(max(1, reports))


FixedFn = Callable[[Defect], None]


class Desk(Protocol):
    """Where a unit escalates the defects one department owns."""

    open: int  # this unit's escalations not yet closed

    def escalate(self, defect: Defect, strength: float, on_fixed: FixedFn, on_closed: FixedFn) -> None:
        """Escalate ``defect``; ``on_fixed(defect)`` is called when a fix of it works, ``on_closed(defect)``
        when the escalation is closed (fixed or not: it may be escalated again)."""

    def start(self) -> None:
        """Start working (a shared department is started by the hospital, once)."""


class DepartmentDesk:
    """One department's handling of one unit's escalations (a unit alone)."""

    def __init__(self, env: simpy.Environment, name: str, cfg: DepartmentSpec, stream: Stream, recorder: Recorder,
                 defects: DefectSystem, capacity_factor: float = 1.0):
        self.env = env
        self.name = name
        self.cfg = cfg
        self.fix_hours_per_week = cfg.fix_hours_per_week * capacity_factor
        self.stream = stream
        self.rec = recorder
        self.defects = defects
        self.open = 0  # escalations not yet closed
        #: (strength, id, defect, on_fixed), worked strongest first
        self.taken_up: list[tuple[float, int, Defect, FixedFn]] = []
        self._closers: dict[int, FixedFn] = {}  # each open escalation's on_closed, by defect id
        self._work = env.event()

    def escalate(self, defect: Defect, strength: float, on_fixed: FixedFn, on_closed: FixedFn) -> None:
        """The unit escalates ``defect``; the department takes it up after its response delay."""
        self._closers[defect.id] = on_closed
        self.open += 1
        self.rec.escalated()
        delay = self.stream.exponential(self.cfg.response_days * DAY / max(strength, 1e-6))
        self.env.timeout(delay).callbacks.append(lambda _, d=defect, s=strength, f=on_fixed: self._take_up(d, s, f))

    def start(self) -> None:
        if self.fix_hours_per_week > 0:
            self.env.process(self._worker())

    def _take_up(self, defect: Defect, strength: float, on_fixed: FixedFn) -> None:
        if not defect.active or defect.fixed:
            self._close(defect)
            return
        self.taken_up.append((strength, defect.id, defect, on_fixed))
        self.taken_up.sort(key=lambda x: (-x[0], x[1]))
        if not self._work.triggered:
            self._work.succeed()

    def _close(self, defect: Defect) -> None:
        self.open -= 1
        self._closers.pop(defect.id)(defect)

    def _worker(self) -> Iterator[simpy.Event]:
        rate = self.fix_hours_per_week / WEEK  # hours of effort per simulated minute
        while True:
            if not self.taken_up:
                self._work = self.env.event()
                yield self._work
                continue
            _, _, defect, on_fixed = self.taken_up.pop(0)
            if not defect.active or defect.fixed:
                self._close(defect)
                continue
            yield self.env.timeout(defect.effort_hours / rate)
            self.rec.fix_attempt()
            if defect.active and not defect.fixed and self.stream.random() < self.cfg.fix_success:
                self.defects.fix(defect, sustained=self.stream.random() < self.cfg.fix_sustain)
                self.rec.department_fixed()
                on_fixed(defect)
            self._close(defect)


class _Member:
    """A unit of the hospital as a department sees it: its defects, its recorder, its desk."""

    __slots__ = ("defects", "rec", "on_fixed", "desk")

    def __init__(self, defects: DefectSystem, recorder: Recorder, on_fixed: FixedFn, desk: "UnitDesk"):
        self.defects, self.rec, self.on_fixed, self.desk = defects, recorder, on_fixed, desk


class _Case:
    """One failure mode escalated to a department: who escalated it, how strongly, and what it costs."""

    __slots__ = ("key", "strength", "effort_hours", "escalations", "taken_up")

    def __init__(self, key: tuple, strength: float, effort_hours: float):
        self.key, self.strength, self.effort_hours = key, strength, effort_hours
        self.escalations: list[tuple[Defect, "UnitDesk", FixedFn, FixedFn]] = []
        self.taken_up = False


class HospitalDepartment:
    """One department shared by a hospital's units: a queue of failure modes, worked strongest
    first with the department's own fix capacity. An escalation of a failure mode already open
    adds its strength to it (more units, more evidence); a working fix removes the failure mode
    from every unit that has it (each unit's fix-effect drawn from its own stream), and each
    unit's reporters may see it."""

    def __init__(self, env: simpy.Environment, name: str, cfg: DepartmentSpec, stream: Stream,
                 capacity_factor: float = 1.0):
        self.env = env
        self.name = name
        self.cfg = cfg
        self.fix_hours_per_week = cfg.fix_hours_per_week * capacity_factor
        self.stream = stream  # the hospital's ``departments.NAME`` stream
        self.members: list[_Member] = []
        self.cases: dict[tuple, _Case] = {}
        self.queue: list[_Case] = []
        self._work = env.event()

    def desk_for(self, defects: DefectSystem, recorder: Recorder, on_fixed: FixedFn) -> "UnitDesk":
        """A unit joins: the desk it escalates to (its fixes reach the unit through ``defects``)."""
        desk = UnitDesk(self, recorder)
        self.members.append(_Member(defects, recorder, on_fixed, desk))
        return desk

    def escalate(self, desk: "UnitDesk", defect: Defect, strength: float, on_fixed: FixedFn,
                 on_closed: FixedFn) -> None:
        case = self.cases.get(defect.key)
        if case is None:
            case = self.cases[defect.key] = _Case(defect.key, 0.0, defect.effort_hours)
            delay = self.stream.exponential(self.cfg.response_days * DAY / max(strength, 1e-6))
            self.env.timeout(delay).callbacks.append(lambda _, c=case: self._take_up(c))
        case.strength += strength
        case.escalations.append((defect, desk, on_fixed, on_closed))
        if case.taken_up:
            self.queue.sort(key=lambda c: -c.strength)

    def start(self) -> None:
        if self.fix_hours_per_week > 0:
            self.env.process(self._worker())

    def _take_up(self, case: _Case) -> None:
        case.taken_up = True
        self.queue.append(case)
        self.queue.sort(key=lambda c: -c.strength)  # stable: the earlier of equals first
        if not self._work.triggered:
            self._work.succeed()

    def _holders(self, key: tuple) -> list[tuple[_Member, Defect]]:
        out = []
        for m in self.members:
            for d in m.defects.defects:
                if d.key == key and d.active and not d.fixed:
                    out.append((m, d))
        return out

    def _close(self, case: _Case) -> None:
        del self.cases[case.key]
        for defect, desk, _, on_closed in case.escalations:
            desk.open -= 1
            on_closed(defect)

    def _worker(self) -> Iterator[simpy.Event]:
        rate = self.fix_hours_per_week / WEEK
        while True:
            if not self.queue:
                self._work = self.env.event()
                yield self._work
                continue
            case = self.queue.pop(0)
            if not self._holders(case.key):
                self._close(case)
                continue
            yield self.env.timeout(case.effort_hours / rate)
            case.escalations[0][1].rec.fix_attempt()
            holders = self._holders(case.key)
            if holders and self.stream.random() < self.cfg.fix_success:
                sustained = self.stream.random() < self.cfg.fix_sustain
                for member, defect in holders:
                    member.defects.fix(defect, sustained=sustained)
                    member.rec.department_fixed()
                    member.on_fixed(defect)
            self._close(case)


class UnitDesk:
    """A unit's window onto a shared department: its own count of open escalations (each unit
    keeps to its escalation limit) and its escalations, passed on."""

    def __init__(self, department: HospitalDepartment, recorder: Recorder):
        self.department = department
        self.rec = recorder
        self.open = 0

    def escalate(self, defect: Defect, strength: float, on_fixed: FixedFn, on_closed: FixedFn) -> None:
        self.open += 1
        self.rec.escalated()
        self.department.escalate(self, defect, strength, on_fixed, on_closed)

    def start(self) -> None:
        """The hospital starts the shared department, once."""
