"""The report of a single scenario's folder (``careos-sim run FILE --out DIR``), from saved files only.

Reads ``manifest.json``, ``summary.csv``, ``weekly.parquet`` and ``scenario.yaml``: every
outcome by dimension with its 95% CI, the weekly series, and the reproducibility section.
A run has nothing to compare with, so no outcome is called better or worse.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from careos_sim.results.figures import COLOURS, TIME_SERIES, new_figure, weekly_band
from careos_sim.report.common import (DIMENSIONS, dimension_of, fmt, folder_issue, interval, plain, reproducibility_blocks)
from careos_sim.measure.labels import label
from careos_sim.report.units import run_units_blocks
from careos_sim.report.document import (NAME_LIMIT, Block, Bullets, Heading, Image, Note, Para, Table, code, for_plot,
                                        literal, png_bytes)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["run_blocks", "run_series_figure"]


def run_series_figure(weekly: pd.DataFrame, units: dict[str, str], name: str, replications: int) -> Figure | None:
    """Weekly mean of one scenario with its 95% band, one panel a metric of plots.TIME_SERIES present."""
    from matplotlib.ticker import MaxNLocator

    metrics = [m for m in TIME_SERIES if m in weekly.columns]
    if not metrics or not len(weekly):
        return None
    ncols = 1 if len(metrics) == 1 else 2
    fig = new_figure(5.0 * ncols, 2.8 * math.ceil(len(metrics) / ncols) + 0.6)
    axes = fig.subplots(math.ceil(len(metrics) / ncols), ncols, squeeze=False).ravel()
    for ax in axes[len(metrics):]:
        ax.set_visible(False)
    for ax, metric in zip(axes, metrics):
        band = weekly_band(weekly, metric)
        x = band["week"] + 1
        ax.plot(x, band["mean"], color=COLOURS["b"], label=name)
        ax.fill_between(x, band["ci_low"], band["ci_high"], color=COLOURS["b"], alpha=0.2, linewidth=0)
        ax.set_title(label(metric), fontsize=9)
        ax.set_ylabel(units.get(metric, ""))
        ax.set_xlabel("week after warm-up")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    fig.suptitle(f"{name}: weekly mean of {replications} replications (shaded: 95% CI)", fontsize=10)
    return fig


def run_blocks(folder: Path, manifest: dict[str, Any]) -> tuple[str, list[Block]]:
    path = folder / "summary.csv"
    if not path.is_file():
        raise folder_issue(path, "not found: a run's folder must hold its summary", str(folder), path="<file>")
    try:
        summary = pd.read_csv(path)
    except Exception as exc:
        raise folder_issue(path, f"cannot be read as CSV: {exc}", str(path), path="<file>") from None
    missing = [c for c in ("metric", "mean", "ci_low", "ci_high", "unit") if c not in summary.columns]
    if missing:
        raise folder_issue(path, f"missing columns: {', '.join(missing)}", list(summary.columns), path="<file>")
    summary["unit"] = summary["unit"].fillna("").astype(str)
    problems: list[str] = []
    name = Path(str(manifest.get("scenario", folder.name))).stem
    try:
        import yaml

        scenario = yaml.safe_load((folder / "scenario.yaml").read_text(encoding="utf-8"))
        name = scenario.get("name", name) if isinstance(scenario, dict) else name
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        problems.append(f"`scenario.yaml` cannot be read ({literal(exc)})")
    weekly = None
    try:
        weekly = pd.read_parquet(folder / "weekly.parquet")
    except Exception as exc:
        problems.append(f"`weekly.parquet` cannot be read ({type(exc).__name__})")
    n = manifest.get("replications")
    plot_name, name = for_plot(name), literal(name, NAME_LIMIT)  # the scenario's name is the user's
    scenario_file = code(manifest.get("scenario", "not recorded"))
    blocks: list[Block] = []
    if problems:
        blocks.append(Note("This folder is incomplete, so parts of the report are missing: " + "; ".join(problems)
                           + "."))
    blocks += [Heading(2, "Brief", "brief"),
               Para(f"One scenario, **{name}** ({scenario_file}): {plain(n)} replications "
                    f"of {plain(manifest.get('horizon_days'))} simulated days (after {plain(manifest.get('warmup_days'))} "
                    f"days warm-up), seed {plain(manifest.get('seed'))}. Means over replications with 95% confidence "
                    "intervals. To see what a change does, compare two scenarios on common random numbers "
                    "(`careos-sim compare A B --out DIR`) and report that folder.")]
    from careos_sim.experiment.precision import table_warnings  # replications, horizon, headline intervals (docs/model.md, 4)

    caveats = table_warnings(n, manifest.get("horizon_days"), summary)
    if caveats:
        blocks += [Heading(3, "Caveats", "brief-caveats"), Bullets(caveats)]
    rows, classes = [], []
    order = {d: i for i, d in enumerate(DIMENSIONS.values())}
    scored = summary.assign(dimension=summary["metric"].map(dimension_of)).dropna(subset=["dimension"])
    scored = scored.assign(_o=scored["dimension"].map(order)).sort_values("_o", kind="stable")
    for dim, g in scored.groupby("dimension", sort=False):
        rows.append([dim, "", "", ""])
        classes.append("group")
        rows += [[label(r["metric"]), r["unit"], fmt(r["mean"]), interval(r["ci_low"], r["ci_high"])]
                 for r in g.to_dict("records")]
        classes += [None] * len(g)
    blocks += [Heading(2, "Outcomes", "outcomes"),
               Table(["outcome", "unit", "mean", "95% CI"], rows, classes, numeric={2, 3})]
    blocks += run_units_blocks(folder)
    if weekly is not None:
        fig = run_series_figure(weekly, dict(zip(summary["metric"], summary["unit"])), plot_name, int(n or 0))
        if fig is not None:
            blocks += [Heading(2, "Over time", "time-series"),
                       Image("run_time_series.png", png_bytes(fig), "Weekly series with 95% bands",
                             "Weekly mean over replications with its 95% band.")]
    settings = [("kind", "run: replications of one scenario"),
                ("scenario", f"{scenario_file} ({name})"),
                ("replications", plain(n)), ("seed", plain(manifest.get("seed"))),
                ("horizon", f"{plain(manifest.get('horizon_days'))} days after the warm-up"),
                ("warm-up", f"{plain(manifest.get('warmup_days'))} days")]
    resolved = {"scenario.yaml": manifest["resolved_scenario_sha256"]} if manifest.get("resolved_scenario_sha256") \
        else None
    blocks += reproducibility_blocks(folder, manifest, settings, resolved)
    return f"Run: {literal(Path(str(manifest.get('scenario', folder.name))).name, NAME_LIMIT)} ({name})", blocks
