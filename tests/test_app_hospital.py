"""The app's Hospital mode: hospital presets, uploaded hospitals confined to the presets and
``units/``, the limits of a hospital (units x days, each unit's beds and headcount), the units'
table of a finished comparison, and the page through Streamlit's own testing API.

Simulations here are tiny hospitals of two small units (7 days, 2 replications); the file runs in
well under a minute.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd
import pytest

from careos_sim.app import logic
from careos_sim.report.common import fmt, interval, signed
from careos_sim.spec.hospital import HospitalSpec
from careos_sim.spec.loader import InputError

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "careos_sim" / "app" / "streamlit_app.py"
SECRET = "TOPSECRET-7f3a9c"  # stands for any content of a file the app must not show
LIMIT_VARS = ("CAREOS_APP_MAX_HORIZON_DAYS", "CAREOS_APP_MAX_REPLICATIONS", "CAREOS_APP_MAX_REPLICATION_DAYS",
              "CAREOS_APP_MAX_NURSES", "CAREOS_APP_MAX_BEDS", "CAREOS_APP_MAX_UPLOAD_BYTES",
              "CAREOS_APP_MAX_UNIT_DAYS", "CAREOS_SCENARIOS_DIR", "CAREOS_SIM_MAX_RUNS", "CAREOS_SIM_MAX_NURSES",
              "CAREOS_SIM_MAX_EXPECTED_TASKS", "CAREOS_SIM_MAX_REPLICATION_DAYS")

#: a hospital of two small units: one extends a unit preset by name, one a file of units/
TINY = """kind: hospital
name: tiny
units:
  - {name: North, specialty: med_surg, extends: default, set: {unit.beds: 8}}
  - {name: South ICU, specialty: icu, extends: units/icu.yaml, set: {unit.beds: 6}}
flow:
  transfers: []
run: {horizon_days: 7, replications: 2, warmup_days: 0}
"""
#: the same hospital with both units on the listening system from day 0
TINY_LISTENING = TINY.replace("name: tiny\n", "name: tiny-listening\n") + \
    "rollout:\n  - {units: all, system: listening, from_day: 0}\n"
RUN = {"run.horizon_days": 7, "run.replications": 2, "run.seed": 20261125}


@pytest.fixture(autouse=True)
def _no_limit_env(monkeypatch, tmp_path):
    for var in LIMIT_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("CAREOS_APP_DEMO_CACHE", str(tmp_path / "demo-cache"))
    monkeypatch.setenv("CAREOS_APP_PREPARE_DEMOS", "0")


@pytest.fixture
def secret(tmp_path) -> Path:
    """A YAML file outside the upload folder, valid enough that a loader would report its keys and values."""
    path = tmp_path / "outside" / "secret.yaml"
    path.parent.mkdir()
    path.write_text(f"name: {SECRET}\nunit:\n  beds: {SECRET}\nleadership:\n  {SECRET}: 1\n")
    return path


@pytest.fixture
def folder(tmp_path) -> Path:
    return tmp_path / "session" / "hospital-a"


def upload(folder: Path, text: str, name: str = "mine.yaml", presets: logic.Presets | None = None):
    return logic.load_upload(name, text.encode(), folder, presets or logic.find_presets(), hospital=True)


def assert_hidden(errors: list[str], *secrets: str) -> None:
    shown = "\n".join(errors)
    assert errors, "the upload should have been refused"
    for s in (SECRET, "root:x:", "/bin/", *secrets):
        assert s not in shown, f"{s!r} leaked into: {shown}"


# --------------------------------------------------------------------------- presets


def test_the_hospital_presets_are_every_hospital_file_and_build_with_the_run_settings():
    presets = logic.find_presets()
    names = logic.hospital_presets(presets)
    assert names == ["hospital", "hospital-listening", "hospital-one-unit"]
    assert set(logic.HOSPITAL_DEFAULTS) <= set(names) and "telling" not in names and "default" not in names
    a = logic.build_hospital(presets.path("hospital"), {"run.horizon_days": 91.0, "run.replications": 2},
                             "ours", root=presets.folder)
    assert isinstance(a, HospitalSpec) and a.name == "ours"
    assert (a.run.horizon_days, a.run.replications, len(a.units), a.beds) == (91, 2, 21, 574)
    assert a.unit("MICU").scenario.unit.beds == 20 and a.unit("MICU").specialty == "icu"
    summary = logic.hospital_summary(a)
    assert summary.startswith("21 units (13 medical-surgical, 4 step-down, 3 ICU, 1 oncology), 574 beds")
    assert "telling" in summary
    b = logic.build_hospital(presets.path("hospital-listening"), RUN, root=presets.folder)
    assert logic.hospital_summary(b).endswith("; every unit on a listening system from day 0.")
    staged = logic.build_hospital(presets.path("hospital"), {**RUN, "rollout": [
        {"units": ["MICU", "SICU"], "system": "listening", "from_day": 30}]}, root=presets.folder)
    assert logic.hospital_summary(staged).endswith(
        "every unit on a telling system, and 2 units switching system later in the run (rollout).")
    with pytest.raises(InputError) as err:
        logic.build_hospital(presets.path("hospital"), {"run.horizon_days": -3}, root=presets.folder)
    assert "run.horizon_days" in str(err.value)


# --------------------------------------------------------------------------- uploads


def test_an_uploaded_hospital_may_extend_the_unit_presets_and_units_files(folder):
    path, hospital, errors = upload(folder, TINY)
    assert errors == [] and isinstance(hospital, HospitalSpec)
    assert [u.name for u in hospital.units] == ["North", "South ICU"] and hospital.beds == 14
    assert hospital.unit("South ICU").scenario.staff.nurses.ratio.day == 2  # from units/icu.yaml
    # beside it: copies of the presets (hospitals too) and of units/, regular files only
    top = sorted(p.name for p in folder.iterdir())
    assert top == ["default.yaml", "hospital-listening.yaml", "hospital-one-unit.yaml", "hospital.yaml",
                   "listening.yaml", "mine.yaml", "telling.yaml", "units"]
    assert sorted(p.name for p in (folder / "units").iterdir()) == ["icu.yaml", "oncology.yaml", "step-down.yaml"]
    assert not any(p.is_symlink() for p in folder.rglob("*"))
    # a hospital preset may be extended as well, and the units' files it names are the copies
    path, extended, errors = upload(folder, "kind: hospital\nextends: hospital.yaml\nname: ours\n"
                                            "rollout:\n  - {units: [MICU], system: listening, from_day: 30}\n")
    assert errors == [] and extended.name == "ours" and len(extended.units) == 21
    assert extended.unit("MICU").rollout and not extended.unit("SICU").rollout


def test_a_unit_upload_still_cannot_extend_a_hospital_and_gets_no_units_folder(tmp_path):
    unit_folder = tmp_path / "session" / "a"
    upload(unit_folder, TINY)  # as if a hospital had been uploaded here before
    assert (unit_folder / "units").is_dir()
    _, scenario, errors = logic.load_upload("u.yaml", b"extends: hospital.yaml\n", unit_folder, logic.find_presets())
    assert scenario is None
    assert errors == ["u.yaml:1: extends: may name only a preset beside the upload (default.yaml, listening.yaml, "
                      "telling.yaml): no such preset (got 'hospital.yaml')"]
    assert sorted(p.name for p in unit_folder.iterdir()) == ["default.yaml", "listening.yaml", "telling.yaml",
                                                             "u.yaml"]
    _, scenario, errors = logic.load_upload("u.yaml", b"extends: units/icu.yaml\n", unit_folder, logic.find_presets())
    assert scenario is None and "may name only a preset" in errors[0]


def test_a_unit_file_uploaded_as_a_hospital_says_what_it_is(folder):
    _, hospital, errors = upload(folder, "name: just a unit\nunit:\n  beds: 20\n", name="unit.yaml")
    assert hospital is None
    assert errors == ["unit.yaml: kind: is not a hospital file (a hospital file says kind: hospital); compare unit "
                      "scenarios in the Compare mode"]


@pytest.mark.parametrize("line, where", [
    ("  - {name: X, specialty: med_surg, extends: ../../etc/passwd}", "units[0].extends"),
    ("  - {name: X, specialty: med_surg, extends: /etc/passwd}", "units[0].extends"),
    ("  - {name: X, specialty: med_surg, extends: SECRET}", "units[0].extends"),
    ("  - {name: X, specialty: med_surg, extends: units/../../../outside/secret.yaml}", "units[0].extends"),
    ("  - {name: X, specialty: med_surg, extends: [default, ../../outside/secret.yaml]}", "units[0].extends[1]"),
    ("  - {name: X, specialty: med_surg, extends: default, system: ../../outside/secret.yaml}", "units[0].system"),
    ("  - {name: X, specialty: med_surg, extends: default}\nrollout:\n  - {units: all, system: /etc/passwd}",
     "rollout[0].system"),
])
def test_every_file_a_hospital_names_is_confined_to_the_upload_folder(folder, secret, line, where):
    text = "kind: hospital\nname: mine\nunits:\n" + line.replace("SECRET", str(secret)) + "\n"
    _, hospital, errors = upload(folder, text)
    assert hospital is None
    assert_hidden(errors)
    (error,) = errors
    assert re.match(rf"mine\.yaml:\d+: {re.escape(where)}: may name only a preset beside the upload", error), error
    assert "units/icu.yaml" in error  # the message lists what it may name


def test_the_loader_confines_a_hospitals_units_as_well_when_the_apps_own_check_is_bypassed(folder, secret,
                                                                                          monkeypatch):
    monkeypatch.setattr(logic, "guard_file", lambda *a, **k: None)  # defence in depth: the loader's allowed_roots
    for written in ("/etc/passwd", str(secret), "../../outside/secret.yaml"):
        _, hospital, errors = upload(folder, f"kind: hospital\nunits:\n  - {{name: X, specialty: icu, "
                                             f"extends: {written}}}\n")
        assert hospital is None
        assert_hidden(errors)
        assert "units[0].extends" in errors[0]


def test_a_symbolic_link_in_the_presets_units_folder_is_not_copied_nor_followed(tmp_path, folder, secret):
    presets = tmp_path / "presets"
    (presets / "units").mkdir(parents=True)
    for name in ("default", "telling", "listening"):
        (presets / f"{name}.yaml").write_bytes((ROOT / "scenarios" / f"{name}.yaml").read_bytes())
    (presets / "units" / "icu.yaml").write_bytes((ROOT / "scenarios" / "units" / "icu.yaml").read_bytes())
    (presets / "units" / "evil.yaml").symlink_to(secret)
    path, hospital, errors = upload(folder, TINY, presets=logic.Presets(presets))
    assert errors == [] and len(hospital.units) == 2
    assert sorted(p.name for p in (folder / "units").iterdir()) == ["icu.yaml"]
    _, hospital, errors = upload(folder, TINY.replace("units/icu.yaml", "units/evil.yaml"),
                                 presets=logic.Presets(presets))
    assert hospital is None and "no such preset" in errors[0]
    assert_hidden(errors)
    # a link put beside the upload however it got there is refused before it is opened
    path, _, _ = upload(folder, TINY, presets=logic.Presets(presets))
    (folder / "units" / "evil.yaml").symlink_to(secret)
    path.write_text(TINY.replace("units/icu.yaml", "units/evil.yaml"))
    with pytest.raises(InputError) as err:
        logic.build_hospital(path, RUN, root=folder)
    assert_hidden([str(err.value)])
    assert "units[1].extends" in str(err.value) and "symbolic link" in str(err.value)
    # and a presets folder whose units/ is itself a link is not copied at all
    (presets / "units" / "evil.yaml").unlink()
    (presets / "units").rename(tmp_path / "elsewhere")
    (presets / "units").symlink_to(tmp_path / "elsewhere")
    _, hospital, errors = upload(folder, TINY, presets=logic.Presets(presets))
    assert hospital is None and not (folder / "units").exists() and "units[1].extends" in errors[0]


def test_an_oversized_hospital_upload_is_refused_and_so_is_an_oversized_unit_file(folder):
    data = TINY.encode() + b"#" * logic.MAX_UPLOAD_BYTES
    path, hospital, errors = logic.load_upload("big.yaml", data, folder, logic.find_presets(), hospital=True)
    assert (path, hospital) == (None, None) and not (folder / "big.yaml").exists()
    assert errors == [f"big.yaml: <file>: is larger than this app's limit of 256 KiB (environment variable "
                      f"CAREOS_APP_MAX_UPLOAD_BYTES); a scenario file is a few kB (got {len(data):,} bytes)"]
    path, _, _ = upload(folder, TINY)
    (folder / "units" / "icu.yaml").write_bytes(b"name: icu\n" + b"#" * (4 * logic.MAX_UPLOAD_BYTES + 1))
    with pytest.raises(InputError) as err:
        logic.build_hospital(path, RUN, root=folder)
    assert "icu.yaml: <file>: is too large to be a scenario file" in str(err.value)


def test_a_yaml_bomb_is_refused_in_the_hospital_and_in_a_unit_file_it_names(folder):
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join(['*' + p] * 10)}]\n" for p, c in zip("abcdefg", "bcdefgh"))
    _, hospital, errors = upload(folder, "kind: hospital\n" + bomb)
    assert hospital is None and len(errors) == 1 and "mine.yaml:" in errors[0] and "<document>" in errors[0]
    assert "values (YAML aliases)" in errors[0]
    path, _, _ = upload(folder, TINY)
    (folder / "units" / "icu.yaml").write_text(bomb)
    with pytest.raises(InputError) as err:
        logic.build_hospital(path, RUN, root=folder)
    assert "icu.yaml:" in str(err.value) and "<document>" in str(err.value)


# --------------------------------------------------------------------------- limits


def test_max_unit_days_limits_a_hospitals_units_times_days_and_names_its_variable(monkeypatch):
    presets = logic.find_presets()
    assert logic.Limits().max_unit_days == 7700
    a = logic.build_hospital(presets.path("hospital"), {"run.horizon_days": 91, "run.replications": 2},
                             root=presets.folder)
    assert logic.unit_days(a) == 2 * 91 * 21 == 3822
    assert logic.check_run((a, a), logic.Limits()) == []  # the page's defaults fit
    half_year = logic.build_hospital(presets.path("hospital"), {"run.horizon_days": 182, "run.replications": 2},
                                     root=presets.folder)
    assert logic.check_run((half_year, half_year), logic.Limits()) == []
    long = logic.build_hospital(presets.path("hospital"), {"run.horizon_days": 200, "run.replications": 2},
                                root=presets.folder)
    hits = logic.check_run((a, long), logic.Limits())
    (hit,) = hits  # side B only
    assert hit.setting == "run.replications"
    assert hit.message.startswith("Side B: 2 replications x 200 days x 21 units = 8,400 simulated unit-days, above "
                                  "this app's limit of 7,700 for a hospital (environment variable "
                                  "CAREOS_APP_MAX_UNIT_DAYS)")
    assert "a horizon of 183 days fits" in hit.message and "scenarios/hospital.yaml" in hit.message
    monkeypatch.setenv("CAREOS_APP_MAX_UNIT_DAYS", "1000")
    limits, problems = logic.Limits.from_env()
    assert problems == [] and limits.max_unit_days == 1000
    assert {h.message[:6] for h in logic.check_run((a, a), limits)} == {"Side A", "Side B"}
    monkeypatch.setenv("CAREOS_APP_MAX_UNIT_DAYS", "lots")
    limits, problems = logic.Limits.from_env()
    assert limits.max_unit_days == 7700 and "CAREOS_APP_MAX_UNIT_DAYS='lots' is not a positive number" in problems[0]


def test_beds_and_nurses_are_limited_per_unit_not_for_the_whole_hospital(folder):
    presets = logic.find_presets()
    a = logic.build_hospital(presets.path("hospital"), RUN, root=presets.folder)
    assert a.beds == 574 > logic.Limits().max_beds and logic.check_run((a, a), logic.Limits()) == []
    hits = logic.check_run((a, a), logic.Limits(max_beds=31))
    assert [h.setting for h in hits] == ["units[0].unit.beds", "units[0].unit.beds"]  # one a side
    assert hits[0].message.startswith("Side A, unit 3 East (units[0]): 32 beds are above this app's limit of 31 "
                                      "(environment variable CAREOS_APP_MAX_BEDS)")
    assert "So are 6 more of its units: 3 West, 4 West, 5 West, 6 West, 7 West, 8 West." in hits[0].message
    _, crowded, errors = upload(folder, TINY.replace("set: {unit.beds: 8}", "set: {unit.beds: 8, "
                                                     "staff.nurses.ratio: {day: 0.05, night: 0.05}}"))
    assert errors == []
    (hit,) = [h for h in logic.check_run((crowded, crowded), logic.Limits()) if h.message.startswith("Side A, unit")]
    assert hit.setting == "units[0].staff.nurses" and "CAREOS_APP_MAX_NURSES" in hit.message


def test_run_comparison_refuses_hospitals_over_the_limits_before_running(tmp_path):
    presets = logic.find_presets()
    a = logic.build_hospital(presets.path("hospital"), {"run.horizon_days": 365, "run.replications": 2},
                             root=presets.folder)
    calls = []
    with pytest.raises(logic.LimitError) as err:
        logic.run_comparison(a, a, ("x", "y"), logic.ResultCache(root=tmp_path), limits=logic.Limits(),
                             progress=lambda d, n: calls.append(d))
    assert calls == [] and not any(tmp_path.iterdir())
    assert "CAREOS_APP_MAX_UNIT_DAYS" in err.value.hits[0].message


def test_the_cost_of_a_hospital_is_estimated_from_its_units_days():
    presets = logic.find_presets()
    a = logic.build_hospital(presets.path("hospital"), {"run.horizon_days": 91, "run.replications": 2},
                             root=presets.folder)
    seconds = logic.estimate_hospital_seconds((a, a), 1)
    assert seconds == pytest.approx(2 * 3822 * logic._SPEED["seconds_per_unit_day"])
    assert logic.hospital_workers((a, a), {"CAREOS_APP_WORKERS": "2"}) == 2  # a pool pays for a hospital
    one = logic.build_hospital(presets.path("hospital-one-unit"), {"run.horizon_days": 14, "run.replications": 2},
                               root=presets.folder)
    assert logic.hospital_workers((one, one), {"CAREOS_APP_WORKERS": "2"}) == 1


# --------------------------------------------------------------------------- a real tiny comparison


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """A finished comparison of the tiny hospital, telling against listening, through the app's own path."""
    base = tmp_path_factory.mktemp("tiny")
    presets = logic.find_presets()
    sides = []
    for side, text in (("a", TINY), ("b", TINY_LISTENING)):
        path, hospital, errors = logic.load_upload(f"{side}.yaml", text.encode(), base / side, presets, hospital=True)
        assert errors == []
        sides.append(logic.build_hospital(path, RUN, f"tiny {side}", root=path.parent))
    cache = logic.ResultCache(root=base / "cache")
    calls = []
    entry = logic.run_comparison(*sides, ("tiny a", "tiny b"), cache, limits=logic.Limits(), workers=1,
                                 progress=lambda done, n: calls.append((done, n)))
    return entry, sides, cache, calls


def test_a_hospital_comparison_runs_through_the_cache_without_an_event_log(tiny_run):
    entry, sides, cache, calls = tiny_run
    assert calls[-1] == (4, 4)  # 2 paired replications of each side
    names = {p.name for p in entry.folder.iterdir()}
    assert {"units-comparison.csv", "units.parquet", "comparison.csv", "manifest.json"} <= names
    assert not any(n.endswith(".ocel.json") for n in names)  # no "A day on the unit" for hospitals
    again = logic.run_comparison(*sides, ("tiny a", "tiny b"), cache, progress=lambda d, n: calls.append(d))
    assert again is entry and calls[-1] == (4, 4)  # reused, not run again
    downloads = logic.units_downloads(entry.folder)
    assert [name for _, name, _ in downloads.values()] == ["units-comparison.csv", "units.parquet"]
    assert downloads["Units, paired (CSV)"][0] == (entry.folder / "units-comparison.csv").read_bytes()


def test_the_units_table_has_one_row_per_unit_with_the_csvs_values(tiny_run):
    entry, _, _, _ = tiny_run
    table = logic.units_table(entry.folder, logic.UNITS_TABLE_METRICS)
    paired = pd.read_csv(entry.folder / "units-comparison.csv")
    assert list(table["unit"]) == ["North", "South ICU"]
    assert list(table["specialty"]) == ["medical-surgical", "ICU"]
    assert list(table.columns[:6]) == ["unit", "specialty", "Harm: A", "Harm: B", "Harm: B - A [95% CI]",
                                       "Harm: better"]
    assert {"Missed care %: A", "Burnout %: B - A [95% CI]"} <= set(table.columns)
    assert len(table.columns) == 2 + 4 * len(logic.UNITS_TABLE_METRICS)
    for row in table.to_dict("records"):
        for metric, head in (("safety.harm_per_1000_patient_days", "Harm"),
                             ("effectiveness.missed_care_pct", "Missed care %"),
                             ("workforce.burnout_pct", "Burnout %")):
            (r,) = paired[(paired.iloc[:, 0] == row["unit"]) & (paired["metric"] == metric)].to_dict("records")
            assert row[f"{head}: A"] == fmt(r["a_mean"]) and row[f"{head}: B"] == fmt(r["b_mean"])
            diff = row[f"{head}: B - A [95% CI]"]
            assert diff.startswith(signed(r["diff_mean"]))
            assert diff.endswith(interval(r["diff_ci_low"], r["diff_ci_high"], sign=True))
            assert row[f"{head}: better"] == {"a": "A", "b": "B"}.get(r["better"], "neither")
            assert math.isfinite(r["a_mean"])
    # the better side by name, where the sides' labels are given
    named = logic.units_table(entry.folder, labels=entry.labels)
    paired_better = paired[paired["metric"] == "safety.harm_per_1000_patient_days"]["better"].tolist()
    assert named["Harm: better"].tolist() == [
        {"a": "tiny a", "b": "tiny b"}.get(b, "neither") for b in paired_better]
    # a folder of two units has no units' table
    assert logic.units_table(entry.folder / "nowhere").empty


# --------------------------------------------------------------------------- the page (Streamlit's AppTest)


def test_the_hospital_mode_runs_two_uploaded_hospitals_and_shows_the_units_side_by_side(monkeypatch):
    pytest.importorskip("streamlit")
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(SCRIPT), default_timeout=90)
    at.run()
    monkeypatch.setenv("CAREOS_APP_MAX_UNIT_DAYS", "1000")  # the presets' 91 days x 2 x 21 units go over it
    at.sidebar.radio(key="mode").set_value("Hospital").run()
    assert not at.exception, [e.value for e in at.exception]
    assert [w.value[:7] for w in at.warning] == ["Side A:", "Side B:"]
    assert "3,822 simulated unit-days" in at.warning[0].value and "CAREOS_APP_MAX_UNIT_DAYS" in at.warning[0].value
    assert at.button(key="hospital.run").disabled
    assert "1,000 simulated unit-days a hospital" in "\n".join(str(c.value) for c in at.sidebar.caption)
    monkeypatch.delenv("CAREOS_APP_MAX_UNIT_DAYS")
    at.run()
    assert not at.warning
    assert "compare two hospitals" in at.title[0].value
    source = at.selectbox(key="hospital.a.source")
    assert source.value == "hospital" and at.selectbox(key="hospital.b.source").value == "hospital-listening"
    assert source.options == ["hospital preset", "hospital-listening preset", "hospital-one-unit preset",
                              "A hospital file I upload"]
    assert at.number_input(key="hospital.run.horizon_days").value == 91
    assert at.number_input(key="hospital.run.replications").value == 2
    body = "\n".join(str(c.value) for c in at.caption)
    assert "21 units (13 medical-surgical" in body and "0.3 s per simulated day" in body
    assert "7,644 simulated unit-days in all" in body  # 2 sides x 2 x 91 days x 21 units
    assert not at.button(key="hospital.run").disabled

    # a hostile upload: its lines, nothing run
    at.selectbox(key="hospital.a.source").set_value("upload").run()
    at.file_uploader(key="hospital.a.upload").set_value((
        "evil.yaml", b"kind: hospital\nunits:\n  - {name: X, specialty: icu, extends: ../../etc/passwd}\n",
        "application/x-yaml")).run()
    assert not at.exception
    assert any("is not a valid hospital" in e.value for e in at.error)
    assert "evil.yaml:3: units[0].extends: may name only a preset" in at.code[0].value
    assert at.button(key="hospital.run").disabled

    at.file_uploader(key="hospital.a.upload").set_value(("tiny.yaml", TINY.encode(), "application/x-yaml"))
    at.selectbox(key="hospital.b.source").set_value("upload").run()
    at.file_uploader(key="hospital.b.upload").set_value(("tiny-listening.yaml", TINY_LISTENING.encode(),
                                                        "application/x-yaml"))
    at.number_input(key="hospital.run.horizon_days").set_value(7)
    at.number_input(key="hospital.run.replications").set_value(2)
    at.run()
    assert not at.error and not at.warning, [e.value for e in (*at.error, *at.warning)]
    at.button(key="hospital.run").click().run(timeout=180)
    assert not at.exception, [e.value for e in at.exception]
    assert at.get("progress")[0].value == 100
    assert [m.label for m in at.metric][:2] == ["Harm per 1,000 pt-days", "Missed care"]
    headers = [h.value for h in at.header]
    assert headers.index("The hospital") < headers.index("Units side by side")
    assert "A day on the unit" not in [e.label for e in at.expander]
    units = at.table[-1].value  # the units' table, after the scorecard
    assert [re.sub(r"\\(.)", r"\1", i) for i in units.index] == ["North", "South ICU"]
    assert units.index.name == "unit"
    assert {"Harm: A", "Missed care %: B", "Burnout %: better"} <= {
        re.sub(r"\\(.)", r"\1", c) for c in units.columns}
    labels = {b.label for b in at.get("download_button")}
    assert {"Units, paired (CSV)", "Units' replications (Parquet)", "Report (HTML)"} <= labels
