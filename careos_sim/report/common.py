"""What every report needs: reading a results folder's manifest, atomic file writes, numbers as
text, plain-language metric labels and the reproducibility section.

Functions here only read files from the folder they are given; nothing re-runs a simulation.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import re
import shlex
from pathlib import Path
from typing import Any, Callable

from careos_sim.spec.loader import InputError, InputIssue
from careos_sim.results.folders import write_atomic  # noqa: F401  (part of this module's API)
from careos_sim.measure.labels import LABELS, label
from careos_sim.report.document import Block, Bullets, Code, Heading, Note, Para, Table, code, literal

__all__ = ["KINDS", "DIMENSIONS", "LABELS", "read_manifest", "folder_issue", "write_atomic", "fmt", "signed",
           "interval", "plain", "with_unit", "label", "dimension_of", "reproducibility_blocks", "sha256_file",
           "decimals_for", "fixed", "number_format", "setting_label", "setting_description"]

KINDS = ("compare", "sweep", "run")

#: scorecard groups in order: metric-name prefix -> heading a reader sees
DIMENSIONS: dict[str, str] = {
    "safety": "Safety",
    "timeliness": "Timeliness",
    "effectiveness": "Effectiveness",
    "efficiency": "Efficiency",
    "equity": "Equity",
    "patient_centeredness": "Patient-centredness",
    "workforce": "Workforce",
    "learning": "Learning",
}

@functools.cache
def _settings_documented() -> tuple[dict[str, str], dict[str, str]]:
    """(titles, descriptions) of the scenario keys: the titles of the settings a front end offers
    (:mod:`careos_sim.spec.settings`) and every key's documented description (docs/scenarios.md)."""
    from careos_sim.spec.settings import RUN_SETTINGS, SIDE_SETTINGS, settings_docs

    titles = {s.path: s.title for s in (*SIDE_SETTINGS, *RUN_SETTINGS)}
    return titles, {path: str(d.get("description") or "") for path, d in settings_docs().items()}


def _tidy(words: str) -> str:
    words = words.replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def _first_clause(description: str) -> str:
    """The first clause of a description, as a name: "Staffed beds on the unit." -> "Staffed beds on
    the unit"; "" where it does not read as one (a list of values, a long sentence)."""
    clause = re.split(r"\s*[;(]", description.split(". ")[0].strip().rstrip("."))[0].strip()
    if not clause or clause[0].islower() or ": " in clause or len(clause) > 70:
        return ""
    return clause


def setting_label(path: str) -> str:
    """A scenario setting's documented name: the app's title where the app offers it (Transparency,
    Patients per nurse, day shifts), else the first clause of its documented description, told
    apart from keys that share that description by the parts of its key (Share of admissions at this
    acuity (low)), else its key's last parts tidied."""
    titles, descriptions = _settings_documented()
    if path in titles:
        return titles[path]
    parts = path.split(".")
    clause = _first_clause(descriptions.get(path, ""))
    if not clause:
        return _tidy(" ".join(parts[-2:]))
    shared = sum(1 for d in descriptions.values() if _first_clause(d) == clause)
    if shared > 1:
        words = set(re.findall(r"[a-z0-9-]+", clause.lower()))
        extra = [_tidy(p).lower() for p in parts[1:-1] if not set(p.split("_")) <= words]
        if extra:
            clause += f" ({', '.join(extra)})"
    return clause


def setting_description(path: str) -> str:
    """A scenario setting's documented description (docs/scenarios.md), or ""."""
    return _settings_documented()[1].get(path, "")


def dimension_of(metric: str) -> str | None:
    """The scorecard group of a metric (``"Safety"``, ...), or None for counts and diagnostics."""
    return DIMENSIONS.get(metric.split(".", 1)[0])


def folder_issue(where: Path | str, message: str, value: Any, path: str = "<folder>") -> InputError:
    return InputError([InputIssue(str(where), None, path, message, value)])


def read_manifest(folder: str | Path) -> dict[str, Any]:
    """The folder's manifest.json, checked to be a results folder of a known kind; else InputError."""
    folder = Path(folder)
    if not folder.exists():
        raise folder_issue(folder, "no such folder; expected a results folder written by compare or sweep --out",
                           str(folder))
    if not folder.is_dir():
        raise folder_issue(folder, "is a file, not a results folder", str(folder))
    path = folder / "manifest.json"
    if not path.is_file():
        raise folder_issue(path, "not found: this is not a results folder (compare --out or sweep --out write one), "
                                 "or its run has not finished", str(folder), path="<file>")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise folder_issue(path, f"cannot be read as JSON: {exc}", str(path), path="<file>") from None
    if not isinstance(manifest, dict):
        raise folder_issue(path, "must be a JSON object", type(manifest).__name__, path="<file>")
    kind = manifest.get("kind")
    if kind not in KINDS:
        raise folder_issue(path, f"kind must be one of {', '.join(KINDS)}", kind, path="kind")
    return manifest


def sha256_file(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def _finite(x: Any) -> bool:
    try:
        return x is not None and math.isfinite(float(x))
    except (TypeError, ValueError):
        return False


def fmt(x: Any) -> str:
    """A number with about three significant figures; "-" when undefined."""
    if not _finite(x):
        return "-"
    x = float(x)
    a = abs(x)
    if a >= 1000:
        return f"{x:,.0f}"
    if a >= 100:
        return f"{x:.0f}"
    if a >= 10:
        return f"{x:.1f}"
    if a >= 0.01 or a == 0:
        return f"{x:.2f}"
    return f"{x:.2g}"


def plain(x: Any) -> str:
    """A setting as given (28, 0.5, 730), not rounded; "not recorded" when absent."""
    if x is None:
        return "not recorded"
    if isinstance(x, float):
        return f"{x:g}"
    return str(x)


def signed(x: Any) -> str:
    text = fmt(x)
    return text if text == "-" or text.startswith("-") or float(x) == 0 else f"+{text}"


def with_unit(text: str, unit: str, diff: bool = False) -> str:
    """A formatted number with its unit: 12.5%, 3.2 pp (a difference of percentages), 40 min; ratios bare."""
    if text == "-" or unit in ("", "ratio"):
        return text
    if unit == "%":
        return f"{text} pp" if diff else f"{text}%"
    return f"{text} {unit}"


def decimals_for(values: Any, digits: int = 3) -> int:
    """Decimals that give the largest finite magnitude among ``values`` ``digits`` significant digits
    (0 for magnitudes of 100 and more at 3 digits; at most 6): one format for a row of related
    numbers (A, B, B - A and its interval), so that no number in it shows digits the others lack."""
    top = max((abs(float(v)) for v in values if _finite(v)), default=0.0)
    if top == 0.0:
        return 0
    return min(6, max(0, digits - 1 - math.floor(math.log10(top))))


def fixed(x: Any, decimals: int, sign: bool = False) -> str:
    """``x`` with ``decimals`` decimals and thousands separators ("-" when undefined); ``sign``: a leading
    + on positive values (zero has no sign)."""
    if not _finite(x):
        return "-"
    x = float(x)
    if x == 0.0:
        return f"{0.0:,.{decimals}f}"
    text = f"{x:,.{decimals}f}"
    return f"+{text}" if sign and x > 0 else text


def number_format(*values: Any, digits: int = 3) -> Callable[..., str]:
    """A formatter ``f(x, sign=False)`` for one row of related numbers (A's and B's means, B - A and
    its interval): every number on the row gets the decimals of :func:`decimals_for` over all of them,
    3 significant digits of the largest ("55.9 39.1 -16.8 [-19.6, -13.9]", "0.42 0.31 -0.10 [-1.28,
    +1.08]"), never a lone long one beside a short one."""
    decimals = decimals_for(values, digits)
    return lambda x, sign=False: fixed(x, decimals, sign)


def interval(low: Any, high: Any, sign: bool = False) -> str:
    if not (_finite(low) and _finite(high)):
        return "-"
    f = signed if sign else fmt
    return f"[{f(low)}, {f(high)}]"


def _files_table(hashes: dict[str, Any], caption: str) -> Table | None:
    rows = []
    for key, value in hashes.items():
        if isinstance(value, dict):  # compare: {side: {file: sha}}
            rows += [[f"{literal(str(key).upper())}: {code(f)}", code(h)] for f, h in value.items()]
        else:
            rows.append([code(key), code(value)])
    return Table(["file", "SHA-256"], rows, caption=caption) if rows else None


def reproducibility_blocks(folder: Path, manifest: dict[str, Any], settings: list[tuple[str, str]],
                           resolved: dict[str, str] | None = None,
                           resolved_caption: str = "Resolved inputs saved with the results (every default filled in)",
                           ) -> list[Block]:
    """The STRESS-DES reproduction section from the run's own manifest.

    ``settings`` are rows (field, value) of the run settings; ``resolved`` maps a file in the
    folder to the SHA-256 the manifest recorded for it, and each is checked against the file.
    """
    blocks: list[Block] = [Heading(2, "Reproducibility", "reproducibility"),
                           Para("Everything below is read from this folder's `manifest.json`, written by the run "
                                "itself (reporting in the order of the STRESS-DES checklist: model, data, "
                                "experimentation, implementation, code access).")]
    commit = manifest.get("git_commit")
    dirty = manifest.get("git_dirty")
    versions = manifest.get("versions") if isinstance(manifest.get("versions"), dict) else {}
    if manifest.get("pandas") and "pandas" not in versions:
        versions = {**versions, "pandas": manifest["pandas"]}
    where = manifest.get("platform") if isinstance(manifest.get("platform"), dict) else {}
    wall = manifest.get("wall_seconds_total", manifest.get("wall_seconds"))
    rows = [*settings,
            ("package version", f"careos-sim {literal(manifest.get('package_version', 'not recorded'))}"),
            ("git commit", (code(commit) + (" with uncommitted changes in the checkout" if dirty else
                                            " (a clean checkout)" if dirty is False else ""))
             if commit else "not recorded (not run from a git checkout)"),
            *([("libraries", ", ".join(f"{literal(str(k))} {literal(str(v))}" for k, v in versions.items()))]
              if versions else []),
            *([("platform", literal(f"{where.get('platform', '')} ({where.get('machine', '')})"))] if where else []),
            *([("wall time", f"{float(wall):,.1f} s")] if isinstance(wall, (int, float)) else []),
            ("written at", literal(manifest.get("written_at") or manifest.get("last_stopped_at") or "not recorded"))]
    blocks.append(Table(["item", "value"], [list(r) for r in rows], caption="Run settings and software"))
    files = manifest.get("scenario_files_sha256") or {}
    if manifest.get("experiment_file"):
        files = {manifest["experiment_file"]: manifest.get("experiment_sha256", "not recorded"), **files}
    table = _files_table(files, "Input files as given on the command line, with their SHA-256 at run time "
                                "(the scenario files and their `extends` chains)")
    if table is not None:
        blocks.append(table)
    else:
        blocks.append(Note("The manifest records no input file hashes."))
    if resolved:
        rows, mismatched = [], []
        for name, recorded in resolved.items():
            actual = sha256_file(folder / name)
            same = "yes" if actual == recorded else ("file missing" if actual is None else "**no: changed since**")
            if actual != recorded:
                mismatched.append(name)
            rows.append([code(name), code(recorded), same])
        blocks.append(Table(["file in this folder", "SHA-256 recorded", "matches"], rows, caption=resolved_caption))
        if mismatched:
            blocks.append(Note(f"{literal(', '.join(mismatched))} no longer match the hash recorded when the results were "
                               "written: the file was edited or replaced afterwards."))
    command = manifest.get("command")
    if isinstance(command, list) and command:
        line = shlex.join(str(c) for c in command)
        steps = []
        if commit:
            steps.append(f"git checkout {commit}")
        steps += ["pip install -e .", line]
        blocks.append(Para("To reproduce these results, from the repository root (relative paths are as given "
                           "when the run was made):"))
        blocks.append(Code("\n".join(steps)))
        blocks.append(Para("Each replication is a pure function of (scenario, seed, replication index), so the "
                           "same command gives the same numbers on any number of workers."))
    elif manifest.get("python_call"):
        blocks.append(Para("These results were made from Python, not the command line; the call was:"))
        blocks.append(Code(str(manifest["python_call"])[:2000]))
        blocks.append(Para("Each replication is a pure function of (scenario, seed, replication index): the same "
                           "call on the resolved inputs saved here gives the same numbers."))
    else:
        blocks.append(Note("The manifest records no command; the run cannot be repeated from this folder alone."))
    return blocks


def bullets_or_note(items: list[str], empty: str) -> Block:
    return Bullets(items) if items else Para(empty)
