"""Run and summarise a comparison under parameter uncertainty (model section 11).

:func:`run_study` runs the K x 2 x R sweep (resumable) and :func:`analyse_store` reads a
finished store and computes, per outcome, the distribution of the effect B - A across
parameter sets, the probability that B is better, the parameters that drive the effect and
the split of its variance into parameter uncertainty and simulation noise; the boxes of
parameter space where B fails to beat A on the chosen outcome (scenario discovery); and the
economics (incremental cost per harm event averted and per burnout case avoided, net monetary
benefit, the acceptability curve and the value of information). It writes ``uncertainty.json``
and ``set_effects.parquet`` beside the store.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from careos_sim.measure.metrics import BY_NAME
from careos_sim.experiment.sweep import METRIC_NAMES
from careos_sim.results.folders import write_atomic
from careos_sim.experiment.sweep import load_store, run_sweep
from careos_sim.experiment.uncertainty import analysis
from careos_sim.experiment.uncertainty.run import UncertainSets, _Uncertainty, paired_frame

__all__ = ["run_study", "analyse_store", "UncertaintyResult", "HARM", "COST", "BURNOUT", "DEFAULT_WTP_PER_HARM"]

HARM, COST, BURNOUT = "safety.harm_per_1000_patient_days", "efficiency.cost_per_patient_day", "workforce.burnout_pct"
#: default willingness to pay per harm event averted (a setting: the order of the added hospital
#: cost of one adverse event; docs/model.md, section 11)
DEFAULT_WTP_PER_HARM = 20000.0


@dataclass
class UncertaintyResult:
    """What an uncertainty study found, per outcome and overall."""

    folder: Path
    sets: int
    replications: int
    parameters: list[str]
    source: str
    outcomes: dict[str, analysis.OutcomeUncertainty]
    relative: dict[str, tuple[float, float, float]]  # effect as % of A's set mean: median, p05, p95
    fails_on: str
    boxes: list[analysis.Box]
    economics: analysis.Economics | None
    headline: str
    notes: list[str] = field(default_factory=list)

    def record(self) -> dict[str, Any]:
        return {
            "sets": self.sets, "replications": self.replications, "parameters": self.parameters,
            "source": self.source, "headline": self.headline, "fails_on": self.fails_on,
            "boxes": [b.record() for b in self.boxes],
            "economics": self.economics.record() if self.economics is not None else None,
            "outcomes": {m: {**o.record(), "relative_pct": _triple(self.relative.get(m))}
                         for m, o in self.outcomes.items()},
            "notes": self.notes,
        }

    def metric_record(self, metric: str) -> dict[str, Any] | None:
        """The ``"uncertainty"`` block of one metric in ``compare --json``."""
        o = self.outcomes.get(metric)
        if o is None:
            return None
        rec = o.record()
        return {"effect_median": rec["effect_median"], "effect_p05": rec["effect_p05"],
                "effect_p95": rec["effect_p95"], "p_better": rec["p_better"], "drivers": rec["drivers"],
                "variance": rec["variance"], "relative_pct": _triple(self.relative.get(metric)),
                "sets": rec["sets"], "replications": rec["replications"]}


def _triple(t: tuple[float, float, float] | None) -> dict[str, float | None] | None:
    if t is None:
        return None
    return {k: (None if not math.isfinite(v) else float(v)) for k, v in zip(("median", "p05", "p95"), t)}


def run_study(exp: _Uncertainty, out: Path, *, resume: bool, workers: int | None, executor=None,
              scheduler: str = "local", command: list[str] | None = None,
              progress: Callable[[int, int], None] | None = None, stop_after: int | None = None):
    """Run (or resume) the sweep of ``exp`` into ``out``; returns the sweep's result."""
    return run_sweep(exp, out, resume=resume, workers=workers, executor=executor, scheduler=scheduler,
                     command=command, progress=progress, stop_after=stop_after)


def _relative(frame: pd.DataFrame, metric: str) -> tuple[float, float, float]:
    a, b = frame[f"a:{metric}"], frame[f"b:{metric}"]
    ok = a.notna() & b.notna()
    g = pd.DataFrame({"set": frame["set"][ok], "a": a[ok], "d": (b - a)[ok]}).groupby("set").mean()
    rel = 100.0 * g["d"] / g["a"].abs().replace(0.0, np.nan)
    rel = rel.dropna()
    if rel.empty:
        return (math.nan, math.nan, math.nan)
    return (float(rel.median()), float(rel.quantile(0.05)), float(rel.quantile(0.95)))


def analyse_store(folder: Path, sets: UncertainSets, *, labels: tuple[str, str], fails_on: str = HARM,
                  wtp_per_harm: float = DEFAULT_WTP_PER_HARM, nurses: float | None = None,
                  seed: int = 0) -> UncertaintyResult:
    """Analyse a finished uncertainty store and write ``uncertainty.json`` and ``set_effects.parquet``."""
    store = load_store(folder)
    frame = paired_frame(store.runs, sets.parameters, METRIC_NAMES)
    notes: list[str] = []
    failed = int((store.runs["status"] != "ok").sum()) if len(store.runs) else 0
    if failed:
        notes.append(f"{failed} runs failed and are left out (see the error column of runs.parquet)")
    outcomes: dict[str, analysis.OutcomeUncertainty] = {}
    relative: dict[str, tuple[float, float, float]] = {}
    for m in METRIC_NAMES:
        cols = frame[[f"a:{m}", f"b:{m}"]]
        if cols.notna().all(axis=1).sum() < 2 * max(2, frame["set"].nunique() // 2):
            continue  # undefined in most runs (e.g. no call lights): nothing to say across sets
        outcomes[m] = analysis.summarise(frame, sets.parameters, m, BY_NAME[m].direction, seed=seed)
        relative[m] = _relative(frame, m)
    direction = BY_NAME[fails_on].direction if fails_on in BY_NAME else None
    boxes = analysis.discover(frame, sets.parameters, fails_on, direction, seed=seed) \
        if fails_on in outcomes and direction else []
    econ = None
    if all(m in outcomes for m in (HARM, COST, BURNOUT)) and "counts.patient_days" in store.runs.columns:
        ok = store.runs[store.runs["status"] == "ok"]
        days = float(ok["counts.patient_days"].mean())
        horizon = float(json.loads((folder / "manifest.json").read_text()).get("horizon_days") or 365.0)
        econ = analysis.economics(frame, sets.parameters, wtp_per_harm=wtp_per_harm,
                                  patient_days_per_year=days * 365.25 / horizon,
                                  nurses=nurses if nurses is not None else math.nan)
    result = UncertaintyResult(folder, sets.count, int(frame.groupby("set")["replication"].nunique().median())
                               if len(frame) else 0, sets.parameters,
                               f"{sets.kind}: {sets.file.name} ({sets.note})", outcomes, relative, fails_on, boxes,
                               econ, "", notes)
    result.headline = headline(result, labels)
    effects = pd.concat({m: analysis.set_effects(frame, m)[["effect", "noise_var", "n"]] for m in outcomes},
                        axis=1) if outcomes else pd.DataFrame()
    if len(effects):
        effects.columns = [f"{m}|{c}" for m, c in effects.columns]
        effects = pd.concat([sets.frame().set_index("set"), effects.copy()], axis=1).rename_axis("set").reset_index()
        import io

        buf = io.BytesIO()
        effects.to_parquet(buf, index=False)
        write_atomic(folder / "set_effects.parquet", buf.getvalue())
    write_atomic(folder / "uncertainty.json", (json.dumps(result.record(), indent=2, allow_nan=False) + "\n").encode())
    return result


def headline(result: UncertaintyResult, labels: tuple[str, str]) -> str:
    """The finding in plain words first: how often B is better on the chosen outcome, by how much,
    and where it fails."""
    m = result.fails_on
    o = result.outcomes.get(m)
    if o is None or o.p_better is None:
        return f"{labels[1]} against {labels[0]}: no outcome to summarise across parameter sets."
    name = _short(m)
    verb = "lowers" if BY_NAME[m].direction == "lower" else "raises"
    rel = result.relative.get(m, (math.nan,) * 3)
    lo, hi = sorted((abs(rel[1]), abs(rel[2]))) if all(math.isfinite(v) for v in rel) else (math.nan, math.nan)
    sign_consistent = all(math.isfinite(v) for v in rel) and (rel[1] < 0) == (rel[2] < 0)
    size = (f", by {lo:.0f}-{hi:.0f}%" if sign_consistent else
            f" (median change {rel[0]:+.0f}%, 90% of settings between {rel[1]:+.0f}% and {rel[2]:+.0f}%)")
    text = (f"{labels[1]} {verb} {name} in {100 * o.p_better:.0f}% of {result.sets} plausible parameter settings"
            f"{size if all(math.isfinite(v) for v in rel) else ''}")
    if result.boxes:
        text += f"; it fails to help mostly when {result.boxes[0].text()}" + \
            f" ({100 * result.boxes[0].density:.0f}% of settings there fail)"
    return text + "."


def _short(metric: str) -> str:
    from careos_sim.measure.labels import label

    text = label(metric)
    if len(text) > 1 and not text[1].isupper():  # "Harm, LEP / other patients" -> "harm, LEP / other patients"
        text = text[0].lower() + text[1:]
    return {HARM: "harm", COST: "cost per patient-day", BURNOUT: "burnout"}.get(metric, text)
