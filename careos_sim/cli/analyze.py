"""``careos-sim analyze DIR``: print a sweep's analysis tables and write them (DIR/analysis/*.csv)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from careos_sim.experiment.analysis import Analysis, _fmt, _meta, _metrics, analyze, write_tables
from careos_sim.experiment.sweep import Store, load_store
from careos_sim.text import for_terminal

__all__ = ["cli_analyze"]


def _print_tables(analysis: Analysis, store: Store) -> None:
    m = store.manifest
    print(f"{for_terminal(m.get('experiment'))}: {m['design']['type']} design, {m.get('points')} points x "
          f"{m.get('replications')} replications; {len(store.ok)} runs finished, {len(store.failed)} failed, "
          f"{len(store.missing)} not run")
    for metric in _metrics(store):
        unit, direction = _meta(metric)
        print(f"\n== {metric} ({unit}; {direction or 'no'} is better)")
        for name, frame in analysis.tables.items():
            if not len(frame):
                continue
            part = frame[frame["metric"] == metric].drop(columns=[c for c in ("metric", "unit", "direction", "point")
                                                                  if c in frame.columns])
            if name == "effects":
                part = part[["rank", "term", "effect", "ci_low", "ci_high", "n", "aliases"]]
                if not part["aliases"].astype(bool).any():
                    part = part.drop(columns="aliases")
            if "flag" in part.columns and not part["flag"].astype(bool).any():
                part = part.drop(columns="flag")  # nothing flagged: no empty column
            if len(part):
                print(for_terminal(part.to_string(index=False, formatters={c: _fmt for c in part.columns
                                                                           if part[c].dtype.kind == "f"}),
                                   limit=1_000_000))
    if analysis.notes:
        print("\nnotes:")
        for n in analysis.notes:
            print(f"  - {for_terminal(n, 2000)}")


def cli_analyze(args) -> int:
    """``careos-sim analyze DIR [--json]``: print and write the tables (DIR/analysis/*.csv)."""
    store = load_store(args.dir)
    analysis = analyze(store)
    written = write_tables(analysis, Path(args.dir) / "analysis")
    if args.json:
        json.dump(analysis.document(), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        _print_tables(analysis, store)
        print(f"\ntables written to {for_terminal(Path(args.dir) / 'analysis', 1000)}/ "
              f"({', '.join(p.name for p in written)})")
    from careos_sim.experiment.precision import say_warnings, table_warnings

    say_warnings(table_warnings(store.manifest.get("replications"), store.manifest.get("horizon_days")))
    return 0 if len(store.ok) else 1
