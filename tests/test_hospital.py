"""The hospital: units sharing departments, a float pool, a quality team, leadership and patient flow.

Small hospitals (10-bed units) and short horizons keep these fast; each test states the
mechanism it checks and compares runs on common random numbers where it can.
"""

from __future__ import annotations

import json
import math
import textwrap
from pathlib import Path

import numpy as np
import pytest
import simpy

from careos_sim.measure.recorder import Facts, Recorder
from careos_sim.model.hospital import Hospital, run_hospital, unit_links
from careos_sim.model.shared.departments import HospitalDepartment
from careos_sim.model.shared.flow import Demand, Surge
from careos_sim.model.streams import Streams
from careos_sim.model.unit import run_unit
from careos_sim.spec.loader import load_hospital
from careos_sim.spec.scenario import DepartmentSpec

ROOT = Path(__file__).resolve().parents[1]
DAY = 1440.0

SHARED_OFF = """
float_pool: {nurses: 0}
quality_team: {allocation: own}
leadership: {shared_mandates: false, shared_goal: false, shared_departments: false}
flow: {overflow: false, transfers: []}
"""


def hospital(tmp_path: Path, units: str, extra: str = "", days: float = 28, name: str = "h.yaml"):
    """A hospital file of ``units`` (YAML list items) and ``extra`` blocks, loaded."""
    lines = [line.strip() for line in units.strip().splitlines() if line.strip()]
    text = "kind: hospital\nname: test\nunits:\n" + "".join(f"  {line}\n" for line in lines)
    text += textwrap.dedent(extra) + f"\nrun: {{horizon_days: {days}, replications: 1, seed: 3}}\n"
    path = tmp_path / name
    path.write_text(text)
    return load_hospital(path)


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


# --------------------------------------------------------------------------- a hospital of one unit


def test_a_hospital_of_one_unit_is_that_unit():
    spec = load_hospital(ROOT / "scenarios" / "hospital-one-unit.yaml", overrides={"run.horizon_days": 42})
    unit = spec.units[0]
    h = run_hospital(spec, 5, 1)
    alone = run_unit(unit.scenario.model_copy(update={"run": spec.run}), 5, 1, links=unit_links(unit.name))
    differ = {k: (h.metrics[k], alone.metrics[k]) for k in alone.metrics if not same(h.metrics[k], alone.metrics[k])}
    assert not differ, differ
    assert h.units[unit.name].metrics == pytest.approx(alone.metrics, nan_ok=True)
    assert [r["safety.harm_per_1000_patient_days"] for r in h.weekly] == \
        [r["safety.harm_per_1000_patient_days"] for r in alone.weekly]


def test_hospital_facts_are_the_units_facts_summed(tmp_path):
    spec = hospital(tmp_path, """
        - {name: A, specialty: med_surg, extends: default, set: {unit.beds: 10}}
        - {name: B, specialty: med_surg, extends: default, set: {unit.beds: 14}}
    """, SHARED_OFF, days=14)
    r = run_hospital(spec, 1, 0)
    a, b = r.units["A"].facts, r.units["B"].facts
    assert r.facts.admissions == a.admissions + b.admissions
    assert r.facts.minutes == a.minutes == b.minutes  # the period once, not summed
    assert r.metrics["flow.mean_census"] == pytest.approx(r.units["A"].metrics["flow.mean_census"]
                                                          + r.units["B"].metrics["flow.mean_census"])
    combined = Facts.combine([a, b])
    assert combined.pressure_area == pytest.approx((a.pressure_area + b.pressure_area) / 2)
    assert combined.samples == a.samples == b.samples  # the staff counted at the same instants
    employed = {n: r.units[n].facts.staff_samples / r.units[n].facts.samples for n in "AB"}
    assert r.facts.staff_samples / r.facts.samples == pytest.approx(employed["A"] + employed["B"])
    turnover = "workforce.turnover_annual_pct"  # the hospital's lies between its units'
    assert min(r.units[n].metrics[turnover] for n in "AB") <= r.metrics[turnover] <= \
        max(r.units[n].metrics[turnover] for n in "AB")


# --------------------------------------------------------------------------- common random numbers per unit


def _arrivals(h: Hospital, name: str) -> list[tuple]:
    """A unit's admissions as its own streams drew them: time, length of stay, acuity, language."""
    return [(e[0], e[5], e[6], e[7]) for e in h.units[name].recorder.events if e[1] == "arrival"]


def _run(spec, seed=2):
    h = Hospital(spec, seed, 0, event_log=True)
    h.run()
    return h


def test_adding_a_unit_or_changing_ones_system_leaves_other_units_patients_unchanged(tmp_path):
    base = """
        - {name: A, specialty: med_surg, extends: default, set: {unit.beds: 10}}
        - {name: B, specialty: med_surg, extends: default, set: {unit.beds: 10}}
    """
    shared = "float_pool: {nurses: 3}\nflow: {overflow: true}\n"
    one = _run(hospital(tmp_path, base, shared, name="one.yaml"))
    more = _run(hospital(tmp_path, base + "- {name: C, specialty: med_surg, extends: default, set: {unit.beds: 8}}",
                         shared, name="more.yaml"))
    changed = _run(hospital(tmp_path, base.replace("name: B, specialty: med_surg, extends: default",
                                                   "name: B, specialty: med_surg, extends: default, system: listening"),
                            shared, name="changed.yaml"))
    a = _arrivals(one, "A")
    assert len(a) > 20
    assert _arrivals(more, "A") == a and _arrivals(changed, "A") == a
    assert _arrivals(more, "B") == _arrivals(one, "B") == _arrivals(changed, "B")
    # the test can fail: another seed draws other patients
    assert _arrivals(_run(hospital(tmp_path, base, shared, name="again.yaml"), seed=3), "A") != a


# --------------------------------------------------------------------------- shared departments


class _Defects:
    """A unit's defects as a department sees them: a list, and fixes recorded."""

    def __init__(self, defects):
        self.defects, self.fixed = defects, []

    def fix(self, defect, sustained):
        defect.fixed = True
        self.fixed.append(defect.key)


class _Defect:
    def __init__(self, key, effort=4.0):
        self.key, self.effort_hours, self.active, self.fixed, self.id = key, effort, True, False, 0


def test_a_department_fix_reaches_every_unit_with_that_failure_mode():
    env = simpy.Environment()
    cfg = DepartmentSpec(fix_hours_per_week=40.0, response_days=1.0, fix_success=1.0, fix_sustain=1.0)
    dept = HospitalDepartment(env, "pharmacy", cfg, Streams(1, 0).stream("departments.pharmacy"))
    key, other = ("pharmacy", 3, 0), ("pharmacy", 3, 1)
    units = [_Defects([_Defect(key), _Defect(other)]) for _ in range(3)]
    answered: list[int] = []
    desks = [dept.desk_for(u, Recorder(0.0), lambda d, i=i: answered.append(i)) for i, u in enumerate(units)]
    dept.start()
    desks[0].escalate(units[0].defects[0], 1.0, lambda d: None, lambda d: None)  # only unit 0 escalates it
    env.run(until=60 * DAY)
    assert [u.fixed for u in units] == [[key]] * 3  # fixed on every unit, the other mode on none
    assert sorted(answered) == [0, 1, 2] and desks[0].open == 0


def test_escalations_of_one_failure_mode_add_up_to_one_stronger_case():
    env = simpy.Environment()
    cfg = DepartmentSpec(fix_hours_per_week=0.0, response_days=30.0)
    dept = HospitalDepartment(env, "it", cfg, Streams(1, 0).stream("departments.it"))
    key = ("it", 5, 0)
    units = [_Defects([_Defect(key)]) for _ in range(2)]
    desks = [dept.desk_for(u, Recorder(0.0), lambda d: None) for u in units]
    desks[0].escalate(units[0].defects[0], 1.0, lambda d: None, lambda d: None)
    desks[1].escalate(units[1].defects[0], 2.0, lambda d: None, lambda d: None)
    assert len(dept.cases) == 1 and dept.cases[key].strength == 3.0
    assert [d.open for d in desks] == [1, 1]


# --------------------------------------------------------------------------- float pool, flow, demand


UNDERSTAFFED = """
    - {name: A, specialty: med_surg, extends: default, set: {unit.beds: 12, staff.absence.base_probability: 0.15}}
    - {name: B, specialty: med_surg, extends: default, set: {unit.beds: 12, staff.absence.base_probability: 0.15}}
"""


def test_a_float_pool_covers_open_slots_before_agency(tmp_path):
    off = run_hospital(hospital(tmp_path, UNDERSTAFFED, SHARED_OFF, name="off.yaml"), 1, 0)
    pool = run_hospital(hospital(tmp_path, UNDERSTAFFED, SHARED_OFF.replace("nurses: 0", "nurses: 6"),
                                 name="on.yaml"), 1, 0)
    assert off.facts.float_shifts == 0 and pool.facts.float_shifts > 10
    short = "workforce.short_shifts_pct"
    assert pool.facts.agency_shifts + pool.metrics[short] < off.facts.agency_shifts + off.metrics[short]
    assert "float pool" in pool.units and pool.units["float pool"].facts.staff_samples > 0


def test_overflow_sends_admissions_to_a_unit_with_free_beds(tmp_path):
    units = """
        - {name: Small, specialty: med_surg, extends: default, set: {unit.beds: 6, unit.target_occupancy: 1.3}}
        - {name: Big, specialty: med_surg, extends: default, set: {unit.beds: 20, unit.target_occupancy: 0.5}}
    """
    closed = run_hospital(hospital(tmp_path, units, SHARED_OFF, name="closed.yaml"), 1, 0)
    open_ = run_hospital(hospital(tmp_path, units, SHARED_OFF.replace("overflow: false", "overflow: true"),
                                  name="open.yaml"), 1, 0)
    assert closed.facts.overflows == 0 and open_.units["Small"].facts.overflows > 5
    assert open_.units["Small"].facts.diversions < closed.units["Small"].facts.diversions
    assert open_.units["Big"].facts.admissions > closed.units["Big"].facts.admissions


def test_demand_profiles_and_surges():
    flat = Demand()
    assert flat.flat and flat.factor(12345.0) == 1.0 and flat.peak == 1.0
    d = Demand(weekday=(1.2, 1, 1, 1, 1, 0.8, 0.8), seasonal_amplitude=0.1, seasonal_peak_day=0,
               surges=[Surge(10, 5, 1.5)])
    assert d.factor(0.0) == pytest.approx(1.2 * 1.1)
    assert d.factor(12 * DAY) == pytest.approx(0.8 * (1 + 0.1 * math.cos(2 * math.pi * 12 / 365)) * 1.5)
    assert d.factor(16 * DAY) < d.factor(12 * DAY)
    assert max(d.factor(t * 60.0) for t in range(0, 24 * 400)) <= d.peak


def test_a_surge_raises_admissions(tmp_path):
    units = "- {name: A, specialty: med_surg, extends: default, set: {unit.beds: 40, unit.target_occupancy: 0.5}}"
    calm = run_hospital(hospital(tmp_path, units, SHARED_OFF, name="calm.yaml"), 1, 0)
    surge = run_hospital(hospital(tmp_path, units, SHARED_OFF + "demand: {surges: [{name: flu, start_day: 0, days: 28, "
                                                                  "factor: 1.6}]}\n", name="surge.yaml"), 1, 0)
    assert surge.facts.admission_requests > 1.3 * calm.facts.admission_requests


# --------------------------------------------------------------------------- leadership: rollout, quality team


def test_a_unit_adopts_listening_on_its_rollout_day(tmp_path):
    units = """
        - {name: Pilot, specialty: med_surg, extends: default, set: {unit.beds: 12}}
        - {name: Later, specialty: med_surg, extends: default, set: {unit.beds: 12}}
    """
    spec = hospital(tmp_path, units, SHARED_OFF + "rollout: [{units: [Pilot], system: listening, from_day: 21}]\n",
                    days=42)
    h = Hospital(spec, 1, 0)
    h.run()
    huddles = [row["flow.huddle_hours"] for row in h.weekly]  # the hospital's weeks (its units keep no rows)
    assert huddles[:3] == [0.0, 0.0, 0.0] and all(x > 0 for x in huddles[3:])
    assert h.units["Later"].recorder.total().huddle_minutes == 0 < h.units["Pilot"].recorder.total().huddle_minutes
    assert all(u.recorder.weekly == [] for u in h.units.values())
    assert h.units["Pilot"].learning.lead.listening == 1.0 and h.units["Later"].learning.lead.listening == 0.0


def test_quality_team_allocation_follows_the_policy(tmp_path):
    units = """
        - {name: Calm, specialty: med_surg, extends: default, set: {unit.beds: 10, defects.initial: 10}}
        - {name: Busy, specialty: med_surg, extends: default, set: {unit.beds: 10, defects.initial: 150}}
    """
    hours = {}
    for policy in ("equal", "burden"):
        spec = hospital(tmp_path, units, SHARED_OFF.replace("allocation: own", f"allocation: {policy}, fte: 2, "
                                                            "reallocate_days: 7"), days=28, name=f"{policy}.yaml")
        h = Hospital(spec, 1, 0)
        h.run()
        hours[policy] = {name: u.learning.quality_hours for name, u in h.units.items()}
    assert hours["equal"]["Calm"] == pytest.approx(hours["equal"]["Busy"])
    assert sum(hours["equal"].values()) == pytest.approx(2 * 40.0)
    assert hours["burden"]["Busy"] > 2 * hours["burden"]["Calm"]
    assert sum(hours["burden"].values()) == pytest.approx(2 * 40.0)


def test_shared_mandates_land_on_every_unit_at_once(tmp_path):
    units = """
        - {name: A, specialty: med_surg, extends: default, set: {unit.beds: 8}}
        - {name: B, specialty: med_surg, extends: default, set: {unit.beds: 8}}
    """
    spec = hospital(tmp_path, units, SHARED_OFF.replace("shared_mandates: false", "shared_mandates: true"), days=200)
    r = run_hospital(spec, 4, 0)
    assert r.units["A"].facts.mandates == r.units["B"].facts.mandates > 0
    assert r.facts.mandates == 2 * r.units["A"].facts.mandates


# --------------------------------------------------------------------------- the same commands


SMALL_PAIR = """
    - {name: A, specialty: med_surg, extends: default, set: {unit.beds: 8}}
    - {name: B, specialty: step_down, extends: units/step-down.yaml, set: {unit.beds: 6}}
"""


def _small_files(tmp_path: Path) -> tuple[Path, Path]:
    (tmp_path / "units").mkdir()
    (tmp_path / "units" / "step-down.yaml").write_bytes((ROOT / "scenarios" / "units" / "step-down.yaml").read_bytes())
    (tmp_path / "default.yaml").write_bytes((ROOT / "scenarios" / "default.yaml").read_bytes())
    hospital(tmp_path, SMALL_PAIR, "float_pool: {nurses: 2}\n", days=7, name="a.yaml")
    hospital(tmp_path, SMALL_PAIR, "float_pool: {nurses: 2}\nrollout: [{units: [B], system: listening}]\n", days=7,
             name="b.yaml")
    return tmp_path / "a.yaml", tmp_path / "b.yaml"


def test_run_and_compare_take_a_hospital_and_give_its_units(tmp_path, capsys):
    import json

    from careos_sim.cli.main import main

    a, b = _small_files(tmp_path)
    assert main(["run", str(a), "-r", "2", "--json", "--quiet", "--out", str(tmp_path / "run")]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert set(doc["units"]) == {"A", "B", "float pool"}
    assert doc["units"]["A"]["metrics"]["safety.harm_per_1000_patient_days"]["unit"] == "per 1000 patient-days"
    assert (tmp_path / "run" / "units.parquet").is_file()
    assert main(["report", str(tmp_path / "run")]) == 0
    capsys.readouterr()
    run_report = (tmp_path / "run" / "report.md").read_text()
    assert run_report.index("Outcomes") < run_report.index("Units side by side") and "float pool" in run_report
    assert main(["compare", str(a), str(b), "-r", "2", "--json", "--quiet", "--out", str(tmp_path / "cmp")]) == 0
    cmp = json.loads(capsys.readouterr().out)
    assert {"A", "B"} <= set(cmp["units"]) and set(cmp["units"]["A"]["metrics"]["workforce.burnout_pct"]) >= {"a", "b",
                                                                                                           "diff"}
    import pandas as pd

    paired = pd.read_csv(tmp_path / "cmp" / "units-comparison.csv")
    assert list(paired.columns[:2]) == ["unit", "metric"] and paired.columns.is_unique
    assert set(paired["unit"]) == {"A", "B", "float pool"}  # the pool's own facts as a row
    harm = paired[paired["metric"] == "safety.harm_per_1000_patient_days"]
    assert len(harm) == 3  # one row a unit and the pool
    assert "%" in set(paired.loc[paired["metric"] == "effectiveness.missed_care_pct", "metric_unit"])
    assert main(["report", str(tmp_path / "cmp")]) == 0
    capsys.readouterr()
    text = (tmp_path / "cmp" / "report.md").read_text()
    assert "Units side by side" in text and text.index("Scorecard") < text.index("Units side by side")


def test_the_shipped_hospital_experiments_load():
    from careos_sim.experiment.design import load_experiment
    from careos_sim.spec.hospital import HospitalSpec

    files = sorted((ROOT / "experiments" / "hospital").glob("*.yaml"))
    assert len(files) == 4
    for path in files:
        exp = load_experiment(path)
        assert all(isinstance(s, HospitalSpec) for s in exp.scenarios), path
        assert exp.replications * len(exp.scenarios) <= 10


def test_a_sweep_of_hospitals_runs_one_task_per_point_and_replication_anywhere(tmp_path):
    """The same rows in one process, two workers and a Dask cluster; each (point, replication) one task."""
    import pandas as pd

    from careos_sim.cli.main import main

    (tmp_path / "default.yaml").write_bytes((ROOT / "scenarios" / "default.yaml").read_bytes())
    hospital(tmp_path, """
        - {name: A, specialty: med_surg, extends: default, set: {unit.beds: 6}}
        - {name: B, specialty: med_surg, extends: default, set: {unit.beds: 6}}
    """, "float_pool: {nurses: 1}\n", days=5, name="h.yaml")
    exp = tmp_path / "exp.yaml"
    exp.write_text("name: hs\nbase: h.yaml\ndesign: {type: grid}\nfactors:\n"
                   "  - {path: float_pool.nurses, name: pool, levels: [0, 3]}\nreplications: 2\nseed: 5\n")
    assert main(["sweep", str(exp), "--out", str(tmp_path / "one"), "--workers", "1", "--quiet"]) == 0
    runs = pd.read_parquet(tmp_path / "one" / "runs.parquet")
    assert len(runs) == 4 and (runs["status"] == "ok").all()
    assert main(["sweep", str(exp), "--out", str(tmp_path / "two"), "--workers", "2", "--quiet"]) == 0
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "two" / "runs.parquet"), runs)
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as c:
        assert main(["sweep", str(exp), "--out", str(tmp_path / "dask"), "--scheduler", c.scheduler_address,
                     "--quiet"]) == 0
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "dask" / "runs.parquet"), runs)


def test_a_hospitals_event_logs_tell_its_units_nurses_apart_and_change_no_number(tmp_path):
    """Both logs of a hospital: every event names its unit, each unit's nurses, shifts and defects
    are objects of their own (the numbers restart on every unit), the float pool's nurses are one
    object wherever they work, patients and tasks are the hospital's; and keeping them changes nothing."""
    from careos_sim.model.shared.float_pool import POOL_NURSE_IDS

    spec = hospital(tmp_path, """
        - {name: 3 East, specialty: med_surg, extends: default, set: {unit.beds: 12, staff.absence.base_probability: 0.15}}
        - {name: 3 West, specialty: med_surg, extends: default, set: {unit.beds: 12, staff.absence.base_probability: 0.15}}
    """, "float_pool: {nurses: 4}\nflow: {overflow: true}\n", days=7)
    quiet = run_hospital(spec, 4, 0)
    logged = run_hospital(spec, 4, 0, event_log=True, ocel_days=3.0)
    assert logged.metrics == pytest.approx(quiet.metrics, nan_ok=True)
    assert logged.units.keys() == quiet.units.keys()
    for name, unit in logged.units.items():
        assert unit.metrics == pytest.approx(quiet.units[name].metrics, nan_ok=True), name

    flat = logged.events_frame()
    assert list(flat.columns)[-1] == "unit" and set(flat["unit"]) == {"3 East", "3 West"}
    assert flat["time_min"].is_monotonic_increasing
    started = flat[flat["event"] == "start"]
    for unit in ("3 East", "3 West"):  # each unit's own nurses are numbered from 0
        own = started.loc[(started["unit"] == unit) & started["nurse"].between(0, POOL_NURSE_IDS - 1), "nurse"]
        assert own.min() == 0
    pooled = started[started["nurse"] >= POOL_NURSE_IDS]
    assert len(pooled) > 0, "the pool's nurses worked (short-staffed units call them)"

    doc = logged.ocel.to_ocel()
    objects = {o["id"]: o for o in doc["objects"]}
    assert {o["id"] for o in doc["objects"] if o["type"] == "unit"} == {"unit-3-east", "unit-3-west"}
    assert "unit" in {t["name"] for t in doc["objectTypes"]}
    assert {"3-east/nurse-0", "3-west/nurse-0"} <= set(objects)  # the same number, two nurses
    nurses = [o for o in doc["objects"] if o["type"] == "nurse"]
    assert any(o["id"].startswith("float-pool/nurse-") for o in nurses)
    assert all(o["id"].split("/")[0] in ("3-east", "3-west", "float-pool") for o in nurses)
    units_of_pool_nurse: dict[str, set[str]] = {}
    for e in doc["events"]:
        ids = [r["objectId"] for r in e["relationships"]]
        assert all(i in objects for i in ids), e
        unit = [i for i in ids if objects[i]["type"] == "unit"]
        assert len(unit) == 1, e  # every event happened on one unit
        for i in ids:
            if objects[i]["type"] in ("shift", "defect") or (objects[i]["type"] == "nurse"
                                                              and not i.startswith("float-pool/")):
                assert i.startswith(unit[0].removeprefix("unit-") + "/"), (i, unit)
            if i.startswith("float-pool/"):
                units_of_pool_nurse.setdefault(i, set()).add(unit[0])
    assert units_of_pool_nurse
    tasks = [o["id"] for o in doc["objects"] if o["type"] == "task"]
    assert len(tasks) == len(set(tasks)) and all(t.startswith("task-") for t in tasks)


def test_unit_names_that_differ_in_punctuation_get_ids_of_their_own():
    from careos_sim.measure.eventlog import EventLog, unit_slug

    assert unit_slug("3 East (Cardiac)") == "3-east-cardiac" and unit_slug("***") == "unit"
    log = EventLog(1.0)
    a, b = log.for_unit("3 East", "med_surg"), log.for_unit("3-east", "med_surg")
    assert (a._unit, b._unit) == ("unit-3-east", "unit-3-east-2")


def test_run_and_compare_keep_a_hospitals_event_logs(tmp_path, capsys):
    import pandas as pd

    from careos_sim.cli.main import main

    a, b = _small_files(tmp_path)
    assert main(["run", str(a), "--events", "--event-log", "--event-log-days", "2", "--out", str(tmp_path / "o"),
                 "--quiet"]) == 0
    events = pd.read_parquet(tmp_path / "o" / "events-0000.parquet")
    assert set(events["unit"]) == {"A", "B"}
    log = json.loads((tmp_path / "o" / "events.ocel.json").read_text())
    assert {o["id"] for o in log["objects"] if o["type"] == "unit"} == {"unit-a", "unit-b"}
    assert main(["compare", str(a), str(b), "-r", "2", "--event-log", "--event-log-days", "1",
                 "--out", str(tmp_path / "c"), "--quiet"]) == 0
    capsys.readouterr()
    for side in "ab":
        doc = json.loads((tmp_path / "c" / f"events-{side}.ocel.json").read_text())
        assert any(o["id"].startswith("b/nurse-") for o in doc["objects"])


def test_run_settings_change_a_hospital_and_nothing_else():
    """compare and precision set A's run settings on both sides: a hospital survives the round trip."""
    from careos_sim.experiment.replications import with_run_settings

    spec = load_hospital(ROOT / "scenarios" / "hospital-listening.yaml")
    changed = with_run_settings(spec, replications=3, seed=9, horizon_days=5)
    assert (changed.run.replications, changed.run.seed, changed.run.horizon_days) == (3, 9, 5)
    assert changed == spec.model_copy(update={"run": changed.run})
    assert changed.flow.transfers and changed.units[0].rollout


def test_a_hospital_runs_with_the_collectors_thresholds_and_restores_those_set_before():
    import gc

    from careos_sim.model import hospital as hospital_module

    spec = load_hospital(ROOT / "scenarios" / "hospital-one-unit.yaml", overrides={"run.horizon_days": 3})
    before = gc.get_threshold()
    gc.set_threshold(900, 11, 12)  # what a caller had set
    try:
        model = Hospital(spec, 1, 0)
        seen: list[tuple[int, ...]] = []

        def probe():
            yield model.env.timeout(60.0)
            seen.append(gc.get_threshold())
        model.env.process(probe())
        model.run()
        assert seen == [hospital_module.RUN_GC_THRESHOLDS]
        assert gc.get_threshold() == (900, 11, 12)
    finally:
        gc.set_threshold(*before)
