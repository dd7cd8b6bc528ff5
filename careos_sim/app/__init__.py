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

from careos_sim.spec.loader import InputError, InputIssue

__all__ = ["APP_SCRIPT", "cli_app", "streamlit_command", "error_details_off", "upload_size_mb"]

#: the Streamlit script the app runs
APP_SCRIPT = Path(__file__).with_name("streamlit_app.py")


def error_details_off() -> str | bool:
    """The value of Streamlit's ``client.showErrorDetails`` that shows no error details on the page
    (no traceback, exception type or message; they go to the server's log): ``"none"`` where
    Streamlit takes a level (1.4x and later; there ``false`` still shows the traceback), else ``False``."""
    try:
        from streamlit import config

        default = config._config_options_template["client.showErrorDetails"].default_val
    except Exception:  # noqa: BLE001 - no Streamlit, or another layout of its config: the old switch
        return False
    return False if isinstance(default, bool) else "none"


def upload_size_mb(env=None) -> int:
    """Streamlit's ``server.maxUploadSize`` for the app, in whole MB: the app's upload limit
    (:class:`careos_sim.app.logic.Limits`, 256 KiB unless ``CAREOS_APP_MAX_UPLOAD_BYTES`` says
    otherwise) rounded up, at least 1. The app checks the exact limit itself and says so."""
    from careos_sim.app.logic import Limits

    limit = Limits.from_env(env)[0].max_upload_bytes
    return max(1, -(-int(limit) // (1024 * 1024)))


def streamlit_command(port: int) -> list[str]:
    """The command that serves the app on ``localhost:port``, headless, without usage statistics
    or Streamlit's developer menu, with no error details on the page and uploads capped."""
    details = error_details_off()
    return [sys.executable, "-m", "streamlit", "run", str(APP_SCRIPT),
            "--server.port", str(port), "--server.address", "localhost",
            "--server.headless", "true", "--browser.gatherUsageStats", "false",
            "--client.toolbarMode", "minimal",
            "--client.showErrorDetails", details if isinstance(details, str) else "false",
            "--server.maxUploadSize", str(upload_size_mb())]


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
