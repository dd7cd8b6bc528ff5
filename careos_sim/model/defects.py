"""Workflow defects: a heavy-tailed population that nurses meet on tasks and work around.

Each defect has a category, the task types it touches, a per-task encounter probability
(lognormal across defects: a few cause most encounters), workaround minutes, harm and
missed-care chances, the quality dimensions it hurts and the effort to fix it. New defects
appear as complexity grows, more of them with top-down mandates; defects disappear when the
process they live in changes; fixed defects whose fix was not sustained come back.

Encounters are drawn per task: the number is Poisson with the summed rate of the active
defects that touch the task's type (for an LEP patient, interpreter-access defects too), and
each encounter picks its defect in proportion to the rates. The draws use the patient's own
``patient.defects`` stream, so telling and listening see the same uniforms task by task and
differ only in which defects are active.
"""

from __future__ import annotations

import bisect
import itertools
import math
from statistics import NormalDist
from typing import Any, Callable, Generator, TYPE_CHECKING

import simpy

from careos_sim.measure.eventlog import NO_EVENT_LOG, NoEventLog
from careos_sim.measure.recorder import Recorder
from careos_sim.model.entities import UNIT, Defect
from careos_sim.model.mechanisms import Resolved
from careos_sim.model.streams import Stream, Streams
from careos_sim.spec.scenario import TASK_TYPES, ScenarioSpec
from careos_sim.clock import DAY, MONTH, YEAR

if TYPE_CHECKING:  # pragma: no cover
    from careos_sim.model.entities import Nurse, Task

__all__ = ["DefectSystem"]

N_TYPES = len(TASK_TYPES)
DOCUMENTATION = TASK_TYPES.index("documentation")


class DefectSystem:
    """The unit's defects: population, encounters on tasks, arrivals, decay, fixes, regressions."""

    def __init__(self, env: simpy.Environment, scenario: ScenarioSpec, mech: Resolved, streams: Streams,
                 recorder: Recorder, on_harm: Callable[..., None], on_encounter: Callable[["Nurse", Defect, float], float],
                 event_log: NoEventLog = NO_EVENT_LOG, own_mandates: bool = True):
        """``on_harm(patient, source, task, defect)``: the safety system records a harm;
        ``on_encounter(nurse, defect, now)``: the leadership system hears of an encounter (it returns
        the minutes a report costs the nurse). ``own_mandates``: the unit's leaders issue its
        mandates (a hospital's leadership issues them to every unit at once instead)."""
        self.env = env
        self.sc = scenario  # its defects block, and the mandates and near misses it implies
        self.cfg = scenario.defects
        self.rec = recorder
        self.mech = mech
        self.on_harm = on_harm
        self.on_encounter = on_encounter
        self.event_log = event_log
        self._logging = event_log.recording
        self.own_mandates = own_mandates
        self._ordinals: dict[tuple[str, int], int] = {}  # defects so far by (owner, category): their keys
        # One stream per origin and per kind of timing, so that telling and listening draw the same
        # initial defects, the same k-th new defect and the same mandates (common random numbers).
        self.origins = {origin: streams.stream(f"defects.{origin}") for origin in ("initial", "complexity", "mandate")}
        self.arrivals = {origin: streams.stream(f"defects.{origin}.times") for origin in ("complexity", "mandate")}
        self.regressions = streams.stream("defects.regression")
        self.fix_effects = streams.stream("defects.fix_effect")
        self.prefixed = streams.stream("defects.initial.fixed")  # which initial defects were fixed before t=0
        self.cats = [c for _, c in self.cfg.categories.items()]
        # What an encounter reads of its category, read once as plain numbers (a spec's fields are
        # slower to read, and an encounter is met on about one task in four): workaround mean, the
        # lognormal's sigma and half variance (as Stream.lognormal computes them from the
        # workaround cv, so the same draws), harm, near-miss factor, miss, LEP only, stay added.
        s2 = math.log1p(self.cfg.workaround_cv * self.cfg.workaround_cv)
        near = scenario.safety.near_misses_per_harm
        self._terms = [(c.workaround_minutes, math.sqrt(s2), 0.5 * s2, c.harm_probability, near, c.miss_probability,
                        c.lep_only, c.los_extension_days) for c in self.cats]
        self._share_cum = list(itertools.accumulate(c.share for c in self.cats))
        self.defects: list[Defect] = []
        self._dirty = True
        self._tables: dict[int, tuple[list[Defect], list[float], float, float]] = {}  # by 2 x type + lep
        self.mandate_burden: list[float] = []  # end times of mandates' documentation burden
        self._next_id = 0

    # ------------------------------------------------------------------ population
    def start(self) -> None:
        if not self.cfg.enabled:
            return
        share = self.cfg.initial_fixed_share
        for u_category, u_rate in self._stratified(self.cfg.initial):
            defect = self.add("initial", u_category, u_rate)
            # The stock of a unit run the usual way today: part of it was fixed in the past, the
            # more often the more it was met (u_rate is the defect's rank in the rate distribution).
            if share > 0.0 and self.prefixed.random() < min(1.0, share * (0.5 + u_rate)):
                self.fixed_before_start(defect)
        if self.cfg.new_per_month > 0:
            rate = self.cfg.new_per_month / MONTH
            self.env.process(self._poisson(rate, self.arrivals["complexity"], lambda: self.add("complexity")))
        if self.own_mandates and self.sc.leadership.mandates_per_year > 0:
            rate = self.sc.leadership.mandates_per_year / YEAR
            self.env.process(self._poisson(rate, self.arrivals["mandate"], self.mandate))

    def _stratified(self, n: int) -> list[tuple[float, float]]:
        """Stratified uniforms for the initial stock: one in each 1/n-th of [0, 1) for the category
        and for the rate, paired at random. Every replication's unit then starts with the same mix
        and the same heavy tail, and replications differ in the details, not in the unit."""
        gen = self.origins["initial"].generator
        strata: Any = (gen.permutation(n) + gen.random(n)) / n if n else []
        rates: Any = (gen.permutation(n) + gen.random(n)) / n if n else []
        return list(zip(strata, rates))

    def add(self, origin: str, u_category: float | None = None, u_rate: float | None = None) -> Defect:
        """A new defect drawn from the category mix and the heavy-tailed (lognormal) rate distribution;
        ``u_category`` and ``u_rate`` give the uniforms to use (stratified initial stock)."""
        s = self.origins[origin]
        u = s.random() if u_category is None else u_category
        c = min(bisect.bisect_right(self._share_cum, u * self._share_cum[-1]), len(self.cats) - 1)
        cat = self.cats[c]
        sigma = self.cfg.heavy_tail_sigma
        z = s.normal() if u_rate is None else float(NormalDist().inv_cdf(min(max(u_rate, 1e-12), 1 - 1e-12)))
        rate = min(1.0, self.cfg.encounter_probability * cat.rate_factor * math.exp(sigma * z - 0.5 * sigma * sigma))
        effort = s.lognormal(cat.fix_hours, 1.0)
        owner = UNIT if s.random() < cat.unit_owned_share else cat.owner
        defect = Defect(self._next_id, c, cat, rate, effort, owner)
        self._next_id += 1
        ordinal = self._ordinals.get((owner, c), 0)
        self._ordinals[(owner, c)] = ordinal + 1
        defect.key = (owner, c, ordinal)
        self.defects.append(defect)
        self._dirty = True
        self.rec.defect_added(self.env.now)
        life = s.exponential(self.cfg.lifetime_days * DAY)
        self.env.timeout(life).callbacks.append(lambda _: self.retire(defect))
        return defect

    def adopt(self, mech: Resolved) -> None:
        """Another leadership system's mechanisms from now on (a mandate's defects and burden)."""
        self.mech = mech

    def _poisson(self, rate_per_min: float, stream: Stream, action: Callable[[], object]) -> Generator[simpy.Event, Any, None]:
        while True:
            yield self.env.timeout(stream.exponential(1.0 / rate_per_min))
            action()

    def mandate(self) -> None:
        """A top-down initiative: new defects, and a year of extra documentation."""
        self.rec.mandate()
        n = self._poisson_count(self.mech.mandate_defects, self.arrivals["mandate"].random())
        for _ in range(n):
            self.add("mandate")
        if self.mech.mandate_documentation_minutes > 0:
            self.mandate_burden.append(self.env.now + 365.0 * DAY)

    def retire(self, defect: Defect) -> None:
        """The process the defect lived in has changed: it is gone."""
        if defect.active:
            defect.active = False
            self.defects.remove(defect)
            self._dirty = True
            self.rec.defect_removed(self.env.now, fixed=defect.fixed)

    def fix_reduction(self, stream: Stream | None = None) -> float:
        """The share of a defect's rate that one working fix removes: beta-distributed around
        ``fix_reduction_mean``, so a fix rarely removes all of it (drawn from ``stream``, by
        default the run's fixes' own)."""
        m, k = self.cfg.fix_reduction_mean, self.cfg.fix_reduction_concentration
        if m <= 0.0 or m >= 1.0:
            return m
        return float((stream or self.fix_effects).generator.beta(m * k, (1.0 - m) * k))

    def fix(self, defect: Defect, sustained: bool) -> None:
        """A working fix: the encounter rate falls by a drawn share; an unsustained fix decays later."""
        defect.fixed = True
        defect.rate = defect.base_rate * (1.0 - self.fix_reduction())
        self._dirty = True
        self.rec.defect_fixed(self.env.now, defect.first_encounter)
        self.event_log.defect_fixed(self.env.now, defect, sustained)
        if not sustained:
            delay = self.regressions.exponential(self.cfg.regression_days * DAY)
            self.env.timeout(delay).callbacks.append(lambda _: self.regress(defect))

    def fixed_before_start(self, defect: Defect) -> None:
        """A defect of the initial stock that a past fix already reduced (a sustained one: the
        ones that regressed are back in the unfixed stock). Not counted as a fix of the run."""
        reduction = self.fix_reduction(self.prefixed)
        defect.fixed = True
        defect.rate = defect.base_rate * (1.0 - reduction)
        self._dirty = True
        self.rec.active_defects.change(self.env.now, -1)

    def regress(self, defect: Defect) -> None:
        if defect.active and defect.fixed:
            defect.fixed = False
            defect.rate = defect.base_rate
            self._dirty = True
            self.rec.defect_regressed(self.env.now)

    # ------------------------------------------------------------------ encounters
    def _rebuild(self) -> None:
        self._tables = {}
        for t in range(N_TYPES):
            name = TASK_TYPES[t]
            for lep in (0, 1):
                chosen = [d for d in self.defects if name in d.cat.task_types and (lep or not d.cat.lep_only)]
                cum, acc = [], 0.0
                for d in chosen:
                    acc += d.rate
                    cum.append(acc)
                self._tables[2 * t + lep] = (chosen, cum, acc, math.exp(-acc))
        self._dirty = False

    @staticmethod
    def _poisson_count(lam: float, u: float) -> int:
        """Poisson(lam) by inversion of one uniform."""
        p = math.exp(-lam)
        acc, k = p, 0
        while u > acc and k < 50:
            k += 1
            p *= lam / k
            acc += p
        return k

    def task_hook(self, nurse: "Nurse", task: "Task", minutes: float) -> float:
        """Extra minutes for this task: workarounds, reports, and any mandate burden."""
        if self._dirty:
            self._rebuild()
        extra = 0.0
        if task.type_index == DOCUMENTATION and self.mandate_burden:
            now = self.env.now
            burden = self.mandate_burden  # end times, in the order the mandates came
            while burden and burden[0] <= now:
                burden.pop(0)
            extra += len(burden) * self.mech.mandate_documentation_minutes
        patient = task.patient
        defects, cum, total, none = self._tables[2 * task.type_index + patient.lep]
        if total <= 0.0:
            return extra
        stream: Stream = patient.defects
        u = stream.uniforms  # the next uniform from the buffer (Stream: same as random())
        first = u.pop() if u else stream.random()
        if first < none:  # no encounter: exp(-total), the chance of none, kept with the table
            return extra
        for _ in range(self._poisson_count(total, first)):
            defect = defects[min(bisect.bisect_right(cum, (u.pop() if u else stream.random()) * total),
                                 len(defects) - 1)]
            extra += self._encounter(nurse, task, defect, stream)
        return extra

    def _encounter(self, nurse: "Nurse", task: "Task", defect: Defect, stream: Stream) -> float:
        now = self.env.now
        if defect.first_encounter is None:
            defect.first_encounter = now
        workaround_mean, sigma, half, harm_probability, near_factor, miss, lep_only, los_days = \
            self._terms[defect.category]
        # the draws pop from the stream's buffers (Stream: the same draws as random() and normal())
        u = stream.uniforms
        if workaround_mean:  # lognormal, as stream.lognormal(workaround_mean, workaround_cv) draws it
            z = stream.normals
            workaround = workaround_mean * math.exp(sigma * (z.pop() if z else stream.normal()) - half)
        else:
            workaround = 0.0
        patient = task.patient
        harm_p = harm_probability * patient.harm_factor
        harmed = (u.pop() if u else stream.random()) < harm_p
        near_miss = not harmed and (u.pop() if u else stream.random()) < harm_p * near_factor
        self.rec.encounter(defect.category, workaround, near_miss)
        if self._logging:  # (an encounter is met on about one task in four)
            self.event_log.defect_encountered(now, defect, task, nurse, workaround, near_miss)
        nurse.shift_workaround += workaround
        if harmed:
            self.on_harm(patient, "communication" if lep_only else "defect", task, defect)
        if task.deadline is not None and (u.pop() if u else stream.random()) < miss:
            task.failed = True
        if los_days > 0 and not patient.los_extended:
            patient.los_extended = True
            patient.extra_minutes += los_days * DAY
        workaround += self.on_encounter(nurse, defect, now)
        return workaround

    def encounter_rate(self, type_index: int, lep: int = 0) -> float:
        """Summed per-task encounter probability of active defects on one task type."""
        if self._dirty:
            self._rebuild()
        return self._tables[2 * type_index + lep][2]

