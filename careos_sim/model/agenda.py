"""What comes due, in order: the min-heap under the event queue, the task queue and the tasks
known in advance.

An :class:`Agenda` holds entries ordered by ``(first, second, seq)``, with ``seq`` unique, and
pops the least. Compiled, it is a binary heap written here and turned into C by mypyc
(:mod:`careos_sim.native`): its entries are :class:`Due` records and the keys are compared as C
doubles and integers, without a Python comparison of tuples (in the compiled unit, about a third
of the work per task was ``heapq`` comparing tuples). Run as Python source, a heap written in
Python would be slower than ``heapq``, which is C: :class:`TupleAgenda` keeps ``heapq`` on
tuples there. The two order entries by the same keys, with ``seq`` unique, so they pop the same
entries in the same order; the compiled heap also takes the very steps ``heapq`` takes (the
same sift up and down), so the entries of both lie in the same layout, and anything that walks
them (:meth:`Agenda.items`) walks them in the same order. :func:`new_agenda` gives the one that
suits the build.

A pop returns the entry's ``item`` and leaves its ``first`` key and ``extra`` in
:attr:`Agenda.first` and :attr:`Agenda.extra`, so that nothing is allocated to return them.
"""

from __future__ import annotations

from heapq import heapify, heappop, heappush
from typing import Any, Callable

from careos_sim.native import BUILD

__all__ = ["Agenda", "TupleAgenda", "Due", "new_agenda"]

INFINITY = float("inf")


class Due:
    """One entry: its keys (``first``, then ``second``, then ``seq``, unique), what is due
    (``item``) and what goes with it (``extra``)."""

    __slots__ = ("first", "second", "seq", "item", "extra")

    def __init__(self, first: float, second: float, seq: int, item: Any, extra: Any):
        self.first = first
        self.second = second
        self.seq = seq
        self.item = item
        self.extra = extra


def _before(a: Due, b: Due) -> bool:
    """``a`` comes before ``b``: the order of the tuples ``(first, second, seq)``."""
    if a.first != b.first:
        return a.first < b.first
    if a.second != b.second:
        return a.second < b.second
    return a.seq < b.seq


class Agenda:
    """A min-heap of :class:`Due` entries (the compiled build's)."""

    def __init__(self) -> None:
        self._heap: list[Due] = []
        self.first = 0.0  # the first key of the entry popped last
        self.extra: Any = None  # and its extra

    def __len__(self) -> int:
        return len(self._heap)

    def peek(self) -> float:
        """The least first key (infinity when empty)."""
        heap = self._heap
        return heap[0].first if heap else INFINITY

    def push(self, first: float, second: float, seq: int, item: Any, extra: Any) -> None:
        heap = self._heap
        heap.append(Due(first, second, seq, item, extra))
        self._sift_down(0, len(heap) - 1)

    def pop(self) -> Any:
        """Take the least entry (the agenda is not empty): its item; its first key and extra are
        left in :attr:`first` and :attr:`extra`."""
        heap = self._heap
        last = heap.pop()
        if heap:
            entry = heap[0]
            heap[0] = last
            self._sift_up(0)
        else:
            entry = last
        self.first = entry.first
        self.extra = entry.extra
        return entry.item

    def items(self) -> list[Any]:
        """The items, in the heap's layout (the order ``heapq`` would keep them in)."""
        return [entry.item for entry in self._heap]

    def remove_if(self, gone: Callable[[Any], bool]) -> list[Any]:
        """Take out the entries whose item is ``gone``: their items, in key order."""
        keep: list[Due] = []
        out: list[Due] = []
        for entry in self._heap:
            if gone(entry.item):
                out.append(entry)
            else:
                keep.append(entry)
        if not out:
            return []
        self._heap = keep
        for pos in range(len(keep) // 2 - 1, -1, -1):
            self._sift_up(pos)
        out.sort(key=_key)
        return [entry.item for entry in out]

    # heapq's own steps: sift a new entry towards the root; move the smaller child up to a leaf,
    # then sift the displaced entry towards the root
    def _sift_down(self, start: int, pos: int) -> None:
        heap = self._heap
        entry = heap[pos]
        while pos > start:
            parent_pos = (pos - 1) >> 1
            parent = heap[parent_pos]
            if _before(entry, parent):
                heap[pos] = parent
                pos = parent_pos
                continue
            break
        heap[pos] = entry

    def _sift_up(self, pos: int) -> None:
        heap = self._heap
        end = len(heap)
        start = pos
        entry = heap[pos]
        child = 2 * pos + 1
        while child < end:
            right = child + 1
            if right < end and not _before(heap[child], heap[right]):
                child = right
            heap[pos] = heap[child]
            pos = child
            child = 2 * pos + 1
        heap[pos] = entry
        self._sift_down(start, pos)


def _key(entry: Due) -> tuple[float, float, int]:
    return (entry.first, entry.second, entry.seq)


class TupleAgenda(Agenda):
    """The same agenda on ``heapq`` and tuples ``(first, second, seq, item, extra)``: for the
    Python source, where ``heapq`` (C) is faster than :class:`Agenda`'s heap (Python)."""

    def __init__(self) -> None:
        super().__init__()
        self._tuples: list[tuple[float, float, int, Any, Any]] = []

    def __len__(self) -> int:
        return len(self._tuples)

    def peek(self) -> float:
        tuples = self._tuples
        return tuples[0][0] if tuples else INFINITY

    def push(self, first: float, second: float, seq: int, item: Any, extra: Any) -> None:
        heappush(self._tuples, (first, second, seq, item, extra))

    def pop(self) -> Any:
        first, _, _, item, extra = heappop(self._tuples)
        self.first = first
        self.extra = extra
        return item

    def items(self) -> list[Any]:
        return [entry[3] for entry in self._tuples]

    def remove_if(self, gone: Callable[[Any], bool]) -> list[Any]:
        keep: list[tuple[float, float, int, Any, Any]] = []
        out: list[tuple[float, float, int, Any, Any]] = []
        for entry in self._tuples:
            if gone(entry[3]):
                out.append(entry)
            else:
                keep.append(entry)
        if not out:
            return []
        heapify(keep)
        self._tuples = keep
        out.sort(key=_tuple_key)
        return [entry[3] for entry in out]


def _tuple_key(entry: tuple[float, float, int, Any, Any]) -> tuple[float, float, int]:
    return (entry[0], entry[1], entry[2])


def new_agenda() -> Agenda:
    """An empty agenda for the build that runs: the compiled heap, or ``heapq`` on tuples."""
    return Agenda() if BUILD.compiled else TupleAgenda()
