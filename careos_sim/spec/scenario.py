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
    "ScenarioSpec", "UnitSpec", "PatientsSpec", "AcuityLevelSpec", "AcuitySpec", "BoardingSpec", "DurationSpec",
    "EventTaskSpec", "ScheduledTaskSpec", "TasksSpec", "StaffSpec", "NursesSpec", "RatioSpec", "ShiftsSpec",
    "OvertimeSpec", "RunSettingsSpec", "DepartmentSpec", "DepartmentsSpec", "DEPARTMENTS", "TASK_TYPES",
    "SCHEDULED_TASK_TYPES"
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


class UnitSpec(_Frozen):
    """The physical unit."""

    name: str = _f("medical-surgical unit", "Display name of the unit.")
    beds: int = _f(30, "Staffed beds on the unit.", "beds", ge=1, le=500)
    target_occupancy: float = _f(
        0.85, "Occupancy the admission rate is sized for (beds x occupancy / mean LOS).", "fraction", gt=0, le=1.5
    )


class AcuityLevelSpec(_Frozen):
    """One acuity level: its share of admissions, length of stay and care demand."""

    share: float = _f(0.33, "Share of admissions at this acuity.", "fraction", ge=0, le=1)
    los_days_mean: float = _f(4.5, "Mean length of stay at this acuity.", "days", gt=0, le=365)
    demand_factor: float = _f(
        1.0, "Multiplier on the minutes of every task for a patient at this acuity.", "x", gt=0, le=10
    )
    harm_factor: float = _f(
        1.0, "Multiplier on every harm probability (defects, missed care, slips) for a patient at this acuity.",
        "x", ge=0, le=10
    )


class AcuitySpec(_Frozen):
    """Acuity mix. Shares must add up to 1."""

    low: AcuityLevelSpec = AcuityLevelSpec(share=0.30, los_days_mean=3.5, demand_factor=0.8, harm_factor=0.6)
    medium: AcuityLevelSpec = AcuityLevelSpec(share=0.50, los_days_mean=4.5, demand_factor=1.0, harm_factor=1.0)
    high: AcuityLevelSpec = AcuityLevelSpec(share=0.20, los_days_mean=6.0, demand_factor=1.3, harm_factor=1.6)

    @model_validator(mode="after")
    def _shares_sum_to_one(self) -> "AcuitySpec":
        total = self.low.share + self.medium.share + self.high.share
        if not math.isclose(total, 1.0, abs_tol=1e-6):
            raise ValueError(f"acuity shares low + medium + high must add up to 1, they add up to {total:g}")
        return self

    def levels(self) -> tuple[tuple[str, AcuityLevelSpec], ...]:
        return (("low", self.low), ("medium", self.medium), ("high", self.high))

    def mean_los_days(self) -> float:
        return sum(level.share * level.los_days_mean for _, level in self.levels())


class BoardingSpec(_Frozen):
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


class PatientsSpec(_Frozen):
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
    acuity: AcuitySpec = AcuitySpec()
    boarding: BoardingSpec = BoardingSpec()

    @model_validator(mode="after")
    def _profile_positive(self) -> "PatientsSpec":
        if any(w < 0 for w in self.admission_profile) or sum(self.admission_profile) <= 0:
            raise ValueError("admission_profile weights must be >= 0 with a positive sum")
        return self


class DurationSpec(_Frozen):
    """A random duration in minutes."""

    dist: Literal["exponential", "lognormal", "gamma", "fixed"] = _f(
        "lognormal", "Distribution family of the duration."
    )
    mean: float = _f(5.0, "Mean duration.", "minutes", gt=0, le=1440)
    cv: float = _f(
        0.5, "Coefficient of variation (ignored by exponential, where it is 1, and fixed, where it is 0).", "ratio",
        ge=0, le=10,
    )


class EventTaskSpec(_Frozen):
    """A task raised by an event (a call light, an admission, a discharge)."""

    minutes: DurationSpec = DurationSpec()
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


class ScheduledTaskSpec(EventTaskSpec):
    """Scheduled care, due for every patient at fixed hours of the day."""

    per_day: int = _f(1, "Times a day the task is due for each patient (evenly spaced).", "1/day", ge=0, le=24)
    first_hour: float = _f(8.0, "Hour of day of the first round.", "hour", ge=0, lt=24)
    spread_min: float = _f(
        60.0, "Due times within a round are spread uniformly over this many minutes.", "minutes", ge=0, le=1440
    )


class TasksSpec(_Frozen):
    """The work patients need. Minutes are for a medium-acuity patient, before acuity scaling."""

    call_light: EventTaskSpec = EventTaskSpec(minutes=DurationSpec(dist="lognormal", mean=4.0, cv=0.8), priority=2)
    assessment: ScheduledTaskSpec = ScheduledTaskSpec(
        minutes=DurationSpec(mean=10.0, cv=0.5), priority=2, window_min=120, per_day=3, first_hour=8
    )
    medication: ScheduledTaskSpec = ScheduledTaskSpec(
        minutes=DurationSpec(mean=7.0, cv=0.5), priority=1, window_min=60, per_day=4, first_hour=6
    )
    hygiene_mobility: ScheduledTaskSpec = ScheduledTaskSpec(
        minutes=DurationSpec(mean=12.0, cv=0.6), priority=4, window_min=150, per_day=2, first_hour=9
    )
    documentation: ScheduledTaskSpec = ScheduledTaskSpec(
        minutes=DurationSpec(mean=18.0, cv=0.6), priority=5, window_min=480, per_day=3, first_hour=5
    )
    coordination: ScheduledTaskSpec = ScheduledTaskSpec(
        minutes=DurationSpec(mean=12.0, cv=0.7), priority=3, window_min=240, per_day=3, first_hour=9
    )
    communication: ScheduledTaskSpec = ScheduledTaskSpec(
        minutes=DurationSpec(mean=5.0, cv=0.6), priority=5, window_min=120, per_day=4, first_hour=5
    )
    admission: EventTaskSpec = EventTaskSpec(minutes=DurationSpec(mean=40.0, cv=0.4), priority=2, window_min=None)
    discharge: EventTaskSpec = EventTaskSpec(minutes=DurationSpec(mean=30.0, cv=0.5), priority=3, window_min=None)
    lep_interpreter_factor: float = _f(
        1.16,
        "Multiplier on communication and admission minutes for an LEP patient with an interpreter "
        "(32.4 vs 28.0 minutes).",
        "x",
        ge=1,
        le=5,
    )

    def by_type(self) -> dict[str, EventTaskSpec]:
        return {name: getattr(self, name) for name in TASK_TYPES}


class RatioSpec(_Frozen):
    """Target patients per nurse (beds per nurse on duty)."""

    day: float = _f(5.0, "Patients per nurse on day shifts.", "patients/nurse", gt=0, le=50)
    night: float = _f(6.0, "Patients per nurse on night shifts.", "patients/nurse", gt=0, le=50)


class NursesSpec(_Frozen):
    """The nursing workforce."""

    ratio: RatioSpec = RatioSpec()
    on_duty: int = _f(6, "Nurses always on duty under the continuous roster.", "nurses", ge=1, le=500)
    shifts_per_week: float = _f(
        3.0, "12-hour shifts a nurse works a week; sets headcount from the shifts to staff.", "shifts/week", gt=0,
        le=7,
    )
    hourly_wage: float = _f(50.0, "Loaded hourly wage of a staff nurse.", "USD/hour", ge=0, le=1000)
    initial_voice_efficacy: float = _f(
        0.3, "Voice efficacy of every nurse at time 0 (share of her recent reports that led to a fix she saw); "
             "new hires start here too.", "fraction", ge=0, le=1)


class ShiftsSpec(_Frozen):
    """Shift pattern (shift roster only)."""

    day_start_hour: float = _f(7.0, "Hour the day shift starts; the night shift starts 12 hours later.", "hour",
                               ge=0, lt=24)
    handoff_minutes: float = _f(
        15.0, "Minutes each incoming nurse spends taking handoff report before taking tasks.", "minutes", ge=0,
        le=240
    )
    min_rest_hours: float = _f(11.0, "Least rest between two shifts of one nurse.", "hours", ge=0, le=72)


class OvertimeSpec(_Frozen):
    """End-of-shift overtime: work above a backlog threshold is finished as overtime, capped."""

    backlog_threshold_tasks: int = _f(
        2, "Outgoing nurses stay while more than this many tasks per incoming nurse are waiting.", "tasks/nurse",
        ge=0, le=1000
    )
    max_minutes: float = _f(60.0, "Longest a nurse stays past the end of a shift.", "minutes", ge=0, le=720)
    wage_multiplier: float = _f(1.5, "Overtime pay as a multiple of the hourly wage.", "x", ge=1, le=5)


# --------------------------------------------------------------------------- workforce


class ExhaustionSpec(_Frozen):
    """Exhaustion E in [0, 1] per nurse (a stand-in for the emotional-exhaustion scale), updated
    at the end of every shift towards a target set by the balance of job demands and resources:
    E <- E + adjust x (E* - E), E* = logistic(baseline + vulnerability + demands - resources)."""

    burnout_threshold: float = _f(0.5, "E at or above this counts as burned out (MBI-EE >= 27 of 54).", "E",
                                  gt=0, lt=1)
    initial_mean: float = _f(0.451965, "Mean E of the staff at time 0 (the steady-state mean of the telling preset: the unit starts as it runs today).", "E", ge=0, le=1)
    adjust_per_shift: float = _f(0.06, "Share of the gap to the target E closed in one shift.", "fraction", gt=0,
                                 le=1)
    baseline: float = _f(-1.06713, "Logit of the target E of an average nurse under no demands.", "logit", ge=-10,
                         le=10)
    individual_sd: float = _f(2.6, "Spread of nurses' vulnerability to exhaustion on the logit scale.", "logit", ge=0, le=5)
    load: float = _f(2.0, "Weight of the work the shift demanded (minutes busy plus 10 a missed task, as a share "
                          "of the shift) above 0.75 (a soft knee; see docs/model.md).", "logit/share", ge=0, le=50)
    workaround: float = _f(6.0, "Weight of the share of the shift spent on workarounds.", "logit/share", ge=0,
                           le=100)
    missed_care: float = _f(0.25, "Weight of log(1 + missed tasks per nurse in the shift) (moral distress, "
                                  "growing less with each further missed task).", "logit", ge=0, le=10)
    overtime: float = _f(0.3, "Weight of each hour of overtime in the shift.", "logit/hour", ge=0, le=10)
    pressure: float = _f(0.192131, "Weight of leaders' pressure to work harder (0-1).", "logit", ge=0, le=10)
    departures: float = _f(0.1, "Weight of each colleague who left in the last 30 days.", "logit/departure", ge=0,
                           le=10)
    rest: float = _f(0.4, "Relief from rest before the shift, per day off (up to 3).", "logit/day", ge=0, le=10)
    recognition: float = _f(0.3, "Relief from recognition received in the shift (0-1).", "logit", ge=0, le=10)
    voice: float = _f(0.293376, "Relief from voice efficacy: share of own reports that led to a visible fix.",
                      "logit/share", ge=0, le=10)


class AbsenceSpec(_Frozen):
    """Sick calls: the chance a rostered nurse calls in sick rises with exhaustion."""

    base_probability: float = _f(0.02, "Chance a nurse with E = 0 calls in sick for a shift.", "probability",
                                 ge=0, le=1)
    exhaustion_slope: float = _f(0.05, "Added chance per unit of E.", "probability/E", ge=0, le=1)


class TurnoverSpec(_Frozen):
    """Leaving: a daily hazard that rises with exhaustion; vacancies filled after a hiring delay."""

    other_reasons_annual_rate: float = _f(
        0.0816747, "Annual leaving rate for reasons unrelated to work (moves, family, retirement, study), the same "
              "for every nurse.", "1/year", ge=0, le=5)
    annual_rate_at_threshold: float = _f(
        0.101517, "Annual leaving rate from work strain of a nurse at the burnout threshold E (rising exponentially "
              "with E; added to the other reasons).", "1/year", ge=0, le=5)
    exhaustion_log_slope: float = _f(
        2.0, "Log hazard ratio per unit of E (burned-out nurses leave more often).", "1/E", ge=0, le=20)
    hiring_delay_days: float = _f(83.0, "Mean time to fill a vacancy (lognormal).", "days", ge=0, le=1000)
    hiring_delay_cv: float = _f(0.5, "Coefficient of variation of the hiring delay.", "ratio", ge=0, le=5)
    new_hire_pace: float = _f(1.25, "Task minutes multiplier of a new hire on the first day.", "x", ge=1, le=3)
    proficiency_days: float = _f(90.0, "Days for a new hire to reach full proficiency (pace 1).", "days", ge=0,
                                 le=1000)
    new_hire_exhaustion: float = _f(0.25, "E of a new hire.", "E", ge=0, le=1)
    departure_cost: float = _f(61110.0, "Cost of one departure (recruiting, orientation, lost productivity).",
                               "USD", ge=0, le=1e7)


class AgencySpec(_Frozen):
    """Agency staff who fill shifts that vacancies or sick calls leave short."""

    fill_probability: float = _f(0.4, "Chance a short shift slot is filled by an agency nurse.", "probability",
                                 ge=0, le=1)
    hourly_cost: float = _f(95.0, "Hourly cost of an agency nurse.", "USD/hour", ge=0, le=1000)
    pace: float = _f(1.1, "Task minutes multiplier of an agency nurse (unfamiliar with the unit).", "x", ge=0.5,
                     le=3)


class StaffSpec(_Frozen):
    """Who works on the unit, and when."""

    roster: Literal["shifts", "continuous"] = _f(
        "shifts",
        "shifts: 12-hour day and night shifts sized from the ratios; continuous: a fixed number of nurses "
        "always on duty, no shift changes (verification).",
    )
    nurses: NursesSpec = NursesSpec()
    shifts: ShiftsSpec = ShiftsSpec()
    overtime: OvertimeSpec = OvertimeSpec()
    dynamics: bool = _f(
        True, "Exhaustion, sick calls, turnover and hiring (false: a fixed staff who never tire; verification).")
    exhaustion: ExhaustionSpec = ExhaustionSpec()
    absence: AbsenceSpec = AbsenceSpec()
    turnover: TurnoverSpec = TurnoverSpec()
    agency: AgencySpec = AgencySpec()


# --------------------------------------------------------------------------- defects

#: The six quality dimensions.
DIMENSIONS = ("safety", "timeliness", "effectiveness", "efficiency", "equity", "patient_centeredness")
#: Defect categories (model section 5).
CATEGORIES = ("supplies", "equipment", "orders_information", "medications", "handoffs_staffing", "ehr",
              "interpreter_access")

#: Hospital departments that own most defects (calibration.md, defect ownership).
DEPARTMENTS = ("pharmacy", "supply_chain", "biomedical_engineering", "it", "language_services", "medical_staff",
               "staffing_office")

TaskType = Literal[TASK_TYPES]  # type: ignore[valid-type]
DepartmentName = Literal[DEPARTMENTS]  # type: ignore[valid-type]
Dimension = Literal[DIMENSIONS]  # type: ignore[valid-type]


class DefectCategorySpec(_Frozen):
    """One category of workflow defect: what it touches, what an encounter costs, what a fix takes."""

    share: float = _f(0.1, "Share of defects (initial and new) in this category.", "fraction", ge=0, le=1)
    task_types: tuple[TaskType, ...] = _f(("medication",), "Task types a defect of this category can touch.",
                                          min_length=1)
    lep_only: bool = _f(False, "Touches only tasks of patients with limited English proficiency.")
    rate_factor: float = _f(1.0, "Multiplier on the encounter probability of defects in this category.", "x",
                            ge=0, le=100)
    workaround_minutes: float = _f(5.7, "Mean minutes a workaround adds to the task (lognormal).", "minutes",
                                   ge=0, le=240)
    harm_probability: float = _f(0.002, "Chance an encounter harms the patient.", "probability", ge=0, le=1)
    miss_probability: float = _f(0.01, "Chance the task cannot be done after all (missed care).", "probability",
                                 ge=0, le=1)
    los_extension_days: float = _f(0.0, "Days added to the stay the first time a patient meets such a defect.",
                                   "days", ge=0, le=30)
    dimensions: tuple[Dimension, ...] = _f(("efficiency",), "Quality dimensions a defect of this category hurts.",
                                           min_length=1)
    fix_hours: float = _f(16.0, "Mean effort to fix one defect (lognormal, CV 1).", "hours", gt=0, le=2000)
    owner: DepartmentName = _f("pharmacy", "The hospital department that owns the defects of this category that "
                                           "the unit does not own itself.")
    unit_owned_share: float = _f(0.25, "Share of this category's defects that the unit owns and can fix with its "
                                       "own capacity; the rest must be escalated to the owner.", "fraction",
                                 ge=0, le=1)


def _cat(share, tasks, wa, harm, miss, dims, fix, lep=False, los=0.0, rate=1.0, owner="pharmacy",
         unit_share=0.25) -> DefectCategorySpec:
    return DefectCategorySpec(share=share, task_types=tasks, workaround_minutes=wa, harm_probability=harm,
                          miss_probability=miss, dimensions=dims, fix_hours=fix, lep_only=lep,
                          los_extension_days=los, rate_factor=rate, owner=owner, unit_owned_share=unit_share)


class DefectCategoriesSpec(_Frozen):
    """The seven categories of workflow defects and their defaults."""

    supplies: DefectCategorySpec = _cat(0.22, ("hygiene_mobility", "medication", "assessment", "admission"), 6.5,
                                    0.002, 0.03, ("efficiency", "timeliness", "patient_centeredness"), 8.0,
                                    owner="supply_chain", unit_share=0.25)
    equipment: DefectCategorySpec = _cat(0.13, ("assessment", "hygiene_mobility", "call_light"), 7.5, 0.004, 0.02,
                                     ("safety", "efficiency"), 16.0, owner="biomedical_engineering",
                                     unit_share=0.2)
    orders_information: DefectCategorySpec = _cat(
        0.18, ("medication", "coordination", "admission", "discharge", "assessment"), 7.0, 0.005, 0.01,
        ("safety", "timeliness", "effectiveness"), 20.0, owner="medical_staff", unit_share=0.3)
    medications: DefectCategorySpec = _cat(0.16, ("medication",), 7.5, 0.008, 0.03, ("safety", "timeliness"), 16.0,
                                       owner="pharmacy", unit_share=0.2)
    handoffs_staffing: DefectCategorySpec = _cat(0.10, ("coordination", "documentation", "discharge"), 6.0, 0.004,
                                             0.01, ("safety", "efficiency"), 24.0, owner="staffing_office",
                                             unit_share=0.7)
    ehr: DefectCategorySpec = _cat(0.15, ("documentation", "medication", "admission", "discharge"), 5.5, 0.002,
                               0.01, ("efficiency", "effectiveness"), 30.0, owner="it", unit_share=0.1)
    interpreter_access: DefectCategorySpec = _cat(
        0.06, ("communication", "admission", "discharge", "assessment"), 10.0, 0.02, 0.3,
        ("equity", "safety", "patient_centeredness"), 12.0, lep=True, los=1.0, rate=4.0,
        owner="language_services", unit_share=0.3)

    def items(self) -> tuple[tuple[str, DefectCategorySpec], ...]:
        return tuple((name, getattr(self, name)) for name in CATEGORIES)


class DefectsSpec(_Frozen):
    """Latent workflow defects (operational failures) that nurses meet and work around."""

    enabled: bool = _f(True, "false: no defects of any origin (initial, new, mandates).")
    initial: int = _f(60, "Defects present at time 0.", "defects", ge=0, le=10000)
    encounter_probability: float = _f(
        0.0180773, "Mean chance that one defect is met on one task of a type it touches (before the heavy tail).",
        "probability", ge=0, le=1)
    heavy_tail_sigma: float = _f(1.4, "Sigma of the lognormal spread of defects' encounter rates (a few defects "
                                      "cause most encounters).", "log", ge=0, le=5)
    new_per_month: float = _f(2.18413, "New defects a month as complexity grows (equipment, protocols, EHR changes).",
                              "1/month", ge=0, le=1000)
    initial_fixed_share: float = _f(
        0.36, "Share of the defects present at time 0 that a past fix already reduced (the status quo's "
              "stationary share; each initial defect with probability share x (0.5 + its rank in the rate "
              "distribution), so the most often met were the most often fixed).", "fraction", ge=0, le=1)
    lifetime_days: float = _f(640.0, "Mean time until a defect disappears by itself (the process it lives in "
                                      "changes).", "days", gt=0, le=100000)
    fix_reduction_mean: float = _f(
        0.6, "Mean share of a defect's encounter rate that a working fix removes (drawn per fix from a beta "
             "distribution: a fix rarely removes all of it).", "fraction", ge=0, le=1)
    fix_reduction_concentration: float = _f(
        6.0, "Concentration (a + b) of the beta distribution of the share a fix removes: larger, less spread.",
        "", gt=0, le=1000)
    regression_days: float = _f(120.0, "Mean time until a fix that was not sustained decays and the defect "
                                       "returns.", "days", gt=0, le=10000)
    workaround_cv: float = _f(0.8, "Coefficient of variation of workaround minutes.", "ratio", ge=0, le=5)
    categories: DefectCategoriesSpec = DefectCategoriesSpec()

    @model_validator(mode="after")
    def _shares(self) -> "DefectsSpec":
        total = sum(c.share for _, c in self.categories.items())
        if total <= 0:
            raise ValueError("defect category shares must have a positive sum")
        return self


# --------------------------------------------------------------------------- departments


class DepartmentSpec(_Frozen):
    """A hospital department that owns defects: its fix capacity for this unit's escalations and its pace."""

    fix_hours_per_week: float = _f(
        2.0, "Hours a week the department spends fixing defects this unit escalated (its capacity for the unit).",
        "hours", ge=0, le=1000)
    response_days: float = _f(
        60.0, "Mean days before the department takes up an escalation of ordinary strength (one clear report); "
              "stronger escalations (more reports, clinical language) are taken up sooner.", "days", gt=0,
        le=3650)
    fix_success: float = _f(0.6, "Chance a finished department fix works.", "probability", ge=0, le=1)
    fix_sustain: float = _f(0.8, "Chance a working department fix lasts.", "probability", ge=0, le=1)


class DepartmentsSpec(_Frozen):
    """The departments that own most defects (calibration.md, defect ownership). Each fixes what it owns
    at its own pace and capacity, once the unit escalates it."""

    pharmacy: DepartmentSpec = DepartmentSpec()
    supply_chain: DepartmentSpec = DepartmentSpec()
    biomedical_engineering: DepartmentSpec = DepartmentSpec()
    it: DepartmentSpec = DepartmentSpec(fix_hours_per_week=1.5, response_days=90.0)
    language_services: DepartmentSpec = DepartmentSpec(fix_hours_per_week=1.0)
    medical_staff: DepartmentSpec = DepartmentSpec(response_days=75.0)
    staffing_office: DepartmentSpec = DepartmentSpec()

    capacity_factor: float = _f(
        0.725178, "Multiplier on every department's fix hours for this unit (0: departments fix nothing; 2: twice "
             "the capacity).", "x", ge=0, le=100)

    def items(self) -> tuple[tuple[str, DepartmentSpec], ...]:
        return tuple((name, getattr(self, name)) for name in DEPARTMENTS)


# --------------------------------------------------------------------------- safety


class SafetySpec(_Frozen):
    """Harm from sources other than a defect's own harm probability."""

    missed_medication_harm: float = _f(0.08, "Chance a missed medication harms the patient.", "probability",
                                       ge=0, le=1)
    missed_assessment_harm: float = _f(0.05, "Chance a missed assessment harms the patient.", "probability",
                                       ge=0, le=1)
    missed_other_harm: float = _f(0.002, "Chance another missed task harms the patient.", "probability", ge=0,
                                  le=1)
    slip_probability: float = _f(0.00018, "Chance any task ends in a harmful slip, for a rested nurse at normal "
                                         "pace.", "probability", ge=0, le=1)
    slip_exhaustion_factor: float = _f(2.0, "Slip chance multiplier per unit of the nurse's E.", "x/E", ge=0,
                                       le=100)
    harm_los_days: float = _f(1.0, "Days a harm event adds to the patient's stay.", "days", ge=0, le=60)
    near_misses_per_harm: float = _f(10.0, "Near misses per harm event from defect encounters.", "ratio", ge=0,
                                     le=1000)


# --------------------------------------------------------------------------- leadership


class ElementsSpec(_Frozen):
    """The six elements of a care operating system, each a dial from 0 (absent) to 1 (fully in place)."""

    valuing_people: float = _f(0.0, "Recognition and celebration of reports and fixes.", "dial", ge=0, le=1)
    appreciating_complexity: float = _f(0.0, "Co-designed change (fewer new defects and burden from mandates); "
                                             "flex capacity for surges.", "dial", ge=0, le=1)
    integrating_quality: float = _f(0.0, "Prioritise on one score over all six dimensions and frontline burden "
                                         "(0: the current top-down goal and ticket counts).", "dial", ge=0, le=1)
    quality_team_as_operators: float = _f(0.0, "Share of the quality team's time on fixing rather than "
                                               "auditing.", "dial", ge=0, le=1)
    clinical_language: float = _f(0.0, "Changes explained and co-designed in clinical language stick more often "
                                       "and last.", "dial", ge=0, le=1)
    transparency: float = _f(0.0, "Real-time, accurate data; fixes made visible to those who reported.", "dial",
                             ge=0, le=1)


class QualityTeamSpec(_Frozen):
    """The quality team's time given to this unit."""

    fte: float = _f(1.0, "Quality-team full-time equivalents serving the unit.", "FTE", ge=0, le=100)
    hours_per_fte_week: float = _f(40.0, "Paid hours of one FTE a week.", "hours", gt=0, le=80)
    hourly_cost: float = _f(65.0, "Loaded hourly cost of the quality team.", "USD/hour", ge=0, le=1000)


class MechanismsSpec(_Frozen):
    """Direct settings of mechanism parameters. Null: mapped from the dials (see docs/model.md)."""

    report_channel: float | None = _f(None, "Share of the encounters a nurse is willing to report that reach "
                                            "someone who can fix them.", "probability", ge=0, le=1)
    report_minutes: float | None = _f(None, "Nurse minutes one report costs.", "minutes", ge=0, le=120)
    huddle_minutes_per_shift: float | None = _f(None, "Minutes each nurse spends in the daily huddle per shift.",
                                                "minutes", ge=0, le=120)
    leader_rounding_hours_per_week: float | None = _f(None, "Leader hours a week rounding at the point of care.",
                                                      "hours", ge=0, le=80)
    committee_hours_per_month: float | None = _f(None, "Staff hours a month in the improvement committee.",
                                                 "hours", ge=0, le=500)
    reprioritise_days: float | None = _f(None, "Days between re-rankings of known defects (monthly committee "
                                               "to daily huddle).", "days", gt=0, le=365)
    integrated_priority: float | None = _f(None, "Weight of the integrated six-dimension score against the "
                                                 "top-down goal and ticket counts.", "weight", ge=0, le=1)
    data_lag_days: float | None = _f(None, "Age of the data priorities are set on.", "days", ge=0, le=365)
    data_noise_cv: float | None = _f(None, "Noise in the data priorities are set on.", "ratio", ge=0, le=5)
    fix_visibility: float | None = _f(None, "Chance a nurse who reported a defect sees that it was fixed.",
                                      "probability", ge=0, le=1)
    report_patience_days: float | None = _f(None, "Days after which a report with no visible response counts as "
                                                  "unanswered (longer where its status is visible).", "days", gt=0,
                                            le=3650)
    fixing_share: float | None = _f(None, "Share of quality-team time spent fixing (the rest audits and "
                                          "reports).", "fraction", ge=0, le=1)
    fix_success: float | None = _f(None, "Chance a finished fix works.", "probability", ge=0, le=1)
    fix_sustain: float | None = _f(None, "Chance a working fix lasts (else it decays and the defect returns).",
                                   "probability", ge=0, le=1)
    mandate_defects: float | None = _f(None, "New defects each top-down mandate brings.", "defects", ge=0,
                                       le=100)
    mandate_documentation_minutes: float | None = _f(None, "Documentation minutes each mandate adds per "
                                                           "documentation task, for a year.", "minutes", ge=0,
                                                     le=120)
    float_nurses: float | None = _f(None, "Float nurses that can be called to a surge.", "nurses", ge=0, le=20)
    recognition: float | None = _f(None, "Strength of recognition when a report leads to a fix (0-1).", "dial",
                                   ge=0, le=1)
    escalation_clarity: float | None = _f(None, "Strength of the unit's escalations to departments per report "
                                                "(evidence stated in clinical language, with the frontline's "
                                                "account).", "x", ge=0, le=10)


class LeadershipSpec(_Frozen):
    """The leadership system: telling-style (all dials 0) to listening care operating system (all 1)."""

    listening: float = _f(0.0, "0: tickets and a monthly committee; 1: daily huddles and weekly leader rounding "
                               "at the point of care.", "dial", ge=0, le=1)
    elements: ElementsSpec = ElementsSpec()
    quality_team: QualityTeamSpec = QualityTeamSpec()
    leader_fix_hours_per_week: float = _f(0.0, "Hours a week leaders spend removing barriers themselves.",
                                          "hours", ge=0, le=80)
    leader_hourly_cost: float = _f(110.0, "Loaded hourly cost of unit leaders.", "USD/hour", ge=0, le=2000)
    pressure_to_work_harder: float = _f(
        0.0, "Telling-style pressure on nurses to work harder when results lag the goal: faster pace for a while, "
             "more slips and faster exhaustion.", "dial", ge=0, le=1)
    pressure_pace_gain: float = _f(0.10, "Share by which full pressure shortens task minutes.", "fraction", ge=0,
                                   le=0.9)
    pressure_slip_factor: float = _f(1.0, "Slip chance multiplier added by full pressure.", "x", ge=0, le=100)
    pressure_goal_missed_care_pct: float = _f(
        5.0, "Missed care (% of tasks, last 4 weeks) above which leaders push harder; pressure grows with the gap.",
        "%", gt=0, le=100)
    float_trigger_tasks_per_nurse: float = _f(
        5.0, "A float nurse is called when more than this many tasks per rostered nurse are waiting.",
        "tasks/nurse", gt=0, le=100)
    float_hours_per_week: float = _f(12.0, "Most float-nurse hours the unit may call in a week (in 4-hour blocks).",
                                     "hours", ge=0, le=168)
    mandates_per_year: float = _f(4.0, "Top-down initiatives a year (new protocols, forms, systems).", "1/year",
                                  ge=0, le=100)
    goal_rotation_months: float = _f(6.0, "Months the top-down goal stays on one quality dimension.", "months",
                                     gt=0, le=120)
    escalation_limit: int = _f(3, "Most escalations the unit keeps open with each department at once.",
                               "escalations", ge=0, le=1000)
    escalation_hours: float = _f(1.0, "Leader hours one escalation to a department costs.", "hours", ge=0,
                                 le=100)
    launch_weeks: float = _f(
        12.0, "Weeks of the launch period of a care operating system (training; first huddles longer).", "weeks",
        ge=0, le=520)
    launch_huddle_factor: float = _f(
        2.0, "Huddle length at the start of the launch, as a multiple of its steady length (falls linearly to 1 "
             "over the launch).", "x", ge=1, le=10)
    training_hours_per_nurse: float = _f(
        8.0, "Paid training hours per nurse for a care operating system fully new to the unit, spent during the "
             "launch (scaled by how much of the system is new: the mean of listening and the six elements).",
        "hours", ge=0, le=200)
    mechanisms: MechanismsSpec = MechanismsSpec()


class RunSettingsSpec(_Frozen):
    """How long to run and how to sample."""

    horizon_days: float = _f(365.0, "Simulated days after warm-up.", "days", gt=0, le=3650)
    warmup_days: float = _f(0.0, "Simulated days before measurement starts (excluded from every metric).", "days",
                            ge=0, le=3650)
    replications: int = _f(10, "Independent replications.", "replications", ge=1, le=100000)
    seed: int = _f(20261125, "Root seed of every random stream.", "", ge=0, le=2**63 - 1)


class ScenarioSpec(_Frozen):
    """One inpatient unit, its patients, work and staff, and how to run it."""

    name: str = _f("scenario", "Short name, used in tables and file names.")
    description: str = _f("", "Free text.")
    unit: UnitSpec = UnitSpec()
    patients: PatientsSpec = PatientsSpec()
    tasks: TasksSpec = TasksSpec()
    staff: StaffSpec = StaffSpec()
    defects: DefectsSpec = DefectsSpec()
    departments: DepartmentsSpec = DepartmentsSpec()
    safety: SafetySpec = SafetySpec()
    leadership: LeadershipSpec = LeadershipSpec()
    run: RunSettingsSpec = RunSettingsSpec()

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
    return ScenarioSpec.model_construct().model_dump()


def _default_document() -> dict[str, Any]:
    import copy

    return copy.deepcopy(_default_document_cached())
