"""Throughput of careos-sim against an idiomatic SimPy model of the same queue, and its cost.

What is measured, all in one process and one run:

1. **M/M/c throughput.** ``scenarios/verification/mmc.yaml`` is the full model reduced to an
   M/M/c queue (lambda = beds x call lights per patient-hour / 60, mu = 1 / mean call-light
   minutes, c = nurses on duty). One replication long enough for about 200,000 call lights is
   timed, and so is a plain SimPy M/M/c written the usual way (a source process, one process
   per customer, ``simpy.Resource``, scalar ``rng.exponential()`` draws) serving the same
   number of customers. A variant of the plain model with pre-drawn arrays is shown too.
   Mean waits are printed beside the Erlang-C value as a check that both run the same queue.
2. **The default unit.** One replication of ``scenarios/default.yaml`` for one simulated
   year: seconds, tasks started a second, and (in separate runs under ``tracemalloc``, which
   slows a run down) the peak traced memory for a 1-year and a 3-year horizon. The model keeps
   running totals and one row of weekly metrics, not events: memory grows only by that row
   (about a kilobyte a simulated week); the growth per week between the horizons is printed.
3. **A bare SimPy event loop.** 100 processes, each a loop of ``yield env.timeout(d)`` over
   pre-drawn exponential delays (about 2,000,000 events in all, drawn before the clock starts):
   events a second, the cost of SimPy itself on this machine and this Python. The default
   unit's tasks a second divided by it, ``tasks_per_event_ratio``, is the unit's work per task in
   bare-event units, and far steadier across machines than either figure (target >= 0.20).

Absolute seconds depend on the machine and on whatever else it runs; on a shared machine
they are noisy. Compare the *ratio* careos / idiomatic (the target is >= 0.8): both sides run
in the same process, interleaved, and the best (shortest) of several runs of each is kept,
so the ratio is far more stable than either time.

    python benchmarks/throughput.py            # about a minute
    python benchmarks/throughput.py --quick    # smoke test, a few seconds
    python benchmarks/throughput.py --json     # the figures as one JSON document
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import platform
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import simpy

import careos_sim
from careos_sim.spec.scenario import ScenarioSpec

ROOT = Path(__file__).resolve().parent.parent
MMC_FILE = ROOT / "scenarios" / "verification" / "mmc.yaml"
DEFAULT_FILE = ROOT / "scenarios" / "default.yaml"
TARGET_RATIO = 0.8
#: target of the default unit's tasks started a second over the bare loop's events a second
TARGET_TASKS_PER_EVENT = 0.20
BARE_PROCESSES = 100
SEED = 1
DAY = 1440.0
MIB = 1024.0 * 1024.0


# --------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class Sizes:
    """How much to run: customers of the M/M/c, days of the default unit, repeats of each."""

    customers: int
    year_days: float
    memory_days: tuple[float, float]
    repeats: int
    bare_events: int = 2_000_000


FULL = Sizes(customers=200_000, year_days=365.0, memory_days=(365.0, 3 * 365.0), repeats=3)
QUICK = Sizes(customers=20_000, year_days=28.0, memory_days=(28.0, 84.0), repeats=1, bare_events=200_000)


@dataclass(frozen=True)
class Queue:
    """An M/M/c queue; rates are per minute."""

    lam: float
    mu: float
    c: int

    @property
    def rho(self) -> float:
        return self.lam / (self.c * self.mu)

    def erlang_c_wait(self) -> float:
        """Mean wait in queue (minutes), from the Erlang-C formula."""
        a, c = self.lam / self.mu, self.c
        head = sum(a**k / math.factorial(k) for k in range(c))
        tail = a**c / math.factorial(c) / (1.0 - self.rho)
        return tail / (head + tail) / (c * self.mu - self.lam)


def mmc_queue(scenario: ScenarioSpec) -> Queue:
    """lambda, mu and c of the verification scenario (see its header)."""
    lam = scenario.unit.beds * scenario.patients.call_lights_per_hour / 60.0
    mu = 1.0 / scenario.tasks.call_light.minutes.mean
    return Queue(lam, mu, scenario.staff.nurses.on_duty)


def load(path: Path, horizon_days: float) -> ScenarioSpec:
    return careos_sim.load_scenario(path, overrides={"run.horizon_days": horizon_days, "run.warmup_days": 0})


# --------------------------------------------------------------------------- timing


@dataclass(frozen=True)
class Timed:
    """One timed run: wall seconds, customers (or tasks) served, mean wait in minutes."""

    seconds: float
    count: int
    mean_wait: float = math.nan

    @property
    def per_second(self) -> float:
        return self.count / self.seconds


def timed(fn: Callable[[], tuple[int, float]]) -> Timed:
    """Run ``fn`` (returning count, mean wait) after a collection, and time it."""
    gc.collect()
    start = time.perf_counter()
    count, wait = fn()
    return Timed(time.perf_counter() - start, count, wait)


def best(runs: list[Timed]) -> Timed:
    return min(runs, key=lambda r: r.seconds)


def careos_mmc(scenario: ScenarioSpec) -> tuple[int, float]:
    """One careos-sim replication of the verification unit: call lights answered, mean wait."""
    result = careos_sim.run_replication(scenario, SEED, 0)
    return int(result.facts.cl_n.sum()), result.metrics["timeliness.call_light_wait_min_mean"]


def careos_tasks(scenario: ScenarioSpec) -> tuple[int, float]:
    """One careos-sim replication: tasks started."""
    result = careos_sim.run_replication(scenario, SEED, 0)
    return int(result.facts.started.sum()), math.nan


# --------------------------------------------------------------------------- idiomatic SimPy


class Tally:
    """Customers served and their total wait."""

    __slots__ = ("n", "wait")

    def __init__(self) -> None:
        self.n = 0
        self.wait = 0.0


def customer(env: simpy.Environment, server: simpy.Resource, service: float, tally: Tally) -> Iterator[simpy.Event]:
    arrived = env.now
    with server.request() as req:
        yield req
        tally.n += 1
        tally.wait += env.now - arrived
        yield env.timeout(service)


def source_scalar(env: simpy.Environment, server: simpy.Resource, q: Queue, n: int, rng: np.random.Generator,
                  tally: Tally) -> Iterator[simpy.Event]:
    """Poisson arrivals, each draw a scalar ``rng.exponential()`` call."""
    for _ in range(n):
        env.process(customer(env, server, rng.exponential(1.0 / q.mu), tally))
        yield env.timeout(rng.exponential(1.0 / q.lam))


def source_predrawn(env: simpy.Environment, server: simpy.Resource, q: Queue, n: int, rng: np.random.Generator,
                    tally: Tally) -> Iterator[simpy.Event]:
    """Poisson arrivals, gaps and service times drawn up front as arrays (then as Python floats)."""
    services = rng.exponential(1.0 / q.mu, n).tolist()
    gaps = rng.exponential(1.0 / q.lam, n).tolist()
    for service, gap in zip(services, gaps):
        env.process(customer(env, server, service, tally))
        yield env.timeout(gap)


Source = Callable[..., Iterator[simpy.Event]]


def simpy_mmc(source: Source, q: Queue, n: int) -> tuple[int, float]:
    """The plain SimPy M/M/c serving ``n`` customers: customers served, mean wait."""
    env = simpy.Environment()
    server = simpy.Resource(env, capacity=q.c)
    tally = Tally()
    env.process(source(env, server, q, n, np.random.default_rng(SEED), tally))
    env.run()
    return tally.n, tally.wait / tally.n


# --------------------------------------------------------------------------- a bare event loop


def bare_delays(events: int, processes: int = BARE_PROCESSES) -> list[list[float]]:
    """Exponential delays (mean 1 minute) for ``processes`` loops, ``events`` in all, drawn up front."""
    rng = np.random.default_rng(SEED)
    return rng.exponential(1.0, (processes, events // processes)).tolist()


def ticker(env: simpy.Environment, delays: list[float]) -> Iterator[simpy.Event]:
    timeout = env.timeout
    for d in delays:
        yield timeout(d)


def bare_loop(delays: list[list[float]]) -> tuple[int, float]:
    """The bare SimPy loop: one timeout event per delay; returns the timeouts processed."""
    env = simpy.Environment()
    for row in delays:
        env.process(ticker(env, row))
    env.run()
    return sum(len(row) for row in delays), math.nan


# --------------------------------------------------------------------------- memory


def peak_memory(scenario: ScenarioSpec) -> float:
    """Peak traced memory (MiB) of one replication, under tracemalloc."""
    gc.collect()
    tracemalloc.start()
    try:
        careos_sim.run_replication(scenario, SEED, 0)
        return tracemalloc.get_traced_memory()[1] / MIB
    finally:
        tracemalloc.stop()


# --------------------------------------------------------------------------- the benchmark


def measure(sizes: Sizes) -> dict[str, Any]:
    """Every figure of the benchmark, as a JSON-ready dict."""
    mmc = load(MMC_FILE, horizon_days=1.0)
    q = mmc_queue(mmc)
    mmc = load(MMC_FILE, horizon_days=sizes.customers / (q.lam * DAY))
    year = load(DEFAULT_FILE, horizon_days=sizes.year_days)
    n = careos_mmc(mmc)[0]  # also a warm-up run; the plain models serve exactly as many
    delays = bare_delays(sizes.bare_events)
    runs: dict[str, list[Timed]] = {"careos": [], "simpy_scalar": [], "simpy_predrawn": [], "default_unit": [],
                                    "bare": []}
    for _ in range(sizes.repeats):  # interleaved, so slow spells of the machine hit every model
        runs["careos"].append(timed(lambda: careos_mmc(mmc)))
        runs["simpy_scalar"].append(timed(lambda: simpy_mmc(source_scalar, q, n)))
        runs["simpy_predrawn"].append(timed(lambda: simpy_mmc(source_predrawn, q, n)))
        runs["default_unit"].append(timed(lambda: careos_tasks(year)))
        runs["bare"].append(timed(lambda: bare_loop(delays)))
    tasks_per_second = best(runs["default_unit"]).per_second
    events_per_second = best(runs["bare"]).per_second
    ratio = tasks_per_second / events_per_second
    return {
        "settings": _settings(sizes),
        "mmc": _mmc_figures(q, runs),
        "default_unit": {
            "horizon_days": sizes.year_days,
            **_figures(runs["default_unit"], "tasks"),
            **_memory_figures(sizes.memory_days),
        },
        "bare_loop": {"processes": BARE_PROCESSES, **_figures(runs["bare"], "events")},
        "tasks_per_second": round(tasks_per_second),
        "bare_events_per_second": round(events_per_second),
        "tasks_per_event_ratio": round(ratio, 4),
        "target_ratio": TARGET_TASKS_PER_EVENT,
        "meets_tasks_per_event_target": ratio >= TARGET_TASKS_PER_EVENT,
    }


def _memory_figures(days: tuple[float, float]) -> dict[str, Any]:
    """Peak memory at two horizons, and the growth per extra simulated week between them."""
    short, long = (peak_memory(load(DEFAULT_FILE, d)) for d in days)
    weeks = (days[1] - days[0]) / 7.0
    return {
        "peak_memory_mib": {str(int(d)): round(mib, 2) for d, mib in zip(days, (short, long))},
        "memory_growth_kib_per_week": round((long - short) * 1024.0 / weeks, 1),
    }


def _settings(sizes: Sizes) -> dict[str, Any]:
    return {
        "repeats": sizes.repeats,
        "statistic": "best (min seconds) of interleaved repeats",
        "seed": SEED,
        "python": platform.python_version(),
        "simpy": simpy.__version__,
        "numpy": np.__version__,
        "careos_sim": careos_sim.__version__,
        "build": str(careos_sim.native.BUILD),  # compiled (mypyc) or pure Python; CAREOS_SIM_PURE=1: pure
        "cpus": os.cpu_count(),
    }


def _figures(runs: list[Timed], what: str) -> dict[str, Any]:
    top = best(runs)
    return {
        what: top.count,
        "seconds": round(top.seconds, 4),
        f"{what}_per_second": round(top.per_second),
        "seconds_all": [round(r.seconds, 4) for r in runs],
    }


def _mmc_figures(q: Queue, runs: dict[str, list[Timed]]) -> dict[str, Any]:
    careos = best(runs["careos"]).per_second
    models = {name: {**_figures(runs[name], "customers"), "mean_wait_min": round(best(runs[name]).mean_wait, 3)}
              for name in ("careos", "simpy_scalar", "simpy_predrawn")}
    ratio = careos / best(runs["simpy_scalar"]).per_second
    return {
        "lambda_per_min": q.lam,
        "mu_per_min": q.mu,
        "c": q.c,
        "rho": q.rho,
        "erlang_c_wait_min": round(q.erlang_c_wait(), 3),
        **models,
        "ratio_careos_over_simpy_scalar": round(ratio, 3),
        "ratio_careos_over_simpy_predrawn": round(careos / best(runs["simpy_predrawn"]).per_second, 3),
        "target_ratio": TARGET_RATIO,
        "meets_target": ratio >= TARGET_RATIO,
    }


# --------------------------------------------------------------------------- output


def report(fig: dict[str, Any]) -> str:
    s, m, d, b = fig["settings"], fig["mmc"], fig["default_unit"], fig["bare_loop"]
    verdict2 = "meets" if fig["meets_tasks_per_event_target"] else "BELOW"
    lines = [
        f"careos-sim throughput benchmark: best (shortest) of {s['repeats']} interleaved run(s) of each, one process",
        f"python {s['python']}, simpy {s['simpy']}, numpy {s['numpy']}, {s['cpus']} CPUs; "
        "compare ratios, not absolute times",
        f"build of the hot modules: {s['build']}",
        "",
        f"M/M/c: lambda {m['lambda_per_min']:.4g}/min, mu {m['mu_per_min']:.4g}/min, c {m['c']}, "
        f"rho {m['rho']:.3f}; Erlang-C mean wait {m['erlang_c_wait_min']:.3f} min",
        f"  {'model':<36}{'customers':>10}{'seconds':>10}{'customers/s':>13}{'wait (min)':>12}",
    ]
    names = {"careos": "careos-sim (verification/mmc.yaml)", "simpy_scalar": "idiomatic SimPy, scalar draws",
             "simpy_predrawn": "idiomatic SimPy, pre-drawn arrays"}
    for key, label in names.items():
        r = m[key]
        lines.append(f"  {label:<36}{r['customers']:>10,}{r['seconds']:>10.3f}{r['customers_per_second']:>13,}"
                     f"{r['mean_wait_min']:>12.3f}")
    verdict = "meets" if m["meets_target"] else "BELOW"
    lines += [
        f"  ratio careos / idiomatic (scalar draws): {m['ratio_careos_over_simpy_scalar']:.2f}  "
        f"(target >= {m['target_ratio']}: {verdict})",
        f"  ratio careos / idiomatic (pre-drawn):    {m['ratio_careos_over_simpy_predrawn']:.2f}",
        "",
        f"Default unit (scenarios/default.yaml), {d['horizon_days']:g} simulated days, one replication",
        f"  seconds per replication {d['seconds']:.3f}, tasks started {d['tasks']:,}, "
        f"tasks/s {d['tasks_per_second']:,}",
        "  peak traced memory (tracemalloc, separate runs): "
        + ", ".join(f"{days} days {mib:.2f} MiB" for days, mib in d["peak_memory_mib"].items()),
        f"  growth between the two horizons: {d['memory_growth_kib_per_week']:.1f} KiB per simulated week",
        "",
        f"Bare SimPy loop ({b['processes']} processes of timeouts on pre-drawn exponential delays)",
        f"  seconds {b['seconds']:.3f}, events {b['events']:,}, events/s {b['events_per_second']:,}",
        f"  tasks/s / events/s: {fig['tasks_per_event_ratio']:.3f}  (target >= {fig['target_ratio']}: {verdict2})",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, one repeat (a smoke test)")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON document")
    parser.add_argument("--repeats", type=int, help="interleaved repeats of each timing (default 3, quick 1)")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    if args.repeats is not None:
        sizes = Sizes(sizes.customers, sizes.year_days, sizes.memory_days, max(1, args.repeats), sizes.bare_events)
    figures = measure(sizes)
    print(json.dumps(figures, indent=2) if args.json else report(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
