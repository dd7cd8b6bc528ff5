"""Sweep throughput, parallel efficiency on 2 workers against 1, and the Dask path's overhead.

    python benchmarks/sweep.py [--run-days 90] [--replications 3] [--repeats 3]

One experiment (a 2^3 factorial of element dials on the telling preset, 8 points) is run:

1. in this process with no store (``run_replication`` in a loop): the simulation alone;
2. as a sweep with 1 worker (in process, each run saved to the store as it finishes);
3. as a sweep with 2 local worker processes;
4. as a sweep on a Dask ``LocalCluster`` of 2 single-threaded worker processes (the cluster's
   start-up is timed separately: it is paid once per session, not per sweep).

It prints runs a second, simulated patient-days a second, the store's overhead (2 against
1), parallel efficiency T1 / (2 x T2) (target 0.85 or better) and the Dask overhead
T_dask / T_local2. All in one run on one machine, so the ratios are comparable even where
the absolute times are not. Every sweep's runs.parquet is checked to be identical.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from careos_sim.experiment.design import load_experiment  # noqa: E402
from careos_sim.experiment.sweep import run_sweep  # noqa: E402
from careos_sim.model.replication import run_replication  # noqa: E402

EXPERIMENT = """\
name: bench
base: {base}
design: {{type: factorial}}
factors:
  - {{path: leadership.elements.valuing_people, name: valuing_people, levels: [0, 1]}}
  - {{path: leadership.elements.quality_team_as_operators, name: operators, levels: [0, 1]}}
  - {{path: leadership.elements.transparency, name: transparency, levels: [0, 1]}}
replications: {reps}
seed: 20261125
horizon_days: {days}
"""


def timed(fn):
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run-days", type=float, default=90, help="horizon of each run (days)")
    ap.add_argument("--replications", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=3, help="interleaved repeats; the best of each is kept")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="careos-bench-"))
    exp_file = tmp / "bench.yaml"
    exp_file.write_text(EXPERIMENT.format(base=REPO / "scenarios" / "telling.yaml", reps=args.replications,
                                          days=args.run_days))
    exp = load_experiment(exp_file)
    n = len(exp.design) * exp.replications
    print(f"experiment: {len(exp.design)} points x {exp.replications} replications = {n} runs of "
          f"{args.run_days:g} days (+{exp.warmup_days:g} warm-up); cores: {os.cpu_count()}")

    def bare():
        return [run_replication(exp.scenarios[p], exp.seed, r).metrics["counts.patient_days"]
                for p in range(len(exp.design)) for r in range(exp.replications)]

    from distributed import Client, LocalCluster

    tc, cluster = timed(lambda: LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                             dashboard_address=None))
    times: dict[str, list[float]] = {"bare": [], "w1": [], "w2": [], "dask": []}
    with cluster, Client(cluster) as client:
        for i in range(args.repeats):
            t, pd_days = timed(bare)
            times["bare"].append(t)
            for key, kw in (("w1", {"workers": 1}), ("w2", {"workers": 2}),
                            ("dask", {"executor": client.get_executor(), "workers": 2,
                                      "scheduler": cluster.scheduler_address})):
                folder = tmp / f"{key}-{i}"
                times[key].append(timed(lambda: run_sweep(exp, folder, **kw))[0])
    patient_days = sum(pd_days)
    t0, t1, t2, td = (min(times[k]) for k in ("bare", "w1", "w2", "dask"))

    ref = pd.read_parquet(tmp / "w1-0" / "runs.parquet")
    same = all(ref.equals(pd.read_parquet(p / "runs.parquet")) for p in tmp.glob("*-*") if p.is_dir())

    def line(label, t):
        print(f"  {label:<34} {t:7.2f} s  {n / t:6.2f} runs/s  {patient_days / t:9,.0f} patient-days/s")

    print(f"wall-clock, best of {args.repeats} interleaved repeats:")
    line("simulation alone, 1 process", t0)
    line("sweep, 1 worker (with store)", t1)
    line("sweep, 2 local workers", t2)
    line("sweep, Dask LocalCluster (2)", td)
    print(f"  Dask LocalCluster start-up          {tc:7.2f} s (once per session)")
    print("ratios:")
    print(f"  store overhead, sweep(1) / simulation alone:   {t1 / t0:.3f}")
    print(f"  parallel efficiency, T1 / (2 x T2):            {t1 / (2 * t2):.3f}   (target >= 0.85)")
    print(f"  Dask overhead, T_dask / T_local(2 workers):    {td / t2:.3f}")
    print(f"identical runs.parquet for 1 worker, 2 workers and Dask: {same}")


if __name__ == "__main__":
    main()
