"""Named random streams: one per source of randomness, derived from (seed, replication, name).

A stream's state depends only on its own key, so adding a stream never shifts another, and
two scenarios run with the same seed draw the same arrivals, patients and task minutes:
common random numbers by design. Nothing in the package calls ``random`` or ``np.random.*``
directly.

Draws are buffered: a stream fills a block of standard variates at a time and hands them
out one by one, which is several times faster than scalar NumPy calls in the simulation's
hot loop. A stream's sequence depends only on the order of calls on that stream.

Each stream's bit generator is seeded as ``np.random.SeedSequence(seed, spawn_key=(replication,
name key, *index))`` seeds it, and gets the same state; the streams of one name (a patient's,
keyed by the patient's index) share all but the last words of that key, so the hash of the rest
is kept (see :class:`Streams`).
"""

from __future__ import annotations

import math
import zlib

import numpy as np
from numpy.random.bit_generator import ISeedSequence

__all__ = ["Stream", "Streams", "stream_key"]


def stream_key(name: str) -> int:
    """A stable 32-bit number for a stream name (the same in every process and Python run)."""
    return zlib.crc32(name.encode("utf-8"))


class Stream:
    """One independent random stream with buffered scalar draws.

    Each kind of variate has its own buffer, a block drawn at once and kept reversed, so that the
    next variate is ``pop()`` from its end (cheaper than an index and a length check); a buffer is
    refilled when a draw finds it empty, so the sequence is the same as drawing one at a time from
    the blocks in order."""

    __slots__ = ("_gen", "_block", "_u", "_e", "_n")

    def __init__(self, generator: np.random.Generator, block: int = 256):
        self._gen = generator
        self._block = block
        self._u: list[float] = []
        self._e: list[float] = []
        self._n: list[float] = []

    @property
    def generator(self) -> np.random.Generator:
        """The underlying NumPy generator, for vectorised draws."""
        return self._gen

    def random(self) -> float:
        """Uniform on [0, 1)."""
        u = self._u
        if not u:
            u = self._u = self._gen.random(self._block).tolist()
            u.reverse()
        return u.pop()

    def exponential(self, mean: float) -> float:
        """Exponential with the given mean."""
        e = self._e
        if not e:
            e = self._e = self._gen.standard_exponential(self._block).tolist()
            e.reverse()
        return e.pop() * mean

    def normal(self) -> float:
        """Standard normal."""
        n = self._n
        if not n:
            n = self._n = self._gen.standard_normal(self._block).tolist()
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


# ------------------------------------------------------------------ seeding
# SeedSequence's hash (numpy/random/bit_generator.pyx, after Melissa O'Neill's seed_seq): its
# entropy is the seed's 32-bit words (padded with zeros to the pool size when there is a spawn
# key) followed by the spawn key's words; the pool takes the first four words through hashmix, is
# mixed with itself, then takes every further word through hashmix and mix; generate_state hashes
# the pool into the bit generator's seed. The hash constants run through a fixed sequence, so the
# hashing of many keys that differ only in their last word vectorises.
_MASK = 0xFFFFFFFF
_POOL_SIZE = 4
_INIT_A, _MULT_A = 0x43B0D7E5, 0x931E8875
_INIT_B, _MULT_B = 0x8B51F9DD, 0x58F38DED
_MIX_L, _MIX_R = 0xCA01F9DD, 0x4973F715
#: streams of one name whose seeds are hashed together (a block of patients)
SEED_BLOCK = 64


def _words(n: int) -> list[int]:
    """A non-negative integer as 32-bit words, lowest first (0 is one word), as SeedSequence reads it."""
    words = [n & _MASK]
    n >>= 32
    while n:
        words.append(n & _MASK)
        n >>= 32
    return words


def _hash_constants(start: int, mult: int, n: int) -> list[int]:
    """``start`` and the next ``n`` values of a hash constant (each the last times ``mult``)."""
    out = [start]
    for _ in range(n):
        out.append((out[-1] * mult) & _MASK)
    return out


def _mixed_pool(words: list[int]) -> tuple[list[int], int]:
    """SeedSequence's pool after ``words`` (at least the pool size of them), and the hash constant
    reached."""
    h = _INIT_A
    pool = []

    def hashmix(value: int) -> int:
        nonlocal h
        value ^= h
        h = (h * _MULT_A) & _MASK
        value = (value * h) & _MASK
        return value ^ (value >> 16)

    def mix(x: int, y: int) -> int:
        r = (_MIX_L * x - _MIX_R * y) & _MASK
        return r ^ (r >> 16)

    pool = [hashmix(word) for word in words[:_POOL_SIZE]]
    for src in range(_POOL_SIZE):
        for dst in range(_POOL_SIZE):
            if src != dst:
                pool[dst] = mix(pool[dst], hashmix(pool[src]))
    for word in words[_POOL_SIZE:]:
        for dst in range(_POOL_SIZE):
            pool[dst] = mix(pool[dst], hashmix(word))
    return pool, h


def _seed_states(pool: list[int], h: int, last: np.ndarray) -> np.ndarray:
    """The 4 x 64-bit seeds (generate_state(4, uint64)) of the keys whose words are those that gave
    ``pool`` and ``h``, then one of ``last`` (uint32), each: one row per word of ``last``."""
    hs = _hash_constants(h, _MULT_A, _POOL_SIZE)
    m = np.tile(np.array(pool, dtype=np.uint32), (len(last), 1))
    for i in range(_POOL_SIZE):  # the last word through hashmix, mixed into each pool word
        v = (last ^ np.uint32(hs[i])) * np.uint32(hs[i + 1])
        v ^= v >> np.uint32(16)
        r = m[:, i] * np.uint32(_MIX_L) - v * np.uint32(_MIX_R)
        m[:, i] = r ^ (r >> np.uint32(16))
    hb = _hash_constants(_INIT_B, _MULT_B, 2 * _POOL_SIZE)
    out = np.empty((len(last), 2 * _POOL_SIZE), dtype=np.uint32)
    for j in range(2 * _POOL_SIZE):  # generate_state: the pool, cycled, through its own hash
        v = (m[:, j % _POOL_SIZE] ^ np.uint32(hb[j])) * np.uint32(hb[j + 1])
        out[:, j] = v ^ (v >> np.uint32(16))
    # as SeedSequence: 64-bit words from little-endian pairs, in the native byte order
    return out.astype("<u4").view("<u8").astype(np.uint64)


class _HashedSeed(ISeedSequence):
    """A stream's seed sequence whose seed is already hashed: it gives a PCG64 the 4 x 64-bit words
    ``np.random.SeedSequence`` would give it for the same key."""

    __slots__ = ("state",)

    def __init__(self, state: np.ndarray):
        self.state = state

    def generate_state(self, n_words: int, dtype: type = np.uint32) -> np.ndarray:
        if n_words == _POOL_SIZE and (dtype is np.uint64 or np.dtype(dtype) == np.dtype(np.uint64)):
            return self.state
        raise ValueError("a hashed seed holds 4 x 64-bit words")


class Streams:
    """Factory of the named streams of one replication.

    The seeds of a name's streams (a patient's, keyed by the patient's index) are hashed
    :data:`SEED_BLOCK` at a time, vectorised, from the pool of SeedSequence's hash after the seed
    and the leading part of the key, which they share; ``np.random.SeedSequence`` (about 10 us a
    stream) spends most of its time on that shared part. The first seed of each block is checked
    against ``np.random.SeedSequence`` itself; if a check fails (a NumPy that hashes otherwise),
    every stream of this factory is seeded by SeedSequence instead."""

    def __init__(self, seed: int, replication: int):
        self.seed = int(seed)
        self.replication = int(replication)
        # hashed seeds by (leading part of the key, block of its last part); None: use SeedSequence
        self._seeds: dict[tuple[tuple[int, ...], int], np.ndarray] | None = {} if self.seed >= 0 else None

    def generator(self, name: str, *index: int) -> np.random.Generator:
        """A NumPy generator keyed by (seed, replication, name, *index)."""
        key = (self.replication, stream_key(name), *index)
        state = self._hashed(key)
        seq = np.random.SeedSequence(self.seed, spawn_key=key) if state is None else _HashedSeed(state)
        return np.random.Generator(np.random.PCG64(seq))

    def _hashed(self, key: tuple[int, ...]) -> np.ndarray | None:
        """The hashed seed of ``key`` (None: let SeedSequence do it)."""
        seeds = self._seeds
        last = key[-1]
        if seeds is None or not 0 <= last <= _MASK:
            return None
        lead = key[:-1]
        block, row = divmod(last, SEED_BLOCK)
        states = seeds.get((lead, block))
        if states is None:
            if any(k < 0 for k in lead):
                return None
            words = _words(self.seed)
            words += [0] * (_POOL_SIZE - len(words))
            pool, h = _mixed_pool(words + [w for k in lead for w in _words(k)])
            first = block * SEED_BLOCK
            states = _seed_states(pool, h, np.arange(first, min(first + SEED_BLOCK, _MASK + 1), dtype=np.uint32))
            check = np.random.SeedSequence(self.seed, spawn_key=(*lead, first)).generate_state(_POOL_SIZE, np.uint64)
            if not np.array_equal(states[0], check):
                self._seeds = None
                return None
            seeds[(lead, block)] = states
        return states[row]

    def stream(self, name: str, *index: int, block: int = 256) -> Stream:
        """A buffered stream keyed by (seed, replication, name, *index)."""
        return Stream(self.generator(name, *index), block)
