"""What the uncertainty in the model's free parameters does to a paired comparison of two scenarios.

A probabilistic sensitivity analysis (PSA) draws ``K`` parameter sets (from the plausible sets
of a calibration, or from Latin-hypercube ranges) and, for each set, simulates scenario A and
scenario B with that same set on both sides, ``R`` replications each, replication ``r`` of A
paired with replication ``r`` of B on common random numbers. This module reads the results of
such a run and says:

- how large the effect of B over A is across plausible parameter sets, and how often B is
  better (:func:`summarise`, :class:`OutcomeUncertainty`);
- which parameters drive the effect (partial rank correlation, :func:`prcc`, :class:`Driver`);
- how much of the spread of the effect comes from not knowing the parameters and how much is
  only the simulation's own noise (the variance decomposition in :class:`OutcomeUncertainty`);
- in which region of parameter space B fails to beat A (:func:`discover`, :class:`Box`);
- whether B is worth its cost: incremental cost, harm averted, ICER, net monetary benefit,
  the cost-effectiveness acceptability curve and the value of information
  (:func:`economics`, :class:`Economics`).

The input frame (the contract)
------------------------------
One row per (set, replication), with columns

- ``set`` (int, 0..K-1) and ``replication`` (int);
- one float column per uncertain parameter, named by its dotted path (for example
  ``departments.capacity_factor``), holding the same value on every row of a set;
- for each metric ``M``: ``a:M`` and ``b:M``, the metric under scenario A and under scenario B
  in that replication (NaN where the metric is undefined; a row where either side is NaN is
  skipped for that metric).

The effect is always **B - A**. A metric's ``direction`` is ``"lower"`` (lower is better),
``"higher"`` (higher is better) or ``None`` (no better side).

Every set counts equally. Everything here is pure: the functions read the frame and return
new objects, and given the same ``seed`` they return the same answer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd

__all__ = [
    "Box",
    "Driver",
    "Economics",
    "OutcomeUncertainty",
    "discover",
    "economics",
    "prcc",
    "set_effects",
    "summarise",
]

#: the directions a metric may have
DIRECTIONS = ("lower", "higher", None)
#: text of a box with no rules: B fails to beat A whatever the parameters
EVERYWHERE = "in every plausible setting"
#: a residual sum of squares below this share of the total counts as zero (a collinear or constant column)
_DEGENERATE = 1e-10


# --------------------------------------------------------------------------------------------
# helpers


def _num(value: Any) -> float | None:
    """A JSON-able number: a plain float, or None for NaN, infinity or None."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _check_direction(direction: str | None) -> None:
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be 'lower', 'higher' or None, not {direction!r}")


def _triple(values: np.ndarray) -> tuple[float, float, float]:
    """Median, 5th and 95th percentile (linear interpolation) of ``values``."""
    if len(values) == 0:
        return (math.nan, math.nan, math.nan)
    q = np.quantile(values, [0.5, 0.05, 0.95])
    return (float(q[0]), float(q[1]), float(q[2]))


def _triple_record(values: tuple[float, float, float]) -> dict[str, float | None]:
    return {"median": _num(values[0]), "p05": _num(values[1]), "p95": _num(values[2])}


def _better(effect: np.ndarray, direction: str) -> np.ndarray:
    """True where the effect B - A is better for B."""
    return effect < 0 if direction == "lower" else effect > 0


def _sets(frame: pd.DataFrame, metric: str, parameters: Sequence[str]) -> pd.DataFrame:
    """The rows of :func:`set_effects` with a defined effect, checked to carry every parameter."""
    table = set_effects(frame, metric)
    missing = [p for p in parameters if p not in frame.columns]
    if missing:
        raise KeyError(f"parameter column(s) not in the frame: {', '.join(missing)}")
    varying = [p for p in parameters if p not in table.columns]
    if varying:
        raise ValueError(f"parameter column(s) not constant within a set: {', '.join(varying)}")
    table = table[table["effect"].notna()]
    if table.empty:
        raise ValueError(f"no set has a defined effect on {metric!r} (every pair has a NaN)")
    if len(parameters):
        values = table[list(parameters)].to_numpy(dtype=float)
        if not np.isfinite(values).all():
            bad = [p for p in parameters if not np.isfinite(table[p].to_numpy(dtype=float)).all()]
            raise ValueError(f"parameter column(s) with NaN or infinite values: {', '.join(bad)}")
    return table


# --------------------------------------------------------------------------------------------
# set means


def set_effects(frame: pd.DataFrame, metric: str) -> pd.DataFrame:
    """The effect of B over A on ``metric`` in each parameter set.

    For each row the paired difference ``b:metric - a:metric`` is taken (rows where either side
    is NaN are skipped); per set:

    - ``effect``: the mean paired difference, the set's estimate of B - A (NaN if no pair is defined);
    - ``noise_var``: the variance of the paired differences (ddof=1) divided by their number, the
      squared standard error of ``effect``, i.e. how much simulation noise remains in the set mean
      (NaN with fewer than two pairs);
    - ``n``: the number of pairs used;
    - then every other column that is neither ``set``, ``replication`` nor a metric (``a:...``,
      ``b:...``) and is constant within every set: the parameter values of the set. A column
      that varies within a set is left out (it is not a parameter).

    Every set in the frame has a row, sorted by set, the index named ``set``.
    """
    if "set" not in frame.columns:
        raise KeyError("the frame has no 'set' column")
    a_col, b_col = f"a:{metric}", f"b:{metric}"
    missing = [c for c in (a_col, b_col) if c not in frame.columns]
    if missing:
        raise KeyError(f"metric column(s) not in the frame: {', '.join(missing)}")
    if "replication" in frame.columns and frame.duplicated(["set", "replication"]).any():
        raise ValueError("the frame has more than one row for some (set, replication)")
    diff = pd.to_numeric(frame[b_col], errors="coerce").astype(float) - \
        pd.to_numeric(frame[a_col], errors="coerce").astype(float)
    diff = diff.where(np.isfinite(diff))
    groups = diff.groupby(frame["set"], sort=True)
    n = groups.count()
    var = groups.var(ddof=1)
    out = pd.DataFrame({
        "effect": groups.mean(),
        "noise_var": (var / n).where(n >= 2),
        "n": n.astype(int),
    })
    out.index.name = "set"
    others = [c for c in frame.columns
              if c not in ("set", "replication") and not str(c).startswith(("a:", "b:"))]
    if others:
        by_set = frame.groupby("set", sort=True)[others]
        constant = by_set.nunique(dropna=False).le(1).all()
        kept = [c for c in others if bool(constant[c])]
        if kept:
            out = out.join(by_set.first()[kept])
    return out


# --------------------------------------------------------------------------------------------
# drivers


def prcc(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Partial rank correlation coefficient of ``y`` with each column of ``x``.

    ``x`` is K x p (K parameter sets, p parameters), ``y`` has length K. All columns and ``y``
    are rank-transformed (ties get their average rank); for parameter ``i`` the ranks of ``y``
    and of ``x_i`` are each regressed (least squares, with an intercept) on the ranks of the
    other parameters, and the coefficient is the correlation of the two residuals. It says how
    strongly, and in which direction, ``y`` rises monotonically with ``x_i`` once the other
    parameters are accounted for: +1 always up, -1 always down, 0 no monotone relation.

    A parameter that is constant, or fully determined by the others, gets NaN, as do all of them
    if ``y`` is constant (given the others).
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.ndim == 1:
        x = x.reshape(-1, 1)
    if x.ndim != 2 or y.ndim != 1 or x.shape[0] != y.shape[0]:
        raise ValueError(f"x must be K x p and y of length K; got {x.shape} and {y.shape}")
    return prcc_stack(x[None], y[None])[0]


def prcc_stack(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """:func:`prcc` of B samples at once: ``x`` is B x K x p, ``y`` B x K; the answer is B x p.

    The same computation as :func:`prcc` for each sample (ranks, least-squares residuals with an
    intercept, their correlation), done on the whole stack with one rank transform and one
    batched pseudo-inverse per parameter, so that a bootstrap of hundreds of resamples costs
    about as much as a few single calls.
    """
    from scipy.stats import rankdata

    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.ndim != 3 or y.ndim != 2 or x.shape[:2] != y.shape:
        raise ValueError(f"x must be B x K x p and y B x K; got {x.shape} and {y.shape}")
    b, k, p = x.shape
    out = np.full((b, p), math.nan)
    if k < 3 or p == 0 or b == 0:
        return out
    ranks = rankdata(x, axis=1)
    ry = rankdata(y, axis=1)
    ty = ((ry - ry.mean(axis=1, keepdims=True)) ** 2).sum(axis=1)
    ones = np.ones((b, k, 1))
    for i in range(p):
        others = np.concatenate([ones, np.delete(ranks, i, axis=2)], axis=2)
        targets = np.stack([ranks[:, :, i], ry], axis=2)
        coef = np.linalg.pinv(others) @ targets
        residuals = targets - others @ coef
        ex, ey = residuals[..., 0], residuals[..., 1]
        sx, sy = (ex * ex).sum(axis=1), (ey * ey).sum(axis=1)
        tx = ((targets[..., 0] - targets[..., 0].mean(axis=1, keepdims=True)) ** 2).sum(axis=1)
        ok = (sx > _DEGENERATE * tx) & (sy > _DEGENERATE * ty) & (tx != 0) & (ty != 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            r = np.clip((ex * ey).sum(axis=1) / np.sqrt(sx * sy), -1.0, 1.0)
        out[ok, i] = r[ok]
    return out


def _percentile_ci(boots: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval of each column of ``boots``, ignoring NaN (NaN where all are NaN)."""
    tail = (1 - level) / 2
    low = np.full(boots.shape[1], math.nan)
    high = np.full(boots.shape[1], math.nan)
    for j in range(boots.shape[1]):
        finite = boots[:, j][np.isfinite(boots[:, j])]
        if len(finite):
            low[j], high[j] = np.quantile(finite, [tail, 1 - tail])
    return low, high


@dataclass(frozen=True)
class Driver:
    """One uncertain parameter's influence on the effect of B over A.

    ``index`` is the partial rank correlation coefficient (PRCC, see :func:`prcc`) of the
    set-mean effect with the parameter: near +1 the effect grows with the parameter, near -1 it
    shrinks, near 0 the parameter does not move it. ``ci_low``/``ci_high`` are a 95% percentile
    bootstrap interval from resampling the parameter sets; an interval that excludes 0 says the
    parameter's influence is not a fluke of the sets drawn.
    """

    parameter: str
    index: float
    ci_low: float
    ci_high: float

    def record(self) -> dict[str, Any]:
        """A JSON-able dict: parameter, index, ci_low, ci_high, method ("prcc"); NaN as None."""
        return {"parameter": self.parameter, "index": _num(self.index), "ci_low": _num(self.ci_low),
                "ci_high": _num(self.ci_high), "method": "prcc"}


# --------------------------------------------------------------------------------------------
# the effect across sets


@dataclass(frozen=True)
class OutcomeUncertainty:
    """How the effect of B over A on one metric varies across plausible parameter sets.

    - ``sets``: parameter sets with a defined effect; ``replications``: the median number of
      paired replications per set (rounded to an integer).
    - ``effect_median``, ``effect_p05``, ``effect_p95``: the median and the 5th and 95th
      percentiles of the set-mean effects B - A: the effect one should expect, and the range in
      which it lies for 90% of plausible parameter sets.
    - ``p_better``: the share of sets in which B comes out better than A (set-mean effect below 0
      for a "lower is better" metric, above 0 for "higher"); None when the metric has no better side.
    - ``drivers``: each parameter's PRCC with the effect, strongest (largest |index|) first.
    - ``variance_total``: the variance (ddof=1) of the set-mean effects across sets.
    - ``variance_noise``: the part of it that is only simulation noise. When every set ran the
      same replications on common random numbers, the residual mean square of the two-way
      (set x replication) layout over R (see :func:`_crn_noise`: the replication's shared luck
      moves all sets alike and does not spread them); otherwise the mean over sets of the
      squared standard error of a set mean (within-set variance of the paired differences / pairs).
    - ``variance_parameter``: ``max(0, total - noise)``, the part due to not knowing the parameters.
    - ``parameter_share``: ``variance_parameter / variance_total``: near 1, the spread of the effect
      is parameter uncertainty (more replications would not narrow it); near 0, it is mostly noise
      (more replications per set would). None when the total variance is 0 or undefined.
    """

    metric: str
    direction: str | None
    sets: int
    replications: int
    effect_median: float
    effect_p05: float
    effect_p95: float
    p_better: float | None
    drivers: tuple[Driver, ...]
    variance_total: float
    variance_noise: float
    variance_parameter: float
    parameter_share: float | None

    def record(self) -> dict[str, Any]:
        """A JSON-able dict (NaN as None): effect_median, effect_p05, effect_p95, p_better,
        drivers (a list of :meth:`Driver.record`), variance {total, noise, parameter,
        parameter_share}, sets, replications."""
        return {
            "effect_median": _num(self.effect_median),
            "effect_p05": _num(self.effect_p05),
            "effect_p95": _num(self.effect_p95),
            "p_better": _num(self.p_better),
            "drivers": [d.record() for d in self.drivers],
            "variance": {"total": _num(self.variance_total), "noise": _num(self.variance_noise),
                         "parameter": _num(self.variance_parameter),
                         "parameter_share": _num(self.parameter_share)},
            "sets": int(self.sets),
            "replications": int(self.replications),
        }


def _crn_noise(frame: pd.DataFrame, metric: str, sets: pd.Index) -> float | None:
    """The simulation noise in the spread of set means when every set ran the same replications
    on common random numbers, or None when they did not (a replication missing in some set).

    With common random numbers across sets, replication r's luck is shared by every set: the
    paired difference is d[k, r] = mu + alpha_k + beta_r + e[k, r], and only e moves one set's
    mean against another's. Its variance is the residual mean square of the two-way layout,
    sum (d - row mean - column mean + grand mean)^2 / ((K - 1)(R - 1)), and the noise in a set
    mean is that over R. (The within-set variance / R that an unpaired design would use counts
    beta_r too, which shifts every set alike and does not spread them.)"""
    if "replication" not in frame.columns:
        return None
    d = (pd.to_numeric(frame[f"b:{metric}"], errors="coerce") - pd.to_numeric(frame[f"a:{metric}"], errors="coerce"))
    wide = pd.DataFrame({"set": frame["set"], "replication": frame["replication"], "d": d}) \
        .pivot_table(index="set", columns="replication", values="d", aggfunc="first", dropna=False)
    wide = wide.reindex(sets)
    k, r = wide.shape
    if k < 2 or r < 2 or not np.isfinite(wide.to_numpy(dtype=float)).all():
        return None
    m = wide.to_numpy(dtype=float)
    resid = m - m.mean(axis=1, keepdims=True) - m.mean(axis=0, keepdims=True) + m.mean()
    return float((resid ** 2).sum() / ((k - 1) * (r - 1)) / r)


def summarise(frame: pd.DataFrame, parameters: list[str], metric: str, direction: str | None, *,
              seed: int = 0, bootstrap: int = 300) -> OutcomeUncertainty:
    """The effect of B over A on ``metric`` across the parameter sets of a PSA frame.

    Sets whose every pair is NaN are left out. ``parameters`` are the parameter columns to rank
    as drivers; the PRCC intervals come from ``bootstrap`` resamples of the sets drawn with
    ``numpy.random.default_rng(seed)`` (``bootstrap=0`` leaves them NaN). See
    :class:`OutcomeUncertainty` for what each figure means.
    """
    _check_direction(direction)
    if bootstrap < 0:
        raise ValueError("bootstrap must be 0 or more")
    parameters = list(parameters)
    table = _sets(frame, metric, parameters)
    effect = table["effect"].to_numpy(dtype=float)
    k = len(effect)
    median, p05, p95 = _triple(effect)
    p_better = None if direction is None else float(_better(effect, direction).mean())

    drivers: tuple[Driver, ...] = ()
    if parameters:
        x = table[parameters].to_numpy(dtype=float)
        index = prcc(x, effect)
        if bootstrap > 0 and k >= 3:
            rng = np.random.default_rng(seed)
            draws = rng.integers(0, k, size=(bootstrap, k))
            boots = prcc_stack(x[draws], effect[draws])
            low, high = _percentile_ci(boots)
        else:
            low = high = np.full(len(parameters), math.nan)
        found = [Driver(p, float(index[i]), float(low[i]), float(high[i])) for i, p in enumerate(parameters)]
        # strongest first; undefined (NaN) last; ties keep the order given
        drivers = tuple(sorted(found, key=lambda d: -abs(d.index) if math.isfinite(d.index) else math.inf))

    total = float(np.var(effect, ddof=1)) if k >= 2 else math.nan
    noise = _crn_noise(frame, metric, table.index)
    if noise is None:
        noise_values = table["noise_var"].to_numpy(dtype=float)
        noise_values = noise_values[np.isfinite(noise_values)]
        noise = float(noise_values.mean()) if len(noise_values) else math.nan
    if math.isfinite(total) and math.isfinite(noise):
        parameter = max(0.0, total - noise)
    else:
        parameter = math.nan
    share = parameter / total if math.isfinite(total) and total > 0 and math.isfinite(parameter) else None
    return OutcomeUncertainty(
        metric=metric, direction=direction, sets=k,
        replications=int(round(float(np.median(table["n"].to_numpy())))),
        effect_median=median, effect_p05=p05, effect_p95=p95, p_better=p_better, drivers=drivers,
        variance_total=total, variance_noise=noise, variance_parameter=parameter, parameter_share=share,
    )


# --------------------------------------------------------------------------------------------
# where B fails


def _threshold_text(value: float) -> str:
    """``value`` with 3 significant digits, without an exponent (0.42, 71, 1230, 0.000123)."""
    return np.format_float_positional(float(value), precision=3, unique=False, fractional=False, trim="-")


@dataclass(frozen=True)
class Box:
    """A region of parameter space where B fails to beat A on a metric.

    - ``rules``: the region, as ``(parameter, "<" or ">=", threshold)`` conditions that all hold;
      each parameter appears at most once per side. No rules: the whole space.
    - ``coverage``: the share of all failing sets that lie in the box (how much of the failure it explains).
    - ``density``: the share of the sets in the box that fail (how reliably B fails there).
    - ``n``: the number of sets in the box.
    """

    rules: tuple[tuple[str, str, float], ...]
    coverage: float
    density: float
    n: int

    def text(self, names: dict[str, str] | None = None) -> str:
        """The rules in words, e.g. ``"departments.capacity_factor < 0.42 and defects.initial >= 71"``.

        Thresholds have 3 significant digits; ``names`` maps a parameter path to a readable name.
        A box with no rules reads ``"in every plausible setting"``.
        """
        if not self.rules:
            return EVERYWHERE
        names = names or {}
        return " and ".join(f"{names.get(p, p)} {op} {_threshold_text(t)}" for p, op, t in self.rules)

    def record(self) -> dict[str, Any]:
        """A JSON-able dict: rules (a list of {parameter, op, threshold}), coverage, density, n, text."""
        return {
            "rules": [{"parameter": p, "op": op, "threshold": _num(t)} for p, op, t in self.rules],
            "coverage": _num(self.coverage),
            "density": _num(self.density),
            "n": int(self.n),
            "text": self.text(),
        }


def _merge(path: list[tuple[str, str, float]]) -> tuple[tuple[str, str, float], ...]:
    """Merge a path's conditions so each parameter appears at most once per side.

    Two ``<`` on a parameter keep the smaller threshold, two ``>=`` the larger. Parameters come in
    the order they are first split on (root first); for one parameter the lower bound (``>=``)
    comes before the upper (``<``).
    """
    order: list[str] = []
    low: dict[str, float] = {}
    high: dict[str, float] = {}
    for parameter, op, threshold in path:
        if parameter not in order:
            order.append(parameter)
        if op == "<":
            high[parameter] = min(threshold, high.get(parameter, math.inf))
        else:
            low[parameter] = max(threshold, low.get(parameter, -math.inf))
    rules: list[tuple[str, str, float]] = []
    for parameter in order:
        if parameter in low:
            rules.append((parameter, ">=", float(low[parameter])))
        if parameter in high:
            rules.append((parameter, "<", float(high[parameter])))
    return tuple(rules)


def discover(frame: pd.DataFrame, parameters: Sequence[str], metric: str, direction: str | None, *,
             max_depth: int = 2, min_leaf_share: float = 0.1, seed: int = 0) -> list[Box]:
    """Regions of parameter space where B fails to beat A on ``metric`` (scenario discovery).

    A set *fails* when its set-mean effect is not better for B: ``effect >= 0`` for a "lower is
    better" metric, ``effect <= 0`` for "higher". A shallow
    ``sklearn.tree.DecisionTreeClassifier(max_depth=max_depth,
    min_samples_leaf=ceil(min_leaf_share * K), random_state=seed)`` is fitted to the fail labels on
    the ``parameters``; each of its regions whose majority (more than half of its sets) fails is
    returned as a :class:`Box`, its rules being the conditions on the path from the root, merged
    so each parameter appears at most once per side.

    Sibling leaves that are both failing, or both not failing, are first collapsed into their
    parent, bottom-up: such a split does not change which sets are called failing, and keeping
    it would only cut one region into pieces (a nearly pure failing region would otherwise
    appear as a small pure box plus a slightly mixed one).

    Boxes come sorted by density, then coverage, then size, descending.

    Edge cases: when no set fails the answer is ``[]``; when every set fails it is one box with no
    rules (``rules == ()``, coverage 1, density 1, text ``"in every plausible setting"``).
    A metric without a better side (``direction=None``) has no failure and raises ``ValueError``.
    """
    from sklearn.tree import DecisionTreeClassifier

    _check_direction(direction)
    if direction is None:
        raise ValueError("discover needs a direction ('lower' or 'higher'): a metric without a better "
                         "side has no failure")
    if not 0 < min_leaf_share <= 0.5:
        raise ValueError("min_leaf_share must be in (0, 0.5]")
    parameters = list(parameters)
    if not parameters:
        raise ValueError("discover needs at least one parameter")
    table = _sets(frame, metric, parameters)
    effect = table["effect"].to_numpy(dtype=float)
    fails = ~_better(effect, direction)
    k = len(effect)
    total_fails = int(fails.sum())
    if total_fails == 0:
        return []
    if total_fails == k:
        return [Box(rules=(), coverage=1.0, density=1.0, n=k)]

    x = table[parameters].to_numpy(dtype=float)
    tree = DecisionTreeClassifier(max_depth=max_depth, min_samples_leaf=max(1, math.ceil(min_leaf_share * k)),
                                  random_state=seed)
    tree.fit(x, fails.astype(int))
    structure = tree.tree_
    members = tree.decision_path(x).tocsc()

    def node_sets(node: int) -> np.ndarray:
        return members[:, node].toarray().ravel().astype(bool)

    def majority_fails(node: int) -> bool:
        inside = node_sets(node)
        return bool(fails[inside].mean() > 0.5)

    def verdict(node: int) -> bool | None:
        """The majority class shared by every leaf under ``node`` after collapsing, or None if mixed."""
        left, right = structure.children_left[node], structure.children_right[node]
        if left == right:  # a leaf
            return majority_fails(node)
        vl, vr = verdict(left), verdict(right)
        return vl if vl is not None and vl == vr else None

    boxes: list[Box] = []

    def walk(node: int, path: list[tuple[str, str, float]]) -> None:
        v = verdict(node)
        if v is None:
            name = parameters[structure.feature[node]]
            threshold = float(structure.threshold[node])
            # sklearn sends x <= threshold left; the threshold lies between two observed values,
            # so on the sets "<" and "<=" agree.
            walk(structure.children_left[node], path + [(name, "<", threshold)])
            walk(structure.children_right[node], path + [(name, ">=", threshold)])
            return
        if not v:
            return
        inside = node_sets(node)
        n = int(inside.sum())
        failing = int(fails[inside].sum())
        boxes.append(Box(rules=_merge(path), coverage=failing / total_fails, density=failing / n, n=n))

    walk(0, [])
    boxes.sort(key=lambda b: (-b.density, -b.coverage, -b.n, b.text()))
    return boxes


# --------------------------------------------------------------------------------------------
# economics


def _smooth(theta: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Fitted E[values | theta]: a penalised cubic regression spline in one parameter.

    Why this smoother: the regression EVPPI of Strong, Oakley & Brennan (2014) needs a smooth,
    flexible fit of the net benefit on one parameter (they use a generalised additive model).
    Here the basis is cubic B-splines (``sklearn.preprocessing.SplineTransformer``) on knots at
    quantiles of ``theta``, about sqrt(K)/2 of them (3 to 20), so from ~20 sets (5 basis functions)
    to ~1000 (18) the fit can follow a curved or kinked relation without chasing single sets. The
    coefficients are fitted by ridge regression with an unpenalised intercept; since the
    B-splines sum to one, a strong penalty shrinks the fit towards the constant mean. The penalty
    is chosen by exact leave-one-out cross-validation (closed form, from one SVD of the basis),
    taking the *strongest* penalty whose leave-one-out error is within one standard error (paired
    over sets) of the best one. That rule matters: EVPPI is mean(max(0, g)) - max(0, mean(g)), so
    any noise the fit picks up around 0 counts as information; with the plain best penalty an
    irrelevant parameter got an EVPPI of up to a fifth of the EVPI in simulation studies (binned
    means fared worse, each bin's mean being noisy), with the one-standard-error rule it stays at
    about 0, for a loss of a few percent of the EVPPI of a relevant parameter. A parameter with
    fewer than two distinct values gets the constant mean. Deterministic, milliseconds per parameter.
    """
    from sklearn.preprocessing import SplineTransformer

    k = len(values)
    centre = float(values.mean())
    constant = np.full(k, centre)
    if k < 4 or len(np.unique(theta)) < 2:
        return constant
    n_knots = int(np.clip(round(math.sqrt(k) / 2), 3, 20))
    knots = np.unique(np.quantile(theta, np.linspace(0, 1, n_knots)))
    if len(knots) < 2:
        return constant
    basis = SplineTransformer(knots=knots.reshape(-1, 1), degree=3, extrapolation="linear").fit_transform(
        theta.reshape(-1, 1))
    basis = basis - basis.mean(axis=0)
    y = values - centre
    u, s, _ = np.linalg.svd(basis, full_matrices=False)
    keep = s > s.max() * 1e-10 if len(s) and s.max() > 0 else np.zeros(len(s), dtype=bool)
    if not keep.any():
        return constant
    u, s2 = u[:, keep], s[keep] ** 2
    uty = u.T @ y
    alphas = s2.max() * np.logspace(-8, 4, 49)      # from almost no penalty to almost constant
    fits, errors = [], []
    for alpha in alphas:
        shrink = s2 / (s2 + alpha)
        fit = u @ (shrink * uty)
        leverage = 1.0 / k + (u ** 2) @ shrink
        errors.append(((y - fit) / np.maximum(1.0 - leverage, 1e-12)) ** 2)
        fits.append(fit)
    loo = np.array(errors)                          # alphas x sets: squared leave-one-out errors
    best = int(np.argmin(loo.mean(axis=1)))
    excess = loo - loo[best]
    se = excess.std(axis=1, ddof=1) / math.sqrt(k)
    chosen = int(np.flatnonzero(excess.mean(axis=1) <= se).max())
    return centre + fits[chosen]


def _evpi(nmb: np.ndarray) -> float:
    """Expected value of perfect information for B versus A with incremental net benefit ``nmb``."""
    return float(np.maximum(nmb, 0).mean() - max(0.0, float(nmb.mean())))


@dataclass(frozen=True)
class Economics:
    """Whether B is worth its cost compared with A, across plausible parameter sets.

    All figures are of B over A, per 1,000 patient-days unless said otherwise; triples are
    (median, 5th percentile, 95th percentile) across sets.

    - ``wtp_per_harm``: the willingness to pay for one harm event averted (currency).
    - ``incremental_cost``: how much more B costs, ``1000 * (cost_b - cost_a)``.
    - ``harm_averted``: harm events B avoids, ``harm_a - harm_b``.
    - ``icer_per_harm_averted``: the incremental cost-effectiveness ratio, the extra cost per harm
      event averted, as the ratio of the means across sets; None when B averts no harm on average.
      Negative when B is on average cheaper and safer (B dominates).
    - ``cost_per_burnout_case_avoided``: the mean extra cost per year divided by the mean number of
      nurse burnout cases B avoids per year; None when it avoids none on average, or when no
      burnout metric, number of nurses or patient-days per year was given. Negative when B is
      also cheaper.
    - ``nmb``: the net monetary benefit of B at ``wtp_per_harm``, ``wtp * harm_averted -
      incremental_cost``: above 0, B's harm reduction is worth more than it costs.
    - ``p_cost_effective``: the share of sets where the net monetary benefit is above 0.
    - ``ceac``: the cost-effectiveness acceptability curve, ``p_cost_effective`` at each
      willingness to pay of a grid (columns ``wtp``, ``p_cost_effective``).
    - ``evpi``: the expected value of perfect information at ``wtp_per_harm``: how much per 1,000
      patient-days the choice between A and B would gain, on average, if the parameters were known
      exactly, ``mean(max(0, nmb)) - max(0, mean(nmb))``. 0 when the same choice is right in every set.
      It is computed on set means, so the simulation noise left in them counts as uncertainty too:
      with few replications per set it overstates the value of knowing the parameters.
    - ``evppi``: the same for knowing one parameter exactly (expected value of partial perfect
      information, regression method of Strong, Oakley & Brennan 2014), between 0 and ``evpi``:
      the parameters worth measuring better are those with a large value.

    Equality ignores ``ceac`` (a data frame).
    """

    wtp_per_harm: float
    incremental_cost: tuple[float, float, float]
    harm_averted: tuple[float, float, float]
    icer_per_harm_averted: float | None
    cost_per_burnout_case_avoided: float | None
    nmb: tuple[float, float, float]
    p_cost_effective: float
    ceac: pd.DataFrame = field(compare=False)
    evpi: float
    evppi: dict[str, float]

    def record(self) -> dict[str, Any]:
        """A JSON-able dict (NaN as None); triples as {median, p05, p95}, ``ceac`` as a list of
        {wtp, p_cost_effective}."""
        return {
            "wtp_per_harm": _num(self.wtp_per_harm),
            "incremental_cost": _triple_record(self.incremental_cost),
            "harm_averted": _triple_record(self.harm_averted),
            "icer_per_harm_averted": _num(self.icer_per_harm_averted),
            "cost_per_burnout_case_avoided": _num(self.cost_per_burnout_case_avoided),
            "nmb": _triple_record(self.nmb),
            "p_cost_effective": _num(self.p_cost_effective),
            "ceac": [{"wtp": _num(w), "p_cost_effective": _num(p)}
                     for w, p in zip(self.ceac["wtp"], self.ceac["p_cost_effective"])],
            "evpi": _num(self.evpi),
            "evppi": {name: _num(value) for name, value in self.evppi.items()},
        }


def economics(frame: pd.DataFrame, parameters: Sequence[str], *, wtp_per_harm: float,
              cost: str = "efficiency.cost_per_patient_day",
              harm: str = "safety.harm_per_1000_patient_days",
              burnout: str | None = "workforce.burnout_pct",
              patient_days_per_year: float, nurses: float | None,
              wtp_grid: Sequence[float] | None = None) -> Economics:
    """The cost-effectiveness of B over A across the parameter sets of a PSA frame.

    Per set (set means of the paired differences, see :func:`set_effects`):

    - incremental cost per 1,000 patient-days = ``1000 * (cost_b - cost_a)``, ``cost`` being a cost
      per patient-day;
    - harm averted per 1,000 patient-days = ``harm_a - harm_b``, ``harm`` being per 1,000 patient-days;
    - net monetary benefit = ``wtp_per_harm * harm averted - incremental cost``;
    - incremental cost per year = ``(cost_b - cost_a) * patient_days_per_year``;
    - burnout cases avoided per year = ``(burnout_a - burnout_b) / 100 * nurses``, ``burnout``
      being a percentage of nurses.

    Only sets where both the cost and the harm effect are defined are used; the cost per burnout
    case avoided uses those of them where the burnout effect is also defined; it is None with
    ``burnout=None`` or when ``nurses`` or ``patient_days_per_year`` is None or NaN (unknown).
    The CEAC grid defaults to 41 steps from 0 to ``5 * wtp_per_harm`` (to 100,000 if
    ``wtp_per_harm`` is 0). See :class:`Economics` for what each figure means, and :func:`_smooth`
    for the regression behind the EVPPI.
    """
    if not math.isfinite(wtp_per_harm) or wtp_per_harm < 0:
        raise ValueError("wtp_per_harm must be a finite number, 0 or more")
    # an unknown (None or NaN) number of nurses or patient-days only leaves the per-year figure out
    yearly = {"patient_days_per_year": patient_days_per_year, "nurses": nurses}
    for name, value in yearly.items():
        if value is not None and not math.isnan(value) and not (math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be above 0 (or None/NaN when unknown), not {value!r}")
    per_year_known = all(v is not None and math.isfinite(v) for v in yearly.values())
    parameters = list(parameters)
    cost_sets = _sets(frame, cost, parameters)
    harm_sets = set_effects(frame, harm)["effect"]
    common = cost_sets.index.intersection(harm_sets.index[harm_sets.notna()])
    if len(common) == 0:
        raise ValueError(f"no set has both a defined {cost!r} and {harm!r} effect")
    table = cost_sets.loc[common]
    cost_effect = table["effect"].to_numpy(dtype=float)          # per patient-day
    averted = -harm_sets.loc[common].to_numpy(dtype=float)       # per 1,000 patient-days
    incremental = 1000.0 * cost_effect                            # per 1,000 patient-days
    nmb = wtp_per_harm * averted - incremental

    mean_averted = float(averted.mean())
    icer = float(incremental.mean()) / mean_averted if mean_averted > 0 else None

    per_burnout: float | None = None
    if burnout is not None and per_year_known:
        burnout_effect = set_effects(frame, burnout)["effect"].reindex(common)
        defined = burnout_effect.notna().to_numpy()
        if defined.any():
            cases = -burnout_effect.to_numpy(dtype=float)[defined] / 100.0 * nurses
            yearly_cost = cost_effect[defined] * patient_days_per_year
            if float(cases.mean()) > 0:
                per_burnout = float(yearly_cost.mean()) / float(cases.mean())

    if wtp_grid is None:
        top = 5.0 * wtp_per_harm if wtp_per_harm > 0 else 100_000.0
        grid = np.linspace(0.0, top, 41)
    else:
        grid = np.asarray(list(wtp_grid), dtype=float)
        if grid.ndim != 1 or not np.isfinite(grid).all():
            raise ValueError("wtp_grid must be a sequence of finite numbers")
    ceac = pd.DataFrame({
        "wtp": grid,
        "p_cost_effective": [float((w * averted - incremental > 0).mean()) for w in grid],
    })

    evpi = max(0.0, _evpi(nmb))
    evppi: dict[str, float] = {}
    for parameter in parameters:
        fitted = _smooth(table[parameter].to_numpy(dtype=float), nmb)
        evppi[parameter] = float(np.clip(_evpi(fitted), 0.0, evpi))

    return Economics(
        wtp_per_harm=float(wtp_per_harm),
        incremental_cost=_triple(incremental),
        harm_averted=_triple(averted),
        icer_per_harm_averted=icer,
        cost_per_burnout_case_avoided=per_burnout,
        nmb=_triple(nmb),
        p_cost_effective=float((nmb > 0).mean()),
        ceac=ceac,
        evpi=evpi,
        evppi=evppi,
    )
