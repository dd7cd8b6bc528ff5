"""The ``careos-sim`` command line: validate, schema, run; exit statuses and what goes where.

Most tests call :func:`careos_sim.cli.main.main` in-process; a few run the installed console script
to prove the exit status and stderr at the process level.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import careos_sim
from careos_sim.cli.main import main

REPO = Path(__file__).resolve().parents[1]
DEFAULT = REPO / "scenarios" / "default.yaml"
MMC = REPO / "scenarios" / "verification" / "mmc.yaml"

#: a short, cheap run of the default unit
QUICK = ["--horizon-days", "3", "--replications", "2", "--seed", "11", "--workers", "1", "--quiet"]

REQUIRED_METRICS = (
    "timeliness.call_light_wait_min_mean",
    "timeliness.call_light_over_10min_pct",
    "timeliness.task_lateness_min_p90",
    "timeliness.boarding_hours_per_admission",
    "effectiveness.missed_care_pct",
    "efficiency.nurse_utilization_pct",
    "efficiency.overtime_hours_per_fte_week",
    "counts.patient_days",
    "counts.admissions",
    "counts.diversions",
)


def cli(capsys, *argv) -> tuple[int, str, str]:
    """Run the command in-process: (exit status, stdout, stderr)."""
    capsys.readouterr()
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def console_script() -> str:
    beside = Path(sys.executable).with_name("careos-sim")
    found = str(beside) if beside.exists() else shutil.which("careos-sim")
    if found is None:
        pytest.skip("the careos-sim console script is not installed")
    return found


# --------------------------------------------------------------------------- bad input: exit 2


#: (files to write, arguments after ``run``, stderr lines); files are written in the test's folder
BAD_INPUT = {
    "unknown-key": (
        {"s.yaml": "name: x\nunit:\n  bedz: 30\n"}, ["s.yaml"],
        ["s.yaml:3: unit.bedz: unknown key; did you mean 'beds'? (got 30)"]),
    "wrong-type": (
        {"s.yaml": "patients:\n  lep_share: lots\n"}, ["s.yaml"],
        ["s.yaml:2: patients.lep_share: must be a number (got 'lots')"]),
    "out-of-range": (
        {"s.yaml": "staff:\n  nurses:\n    ratio:\n      day: 0\n"}, ["s.yaml"],
        ["s.yaml:4: staff.nurses.ratio.day: must be > 0 (got 0)"]),
    "missing-file": (
        {}, ["nope.yaml"],
        ["nope.yaml:1: <file>: file not found (got 'nope.yaml')"]),
    "malformed-yaml": (
        {"s.yaml": "name: x\nunit:\n  beds: 30\n target_occupancy: 0.8\nrun: {}\n"}, ["s.yaml"],
        ["s.yaml:4: <document>: malformed YAML: while parsing a block mapping; expected <block end>, but found "
         "'<block mapping start>' (got 'target_occupancy: 0.8')"]),
    "unclosed-list": (
        {"s.yaml": "unit:\n  beds: [1\n"}, ["s.yaml"],
        ["s.yaml:3: <document>: malformed YAML: while parsing a flow sequence; expected ',' or ']', but got "
         "'<stream end>' (got '<end of file>')"]),
    "empty-file": (
        {"s.yaml": ""}, ["s.yaml"],
        ["s.yaml:1: <document>: file is empty; expected a mapping of scenario keys (got '')"]),
    "circular-extends": (
        {"a.yaml": "extends: b.yaml\n", "b.yaml": "name: b\nextends: a.yaml\n"}, ["a.yaml"],
        ["b.yaml:2: extends: circular extends: a.yaml -> b.yaml -> a.yaml (got 'a.yaml')"]),
    "missing-extends": (
        {"s.yaml": "name: x\nextends: base.yaml\n"}, ["s.yaml"],
        ["s.yaml:2: extends: file not found: base.yaml (got 'base.yaml')"]),
    "bad-value-in-base": (
        {"lib/base.yaml": "name: b\nunit:\n  beds: 0\n", "s.yaml": "extends: lib/base.yaml\nname: s\n"}, ["s.yaml"],
        ["lib/base.yaml:3: unit.beds: must be >= 1 (got 0)"]),
    "set-malformed": (
        {}, [DEFAULT, "--set", "unit.beds"],
        ["--set: unit.beds: expected dotted.path=VALUE (got 'unit.beds')"]),
    "set-unknown-path": (
        {}, [DEFAULT, "--set", "staff.nurses.ratio.evening=4"],
        ["--set staff.nurses.ratio.evening=4: staff.nurses.ratio.evening: unknown key; known keys: day, night "
         "(got 4)"]),
    "set-bad-type": (
        {}, [DEFAULT, "--set", "unit.beds=many"],
        ["--set unit.beds=many: unit.beds: must be an integer (got 'many')"]),
    "set-out-of-range": (
        {}, [DEFAULT, "--set", "patients.lep_share=1.5"],
        ["--set patients.lep_share=1.5: patients.lep_share: must be <= 1 (got 1.5)"]),
    "replications-option": (
        {}, [DEFAULT, "--replications", "0"],
        ["--replications 0: run.replications: must be >= 1 (got 0)"]),
    "horizon-option": (
        {}, [DEFAULT, "--horizon-days", "-1"],
        ["--horizon-days -1.0: run.horizon_days: must be > 0 (got -1.0)"]),
    "workers-option": (
        {}, [DEFAULT, "--workers", "0"],
        ["--workers: workers: must be >= 1 (got 0)"]),
    "several": (
        {"s.yaml": "unit:\n  bedz: 30\nrun:\n  seed: -1\n"}, ["s.yaml", "--set", "unit.beds=0"],
        ["s.yaml:2: unit.bedz: unknown key; did you mean 'beds'? (got 30)",
         "s.yaml:4: run.seed: must be >= 0 (got -1)",
         "--set unit.beds=0: unit.beds: must be >= 1 (got 0)"]),
}


@pytest.mark.parametrize("case", list(BAD_INPUT))
def test_run_with_bad_input_exits_2_with_located_errors(case, capsys, tmp_path, monkeypatch):
    files, args, expected = BAD_INPUT[case]
    monkeypatch.chdir(tmp_path)
    for name, text in files.items():
        write(tmp_path / name, text)
    # the case's own arguments come last, so they win (--workers 0, --horizon-days -1)
    rc, out, err = cli(capsys, "run", "--json", "--workers", "1", "--horizon-days", "1", "--out", "results", *args)
    assert rc == 2
    assert err.splitlines() == expected
    assert out == ""  # not even a partial JSON document
    assert "Traceback" not in err
    assert not (tmp_path / "results").exists()  # bad input writes nothing


@pytest.mark.parametrize("case", ["unknown-key", "malformed-yaml", "circular-extends", "set-bad-type"])
def test_validate_reports_the_same_errors(case, capsys, tmp_path, monkeypatch):
    files, args, expected = BAD_INPUT[case]
    monkeypatch.chdir(tmp_path)
    for name, text in files.items():
        write(tmp_path / name, text)
    rc, out, err = cli(capsys, "validate", *args)
    assert (rc, out, err.splitlines()) == (2, "", expected)


def test_usage_errors_exit_2(capsys):
    rc, out, err = cli(capsys, "run", DEFAULT, "--replications", "many")
    assert (rc, out) == (2, "")
    assert "argument --replications/-r: invalid int value: 'many'" in err
    assert err.startswith("usage: careos-sim run")
    assert cli(capsys, "frobnicate")[0] == 2
    assert cli(capsys)[0] == 2


def test_version(capsys):
    rc, out, _ = cli(capsys, "--version")
    assert (rc, out) == (0, f"careos-sim {careos_sim.__version__}\n")


# --------------------------------------------------------------------------- validate and schema


def test_every_shipped_scenario_validates(capsys):
    files = sorted((REPO / "scenarios").rglob("*.yaml"))
    assert DEFAULT in files and MMC in files
    rc, out, err = cli(capsys, "validate", *files)
    assert rc == 0, err
    assert out.splitlines() == [f"{f}: ok" for f in files]
    assert err == ""


def test_validate_does_not_run_the_scenario(capsys, monkeypatch):
    import careos_sim.experiment.replications
    import careos_sim.model.replication

    def no(*args, **kwargs):
        raise AssertionError("validate ran the simulation")

    monkeypatch.setattr(careos_sim.experiment.replications, "run", no)
    monkeypatch.setattr(careos_sim.model.replication, "run_replication", no)
    assert cli(capsys, "validate", DEFAULT)[:2] == (0, f"{DEFAULT}: ok\n")


def test_validate_checks_every_file_and_reports_all_bad_ones(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "good.yaml", "unit: {beds: 10}\n")
    write(tmp_path / "bad1.yaml", "unit: {beds: 0}\n")
    write(tmp_path / "bad2.yaml", "run:\n  sed: 1\n")
    rc, out, err = cli(capsys, "validate", "bad1.yaml", "good.yaml", "bad2.yaml")
    assert rc == 2
    assert out == "good.yaml: ok\n"
    assert err.splitlines() == [
        "bad1.yaml:1: unit.beds: must be >= 1 (got 0)",
        "bad2.yaml:2: run.sed: unknown key; did you mean 'seed'? (got 1)",
    ]


def test_validate_applies_set_and_reports_a_bad_one_once(capsys):
    rc, out, err = cli(capsys, "validate", DEFAULT, MMC, "--set", "unit.beds=12")
    assert (rc, out) == (0, f"{DEFAULT}: ok\n{MMC}: ok\n")
    rc, out, err = cli(capsys, "validate", DEFAULT, MMC, "--set", "unit.beds=0")
    assert (rc, out) == (2, "")
    assert err.splitlines() == ["--set unit.beds=0: unit.beds: must be >= 1 (got 0)"]


def _walk(node):
    yield node
    if isinstance(node, dict):
        for v in node.values():
            yield from _walk(v)
    elif isinstance(node, list):
        for v in node:
            yield from _walk(v)


def test_schema_is_json_that_forbids_unknown_keys(capsys):
    rc, out, err = cli(capsys, "schema")
    assert rc == 0 and err == ""
    schema = json.loads(out)
    assert {"extends", "unit", "patients", "tasks", "staff", "run"} <= set(schema["properties"])
    assert schema["additionalProperties"] is False
    closed = [n for n in _walk(schema) if isinstance(n, dict) and n.get("additionalProperties") is False]
    assert len(closed) >= 10  # every block, not only the top level
    assert schema["$defs"]["UnitSpec"]["properties"]["beds"]["minimum"] == 1


def test_schema_accepts_the_shipped_scenarios_and_flags_a_typo(capsys):
    jsonschema = pytest.importorskip("jsonschema")
    import yaml

    rc, out, _ = cli(capsys, "schema")
    assert rc == 0
    schema = json.loads(out)
    for path in (DEFAULT, MMC):
        jsonschema.validate(yaml.safe_load(path.read_text()), schema)
    jsonschema.validate({"extends": "default.yaml", "unit": {"beds": 4}}, schema)
    with pytest.raises(jsonschema.ValidationError, match="'bedz' was unexpected"):
        jsonschema.validate({"unit": {"bedz": 4}}, schema)


# --------------------------------------------------------------------------- run


def run_json(capsys, *args) -> dict:
    rc, out, err = cli(capsys, "run", *args, "--json")
    assert rc == 0, err
    return json.loads(out)  # the whole of stdout is one document


def test_run_json_document(capsys):
    doc = run_json(capsys, DEFAULT, *QUICK)
    assert {"scenario", "replications", "seed", "horizon_days", "metrics"} <= set(doc)
    assert (doc["scenario"], doc["replications"], doc["seed"], doc["horizon_days"]) == (str(DEFAULT), 2, 11, 3.0)
    assert doc["warmup_days"] == 0.0
    assert set(REQUIRED_METRICS) <= set(doc["metrics"])
    for name, m in doc["metrics"].items():
        assert set(m) == {"mean", "ci_low", "ci_high", "unit", "direction"}, name
        assert m["direction"] in ("lower", "higher"), name
        assert isinstance(m["unit"], str) and m["unit"], name
        if m["ci_low"] is not None:
            assert m["ci_low"] <= m["mean"] <= m["ci_high"], name
    m = doc["metrics"]
    assert m["timeliness.call_light_wait_min_mean"]["unit"] == "min"
    assert m["effectiveness.missed_care_pct"]["unit"] == "%"
    assert m["counts.admissions"]["direction"] == "higher"
    assert m["efficiency.overtime_hours_per_fte_week"]["direction"] == "lower"
    # 30 beds for 3 days: at most 90 patient-days; the unit starts 85% full
    assert 40 < m["counts.patient_days"]["mean"] <= 90
    assert 0 < m["efficiency.nurse_utilization_pct"]["mean"] < 100
    assert all("direction" not in d for d in doc["diagnostics"].values())


def test_run_json_without_quiet_still_prints_only_json_on_stdout(capsys):
    args = [a for a in QUICK if a != "--quiet"]
    rc, out, err = cli(capsys, "run", DEFAULT, *args, "--json")
    assert rc == 0
    assert json.loads(out)["replications"] == 2
    assert "2/2" in err  # the progress bar went to stderr


def test_run_with_one_replication_has_no_interval(capsys):
    doc = run_json(capsys, DEFAULT, *QUICK, "--replications", "1")
    m = doc["metrics"]["counts.admissions"]
    assert m["ci_low"] is None and m["ci_high"] is None and m["mean"] > 0


def test_run_table(capsys):
    rc, out, err = cli(capsys, "run", DEFAULT, *QUICK)
    assert rc == 0, err
    doc = run_json(capsys, DEFAULT, *QUICK)
    lines = out.splitlines()
    assert lines[0] == f"{DEFAULT}: 2 replications, seed 11, 3 days after 0 days warm-up"
    assert lines[2].split() == ["metric", "mean", "95%", "CI", "unit", "better"]
    rows = {line.split()[0]: line for line in lines[4:] if line.strip()}
    assert set(REQUIRED_METRICS) <= set(rows)
    wait = doc["metrics"]["timeliness.call_light_wait_min_mean"]
    row = rows["timeliness.call_light_wait_min_mean"]
    assert row.split()[1] == f"{wait['mean']:.2f}"
    assert f"[{wait['ci_low']:.2f}, {wait['ci_high']:.2f}]" in row
    assert row.split()[-2:] == ["min", "lower"]


def test_same_seed_same_json_and_another_seed_differs(capsys):
    first = cli(capsys, "run", DEFAULT, *QUICK, "--json")
    second = cli(capsys, "run", DEFAULT, *QUICK, "--json")
    assert first[0] == 0 and first[1] == second[1]
    other = run_json(capsys, DEFAULT, *QUICK, "--seed", "12")
    assert other["seed"] == 12
    assert other["metrics"] != json.loads(first[1])["metrics"]


def test_workers_do_not_change_the_result(capsys):
    args = [DEFAULT, "--horizon-days", "2", "--replications", "3", "--seed", "5", "--quiet", "--json"]
    one = cli(capsys, "run", *args, "--workers", "1")
    two = cli(capsys, "run", *args, "--workers", "2")
    assert one[0] == two[0] == 0, two[2]
    assert one[1] == two[1]
    assert json.loads(one[1])["replications"] == 3


def test_set_values_reach_the_model(capsys):
    base = run_json(capsys, DEFAULT, *QUICK)
    small = run_json(capsys, DEFAULT, *QUICK, "--set", "unit.beds=10", "--set", "run.warmup_days=1")
    assert small["warmup_days"] == 1.0
    assert small["metrics"]["counts.patient_days"]["mean"] <= 10 * 3
    assert base["metrics"]["counts.patient_days"]["mean"] > 10 * 3


def test_options_override_the_run_block_of_the_file(capsys, tmp_path):
    path = write(tmp_path / "s.yaml", f"extends: {DEFAULT}\nrun:\n  replications: 3\n  seed: 99\n  horizon_days: 2\n")
    doc = run_json(capsys, path, "--workers", "1", "--quiet")
    assert (doc["replications"], doc["seed"], doc["horizon_days"]) == (3, 99, 2.0)
    doc = run_json(capsys, path, "--workers", "1", "--quiet", "--replications", "2", "--seed", "1")
    assert (doc["replications"], doc["seed"], doc["horizon_days"]) == (2, 1, 2.0)


def test_internal_error_exits_1(capsys, monkeypatch, tmp_path):
    import careos_sim.experiment.replications

    def broken(*args, **kwargs):
        raise RuntimeError("the model broke")

    monkeypatch.setattr(careos_sim.experiment.replications, "run", broken)
    rc, out, err = cli(capsys, "run", DEFAULT, *QUICK, "--json", "--out", tmp_path / "out")
    assert rc == 1
    assert out == ""
    assert err.splitlines()[-1] == "careos-sim: internal error: the model broke"
    assert "RuntimeError: the model broke" in err  # the traceback, for a bug report
    assert not (tmp_path / "out").exists()


def test_interrupt_exits_130(capsys, monkeypatch):
    import careos_sim.experiment.replications

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(careos_sim.experiment.replications, "run", interrupted)
    rc, out, err = cli(capsys, "run", DEFAULT, *QUICK, "--json")
    assert (rc, out, err) == (130, "", "careos-sim: interrupted; nothing was written\n")


# --------------------------------------------------------------------------- the real process


def test_process_bad_input_exit_status_and_stderr(tmp_path):
    write(tmp_path / "s.yaml", "name: x\nunit:\n  bedz: 30\n")
    proc = subprocess.run([console_script(), "run", "s.yaml", "--json", "--set", "unit.beds=-2"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.splitlines() == [
        "s.yaml:3: unit.bedz: unknown key; did you mean 'beds'? (got 30)",
        "--set unit.beds=-2: unit.beds: must be >= 1 (got -2)",
    ]


def test_process_run_json_matches_in_process(capsys, tmp_path):
    args = ["run", str(DEFAULT), *QUICK, "--json"]
    proc = subprocess.run([console_script(), *args], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert json.loads(proc.stdout) == run_json(capsys, DEFAULT, *QUICK)


def test_process_validate_and_usage_error(tmp_path):
    ok = subprocess.run([console_script(), "validate", str(DEFAULT), str(MMC)], capture_output=True, text=True,
                        timeout=120)
    assert (ok.returncode, ok.stdout) == (0, f"{DEFAULT}: ok\n{MMC}: ok\n")
    usage = subprocess.run([console_script(), "run"], capture_output=True, text=True, timeout=120)
    assert usage.returncode == 2
    assert "the following arguments are required: file" in usage.stderr
    assert "Traceback" not in usage.stderr
