"""The app's logic, without Streamlit: presets, settings and their documentation, limits,
uploaded scenarios, the teaching demonstrations, and a cache of finished comparisons.

Every setting the app offers is a scenario key; its unit, range and one-line explanation come
from :func:`careos_sim.report.docgen.scenario_keys` (the scenario documentation), and a scenario is
built from the dial values by :func:`careos_sim.spec.loader.load_scenario` with overrides, so the
app validates exactly as ``careos-sim compare --set`` does.
"""

from __future__ import annotations

import atexit
import hashlib
import io
import json
import logging
import math
import multiprocessing
import os
import re
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

import pandas as pd

from careos_sim.spec.hospital import HospitalSpec
from careos_sim.spec.loader import InputError, InputIssue, load_hospital, load_scenario, source_files
from careos_sim.measure.metrics import BY_NAME
from careos_sim.spec.scenario import ScenarioSpec
from careos_sim.text import ECHO_LIMIT, bounded, for_markdown
from careos_sim.spec.settings import RUN_SETTINGS, SIDE_SETTINGS, Setting, settings_docs

__all__ = [
    "PRESET_NAMES", "Presets", "find_presets", "Setting", "SIDE_SETTINGS", "RUN_SETTINGS", "settings_docs",
    "setting_values", "build_scenario", "side_label", "Limits", "check_limits", "check_scenario_limits",
    "check_run", "LimitHit", "LimitError", "MAX_UPLOAD_BYTES", "safe_upload_name", "guard_file", "save_upload",
    "load_upload",
    "issue_lines", "Demo", "DemoSide", "DEMOS", "demo_scenarios", "demo_groups", "trajectory", "ResultCache",
    "CachedRun", "run_comparison", "source_names", "Headline", "HEADLINE", "headline", "demo_cache_root",
    "prepare_all", "demo_key", "load_prepared", "prepare_demo", "demo_figure", "DemoStatus", "DemoPreparer",
    "preparer",
    "key_findings", "findings_table", "scorecard_view", "paired_of", "artefacts", "Artefacts", "workers_for", "estimate_seconds", "RUN_GATE",
    "find_ranges", "check_uncertainty", "uncertainty_key", "run_uncertainty", "UncertaintyView", "uncertainty_view",
    "MIN_UNCERTAINTY_SETS", "MAX_UNCERTAINTY_SETS",
    "HOSPITAL_DEFAULTS", "hospital_presets", "build_hospital", "hospital_summary", "check_hospital_limits",
    "unit_days", "estimate_hospital_seconds", "hospital_workers", "UNITS_TABLE_METRICS", "units_table",
    "units_downloads", "HOSPITAL_SECONDS_PER_DAY",
]

log = logging.getLogger("careos_sim.app")

#: the two presets the app starts from, in ``scenarios/``
PRESET_NAMES = ("telling", "listening")

# --------------------------------------------------------------------------- presets


@dataclass(frozen=True)
class Presets:
    """Where the preset scenario files are; ``fallback`` says why built-in stand-ins are used."""

    folder: Path
    fallback: str | None = None

    def path(self, name: str) -> Path:
        return self.folder / f"{name}.yaml"


def _candidate_folders() -> list[Path]:
    from careos_sim.spec.loader import preset_folders

    return preset_folders()  # the command line's: the environment, a checkout, ./scenarios, an installed wheel


#: Stand-ins used only when the preset files cannot be found (e.g. an installed wheel run from
#: elsewhere): the default unit of the schema with the leadership blocks of the two presets.
_FALLBACK = {
    "telling": {"name": "telling", "leadership": {"listening": 0.0, "pressure_to_work_harder": 1.0}},
    "listening": {"name": "listening", "leadership": {
        "listening": 1.0, "leader_fix_hours_per_week": 4.0, "pressure_to_work_harder": 0.0,
        "elements": {k: 1.0 for k in ("valuing_people", "appreciating_complexity", "integrating_quality",
                                      "quality_team_as_operators", "clinical_language", "transparency")}}},
}


@cache
def find_presets() -> Presets:
    """The folder holding ``telling.yaml`` and ``listening.yaml``: ``$CAREOS_SCENARIOS_DIR``, the
    repository's ``scenarios/`` beside the package, or ``./scenarios``; else built-in stand-ins."""
    tried = _candidate_folders()
    for folder in tried:
        if all((folder / f"{name}.yaml").is_file() for name in PRESET_NAMES):
            return Presets(folder.resolve())
    import yaml

    folder = Path(tempfile.mkdtemp(prefix="careos-sim-presets-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    for name, doc in _FALLBACK.items():
        (folder / f"{name}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    where = ", ".join(str(f) for f in tried)
    return Presets(folder, f"The preset files were not found (looked in {where}); the app uses the schema's "
                           "default unit with the telling and listening leadership blocks instead.")


def _get(model: Any, path: str) -> Any:
    for part in path.split("."):
        model = getattr(model, part)
    return model


def setting_values(scenario: ScenarioSpec, settings: Iterable[Setting] = SIDE_SETTINGS) -> dict[str, float]:
    """The current value of each setting in ``scenario``."""
    return {s.path: (int(_get(scenario, s.path)) if s.integer else float(_get(scenario, s.path)))
            for s in settings}


def _clean(value: Any) -> Any:
    """A widget's value as a scenario value: sliders give 0.35000000000000003, files want 0.35."""
    if isinstance(value, float):
        return int(value) if value.is_integer() and abs(value) < 2**53 else round(value, 6)
    return value


def build_scenario(source: str | Path, values: Mapping[str, Any], name: str | None = None,
                   root: str | Path | None = None) -> ScenarioSpec:
    """The scenario in ``source`` with each setting set to its value (and renamed), validated as
    ``--set`` is; raises :class:`InputError` naming the file, line or setting at fault. With a
    ``root``, the file and its ``extends`` chain may reach only files inside it (:func:`guard_file`)."""
    overrides: dict[str, Any] = {path: _clean(v) for path, v in values.items()}
    if name is not None:
        overrides["name"] = name
    return _load(source, overrides, root)


def side_label(base: str, values: Mapping[str, Any], original: Mapping[str, Any]) -> str:
    """The side's name: its source's, marked "adjusted" once a setting differs from the source
    ("telling, adjusted": no parentheses, since reports write a side as "A (name)")."""
    changed = any(not math.isclose(float(values[k]), float(original[k]), abs_tol=1e-9) for k in values if k in original)
    base = bounded(" ".join(str(base).split()), MAX_LABEL_CHARS)  # a name from a file: one line, short
    return f"{base}, adjusted" if changed else base


#: Longest scenario name shown as a side's label.
MAX_LABEL_CHARS = 60


def distinct_labels(a: str, b: str) -> tuple[str, str]:
    """Two labels that can be told apart in tables and legends."""
    return (a, b) if a != b else (f"{a}, side A", f"{b}, side B")


# --------------------------------------------------------------------------- limits

_ENV = {
    "max_horizon_days": "CAREOS_APP_MAX_HORIZON_DAYS",
    "max_replications": "CAREOS_APP_MAX_REPLICATIONS",
    "max_replication_days": "CAREOS_APP_MAX_REPLICATION_DAYS",
    "max_nurses": "CAREOS_APP_MAX_NURSES",
    "max_beds": "CAREOS_APP_MAX_BEDS",
    "max_upload_bytes": "CAREOS_APP_MAX_UPLOAD_BYTES",
    "max_unit_days": "CAREOS_APP_MAX_UNIT_DAYS",
}
_INTEGER_LIMITS = ("max_replications", "max_nurses", "max_beds", "max_upload_bytes")

#: Largest scenario file the app accepts, in bytes (256 KiB; a scenario file is a few kB).
#: Overridden by ``$CAREOS_APP_MAX_UPLOAD_BYTES``.
MAX_UPLOAD_BYTES = 256 * 1024


@dataclass(frozen=True)
class Limits:
    """What one run of the app may ask of the machine, so that one user cannot tie it up.

    ``max_replication_days`` caps replications x (warm-up + horizon) for each side (the default,
    7,300, is the main comparison: 10 replications of 730 days, about a minute on two cores).
    ``max_nurses`` caps a side's nursing headcount and ``max_beds`` its beds (the presets: 26
    nurses, 30 beds), since the work of a simulated day grows with both. ``max_upload_bytes``
    caps an uploaded scenario file.

    ``max_unit_days`` caps, for a hospital, replications x (warm-up + horizon) x its units, for
    each side, since a hospital's day costs about one unit's day per unit. The default, 7,700, is
    the 21-unit default hospital at 2 replications of 182 days (7,644): half a year, about four
    minutes on one core (0.3 s a replication-day of that hospital, measured) or two on two; the
    unit limit allows about as many simulated unit-days (7,300). A hospital's beds and headcount
    are limited per unit by ``max_beds`` and ``max_nurses`` (the default hospital has 574 beds in
    all, none of its units more than 32).
    """

    max_horizon_days: float = 730.0
    max_replications: int = 20
    max_replication_days: float = 7300.0
    max_nurses: int = 150
    max_beds: int = 120
    max_upload_bytes: int = MAX_UPLOAD_BYTES
    max_unit_days: float = 7700.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> tuple["Limits", list[str]]:
        """The limits, each overridable by its environment variable; and any variable ignored, and why."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        problems = []
        for name, var in _ENV.items():
            raw = env.get(var)
            if raw is None or not raw.strip():
                continue
            try:
                value = float(raw)
                if not (math.isfinite(value) and value > 0):
                    raise ValueError
            except ValueError:
                problems.append(f"{var}={raw!r} is not a positive number; using {getattr(cls(), name):g}.")
                continue
            values[name] = int(value) if name in _INTEGER_LIMITS else value
        return cls(**values), problems


@dataclass(frozen=True)
class LimitHit:
    """A limit the requested run goes over, and a plain explanation of why it exists."""

    setting: str
    message: str


_WHY = "so that one user cannot tie up the machine the app runs on for everyone else"
_CLI = ("For longer studies use the command line, e.g. `careos-sim compare scenarios/telling.yaml "
        "scenarios/listening.yaml --horizon-days 730 --replications 40`.")


def check_limits(horizon_days: float, replications: int, limits: Limits, warmup_days: float = 0.0) -> list[LimitHit]:
    """Every limit the run would go over (an empty list: it may run). ``warmup_days`` are simulated
    as well, so they count in replications x days."""
    why, cli = _WHY, _CLI
    hits = []
    if horizon_days > limits.max_horizon_days:
        hits.append(LimitHit("run.horizon_days", (
            f"The horizon of {horizon_days:g} days is above this app's limit of {limits.max_horizon_days:g} days "
            f"(environment variable {_ENV['max_horizon_days']}), {why}. {cli}")))
    if replications > limits.max_replications:
        hits.append(LimitHit("run.replications", (
            f"{replications} replications are above this app's limit of {limits.max_replications} "
            f"(environment variable {_ENV['max_replications']}), {why}. {cli}")))
    days = horizon_days + max(0.0, float(warmup_days or 0.0))
    if not hits and replications * days > limits.max_replication_days:
        spelled = f"{horizon_days:g} days" if not warmup_days else f"({warmup_days:g} days warm-up + {horizon_days:g} days)"
        hits.append(LimitHit("run.replications", (
            f"{replications} replications x {spelled} = {replications * days:,.0f} simulated "
            f"days a side, above this app's limit of {limits.max_replication_days:,.0f} "
            f"(environment variable {_ENV['max_replication_days']}), {why}. Use fewer replications or a shorter "
            f"horizon: {int(limits.max_replication_days // days)} replications fit in {days:g} days. "
            f"{cli}")))
    return hits


def check_scenario_limits(scenario: ScenarioSpec, limits: Limits, side: str = "") -> list[LimitHit]:
    """The limits a scenario itself may go over: its beds and its nursing headcount (an uploaded file
    can ask for 500 beds at one patient per nurse), since the work of a simulated day grows with both."""
    from careos_sim.model.nurses import headcount

    who = f"Side {side.upper()}: " if side else ""
    hits = []
    beds = scenario.unit.beds
    if beds > limits.max_beds:
        hits.append(LimitHit("unit.beds", (
            f"{who}{beds} beds are above this app's limit of {limits.max_beds} "
            f"(environment variable {_ENV['max_beds']}), {_WHY}. {_CLI}")))
    nurses = headcount(scenario)
    if nurses > limits.max_nurses:
        hits.append(LimitHit("staff.nurses", (
            f"{who}a headcount of {nurses} nurses (from the beds, the patients per nurse and the shifts a nurse "
            f"works) is above this app's limit of {limits.max_nurses} "
            f"(environment variable {_ENV['max_nurses']}), {_WHY}. {_CLI}")))
    return hits


def check_run(scenarios: Iterable[ScenarioSpec | HospitalSpec], limits: Limits) -> list[LimitHit]:
    """Every limit a comparison of these scenarios goes over, checked on the server before anything is
    built or run: horizon, replications and replications x (warm-up + horizon) (:func:`check_limits`,
    with the longest warm-up of the sides), each side's beds and headcount
    (:func:`check_scenario_limits`) and, where it is installed, :func:`careos_sim.spec.limits.check_run_cost`.
    Two hospitals are checked by :func:`check_hospital_limits`."""
    scenarios = list(scenarios)
    if not scenarios:
        return []
    if any(isinstance(s, HospitalSpec) for s in scenarios):
        return check_hospital_limits(scenarios, limits)  # type: ignore[arg-type]
    hits = check_limits(max(s.run.horizon_days for s in scenarios), max(s.run.replications for s in scenarios),
                        limits, max(s.run.warmup_days for s in scenarios))
    for side, scenario in zip("ab", scenarios):
        hits += check_scenario_limits(scenario, limits, side)
        hits += _shared_cost_limits(scenario, side)
    return hits


def _shared_cost_limits(scenario: ScenarioSpec, side: str) -> list[LimitHit]:
    try:
        from careos_sim.spec import limits as shared
    except ImportError:  # not there yet: the app's own limits above stand alone
        return []
    check = getattr(shared, "check_run_cost", None)
    caps_type = getattr(shared, "Caps", None)
    if check is None or caps_type is None:
        return []
    try:
        caps = caps_type.from_env()
    except InputError:  # a bad CAREOS_SIM_* variable: the command line reports it; here the defaults hold
        caps = caps_type()
    try:
        check(scenario, replications=scenario.run.replications, caps=caps, source=f"side {side.upper()}")
    except InputError as exc:
        return [LimitHit(i.path, f"Side {side.upper()}: {for_markdown(i.message, 2 * ECHO_LIMIT)}")
                for i in exc.issues]
    return []


_HOSPITAL_CLI = ("For longer studies use the command line, e.g. `careos-sim compare scenarios/hospital.yaml "
                 "scenarios/hospital-listening.yaml --horizon-days 365 --replications 4`.")


def unit_days(hospital: HospitalSpec) -> float:
    """What a hospital's run costs in units' days: replications x (warm-up + horizon) x units."""
    run = hospital.run
    return run.replications * (max(0.0, float(run.warmup_days or 0.0)) + run.horizon_days) * len(hospital.units)


def check_hospital_limits(hospitals: Iterable[HospitalSpec], limits: Limits) -> list[LimitHit]:
    """Every limit a comparison of two hospitals goes over, checked on the server before anything is
    run: horizon, replications and replications x (warm-up + horizon) as for units
    (:func:`check_limits`); replications x (warm-up + horizon) x units against ``max_unit_days``
    for each side, since a hospital's day costs about one unit's day per unit; each unit's beds and
    headcount (:func:`check_scenario_limits`, named ``units[i].unit.beds``); and, where it is
    installed, :func:`careos_sim.spec.limits.check_run_cost` on each hospital as a whole."""
    hospitals = list(hospitals)
    if not hospitals:
        return []
    if not all(isinstance(h, HospitalSpec) for h in hospitals):
        return [LimitHit("kind", "A hospital can only be compared with another hospital, and a unit with a unit.")]

    def hospital_words(hit: LimitHit, prefix: str = "", setting: str | None = None) -> LimitHit:
        return LimitHit(setting or hit.setting, prefix + hit.message.replace(_CLI, _HOSPITAL_CLI))

    horizon = max(h.run.horizon_days for h in hospitals)
    warmup = max(h.run.warmup_days for h in hospitals)
    hits = [hospital_words(h) for h in check_limits(horizon, max(h.run.replications for h in hospitals), limits,
                                                    warmup)]
    within = not hits  # the units' days are counted once horizon and replications are within their limits
    for side, hospital in zip("ab", hospitals):
        who = f"Side {side.upper()}"
        run, units, days = hospital.run, len(hospital.units), unit_days(hospital)
        if within and days > limits.max_unit_days:
            per_day = run.replications * units
            spelled = (f"{run.horizon_days:g} days" if not run.warmup_days
                       else f"({run.warmup_days:g} days warm-up + {run.horizon_days:g} days)")
            fit = int(limits.max_unit_days // per_day - run.warmup_days)
            advice = (f"at {run.replications} replications a horizon of {fit} days fits" if fit >= 1 else
                      "even one day does not fit at these replications")
            hits.append(LimitHit("run.replications", (
                f"{who}: {run.replications} replications x {spelled} x {units} units = {days:,.0f} simulated "
                f"unit-days, above this app's limit of {limits.max_unit_days:,.0f} for a hospital (environment "
                f"variable {_ENV['max_unit_days']}), {_WHY}: a hospital's day costs about one unit's day per unit. "
                f"Use fewer replications or a shorter horizon: {advice}. {_HOSPITAL_CLI}")))
        over: dict[str, list[tuple[int, LimitHit]]] = {}  # each unit's beds and headcount, by setting
        for i, unit in enumerate(hospital.units):
            for hit in check_scenario_limits(unit.scenario, limits):
                over.setdefault(hit.setting, []).append((i, hit))
        for setting, found in over.items():  # one message a side and setting, naming every unit over it
            i, first = found[0]
            names = [for_markdown(" ".join(hospital.units[j].name.split()), MAX_LABEL_CHARS) for j, _ in found]
            more = (f" So {'is' if len(found) == 2 else 'are'} {len(found) - 1} more of its units: "
                    f"{', '.join(names[1:11])}{', ...' if len(found) > 11 else ''}." if len(found) > 1 else "")
            hit = hospital_words(first, f"{who}, unit {names[0]} (units[{i}]): ", f"units[{i}].{setting}")
            hits.append(LimitHit(hit.setting, hit.message + more))
        hits += [hospital_words(h) for h in _shared_cost_limits(hospital, side)]
    return hits


class LimitError(InputError):
    """A run that goes over the app's limits (raised by :func:`run_comparison` on the server side)."""

    def __init__(self, hits: list[LimitHit]):
        self.hits = hits
        super().__init__([InputIssue("limits", None, h.setting, h.message, has_value=False) for h in hits])


#: seconds one simulated day of one replication of the 21-unit default hospital took on one core,
#: measured once (``compare`` of scenarios/hospital.yaml and hospital-listening.yaml, 14 days, one
#: replication each: 8.7 s for 28 replication-days on a shared two-core machine)
HOSPITAL_SECONDS_PER_DAY = 0.31

#: seconds one simulated day of one replication takes (of a unit; and of one unit of a hospital,
#: the measurement above over its 21 units), measured and updated as runs finish
_SPEED = {"seconds_per_replication_day": 0.007, "seconds_per_unit_day": HOSPITAL_SECONDS_PER_DAY / 21}


def estimate_seconds(horizon_days: float, replications: int, workers: int = 1) -> float:
    """Rough wall time of a comparison (both sides) on this machine."""
    return 2 * replications * horizon_days * _SPEED["seconds_per_replication_day"] / max(1, workers)


def estimate_hospital_seconds(hospitals: Iterable[HospitalSpec], workers: int = 1) -> float:
    """Rough wall time of a comparison of hospitals (every side's :func:`unit_days`) on this machine."""
    return sum(unit_days(h) for h in hospitals) * _SPEED["seconds_per_unit_day"] / max(1, workers)


def hospital_workers(hospitals: Iterable[HospitalSpec], env: Mapping[str, str] | None = None) -> int:
    """Processes for a comparison of hospitals: as :func:`workers_for`, a day counted once per unit."""
    hospitals = list(hospitals)
    units = max((len(h.units) for h in hospitals), default=1)
    return workers_for(hospitals[0].run.horizon_days * units, hospitals[0].run.replications, env)


def workers_for(horizon_days: float, replications: int, env: Mapping[str, str] | None = None) -> int:
    """Processes for a run: one for small runs (a pool costs more than it saves), else
    ``$CAREOS_APP_WORKERS`` (default: two, or one on a one-core machine)."""
    env = os.environ if env is None else env
    if 2 * replications * horizon_days < 2000 or replications < 2:
        return 1
    try:
        wanted = int(env.get("CAREOS_APP_WORKERS", "") or min(2, os.cpu_count() or 1))
    except ValueError:
        wanted = 1
    return max(1, min(wanted, 2 * replications))


def _concurrent_runs(env: Mapping[str, str]) -> int:
    try:
        return max(1, int(env.get("CAREOS_APP_MAX_CONCURRENT_RUNS", "") or 1))
    except ValueError:
        return 1


#: runs at once on this server (``$CAREOS_APP_MAX_CONCURRENT_RUNS``, default 1); others wait their turn
RUN_GATE = threading.BoundedSemaphore(_concurrent_runs(os.environ))

# --------------------------------------------------------------------------- uploads

#: Longest uploaded file name kept (the rest of a longer one is cut, its suffix kept).
MAX_NAME_CHARS = 80
#: Most YAML nodes an uploaded file may expand to (anchors and aliases counted as often as they are
#: used), so that a few kB of aliases cannot make the loader walk billions of values.
MAX_YAML_NODES = 100_000
#: Most problems shown for one file.
MAX_ISSUES_SHOWN = 30


def safe_upload_name(name: str) -> str:
    """An uploaded file's name as a plain file name: no folder (``/`` or ``\\``), no ``..``, no NUL
    or other control characters, only letters, digits, ``.``, ``_`` and ``-``, not hidden, at most
    :data:`MAX_NAME_CHARS` characters, ending ``.yaml`` or ``.yml``."""
    base = re.split(r"[/\\]", str(name).replace("\x00", "/"))[-1]
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", base)
    safe = re.sub(r"\.{2,}", ".", safe).lstrip("._-")
    stem, dot, suffix = safe.rpartition(".")
    if not dot or suffix.lower() not in ("yaml", "yml"):
        stem, suffix = safe, "yaml"
    stem = stem.rstrip(".")[: MAX_NAME_CHARS - len(suffix) - 1] or "scenario"
    return f"{stem}.{suffix}"


def _write_new(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` as a new regular file: whatever stood there (a symbolic link, a
    file) is removed first, and the file is opened without following links."""
    if path.is_symlink() or path.exists():
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)


def _is_hospital_file(path: Path) -> bool:
    """A shipped hospital file (``kind: hospital``), told from a unit preset by its first lines."""
    try:
        head = path.read_text(encoding="utf-8")[:4000]
    except (OSError, UnicodeDecodeError):
        return False
    return any(line.strip() == "kind: hospital" for line in head.splitlines())


#: the folder of unit presets beside the top-level presets (``scenarios/units/``) that hospitals extend
UNITS_FOLDER = "units"


def _preset_copies(presets: Presets, safe: str, hospital: bool) -> tuple[dict[str, Path], dict[str, Path]]:
    """The presets an upload may reach, by the name of their copy: the top-level files (not the
    hospitals, unless the upload is a hospital: a unit cannot extend a hospital) and, for a hospital,
    the files of ``units/``. Only regular files, or links that stay inside the presets folder."""
    home = presets.folder.resolve()

    def fits(path: Path, within: Path) -> bool:
        return path.is_file() and (not path.is_symlink() or path.resolve().parent == within)

    top: dict[str, Path] = {}
    for preset in sorted(presets.folder.glob("*.yaml")):
        if preset.name == safe or not fits(preset, home):
            continue
        if not hospital and _is_hospital_file(preset):  # not a unit's preset: a unit cannot extend a hospital
            continue
        top[preset.name] = preset
    units: dict[str, Path] = {}
    sub = presets.folder / UNITS_FOLDER
    if hospital and sub.is_dir() and not sub.is_symlink():
        for preset in sorted(sub.glob("*.yaml")):
            if fits(preset, home / UNITS_FOLDER) and not _is_hospital_file(preset):
                units[preset.name] = preset
    return top, units


def save_upload(name: str, data: bytes, folder: str | Path, presets: Presets | None = None,
                hospital: bool = False) -> Path:
    """Write an uploaded scenario file into ``folder`` under its own (sanitised) name, beside
    copies of the presets, so that ``extends: default.yaml`` resolves as it does in ``scenarios/``.

    The folder then holds only the presets (regular files, copied: a link in the presets folder
    pointing elsewhere is not copied) and the upload: any other file in it, such as an earlier
    upload, is removed. No file is written through a symbolic link. A ``hospital`` upload has the
    hospital presets beside it too, and a copy of ``units/`` (its regular files only), so that its
    units may extend ``units/icu.yaml``; a unit upload has neither."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if folder.is_symlink():
        raise InputError([InputIssue("upload", None, "<folder>", "the upload folder is a symbolic link",
                                     has_value=False)])
    safe = safe_upload_name(name)
    copies, unit_copies = _preset_copies(presets, safe, hospital) if presets is not None else ({}, {})
    for old in folder.iterdir():  # an earlier upload (or anything else) is no longer reachable
        if old.name not in copies and old.name != safe and (old.is_symlink() or not old.is_dir()):
            old.unlink()
    units = folder / UNITS_FOLDER
    if units.is_symlink() or units.is_file():
        units.unlink()
    elif units.is_dir():  # copied afresh (rmtree removes links inside it, never what they point to)
        shutil.rmtree(units)
    for file_name, preset in copies.items():
        _write_new(folder / file_name, preset.read_bytes())
    if unit_copies:
        units.mkdir()
        for file_name, preset in unit_copies.items():
            _write_new(units / file_name, preset.read_bytes())
    path = folder / safe
    _write_new(path, data)
    return path


def _short_value(value: Any) -> tuple[Any, bool]:
    """An issue's value cut to a length fit to show (a YAML file can make a value of any size)."""
    if value is None or isinstance(value, (bool, int, float)):
        return value, True
    if isinstance(value, str):
        return bounded(value, ECHO_LIMIT), True
    import reprlib

    short = reprlib.Repr()
    short.maxlevel, short.maxlist, short.maxdict, short.maxtuple, short.maxset = 2, 6, 6, 6, 6
    short.maxstring, short.maxother = 60, 60
    return _Shown(bounded(short.repr(value), ECHO_LIMIT)), True


class _Shown(str):
    """A value already made short, shown as it is (not quoted again)."""

    def __repr__(self) -> str:
        return str(self)


def issue_lines(exc: InputError, folder: str | Path | None = None) -> list[str]:
    """The error's lines, ``FILE:LINE: key: message (got VALUE)``, with the upload folder left out
    so that they name the file as the user knows it; values cut to a length fit to show, and at
    most :data:`MAX_ISSUES_SHOWN` lines."""
    lines = []
    prefixes = []
    if folder is not None:
        prefixes = [str(Path(folder)) + os.sep, str(Path(folder).resolve()) + os.sep]
    for issue in exc.issues[:MAX_ISSUES_SHOWN]:
        source, message = issue.source, issue.message
        for prefix in prefixes:
            source = source.removeprefix(prefix)
            message = message.replace(prefix, "")
        value, _ = _short_value(issue.value)
        lines.append(str(InputIssue(bounded(source, ECHO_LIMIT), issue.line, bounded(issue.path, ECHO_LIMIT),
                                    bounded(message, 2 * ECHO_LIMIT), value, issue.has_value)))
    if len(exc.issues) > MAX_ISSUES_SHOWN:
        lines.append(f"... and {len(exc.issues) - MAX_ISSUES_SHOWN} more problems")
    return lines


def _yaml_size_issue(text: str, shown: str) -> InputIssue | None:
    """A problem with a file's YAML that would make reading it costly: aliases expanding to more than
    :data:`MAX_YAML_NODES` values, or a recursive alias, or nesting too deep; else None (and None for
    malformed YAML, which the loader reports with its line)."""
    import yaml

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None
    except RecursionError:
        return InputIssue(shown, 1, "<document>", "is nested too deeply to be a scenario file", has_value=False)
    if root is None:
        return None
    sizes: dict[int, int] = {}
    stack: list[tuple[Any, bool]] = [(root, False)]
    open_: set[int] = set()
    while stack:  # the expanded size of every node, once each, without recursion
        node, done = stack.pop()
        if id(node) in sizes:
            continue
        children = [c for pair in node.value for c in pair] if isinstance(node, yaml.MappingNode) else (
            list(node.value) if isinstance(node, yaml.SequenceNode) else [])
        if done:
            open_.discard(id(node))
            sizes[id(node)] = 1 + sum(sizes[id(c)] for c in children)
            if sizes[id(node)] > MAX_YAML_NODES:
                return InputIssue(shown, node.start_mark.line + 1, "<document>",
                                  f"expands to more than {MAX_YAML_NODES:,} values (YAML aliases); a scenario "
                                  "file has a few hundred", has_value=False)
            continue
        if id(node) in open_:
            return InputIssue(shown, node.start_mark.line + 1, "<document>", "has a recursive YAML alias",
                              has_value=False)
        open_.add(id(node))
        stack.append((node, True))
        for child in children:
            if id(child) in open_:
                return InputIssue(shown, child.start_mark.line + 1, "<document>", "has a recursive YAML alias",
                                  has_value=False)
            if id(child) not in sizes:
                stack.append((child, False))
    return None


def _extends_of(text: str) -> tuple[Any, int] | None:
    """A file's ``extends`` value and its line, read from the file's own YAML (None: no ``extends``,
    or YAML the loader will report)."""
    import yaml

    try:
        data = yaml.safe_load(text)
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except (yaml.YAMLError, RecursionError):
        return None
    if not isinstance(data, dict) or "extends" not in data or not isinstance(root, yaml.MappingNode):
        return None
    line = next((k.start_mark.line + 1 for k, _ in root.value if getattr(k, "value", None) == "extends"), None)
    return data["extends"], line


def _hospital_refs(text: str) -> list[tuple[Any, int | None, str]]:
    """The files a hospital file names besides its ``extends``, each with its line and key: every
    unit's ``extends`` (one file or a list) and ``system``, and every rollout step's ``system``
    ([] for a file without units or rollout, or YAML the loader will report)."""
    import yaml

    try:
        data = yaml.safe_load(text)
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except (yaml.YAMLError, RecursionError):
        return []
    if not isinstance(data, dict) or not isinstance(root, yaml.MappingNode):
        return []

    def child(node: Any, key: str) -> Any:
        if isinstance(node, yaml.MappingNode):
            return next((v for k, v in node.value if getattr(k, "value", None) == key), None)
        return None

    def line_of(node: Any, key: str, fallback: Any) -> int | None:
        if isinstance(node, yaml.MappingNode):
            for k, _ in node.value:
                if getattr(k, "value", None) == key:
                    return k.start_mark.line + 1
        return fallback.start_mark.line + 1 if fallback is not None else None

    refs: list[tuple[Any, int | None, str]] = []
    for block, keys in (("units", ("extends", "system")), ("rollout", ("system",))):
        entries, nodes = data.get(block), child(root, block)
        if not isinstance(entries, list) or not isinstance(nodes, yaml.SequenceNode):
            continue
        for i, (entry, node) in enumerate(zip(entries, nodes.value)):
            if not isinstance(entry, dict):
                continue
            for key in keys:
                value = entry.get(key)
                line = line_of(node, key, node)
                if isinstance(value, str):
                    refs.append((value, line, f"{block}[{i}].{key}"))
                elif isinstance(value, list):
                    refs += [(v, line, f"{block}[{i}].{key}[{j}]") for j, v in enumerate(value)]
    return refs


def guard_file(path: str | Path, root: str | Path, shown: str | None = None) -> None:
    """Check a scenario file and its ``extends`` chain stay inside ``root`` before the loader reads
    them; raise :class:`InputError` otherwise. In a hospital file, every file its units name
    (``units[i].extends``, ``units[i].system``) and its rollout's ``system`` are checked the same way.

    Every file of the chain must be a regular file in ``root`` (its real path too: a symbolic link
    is refused) and may not be costly to read (:func:`_yaml_size_issue`). A target that is refused
    is never opened, and the error echoes only what the file wrote (``extends: /etc/passwd``),
    never anything of the target."""
    root_abs = Path(os.path.abspath(root))
    root_real = Path(root).resolve()
    first = Path(os.path.abspath(path))
    todo = [(first, shown or first.name)]
    seen: set[Path] = set()
    while todo:
        current, shown = todo.pop()
        if current in seen:  # a circular chain, or a file named twice: the loader reports a cycle
            continue
        seen.add(current)
        if len(seen) > 4 * 20:  # far more than the loader's own limit on files reached (it reports that)
            return
        problem = _outside(current, root_abs, root_real)
        if problem is not None:  # the upload itself: every parent is checked below, before it is opened
            raise InputError([InputIssue(shown, None, "<file>", problem, has_value=False)])
        try:
            if current.stat().st_size > 4 * MAX_UPLOAD_BYTES:
                raise InputError([InputIssue(shown, None, "<file>", "is too large to be a scenario file",
                                             has_value=False)])
            text = current.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue  # the loader reports a file it cannot read
        issue = _yaml_size_issue(text, shown)
        if issue is not None:
            raise InputError([issue])
        found = _extends_of(text)
        parents: list[tuple[Any, int | None, str]] = []
        if found is not None:  # else no extends, or YAML the loader reports
            value, line = found
            # one file or a list of them; an entry that is not a name is the loader's to report
            parents = [(value, line, "extends")] if isinstance(value, str) else \
                [(v, line, f"extends[{i}]") for i, v in enumerate(value)] if isinstance(value, list) else []
        parents += _hospital_refs(text)
        for parent, line, where in reversed(parents):
            if not isinstance(parent, str) or not parent.strip():
                continue
            target = Path(os.path.normpath(os.path.join(current.parent, parent)))
            if not os.path.lexists(target) and re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}", parent):
                target = root_abs / f"{parent}.yaml"  # a preset's name: the copy beside the upload
            why = ("a file name cannot hold a NUL character" if "\x00" in parent
                   else _outside(target, root_abs, root_real))
            if why is not None:
                names = ", ".join([*sorted(p.name for p in root_abs.glob("*.yaml")
                                           if p != first and p.is_file() and not p.is_symlink()),
                                   *sorted(f"{UNITS_FOLDER}/{p.name}" for p in root_abs.glob(f"{UNITS_FOLDER}/*.yaml")
                                           if not (root_abs / UNITS_FOLDER).is_symlink() and p.is_file()
                                           and not p.is_symlink())])
                raise InputError([InputIssue(shown, line, where, (
                    f"may name only a preset beside the upload ({names}): {why}"), bounded(parent, ECHO_LIMIT))])
            todo.append((target, target.name))


def _outside(path: Path, root_abs: Path, root_real: Path) -> str | None:
    """Why ``path`` may not be read as part of an upload (None: it may): outside the root, a symbolic
    link, or not a regular file."""
    if "\x00" in str(path):
        return "a file name cannot hold a NUL character"
    try:
        inside = path.relative_to(root_abs)
    except ValueError:
        return "that file is outside the folder of the presets and the upload"
    step = root_abs
    for part in inside.parts:  # no link anywhere below the root
        step = step / part
        if step.is_symlink():
            return "that file is a symbolic link"
    try:
        path.resolve(strict=True).relative_to(root_real)
    except OSError:
        return "no such preset"
    except ValueError:
        return "that file is outside the folder of the presets and the upload"
    if not path.is_file():
        return "that is not a file"
    return None


def _load(path: str | Path, overrides: Mapping[str, Any] | None = None, root: str | Path | None = None,
          shown: str | None = None) -> ScenarioSpec:
    """:func:`careos_sim.spec.loader.load_scenario` confined to ``root``: the chain is checked here first
    (:func:`guard_file`), and the loader confines it as well (``allowed_roots``)."""
    if root is None:
        return load_scenario(path, overrides)
    guard_file(path, root, shown)
    return load_scenario(path, overrides, allowed_roots=[Path(root).resolve()])


def _load_hospital(path: str | Path, overrides: Mapping[str, Any] | None = None, root: str | Path | None = None,
                   shown: str | None = None) -> HospitalSpec:
    """:func:`careos_sim.spec.loader.load_hospital` confined to ``root``, as :func:`_load` is: every file
    the hospital and its units reach is checked here first (:func:`guard_file`), and by the loader."""
    if root is None:
        return load_hospital(path, overrides)
    guard_file(path, root, shown)
    return load_hospital(path, overrides, allowed_roots=[Path(root).resolve()])


def load_upload(name: str, data: bytes, folder: str | Path, presets: Presets | None = None,
                max_bytes: int | None = None, hospital: bool = False
                ) -> tuple[Path | None, ScenarioSpec | HospitalSpec | None, list[str]]:
    """Save and validate an uploaded scenario: (path, scenario, []) or (path or None, None, error lines).

    The upload may be at most ``max_bytes`` (default: :class:`Limits` from the environment,
    :data:`MAX_UPLOAD_BYTES`), and it and its ``extends`` chain may reach only the copies of the
    presets beside it (:func:`guard_file`). A ``hospital`` upload is read as a hospital file
    (``kind: hospital``); it and every file its units name may reach only the copies of the presets
    and of ``units/`` beside it (:func:`save_upload`)."""
    if max_bytes is None:
        max_bytes = Limits.from_env()[0].max_upload_bytes
    shown = safe_upload_name(name)
    if len(data) > max_bytes:
        return None, None, [f"{shown}: <file>: is larger than this app's limit of {size_text(max_bytes)} "
                            f"(environment variable {_ENV['max_upload_bytes']}); a scenario file is a few kB "
                            f"(got {len(data):,} bytes)"]
    try:
        path = save_upload(name, data, folder, presets, hospital=hospital)
    except (OSError, InputError):
        return None, None, [f"{shown}: <file>: could not be saved on the server"]
    try:
        return path, (_load_hospital if hospital else _load)(path, root=path.parent), []
    except InputError as exc:
        if hospital and [i.path for i in exc.issues] == ["kind"] and not exc.issues[0].has_value:
            return path, None, [f"{shown}: kind: is not a hospital file (a hospital file says kind: hospital); "
                                "compare unit scenarios in the Compare mode"]
        return path, None, issue_lines(exc, folder)


def size_text(n: int) -> str:
    """A size in bytes as the limits say it: 256 KiB, or 1,000 bytes."""
    return f"{n / 1024:g} KiB" if n % 1024 == 0 and n < 1024 * 1024 else f"{n:,} bytes"


def scenario_files(path: str | Path, root: str | Path | None = None) -> list[Path]:
    """The file and every file of its ``extends`` chain (for the manifest's hashes); only within
    ``root`` when one is given."""
    try:
        if root is None:
            return source_files(path)
        guard_file(path, root)
        return source_files(path, allowed_roots=[Path(root).resolve()])
    except InputError:
        return [Path(path)]


# --------------------------------------------------------------------------- hospitals

#: the hospital presets each side starts from when the presets folder has them
HOSPITAL_DEFAULTS = ("hospital", "hospital-listening")


def hospital_presets(presets: Presets | None = None) -> list[str]:
    """The hospital presets (every ``kind: hospital`` file in the presets folder, by name), sorted;
    a link is listed only where it stays in the folder. Empty for the built-in stand-ins."""
    presets = presets or find_presets()
    home = presets.folder.resolve()
    return [p.stem for p in sorted(presets.folder.glob("*.yaml"), key=lambda p: p.stem)
            if p.is_file() and (not p.is_symlink() or p.resolve().parent == home) and _is_hospital_file(p)]


def build_hospital(source: str | Path, values: Mapping[str, Any], name: str | None = None,
                   root: str | Path | None = None) -> HospitalSpec:
    """The hospital in ``source`` with each ``run`` value (``run.horizon_days``, ...) set and renamed,
    validated as ``careos-sim compare --set`` does; with a ``root``, confined to it (:func:`guard_file`:
    the file, what it extends and every file its units and rollout name). Raises :class:`InputError`."""
    overrides: dict[str, Any] = {path: _clean(v) for path, v in values.items()}
    if name is not None:
        overrides["name"] = name
    return _load_hospital(source, overrides, root)


#: how a specialty is written on the page
SPECIALTY_NAMES = {"med_surg": "medical-surgical", "step_down": "step-down", "icu": "ICU", "oncology": "oncology"}


def hospital_summary(hospital: HospitalSpec) -> str:
    """One line on what a hospital is: its units by specialty, beds, float pool and rollout (Markdown,
    the hospital's own words escaped)."""
    from collections import Counter

    counts = Counter(u.specialty for u in hospital.units)
    kinds = ", ".join(f"{n} {SPECIALTY_NAMES.get(k, k)}" for k, n in counts.items())
    units = len(hospital.units)
    # the system in force from the first day (a rollout step on day 0 included), and the switches after it
    listening = sum(1 for u in hospital.units if u.leadership_on(0.0).listening >= 0.5)
    later = sum(1 for u in hospital.units if any(day > 0 for day, _ in u.rollout))
    systems = ("every unit on a listening system from day 0" if listening == units else
               "every unit on a telling system" if listening == 0 else
               f"{listening} of its units on a listening system from day 0")
    if later:
        systems += f", and {later} unit{'s' if later != 1 else ''} switching system later in the run (rollout)"
    pool = hospital.float_pool.nurses
    return (f"{units} unit{'s' if units != 1 else ''} ({kinds}), {hospital.beds:,} beds, "
            f"{'a float pool of ' + str(pool) + ' nurses' if pool else 'no float pool'}; {systems}.")


#: the outcomes the units' table shows for each unit, with the short name of its columns (the table
#: has four columns an outcome, so that it reads on a 1366-pixel screen)
UNITS_TABLE_METRICS: tuple[str, ...] = ("safety.harm_per_1000_patient_days", "effectiveness.missed_care_pct",
                                        "workforce.burnout_pct")
UNITS_TABLE_NAMES: dict[str, str] = {"safety.harm_per_1000_patient_days": "Harm",
                                     "effectiveness.missed_care_pct": "Missed care %",
                                     "workforce.burnout_pct": "Burnout %"}


def _unit_specialties(folder: Path) -> dict[str, str]:
    """Each unit's specialty, from the resolved hospital of side A (``scenario-a.yaml``) the results
    folder holds; {} where it has none or it cannot be read."""
    import yaml

    try:
        doc = yaml.safe_load((folder / "scenario-a.yaml").read_text(encoding="utf-8"))
        return {str(u["name"]): SPECIALTY_NAMES.get(str(u["specialty"]), str(u["specialty"]))
                for u in doc.get("units", []) if isinstance(u, dict) and "name" in u and "specialty" in u}
    except (OSError, UnicodeDecodeError, yaml.YAMLError, AttributeError, TypeError):
        return {}


def units_table(folder: str | Path, metrics: Iterable[str] = UNITS_TABLE_METRICS,
                labels: tuple[str, str] | None = None) -> pd.DataFrame:
    """One row per unit of a comparison of two hospitals (``units-comparison.csv``, in A's order): the
    unit's name, its specialty, and for each outcome (columns named ``"<outcome>: A"``, ``": B"``,
    ``": B - A [95% CI]"``, ``": better"``; the outcome as :data:`UNITS_TABLE_NAMES` shortens it) A's
    mean, B's, B - A with its 95% CI, and the better side: ``"A"`` or ``"B"`` (or the sides' ``labels``,
    where given) only where the interval excludes 0, else ``"neither"`` (``"-"`` for a diagnostic),
    formatted as in the report. Empty for a folder without units (a comparison of units)."""
    from careos_sim.measure.labels import label
    from careos_sim.report.common import fmt, interval, signed

    folder = Path(folder)
    path = folder / "units-comparison.csv"
    if not path.is_file():
        return pd.DataFrame()
    paired = pd.read_csv(path)
    specialties = _unit_specialties(folder)
    metrics = list(metrics)
    rows = []
    for name, group in paired.groupby("unit", sort=False):
        by = group.set_index("metric")
        row: dict[str, Any] = {"unit": str(name), "specialty": specialties.get(str(name), "")}
        for metric in metrics:
            if metric not in by.index:
                continue
            r = by.loc[metric]
            unit = BY_NAME[metric].unit if metric in BY_NAME else ""
            head = UNITS_TABLE_NAMES.get(metric) or (label(metric) + (" %" if unit == "%" else ""))
            suffix = " pp" if unit == "%" else ""
            row[f"{head}: A"] = fmt(r["a_mean"])
            row[f"{head}: B"] = fmt(r["b_mean"])
            row[f"{head}: B - A [95% CI]"] = (f"{signed(r['diff_mean'])}{suffix} "
                                             f"{interval(r['diff_ci_low'], r['diff_ci_high'], sign=True)}")
            row[f"{head}: better"] = (dict(zip("ab", labels or ("A", "B"))).get(r["better"], "neither")
                                      if isinstance(r["direction"], str) else "-")
        rows.append(row)
    table = pd.DataFrame(rows)
    if not table.empty and not table["specialty"].astype(bool).any():
        table = table.drop(columns="specialty")
    return table


def units_downloads(folder: str | Path) -> dict[str, tuple[bytes, str, str]]:
    """The units' files of a comparison of hospitals, to download: label -> (data, file name, MIME type)."""
    folder = Path(folder)
    files = {"Units, paired (CSV)": ("units-comparison.csv", "text/csv"),
             "Units' replications (Parquet)": ("units.parquet", "application/vnd.apache.parquet")}
    return {label: ((folder / name).read_bytes(), name, mime) for label, (name, mime) in files.items()
            if (folder / name).is_file()}


# --------------------------------------------------------------------------- demonstrations


@dataclass(frozen=True)
class DemoSide:
    """One side of a demonstration: a preset, what is changed in it, and its name."""

    preset: str
    label: str
    overrides: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Demo:
    """A prepared comparison with a short explanation: the settings are fixed by the demo."""

    key: str
    title: str
    question: str
    explanation: str
    look_for: str
    a: DemoSide
    b: DemoSide
    horizon_days: float
    replications: int
    focus: tuple[str, ...]  # the outcomes of "What happened", the first four as big numbers
    seed: int = 20261125
    weekly: tuple[str, ...] = ()  # the weekly series of the demonstration's own figure
    group: str = ""  # the demonstration this is a case of ("": its own); its cases share the title
    case: str = ""  # the case's name, where the demonstration has more than one
    trajectory: str = ""  # an outcome whose week-by-week course "What happened" describes


DEMOS: tuple[Demo, ...] = (
    Demo(
        key="telling-vs-listening",
        title="1. Telling versus listening",
        question="Same unit, same patients, same nurses, same workflow defects. Does the leadership system "
                 "change what happens to patients and to the people who care for them?",
        explanation="""\
Both sides run the same 30-bed unit. Replication *r* of each side sees the same admissions,
the same patients with the same needs and the same 60 workflow defects at the start (broken
supplies, missing equipment, unclear orders, medication and EHR problems, no interpreter to
hand). Only the leadership system differs.

**Telling.** Leaders set a goal and push. A nurse who meets a defect can file a ticket; a
monthly committee ranks the tickets on month-old, noisy counts, for whichever quality goal is
in fashion this half-year; the quality team mostly audits. Few reports get an answer, so
nurses stop reporting (learned helplessness), the defects stay, and nurses keep working
around them, shift after shift.

**Listening.** A daily huddle and weekly leader rounding hear about defects where the work is
done. Reports are ranked every day on the harm and burden they cause, across all six quality
dimensions; the quality team spends its time fixing; fixes are made visible to the nurse who
reported and celebrated. Reports get answered, so nurses report more, so more gets fixed:
the unit learns.

**What one unit can fix.** About three quarters of the defects belong to hospital
departments (pharmacy, supply chain, IT, ...). The unit can only escalate those, with more
evidence under listening, and the departments fix them at their own pace for both systems.
Listening also has costs: longer huddles while it is new, training, leader hours.""",
        look_for="Listening reports far more and fixes more, so active defects and workarounds fall and fewer "
                 "patients are harmed. The gains are bounded: many defects stay, because departments own them. "
                 "In these first six months missed care is slightly higher under listening (its launch takes "
                 "nurse time in longer huddles: worse before better on that measure), while burnout is already "
                 "lower (answered reports, recognition and no pressure act within weeks). Watch the weekly "
                 "series as the learning loop turns.",
        a=DemoSide("telling", "telling"),
        b=DemoSide("listening", "listening"),
        horizon_days=180, replications=4,
        focus=("safety.harm_per_1000_patient_days", "effectiveness.missed_care_pct", "workforce.burnout_pct",
               "efficiency.workaround_time_pct", "learning.report_pct", "learning.fixes_per_month",
               "learning.active_defects_end"),
    ),
    Demo(
        key="capability-trap",
        title="2. The capability trap: working harder or working smarter",
        case="Pressure alone",
        question="When results lag the goal, should leaders push people to work harder? Here the only thing "
                 "that differs between the two sides is that push.",
        explanation="""\
**Working harder.** Every week leaders compare missed care with their goal of 5%. Above it,
they push: nurses go faster (up to 10% shorter tasks), which helps today. But hurried work
slips more often and harms patients, pressure wears nurses out, and pressured nurses report
up to half as many of the defects they meet. The defects that made the care late are never
fixed, so missed care stays above the goal, so the pressure stays on. This self-reinforcing
loop is the *capability trap* (Repenning and Sterman, 2001): effort spent on getting today's
work done crowds out the improvement that would make tomorrow's easier.

**Pressure alone.** Both sides are the same telling unit, with the same patients, nurses and
defects; only leaders' pressure to work harder differs (1 in A, 0 in B). So every difference
below is what pressure does, and nothing else: the first panel of the figure is the pressure
itself, week by week.

**Working smarter** is the other case of this demonstration: the listening system, which puts
the same hours into huddles, rounding and fixes instead of pushing. It starts from today's
unit and pays for its launch first, so on missed care it is worse before it is better.""",
        look_for="Under working harder, pressure (0 to 1) is on from the second week and stays near its maximum "
                 "(about 0.9 on average); without it, it is zero. Pressure buys what it aims at: missed care is "
                 "about 5 points lower, in every week once the pressure is on. It pays in slips: harm from slips "
                 "doubles, more than the harm it saves from missed care, so harm overall is higher; and nurses "
                 "report about half as many of the defects they meet. Burnout hardly differs (pressure's strain and "
                 "the extra missed care without it weigh about the same), and the defect stock hardly falls under "
                 "either (from about 38 unfixed defects to 35 or 36 in the year), because a telling unit fixes "
                 "little: the work never gets easier, so the pressure never comes off.",
        a=DemoSide("telling", "working harder", {"leadership.pressure_to_work_harder": 1.0}),
        b=DemoSide("telling", "no pressure", {"leadership.pressure_to_work_harder": 0.0}),
        horizon_days=365, replications=6,
        focus=("flow.pressure_mean", "effectiveness.missed_care_pct", "safety.harm_slip_per_1000_patient_days",
               "learning.report_pct", "safety.harm_per_1000_patient_days",
               "safety.harm_missed_care_per_1000_patient_days", "workforce.burnout_pct",
               "learning.active_defects_end"),
        weekly=("flow.pressure_mean", "effectiveness.missed_care_pct", "safety.harm_slip_per_1000_patient_days",
                "learning.report_pct"),
    ),
    Demo(
        key="worse-before-better",
        title="2. The capability trap: working harder or working smarter",
        group="capability-trap",
        case="Working harder against listening: worse before better",
        question="Working smarter, fixing the work instead of pushing people, starts from today's unit and pays "
                 "for its launch first. Is it worse before it is better, and for how long?",
        explanation="""\
**Working harder** is the telling unit as it is: leaders push whenever missed care is above
their goal of 5%, nurses go faster and slip more, and pressured nurses report fewer of the
defects they meet, so the defects stay (the first case of this demonstration shows pressure
alone).

**Working smarter** is the listening system, with no pressure: daily huddles and leader
rounding hear about defects, reports are answered and fixed, the quality team fixes instead of
auditing. Each fix removes part of a defect's encounters, so workarounds shrink and nothing
pushes the nurses. But it starts from today's telling unit and its costs come first: in its
first 12 weeks the huddles are twice as long while they are new, nurses are trained, and a fix
takes months to pay back. Meanwhile working harder's pace gets more tasks started today. So on
missed care, the measure its leaders watch, listening is worse before it is better: the dip
that makes units give up on improvement that would have paid (Repenning and Sterman, 2001).

Unlike the first case, this compares two whole systems, so many settings differ (the listening
dial, all six elements, leaders' fix hours and pressure). It runs the two presets for two years,
as the shipped experiment does (`experiments/capability-trap.yaml`, docs/model.md section 10).""",
        look_for="In the first panel listening's missed care is above working harder's in every week from week 2 to "
                 "week 20, within about a point of it until week 36, and below it in every week from week 37 to the "
                 "end of the second year. Over the two years it is 11.8% against 13.1%, a difference whose interval "
                 "only just includes zero at 10 replications: the trajectory is the point, not the average. Harm is "
                 "lower under listening in almost every week from the start (no pressure, so fewer slips), and over "
                 "the two years harm, burnout, turnover, reporting and the defect stock are all better under "
                 "listening, for about 8 USD more per patient-day. The pressure panel shows how working harder keeps"
                 " its missed care low at first: pressure is on from the second week, about 0.9 on average.",
        a=DemoSide("telling", "working harder"),
        b=DemoSide("listening", "listening"),
        horizon_days=730, replications=10,
        focus=("effectiveness.missed_care_pct", "safety.harm_per_1000_patient_days", "workforce.burnout_pct",
               "learning.active_defects_end", "learning.report_pct", "workforce.turnover_annual_pct",
               "flow.pressure_mean", "efficiency.cost_per_patient_day"),
        weekly=("effectiveness.missed_care_pct", "flow.pressure_mean", "safety.harm_per_1000_patient_days",
                "learning.active_defects_end"),
        trajectory="effectiveness.missed_care_pct",
    ),
    Demo(
        key="interpreter-equity",
        title="3. Interpreter access and equity",
        question="One in ten patients has limited English proficiency (LEP). What does one systemic gap, "
                 "poor interpreter access, do to them compared with everyone else?",
        explanation="""\
Interpreter-access defects touch only LEP patients: an interpreter who cannot be reached for
an admission, an assessment, a discharge or the daily communication round. Nurses work around
them (about 10 minutes each time), sometimes cannot do the task at all (missed care), and a
failed communication can harm the patient and adds a day to the stay.

Both sides here run the telling unit. In A the interpreter-access gap is as it is; in B it
is closed: the same defects exist but are never met
(`defects.categories.interpreter_access.rate_factor` = 0), as if interpreters were always at
hand. Equity is measured by comparing LEP patients with the others: the harm ratio (1 means
equal), the harm gap per 1,000 patient-days and the gap in missed care.

Why does telling leave this gap open? A defect that falls only on LEP patients produces few
tickets, because they are few, so it is outranked by defects that touch everyone. A listening
system ranks defects per patient exposed, so it is not; try telling against listening in the
*Compare* mode and look at the equity panel.""",
        look_for="With interpreter access closed, LEP patients' extra missed care disappears (the missed-care "
                 "gap falls to about zero, clearly so at 8 replications) and harm from failed communication "
                 "disappears (none at all; with the gap open it is a rare event, so its interval is wide), "
                 "while the outcomes of other patients hardly move. LEP patients' harm, the harm ratio and the "
                 "harm gap fall towards the others', but they rest on few LEP patients and vary a lot between "
                 "replications: at 8 replications their intervals only just include zero.",
        a=DemoSide("telling", "interpreter gap, telling"),
        b=DemoSide("telling", "interpreter access fixed, telling",
                   {"defects.categories.interpreter_access.rate_factor": 0.0}),
        horizon_days=365, replications=8,
        focus=("equity.missed_care_gap_pct", "safety.harm_communication_per_1000_patient_days",
               "equity.harm_ratio", "equity.harm_gap_per_1000_patient_days",
               "effectiveness.missed_communication_pct", "safety.harm_per_1000_patient_days"),
    ),
)


def demo_scenarios(demo: Demo, presets: Presets | None = None) -> tuple[ScenarioSpec, ScenarioSpec, tuple[str, str]]:
    """The two scenarios a demonstration runs, with its horizon, replications and seed."""
    presets = presets or find_presets()
    run = {"run.horizon_days": demo.horizon_days, "run.replications": demo.replications, "run.seed": demo.seed}
    a = build_scenario(presets.path(demo.a.preset), {**demo.a.overrides, **run}, demo.a.label, presets.folder)
    b = build_scenario(presets.path(demo.b.preset), {**demo.b.overrides, **run}, demo.b.label, presets.folder)
    return a, b, (demo.a.label, demo.b.label)


def demo_groups(demos: Iterable[Demo] | None = None) -> dict[str, list[Demo]]:
    """The demonstrations as the page lists them: each with its cases, in order (a demonstration's
    ``group`` names the one it is a case of)."""
    groups: dict[str, list[Demo]] = {}
    for demo in DEMOS if demos is None else demos:
        groups.setdefault(demo.group or demo.key, []).append(demo)
    return groups


def trajectory(weekly: pd.DataFrame, metric: str, labels: tuple[str, str]) -> str | None:
    """One plain sentence on an outcome's course, week by week (weeks numbered from 1, as in the
    figures): in how many weeks B was worse than A before the last run of weeks in which B was better
    in every week to the end, and from which week that run starts. None where B is not better at
    the end, or the weekly series lacks the outcome."""
    direction = BY_NAME[metric].direction if metric in BY_NAME else None
    if direction is None or metric not in weekly.columns:
        return None
    means = weekly.groupby(["week", "side"])[metric].mean().unstack("side").sort_index()
    if not {"a", "b"} <= set(means.columns):
        return None
    diff = (means["b"] - means["a"]) * (1 if direction == "lower" else -1)  # > 0: B worse
    weeks = list(diff.index)
    start = len(weeks)
    while start > 0 and diff.iloc[start - 1] < 0:
        start -= 1
    if start == len(weeks) or start == 0:
        return None
    worse = int((diff.iloc[:start] > 0).sum())
    from careos_sim.measure.labels import label

    shown = tuple(for_markdown(x, MAX_LABEL_CHARS) for x in labels)
    first = int(weeks[start]) + 1
    return (f"**Week by week**, {label(metric).lower()} under {shown[1]} was worse than under {shown[0]} in "
            f"{worse} of the first {start} weeks, and better in every one of the {len(weeks) - start} weeks from "
            f"week {first} to the end.")


# --------------------------------------------------------------------------- findings


def _better(better: str, direction: Any, labels: tuple[str, str]) -> str:
    if not isinstance(direction, str):
        return "no better side (a diagnostic)"
    return {"a": labels[0], "b": labels[1]}.get(better, "neither (95% CI includes 0)")


def findings_table(paired: pd.DataFrame, metrics: Iterable[str], labels: tuple[str, str]) -> pd.DataFrame:
    """The chosen outcomes side by side, named and formatted as in the report: A, B, B - A with its
    95% CI, and which side is better."""
    from careos_sim.report.common import fmt, interval, signed
    from careos_sim.measure.labels import label

    rows = paired.set_index("metric")
    out = []
    for name in metrics:
        if name not in rows.index:
            continue
        r = rows.loc[name]
        out.append({
            "outcome": label(name),
            "unit": r["unit"],
            labels[0]: fmt(r["a_mean"]),
            labels[1]: fmt(r["b_mean"]),
            "B - A": signed(r["diff_mean"]),
            "95% CI of B - A": interval(r["diff_ci_low"], r["diff_ci_high"], sign=True),
            "better": _better(r["better"], r["direction"], labels),
            "metric": name,
        })
    return pd.DataFrame(out)


def _units(unit: str) -> tuple[str, str]:
    """How a value and a difference carry the unit in a sentence: 12.3%, +4.1 pp, 60.9 per 1000 patient-days."""
    if unit in ("ratio", "0-1", "E (0-1)", ""):
        return "", ""
    if unit == "%":
        return "%", " pp"
    return f" {unit}", f" {unit}"


def key_findings(paired: pd.DataFrame, metrics: Iterable[str], labels: tuple[str, str]) -> list[str]:
    """One plain sentence per outcome: both values, the difference, and whether it is clear."""
    sentences = []
    shown = tuple(for_markdown(x, MAX_LABEL_CHARS + 20) for x in labels)  # names are Markdown-escaped
    for row in findings_table(paired, metrics, labels).to_dict("records"):
        direction = BY_NAME[row["metric"]].direction
        unit, diff_unit = _units(row["unit"])
        head = (f"**{row['outcome']}**: {shown[0]} {row[labels[0]]}{unit}, {shown[1]} {row[labels[1]]}{unit} "
                f"(B - A = {row['B - A']}{diff_unit}, 95% CI {row['95% CI of B - A']})")
        if direction is None:
            tail = "."
        elif row["better"].startswith("neither"):
            tail = "; with these replications the difference is not clear (its interval includes zero)."
        else:
            tail = f"; {direction} is better, so **{for_markdown(row['better'], MAX_LABEL_CHARS + 20)}** is better here."
        sentences.append(head + tail)
    return sentences


def scorecard_view(card: pd.DataFrame, labels: tuple[str, str]) -> pd.DataFrame:
    """The report's scorecard (:func:`careos_sim.report.scorecard_table`) as the report's table shows it:
    outcome, unit, A and B with their 95% CIs (kept to the values the outcome can take, as the weekly
    bands are), B - A with its 95% CI, the better side by name."""
    from careos_sim.measure.metrics import value_range
    from careos_sim.report.common import fmt, interval, signed

    def within(low: Any, high: Any, metric: str) -> str:  # a side's interval, kept to what is possible
        lo, hi = value_range(metric)
        clip = (lambda x: min(max(x, lo), hi) if isinstance(x, (int, float)) and math.isfinite(x) else x)
        return interval(clip(low), clip(high))

    rows = []
    for r in card.to_dict("records"):
        rows.append({
            "dimension": r["dimension"],
            "outcome": r["label"],
            "unit": r["unit"],
            f"A: {labels[0]} [95% CI]": f"{fmt(r['a'])} {within(r['a_ci_low'], r['a_ci_high'], r['metric'])}",
            f"B: {labels[1]} [95% CI]": f"{fmt(r['b'])} {within(r['b_ci_low'], r['b_ci_high'], r['metric'])}",
            "B - A": signed(r["diff"]),
            "95% CI of B - A": interval(r["ci_low"], r["ci_high"], sign=True),
            "better": _better(r["better"], r["direction"], labels),
            "metric": r["metric"],
        })
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- running and caching


@dataclass
class CachedRun:
    """A finished comparison in its results folder (written by :func:`careos_sim.results.folders.write_comparison`)."""

    key: str
    folder: Path
    labels: tuple[str, str]
    seconds: float
    replications: int
    horizon_days: float
    extras: dict[str, Any] = field(default_factory=dict)  # figures and tables drawn from the folder, once


def settings_key(a: ScenarioSpec, b: ScenarioSpec, labels: tuple[str, str]) -> str:
    """A digest of everything a comparison depends on: both scenarios as run, and the labels."""
    doc = {"a": a.model_dump(mode="json"), "b": b.model_dump(mode="json"), "labels": list(labels)}
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()[:20]


class ResultCache:
    """Finished comparisons by settings, most recent kept, shared by every session of the server.

    The deterministic model makes a comparison a pure function of its two scenarios, so a
    result is reused whenever the same settings come back (a re-render, another user, a
    teaching demonstration run before). The oldest folders beyond ``max_entries`` are removed.
    """

    def __init__(self, max_entries: int = 16, root: str | Path | None = None):
        self.max_entries = max_entries
        self._root = Path(root) if root is not None else None
        self._entries: OrderedDict[str, CachedRun] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def root(self) -> Path:
        with self._lock:
            if self._root is None:
                self._root = Path(tempfile.mkdtemp(prefix="careos-sim-app-"))
                atexit.register(shutil.rmtree, self._root, ignore_errors=True)
            return self._root

    def folder_for(self, key: str) -> Path:
        return self.root / key

    def get(self, key: str) -> CachedRun | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if not (entry.folder / "manifest.json").is_file():  # removed behind our back
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry

    def put(self, entry: CachedRun) -> None:
        with self._lock:
            self._entries[entry.key] = entry
            self._entries.move_to_end(entry.key)
            while len(self._entries) > self.max_entries:
                _, old = self._entries.popitem(last=False)
                shutil.rmtree(old.folder, ignore_errors=True)

    def __len__(self) -> int:
        return len(self._entries)


def run_comparison(a: ScenarioSpec | HospitalSpec, b: ScenarioSpec | HospitalSpec, labels: tuple[str, str],
                   cache: ResultCache,
                   progress: Callable[[int, int], None] | None = None,
                   sources: tuple[Path | None, Path | None] = (None, None),
                   workers: int | None = None, limits: Limits | None = None) -> CachedRun:
    """Compare A and B on common random numbers and write the results folder; reuse a cached one.

    ``progress(done, total)`` is called as each of the 2 x replications finishes. ``sources``
    are the scenario files the sides came from (hashed into the manifest; only files in a
    source's own folder are read). With ``limits``, a run over them raises :class:`LimitError`
    before anything is built or run. Two hospitals (:class:`HospitalSpec`) run without an event log
    (a unit's first day is kept for the page's animation; a hospital has none).
    """
    from careos_sim.results.documents import write_comparison

    key = settings_key(a, b, labels)
    hit = cache.get(key)
    if hit is not None:
        return hit
    if limits is not None:
        hits = check_run((a, b), limits)
        if hits:
            raise LimitError(hits)
    n, horizon = a.run.replications, a.run.horizon_days
    # a unit's first day as an event log, animated on the page; a hospital has no animation
    comparison, seconds = _run_pair(a, b, progress, workers, ocel_days=None if isinstance(a, HospitalSpec) else 1.0)
    folder = cache.folder_for(key)
    files = tuple(scenario_files(s, Path(s).parent) if s is not None else [] for s in sources)
    write_comparison(comparison, folder, source_names(sources), ["careos-sim", "app"],  # type: ignore[arg-type]
                     scenario_files=files)
    entry = CachedRun(key, folder, labels, seconds, n, horizon)
    cache.put(entry)
    return entry


def _run_pair(a: ScenarioSpec, b: ScenarioSpec, progress: Callable[[int, int], None] | None = None,
              workers: int | None = None, ocel_days: float | None = None) -> tuple[Any, float]:
    """The comparison of A and B on common random numbers, and its wall seconds; ``progress(done,
    total)`` as each of the 2 x replications finishes. Large runs use a pool of spawned processes."""
    from careos_sim.experiment.compare import compare

    n, horizon = a.run.replications, a.run.horizon_days
    total, done = 2 * n, [0]

    def step(k: int) -> None:
        done[0] += k
        if progress is not None:
            progress(done[0], total)

    hospitals = isinstance(a, HospitalSpec)
    if workers is None:
        workers = hospital_workers((a, b)) if hospitals else workers_for(horizon, n)
    started = time.perf_counter()
    executor = None
    if workers > 1:  # spawn: forking a threaded server process is unsafe
        executor = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
        with _POOLS_LOCK:
            _POOLS.add(executor)
    try:
        comparison = compare(a, b, workers=1 if executor is None else workers, executor=executor, progress=step,
                             ocel_days=ocel_days)
    finally:
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
            with _POOLS_LOCK:
                _POOLS.discard(executor)
    seconds = time.perf_counter() - started
    if hospitals:
        _SPEED["seconds_per_unit_day"] = seconds * workers / max(1.0, unit_days(a) + unit_days(b))
    else:
        _SPEED["seconds_per_replication_day"] = seconds * workers / max(1.0, 2 * n * horizon)
    return comparison, seconds


#: the worker pools of runs in progress (a demonstration prepared in the background among them)
_POOLS: set[ProcessPoolExecutor] = set()
_POOLS_LOCK = threading.Lock()


@atexit.register
def _stop_pools() -> None:
    """When the server stops, the workers of a run still in progress stop too (a background thread's
    pool would otherwise go on with the replications already handed to it)."""
    with _POOLS_LOCK:
        pools = list(_POOLS)
    for pool in pools:
        for process in list((getattr(pool, "_processes", None) or {}).values()):
            try:
                process.terminate()
            except Exception:  # noqa: BLE001 - already gone
                pass


def source_names(sources: Iterable[str | Path | None]) -> tuple[str, str]:
    """What a results folder's manifest records as each side's scenario (the report writes it beside
    the side's name): the name of the file it started from (a preset's, or the upload's), or "set
    in the app" where there is none."""
    return tuple(Path(s).name if s is not None else "set in the app" for s in sources)  # type: ignore[return-value]



# --------------------------------------------------------------------------- across what we do not know

#: the shipped ranges of the uncertain free parameters (``experiments/uncertainty/``) that the app's
#: study samples; the command line takes any ranges file or a calibration's plausible sets
RANGES_FILE = "listening-default-unit.yaml"
#: fewest and most parameter settings one study of the app may sample
MIN_UNCERTAINTY_SETS, MAX_UNCERTAINTY_SETS = 10, 40


@cache
def find_ranges() -> Path | None:
    """The shipped ranges file: ``$CAREOS_UNCERTAINTY_RANGES``, the repository's
    ``experiments/uncertainty/`` beside the package, ``./experiments/uncertainty/``, or where an
    installed wheel put it; else None."""
    from careos_sim.spec.loader import installed_folders

    tried = []
    if os.environ.get("CAREOS_UNCERTAINTY_RANGES"):
        tried.append(Path(os.environ["CAREOS_UNCERTAINTY_RANGES"]))
    for root in (Path(__file__).resolve().parents[2], Path.cwd()):
        tried.append(root / "experiments" / "uncertainty" / RANGES_FILE)
    tried += [folder / RANGES_FILE for folder in installed_folders("experiments/uncertainty")]
    return next((f.resolve() for f in tried if f.is_file()), None)


def check_uncertainty(sets: int, replications: int, scenarios: Iterable[ScenarioSpec], limits: Limits) -> list[LimitHit]:
    """Every limit an uncertainty study of ``sets`` settings x ``replications`` paired replications
    goes over: the settings, and the simulated days a side (sets x replications x (warm-up +
    horizon)) against the same limit as a comparison's, with each side's beds and headcount."""
    scenarios = list(scenarios)
    hits = []
    if not MIN_UNCERTAINTY_SETS <= sets <= MAX_UNCERTAINTY_SETS:
        hits.append(LimitHit("uncertainty.sets", (
            f"{sets} parameter settings: this app runs {MIN_UNCERTAINTY_SETS} to {MAX_UNCERTAINTY_SETS}, {_WHY}. For more use the "
            "command line: `careos-sim compare A B --uncertainty experiments/uncertainty/listening-default-unit.yaml`.")))
    if scenarios:
        horizon = max(s.run.horizon_days for s in scenarios)
        warmup = max(s.run.warmup_days for s in scenarios)
        if not 2 <= replications <= limits.max_replications:
            hits.append(LimitHit("uncertainty.replications", (
                f"{replications} paired replications per setting: this app runs 2 (to tell parameter uncertainty "
                f"from simulation noise) to {limits.max_replications} (environment variable "
                f"{_ENV['max_replications']}).")))
        days = sets * replications * (horizon + max(0.0, float(warmup or 0.0)))
        if days > limits.max_replication_days:
            fit = int(limits.max_replication_days // (replications * (horizon + max(0.0, float(warmup or 0.0)))))
            hits.append(LimitHit("uncertainty.sets", (
                f"{sets} settings x {replications} replications x {horizon + warmup:g} days = {days:,.0f} simulated "
                f"days a side, above this app's limit of {limits.max_replication_days:,.0f} (environment variable "
                f"{_ENV['max_replication_days']}), {_WHY}. "
                + (f"{fit} settings fit at this horizon. " if fit >= MIN_UNCERTAINTY_SETS else
                   "Use a shorter horizon. ")
                + "For more use the command line: `careos-sim compare A B --uncertainty "
                  "experiments/uncertainty/listening-default-unit.yaml`.")))
        for side, scenario in zip("ab", scenarios):
            hits += check_scenario_limits(scenario, limits, side)
    return hits


def uncertainty_key(a: ScenarioSpec, b: ScenarioSpec, labels: tuple[str, str], ranges: Path, sets: int,
                    replications: int) -> str:
    """A digest of everything an uncertainty study depends on."""
    h = hashlib.sha256(settings_key(a, b, labels).encode())
    h.update(ranges.read_bytes())
    h.update(f"{sets}:{replications}".encode())
    return "u" + h.hexdigest()[:19]


def run_uncertainty(a: ScenarioSpec, b: ScenarioSpec, labels: tuple[str, str], cache: ResultCache, *, ranges: Path,
                    sets: int, replications: int, progress: Callable[[int, int], None] | None = None,
                    workers: int | None = None, limits: Limits | None = None) -> CachedRun:
    """Compare A and B across ``sets`` parameter settings drawn from ``ranges`` (Latin hypercube, the
    run's seed), ``replications`` paired replications each, on A's horizon; analyse it as
    ``compare --uncertainty`` does (model section 11). The folder holds the study's store,
    ``uncertainty.json`` and ``set_effects.parquet``; a cached study is reused."""
    from careos_sim.model.nurses import headcount
    from careos_sim.experiment.uncertainty.run import load_sets, uncertainty_experiment
    from careos_sim.experiment.uncertainty.study import DEFAULT_WTP_PER_HARM, HARM, analyse_store, run_study

    key = uncertainty_key(a, b, labels, ranges, sets, replications)
    hit = cache.get(key)
    if hit is not None:
        return hit
    run = {"replications": replications}
    a, b = (s.model_copy(update={"run": s.run.model_copy(update=run)}) for s in (a, b))
    if limits is not None:
        hits = check_uncertainty(sets, replications, (a, b), limits)
        if hits:
            raise LimitError(hits)
    uncertain = load_sets(ranges, samples=sets, seed=a.run.seed)
    exp = uncertainty_experiment(uncertain, a, b, [], [], [HARM], "app-uncertainty")
    total = sets * 2 * replications
    done = [0]

    def step(n: int, failed: int) -> None:
        done[0] += n
        if progress is not None:
            progress(done[0], total)

    workers = workers if workers is not None else workers_for(a.run.horizon_days, sets * replications)
    folder = cache.folder_for(key)
    if folder.exists():  # left by a study that did not finish (the cache only keeps finished ones)
        shutil.rmtree(folder)
    started = time.perf_counter()
    executor = None
    if workers > 1:  # spawn: forking a threaded server process is unsafe
        executor = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
    try:
        swept = run_study(exp, folder, resume=False, workers=workers, executor=executor,
                          command=["careos-sim", "app"], progress=step)
    finally:
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
    if swept.failed:
        raise RuntimeError(f"{swept.failed} of {total} runs of the uncertainty study failed")
    analyse_store(folder, uncertain, labels=labels, fails_on=HARM, wtp_per_harm=DEFAULT_WTP_PER_HARM,
                  nurses=float(headcount(a)), seed=a.run.seed)
    seconds = time.perf_counter() - started
    entry = CachedRun(key, folder, labels, seconds, replications, a.run.horizon_days, {"sets": sets})
    cache.put(entry)
    return entry


@dataclass
class UncertaintyView:
    """What the page shows of a finished uncertainty study: the report's words (Markdown, headings one
    level below the page's) and its figures as PNG."""

    words: str
    figures: dict[str, bytes]  # "uncertainty_effects", "uncertainty_drivers", "uncertainty_boxes", "uncertainty_ceac"


def uncertainty_view(entry: CachedRun) -> UncertaintyView:
    """The words and figures of a finished study, drawn once per folder (from the report's module)."""
    if "view" in entry.extras:
        return entry.extras["view"]
    from careos_sim.report.document import blocks_markdown, png_bytes
    from careos_sim.report.uncertainty import uncertainty_blocks, uncertainty_figures

    words = blocks_markdown(uncertainty_blocks(entry.folder)[1:])  # without its heading: the page has one
    view = UncertaintyView(words.strip(), {k: png_bytes(f) for k, f in uncertainty_figures(entry.folder).items()})
    entry.extras["view"] = view
    return view


# --------------------------------------------------------------------------- what a results folder shows


@dataclass
class Artefacts:
    """What the page shows of a results folder, all from the report (:mod:`careos_sim.report`): its
    figures as PNG, its scorecard, its brief, and the files to download."""

    figures: dict[str, bytes]  # "scorecard", "time_series", "equity" (those the folder supports)
    scorecard: pd.DataFrame  # scorecard_view() of the report's scorecard table
    brief: str  # the report's brief, Markdown, headings set one level below the page's
    downloads: dict[str, tuple[bytes, str, str]]  # label -> (data, file name, MIME type)


def _nested_brief(markdown: str) -> str:
    """The brief under the page's own heading: its "## Brief" title dropped, its sections one level down."""
    lines = markdown.strip().splitlines()
    if lines and lines[0].lstrip("#").strip().lower() == "brief" and lines[0].startswith("#"):
        lines = lines[1:]
    return "\n".join(f"#{line}" if re.match(r"#{2,5} ", line) else line for line in lines).strip()


def paired_of(entry: CachedRun) -> pd.DataFrame:
    """The paired table of a finished comparison (``comparison.csv``: metric, A, B, B - A with CIs, better)."""
    if "paired" not in entry.extras:
        entry.extras["paired"] = pd.read_csv(entry.folder / "comparison.csv")
    return entry.extras["paired"]


def artefacts(entry: CachedRun) -> Artefacts:
    """The report's figures, scorecard and brief of a finished comparison, and its downloads (the
    report itself as HTML, the replications as CSV and Parquet), drawn once per folder."""
    if "artefacts" in entry.extras:
        return entry.extras["artefacts"]
    from careos_sim.report import brief, comparison_figures, scorecard_table, write_report
    from careos_sim.report.document import png_bytes

    folder = entry.folder
    figures = {key: png_bytes(fig) for key, fig in comparison_figures(folder).items()}
    card = scorecard_view(scorecard_table(folder), entry.labels)
    html, _ = write_report(folder)
    reps = pd.read_parquet(folder / "replications.parquet")
    downloads = {
        "Report (HTML)": (html.read_bytes(), "report.html", "text/html"),
        "Replications (CSV)": (reps.to_csv(index=False).encode(), "replications.csv", "text/csv"),
        "Replications (Parquet)": ((folder / "replications.parquet").read_bytes(), "replications.parquet",
                                   "application/vnd.apache.parquet"),
        "Paired comparison (CSV)": ((folder / "comparison.csv").read_bytes(), "comparison.csv", "text/csv"),
        "Weekly series (Parquet)": ((folder / "weekly.parquet").read_bytes(), "weekly.parquet",
                                    "application/vnd.apache.parquet"),
    }
    result = Artefacts(figures, card, _nested_brief(brief(folder)), downloads)
    entry.extras["artefacts"] = result
    return result


# --------------------------------------------------------------------------- headline numbers

#: the outcomes a comparison's results open with, as big numbers
HEADLINE: tuple[str, ...] = ("safety.harm_per_1000_patient_days", "effectiveness.missed_care_pct",
                             "workforce.burnout_pct", "efficiency.cost_per_patient_day")


#: a big number's label, short enough for a quarter of the page at 1366 pixels (the unit with it where
#: the value does not carry it); an outcome not named here is labelled as in the report
SHORT_LABELS: dict[str, str] = {
    "safety.harm_per_1000_patient_days": "Harm per 1,000 pt-days",
    "safety.harm_slip_per_1000_patient_days": "Slips per 1,000 pt-days",
    "safety.harm_missed_care_per_1000_patient_days": "Harm from missed care",
    "safety.harm_communication_per_1000_patient_days": "Comm. harm, 1,000 pt-days",
    "effectiveness.missed_care_pct": "Missed care",
    "workforce.burnout_pct": "Nurses burned out",
    "workforce.turnover_annual_pct": "Turnover, % a year",
    "workforce.mean_exhaustion": "Exhaustion (0 to 1)",
    "efficiency.cost_per_patient_day": "Cost per pt-day, USD",
    "efficiency.workaround_time_pct": "Time on workarounds",
    "flow.pressure_mean": "Pressure (0 to 1)",
    "learning.report_pct": "Defects reported",
    "learning.active_defects_end": "Unfixed defects at end",
    "learning.fixes_per_month": "Fixes a month",
    "equity.missed_care_gap_pct": "LEP missed-care gap, pp",
    "equity.harm_ratio": "Harm ratio, LEP/other",
    "equity.harm_gap_per_1000_patient_days": "LEP harm gap, 1,000 pt-d",
}


@dataclass(frozen=True)
class Headline:
    """One big number (for ``st.metric``): B's value, the change from A, and its colour."""

    label: str  # the outcome, short, with its unit where the value does not carry it
    value: str  # B's mean
    delta: str  # B - A, and A's mean
    delta_color: str  # "normal" (a rise is good), "inverse" (a fall is good), "off" (no clear better side)
    help: str  # the key finding: both values, the 95% CI, the verdict


def headline(paired: pd.DataFrame, metrics: Iterable[str], labels: tuple[str, str]) -> list[Headline]:
    """The chosen outcomes as big numbers: B's mean, B - A against A's mean, green where B is better
    (its 95% CI excludes zero), red where A is, grey where neither is or there is no better side."""
    metrics = list(metrics)
    table = findings_table(paired, metrics, labels)
    sentences = key_findings(paired, metrics, labels)
    out = []
    for row, sentence in zip(table.to_dict("records"), sentences):
        unit = row["unit"]
        percent = unit == "%"
        short = SHORT_LABELS.get(row["metric"])
        if short is None:
            short = row["outcome"] + ("" if percent or unit in ("", "ratio") else f" ({unit})")
        value = f"{row[labels[1]]}%" if percent else str(row[labels[1]])
        delta = f"{row['B - A']}{' pp' if percent else ''} vs A's {row[labels[0]]}{'%' if percent else ''}"
        direction = BY_NAME[row["metric"]].direction
        if direction is None or row["better"].startswith("neither"):
            colour = "off"
        else:
            colour = "inverse" if direction == "lower" else "normal"
        out.append(Headline(short, value, delta, colour, sentence))
    return out


# --------------------------------------------------------------------------- prepared demonstrations, kept on disk

#: where prepared demonstrations are kept (default: the user's cache folder, ``careos-sim/demos``)
DEMO_CACHE_ENV = "CAREOS_APP_DEMO_CACHE"
#: "all" (default): the first time teaching mode opens, every demonstration is prepared in the
#: background, one after another; "0": only the one opened
PREPARE_ENV = "CAREOS_APP_PREPARE_DEMOS"
#: the layout of a prepared folder; a change makes every older folder stale
DEMO_FORMAT = 1
#: files a prepared folder must hold (besides the figures), each checked against its recorded hash
_DEMO_REQUIRED = ("manifest.json", "comparison.csv", "weekly.parquet", "replications.parquet", "report.html",
                  "app/brief.md", "app/scorecard.parquet")
_INDEX = "app/index.json"
#: the report's figures (``figures/`` of a folder once its report is written) the page shows, by key
_REPORT_FIGURES = {"scorecard": "scorecard.png", "time_series": "weekly_series.png", "equity": "equity.png"}


def demo_cache_root(env: Mapping[str, str] | None = None) -> Path | None:
    """The folder that keeps prepared demonstrations: ``$CAREOS_APP_DEMO_CACHE``, else the user's cache
    folder (``platformdirs``, where installed, else ``$XDG_CACHE_HOME`` or ``~/.cache``) with
    ``careos-sim/demos``; None (nothing is kept across restarts) where that would lie inside the
    repository beside the package."""
    env = os.environ if env is None else env
    if env.get(DEMO_CACHE_ENV, "").strip():
        root = Path(env[DEMO_CACHE_ENV]).expanduser()
    else:
        base = None
        if env is os.environ:
            try:
                import platformdirs

                base = Path(platformdirs.user_cache_dir("careos-sim", appauthor=False))
            except ImportError:
                pass
        if base is None:
            xdg = env.get("XDG_CACHE_HOME", "").strip()
            base = (Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache") / "careos-sim"
        root = base / "demos"
    root = Path(os.path.abspath(root))
    repo = Path(__file__).resolve().parents[2]
    if (repo / "pyproject.toml").is_file() and (root == repo or repo in root.parents
                                                or repo in root.resolve().parents):
        return None
    return root


def prepare_all(env: Mapping[str, str] | None = None) -> bool:
    """Whether the first use of teaching mode prepares every demonstration (``$CAREOS_APP_PREPARE_DEMOS``)."""
    env = os.environ if env is None else env
    return env.get(PREPARE_ENV, "all").strip().lower() not in ("0", "no", "false", "off", "one")


@cache
def _code_digest() -> str:
    """A digest of the package's model and report code (not the app's pages): a change to either, even
    without a new version number, makes prepared demonstrations stale."""
    package = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package).as_posix()
        if rel.startswith("app/") or "__pycache__" in rel:
            continue
        h.update(rel.encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def demo_key(demo: "Demo", a: ScenarioSpec, b: ScenarioSpec, labels: tuple[str, str]) -> str:
    """The prepared folder's name: the package version, then a digest of the two resolved scenarios,
    the labels, the demonstration's weekly figure, the model's code and the folder's layout."""
    from careos_sim import __version__

    h = hashlib.sha256(settings_key(a, b, labels).encode())
    h.update(json.dumps({"weekly": list(demo.weekly), "format": DEMO_FORMAT}).encode())
    h.update(_code_digest().encode())
    return f"{re.sub(r'[^A-Za-z0-9.+_-]', '_', __version__)}-{h.hexdigest()[:20]}"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _listed(folder: Path, name: Any) -> Path | None:
    """A file a prepared folder's index names, if the name is a plain relative path inside it."""
    if not isinstance(name, str) or not name or Path(name).is_absolute() or ".." in Path(name).parts:
        return None
    return folder / name


def _read_index(folder: Path) -> dict[str, Any] | None:
    path = folder / _INDEX
    try:
        if path.is_symlink() or not path.is_file():
            return None
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return doc if isinstance(doc, dict) and isinstance(doc.get("files"), dict) else None


def load_prepared(folder: str | Path, key: str) -> CachedRun | None:
    """A prepared demonstration from its folder, with everything the page shows read in (so it opens
    without drawing anything); None when the folder is missing, stale or damaged: its index must
    name this key and layout and every file it lists must be there with the recorded SHA-256."""
    folder = Path(folder)
    doc = _read_index(folder)
    if doc is None or doc.get("key") != key or doc.get("format") != DEMO_FORMAT:
        return None
    files: dict[str, Any] = doc["files"]
    if any(name not in files for name in _DEMO_REQUIRED):
        return None
    try:
        for name, digest in files.items():
            path = _listed(folder, name)
            if path is None or path.is_symlink() or not path.is_file() or _sha256(path) != digest:
                return None
        labels = (str(doc["labels"][0]), str(doc["labels"][1]))
        entry = CachedRun(key, folder, labels, float(doc["seconds"]), int(doc["replications"]),
                          float(doc["horizon_days"]))
        figures = {str(k): (folder / str(v)).read_bytes() for k, v in doc.get("figures", {}).items()
                   if str(v) in files}
        reps = pd.read_parquet(folder / "replications.parquet")
        downloads = {
            "Report (HTML)": ((folder / "report.html").read_bytes(), "report.html", "text/html"),
            "Replications (CSV)": (reps.to_csv(index=False).encode(), "replications.csv", "text/csv"),
            "Replications (Parquet)": ((folder / "replications.parquet").read_bytes(), "replications.parquet",
                                       "application/vnd.apache.parquet"),
            "Paired comparison (CSV)": ((folder / "comparison.csv").read_bytes(), "comparison.csv", "text/csv"),
            "Weekly series (Parquet)": ((folder / "weekly.parquet").read_bytes(), "weekly.parquet",
                                        "application/vnd.apache.parquet"),
        }
        demo_png = figures.pop("demo", None)
        art = Artefacts(figures, pd.read_parquet(folder / "app" / "scorecard.parquet"),
                        (folder / "app" / "brief.md").read_text(encoding="utf-8"), downloads)
        entry.extras.update(artefacts=art, paired=pd.read_csv(folder / "comparison.csv"), demo_figure=demo_png,
                            weekly=pd.read_parquet(folder / "weekly.parquet"))
    except Exception as exc:  # noqa: BLE001 - a damaged file raises its reader's own errors (pyarrow's, ...)
        log.warning("careos-sim app: the prepared demonstration in %s cannot be read (%s); preparing it again",
                    folder, exc)
        return None
    return entry


def _clear_damaged(folder: Path) -> None:
    """Remove what an earlier preparation wrote in a folder that no longer checks out and whose results
    manifest cannot be read: only the files its index lists (regular files inside the folder), the
    index itself, and then the folders left empty. Anything else in it stays (and the folder is then
    not used, see :func:`prepare_demo`)."""
    doc = _read_index(folder)
    names = list(doc["files"]) if doc else []
    for name in [*names, _INDEX]:
        path = _listed(folder, name)
        if path is not None and not path.is_symlink() and path.is_file():
            try:
                path.unlink()
            except OSError:
                pass
    for sub in sorted((p for p in folder.rglob("*") if p.is_dir() and not p.is_symlink()),
                      key=lambda p: len(p.parts), reverse=True):
        try:
            sub.rmdir()  # only an empty one
        except OSError:
            pass


def demo_figure(weekly: pd.DataFrame, paired: pd.DataFrame, labels: tuple[str, str], replications: int,
                metrics: Iterable[str]):
    """The demonstration's own weekly figure (both sides, 95% bands kept to what is possible), or None."""
    from careos_sim.results.figures import time_series_from_frames
    from careos_sim.measure.labels import label

    metrics = [m for m in metrics if m in weekly.columns]
    if not metrics:
        return None
    frames = {side: weekly[weekly["side"] == side].drop(columns="side") for side in "ab"}
    units = dict(zip(paired["metric"], paired["unit"].fillna("").astype(str)))
    return time_series_from_frames(frames, {"a": labels[0], "b": labels[1]}, units, replications, metrics,
                                   titles={m: label(m) for m in metrics})


def _write_prepared(folder: Path, key: str, labels: tuple[str, str], seconds: float, replications: int,
                    horizon_days: float, weekly_metrics: Iterable[str]) -> None:
    """Draw everything the page shows of a finished comparison folder into ``folder/app/`` (the report,
    its figures, scorecard and brief, the demonstration's figure) and then, last, the index that lists
    every file with its SHA-256, so that a folder with an index is complete."""
    from careos_sim.results.folders import write_atomic
    from careos_sim.report import brief, comparison_figures, scorecard_table, write_report
    from careos_sim.report.document import png_bytes

    app = folder / "app"
    app.mkdir(exist_ok=True)
    write_report(folder)  # report.html and report.md, and its figures in figures/
    figures = {key: f"figures/{name}" for key, name in _REPORT_FIGURES.items() if (folder / "figures" / name).is_file()}
    if len(figures) < len(_REPORT_FIGURES):  # another layout of the report's figures: draw them here
        figures = {}
        for name, fig in comparison_figures(folder).items():
            write_atomic(app / f"{name}.png", png_bytes(fig))
            figures[name] = f"app/{name}.png"
    weekly = pd.read_parquet(folder / "weekly.parquet")
    paired = pd.read_csv(folder / "comparison.csv")
    fig = demo_figure(weekly, paired, labels, replications, weekly_metrics)
    if fig is not None:
        write_atomic(app / "demo.png", png_bytes(fig))
        figures["demo"] = "app/demo.png"
    card = scorecard_view(scorecard_table(folder), labels)
    buffer = io.BytesIO()
    card.to_parquet(buffer, index=False)
    write_atomic(app / "scorecard.parquet", buffer.getvalue())
    write_atomic(app / "brief.md", _nested_brief(brief(folder)).encode("utf-8"))
    written = json.loads((folder / "manifest.json").read_text(encoding="utf-8")).get("files", [])
    report = ["report.md", *(f"figures/{name}" for name in _REPORT_FIGURES.values())]
    names = [*_DEMO_REQUIRED, *figures.values(), *written, *(n for n in report if (folder / n).is_file())]
    index = {"format": DEMO_FORMAT, "key": key, "labels": list(labels), "seconds": seconds,
             "replications": replications, "horizon_days": horizon_days, "figures": figures,
             "files": {name: _sha256(folder / name) for name in dict.fromkeys(names)}}
    write_atomic(folder / _INDEX, (json.dumps(index, indent=2) + "\n").encode())


def prepare_demo(demo: "Demo", presets: Presets | None = None, *, root: str | Path | None = None,
                 fallback: ResultCache | None = None, limits: Limits | None = None,
                 progress: Callable[[int, int], None] | None = None, workers: int | None = None,
                 gate: threading.Semaphore | None = None) -> CachedRun:
    """A demonstration's comparison, prepared: read from ``root/<version>-<digest>/`` when it is there
    and checks out (:func:`load_prepared`), else run now (holding ``gate`` while it simulates, as the
    page's runs do) and kept there. A damaged folder is prepared again; a folder that holds files
    careos-sim did not write is left alone, and the result is kept in ``fallback`` (a session's
    temporary cache) instead, as it is when there is no ``root`` or it cannot be written."""
    from careos_sim.results.folders import folder_kind
    from careos_sim.results.documents import write_comparison

    presets = presets or find_presets()
    a, b, labels = demo_scenarios(demo, presets)
    key = demo_key(demo, a, b, labels)
    folder = Path(root) / key if root is not None else None
    if folder is not None:
        hit = load_prepared(folder, key)
        if hit is not None:
            return hit
    if limits is not None:
        hits = check_run((a, b), limits)
        if hits:
            raise LimitError(hits)
    sources = (presets.path(demo.a.preset), presets.path(demo.b.preset))
    if gate is not None:
        gate.acquire()
    try:
        comparison, seconds = _run_pair(a, b, progress, workers)
    finally:
        if gate is not None:
            gate.release()
    files = tuple(scenario_files(s, Path(s).parent) for s in sources)
    if folder is not None:
        try:
            if folder.is_dir() and not folder.is_symlink() and folder_kind(folder) != "compare":
                _clear_damaged(folder)  # a readable results folder is written over in place instead
                if folder.is_dir() and not any(folder.iterdir()):
                    folder.rmdir()
            write_comparison(comparison, folder, source_names(sources), ["careos-sim", "app"],
                             scenario_files=files)  # type: ignore[arg-type]
            _write_prepared(folder, key, labels, seconds, demo.replications, demo.horizon_days, demo.weekly)
            hit = load_prepared(folder, key)
            if hit is not None:
                return hit
            log.warning("careos-sim app: the demonstration written to %s does not read back", folder)
        except (OSError, InputError) as exc:
            log.warning("careos-sim app: cannot keep the demonstration in %s (%s); keeping it for this server "
                        "only", folder, exc)
    fallback = fallback if fallback is not None else ResultCache()
    cache_key = settings_key(a, b, labels)
    out = fallback.folder_for(cache_key)
    write_comparison(comparison, out, source_names(sources), ["careos-sim", "app"],  # type: ignore[arg-type]
                     scenario_files=files)
    entry = CachedRun(cache_key, out, labels, seconds, demo.replications, demo.horizon_days)
    fallback.put(entry)
    weekly, paired = pd.read_parquet(out / "weekly.parquet"), pd.read_csv(out / "comparison.csv")
    fig = demo_figure(weekly, paired, labels, demo.replications, demo.weekly)
    if fig is not None:
        from careos_sim.report.document import png_bytes

        entry.extras["demo_figure"] = png_bytes(fig)
    entry.extras["weekly"] = weekly
    return entry


@dataclass
class DemoStatus:
    """Where the preparation of one demonstration stands."""

    state: str = "waiting"  # "waiting", "running", "done", "failed"
    done: int = 0
    total: int = 0
    entry: CachedRun | None = None
    error: str = ""
    hits: list[LimitHit] = field(default_factory=list)


class DemoPreparer:
    """Prepares demonstrations in one background thread, one at a time, and keeps them for every
    session of the server: what the page opens is read from memory, else from the disk cache
    (:func:`prepare_demo`). :meth:`request` puts the demonstration being opened first. ``limits``
    and ``fallback`` (where a result is kept when the disk cache cannot be used) may be set at any
    time; a preparation uses them as they are when it starts."""

    def __init__(self, presets: Presets | None = None, limits: Limits | None = None,
                 fallback: ResultCache | None = None, gate: threading.Semaphore | None = None):
        self.presets, self.limits, self.fallback = presets, limits, fallback
        self.gate = gate if gate is not None else RUN_GATE
        self._lock = threading.Lock()
        self._queue: list[tuple[str, Demo, Path | None]] = []
        self._status: dict[str, DemoStatus] = {}
        self._keys: dict[str, str] = {}
        self._everything: set[str] = set()
        self._thread: threading.Thread | None = None

    @staticmethod
    def _id(demo: "Demo", root: Path | None) -> str:
        return f"{root}|{demo!r}"

    def key(self, demo: "Demo") -> str:
        """The demonstration's prepared folder name (:func:`demo_key`), worked out once."""
        ident = repr(demo)
        with self._lock:
            known = self._keys.get(ident)
        if known is None:
            a, b, labels = demo_scenarios(demo, self.presets)
            known = demo_key(demo, a, b, labels)
            with self._lock:
                self._keys[ident] = known
        return known

    def status(self, demo: "Demo", root: str | Path | None) -> DemoStatus | None:
        with self._lock:
            return self._status.get(self._id(demo, Path(root) if root else None))

    def ready(self, demo: "Demo", root: str | Path | None) -> CachedRun | None:
        """The prepared comparison, from memory or from the disk cache (checked), or None."""
        root = Path(root) if root else None
        status = self.status(demo, root)
        if status is not None and status.state == "done":
            return status.entry
        if root is None or (status is not None and status.state == "running"):
            return None
        key = self.key(demo)
        entry = load_prepared(root / key, key)
        if entry is not None:
            with self._lock:
                current = self._status.setdefault(self._id(demo, root), DemoStatus())
                if current.state != "running":
                    current.entry, current.state = entry, "done"
        return entry

    def request_all(self, demos: Iterable["Demo"], root: str | Path | None, first: "Demo") -> None:
        """Prepare ``first`` before anything else and, the first time this is asked for ``root``, every
        other demonstration after it."""
        rest: list[Demo] = []
        with self._lock:
            if str(root) not in self._everything:
                self._everything.add(str(root))
                rest = [d for d in demos if d != first]
        self.request([first, *rest], root)

    def request(self, demos: Iterable["Demo"], root: str | Path | None) -> None:
        """Prepare ``demos`` in this order, before anything already waiting; start the thread if needed."""
        root = Path(root) if root else None
        with self._lock:
            wanted = []
            for demo in demos:
                ident = self._id(demo, root)
                status = self._status.get(ident)
                if status is not None and status.state in ("running", "done"):
                    continue
                self._status[ident] = DemoStatus("waiting")
                wanted.append((ident, demo, root))
            ids = {w[0] for w in wanted}
            self._queue = wanted + [q for q in self._queue if q[0] not in ids]
            if self._queue and (self._thread is None or not self._thread.is_alive()):
                self._thread = threading.Thread(target=self._work, name="careos-sim-demos", daemon=True)
                self._thread.start()

    def _work(self) -> None:
        while True:
            with self._lock:
                if not self._queue:
                    self._thread = None
                    return
                ident, demo, root = self._queue.pop(0)
                status = self._status[ident]
                if status.state != "waiting":  # found on disk meanwhile
                    continue
                status.state = "running"

            def progress(done: int, total: int, status: DemoStatus = status) -> None:
                status.done, status.total = done, total

            try:
                entry = prepare_demo(demo, self.presets, root=root, fallback=self.fallback, limits=self.limits,
                                     progress=progress, gate=self.gate)
            except LimitError as exc:
                status.hits, status.state = exc.hits, "failed"
            except Exception as exc:  # noqa: BLE001 - reported on the page in short, in full in the log
                log.exception("careos-sim app: preparing the demonstration %r failed", demo.key)
                status.error, status.state = f"{type(exc).__name__}", "failed"
            else:
                status.entry, status.state = entry, "done"
            time.sleep(0.2)  # a comparison waiting on the gate gets its turn between demonstrations

    def idle(self, timeout: float | None = None) -> bool:
        """Wait until nothing is waiting or being prepared (at most ``timeout`` seconds); whether it is so."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._lock:
                thread = self._thread
            if thread is None or not thread.is_alive():
                return True
            if deadline is not None and time.monotonic() > deadline:
                return False
            thread.join(0.1)


_PREPARER: list[DemoPreparer] = []
_PREPARER_LOCK = threading.Lock()


def preparer() -> DemoPreparer:
    """This process's :class:`DemoPreparer`, shared by every session of the server."""
    with _PREPARER_LOCK:
        if not _PREPARER:
            _PREPARER.append(DemoPreparer())
        return _PREPARER[0]
