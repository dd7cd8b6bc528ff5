"""Guardrails: cost caps checked before anything is built (runs, headcount, expected tasks, simulated
days with warm-up), the --allow-large override, factors that write the same path, Sobol and Morris
designs too small to mean anything, and indices outside their possible range flagged.

Every refusal goes through ``careos_sim.cli.main.main``: exit status 2, the file, line, path, rule and
value on stderr, and no traceback."""

from __future__ import annotations

import json
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from careos_sim.experiment import design as design_module
from careos_sim.spec import limits
from careos_sim.experiment.analysis import analyze
from careos_sim.cli.main import main
from careos_sim.experiment.design import MIN_MORRIS_TRAJECTORIES, MIN_SOBOL_SAMPLES, ExperimentSpec, design_size
from careos_sim.spec.limits import Caps, check_run_cost, estimate
from careos_sim.spec.scenario import ScenarioSpec
from careos_sim.spec.loader import InputError, _parse_yaml, load_any, load_scenario, validate_model

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = REPO / "scenarios"
DEFAULT = SCENARIOS / "default.yaml"
MMC = SCENARIOS / "verification" / "mmc.yaml"
WAIT = "timeliness.call_light_wait_min_mean"
ELEMENTS = ["valuing_people", "appreciating_complexity", "integrating_quality", "quality_team_as_operators",
            "clinical_language", "transparency"]


@pytest.fixture(autouse=True)
def _default_caps(monkeypatch):
    """The documented default caps, whatever the environment running the tests says."""
    for f in ("MAX_RUNS", "MAX_NURSES", "MAX_EXPECTED_TASKS", "MAX_REPLICATION_DAYS"):
        monkeypatch.delenv(f"{limits.ENV_PREFIX}{f}", raising=False)


def write(folder: Path, text: str, name: str = "exp.yaml") -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text))
    return path


def refused(capsys, argv: list[str]) -> str:
    """Run the command; it must exit 2 with located messages and no traceback. Returns stderr."""
    code = main([str(a) for a in argv])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err and "internal error" not in err
    return err


def line_of(path: Path, needle: str, nth: int = 1) -> int:
    hits = [i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line]
    return hits[nth - 1]


def grid_file(folder: Path, factors: int, levels: int, replications: int = 1, extra: str = "",
              name: str = "exp.yaml") -> Path:
    paths = [f"leadership.elements.{e}" for e in ELEMENTS] + ["leadership.listening",
                                                                "leadership.pressure_to_work_harder"]
    values = ", ".join(f"{v / levels:.3f}" for v in range(levels))
    body = "\n".join(f"  - {{path: {paths[i]}, name: f{i}, levels: [{values}]}}" for i in range(factors))
    return write(folder, f"name: huge\nbase: {DEFAULT}\ndesign: {{type: grid}}\nfactors:\n{body}\n"
                         f"replications: {replications}\nhorizon_days: 7\n{extra}", name)


# --------------------------------------------------------------------------- huge designs


def test_a_grid_of_ten_million_points_is_refused_fast_before_any_point_is_generated(tmp_path, capsys, monkeypatch):
    exp = grid_file(tmp_path, factors=7, levels=10)  # 10^7 points

    def never(*a, **k):
        raise AssertionError("design points were generated")

    monkeypatch.setattr(design_module, "design_values", never)
    start = time.perf_counter()
    err = refused(capsys, ["sweep", exp, "--out", tmp_path / "o", "--quiet"])
    assert time.perf_counter() - start < 1.0
    assert f"{exp}:{line_of(exp, 'design:')}: design: " in err
    assert "10,000,000 points x 1 replications" in err and "max_runs = 100,000" in err
    assert "(got 10000000)" in err and "--allow-large" in err and "CAREOS_SIM_MAX_RUNS" in err
    assert not (tmp_path / "o").exists()


def test_design_size_is_computed_from_the_file_for_every_kind(tmp_path):
    def spec(text: str) -> ExperimentSpec:
        return validate_model(ExperimentSpec, _parse_yaml(write(tmp_path, text), "exp.yaml"))

    ranges = "\n".join(f"  - {{path: leadership.elements.{e}, low: 0, high: 1}}" for e in ELEMENTS[:3])
    assert design_size(spec(f"base: x\ndesign: {{type: sobol, samples: 64}}\nfactors:\n{ranges}\n")) == 64 * 5
    assert design_size(spec(f"base: x\ndesign: {{type: morris, samples: 10}}\nfactors:\n{ranges}\n")) == 10 * 4
    assert design_size(spec(f"base: x\ndesign: {{type: lhs, samples: 50}}\nfactors:\n{ranges}\n")) == 50
    two = "\n".join(f"  - {{path: leadership.elements.{e}, levels: [0, 1]}}" for e in ELEMENTS)
    assert design_size(spec(f"base: x\ndesign: {{type: factorial}}\nfactors:\n{two}\n")) == 64
    assert design_size(spec(f"base: x\ndesign: {{type: fractional_factorial, generators: ['F = ABCDE']}}\n"
                            f"factors:\n{two}\n")) == 32


def test_a_factorial_of_forty_factors_is_refused_at_the_design_line(tmp_path, capsys):
    body = "  - {path: leadership.mechanisms.report_channel, name: x, levels: [0, 1]}"
    many = "\n".join(f"  - {{name: n{i}, levels: {{a: {{}}, b: {{}}}}}}" for i in range(40))
    exp = write(tmp_path, f"base: {DEFAULT}\ndesign: {{type: factorial}}\nfactors:\n{body}\n{many}\n")
    err = refused(capsys, ["sweep", exp, "--quiet"])
    assert f"{exp}:2: design: the design's runs (2,199,023,255,552 points" in err


def test_a_huge_sampled_design_is_refused_from_its_sample_count(tmp_path, capsys):
    exp = write(tmp_path, f"""\
        base: {MMC}
        design: {{type: sobol, samples: 65536}}
        factors:
          - {{path: patients.call_lights_per_hour, low: 0.2, high: 0.5}}
          - {{path: staff.nurses.hourly_wage, low: 30, high: 70}}
        replications: 1
        horizon_days: 1
        """)
    err = refused(capsys, ["sweep", exp, "--quiet"])
    assert f"{exp}:2: design: the design's runs (262,144 points x 1 replications)" in err


def test_replications_that_make_a_design_too_large_are_blamed(tmp_path, capsys):
    exp = grid_file(tmp_path, factors=2, levels=10, replications=2000)  # 100 points x 2,000
    err = refused(capsys, ["sweep", exp, "--quiet"])
    assert f"{exp}:{line_of(exp, 'replications:')}: replications: the design's runs (100 points x 2,000" in err
    assert "(got 2000)" in err
    err = refused(capsys, ["sweep", grid_file(tmp_path, 2, 10, 1), "--replications", "5000", "--quiet"])
    assert "--replications: replications: the design's runs (100 points x 5,000 replications)" in err


# --------------------------------------------------------------------------- nurses and beds


def test_a_ratio_that_would_roster_a_huge_staff_is_refused(capsys):
    err = refused(capsys, ["run", DEFAULT, "--set", "staff.nurses.ratio.day=0.0001", "--quiet"])
    assert f"{DEFAULT}: staff.nurses.ratio.day: the roster's headcount" in err
    assert "is 700,012, above the cap max_nurses = 5,000" in err and "(got 0.0001)" in err


def test_few_shifts_per_week_that_inflate_the_headcount_are_blamed(capsys):
    err = refused(capsys, ["run", DEFAULT, "--set", "staff.nurses.shifts_per_week=0.01", "--quiet"])
    assert "staff.nurses.shifts_per_week: the roster's headcount" in err and "(got 0.01)" in err


def test_a_million_beds_is_refused_by_the_schema(capsys):
    err = refused(capsys, ["run", DEFAULT, "--set", "unit.beds=1000000", "--quiet"])
    assert "unit.beds" in err and "1000000" in err


def test_headcount_matches_the_roster_without_building_it():
    from careos_sim.model.nurses import headcount

    for sets in ([], ["unit.beds=500", "staff.nurses.ratio.day=1"], ["staff.nurses.shifts_per_week=3.5"]):
        scenario = load_scenario(DEFAULT, sets)
        assert limits.headcount(scenario) == headcount(scenario) == estimate(scenario).nurses
    assert limits.headcount(load_scenario(MMC)) == 2  # continuous roster: on_duty


def test_a_factor_that_makes_a_point_too_large_is_located_at_its_level(tmp_path, capsys):
    exp = write(tmp_path, f"""\
        base: {DEFAULT}
        design: {{type: grid}}
        factors:
          - {{path: staff.nurses.ratio.day, name: ratio, levels: [5, 0.001]}}
        replications: 1
        horizon_days: 7
        """)
    err = refused(capsys, ["sweep", exp, "--quiet"])
    assert f"{exp}:4: factors[0].levels[1]: staff.nurses.ratio.day: the roster's headcount" in err
    assert "(at design point 1)" in err and "(got 0.001)" in err


# --------------------------------------------------------------------------- expected tasks


def test_expected_tasks_cap_names_beds_when_the_unit_is_large(capsys):
    err = refused(capsys, ["run", DEFAULT, "--set", "unit.beds=500", "--horizon-days", "3650", "-r", "1", "--quiet"])
    assert f"{DEFAULT}: unit.beds: the expected tasks of one replication" in err
    assert "above the cap max_expected_tasks = 25,000,000" in err and "(got 500)" in err


def test_expected_tasks_cap_names_a_long_horizon_given_on_the_command_line(capsys):
    err = refused(capsys, ["run", DEFAULT, "--set", "unit.beds=250", "--horizon-days", "3650", "-r", "1", "--quiet"])
    assert "--horizon-days: horizon_days: the expected tasks of one replication" in err and "(got 3650" in err


def test_expected_tasks_cap_names_call_lights_when_they_dominate(capsys):
    err = refused(capsys, ["run", DEFAULT, "--set", "patients.call_lights_per_hour=60", "--quiet"])
    assert "patients.call_lights_per_hour: the expected tasks of one replication" in err and "(got 60" in err


def test_expected_tasks_estimate():
    s = load_scenario(DEFAULT)
    per_patient_day = 19 + 24 * 0.45  # scheduled rounds + call lights
    expected = 30 * 730 * per_patient_day + 2 * s.admissions_per_day() * 730
    assert estimate(s).expected_tasks == pytest.approx(expected)
    assert estimate(load_scenario(MMC)).expected_tasks == pytest.approx(30 * 62 * 12)  # census held full


# --------------------------------------------------------------------------- warm-up


def test_warm_up_counts_in_every_estimate():
    s = load_scenario(DEFAULT, ["run.warmup_days=100"])
    base = load_scenario(DEFAULT)
    assert estimate(s, 3).replication_days == 3 * 830 and estimate(base, 3).replication_days == 3 * 730
    assert estimate(s).expected_tasks / estimate(base).expected_tasks == pytest.approx(830 / 730)


def test_a_warm_up_that_tips_the_run_over_a_cap_is_named(capsys):
    err = refused(capsys, ["run", DEFAULT, "--set", "unit.beds=500", "--horizon-days", "1600",
                           "--set", "run.warmup_days=200", "-r", "1", "--quiet"])
    assert "run.warmup_days: the expected tasks of one replication (beds x 1800 days incl. warm-up" in err
    assert "(got 200" in err


def test_an_experiments_warm_up_counts_in_its_simulated_days(tmp_path, capsys):
    # 100 points x 10 replications x 7 days fits; with 1,000 days of warm-up it does not
    ok = grid_file(tmp_path, factors=2, levels=10, replications=10, name="ok.yaml")
    with pytest.raises(InputError) as exc:
        design_module.load_experiment(grid_file(tmp_path, 2, 10, 10, "set: {run.warmup_days: 1000}\n"),
                                      caps=Caps(max_runs=None))
    assert "the design's simulated days (100 points x 10 replications x 1007 days incl. warm-up)" in str(exc.value)
    assert len(design_module.load_experiment(ok).design) == 100


# --------------------------------------------------------------------------- overrides


def test_allow_large_runs_what_the_caps_refuse(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("CAREOS_SIM_MAX_RUNS", "1")  # a cap lowered so that a tiny run is above it
    args = ["run", MMC, "--horizon-days", "1", "-r", "2", "--workers", "1", "--quiet", "--json"]
    err = refused(capsys, args)
    assert "runs (replications) is 2, above the cap max_runs = 1" in err and err.startswith("--replications:")
    assert main([str(a) for a in args] + ["--allow-large"]) == 0
    assert json.loads(capsys.readouterr().out)["replications"] == 2


def test_allow_large_lifts_the_caps_of_compare_and_sweep(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("CAREOS_SIM_MAX_REPLICATION_DAYS", "1")
    args = ["compare", MMC, MMC, "--horizon-days", "1", "-r", "2", "--workers", "1", "--quiet", "--json"]
    assert "max_replication_days = 1;" in refused(capsys, args)
    assert main([str(a) for a in args] + ["--allow-large"]) == 0
    capsys.readouterr()
    exp = write(tmp_path, f"""\
        base: {MMC}
        design: {{type: grid}}
        factors:
          - {{path: staff.nurses.on_duty, name: nurses, levels: [2, 3]}}
        replications: 1
        horizon_days: 1
        """)
    out = tmp_path / "o"
    assert "the design's simulated days" in refused(capsys, ["sweep", exp, "--out", out, "--quiet"])
    assert main(["sweep", str(exp), "--out", str(out), "--quiet", "--workers", "1", "--allow-large"]) == 0
    assert len(pd.read_parquet(out / "runs.parquet")) == 2


def test_environment_variables_raise_or_lower_one_cap(capsys, monkeypatch):
    monkeypatch.setenv("CAREOS_SIM_MAX_NURSES", "10")
    err = refused(capsys, ["run", DEFAULT, "--quiet"])
    assert "the roster's headcount (7 x (ceil(beds / day ratio) + ceil(beds / night ratio)) / shifts_per_week) " \
           "is 26, above the cap max_nurses = 10;" in err
    monkeypatch.setenv("CAREOS_SIM_MAX_NURSES", "many")
    err = refused(capsys, ["run", DEFAULT, "--quiet"])
    assert "CAREOS_SIM_MAX_NURSES: max_nurses: must be a number >= 0, or 'none' for no cap (got 'many')" in err
    assert Caps.from_env(environ={"CAREOS_SIM_MAX_RUNS": "none", "CAREOS_SIM_MAX_NURSES": "20_000"}) == \
        Caps(max_runs=None, max_nurses=20_000)


def test_library_checks_take_caps_and_unlimited_lifts_them():
    s = load_scenario(DEFAULT, ["staff.nurses.ratio.day=0.0001"])
    with pytest.raises(InputError) as exc:
        check_run_cost(s, replications=1, source="app")
    (issue,) = exc.value.issues
    assert (issue.source, issue.line, issue.path, issue.value) == ("app", None, "staff.nurses.ratio.day", 0.0001)
    check_run_cost(s, replications=1, caps=Caps.unlimited())
    with limits.using_caps(Caps.unlimited()):
        check_run_cost(s, replications=1)
    with pytest.raises(InputError):
        limits.check_design_cost(10**7, 1, Caps(), "exp.yaml", 3)


def test_every_shipped_scenario_and_experiment_is_well_inside_the_caps():
    caps = Caps()
    for path in [*SCENARIOS.glob("*.yaml"), *SCENARIOS.glob("verification/*.yaml"), *SCENARIOS.glob("units/*.yaml")]:
        s = load_any(path)
        cost = estimate(s)
        check_run_cost(s, replications=s.run.replications)
        margin = 10 if isinstance(s, ScenarioSpec) else 1.5  # a hospital is many units: within the caps, less margin
        assert cost.nurses * margin <= caps.max_nurses and cost.expected_tasks * margin <= caps.max_expected_tasks
    for path in (REPO / "experiments").glob("*.yaml"):
        spec = validate_model(ExperimentSpec, _parse_yaml(path, path.name))
        n = design_size(spec)
        reps = spec.replications or 10
        assert n * reps * 10 <= caps.max_runs, path
        assert n * reps * (spec.horizon_days or 730) * 5 <= caps.max_replication_days, path
    # the Sobol variant experiments/sensitivity.yaml suggests: 64 x (10 + 2) points x 2 replications
    assert 64 * 12 * 2 * 365 <= caps.max_replication_days


# --------------------------------------------------------------------------- factors writing one path


def test_two_factors_setting_one_path_are_refused_at_the_second(tmp_path, capsys):
    exp = write(tmp_path, f"""\
        base: {DEFAULT}
        design: {{type: grid}}
        factors:
          - {{path: staff.nurses.ratio.day, name: a, levels: [4, 5]}}
          - {{path: staff.nurses.ratio.day, name: b, levels: [6, 7]}}
        replications: 1
        """)
    err = refused(capsys, ["sweep", exp, "--quiet"])
    assert (f"{exp}:5: factors[1].path: factor 'b' sets staff.nurses.ratio.day, which factor 'a' (factors[0]) "
            f"already sets; a path may be set by one factor only") in err
    assert "(got 'staff.nurses.ratio.day')" in err


def test_a_bundle_that_sets_another_factors_path_is_refused_at_its_key(tmp_path, capsys):
    exp = write(tmp_path, f"""\
        base: {DEFAULT}
        design: {{type: grid}}
        factors:
          - {{path: staff.nurses.ratio.day, name: ratio, levels: [4, 5]}}
          - name: system
            levels:
              plain: {{}}
              richer:
                leadership.listening: 1
                staff.nurses.ratio.day: 3
        replications: 1
        """)
    err = refused(capsys, ["sweep", exp, "--quiet"])
    assert (f"{exp}:10: factors[1].levels.richer.staff.nurses.ratio.day: factor 'system' has a level that sets "
            f"staff.nurses.ratio.day, which factor 'ratio' (factors[0]) already sets") in err


def test_two_bundles_setting_one_path_are_refused(tmp_path, capsys):
    exp = write(tmp_path, f"""\
        base: {DEFAULT}
        design: {{type: grid}}
        factors:
          - name: system
            levels:
              telling: {{leadership.listening: 0}}
              listening: {{leadership.listening: 1}}
          - name: huddles
            levels:
              none: {{leadership.mechanisms.huddle_minutes_per_shift: 0}}
              daily: {{leadership.listening: 1, leadership.mechanisms.huddle_minutes_per_shift: 15}}
        replications: 1
        """)
    err = refused(capsys, ["sweep", exp, "--quiet"])
    assert (f"{exp}:11: factors[1].levels.daily.leadership.listening: factor 'huddles' has a level that sets "
            f"leadership.listening, which factor 'system' (factors[0])") in err


def test_a_path_inside_another_factors_path_is_refused(tmp_path, capsys):
    exp = write(tmp_path, f"""\
        base: {DEFAULT}
        design: {{type: grid}}
        factors:
          - name: ratios
            levels:
              tight: {{staff.nurses.ratio: {{day: 6, night: 7}}}}
              loose: {{staff.nurses.ratio: {{day: 4, night: 5}}}}
          - {{path: staff.nurses.ratio.night, name: night, levels: [5, 6]}}
        replications: 1
        """)
    err = refused(capsys, ["sweep", exp, "--quiet"])
    assert f"{exp}:8: factors[1].path: factor 'night' sets staff.nurses.ratio.night" in err
    assert "(staff.nurses.ratio)" in err


def test_a_scenario_file_level_under_a_numeric_factor_is_not_a_conflict(tmp_path):
    exp = write(tmp_path, f"""\
        base: {DEFAULT}
        design: {{type: grid}}
        factors:
          - {{path: staff.nurses.ratio.day, name: ratio, levels: [4, 5]}}
          - name: system
            levels:
              telling: {SCENARIOS / 'telling.yaml'}
              listening: {SCENARIOS / 'listening.yaml'}
        replications: 1
        horizon_days: 7
        """)
    e = design_module.load_experiment(exp)
    assert [s.staff.nurses.ratio.day for s in e.scenarios] == [4, 4, 5, 5]  # the factor on top of the file


# --------------------------------------------------------------------------- too-small samples


def sampled_file(folder: Path, kind: str, samples: int, allow: bool = False) -> Path:
    allow_text = ", allow_small_samples: true" if allow else ""
    return write(folder, f"""\
        base: {MMC}
        design: {{type: {kind}, samples: {samples}{allow_text}}}
        factors:
          - {{path: patients.call_lights_per_hour, name: calls, low: 0.2, high: 0.5}}
          - {{path: staff.nurses.hourly_wage, name: wage, low: 30, high: 70}}
        replications: 1
        horizon_days: 1
        metrics: [{WAIT}]
        """, f"{kind}.yaml")


def test_a_sobol_design_below_the_minimum_is_refused_at_its_samples_line(tmp_path, capsys):
    exp = sampled_file(tmp_path, "sobol", 32)
    err = refused(capsys, ["sweep", exp, "--quiet"])
    assert (f"{exp}:2: design.samples: a sobol design needs at least {MIN_SOBOL_SAMPLES} base samples N for "
            f"indices that mean anything") in err
    assert "design.allow_small_samples: true" in err and "(got 32)" in err
    design_module.load_experiment(sampled_file(tmp_path, "sobol", MIN_SOBOL_SAMPLES))  # the minimum is enough


def test_a_morris_design_below_the_minimum_is_refused(tmp_path, capsys):
    exp = sampled_file(tmp_path, "morris", MIN_MORRIS_TRAJECTORIES - 1)
    err = refused(capsys, ["sweep", exp, "--quiet"])
    assert f"{exp}:2: design.samples: a morris design needs at least {MIN_MORRIS_TRAJECTORIES} trajectories r" in err
    assert len(design_module.load_experiment(sampled_file(tmp_path, "morris", 4)).design) == 4 * 3


def test_allow_small_samples_loads_a_small_design(tmp_path):
    e = design_module.load_experiment(sampled_file(tmp_path, "sobol", 4, allow=True))
    assert len(e.design) == 4 * 4 and e.spec.design.allow_small_samples


# --------------------------------------------------------------------------- synthetic stores


def synthetic_store(folder: Path, kind: str, samples: int, allow: bool = False, metric=None) -> Path:
    """A sweep's results folder written directly: SALib's design of two factors on [0, 1] and a metric
    y = 4 x0 + x1^2 (x0 matters most), one replication per point. No simulation."""
    from SALib.sample import morris, sobol

    problem = {"num_vars": 2, "names": ["a", "b"], "bounds": [[0.0, 1.0], [0.0, 1.0]]}
    if kind == "sobol":
        x = sobol.sample(problem, samples, calc_second_order=False, scramble=True, seed=1)
    else:
        x = morris.sample(problem, samples, num_levels=4, seed=1)
    y = (metric or (lambda v: 4 * v[:, 0] + v[:, 1] ** 2))(x)
    folder.mkdir(parents=True)
    design = pd.DataFrame({"point": range(len(x)), "a": x[:, 0], "b": x[:, 1]})
    design.to_parquet(folder / "design.parquet")
    runs = design.assign(replication=0, seed=1, status="ok", error=None, **{WAIT: y})
    runs[["point", "replication", "seed", "status", "error", "a", "b", WAIT]].to_parquet(folder / "runs.parquet")
    manifest = {"kind": "sweep", "experiment": f"synthetic-{kind}", "seed": 1, "replications": 1,
                "points": len(x), "runs_total": len(x), "metrics": [WAIT],
                "design": {"type": kind, "samples": samples, "levels": 4, "allow_small_samples": allow},
                "factors": [{"name": n, "path": None, "kind": "numeric", "low": 0.0, "high": 1.0} for n in "ab"]}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def test_analyze_refuses_a_store_with_too_few_samples(tmp_path, capsys):
    folder = synthetic_store(tmp_path / "s", "sobol", 16)
    err = refused(capsys, ["analyze", folder])
    assert f"{folder / 'manifest.json'}: design.samples: a sobol design needs at least 64 base samples N" in err
    assert "(got 16)" in err
    m = synthetic_store(tmp_path / "m", "morris", 2)
    assert "a morris design needs at least 4 trajectories r" in refused(capsys, ["analyze", m])
    with pytest.raises(InputError):
        analyze(m)


def test_an_allowed_small_store_is_analysed_with_every_index_flagged(tmp_path, capsys):
    folder = synthetic_store(tmp_path / "s", "sobol", 16, allow=True)
    assert main(["analyze", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "small-sample" in out and "design.samples 16 is below the 64" in out
    table = pd.read_csv(folder / "analysis" / "sobol.csv")
    assert (table["flag"] == "small-sample").all()


def test_indices_in_range_carry_no_flag(tmp_path, capsys):
    folder = synthetic_store(tmp_path / "s", "sobol", 256)
    assert main(["analyze", str(folder)]) == 0
    out = capsys.readouterr().out
    table = pd.read_csv(folder / "analysis" / "sobol.csv", keep_default_na=False)
    assert list(table["flag"]) == ["", ""] and table.iloc[0]["factor"] == "a"
    assert "flag" not in out and "outside the possible range" not in out
    m = synthetic_store(tmp_path / "m", "morris", 10)
    morris = analyze(m).tables["morris"]
    assert list(morris["flag"]) == ["", ""]


def test_sobol_indices_outside_their_range_are_flagged(tmp_path, capsys, monkeypatch):
    import SALib.analyze.sobol as salib_sobol

    def fake(problem, y, **kw):  # S1 above 1 and above ST by more than their intervals; ST below 0
        return {"S1": np.array([1.4, 0.2]), "S1_conf": np.array([0.1, 0.05]),
                "ST": np.array([0.9, -0.3]), "ST_conf": np.array([0.1, 0.05])}

    monkeypatch.setattr(salib_sobol, "analyze", fake)
    folder = synthetic_store(tmp_path / "s", "sobol", 64)
    assert main(["analyze", str(folder)]) == 0
    out = capsys.readouterr().out
    table = pd.read_csv(folder / "analysis" / "sobol.csv", keep_default_na=False).set_index("factor")
    assert table.loc["a", "flag"] == "S1 outside [0, 1]; S1 > ST"
    assert table.loc["b", "flag"] == "ST outside [0, 1]; S1 > ST"
    assert "S1 outside [0, 1]; S1 > ST" in out and "2 index row(s) outside the possible range" in out
    notes = (folder / "analysis" / "notes.txt").read_text()
    assert "outside the possible range beyond their interval (column flag)" in notes


def test_sobol_values_outside_the_range_but_within_their_interval_are_not_flagged(tmp_path, monkeypatch):
    import SALib.analyze.sobol as salib_sobol

    monkeypatch.setattr(salib_sobol, "analyze", lambda problem, y, **kw: {
        "S1": np.array([1.05, -0.02]), "S1_conf": np.array([0.1, 0.05]),
        "ST": np.array([1.0, 0.01]), "ST_conf": np.array([0.1, 0.05])})
    table = analyze(synthetic_store(tmp_path / "s", "sobol", 64)).tables["sobol"]
    assert list(table["flag"]) == ["", ""]


def test_negative_morris_mu_star_is_flagged(tmp_path, capsys, monkeypatch):
    import SALib.analyze.morris as salib_morris

    def fake(problem, x, y, **kw):
        return {"mu_star": np.array([-0.5, 0.2]), "mu_star_conf": np.array([0.1, 0.05]),
                "mu": np.array([0.3, 0.6]), "sigma": np.array([0.1, 0.2])}

    monkeypatch.setattr(salib_morris, "analyze", fake)
    folder = synthetic_store(tmp_path / "m", "morris", 10)
    assert main(["analyze", str(folder), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    flags = {r["factor"]: r["flag"] for r in doc["tables"]["morris"]}
    assert flags == {"a": "mu* < 0", "b": "mu* < |mu|"}
    table = pd.read_csv(folder / "analysis" / "morris.csv", keep_default_na=False)
    assert set(table["flag"]) == {"mu* < 0", "mu* < |mu|"}
