"""A hospital's units side by side, in the report of a run or a comparison of hospitals.

The report shows the hospital first (its metrics are the same formulas on its units' summed
facts), then this section: one row per unit, a few headline outcomes per column. Read from
``units.parquet`` (a run: every unit's replications) or ``units-comparison.csv`` (a
comparison: each unit's paired table); a folder of a unit has neither, and no section.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from careos_sim.experiment.compare import better_side
from careos_sim.measure.labels import label
from careos_sim.measure.metrics import BY_NAME
from careos_sim.measure.statistics import mean_ci
from careos_sim.report.common import fmt, interval, signed
from careos_sim.report.document import Block, Heading, Note, Para, Table, literal

__all__ = ["UNIT_METRICS", "run_units_blocks", "compare_units_blocks"]

#: the outcomes shown per unit, in this order
UNIT_METRICS = (
    "safety.harm_per_1000_patient_days",
    "effectiveness.missed_care_pct",
    "timeliness.call_light_wait_min_mean",
    "workforce.burnout_pct",
    "workforce.turnover_annual_pct",
    "efficiency.cost_per_patient_day",
)


def _head(metric: str) -> str:
    unit = BY_NAME[metric].unit if metric in BY_NAME else ""
    return f"{label(metric)} ({unit})" if unit else label(metric)


def run_units_blocks(folder: Path) -> list[Block]:
    """Each unit's mean and 95% CI of the headline outcomes (empty for a unit's folder)."""
    path = folder / "units.parquet"
    if not path.is_file():
        return []
    try:
        reps = pd.read_parquet(path)
    except Exception as exc:
        return [Heading(2, "Units side by side", "units"), Note(f"`units.parquet` cannot be read ({type(exc).__name__}).")]
    shown = [m for m in UNIT_METRICS if m in reps.columns]
    rows = []
    for name, g in reps.groupby("unit", sort=False):
        cells = [literal(name)]
        for m in shown:
            mean, lo, hi = mean_ci(g[m].astype(float))
            cells.append(f"{fmt(mean)} ({interval(lo, hi)})")
        rows.append(cells)
    return [Heading(2, "Units side by side", "units"),
            Para("The hospital above is its units together; here each unit alone (mean over replications, "
                 "95% CI in brackets). The float pool's own facts (its nurses' burnout and turnover) count "
                 "in the hospital's workforce outcomes and show here as its own row."),
            Table(["unit", *(_head(m) for m in shown)], rows, numeric=set(range(1, len(shown) + 1)))]


def compare_units_blocks(folder: Path) -> list[Block]:
    """Each unit's B - A (95% CI) on the headline outcomes, coloured by the better side."""
    path = folder / "units-comparison.csv"
    if not path.is_file():
        return []
    try:
        paired = pd.read_csv(path)
    except Exception as exc:
        return [Heading(2, "Units side by side", "units"), Note(f"`units-comparison.csv` cannot be read "
                                                                  f"({type(exc).__name__}).")]
    shown = [m for m in UNIT_METRICS if m in set(paired["metric"])]
    rows = []
    for name, g in paired.groupby("unit", sort=False):
        by = g.set_index("metric")
        cells = [literal(name)]
        for m in shown:
            r = by.loc[m]
            side = better_side(r["direction"] if isinstance(r["direction"], str) else None,
                               r["diff_ci_low"], r["diff_ci_high"])
            mark = {"a": " (A better)", "b": " (B better)"}.get(side, "")
            cells.append(f"{fmt(r['a_mean'])} → {fmt(r['b_mean'])}: {signed(r['diff_mean'])} "
                         f"[{interval(r['diff_ci_low'], r['diff_ci_high'], sign=True)}]{mark}")
        rows.append(cells)
    return [Heading(2, "Units side by side", "units"),
            Para("Each unit of the two hospitals, paired by replication on common random numbers (each unit's "
                 "streams are its own): A's mean → B's mean, B - A and its 95% CI, and which side is better "
                 "where the interval excludes 0."),
            Table(["unit", *(_head(m) for m in shown)], rows)]
