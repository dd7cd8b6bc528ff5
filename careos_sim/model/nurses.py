"""Nurses at work: the roster, shifts, the work loop, handoff, huddles and end-of-shift overtime.

Two rosters:

* ``shifts``: 12-hour day and night shifts. Each shift is staffed with
  ``ceil(beds / ratio)`` nurses chosen from the employed staff (budgeted headcount covers the
  week's shifts at ``shifts_per_week`` each): those who have rested longest work next. A nurse
  may call in sick; a slot left open by sickness or a vacancy is filled by an agency nurse with
  ``agency.fill_probability``, else the shift runs short. Incoming nurses take handoff report
  (and, under a listening system, the huddle) before taking tasks. At the end of a shift a
  nurse finishes the task in hand; while more than ``backlog_threshold_tasks`` tasks per
  rostered nurse wait, she keeps taking tasks as overtime until ``max_minutes`` past the end;
  the rest is handed off (it stays in the unit queue for the next shift). Float nurses, where
  the leadership system provides them, are called in for four hours when the backlog surges.
* ``continuous``: ``on_duty`` nurses always on duty, no shift changes, no handoff (verification).

A nurse's shift is a SimPy process up to the end of her handoff and huddle; her work loop then
runs as the callbacks of the events it waits on (:class:`_Work`): take the head of the unit
queue, work it for its minutes (scaled by the nurse's pace, shortened by pressure to work
harder, lengthened by workarounds from the hooks), repeat; wait idle when the queue is empty.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Generator, Protocol, Sequence

import simpy

from careos_sim.measure.eventlog import NO_EVENT_LOG, NoEventLog
from careos_sim.measure.recorder import Recorder
from careos_sim.model.entities import Nurse, Task
from careos_sim.model.environment import Environment
from careos_sim.model.leadership import Pressure
from careos_sim.model.mechanisms import launch_factor
from careos_sim.model.safety import Safety
from careos_sim.model.tasks import TaskQueue
from careos_sim.model.workforce import Workforce
from careos_sim.spec.scenario import LeadershipSpec, ScenarioSpec, StaffSpec
from careos_sim.clock import DAY, HOUR, INFINITY, SHIFT, WEEK

__all__ = ["Staff", "shift_sizes", "headcount", "roster_from", "FloatCover", "NO_FLOAT_POOL"]

FLOAT_BLOCK = 4 * HOUR

#: Extra minutes a nurse spends on a task, from subsystems that hook in (defects).
TaskHook = Callable[["Nurse", Task, float], float]


def shift_sizes(scenario: ScenarioSpec) -> tuple[int, int]:
    """Nurses on a day and a night shift: ceil(beds / patients per nurse)."""
    beds = scenario.unit.beds
    ratio = scenario.staff.nurses.ratio
    return math.ceil(beds / ratio.day - 1e-9), math.ceil(beds / ratio.night - 1e-9)


def headcount(scenario: ScenarioSpec) -> int:
    """Budgeted nurses: the week's shifts divided by the shifts a nurse works a week."""
    if scenario.staff.roster == "continuous":
        return scenario.staff.nurses.on_duty
    day, night = shift_sizes(scenario)
    return math.ceil(7 * (day + night) / scenario.staff.nurses.shifts_per_week - 1e-9)


def roster_from(workforce: Workforce, spec: StaffSpec, size: int, now: float, recorder: Recorder) -> list[Nurse]:
    """Up to ``size`` of ``workforce``'s nurses for a shift starting now: those rested at least
    ``min_rest_hours`` and under their weekly shifts, who have rested longest first, less those who
    call in sick (recorded in ``recorder``)."""
    rest = spec.shifts.min_rest_hours * HOUR
    cap = math.ceil(spec.nurses.shifts_per_week - 1e-9)
    week_ago = now - 7 * DAY
    free = []
    for n in workforce.nurses:
        n.recent_starts = [t for t in n.recent_starts if t > week_ago]
        if not n.on_duty and now - n.last_end >= rest and len(n.recent_starts) < cap:
            free.append(n)
    free.sort(key=lambda n: (n.last_end, n.id))
    chosen: list[Nurse] = []
    for nurse in free:
        if len(chosen) == size:
            break
        if workforce.calls_in_sick(nurse):
            nurse.last_end = now  # a day off, of a kind
            recorder.sick_shifts += 1
            continue
        chosen.append(nurse)
        nurse.recent_starts.append(now)
    return chosen


class FloatCover(Protocol):
    """Who covers a unit's open slots before agency: a hospital's float pool, or nobody."""

    covers_first: bool

    def request(self, staff: "Staff", open_slots: int) -> None:
        """``staff``'s shift starting now has ``open_slots`` open; answer with ``staff.cover``."""


class _NoFloatPool:
    covers_first = False

    def request(self, staff: "Staff", open_slots: int) -> None:  # pragma: no cover - never asked
        staff.cover((), staff.workforce, open_slots)


NO_FLOAT_POOL: FloatCover = _NoFloatPool()


class Staff:
    """The nursing staff of one unit and the processes that put them to work."""

    def __init__(self, env: Environment, scenario: ScenarioSpec, queue: TaskQueue, workforce: Workforce,
                 safety: Safety, pressure: Pressure, hooks: Sequence[TaskHook], recorder: Recorder,
                 huddle_minutes: float = 0.0, float_nurses: int = 0, event_log: NoEventLog = NO_EVENT_LOG,
                 float_pool: "FloatCover" = NO_FLOAT_POOL):
        """``workforce``: the employed nurses (who is rostered, sick, how tired); ``safety``: slips and
        failed tasks; ``pressure``: leaders' pressure (its ``level`` now); ``hooks``: extra minutes a task takes
        (defects); ``huddle_minutes`` a shift and ``float_nurses`` on call come from the leadership
        system's mechanisms. ``float_pool``: a hospital's pool of float nurses, asked to cover the
        slots left open before agency is called (a unit alone has none)."""
        self.env = env
        self.sc = scenario  # its staff and leadership blocks
        self.queue = queue
        self.workforce = workforce
        self.safety = safety
        self.pressure = pressure
        self.hooks = tuple(hooks)
        self.rec = recorder
        self.huddle_minutes = huddle_minutes
        self.float_nurses = float_nurses
        self.event_log = event_log
        self.float_pool = float_pool
        self.lead = scenario.leadership  # the leadership system now (a rollout changes it: adopt)
        self.launched_at = 0.0  # when it was adopted (its launch's longer huddles count from then)
        self.shift_size = 0  # nurses rostered on the current shift
        self.shift_end = 0.0  # end of the current shift, and its handoff minutes
        self.shift_handoff = 0.0
        self._floats_out = 0  # float nurses called in and not yet back (float_back)
        self._agency_ids = -1

    def start(self) -> None:
        if self.sc.staff.roster == "continuous":
            for nurse in self.workforce.nurses:
                self.env.process(self._shift(nurse, INFINITY, 0.0, False, self.workforce))
        else:
            self.env.process(self._roster())
            if self.float_nurses > 0:
                self.env.process(self._float_pool())

    # ------------------------------------------------------------------ roster
    def _roster(self) -> Generator[simpy.Event, Any, None]:
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
            self.rec.shift_change(size)
            self.workforce.sample()
            first = env.now == 0 and start < 0  # the shift on at time 0 is already past its handoff
            self.shift_end, self.shift_handoff = end, 0.0 if first else shifts.handoff_minutes
            on = self._staff_shift(size)
            self.event_log.shift_rostered(env.now, start, end, is_day, size, on)
            for nurse in on:
                self.env.process(self._shift(nurse, end, self.shift_handoff, False, self.workforce))
            yield env.timeout(end - env.now)
            start = end

    def _staff_shift(self, size: int) -> list[Nurse]:
        """The nurses for the next shift: rested staff, less sick calls, plus agency for open slots."""
        chosen = roster_from(self.workforce, self.sc.staff, size, self.env.now, self.rec)
        if self.float_pool.covers_first:
            self.float_pool.request(self, size - len(chosen))  # it covers what it can, then calls agency_for
            return chosen
        self.agency_for(size - len(chosen), chosen)
        return chosen

    def agency_for(self, slots: int, chosen: list[Nurse]) -> None:
        """Agency nurses for ``slots`` open slots of the shift starting now, each filled with
        ``agency.fill_probability`` (appended to ``chosen``); the shift's shortfall is recorded."""
        now = self.env.now
        agency = self.sc.staff.agency
        short = 0
        for _ in range(slots):
            if self.workforce.absence.random() < agency.fill_probability:
                chosen.append(self._agency_nurse())
                self.rec.agency_shifts += 1
                self.rec.cost("agency", SHIFT / HOUR * agency.hourly_cost)
            else:
                short += 1
        self.rec.shift_started(now, short)

    def cover(self, nurses: Sequence[Nurse], workforce: Workforce, open_slots: int) -> None:
        """A float pool's ``nurses`` (of ``workforce``) join the shift that starts now; agency is
        called for the ``open_slots - len(nurses)`` slots still open."""
        extra: list[Nurse] = []
        self.agency_for(max(0, open_slots - len(nurses)), extra)
        for nurse in nurses:
            self.rec.float_shifts += 1
            self.env.process(self._shift(nurse, self.shift_end, self.shift_handoff, False, workforce))
        for nurse in extra:
            self.env.process(self._shift(nurse, self.shift_end, self.shift_handoff, False, self.workforce))

    def adopt(self, lead: LeadershipSpec, huddle_minutes: float, float_nurses: int) -> None:
        """The unit adopts another leadership system now (a hospital's rollout)."""
        self.lead = lead
        self.launched_at = self.env.now
        self.huddle_minutes = huddle_minutes
        started = self.float_nurses > 0
        self.float_nurses = float_nurses
        if not started and float_nurses > 0 and self.sc.staff.roster == "shifts":
            self.env.process(self._float_pool())

    def _agency_nurse(self) -> Nurse:
        nurse = Nurse(self._agency_ids, agency=True)
        self._agency_ids -= 1
        return nurse

    # ------------------------------------------------------------------ float pool
    def _float_pool(self) -> Generator[simpy.Event, Any, None]:
        """Every 15 minutes: call a float nurse for four hours when the backlog surges, within a weekly
        budget of float hours."""
        used: list[float] = []  # start times of float blocks in the last week
        while True:
            yield self.env.timeout(15.0)
            lead = self.lead
            blocks_per_week = int(lead.float_hours_per_week * HOUR // FLOAT_BLOCK)
            surge = len(self.queue) > lead.float_trigger_tasks_per_nurse * max(1, self.shift_size)
            if not surge or self._floats_out >= self.float_nurses:
                continue
            used = [t for t in used if t > self.env.now - WEEK]
            if len(used) < blocks_per_week:
                used.append(self.env.now)
                self._floats_out += 1
                nurse = self._agency_nurse()
                self.rec.float_minutes += FLOAT_BLOCK
                self.rec.cost("regular", FLOAT_BLOCK / HOUR * self.sc.staff.nurses.hourly_wage)
                self.env.process(self._shift(nurse, self.env.now + FLOAT_BLOCK, 0.0, True, self.workforce))

    def float_back(self) -> None:
        """A float block's nurse is back: another may be called."""
        self._floats_out -= 1

    # ------------------------------------------------------------------ a shift
    def _shift(self, nurse: Nurse, end: float, handoff: float, floating: bool,
               workforce: Workforce) -> Generator[simpy.Event, Any, None]:
        """One nurse's shift: handoff and huddle, then the work loop (:class:`_Work`), overtime and home.
        ``floating``: a four-hour float block (paid by the hour it was called for); ``workforce``: the
        nurse's employer (the unit's, or a hospital float pool's), told how the shift went."""
        env = self.env
        rec = self.rec
        log = self.event_log
        queue = self.queue
        pace_gain = self.lead.pressure_pace_gain
        began = env.now
        missed_before = rec.missed_cum
        rest_days = (began - nurse.last_end) / DAY if nurse.last_end > -INFINITY else 3.0
        nurse.on_duty = True
        nurse.shifts_worked += 1
        nurse.shift_busy = nurse.shift_workaround = 0.0
        pace = workforce.pace(nurse) if not nurse.agency else 1.0
        if nurse.agency and not floating:
            pace = self.sc.staff.agency.pace  # float nurses know the hospital; agency nurses do not
        elif end < INFINITY and not floating:
            rec.cost("regular", SHIFT / HOUR * self.sc.staff.nurses.hourly_wage)
        queue.flush()  # what came due before she came on enters first (the queue reads who is on duty)
        rec.nurse_on(env.now)
        logging = rec.events is not None
        if logging:
            rec.log(env.now, "on", nurse=nurse.id, value=end)
        log.nurse_on(env.now, nurse, end, floating)
        huddle = self.huddle_minutes * launch_factor(self.lead, env.now - self.launched_at) if handoff > 0 else 0.0
        lead_in = handoff + huddle
        if lead_in > 0:
            rec.handoff(env.now, handoff, True)
            if huddle > 0:
                rec.huddle_minutes += huddle
                rec.implementation(huddle / 60.0 * self.sc.staff.nurses.hourly_wage)
            yield env.timeout(lead_in)
            rec.handoff(env.now, handoff, False)
            nurse.shift_busy += lead_in
        _Work(self, nurse, end, floating, workforce, pace, pace_gain, missed_before, rest_days).next(env.now)

    def backlog_exceeds(self) -> bool:
        """More tasks wait than the overtime threshold per rostered nurse: a nurse at the end of her
        shift stays on."""
        threshold = self.sc.staff.overtime.backlog_threshold_tasks
        return len(self.queue) > threshold * max(1, self.shift_size)


class _Work:
    """One nurse's work loop, from the end of her shift's lead-in to going home: take the head of
    the queue, work it, repeat; wait idle when the queue is empty; after the shift's end, overtime
    while the backlog is high, then home.

    It runs once per task, so it is not a SimPy process but the callbacks of the events it waits
    on (a task's end, an idle wait): the same steps at the same instants in the same order as a
    process's loop, without resuming a generator for every task. The clock is read once after each
    wait, leaders' pressure from its level, the busy level falls at the end of each task as
    ``Recorder.task_finished`` would lower it (the same arithmetic, without the call), and the event
    logs are called only when one is kept."""

    def __init__(self, staff: Staff, nurse: Nurse, end: float, floating: bool, workforce: Workforce, pace: float,
                 pace_gain: float, missed_before: float, rest_days: float):
        self.staff = staff
        self.env = staff.env
        self.queue = staff.queue
        self.rec = staff.rec
        self.safety = staff.safety
        self.pressure = staff.pressure
        self.log = staff.event_log
        self.ocel = staff.event_log.recording
        self.logging = staff.rec.events is not None
        hooks = staff.hooks
        self.hooks = hooks
        self.hook: TaskHook | None = hooks[0] if len(hooks) == 1 else None  # the usual case: the defects'
        self.nurse = nurse
        self.end = end
        self.ot_cap = end + staff.sc.staff.overtime.max_minutes
        self.floating = floating
        self.workforce = workforce
        self.pace = pace
        self.pace_gain = pace_gain
        self.missed_before = missed_before
        self.rest_days = rest_days
        self.task: Task | None = None  # the task in hand, its minutes and leaders' pressure when started
        self.minutes = 0.0
        self.pressed = 0.0
        self._finished = self.finished  # (bound once: a callback for every task)
        self._handed = self.handed

    def next(self, now: float) -> None:
        """At ``now``: take the next task, wait idle for one, or end the shift."""
        if now >= self.end and (self.floating or not (now < self.ot_cap and self.staff.backlog_exceeds())):
            self.off()
            return
        task = self.queue.pop(now)
        if task is None:
            if now >= self.end:
                self.off()
                return
            self.queue.wait(self.nurse).callbacks.append(self._handed)
            return
        self.start(task, now, True)  # taken from the queue (its leaving it is counted with its start)

    def handed(self, event: simpy.Event) -> None:
        """The idle wait is over: a task handed to her (it never waited in the queue), or None: home."""
        task = event.value
        if task is None:
            self.off()
            return
        self.start(task, self.env.now, False)

    def start(self, task: Task, now: float, queued: bool) -> None:
        nurse = self.nurse
        pressure = self.pressure.level
        base = task.minutes * self.pace * (1.0 - self.pace_gain * pressure)
        minutes = base
        hook = self.hook
        if hook is not None:
            minutes += hook(nurse, task, minutes)
        else:
            for each_hook in self.hooks:
                minutes += each_hook(nurse, task, minutes)
        rec = self.rec
        rec.task_started(now, task, minutes, base, queued)
        if self.logging:
            rec.log(now, "start", patient=task.patient.index, nurse=nurse.id, task=task.type, value=minutes)
        if self.ocel:
            self.log.task_started(now, task, nurse, minutes)
        self.task = task
        self.minutes = minutes
        self.pressed = pressure
        self.env.call_later(minutes, self._finished)

    def finished(self) -> None:
        """The task in hand is done (or failed: a defect made it impossible, and it counts as missed)."""
        task = self.task
        assert task is not None
        now = self.env.now
        busy = self.rec.busy
        busy.area += busy.level * (now - busy.last)
        busy.last = now
        busy.level -= 1
        nurse = self.nurse
        if self.ocel:
            self.log.task_finished(now, task, nurse)
        nurse.shift_busy += self.minutes
        safety = self.safety
        safety.slip(task, nurse.exhaustion, self.pressed)
        if task.failed:
            self.rec.task_missed(task, now, started=True)
            safety.missed(task)
        if task.on_done is not None:
            task.on_done(task, now)
        self.task = None
        self.next(now)

    def off(self) -> None:
        """The shift is over for her: overtime counted and paid, her employer told how it went."""
        staff, rec, queue, nurse = self.staff, self.rec, self.queue, self.nurse
        now = self.env.now
        end = self.end
        nurse.on_duty = False
        nurse.last_end = now
        extra = max(0.0, now - end)
        queue.flush()
        rec.nurse_off(now, extra)
        queue.flush()  # if nobody is on duty now, what comes due next needs an alarm
        if extra > 0 and not nurse.agency:
            rec.cost("overtime", extra / HOUR * staff.sc.staff.nurses.hourly_wage * staff.sc.staff.overtime.wage_multiplier)
        if end < INFINITY and not self.floating:
            missed = (rec.missed_cum - self.missed_before) / max(1, staff.shift_size)
            self.workforce.after_shift(nurse, missed, extra, staff.pressure.level, self.rest_days)
            nurse.recognition = 0.0  # counted in this shift's resources; what comes later counts next time
        if self.logging:
            rec.log(now, "off", nurse=nurse.id, value=extra)
        self.log.nurse_off(now, nurse, extra)
        if self.floating:
            staff.float_back()
