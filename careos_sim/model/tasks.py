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
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from heapq import heappop, heappush
from typing import Any, Callable, Iterator

import simpy

from careos_sim.measure.eventlog import NO_EVENT_LOG, NoEventLog
from careos_sim.measure.recorder import Recorder
from careos_sim.model.entities import Task
from careos_sim.spec.scenario import TASK_TYPES

__all__ = ["TaskQueue", "TYPE_INDEX", "SWEEP_MINUTES"]

TYPE_INDEX = {name: i for i, name in enumerate(TASK_TYPES)}
#: Minutes between sweeps for expired tasks while no nurse is on duty.
SWEEP_MINUTES = 5.0


def _ignore(task: Task) -> None:
    """A missed task that harms nobody (a queue without a safety system)."""


class TaskQueue:
    """The unit queue: priority, then due time, then first come; idle nurses wait on it.

    ``on_missed`` is told of each missed task (the safety system decides its harm);
    ``event_log`` records tasks created, missed and cancelled (a do-nothing log by default)."""

    def __init__(self, env: simpy.Environment, recorder: Recorder, on_missed: Callable[[Task], None] = _ignore,
                 event_log: NoEventLog = NO_EVENT_LOG):
        self.env = env
        self.rec = recorder
        self.on_missed = on_missed
        self.event_log = event_log
        self._heap: list[tuple[int, float, int, Task]] = []
        self._seq = 0
        self._idle: deque[tuple[Any, simpy.Event]] = deque()
        self._sweeping = False  # a sweep process is running (no nurse on duty)
        self._min_deadline = math.inf  # no queued task has an earlier deadline (a lower bound)

    def __len__(self) -> int:
        return len(self._heap)

    def push(self, task: Task) -> None:
        """Queue a task now, or hand it to an idle nurse."""
        now = self.env.now
        if not task.patient.present:
            self.rec.task_cancelled(task)
            return
        task.entered = now
        if self.event_log.recording:
            self.event_log.task_created(now, task)
        if self._idle:
            _, event = self._idle.popleft()
            event.succeed(task)
            return
        rec = self.rec
        rec.task_queued(now)
        self._seq += 1
        heappush(self._heap, (task.priority, task.due, self._seq, task))
        deadline = task.deadline
        if deadline is not None and deadline < self._min_deadline:
            self._min_deadline = deadline
        if not self._sweeping and rec.on_duty.level <= 0:
            self._start_sweep()

    def pop(self) -> Task | None:
        """The next task to start now, dropping (and recording) missed and cancelled ones."""
        heap = self._heap
        if not heap:
            return None
        now = self.env.now
        rec = self.rec
        while heap:
            task = heappop(heap)[3]
            rec.task_dequeued(now, task.entered)
            if task.patient.present:
                deadline = task.deadline
                if deadline is None or now <= deadline:
                    return task
                rec.task_missed(task, now)
                rec.log(now, "missed", patient=task.patient.index, task=task.type)
                self.event_log.task_missed(now, task)
                self.on_missed(task)
            else:
                rec.task_cancelled(task)
                self.event_log.task_cancelled(now, task)
        return None

    def wait(self, nurse: Any) -> simpy.Event:
        """An event that a nurse waits on while idle; it fires with a task, or None to stop."""
        event = self.env.event()
        self._idle.append((nurse, event))
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

    def _sweep(self) -> Iterator[simpy.Event]:
        """While no nurse is on duty, every few minutes count the queued tasks whose window has
        passed as missed (and their harm); stop once a nurse is on duty again."""
        env = self.env
        on_duty = self.rec.on_duty
        try:
            while True:
                yield env.timeout(SWEEP_MINUTES)
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
        keep: list[tuple[int, float, int, Task]] = []
        gone: list[tuple[int, float, int, Task]] = []
        earliest = math.inf
        for entry in self._heap:
            task = entry[3]
            if not task.patient.present or (task.deadline is not None and now > task.deadline):
                gone.append(entry)
            else:
                keep.append(entry)
                if task.deadline is not None and task.deadline < earliest:
                    earliest = task.deadline
        if not gone:
            self._min_deadline = earliest
            return
        heapq.heapify(keep)
        self._heap = keep
        self._min_deadline = earliest
        for entry in sorted(gone):  # in queue order, so that harm draws do not depend on the heap layout
            task = entry[3]
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
        now = self.env.now
        last = math.nextafter(now, -math.inf) if now > 0 else now
        for _, _, _, task in self._heap:
            if task.patient.present and task.deadline is not None and now > task.deadline:
                self.rec.task_missed(task, last)
                self.event_log.task_missed(last, task)
