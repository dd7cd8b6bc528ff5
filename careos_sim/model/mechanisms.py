"""From leadership dials to mechanism parameters: explicit, monotone, documented, overridable.

Each mechanism parameter is a straight line between its value under a telling-style system
(dial at 0) and under a listening care operating system (dial at 1), driven by one dial:
``leadership.listening`` or one of the six ``leadership.elements``. A value set in
``leadership.mechanisms`` replaces the mapped one. The table below is the single source of
the mapping; ``docs/model.md`` prints it (generated).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from careos_sim.spec.scenario import LeadershipSpec
from careos_sim.clock import WEEK

__all__ = ["MAPPING", "Mapping", "Resolved", "resolve", "novelty", "launch_factor"]



@dataclass(frozen=True)
class Mapping:
    """One mechanism parameter: the dial that drives it and its values at dial 0 and 1."""

    dial: str  # "listening" or an element name
    at_0: float
    at_1: float
    unit: str
    row: str  # the row of the model's leadership table it implements
    source: str  # where the end points come from

    def at(self, dial: float) -> float:
        return self.at_0 + (self.at_1 - self.at_0) * dial


FREE = "free parameter"

MAPPING: dict[str, Mapping] = {
    "report_channel": Mapping(
        "listening", 0.26, 0.55, "probability", "surfacing",
        "at 0 calibrated so about 7% of encounters reach a fixer (Tucker & Edmondson 2003, 3-12%); at 1: free "
        "parameter"),
    "report_minutes": Mapping("listening", 8.0, 1.0, "minutes", "surfacing",
                              "at 1: the conceptual model (about a minute); at 0: free parameter (form filling)"),
    "huddle_minutes_per_shift": Mapping("listening", 0.0, 10.0, "minutes", "costs", FREE),
    "leader_rounding_hours_per_week": Mapping("listening", 0.0, 3.0, "hours", "costs", FREE),
    "committee_hours_per_month": Mapping("listening", 8.0, 0.0, "hours", "costs", FREE),
    "reprioritise_days": Mapping("listening", 30.0, 1.0, "days", "prioritisation",
                                 "monthly committee against daily huddle (conceptual model)"),
    "integrated_priority": Mapping("integrating_quality", 0.0, 1.0, "weight", "prioritisation",
                                   "definition of the dial"),
    "data_lag_days": Mapping("transparency", 30.0, 1.0, "days", "prioritisation",
                             "lagged monthly data against real-time data (conceptual model)"),
    "data_noise_cv": Mapping("transparency", 0.6, 0.1, "ratio", "prioritisation", FREE),
    "fix_visibility": Mapping("transparency", 0.3, 0.95, "probability", "reporting propensity", FREE),
    "report_patience_days": Mapping("transparency", 45.0, 120.0, "days", "reporting propensity", FREE),
    "fixing_share": Mapping("quality_team_as_operators", 0.15, 0.7, "fraction", "fix capacity",
                            "free parameter (most quality-team time on audits and reports when telling)"),
    "fix_success": Mapping("clinical_language", 0.5, 0.85, "probability", "fix success", FREE),
    "fix_sustain": Mapping("clinical_language", 0.45, 0.9, "probability", "fix success", FREE),
    "mandate_defects": Mapping("appreciating_complexity", 2.0, 0.3, "defects", "change management", FREE),
    "mandate_documentation_minutes": Mapping("appreciating_complexity", 2.0, 0.0, "minutes",
                                             "change management", FREE),
    "float_nurses": Mapping("appreciating_complexity", 0.0, 1.0, "nurses", "resilience", FREE),
    "recognition": Mapping("valuing_people", 0.1, 1.0, "dial", "recognition", FREE),
    "escalation_clarity": Mapping("clinical_language", 0.5, 1.0, "x", "fix success",
                                  "free parameter (escalations in improvement jargon against clinical language)"),
}


@dataclass(frozen=True)
class Resolved:
    """Every mechanism parameter, resolved for one scenario."""

    report_channel: float
    report_minutes: float
    huddle_minutes_per_shift: float
    leader_rounding_hours_per_week: float
    committee_hours_per_month: float
    reprioritise_days: float
    integrated_priority: float
    data_lag_days: float
    data_noise_cv: float
    fix_visibility: float
    report_patience_days: float
    fixing_share: float
    fix_success: float
    fix_sustain: float
    mandate_defects: float
    mandate_documentation_minutes: float
    float_nurses: float
    recognition: float
    escalation_clarity: float


def dial_value(leadership: LeadershipSpec, dial: str) -> float:
    return leadership.listening if dial == "listening" else getattr(leadership.elements, dial)


def resolve(leadership: LeadershipSpec) -> Resolved:
    """Mechanism parameters: the direct setting where given, else mapped from the dial."""
    values = {}
    for f in fields(Resolved):
        direct = getattr(leadership.mechanisms, f.name)
        mapping = MAPPING[f.name]
        values[f.name] = float(direct) if direct is not None else mapping.at(dial_value(leadership, mapping.dial))
    return Resolved(**values)


def novelty(lead: LeadershipSpec) -> float:
    """How much of the leadership system is new to a unit that ran telling-style before: the mean
    of listening and the six element dials (0 for the telling preset, 1 for the listening one)."""
    dials = [lead.listening, *(getattr(lead.elements, f) for f in type(lead.elements).model_fields)]
    return sum(dials) / len(dials)


def launch_factor(lead: LeadershipSpec, now_min: float) -> float:
    """Huddle length as a multiple of its steady length: ``launch_huddle_factor`` at time 0,
    falling linearly to 1 at the end of the launch; 1 for a system that is not new."""
    weeks = lead.launch_weeks
    if weeks <= 0 or novelty(lead) <= 0:
        return 1.0
    left = max(0.0, 1.0 - now_min / (weeks * WEEK))
    return 1.0 + (lead.launch_huddle_factor - 1.0) * left
