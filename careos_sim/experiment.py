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
import os
import signal
import time
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import numpy as np
import pandas as pd
from scipy import stats

from careos_sim.metrics import ALL, BY_NAME, undefined_reasons
from careos_sim.recorder import Facts
from careos_sim.scenario import Scenario
from careos_sim.unit import ReplicationResult, run_replication

__all__ = ["RunResult", "run", "summarise", "mean_ci", "with_run_settings", "Interrupted", "handle_signals",
           "deferred_signals", "make_pool", "stop_pool", "STOP_SIGNALS"]

ProgressFn = Callable[[int], None]
Job = tuple  # (scenario, seed, replication, event_log[, ocel_days]): run_replication's arguments


def mean_ci(values: Iterable[float], level: float = 0.95) -> tuple[float, float, float]:
    """Mean and two-sided Student-t confidence interval; NaN bounds with fewer than two values."""
    x = np.asarray([v for v in values if not math.isnan(v)], dtype=float)
    if x.size == 0:
        return math.nan, math.nan, math.nan
    mean = float(x.mean())
    if x.size < 2:
        return mean, math.nan, math.nan
    sem = float(x.std(ddof=1)) / math.sqrt(x.size)
    half = float(stats.t.ppf(0.5 + level / 2, x.size - 1)) * sem
    return mean, mean - half, mean + half


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

    scenario: Scenario
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
    #: OCEL 2.0 event logs (``careos_sim.eventlog.EventLog``) of the replications that kept one, by replication
    ocel: dict[int, Any] = field(default_factory=dict)

    def save(self, out: str | Path, label: str | None = None) -> Path:
        """Write the folder ``careos-sim run --out`` writes (same files, same checks of ``out``);
        ``label`` names the scenario in summary.json and the manifest (default: its name)."""
        from careos_sim.output import python_call, write_run

        label = self.scenario.name if label is None else label
        call = python_call("careos_sim.experiment.run", f"<scenario {self.scenario.name!r}>",
                           replications=self.scenario.run.replications, seed=self.seed,
                           horizon_days=self.scenario.run.horizon_days)
        return write_run(self, out, label, [], python=f"{call}.save({str(out)!r})")

    def metric(self, name: str) -> dict[str, float]:
        """Mean and interval of one metric."""
        BY_NAME[name]  # a KeyError names an unknown metric
        row = self.summary.set_index("metric").loc[name]
        return {"mean": row["mean"], "ci_low": row["ci_low"], "ci_high": row["ci_high"]}


def with_run_settings(scenario: Scenario, replications: int | None = None, seed: int | None = None,
                      horizon_days: float | None = None) -> Scenario:
    """The scenario with its ``run`` block updated by any of the given settings (validated)."""
    updates = {k: v for k, v in {"replications": replications, "seed": seed, "horizon_days": horizon_days}.items()
               if v is not None}
    if not updates:
        return scenario
    data = scenario.model_dump()
    data["run"].update(updates)
    return Scenario.model_validate(data)


# --------------------------------------------------------------------------- stopping on a signal

#: the signals that stop a command as Ctrl-C does
STOP_SIGNALS = tuple(getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, n))


class Interrupted(KeyboardInterrupt):
    """A stop signal (SIGINT, SIGTERM, SIGHUP) arrived; ``exit_code`` is 128 + its number."""

    def __init__(self, signum: int):
        self.signum = signum
        super().__init__(signal.Signals(signum).name)

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name

    @property
    def exit_code(self) -> int:
        return 128 + self.signum

    @property
    def how(self) -> str:
        """``interrupted`` (SIGINT, as Ctrl-C) or ``stopped by SIGTERM`` and the like, for a message."""
        return "interrupted" if self.signum == signal.SIGINT else f"stopped by {self.name}"


_signal_state: dict[str, int | None] = {"depth": 0, "pending": None, "received": None}


def _on_signal(signum: int, frame) -> None:
    state = _signal_state
    if state["received"] is not None:  # already stopping: let the clean-up finish
        return
    if state["depth"]:  # inside deferred_signals: raised when it ends
        state["pending"] = signum
        return
    state["received"] = signum
    raise Interrupted(signum)


@contextmanager
def deferred_signals() -> Iterator[None]:
    """A stop signal arriving inside this block is raised (as :class:`Interrupted`) when it ends."""
    state = _signal_state
    state["depth"] += 1  # type: ignore[operator]
    try:
        yield
    finally:
        state["depth"] -= 1  # type: ignore[operator]
        if not state["depth"] and state["pending"] is not None and state["received"] is None:
            state["received"], state["pending"] = state["pending"], None
            raise Interrupted(state["received"])  # type: ignore[arg-type]


@contextmanager
def handle_signals() -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP raise :class:`Interrupted` in this block (main thread only;
    elsewhere nothing changes); the previous handlers come back after it."""
    try:
        previous = {s: signal.signal(s, _on_signal) for s in STOP_SIGNALS}
    except ValueError:  # not the main thread: signals cannot be handled here
        yield
        return
    _signal_state.update(depth=0, pending=None, received=None)
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
        _signal_state.update(depth=0, pending=None, received=None)


def _worker_init() -> None:
    # the parent decides when workers stop (it kills them on a stop signal): a signal sent to the
    # whole process group (Ctrl-C, kill -TERM -PGID) must not end a worker behind its back
    for s in STOP_SIGNALS:
        signal.signal(s, signal.SIG_IGN)


def make_pool(workers: int) -> ProcessPoolExecutor:
    """A process pool whose workers ignore stop signals; end it with :func:`stop_pool`."""
    return ProcessPoolExecutor(max_workers=workers, initializer=_worker_init)


def stop_pool(pool: ProcessPoolExecutor, interrupted: bool) -> None:
    """Shut ``pool`` down; when ``interrupted``, kill its workers first rather than wait for their jobs."""
    if interrupted:
        # ProcessPoolExecutor has no public way to stop running jobs: kill its processes
        for process in list((getattr(pool, "_processes", None) or {}).values()):
            try:
                process.kill()
            except (OSError, AttributeError):
                pass
    pool.shutdown(wait=True, cancel_futures=True)


# --------------------------------------------------------------------------- running


def _one(args: Job) -> ReplicationResult:
    return run_replication(*args)


def run(
    scenario: Scenario,
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
    results = list(_map(jobs, workers, executor, progress))
    result = _collect(scenario, root, results)
    result.wall_seconds = time.perf_counter() - started
    return result


def _map(jobs: list[Job], workers: int | None, executor: Executor | None,
         progress: ProgressFn | None) -> Iterator[ReplicationResult]:
    """Run ``jobs`` in this process or a pool; yield their results in job order."""
    done = progress or (lambda _: None)
    workers = (os.cpu_count() or 1) if workers is None else workers
    if executor is None and (workers <= 1 or len(jobs) <= 1):
        for job in jobs:
            result = _one(job)
            done(1)
            yield result
        return
    own = executor is None
    pool = executor or make_pool(min(workers, len(jobs)))
    futures: dict = {}
    finished = False
    try:
        futures = {pool.submit(_one, job): i for i, job in enumerate(jobs)}
        results: list[ReplicationResult | None] = [None] * len(jobs)
        for future in as_completed(futures):
            results[futures[future]] = future.result()
            done(1)
        finished = True
    finally:
        if not finished:
            for future in futures:
                future.cancel()
        if own:
            stop_pool(pool, interrupted=not finished)  # type: ignore[arg-type]
    yield from results


def _collect(scenario: Scenario, seed: int, results: list[ReplicationResult]) -> RunResult:
    reps = pd.DataFrame([{"replication": r.replication, "seed": r.seed, **r.metrics} for r in results])
    weekly = pd.DataFrame([{"replication": r.replication, **row} for r in results for row in r.weekly])
    events = {r.replication: r.events_frame() for r in results if r.events is not None}
    ocel = {r.replication: r.ocel for r in results if r.ocel is not None}
    pooled = Facts()
    for r in results:
        pooled = pooled + r.facts
    return RunResult(scenario, seed, reps, summarise(reps), weekly, events, undefined_reasons(pooled),
                     ocel=ocel)
