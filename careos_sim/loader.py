"""Read scenario files: YAML (``safe_load``), ``extends``, ``--set`` overrides, validation.

Every problem becomes an :class:`InputIssue` that names the file, the line where the value
stands (or where it is missing), the dotted path, the rule and the value::

    scenarios/x.yaml:14: staff.nurses.ratio.day: must be > 0 (got 0)

:class:`InputError` carries one or more issues; the command line prints them on stderr and
exits with status 2.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from careos_sim.scenario import Scenario

__all__ = [
    "InputIssue", "InputError", "load_scenario", "load_document", "parse_set", "overrides_from",
    "apply_overrides", "validate_model", "scenario_json_schema", "document_files", "source_files",
]

M = TypeVar("M", bound=BaseModel)
Path_ = tuple[str | int, ...]


@dataclass(frozen=True)
class InputIssue:
    """One problem with user input, located as precisely as the input allows."""

    source: str  # a file name, or "--set"
    line: int | None
    path: str  # dotted path of the value, or "<file>" for problems with the file itself
    message: str
    value: Any = None
    has_value: bool = True

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line is not None else self.source
        got = f" (got {_show(self.value)})" if self.has_value else ""
        return f"{where}: {self.path}: {self.message}{got}"


class InputError(Exception):
    """Bad user input: one or more :class:`InputIssue`."""

    def __init__(self, issues: Iterable[InputIssue]):
        self.issues = tuple(issues)
        super().__init__("\n".join(str(i) for i in self.issues))


def _show(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    try:
        return json.dumps(value, default=str)
    except (TypeError, ValueError):
        return repr(value)


def dotted(path: Iterable[str | int]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<document>"


# --------------------------------------------------------------------------- documents


@dataclass
class Document:
    """A YAML mapping with, for each dotted path, where it came from: (source, line)."""

    data: dict[str, Any]
    where: dict[Path_, tuple[str, int]]
    source: str
    line_of_root: int = 1

    def locate(self, path: Path_) -> tuple[str, int | None]:
        """The source and line of ``path``, or of its nearest located ancestor."""
        for n in range(len(path), -1, -1):
            hit = self.where.get(tuple(path[:n]))
            if hit is not None:
                return hit
        return self.source, self.line_of_root


_MERGE_TAG = "tag:yaml.org,2002:merge"


def _node_lines(node: yaml.Node, source: str, prefix: Path_, out: dict[Path_, tuple[str, int]],
                issues: list[InputIssue] | None = None) -> None:
    """Record the line of every path below ``node``; a key given twice in one mapping is an issue
    (``safe_load`` would silently keep the last one and drop the first)."""
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value
            path = (*prefix, key)
            line = key_node.start_mark.line + 1
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag != _MERGE_TAG:
                if key in seen and issues is not None:
                    issues.append(InputIssue(source, line, dotted(path),
                                             f"duplicate key (first given on line {seen[key]})", key))
                seen.setdefault(key, line)
            # Point at the value where it sits on the key's line, else at the key.
            out[path] = (source, line)
            _node_lines(value_node, source, path, out, issues)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            path = (*prefix, i)
            out[path] = (source, item.start_mark.line + 1)
            _node_lines(item, source, path, out, issues)


def _parse_yaml(path: Path, shown: str) -> Document:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError([InputIssue(shown, 1, "<file>", "file not found", str(path))]) from None
    except IsADirectoryError:
        raise InputError([InputIssue(shown, 1, "<file>", "is a directory, not a scenario file", str(path))]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError([InputIssue(shown, 1, "<file>", f"cannot be read: {exc}", str(path))]) from None
    try:
        data = yaml.safe_load(text)
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = "; ".join(str(p) for p in (exc.context, exc.problem) if p)
        lines = text.splitlines()
        got = lines[line - 1].strip() if 0 < line <= len(lines) else "<end of file>"
        raise InputError([InputIssue(shown, line, "<document>", f"malformed YAML: {problem}", got)]) from None
    except yaml.YAMLError as exc:
        raise InputError([InputIssue(shown, 1, "<document>", f"malformed YAML: {exc}", has_value=False)]) from None
    if data is None:
        raise InputError([InputIssue(shown, 1, "<document>", "file is empty; expected a mapping of scenario keys",
                                     text.strip())])
    if not isinstance(data, dict):
        raise InputError([InputIssue(shown, 1, "<document>", "must be a mapping of scenario keys", data)])
    where: dict[Path_, tuple[str, int]] = {}
    duplicates: list[InputIssue] = []
    _node_lines(root, shown, (), where, duplicates)
    if duplicates:
        raise InputError(duplicates)
    return Document(data, where, shown)


def _merge(base: Document, over: Document) -> Document:
    """Deep-merge ``over`` onto ``base``: mappings merge, anything else is replaced."""
    where = dict(base.where)

    def merge(a: Any, b: Any, prefix: Path_) -> Any:
        if isinstance(a, dict) and isinstance(b, dict):
            out = dict(a)
            for key, value in b.items():
                out[key] = merge(a.get(key), value, (*prefix, key)) if key in a else value
            return out
        # b replaces a: forget everything located below a
        for p in [p for p in where if p[: len(prefix)] == prefix and len(p) > len(prefix)]:
            del where[p]
        return b

    data = merge(base.data, over.data, ())
    where.update(over.where)
    return Document(data, where, over.source)


def _shown_path(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _inside(path: Path, roots: tuple[Path, ...]) -> bool:
    """Whether ``path`` (already resolved) lies in one of ``roots`` (resolved here)."""
    for root in roots:
        try:
            if path.is_relative_to(Path(root).resolve()):
                return True
        except (OSError, RuntimeError):  # a root that cannot be resolved admits nothing
            continue
    return False


def load_document(path: str | Path, _chain: tuple[Path, ...] = (), *,
                  allowed_roots: Sequence[Path] | None = None) -> Document:
    """Read a YAML file and resolve ``extends`` (relative to the file), recursively.

    With ``allowed_roots``, every file reached through ``extends`` must lie (after resolving
    symlinks) inside one of these folders; any other is an :class:`InputError` at the ``extends``
    line that echoes only the string written there, and that file is never opened. The file
    ``path`` itself is not checked (the caller chose it).
    """
    path = Path(path)
    resolved = path.resolve()
    shown = _shown_path(path) if not _chain else _shown_path(resolved)
    doc = _parse_yaml(path, shown)
    parent = doc.data.pop("extends", None)
    if parent is None:
        return doc
    line = doc.where.get(("extends",), (shown, 1))[1]
    if not isinstance(parent, str) or not parent.strip():
        raise InputError([InputIssue(shown, line, "extends", "must be a path to a scenario file", parent)])
    parent_path = (resolved.parent / parent).resolve()
    if allowed_roots is not None and not _inside(parent_path, tuple(allowed_roots)):
        raise InputError([InputIssue(shown, line, "extends", "extends may only name a shipped preset", parent)])
    chain = (*_chain, resolved)
    if parent_path in chain:
        cycle = " -> ".join(_shown_path(p) for p in (*chain, parent_path))
        raise InputError([InputIssue(shown, line, "extends", f"circular extends: {cycle}", parent)])
    if not parent_path.is_file():
        raise InputError([InputIssue(shown, line, "extends", f"file not found: {_shown_path(parent_path)}", parent)])
    base = load_document(parent_path, chain, allowed_roots=allowed_roots)
    doc.where = {p: w for p, w in doc.where.items() if p and p[0] != "extends"}
    return _merge(base, doc)


def document_files(doc: Document) -> set[Path]:
    """The files a document's values came from: the file and every file of its ``extends`` chain."""
    return {Path(s) for s, _ in doc.where.values() if not s.startswith("--")}


def source_files(path: str | Path, *, allowed_roots: Sequence[Path] | None = None) -> list[Path]:
    """The scenario file and every file of its ``extends`` chain (for the manifests' hashes)."""
    return sorted(document_files(load_document(path, allowed_roots=allowed_roots)))


# --------------------------------------------------------------------------- overrides


def parse_set(item: str) -> tuple[Path_, Any]:
    """Parse one ``dotted.path=VALUE``; the value is read as YAML (``0.5``, ``true``, ``[1, 2]``)."""
    issue = lambda msg, value=item: InputError([InputIssue("--set", None, key or "<set>", msg, value)])  # noqa: E731
    key, sep, raw = item.partition("=")
    key = key.strip()
    if not sep or not key:
        raise issue("expected dotted.path=VALUE")
    parts = key.split(".")
    if any(not p for p in parts):
        raise issue("empty component in dotted path")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError:
        raise issue("value is not valid YAML", raw) from None
    return tuple(parts), value


Override = tuple[Path_, Any, str]  # (path, value, label shown in errors)


def overrides_from(overrides: Mapping[str, Any] | Iterable[str] | None) -> list[Override]:
    """Normalise overrides given as a mapping ``{"unit.beds": 20}`` or strings ``["unit.beds=20"]``."""
    if not overrides:
        return []
    if isinstance(overrides, str):  # one "path=value", not a sequence of one-letter items
        overrides = [overrides]
    if isinstance(overrides, Mapping):
        items = []
        for k, v in overrides.items():
            parts = tuple(str(k).split("."))
            if any(not p for p in parts):
                raise InputError([InputIssue("--set", None, str(k) or "<set>", "empty component in dotted path",
                                             f"{k}={v}")])
            items.append((parts, v, f"--set {k}={v}"))
        return items
    return [(*parse_set(s), f"--set {s}") for s in overrides]


def apply_overrides(doc: Document, items: Iterable[Override]) -> Document:
    """Set each dotted path to its value; later validation locates errors at the label."""
    data = doc.data
    where = dict(doc.where)
    for path, value, label in items:
        node = data
        for i, part in enumerate(path[:-1]):
            child = node.get(part)
            if child is None:
                child = {}
                node[part] = child
                where[path[: i + 1]] = (label, None)  # type: ignore[assignment]
            elif not isinstance(child, dict):
                raise InputError([InputIssue(label, None, dotted(path[: i + 1]),
                                             f"is not a mapping, cannot set {dotted(path)}", child)])
            node = child
        node[path[-1]] = value
        where = {p: w for p, w in where.items() if p[: len(path)] != path}
        where[path] = (label, None)  # type: ignore[assignment]
    return Document(data, where, doc.source)


# --------------------------------------------------------------------------- validation

_MESSAGES = {
    "greater_than": "must be > {gt}",
    "greater_than_equal": "must be >= {ge}",
    "less_than": "must be < {lt}",
    "less_than_equal": "must be <= {le}",
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "string_type": "must be a string",
    "dict_type": "must be a mapping",
    "model_type": "must be a mapping",
    "model_attributes_type": "must be a mapping",
    "tuple_type": "must be a list",
    "list_type": "must be a list",
    "too_short": "must have at least {min_length} items",
    "too_long": "must have at most {max_length} items",
    "finite_number": "must be a finite number",
    "missing": "required key is missing",
}


def _message(err: Mapping[str, Any], model: type[BaseModel], loc: Path_) -> str:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    if kind == "extra_forbidden":
        known = _known_keys(model, loc[:-1])
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else (f"; known keys: {', '.join(known)}" if known else "")
        return f"unknown key{hint}"
    if kind == "literal_error":
        return f"must be one of {ctx.get('expected', '')}"
    if kind == "value_error":
        return str(ctx.get("error", err["msg"]))
    template = _MESSAGES.get(kind)
    if template:
        try:
            return template.format(**{k: _number(v) for k, v in ctx.items()})
        except (KeyError, IndexError):
            pass
    return err["msg"][0].lower() + err["msg"][1:]


def _number(value: Any) -> Any:
    """A bound as written in a scenario: ``0`` rather than ``0.0``, ``0.5`` as is."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return int(value)
    return value


def _known_keys(model: type[BaseModel], loc: Path_) -> list[str]:
    cls: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        field = getattr(cls, "model_fields", {}).get(part)
        if field is None:
            return []
        cls = field.annotation
    return sorted(getattr(cls, "model_fields", {}))


def _value_at(data: Any, loc: Path_) -> tuple[bool, Any]:
    node = data
    for part in loc:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return False, None
    return True, node


def _length_ok(value: Any, ctx: Mapping[str, Any]) -> bool:
    try:
        n = len(value)
    except TypeError:
        return False
    return ctx.get("min_length", 0) <= n <= ctx.get("max_length", n)


def validate_model(model: type[M], doc: Document) -> M:
    """Validate ``doc`` against ``model``; convert every error to a located :class:`InputIssue`."""
    try:
        return model.model_validate(doc.data)
    except ValidationError as exc:
        issues = []
        for err in exc.errors(include_url=False):
            loc: Path_ = tuple(err["loc"])
            source, line = doc.locate(loc)
            present, value = _value_at(doc.data, loc)
            if err["type"] in ("too_short", "too_long") and present and _length_ok(value, err.get("ctx") or {}):
                continue  # pydantic counts only the items that validated; the bad items are reported
            if err["type"] == "missing":
                present = False
            elif not present:
                value, present = err.get("input"), True
            issues.append(InputIssue(source, line, dotted(loc), _message(err, model, loc), value, present))
        # files in the order of their lines, then --set (pydantic reports in the model's field order)
        rank = {src: n for n, src in reversed(list(enumerate(i.source for i in issues)))}
        issues.sort(key=lambda i: (i.line is None, rank[i.source], i.line or 0))
        raise InputError(issues) from None


def load_scenario(
    path: str | Path,
    overrides: Mapping[str, Any] | Iterable[str] | None = None,
    *,
    extra: Iterable[Override] = (),
    allowed_roots: Sequence[Path] | None = None,
) -> Scenario:
    """Load, merge and validate a scenario file.

    ``overrides`` are applied after ``extends`` and validated exactly like the file: either a
    mapping ``{"unit.beds": 20}`` or strings ``["unit.beds=20"]`` as given to ``--set``.
    ``extra`` takes (path, value, label) triples, for command-line options such as
    ``--horizon-days`` that set a scenario value. ``allowed_roots`` (folders) confines every file
    reached through ``extends``, see :func:`load_document`. Raises :class:`InputError` for any problem.
    """
    doc = load_document(path, allowed_roots=allowed_roots)
    items = [*overrides_from(overrides), *extra]
    if items:
        doc = apply_overrides(doc, items)
    return validate_model(Scenario, doc)


def scenario_json_schema() -> dict[str, Any]:
    """JSON Schema of scenario files (the model's schema plus ``extends``)."""
    schema = Scenario.model_json_schema()
    schema["properties"] = {
        "extends": {"type": "string", "description": "Path (relative to this file) of a scenario to start from."},
        **schema["properties"],
    }
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "careos-sim scenario"
    return schema
