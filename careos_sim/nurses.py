"""Nurses: the roster, shifts, the work loop, handoff and end-of-shift overtime.

Two rosters:

* ``shifts``: 12-hour day and night shifts. Each shift is staffed with
  ``ceil(beds / ratio)`` nurses chosen from a pool whose headcount covers the week's shifts at
  ``shifts_per_week`` each; the nurses who have rested longest work next. Incoming nurses take
  handoff report before taking tasks. At the end of a shift a nurse finishes the task in hand;
  while more than ``backlog_threshold_tasks`` tasks per rostered nurse wait, she keeps taking
  tasks as overtime until ``max_minutes`` past the end; the rest is handed off (it stays in the
  unit queue for the next shift).
* ``continuous``: ``on_duty`` nurses always on duty, no shift changes, no handoff (verification).

A nurse's work loop is a plain SimPy generator: take the head of the unit queue, work it for
its minutes (scaled by the nurse's pace), repeat; wait idle when the queue is empty.
"""

from __future__ import annotations

import math
from typing import Callable, Iterator

import simpy

from careos_sim.recorder import Recorder
from careos_sim.scenario import Scenario
from careos_sim.tasks import Task, TaskQueue

__all__ = ["Nurse", "Staff", "shift_sizes", "headcount"]

HOUR = 60.0
SHIFT = 12 * HOUR
INFINITY = float("inf")

#: Extra minutes a nurse spends on a task, from subsystems that hook in (defects, fatigue).
TaskHook = Callable[["Nurse", Task, float], float]


class Nurse:
    """One nurse of the unit's staff."""

    __slots__ = ("id", "pace", "on_duty", "last_end", "shifts_worked")

    def __init__(self, nurse_id: int):
        self.id = nurse_id
        self.pace = 1.0  # multiplier on task minutes (new hires are slower)
        self.on_duty = False
        self.last_end = -INFINITY
        self.shifts_worked = 0


def shift_sizes(scenario: Scenario) -> tuple[int, int]:
    """Nurses on a day and a night shift: ceil(beds / patients per nurse)."""
    beds = scenario.unit.beds
    ratio = scenario.staff.nurses.ratio
    return math.ceil(beds / ratio.day - 1e-9), math.ceil(beds / ratio.night - 1e-9)


def headcount(scenario: Scenario) -> int:
    """Nurses on staff: the week's shifts divided by the shifts a nurse works a week."""
    if scenario.staff.roster == "continuous":
        return scenario.staff.nurses.on_duty
    day, night = shift_sizes(scenario)
    return math.ceil(7 * (day + night) / scenario.staff.nurses.shifts_per_week - 1e-9)


class Staff:
    """The nursing staff of one unit and the processes that put them to work."""

    def __init__(self, env: simpy.Environment, scenario: Scenario, queue: TaskQueue, recorder: Recorder):
        self.env = env
        self.sc = scenario
        self.queue = queue
        self.rec = recorder
        self.nurses = [Nurse(i) for i in range(headcount(scenario))]
        self.hooks: list[TaskHook] = []
        self.shift_size = 0  # nurses rostered on the current shift

    def start(self) -> None:
        if self.sc.staff.roster == "continuous":
            for nurse in self.nurses:
                self.env.process(self._shift(nurse, INFINITY, handoff=0.0))
        else:
            self.env.process(self._roster())

    # ------------------------------------------------------------------ roster
    def _roster(self) -> Iterator[simpy.Event]:
        env = self.env
        shifts = self.sc.staff.shifts
        day_n, night_n = shift_sizes(self.sc)
        day_start = shifts.day_start_hour * HOUR
        # The shift on at time 0 started at the last day or night boundary at or before 0.
        start = day_start - SHIFT * math.ceil(day_start / SHIFT)
        on: list[Nurse] = []
        while True:
            is_day = round((start - day_start) / SHIFT) % 2 == 0
            size = day_n if is_day else night_n
            end = start + SHIFT
            self.shift_size = size
            for nurse in on:
                self.queue.release(nurse)  # idle nurses of the last shift go home
            on = self._choose(size)
            self.rec.shift_started(env.now, size - len(on))
            for nurse in on:
                handoff = shifts.handoff_minutes if env.now > 0 or start == 0 else 0.0
                env.process(self._shift(nurse, end, handoff))
            yield env.timeout(end - env.now)
            start = end

    def _choose(self, size: int) -> list[Nurse]:
        """The ``size`` nurses off duty who have rested longest (and at least the minimum)."""
        now = self.env.now
        rest = self.sc.staff.shifts.min_rest_hours * HOUR
        free = [n for n in self.nurses if not n.on_duty and now - n.last_end >= rest]
        free.sort(key=lambda n: (n.last_end, n.id))
        return free[:size]

    # ------------------------------------------------------------------ a shift
    def _shift(self, nurse: Nurse, end: float, handoff: float) -> Iterator[simpy.Event]:
        """One nurse's shift: handoff, then the work loop, then overtime or go home."""
        env = self.env
        rec = self.rec
        queue = self.queue
        hooks = self.hooks
        overtime = self.sc.staff.overtime
        ot_cap = end + overtime.max_minutes
        nurse.on_duty = True
        nurse.shifts_worked += 1
        rec.nurse_on(env.now)
        logging = rec.events is not None
        if logging:
            rec.log(env.now, "on", nurse=nurse.id, value=end)
        if handoff > 0:
            rec.handoff(env.now, handoff, True)
            yield env.timeout(handoff)
            rec.handoff(env.now, handoff, False)
        while True:
            now = env.now
            if now >= end and not (now < ot_cap and self._backlog_exceeds()):
                break
            task = queue.pop()
            if task is None:
                if now >= end:
                    break
                task = yield queue.wait(nurse)
                if task is None:
                    break
            minutes = task.minutes * nurse.pace
            for hook in hooks:
                minutes += hook(nurse, task, minutes)
            rec.task_started(env.now, task, minutes)
            if logging:
                rec.log(env.now, "start", patient=task.patient.index, nurse=nurse.id, task=task.type, value=minutes)
            yield env.timeout(minutes)
            rec.task_finished(env.now)
            if task.on_done is not None:
                task.on_done(task, env.now)
        now = env.now
        nurse.on_duty = False
        nurse.last_end = now
        rec.nurse_off(now, max(0.0, now - end))
        if logging:
            rec.log(now, "off", nurse=nurse.id, value=max(0.0, now - end))

    def _backlog_exceeds(self) -> bool:
        threshold = self.sc.staff.overtime.backlog_threshold_tasks
        return len(self.queue) > threshold * max(1, self.shift_size)
