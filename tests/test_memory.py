"""Memory does not grow with the horizon unless an event log is asked for."""

from __future__ import annotations

import gc
import tracemalloc
from pathlib import Path

import pytest

import careos_sim
from careos_sim.unit import CareUnit

DEFAULT = Path(__file__).resolve().parents[1] / "scenarios" / "default.yaml"


def _peak_kib(days: float, event_log: bool = False) -> float:
    scenario = careos_sim.load_scenario(DEFAULT, overrides={"run.horizon_days": days})
    gc.collect()
    tracemalloc.start()
    try:
        CareUnit(scenario, seed=1, replication=0, event_log=event_log).run()
        return tracemalloc.get_traced_memory()[1] / 1024
    finally:
        tracemalloc.stop()


@pytest.mark.slow
def test_peak_memory_flat_in_the_horizon():
    short, long = _peak_kib(56), _peak_kib(448)  # 8 weeks and 64 weeks
    # Eight times the events; all that may grow is one row of weekly metrics a week (about 1 KiB
    # as a dict of floats), so 56 more weeks may add at most 2 KiB each.
    assert long - short < 56 * 2.0, (short, long)


def test_event_log_is_what_grows():
    scenario = careos_sim.load_scenario(DEFAULT, overrides={"run.horizon_days": 14})
    unit = CareUnit(scenario, seed=1, replication=0, event_log=True)
    rec = unit.run()
    assert rec.events is not None and len(rec.events) > 5000
    assert len(rec.weekly) == 2
