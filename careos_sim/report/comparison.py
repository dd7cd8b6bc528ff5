"""The report of a comparison folder (``careos-sim compare A B --out DIR``), from saved files only.

Reads ``manifest.json``, ``comparison.csv``, ``weekly.parquet``, ``replications.parquet`` and
``scenario-a.yaml`` / ``scenario-b.yaml``; never re-runs anything. A file that is missing or
unreadable (other than the manifest and ``comparison.csv``, without which there is nothing to
report) leaves its section out, and the report says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import yaml

from careos_sim.measure.statistics import mean_ci
from careos_sim.results.figures import COLOURS, TIME_SERIES, _x_limit, new_figure, series_to_plot, time_series_from_frames
from careos_sim.report.common import (DIMENSIONS, dimension_of, fmt, folder_issue, interval, number_format, plain, with_unit, read_manifest, reproducibility_blocks, setting_description, setting_label, signed)
from careos_sim.measure.labels import label
from careos_sim.report.explain import Evidence, why_not_moved
from careos_sim.report.uncertainty import uncertainty_blocks, uncertainty_section
from careos_sim.report.units import compare_units_blocks
from careos_sim.report.document import (
    NAME_LIMIT, Block, Bullets, Heading, Image, Note, Para, Table, blocks_markdown, code, for_plot, literal, png_bytes,
)

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["CompareFolder", "load_compare", "scorecard_table", "brief", "comparison_figures", "comparison_blocks",
           "scenario_differences", "equity_groups", "HEADLINE", "SCORECARD_COLUMNS"]

SCORECARD_COLUMNS = ["dimension", "metric", "label", "unit", "a", "b", "diff", "ci_low", "ci_high", "better",
                     "a_ci_low", "a_ci_high", "b_ci_low", "b_ci_high", "direction", "n"]

#: the outcomes the brief states one by one (those present in the comparison)
HEADLINE = (
    "safety.harm_per_1000_patient_days",
    "effectiveness.missed_care_pct",
    "timeliness.call_light_wait_min_mean",
    "workforce.burnout_pct",
    "workforce.turnover_annual_pct",
    "efficiency.cost_per_patient_day",
    "learning.report_pct",
    "learning.active_defects_end",
    "equity.harm_ratio",
)

REQUIRED = ("comparison.csv",)
PAIRED = ["metric", "a_mean", "a_ci_low", "a_ci_high", "b_mean", "b_ci_low", "b_ci_high", "diff_mean",
          "diff_ci_low", "diff_ci_high", "n", "better", "unit", "direction"]


@dataclass
class CompareFolder:
    """The saved files of one comparison folder, and what could not be read."""

    folder: Path
    manifest: dict[str, Any]
    paired: pd.DataFrame
    weekly: pd.DataFrame | None
    replications: pd.DataFrame | None
    scenarios: dict[str, dict[str, Any] | None]
    names: dict[str, str]
    problems: list[str] = field(default_factory=list)

    @property
    def replication_count(self) -> int:
        n = self.manifest.get("replications")
        return int(n) if isinstance(n, (int, float)) else int(self.paired["n"].max())

    def side(self, frame: pd.DataFrame, side: str) -> pd.DataFrame:
        return frame[frame["side"] == side]


def _read_parquet(folder: Path, name: str, problems: list[str], needs: tuple[str, ...]) -> pd.DataFrame | None:
    path = folder / name
    if not path.is_file():
        problems.append(f"`{name}` is missing")
        return None
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # a truncated or foreign file: report it, keep the rest of the report
        problems.append(f"`{name}` cannot be read ({type(exc).__name__}: {literal(exc)})")
        return None
    absent = [c for c in needs if c not in frame.columns]
    if absent:
        problems.append(f"`{name}` has no column {literal(', '.join(map(str, absent)))}")
        return None
    return frame


def _read_scenario(folder: Path, side: str, problems: list[str]) -> dict[str, Any] | None:
    path = folder / f"scenario-{side}.yaml"
    if not path.is_file():
        problems.append(f"`{path.name}` is missing")
        return None
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        problems.append(f"`{path.name}` cannot be read ({literal(exc)})")
        return None
    if not isinstance(data, dict):
        problems.append(f"`{path.name}` is not a mapping of scenario keys")
        return None
    return data


def load_compare(folder: str | Path, manifest: dict[str, Any] | None = None) -> CompareFolder:
    """Read a comparison folder; InputError when it is not one or has no readable ``comparison.csv``."""
    folder = Path(folder)
    manifest = manifest if manifest is not None else read_manifest(folder)
    if manifest.get("kind") != "compare":
        raise folder_issue(folder / "manifest.json", "is not a comparison's results folder (kind must be compare)",
                           manifest.get("kind"), path="kind")
    path = folder / "comparison.csv"
    if not path.is_file():
        raise folder_issue(path, "not found: a comparison folder must hold its paired table", str(folder),
                           path="<file>")
    try:
        paired = pd.read_csv(path, keep_default_na=False, na_values=[""])
    except Exception as exc:
        raise folder_issue(path, f"cannot be read as CSV: {exc}", str(path), path="<file>") from None
    absent = [c for c in PAIRED if c not in paired.columns]
    if absent:
        raise folder_issue(path, f"missing columns: {', '.join(absent)}", list(paired.columns), path="<file>")
    paired["better"] = paired["better"].fillna("neither").astype(str)
    paired["unit"] = paired["unit"].fillna("").astype(str)
    paired["direction"] = paired["direction"].where(paired["direction"].isin(["lower", "higher"]), None)
    problems: list[str] = []
    weekly = _read_parquet(folder, "weekly.parquet", problems, ("side", "week", "days"))
    reps = _read_parquet(folder, "replications.parquet", problems, ("side", "replication"))
    scenarios = {side: _read_scenario(folder, side, problems) for side in "ab"}
    labels = manifest.get("scenarios") or {}
    names = {}
    for side in "ab":
        s = scenarios[side]
        if s and isinstance(s.get("name"), str):
            names[side] = s["name"]
        elif side in labels:
            names[side] = Path(str(labels[side])).stem
        else:
            names[side] = side.upper()
    return CompareFolder(folder, manifest, paired, weekly, reps, scenarios, names, problems)


# --------------------------------------------------------------------------- the scorecard


def _scorecard(data: CompareFolder) -> pd.DataFrame:
    rows = []
    p = data.paired
    order = {d: i for i, d in enumerate(DIMENSIONS.values())}
    for i, r in enumerate(p.to_dict("records")):
        dim = dimension_of(r["metric"])
        if dim is None:
            continue
        rows.append({
            "dimension": dim, "metric": r["metric"], "label": label(r["metric"]), "unit": r["unit"],
            "a": r["a_mean"], "b": r["b_mean"], "diff": r["diff_mean"], "ci_low": r["diff_ci_low"],
            "ci_high": r["diff_ci_high"], "better": r["better"] if r["direction"] else "neither",
            "a_ci_low": r["a_ci_low"], "a_ci_high": r["a_ci_high"], "b_ci_low": r["b_ci_low"],
            "b_ci_high": r["b_ci_high"], "direction": r["direction"], "n": r["n"], "_order": (order[dim], i),
        })
    table = pd.DataFrame(rows, columns=[*SCORECARD_COLUMNS, "_order"])
    table = table.sort_values("_order", kind="stable").drop(columns="_order").reset_index(drop=True)
    return table


def scorecard_table(folder: str | Path) -> pd.DataFrame:
    """One row per metric of the six quality dimensions, workforce and learning, in scorecard order.

    Columns: dimension (Safety, Timeliness, Effectiveness, Efficiency, Equity,
    Patient-centredness, Workforce, Learning), metric, label (plain language), unit, a, b (means),
    diff (B - A, paired), ci_low, ci_high (its 95% CI), better ("a", "b" or "neither": a side only
    where the interval excludes zero), then a_ci_low, a_ci_high, b_ci_low, b_ci_high, direction, n.
    """
    return _scorecard(load_compare(folder))


def _name(data: CompareFolder, side: str) -> str:
    """A side's scenario name as report text (escaped and bounded: it is the user's)."""
    return literal(data.names[side], NAME_LIMIT)


def _side_name(data: CompareFolder, side: str) -> str:
    return f"{side.upper()} ({_name(data, side)})"


def _verdict(data: CompareFolder, better: str, n: float) -> str:
    if better in ("a", "b"):
        return f"**{_side_name(data, better)} better**"
    if not (isinstance(n, (int, float)) and n >= 2):
        return "cannot say (fewer than two pairs)"
    return "no detectable difference (the interval includes 0)"


def _headline_item(data: CompareFolder, r: dict[str, Any]) -> str:
    unit = r["unit"]
    f = number_format(r["a"], r["b"], r["diff"], r["ci_low"], r["ci_high"])
    ci = "-" if not (_finite(r["ci_low"]) and _finite(r["ci_high"])) else \
        f"[{f(r['ci_low'], True)}, {f(r['ci_high'], True)}]"
    return (f"**{r['label']}**: {with_unit(f(r['a']), unit)} under A, {with_unit(f(r['b']), unit)} under B; "
            f"B - A = {with_unit(f(r['diff'], True), unit, diff=True)}, "
            + (f"95% CI {ci}" if ci != "-" else "no 95% CI")
            + f": {_verdict(data, r['better'], r['n'])}")


def _finite(x: Any) -> bool:
    try:
        return x is not None and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


# --------------------------------------------------------------------------- scenarios


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for k, v in value.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: value}


def _show(value: Any) -> str:
    if value is None:
        return "(unset)"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (list, dict)):
        text = yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
        return text if len(text) <= 80 else text[:77] + "..."
    return str(value).strip()


MISSING = object()


def scenario_differences(data: CompareFolder) -> pd.DataFrame | None:
    """Every scenario key whose resolved value differs between A and B (path, a, b); None without both files."""
    a, b = data.scenarios["a"], data.scenarios["b"]
    if a is None or b is None:
        return None
    fa, fb = _flatten(a), _flatten(b)
    rows = []
    for key in list(dict.fromkeys([*fa, *fb])):
        va, vb = fa.get(key, MISSING), fb.get(key, MISSING)
        if va != vb:
            rows.append({"path": key, "a": "(absent)" if va is MISSING else _show(va),
                         "b": "(absent)" if vb is MISSING else _show(vb)})
    return pd.DataFrame(rows, columns=["path", "a", "b"])


def _is_label(path: str) -> bool:
    return path in ("name", "description")


# --------------------------------------------------------------------------- the brief


#: the outcomes of the bottom line, each with the word a reader uses for it
BOTTOM_LINE = (
    ("safety.harm_per_1000_patient_days", "harm"),
    ("workforce.burnout_pct", "burnout"),
    ("effectiveness.missed_care_pct", "missed care"),
)
COST = "efficiency.cost_per_patient_day"
IMPLEMENTATION = "flow.implementation_cost_per_patient_day"


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _pct(x: float) -> str:
    """A percentage's size for prose: 30, 5.1, 0.06."""
    a = abs(x)
    if a < 0.95:
        return f"{a:.1g}"
    text = f"{a:.1f}"
    return text if float(text) < 10 else f"{a:.0f}"


def _about(x: float) -> str:
    """A total rounded to three significant digits, with thousands separators: 41,200."""
    if not _finite(x) or x == 0:
        return fmt(x)
    digits = 2 - math.floor(math.log10(abs(x)))
    return f"{round(x, digits):,.{max(0, digits)}f}"


def relative_change(a: Any, diff: Any, low: Any, high: Any) -> tuple[float, float, float] | None:
    """B - A as a percentage of A's mean, with the paired 95% CI of B - A divided by A's mean (NaN
    bounds without an interval); None where A's mean is 0 or undefined."""
    if not (_finite(a) and _finite(diff)) or float(a) == 0.0:
        return None
    scale = 100.0 / abs(float(a))
    bounds = [float(v) * scale if _finite(v) else math.nan for v in (low, high)]
    return float(diff) * scale, bounds[0], bounds[1]


def relative_phrase(change: tuple[float, float, float], more: str = "higher", less: str = "lower",
                    inner: bool = False) -> str:
    """"30% lower (95% CI 23-37%)", "4.0% lower (95% CI 9.0% lower to 1.2% higher)", "the same in every
    pair"; with ``inner``, for use inside parentheses: "30% lower, 95% CI 23-37%"."""
    pct, lo, hi = change
    if pct == 0 and lo == 0 and hi == 0:
        return "the same in every pair"
    size = f"{_pct(pct)}% {less if pct < 0 else more}" if _pct(pct) != "0" else "unchanged"
    if not (math.isfinite(lo) and math.isfinite(hi)):
        ci = "no 95% CI"
    elif lo > 0 or hi < 0:
        small, large = sorted((abs(lo), abs(hi)))
        ci = f"95% CI {_pct(small)}-{_pct(large)}%"
    else:
        ci = f"95% CI {_pct(lo)}% {less} to {_pct(hi)}% {more}"
    return f"{size}, {ci}" if inner else f"{size} ({ci})"


def _bottom_line(data: CompareFolder, card: pd.DataFrame) -> str:
    """One or two sentences: which side is better on harm, burnout and missed care, by how much, and
    what B costs."""
    head = card.set_index("metric")
    a_name, b_name = _side_name(data, "a"), _side_name(data, "b")
    better, worse, same, unsure = [], [], [], []
    for metric, word in BOTTOM_LINE:
        if metric not in head.index:
            continue
        r = head.loc[metric]
        change = relative_change(r["a"], r["diff"], r["ci_low"], r["ci_high"])
        if change is None:
            f = number_format(r["a"], r["b"], r["diff"])
            phrase = f"{word} (B - A {with_unit(f(r['diff'], True), r['unit'], diff=True)})"
        else:
            phrase = f"{word} ({relative_phrase(change, inner=True)})"
        if not (_finite(r["ci_low"]) and _finite(r["ci_high"])):
            unsure.append(word)
        elif r["better"] == "b":
            better.append(phrase)
        elif r["better"] == "a":
            worse.append(phrase)
        else:
            same.append(phrase)
    clauses = []
    if better:
        clauses.append(f"better than {a_name} on {_join(better)}")
    if worse:
        clauses.append(("worse" if better else f"worse than {a_name}") + f" on {_join(worse)}")
    first = f"{b_name} is " + ", and ".join(clauses) if clauses else ""
    if same:
        verb = "shows" if len(same) == 1 else "show"
        first += (f"; {_join(same)} {verb} no detectable difference" if first else
                  f"Between {b_name} and {a_name}, {_join(same)} {verb} no detectable difference")
    if unsure:
        first += ("; " if first else "") + f"on {_join(unsure)} there is no interval to judge by (fewer than two pairs)"
    sentences = [first[:1].upper() + first[1:] + "."] if first else []
    rows = {r["metric"]: r for r in data.paired.to_dict("records")}
    cost = rows.get(COST)
    if cost is not None:
        f = number_format(cost["a_mean"], cost["b_mean"])
        usd = f"USD {f(cost['b_mean'])} against {f(cost['a_mean'])}"
        usd_day = f"USD {f(cost['b_mean'])} a patient-day against {f(cost['a_mean'])} under A"
        change = relative_change(cost["a_mean"], cost["diff_mean"], cost["diff_ci_low"], cost["diff_ci_high"])
        rel = relative_phrase(change, more="more", less="less") if change is not None else ""
        if not (_finite(cost["diff_ci_low"]) and _finite(cost["diff_ci_high"])) or change is None:
            text = f"B costs {usd_day} (no 95% CI)"
        elif cost["better"] in ("a", "b"):
            text = f"B costs {rel.replace(' (', ' a patient-day (', 1)}: {usd}"
        else:
            inner = relative_phrase(change, more="more", less="less", inner=True)
            text = f"B's cost per patient-day shows no detectable difference ({usd}; {inner})"
        impl = rows.get(IMPLEMENTATION)
        if impl is not None and _finite(impl["a_mean"]) and _finite(impl["b_mean"]):
            g = number_format(impl["a_mean"], impl["b_mean"])
            text += (f", of which running its leadership practices takes USD {g(impl['b_mean'])} against "
                     f"{g(impl['a_mean'])} under A")
        sentences.append(text + ".")
    return "**Bottom line.** " + " ".join(sentences) if sentences else ""


def _setting_item(path: str, a: str, b: str) -> str:
    name = setting_label(path)
    text = f"{literal(name)} ({code(path)}): {literal(a)} in A, {literal(b)} in B"
    description = setting_description(path)
    if description and not description.startswith(name):
        text += f". {literal(description.rstrip('.'))}."
    return text


def _why_blocks(data: CompareFolder) -> list[Block]:
    """For each main outcome that did not move, the reason the folder's own diagnostics show (none
    where no rule of :mod:`careos_sim.report.explain` applies)."""
    ev = Evidence(data.paired, data.scenarios, data.manifest.get("horizon_days"))
    present = set(data.paired["metric"])
    found = why_not_moved(ev, [m for m in HEADLINE if m in present])
    if not found:
        return []
    items = []
    for metric, sentences in found.items():
        unit = str(ev.rows[metric].get("unit") or "")
        shown = "" if unit in ("", "ratio") or unit.startswith("%") else f" {unit}"
        items.append(f"**{label(metric)}** ({ev.levels(metric)}{shown}, no detectable difference): "
                     + " ".join(sentences))
    return [Heading(3, "Why some outcomes did not move", "brief-why"),
            Para("For each main outcome whose 95% interval includes zero, what the model's own diagnostics in this "
                 "folder show (A's mean to B's; every other change named here has an interval that excludes zero, "
                 "unless it is said not to have changed):"),
            Bullets(items)]


def _cost_blocks(data: CompareFolder) -> list[Block]:
    """Cost per patient-day, and what the leadership practices themselves cost (the implementation
    diagnostic), on each side."""
    rows = {r["metric"]: r for r in data.paired.to_dict("records")}
    cost, impl = rows.get(COST), rows.get(IMPLEMENTATION)
    if cost is None and impl is None:
        return []
    horizon = data.manifest.get("horizon_days")
    parts = []

    def paired_text(r: dict[str, Any]) -> tuple[Any, str]:
        f = number_format(r["a_mean"], r["b_mean"], r["diff_mean"], r["diff_ci_low"], r["diff_ci_high"])
        ci = (f"95% CI {f(r['diff_ci_low'], True)} to {f(r['diff_ci_high'], True)}"
              if _finite(r["diff_ci_low"]) and _finite(r["diff_ci_high"]) else "no 95% CI")
        return f, f"B - A {f(r['diff_mean'], True)}, {ci}"

    if cost is not None:
        f, diff = paired_text(cost)
        change = relative_change(cost["a_mean"], cost["diff_mean"], cost["diff_ci_low"], cost["diff_ci_high"])
        rel = f"; {relative_phrase(change, more='more', less='less', inner=True)}" if change is not None else ""
        parts.append(f"Cost per patient-day is USD {f(cost['a_mean'])} under A and {f(cost['b_mean'])} under B "
                     f"({diff}{rel}).")
    if impl is not None:
        f, diff = paired_text(impl)
        text = (f"Running the leadership system's practices (huddle time at the nurses' wage, leader rounding and "
                f"barrier-removal hours, escalations, committee hours and training) costs USD {f(impl['a_mean'])} a "
                f"patient-day under A and {f(impl['b_mean'])} under B ({diff})")
        totals = _implementation_totals(data)
        if totals is not None and _finite(horizon):
            text += f", about USD {_about(totals[0])} and {_about(totals[1])} over the {plain(horizon)} days"
        if cost is not None and _finite(cost["b_mean"]) and float(cost["b_mean"]) > 0 and _finite(impl["b_mean"]):
            text += f" ({_pct(100 * float(impl['b_mean']) / float(cost['b_mean']))}% of B's cost per patient-day)"
        parts.append(text + "; it is already inside cost per patient-day.")
    huddles = rows.get("flow.huddle_hours")
    if huddles is not None and _finite(huddles["a_mean"]) and _finite(huddles["b_mean"]):
        f = number_format(huddles["a_mean"], huddles["b_mean"])
        parts.append(f"Nurses spent {f(huddles['a_mean'])} hours in huddles under A and {f(huddles['b_mean'])} under "
                     "B, time taken from care.")
    training = Evidence(data.paired, data.scenarios).training()
    if training is not None and (training[0] > 0 or training[1] > 0):
        ha, hb, wa, wb = training
        weeks = f"{wa:g}-week launch" if wa == wb else f"launch ({wa:g} weeks under A, {wb:g} under B)"
        parts.append(f"Training, paid during the {weeks} and counted above: {ha:.3g} hours per nurse under A and "
                     f"{hb:.3g} under B (the hours a fully new system needs, scaled by how much of each side's system "
                     "is new to a unit run telling-style).")
    return [Heading(3, "What it costs", "brief-costs"), Para(" ".join(parts))]


def _implementation_totals(data: CompareFolder) -> tuple[float, float] | None:
    """Mean over replications of each side's implementation cost over the horizon (USD): its cost per
    patient-day times its patient-days, replication by replication."""
    reps = data.replications
    if reps is None or IMPLEMENTATION not in reps.columns or "counts.patient_days" not in reps.columns:
        return None
    totals = []
    for side in "ab":
        rows = data.side(reps, side)
        values = (rows[IMPLEMENTATION].astype(float) * rows["counts.patient_days"].astype(float)).to_numpy()
        values = values[np.isfinite(values)]
        if not len(values):
            return None
        totals.append(float(values.mean()))
    return totals[0], totals[1]


GLOSSARY = (
    "**Paired replications**: each replication runs A and B once each on the same random numbers; the "
    "difference B - A is taken within each pair and then averaged over the pairs, so noise the two sides share "
    "cancels out.",
    "**Common random numbers**: one named random stream per source of randomness (admissions, patients, "
    "workflow defects, sick calls, ...), the same for A and B, so that both meet the same patients and the same "
    "defects and differ only where their systems make them differ.",
    "**95% confidence interval (95% CI)**: a Student-t range over the replications that, in repeated studies, "
    "would contain the true mean (or the true difference B - A) 95 times in 100. It covers simulation noise only, "
    "not what we do not know about the model's parameters.",
    "**No detectable difference**: the 95% CI of B - A includes zero. The sides may still differ, by less than "
    "these replications can tell apart; it does not show that they are equal.",
    "**Percentage points (pp)**: the difference between two percentages. Burnout falling from 40% to 30% of "
    "nurses is 10 percentage points, or 25% lower (a relative change).",
    "**Relative change**: B - A as a share of A's mean (\"30% lower\"); its interval is the paired 95% CI of "
    "B - A divided by A's mean.",
)


def _brief_blocks(data: CompareFolder, card: pd.DataFrame) -> list[Block]:
    m = data.manifest
    files = m.get("scenarios") or {}
    n = data.replication_count
    horizon = m.get("horizon_days")
    warm = m.get("warmup_days") or {}
    wa, wb = warm.get("a"), warm.get("b")
    warmup = "no warm-up" if not wa and not wb else (
        f"after {plain(wa)} days of warm-up" if wa == wb else f"after warm-ups of {plain(wa)} (A) and {plain(wb)} (B) days")
    who = " and ".join(f"**{_side_name(data, s)}**" + (f" ({code(files[s])})" if s in files else "") for s in "ab")
    blocks: list[Block] = [Heading(2, "Brief", "brief")]
    bottom = _bottom_line(data, card)
    if bottom:
        blocks.append(Para(bottom))
    blocks += [
        Para(f"This report compares {who} on common random numbers: the same admissions, patients and initial "
             f"workflow defects on both sides, {n} paired replication{'s' if n != 1 else ''} of "
             f"{plain(horizon)} simulated days each ({warmup}), seed {m.get('seed', 'not recorded')}. "
             "A is the reference; every difference is B - A."),
        Heading(3, "What differs between the two systems", "brief-differs"),
    ]
    diffs = scenario_differences(data)
    if diffs is None:
        blocks.append(Note("The resolved scenarios are not both in this folder, so what differs cannot be shown."))
    else:
        settings = diffs[~diffs["path"].map(_is_label)]
        if settings.empty:
            blocks.append(Para("The two resolved scenarios are identical apart from their names: any difference "
                               "in outcomes is chance (and the paired intervals should include zero)."))
        else:
            shown = settings.head(12)
            items = [_setting_item(r.path, r.a, r.b) for r in shown.itertuples()]
            if len(settings) > len(shown):
                items.append(f"and {len(settings) - len(shown)} more (see Scenarios)")
            blocks.append(Para(f"The resolved scenarios differ in {len(settings)} setting"
                               f"{'s' if len(settings) != 1 else ''} (each by its documented name, then its key):"))
            blocks.append(Bullets(items))
            outside = [p for p in settings["path"] if not p.startswith("leadership.")]
            if outside and any(p.startswith("leadership.") for p in settings["path"]):
                blocks.append(Note("The scenarios differ outside the leadership block as well ("
                                   + ", ".join(f"{literal(setting_label(p))} ({code(p)})" for p in outside[:5])
                                   + (", ..." if len(outside) > 5 else "")
                                   + "): a difference in outcomes cannot be credited to leadership alone."))
    blocks.append(Heading(3, "What changes, and by how much", "brief-changes"))
    scored = card[card["direction"].notna()]
    count = scored["better"].value_counts()
    no_ci = int((~(np.isfinite(scored["ci_low"].astype(float)) & np.isfinite(scored["ci_high"].astype(float)))).sum())
    undecided = int(count.get("neither", 0)) - no_ci
    text = (f"Of {len(scored)} outcomes on the scorecard, B is better on **{count.get('b', 0)}**, A is better on "
            f"**{count.get('a', 0)}**, and on **{undecided}** the 95% interval of the paired difference includes "
            "zero (no detectable difference)")
    if no_ci:
        text += f"; on **{no_ci}** no interval can be computed (fewer than two pairs, or the outcome is undefined)"
    blocks.append(Para(text + ". The main ones:"))
    head = card.set_index("metric")
    items = [_headline_item(data, {**head.loc[k].to_dict(), "label": head.at[k, "label"]}) for k in HEADLINE
             if k in head.index]
    if items:
        blocks.append(Bullets(items))
    blocks += _why_blocks(data)
    blocks += _cost_blocks(data)
    blocks.append(Para(
        f"**How sure.** Each interval is a Student-t 95% confidence interval of the {n} paired differences. A "
        "side is called better only where that interval excludes zero. With "
        f"{len(scored)} outcomes tested at once, about {max(1, round(len(scored) / 20))} could exclude zero by "
        "chance alone where there is no real difference, so an interval that barely excludes zero deserves "
        "the least weight."))
    blocks += uncertainty_blocks(data.folder)
    blocks.append(Heading(3, "Caveats", "brief-caveats"))
    blocks.append(Bullets(_caveats(data)))
    blocks.append(Heading(3, "Terms", "brief-terms"))
    blocks.append(Bullets(list(GLOSSARY)))
    return blocks


def _caveats(data: CompareFolder) -> list[str]:
    m = data.manifest
    items = [
        "The model is stylised: one unit, nurses only, interchangeable nurses sharing one pooled queue (team "
        "nursing), interchangeable beds, no pre-emption of tasks (docs/model.md, section 6).",
        "Many parameters are free rather than measured, including how strongly each listening element acts. "
        "The telling baseline is fitted (history matching, `careos-sim calibrate`) to published bands in each of "
        "three years, and listening's overall effects to the range of published organisational interventions "
        "(harm rate ratio 0.60-0.90, burnout 10-35% lower, cost within 5%); the single mechanisms behind those "
        "effects are not separately identified by any data (docs/model.md, sections 3.7 and 7.2).",

        "Listening's gains run through the defect-learning loop (reports lead to fixes, fixes remove workarounds "
        "and harm), so their size depends on the stock and arrival rate of workflow defects assumed. Without "
        "defects, no element of the care operating system helps on its own.",
        "A single fixer works on one defect at a time; leaders push only when missed care exceeds the goal; "
        "vacancies arise only from turnover; call-light waits run longer than published figures (a known gap), "
        "so compare them between the sides rather than with real units.",
    ]
    from careos_sim.experiment.precision import table_warnings  # replications, horizon, headline intervals (model.md, 4)

    items += table_warnings(data.replication_count, m.get("horizon_days"), data.paired, "diff_")
    warm = m.get("warmup_days") or {}
    if not warm.get("a") and not warm.get("b"):
        items.append("No warm-up: both sides start from the status quo's steady state (today's defect stock, "
                     "staff and vacancies), so a side that changes its system at time 0 includes its adoption "
                     "(training, longer first huddles, fixes not yet made) in the totals; the weekly series show "
                     "how the effect builds up.")
    return items


def brief(folder: str | Path) -> str:
    """The plain-language brief of a comparison folder, as Markdown."""
    data = load_compare(folder)
    return blocks_markdown(_brief_blocks(data, _scorecard(data)))


# --------------------------------------------------------------------------- figures

_MARKERS = {"b": "s", "a": "o", "neither": "D"}


def _improvement(card: pd.DataFrame) -> pd.DataFrame:
    """B's change as % of |A's mean|, signed so that positive means better for B."""
    rows = card.copy()
    sign = np.where(rows["direction"] == "lower", -1.0, 1.0)
    scale = 100.0 / rows["a"].astype(float).abs()
    rows["pct_mean"] = sign * rows["diff"].astype(float) * scale
    lo, hi = sign * rows["ci_low"].astype(float) * scale, sign * rows["ci_high"].astype(float) * scale
    rows["pct_ci_low"], rows["pct_ci_high"] = np.minimum(lo, hi), np.maximum(lo, hi)
    return rows


def scorecard_figure(card: pd.DataFrame, names: dict[str, str], replications: int) -> Figure | None:
    """Every scorecard outcome as B's improvement over A (% of A's mean, 95% CI), grouped by dimension."""
    rows = _improvement(card[card["direction"].notna()])
    if rows.empty:
        return None
    entries: list[tuple[str, Any]] = []
    for dim, group in rows.groupby("dimension", sort=False):
        entries.append(("group", dim))
        entries += [("metric", r) for r in group.to_dict("records")]
    drawable = rows[np.isfinite(rows["pct_mean"].to_numpy(dtype=float))]
    lim = _x_limit(drawable) if not drawable.empty else 10.0
    fig = new_figure(11.0, 0.24 * len(entries) + 1.9)
    ax = fig.add_subplot()
    ys = np.arange(len(entries))[::-1]
    ticks, ticklabels, bold = [], [], []
    seen: set[str] = set()
    for y, (kind, item) in zip(ys, entries):
        ticks.append(y)
        if kind == "group":
            ticklabels.append(item)
            bold.append(True)
            ax.axhspan(y - 0.5, y + 0.5, color="#eeeeee", zorder=0, linewidth=0)
            continue
        ticklabels.append(item["label"])
        bold.append(False)
        side = item["better"]
        unit = item["unit"]
        ax.annotate(f"A {fmt(item['a'])} \u2192 B {fmt(item['b'])} {unit}", (1.0, y),
                    xycoords=("axes fraction", "data"), xytext=(8, 0), textcoords="offset points", va="center",
                    fontsize=7.5, color="#333333")
        mean = item["pct_mean"]
        if not math.isfinite(mean):
            ax.annotate("A's mean is 0 or undefined: no % change", (0.5, y), xycoords=("axes fraction", "data"),
                        ha="center", va="center", fontsize=7, color="#666666")
            continue
        low = item["pct_ci_low"] if math.isfinite(item["pct_ci_low"]) else mean
        high = item["pct_ci_high"] if math.isfinite(item["pct_ci_high"]) else mean
        m, lo, hi = (float(np.clip(v, -lim, lim)) for v in (mean, low, high))
        legend = {"b": f"B better ({names['b']})", "a": f"A better ({names['a']})",
                  "neither": "no detectable difference (95% CI includes 0)"}[side]
        ax.errorbar([m], [y], xerr=[[m - lo], [hi - m]], fmt=_MARKERS[side], color=COLOURS[side], capsize=2.5,
                    markersize=5, label=legend if side not in seen else None, zorder=3)
        seen.add(side)
        for edge, marker, hit in ((-lim, "<", lo <= -lim), (lim, ">", hi >= lim)):
            if hit:
                ax.plot([edge], [y], marker=marker, color=COLOURS[side], clip_on=False, zorder=3)
    ax.set_yticks(ticks, ticklabels, fontsize=8)
    for tick, is_bold in zip(ax.get_yticklabels(), bold):
        if is_bold:
            tick.set_fontweight("bold")
            tick.set_fontsize(9)
    ax.set_ylim(-0.6, len(entries) - 0.4)
    ax.set_xlim(-lim, lim)
    ax.axvline(0, color="black", linewidth=0.8)
    ax.grid(axis="x", alpha=0.3)
    ax.set_xlabel("\u2190 worse under B        change from A to B, % of A's mean (95% CI)        better under B \u2192\n"
                  "(sign flipped where lower is better; an arrowhead: the interval goes on; right: both means)",
                  fontsize=8.5)
    ax.set_title(f"Scorecard: B ({names['b']}) against A ({names['a']}), {replications} paired replications",
                 fontsize=10)
    order = [s for s in ("b", "a", "neither") if s in seen]
    handles, labels = ax.get_legend_handles_labels()
    by_label = dict(zip(labels, handles))
    wanted = [{"b": f"B better ({names['b']})", "a": f"A better ({names['a']})",
               "neither": "no detectable difference (95% CI includes 0)"}[s] for s in order]
    fig.legend([by_label[w] for w in wanted], wanted, loc="outside lower center", ncols=3, fontsize=8, frameon=False)
    return fig


def equity_groups(replications: pd.DataFrame) -> pd.DataFrame:
    """Per side and replication: harm and missed care of LEP and of other patients.

    Read from the per-group metrics (``equity.harm_lep_per_1000_patient_days`` and the like)
    where the folder has them. Folders written before those metrics existed hold each pair only
    as a ratio r = LEP / other and a gap g = LEP - other, so other = g / (r - 1) and LEP = other
    + g, exactly; where the two groups are equal (r = 1) the level cannot be recovered and is
    NaN; where the other group had none (r undefined, g defined), other is 0 and LEP is g.
    """
    out = []
    direct = {"harm": ("equity.harm_lep_per_1000_patient_days", "equity.harm_other_per_1000_patient_days"),
              "missed_care": ("equity.missed_care_lep_pct", "equity.missed_care_other_pct")}
    if all(c in replications.columns for cols in direct.values() for c in cols):
        for key, (lep_col, other_col) in direct.items():
            for group, col in (("other", other_col), ("LEP", lep_col)):
                out.append(pd.DataFrame({"side": replications["side"].to_numpy(), "replication":
                                         replications["replication"].to_numpy(), "measure": key, "group": group,
                                         "value": replications[col].to_numpy(dtype=float)}))
        return pd.concat(out, ignore_index=True)
    pairs = {"harm": ("equity.harm_ratio", "equity.harm_gap_per_1000_patient_days"),
             "missed_care": ("equity.missed_care_ratio", "equity.missed_care_gap_pct")}
    for key, (ratio_col, gap_col) in pairs.items():
        if ratio_col not in replications.columns or gap_col not in replications.columns:
            continue
        r = replications[ratio_col].to_numpy(dtype=float)
        g = replications[gap_col].to_numpy(dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            recovered = np.where(np.abs(r - 1.0) > 1e-9, g / (r - 1.0), np.nan)
        other = np.where(np.isfinite(r), recovered, np.where(np.isfinite(g), 0.0, np.nan))
        lep = other + g
        for group, values in (("other", other), ("LEP", lep)):
            out.append(pd.DataFrame({"side": replications["side"].to_numpy(), "replication":
                                     replications["replication"].to_numpy(), "measure": key, "group": group,
                                     "value": values}))
    if not out:
        return pd.DataFrame(columns=["side", "replication", "measure", "group", "value"])
    return pd.concat(out, ignore_index=True)


def equity_summary(replications: pd.DataFrame) -> pd.DataFrame:
    """Mean and 95% CI over replications of each side's group values (side, measure, group, mean, ci_low,
    ci_high, n)."""
    groups = equity_groups(replications)
    rows = []
    for (side, measure, group), g in groups.groupby(["side", "measure", "group"], sort=False):
        values = g["value"].to_numpy(dtype=float)
        mean, lo, hi = mean_ci(values)
        rows.append({"side": side, "measure": measure, "group": group, "mean": mean, "ci_low": lo, "ci_high": hi,
                     "n": int(np.isfinite(values).sum())})
    return pd.DataFrame(rows, columns=["side", "measure", "group", "mean", "ci_low", "ci_high", "n"])


_EQUITY_PANELS = {"harm": ("Harm events", "per 1000 patient-days"),
                  "missed_care": ("Missed care", "% of tasks with a window")}
_RATIOS = {"equity.harm_ratio": "harm", "equity.missed_care_ratio": "missed care",
           "equity.call_light_wait_ratio": "call-light wait"}


def _bar(ax, x, mean, lo, hi, colour, hatch, label=None):
    err = None
    if math.isfinite(lo) and math.isfinite(hi):
        err = [[mean - lo], [hi - mean]]
    ax.bar([x], [mean if math.isfinite(mean) else 0.0], width=0.38, color=colour if not hatch else "white",
           edgecolor=colour, hatch=hatch, linewidth=1.5, label=label)
    if err is not None:
        ax.errorbar([x], [mean], yerr=err, fmt="none", ecolor="black", capsize=3, linewidth=1)


def equity_figure(summary: pd.DataFrame, paired: pd.DataFrame, names: dict[str, str]) -> Figure | None:
    """LEP and other patients side by side under A and B (harm, missed care), and the LEP / other ratios."""
    panels = [k for k in _EQUITY_PANELS if k in set(summary["measure"])]
    ratios = paired[paired["metric"].isin(_RATIOS)]
    if not panels and ratios.empty:
        return None
    n_axes = len(panels) + (0 if ratios.empty else 1)
    fig = new_figure(4.0 * n_axes, 3.9)
    axes = fig.subplots(1, n_axes, squeeze=False).ravel()
    for ax, key in zip(axes, panels):
        title, unit = _EQUITY_PANELS[key]
        sub = summary[summary["measure"] == key].set_index(["side", "group"])
        for i, side in enumerate("ab"):
            for j, (group, hatch) in enumerate((("other", ""), ("LEP", "///"))):
                if (side, group) not in sub.index:
                    continue
                r = sub.loc[(side, group)]
                _bar(ax, i + (j - 0.5) * 0.4, r["mean"], r["ci_low"], r["ci_high"], COLOURS[side], hatch,
                     label=f"{group} patients" if side == "a" else None)
        ax.set_xticks([0, 1], [f"A: {names['a']}", f"B: {names['b']}"], fontsize=8)
        ax.set_ylabel(unit)
        ax.set_title(f"{title}: other vs LEP patients", fontsize=9)
        ax.grid(axis="y", alpha=0.3)
        ax.set_axisbelow(True)
    if not ratios.empty:
        ax = axes[-1]
        ys = np.arange(len(ratios))[::-1]
        for y, r in zip(ys, ratios.to_dict("records")):
            for side, dy, marker in (("a", 0.15, "o"), ("b", -0.15, "s")):
                mean, lo, hi = r[f"{side}_mean"], r[f"{side}_ci_low"], r[f"{side}_ci_high"]
                if not math.isfinite(mean):
                    continue
                xerr = [[mean - lo], [hi - mean]] if math.isfinite(lo) and math.isfinite(hi) else None
                ax.errorbar([mean], [y + dy], xerr=xerr, fmt=marker, color=COLOURS[side], capsize=3, markersize=5,
                            label=f"{side.upper()}: {names[side]}" if y == ys[0] else None)
        ax.axvline(1.0, color="black", linestyle="--", linewidth=0.9)
        ax.set_yticks(ys, [_RATIOS[m] for m in ratios["metric"]], fontsize=8)
        ax.set_ylim(-0.6, len(ratios) - 0.4)
        ax.set_xlabel("LEP / other patients (ratio; dashed: 1 = equal)")
        ax.set_title("Ratios, LEP / other (95% CI)", fontsize=9)
        ax.grid(axis="x", alpha=0.3)
    handles, labels = [], []
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    fig.legend(handles, labels, loc="outside lower center", ncols=len(labels), fontsize=8, frameon=False)
    fig.suptitle("Equity: patients with limited English proficiency (LEP) and other patients; bars: mean of "
                 "replications, whiskers: 95% CI", fontsize=9.5)
    return fig


def _figures(data: CompareFolder, card: pd.DataFrame) -> dict[str, Figure]:
    n = data.replication_count
    figures: dict[str, Figure] = {}
    names = {side: for_plot(name) for side, name in data.names.items()}  # no mathematics from a user's name
    fig = scorecard_figure(card, names, n)
    if fig is not None:
        figures["scorecard"] = fig
    if data.weekly is not None:
        weekly = {s: data.side(data.weekly, s) for s in "ab"}
        units = dict(zip(data.paired["metric"], data.paired["unit"]))
        if not weekly["a"].empty and not weekly["b"].empty:
            titles = {m: label(m) for m in TIME_SERIES}
            titles["learning.active_defects_end"] = "Active workflow defects at the end of each week"
            fig = time_series_from_frames(weekly, names, units, n, TIME_SERIES, titles)
            if fig is not None:
                figures["time_series"] = fig
    if data.replications is not None:
        fig = equity_figure(equity_summary(data.replications), data.paired, names)
        if fig is not None:
            figures["equity"] = fig
    return figures


def comparison_figures(folder: str | Path) -> dict[str, Figure]:
    """The report's figures of a comparison folder: "scorecard", "time_series" and "equity" (a figure whose
    data is missing from the folder is left out)."""
    data = load_compare(folder)
    return _figures(data, _scorecard(data))


# --------------------------------------------------------------------------- the whole report

_CLASS = {"a": "better-a", "b": "better-b", "neither": "neither"}


def _scorecard_blocks(data: CompareFolder, card: pd.DataFrame, fig: Figure | None) -> list[Block]:
    names = {side: _name(data, side) for side in "ab"}
    blocks: list[Block] = [
        Heading(2, "Scorecard", "scorecard"),
        Para(f"Every outcome of the six quality dimensions, the workforce and the unit's learning: A "
             f"({names['a']}) and B ({names['b']}) as means over replications with 95% CIs, and the paired "
             f"difference B - A with its 95% CI. Rows are shaded **blue where B is better**, **orange where A is "
             "better**, and left white where the interval includes zero (no detectable difference); the "
             "last column says the same in words."),
    ]
    rows, classes = [], []
    for dim, group in card.groupby("dimension", sort=False):
        rows.append([dim, "", "", "", "", "", ""])
        classes.append("group")
        for r in group.to_dict("records"):
            better = r["better"]
            verdict = f"{better.upper()} ({names[better]})" if better in ("a", "b") else (
                "neither" if r["direction"] else "-")
            rows.append([r["label"], r["unit"], f"{fmt(r['a'])} {interval(r['a_ci_low'], r['a_ci_high'])}",
                         f"{fmt(r['b'])} {interval(r['b_ci_low'], r['b_ci_high'])}", signed(r["diff"]),
                         interval(r["ci_low"], r["ci_high"], sign=True), verdict])
            classes.append(_CLASS.get(better, "neither"))
    blocks.append(Table(["outcome", "unit", "A [95% CI]", "B [95% CI]", "B - A", "95% CI of B - A", "better"],
                        rows, classes, numeric={2, 3, 4, 5}))
    if fig is not None:
        blocks.append(Image("scorecard.png", png_bytes(fig), "Scorecard: change from A to B for every outcome",
                            "Each outcome's change from A to B as a percentage of A's mean, signed so that right "
                            "is better for B, with its 95% CI; the colour names the better side only where the "
                            "interval excludes zero. The right margin gives both means in the outcome's unit."))
    return blocks


def _time_series_blocks(data: CompareFolder, fig: Figure | None) -> list[Block]:
    blocks: list[Block] = [Heading(2, "Over time", "time-series")]
    if fig is None:
        blocks.append(Note("No weekly series to draw: " + ("; ".join(p for p in data.problems if "weekly" in p)
                                                           or "the weekly table has none of the series") + "."))
        return blocks
    drawn = series_to_plot(data.side(data.weekly, "a"), data.side(data.weekly, "b"), TIME_SERIES)
    blocks.append(Para("Week by week, the mean over replications of each side with its 95% band: "
                       + ", ".join(label(m).lower() for m in drawn) + ". The first weeks show the start-up "
                       "(the unit starts loaded with defects and tired staff); what matters is where each side "
                       "settles and whether the bands separate."))
    blocks.append(Image("weekly_series.png", png_bytes(fig), "Weekly time series of both sides with 95% bands",
                        "Weekly means of both sides; shaded: 95% CI over replications; A dashed (orange), "
                        "B solid (blue)."))
    return blocks


def _equity_blocks(data: CompareFolder, fig: Figure | None) -> list[Block]:
    blocks: list[Block] = [Heading(2, "Equity", "equity")]
    if data.replications is None:
        blocks.append(Note("`replications.parquet` is missing or unreadable, so LEP and other patients cannot be "
                           "shown side by side; the equity ratios and gaps are in the scorecard."))
        return blocks
    summary = equity_summary(data.replications)
    blocks.append(Para(
        "Patients with limited English proficiency (LEP) against all other patients, under each system: harm "
        "per 1,000 patient-days and missed care of each group, means over replications with 95% CIs."
        + ("" if "equity.harm_lep_per_1000_patient_days" in data.replications.columns else
           " These results predate the per-group metrics, so the levels are recovered from each replication's "
           "saved ratio and gap (other = gap / (ratio - 1), LEP = other + gap); a replication where the groups "
           "are exactly equal has no recoverable level and is left out (n says how many remain).")))
    rows = []
    for r in summary.to_dict("records"):
        title, unit = _EQUITY_PANELS[r["measure"]]
        rows.append([_side_name(data, r["side"]), title, r["group"], unit, fmt(r["mean"]),
                     interval(r["ci_low"], r["ci_high"]), str(r["n"])])
    if rows:
        blocks.append(Table(["side", "outcome", "patients", "unit", "mean", "95% CI", "n"], rows,
                            numeric={4, 5, 6}))
    if fig is not None:
        blocks.append(Image("equity.png", png_bytes(fig), "Equity panel: LEP and other patients under A and B",
                            "Left: harm and missed care of other patients (solid) and LEP patients (hatched) "
                            "under A (orange) and B (blue), with 95% CIs. Right: the LEP / other ratios with "
                            "95% CIs; 1 means equal."))
    return blocks


def _other_blocks(data: CompareFolder) -> list[Block]:
    rest = data.paired[data.paired["metric"].map(dimension_of).isna()]
    if rest.empty:
        return []
    rows = [[literal(label(r["metric"])), code(r["metric"]), literal(r["unit"]), fmt(r["a_mean"]), fmt(r["b_mean"]),
             signed(r["diff_mean"]), interval(r["diff_ci_low"], r["diff_ci_high"], sign=True)]
            for r in rest.to_dict("records")]
    return [Heading(2, "Volumes and flow", "flow"),
            Para("Counts and queueing diagnostics: what the unit did, not how well. They have no better side "
                 "(counts are shown for context; a diagnostic such as the census differs when stays differ)."),
            Table(["quantity", "metric", "unit", "A", "B", "B - A", "95% CI of B - A"], rows, numeric={3, 4, 5, 6})]


def _scenario_blocks(data: CompareFolder) -> list[Block]:
    blocks: list[Block] = [Heading(2, "Scenarios", "scenarios")]
    diffs = scenario_differences(data)
    if diffs is None:
        blocks.append(Note("The resolved scenarios are not both in this folder."))
        return blocks
    blocks.append(Para("Every setting of the resolved scenarios (`scenario-a.yaml`, `scenario-b.yaml`, every "
                       "default filled in) that differs between A and B; all other settings are the same."))
    if diffs.empty:
        blocks.append(Para("None: the two resolved scenarios are identical."))
    else:
        blocks.append(Table(["setting", "key", "A", "B"],
                            [[literal(setting_label(r.path)), code(r.path), literal(r.a), literal(r.b)]
                             for r in diffs.itertuples()]))
    return blocks


def _reproducibility(data: CompareFolder) -> list[Block]:
    m = data.manifest
    files = m.get("scenarios") or {}
    warm = m.get("warmup_days") or {}
    settings = [
        ("kind", "compare: two scenarios on common random numbers, paired by replication"),
        ("A", f"{code(files.get('a', 'not recorded'))} ({_name(data, 'a')})"),
        ("B", f"{code(files.get('b', 'not recorded'))} ({_name(data, 'b')})"),
        ("replications", str(m.get("replications", "not recorded"))),
        ("seed", str(m.get("seed", "not recorded"))),
        ("horizon", f"{plain(m.get('horizon_days'))} days after the warm-up"),
        ("warm-up", f"{plain(warm.get('a'))} days (A), {plain(warm.get('b'))} days (B)"),
        ("statistics", "mean and Student-t 95% CI over replications; paired Student-t 95% CI of B - A"),
    ]
    resolved = {f"scenario-{s}.yaml": h for s, h in (m.get("resolved_scenarios_sha256") or {}).items()}
    return reproducibility_blocks(data.folder, m, settings, resolved)


def comparison_blocks(data: CompareFolder) -> tuple[str, list[Block]]:
    """The report's title and blocks (figures rendered to PNG inside them)."""
    card = _scorecard(data)
    figures = _figures(data, card)
    blocks: list[Block] = []
    if data.problems:
        blocks.append(Note("This folder is incomplete, so parts of the report are missing: "
                           + "; ".join(data.problems) + "."))
    blocks += _brief_blocks(data, card)
    blocks += _scorecard_blocks(data, card, figures.get("scorecard"))
    blocks += compare_units_blocks(data.folder)
    blocks += _time_series_blocks(data, figures.get("time_series"))
    blocks += _equity_blocks(data, figures.get("equity"))
    blocks += uncertainty_section(data.folder)
    blocks += _other_blocks(data)
    blocks += _scenario_blocks(data)
    blocks += _reproducibility(data)
    title = f"{_name(data, 'b')} (B) against {_name(data, 'a')} (A)"
    return title, blocks
