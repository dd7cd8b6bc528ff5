"""The simulation's environment: SimPy's, with its event queue on an :class:`~careos_sim.model.agenda.Agenda`.

:class:`Environment` is a :class:`simpy.Environment` (processes, events, timeouts, conditions and
resources work as in SimPy) that keeps its scheduled events in an agenda ordered by SimPy's own key,
``(time, priority, event id)``, so that it processes the same events in the same order as SimPy
would. What differs is the cost: compiled, the agenda compares keys as C numbers (SimPy's
``heapq`` compares tuples), and stepping and the run loop are compiled too. Two more things:

* :meth:`Environment.call_later` schedules a plain callback ``delay`` minutes from now, in the very
  place of the event queue that ``timeout(delay)`` would take (the same time, priority and event
  id), without making an event: for the callbacks of the model's most frequent waits (a task's
  end), which nothing else waits on.
* ``now`` is a plain attribute that stepping keeps up to date (SimPy's is a property: a Python
  call for each read, and the model reads the clock for every task). SimPy's own ``_now``, which
  only its ``schedule``, ``step`` and ``now`` read (all replaced here), keeps the initial time.
"""

from __future__ import annotations

from typing import Any, Callable

import simpy
from simpy.core import EmptySchedule, StopSimulation
from simpy.events import NORMAL, URGENT, Event

from careos_sim.model.agenda import Agenda, new_agenda

__all__ = ["Environment"]

#: the priority SimPy gives an event re-scheduled when a run stops part-way through its callbacks
_RESUME = -1


class Environment(simpy.Environment):
    """A :class:`simpy.Environment` with a compiled event queue and :meth:`call_later`."""

    #: The current simulation time: an instance attribute that stepping sets (this plain class
    #: attribute shadows SimPy's read-only property, so that reads find the instance's value).
    now = 0.0

    def __init__(self, initial_time: float = 0.0) -> None:
        super().__init__(float(initial_time))  # (a float from the start, compiled or not)
        self.now = self._now
        self._agenda: Agenda = new_agenda()
        self._events = 0  # event ids handed out (SimPy counts from 0 too)
        # bind the event classes to this instance, as SimPy does for its own class's attributes
        for name in ("process", "timeout", "event", "all_of", "any_of"):
            setattr(self, name, getattr(self, name))

    def schedule(self, event: Event, priority: int = NORMAL, delay: float = 0) -> None:
        """Schedule ``event`` with ``priority`` ``delay`` from now (as SimPy does)."""
        seq = self._events
        self._events = seq + 1
        self._agenda.push(self.now + delay, priority, seq, event, None)

    def call_later(self, delay: float, callback: Callable[[], None]) -> None:
        """Call ``callback()`` ``delay`` from now, where a ``timeout(delay)`` made now would be
        processed (its callbacks called), with no event made."""
        if delay < 0:
            raise ValueError(f"Negative delay {delay}")
        seq = self._events
        self._events = seq + 1
        self._agenda.push(self.now + delay, NORMAL, seq, None, callback)

    def peek(self) -> float:
        """The time of the next scheduled event (infinity if none)."""
        return self._agenda.peek()

    def step(self) -> None:
        """Process the next event (:class:`simpy.core.EmptySchedule` if there is none)."""
        _step(self, self._agenda)

    def run(self, until: Any = None) -> Any:
        """Step until ``until`` (a time or an event) or until no event is left, as SimPy's ``run``."""
        if until is not None:
            if not isinstance(until, Event):
                at = until if isinstance(until, int) else float(until)
                if at <= self.now:
                    raise ValueError(f"until ({at}) must be greater than the current simulation time")
                until = Event(self)
                until._ok = True
                until._value = None
                self.schedule(until, URGENT, at - self.now)
            elif until.callbacks is None:
                return until.value  # already processed
            until.callbacks.append(StopSimulation.callback)
        agenda = self._agenda
        try:
            while True:
                _step(self, agenda)
        except StopSimulation as stop:
            return stop.args[0]
        except EmptySchedule:
            if until is not None:
                raise RuntimeError(f'No scheduled events left but "until" event was not triggered: {until}') from None
        return None


def _step(env: Environment, agenda: Agenda) -> None:
    """Process the next event of ``env``: call its callbacks; crash the run on a failed event that
    nobody defused (as SimPy's ``step``)."""
    if not len(agenda):
        raise EmptySchedule()
    event = agenda.pop()
    env.now = agenda.first
    if event is None:
        agenda.extra()
        return
    callbacks = event.callbacks
    event.callbacks = None
    done = 0
    try:
        for callback in callbacks:
            callback(event)
            done += 1
    except StopSimulation:
        # the rest of the callbacks run when the run resumes
        event.callbacks = callbacks[done + 1:]
        env.schedule(event, _RESUME)
        raise
    if not event._ok and not hasattr(event, "_defused"):
        value = event._value
        exc = type(value)(*value.args)
        exc.__cause__ = value
        raise exc
