"""The leadership system: how the unit surfaces, prioritises and fixes its defects.

Every row of the model's leadership table is a process or a rule here, parameterised by the
resolved mechanisms (``mechanisms.py``):

* **surfacing**: a nurse who meets a defect reports it with probability
  ``report_channel x propensity`` (less under pressure); a report costs ``report_minutes``.
* **reporting propensity**: each nurse's voice efficacy (how far her recent reports led to a
  fix she saw, or were celebrated) rises with visible fixes and with recognition of reports and
  fixes (valuing people), and falls when a report goes unanswered for ``report_patience_days``;
  her propensity to report follows it.
* **prioritisation**: every ``reprioritise_days`` the known defects are ranked on data
  ``data_lag_days`` old with noise ``data_noise_cv``: a mix (``integrated_priority``) of the
  top-down goal's ticket counts and an integrated score of burden over all dimensions.
* **fix capacity**: quality-team hours x ``fixing_share`` plus leaders' barrier-removal hours,
  spent on the top-ranked defect; with both at zero nothing is ever fixed.
* **fix success**: a finished fix works with ``fix_success`` and lasts with ``fix_sustain``.
* **pressure to work harder**: when missed care exceeds the goal, leaders push; pace rises for
  a while, with more slips, faster exhaustion and less reporting.
* **costs**: huddle minutes (nurse time), leader rounding and fixing hours, committee hours,
  quality-team time.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any, Callable, Generator, Mapping, TYPE_CHECKING

import simpy

from careos_sim.measure.eventlog import NO_EVENT_LOG, NoEventLog
from careos_sim.measure.recorder import Recorder
from careos_sim.model.defects import DefectSystem
from careos_sim.model.entities import UNIT, Defect
from careos_sim.model.mechanisms import Resolved, novelty
from careos_sim.model.shared.departments import Desk, FixedFn, escalation_strength
from careos_sim.model.streams import Stream, Streams
from careos_sim.spec.scenario import DIMENSIONS, LeadershipSpec, ScenarioSpec
from careos_sim.clock import DAY, MONTH, WEEK

if TYPE_CHECKING:  # pragma: no cover
    from careos_sim.model.entities import Nurse

__all__ = ["LearningSystem", "Pressure", "Reporting", "Report", "Backlog", "Entry", "propensity"]

EFFICACY_STEP = 0.05  # weight of one report's outcome in a nurse's voice efficacy
PROPENSITY_FLOOR = 0.35  # willingness to report of a nurse who has never seen a report answered
REPORT_CREDIT = 0.5  # recognition for a report, relative to that for a fix the nurse sees


def propensity(efficacy: float) -> float:
    """A nurse's willingness to report a defect she meets, from her voice efficacy."""
    return PROPENSITY_FLOOR + (1.0 - PROPENSITY_FLOOR) * efficacy


class Report:
    """One report of one defect by one nurse, open until answered or given up on."""

    __slots__ = ("nurse", "defect", "time", "open")

    def __init__(self, nurse: "Nurse", defect: Defect, time: float):
        self.nurse = nurse
        self.defect = defect
        self.time = time
        self.open = True


class Entry:
    """What the leadership system knows of one defect in its improvement backlog: the reports
    behind it (their count and times, the ones still open), whether someone is fixing it, and
    whether it is escalated to its department. A defect is known once it has an entry."""

    __slots__ = ("reports", "times", "open", "in_work", "escalated")

    def __init__(self) -> None:
        self.reports = 0
        self.times: list[float] = []
        self.open: list[Report] = []
        self.in_work = False
        self.escalated = False


class Backlog:
    """The improvement backlog of one unit: an :class:`Entry` per known defect, by the defect's id."""

    def __init__(self) -> None:
        self.entries: dict[int, Entry] = {}

    def entry(self, defect: Defect) -> Entry:
        """The defect's entry, made known now if it was not."""
        e = self.entries.get(defect.id)
        if e is None:
            e = self.entries[defect.id] = Entry()
        return e

    def get(self, defect: Defect) -> Entry | None:
        return self.entries.get(defect.id)


class Pressure:
    """Leaders' pressure to work harder (0-1), reviewed weekly against the missed-care goal; call
    it for its level now. Pace rises with it, and slips, exhaustion and silence with it."""

    def __init__(self, env: simpy.Environment, lead: LeadershipSpec, recorder: Recorder):
        self.env = env
        self.lead = lead
        self.rec = recorder
        self.level = 0.0  # effective pressure now, 0-1
        self._running = False  # the weekly review runs

    def __call__(self) -> float:
        return self.level

    def start(self) -> None:
        self._running = self.lead.pressure_to_work_harder > 0
        if self._running:
            self.env.process(self._push())

    def adopt(self, lead: LeadershipSpec) -> None:
        """Another leadership system from now on (its pressure may start, or fade to nothing)."""
        self.lead = lead
        if not self._running and lead.pressure_to_work_harder > 0:
            self._running = True
            self.env.process(self._push())

    def _push(self) -> Generator[simpy.Event, Any, None]:
        """Weekly: leaders push harder in proportion to how far missed care is above the goal."""
        history: deque[tuple[float, float]] = deque(maxlen=5)
        while True:
            goal = self.lead.pressure_goal_missed_care_pct
            history.append((self.rec.missed_cum, self.rec.required_cum))
            if len(history) > 1:
                missed = history[-1][0] - history[0][0]
                required = history[-1][1] - history[0][1]
                pct = 100.0 * missed / required if required > 0 else 0.0
                gap = min(1.0, max(0.0, pct / goal - 1.0))
                self.level = self.lead.pressure_to_work_harder * gap
            self.rec.set_pressure(self.env.now, self.level)
            yield self.env.timeout(WEEK)


class Reporting:
    """Surfacing: a nurse who meets a defect may report it; a report is answered by a fix she
    sees, or goes unanswered past her patience. Her voice efficacy, and so her willingness to
    report, follows what became of her reports; recognition (valuing people) adds to it."""

    def __init__(self, env: simpy.Environment, mech: Resolved, stream: Stream, recorder: Recorder,
                 pressure: Callable[[], float], backlog: Backlog, event_log: NoEventLog = NO_EVENT_LOG):
        self.env = env
        self.mech = mech
        self.backlog = backlog
        self.stream = stream  # the unit's ``leadership.reporting`` stream
        self.rec = recorder
        self.pressure = pressure
        self.event_log = event_log
        self.open_reports: deque[Report] = deque()

    def start(self) -> None:
        self.env.process(self._expire_reports())

    def adopt(self, mech: Resolved) -> None:
        """Another leadership system's reporting channel and recognition from now on."""
        self.mech = mech

    def encounter(self, nurse: "Nurse", defect: Defect, now: float) -> float:
        """A nurse met a defect: she may report it. Returns the minutes the report costs her."""
        if nurse.agency:
            return 0.0
        stream = self.stream
        u = stream.uniforms  # its draws pop from the buffer (Stream: the same draws as random())
        if defect.fixed and (u.pop() if u else stream.random()) < self.mech.fix_visibility:
            return 0.0  # she knows it was dealt with: what is left is the fix's residual, not news
        p = self.mech.report_channel * propensity(nurse.efficacy) * (1.0 - 0.5 * self.pressure())
        if (u.pop() if u else stream.random()) >= p:
            return 0.0
        report = Report(nurse, defect, now)
        self._celebrate(nurse, REPORT_CREDIT)
        entry = self.backlog.entry(defect)
        entry.reports += 1
        entry.times.append(now)
        entry.open.append(report)
        self.open_reports.append(report)
        self.rec.reported(self.mech.report_minutes)
        self.event_log.defect_reported(now, defect, nurse, self.mech.report_minutes)
        return self.mech.report_minutes

    def answer(self, report: Report, visible: bool) -> None:
        """A report is answered: visibly (a fix the nurse sees, celebrated) or not."""
        report.open = False
        nurse = report.nurse
        if visible:
            nurse.efficacy += EFFICACY_STEP * (1.0 - nurse.efficacy)
            self._celebrate(nurse, 1.0)
        else:
            nurse.efficacy -= EFFICACY_STEP * nurse.efficacy

    def _celebrate(self, nurse: "Nurse", weight: float) -> None:
        """Recognition (valuing people): a report or a fix celebrated raises the nurse's sense that
        speaking up matters, and counts as recognition received this shift."""
        credit = weight * self.mech.recognition
        nurse.efficacy += EFFICACY_STEP * credit * (1.0 - nurse.efficacy)
        nurse.recognition += credit

    def _expire_reports(self) -> Generator[simpy.Event, Any, None]:
        """Daily: reports unanswered for longer than the nurses' patience count as unanswered."""
        patience = self.mech.report_patience_days * DAY
        while True:
            yield self.env.timeout(DAY)
            limit = self.env.now - patience
            while self.open_reports and self.open_reports[0].time < limit:
                report = self.open_reports.popleft()
                if report.open:
                    self.backlog.entry(report.defect).open.remove(report)
                    self.answer(report, visible=False)


def _unescalate(entry: Entry) -> Callable[[Any], None]:
    """What a department calls when it closes an escalation: the entry may be escalated again."""
    return lambda defect: setattr(entry, "escalated", False)


class LearningSystem:
    """Reporting, prioritisation, fixing and pressure for one unit."""

    def __init__(self, env: simpy.Environment, scenario: ScenarioSpec, mech: Resolved, streams: Streams,
                 recorder: Recorder, defects: DefectSystem, reporting: Reporting, pressure: Pressure,
                 desks: Callable[[FixedFn], Mapping[str, Desk]], event_log: NoEventLog = NO_EVENT_LOG,
                 goal_phase: float | None = None):
        """``desks(on_fixed)``: the departments this unit escalates to, by name (its own, or a
        hospital's shared ones), told to call ``on_fixed`` when a fix works. ``goal_phase``: where
        the rotating goal stands at time 0, when a hospital sets one goal for every unit (else drawn
        from the unit's own stream)."""
        self.env = env
        self.sc = scenario  # its leadership block, and the unit's wage, LEP share and defects switch
        self.lead = scenario.leadership
        self.mech = mech
        self.rec = recorder
        self.defects = defects
        self.reporting = reporting
        self.backlog = reporting.backlog
        self.pressure = pressure
        self.event_log = event_log
        self.fixing = streams.stream("leadership.fixing")
        self.noise = streams.stream("leadership.noise")
        # Where the rotating goal stands at time 0: a unit run this way today is somewhere in its
        # cycle, not at its start, so each replication starts at a uniform point of the cycle
        # (the same for every scenario with the same seed: common random numbers).
        phase = streams.stream("leadership.goal").random() * len(DIMENSIONS)
        self.goal_phase = phase if goal_phase is None else goal_phase
        self.ranking: list[Defect] = []
        qt = self.lead.quality_team
        self.quality_hours = qt.fte * qt.hours_per_fte_week  # the quality team's hours a week on this unit
        self.fix_hours_per_week = self.quality_hours * mech.fixing_share + self.lead.leader_fix_hours_per_week
        self.desks = desks(self._fixed)
        self._fixing = False  # the fixer process runs
        self._launched_week = 0  # the week the leadership system now in place was adopted

    def start(self) -> None:
        """Start the leadership system's processes, its pressure and its reporting among them (in
        this order: events at the same instant run in the order they were scheduled)."""
        self.env.process(self._weekly_costs())
        self.env.process(self._prioritise())  # the committee or huddle meets, defects or not
        self.pressure.start()
        if not self.sc.defects.enabled:
            return
        for d in self.defects.defects:  # the initial stock's past fixes: those defects were known
            if d.fixed:
                self.backlog.entry(d)
        self.reporting.start()
        if self.fix_hours_per_week > 0:
            self._start_fixer()
        for desk in self.desks.values():
            desk.start()

    def _start_fixer(self) -> None:
        self._fixing = True
        self.env.process(self._fixer())

    def allocate(self, quality_hours: float) -> None:
        """A hospital's quality team gives this unit ``quality_hours`` a week from now on."""
        self.quality_hours = quality_hours
        self._refresh_capacity()

    def adopt(self, lead: LeadershipSpec, mech: Resolved, week: int) -> None:
        """The unit adopts another leadership system now (in ``week`` of the run): its mechanisms,
        committee or huddle, fix capacity, costs and launch (training) from now on."""
        self.lead, self.mech, self._launched_week = lead, mech, week
        self._refresh_capacity()

    def _refresh_capacity(self) -> None:
        self.fix_hours_per_week = self.quality_hours * self.mech.fixing_share + self.lead.leader_fix_hours_per_week
        if self.fix_hours_per_week > 0 and not self._fixing and self.sc.defects.enabled:
            self._start_fixer()

    # ------------------------------------------------------------------ prioritisation
    def goal(self, now: float) -> int:
        """The dimension of the current top-down goal (rotating through the six)."""
        period = self.lead.goal_rotation_months * MONTH
        return int(now / period + self.goal_phase) % len(DIMENSIONS)

    def _prioritise(self) -> Generator[simpy.Event, Any, None]:
        while True:
            every = self.mech.reprioritise_days * DAY
            self.rank()
            hours = self.mech.committee_hours_per_month * self.mech.reprioritise_days / (MONTH / DAY)
            self.rec.committee(hours)
            self.rec.cost("leadership", hours * self.sc.staff.nurses.hourly_wage)
            self.rec.implementation(hours * self.sc.staff.nurses.hourly_wage)
            yield self.env.timeout(every)

    def rank(self) -> None:
        """Rank the known, unfixed defects on the data the system has (lagged and noisy)."""
        now = self.env.now
        lag = self.mech.data_lag_days * DAY
        window = 30.0 * DAY
        goal = self.goal(now)
        equity_weight = 1.0 / max(self.sc.patients.lep_share, 0.05)
        entries = self.backlog.entries
        known = [(d, entries[d.id]) for d in self.defects.defects if d.id in entries and not d.fixed]
        scored = []
        for d, entry in known:
            times = entry.times
            cut = now - lag - window - DAY
            if times and times[0] < cut:
                entry.times = times = [t for t in times if t >= cut]
            count = sum(1 for t in times if now - lag - window <= t < now - lag)
            noise = self.noise.lognormal(1.0, self.mech.data_noise_cv) if self.mech.data_noise_cv > 0 else 1.0
            seen = count * noise
            tickets = seen * (1.0 if goal in d.dims else 0.25)
            # the integrated score counts burden per patient exposed, so a defect that falls only on
            # LEP patients is not outranked merely because they are few (equity as a dimension)
            integrated = seen * d.impact / 6.0 * (equity_weight if d.cat.lep_only else 1.0)
            w = self.mech.integrated_priority
            scored.append(((1.0 - w) * tickets + w * integrated, d.id, d))
        scored.sort(key=lambda x: (-x[0], x[1]))
        self.ranking = [d for score, _, d in scored if score > 0]
        self._escalate()

    def _escalate(self) -> None:
        """Escalate the top-ranked defects the unit does not own to their departments, up to
        ``escalation_limit`` open escalations with each; each costs leader hours."""
        limit = self.lead.escalation_limit
        cost = self.lead.escalation_hours * self.lead.leader_hourly_cost
        for d in self.ranking:
            entry = self.backlog.entry(d)
            if d.owner == UNIT or entry.escalated or d.fixed or not d.active:
                continue
            desk = self.desks[d.owner]
            if desk.open >= limit:
                continue
            entry.escalated = True
            desk.escalate(d, escalation_strength(entry.reports, self.mech.escalation_clarity), self._fixed,
                          _unescalate(entry))
            self.rec.cost("leadership", cost)
            self.rec.implementation(cost)

    def _next_defect(self) -> Defect | None:
        """The top-ranked defect the unit owns and can fix itself."""
        for d in self.ranking:
            if d.owner == UNIT and d.active and not d.fixed and not self.backlog.entry(d).in_work:
                return d
        return None

    # ------------------------------------------------------------------ fixing
    def _fixer(self) -> Generator[simpy.Event, Any, None]:
        """Fix capacity spent on the top-ranked defect, one at a time."""
        while True:
            rate = self.fix_hours_per_week / WEEK  # hours of effort per simulated minute
            defect = self._next_defect()
            if defect is None:
                yield self.env.timeout(DAY)
                continue
            if rate <= 0:  # no capacity now (a hospital's allocation): look again tomorrow
                yield self.env.timeout(DAY)
                continue
            entry = self.backlog.entry(defect)
            entry.in_work = True
            yield self.env.timeout(defect.effort_hours / rate)
            entry.in_work = False
            self.rec.fix_attempt()
            if not defect.active or defect.fixed:
                continue
            if self.fixing.random() < self.mech.fix_success:
                self.defects.fix(defect, sustained=self.fixing.random() < self.mech.fix_sustain)
                self._fixed(defect)

    def _fixed(self, defect: Defect) -> None:
        """A working fix (the unit's or a department's): its reporters may see it."""
        entry = self.backlog.get(defect)
        if entry is None:
            return
        entry.times = []  # the backlog's data on it is closed
        for report in entry.open:
            self.reporting.answer(report, visible=self.fixing.random() < self.mech.fix_visibility)
        entry.open = []

    # ------------------------------------------------------------------ costs
    def _weekly_costs(self) -> Generator[simpy.Event, Any, None]:
        """Leader and quality-team time, charged week by week; training during the launch (counted
        from the week the leadership system now in place was adopted)."""
        week = 0
        while True:
            lead, mech = self.lead, self.mech
            qt = lead.quality_team
            leader_hours = lead.leader_fix_hours_per_week + mech.leader_rounding_hours_per_week
            leaders = leader_hours * lead.leader_hourly_cost
            per_week = self.quality_hours * qt.hourly_cost + leaders
            launch_weeks = int(math.ceil(lead.launch_weeks))
            training_per_week = lead.training_hours_per_nurse * novelty(lead) / max(lead.launch_weeks, 1.0)
            self.rec.cost("leadership", per_week)
            self.rec.implementation(leaders)
            if week - self._launched_week < launch_weeks and training_per_week > 0:
                hours = training_per_week * self.rec.positions.level  # nurses on the establishment
                usd = hours * self.sc.staff.nurses.hourly_wage
                self.rec.training_hours += hours
                self.rec.cost("training", usd)
                self.rec.implementation(usd)
            week += 1
            yield self.env.timeout(WEEK)
