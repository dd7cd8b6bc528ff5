"""Named random streams: one per source of randomness, derived from (seed, replication, name).

A stream's state depends only on its own key, so adding a stream never shifts another, and
two scenarios run with the same seed draw the same arrivals, patients and task minutes:
common random numbers by design. Nothing in the package calls ``random`` or ``np.random.*``
directly.

Draws are buffered: a stream fills a block of standard variates at a time and hands them
out one by one, which is several times faster than scalar NumPy calls in the simulation's
hot loop. A stream's sequence depends only on the order of calls on that stream.
"""

from __future__ import annotations

import math
import zlib

import numpy as np

__all__ = ["Stream", "Streams", "stream_key"]


def stream_key(name: str) -> int:
    """A stable 32-bit number for a stream name (the same in every process and Python run)."""
    return zlib.crc32(name.encode("utf-8"))


class Stream:
    """One independent random stream with buffered scalar draws."""

    __slots__ = ("_gen", "_block", "_u", "_ui", "_e", "_ei", "_n", "_ni")

    def __init__(self, generator: np.random.Generator, block: int = 256):
        self._gen = generator
        self._block = block
        self._u = self._e = self._n = ()
        self._ui = self._ei = self._ni = 0

    @property
    def generator(self) -> np.random.Generator:
        """The underlying NumPy generator, for vectorised draws."""
        return self._gen

    def random(self) -> float:
        """Uniform on [0, 1)."""
        i = self._ui
        if i >= len(self._u):
            self._u = self._gen.random(self._block).tolist()
            i = 0
        self._ui = i + 1
        return self._u[i]

    def exponential(self, mean: float) -> float:
        """Exponential with the given mean."""
        i = self._ei
        if i >= len(self._e):
            self._e = self._gen.standard_exponential(self._block).tolist()
            i = 0
        self._ei = i + 1
        return self._e[i] * mean

    def normal(self) -> float:
        """Standard normal."""
        i = self._ni
        if i >= len(self._n):
            self._n = self._gen.standard_normal(self._block).tolist()
            i = 0
        self._ni = i + 1
        return self._n[i]

    def lognormal(self, mean: float, cv: float) -> float:
        """Lognormal with the given mean and coefficient of variation."""
        s2 = math.log1p(cv * cv)
        return mean * math.exp(math.sqrt(s2) * self.normal() - 0.5 * s2)

    def gamma(self, mean: float, cv: float) -> float:
        """Gamma with the given mean and coefficient of variation."""
        shape = 1.0 / (cv * cv)
        return float(self._gen.gamma(shape, mean / shape))

    def bernoulli(self, p: float) -> bool:
        return self.random() < p

    def choice(self, weights: tuple[float, ...]) -> int:
        """Index drawn with probability proportional to ``weights``."""
        u = self.random() * sum(weights)
        acc = 0.0
        for i, w in enumerate(weights):
            acc += w
            if u < acc:
                return i
        return len(weights) - 1


class Streams:
    """Factory of the named streams of one replication."""

    def __init__(self, seed: int, replication: int, scope: str = ""):
        """``scope``: a prefix of every stream's name (a hospital names each unit's streams by the
        unit, ``unit:NAME/arrivals``, so that adding a unit never shifts another's draws); a unit
        alone has none."""
        self.seed = int(seed)
        self.replication = int(replication)
        self.scope = scope

    def generator(self, name: str, *index: int) -> np.random.Generator:
        """A NumPy generator keyed by (seed, replication, name, *index)."""
        full = f"{self.scope}/{name}" if self.scope else name
        seq = np.random.SeedSequence(self.seed, spawn_key=(self.replication, stream_key(full), *index))
        return np.random.Generator(np.random.PCG64(seq))

    def stream(self, name: str, *index: int, block: int = 256) -> Stream:
        """A buffered stream keyed by (seed, replication, name, *index)."""
        return Stream(self.generator(name, *index), block)
