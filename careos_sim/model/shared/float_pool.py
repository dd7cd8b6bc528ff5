"""A hospital's float pool: real nurses who cover the units' open slots before agency is called.

The pool's nurses are employed by the hospital (a :class:`~careos_sim.model.workforce.Workforce`
of their own: exhaustion, sick calls, turnover and hiring, on the pool's own streams). At each
shift change every unit rosters its own staff first and asks the pool to cover the slots left
open (vacancies, sick calls); once every unit has asked, the pool sends its rested nurses by its
dispatch rule, and each unit calls agency for what is still open:

* ``open_slots``: one nurse at a time to the unit with most slots still open (ties: the
  hospital's order); nurses left over stay home.
* ``load``: every rested nurse, one at a time, to the unit with most patients per nurse on the
  coming shift (counting those already sent).
* ``open_slots_then_load`` (the default): open slots first, then the rest by load.

A float nurse works the whole 12-hour shift on the unit she is sent to, at full pace (she knows
the hospital; an agency nurse does not) and at the unit's wage.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import simpy

from careos_sim.measure.recorder import Recorder
from careos_sim.model.nurses import roster_from
from careos_sim.model.streams import Streams
from careos_sim.model.workforce import Workforce
from careos_sim.spec.scenario import StaffSpec

if TYPE_CHECKING:  # pragma: no cover
    from careos_sim.model.entities import Nurse
    from careos_sim.model.nurses import Staff

__all__ = ["FloatPool", "DISPATCH_RULES", "POOL_NURSE_IDS"]

DISPATCH_RULES = ("open_slots_then_load", "open_slots", "load")
#: the id of the pool's first nurse: the units number theirs from 0, so in an event log a nurse id
#: from this one up is the float pool's (the order of ids within the pool, all that the roster
#: reads of them, is the same)
POOL_NURSE_IDS = 100_000


class FloatPool:
    """The pool's nurses and its dispatch at each shift change."""

    covers_first = True

    def __init__(self, env: simpy.Environment, positions: int, dispatch: str, staff: StaffSpec, streams: Streams,
                 recorder: Recorder):
        if dispatch not in DISPATCH_RULES:
            raise ValueError(f"dispatch must be one of {DISPATCH_RULES}, got {dispatch!r}")
        self.env = env
        self.dispatch = dispatch
        self.staff_spec = staff
        self.rec = recorder
        self.workforce = Workforce(env, staff, positions, streams, recorder, first_id=POOL_NURSE_IDS)
        self._requests: list[tuple["Staff", int]] = []
        self._pending = False

    def start(self) -> None:
        self.workforce.start()

    def request(self, staff: "Staff", open_slots: int) -> None:
        """A unit's shift starting now has ``open_slots`` open; the pool answers once every unit asked."""
        self._requests.append((staff, open_slots))
        if not self._pending:
            self._pending = True
            self.env.timeout(0).callbacks.append(self._dispatch)

    def _dispatch(self, _event: simpy.Event) -> None:
        requests, self._requests, self._pending = self._requests, [], False
        self.workforce.sample()
        open_total = sum(n for _, n in requests)
        wanted = open_total if self.dispatch == "open_slots" else len(self.workforce.nurses)
        nurses = roster_from(self.workforce, self.staff_spec, wanted, self.env.now, self.rec)
        sent = self.assign(nurses, requests)
        for (staff, open_slots), given in zip(requests, sent):
            staff.cover(given, self.workforce, open_slots)

    def assign(self, nurses: list["Nurse"], requests: list[tuple["Staff", int]]) -> list[list["Nurse"]]:
        """Which of ``nurses`` go to which requesting unit, by the dispatch rule (one list per request)."""
        sent: list[list[Nurse]] = [[] for _ in requests]
        left = list(nurses)
        if self.dispatch in ("open_slots", "open_slots_then_load"):
            still = [n for _, n in requests]
            while left and max(still, default=0) > 0:
                i = max(range(len(requests)), key=lambda k: (still[k], -k))
                sent[i].append(left.pop(0))
                still[i] -= 1
        if self.dispatch in ("load", "open_slots_then_load"):
            while left and requests:
                i = max(range(len(requests)), key=lambda k: (_load(requests[k], len(sent[k])), -k))
                sent[i].append(left.pop(0))
        return sent


def _load(request: tuple["Staff", int], sent: int) -> float:
    """Patients per nurse on a unit's coming shift, counting the float nurses sent so far."""
    staff, open_slots = request
    on_shift = max(1, staff.shift_size - open_slots + sent)
    return staff.rec.census.level / on_shift
