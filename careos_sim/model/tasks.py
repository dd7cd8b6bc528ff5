"""Tasks and the unit's task queue.

A task is a piece of care one patient needs: a call light, a scheduled round (assessment,
medication, hygiene and mobility, documentation, communication), admission or discharge work.
It has a clinical priority, a due time and, for most scheduled work, a window: a task not
started by ``due + window`` is *missed care* and is dropped unstarted.

Tasks wait in one unit queue ordered by priority, then due time, then arrival. A free nurse
takes the head of the queue; a task that arrives while a nurse is idle goes straight to her.
While a nurse is on duty, expired tasks are found lazily, when they reach the head of the
queue, so the queue costs O(log n) per task and needs no timer per window. While no nurse is on
duty (a shift left with nobody: every slot vacant, sick or unfilled), nobody pops the queue, so
a sweep every :data:`SWEEP_MINUTES` finds the tasks whose window has passed and counts them as
missed care (with its harm) at once; without it they would be counted only when the next nurse
came on, late, or at the end of the run, with no harm. The sweep acts only when no nurse has
been on duty for some time, so it never changes a run in which a nurse is always there.

Tasks known in advance (a round's tasks, each due at its own offset into the round; a patient's
next call light) are handed to the queue early, with the time they come due
(:meth:`TaskQueue.push_at`, :meth:`TaskQueue.call_at`), and enter it lazily: the next time
anything reads or changes the queue (a nurse taking a task, a push, its length, a nurse coming on
or going off duty, a patient leaving, the end of a period) it first enters, in time order and each
at its own time, every task that came due meanwhile. Nothing read or changed the queue in
between, so this is the same as entering each at its time, with no SimPy event per task. Only
while a nurse is idle, nobody is on duty (the sweep) or an event log is kept does the queue set
an alarm for the next such task, to enter it at its exact time.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any, Callable, Generator

import simpy

from careos_sim.measure.eventlog import NO_EVENT_LOG, NoEventLog
from careos_sim.measure.recorder import Recorder
from careos_sim.model.agenda import new_agenda
from careos_sim.model.entities import Task
from careos_sim.model.environment import Environment
from careos_sim.spec.scenario import TASK_TYPES

__all__ = ["TaskQueue", "TYPE_INDEX", "SWEEP_MINUTES"]

TYPE_INDEX = {name: i for i, name in enumerate(TASK_TYPES)}
#: Minutes between sweeps for expired tasks while no nurse is on duty.
SWEEP_MINUTES = 5.0


def _delay(now: float, at: float) -> float:
    """The delay d with ``now + d == at`` exactly (as SimPy adds it), so that an alarm fires at the
    very time a task comes due."""
    d = at - now
    while now + d < at:
        d = math.nextafter(d, math.inf)
    while now + d > at:
        d = math.nextafter(d, -math.inf)
    return d


def _ignore(task: Task) -> None:
    """A missed task that harms nobody (a queue without a safety system)."""


class TaskQueue:
    """The unit queue: priority, then due time, then first come; idle nurses wait on it.

    ``on_missed`` is told of each missed task (the safety system decides its harm);
    ``event_log`` records tasks created, missed and cancelled (a do-nothing log by default)."""

    def __init__(self, env: Environment, recorder: Recorder, on_missed: Callable[[Task], None] = _ignore,
                 event_log: NoEventLog = NO_EVENT_LOG):
        self.env = env
        self.rec = recorder
        self.on_missed = on_missed
        self.event_log = event_log
        self._heap = new_agenda()  # the queued tasks, by (priority, due, arrival)
        self._seq = 0
        self._idle: deque[tuple[Any, simpy.Event]] = deque()
        self._sweeping = False  # a sweep process is running (no nurse on duty)
        self._min_deadline = math.inf  # no queued task has an earlier deadline (a lower bound)
        # what comes due later, by (time, 0, order): the argument, with the action as its extra
        # (action(argument, time) at that time; no action: the argument is the task)
        self._future = new_agenda()
        self._alarm_at = math.inf  # the earliest alarm set for the future (inf: none)
        self._logging = event_log.recording  # (read for every task)

    def __len__(self) -> int:
        now = self.env.now
        if self._future.peek() <= now:
            self._flush(now)
        return len(self._heap)

    # ------------------------------------------------------------------ what comes due later
    def push_at(self, time: float, task: Task) -> None:
        """Queue a task at ``time`` (not before now), as :meth:`push` would then."""
        self._seq += 1
        self._future.push(time, 0.0, self._seq, task, None)
        if time < self._alarm_at and (self._idle or self.rec.on_duty.level <= 0 or self._logging):
            self._arm()

    def call_at(self, time: float, make: Callable[[Any, float], Task | None] | None, argument: Any) -> None:
        """At ``time`` (not before now), queue the task ``make(argument, time)`` returns (if any), as
        :meth:`push` would then: a patient's next call light, made when it comes due. The queue calls
        ``make`` when it next enters what came due, so ``make`` may read only what the queue keeps up
        to date (the patient, its own streams) and may call this again for a later time. Without
        ``make``, ``argument`` is the task."""
        self._seq += 1
        self._future.push(time, 0.0, self._seq, argument, make)
        if time < self._alarm_at and (self._idle or self.rec.on_duty.level <= 0 or self._logging):
            self._arm()

    def flush(self) -> None:
        """Enter, in time order and each at its own time, what came due by now; while a nurse is idle,
        nobody is on duty or an event log is kept, set an alarm for the next. Whatever reads or
        changes what entering reads (the queue, who is on duty, a patient on the unit, a period's
        totals) calls this first."""
        if len(self._future):
            self._flush(self.env.now)

    def _flush(self, now: float) -> None:
        future = self._future
        if len(future):
            # Nearly every task enters here: each is entered as _enter enters it (the same steps in
            # the same order), written out so that a task costs no call, and counted as queued as
            # Recorder.task_queued counts it (the same arithmetic on the pending level).
            rec = self.rec
            pending = rec.pending
            idle = self._idle
            heap = self._heap
            while future.peek() <= now:
                task = future.pop()
                time = future.first
                make = future.extra
                if make is not None:
                    task = make(task, time)
                    if task is None:
                        continue
                if not task.patient.present:
                    rec.task_cancelled(task)
                    continue
                task.entered = time
                if self._logging:
                    self.event_log.task_created(time, task)
                if idle:
                    idle.popleft()[1].succeed(task)
                    continue
                rec.tasks_entered += 1
                pending.area += pending.level * (time - pending.last)
                pending.last = time
                pending.level += 1
                self._seq += 1
                heap.push(task.priority, task.due, self._seq, task, None)
                deadline = task.deadline
                if deadline is not None and deadline < self._min_deadline:
                    self._min_deadline = deadline
                if not self._sweeping and rec.on_duty.level <= 0:
                    self._start_sweep()
            if future.peek() < self._alarm_at and (
                    self._idle or self.rec.on_duty.level <= 0 or self._logging):
                self._arm()

    def _arm(self) -> None:
        """An alarm at the next time something comes due (it must happen exactly then: a nurse is
        idle, nobody is on duty or an event log is kept)."""
        env = self.env
        at = self._future.peek()
        if at > env.now:  # (what is due already, the flush under way enters)
            self._alarm_at = at
            env.call_later(_delay(env.now, at), self._ring)

    def _ring(self) -> None:
        if self._alarm_at <= self.env.now:
            self._alarm_at = math.inf
        self.flush()

    # ------------------------------------------------------------------ now
    def push(self, task: Task) -> None:
        """Queue a task now, or hand it to an idle nurse."""
        now = self.env.now
        self._flush(now)
        self._enter(task, now)

    def _enter(self, task: Task, now: float) -> None:
        """Queue a task at ``now`` (the time it comes due, at or before the clock), or hand it to an
        idle nurse. (:meth:`_flush` has these steps written out: a change here is a change there.)"""
        if not task.patient.present:
            self.rec.task_cancelled(task)
            return
        task.entered = now
        if self._logging:
            self.event_log.task_created(now, task)
        if self._idle:
            _, event = self._idle.popleft()
            event.succeed(task)
            return
        rec = self.rec
        rec.task_queued(now)
        self._seq += 1
        self._heap.push(task.priority, task.due, self._seq, task, None)
        deadline = task.deadline
        if deadline is not None and deadline < self._min_deadline:
            self._min_deadline = deadline
        if not self._sweeping and rec.on_duty.level <= 0:
            self._start_sweep()

    def pop(self, now: float | None = None) -> Task | None:
        """The next task to start now, dropping (and recording) missed and cancelled ones. The task
        returned has left the queue, and the caller counts it when it starts the task now
        (``Recorder.task_started`` with ``queued``: one recorder call a task, not two). ``now``: the
        clock, if the caller has just read it (a nurse's work loop reads it once after each wait)."""
        if now is None:
            now = self.env.now
        if self._future.peek() <= now:
            self._flush(now)
        heap = self._heap
        if not len(heap):
            return None
        rec = self.rec
        while len(heap):
            task: Task = heap.pop()
            if task.patient.present:
                deadline = task.deadline
                if deadline is None or now <= deadline:
                    return task  # (its dequeue is counted with its start)
            rec.task_dequeued(now, task.entered)
            # (about one task in ten is missed: the logs are called only when one is kept)
            if task.patient.present:
                rec.task_missed(task, now)
                if rec.events is not None:
                    rec.log(now, "missed", patient=task.patient.index, task=task.type)
                if self._logging:
                    self.event_log.task_missed(now, task)
                self.on_missed(task)
            else:
                rec.task_cancelled(task)
                if self._logging:
                    self.event_log.task_cancelled(now, task)
        return None

    def wait(self, nurse: Any) -> simpy.Event:
        """An event that a nurse waits on while idle; it fires with a task, or None to stop."""
        event = self.env.event()
        self._idle.append((nurse, event))
        if self._future.peek() < self._alarm_at:
            self._arm()  # what comes due next must reach her at its time
        return event

    def release(self, nurse: Any) -> None:
        """Stop an idle nurse waiting (end of her shift)."""
        if not self._sweeping:  # the shift may be left with nobody: check in a while
            self._start_sweep()
        for i, (who, event) in enumerate(self._idle):
            if who is nurse:
                del self._idle[i]
                event.succeed(None)
                return

    # ------------------------------------------------------------------ no nurse on duty
    def _start_sweep(self) -> None:
        self._sweeping = True
        self.env.process(self._sweep())

    def _sweep(self) -> Generator[simpy.Event, Any, None]:
        """While no nurse is on duty, every few minutes count the queued tasks whose window has
        passed as missed (and their harm); stop once a nurse is on duty again."""
        env = self.env
        on_duty = self.rec.on_duty
        try:
            while True:
                yield env.timeout(SWEEP_MINUTES)
                self.flush()
                if on_duty.level > 0:
                    return
                # nobody on duty, and not just for an instant at a shift change
                if on_duty.last < env.now and env.now > self._min_deadline:
                    self._expire_unstaffed()
        finally:
            self._sweeping = False

    def _expire_unstaffed(self) -> None:
        """Drop the queued tasks whose window has passed (missed care, with its harm) and those of
        patients who left (cancelled), as a nurse popping them would."""
        now = self.env.now
        rec = self.rec

        def gone(task: Task) -> bool:
            return not task.patient.present or (task.deadline is not None and now > task.deadline)

        removed = self._heap.remove_if(gone)  # in queue order, so that harm draws do not depend on the heap layout
        earliest = math.inf
        for task in self._heap.items():
            if task.deadline is not None and task.deadline < earliest:
                earliest = task.deadline
        self._min_deadline = earliest
        for task in removed:
            rec.task_dequeued(now, task.entered)
            if not task.patient.present:
                rec.task_cancelled(task)
                self.event_log.task_cancelled(now, task)
                continue
            rec.task_missed(task, now)
            rec.log(now, "missed", patient=task.patient.index, task=task.type)
            self.event_log.task_missed(now, task)
            self.on_missed(task)

    def expire_all(self) -> None:
        """At the end of the run: count tasks whose window has passed while still queued.

        They are counted at the last instant of the run (just before its end), so that a run
        ending at midnight does not count them on a calendar day it never reached."""
        self.flush()
        now = self.env.now
        last = math.nextafter(now, -math.inf) if now > 0 else now
        for task in self._heap.items():
            if task.patient.present and task.deadline is not None and now > task.deadline:
                self.rec.task_missed(task, last)
                self.event_log.task_missed(last, task)
