"""Experiment files: a base scenario, factors, a design, replications, seed and metrics.

An experiment file is YAML, validated like a scenario (``FILE:LINE: path: message (got
VALUE)``, exit 2)::

    name: staffing
    base: ../scenarios/default.yaml       # relative to this file
    set: {run.warmup_days: 28}            # optional: applied to every point
    design: {type: grid}                  # grid | factorial | fractional_factorial | lhs | sobol | morris
    factors:
      - path: staff.nurses.ratio.day      # a numeric factor: a dotted scenario path
        levels: [4, 5, 6, 7, 8]           # or low/high for factorial and sampling designs
      - name: system                      # a named factor: each level a bundle of settings
        levels:
          telling: ../scenarios/telling.yaml                    # a scenario file (replaces the base)
          listening: {leadership.listening: 1, ...}             # or dotted paths and values
    replications: 10
    seed: 20261125
    metrics: [safety.harm_per_1000_patient_days, workforce.burnout_pct]

:func:`load_experiment` reads and validates the file, builds every design point's scenario
and validates each, so a level that makes a bad scenario is reported against the factor's
line before anything runs. Sampling designs (Latin hypercube, Sobol, Morris) are drawn by
SALib with a seed derived from the experiment's seed, so a design is the same every time.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import re
import shutil
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, Mapping

import numpy as np
import pandas as pd
from pydantic import ConfigDict, Field, field_validator, model_validator

from careos_sim.spec.loader import (Document, InputError, InputIssue, _parse_yaml, _shown_path, apply_overrides,
                               document_files, dotted, load_document, overrides_from, validate_model, validate_spec)
from careos_sim.spec.limits import Caps, _lift, active_caps, check_design_cost, scenario_issues
from careos_sim.measure.metrics import BY_NAME
from careos_sim.spec.scenario import ScenarioSpec, _Frozen

__all__ = ["Experiment", "ExperimentSpec", "Factor", "DesignSpec", "load_experiment", "experiment_from_dict", "DESIGNS", "DEFAULT_METRICS",
           "design_size", "MIN_SOBOL_SAMPLES", "MIN_MORRIS_TRAJECTORIES"]

DESIGNS = ("grid", "factorial", "fractional_factorial", "lhs", "sobol", "morris")

#: analysed when an experiment names no metrics: the headline outcome of each dimension
DEFAULT_METRICS = (
    "safety.harm_per_1000_patient_days",
    "timeliness.call_light_wait_min_mean",
    "effectiveness.missed_care_pct",
    "efficiency.cost_per_patient_day",
    "equity.harm_ratio",
    "patient_centeredness.patient_days_without_missed_care_pct",
    "workforce.burnout_pct",
    "workforce.turnover_annual_pct",
    "learning.active_defects_end",
)

#: Fewest Sobol base samples N: the bootstrap interval of a Saltelli/Jansen estimate narrows as
#: 1/sqrt(N), and below 64 it is typically wider than +-0.25 on indices whose whole range is
#: [0, 1], too wide to rank factors (SALib's examples use 1,024; Saltelli et al. 2010 several
#: hundred). 64 is also what experiments/sensitivity.yaml names for its Sobol variant.
MIN_SOBOL_SAMPLES = 64
#: Fewest Morris trajectories r: Morris (1991) and Saltelli et al. (2008, ch. 3) use r = 4 to 10;
#: with fewer, mu* of a factor is the mean of at most 3 elementary effects, its bootstrap interval
#: resamples 3 values and sigma (their spread) is next to undetermined.
MIN_MORRIS_TRAJECTORIES = 4
MIN_SAMPLES = {"sobol": MIN_SOBOL_SAMPLES, "morris": MIN_MORRIS_TRAJECTORIES}

Scalar = bool | int | float | str
Bundle = dict[str, Any] | str  # dotted path -> value, or a scenario file


class Factor(_Frozen):
    """One factor: a dotted scenario path with levels or a range, or a named factor of bundles."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    path: str | None = Field(None, description="Dotted scenario path the factor sets, e.g. staff.nurses.ratio.day.")
    name: str | None = Field(None, description="Column name in the results (default: the path's last two parts).")
    levels: list[Scalar] | dict[str, Bundle] | None = Field(
        None, description="Values of the path, or (for a named factor) label -> bundle of settings or a scenario file.")
    low: float | None = Field(None, description="Low end of the range (factorial low level, or sampling range).")
    high: float | None = Field(None, description="High end of the range.")
    integer: bool | None = Field(None, description="Round sampled values to whole numbers (default: when the "
                                                   "base scenario's value is an integer).")

    @model_validator(mode="after")
    def _shape(self) -> "Factor":
        if self.path is None and self.name is None:
            raise ValueError("a factor needs a path (a dotted scenario key) or, for bundles of settings, a name")
        if self.path is not None:
            if not re.fullmatch(r"[A-Za-z_][\w]*(\.[A-Za-z_][\w]*)*", self.path):
                raise ValueError(f"path must be a dotted scenario key such as staff.nurses.ratio.day, not {self.path!r}")
            if isinstance(self.levels, dict):
                raise ValueError("a factor with a path takes a list of levels; bundles of settings go in a factor "
                                 "with a name and no path")
        if isinstance(self.levels, dict) and not self.levels:
            raise ValueError("levels must not be empty")
        if isinstance(self.levels, list):
            if not self.levels:
                raise ValueError("levels must not be empty")
            if len(set(map(repr, self.levels))) != len(self.levels):
                raise ValueError("levels must differ from each other")
        has_range = self.low is not None or self.high is not None
        if has_range and (self.low is None or self.high is None):
            raise ValueError("give both low and high")
        if has_range and self.levels is not None:
            raise ValueError("give levels or low/high, not both")
        if has_range and not self.low < self.high:
            raise ValueError(f"low must be below high (low {self.low}, high {self.high})")
        if self.levels is None and not has_range:
            raise ValueError("a factor needs levels, or low and high")
        if self.path is None and not isinstance(self.levels, dict):
            raise ValueError("a factor without a path needs levels: a mapping of label -> settings or scenario file")
        return self

    @property
    def label(self) -> str:
        return self.name or ".".join(self.path.split(".")[-2:])  # type: ignore[union-attr]

    @property
    def kind(self) -> str:
        return "bundle" if isinstance(self.levels, dict) else "numeric"

    def two_levels(self) -> list[Any]:
        """The low and high level of a two-level factor (levels or low/high)."""
        if self.levels is not None:
            return list(self.levels)
        return [self.low, self.high]


class DesignSpec(_Frozen):
    """How design points are chosen from the factors."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["grid", "factorial", "fractional_factorial", "lhs", "sobol", "morris"] = Field(
        description="grid (every combination of levels); factorial (2 levels each, every combination); "
                    "fractional_factorial (2 levels, generators); lhs, sobol, morris (sampled from ranges).")
    generators: list[str] | None = Field(
        None, description="fractional_factorial: generated factors as words of the base factors, letters A, B, ... "
                          "in the order factors are listed, e.g. ['F = ABCDE'].")
    samples: int | None = Field(None, ge=2, le=100000,
                                description="lhs: points; sobol: base samples N (N x (k + 2) points; a power of 2); "
                                            "morris: trajectories (r x (k + 1) points).")
    levels: int = Field(4, ge=2, le=100, description="morris: grid levels p.")
    allow_small_samples: bool = Field(
        False, description="sobol, morris: allow fewer samples than the minimum that gives meaningful indices "
                           "(MIN_SOBOL_SAMPLES, MIN_MORRIS_TRAJECTORIES), e.g. for a smoke test; the analysis "
                           "flags every index of such a design 'small-sample'.")

    @field_validator("generators")
    @classmethod
    def _generators(cls, value: list[str] | None) -> list[str] | None:
        for g in value or []:
            if not re.fullmatch(r"\s*[A-Z]\s*=\s*[-+]?\s*[A-Z]{2,}\s*", g):
                raise ValueError(f"a generator looks like 'F = ABCDE' (a new letter = a product of base letters), "
                                 f"not {g!r}")
        return value


class ExperimentSpec(_Frozen):
    """An experiment file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str | None = Field(None, description="Short name (default: the file name).")
    description: str = Field("", description="Free text: the question the experiment answers.")
    base: str = Field(description="Base scenario file, relative to the experiment file.")
    set: dict[str, Any] = Field(default_factory=dict, description="Dotted paths and values applied to every point.")
    design: DesignSpec
    factors: list[Factor] = Field(min_length=1)
    replications: int | None = Field(None, ge=1, le=100000, description="Replications per point (default: base's).")
    seed: int | None = Field(None, ge=0, le=2**63 - 1, description="Root seed (default: the base scenario's).")
    horizon_days: float | None = Field(None, gt=0, le=3650, description="Simulated days after warm-up.")
    metrics: list[str] = Field(default_factory=lambda: list(DEFAULT_METRICS), min_length=1,
                               description="Metrics of interest, analysed and reported.")
    weekly: bool = Field(True, description="Keep the weekly time series of every run.")

    @field_validator("metrics")
    @classmethod
    def _metrics(cls, value: list[str]) -> list[str]:
        import difflib

        for m in value:
            if m not in BY_NAME:
                close = difflib.get_close_matches(m, list(BY_NAME), n=1)
                hint = f"; did you mean '{close[0]}'?" if close else ""
                raise ValueError(f"unknown metric {m!r}{hint}")
        return value

    @model_validator(mode="after")
    def _design_fits(self) -> "ExperimentSpec":
        labels = [f.label for f in self.factors]
        dup = sorted({x for x in labels if labels.count(x) > 1})
        if dup:
            raise ValueError(f"factor names must be unique: {', '.join(dup)} given twice (set name: on one)")
        t = self.design.type
        files = [f for f in self.factors if f.kind == "bundle" and any(isinstance(v, str) for v in f.levels.values())]
        if len(files) > 1:
            raise ValueError("at most one factor may have scenario files as levels")
        if t in ("factorial", "fractional_factorial"):
            bad = [f.label for f in self.factors if len(f.two_levels()) != 2]
            if bad:
                raise ValueError(f"a {t} design needs exactly two levels (or low/high) per factor: {', '.join(bad)}")
        if t == "grid":
            bad = [f.label for f in self.factors if f.levels is None]
            if bad:
                raise ValueError(f"a grid needs levels, not low/high: {', '.join(bad)}")
        if t in ("lhs", "sobol", "morris"):
            bad = [f.label for f in self.factors if f.low is None]
            if bad:
                raise ValueError(f"a {t} design samples ranges: give low and high for {', '.join(bad)}")
            if self.design.samples is None:
                raise ValueError(f"a {t} design needs design.samples")
            if t == "sobol" and self.design.samples & (self.design.samples - 1):
                raise ValueError(f"design.samples must be a power of 2 for a Sobol design (got {self.design.samples})")
        if t == "fractional_factorial":
            if not self.design.generators:
                raise ValueError("a fractional_factorial design needs design.generators, e.g. ['F = ABCDE']")
            k, p = len(self.factors), len(self.design.generators)
            if k > 26:
                raise ValueError("at most 26 factors in a fractional factorial")
            letters = [chr(65 + i) for i in range(k)]
            base = set(letters[: k - p])
            made = [g.split("=")[0].strip() for g in self.design.generators]
            if sorted(made) != letters[k - p:]:
                raise ValueError(f"with {k} factors and {p} generators the generated letters must be "
                                 f"{', '.join(letters[k - p:])} (the last factors listed), got {', '.join(made)}")
            for g in self.design.generators:
                word = set(g.split("=")[1].strip().lstrip("+-").strip())
                if not word <= base:
                    raise ValueError(f"generator {g!r} may use only the base letters {''.join(sorted(base))}")
        elif self.design.generators:
            raise ValueError(f"design.generators applies to fractional_factorial designs, not {t}")
        return self


@dataclass
class Experiment:
    """A validated experiment: its points (factor values and scenarios) and run settings."""

    spec: ExperimentSpec
    file: Path
    name: str
    design: pd.DataFrame  # point, then one column per factor label
    scenarios: list[ScenarioSpec]
    seed: int
    replications: int
    horizon_days: float
    warmup_days: float
    scenario_files: list[Path] = field(default_factory=list)
    sets: list[str] = field(default_factory=list)
    problem: dict[str, Any] | None = None  # SALib problem of a sampling design
    aliases: dict[str, list[str]] = field(default_factory=dict)  # fractional factorial: term -> aliases
    resolution: int | None = None

    @property
    def metrics(self) -> list[str]:
        return list(self.spec.metrics)

    def factor_records(self) -> list[dict[str, Any]]:
        out = []
        for f in self.spec.factors:
            rec: dict[str, Any] = {"name": f.label, "path": f.path, "kind": f.kind}
            if f.kind == "bundle":
                rec["levels"] = list(f.levels)  # type: ignore[arg-type]
            elif f.levels is not None:
                rec["levels"] = list(f.levels)
            else:
                rec["low"], rec["high"] = f.low, f.high
            rec["unit"] = _unit_of(f.path) if f.path else ""
            out.append(rec)
        return out

    def file_hashes(self) -> dict[str, str]:
        from careos_sim.results.folders import file_hashes

        return file_hashes([self.file, *self.scenario_files])

    def signature(self) -> str:
        """What must match for ``--resume``: the experiment file, overrides and run settings."""
        h = hashlib.sha256(self.file.read_bytes())
        h.update(repr((self.sets, self.seed, self.replications, self.horizon_days)).encode())
        return h.hexdigest()


def _unit_of(path: str) -> str:
    from careos_sim.spec.keys import scenario_keys

    return next((k["unit"] for k in scenario_keys() if k["path"] == path), "")


# --------------------------------------------------------------------------- points


def _full_factorial(k: int) -> np.ndarray:
    """All 2^k sign vectors in standard (Yates) order: the first factor alternates fastest."""
    n = 2 ** k
    return np.array([[1 if (p >> j) & 1 else -1 for j in range(k)] for p in range(n)], dtype=int)


def fractional_factorial(k: int, generators: list[str]) -> tuple[np.ndarray, dict[str, list[str]], int]:
    """Signs of a 2^(k-p) design, the alias chains of main effects and two-way terms, and the resolution."""
    p = len(generators)
    base = _full_factorial(k - p)
    letters = [chr(65 + i) for i in range(k)]
    cols = {letters[j]: base[:, j] for j in range(k - p)}
    words = []
    for g in generators:
        new, rhs = (s.strip() for s in g.split("="))
        sign = -1 if rhs.startswith("-") else 1
        word = rhs.lstrip("+-").strip()
        col = np.ones(len(base), dtype=int) * sign
        for c in word:
            col = col * cols[c]
        cols[new] = col
        words.append(frozenset(word) ^ {new})
    # the defining relation: every product of generator words
    group: set[frozenset] = set()
    for r in range(1, p + 1):
        for combo in itertools.combinations(words, r):
            w: frozenset = frozenset()
            for x in combo:
                w = w ^ x
            group.add(w)
    resolution = min(len(w) for w in group)
    terms = [frozenset(a) for a in letters] + [frozenset(c) for c in itertools.combinations(letters, 2)]
    aliases = {}
    for t in terms:
        chain = sorted({"".join(sorted(t ^ w)) for w in group if 0 < len(t ^ w) <= 2}, key=lambda s: (len(s), s))
        aliases["".join(sorted(t))] = chain
    return np.column_stack([cols[c] for c in letters]), aliases, resolution


def _problem(factors: list[Factor]) -> dict[str, Any]:
    return {"num_vars": len(factors), "names": [f.label for f in factors],
            "bounds": [[f.low, f.high] for f in factors]}


def _design_seed(seed: int) -> int:
    """A seed for the design's sampler, separate from every simulation stream."""
    return int(np.random.SeedSequence([seed, 0x5EED, 0xD35]).generate_state(1)[0])


def design_size(spec: ExperimentSpec) -> int:
    """The number of design points, from the spec alone (nothing is generated): a grid's product of
    level counts, 2^k or 2^(k-p), or the sampled size of lhs (N), sobol (N x (k + 2)) and morris
    (r x (k + 1))."""
    factors = spec.factors
    k = len(factors)
    t = spec.design.type
    if t == "grid":
        return int(np.prod([len(f.levels) for f in factors], dtype=object))  # type: ignore[arg-type]
    if t == "factorial":
        return 2 ** k
    if t == "fractional_factorial":
        return 2 ** (k - len(spec.design.generators or []))
    n = int(spec.design.samples or 0)
    return {"lhs": n, "sobol": n * (k + 2), "morris": n * (k + 1)}[t]


def _writes(f: Factor) -> list[tuple[tuple[str, ...], tuple]]:
    """The dotted paths a factor writes, each with where it is written in the experiment file."""
    if f.kind == "numeric":
        return [(tuple(f.path.split(".")), ("path",))]  # type: ignore[union-attr]
    out = []
    for label, bundle in f.levels.items():  # type: ignore[union-attr]
        if isinstance(bundle, dict):
            out += [(tuple(k.strip().split(".")), ("levels", label, k)) for k in bundle]
    return out


def _conflicts(doc: Document, spec: ExperimentSpec) -> list[InputIssue]:
    """Two factors that write the same dotted path (or one a path inside the other's): the later would
    silently overwrite the earlier at every point. Located at the second factor's line. (Scenario-file
    levels replace the base and every factor is applied on top of them, so they write nothing here.)"""
    issues = []
    owner: dict[tuple[str, ...], int] = {}  # path -> the first factor that writes it
    for j, f in enumerate(spec.factors):
        writes = _writes(f)
        hit = next(((path, where, other, i) for path, where in writes for other, i in owner.items()
                    if path[:min(len(path), len(other))] == other[:min(len(path), len(other))]), None)
        if hit is not None:
            path, where, other, i = hit
            how = "sets" if f.kind == "numeric" else "has a level that sets"
            inside = "" if path == other else f" ({'.'.join(other)})"
            issues.append(_located(
                doc, ("factors", j, *where),
                f"factor '{f.label}' {how} {'.'.join(path)}, which factor '{spec.factors[i].label}' "
                f"(factors[{i}]) already sets{inside}; a path may be set by one factor only (merge them into one "
                f"named factor)", ".".join(path)))
        for path, _ in writes:
            owner.setdefault(path, j)
    return issues


def _small_sample_issue(doc: Document, spec: ExperimentSpec) -> InputIssue | None:
    t = spec.design.type
    least = MIN_SAMPLES.get(t)
    n = spec.design.samples
    if least is None or n is None or n >= least or spec.design.allow_small_samples:
        return None
    what = "base samples N" if t == "sobol" else "trajectories r"
    return _located(doc, ("design", "samples"),
                    f"a {t} design needs at least {least} {what} for indices that mean anything (fewer give "
                    f"intervals too wide to rank factors; see careos_sim.experiment.design.MIN_SAMPLES); for a smoke test "
                    f"set design.allow_small_samples: true", n)


def design_values(spec: ExperimentSpec, seed: int) -> tuple[list[list[Any]], dict[str, Any] | None,
                                                             dict[str, list[str]], int | None]:
    """The factor values of every point (levels as given; labels for named factors)."""
    factors = spec.factors
    t = spec.design.type
    if t == "grid":
        return [list(v) for v in itertools.product(*[list(f.levels) for f in factors])], None, {}, None
    if t in ("factorial", "fractional_factorial"):
        if t == "factorial":
            signs, aliases, res = _full_factorial(len(factors)), {}, None
        else:
            signs, aliases, res = fractional_factorial(len(factors), spec.design.generators or [])
        two = [f.two_levels() for f in factors]
        return [[two[j][(s + 1) // 2] for j, s in enumerate(row)] for row in signs], None, aliases, res
    problem = _problem(factors)
    n, s = spec.design.samples, _design_seed(seed)
    if t == "lhs":
        from SALib.sample import latin

        x = latin.sample(problem, n, seed=s)
    elif t == "sobol":
        from SALib.sample import sobol

        x = sobol.sample(problem, n, calc_second_order=False, scramble=True, seed=s)
    else:
        from SALib.sample import morris

        x = morris.sample(problem, n, num_levels=spec.design.levels, seed=s)
    return [list(map(float, row)) for row in x], problem, {}, None


# --------------------------------------------------------------------------- loading


def _located(doc: Document, loc: tuple, message: str, value: Any, has_value: bool = True) -> InputIssue:
    source, line = doc.locate(loc)
    return InputIssue(source, line, dotted(loc), message, value, has_value)


def _is_int_field(base: ScenarioSpec, path: str) -> bool:
    node: Any = base
    for part in path.split("."):
        node = getattr(node, part, None)
    return isinstance(node, int) and not isinstance(node, bool)


def load_experiment(path: str | Path, sets: list[str] | None = None, replications: int | None = None,
                    horizon_days: float | None = None, caps: Caps | None = None) -> Experiment:
    """Read, validate and expand an experiment file; every point's scenario is validated too.

    ``sets`` (``PATH=VALUE`` strings) override the base scenario at every point; ``replications``
    and ``horizon_days`` override the experiment's (for a quick pilot of a large experiment).
    ``caps`` (default: :func:`careos_sim.spec.limits.active_caps`) bound the sweep's cost: the design's
    size is checked from the file before any point is generated, each point's headcount and
    expected tasks once its scenario is built.
    """
    path = Path(path)
    shown = _shown_path(path)
    doc = _parse_yaml(path, shown)
    return _from_document(doc, path, shown, path.resolve().parent, sets, replications, horizon_days, caps)


def experiment_from_dict(doc: Mapping[str, Any], base_dir: str | Path | None = None, sets: list[str] | None = None,
                         replications: int | None = None, horizon_days: float | None = None,
                         caps: Caps | None = None) -> Experiment:
    """An experiment from a Python mapping, validated exactly like a file (:func:`load_experiment`):
    problems are located at source ``<dict>`` and the dotted path, with no line. Paths in it
    (``base``, bundle levels) are relative to ``base_dir`` (default: the working folder).

    The mapping is also written as YAML to a temporary file (removed at exit), which becomes the
    experiment's ``file``: a sweep copies it as ``experiment.yaml`` and hashes it, as for a file."""
    import atexit
    import tempfile

    import yaml

    if not isinstance(doc, Mapping):
        raise InputError([InputIssue("<dict>", None, "<document>", "must be a mapping of experiment keys", doc)])
    data = copy.deepcopy(dict(doc))
    here = Path(base_dir if base_dir is not None else Path.cwd()).resolve()
    try:
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    except yaml.YAMLError as exc:
        raise InputError([InputIssue("<dict>", None, "<document>", f"cannot be written as YAML: {exc}",
                                     has_value=False)]) from None
    folder = Path(tempfile.mkdtemp(prefix="careos-sim-experiment-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    name = data.get("name") if isinstance(data.get("name"), str) and data.get("name") else "experiment"
    path = folder / f"{re.sub(r'[^A-Za-z0-9_.-]', '_', name)[:100] or 'experiment'}.yaml"
    path.write_text(text, encoding="utf-8")
    located = Document(data, {}, "<dict>", None)  # type: ignore[arg-type]  # no lines: the dotted path only
    exp = _from_document(located, path, "<dict>", here, sets, replications, horizon_days, caps)
    exp.from_dict_base_dir = here  # type: ignore[attr-defined]  # for a manifest's repeatable call
    return exp


def _from_document(doc: Document, path: Path, shown: str, here: Path, sets: list[str] | None,
                   replications: int | None, horizon_days: float | None, caps: Caps | None) -> Experiment:
    """The experiment of a read document (``load_experiment``'s body; ``here``: the folder that
    relative paths start from)."""
    spec = validate_model(ExperimentSpec, doc)
    if replications is not None and replications < 1:
        raise InputError([InputIssue("--replications", None, "replications", "must be >= 1", replications)])
    if horizon_days is not None and not 0 < horizon_days <= 3650:
        raise InputError([InputIssue("--horizon-days", None, "horizon_days", "must be > 0 and <= 3650", horizon_days)])
    issues = _conflicts(doc, spec)
    small = _small_sample_issue(doc, spec)
    if issues or small:
        raise InputError([*issues, *([small] if small else [])])
    caps = caps if caps is not None else active_caps()

    base_path = here / spec.base
    if not base_path.is_file():
        raise InputError([_located(doc, ("base",), f"scenario file not found: {_shown_path(base_path)}", spec.base)])
    base_doc = load_document(base_path)
    files = document_files(base_doc)

    # bundle levels that name scenario files
    level_docs: dict[tuple[int, str], Document] = {}
    level_paths: dict[tuple[int, str], Path] = {}
    for i, f in enumerate(spec.factors):
        if f.kind != "bundle":
            continue
        for label, bundle in f.levels.items():  # type: ignore[union-attr]
            if isinstance(bundle, str):
                p = here / bundle
                if not p.is_file():
                    raise InputError([_located(doc, ("factors", i, "levels", label),
                                               f"scenario file not found: {_shown_path(p)}", bundle)])
                level_docs[(i, label)] = load_document(p)
                level_paths[(i, label)] = p
                files |= document_files(level_docs[(i, label)])

    base_scenario = validate_spec(base_doc, base_path)  # a unit scenario, or a hospital
    seed = spec.seed if spec.seed is not None else base_scenario.run.seed
    reps = replications or spec.replications or base_scenario.run.replications
    _check_size(doc, spec, base_scenario, reps, replications, horizon_days, sets or [], caps)
    values, problem, aliases, resolution = design_values(spec, seed)
    integer = [f.integer if f.integer is not None else (f.path is not None and f.kind == "numeric"
                                                        and _is_int_field(base_scenario, f.path))
               for f in spec.factors]
    if spec.design.type in ("lhs", "sobol", "morris"):
        values = [[round(v) if integer[j] else v for j, v in enumerate(row)] for row in values]

    common = [(tuple(k.split(".")), v, f"{shown}:set.{k}") for k, v in spec.set.items()]
    cli_sets = overrides_from(sets or [])
    run_items = [(("run", "seed"), seed, f"{shown}:seed"), (("run", "replications"), reps, f"{shown}:replications")]
    if horizon_days is not None or spec.horizon_days is not None:
        h = horizon_days if horizon_days is not None else spec.horizon_days
        label = f"--horizon-days {h}" if horizon_days is not None else f"{shown}:horizon_days"
        run_items.append((("run", "horizon_days"), h, label))

    scenarios: list[ScenarioSpec] = []
    cache: dict[str, ScenarioSpec] = {}
    for point, row in enumerate(values):
        start, start_path = base_doc, base_path
        items = list(common)
        for i, (f, v) in enumerate(zip(spec.factors, row)):
            if f.kind == "bundle":
                bundle = f.levels[v]  # type: ignore[index]
                if isinstance(bundle, str):
                    start, start_path = level_docs[(i, v)], level_paths[(i, v)]
                else:
                    items += [(tuple(k.split(".")), x, f"factor:{i}:{v}:{k}") for k, x in bundle.items()]
            else:
                items.append((tuple(f.path.split(".")), v, f"factor:{i}:{v}"))  # type: ignore[union-attr]
        items += cli_sets + run_items
        key = repr([(p, x) for p, x, _ in items]) + str(id(start))
        if key in cache:
            scenarios.append(cache[key])
            continue
        try:
            d = apply_overrides(Document(copy.deepcopy(start.data), dict(start.where), start.source), items)
            scenario = validate_spec(d, start_path)
        except InputError as exc:
            raise InputError(_relocate(exc, doc, spec, point, row)) from None
        cache[key] = scenario
        scenarios.append(scenario)

    _check_points(doc, spec, scenarios, values, reps, caps)
    design = pd.DataFrame(values, columns=[f.label for f in spec.factors])
    design.insert(0, "point", range(len(design)))
    horizon = scenarios[0].run.horizon_days
    return Experiment(spec=spec, file=path, name=spec.name or path.stem, design=design, scenarios=scenarios,
                      seed=seed, replications=reps, horizon_days=horizon, warmup_days=scenarios[0].run.warmup_days,
                      scenario_files=sorted(files), sets=list(sets or []), problem=problem, aliases=aliases,
                      resolution=resolution)


def _check_size(doc: Document, spec: ExperimentSpec, base: ScenarioSpec, reps: int, cli_reps: int | None,
                cli_horizon: float | None, sets: list[str], caps: Caps) -> None:
    """The design's runs and simulated days against the caps, from the file alone: before any point exists."""
    n = design_size(spec)
    horizon = cli_horizon or spec.horizon_days or base.run.horizon_days
    warm = spec.set.get("run.warmup_days", base.run.warmup_days)
    for p, v, _ in overrides_from(sets):
        if p == ("run", "warmup_days"):
            warm = v
    days = float(horizon) + (float(warm) if isinstance(warm, (int, float)) and not isinstance(warm, bool) else 0.0)
    by_design = (caps.max_runs is not None and n > caps.max_runs) or \
        (caps.max_replication_days is not None and n * days > caps.max_replication_days)
    if by_design:
        source, line = doc.locate(("design",))
        check_design_cost(n, reps, caps, source, line, days=days, path="design", value=n)
    elif cli_reps is not None:
        check_design_cost(n, reps, caps, "--replications", None, days=days, path="replications", value=reps)
    else:
        source, line = doc.locate(("replications",)) if spec.replications is not None else (doc.source, None)
        check_design_cost(n, reps, caps, source, line, days=days,
                          path="replications" if spec.replications is not None else "run.replications", value=reps)


def _check_points(doc: Document, spec: ExperimentSpec, scenarios: list[ScenarioSpec], values: list[list[Any]],
                  reps: int, caps: Caps) -> None:
    """Each point's headcount and expected tasks, and the simulated days of every run, against the caps;
    a point's problem is located at the factor (or ``set``) that writes the path driving it."""
    per_point = replace(caps, max_runs=None, max_replication_days=None)
    issues: list[InputIssue] = []
    said: set[tuple] = set()
    done: set[int] = set()
    total_days = 0.0
    for point, (scenario, row) in enumerate(zip(scenarios, values)):
        total_days += (scenario.run.horizon_days + scenario.run.warmup_days) * reps
        if id(scenario) in done:
            continue
        done.add(id(scenario))
        for issue in scenario_issues(scenario, replications=reps, caps=per_point, source=doc.source):
            loc: tuple = ()
            for j, (f, v) in enumerate(zip(spec.factors, row)):
                if f.kind == "numeric" and f.path == issue.path:
                    levels = list(map(repr, f.levels)) if f.levels is not None else []
                    loc = ("factors", j, "levels", levels.index(repr(v))) if repr(v) in levels else ("factors", j)
                elif f.kind == "bundle" and isinstance(f.levels[v], dict):  # type: ignore[index]
                    key = next((k for k in f.levels[v] if k.strip() == issue.path), None)  # type: ignore[index]
                    loc = ("factors", j, "levels", v, key) if key is not None else ()
                if loc:
                    break
            if not loc and issue.path in spec.set:
                loc = ("set", issue.path)
            if loc:
                source, line = doc.locate(loc)
                where = dotted(loc)
            else:  # from the base scenario (or a scenario-file level): say which point
                source, line, where = doc.locate(("base",)) + (dotted(("base",)),)
            key = (source, line, where, issue.path)
            if key in said:
                continue
            said.add(key)
            issues.append(InputIssue(source, line, where, f"{issue.path}: {issue.message} (at design point {point})",
                                     issue.value, issue.has_value))
    if caps.max_replication_days is not None and total_days > caps.max_replication_days:
        source, line = doc.locate(("design",))
        issues.append(InputIssue(source, line, "design", (
            f"the design's simulated days ({len(scenarios):,} points x {reps:,} replications, each point's horizon "
            f"and warm-up) is {total_days:,.0f}, above the cap max_replication_days = "
            f"{caps.max_replication_days:,.0f}; {_lift('max_replication_days')}"), len(scenarios)))
    if issues:
        raise InputError(issues)


def _relocate(exc: InputError, doc: Document, spec: ExperimentSpec, point: int, row: list[Any]) -> list[InputIssue]:
    """Point a bad design point's scenario errors at the experiment file's lines."""
    out = []
    for issue in exc.issues:
        src = issue.source
        if src.startswith("factor:"):
            _, i, level, *key = src.split(":", 3)
            i = int(i)
            f = spec.factors[i]
            if f.kind == "bundle":
                loc: tuple = ("factors", i, "levels", level, *key)
            elif f.levels is not None:
                loc = ("factors", i, "levels", list(map(str, f.levels)).index(level)) if level in map(str, f.levels) \
                    else ("factors", i, "levels")
            else:
                loc = ("factors", i, "low" if str(f.low) == level else "high")
            s, line = doc.locate(loc)
            out.append(InputIssue(s, line, dotted(loc), f"{issue.path}: {issue.message} (at design point {point})",
                                  issue.value, issue.has_value))
        elif ":" in src and not src.startswith("--"):
            field_ = src.split(":", 1)[1]
            loc = tuple(field_.split(".", 1)) if field_.startswith("set.") else (field_,)
            s, line = doc.locate(loc)
            out.append(InputIssue(s, line, dotted(loc), f"{issue.path}: {issue.message}", issue.value, issue.has_value))
        else:
            out.append(issue)
    # one problem repeated at many points is said once
    seen, unique = set(), []
    for i in out:
        k = (i.source, i.line, i.path, i.message.split(" (at design point")[0])
        if k not in seen:
            seen.add(k)
            unique.append(i)
    return unique
