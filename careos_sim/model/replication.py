"""One replication of what a spec describes: a unit (:func:`careos_sim.model.unit.run_unit`) or a
hospital (:func:`careos_sim.model.hospital.run_hospital`). A pure function of (spec, seed,
replication): replications can run in any process, in any order."""

from __future__ import annotations

from careos_sim.model.hospital import run_hospital
from careos_sim.model.unit import ReplicationResult, run_unit
from careos_sim.spec.hospital import HospitalSpec
from careos_sim.spec.scenario import ScenarioSpec

__all__ = ["run_replication"]


def run_replication(spec: ScenarioSpec | HospitalSpec, seed: int, replication: int, event_log: bool = False,
                    ocel_days: float | None = None) -> ReplicationResult:
    """One replication of a unit or of a hospital. ``event_log``: keep the flat event log;
    ``ocel_days``: also keep an OCEL 2.0 event log of the first that many days (it changes no
    number)."""
    if isinstance(spec, HospitalSpec):
        return run_hospital(spec, seed, replication, event_log, ocel_days)
    return run_unit(spec, seed, replication, event_log, ocel_days)
