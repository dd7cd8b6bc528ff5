"""Running a calibration: waves of parameter sets into resumable sweep stores, then the plausible
sets, the chosen point, its confirmation runs and the output files (``docs/calibration.md``).

Layout of ``OUT/``: ``wave-1/``, ``wave-2/``, ... and ``confirm/`` (each a sweep store,
``docs/results-store.md``, whose runs carry per-year metrics ``y{year}.{metric}``), then
``plausible.parquet``, ``targets.csv``, ``targets.md``, ``chosen.yaml`` and ``manifest.json``.
"""

from __future__ import annotations

import hashlib
import json
import math
import shutil
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
from pydantic import BaseModel

from careos_sim.experiment.calibrate import method as hm
from careos_sim.experiment.calibrate.outputs import targets_table, write_outputs
from careos_sim.experiment.calibrate.spec import Calibration
from careos_sim.experiment.design import Experiment
from careos_sim.spec.loader import InputError, InputIssue
from careos_sim.results.folders import environment, write_atomic
from careos_sim.spec.scenario import ScenarioSpec
from careos_sim.experiment.sweep import load_store, run_one, run_sweep

__all__ = ["calibrate", "CalibrationResult", "WaveRecord", "run_with_years", "set_outputs"]

Progress = Callable[[str, int], Callable[[int, int], None]]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# --------------------------------------------------------------------------- one run (in a worker)


def run_with_years(point: int, replication: int, scenario: ScenarioSpec, seed: int, weekly: bool) -> dict[str, Any]:
    """:func:`careos_sim.experiment.sweep.run_one`, plus each year's metrics as ``extra`` columns ``y{year}.{metric}``."""
    return run_one(point, replication, scenario, seed, weekly, extra=_year_columns)


def _year_columns(result: Any) -> dict[str, float]:
    return {f"y{int(y['year'])}.{k}": float(v) for y in result.yearly for k, v in y.items() if k != "year"}


# --------------------------------------------------------------------------- a wave as an experiment


class _WaveDesign(BaseModel):
    type: str = "history_matching"
    stage: str
    sets: int
    sides: list[str]


class _WaveSpec(BaseModel):
    """What :func:`careos_sim.experiment.sweep.run_sweep` reads of an experiment's spec."""

    description: str
    design: _WaveDesign
    metrics: list[str]
    weekly: bool = False


@dataclass
class _Wave(Experiment):
    """One wave (or the confirmation) as a sweep: design points = (parameter set, side)."""

    parameters: list = field(default_factory=list)

    def factor_records(self) -> list[dict[str, Any]]:
        return [*({"name": p.path, "path": p.path, "kind": "numeric", "low": p.low, "high": p.high, "unit": ""}
                  for p in self.parameters),
                {"name": "side", "path": None, "kind": "bundle", "levels": list(self.spec.design.sides), "unit": ""}]

    def signature(self) -> str:
        """The targets file, run settings and the points themselves: a wave re-derived differently cannot resume."""
        h = hashlib.sha256(self.file.read_bytes())
        h.update(repr((self.seed, self.replications, self.horizon_days, self.warmup_days)).encode())
        h.update(self.design.to_csv(index=False, float_format="%.17g").encode())
        return h.hexdigest()


def _wave_experiment(cal: Calibration, stage: str, values: np.ndarray, replications: int) -> _Wave:
    """Design points (set, side) for parameter sets ``values`` (sets x parameters, model units)."""
    rows, scenarios = [], []
    for s, row in enumerate(values):
        v = {p.path: float(x) for p, x in zip(cal.parameters, row)}
        for side in cal.sides:
            scenarios.append(cal.scenario(side, v, f"{stage} parameter set {s}"))
            rows.append({"set": s, "side": side, **{p.path: (v[p.path] if side in p.sides else math.nan)
                                                    for p in cal.parameters}})
    design = pd.DataFrame(rows)
    design.insert(0, "point", range(len(design)))
    if replications != cal.replications:
        scenarios = [sc.model_copy(update={"run": sc.run.model_copy(update={"replications": replications})})
                     for sc in scenarios]
    spec = _WaveSpec(description=f"{cal.name}: {stage}", metrics=sorted({t.metric for t in cal.targets}),
                     design=_WaveDesign(stage=stage, sets=len(values), sides=cal.sides))
    return _Wave(spec=spec, file=cal.file, name=f"{cal.name}-{stage}", design=design,  # type: ignore[arg-type]
                 scenarios=scenarios, seed=cal.seed, replications=replications, horizon_days=cal.horizon_days,
                 warmup_days=cal.warmup_days, scenario_files=sorted({f for fs in cal.side_files.values() for f in fs}),
                 parameters=cal.parameters)


# --------------------------------------------------------------------------- outputs of parameter sets


def set_outputs(cal: Calibration, runs: pd.DataFrame, sets: pd.DataFrame) -> tuple[np.ndarray, np.ndarray,
                                                                                    np.ndarray]:
    """Each set's output of each target (mean over replications, or a ratio of means), the variance
    of that estimate over replications, and the number of replications used; rows follow ``sets``
    (columns ``wave``, ``set``), columns follow ``cal.targets``."""
    n, m = len(sets), len(cal.targets)
    mean, var, count = np.full((n, m), np.nan), np.full((n, m), np.nan), np.zeros((n, m), dtype=int)
    if not len(runs):
        return mean, var, count
    ok = runs[runs["status"] == "ok"]
    index = {key: i for i, key in enumerate(zip(sets["wave"], sets["set"]))}
    for j, t in enumerate(cal.targets):
        cols = [c for c in t.column() if c in ok.columns]
        value = ok[cols].mean(axis=1, skipna=False) if len(cols) == len(t.column()) else pd.Series(
            np.nan, index=ok.index)
        frame = pd.DataFrame({"wave": ok["wave"], "set": ok["set"], "side": ok["side"],
                              "replication": ok["replication"], "v": value})
        wide = frame.pivot_table(index=["wave", "set", "replication"], columns="side", values="v", dropna=False,
                                 aggfunc="first")
        for (w, s), block in wide.groupby(level=["wave", "set"]):
            i = index.get((w, s))
            if i is None:
                continue
            if t.ratio:
                a = block[t.ratio[0]].to_numpy() if t.ratio[0] in block else np.array([])
                b = block[t.ratio[1]].to_numpy() if t.ratio[1] in block else np.array([])
                mean[i, j], var[i, j], count[i, j] = hm.ratio_of_means(a, b)
            else:
                x = block[t.side].to_numpy() if t.side in block else np.array([])
                mean[i, j], var[i, j], count[i, j] = hm.mean_of(x)
    return mean, var, count


def _bands(cal: Calibration) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    low = np.array([t.low for t in cal.targets])
    high = np.array([t.high for t in cal.targets])
    z = (low + high) / 2
    var_obs = ((high - low) / 4) ** 2  # the band read as +-2 sd of the observation
    return low, high, z, var_obs


def _scaled(cal: Calibration, values: np.ndarray) -> np.ndarray:
    lo = np.array([p.low for p in cal.parameters])
    hi = np.array([p.high for p in cal.parameters])
    return (values - lo) / (hi - lo)


def _unscaled(cal: Calibration, x: np.ndarray) -> np.ndarray:
    lo = np.array([p.low for p in cal.parameters])
    hi = np.array([p.high for p in cal.parameters])
    v = lo + x * (hi - lo)
    for j, p in enumerate(cal.parameters):
        if p.integer:
            v[:, j] = np.round(v[:, j])
    return v


# --------------------------------------------------------------------------- results


@dataclass
class WaveRecord:
    """What one wave did: its sets and runs, and how much of the box its emulators left."""

    wave: int
    sets: int
    runs: int
    folder: str
    candidates_tested: int = 0
    non_implausible: int = 0
    emulators: dict[str, str] = field(default_factory=dict)
    note: str = ""

    @property
    def fraction(self) -> float | None:
        return self.non_implausible / self.candidates_tested if self.candidates_tested else None

    def record(self) -> dict[str, Any]:
        return {"wave": self.wave, "sets": self.sets, "runs": self.runs, "folder": self.folder,
                "candidates_tested": self.candidates_tested, "non_implausible": self.non_implausible,
                "non_implausible_fraction": self.fraction, "emulators": self.emulators, "note": self.note}


@dataclass
class CalibrationResult:
    """What :func:`calibrate` did and found."""

    folder: Path
    outcome: str = "incomplete"  # plausible | none_plausible | incomplete
    message: str = ""
    waves: list[WaveRecord] = field(default_factory=list)
    sets: pd.DataFrame = field(default_factory=pd.DataFrame)  # plausible.parquet
    chosen: dict[str, dict[str, float]] = field(default_factory=dict)  # side -> dotted path -> value
    chosen_set: dict[str, Any] = field(default_factory=dict)
    targets: pd.DataFrame = field(default_factory=pd.DataFrame)  # targets.csv
    runs_used: int = 0
    ran: int = 0
    kept: int = 0
    failed: int = 0
    interrupted: bool = False
    failures: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- the waves


def _prepare(cal: Calibration, out: Path, resume: bool, manifest: dict[str, Any]) -> dict[str, Any]:
    path = out / "manifest.json"
    if out.exists() and not out.is_dir():
        raise InputError([InputIssue("--out", None, "out", "exists and is not a folder", str(out))])
    if resume:
        try:
            existing = json.loads(path.read_text())
        except (OSError, ValueError):
            raise InputError([InputIssue("--resume", None, "out", "nothing to resume: no calibration in this folder",
                                         str(out))]) from None
        if existing.get("kind") != "calibration" or existing.get("signature") != manifest["signature"]:
            raise InputError([InputIssue("--resume", None, "out", "the folder holds a different calibration (the "
                                         "targets file, a scenario or --replications differ); resume with the same "
                                         "ones, or use another --out", str(out))])
        manifest = {**manifest, "started_at": existing.get("started_at", manifest["started_at"]),
                    "resumed_at": [*existing.get("resumed_at", []), _now()],
                    "wall_seconds_total": existing.get("wall_seconds_total")}
    elif out.is_dir() and any(not p.name.startswith(".") for p in out.iterdir()):
        raise InputError([InputIssue("--out", None, "out", "folder is not empty; pass --resume to complete the "
                                     "calibration in it, or choose another --out", str(out))])
    out.mkdir(parents=True, exist_ok=True)
    _write_json(path, manifest)
    return manifest


def _write_json(path: Path, doc: dict[str, Any]) -> None:
    from careos_sim.results.folders import json_safe

    write_atomic(path, (json.dumps(json_safe(doc), indent=2) + "\n").encode())


def _manifest(cal: Calibration, command: list[str], scheduler: str, workers: int | None) -> dict[str, Any]:
    from careos_sim.results.folders import file_hashes

    return {
        "kind": "calibration",
        "name": cal.name,
        "description": cal.spec.description,
        "targets_file": str(cal.file),
        "targets_sha256": file_hashes([cal.file])[str(cal.file)],
        "scenario_files_sha256": {side: file_hashes(files) for side, files in cal.side_files.items()},
        "sides": {side: cal.spec.sides[side] for side in cal.sides},
        "signature": cal.signature(),
        "method": cal.method.model_dump(mode="json"),
        "parameters": [{"path": p.path, "low": p.low, "high": p.high, "sides": list(p.sides), "integer": p.integer}
                       for p in cal.parameters],
        "targets": [{"name": t.name, "metric": t.metric, "side": t.side, "ratio": list(t.ratio) if t.ratio else None,
                     "years": list(t.years), "low": t.low, "high": t.high} for t in cal.targets],
        "seed": cal.seed,
        "replications": cal.replications,
        "confirm_replications": cal.confirm_replications,
        "horizon_days": cal.horizon_days,
        "warmup_days": cal.warmup_days,
        "budget": cal.budget,
        "runs_budgeted": cal.runs_needed(),
        "runs_used": 0,
        "waves": [],
        "outcome": "incomplete",
        "message": "",
        "chosen": None,
        "complete": False,
        "started_at": _now(),
        "finished_at": None,
        "command": command,
        # with no command (called from Python), how to repeat it
        "python_call": None if command else (f"careos_sim.experiment.calibrate.run.calibrate(<targets {str(cal.file)!r}>, "
                                             f"<out>, workers={workers!r})"),
        "wall_seconds": None,  # of the latest session (set when it stops); wall_seconds_total: of every session
        **environment(),
        "scheduler": scheduler,
        "workers": workers,
    }


def _stored_runs(folder: Path, wave: int) -> pd.DataFrame:
    store = load_store(folder)
    runs = store.runs.copy()
    if len(runs):
        runs.insert(0, "wave", wave)
    return runs


def _alive(cand: np.ndarray, history: list[list[hm.Emulator]], z: np.ndarray, var_obs: np.ndarray,
           var_sim: np.ndarray, m) -> np.ndarray:
    """Which candidates are non-implausible under every wave's emulators (each tested only while alive)."""
    alive = np.ones(len(cand), dtype=bool)
    for ems in history:
        if not alive.any():
            break
        idx = np.flatnonzero(alive)
        mu = np.empty((len(idx), len(ems)))
        ve = np.empty_like(mu)
        for j, e in enumerate(ems):
            if e.gp is None:  # too few finite outputs to emulate: this target does not constrain
                mu[:, j], ve[:, j] = z[j], 0.0
            else:
                mu[:, j], ve[:, j] = e.predict(cand[idx])
        i = hm.implausibility(z, var_obs, mu, ve, var_sim)
        alive[idx] = hm.combine(i, m.implausibility) < m.cutoff
    return alive


def _next_points(cal: Calibration, wave: int, history: list[list[hm.Emulator]], sets: pd.DataFrame,
                 runs: pd.DataFrame, record: WaveRecord) -> np.ndarray:
    """Parameter sets of ``wave`` (>= 2): non-implausible candidates under the emulators of every wave
    so far, the latest fitted on all runs of earlier waves; spread out by maximin."""
    k = len(cal.parameters)
    x = _scaled(cal, sets[[p.path for p in cal.parameters]].to_numpy(dtype=float))
    mean, var_sim, _ = set_outputs(cal, runs, sets)
    emulators = hm.fit_emulators(x, mean, hm.sub_seed(cal.seed, wave, 1))
    history.append(emulators)
    record.emulators = {t.name: e.kernel for t, e in zip(cal.targets, emulators)}
    _, _, z, var_obs = _bands(cal)
    # a candidate has not been simulated: its Var_sim is the median over the sets simulated so far
    pooled = np.array([np.nanmedian(var_sim[:, j]) if np.isfinite(var_sim[:, j]).any() else 0.0
                       for j in range(len(cal.targets))])
    rng = np.random.default_rng(hm.sub_seed(cal.seed, wave, 2))
    m = cal.method
    keep: list[np.ndarray] = []
    tested = 0
    want = 10 * m.runs_per_wave
    for _ in range(10):  # batches of candidates until enough pass, or 10 batches
        cand = rng.random((m.candidates, k))
        with hm.single_threaded():
            alive = _alive(cand, history, z, var_obs, pooled, m)
        tested += len(cand)
        keep.append(cand[alive])
        if sum(len(c) for c in keep) >= want:
            break
    passed = np.concatenate(keep) if keep else np.empty((0, k))
    record.candidates_tested, record.non_implausible = tested, len(passed)
    if not len(passed):
        return np.empty((0, k))
    chosen = hm.select_points(passed, m.runs_per_wave, hm.sub_seed(cal.seed, wave, 3))
    if len(chosen) < m.runs_per_wave:
        record.note = f"only {len(chosen)} of {tested} candidates are non-implausible: all of them are run"
    return _unscaled(cal, chosen)


def _sets_table(cal: Calibration, waves: list[tuple[int, pd.DataFrame]]) -> pd.DataFrame:
    """One row per simulated parameter set: ``wave``, ``set`` and each parameter's value."""
    frames = []
    for w, design in waves:
        d = pd.DataFrame({"wave": w, "set": sorted(design["set"].unique())})
        for p in cal.parameters:
            d[p.path] = design[design["side"] == p.sides[0]].set_index("set")[p.path].reindex(d["set"]).to_numpy()
        frames.append(d)
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=["wave", "set"])


def _sig(x: float, digits: int = 6) -> float:
    return float(f"{x:.{digits}g}")


def calibrate(cal: Calibration, out: str | Path, *, resume: bool = False, workers: int | None = None,
              executor=None, scheduler: str = "local", command: list[str] | None = None,
              progress: Progress | None = None, stop_after: int | None = None,
              say: Callable[[str], None] | None = None) -> CalibrationResult:
    """Run (or resume) a calibration into ``out``; see ``docs/calibration.md``.

    ``progress(stage, runs)`` is called at the start of each wave and of the confirmation and
    returns the ``progress`` callback of that stage's :func:`~careos_sim.experiment.sweep.run_sweep`.
    ``stop_after`` stops cleanly after that many runs in all (as an interruption would).
    ``say`` receives one line per finding (a wave's non-implausible share, an empty space).
    """
    out = Path(out)
    say = say or (lambda line: None)
    session_started = time.perf_counter()
    manifest = _prepare(cal, out, resume, _manifest(cal, command or [], scheduler, workers))
    previous_wall = manifest.get("wall_seconds_total") or 0.0
    result = CalibrationResult(out)
    left = [stop_after]
    m = cal.method
    history: list[list[hm.Emulator]] = []
    waves: list[tuple[int, pd.DataFrame]] = []
    runs = pd.DataFrame()

    def sweep(exp: _Wave, folder: Path, stage: str) -> bool:
        """Run one stage's sweep; False if it stopped early."""
        total = len(exp.design) * exp.replications
        tick = progress(stage, total) if progress else None
        if folder.is_dir() and not (folder / "manifest.json").exists():
            shutil.rmtree(folder)  # stopped before its manifest was written, so before any run
        r = run_sweep(exp, folder, resume=(folder / "manifest.json").exists(), workers=workers, executor=executor,
                      scheduler=scheduler, command=command or [], progress=tick, stop_after=left[0],
                      runner=run_with_years)
        result.ran += r.ran
        result.kept += r.skipped
        result.failed += r.failed
        result.failures += [f"{stage}: {f}" for f in r.failures]
        if left[0] is not None:
            left[0] -= r.ran
        return not r.interrupted

    def finish(outcome: str | None = None) -> CalibrationResult:
        result.runs_used = result.ran + result.kept  # runs stored: finished now, or kept from before
        session = round(time.perf_counter() - session_started, 3)
        manifest.update(runs_used=result.runs_used, waves=[w.record() for w in result.waves],
                        last_stopped_at=_now(), wall_seconds=session,
                        wall_seconds_total=round(float(previous_wall or 0.0) + session, 3))
        if outcome is not None:
            result.outcome = outcome
            manifest.update(outcome=outcome, message=result.message, complete=True, finished_at=_now(),
                            chosen=result.chosen_set)
        _write_json(out / "manifest.json", manifest)
        return result

    for w in range(1, m.waves + 1):
        record = WaveRecord(w, 0, 0, f"wave-{w}")
        if w == 1:
            values = _unscaled(cal, hm.latin_hypercube(len(cal.parameters), m.runs_per_wave, hm.sub_seed(cal.seed, 1)))
        else:
            values = _next_points(cal, w, history, _sets_table(cal, waves), runs, record)
            frac = record.fraction or 0.0
            say(f"wave {w}: {record.non_implausible} of {record.candidates_tested} candidate points "
                f"({100 * frac:.3g}%) are not implausible")
            if not len(values):
                result.message = (f"no parameter set in the box is consistent with the targets: after wave {w - 1}, "
                                  f"every one of {record.candidates_tested} candidate points has implausibility "
                                  f">= {m.cutoff:g}; the plausible sets and the best simulated set are reported "
                                  f"from the runs so far")
                record.note = result.message
                result.waves.append(record)
                say(result.message)
                break
        exp = _wave_experiment(cal, f"wave-{w}", values, cal.replications)
        record.sets, record.runs = len(values), len(exp.design) * exp.replications
        result.waves.append(record)
        if not sweep(exp, out / f"wave-{w}", f"wave {w}/{m.waves}"):
            result.interrupted = True
            return finish()
        waves.append((w, exp.design))
        runs = pd.concat([runs, _stored_runs(out / f"wave-{w}", w)], ignore_index=True)

    # the plausible sets and the chosen point
    sets = _sets_table(cal, waves)
    mean, var_sim, count = set_outputs(cal, runs, sets)
    low, high, z, var_obs = _bands(cal)
    inside = (mean >= low) & (mean <= high)
    imp = hm.implausibility(z, var_obs, mean, np.zeros_like(mean), np.where(np.isfinite(var_sim), var_sim, 0.0))
    distance = np.where(np.isfinite(mean), np.abs(mean - z) / ((high - low) / 2), np.inf)
    table = sets.copy()
    for j, t in enumerate(cal.targets):
        table[f"mean:{t.name}"] = mean[:, j]
        table[f"se:{t.name}"] = np.sqrt(var_sim[:, j])
        table[f"I:{t.name}"] = imp[:, j]
        table[f"inside:{t.name}"] = inside[:, j]
    table["max_implausibility"] = imp.max(axis=1)
    table["max_band_distance"] = np.where(np.isfinite(distance).all(axis=1), distance.max(axis=1), np.inf)
    table["plausible"] = inside.all(axis=1)
    result.sets = table
    plausible = table[table["plausible"]]
    pool = plausible if len(plausible) else table
    best = pool.sort_values(["max_band_distance", "wave", "set"], kind="stable").iloc[0]
    values = {p.path: (int(round(best[p.path])) if p.integer else _sig(float(best[p.path]))) for p in cal.parameters}
    result.chosen = {side: {p.path: values[p.path] for p in cal.parameters if side in p.sides} for side in cal.sides}
    result.chosen_set = {"wave": int(best["wave"]), "set": int(best["set"]), "plausible": bool(best["plausible"]),
                         "max_band_distance": float(best["max_band_distance"]),
                         "max_implausibility": float(best["max_implausibility"]), "values": values,
                         "plausible_sets": int(len(plausible)), "simulated_sets": int(len(table))}
    if len(plausible):
        outcome = "plausible"
        say(f"{len(plausible)} of {len(table)} simulated parameter sets lie inside every band")
    else:
        outcome = "none_plausible"
        msg = (f"no simulated parameter set lies inside every band; the chosen point is the best of the {len(table)} "
               f"simulated (largest band-normalised distance {float(best['max_band_distance']):.3g})")
        result.message = f"{result.message}; {msg}" if result.message else msg
        say(msg)

    # confirmation of the chosen point
    exp = _wave_experiment(cal, "confirm", np.array([[values[p.path] for p in cal.parameters]], dtype=float),
                           cal.confirm_replications)
    result.waves.append(WaveRecord(0, 1, len(exp.design) * exp.replications, "confirm", note="confirmation"))
    if not sweep(exp, out / "confirm", "confirm"):
        result.interrupted = True
        return finish()
    crun = _stored_runs(out / "confirm", 0)
    cmean, cvar, ccount = set_outputs(cal, crun, pd.DataFrame({"wave": [0], "set": [0]}))
    result.targets = targets_table(cal, cmean[0], cvar[0], ccount[0])
    write_outputs(cal, out, result)
    return finish(outcome)
