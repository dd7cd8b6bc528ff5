"""The compiled build of the hot modules: chosen only when it matches its source, and the same
numbers as the pure-Python source."""

from __future__ import annotations

import hashlib
import importlib.machinery
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import careos_sim
from careos_sim import native
from careos_sim.native import COMPILED_MODULES, choose_build

ROOT = Path(__file__).resolve().parents[1]
SUFFIX = importlib.machinery.EXTENSION_SUFFIXES[0]
MODULES = ("careos_sim.model.tasks", "careos_sim.measure.recorder")


def tree(tmp_path: Path, compiled: tuple[str, ...] = MODULES, manifest: bool = True) -> Path:
    """A package tree with the two modules' sources, an (empty) extension beside each module in
    ``compiled``, and a manifest of their digests."""
    record = {}
    for module in MODULES:
        source = tmp_path / (module.replace(".", "/") + ".py")
        source.parent.mkdir(parents=True, exist_ok=True)
        source.write_text(f"# {module}\n")
        record[module] = hashlib.sha256(source.read_bytes()).hexdigest()
        if module in compiled:
            source.with_suffix(SUFFIX).write_bytes(b"")
    if manifest:
        (tmp_path / "careos_sim" / "_native_build.json").write_text(json.dumps(record))
    return tmp_path


def test_a_compiled_tree_that_matches_its_sources_runs_compiled(tmp_path):
    build = choose_build(MODULES, tree(tmp_path), environ={})
    assert build.compiled, build.reason


def test_no_extension_is_the_pure_build(tmp_path):
    build = choose_build(MODULES, tree(tmp_path, compiled=()), environ={})
    assert not build.compiled and "not compiled" in build.reason


def test_an_edited_source_is_never_shadowed_by_its_stale_compiled_copy(tmp_path):
    root = tree(tmp_path)
    (root / "careos_sim/model/tasks.py").write_text("# edited\n")
    build = choose_build(MODULES, root, environ={})
    assert not build.compiled
    assert "edited since compiled: careos_sim.model.tasks" in build.reason and "pip install -e ." in build.reason


def test_a_missing_record_or_module_or_the_variable_falls_back_to_the_source(tmp_path):
    assert not choose_build(MODULES, tree(tmp_path / "a", manifest=False), environ={}).compiled
    partial = choose_build(MODULES, tree(tmp_path / "b", compiled=MODULES[:1]), environ={})
    assert not partial.compiled and "careos_sim.measure.recorder" in partial.reason
    pure = choose_build(MODULES, tree(tmp_path / "c"), environ={"CAREOS_SIM_PURE": "1"})
    assert not pure.compiled and "CAREOS_SIM_PURE" in pure.reason


def test_the_modules_loaded_are_the_build_chosen():
    """Every hot module comes from the extension when the build is compiled, else from its source."""
    import importlib
    for name in COMPILED_MODULES:
        path = importlib.import_module(name).__file__
        assert path.endswith(SUFFIX) == native.BUILD.compiled, (name, path, native.BUILD)


@pytest.mark.skipif(not os.environ.get("CAREOS_REQUIRE_COMPILED"), reason="CAREOS_REQUIRE_COMPILED is not set")
def test_ci_runs_the_compiled_build():
    """CI builds with a C compiler: its test run must exercise the compiled modules (a type error
    that mypyc refuses would otherwise fall back to pure Python unseen)."""
    assert native.BUILD.compiled, str(native.BUILD)


def test_the_compiled_and_the_pure_build_give_the_same_numbers():
    """One fixed-seed replication of each preset, here and in a process that loads the source
    (CAREOS_SIM_PURE=1): every metric equal, to the last bit."""
    code = ("import json, careos_sim\n"
            "from careos_sim.experiment.replications import with_run_settings\n"
            "out = {}\n"
            "for name in ('telling', 'listening'):\n"
            "    sc = with_run_settings(careos_sim.load_scenario(f'scenarios/{name}.yaml'), horizon_days=28)\n"
            "    out[name] = careos_sim.run_replication(sc, 3, 1).metrics\n"
            "out['build'] = str(careos_sim.native.BUILD)\n"
            "print(json.dumps(out))\n")
    runs = {}
    for mode, extra in (("default", {}), ("pure", {"CAREOS_SIM_PURE": "1"})):
        env = {k: v for k, v in os.environ.items() if k != "CAREOS_SIM_PURE"} | extra
        done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                              timeout=600)
        assert done.returncode == 0, done.stderr
        runs[mode] = json.loads(done.stdout.splitlines()[-1])
    assert runs["pure"]["build"].startswith("pure Python")
    assert runs["default"]["build"] == str(native.BUILD)
    for name in ("telling", "listening"):
        a, b = runs["default"][name], runs["pure"][name]
        assert a.keys() == b.keys()
        differ = {k: (a[k], b[k]) for k in a if not (a[k] == b[k] or (a[k] != a[k] and b[k] != b[k]))}
        assert not differ, differ
