"""Facts the model emits, accumulated per period, in memory that does not grow with the horizon.

The model calls the :class:`Recorder` when something happens (a task is queued, started,
missed; a patient is admitted; a nurse comes on duty). The recorder keeps running totals and
time-weighted levels for the current period. Periods are weeks counted from the end of the
warm-up (warm-up weeks have negative indices); at each boundary the period is frozen into a
:class:`Facts` snapshot. Metrics (``metrics.py``) are pure functions of facts, so the same
definition gives the horizon total and every week of the time series.

A closed period is added to the running total (after the warm-up) and summarised into one
row of the weekly series by a function the caller passes in (the metrics), then dropped: what
a replication keeps is its totals and one row of metrics a week, whatever the number of
events. An event log is kept only when asked for.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from careos_sim.spec.scenario import CATEGORIES, SCHEDULED_TASK_TYPES, TASK_TYPES
from careos_sim.clock import DAY, WEEK

if TYPE_CHECKING:  # (the model layer is above this one; mypyc reads the type for a compiled build)
    from careos_sim.model.entities import Task

__all__ = ["Facts", "Recorder", "Level", "LATENESS_BINS", "GROUPS", "EVENT_COLUMNS"]

#: Columns of the event log. ``value`` depends on the event: arrival, length of stay drawn;
#: admit, minutes boarded; divert, minutes boarded; discharge, minutes on the unit; start,
#: minutes of work; on, end of the shift (minute); off, minutes of overtime.
EVENT_COLUMNS = ("time_min", "event", "patient", "nurse", "task", "value", "acuity", "lep")

#: Weeks in one "year" block of :meth:`Recorder.years` (364 days).
WEEKS_PER_YEAR = 52
#: Lateness histogram: one-minute bins from 0 to 1439 minutes, the last bin holds the rest.
LATENESS_BINS = 1441
#: Patient groups for equity: index 0 = other patients, 1 = limited English proficiency.
GROUPS = ("other", "lep")
N_TYPES = len(TASK_TYPES)
N_CATEGORIES = len(CATEGORIES)
SCHEDULED = frozenset(TASK_TYPES.index(t) for t in SCHEDULED_TASK_TYPES)

_SCALARS = (
    "minutes",  # length of the period
    "patient_minutes",  # integral of the census
    "pending_area",  # integral of the number of queued tasks
    "busy_area",  # integral of the number of nurses working on a task or handoff
    "on_duty_area",  # integral of the number of nurses on duty
    "handoff_minutes",
    "overtime_minutes",
    "nurse_shifts",
    "short_shifts",
    "admission_requests",
    "admissions",
    "diversions",
    "boarding_minutes",
    "discharges",
    "los_minutes",
    "discharge_delay_minutes",
    "overflows",  # admissions sent to another unit because this one was full (counted at the home unit)
    "transfers",  # patients moved on to another unit after their stay here
    "tasks_entered",
    "tasks_left",
    "sojourn_minutes",
    "bedside_minutes",  # base minutes of direct care (call lights, assessment, medication, ...)
    "missed_patient_days",  # distinct (patient, calendar day) pairs with at least one missed task
    "patient_day_pairs",  # distinct (patient, calendar day) pairs a patient was on the unit
    "nurse_shifts_assigned",  # nurse-shifts counted for missed care by nominal patient assignment
    "nurse_shifts_with_miss",
    # defects and learning
    "encounters",
    "workaround_minutes",
    "near_misses",
    "reports",
    "report_minutes",
    "fix_attempts",
    "fixes",
    "regressions",
    "new_defects",
    "retired_defects",
    "mandates",
    "escalations",  # defects the unit escalated to their owning department
    "department_fixes",  # working fixes made by departments (included in fixes)
    "implementation_usd",  # what the leadership system's implementation costs (inside the cost lines)
    "training_hours",
    "defects_area",  # integral of the number of active, unfixed defects
    "active_defects_last",  # active, unfixed defects at the end of the period (not summed)
    "pressure_area",  # integral of leaders' effective pressure (0-1)
    # workforce
    "staff_samples",  # employed nurses summed over the samples (one per shift change)
    "burnout_samples",  # of them, burned out (E >= threshold)
    "exhaustion_sum",
    "propensity_sum",
    "samples",  # number of samples
    "departures",
    "departures_burned_out",
    "hires",
    "vacancy_area",  # integral of vacant positions
    "positions_area",  # integral of budgeted positions
    "sick_shifts",
    "agency_shifts",
    "float_minutes",
    "float_shifts",  # 12-hour shifts worked here by a hospital float pool's nurses
    "huddle_minutes",
    "committee_hours",
    # costs (USD)
    "cost_regular",
    "cost_overtime",
    "cost_agency",
    "cost_turnover",
    "cost_leadership",
    "cost_training",
)
_BY_TYPE = ("started", "missed", "cancelled", "work_minutes")
_BY_GROUP = ("cl_n", "cl_wait_sum", "cl_over10", "required", "missed_g", "harm_g", "patient_minutes_g")
#: Sources of harm.
HARM_SOURCES = ("defect", "missed_care", "slip", "communication")
#: Direct-care task types, whose base minutes count as bedside time.
BEDSIDE = frozenset(TASK_TYPES.index(t) for t in ("call_light", "assessment", "medication", "hygiene_mobility",
                                                   "communication", "admission"))
#: Days-to-fix histogram: one-day bins from 0 to 1094, the last bin holds the rest.
FIX_DAYS_BINS = 1096


@dataclass
class Facts:
    """Totals over one period (or a sum of periods). Arrays are indexed by task type or group."""

    values: dict[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        if name == "values" or name.startswith("__"):  # not set yet (unpickling, copying)
            raise AttributeError(name)
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None

    def __add__(self, other: "Facts") -> "Facts":
        if not self.values:
            return Facts({k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in other.values.items()})
        return Facts({k: other.values[k] if k.endswith("_last") else self.values[k] + other.values[k]
                      for k in self.values})

    @classmethod
    def combine(cls, parts: "list[Facts]") -> "Facts":
        """Facts of several units over the same period: every count and integral summed (levels at
        the end too); the period's length and the number of staff samples (the instants the staff
        was counted, once a shift) once; leaders' pressure (a dial of each unit) as the mean over
        the units. A hospital's metrics are the same formulas on these: its mean employed nurses
        are the units' summed, its turnover their departures over that."""
        parts = [p for p in parts if p.values]
        if not parts:
            return cls()
        first = parts[0].values
        out: dict[str, Any] = {}
        for k, v in first.items():
            total = v.copy() if isinstance(v, np.ndarray) else v
            for p in parts[1:]:
                total = total + p.values[k]
            out[k] = total
        out["minutes"] = max(p.values["minutes"] for p in parts)
        out["samples"] = max(p.values["samples"] for p in parts)  # instants sampled, not a count to add
        out["pressure_area"] = out["pressure_area"] / len(parts)
        return cls(out)

    @classmethod
    def zero(cls) -> "Facts":
        vals: dict[str, Any] = {k: 0.0 for k in _SCALARS}
        vals.update({k: np.zeros(N_TYPES) for k in _BY_TYPE})
        vals.update({k: np.zeros(len(GROUPS)) for k in _BY_GROUP})
        vals["lateness_hist"] = np.zeros(LATENESS_BINS)
        vals["fix_days_hist"] = np.zeros(FIX_DAYS_BINS)
        vals["harm"] = np.zeros(len(HARM_SOURCES))
        vals["encounters_by_category"] = np.zeros(N_CATEGORIES)
        return cls(vals)


class Level:
    """A time-weighted level (census, queue length, nurses busy): its integral over a period."""

    __slots__ = ("level", "last", "area")

    def __init__(self, now: float = 0.0):
        self.level = 0
        self.last = now
        self.area = 0.0

    def change(self, now: float, delta: int) -> None:
        self.area += self.level * (now - self.last)
        self.last = now
        self.level += delta

    def close(self, now: float) -> float:
        """Integral since the last close, up to ``now``; starts the next period."""
        area = self.area + self.level * (now - self.last)
        self.area = 0.0
        self.last = now
        return area


class Recorder:
    """Accumulates facts for the current period; the model calls it, metrics read its output."""

    # every period's counters (set by _reset), declared for compiled (mypyc) builds
    minutes: float
    patient_minutes: float
    pending_area: float
    busy_area: float
    on_duty_area: float
    handoff_minutes: float
    overtime_minutes: float
    nurse_shifts: float
    short_shifts: float
    admission_requests: float
    admissions: float
    diversions: float
    boarding_minutes: float
    discharges: float
    los_minutes: float
    discharge_delay_minutes: float
    overflows: float
    transfers: float
    tasks_entered: float
    tasks_left: float
    sojourn_minutes: float
    bedside_minutes: float
    missed_patient_days: float
    patient_day_pairs: float
    nurse_shifts_assigned: float
    nurse_shifts_with_miss: float
    encounters: float
    workaround_minutes: float
    near_misses: float
    reports: float
    report_minutes: float
    fix_attempts: float
    fixes: float
    regressions: float
    new_defects: float
    retired_defects: float
    mandates: float
    escalations: float
    department_fixes: float
    implementation_usd: float
    training_hours: float
    defects_area: float
    active_defects_last: float
    pressure_area: float
    staff_samples: float
    burnout_samples: float
    exhaustion_sum: float
    propensity_sum: float
    samples: float
    departures: float
    departures_burned_out: float
    hires: float
    vacancy_area: float
    positions_area: float
    sick_shifts: float
    agency_shifts: float
    float_minutes: float
    float_shifts: float
    huddle_minutes: float
    committee_hours: float
    cost_regular: float
    cost_overtime: float
    cost_agency: float
    cost_turnover: float
    cost_leadership: float
    cost_training: float
    started: list[float]
    missed: list[float]
    cancelled: list[float]
    work_minutes: list[float]
    cl_n: list[float]
    cl_wait_sum: list[float]
    cl_over10: list[float]
    required: list[float]
    missed_g: list[float]
    harm_g: list[float]
    patient_minutes_g: list[float]
    lateness_hist: list[int]
    fix_days_hist: list[int]
    harm: list[float]
    encounters_by_category: list[float]


    def __init__(self, warmup: float, event_log: bool = False,
                 summarise: Callable[[Facts], dict[str, float]] | None = None,
                 on_period: Callable[[int, Facts], None] = lambda week, facts: None):
        """``summarise``: one weekly row of metrics from a period's facts (None: no weekly rows are
        kept, as for a hospital's units and float pool, whose weeks the hospital sums into rows of
        its own); ``on_period(week, facts)`` is told of each closed period (a hospital sums its
        units' periods)."""
        self.warmup = warmup
        self.summarise = summarise
        self.on_period = on_period
        self.census = Level()
        self.pending = Level()
        self.busy = Level()
        self.on_duty = Level()
        self.census_g = (Level(), Level())
        self.active_defects = Level()
        self.vacancies = Level()
        self.positions = Level()
        self.pressure_level = 0.0
        self._pressure_last = 0.0
        self.missed_cum = 0.0  # running totals for the leaders' view of performance (never reset)
        self.required_cum = 0.0
        self.harm_cum = 0.0  # harm events and workaround minutes so far (a hospital's quality team looks at them)
        self.workaround_cum = 0.0
        self.shift_nurses = 1  # nurses on the current shift, for nominal patient assignment
        self._shift_miss_slots: set[int] = set()
        self._total = Facts()
        self._years: list[Facts] = []  # facts of each 52-week block after the warm-up
        # a period boundary inside a calendar day: (that day, its pairs with a miss, the closed period's week)
        self._split: tuple[int, set[tuple[int, int]], int] | None = None
        self.weekly: list[dict[str, float]] = []  # one row per period: week, start_day, days, metrics
        self.events: list[tuple] | None = [] if event_log else None
        self._start = 0.0
        self._reset()

    # ------------------------------------------------------------------ periods
    def _reset(self) -> None:
        for k in _SCALARS:
            setattr(self, k, 0.0)
        for k in _BY_TYPE:
            setattr(self, k, [0.0] * N_TYPES)
        for k in _BY_GROUP:
            setattr(self, k, [0.0, 0.0])
        self.lateness_hist = [0] * LATENESS_BINS
        self.fix_days_hist = [0] * FIX_DAYS_BINS
        self.harm = [0.0] * len(HARM_SOURCES)
        self.encounters_by_category = [0.0] * N_CATEGORIES
        self._missed_pd: set[tuple[int, int]] = set()

    def week_of(self, t: float) -> int:
        """Week index counted from the end of the warm-up (warm-up weeks are negative)."""
        return math.floor((t - self.warmup) / WEEK)

    def close_period(self, now: float) -> None:
        """Freeze the facts since the last boundary (if any time passed) and start a new period."""
        if now <= self._start:
            return
        vals: dict[str, Any] = {k: float(getattr(self, k)) for k in _SCALARS}
        vals["minutes"] = now - self._start
        vals["patient_minutes"] = self.census.close(now)
        vals["pending_area"] = self.pending.close(now)
        vals["busy_area"] = self.busy.close(now)
        # Workaround minutes are recorded when the task starts; those of a task still under way at the
        # boundary (more than the nurses' busy minutes of the period) are spent, and counted, later.
        carry = max(0.0, vals["workaround_minutes"] - vals["busy_area"])
        vals["workaround_minutes"] -= carry
        vals["on_duty_area"] = self.on_duty.close(now)
        self.patient_minutes_g = [self.census_g[0].close(now), self.census_g[1].close(now)]
        vals["defects_area"] = self.active_defects.close(now)
        vals["active_defects_last"] = float(self.active_defects.level)
        vals["vacancy_area"] = self.vacancies.close(now)
        vals["positions_area"] = self.positions.close(now)
        vals["pressure_area"] = self.pressure_area + self.pressure_level * (now - self._pressure_last)
        self._pressure_last = now
        vals["missed_patient_days"] = float(len(self._missed_pd))
        for k in (*_BY_TYPE, *_BY_GROUP):
            vals[k] = np.asarray(getattr(self, k), dtype=float)
        for k in ("lateness_hist", "fix_days_hist", "harm", "encounters_by_category"):
            vals[k] = np.asarray(getattr(self, k), dtype=float)
        facts = Facts(vals)
        week = self.week_of(self._start)
        if week >= 0:
            self._total = self._total + facts
            year = week // WEEKS_PER_YEAR
            while len(self._years) <= year:
                self._years.append(Facts())
            self._years[year] = self._years[year] + facts
        day = int(now // DAY)
        self._split = (day, {k for k in self._missed_pd if k[1] == day}, week)
        self.on_period(week, facts)
        if self.summarise is not None:
            self.weekly.append({"week": week, "start_day": self._start / DAY, "days": vals["minutes"] / DAY,
                                **self.summarise(facts)})
        self._start = now
        self._reset()
        self.workaround_minutes = carry

    def total(self) -> Facts:
        """Sum of every closed period after the warm-up."""
        return self._total if self._total.values else Facts.zero()

    def years(self) -> list[Facts]:
        """Facts of each year taken alone: blocks of 52 weeks after the warm-up (the last may be
        shorter; its ``minutes`` say how long)."""
        return list(self._years)

    def log(self, now: float, event: str, *, patient: int | None = None, nurse: int | None = None,
            task: str | None = None, value: float | None = None, acuity: int | None = None,
            lep: int | None = None) -> None:
        """Append one event (when an event log was asked for); fields as in ``EVENT_COLUMNS``."""
        if self.events is not None:
            self.events.append((now, event, patient, nurse, task, value, acuity, lep))

    # ------------------------------------------------------------------ the unit
    def admission_request(self, now: float) -> None:
        self.admission_requests += 1

    def admitted(self, now: float, boarded: float, lep: int, new: bool = True) -> None:
        """A patient takes a bed; ``new`` is False for the initial census (not an admission)."""
        if new:
            self.admissions += 1
            self.boarding_minutes += boarded
        self.census.change(now, 1)
        self.census_g[lep].change(now, 1)

    def diverted(self, boarded: float) -> None:
        self.diversions += 1
        self.boarding_minutes += boarded

    def discharged(self, now: float, los: float, delay: float, lep: int) -> None:
        self.discharges += 1
        self.los_minutes += los
        self.discharge_delay_minutes += delay
        self.census.change(now, -1)
        self.census_g[lep].change(now, -1)

    # ------------------------------------------------------------------ tasks
    # The task methods run once or twice per task: they update their levels in place, with the same
    # arithmetic as Level.change (and so the same numbers), without the extra call.
    def task_queued(self, now: float) -> None:
        self.tasks_entered += 1
        level = self.pending
        level.area += level.level * (now - level.last)
        level.last = now
        level.level += 1

    def task_dequeued(self, now: float, entered: float) -> None:
        self.tasks_left += 1
        self.sojourn_minutes += now - entered
        level = self.pending
        level.area += level.level * (now - level.last)
        level.last = now
        level.level -= 1

    def task_started(self, now: float, task: Task, minutes: float, base: float, queued: bool = False) -> None:
        """A nurse starts a task: ``minutes`` of work in all, ``base`` of them the care itself.
        ``queued``: she took it from the queue just now (``TaskQueue.pop``), and its leaving the
        queue is counted here, as :meth:`task_dequeued` would count it (one call a task, not two)."""
        if queued:
            self.tasks_left += 1
            self.sojourn_minutes += now - task.entered
            level = self.pending
            level.area += level.level * (now - level.last)
            level.last = now
            level.level -= 1
        t = task.type_index
        task.started_at = now
        self.started[t] += 1
        self.work_minutes[t] += minutes
        if t in BEDSIDE:
            self.bedside_minutes += base
        late = now - task.due
        g = task.patient.lep
        if t == 0:  # call light: wait from the call
            self.cl_n[g] += 1
            self.cl_wait_sum[g] += late
            if late > 10.0:
                self.cl_over10[g] += 1
        elif t in SCHEDULED:
            b = int(late) if late > 0 else 0
            self.lateness_hist[b if b < LATENESS_BINS else LATENESS_BINS - 1] += 1
        if task.deadline is not None:
            self.required[g] += 1
            self.required_cum += 1
        level = self.busy
        level.area += level.level * (now - level.last)
        level.last = now
        level.level += 1

    def overflowed(self) -> None:
        self.overflows += 1

    def transferred(self) -> None:
        self.transfers += 1

    def task_finished(self, now: float) -> None:
        level = self.busy
        level.area += level.level * (now - level.last)
        level.last = now
        level.level -= 1

    def task_missed(self, task: Task, now: float, started: bool = False) -> None:
        """A task not started in its window, or started but not done (a defect made it impossible)."""
        g = task.patient.lep
        self.missed[task.type_index] += 1
        self.missed_g[g] += 1
        self.missed_cum += 1
        began = task.started_at
        if not started:
            self.required[g] += 1
            self.required_cum += 1
        elif began is not None and began < self._start:
            # started in an earlier period (its required count is there), failed in this one: it counts as
            # required here, with its miss, and no longer in the totals of the period it started in
            self.required[g] += 1
            week = self.week_of(began)
            if week >= 0:
                self._total.values["required"][g] -= 1.0
                self._years[week // WEEKS_PER_YEAR].values["required"][g] -= 1.0
        index = task.patient.index
        # the patient-day of the miss: now, or when the task began if the patient has left meanwhile
        day = int((now if task.patient.present or began is None else began) // DAY)
        start = self._start
        # Was the pair (patient, day) counted before this period began? Yes if the day began before it
        # with the patient on the unit; also if the day began exactly at its start but that midnight's
        # pairs were counted just before the period closed (no midnight pairs counted here yet: the
        # pairs counted here are then the admissions' own).
        if task.patient.admitted_at < start and (
                day * DAY < start or (day * DAY == start and self.patient_day_pairs <= self.admissions)):
            self._missed_split_day(index, day)
        else:
            self._missed_pd.add((index, day))
        self._shift_miss_slots.add(index % self.shift_nurses)

    def _missed_split_day(self, index: int, day: int) -> None:
        """A miss on a patient-day counted in the previous period (a boundary inside a calendar day,
        when the warm-up is not whole days): the miss counts there too, in the totals (its weekly row
        is already closed), never in this period, which did not count the pair."""
        split = self._split
        if split is None or split[0] != day or (index, day) in split[1]:
            return
        split[1].add((index, day))
        if split[2] >= 0:
            self._total.values["missed_patient_days"] += 1.0
            self._years[split[2] // WEEKS_PER_YEAR].values["missed_patient_days"] += 1.0

    def shift_change(self, nurses_on_new_shift: int) -> None:
        """Close the nominal-assignment tally of the shift that ends; start the next one's."""
        self.nurse_shifts_assigned += self.shift_nurses
        self.nurse_shifts_with_miss += len(self._shift_miss_slots)
        self._shift_miss_slots = set()
        self.shift_nurses = max(1, nurses_on_new_shift)

    def task_cancelled(self, task: Task) -> None:
        self.cancelled[task.type_index] += 1

    # ------------------------------------------------------------------ nurses
    def shift_started(self, now: float, short: int) -> None:
        self.short_shifts += short

    def nurse_on(self, now: float) -> None:
        self.nurse_shifts += 1
        self.on_duty.change(now, 1)

    def nurse_off(self, now: float, overtime: float) -> None:
        self.overtime_minutes += overtime
        self.on_duty.change(now, -1)

    def handoff(self, now: float, minutes: float, starting: bool) -> None:
        if starting:
            self.handoff_minutes += minutes
        self.busy.change(now, 1 if starting else -1)

    # ------------------------------------------------------------------ harm
    def harmed(self, source: int, lep: int) -> None:
        self.harm[source] += 1
        self.harm_g[lep] += 1
        self.harm_cum += 1

    # ------------------------------------------------------------------ defects and learning
    def encounter(self, category: int, workaround: float, near_miss: bool) -> None:
        self.encounters += 1
        self.encounters_by_category[category] += 1
        self.workaround_minutes += workaround
        self.workaround_cum += workaround
        if near_miss:
            self.near_misses += 1

    def reported(self, minutes: float) -> None:
        self.reports += 1
        self.report_minutes += minutes

    def defect_added(self, now: float) -> None:
        self.new_defects += 1
        self.active_defects.change(now, 1)

    def defect_removed(self, now: float, fixed: bool) -> None:
        self.retired_defects += 1
        if not fixed:
            self.active_defects.change(now, -1)

    def fix_attempt(self) -> None:
        self.fix_attempts += 1

    def defect_fixed(self, now: float, first_encounter: float | None) -> None:
        self.fixes += 1
        self.active_defects.change(now, -1)
        if first_encounter is not None:
            days = int((now - first_encounter) // DAY)
            self.fix_days_hist[days if days < FIX_DAYS_BINS else FIX_DAYS_BINS - 1] += 1

    def defect_regressed(self, now: float) -> None:
        self.regressions += 1
        self.active_defects.change(now, 1)

    def escalated(self) -> None:
        self.escalations += 1

    def department_fixed(self) -> None:
        self.department_fixes += 1

    def implementation(self, usd: float) -> None:
        """Cost of running the leadership system's practices (huddles, rounding, barrier removal,
        escalations, training); each is also charged to its own cost line."""
        self.implementation_usd += usd

    def mandate(self) -> None:
        self.mandates += 1

    def committee(self, hours: float) -> None:
        self.committee_hours += hours

    def set_pressure(self, now: float, level: float) -> None:
        self.pressure_area += self.pressure_level * (now - self._pressure_last)
        self._pressure_last = now
        self.pressure_level = level

    def cost(self, kind: str, usd: float) -> None:
        name = "cost_" + kind
        setattr(self, name, getattr(self, name) + usd)

    # ------------------------------------------------------------------ workforce
    def staff_sample(self, employed: int, burned_out: int, exhaustion_sum: float, propensity_sum: float) -> None:
        self.samples += 1
        self.staff_samples += employed
        self.burnout_samples += burned_out
        self.exhaustion_sum += exhaustion_sum
        self.propensity_sum += propensity_sum

    def departure(self, now: float, burned_out: bool, cost: float) -> None:
        self.departures += 1
        self.departures_burned_out += burned_out
        self.cost_turnover += cost
        self.vacancies.change(now, 1)

    def hired(self, now: float) -> None:
        self.hires += 1
        self.vacancies.change(now, -1)
