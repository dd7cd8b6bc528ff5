"""The comparison brief a board reads, and the command-line table of ``compare``.

The brief opens with a bottom line in relative changes, names settings by their documented
names, says why a main outcome that did not move did not (from the folder's own diagnostics,
never more than they show), states what the leadership practices cost and ends with a glossary.
The table of ``compare`` is grouped by dimension under readable labels, counts and diagnostics
have no better side, and every number on a row has the same decimals.

One tiny telling-versus-listening comparison (2 paired replications of 7 days) is shared; the
tests that need particular numbers write them into a copy of its ``comparison.csv``.
"""

from __future__ import annotations

import contextlib
import io
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from careos_sim.cli.main import main

REPO = Path(__file__).resolve().parents[1]
TELLING = REPO / "scenarios" / "telling.yaml"
LISTENING = REPO / "scenarios" / "listening.yaml"
TINY = ["--horizon-days", "7", "--replications", "2", "--seed", "3", "--quiet", "--workers", "1"]

HARM = "safety.harm_per_1000_patient_days"
BURNOUT = "workforce.burnout_pct"
MISSED = "effectiveness.missed_care_pct"
COST = "efficiency.cost_per_patient_day"
IMPL = "flow.implementation_cost_per_patient_day"


def run_cli(*argv) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main([str(a) for a in argv])
    return rc, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def compared(tmp_path_factory) -> tuple[Path, str]:
    """A tiny comparison folder and the table ``compare`` printed."""
    folder = tmp_path_factory.mktemp("brief") / "cmp"
    rc, out, err = run_cli("compare", TELLING, LISTENING, *TINY, "--out", folder)
    assert rc == 0, err
    return folder, out


@pytest.fixture
def folder(compared, tmp_path) -> Path:
    target = tmp_path / "copy"
    shutil.copytree(compared[0], target)
    return target


def set_rows(folder: Path, values: dict[str, tuple[float, float, float, float, float]]) -> None:
    """Write (A's mean, B's mean, B - A, CI low, CI high) of some metrics into the folder's comparison.csv,
    with the better side the interval gives."""
    table = pd.read_csv(folder / "comparison.csv", keep_default_na=False, na_values=[""])
    for metric, (a, b, d, lo, hi) in values.items():
        i = table.index[table["metric"] == metric][0]
        table.loc[i, ["a_mean", "b_mean", "diff_mean", "diff_ci_low", "diff_ci_high"]] = [a, b, d, lo, hi]
        direction = table.at[i, "direction"]
        better = "neither"
        if direction in ("lower", "higher") and (lo > 0 or hi < 0):
            better = "b" if (hi < 0) == (direction == "lower") else "a"
        table.loc[i, "better"] = better
    table.to_csv(folder / "comparison.csv", index=False)


def flat_everywhere(folder: Path) -> None:
    """Every metric without a detectable difference: B equal to A, the CI of B - A +-10% of the larger mean."""
    table = pd.read_csv(folder / "comparison.csv", keep_default_na=False, na_values=[""])
    scale = table[["a_mean", "b_mean"]].abs().max(axis=1).fillna(1.0).clip(lower=1.0)
    table["b_mean"] = table["a_mean"]
    table["diff_mean"] = 0.0
    table["diff_ci_low"], table["diff_ci_high"] = -0.1 * scale, 0.1 * scale
    table["better"] = "neither"
    table.to_csv(folder / "comparison.csv", index=False)


def brief_of(folder: Path) -> str:
    from careos_sim.report import brief

    return brief(folder)


def section(text: str, heading: str) -> str:
    start = text.index(f"### {heading}")
    end = text.find("\n### ", start + 4)
    return text[start:end if end >= 0 else None]


# --------------------------------------------------------------------------- the bottom line


def test_the_brief_opens_with_a_bottom_line_in_relative_changes_and_what_it_costs(folder):
    set_rows(folder, {HARM: (50.0, 35.0, -15.0, -18.0, -12.0), BURNOUT: (40.0, 30.0, -10.0, -14.0, -6.0),
                      MISSED: (12.0, 11.5, -0.5, -1.5, 0.5), COST: (300.0, 309.0, 9.0, 6.0, 12.0),
                      IMPL: (1.0, 10.0, 9.0, 8.5, 9.5)})
    text = brief_of(folder)
    first = text.split("\n\n")[1]  # the paragraph under "## Brief"
    assert first.startswith("**Bottom line.** ")
    assert ("B (listening) is better than A (telling) on harm (30% lower, 95% CI 24-36%) and burnout (25% lower, "
            "95% CI 15-35%); missed care (4.2% lower, 95% CI 12% lower to 4.2% higher) shows no detectable "
            "difference.") in first
    assert "B costs 3.0% more a patient-day (95% CI 2.0-4.0%): USD 309 against 300" in first
    assert "of which running its leadership practices takes USD 10.0 against 1.0 under A." in first
    assert len(re.findall(r"[.!?](?:\s|$)", first.removeprefix("**Bottom line.** "))) <= 2  # one or two sentences


def test_the_bottom_line_says_which_side_is_worse_too(folder):
    set_rows(folder, {HARM: (40.0, 50.0, 10.0, 5.0, 15.0), BURNOUT: (40.0, 40.0, 0.0, -2.0, 2.0),
                      MISSED: (10.0, 9.0, -1.0, -1.5, -0.5), COST: (300.0, 297.0, -3.0, -6.0, 0.5)})
    first = brief_of(folder).split("\n\n")[1]
    assert "B (listening) is better than A (telling) on missed care (10% lower, 95% CI 5.0-15%)" in first
    assert "and worse on harm (25% higher, 95% CI 12-38%)" in first
    assert "; burnout (unchanged, 95% CI 5.0% lower to 5.0% higher) shows no detectable difference." in first
    assert ("B's cost per patient-day shows no detectable difference (USD 297 against 300; 1.0% less, 95% CI 2.0% "
            "less to 0.2% more)") in first


def test_relative_phrases():
    from careos_sim.report.comparison import relative_change, relative_phrase

    assert relative_phrase(relative_change(56.4, -16.8, -20.6, -13.0)) == "30% lower (95% CI 23-37%)"
    assert relative_phrase(relative_change(13.1, -1.3, -2.6, 0.05)) == "9.9% lower (95% CI 20% lower to 0.4% higher)"
    assert relative_phrase(relative_change(325, 8, 6, 10), more="more", less="less",
                           inner=True) == "2.5% more, 95% CI 1.8-3.1%"
    assert relative_phrase(relative_change(20.5, 0.0, 0.0, 0.0)) == "the same in every pair"
    assert relative_phrase(relative_change(10, 1, float("nan"), float("nan"))) == "10% higher (no 95% CI)"
    assert relative_change(0.0, 1.0, 0.5, 1.5) is None  # no share of nothing


def test_one_replication_bottom_line_says_there_is_no_interval(tmp_path):
    folder = tmp_path / "one"
    rc, _, err = run_cli("compare", TELLING, LISTENING, "--horizon-days", "3", "--replications", "1", "--quiet",
                         "--workers", "1", "--out", folder)
    assert rc == 0, err
    first = brief_of(folder).split("\n\n")[1]
    assert first.startswith("**Bottom line.** On harm, burnout and missed care there is no interval to judge by")
    assert "(no 95% CI)" in first


# --------------------------------------------------------------------------- settings by their names


def test_settings_are_named_by_their_documented_labels_then_keys(compared):
    text = brief_of(compared[0])
    part = section(text, "What differs between the two systems")
    assert "* Transparency (`leadership.elements.transparency`): 0 in A, 1 in B. Real-time, accurate data" in part
    assert "* Pressure to work harder (`leadership.pressure_to_work_harder`): 1 in A, 0 in B." in part
    assert not re.search(r"^\* `", part, re.M), "a setting shown by its key alone"


def test_setting_labels_come_from_the_documentation():
    from careos_sim.report.common import setting_description, setting_label

    assert setting_label("leadership.elements.transparency") == "Transparency"  # the app's title
    assert setting_label("staff.nurses.ratio.day") == "Patients per nurse, day shifts"
    assert setting_label("leadership.escalation_hours") == "Leader hours one escalation to a department costs"
    assert setting_label("patients.acuity.low.share") == "Share of admissions at this acuity (low)"  # told apart
    assert setting_label("departments.language_services.fix_hours_per_week").endswith("(language services)")
    assert setting_label("defects.enabled") == "Defects enabled"  # "false: no defects ...": the key, tidied
    assert setting_description("unit.beds") == "Staffed beds on the unit."  # as in docs/scenarios.md
    assert setting_label("no.such_key") == "No such key"


def test_every_metric_has_a_readable_label_the_equity_groups_included():
    from careos_sim.measure.metrics import ALL
    from careos_sim.report.common import LABELS
    from careos_sim.measure.labels import label

    assert all(m.name in LABELS for m in ALL)
    assert label("equity.harm_lep_per_1000_patient_days") == "Harm events, LEP patients"
    assert label("equity.harm_other_per_1000_patient_days") == "Harm events, other patients"
    assert label("equity.missed_care_lep_pct") == "Missed care, LEP patients"
    assert label("equity.missed_care_other_pct") == "Missed care, other patients"


# --------------------------------------------------------------------------- why outcomes did not move


def evidence(folder: Path, values: dict[str, tuple[float, float, float, float, float]], same_scenario: bool = False):
    from careos_sim.report.explain import Evidence

    set_rows(folder, values)
    paired = pd.read_csv(folder / "comparison.csv", keep_default_na=False, na_values=[""])
    a = yaml.safe_load((folder / "scenario-a.yaml").read_text())
    b = a if same_scenario else yaml.safe_load((folder / "scenario-b.yaml").read_text())
    return Evidence(paired, {"a": a, "b": b}, 7)


REPORTS_UP = {"learning.report_pct": (6.0, 20.0, 14.0, 10.0, 18.0)}
FIXES_FLAT = {"learning.fixes_per_month": (1.7, 1.8, 0.1, -0.3, 0.5)}
FIXES_UP = {"learning.fixes_per_month": (1.7, 2.4, 0.7, 0.3, 1.1)}
DEFECTS_FLAT = {"learning.active_defects_end": (37.0, 36.0, -1.0, -4.0, 2.0)}


def test_reports_up_fixes_flat_names_the_fix_capacity_as_the_bottleneck(folder):
    from careos_sim.report.explain import fix_capacity

    same = evidence(folder, {**REPORTS_UP, **FIXES_FLAT}, same_scenario=True)
    text = fix_capacity(same)
    assert text.startswith("nurses reported more of the defects they met (6.0% to 20.0%) but working fixes did "
                           "not change (1.70 to 1.80 a month)")
    assert "the capacity to fix, not what is reported, was the bottleneck" in text
    assert "6.0 hours a week on both sides" in text  # telling's: quality team x 0.15 fixing, no leader hours
    # listening has more fix capacity (32 h against 6 h): the numbers say fixes stayed flat, not why
    more = evidence(folder, {**REPORTS_UP, **FIXES_FLAT})
    assert "bottleneck" not in fix_capacity(more) and "working fixes did not change" in fix_capacity(more)


def test_the_fix_rule_is_silent_where_fixes_moved_or_are_not_recorded(folder):
    from careos_sim.report.explain import fix_capacity

    from careos_sim.report.explain import Evidence

    assert fix_capacity(evidence(folder, {**REPORTS_UP, **FIXES_UP}, same_scenario=True)) is None
    ev = evidence(folder, {**REPORTS_UP, **FIXES_FLAT}, same_scenario=True)
    assert fix_capacity(ev) is not None
    without = Evidence(ev.paired[ev.paired["metric"] != "learning.fixes_per_month"], ev.scenarios, 7)
    assert fix_capacity(without) is None  # a folder without the diagnostic: the rule says nothing


def test_escalations_up_department_fixes_flat_names_the_departments_capacity(folder):
    from careos_sim.report.explain import department_capacity

    ev = evidence(folder, {"flow.escalations_per_month": (4.0, 6.0, 2.0, 1.0, 3.0),
                           "learning.department_fixes_per_month": (1.0, 1.1, 0.1, -0.1, 0.3)})
    text = department_capacity(ev)
    assert text.startswith("the unit escalated more defects to the departments that own them (4.00 to 6.00 a month) "
                           "but the departments' working fixes did not change (1.00 to 1.10 a month)")
    assert re.search(r"\d+(\.\d)? hours a week across 7 departments, the same under both", text)
    flat = evidence(folder, {"flow.escalations_per_month": (4.0, 4.5, 0.5, -1.0, 2.0)})
    assert department_capacity(flat) is None


def test_nurse_time_freed_and_taken(folder):
    from careos_sim.report.explain import nurse_time

    ev = evidence(folder, {"efficiency.workaround_time_pct": (11.9, 9.3, -2.6, -4.7, -0.5),
                           "flow.huddle_hours": (0.0, 286.0, 286.0, 263.0, 308.0),
                           "flow.pressure_mean": (0.0, 0.0, 0.0, 0.0, 0.0),
                           "workforce.short_shifts_pct": (3.3, 3.4, 0.1, -0.2, 0.5),
                           "flow.float_hours": (0.0, 0.0, 0.0, 0.0, 0.0)})
    assert nurse_time(ev) == ("the nurse time B freed and the nurse time it took pull opposite ways: under B nurses "
                              "spent less time on workarounds (11.9% to 9.3% of time on duty), but spent more time "
                              "in huddles (0 to 286 nurse hours)")
    only_freed = evidence(folder, {"flow.huddle_hours": (0.0, 0.0, 0.0, 0.0, 0.0)})
    assert nurse_time(only_freed) is None


def test_the_same_leavers_on_both_sides(folder):
    from careos_sim.report.explain import same_leavers

    ev = evidence(folder, {"workforce.turnover_annual_pct": (20.5, 20.5, 0.0, 0.0, 0.0),
                           "workforce.mean_exhaustion": (0.40, 0.35, -0.05, -0.06, -0.03)})
    assert same_leavers(ev) == ("the same nurses left under both systems in every replication (20.5% a year on both "
                                "sides): the change in exhaustion (0.400 to 0.350) did not alter a single departure "
                                "over 7 days")
    assert same_leavers(evidence(folder, {"workforce.turnover_annual_pct": (20.5, 19.0, -1.5, -4.0, 1.0)})) is None


def test_the_brief_explains_an_outcome_that_did_not_move_and_only_that(folder):
    flat_everywhere(folder)
    set_rows(folder, {**REPORTS_UP, **FIXES_FLAT, **DEFECTS_FLAT, HARM: (50.0, 35.0, -15.0, -18.0, -12.0)})
    text = brief_of(folder)
    why = section(text, "Why some outcomes did not move")
    assert ("* **Active workflow defects at the end** (37.0 to 36.0 defects, no detectable difference): Nurses "
            "reported more of the defects they met (6.0% to 20.0%) but working fixes did not change "
            "(1.70 to 1.80 a month).") in why
    assert "Harm events, all sources" not in why  # harm moved: nothing to explain
    # the flat outcomes are explained only by what is flat: the same staffing, no demand that changed
    assert "* **Missed care (tasks not started in their window)**" in why and "the same nurse staffing" in why
    assert "None of the job demands the model's exhaustion responds to changed detectably" in why
    assert text.index("### What changes") < text.index("### Why some outcomes did not move") < text.index(
        "### What it costs") < text.index("### Caveats")


def test_a_rule_needs_what_it_cites(folder):
    from careos_sim.report.explain import same_staffing

    flat_everywhere(folder)
    ev = evidence(folder, {})
    assert same_staffing(ev).startswith("both sides have the same nurse staffing (5 patients per nurse by day, 6 by "
                                        "night)")
    path = folder / "scenario-b.yaml"
    path.write_text(path.read_text().replace("day: 5.0", "day: 4.0", 1))
    assert same_staffing(evidence(folder, {})) is None  # staffing differs: the rule cannot say it is the same
    assert "the same nurse staffing" not in brief_of(folder)
    set_rows(folder, {"efficiency.workaround_time_pct": (11.9, 9.3, -2.6, -4.7, -0.5)})
    path.write_text(path.read_text().replace("day: 4.0", "day: 5.0", 1))
    assert same_staffing(evidence(folder, {})) is None  # nurse time was freed: not "no time freed"


def test_no_section_where_every_main_outcome_moved(folder):
    table = pd.read_csv(folder / "comparison.csv")
    table["diff_ci_low"], table["diff_ci_high"] = 1.0, 2.0  # every outcome moved
    table.to_csv(folder / "comparison.csv", index=False)
    assert "Why some outcomes did not move" not in brief_of(folder)


def test_why_not_moved_on_the_real_folder_cites_only_what_the_folder_shows(compared):
    from careos_sim.report.comparison import HEADLINE, load_compare
    from careos_sim.report.explain import Evidence, why_not_moved

    data = load_compare(compared[0])
    ev = Evidence(data.paired, data.scenarios, 7)
    found = why_not_moved(ev, HEADLINE)
    for metric in found:
        assert ev.move(metric) == "flat"
    assert set(found) <= {m for m in HEADLINE if ev.move(m) == "flat"}


# --------------------------------------------------------------------------- costs and terms


def test_the_brief_states_what_the_practices_cost(compared):
    from careos_sim.report.common import number_format

    text = brief_of(compared[0])
    costs = section(text, "What it costs")
    paired = pd.read_csv(compared[0] / "comparison.csv").set_index("metric")
    assert "Cost per patient-day is USD" in costs
    assert "Running the leadership system's practices" in costs and "under A and" in costs
    r = paired.loc[IMPL]
    f = number_format(r.a_mean, r.b_mean, r.diff_mean, r.diff_ci_low, r.diff_ci_high)
    assert f"costs USD {f(r.a_mean)} a patient-day under A and {f(r.b_mean)} under B" in costs
    assert "over the 7 days" in costs and "hours in huddles" in costs
    assert "Training, paid during the 12-week launch and counted above: 0 hours per nurse under A and 8 under B" in costs


def test_the_brief_ends_with_a_glossary(compared):
    text = brief_of(compared[0])
    assert text.rstrip().rsplit("\n### ", 1)[1].startswith("Terms")
    terms = section(text, "Terms")
    for term in ("Paired replications", "Common random numbers", "95% confidence interval", "No detectable difference",
                 "Percentage points", "Relative change"):
        assert f"* **{term}" in terms, term


# --------------------------------------------------------------------------- the command-line table


def table_rows(out: str) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """The table's group titles in order, and (group, cells) of each row, cut at the rule's columns."""
    lines = out.splitlines()
    rule = next(i for i, line in enumerate(lines) if line.startswith("---"))
    spans, pos = [], 0
    for dashes in lines[rule].split("  "):
        spans.append((pos, pos + len(dashes)))
        pos += len(dashes) + 2
    groups, rows, group = [], [], None
    for line in lines[rule + 1:]:
        if not line.strip():
            if rows and group is None:
                break
            continue
        if line.startswith("better:"):
            break
        if not line.startswith(" "):
            group = line.strip()
            groups.append(group)
            continue
        rows.append((group, [line[a:b].strip() for a, b in spans]))
    return groups, rows


def test_the_table_is_grouped_by_dimension_with_labels_and_no_keys(compared):
    from careos_sim.report.common import DIMENSIONS

    out = compared[1]
    groups, rows = table_rows(out)
    assert groups == [*DIMENSIONS.values(), "Volumes and flow (counts and diagnostics: no better side)"]
    assert out.splitlines()[4].split()[0] == "outcome"
    names = [cells[0] for _, cells in rows]
    assert "Harm events, all sources" in names and "Harm events, LEP patients" in names and "Mean census" in names
    assert not any(re.fullmatch(r"[a-z_]+\.[a-z0-9_]+", n) for n in names), "a dotted key in the table"
    assert len(rows) == len(pd.read_csv(compared[0] / "comparison.csv"))


def test_counts_and_diagnostics_have_no_better_side(compared):
    _, rows = table_rows(compared[1])
    for group, cells in rows:
        if group.startswith("Volumes and flow"):
            assert cells[-1] == "", cells  # Admissions, Patient-days, Mean census, ...
        else:
            assert cells[-1] in ("A", "B", "neither"), cells
    assert any(cells[0] == "Admissions" for _, cells in rows)


def test_every_number_on_a_row_has_the_same_decimals(compared):
    _, rows = table_rows(compared[1])
    checked = 0
    for _, cells in rows:
        numbers = re.findall(r"[-+]?\d[\d,]*(?:\.\d+)?", " ".join(cells[1:5]))
        decimals = {len(n.split(".")[1]) if "." in n else 0 for n in numbers}
        assert len(decimals) <= 1, cells
        assert not any("e" in c for c in cells[1:5]), cells  # no exponent noise
        checked += bool(numbers)
    assert checked > 50


def test_one_format_a_row():
    from careos_sim.report.common import number_format

    f = number_format(0.41, 0.42, 0.00612, -0.00727, 0.02)  # the row that printed "+0.00612 [-0.00727, +0.02]"
    assert (f(0.00612, True), f(-0.00727, True), f(0.02, True)) == ("+0.006", "-0.007", "+0.020")
    g = number_format(55.9, 39.1, -16.8, -19.6, -13.9)
    assert (g(55.91), g(-16.77, True), g(-13.9, True)) == ("55.9", "-16.8", "-13.9")
    h = number_format(3213.0, 3185.7, -27.3, -88.2, 33.5)
    assert (h(3213.0), h(-27.3, True), h(33.5, True)) == ("3,213", "-27", "+34")
    z = number_format(0.0, 0.0, 0.0, 0.0, 0.0)
    assert z(0.0, True) == "0" and z(float("nan")) == "-"
