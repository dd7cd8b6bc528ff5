"""Why a main outcome of a comparison did not move, in the model's own terms, from the folder's numbers.

Each rule reads the paired table (``comparison.csv``: every metric and diagnostic with A's and
B's means and the paired 95% CI of B - A) and the resolved scenarios, and either states a reason
the numbers show (reports rose but working fixes did not: the capacity to fix was the
bottleneck; the unit escalated more but departments fixed no more; the nurse time B freed went
on huddles; ...) or says nothing. A rule never guesses: every clause it writes names a change
whose interval excludes zero, an interval that includes it, or a setting read from both
scenarios. :func:`why_not_moved` gives, for each outcome whose interval includes zero, the
sentences of the rules that apply to it; an outcome no rule explains is left out.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

import pandas as pd

from careos_sim.report.common import number_format

__all__ = ["Evidence", "RULES", "why_not_moved"]

UP, DOWN, FLAT = "up", "down", "flat"

HARM_SOURCES = {
    "safety.harm_defect_per_1000_patient_days": "workflow defects",
    "safety.harm_missed_care_per_1000_patient_days": "missed care",
    "safety.harm_slip_per_1000_patient_days": "slips",
    "safety.harm_communication_per_1000_patient_days": "failed communication",
}


def _finite(x: Any) -> bool:
    try:
        return x is not None and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


@dataclass
class Evidence:
    """The numbers of one comparison folder that a rule may cite."""

    paired: pd.DataFrame  # comparison.csv
    scenarios: Mapping[str, dict[str, Any] | None]  # resolved scenario-a.yaml, scenario-b.yaml
    horizon_days: Any = None

    @functools.cached_property
    def rows(self) -> dict[str, dict[str, Any]]:
        return {str(r["metric"]): r for r in self.paired.to_dict("records")}

    def move(self, metric: str) -> str | None:
        """"up" or "down" where the 95% CI of B - A excludes zero, "flat" where it includes it, None
        where the folder has no such metric or no interval."""
        r = self.rows.get(metric)
        if r is None or not (_finite(r.get("diff_ci_low")) and _finite(r.get("diff_ci_high"))):
            return None
        lo, hi = float(r["diff_ci_low"]), float(r["diff_ci_high"])
        return UP if lo > 0 else DOWN if hi < 0 else FLAT

    def identical(self, metric: str) -> bool:
        """Whether the metric had the same value on both sides of every pair (B - A and its CI all 0)."""
        r = self.rows.get(metric)
        return r is not None and all(_finite(r.get(k)) and float(r[k]) == 0.0
                                     for k in ("diff_mean", "diff_ci_low", "diff_ci_high"))

    def mean(self, metric: str, side: str) -> float:
        r = self.rows.get(metric)
        return float(r[f"{side}_mean"]) if r is not None and _finite(r.get(f"{side}_mean")) else math.nan

    def levels(self, metric: str, unit: str = "") -> str:
        """A's and B's means, "11.9% to 9.3%" (percentages with %), then ``unit`` if given."""
        a, b = self.mean(metric, "a"), self.mean(metric, "b")
        f = number_format(a, b)
        pct = "%" if str((self.rows.get(metric) or {}).get("unit", "")).startswith("%") else ""
        return f"{f(a)}{pct} to {f(b)}{pct}" + (f" {unit}" if unit else "")

    def level(self, metric: str, side: str) -> str:
        """One side's mean, as in :meth:`levels`."""
        a, b = self.mean(metric, "a"), self.mean(metric, "b")
        pct = "%" if str((self.rows.get(metric) or {}).get("unit", "")).startswith("%") else ""
        return f"{number_format(a, b)(a if side == 'a' else b)}{pct}"

    def setting(self, path: str) -> tuple[Any, Any] | None:
        """The value of a scenario key on each side, or None where a scenario is missing or lacks it."""
        values = []
        for side in "ab":
            node: Any = self.scenarios.get(side)
            for part in path.split("."):
                if not isinstance(node, dict) or part not in node:
                    return None
                node = node[part]
            values.append(node)
        return values[0], values[1]

    def same_setting(self, path: str) -> Any:
        """The value of a scenario key where both sides have the same one, else None."""
        pair = self.setting(path)
        return pair[0] if pair is not None and pair[0] == pair[1] else None

    @functools.cached_property
    def built(self) -> dict[str, Any] | None:
        """Both resolved scenarios as the model reads them (None where one is missing or invalid)."""
        from careos_sim.spec.scenario import ScenarioSpec

        out = {}
        for side in "ab":
            raw = self.scenarios.get(side)
            if not isinstance(raw, dict):
                return None
            try:
                out[side] = ScenarioSpec.model_validate(raw)
            except Exception:  # noqa: BLE001 - a hand-edited or foreign file: the rules cite no setting
                return None
        return out

    def unit_fix_hours(self) -> tuple[float, float] | None:
        """The unit's own fix capacity on each side, hours a week: quality-team hours x the share
        spent fixing, plus leaders' barrier-removal hours (as the model computes it)."""
        if self.built is None:
            return None
        from careos_sim.model.mechanisms import resolve

        hours = []
        for side in "ab":
            lead = self.built[side].leadership
            qt = lead.quality_team
            hours.append(qt.fte * qt.hours_per_fte_week * resolve(lead).fixing_share + lead.leader_fix_hours_per_week)
        return hours[0], hours[1]

    def training(self) -> tuple[float, float, float, float] | None:
        """Paid training hours per nurse on each side (``training_hours_per_nurse`` x how much of the
        system is new, as the model pays them) and each side's launch weeks."""
        if self.built is None:
            return None
        from careos_sim.model.mechanisms import novelty

        lead = {side: self.built[side].leadership for side in "ab"}
        hours = [lead[s].training_hours_per_nurse * novelty(lead[s]) if lead[s].launch_weeks > 0 else 0.0 for s in "ab"]
        return hours[0], hours[1], float(lead["a"].launch_weeks), float(lead["b"].launch_weeks)

    def department_fix_hours(self) -> tuple[float, float, int] | None:
        """The departments' fix capacity for this unit on each side, hours a week, and how many departments."""
        if self.built is None:
            return None
        hours = []
        for side in "ab":
            deps = self.built[side].departments
            hours.append(sum(d.fix_hours_per_week for _, d in deps.items()) * deps.capacity_factor)
        return hours[0], hours[1], sum(1 for _ in self.built["a"].departments.items())


Rule = Callable[[Evidence], "str | None"]


def _moved(ev: Evidence, metric: str) -> bool:
    return ev.move(metric) in (UP, DOWN)


def _verb(move: str | None, up: str = "rose", down: str = "fell") -> str:
    return up if move == UP else down


def _hours(h: float) -> str:
    return f"{h:.0f}" if h >= 10 else f"{h:.1f}"


# --------------------------------------------------------------------------- the rules

def fix_capacity(ev: Evidence) -> str | None:
    """Working fixes did not change; where reports did, fixing, not reporting, was the bottleneck."""
    reports, fixes = ev.move("learning.report_pct"), ev.move("learning.fixes_per_month")
    if fixes != FLAT or reports is None:
        return None
    fixed = f"working fixes did not change ({ev.levels('learning.fixes_per_month')} a month)"
    if reports == FLAT:
        return (f"neither reporting ({ev.levels('learning.report_pct')} of defects met) nor working fixes "
                f"({ev.levels('learning.fixes_per_month')} a month) changed")
    text = (f"nurses reported {'more' if reports == UP else 'less'} of the defects they met "
            f"({ev.levels('learning.report_pct')}) but {fixed}")
    hours = ev.unit_fix_hours()
    if hours is not None and (hours[1] <= hours[0] if reports == UP else hours[1] >= hours[0]):
        a, b = hours
        capacity = (f"{_hours(a)} hours a week on both sides" if math.isclose(a, b) else
                    f"{_hours(a)} hours a week under A, {_hours(b)} under B")
        text += (f": the capacity to fix, not what is reported, was the bottleneck (the unit's own fix capacity, "
                 f"quality-team time spent fixing plus leaders' barrier removal: {capacity})")
    return text


def department_capacity(ev: Evidence) -> str | None:
    """The unit escalated more (or fewer) defects but departments fixed no more: their capacity bounds it."""
    esc, dep = ev.move("flow.escalations_per_month"), ev.move("learning.department_fixes_per_month")
    if esc not in (UP, DOWN) or dep != FLAT:
        return None
    text = (f"the unit escalated {'more' if esc == UP else 'fewer'} defects to the departments that own them "
            f"({ev.levels('flow.escalations_per_month')} a month) but the departments' working fixes did not change "
            f"({ev.levels('learning.department_fixes_per_month')} a month)")
    hours = ev.department_fix_hours()
    if hours is not None and math.isclose(hours[0], hours[1]):
        text += (f": departments fix at their own pace and capacity ({_hours(hours[0])} hours a week across "
                 f"{hours[2]} departments, the same under both), which the unit's leadership does not set")
    return text


def fixes_outrun(ev: Evidence) -> str | None:
    """Working fixes changed but new defects or decayed fixes changed with them."""
    fixes = ev.move("learning.fixes_per_month")
    if fixes not in (UP, DOWN):
        return None
    offsets = []
    if ev.move("flow.new_defects") == fixes:
        offsets.append(f"{'more' if fixes == UP else 'fewer'} new defects appeared ({ev.levels('flow.new_defects')})")
    if ev.move("learning.regressions_per_month") == fixes:
        offsets.append(f"{'more' if fixes == UP else 'fewer'} fixes decayed "
                       f"({ev.levels('learning.regressions_per_month')} a month)")
    if not offsets:
        return None
    return (f"working fixes {_verb(fixes)} ({ev.levels('learning.fixes_per_month')} a month) but "
            + _join(offsets))


def harm_sources(ev: Evidence) -> str | None:
    """Harm from one source fell while harm from another rose."""
    down = [f"{name} ({ev.levels(m)})" for m, name in HARM_SOURCES.items() if ev.move(m) == DOWN]
    up = [f"{name} ({ev.levels(m)})" for m, name in HARM_SOURCES.items() if ev.move(m) == UP]
    if not (down and up):
        return None
    return f"harm from {_join(down)} fell but harm from {_join(up)} rose (per 1,000 patient-days)"


def defects_met(ev: Evidence) -> str | None:
    """Nurses met as many defects, so harm from defects could not fall; and why the defects stayed."""
    if ev.move("learning.defect_encounters_per_rn_8h") != FLAT or ev.move(
            "safety.harm_defect_per_1000_patient_days") != FLAT:
        return None
    text = (f"nurses met as many workflow defects under both ({ev.levels('learning.defect_encounters_per_rn_8h')} "
            "per nurse per 8 h) and harm from defects did not change "
            f"({ev.levels('safety.harm_defect_per_1000_patient_days')} per 1,000 patient-days)")
    why = fix_capacity(ev) or department_capacity(ev)
    return f"{text}; {why}" if why else text


#: the ways B can free or take nurse time: (metric, the move that frees time, the words for up and
#: down, the sentence with the word and A's and B's levels, the unit after the levels)
_NURSE_TIME = (
    ("efficiency.workaround_time_pct", DOWN, ("more", "less"), "spent {} time on workarounds ({} of time on duty)",
     ""),
    ("flow.huddle_hours", DOWN, ("more", "less"), "spent {} time in huddles ({})", "nurse hours"),
    ("flow.pressure_mean", UP, ("more", "less"), "worked under {} pressure to work faster, which in the model "
     "shortens tasks (leaders' pressure {} on a 0-1 scale)", ""),
    ("workforce.short_shifts_pct", DOWN, ("more", "fewer"), "had {} shifts short-staffed ({} of nurse slots)", ""),
    ("flow.float_hours", UP, ("more", "fewer"), "had {} float-nurse hours for surges ({})", "h"),
)


def nurse_time(ev: Evidence) -> str | None:
    """B freed nurse time one way and took it another (huddles, no push to work faster, short shifts)."""
    freed, taken = [], []
    for metric, frees, (up, down), sentence, unit in _NURSE_TIME:
        move = ev.move(metric)
        if move in (UP, DOWN):
            (freed if move == frees else taken).append(
                sentence.format(up if move == UP else down, ev.levels(metric, unit)))
    if not (freed and taken):
        return None
    return (f"the nurse time B freed and the nurse time it took pull opposite ways: under B nurses {_join(freed)}, "
            f"but {_join(taken)}")


def same_staffing(ev: Evidence) -> str | None:
    """The same nurse staffing on both sides and no nurse time freed."""
    day, night = ev.same_setting("staff.nurses.ratio.day"), ev.same_setting("staff.nurses.ratio.night")
    if day is None or night is None or ev.move("efficiency.workaround_time_pct") != FLAT:
        return None
    if any(_moved(ev, m) for m in ("flow.pressure_mean", "flow.huddle_hours", "flow.float_hours",
                                   "workforce.short_shifts_pct")):
        return None  # nurse time moved another way: nurse_time() says how, or nothing is sure
    return (f"both sides have the same nurse staffing ({day:g} patients per nurse by day, {night:g} by night) and no "
            f"nurse time was freed: time on workarounds did not change ({ev.levels('efficiency.workaround_time_pct')} "
            "of time on duty)")


_DEMANDS = {  # what raises exhaustion in the model (docs/model.md, workforce): metric -> name
    "efficiency.nurse_utilization_pct": "time busy",
    "efficiency.workaround_time_pct": "time on workarounds",
    "effectiveness.missed_care_pct": "missed care",
    "efficiency.overtime_hours_per_fte_week": "overtime",
    "flow.pressure_mean": "pressure to work harder",
}
_RESOURCES = {  # what relieves it: voice efficacy, which the willingness to report follows
    "learning.reporting_propensity_mean": "voice (the willingness to report, which follows nurses' sense that "
                                          "reports lead to fixes)",
}


def exhaustion_below_threshold(ev: Evidence) -> str | None:
    """Mean exhaustion moved, but not far enough to move the share above the burnout threshold."""
    e = ev.move("workforce.mean_exhaustion")
    if e not in (UP, DOWN):
        return None
    return (f"mean exhaustion {_verb(e)} ({ev.levels('workforce.mean_exhaustion')} on a 0-1 scale), but not far "
            "enough to move the share of nurses above the burnout threshold detectably")


def job_demands(ev: Evidence) -> str | None:
    """The job demands and resources exhaustion responds to moved both ways, or none moved."""
    eased, heavier = [], []
    for metric, name in _DEMANDS.items():
        m = ev.move(metric)
        if m in (UP, DOWN):
            (heavier if m == UP else eased).append(f"{name} {_verb(m)} ({ev.levels(metric)})")
    for metric, name in _RESOURCES.items():
        m = ev.move(metric)
        if m in (UP, DOWN):
            (eased if m == UP else heavier).append(f"{name} {_verb(m)} ({ev.levels(metric)})")
    if eased and heavier:
        return ("what the model's exhaustion responds to moved both ways: " + _join(eased) + ", but "
                + _join(heavier))
    present = [m for m in _DEMANDS if ev.move(m) is not None]
    if not eased and not heavier and len(present) == len(_DEMANDS):
        return ("none of the job demands the model's exhaustion responds to changed detectably ("
                + _join(list(_DEMANDS.values())) + ")")
    return None


def same_leavers(ev: Evidence) -> str | None:
    """Turnover identical in every pair: the same nurses left under both systems."""
    if not ev.identical("workforce.turnover_annual_pct"):
        return None
    text = (f"the same nurses left under both systems in every replication "
            f"({ev.level('workforce.turnover_annual_pct', 'a')} a year on both sides)")
    e = ev.move("workforce.mean_exhaustion")
    if e in (UP, DOWN):
        days = f" over {ev.horizon_days:g} days" if _finite(ev.horizon_days) else ""
        text += (f": the change in exhaustion ({ev.levels('workforce.mean_exhaustion')}) did not alter a single "
                 f"departure{days}")
    return text


def turnover_follows_exhaustion(ev: Evidence) -> str | None:
    """Turnover rises with exhaustion in the model, and exhaustion did not change."""
    if ev.identical("workforce.turnover_annual_pct") or ev.move("workforce.mean_exhaustion") != FLAT:
        return None
    return ("in the model a nurse's chance of leaving rises with her exhaustion, and mean exhaustion did not change "
            f"detectably ({ev.levels('workforce.mean_exhaustion')})")


_COSTS = {  # parts of cost per patient-day: metric -> (what, unit shown)
    "flow.implementation_cost_per_patient_day": ("running the leadership practices", "USD a patient-day"),
    "efficiency.overtime_hours_per_fte_week": ("overtime", "h per FTE-week"),
    "flow.agency_shifts": ("agency shifts", "shifts"),
    "workforce.turnover_annual_pct": ("replacing nurses who left", "a year"),
    "flow.float_hours": ("float nurses", "h"),
}


def cost_offsets(ev: Evidence) -> str | None:
    """One part of cost per patient-day rose while another fell."""
    more, less = [], []
    for metric, (what, unit) in _COSTS.items():
        m = ev.move(metric)
        if m in (UP, DOWN):
            (more if m == UP else less).append(f"{what} ({ev.levels(metric, unit)})")
    if not (more and less):
        return None
    return f"B spent more on {_join(more)} and less on {_join(less)}, which pull cost per patient-day opposite ways"


def cost_same_inputs(ev: Evidence) -> str | None:
    """The practices cost the same and the staffing is the same."""
    if ev.move("flow.implementation_cost_per_patient_day") != FLAT:
        return None
    day, night = ev.same_setting("staff.nurses.ratio.day"), ev.same_setting("staff.nurses.ratio.night")
    if day is None or night is None:
        return None
    return ("the leadership practices cost about the same on both sides "
            f"({ev.levels('flow.implementation_cost_per_patient_day', 'USD a patient-day')}) and so does the nurse "
            f"staffing ({day:g} patients per nurse by day, {night:g} by night)")


def reporting(ev: Evidence) -> str | None:
    """The willingness to report did not change (it grows with fixes nurses see), or pressure offset it."""
    prop, fixes, pressure = (ev.move("learning.reporting_propensity_mean"), ev.move("learning.fixes_per_month"),
                             ev.move("flow.pressure_mean"))
    if prop == FLAT:
        text = (f"nurses' willingness to report did not change ({ev.levels('learning.reporting_propensity_mean')} "
                "on a 0-1 scale); in the model it grows when nurses see their reports lead to fixes or are recognised")
        if fixes == FLAT:
            text += f", and working fixes did not change ({ev.levels('learning.fixes_per_month')} a month)"
        return text
    if prop in (UP, DOWN) and pressure == prop:
        return (f"nurses' willingness to report {_verb(prop)} ({ev.levels('learning.reporting_propensity_mean')}) but "
                f"so did the pressure to work harder ({ev.levels('flow.pressure_mean')}), under which nurses in the "
                "model report less")
    return None


def both_groups(ev: Evidence) -> str | None:
    """Harm changed alike for LEP and other patients, or LEP patients' harm is too uncertain to say."""
    lep, other = "equity.harm_lep_per_1000_patient_days", "equity.harm_other_per_1000_patient_days"
    ml, mo = ev.move(lep), ev.move(other)
    if ml in (UP, DOWN) and ml == mo:
        return (f"harm {_verb(ml)} for both groups (LEP patients {ev.levels(lep)}, other patients {ev.levels(other)} "
                "per 1,000 patient-days), so their ratio held")
    if mo in (UP, DOWN) and ml == FLAT:
        r = ev.rows[lep]
        f = number_format(r["diff_mean"], r["diff_ci_low"], r["diff_ci_high"])
        share = ev.same_setting("patients.lep_share")
        few = f", from {100 * share:g}% of admissions," if isinstance(share, (int, float)) and share > 0 else ""
        return (f"harm {_verb(mo)} for other patients ({ev.levels(other)} per 1,000 patient-days), while LEP "
                f"patients' harm{few} rests on few events: its change B - A is {f(r['diff_mean'], True)} per 1,000 "
                f"patient-days with a 95% CI from {f(r['diff_ci_low'], True)} to {f(r['diff_ci_high'], True)}")
    return None


def communication(ev: Evidence) -> str | None:
    """Harm from failed communication, which falls only on LEP patients, did not change."""
    m = "safety.harm_communication_per_1000_patient_days"
    if ev.move(m) != FLAT:
        return None
    return (f"harm from failed communication, which only LEP patients suffer, did not change ({ev.levels(m)} per "
            "1,000 patient-days)")


#: for each main outcome, the rules that may explain why it did not move, in the order tried
RULES: dict[str, tuple[Rule, ...]] = {
    "safety.harm_per_1000_patient_days": (harm_sources, defects_met),
    "effectiveness.missed_care_pct": (nurse_time, same_staffing),
    "timeliness.call_light_wait_min_mean": (nurse_time, same_staffing),
    "workforce.burnout_pct": (exhaustion_below_threshold, job_demands),
    "workforce.turnover_annual_pct": (same_leavers, turnover_follows_exhaustion),
    "efficiency.cost_per_patient_day": (cost_offsets, cost_same_inputs),
    "learning.report_pct": (reporting,),
    "learning.active_defects_end": (fix_capacity, department_capacity, fixes_outrun),
    "learning.active_defects_mean": (fix_capacity, department_capacity, fixes_outrun),
    "equity.harm_ratio": (both_groups, communication),
}


def why_not_moved(ev: Evidence, outcomes: Iterable[str]) -> dict[str, list[str]]:
    """For each of ``outcomes`` whose 95% CI of B - A includes zero, the sentences of the rules that
    apply (first letter capitalised, full stop); outcomes no rule explains are left out."""
    out: dict[str, list[str]] = {}
    for metric in outcomes:
        if ev.move(metric) != FLAT:
            continue
        said = []
        for rule in RULES.get(metric, ()):
            text = rule(ev)
            if text and text not in said:
                said.append(text)
        if said:
            out[metric] = [s[:1].upper() + s[1:] + "." for s in said]
    return out

