"""``careos-sim calibrate``: history matching finds known parameters of the verification unit.

Targets are simulated at known values (call-light rate and minutes of the M/M/c unit, on a
seed of their own, as an observation would be), bands set around them, and the calibration
over a wide box must come back to those values. Also: the targets file's located errors, the
budget checked before anything runs, resume after a stop, 1 and 2 workers, ratio targets.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from careos_sim.experiment.calibrate import calibrate, load_targets
from careos_sim.experiment.calibrate.method import ci, combine, implausibility, ratio_of_means, select_points
from careos_sim.experiment.calibrate.run import set_outputs
from careos_sim.cli.main import main
from careos_sim.spec.loader import InputError, load_scenario
from careos_sim.experiment.sweep import load_store
from careos_sim.model.replication import run_replication

ROOT = Path(__file__).resolve().parents[1]
MMC = ROOT / "scenarios" / "verification" / "mmc.yaml"
RATE, MINUTES = "patients.call_lights_per_hour", "tasks.call_light.minutes.mean"
TRUTH = {RATE: 0.5, MINUTES: 6.0}  # rho = 30 x 0.5 / 60 x 6 / 2 = 0.75
HORIZON, WARMUP = 6, 0.5
OUTPUTS = {"rate": "flow.call_lights_per_patient_hour", "utilisation": "efficiency.nurse_utilization_pct"}


@pytest.fixture(scope="module")
def bands() -> dict[str, tuple[float, float]]:
    """+-5% around the truth's means over 4 replications of a seed the calibration does not use."""
    sc = load_scenario(MMC, {**TRUTH, "run.horizon_days": HORIZON, "run.warmup_days": WARMUP})
    runs = [run_replication(sc, 777, r).metrics for r in range(4)]
    return {name: (0.95 * np.mean([m[k] for m in runs]), 1.05 * np.mean([m[k] for m in runs]))
            for name, k in OUTPUTS.items()}


def targets_doc(bands: dict[str, tuple[float, float]], **over) -> dict:
    doc = {
        "name": "mmc-fit",
        "sides": {"unit": str(MMC)},
        "horizon_days": HORIZON,
        "warmup_days": WARMUP,
        "replications": 2,
        "seed": 5,
        "parameters": {RATE: {"low": 0.2, "high": 0.8}, MINUTES: {"low": 2.0, "high": 10.0}},
        "targets": [{"name": name, "metric": OUTPUTS[name], "low": float(lo), "high": float(hi)}
                    for name, (lo, hi) in bands.items()],
        "method": {"kind": "history_matching", "waves": 4, "runs_per_wave": 16},
        "confirm_replications": 4,
        "budget": 200,
    }
    doc.update(over)
    return doc


def write(path: Path, doc: dict | str) -> Path:
    path.write_text(doc if isinstance(doc, str) else yaml.safe_dump(doc, sort_keys=False))
    return path


def outputs(out: Path) -> tuple[pd.DataFrame, pd.DataFrame, dict, dict]:
    return (pd.read_parquet(out / "plausible.parquet"), pd.read_csv(out / "targets.csv"),
            yaml.safe_load((out / "chosen.yaml").read_text()), json.loads((out / "manifest.json").read_text()))


@pytest.fixture(scope="module")
def fitted(tmp_path_factory, bands):
    tmp = tmp_path_factory.mktemp("fit")
    file = write(tmp / "targets.yaml", targets_doc(bands))
    result = calibrate(load_targets(file), tmp / "out", workers=1)
    return file, tmp / "out", result


# --------------------------------------------------------------------------- the fit


def test_chosen_point_is_the_truth(fitted):
    _, out, result = fitted
    sets, targets, chosen, manifest = outputs(out)
    assert result.outcome == "plausible" and manifest["outcome"] == "plausible" and manifest["complete"]
    values = chosen["unit"]
    # the box is 0.2-0.8 and 2-10 (rho from 0.1 to 2); the bands allow about +-5% on the rate and +-10% on
    # the minutes
    assert values[RATE] == pytest.approx(TRUTH[RATE], rel=0.05), values
    assert values[MINUTES] == pytest.approx(TRUTH[MINUTES], rel=0.10), values
    plausible = sets[sets["plausible"]]
    assert len(plausible) >= 5
    for path, truth in TRUTH.items():
        assert plausible[path].min() <= truth <= plausible[path].max(), (path, plausible[path].describe())
        # and they are near it: the wave-1 box is ruled out
        assert plausible[path].max() - plausible[path].min() < 0.3 * (sets[path].max() - sets[path].min())
    assert targets["inside"].all(), targets
    # the confirmation ran the chosen values as written in chosen.yaml
    confirm = load_store(out / "confirm").runs
    assert len(confirm) == 4 and confirm[RATE].iloc[0] == values[RATE]
    assert manifest["runs_used"] == 4 * 16 * 2 + 4
    assert [w["wave"] for w in manifest["waves"]] == [1, 2, 3, 4, 0]
    # wave 1 is a Latin hypercube over the box; later waves are inside the non-implausible part of it
    assert 0 < manifest["waves"][3]["non_implausible_fraction"] < manifest["waves"][1]["non_implausible_fraction"] < 1
    assert [Path(f).resolve() for f in manifest["scenario_files_sha256"]["unit"]] == [MMC]
    # provenance as every results folder has it
    assert {"simpy", "numpy", "scipy"} <= set(manifest["versions"]) and manifest["platform"]["platform"]
    assert "git_dirty" in manifest and manifest["wall_seconds"] > 0
    assert manifest["wall_seconds_total"] >= manifest["wall_seconds"]
    # per-year metrics of every run are stored
    runs = load_store(out / "wave-1").runs
    assert runs["y1.flow.call_lights_per_patient_hour"].equals(runs["flow.call_lights_per_patient_hour"])


@pytest.fixture(scope="module")
def small(tmp_path_factory, bands):
    """A small calibration (2 waves of 6 sets, 26 runs), run uninterrupted in one process."""
    tmp = tmp_path_factory.mktemp("small")
    doc = targets_doc(bands, horizon_days=3, method={"kind": "history_matching", "waves": 2, "runs_per_wave": 6},
                      confirm_replications=2)
    file = write(tmp / "targets.yaml", doc)
    calibrate(load_targets(file), tmp / "out", workers=1)
    return file, tmp / "out"


def same_outputs(a: Path, b: Path) -> None:
    for x, y in zip(outputs(a)[:3], outputs(b)[:3]):
        if isinstance(x, pd.DataFrame):
            pd.testing.assert_frame_equal(x, y)
        else:
            assert x == y


def test_resume_after_stop_gives_the_same_results_without_repeating_runs(small, tmp_path):
    file, ref = small
    out = tmp_path / "out"
    first = calibrate(load_targets(file), out, workers=1, stop_after=15)  # inside wave 2
    assert first.interrupted and first.ran == 15
    assert not (out / "plausible.parquet").exists()
    assert json.loads((out / "manifest.json").read_text())["complete"] is False
    second = calibrate(load_targets(file), out, resume=True, workers=1)
    assert not second.interrupted
    assert second.kept == 15 and first.ran + second.ran == 2 * 6 * 2 + 2
    same_outputs(ref, out)
    # resuming a finished calibration runs nothing and changes nothing
    third = calibrate(load_targets(file), out, resume=True, workers=1)
    assert third.ran == 0
    same_outputs(ref, out)


def test_ctrl_c_keeps_finished_runs_and_prints_the_resume_command(small, tmp_path, monkeypatch, capsys):
    import careos_sim.experiment.calibrate.run as run_module

    file, ref = small
    calls, real = [0], run_module.run_with_years

    def interrupted(*job):
        calls[0] += 1
        if calls[0] == 16:
            raise KeyboardInterrupt
        return real(*job)

    out = tmp_path / "out"
    monkeypatch.setattr(run_module, "run_with_years", interrupted)
    assert main(["calibrate", str(file), "--out", str(out), "--quiet", "-w", "1"]) == 130
    err = capsys.readouterr().err
    assert load_store(out / "wave-2").runs.shape[0] == 3 and load_store(out / "wave-1").complete
    command = err.strip().splitlines()[-1].split("Complete the calibration with: ")[1].split()
    assert command[:2] == ["careos-sim", "calibrate"] and "--resume" in command
    monkeypatch.setattr(run_module, "run_with_years", real)
    assert main([*command[1:], "--quiet", "-w", "1", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["ran"] == 2 * 6 * 2 + 2 - 15 and doc["kept"] == 15
    same_outputs(ref, out)


def test_two_workers_give_the_same_results(small, tmp_path):
    file, ref = small
    calibrate(load_targets(file), tmp_path / "out", workers=2)
    same_outputs(ref, tmp_path / "out")


def test_resume_refuses_another_calibration(small, tmp_path):
    file, ref = small
    with pytest.raises(InputError, match="different calibration"):
        calibrate(load_targets(file, replications=3), ref, resume=True, workers=1)
    with pytest.raises(InputError, match="not empty"):
        calibrate(load_targets(file), ref, workers=1)


def test_targets_no_parameter_set_can_reach_is_a_finding(bands, tmp_path):
    doc = targets_doc(bands, horizon_days=3, replications=1,
                      method={"kind": "history_matching", "waves": 3, "runs_per_wave": 6}, confirm_replications=2)
    doc["targets"][0].update(low=5.0, high=6.0)  # ten times any rate in the box
    result = calibrate(load_targets(write(tmp_path / "t.yaml", doc)), tmp_path / "out", workers=1)
    assert result.outcome == "none_plausible"
    assert "no parameter set in the box is consistent" in result.message
    assert [w.wave for w in result.waves] == [1, 2, 0]  # wave 2 found nothing to run
    sets, targets, _, manifest = outputs(tmp_path / "out")
    assert not sets["plausible"].any() and not manifest["chosen"]["plausible"]
    assert not targets.loc[0, "inside"]
    assert "NOT plausible" in (tmp_path / "out" / "targets.md").read_text()


# --------------------------------------------------------------------------- ratios and years


def test_implausibility_rules_and_point_selection():
    i = np.array([[0.5, 4.0, 1.0], [2.0, 2.5, 2.9], [np.inf, 0.1, 0.2]])
    assert combine(i, "max").tolist() == [4.0, 2.9, np.inf]
    assert combine(i, "second_max").tolist() == [1.0, 2.5, 0.2]  # one target may miss
    z, var_obs = np.array([1.0]), np.array([0.25])
    got = implausibility(z, var_obs, np.array([[2.0], [np.nan]]), np.array([[0.5]]), np.array([0.25]))
    assert got[0, 0] == pytest.approx(1.0) and got[1, 0] == np.inf
    cand = np.random.default_rng(0).random((500, 2))
    a, b = select_points(cand, 10, 42), select_points(cand, 10, 42)
    assert np.array_equal(a, b) and len(np.unique(a, axis=0)) == 10
    assert np.array_equal(select_points(cand[:4], 10, 1), cand[:4])  # fewer than asked: all of them


def test_ratio_of_means_delta_method_agrees_with_the_bootstrap():
    rng = np.random.default_rng(1)
    common = rng.normal(10, 2, 200)  # common random numbers make the two sides move together
    a, b = 0.7 * common + rng.normal(0, 0.3, 200), common + rng.normal(0, 0.3, 200)
    r, var, n = ratio_of_means(a, b)
    assert r == pytest.approx(a.mean() / b.mean()) and n == 200
    boot = [a[i].mean() / b[i].mean() for i in rng.integers(0, 200, (4000, 200))]
    assert np.sqrt(var) == pytest.approx(np.std(boot), rel=0.15)
    # pairing: far tighter than for independent sides of the same spread
    _, unpaired, _ = ratio_of_means(a, rng.permutation(b))
    assert var < unpaired / 10
    lo, hi = ci(r, var, n)
    assert lo < 0.7 < hi


def test_set_outputs_years_and_ratios(bands):
    cal = load_targets_of(bands, [{"name": "y12", "metric": "workforce.burnout_pct", "side": "a", "years": [1, 2],
                                   "low": 1, "high": 2},
                                  {"name": "r", "metric": "workforce.burnout_pct", "ratio": ["b", "a"], "year": 2,
                                   "low": 0.5, "high": 1}], horizon_days=728, budget=1000)
    runs = pd.DataFrame([{"wave": 1, "set": 0, "side": s, "replication": r, "status": "ok",
                          "workforce.burnout_pct": 0.0, "y1.workforce.burnout_pct": 10.0 + r + k,
                          "y2.workforce.burnout_pct": 20.0 + 3 * r + k * (2 if s == "b" else 1)}
                         for s, k in (("a", 0), ("b", 1)) for r in range(3)])
    mean, var, n = set_outputs(cal, runs, pd.DataFrame({"wave": [1], "set": [0]}))
    a1, a2 = np.array([10, 11, 12.0]), np.array([20, 23, 26.0])
    assert mean[0, 0] == pytest.approx(((a1 + a2) / 2).mean())  # the mean of the years' values
    assert var[0, 0] == pytest.approx(((a1 + a2) / 2).var(ddof=1) / 3)
    assert mean[0, 1] == pytest.approx((a2 + 2).mean() / a2.mean())
    assert n.tolist() == [[3, 3]]


def load_targets_of(bands, targets, **over) -> object:
    import tempfile

    d = Path(tempfile.mkdtemp())
    doc = targets_doc(bands, sides={"a": str(MMC), "b": str(MMC)}, targets=targets, **over)
    return load_targets(write(d / "t.yaml", doc))


def test_ratio_target_end_to_end(tmp_path):
    """Two sides, two nurses and three: the wait ratio, its delta-method interval, and the paired runs."""
    three = write(tmp_path / "three.yaml", f"extends: {MMC}\nstaff:\n  nurses:\n    on_duty: 3\n")
    doc = {"sides": {"two": str(MMC), "three": str(three)}, "horizon_days": 3, "warmup_days": 0.5, "replications": 2,
           "seed": 3, "parameters": {RATE: {"low": 0.4, "high": 0.6}},
           "targets": [{"name": "wait ratio", "metric": "timeliness.call_light_wait_min_mean",
                        "ratio": ["three", "two"], "low": 0.05, "high": 0.5},
                       {"name": "wait, two", "metric": "timeliness.call_light_wait_min_mean", "side": "two",
                        "low": 3, "high": 12}],
           "method": {"kind": "history_matching", "waves": 1, "runs_per_wave": 3}, "confirm_replications": 6,
           "budget": 30}
    out = tmp_path / "out"
    assert main(["calibrate", str(write(tmp_path / "t.yaml", doc)), "--out", str(out), "--quiet", "-w", "1"]) == 0
    targets = pd.read_csv(out / "targets.csv").set_index("target")
    runs = load_store(out / "confirm").runs
    w = runs.pivot(index="replication", columns="side", values="timeliness.call_light_wait_min_mean")
    row = targets.loc["wait ratio"]
    assert row["mean"] == pytest.approx(w["three"].mean() / w["two"].mean())
    r, var, n = ratio_of_means(w["three"].to_numpy(), w["two"].to_numpy())
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(ci(r, var, n))
    assert row["ci_low"] < row["mean"] < row["ci_high"] and row["replications"] == 6
    assert targets.loc["wait, two", "mean"] == pytest.approx(w["two"].mean())
    chosen = yaml.safe_load((out / "chosen.yaml").read_text())
    assert set(chosen) == {"two", "three"} and chosen["two"] == chosen["three"]


# --------------------------------------------------------------------------- the file's errors


BAD = [
    # (change to the document, expected text of the error, text on the line it names)
    (lambda d: d.update(methd=1), "methd: unknown key; did you mean 'method'?", "methd"),
    (lambda d: d["targets"][0].update(metric="flow.call_lights_per_hour"),
     "targets[0].metric: unknown metric; did you mean 'flow.call_lights_per_patient_hour'?", "metric"),
    (lambda d: d["targets"][0].update(side="nope"), "targets[0].side: unknown side; the sides are unit", "side"),
    (lambda d: d["targets"][1].update(low=90.0, high=80.0), "targets[1].low: low must be below high", "low"),
    (lambda d: d.update(budget=50), "budget: too small for this calibration: 4 waves x 16 parameter sets x 1 sides "
                                    "x 2 replications + 4 confirmation replications x 1 sides = 132 runs", "budget"),
    (lambda d: d["parameters"].update({MINUTES: {"low": -1.0, "high": 5.0}}),
     "parameters.tasks.call_light.minutes.mean.low: on side unit: tasks.call_light.minutes.mean: must be > 0", "low"),
    (lambda d: d["parameters"].update({"staff.nurses.on_dooty": {"low": 1, "high": 3}}),
     "parameters.staff.nurses.on_dooty: on side unit: staff.nurses.on_dooty: unknown key; did you mean 'on_duty'?", "on_dooty"),
    (lambda d: d["targets"][0].update(year=1), "targets[0].year: year 1 is not a whole 52-week year", "year"),
    (lambda d: d["parameters"][RATE].update(sides=["other"]), "parameters.patients.call_lights_per_hour.sides[0]: "
                                                               "unknown side", "other"),
    (lambda d: d["method"].update(kind="abc"), "method.kind: must be one of 'history_matching'", "kind"),
    (lambda d: d.update(name="../elsewhere"), "name: a name is letters, digits", "name"),
    (lambda d: d["parameters"][RATE].update(high=float("inf")), "parameters.patients.call_lights_per_hour.high: "
                                                                "must be a finite number", "high"),
    (lambda d: d["targets"][1].update(ratio=["unit", "unit"]), "targets[1].ratio: a ratio needs two different sides",
     "ratio"),
]


@pytest.mark.parametrize("change,message,on_line", BAD, ids=[m.split(":")[0] for _, m, _ in BAD])
def test_targets_file_errors_are_located_and_nothing_is_written(bands, tmp_path, capsys, change, message, on_line):
    doc = targets_doc(bands)
    change(doc)
    file = write(tmp_path / "t.yaml", doc)
    out = tmp_path / "out"
    assert main(["calibrate", str(file), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert message in err, err
    # located: the file and the line of the key at fault
    first = [line for line in err.splitlines() if message in line][0]
    source, line = first.split(":")[:2]
    assert source == str(file) and line.isdigit(), first
    assert on_line in file.read_text().splitlines()[int(line) - 1], first
    assert not out.exists()


def test_budget_option_and_malformed_yaml(bands, tmp_path, capsys):
    file = write(tmp_path / "t.yaml", targets_doc(bands))
    assert main(["calibrate", str(file), "--out", str(tmp_path / "o"), "--budget", "131", "--quiet"]) == 2
    assert "--budget: budget: too small for this calibration" in capsys.readouterr().err
    bad = write(tmp_path / "bad.yaml", "name: x\nsides: [unclosed\n")
    assert main(["calibrate", str(bad), "--out", str(tmp_path / "o"), "--quiet"]) == 2
    assert "malformed YAML" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_shipped_targets_file_is_valid():
    cal = load_targets(ROOT / "experiments" / "calibration" / "default-unit.yaml")
    assert cal.horizon_days == 1092 and cal.runs_needed() <= cal.budget
    names = {t.metric for t in cal.targets}
    assert {"workforce.burnout_pct", "safety.harm_per_1000_patient_days", "efficiency.cost_per_patient_day"} <= names
    # every telling baseline band in each of the three years taken alone; the effects over years 1 and 2
    telling = {(t.metric, t.years) for t in cal.targets if t.side == "telling"}
    assert telling and all((m, (y,)) in telling for m, _ in telling for y in (1, 2, 3))
    assert all(t.years == (1, 2) for t in cal.targets if t.ratio)


def test_analyze_of_a_calibration_wave_is_a_located_error(fitted, capsys):
    """A wave folder is a sweep store of a design analyze does not read: exit 2, no traceback."""
    _, out, _ = fitted
    assert main(["analyze", str(out / "wave-1")]) == 2
    err = capsys.readouterr().err
    assert "manifest.json: design.type:" in err and "history_matching" in err and "Traceback" not in err
