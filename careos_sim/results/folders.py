"""Results folders: written atomically, whose files careos-sim owns, with provenance.

Files are first written to a temporary folder beside the target. A new target is that folder,
renamed in one step; into an existing target each file is moved with an atomic rename, the
manifest last (after removing the old one): an interrupted or failed run leaves either the
previous complete file or the new complete file, never half of one, and no temporary folder.

Whose files: an ``--out`` folder is checked before anything runs (:func:`check_out_folder`).
It may be new, empty (hidden entries aside), or a results folder of the same kind (its
``manifest.json`` says ``kind``); anything else is refused: a non-empty folder without our
manifest, a folder of another kind, a file, a path under a file, a place we cannot write.
Re-writing our folder replaces only the files careos-sim writes there: the files of the new
results, and the files the previous manifest lists (``files``) that the new results no longer
have are removed. Any other file (notes of the user's, a report made by ``careos-sim
report``) is kept, inside subfolders such as ``figures/`` too.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import secrets
import shutil
import subprocess
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from careos_sim.interrupts import deferred_signals
from careos_sim.spec.loader import InputError, InputIssue
from careos_sim.text import bounded

__all__ = ["atomic_folder", "json_safe", "package_version", "write_atomic", "check_out_folder", "check_writable",
           "folder_kind", "file_hashes", "environment", "versions", "git_dirty", "git_commit", "python_call",
           "provenance", "now_utc"]


def package_version() -> str:
    from careos_sim import __version__

    return __version__


def json_safe(value: Any) -> Any:
    """Plain JSON types; NaN and infinities become null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if hasattr(value, "item"):
        return json_safe(value.item())
    return value


def git_commit(path: Path) -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=path, capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


# --------------------------------------------------------------------------- whose folder is it


def _issue(option: str, message: str, value: Any) -> InputError:
    return InputError([InputIssue(option, None, "out", message, bounded(value))])


def _nearest_existing(path: Path) -> Path:
    p = path.absolute()
    while not os.path.lexists(p) and p != p.parent:
        p = p.parent
    return p


def check_writable(folder: Path, option: str, shown: Any) -> None:
    """An :class:`InputError` unless a file can be made in the existing ``folder``: tried with a
    hidden folder made and removed at once (permission bits alone say nothing for root, or on a
    read-only file system)."""
    probe = folder / f".careos-sim-probe-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        probe.mkdir()
    except OSError as exc:
        raise _issue(option, f"cannot write in {bounded(folder)}: {exc.strerror or exc}", shown) from None
    probe.rmdir()


def folder_kind(folder: Path) -> str | None:
    """The ``kind`` in ``folder/manifest.json``: None without one, ``"?"`` for one we did not write."""
    path = folder / "manifest.json"
    if not path.exists():
        return None
    try:
        kind = json.loads(path.read_text()).get("kind")
    except (OSError, ValueError, AttributeError):
        return "?"
    return kind if kind in ("run", "compare", "sweep") else "?"


_WRITERS = {"run": "run --out", "compare": "compare --out", "sweep": "sweep --out"}


def check_out_folder(out: str | Path, kind: str, option: str = "--out") -> None:
    """Refuse (:class:`InputError`) an ``out`` folder that a ``kind`` command must not write in.

    Allowed: a new folder (its parent writable), an empty one, or a results folder of the same
    ``kind``. Refused: a file; a path under a file; a non-empty folder with no manifest of ours;
    a results folder of another kind; a folder or parent we cannot write in.
    """
    out = Path(out)
    if os.path.lexists(out) and not out.is_dir():
        raise _issue(option, "exists and is not a folder", str(out))
    if not out.exists():
        base = _nearest_existing(out.parent)
        if not base.is_dir():
            raise _issue(option, f"cannot be made: {bounded(base)} is a file, not a folder", str(out))
        check_writable(base, option, str(out))
        return
    found = folder_kind(out)
    if found is None:
        if any(not p.name.startswith(".") for p in out.iterdir()):
            raise _issue(option, "folder is not empty and is not a careos-sim results folder (no manifest.json); "
                         "choose a new or empty folder", str(out))
    elif found == "?":
        raise _issue(option, "folder has a manifest.json that careos-sim did not write or cannot read; "
                     "choose a new or empty folder", str(out))
    elif found != kind:
        raise _issue(option, f"folder holds the results of a {found} ({_WRITERS[found]}), not of a {kind}; "
                     "choose a new or empty folder", str(out))
    check_writable(out, option, str(out))
    check_writable(_nearest_existing(out.absolute().parent), option, str(out))


def listing(folder: Path) -> list[str]:
    """Every file under ``folder``, as relative POSIX paths, sorted."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() or p.is_symlink())


def _safe_relative(name: Any) -> bool:
    return isinstance(name, str) and bool(name) and not Path(name).is_absolute() and ".." not in Path(name).parts


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):  # alive and someone else's, or not a pid: leave it
        return True
    return True


def _remove_dead_temporaries(parent: Path, name: str) -> None:
    """Temporary folders of ``name`` that a killed process (SIGKILL, a power cut) left in ``parent``:
    ours by their name, and their process is gone."""
    pattern = re.compile(rf"^\.{re.escape(name)}\.tmp-(\d+)-[0-9a-f]{{8}}$")
    try:
        entries = list(parent.iterdir())
    except OSError:
        return
    for p in entries:
        m = pattern.match(p.name)
        if m and p.is_dir() and not p.is_symlink() and not _pid_alive(int(m.group(1))):
            shutil.rmtree(p, ignore_errors=True)


class atomic_folder:
    """Context manager: yields a temporary folder beside ``target``; on success its files go to ``target``.

    A new ``target`` is the temporary folder renamed in one step (all files or none). Into an
    existing one each file is moved with an atomic rename (into subfolders file by file: other
    files there are kept), after removing the old ``last`` and with the new ``last`` at the end,
    so a folder that has ``last`` is complete; files the old ``last`` listed under ``files`` that
    the new results do not have are removed, and nothing else. A stop signal during the moves
    waits for them to end. On failure or interruption the temporary folder is removed, and so
    are any parent folders made for it.
    """

    def __init__(self, target: str | Path, last: str = "manifest.json"):
        self.target = Path(target)
        self.last = last

    def __enter__(self) -> Path:
        parent = self.target.parent
        self.made: list[Path] = []  # parent folders created here, deepest first
        p = parent.absolute()
        while not p.exists() and p != p.parent:
            self.made.append(p)
            p = p.parent
        parent.mkdir(parents=True, exist_ok=True)
        _remove_dead_temporaries(parent, self.target.name or "out")
        # mkdir, not mkdtemp: the folder may become ``target`` itself, with the usual permissions
        for _ in range(100):
            tmp = parent / f".{self.target.name or 'out'}.tmp-{os.getpid()}-{secrets.token_hex(4)}"
            try:
                tmp.mkdir()
            except FileExistsError:
                continue
            self.tmp = tmp
            return tmp
        raise FileExistsError(f"cannot make a temporary folder in {parent}")

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                self._commit()
        except BaseException:
            self._remove_made()
            raise
        finally:
            shutil.rmtree(self.tmp, ignore_errors=True)
        if exc_type is not None:
            self._remove_made()

    def _commit(self) -> None:
        self._moved = False
        try:
            with deferred_signals():
                self._move()
                self._moved = True
        except KeyboardInterrupt as exc:  # a stop signal that waited for the moves: say they were made
            if self._moved:
                exc.written = self.target  # type: ignore[attr-defined]
            raise

    def _move(self) -> None:
        if not self.target.exists():
            try:
                os.rename(self.tmp, self.target)
                return
            except OSError:
                if not self.target.is_dir():  # not a folder made meanwhile: a real failure
                    raise
        self.target.mkdir(parents=True, exist_ok=True)
        names = listing(self.tmp)
        for name in names:  # found before anything changes: a folder of the user's where a file of ours goes
            for i, part in enumerate(Path(name).parts):
                dest = self.target.joinpath(*Path(name).parts[: i + 1])
                is_last = i == len(Path(name).parts) - 1
                if os.path.lexists(dest) and (dest.is_dir() if is_last else not dest.is_dir()):
                    raise InputError([InputIssue(str(self.target), None, "<folder>",
                                                 f"{bounded(name)}: careos-sim writes a {'file' if is_last else 'folder'}"
                                                 f" there and something else is in the way; nothing was changed",
                                                 bounded(dest))])
        old = self._old_files()
        # the previous manifest goes first and the new one comes last: a folder caught between the
        # two has no manifest, rather than an old one describing a mix of old and new files
        (self.target / self.last).unlink(missing_ok=True)
        names.sort(key=lambda n: n == self.last)
        for name in names:
            dest = self.target / name
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self.tmp / name, dest)
        for name in sorted(set(old) - set(names)):  # ours from before, not in the new results
            stale = self.target / name
            if stale.is_file() or stale.is_symlink():
                stale.unlink()
                if stale.parent != self.target:
                    try:
                        stale.parent.rmdir()
                    except OSError:  # not empty: other files are kept
                        pass

    def _old_files(self) -> list[str]:
        """The files the target's previous ``last`` (a manifest) lists as written by us."""
        try:
            listed = json.loads((self.target / self.last).read_text()).get("files", [])
        except (OSError, ValueError, AttributeError):
            return []
        return [n for n in listed if _safe_relative(n) and n != self.last] if isinstance(listed, list) else []

    def _remove_made(self) -> None:
        for p in self.made:
            try:
                p.rmdir()
            except OSError:
                break


def write_atomic(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file beside it and one atomic rename: a reader
    sees the previous file or the new one, never part of one."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{secrets.token_hex(4)}")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def file_hashes(files: list[Path] | None) -> dict[str, str]:
    """SHA-256 of each file, by its name as given."""
    return {str(f): hashlib.sha256(Path(f).read_bytes()).hexdigest() for f in files or []}


#: the distributions whose versions a manifest records
VERSIONED = ("simpy", "numpy", "scipy", "pandas", "pyarrow", "pydantic", "SALib")


def versions() -> dict[str, str | None]:
    """Python's version and each of :data:`VERSIONED`'s (None if not installed)."""
    import platform
    from importlib import metadata

    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in VERSIONED:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def git_dirty(path: Path) -> bool | None:
    """Whether the git checkout holding ``path`` has changes (``git status --porcelain`` says
    anything); None outside a checkout or without git."""
    try:
        out = subprocess.run(["git", "status", "--porcelain"], cwd=path, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return bool(out.stdout.strip()) if out.returncode == 0 else None


def environment() -> dict[str, Any]:
    """Where results were made: versions, platform, the checkout's commit and whether it was dirty."""
    import platform

    here = Path(__file__).parent
    return {
        "package_version": package_version(),
        "git_commit": git_commit(here),
        "git_dirty": git_dirty(here),
        "versions": versions(),
        "platform": {"platform": platform.platform(), "machine": platform.machine()},
    }


def python_call(function: str, *args: Any, **kwargs: Any) -> str:
    """How a result made from Python (no command) can be repeated, e.g.
    ``careos_sim.experiment.replications.run(Scenario 'telling', workers=1)``; values shown by ``repr``, cut short."""
    shown = [bounded(a) if isinstance(a, str) else a for a in args]
    parts = [*(str(a) for a in shown), *(f"{k}={v!r}" for k, v in kwargs.items())]
    return f"{function}({', '.join(parts)})"


def provenance(command: list[str], started: str, wall_seconds: float | None = None,
                python: str | None = None) -> dict[str, Any]:
    return {
        **environment(),
        "command": command,
        "python_call": None if command else python,
        "written_at": started,
        "wall_seconds": wall_seconds,
        "pandas": pd.__version__,
    }


def now_utc() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


