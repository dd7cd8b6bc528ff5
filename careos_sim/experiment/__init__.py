"""Experiments on the model: replications, paired comparisons, designs and sweeps, analysis,
precision, calibration and uncertainty, all run through one executor layer."""
