"""Patient flow between units, and demand over time.

A unit alone boards its patients when it is full and discharges them home; its admissions
follow its own hourly profile. In a hospital, :class:`Routing` sends an admission that finds its
unit full to another unit with a free bed (an off-service patient: less familiar care), and
moves some patients on after discharge (ICU to step-down, step-down to a ward);
:class:`Demand` scales every unit's admissions by weekday, season and surge events. Both use
the patients' own streams or none: common random numbers hold per unit.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Protocol, Sequence
from careos_sim.clock import DAY

if TYPE_CHECKING:  # pragma: no cover
    from careos_sim.model.entities import Patient
    from careos_sim.model.patients import PatientFlow

__all__ = ["Routing", "NO_ROUTING", "Demand", "FLAT_DEMAND", "HospitalRouting", "Surge"]

WEEK_DAYS = 7


class Routing(Protocol):
    def overflow(self, flow: "PatientFlow", patient: "Patient") -> bool:
        """The patient's unit is full: place the patient elsewhere (True) or not (False: board)."""

    def discharged(self, flow: "PatientFlow", patient: "Patient") -> None:
        """The patient left ``flow``'s unit: go home, or on to another unit."""


class _NoRouting:
    """A unit alone: full means boarding; a discharge goes home."""

    def overflow(self, flow: "PatientFlow", patient: "Patient") -> bool:
        return False

    def discharged(self, flow: "PatientFlow", patient: "Patient") -> None:
        return None


NO_ROUTING: Routing = _NoRouting()


class Surge:
    """Admissions times ``factor`` from ``start_day`` for ``days`` days (a winter surge, an outbreak)."""

    __slots__ = ("start", "end", "factor")

    def __init__(self, start_day: float, days: float, factor: float):
        self.start, self.end, self.factor = start_day * DAY, (start_day + days) * DAY, factor


class Demand:
    """Admissions over time as a multiple of a unit's own: a weekday profile (Monday first; day 0
    of a run is a Monday), a seasonal cosine and surge events. ``peak`` bounds the multiple, for
    thinning; a flat demand is exactly 1 and leaves a unit's arrivals as they are alone."""

    def __init__(self, weekday: Sequence[float] = (1.0,) * WEEK_DAYS, seasonal_amplitude: float = 0.0,
                 seasonal_peak_day: float = 0.0, surges: Sequence[Surge] = ()):
        self.weekday = tuple(float(w) for w in weekday)
        self.amplitude = seasonal_amplitude
        self.peak_day = seasonal_peak_day
        self.surges = tuple(surges)
        surge_peak = max([1.0, *(s.factor for s in self.surges)])
        self.peak = max(self.weekday) * (1.0 + abs(self.amplitude)) * surge_peak
        self.flat = self.peak == 1.0 and min(self.weekday) == 1.0

    def factor(self, now: float) -> float:
        """The multiple of the unit's admission rate at minute ``now``."""
        if self.flat:
            return 1.0
        day = now / DAY
        f = self.weekday[int(day) % WEEK_DAYS]
        if self.amplitude:
            f *= 1.0 + self.amplitude * math.cos(2.0 * math.pi * (day - self.peak_day) / 365.0)
        for s in self.surges:
            if s.start <= now < s.end:
                f *= s.factor
        return f


FLAT_DEMAND = Demand()


class HospitalRouting:
    """Overflow and transfers between a hospital's units.

    * **Overflow**: an admission whose unit is full goes to a unit of the same specialty with a
      free bed, else to any unit with a free bed other than an ICU (an ICU takes only its own),
      the one with most free beds first; it is then an off-service patient. With none free, it
      boards at its own unit.
    * **Transfers**: a patient leaving a unit of specialty ``from`` moves to a unit of specialty
      ``to`` with chance ``share`` (drawn from the patient's own stream), for a new stay drawn
      from that unit's length of stay at the patient's acuity; the unit with most free beds
      takes the patient, who boards there when none is free.
    """

    def __init__(self, flows: dict[str, "PatientFlow"], specialty: dict[str, str], overflow: bool,
                 minutes_factor: float, harm_factor: float, transfers: Sequence[tuple[str, str, float]]):
        self.flows = flows  # unit name -> its patient flow, in the hospital's order
        self.specialty = specialty
        self.allow_overflow = overflow
        self.minutes_factor = minutes_factor
        self.harm_factor = harm_factor
        self.transfers = {src: (dst, share) for src, dst, share in transfers}
        self._names: dict[int, str] = {}

    def _name_of(self, flow: "PatientFlow") -> str:
        if len(self._names) != len(self.flows):  # the hospital was still building its units
            self._names = {id(f): n for n, f in self.flows.items()}
        return self._names[id(flow)]

    def _free(self, names: list[str]) -> "PatientFlow | None":
        best, most = None, 0
        for n in names:
            flow = self.flows[n]
            if flow.has_bed() and flow.free_beds > most:
                best, most = flow, flow.free_beds
        return best

    def overflow(self, flow: "PatientFlow", patient: "Patient") -> bool:
        if not self.allow_overflow:
            return False
        home = self._name_of(flow)
        kind = self.specialty[home]
        if kind == "icu":
            return False
        same = [n for n in self.flows if n != home and self.specialty[n] == kind]
        other = [n for n in self.flows if n != home and self.specialty[n] not in (kind, "icu")]
        target = self._free(same) or self._free(other)
        if target is None:
            return False
        flow.rec.overflowed()
        target.accept(patient, off_service=True, minutes_factor=self.minutes_factor, harm_factor=self.harm_factor)
        return True

    def discharged(self, flow: "PatientFlow", patient: "Patient") -> None:
        kind = self.specialty[self._name_of(flow)]
        if kind not in self.transfers:
            return
        dst, share = self.transfers[kind]
        if patient.care.random() >= share:
            return
        names = [n for n in self.flows if self.specialty[n] == dst]
        target = self._free(names) or self.flows[names[0]]
        level = target.sc.patients.acuity.levels()[patient.acuity][1]
        patient.los = patient.care.lognormal(level.los_days_mean * DAY, target.sc.patients.los_cv)
        flow.rec.transferred()
        target.accept(patient, off_service=False, transfer=True)
