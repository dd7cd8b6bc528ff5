"""Result documents: the ``--json`` summary of a run or a comparison, and their folders.

:func:`write_run` and :func:`write_comparison` write what ``careos-sim run --out`` and
``compare --out`` write, through :class:`careos_sim.results.folders.atomic_folder`.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import pandas as pd
import yaml

from careos_sim.measure.metrics import DIAGNOSTICS, METRICS
from careos_sim.results.folders import (atomic_folder, check_out_folder, file_hashes, json_safe, listing, now_utc,
                                        provenance)

if TYPE_CHECKING:  # pragma: no cover
    from careos_sim.experiment.compare import Comparison
    from careos_sim.experiment.replications import RunResult

__all__ = ["summary_document", "comparison_document", "write_run", "write_comparison", "unit_replications",
           "unit_paired"]


def _metrics_block(result: RunResult, metrics) -> dict[str, Any]:
    rows = result.summary.set_index("metric")
    return {
        m.name: {
            "mean": rows.at[m.name, "mean"],
            "ci_low": rows.at[m.name, "ci_low"],
            "ci_high": rows.at[m.name, "ci_high"],
            "unit": m.unit,
            **({"direction": m.direction} if m.direction else {}),
        }
        for m in metrics
    }


def summary_document(result: RunResult, scenario_label: str) -> dict[str, Any]:
    """The ``--json`` document: scenario, replications, seed, horizon and every metric; for a
    hospital, the hospital's metrics and ``units: {NAME: {"metrics": ...}}`` beside them."""

    def block(metrics):
        return _metrics_block(result, metrics)

    run = result.scenario.run
    return json_safe({
        "scenario": scenario_label,
        "replications": run.replications,
        "seed": result.seed,
        "horizon_days": run.horizon_days,
        "warmup_days": run.warmup_days,
        "metrics": block(METRICS),
        "diagnostics": block(DIAGNOSTICS),
        "undefined": dict(result.undefined),
        **({"units": {name: {"metrics": _metrics_block(unit, METRICS)} for name, unit in result.units.items()}}
           if result.units else {}),
    })


def _paired_block(paired: pd.DataFrame) -> dict[str, Any]:
    metrics = {}
    for row in paired.to_dict("records"):
        metrics[row["metric"]] = {
            **{side: {k: row[f"{side}_{k}"] for k in ("mean", "ci_low", "ci_high")} for side in ("a", "b", "diff")},
            "better": row["better"],
            "unit": row["unit"],
            "direction": row["direction"],
        }
    return metrics


def comparison_document(comparison: Comparison, label_a: str, label_b: str) -> dict[str, Any]:
    """The ``compare --json`` document: both scenarios, run settings, and per metric A, B, B - A, better
    side; for two hospitals, ``units: {NAME: {"metrics": ...}}`` for each unit both have."""
    metrics = _paired_block(comparison.paired)
    units = comparison.units
    return json_safe({
        "a": label_a,
        "b": label_b,
        "names": {"a": comparison.a.scenario.name, "b": comparison.b.scenario.name},
        "replications": comparison.replications,
        "seed": comparison.seed,
        "horizon_days": comparison.horizon_days,
        "metrics": metrics,
        **({"units": {name: {"metrics": _paired_block(p)} for name, p in units.items()}} if units else {}),
    })


def _scenario_yaml(result: RunResult) -> str:
    return yaml.safe_dump(result.scenario.model_dump(mode="json"), sort_keys=False)


def write_run(result: RunResult, out: str | Path, scenario_label: str, command: list[str],
              scenario_files: list[Path] | None = None, extra: Callable[[Path], None] | None = None,
              python: str | None = None) -> Path:
    """Write a run's results to ``out`` atomically; returns the folder (see :func:`check_out_folder`).
    ``python``: with no ``command``, the Python call that made it (for the manifest)."""
    out = Path(out)
    check_out_folder(out, "run")
    started = now_utc()
    with atomic_folder(out) as tmp:
        result.replications.to_parquet(tmp / "replications.parquet", index=False)
        result.weekly.to_parquet(tmp / "weekly.parquet", index=False)
        result.summary.to_csv(tmp / "summary.csv", index=False)
        (tmp / "summary.json").write_text(json.dumps(summary_document(result, scenario_label), indent=2) + "\n")
        (tmp / "scenario.yaml").write_text(_scenario_yaml(result))
        if result.units:
            unit_replications(result).to_parquet(tmp / "units.parquet", index=False)
        for rep, frame in result.events.items():
            frame.to_parquet(tmp / f"events-{rep:04d}.parquet", index=False)
        logs = _write_event_logs(tmp, {(f"events-{rep:04d}.ocel.json" if rep else "events.ocel.json"): log
                                       for rep, log in result.ocel.items()})
        if extra is not None:
            extra(tmp)
        manifest = {
            "kind": "run",
            "files": listing(tmp),
            "scenario": scenario_label,
            "scenario_files_sha256": file_hashes(scenario_files),
            "resolved_scenario_sha256": hashlib.sha256((tmp / "scenario.yaml").read_bytes()).hexdigest(),
            "seed": result.seed,
            "replications": result.scenario.run.replications,
            "horizon_days": result.scenario.run.horizon_days,
            "warmup_days": result.scenario.run.warmup_days,
            **({"event_logs": logs} if logs else {}),
            **provenance(command, started, result.wall_seconds, python),
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return out


def unit_replications(result: RunResult) -> pd.DataFrame:
    """A hospital's units' replications in one table: a ``unit`` column, then as replications.parquet."""
    return pd.concat([u.replications.assign(unit=name)[["unit", *u.replications.columns]]
                      for name, u in result.units.items()], ignore_index=True)


def unit_paired(comparison: Comparison) -> pd.DataFrame:
    """Each unit's paired table (as comparison.csv) with a leading ``unit`` column, the unit's name;
    the outcome's unit of measurement (comparison.csv's ``unit``) is ``metric_unit`` here."""
    return pd.concat([p.rename(columns={"unit": "metric_unit"}).assign(unit=name)
                      [["unit", *(c if c != "unit" else "metric_unit" for c in p.columns)]]
                      for name, p in comparison.units.items()], ignore_index=True)


def _write_event_logs(folder: Path, logs: dict[str, Any]) -> dict[str, Any]:
    """Write each OCEL 2.0 event log (``careos_sim.measure.eventlog.EventLog``) by its file name; returns
    what each covers, for the manifest."""
    for name, log in logs.items():
        log.write(folder / name)
    return {name: log.summary() for name, log in sorted(logs.items())}


def _sided(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One table of both sides' rows, with a leading ``side`` column ("a" or "b")."""
    return pd.concat([f.assign(side=side)[["side", *f.columns]] for side, f in frames.items()], ignore_index=True)


def write_comparison(comparison: Comparison, out: str | Path, labels: tuple[str, str], command: list[str],
                     scenario_files: tuple[list[Path], list[Path]] = ([], []), figures: bool = True,
                     python: str | None = None, extra_files: dict[str, bytes] | None = None) -> Path:
    """Write a comparison's results, resolved scenarios, figures and manifest to ``out`` atomically
    (see :func:`check_out_folder`). ``python``: with no ``command``, the Python call that made it.
    ``extra_files``: more files by plain name (``uncertainty.json`` of ``compare --uncertainty``)."""
    out = Path(out)
    check_out_folder(out, "compare")
    started = now_utc()
    sides = {"a": comparison.a, "b": comparison.b}
    with atomic_folder(out) as tmp:
        _sided({k: r.replications for k, r in sides.items()}).to_parquet(tmp / "replications.parquet", index=False)
        _sided({k: r.weekly for k, r in sides.items()}).to_parquet(tmp / "weekly.parquet", index=False)
        comparison.paired.to_csv(tmp / "comparison.csv", index=False)
        if comparison.a.units and comparison.b.units:
            _sided({k: unit_replications(r) for k, r in sides.items()}).to_parquet(tmp / "units.parquet", index=False)
            unit_paired(comparison).to_csv(tmp / "units-comparison.csv", index=False)
        doc = comparison_document(comparison, *labels)
        (tmp / "comparison.json").write_text(json.dumps(doc, indent=2) + "\n")
        for side, result in sides.items():
            (tmp / f"scenario-{side}.yaml").write_text(_scenario_yaml(result))
        for name, data in (extra_files or {}).items():
            if Path(name).name != name or name.startswith("."):
                raise ValueError(f"an extra file is named by a plain name, not {name!r}")
            (tmp / name).write_bytes(data)
        logs = _write_event_logs(tmp, {f"events-{side}.ocel.json": r.ocel[0] for side, r in sides.items()
                                       if 0 in r.ocel})
        written = []
        if figures:
            from careos_sim.results.figures import save_figures

            written = [p.relative_to(tmp).as_posix() for p in save_figures(comparison, tmp / "figures")]
        manifest = {
            "kind": "compare",
            "scenarios": dict(zip("ab", labels)),
            "scenario_files_sha256": {side: file_hashes(files) for side, files in zip("ab", scenario_files)},
            "resolved_scenarios_sha256": {
                side: hashlib.sha256((tmp / f"scenario-{side}.yaml").read_bytes()).hexdigest() for side in "ab"},
            "seed": comparison.seed,
            "replications": comparison.replications,
            "horizon_days": comparison.horizon_days,
            "warmup_days": {side: r.scenario.run.warmup_days for side, r in sides.items()},
            "figures": written,
            **({"event_logs": logs} if logs else {}),
            "files": listing(tmp),
            **provenance(command, started, comparison.wall_seconds, python),
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return out
