"""Outcome metrics: each defined once, as a pure function of :class:`~careos_sim.recorder.Facts`.

Every metric has a dotted name (``dimension.what_unit``), a unit, a direction (is higher or
lower better) and a formula in words. The same definitions give the totals over the horizon
and each week of the time series, and they are listed in ``docs/model.md``.

Diagnostics (``flow.*``) describe the queueing of the unit (Little's law quantities); they
have no better side.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Literal

import numpy as np

from careos_sim.recorder import Facts
from careos_sim.scenario import SCHEDULED_TASK_TYPES, TASK_TYPES

__all__ = ["Metric", "METRICS", "DIAGNOSTICS", "ALL", "BY_NAME", "evaluate", "hist_quantile"]

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
    """num / den x scale, or NaN when nothing was observed."""
    return scale * num / den if den > 0 else math.nan


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


def _missed_pct(t: int) -> Callable[[Facts], float]:
    return lambda f: ratio(f.missed[t], f.started[t] + f.missed[t], 100.0)


_T = {name: i for i, name in enumerate(TASK_TYPES)}

METRICS: tuple[Metric, ...] = (
    Metric("timeliness.call_light_wait_min_mean", "min", "lower",
           "sum of (answer - call) over answered call lights / answered call lights",
           lambda f: ratio(f.cl_wait_sum.sum(), f.cl_n.sum())),
    Metric("timeliness.call_light_over_10min_pct", "%", "lower",
           "100 x call lights answered more than 10 min after the call / answered call lights",
           lambda f: ratio(f.cl_over10.sum(), f.cl_n.sum(), 100.0)),
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
           lambda f: ratio(f.missed.sum(), f.required.sum(), 100.0)),
    *(
        Metric(f"effectiveness.missed_{name}_pct", "%", "lower",
               f"100 x {name} tasks not started in their window / {name} tasks started or missed",
               _missed_pct(_T[name]))
        for name in SCHEDULED_TASK_TYPES
    ),
    Metric("efficiency.nurse_utilization_pct", "%", "lower",
           "100 x nurse-minutes on tasks and handoff / nurse-minutes on duty (the same care with less "
           "nurse time is better)",
           lambda f: ratio(f.busy_area, f.on_duty_area, 100.0)),
    Metric("efficiency.overtime_hours_per_fte_week", "h/FTE-week", "lower",
           "overtime hours / (regular hours on duty / 40)",
           lambda f: ratio(f.overtime_minutes, (f.on_duty_area - f.overtime_minutes) / 40.0)),
    Metric("counts.patient_days", "patient-days", "higher",
           "integral of the census over time / 1440 min",
           lambda f: f.patient_minutes / 1440.0),
    Metric("counts.admissions", "patients", "higher", "patients admitted to a bed", lambda f: f.admissions),
    Metric("counts.diversions", "patients", "lower",
           "admission requests diverted after boarding longer than the limit", lambda f: f.diversions),
)

DIAGNOSTICS: tuple[Metric, ...] = (
    Metric("flow.mean_census", "patients", None, "integral of the census / minutes",
           lambda f: ratio(f.patient_minutes, f.minutes)),
    Metric("flow.admissions_per_day", "1/day", None, "admissions / days",
           lambda f: ratio(f.admissions, f.minutes / 1440.0)),
    Metric("flow.los_days_mean", "days", None, "sum of (discharge - admission) / discharges / 1440",
           lambda f: ratio(f.los_minutes / 1440.0, f.discharges)),
    Metric("flow.pending_tasks_mean", "tasks", None, "integral of the number of queued tasks / minutes",
           lambda f: ratio(f.pending_area, f.minutes)),
    Metric("flow.task_arrivals_per_hour", "1/h", None, "tasks entering the queue / hours",
           lambda f: ratio(f.tasks_entered, f.minutes / 60.0)),
    Metric("flow.task_queue_min_mean", "min", None,
           "sum of time in queue / tasks leaving the queue (started, missed or cancelled)",
           lambda f: ratio(f.sojourn_minutes, f.tasks_left)),
    Metric("flow.call_lights_per_patient_hour", "1/h", None, "call lights answered / patient-hours",
           lambda f: ratio(f.cl_n.sum(), f.patient_minutes / 60.0)),
    Metric("flow.short_shifts", "shifts", None, "shifts staffed below the ratio", lambda f: f.short_shifts),
)

ALL: tuple[Metric, ...] = METRICS + DIAGNOSTICS
BY_NAME: dict[str, Metric] = {m.name: m for m in ALL}


def evaluate(facts: Facts, metrics: tuple[Metric, ...] = ALL) -> dict[str, float]:
    """Every metric of ``facts``, by name."""
    return {m.name: m(facts) for m in metrics}
