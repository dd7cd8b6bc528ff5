"""``careos-sim sweep``: validate an experiment, run it into its store with a progress bar, say where
the results are; after a stop signal, say how many runs are saved and how to complete them."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from careos_sim.experiment.design import load_experiment
from careos_sim.experiment.executor import dask_executor
from careos_sim.experiment.sweep import EVENT_LOGS, _event_log_files, check_sweep_folder, default_out, load_store, run_sweep
from careos_sim.spec.loader import InputError, InputIssue
from careos_sim.cli.progress import run_bar
from careos_sim.text import for_terminal

__all__ = ["cli_sweep", "say_interrupted"]


def say_interrupted(exc: BaseException, out: Path, total: int, how_to_resume: str) -> int:
    """On stderr after a stop signal or Ctrl-C: how many runs are saved in the store and how to
    complete them; returns the exit code the signal calls for."""
    code, how = getattr(exc, "exit_code", 130), getattr(exc, "how", "interrupted")
    try:
        saved = f"{len(load_store(out).runs)} of {total} runs are saved in {for_terminal(out)}/"
    except InputError:  # stopped before the folder was made
        print(f"careos-sim: {how}; nothing was written", file=sys.stderr)
        return code
    print(f"careos-sim: {how}; {saved}. {how_to_resume}", file=sys.stderr)
    return code


def cli_sweep(args) -> int:
    """``careos-sim sweep``: validate, run with a progress bar, say where the results are."""

    if args.workers is not None and args.workers < 1:
        raise InputError([InputIssue("--workers", None, "workers", "must be >= 1", args.workers)])
    from careos_sim.measure.eventlog import check_event_log_options

    log_days = check_event_log_options(args, needs_out=False)
    exp = load_experiment(args.file, args.sets, replications=args.replications, horizon_days=args.horizon_days)
    out = args.out or default_out(exp)
    check_sweep_folder(out, args.resume)  # before connecting to a cluster or running anything
    total = len(exp.design) * exp.replications
    client = dask_executor(args.scheduler) if args.scheduler else None
    scheduler = args.scheduler or "local"
    bar, progress = run_bar(total, for_terminal(exp.name, 40), args.quiet)

    try:
        executor = client.get_executor() if client is not None else None
        workers = (sum(client.nthreads().values()) if client is not None else
                   (args.workers or os.cpu_count() or 1))
        result = run_sweep(exp, out, resume=args.resume, workers=workers, executor=executor, scheduler=scheduler,
                           command=["careos-sim", *args.argv], progress=progress, event_log_days=log_days)
    except KeyboardInterrupt as exc:
        bar.close()
        return say_interrupted(exc, out, total, f"Complete them with: careos-sim sweep {for_terminal(args.file)} "
                                                f"--out {for_terminal(out)} --resume")
    finally:
        bar.close()
        if client is not None:
            client.close()
    print(f"{for_terminal(exp.name)}: {len(exp.design)} design points x {exp.replications} replications = "
          f"{total} runs; ran {result.ran}, kept {result.skipped} from before, failed {result.failed}")
    for line in result.failures[:10]:
        print(f"  failed: {for_terminal(line)}", file=sys.stderr)
    if len(result.failures) > 10:
        print(f"  ... and {len(result.failures) - 10} more (see the error column of runs.parquet)", file=sys.stderr)
    print(f"results written to {for_terminal(out)}/ (runs.parquet, weekly.parquet, manifest.json); "
          f"analyse with: careos-sim analyze {for_terminal(out)}")
    if log_days is not None:
        print(f"event logs (OCEL 2.0) of replication 0: {for_terminal(out)}/{EVENT_LOGS}/point-NNNNNN.ocel.json for "
              f"{len(_event_log_files(Path(out), {}))} of {len(exp.design)} design points (what each covers: "
              "manifest.json, event_logs)")
    from careos_sim.experiment.precision import precision_warnings, say_warnings

    say_warnings(precision_warnings(exp.replications, exp.horizon_days))  # per point: replications, horizon
    return 0 if result.failed == 0 else 1
