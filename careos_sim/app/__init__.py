"""The interactive app: ``careos-sim app [--port N]`` (needs ``pip install careos-sim[app]``).

The app is a Streamlit script (:mod:`careos_sim.app.streamlit_app`) over plain functions in
:mod:`careos_sim.app.logic` (presets, dials, limits, uploads, demonstrations, the cache of
finished comparisons), which are tested without Streamlit as well. :func:`cli_app` starts
Streamlit on localhost in a subprocess and waits for it.
"""

from __future__ import annotations

import argparse
import importlib.util
import signal
import subprocess
import sys
from pathlib import Path

from careos_sim.loader import InputError, InputIssue

__all__ = ["APP_SCRIPT", "cli_app", "streamlit_command"]

#: the Streamlit script the app runs
APP_SCRIPT = Path(__file__).with_name("streamlit_app.py")


def streamlit_command(port: int) -> list[str]:
    """The command that serves the app on ``localhost:port``, headless, without usage statistics
    or Streamlit's developer menu."""
    return [sys.executable, "-m", "streamlit", "run", str(APP_SCRIPT),
            "--server.port", str(port), "--server.address", "localhost",
            "--server.headless", "true", "--browser.gatherUsageStats", "false",
            "--client.toolbarMode", "minimal"]


def cli_app(args: argparse.Namespace) -> int:
    """``careos-sim app``: print the address, serve until Ctrl-C, return Streamlit's exit status."""
    port = args.port
    if not 1 <= port <= 65535:
        raise InputError([InputIssue("--port", None, "port", "must be between 1 and 65535", port)])
    if importlib.util.find_spec("streamlit") is None:
        raise InputError([InputIssue(
            "careos-sim app", None, "streamlit",
            "the app needs Streamlit, which is not installed; install it with: pip install 'careos-sim[app]'",
            has_value=False)])
    print(f"careos-sim app: http://localhost:{port}", flush=True)
    proc = subprocess.Popen(streamlit_command(port))

    def forward(signum, frame):  # a termination request to this process stops Streamlit too
        if proc.poll() is None:
            proc.send_signal(signum)

    previous = {}
    for name in ("SIGTERM", "SIGHUP"):
        sig = getattr(signal, name, None)
        if sig is not None:
            try:
                previous[sig] = signal.signal(sig, forward)
            except (ValueError, OSError):  # not the main thread (e.g. called from a test runner's worker)
                pass
    try:
        return proc.wait()
    except KeyboardInterrupt:
        # Ctrl-C in a terminal reaches Streamlit as well; pass it on in case it did not (a signal
        # sent to this process only), then wait for Streamlit's clean shutdown
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except (subprocess.TimeoutExpired, KeyboardInterrupt):
            proc.kill()
            proc.wait()
        return 130
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
