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
"""

from __future__ import annotations

import math
from typing import Callable, Iterator

import simpy

from careos_sim.measure.recorder import Recorder
from careos_sim.model.defects import DefectSystem
from careos_sim.model.entities import Defect
from careos_sim.model.streams import Stream
from careos_sim.spec.scenario import DepartmentSpec

__all__ = ["DepartmentDesk", "escalation_strength"]

DAY = 1440.0
WEEK = 7 * DAY


def escalation_strength(reports: int, clarity: float) -> float:
    """How compelling an escalation is: its clarity (clinical language) times the square root of
    the reports behind it (diminishing returns: the fourth report adds less than the second)."""
    return clarity * math.sqrt(max(1, reports))


class DepartmentDesk:
    """One department's handling of one unit's escalations."""

    def __init__(self, env: simpy.Environment, name: str, cfg: DepartmentSpec, stream: Stream, recorder: Recorder,
                 defects: DefectSystem, on_fixed: Callable[[Defect], None],
                 on_closed: Callable[[Defect], None], capacity_factor: float = 1.0):
        self.env = env
        self.name = name
        self.cfg = cfg
        self.fix_hours_per_week = cfg.fix_hours_per_week * capacity_factor
        self.stream = stream
        self.rec = recorder
        self.defects = defects
        self.on_fixed = on_fixed  # a working fix: the unit answers the defect's reports
        self.on_closed = on_closed  # the escalation is closed (fixed or not): it may be escalated again
        self.open = 0  # escalations not yet closed
        self.taken_up: list[tuple[float, int, Defect]] = []  # (strength, id, defect), worked strongest first
        self._work = env.event()

    def escalate(self, defect: Defect, strength: float) -> None:
        """The unit escalates ``defect``; the department takes it up after its response delay."""
        defect.escalated = True
        self.open += 1
        self.rec.escalated()
        delay = self.stream.exponential(self.cfg.response_days * DAY / max(strength, 1e-6))
        self.env.timeout(delay).callbacks.append(lambda _, d=defect, s=strength: self._take_up(d, s))

    def start(self) -> None:
        if self.fix_hours_per_week > 0:
            self.env.process(self._worker())

    def _take_up(self, defect: Defect, strength: float) -> None:
        if not defect.active or defect.fixed:
            self._close(defect)
            return
        self.taken_up.append((strength, defect.id, defect))
        self.taken_up.sort(key=lambda x: (-x[0], x[1]))
        if not self._work.triggered:
            self._work.succeed()

    def _close(self, defect: Defect) -> None:
        defect.escalated = False
        self.open -= 1
        self.on_closed(defect)

    def _worker(self) -> Iterator[simpy.Event]:
        rate = self.fix_hours_per_week / WEEK  # hours of effort per simulated minute
        while True:
            if not self.taken_up:
                self._work = self.env.event()
                yield self._work
                continue
            _, _, defect = self.taken_up.pop(0)
            if not defect.active or defect.fixed:
                self._close(defect)
                continue
            yield self.env.timeout(defect.effort_hours / rate)
            self.rec.fix_attempt()
            if defect.active and not defect.fixed and self.stream.random() < self.cfg.fix_success:
                self.defects.fix(defect, sustained=self.stream.random() < self.cfg.fix_sustain)
                self.rec.department_fixed()
                self.on_fixed(defect)
            self._close(defect)
