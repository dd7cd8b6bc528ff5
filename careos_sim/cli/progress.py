"""The progress bar of a command that runs many simulation runs (``sweep``, ``calibrate``): runs
done, and how many failed so far beside them, on stderr."""

from __future__ import annotations

import sys
from typing import Any, Callable

__all__ = ["run_bar"]


def run_bar(total: int, desc: str, quiet: bool) -> tuple[Any, Callable[[int, int], None]]:
    """A tqdm bar of ``total`` runs (hidden when ``quiet``), and ``tick(done, failed)``, the progress
    callback that moves it by ``done`` runs and counts ``failed`` of them in its postfix."""
    from tqdm import tqdm

    bar = tqdm(total=total, desc=desc, unit="run", file=sys.stderr, disable=quiet, dynamic_ncols=True)
    failed = [0]
    bar.set_postfix(failed=0, refresh=False)

    def tick(n: int, f: int) -> None:
        failed[0] += f
        if f:
            bar.set_postfix(failed=failed[0], refresh=False)
        bar.update(n)

    return bar, tick
