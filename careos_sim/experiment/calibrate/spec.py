"""Targets files: what to fit (free parameters and their box), to what (bands of model outputs),
on which scenarios (sides), with which method and budget. See ``docs/calibration.md``.

:func:`load_targets` reads and validates a targets file like a scenario (``FILE:LINE: path:
message (got VALUE)``, exit 2): unknown keys, metric names, sides, bands, years and the
budget are checked, and every parameter's ``low`` and ``high`` are applied to every side it
sets and validated as a scenario, before anything runs.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from careos_sim.spec.loader import (Document, InputError, InputIssue, _parse_yaml, _shown_path, apply_overrides,
                               document_files, dotted, load_document, validate_model)
from careos_sim.measure.metrics import BY_NAME
from careos_sim.spec.scenario import ScenarioSpec

__all__ = ["TargetsSpec", "ParameterSpec", "TargetSpec", "MethodSpec", "Calibration", "Parameter", "Target",
           "load_targets", "YEAR_DAYS"]

#: days in one "year" of the per-year metrics (52 weeks after the warm-up)
YEAR_DAYS = 364.0
_DOTTED = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)+")
_SIDE = re.compile(r"[A-Za-z][\w-]{0,39}")


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class ParameterSpec(_Model):
    """A free parameter's box."""

    low: float = Field(description="Lowest value searched.")
    high: float = Field(description="Highest value searched.")
    sides: list[str] | None = Field(None, min_length=1, description="Sides the parameter sets (default: every side).")


class TargetSpec(_Model):
    """One target: a band that a model output (a metric of one side, or a ratio of two sides) should lie in."""

    name: str = Field(min_length=1, max_length=200, description="A label for tables.")
    metric: str = Field(description="A metric name (careos_sim.measure.metrics).")
    side: str | None = Field(None, description="The side whose metric is the output.")
    ratio: list[str] | None = Field(None, min_length=2, max_length=2,
                                    description="[numerator side, denominator side]: the output is "
                                                "mean(numerator) / mean(denominator), paired replications.")
    year: int | None = Field(None, ge=1, le=10, description="That 52-week year taken alone (default: whole horizon).")
    years: list[int] | None = Field(None, min_length=1, description="Mean of those years' values.")
    low: float = Field(description="Low end of the band.")
    high: float = Field(description="High end of the band.")

    @field_validator("metric")
    @classmethod
    def _metric(cls, value: str) -> str:
        if value not in BY_NAME:
            close = difflib.get_close_matches(value, list(BY_NAME), n=1)
            raise ValueError(f"unknown metric{f'; did you mean {close[0]!r}?' if close else ''}")
        return value


class MethodSpec(_Model):
    """How the parameters are fitted."""

    kind: Literal["history_matching"] = Field(description="history_matching: waves of runs, Gaussian-process "
                                                          "emulators, implausibility cut-off.")
    waves: int = Field(3, ge=1, le=20, description="Waves of runs.")
    runs_per_wave: int = Field(40, ge=2, le=10000, description="Parameter sets simulated per wave.")
    cutoff: float = Field(3.0, gt=0, le=100, description="Implausibility cut-off.")
    implausibility: Literal["max", "second_max"] = Field(
        "max", description="max: every target must pass the cut-off; second_max: all but the worst one.")
    candidates: int = Field(20000, ge=100, le=1000000, description="Candidate points tested per batch.")


class TargetsSpec(_Model):
    """A targets file."""

    name: str | None = Field(None, min_length=1, max_length=100, description="Short name (default: the file name).")
    description: str = ""
    sides: dict[str, str] = Field(min_length=1, description="side name -> scenario file, relative to this file.")
    horizon_days: float | None = Field(None, gt=0, le=3650, description="Simulated days after warm-up "
                                                                       "(default: the scenarios').")
    warmup_days: float | None = Field(None, ge=0, le=3650, description="Warm-up days (default: the scenarios').")
    replications: int = Field(4, ge=1, le=1000, description="Replications per parameter set and side.")
    seed: int = Field(ge=0, le=2**63 - 1, description="Root seed of the runs and of the method's sampling.")
    parameters: dict[str, ParameterSpec] = Field(min_length=1, description="Dotted scenario path -> box.")
    targets: list[TargetSpec] = Field(min_length=1)
    method: MethodSpec
    budget: int = Field(ge=1, description="Most simulation runs in all, confirmation included.")
    confirm_replications: int = Field(8, ge=2, le=10000,
                                      description="Replications of the chosen point's confirmation runs.")


# --------------------------------------------------------------------------- the loaded calibration


@dataclass(frozen=True)
class Parameter:
    path: str
    low: float
    high: float
    sides: tuple[str, ...]
    integer: bool


@dataclass(frozen=True)
class Target:
    name: str
    metric: str
    side: str | None
    ratio: tuple[str, str] | None
    years: tuple[int, ...]  # empty: the whole horizon
    low: float
    high: float

    @property
    def centre(self) -> float:
        return (self.low + self.high) / 2

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2

    @property
    def sides(self) -> tuple[str, ...]:
        return self.ratio if self.ratio else (self.side,)  # type: ignore[return-value]

    def column(self) -> list[str]:
        """The runs.parquet columns averaged into this target's value of one run."""
        if not self.years:
            return [self.metric]
        return [f"y{y}.{self.metric}" for y in self.years]

    def describe(self) -> str:
        where = f"{self.ratio[0]} / {self.ratio[1]}" if self.ratio else str(self.side)
        when = ("whole horizon" if not self.years else f"year {self.years[0]}" if len(self.years) == 1
                else "mean of years " + ", ".join(map(str, self.years)))
        return f"{self.metric} ({where}, {when})"


@dataclass
class Calibration:
    """A validated targets file: sides (resolved documents), parameters, targets, method, budget."""

    spec: TargetsSpec
    file: Path
    doc: Document
    name: str
    side_docs: dict[str, Document]
    side_files: dict[str, list[Path]]
    parameters: list[Parameter]
    targets: list[Target]
    replications: int
    budget: int
    seed: int
    horizon_days: float
    warmup_days: float
    overrides: dict[str, Any] = field(default_factory=dict)  # command-line replications / budget

    @property
    def sides(self) -> list[str]:
        return list(self.side_docs)

    @property
    def method(self) -> MethodSpec:
        return self.spec.method

    @property
    def confirm_replications(self) -> int:
        return self.spec.confirm_replications

    def runs_needed(self) -> int:
        m = self.method
        n = len(self.sides)
        return m.waves * m.runs_per_wave * n * self.replications + self.confirm_replications * n

    def files(self) -> list[Path]:
        return sorted({self.file, *(f for fs in self.side_files.values() for f in fs)})

    def file_hashes(self) -> dict[str, str]:
        from careos_sim.results.folders import file_hashes

        return file_hashes(self.files())

    def signature(self) -> str:
        """What must match for ``--resume``: the targets file, the scenarios and ``--replications`` (not the
        budget, which only gates a start)."""
        h = hashlib.sha256()
        for name, digest in sorted(self.file_hashes().items()):
            h.update(f"{name}:{digest}\n".encode())
        h.update(repr(self.replications).encode())
        return h.hexdigest()

    def scenario(self, side: str, values: dict[str, float], label: str = "") -> ScenarioSpec:
        """The side's scenario with these parameter values (those that set this side), validated."""
        items = []
        for p in self.parameters:
            if side in p.sides and p.path in values:
                v = values[p.path]
                v = int(round(v)) if p.integer else float(v)
                items.append((tuple(p.path.split(".")), v, f"calibrate:parameters:{p.path}:{label}"))
        return _side_scenario(self, side, items)


def _run_items(spec: TargetsSpec, replications: int) -> list[tuple]:
    items = [(("run", "seed"), spec.seed, "calibrate:seed"),
             (("run", "replications"), replications, "calibrate:replications")]
    if spec.horizon_days is not None:
        items.append((("run", "horizon_days"), spec.horizon_days, "calibrate:horizon_days"))
    if spec.warmup_days is not None:
        items.append((("run", "warmup_days"), spec.warmup_days, "calibrate:warmup_days"))
    return items


def _side_scenario(cal: Calibration, side: str, items: list[tuple]) -> ScenarioSpec:
    start = cal.side_docs[side]
    run = _run_items(cal.spec, cal.replications)
    try:
        d = apply_overrides(Document(copy.deepcopy(start.data), dict(start.where), start.source), [*run, *items])
        return validate_model(ScenarioSpec, d)
    except InputError as exc:
        raise InputError(_relocate(exc, cal.doc, side)) from None


def _relocate(exc: InputError, doc: Document, side: str) -> list[InputIssue]:
    """Point errors of values the targets file set at its lines."""
    out = []
    for issue in exc.issues:
        if issue.source.startswith("calibrate:parameters:"):
            path, label = issue.source[len("calibrate:parameters:"):].rsplit(":", 1)
            # a bad value at the end that gave it; a bad path at the parameter itself
            which = label if label in ("low", "high") and not issue.message.startswith(("unknown key", "is not a")) \
                else None
            loc: tuple = ("parameters", path, which) if which else ("parameters", path)
            s, line = doc.locate(loc)
            at = f" (at {label})" if label and label not in ("low", "high") else ""
            out.append(InputIssue(s, line, dotted(loc), f"on side {side}: {issue.path}: {issue.message}{at}",
                                  issue.value, issue.has_value))
        elif issue.source.startswith("calibrate:"):
            key = issue.source[len("calibrate:"):]
            s, line = doc.locate((key,))
            out.append(InputIssue(s, line, key, f"{issue.path}: {issue.message}", issue.value, issue.has_value))
        else:
            out.append(issue)
    return out


def _is_int_field(scenario: ScenarioSpec, path: str) -> bool:
    node: Any = scenario
    for part in path.split("."):
        node = getattr(node, part, None)
    return isinstance(node, int) and not isinstance(node, bool)


def _issue(doc: Document, loc: tuple, message: str, value: Any, has_value: bool = True) -> InputIssue:
    source, line = doc.locate(loc)
    return InputIssue(source, line, dotted(loc), message, value, has_value)


def _check(spec: TargetsSpec, doc: Document) -> list[InputIssue]:
    """Checks across fields, each located at the value at fault."""
    issues: list[InputIssue] = []
    if spec.name is not None and not re.fullmatch(r"[A-Za-z0-9][\w.-]{0,99}", spec.name):
        issues.append(_issue(doc, ("name",), "a name is letters, digits, '.', '-' or '_' (it names the results "
                                             "folder)", spec.name))
    sides = list(spec.sides)
    for name in sides:
        if not _SIDE.fullmatch(name):
            issues.append(_issue(doc, ("sides", name), "a side name is a letter then letters, digits, - or _ "
                                                       "(at most 40)", name))
    for path, p in spec.parameters.items():
        if not _DOTTED.fullmatch(path):
            issues.append(_issue(doc, ("parameters", path), "a parameter is a dotted scenario path such as "
                                                            "staff.exhaustion.baseline", path))
        if not p.low < p.high:
            issues.append(_issue(doc, ("parameters", path, "low"), f"low must be below high (high {p.high:g})",
                                 p.low))
        for i, s in enumerate(p.sides or []):
            if s not in spec.sides:
                issues.append(_issue(doc, ("parameters", path, "sides", i),
                                     f"unknown side; the sides are {', '.join(sides)}", s))
    names = [t.name for t in spec.targets]
    for i, t in enumerate(spec.targets):
        at = ("targets", i)
        if names.count(t.name) > 1 and names.index(t.name) != i:
            issues.append(_issue(doc, (*at, "name"), "target names must be unique", t.name))
        if t.side is not None and t.ratio is not None:
            issues.append(_issue(doc, (*at, "ratio"), "give side or ratio, not both", t.ratio))
        elif t.side is None and t.ratio is None and len(sides) > 1:
            issues.append(_issue(doc, at, f"give side (one of {', '.join(sides)}) or ratio: [side, side]", None,
                                 has_value=False))
        if t.side is not None and t.side not in spec.sides:
            issues.append(_issue(doc, (*at, "side"), f"unknown side; the sides are {', '.join(sides)}", t.side))
        for j, s in enumerate(t.ratio or []):
            if s not in spec.sides:
                issues.append(_issue(doc, (*at, "ratio", j), f"unknown side; the sides are {', '.join(sides)}", s))
        if t.ratio is not None and t.ratio[0] == t.ratio[1]:
            issues.append(_issue(doc, (*at, "ratio"), "a ratio needs two different sides", t.ratio))
        if not t.low < t.high:
            issues.append(_issue(doc, (*at, "low"), f"low must be below high (high {t.high:g})", t.low))
        if t.year is not None and t.years is not None:
            issues.append(_issue(doc, (*at, "years"), "give year or years, not both", t.years))
        if t.years is not None:
            if len(set(t.years)) != len(t.years) or any(y < 1 for y in t.years):
                issues.append(_issue(doc, (*at, "years"), "years are distinct whole numbers from 1", t.years))
    return issues


def load_targets(path: str | Path, *, replications: int | None = None, budget: int | None = None) -> Calibration:
    """Read and validate a targets file; every side and every parameter's box is validated as a scenario.

    ``replications`` and ``budget`` override the file's (``--replications``, ``--budget``). The
    budget is checked here: a calibration that would need more runs is an :class:`InputError`.
    """
    path = Path(path)
    shown = _shown_path(path)
    doc = _parse_yaml(path, shown)
    spec = validate_model(TargetsSpec, doc)
    issues = _check(spec, doc)
    if issues:
        raise InputError(issues)
    if replications is not None and not 1 <= replications <= 1000:
        raise InputError([InputIssue("--replications", None, "replications", "must be >= 1 and <= 1000",
                                     replications)])
    if budget is not None and budget < 1:
        raise InputError([InputIssue("--budget", None, "budget", "must be >= 1", budget)])

    here = path.resolve().parent
    side_docs: dict[str, Document] = {}
    side_files: dict[str, list[Path]] = {}
    for side, rel in spec.sides.items():
        p = here / rel
        if not p.is_file():
            raise InputError([_issue(doc, ("sides", side), f"scenario file not found: {_shown_path(p)}", rel)])
        side_docs[side] = load_document(p)
        side_files[side] = sorted(document_files(side_docs[side]))

    only = list(spec.sides)[0] if len(spec.sides) == 1 else None
    targets = [Target(t.name, t.metric, t.side or (only if t.ratio is None else None),
                      tuple(t.ratio) if t.ratio else None,
                      (t.year,) if t.year is not None else tuple(t.years or ()), t.low, t.high)
               for t in spec.targets]
    reps = replications if replications is not None else spec.replications
    name = spec.name or re.sub(r"[^\w.-]", "_", path.stem).lstrip(".") or "targets"  # it names a folder
    cal = Calibration(spec=spec, file=path, doc=doc, name=name, side_docs=side_docs,
                      side_files=side_files, parameters=[], targets=targets, replications=reps,
                      budget=budget if budget is not None else spec.budget, seed=spec.seed, horizon_days=0.0,
                      warmup_days=0.0, overrides={k: v for k, v in (("replications", replications),
                                                                    ("budget", budget)) if v is not None})

    # each side as it stands, then each parameter's ends on every side it sets
    base = {side: _side_scenario(cal, side, []) for side in side_docs}
    runs = {(s.run.horizon_days, s.run.warmup_days) for s in base.values()}
    if len(runs) > 1:
        raise InputError([_issue(doc, ("sides",), "the sides' scenarios differ in horizon_days or warmup_days; "
                                                  "set horizon_days and warmup_days in the targets file",
                                 {k: [s.run.horizon_days, s.run.warmup_days] for k, s in base.items()})])
    cal.horizon_days, cal.warmup_days = next(iter(runs))
    params = []
    for p, ps in spec.parameters.items():
        sides = tuple(ps.sides or list(spec.sides))
        params.append(Parameter(p, ps.low, ps.high, sides, _is_int_field(base[sides[0]], p)))
    cal.parameters = params
    issues = []
    for p in params:
        for side in p.sides:
            for end in ("low", "high"):
                try:
                    cal.scenario(side, {p.path: getattr(p, end)}, end)
                except InputError as exc:
                    issues += [i for i in exc.issues if str(i) not in map(str, issues)]
    if issues:
        raise InputError(issues)

    full_years = int(cal.horizon_days // YEAR_DAYS + 1e-9)
    for i, t in enumerate(spec.targets):
        for j, y in enumerate([t.year] if t.year is not None else (t.years or [])):
            if y > full_years:
                loc = ("targets", i, "year") if t.year is not None else ("targets", i, "years", j)
                issues.append(_issue(doc, loc, f"year {y} is not a whole 52-week year of the horizon "
                                               f"({cal.horizon_days:g} days holds {full_years}); "
                                               f"horizon_days must be at least {y * YEAR_DAYS:g}", y))
    if issues:
        raise InputError(issues)

    need = cal.runs_needed()
    if need > cal.budget:
        m = cal.method
        n = len(cal.sides)
        msg = (f"too small for this calibration: {m.waves} waves x {m.runs_per_wave} parameter sets x {n} sides x "
               f"{cal.replications} replications + {cal.confirm_replications} confirmation replications x {n} "
               f"sides = {need} runs")
        if budget is not None:
            raise InputError([InputIssue("--budget", None, "budget", msg, budget)])
        raise InputError([_issue(doc, ("budget",), msg, cal.budget)])
    return cal
