"""The report of a sweep folder (``careos-sim sweep EXP --out DIR``), from saved files only.

Reads the store with :func:`careos_sim.experiment.sweep.load_store` and analyses it with
:func:`careos_sim.experiment.analysis.analyze` (both only read the folder), then draws, by design:

- factorial and fractional factorial: main-effect plots (mean at each level), effect estimates
  with 95% CIs (main effects and two-way interactions), and interaction plots of the largest
  interactions;
- grids: heatmaps of each metric over a two-factor grid (a line per level otherwise), and the
  weekly series of each point when the sweep kept them and the points are few;
- Sobol: S1 and ST with their bootstrap intervals; Morris: mu* with its interval (and sigma);
  Latin hypercube: partial rank correlations with their intervals;

and, for every design, the ranking of factors per metric. A sweep that is incomplete, or has
failed runs, is reported as far as its finished runs allow, and the report says what is missing.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from careos_sim.measure.metrics import BY_NAME
from careos_sim.results.figures import OKABE_ITO, new_figure
from careos_sim.report.common import fmt, interval, plain, reproducibility_blocks, signed, with_unit
from careos_sim.measure.labels import label
from careos_sim.report.document import (
    NAME_LIMIT, Block, Bullets, Code, Heading, Image, Note, Para, Table, code, literal, png_bytes,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from careos_sim.experiment.analysis import Analysis
    from careos_sim.experiment.sweep import Store

__all__ = ["sweep_blocks", "sweep_figures", "DESIGN_WORDS"]

DESIGN_WORDS = {
    "grid": "a grid: every combination of the factors' levels",
    "factorial": "a full two-level factorial: every combination of each factor's low and high level",
    "fractional_factorial": "a fractional two-level factorial: a balanced fraction of the combinations",
    "lhs": "a Latin hypercube sample of the factors' ranges",
    "sobol": "a Saltelli sample of the factors' ranges for variance-based (Sobol) indices",
    "morris": "Morris trajectories through the factors' ranges (elementary effects)",
}
#: better / worse / no detectable effect, Okabe-Ito (bluish green, vermillion, grey)
EFFECT_COLOURS = {"better": "#009E73", "worse": "#D55E00", "neither": "#999999"}
MAX_SERIES_POINTS = 8  # weekly series are drawn for grids of at most this many points
MAX_SERIES_METRICS = 6
MAX_BAND_POINTS = 4  # with more lines, 95% bands hide each other
#: Okabe-Ito for lines on white: yellow last, as it is the hardest to see
LINE_COLOURS = tuple(c for c in OKABE_ITO if c != "#F0E442") + ("#F0E442",)


def _unit(metric: str) -> str:
    m = BY_NAME.get(metric)
    return m.unit if m else ""


def _direction(metric: str) -> str | None:
    m = BY_NAME.get(metric)
    return m.direction if m else None


def _metric_title(metric: str) -> str:
    unit = _unit(metric)
    return f"{label(metric)} ({unit})" if unit else label(metric)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower()


def _factor_values(f: dict[str, Any]) -> str:
    if f.get("levels") is not None:
        return literal(", ".join(plain(v) for v in f["levels"]))
    return literal(f"{plain(f.get('low'))} to {plain(f.get('high'))}")


def _metrics(store: Store) -> list[str]:
    return [m for m in store.manifest.get("metrics", []) if m in store.runs.columns]


def _wrap(text: str, width: int = 38) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width)) or text


def _grid_of_axes(fig: Figure, n: int, ncols: int) -> list[Axes]:
    nrows = math.ceil(n / ncols)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes[n:]:
        ax.set_visible(False)
    return list(axes[:n])


# --------------------------------------------------------------------------- factorial


def _levels(store: Store) -> dict[str, tuple[Any, Any]]:
    out = {}
    for f in store.manifest.get("factors", []):
        lv = f.get("levels") or [f.get("low"), f.get("high")]
        out[f["name"]] = (lv[0], lv[1])
    return out


def _is_high(values: pd.Series, high: Any, kind: str) -> np.ndarray:
    if kind == "bundle":
        return (values.astype(str) == str(high)).to_numpy()
    return np.isclose(values.astype(float).to_numpy(), float(high))


def _level_means(store: Store, metric: str, factor: str, kind: str, high: Any) -> tuple[float, float]:
    """Mean of the metric over the finished runs at the factor's low and at its high level."""
    ok = store.ok
    hi = _is_high(ok[factor], high, kind)
    return float(ok.loc[~hi, metric].mean()), float(ok.loc[hi, metric].mean())


def _wrap_name(name: str, width: int = 14) -> str:
    """A factor name broken at underscores to fit ``width`` characters a line."""
    lines, line = [], ""
    for part in name.split("_"):
        piece = part if not line else f"{line}_{part}"
        if line and len(piece) > width:
            lines.append(line + "_")
            line = part
        else:
            line = piece
    return "\n".join([*lines, line])


def main_effects_figure(store: Store, effects: pd.DataFrame | None = None) -> Figure | None:
    """Mean at each factor's low and high level, a panel a metric; each factor's line coloured by its main effect
    (green: improves the outcome, vermillion: worsens it, grey: the paired 95% CI of the effect includes 0)."""
    metrics = _metrics(store)
    factors = store.manifest.get("factors", [])
    if not metrics or not factors or not len(store.ok):
        return None
    levels = _levels(store)
    sides: dict[tuple[str, str], str] = {}
    if effects is not None and len(effects):
        for r in effects[effects["order"] == 1].to_dict("records"):
            sides[(r["metric"], r["term"])] = _effect_side(r)
    ncols = 1 if len(metrics) == 1 else 2
    width = max(5.5, 0.95 * len(factors) + 2.5)
    fig = new_figure(width * ncols, 3.4 * math.ceil(len(metrics) / ncols) + 0.9)
    for ax, metric in zip(_grid_of_axes(fig, len(metrics), ncols), metrics):
        for i, f in enumerate(factors):
            low, high = _level_means(store, metric, f["name"], f["kind"], levels[f["name"]][1])
            side = sides.get((metric, f["name"]), "neither")
            ax.plot([i - 0.25, i + 0.25], [low, high], color=EFFECT_COLOURS[side], linewidth=2,
                    linestyle="-" if side != "neither" else "--")
            ax.plot([i - 0.25], [low], "o", color=EFFECT_COLOURS[side], markersize=5)
            ax.plot([i + 0.25], [high], "s", color=EFFECT_COLOURS[side], markersize=5)
        ax.set_xticks(range(len(factors)), [f"{_wrap_name(f['name'])}\n{plain(levels[f['name']][0])} \u2192 "
                                            f"{plain(levels[f['name']][1])}" for f in factors], fontsize=7)
        ax.set_xlim(-0.6, len(factors) - 0.4)
        ax.set_ylabel(_unit(metric))
        direction = _direction(metric)
        ax.set_title(label(metric) + (f" ({direction} is better)" if direction else ""), fontsize=9)
        ax.grid(axis="y", alpha=0.3)
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], color=EFFECT_COLOURS["better"], linewidth=2, label="improves the outcome"),
               Line2D([], [], color=EFFECT_COLOURS["worse"], linewidth=2, label="worsens the outcome"),
               Line2D([], [], color=EFFECT_COLOURS["neither"], linewidth=2, linestyle="--",
                      label="no detectable effect (paired 95% CI includes 0)")]
    fig.legend(handles=handles, loc="outside lower center", ncols=3, fontsize=8, frameon=False)
    fig.suptitle("Main effects: mean over runs at each factor's low (circle) and high (square) level",
                 fontsize=10)
    return fig


def negligible(x: float, scale: float = 1.0) -> bool:
    """Zero up to floating-point rounding (an effect summed from identical runs is 1e-15, not 0)."""
    return bool(abs(x) <= 1e-9 * max(1.0, abs(scale)))


def _clean_effects(effects: pd.DataFrame | None, store: Store) -> pd.DataFrame | None:
    """Effects and their interval ends that are zero up to rounding set to exactly 0."""
    if effects is None or not len(effects):
        return effects
    out = effects.copy()
    scale = {m: float(store.ok[m].abs().mean()) if m in store.ok.columns and len(store.ok) else 1.0
             for m in out["metric"].unique()}
    for col in ("effect", "ci_low", "ci_high"):
        values = out[col].to_numpy(dtype=float)
        tiny = np.array([negligible(v, scale[m]) if math.isfinite(v) else False
                         for v, m in zip(values, out["metric"])])
        out.loc[tiny, col] = 0.0
    return out


def _effect_side(row: dict[str, Any]) -> str:
    lo, hi, direction = row["ci_low"], row["ci_high"], row.get("direction")
    if direction not in ("lower", "higher") or not (math.isfinite(lo) and math.isfinite(hi)) or lo <= 0 <= hi:
        return "neither"
    up = lo > 0
    return "better" if up == (direction == "higher") else "worse"


def effects_figure(effects: pd.DataFrame, top: int = 12, order: list[str] | None = None) -> Figure | None:
    if effects is None or not len(effects):
        return None
    present = list(dict.fromkeys(effects["metric"]))
    metrics = [m for m in order or [] if m in present] + [m for m in present if m not in (order or [])]
    ncols = 1 if len(metrics) == 1 else 2
    per_panel = min(top, int(effects.groupby("metric").size().max()))
    fig = new_figure(6.0 * ncols, (0.28 * per_panel + 1.3) * math.ceil(len(metrics) / ncols) + 0.8)
    for ax, metric in zip(_grid_of_axes(fig, len(metrics), ncols), metrics):
        rows = effects[effects["metric"] == metric].copy()
        rows["abs"] = rows["effect"].abs()
        if not (rows["abs"] > 0).any():
            ax.text(0.5, 0.5, "no term changes this metric in these runs\n(every effect is 0)", ha="center",
                    va="center", transform=ax.transAxes, fontsize=8, color="#444444")
            ax.set_yticks([])
            ax.set_title(label(metric), fontsize=9)
            continue
        rows = rows.sort_values("abs", ascending=False).head(top).iloc[::-1]
        y = np.arange(len(rows))
        for yi, r in zip(y, rows.to_dict("records")):
            side = _effect_side(r)
            xerr = None
            if math.isfinite(r["ci_low"]) and math.isfinite(r["ci_high"]):
                xerr = [[r["effect"] - r["ci_low"]], [r["ci_high"] - r["effect"]]]
            ax.barh([yi], [r["effect"]], color=EFFECT_COLOURS[side], alpha=0.85 if r["order"] == 1 else 0.5,
                    hatch="" if r["order"] == 1 else "//", edgecolor=EFFECT_COLOURS[side])
            if xerr is not None:
                ax.errorbar([r["effect"]], [yi], xerr=xerr, fmt="none", ecolor="black", capsize=2.5, linewidth=0.9)
        ax.set_yticks(y, [t.replace(":", " \u00d7 ") for t in rows["term"]], fontsize=7.5)
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_xlabel(f"effect, low \u2192 high ({_unit(metric)})", fontsize=8)
        ax.set_title(label(metric), fontsize=9)
        ax.grid(axis="x", alpha=0.3)
    from matplotlib.patches import Patch

    handles = [Patch(facecolor=EFFECT_COLOURS["better"], label="improves the outcome (95% CI excludes 0)"),
               Patch(facecolor=EFFECT_COLOURS["worse"], label="worsens the outcome (95% CI excludes 0)"),
               Patch(facecolor=EFFECT_COLOURS["neither"], label="no detectable effect"),
               Patch(facecolor="white", edgecolor="black", hatch="//", label="two-way interaction (hatched)")]
    fig.legend(handles=handles, loc="outside lower center", ncols=2, fontsize=8, frameon=False)
    fig.suptitle("Effects with 95% CIs: main effects (solid) and two-way interactions (hatched), largest first",
                 fontsize=10)
    return fig


def interactions_figure(store: Store, effects: pd.DataFrame, per_metric: int = 2) -> Figure | None:
    if effects is None or not len(effects):
        return None
    pairs = effects[effects["order"] == 2].copy()
    if not len(pairs):
        return None
    pairs["abs"] = pairs["effect"].abs()
    pairs = pairs[pairs["abs"] > 0]  # an interaction estimated as zero has nothing to show
    if not len(pairs):
        return None
    chosen = (pairs.sort_values("abs", ascending=False).groupby("metric", sort=False).head(per_metric)
              .sort_values(["metric", "abs"], ascending=[True, False]))
    metric_order = [m for m in _metrics(store) if m in set(chosen["metric"])]
    chosen = pd.concat([chosen[chosen["metric"] == m] for m in metric_order])
    kinds = {f["name"]: f["kind"] for f in store.manifest.get("factors", [])}
    levels = _levels(store)
    ok = store.ok
    n = len(chosen)
    ncols = 2 if n > 1 else 1
    fig = new_figure(4.4 * ncols, 3.0 * math.ceil(n / ncols) + 0.6)
    for ax, r in zip(_grid_of_axes(fig, n, ncols), chosen.to_dict("records")):
        fa, fb = r["term"].split(":")
        ha, hb = _is_high(ok[fa], levels[fa][1], kinds[fa]), _is_high(ok[fb], levels[fb][1], kinds[fb])
        for j, (mask_b, style) in enumerate(((~hb, "--"), (hb, "-"))):
            means = [ok[(ha == a) & mask_b][r["metric"]].mean() for a in (False, True)]
            ax.plot([0, 1], means, linestyle=style, marker="os"[j], color=OKABE_ITO[4 if j else 0],
                    label=f"{fb} = {plain(levels[fb][j])}", zorder=3 - j)  # the dashed line stays visible on top
        ax.set_xticks([0, 1], [plain(levels[fa][0]), plain(levels[fa][1])])
        ax.set_xlim(-0.3, 1.3)
        ax.set_xlabel(fa, fontsize=8)
        ax.set_ylabel(_unit(r["metric"]), fontsize=8)
        times = " \u00d7 "
        alias = f" = {str(r['aliases']).replace(':', times)}" if str(r.get("aliases") or "") else ""
        ax.set_title(_wrap(f"{label(r['metric'])}: {fa} \u00d7 {fb}{alias} (interaction {signed(r['effect'])}, "
                           f"95% CI {interval(r['ci_low'], r['ci_high'], sign=True)})", 52), fontsize=8)
        ax.legend(fontsize=7, frameon=False)
        ax.grid(alpha=0.3)
    fig.suptitle("Interaction plots: mean over runs; lines that are not parallel mean the effect of one factor "
                 "depends on the other", fontsize=9.5)
    return fig


# --------------------------------------------------------------------------- grids


def heatmap_figure(grid: pd.DataFrame, factors: list[str]) -> Figure | None:
    """Two-factor grids: one heatmap a metric (rows: first factor, columns: second)."""
    if grid is None or not len(grid) or len(factors) != 2:
        return None
    fr, fc = factors
    metrics = list(dict.fromkeys(grid["metric"]))
    rows_levels = list(dict.fromkeys(grid.sort_values("point")[fr]))
    col_levels = list(dict.fromkeys(grid.sort_values("point")[fc]))
    ncols = 1 if len(metrics) == 1 else 2
    cell_w = max(4.5, 0.9 * len(col_levels) + 2.5)
    fig = new_figure(cell_w * ncols, (0.45 * len(rows_levels) + 1.6) * math.ceil(len(metrics) / ncols) + 0.6)
    for ax, metric in zip(_grid_of_axes(fig, len(metrics), ncols), metrics):
        g = grid[grid["metric"] == metric]
        table = np.full((len(rows_levels), len(col_levels)), np.nan)
        half = np.full_like(table, np.nan)
        for r in g.to_dict("records"):
            i, j = rows_levels.index(r[fr]), col_levels.index(r[fc])
            table[i, j] = r["mean"]
            half[i, j] = (r["ci_high"] - r["ci_low"]) / 2
        direction = _direction(metric)
        cmap = "cividis_r" if direction == "lower" else "cividis"  # the better end is always the light one
        im = ax.imshow(table, cmap=cmap, aspect="auto")
        finite = table[np.isfinite(table)]
        mid = (finite.min() + finite.max()) / 2 if finite.size else 0
        for i in range(table.shape[0]):
            for j in range(table.shape[1]):
                v = table[i, j]
                text = "not run" if not math.isfinite(v) else fmt(v) + (
                    f"\n\u00b1{fmt(half[i, j])}" if math.isfinite(half[i, j]) else "")
                dark = math.isfinite(v) and ((v < mid) != (direction == "lower"))
                ax.text(j, i, text, ha="center", va="center", fontsize=7.5, color="white" if dark else "black")
        ax.set_xticks(range(len(col_levels)), [plain(v) for v in col_levels], fontsize=8)
        ax.set_yticks(range(len(rows_levels)), [plain(v) for v in rows_levels], fontsize=8)
        ax.set_xlabel(fc, fontsize=8)
        ax.set_ylabel(fr, fontsize=8)
        ax.set_title(label(metric) + (f" ({direction} is better)" if direction else ""), fontsize=9)
        bar = fig.colorbar(im, ax=ax, shrink=0.9)
        bar.set_label(_unit(metric), fontsize=8)
    fig.suptitle("Mean over replications at each grid point (\u00b1 half the 95% CI); lighter is better",
                 fontsize=10)
    return fig


def grid_lines_figure(grid: pd.DataFrame, factors: list[str], kinds: dict[str, str] | None = None) -> Figure | None:
    """Grids of one factor, or more than two: each factor's marginal means (a line per factor)."""
    if grid is None or not len(grid) or not factors:
        return None
    metrics = list(dict.fromkeys(grid["metric"]))
    ncols = 1 if len(metrics) == 1 else 2
    fig = new_figure(5.5 * ncols, 3.2 * math.ceil(len(metrics) / ncols) + 0.6)
    for ax, metric in zip(_grid_of_axes(fig, len(metrics), ncols), metrics):
        g = grid[grid["metric"] == metric]
        if len(factors) == 1:
            f = factors[0]
            x = np.arange(len(g))
            named = (kinds or {}).get(f) == "bundle"  # named levels have no order: points, not a line
            ax.errorbar(x, g["mean"], yerr=[g["mean"] - g["ci_low"], g["ci_high"] - g["mean"]],
                        fmt="o" if named else "o-", color=OKABE_ITO[4], capsize=3, markersize=6)
            ax.set_xlim(-0.5, len(x) - 0.5)
            ax.set_xticks(x, [plain(v) for v in g[f]], fontsize=8)
            ax.set_xlabel(f, fontsize=8)
        else:
            offset = 0
            ticks, names = [], []
            for i, f in enumerate(factors):
                marginal = g.groupby(f, sort=False)["mean"].mean()
                x = offset + np.arange(len(marginal))
                style = "o" if (kinds or {}).get(f) == "bundle" else "o-"
                ax.plot(x, marginal.to_numpy(), style, color=LINE_COLOURS[i % len(LINE_COLOURS)])
                ticks += list(x)
                names += [f"{f}={plain(v)}" for v in marginal.index]
                offset += len(marginal) + 1
            ax.set_xticks(ticks, names, fontsize=7, rotation=45, ha="right")
        ax.set_ylabel(_unit(metric))
        ax.set_title(label(metric), fontsize=9)
        ax.grid(alpha=0.3)
    fig.suptitle("Mean over replications at each level" + (" (95% CI)" if len(factors) == 1 else
                                                           " (marginal means over the other factors)"), fontsize=10)
    return fig


def _point_names(store: Store) -> dict[int, str]:
    names = {}
    for r in store.design.to_dict("records"):
        names[int(r["point"])] = ", ".join(f"{plain(r[f])}" if len(store.factors) == 1 else f"{f}={plain(r[f])}"
                                           for f in store.factors)
    return names


def weekly_figure(store: Store) -> Figure | None:
    """Weekly mean of each point with a 95% band (grids of few points that kept weekly series)."""
    from careos_sim.results.figures import weekly_band

    weekly = store.weekly
    metrics = [m for m in _metrics(store) if m in weekly.columns][:MAX_SERIES_METRICS]
    if not len(weekly) or not metrics or len(store.design) > MAX_SERIES_POINTS:
        return None
    from matplotlib.ticker import MaxNLocator

    names = _point_names(store)
    bands = len(store.design) <= MAX_BAND_POINTS
    ncols = 1 if len(metrics) == 1 else 2
    fig = new_figure(5.4 * ncols, 2.9 * math.ceil(len(metrics) / ncols) + 0.5 + 0.25 * math.ceil(len(names) / 2))
    styles = ["-", "--", "-.", ":"]
    for ax, metric in zip(_grid_of_axes(fig, len(metrics), ncols), metrics):
        for i, (point, g) in enumerate(weekly.groupby("point", sort=True)):
            band = weekly_band(g, metric)
            x = band["week"] + 1
            colour = LINE_COLOURS[i % len(LINE_COLOURS)]
            ax.plot(x, band["mean"], color=colour, linestyle=styles[i % len(styles)], linewidth=1.6,
                    marker="o" if len(x) <= 8 else None, markersize=3, label=names.get(int(point)))
            if bands:
                ax.fill_between(x, band["ci_low"], band["ci_high"], color=colour, alpha=0.15, linewidth=0)
        ax.set_title(label(metric), fontsize=9)
        ax.set_ylabel(_unit(metric))
        ax.set_xlabel("week after warm-up")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    handles, labels = fig.axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=2 if ncols > 1 else 1, fontsize=8, frameon=False)
    fig.suptitle("Weekly mean over replications at each design point"
                 + (" (shaded: 95% CI)" if bands else f" (95% bands drawn for at most {MAX_BAND_POINTS} points)"),
                 fontsize=10)
    return fig


# --------------------------------------------------------------------------- sensitivity indices


def _index_panels(table: pd.DataFrame, series: list[tuple[str, str, str, str]], xlabel: str, title: str,
                  signed_axis: bool = False) -> Figure | None:
    """Horizontal bars of one or more indices per factor with their intervals, one panel a metric.

    ``series``: (column, low column, high column, legend label)."""
    if table is None or not len(table):
        return None
    metrics = list(dict.fromkeys(table["metric"]))
    n_factors = int(table.groupby("metric").size().max())
    ncols = 1 if len(metrics) == 1 else 2
    fig = new_figure(5.6 * ncols, (0.32 * n_factors * max(1, len(series) * 0.7) + 1.4)
                     * math.ceil(len(metrics) / ncols) + 0.7)
    height = 0.8 / len(series)
    colours = [OKABE_ITO[4], OKABE_ITO[0], OKABE_ITO[2]]
    for ax, metric in zip(_grid_of_axes(fig, len(metrics), ncols), metrics):
        rows = table[table["metric"] == metric].copy()
        rows = rows.sort_values(series[-1][0], key=lambda s: s.abs(), ascending=True, na_position="first")
        y = np.arange(len(rows))
        for k, (col, lo, hi, name) in enumerate(series):
            pos = y + (k - (len(series) - 1) / 2) * height
            vals = rows[col].to_numpy(dtype=float)
            ax.barh(pos, np.nan_to_num(vals), height=height, color=colours[k % len(colours)], label=name,
                    hatch="" if k == len(series) - 1 else "..", edgecolor="white" if k == len(series) - 1 else "black",
                    linewidth=0.4)
            if lo and hi:
                low, high = rows[lo].to_numpy(dtype=float), rows[hi].to_numpy(dtype=float)
                ok = np.isfinite(low) & np.isfinite(high) & np.isfinite(vals)
                ax.errorbar(vals[ok], pos[ok], xerr=[vals[ok] - low[ok], high[ok] - vals[ok]], fmt="none",
                            ecolor="black", capsize=2.5, linewidth=0.9)
        ax.set_yticks(y, list(rows["factor"]), fontsize=8)
        ax.axvline(0, color="black", linewidth=0.8)
        if signed_axis:
            ax.set_xlim(-1.05, 1.05)
        ax.set_xlabel(xlabel.format(unit=_unit(metric)), fontsize=8)
        ax.set_title(label(metric), fontsize=9)
        ax.grid(axis="x", alpha=0.3)
    handles, labels = fig.axes[0].get_legend_handles_labels()
    if len(series) > 1:
        fig.legend(handles, labels, loc="outside lower center", ncols=len(series), fontsize=8, frameon=False)
    fig.suptitle(title, fontsize=10)
    return fig


def sobol_figure(table: pd.DataFrame) -> Figure | None:
    return _index_panels(table, [("S1", "S1_ci_low", "S1_ci_high", "first order S1"),
                                 ("ST", "ST_ci_low", "ST_ci_high", "total ST")],
                         "Sobol index (share of output variance; estimates can fall outside 0 to 1)",
                         "Sobol indices with 95% bootstrap intervals, factors by total index")


def morris_figure(table: pd.DataFrame) -> Figure | None:
    return _index_panels(table, [("mu_star", "mu_star_ci_low", "mu_star_ci_high", "mu*")],
                         "mu*: mean |elementary effect| over the range ({unit})",
                         "Morris screening: mu* with 95% bootstrap intervals, most influential factor on top")


def prcc_figure(table: pd.DataFrame) -> Figure | None:
    return _index_panels(table, [("prcc", "ci_low", "ci_high", "PRCC")],
                         "partial rank correlation coefficient (-1 to 1)",
                         "Latin hypercube: partial rank correlations with 95% bootstrap intervals", signed_axis=True)


# --------------------------------------------------------------------------- assembling


def sweep_figures(store: Store, analysis: Analysis) -> dict[str, Figure]:
    """The figures of a sweep by its design (a figure without data is left out)."""
    kind = analysis.kind
    figs: dict[str, Figure | None] = {}
    tables = analysis.tables
    if kind in ("factorial", "fractional_factorial"):
        figs["main_effects"] = main_effects_figure(store, tables.get("effects"))
        figs["effects"] = effects_figure(tables.get("effects"), order=_metrics(store))
        figs["interactions"] = interactions_figure(store, tables.get("effects"),
                                                   per_metric=2 if len(_metrics(store)) <= 4 else 1)
    elif kind == "grid":
        factors = store.factors
        figs["heatmaps"] = heatmap_figure(tables.get("grid"), factors) if len(factors) == 2 else None
        kinds = {f["name"]: f.get("kind", "numeric") for f in store.manifest.get("factors", [])}
        figs["grid_means"] = grid_lines_figure(tables.get("grid"), factors, kinds) if len(factors) != 2 else None
    elif kind == "sobol":
        figs["sobol"] = sobol_figure(tables.get("sobol"))
    elif kind == "morris":
        figs["morris"] = morris_figure(tables.get("morris"))
    elif kind == "lhs":
        figs["prcc"] = prcc_figure(tables.get("prcc"))
    if kind == "grid" or (kind not in ("sobol", "morris", "lhs") and len(store.design) <= MAX_SERIES_POINTS):
        figs["weekly"] = weekly_figure(store)
    return {k: v for k, v in figs.items() if v is not None}


_CAPTIONS = {
    "main_effects": "Mean of each metric of interest at each factor's low and high level, with 95% CIs over "
                    "replications; a steep line is a large main effect.",
    "effects": "Effect of moving each factor from its low to its high level (and two-way interactions, hatched), "
               "with 95% CIs over paired replications; green improves the outcome, vermillion worsens it, grey: "
               "the interval includes zero.",
    "interactions": "The largest two-way interactions per metric: mean at each combination of the two factors' levels.",
    "heatmaps": "Each metric over the two-factor grid: mean over replications, \u00b1 half its 95% CI; the light "
                "end of the colour scale is the better one.",
    "grid_means": "Mean over replications at each level of each factor.",
    "weekly": "Weekly mean over replications at each design point, with 95% bands.",
    "sobol": "First-order (S1) and total (ST) Sobol indices with 95% bootstrap intervals: the share of the "
             "metric's variance due to each factor alone, and with its interactions.",
    "morris": "Morris mu*: the mean absolute elementary effect of each factor over its range, with a 95% bootstrap "
              "interval; factors near zero can be fixed at any value in their range.",
    "prcc": "Partial rank correlation of each factor with the metric, controlling for the others, with 95% "
            "bootstrap intervals; the sign says the direction of the effect.",
}
_FIGURE_TITLES = {"main_effects": "Main effects", "effects": "Effect estimates", "interactions": "Interactions",
                  "heatmaps": "Heatmaps", "grid_means": "Means by level", "weekly": "Over time",
                  "sobol": "Sobol indices", "morris": "Morris screening", "prcc": "Partial rank correlations"}


def _status_blocks(store: Store, manifest: dict[str, Any]) -> list[Block]:
    total = manifest.get("runs_total")
    n_ok, n_failed, n_missing = len(store.ok), len(store.failed), len(store.missing)
    blocks: list[Block] = [Heading(2, "Status", "status")]
    blocks.append(Table(["runs", "count"], [["planned", plain(total)], ["finished", str(n_ok)],
                                            ["failed", str(n_failed)], ["not run", str(n_missing)]], numeric={1}))
    if not manifest.get("complete", False) or n_missing:
        blocks.append(Note(f"This sweep is incomplete (manifest: complete = {str(manifest.get('complete')).lower()}): "
                           f"{n_missing} of {plain(total)} runs have not run. Everything below uses the "
                           f"{n_ok} finished runs; complete the sweep with `careos-sim sweep EXP --out DIR --resume`."))
        if n_missing:
            by_point = store.missing.groupby("point")["replication"].apply(list)
            items = [f"point {p} ({literal(_point_names(store).get(int(p), ''))}): replication"
                     f"{'s' if len(reps) > 1 else ''} {', '.join(map(str, reps))}"
                     for p, reps in by_point.head(20).items()]
            if len(by_point) > 20:
                items.append(f"and {len(by_point) - 20} more points")
            blocks.append(Para("Runs not yet run:"))
            blocks.append(Bullets(items))
    if n_failed:
        failed = store.failed
        rows = [[str(r["point"]), str(r["replication"]), literal(", ".join(f"{f}={plain(r[f])}" for f in store.factors
                                                                            if f in r)),
                 code(str(r.get('error') or '').splitlines()[0] if r.get('error') else 'no message')]
                for r in failed.head(20).to_dict("records")]
        blocks.append(Note(f"{n_failed} run(s) failed and are left out of every table and figure."))
        blocks.append(Table(["point", "replication", "factors", "error"], rows))
    if n_ok and not n_failed and not n_missing and manifest.get("complete"):
        blocks.append(Para("Every planned run finished."))
    return blocks


def _by_metric(frame: pd.DataFrame, order: list[str]) -> list[tuple[str, pd.DataFrame]]:
    """Groups of a table by metric, in the experiment's order of metrics (others after)."""
    groups = dict(list(frame.groupby("metric", sort=False)))
    return [(m, groups[m]) for m in [*order, *[m for m in groups if m not in order]] if m in groups]


def _ranking_blocks(analysis: Analysis, order: list[str]) -> list[Block]:
    ranking = analysis.ranking
    blocks: list[Block] = [Heading(2, "Which factors matter most", "ranking")]
    if ranking is None or not len(ranking):
        blocks.append(Note("No ranking could be made from the runs there are."))
        return blocks
    rows = []
    for metric, g in _by_metric(ranking, order):
        g = g.sort_values("rank")
        moving = g[g["importance"].abs() > 0]
        still = g[~(g["importance"].abs() > 0)]
        text = "; ".join(f"{int(r['rank'])}. {literal(r['factor'])} ({fmt(r['importance'])})"
                         for r in moving.to_dict("records"))
        if len(still):
            text += ("; " if text else "") + "no change: " + literal(", ".join(map(str, still["factor"])))
        rows.append([literal(_metric_title(metric)), text, literal(g["measure"].iloc[0])])
    blocks.append(Para("Factors ranked per metric, most important first, by the measure named in the last column "
                       "(its value in brackets)."))
    blocks.append(Table(["metric", "factors, most important first", "measure"], rows))
    return blocks


def _brief_blocks(store: Store, analysis: Analysis) -> list[Block]:
    m = store.manifest
    design = (m.get("design") or {}).get("type", analysis.kind)
    blocks: list[Block] = [Heading(2, "Brief", "brief")]
    desc = m.get("description")
    blocks.append(Para(
        f"Experiment **{literal(m.get('experiment', 'unnamed'), NAME_LIMIT)}**"
        + (f": {literal(str(desc).strip().rstrip('.'), 600)}" if desc else "") + ". "
        f"Design: {DESIGN_WORDS.get(design, literal(design))}; {plain(m.get('points'))} design points x "
        f"{plain(m.get('replications'))} replications of {plain(m.get('horizon_days'))} simulated days "
        f"(after {plain(m.get('warmup_days'))} days warm-up), seed {plain(m.get('seed'))}; replication r of "
        "every point uses the same random numbers, so points differ mostly by their factors."))
    rows = [[literal(f["name"], NAME_LIMIT), code(f["path"]) if f.get("path") else "(named settings)",
             _factor_values(f), literal(f.get("unit") or "")] for f in m.get("factors", [])]
    if rows:
        blocks.append(Table(["factor", "scenario setting", "levels or range", "unit"], rows,
                            caption="What was varied"))
    ranking = analysis.ranking
    items = []
    if ranking is not None and len(ranking):
        effects = analysis.tables.get("effects")
        for metric, g in _by_metric(ranking, _metrics(store)):
            top = g.sort_values("rank").iloc[0]
            if not abs(top["importance"]) > 0:
                items.append(f"**{label(metric)}**: no factor changes it in these runs")
                continue
            text = (f"**{literal(label(metric))}**: largest {literal(top['measure'])}: {literal(top['factor'])} "
                    f"({fmt(top['importance'])}")
            if effects is not None and len(effects):
                e = effects[(effects["metric"] == metric) & (effects["term"] == top["factor"])]
                if len(e):
                    e = e.iloc[0]
                    text += (f"; low \u2192 high changes it by {with_unit(signed(e['effect']), _unit(metric), True)}, "
                             f"95% CI {interval(e['ci_low'], e['ci_high'], sign=True)}: "
                             + {"better": "an improvement", "worse": "a deterioration",
                                "neither": "not detectably different from zero"}[_effect_side(e.to_dict())])
            items.append(text + ")")
    if items:
        blocks.append(Para("What matters most, per metric of interest (the full ranking is below):"))
        blocks.append(Bullets(items))
    caveats = ["The model's own caveats apply to every point (docs/model.md, section 6): one stylised unit, "
               "nurses only, a pooled queue, many free parameters."]
    from careos_sim.experiment.precision import table_warnings  # per point: replications and horizon (docs/model.md, 4)

    caveats += table_warnings(m.get("replications"), m.get("horizon_days"))
    if design in ("sobol", "morris", "lhs"):
        caveats.append("Sensitivity indices are computed on each point's mean over its replications; the "
                       "simulation's noise adds to what they attribute to the factors, and bootstrap intervals "
                       "are wide with few samples.")
    if analysis.notes:
        caveats += [f"Analysis: {literal(n, 600)}" for n in analysis.notes]
    blocks.append(Para("Caveats:"))
    blocks.append(Bullets(caveats))
    return blocks


def _table_blocks(analysis: Analysis, store: Store) -> list[Block]:
    blocks: list[Block] = []
    tables = analysis.tables
    kind = analysis.kind
    if kind in ("factorial", "fractional_factorial") and "effects" in tables and len(tables["effects"]):
        e = tables["effects"]
        has_alias = "aliases" in e.columns and e["aliases"].astype(str).str.len().gt(0).any()
        rows = []
        for r in e.to_dict("records"):
            row = [_metric_title(r["metric"]), literal(str(r["term"]).replace(":", " x ")),
                   "main" if r["order"] == 1 else "interaction",
                   signed(r["effect"]), interval(r["ci_low"], r["ci_high"], sign=True), str(r["n"]),
                   {"better": "improves", "worse": "worsens", "neither": "-"}[_effect_side(r)]]
            if has_alias:
                row.append(literal(r.get("aliases") or ""))
            rows.append(row)
        classes = [{"improves": "better-b", "worsens": "better-a"}.get(row[6]) for row in rows]
        cols = ["metric", "term", "kind", "effect (high - low)", "95% CI", "n", "outcome"]
        if has_alias:
            cols.append("aliases")
        blocks.append(Table(cols, rows, classes, numeric={3, 4, 5},
                            caption="Effects per metric, largest first; shaded where the 95% CI excludes zero "
                                    "(blue: improves, orange: worsens)"))
    if kind == "grid" and "grid" in tables and len(tables["grid"]):
        g = tables["grid"]
        factors = store.factors
        rows = [[_metric_title(r["metric"]), *[literal(plain(r[f])) for f in factors], fmt(r["mean"]),
                 interval(r["ci_low"], r["ci_high"]), str(r["n"])] for r in g.to_dict("records")]
        blocks.append(Table(["metric", *[literal(f, NAME_LIMIT) for f in factors], "mean", "95% CI", "n"], rows,
                            numeric={len(factors) + 1, len(factors) + 2, len(factors) + 3},
                            caption="Mean over replications at each grid point"))
    for name, cols in (("sobol", ["S1", "S1_ci_low", "S1_ci_high", "ST", "ST_ci_low", "ST_ci_high"]),
                       ("morris", ["mu_star", "mu_star_ci_low", "mu_star_ci_high", "sigma"]),
                       ("prcc", ["prcc", "ci_low", "ci_high"])):
        t = tables.get(name)
        if kind in ("sobol", "morris", "lhs") and t is not None and len(t):
            present = [c for c in cols if c in t.columns]
            rows = [[_metric_title(r["metric"]), literal(r["factor"]), *[fmt(r[c]) for c in present]]
                    for r in t.to_dict("records")]
            blocks.append(Table(["metric", "factor", *present], rows, numeric=set(range(2, 2 + len(present)))))
    return blocks


def _reproducibility(store: Store) -> list[Block]:
    m = store.manifest
    design = dict(m.get("design") or {})
    if design.get("type") != "morris":
        design.pop("levels", None)  # the Morris grid's levels; other designs ignore it
    settings = [
        ("kind", "sweep: every design point, replicated, on common random numbers"),
        ("experiment", f"{literal(m.get('experiment', 'not recorded'), NAME_LIMIT)} "
                       f"({code(m.get('experiment_file', 'not recorded'))})"),
        ("design", literal(", ".join(f"{k} {plain(v)}" for k, v in design.items() if v is not None))
         or "not recorded"),
        ("points x replications", f"{plain(m.get('points'))} x {plain(m.get('replications'))} = "
                                  f"{plain(m.get('runs_total'))} runs"),
        ("seed", plain(m.get("seed"))),
        ("horizon", f"{plain(m.get('horizon_days'))} days after the warm-up"),
        ("warm-up", f"{plain(m.get('warmup_days'))} days"),
        ("overrides (--set)", ", ".join(code(s) for s in m.get("sets") or []) or "none"),
        ("scheduler, workers", literal(f"{plain(m.get('scheduler'))}, {plain(m.get('workers'))}")),
        ("started, finished", literal(f"{plain(m.get('started_at'))}, {plain(m.get('finished_at'))}")),
    ]
    resolved = {"experiment.yaml": m["experiment_sha256"]} if m.get("experiment_sha256") else None
    blocks = reproducibility_blocks(store.folder, m, settings, resolved,
                                    "The experiment file as copied into this folder when the sweep started")
    try:
        text = (store.folder / "experiment.yaml").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        blocks.append(Note("`experiment.yaml` is not in this folder."))
    else:
        blocks += [Para("The experiment file, as given (`experiment.yaml` in this folder):"), Code(text.rstrip())]
    return blocks


def _cleaned(analysis: Analysis, store: Store) -> Analysis:
    """The analysis with effects and importances that are zero up to rounding set to 0."""
    if "effects" in analysis.tables:
        analysis.tables["effects"] = _clean_effects(analysis.tables["effects"], store)
    ranking = analysis.ranking
    if ranking is not None and len(ranking):
        ranking = ranking.copy()
        scale = {m: float(store.ok[m].abs().mean()) if m in store.ok.columns and len(store.ok) else 1.0
                 for m in ranking["metric"].unique()}
        tiny = [math.isfinite(v) and negligible(v, scale[m]) for v, m in zip(ranking["importance"], ranking["metric"])]
        ranking.loc[tiny, "importance"] = 0.0
        analysis.ranking = ranking
    return analysis


def sweep_blocks(folder: Path, manifest: dict[str, Any]) -> tuple[str, list[Block]]:
    """The report's title and blocks of a sweep folder."""
    from careos_sim.experiment.analysis import analyze
    from careos_sim.spec.loader import InputError
    from careos_sim.experiment.sweep import DamagedStore, load_store

    title = f"Sweep: {literal(manifest.get('experiment', folder.name), NAME_LIMIT)}"
    try:
        store = load_store(folder)
    except DamagedStore as exc:  # a damaged table: say so, and keep what the manifest tells
        blocks: list[Block] = [Note(f"The sweep's results cannot be read ({literal(exc)}); only "
                                    "what the manifest records is shown.")]
        blocks += reproducibility_blocks(folder, manifest, [("experiment", literal(plain(manifest.get("experiment"))))])
        return title, blocks
    except InputError:
        raise
    except Exception as exc:  # any other damage: say so, and keep what the manifest tells
        blocks: list[Block] = [Note(f"The sweep's results cannot be read ({type(exc).__name__}: {literal(exc)}); only "
                                    "what the manifest records is shown.")]
        blocks += reproducibility_blocks(folder, manifest, [("experiment", literal(plain(manifest.get("experiment"))))])
        return title, blocks
    analysis = _cleaned(analyze(store), store)
    blocks = []
    if not len(store.ok):
        blocks.append(Note("No run of this sweep has finished"
                           + (f" ({len(store.failed)} failed)" if len(store.failed) else "")
                           + ": there is nothing to analyse yet."))
    blocks += _brief_blocks(store, analysis)
    blocks += _status_blocks(store, store.manifest)
    if len(store.ok):
        blocks += _ranking_blocks(analysis, _metrics(store))
        import matplotlib

        with matplotlib.rc_context({"text.parse_math": False}):  # factor and level names are the user's
            figures = sweep_figures(store, analysis)
        blocks.append(Heading(2, "Results", "results"))
        for key, fig in figures.items():
            blocks.append(Heading(3, _FIGURE_TITLES[key]))
            caption = _CAPTIONS[key]
            if key == "weekly" and len(store.design) > MAX_BAND_POINTS:
                caption = caption.replace(", with 95% bands", f" (95% bands only with at most {MAX_BAND_POINTS} points)")
            blocks.append(Image(f"sweep_{key}.png", png_bytes(fig), _FIGURE_TITLES[key], caption))
        if "weekly" not in figures and len(store.design) > MAX_SERIES_POINTS and len(store.weekly):
            blocks.append(Para(f"Weekly series are in `weekly.parquet`; with {len(store.design)} points they are "
                               "not drawn here."))
        blocks += _table_blocks(analysis, store)
    blocks += _reproducibility(store)
    return title, blocks
