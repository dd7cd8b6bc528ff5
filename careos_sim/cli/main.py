"""The ``careos-sim`` command: parse input, call the library, print results.

Exit status: 0 done, 2 bad input (every problem printed as ``FILE:LINE: path: message
(got VALUE)`` on stderr, no traceback), 1 internal error, 128 + the signal's number when
stopped by a signal: 130 for SIGINT (Ctrl-C), 143 for SIGTERM, 129 for SIGHUP. All three stop
a command alike: workers are stopped, temporary files removed, a sweep's finished runs kept
(``--resume`` completes it), and an ``--out`` folder is left as it was or written whole.

Everything echoed from the user (file and scenario names, values in errors) is printed through
:func:`careos_sim.text.for_terminal`, so escape sequences in a name are shown, never executed.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path
from typing import Any, Callable, Sequence

from careos_sim.spec.loader import (InputError, InputIssue, load_any, load_scenario, overrides_from, scenario_argument,
                               scenario_json_schema, source_files)
from careos_sim.spec.scenario import ScenarioSpec
from careos_sim.text import bounded, for_terminal

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
    run.add_argument("file", type=Path, help="scenario YAML file, or a shipped preset's name (default, telling, listening)")
    _add_run_options(run, "the scenario's run block",
                     "write replications, weekly series and summary to this folder (default: none, print only)")
    run.add_argument("--events", action="store_true", help="keep an event log per replication (with --out; default: off)")
    _add_event_log_options(run, "replication 0's to DIR/events.ocel.json (needs --out)", every=True)

    cmp = sub.add_parser("compare", help="run two scenarios on common random numbers and compare them, paired")
    cmp.add_argument("file_a", type=Path, metavar="A", help="scenario YAML file or preset name of side A (the reference)")
    cmp.add_argument("file_b", type=Path, metavar="B", help="scenario YAML file or preset name of side B")
    _add_run_options(cmp, "A's run block; B runs with the same",
                     "write both sides' replications, the paired comparison, figures and manifest to this folder "
                     "(default: none, print only)", both=True)
    cmp.add_argument("--set-a", dest="sets_a", action="append", default=[], metavar="PATH=VALUE",
                     help="override a value of side A only, after --set (repeatable; default: none)")
    cmp.add_argument("--set-b", dest="sets_b", action="append", default=[], metavar="PATH=VALUE",
                     help="override a value of side B only, after --set, e.g. "
                          "--set-b leadership.mechanisms.huddle_minutes_per_shift=0 (repeatable; default: none)")
    _add_event_log_options(cmp, "replication 0's of each side to DIR/events-a.ocel.json and "
                                "DIR/events-b.ocel.json (needs --out)")

    unc = cmp.add_argument_group("uncertainty (model section 11)")
    unc.add_argument("--uncertainty", metavar="SETS", type=Path,
                     help="also compare A and B across parameter sets: a calibration's plausible.parquet, or a YAML "
                          "file of ranges (parameters: {PATH: {low: L, high: H}}, samples: K), Latin hypercube "
                          "(default: none, intervals cover simulation noise only)")
    unc.add_argument("--samples", type=int, metavar="K",
                     help="parameter sets to use: drawn from SETS' plausible sets, or the Latin-hypercube size "
                          "(default: every plausible set, or the ranges file's samples)")
    unc.add_argument("--uncertainty-out", type=Path, metavar="DIR",
                     help="the uncertainty study's resumable store (default: results/uncertainty-A-vs-B)")
    unc.add_argument("--resume", action="store_true",
                     help="complete an interrupted uncertainty study in its store, keeping finished runs "
                          "(default: off, a new study)")
    unc.add_argument("--scheduler", metavar="ADDRESS",
                     help="run the uncertainty study on a Dask cluster, e.g. tcp://HOST:8786 (default: none, local "
                          "processes)")
    unc.add_argument("--fails-on", metavar="METRIC", default="safety.harm_per_1000_patient_days",
                     help="the outcome whose failures scenario discovery explains (default: "
                          "safety.harm_per_1000_patient_days)")
    unc.add_argument("--wtp", type=float, metavar="AMOUNT", default=None,
                     help="willingness to pay per harm event averted, for net monetary benefit (default: 20000)")

    val = sub.add_parser("validate", help="check scenario files without running them")
    val.add_argument("files", type=Path, nargs="+", help="scenario YAML files or preset names")
    val.add_argument("--set", dest="sets", action="append", default=[], metavar="PATH=VALUE",
                     help="override a value in every file, as for run (repeatable; default: none)")

    sub.add_parser("schema", help="print the JSON Schema of scenario files")

    sweep = sub.add_parser("sweep", help="run an experiment: every design point, replicated, into a resumable results store")
    sweep.add_argument("file", type=Path, help="experiment YAML file (see experiments/)")
    sweep.add_argument("--out", type=Path, help="results folder (default: results/<experiment name>)")
    sweep.add_argument("--resume", action="store_true",
                       help="complete an interrupted sweep in --out, keeping finished runs (default: off, a new sweep)")
    sweep.add_argument("--workers", "-w", type=int, default=None,
                       help="local processes (default: every core); with --scheduler, ignored")
    sweep.add_argument("--scheduler", metavar="ADDRESS",
                       help="run on an existing Dask distributed cluster, e.g. tcp://HOST:8786 (needs careos-sim[dask]; "
                            "default: none, local processes)")
    sweep.add_argument("--replications", "-r", type=int, help="replications per design point (default: the experiment's)")
    sweep.add_argument("--horizon-days", type=float, help="simulated days after warm-up (default: the experiment's)")
    sweep.add_argument("--set", dest="sets", action="append", default=[], metavar="PATH=VALUE",
                       help="override a base-scenario value for every point (repeatable; default: none)")
    sweep.add_argument("--quiet", "-q", action="store_true", help="no progress bar (default: a bar on stderr)")
    sweep.add_argument("--allow-large", action="store_true", help=_allow_large_help())
    _add_event_log_options(sweep, "replication 0's of every design point to DIR/events/point-NNNNNN.ocel.json")

    analyze = sub.add_parser("analyze", help="effects, sensitivity indices or tables of a sweep's results")
    analyze.add_argument("dir", type=Path, help="a sweep's results folder")
    analyze.add_argument("--json", action="store_true",
                         help="print one JSON document on stdout and nothing else (default: off, tables)")

    report = sub.add_parser("report", help="write report.html and report.md for a results folder (never re-runs)")
    report.add_argument("dir", type=Path, help="a results folder written by compare --out or sweep --out")

    app = sub.add_parser("app", help="start the interactive app on localhost (needs careos-sim[app])")
    app.add_argument("--port", type=int, default=8501, help="port to serve on (default: 8501)")

    from careos_sim.cli.calibrate import add_arguments as calibrate_arguments

    calibrate_arguments(sub.add_parser("calibrate", help="fit free parameters to target bands: history matching "
                                                         "with Gaussian-process emulators, resumable"))
    _add_precision_parser(sub)
    _state_defaults(parser)
    return parser


#: defaults of options whose help (written elsewhere) does not say it
_DEFAULTS = {("calibrate", "--scheduler"): "none, local processes", ("calibrate", "--resume"): "off, a new calibration",
             ("calibrate", "--json"): "off, text", ("calibrate", "--quiet"): "a bar on stderr"}


def _state_defaults(parser: argparse.ArgumentParser) -> None:
    """Every option's help says its default: add it where the help does not (calibrate's)."""
    for action in parser._subparsers._group_actions[0].choices.items() if parser._subparsers else []:
        name, sub = action
        for opt in sub._actions:
            if not opt.option_strings or opt.help in (None, argparse.SUPPRESS) or "default" in opt.help:
                continue
            default = _DEFAULTS.get((name, opt.option_strings[-1] if opt.option_strings[-1].startswith("--")
                                     else opt.option_strings[0]))
            if default is None and isinstance(opt, argparse._StoreTrueAction):
                default = "off"
            if default is not None:
                opt.help = f"{opt.help} (default: {default})"


def _add_event_log_options(parser: argparse.ArgumentParser, where: str, every: bool = False) -> None:
    """``--event-log`` and ``--event-log-days`` (and, for ``run``, ``--event-log-all``): OCEL 2.0 event logs."""
    from careos_sim.measure.eventlog import DEFAULT_DAYS, MAX_DAYS, MAX_EVENTS, MAX_LOGGED_REPLICATIONS

    parser.add_argument("--event-log", action="store_true",
                        help=f"write an object-centric event log (OCEL 2.0 JSON, read by pm4py.read_ocel2_json): "
                             f"{where} (default: off)")
    parser.add_argument("--event-log-days", type=float, metavar="N",
                        help=f"the log covers the first N days of the simulated clock, warm-up included; at most "
                             f"{MAX_DAYS:g} days and {MAX_EVENTS:,} events a log, so it stays bounded "
                             f"(default: {DEFAULT_DAYS:g})")
    if every:
        parser.add_argument("--event-log-all", action="store_true",
                            help=f"log every replication, r >= 1 to DIR/events-NNNN.ocel.json (at most "
                                 f"{MAX_LOGGED_REPLICATIONS} replications; default: off, replication 0 only)")


def _add_run_options(parser: argparse.ArgumentParser, default: str, out: str, both: bool = False) -> None:
    parser.add_argument("--replications", "-r", type=int, help=f"replications (default: {default})")
    parser.add_argument("--seed", "-s", type=int, help=f"root seed (default: {default})")
    parser.add_argument("--horizon-days", type=float, help=f"simulated days after warm-up (default: {default})")
    sides = " on BOTH sides, A and B; --set-a and --set-b set one side" if both else ", e.g. --set staff.nurses.ratio.day=4"
    parser.add_argument("--set", dest="sets", action="append", default=[], metavar="PATH=VALUE",
                        help=f"override a scenario value{sides} (repeatable; default: none)")
    parser.add_argument("--out", type=Path, help=out)
    parser.add_argument("--json", action="store_true",
                        help="print one JSON document on stdout and nothing else (default: off, a table)")
    parser.add_argument("--workers", "-w", type=int, default=None,
                        help="processes to run replications in (default: every core)")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar (default: a bar on stderr)")
    parser.add_argument("--allow-large", action="store_true", help=_allow_large_help())


def _allow_large_help() -> str:
    from careos_sim.spec.limits import ALLOW_LARGE_HELP

    return ALLOW_LARGE_HELP


def _run_overrides(args: argparse.Namespace) -> list[tuple[tuple[str, ...], Any, str]]:
    extra = []
    for option, key in (("replications", "replications"), ("seed", "seed"), ("horizon_days", "horizon_days")):
        value = getattr(args, option)
        if value is not None:
            extra.append((("run", key), value, f"--{option.replace('_', '-')} {value}"))
    return extra


def _check_options(args: argparse.Namespace, kind: str) -> None:
    from careos_sim.results.folders import check_out_folder

    if args.workers is not None and args.workers < 1:
        raise InputError([InputIssue("--workers", None, "workers", "must be >= 1", args.workers)])
    if args.out is not None:  # found now, not after the replications have run
        check_out_folder(args.out, kind)


def _print_result(args: argparse.Namespace, doc: dict[str, Any], table: str) -> None:
    if args.json:
        json.dump(doc, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(table)
        if args.out is not None:
            print(f"\nresults written to {for_terminal(args.out)}/")


def _cmd_run(args: argparse.Namespace) -> int:
    from careos_sim.experiment.replications import run
    from careos_sim.results.documents import summary_document, write_run

    _check_options(args, "run")
    given, args.file = args.file, scenario_argument(args.file)  # a path, or a shipped preset's name
    scenario = load_any(args.file, args.sets, extra=_run_overrides(args))
    label = str(given)
    _check_cost([(scenario, label)], args)
    from careos_sim.measure.eventlog import check_event_log_options

    log_days = check_event_log_options(args, replications=scenario.run.replications)
    bar = _progress(scenario.run.replications, for_terminal(scenario.name, 40), disable=args.quiet)
    try:
        result = run(scenario, workers=args.workers, progress=bar.update, event_log=args.events, ocel_days=log_days,
                     ocel_all=args.event_log_all)
    finally:
        bar.close()
    doc = summary_document(result, label)
    if args.out is not None:
        write_run(result, args.out, label, ["careos-sim", *args.argv], scenario_files=source_files(args.file))
    _print_result(args, doc, _table(doc))
    _say_undefined(result.undefined)
    _warn_precision(result.scenario.run.replications, result.scenario.run.horizon_days, result.summary, "")
    return 0


def _say_undefined(undefined: dict[str, str]) -> None:
    """On stderr: which metrics the run could not define, and why (a run too short, say)."""
    if undefined:
        print(f"note: {len(undefined)} metric(s) undefined in every replication (shown as nan):", file=sys.stderr)
        for name, why in undefined.items():
            print(f"  {name}: {for_terminal(why, 300)}", file=sys.stderr)


def _load_pair(args: argparse.Namespace) -> tuple[ScenarioSpec, ScenarioSpec]:
    """Both scenarios, or an InputError with the problems of both (a bad --set said once)."""
    scenarios, issues, seen = [], [], set()
    args.given = (args.file_a, args.file_b)
    args.file_a, args.file_b = scenario_argument(args.file_a), scenario_argument(args.file_b)
    for path, option, own in ((args.file_a, "--set-a", args.sets_a), (args.file_b, "--set-b", args.sets_b)):
        try:
            side = [*overrides_from(args.sets), *overrides_from(own, option)]  # --set first, one side's after
            scenarios.append(load_any(path, extra=[*side, *_run_overrides(args)]))
        except InputError as exc:
            issues += [i for i in exc.issues if str(i) not in seen and not seen.add(str(i))]
    if issues:
        raise InputError(issues)
    a, b = scenarios
    if a.name == b.name:  # e.g. two presets of one unit: tell the sides apart by their files
        a = a.model_copy(update={"name": Path(args.file_a).stem})
        b = b.model_copy(update={"name": Path(args.file_b).stem})
    return a, b


def _note_run_settings(a: ScenarioSpec, b: ScenarioSpec) -> None:
    keys = ("replications", "seed", "horizon_days")
    differ = [k for k in keys if getattr(a.run, k) != getattr(b.run, k)]
    if differ:
        print(f"careos-sim: B runs with A's {', '.join(differ)} (paired on common random numbers)", file=sys.stderr)


def _cmd_compare(args: argparse.Namespace) -> int:
    from careos_sim.experiment.compare import compare
    from careos_sim.results.documents import comparison_document, write_comparison

    _check_options(args, "compare")
    from careos_sim.measure.eventlog import check_event_log_options

    log_days = check_event_log_options(args)
    a, b = _load_pair(args)
    _check_cost([(a, str(args.given[0])), (b, str(args.given[1]))], args)
    _note_run_settings(a, b)
    bar = _progress(2 * a.run.replications, f"{for_terminal(a.name, 30)} vs {for_terminal(b.name, 30)}",
                    disable=args.quiet)
    try:
        result = compare(a, b, workers=args.workers, progress=bar.update, ocel_days=log_days)
    finally:
        bar.close()
    labels = (str(args.given[0]), str(args.given[1]))
    doc = comparison_document(result, *labels)
    study = _uncertainty(args, a, b, labels) if args.uncertainty is not None else None
    if study is not None:
        doc["uncertainty"] = {k: v for k, v in study.record().items() if k != "outcomes"}
        doc["uncertainty"]["store"] = str(study.folder)
        for section in ("metrics", "diagnostics"):
            for name, m in doc.get(section, {}).items():
                block = study.metric_record(name)
                if block is not None:
                    m["uncertainty"] = block
    if args.out is not None:
        extra = None
        if study is not None:  # the report draws its uncertainty figures from these two files
            extra = {name: (study.folder / name).read_bytes() for name in ("uncertainty.json", "set_effects.parquet")
                     if (study.folder / name).is_file()}
        write_comparison(result, args.out, labels, ["careos-sim", *args.argv],
                         scenario_files=(source_files(args.file_a), source_files(args.file_b)), extra_files=extra)
    warmups = (result.a.scenario.run.warmup_days, result.b.scenario.run.warmup_days)
    table = _compare_table(doc, *warmups)
    if study is not None:
        table += "\n\n" + _uncertainty_table(study)
    _print_result(args, doc, table)
    _say_undefined({**result.a.undefined, **result.b.undefined})
    _warn_precision(result.replications, result.horizon_days, result.paired, "diff_")
    return 0


def _uncertainty(args: argparse.Namespace, a: ScenarioSpec, b: ScenarioSpec, labels: tuple[str, str]):
    """Run (or resume) and analyse the uncertainty study of ``compare --uncertainty``."""
    from tqdm import tqdm

    from careos_sim.measure.metrics import BY_NAME
    from careos_sim.experiment.executor import dask_executor
    from careos_sim.cli.sweep import say_interrupted
    from careos_sim.experiment.sweep import check_sweep_folder
    from careos_sim.experiment.uncertainty.run import load_sets, uncertainty_experiment
    from careos_sim.experiment.uncertainty.study import DEFAULT_WTP_PER_HARM, HARM, analyse_store, run_study

    if args.fails_on not in BY_NAME:
        raise InputError([InputIssue("--fails-on", None, "fails-on", "unknown metric", args.fails_on)])
    if args.samples is not None and args.samples < 2:
        raise InputError([InputIssue("--samples", None, "samples", "must be >= 2", args.samples)])
    sets = load_sets(args.uncertainty, samples=args.samples, seed=a.run.seed)
    name = f"uncertainty-{Path(str(labels[0])).stem}-vs-{Path(str(labels[1])).stem}"
    out = args.uncertainty_out or Path("results") / name
    check_sweep_folder(out, args.resume)
    from careos_sim.spec.limits import cli_caps, scenario_issues

    issues = scenario_issues(a, replications=sets.count * a.run.replications, caps=cli_caps(args),
                             source=f"{args.uncertainty} ({sets.count} sets x 2 sides)", sides=2)
    if issues:  # before any set's scenario is built
        raise InputError(issues)
    side = [*overrides_from(args.sets)]
    exp = uncertainty_experiment(sets, args.file_a, args.file_b,
                                 [*side, *overrides_from(args.sets_a, "--set-a"), *_run_overrides(args)],
                                 [*side, *overrides_from(args.sets_b, "--set-b"), *_run_overrides(args)],
                                 # every run records every metric, and --fails-on is chosen when the store is
                                 # analysed: one store serves any --fails-on (its signature does not name it)
                                 [HARM], name,
                                 scenario_files=[*source_files(args.file_a), *source_files(args.file_b)])
    client = dask_executor(args.scheduler) if args.scheduler else None
    total = len(exp.design) * exp.replications
    bar = tqdm(total=total, desc=f"uncertainty: {sets.count} sets", unit="run", file=sys.stderr,
               disable=args.quiet, dynamic_ncols=True)
    try:
        executor = client.get_executor() if client is not None else None
        workers = sum(client.nthreads().values()) if client is not None else args.workers
        swept = run_study(exp, out, resume=args.resume, workers=workers, executor=executor,
                          scheduler=args.scheduler or "local", command=["careos-sim", *args.argv],
                          progress=lambda n, f: bar.update(n))
    except KeyboardInterrupt as exc:
        bar.close()
        raise SystemExit(say_interrupted(exc, out, total, "Complete them by running the same command with "
                                                          f"--resume --uncertainty-out {for_terminal(out)}")) from None
    finally:
        bar.close()
        if client is not None:
            client.close()
    if swept.failed:
        print(f"careos-sim: {swept.failed} uncertainty runs failed; they are left out of the analysis",
              file=sys.stderr)
    from careos_sim.model.nurses import headcount

    nurses = float(headcount(a))
    return analyse_store(out, sets, labels=labels, fails_on=args.fails_on,
                         wtp_per_harm=args.wtp if args.wtp is not None else DEFAULT_WTP_PER_HARM, nurses=nurses,
                         seed=a.run.seed)


def _uncertainty_table(study) -> str:
    """The uncertainty study in plain words first, then a line per headline outcome."""
    from careos_sim.experiment.uncertainty.study import BURNOUT, COST, HARM

    lines = [for_terminal(study.headline, 2000), "",
             f"across {study.sets} parameter sets x {study.replications} paired replications ({for_terminal(study.source, 300)}):"]
    rows = [("metric", "effect B - A, median", "90% of sets", "P(B better)", "parameter share", "top driver")]
    picks = [m for m in (HARM, BURNOUT, "learning.defect_encounters_per_rn_8h", "effectiveness.missed_care_pct",
                         COST, "workforce.turnover_annual_pct") if m in study.outcomes]
    for m in picks:
        o = study.outcomes[m]
        top = o.drivers[0] if o.drivers else None
        rows.append((m, _signed(o.effect_median), f"[{_fmt(o.effect_p05)}, {_fmt(o.effect_p95)}]",
                     "-" if o.p_better is None else f"{100 * o.p_better:.0f}%",
                     "-" if o.parameter_share is None else f"{100 * o.parameter_share:.0f}%",
                     "-" if top is None else f"{top.parameter} ({top.index:+.2f})"))
    lines += _columns(rows, {0, 5})
    for box in study.boxes[:3]:
        lines.append(f"fails on {study.fails_on} {for_terminal(box.text(), 500)}: coverage "
                     f"{100 * box.coverage:.0f}%, density {100 * box.density:.0f}% ({box.n} sets)")
    e = study.economics
    if e is not None:
        icer = "-" if e.icer_per_harm_averted is None else f"{e.icer_per_harm_averted:,.0f}"
        lines.append(f"economics (per 1,000 patient-days): incremental cost {_signed(e.incremental_cost[0])}, harm "
                     f"events averted {_fmt(e.harm_averted[0])}, cost per harm event averted {icer}; net monetary "
                     f"benefit at {e.wtp_per_harm:,.0f} per event {_signed(e.nmb[0])} (cost-effective in "
                     f"{100 * e.p_cost_effective:.0f}% of sets); EVPI {_fmt(e.evpi)}")
    lines.append(f"written to {for_terminal(study.folder)}/ (uncertainty.json, set_effects.parquet, runs.parquet)")
    return "\n".join(lines)


def _progress(total: int, desc: str, disable: bool):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="rep", file=sys.stderr, disable=disable, dynamic_ncols=True)


def _fmt(x: float | None) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    a = abs(x)
    return f"{x:,.0f}" if a >= 1000 else f"{x:.3g}" if a < 0.01 else f"{x:.2f}"


def _ci(m: dict[str, Any], fmt: Callable[[float | None], str] = _fmt) -> str:
    return "-" if m["ci_low"] is None else f"[{fmt(m['ci_low'])}, {fmt(m['ci_high'])}]"


def _signed(x: float | None) -> str:
    text = _fmt(x)
    return text if text == "-" or text.startswith("-") or x == 0 else f"+{text}"


def _columns(rows: list[tuple[str, ...]], left: set[int]) -> list[str]:
    """Rows as aligned text columns (``left`` ones left-aligned), a rule under the header row."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = []
    for i, r in enumerate(rows):
        lines.append("  ".join(c.ljust(w) if j in left else c.rjust(w) for j, (c, w) in
                               enumerate(zip(r, widths))).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    return lines


def _table(doc: dict[str, Any]) -> str:
    head = (f"{for_terminal(doc['scenario'])}: {doc['replications']} replications, seed {doc['seed']}, "
            f"{doc['horizon_days']:g} days after {doc['warmup_days']:g} days warm-up")
    rows = [("metric", "mean", "95% CI", "unit", "better")]
    for section in ("metrics", "diagnostics"):
        for name, m in doc[section].items():
            rows.append((name, _fmt(m["mean"]), _ci(m), m["unit"], m.get("direction", "")))
    return "\n".join([head, "", *_columns(rows, {0, 3, 4})])


def _compare_table(doc: dict[str, Any], warmup_a: float, warmup_b: float) -> str:
    warmup = f"{warmup_a:g}" if warmup_a == warmup_b else f"{warmup_a:g} (A) and {warmup_b:g} (B)"
    head = [f"A: {for_terminal(doc['a'])} ({for_terminal(doc['names']['a'])})",
            f"B: {for_terminal(doc['b'])} ({for_terminal(doc['names']['b'])})",
            f"{doc['replications']} paired replications on common random numbers, seed {doc['seed']}, "
            f"{doc['horizon_days']:g} days after {warmup} days warm-up"]
    from careos_sim.report.common import DIMENSIONS, dimension_of, number_format
    from careos_sim.measure.labels import label

    flow = "Volumes and flow (counts and diagnostics: no better side)"
    groups: dict[str, list[tuple[str, dict[str, Any]]]] = {title: [] for title in (*DIMENSIONS.values(), flow)}
    for name, m in doc["metrics"].items():  # the report's scorecard order: by dimension, then as computed
        groups[dimension_of(name) or flow].append((name, m))
    rows = [("outcome", "A", "B", "B - A", "95% CI of B - A", "unit", "better")]
    for title, items in groups.items():
        if not items:
            continue
        if len(rows) > 1:
            rows.append(("",) * 7)
        rows.append((title,) + ("",) * 6)
        for name, m in items:
            a, b, d = m["a"]["mean"], m["b"]["mean"], m["diff"]
            f = number_format(a, b, d["mean"], d["ci_low"], d["ci_high"])  # one format for the row
            ci = "-" if d["ci_low"] is None else f"[{f(d['ci_low'], True)}, {f(d['ci_high'], True)}]"
            better = "" if title == flow or not m["direction"] else {"a": "A", "b": "B"}.get(m["better"], "neither")
            rows.append((f"  {label(name)}", f(a), f(b), f(d["mean"], True), ci, m["unit"], better))
    foot = ("better: the side the 95% CI of B - A favours; neither: the CI includes 0. Volumes and flow have no "
            "better side. Numbers on a row share its decimals (3 significant digits of its largest); "
            "--json gives every metric by its key.")
    return "\n".join([*head, "", *_columns(rows, {0, 5, 6}), "", foot])


def _cmd_validate(args: argparse.Namespace) -> int:
    issues: list[InputIssue] = []
    seen: set[str] = set()
    for f in args.files:
        try:
            load_any(scenario_argument(f), args.sets)
            print(f"{for_terminal(f)}: ok")
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


def _check_cost(scenarios: list[tuple[ScenarioSpec, str]], args: argparse.Namespace) -> None:
    """Refuse a run whose estimated cost is above a cap (careos_sim.spec.limits) before anything is built."""
    from careos_sim.spec.limits import check_command

    check_command(scenarios, args)


def _cmd_sweep(args: argparse.Namespace) -> int:
    from careos_sim.spec.limits import cli_caps, using_caps
    from careos_sim.cli.sweep import cli_sweep

    with using_caps(cli_caps(args)):  # load_experiment checks the design's cost before generating it
        return cli_sweep(args)


def _check_outputs(folder: Path, files: tuple[str, ...], folders: tuple[str, ...], command: str) -> None:
    """Before ``analyze`` or ``report`` writes into a results folder: each output is absent or of
    the kind it writes (a file, a folder), and the folder can be written in. A missing or foreign
    results folder is left for the command itself to name."""
    from careos_sim.results.folders import check_writable, folder_kind

    if not folder.is_dir() or folder_kind(folder) is None:  # not a results folder: the command says so
        return
    for name, want_dir in [*((f, False) for f in files), *((d, True) for d in folders)]:
        path = folder / name
        if os.path.lexists(path) and (path.is_dir() != want_dir or (not want_dir and not path.is_file())):
            raise InputError([InputIssue(str(path), None, "<folder>" if want_dir else "<file>",
                                         f"{command} writes a {'folder' if want_dir else 'file'} here, and something "
                                         "else is in the way; move it, then run again", bounded(path))])
    for name in folders:
        if (folder / name).is_dir():
            check_writable(folder / name, str(folder / name), str(folder / name))
    check_writable(folder, str(folder), str(folder))


def _cmd_analyze(args: argparse.Namespace) -> int:
    from careos_sim.cli.analyze import cli_analyze

    _check_outputs(Path(args.dir), (), ("analysis",), "analyze")
    return cli_analyze(args)


def _cmd_report(args: argparse.Namespace) -> int:
    from careos_sim.report import cli_report

    _check_outputs(Path(args.dir), ("report.html", "report.md"), ("figures",), "report")
    return cli_report(args)


def _cmd_app(args: argparse.Namespace) -> int:
    from careos_sim.app import cli_app

    return cli_app(args)


# --------------------------------------------------------------------------- precision (docs/model.md, section 4)


def _warn_precision(n: Any, horizon: Any, table: Any, prefix: str) -> None:
    """On stderr, one line each: too few replications, too short a horizon, headline intervals wide
    against their estimate (``careos_sim.experiment.precision``); ``prefix`` "diff_" for a paired table."""
    from careos_sim.experiment.precision import say_warnings, table_warnings

    say_warnings(table_warnings(n, horizon, table, prefix))


def _add_precision_parser(sub: Any) -> None:
    from careos_sim.experiment.precision import DEFAULT_BATCH, DEFAULT_MAX_REPLICATIONS, DEFAULT_METRICS, DEFAULT_TARGET

    target = DEFAULT_TARGET.replace("%", "%%")
    p = sub.add_parser("precision", help="how many replications a target precision needs: replications in batches "
                                         "until each chosen metric's 95%% CI half-width is at or below its target")
    p.add_argument("file_a", type=Path, metavar="SCENARIO",
                   help="scenario YAML file or preset name; alone, the targets are on its means")
    p.add_argument("file_b", type=Path, metavar="SCENARIO_B", nargs="?", default=None,
                   help="a second scenario: the targets are on the paired difference B - A, on common random numbers "
                        "(default: none, one scenario)")
    p.add_argument("--metric", "-m", dest="metrics", action="append", default=[], metavar="NAME[=TARGET[%]]",
                   help="a metric and the 95%% CI half-width wanted: in the metric's unit (=2.5) or as a percentage "
                        f"of |mean| (=5%%); repeatable (default: {', '.join(DEFAULT_METRICS)}; a metric without a "
                        f"target: {target})")
    p.add_argument("--max-replications", type=int, default=DEFAULT_MAX_REPLICATIONS, metavar="N",
                   help=f"stop there even if a target is unmet (per side; default: {DEFAULT_MAX_REPLICATIONS})")
    p.add_argument("--batch", type=int, default=DEFAULT_BATCH, metavar="K",
                   help=f"replications added at each step, the first step at least 3 (default: {DEFAULT_BATCH})")
    p.add_argument("--seed", "-s", type=int, help="root seed (default: the scenario's run block; B runs with A's)")
    p.add_argument("--horizon-days", type=float,
                   help="simulated days after warm-up (default: the scenario's run block; B runs with A's)")
    p.add_argument("--set", dest="sets", action="append", default=[], metavar="PATH=VALUE",
                   help="override a scenario value on every scenario given (repeatable; default: none)")
    p.add_argument("--set-a", dest="sets_a", action="append", default=[], metavar="PATH=VALUE",
                   help="override a value of SCENARIO only, after --set (repeatable; default: none)")
    p.add_argument("--set-b", dest="sets_b", action="append", default=[], metavar="PATH=VALUE",
                   help="override a value of SCENARIO_B only, after --set (repeatable; default: none)")
    p.add_argument("--workers", "-w", type=int, default=None,
                   help="processes to run replications in (default: every core)")
    p.add_argument("--json", action="store_true",
                   help="print one JSON document on stdout and nothing else (default: off, a table)")
    p.add_argument("--warmup", action="store_true",
                   help="also run MSER-5 on the weekly series of the replications run and suggest a warm-up per "
                        "metric (default: off)")
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bar (default: a bar on stderr)")
    p.add_argument("--allow-large", action="store_true", help=_allow_large_help())


def _cmd_precision(args: argparse.Namespace) -> int:
    from careos_sim.spec.limits import cli_caps
    from careos_sim.results.folders import json_safe
    from careos_sim.experiment.precision import (MIN_REPLICATIONS, REPLICATIONS_LIMIT, check_precision_cost, parse_targets,
                                      required_replications)

    issues: list[InputIssue] = []
    for option, value, least in (("--workers", args.workers, 1), ("--batch", args.batch, 1),
                                 ("--max-replications", args.max_replications, 2)):
        if value is not None and value < least:
            issues.append(InputIssue(option, None, option.lstrip("-"), f"must be >= {least}", value))
    if args.max_replications > REPLICATIONS_LIMIT:
        issues.append(InputIssue("--max-replications", None, "max-replications", f"must be <= {REPLICATIONS_LIMIT}",
                                 args.max_replications))
    if args.file_b is None and args.sets_b:
        issues.append(InputIssue("--set-b", None, "set-b", "needs a second scenario, SCENARIO_B", args.sets_b[0]))
    try:
        targets = parse_targets(args.metrics)
    except InputError as exc:
        issues += exc.issues
    if issues:
        raise InputError(issues)
    args.replications = None  # of the run settings, only --seed and --horizon-days apply
    if args.file_b is None:
        given, args.file_a = (args.file_a,), scenario_argument(args.file_a)
        a, b = load_scenario(args.file_a, extra=[*overrides_from(args.sets), *overrides_from(args.sets_a, "--set-a"),
                                                 *_run_overrides(args)]), None
    else:
        (a, b), given = _load_pair(args), args.given
    labels = [str(g) for g in given]
    check_precision_cost([(a, labels[0]), *([(b, labels[1])] if b is not None else [])], args.max_replications,
                         cli_caps(args))
    desc = for_terminal(a.name, 30) + ("" if b is None else f" vs {for_terminal(b.name, 30)}")
    bar = _progress((1 if b is None else 2) * args.max_replications, f"precision: {desc}", disable=args.quiet)
    try:
        result = required_replications(a, targets, b, batch=args.batch, max_replications=args.max_replications,
                                       workers=args.workers, progress=bar.update)
        bar.total = bar.n  # stopped before the cap: the bar ends full
        bar.refresh()
    finally:
        bar.close()
    warm = result.warmup() if args.warmup else None
    doc = {**({"scenario": labels[0]} if b is None else {"a": labels[0], "b": labels[1]}), "seed": a.run.seed,
           "horizon_days": a.run.horizon_days, "warmup_days": a.run.warmup_days, **result.document()}
    if warm is not None:
        doc["warmup"] = json_safe(warm.to_dict("records"))
    if args.json:
        json.dump(json_safe(doc), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        print(_precision_table(result, labels, a, warm))
    _warn_precision(max(result.replications, MIN_REPLICATIONS), a.run.horizon_days, None, "")  # the horizon
    return 0


def _precision_table(result: Any, labels: list[str], a: ScenarioSpec, warm: Any) -> str:
    what = (f"the paired difference B - A on common random numbers (A: {for_terminal(labels[0])}, B: "
            f"{for_terminal(labels[1])})" if result.paired else f"the means of {for_terminal(labels[0])}")
    stop = (f"every target met after {result.replications} replications" if result.met else
            f"not every target met within --max-replications {result.max_replications}")
    lines = [f"precision of {what}", f"seed {a.run.seed}, {a.run.horizon_days:g} days after {a.run.warmup_days:g} "
             f"days warm-up, batches of {result.batch}: {stop}", ""]
    rows = [("metric", "n", "mean B - A" if result.paired else "mean", "95% CI half-width", "of |mean|", "target",
             "met", "replications needed")]
    for r in result.table.to_dict("records"):
        rel = "-" if not math.isfinite(r["relative_half_width"]) else f"{100 * r['relative_half_width']:.1f}%"
        needed = "-" if r["n_needed"] is None or (isinstance(r["n_needed"], float) and math.isnan(r["n_needed"])) \
            else f"{'~' if r['projected'] else ''}{int(r['n_needed'])}"
        rows.append((r["metric"], str(r["n"]), _fmt(r["mean"]), _fmt(r["half_width"]), rel,
                     f"{r['target']} ({_fmt(r['target_half_width'])})", "yes" if r["met"] else "no", needed))
    lines += _columns(rows, {0, 5, 6})
    lines += ["", "replications needed: after that many the half-width stayed at or below its target (to the batch); "
                  "~N: not met, projected from the spread so far; -: cannot be projected"]
    if warm is not None:
        lines += ["", f"warm-up: MSER-5 on the weekly mean over {result.replications} replications (full weeks from "
                      "time 0)"]
        side = "side" in warm.columns
        rows = [(*(("side",) if side else ()), "metric", "weeks", "delete", "suggested run.warmup_days", "now",
                 "reliable")]
        for w in warm.to_dict("records"):
            rows.append((*((w["side"].upper(),) if side else ()), w["metric"], str(w["weeks"]),
                         f"{w['truncate_weeks']} weeks", _fmt(w["warmup_days"]), _fmt(w["warmup_now"]),
                         "yes" if w["reliable"] else f"no: {w['note']}"))
        lines += _columns(rows, {0, 1, 6} if side else {0, 5})
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = _build_parser().parse_args(argv)
        args.argv = list(sys.argv[1:] if argv is None else argv)  # for the manifest
    except SystemExit as exc:  # usage errors (2), --help and --version (0): return, as for every other outcome
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    from careos_sim.cli.calibrate import cli_calibrate

    handler = {"run": _cmd_run, "compare": _cmd_compare, "validate": _cmd_validate,
               "schema": _cmd_schema, "sweep": _cmd_sweep, "analyze": _cmd_analyze, "report": _cmd_report,
               "app": _cmd_app, "calibrate": cli_calibrate, "precision": _cmd_precision}[args.command]
    from careos_sim.interrupts import handle_signals

    try:
        with handle_signals():  # SIGTERM and SIGHUP stop a command as Ctrl-C does
            return handler(args)
    except InputError as exc:
        for issue in exc.issues:
            print(for_terminal(issue, 2000), file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        how = getattr(exc, "how", "interrupted")
        written = getattr(exc, "written", None)  # stopped just after an --out folder was put in place
        what = ("any report file is the previous one or a whole new one" if args.command == "report" else
                "each table is the previous one or a whole new one" if args.command == "analyze" else
                f"the results were written to {for_terminal(written)}/ first" if written is not None else
                "nothing was written")
        print(f"careos-sim: {how}; {what}", file=sys.stderr)
        return getattr(exc, "exit_code", 130)
    except BrokenPipeError:
        return 0
    except Exception as exc:  # an internal error: say so, with the traceback for a bug report
        import traceback

        traceback.print_exc()
        print(f"careos-sim: internal error: {for_terminal(exc, 2000)}", file=sys.stderr)
        return 1


def entry() -> None:
    code = main()
    # the command is done (its handlers are gone): a stop signal now, while the interpreter shuts
    # down, must not turn a finished command into one killed by a signal
    import signal

    from careos_sim.interrupts import STOP_SIGNALS

    for s in STOP_SIGNALS:
        signal.signal(s, signal.SIG_IGN)
    sys.exit(code)


if __name__ == "__main__":
    entry()
