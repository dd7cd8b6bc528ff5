"""``careos-sim report DIR``: reports of saved comparisons and sweeps, built without re-running anything.

One small telling-versus-listening comparison (3 paired replications of 28 days) is shared by
the comparison tests; each test that alters a folder works on its own copy.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import io
import json
import re
import shlex
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from careos_sim.cli.main import main
from careos_sim.spec.loader import InputError

REPO = Path(__file__).resolve().parents[1]
TELLING = REPO / "scenarios" / "telling.yaml"
LISTENING = REPO / "scenarios" / "listening.yaml"
SMALL = ["--horizon-days", "28", "--replications", "3", "--seed", "3", "--quiet", "--workers", "1"]
PNG = b"\x89PNG\r\n\x1a\n"


def run_cli(*argv) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main([str(a) for a in argv])
    return rc, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def compared(tmp_path_factory) -> Path:
    """A comparison folder with its report written by the command line."""
    folder = tmp_path_factory.mktemp("cmp") / "main"
    rc, _, err = run_cli("compare", TELLING, LISTENING, *SMALL, "--out", folder)
    assert rc == 0, err
    rc, out, err = run_cli("report", folder)
    assert rc == 0, err
    assert out.splitlines() == [str(folder / "report.html"), str(folder / "report.md")]
    return folder


@pytest.fixture
def copy(compared, tmp_path) -> Path:
    """A private copy of the comparison folder, without its report."""
    target = tmp_path / "copy"
    shutil.copytree(compared, target)
    for name in ("report.html", "report.md"):
        (target / name).unlink()
    return target


def html_of(folder: Path) -> str:
    return (folder / "report.html").read_text(encoding="utf-8")


def md_of(folder: Path) -> str:
    return (folder / "report.md").read_text(encoding="utf-8")


def assert_self_contained(text: str) -> None:
    assert not re.search(r"""src\s*=\s*["']?\s*https?:""", text, re.I)
    assert "<link" not in text.lower() and "@import" not in text.lower()
    assert not re.search(r"url\(", text, re.I)
    assert "<script" not in text.lower()
    for src in re.findall(r"<img[^>]*\ssrc=\"([^\"]*)\"", text):
        assert src.startswith("data:image/png;base64,")
    assert len(re.findall(r"<img\b", text)) == len(re.findall(r"<img[^>]*\ssrc=\"data:image/png;base64,", text))


def img_payloads(text: str) -> list[bytes]:
    return [base64.b64decode(s) for s in re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text)]


# --------------------------------------------------------------------------- comparison reports


def test_comparison_report_has_every_section_and_embeds_the_saved_figures(compared):
    html, md = html_of(compared), md_of(compared)
    for heading in ("Brief", "What differs between the two systems", "What changes, and by how much", "What it costs",
                    "Caveats", "Terms", "Scorecard", "Over time", "Equity", "Volumes and flow", "Scenarios",
                    "Reproducibility"):
        assert f">{heading}</h" in html, heading
        assert re.search(rf"^#+ {re.escape(heading)}$", md, re.M), heading
    assert html.index(">Brief</h2>") < html.index(">Scorecard</h2>") < html.index(">Reproducibility</h2>")
    payloads = img_payloads(html)
    assert len(payloads) == 3
    for name in ("scorecard.png", "weekly_series.png", "equity.png"):
        data = (compared / "figures" / name).read_bytes()
        assert data.startswith(PNG) and len(data) > 20_000
        assert data in payloads, f"{name} is not the figure embedded in the HTML"
        assert f"](figures/{name})" in md
    assert_self_contained(html)
    # the figures compare wrote are left as they were
    manifest = json.loads((compared / "manifest.json").read_text())
    assert (compared / "figures" / "time_series.png").stat().st_mtime <= (compared / "manifest.json").stat().st_mtime
    assert manifest["figures"] == ["figures/time_series.png", "figures/paired_differences.png"]


def test_html_check_catches_external_references():
    """The self-containment check is not vacuous."""
    for bad in ('<img src="https://example.org/x.png">', '<link rel="stylesheet" href="x.css">',
                "<style>@import 'x.css';</style>", '<img src="figures/x.png">'):
        with pytest.raises(AssertionError):
            assert_self_contained(f"<html><body>{bad}</body></html>")


def test_scorecard_table_matches_comparison_csv_and_colours_only_excluded_zero(compared):
    from careos_sim.report import scorecard_table

    card = scorecard_table(compared)
    assert list(card.columns[:10]) == ["dimension", "metric", "label", "unit", "a", "b", "diff", "ci_low", "ci_high",
                                       "better"]
    assert list(dict.fromkeys(card["dimension"])) == ["Safety", "Timeliness", "Effectiveness", "Efficiency", "Equity",
                                                      "Patient-centredness", "Workforce", "Learning"]
    assert not card["metric"].str.startswith(("flow.", "counts.")).any()
    paired = pd.read_csv(compared / "comparison.csv").set_index("metric")
    assert set(card["metric"]) == {m for m in paired.index if not m.startswith(("flow.", "counts."))}
    for r in card.itertuples():
        p = paired.loc[r.metric]
        assert (r.a, r.b, r.diff, r.ci_low, r.ci_high) == pytest.approx(
            (p.a_mean, p.b_mean, p.diff_mean, p.diff_ci_low, p.diff_ci_high), nan_ok=True)
        assert r.better == p.better
        if r.better != "neither":
            assert r.ci_low > 0 or r.ci_high < 0
    assert (card["better"] != "neither").any(), "28 days of telling vs listening should separate somewhere"
    # the HTML row of each outcome is shaded by its better side, and only then
    html = html_of(compared)
    for r in card.itertuples():
        row = re.search(rf'<tr class="([a-z-]+)"><td>{re.escape(r.label)}</td>', html.replace("&#x27;", "'"))
        assert row, r.label
        assert row.group(1) == {"a": "better-a", "b": "better-b"}.get(r.better, "neither"), r.metric


def test_brief_says_what_differs_by_how_much_how_sure_and_the_caveats(compared):
    from careos_sim.report import brief
    from careos_sim.report.common import setting_label

    text = brief(compared)
    assert text.startswith("## Brief")
    assert "Pressure to work harder (`leadership.pressure_to_work_harder`): 1 in A, 0 in B" in text
    assert "Listening at the point of care (`leadership.listening`): 0 in A, 1 in B" in text
    assert f"{setting_label('leadership.leader_fix_hours_per_week')} (`leadership.leader_fix_hours_per_week`): " \
           "0 in A, 4 in B" in text
    assert "3 paired replications of 28 simulated days" in text
    assert "outside the leadership block" not in text
    card = pd.read_csv(compared / "comparison.csv").set_index("metric")
    harm = card.loc["safety.harm_per_1000_patient_days"]
    line = next(line for line in text.splitlines() if line.startswith("* **Harm events, all sources**"))
    assert "95% CI [" in line and ("better" in line or "no detectable difference" in line)
    assert f"{harm.a_mean:.1f}" in line or f"{harm.a_mean:.0f}" in line
    for phrase in ("Caveats", "pooled queue", "free rather than measured", "Only 3 replications", "short horizon",
                   "No warm-up", "by chance"):
        assert phrase in text, phrase
    assert text in md_of(compared)


def test_brief_flags_scenarios_that_differ_outside_leadership_and_changed_files(copy):
    from careos_sim.report import brief, write_report
    from careos_sim.report.common import setting_label

    path = copy / "scenario-b.yaml"
    path.write_text(path.read_text().replace("beds: 30", "beds: 24", 1))
    text = brief(copy)
    assert f"{setting_label('unit.beds')} (`unit.beds`): 30 in A, 24 in B" in text
    assert "outside the leadership block" in text and "`unit.beds`" in text
    write_report(copy)
    md = md_of(copy)
    assert "scenario-b.yaml no longer match" in md


def test_reproducibility_comes_from_the_manifest(compared):
    manifest = json.loads((compared / "manifest.json").read_text())
    md = md_of(compared)
    section = md[md.index("## Reproducibility"):]
    assert shlex.join(manifest["command"]) in section
    assert manifest["command"][:2] == ["careos-sim", "compare"]
    for side in "ab":
        for name, sha in manifest["scenario_files_sha256"][side].items():
            assert sha == hashlib.sha256(Path(name).read_bytes()).hexdigest()
            assert f"`{name}`" in section and sha in section
    for sha in manifest["resolved_scenarios_sha256"].values():
        assert sha in section
    assert "| yes |" in section and "no longer match" not in section
    if manifest["git_commit"]:
        assert f"git checkout {manifest['git_commit']}" in section
    assert f"careos-sim {manifest['package_version']}" in section
    for item, value in (("seed", "3"), ("replications", "3"), ("horizon", "28 days")):
        assert re.search(rf"^\| {item} \| {value}", section, re.M), item


def test_comparison_figures_are_labelled_with_units(compared):
    from matplotlib.figure import Figure

    from careos_sim.report import comparison_figures

    figures = comparison_figures(compared)
    assert set(figures) == {"scorecard", "time_series", "equity"}
    assert all(isinstance(f, Figure) for f in figures.values())
    panels = [ax for ax in figures["time_series"].axes if ax.get_visible()]
    assert [ax.get_title() for ax in panels][:2] == ["Nurses burned out", "Active workflow defects at the end of each week"]
    assert [ax.get_ylabel() for ax in panels][:3] == ["%", "defects", "per 1000 patient-days"]
    equity = figures["equity"]
    assert [ax.get_ylabel() for ax in equity.axes[:2]] == ["per 1000 patient-days", "% of tasks with a window"]
    legend = [t.get_text() for t in equity.legends[0].get_texts()]
    assert "LEP patients" in legend and "other patients" in legend
    score = figures["scorecard"].axes[0]
    labels = [t.get_text() for t in score.get_yticklabels()]
    assert labels[0] == "Safety" and "Nurses burned out" in labels and "Learning" in labels
    assert "% of A's mean" in score.get_xlabel()


def test_equity_groups_are_recovered_exactly_from_ratio_and_gap():
    from careos_sim.report.comparison import equity_groups

    other = np.array([40.0, 10.0, 0.0, 20.0])
    lep = np.array([60.0, 5.0, 7.0, 20.0])  # LEP worse, better, other group without harm, equal groups
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(other > 0, lep / other, np.nan)
    reps = pd.DataFrame({"side": ["a"] * 4, "replication": range(4), "equity.harm_ratio": ratio,
                         "equity.harm_gap_per_1000_patient_days": lep - other,
                         "equity.missed_care_ratio": ratio, "equity.missed_care_gap_pct": lep - other})
    groups = equity_groups(reps).set_index(["measure", "group", "replication"])["value"].sort_index()
    for measure in ("harm", "missed_care"):
        np.testing.assert_allclose(groups.loc[(measure, "other")].to_numpy()[:3], other[:3])
        np.testing.assert_allclose(groups.loc[(measure, "LEP")].to_numpy()[:3], lep[:3])
        assert np.isnan(groups.loc[(measure, "other", 3)])  # equal groups: the level is not recoverable


def test_equity_groups_come_from_the_per_group_metrics_and_agree_with_ratio_and_gap(compared):
    from careos_sim.report.comparison import equity_groups

    reps = pd.read_parquet(compared / "replications.parquet")
    groups = equity_groups(reps).set_index(["side", "replication", "measure", "group"])["value"]
    for row in reps.to_dict("records"):
        key = (row["side"], row["replication"], "harm")
        lep, other = groups.loc[(*key, "LEP")], groups.loc[(*key, "other")]
        assert lep == row["equity.harm_lep_per_1000_patient_days"]
        assert lep - other == pytest.approx(row["equity.harm_gap_per_1000_patient_days"])
        if other > 0:
            assert lep / other == pytest.approx(row["equity.harm_ratio"])


def test_equity_section_shows_both_groups_on_both_sides(compared):
    md = md_of(compared)
    section = md[md.index("## Equity"):md.index("## Volumes and flow")]
    for side in ("A (telling)", "B (listening)"):
        for group in ("other", "LEP"):
            for outcome in ("Harm events", "Missed care"):
                assert re.search(rf"^\| {re.escape(side)} \| {outcome} \| {group} \|", section, re.M), (side, group)


def test_one_replication_has_no_intervals_and_says_so(tmp_path):
    from careos_sim.report import brief, scorecard_table

    folder = tmp_path / "one"
    rc, _, err = run_cli("compare", TELLING, LISTENING, "--horizon-days", "7", "--replications", "1", "--quiet",
                         "--workers", "1", "--out", folder)
    assert rc == 0, err
    card = scorecard_table(folder)
    assert (card["better"] == "neither").all() and card["ci_low"].isna().all()
    text = brief(folder)
    assert "on **0** the 95% interval" in text and f"on **{len(card)}** no interval can be computed" in text
    assert "no 95% CI: cannot say (fewer than two pairs)" in text
    assert run_cli("report", folder)[0] == 0


# --------------------------------------------------------------------------- incomplete and bad folders


def test_incomplete_comparison_folder_says_what_is_missing(copy):
    from careos_sim.report import write_report

    (copy / "weekly.parquet").unlink()
    (copy / "scenario-b.yaml").unlink()
    (copy / "replications.parquet").write_bytes(b"not parquet")
    html_path, md_path = write_report(copy)
    md = md_path.read_text()
    assert "`weekly.parquet` is missing" in md and "`scenario-b.yaml` is missing" in md
    assert "`replications.parquet` cannot be read" in md
    assert "No weekly series to draw" in md
    assert "cannot be shown side by side" in md
    assert "what differs cannot be shown" in md
    assert "## Scorecard" in md and "## Reproducibility" in md
    html = html_path.read_text()
    assert len(img_payloads(html)) == 1  # the scorecard, from comparison.csv
    assert_self_contained(html)


@pytest.mark.parametrize("case", ["missing", "file", "no-manifest", "bad-json", "bad-kind", "no-csv"])
def test_a_folder_that_is_not_a_results_folder_is_bad_input(case, tmp_path, compared):
    folder = tmp_path / "results"
    if case == "file":
        folder.write_text("x")
    elif case != "missing":
        folder.mkdir()
    if case == "bad-json":
        (folder / "manifest.json").write_text("{not json")
    if case == "bad-kind":
        (folder / "manifest.json").write_text('{"kind": "banana"}')
    if case == "no-csv":
        shutil.copy(compared / "manifest.json", folder / "manifest.json")
    expected = {
        "missing": f"{folder}: <folder>: no such folder; expected a results folder written by compare or sweep --out "
                   f"(got '{folder}')",
        "file": f"{folder}: <folder>: is a file, not a results folder (got '{folder}')",
        "no-manifest": f"{folder}/manifest.json: <file>: not found: this is not a results folder",
        "bad-json": f"{folder}/manifest.json: <file>: cannot be read as JSON",
        "bad-kind": f"{folder}/manifest.json: kind: kind must be one of compare, sweep, run (got 'banana')",
        "no-csv": f"{folder}/comparison.csv: <file>: not found: a comparison folder must hold its paired table "
                  f"(got '{folder}')",
    }[case]
    rc, out, err = run_cli("report", folder)
    assert (rc, out) == (2, "")
    assert err.startswith(expected), err
    assert "Traceback" not in err
    with pytest.raises(InputError):
        from careos_sim.report import write_report

        write_report(folder)
    if folder.is_dir():
        assert not (folder / "report.html").exists() and not (folder / "report.md").exists()


def test_report_writing_is_atomic(copy, monkeypatch):
    import os

    from careos_sim.report import write_report

    (copy / "report.html").write_text("previous report")
    real_replace = os.replace

    def failing_replace(src, dst):
        if Path(dst).name == "report.html":
            raise OSError("disk full")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        write_report(copy)
    assert (copy / "report.html").read_text() == "previous report"
    assert not [p.name for p in copy.rglob("*") if ".tmp-" in p.name]
    monkeypatch.setattr(os, "replace", real_replace)

    import careos_sim.report.comparison as comparison

    def broken(*args, **kwargs):
        raise RuntimeError("figure failed")

    monkeypatch.setattr(comparison, "equity_figure", broken)
    with pytest.raises(RuntimeError):
        write_report(copy)
    assert (copy / "report.html").read_text() == "previous report"
    monkeypatch.undo()
    write_report(copy)
    assert html_of(copy).startswith("<!DOCTYPE html>")


# --------------------------------------------------------------------------- sweep reports

TINY = {
    "factorial": """
        design: {type: factorial}
        factors:
          - {path: leadership.elements.valuing_people, name: valuing_people, levels: [0, 1]}
          - {path: staff.nurses.ratio.day, name: ratio_day, levels: [4, 6]}
        replications: 2
        horizon_days: 14
        """,
    "fractional": """
        design: {type: fractional_factorial, generators: [C=AB]}
        factors:
          - {path: leadership.elements.valuing_people, name: valuing_people, levels: [0, 1]}
          - {path: staff.nurses.ratio.day, name: ratio_day, levels: [4, 6]}
          - {path: leadership.pressure_to_work_harder, name: pressure, levels: [0, 1]}
        replications: 2
        horizon_days: 7
        """,
    "grid": """
        design: {type: grid}
        weekly: true
        factors:
          - {path: staff.nurses.ratio.day, name: ratio_day, levels: [4, 6]}
          - name: system
            levels:
              telling: TELLING
              listening: LISTENING
        replications: 2
        horizon_days: 14
        """,
    "morris": """
        design: {type: morris, samples: 2, levels: 4, allow_small_samples: true}
        factors:
          - {path: defects.initial, name: initial_defects, low: 30, high: 90}
          - {path: staff.nurses.ratio.day, name: ratio_day, low: 4, high: 7}
        replications: 1
        horizon_days: 7
        """,
    "sobol": """
        design: {type: sobol, samples: 4, allow_small_samples: true}
        factors:
          - {path: defects.initial, name: initial_defects, low: 30, high: 90}
          - {path: staff.nurses.ratio.day, name: ratio_day, low: 4, high: 7}
        replications: 1
        horizon_days: 7
        """,
    "lhs": """
        design: {type: lhs, samples: 8}
        factors:
          - {path: defects.initial, name: initial_defects, low: 30, high: 90}
          - {path: staff.nurses.ratio.day, name: ratio_day, low: 4, high: 7}
        replications: 1
        horizon_days: 7
        """,
}
METRICS = ["safety.harm_per_1000_patient_days", "effectiveness.missed_care_pct"]
SWEEP_FIGURES = {"factorial": ["sweep_main_effects.png", "sweep_effects.png", "sweep_interactions.png",
                               "sweep_weekly.png"],
                 "fractional": ["sweep_main_effects.png", "sweep_effects.png", "sweep_weekly.png"],
                 "grid": ["sweep_heatmaps.png", "sweep_weekly.png"],
                 "morris": ["sweep_morris.png"], "sobol": ["sweep_sobol.png"], "lhs": ["sweep_prcc.png"]}
SWEEP_HEADINGS = {"factorial": ["Main effects", "Effect estimates", "Interactions"],
                  "fractional": ["Main effects", "Effect estimates"],  # resolution 3: interactions are aliases
                  "grid": ["Heatmaps", "Over time"], "morris": ["Morris screening"], "sobol": ["Sobol indices"],
                  "lhs": ["Partial rank correlations"]}


def experiment_file(folder: Path, kind: str, name: str | None = None) -> Path:
    import textwrap

    body = textwrap.dedent(TINY[kind]).replace("TELLING", str(TELLING)).replace("LISTENING", str(LISTENING))
    text = (f"name: {name or 'tiny-' + kind}\nbase: {TELLING}\nseed: 3\n"
            f"metrics: [{', '.join(METRICS)}]\n" + body)
    path = folder / f"{kind}.yaml"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def sweeps(tmp_path_factory) -> dict[str, Path]:
    """One tiny finished sweep of each design, reported by the command line."""
    root = tmp_path_factory.mktemp("sweeps")
    out = {}
    for kind in TINY:
        folder = root / kind
        rc, _, err = run_cli("sweep", experiment_file(root, kind), "--out", folder, "--workers", "1", "--quiet")
        assert rc == 0, err
        rc, _, err = run_cli("report", folder)
        assert rc == 0, err
        out[kind] = folder
    return out


@pytest.mark.parametrize("kind", list(TINY))
def test_sweep_report_draws_the_plots_of_its_design_and_ranks_factors(kind, sweeps):
    from careos_sim.experiment.analysis import analyze

    folder = sweeps[kind]
    html, md = html_of(folder), md_of(folder)
    assert md.startswith(f"# Sweep: tiny-{kind}\n")
    for heading in ("Brief", "Status", "Which factors matter most", "Results", "Reproducibility",
                    *SWEEP_HEADINGS[kind]):
        assert re.search(rf"^#+ {re.escape(heading)}$", md, re.M), heading
    payloads = img_payloads(html)
    assert len(payloads) == len(SWEEP_FIGURES[kind])
    for name in SWEEP_FIGURES[kind]:
        data = (folder / "figures" / name).read_bytes()
        assert data.startswith(PNG) and data in payloads, name
    assert_self_contained(html)
    assert "Every planned run finished." in md and "incomplete" not in md
    # the ranking table: one row per metric, its factors in the analysis's order
    ranking = analyze(folder).ranking
    section = md[md.index("## Which factors matter most"):md.index("## Results")]
    for metric, g in ranking.groupby("metric"):
        order = "; ".join(f"{int(r['rank'])}. {r['factor']}" for r in g.sort_values("rank").to_dict("records"))
        row = next(line for line in section.splitlines() if line.startswith(f"| {label_of(metric)}"))
        assert re.sub(r" \([^)]*\)", "", row.split(" | ")[1]) == order
    manifest = json.loads((folder / "manifest.json").read_text())
    repro = md[md.index("## Reproducibility"):]
    assert shlex.join(manifest["command"]) in repro and manifest["experiment_sha256"] in repro
    for name, sha in manifest["scenario_files_sha256"].items():
        assert f"`{name}`" in repro and sha in repro


def label_of(metric: str) -> str:
    from careos_sim.measure.labels import label

    unit = {"safety.harm_per_1000_patient_days": "per 1000 patient-days", "effectiveness.missed_care_pct": "%"}[metric]
    return f"{label(metric)} ({unit})"


@pytest.mark.parametrize("kind", ["factorial", "fractional"])
def test_factorial_report_states_each_effect_with_its_interval(kind, sweeps):
    from careos_sim.experiment.analysis import analyze

    folder = sweeps[kind]
    effects = analyze(folder).tables["effects"]
    md = md_of(folder)
    for r in effects.to_dict("records"):
        term = r["term"].replace(":", " x ")
        assert re.search(rf"^\| {re.escape(label_of(r['metric']))} \| {re.escape(term)} \| "
                         rf"(main|interaction) \| [-+]?[0-9.]+ \| (\[|-)[^|]*\| 2 \|", md, re.M), (r["metric"], term)
    if kind == "fractional":  # in a 2^(3-1) design every main effect is aliased with a two-way interaction
        assert "| aliases |" in md and "resolution 3" in md
        assert set(effects["order"]) == {1}


def test_grid_heatmap_has_a_cell_per_point_and_units(sweeps):
    from careos_sim.experiment.analysis import analyze
    from careos_sim.report.sweeps import heatmap_figure
    from careos_sim.experiment.sweep import load_store

    store = load_store(sweeps["grid"])
    fig = heatmap_figure(analyze(store).tables["grid"], store.factors)
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert len(panels) == len(METRICS)
    assert panels[0].get_ylabel() == "ratio_day" and panels[0].get_xlabel() == "system"
    assert len(panels[0].texts) == 4  # 2 x 2 points, each annotated with its mean
    colourbars = [ax.get_ylabel() for ax in fig.axes if not ax.get_title()]
    assert "per 1000 patient-days" in colourbars and "%" in colourbars


def partial_sweep(root: Path, kind: str, stop_after: int | None, monkeypatch=None, fail=None) -> Path:
    from careos_sim.experiment.design import load_experiment
    from careos_sim.experiment.sweep import run_sweep

    exp = load_experiment(experiment_file(root, kind))
    folder = root / f"out-{kind}"
    if fail is not None:
        import careos_sim.model.replication as unit

        real = unit.run_replication

        def flaky(scenario, seed, replication, *args, **kwargs):
            if fail(scenario, replication):
                raise RuntimeError("the unit caught fire")
            return real(scenario, seed, replication, *args, **kwargs)

        monkeypatch.setattr(unit, "run_replication", flaky)
    run_sweep(exp, folder, workers=1, stop_after=stop_after, command=["careos-sim", "sweep", "x.yaml"])
    return folder


def test_incomplete_sweep_report_says_what_is_missing(tmp_path):
    from careos_sim.report import write_report

    folder = partial_sweep(tmp_path, "grid", stop_after=5)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["complete"] is False
    html_path, md_path = write_report(folder)
    md = md_path.read_text()
    assert "This sweep is incomplete (manifest: complete = false): 3 of 8 runs have not run" in md
    assert "| not run | 3 |" in md and "| finished | 5 |" in md
    missing = re.findall(r"^\* point (\d+) \(.*\): replications? ([\d, ]+)$", md, re.M)
    listed = {(int(p), int(r)) for p, reps in missing for r in reps.split(", ")}
    assert listed == {(2, 1), (3, 0), (3, 1)}
    assert "Analysis: the sweep is incomplete" in md
    assert_self_contained(html_path.read_text())


def test_sweep_with_a_failed_run_reports_the_failure(tmp_path, monkeypatch):
    from careos_sim.report import write_report

    folder = partial_sweep(tmp_path, "factorial", None, monkeypatch,
                           fail=lambda s, r: r == 1 and s.staff.nurses.ratio.day == 6)
    html_path, md_path = write_report(folder)
    md = md_path.read_text()
    assert "2 run(s) failed and are left out of every table and figure." in md
    assert md.count("`RuntimeError: the unit caught fire`") == 2
    assert "| failed | 2 |" in md
    assert "1 replication(s) left out of the effects" in md  # the analysis's own note, passed on
    assert "## Which factors matter most" in md


def test_sweep_without_finished_runs_and_with_damaged_tables(tmp_path):
    from careos_sim.report import write_report

    folder = partial_sweep(tmp_path, "morris", stop_after=0)
    _, md_path = write_report(folder)
    md = md_path.read_text()
    assert "No run of this sweep has finished: there is nothing to analyse yet." in md
    assert "## Reproducibility" in md and "## Results" not in md
    (folder / "runs.parquet").write_bytes(b"garbage")
    _, md_path = write_report(folder)
    assert "The sweep's results cannot be read" in md_path.read_text()


# --------------------------------------------------------------------------- escaping of user strings

HOSTILE = "<script>alert(1)</script> **b** [l](javascript:alert(1)) ![i](http://e.vil/p.png) `x` $\\frac$ a|b"


def _outside_code(text: str) -> str:
    """Text with its code spans and fenced blocks removed (both show their content literally)."""
    text = re.sub(r"^(`{3,})\n.*?\n\1$", "", text, flags=re.S | re.M)
    return re.sub(r"`[^`\n]*`", "", text)


def _unescaped(text: str, s: str) -> bool:
    return re.search(r"(?<!\\)" + re.escape(s), text) is not None


def assert_markdown_inert(md: str) -> None:
    rest = _outside_code(md)
    for s in ("<script", "<img", "](javascript", "[l]", "[i]"):
        assert not _unescaped(rest, s), s


def assert_html_inert(html: str) -> None:
    assert_self_contained(html)
    assert "<script" not in html.lower()
    assert all(href.startswith("#") for href in re.findall(r"<a\b[^>]*href=\"([^\"]*)\"", html))
    assert len(re.findall(r"<a\b", html)) == len(re.findall(r"<a href=\"#", html))  # only the contents' links
    assert 'href="javascript' not in html and "<img src=\"http" not in html and "<strong>b</strong>" not in html


def test_inline_text_escapes_round_trip_through_both_renderings():
    from careos_sim.report.document import Document, Para, Table, _inline_html, code, literal

    text = literal(HOSTILE)
    assert "\n" not in literal("a\nb") and len(literal("x" * 1000)) <= 201
    assert literal("snake_case tiny-grid 0.1.0") == "snake_case tiny-grid 0.1.0"  # readable where harmless
    html = _inline_html(f"**{text}** {code(HOSTILE)} {code('plain.yaml')}")
    assert html.startswith("<strong>&lt;script&gt;alert(1)&lt;/script&gt; **b** [l](javascript:alert(1))")
    assert "<code>plain.yaml</code>" in html and html.count("<strong>") == 1 and "<script" not in html
    assert literal("\x1b[31mred") == "\\\\x1b\\[31mred"  # an escape sequence shown, not sent
    doc = Document(f"Run: {text}", [Para(text), Table(["name"], [[text]])])
    md = doc.markdown()
    assert_markdown_inert(md)
    assert "| " + text.replace("|", "|") + " |" in md  # the cell's pipe is escaped once
    assert md.count("\\|") == md.count("a\\|b")  # and nowhere twice
    assert_html_inert(doc.html())
    assert "<title>Run: &lt;script&gt;" in doc.html()


def test_a_code_block_cannot_be_closed_by_its_content():
    from careos_sim.report.document import Code, blocks_markdown

    md = blocks_markdown([Code("careos-sim compare 'x\n```\n<script>alert(1)</script>\n```'")])
    fence = md.splitlines()[0]
    assert set(fence) == {"`"} and len(fence) > 3 and md.rstrip().endswith(fence)
    assert md.count(fence) == 2


def test_a_hostile_scenario_name_and_file_are_escaped_in_the_comparison_report(copy):
    from careos_sim.report import write_report

    for side in "ab":
        path = copy / f"scenario-{side}.yaml"
        data = path.read_text()
        path.write_text(re.sub(r"^name: .*$", f"name: {json.dumps(HOSTILE + ' ' + side)}", data, count=1, flags=re.M))
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["scenarios"] = {"a": f"{HOSTILE}.yaml", "b": "../<img src=x onerror=alert(1)>.yaml"}
    files = manifest["scenario_files_sha256"]
    files["a"] = {f"/x/{HOSTILE}.yaml": "0" * 64, **files["a"]}
    (copy / "manifest.json").write_text(json.dumps(manifest))
    html_path, md_path = write_report(copy)  # the figures draw the names without reading them as mathematics
    md, html = md_path.read_text(), html_path.read_text()
    assert_markdown_inert(md)
    assert_html_inert(html)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "onerror" in html and "<img src=x" not in html
    assert md.startswith("# \\<script\\>alert(1)\\</script\\>")
    assert "$\\frac$" not in _outside_code(md) and "\\$\\\\frac\\$" in md


def test_a_hostile_experiment_and_factor_name_are_escaped_in_the_sweep_report(tmp_path):
    text = experiment_file(tmp_path, "grid", name=json.dumps("<script>x</script> [e](javascript:1)"))
    path = tmp_path / "grid.yaml"
    path.write_text(text.read_text().replace("name: ratio_day", "name: \"ratio_<b>day</b>_$x$\"")
                    .replace("telling: ", "\"<i>telling</i>\": "))
    folder = tmp_path / "sweep"
    rc, _, err = run_cli("sweep", path, "--out", folder, "--workers", "1", "--quiet")
    assert rc == 0, err
    rc, _, err = run_cli("report", folder)
    assert rc == 0, err
    md, html = md_of(folder), html_of(folder)
    assert_markdown_inert(md)
    assert not _unescaped(_outside_code(md), "<b>") and not _unescaped(_outside_code(md), "<i>")
    assert_html_inert(html)
    assert "<b>day</b>" not in html.split("<pre>")[0] and "&lt;b&gt;day&lt;/b&gt;" in html
    assert md.startswith("# Sweep: \\<script\\>x\\</script\\>")
