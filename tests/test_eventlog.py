"""Event logs (OCEL 2.0): what a replication records, that pm4py reads it back, that its counts
are the run's own, that keeping one changes no number, the bounds, the command line (run,
compare, sweep with resume) and the app's animation of a day built from it."""

from __future__ import annotations

import json
import math
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

import careos_sim
from careos_sim.measure.eventlog import EVENT_TYPES, NO_EVENT_LOG, OBJECT_TYPES, START, EventLog, minutes_of
from careos_sim.experiment.replications import with_run_settings
from careos_sim.model.replication import run_replication
from careos_sim.model.unit import CareUnit
from cli_run import cli

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = REPO / "scenarios"
#: a small unit, and slips frequent enough that a few days see harm events
SMALL = {"unit.beds": 12, "safety.slip_probability": 0.01}
DAYS = 5


def small(preset: str = "telling", days: float = DAYS, **more):
    scenario = careos_sim.load_scenario(SCENARIOS / f"{preset}.yaml", overrides={**SMALL, **more})
    return with_run_settings(scenario, horizon_days=days)


@pytest.fixture(scope="module")
def logged():
    """One replication of 5 days with the whole of it logged, and the same run without a log."""
    scenario = small()
    return run_replication(scenario, 7, 0, ocel_days=DAYS), run_replication(scenario, 7, 0)


@pytest.fixture(scope="module")
def written(logged, tmp_path_factory):
    path = tmp_path_factory.mktemp("log") / "events.ocel.json"
    logged[0].ocel.write(path)
    return path


def test_keeping_a_log_changes_no_number(logged):
    on, off = logged
    assert on.metrics.keys() == off.metrics.keys()
    for name in on.metrics:
        a, b = on.metrics[name], off.metrics[name]
        assert (math.isnan(a) and math.isnan(b)) or a == b, name
    assert on.weekly == off.weekly or pd.DataFrame(on.weekly).equals(pd.DataFrame(off.weekly))
    assert off.ocel is None and on.ocel is not None


def test_the_components_carry_the_do_nothing_log_by_default():
    unit = CareUnit(small(days=1), 1, 0)
    parts = (unit.queue, unit.patients, unit.staff, unit.safety, unit.defects, unit.learning)
    assert all(part.event_log is NO_EVENT_LOG for part in parts)
    assert not NO_EVENT_LOG.recording
    log = EventLog(1)
    unit = CareUnit(small(days=1), 1, 0, ocel=log)
    assert all(part.event_log is log for part in (unit.queue, unit.patients, unit.staff, unit.safety,
                                                    unit.defects, unit.learning))


def test_pm4py_reads_the_log_back_with_the_runs_own_counts(logged, written):
    import pm4py

    on, _ = logged
    facts = on.facts
    ocel = pm4py.read_ocel2_json(str(written))
    counts = ocel.events["ocel:activity"].value_counts().to_dict()
    count = lambda name: int(counts.get(name, 0))  # noqa: E731
    assert len(ocel.events) == len(on.ocel.events)
    assert count("admit patient") == facts.admissions > 0
    assert count("discharge patient") == facts.discharges > 0
    assert count("divert patient") == facts.diversions
    assert count("start task") == facts.started.sum() > 0
    assert count("miss task") == facts.missed.sum() > 0
    assert count("harm patient") == facts.harm.sum() > 0
    assert count("cancel task") <= facts.cancelled.sum()  # from the queue (a task raised after its patient left: none)
    assert count("encounter defect") == facts.encounters > 0
    assert count("report defect") == facts.reports
    assert count("fix defect") == facts.fixes
    assert count("start shift") == facts.nurse_shifts
    # every task started is completed, missed (a defect made it impossible) or still in hand at the end
    impossible = ocel.events[ocel.events["ocel:activity"] == "miss task"]
    by_defect = int((impossible["reason"] == "made impossible by a defect").sum())
    in_hand = count("start task") - count("complete task") - by_defect
    assert 0 <= in_hand <= count("start shift") - count("end shift")
    # the object types, with their attributes, and the objects every event is related to
    types = ocel.objects["ocel:type"].value_counts().to_dict()
    assert set(types) == set(OBJECT_TYPES) - {"unit"}  # a unit alone has no unit objects (a hospital has)
    assert types["task"] == count("create task")
    assert set(ocel.relations["ocel:qualifier"]) <= set(OBJECT_TYPES)
    assert set(ocel.relations["ocel:oid"]) <= set(ocel.objects["ocel:oid"])
    starts = ocel.relations[ocel.relations["ocel:activity"] == "start task"]
    assert set(starts["ocel:type"]) == {"task", "patient", "nurse", "shift"}
    assert len(ocel.o2o) > 0  # a task is for its patient, a shift staffed by its nurses
    # task kind and priority on the task events
    created = ocel.events[ocel.events["ocel:activity"] == "create task"]
    assert set(created["kind"]) <= {"call_light", "assessment", "medication", "hygiene_mobility", "documentation",
                                    "coordination", "communication", "admission", "discharge"}
    assert created["priority"].notna().all()
    # timestamps from the fixed start date, inside the days logged
    stamps = pd.to_datetime(ocel.events["ocel:timestamp"], utc=True)
    assert stamps.min() >= pd.Timestamp(START) and stamps.max() < pd.Timestamp(START + timedelta(days=DAYS))
    assert stamps.is_monotonic_increasing


def test_the_document_is_ocel_2_json(written):
    doc = json.loads(written.read_text())
    assert list(doc) == ["objectTypes", "eventTypes", "objects", "events"]
    assert [t["name"] for t in doc["eventTypes"]] == list(EVENT_TYPES)
    assert {t["name"] for t in doc["objectTypes"]} == set(OBJECT_TYPES)
    ids = {o["id"] for o in doc["objects"]}
    declared = {t["name"]: {a["name"] for a in t["attributes"]} for t in doc["eventTypes"]}
    for e in doc["events"][:2000]:
        assert set(e) == {"id", "type", "time", "attributes", "relationships"}
        assert {a["name"] for a in e["attributes"]} <= declared[e["type"]]
        assert all(r["objectId"] in ids and r["qualifier"] for r in e["relationships"])
    assert minutes_of(doc["events"][0]["time"]) == pytest.approx(0.0)
    assert doc["events"][0]["time"].startswith("2025-01-06T00:00:00")


def test_a_log_of_the_first_days_only_counts_what_those_days_did():
    """A 2-day log of a 5-day run holds what a 2-day run counted (admissions, discharges, tasks
    started, harm) and nothing after its last minute."""
    long = run_replication(small(), 3, 0, ocel_days=2)
    short = run_replication(small(days=2), 3, 0).facts
    counts = long.ocel.counts()
    assert max(e[0] for e in long.ocel.events) < 2 * 1440
    assert counts["admit patient"] == short.admissions
    assert counts["discharge patient"] == short.discharges
    assert counts["start task"] == short.started.sum()
    assert counts["harm patient"] == short.harm.sum()
    assert long.ocel.summary()["days"] == 2 and not long.ocel.summary()["truncated"]


def test_the_event_cap_ends_the_log():
    scenario = small(days=2)
    result = run_replication(scenario, 1, 0, ocel_days=2)
    capped = EventLog(2, max_events=500)
    unit = CareUnit(scenario, 1, 0, ocel=capped)
    unit.run()
    assert len(capped.events) == 500 and capped.truncated and capped.summary()["truncated"]
    assert len(result.ocel.events) > 500
    assert [e[:2] for e in capped.events] == [e[:2] for e in result.ocel.events[:500]]  # the same events, up to the cap
    with pytest.raises(ValueError):
        EventLog(0)


def test_run_and_compare_write_their_logs_and_list_them(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    quick = ["--horizon-days", "2", "--replications", "2", "--seed", "5", "--workers", "1", "--quiet",
             "--set", "unit.beds=12"]
    rc, _, err = cli(capsys, "run", "telling", *quick, "--out", "run", "--event-log", "--event-log-days", "1")
    assert rc == 0, err
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert "events.ocel.json" in manifest["files"] and not (tmp_path / "run" / "events-0001.ocel.json").exists()
    assert manifest["event_logs"]["events.ocel.json"]["days"] == 1
    log = json.loads((tmp_path / "run" / "events.ocel.json").read_text())
    assert max(minutes_of(e["time"]) for e in log["events"]) < 1440

    rc, _, err = cli(capsys, "run", "telling", *quick, "--out", "run", "--event-log", "--event-log-all")
    assert rc == 0, err
    assert (tmp_path / "run" / "events.ocel.json").exists() and (tmp_path / "run" / "events-0001.ocel.json").exists()
    rc, _, err = cli(capsys, "run", "telling", *quick, "--out", "run")  # no log now: ours from before are removed
    assert rc == 0, err
    assert not list((tmp_path / "run").glob("*.ocel.json"))

    rc, _, err = cli(capsys, "compare", "telling", "listening", *quick, "--out", "cmp", "--event-log",
                     "--event-log-days", "1")
    assert rc == 0, err
    manifest = json.loads((tmp_path / "cmp" / "manifest.json").read_text())
    assert {"events-a.ocel.json", "events-b.ocel.json"} <= set(manifest["files"]) == set(manifest["files"])
    assert set(manifest["event_logs"]) == {"events-a.ocel.json", "events-b.ocel.json"}
    import pm4py

    for name in ("events-a.ocel.json", "events-b.ocel.json"):
        ocel = pm4py.read_ocel2_json(str(tmp_path / "cmp" / name))
        assert len(ocel.events) == manifest["event_logs"][name]["events"] > 0


@pytest.mark.parametrize("argv, where, message", [
    (["run", "telling", "--event-log"], "--event-log", "needs --out"),
    (["compare", "telling", "listening", "--event-log"], "--event-log", "needs --out"),
    (["run", "telling", "--event-log-days", "3", "--out", "x"], "--event-log-days", "needs --event-log"),
    (["run", "telling", "--event-log", "--event-log-days", "40", "--out", "x"], "--event-log-days", "<= 28"),
    (["run", "telling", "--event-log", "--event-log-days", "0", "--out", "x"], "--event-log-days", "> 0"),
    (["run", "telling", "--event-log", "--event-log-all", "-r", "21", "--out", "x"], "--event-log-all", "at most 20"),
    (["sweep", "tiny.yaml", "--event-log-days", "2"], "--event-log-days", "needs --event-log"),
])
def test_bad_event_log_options_are_located_errors(capsys, tmp_path, monkeypatch, argv, where, message):
    monkeypatch.chdir(tmp_path)
    rc, out, err = cli(capsys, *argv, "--quiet")
    assert rc == 2 and err.startswith(where) and message in err, err
    assert not (tmp_path / "x").exists()


def test_help_states_the_bounds(capsys):
    for command in ("run", "compare", "sweep"):
        rc, out, _ = cli(capsys, command, "--help")
        text = " ".join(out.split())
        assert "--event-log-days N" in text and "at most 28 days and 200,000 events" in text and "(default: 7)" in text


TINY = """\
name: tiny
base: {base}
design:
  type: grid
factors:
  - {{path: staff.nurses.ratio.day, name: ratio, levels: [4, 6]}}
replications: 2
seed: 3
horizon_days: 2
"""


def test_a_sweep_logs_replication_0_of_each_point_and_resumes(capsys, tmp_path, monkeypatch):
    from careos_sim.experiment.design import load_experiment
    from careos_sim.experiment.sweep import load_store, run_sweep

    monkeypatch.chdir(tmp_path)
    (tmp_path / "tiny.yaml").write_text(TINY.format(base=SCENARIOS / "telling.yaml"))
    exp = load_experiment(tmp_path / "tiny.yaml", ["unit.beds=12"])
    first = run_sweep(exp, tmp_path / "sw", workers=1, stop_after=1, event_log_days=1)  # stopped after one run
    assert first.interrupted
    assert [p.name for p in (tmp_path / "sw" / "events").iterdir()] == ["point-000000.ocel.json"]
    run_sweep(exp, tmp_path / "sw", resume=True, workers=1)  # resumed without a log: the one kept stays
    manifest = json.loads((tmp_path / "sw" / "manifest.json").read_text())
    assert list(manifest["event_logs"]) == ["events/point-000000.ocel.json"] and manifest["complete"]
    before = load_store(tmp_path / "sw").runs
    # resumed with a log: point 1's replication 0 ran before without one, so it runs again for it alone
    rc, out, err = cli(capsys, "sweep", "tiny.yaml", "--out", "sw", "--resume", "--event-log", "--event-log-days",
                       "1", "--set", "unit.beds=12", "--workers", "1", "--quiet")
    assert rc == 0, err
    assert "ran 0, kept 4 from before" in out and "for 2 of 2 design points" in out
    assert sorted(p.name for p in (tmp_path / "sw" / "events").iterdir()) == ["point-000000.ocel.json",
                                                                              "point-000001.ocel.json"]
    after = load_store(tmp_path / "sw")
    pd.testing.assert_frame_equal(before, after.runs)  # no run duplicated or changed
    manifest = json.loads((tmp_path / "sw" / "manifest.json").read_text())
    assert sorted(manifest["event_logs"]) == ["events/point-000000.ocel.json", "events/point-000001.ocel.json"]
    assert all(v["days"] == 1 for v in manifest["event_logs"].values())
    # the log of point 1 is the one its replication 0 makes: the same as running it directly
    scenario = exp.scenarios[1]
    direct = run_replication(scenario, exp.seed, 0, ocel_days=1).ocel
    import pm4py

    stored = pm4py.read_ocel2_json(str(tmp_path / "sw" / "events" / "point-000001.ocel.json"))
    assert len(stored.events) == len(direct.events)


def test_the_app_builds_a_day_on_the_unit_from_a_log(written):
    from careos_sim.app.animation import MISSED_SHOWN_MINUTES, day_entities, read_log

    log = read_log(written)
    entities, icons, used = day_entities(log, 0)
    assert used["beds"] <= 12 and used["nurses"] >= 1
    assert entities["time"].between(0, 1440).all()
    arrivals = entities[(entities["event"] == "arrival")]
    assert arrivals["entity_id"].is_unique  # one arrival per entity, as vidigi requires
    counts = log.events[log.events["minute"] < 1440]["type"].value_counts()
    in_bed = entities[(entities["event"] == "in_bed") & (entities["event_type"] == "resource_use")]
    assert len(in_bed) == counts.get("patient on unit at start", 0) + counts.get("admit patient", 0)
    assert (entities["event"] == "missed").sum() == counts.get("miss task", 0)
    assert MISSED_SHOWN_MINUTES > 0 and set(icons) == set(entities["entity_id"])


def test_the_animation_is_a_plotly_figure_with_a_frame_every_ten_minutes(written):
    pytest.importorskip("vidigi")  # the app extra
    from careos_sim.app.animation import animate_day

    fig = animate_day(written, day=0, beds=12)
    assert len(fig.frames) == 145  # 00:00 to 24:00
    icons = {t for frame in fig.frames[:80] for d in frame.data if d.text is not None for t in d.text}
    assert "🛌" in icons and "🧑‍⚕️" in icons
