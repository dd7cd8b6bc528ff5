"""Two scenarios on common random numbers, and the paired difference of every metric.

Replication ``r`` of A and replication ``r`` of B both run ``run_replication(scenario, seed, r)``
with the same seed, so they draw the same arrivals, acuities and service times wherever the two
scenarios consume them alike. What differs between the pair is then mostly the design, and
the per-replication differences B - A vary much less than either side: a paired Student-t
interval on them finds a real difference with far fewer replications than two separate
intervals would.

Every metric with a direction gets a better side: ``"b"`` or ``"a"`` when the 95% interval of
B - A excludes zero, ``"neither"`` when it includes zero (or there are fewer than two pairs).
Diagnostics (direction None, the ``flow.*`` quantities) are compared too and always get
``"neither"``.
"""

from __future__ import annotations

import math
import time
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from careos_sim.experiment.replications import ProgressFn, RunResult, _collect, replication_job, with_run_settings
from careos_sim.measure.statistics import mean_ci
from careos_sim.experiment.executor import map_ordered
from careos_sim.spec.scenario import ScenarioSpec

__all__ = ["Comparison", "compare", "paired_table", "better_side", "PAIRED_COLUMNS"]

Side = Literal["a", "b", "neither"]

PAIRED_COLUMNS = (
    "metric", "a_mean", "a_ci_low", "a_ci_high", "b_mean", "b_ci_low", "b_ci_high",
    "diff_mean", "diff_ci_low", "diff_ci_high", "n", "better", "unit", "direction",
)


@dataclass
class Comparison:
    """Replications of A and of B on common random numbers, and their paired differences."""

    a: RunResult
    b: RunResult
    paired: pd.DataFrame  # one row per metric, columns PAIRED_COLUMNS
    #: seconds both sides' replications took (wall clock), for the manifest
    wall_seconds: float | None = None

    @property
    def units(self) -> dict[str, pd.DataFrame]:
        """For two hospitals: the paired table of each unit they both have (in A's order)."""
        return {name: paired_table(run, self.b.units[name]) for name, run in self.a.units.items()
                if name in self.b.units}

    def save(self, out: str | Path, labels: tuple[str, str] | None = None, figures: bool = True) -> Path:
        """Write the folder ``careos-sim compare --out`` writes (same files, same checks of ``out``);
        ``labels`` name the sides (default: the scenarios' names)."""
        from careos_sim.results.folders import python_call
        from careos_sim.results.documents import write_comparison

        labels = (self.a.scenario.name, self.b.scenario.name) if labels is None else labels
        call = python_call("careos_sim.experiment.compare.compare", f"<scenario {self.a.scenario.name!r}>",
                           f"<scenario {self.b.scenario.name!r}>", replications=self.replications,
                           seed=self.seed, horizon_days=self.horizon_days)
        return write_comparison(self, out, labels, [], figures=figures, python=f"{call}.save({str(out)!r})")

    @property
    def seed(self) -> int:
        return self.a.seed

    @property
    def replications(self) -> int:
        return self.a.scenario.run.replications

    @property
    def horizon_days(self) -> float:
        return self.a.scenario.run.horizon_days


def better_side(direction: str | None, ci_low: float, ci_high: float) -> Side:
    """Which side the interval of B - A favours: only when it excludes zero, and the metric has a direction."""
    if direction not in ("lower", "higher") or math.isnan(ci_low) or math.isnan(ci_high):
        return "neither"
    if ci_low > 0:  # B is higher
        return "b" if direction == "higher" else "a"
    if ci_high < 0:  # B is lower
        return "b" if direction == "lower" else "a"
    return "neither"


def paired_table(a: RunResult, b: RunResult) -> pd.DataFrame:
    """One row per metric: each side's mean and 95% CI, and B - A per replication with its 95% CI."""
    reps_a = a.replications.set_index("replication").sort_index()
    reps_b = b.replications.set_index("replication").sort_index()
    if not reps_a.index.equals(reps_b.index):
        raise ValueError("A and B must have the same replications to be paired")
    side_a, side_b = a.summary.set_index("metric"), b.summary.set_index("metric")
    rows = []
    for name in a.summary["metric"]:
        diff = reps_b[name].to_numpy(dtype=float) - reps_a[name].to_numpy(dtype=float)
        mean, lo, hi = mean_ci(diff)
        direction = side_a.at[name, "direction"]
        direction = direction if isinstance(direction, str) else None
        rows.append({
            "metric": name,
            **{f"a_{k}": float(side_a.at[name, k]) for k in ("mean", "ci_low", "ci_high")},
            **{f"b_{k}": float(side_b.at[name, k]) for k in ("mean", "ci_low", "ci_high")},
            "diff_mean": mean, "diff_ci_low": lo, "diff_ci_high": hi,
            "n": int(np.count_nonzero(~np.isnan(diff))),
            "better": better_side(direction, lo, hi),
            "unit": side_a.at[name, "unit"],
            "direction": direction,
        })
    return pd.DataFrame(rows, columns=list(PAIRED_COLUMNS))


def compare(
    scenario_a: ScenarioSpec,
    scenario_b: ScenarioSpec,
    replications: int | None = None,
    seed: int | None = None,
    horizon_days: float | None = None,
    workers: int | None = 1,
    executor: Executor | None = None,
    progress: ProgressFn | None = None,
    ocel_days: float | None = None,
) -> Comparison:
    """Run A and B on common random numbers and pair them replication by replication.

    ``replications``, ``seed`` and ``horizon_days`` default to A's ``run`` block, and B runs
    with the same three (its own warm-up is kept). All 2N replications share one pool:
    ``workers`` > 1 (or None, for every core) or an ``executor``; ``progress`` is called with
    1 as each replication ends. The numbers do not depend on the number of workers.
    ``ocel_days``: keep an OCEL 2.0 event log of the first that many days of replication 0 of
    each side (``a.ocel[0]``, ``b.ocel[0]``); it changes no number.
    """
    started = time.perf_counter()
    a = with_run_settings(scenario_a, replications, seed, horizon_days)
    n, root = a.run.replications, a.run.seed
    b = with_run_settings(scenario_b, n, root, a.run.horizon_days)
    # interleaved, so both sides progress together; the results come back in job order
    jobs = [(s, root, r, False, ocel_days if r == 0 else None) for r in range(n) for s in (a, b)]
    results = list(map_ordered(replication_job, jobs, workers, executor, progress))
    run_a, run_b = _collect(a, root, results[0::2]), _collect(b, root, results[1::2])
    return Comparison(run_a, run_b, paired_table(run_a, run_b), time.perf_counter() - started)
