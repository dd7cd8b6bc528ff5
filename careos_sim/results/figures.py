"""Figures of a comparison: weekly time series of both sides, and the paired differences.

Figures are drawn on matplotlib's Agg canvas (no pyplot, no global backend state) and
returned as :class:`matplotlib.figure.Figure`, or saved as PNG by :func:`save_figures`.
Colours are Okabe-Ito, safe for colour-blind readers: A is orange, B is blue, and in the
difference chart a metric is blue where B is better, orange where A is, grey where the 95%
interval includes zero. Lines and markers differ as well, so the figures read in greyscale.

``import careos_sim`` does not import this module; it imports matplotlib when first used.
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import numpy as np
import pandas as pd

from careos_sim.measure.statistics import mean_ci

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from careos_sim.experiment.compare import Comparison

__all__ = ["TIME_SERIES", "FALLBACK_TIME_SERIES", "COLOURS", "OKABE_ITO", "FIGURES", "series_to_plot", "weekly_band",
           "time_series_figure", "differences_figure", "save_figures",
           "time_series_from_frames", "differences_from_frames", "new_figure"]

#: the weekly series drawn by default (those absent from the weekly table are skipped)
TIME_SERIES: tuple[str, ...] = (
    "workforce.burnout_pct",
    "learning.active_defects_end",
    "safety.harm_per_1000_patient_days",
    "effectiveness.missed_care_pct",
    "learning.report_pct",
)
#: added when fewer than two of the requested series exist
FALLBACK_TIME_SERIES: tuple[str, ...] = ("effectiveness.missed_care_pct", "timeliness.call_light_wait_min_mean")

#: Okabe-Ito: side A and "A better" orange, side B and "B better" blue, "neither" grey
COLOURS = {"a": "#E69F00", "b": "#0072B2", "neither": "#999999"}
#: the eight Okabe-Ito colours, for figures with more than two series (orange, sky blue, bluish green,
#: yellow, blue, vermillion, reddish purple, black)
OKABE_ITO = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000")
#: file names of the figures in ``DIR/figures/``
FIGURES = {"time_series": "time_series.png", "differences": "paired_differences.png"}


def new_figure(width: float, height: float) -> Figure:
    """An empty figure on its own Agg canvas (no pyplot state), laid out with constrained layout."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=110, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def series_to_plot(weekly_a: pd.DataFrame, weekly_b: pd.DataFrame, metrics: Sequence[str]) -> list[str]:
    """The requested metrics present in both weekly tables, topped up from the fallbacks if fewer than two."""
    present = [m for m in dict.fromkeys(metrics) if m in weekly_a.columns and m in weekly_b.columns]
    if len(present) < 2:
        present += [m for m in FALLBACK_TIME_SERIES
                    if m not in present and m in weekly_a.columns and m in weekly_b.columns]
    return present


def weekly_band(weekly: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Per week: mean across replications and its 95% CI (columns week, mean, ci_low, ci_high), the
    interval clipped to the values the metric can take (:func:`careos_sim.measure.metrics.value_range`: no
    negative harm or burnout, no share above 100%)."""
    from careos_sim.measure.metrics import value_range

    rows = [(int(week), *mean_ci(group[metric].to_numpy(dtype=float)))
            for week, group in weekly.groupby("week", sort=True)]
    band = pd.DataFrame(rows, columns=["week", "mean", "ci_low", "ci_high"])
    low, high = value_range(metric)
    for column in ("ci_low", "ci_high"):
        band[column] = band[column].clip(low, high)  # NaN (one replication) stays NaN
    return band


def _series_panel(ax: Axes, weekly: dict[str, pd.DataFrame], names: dict[str, str], metric: str, unit: str,
                  title: str | None = None) -> None:
    from matplotlib.ticker import MaxNLocator

    for side, marker, style, z in (("a", "o", "--", 3), ("b", "s", "-", 2)):  # A's dashes stay visible over B
        band = weekly_band(weekly[side], metric)
        x = band["week"] + 1
        ax.plot(x, band["mean"], linestyle=style, marker=marker if len(x) <= 26 else None, markersize=3,
                color=COLOURS[side], zorder=z, label=f"{side.upper()}: {_plain(names[side])}")
        ax.fill_between(x, band["ci_low"], band["ci_high"], color=COLOURS[side], alpha=0.2, linewidth=0)
    ax.set_title(title or metric, fontsize=9)
    ax.set_ylabel(unit)
    ax.set_xlabel("week after warm-up")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)


def time_series_figure(comparison: Comparison, metrics: Sequence[str] = TIME_SERIES) -> Figure | None:
    """Weekly means of both sides with 95% bands, one panel a metric; None when no metric is present."""
    return time_series_from_frames(
        {"a": comparison.a.weekly, "b": comparison.b.weekly},
        {"a": comparison.a.scenario.name, "b": comparison.b.scenario.name},
        dict(zip(comparison.paired["metric"], comparison.paired["unit"])),
        comparison.replications, metrics)


def time_series_from_frames(weekly: dict[str, pd.DataFrame], names: dict[str, str], units: dict[str, str],
                            replications: int, metrics: Sequence[str] = TIME_SERIES,
                            titles: dict[str, str] | None = None) -> Figure | None:
    """The same figure from saved tables: each side's weekly rows (``weekly["a"]``, ``weekly["b"]``), the sides'
    names, each metric's unit; ``titles`` replaces a panel's title (the metric name by default)."""
    chosen = series_to_plot(weekly["a"], weekly["b"], metrics)
    if not chosen:
        return None
    ncols = 1 if len(chosen) == 1 else 2
    nrows = math.ceil(len(chosen) / ncols)
    fig = new_figure(5.0 * ncols, 2.8 * nrows + 0.6)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, metric in zip(axes, chosen):
        _series_panel(ax, weekly, names, metric, units.get(metric, ""), (titles or {}).get(metric))
    for ax in axes[len(chosen):]:
        ax.set_visible(False)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=2, frameon=False)
    fig.suptitle(_series_title(weekly["a"], replications), fontsize=10)
    return fig


def _plain(name: object) -> str:
    """A user's name for a figure title: control characters shown as escapes, no maths parsing
    of ``$``, at most 60 characters."""
    from careos_sim.text import for_terminal

    return for_terminal(name, 60).replace("$", r"\$")


def _series_title(weekly: pd.DataFrame, n: int) -> str:
    title = f"Weekly mean of {n} replication{'s' if n != 1 else ''} (shaded: 95% CI)"
    last = weekly.sort_values("week").tail(1)
    if not last.empty and last["days"].iloc[0] < 7 - 1e-9:
        days = last["days"].iloc[0]
        title += f"; week {int(last['week'].iloc[0]) + 1} has {days:g} day{'s' if days != 1 else ''}"
    return title


def _percent_of_a(paired: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Metrics with a direction, B - A and its CI as % of |A's mean|; and the ones that cannot be shown."""
    rows = paired[paired["direction"].isin(["lower", "higher"])].copy()
    scale = 100.0 / rows["a_mean"].abs()
    for k in ("mean", "ci_low", "ci_high"):
        rows[f"pct_{k}"] = rows[f"diff_{k}"] * scale
    ok = np.isfinite(rows["pct_mean"].to_numpy(dtype=float))
    return rows[ok].sort_values(["pct_mean", "metric"]), list(rows.loc[~ok, "metric"])


def _legend_labels(names: dict[str, str]) -> dict[str, str]:
    return {"b": f"B better ({_plain(names['b'])})", "a": f"A better ({_plain(names['a'])})",
            "neither": "neither (95% CI includes 0)"}


MAX_PERCENT = 150.0  # widest x axis; larger relative changes are drawn at the edge with an arrowhead


def _x_limit(rows: pd.DataFrame) -> float:
    """Half-width of the x axis: every interval, unless one is far wider than the largest difference."""
    means = rows["pct_mean"].abs().to_numpy(dtype=float)
    ends = rows[["pct_ci_low", "pct_ci_high"]].abs().to_numpy(dtype=float)
    extent = np.nanmax(np.concatenate([means, ends.ravel()]))
    typical = np.nanquantile(means, 0.9)  # one huge relative change (A's mean near 0) must not flatten the rest
    return 1.08 * max(min(extent, max(1.5 * typical, 5.0), MAX_PERCENT), 1.0)


def _draw_intervals(ax: Axes, rows: pd.DataFrame, lim: float, labels: dict[str, str]) -> None:
    """Points and CI bars, clipped at +-lim with an arrowhead where an interval goes on."""
    y = np.arange(len(rows))
    mean = np.clip(rows["pct_mean"].to_numpy(dtype=float), -lim, lim)
    low = np.clip(rows["pct_ci_low"].fillna(rows["pct_mean"]).to_numpy(dtype=float), -lim, lim)
    high = np.clip(rows["pct_ci_high"].fillna(rows["pct_mean"]).to_numpy(dtype=float), -lim, lim)
    for side in ("b", "a", "neither"):
        sel = (rows["better"] == side).to_numpy()
        ax.errorbar(mean[sel], y[sel], xerr=[mean[sel] - low[sel], high[sel] - mean[sel]], fmt="o",
                    color=COLOURS[side], capsize=3, markersize=5, label=labels[side] if sel.any() else None)
        for edge, marker in ((-lim, "<"), (lim, ">")):
            hit = sel & ((low == edge) if edge < 0 else (high == edge))
            ax.plot(np.full(hit.sum(), edge), y[hit], marker=marker, linestyle="none", color=COLOURS[side],
                    clip_on=False)
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-0.6, len(rows) - 0.4)


def _label_rows(ax: Axes, rows: pd.DataFrame) -> None:
    """Metric names with units on the left, B - A in the metric's own unit on the right."""
    ax.set_yticks(np.arange(len(rows)), [f"{m} ({u})" for m, u in zip(rows["metric"], rows["unit"])], fontsize=8)
    for yi, (d, u) in enumerate(zip(rows["diff_mean"], rows["unit"])):
        ax.annotate(f"{d:+.3g} {'pp' if u == '%' else u}", (1.0, yi), xycoords=("axes fraction", "data"),
                    xytext=(10, 0), textcoords="offset points", va="center", fontsize=7, color="#444444")


def differences_figure(comparison: Comparison) -> Figure | None:
    """B - A as % of A's mean with 95% CI, one row a metric with a direction, coloured by the better side."""
    return differences_from_frames(comparison.paired,
                                   {"a": comparison.a.scenario.name, "b": comparison.b.scenario.name},
                                   comparison.replications)


def differences_from_frames(paired: pd.DataFrame, names: dict[str, str], replications: int) -> Figure | None:
    """The same figure from a saved paired table (``comparison.csv``: columns PAIRED_COLUMNS)."""
    rows, hidden = _percent_of_a(paired)
    if rows.empty:
        return None
    fig = new_figure(12.0, 0.3 * len(rows) + 2.2)
    ax = fig.add_subplot()
    _draw_intervals(ax, rows, _x_limit(rows), _legend_labels(names))
    _label_rows(ax, rows)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.grid(axis="x", alpha=0.3)
    ax.set_xlabel("B - A as % of A's mean (paired, 95% CI; an arrowhead: the value or interval goes on)\n"
                  "right: B - A in the metric's unit (pp: percentage points)")
    ax.set_title(f"B: {_plain(names['b'])} vs A: {_plain(names['a'])}, {replications} paired replications",
                 fontsize=10)
    fig.legend(loc="outside lower center", ncols=3, fontsize=8, frameon=False)
    if hidden:
        note = "not shown (A's mean is 0 or undefined): " + ", ".join(hidden)
        fig.supxlabel(textwrap.fill(note, 150), fontsize=7, x=0.01, ha="left")
    return fig


def save_figures(comparison: Comparison, folder: str | Path,
                 metrics: Sequence[str] = TIME_SERIES) -> list[Path]:
    """Write the comparison's figures as PNG files in ``folder``; returns the files written."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for key, fig in (("time_series", time_series_figure(comparison, metrics)),
                     ("differences", differences_figure(comparison))):
        if fig is not None:
            path = folder / FIGURES[key]
            fig.savefig(path, format="png")
            written.append(path)
    return written
