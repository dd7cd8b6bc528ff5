"""What one replication of the default hospital costs: seconds, tasks a second, memory.

One process, one core. Runs ``scenarios/hospital.yaml`` (21 units, 574 beds) for a horizon
(default 91 days), reports seconds per simulated year and what a three-year replication
therefore takes, and the default unit alone for the same horizon in the same process (so
that the ratio of their tasks a second is measured in one run, not compared across noisy
runs: the machine's load moves both). With ``--memory``, the peak traced memory (tracemalloc, which
slows a run down) of two horizons, and the growth per simulated week between them: the
hospital keeps running totals and one row of weekly metrics per unit, not events, so memory
grows only by those rows.

    python benchmarks/hospital.py                 # about 40 s (91 days)
    python benchmarks/hospital.py --days 365      # about 2-3 minutes
    python benchmarks/hospital.py --memory        # adds two traced runs (84 and 168 days), a few minutes
    python benchmarks/hospital.py --json
"""

from __future__ import annotations

import argparse
import gc
import json
import platform
import time
import tracemalloc
from pathlib import Path

import careos_sim
from careos_sim.model.hospital import Hospital
from careos_sim.model.unit import CareUnit
from careos_sim.spec.loader import load_hospital, load_scenario

ROOT = Path(__file__).resolve().parent.parent
HOSPITAL = ROOT / "scenarios" / "hospital.yaml"
UNIT = ROOT / "scenarios" / "telling.yaml"
MIB = 1024.0 * 1024.0
SEED = 20261125
AIM_SECONDS_3Y = 180.0  # the aim for one three-year replication on one core


def tasks_started(recorders) -> int:
    return int(sum(r.total().values["started"].sum() for r in recorders if r.total().values))


def time_hospital(days: float) -> tuple[float, int, int]:
    spec = load_hospital(HOSPITAL, overrides={"run.horizon_days": days})
    gc.collect()
    start = time.perf_counter()
    h = Hospital(spec, SEED, 0)
    h.run()
    seconds = time.perf_counter() - start
    return seconds, tasks_started(h.recorders()), spec.beds


def time_unit(days: float) -> tuple[float, int, int]:
    spec = load_scenario(UNIT, {"run.horizon_days": days})
    gc.collect()
    start = time.perf_counter()
    unit = CareUnit(spec, SEED, 0)
    unit.run()
    seconds = time.perf_counter() - start
    return seconds, tasks_started([unit.recorder]), spec.unit.beds


def traced_peak(days: float) -> float:
    spec = load_hospital(HOSPITAL, overrides={"run.horizon_days": days})
    gc.collect()
    tracemalloc.start()
    Hospital(spec, SEED, 0).run()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / MIB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, default=91.0)
    parser.add_argument("--memory", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    h_s, h_tasks, beds = time_hospital(args.days)
    u_s, u_tasks, u_beds = time_unit(args.days)
    per_year = h_s * 365.0 / args.days
    out = {
        "python": platform.python_version(), "careos_sim": careos_sim.__version__,
        "build": str(careos_sim.native.BUILD), "days": args.days,
        "hospital_seconds": h_s, "hospital_tasks": h_tasks, "hospital_tasks_per_second": h_tasks / h_s,
        "hospital_beds": beds, "seconds_per_simulated_year": per_year, "three_year_replication_seconds": 3 * per_year,
        "aim_three_year_seconds": AIM_SECONDS_3Y,
        "unit_seconds": u_s, "unit_tasks_per_second": u_tasks / u_s,
        "hospital_tasks_per_second_over_unit": (h_tasks / h_s) / (u_tasks / u_s),
    }
    if args.memory:
        short, long_ = traced_peak(84.0), traced_peak(168.0)
        out.update(peak_mib_84_days=short, peak_mib_168_days=long_, growth_kib_per_week=(long_ - short) * 1024 / 12)
    if args.json:
        print(json.dumps(out, indent=2))
        return
    print(f"careos-sim hospital benchmark: python {out['python']}, one process, one core")
    print(f"build of the hot modules: {out['build']}")
    print(f"default hospital ({beds} beds, 21 units), {args.days:g} simulated days, one replication")
    print(f"  seconds {h_s:.1f}, tasks started {h_tasks:,}, tasks/s {h_tasks / h_s:,.0f}")
    print(f"  seconds per simulated year {per_year:.0f}; a three-year replication: about {3 * per_year:.0f} s "
          f"(aim: under {AIM_SECONDS_3Y:.0f} s: {'meets' if 3 * per_year < AIM_SECONDS_3Y else 'misses'})")
    print(f"default unit ({u_beds} beds), same horizon, same process: {u_s:.1f} s, tasks/s {u_tasks / u_s:,.0f}")
    print(f"  hospital's tasks/s over the unit's: {out['hospital_tasks_per_second_over_unit']:.2f} (1: a task costs "
          "the same in the hospital as in a unit alone; below 1, more)")
    if args.memory:
        print(f"peak traced memory: 84 days {out['peak_mib_84_days']:.1f} MiB, 168 days {out['peak_mib_168_days']:.1f} MiB"
              f"; growth {out['growth_kib_per_week']:.0f} KiB per simulated week")


if __name__ == "__main__":
    main()
