"""Hostile input: files and ``--set`` values that try to crash, hang or mislead the loader.

Each test pins that the problem is an :class:`InputError` naming the file, the line where there
is one and the dotted path, and never a traceback or any other exception.
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from careos_sim.loader import InputError, load_document, load_scenario

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = REPO / "scenarios"
DEFAULT = SCENARIOS / "default.yaml"


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path, monkeypatch):
    """Run every test in its own folder, so files are shown by short relative names."""
    monkeypatch.chdir(tmp_path)


def write(name: str, text: str) -> Path:
    path = Path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def errors(path, overrides=None, **kw) -> list[str]:
    """The printed lines of the InputError that loading ``path`` must raise."""
    with pytest.raises(InputError) as info:
        load_scenario(path, overrides, **kw)
    return str(info.value).splitlines()


# --------------------------------------------------------------------------- allowed_roots


def test_extends_inside_allowed_roots_is_read():
    write("mine.yaml", f"extends: {DEFAULT}\nunit:\n  beds: 20\n")
    assert load_scenario("mine.yaml", allowed_roots=[SCENARIOS]).unit.beds == 20


def test_extends_outside_allowed_roots_is_refused_without_opening_it(tmp_path):
    secret = write("secret/passwords.yaml", "unit:\n  beds: hunter2\n")
    write("mine.yaml", "# a comment\nextends: secret/passwords.yaml\n")
    os.chmod(secret, 0o000)  # opening it would fail differently (and, as root, reveal its content)
    try:
        assert errors("mine.yaml", allowed_roots=[SCENARIOS]) == [
            "mine.yaml:2: extends: extends may only name a shipped preset (got 'secret/passwords.yaml')"]
    finally:
        os.chmod(secret, 0o600)


@pytest.mark.parametrize("written", ["/etc/passwd", "../../../../../../../etc/hostname", "missing.yaml",
                                     "scenarios/../../etc/passwd"])
def test_extends_escaping_roots_echoes_only_what_was_written(written):
    write("mine.yaml", f"extends: {written}\n")
    assert errors("mine.yaml", allowed_roots=[SCENARIOS]) == [
        f"mine.yaml:1: extends: extends may only name a shipped preset (got {written!r})"]


def test_extends_through_a_symlink_out_of_the_roots_is_refused(tmp_path):
    root = tmp_path / "presets"
    root.mkdir()
    write("outside.yaml", "unit:\n  beds: 3\n")
    (root / "link.yaml").symlink_to(tmp_path / "outside.yaml")
    write("presets/chained.yaml", "extends: link.yaml\n")
    write("mine.yaml", "extends: presets/chained.yaml\n")
    assert errors("mine.yaml", allowed_roots=[root]) == [
        "presets/chained.yaml:1: extends: extends may only name a shipped preset (got 'link.yaml')"]
    assert load_scenario("mine.yaml").unit.beds == 3  # without roots: followed as before


def test_allowed_roots_check_every_link_of_the_chain(tmp_path):
    root = tmp_path / "presets"
    write("presets/a.yaml", "extends: ../b.yaml\n")
    write("b.yaml", f"extends: {DEFAULT}\n")
    write("mine.yaml", "extends: presets/a.yaml\n")
    lines = errors("mine.yaml", allowed_roots=[root, SCENARIOS])
    assert lines == ["presets/a.yaml:1: extends: extends may only name a shipped preset (got '../b.yaml')"]
    assert load_document("mine.yaml", allowed_roots=[tmp_path, SCENARIOS]).data["unit"]
