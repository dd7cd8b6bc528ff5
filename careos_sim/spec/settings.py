"""The settings a front end offers for a scenario: each a scenario key with its documented unit,
range and meaning (from :mod:`careos_sim.spec.keys`), a title a reader sees and a widget's range.
The app shows them; reports name settings by their titles."""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cache
from typing import Any, Iterable

from careos_sim.spec.keys import scenario_keys

__all__ = ["Setting", "SIDE_SETTINGS", "RUN_SETTINGS", "settings_docs"]


@dataclass(frozen=True)
class Setting:
    """One setting the app offers: a scenario key with its documentation and the widget's range."""

    path: str
    title: str
    group: str
    low: float
    high: float
    step: float
    integer: bool = False
    unit: str = ""
    description: str = ""
    allowed: str = ""
    default: str = ""

    @property
    def label(self) -> str:
        """The widget's label: the title with its unit."""
        if self.unit == "dial":
            return f"{self.title} (dial, 0 to 1)"
        if self.unit and self.unit.lower() != self.title.lower():
            return f"{self.title} ({self.unit})"
        return self.title

    @property
    def help(self) -> str:
        """The one-line explanation from the scenario documentation, and where it lives."""
        where = f"Scenario key `{self.path}`"
        if self.allowed:
            where += f", allowed {self.allowed}"
        return f"{self.description}\n\n{where}; see docs/scenarios.md."

    def widget_range(self, value: float) -> tuple[float, float]:
        """The widget's range, widened to hold a value read from a scenario file."""
        return min(self.low, value), max(self.high, value)

    def within(self, limits: Any) -> "Setting":
        """The setting with its widget's range inside this app's limits: beds up to ``max_beds``."""
        if self.path == "unit.beds":
            return replace(self, high=float(limits.max_beds))
        return self


_LEADERSHIP, _UNIT, _STAFFING, _RUN = "Leadership system", "Unit and patients", "Staffing and quality team", "Run"

# (path, title, group, low, high, step, integer); units and explanations come from the docs
_SIDE = (
    ("leadership.listening", "Listening at the point of care", _LEADERSHIP, 0, 1, 0.05, False),
    ("leadership.elements.valuing_people", "Valuing people", _LEADERSHIP, 0, 1, 0.05, False),
    ("leadership.elements.appreciating_complexity", "Appreciating complexity", _LEADERSHIP, 0, 1, 0.05, False),
    ("leadership.elements.integrating_quality", "Integrating quality", _LEADERSHIP, 0, 1, 0.05, False),
    ("leadership.elements.quality_team_as_operators", "Quality team as operators", _LEADERSHIP, 0, 1, 0.05, False),
    ("leadership.elements.clinical_language", "Clinical language", _LEADERSHIP, 0, 1, 0.05, False),
    ("leadership.elements.transparency", "Transparency", _LEADERSHIP, 0, 1, 0.05, False),
    ("leadership.pressure_to_work_harder", "Pressure to work harder", _LEADERSHIP, 0, 1, 0.05, False),
    ("unit.beds", "Beds", _UNIT, 1, 120, 1, True),  # up to Limits.max_beds (Setting.within)
    ("patients.lep_share", "Admissions with limited English proficiency", _UNIT, 0, 1, 0.01, False),
    ("staff.nurses.ratio.day", "Patients per nurse, day shifts", _STAFFING, 2, 10, 0.5, False),
    ("staff.nurses.ratio.night", "Patients per nurse, night shifts", _STAFFING, 2, 12, 0.5, False),
    ("leadership.quality_team.fte", "Quality team", _STAFFING, 0, 10, 0.25, False),
)
_RUNS = (
    ("run.horizon_days", "Horizon", _RUN, 1, 3650, 1, True),
    ("run.replications", "Replications", _RUN, 1, 1000, 1, True),
    ("run.seed", "Seed", _RUN, 0, 2**53 - 1, 1, True),  # the browser's largest exact integer
)


@cache
def settings_docs() -> dict[str, dict[str, str]]:
    """Every scenario key's documentation (path, type, unit, default, range, description)."""
    return {k["path"]: k for k in scenario_keys()}


def _settings(rows: Iterable[tuple]) -> tuple[Setting, ...]:
    docs = settings_docs()
    out = []
    for path, title, group, low, high, step, integer in rows:
        doc = docs[path]  # a KeyError here means a setting names a key the scenario does not have
        out.append(Setting(path, title, group, low, high, step, integer, doc["unit"], doc["description"],
                           doc["range"], doc["default"]))
    return tuple(out)


#: the settings offered for each side, in the order shown
SIDE_SETTINGS: tuple[Setting, ...] = _settings(_SIDE)
#: the run settings, shared by both sides (B runs with A's, paired on common random numbers)
RUN_SETTINGS: tuple[Setting, ...] = _settings(_RUNS)
