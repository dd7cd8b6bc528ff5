"""``compare --uncertainty``: a paired comparison across parameter sets, on a model with a known
answer (model section 11).

The verification unit (an M/M/c queue, ``scenarios/verification/mmc.yaml``) with an uncertain
mean service time s: A has 2 nurses; B has 3 nurses whose every call takes 60% longer
(demand factor 1.6). Erlang C gives each side's mean wait for each s, so theory says for which s
B's wait is shorter (small s: more servers win) and where it is longer (large s: B's load
0.25 x 1.6s / 3 nears 1 first). The hourly wage is a second uncertain parameter that cannot
change a wait: its driver index must be about zero.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import brentq

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from analytic import mmc_wait  # noqa: E402
from cli_run import cli  # noqa: E402

from careos_sim.spec.loader import InputError  # noqa: E402
from careos_sim.experiment.sweep import load_store  # noqa: E402
from careos_sim.experiment.uncertainty.run import load_sets, paired_frame, uncertainty_experiment  # noqa: E402
from careos_sim.experiment.uncertainty.study import analyse_store, run_study  # noqa: E402

MMC = ROOT / "scenarios" / "verification" / "mmc.yaml"
WAIT = "timeliness.call_light_wait_min_mean"
LAM = 30 * 0.5 / 60  # calls a minute
LOW, HIGH = 2.5, 6.0  # the uncertain mean service time, minutes


def _wait_a(s: float) -> float:
    return mmc_wait(LAM, 1.0 / s, 2)


def _wait_b(s: float) -> float:
    return mmc_wait(LAM, 1.0 / (1.6 * s), 3)


S_STAR = brentq(lambda s: _wait_b(s) - _wait_a(s), LOW + 0.01, HIGH - 0.01)  # B is better below s*


def _ranges(tmp: Path, samples: int = 24) -> Path:
    f = tmp / "ranges.yaml"
    f.write_text(f"description: uncertain service time\nparameters:\n"
                 f"  tasks.call_light.minutes.mean: {{low: {LOW}, high: {HIGH}}}\n"
                 f"  staff.nurses.hourly_wage: {{low: 40, high: 60}}\n"
                 f"samples: {samples}\nseed: 3\n")
    return f


B_SETS = ["staff.nurses.on_duty=3", "patients.acuity.low.demand_factor=1.6", "patients.acuity.medium.demand_factor=1.6",
          "patients.acuity.high.demand_factor=1.6"]


def _experiment(tmp: Path, samples: int = 24, days: float = 12.0, reps: int = 2):
    from careos_sim.spec.loader import overrides_from

    run = [(("run", "horizon_days"), days, "test"), (("run", "replications"), reps, "test")]
    sets = load_sets(_ranges(tmp, samples))
    return sets, uncertainty_experiment(sets, MMC, MMC, run, [*overrides_from(B_SETS), *run], [WAIT], "mmc-unc")


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("unc")
    sets, exp = _experiment(tmp)
    run_study(exp, tmp / "store", resume=False, workers=2)
    return sets, analyse_store(tmp / "store", sets, labels=("two nurses", "three slower nurses"), fails_on=WAIT), tmp


def test_theory_has_a_crossover_inside_the_range():
    assert LOW + 0.5 < S_STAR < HIGH - 0.5
    assert _wait_b(LOW) < _wait_a(LOW) and _wait_b(HIGH) > _wait_a(HIGH)


def test_latin_hypercube_sets_cover_the_ranges(tmp_path):
    sets = load_sets(_ranges(tmp_path, 20))
    s = sets.values[:, 0]
    assert sets.count == 20 and s.min() >= LOW and s.max() <= HIGH
    # one sample in each twentieth of the range: the stratification of a Latin hypercube
    assert sorted(np.floor((s - LOW) / (HIGH - LOW) * 20).astype(int).tolist()) == list(range(20))


def test_probability_better_and_the_effect_follow_erlang_c(study):
    sets, result, _ = study
    o = result.outcomes[WAIT]
    s = sets.values[:, 0]
    theory_better = np.mean(s < S_STAR)
    assert abs(o.p_better - theory_better) <= 0.13, (o.p_better, theory_better)
    theory = np.array([_wait_b(x) - _wait_a(x) for x in s])
    assert abs(o.effect_median - np.median(theory)) < 0.6 + 0.25 * abs(np.median(theory))
    assert o.effect_p05 < 0 < o.effect_p95


def test_drivers_name_the_service_time_not_the_wage(study):
    _, result, _ = study
    drivers = {d.parameter: d for d in result.outcomes[WAIT].drivers}
    service, wage = drivers["tasks.call_light.minutes.mean"], drivers["staff.nurses.hourly_wage"]
    assert service.index > 0.7 and service.ci_low > 0.3  # longer service: B's wait grows faster
    assert wage.ci_low < 0 < wage.ci_high and abs(wage.index) < abs(service.index)
    assert result.outcomes[WAIT].parameter_share > 0.8  # the parameter, not the noise, moves the effect


def test_the_discovered_box_is_the_service_time_above_the_crossover(study):
    _, result, _ = study
    assert result.boxes, "no box where B fails"
    box = result.boxes[0]
    (param, op, threshold), = [r for r in box.rules if r[0] == "tasks.call_light.minutes.mean"]
    assert op == ">=" and abs(threshold - S_STAR) < 0.5, (threshold, S_STAR)
    assert box.density > 0.8 and box.coverage > 0.7
    assert "fails to help mostly when tasks.call_light.minutes.mean >= " in result.headline


def test_outputs_are_written_and_loadable(study):
    sets, result, tmp = study
    doc = json.loads((tmp / "store" / "uncertainty.json").read_text())
    assert doc["sets"] == sets.count and doc["outcomes"][WAIT]["p_better"] == pytest.approx(
        result.outcomes[WAIT].p_better)
    effects = pd.read_parquet(tmp / "store" / "set_effects.parquet")
    assert len(effects) == sets.count and f"{WAIT}|effect" in effects


def test_same_numbers_with_one_or_two_workers_and_a_resumed_run(tmp_path):
    sets, exp = _experiment(tmp_path, samples=4, days=4.0)
    run_study(exp, tmp_path / "two", resume=False, workers=2)
    one = run_study(exp, tmp_path / "one", resume=False, workers=1, stop_after=5)
    assert one.interrupted
    run_study(exp, tmp_path / "one", resume=True, workers=1)
    cols = ["point", "replication", WAIT]
    a = load_store(tmp_path / "two").runs.sort_values(["point", "replication"])[cols].reset_index(drop=True)
    b = load_store(tmp_path / "one").runs.sort_values(["point", "replication"])[cols].reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)


def test_paired_frame_pairs_sides_by_set_and_replication(tmp_path):
    sets, exp = _experiment(tmp_path, samples=3, days=2.0)
    run_study(exp, tmp_path / "s", resume=False, workers=1)
    frame = paired_frame(load_store(tmp_path / "s").runs, sets.parameters, [WAIT])
    assert len(frame) == 3 * 2 and {f"a:{WAIT}", f"b:{WAIT}"} <= set(frame.columns)
    assert np.allclose(frame.groupby("set")["tasks.call_light.minutes.mean"].nunique(), 1)


def test_bad_sets_files_are_located(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("parameters:\n  tasks.call_light.minutes.mean: {low: 5, high: 2}\nsamples: 4\n")
    with pytest.raises(InputError) as e:
        load_sets(bad)
    assert "bad.yaml" in str(e.value) and "low must be below high" in str(e.value)
    none = tmp_path / "none.yaml"
    none.write_text("parameters:\n  tasks.call_light.minutes.mean: {low: 2, high: 5}\n")
    with pytest.raises(InputError, match="samples"):
        load_sets(none)
    wrong = tmp_path / "wrong.yaml"
    wrong.write_text("parameters:\n  tasks.call_light.minuets.mean: {low: 2, high: 5}\nsamples: 2\n")
    with pytest.raises(InputError) as e:
        uncertainty_experiment(load_sets(wrong), MMC, MMC, [], [], [WAIT], "x")
    assert "minuets" in str(e.value)
    junk = tmp_path / "plausible.parquet"
    junk.write_bytes(b"not parquet at all")
    with pytest.raises(InputError, match="Parquet"):
        load_sets(junk)
    none_plausible = tmp_path / "p2.parquet"
    pd.DataFrame({"set": [0, 1], "defects.initial": [50.0, 60.0], "plausible": [False, False]}).to_parquet(none_plausible)
    with pytest.raises(InputError, match="no parameter set is plausible"):
        load_sets(none_plausible)


def test_plausible_sets_of_a_calibration_are_read(tmp_path):
    f = tmp_path / "plausible.parquet"
    pd.DataFrame({"wave": [1, 1, 1], "set": [0, 1, 2], "defects.initial": [50.0, 60.0, 70.0],
                  "mean:harm, telling, year 1": [1.0, 2.0, 3.0], "plausible": [True, False, True]}).to_parquet(f)
    sets = load_sets(f)
    assert sets.parameters == ["defects.initial"] and sets.values[:, 0].tolist() == [50.0, 70.0]


def test_cli_compare_with_uncertainty_json(tmp_path, capsys):
    ranges = _ranges(tmp_path, 4)
    code, out, err = cli(capsys, *["compare", str(MMC), str(MMC), "--json", "-q", "--horizon-days", "3",
                              "--replications", "2", "--workers", "1", *sum((["--set-b", s] for s in B_SETS), []),
                              "--uncertainty", str(ranges), "--uncertainty-out", str(tmp_path / "u"),
                              "--fails-on", WAIT])
    assert code == 0, err
    doc = json.loads(out)
    block = doc["metrics"][WAIT]["uncertainty"]
    assert set(block) >= {"effect_median", "effect_p05", "effect_p95", "p_better", "drivers"}
    assert doc["uncertainty"]["sets"] == 4 and doc["uncertainty"]["headline"]
    runs = load_store(tmp_path / "u").runs
    # the same store serves another --fails-on: nothing runs again, the analysis changes
    code, out, err = cli(capsys, *["compare", str(MMC), str(MMC), "--json", "-q", "--horizon-days", "3",
                              "--replications", "2", "--workers", "1", *sum((["--set-b", s] for s in B_SETS), []),
                              "--uncertainty", str(ranges), "--uncertainty-out", str(tmp_path / "u"), "--resume",
                              "--fails-on", "workforce.burnout_pct"])
    assert code == 0, err
    assert json.loads(out)["uncertainty"]["fails_on"] == "workforce.burnout_pct"
    pd.testing.assert_frame_equal(load_store(tmp_path / "u").runs, runs)
    code, out, err = cli(capsys, *["compare", str(MMC), str(MMC), "--json", "-q", "--horizon-days", "1",
                              "--replications", "2", "--workers", "1"])
    assert code == 0 and "uncertainty" not in json.loads(out)  # without it: the paired comparison alone


def test_same_numbers_on_a_dask_local_cluster(tmp_path):
    distributed = pytest.importorskip("distributed")
    sets, exp = _experiment(tmp_path, samples=2, days=3.0)
    run_study(exp, tmp_path / "one", resume=False, workers=1)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as c:
        with distributed.Client(c) as client:
            run_study(exp, tmp_path / "dask", resume=False, workers=2, executor=client.get_executor(),
                      scheduler=c.scheduler_address)
    cols = ["point", "replication", WAIT]
    a = load_store(tmp_path / "one").runs.sort_values(["point", "replication"])[cols].reset_index(drop=True)
    b = load_store(tmp_path / "dask").runs.sort_values(["point", "replication"])[cols].reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)


def test_report_figures_show_the_known_answer(study):
    """The report's words and figures of the M/M/c study: the headline names the crossover, the
    scenario-discovery figure draws the box at the service time theory gives."""
    from careos_sim.report.document import Image, blocks_markdown
    from careos_sim.report.uncertainty import boxes_figure, read_uncertainty, uncertainty_blocks, uncertainty_section

    sets, result, tmp = study
    folder = tmp / "store"
    words = blocks_markdown(uncertainty_blocks(folder))
    assert "three slower nurses lowers call-light wait" in words and "of 24 plausible parameter settings" in words
    assert "fails to help mostly when tasks.call" in words
    images = [b for b in uncertainty_section(folder) if isinstance(b, Image)]
    names = {i.name for i in images}
    assert {"uncertainty_effects.png", "uncertainty_drivers.png", "uncertainty_boxes.png"} <= names
    assert all(i.png.startswith(b"\x89PNG") for i in images)
    study_files = read_uncertainty(folder)
    fig = boxes_figure(study_files.doc, study_files.effects)
    box = [p for p in fig.axes[0].patches if p.get_linestyle() == "--"][0]
    assert fig.axes[0].get_xlabel() == "tasks.call_light.minutes.mean"
    assert box.get_x() == pytest.approx(S_STAR, abs=0.6)  # the box starts near the crossover
    failing = fig.axes[0].collections[1].get_offsets()[:, 0]  # the sets where B is not better
    assert len(failing) and failing.min() > S_STAR - 0.6


def test_report_of_a_compare_folder_with_and_without_uncertainty(tmp_path, capsys):
    ranges = _ranges(tmp_path, 4)
    args = ["compare", str(MMC), str(MMC), "-q", "--horizon-days", "3", "--replications", "2", "--workers", "1",
            *sum((["--set-b", s] for s in B_SETS), [])]
    code, _, err = cli(capsys, *args, "--uncertainty", str(ranges), "--uncertainty-out", str(tmp_path / "u"),
                       "--fails-on", WAIT, "--out", str(tmp_path / "with"))
    assert code == 0, err
    assert (tmp_path / "with" / "set_effects.parquet").is_file()
    assert cli(capsys, "report", str(tmp_path / "with"))[0] == 0
    md = (tmp_path / "with" / "report.md").read_text()
    assert "Across plausible parameter settings" in md and "cover simulation noise only" not in md
    assert (tmp_path / "with" / "figures" / "uncertainty_effects.png").is_file()
    code, _, err = cli(capsys, *args, "--out", str(tmp_path / "without"))
    assert code == 0, err
    assert cli(capsys, "report", str(tmp_path / "without"))[0] == 0
    md = (tmp_path / "without" / "report.md").read_text()
    assert "cover simulation noise only" in md and "Across plausible parameter settings" not in md
    (tmp_path / "with" / "uncertainty.json").write_text("{not json")
    assert cli(capsys, "report", str(tmp_path / "with"))[0] == 0
    assert "`uncertainty.json` cannot be read" in (tmp_path / "with" / "report.md").read_text()


def test_the_headline_names_an_outcome_in_plain_words_keeping_its_acronyms():
    from careos_sim.experiment.uncertainty.study import _short

    assert _short("equity.harm_ratio").startswith("harm, LEP / other patients")
    assert _short("safety.harm_per_1000_patient_days") == "harm"
