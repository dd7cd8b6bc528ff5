"""Build: the simulation's hot modules compiled with mypyc where a C compiler is at hand.

``pip install careos-sim`` (or ``pip install -e .``) compiles the modules listed in
``careos_sim/native.py`` (the task queue, the nurses' work loop, patients, defects, safety,
streams, entities, leadership, workforce and the recorder) into one C extension with mypyc;
the same source runs as plain Python wherever it is not compiled, with the same numbers. The
build falls back to pure Python, with a warning, when there is no C compiler or the compile
fails, and is skipped with ``CAREOS_SIM_PURE=1`` in the environment. It writes
``careos_sim/_native_build.json`` (the SHA-256 of each compiled source) beside the extension,
so that an edited source is never shadowed by a stale compiled copy (``careos_sim.native``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent
MANIFEST = "_native_build.json"
#: the digest of each compiled source, taken just before mypyc reads it (written beside the extension)
SOURCES: dict[str, str] = {}


def compiled_modules() -> list[str]:
    """The module names in ``careos_sim/native.py``'s COMPILED_MODULES (read as text: the package
    is not importable before it is built)."""
    text = (ROOT / "careos_sim" / "native.py").read_text(encoding="utf-8")
    block = re.search(r"COMPILED_MODULES\s*=\s*\((.*?)\)", text, re.S)
    if block is None:
        raise SystemExit("setup.py: careos_sim/native.py has no COMPILED_MODULES tuple")
    return re.findall(r'"(careos_sim\.[a-z_.]+)"', block.group(1))


def source_path(module: str) -> str:
    return module.replace(".", "/") + ".py"


def source_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


#: setup.py commands that build the package (metadata and sdist need no compile: mypyc is slow)
BUILDS = {"build", "build_ext", "bdist_wheel", "editable_wheel", "install", "develop", "bdist", "bdist_egg"}


def native_extensions() -> list:
    if not BUILDS & set(sys.argv[1:]):
        return []
    if os.environ.get("CAREOS_SIM_PURE"):
        print("careos-sim: CAREOS_SIM_PURE is set: building pure Python", file=sys.stderr)
        return []
    try:
        from mypyc.build import mypycify
    except ImportError:
        print("careos-sim: mypyc is not available: building pure Python", file=sys.stderr)
        return []
    paths = [source_path(m) for m in compiled_modules()]
    SOURCES.update({m: source_digest(ROOT / source_path(m)) for m in compiled_modules()})  # as mypyc reads them
    try:
        return mypycify(["--ignore-missing-imports", "--follow-imports=silent", *paths], group_name="careos_sim._native", opt_level="3")
    except (Exception, SystemExit) as error:  # mypyc refused the source (it prints why): it still runs
        print(f"careos-sim: WARNING: mypyc cannot compile the hot modules ({error}); building pure Python",
              file=sys.stderr)
        return []


class OptionalBuildExt(build_ext):
    """Compile the extension if possible; if not, warn and leave the package pure Python. After a
    compile, write the manifest of the compiled sources beside the extension modules."""

    def run(self) -> None:
        if not self.extensions:
            return
        try:
            super().run()
        except Exception as error:  # no compiler, a failed compile: the source still runs
            for output in self.get_outputs():
                Path(output).unlink(missing_ok=True)
            print(f"careos-sim: WARNING: compiling the hot modules failed ({error}); "
                  "installing pure Python (the same numbers, about half as fast)", file=sys.stderr)
            return
        manifest = json.dumps(SOURCES, indent=1, sort_keys=True) + "\n"
        targets = {Path(self.build_lib) / "careos_sim" / MANIFEST}
        if self.inplace:
            targets.add(ROOT / "careos_sim" / MANIFEST)
        for target in targets:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(manifest, encoding="utf-8")

    def get_outputs(self) -> list[str]:
        outputs = super().get_outputs()
        if self.extensions:
            outputs.append(str(Path(self.build_lib) / "careos_sim" / MANIFEST))
        return outputs


setup(ext_modules=native_extensions(), cmdclass={"build_ext": OptionalBuildExt})
