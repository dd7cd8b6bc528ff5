"""What a comparison under parameter uncertainty costs (model section 11).

Runs, in one process and one run, a small uncertainty study of the telling and listening
presets (K sets x 2 sides x R replications of D days, ``compare --uncertainty``'s sweep and
analysis) and, for reference, the plain paired comparison of the same K x R x D replications
without the store. It prints the seconds per simulated replication-year of each, the store's
overhead (the ratio of the two), the seconds the analysis of every metric takes, and what the
app's default study (10 sets x 2 replications x 365 days) and the shipped one (100 x 5 x 730) would take
on this machine at the measured rate. Absolute times depend on the machine and its load;
compare the ratios.

    python benchmarks/uncertainty.py              # about 2 minutes on 2 cores
    python benchmarks/uncertainty.py --quick      # a few seconds
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from careos_sim.experiment.compare import compare  # noqa: E402
from careos_sim.experiment.uncertainty.run import load_sets, uncertainty_experiment  # noqa: E402
from careos_sim.experiment.uncertainty.study import analyse_store, run_study  # noqa: E402

RANGES = ROOT / "experiments" / "uncertainty" / "listening-default-unit.yaml"
TELLING, LISTENING = ROOT / "scenarios" / "telling.yaml", ROOT / "scenarios" / "listening.yaml"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", type=int, default=4)
    ap.add_argument("--replications", type=int, default=2)
    ap.add_argument("--days", type=float, default=120.0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--quick", action="store_true", help="2 sets x 2 replications x 20 days")
    a = ap.parse_args(argv)
    if a.quick:
        a.sets, a.replications, a.days = 2, 2, 20.0
    run = [(("run", "horizon_days"), a.days, "benchmark"), (("run", "replications"), a.replications, "benchmark")]
    sets = load_sets(RANGES, samples=a.sets, seed=1)
    exp = uncertainty_experiment(sets, TELLING, LISTENING, run, run, ["safety.harm_per_1000_patient_days"], "bench")
    rep_years = a.sets * 2 * a.replications * a.days / 365.25
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        run_study(exp, Path(tmp) / "store", resume=False, workers=a.workers)
        t_sweep = time.perf_counter() - t0
        t0 = time.perf_counter()
        analyse_store(Path(tmp) / "store", sets, labels=("telling", "listening"), nurses=26.0)
        t_analysis = time.perf_counter() - t0
    # the same simulations as plain paired comparisons, set by set (no store)
    t0 = time.perf_counter()
    for k in range(a.sets):
        a_sc, b_sc = exp.scenarios[2 * k], exp.scenarios[2 * k + 1]
        compare(a_sc, b_sc, workers=a.workers)
    t_plain = time.perf_counter() - t0
    per_year = t_sweep / rep_years
    print(f"uncertainty study: {a.sets} sets x 2 sides x {a.replications} replications x {a.days:g} days "
          f"({rep_years:.2f} replication-years), {a.workers} workers")
    print(f"  sweep through the store : {t_sweep:8.1f} s  ({per_year:.2f} s per replication-year)")
    print(f"  plain paired comparisons: {t_plain:8.1f} s  ({t_plain / rep_years:.2f} s per replication-year)")
    print(f"  store overhead (sweep / plain): {t_sweep / t_plain:.3f}")
    print(f"  analysis of every metric: {t_analysis:8.1f} s")
    for k, r, days in ((10, 2, 365), (100, 5, 730)):
        years = k * 2 * r * days / 365.25
        print(f"  at this rate, {k} sets x {r} replications x {days} days ({years:.0f} replication-years): "
              f"about {per_year * years / 60:.1f} minutes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
