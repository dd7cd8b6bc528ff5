"""Calibration as inference: ``careos-sim calibrate TARGETS.yaml`` (``docs/calibration.md``).

History matching with Gaussian-process emulators: waves of parameter sets, each run on every
side with replications into a resumable sweep store; implausibility rules out the parts of the
box inconsistent with the target bands; the plausible sets are the simulated ones inside every
band, and the chosen point (closest to the bands' centres) is confirmed with more replications.

Public API: :func:`load_targets` (read and validate a targets file; checks the budget),
:func:`calibrate` (run or resume one into a folder), :class:`CalibrationResult`.
Modules: ``spec`` (the file format), ``method`` (history matching), ``run`` (waves, stores,
outputs); the command is :mod:`careos_sim.cli.calibrate`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["load_targets", "calibrate", "Calibration", "CalibrationResult", "WaveRecord", "Parameter", "Target",
           "TargetsSpec", "run_with_years", "set_outputs"]

_LAZY = {"load_targets": "spec", "Calibration": "spec", "Parameter": "spec", "Target": "spec", "TargetsSpec": "spec",
         "calibrate": "run", "CalibrationResult": "run", "WaveRecord": "run", "run_with_years": "run",
         "set_outputs": "run"}


def __getattr__(name: str) -> Any:  # the library (pandas, scikit-learn) only when used
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"careos_sim.experiment.calibrate.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'careos_sim.experiment.calibrate' has no attribute {name!r}")
