"""Replications: run them (in one process or many), summarise them with confidence intervals.

Replication ``r`` of a run with seed ``s`` draws from streams keyed by ``(s, r, name)``, so the
numbers depend only on (scenario, seed, replication), never on the number of workers or the
order replications finish in. Parallelism is an executor passed in, or a process pool made
for the call.

Stopping: :func:`handle_signals` (installed by the command line) turns SIGINT, SIGTERM and
SIGHUP into :class:`Interrupted`, a ``KeyboardInterrupt``, so each unwinds like Ctrl-C: pools
made here kill their workers (which ignore those signals themselves, so they never die
half-way through a job the parent is still waiting on), temporary files are removed, and
code inside :func:`deferred_signals` (a rename into place, saving one run) finishes first.
"""

from __future__ import annotations

import math
import time
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from careos_sim.measure.statistics import mean_ci
from careos_sim.measure.metrics import ALL, BY_NAME, undefined_reasons
from careos_sim.measure.recorder import Facts
from careos_sim.spec.scenario import ScenarioSpec
from careos_sim.model.replication import run_replication
from careos_sim.model.unit import ReplicationResult
from careos_sim.experiment.executor import map_ordered

__all__ = ["RunResult", "run", "summarise", "mean_ci", "with_run_settings"]

ProgressFn = Callable[[int], None]
Job = tuple  # (scenario, seed, replication, event_log[, ocel_days]): run_replication's arguments


def summarise(replications: pd.DataFrame) -> pd.DataFrame:
    """One row per metric: mean, 95% CI, standard deviation, n, unit, direction, formula."""
    rows = []
    for metric in ALL:
        values = replications[metric.name].to_numpy(dtype=float)
        mean, lo, hi = mean_ci(values)
        finite = values[~np.isnan(values)]
        rows.append({
            "metric": metric.name,
            "mean": mean,
            "ci_low": lo,
            "ci_high": hi,
            "std": float(finite.std(ddof=1)) if finite.size > 1 else math.nan,
            "n": int(finite.size),
            "unit": metric.unit,
            "direction": metric.direction,
            "formula": metric.formula,
        })
    return pd.DataFrame(rows)


@dataclass
class RunResult:
    """Replications of one scenario: a row per replication, the summary, and weekly series."""

    scenario: ScenarioSpec
    seed: int
    replications: pd.DataFrame
    summary: pd.DataFrame
    weekly: pd.DataFrame
    events: dict[int, pd.DataFrame] = field(default_factory=dict)
    #: Metrics undefined in every replication, with why (nothing they divide by was observed;
    #: for example no call light in a run of a day): ``metrics.undefined_reasons``.
    undefined: dict[str, str] = field(default_factory=dict)
    #: seconds the replications took (wall clock), for the manifest
    wall_seconds: float | None = None
    #: OCEL 2.0 event logs (``careos_sim.measure.eventlog.EventLog``) of the replications that kept one, by replication
    ocel: dict[int, Any] = field(default_factory=dict)
    #: A hospital's units by name (and its float pool's facts), each as a run of its own: its
    #: replications and summary (no weekly series); empty for a unit.
    units: dict[str, "RunResult"] = field(default_factory=dict)

    def save(self, out: str | Path, label: str | None = None) -> Path:
        """Write the folder ``careos-sim run --out`` writes (same files, same checks of ``out``);
        ``label`` names the scenario in summary.json and the manifest (default: its name)."""
        from careos_sim.results.folders import python_call
        from careos_sim.results.documents import write_run

        label = self.scenario.name if label is None else label
        call = python_call("careos_sim.experiment.replications.run", f"<scenario {self.scenario.name!r}>",
                           replications=self.scenario.run.replications, seed=self.seed,
                           horizon_days=self.scenario.run.horizon_days)
        return write_run(self, out, label, [], python=f"{call}.save({str(out)!r})")

    def metric(self, name: str) -> dict[str, float]:
        """Mean and interval of one metric."""
        BY_NAME[name]  # a KeyError names an unknown metric
        row = self.summary.set_index("metric").loc[name]
        return {"mean": row["mean"], "ci_low": row["ci_low"], "ci_high": row["ci_high"]}


def with_run_settings(scenario: ScenarioSpec, replications: int | None = None, seed: int | None = None,
                      horizon_days: float | None = None) -> ScenarioSpec:
    """The scenario with its ``run`` block updated by any of the given settings (validated)."""
    updates = {k: v for k, v in {"replications": replications, "seed": seed, "horizon_days": horizon_days}.items()
               if v is not None}
    if not updates:
        return scenario
    data = scenario.model_dump()
    data["run"].update(updates)
    return type(scenario).model_validate(data)


# --------------------------------------------------------------------------- running


def replication_job(args: Job) -> ReplicationResult:
    """One replication from its argument tuple (what the executor layer runs)."""
    return run_replication(*args)


def run(
    scenario: ScenarioSpec,
    replications: int | None = None,
    seed: int | None = None,
    horizon_days: float | None = None,
    workers: int | None = 1,
    executor: Executor | None = None,
    progress: ProgressFn | None = None,
    event_log: bool = False,
    ocel_days: float | None = None,
    ocel_all: bool = False,
) -> RunResult:
    """Run replications of ``scenario`` and summarise them.

    ``replications``, ``seed`` and ``horizon_days`` default to the scenario's ``run`` block.
    ``workers`` > 1 (or None, for every core) runs replications in a process pool; an
    ``executor`` may be passed instead. ``progress`` is called with 1 as each replication ends.
    ``ocel_days``: keep an OCEL 2.0 event log of the first that many days of replication 0 (of
    every replication with ``ocel_all``) in :attr:`RunResult.ocel`; it changes no number.
    """
    started = time.perf_counter()
    scenario = with_run_settings(scenario, replications, seed, horizon_days)
    n, root = scenario.run.replications, scenario.run.seed
    jobs = [(scenario, root, r, event_log, ocel_days if ocel_all or r == 0 else None) for r in range(n)]
    results = list(map_ordered(replication_job, jobs, workers, executor, progress))
    result = _collect(scenario, root, results)
    result.wall_seconds = time.perf_counter() - started
    return result


def _collect(scenario: ScenarioSpec, seed: int, results: list[ReplicationResult]) -> RunResult:
    reps = pd.DataFrame([{"replication": r.replication, "seed": r.seed, **r.metrics} for r in results])
    weekly = pd.DataFrame([{"replication": r.replication, **row} for r in results for row in r.weekly])
    events = {r.replication: r.events_frame() for r in results if r.events is not None}
    ocel = {r.replication: r.ocel for r in results if r.ocel is not None}
    pooled = Facts()
    for r in results:
        pooled = pooled + r.facts
    return RunResult(scenario, seed, reps, summarise(reps), weekly, events, undefined_reasons(pooled),
                     ocel=ocel, units=_units(scenario, seed, results))


def _units(scenario: Any, seed: int, results: list[ReplicationResult]) -> dict[str, RunResult]:
    """Each unit of a hospital's replications as a run of its own (in the hospital's order)."""
    names = list(results[0].units) if results else []
    by_name = {u.name: u.scenario for u in getattr(scenario, "units", ())}
    out = {}
    for name in names:
        reps = pd.DataFrame([{"replication": r.replication, "seed": r.seed, **r.units[name].metrics} for r in results])
        pooled = Facts()
        for r in results:
            pooled = pooled + r.units[name].facts
        out[name] = RunResult(by_name.get(name, scenario), seed, reps, summarise(reps), pd.DataFrame(), {},
                              undefined_reasons(pooled))
    return out
