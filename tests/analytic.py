"""Queueing theory the verification tests compare the model with."""

from __future__ import annotations

import math


def erlang_c(c: int, a: float) -> float:
    """Probability that an arrival waits in an M/M/c queue with offered load a = lambda / mu < c."""
    if a >= c:
        raise ValueError("unstable queue: offered load must be below the number of servers")
    top = a**c / math.factorial(c) * c / (c - a)
    return top / (sum(a**k / math.factorial(k) for k in range(c)) + top)


def mmc_wait(lam: float, mu: float, c: int) -> float:
    """Mean wait in queue (Erlang C): C(c, a) / (c mu - lambda)."""
    return erlang_c(c, lam / mu) / (c * mu - lam)


def mmc_wait_over(lam: float, mu: float, c: int, t: float) -> float:
    """P(wait > t) in an M/M/c queue: C(c, a) exp(-(c mu - lambda) t)."""
    return erlang_c(c, lam / mu) * math.exp(-(c * mu - lam) * t)
