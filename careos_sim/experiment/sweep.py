"""Sweeps: every design point of an experiment, replicated, into a resumable results store.

A *run* is one design point and one replication. Replication ``r`` of every point draws from
the streams of (experiment seed, ``r``): common random numbers across points, so differences
between points are mostly the factors'. A run's numbers are a pure function of (point's
scenario, seed, r), which is why they are the same with one worker, many, or a Dask cluster.

The store (``docs/results-store.md``): each finished run is written at once to
``DIR/parts/`` as its own Parquet file (written under a temporary name, then renamed), so a
crash or kill loses only the runs in flight. At the end, and on an interruption, the parts
are merged into ``DIR/runs.parquet`` and ``DIR/weekly.parquet``. ``--resume`` reads what is
there, runs only what is missing (and runs that failed), and never duplicates a row: a run's
key is (point, replication), and a later row for a key replaces an earlier one.

Resume refuses a folder whose sweep had other inputs, and says what changed: the experiment
file, its settings (design, factors, seed, replications, horizon, ``--set``), any scenario file
(the base, its ``extends`` chain, files a level names), the package version, or the resolved
scenario of any design point (each point's scenario is hashed as validated, and kept in
``DIR/scenarios.json`` so a change can be named path by path).
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import re
import time
import traceback
from concurrent.futures import Executor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from careos_sim.experiment.design import Experiment
from careos_sim.interrupts import deferred_signals
from careos_sim.experiment.executor import execute_each
from careos_sim.spec.loader import InputError, InputIssue
from careos_sim.measure.metrics import ALL
from careos_sim.results.folders import check_out_folder, check_writable, folder_kind, write_atomic
from careos_sim.spec.scenario import ScenarioSpec
from careos_sim.text import bounded

__all__ = ["Store", "SweepResult", "DamagedStore", "run_sweep", "load_store", "RUN_KEY"]

RUN_KEY = ["point", "replication"]
METRIC_NAMES = [m.name for m in ALL]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# --------------------------------------------------------------------------- one run (in a worker)


def run_one(point: int, replication: int, scenario: ScenarioSpec, seed: int, weekly: bool,
            extra: Callable[[Any], dict[str, float]] | None = None, *,
            ocel_days: float | None = None) -> dict[str, Any]:
    """Run one design point's replication; never raises: a failure is returned as a record.
    ``extra(result)`` gives more columns for the run's row (a runner built on this one).
    ``ocel_days``: also keep an OCEL 2.0 event log of the first that many days, returned as
    JSON bytes in the record's ``event_log`` (what it covers in ``event_log_summary``)."""
    from careos_sim.model.replication import run_replication

    try:
        result = (run_replication(scenario, seed, replication, ocel_days=ocel_days) if ocel_days is not None
                  else run_replication(scenario, seed, replication))
    except Exception as exc:  # recorded, and the sweep goes on
        tb = traceback.format_exception(type(exc), exc, exc.__traceback__)
        return {"point": point, "replication": replication, "seed": seed, "status": "failed",
                "error": f"{type(exc).__name__}: {exc}\n{''.join(tb[-3:])}".strip(), "metrics": {}, "weekly": []}
    record = {"point": point, "replication": replication, "seed": seed, "status": "ok", "error": "",
              "metrics": result.metrics, "weekly": result.weekly if weekly else []}
    if extra is not None:
        record["extra"] = extra(result)
    if result.ocel is not None:
        record["event_log"] = result.ocel.to_json_bytes()
        record["event_log_summary"] = result.ocel.summary()
    return record


#: where a sweep writes the event log of a design point's replication 0 (``--event-log``)
EVENT_LOGS = "events"
_EVENT_LOG_NAME = re.compile(r"^point-(\d{6})\.ocel\.json$")


def event_log_path(point: int) -> str:
    """The event log of design point ``point``, relative to the sweep folder."""
    return f"{EVENT_LOGS}/point-{point:06d}.ocel.json"


def _with_event_log(runner: Callable[..., dict[str, Any]], ocel_days: float | None, log_only: bool,
                    *job: Any) -> dict[str, Any]:
    """Run ``runner(*job)``, keeping an event log when ``ocel_days`` is given; ``log_only`` marks a
    run made again only for its log (its row is in the store already)."""
    record = runner(*job, ocel_days=ocel_days) if ocel_days is not None else runner(*job)
    record["log_only"] = log_only
    return record


def _event_log_files(out: Path, known: dict[str, Any]) -> dict[str, Any]:
    """The event logs in the sweep folder's ``events/`` by their names (ours: ``point-NNNNNN.ocel.json``),
    with what each covers where it was recorded."""
    folder = out / EVENT_LOGS
    found = sorted(p.name for p in folder.iterdir() if p.is_file() and _EVENT_LOG_NAME.match(p.name)) \
        if folder.is_dir() else []
    return {f"{EVENT_LOGS}/{name}": known.get(f"{EVENT_LOGS}/{name}", {}) for name in found}


# --------------------------------------------------------------------------- the store


def _atomic_parquet(frame: pd.DataFrame, path: Path) -> None:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    write_atomic(path, buffer.getvalue())


def _run_row(record: dict[str, Any], design_row: dict[str, Any]) -> dict[str, Any]:
    metrics = record["metrics"]
    extra = {k: float(v) for k, v in record.get("extra", {}).items()}  # a custom runner's columns
    return {"point": record["point"], "replication": record["replication"], "seed": record["seed"],
            "status": record["status"], "error": record["error"], **design_row,
            **{m: float(metrics.get(m, math.nan)) for m in METRIC_NAMES}, **extra}


def _read_parts(paths: list[Path], prefix: str) -> list[pd.DataFrame]:
    frames = []
    for p in paths:
        if not p.name.startswith(prefix):
            continue
        try:
            frames.append(pd.read_parquet(p))
        except Exception:  # a part is renamed into place whole, so this is damage from outside: its run reruns
            continue
    return frames


class DamagedStore(InputError):
    """A sweep folder whose tables exist but cannot be read."""


def _read_table(path: Path) -> pd.DataFrame:
    """A results table, empty if absent; a :class:`DamagedStore` error naming the file if it cannot be read."""
    if not path.exists():
        return pd.DataFrame()
    try:
        return pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several kinds for a damaged file
        raise DamagedStore([InputIssue(str(path), None, "<file>", f"cannot be read as Parquet: {exc}",
                                     str(path))]) from None


def _dedupe(frames: list[pd.DataFrame], key: list[str]) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame()
    out = pd.concat(frames, ignore_index=True)
    return out.drop_duplicates(key, keep="last").sort_values(key, kind="stable").reset_index(drop=True)


@dataclass
class Store:
    """A sweep's results folder, read back: never re-runs anything, never raises on a partial sweep."""

    folder: Path
    manifest: dict[str, Any]
    design: pd.DataFrame
    runs: pd.DataFrame
    weekly: pd.DataFrame
    missing: pd.DataFrame
    complete: bool

    @property
    def ok(self) -> pd.DataFrame:
        """Runs that finished without error."""
        return self.runs[self.runs["status"] == "ok"] if len(self.runs) else self.runs

    @property
    def failed(self) -> pd.DataFrame:
        return self.runs[self.runs["status"] == "failed"] if len(self.runs) else self.runs

    @property
    def factors(self) -> list[str]:
        return [f["name"] for f in self.manifest.get("factors", [])]


def load_store(folder: str | Path) -> Store:
    """Read a sweep's results folder (merged tables plus any parts not yet merged)."""
    folder = Path(folder)
    manifest_path = folder / "manifest.json"
    if not folder.is_dir():
        raise InputError([InputIssue(str(folder), None, "<folder>", "results folder not found", str(folder))])
    try:
        manifest = json.loads(manifest_path.read_text())
    except FileNotFoundError:
        raise InputError([InputIssue(str(manifest_path), None, "<file>", "not a results folder: no manifest.json",
                                     str(folder))]) from None
    except (OSError, ValueError) as exc:
        raise InputError([InputIssue(str(manifest_path), None, "<file>", f"cannot be read: {exc}",
                                     str(manifest_path))]) from None
    if manifest.get("kind") != "sweep":
        raise InputError([InputIssue(str(manifest_path), None, "kind", "not a sweep's results folder",
                                     manifest.get("kind"))])
    design = _read_table(folder / "design.parquet")
    runs, weekly, _ = _tables(folder)
    reps = int(manifest.get("replications", 0))
    points = design["point"].tolist() if len(design) else []
    expected = pd.DataFrame([(p, r) for p in points for r in range(reps)], columns=RUN_KEY)
    done = runs[RUN_KEY] if len(runs) else pd.DataFrame(columns=RUN_KEY)
    missing = expected.merge(done, on=RUN_KEY, how="left", indicator=True)
    missing = missing.loc[missing["_merge"] == "left_only", RUN_KEY].reset_index(drop=True)
    return Store(folder, manifest, design, runs, weekly, missing, complete=len(missing) == 0 and len(expected) > 0)


def _tables(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame, list[Path]]:
    """Runs and weekly rows of the merged tables plus the parts not yet merged (a later row for a
    key replaces an earlier one), and the part files read."""
    # only our names: a file of anyone else's in parts/ is neither read nor removed
    parts = sorted(p for pattern in ("run-*.parquet", "weekly-*.parquet")
                   for p in (folder / "parts").glob(pattern)) if (folder / "parts").is_dir() else []
    runs = _dedupe([_read_table(folder / "runs.parquet"), *_read_parts(parts, "run-")], RUN_KEY)
    weekly = _dedupe([_read_table(folder / "weekly.parquet"), *_read_parts(parts, "weekly-")],
                     [*RUN_KEY, "week"])
    if len(runs) and len(weekly):  # weeks of a run that later failed on resume, or of a run not in runs
        weekly = weekly.merge(runs.loc[runs["status"] == "ok", RUN_KEY], on=RUN_KEY, how="inner")
    return runs, weekly, parts


def _merge_parts(folder: Path) -> None:
    """Fold the parts into runs.parquet and weekly.parquet, then remove the parts merged."""
    runs, weekly, parts = _tables(folder)
    if not parts:
        return
    # weekly first: a crash between the two leaves the parts, which the next merge reads again
    if len(weekly) or (folder / "weekly.parquet").exists():
        _atomic_parquet(weekly, folder / "weekly.parquet")
    _atomic_parquet(runs, folder / "runs.parquet")
    for p in parts:
        p.unlink(missing_ok=True)


# --------------------------------------------------------------------------- running


@dataclass
class SweepResult:
    """What a call to :func:`run_sweep` did."""

    folder: Path
    runs_total: int
    ran: int
    skipped: int
    failed: int
    interrupted: bool = False
    failures: list[str] = field(default_factory=list)


def _scenario_docs(exp: Experiment) -> tuple[list[str], dict[str, Any]]:
    """Each point's resolved scenario: its SHA-256 (of canonical JSON), and the scenarios by hash."""
    shas, docs = [], {}
    seen: dict[int, str] = {}
    for scenario in exp.scenarios:
        if id(scenario) not in seen:  # points with the same settings share one Scenario
            doc = scenario.model_dump(mode="json")
            sha = hashlib.sha256(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
            seen[id(scenario)] = sha
            docs[sha] = doc
        shas.append(seen[id(scenario)])
    return shas, docs


def _digest(shas: list[str]) -> str:
    return hashlib.sha256("\n".join(shas).encode()).hexdigest()


def _manifest(exp: Experiment, command: list[str], scheduler: str, workers: int | None,
              point_shas: list[str]) -> dict[str, Any]:
    from careos_sim.results.folders import environment, python_call

    return {
        "kind": "sweep",
        "experiment": exp.name,
        "description": exp.spec.description,
        "experiment_file": str(exp.file),
        "experiment_sha256": exp.file_hashes()[str(exp.file)],
        "scenario_files_sha256": {k: v for k, v in exp.file_hashes().items() if k != str(exp.file)},
        # the same by absolute path: a resume from another working folder compares the same files
        "scenario_files_resolved_sha256": {str(Path(k).resolve()): v for k, v in exp.file_hashes().items()
                                           if k != str(exp.file)},
        "resolved_scenarios_sha256": _digest(point_shas),
        "signature": exp.signature(),
        "design": exp.spec.design.model_dump(mode="json"),
        "resolution": exp.resolution,
        "aliases": exp.aliases,
        "factors": exp.factor_records(),
        "metrics": exp.metrics,
        "sets": exp.sets,
        "seed": exp.seed,
        "replications": exp.replications,
        "horizon_days": exp.horizon_days,
        "warmup_days": exp.warmup_days,
        "points": len(exp.design),
        "runs_total": len(exp.design) * exp.replications,
        "runs_done": 0,
        "runs_failed": 0,
        "complete": False,
        "started_at": _now(),
        "finished_at": None,
        "command": command,
        # with no command (called from Python), how to repeat it
        "python_call": None if command else python_call(
            "careos_sim.experiment.sweep.run_sweep", _experiment_call(exp), "<out>", workers=workers) + f"  # experiment {exp.name!r}",
        "wall_seconds": None,  # of the latest session (set when it stops); wall_seconds_total: of every session
        **environment(),
        "scheduler": scheduler,
        "workers": workers,
    }


def _experiment_call(exp: Experiment) -> str:
    """The Python expression that builds ``exp`` again: from its file, or (made from a dict) from
    the copy a sweep keeps as ``experiment.yaml`` with the folder its paths start from."""
    base_dir = getattr(exp, "from_dict_base_dir", None)
    if base_dir is None:
        return f"careos_sim.experiment.design.load_experiment({str(exp.file)!r})"
    return (f"careos_sim.experiment.design.experiment_from_dict(yaml.safe_load(open(<out>/experiment.yaml)), "
            f"base_dir={str(base_dir)!r})")


def check_sweep_folder(out: str | Path, resume: bool) -> None:
    """Refuse (:class:`InputError`) a folder a sweep must not start (or, with ``resume``, resume) in."""
    out = Path(out)
    if not resume:
        check_out_folder(out, "sweep")
        if folder_kind(out) == "sweep":
            raise InputError([InputIssue("--out", None, "out", "folder holds a sweep already; pass --resume to "
                                         "complete it, or choose another --out", bounded(out))])
        return
    if os.path.lexists(out) and not out.is_dir():
        raise InputError([InputIssue("--out", None, "out", "exists and is not a folder", bounded(out))])
    kind = folder_kind(out) if out.is_dir() else None
    if kind is None:
        raise InputError([InputIssue("--resume", None, "out", "nothing to resume: no sweep in this folder",
                                     bounded(out))])
    if kind != "sweep":
        what = "a manifest.json careos-sim did not write or cannot read" if kind == "?" else f"a {kind}'s results"
        raise InputError([InputIssue("--resume", None, "out", f"nothing to resume: the folder holds {what}, "
                                     "not a sweep", bounded(out))])
    check_writable(out, "--out", str(out))


def _flat(doc: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(doc, dict) and doc:
        out: dict[str, Any] = {}
        for k, v in doc.items():
            out.update(_flat(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: doc}


def _show(value: Any) -> str:
    return bounded(json.dumps(value, default=str), 60)


def scenario_changes(old: dict[str, Any], new: dict[str, Any], limit: int = 3) -> str:
    """What differs between two resolved scenarios, as ``path old -> new`` (at most ``limit`` of them)."""
    a, b = _flat(old), _flat(new)
    keys = sorted(k for k in a.keys() | b.keys() if a.get(k, "<absent>") != b.get(k, "<absent>"))
    shown = [f"{k} {_show(a[k]) if k in a else '(absent)'} -> {_show(b[k]) if k in b else '(absent)'}"
             for k in keys[:limit]]
    more = f" and {len(keys) - limit} more" if len(keys) > limit else ""
    return ", ".join(shown) + more if shown else "(no difference in the values)"


_SETTINGS = ("experiment", "description", "design", "factors", "metrics", "sets", "seed", "replications",
             "horizon_days", "warmup_days", "points", "package_version")


def _resume_changes(out: Path, existing: dict[str, Any], manifest: dict[str, Any], point_shas: list[str],
                    docs: dict[str, Any]) -> list[str]:
    """What differs between the sweep in ``out`` and the one asked for, in words; empty if nothing."""
    changes = []
    if existing.get("experiment_sha256") != manifest["experiment_sha256"]:
        changes.append(f"the experiment file {manifest['experiment_file']} changed since the sweep started")
    for key in _SETTINGS:
        if key in existing and existing.get(key) != manifest.get(key):
            changes.append(f"{key}: {_show(existing.get(key))} -> {_show(manifest.get(key))}")
    if len(changes) == 1 and changes[0].startswith("the experiment file"):
        changes[0] += " (no setting of it differs: a comment or layout edit? restore the file to resume)"
    key = "scenario_files_resolved_sha256" if "scenario_files_resolved_sha256" in existing else "scenario_files_sha256"
    old_files, new_files = existing.get(key) or {}, manifest[key]
    shown = dict(zip(manifest["scenario_files_resolved_sha256"], manifest["scenario_files_sha256"]))
    for f in sorted(old_files.keys() | new_files.keys()):
        name = shown.get(f, f)
        if f not in new_files:
            changes.append(f"scenario file {name} no longer sets any value of the scenarios")
        elif f not in old_files:
            changes.append(f"scenario file {name} sets values of the scenarios now and did not before")
        elif old_files[f] != new_files[f]:
            changes.append(f"scenario file {name} changed since the sweep started")
    if "resolved_scenarios_sha256" in existing and existing["resolved_scenarios_sha256"] != _digest(point_shas):
        try:
            stored = json.loads((out / "scenarios.json").read_text())
            old_shas, old_docs = stored["points"], stored["scenarios"]
        except (OSError, ValueError, KeyError, TypeError):
            changes.append("the design points' resolved scenarios differ (scenarios.json is missing or damaged, "
                           "so which cannot be said)")
            return changes
        differ = [p for p in range(max(len(old_shas), len(point_shas)))
                  if p >= len(old_shas) or p >= len(point_shas) or old_shas[p] != point_shas[p]]
        described = {}
        for p in differ:
            if p >= len(old_shas) or p >= len(point_shas):
                described[p] = "the point is new" if p >= len(old_shas) else "the point is gone"
            else:
                described[p] = scenario_changes(old_docs.get(old_shas[p], {}), docs[point_shas[p]])
        texts = set(described.values())
        if len(differ) > 1 and len(texts) == 1:  # e.g. a base-scenario edit: every point alike
            which = "every design point's" if len(differ) == len(point_shas) else \
                f"{len(differ)} design points' ({_points(differ)})"
            changes.append(f"{which} scenario differs: {texts.pop()}")
        else:
            for p in differ[:5]:
                changes.append(f"design point {p}'s scenario differs: {described[p]}")
            if len(differ) > 5:
                changes.append(f"... and {len(differ) - 5} more design points ({_points(differ[5:])})")
    return changes


def _points(points: list[int]) -> str:
    text = ", ".join(map(str, points[:10]))
    return text + (", ..." if len(points) > 10 else "")


_TEMPORARY = re.compile(r"^\.(?:run|weekly)-\d+-\d+\.parquet\.tmp-(\d+)-[0-9a-f]+$")
_TEMPORARY_LOG = re.compile(r"^\.point-\d{6}\.ocel\.json\.tmp-(\d+)-[0-9a-f]+$")


def _remove_dead_temporaries(parts: Path, pattern: re.Pattern = _TEMPORARY) -> None:
    """Temporary part files (write_atomic's) left by a sweep that was killed: those whose process is gone."""
    from careos_sim.results.folders import _pid_alive

    for p in parts.iterdir():
        m = pattern.match(p.name)
        if m and p.is_file() and not _pid_alive(int(m.group(1))):  # alive: another sweep writing here
            p.unlink(missing_ok=True)


def _prepare(exp: Experiment, out: Path, resume: bool, manifest: dict[str, Any],
             scenarios: tuple[list[str], dict[str, Any]]) -> dict[str, Any]:
    """Make or check the folder; returns the manifest to keep."""
    path = out / "manifest.json"
    check_sweep_folder(out, resume)
    if resume:
        existing = json.loads(path.read_text())
        changes = _resume_changes(out, existing, manifest, *scenarios)
        if changes:
            raise InputError([InputIssue(str(out), None, "--resume", "the sweep in this folder was run with other "
                                         "inputs; undo the change to resume it, or sweep into another --out",
                                         has_value=False),
                              *[InputIssue(str(out), None, "--resume", c, has_value=False) for c in changes[:12]],
                              *([InputIssue(str(out), None, "--resume", f"... and {len(changes) - 12} more changes",
                                            has_value=False)] if len(changes) > 12 else [])])
        manifest = {**manifest, "started_at": existing.get("started_at", manifest["started_at"]),
                    "resumed_at": [*existing.get("resumed_at", []), _now()],
                    "wall_seconds_total": existing.get("wall_seconds_total", existing.get("wall_seconds"))}
    out.mkdir(parents=True, exist_ok=True)
    # the manifest first: a folder stopped while being set up is still known as a sweep, and resumable
    write_atomic(path, (json.dumps(manifest, indent=2) + "\n").encode())
    (out / "parts").mkdir(exist_ok=True)
    _remove_dead_temporaries(out / "parts")
    _atomic_parquet(exp.design, out / "design.parquet")
    if not (out / "experiment.yaml").exists():
        write_atomic(out / "experiment.yaml", Path(exp.file).read_bytes())
    shas, docs = scenarios
    write_atomic(out / "scenarios.json", (json.dumps({"points": shas, "scenarios": docs}) + "\n").encode())
    return manifest


def run_sweep(exp: Experiment, out: str | Path, *, resume: bool = False, workers: int | None = None,
              executor: Executor | None = None, scheduler: str = "local", command: list[str] | None = None,
              progress: Callable[[int, int], None] | None = None, stop_after: int | None = None,
              runner: Callable[..., dict[str, Any]] = run_one, event_log_days: float | None = None) -> SweepResult:
    """Run every (point, replication) of ``exp`` not yet in ``out``, saving each as it finishes.

    ``workers``: local processes (None: every core; 1: in this process). ``executor``: any
    ``concurrent.futures.Executor`` instead (a Dask ``client.get_executor()`` for a cluster).
    ``progress(done, failed)`` is called once with the runs kept from before (on resume), then
    after each run. ``stop_after`` stops cleanly after that
    many runs (as an interruption would; for tests and pilots). ``runner``: the function run per
    job (a module-level function with :func:`run_one`'s signature and record; a record's
    ``extra`` mapping becomes more columns of ``runs.parquet``, as calibration's per-year metrics).
    ``event_log_days``: write an OCEL 2.0 event log of the first that many days of each design
    point's replication 0 to ``events/point-NNNNNN.ocel.json`` (the runner takes ``ocel_days``);
    on resume, a point whose replication 0 ran before without one runs it again for its log.
    """
    started = time.perf_counter()
    out = Path(out)
    scenarios = _scenario_docs(exp)
    fresh = _manifest(exp, command or [], scheduler, workers, scenarios[0])
    logs_known: dict[str, Any] = {}
    if resume and folder_kind(out) == "sweep":  # the event logs written before are kept, and listed
        if os.path.lexists(out / EVENT_LOGS) and not (out / EVENT_LOGS).is_dir():
            raise InputError([InputIssue("--event-log", None, "out", f"{EVENT_LOGS} in the sweep folder is not a "
                                         "folder; move it, then resume", bounded(out / EVENT_LOGS))])
        try:
            listed = json.loads((out / "manifest.json").read_text()).get("event_logs") or {}
            logs_known = {k: v for k, v in listed.items() if isinstance(k, str)} if isinstance(listed, dict) else {}
        except (OSError, ValueError, AttributeError):
            pass
        logs_known = _event_log_files(out, logs_known)
        if (out / EVENT_LOGS).is_dir():
            _remove_dead_temporaries(out / EVENT_LOGS, _TEMPORARY_LOG)
    fresh["event_log_days"] = event_log_days
    fresh["event_logs"] = logs_known
    if fresh["python_call"] is not None:
        fresh["python_call"] = (fresh["python_call"].replace("<out>/experiment.yaml", repr(str(out / "experiment.yaml")))
                                .replace("<out>", repr(str(out))))
    manifest = _prepare(exp, out, resume, fresh, scenarios)
    store = load_store(out)
    done = set()
    if len(store.runs):
        ok = store.runs[store.runs["status"] == "ok"]
        done = set(zip(ok["point"].tolist(), ok["replication"].tolist()))
    todo = [(p, r) for p in range(len(exp.design)) for r in range(exp.replications) if (p, r) not in done]
    design_rows = exp.design.drop(columns="point").to_dict("records")
    result = SweepResult(out, len(exp.design) * exp.replications, 0, len(done), 0)
    tick = progress or (lambda done, failed: None)
    if done:
        tick(len(done), 0)  # kept from before: counted as done
    weekly = exp.spec.weekly

    def save(rec: dict[str, Any]) -> None:
        with deferred_signals():  # a stop signal waits until this run is saved whole
            _save(rec)

    def _save(rec: dict[str, Any]) -> None:
        p, r = rec["point"], rec["replication"]
        if rec.get("event_log") is not None:
            (out / EVENT_LOGS).mkdir(exist_ok=True)
            write_atomic(out / event_log_path(p), rec["event_log"])
            logs_known[event_log_path(p)] = rec.get("event_log_summary", {})
        if rec.get("log_only"):  # its row is in the store already: only its log was wanted
            return
        if rec["weekly"]:
            wk = pd.DataFrame(rec["weekly"])
            wk.insert(0, "replication", r)
            wk.insert(0, "point", p)
            _atomic_parquet(wk, out / "parts" / f"weekly-{p:06d}-{r:04d}.parquet")
        _atomic_parquet(pd.DataFrame([_run_row(rec, design_rows[p])]), out / "parts" / f"run-{p:06d}-{r:04d}.parquet")
        result.ran += 1
        if rec["status"] != "ok":
            result.failed += 1
            result.failures.append(f"point {p} replication {r}: {rec['error'].splitlines()[0]}")
        tick(1, 1 if rec["status"] != "ok" else 0)

    jobs: list[tuple] = [(p, r, exp.scenarios[p], exp.seed, weekly) for p, r in todo]
    run_fn = runner
    if event_log_days is not None:  # replication 0 of each point keeps its log; points run before rerun for it
        again = [p for p in range(len(exp.design)) if (p, 0) in done and event_log_path(p) not in logs_known]
        jobs = [(runner, event_log_days if job[1] == 0 else None, False, *job) for job in jobs] + \
               [(runner, event_log_days, True, p, 0, exp.scenarios[p], exp.seed, False) for p in again]
        run_fn = _with_event_log
    if stop_after is not None:
        jobs = jobs[:stop_after]
    try:
        execute_each(run_fn, jobs, save, workers, executor)
        result.interrupted = stop_after is not None and len(jobs) < len(todo)
    except KeyboardInterrupt:
        result.interrupted = True
        raise
    finally:
        _merge_parts(out)
        final = load_store(out)
        manifest.update(runs_done=int((final.runs["status"] == "ok").sum()) if len(final.runs) else 0,
                        runs_failed=int((final.runs["status"] == "failed").sum()) if len(final.runs) else 0,
                        complete=bool(final.complete), finished_at=_now() if final.complete else None,
                        last_stopped_at=_now(), wall_seconds=round(time.perf_counter() - started, 3),
                        wall_seconds_total=round(float(manifest.get("wall_seconds_total") or 0.0)
                                                 + time.perf_counter() - started, 3),
                        event_logs=_event_log_files(out, logs_known))
        write_atomic(out / "manifest.json", (json.dumps(manifest, indent=2) + "\n").encode())
        try:
            (out / "parts").rmdir()
        except OSError:
            pass
    return result


# --------------------------------------------------------------------------- command line


_NAME_OK = re.compile(r"^[^/\\\x00-\x1f\x7f]{1,100}$")


def default_out(exp: Experiment, root: Path = Path("results")) -> Path:
    """``results/<experiment name>``; an :class:`InputError` for a name that is not one plain folder name
    there (a path such as ``../x`` or ``/tmp/x``, control characters, over 100 characters)."""
    name = exp.name
    folder = root / name
    ok = bool(_NAME_OK.match(name)) and name not in (".", "..") and not name.startswith("~") and \
        not Path(name).is_absolute() and Path(name).name == name
    if ok:
        try:
            ok = folder.resolve().parent == root.resolve()  # a symlink out of results/ counts as outside
        except (OSError, RuntimeError):
            ok = False
    if not ok:
        line = None
        try:
            for i, text in enumerate(Path(exp.file).read_text().splitlines(), 1):
                if re.match(r"name\s*:", text):
                    line = i
                    break
        except (OSError, UnicodeDecodeError):
            pass
        raise InputError([InputIssue(str(exp.file), line, "name", f"the default results folder {root}/<name> needs "
                                     "a name that is one plain folder name (no '/', '\\', '..', control characters; "
                                     "at most 100 characters); rename the experiment or pass --out", bounded(name))])
    return folder
