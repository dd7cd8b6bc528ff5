"""Practical use: presets by name, ``extends`` lists, one-sided ``compare`` overrides, defaults in
every ``--help``, saving results from Python, experiments from dicts, provenance, LICENSE and CITATION."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from careos_sim.cli.main import _build_parser, main
from careos_sim.spec.loader import MAX_EXTENDS, InputError, load_scenario, preset_path

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = REPO / "scenarios"
#: a tiny run: 7 days, 2 replications, in this process
TINY = ["--horizon-days", "7", "--replications", "2", "--seed", "5", "--workers", "1", "--quiet"]


# --------------------------------------------------------------------------- presets by name


def test_preset_names_resolve_to_the_shipped_files():
    for name in ("default", "telling", "listening"):
        assert preset_path(name).resolve() == (SCENARIOS / f"{name}.yaml").resolve()
    assert preset_path("no-such-preset") is None
    assert preset_path("../scenarios/telling") is None and preset_path("telling.yaml") is None


def test_validate_and_run_take_a_preset_name(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # found beside the package, not through ./scenarios
    assert main(["validate", "telling", "listening"]) == 0
    assert capsys.readouterr().out.splitlines() == ["telling: ok", "listening: ok"]
    assert main(["run", "telling", *TINY, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["scenario"] == "telling"


def test_a_missing_name_is_still_a_missing_file(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["validate", "no-such-preset"]) == 2
    assert "file not found" in capsys.readouterr().err


def test_the_scenarios_dir_variable_is_looked_in_first(tmp_path, monkeypatch):
    (tmp_path / "telling.yaml").write_text("name: mine\n")
    monkeypatch.setenv("CAREOS_SCENARIOS_DIR", str(tmp_path))
    assert preset_path("telling") == tmp_path / "telling.yaml"


# --------------------------------------------------------------------------- extends


def test_extends_a_preset_by_name(tmp_path):
    (tmp_path / "mine.yaml").write_text("extends: telling\nname: mine\n")
    telling = load_scenario(SCENARIOS / "telling.yaml")
    mine = load_scenario(tmp_path / "mine.yaml")
    assert mine.name == "mine" and mine.leadership == telling.leadership


def test_a_file_beside_wins_over_a_preset_of_that_name(tmp_path):
    (tmp_path / "telling").write_text("name: beside\n")
    (tmp_path / "mine.yaml").write_text("extends: telling\n")
    assert load_scenario(tmp_path / "mine.yaml").name == "beside"


def test_extends_a_list_later_over_earlier_the_file_over_all(tmp_path):
    (tmp_path / "one.yaml").write_text("name: one\nunit:\n  beds: 10\nrun:\n  seed: 1\n")
    (tmp_path / "two.yaml").write_text("name: two\nunit:\n  beds: 12\n")
    (tmp_path / "mine.yaml").write_text("extends: [telling, one.yaml, two.yaml]\nrun:\n  replications: 3\n")
    s = load_scenario(tmp_path / "mine.yaml")
    assert (s.name, s.unit.beds, s.run.seed, s.run.replications) == ("two", 12, 1, 3)
    assert s.leadership == load_scenario(SCENARIOS / "telling.yaml").leadership


def test_an_error_in_a_list_base_is_located_in_that_file(tmp_path):
    (tmp_path / "one.yaml").write_text("name: one\n")
    (tmp_path / "bad.yaml").write_text("name: bad\nunit:\n  beds: 0\n")
    (tmp_path / "mine.yaml").write_text("extends:\n  - one.yaml\n  - bad.yaml\n")
    with pytest.raises(InputError) as err:
        load_scenario(tmp_path / "mine.yaml")
    assert str(err.value).startswith(f"{tmp_path / 'bad.yaml'}:3: unit.beds: must be") or \
        "bad.yaml:3: unit.beds: must be" in str(err.value)


@pytest.mark.parametrize("text, line, path, message", [
    ("name: x\nextends:\n  - one.yaml\n  - 3\n", 4, "extends[1]", "must be a path to a scenario file"),
    ("extends:\n  - one.yaml\n  - [a]\n", 3, "extends[1]", "must be a path to a scenario file"),
    ("extends: []\n", 1, "extends", "must name at least one scenario file"),
    ("extends: [one.yaml, missing.yaml]\n", 1, "extends[1]", "file not found"),
    ("extends: [one.yaml, mine.yaml]\n", 1, "extends[1]", "circular extends"),
])
def test_bad_list_items_are_located_at_their_line(tmp_path, text, line, path, message):
    (tmp_path / "one.yaml").write_text("name: one\n")
    (tmp_path / "mine.yaml").write_text(text)
    with pytest.raises(InputError) as err:
        load_scenario(tmp_path / "mine.yaml")
    (issue,) = err.value.issues
    assert (issue.line, issue.path) == (line, path) and message in issue.message, str(issue)


def test_a_cycle_through_a_list_is_found(tmp_path):
    (tmp_path / "a.yaml").write_text("extends: [b.yaml]\n")
    (tmp_path / "b.yaml").write_text("extends: [c.yaml, a.yaml]\n")
    (tmp_path / "c.yaml").write_text("name: c\n")
    with pytest.raises(InputError, match="circular extends"):
        load_scenario(tmp_path / "a.yaml")


def test_lists_cannot_reach_more_than_max_extends_files(tmp_path):
    # a fan-out: each of a few files names the next several times, which would reach 4**4 files
    for n in range(4):
        (tmp_path / f"f{n}.yaml").write_text(f"extends: [f{n + 1}.yaml, f{n + 1}.yaml, f{n + 1}.yaml, f{n + 1}.yaml]\n")
    (tmp_path / "f4.yaml").write_text("name: leaf\n")
    with pytest.raises(InputError, match=f"more than {MAX_EXTENDS} files"):
        load_scenario(tmp_path / "f0.yaml")


def test_allowed_roots_confine_every_list_item(tmp_path):
    inside, outside = tmp_path / "in", tmp_path / "out"
    inside.mkdir(), outside.mkdir()
    (inside / "ok.yaml").write_text("name: ok\n")
    (outside / "secret.yaml").write_text("name: secret\n")
    (inside / "mine.yaml").write_text("extends:\n  - ok.yaml\n  - ../out/secret.yaml\n")
    with pytest.raises(InputError) as err:
        load_scenario(inside / "mine.yaml", allowed_roots=[inside])
    (issue,) = err.value.issues
    assert (issue.line, issue.path) == (3, "extends[1]") and "only name a shipped preset" in issue.message


# --------------------------------------------------------------------------- compare --set-a / --set-b


def test_set_b_changes_only_side_b(tmp_path, capsys):
    out = tmp_path / "cmp"
    assert main(["compare", "telling", "telling", *TINY, "--set", "unit.beds=20",
                 "--set-b", "leadership.mechanisms.huddle_minutes_per_shift=0", "--out", str(out)]) == 0
    capsys.readouterr()
    a = yaml.safe_load((out / "scenario-a.yaml").read_text())
    b = yaml.safe_load((out / "scenario-b.yaml").read_text())
    assert a["unit"]["beds"] == b["unit"]["beds"] == 20  # --set: both sides
    assert b["leadership"]["mechanisms"]["huddle_minutes_per_shift"] == 0
    assert a["leadership"]["mechanisms"]["huddle_minutes_per_shift"] != 0
    a["leadership"]["mechanisms"].pop("huddle_minutes_per_shift")
    b["leadership"]["mechanisms"].pop("huddle_minutes_per_shift")
    a.pop("name"), b.pop("name")
    assert a == b
    manifest = json.loads((out / "manifest.json").read_text())  # the compare manifest's provenance
    assert manifest["versions"]["python"] and manifest["versions"]["pyarrow"] and manifest["wall_seconds"] > 0
    assert manifest["platform"]["platform"] and "git_dirty" in manifest and manifest["python_call"] is None
    assert "--set-b" in manifest["command"]


def test_set_a_errors_are_located_at_set_a(capsys):
    assert main(["compare", "telling", "listening", *TINY, "--set-a", "unit.beds=0", "--set-b", "x..y=1"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert any(line.startswith("--set-a unit.beds=0: unit.beds: must be") for line in err), err
    assert any(line.startswith("--set-b: x..y: empty component") for line in err), err


def test_help_of_set_says_both_sides():
    compare = _subparsers()["compare"]
    (action,) = [a for a in compare._actions if "--set" in a.option_strings]
    assert "BOTH sides" in action.help


# --------------------------------------------------------------------------- --help defaults


def _subparsers():
    parser = _build_parser()
    return parser._subparsers._group_actions[0].choices


@pytest.mark.parametrize("command", ["run", "compare", "sweep", "analyze", "report", "validate", "app", "calibrate"])
def test_every_option_states_its_default(command, capsys):
    sub = _subparsers()[command]
    for action in sub._actions:
        if action.option_strings and "--help" not in action.option_strings:
            assert action.help and "default" in action.help, (command, action.option_strings, action.help)
    assert main([command, "--help"]) == 0
    options = [a for a in sub._actions if a.option_strings and "--help" not in a.option_strings]
    assert ("default" in capsys.readouterr().out) == bool(options)  # report has no options


# --------------------------------------------------------------------------- saving from Python


def _parquet_equal(a: Path, b: Path) -> None:
    import pandas as pd

    pd.testing.assert_frame_equal(pd.read_parquet(a), pd.read_parquet(b))


def test_run_result_save_writes_the_folder_run_out_writes(tmp_path, capsys):
    import careos_sim

    assert main(["run", str(SCENARIOS / "telling.yaml"), *TINY, "--out", str(tmp_path / "cli")]) == 0
    capsys.readouterr()
    scenario = load_scenario(SCENARIOS / "telling.yaml")
    result = careos_sim.run(scenario, replications=2, seed=5, horizon_days=7, workers=1)
    saved = result.save(tmp_path / "py", label=str(SCENARIOS / "telling.yaml"))
    cli = tmp_path / "cli"
    assert sorted(p.name for p in saved.iterdir()) == sorted(p.name for p in cli.iterdir())
    for name in ("replications.parquet", "weekly.parquet"):
        _parquet_equal(saved / name, cli / name)
    for name in ("summary.csv", "summary.json", "scenario.yaml"):
        assert (saved / name).read_text() == (cli / name).read_text(), name
    m_py, m_cli = (json.loads((f / "manifest.json").read_text()) for f in (saved, cli))
    assert m_py["resolved_scenario_sha256"] == m_cli["resolved_scenario_sha256"]
    assert m_py["python_call"].startswith("careos_sim.experiment.replications.run(") and m_cli["python_call"] is None
    # the same folder checks: a foreign folder is refused
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "notes.txt").write_text("mine")
    with pytest.raises(InputError):
        result.save(tmp_path / "foreign")


def test_comparison_save_writes_the_folder_compare_out_writes(tmp_path, capsys):
    from careos_sim.experiment.compare import compare

    a, b = SCENARIOS / "telling.yaml", SCENARIOS / "listening.yaml"
    assert main(["compare", str(a), str(b), *TINY, "--out", str(tmp_path / "cli")]) == 0
    capsys.readouterr()
    # the command names two scenarios of one name by their files, as here
    sa, sb = (load_scenario(f).model_copy(update={"name": f.stem}) for f in (a, b))
    result = compare(sa, sb, replications=2, seed=5, horizon_days=7, workers=1)
    saved = result.save(tmp_path / "py", labels=(str(a), str(b)))
    cli = tmp_path / "cli"
    files = lambda f: sorted(p.relative_to(f).as_posix() for p in f.rglob("*"))  # noqa: E731
    assert files(saved) == files(cli)
    for name in ("replications.parquet", "weekly.parquet"):
        _parquet_equal(saved / name, cli / name)
    for name in ("comparison.csv", "comparison.json", "scenario-a.yaml", "scenario-b.yaml"):
        assert (saved / name).read_text() == (cli / name).read_text(), name
    manifest = json.loads((saved / "manifest.json").read_text())
    assert manifest["python_call"].startswith("careos_sim.experiment.compare.compare(") and manifest["wall_seconds"] > 0
    # its report says how to repeat it from Python, with the libraries and the platform it ran on
    from careos_sim.report import write_report

    _, md = write_report(saved)
    text = md.read_text()
    assert "made from Python" in text and "careos_sim.experiment.compare.compare(" in text
    assert "simpy" in text and "numpy" in text and "wall time" in text and "cannot be repeated" not in text


# --------------------------------------------------------------------------- experiments from dicts


def _tiny_experiment() -> dict:
    return {"name": "tiny", "base": "scenarios/telling.yaml", "design": {"type": "grid"},
            "factors": [{"path": "staff.nurses.ratio.day", "levels": [4, 5]}],
            "replications": 1, "seed": 3, "horizon_days": 7, "metrics": ["effectiveness.missed_care_pct"]}


def test_experiment_from_dict_equals_the_same_file(tmp_path):
    from careos_sim.experiment.design import experiment_from_dict, load_experiment

    doc = _tiny_experiment()
    file = tmp_path / "tiny.yaml"
    file.write_text(yaml.safe_dump({**doc, "base": str(SCENARIOS / "telling.yaml")}))
    from_file = load_experiment(file)
    from_dict = experiment_from_dict(doc, base_dir=REPO)
    assert from_dict.name == "tiny" and from_dict.scenarios == from_file.scenarios
    assert from_dict.design.equals(from_file.design)


@pytest.mark.parametrize("change, path, message", [
    ({"replications": 0}, "replications", "must be >= 1"),
    ({"factors": [{"path": "staff.nurses.ratio.day", "levels": [4, "x"]}]}, "factors[0]", ""),
    ({"base": "nowhere.yaml"}, "base", "scenario file not found"),
    ({"colour": "red"}, "colour", "unknown key"),
])
def test_experiment_from_dict_errors_are_located_at_dict_and_the_path(change, path, message):
    from careos_sim.experiment.design import experiment_from_dict

    with pytest.raises(InputError) as err:
        experiment_from_dict({**_tiny_experiment(), **change}, base_dir=REPO)
    issue = err.value.issues[0]
    assert (issue.source, issue.line) == ("<dict>", None), str(issue)
    assert issue.path.startswith(path) and message in issue.message, str(issue)
    assert str(issue).startswith(f"<dict>: {path}")


def test_a_sweep_from_python_records_the_call_versions_and_wall_time(tmp_path):
    from careos_sim.experiment.design import experiment_from_dict
    from careos_sim.experiment.sweep import run_sweep

    exp = experiment_from_dict(_tiny_experiment(), base_dir=REPO)
    run_sweep(exp, tmp_path / "sweep", workers=1)
    manifest = json.loads((tmp_path / "sweep" / "manifest.json").read_text())
    assert manifest["complete"] and manifest["wall_seconds"] > 0
    assert manifest["python_call"].startswith("careos_sim.experiment.sweep.run_sweep(") and "'tiny'" in manifest["python_call"]
    assert str(tmp_path / "sweep") in manifest["python_call"]
    # the call builds the experiment again from the copy the sweep keeps, and names the same scenarios
    call = manifest["python_call"].split("  #")[0]
    inner = call.removeprefix("careos_sim.experiment.sweep.run_sweep(").rsplit(f", {str(tmp_path / 'sweep')!r}", 1)[0]
    import careos_sim.experiment.design

    again = eval(inner, {"careos_sim": careos_sim, "yaml": yaml})  # noqa: S307 - our own manifest
    assert again.scenarios == exp.scenarios
    assert manifest["versions"]["SALib"] and manifest["platform"]["machine"] and "git_dirty" in manifest
    assert yaml.safe_load((tmp_path / "sweep" / "experiment.yaml").read_text())["name"] == "tiny"


# --------------------------------------------------------------------------- LICENSE and CITATION


def test_license_is_mit_as_pyproject_says():
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["license"] == {"text": "MIT"}
    text = (REPO / "LICENSE").read_text()
    assert text.startswith("MIT License") and "careos-sim contributors" in text


def test_citation_is_valid_yaml_with_the_package_version():
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    cff = yaml.safe_load((REPO / "CITATION.cff").read_text())
    assert cff["cff-version"] == "1.2.0" and cff["version"] == project["version"]
    assert cff["license"] == "MIT" and cff["authors"] == [{"name": "careos-sim contributors"}]
    assert cff["title"] and cff["message"] and len(cff["abstract"]) > 100


def test_the_compare_function_does_not_hide_the_compare_module():
    import importlib

    import careos_sim
    import careos_sim.experiment.compare as module

    assert module is importlib.import_module("careos_sim.experiment.compare") and module.Comparison and module.paired_table
    assert careos_sim.experiment.compare is module and careos_sim.compare is module.compare
    telling = careos_sim.load_scenario(Path(__file__).resolve().parents[1] / "scenarios" / "telling.yaml")
    result = careos_sim.compare(telling, telling, replications=1, horizon_days=1, workers=1)
    assert isinstance(result, module.Comparison)
