"""Summary statistics of replications: a mean and its Student-t confidence interval."""

from __future__ import annotations

import math
from typing import Iterable

import numpy as np
from scipy import stats

__all__ = ["mean_ci"]


def mean_ci(values: Iterable[float], level: float = 0.95) -> tuple[float, float, float]:
    """Mean and two-sided Student-t confidence interval; NaN bounds with fewer than two values."""
    x = np.asarray([v for v in values if not math.isnan(v)], dtype=float)
    if x.size == 0:
        return math.nan, math.nan, math.nan
    mean = float(x.mean())
    if x.size < 2:
        return mean, math.nan, math.nan
    sem = float(x.std(ddof=1)) / math.sqrt(x.size)
    half = float(stats.t.ppf(0.5 + level / 2, x.size - 1)) * sem
    return mean, mean - half, mean + half
