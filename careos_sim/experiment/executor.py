"""The executor layer: every experiment runs its jobs through here.

A job is a picklable argument tuple and a module-level function of it (a pure function of the
scenario, seed and replication), so results never depend on how many workers run them or the
order they finish in. Jobs run in this process, in a process pool made for the call (whose
workers ignore stop signals: the parent decides when they stop), or on any
``concurrent.futures.Executor`` passed in: a Dask ``client.get_executor()`` runs them on a
cluster (:func:`dask_executor`).
"""

from __future__ import annotations

import os
import signal
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, as_completed, wait
from typing import Any, Callable, Iterator, TypeVar

from careos_sim.interrupts import STOP_SIGNALS
from careos_sim.spec.loader import InputError, InputIssue
from careos_sim.text import bounded

__all__ = ["make_pool", "stop_pool", "map_ordered", "execute_each", "dask_executor", "SCHEDULER_TIMEOUT_S"]

T = TypeVar("T")


def _worker_init() -> None:
    # the parent decides when workers stop (it kills them on a stop signal): a signal sent to the
    # whole process group (Ctrl-C, kill -TERM -PGID) must not end a worker behind its back
    for s in STOP_SIGNALS:
        signal.signal(s, signal.SIG_IGN)


def make_pool(workers: int) -> ProcessPoolExecutor:
    """A process pool whose workers ignore stop signals; end it with :func:`stop_pool`."""
    return ProcessPoolExecutor(max_workers=workers, initializer=_worker_init)


def stop_pool(pool: ProcessPoolExecutor, interrupted: bool) -> None:
    """Shut ``pool`` down; when ``interrupted``, kill its workers first rather than wait for their jobs."""
    if interrupted:
        # ProcessPoolExecutor has no public way to stop running jobs: kill its processes
        for process in list((getattr(pool, "_processes", None) or {}).values()):
            try:
                process.kill()
            except (OSError, AttributeError):
                pass
    pool.shutdown(wait=True, cancel_futures=True)


def map_ordered(fn: Callable[[Any], T], jobs: list[Any], workers: int | None = 1, executor: Executor | None = None,
                progress: Callable[[int], None] | None = None) -> Iterator[T]:
    """``fn`` of each job, in this process (one worker, or one job), in a process pool made for
    the call (``workers`` > 1; None: every core) or on ``executor``; yields the results in job
    order, whatever order they finish in. ``progress`` is called with 1 as each job ends."""
    done = progress or (lambda _: None)
    workers = (os.cpu_count() or 1) if workers is None else workers
    if executor is None and (workers <= 1 or len(jobs) <= 1):
        for job in jobs:
            result = fn(job)
            done(1)
            yield result
        return
    own = executor is None
    pool = executor or make_pool(min(workers, len(jobs)))
    futures: dict = {}
    finished = False
    try:
        futures = {pool.submit(fn, job): i for i, job in enumerate(jobs)}
        results: list[Any] = [None] * len(jobs)
        for future in as_completed(futures):
            results[futures[future]] = future.result()
            done(1)
        finished = True
    finally:
        if not finished:
            for future in futures:
                future.cancel()
        if own:
            stop_pool(pool, interrupted=not finished)  # type: ignore[arg-type]
    yield from results


def execute_each(runner: Callable[..., T], jobs: list[tuple], save: Callable[[T], None], workers: int | None = 1,
                 executor: Executor | None = None) -> None:
    """``runner(*job)`` for each job, in this process, a process pool or the given executor; ``save``
    is called with each result as it arrives (in the order they finish).

    Submission is bounded (a few jobs per worker in flight), so a sweep of many thousands of
    runs neither floods the pool's queue nor holds every future at once.
    """
    workers = (os.cpu_count() or 1) if workers is None else workers
    if executor is None and (workers <= 1 or len(jobs) <= 1):
        for job in jobs:
            save(runner(*job))
        return
    own = executor is None
    pool = executor or make_pool(min(workers, len(jobs)))
    window = max(2, 4 * workers)
    pending: set[Future] = set()
    it: Iterator[tuple] = iter(jobs)
    finished_all = False
    try:
        for job in it:
            pending.add(pool.submit(runner, *job))
            if len(pending) >= window:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for f in finished:
                    save(f.result())
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for f in finished:
                save(f.result())
        finished_all = True
    finally:
        for f in pending:
            f.cancel()
        if own:
            stop_pool(pool, interrupted=not finished_all)  # type: ignore[arg-type]


#: seconds to wait for a Dask scheduler before saying it cannot be reached
SCHEDULER_TIMEOUT_S = 5


def dask_executor(address: str):
    """A Dask distributed client on the scheduler at ``address`` (its ``get_executor()`` runs jobs there);
    an :class:`InputError` naming ``--scheduler`` when dask is missing or cannot reach the scheduler."""
    try:
        from distributed import Client
    except ImportError:
        raise InputError([InputIssue("--scheduler", None, "scheduler", "running on a Dask cluster needs the dask "
                                     "extra: pip install 'careos-sim[dask]'", address)]) from None
    try:
        client = Client(address, timeout=f"{SCHEDULER_TIMEOUT_S}s")
    except (OSError, TimeoutError, ValueError, TypeError) as exc:
        raise InputError([InputIssue("--scheduler", None, "scheduler", f"cannot reach the Dask scheduler within "
                                     f"{SCHEDULER_TIMEOUT_S} s: {bounded(exc)}", bounded(address))]) from None
    return client
