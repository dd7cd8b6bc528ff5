"""Cost limits: how much a run, a comparison or a sweep would simulate, checked before anything is built.

A typo such as ``--replications 1000000``, ``staff.nurses.ratio.day: 0.0001`` or a grid of
many levels per factor would otherwise tie up the machine for hours or exhaust its memory
before the first result. The cost is estimated arithmetically from the validated scenario
(and, for an experiment, from the design's size as given in its file, before any point is
generated) and compared against caps:

=========================  =============  =====================================================
cap                        default        what it counts
=========================  =============  =====================================================
``max_runs``               100,000        design points x replications (a run: one replication)
``max_nurses``             5,000          employed nurses the roster builds: 7 x (ceil(beds /
                                          day ratio) + ceil(beds / night ratio)) /
                                          shifts_per_week (``on_duty`` for the continuous roster)
``max_expected_tasks``     25,000,000     tasks one replication is expected to raise: beds x
                                          (horizon + warm-up days) x (scheduled rounds a day +
                                          call lights an hour x 24), plus 2 x admissions a day x
                                          days
``max_replication_days``   1,000,000      simulated days, warm-up included, summed over every run
=========================  =============  =====================================================

Every shipped scenario and experiment is well inside them: the largest, a Sobol design of the
ten sensitivity factors at 64 base samples, is 1,536 runs and 560,640 replication-days; the
default unit raises about 660,000 tasks a replication and employs 26 nurses. A run at a cap
takes hours (about 45,000 tasks a second on one core).

A cost above a cap is bad input (:class:`~careos_sim.spec.loader.InputError`, exit status 2) that
names the path that drives it, the estimate, the cap and how to lift it: ``--allow-large`` on
the command line lifts every cap; an environment variable raises one cap
(``CAREOS_SIM_MAX_RUNS``, ``CAREOS_SIM_MAX_NURSES``, ``CAREOS_SIM_MAX_EXPECTED_TASKS``,
``CAREOS_SIM_MAX_REPLICATION_DAYS``; read by :meth:`Caps.from_env`).
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import os
from dataclasses import dataclass, fields, replace
from typing import Any, Iterator

from careos_sim.spec.loader import InputError, InputIssue

__all__ = ["Caps", "Cost", "estimate", "check_run_cost", "check_design_cost", "headcount", "expected_tasks",
           "active_caps", "using_caps", "cli_caps", "check_command", "ENV_PREFIX", "OVERRIDE_OPTION",
           "ALLOW_LARGE_HELP"]

#: prefix of the environment variables that raise one cap each (see :meth:`Caps.from_env`)
ENV_PREFIX = "CAREOS_SIM_"
#: the command-line option that lifts every cap
OVERRIDE_OPTION = "--allow-large"


@dataclass(frozen=True)
class Caps:
    """The most a run, comparison or sweep may cost before it is refused. ``None``: no cap."""

    max_runs: int | None = 100_000
    max_nurses: int | None = 5_000
    max_expected_tasks: float | None = 25_000_000
    max_replication_days: float | None = 1_000_000

    @classmethod
    def unlimited(cls) -> "Caps":
        """No caps at all (what ``--allow-large`` uses)."""
        return cls(None, None, None, None)

    @classmethod
    def from_env(cls, prefix: str = ENV_PREFIX, environ: dict[str, str] | None = None) -> "Caps":
        """The default caps, each raised or lowered by ``<PREFIX><FIELD>`` (e.g. ``CAREOS_SIM_MAX_RUNS=500000``;
        ``none`` or ``0`` removes the cap). A value that is not a number is bad input."""
        env = os.environ if environ is None else environ
        caps = cls()
        changes: dict[str, Any] = {}
        for f in fields(cls):
            name = f"{prefix}{f.name.upper()}"
            text = env.get(name)
            if text is None or not text.strip():
                continue
            if text.strip().lower() in ("none", "off", "0", "inf", "unlimited"):
                changes[f.name] = None
                continue
            try:
                value = float(text.replace("_", "").replace(",", ""))
            except ValueError:
                value = math.nan
            if not math.isfinite(value) or value < 0:
                raise InputError([InputIssue(name, None, f.name, "must be a number >= 0, or 'none' for no cap",
                                             text)])
            changes[f.name] = int(value) if f.name in ("max_runs", "max_nurses") else value
        return replace(caps, **changes)


_ACTIVE: contextvars.ContextVar[Caps | None] = contextvars.ContextVar("careos_sim_caps", default=None)


def active_caps() -> Caps:
    """The caps in force: those set by :func:`using_caps`, else the defaults with the environment's changes."""
    caps = _ACTIVE.get()
    return caps if caps is not None else Caps.from_env()


@contextlib.contextmanager
def using_caps(caps: Caps) -> Iterator[Caps]:
    """Within the block, :func:`active_caps` (and so every check that is given no caps) uses ``caps``."""
    token = _ACTIVE.set(caps)
    try:
        yield caps
    finally:
        _ACTIVE.reset(token)


@dataclass(frozen=True)
class Cost:
    """What a scenario run with some replications would simulate."""

    runs: int  # replications (x sides, x design points)
    nurses: int  # employed nurses the roster builds (per run)
    expected_tasks: float  # tasks one replication is expected to raise
    replication_days: float  # (horizon + warm-up) days x runs


# --------------------------------------------------------------------------- estimates


def _get(obj: Any, dotted_path: str, default: Any = None) -> Any:
    """A scenario value read defensively (the scenario gains fields; a missing one gives ``default``)."""
    node = obj
    for part in dotted_path.split("."):
        node = getattr(node, part, None)
        if node is None:
            return default
    return node


def _shift_sizes(scenario: Any) -> tuple[int, int]:
    beds = _get(scenario, "unit.beds", 0)
    day = _get(scenario, "staff.nurses.ratio.day", 1.0)
    night = _get(scenario, "staff.nurses.ratio.night", 1.0)
    return math.ceil(beds / day - 1e-9), math.ceil(beds / night - 1e-9)


def headcount(scenario: Any) -> int:
    """Employed nurses the roster would build, as :func:`careos_sim.model.nurses.headcount` counts them,
    computed from the numbers alone (no SimPy objects)."""
    if _get(scenario, "staff.roster") == "continuous":
        return int(_get(scenario, "staff.nurses.on_duty", 0))
    day, night = _shift_sizes(scenario)
    return math.ceil(7 * (day + night) / _get(scenario, "staff.nurses.shifts_per_week", 1.0) - 1e-9)


def _days(scenario: Any) -> float:
    return float(_get(scenario, "run.horizon_days", 0.0)) + float(_get(scenario, "run.warmup_days", 0.0))


def _task_rate(scenario: Any) -> float:
    """Tasks a patient raises a day: scheduled rounds plus call lights."""
    from careos_sim.spec.scenario import SCHEDULED_TASK_TYPES

    rounds = sum(int(_get(scenario, f"tasks.{t}.per_day", 0) or 0) for t in SCHEDULED_TASK_TYPES)
    return rounds + 24.0 * float(_get(scenario, "patients.call_lights_per_hour", 0.0) or 0.0)


def _admissions_per_day(scenario: Any) -> float:
    try:
        return float(scenario.admissions_per_day())
    except Exception:  # a scenario of another shape: no admissions estimate rather than no check
        return 0.0


def expected_tasks(scenario: Any, days: float | None = None) -> float:
    """Tasks one replication is expected to raise (an estimate: every bed occupied, every round due)."""
    d = _days(scenario) if days is None else days
    beds = float(_get(scenario, "unit.beds", 0))
    return beds * d * _task_rate(scenario) + 2.0 * _admissions_per_day(scenario) * d


def _hospital_units(scenario: Any) -> list[Any]:
    """A hospital's unit scenarios (each with the hospital's run days); empty for a unit."""
    units = getattr(scenario, "units", None)
    if not isinstance(units, tuple):
        return []
    run = getattr(scenario, "run", None)
    return [u.scenario.model_copy(update={"run": run}) if run is not None else u.scenario for u in units]


def estimate(scenario: Any, replications: int | None = None, *, sides: int = 1) -> Cost:
    """The cost of running ``scenario`` (a unit, or a hospital: its units summed, and its float pool)
    with ``replications`` (default: its own), ``sides`` times over."""
    reps = int(replications if replications is not None else _get(scenario, "run.replications", 1))
    runs = reps * sides
    units = _hospital_units(scenario)
    if units:
        nurses = sum(headcount(u) for u in units) + int(_get(scenario, "float_pool.nurses", 0) or 0)
        tasks = sum(expected_tasks(u) for u in units)
        return Cost(runs=runs, nurses=nurses, expected_tasks=tasks, replication_days=_days(scenario) * runs)
    return Cost(runs=runs, nurses=headcount(scenario), expected_tasks=expected_tasks(scenario),
                replication_days=_days(scenario) * runs)


# --------------------------------------------------------------------------- checks


def _n(x: float) -> str:
    return f"{x:,.0f}"


def _lift(cap: str) -> str:
    return f"to run it anyway pass {OVERRIDE_OPTION}, or raise the cap with {ENV_PREFIX}{cap.upper()}=N"


def _rule(what: str, value: float, cap: str, limit: float) -> str:
    return f"{what} is {_n(value)}, above the cap {cap} = {_n(limit)}; {_lift(cap)}"


def _nurse_driver(scenario: Any) -> str:
    """The path that most inflates the headcount, compared with the default unit's (30 beds, 1:5, 1:6, 3 shifts)."""
    if _hospital_units(scenario):
        return "units"
    if _get(scenario, "staff.roster") == "continuous":
        return "staff.nurses.on_duty"
    ratios = {
        "unit.beds": _get(scenario, "unit.beds", 30) / 30.0,
        "staff.nurses.ratio.day": 5.0 / _get(scenario, "staff.nurses.ratio.day", 5.0),
        "staff.nurses.ratio.night": 6.0 / _get(scenario, "staff.nurses.ratio.night", 6.0),
        "staff.nurses.shifts_per_week": 3.0 / _get(scenario, "staff.nurses.shifts_per_week", 3.0),
    }
    return max(ratios, key=lambda k: ratios[k])


def _task_driver(scenario: Any, caps: Caps) -> str:
    """The path that most inflates the expected tasks: warm-up if the run would fit without it."""
    if _hospital_units(scenario):
        return "units"
    warm = float(_get(scenario, "run.warmup_days", 0.0))
    if warm > 0 and caps.max_expected_tasks is not None and \
            expected_tasks(scenario, _days(scenario) - warm) <= caps.max_expected_tasks:
        return "run.warmup_days"
    rate = _task_rate(scenario)
    calls = 24.0 * float(_get(scenario, "patients.call_lights_per_hour", 0.0) or 0.0)
    ratios = {
        "unit.beds": _get(scenario, "unit.beds", 30) / 30.0,
        "run.horizon_days": float(_get(scenario, "run.horizon_days", 365.0)) / 365.0,
        "run.warmup_days": warm / 365.0,
        ("patients.call_lights_per_hour" if calls >= rate / 2 else "tasks"): rate / 29.8,
    }
    return max(ratios, key=lambda k: ratios[k])


def _days_driver(scenario: Any, runs: int, caps: Caps) -> str:
    warm = float(_get(scenario, "run.warmup_days", 0.0))
    if warm > 0 and caps.max_replication_days is not None and \
            (_days(scenario) - warm) * runs <= caps.max_replication_days:
        return "run.warmup_days"
    reps = runs / 10.0
    horizon = float(_get(scenario, "run.horizon_days", 365.0)) / 730.0
    return "run.replications" if reps >= horizon else "run.horizon_days"


def _value(scenario: Any, path: str, fallback: Any) -> Any:
    if path == "units":
        units = _hospital_units(scenario)
        return f"{len(units)} units, {sum(int(_get(u, 'unit.beds', 0)) for u in units)} beds"
    if path == "tasks":
        return _task_rate(scenario)
    v = _get(scenario, path)
    return fallback if v is None else v


def scenario_issues(scenario: Any, *, replications: int, caps: Caps, source: str, sides: int = 1,
                    line: int | None = None) -> list[InputIssue]:
    """Every cap the scenario's run exceeds, as issues (empty: within the caps)."""
    cost = estimate(scenario, replications, sides=sides)
    issues: list[InputIssue] = []
    if caps.max_runs is not None and cost.runs > caps.max_runs:
        what = "runs (replications x sides)" if sides > 1 else "runs (replications)"
        issues.append(InputIssue(source, line, "run.replications", _rule(what, cost.runs, "max_runs", caps.max_runs),
                                 replications))
    if caps.max_nurses is not None and cost.nurses > caps.max_nurses:
        path = _nurse_driver(scenario)
        issues.append(InputIssue(source, line, path, _rule(
            "the roster's headcount (7 x (ceil(beds / day ratio) + ceil(beds / night ratio)) / shifts_per_week)",
            cost.nurses, "max_nurses", caps.max_nurses), _value(scenario, path, cost.nurses)))
    if caps.max_expected_tasks is not None and cost.expected_tasks > caps.max_expected_tasks:
        path = _task_driver(scenario, caps)
        issues.append(InputIssue(source, line, path, _rule(
            f"the expected tasks of one replication (beds x {_days(scenario):g} days incl. warm-up x "
            f"{_task_rate(scenario):g} tasks a patient-day, plus admissions and discharges)",
            cost.expected_tasks, "max_expected_tasks", caps.max_expected_tasks), _value(scenario, path, None)))
    if caps.max_replication_days is not None and cost.replication_days > caps.max_replication_days:
        path = _days_driver(scenario, cost.runs, caps)
        issues.append(InputIssue(source, line, path, _rule(
            f"the simulated days ({cost.runs:,} runs x {_days(scenario):g} days incl. warm-up)",
            cost.replication_days, "max_replication_days", caps.max_replication_days),
            replications if path == "run.replications" else _value(scenario, path, None)))
    return issues


def check_run_cost(scenario: Any, *, replications: int, caps: Caps | None = None, source: str = "<scenario>",
                   sides: int = 1) -> None:
    """Raise :class:`InputError` if running ``scenario`` ``replications`` times (``sides`` scenarios of
    its size, for a comparison) would exceed ``caps`` (default: :func:`active_caps`)."""
    issues = scenario_issues(scenario, replications=replications, caps=caps if caps is not None else active_caps(),
                             source=source, sides=sides)
    if issues:
        raise InputError(issues)


def check_design_cost(n_points: int, replications: int, caps: Caps | None = None, source: str = "<experiment>",
                      line: int | None = None, *, days: float | None = None, path: str = "design",
                      value: Any = None) -> None:
    """Raise :class:`InputError` if ``n_points`` design points x ``replications`` (each ``days`` long,
    warm-up included, if given) would exceed ``caps``; located at ``source:line``, ``path``."""
    caps = caps if caps is not None else active_caps()
    runs = n_points * replications
    issues = []
    shown = n_points if value is None else value
    if caps.max_runs is not None and runs > caps.max_runs:
        issues.append(InputIssue(source, line, path, _rule(
            f"the design's runs ({_n(n_points)} points x {replications:,} replications)", runs, "max_runs",
            caps.max_runs), shown))
    if days is not None and caps.max_replication_days is not None and runs * days > caps.max_replication_days:
        issues.append(InputIssue(source, line, path, _rule(
            f"the design's simulated days ({_n(n_points)} points x {replications:,} replications x {days:g} days "
            f"incl. warm-up)", runs * days, "max_replication_days", caps.max_replication_days), shown))
    if issues:
        raise InputError(issues)


# --------------------------------------------------------------------------- the command line

#: help of the command-line option that lifts every cap
ALLOW_LARGE_HELP = ("run even if the estimated cost is above a cap (runs 100,000, nurses 5,000, expected tasks "
                    "25,000,000 a replication, simulated days 1,000,000; see experiments/README.md); "
                    f"{ENV_PREFIX}MAX_RUNS and the like raise one cap")


def cli_caps(args: Any) -> Caps:
    """The caps of a command: none with ``--allow-large``, else the defaults with the environment's changes."""
    return Caps.unlimited() if getattr(args, "allow_large", False) else Caps.from_env()


def check_command(scenarios: list[tuple[Any, str]], args: Any) -> None:
    """Check ``run`` (one scenario) or ``compare`` (two, run with the first one's replications) before
    anything is built; a replication count or horizon given by ``--replications`` or ``--horizon-days``
    is blamed on that option."""
    caps = cli_caps(args)
    reps = int(_get(scenarios[0][0], "run.replications", 1))
    issues: list[InputIssue] = []
    for k, (scenario, source) in enumerate(scenarios):
        side_caps = caps if k == 0 else replace(caps, max_runs=None, max_replication_days=None)
        for issue in scenario_issues(scenario, replications=reps, caps=side_caps, source=source,
                                     sides=len(scenarios)):
            if issue.path == "run.replications" and getattr(args, "replications", None) is not None:
                issue = replace(issue, source="--replications", path="replications")
            elif issue.path == "run.horizon_days" and getattr(args, "horizon_days", None) is not None:
                issue = replace(issue, source="--horizon-days", path="horizon_days")
            issues.append(issue)
    if issues:
        raise InputError(issues)
