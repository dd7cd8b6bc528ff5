"""The scenario: frozen, validated description of one inpatient unit and how to run it.

A scenario is pure data. It is validated once, at the boundary (see ``loader``), and the
simulation model is built from it; the model never reads YAML or the command line.

Every field carries a description and a unit; ``docs/scenarios.md`` and the JSON Schema
(``careos-sim schema``) are generated from them, so the documentation is written once.
Defaults that model the real world cite their source in ``docs/model.md``.
"""

from __future__ import annotations

import math
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "Scenario",
    "Unit",
    "Patients",
    "AcuityLevel",
    "Acuity",
    "Boarding",
    "Duration",
    "EventTask",
    "ScheduledTask",
    "Tasks",
    "Staff",
    "Nurses",
    "Ratio",
    "Shifts",
    "Overtime",
    "RunSettings",
    "TASK_TYPES",
    "SCHEDULED_TASK_TYPES",
]

#: Every task type the unit knows, in a fixed order (the order of metric columns).
SCHEDULED_TASK_TYPES = (
    "assessment", "medication", "hygiene_mobility", "documentation", "coordination", "communication",
)
TASK_TYPES = ("call_light", *SCHEDULED_TASK_TYPES, "admission", "discharge")


def _f(default, description: str, unit: str = "", **kw):
    """A field with a description and a unit (shown in the schema and the docs)."""
    extra = {"unit": unit} if unit else None
    return Field(default, description=description, json_schema_extra=extra, **kw)


class _Frozen(BaseModel):
    """Base for every scenario block: immutable, and unknown keys are errors."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)


Probability = Annotated[float, Field(ge=0.0, le=1.0)]


class Unit(_Frozen):
    """The physical unit."""

    name: str = _f("medical-surgical unit", "Display name of the unit.")
    beds: int = _f(30, "Staffed beds on the unit.", "beds", ge=1, le=500)
    target_occupancy: float = _f(
        0.85, "Occupancy the admission rate is sized for (beds x occupancy / mean LOS).", "fraction", gt=0, le=1.5
    )


class AcuityLevel(_Frozen):
    """One acuity level: its share of admissions, length of stay and care demand."""

    share: float = _f(0.33, "Share of admissions at this acuity.", "fraction", ge=0, le=1)
    los_days_mean: float = _f(4.5, "Mean length of stay at this acuity.", "days", gt=0, le=365)
    demand_factor: float = _f(
        1.0, "Multiplier on the minutes of every task for a patient at this acuity.", "x", gt=0, le=10
    )


class Acuity(_Frozen):
    """Acuity mix. Shares must add up to 1."""

    low: AcuityLevel = AcuityLevel(share=0.30, los_days_mean=3.5, demand_factor=0.8)
    medium: AcuityLevel = AcuityLevel(share=0.50, los_days_mean=4.5, demand_factor=1.0)
    high: AcuityLevel = AcuityLevel(share=0.20, los_days_mean=6.0, demand_factor=1.3)

    @model_validator(mode="after")
    def _shares_sum_to_one(self) -> "Acuity":
        total = self.low.share + self.medium.share + self.high.share
        if not math.isclose(total, 1.0, abs_tol=1e-6):
            raise ValueError(f"acuity shares low + medium + high must add up to 1, they add up to {total:g}")
        return self

    def levels(self) -> tuple[tuple[str, AcuityLevel], ...]:
        return (("low", self.low), ("medium", self.medium), ("high", self.high))

    def mean_los_days(self) -> float:
        return sum(level.share * level.los_days_mean for _, level in self.levels())


class Boarding(_Frozen):
    """What happens to an admission that finds no free bed."""

    max_hours: float = _f(
        12.0, "Longest an admission waits (boards) for a bed before it is diverted elsewhere.", "hours", ge=0, le=240
    )


#: Default hour-of-day profile of admissions (relative weights, hour 0 first): few at night,
#: a peak from late morning to evening as emergency-department and post-operative patients
#: arrive. A free parameter (shape only; the daily mean is set separately).
DEFAULT_ADMISSION_PROFILE = (
    0.4, 0.3, 0.3, 0.2, 0.2, 0.2, 0.3, 0.5, 0.7, 0.9, 1.2, 1.5,
    1.7, 1.8, 1.8, 1.7, 1.6, 1.5, 1.4, 1.3, 1.1, 0.9, 0.7, 0.5,
)


class Patients(_Frozen):
    """Admissions, attributes and behaviour of patients."""

    admissions_per_day: float | None = _f(
        None,
        "Mean admissions a day. Null: derived as beds x target occupancy / mean length of stay.",
        "admissions/day",
        ge=0,
        le=500,
    )
    admission_profile: tuple[float, ...] = _f(
        DEFAULT_ADMISSION_PROFILE,
        "24 relative weights of admissions by hour of day (hour 0 first); only the shape matters.",
        "weight",
        min_length=24,
        max_length=24,
    )
    initial_occupancy: float = _f(
        0.85, "Share of beds occupied at time 0 (0: start empty; 1: start full).", "fraction", ge=0, le=1
    )
    hold_census_full: bool = _f(
        False,
        "Keep every bed occupied for the whole run with no admissions or discharges (verification).",
    )
    los_cv: float = _f(0.8, "Coefficient of variation of the lognormal length of stay.", "ratio", gt=0, le=5)
    lep_share: float = _f(0.10, "Share of admissions with limited English proficiency (LEP).", "fraction", ge=0, le=1)
    call_lights_per_hour: float = _f(
        0.45, "Call lights per patient per hour (Poisson, independent of pending ones).", "1/hour", ge=0, le=60
    )
    acuity: Acuity = Acuity()
    boarding: Boarding = Boarding()

    @model_validator(mode="after")
    def _profile_positive(self) -> "Patients":
        if any(w < 0 for w in self.admission_profile) or sum(self.admission_profile) <= 0:
            raise ValueError("admission_profile weights must be >= 0 with a positive sum")
        return self


class Duration(_Frozen):
    """A random duration in minutes."""

    dist: Literal["exponential", "lognormal", "gamma", "fixed"] = _f(
        "lognormal", "Distribution family of the duration."
    )
    mean: float = _f(5.0, "Mean duration.", "minutes", gt=0, le=1440)
    cv: float = _f(
        0.5, "Coefficient of variation (ignored by exponential, where it is 1, and fixed, where it is 0).", "ratio",
        ge=0, le=10,
    )


class EventTask(_Frozen):
    """A task raised by an event (a call light, an admission, a discharge)."""

    minutes: Duration = Duration()
    priority: int = _f(3, "Clinical priority: 1 is most urgent. The unit queue orders by priority, then due time.",
                       "rank", ge=1, le=9)
    window_min: float | None = _f(
        None,
        "Minutes after its due time by which the task must start, or it is missed care. Null: never missed "
        "(the task waits until done).",
        "minutes",
        gt=0,
        le=10080,
    )


class ScheduledTask(EventTask):
    """Scheduled care, due for every patient at fixed hours of the day."""

    per_day: int = _f(1, "Times a day the task is due for each patient (evenly spaced).", "1/day", ge=0, le=24)
    first_hour: float = _f(8.0, "Hour of day of the first round.", "hour", ge=0, lt=24)
    spread_min: float = _f(
        60.0, "Due times within a round are spread uniformly over this many minutes.", "minutes", ge=0, le=1440
    )


class Tasks(_Frozen):
    """The work patients need. Minutes are for a medium-acuity patient, before acuity scaling."""

    call_light: EventTask = EventTask(minutes=Duration(dist="lognormal", mean=4.0, cv=0.8), priority=2)
    assessment: ScheduledTask = ScheduledTask(
        minutes=Duration(mean=10.0, cv=0.5), priority=2, window_min=120, per_day=3, first_hour=8
    )
    medication: ScheduledTask = ScheduledTask(
        minutes=Duration(mean=7.0, cv=0.5), priority=1, window_min=60, per_day=4, first_hour=6
    )
    hygiene_mobility: ScheduledTask = ScheduledTask(
        minutes=Duration(mean=12.0, cv=0.6), priority=4, window_min=240, per_day=2, first_hour=9
    )
    documentation: ScheduledTask = ScheduledTask(
        minutes=Duration(mean=18.0, cv=0.6), priority=5, window_min=360, per_day=3, first_hour=5
    )
    coordination: ScheduledTask = ScheduledTask(
        minutes=Duration(mean=12.0, cv=0.7), priority=3, window_min=240, per_day=3, first_hour=9
    )
    communication: ScheduledTask = ScheduledTask(
        minutes=Duration(mean=8.0, cv=0.6), priority=4, window_min=480, per_day=1, first_hour=11
    )
    admission: EventTask = EventTask(minutes=Duration(mean=40.0, cv=0.4), priority=2, window_min=None)
    discharge: EventTask = EventTask(minutes=Duration(mean=30.0, cv=0.5), priority=3, window_min=None)
    lep_interpreter_factor: float = _f(
        1.16,
        "Multiplier on communication and admission minutes for an LEP patient with an interpreter "
        "(32.4 vs 28.0 minutes).",
        "x",
        ge=1,
        le=5,
    )

    def by_type(self) -> dict[str, EventTask]:
        return {name: getattr(self, name) for name in TASK_TYPES}


class Ratio(_Frozen):
    """Target patients per nurse (beds per nurse on duty)."""

    day: float = _f(5.0, "Patients per nurse on day shifts.", "patients/nurse", gt=0, le=50)
    night: float = _f(6.0, "Patients per nurse on night shifts.", "patients/nurse", gt=0, le=50)


class Nurses(_Frozen):
    """The nursing workforce."""

    ratio: Ratio = Ratio()
    on_duty: int = _f(6, "Nurses always on duty under the continuous roster.", "nurses", ge=1, le=500)
    shifts_per_week: float = _f(
        3.0, "12-hour shifts a nurse works a week; sets headcount from the shifts to staff.", "shifts/week", gt=0,
        le=7,
    )
    hourly_wage: float = _f(50.0, "Loaded hourly wage of a staff nurse.", "USD/hour", ge=0, le=1000)


class Shifts(_Frozen):
    """Shift pattern (shift roster only)."""

    day_start_hour: float = _f(7.0, "Hour the day shift starts; the night shift starts 12 hours later.", "hour",
                               ge=0, lt=24)
    handoff_minutes: float = _f(
        15.0, "Minutes each incoming nurse spends taking handoff report before taking tasks.", "minutes", ge=0,
        le=240
    )
    min_rest_hours: float = _f(11.0, "Least rest between two shifts of one nurse.", "hours", ge=0, le=72)


class Overtime(_Frozen):
    """End-of-shift overtime: work above a backlog threshold is finished as overtime, capped."""

    backlog_threshold_tasks: int = _f(
        2, "Outgoing nurses stay while more than this many tasks per incoming nurse are waiting.", "tasks/nurse",
        ge=0, le=1000
    )
    max_minutes: float = _f(60.0, "Longest a nurse stays past the end of a shift.", "minutes", ge=0, le=720)
    wage_multiplier: float = _f(1.5, "Overtime pay as a multiple of the hourly wage.", "x", ge=1, le=5)


class Staff(_Frozen):
    """Who works on the unit, and when."""

    roster: Literal["shifts", "continuous"] = _f(
        "shifts",
        "shifts: 12-hour day and night shifts sized from the ratios; continuous: a fixed number of nurses "
        "always on duty, no shift changes (verification).",
    )
    nurses: Nurses = Nurses()
    shifts: Shifts = Shifts()
    overtime: Overtime = Overtime()


class RunSettings(_Frozen):
    """How long to run and how to sample."""

    horizon_days: float = _f(365.0, "Simulated days after warm-up.", "days", gt=0, le=3650)
    warmup_days: float = _f(0.0, "Simulated days before measurement starts (excluded from every metric).", "days",
                            ge=0, le=3650)
    replications: int = _f(10, "Independent replications.", "replications", ge=1, le=100000)
    seed: int = _f(20261125, "Root seed of every random stream.", "", ge=0, le=2**63 - 1)


class Scenario(_Frozen):
    """One inpatient unit, its patients, work and staff, and how to run it."""

    name: str = _f("scenario", "Short name, used in tables and file names.")
    description: str = _f("", "Free text.")
    unit: Unit = Unit()
    patients: Patients = Patients()
    tasks: Tasks = Tasks()
    staff: Staff = Staff()
    run: RunSettings = RunSettings()

    @model_validator(mode="before")
    @classmethod
    def _onto_defaults(cls, data: Any) -> Any:
        """Lay the given values onto the full default scenario, so that a partial block keeps the
        defaults of its siblings: ``tasks: {medication: {window_min: 90}}`` changes the window and
        nothing else (without this, the rest of ``medication`` would fall back to the generic
        :class:`ScheduledTask` defaults rather than the medication round's)."""
        return deep_merge(_default_document(), data) if isinstance(data, dict) else data

    def admissions_per_day(self) -> float:
        """Mean admissions a day: explicit, or beds x target occupancy / mean length of stay."""
        if self.patients.hold_census_full:
            return 0.0
        if self.patients.admissions_per_day is not None:
            return self.patients.admissions_per_day
        return self.unit.beds * self.unit.target_occupancy / self.patients.acuity.mean_los_days()


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """``over`` laid onto ``base``: mappings merge key by key, anything else replaces."""
    out = dict(base)
    for key, value in over.items():
        old = out.get(key)
        out[key] = deep_merge(old, value) if isinstance(old, dict) and isinstance(value, dict) else value
    return out


@cache
def _default_document_cached() -> dict[str, Any]:
    return Scenario.model_construct().model_dump()


def _default_document() -> dict[str, Any]:
    import copy

    return copy.deepcopy(_default_document_cached())
