"""Scenario input: YAML reading, ``extends``, overrides and located validation errors.

Every problem is an :class:`InputIssue` printed as ``FILE:LINE: dotted.path: message (got VALUE)``.
The messages are part of the interface: each test pins the exact text.
"""

from __future__ import annotations

from pathlib import Path

import pydantic
import pytest

import careos_sim
from careos_sim.spec.loader import InputError, InputIssue, load_document, load_scenario, parse_set
from careos_sim.spec.scenario import ScenarioSpec
from scenario_files import in_tmp, issue_lines, raised, write  # noqa: F401 (in_tmp: autouse)

REPO = Path(__file__).resolve().parents[1]
DEFAULT = REPO / "scenarios" / "default.yaml"
MMC = REPO / "scenarios" / "verification" / "mmc.yaml"


def errors(path, overrides=None) -> list[str]:
    """The printed lines of the InputError that loading ``path`` must raise."""
    return issue_lines(raised(load_scenario, path, overrides))


# --------------------------------------------------------------------------- good input


def test_shipped_scenarios_load_into_frozen_models():
    default = load_scenario(DEFAULT)
    assert isinstance(default, ScenarioSpec)
    assert (default.name, default.unit.beds, default.staff.nurses.ratio.night) == ("default-unit", 30, 6.0)
    assert default.run.seed == 20261125
    mmc = load_scenario(MMC)
    assert (mmc.staff.roster, mmc.staff.nurses.on_duty, mmc.patients.hold_census_full) == ("continuous", 2, True)
    assert mmc.tasks.call_light.minutes.dist == "exponential"
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        default.unit.beds = 10  # type: ignore[misc]


def test_keys_not_given_take_their_defaults():
    scenario = load_scenario(write("s.yaml", "unit: {beds: 12}\n"))
    assert scenario.unit.beds == 12
    assert scenario.unit.target_occupancy == ScenarioSpec().unit.target_occupancy
    assert scenario.tasks == ScenarioSpec().tasks


def test_load_scenario_is_exported_from_the_package():
    assert careos_sim.load_scenario is load_scenario
    assert careos_sim.InputError is InputError


def test_yaml_is_read_with_safe_load(tmp_path):
    """A Python tag is refused as malformed input, and nothing it names is run."""
    marker = tmp_path / "ran"
    path = write("s.yaml", f"""
        name: x
        unit: !!python/object/apply:pathlib.Path.touch [!!python/object/apply:pathlib.Path ["{marker}"]]
    """)
    [line] = errors(path)
    assert line.startswith("s.yaml:2: <document>: malformed YAML: could not determine a constructor for the tag "
                           "'tag:yaml.org,2002:python/object/apply:pathlib.Path.touch'")
    assert not marker.exists()


# --------------------------------------------------------------------------- unknown keys


def test_unknown_key_gives_a_did_you_mean_hint():
    path = write("s.yaml", """
        name: typo
        unit:
          bedz: 30
    """)
    assert errors(path) == ["s.yaml:3: unit.bedz: unknown key; did you mean 'beds'? (got 30)"]


def test_unknown_top_level_key():
    path = write("s.yaml", """
        pateints:
          lep_share: 0.2
    """)
    assert errors(path) == ["s.yaml:1: pateints: unknown key; did you mean 'patients'? (got {\"lep_share\": 0.2})"]


def test_unknown_key_without_a_close_match_lists_the_known_keys():
    path = write("s.yaml", """
        tasks:
          medication:
            minutes:
              zzz: 3
    """)
    assert errors(path) == ["s.yaml:4: tasks.medication.minutes.zzz: unknown key; known keys: cv, dist, mean (got 3)"]


def test_extends_is_not_a_scenario_field_after_loading():
    """``extends`` is consumed by the loader; the model itself forbids it."""
    write("base.yaml", "name: base\n")
    scenario = load_scenario(write("s.yaml", "extends: base.yaml\n"))
    assert scenario.name == "base"
    with pytest.raises(pydantic.ValidationError):
        ScenarioSpec.model_validate({"extends": "base.yaml"})


# --------------------------------------------------------------------------- types and ranges


@pytest.mark.parametrize("text, expected", [
    ("patients:\n  lep_share: lots\n", "s.yaml:2: patients.lep_share: must be a number (got 'lots')"),
    ("unit:\n  beds: 2.5\n", "s.yaml:2: unit.beds: must be a whole number (got 2.5)"),
    ("unit:\n  beds: [30]\n", "s.yaml:2: unit.beds: must be an integer (got [30])"),
    ("unit: 5\n", "s.yaml:1: unit: must be a mapping (got 5)"),
    ("name: [a, b]\n", "s.yaml:1: name: must be a string (got [\"a\", \"b\"])"),
    ("patients:\n  hold_census_full: maybe\n",
     "s.yaml:2: patients.hold_census_full: must be true or false (got 'maybe')"),
    ("staff:\n  roster: rota\n", "s.yaml:2: staff.roster: must be one of 'shifts' or 'continuous' (got 'rota')"),
], ids=["number", "whole-number", "integer", "mapping", "string", "bool", "literal"])
def test_wrong_type(text, expected):
    assert errors(write("s.yaml", text)) == [expected]


@pytest.mark.parametrize("text, expected", [
    ("staff:\n  nurses:\n    ratio:\n      day: 0\n", "s.yaml:4: staff.nurses.ratio.day: must be > 0 (got 0)"),
    ("unit:\n  target_occupancy: 2\n", "s.yaml:2: unit.target_occupancy: must be <= 1.5 (got 2)"),
    ("run:\n  replications: 0\n", "s.yaml:2: run.replications: must be >= 1 (got 0)"),
    ("patients:\n  lep_share: -0.1\n", "s.yaml:2: patients.lep_share: must be >= 0 (got -0.1)"),
    ("staff:\n  shifts:\n    day_start_hour: 24\n", "s.yaml:3: staff.shifts.day_start_hour: must be < 24 (got 24)"),
    ("patients:\n  admission_profile: [1, 2]\n",
     "s.yaml:2: patients.admission_profile: must have at least 24 items (got [1, 2])"),
], ids=["gt", "le", "ge-int", "ge-float", "lt", "too-short"])
def test_value_out_of_range(text, expected):
    assert errors(write("s.yaml", text)) == [expected]


def test_cross_field_rule_is_located_at_its_block():
    path = write("s.yaml", """
        patients:
          lep_share: 0.1
          acuity:
            low: {share: 0.4}
    """)
    assert errors(path) == [
        "s.yaml:3: patients.acuity: acuity shares low + medium + high must add up to 1, they add up to 1.1 "
        "(got {\"low\": {\"share\": 0.4}})"
    ]


def test_list_items_are_located_on_their_own_line():
    items = "\n".join(f"    - {'x' if i == 5 else 1}" for i in range(24))
    path = write("s.yaml", f"patients:\n  admission_profile:\n{items}\n")
    # pydantic also says "at least 24 items" (it counts the items that validated): not repeated here
    assert errors(path) == ["s.yaml:8: patients.admission_profile[5]: must be a number (got 'x')"]


def test_a_short_list_with_a_bad_item_reports_both():
    path = write("s.yaml", "patients:\n  admission_profile:\n    - 1\n    - x\n")
    assert errors(path) == [
        "s.yaml:2: patients.admission_profile: must have at least 24 items (got [1, \"x\"])",
        "s.yaml:4: patients.admission_profile[1]: must be a number (got 'x')",
    ]


def test_every_error_in_a_file_is_reported_in_file_order():
    path = write("s.yaml", """
        name: several
        staff:
          roster: rota
        unit:
          bedz: 30
          target_occupancy: 0
        patients:
          lep_share: lots
        run:
          seed: -1
    """)
    assert errors(path) == [
        "s.yaml:3: staff.roster: must be one of 'shifts' or 'continuous' (got 'rota')",
        "s.yaml:5: unit.bedz: unknown key; did you mean 'beds'? (got 30)",
        "s.yaml:6: unit.target_occupancy: must be > 0 (got 0)",
        "s.yaml:8: patients.lep_share: must be a number (got 'lots')",
        "s.yaml:10: run.seed: must be >= 0 (got -1)",
    ]


def test_duplicate_key_is_an_error_not_a_silent_overwrite():
    path = write("s.yaml", """
        staff:
          nurses: {on_duty: 3}
        unit:
          beds: 20
        staff:
          roster: continuous
    """)
    assert errors(path) == ["s.yaml:5: staff: duplicate key (first given on line 1) (got 'staff')"]


# --------------------------------------------------------------------------- the file itself


def test_missing_file():
    assert errors("nope.yaml") == ["nope.yaml:1: <file>: file not found (got 'nope.yaml')"]


def test_a_folder_is_not_a_scenario_file():
    Path("dir.yaml").mkdir()
    assert errors("dir.yaml") == ["dir.yaml:1: <file>: is a directory, not a scenario file (got 'dir.yaml')"]


def test_malformed_yaml_names_the_line():
    path = write("s.yaml", """
        name: x
        unit:
          beds: 30
         target_occupancy: 0.8
    """)
    assert errors(path) == [
        "s.yaml:4: <document>: malformed YAML: while parsing a block mapping; expected <block end>, but found "
        "'<block mapping start>' (got 'target_occupancy: 0.8')"
    ]


def test_tab_indentation_is_malformed_yaml():
    path = write("s.yaml", "name: x\nunit:\n\tbeds: 30\n")
    assert errors(path) == [
        "s.yaml:3: <document>: malformed YAML: while scanning for the next token; found character '\\t' that "
        "cannot start any token (got 'beds: 30')"
    ]


@pytest.mark.parametrize("text, got", [("", "''"), ("# nothing but a comment\n", "'# nothing but a comment'"),
                                       ("\n\n   \n", "''")], ids=["empty", "comment", "blank"])
def test_empty_file(text, got):
    path = Path("s.yaml")
    path.write_text(text)
    assert errors(path) == [f"s.yaml:1: <document>: file is empty; expected a mapping of scenario keys (got {got})"]


def test_document_that_is_not_a_mapping():
    assert errors(write("s.yaml", "- 1\n- 2\n")) == [
        "s.yaml:1: <document>: must be a mapping of scenario keys (got [1, 2])"
    ]


# --------------------------------------------------------------------------- extends


def test_extends_is_relative_to_the_file_and_overrides_parts_of_the_base(monkeypatch, tmp_path):
    write("lib/base.yaml", """
        name: base
        unit:
          beds: 20
          target_occupancy: 0.9
        staff:
          nurses:
            ratio: {day: 4, night: 5}
    """)
    write("lib/variants/child.yaml", """
        extends: ../base.yaml
        name: child
        unit:
          beds: 24
        staff:
          nurses:
            ratio: {night: 7}
    """)
    monkeypatch.chdir(tmp_path / "lib")  # relative to the file, not to the working folder
    scenario = load_scenario("variants/child.yaml")
    assert scenario.name == "child"
    assert scenario.unit.beds == 24  # overridden
    assert scenario.unit.target_occupancy == 0.9  # kept from the base: mappings merge
    assert (scenario.staff.nurses.ratio.day, scenario.staff.nurses.ratio.night) == (4.0, 7.0)


def test_extends_chains_through_several_files():
    write("a.yaml", "name: a\nunit: {beds: 11}\nrun: {seed: 7}\n")
    write("b.yaml", "extends: a.yaml\nunit: {beds: 12}\nrun: {replications: 3}\n")
    write("c.yaml", "extends: b.yaml\nname: c\n")
    scenario = load_scenario("c.yaml")
    assert (scenario.name, scenario.unit.beds, scenario.run.seed, scenario.run.replications) == ("c", 12, 7, 3)


def test_extends_the_shipped_default_scenario():
    scenario = load_scenario(write("s.yaml", f"extends: {DEFAULT}\nunit: {{beds: 18}}\n"))
    default = load_scenario(DEFAULT)
    assert scenario.unit.beds == 18
    assert scenario.staff == default.staff and scenario.name == default.name


def test_error_in_a_value_from_the_base_names_the_base_file_and_line():
    write("base/base.yaml", """
        name: base
        unit:
          beds: 0
          target_occupancy: 0.9
    """)
    path = write("child.yaml", """
        extends: base/base.yaml
        unit:
          target_occupancy: 2
    """)
    assert errors(path) == [
        "base/base.yaml:3: unit.beds: must be >= 1 (got 0)",
        "child.yaml:3: unit.target_occupancy: must be <= 1.5 (got 2)",
    ]


def test_a_child_that_replaces_a_base_block_is_blamed_for_it():
    write("base.yaml", "unit:\n  beds: 20\n")
    path = write("child.yaml", "extends: base.yaml\n\nunit: 20\n")
    assert errors(path) == ["child.yaml:3: unit: must be a mapping (got 20)"]


def test_circular_extends():
    write("a.yaml", "extends: b.yaml\nname: a\n")
    write("b.yaml", "name: b\nextends: a.yaml\n")
    assert errors("a.yaml") == ["b.yaml:2: extends: circular extends: a.yaml -> b.yaml -> a.yaml (got 'a.yaml')"]


def test_a_file_extending_itself():
    write("s.yaml", "extends: ./s.yaml\n")
    assert errors("s.yaml") == ["s.yaml:1: extends: circular extends: s.yaml -> s.yaml (got './s.yaml')"]


def test_missing_extends_file():
    path = write("s.yaml", "name: x\nextends: missing.yaml\n")
    assert errors(path) == ["s.yaml:2: extends: file not found: missing.yaml (got 'missing.yaml')"]


def test_extends_must_be_a_path():
    assert errors(write("s.yaml", "extends: 5\n")) == ["s.yaml:1: extends: must be a path to a scenario file (got 5)"]


def test_base_file_problems_are_reported_in_the_base():
    write("base.yaml", "unit:\n  beds: [1\n")
    [line] = errors(write("s.yaml", "extends: base.yaml\n"))
    assert line.startswith("base.yaml:3: <document>: malformed YAML: while parsing a flow sequence; ")


def test_load_document_records_where_each_value_came_from():
    write("base.yaml", "unit:\n  beds: 20\n  name: ward\n")
    write("s.yaml", "extends: base.yaml\n\nunit:\n  beds: 22\n")
    doc = load_document("s.yaml")
    assert doc.data == {"unit": {"beds": 22, "name": "ward"}}
    assert doc.where[("unit", "beds")] == ("s.yaml", 4)
    assert doc.where[("unit", "name")] == ("base.yaml", 3)


# --------------------------------------------------------------------------- overrides


def test_overrides_as_mapping_or_strings_are_equivalent():
    by_map = load_scenario(DEFAULT, overrides={"unit.beds": 20, "staff.nurses.ratio.day": 4.5, "run.seed": 3})
    by_str = load_scenario(DEFAULT, overrides=["unit.beds=20", "staff.nurses.ratio.day=4.5", "run.seed=3"])
    assert by_map == by_str
    assert (by_map.unit.beds, by_map.staff.nurses.ratio.day, by_map.run.seed) == (20, 4.5, 3)
    assert by_map.unit.target_occupancy == load_scenario(DEFAULT).unit.target_occupancy


def test_a_single_override_string_is_one_override():
    assert load_scenario(DEFAULT, overrides="unit.beds=21").unit.beds == 21


def test_override_values_are_read_as_yaml():
    profile = "[" + ", ".join(["2"] * 24) + "]"
    scenario = load_scenario(DEFAULT, overrides=[
        "patients.hold_census_full=true", f"patients.admission_profile={profile}",
        "patients.admissions_per_day=", "tasks.call_light.minutes={dist: fixed, mean: 3}",
    ])
    assert scenario.patients.hold_census_full is True
    assert scenario.patients.admission_profile == (2.0,) * 24
    assert scenario.patients.admissions_per_day is None
    assert (scenario.tasks.call_light.minutes.dist, scenario.tasks.call_light.minutes.mean) == ("fixed", 3.0)


def test_override_fixes_a_bad_value_in_the_file():
    path = write("s.yaml", "unit:\n  beds: 0\n")
    assert errors(path) == ["s.yaml:2: unit.beds: must be >= 1 (got 0)"]
    assert load_scenario(path, ["unit.beds=8"]).unit.beds == 8


def test_override_reaches_values_that_came_from_the_base():
    write("base.yaml", "unit:\n  beds: 0\n")
    assert load_scenario(write("s.yaml", "extends: base.yaml\n"), {"unit.beds": 9}).unit.beds == 9


@pytest.mark.parametrize("item, expected", [
    ("unit.beds", "--set: unit.beds: expected dotted.path=VALUE (got 'unit.beds')"),
    ("=5", "--set: <set>: expected dotted.path=VALUE (got '=5')"),
    ("unit..beds=5", "--set: unit..beds: empty component in dotted path (got 'unit..beds=5')"),
    ("unit.beds=[1", "--set: unit.beds: value is not valid YAML (got '[1')"),
], ids=["no-equals", "no-path", "empty-component", "bad-yaml"])
def test_malformed_set(item, expected):
    assert errors(DEFAULT, [item]) == [expected]
    with pytest.raises(InputError) as info:
        parse_set(item)
    assert [str(i) for i in info.value.issues] == [expected]


@pytest.mark.parametrize("item, expected", [
    ("unit.bedz=3", "--set unit.bedz=3: unit.bedz: unknown key; did you mean 'beds'? (got 3)"),
    ("staf.roster=shifts",
     "--set staf.roster=shifts: staf: unknown key; did you mean 'staff'? (got {\"roster\": \"shifts\"})"),
    ("unit.beds=abc", "--set unit.beds=abc: unit.beds: must be an integer (got 'abc')"),
    ("unit.beds=", "--set unit.beds=: unit.beds: must be an integer (got null)"),
    ("unit.beds=0", "--set unit.beds=0: unit.beds: must be >= 1 (got 0)"),
    ("tasks.call_light.minutes.mean=0",
     "--set tasks.call_light.minutes.mean=0: tasks.call_light.minutes.mean: must be > 0 (got 0)"),
    ("unit.beds.x=1", "--set unit.beds.x=1: unit.beds: is not a mapping, cannot set unit.beds.x (got 30)"),
], ids=["unknown-key", "unknown-block", "type", "null", "range", "range-nested-default", "through-scalar"])
def test_bad_set_is_validated_like_the_file(item, expected):
    assert errors(DEFAULT, [item]) == [expected]


def test_mapping_override_errors_are_labelled_like_set():
    assert errors(DEFAULT, {"unit.beds": 0}) == ["--set unit.beds=0: unit.beds: must be >= 1 (got 0)"]
    assert errors(DEFAULT, {"unit..beds": 1}) == [
        "--set: unit..beds: empty component in dotted path (got 'unit..beds=1')"
    ]


def test_set_and_file_report_the_same_message_for_the_same_value():
    from_file = errors(write("s.yaml", "staff:\n  nurses:\n    hourly_wage: -3\n"))
    from_set = errors(DEFAULT, ["staff.nurses.hourly_wage=-3"])
    assert [line.split(": ", 1)[1] for line in from_file] == [line.split(": ", 1)[1] for line in from_set] == [
        "staff.nurses.hourly_wage: must be >= 0 (got -3)"
    ]


def test_file_errors_come_before_set_errors():
    path = write("s.yaml", "name: x\nunit:\n  beds: 0\n")
    assert errors(path, ["unit.name=3"]) == [
        "s.yaml:3: unit.beds: must be >= 1 (got 0)",
        "--set unit.name=3: unit.name: must be a string (got 3)",
    ]


def test_input_issue_format():
    assert str(InputIssue("f.yaml", 7, "unit.beds", "must be >= 1", 0)) == "f.yaml:7: unit.beds: must be >= 1 (got 0)"
    assert str(InputIssue("--set", None, "a.b", "bad", "x")) == "--set: a.b: bad (got 'x')"
    assert str(InputIssue("f.yaml", 2, "x", "required key is missing", has_value=False)) == \
        "f.yaml:2: x: required key is missing"


def test_presets_are_looked_for_where_an_installed_wheel_puts_them(monkeypatch, tmp_path):
    """pyproject.toml's data-files put the presets in share/careos-sim/scenarios under the prefix."""
    import sys

    from careos_sim.spec.loader import installed_folders, preset_folders

    monkeypatch.setattr(sys, "prefix", str(tmp_path))
    share = tmp_path / "share" / "careos-sim" / "scenarios"
    assert installed_folders("scenarios")[0] == share
    assert share in preset_folders() and preset_folders().index(share) > preset_folders().index(Path.cwd() / "scenarios")
    import tomllib

    data = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
    shipped = data["tool"]["setuptools"]["data-files"]["share/careos-sim/scenarios"]
    assert sorted(Path(f).name for f in shipped) == ["default.yaml", "listening.yaml", "telling.yaml"]
