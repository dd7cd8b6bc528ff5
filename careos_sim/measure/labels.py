"""Plain-language names of the metrics (the unit is shown beside them, from the metric's own
definition in :mod:`careos_sim.measure.metrics`)."""

from __future__ import annotations

__all__ = ["LABELS", "label"]

_MISSED = {"assessment": "assessments", "medication": "medication rounds", "hygiene_mobility": "hygiene and mobility",
           "documentation": "documentation", "coordination": "coordination", "communication": "communication rounds"}

#: plain-language names for the metrics of careos_sim.measure.metrics (the unit is shown beside them)
LABELS: dict[str, str] = {
    "timeliness.call_light_wait_min_mean": "Call-light wait, mean",
    "timeliness.call_light_over_10min_pct": "Call lights answered after more than 10 min",
    "timeliness.task_lateness_min_median": "Lateness of scheduled care, median",
    "timeliness.task_lateness_min_p90": "Lateness of scheduled care, 90th percentile",
    "timeliness.boarding_hours_per_admission": "Boarding time per admission request",
    "timeliness.discharge_delay_hours_mean": "Discharge delay, mean",
    "effectiveness.missed_care_pct": "Missed care (tasks not started in their window)",
    **{f"effectiveness.missed_{k}_pct": f"Missed care: {v}" for k, v in _MISSED.items()},
    "effectiveness.nurse_shifts_with_missed_care_pct": "Nurse-shifts with any missed care",
    "efficiency.nurse_utilization_pct": "Nurse time busy (utilisation)",
    "efficiency.overtime_hours_per_fte_week": "Overtime",
    "efficiency.workaround_time_pct": "Nurse time spent on workarounds",
    "efficiency.cost_per_patient_day": "Cost per patient-day",
    "safety.harm_per_1000_patient_days": "Harm events, all sources",
    "safety.harm_defect_per_1000_patient_days": "Harm from workflow defects",
    "safety.harm_missed_care_per_1000_patient_days": "Harm from missed care",
    "safety.harm_slip_per_1000_patient_days": "Harm from slips",
    "safety.harm_communication_per_1000_patient_days": "Harm from failed communication (LEP patients)",
    "safety.harm_per_100_admissions": "Harm events per 100 admissions",
    "safety.near_misses_per_1000_patient_days": "Near misses",
    "equity.harm_ratio": "Harm, LEP / other patients (1 = equal)",
    "equity.harm_gap_per_1000_patient_days": "Harm gap, LEP minus other patients",
    "equity.missed_care_ratio": "Missed care, LEP / other patients (1 = equal)",
    "equity.missed_care_gap_pct": "Missed-care gap, LEP minus other patients",
    "equity.call_light_wait_ratio": "Call-light wait, LEP / other patients (1 = equal)",
    "equity.harm_lep_per_1000_patient_days": "Harm events, LEP patients",
    "equity.harm_other_per_1000_patient_days": "Harm events, other patients",
    "equity.missed_care_lep_pct": "Missed care, LEP patients",
    "equity.missed_care_other_pct": "Missed care, other patients",
    "patient_centeredness.call_light_within_10min_pct": "Call lights answered within 10 min",
    "patient_centeredness.bedside_minutes_per_patient_day": "Bedside (direct care) time per patient-day",
    "patient_centeredness.patient_days_without_missed_care_pct": "Patient-days with no missed care",
    "workforce.burnout_pct": "Nurses burned out",
    "workforce.mean_exhaustion": "Exhaustion, mean",
    "workforce.turnover_annual_pct": "Nurse turnover",
    "workforce.burned_out_share_of_leavers_pct": "Leavers who were burned out",
    "workforce.vacancy_pct": "Vacant positions",
    "workforce.sick_shifts_per_fte_year": "Sick shifts",
    "workforce.short_shifts_pct": "Shifts left short-staffed",
    "learning.defect_encounters_per_rn_8h": "Workflow defects met per nurse per 8 h",
    "learning.report_pct": "Defects met that were reported",
    "learning.reporting_propensity_mean": "Willingness to report",
    "learning.active_defects_mean": "Active workflow defects, mean",
    "learning.active_defects_end": "Active workflow defects at the end",
    "learning.days_to_fix_median": "Days from first encounter to fix, median",
    "learning.fixes_per_month": "Working fixes a month",
    "learning.regressions_per_month": "Fixes that decayed, a month",
    "learning.department_fixes_per_month": "Working fixes a month, by departments",
    "counts.patient_days": "Patient-days (bed-days used)",
    "counts.admissions": "Admissions",
    "counts.diversions": "Diversions",
    "flow.implementation_cost_per_patient_day": "Leadership practices' cost per patient-day",
    "flow.escalations_per_month": "Defects escalated to departments, a month",
    "flow.mean_census": "Mean census",
    "flow.admissions_per_day": "Admissions a day",
    "flow.los_days_mean": "Length of stay, mean",
    "flow.pending_tasks_mean": "Tasks waiting, mean",
    "flow.task_arrivals_per_hour": "Tasks arriving an hour",
    "flow.task_queue_min_mean": "Time a task waits in the queue, mean",
    "flow.call_lights_per_patient_hour": "Call lights per patient-hour",
    "flow.short_shifts": "Nurse slots left unfilled",
    "flow.pressure_mean": "Leaders' pressure to work harder, mean",
    "flow.mandates": "Top-down mandates",
    "flow.new_defects": "New workflow defects",
    "flow.agency_shifts": "Agency shifts",
    "flow.float_hours": "Float-nurse hours",
    "flow.huddle_hours": "Huddle hours",
}


def label(metric: str) -> str:
    """A plain-language name for a metric (a tidied name for metrics without one)."""
    if metric in LABELS:
        return LABELS[metric]
    tail = metric.split(".", 1)[-1].replace("_", " ")
    return tail[:1].upper() + tail[1:]
