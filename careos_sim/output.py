"""Writing results: the JSON summary document, and a results folder written atomically.

Files are first written to a temporary folder beside the target. A new target is that folder,
renamed in one step; into an existing target each file is moved with an atomic rename, the
manifest last (after removing the old one): an interrupted or failed run leaves either the
previous complete file or the new complete file, never half of one, and no temporary folder.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import secrets
import shutil
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import pandas as pd
import yaml

from careos_sim.compare import Comparison
from careos_sim.experiment import RunResult
from careos_sim.metrics import DIAGNOSTICS, METRICS

__all__ = ["summary_document", "comparison_document", "write_run", "write_comparison", "atomic_folder",
           "json_safe", "package_version", "write_atomic"]


def package_version() -> str:
    from careos_sim import __version__

    return __version__


def json_safe(value: Any) -> Any:
    """Plain JSON types; NaN and infinities become null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if hasattr(value, "item"):
        return json_safe(value.item())
    return value


def summary_document(result: RunResult, scenario_label: str) -> dict[str, Any]:
    """The ``--json`` document: scenario, replications, seed, horizon and every metric."""
    rows = result.summary.set_index("metric")

    def block(metrics):
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

    run = result.scenario.run
    return json_safe({
        "scenario": scenario_label,
        "replications": run.replications,
        "seed": result.seed,
        "horizon_days": run.horizon_days,
        "warmup_days": run.warmup_days,
        "metrics": block(METRICS),
        "diagnostics": block(DIAGNOSTICS),
    })


def comparison_document(comparison: Comparison, label_a: str, label_b: str) -> dict[str, Any]:
    """The ``compare --json`` document: both scenarios, run settings, and per metric A, B, B - A, better side."""
    metrics = {}
    for row in comparison.paired.to_dict("records"):
        metrics[row["metric"]] = {
            **{side: {k: row[f"{side}_{k}"] for k in ("mean", "ci_low", "ci_high")} for side in ("a", "b", "diff")},
            "better": row["better"],
            "unit": row["unit"],
            "direction": row["direction"],
        }
    return json_safe({
        "a": label_a,
        "b": label_b,
        "names": {"a": comparison.a.scenario.name, "b": comparison.b.scenario.name},
        "replications": comparison.replications,
        "seed": comparison.seed,
        "horizon_days": comparison.horizon_days,
        "metrics": metrics,
    })


def git_commit(path: Path) -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=path, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


class atomic_folder:
    """Context manager: yields a temporary folder beside ``target``; on success its files go to ``target``.

    A new ``target`` is the temporary folder renamed in one step (all files or none). Into an
    existing one each file is moved with an atomic rename, after removing the old ``last`` and
    with the new ``last`` at the end, so a folder that has ``last`` is complete. On failure or
    interruption the temporary folder is removed, and so are any parent folders made for it.
    """

    def __init__(self, target: str | Path, last: str = "manifest.json"):
        self.target = Path(target)
        self.last = last

    def __enter__(self) -> Path:
        parent = self.target.parent
        self.made: list[Path] = []  # parent folders created here, deepest first
        p = parent.absolute()
        while not p.exists() and p != p.parent:
            self.made.append(p)
            p = p.parent
        parent.mkdir(parents=True, exist_ok=True)
        # mkdir, not mkdtemp: the folder may become ``target`` itself, with the usual permissions
        for _ in range(100):
            tmp = parent / f".{self.target.name or 'out'}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
            try:
                tmp.mkdir()
            except FileExistsError:
                continue
            self.tmp = tmp
            return tmp
        raise FileExistsError(f"cannot make a temporary folder in {parent}")

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                self._commit()
        except BaseException:
            self._remove_made()
            raise
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)
        if exc_type is not None:
            self._remove_made()

    def _commit(self) -> None:
        if not self.target.exists():
            try:
                os.rename(self.tmp, self.target)
                return
            except OSError:
                if not self.target.is_dir():  # not a folder made meanwhile: a real failure
                    raise
        self.target.mkdir(parents=True, exist_ok=True)
        # the previous manifest goes first and the new one comes last: a folder caught between the
        # two has no manifest, rather than an old one describing a mix of old and new files
        (self.target / self.last).unlink(missing_ok=True)
        names = sorted(p.name for p in self.tmp.iterdir())
        names.sort(key=lambda n: n == self.last)
        for name in names:
            dest = self.target / name
            if dest.is_dir() and not dest.is_symlink():
                shutil.rmtree(dest)
            os.replace(self.tmp / name, dest)

    def _remove_made(self) -> None:
        for p in self.made:
            try:
                p.rmdir()
            except OSError:
                break


def write_atomic(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file beside it and one atomic rename: a reader
    sees the previous file or the new one, never part of one."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def file_hashes(files: list[Path] | None) -> dict[str, str]:
    """SHA-256 of each file, by its name as given."""
    return {str(f): hashlib.sha256(Path(f).read_bytes()).hexdigest() for f in files or []}


def _provenance(command: list[str], started: str) -> dict[str, Any]:
    return {
        "package_version": package_version(),
        "git_commit": git_commit(Path(__file__).parent),
        "command": command,
        "written_at": started,
        "pandas": pd.__version__,
    }


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _scenario_yaml(result: RunResult) -> str:
    return yaml.safe_dump(result.scenario.model_dump(mode="json"), sort_keys=False)


def write_run(result: RunResult, out: str | Path, scenario_label: str, command: list[str],
              scenario_files: list[Path] | None = None, extra: Callable[[Path], None] | None = None) -> Path:
    """Write a run's results to ``out`` atomically; returns the folder."""
    out = Path(out)
    started = _now()
    with atomic_folder(out) as tmp:
        result.replications.to_parquet(tmp / "replications.parquet", index=False)
        result.weekly.to_parquet(tmp / "weekly.parquet", index=False)
        result.summary.to_csv(tmp / "summary.csv", index=False)
        (tmp / "summary.json").write_text(json.dumps(summary_document(result, scenario_label), indent=2) + "\n")
        (tmp / "scenario.yaml").write_text(_scenario_yaml(result))
        for rep, frame in result.events.items():
            frame.to_parquet(tmp / f"events-{rep:04d}.parquet", index=False)
        if extra is not None:
            extra(tmp)
        manifest = {
            "kind": "run",
            "scenario": scenario_label,
            "scenario_files_sha256": file_hashes(scenario_files),
            "resolved_scenario_sha256": hashlib.sha256((tmp / "scenario.yaml").read_bytes()).hexdigest(),
            "seed": result.seed,
            "replications": result.scenario.run.replications,
            "horizon_days": result.scenario.run.horizon_days,
            "warmup_days": result.scenario.run.warmup_days,
            **_provenance(command, started),
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return out


def _sided(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One table of both sides' rows, with a leading ``side`` column ("a" or "b")."""
    return pd.concat([f.assign(side=side)[["side", *f.columns]] for side, f in frames.items()], ignore_index=True)


def write_comparison(comparison: Comparison, out: str | Path, labels: tuple[str, str], command: list[str],
                     scenario_files: tuple[list[Path], list[Path]] = ([], []), figures: bool = True) -> Path:
    """Write a comparison's results, resolved scenarios, figures and manifest to ``out`` atomically."""
    out = Path(out)
    started = _now()
    sides = {"a": comparison.a, "b": comparison.b}
    with atomic_folder(out) as tmp:
        _sided({k: r.replications for k, r in sides.items()}).to_parquet(tmp / "replications.parquet", index=False)
        _sided({k: r.weekly for k, r in sides.items()}).to_parquet(tmp / "weekly.parquet", index=False)
        comparison.paired.to_csv(tmp / "comparison.csv", index=False)
        doc = comparison_document(comparison, *labels)
        (tmp / "comparison.json").write_text(json.dumps(doc, indent=2) + "\n")
        for side, result in sides.items():
            (tmp / f"scenario-{side}.yaml").write_text(_scenario_yaml(result))
        written = []
        if figures:
            from careos_sim.plots import save_figures

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
            **_provenance(command, started),
        }
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return out
