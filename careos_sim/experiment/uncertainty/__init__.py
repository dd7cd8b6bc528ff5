"""Decisions under uncertainty: a paired comparison across plausible parameter sets.

* :mod:`careos_sim.experiment.uncertainty.run`: the parameter sets (a calibration's plausible sets, or
  ranges sampled by Latin hypercube) and the K x 2 x R sweep that runs them;
* :mod:`careos_sim.experiment.uncertainty.analysis`: pure functions on the paired runs: the effect's
  distribution across sets, the probability that B is better, drivers (partial rank
  correlation), parameter against noise variance, scenario discovery, economics;
* :mod:`careos_sim.experiment.uncertainty.study`: both together, as ``compare --uncertainty`` runs them.
"""
