"""Stopping a command cleanly on SIGINT, SIGTERM or SIGHUP.

:func:`handle_signals` (installed by the command line) turns those signals into
:class:`Interrupted`, a ``KeyboardInterrupt``, so each unwinds like Ctrl-C: pools kill their
workers, temporary files are removed, and code inside :func:`deferred_signals` (a rename into
place, saving one run) finishes first.
"""

from __future__ import annotations

import signal
from contextlib import contextmanager
from typing import Iterator

__all__ = ["Interrupted", "handle_signals", "deferred_signals", "STOP_SIGNALS"]

#: the signals that stop a command as Ctrl-C does
STOP_SIGNALS = tuple(getattr(signal, n) for n in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, n))


class Interrupted(KeyboardInterrupt):
    """A stop signal (SIGINT, SIGTERM, SIGHUP) arrived; ``exit_code`` is 128 + its number."""

    def __init__(self, signum: int):
        self.signum = signum
        super().__init__(signal.Signals(signum).name)

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name

    @property
    def exit_code(self) -> int:
        return 128 + self.signum

    @property
    def how(self) -> str:
        """``interrupted`` (SIGINT, as Ctrl-C) or ``stopped by SIGTERM`` and the like, for a message."""
        return "interrupted" if self.signum == signal.SIGINT else f"stopped by {self.name}"


_signal_state: dict[str, int | None] = {"depth": 0, "pending": None, "received": None}


def _on_signal(signum: int, frame) -> None:
    state = _signal_state
    if state["received"] is not None:  # already stopping: let the clean-up finish
        return
    if state["depth"]:  # inside deferred_signals: raised when it ends
        state["pending"] = signum
        return
    state["received"] = signum
    raise Interrupted(signum)


@contextmanager
def deferred_signals() -> Iterator[None]:
    """A stop signal arriving inside this block is raised (as :class:`Interrupted`) when it ends."""
    state = _signal_state
    state["depth"] += 1  # type: ignore[operator]
    try:
        yield
    finally:
        state["depth"] -= 1  # type: ignore[operator]
        if not state["depth"] and state["pending"] is not None and state["received"] is None:
            state["received"], state["pending"] = state["pending"], None
            raise Interrupted(state["received"])  # type: ignore[arg-type]


@contextmanager
def handle_signals() -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP raise :class:`Interrupted` in this block (main thread only;
    elsewhere nothing changes); the previous handlers come back after it."""
    try:
        previous = {s: signal.signal(s, _on_signal) for s in STOP_SIGNALS}
    except ValueError:  # not the main thread: signals cannot be handled here
        yield
        return
    _signal_state.update(depth=0, pending=None, received=None)
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
        _signal_state.update(depth=0, pending=None, received=None)
