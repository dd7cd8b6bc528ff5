"""Backtest: fixed-seed outputs of the telling and listening presets, frozen as data.

``tests/data/backtest.json`` holds every metric of one replication of 56 days of each preset
(seed 1), written by ``python tests/test_backtest.py`` from the model as committed. Any change
that moves a number fails here, so a restructure or an optimisation shows exactly which numbers
it changed; a deliberate model change re-freezes the file in its own commit and says why.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

import careos_sim
from careos_sim.experiment.replications import with_run_settings
from careos_sim.model.replication import run_replication

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data" / "backtest.json"
PRESETS = ("telling", "listening")


def outputs() -> dict[str, dict[str, float]]:
    out = {}
    for name in PRESETS:
        scenario = with_run_settings(careos_sim.load_scenario(ROOT / "scenarios" / f"{name}.yaml"), horizon_days=56)
        out[name] = run_replication(scenario, 1, 0).metrics
    return out


@pytest.mark.parametrize("preset", PRESETS)
def test_fixed_seed_outputs_are_the_frozen_ones(preset):
    frozen = json.loads(DATA.read_text())[preset]
    now = outputs()[preset]
    changed = {k: (frozen[k], now.get(k)) for k in frozen
               if not (math.isnan(frozen[k]) and math.isnan(now.get(k, math.nan)))
               and now.get(k) != pytest.approx(frozen[k], rel=1e-9, abs=1e-12)}
    assert not changed, f"{len(changed)} metrics changed: {dict(list(changed.items())[:8])}"
    assert set(now) == set(frozen)


if __name__ == "__main__":
    DATA.write_text(json.dumps(outputs(), indent=1, sort_keys=True, allow_nan=True) + "\n")
    print(f"written: {DATA}")
