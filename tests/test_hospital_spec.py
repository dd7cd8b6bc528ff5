"""The hospital file: its models, its loader and its located errors.

Every problem is an :class:`InputIssue` printed as ``FILE:LINE: dotted.path: message (got VALUE)``;
as in ``test_loader.py``, each test pins the exact text. A unit's problems are reported under
``units[i].``, located where the value is written (the hospital file, or the file it extends).
"""

from __future__ import annotations

import json
import math
import textwrap
import time
import tomllib
from pathlib import Path

import pydantic
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from careos_sim.spec import loader
from careos_sim.spec.hospital import (SPECIALTIES, HospitalFileSpec, HospitalSpec, HospitalUnitSpec,
                                      is_hospital_document)
from careos_sim.spec.limits import headcount
from careos_sim.spec.loader import (MAX_EXTENDS, MAX_NODES, InputError, hospital_json_schema, load_any,
                                    load_hospital, load_scenario)
from careos_sim.spec.scenario import LeadershipSpec, ScenarioSpec
from scenario_files import in_tmp, issue_lines, raised, write  # noqa: F401 (in_tmp: autouse)

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = REPO / "scenarios"
HOSPITAL = SCENARIOS / "hospital.yaml"
ONE_UNIT = SCENARIOS / "hospital-one-unit.yaml"
UNIT_TYPES = ("step-down", "icu", "oncology")


def errors(path, overrides=None, **kw) -> list[str]:
    """The printed lines of the InputError that loading the hospital ``path`` must raise."""
    return issue_lines(raised(load_hospital, path, overrides, **kw))


def hospital(units: str, rest: str = "") -> Path:
    """``h.yaml``: ``kind: hospital`` (line 1), ``units:`` (line 2), the unit lines from line 3, then ``rest``."""
    return write("h.yaml", "kind: hospital\nunits:\n" + textwrap.dedent(units).strip("\n") + "\n"
                 + textwrap.dedent(rest).lstrip("\n"))


TWO = """
  - {name: 4 West, specialty: med_surg, extends: default}
  - {name: MICU, specialty: icu, extends: default}
"""


# --------------------------------------------------------------------------- the shipped hospitals


def test_the_default_hospital_loads():
    h = load_hospital(HOSPITAL)
    assert isinstance(h, HospitalSpec) and 18 <= len(h.units) <= 22 and 550 <= h.beds <= 650
    assert (len(h.units), h.beds) == (21, 574)
    counts = {s: sum(u.specialty == s for u in h.units) for s in h.specialties()}
    assert counts == {"med_surg": 13, "step_down": 4, "icu": 3, "oncology": 1}
    ratios = {(u.specialty, u.scenario.staff.nurses.ratio.day, u.scenario.staff.nurses.ratio.night) for u in h.units}
    assert ratios == {("med_surg", 5, 6), ("step_down", 3, 3), ("icu", 2, 2), ("oncology", 4, 5)}
    assert all(26 <= u.scenario.unit.beds <= 32 for u in h.units if u.specialty == "med_surg")
    assert sorted(u.scenario.unit.beds for u in h.units if u.specialty == "icu") == [16, 18, 20]
    telling = load_scenario(SCENARIOS / "telling.yaml").leadership
    assert all(u.scenario.leadership == telling and u.rollout == () for u in h.units)
    assert all(u.scenario.run == h.run for u in h.units)


def test_the_default_hospital_shares_a_small_pool_departments_flow_and_a_winter_surge():
    h = load_hospital(HOSPITAL)
    nurses = sum(headcount(u.scenario) for u in h.units)
    assert h.float_pool.nurses == round(0.02 * nurses) == 14
    assert (h.quality_team.allocation, h.quality_team_fte(), h.float_pool_hourly_wage()) == ("own", 21.0, 50.0)
    # the default departments, with a capacity factor for the whole hospital (a free parameter)
    assert h.departments == ScenarioSpec().departments.model_copy(update={"capacity_factor": 3.3})
    assert h.leadership.shared_departments
    assert h.flow.overflow and [(t.from_, t.to, t.share) for t in h.flow.transfers] == [
        ("icu", "step_down", 0.7), ("step_down", "med_surg", 0.4)]
    assert h.demand.weekday == (1.0,) * 7 and h.demand.seasonal_amplitude == 0
    [surge] = h.demand.surges
    assert (surge.factor, surge.days) == (1.1, 60)


@pytest.mark.parametrize("name", UNIT_TYPES)
def test_unit_types_extend_the_default_unit_and_load_as_scenarios(name):
    path = SCENARIOS / "units" / f"{name}.yaml"
    assert yaml.safe_load(path.read_text())["extends"] == "../default.yaml"
    scenario = load_scenario(path)
    assert math.isclose(sum(level.share for _, level in scenario.patients.acuity.levels()), 1)
    text = path.read_text()
    assert "70217" in text and "free parameter" in text  # the sources are cited


def test_icu_is_sicker_and_staffed_more_richly_than_step_down_and_med_surg():
    icu, step, default = (load_scenario(SCENARIOS / p) for p in ("units/icu.yaml", "units/step-down.yaml",
                                                                 "default.yaml"))
    assert icu.staff.nurses.ratio.day < step.staff.nurses.ratio.day < default.staff.nurses.ratio.day
    high = [s.patients.acuity.high.share for s in (icu, step, default)]
    assert high == sorted(high, reverse=True) and high[0] > high[2]
    assert math.isclose(icu.patients.acuity.mean_los_days(), 4.5)


def test_a_hospital_of_one_unit_is_the_unit():
    h = load_hospital(ONE_UNIT)
    [unit] = h.units
    assert unit.scenario == load_scenario(SCENARIOS / "telling.yaml")
    assert (h.float_pool.nurses, h.quality_team.allocation, h.flow.overflow, h.flow.transfers) == (0, "own", False, ())
    assert not (h.leadership.shared_mandates or h.leadership.shared_goal or h.leadership.shared_departments)
    assert h.demand.weekday == (1.0,) * 7 and h.demand.surges == () and h.demand.seasonal_amplitude == 0
    assert h.departments == unit.scenario.departments and h.run == unit.scenario.run
    assert h.quality_team_fte() == unit.scenario.leadership.quality_team.fte


def test_the_unit_types_ship_with_the_wheel():
    data = tomllib.loads((REPO / "pyproject.toml").read_text())
    shipped = data["tool"]["setuptools"]["data-files"]["share/careos-sim/scenarios/units"]
    assert sorted(shipped) == sorted(f"scenarios/units/{n}.yaml" for n in UNIT_TYPES)
    assert all((REPO / f).is_file() for f in shipped)


def test_load_any_reads_either_kind():
    assert isinstance(load_any(SCENARIOS / "default.yaml"), ScenarioSpec)
    assert load_any(SCENARIOS / "default.yaml", {"unit.beds": 12}) == load_scenario(SCENARIOS / "default.yaml",
                                                                                  {"unit.beds": 12})
    assert isinstance(load_any(HOSPITAL), HospitalSpec)
    assert load_any(HOSPITAL, ["float_pool.nurses=3"]).float_pool.nurses == 3
    assert is_hospital_document({"kind": "hospital"}) and not is_hospital_document({"unit": {}})
    assert not is_hospital_document(["kind", "hospital"])


def test_the_resolved_hospital_is_frozen_and_answers_questions():
    h = load_hospital(HOSPITAL)
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        h.units = ()  # type: ignore[misc]
    assert h.unit("MICU").specialty == "icu" and h.unit("MICU").scenario.unit.beds == 20
    with pytest.raises(KeyError, match="no unit named 'MICX'; did you mean 'MICU'"):
        h.unit("MICX")
    assert set(h.specialties()) <= set(SPECIALTIES)


# --------------------------------------------------------------------------- units: extends, system, set


def test_a_unit_is_its_extends_then_its_system_then_its_set():
    write("units/mine.yaml", "extends: ../../scenarios-missing.yaml\n")  # not used: shows relative names
    path = hospital("""
      - name: A
        specialty: icu
        extends: default
        system: listening
        set: {unit.beds: 12, leadership.mandates_per_year: 1, staff.nurses.ratio.day: 2}
    """)
    [unit] = load_hospital(path).units
    listening = load_scenario(SCENARIOS / "listening.yaml")
    assert (unit.scenario.unit.beds, unit.scenario.staff.nurses.ratio.day) == (12, 2)
    assert unit.scenario.leadership == listening.leadership.model_copy(update={"mandates_per_year": 1.0})
    assert unit.scenario.run == load_hospital(path).run  # the hospital's, not default.yaml's 730 days


def test_a_unit_s_set_changes_no_other_unit_sharing_its_files():
    write("base.yaml", "extends: default\npatients:\n  acuity:\n    low: {los_days_mean: 2.0}\n")
    path = hospital("""
      - {name: A, specialty: med_surg, extends: base.yaml, set: {patients.acuity.low.los_days_mean: 9, unit.beds: 9}}
      - {name: B, specialty: med_surg, extends: base.yaml, set: {leadership.elements.transparency: 1}}
      - {name: C, specialty: med_surg, extends: base.yaml, system: listening}
      - {name: D, specialty: med_surg, extends: base.yaml}
    """)
    h = load_hospital(path)
    a, b, c, d = h.units
    assert (a.scenario.patients.acuity.low.los_days_mean, a.scenario.unit.beds) == (9, 9)
    assert b.scenario.leadership.elements.transparency == 1 and c.scenario.leadership.listening == 1
    alone = load_scenario(write("d.yaml", "extends: [base.yaml, telling]\n"))
    assert d.scenario == alone.model_copy(update={"run": h.run})
    assert d.scenario.patients.acuity.low.los_days_mean == 2 and d.scenario.leadership.elements.transparency == 0


def test_unit_files_are_read_relative_to_the_hospital_file(tmp_path, monkeypatch):
    write("site/types/big.yaml", "extends: default\nunit:\n  beds: 40\n")
    write("site/pilot.yaml", "leadership:\n  listening: 0.5\n")
    write("site/h.yaml", """
        kind: hospital
        units:
          - {name: A, specialty: med_surg, extends: types/big.yaml, system: pilot.yaml}
          - {name: B, specialty: med_surg, extends: [default, types/big.yaml]}
    """)
    monkeypatch.chdir(tmp_path / "site" / "types")  # the folder one starts from does not matter
    h = load_hospital("../h.yaml")
    assert [u.scenario.unit.beds for u in h.units] == [40, 40]
    assert h.units[0].scenario.leadership.listening == 0.5
    assert h.units[1].scenario.leadership.pressure_to_work_harder == 1.0  # system: telling, the default


def test_a_hospital_may_extend_another_and_its_units_stay_relative_to_their_file():
    write("base/types/big.yaml", "extends: default\nunit:\n  beds: 40\n")
    write("base/h.yaml", """
        kind: hospital
        units:
          - {name: A, specialty: med_surg, extends: types/big.yaml}
        float_pool: {nurses: 2}
    """)
    write("variant.yaml", "extends: base/h.yaml\nfloat_pool: {nurses: 5}\n")
    h = load_hospital("variant.yaml")
    assert (h.float_pool.nurses, h.units[0].scenario.unit.beds) == (5, 40)


def test_a_unit_extending_a_missing_preset_is_located_at_its_entry():
    path = hospital("""
      - {name: 4 West, specialty: med_surg, extends: default}
      - name: 5 East
        specialty: med_surg
        extends: med-surgg
    """)
    assert errors(path) == ["h.yaml:6: units[1].extends: file not found: med-surgg (got 'med-surgg')"]


def test_every_unit_s_problems_are_reported_at_once_where_each_value_is_written():
    write("bad.yaml", "extends: default\nunit:\n  beds: -3\n")
    write("pilot.yaml", "leadership:\n  listening: 2\n")
    path = hospital("""
      - {name: A, specialty: med_surg, extends: [default, bad.yaml]}
      - name: B
        specialty: med_surg
        extends: default
        set:
          unit.beds: 0
      - {name: C, specialty: icu, extends: default, set: {staff.nurses.ratio.day: true}}
      - {name: D, specialty: icu, extends: default, system: pilot.yaml}
      - {name: E, specialty: icu, extends: default, set: {unit: 3}}
    """)
    assert errors(path) == [
        "bad.yaml:3: units[0].unit.beds: must be >= 1 (got -3)",
        "h.yaml:8: units[1].unit.beds: must be >= 1 (got 0)",
        "h.yaml:9: units[2].staff.nurses.ratio.day: must be a number, not true/false (got true)",
        "pilot.yaml:2: units[3].leadership.listening: must be <= 1 (got 2)",
        "h.yaml:11: units[4].unit: must be a mapping (got 3)",
    ]


def test_a_rule_across_a_block_set_by_set_is_located_at_the_set_line():
    path = hospital("""
      - name: A
        specialty: med_surg
        extends: default
        set: {patients.acuity.low.share: 0.9}
    """)
    assert errors(path) == ["h.yaml:6: units[0].patients.acuity: acuity shares low + medium + high must add up "
                            "to 1, they add up to 1.6 (got {\"low\": {\"share\": 0.9}})"]


@pytest.mark.parametrize("entry, expected", [
    ("{name: A, specialty: med_surg, extends: default, set: {unit.beds.x: 3}}",
     "h.yaml:3: units[0].set.unit.beds.x: unit.beds is not a mapping, cannot set unit.beds.x (got 30)"),
    ("{name: A, specialty: med_surg, extends: default, system: nolead.yaml}",
     "h.yaml:3: units[0].system: names a file without a leadership block; a system is a preset (telling, "
     "listening) or a file with a leadership block (got 'nolead.yaml')"),
    ("{name: A, specialty: med_surg, extends: default, system: other.yaml}",
     "h.yaml:3: units[0].system: names a hospital file; a system is a preset (telling, listening) or a file with "
     "a leadership block (got 'other.yaml')"),
    ("{name: A, specialty: med_surg, extends: other.yaml}",
     "h.yaml:3: units[0].extends: names a hospital file, not a unit scenario (got 'other.yaml')"),
    ("{name: A, specialty: med_surg, extends: h.yaml}",
     "h.yaml:3: units[0].extends: circular extends: h.yaml -> h.yaml (got 'h.yaml')"),
    ("{name: A, specialty: med_surg, extends: [default, nope.yaml]}",
     "h.yaml:3: units[0].extends[1]: file not found: nope.yaml (got 'nope.yaml')"),
    ("{name: A, specialty: med_surg, extends: default, system: nope}",
     "h.yaml:3: units[0].system: file not found: nope (got 'nope')"),
])
def test_unit_resolution_problems_are_located(entry, expected):
    write("nolead.yaml", "name: no leadership here\n")
    write("other.yaml", "kind: hospital\nunits: [{name: X, specialty: icu, extends: default}]\n")
    assert errors(hospital(f"  - {entry}")) == [expected]


def test_allowed_roots_confine_unit_files_and_systems():
    write("secret.yaml", "unit: {beds: 3}\n")
    path = hospital("""
      - {name: A, specialty: med_surg, extends: secret.yaml}
      - {name: B, specialty: med_surg, extends: default, system: secret.yaml}
    """)
    assert errors(path, allowed_roots=[SCENARIOS]) == [
        "h.yaml:3: units[0].extends: extends may only name a shipped preset (got 'secret.yaml')",
        "h.yaml:4: units[1].system: extends may only name a shipped preset (got 'secret.yaml')",
    ]
    assert load_hospital(HOSPITAL, allowed_roots=[SCENARIOS]).beds == 574


# --------------------------------------------------------------------------- rollout


def test_a_rollout_switches_the_named_units_to_the_system_laid_over_their_own():
    path = hospital("""
      - {name: A, specialty: med_surg, extends: default, set: {leadership.float_hours_per_week: 20}}
      - {name: B, specialty: med_surg, extends: default}
      - {name: C, specialty: icu, extends: default}
    """, """
        rollout:
          - {units: [A], system: listening, from_day: 90}
          - {units: all, system: listening, from_day: 365}
          - {units: [A, B], system: telling, from_day: 30}
    """)
    h = load_hospital(path)
    listening = load_scenario(SCENARIOS / "listening.yaml").leadership
    telling = load_scenario(SCENARIOS / "telling.yaml").leadership
    a, b, c = h.units
    assert [day for day, _ in a.rollout] == [30, 90, 365] and [day for day, _ in c.rollout] == [365]
    assert a.rollout[1][1] == listening.model_copy(update={"float_hours_per_week": 20.0})  # its own kept
    assert b.rollout[0][1] == telling and c.rollout[0][1] == listening
    assert a.leadership_on(0) == a.scenario.leadership and a.leadership_on(89.9).listening == 0
    assert a.leadership_on(90).listening == 1 and a.leadership_on(10_000).listening == 1
    assert isinstance(a.rollout[0][1], LeadershipSpec)


def test_a_rollout_system_s_problems_are_reported_once_in_its_file():
    write("pilot.yaml", "leadership:\n  listening: 2\n  bogus: 1\n")
    path = hospital(TWO, """
        rollout:
          - {units: all, system: pilot.yaml}
          - {units: [MICU], system: nope.yaml, from_day: 10}
    """)
    lines = errors(path)
    assert lines[0] == "pilot.yaml:2: rollout[0].leadership.listening: must be <= 1 (got 2)"
    assert lines[1].startswith("pilot.yaml:3: rollout[0].leadership.bogus: unknown key; did you mean 'listening'?") \
        or lines[1].startswith("pilot.yaml:3: rollout[0].leadership.bogus: unknown key; known keys: ")
    assert lines[2:] == ["h.yaml:7: rollout[1].system: file not found: nope.yaml (got 'nope.yaml')"]


# --------------------------------------------------------------------------- the file's own rules


@pytest.mark.parametrize("units, rest, expected", [
    ("  - {name: 4 West, specialty: med_surg, extends: default}\n  - {name: 4 west, specialty: icu, extends: default}",
     "", "h.yaml:4: units[1].name: duplicate unit name (units[0] is '4 West'; names are compared ignoring case) "
         "(got '4 west')"),
    ("  - {name: ' A', specialty: med_surg, extends: default}", "",
     "h.yaml:3: units[0].name: must not begin or end with a space (got ' A')"),
    ("  - {name: '', specialty: med_surg, extends: default}", "",
     "h.yaml:3: units[0].name: must be 1 to 60 characters long (got '')"),
    (f"  - {{name: {'x' * 61}, specialty: med_surg, extends: default}}", "",
     f"h.yaml:3: units[0].name: must be 1 to 60 characters long (got '{'x' * 61}')"),
    ("  - {name: A, specialty: surgery, extends: default}", "",
     "h.yaml:3: units[0].specialty: must be one of " + ", ".join(repr(s) for s in SPECIALTIES[:-1])
     + f" or {SPECIALTIES[-1]!r} (got 'surgery')"),
    ("  - {name: A, specialty: icu}", "", "h.yaml:3: units[0].extends: required key is missing"),
    ("  - {name: A, specialty: icu, extends: []}", "",
     "h.yaml:3: units[0].extends: must be a preset name or a path to a unit scenario file, or a non-empty list of "
     "them (got [])"),
    ("  - {name: A, specialty: icu, extends: default, set: {run.horizon_days: 30}}", "",
     "h.yaml:3: units[0].set.run.horizon_days: the run is the hospital's: set it in the hospital's run block "
     "(got 30)"),
    ("  - {name: A, specialty: icu, extends: default, set: {unit..beds: 30}}", "",
     "h.yaml:3: units[0].set.unit..beds: must be a dotted path such as unit.beds (an empty component) (got 30)"),
    ("  - {name: A, specialty: icu, extends: default, set: {extends: listening}}", "",
     "h.yaml:3: units[0].set.extends: cannot be set: name the unit's base in its own extends (got 'listening')"),
    ("  - {name: A, specialty: icu, extends: default, sett: {}}", "",
     "h.yaml:3: units[0].sett: unknown key; did you mean 'set'? (got {})"),
    (TWO, "rollout:\n  - {units: [4 West, MICX], system: listening}\n",
     "h.yaml:6: rollout[0].units[1]: no unit of this name in the hospital; did you mean 'MICU'? (got 'MICX')"),
    (TWO, "rollout:\n  - {units: [MICU], system: listening, from_day: 5}\n  - {units: all, system: telling, "
          "from_day: 5}\n",
     "h.yaml:7: rollout[1].units: unit 'MICU' already switches on day 5 (rollout[0]) (got 'all')"),
    (TWO, "rollout:\n  - {units: some, system: listening}\n",
     "h.yaml:6: rollout[0].units: must be the string 'all' or a non-empty list of unit names (got 'some')"),
    (TWO, "rollout:\n  - {units: all, system: listening, from_day: -1}\n",
     "h.yaml:6: rollout[0].from_day: must be >= 0 (got -1)"),
    (TWO, "flow:\n  transfers:\n    - {from: icu, to: icu, share: 0.5}\n",
     "h.yaml:7: flow.transfers[0].to: must differ from `from` (icu) (got 'icu')"),
    (TWO, "flow:\n  transfers:\n    - {from: icu, to: step_down, share: 0.5}\n",
     "h.yaml:7: flow.transfers[0].to: no unit of specialty step_down in the hospital (it has: icu, med_surg) "
     "(got 'step_down')"),
    (TWO, "flow:\n  transfers:\n    - {from: icu, to: med_surg, share: 0.5}\n    - {from: icu, to: med_surg, "
          "share: 0.1}\n",
     "h.yaml:8: flow.transfers[1]: transfer icu -> med_surg is given twice (first as flow.transfers[0]) "
     "(got {\"from\": \"icu\", \"to\": \"med_surg\", \"share\": 0.1})"),
    (TWO, "flow:\n  transfers:\n    - {from: icu, to: med_surg, share: 0.7}\n    - {from: icu, to: oncology, "
          "share: 0.4}\n",
     "h.yaml:8: flow.transfers[1].share: shares of transfers from icu add up to 1.1; at most 1 (got 0.4)"),
    (TWO, "flow:\n  off_service_harm_factor: 0.9\n", "h.yaml:6: flow.off_service_harm_factor: must be >= 1 (got 0.9)"),
    (TWO, "demand:\n  weekday: [1, 1, 1, 1, 1, 1]\n", "h.yaml:6: demand.weekday: must have at least 7 items "
                                                       "(got [1, 1, 1, 1, 1, 1])"),
    (TWO, "demand:\n  weekday: [1, 1, -1, 1, 1, 1, 1]\n", "h.yaml:6: demand.weekday[2]: must be >= 0 (got -1)"),
    (TWO, "demand:\n  weekday: [0, 0, 0, 0, 0, 0, 0]\n",
     "h.yaml:6: demand.weekday: must have a positive sum (got [0, 0, 0, 0, 0, 0, 0])"),
    (TWO, "demand:\n  seasonal_amplitude: 0.95\n", "h.yaml:6: demand.seasonal_amplitude: must be <= 0.9 (got 0.95)"),
    (TWO, "demand:\n  seasonal_peak_day: 365\n", "h.yaml:6: demand.seasonal_peak_day: must be <= 364 (got 365)"),
    (TWO, "demand:\n  surges:\n    - {name: flu, start_day: 0, days: 30, factor: 9}\n",
     "h.yaml:7: demand.surges[0].factor: must be <= 5 (got 9)"),
    (TWO, "demand:\n  surges:\n    - {name: flu, start_day: 0, days: 0, factor: 1.2}\n",
     "h.yaml:7: demand.surges[0].days: must be > 0 (got 0)"),
    (TWO, "demand:\n  surges:\n    - {name: flu, start_day: 0, days: 3, factor: 1.2}\n    - {name: Flu, "
          "start_day: 9, days: 3, factor: 1.2}\n",
     "h.yaml:8: demand.surges[1].name: duplicate surge name (demand.surges[0] has it) (got 'Flu')"),
    (TWO, "float_pool:\n  nurses: -1\n", "h.yaml:6: float_pool.nurses: must be >= 0 (got -1)"),
    (TWO, "float_pool:\n  dispatch: nearest\n",
     "h.yaml:6: float_pool.dispatch: must be one of 'open_slots_then_load', 'open_slots' or 'load' "
     "(got 'nearest')"),
    (TWO, "quality_team:\n  fte: 4\n",
     "h.yaml:6: quality_team.fte: must be null when allocation is 'own' (each unit keeps its own "
     "leadership.quality_team.fte) (got 4)"),
    (TWO, "quality_team:\n  allocation: equal\n  reallocate_days: 0\n",
     "h.yaml:7: quality_team.reallocate_days: must be > 0 (got 0)"),
    (TWO, "leadership:\n  shared_goal: yes\n", "h.yaml:6: leadership.shared_goal: must be true or false (got 'yes')"),
    (TWO, "run:\n  horizon_days: true\n", "h.yaml:6: run.horizon_days: must be a number, not true/false (got true)"),
    (TWO, "departments:\n  it:\n    fix_success: 2\n", "h.yaml:7: departments.it.fix_success: must be <= 1 (got 2)"),
    (TWO, "unit:\n  beds: 3\n", "h.yaml:5: unit: unknown key; did you mean 'units'? (got {\"beds\": 3})"),
])
def test_each_rule_of_the_hospital_file_is_located(units, rest, expected):
    assert errors(hospital(units, rest)) == [expected]


def test_an_unknown_key_is_matched_against_the_key_as_written():
    path = hospital(TWO, "flow:\n  transfers:\n    - {form: icu, to: med_surg, share: 0.5}\n")
    assert errors(path) == ["h.yaml:7: flow.transfers[0].from: required key is missing",
                            "h.yaml:7: flow.transfers[0].form: unknown key; did you mean 'from'? (got 'icu')"]


def test_unit_counts_outside_1_to_60_are_refused():
    assert errors(write("h.yaml", "kind: hospital\nunits: []\n")) == ["h.yaml:2: units: must have at least 1 items "
                                                                      "(got [])"]
    many = "".join(f"  - {{name: u{i}, specialty: med_surg, extends: default}}\n" for i in range(61))
    [line] = errors(write("h.yaml", "kind: hospital\nunits:\n" + many))
    assert line.startswith('h.yaml:2: units: must have at most 60 items (got [{"name": "u0", ')


def test_a_file_that_is_not_a_hospital_says_so_once():
    assert errors(SCENARIOS / "default.yaml") == [
        f"{SCENARIOS / 'default.yaml'}:1: kind: required key is missing: a hospital file says kind: hospital "
        "(a unit scenario is read by load_scenario)"]
    write("h.yaml", "name: x\nkind: Hospital\n")
    assert errors("h.yaml") == ["h.yaml:2: kind: must be 'hospital' in a hospital file (got 'Hospital')"]


def test_partial_departments_keep_each_department_s_own_defaults():
    h = load_hospital(hospital(TWO, "departments:\n  it:\n    fix_hours_per_week: 3\n"))
    assert (h.departments.it.fix_hours_per_week, h.departments.it.response_days) == (3, 90)
    assert h.departments.pharmacy == ScenarioSpec().departments.pharmacy


def test_the_rules_hold_for_models_built_in_python():
    data = {"kind": "hospital", "units": [{"name": "A", "specialty": "icu", "extends": "default"},
                                          {"name": "a", "specialty": "icu", "extends": "default"}]}
    with pytest.raises(pydantic.ValidationError) as info:
        HospitalFileSpec.model_validate(data)
    [err] = info.value.errors()
    assert (err["loc"], err["input"]) == (("units", 1, "name"), "a") and "duplicate unit name" in err["msg"]
    with pytest.raises(pydantic.ValidationError, match="duplicate unit name"):
        HospitalSpec(units=(HospitalUnitSpec(name="A", specialty="icu", scenario=ScenarioSpec()),) * 2)


# --------------------------------------------------------------------------- overrides


def test_overrides_on_the_hospital_file():
    h = load_hospital(HOSPITAL, {"run.horizon_days": 30, "float_pool.nurses": 0, "quality_team.allocation": "equal",
                                 "leadership.shared_goal": False, "flow.overflow": False,
                                 "demand.seasonal_amplitude": 0.2, "departments.capacity_factor": 1})
    assert (h.run.horizon_days, h.float_pool.nurses, h.quality_team.allocation) == (30, 0, "equal")
    assert all(u.scenario.run.horizon_days == 30 for u in h.units)
    assert (h.leadership.shared_goal, h.flow.overflow, h.demand.seasonal_amplitude) == (False, False, 0.2)
    assert h.departments.capacity_factor == 1
    h = load_hospital(HOSPITAL, ["flow.transfers=[]", "demand.weekday=[1, 1, 1, 1, 1, 0.5, 0.5]",
                                 "rollout=[{units: [MICU, SICU], system: listening, from_day: 30}]"])
    assert h.flow.transfers == () and h.demand.weekday[5:] == (0.5, 0.5)
    assert [d for d, _ in h.unit("MICU").rollout] == [30] and h.unit("CVICU").rollout == ()


def test_bad_overrides_are_located_at_the_option():
    assert errors(HOSPITAL, ["float_pool.nurses=-2"]) == [
        "--set float_pool.nurses=-2: float_pool.nurses: must be >= 0 (got -2)"]
    assert errors(HOSPITAL, {"run.horizon_days": True}) == [
        "--set run.horizon_days=True: run.horizon_days: must be a number, not true/false (got true)"]
    # a path through a list item is not supported: said so, not silently ignored
    assert errors(HOSPITAL, ["units.2.set.unit.beds=10"]) == [
        "--set units.2.set.unit.beds=10: units: is not a mapping, cannot set units.2.set.unit.beds "
        f"(got {json.dumps(yaml.safe_load(HOSPITAL.read_text())['units'])[:197]}...)"]


def test_units_given_by_an_override_are_read_relative_to_the_hospital_file():
    write("site/types/big.yaml", "extends: default\nunit:\n  beds: 40\n")
    write("site/h.yaml", "kind: hospital\nunits: [{name: A, specialty: icu, extends: default}]\n")
    h = load_hospital("site/h.yaml", ["units=[{name: B, specialty: icu, extends: types/big.yaml}]"])
    assert [(u.name, u.scenario.unit.beds) for u in h.units] == [("B", 40)]


# --------------------------------------------------------------------------- the JSON schema


def _walk(node):
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def test_the_json_schema_covers_the_hospital():
    schema = hospital_json_schema()
    assert json.loads(json.dumps(schema)) == schema
    assert schema["title"] == "careos-sim hospital" and schema["additionalProperties"] is False
    assert {"extends", "kind", "name", "description", "units", "departments", "float_pool", "quality_team",
            "leadership", "rollout", "flow", "demand", "run"} == set(schema["properties"])
    assert set(schema["required"]) == {"kind", "units"}
    defs = schema["$defs"]
    assert {"HospitalUnitEntrySpec", "FloatPoolSpec", "RolloutSpec", "TransferSpec", "SurgeSpec", "DemandSpec",
            "DepartmentsSpec", "RunSettingsSpec"} <= set(defs)
    assert set(defs["TransferSpec"]["properties"]) == {"from", "to", "share"}
    assert defs["HospitalUnitEntrySpec"]["properties"]["specialty"]["enum"] == list(SPECIALTIES)
    assert defs["FloatPoolSpec"]["properties"]["nurses"]["unit"] == "nurses"
    closed = [n for n in _walk(schema) if isinstance(n, dict) and n.get("additionalProperties") is False]
    assert len(closed) >= 12  # every block, not only the top level
    units = schema["properties"]["units"]
    assert (units["minItems"], units["maxItems"]) == (1, 60)
    own = [schema, *(defs[n] for n in ("HospitalUnitEntrySpec", "FloatPoolSpec", "HospitalQualityTeamSpec",
                                       "HospitalLeadershipSpec", "RolloutSpec", "TransferSpec", "FlowSpec",
                                       "SurgeSpec", "DemandSpec"))]
    assert all("description" in p for d in own for p in d["properties"].values())


def test_the_shipped_hospitals_match_the_schema_and_a_typo_does_not():
    jsonschema = pytest.importorskip("jsonschema")
    schema = hospital_json_schema()
    for path in (HOSPITAL, ONE_UNIT):
        jsonschema.validate(yaml.safe_load(path.read_text()), schema)
    doc = yaml.safe_load(HOSPITAL.read_text())
    doc["float_pool"]["nursez"] = 3
    with pytest.raises(jsonschema.ValidationError, match="'nursez' was unexpected"):
        jsonschema.validate(doc, schema)


# --------------------------------------------------------------------------- hostile input: caps for the whole hospital


class parses:
    """Count the files the loader reads (each ``_parse_yaml`` call)."""

    def __init__(self, monkeypatch):
        self.count = 0
        original = loader._parse_yaml

        def counted(*args, **kwargs):
            self.count += 1
            return original(*args, **kwargs)
        monkeypatch.setattr(loader, "_parse_yaml", counted)


def test_many_units_each_extending_its_own_deep_chain_stay_within_the_file_cap(monkeypatch):
    depth = MAX_EXTENDS - 2
    for j in range(60):
        for k in range(depth):
            write(f"c{j}_{k}.yaml", f"extends: c{j}_{k + 1}.yaml\n" if k < depth - 1 else "extends: default\n")
    hospital("".join(f"  - {{name: u{j}, specialty: med_surg, extends: c{j}_0.yaml}}\n" for j in range(60)))
    seen = parses(monkeypatch)
    started = time.perf_counter()
    assert errors("h.yaml") == [
        f"h.yaml:4: units[1].extends: the hospital's units reach more than {MAX_EXTENDS} distinct files through "
        "extends and system (each file counted once) (got 'c1_0.yaml')"]
    assert time.perf_counter() - started < 60  # a guard against a hang (a bomb unchecked takes hours), not a speed claim
    assert seen.count <= MAX_EXTENDS + 1  # the hospital file and at most MAX_EXTENDS others, each once


def test_many_units_sharing_one_deep_chain_read_each_file_once(monkeypatch):
    depth = MAX_EXTENDS - 2  # + default.yaml + telling.yaml (the default system) = MAX_EXTENDS files
    for k in range(depth):
        write(f"c{k}.yaml", f"extends: c{k + 1}.yaml\n" if k < depth - 1 else "extends: default\nunit: {beds: 7}\n")
    hospital("".join(f"  - {{name: u{j}, specialty: med_surg, extends: c0.yaml}}\n" for j in range(60)))
    seen = parses(monkeypatch)
    h = load_hospital("h.yaml")
    assert (len(h.units), h.beds) == (60, 420)
    assert seen.count == 1 + MAX_EXTENDS


def test_units_that_each_extend_a_large_file_stay_within_the_value_cap(monkeypatch):
    size = MAX_NODES // 3 + 1000
    write("big.yaml", "extends: default\npad: [" + ", ".join(["0"] * size) + "]\n")
    hospital("".join(f"  - {{name: u{j}, specialty: med_surg, extends: big.yaml}}\n" for j in range(60)))
    seen = parses(monkeypatch)
    started = time.perf_counter()
    lines = errors("h.yaml")
    assert time.perf_counter() - started < 60  # a guard against a hang, not a speed claim
    assert lines[-1] == (f"h.yaml:5: units[2]: the hospital holds more than {MAX_NODES} values in all (each unit "
                         "counts every value of the files it extends) (got 'u2')")
    assert [line.split(" unknown key")[0] for line in lines[:-1]] == ["big.yaml:2: units[0].pad:",
                                                                      "big.yaml:2: units[1].pad:"]
    assert seen.count == 4  # the hospital, big.yaml, default.yaml, telling.yaml: each once


def test_huge_lists_are_refused_before_any_unit_is_read(monkeypatch):
    many = "".join(f"  - {{name: u{i}, specialty: med_surg, extends: u{i}.yaml}}\n" for i in range(5000))
    hospital(many, "rollout:\n" + "  - {units: all, system: listening}\n" * 2000)
    seen = parses(monkeypatch)
    started = time.perf_counter()
    lines = errors("h.yaml")
    assert time.perf_counter() - started < 60 and seen.count == 1  # read once; the time only guards a hang
    assert [line.split(" (got")[0] for line in lines] == ["h.yaml:2: units: must have at most 60 items",
                                                          "h.yaml:5003: rollout: must have at most 100 items"]


def test_huge_set_and_long_chains_in_a_unit_are_refused():
    entries = ", ".join(f"a{i}.b: 1" for i in range(300))
    [line] = errors(hospital(f"  - {{name: A, specialty: icu, extends: default, set: {{{entries}}}}}"))
    assert line.startswith('h.yaml:3: units[0].set: must have at most 200 items (got {"a0.b": 1, ')
    for i in range(MAX_EXTENDS + 3):
        write(f"c{i}.yaml", f"extends: c{i + 1}.yaml\n")
    write(f"c{MAX_EXTENDS + 3}.yaml", "name: end\n")
    [line] = errors(hospital("  - {name: A, specialty: icu, extends: c0.yaml}"))
    # as for a scenario: at most MAX_EXTENDS files in one chain below the file that names the first
    assert line == (f"c{MAX_EXTENDS - 1}.yaml:1: extends: extends chain is longer than {MAX_EXTENDS} files "
                    f"(got 'c{MAX_EXTENDS}.yaml')")


def test_an_alias_bomb_in_a_unit_is_refused_by_the_reader():
    lines = ["kind: hospital", "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    lines += ["units:", "  - {name: A, specialty: icu, extends: default, set: {unit.name: *a8}}"]
    write("h.yaml", "\n".join(lines) + "\n")
    started = time.perf_counter()
    [line] = errors("h.yaml")
    assert time.perf_counter() - started < 60  # a guard against a hang (a bomb unchecked takes hours), not a speed claim
    assert line.startswith("h.yaml:") and f"more than {MAX_NODES} values" in line


_values = st.one_of(st.none(), st.booleans(), st.integers(-5, 100), st.floats(allow_nan=True), st.text(max_size=8),
                    st.sampled_from(["all", "default", "telling", "icu", "med_surg", "yes", "1:4", ".inf"]))
_blocks = st.recursive(_values, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.dictionaries(st.sampled_from(["name", "specialty", "extends", "system", "set", "units", "from", "to",
                                     "share", "nurses", "fte", "allocation", "weekday", "surges", "start_day",
                                     "days", "factor", "unit.beds", "from_day", "x"]), inner, max_size=4)),
    max_leaves=12)


@settings(max_examples=60, deadline=3000, database=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(st.dictionaries(st.sampled_from(["units", "rollout", "flow", "demand", "float_pool", "quality_team",
                                        "leadership", "run", "departments", "x"]), _blocks, max_size=4))
def test_random_hospital_files_give_a_hospital_or_an_input_error(doc):
    path = Path("r.yaml")
    path.write_text(yaml.safe_dump({"kind": "hospital", **doc}, allow_unicode=True), encoding="utf-8",
                    errors="surrogatepass")
    try:
        assert isinstance(load_hospital(path), HospitalSpec)
    except InputError as exc:
        assert exc.issues and all(str(i) for i in exc.issues)
