"""Hostile input: files and ``--set`` values that try to crash, hang or mislead the loader.

Each test pins that the problem is an :class:`InputError` naming the file, the line where there
is one and the dotted path, and never a traceback or any other exception.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from careos_sim.spec import loader
from careos_sim.cli.main import main
from careos_sim.spec.loader import (MAX_DEPTH, MAX_FILE_BYTES, MAX_NODES, InputError, load_any, load_document, load_scenario,
                               load_yaml_text, parse_set)
from careos_sim.spec.hospital import HospitalSpec
from careos_sim.spec.scenario import ScenarioSpec
from scenario_files import in_tmp, raised, write  # noqa: F401 (in_tmp: autouse)

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = REPO / "scenarios"
DEFAULT = SCENARIOS / "default.yaml"


def errors(path, overrides=None, **kw) -> list[str]:
    """The printed lines of the InputError that loading ``path`` must raise (within 30 s: not a hang)."""
    with no_hang():
        return str(raised(load_scenario, path, overrides, **kw)).splitlines()


class no_hang:
    """Fail (rather than hang the suite) if the block takes longer than ``seconds``: SIGALRM
    interrupts even a blocking ``open()`` of a fifo in the main thread."""

    def __init__(self, seconds: int = 30):  # a hang, not a slow machine
        self.seconds = seconds

    def __enter__(self):
        def alarm(signum, frame):
            raise TimeoutError(f"took more than {self.seconds} s")
        self.old = signal.signal(signal.SIGALRM, alarm)
        signal.alarm(self.seconds)

    def __exit__(self, *exc):
        signal.alarm(0)
        signal.signal(signal.SIGALRM, self.old)
        return False


def cli_errors(capsys, *argv) -> list[str]:
    """``careos-sim ARGV`` must exit 2 with located errors on stderr and no traceback."""
    with no_hang():
        rc = main(list(argv))
    out, err = capsys.readouterr()
    assert rc == 2, (out, err)
    assert "Traceback" not in err and "Error:" not in err.split(": ", 1)[0]
    return err.splitlines()


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


# --------------------------------------------------------------------------- implicit types


@pytest.mark.parametrize("text, expected", [
    ("unit:\n  beds: yes\n", "s.yaml:2: unit.beds: must be an integer (got 'yes')"),
    ("unit:\n  beds: No\n", "s.yaml:2: unit.beds: must be an integer (got 'No')"),
    ("unit:\n  beds: on\n", "s.yaml:2: unit.beds: must be an integer (got 'on')"),
    ("unit:\n  beds: off\n", "s.yaml:2: unit.beds: must be an integer (got 'off')"),
    ("unit:\n  beds: y\n", "s.yaml:2: unit.beds: must be an integer (got 'y')"),
    ("run:\n  seed: true\n", "s.yaml:2: run.seed: must be an integer, not true/false (got true)"),
    ("unit:\n  beds: True\n", "s.yaml:2: unit.beds: must be an integer, not true/false (got true)"),
    ("patients:\n  lep_share: false\n", "s.yaml:2: patients.lep_share: must be a number, not true/false (got false)"),
    ("patients:\n  hold_census_full: yes\n", "s.yaml:2: patients.hold_census_full: must be true or false (got 'yes')"),
    ("patients:\n  hold_census_full: off\n", "s.yaml:2: patients.hold_census_full: must be true or false (got 'off')"),
    ("patients:\n  hold_census_full: 1\n", "s.yaml:2: patients.hold_census_full: must be true or false (got 1)"),
], ids=["yes", "No", "on", "off", "y", "seed-true", "beds-True", "float-false", "bool-yes", "bool-off", "bool-1"])
def test_booleans_are_only_true_and_false_and_never_numbers(text, expected):
    assert errors(write("s.yaml", text)) == [expected]


@pytest.mark.parametrize("value", ["1:4", "1:30:00", "-1:4", "190:20:30.15"])
def test_base_60_is_not_a_number(value):
    path = write("s.yaml", f"staff:\n  nurses:\n    ratio:\n      day: {value}\n")
    assert errors(path) == [f"s.yaml:4: staff.nurses.ratio.day: must be a number written in decimal (got '{value}')"]


@pytest.mark.parametrize("value", ["0x1F", "0o17", "017", "0b11", "1_000", "+0x10", "00", "1__0"])
def test_hex_octal_binary_and_underscores_are_not_numbers(value):
    assert errors(write("s.yaml", f"unit:\n  beds: {value}\n")) == [
        f"s.yaml:2: unit.beds: must be an integer written in decimal (got '{value}')"]


@pytest.mark.parametrize("value, shown", [(".inf", "Infinity"), ("-.inf", "-Infinity"), ("+.INF", "Infinity"),
                                          (".nan", "NaN"), (".NaN", "NaN")])
def test_infinity_and_nan_are_located_errors(value, shown):
    path = write("s.yaml", f"name: x\nrun:\n  horizon_days: {value}\n")
    assert errors(path) == [f"s.yaml:3: run.horizon_days: must be a finite number (got {shown})"]


@pytest.mark.parametrize("value", ["inf", "nan", "Infinity", " 20", "20 ", "1_0"])
def test_quoted_numbers_that_pydantic_would_coerce_are_refused(value):
    assert errors(write("s.yaml", f'unit:\n  beds: "{value}"\n')) == [
        f"s.yaml:2: unit.beds: must be an integer written in decimal (got {value!r})"]


def test_quoted_plain_decimals_and_exponents_are_numbers():
    scenario = load_scenario(write("s.yaml", 'unit:\n  beds: "20"\n  target_occupancy: 8e-1\n'))
    assert (scenario.unit.beds, scenario.unit.target_occupancy) == (20, 0.8)
    assert load_scenario(write("t.yaml", "unit:\n  beds: 2e1\n")).unit.beds == 20


@pytest.mark.parametrize("value", ["yes", "1:4", "2024-01-01", "0x1F", "=", "off"])
def test_text_fields_keep_what_was_written(value):
    assert load_scenario(write("s.yaml", f"name: {value}\n")).name == value


def test_reader_types_table():
    """The table in the loader's docstring."""
    text = ("[true, True, FALSE, yes, no, on, off, y, n, 1:4, 017, 0o17, 0x1F, 1_000, 1e3, .5, -0, 2024-01-01,"
            " ~, null, '', =, .inf, -.inf]")
    got = load_yaml_text(text)
    assert got[:-2] == [True, True, False, "yes", "no", "on", "off", "y", "n", "1:4", "017", "0o17", "0x1F",
                        "1_000", 1000.0, 0.5, 0, "2024-01-01", None, None, "", "="]
    assert got[-2:] == [float("inf"), float("-inf")]
    nan = load_yaml_text(".nan")
    assert nan != nan


@pytest.mark.parametrize("text, problem", [
    ("unit:\n  beds: !!int 0x1F\n", "cannot read '0x1F' as a decimal integer"),
    ("unit:\n  beds: !!float 1:4\n", "cannot read '1:4' as a decimal number"),
    ("patients:\n  hold_census_full: !!bool yes\n", "cannot read 'yes' as true or false"),
    ("name: !!binary aGVsbG8=\n", "could not determine a constructor for the tag 'tag:yaml.org,2002:binary'"),
    ("name: !!set {a: null}\n", "could not determine a constructor for the tag 'tag:yaml.org,2002:set'"),
    ("name: !!timestamp 2024-01-01\n", "could not determine a constructor for the tag 'tag:yaml.org,2002:timestamp'"),
    ("name: !!python/name:os.system x\n", "could not determine a constructor for the tag "
                                          "'tag:yaml.org,2002:python/name:os.system'"),
    ("name: !foo x\n", "could not determine a constructor for the tag '!foo'"),
], ids=["int-hex", "float-base60", "bool-yes", "binary", "set", "timestamp", "python", "local"])
def test_explicit_tags_are_limited_to_the_core_ones(text, problem):
    line = 2 if text.startswith(("unit", "patients")) else 1
    [message] = errors(write("s.yaml", text))
    assert message.startswith(f"s.yaml:{line}: <document>: malformed YAML: ") and problem in message


@pytest.mark.parametrize("item, expected", [
    ("unit.beds=yes", "--set unit.beds=yes: unit.beds: must be an integer (got 'yes')"),
    ("run.seed=true", "--set run.seed=true: run.seed: must be an integer, not true/false (got true)"),
    ("staff.nurses.ratio.day=1:4",
     "--set staff.nurses.ratio.day=1:4: staff.nurses.ratio.day: must be a number written in decimal (got '1:4')"),
    ("unit.beds=017", "--set unit.beds=017: unit.beds: must be an integer written in decimal (got '017')"),
    ("run.horizon_days=.inf", "--set run.horizon_days=.inf: run.horizon_days: must be a finite number (got Infinity)"),
    ("patients.hold_census_full=on",
     "--set patients.hold_census_full=on: patients.hold_census_full: must be true or false (got 'on')"),
], ids=["yes", "seed-true", "base-60", "octal", "inf", "bool-on"])
def test_set_values_are_read_like_the_file(item, expected):
    assert errors(DEFAULT, [item]) == [expected]


def test_python_overrides_get_the_same_checks():
    assert errors(DEFAULT, {"unit.beds": True}) == [
        "--set unit.beds=True: unit.beds: must be an integer, not true/false (got true)"]
    assert errors(DEFAULT, {"run.horizon_days": float("nan")}) == [
        "--set run.horizon_days=nan: run.horizon_days: must be a finite number (got NaN)"]
    assert load_scenario(DEFAULT, {"unit.beds": "12", "patients.hold_census_full": True}).unit.beds == 12


def test_every_shipped_scenario_still_loads():
    for path in sorted(SCENARIOS.rglob("*.yaml")):
        assert isinstance(load_any(path), (ScenarioSpec, HospitalSpec)), path
        assert path.stat().st_size < MAX_FILE_BYTES // 100


# --------------------------------------------------------------------------- aliases and nesting


def billion_laughs(levels: int = 9, width: int = 10) -> str:
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]")
    lines.append(f"name: *a{levels - 1}")
    return "\n".join(lines) + "\n"


def test_billion_laughs_is_a_located_error_quickly():
    path = write("s.yaml", billion_laughs())
    assert path.stat().st_size < 1000
    start = time.perf_counter()
    [message] = errors(path)
    assert time.perf_counter() - start < 1.0
    assert message.startswith("s.yaml:") and message.endswith(
        f": <document>: malformed YAML: more than {MAX_NODES} values (an alias counts as a copy of what it names)"
        f" (got {message.split('(got ', 1)[1]}")
    assert int(message.split(":")[1]) in range(1, 11)


def test_billion_laughs_in_set_is_refused():
    start = time.perf_counter()
    value = "[" + ", ".join(["&x [a, a, a, a, a, a, a, a, a, a]"] + ["*x"] * 20000) + "]"
    with pytest.raises(InputError) as info:
        parse_set(f"name={value}")
    assert str(info.value).startswith(f"--set: name: value is not valid YAML: more than {MAX_NODES} values")
    assert time.perf_counter() - start < 2.0


def test_recursive_alias_is_refused():
    assert errors(write("s.yaml", "name: x\nunit: &u\n  beds: *u\n")) == [
        "s.yaml:3: <document>: malformed YAML: alias *u refers to the collection that contains it (got 'beds: *u')"]
    assert errors(write("t.yaml", "a: &a [*a]\n")) == [
        "t.yaml:1: <document>: malformed YAML: alias *a refers to the collection that contains it (got 'a: &a [*a]')"]


def test_ordinary_aliases_and_merge_keys_still_work():
    path = write("s.yaml", """
        staff:
          nurses:
            ratio: {day: &r 4, night: *r}
        tasks:
          medication: &med {window_min: 90}
          hygiene_mobility:
            <<: *med
        """)
    scenario = load_scenario(path)
    assert scenario.staff.nurses.ratio.day == scenario.staff.nurses.ratio.night == 4
    assert scenario.tasks.hygiene_mobility.window_min == 90


@pytest.mark.parametrize("depth", [10 ** 5, 1000, MAX_DEPTH + 1])
def test_deep_flow_nesting_is_a_located_error_not_a_recursion_error(depth):
    path = write("s.yaml", "name: x\nunit: " + "[" * depth + "]" * depth + "\n")
    [message] = errors(path)
    assert message.startswith(f"s.yaml:2: <document>: malformed YAML: nested more than {MAX_DEPTH} levels deep")


def test_deep_block_nesting_names_the_line():
    text = "".join("  " * i + f"k{i}:\n" for i in range(80)) + "  " * 80 + "x: 1\n"
    assert errors(write("s.yaml", text))[0].startswith(
        f"s.yaml:{MAX_DEPTH + 1}: <document>: malformed YAML: nested more than {MAX_DEPTH} levels deep")


def test_nesting_at_the_cap_is_read():
    assert load_yaml_text("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None


def test_deep_nesting_through_aliases_is_refused():
    text = "a0: &a0 " + "[" * 40 + "]" * 40 + "\n" + "a1: &a1 " + "[" * 20 + "*a0" + "]" * 20 + "\n"
    with pytest.raises(InputError) as info:
        load_yaml_text(text, "t.yaml")
    assert str(info.value) == (f"t.yaml:2: <document>: malformed YAML: nested more than {MAX_DEPTH} levels deep "
                               f"(aliases included) (got {text.splitlines()[1]!r})")


def test_deep_set_value_is_refused():
    with pytest.raises(InputError) as info:
        parse_set("name=" + "[" * 10 ** 5)
    assert str(info.value).startswith(f"--set: name: value is not valid YAML: nested more than {MAX_DEPTH} levels")


def test_file_too_large():
    path = Path("big.yaml")
    path.write_bytes(b"# " + b"x" * MAX_FILE_BYTES + b"\n")
    assert errors(path) == [
        f"big.yaml:1: <file>: file is too large ({MAX_FILE_BYTES + 3} bytes; at most {MAX_FILE_BYTES})"
        " (got 'big.yaml')"]


def test_long_values_are_cut_in_messages():
    [message] = errors(write("s.yaml", "unit:\n  beds: " + "x" * 5000 + "\n"))
    assert len(message) < 300 and message.endswith("...)")


# --------------------------------------------------------------------------- files


def test_fifo_does_not_hang():
    os.mkfifo("f.yaml")
    assert errors("f.yaml") == ["f.yaml:1: <file>: is a named pipe (fifo), not a regular file (got 'f.yaml')"]


def test_fifo_swapped_in_after_the_check_does_not_hang(monkeypatch):
    os.mkfifo("f.yaml")
    monkeypatch.setattr(loader, "_file_problem", lambda path: None)  # as if it were a file when checked
    assert errors("f.yaml") == ["f.yaml:1: <file>: is a named pipe (fifo), not a regular file (got 'f.yaml')"]


def test_fifo_in_extends_does_not_hang():
    os.mkfifo("f.yaml")
    assert errors(write("s.yaml", "extends: f.yaml\n")) == [
        "s.yaml:1: extends: f.yaml: is a named pipe (fifo), not a regular file (got 'f.yaml')"]


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null", "/dev/urandom"])
def test_devices_are_not_read(device):
    if not os.path.exists(device):
        pytest.skip(f"no {device}")
    assert errors(device) == [f"{device}:1: <file>: is a device, not a regular file (got '{device}')"]
    assert errors(write("s.yaml", f"extends: {device}\n")) == [
        f"s.yaml:1: extends: {device}: is a device, not a regular file (got '{device}')"]


def test_directory_in_extends():
    Path("d").mkdir()
    assert errors(write("s.yaml", "name: x\nextends: d\n")) == [
        "s.yaml:2: extends: d: is a directory, not a scenario file (got 'd')"]


def test_symlink_loop():
    os.symlink("loop.yaml", "loop.yaml")
    assert errors("loop.yaml") == [
        "loop.yaml:1: <file>: symlink loop (a link in its path points back to itself) (got 'loop.yaml')"]
    assert errors(write("s.yaml", "extends: loop.yaml\n")) == [
        "s.yaml:1: extends: loop.yaml: symlink loop (a link in its path points back to itself) (got 'loop.yaml')"]
    assert errors("s.yaml", allowed_roots=[Path.cwd()]) == [
        "s.yaml:1: extends: extends may only name a shipped preset (got 'loop.yaml')"]


def test_missing_folder_and_file_in_place_of_a_folder():
    assert errors("nope/s.yaml") == [
        "nope/s.yaml:1: <file>: file not found (its folder does not exist) (got 'nope/s.yaml')"]
    write("f.yaml", "name: x\n")
    assert errors("f.yaml/s.yaml") == [
        "f.yaml/s.yaml:1: <file>: file not found (a folder in its path is a file) (got 'f.yaml/s.yaml')"]
    assert errors(write("s.yaml", "extends: nope/base.yaml\n")) == [
        "s.yaml:1: extends: nope/base.yaml: file not found (its folder does not exist) (got 'nope/base.yaml')"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_permission_denied_for_real():
    path = write("s.yaml", "name: x\n")
    os.chmod(path, 0o000)
    try:
        assert errors(path) == ["s.yaml:1: <file>: permission denied (got 's.yaml')"]
    finally:
        os.chmod(path, 0o600)


def test_permission_denied(monkeypatch):
    """As root (where chmod 000 does not stop reading), the open is made to fail as it would."""
    path = write("s.yaml", "name: x\n")
    base = write("base.yaml", "name: b\n")
    write("t.yaml", "extends: base.yaml\n")
    real_open = os.open

    def refuse(p, *args, **kw):
        if Path(p).name in ("s.yaml", "base.yaml"):
            raise PermissionError(13, "Permission denied", str(p))
        return real_open(p, *args, **kw)

    monkeypatch.setattr(loader.os, "open", refuse)
    assert errors(path) == ["s.yaml:1: <file>: permission denied (got 's.yaml')"]
    assert errors("t.yaml") == [f"base.yaml:1: <file>: permission denied (got '{base.resolve()}')"]


@pytest.mark.parametrize("data, expected", [
    (b"name: x\nunit:\n  beds: \xff\n", "s.yaml:3: <file>: is not UTF-8 text (byte 0xFF at column 9)"),
    ("name: caf\u00e9\n".encode("latin-1"), "s.yaml:1: <file>: is not UTF-8 text (byte 0xE9 at column 10)"),
    ("name: x\n".encode("utf-16"), "s.yaml:1: <file>: is not UTF-8 text (byte 0xFF at column 1)"),
], ids=["byte-ff", "latin-1", "utf-16"])
def test_non_utf8_names_file_and_line(data, expected):
    Path("s.yaml").write_bytes(data)
    assert errors("s.yaml") == [expected]


def test_non_utf8_base_is_named():
    Path("base.yaml").write_bytes(b"name: b\nunit: {beds: \x80}\n")
    write("s.yaml", "extends: base.yaml\n")
    assert errors("s.yaml") == ["base.yaml:2: <file>: is not UTF-8 text (byte 0x80 at column 14)"]


def test_utf8_bom_is_accepted():
    Path("s.yaml").write_bytes("\ufeffname: x\n".encode("utf-8"))
    assert load_scenario("s.yaml").name == "x"


@pytest.mark.parametrize("text, line, char", [("name: x\x00\n", 1, "0000"), ("name: x\nunit: \x07\n", 2, "0007"),
                                              ("name: x\n\n\x1b[31m: 1\n", 3, "001B")])
def test_control_characters_are_located(text, line, char):
    Path("s.yaml").write_text(text, encoding="utf-8")
    [message] = errors("s.yaml")
    assert message.startswith(f"s.yaml:{line}: <document>: malformed YAML: character U+{char} is not allowed")


def test_unpaired_surrogate_escape_is_refused():
    assert errors(write("s.yaml", 'name: "\\ud800"\n')) == [
        "s.yaml:1: <document>: malformed YAML: a string holds an unpaired surrogate escape (not a character)"
        " (got 'name: \"\\\\ud800\"')"]


def test_nul_byte_in_extends():
    assert errors(write("s.yaml", 'extends: "a\\0b.yaml"\n')) == [
        "s.yaml:1: extends: a\x00b.yaml: not a valid file name (got 'a\\x00b.yaml')"]


def test_experiment_files_use_the_same_reader(tmp_path):
    from careos_sim.experiment.design import load_experiment

    os.mkfifo("e.yaml")
    with no_hang(), pytest.raises(InputError) as info:
        load_experiment("e.yaml")
    assert str(info.value) == "e.yaml:1: <file>: is a named pipe (fifo), not a regular file (got 'e.yaml')"


# --------------------------------------------------------------------------- the command line: exit 2, no traceback


def _cli_case(kind: str) -> tuple[str, str]:
    """Make the hostile input of ``kind``; return the file to validate and the expected first line."""
    if kind == "fifo":
        os.mkfifo("s.yaml")
        return "s.yaml", "s.yaml:1: <file>: is a named pipe (fifo), not a regular file (got 's.yaml')"
    if kind == "device":
        return "/dev/zero", "/dev/zero:1: <file>: is a device, not a regular file (got '/dev/zero')"
    if kind == "directory":
        Path("s.yaml").mkdir()
        return "s.yaml", "s.yaml:1: <file>: is a directory, not a scenario file (got 's.yaml')"
    if kind == "symlink-loop":
        os.symlink("s.yaml", "s.yaml")
        return "s.yaml", "s.yaml:1: <file>: symlink loop (a link in its path points back to itself) (got 's.yaml')"
    if kind == "missing":
        return "nope.yaml", "nope.yaml:1: <file>: file not found (got 'nope.yaml')"
    if kind == "missing-folder":
        return "no/s.yaml", "no/s.yaml:1: <file>: file not found (its folder does not exist) (got 'no/s.yaml')"
    if kind == "non-utf8":
        Path("s.yaml").write_bytes(b"name: \xc3\x28\n")
        return "s.yaml", "s.yaml:1: <file>: is not UTF-8 text (byte 0xC3 at column 7)"
    if kind == "billion-laughs":
        write("s.yaml", billion_laughs())
        return "s.yaml", f"<document>: malformed YAML: more than {MAX_NODES} values"
    if kind == "deep-nesting":
        write("s.yaml", "unit: " + "[" * 10 ** 5 + "\n")
        return "s.yaml", f"s.yaml:1: <document>: malformed YAML: nested more than {MAX_DEPTH} levels deep"
    if kind == "boolean":
        write("s.yaml", "run:\n  seed: true\n")
        return "s.yaml", "s.yaml:2: run.seed: must be an integer, not true/false (got true)"
    if kind == "base-60":
        write("s.yaml", "staff:\n  nurses:\n    ratio: {day: 1:4}\n")
        return "s.yaml", "s.yaml:3: staff.nurses.ratio.day: must be a number written in decimal (got '1:4')"
    if kind == "extends-fifo":
        os.mkfifo("base.yaml")
        write("s.yaml", "extends: base.yaml\n")
        return "s.yaml", "s.yaml:1: extends: base.yaml: is a named pipe (fifo), not a regular file (got 'base.yaml')"
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["fifo", "device", "directory", "symlink-loop", "missing", "missing-folder",
                                  "non-utf8",
                                  "billion-laughs", "deep-nesting", "boolean", "base-60", "extends-fifo"])
def test_cli_validate_exits_2_without_traceback(kind, capsys):
    path, expected = _cli_case(kind)
    lines = cli_errors(capsys, "validate", path)
    assert len(lines) == 1
    assert lines[0].startswith(expected) or (expected in lines[0] and lines[0].startswith(f"{path}:"))


def test_cli_set_value_exits_2_without_traceback(capsys):
    assert cli_errors(capsys, "validate", str(DEFAULT), "--set", "unit.beds=yes") == [
        "--set unit.beds=yes: unit.beds: must be an integer (got 'yes')"]
    assert cli_errors(capsys, "validate", str(DEFAULT), "--set", "name=" + "[" * 5000)[0].startswith(
        f"--set: name: value is not valid YAML: nested more than {MAX_DEPTH} levels deep")


# --------------------------------------------------------------------------- property-based: Scenario or InputError


def _leaf_paths(data, prefix=()):
    for key, value in data.items():
        if isinstance(value, dict) and value:
            yield from _leaf_paths(value, (*prefix, key))
        else:
            yield (*prefix, key)


LEAVES = sorted(_leaf_paths(ScenarioSpec().model_dump(mode="json")))
TRICKY = ["yes", "no", "on", "off", "y", "n", "true", "false", "True", "NO", "1:4", "-1:30", "0x1F", "0o17", "017",
          "0b11", "1_000", ".inf", "-.inf", ".nan", "1e3", "1e999", "-0", "0", "1", "-1", "0.5", "1.", ".5", "~",
          "null", "", "=", "<<", "2024-01-01", "12:30:00", "'20'", '"x"', "[]", "{}", "[1, 2]", "{a: 1}", "&a 1",
          "*a", "!!int 3", "!!float x", "!!python/object:os.system x", "!!binary AA==", "|\n  x", ">-\n  y",
          "\"\\ud800\"", "\"\\0\"", "- 1", "? x", "%YAML 1.1", "---", "...", "@x", "`x", "#", "'unclosed", "[1",
          "9" * 400, "1e308", "-1e308", "4.9e-324"]
SETTINGS = settings(max_examples=int(os.environ.get("HOSTILE_EXAMPLES", 100)), deadline=2000, database=None,
                    derandomize="HOSTILE_EXAMPLES" not in os.environ,  # a long hunt: random seeds
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def load_or_input_error(path: Path, overrides=None) -> None:
    """The property: a Scenario or an InputError (any other exception fails the test)."""
    try:
        assert isinstance(load_scenario(path, overrides), ScenarioSpec)
    except InputError as exc:
        assert exc.issues and all(str(i) for i in exc.issues)


@SETTINGS
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=300))
def test_random_text_gives_a_scenario_or_input_error(text):
    path = Path("r.yaml")
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    load_or_input_error(path)


@SETTINGS
@given(st.binary(max_size=300))
def test_random_bytes_give_a_scenario_or_input_error(data):
    path = Path("r.yaml")
    path.write_bytes(data)
    load_or_input_error(path)


_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20),
                     st.sampled_from(TRICKY))
_trees = st.recursive(_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=5),
    st.dictionaries(st.one_of(st.sampled_from([p[-1] for p in LEAVES] + ["unit", "staff", "run", "extends"]),
                              st.text(max_size=10)), inner, max_size=5)), max_leaves=30)


@SETTINGS
@given(st.dictionaries(st.sampled_from(["name", "unit", "patients", "tasks", "staff", "run", "extends", "x"]),
                       _trees, max_size=4), st.sampled_from(["block", "flow", "canonical"]))
def test_random_structures_give_a_scenario_or_input_error(doc, style):
    text = yaml.safe_dump(doc, default_flow_style={"block": False, "flow": True, "canonical": None}[style],
                          canonical=style == "canonical", allow_unicode=True)
    path = Path("r.yaml")
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    load_or_input_error(path)


@SETTINGS
@given(st.lists(st.tuples(st.sampled_from(LEAVES), st.one_of(st.sampled_from(TRICKY), st.text(max_size=12))),
                min_size=1, max_size=4))
def test_random_scalars_at_scenario_keys_give_a_scenario_or_input_error(assignments):
    lines = []
    for path, raw in assignments:
        value = raw.replace("\n", "\n" + "  " * len(path))
        lines.append("\n".join(f"{'  ' * i}{key}:" for i, key in enumerate(path)) + f" {value}")
    path = Path("r.yaml")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8", errors="surrogatepass")
    load_or_input_error(path)


@SETTINGS
@given(st.one_of(
    st.text(max_size=60),
    st.builds(lambda p, v: ".".join(p) + "=" + v, st.sampled_from(LEAVES), st.sampled_from(TRICKY)),
    st.builds(lambda p, v: ".".join(p) + "=" + v, st.sampled_from(LEAVES), st.text(max_size=30)),
))
def test_random_set_strings_give_a_scenario_or_input_error(item):
    load_or_input_error(DEFAULT, [item])
    try:
        parse_set(item)
    except InputError:
        pass


def test_long_extends_chain_is_refused():
    from careos_sim.spec.loader import MAX_EXTENDS

    for i in range(MAX_EXTENDS + 5):
        write(f"c{i}.yaml", f"extends: c{i + 1}.yaml\n")
    write(f"c{MAX_EXTENDS + 5}.yaml", "name: end\n")
    [message] = errors("c0.yaml")
    assert message == (f"c{MAX_EXTENDS}.yaml:1: extends: extends chain is longer than {MAX_EXTENDS} files "
                       f"(got 'c{MAX_EXTENDS + 1}.yaml')")
    assert load_scenario(f"c{5}.yaml").name == "end"
