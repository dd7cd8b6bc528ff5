"""The model's plain entities: a task, a patient, a nurse and a workflow defect.

Records with ``__slots__`` and no behaviour beyond their own fields: the components of
:mod:`careos_sim.model` create them, change them and pass them to each other. A defect's
state here is the defect's own (its rate, whether it is fixed); what the leadership system
knows about it (reports, backlog) is the leadership system's.
"""

from __future__ import annotations

from typing import Any, Callable

from careos_sim.model.streams import Stream
from careos_sim.spec.scenario import DIMENSIONS, TASK_TYPES, DefectCategorySpec
from careos_sim.clock import INFINITY

__all__ = ["Task", "Patient", "Nurse", "Defect", "UNIT"]

#: The owner of a defect the unit can fix itself.
UNIT = "unit"


class Task:
    """One piece of care for one patient."""

    __slots__ = ("type_index", "patient", "due", "deadline", "minutes", "priority", "on_done", "entered", "failed",
                 "started_at", "oid")

    def __init__(
        self,
        type_index: int,
        patient: "Patient",
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
        self.started_at: float | None = None  # when a nurse started it (set by the recorder)
        self.oid: str | None = None  # its object id in an event log (set by the log that records it)

    @property
    def type(self) -> str:
        return TASK_TYPES[self.type_index]


class Patient:
    """One patient's attributes and state."""

    __slots__ = ("index", "acuity", "demand", "harm_factor", "lep", "los", "calls", "care", "defects", "present", "admitted_at",
                 "ready_at", "extra_minutes", "los_extended")

    def __init__(self, index: int, acuity: int, demand: float, lep: int, los: float, calls: Stream, care: Stream,
                 defects: Stream):
        self.index = index
        self.acuity = acuity  # 0 low, 1 medium, 2 high
        self.demand = demand  # multiplier on task minutes
        self.harm_factor = 1.0  # multiplier on harm probabilities (by acuity)
        self.lep = lep  # 1: limited English proficiency
        self.los = los  # minutes from admission until ready for discharge
        self.calls = calls
        self.care = care
        self.defects = defects  # draws for defect encounters on this patient's tasks
        self.present = False
        self.admitted_at = 0.0
        self.ready_at = INFINITY
        self.extra_minutes = 0.0  # stay added by harm or failed communication, not yet served
        self.los_extended = False


class Nurse:
    """One nurse: who she is, how tired, how proficient, and what this shift has been like."""

    __slots__ = ("id", "agency", "employed", "on_duty", "last_end", "shifts_worked", "recent_starts", "hired_at",
                 "vulnerability", "exhaustion", "efficacy", "recognition", "shift_busy", "shift_workaround")

    def __init__(self, nurse_id: int, agency: bool = False):
        self.id = nurse_id
        self.agency = agency
        self.employed = not agency
        self.on_duty = False
        self.last_end = -INFINITY
        self.shifts_worked = 0
        self.recent_starts: list[float] = []  # starts of shifts in the last 7 days
        self.hired_at: float | None = None  # None: fully proficient from the start
        self.vulnerability = 0.0  # logit offset of the nurse's exhaustion target (higher: tires more)
        self.exhaustion = 0.0  # E in [0, 1]
        self.efficacy = 0.3  # voice efficacy: share of recent reports that led to a visible fix
        self.recognition = 0.0  # recognition received this shift
        self.shift_busy = 0.0  # minutes this shift on tasks, handoff and huddle
        self.shift_workaround = 0.0  # minutes this shift on workarounds


class Defect:
    """One latent workflow defect."""

    __slots__ = ("id", "category", "cat", "rate", "base_rate", "effort_hours", "impact", "dims", "active",
                 "fixed", "first_encounter", "owner", "key")

    def __init__(self, defect_id: int, category: int, cat: DefectCategorySpec, rate: float, effort_hours: float,
                 owner: str = UNIT):
        self.id = defect_id
        self.owner = owner  # UNIT, or the name of the department that owns it
        #: the failure mode it is in the hospital: (owner, category, ordinal among this unit's defects of
        #: that owner and category); a department's fix of one unit's defect reaches every unit's of that key
        self.key: tuple[str, int, int] = (owner, category, defect_id)
        self.category = category
        self.cat = cat
        self.rate = rate  # per-task encounter probability now
        self.base_rate = rate  # before any fix
        self.effort_hours = effort_hours
        self.dims = frozenset(DIMENSIONS.index(d) for d in cat.dimensions)
        # expected harm-weighted burden of one encounter, in workaround-minute equivalents
        self.impact = cat.workaround_minutes + 600.0 * cat.harm_probability + 60.0 * cat.miss_probability
        self.active = True  # False once the process it lived in has changed
        self.fixed = False
        self.first_encounter: float | None = None
