"""The ``careos-sim`` command line."""

from careos_sim.cli.main import entry, main

__all__ = ["entry", "main"]
