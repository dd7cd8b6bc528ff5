"""Memory does not grow with the horizon unless an event log is asked for."""

from __future__ import annotations

import gc
import sys
import tracemalloc
from pathlib import Path

import pytest

import careos_sim
from careos_sim.model.unit import CareUnit

DEFAULT = Path(__file__).resolve().parents[1] / "scenarios" / "default.yaml"


def _row_kib(days: float) -> float:
    """Size of one row of the weekly series (a dict of floats)."""
    scenario = careos_sim.load_scenario(DEFAULT, overrides={"run.horizon_days": days})
    row = CareUnit(scenario, seed=1, replication=0).run().weekly[0]
    return (sys.getsizeof(row) + sum(sys.getsizeof(v) for v in row.values())) / 1024


def _peak_kib(days: float, event_log: bool = False) -> float:
    scenario = careos_sim.load_scenario(DEFAULT, overrides={"run.horizon_days": days})
    gc.collect()
    tracemalloc.start()
    try:
        CareUnit(scenario, seed=1, replication=0, event_log=event_log).run()
        return tracemalloc.get_traced_memory()[1] / 1024
    finally:
        tracemalloc.stop()


@pytest.mark.study  # minutes of simulation: run by .ci/run with -m study
@pytest.mark.slow
def test_peak_memory_flat_in_the_horizon():
    short, long = _peak_kib(56), _peak_kib(448)  # 8 weeks and 64 weeks
    # Eight times the events; what may grow is the weekly series (one row of metrics a week), the
    # defects that appear and go and the random-number buffers of the patients present at the
    # peak: allow 56 more weeks three rows' size each (measured: about 2.3 rows a week at the
    # stage-5 point, 1.8 with the old start; an event log would grow by hundreds a week).
    row = _row_kib(7)
    assert long - short < 56 * 3.0 * row, (short, long, row)


def test_event_log_is_what_grows():
    scenario = careos_sim.load_scenario(DEFAULT, overrides={"run.horizon_days": 14})
    unit = CareUnit(scenario, seed=1, replication=0, event_log=True)
    rec = unit.run()
    assert rec.events is not None and len(rec.events) > 5000
    assert len(rec.weekly) == 2
