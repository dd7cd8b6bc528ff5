"""Which build of the simulation's hot modules runs: compiled with mypyc, or the Python source.

An install with a C compiler (``setup.py``) compiles :data:`COMPILED_MODULES` into one C
extension, about twice as fast, with the same numbers; the source runs as plain Python
everywhere else. Python imports an extension module in preference to its source, so a copy
compiled before an edit would go on running the old code: the build records the SHA-256 of each
compiled source (``_native_build.json``), and on import of the package, before any of these
modules loads, this module checks them. If any source differs from what was compiled, or the
record is missing, or ``CAREOS_SIM_PURE`` is set in the environment, every one of them is loaded
from its source instead (all or none: a compiled module and its source never mix), with a
warning in the first two cases. :data:`BUILD` says which runs and why.

Recompile after editing one of these modules with ``pip install -e .`` (the same command as the
first install).
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import json
import os
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Mapping, Sequence

__all__ = ["COMPILED_MODULES", "BUILD", "Build", "choose_build"]

#: The modules compiled where a compiler is at hand (``setup.py`` reads this tuple as text): the
#: per-task path and what it calls.
COMPILED_MODULES = (
    "careos_sim.model.agenda",
    "careos_sim.model.environment",
    "careos_sim.model.tasks",
    "careos_sim.model.nurses",
    "careos_sim.model.patients",
    "careos_sim.model.defects",
    "careos_sim.model.safety",
    "careos_sim.model.streams",
    "careos_sim.model.entities",
    "careos_sim.model.leadership",
    "careos_sim.model.workforce",
    "careos_sim.measure.recorder",
)

PACKAGE = Path(__file__).resolve().parent
MANIFEST = PACKAGE / "_native_build.json"
PURE_VARIABLE = "CAREOS_SIM_PURE"


@dataclass(frozen=True)
class Build:
    """``compiled``: the compiled extension runs; ``reason``: why, in a sentence."""

    compiled: bool
    reason: str

    def __str__(self) -> str:
        return f"{'compiled (mypyc)' if self.compiled else 'pure Python'}: {self.reason}"


def _source(module: str, root: Path = PACKAGE.parent) -> Path:
    return root / (module.replace(".", "/") + ".py")


def _extension(module: str, root: Path = PACKAGE.parent) -> Path | None:
    """The compiled extension module beside ``module``'s source (under ``root``), if there is one."""
    source = _source(module, root)
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        candidate = source.with_suffix(suffix)
        if candidate.is_file():
            return candidate
    return None


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def choose_build(modules: Sequence[str] = COMPILED_MODULES, root: Path = PACKAGE.parent,
                 environ: Mapping[str, str] = os.environ) -> Build:
    """Whether the compiled extension of ``modules`` (under ``root``, the folder that holds the
    package) may run: compiled, present for every module, recorded in the package's manifest with
    the digest of each module's source as it is now, and not turned off by ``CAREOS_SIM_PURE``."""
    manifest = root / PACKAGE.name / MANIFEST.name
    present = [m for m in modules if _extension(m, root) is not None]
    if not present:
        return Build(False, "not compiled (no C compiler at install, or built with CAREOS_SIM_PURE=1)")
    if environ.get(PURE_VARIABLE):
        return Build(False, f"{PURE_VARIABLE} is set")
    if len(present) < len(modules):
        missing = sorted(set(modules) - set(present))
        return Build(False, f"compiled modules missing: {', '.join(missing)}; run `pip install -e .` to recompile")
    try:
        recorded = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return Build(False, f"no record of the compiled sources ({manifest.name}); run `pip install -e .` to recompile")
    stale = [m for m in modules if recorded.get(m) != _digest(_source(m, root))]
    if stale:
        return Build(False, f"edited since compiled: {', '.join(stale)}; run `pip install -e .` to recompile")
    return Build(True, "every compiled module matches its source")


class _SourceFirst:
    """A meta path finder that loads the compiled modules from their ``.py`` source."""

    def __init__(self, modules: Sequence[str]):
        self.modules = frozenset(modules)

    def find_spec(self, name: str, path: object = None, target: ModuleType | None = None):
        if name not in self.modules:
            return None
        return importlib.util.spec_from_file_location(name, _source(name))


def _install() -> Build:
    build = choose_build()
    if not build.compiled and any(_extension(m) is not None for m in COMPILED_MODULES):
        sys.meta_path.insert(0, _SourceFirst(COMPILED_MODULES))
        if not os.environ.get(PURE_VARIABLE):
            warnings.warn(f"careos-sim runs its pure-Python source: {build.reason}", RuntimeWarning, stacklevel=3)
    return build


#: The build that runs in this process (chosen once, on import of the package).
BUILD = _install()
