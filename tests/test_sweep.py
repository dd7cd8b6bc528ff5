"""Experiments and sweeps: files validated like scenarios, a results store that is the same
whatever runs it (1 or 2 workers, Dask), survives a kill, resumes without repeats, and records
failures; the analysis of each kind of design."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from careos_sim.experiment.analysis import analyze, prcc
from careos_sim.cli.main import main
from careos_sim.experiment.design import fractional_factorial, load_experiment
from careos_sim.spec.loader import InputError
from careos_sim.experiment.sweep import load_store, run_sweep

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = REPO / "scenarios"

#: a 2^2 factorial on the default unit, short enough for tests (about 0.2 s a run)
TINY = f"""\
name: tiny
base: {SCENARIOS / 'telling.yaml'}
set: {{run.warmup_days: 0}}
design: {{type: factorial}}
factors:
  - {{path: leadership.elements.valuing_people, name: valuing, levels: [0, 1]}}
  - {{path: staff.nurses.ratio.day, name: ratio, levels: [4, 6]}}
replications: 3
seed: 99
horizon_days: 10
metrics: [effectiveness.missed_care_pct, timeliness.call_light_wait_min_mean, workforce.burnout_pct]
"""


def write(tmp_path: Path, text: str, name: str = "exp.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def sweep(*args: str) -> int:
    return main(["sweep", *map(str, args), "--quiet"])


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> tuple[Path, pd.DataFrame, pd.DataFrame]:
    """The tiny experiment run uninterrupted in one process."""
    tmp = tmp_path_factory.mktemp("ref")
    exp = write(tmp, TINY)
    assert sweep(exp, "--out", tmp / "out", "--workers", "1") == 0
    return exp, pd.read_parquet(tmp / "out" / "runs.parquet"), pd.read_parquet(tmp / "out" / "weekly.parquet")


# --------------------------------------------------------------------------- the store


def test_store_has_a_row_per_run_with_factors_seed_and_every_metric(reference, tmp_path):
    exp, runs, weekly = reference
    assert len(runs) == 4 * 3
    assert list(runs.columns[:7]) == ["point", "replication", "seed", "status", "error", "valuing", "ratio"]
    assert (runs["status"] == "ok").all() and (runs["seed"] == 99).all()
    assert not runs.duplicated(["point", "replication"]).any()
    from careos_sim.measure.metrics import ALL

    assert {m.name for m in ALL} <= set(runs.columns)
    # the factor values are the point's: ratio 6 raises the call-light wait in every replication
    wait = runs.pivot(index="replication", columns="point", values="timeliness.call_light_wait_min_mean")
    assert (wait[2] > wait[0]).all() and (wait[3] > wait[1]).all()
    # a weekly row per run and week (10 days: weeks of 7 and 3 days)
    assert len(weekly) == 12 * 2 and set(weekly.groupby(["point", "replication"]).size()) == {2}
    manifest = json.loads((Path(exp).parent / "out" / "manifest.json").read_text())
    assert manifest["kind"] == "sweep" and manifest["complete"] and manifest["runs_done"] == 12
    assert manifest["experiment_sha256"] and manifest["package_version"] and manifest["seed"] == 99
    assert any(k.endswith("telling.yaml") for k in manifest["scenario_files_sha256"])
    assert manifest["started_at"] <= manifest["finished_at"]


def test_same_rows_with_one_or_two_workers(reference, tmp_path):
    exp, runs, weekly = reference
    assert sweep(exp, "--out", tmp_path / "two", "--workers", "2") == 0
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "two" / "runs.parquet"), runs)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "two" / "weekly.parquet"), weekly)


def test_same_rows_on_a_dask_local_cluster(reference, tmp_path):
    distributed = pytest.importorskip("distributed")
    exp, runs, weekly = reference
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as c:
        assert sweep(exp, "--out", tmp_path / "dask", "--scheduler", c.scheduler_address) == 0
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "dask" / "runs.parquet"), runs)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "dask" / "weekly.parquet"), weekly)
    manifest = json.loads((tmp_path / "dask" / "manifest.json").read_text())
    assert manifest["scheduler"].startswith("tcp://")


def test_killed_sweep_resumes_to_the_uninterrupted_result_without_repeats(reference, tmp_path):
    exp, runs, weekly = reference
    out = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "careos_sim.cli", "sweep", str(exp), "--out", str(out),
                             "--workers", "1", "--quiet"], start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while len(list((out / "parts").glob("run-*.parquet"))) < 4:
        assert proc.poll() is None, "the sweep ended before it could be killed"
        assert time.time() < deadline, "the sweep saved no runs in 120 s"
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)  # no chance to clean up: the worst case
    proc.wait()
    store = load_store(out)
    finished = len(store.runs)
    assert 4 <= finished < 12, "the kill should land part-way"
    assert not store.complete and len(store.missing) == 12 - finished
    assert not json.loads((out / "manifest.json").read_text())["complete"]

    assert sweep(exp, "--out", out, "--resume", "--workers", "2") == 0
    pd.testing.assert_frame_equal(pd.read_parquet(out / "runs.parquet"), runs)
    pd.testing.assert_frame_equal(pd.read_parquet(out / "weekly.parquet"), weekly)
    assert not (out / "parts").exists()
    # a second resume finds nothing to do
    exp_obj = load_experiment(exp)
    again = run_sweep(exp_obj, out, resume=True, workers=1)
    assert again.ran == 0 and again.skipped == 12


def test_ctrl_c_saves_finished_runs_and_says_how_to_resume(reference, tmp_path):
    exp, runs, _ = reference
    out = tmp_path / "int"
    proc = subprocess.Popen([sys.executable, "-m", "careos_sim.cli", "sweep", str(exp), "--out", str(out),
                             "--workers", "2"], start_new_session=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while len(list((out / "parts").glob("run-*.parquet"))) < 3:
        assert proc.poll() is None and time.time() < deadline
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    if proc.returncode == 0:
        pytest.skip("the sweep finished before the interrupt arrived")
    assert proc.returncode == 130, err
    assert "--resume" in err and "Traceback" not in err
    saved = pd.read_parquet(out / "runs.parquet")  # the parts were merged on the way out
    assert 3 <= len(saved) < 12 and not (out / "parts").exists()
    assert sweep(exp, "--out", out, "--resume", "--workers", "1") == 0
    pd.testing.assert_frame_equal(pd.read_parquet(out / "runs.parquet"), runs)


def test_resume_runs_only_what_is_missing(reference, tmp_path):
    exp, runs, _ = reference
    experiment = load_experiment(exp)
    first = run_sweep(experiment, tmp_path / "o", workers=1, stop_after=5)
    assert first.interrupted and first.ran == 5
    second = run_sweep(experiment, tmp_path / "o", resume=True, workers=2)
    assert (second.ran, second.skipped) == (7, 5)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "o" / "runs.parquet"), runs)


def test_a_failing_run_is_recorded_and_the_sweep_goes_on(reference, tmp_path, monkeypatch):
    exp, runs, _ = reference
    import careos_sim.model.replication

    real = careos_sim.model.replication.run_replication

    def flaky(scenario, seed, replication, event_log=False):
        if scenario.staff.nurses.ratio.day == 6 and replication == 1:
            raise RuntimeError("injected failure")
        return real(scenario, seed, replication, event_log)

    monkeypatch.setattr(careos_sim.model.replication, "run_replication", flaky)
    assert sweep(exp, "--out", tmp_path / "f", "--workers", "1") == 1  # finished, with failures
    stored = pd.read_parquet(tmp_path / "f" / "runs.parquet")
    failed = stored[stored["status"] == "failed"]
    assert sorted(failed["point"]) == [2, 3] and set(failed["replication"]) == {1}
    assert failed["error"].str.contains("RuntimeError: injected failure").all()
    assert failed["effectiveness.missed_care_pct"].isna().all()
    assert (stored["status"] == "ok").sum() == 10
    manifest = json.loads((tmp_path / "f" / "manifest.json").read_text())
    assert manifest["runs_failed"] == 2 and manifest["complete"]
    weekly = pd.read_parquet(tmp_path / "f" / "weekly.parquet")
    assert not ((weekly["point"] >= 2) & (weekly["replication"] == 1)).any()
    # the analysis leaves the failed runs out and says so
    analysis = analyze(tmp_path / "f")
    assert any("2 run(s) failed" in n for n in analysis.notes)
    # resume retries the failed runs only, and then matches the reference
    monkeypatch.setattr(careos_sim.model.replication, "run_replication", real)
    again = run_sweep(load_experiment(exp), tmp_path / "f", resume=True, workers=1)
    assert (again.ran, again.failed) == (2, 0)
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "f" / "runs.parquet"), runs)


def test_pilot_overrides(reference, tmp_path):
    exp, _, _ = reference
    assert sweep(exp, "--out", tmp_path / "p", "--replications", "1", "--horizon-days", "3",
                 "--set", "staff.nurses.ratio.night=5", "--workers", "1") == 0
    store = load_store(tmp_path / "p")
    assert len(store.runs) == 4 and store.manifest["horizon_days"] == 3 and store.manifest["replications"] == 1
    assert store.manifest["sets"] == ["staff.nurses.ratio.night=5"]
    # resuming with other settings would mix two experiments: refused
    assert sweep(exp, "--out", tmp_path / "p", "--resume", "--workers", "1") == 2


def test_out_folder_in_use_needs_resume(reference, tmp_path, capsys):
    exp, _, _ = reference
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "something.txt").write_text("x")
    assert sweep(exp, "--out", tmp_path / "busy", "--workers", "1") == 2  # the user's folder: not ours
    assert "not a careos-sim results folder" in capsys.readouterr().err
    assert sorted(p.name for p in (tmp_path / "busy").iterdir()) == ["something.txt"]
    run_sweep(load_experiment(exp), tmp_path / "ours", workers=1, stop_after=1)
    assert sweep(exp, "--out", tmp_path / "ours", "--workers", "1") == 2  # our sweep: resume it, or not
    assert "pass --resume" in capsys.readouterr().err
    assert sweep(exp, "--out", tmp_path / "none", "--resume", "--workers", "1") == 2
    assert "nothing to resume" in capsys.readouterr().err


# --------------------------------------------------------------------------- bad experiment files


@pytest.mark.parametrize("change, expected", [
    (("levels: [4, 6]", "levels: [4, 0]"), "exp.yaml:7: factors[1].levels[1]: staff.nurses.ratio.day: must be > 0"),
    (("design: {type: factorial}", "design: {type: factorial}\nreplicatoins: 2"),
     "exp.yaml:5: replicatoins: unknown key; did you mean 'replications'?"),
    (("levels: [4, 6]", "levels: [4, 5, 6]"), "factorial design needs exactly two levels (or low/high) per factor"),
    (("type: factorial", "type: sobol"), "a sobol design samples ranges: give low and high"),
    (("workforce.burnout_pct]", "workforce.burnout]"), "unknown metric 'workforce.burnout'; did you mean"),
    (("name: ratio", "name: valuing"), "factor names must be unique: valuing given twice"),
    (("seed: 99", "seed: -1"), "exp.yaml:9: seed: must be >= 0 (got -1)"),
    (("path: staff.nurses.ratio.day", "path: staff.nurses.ratio.dya"), "staff.nurses.ratio.dya: unknown key"),
    (("telling.yaml", "missing.yaml"), "exp.yaml:2: base: scenario file not found"),
])
def test_bad_experiment_files_get_located_errors(tmp_path, capsys, change, expected):
    exp = write(tmp_path, TINY.replace(*change))
    assert sweep(exp, "--out", tmp_path / "out", "--workers", "1") == 2
    err = capsys.readouterr().err
    assert expected in err, err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists(), "bad input must leave no output behind"


def test_malformed_and_empty_experiment_files(tmp_path, capsys):
    bad = write(tmp_path, "name: x\ndesign: {type: grid\n", "bad.yaml")
    assert sweep(bad) == 2
    assert "bad.yaml:3: <document>: malformed YAML" in capsys.readouterr().err
    empty = write(tmp_path, "", "empty.yaml")
    assert sweep(empty) == 2
    assert "empty.yaml:1: <document>: file is empty" in capsys.readouterr().err
    assert sweep(tmp_path / "nope.yaml") == 2
    assert "nope.yaml:1: <file>: file not found" in capsys.readouterr().err


def test_shipped_experiments_validate():
    sizes = {}
    for path in sorted((REPO / "experiments").glob("*.yaml")):
        exp = load_experiment(path)
        sizes[path.stem] = len(exp.design)
    assert sizes == {"capability-trap": 4, "sensitivity": 120, "six-elements": 64, "staffing": 10}
    staffing = load_experiment(REPO / "experiments" / "staffing.yaml")
    for row, scenario in zip(staffing.design.to_dict("records"), staffing.scenarios):
        assert scenario.staff.nurses.ratio.day == row["patients_per_nurse_day"]
        assert scenario.leadership.listening == (1.0 if row["system"] == "listening" else 0.0)
    trap = load_experiment(REPO / "experiments" / "capability-trap.yaml")
    assert [s.leadership.pressure_to_work_harder for s in trap.scenarios] == [1.0, 0.0, 0.0, 0.0]
    assert [s.leadership.listening for s in trap.scenarios] == [0.0, 0.0, 1.0, 1.0]
    listening, costs_first = trap.scenarios[2], trap.scenarios[3]
    # the costs-first variant differs from the listening preset only in its three costs
    assert costs_first.leadership.model_copy(update={
        "float_hours_per_week": listening.leadership.float_hours_per_week,
        "mechanisms": listening.leadership.mechanisms}) == listening.leadership
    assert costs_first.model_copy(update={"leadership": listening.leadership}) == listening


# --------------------------------------------------------------------------- analysis


def test_factorial_effects_match_the_means_at_each_level(reference, tmp_path):
    exp, runs, _ = reference
    analysis = analyze(Path(exp).parent / "out")
    effects = analysis.tables["effects"].set_index(["metric", "term"])
    m = "effectiveness.missed_care_pct"
    high = runs[runs["ratio"] == 6][m].mean()
    low = runs[runs["ratio"] == 4][m].mean()
    assert effects.loc[(m, "ratio"), "effect"] == pytest.approx(high - low)
    cell = runs.groupby(["valuing", "ratio"])[m].mean()
    interaction = ((cell[(1, 6)] - cell[(0, 6)]) - (cell[(1, 4)] - cell[(0, 4)])) / 2
    assert effects.loc[(m, "valuing:ratio"), "effect"] == pytest.approx(interaction)
    row = effects.loc[(m, "ratio")]
    assert row["ci_low"] < row["effect"] < row["ci_high"] and row["n"] == 3
    # more patients per nurse, longer call-light waits in every replication: the largest effect, ranked
    # first (its t-interval over 3 replications of 10 days may still reach below zero)
    w = "timeliness.call_light_wait_min_mean"
    row = effects.loc[(w, "ratio")]
    assert row["effect"] > 0 and row["rank"] == 1
    ranking = analysis.ranking[analysis.ranking["metric"] == w]
    assert ranking.iloc[0]["factor"] == "ratio"
    assert main(["analyze", str(Path(exp).parent / "out")]) == 0
    assert (Path(exp).parent / "out" / "analysis" / "effects.csv").exists()


def test_analyze_json(reference, capsys):
    exp, _, _ = reference
    assert main(["analyze", str(Path(exp).parent / "out"), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["kind"] == "factorial" and {r["term"] for r in doc["tables"]["effects"]} == {
        "valuing", "ratio", "valuing:ratio"}


def test_fractional_factorial_aliases_and_resolution():
    signs, aliases, resolution = fractional_factorial(6, ["F = ABCDE"])
    assert signs.shape == (32, 6) and resolution == 6
    assert (signs[:, 5] == signs[:, :5].prod(axis=1)).all()
    assert aliases["A"] == [] and aliases["AB"] == []  # resolution VI: no main effect or 2FI aliased below 3
    signs, aliases, resolution = fractional_factorial(4, ["D = ABC"])
    assert resolution == 4 and aliases["AB"] == ["CD"]
    # every column balanced and the main-effect columns orthogonal
    assert (signs.sum(axis=0) == 0).all() and (signs.T @ signs == 8 * np.eye(4)).all()


def test_fractional_factorial_sweep_lists_aliases(tmp_path):
    exp = write(tmp_path, TINY.replace("design: {type: factorial}", "design: {type: fractional_factorial, "
                                        "generators: ['C = AB']}").replace(
        "  - {path: staff.nurses.ratio.day, name: ratio, levels: [4, 6]}",
        "  - {path: staff.nurses.ratio.day, name: ratio, levels: [4, 6]}\n"
        "  - {path: leadership.elements.transparency, name: transparency, levels: [0, 1]}").replace(
        "replications: 3", "replications: 2"))
    assert sweep(exp, "--out", tmp_path / "o", "--workers", "1") == 0
    analysis = analyze(tmp_path / "o")
    assert len(load_store(tmp_path / "o").design) == 4
    effects = analysis.tables["effects"]
    row = effects[(effects["metric"] == "effectiveness.missed_care_pct") & (effects["term"] == "ratio")].iloc[0]
    assert row["aliases"] == "valuing:transparency"
    assert any("resolution 3" in n for n in analysis.notes)


def test_grid_with_named_levels(tmp_path):
    exp = write(tmp_path, f"""\
        name: g
        base: {SCENARIOS / 'telling.yaml'}
        set: {{run.warmup_days: 0}}
        design: {{type: grid}}
        factors:
          - {{path: staff.nurses.ratio.day, name: ratio, levels: [4, 5, 6]}}
          - name: system
            levels:
              telling: {SCENARIOS / 'telling.yaml'}
              no-pressure: {{leadership.pressure_to_work_harder: 0}}
        replications: 2
        seed: 5
        horizon_days: 7
        metrics: [effectiveness.missed_care_pct]
        """)
    assert sweep(exp, "--out", tmp_path / "o", "--workers", "2") == 0
    analysis = analyze(tmp_path / "o")
    grid = analysis.tables["grid"]
    assert len(grid) == 6 and set(grid["system"]) == {"telling", "no-pressure"}
    runs = load_store(tmp_path / "o").runs
    cell = runs[(runs["ratio"] == 5) & (runs["system"] == "telling")]["effectiveness.missed_care_pct"].mean()
    assert grid[(grid["ratio"] == 5) & (grid["system"] == "telling")]["mean"].iloc[0] == pytest.approx(cell)
    assert set(analysis.ranking["factor"]) == {"ratio", "system"}


def test_sobol_design_finds_the_factor_that_matters(tmp_path):
    """M/M/c unit: the call rate drives the wait; the wage cannot."""
    exp = write(tmp_path, f"""\
        name: s
        base: {SCENARIOS / 'verification' / 'mmc.yaml'}
        design: {{type: sobol, samples: 16, allow_small_samples: true}}
        factors:
          - {{path: patients.call_lights_per_hour, name: calls, low: 0.2, high: 0.5}}
          - {{path: staff.nurses.hourly_wage, name: wage, low: 30, high: 70}}
        replications: 1
        seed: 3
        horizon_days: 3
        metrics: [timeliness.call_light_wait_min_mean, efficiency.cost_per_patient_day]
        """)
    assert sweep(exp, "--out", tmp_path / "o", "--workers", "2") == 0
    analysis = analyze(tmp_path / "o")
    s = analysis.tables["sobol"].set_index(["metric", "factor"])
    wait = "timeliness.call_light_wait_min_mean"
    assert s.loc[(wait, "calls"), "ST"] > 0.8 and abs(s.loc[(wait, "wage"), "ST"]) < 0.05
    assert s.loc[(wait, "calls"), "ST_ci_low"] < s.loc[(wait, "calls"), "ST"] < s.loc[(wait, "calls"), "ST_ci_high"]
    # the M/M/c unit prices no nurse time: a metric with one value everywhere gets a note, not indices
    assert any("efficiency.cost_per_patient_day: the same value at every point" in n for n in analysis.notes)
    assert analysis.ranking[analysis.ranking["metric"] == wait].iloc[0]["factor"] == "calls"


def test_morris_and_lhs_designs(tmp_path):
    text = f"""\
        name: m
        base: {SCENARIOS / 'verification' / 'mmc.yaml'}
        design: {{type: morris, samples: 4}}
        factors:
          - {{path: patients.call_lights_per_hour, name: calls, low: 0.2, high: 0.5}}
          - {{path: staff.nurses.hourly_wage, name: wage, low: 30, high: 70}}
          - {{path: staff.nurses.on_duty, name: nurses, low: 2, high: 4}}
        replications: 1
        seed: 3
        horizon_days: 2
        metrics: [timeliness.call_light_wait_min_mean]
        """
    exp = write(tmp_path, text)
    e = load_experiment(exp)
    assert len(e.design) == 4 * 4 and set(e.design["nurses"]) <= {2, 3, 4}  # integer path: rounded
    assert sweep(exp, "--out", tmp_path / "m", "--workers", "2") == 0
    m = analyze(tmp_path / "m").tables["morris"].set_index("factor")
    assert m.loc["wage", "mu_star"] == pytest.approx(0.0, abs=1e-9)
    assert m.loc["calls", "mu_star"] > 0 and m.loc["nurses", "mu_star"] > 0
    lhs = write(tmp_path, text.replace("{type: morris, samples: 4}", "{type: lhs, samples: 24}"), "lhs.yaml")
    assert sweep(lhs, "--out", tmp_path / "l", "--workers", "2") == 0
    p = analyze(tmp_path / "l").tables["prcc"].set_index("factor")
    assert p.loc["calls", "prcc"] > 0.5 and p.loc["nurses", "prcc"] < -0.5
    assert p.loc["wage", "ci_low"] < 0 < p.loc["wage", "ci_high"]


def test_prcc_on_known_relations():
    rng = np.random.default_rng(1)
    x = rng.uniform(size=(200, 3))
    y = np.exp(3 * x[:, 0]) - 2 * x[:, 1] + 0.05 * rng.normal(size=200)
    est, lo, hi = prcc(x, y, seed=2, resamples=200)
    assert est[0] > 0.9 and est[1] < -0.5 and lo[2] < 0 < hi[2]


def test_analysis_of_a_partial_sweep_says_what_is_missing(reference, tmp_path):
    exp, _, _ = reference
    run_sweep(load_experiment(exp), tmp_path / "part", workers=1, stop_after=7)
    analysis = analyze(tmp_path / "part")
    assert any("incomplete: 5 of 12" in n for n in analysis.notes)
    assert any("replication(s) left out" in n for n in analysis.notes)


def test_load_store_refuses_other_folders(tmp_path):
    with pytest.raises(InputError, match="no manifest.json"):
        load_store(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({"kind": "compare"}))
    with pytest.raises(InputError, match="not a sweep"):
        load_store(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({"kind": "sweep"}))
    (tmp_path / "runs.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(InputError, match="runs.parquet: <file>: cannot be read as Parquet"):
        load_store(tmp_path)


def test_an_effect_of_a_factor_that_changes_nothing_is_exactly_zero(tmp_path):
    """Identical runs at both levels: the effect is 0, not floating-point rounding."""
    exp = write(tmp_path, TINY.replace("leadership.elements.valuing_people", "staff.agency.hourly_cost").replace(
        "levels: [0, 1]", "levels: [90, 95]").replace("replications: 3", "replications: 2"))
    assert sweep(exp, "--out", tmp_path / "o", "--workers", "1") == 0
    effects = analyze(tmp_path / "o").tables["effects"]
    wait = effects[(effects["metric"] == "timeliness.call_light_wait_min_mean")].set_index("term")
    assert wait.loc["valuing", "effect"] == 0.0 and wait.loc["valuing:ratio", "effect"] == 0.0
    assert wait.loc["ratio", "effect"] > 0


def test_a_small_sobol_sweep_runs_only_when_allowed_and_its_indices_are_flagged(tmp_path, capsys):
    """Below MIN_SOBOL_SAMPLES a Sobol design is refused at load; allowed, the manifest records it and
    the analysis flags every index small-sample (column flag of sobol.csv, and the notes)."""
    text = f"""\
        name: small
        base: {SCENARIOS / 'verification' / 'mmc.yaml'}
        design: {{type: sobol, samples: 4}}
        factors:
          - {{path: patients.call_lights_per_hour, name: calls, low: 0.2, high: 0.5}}
          - {{path: staff.nurses.on_duty, name: nurses, low: 2, high: 4}}
        replications: 1
        seed: 3
        horizon_days: 1
        metrics: [timeliness.call_light_wait_min_mean]
        """
    assert sweep(write(tmp_path, text), "--out", tmp_path / "no") == 2
    assert "a sobol design needs at least 64 base samples N" in capsys.readouterr().err
    assert not (tmp_path / "no").exists()
    exp = write(tmp_path, text.replace("samples: 4}", "samples: 4, allow_small_samples: true}"), "ok.yaml")
    assert sweep(exp, "--out", tmp_path / "o", "--workers", "1") == 0
    assert json.loads((tmp_path / "o" / "manifest.json").read_text())["design"]["allow_small_samples"] is True
    assert main(["analyze", str(tmp_path / "o")]) == 0
    assert "small-sample" in capsys.readouterr().out
    table = pd.read_csv(tmp_path / "o" / "analysis" / "sobol.csv")
    assert len(table) == 2 and (table["flag"] == "small-sample").all()
