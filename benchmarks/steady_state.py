"""Is the telling baseline in its steady state from time 0? Year-by-year trajectories.

Runs a preset (default: the telling preset) for several years, several replications, and
prints at the end of each year, averaged over replications: the defect stock (present,
fixed), the summed per-task encounter rate of the present defects, the employed staff,
burnout, vacancies, and each year's encounters per RN per 8 h. A stationary start shows no
trend beyond the noise. Then it prints the share of present defects that are fixed, by
decile of base encounter rate, pooled over the years from ``--from-year`` on: run it with
``--set defects.initial_fixed_share=0`` (a stock that starts unfixed) to measure the
status quo's own steady share, which is how the default ``initial_fixed_share`` was set
(docs/model.md, section 2.3, "A steady start").

    python benchmarks/steady_state.py                                   # telling, 8 years x 6 replications
    python benchmarks/steady_state.py --set defects.initial_fixed_share=0 --set staff.dynamics=false
    python benchmarks/steady_state.py --years 3 --replications 2        # a quick look
"""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from careos_sim.experiment.replications import with_run_settings  # noqa: E402
from careos_sim.spec.loader import load_scenario  # noqa: E402
from careos_sim.model.unit import CareUnit  # noqa: E402

YEAR = 364 * 1440.0  # 52-week years, as ReplicationResult.yearly


def one(args: tuple) -> tuple[list[tuple], list[list[tuple]], list[float]]:
    path, sets, seed, rep, years = args
    scenario = with_run_settings(load_scenario(path, overrides=sets), horizon_days=364.0 * years)
    unit = CareUnit(scenario, seed, rep)
    rows: list[tuple] = []
    snaps: list[list[tuple]] = []

    def sampler():
        while True:
            yield unit.env.timeout(YEAR)
            present = unit.defects.defects
            nurses = unit.workforce.nurses
            threshold = scenario.staff.exhaustion.burnout_threshold
            rows.append((len(present), sum(d.fixed for d in present), sum(d.rate for d in present),
                         len(nurses), 100.0 * np.mean([n.exhaustion >= threshold for n in nurses]) if nurses else 0.0,
                         100.0 * unit.recorder.vacancies.level / max(1, len(nurses) + unit.recorder.vacancies.level)))
            snaps.append([(d.base_rate, d.fixed) for d in present])

    unit.env.process(sampler())
    unit.run()
    from careos_sim.measure.metrics import ALL, evaluate
    encounters = [evaluate(f, ALL)["learning.defect_encounters_per_rn_8h"] for f in unit.recorder.years()]
    return rows, snaps, encounters


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenario", nargs="?", default=str(ROOT / "scenarios" / "telling.yaml"))
    ap.add_argument("--years", type=int, default=8)
    ap.add_argument("--replications", type=int, default=6)
    ap.add_argument("--seed", type=int, default=20261201)
    ap.add_argument("--from-year", type=int, default=3, help="first year pooled for the fixed share by decile")
    ap.add_argument("--set", action="append", default=[], metavar="PATH=VALUE")
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args(argv)
    jobs = [(a.scenario, a.set, a.seed, r, a.years) for r in range(a.replications)]
    with ProcessPoolExecutor(a.workers) as pool:
        out = list(pool.map(one, jobs))
    rows = np.array([o[0] for o in out]).mean(axis=0)
    enc = np.array([o[2][: a.years] for o in out]).mean(axis=0)
    print(f"{a.scenario}, {a.replications} replications, seed {a.seed}, set {a.set or 'nothing'}")
    print("end of year | defects present | fixed | summed rate | staff | burnout % | vacancy % | encounters/RN/8h in the year")
    for y, (row, e) in enumerate(zip(rows, enc), start=1):
        print(f"{y:11d} | {row[0]:15.1f} | {row[1]:5.1f} | {row[2]:11.3f} | {row[3]:5.1f} | {row[4]:9.1f} | "
              f"{row[5]:9.1f} | {e:6.2f}")
    fixed, count = np.zeros(10), np.zeros(10)
    for _, snaps, _ in out:
        for snap in snaps[a.from_year - 1:]:
            base = np.array([s[0] for s in snap])
            is_fixed = np.array([s[1] for s in snap], dtype=float)
            rank = base.argsort().argsort() / len(base)
            for i in range(10):
                m = (rank >= i / 10) & (rank < (i + 1) / 10)
                fixed[i] += is_fixed[m].sum()
                count[i] += m.sum()
    share = fixed / np.maximum(count, 1)
    print(f"fixed share of present defects from year {a.from_year} on, by decile of base rate (least met first):")
    print("  " + " ".join(f"{v:.2f}" for v in share) + f"   overall {fixed.sum() / max(count.sum(), 1):.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
