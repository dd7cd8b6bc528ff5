"""The ``careos-sim`` command: parse input, call the library, print results.

Exit status: 0 done, 2 bad input (every problem printed as ``FILE:LINE: path: message
(got VALUE)`` on stderr, no traceback), 1 internal error.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any, Sequence

from careos_sim.loader import InputError, InputIssue, load_document, load_scenario, scenario_json_schema

__all__ = ["main"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse's own usage errors exit 2 as well
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def _build_parser() -> argparse.ArgumentParser:
    from careos_sim import __version__

    parser = _Parser(prog="careos-sim", description="Discrete-event simulation of hospital care systems.")
    parser.add_argument("--version", action="version", version=f"careos-sim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="run replications of one scenario and summarise them")
    run.add_argument("file", type=Path, help="scenario YAML file")
    run.add_argument("--replications", "-r", type=int, help="replications (default: the scenario's run block)")
    run.add_argument("--seed", "-s", type=int, help="root seed (default: the scenario's run block)")
    run.add_argument("--horizon-days", type=float, help="simulated days after warm-up")
    run.add_argument("--set", dest="sets", action="append", default=[], metavar="PATH=VALUE",
                     help="override a scenario value, e.g. --set staff.nurses.ratio.day=4 (repeatable)")
    run.add_argument("--out", type=Path, help="write replications, weekly series and summary to this folder")
    run.add_argument("--json", action="store_true", help="print one JSON document on stdout and nothing else")
    run.add_argument("--workers", "-w", type=int, default=None,
                     help="processes to run replications in (default: every core)")
    run.add_argument("--events", action="store_true", help="keep an event log per replication (with --out)")
    run.add_argument("--quiet", "-q", action="store_true", help="no progress bar")

    val = sub.add_parser("validate", help="check scenario files without running them")
    val.add_argument("files", type=Path, nargs="+")
    val.add_argument("--set", dest="sets", action="append", default=[], metavar="PATH=VALUE")

    sub.add_parser("schema", help="print the JSON Schema of scenario files")
    return parser


def _run_overrides(args: argparse.Namespace) -> list[tuple[tuple[str, ...], Any, str]]:
    extra = []
    for option, key in (("replications", "replications"), ("seed", "seed"), ("horizon_days", "horizon_days")):
        value = getattr(args, option)
        if value is not None:
            extra.append((("run", key), value, f"--{option.replace('_', '-')} {value}"))
    return extra


def _cmd_run(args: argparse.Namespace) -> int:
    from careos_sim.experiment import run
    from careos_sim.output import summary_document, write_run

    if args.workers is not None and args.workers < 1:
        raise InputError([InputIssue("--workers", None, "workers", "must be >= 1", args.workers)])
    if args.out is not None and args.out.exists() and not args.out.is_dir():
        # found now, not after the replications have run
        raise InputError([InputIssue("--out", None, "out", "exists and is not a folder", str(args.out))])
    scenario = load_scenario(args.file, args.sets, extra=_run_overrides(args))
    label = str(args.file)
    bar = _progress(scenario.run.replications, f"{scenario.name}", disable=args.quiet)
    try:
        result = run(scenario, workers=args.workers, progress=bar.update, event_log=args.events)
    finally:
        bar.close()
    doc = summary_document(result, label)
    if args.out is not None:
        files = sorted({Path(s) for s, _ in load_document(args.file).where.values() if not s.startswith("--")})
        write_run(result, args.out, label, ["careos-sim", *sys.argv[1:]], scenario_files=files)
    if args.json:
        json.dump(doc, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(_table(doc))
        if args.out is not None:
            print(f"\nresults written to {args.out}/")
    return 0


def _progress(total: int, desc: str, disable: bool):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="rep", file=sys.stderr, disable=disable, dynamic_ncols=True)


def _fmt(x: float | None) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    a = abs(x)
    return f"{x:,.0f}" if a >= 1000 else f"{x:.3g}" if a < 0.01 else f"{x:.2f}"


def _table(doc: dict[str, Any]) -> str:
    head = (f"{doc['scenario']}: {doc['replications']} replications, seed {doc['seed']}, "
            f"{doc['horizon_days']:g} days after {doc['warmup_days']:g} days warm-up")
    rows = [("metric", "mean", "95% CI", "unit", "better")]
    for section in ("metrics", "diagnostics"):
        for name, m in doc[section].items():
            ci = "-" if m["ci_low"] is None else f"[{_fmt(m['ci_low'])}, {_fmt(m['ci_high'])}]"
            rows.append((name, _fmt(m["mean"]), ci, m["unit"], m.get("direction", "")))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = [head, ""]
    for i, r in enumerate(rows):
        lines.append("  ".join(c.ljust(w) if j in (0, 3, 4) else c.rjust(w) for j, (c, w) in
                               enumerate(zip(r, widths))).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _cmd_validate(args: argparse.Namespace) -> int:
    issues: list[InputIssue] = []
    seen: set[str] = set()
    for f in args.files:
        try:
            load_scenario(f, args.sets)
            print(f"{f}: ok")
        except InputError as exc:
            for issue in exc.issues:  # a bad --set fails every file the same way: say it once
                if str(issue) not in seen:
                    seen.add(str(issue))
                    issues.append(issue)
    if issues:
        raise InputError(issues)
    return 0


def _cmd_schema(args: argparse.Namespace) -> int:
    json.dump(scenario_json_schema(), sys.stdout, indent=2)
    sys.stdout.write("\n")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = _build_parser().parse_args(argv)
    except SystemExit as exc:  # usage errors (2), --help and --version (0): return, as for every other outcome
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    handler = {"run": _cmd_run, "validate": _cmd_validate, "schema": _cmd_schema}[args.command]
    try:
        return handler(args)
    except InputError as exc:
        for issue in exc.issues:
            print(issue, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("careos-sim: interrupted; nothing was written", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # an internal error: say so, with the traceback for a bug report
        import traceback

        traceback.print_exc()
        print(f"careos-sim: internal error: {exc}", file=sys.stderr)
        return 1


def entry() -> None:
    sys.exit(main())
