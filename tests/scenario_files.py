"""Scenario files written in a test's own folder, and the lines of the error loading one raises.

Imported by the loader's tests (``from scenario_files import in_tmp, write``): ``in_tmp`` is an
autouse fixture, so importing it runs every test of the importing module in its own folder,
where files are shown by short relative names.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any, Callable

import pytest

from careos_sim.spec.loader import InputError


@pytest.fixture(autouse=True)
def in_tmp(tmp_path, monkeypatch):
    """Run the test in its own folder, so files are shown by short relative names."""
    monkeypatch.chdir(tmp_path)


def write(name: str, text: str) -> Path:
    """Write ``text`` (dedented) to ``name``, making its folders."""
    path = Path(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def raised(load: Callable[..., Any], path: Any, *args: Any, **kw: Any) -> InputError:
    """The InputError that ``load(path, ...)`` must raise."""
    with pytest.raises(InputError) as info:
        load(path, *args, **kw)
    return info.value


def issue_lines(error: InputError) -> list[str]:
    """The error's lines, one an issue, checked to be exactly what it prints."""
    lines = [str(issue) for issue in error.issues]
    assert str(error) == "\n".join(lines)
    return lines
