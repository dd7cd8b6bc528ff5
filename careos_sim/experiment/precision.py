"""Precision tools: how many replications a question needs, how much warm-up a run needs, and
plain warnings when a result rests on too little.

* :func:`required_replications` runs replications in batches, on the common seeds every run
  uses (replication ``r`` is the same whatever the batch), until the Student-t 95% confidence
  interval of every chosen metric (of the paired difference B - A for two scenarios) is at most
  its target half-width, absolute or relative to ``|mean|``: the sequential procedure of Law and
  Kelton (*Simulation Modeling and Analysis*, section 9.4.1), in batches. Each metric's
  replications needed are the replications after which its half-width stayed at or below the
  target (to the batch); a target not met within the cap gets a projection from the spread so
  far.
* :func:`mser5` is MSER-5 (White 1997; White, Cobb and Spratt 2000): the truncation point of a
  series that minimises the squared standard error of the mean of what is kept, on batch means
  of five observations, searched over the first half of the batches; :func:`warmup_weeks`
  applies it to the across-replication mean weekly series of a results folder.
* :func:`precision_warnings`: too few replications, too short a horizon for the slow outcomes,
  and headline intervals wide against their estimate; ``run``, ``compare``, ``sweep`` and
  ``analyze`` print them, reports list them among their caveats.

The thresholds are the module's constants below; they are conventions, not laws (docs/model.md,
section 4, "Precision: replications and warm-up").
"""

from __future__ import annotations

import difflib
import math
import os
import sys
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable, Mapping, Sequence, TextIO

import numpy as np
import pandas as pd

from careos_sim.experiment.replications import ProgressFn, RunResult, _collect, replication_job, with_run_settings
from careos_sim.measure.statistics import mean_ci
from careos_sim.experiment.executor import make_pool, map_ordered, stop_pool
from careos_sim.spec.loader import InputError, InputIssue
from careos_sim.measure.metrics import BY_NAME
from careos_sim.spec.scenario import ScenarioSpec

__all__ = ["Mser5Result", "mser5", "warmup_weeks", "Target", "parse_target", "parse_targets", "PrecisionResult",
           "sequential_precision", "required_replications", "check_precision_cost", "precision_warnings",
           "half_widths_of", "table_warnings", "say_warnings", "MIN_REPLICATIONS", "MIN_HORIZON_DAYS",
           "MAX_RELATIVE_HALF_WIDTH", "HEADLINE_METRICS", "DEFAULT_METRICS", "DEFAULT_TARGET", "DEFAULT_BATCH",
           "DEFAULT_MAX_REPLICATIONS", "REPLICATIONS_LIMIT", "MSER_BATCH", "MSER_MIN_BATCHES", "LEVEL"]

# --------------------------------------------------------------------------- thresholds (conventions)

#: Fewer replications than this and a Student-t interval rests on a poor estimate of the spread
#: (with 2, 3 or 4 replications the t quantile is 12.7, 4.3 or 3.2): intervals are unreliable.
MIN_REPLICATIONS = 5
#: A horizon shorter than this (days after the warm-up) leaves the slow outcomes (exhaustion and
#: burnout, turnover and vacancies, the defect stock and its fixes) little time to move: their
#: time scales are months (docs/model.md, sections 2.3 and 4).
MIN_HORIZON_DAYS = 180.0
#: A 95% half-width above this share of ``|mean|`` is flagged: the interval is wide against its estimate.
MAX_RELATIVE_HALF_WIDTH = 0.5
#: The headline metrics whose intervals the commands and reports check against MAX_RELATIVE_HALF_WIDTH.
HEADLINE_METRICS = (
    "safety.harm_per_1000_patient_days",
    "effectiveness.missed_care_pct",
    "workforce.burnout_pct",
    "workforce.turnover_annual_pct",
    "efficiency.cost_per_patient_day",
)
#: The confidence level of every interval here.
LEVEL = 0.95

#: ``careos-sim precision`` without ``--metric``: these metrics, each at DEFAULT_TARGET.
DEFAULT_METRICS = ("safety.harm_per_1000_patient_days", "effectiveness.missed_care_pct", "workforce.burnout_pct")
#: A metric given without a target: a half-width of 10% of |mean|.
DEFAULT_TARGET = "10%"
#: Replications added at each step of the sequential procedure (the first step runs at least 3).
DEFAULT_BATCH = 5
#: The most replications the sequential procedure runs (per side) before it stops unmet.
DEFAULT_MAX_REPLICATIONS = 100
#: The most replications a run may have (the scenario schema's bound on ``run.replications``).
REPLICATIONS_LIMIT = 100_000
#: The first step's fewest replications: with fewer, the first estimate of the spread is too rough to stop on.
MIN_FIRST_STEP = 3

#: MSER-5: observations per batch mean.
MSER_BATCH = 5
#: MSER-5: the fewest batch means the search is trusted on (20 weekly observations with batches of 5).
MSER_MIN_BATCHES = 4

#: Weekly periods shorter than this (days) are left out of the warm-up series: the partial weeks at
#: the start (a warm-up that is not whole weeks) and at the end of a run.
FULL_WEEK_DAYS = 7.0 - 1e-6


def _num(x: float) -> str:
    """A number with three significant figures (thousands with separators)."""
    if x is None or not math.isfinite(x):
        return "-"
    return f"{x:,.0f}" if abs(x) >= 1000 else f"{x:.3g}"


# --------------------------------------------------------------------------- MSER-5


@dataclass(frozen=True)
class Mser5Result:
    """MSER-5 of one series.

    ``statistic[d]`` is MSER(d), the squared standard error proxy of the mean of batch means
    ``d + 1 .. k`` (for ``d = 0 .. k - 2``); ``truncate_batches`` is the d that minimises it over
    the first half (``d <= k // 2``), ``truncate_obs`` the observations to delete (``5 d``).
    ``reliable`` is False when the minimum lies at the boundary of that search (the transient may
    run into the second half: the series is too short) or there are fewer than MSER_MIN_BATCHES
    batches."""

    truncate_batches: int
    truncate_obs: int
    statistic: np.ndarray
    batches: int
    reliable: bool
    batch_size: int = MSER_BATCH

    @property
    def search_end(self) -> int:
        """The last truncation point searched (in batches)."""
        return min(self.batches // 2, max(self.batches - 2, 0))


def mser5(series: Sequence[float], batch_size: int = MSER_BATCH) -> Mser5Result:
    """MSER-5 (White 1997; White, Cobb and Spratt 2000) of ``series``, in time order.

    The series is cut into ``k`` consecutive batches of ``batch_size`` observations (a last
    incomplete batch is dropped) and their means Z_1..Z_k taken. For each truncation point d,
    MSER(d) = sum_{j>d} (Z_j - mean(Z_{d+1..k}))^2 / (k - d)^2; d* minimises it over
    d = 0..k//2 (the first half: near the end the statistic rests on a few batches and is
    erratic). NaN in the series is an error: drop those observations first."""
    x = np.asarray(series, dtype=float)
    if x.ndim != 1:
        raise ValueError("mser5 takes a one-dimensional series")
    if np.isnan(x).any():
        raise ValueError("the series has NaN values; drop them before MSER-5")
    if batch_size < 1:
        raise ValueError("batch_size must be >= 1")
    k = x.size // batch_size
    if k < 2:
        return Mser5Result(0, 0, np.zeros(0), k, False, batch_size)
    z = x[: k * batch_size].reshape(k, batch_size).mean(axis=1)
    z = z - z.mean()  # centred: a constant series gives exactly zero, not rounding noise
    s1 = np.cumsum(z[::-1])[::-1]  # s1[d] = sum of z[d:]
    s2 = np.cumsum((z * z)[::-1])[::-1]
    m = np.arange(k, 0, -1, dtype=float)  # batches kept after deleting d
    stat = np.maximum(s2 - s1 * s1 / m, 0.0) / (m * m)
    stat = stat[: k - 1]  # at least two batches kept
    end = min(k // 2, k - 2)
    window = stat[: end + 1]
    best = float(window.min())
    d = int(np.flatnonzero(window <= best * (1 + 1e-9) + 1e-300)[0])  # the earliest of (near-)ties
    reliable = k >= MSER_MIN_BATCHES and d < end
    return Mser5Result(d, d * batch_size, stat, k, reliable, batch_size)


def warmup_weeks(weekly: pd.DataFrame, metrics: Iterable[str] | None = None) -> pd.DataFrame:
    """MSER-5 per metric on the across-replication mean weekly series of a results folder.

    ``weekly`` is the layout of ``weekly.parquet`` (``replication``, ``week``, ``start_day``,
    ``days`` and a column per metric; a comparison's has a ``side`` column too, and each side is
    analysed on its own). The series runs from time 0 (warm-up weeks included), full weeks only;
    for each week the mean over replications. One row per (side and) metric:

    ``weeks``: full weeks in the series; ``truncate_weeks``: weeks MSER-5 deletes from its start;
    ``warmup_days``: the warm-up that deletes them (days from time 0 to the first week kept; 0
    when nothing is deleted), to compare with ``warmup_now``, the run's own warm-up;
    ``reliable``: False when the series is too short or the truncation falls at the boundary of
    the search; ``note`` says which."""
    if "week" not in weekly.columns:
        raise ValueError("the weekly table has no 'week' column")
    if metrics is None:
        metrics = [m for m in HEADLINE_METRICS if m in weekly.columns]
    metrics = list(metrics)
    absent = [m for m in metrics if m not in weekly.columns]
    if absent:
        raise KeyError(f"not in the weekly table: {', '.join(absent)}")
    full = weekly[weekly["days"] >= FULL_WEEK_DAYS] if "days" in weekly.columns else weekly
    groups = list(full.groupby("side", sort=True)) if "side" in full.columns else [(None, full)]
    rows = []
    for side, g in groups:
        starts = g.groupby("week")["start_day"].min() if "start_day" in g.columns else None
        own = weekly if side is None else weekly[weekly["side"] == side]
        now = (float(own.loc[own["week"] == 0, "start_day"].min()) if "start_day" in own.columns
               and (own["week"] == 0).any() else math.nan)
        for metric in metrics:
            series = g.groupby("week", sort=True)[metric].mean().dropna()
            result = mser5(series.to_numpy())
            cut = result.truncate_obs
            first = int(series.index[cut]) if cut < len(series) else None
            days = 0.0 if cut == 0 else (float(starts.loc[first]) if starts is not None and first is not None
                                         else math.nan)
            if result.batches < MSER_MIN_BATCHES:
                note = (f"too short for MSER-5: {len(series)} full weeks, at least "
                        f"{MSER_MIN_BATCHES * MSER_BATCH} needed")
            elif not result.reliable:
                note = "truncation at the end of the search (half the run): the transient may last longer; run longer"
            else:
                note = ""
            rows.append({**({"side": side} if side is not None else {}), "metric": metric, "weeks": len(series),
                         "batches": result.batches, "truncate_batches": result.truncate_batches,
                         "truncate_weeks": cut, "first_week": first, "warmup_days": days, "warmup_now": now,
                         "reliable": result.reliable, "note": note})
    columns = [*(["side"] if groups and groups[0][0] is not None else []), "metric", "weeks", "batches",
               "truncate_batches", "truncate_weeks", "first_week", "warmup_days", "warmup_now", "reliable", "note"]
    return pd.DataFrame(rows, columns=columns)


# --------------------------------------------------------------------------- targets


@dataclass(frozen=True)
class Target:
    """A metric's precision target: a 95% half-width of ``value`` (absolute, in the metric's
    unit), or of ``value`` x ``|mean|`` when ``relative`` (``value`` 0.1 for 10%)."""

    metric: str
    value: float
    relative: bool = True

    def half_width(self, mean: float) -> float:
        """The half-width this target allows at ``mean``."""
        return self.value * abs(mean) if self.relative else self.value

    def __str__(self) -> str:
        return f"{100 * self.value:g}%" if self.relative else f"{self.value:g}"


def _unknown_metric(name: str) -> str:
    inside = [m for m in BY_NAME if name and name.lower() in m.lower()]
    close = inside or difflib.get_close_matches(name, list(BY_NAME), n=1)
    if len(close) == 1:
        return f"unknown metric; did you mean '{close[0]}'?"
    if close:
        more = f" (and {len(close) - 3} more)" if len(close) > 3 else ""
        return f"unknown metric; did you mean one of {', '.join(repr(m) for m in close[:3])}{more}?"
    return ("unknown metric (the names are those of `careos-sim run --json`, e.g. "
            "safety.harm_per_1000_patient_days)")


def parse_target(text: str, source: str = "--metric", default: str = DEFAULT_TARGET) -> Target:
    """``NAME``, ``NAME=HALF_WIDTH`` or ``NAME=PERCENT%`` as a :class:`Target`; a bad name or target
    is an :class:`InputError` located at ``source``."""
    name, sep, target = str(text).partition("=")
    name, target = name.strip(), (target.strip() if sep else default)
    where = f"{source} {text}"
    if name not in BY_NAME:
        raise InputError([InputIssue(where, None, name or "metric", _unknown_metric(name), name)])
    relative = target.endswith("%")
    number = target[:-1].strip() if relative else target
    try:
        value = float(number.replace("_", ""))
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise InputError([InputIssue(where, None, name, "the target must be a half-width > 0 in the metric's unit, "
                                                        "or a percentage of the mean such as 10%", target)])
    return Target(name, value / 100.0 if relative else value, relative)


def parse_targets(specs: Iterable[Any] | Mapping[str, Any] | None, source: str = "--metric") -> list[Target]:
    """Targets from ``NAME[=TARGET[%]]`` strings, :class:`Target` objects, or a mapping of name to
    target (a number: absolute; a string such as ``"10%"``); None or empty: DEFAULT_METRICS at
    DEFAULT_TARGET. Every bad one is reported; a metric given twice keeps its last target."""
    if isinstance(specs, Mapping):
        specs = [s if isinstance(s, Target) else f"{k}={s}" for k, s in specs.items()]
    specs = list(specs or DEFAULT_METRICS)
    targets: dict[str, Target] = {}
    issues: list[InputIssue] = []
    for spec in specs:
        if isinstance(spec, Target):
            targets[spec.metric] = spec
            continue
        try:
            t = parse_target(spec, source)
            targets[t.metric] = t
        except InputError as exc:
            issues += exc.issues
    if issues:
        raise InputError(issues)
    return list(targets.values())


# --------------------------------------------------------------------------- the sequential procedure

TABLE_COLUMNS = ("metric", "n", "mean", "ci_low", "ci_high", "half_width", "relative_half_width", "target",
                 "target_half_width", "met", "n_needed", "projected")
HISTORY_COLUMNS = ("step", "n", "metric", "mean", "ci_low", "ci_high", "half_width", "target_half_width", "met")

#: per-replication values of replications ``start .. stop - 1``: a ``replication`` column and one per metric
Draw = Callable[[int, int], pd.DataFrame]


@dataclass
class PrecisionResult:
    """What the sequential procedure found.

    ``table``: one row per metric (TABLE_COLUMNS): n, mean, its 95% CI and half-width at the
    end, the target (as given and as a half-width), whether it is met, and the replications it
    needs (``n_needed``; ``projected`` when not met within the cap, an estimate from the spread so
    far). ``history``: the same per step (HISTORY_COLUMNS). ``values``: per replication, the
    chosen metrics (B - A for a comparison). ``a`` and ``b``: the replications run, as RunResults."""

    table: pd.DataFrame
    history: pd.DataFrame
    values: pd.DataFrame
    replications: int
    stopped: str  # "met": every target met; "cap": max_replications reached first
    batch: int
    max_replications: int
    paired: bool = False
    a: RunResult | None = None
    b: RunResult | None = None
    targets: list[Target] = field(default_factory=list)

    @property
    def met(self) -> bool:
        return self.stopped == "met"

    @property
    def weekly(self) -> pd.DataFrame:
        """The weekly series of the replications run (a ``side`` column for a comparison)."""
        if self.a is None:
            return pd.DataFrame()
        if self.b is None:
            return self.a.weekly
        return pd.concat([self.a.weekly.assign(side="a"), self.b.weekly.assign(side="b")], ignore_index=True)

    def warmup(self, metrics: Iterable[str] | None = None) -> pd.DataFrame:
        """MSER-5 on the weekly series of the replications run (:func:`warmup_weeks`); default: the chosen metrics."""
        return warmup_weeks(self.weekly, [t.metric for t in self.targets] if metrics is None else metrics)

    def document(self) -> dict[str, Any]:
        """The result as a JSON-ready dict (NaN as None)."""
        from careos_sim.results.folders import json_safe

        metrics = {r["metric"]: {k: v for k, v in r.items() if k != "metric"} for r in self.table.to_dict("records")}
        return json_safe({"paired": self.paired, "replications": self.replications, "stopped": self.stopped,
                          "batch": self.batch, "max_replications": self.max_replications, "metrics": metrics,
                          "history": self.history.to_dict("records")})


def _projected(n: int, half: float, target: float, level: float = LEVEL, limit: int = 10**7) -> int | None:
    """The fewest replications i >= n whose half-width, with the spread seen at n, is at most ``target``:
    half x sqrt(n / i) x t(i - 1) / t(n - 1) (Law and Kelton's approximate number of replications)."""
    from scipy import stats

    if n < 2 or not (math.isfinite(half) and math.isfinite(target)) or target <= 0:
        return None
    if half <= target:
        return n
    q = 0.5 + level / 2
    t_n = float(stats.t.ppf(q, n - 1))

    def ok(i: int) -> bool:
        return half * math.sqrt(n / i) * float(stats.t.ppf(q, i - 1)) / t_n <= target

    hi = n
    while not ok(hi):
        if hi >= limit:
            return None
        hi = min(limit, hi * 2)
    lo = max(n, hi // 2)  # not ok at lo (or lo == n, which is not ok)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if ok(mid) else (mid, hi)
    return hi


def _evaluate(values: pd.DataFrame, targets: list[Target], level: float) -> list[dict[str, Any]]:
    rows = []
    for t in targets:
        x = values[t.metric].to_numpy(dtype=float)
        mean, lo, hi = mean_ci(x, level)  # the project's one Student-t interval
        half = (hi - lo) / 2 if math.isfinite(lo) and math.isfinite(hi) else math.nan
        allowed = t.half_width(mean) if math.isfinite(mean) else math.nan
        rows.append({"metric": t.metric, "n": int(np.count_nonzero(~np.isnan(x))), "mean": mean, "ci_low": lo,
                     "ci_high": hi, "half_width": half, "target_half_width": allowed,
                     "met": bool(math.isfinite(half) and math.isfinite(allowed) and half <= allowed)})
    return rows


def sequential_precision(draw: Draw, targets: Sequence[Target], *, initial: int | None = None,
                         batch: int = DEFAULT_BATCH, max_replications: int = DEFAULT_MAX_REPLICATIONS,
                         level: float = LEVEL,
                         on_step: Callable[[int, list[dict[str, Any]]], None] | None = None) -> PrecisionResult:
    """The sequential procedure on any source of per-replication values.

    ``draw(start, stop)`` returns replications ``start .. stop - 1`` (a row each, a column per
    target's metric). The first step draws ``initial`` (default: ``batch``, at least
    MIN_FIRST_STEP), each later step ``batch`` more; after each, every target's Student-t
    interval (:func:`careos_sim.experiment.replications.mean_ci`) is compared with its target. It stops when
    every target is met, or at ``max_replications``."""
    targets = list(targets)
    if not targets:
        raise ValueError("at least one target is needed")
    if batch < 1 or not 2 <= max_replications <= REPLICATIONS_LIMIT:
        raise ValueError(f"batch must be >= 1 and max_replications from 2 to {REPLICATIONS_LIMIT:,}")
    first = min(max_replications, max(initial if initial is not None else batch, MIN_FIRST_STEP, 2))
    frames: list[pd.DataFrame] = []
    history: list[dict[str, Any]] = []
    n, step = 0, 0
    while True:
        stop = first if n == 0 else min(max_replications, n + batch)
        frames.append(draw(n, stop))
        n, step = stop, step + 1
        values = pd.concat(frames, ignore_index=True)
        rows = _evaluate(values, targets, level)
        history += [{"step": step, **r} for r in rows]
        if on_step is not None:
            on_step(n, rows)
        if all(r["met"] for r in rows):
            stopped = "met"
            break
        if n >= max_replications:
            stopped = "cap"
            break
    hist = pd.DataFrame(history, columns=list(HISTORY_COLUMNS))
    table = []
    for t, r in zip(targets, rows):
        steps = hist[hist["metric"] == t.metric]
        if r["met"]:
            unmet = steps.loc[~steps["met"], "step"]
            since = int(unmet.max()) + 1 if len(unmet) else 1  # met at every step from this one on
            needed, projected = int(steps.loc[steps["step"] == since, "n"].iloc[0]), False
        else:
            needed, projected = _projected(r["n"], r["half_width"], r["target_half_width"], level), True
        rel = r["half_width"] / abs(r["mean"]) if math.isfinite(r["mean"]) and r["mean"] != 0 else math.nan
        table.append({**{k: r[k] for k in ("metric", "n", "mean", "ci_low", "ci_high", "half_width")},
                      "relative_half_width": rel, "target": str(t), "target_half_width": r["target_half_width"],
                      "met": r["met"], "n_needed": needed, "projected": projected})
    return PrecisionResult(pd.DataFrame(table, columns=list(TABLE_COLUMNS)), hist, values, n, stopped, batch,
                           max_replications, targets=targets)


def required_replications(
    scenario: ScenarioSpec,
    targets: Iterable[Any] | Mapping[str, Any] | None = None,
    scenario_b: ScenarioSpec | None = None,
    *,
    seed: int | None = None,
    horizon_days: float | None = None,
    initial: int | None = None,
    batch: int = DEFAULT_BATCH,
    max_replications: int = DEFAULT_MAX_REPLICATIONS,
    workers: int | None = 1,
    executor: Any = None,
    progress: ProgressFn | None = None,
    level: float = LEVEL,
) -> PrecisionResult:
    """How many replications each metric needs for its target half-width, found sequentially.

    One scenario: the target is on the metric's mean. Two (``scenario_b``): on the paired
    difference B - A, B running with A's seed and horizon, replication r of both on the same
    random numbers (as :func:`careos_sim.experiment.compare.compare`). ``targets`` as :func:`parse_targets`
    takes them (default: DEFAULT_METRICS at DEFAULT_TARGET). Replications run in batches of
    ``batch`` (see :func:`sequential_precision`), in one process pool for the whole procedure
    when ``workers`` > 1 (None: every core) or on ``executor``; ``progress`` is called with 1 as
    each replication ends. Replication r is the same as in ``run`` with the same seed, so the
    final means equal those of ``run(scenario, replications=n)``."""
    chosen = parse_targets(targets)
    a = with_run_settings(scenario, seed=seed, horizon_days=horizon_days)
    root = a.run.seed
    sides = [a] if scenario_b is None else [a, with_run_settings(scenario_b, seed=root,
                                                                  horizon_days=a.run.horizon_days)]
    names = [t.metric for t in chosen]
    done: list[list[Any]] = [[] for _ in sides]
    workers_n = (os.cpu_count() or 1) if workers is None else workers
    pool = make_pool(workers_n) if executor is None and workers_n > 1 else None
    runner = executor if executor is not None else pool

    def draw(start: int, stop: int) -> pd.DataFrame:
        jobs = [(s, root, r, False) for r in range(start, stop) for s in sides]
        results = list(map_ordered(replication_job, jobs, workers_n, runner, progress))
        frames = []
        for k in range(len(sides)):
            part = results[k::len(sides)]
            done[k] += part
            frames.append(pd.DataFrame([{"replication": r.replication, **{m: r.metrics[m] for m in names}}
                                        for r in part]))
        if len(frames) == 1:
            return frames[0]
        diff = frames[1][names].to_numpy(dtype=float) - frames[0][names].to_numpy(dtype=float)
        return pd.DataFrame({"replication": frames[0]["replication"], **dict(zip(names, diff.T))})

    finished = False
    try:
        result = sequential_precision(draw, chosen, initial=initial, batch=batch, max_replications=max_replications,
                                      level=level)
        finished = True
    finally:
        if pool is not None:
            stop_pool(pool, interrupted=not finished)
    runs = [_collect(with_run_settings(s, replications=result.replications), root, done[k])
            for k, s in enumerate(sides)]
    result.a = runs[0]
    result.b = runs[1] if len(runs) > 1 else None
    result.paired = len(runs) > 1
    return result


def check_precision_cost(scenarios: list[tuple[ScenarioSpec, str]], max_replications: int, caps: Any = None) -> None:
    """Refuse, before anything runs, a procedure whose cap of replications (on every side) would cost more
    than the caps of :mod:`careos_sim.spec.limits` allow; the replication count is blamed on ``--max-replications``."""
    from careos_sim.spec.limits import active_caps, scenario_issues

    caps = caps if caps is not None else active_caps()
    issues = []
    for k, (scenario, source) in enumerate(scenarios):
        side_caps = caps if k == 0 else replace(caps, max_runs=None, max_replication_days=None)
        for issue in scenario_issues(scenario, replications=max_replications, caps=side_caps, source=source,
                                     sides=len(scenarios)):
            if issue.path == "run.replications":
                issue = replace(issue, source="--max-replications", path="max-replications", value=max_replications)
            issues.append(issue)
    if issues:
        raise InputError(issues)


# --------------------------------------------------------------------------- warnings


def precision_warnings(n_replications: int, horizon_days: float | None,
                       half_widths: Mapping[str, tuple[float, float]] | None = None, *,
                       estimate: str = "a mean") -> list[str]:
    """Plain-English warnings about a result's precision, one line each (empty: nothing to say).

    Fewer than MIN_REPLICATIONS replications; a horizon under MIN_HORIZON_DAYS days (the
    workforce and defect outcomes move over months); and each entry of ``half_widths`` (name ->
    (mean, 95% half-width), e.g. from :func:`half_widths_of`) whose half-width exceeds
    MAX_RELATIVE_HALF_WIDTH x |mean|. ``estimate`` names what the means are in the message
    ("A's mean" for a comparison, whose half-widths are those of B - A)."""
    out = []
    n = int(n_replications) if n_replications is not None else 0
    if n < MIN_REPLICATIONS:
        out.append(f"Only {n} replication{'s' if n != 1 else ''} (fewer than {MIN_REPLICATIONS}): the 95% confidence "
                   "intervals rest on a poor estimate of the spread between replications and are unreliable; run at "
                   f"least {MIN_REPLICATIONS}, or let `careos-sim precision` find how many a target precision needs.")
    try:
        horizon = float(horizon_days) if horizon_days is not None else math.nan
    except (TypeError, ValueError):
        horizon = math.nan
    if math.isfinite(horizon) and horizon < MIN_HORIZON_DAYS:
        out.append(f"A short horizon ({horizon:g} days, under {MIN_HORIZON_DAYS:g}): burnout, turnover, vacancies "
                   "and the defect stock move over months (docs/model.md, sections 2.3 and 4), so their values here "
                   "say more about the starting state than about the scenario.")
    for name, (mean, half) in (half_widths or {}).items():
        try:
            mean, half = float(mean), float(half)
        except (TypeError, ValueError):
            continue
        if not (math.isfinite(mean) and math.isfinite(half)) or half <= MAX_RELATIVE_HALF_WIDTH * abs(mean):
            continue
        how = f"as wide as {estimate} itself" if half >= abs(mean) else f"more than half {estimate}"
        out.append(f"`{name}`: 95% CI half-width {_num(half)} against {estimate} of {_num(mean)}: the interval is "
                   f"{how}; run more replications (`careos-sim precision ... --metric {name}` says how many).")
    return out


def half_widths_of(table: pd.DataFrame, prefix: str = "", metrics: Iterable[str] = HEADLINE_METRICS
                   ) -> dict[str, tuple[float, float]]:
    """Name -> (reference, 95% half-width) of ``metrics`` found in a summary (``mean``, ``ci_low``,
    ``ci_high``; ``prefix`` "": the reference is the mean) or paired table (``diff_mean``, ...;
    ``prefix`` "diff_": the half-width of B - A, the reference A's mean ``a_mean``)."""
    need = ("metric", f"{prefix}mean", f"{prefix}ci_low", f"{prefix}ci_high")
    if table is None or any(c not in table.columns for c in need):
        return {}
    # a difference is judged against the outcome's own level (A's mean): against the difference
    # itself, every outcome the two sides share would warn
    reference = "a_mean" if prefix == "diff_" and "a_mean" in table.columns else f"{prefix}mean"
    rows = table.set_index("metric")
    out = {}
    for m in metrics:
        if m in rows.index:
            r = rows.loc[m]
            try:
                lo, hi = float(r[f"{prefix}ci_low"]), float(r[f"{prefix}ci_high"])
                out[m] = (float(r[reference]), (hi - lo) / 2)
            except (TypeError, ValueError):
                continue
    return out


def table_warnings(n_replications: Any, horizon_days: Any, table: pd.DataFrame | None = None,
                   prefix: str = "") -> list[str]:
    """:func:`precision_warnings` of a result given as a summary or paired table (see
    :func:`half_widths_of`), its replications and horizon as a manifest records them (a value
    that is not a number is left out of the checks)."""
    try:
        n = int(n_replications)
    except (TypeError, ValueError):
        n = None
    return precision_warnings(n if n is not None else MIN_REPLICATIONS, horizon_days,
                              half_widths_of(table, prefix) if table is not None else None,
                              estimate="A's mean" if prefix == "diff_" else "the mean")


def say_warnings(warnings: Iterable[str], file: TextIO | None = None) -> None:
    """Print each warning on one line of stderr, prefixed ``careos-sim: warning:``."""
    from careos_sim.text import for_terminal

    stream = sys.stderr if file is None else file
    for w in warnings:
        print(f"careos-sim: warning: {for_terminal(w, 2000)}", file=stream)
