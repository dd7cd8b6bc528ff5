"""Tasks and the unit's task queue.

A task is a piece of care one patient needs: a call light, a scheduled round (assessment,
medication, hygiene and mobility, documentation, communication), admission or discharge work.
It has a clinical priority, a due time and, for most scheduled work, a window: a task not
started by ``due + window`` is *missed care* and is dropped unstarted.

Tasks wait in one unit queue ordered by priority, then due time, then arrival. A free nurse
takes the head of the queue; a task that arrives while a nurse is idle goes straight to her.
Expired tasks are found lazily, when they reach the head of the queue, so the queue costs
O(log n) per task and needs no timer per window.
"""

from __future__ import annotations

import heapq
from collections import deque
from typing import Any, Callable

import simpy

from careos_sim.recorder import Recorder
from careos_sim.scenario import TASK_TYPES

__all__ = ["Task", "TaskQueue", "TYPE_INDEX"]

TYPE_INDEX = {name: i for i, name in enumerate(TASK_TYPES)}


class Task:
    """One piece of care for one patient."""

    __slots__ = ("type_index", "patient", "due", "deadline", "minutes", "priority", "on_done", "entered", "failed")

    def __init__(
        self,
        type_index: int,
        patient: Any,
        due: float,
        deadline: float | None,
        minutes: float,
        priority: int,
        on_done: Callable[["Task", float], None] | None = None,
    ):
        self.type_index = type_index
        self.patient = patient
        self.due = due
        self.deadline = deadline
        self.minutes = minutes
        self.priority = priority
        self.on_done = on_done
        self.entered = due
        self.failed = False  # set when a defect makes the task impossible to complete

    @property
    def type(self) -> str:
        return TASK_TYPES[self.type_index]


class TaskQueue:
    """The unit queue: priority, then due time, then first come; idle nurses wait on it."""

    def __init__(self, env: simpy.Environment, recorder: Recorder):
        self.env = env
        self.rec = recorder
        self._heap: list[tuple[int, float, int, Task]] = []
        self._seq = 0
        self._idle: deque[tuple[Any, simpy.Event]] = deque()
        self.on_missed: Callable[[Task], None] | None = None  # harm from missed care

    def __len__(self) -> int:
        return len(self._heap)

    def push(self, task: Task) -> None:
        """Queue a task now, or hand it to an idle nurse."""
        now = self.env.now
        if not task.patient.present:
            self.rec.task_cancelled(task)
            return
        task.entered = now
        if self._idle:
            _, event = self._idle.popleft()
            event.succeed(task)
            return
        self.rec.task_queued(now)
        self._seq += 1
        heapq.heappush(self._heap, (task.priority, task.due, self._seq, task))

    def pop(self) -> Task | None:
        """The next task to start now, dropping (and recording) missed and cancelled ones."""
        heap = self._heap
        now = self.env.now
        rec = self.rec
        while heap:
            task = heapq.heappop(heap)[3]
            rec.task_dequeued(now, task.entered)
            if not task.patient.present:
                rec.task_cancelled(task)
            elif task.deadline is not None and now > task.deadline:
                rec.task_missed(task, now)
                rec.log(now, "missed", patient=task.patient.index, task=task.type)
                if self.on_missed is not None:
                    self.on_missed(task)
            else:
                return task
        return None

    def wait(self, nurse: Any) -> simpy.Event:
        """An event that a nurse waits on while idle; it fires with a task, or None to stop."""
        event = self.env.event()
        self._idle.append((nurse, event))
        return event

    def release(self, nurse: Any) -> None:
        """Stop an idle nurse waiting (end of her shift)."""
        for i, (who, event) in enumerate(self._idle):
            if who is nurse:
                del self._idle[i]
                event.succeed(None)
                return

    def expire_all(self) -> None:
        """At the end of the run: count tasks whose window has passed while still queued."""
        now = self.env.now
        for _, _, _, task in self._heap:
            if task.patient.present and task.deadline is not None and now > task.deadline:
                self.rec.task_missed(task, now)
