"""A hospital's quality team: its hours a week, allocated across the units by a policy.

* ``own``: each unit keeps the quality team of its own leadership block (no allocation).
* ``equal``: the hospital's hours in equal shares.
* ``burden``: in proportion to each unit's recent defect burden as the team can see it: the
  workaround minutes nurses spent and the harm events (600 workaround-minute equivalents each,
  the weight a defect's own impact gives harm), since the last allocation.
* ``score``: in proportion to each unit's integrated score since the last allocation: its harm
  per task of care required and its missed-care share, each relative to the hospital's (integrating the
  dimensions of quality rather than chasing one).

The allocation is recomputed every ``reallocate_days``; the first uses equal shares (nothing has
been seen yet). What the team does with the hours on a unit (fixing, or auditing) is the unit's
leadership system's (``fixing_share``).
"""

from __future__ import annotations

from typing import Iterator, Sequence

import simpy

from careos_sim.measure.recorder import Recorder
from careos_sim.model.leadership import LearningSystem
from careos_sim.clock import DAY

__all__ = ["QualityTeam", "ALLOCATIONS"]

HARM_WEIGHT = 600.0  # workaround-minute equivalents of one harm event (as in a defect's impact)
ALLOCATIONS = ("own", "equal", "burden", "score")


class QualityTeam:
    """Allocates ``hours_per_week`` across the units' leadership systems by ``policy``."""

    def __init__(self, env: simpy.Environment, policy: str, hours_per_week: float, every_days: float,
                 learning: Sequence[LearningSystem], recorders: Sequence[Recorder]):
        if policy not in ALLOCATIONS:
            raise ValueError(f"allocation must be one of {ALLOCATIONS}, got {policy!r}")
        self.env = env
        self.policy = policy
        self.hours = hours_per_week
        self.every = every_days * DAY
        self.learning = list(learning)
        self.recs = list(recorders)
        self.shares: list[float] = [1.0 / len(self.learning)] * len(self.learning)
        self._seen = [self._snapshot(r) for r in self.recs]

    @staticmethod
    def _snapshot(rec: Recorder) -> tuple[float, float, float, float]:
        return (rec.workaround_cum, rec.harm_cum, rec.missed_cum, rec.required_cum)

    def start(self) -> None:
        if self.policy != "own":
            self.env.process(self._allocate())

    def _allocate(self) -> Iterator[simpy.Event]:
        while True:
            for unit, share in zip(self.learning, self.shares):
                unit.allocate(self.hours * share)
            yield self.env.timeout(self.every)
            self.shares = self.weights()

    def weights(self) -> list[float]:
        """Each unit's share of the team from what it saw since the last allocation."""
        now = [self._snapshot(r) for r in self.recs]
        delta = [tuple(a - b for a, b in zip(n, s)) for n, s in zip(now, self._seen)]
        self._seen = now
        n = len(delta)
        if self.policy == "equal":
            raw = [1.0] * n
        elif self.policy == "burden":
            raw = [d[0] + HARM_WEIGHT * d[1] for d in delta]
        else:
            harm = [d[1] / d[3] if d[3] > 0 else 0.0 for d in delta]  # per task of care required
            missed = [d[2] / d[3] if d[3] > 0 else 0.0 for d in delta]
            mh, mm = sum(harm) / n, sum(missed) / n
            raw = [(h / mh if mh > 0 else 0.0) + (m / mm if mm > 0 else 0.0) for h, m in zip(harm, missed)]
        total = sum(raw)
        return [r / total for r in raw] if total > 0 else [1.0 / n] * n
