"""The ``careos-sim calibrate`` command: options, progress bar, what is printed (``docs/calibration.md``).

Kept light to import (the parser of every command imports :func:`add_arguments`); the library
is imported when the command runs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from careos_sim.spec.loader import InputError, InputIssue

__all__ = ["add_arguments", "cli_calibrate"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``careos-sim calibrate``."""
    parser.add_argument("file", type=Path, help="targets YAML file (see experiments/calibration/)")
    parser.add_argument("--out", type=Path, help="results folder (default: results/calibrate-<name>)")
    parser.add_argument("--resume", action="store_true",
                        help="complete an interrupted calibration in --out, keeping finished runs")
    parser.add_argument("--workers", "-w", type=int, default=None,
                        help="local processes (default: every core); with --scheduler, ignored")
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="run on an existing Dask distributed cluster, e.g. tcp://HOST:8786 (needs careos-sim[dask])")
    parser.add_argument("--budget", type=int, help="most simulation runs in all (default: the file's budget)")
    parser.add_argument("--replications", "-r", type=int,
                        help="replications per parameter set and side (default: the file's)")
    parser.add_argument("--json", action="store_true", help="print one JSON document on stdout at the end")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar")


def _document(result) -> dict:
    from careos_sim.results.folders import json_safe

    return json_safe({"folder": str(result.folder), "outcome": result.outcome, "message": result.message,
                      "chosen": result.chosen, "chosen_set": result.chosen_set,
                      "targets": result.targets.to_dict("records"), "runs_used": result.runs_used,
                      "ran": result.ran, "kept": result.kept, "failed": result.failed,
                      "waves": [w.record() for w in result.waves]})


def cli_calibrate(args: argparse.Namespace) -> int:
    """``careos-sim calibrate``: validate (budget included) before any run, run the waves with a progress
    bar, say what was found and where the files are."""
    from careos_sim.cli.progress import run_bar

    from careos_sim.experiment.calibrate.run import calibrate
    from careos_sim.experiment.calibrate.spec import load_targets
    from careos_sim.experiment.executor import dask_executor
    from careos_sim.text import for_terminal as shown

    if args.workers is not None and args.workers < 1:
        raise InputError([InputIssue("--workers", None, "workers", "must be >= 1", args.workers)])
    cal = load_targets(args.file, replications=args.replications, budget=args.budget)
    name = shown(cal.name, 40)
    out = args.out or Path("results") / f"calibrate-{cal.name}"
    if out.exists() and not out.is_dir():
        raise InputError([InputIssue("--out", None, "out", "exists and is not a folder", str(out))])
    quiet = args.quiet or args.json
    client = dask_executor(args.scheduler) if args.scheduler else None
    bars: list = []

    def progress(stage: str, total: int):
        for b in bars:
            b.close()
        bar, tick = run_bar(total, f"{name} {stage}", args.quiet)
        bars.append(bar)
        return tick

    def say(line: str) -> None:
        if not quiet:
            (bars[-1].write if bars else print)(f"{name}: {shown(line, 2000)}", file=sys.stderr)

    resume_cmd = f"careos-sim calibrate {shown(args.file)} --out {shown(out)} --resume" + "".join(
        f" --{k} {v}" for k, v in cal.overrides.items())
    try:
        executor = client.get_executor() if client is not None else None
        workers = (sum(client.nthreads().values()) if client is not None else (args.workers or os.cpu_count() or 1))
        result = calibrate(cal, out, resume=args.resume, workers=workers, executor=executor,
                           scheduler=args.scheduler or "local", command=["careos-sim", *args.argv],
                           progress=progress, say=say)
    except KeyboardInterrupt as exc:  # Ctrl-C (or SIGTERM, SIGHUP: 128 + the signal's number)
        for b in bars:
            b.close()
        print(f"careos-sim: {getattr(exc, 'how', 'interrupted')}; the finished runs are saved in {shown(out)}/. Complete "
              f"the calibration with: {resume_cmd}", file=sys.stderr)
        return getattr(exc, "exit_code", 130)
    finally:
        for b in bars:
            b.close()
        if client is not None:
            client.close()
    if result.interrupted:  # not from the command line (stop_after), but said the same way
        print(f"careos-sim: stopped; complete with: {resume_cmd}", file=sys.stderr)
        return 130
    for line in result.failures[:10]:
        print(f"  failed: {shown(line)}", file=sys.stderr)
    if args.json:
        json.dump(_document(result), sys.stdout, indent=2)
        sys.stdout.write("\n")
        return 0 if result.failed == 0 else 1
    c = result.chosen_set
    waves = sum(1 for w in result.waves if w.wave > 0 and w.runs > 0)
    print(f"{name}: {result.runs_used} runs in {waves} waves and a confirmation "
          f"(ran {result.ran}, kept {result.kept} from before, failed {result.failed})")
    print(f"plausible parameter sets: {c['plausible_sets']} of {c['simulated_sets']} simulated")
    if result.message:
        print(f"note: {shown(result.message, 2000)}")
    print(f"chosen point (wave {c['wave']}, set {c['set']}{'' if c['plausible'] else ', NOT plausible'}):")
    for side, values in result.chosen.items():
        print(f"  {shown(side)}: " + (", ".join(f"{shown(k)}={v:g}" for k, v in values.items()) or "(no parameter)"))
    inside = int(result.targets["inside"].sum())
    print(f"targets at the chosen point: {inside} of {len(result.targets)} inside their band "
          f"({cal.confirm_replications} confirmation replications per side)")
    for _, r in result.targets.iterrows():
        if not r["inside"]:
            print(f"  outside: {shown(r['target'])}: {r['mean']:.4g} (band {r['low']:g} to {r['high']:g})")
    print(f"results written to {shown(out)}/ (targets.md, targets.csv, chosen.yaml, plausible.parquet, manifest.json)")
    return 0 if result.failed == 0 else 1
