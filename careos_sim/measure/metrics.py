"""Outcome metrics: each defined once, as a pure function of :class:`~careos_sim.measure.recorder.Facts`.

Every metric has a dotted name (``dimension.what_unit``), a unit, a direction (is higher or
lower better) and a formula in words. The same definitions give the totals over the horizon
and each week of the time series, and they are listed in ``docs/model.md``.

Diagnostics (``flow.*``) describe the queueing of the unit (Little's law quantities); they
have no better side.

Every metric is possible whatever the inputs: a share (``%``, ``0-1``) lies in its range, a count
or rate is non-negative, nothing is infinite. A metric that cannot be computed (nothing observed:
no patient, no task, no nurse on duty, no call light, a period too short) is NaN, never 0 or an
exception, and :func:`undefined_reasons` says why.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Literal

import numpy as np

from careos_sim.measure.recorder import HARM_SOURCES, Facts
from careos_sim.spec.scenario import SCHEDULED_TASK_TYPES, TASK_TYPES
from careos_sim.clock import DAY, MONTH, YEAR

__all__ = ["Metric", "METRICS", "DIAGNOSTICS", "ALL", "BY_NAME", "evaluate", "hist_quantile", "undefined_reasons",
           "value_range"]

Direction = Literal["lower", "higher"]


@dataclass(frozen=True)
class Metric:
    """One outcome: name, unit, which side is better, formula, and the function computing it."""

    name: str
    unit: str
    direction: Direction | None
    formula: str
    fn: Callable[[Facts], float]

    def __call__(self, facts: Facts) -> float:
        with np.errstate(divide="ignore", invalid="ignore"):
            return float(self.fn(facts))


def ratio(num: float, den: float, scale: float = 1.0) -> float:
    """num / den x scale, or NaN when nothing was observed (or the quotient overflows)."""
    if not den > 0:
        return math.nan
    value = scale * num / den
    return value if math.isfinite(value) else math.nan


def share(part: float, whole: float, scale: float = 100.0) -> float:
    """part / whole x scale for a part of a whole (a percentage, a 0-1 mean): NaN when the whole is
    empty, and never outside [0, scale] (floating-point rounding of the two sums cannot take it
    out; the facts keep every part within its whole)."""
    value = ratio(part, whole, scale)
    return value if math.isnan(value) else min(max(value, 0.0), scale)


def _regular_minutes(f: Facts) -> float:
    """Nurse-minutes on duty outside overtime; 0 when rounding leaves only a sliver (a period where
    nurses were on duty only in overtime)."""
    regular = f.on_duty_area - f.overtime_minutes
    return regular if regular > 1e-9 * f.on_duty_area else 0.0


def hist_quantile(hist: np.ndarray, q: float) -> float:
    """Quantile of values binned in one-minute bins [k, k+1), interpolating within the bin."""
    n = hist.sum()
    if n <= 0:
        return math.nan
    cum = np.cumsum(hist)
    target = q * n
    k = int(np.searchsorted(cum, target, side="left"))
    below = cum[k - 1] if k > 0 else 0.0
    return k + (target - below) / hist[k]




def _harm(i: int) -> Callable[[Facts], float]:
    return lambda f: ratio(f.harm[i], f.patient_minutes / DAY, 1000.0)


def _group_ratio(num: np.ndarray, den: np.ndarray) -> float:
    """(num / den) of LEP patients over (num / den) of other patients."""
    other, lep = ratio(num[0], den[0]), ratio(num[1], den[1])
    return ratio(lep, other) if not (math.isnan(other) or math.isnan(lep)) else math.nan


def _group_gap(num: np.ndarray, den: np.ndarray, scale: float, part: bool = False) -> float:
    """LEP minus other patients' num / den x scale (each a share in [0, scale] when ``part``)."""
    of = share if part else ratio
    return of(num[1], den[1], scale) - of(num[0], den[0], scale)


def _missed_pct(t: int) -> Callable[[Facts], float]:
    return lambda f: share(f.missed[t], f.started[t] + f.missed[t])


_T = {name: i for i, name in enumerate(TASK_TYPES)}

METRICS: tuple[Metric, ...] = (
    Metric("timeliness.call_light_wait_min_mean", "min", "lower",
           "sum of (answer - call) over answered call lights / answered call lights",
           lambda f: ratio(f.cl_wait_sum.sum(), f.cl_n.sum())),
    Metric("timeliness.call_light_over_10min_pct", "%", "lower",
           "100 x call lights answered more than 10 min after the call / answered call lights",
           lambda f: share(f.cl_over10.sum(), f.cl_n.sum())),
    Metric("timeliness.task_lateness_min_median", "min", "lower",
           "median of max(0, start - due) over started scheduled tasks",
           lambda f: hist_quantile(f.lateness_hist, 0.5)),
    Metric("timeliness.task_lateness_min_p90", "min", "lower",
           "90th percentile of max(0, start - due) over started scheduled tasks",
           lambda f: hist_quantile(f.lateness_hist, 0.9)),
    Metric("timeliness.boarding_hours_per_admission", "h", "lower",
           "hours boarded (waiting for a bed, admitted or diverted) / admission requests",
           lambda f: ratio(f.boarding_minutes / 60.0, f.admission_requests)),
    Metric("timeliness.discharge_delay_hours_mean", "h", "lower",
           "sum of (discharge - ready for discharge) / discharges",
           lambda f: ratio(f.discharge_delay_minutes / 60.0, f.discharges)),
    Metric("effectiveness.missed_care_pct", "%", "lower",
           "100 x tasks with a window not started in it / tasks with a window (started or missed)",
           lambda f: share(f.missed.sum(), f.required.sum())),
    *(
        Metric(f"effectiveness.missed_{name}_pct", "%", "lower",
               f"100 x {name} tasks not started in their window / {name} tasks started or missed",
               _missed_pct(_T[name]))
        for name in SCHEDULED_TASK_TYPES
    ),
    Metric("efficiency.nurse_utilization_pct", "%", "lower",
           "100 x nurse-minutes on tasks and handoff / nurse-minutes on duty (the same care with less "
           "nurse time is better)",
           lambda f: share(f.busy_area, f.on_duty_area)),
    Metric("efficiency.overtime_hours_per_fte_week", "h/FTE-week", "lower",
           "overtime hours / (regular hours on duty / 40)",
           lambda f: ratio(f.overtime_minutes, _regular_minutes(f) / 40.0)),
    Metric("efficiency.workaround_time_pct", "%", "lower",
           "100 x nurse-minutes on defect workarounds / nurse-minutes on duty",
           lambda f: share(f.workaround_minutes, f.on_duty_area)),
    Metric("efficiency.cost_per_patient_day", "USD", "lower",
           "(regular wages + overtime + agency + departures x replacement cost + quality team and leader time "
           "+ training) / patient-days",
           lambda f: ratio(f.cost_regular + f.cost_overtime + f.cost_agency + f.cost_turnover + f.cost_leadership
                           + f.cost_training, f.patient_minutes / DAY)),
    Metric("safety.harm_per_1000_patient_days", "per 1000 patient-days", "lower",
           "1000 x harm events (all sources) / patient-days",
           lambda f: ratio(f.harm.sum(), f.patient_minutes / DAY, 1000.0)),
    *(
        Metric(f"safety.harm_{source}_per_1000_patient_days", "per 1000 patient-days", "lower",
               f"1000 x harm events from {source.replace('_', ' ')} / patient-days", _harm(i))
        for i, source in enumerate(HARM_SOURCES)
    ),
    Metric("safety.harm_per_100_admissions", "per 100 admissions", "lower",
           "100 x harm events / admissions", lambda f: ratio(f.harm.sum(), f.admissions, 100.0)),
    Metric("safety.near_misses_per_1000_patient_days", "per 1000 patient-days", "lower",
           "1000 x defect encounters that nearly harmed / patient-days",
           lambda f: ratio(f.near_misses, f.patient_minutes / DAY, 1000.0)),
    Metric("equity.harm_ratio", "ratio", "lower",
           "harm per patient-day of LEP patients / harm per patient-day of other patients (1 is equitable)",
           lambda f: _group_ratio(f.harm_g, f.patient_minutes_g)),
    Metric("equity.harm_gap_per_1000_patient_days", "per 1000 patient-days", "lower",
           "LEP minus other patients' harm per 1000 patient-days",
           lambda f: _group_gap(f.harm_g, f.patient_minutes_g / DAY, 1000.0)),
    Metric("equity.missed_care_ratio", "ratio", "lower",
           "missed-care share of LEP patients' tasks / that of other patients' tasks (1 is equitable)",
           lambda f: _group_ratio(f.missed_g, f.required)),
    Metric("equity.missed_care_gap_pct", "percentage points", "lower",
           "LEP minus other patients' missed-care share",
           lambda f: _group_gap(f.missed_g, f.required, 100.0, part=True)),
    Metric("equity.call_light_wait_ratio", "ratio", "lower",
           "mean call-light wait of LEP patients / of other patients (1 is equitable)",
           lambda f: _group_ratio(f.cl_wait_sum, f.cl_n)),
    Metric("equity.harm_lep_per_1000_patient_days", "per 1000 patient-days", "lower",
           "harm events of LEP patients / LEP patient-days x 1000",
           lambda f: ratio(f.harm_g[1], f.patient_minutes_g[1] / DAY, 1000.0)),
    Metric("equity.harm_other_per_1000_patient_days", "per 1000 patient-days", "lower",
           "harm events of other patients / their patient-days x 1000",
           lambda f: ratio(f.harm_g[0], f.patient_minutes_g[0] / DAY, 1000.0)),
    Metric("equity.missed_care_lep_pct", "%", "lower",
           "missed tasks of LEP patients / their tasks with a window x 100",
           lambda f: share(f.missed_g[1], f.required[1])),
    Metric("equity.missed_care_other_pct", "%", "lower",
           "missed tasks of other patients / their tasks with a window x 100",
           lambda f: share(f.missed_g[0], f.required[0])),
    Metric("patient_centeredness.call_light_within_10min_pct", "%", "higher",
           "100 x call lights answered within 10 min / answered call lights",
           lambda f: share(f.cl_n.sum() - f.cl_over10.sum(), f.cl_n.sum())),
    Metric("patient_centeredness.bedside_minutes_per_patient_day", "min", "higher",
           "minutes of direct care (call lights, assessment, medication, hygiene and mobility, communication, "
           "admission; workarounds excluded) / patient-days",
           lambda f: ratio(f.bedside_minutes, f.patient_minutes / DAY)),
    Metric("patient_centeredness.patient_days_without_missed_care_pct", "%", "higher",
           "100 x (1 - patient-days with at least one missed task / patient-days), patient-days counted as "
           "(patient, calendar day) pairs on the unit",
           lambda f: share(f.patient_day_pairs - f.missed_patient_days, f.patient_day_pairs)),
    Metric("effectiveness.nurse_shifts_with_missed_care_pct", "%", "lower",
           "100 x nurse-shifts whose nominally assigned patients (patient index mod nurses on shift) had a "
           "missed task / nurse-shifts",
           lambda f: share(f.nurse_shifts_with_miss, f.nurse_shifts_assigned)),
    Metric("workforce.burnout_pct", "%", "lower",
           "100 x nurses with E >= threshold / nurses employed, averaged over one sample a shift",
           lambda f: share(f.burnout_samples, f.staff_samples)),
    Metric("workforce.mean_exhaustion", "E (0-1)", "lower",
           "mean E of employed nurses, averaged over one sample a shift",
           lambda f: share(f.exhaustion_sum, f.staff_samples, 1.0)),
    Metric("workforce.turnover_annual_pct", "%/year", "lower",
           "100 x departures / mean nurses employed x 365.25 / days",
           lambda f: ratio(f.departures * YEAR / f.minutes, f.staff_samples / f.samples, 100.0)
           if f.samples else math.nan),
    Metric("workforce.burned_out_share_of_leavers_pct", "%", "lower",
           "100 x departures of burned-out nurses / departures",
           lambda f: share(f.departures_burned_out, f.departures)),
    Metric("workforce.vacancy_pct", "%", "lower",
           "100 x integral of vacant positions / integral of budgeted positions",
           lambda f: share(f.vacancy_area, f.positions_area)),
    Metric("workforce.sick_shifts_per_fte_year", "shifts/FTE-year", "lower",
           "sick calls / (regular hours on duty / 2080)",
           lambda f: ratio(f.sick_shifts, _regular_minutes(f) / 60.0 / 2080.0)),
    Metric("workforce.short_shifts_pct", "%", "lower",
           "100 x nurse slots left unfilled / nurse slots rostered",
           lambda f: share(f.short_shifts, f.nurse_shifts + f.short_shifts - f.float_minutes / 240.0)),
    Metric("learning.defect_encounters_per_rn_8h", "per RN per 8 h", "lower",
           "defect encounters / (nurse-minutes on duty / 480)",
           lambda f: ratio(f.encounters, f.on_duty_area / 480.0)),
    Metric("learning.report_pct", "%", "higher",
           "100 x encounters reported to someone who can fix them / encounters",
           lambda f: share(f.reports, f.encounters)),
    Metric("learning.reporting_propensity_mean", "0-1", "higher",
           "mean over employed nurses of their willingness to report a defect they meet, averaged over one "
           "sample a shift",
           lambda f: share(f.propensity_sum, f.staff_samples, 1.0)),
    Metric("learning.active_defects_mean", "defects", "lower",
           "integral of the number of present, unfixed defects / minutes",
           lambda f: ratio(f.defects_area, f.minutes)),
    Metric("learning.active_defects_end", "defects", "lower",
           "present, unfixed defects at the end of the period", lambda f: f.active_defects_last),
    Metric("learning.days_to_fix_median", "days", "lower",
           "median days from a defect's first encounter to its fix, over fixes in the period",
           lambda f: hist_quantile(f.fix_days_hist, 0.5)),
    Metric("learning.fixes_per_month", "1/month", "higher", "working fixes / months",
           lambda f: ratio(f.fixes, f.minutes / MONTH)),
    Metric("learning.regressions_per_month", "1/month", "lower", "fixes that decayed and let the defect return / "
           "months", lambda f: ratio(f.regressions, f.minutes / MONTH)),
    Metric("learning.department_fixes_per_month", "1/month", "higher",
           "working fixes made by the departments that own the defects / months (part of fixes)",
           lambda f: ratio(f.department_fixes, f.minutes / MONTH)),
    Metric("counts.patient_days", "patient-days", "lower",
           "integral of the census over time / 1440 min (bed-days used; for the same admissions, fewer is "
           "better: shorter stays)",
           lambda f: f.patient_minutes / DAY),
    Metric("counts.admissions", "patients", "higher", "patients admitted to a bed", lambda f: f.admissions),
    Metric("counts.diversions", "patients", "lower",
           "admission requests diverted after boarding longer than the limit", lambda f: f.diversions),
)

DIAGNOSTICS: tuple[Metric, ...] = (
    Metric("flow.implementation_cost_per_patient_day", "USD", None,
           "(huddle nurse-time at wage + leader rounding and barrier-removal hours + escalation hours + committee "
           "hours + training) / patient-days: the part of cost per patient-day that runs the leadership system's "
           "practices (a diagnostic: it is already inside cost per patient-day)",
           lambda f: ratio(f.implementation_usd, f.patient_minutes / DAY)),
    Metric("flow.escalations_per_month", "1/month", None,
           "defects escalated to the department that owns them / months (a diagnostic)",
           lambda f: ratio(f.escalations, f.minutes / MONTH)),
    Metric("flow.mean_census", "patients", None, "integral of the census / minutes",
           lambda f: ratio(f.patient_minutes, f.minutes)),
    Metric("flow.admissions_per_day", "1/day", None, "admissions / days",
           lambda f: ratio(f.admissions, f.minutes / DAY)),
    Metric("flow.los_days_mean", "days", None, "sum of (discharge - admission) / discharges / 1440",
           lambda f: ratio(f.los_minutes / DAY, f.discharges)),
    Metric("flow.pending_tasks_mean", "tasks", None, "integral of the number of queued tasks / minutes",
           lambda f: ratio(f.pending_area, f.minutes)),
    Metric("flow.task_arrivals_per_hour", "1/h", None, "tasks entering the queue / hours",
           lambda f: ratio(f.tasks_entered, f.minutes / 60.0)),
    Metric("flow.task_queue_min_mean", "min", None,
           "sum of time in queue / tasks leaving the queue (started, missed or cancelled)",
           lambda f: ratio(f.sojourn_minutes, f.tasks_left)),
    Metric("flow.call_lights_per_patient_hour", "1/h", None, "call lights answered / patient-hours",
           lambda f: ratio(f.cl_n.sum(), f.patient_minutes / 60.0)),
    Metric("flow.short_shifts", "slots", None, "nurse slots left unfilled", lambda f: f.short_shifts),
    Metric("flow.pressure_mean", "0-1", None, "time average of leaders' effective pressure to work harder",
           lambda f: share(f.pressure_area, f.minutes, 1.0)),
    Metric("flow.mandates", "mandates", None, "top-down initiatives", lambda f: f.mandates),
    Metric("flow.new_defects", "defects", None, "defects that appeared (initial, complexity, mandates)",
           lambda f: f.new_defects),
    Metric("flow.agency_shifts", "shifts", None, "shifts filled by agency nurses", lambda f: f.agency_shifts),
    Metric("flow.float_hours", "h", None, "float-nurse hours called to surges", lambda f: f.float_minutes / 60.0),
    Metric("flow.huddle_hours", "h", None, "nurse hours in huddles", lambda f: f.huddle_minutes / 60.0),
)

ALL: tuple[Metric, ...] = METRICS + DIAGNOSTICS
BY_NAME: dict[str, Metric] = {m.name: m for m in ALL}

#: metrics that are a difference between two groups of patients, so either sign is possible
_DIFFERENCES = ("equity.harm_gap_per_1000_patient_days", "equity.missed_care_gap_pct")


def value_range(name: str) -> tuple[float, float]:
    """The values a metric can take, from its unit: a percentage 0 to 100, a 0-1 mean 0 to 1, a gap
    between two groups' percentages -100 to 100 percentage points, any other gap between groups
    unbounded, and every other metric (rates, counts, times, ratios, costs) at least 0. An unknown
    name is unbounded. Used to keep a confidence band within what is possible."""
    metric = BY_NAME.get(name)
    if metric is None:
        return -math.inf, math.inf
    if name in _DIFFERENCES:
        return (-100.0, 100.0) if metric.unit == "percentage points" else (-math.inf, math.inf)
    if metric.unit == "%":
        return 0.0, 100.0
    if metric.unit in ("0-1", "E (0-1)"):
        return 0.0, 1.0
    return 0.0, math.inf


def evaluate(facts: Facts, metrics: tuple[Metric, ...] = ALL) -> dict[str, float]:
    """Every metric of ``facts``, by name."""
    return {m.name: m(facts) for m in metrics}


# --------------------------------------------------------------------------- undefined metrics

def _none(what: str, note: str = "") -> Callable[[Facts], str]:
    text = f"no {what} in the period" + (f" ({note})" if note else "")
    return lambda f: text


_NO_PATIENT = _none("patient on the unit")
_NO_NURSE = _none("nurse on duty")
_NO_SAMPLE = _none("staff sample", "one is taken at each shift change; none under the continuous roster")


def _no_call(f: Facts) -> str:
    return "no call light answered in the period" + (": no nurse on duty" if not f.on_duty_area > 0 else "")


def _no_window(f: Facts) -> str:
    if not f.patient_minutes > 0:
        return "no task with a window in the period: no patient on the unit"
    return "no task with a window (started or missed) in the period"


def _no_staff(f: Facts) -> str:
    return _NO_SAMPLE(f) if not f.samples > 0 else "no nurse employed in the period"


def _no_regular(f: Facts) -> str:
    return _NO_NURSE(f) if not f.on_duty_area > 0 else "no regular (non-overtime) nurse hours in the period"


_GROUP = ("other (non-LEP) patients", "LEP patients")


def _group_why(num: str, den: str, what: str, ratio_of: bool) -> Callable[[Facts], str]:
    """Why an equity metric of the two groups is undefined: a group with nothing to divide by, or
    (for a ratio) other patients' value of 0, which leaves the ratio without a base."""

    def why(f: Facts) -> str:
        n, d = getattr(f, num), getattr(f, den)
        empty = [_GROUP[g] for g in (1, 0) if not d[g] > 0]
        if empty:
            return f"no {what} for {' or for '.join(empty)} in the period"
        if ratio_of and not n[0] > 0:
            return "the value for other (non-LEP) patients is 0 in the period, so the ratio has no base"
        return f"no {what} in the period"

    return why


def _one_group(g: int, what: str) -> Callable[[Facts], str]:
    text = f"no {what} for {_GROUP[g]} in the period"
    return lambda f: text


_WHY: dict[str, Callable[[Facts], str]] = {
    "timeliness.call_light_wait_min_mean": _no_call,
    "timeliness.call_light_over_10min_pct": _no_call,
    "patient_centeredness.call_light_within_10min_pct": _no_call,
    "timeliness.task_lateness_min_median": _none("scheduled task started"),
    "timeliness.task_lateness_min_p90": _none("scheduled task started"),
    "timeliness.boarding_hours_per_admission": _none("admission requested"),
    "timeliness.discharge_delay_hours_mean": _none("patient discharged"),
    "flow.los_days_mean": _none("patient discharged"),
    "effectiveness.missed_care_pct": _no_window,
    **{f"effectiveness.missed_{name}_pct": _none(f"{name} task started or missed") for name in SCHEDULED_TASK_TYPES},
    "efficiency.nurse_utilization_pct": _NO_NURSE,
    "efficiency.workaround_time_pct": _NO_NURSE,
    "learning.defect_encounters_per_rn_8h": _NO_NURSE,
    "efficiency.overtime_hours_per_fte_week": _no_regular,
    "workforce.sick_shifts_per_fte_year": _no_regular,
    "efficiency.cost_per_patient_day": _NO_PATIENT,
    "safety.harm_per_1000_patient_days": _NO_PATIENT,
    **{f"safety.harm_{source}_per_1000_patient_days": _NO_PATIENT for source in HARM_SOURCES},
    "safety.near_misses_per_1000_patient_days": _NO_PATIENT,
    "patient_centeredness.bedside_minutes_per_patient_day": _NO_PATIENT,
    "flow.implementation_cost_per_patient_day": _NO_PATIENT,
    "flow.call_lights_per_patient_hour": _NO_PATIENT,
    "safety.harm_per_100_admissions": _none("admission", "patients on the unit at the start are not admissions"),
    "equity.harm_ratio": _group_why("harm_g", "patient_minutes_g", "patient-days", True),
    "equity.harm_gap_per_1000_patient_days": _group_why("harm_g", "patient_minutes_g", "patient-days", False),
    "equity.missed_care_ratio": _group_why("missed_g", "required", "task with a window", True),
    "equity.missed_care_gap_pct": _group_why("missed_g", "required", "task with a window", False),
    "equity.call_light_wait_ratio": _group_why("cl_wait_sum", "cl_n", "call light answered", True),
    "equity.harm_lep_per_1000_patient_days": _one_group(1, "patient-days"),
    "equity.harm_other_per_1000_patient_days": _one_group(0, "patient-days"),
    "equity.missed_care_lep_pct": _one_group(1, "task with a window"),
    "equity.missed_care_other_pct": _one_group(0, "task with a window"),
    "patient_centeredness.patient_days_without_missed_care_pct": _none("patient-day"),
    "effectiveness.nurse_shifts_with_missed_care_pct": _none(
        "shift change", "none under the continuous roster, or in a period shorter than a shift"),
    "workforce.burnout_pct": _no_staff,
    "workforce.mean_exhaustion": _no_staff,
    "learning.reporting_propensity_mean": _no_staff,
    "workforce.turnover_annual_pct": _no_staff,
    "workforce.burned_out_share_of_leavers_pct": _none("nurse leaving"),
    "workforce.vacancy_pct": _none("budgeted nurse position"),
    "workforce.short_shifts_pct": _none("nurse slot rostered", "none under the continuous roster"),
    "learning.report_pct": _none("defect encounter"),
    "learning.days_to_fix_median": _none("defect fixed"),
    "flow.task_queue_min_mean": _none("task leaving the queue"),
}


def _short(facts: Facts) -> str:
    """A note when the period is shorter than a week (a short run, or the last, partial week)."""
    days = facts.minutes / DAY
    if not days > 0:
        return "; the period is empty"
    if days < 7.0:
        return f"; the period is only {days:.3g} day{'' if days == 1 else 's'} long"
    return ""


def undefined_reasons(facts: Facts, metrics: tuple[Metric, ...] = ALL) -> dict[str, str]:
    """Why each metric that is undefined (NaN) for ``facts`` could not be computed, by name.

    A metric is NaN when what it divides by was not observed in the period: no patient on the unit,
    no task with a window, no nurse on duty, no call light answered, no defect met, no shift change
    (and so no staff sample). The reason names what was missing, and says when the period was
    shorter than a week (a short run, or the last, partial week of the weekly series), since that
    is often why nothing was observed. Metrics with a value are not listed, so an empty dict means
    every metric was computed. ``facts`` may be one period's, a run's total, or a sum over
    replications (a metric undefined there is undefined in every replication)::

        for name, why in undefined_reasons(result.facts).items():
            print(f"{name}: undefined ({why})")
    """
    if not facts.values:  # nothing was recorded at all
        facts = Facts.zero()
    values = evaluate(facts, metrics)
    short = _short(facts)
    out: dict[str, str] = {}
    for m in metrics:
        if math.isnan(values[m.name]):
            why = _WHY.get(m.name)
            out[m.name] = (why(facts) if why is not None else "nothing to compute it from in the period") + short
    return out
