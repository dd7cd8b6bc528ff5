"""Running the command line in-process from tests: exit code, stdout and stderr."""

from __future__ import annotations

from careos_sim.cli.main import main


def cli(capsys, *argv) -> tuple[int, str, str]:
    """``careos-sim ARGV...`` in this process; what it printed, captured by pytest's ``capsys``."""
    capsys.readouterr()
    rc = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return rc, out, err
