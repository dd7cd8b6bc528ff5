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
    """One independent random stream with buffered scalar draws.

    Each kind of variate has its own buffer, a block drawn at once and kept reversed, so that the
    next variate is ``pop()`` from its end (cheaper than an index and a length check); a buffer is
    refilled when a draw finds it empty, so the sequence is the same as drawing one at a time from
    the blocks in order.

    The buffers are public and each stays the same list for the stream's life (a refill fills it
    in place): the model's hottest callers (a task's slip, defect and round draws) hold the list
    and take the next variate as ``u.pop() if u else stream.random()``, which is the same draw as
    ``stream.random()`` without the call."""

    __slots__ = ("_gen", "_block", "uniforms", "exponentials", "normals")

    def __init__(self, generator: np.random.Generator, block: int = 256):
        self._gen = generator
        self._block = block
        #: the uniforms still to hand out, next one last (see the class's docstring)
        self.uniforms: list[float] = []
        #: the standard exponentials still to hand out, next one last
        self.exponentials: list[float] = []
        #: the standard normals still to hand out, next one last
        self.normals: list[float] = []

    @property
    def generator(self) -> np.random.Generator:
        """The underlying NumPy generator, for vectorised draws."""
        return self._gen

    def random(self) -> float:
        """Uniform on [0, 1)."""
        u = self.uniforms
        if not u:
            u.extend(self._gen.random(self._block).tolist())
            u.reverse()
        return u.pop()

    def exponential(self, mean: float) -> float:
        """Exponential with the given mean."""
        e = self.exponentials
        if not e:
            e.extend(self._gen.standard_exponential(self._block).tolist())
            e.reverse()
        return e.pop() * mean

    def normal(self) -> float:
        """Standard normal."""
        n = self.normals
        if not n:
            n.extend(self._gen.standard_normal(self._block).tolist())
            n.reverse()
        return n.pop()

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
