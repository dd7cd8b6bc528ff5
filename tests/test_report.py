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

from careos_sim.cli import main
from careos_sim.loader import InputError

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
    for heading in ("Brief", "What differs between the two systems", "What changes, and by how much", "Caveats",
                    "Scorecard", "Over time", "Equity", "Volumes and flow", "Scenarios", "Reproducibility"):
        assert f">{heading}</h" in html, heading
        assert re.search(rf"^#+ {re.escape(heading)}$", md, re.M), heading
    assert html.index(">Brief</h2>") < html.index(">Scorecard</h2>") < html.index(">Reproducibility</h2>")
    payloads = img_payloads(html)
    assert len(payloads) == 3
    for name in ("scorecard.png", "time_series.png", "equity.png"):
        data = (compared / "figures" / name).read_bytes()
        assert data.startswith(PNG) and len(data) > 20_000
        assert data in payloads, f"{name} is not the figure embedded in the HTML"
        assert f"](figures/{name})" in md
    assert_self_contained(html)


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

    text = brief(compared)
    assert text.startswith("## Brief")
    assert "`leadership.pressure_to_work_harder`: 1 in A, 0 in B" in text
    assert "`leadership.listening`: 0 in A, 1 in B" in text
    assert "`leadership.leader_fix_hours_per_week`: 0 in A, 4 in B" in text
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

    path = copy / "scenario-b.yaml"
    path.write_text(path.read_text().replace("beds: 30", "beds: 24", 1))
    text = brief(copy)
    assert "`unit.beds`: 30 in A, 24 in B" in text
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


def test_equity_section_shows_both_groups_on_both_sides(compared):
    md = md_of(compared)
    section = md[md.index("## Equity"):md.index("## Volumes and flow")]
    for side in ("A (telling)", "B (listening)"):
        for group in ("other", "LEP"):
            for outcome in ("Harm events", "Missed care"):
                assert re.search(rf"^\| {re.escape(side)} \| {outcome} \| {group} \|", section, re.M), (side, group)


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
    import careos_sim.report.common as common
    from careos_sim.report import write_report

    (copy / "report.html").write_text("previous report")
    real_replace = common.os.replace

    def failing_replace(src, dst):
        if Path(dst).name == "report.html":
            raise OSError("disk full")
        return real_replace(src, dst)

    monkeypatch.setattr(common.os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk full"):
        write_report(copy)
    assert (copy / "report.html").read_text() == "previous report"
    assert not [p.name for p in copy.rglob("*") if ".tmp-" in p.name]
    monkeypatch.setattr(common.os, "replace", real_replace)

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
