"""The nurses as people: exhaustion, sick calls, leaving, hiring and learning the unit.

* **Exhaustion** ``E`` in [0, 1] moves at the end of each shift a share of the way towards a
  target set by the balance of job demands (load above 75% busy, workarounds, missed care as
  moral distress, overtime, pressure to work harder, colleagues who left in the last 30 days)
  and resources (rest before the shift, recognition, voice efficacy), on the logit scale,
  around the nurse's own vulnerability: ``E* = logistic(baseline + vulnerability + demands -
  resources)``. The response is gradual by construction: nurses differ widely in
  vulnerability (so a shift in demands moves the share burned out along a wide normal
  curve, not past one threshold), load counts only above 75% busy and saturates when a nurse
  is always busy, and moral distress grows with the logarithm of missed care (the tenth
  missed task weighs less than the first), so burnout changes smoothly across ratios 1:4 to
  1:8 (docs/model.md, workforce).
* **Absence**: a rostered nurse calls in sick with a chance rising with ``E``.
* **Turnover**: every day each nurse leaves with a hazard for reasons unrelated to work plus
  a part rising exponentially with ``E``; a
  vacancy is filled after a lognormal hiring delay, and the new hire works slower at first
  (``new_hire_pace``), reaching full proficiency over ``proficiency_days``.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any, Generator

import numpy as np
import simpy
from scipy.optimize import brentq

from careos_sim.measure.recorder import Recorder
from careos_sim.model.entities import Nurse
from careos_sim.model.leadership import propensity
from careos_sim.model.streams import Streams
from careos_sim.spec.scenario import StaffSpec
from careos_sim.clock import DAY, SHIFT


__all__ = ["Workforce", "logistic", "overload"]



#: Minutes of care a missed task stands for when counting the work a shift demanded (about the
#: mean of the scheduled tasks' minutes).
MISSED_TASK_MINUTES = 10.0
#: Share of a shift's minutes demanded above which load strains, and the softness of that knee.
LOAD_KNEE, LOAD_SOFTNESS = 0.75, 0.1


def logistic(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def overload(demanded: float) -> float:
    """Work demanded above the knee, as a share of the shift: a softplus of (demanded - 0.75),
    smooth at the knee and rising without limit as more work is demanded than a nurse can do
    (so the strain keeps growing with patients per nurse after she is always busy)."""
    x = (demanded - LOAD_KNEE) / LOAD_SOFTNESS
    return LOAD_SOFTNESS * (x + math.log1p(math.exp(-x)) if x > 0 else math.log1p(math.exp(x)))


class Workforce:
    """The employed nurses of one unit (or of a float pool) as people: exhaustion, absence,
    turnover and hiring. ``positions`` nurses are employed at the start; under a shift roster each
    starts from the staff's steady state (a continuous roster, for verification, has none).
    ``first_id``: the id of its first nurse (a hospital's float pool numbers its nurses apart from
    the units', so that an event log tells them apart)."""

    def __init__(self, env: simpy.Environment, spec: StaffSpec, positions: int, streams: Streams,
                 recorder: Recorder, first_id: int = 0):
        self.env = env
        self.spec = spec
        self.ex = spec.exhaustion
        self.turn = spec.turnover
        self.rec = recorder
        self.enabled = spec.dynamics
        self.nurses: list[Nurse] = []  # employed now
        self._next_id = first_id
        self.people = streams.stream("workforce.people")  # vulnerability and starting E of each nurse
        self.absence = streams.stream("workforce.absence")
        self.leaving = streams.stream("workforce.turnover")
        self.hiring = streams.stream("workforce.hiring")
        self.people_vacant = streams.stream("workforce.vacancies")  # positions vacant at time 0
        self.departed: deque[float] = deque()
        self._centre: float | None = None  # logit centre of the staff's E at time 0
        for _ in range(positions):
            nurse = self.new_nurse()
            if spec.roster == "shifts":
                self.init_nurse(nurse, new_hire=False)

    # ------------------------------------------------------------------ people
    def new_nurse(self) -> Nurse:
        """A nurse joins the employed staff."""
        nurse = Nurse(self._next_id)
        self._next_id += 1
        self.nurses.append(nurse)
        return nurse

    def init_nurse(self, nurse: Nurse, new_hire: bool) -> None:
        """Vulnerability, starting exhaustion and proficiency of a nurse joining the staff."""
        nurse.efficacy = self.spec.nurses.initial_voice_efficacy
        if new_hire:
            nurse.vulnerability = self.ex.individual_sd * self.people.normal()
            nurse.exhaustion = self.turn.new_hire_exhaustion
            nurse.hired_at = self.env.now
        else:
            nurse.vulnerability, nurse.exhaustion = self._survivor()

    def _survivor(self) -> tuple[float, float]:
        """Vulnerability and E of a nurse on the staff at time 0: a unit run the usual way is in
        its steady state, and its staff are the ones who stayed. Nurses who tire more leave
        sooner, so among those employed at any moment each vulnerability is present in
        proportion to how long such a nurse stays, 1 / her leaving hazard. Drawn by rejection:
        a fresh draw r is kept with probability hazard(0) / hazard(E0(r)), E0(r) = logistic(c + r)
        her starting exhaustion (no selection when nobody ever leaves), where the centre c is
        the one that makes the mean E of the staff so drawn equal ``initial_mean``."""
        centre = self._initial_centre()
        lowest = self.hazard(0.0)
        for _ in range(1000):
            r = self.ex.individual_sd * self.people.normal()
            e0 = logistic(centre + r)
            if not self.enabled or lowest <= 0.0 or self.people.random() < lowest / self.hazard(e0):
                return r, e0
        return r, e0  # pragma: no cover - acceptance is bounded below by hazard(0) / hazard(1)

    def _initial_centre(self) -> float:
        """The logit centre c at which the survivor-weighted mean of logistic(c + r), r ~ N(0,
        ``individual_sd``^2), is ``initial_mean`` (Gauss-Hermite quadrature, solved once)."""
        if self._centre is not None:
            return self._centre
        m = min(max(self.ex.initial_mean, 1e-6), 1.0 - 1e-6)
        nodes, weights = np.polynomial.hermite_e.hermegauss(64)
        r = self.ex.individual_sd * nodes
        selective = self.enabled and self.hazard(0.0) > 0.0

        def mean_e(c: float) -> float:
            e = 1.0 / (1.0 + np.exp(-(c + r)))
            w = weights / np.array([self.hazard(x) for x in e]) if selective else weights
            return float(np.sum(w * e) / np.sum(w))

        logit = math.log(m / (1.0 - m))
        self._centre = float(brentq(lambda c: mean_e(c) - m, logit - 30.0, logit + 30.0)) \
            if 1e-6 < m < 1.0 - 1e-6 else logit
        return self._centre

    def pace(self, nurse: Nurse) -> float:
        """Task-minutes multiplier: a new hire is slower, reaching 1 after ``proficiency_days``."""
        if not self.enabled or nurse.hired_at is None or self.turn.proficiency_days <= 0:
            return 1.0
        share = min(1.0, (self.env.now - nurse.hired_at) / (self.turn.proficiency_days * DAY))
        return self.turn.new_hire_pace + (1.0 - self.turn.new_hire_pace) * share

    # ------------------------------------------------------------------ exhaustion
    def recent_departures(self) -> int:
        limit = self.env.now - 30 * DAY
        while self.departed and self.departed[0] < limit:
            self.departed.popleft()
        return len(self.departed)

    def after_shift(self, nurse: Nurse, missed_per_nurse: float, overtime_min: float, pressure: float,
                    rest_days: float) -> None:
        """Move the nurse's exhaustion towards the target set by this shift's demands and resources."""
        if not self.enabled or nurse.agency:
            return
        ex = self.ex
        demanded = (nurse.shift_busy + missed_per_nurse * MISSED_TASK_MINUTES) / SHIFT
        demands = (ex.load * overload(demanded)
                   + ex.workaround * nurse.shift_workaround / SHIFT
                   + ex.missed_care * math.log1p(missed_per_nurse)
                   + ex.overtime * overtime_min / 60.0
                   + ex.pressure * pressure
                   + ex.departures * self.recent_departures())
        resources = (ex.rest * min(rest_days, 3.0)
                     + ex.recognition * min(1.0, nurse.recognition)
                     + ex.voice * nurse.efficacy)
        target = logistic(ex.baseline + nurse.vulnerability + demands - resources)
        nurse.exhaustion += ex.adjust_per_shift * (target - nurse.exhaustion)

    def calls_in_sick(self, nurse: Nurse) -> bool:
        if not self.enabled:
            return False
        a = self.spec.absence
        return self.absence.random() < a.base_probability + a.exhaustion_slope * nurse.exhaustion

    # ------------------------------------------------------------------ turnover and hiring
    def hazard(self, exhaustion: float) -> float:
        """Daily chance of leaving: for reasons unrelated to work (``other_reasons_annual_rate``:
        moves, family, retirement, study) plus a part that rises exponentially with E."""
        t = self.turn
        return (t.other_reasons_annual_rate + t.annual_rate_at_threshold
                * math.exp(t.exhaustion_log_slope * (exhaustion - self.ex.burnout_threshold))) / 365.25

    def start(self) -> None:
        self.rec.positions.change(self.env.now, len(self.nurses))
        if self.enabled and (self.turn.annual_rate_at_threshold > 0 or self.turn.other_reasons_annual_rate > 0):
            self._vacant_at_start()
            self.env.process(self._daily())

    def _vacant_at_start(self) -> None:
        """The vacancies of a unit run the usual way today. Each position alternates between
        filled (for 1 / hazard on average) and vacant (for the mean hiring delay d), so at any
        moment it is vacant with chance h d / (1 + h d), h the staff's mean hazard; a position
        vacant at time 0 is filled after the rest of its delay (the remaining part of a
        length-biased lognormal delay, stream ``workforce.vacancies``)."""
        t = self.turn
        nurses = list(self.nurses)
        if not nurses or t.hiring_delay_days <= 0:
            return
        hd = sum(self.hazard(n.exhaustion) for n in nurses) / len(nurses) * t.hiring_delay_days
        share = hd / (1.0 + hd)
        stream = self.people_vacant
        for nurse in nurses:
            if stream.random() >= share:
                continue
            self.nurses.remove(nurse)
            nurse.employed = False
            self.rec.vacancies.change(self.env.now, 1)
            # length-biased lognormal: same log-sd, mean x (1 + cv^2); the elapsed part is uniform
            mean = t.hiring_delay_days * DAY * (1.0 + t.hiring_delay_cv ** 2)
            whole = stream.lognormal(mean, t.hiring_delay_cv) if t.hiring_delay_cv > 0 else t.hiring_delay_days * DAY
            self.env.timeout(stream.random() * whole).callbacks.append(lambda _: self.hire())

    def _daily(self) -> Generator[simpy.Event, Any, None]:
        while True:
            yield self.env.timeout(DAY)
            for nurse in list(self.nurses):
                if self.leaving.random() < self.hazard(nurse.exhaustion):
                    self.depart(nurse)

    def depart(self, nurse: Nurse) -> None:
        """The nurse leaves (after her shift, if on duty); the vacancy is posted."""
        now = self.env.now
        self.nurses.remove(nurse)
        nurse.employed = False
        self.departed.append(now)
        burned = nurse.exhaustion >= self.ex.burnout_threshold
        self.rec.departure(now, burned, self.turn.departure_cost)
        self.rec.log(now, "leave", nurse=nurse.id, value=nurse.exhaustion)
        delay = self.hiring.lognormal(self.turn.hiring_delay_days * DAY, self.turn.hiring_delay_cv) \
            if self.turn.hiring_delay_cv > 0 else self.turn.hiring_delay_days * DAY
        self.env.timeout(delay).callbacks.append(lambda _: self.hire())

    def hire(self) -> None:
        nurse = self.new_nurse()
        self.init_nurse(nurse, new_hire=True)
        self.rec.hired(self.env.now)
        self.rec.log(self.env.now, "hire", nurse=nurse.id)

    def sample(self) -> None:
        """Burnout prevalence and mean exhaustion of the employed staff (once a shift)."""
        nurses = self.nurses
        threshold = self.ex.burnout_threshold
        burned = sum(1 for n in nurses if n.exhaustion >= threshold)
        self.rec.staff_sample(len(nurses), burned, sum(n.exhaustion for n in nurses),
                              sum(propensity(n.efficacy) for n in nurses))
