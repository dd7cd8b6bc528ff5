"""A paired comparison across what we do not know: K parameter sets x 2 sides x R replications.

``careos-sim compare A B --uncertainty SETS`` runs, for each of K parameter sets, the paired
comparison of A and B on common random numbers with the same parameter set on both sides
(model section 11). SETS is either

* the ``plausible.parquet`` written by ``careos-sim calibrate`` (its plausible sets, the
  parameters being the fitted ones), or
* a YAML file of ranges, ``parameters: {DOTTED.PATH: {low: L, high: H}}`` with ``samples: K``
  (and optionally ``seed``), sampled by Latin hypercube (``scipy.stats.qmc``).

The runs go through the sweep machinery (:func:`careos_sim.experiment.sweep.run_sweep`): a local pool or
a Dask cluster, a progress bar, a resumable store (``runs.parquet``) with one design point per
(set, side). Every design point runs replications 0..R-1 from the same root seed, so side A and
side B of a set, and every set, see the same random numbers replication by replication: the
effect of a parameter set is not confounded with noise that differs between sets.
"""

from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from careos_sim.experiment.design import Experiment
from careos_sim.spec.loader import Document, InputError, InputIssue, apply_overrides, load_document, validate_model
from careos_sim.spec.scenario import ScenarioSpec
from careos_sim.text import bounded

__all__ = ["UncertainSets", "load_sets", "uncertainty_experiment", "paired_frame", "RangesSpec", "MAX_SETS",
           "SETS_FILE_BYTES"]

#: the most parameter sets one uncertainty run may have
MAX_SETS = 10000
#: the largest Parquet file of sets read (a calibration's plausible.parquet is a few hundred KiB)
SETS_FILE_BYTES = 64 * 1024 * 1024

#: columns of a calibration's plausible.parquet that are not parameters
_NOT_PARAMETERS = {"wave", "set", "max_implausibility", "max_band_distance", "plausible"}
_OUTPUT_PREFIXES = ("mean:", "se:", "I:", "inside:")


class _Range(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
    low: float
    high: float

    @model_validator(mode="after")
    def _ordered(self) -> "_Range":
        if not self.low < self.high:
            raise ValueError(f"low must be below high (got low {self.low}, high {self.high})")
        return self


class RangesSpec(BaseModel):
    """A YAML file of uncertain parameters and their ranges (uniform, Latin hypercube)."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    description: str = Field("", description="Free text: where the ranges come from.")
    parameters: dict[str, _Range] = Field(min_length=1, description="Dotted scenario path -> {low, high}.")
    samples: int | None = Field(None, ge=2, le=MAX_SETS, description="Parameter sets to sample (or --samples).")
    seed: int | None = Field(None, ge=0, le=2**63 - 1, description="Seed of the Latin hypercube (default: the run's).")


@dataclass
class UncertainSets:
    """K parameter sets: ``values`` (K x p) for ``parameters`` (dotted paths)."""

    file: Path
    kind: str  # "plausible" (a calibration's sets) or "ranges" (Latin hypercube)
    parameters: list[str]
    values: np.ndarray
    lines: dict[str, int | None] = field(default_factory=dict)  # where each parameter is given, for errors
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)
    note: str = ""

    @property
    def count(self) -> int:
        return len(self.values)

    def frame(self) -> pd.DataFrame:
        out = pd.DataFrame(self.values, columns=self.parameters)
        out.insert(0, "set", range(len(out)))
        return out

    def digest(self) -> str:
        h = hashlib.sha256(self.file.read_bytes())
        h.update(np.ascontiguousarray(self.values, dtype=float).tobytes())
        return h.hexdigest()


def _issue(file: Path, line: int | None, path: str, message: str, value: Any = None) -> InputIssue:
    return InputIssue(str(file), line, path, message, bounded(value) if value is not None else None,
                      value is not None)


def load_sets(path: str | Path, *, samples: int | None = None, seed: int = 0) -> UncertainSets:
    """Read SETS: a calibration's ``plausible.parquet`` or a YAML file of ranges (see the module)."""
    file = Path(path)
    if file.suffix.lower() == ".parquet":
        return _plausible(file, samples, seed)
    return _ranges(file, samples, seed)


def _plausible(file: Path, samples: int | None, seed: int) -> UncertainSets:
    try:
        st = file.stat()
    except OSError as exc:
        raise InputError([_issue(file, None, "<file>", f"cannot read the parameter sets: {exc.strerror}")]) from None
    if not file.is_file():
        raise InputError([_issue(file, None, "<file>", "is not a regular file")])
    if st.st_size > SETS_FILE_BYTES:
        raise InputError([_issue(file, None, "<file>", f"is larger than {SETS_FILE_BYTES // 2**20} MiB",
                                 st.st_size)])
    try:
        table = pd.read_parquet(file)
    except Exception as exc:  # pyarrow raises many kinds for a damaged or foreign file
        raise InputError([_issue(file, None, "<file>", f"is not a readable Parquet table ({type(exc).__name__})")]) \
            from None
    params = [c for c in table.columns if isinstance(c, str) and c not in _NOT_PARAMETERS
              and not c.startswith(_OUTPUT_PREFIXES) and "." in c and pd.api.types.is_numeric_dtype(table[c])]
    if not params:
        raise InputError([_issue(file, None, "<columns>", "has no parameter columns (dotted scenario paths with "
                                 "numbers), as calibrate's plausible.parquet has")])
    rows = table
    note = ""
    if "plausible" in table.columns:
        rows = table[table["plausible"].astype(bool)]
        if rows.empty:
            raise InputError([_issue(file, None, "plausible", f"no parameter set is plausible (0 of {len(table)} "
                                     "simulated sets lies inside every band): run more waves of calibrate, or give "
                                     "a YAML file of ranges")])
        note = f"{len(rows)} plausible of {len(table)} simulated sets"
    values = rows[params].to_numpy(dtype=float)
    if not np.isfinite(values).all():
        raise InputError([_issue(file, None, "<values>", "has missing or non-finite parameter values")])
    if samples is not None and samples < len(values):
        pick = np.sort(np.random.default_rng(seed).choice(len(values), size=samples, replace=False))
        values = values[pick]
        note += f"; {samples} of them drawn at random (seed {seed})"
    if len(values) > MAX_SETS:
        raise InputError([_issue(file, None, "<rows>", f"more than {MAX_SETS} parameter sets", len(values))])
    ranges = {p: (float(values[:, j].min()), float(values[:, j].max())) for j, p in enumerate(params)}
    return UncertainSets(file, "plausible", params, values, {p: None for p in params}, ranges, note)


def _ranges(file: Path, samples: int | None, seed: int) -> UncertainSets:
    from scipy.stats import qmc

    doc = load_document(file)
    spec = validate_model(RangesSpec, doc)
    k = samples if samples is not None else spec.samples
    if k is None:
        s, line = doc.locate(("parameters",))
        raise InputError([InputIssue(s, None, "samples", "how many parameter sets to draw: give samples: K in the "
                                     "file or --samples K")])
    if not 2 <= k <= MAX_SETS:
        raise InputError([InputIssue("--samples", None, "samples", f"must be 2 to {MAX_SETS}", k)])
    params = list(spec.parameters)
    lo = np.array([spec.parameters[p].low for p in params])
    hi = np.array([spec.parameters[p].high for p in params])
    lhs_seed = spec.seed if spec.seed is not None else seed
    unit = qmc.LatinHypercube(d=len(params), seed=np.random.default_rng(lhs_seed)).random(k)
    values = qmc.scale(unit, lo, hi)
    lines = {p: doc.locate(("parameters", p))[1] for p in params}
    return UncertainSets(file, "ranges", params, values, lines, {p: (float(spec.parameters[p].low),
                                                                     float(spec.parameters[p].high)) for p in params},
                         f"{k} Latin-hypercube samples (seed {lhs_seed})")


# --------------------------------------------------------------------------- the runs as a sweep


class _Design(BaseModel):
    type: str = "uncertainty"
    sets: int
    sides: list[str]


class _Spec(BaseModel):
    """What :func:`careos_sim.experiment.sweep.run_sweep` reads of an experiment's spec."""

    description: str
    design: _Design
    metrics: list[str]
    weekly: bool = False


@dataclass
class _Uncertainty(Experiment):
    """Design points (parameter set, side): every set on both sides, replicated."""

    uncertain: UncertainSets | None = None
    command_files: list[Path] = field(default_factory=list)

    def factor_records(self) -> list[dict[str, Any]]:
        assert self.uncertain is not None
        return [*({"name": p, "path": p, "kind": "numeric", "low": lo, "high": hi, "unit": ""}
                  for p, (lo, hi) in self.uncertain.ranges.items()),
                {"name": "side", "path": None, "kind": "bundle", "levels": ["a", "b"], "unit": ""}]

    def signature(self) -> str:
        """The sets and the run settings and scenarios themselves: changed, the store cannot resume."""
        assert self.uncertain is not None
        h = hashlib.sha256(self.uncertain.digest().encode())
        h.update(repr((self.seed, self.replications, self.horizon_days, self.warmup_days)).encode())
        for sc in self.scenarios:
            h.update(sc.model_dump_json().encode())
        return h.hexdigest()

    def file_hashes(self) -> dict[str, str]:
        from careos_sim.results.folders import file_hashes

        return file_hashes([self.file, *self.scenario_files])


def _side_document(source: Path | ScenarioSpec, extra: list) -> Document:
    """A side's scenario as a document: read from its file, or (for a scenario built already, as the
    app builds one from its dials) its resolved values, with no file read again."""
    if isinstance(source, ScenarioSpec):
        return apply_overrides(Document(source.model_dump(mode="json"), {}, f"scenario {source.name!r}"), extra)
    return apply_overrides(load_document(source), extra)


def uncertainty_experiment(sets: UncertainSets, a_path: Path | ScenarioSpec, b_path: Path | ScenarioSpec, a_extra: list,
                           b_extra: list, metrics: Iterable[str], name: str,
                           scenario_files: Iterable[Path] = ()) -> _Uncertainty:
    """The sweep of K sets x sides A and B. ``a_path``/``b_path``: each side's scenario file, or a
    :class:`~careos_sim.spec.scenario.ScenarioSpec` built already. ``a_extra``/``b_extra``: each side's
    override triples (``--set``, ``--set-a``/``--set-b``, run options), applied before the set's values."""
    rows, scenarios = [], []
    issues: list[InputIssue] = []
    docs = {"a": _side_document(a_path, a_extra), "b": _side_document(b_path, b_extra)}
    for k, row in enumerate(sets.values):
        values = {p: float(v) for p, v in zip(sets.parameters, row)}
        for side in ("a", "b"):
            start = docs[side]
            items = [(tuple(p.split(".")), _typed(v), f"{sets.file}: parameter set {k}, {p}") for p, v in values.items()]
            try:
                doc = apply_overrides(Document(copy.deepcopy(start.data), dict(start.where), start.source), items)
                scenarios.append(validate_model(ScenarioSpec, doc))
            except InputError as exc:
                issues += list(exc.issues)
            rows.append({"set": k, "side": side, **values})
        if issues:
            raise InputError(issues[:10])
    a0, b0 = scenarios[0], scenarios[1]
    # every point runs with A's run settings (paired on common random numbers, as compare does)
    scenarios = [sc if sc.run == a0.run else sc.model_copy(update={"run": sc.run.model_copy(update={
        "replications": a0.run.replications, "seed": a0.run.seed, "horizon_days": a0.run.horizon_days})})
        for sc in scenarios]
    design = pd.DataFrame(rows)
    design.insert(0, "point", range(len(design)))
    spec = _Spec(description=f"{a0.name} vs {b0.name} across {sets.count} parameter sets ({sets.note})",
                 design=_Design(sets=sets.count, sides=["a", "b"]), metrics=list(metrics))
    return _Uncertainty(spec=spec, file=sets.file, name=name, design=design,  # type: ignore[arg-type]
                        scenarios=scenarios, seed=a0.run.seed, replications=a0.run.replications,
                        horizon_days=a0.run.horizon_days, warmup_days=max(a0.run.warmup_days, b0.run.warmup_days),
                        scenario_files=sorted(set(scenario_files)), uncertain=sets)


def _typed(v: float) -> float | int:
    return int(v) if float(v).is_integer() and abs(v) < 2**53 else float(v)


def paired_frame(runs: pd.DataFrame, parameters: list[str], metrics: Iterable[str]) -> pd.DataFrame:
    """One row per (set, replication): the parameters, and ``a:M``/``b:M`` for every metric M
    (the contract of :mod:`careos_sim.experiment.uncertainty.analysis`). Failed runs are left out."""
    ok = runs[runs["status"] == "ok"]
    metrics = [m for m in metrics if m in ok.columns]
    keep = ["set", "replication", *parameters]
    a = ok[ok["side"] == "a"].set_index(["set", "replication"])
    b = ok[ok["side"] == "b"].set_index(["set", "replication"])
    both = a.index.intersection(b.index)
    sides = {f"{side}:{m}": frame.loc[both, m].to_numpy(dtype=float) for m in metrics
             for side, frame in (("a", a), ("b", b))}
    out = pd.concat([a.loc[both, parameters], pd.DataFrame(sides, index=both)], axis=1)
    out = out.reset_index().sort_values(["set", "replication"]).reset_index(drop=True)
    return out[[*keep, *[c for c in out.columns if c not in keep]]]

