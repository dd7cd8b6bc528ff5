"""The hospital: frozen, validated description of several units and what they share.

A hospital file (``kind: hospital``) lists its units, each a unit scenario named by
``extends`` (a preset or a file) with dotted ``set`` overrides, and the blocks the units
share: departments, a float pool, a quality team, hospital leadership, a rollout schedule of
leadership systems, patient flow between units and demand over time (model.md section 10).

Two models: :class:`HospitalFileSpec` is the file as written (units still named by
``extends``); :class:`HospitalSpec` is the resolved hospital, every unit a validated
:class:`~careos_sim.spec.scenario.ScenarioSpec`. ``careos_sim.spec.loader.load_hospital``
turns one into the other; this module reads no files.

Rules that join several values (unique unit names, rollouts naming existing units,
transfers between specialties the hospital has) are checked here and reported at the
dotted path of the offending value, so the loader can locate them like any other rule.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from careos_sim.spec.scenario import (DepartmentsSpec, LeadershipSpec, RunSettingsSpec, ScenarioSpec, _f, _Frozen,
                                      deep_merge)

__all__ = [
    "SPECIALTIES", "MAX_UNITS", "HospitalFileSpec", "HospitalSpec", "HospitalUnitEntrySpec", "HospitalUnitSpec",
    "FloatPoolSpec", "HospitalQualityTeamSpec", "HospitalLeadershipSpec", "RolloutSpec", "TransferSpec",
    "FlowSpec", "SurgeSpec", "DemandSpec", "is_hospital_document",
]

#: The specialties a unit can have (overflow looks for a free bed of the same specialty first).
SPECIALTIES = ("med_surg", "step_down", "icu", "oncology", "cardiac", "orthopedics", "neurology", "pediatrics",
               "maternity", "rehab")
Specialty = Literal[SPECIALTIES]  # type: ignore[valid-type]

#: most units in one hospital
MAX_UNITS = 60
#: longest unit or surge name, in characters
MAX_NAME = 60
#: most dotted overrides in one unit's ``set``
MAX_SET = 200

Loc = tuple[str | int, ...]
Problem = tuple[Loc, str, Any]  # (dotted location, rule, value)


def _raise(title: str, problems: list[Problem]) -> None:
    """Raise the problems as one pydantic error, each at its own location (a plain
    ``ValueError`` in a model validator would be reported at the model, not at the value)."""
    if problems:
        raise ValidationError.from_exception_data(title, [
            InitErrorDetails(type=PydanticCustomError("hospital_rule", "{rule}", {"rule": rule}), loc=loc, input=value)
            for loc, rule, value in problems])


def _name_rule(value: str) -> str:
    """A unit or surge name: 1 to 60 printable characters, no space at either end."""
    if not 1 <= len(value) <= MAX_NAME:
        raise ValueError(f"must be 1 to {MAX_NAME} characters long")
    if value != value.strip():
        raise ValueError("must not begin or end with a space")
    if not value.isprintable():
        raise ValueError("must hold printable characters only")
    return value


def _hint(name: str, known: list[str]) -> str:
    """'; did you mean X?' for the closest known name, or nothing."""
    close = difflib.get_close_matches(name, known, n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


# --------------------------------------------------------------------------- units


class HospitalUnitEntrySpec(_Frozen):
    """One unit of the hospital as written: a unit scenario named by ``extends``, with overrides."""

    name: str = _f(..., "Name of the unit (unique in the hospital, ignoring case), e.g. '4 West'.")
    specialty: Specialty = _f(..., "Specialty of the unit: where overflow looks first and what transfers name.")
    extends: str | Annotated[tuple[str, ...], Field(min_length=1)] = _f(
        ..., "Preset name or unit scenario file (relative to the hospital file) the unit starts from, or a list of "
             "them applied in order (as a scenario's extends).")
    system: str = _f(
        "telling", "Leadership system laid over the unit after extends: a preset name (telling, listening) or a file "
                   "with a leadership block; its leadership block is merged over the unit's.")
    set: dict[str, Any] = Field(
        default_factory=dict, max_length=MAX_SET,
        json_schema_extra={"propertyNames": {"pattern": r"^[^.]+(\.[^.]+)*$"}},
        description="Dotted overrides applied after extends and system, as --set does (unit.beds: 32); run.* is the "
                    "hospital's and cannot be set per unit.")

    @field_validator("name")
    @classmethod
    def _name_ok(cls, value: str) -> str:
        """Names label streams, tables and files: short and printable."""
        return _name_rule(value)

    @field_validator("extends", mode="before")
    @classmethod
    def _extends_shape(cls, value: Any) -> Any:
        """One clear rule instead of pydantic's two union branches."""
        items = list(value) if isinstance(value, (list, tuple)) else [value]
        if not items or not all(isinstance(v, str) and v.strip() for v in items):
            raise ValueError("must be a preset name or a path to a unit scenario file, or a non-empty list of them")
        return value

    @field_validator("system")
    @classmethod
    def _system_shape(cls, value: str) -> str:
        """A blank name would only fail later, as a file that cannot be read."""
        if not value.strip():
            raise ValueError("must be a preset name or a path to a file with a leadership block")
        return value

    @model_validator(mode="after")
    def _set_keys(self) -> "HospitalUnitEntrySpec":
        _raise("HospitalUnitEntrySpec", [p for key in self.set for p in _set_key_problems(key)])
        return self


def _set_key_problems(key: str) -> list[Problem]:
    """What is wrong with one ``set`` key (a dotted path into the unit scenario)."""
    parts = key.split(".")
    if any(not p for p in parts):
        return [(("set", key), "must be a dotted path such as unit.beds (an empty component)", key)]
    if parts[0] == "run":
        return [(("set", key), "the run is the hospital's: set it in the hospital's run block", key)]
    if parts[0] == "extends":
        return [(("set", key), "cannot be set: name the unit's base in its own extends", key)]
    return []


class HospitalUnitSpec(_Frozen):
    """One resolved unit: its validated scenario and the leadership systems it switches to."""

    name: str = _f(..., "Name of the unit.")
    specialty: Specialty = _f(..., "Specialty of the unit.")
    scenario: ScenarioSpec = _f(..., "The unit scenario: extends, system and set resolved; run is the hospital's.")
    rollout: tuple[tuple[float, LeadershipSpec], ...] = _f(
        (), "(from_day, leadership) switches in day order: from that day (after the warm-up) the unit runs that "
            "leadership (the rollout system's block merged over the unit's own).")

    def leadership_on(self, day: float) -> LeadershipSpec:
        """The leadership in force on ``day`` (after the warm-up): the last switch at or before it."""
        current = self.scenario.leadership
        for from_day, leadership in self.rollout:
            if from_day <= day:
                current = leadership
        return current


# --------------------------------------------------------------------------- shared blocks


class FloatPoolSpec(_Frozen):
    """A pool of real nurses the hospital sends where the backlog is worst."""

    nurses: int = _f(0, "Budgeted positions of the float pool (0: no pool).", "nurses", ge=0, le=1000)
    dispatch: Literal["open_slots_then_load", "open_slots", "load"] = _f(
        "open_slots_then_load", "Where a float nurse goes: open_slots (shifts left short), load (the largest backlog "
                                "per nurse), open_slots_then_load (short shifts first, then the backlog).")
    hourly_wage: float | None = _f(
        None, "Loaded hourly wage of a float nurse. Null: the mean of the units' staff.nurses.hourly_wage.",
        "USD/hour", ge=0, le=1000)


class HospitalQualityTeamSpec(_Frozen):
    """The hospital's quality team and how its hours are allocated across units."""

    fte: float | None = _f(
        None, "Full-time equivalents of the hospital quality team. Null: the sum of the units' own "
              "leadership.quality_team.fte (must be null with allocation 'own').", "FTE", ge=0, le=1000)
    allocation: Literal["own", "equal", "burden", "score"] = _f(
        "own", "own: each unit keeps its own block's fte; equal: equal shares; burden: in proportion to each unit's "
               "defect burden; score: by the integrated hospital-wide score.")
    reallocate_days: float = _f(28.0, "Days between recomputations of the allocation.", "days", gt=0, le=3650)

    @model_validator(mode="after")
    def _own_keeps_units_fte(self) -> "HospitalQualityTeamSpec":
        """Under 'own' a hospital FTE would be ignored: refuse it rather than drop it silently."""
        if self.allocation == "own" and self.fte is not None:
            _raise("HospitalQualityTeamSpec", [(("fte",), "must be null when allocation is 'own' (each unit keeps "
                                                          "its own leadership.quality_team.fte)", self.fte)])
        return self


class HospitalLeadershipSpec(_Frozen):
    """What hospital leadership does to every unit at once."""

    shared_mandates: bool = _f(True, "true: mandates come from the hospital and land on every unit at once; false: "
                                     "each unit's own mandates_per_year.")
    shared_goal: bool = _f(True, "true: one rotating top-down goal for the hospital (the same phase on every unit); "
                                 "false: each unit rotates its own.")
    shared_departments: bool = _f(True, "true: the departments are the hospital's, one queue and fix capacity "
                                        "for every unit, a fix reaching every unit; false: each unit has "
                                        "departments of its own (as a unit alone).")


class RolloutSpec(_Frozen):
    """One step of the rollout schedule: these units switch to this leadership system on this day."""

    units: Literal["all"] | Annotated[tuple[str, ...], Field(min_length=1, max_length=MAX_UNITS)] = _f(
        ..., "Unit names, or the string 'all'.")
    system: str = _f(..., "A preset name (listening, telling) or a file (relative to the hospital file) with a "
                          "leadership block.")
    from_day: float = _f(0.0, "Day the units switch (days after the warm-up).", "days", ge=0, le=3650)

    @field_validator("units", mode="before")
    @classmethod
    def _units_shape(cls, value: Any) -> Any:
        """One clear rule instead of pydantic's two union branches."""
        if value == "all" or (isinstance(value, (list, tuple)) and value and all(isinstance(v, str) for v in value)):
            return value
        raise ValueError("must be the string 'all' or a non-empty list of unit names")

    @field_validator("system")
    @classmethod
    def _system_shape(cls, value: str) -> str:
        """A blank name would only fail later, as a file that cannot be read."""
        if not value.strip():
            raise ValueError("must be a preset name or a path to a file with a leadership block")
        return value


class TransferSpec(_Frozen):
    """Patients leaving one specialty's units who move to another's instead of going home."""

    # written ``from`` in a file; a dumped spec (``model_dump``) says ``from_`` and reads back too
    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True, populate_by_name=True)

    from_: Specialty = _f(..., "Specialty the patients leave.", alias="from")
    to: Specialty = _f(..., "Specialty the patients move to.")
    share: float = _f(..., "Share of patients leaving `from` who move to `to`.", "fraction", ge=0, le=1)

    @model_validator(mode="after")
    def _two_specialties(self) -> "TransferSpec":
        """A transfer to the same specialty is no transfer (overflow covers a full unit)."""
        if self.from_ == self.to:
            _raise("TransferSpec", [(("to",), f"must differ from `from` ({self.from_})", self.to)])
        return self


class FlowSpec(_Frozen):
    """Patient flow between units: overflow when a unit is full, and transfers."""

    overflow: bool = _f(True, "A full unit: the patient goes to another unit with a free bed (same specialty first, "
                              "then any non-ICU unit) instead of boarding.")
    off_service_minutes_factor: float = _f(
        1.15, "Multiplier on the task minutes of an off-service patient (care less familiar to the unit).", "x",
        ge=1, le=5)
    off_service_harm_factor: float = _f(
        1.3, "Multiplier on the harm probabilities of an off-service patient.", "x", ge=1, le=10)
    transfers: tuple[TransferSpec, ...] = _f((), "Transfers between specialties.", max_length=len(SPECIALTIES) ** 2)

    @model_validator(mode="after")
    def _transfers_consistent(self) -> "FlowSpec":
        """Each pair once; at most all of a specialty's leaving patients are transferred."""
        _raise("FlowSpec", _transfer_problems(self.transfers))
        return self


def _transfer_problems(transfers: tuple[TransferSpec, ...]) -> list[Problem]:
    """A pair given twice, or shares from one specialty adding up to more than 1."""
    problems: list[Problem] = []
    first: dict[tuple[str, str], int] = {}
    total: dict[str, float] = {}
    for k, t in enumerate(transfers):
        pair = (t.from_, t.to)
        if pair in first:
            problems.append((("transfers", k), f"transfer {t.from_} -> {t.to} is given twice (first as "
                                               f"flow.transfers[{first[pair]}])", t.from_))
            continue
        first[pair] = k
        total[t.from_] = total.get(t.from_, 0.0) + t.share
        if total[t.from_] > 1 + 1e-9:
            problems.append((("transfers", k, "share"), f"shares of transfers from {t.from_} add up to "
                                                        f"{total[t.from_]:g}; at most 1", t.share))
    return problems


class SurgeSpec(_Frozen):
    """A surge event: admissions multiplied for a while (a winter surge, an outbreak)."""

    name: str = _f(..., "Name of the surge (unique in the hospital).")
    start_day: float = _f(..., "First day of the surge (days after the warm-up).", "days", ge=0, le=3650)
    days: float = _f(..., "How long the surge lasts.", "days", gt=0, le=3650)
    factor: float = _f(..., "Multiplier on admissions during the surge.", "x", ge=0.1, le=5)

    @field_validator("name")
    @classmethod
    def _name_ok(cls, value: str) -> str:
        """Names label streams, tables and files: short and printable."""
        return _name_rule(value)


class DemandSpec(_Frozen):
    """Admissions over time at hospital level: weekday and seasonal profiles and surges."""

    weekday: tuple[Annotated[float, Field(ge=0, le=10)], ...] = _f(
        (1.0,) * 7, "Multipliers of admissions Monday to Sunday (the mean need not be 1).", "x", min_length=7,
        max_length=7)
    seasonal_amplitude: float = _f(
        0.0, "a in: admissions x (1 + a cos(2 pi (day - seasonal_peak_day) / 365)).", "fraction", ge=0, le=0.9)
    seasonal_peak_day: int = _f(15, "Day of the year of the seasonal peak.", "day", ge=0, le=364)
    surges: tuple[SurgeSpec, ...] = _f((), "Surge events (their factors multiply where they overlap).",
                                       max_length=100)

    @model_validator(mode="after")
    def _sane(self) -> "DemandSpec":
        """Some admissions in a week; surges told apart by name."""
        problems: list[Problem] = []
        if sum(self.weekday) <= 0:
            problems.append((("weekday",), "must have a positive sum", list(self.weekday)))
        first: dict[str, int] = {}
        for k, surge in enumerate(self.surges):
            key = surge.name.casefold()
            if key in first:
                problems.append((("surges", k, "name"), f"duplicate surge name (demand.surges[{first[key]}] has it)",
                                 surge.name))
            first.setdefault(key, k)
        _raise("DemandSpec", problems)
        return self


# --------------------------------------------------------------------------- the hospital


class HospitalFileSpec(_Frozen):
    """A hospital file as written: units named by extends, and what they share."""

    kind: Literal["hospital"] = _f(..., "Marks a hospital file (a unit scenario has no kind).")
    name: str = _f("hospital", "Short name, used in tables and file names.")
    description: str = _f("", "Free text.")
    units: Annotated[tuple[HospitalUnitEntrySpec, ...], Field(min_length=1, max_length=MAX_UNITS)] = _f(
        ..., "The units, 1 to 60.")
    departments: DepartmentsSpec = _f(DepartmentsSpec(), "Departments shared by every unit: each fixes the defects "
                                                         "it owns, escalated from any unit, with one capacity.")
    float_pool: FloatPoolSpec = _f(FloatPoolSpec(), "The float pool of real nurses (none by default).")
    quality_team: HospitalQualityTeamSpec = _f(HospitalQualityTeamSpec(), "The hospital quality team and its "
                                                                          "allocation across units.")
    leadership: HospitalLeadershipSpec = _f(HospitalLeadershipSpec(), "Hospital leadership: shared mandates and "
                                                                      "a shared goal.")
    rollout: tuple[RolloutSpec, ...] = _f((), "Rollout schedule; a unit not named keeps its own leadership.",
                                          max_length=100)
    flow: FlowSpec = _f(FlowSpec(), "Patient flow between units: overflow and transfers.")
    demand: DemandSpec = _f(DemandSpec(), "Admissions over time: weekday, season and surges.")
    run: RunSettingsSpec = _f(RunSettingsSpec(), "How long to run and how to sample; every unit runs with it.")

    @model_validator(mode="before")
    @classmethod
    def _departments_onto_defaults(cls, data: Any) -> Any:
        """A partial departments block keeps each department's own defaults (``it`` answers in 90
        days, not the generic 60), as in a unit scenario."""
        if isinstance(data, dict) and isinstance(data.get("departments"), dict):
            return {**data, "departments": deep_merge(DepartmentsSpec().model_dump(), data["departments"])}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> "HospitalFileSpec":
        """The rules that join blocks: unique unit names, rollouts and transfers naming what exists."""
        _raise("HospitalFileSpec", [*_unit_name_problems(self.units), *_rollout_problems(self),
                                    *_specialty_problems(self)])
        return self


def _unit_name_problems(units: Sequence[HospitalUnitEntrySpec | HospitalUnitSpec]) -> list[Problem]:
    """Unit names must differ, ignoring case (they name the units' random streams and results)."""
    first: dict[str, int] = {}
    problems: list[Problem] = []
    for i, unit in enumerate(units):
        key = unit.name.casefold()
        if key in first:
            problems.append((("units", i, "name"), f"duplicate unit name (units[{first[key]}] is "
                                                   f"{units[first[key]].name!r}; names are compared ignoring case)",
                             unit.name))
        first.setdefault(key, i)
    return problems


def _rollout_problems(spec: HospitalFileSpec) -> list[Problem]:
    """Rollouts must name existing units, each unit at most once a day."""
    names = [u.name for u in spec.units]
    known = set(names)
    problems: list[Problem] = []
    switched: dict[tuple[str, float], int] = {}
    for k, step in enumerate(spec.rollout):
        if step.units == "all":
            targets = [(None, n) for n in names]
        else:
            targets = list(enumerate(step.units))
        for m, name in targets:
            loc: Loc = ("rollout", k, "units") if m is None else ("rollout", k, "units", m)
            if name not in known:
                problems.append((loc, f"no unit of this name in the hospital{_hint(name, names)}", name))
            elif (name, step.from_day) in switched:
                problems.append((loc, f"unit {name!r} already switches on day {step.from_day:g} "
                                      f"(rollout[{switched[(name, step.from_day)]}])", name))
            else:
                switched[(name, step.from_day)] = k
    return problems


def _specialty_problems(spec: HospitalFileSpec) -> list[Problem]:
    """Transfers may only name specialties some unit has."""
    present = sorted({u.specialty for u in spec.units})
    problems: list[Problem] = []
    for k, t in enumerate(spec.flow.transfers):
        for key, specialty in (("from", t.from_), ("to", t.to)):
            if specialty not in present:
                problems.append((("flow", "transfers", k, key), f"no unit of specialty {specialty} in the hospital "
                                                                f"(it has: {', '.join(present)})", specialty))
    return problems


class HospitalSpec(_Frozen):
    """A resolved hospital: every unit a validated scenario, plus the blocks they share."""

    name: str = _f("hospital", "Short name, used in tables and file names.")
    description: str = _f("", "Free text.")
    units: Annotated[tuple[HospitalUnitSpec, ...], Field(min_length=1, max_length=MAX_UNITS)] = _f(
        ..., "The resolved units, in the order of the file.")
    departments: DepartmentsSpec = DepartmentsSpec()
    float_pool: FloatPoolSpec = FloatPoolSpec()
    quality_team: HospitalQualityTeamSpec = HospitalQualityTeamSpec()
    leadership: HospitalLeadershipSpec = HospitalLeadershipSpec()
    flow: FlowSpec = FlowSpec()
    demand: DemandSpec = DemandSpec()
    run: RunSettingsSpec = RunSettingsSpec()

    @model_validator(mode="after")
    def _unique_names(self) -> "HospitalSpec":
        """As in the file: units are looked up, and their streams named, by name."""
        _raise("HospitalSpec", _unit_name_problems(self.units))
        return self

    def unit(self, name: str) -> HospitalUnitSpec:
        """The unit called ``name`` (exactly as written in the file)."""
        for unit in self.units:
            if unit.name == name:
                return unit
        raise KeyError(f"no unit named {name!r}{_hint(name, [u.name for u in self.units])}")

    @property
    def beds(self) -> int:
        """Staffed beds of the whole hospital."""
        return sum(u.scenario.unit.beds for u in self.units)

    def specialties(self) -> tuple[str, ...]:
        """The specialties of the units, each once, in the order of SPECIALTIES."""
        present = {u.specialty for u in self.units}
        return tuple(s for s in SPECIALTIES if s in present)

    def quality_team_fte(self) -> float:
        """The hospital quality team's FTE: as given, or (null) the sum of the units' own."""
        if self.quality_team.fte is not None:
            return self.quality_team.fte
        return math.fsum(u.scenario.leadership.quality_team.fte for u in self.units)

    def float_pool_hourly_wage(self) -> float:
        """A float nurse's hourly wage: as given, or (null) the mean of the units' staff nurses'."""
        if self.float_pool.hourly_wage is not None:
            return self.float_pool.hourly_wage
        return math.fsum(u.scenario.staff.nurses.hourly_wage for u in self.units) / len(self.units)


def is_hospital_document(doc: Any) -> bool:
    """Whether a read YAML document is a hospital file (``kind: hospital``) rather than a unit scenario."""
    return isinstance(doc, dict) and doc.get("kind") == "hospital"
