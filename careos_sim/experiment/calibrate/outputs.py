"""The summary files of a calibration: ``targets.csv``, ``targets.md``, ``chosen.yaml`` and
``plausible.parquet`` (``docs/calibration.md``), each written atomically."""

from __future__ import annotations

import io
import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import yaml

from careos_sim.experiment.calibrate import method as hm
from careos_sim.experiment.calibrate.spec import Calibration
from careos_sim.results.folders import write_atomic

if TYPE_CHECKING:
    from pathlib import Path

    from careos_sim.experiment.calibrate.run import CalibrationResult

__all__ = ["targets_table", "write_outputs"]


def targets_table(cal: Calibration, mean: np.ndarray, var: np.ndarray, count: np.ndarray) -> pd.DataFrame:
    rows = []
    for j, t in enumerate(cal.targets):
        lo, hi = hm.ci(float(mean[j]), float(var[j]), int(count[j]))
        rows.append({"target": t.name, "metric": t.metric, "side": f"{t.ratio[0]} / {t.ratio[1]}" if t.ratio
                     else t.side, "kind": "ratio" if t.ratio else "mean",
                     "years": ",".join(map(str, t.years)) if t.years else "all", "low": t.low, "high": t.high,
                     "mean": float(mean[j]), "ci_low": lo, "ci_high": hi, "replications": int(count[j]),
                     "inside": bool(t.low <= mean[j] <= t.high),
                     "ci_inside": bool(math.isfinite(lo) and t.low <= lo and hi <= t.high),
                     "band_distance": abs(float(mean[j]) - t.centre) / t.half_width})
    return pd.DataFrame(rows)


def _markdown(cal: Calibration, result: "CalibrationResult") -> str:
    from careos_sim.text import for_markdown as md

    def f(x: float) -> str:
        return "-" if not math.isfinite(x) else f"{x:.4g}"

    c = result.chosen_set
    lines = [f"# Calibration {md(cal.name)}: targets at the chosen point", "",
             f"Chosen: wave {c['wave']}, set {c['set']} ({'plausible: inside every band over its wave replications' if c['plausible'] else 'NOT plausible: no simulated set was inside every band; this is the closest'}); "
             f"{c['plausible_sets']} of {c['simulated_sets']} simulated sets plausible. Confirmed with "
             f"{cal.confirm_replications} replications per side (seed {cal.seed}); 95% intervals over replications "
             "(ratios: delta method on paired replications).", "",
             "| target | output | band | mean | 95% CI | inside |", "|---|---|---|---|---|---|"]
    for t, (_, r) in zip(cal.targets, result.targets.iterrows()):
        lines.append(f"| {md(t.name)} | {md(t.describe())} | {f(t.low)} to {f(t.high)} | {f(r['mean'])} | "
                     f"{f(r['ci_low'])} to {f(r['ci_high'])} | {'yes' if r['inside'] else '**no**'} |")
    lines += ["", "Parameter values (chosen.yaml):", ""]
    for side, vals in result.chosen.items():
        lines.append(f"- {md(side)}: " + (", ".join(f"`{k}` = {v:g}" for k, v in vals.items()) or "none"))
    if result.message:
        lines += ["", md(result.message, 2000)]
    return "\n".join(lines) + "\n"


def write_outputs(cal: Calibration, out: "Path", result: "CalibrationResult") -> None:
    buf = io.BytesIO()
    result.sets.to_parquet(buf, index=False)
    write_atomic(out / "plausible.parquet", buf.getvalue())
    write_atomic(out / "targets.csv", result.targets.to_csv(index=False).encode())
    write_atomic(out / "targets.md", _markdown(cal, result).encode())
    c = result.chosen_set
    head = (f"# Calibration {cal.name}: parameter values of the chosen point (wave {c['wave']}, set {c['set']}, "
            f"{'plausible' if c['plausible'] else 'NOT plausible: the closest simulated set'}), per side.\n"
            "# Each side's mapping holds dotted scenario paths, as --set or a scenario file takes them.\n")
    write_atomic(out / "chosen.yaml", (head + yaml.safe_dump(result.chosen, sort_keys=False)).encode())
