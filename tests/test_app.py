"""The app: its logic as plain functions, and its page through Streamlit's own testing API.

Simulations here are tiny (7-21 days, 2 replications); the browser test is in
test_app_browser.py. Prepared demonstrations are kept in a temporary folder of each test
(``$CAREOS_APP_DEMO_CACHE``), never in the user's cache.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import careos_sim
from careos_sim.app import logic
from careos_sim.spec.keys import scenario_keys
from careos_sim.spec.loader import InputError, load_scenario
from careos_sim.measure.metrics import BY_NAME

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "careos_sim" / "app" / "streamlit_app.py"
DOCS = {k["path"]: k for k in scenario_keys()}
BAD_SCENARIO = b"""name: my unit
unit:
  beds: 30
  bedz: 3
staff:
  nurses:
    ratio:
      day: 0
"""


@pytest.fixture(autouse=True)
def _no_limit_env(monkeypatch, tmp_path):
    for var in ("CAREOS_APP_MAX_HORIZON_DAYS", "CAREOS_APP_MAX_REPLICATIONS", "CAREOS_APP_MAX_REPLICATION_DAYS",
                "CAREOS_APP_MAX_NURSES", "CAREOS_APP_MAX_BEDS", "CAREOS_APP_MAX_UPLOAD_BYTES", "CAREOS_SCENARIOS_DIR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("CAREOS_APP_DEMO_CACHE", str(tmp_path / "demo-cache"))
    monkeypatch.setenv("CAREOS_APP_PREPARE_DEMOS", "0")  # only the demonstration a test opens
    yield
    assert logic.preparer().idle(timeout=300), "a demonstration was still being prepared"


def tiny(path: str | Path, **values):
    return load_scenario(path, {"run.horizon_days": 14, "run.replications": 2, "run.warmup_days": 0, **values})


# --------------------------------------------------------------------------- settings and their docs


def test_every_side_setting_is_a_documented_scenario_key_with_its_unit_and_explanation():
    paths = [s.path for s in logic.SIDE_SETTINGS]
    elements = [p for p in DOCS if p.startswith("leadership.elements.")]
    assert len(elements) == 6 and set(elements) <= set(paths)
    for required in ("leadership.listening", "staff.nurses.ratio.day", "staff.nurses.ratio.night",
                     "leadership.quality_team.fte", "unit.beds", "patients.lep_share"):
        assert required in paths
    for s in (*logic.SIDE_SETTINGS, *logic.RUN_SETTINGS):
        doc = DOCS[s.path]
        assert doc["description"] and doc["description"] in s.help
        assert s.unit == doc["unit"]
        if doc["unit"] and doc["unit"] != "dial" and doc["unit"].lower() != s.title.lower():
            assert f"({doc['unit']})" in s.label
    assert logic.RUN_SETTINGS[0].label == "Horizon (days)"
    assert "(dial, 0 to 1)" in logic.SIDE_SETTINGS[0].label
    by_path = {s.path: s for s in logic.SIDE_SETTINGS}
    beds, lep = by_path["unit.beds"], by_path["patients.lep_share"]
    assert beds.integer and beds.label == "Beds" and beds.high == logic.Limits().max_beds
    assert beds.within(logic.Limits(max_beds=60)).high == 60  # the widget stops at this app's limit
    assert lep.label == "Admissions with limited English proficiency (fraction)" and (lep.low, lep.high) == (0, 1)
    assert "limited English proficiency" in lep.help and "`patients.lep_share`" in lep.help
    s = logic.build_scenario(logic.find_presets().path("telling"), {"unit.beds": 40.0, "patients.lep_share": 0.25})
    assert s.unit.beds == 40 and isinstance(s.unit.beds, int) and s.patients.lep_share == 0.25


def test_presets_are_found_in_the_repository_and_read_back_their_dials():
    presets = logic.find_presets()
    assert presets.fallback is None
    assert presets.path("telling").samefile(ROOT / "scenarios" / "telling.yaml")
    telling = logic.setting_values(load_scenario(presets.path("telling")))
    listening = logic.setting_values(load_scenario(presets.path("listening")))
    assert telling["leadership.pressure_to_work_harder"] == 1.0 and listening["leadership.pressure_to_work_harder"] == 0
    assert all(listening[p] == 1.0 for p in listening if p.startswith("leadership.elements."))
    assert telling["staff.nurses.ratio.day"] == listening["staff.nurses.ratio.day"] == 5.0


def test_without_the_preset_files_the_app_falls_back_to_built_in_presets(monkeypatch, tmp_path):
    monkeypatch.setattr(logic, "_candidate_folders", lambda: [tmp_path / "nowhere"])
    logic.find_presets.cache_clear()
    try:
        presets = logic.find_presets()
        assert presets.fallback and "nowhere" in presets.fallback
        telling = load_scenario(presets.path("telling"))
        listening = load_scenario(presets.path("listening"))
        assert telling.leadership.pressure_to_work_harder == 1.0 and telling.leadership.listening == 0
        assert listening.leadership.listening == 1.0 and listening.leadership.elements.transparency == 1.0
    finally:
        logic.find_presets.cache_clear()


def test_build_scenario_applies_dials_and_validates_them_like_set():
    path = logic.find_presets().path("telling")
    s = logic.build_scenario(path, {"leadership.elements.transparency": 0.35000000000000003,
                                    "staff.nurses.ratio.day": 4.0, "run.horizon_days": 21}, "mine")
    assert s.name == "mine" and s.leadership.elements.transparency == 0.35
    assert s.staff.nurses.ratio.day == 4 and s.run.horizon_days == 21
    with pytest.raises(InputError) as err:
        logic.build_scenario(path, {"staff.nurses.ratio.day": 0.0})
    assert "staff.nurses.ratio.day: must be > 0 (got 0)" in str(err.value)


def test_a_side_is_marked_adjusted_once_a_dial_moves():
    original = {"leadership.listening": 0.0, "staff.nurses.ratio.day": 5.0}
    assert logic.side_label("telling", dict(original), original) == "telling"
    # no parentheses: the report writes a side as "A (name)", and "A (telling (adjusted))" reads badly
    assert logic.side_label("telling", {**original, "leadership.listening": 0.5}, original) == "telling, adjusted"
    assert logic.distinct_labels("x", "x") == ("x, side A", "x, side B")
    assert logic.distinct_labels("x", "y") == ("x", "y")


# --------------------------------------------------------------------------- limits


def test_limits_bite_and_say_why():
    limits = logic.Limits()
    assert logic.check_limits(365, 5, limits) == []
    assert logic.check_limits(730, 10, limits) == []  # the main comparison fits
    (hit,) = logic.check_limits(1000, 2, limits)
    assert hit.setting == "run.horizon_days"
    assert "1000 days" in hit.message and "730" in hit.message and "CAREOS_APP_MAX_HORIZON_DAYS" in hit.message
    assert "tie up the machine" in hit.message and "careos-sim compare" in hit.message
    (hit,) = logic.check_limits(30, 25, limits)
    assert "25 replications" in hit.message and "CAREOS_APP_MAX_REPLICATIONS" in hit.message
    (hit,) = logic.check_limits(730, 20, limits)
    assert "14,600" in hit.message and "CAREOS_APP_MAX_REPLICATION_DAYS" in hit.message
    assert "10 replications fit in 730 days" in hit.message


def test_limits_come_from_the_environment_and_bad_values_are_reported():
    limits, problems = logic.Limits.from_env({"CAREOS_APP_MAX_HORIZON_DAYS": "90", "CAREOS_APP_MAX_REPLICATIONS": "3"})
    assert (limits.max_horizon_days, limits.max_replications, problems) == (90, 3, [])
    assert logic.check_limits(91, 1, limits) and not logic.check_limits(90, 3, limits)
    limits, problems = logic.Limits.from_env({"CAREOS_APP_MAX_REPLICATIONS": "lots"})
    assert limits.max_replications == 20
    assert problems == ["CAREOS_APP_MAX_REPLICATIONS='lots' is not a positive number; using 20."]


def test_small_runs_stay_in_process():
    assert logic.workers_for(14, 2, {}) == 1
    assert logic.workers_for(730, 10, {"CAREOS_APP_WORKERS": "1"}) == 1
    assert logic.workers_for(730, 10, {"CAREOS_APP_WORKERS": "2"}) == 2
    assert logic.estimate_seconds(100, 2) > 0


# --------------------------------------------------------------------------- uploads


def test_a_bad_upload_gives_the_loaders_lines_naming_the_file_not_the_temporary_folder(tmp_path):
    path, scenario, errors = logic.load_upload("my-unit.yaml", BAD_SCENARIO, tmp_path, logic.find_presets())
    assert scenario is None and path == tmp_path / "my-unit.yaml"
    assert errors == [
        "my-unit.yaml:4: unit.bedz: unknown key; did you mean 'beds'? (got 3)",
        "my-unit.yaml:8: staff.nurses.ratio.day: must be > 0 (got 0)",
    ]
    _, _, errors = logic.load_upload("broken.yml", b"unit: [beds\n", tmp_path)
    assert len(errors) == 1 and errors[0].startswith("broken.yml:") and "malformed YAML" in errors[0]
    _, _, errors = logic.load_upload("big.yaml", b"#" * (logic.MAX_UPLOAD_BYTES + 1), tmp_path)
    assert "larger than this app's limit of 256 KiB" in errors[0]


def test_an_upload_may_extend_a_preset_and_a_strange_name_is_made_safe(tmp_path):
    data = b"extends: listening.yaml\nname: our unit\nstaff:\n  nurses:\n    ratio:\n      day: 4\n"
    path, scenario, errors = logic.load_upload("../../our unit!.yaml", data, tmp_path, logic.find_presets())
    assert errors == [] and path.parent == tmp_path and path.name == "our_unit_.yaml"
    assert scenario.name == "our unit" and scenario.staff.nurses.ratio.day == 4
    assert scenario.leadership.listening == 1.0


# --------------------------------------------------------------------------- demonstrations


def _differences(a, b, prefix=""):
    """The dotted keys at which two scenario dumps differ."""
    if isinstance(a, dict) and isinstance(b, dict):
        return {d for k in a.keys() | b.keys() for d in _differences(a.get(k), b.get(k), f"{prefix}{k}.")}
    return set() if a == b else {prefix.rstrip(".")}


def test_three_demonstrations_are_prepared_within_the_limits():
    assert [d.key for d in logic.DEMOS] == ["telling-vs-listening", "capability-trap", "worse-before-better",
                                            "interpreter-equity"]
    groups = logic.demo_groups()
    assert list(groups) == ["telling-vs-listening", "capability-trap", "interpreter-equity"]
    assert [d.key for d in groups["capability-trap"]] == ["capability-trap", "worse-before-better"]
    assert all(d.case for d in groups["capability-trap"]) and len({d.title for d in groups["capability-trap"]}) == 1
    for demo in logic.DEMOS:
        a, b, labels = logic.demo_scenarios(demo)
        assert labels[0] != labels[1] and (a.name, b.name) == labels
        assert "(" not in "".join(labels)  # the report writes "A (name)"
        assert a.run.horizon_days == b.run.horizon_days == demo.horizon_days
        assert logic.check_run((a, b), logic.Limits()) == []
        assert all(m in BY_NAME for m in (*demo.focus, *demo.weekly, *filter(None, [demo.trajectory])))
        assert len(demo.explanation) > 400 and demo.look_for
    by_key = {d.key: logic.demo_scenarios(d) for d in logic.DEMOS}
    a, b, _ = by_key["capability-trap"]  # pressure alone: nothing else differs
    assert a.leadership.pressure_to_work_harder == 1 and b.leadership.pressure_to_work_harder == 0
    assert _differences(a.model_dump(mode="json"), b.model_dump(mode="json")) == {
        "name", "leadership.pressure_to_work_harder"}
    assert logic.DEMOS[1].weekly[:2] == ("flow.pressure_mean", "effectiveness.missed_care_pct")
    a, b, _ = by_key["worse-before-better"]  # the two presets: a whole system against another
    assert a.leadership.pressure_to_work_harder == 1 and b.leadership.pressure_to_work_harder == 0
    assert a.leadership.listening == 0 and b.leadership.listening == 1
    assert {"effectiveness.missed_care_pct", "flow.pressure_mean"} <= set(logic.DEMOS[2].weekly)
    a, b, _ = by_key["interpreter-equity"]
    assert a.defects.categories.interpreter_access.rate_factor > 0
    assert b.defects.categories.interpreter_access.rate_factor == 0
    assert a.leadership == b.leadership  # only interpreter access differs


def test_weekly_bands_are_kept_to_what_each_outcome_can_be():
    from careos_sim.measure.metrics import value_range
    from careos_sim.results.figures import weekly_band

    weekly = pd.DataFrame({"week": [0, 0, 0, 1, 1, 1], "safety.harm_per_1000_patient_days": [0, 0, 30, 0, 1, 0],
                           "workforce.burnout_pct": [99, 100, 100, 0, 2, 0],
                           "equity.missed_care_gap_pct": [-5, 3, -9, 1, -1, 0]})
    harm = weekly_band(weekly, "safety.harm_per_1000_patient_days")
    assert (harm["ci_low"] == 0).all() and harm["mean"].tolist() == [10, pytest.approx(1 / 3)]  # not below zero
    burnout = weekly_band(weekly, "workforce.burnout_pct")
    assert burnout["ci_high"].max() == 100 and burnout["ci_low"].min() == 0
    assert weekly_band(weekly, "equity.missed_care_gap_pct")["ci_low"].min() < -10  # a gap may be negative
    assert value_range("flow.pressure_mean") == (0, 1) and value_range("learning.report_pct") == (0, 100)
    assert value_range("equity.harm_gap_per_1000_patient_days")[0] == float("-inf")


def test_a_weekly_course_is_told_in_a_sentence():
    weeks = range(10)
    a = [10.0] * 10
    b = [11, 12, 9, 11, 10.5, 9, 8, 8, 7, 7]  # worse in 4 of the first 5 weeks, better from week 6 (1-based)
    weekly = pd.DataFrame({"side": ["a"] * 10 + ["b"] * 10, "week": [*weeks, *weeks],
                           "effectiveness.missed_care_pct": a + b})
    sentence = logic.trajectory(weekly, "effectiveness.missed_care_pct", ("working harder", "listening"))
    assert sentence == ("**Week by week**, missed care (tasks not started in their window) under listening was "
                        "worse than under working harder in 4 of the first 5 weeks, and better in every one of the "
                        "5 weeks from week 6 to the end.")
    assert logic.trajectory(weekly.assign(**{"effectiveness.missed_care_pct": 10.0}),
                            "effectiveness.missed_care_pct", ("a", "b")) is None


# --------------------------------------------------------------------------- prepared demonstrations


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """One tiny demonstration (pressure alone, 7 days, 2 replications), prepared into a cache folder."""
    demo = _quick_demos()[1]
    root = tmp_path_factory.mktemp("demo-cache")
    return demo, root, logic.prepare_demo(demo, root=root)


def test_the_demonstrations_are_kept_in_the_users_cache_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("CAREOS_APP_DEMO_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(Path, "home", lambda: tmp_path / "home")
    assert logic.demo_cache_root() == tmp_path / "cache" / "careos-sim" / "demos"
    assert logic.demo_cache_root({"XDG_CACHE_HOME": str(tmp_path / "x")}) == tmp_path / "x" / "careos-sim" / "demos"
    assert logic.demo_cache_root({}) == tmp_path / "home" / ".cache" / "careos-sim" / "demos"
    assert logic.demo_cache_root({"CAREOS_APP_DEMO_CACHE": str(tmp_path / "d")}) == tmp_path / "d"
    assert logic.demo_cache_root({"CAREOS_APP_DEMO_CACHE": str(ROOT / "results" / "demos")}) is None  # never the repo
    assert logic.prepare_all({}) and not logic.prepare_all({"CAREOS_APP_PREPARE_DEMOS": "0"})


def test_a_prepared_demonstration_is_kept_on_disk_under_the_version_and_its_settings(prepared, monkeypatch):
    demo, root, entry = prepared
    a, b, labels = logic.demo_scenarios(demo)
    key = logic.demo_key(demo, a, b, labels)
    assert entry.folder == root / key and key.startswith(f"{careos_sim.__version__}-")
    assert entry.replications == 2 and entry.horizon_days == 7 and entry.labels == ("working harder", "no pressure")
    # another horizon, another scenario or another version: another folder
    longer = dataclasses.replace(demo, horizon_days=8)
    assert logic.demo_key(longer, *logic.demo_scenarios(longer)) != key
    monkeypatch.setattr(careos_sim, "__version__", "9.9.9")
    assert logic.demo_key(demo, a, b, labels).startswith("9.9.9-")
    monkeypatch.undo()
    # opened again (a new server: nothing in memory), it is read, not run, and shows what the page needs
    started = time.perf_counter()
    again = logic.prepare_demo(demo, root=root, progress=lambda d, n: pytest.fail("ran again"))
    assert time.perf_counter() - started < 30  # read, not run (the progress callback fails the test if it runs)
    art = logic.artefacts(again)
    assert set(art.figures) == {"scorecard", "time_series", "equity"}
    assert all(png.startswith(b"\x89PNG") for png in art.figures.values())
    assert again.extras["demo_figure"].startswith(b"\x89PNG")
    assert "Bottom line" in art.brief and list(art.scorecard.columns)[:3] == ["dimension", "outcome", "unit"]
    assert art.downloads["Report (HTML)"][0].lstrip().lower().startswith(b"<!doctype html")
    pd.testing.assert_frame_equal(logic.paired_of(again), logic.paired_of(entry))
    manifest = json.loads((entry.folder / "manifest.json").read_text())
    assert manifest["scenarios"] == {"a": "telling.yaml", "b": "telling.yaml"}  # the files, not the labels again
    html = (entry.folder / "report.html").read_text()
    assert "A (working harder)" in html and "(working harder) (" not in html.replace("(<code>", "")
    # the headline numbers: B's value, the change from A, coloured only where the interval excludes zero
    (pressure, missed) = logic.headline(logic.paired_of(again), demo.focus[:2], again.labels)
    assert pressure.label == "Pressure (0 to 1)" and pressure.delta_color == "off"  # a diagnostic: no better side
    assert missed.value.endswith("%") and " pp vs A's " in missed.delta and missed.help.startswith("**Missed care")


def test_a_damaged_prepared_folder_is_prepared_again_and_nothing_else_is_touched(prepared, tmp_path):
    import shutil

    demo, root, entry = prepared
    folder = tmp_path / entry.folder.name
    shutil.copytree(entry.folder, folder)
    assert logic.load_prepared(folder, entry.key) is not None
    (folder / "notes.txt").write_text("mine")  # not the app's
    with open(folder / "weekly.parquet", "r+b") as f:  # damaged: its hash no longer matches
        f.truncate(100)
    assert logic.load_prepared(folder, entry.key) is None
    runs = []
    again = logic.prepare_demo(demo, root=tmp_path, progress=lambda d, n: runs.append(d))
    assert runs and again.folder == folder and logic.load_prepared(folder, entry.key) is not None
    assert (folder / "notes.txt").read_text() == "mine"
    pd.testing.assert_frame_equal(logic.paired_of(again), logic.paired_of(entry))
    # its own manifest damaged: what the index lists is removed, and the folder is prepared again
    other = tmp_path / "other"
    shutil.copytree(entry.folder, other / entry.folder.name)
    (other / entry.folder.name / "manifest.json").write_text("{")
    assert logic.prepare_demo(demo, root=other).folder == other / entry.folder.name
    assert logic.load_prepared(other / entry.folder.name, entry.key) is not None
    # a folder of someone else's under the same name is left as it is; the result is kept elsewhere
    (folder / "manifest.json").write_text("not ours")
    (folder / "app" / "index.json").unlink()
    fallback = logic.ResultCache(root=tmp_path / "session")
    elsewhere = logic.prepare_demo(demo, root=tmp_path, fallback=fallback)
    assert elsewhere.folder.parent == tmp_path / "session" and (folder / "manifest.json").read_text() == "not ours"
    assert (folder / "notes.txt").is_file() and elsewhere.extras["demo_figure"].startswith(b"\x89PNG")


# --------------------------------------------------------------------------- running and caching


def test_a_comparison_runs_once_reports_progress_and_is_then_reused(tmp_path):
    presets = logic.find_presets()
    a, b = tiny(presets.path("telling"), name="telling"), tiny(presets.path("listening"), name="listening")
    cache = logic.ResultCache(max_entries=1, root=tmp_path)
    calls = []
    entry = logic.run_comparison(a, b, ("telling", "listening"), cache, progress=lambda d, n: calls.append((d, n)),
                                 sources=(presets.path("telling"), presets.path("listening")))
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert (entry.folder / "manifest.json").is_file() and entry.replications == 2 and entry.horizon_days == 14
    again = logic.run_comparison(a, b, ("telling", "listening"), cache, progress=lambda d, n: calls.append((d, n)))
    assert again is entry and len(calls) == 4  # not re-run

    paired = logic.paired_of(entry)
    table = logic.findings_table(paired, ["safety.harm_per_1000_patient_days", "flow.pressure_mean"],
                                 entry.labels)
    assert list(table.columns[:4]) == ["outcome", "unit", "telling", "listening"]
    assert table.loc[1, "better"] == "no better side (a diagnostic)"
    sentences = logic.key_findings(paired, ["safety.harm_per_1000_patient_days"], entry.labels)
    assert sentences[0].startswith("**Harm events, all sources**: telling ")

    art = logic.artefacts(entry)  # the report's figures, scorecard and brief
    from careos_sim import report

    assert set(art.figures) == set(report.comparison_figures(entry.folder)) == {"scorecard", "time_series", "equity"}
    assert all(png.startswith(b"\x89PNG") for png in art.figures.values())
    assert list(art.scorecard["metric"]) == list(report.scorecard_table(entry.folder)["metric"])
    assert "B - A" in art.scorecard.columns and len(art.scorecard) > 20
    assert not art.brief.startswith("## Brief") and "#### What changes, and by how much" in art.brief
    html, name, mime = art.downloads["Report (HTML)"]
    assert (name, mime) == ("report.html", "text/html") and html == (entry.folder / "report.html").read_bytes()
    assert html.lstrip().lower().startswith(b"<!doctype html")
    csv = art.downloads["Replications (CSV)"][0].decode()
    assert csv.splitlines()[0].startswith("side,") and len(csv.splitlines()) == 5

    other = tiny(presets.path("telling"), name="other", **{"run.seed": 7})
    third = logic.run_comparison(other, b, ("other", "listening"), cache)
    assert not entry.folder.exists() and cache.get(entry.key) is None and len(cache) == 1  # evicted
    assert cache.get(third.key) is third


def test_a_pool_of_spawned_workers_gives_the_same_numbers(tmp_path):
    """Large runs use a spawn pool (forking a threaded server is unsafe); the numbers must not change."""
    presets = logic.find_presets()
    a, b = tiny(presets.path("telling"), name="telling"), tiny(presets.path("listening"), name="listening")
    one = logic.run_comparison(a, b, ("telling", "listening"), logic.ResultCache(root=tmp_path / "one"), workers=1)
    two = logic.run_comparison(a, b, ("telling", "listening"), logic.ResultCache(root=tmp_path / "two"), workers=2)
    pd.testing.assert_frame_equal(logic.paired_of(one), logic.paired_of(two))


# --------------------------------------------------------------------------- the command


def test_careos_sim_app_without_streamlit_asks_for_the_extra(monkeypatch, capsys):
    import importlib.util

    from careos_sim.cli.main import main

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "streamlit" else real(name, *a))
    assert main(["app"]) == 2
    err = capsys.readouterr().err
    assert "pip install 'careos-sim[app]'" in err and "Traceback" not in err


def test_careos_sim_app_prints_its_address_and_starts_streamlit_headless(monkeypatch, capsys):
    import subprocess

    from careos_sim.app import APP_SCRIPT
    from careos_sim.cli.main import main

    started = []

    class FakeStreamlit:
        def __init__(self, command):
            started.append(command)

        def wait(self):
            return 0

    monkeypatch.setattr(subprocess, "Popen", FakeStreamlit)
    assert main(["app", "--port", "8765"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "careos-sim app: http://localhost:8765"
    (command,) = started
    assert command[1:4] == ["-m", "streamlit", "run"] and command[4] == str(APP_SCRIPT) and APP_SCRIPT.is_file()
    flags = dict(zip(command[5::2], command[6::2]))
    assert flags == {"--server.port": "8765", "--server.address": "localhost", "--server.headless": "true",
                     "--browser.gatherUsageStats": "false", "--client.toolbarMode": "minimal",
                     "--client.showErrorDetails": "none", "--server.maxUploadSize": "1"}
    assert main(["app", "--port", "0"]) == 2


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(c) for c in path.read_text().split()] if path.exists() else []


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "\nState:\tZ" in status.read_text())  # a zombie has exited


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc to find the Streamlit process")
@pytest.mark.parametrize("signum, status", [(signal.SIGINT, 130), (signal.SIGTERM, 0)])
def test_stopping_careos_sim_app_stops_streamlit(tmp_path, signum, status):
    pytest.importorskip("streamlit")
    import socket

    with socket.socket() as s:
        s.bind(("localhost", 0))
        port = s.getsockname()[1]
    log = tmp_path / "app.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-c", "import sys; from careos_sim.cli.main import main; sys.exit(main())",
                                 "app", "--port", str(port)], stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
                                # as in a terminal, even where this test runs with SIGINT ignored (a background job)
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 60
        while not _children(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        (child,) = _children(proc.pid)
        while "URL:" not in log.read_text(errors="replace") and time.monotonic() < deadline:
            time.sleep(0.2)
        proc.send_signal(signum)  # to careos-sim only, not to its process group
        assert proc.wait(timeout=30) == status
        deadline = time.monotonic() + 10
        while _alive(child) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _alive(child), "Streamlit outlived careos-sim app"
        assert log.read_text().splitlines()[0] == f"careos-sim app: http://localhost:{port}"
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # the group started here, whatever is left of it
        except ProcessLookupError:
            pass
        proc.wait()


# --------------------------------------------------------------------------- the page (Streamlit's AppTest)


@pytest.fixture
def app():
    pytest.importorskip("streamlit")
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(SCRIPT), default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _unescape(text: str) -> str:
    """Markdown's backslash escapes undone: the text a table cell shows."""
    return re.sub(r"\\(.)", r"\1", text)


def _body(at) -> str:
    return "\n".join(str(e.value) for kind in ("markdown", "caption", "warning", "error", "info")
                     for e in getattr(at, kind))


def test_the_page_renders_with_every_dial_and_its_help_from_the_docs(app):
    assert "Telling or listening" in app.title[0].value
    for side, preset in (("a", "telling"), ("b", "listening")):
        values = logic.setting_values(load_scenario(logic.find_presets().path(preset)))
        for setting in logic.SIDE_SETTINGS:
            kind = app.slider if setting.unit == "dial" else app.number_input
            widget = kind(key=f"{side}.{preset}.{setting.path}")
            assert widget.label == setting.label
            assert DOCS[setting.path]["description"] in widget.help
            assert widget.value == pytest.approx(values[setting.path])
    horizon = app.number_input(key="run.horizon_days")
    assert horizon.label == "Horizon (days)" and DOCS["run.horizon_days"]["description"] in horizon.help
    assert not app.button(key="run.compare").disabled
    assert not app.warning


def test_a_limit_that_bites_is_explained_and_blocks_the_run(app, monkeypatch):
    app.number_input(key="run.horizon_days").set_value(1000).run()
    assert not app.exception
    (warning,) = app.warning
    assert "above this app's limit of 730 days" in warning.value and "CAREOS_APP_MAX_HORIZON_DAYS" in warning.value
    assert app.button(key="run.compare").disabled
    app.number_input(key="run.horizon_days").set_value(365).run()
    assert not app.warning and not app.button(key="run.compare").disabled

    monkeypatch.setenv("CAREOS_APP_MAX_REPLICATIONS", "3")
    app.number_input(key="run.replications").set_value(4).run()
    assert "above this app's limit of 3" in app.warning[0].value
    assert app.button(key="run.compare").disabled


def test_a_bad_uploaded_scenario_shows_the_error_lines(app):
    app.selectbox(key="a.source").set_value("upload").run()
    assert "Upload a scenario file" in app.info[0].value
    app.file_uploader(key="a.upload").set_value(("my-unit.yaml", BAD_SCENARIO, "application/x-yaml")).run()
    assert not app.exception
    (error,) = app.error
    assert r"**my\-unit\.yaml** is not a valid scenario" in error.value  # the name Markdown-escaped
    (lines,) = app.code  # the loader's lines as plain text
    assert "my-unit.yaml:4: unit.bedz: unknown key; did you mean 'beds'? (got 3)" in lines.value
    assert "my-unit.yaml:8: staff.nurses.ratio.day: must be > 0 (got 0)" in lines.value
    assert app.button(key="run.compare").disabled

    good = b"extends: telling.yaml\nname: ward 7\nleadership:\n  quality_team:\n    fte: 2\n"
    app.file_uploader(key="a.upload").set_value(("ward7.yaml", good, "application/x-yaml")).run()
    assert not app.error and not app.exception
    fte = [w for w in app.number_input if w.key and w.key.endswith("leadership.quality_team.fte")]
    assert fte[0].value == 2.0 and fte[0].key.startswith("a.")
    assert not app.button(key="run.compare").disabled


def test_a_tiny_run_shows_progress_and_the_scorecard_side_by_side(app):
    app.number_input(key="run.horizon_days").set_value(14)
    app.number_input(key="run.replications").set_value(2)
    app.slider(key="a.telling.leadership.elements.transparency").set_value(0.5)
    app.run()
    assert "2 paired replications of 14 days" in _body(app)  # not 4: both sides run each replication
    app.button(key="run.compare").click().run(timeout=120)
    assert not app.exception, [e.value for e in app.exception]
    # the headline first: four big numbers and their sentences, then the brief, folded
    assert [m.label for m in app.metric] == ["Harm per 1,000 pt-days", "Missed care", "Nurses burned out",
                                             "Cost per pt-day, USD"]
    assert all("vs A's" in m.delta for m in app.metric)
    assert [e.label for e in app.expander] == ["In plain language: the brief", "A day on the unit"]
    assert not app.expander[0].proto.expanded and not app.expander[1].proto.expanded
    headings = [h.value for h in app.subheader]
    assert {"Scorecard", "Over time", "Equity: patients with limited English proficiency and the others",
            "Download"} <= set(headings)
    assert "What changes, and by how much" in _body(app)  # the report's brief, inside the expander
    assert app.get("progress")[0].value == 100
    card = app.table[0].value  # a table whose cells wrap, so none is cut off; its Markdown escaped
    assert card.index.name == "dimension"
    assert {"A: telling, adjusted [95% CI]", "B: listening [95% CI]", "B - A", "better"} <= {
        _unescape(c) for c in card.columns}
    assert "Harm events, all sources" in {_unescape(c) for c in card["outcome"]}  # the report's plain names
    assert "paired replications of 14 days" in _body(app)
    assert "(adjusted)" not in _body(app)
    assert {b.label for b in app.get("download_button")} >= {"Report (HTML)", "Replications (CSV)",
                                                            "Replications (Parquet)"}
    # a re-render with the same settings shows the cached result and does not run again
    app.run()
    assert "Scorecard" in [h.value for h in app.subheader] and not app.get("progress")


def _quick_demos(days: int = 7) -> tuple:
    return tuple(dataclasses.replace(d, horizon_days=days, replications=2) for d in logic.DEMOS)


def _wait_for_results(at, timeout: float = 240.0) -> None:
    """Draw the page again until the demonstration's results are there (it is prepared in the background)."""
    deadline = time.monotonic() + timeout
    while "What happened" not in [h.value for h in at.subheader]:
        assert not at.exception, [e.value for e in at.exception]
        assert time.monotonic() < deadline, "the demonstration was not prepared in time"
        time.sleep(0.5)
        at.run()


def test_teaching_mode_walks_through_the_demonstrations_and_opens_a_prepared_one_at_once(app, monkeypatch):
    quick = _quick_demos()
    monkeypatch.setattr(logic, "DEMOS", quick)
    monkeypatch.setenv("CAREOS_APP_MAX_REPLICATIONS", "1")  # every demonstration blocked: none is prepared
    app.sidebar.radio(key="mode").set_value("Teaching mode").run()
    assert not app.exception
    groups = logic.demo_groups(quick)
    assert app.radio(key="demo").options == [cases[0].title for cases in groups.values()]
    for key, cases in groups.items():
        app.radio(key="demo").set_value(key).run()
        for demo in cases:
            if len(cases) > 1:
                assert app.radio(key=f"demo.case.{key}").options == [
                    f"Case {i}: {d.case}" for i, d in enumerate(cases, start=1)]
                app.radio(key=f"demo.case.{key}").set_value(demo.key).run()
            assert not app.exception
            assert demo.title in [h.value for h in app.subheader]
            assert demo.explanation.split("\n")[0] in _body(app)  # in the folded explanation
            assert "What to look for" in _body(app)
            assert "above this app's limit of 1" in app.warning[0].value
    assert [e.label for e in app.expander] == ["The demonstration explained, and its settings"]
    assert not app.expander[0].proto.expanded  # the long text folded
    assert logic.preparer().idle(0) and not list(Path(os.environ["CAREOS_APP_DEMO_CACHE"]).glob("*"))

    monkeypatch.delenv("CAREOS_APP_MAX_REPLICATIONS")
    app.radio(key="demo").set_value("capability-trap").run()
    app.radio(key="demo.case.capability-trap").set_value("capability-trap").run()
    assert app.get("progress"), "no progress while the demonstration is prepared"
    _wait_for_results(app)
    # headline numbers first: the first four outcomes of the demonstration, pressure first
    assert [m.label for m in app.metric][:2] == ["Pressure (0 to 1)", "Missed care"]
    assert len(app.metric) == 4 and "vs A's" in app.metric[0].delta
    assert len(app.get("image")) >= 2  # the demonstration's own weekly figure (pressure, missed care), and more
    assert "Scorecard" in [h.value for h in app.subheader]
    assert "working harder" in set(app.table[0].value.columns) and "no pressure" in set(app.table[0].value.columns)
    (folder,) = Path(os.environ["CAREOS_APP_DEMO_CACHE"]).iterdir()
    assert folder.name.startswith(f"{careos_sim.__version__}-") and (folder / "app" / "index.json").is_file()

    # as after a restart of the server: a new session with nothing in memory opens it from disk, at once
    monkeypatch.setattr(logic, "_PREPARER", [])
    from streamlit.testing.v1 import AppTest

    again = AppTest.from_file(str(SCRIPT), default_timeout=60)
    again.session_state["mode"], again.session_state["demo"] = "Teaching mode", "capability-trap"
    started = time.perf_counter()
    again.run()
    seconds = time.perf_counter() - started
    assert "What happened" in [h.value for h in again.subheader] and not again.get("progress")
    assert seconds < 3, f"a prepared demonstration took {seconds:.1f} s to open"


def test_uncertainty_study_limits_say_why():
    presets = logic.find_presets()
    a = load_scenario(presets.path("telling"))
    limits = logic.Limits()
    short = a.model_copy(update={"run": a.run.model_copy(update={"horizon_days": 30.0})})
    assert logic.check_uncertainty(logic.MIN_UNCERTAINTY_SETS, 2, (short, short), limits) == []
    few = logic.check_uncertainty(logic.MIN_UNCERTAINTY_SETS - 1, 1, (short, short), limits)
    assert {h.setting for h in few} == {"uncertainty.sets", "uncertainty.replications"}
    year = a.model_copy(update={"run": a.run.model_copy(update={"horizon_days": 365.0})})
    (hit,) = logic.check_uncertainty(40, 2, (year, year), limits)
    assert "29,200 simulated days a side" in hit.message and "10 settings fit at this horizon" in hit.message


def test_the_study_across_plausible_settings_shows_words_first_then_figures(app):
    app.number_input(key="run.horizon_days").set_value(3).run()
    assert "Across what we do not know" in [h.value for h in app.header]
    assert "cover simulation noise only" in _body(app)
    assert not app.button(key="uncertainty.run").disabled
    app.button(key="uncertainty.run").click().run(timeout=300)
    assert not app.exception, [e.value for e in app.exception]
    body = _body(app)
    assert f"of {logic.MIN_UNCERTAINTY_SETS} plausible parameter settings" in body  # the headline
    assert "B better in" in body and "of the spread is parameter uncertainty" in body
    assert len(app.get("image")) >= 2, _body(app)  # effect distributions and the acceptability curve at least
    assert app.get("progress")[0].value == 100
    app.run()  # the same settings again: the cached study, no new run
    assert not app.get("progress") and "plausible parameter settings" in _body(app)
    app.number_input(key="uncertainty.sets").set_value(logic.MAX_UNCERTAINTY_SETS)
    app.number_input(key="run.horizon_days").set_value(365).run()
    assert any("simulated days a side" in w.value for w in app.warning)
    assert app.button(key="uncertainty.run").disabled
