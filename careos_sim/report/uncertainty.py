"""The comparison report's part on parameter uncertainty (``compare --uncertainty``; model section 11).

Read from the comparison folder: ``uncertainty.json`` (the study's summary: per outcome the
distribution of the effect B - A across parameter sets, the probability that B is better,
its drivers and the split of its variance; the discovered boxes; the economics) and
``set_effects.parquet`` (each parameter set's values and its set-mean effect on every outcome).
Both are written by ``compare --uncertainty --out DIR``; a folder without them gets one
paragraph saying that its intervals cover simulation noise only.

Plain words first (the study's headline and a line per main outcome), then four figures:
the effect distributions across settings, parameter importance, the discovered boxes (or,
where B never fails, where its effect is smallest) and the cost-effectiveness acceptability
curve.
"""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from careos_sim.results.figures import COLOURS, new_figure
from careos_sim.report.common import fmt, interval, signed
from careos_sim.measure.labels import label
from careos_sim.report.document import Block, Bullets, Heading, Image, Para, code, for_plot, literal, png_bytes

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["UncertaintyFolder", "read_uncertainty", "uncertainty_blocks", "uncertainty_figures",
           "uncertainty_section", "effects_figure", "drivers_figure", "boxes_figure", "ceac_figure", "FIGURE_METRICS"]

#: the largest uncertainty.json / set_effects.parquet read (a study of 10,000 sets stays well below)
MAX_JSON_BYTES = 4 * 2**20
MAX_EFFECTS_BYTES = 32 * 2**20

#: the outcomes drawn in the effect distributions, in this order (those in the study)
FIGURE_METRICS = (
    "safety.harm_per_1000_patient_days",
    "workforce.burnout_pct",
    "effectiveness.missed_care_pct",
    "workforce.turnover_annual_pct",
    "efficiency.cost_per_patient_day",
    "learning.active_defects_end",
)


@dataclass
class UncertaintyFolder:
    """What a comparison folder holds of its uncertainty study."""

    doc: dict[str, Any]  # uncertainty.json
    effects: pd.DataFrame | None  # set_effects.parquet, or None where it is missing or unreadable
    problems: list[str]


def read_uncertainty(folder: str | Path) -> UncertaintyFolder | None:
    """The folder's uncertainty study, or None where it has none (or an unreadable one: see ``problems``)."""
    folder = Path(folder)
    path = folder / "uncertainty.json"
    if not path.is_file() or path.stat().st_size > MAX_JSON_BYTES:
        return None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict) or not isinstance(doc.get("outcomes"), dict):
        return None
    problems: list[str] = []
    effects = None
    eff = folder / "set_effects.parquet"
    if eff.is_file() and eff.stat().st_size <= MAX_EFFECTS_BYTES:
        try:
            effects = pd.read_parquet(io.BytesIO(eff.read_bytes()))
        except Exception:  # noqa: BLE001 - a damaged file: the figures that need it are left out
            problems.append("`set_effects.parquet` cannot be read")
    else:
        problems.append("`set_effects.parquet` is missing, so the per-setting figures are left out")
    return UncertaintyFolder(doc, effects, problems)


def _metrics(doc: dict[str, Any], effects: pd.DataFrame | None) -> list[str]:
    """The study's chosen outcome, then the main ones, that it has (and, with ``effects``, that move:
    an outcome whose effect is exactly zero in every setting has nothing to draw)."""
    wanted = dict.fromkeys((str(doc.get("fails_on")), *FIGURE_METRICS))
    have = [m for m in wanted if isinstance(doc["outcomes"].get(m), dict)]
    if effects is not None:
        have = [m for m in have if f"{m}|effect" in effects.columns
                and np.nanmax(np.abs(effects[f"{m}|effect"].to_numpy(dtype=float)), initial=0.0) > 0]
    return have


def _f(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) else math.nan


def _pct(value: Any) -> str:
    return "-" if not isinstance(value, (int, float)) or not math.isfinite(value) else f"{100 * value:.0f}%"


# --------------------------------------------------------------------------- figures


def effects_figure(doc: dict[str, Any], effects: pd.DataFrame) -> Figure | None:
    """One panel per main outcome: the set-mean effects B - A across parameter settings (histogram),
    zero, the median and the 90% interval; the panel's title gives the probability that B is better."""
    metrics = _metrics(doc, effects)
    if not metrics:
        return None
    cols = min(3, len(metrics))
    rows = math.ceil(len(metrics) / cols)
    fig = new_figure(max(7.0, 4.1 * cols), 2.9 * rows + 0.5)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, metric in zip(axes, metrics):
        o = doc["outcomes"][metric]
        values = effects[f"{metric}|effect"].to_numpy(dtype=float)
        values = values[np.isfinite(values)]
        lo, hi = o.get("effect_p05"), o.get("effect_p95")
        if isinstance(lo, (int, float)) and isinstance(hi, (int, float)):
            ax.axvspan(lo, hi, color=COLOURS["b"], alpha=0.12, lw=0, label="90% of settings")
        ax.hist(values, bins=max(5, min(25, len(values) // 3)), color=COLOURS["b"], alpha=0.75,
                edgecolor="white", linewidth=0.5)
        ax.axvline(0.0, color="black", lw=1.0)
        if isinstance(o.get("effect_median"), (int, float)):
            ax.axvline(o["effect_median"], color=COLOURS["b"], lw=1.6, ls="--", label="median")
        p = o.get("p_better")
        ax.set_title(f"{for_plot(label(metric), 48)}\nB better in {_pct(p)} of settings", fontsize=8.5)
        ax.set_xlabel("B - A (set mean)", fontsize=8)
        ax.tick_params(labelsize=7.5)
    for ax in axes[len(metrics):]:
        ax.set_visible(False)
    axes[0].set_ylabel("parameter settings", fontsize=8)
    axes[0].legend(fontsize=7, frameon=False, loc="best")
    fig.suptitle(f"The effect of B over A across {doc.get('sets')} plausible parameter settings "
                 f"({doc.get('replications')} paired replications each)", fontsize=9.5)
    return fig


def drivers_figure(doc: dict[str, Any]) -> Figure | None:
    """Parameter importance: each uncertain parameter's partial rank correlation with the effect on
    the study's chosen outcome and on burnout, with 95% bootstrap intervals."""
    chosen = [m for m in dict.fromkeys((str(doc.get("fails_on")), "workforce.burnout_pct"))
              if isinstance(doc["outcomes"].get(m), dict) and _ranked(doc["outcomes"][m].get("drivers"))]
    if not chosen:
        return None
    parameters = [str(p) for p in doc.get("parameters") or []]
    fig = new_figure(max(7.0, 5.2 * len(chosen)), 0.38 * max(3, len(parameters)) + 1.4)
    axes = fig.subplots(1, len(chosen), squeeze=False, sharey=True).ravel()
    order = None
    for ax, metric in zip(axes, chosen):
        drivers = {str(d.get("parameter")): d for d in doc["outcomes"][metric]["drivers"] if isinstance(d, dict)}
        if order is None:  # the first panel's ranking, strongest on top, for both panels
            order = sorted(drivers, key=lambda p: -abs(np.nan_to_num(_f(drivers[p].get("index")))))[::-1]
        ys = np.arange(len(order))
        idx = np.array([_f(drivers.get(p, {}).get("index")) for p in order])
        lo = np.array([_f(drivers.get(p, {}).get("ci_low")) for p in order])
        hi = np.array([_f(drivers.get(p, {}).get("ci_high")) for p in order])
        excl = (lo > 0) | (hi < 0)
        colours = [COLOURS["b"] if e else COLOURS["neither"] for e in excl]
        ax.barh(ys, idx, color=colours, height=0.6)
        ax.errorbar(idx, ys, xerr=[np.nan_to_num(idx - lo), np.nan_to_num(hi - idx)], fmt="none",
                    ecolor="black", lw=0.9, capsize=2.5)
        ax.axvline(0.0, color="black", lw=0.8)
        ax.set_xlim(-1.0, 1.0)
        ax.set_yticks(ys, [for_plot(p, 44) for p in order], fontsize=7.5)
        ax.set_title(for_plot(f"Effect on {label(metric).lower()}", 60), fontsize=8.5)
        ax.set_xlabel("partial rank correlation with B - A", fontsize=8)
        ax.tick_params(axis="x", labelsize=7.5)
    fig.suptitle("Which uncertain parameters drive the effect (blue: 95% interval excludes 0)", fontsize=9.5)
    return fig


def _box_axes(doc: dict[str, Any], effects: pd.DataFrame, metric: str) -> list[str]:
    """The two parameters to draw: those of the first box's rules, topped up with the strongest drivers."""
    picked: list[str] = []
    boxes = [b for b in doc.get("boxes") or [] if isinstance(b, dict)]
    if boxes:
        picked += [str(r.get("parameter")) for r in boxes[0].get("rules") or [] if isinstance(r, dict)]
    picked += [str(d.get("parameter")) for d in _ranked((doc["outcomes"].get(metric) or {}).get("drivers"))]
    return [p for p in dict.fromkeys(picked) if p in effects.columns][:2]


def boxes_figure(doc: dict[str, Any], effects: pd.DataFrame) -> Figure | None:
    """The parameter settings on the two parameters that matter most for the chosen outcome, marked
    where B fails to beat A (with the first discovered box drawn), or, where B never fails,
    shaded by the size of its effect so that where it helps least is visible."""
    metric = str(doc.get("fails_on"))
    o = doc["outcomes"].get(metric)
    column = f"{metric}|effect"
    if not isinstance(o, dict) or column not in effects.columns:
        return None
    axes_params = _box_axes(doc, effects, metric)
    if len(axes_params) < 2:
        return None
    px, py = axes_params
    table = effects[[px, py, column]].dropna()
    if table.empty:
        return None
    from careos_sim.measure.metrics import BY_NAME

    lower = getattr(BY_NAME.get(metric), "direction", "lower") == "lower"
    fails = (table[column] >= 0) if lower else (table[column] <= 0)
    fig = new_figure(6.4, 4.6)
    ax = fig.add_subplot()
    boxes = [b for b in doc.get("boxes") or [] if isinstance(b, dict)]
    if fails.any():
        ax.scatter(table.loc[~fails, px], table.loc[~fails, py], s=22, color=COLOURS["b"], marker="o",
                   label="B better", alpha=0.8)
        ax.scatter(table.loc[fails, px], table.loc[fails, py], s=30, color=COLOURS["a"], marker="X",
                   label="B not better", alpha=0.9)
        title = f"Where B fails to beat A on {label(metric).lower()}"
    else:
        size = table[column].abs()
        points = ax.scatter(table[px], table[py], c=size, cmap="Blues", s=26, edgecolor="0.3", linewidth=0.4)
        cbar = fig.colorbar(points, ax=ax)
        cbar.set_label(f"|B - A| on {label(metric).lower()}", fontsize=8)
        cbar.ax.tick_params(labelsize=7)
        title = f"B better on {label(metric).lower()} in every setting; pale: where it helps least"
    if boxes:
        xlo, xhi = ax.get_xlim()
        ylo, yhi = ax.get_ylim()
        bounds = {px: [xlo, xhi], py: [ylo, yhi]}
        for rule in boxes[0].get("rules") or []:
            p, op, t = rule.get("parameter"), rule.get("op"), rule.get("threshold")
            if p in bounds and isinstance(t, (int, float)):
                bounds[p][0 if op == ">=" else 1] = float(t)
        from matplotlib.patches import Rectangle

        ax.add_patch(Rectangle((bounds[px][0], bounds[py][0]), bounds[px][1] - bounds[px][0],
                               bounds[py][1] - bounds[py][0], fill=False, ls="--", lw=1.4, ec="black",
                               label=f"box: {_pct(boxes[0].get('density'))} fail there, "
                                     f"{_pct(boxes[0].get('coverage'))} of failures"))
        ax.set_xlim(xlo, xhi)
        ax.set_ylim(ylo, yhi)
    if fails.any() or boxes:
        ax.legend(fontsize=7.5, frameon=False, loc="best")
    ax.set_xlabel(for_plot(px, 60), fontsize=8)
    ax.set_ylabel(for_plot(py, 60), fontsize=8)
    ax.tick_params(labelsize=7.5)
    ax.set_title(for_plot(title, 90), fontsize=9)
    return fig


def ceac_figure(doc: dict[str, Any]) -> Figure | None:
    """The cost-effectiveness acceptability curve: the share of settings in which B is cost-effective
    at each willingness to pay per harm event averted, the study's setting marked."""
    econ = doc.get("economics")
    if not isinstance(econ, dict):
        return None
    points = [(p.get("wtp"), p.get("p_cost_effective")) for p in econ.get("ceac") or [] if isinstance(p, dict)]
    points = [(float(w), float(q)) for w, q in points if isinstance(w, (int, float)) and isinstance(q, (int, float))]
    if len(points) < 2:
        return None
    w, q = zip(*points)
    fig = new_figure(6.0, 3.6)
    ax = fig.add_subplot()
    ax.plot(w, q, color=COLOURS["b"], lw=1.8, drawstyle="steps-post")
    wtp = econ.get("wtp_per_harm")
    if isinstance(wtp, (int, float)):
        ax.axvline(wtp, color="black", ls="--", lw=0.9, label=f"setting: {fmt(wtp)} per harm event averted")
        ax.legend(fontsize=7.5, frameon=False, loc="lower right")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("willingness to pay per harm event averted (USD)", fontsize=8)
    ax.set_ylabel("share of settings where B is cost-effective", fontsize=8)
    ax.tick_params(labelsize=7.5)
    ax.set_title("Cost-effectiveness acceptability curve", fontsize=9)
    return fig


def uncertainty_figures(folder: str | Path) -> dict[str, Figure]:
    """The uncertainty figures of a comparison folder by name ("uncertainty_effects",
    "uncertainty_drivers", "uncertainty_boxes", "uncertainty_ceac"), those its files support."""
    study = read_uncertainty(folder)
    return {} if study is None else _figures(study)


def _figures(study: UncertaintyFolder) -> dict[str, Figure]:
    out: dict[str, Figure | None] = {}
    if study.effects is not None:
        out["uncertainty_effects"] = effects_figure(study.doc, study.effects)
    out["uncertainty_drivers"] = drivers_figure(study.doc)
    if study.effects is not None:
        out["uncertainty_boxes"] = boxes_figure(study.doc, study.effects)
    out["uncertainty_ceac"] = ceac_figure(study.doc)
    return {k: v for k, v in out.items() if v is not None}


# --------------------------------------------------------------------------- words


def _ranked(drivers: Any) -> list[dict[str, Any]]:
    """The drivers with a defined index (a partial rank correlation needs more sets than parameters + 1)."""
    return [d for d in drivers or [] if isinstance(d, dict) and math.isfinite(_f(d.get("index")))]


def _outcome_line(metric: str, o: dict[str, Any]) -> str:
    drivers = _ranked(o.get("drivers"))
    clear = [d for d in drivers if _f(d.get("ci_low")) > 0 or _f(d.get("ci_high")) < 0]  # interval excludes 0
    top = ", ".join(f"{code(str(d.get('parameter')))} ({fmt(d.get('index'))})" for d in clear[:2])
    if not drivers and o.get("drivers"):
        top = "(too few settings to rank the parameters: it needs at least two more settings than parameters)"
    elif drivers and not clear:
        top = "no parameter clearly (every interval of the partial rank correlations includes 0)"
    share = (o.get("variance") or {}).get("parameter_share")
    rel = o.get("relative_pct") or {}
    size = ""
    if isinstance(rel.get("p05"), (int, float)) and isinstance(rel.get("p95"), (int, float)):
        size = f" ({rel['p05']:+.0f}% to {rel['p95']:+.0f}% of A)"
    return (f"{label(metric)}: B - A {signed(o.get('effect_median'))} (90% of settings "
            f"{interval(o.get('effect_p05'), o.get('effect_p95'), sign=True)}{size}); B better in "
            f"{_pct(o.get('p_better'))} of settings; {_pct(share)} of the spread is parameter uncertainty, "
            f"the rest simulation noise; driven most by {top or '-'}")


def _weakest(doc: dict[str, Any], effects: pd.DataFrame | None) -> str | None:
    """Where B never fails on the chosen outcome: where its effect is smallest, in words."""
    metric = str(doc.get("fails_on"))
    o = doc["outcomes"].get(metric)
    column = f"{metric}|effect"
    if effects is None or not isinstance(o, dict) or column not in effects.columns or doc.get("boxes"):
        return None
    drivers = [d for d in _ranked(o.get("drivers")) if str(d.get("parameter")) in effects]
    strong = [d for d in drivers if all(isinstance(d.get(k), (int, float)) for k in ("index", "ci_low", "ci_high"))
              and (d["ci_low"] > 0 or d["ci_high"] < 0)]
    if not strong:
        return None
    parts = []
    for d in strong[:2]:
        # the effect's size |B - A| shrinks as the parameter moves in the direction that pushes B - A towards 0
        toward_zero = (d["index"] > 0) == (float(o.get("effect_median") or 0.0) < 0)
        parts.append(f"{code(str(d['parameter']))} is {'high' if toward_zero else 'low'}")
    return (f"B beats A on {label(metric).lower()} in every setting; its effect is smallest where "
            + " and ".join(parts) + ".")


def uncertainty_blocks(folder: str | Path) -> list[Block]:
    """The brief's paragraph across parameter uncertainty, in plain words (the figures are in
    :func:`uncertainty_section`); or, for a folder without a study, that the intervals cover
    simulation noise only."""
    study = read_uncertainty(folder)
    blocks: list[Block] = [Heading(3, "Across what we do not know", "brief-uncertainty")]
    if study is None and (Path(folder) / "uncertainty.json").exists():
        blocks.append(Para("_This folder's `uncertainty.json` cannot be read (damaged, or larger than "
                           f"{MAX_JSON_BYTES // 2**20} MiB), so the study across parameter settings is left out._"))
    if study is None:
        blocks.append(Para("The intervals above cover simulation noise only: they say how sure the comparison is "
                           "at these parameter values, not across the values the free parameters could plausibly "
                           "take. Run `careos-sim compare A B --uncertainty SETS --out DIR` for the probability "
                           "that B is better across plausible settings."))
        return blocks
    doc = study.doc
    blocks.append(Para(f"**{literal(str(doc.get('headline', '')), 1200)}**"))
    rows = [_outcome_line(m, doc["outcomes"][m]) for m in _metrics(doc, study.effects)]
    if rows:
        blocks.append(Bullets(rows))
    boxes = [b for b in doc.get("boxes") or [] if isinstance(b, dict)]
    if boxes:
        items = [f"{literal(str(b.get('text')), 400)}: {_pct(b.get('density'))} of settings there fail, "
                 f"{_pct(b.get('coverage'))} of all failures" for b in boxes[:3]]
        blocks.append(Para(f"Where B fails to beat A on {label(str(doc.get('fails_on')))} (scenario discovery):"))
        blocks.append(Bullets(items))
    else:
        weakest = _weakest(doc, study.effects)
        if weakest:
            blocks.append(Para(weakest))
    econ = doc.get("economics")
    if isinstance(econ, dict):
        icer = econ.get("icer_per_harm_averted")
        nmb = econ.get("nmb") or {}
        evppi = econ.get("evppi") or {}
        worth = sorted(((float(v), str(k)) for k, v in evppi.items() if isinstance(v, (int, float)) and v > 0),
                       reverse=True)
        blocks.append(Para(
            f"**Economics** (per 1,000 patient-days): cost per harm event averted "
            f"{'-' if icer is None else fmt(icer)}, per burnout case avoided "
            f"{fmt(econ.get('cost_per_burnout_case_avoided'))}; net monetary benefit at "
            f"{fmt(econ.get('wtp_per_harm'))} per harm event averted {signed(nmb.get('median'))} "
            f"(90% of settings {interval(nmb.get('p05'), nmb.get('p95'), sign=True)}), cost-effective in "
            f"{_pct(econ.get('p_cost_effective'))} of settings; expected value of perfect information "
            f"{fmt(econ.get('evpi'))}"
            + (f", most of it in {code(worth[0][1])} (worth measuring on your unit before deciding)." if worth
               else " (no parameter is worth measuring first: the decision is the same in every setting).")))
    blocks.append(Para(f"{doc.get('sets')} parameter sets x {doc.get('replications')} paired replications "
                       f"({literal(str(doc.get('source', '')), 300)})."))
    return blocks


def uncertainty_section(folder: str | Path) -> list[Block]:
    """The report's figures across parameter uncertainty, under their own heading (none without a study)."""
    study = read_uncertainty(folder)
    if study is None:
        return []
    blocks: list[Block] = [Heading(2, "Across plausible parameter settings", "uncertainty"),
                           Para("The figures behind the brief's paragraph on what we do not know: each parameter "
                                "set is one plausible setting of the uncertain free parameters, run on both sides "
                                "with the same random numbers.")]
    for note in study.problems:
        blocks.append(Para(f"_{note}._"))
    figures = _figures(study)
    captions = {
        "uncertainty_effects": ("Effect distributions across parameter settings",
                                "Each panel: how the set-mean effect B - A spreads over the plausible parameter "
                                "settings; black line: no effect; dashed: the median; shaded: 90% of settings."),
        "uncertainty_drivers": ("Parameter importance", "Partial rank correlation of each uncertain parameter with "
                                "the effect, with 95% bootstrap intervals over the sets; blue where the interval "
                                "excludes 0."),
        "uncertainty_boxes": ("Scenario discovery", "The settings on the two parameters that matter most for the "
                              "chosen outcome: where B fails to beat A, with the discovered box, or, where it "
                              "never fails, how large its effect is."),
        "uncertainty_ceac": ("Cost-effectiveness acceptability curve", "The share of settings in which B's net "
                             "monetary benefit is positive at each willingness to pay per harm event averted."),
    }
    for key, fig in figures.items():
        alt, caption = captions[key]
        blocks.append(Image(f"{key}.png", png_bytes(fig), alt, caption))
    return blocks
