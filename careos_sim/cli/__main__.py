"""``python -m careos_sim.cli``."""

from careos_sim.cli.main import entry

entry()
