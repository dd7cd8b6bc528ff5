"""Analysis of a sweep: factorial effects, grid tables, and global sensitivity indices.

- Factorial designs (full or fractional): the main effect of each factor and every two-way
  interaction on each metric. Each replication ``r`` gives one estimate of every effect from
  the design's contrasts (all points of replication ``r`` share its random numbers, so the
  contrasts are paired); the effect is the mean over replications with a Student-t interval.
  A main effect is the mean at the high level minus the mean at the low level; an
  interaction A:B is half the difference between A's effect at B high and at B low. In a
  fractional design every term carries its aliases.
- Grids (and designs with named levels): the mean of each metric at each point, with its
  interval over replications, and factors ranked by the range of their marginal means.
- Sobol designs: first-order and total indices (SALib), with bootstrap intervals.
- Morris designs: mu* (SALib), with its bootstrap interval, and sigma.
- Sobol and Morris designs smaller than :data:`careos_sim.experiment.design.MIN_SAMPLES` are refused (an
  :class:`~careos_sim.spec.loader.InputError`) unless the experiment set ``design.allow_small_samples``;
  an index that lies outside its possible range beyond its interval (S1 or ST outside [0, 1],
  S1 above ST, mu* below 0 or below |mu|) is flagged in the column ``flag`` and in the notes,
  as is every index of an allowed small design.
- Latin hypercubes: partial rank correlation coefficients with bootstrap intervals.

Sensitivity indices are computed on each point's mean over its replications; with few
replications the simulation's own noise adds to what the indices attribute to factors, so
the notes say how many replications each point had.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from careos_sim.experiment.design import MIN_SAMPLES
from careos_sim.measure.statistics import mean_ci
from careos_sim.spec.loader import InputError, InputIssue
from careos_sim.measure.metrics import BY_NAME
from careos_sim.results.folders import write_atomic
from careos_sim.experiment.sweep import Store, load_store

__all__ = ["Analysis", "analyze", "prcc"]

BOOTSTRAP = 1000
#: slack for rounding when an index is compared with the end of its range
TOLERANCE = 1e-9


@dataclass
class Analysis:
    """The tables of a sweep's analysis, its ranking of factors, and notes on what is missing."""

    kind: str
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    ranking: pd.DataFrame = field(default_factory=pd.DataFrame)
    notes: list[str] = field(default_factory=list)

    def document(self) -> dict[str, Any]:
        from careos_sim.results.folders import json_safe

        return json_safe({"kind": self.kind, "notes": self.notes,
                          "tables": {k: v.to_dict("records") for k, v in self.tables.items()},
                          "ranking": self.ranking.to_dict("records")})


def _meta(metric: str) -> tuple[str, str | None]:
    m = BY_NAME.get(metric)
    return (m.unit, m.direction) if m else ("", None)


def _metrics(store: Store) -> list[str]:
    return [m for m in store.manifest.get("metrics", []) if m in store.runs.columns]


def _signs(store: Store) -> pd.DataFrame:
    """-1/+1 of every factor at every point (first level low, second high)."""
    out = pd.DataFrame({"point": store.design["point"]})
    for f in store.manifest["factors"]:
        levels = f.get("levels") or [f.get("low"), f.get("high")]
        values = store.design[f["name"]]
        if f["kind"] == "bundle":
            high = values.astype(str) == str(levels[1])
        else:
            high = np.isclose(values.astype(float), float(levels[1]))
        out[f["name"]] = np.where(high, 1, -1)
    return out


def _pivot(store: Store, metric: str) -> pd.DataFrame:
    """Metric values with a row per point and a column per replication (NaN where a run is missing)."""
    ok = store.ok
    return ok.pivot(index="point", columns="replication", values=metric).reindex(store.design["point"])


def _factorial(store: Store, analysis: Analysis) -> None:
    signs = _signs(store)
    names = [f["name"] for f in store.manifest["factors"]]
    letters = {chr(65 + i): n for i, n in enumerate(names)}
    aliases = store.manifest.get("aliases") or {}
    terms: list[tuple[str, int, np.ndarray, str]] = []
    seen_columns: dict[bytes, str] = {}
    for order in (1, 2):
        for combo in itertools.combinations(range(len(names)), order):
            c = np.prod([signs[names[i]].to_numpy() for i in combo], axis=0)
            term = ":".join(names[i] for i in combo)
            key = "".join(chr(65 + i) for i in combo)
            chain = [":".join(letters[ch] for ch in a) for a in aliases.get(key, [])]
            if c.tobytes() in seen_columns or (-c).tobytes() in seen_columns:
                continue  # the same contrast as an earlier term: that term's row lists this one as an alias
            seen_columns[c.tobytes()] = term
            terms.append((term, order, c, " = ".join(chain)))
    n_points = len(signs)
    rows = []
    for metric in _metrics(store):
        y = _pivot(store, metric)
        full = y.columns[y.notna().all(axis=0)] if len(y.columns) else []
        dropped = len(y.columns) - len(full)
        if dropped:
            analysis.notes.append(f"{metric}: {dropped} replication(s) left out of the effects for missing or failed "
                                  f"runs")
        yy = y[list(full)].to_numpy(dtype=float)
        unit, direction = _meta(metric)
        for term, order, c, chain in terms:
            per_rep = _snap((c @ yy) / (n_points / 2), yy) if yy.size else np.array([])
            mean, lo, hi = mean_ci(per_rep)
            rows.append({"metric": metric, "term": term, "order": order, "effect": mean, "ci_low": lo, "ci_high": hi,
                         "n": int(per_rep.size), "aliases": chain, "unit": unit, "direction": direction})
    effects = pd.DataFrame(rows)
    if len(effects):
        effects["abs"] = effects["effect"].abs()
        effects["rank"] = effects.groupby("metric")["abs"].rank(ascending=False, method="min")
        effects["rank"] = effects["rank"].astype("Int64")
        effects = effects.sort_values(["metric", "rank"], kind="stable").drop(columns="abs").reset_index(drop=True)
        if effects["n"].max() < 2:
            analysis.notes.append("one replication per point: effects have no confidence intervals")
    analysis.tables["effects"] = effects
    mains = effects[effects["order"] == 1] if len(effects) else effects
    analysis.ranking = _rank(mains.rename(columns={"term": "factor", "effect": "value"}), "value",
                             "|main effect|", absolute=True)
    if store.manifest.get("resolution"):
        analysis.notes.append(f"fractional factorial of resolution {store.manifest['resolution']}: an effect "
                              f"estimate includes its aliases (column 'aliases')")


def _snap(values: np.ndarray, data: np.ndarray) -> np.ndarray:
    """Zero where a contrast is only floating-point rounding (identical runs at both levels)."""
    scale = float(np.nanmax(np.abs(data))) if np.isfinite(data).any() else 0.0
    return np.where(np.abs(values) <= 1e-9 * scale, 0.0, values)


def _rank(frame: pd.DataFrame, column: str, measure: str, absolute: bool) -> pd.DataFrame:
    if not len(frame):
        return pd.DataFrame(columns=["metric", "rank", "factor", "importance", "measure"])
    out = frame[["metric", "factor", column]].copy()
    out["importance"] = out[column].abs() if absolute else out[column]
    out["rank"] = out.groupby("metric")["importance"].rank(ascending=False, method="min").astype("Int64")
    out["measure"] = measure
    return out.sort_values(["metric", "rank"], kind="stable")[["metric", "rank", "factor", "importance",
                                                               "measure"]].reset_index(drop=True)


def _grid(store: Store, analysis: Analysis) -> None:
    names = store.factors
    rows, ranks = [], []
    ok = store.ok
    for metric in _metrics(store):
        unit, direction = _meta(metric)
        for point, group in ok.groupby("point"):
            mean, lo, hi = mean_ci(group[metric].to_numpy(dtype=float))
            rows.append({"metric": metric, "point": int(point), **{n: group[n].iloc[0] for n in names},
                         "mean": mean, "ci_low": lo, "ci_high": hi, "n": len(group), "unit": unit,
                         "direction": direction})
    grid = pd.DataFrame(rows)
    analysis.tables["grid"] = grid
    if len(grid):
        for metric, g in grid.groupby("metric", sort=False):
            for n in names:
                marginal = g.groupby(n)["mean"].mean()
                if len(marginal) > 1:
                    spread = _snap(np.array([marginal.max() - marginal.min()]), marginal.to_numpy())[0]
                    ranks.append({"metric": metric, "factor": n, "range": float(spread)})
    analysis.ranking = _rank(pd.DataFrame(ranks, columns=["metric", "factor", "range"]), "range",
                             "range of marginal means", absolute=False)
    partial = store.missing
    if len(partial):
        analysis.notes.append(f"{len(partial)} run(s) not yet run: the grid's means use the runs there are")


def _point_means(store: Store, metric: str) -> tuple[np.ndarray, int]:
    y = _pivot(store, metric)
    return y.mean(axis=1, skipna=True).to_numpy(dtype=float), int(y.notna().sum(axis=1).min()) if len(y) else 0


def _problem(store: Store) -> dict[str, Any]:
    fs = store.manifest["factors"]
    return {"num_vars": len(fs), "names": [f["name"] for f in fs], "bounds": [[f["low"], f["high"]] for f in fs]}


def _seed(store: Store) -> int:
    return int(np.random.SeedSequence([int(store.manifest.get("seed", 0)), 0xA7A]).generate_state(1)[0])


def small_sample(store: Store) -> bool:
    """Whether a Sobol or Morris store has fewer samples than :data:`careos_sim.experiment.design.MIN_SAMPLES`.
    Raises :class:`InputError` unless its experiment allowed that (``design.allow_small_samples``)."""
    design = store.manifest.get("design") or {}
    kind, n = design.get("type"), design.get("samples")
    least = MIN_SAMPLES.get(kind)
    if least is None or n is None or int(n) >= least:
        return False
    if design.get("allow_small_samples"):
        return True
    what = "base samples N" if kind == "sobol" else "trajectories r"
    raise InputError([InputIssue(
        str(Path(store.folder) / "manifest.json"), None, "design.samples",
        f"a {kind} design needs at least {least} {what} for indices that mean anything (fewer give intervals "
        f"too wide to rank factors); re-run the sweep with more samples, or with design.allow_small_samples: true "
        f"to analyse it anyway with every index flagged", n)])


def _sobol_flags(row: dict[str, Any], small: bool) -> str:
    """What is impossible about a row of Sobol indices: S1 and ST lie in [0, 1] and S1 <= ST. An estimate
    outside by more than its interval's half-width is flagged (inside the interval it is sampling noise)."""
    flags = []
    for name in ("S1", "ST"):
        v, lo, hi = row[name], row[f"{name}_ci_low"], row[f"{name}_ci_high"]
        if not math.isfinite(v):
            flags.append(f"{name} not a number")
        elif hi < -TOLERANCE or lo > 1 + TOLERANCE:
            flags.append(f"{name} outside [0, 1]")
    s1, st = row["S1"], row["ST"]
    if math.isfinite(s1) and math.isfinite(st):
        half = math.hypot(row["S1_ci_high"] - s1, row["ST_ci_high"] - st)
        if s1 - st > (half if math.isfinite(half) else 0.0) + TOLERANCE:
            flags.append("S1 > ST")
    if small:
        flags.append("small-sample")
    return "; ".join(flags)


def _morris_flags(row: dict[str, Any], small: bool) -> str:
    """What is impossible about a row of Morris measures: mu* (a mean of absolute effects) is >= 0 and
    >= |mu|, and sigma >= 0."""
    flags = []
    mu_star, mu, sigma = row["mu_star"], row["mu"], row["sigma"]
    if not math.isfinite(mu_star):
        flags.append("mu* not a number")
    elif mu_star < -TOLERANCE:
        flags.append("mu* < 0")
    elif math.isfinite(mu) and mu_star < abs(mu) - TOLERANCE * max(1.0, abs(mu)):
        flags.append("mu* < |mu|")
    if math.isfinite(sigma) and sigma < -TOLERANCE:
        flags.append("sigma < 0")
    if small:
        flags.append("small-sample")
    return "; ".join(flags)


def _sampled(store: Store, analysis: Analysis, kind: str) -> None:
    small = small_sample(store) if kind in MIN_SAMPLES else False
    problem = _problem(store)
    x = store.design[problem["names"]].to_numpy(dtype=float)
    rows, least = [], None
    for metric in _metrics(store):
        y, n_min = _point_means(store, metric)
        least = n_min if least is None else min(least, n_min)
        if np.isnan(y).any():
            analysis.notes.append(f"{metric}: {int(np.isnan(y).sum())} design point(s) have no finished run; "
                                  f"{kind} indices need every point, so this metric is left out")
            continue
        if np.ptp(y) == 0:
            analysis.notes.append(f"{metric}: the same value at every point; no indices")
            continue
        if kind == "sobol":
            from SALib.analyze import sobol

            s = sobol.analyze(problem, y, calc_second_order=False, num_resamples=BOOTSTRAP, conf_level=0.95,
                              seed=_seed(store))
            for i, name in enumerate(problem["names"]):
                rows.append({"metric": metric, "factor": name,
                             "S1": s["S1"][i], "S1_ci_low": s["S1"][i] - s["S1_conf"][i],
                             "S1_ci_high": s["S1"][i] + s["S1_conf"][i],
                             "ST": s["ST"][i], "ST_ci_low": s["ST"][i] - s["ST_conf"][i],
                             "ST_ci_high": s["ST"][i] + s["ST_conf"][i]})
        elif kind == "morris":
            from SALib.analyze import morris

            s = morris.analyze(problem, x, y, num_resamples=BOOTSTRAP, conf_level=0.95,
                               num_levels=int(store.manifest["design"].get("levels", 4)), seed=_seed(store))
            for i, name in enumerate(problem["names"]):
                rows.append({"metric": metric, "factor": name, "mu_star": s["mu_star"][i],
                             "mu_star_ci_low": s["mu_star"][i] - s["mu_star_conf"][i],
                             "mu_star_ci_high": s["mu_star"][i] + s["mu_star_conf"][i],
                             "mu": s["mu"][i], "sigma": s["sigma"][i]})
        else:
            est, lo, hi = prcc(x, y, seed=_seed(store))
            for i, name in enumerate(problem["names"]):
                rows.append({"metric": metric, "factor": name, "prcc": est[i], "ci_low": lo[i], "ci_high": hi[i]})
    table = pd.DataFrame(rows)
    name, column, measure = {"sobol": ("sobol", "ST", "total Sobol index ST"),
                             "morris": ("morris", "mu_star", "Morris mu*"),
                             "lhs": ("prcc", "prcc", "|partial rank correlation|")}[kind]
    for col in table.columns:
        if col not in ("metric", "factor"):
            table[col] = table[col].astype(float)
    if kind in MIN_SAMPLES:
        flag = _sobol_flags if kind == "sobol" else _morris_flags
        table["flag"] = pd.Series([flag(r, small) for r in table.to_dict("records")], index=table.index,
                                  dtype=object) if len(table) else pd.Series([], dtype=object)
    if len(table):  # most influential first within each metric, metrics in the experiment's order
        order = {m: i for i, m in enumerate(_metrics(store))}
        table = table.assign(_m=table["metric"].map(order), _k=-table[column].abs()).sort_values(
            ["_m", "_k"], kind="stable").drop(columns=["_m", "_k"]).reset_index(drop=True)
    analysis.tables[name] = table
    analysis.ranking = _rank(table, column, measure, absolute=kind == "lhs") if len(table) else _rank(
        pd.DataFrame(columns=["metric", "factor", column]), column, measure, False)
    if least is not None:
        analysis.notes.append(f"indices computed on each point's mean over its replications (at least {least} "
                              f"per point); simulation noise adds to what they attribute to the factors")
    if small:
        design = store.manifest.get("design") or {}
        analysis.notes.append(f"design.samples {design.get('samples')} is below the {MIN_SAMPLES[kind]} a {kind} "
                              f"design needs (allowed by design.allow_small_samples): every index is flagged "
                              f"small-sample and is not fit to rank factors")
    if "flag" in table.columns and len(table):
        odd = table[table["flag"].str.replace("small-sample", "", regex=False).str.strip("; ") != ""]
        if len(odd):
            listed = ", ".join(f"{r.metric} / {r.factor}: {r.flag}" for r in odd.head(5).itertuples())
            more = f" and {len(odd) - 5} more" if len(odd) > 5 else ""
            analysis.notes.append(f"{len(odd)} index row(s) outside the possible range beyond their interval "
                                  f"(column flag): {listed}{more}; too few samples or a metric too noisy for "
                                  f"these indices")


def prcc(x: np.ndarray, y: np.ndarray, seed: int = 0, resamples: int = BOOTSTRAP,
         level: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Partial rank correlation of ``y`` with each column of ``x``, and percentile bootstrap intervals
    (the coefficient itself: :func:`careos_sim.experiment.uncertainty.analysis.prcc`)."""
    from careos_sim.experiment.uncertainty.analysis import prcc as estimate

    est = estimate(x, y)
    rng = np.random.default_rng(seed)
    boots = np.array([estimate(x[idx], y[idx]) for idx in (rng.integers(0, len(y), len(y)) for _ in range(resamples))])
    a = (1 - level) / 2
    return est, np.nanquantile(boots, a, axis=0), np.nanquantile(boots, 1 - a, axis=0)


#: Design types ``analyze`` knows how to read.
ANALYSED = ("grid", "factorial", "fractional_factorial", "lhs", "sobol", "morris")


def analyze(store: Store | str | Path) -> Analysis:
    """Analyse a sweep's results folder (or a loaded :class:`Store`) by its design."""
    if not isinstance(store, Store):
        store = load_store(store)
    kind = store.manifest.get("design", {}).get("type")
    if kind not in ANALYSED:
        source = str(Path(store.folder) / "manifest.json")
        raise InputError([InputIssue(source, None, "design.type",
                                     f"analyze reads sweeps of a {', '.join(ANALYSED)} design; a calibration's "
                                     "wave is read by careos-sim calibrate (its plausible.parquet and targets.csv)",
                                     kind)])
    analysis = Analysis(kind=kind)
    if not len(store.ok):
        analysis.notes.append("no finished runs: nothing to analyse")
        return analysis
    if len(store.failed):
        analysis.notes.append(f"{len(store.failed)} run(s) failed and are left out (see the error column of "
                              f"runs.parquet)")
    if len(store.missing):
        analysis.notes.append(f"the sweep is incomplete: {len(store.missing)} of {store.manifest.get('runs_total')} "
                              f"runs have not run (complete them with careos-sim sweep ... --resume)")
    if kind in ("factorial", "fractional_factorial"):
        _factorial(store, analysis)
    elif kind == "grid":
        _grid(store, analysis)
    else:
        _sampled(store, analysis, kind)
    return analysis


def write_tables(analysis: Analysis, folder: Path) -> list[Path]:
    """Each table and the ranking as CSV in ``folder`` (written whole or not at all)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, frame in [*analysis.tables.items(), ("ranking", analysis.ranking)]:
        path = folder / f"{name}.csv"
        write_atomic(path, frame.to_csv(index=False).encode())
        written.append(path)
    write_atomic(folder / "notes.txt", ("\n".join(analysis.notes) + ("\n" if analysis.notes else "")).encode())
    return written


def _fmt(x: Any) -> str:
    if isinstance(x, float):
        if math.isnan(x):
            return "-"
        a = abs(x)
        return f"{x:,.0f}" if a >= 1000 else f"{x:.3g}" if a < 0.01 and x != 0 else f"{x:.2f}"
    return str(x)
