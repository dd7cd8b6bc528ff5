"""Results: the Python API's DataFrames, the JSON summary, and ``--out`` folders written atomically."""

from __future__ import annotations

import hashlib
import json
import math
import os
from pathlib import Path

import pandas as pd
import pytest

import careos_sim
import careos_sim.results.folders as output
from cli_run import cli
from careos_sim.results.folders import atomic_folder
from careos_sim.results.documents import summary_document
from careos_sim.spec.scenario import TASK_TYPES
from careos_sim.model.unit import EVENT_COLUMNS

REPO = Path(__file__).resolve().parents[1]
DEFAULT = REPO / "scenarios" / "default.yaml"

QUICK = ["--horizon-days", "3", "--replications", "3", "--seed", "11", "--workers", "1", "--quiet"]
FILES = ["manifest.json", "replications.parquet", "scenario.yaml", "summary.csv", "summary.json", "weekly.parquet"]
REQUIRED_METRICS = (
    "timeliness.call_light_wait_min_mean", "timeliness.call_light_over_10min_pct",
    "timeliness.task_lateness_min_p90", "timeliness.boarding_hours_per_admission", "effectiveness.missed_care_pct",
    "efficiency.nurse_utilization_pct", "efficiency.overtime_hours_per_fte_week", "counts.patient_days",
    "counts.admissions", "counts.diversions",
)


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)




def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def leftovers(folder: Path) -> list[str]:
    """Temporary folders (or anything else hidden) that a write left behind."""
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


# --------------------------------------------------------------------------- Python API


@pytest.fixture(scope="module")
def result():
    scenario = careos_sim.load_scenario(DEFAULT, overrides={"run.horizon_days": 3})
    return careos_sim.run(scenario, replications=3, seed=5)


def test_run_returns_one_row_per_replication_and_a_summary(result):
    reps, summary = result.replications, result.summary
    assert isinstance(reps, pd.DataFrame) and isinstance(summary, pd.DataFrame)
    assert list(reps["replication"]) == [0, 1, 2]
    assert set(reps["seed"]) == {5}
    assert set(REQUIRED_METRICS) <= set(reps.columns)
    assert {"metric", "mean", "ci_low", "ci_high", "unit", "direction"} <= set(summary.columns)
    assert set(REQUIRED_METRICS) <= set(summary["metric"])
    row = summary.set_index("metric").loc["counts.admissions"]
    assert row["mean"] == pytest.approx(reps["counts.admissions"].mean())
    assert row["ci_low"] < row["mean"] < row["ci_high"]
    assert result.scenario.run.replications == 3 and result.seed == 5
    assert result.metric("counts.admissions")["mean"] == row["mean"]


def test_run_is_reproducible_from_its_seed(result):
    again = careos_sim.run(result.scenario, replications=3, seed=5)
    pd.testing.assert_frame_equal(again.replications, result.replications)
    pd.testing.assert_frame_equal(again.summary, result.summary)
    other = careos_sim.run(result.scenario, replications=3, seed=6)
    assert not other.replications.equals(result.replications)


def test_summary_document_is_strict_json(result):
    one = careos_sim.run(result.scenario, replications=1, seed=5)
    doc = summary_document(one, "label")
    text = json.dumps(doc, allow_nan=False)  # NaN (no interval from one replication) is null
    assert doc["metrics"]["counts.admissions"]["ci_low"] is None
    assert (doc["scenario"], doc["replications"], doc["seed"], doc["horizon_days"]) == ("label", 1, 5, 3.0)
    assert json.loads(text) == doc
    assert set(REQUIRED_METRICS) <= set(doc["metrics"])


def test_json_safe():
    import numpy as np

    assert output.json_safe({"a": [math.nan, math.inf, 1.5, np.float64(2.5), np.int64(3)], "b": (None, "x")}) == \
        {"a": [None, None, 1.5, 2.5, 3], "b": [None, "x"]}


# --------------------------------------------------------------------------- --out


def test_out_writes_replications_summary_scenario_and_manifest(capsys, tmp_path):
    rc, out, err = cli(capsys, "run", DEFAULT, *QUICK, "--out", "results", "--json")
    assert rc == 0, err
    folder = tmp_path / "results"
    assert sorted(p.name for p in folder.iterdir()) == FILES
    assert leftovers(tmp_path) == []

    printed = json.loads(out)
    assert json.loads((folder / "summary.json").read_text()) == printed

    reps = pd.read_parquet(folder / "replications.parquet")
    assert list(reps["replication"]) == [0, 1, 2] and set(reps["seed"]) == {11}
    for name in REQUIRED_METRICS:
        assert reps[name].mean() == pytest.approx(printed["metrics"][name]["mean"]), name

    summary = pd.read_csv(folder / "summary.csv").set_index("metric")
    assert summary.loc["counts.admissions", "mean"] == pytest.approx(printed["metrics"]["counts.admissions"]["mean"])
    assert summary.loc["efficiency.nurse_utilization_pct", "unit"] == "%"

    weekly = pd.read_parquet(folder / "weekly.parquet")
    assert set(weekly["replication"]) == {0, 1, 2} and "counts.patient_days" in weekly.columns

    # the resolved scenario reloads to the scenario that ran
    ran = careos_sim.load_scenario(DEFAULT, {"run.replications": 3, "run.seed": 11, "run.horizon_days": 3})
    assert careos_sim.load_scenario(folder / "scenario.yaml") == ran

    manifest = json.loads((folder / "manifest.json").read_text())
    assert (manifest["kind"], manifest["seed"], manifest["replications"], manifest["horizon_days"]) == \
        ("run", 11, 3, 3.0)
    assert manifest["package_version"] == careos_sim.__version__
    assert list(manifest["scenario_files_sha256"].values()) == [hashlib.sha256(DEFAULT.read_bytes()).hexdigest()]
    assert manifest["resolved_scenario_sha256"] == hashlib.sha256((folder / "scenario.yaml").read_bytes()).hexdigest()


def test_out_lists_every_file_of_an_extends_chain(capsys, tmp_path):
    (tmp_path / "s.yaml").write_text(f"extends: {DEFAULT}\nname: small\nunit: {{beds: 12}}\n")
    rc, _, err = cli(capsys, "run", "s.yaml", *QUICK, "--out", "results")
    assert rc == 0, err
    files = json.loads((tmp_path / "results" / "manifest.json").read_text())["scenario_files_sha256"]
    assert sorted(files.values()) == sorted(hashlib.sha256(p.read_bytes()).hexdigest()
                                            for p in (DEFAULT, tmp_path / "s.yaml"))


def test_out_table_mode_says_where_the_results_are(capsys, tmp_path):
    rc, out, _ = cli(capsys, "run", DEFAULT, *QUICK, "--out", "a/b/results")
    assert rc == 0
    assert out.rstrip().splitlines()[-1] == "results written to a/b/results/"
    assert sorted(p.name for p in (tmp_path / "a" / "b" / "results").iterdir()) == FILES


def test_out_with_events_writes_an_event_log_per_replication(capsys, tmp_path):
    rc, _, err = cli(capsys, "run", DEFAULT, *QUICK, "--replications", "2", "--out", "results", "--events")
    assert rc == 0, err
    names = sorted(p.name for p in (tmp_path / "results").iterdir())
    assert names == sorted([*FILES, "events-0000.parquet", "events-0001.parquet"])
    events = pd.read_parquet(tmp_path / "results" / "events-0001.parquet")
    assert list(events.columns) == list(EVENT_COLUMNS) and len(events) > 0
    # typed columns survive the round trip: task types as text, nurse ids as integers
    assert set(events.loc[events["event"] == "start", "task"]) <= set(TASK_TYPES)
    assert set(events.loc[events["event"] == "on", "nurse"]) >= {0, 1}
    assert str(events["nurse"].dtype) == "Int64" and events["time_min"].is_monotonic_increasing


def test_a_second_run_replaces_the_results(capsys, tmp_path):
    assert cli(capsys, "run", DEFAULT, *QUICK, "--out", "results")[0] == 0
    assert cli(capsys, "run", DEFAULT, *QUICK, "--out", "results", "--seed", "12", "--replications", "2")[0] == 0
    reps = pd.read_parquet(tmp_path / "results" / "replications.parquet")
    assert (len(reps), set(reps["seed"])) == (2, {12})
    assert json.loads((tmp_path / "results" / "manifest.json").read_text())["seed"] == 12
    assert leftovers(tmp_path) == []


# --------------------------------------------------------------------------- failures leave nothing half-written


def _fail(exc):
    def raiser(*args, **kwargs):
        raise exc
    return raiser


@pytest.mark.parametrize("where", ["first-file", "manifest"])
def test_failed_write_leaves_no_folder_and_no_temp_folder(where, capsys, tmp_path, monkeypatch):
    if where == "first-file":
        monkeypatch.setattr(pd.DataFrame, "to_parquet", _fail(OSError("disk full")))
    else:  # every data file is written, the manifest is being made
        monkeypatch.setattr(output, "package_version", _fail(OSError("disk full")))
    rc, out, err = cli(capsys, "run", DEFAULT, *QUICK, "--out", "new/deeper/results", "--json")
    assert rc == 1
    assert out == ""
    assert err.splitlines()[-1] == "careos-sim: internal error: disk full"
    assert list(tmp_path.iterdir()) == []  # not the folder, not its parents, not a temporary folder


def test_failed_write_keeps_the_previous_results(capsys, tmp_path, monkeypatch):
    assert cli(capsys, "run", DEFAULT, *QUICK, "--out", "results")[0] == 0
    before = snapshot(tmp_path / "results")
    monkeypatch.setattr(output, "package_version", _fail(OSError("disk full")))
    rc, _, _ = cli(capsys, "run", DEFAULT, *QUICK, "--seed", "12", "--out", "results")
    assert rc == 1
    assert snapshot(tmp_path / "results") == before
    assert leftovers(tmp_path) == []


def test_interrupted_write_leaves_nothing(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(output, "package_version", _fail(KeyboardInterrupt()))
    rc, out, err = cli(capsys, "run", DEFAULT, *QUICK, "--out", "results", "--json")
    assert (rc, out, err) == (130, "", "careos-sim: interrupted; nothing was written\n")
    assert list(tmp_path.iterdir()) == []


def test_failure_while_moving_into_an_existing_folder_leaves_whole_files_and_no_manifest(capsys, tmp_path,
                                                                                         monkeypatch):
    assert cli(capsys, "run", DEFAULT, *QUICK, "--out", "results")[0] == 0
    real_replace, calls = os.replace, []

    def flaky_replace(src, dst, *args, **kwargs):
        calls.append(Path(dst).name)
        if len(calls) == 2:
            raise OSError("device went away")
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", flaky_replace)
    rc, _, err = cli(capsys, "run", DEFAULT, *QUICK, "--seed", "12", "--out", "results")
    assert rc == 1
    assert err.splitlines()[-1] == "careos-sim: internal error: device went away"
    assert calls == ["replications.parquet", "scenario.yaml"]
    folder = tmp_path / "results"
    assert not (folder / "manifest.json").exists()  # no manifest: the folder is marked incomplete
    assert set(pd.read_parquet(folder / "replications.parquet")["seed"]) == {12}  # whole new file
    assert set(pd.read_parquet(folder / "weekly.parquet")["replication"]) == {0, 1, 2}  # whole old file
    assert leftovers(tmp_path) == []


def test_bad_input_does_not_create_or_change_the_folder(capsys, tmp_path):
    rc, _, err = cli(capsys, "run", DEFAULT, *QUICK, "--set", "unit.beds=0", "--out", "results")
    assert (rc, err) == (2, "--set unit.beds=0: unit.beds: must be >= 1 (got 0)\n")
    assert list(tmp_path.iterdir()) == []
    assert cli(capsys, "run", DEFAULT, *QUICK, "--out", "results")[0] == 0
    before = snapshot(tmp_path / "results")
    rc, _, err = cli(capsys, "run", DEFAULT, *QUICK, "--set", "unit.beds=x", "--out", "results")
    assert rc == 2
    assert snapshot(tmp_path / "results") == before
    assert leftovers(tmp_path) == []


def test_out_that_is_a_file_is_bad_input(capsys, tmp_path, monkeypatch):
    import careos_sim.experiment.replications

    (tmp_path / "results").write_text("precious")
    monkeypatch.setattr(careos_sim.experiment.replications, "run", _fail(AssertionError("ran before checking --out")))
    rc, out, err = cli(capsys, "run", DEFAULT, *QUICK, "--out", "results", "--json")
    assert (rc, out, err) == (2, "", "--out: out: exists and is not a folder (got 'results')\n")
    assert (tmp_path / "results").read_text() == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results"]


# --------------------------------------------------------------------------- atomic_folder


def test_atomic_folder_creates_the_target_in_one_step_with_ordinary_permissions(tmp_path):
    with atomic_folder(tmp_path / "x" / "out") as tmp:
        assert tmp.parent == tmp_path / "x" and tmp.name.startswith(".out.tmp-")
        (tmp / "a.txt").write_text("a")
        (tmp / "manifest.json").write_text("{}")
        assert not (tmp_path / "x" / "out").exists()
    target = tmp_path / "x" / "out"
    assert sorted(p.name for p in target.iterdir()) == ["a.txt", "manifest.json"]
    (tmp_path / "plain").mkdir()
    assert target.stat().st_mode == (tmp_path / "plain").stat().st_mode  # not mkdtemp's 0700
    assert leftovers(tmp_path / "x") == []


def test_atomic_folder_on_error_removes_everything_it_made(tmp_path):
    with pytest.raises(ValueError, match="boom"):
        with atomic_folder(tmp_path / "x" / "y" / "out") as tmp:
            (tmp / "a.txt").write_text("a")
            raise ValueError("boom")
    assert list(tmp_path.iterdir()) == []


def test_atomic_folder_keeps_other_files_in_an_existing_target(tmp_path):
    target = tmp_path / "out"
    target.mkdir()
    (target / "notes.txt").write_text("mine")
    (target / "a.txt").write_text("old")
    with atomic_folder(target) as tmp:
        (tmp / "a.txt").write_text("new")
    assert {p.name: p.read_text() for p in target.iterdir()} == {"notes.txt": "mine", "a.txt": "new"}
    assert leftovers(tmp_path) == []


# --------------------------------------------------------------------------- provenance


def test_manifest_records_versions_platform_wall_time_and_dirty_flag(capsys, tmp_path):
    rc, _, err = cli(capsys, "run", DEFAULT, *QUICK, "--out", "results")
    assert rc == 0, err
    manifest = json.loads((tmp_path / "results" / "manifest.json").read_text())
    assert set(manifest["versions"]) == {"python", *output.VERSIONED}
    assert manifest["versions"]["simpy"] and manifest["versions"]["pandas"] == pd.__version__
    assert manifest["platform"]["machine"] and manifest["platform"]["platform"]
    assert manifest["wall_seconds"] > 0
    assert manifest["git_dirty"] in (True, False, None)
    assert manifest["command"][0] == "careos-sim" and manifest["python_call"] is None


def test_git_dirty_is_none_outside_a_checkout_or_without_git(tmp_path, monkeypatch):
    assert output.git_dirty(tmp_path) is None
    monkeypatch.setenv("PATH", str(tmp_path))  # no git to be found
    assert output.git_dirty(REPO) is None and output.git_commit(REPO) is None


def test_saved_from_python_the_manifest_says_the_call(result, tmp_path):
    folder = result.save(tmp_path / "saved")
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["command"] == [] and manifest["python_call"].startswith("careos_sim.experiment.replications.run(")
    assert "saved" in manifest["python_call"]
