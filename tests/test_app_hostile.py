"""The app against hostile input: uploads and ``extends`` that try to read other files on the server,
symbolic links, oversized and costly files, strange file names, names that carry Markdown, HTML or
script, runs over the limits, and errors that must not show their details on the page.

Every case checks what the page (or the logic behind it) shows: never a value from a file other than
the shipped presets and the upload, never raw HTML or Markdown from a user's string, never a traceback.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from careos_sim.app import logic, streamlit_command, upload_size_mb
from careos_sim.spec.loader import InputError

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "careos_sim" / "app" / "streamlit_app.py"
SECRET = "TOPSECRET-d41d8cd9"  # stands for any content of a file the app must not show
HOSTILE_NAME = "<script>alert('x')</script> **bold** [link](javascript:alert(1)) ![i](http://e.vil/t.png) `c` $m$"
LIMIT_VARS = ("CAREOS_APP_MAX_HORIZON_DAYS", "CAREOS_APP_MAX_REPLICATIONS", "CAREOS_APP_MAX_REPLICATION_DAYS",
              "CAREOS_APP_MAX_NURSES", "CAREOS_APP_MAX_BEDS", "CAREOS_APP_MAX_UPLOAD_BYTES", "CAREOS_SCENARIOS_DIR",
              "CAREOS_SIM_MAX_RUNS", "CAREOS_SIM_MAX_NURSES", "CAREOS_SIM_MAX_EXPECTED_TASKS",
              "CAREOS_SIM_MAX_REPLICATION_DAYS")


@pytest.fixture(autouse=True)
def _no_limit_env(monkeypatch):
    for var in LIMIT_VARS:
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def secret(tmp_path) -> Path:
    """A YAML file outside the upload folder, valid enough that a loader would report its keys and values."""
    path = tmp_path / "outside" / "secret.yaml"
    path.parent.mkdir()
    path.write_text(f"name: {SECRET}\nunit:\n  beds: {SECRET}\n{SECRET}: 1\n")
    return path


@pytest.fixture
def folder(tmp_path) -> Path:
    return tmp_path / "session" / "a"


def upload(folder: Path, text: str, name: str = "mine.yaml", presets: logic.Presets | None = None):
    return logic.load_upload(name, text.encode(), folder, presets or logic.find_presets())


def assert_hidden(errors: list[str], *secrets: str) -> None:
    shown = "\n".join(errors)
    assert errors, "the upload should have been refused"
    for s in (SECRET, "root:x:", "/bin/", *secrets):
        assert s not in shown, f"{s!r} leaked into: {shown}"


def unescaped(text: str, char: str = "<") -> bool:
    """Whether ``text`` holds ``char`` without a backslash before it (as Markdown would read it)."""
    return re.search(r"(?<!\\)" + re.escape(char), text) is not None


# --------------------------------------------------------------------------- extends: only the presets

def test_extends_to_etc_passwd_is_refused_at_its_line_echoing_only_what_was_written(folder):
    path, scenario, errors = upload(folder, "name: mine\nextends: /etc/passwd\n")
    assert scenario is None
    assert_hidden(errors)
    (line,) = errors
    assert line.startswith("mine.yaml:2: extends: may name only a preset beside the upload")
    assert "(got '/etc/passwd')" in line and "default.yaml, listening.yaml, telling.yaml" in line


def test_an_absolute_extends_to_any_other_yaml_is_refused(folder, secret):
    _, scenario, errors = upload(folder, f"extends: {secret}\n")
    assert scenario is None
    assert_hidden(errors)
    assert f"(got '{secret}')" in errors[0]  # what the user wrote, nothing of the file


@pytest.mark.parametrize("written", ["../../outside/secret.yaml", "./../../outside/secret.yaml",
                                     "telling.yaml/../../../outside/secret.yaml", "../a/../../outside/secret.yaml",
                                     "..//..//outside//secret.yaml"])
def test_a_relative_escape_from_the_upload_folder_is_refused(folder, secret, written):
    _, scenario, errors = upload(folder, f"extends: {written}\n")
    assert scenario is None
    assert_hidden(errors, str(folder))
    assert "extends: may name only a preset" in errors[0] and f"(got '{written}')" in errors[0]


def test_extends_to_a_missing_file_says_so_without_the_servers_folders(folder):
    _, _, errors = upload(folder, "extends: nowhere.yaml\n")
    assert errors == ["mine.yaml:1: extends: may name only a preset beside the upload (default.yaml, "
                      "listening.yaml, telling.yaml): no such preset (got 'nowhere.yaml')"]
    assert str(folder) not in errors[0] and str(ROOT) not in errors[0]


def test_extends_with_a_nul_character_is_refused(folder):
    _, scenario, errors = upload(folder, 'extends: "telling.yaml\\0../../etc/passwd"\n')
    assert scenario is None and "NUL" in errors[0]
    assert_hidden(errors)


def test_the_loader_confines_extends_as_well_when_the_apps_own_check_is_bypassed(folder, secret, monkeypatch):
    monkeypatch.setattr(logic, "guard_file", lambda *a, **k: None)  # defence in depth: the loader's allowed_roots
    for written in ("/etc/passwd", str(secret), "../../outside/secret.yaml"):
        _, scenario, errors = upload(folder, f"extends: {written}\n")
        assert scenario is None
        assert_hidden(errors)
        assert "extends" in errors[0]


def test_an_extends_chain_through_allowed_presets_loads(folder):
    # mine -> listening.yaml -> (listening's own chain) -> default.yaml, all copies beside the upload
    path, scenario, errors = upload(folder, "extends: listening.yaml\nname: ours\nunit:\n  beds: 24\n")
    assert errors == [] and scenario.name == "ours" and scenario.unit.beds == 24
    assert scenario.leadership.listening == 1.0
    files = logic.scenario_files(path, path.parent)
    assert path in files and all(f.parent == path.parent for f in files) and len(files) >= 2


def test_extends_may_be_a_list_of_presets_by_file_or_by_name(folder):
    path, scenario, errors = upload(folder, "extends: [telling, listening.yaml]\nname: ours\n")
    assert errors == [] and scenario.name == "ours"
    assert scenario.leadership.listening == 1.0  # the later file over the earlier
    assert all(f.parent == path.parent for f in logic.scenario_files(path, path.parent))


@pytest.mark.parametrize("entry", ["/etc/passwd", "../../outside/secret.yaml", "'telling.yaml\\0x'"])
def test_every_entry_of_an_extends_list_is_confined(folder, secret, entry):
    _, scenario, errors = upload(folder, f"name: mine\nextends:\n  - telling.yaml\n  - {entry}\n")
    assert scenario is None
    assert_hidden(errors)
    assert errors[0].startswith("mine.yaml:2: extends[1]: ") or "NUL" in errors[0], errors


def test_every_entry_of_an_extends_list_is_confined_by_the_loader_too(folder, secret, monkeypatch):
    monkeypatch.setattr(logic, "guard_file", lambda *a, **k: None)  # defence in depth: the loader's allowed_roots
    _, scenario, errors = upload(folder, f"extends: [telling, {secret}]\n")
    assert scenario is None and "extends[1]" in errors[0]
    assert_hidden(errors)


def test_a_chain_is_checked_at_every_step_not_only_at_the_upload(tmp_path, folder, secret):
    # a presets folder whose telling.yaml itself reaches out: the upload's own extends is fine, the next is not
    presets = tmp_path / "presets"
    presets.mkdir()
    (presets / "telling.yaml").write_text("extends: ../outside/secret.yaml\nname: telling\n")
    (presets / "listening.yaml").write_text("name: listening\n")
    _, scenario, errors = upload(folder, "extends: telling.yaml\n", presets=logic.Presets(presets))
    assert scenario is None
    assert_hidden(errors)
    assert errors[0].startswith("telling.yaml:1: extends: may name only a preset")


def test_build_scenario_with_a_root_refuses_an_escape_too(folder, secret):
    path, _, _ = upload(folder, "name: fine\n")
    path.write_text(f"extends: {secret}\n")  # changed on the server after the upload was checked
    with pytest.raises(InputError) as err:
        logic.build_scenario(path, {"run.horizon_days": 14}, "x", root=path.parent)
    assert SECRET not in str(err.value) and "extends" in str(err.value)


# --------------------------------------------------------------------------- symbolic links


def test_an_upload_is_not_written_through_a_symbolic_link_in_its_place(folder, secret):
    folder.mkdir(parents=True)
    before = secret.read_text()
    (folder / "mine.yaml").symlink_to(secret)
    path, scenario, errors = upload(folder, "name: mine\n")
    assert errors == [] and scenario.name == "mine"
    assert not path.is_symlink() and path.read_text() == "name: mine\n"
    assert secret.read_text() == before  # the link's target is untouched


def test_a_preset_copy_is_not_written_through_a_symbolic_link(folder, secret):
    folder.mkdir(parents=True)
    before = secret.read_text()
    (folder / "telling.yaml").symlink_to(secret)
    _, scenario, errors = upload(folder, "extends: telling.yaml\n")
    assert errors == [] and scenario.leadership.pressure_to_work_harder == 1.0
    assert not (folder / "telling.yaml").is_symlink() and secret.read_text() == before


def test_extends_to_a_symbolic_link_beside_the_upload_is_refused(folder, secret):
    path, _, _ = upload(folder, "name: x\n")
    (path.parent / "evil.yaml").symlink_to(secret)  # however it got there
    path.write_text("extends: evil.yaml\n")
    with pytest.raises(InputError) as err:
        logic.build_scenario(path, {}, root=path.parent)
    assert_hidden([str(err.value)])
    assert "extends: may name only a preset" in str(err.value) and "symbolic link" in str(err.value)
    _, scenario, errors = upload(folder, "extends: evil.yaml\n")  # a new upload clears the folder first
    assert scenario is None and not (folder / "evil.yaml").exists()
    assert_hidden(errors)


def test_an_earlier_upload_is_not_reachable_from_the_next(folder):
    upload(folder, "name: first\nunit:\n  beds: 12\n", name="first.yaml")
    _, scenario, errors = upload(folder, "extends: first.yaml\n", name="second.yaml")
    assert scenario is None and "no such preset" in errors[0]
    assert sorted(p.name for p in folder.iterdir()) == ["default.yaml", "listening.yaml", "second.yaml",
                                                         "telling.yaml"]


def test_a_link_in_the_presets_folder_pointing_elsewhere_is_not_copied(tmp_path, folder, secret):
    presets = tmp_path / "presets"
    presets.mkdir()
    for name in ("telling", "listening"):
        (presets / f"{name}.yaml").write_text(f"name: {name}\n")
    (presets / "default.yaml").symlink_to(secret)
    path, _, errors = upload(folder, "name: x\n", presets=logic.Presets(presets))
    assert errors == [] and not (path.parent / "default.yaml").exists()
    _, scenario, errors = upload(folder, "extends: default.yaml\n", presets=logic.Presets(presets))
    assert scenario is None
    assert_hidden(errors)


# --------------------------------------------------------------------------- size and cost of the file


def test_an_upload_over_256_kib_is_refused_with_a_clear_message_and_not_saved(folder):
    assert logic.MAX_UPLOAD_BYTES == 256 * 1024 == logic.Limits().max_upload_bytes
    data = b"name: big\n" + b"#" * logic.MAX_UPLOAD_BYTES
    path, scenario, errors = logic.load_upload("big.yaml", data, folder, logic.find_presets())
    assert (path, scenario) == (None, None) and not (folder / "big.yaml").exists()
    assert errors == [f"big.yaml: <file>: is larger than this app's limit of 256 KiB (environment variable "
                      f"CAREOS_APP_MAX_UPLOAD_BYTES); a scenario file is a few kB (got {len(data):,} bytes)"]
    at_limit = b"name: full\n" + b"#" * (logic.MAX_UPLOAD_BYTES - 12) + b"\n"
    assert len(at_limit) == logic.MAX_UPLOAD_BYTES
    _, scenario, errors = logic.load_upload("full.yaml", at_limit, folder, logic.find_presets())
    assert errors == [] and scenario.name == "full"


def test_the_upload_limit_comes_from_the_environment(folder, monkeypatch):
    monkeypatch.setenv("CAREOS_APP_MAX_UPLOAD_BYTES", "1000")
    _, _, errors = logic.load_upload("x.yaml", b"#" * 1001, folder)
    assert "larger than this app's limit of 1,000 bytes" in errors[0]
    monkeypatch.setenv("CAREOS_APP_MAX_UPLOAD_BYTES", str(5 * 1024 * 1024))
    assert upload_size_mb() == 5
    monkeypatch.delenv("CAREOS_APP_MAX_UPLOAD_BYTES")
    assert upload_size_mb() == 1
    command = streamlit_command(8501)
    assert command[command.index("--server.maxUploadSize") + 1] == "1"


def test_yaml_aliases_that_expand_without_end_are_refused(folder):
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join(['*' + p] * 10)}]\n" for p, c in zip("abcdefg", "bcdefgh"))
    assert len(bomb) < 1000
    _, scenario, errors = upload(folder, bomb)
    assert scenario is None and len(errors) == 1 and "<document>" in errors[0]
    assert "alias" in errors[0] or "nested" in errors[0] or "values" in errors[0]


def test_deep_nesting_is_refused_without_a_crash(folder):
    _, scenario, errors = upload(folder, "[" * 20000 + "]" * 20000)
    assert scenario is None and len(errors) == 1 and "<document>" in errors[0]


def test_a_long_value_in_an_error_is_cut(folder):
    _, _, errors = upload(folder, "unit:\n  beds: " + "x" * 5000 + "\n")
    assert len(errors) == 1 and len(errors[0]) < 500 and "x" * 300 not in errors[0]


def test_many_problems_are_cut_to_a_readable_number(folder):
    _, _, errors = upload(folder, "".join(f"k{i}: 1\n" for i in range(200)))
    assert len(errors) == logic.MAX_ISSUES_SHOWN + 1 and errors[-1].startswith("... and ")


# --------------------------------------------------------------------------- file names


@pytest.mark.parametrize("name", [
    "../../etc/passwd.yaml", "/etc/cron.d/x.yaml", "a/b/c.yaml", "..\\..\\windows\\x.yaml", "x\x00.yaml",
    "x.yaml\x00.png", "<img src=x onerror=alert(1)>.yaml", "....yaml", "..", "", ".hidden.yaml", "-rf.yaml",
    "name with spaces & ;|$(rm).yml", "x" * 500 + ".yaml", "\u202eevil\u202c.yaml", "scenario.exe",
])
def test_an_upload_file_name_is_made_a_plain_name_in_the_upload_folder(folder, name):
    path, scenario, errors = logic.load_upload(name, b"name: ok\n", folder, logic.find_presets())
    assert errors == [] and scenario.name == "ok"
    assert path.parent == folder and path.is_file() and not path.is_symlink()
    assert re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*\.(yaml|yml)", path.name), path.name
    assert ".." not in path.name and len(path.name) <= logic.MAX_NAME_CHARS
    assert sorted(p.name for p in folder.iterdir()) == sorted({"default.yaml", "listening.yaml", "telling.yaml",
                                                                path.name})


# --------------------------------------------------------------------------- limits: warm-up, beds, headcount


def test_warm_up_days_count_in_replication_days():
    limits = logic.Limits()
    assert logic.check_limits(730, 10, limits) == []
    (hit,) = logic.check_limits(730, 10, limits, warmup_days=30)
    assert hit.setting == "run.replications" and "30 days warm-up + 730 days" in hit.message
    assert "7,600 simulated days" in hit.message and "9 replications fit in 760 days" in hit.message


def test_a_scenarios_own_warm_up_beds_and_headcount_are_limited(folder):
    presets = logic.find_presets()
    telling = logic.build_scenario(presets.path("telling"), {"run.horizon_days": 365, "run.replications": 5})
    assert logic.check_run((telling, telling), logic.Limits()) == []
    _, warm, _ = upload(folder, "extends: telling.yaml\nrun:\n  warmup_days: 2000\n  horizon_days: 365\n"
                                "  replications: 5\n")
    (hit,) = logic.check_run((telling, warm), logic.Limits())
    assert "2000 days warm-up" in hit.message and "11,825" in hit.message
    _, big, _ = upload(folder, "extends: telling.yaml\nunit:\n  beds: 400\n")
    settings = {h.setting for h in logic.check_run((telling, big), logic.Limits())}
    assert {"unit.beds", "staff.nurses"} <= settings
    _, crowded, _ = upload(folder, "extends: telling.yaml\nstaff:\n  nurses:\n    ratio: {day: 0.2, night: 0.2}\n")
    (hit,) = [h for h in logic.check_run((crowded, telling), logic.Limits()) if h.setting == "staff.nurses"]
    assert hit.message.startswith("Side A: a headcount of") and "CAREOS_APP_MAX_NURSES" in hit.message


def test_the_shared_cost_caps_are_checked_on_the_server_too(monkeypatch):
    pytest.importorskip("careos_sim.spec.limits")
    telling = logic.build_scenario(logic.find_presets().path("telling"), {"run.horizon_days": 30})
    monkeypatch.setenv("CAREOS_SIM_MAX_NURSES", "10")
    hits = logic.check_run((telling, telling), logic.Limits())
    assert any(h.message.startswith("Side A:") and "headcount" in h.message for h in hits)


def test_run_comparison_refuses_a_run_over_the_limits_before_running(tmp_path):
    presets = logic.find_presets()
    a = logic.build_scenario(presets.path("telling"), {"run.horizon_days": 14, "run.replications": 3,
                                                       "run.warmup_days": 3000})
    calls = []
    with pytest.raises(logic.LimitError) as err:
        logic.run_comparison(a, a, ("x", "y"), logic.ResultCache(root=tmp_path), limits=logic.Limits(),
                             progress=lambda d, n: calls.append(d))
    assert calls == [] and not any(tmp_path.iterdir())
    assert "3000 days warm-up" in err.value.hits[0].message


# --------------------------------------------------------------------------- names on the page and in reports


def test_key_findings_escape_the_side_names():
    import pandas as pd

    paired = pd.DataFrame([{"metric": "safety.harm_per_1000_patient_days", "unit": "per 1000 patient-days",
                            "a_mean": 1.0, "b_mean": 2.0, "diff_mean": 1.0, "diff_ci_low": 0.5, "diff_ci_high": 1.5,
                            "better": "a", "direction": "lower"}])
    (sentence,) = logic.key_findings(paired, ["safety.harm_per_1000_patient_days"], (HOSTILE_NAME, "b"))
    assert not unescaped(sentence) and "[link]" not in sentence and r"\[link\]" in sentence
    assert r"\<script\>" in sentence


def test_side_labels_are_one_line_and_bounded():
    label = logic.side_label("x\n" * 200, {}, {})
    assert "\n" not in label and len(label) <= logic.MAX_LABEL_CHARS


# --------------------------------------------------------------------------- the page (Streamlit's AppTest)


@pytest.fixture
def app():
    pytest.importorskip("streamlit")
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(SCRIPT), default_timeout=60)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _markdown_texts(at) -> list[str]:
    return [str(e.value) for kind in ("markdown", "caption", "warning", "error", "info", "success")
            for e in getattr(at, kind)]


def _upload(at, side: str, name: str, data: bytes):
    at.selectbox(key=f"{side}.source").set_value("upload").run()
    at.file_uploader(key=f"{side}.upload").set_value((name, data, "application/x-yaml")).run(timeout=120)
    return at


def test_the_page_shows_no_content_of_a_file_outside_the_presets(app, secret):
    _upload(app, "a", "x.yaml", f"extends: {secret}\n".encode())
    assert not app.exception
    shown = "\n".join(_markdown_texts(app) + [c.value for c in app.code])
    assert SECRET not in shown and "may name only a preset" in shown
    assert app.button(key="run.compare").disabled
    _upload(app, "b", "y.yaml", b"extends: /etc/passwd\n")
    shown = "\n".join(_markdown_texts(app) + [c.value for c in app.code])
    assert "root:x:" not in shown and "(got '/etc/passwd')" in shown


def test_the_page_refuses_an_upload_too_big(app):
    _upload(app, "a", "big.yaml", b"#" * (logic.MAX_UPLOAD_BYTES + 1))
    assert not app.exception
    assert "is larger than this app's limit of 256 KiB" in app.code[0].value
    assert app.button(key="run.compare").disabled


def test_a_hostile_file_name_is_escaped_in_the_error(app):
    name = "<img src=x onerror=alert(1)>**[x](javascript:1)**.yaml"
    _upload(app, "a", name, b"unit: {bedz: 1}\n")
    assert not app.exception
    (error,) = app.error
    assert not unescaped(error.value) and not unescaped(error.value, "[") and "onerror" in error.value
    assert "unknown key" in app.code[0].value  # the problem lines as plain text


def test_a_hostile_scenario_name_is_escaped_on_the_page_and_in_the_report(app):
    data = f"extends: telling.yaml\nname: \"{HOSTILE_NAME}\"\n".encode()
    _upload(app, "a", "hostile.yaml", data)
    app.number_input(key="run.horizon_days").set_value(14)
    app.number_input(key="run.replications").set_value(2)
    app.run()
    app.button(key="run.compare").click().run(timeout=180)
    assert not app.exception, [e.value for e in app.exception]
    # code spans show their text literally, so only the text outside them is looked at
    texts = [re.sub(r"`[^`]*`", "", t) for t in _markdown_texts(app)]
    assert any("script" in t for t in texts)  # the name is shown...
    for text in texts:  # ...but never as raw HTML, a link or an image
        assert not unescaped(text, "<script"), text
        assert not unescaped(text, "](javascript") and not unescaped(text, "[i]"), text
    assert any(b.label == "Report (HTML)" for b in app.get("download_button"))
    folder = _result_folder(app)
    report = (folder / "report.html").read_text(encoding="utf-8")
    assert "<script" not in report.lower() and "&lt;script&gt;" in report
    assert 'href="javascript' not in report and "<img src=\"http" not in report
    md = (folder / "report.md").read_text(encoding="utf-8")
    assert not unescaped(md, "<script") and not unescaped(md, "](javascript") and r"\<script\>" in md


def _result_folder(at) -> Path:
    """The folder of the comparison the page ran (the server's result cache lives in a temporary folder)."""
    import tempfile

    key = at.session_state["compare_result"]
    for root in Path(tempfile.gettempdir()).glob("careos-sim-app-*"):
        if (root / key / "report.html").is_file():
            return root / key
    raise AssertionError("the comparison's results folder was not found")


def test_error_details_are_off_in_the_streamlit_config(app):
    from streamlit import config

    assert config.get_option("client.showErrorDetails") in ("none", False)
    command = streamlit_command(8501)
    assert command[command.index("--client.showErrorDetails") + 1] in ("none", "false")


def test_a_failing_run_shows_a_short_message_not_the_exception(app, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError(f"internal detail {SECRET} at /srv/careos/secret.py line 7")

    monkeypatch.setattr(logic, "run_comparison", boom)
    app.number_input(key="run.horizon_days").set_value(14)
    app.number_input(key="run.replications").set_value(2)
    app.run()
    app.button(key="run.compare").click().run(timeout=60)
    assert not app.exception
    shown = "\n".join(_markdown_texts(app) + [c.value for c in app.code])
    assert "internal error" in shown and SECRET not in shown and "Traceback" not in shown
    assert "RuntimeError" not in shown


def test_a_failing_page_shows_a_short_message_not_the_exception(app, monkeypatch):
    def boom(*args, **kwargs):
        raise ValueError(f"page detail {SECRET}")

    monkeypatch.setattr(logic, "setting_values", boom)
    app.run()
    assert not app.exception
    shown = "\n".join(_markdown_texts(app))
    assert "Something went wrong" in shown and SECRET not in shown and "ValueError" not in shown


def test_a_warm_up_over_the_limit_blocks_the_run_on_the_page(app):
    _upload(app, "a", "warm.yaml", b"extends: telling.yaml\nrun:\n  warmup_days: 2000\n")
    assert not app.exception and not app.error
    warnings = [w.value for w in app.warning]
    assert any("2000 days warm-up" in w for w in warnings), warnings
    assert app.button(key="run.compare").disabled


def test_a_headcount_over_the_limit_blocks_the_run_on_the_page(app):
    _upload(app, "b", "crowd.yaml", b"extends: listening.yaml\nunit:\n  beds: 400\n")
    assert not app.exception and not app.error
    warnings = " ".join(w.value for w in app.warning)
    assert "400 beds" in warnings and "headcount" in warnings
    assert app.button(key="run.compare").disabled
