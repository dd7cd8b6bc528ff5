"""``careos-sim compare`` and ``careos_sim.experiment.compare``: paired statistics on common random numbers, figures.

A is the default unit, B the same unit staffed 1:4 day and night (a file that ``extends`` the
default): B has more nurses, so call lights are answered sooner.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import math
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import careos_sim
from careos_sim.cli.main import main
from careos_sim.experiment.compare import PAIRED_COLUMNS, better_side
from careos_sim.measure.statistics import mean_ci
from careos_sim.measure.metrics import ALL

REPO = Path(__file__).resolve().parents[1]
DEFAULT = REPO / "scenarios" / "default.yaml"
WAIT = "timeliness.call_light_wait_min_mean"
QUICK = ["--horizon-days", "14", "--replications", "4", "--seed", "7", "--quiet"]
FILES = ["comparison.csv", "comparison.json", "figures", "manifest.json", "replications.parquet",
         "scenario-a.yaml", "scenario-b.yaml", "weekly.parquet"]
FIGURES = ["paired_differences.png", "time_series.png"]


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def variant(tmp_path_factory) -> Path:
    """The default unit with more nurses: what ``--set staff.nurses.ratio.day=4 --set ...night=4`` gives."""
    return write(tmp_path_factory.mktemp("variant") / "more-nurses.yaml", f"""
        extends: {DEFAULT}
        name: more-nurses
        staff:
          nurses:
            ratio:
              day: 4
              night: 4
        """)


def run_cli(*argv) -> tuple[int, str, str]:
    """Run the command in-process: (exit status, stdout, stderr); usable in module fixtures."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main([str(a) for a in argv])
    return rc, out.getvalue(), err.getvalue()


def compare_json(*argv) -> dict:
    rc, out, err = run_cli("compare", *argv, "--json")
    assert rc == 0, err
    return json.loads(out)  # the whole of stdout is one document


@pytest.fixture(scope="module")
def doc(variant) -> dict:
    return compare_json(DEFAULT, variant, *QUICK, "--workers", "1")


# --------------------------------------------------------------------------- the JSON document


def test_json_document_shape(doc, variant):
    assert {"a", "b", "replications", "seed", "horizon_days", "metrics"} <= set(doc)
    assert (doc["a"], doc["b"], doc["replications"], doc["seed"], doc["horizon_days"]) == \
        (str(DEFAULT), str(variant), 4, 7, 14.0)
    assert doc["names"] == {"a": "default-unit", "b": "more-nurses"}
    assert {m.name for m in ALL} == set(doc["metrics"])
    for name, m in doc["metrics"].items():
        assert set(m) == {"a", "b", "diff", "better", "unit", "direction"}, name
        for side in ("a", "b", "diff"):
            assert set(m[side]) == {"mean", "ci_low", "ci_high"}, name
        assert m["direction"] in ("lower", "higher", None), name
        assert m["better"] in ("a", "b", "neither"), name
    json.dumps(doc, allow_nan=False)  # strict JSON: NaN was written as null


def expected_better(m: dict) -> str:
    lo, hi = m["diff"]["ci_low"], m["diff"]["ci_high"]
    if m["direction"] is None or lo is None or lo <= 0 <= hi:
        return "neither"
    b_higher = lo > 0
    return "b" if b_higher == (m["direction"] == "higher") else "a"


def test_better_side_is_named_only_where_the_interval_excludes_zero(doc):
    for name, m in doc["metrics"].items():
        assert m["better"] == expected_better(m), name
    wait = doc["metrics"][WAIT]
    assert wait["diff"]["ci_high"] < 0 < wait["b"]["mean"] < wait["a"]["mean"]  # more nurses: shorter waits
    assert wait["better"] == "b"
    undecided = [n for n, m in doc["metrics"].items() if m["direction"] and m["better"] == "neither"]
    assert undecided  # some metrics do not differ at this sample size
    flow = [m for n, m in doc["metrics"].items() if n.startswith("flow.")]
    assert flow and all(m["direction"] is None and m["better"] == "neither" for m in flow)


def test_better_side_rules():
    assert better_side("lower", -2.0, -1.0) == "b"
    assert better_side("lower", 1.0, 2.0) == "a"
    assert better_side("higher", 1.0, 2.0) == "b"
    assert better_side("higher", -2.0, -1.0) == "a"
    assert better_side("lower", -1.0, 1.0) == better_side("lower", 0.0, 0.0) == "neither"
    assert better_side(None, 1.0, 2.0) == better_side("lower", math.nan, math.nan) == "neither"


def test_workers_do_not_change_the_json(doc, variant):
    rc, out, err = run_cli("compare", DEFAULT, variant, *QUICK, "--workers", "2", "--json")
    assert rc == 0, err
    assert json.loads(out) == doc
    rc, again, _ = run_cli("compare", DEFAULT, variant, *QUICK, "--workers", "1", "--json")
    assert again == out  # byte for byte


def test_comparing_a_scenario_with_itself_gives_zero_and_neither():
    doc = compare_json(DEFAULT, DEFAULT, *QUICK, "--workers", "1")
    for name, m in doc["metrics"].items():
        assert m["diff"]["mean"] in (0.0, None), name
        assert m["diff"]["ci_low"] in (0.0, None) and m["diff"]["ci_high"] in (0.0, None), name
        assert m["a"] == m["b"], name
        assert m["better"] == "neither", name


def test_b_runs_with_the_run_settings_of_a(tmp_path):
    other = write(tmp_path / "other.yaml", f"extends: {DEFAULT}\nname: other\nrun:\n  seed: 99\n  replications: 2\n")
    rc, out, err = run_cli("compare", DEFAULT, other, "--horizon-days", "7", "--workers", "1", "--quiet", "--json")
    assert rc == 0, err
    d = json.loads(out)
    default = careos_sim.load_scenario(DEFAULT).run
    assert (d["seed"], d["replications"]) == (default.seed, default.replications)
    lines = err.splitlines()  # then, on a week's run, the note of metrics it cannot define and precision warnings
    assert lines[0] == "careos-sim: B runs with A's replications, seed (paired on common random numbers)"
    assert all(not line or line.startswith(("note:", "  ", "careos-sim: warning: ")) for line in lines[1:]), err


# --------------------------------------------------------------------------- the Python API


@pytest.fixture(scope="module")
def scenarios(variant) -> tuple[careos_sim.ScenarioSpec, careos_sim.ScenarioSpec]:
    over = {"run.horizon_days": 14}
    return careos_sim.load_scenario(DEFAULT, over), careos_sim.load_scenario(variant, over)


def test_paired_differences_are_those_of_two_separate_runs(scenarios):
    a, b = scenarios
    cmp = careos_sim.compare(a, b, replications=3, seed=5, workers=1)
    run_a = careos_sim.run(a, replications=3, seed=5)
    run_b = careos_sim.run(b, replications=3, seed=5)
    pd.testing.assert_frame_equal(cmp.a.replications, run_a.replications)
    pd.testing.assert_frame_equal(cmp.b.replications, run_b.replications)
    pd.testing.assert_frame_equal(cmp.a.summary, run_a.summary)
    assert list(cmp.paired.columns) == list(PAIRED_COLUMNS)
    paired = cmp.paired.set_index("metric")
    for name in paired.index:
        diff = run_b.replications[name].to_numpy() - run_a.replications[name].to_numpy()
        expected = mean_ci(diff)
        got = tuple(paired.loc[name, ["diff_mean", "diff_ci_low", "diff_ci_high"]])
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=0, equal_nan=True, err_msg=name)
        assert paired.loc[name, "a_mean"] == pytest.approx(run_a.metric(name)["mean"], nan_ok=True)
    assert paired.loc[WAIT, "better"] == "b" and paired.loc[WAIT, "unit"] == "min"
    assert (cmp.seed, cmp.replications, cmp.horizon_days) == (5, 3, 14.0)


def test_api_runs_in_a_pool_and_keeps_the_numbers(scenarios):
    a, b = scenarios
    one = careos_sim.compare(a, b, replications=3, seed=5, workers=1)
    two = careos_sim.compare(a, b, replications=3, seed=5, workers=2)
    pd.testing.assert_frame_equal(one.paired, two.paired)
    pd.testing.assert_frame_equal(one.b.weekly, two.b.weekly)


def test_importing_the_package_does_not_import_matplotlib():
    code = ("import sys, careos_sim, careos_sim.cli.main, careos_sim.results.folders, careos_sim.experiment.compare; "
            "assert 'matplotlib' not in sys.modules")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr


# --------------------------------------------------------------------------- the table


def test_table(variant):
    rc, out, err = run_cli("compare", DEFAULT, variant, *[a for a in QUICK if a != "--quiet"], "--workers", "1")
    assert rc == 0, err
    assert "8/8" in err  # one progress bar on stderr for both sides' replications
    lines = out.splitlines()
    assert lines[:3] == [f"A: {DEFAULT} (default-unit)", f"B: {variant} (more-nurses)",
                         "4 paired replications on common random numbers, seed 7, 14 days after 0 days warm-up"]
    assert lines[4].split() == ["outcome", "A", "B", "B", "-", "A", "95%", "CI", "of", "B", "-", "A", "unit",
                                "better"]
    assert "Safety" in lines and "Volumes and flow (counts and diagnostics: no better side)" in lines
    rows = {line[:line.index("  ", 2)].strip(): line.split() for line in lines[6:] if line.startswith("  ")}
    assert rows["Call-light wait, mean"][-2:] == ["min", "B"]  # readable labels; the keys are in --json
    assert rows["Mean census"][-1] == "patients"  # a diagnostic: no better side
    assert rows["Admissions"][-1] == "patients"  # a count: no better side either


# --------------------------------------------------------------------------- --out


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", path
    return struct.unpack(">II", data[16:24])


def test_out_writes_tables_scenarios_figures_and_manifest(tmp_path, variant, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rc, out, err = run_cli("compare", DEFAULT, variant, *QUICK, "--workers", "2", "--out", "results", "--json")
    assert rc == 0, err
    folder = tmp_path / "results"
    assert sorted(p.name for p in folder.iterdir()) == FILES
    assert sorted(p.name for p in (folder / "figures").iterdir()) == FIGURES
    assert [p.name for p in tmp_path.iterdir()] == ["results"]  # no temporary folder left
    for name in FIGURES:
        width, height = png_size(folder / "figures" / name)
        assert width >= 500 and height >= 300 and (folder / "figures" / name).stat().st_size > 20_000

    printed = json.loads(out)
    assert json.loads((folder / "comparison.json").read_text()) == printed
    table = pd.read_csv(folder / "comparison.csv").set_index("metric")
    assert list(table.reset_index().columns) == list(PAIRED_COLUMNS)
    assert table.loc[WAIT, "diff_mean"] == pytest.approx(printed["metrics"][WAIT]["diff"]["mean"])
    assert table.loc[WAIT, "better"] == "b"

    reps = pd.read_parquet(folder / "replications.parquet")
    assert list(reps.columns[:3]) == ["side", "replication", "seed"]
    assert list(reps["side"]) == ["a"] * 4 + ["b"] * 4 and list(reps["replication"]) == [0, 1, 2, 3] * 2
    by_side = reps.set_index(["side", "replication"])[WAIT]
    assert (by_side["b"] - by_side["a"]).mean() == pytest.approx(printed["metrics"][WAIT]["diff"]["mean"])
    weekly = pd.read_parquet(folder / "weekly.parquet")
    assert set(weekly["side"]) == {"a", "b"} and set(weekly["week"]) == {0, 1}

    over = {"run.replications": 4, "run.seed": 7, "run.horizon_days": 14}
    assert careos_sim.load_scenario(folder / "scenario-a.yaml") == careos_sim.load_scenario(DEFAULT, over)
    assert careos_sim.load_scenario(folder / "scenario-b.yaml") == careos_sim.load_scenario(variant, over)

    manifest = json.loads((folder / "manifest.json").read_text())
    assert (manifest["kind"], manifest["seed"], manifest["replications"], manifest["horizon_days"]) == \
        ("compare", 7, 4, 14.0)
    assert manifest["scenarios"] == {"a": str(DEFAULT), "b": str(variant)}
    sha = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in (DEFAULT, variant)}
    assert sorted(manifest["scenario_files_sha256"]["a"].values()) == [sha[DEFAULT]]
    assert sorted(manifest["scenario_files_sha256"]["b"].values()) == sorted(sha.values())  # the extends chain
    assert manifest["figures"] == [f"figures/{n}" for n in ("time_series.png", "paired_differences.png")]
    assert manifest["package_version"] == careos_sim.__version__
    assert manifest["command"] == ["careos-sim", "compare", str(DEFAULT), str(variant), *QUICK, "--workers", "2",
                                   "--out", "results", "--json"]


# --------------------------------------------------------------------------- figures


def test_time_series_plots_the_requested_metrics_present_and_falls_back(scenarios):
    from careos_sim.results.figures import TIME_SERIES, differences_figure, series_to_plot, time_series_figure

    a, b = scenarios
    cmp = careos_sim.compare(a, b, replications=2, seed=5)
    weekly = cmp.a.weekly
    assert len(TIME_SERIES) == 5 and "workforce.burnout_pct" in TIME_SERIES and "learning.report_pct" in TIME_SERIES
    present = [m for m in TIME_SERIES if m in weekly.columns]
    chosen = series_to_plot(weekly, cmp.b.weekly, TIME_SERIES)
    assert chosen[:len(present)] == present and len(chosen) >= 2
    assert series_to_plot(weekly, weekly, ["no.such_metric"]) == ["effectiveness.missed_care_pct", WAIT]
    fake = pd.DataFrame({"week": [0], **{m: [1.0] for m in TIME_SERIES}})
    assert series_to_plot(fake, fake, TIME_SERIES) == list(TIME_SERIES)  # all present: no fallback

    fig = time_series_figure(cmp, [WAIT, "no.such_metric"])
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in panels] == [WAIT, "effectiveness.missed_care_pct"]
    assert panels[0].get_ylabel() == "min"
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["A: default-unit", "B: more-nurses"]

    fig = differences_figure(cmp)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert f"{WAIT} (min)" in labels and not any(label.startswith("flow.") for label in labels)
    assert "B better (more-nurses)" in [t.get_text() for t in fig.legends[0].get_texts()]


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("case", ["bad-b", "bad-both", "bad-set", "workers"])
def test_bad_input_exits_2_and_writes_nothing(case, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "bad.yaml", f"extends: {DEFAULT}\nunit:\n  bedz: 30\n")
    write(tmp_path / "worse.yaml", "staff:\n  nurses:\n    ratio:\n      day: 0\n")
    args, expected = {
        "bad-b": ([DEFAULT, "bad.yaml"], ["bad.yaml:3: unit.bedz: unknown key; did you mean 'beds'? (got 30)"]),
        "bad-both": (["worse.yaml", "bad.yaml"], ["worse.yaml:4: staff.nurses.ratio.day: must be > 0 (got 0)",
                                                  "bad.yaml:3: unit.bedz: unknown key; did you mean 'beds'? (got 30)"]),
        "bad-set": ([DEFAULT, DEFAULT, "--set", "unit.beds=0"], ["--set unit.beds=0: unit.beds: must be >= 1 (got 0)"]),
        "workers": ([DEFAULT, DEFAULT, "--workers", "0"], ["--workers: workers: must be >= 1 (got 0)"]),
    }[case]
    rc, out, err = run_cli("compare", *args, "--horizon-days", "1", "--quiet", "--json", "--out", "results")
    assert (rc, out) == (2, "")
    assert err.splitlines() == expected
    assert not (tmp_path / "results").exists()
