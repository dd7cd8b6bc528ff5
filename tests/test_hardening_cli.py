"""Hardening of the command line: output folders that are not ours are never written in, resume
refuses a sweep whose inputs changed and names the change, SIGTERM and SIGHUP stop every command
as Ctrl-C does (real signals, real worker processes), an unreachable --scheduler is a located
error, and names from user files cannot run escape sequences in a terminal."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

import careos_sim.experiment.compare
import careos_sim.experiment.replications
import careos_sim.experiment.sweep
from careos_sim.cli.main import main
from cli_run import cli
from careos_sim.experiment.design import load_experiment
from careos_sim.interrupts import Interrupted, deferred_signals, handle_signals
from careos_sim.results.folders import atomic_folder
from careos_sim.experiment.sweep import load_store, run_sweep

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = REPO / "scenarios"
DEFAULT = SCENARIOS / "default.yaml"
QUICK = ["--horizon-days", "3", "--replications", "2", "--seed", "11", "--workers", "1", "--quiet"]
ESC = "\x1b]0;pwned\x07\x1b[2J"

#: a 2^2 factorial on a base scenario in the test's folder (so the test can edit it)
EXPERIMENT = """\
name: {name}
base: base.yaml
set: {{run.warmup_days: 0}}
design: {{type: factorial}}
factors:
  - {{path: leadership.elements.valuing_people, name: valuing, levels: [0, 1]}}
  - {{path: staff.nurses.ratio.day, name: ratio, levels: [4, 6]}}
replications: {replications}
seed: 99
horizon_days: {horizon}
"""


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)




def experiment(folder: Path, name: str = "tiny", replications: int = 2, horizon: int = 3,
               base: str = f"extends: {SCENARIOS / 'telling.yaml'}\n") -> Path:
    (folder / "base.yaml").write_text(base)
    path = folder / "exp.yaml"
    path.write_text(EXPERIMENT.format(name=name, replications=replications, horizon=horizon))
    return path


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def temporaries(folder: Path) -> list[str]:
    return sorted(p.as_posix() for p in folder.rglob("*") if ".tmp" in p.name or "probe" in p.name)


def must_not_simulate(monkeypatch):
    """Make any simulation fail loudly: a check that must come first can then be seen to."""
    def ran(*args, **kwargs):
        raise AssertionError("simulated before checking the output folder")
    monkeypatch.setattr(careos_sim.experiment.replications, "run", ran)
    monkeypatch.setattr(sys.modules["careos_sim.experiment.compare"], "compare", ran)  # the function the command calls
    monkeypatch.setattr(careos_sim.experiment.sweep, "run_sweep", ran)


def refused(rc: int, err: str, *words: str) -> None:
    assert rc == 2, err
    assert "Traceback" not in err
    for w in words:
        assert w in err, (w, err)


# =========================================================================== 4. output folders


def test_run_and_compare_refuse_a_folder_of_the_users(capsys, tmp_path, monkeypatch):
    """The known bug: compare --out on a folder of the user's deleted their files."""
    mine = tmp_path / "mine"
    (mine / "figures").mkdir(parents=True)
    (mine / "figures" / "holiday.png").write_bytes(b"\x89PNG precious")
    (mine / "thesis.docx").write_text("years of work")
    before = tree(mine)
    must_not_simulate(monkeypatch)
    for argv in (["run", DEFAULT], ["compare", DEFAULT, DEFAULT]):
        rc, out, err = cli(capsys, *argv, *QUICK, "--out", mine)
        refused(rc, err, "--out", str(mine), "not a careos-sim results folder")
        assert out == ""
    assert tree(mine) == before and temporaries(tmp_path) == []


@pytest.mark.parametrize("kind, command", [
    ("run", "compare"),  # a run folder given to compare
    ("run", "sweep"),
    ("compare", "run"),
    ("sweep", "run"),  # a sweep folder given to run
    ("sweep", "compare"),
])
def test_a_results_folder_of_another_kind_is_refused(capsys, tmp_path, monkeypatch, kind, command):
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "manifest.json").write_text(json.dumps({"kind": kind}))
    (folder / "data.parquet").write_bytes(b"theirs")
    before = tree(folder)
    must_not_simulate(monkeypatch)
    argv = {"run": ["run", DEFAULT, *QUICK], "compare": ["compare", DEFAULT, DEFAULT, *QUICK],
            "sweep": ["sweep", experiment(tmp_path), "--quiet", "--workers", "1"]}[command]
    rc, _, err = cli(capsys, *argv, "--out", folder)
    refused(rc, err, "--out", str(folder), f"results of a {kind}", f"not of a {command}")
    assert tree(folder) == before


@pytest.mark.parametrize("manifest", ["not json {", json.dumps({"kind": "holiday-photos"}), json.dumps([1, 2])])
def test_a_manifest_we_did_not_write_is_refused(capsys, tmp_path, monkeypatch, manifest):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "manifest.json").write_text(manifest)
    must_not_simulate(monkeypatch)
    rc, _, err = cli(capsys, "run", DEFAULT, *QUICK, "--out", "out")
    refused(rc, err, "--out", "careos-sim did not write")
    assert (tmp_path / "out" / "manifest.json").read_text() == manifest


@pytest.mark.parametrize("command", ["run", "compare", "sweep"])
def test_a_path_under_a_regular_file_is_refused_before_simulating(capsys, tmp_path, monkeypatch, command):
    (tmp_path / "notes.txt").write_text("a file, not a folder")
    must_not_simulate(monkeypatch)
    argv = {"run": ["run", DEFAULT, *QUICK], "compare": ["compare", DEFAULT, DEFAULT, *QUICK],
            "sweep": ["sweep", experiment(tmp_path), "--quiet", "--workers", "1"]}[command]
    rc, _, err = cli(capsys, *argv, "--out", tmp_path / "notes.txt" / "deeper" / "out")
    refused(rc, err, "--out", "notes.txt", "is a file, not a folder")
    assert (tmp_path / "notes.txt").read_text() == "a file, not a folder"


@pytest.mark.parametrize("command", ["run", "compare", "sweep"])
def test_a_file_where_the_folder_goes_is_refused(capsys, tmp_path, monkeypatch, command):
    (tmp_path / "out").write_text("precious")
    must_not_simulate(monkeypatch)
    argv = {"run": ["run", DEFAULT, *QUICK], "compare": ["compare", DEFAULT, DEFAULT, *QUICK],
            "sweep": ["sweep", experiment(tmp_path), "--quiet", "--workers", "1"]}[command]
    rc, _, err = cli(capsys, *argv, "--out", "out")
    refused(rc, err, "--out", "exists and is not a folder", "'out'")
    assert (tmp_path / "out").read_text() == "precious"


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="root writes in a read-only folder anyway: permission bits cannot be tested as root "
                           "(the write check itself is tested with a path under a regular file)")
def test_a_read_only_parent_is_refused_before_simulating(capsys, tmp_path, monkeypatch):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        must_not_simulate(monkeypatch)
        rc, _, err = cli(capsys, "run", DEFAULT, *QUICK, "--out", locked / "out")
        refused(rc, err, "--out", "cannot write in", "locked")
    finally:
        locked.chmod(0o700)


@pytest.mark.parametrize("command, existing", [("run", False), ("run", True), ("compare", False), ("sweep", False),
                                               ("sweep", True)])
def test_a_place_that_refuses_writes_is_refused_before_simulating(capsys, tmp_path, monkeypatch, command, existing):
    """As root, permission bits do not stop a write; what the check does when the system refuses one
    (a read-only mount, root-squashed NFS, a folder not ours) is tested by refusing its probe."""
    import pathlib

    real = pathlib.Path.mkdir

    def refusing(self, *args, **kwargs):
        if self.name.startswith(".careos-sim-probe"):
            raise PermissionError(13, "Permission denied")
        return real(self, *args, **kwargs)

    target = tmp_path / "out"
    if existing:
        target.mkdir()
        (target / "manifest.json").write_text(json.dumps({"kind": command}))
    argv = {"run": ["run", DEFAULT, *QUICK], "compare": ["compare", DEFAULT, DEFAULT, *QUICK],
            "sweep": ["sweep", experiment(tmp_path), "--quiet", "--workers", "1"]}[command]
    if existing and command == "sweep":
        argv.append("--resume")
    must_not_simulate(monkeypatch)
    monkeypatch.setattr(pathlib.Path, "mkdir", refusing)
    rc, _, err = cli(capsys, *argv, "--out", target)
    refused(rc, err, "--out", "cannot write in", str(tmp_path), "Permission denied")


def test_an_empty_folder_is_used(capsys, tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / ".gitkeep").write_text("")
    rc, _, err = cli(capsys, "run", DEFAULT, *QUICK, "--out", "empty")
    assert rc == 0, err
    assert (tmp_path / "empty" / "manifest.json").exists() and (tmp_path / "empty" / ".gitkeep").exists()


def test_rewriting_our_run_folder_keeps_the_users_files_and_drops_only_our_stale_ones(capsys, tmp_path):
    assert cli(capsys, "run", DEFAULT, *QUICK, "--out", "out", "--events")[0] == 0
    out = tmp_path / "out"
    assert (out / "events-0001.parquet").exists()
    (out / "my-notes.txt").write_text("keep me")
    (out / "mine").mkdir()
    (out / "mine" / "plot.png").write_bytes(b"keep me too")
    rc, _, err = cli(capsys, "run", DEFAULT, *QUICK, "--out", "out", "--replications", "1")  # no --events now
    assert rc == 0, err
    names = set(tree(out))
    assert {"my-notes.txt", "mine/plot.png"} <= names  # the user's: kept
    assert not any(n.startswith("events-") for n in names)  # ours from before, not in the new results: gone
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest["files"]) == names - {"my-notes.txt", "mine/plot.png", "manifest.json"}
    assert temporaries(tmp_path) == []


def test_rewriting_our_compare_folder_keeps_the_users_files_in_figures(capsys, tmp_path):
    """Re-writing figures/ used to remove the whole folder, and a user's file in it."""
    argv = ["compare", DEFAULT, SCENARIOS / "telling.yaml", *QUICK, "--out", "cmp"]
    assert cli(capsys, *argv)[0] == 0
    (tmp_path / "cmp" / "figures" / "annotated.png").write_bytes(b"mine")
    (tmp_path / "cmp" / "README.txt").write_text("what these are")
    rc, _, err = cli(capsys, *argv, "--seed", "12")
    assert rc == 0, err
    assert (tmp_path / "cmp" / "figures" / "annotated.png").read_bytes() == b"mine"
    assert (tmp_path / "cmp" / "README.txt").read_text() == "what these are"
    assert json.loads((tmp_path / "cmp" / "manifest.json").read_text())["seed"] == 12


def test_a_folder_of_the_users_where_our_file_goes_stops_the_write_and_changes_nothing(capsys, tmp_path):
    assert cli(capsys, "run", DEFAULT, *QUICK, "--out", "out")[0] == 0
    (tmp_path / "out" / "summary.csv").unlink()
    (tmp_path / "out" / "summary.csv").mkdir()
    (tmp_path / "out" / "summary.csv" / "mine.txt").write_text("x")
    before = tree(tmp_path / "out")
    rc, _, err = cli(capsys, "run", DEFAULT, *QUICK, "--out", "out", "--seed", "12")
    refused(rc, err, "summary.csv", "nothing was changed")
    assert tree(tmp_path / "out") == before and temporaries(tmp_path) == []


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_temporaries_of_a_killed_write_are_removed_and_nothing_else(capsys, tmp_path):
    dead, alive = _dead_pid(), os.getpid()
    (tmp_path / f".out.tmp-{dead}-0123abcd").mkdir()  # left by a run killed while writing out/
    (tmp_path / f".out.tmp-{dead}-0123abcd" / "replications.parquet").write_bytes(b"half")
    (tmp_path / f".out.tmp-{alive}-89abcdef").mkdir()  # a write in progress: not to be touched
    (tmp_path / f".other.tmp-{dead}-0123abcd").mkdir()  # another target's: not this write's business
    (tmp_path / ".out.tmp-mine").mkdir()  # not our pattern
    assert cli(capsys, "run", DEFAULT, *QUICK, "--out", "out")[0] == 0
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == \
        sorted([f".out.tmp-{alive}-89abcdef", f".other.tmp-{dead}-0123abcd", ".out.tmp-mine"])


def test_resume_removes_a_killed_sweeps_temporary_parts_and_keeps_other_files(capsys, tmp_path):
    exp, out = _interrupted(tmp_path)
    (out / "parts").mkdir(exist_ok=True)
    dead = _dead_pid()
    (out / "parts" / f".run-000001-0001.parquet.tmp-{dead}-0123abcd").write_bytes(b"half")
    (out / "parts" / "mine.parquet").write_bytes(b"the user's")
    rc, err = _resume(capsys, exp, out)
    assert rc == 0, err
    assert sorted(p.name for p in (out / "parts").iterdir()) == ["mine.parquet"]
    assert load_store(out).complete


def test_atomic_folder_replaces_only_listed_files(tmp_path):
    target = tmp_path / "out"
    with atomic_folder(target) as tmp:
        (tmp / "a.txt").write_text("a")
        (tmp / "sub").mkdir()
        (tmp / "sub" / "b.txt").write_text("b")
        (tmp / "manifest.json").write_text(json.dumps({"files": ["a.txt", "sub/b.txt", "../escape.txt"]}))
    (tmp_path / "escape.txt").write_text("outside: never ours")
    (target / "sub" / "user.txt").write_text("u")
    with atomic_folder(target) as tmp:
        (tmp / "c.txt").write_text("c")
        (tmp / "manifest.json").write_text(json.dumps({"files": ["c.txt"]}))
    assert sorted(tree(target)) == ["c.txt", "manifest.json", "sub/user.txt"]
    assert (tmp_path / "escape.txt").exists()


@pytest.mark.parametrize("command, name, kind", [
    ("analyze", "analysis", "folder"), ("report", "figures", "folder"),
    ("report", "report.html", "file"), ("report", "report.md", "file"),
])
def test_analyze_and_report_refuse_something_in_the_way(capsys, tmp_path, command, name, kind):
    exp = experiment(tmp_path, replications=1)
    assert cli(capsys, "sweep", exp, "--out", "sw", "--workers", "1", "--quiet")[0] == 0
    path = tmp_path / "sw" / name
    if kind == "folder":
        path.write_text("mine")
    else:
        path.mkdir()
        (path / "mine.txt").write_text("mine")
    before = tree(tmp_path / "sw")
    rc, _, err = cli(capsys, command, "sw")
    refused(rc, err, str(Path("sw") / name), f"writes a {kind} here")
    assert tree(tmp_path / "sw") == before


def test_analyze_and_report_keep_the_users_files(capsys, tmp_path):
    exp = experiment(tmp_path, replications=1)
    assert cli(capsys, "sweep", exp, "--out", "sw", "--workers", "1", "--quiet")[0] == 0
    (tmp_path / "sw" / "analysis").mkdir()
    (tmp_path / "sw" / "analysis" / "my-model.R").write_text("lm(y ~ x)")
    assert cli(capsys, "analyze", "sw")[0] == 0
    assert cli(capsys, "report", "sw")[0] == 0
    assert (tmp_path / "sw" / "analysis" / "my-model.R").read_text() == "lm(y ~ x)"
    assert (tmp_path / "sw" / "report.html").exists()


@pytest.mark.parametrize("name", ["../../etc", "/tmp/careos-escape", "a/b", "..", ".", "x\\y", "bell\x07name",
                                  "~root", "n" * 101])
def test_an_experiment_name_cannot_take_the_default_folder_out_of_results(capsys, tmp_path, monkeypatch, name):
    exp = experiment(tmp_path, name=json.dumps(name))
    must_not_simulate(monkeypatch)
    rc, _, err = cli(capsys, "sweep", exp, "--workers", "1", "--quiet")
    refused(rc, err, "exp.yaml:1: name:", "one plain folder name", "pass --out")
    assert "\x07" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["base.yaml", "exp.yaml"]
    assert not Path("/tmp/careos-escape").exists()


def test_an_ordinary_experiment_name_goes_under_results(capsys, tmp_path):
    exp = experiment(tmp_path, name="staffing-2026_v1.2", replications=1)
    rc, out, err = cli(capsys, "sweep", exp, "--workers", "1", "--quiet")
    assert rc == 0, err
    assert (tmp_path / "results" / "staffing-2026_v1.2" / "manifest.json").exists()


# =========================================================================== 5. resume checks


def _interrupted(tmp_path: Path, **kw) -> tuple[Path, Path]:
    exp = experiment(tmp_path, **kw)
    first = run_sweep(load_experiment(exp), tmp_path / "out", workers=1, stop_after=3)
    assert first.interrupted
    return exp, tmp_path / "out"


def _resume(capsys, exp: Path, out: Path, *extra) -> tuple[int, str]:
    before = tree(out)
    rc, _, err = cli(capsys, "sweep", exp, "--out", out, "--resume", "--workers", "1", "--quiet", *extra)
    if rc == 2:
        assert tree(out) == before, "a refused resume must leave the folder as it was"
    return rc, err


def test_resume_refuses_an_edited_base_scenario_and_names_the_change(capsys, tmp_path):
    original = f"extends: {SCENARIOS / 'telling.yaml'}\nunit: {{beds: 20}}\n"
    exp, out = _interrupted(tmp_path, base=original)
    base = tmp_path / "base.yaml"
    base.write_text(original + "staff: {nurses: {ratio: {night: 7}}}\n")
    rc, err = _resume(capsys, exp, out)
    refused(rc, err, str(out), "--resume", "run with other inputs",
            "scenario file base.yaml changed since the sweep started",  # as the manifest names it
            "every design point's scenario differs: staff.nurses.ratio.night 6.0 -> 7.0")
    base.write_text(original)  # undone: resumes
    assert _resume(capsys, exp, out)[0] == 0
    assert load_store(out).complete


def test_resume_refuses_an_edit_in_the_extends_chain(capsys, tmp_path):
    parent = tmp_path / "parent.yaml"
    parent.write_text(f"extends: {SCENARIOS / 'telling.yaml'}\nunit: {{beds: 20}}\n")
    exp, out = _interrupted(tmp_path, base="extends: parent.yaml\n")
    parent.write_text(f"extends: {SCENARIOS / 'telling.yaml'}\nunit: {{beds: 22}}\n")
    rc, err = _resume(capsys, exp, out)
    refused(rc, err, "scenario file parent.yaml changed", "every design point's scenario differs: unit.beds 20 -> 22")


def test_resume_from_another_working_folder_compares_the_same_files(capsys, tmp_path, monkeypatch):
    exp, out = _interrupted(tmp_path, base=f"extends: {SCENARIOS / 'telling.yaml'}\nunit: {{beds: 20}}\n")
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")  # base.yaml is now ../base.yaml: the same file
    rc, err = _resume(capsys, exp, out)
    assert rc == 0, err


def test_resume_refuses_an_edit_that_changes_some_points(capsys, tmp_path):
    exp, out = _interrupted(tmp_path)
    exp.write_text(exp.read_text().replace("levels: [4, 6]", "levels: [4, 5]"))
    rc, err = _resume(capsys, exp, out)
    refused(rc, err, f"the experiment file {exp} changed", "factors:",
            "2 design points' (2, 3) scenario differs: staff.nurses.ratio.day 6.0 -> 5.0")


@pytest.mark.parametrize("extra, word", [
    (["--set", "unit.beds=21"], "sets: [] -> [\"unit.beds=21\"]"),
    (["--replications", "3"], "replications: 2 -> 3"),
    (["--horizon-days", "4"], "horizon_days: 3.0 -> 4.0"),
])
def test_resume_refuses_other_settings_and_names_them(capsys, tmp_path, extra, word):
    exp, out = _interrupted(tmp_path)
    rc, err = _resume(capsys, exp, out, *extra)
    refused(rc, err, word)


def test_resume_refuses_an_edited_experiment_seed(capsys, tmp_path):
    exp, out = _interrupted(tmp_path)
    exp.write_text(exp.read_text().replace("seed: 99", "seed: 98"))
    rc, err = _resume(capsys, exp, out)
    refused(rc, err, "the experiment file", "seed: 99 -> 98", "run.seed 99 -> 98")


def test_resume_refuses_an_experiment_file_edited_in_a_comment_only_and_says_so(capsys, tmp_path):
    exp, out = _interrupted(tmp_path)
    exp.write_text(exp.read_text() + "# a note\n")
    rc, err = _resume(capsys, exp, out)
    refused(rc, err, f"the experiment file {exp} changed", "no setting of it differs")


def test_resume_without_the_stored_scenarios_still_refuses(capsys, tmp_path):
    exp, out = _interrupted(tmp_path)
    (out / "scenarios.json").unlink()
    (tmp_path / "base.yaml").write_text(f"extends: {SCENARIOS / 'telling.yaml'}\nunit: {{beds: 23}}\n")
    rc, err = _resume(capsys, exp, out)
    refused(rc, err, "scenarios.json is missing or damaged")


def test_resume_refuses_a_folder_that_is_not_a_sweep(capsys, tmp_path):
    exp = experiment(tmp_path)
    assert cli(capsys, "run", DEFAULT, *QUICK, "--out", "r")[0] == 0
    rc, err = _resume(capsys, exp, tmp_path / "r")
    refused(rc, err, "--resume", "nothing to resume: the folder holds a run's results, not a sweep")


# =========================================================================== 6. signals


def _children_of_group(pgid: int) -> list[int]:
    """Live (not zombie) processes in process group ``pgid``, by /proc (psutil when installed)."""
    try:
        import psutil
    except ImportError:
        psutil = None
    found = []
    if psutil is not None:
        for p in psutil.process_iter(["pid", "status"]):
            try:
                if os.getpgid(p.pid) == pgid and p.info["status"] != psutil.STATUS_ZOMBIE:
                    found.append(p.pid)
            except (ProcessLookupError, psutil.Error):
                continue
        return found
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":
                found.append(int(entry.name))
    return found


def _no_children_left(pgid: int) -> list[int]:
    deadline = time.time() + 10
    while (left := _children_of_group(pgid)) and time.time() < deadline:
        time.sleep(0.1)
    return left


def _start(*argv) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "careos_sim.cli", *map(str, argv)], start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(proc: subprocess.Popen, ready, what: str, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while not ready():
        if proc.poll() is not None:
            pytest.skip(f"the command ended before {what}")
        assert time.time() < deadline, f"no {what} in {timeout} s"
        time.sleep(0.02)


def _workers(pid: int) -> int:
    return len([p for p in _children_of_group(pid) if p != pid])


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ref")
    exp = experiment(tmp, replications=6, horizon=14)
    run_sweep(load_experiment(exp), tmp / "ref", workers=1)
    return exp, pd.read_parquet(tmp / "ref" / "runs.parquet"), pd.read_parquet(tmp / "ref" / "weekly.parquet")


@pytest.mark.parametrize("sig, to_group, code", [
    (signal.SIGTERM, False, 143),  # `kill PID`: the parent alone, which must stop its workers
    (signal.SIGHUP, True, 129),  # the terminal closed: the whole group
])
def test_a_signalled_sweep_stops_its_workers_keeps_its_runs_and_resumes(uninterrupted, tmp_path, sig, to_group,
                                                                        code):
    exp, runs, weekly = uninterrupted
    out = tmp_path / "out"
    proc = _start("sweep", exp, "--out", out, "--workers", "2", "--quiet")
    _wait_for(proc, lambda: len(list((out / "parts").glob("run-*.parquet"))) >= 3, "three saved runs")
    assert _workers(proc.pid) >= 2
    (os.killpg if to_group else os.kill)(proc.pid, sig)
    _, err = proc.communicate(timeout=120)
    if proc.returncode == 0:
        pytest.skip("the sweep finished before the signal arrived")
    assert proc.returncode == code, err
    assert f"stopped by {sig.name}" in err and "--resume" in err and "Traceback" not in err
    assert _no_children_left(proc.pid) == []
    assert temporaries(tmp_path) == []
    saved = load_store(out)
    assert 3 <= len(saved.runs) < 24 and not (out / "parts").exists()
    rc = main(["sweep", str(exp), "--out", str(out), "--resume", "--workers", "2", "--quiet"])
    assert rc == 0
    pd.testing.assert_frame_equal(pd.read_parquet(out / "runs.parquet"), runs)
    pd.testing.assert_frame_equal(pd.read_parquet(out / "weekly.parquet"), weekly)


def test_a_signalled_sweep_on_a_dask_cluster_stops_and_resumes(uninterrupted, tmp_path):
    distributed = pytest.importorskip("distributed")
    exp, runs, weekly = uninterrupted
    out = tmp_path / "out"
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as c:
        proc = _start("sweep", exp, "--out", out, "--scheduler", c.scheduler_address, "--quiet")
        _wait_for(proc, lambda: len(list((out / "parts").glob("run-*.parquet"))) >= 3, "three saved runs")
        os.kill(proc.pid, signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
    if proc.returncode == 0:
        pytest.skip("the sweep finished before the signal arrived")
    assert proc.returncode == 143, err
    assert "stopped by SIGTERM" in err and "--resume" in err and "Traceback" not in err
    assert _no_children_left(proc.pid) == [] and temporaries(tmp_path) == []
    assert main(["sweep", str(exp), "--out", str(out), "--resume", "--workers", "2", "--quiet"]) == 0
    pd.testing.assert_frame_equal(pd.read_parquet(out / "runs.parquet"), runs)
    pd.testing.assert_frame_equal(pd.read_parquet(out / "weekly.parquet"), weekly)


@pytest.mark.parametrize("command, sig, to_group, code", [
    ("run", signal.SIGHUP, True, 129),
    ("run", signal.SIGTERM, False, 143),
    ("compare", signal.SIGTERM, True, 143),
    ("compare", signal.SIGHUP, False, 129),
])
def test_a_signalled_run_or_compare_stops_its_workers_and_writes_nothing(tmp_path, command, sig, to_group, code):
    files = [SCENARIOS / "telling.yaml"] if command == "run" else [SCENARIOS / "telling.yaml", DEFAULT]
    proc = _start(command, *files, "--horizon-days", "400", "--replications", "2", "--workers", "2", "--quiet",
                  "--out", tmp_path / "new" / "out")
    _wait_for(proc, lambda: _workers(proc.pid) >= 2, "two workers")
    time.sleep(0.5)
    (os.killpg if to_group else os.kill)(proc.pid, sig)
    _, err = proc.communicate(timeout=120)
    if proc.returncode == 0:
        pytest.skip(f"{command} finished before the signal arrived")
    assert (proc.returncode, err) == (code, f"careos-sim: stopped by {sig.name}; nothing was written\n")
    assert _no_children_left(proc.pid) == []
    assert list(tmp_path.iterdir()) == []  # no folder, half-written or not, and no temporary one


def test_a_signal_during_a_report_leaves_whole_files(capsys, tmp_path, monkeypatch):
    """A real SIGTERM, sent by the test to its own process while the report writes its files."""
    assert cli(capsys, "compare", DEFAULT, SCENARIOS / "telling.yaml", *QUICK, "--out", "cmp")[0] == 0
    import careos_sim.report as report

    real, calls = report.write_atomic, []

    def write_then_signal(path, data):
        calls.append(Path(path).name)
        real(path, data)
        if len(calls) == 1:
            os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(report, "write_atomic", write_then_signal)
    rc, _, err = cli(capsys, "report", "cmp")
    assert (rc, err) == (143, "careos-sim: stopped by SIGTERM; any report file is the previous one or a whole "
                              "new one\n")
    assert len(calls) == 1 and not (tmp_path / "cmp" / "report.html").exists()
    assert temporaries(tmp_path) == []
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # the command's handlers are gone again


@pytest.mark.parametrize("existing", [False, True])
def test_a_signal_during_the_move_into_place_waits_for_it(tmp_path, monkeypatch, existing):
    """Inside deferred_signals (the moves of atomic_folder) a real stop signal is raised only at the
    end, and the exception says the folder was written."""
    target = tmp_path / "out"
    if existing:
        target.mkdir()
        (target / "manifest.json").write_text(json.dumps({"files": ["a.txt", "old.txt"]}))
        (target / "old.txt").write_text("stale")
    real = {"rename": os.rename, "replace": os.replace}

    def after_a_signal(name):
        def move(src, dst):
            os.kill(os.getpid(), signal.SIGHUP)
            time.sleep(0.05)  # the handler has run by now, and deferred the signal
            return real[name](src, dst)
        return move

    with handle_signals():
        with pytest.raises(Interrupted) as caught:
            with atomic_folder(target) as tmp:
                (tmp / "a.txt").write_text("a")
                (tmp / "manifest.json").write_text(json.dumps({"files": ["a.txt"]}))
                monkeypatch.setattr(os, "rename", after_a_signal("rename"))
                monkeypatch.setattr(os, "replace", after_a_signal("replace"))
        monkeypatch.undo()
    assert caught.value.exit_code == 129 and caught.value.written == target
    assert sorted(tree(target)) == ["a.txt", "manifest.json"]  # whole, the stale file of ours gone
    assert temporaries(tmp_path) == []
    with handle_signals():
        with deferred_signals():
            pass  # nothing pending: nothing raised


# =========================================================================== 8. --scheduler


def test_an_unreachable_scheduler_is_a_located_error_within_seconds(capsys, tmp_path):
    pytest.importorskip("distributed")
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    exp = experiment(tmp_path)
    started = time.monotonic()
    rc, _, err = cli(capsys, "sweep", exp, "--out", "out", "--scheduler", address, "--quiet")
    refused(rc, err, "--scheduler", address, "cannot reach the Dask scheduler within 5 s")
    assert time.monotonic() - started < 30
    assert not (tmp_path / "out").exists()


def test_a_malformed_scheduler_address_is_a_located_error(capsys, tmp_path):
    pytest.importorskip("distributed")
    rc, _, err = cli(capsys, "sweep", experiment(tmp_path), "--out", "out", "--scheduler", "nonsense://x:1", "--quiet")
    refused(rc, err, "--scheduler", "nonsense://x:1")
    assert not (tmp_path / "out").exists()


# =========================================================================== terminal escaping


def test_names_and_file_names_are_printed_with_escapes_shown_not_run(capsys, tmp_path):
    hostile = tmp_path / f"evil{ESC}.yaml"
    hostile.write_text(f"extends: {DEFAULT}\nname: \"{ESC.encode('unicode_escape').decode()}\"\n")
    shown = "\\x1b]0;pwned\\x07\\x1b[2J"
    outputs = []
    rc, out, err = cli(capsys, "run", hostile, *QUICK)
    assert rc == 0, err
    assert f"evil{shown}.yaml: 2 replications" in out
    outputs.append(out + err)
    rc, out, err = cli(capsys, "compare", hostile, DEFAULT, *QUICK, "--out", f"o{ESC}")
    assert rc == 0, err
    assert f"({shown})" in out and f"results written to o{shown}/" in out
    outputs.append(out + err)
    rc, out, err = cli(capsys, "validate", hostile)
    assert out == str(hostile).replace(ESC, shown) + ": ok\n"
    outputs.append(out + err)
    rc, out, err = cli(capsys, "run", hostile, *QUICK, "--set", f"unit.beds={ESC}")  # an error's echo
    assert rc == 2 and "\\x1b" in err
    outputs.append(out + err)
    (tmp_path / "e").mkdir()
    exp = experiment(tmp_path / "e", name=json.dumps(f"ok{ESC}"), replications=1)
    rc, out, err = cli(capsys, "sweep", exp, "--out", f"sw{ESC}", "--workers", "1", "--quiet")
    assert rc == 0, err
    assert out.startswith(f"ok{shown}: 4 design points") and f"sw{shown}/" in out
    outputs.append(out + err)
    for text in outputs:
        assert "\x1b" not in text and "\x07" not in text
