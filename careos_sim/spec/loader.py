"""Read scenario files: YAML (``safe_load``), ``extends``, ``--set`` overrides, validation.

Every problem becomes an :class:`InputIssue` that names the file, the line where the value
stands (or where it is missing), the dotted path, the rule and the value::

    scenarios/x.yaml:14: staff.nurses.ratio.day: must be > 0 (got 0)

:class:`InputError` carries one or more issues; the command line prints them on stderr and
exits with status 2.

Reading is hardened against hostile or mistaken input; each rule below is an ``InputIssue``,
never a traceback, a hang or a silent change of meaning.

Files. Only a regular file is opened (checked with ``os.stat`` first, then opened with
``O_NONBLOCK`` and checked again with ``fstat``): a fifo, a device (``/dev/zero``), a socket,
a directory, a symlink loop, a missing file or folder, a file that cannot be read (permission
denied), one larger than :data:`MAX_FILE_BYTES` or one that is not UTF-8 is an issue naming the
file (``<file>``; for bad UTF-8 the line of the first bad byte). The same holds for a file named
by ``extends``, whose problems are reported at the ``extends`` line.

Types. Plain scalars are read with YAML-1.2-core-like rules instead of YAML 1.1's:

============================  =========================  ============================================
written                       YAML 1.1 (``safe_load``)   here
============================  =========================  ============================================
``true`` ``false``            bool                       bool; but a number field refuses it ("must
                                                         be a number, not true/false") and a
                                                         true/false field accepts nothing else
``yes no on off y n``         bool                       the string; a true/false field refuses it
``1:4`` (base 60)             int 64                     the string ``'1:4'``; a number field
                                                         refuses it ("must be a number written in
                                                         decimal")
``017``                       int 15 (octal)             the string; refused likewise (YAML 1.2
                                                         would read 17: ambiguous, so neither)
``0o17`` ``0x1F`` ``0b11``    string, int 31, int 3      the string; refused likewise
``1_000``                     int 1000                   the string; refused likewise
``1e3``                       string                     float 1000.0 (as YAML 1.2)
``.inf`` ``-.inf`` ``.nan``   float                      float; a number field refuses it ("must be
                                                         a finite number")
``2024-01-01``                date                       the string
``=``                         error (no constructor)     the string
``~`` ``null`` (empty)        None                       None
============================  =========================  ============================================

A string given for a number field (``beds: "20"``, or ``{"unit.beds": "20"}`` from Python) is
accepted only if it is written like a plain decimal number; pydantic alone would also take
``" 20 "``, ``"1_000"`` or ``"inf"``. Explicit tags other than ``!!str !!int !!float !!bool
!!null !!seq !!map`` are refused (``!!python/...``, ``!!binary``, ``!!set``, ``!foo``);
``!!int``/``!!float``/``!!bool`` take only the decimal and true/false forms above.

Size. Aliases and nesting are bounded so that a "billion laughs" document of a few hundred
bytes, or ``[[[[...]]]]`` nested 10^5 deep, is a located issue within milliseconds:
at most :data:`MAX_DEPTH` nested collections (counted while parsing, and again with every alias
expanded), at most :data:`MAX_NODES` values with every alias counted as a full copy of what it
names (this bounds alias expansion), an alias may not name the collection that contains it, and
a file is at most :data:`MAX_FILE_BYTES`, and an ``extends`` chain at most :data:`MAX_EXTENDS`
files. The same reader (and caps) reads ``--set`` values. Reading is pure Python: a file at
the size cap packed with values is refused at the value cap after about 3 s.

Hospitals. A hospital file (``kind: hospital``, :mod:`careos_sim.spec.hospital`) is read by
:func:`load_hospital` (or :func:`load_any`, which reads either kind) with the same reader and
located errors; each unit's ``extends`` and ``system`` are read like a scenario's ``extends``,
and the caps hold for the hospital as a whole: at most :data:`MAX_EXTENDS` distinct files
reached by all its units (a file many units name is read once and counted once) and at most
:data:`MAX_NODES` values summed over the hospital file and every unit's resolved document.
"""

from __future__ import annotations

import collections.abc
import dataclasses
import difflib
import errno
import json
import math
import os
import re
import stat
import types
import typing
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from careos_sim.spec.hospital import HospitalFileSpec, HospitalSpec, HospitalUnitSpec, is_hospital_document
from careos_sim.spec.scenario import LeadershipSpec, ScenarioSpec, deep_merge

__all__ = [
    "InputIssue", "InputError", "load_scenario", "load_document", "parse_set", "overrides_from",
    "apply_overrides", "validate_model", "scenario_json_schema", "document_files", "source_files", "load_yaml_text",
    "MAX_FILE_BYTES", "MAX_DEPTH", "MAX_NODES", "MAX_EXTENDS", "preset_path", "preset_folders", "installed_folders", "scenario_argument",
    "load_hospital", "load_any", "hospital_json_schema",
]

#: largest scenario or experiment file read, in bytes (the shipped ones are under 10 KiB)
MAX_FILE_BYTES = 1 << 20
#: deepest nesting of lists and mappings in one document (shipped files nest at most 5 deep)
MAX_DEPTH = 50
#: most values (scalars, lists, mappings, keys) in one document, each alias counted as a copy
MAX_NODES = 100_000
#: longest ``extends`` chain: files reached from the one named (the shipped presets use 1)
MAX_EXTENDS = 20
#: longest value echoed in an error message, in characters (longer ones are cut with "...")
MAX_SHOWN = 200

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
        shown = repr(value)
    else:
        try:
            shown = json.dumps(value, default=str)
        except (TypeError, ValueError, RecursionError):
            shown = repr(value)
    return shown if len(shown) <= MAX_SHOWN else shown[: MAX_SHOWN - 3] + "..."


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
            if not isinstance(key_node, yaml.ScalarNode):
                continue  # a list or mapping as a key: construction refuses it, with its line
            key = key_node.value
            path = (*prefix, key)
            line = key_node.start_mark.line + 1
            if key_node.tag != _MERGE_TAG:
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


# --------------------------------------------------------------------------- reading YAML


class _Loader(yaml.SafeLoader):
    """``SafeLoader`` with YAML-1.2-core-like implicit types and bounded composition.

    Only ``true``/``false`` (any of ``true True TRUE``) are booleans, ``null``/``~``/empty is
    null, decimal integers (no leading zero, no ``_``) are ints, decimal numbers with a point
    or exponent and ``.inf``/``.nan`` are floats; everything else stays a string. See the
    module docstring for why. Composition (which recurses) stops at the first node beyond a
    cap: :data:`MAX_DEPTH` nested collections, also counting what an alias expands to, and
    :data:`MAX_NODES` values, an alias counting as a copy of what it names; an alias to the
    collection that contains it is refused (it would be an infinite expansion).
    """

    def __init__(self, stream: str):
        super().__init__(stream)
        self._depth = 0  # collections open around the node being composed
        self._count = 0  # values composed so far, each alias counted as a copy of what it names
        self._open: set[str] = set()  # anchors of the collections being composed
        self._heights: list[int] = [0]  # per open collection: the tallest child so far
        self._expanded: dict[int, tuple[int, int]] = {}  # id(anchored node) -> (values, height)

    def _problem(self, message: str, mark: Any) -> yaml.composer.ComposerError:
        return yaml.composer.ComposerError(None, None, message, mark)

    def _counted(self, n: int, mark: Any) -> None:
        self._count += n
        if self._count > MAX_NODES:
            raise self._problem(f"more than {MAX_NODES} values (an alias counts as a copy of what it names)", mark)

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            if event.anchor in self._open:
                raise self._problem(f"alias *{event.anchor} refers to the collection that contains it",
                                    event.start_mark)
            node = super().compose_node(parent, index)  # the anchored node (or "found undefined alias")
            values, height = self._expanded.get(id(node), (1, 0))
            self._counted(values, event.start_mark)
            if self._depth + height > MAX_DEPTH:
                raise self._problem(f"nested more than {MAX_DEPTH} levels deep (aliases included)", event.start_mark)
            self._heights[-1] = max(self._heights[-1], height)
            return node
        anchor = getattr(event, "anchor", None)
        before = self._count
        if isinstance(event, yaml.ScalarEvent):
            self._counted(1, event.start_mark)
            if _SURROGATE_RE.search(event.value):
                raise self._problem("a string holds an unpaired surrogate escape (not a character)", event.start_mark)
            node = super().compose_node(parent, index)
            height = 0
        else:  # a sequence or mapping
            if self._depth >= MAX_DEPTH:
                raise self._problem(f"nested more than {MAX_DEPTH} levels deep", event.start_mark)
            self._counted(1, event.start_mark)
            self._depth += 1
            self._heights.append(0)
            if anchor is not None:
                self._open.add(anchor)
            try:
                node = super().compose_node(parent, index)
            finally:
                self._depth -= 1
                height = self._heights.pop() + 1
                self._open.discard(anchor)  # type: ignore[arg-type]
        self._heights[-1] = max(self._heights[-1], height)
        if anchor is not None:
            self._expanded[id(node)] = (self._count - before, height)
        return node


_INT_RE = re.compile(r"[-+]?(?:0|[1-9][0-9]*)")
_FLOAT_RE = re.compile(r"[-+]?(?:(?:0|[1-9][0-9]*)(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?")
_INF_RE = re.compile(r"([-+]?)\.(?:inf|Inf|INF)")
_NAN_RE = re.compile(r"\.(?:nan|NaN|NAN)")
_TRUE, _FALSE = ("true", "True", "TRUE"), ("false", "False", "FALSE")
_SURROGATE_RE = re.compile("[\ud800-\udfff]")


def _scalar_error(node: yaml.Node, what: str) -> yaml.constructor.ConstructorError:
    return yaml.constructor.ConstructorError(None, None, f"cannot read {node.value!r} as {what}", node.start_mark)


def _construct_bool(loader: _Loader, node: yaml.Node) -> bool:
    value = loader.construct_scalar(node)
    if value in _TRUE or value in _FALSE:
        return value in _TRUE
    raise _scalar_error(node, "true or false")


def _construct_int(loader: _Loader, node: yaml.Node) -> int:
    value = loader.construct_scalar(node)
    if _INT_RE.fullmatch(value):
        return int(value)
    raise _scalar_error(node, "a decimal integer")


def _construct_float(loader: _Loader, node: yaml.Node) -> float:
    value = loader.construct_scalar(node)
    if _INT_RE.fullmatch(value) or _FLOAT_RE.fullmatch(value):
        return float(value)
    inf = _INF_RE.fullmatch(value)
    if inf:
        return -math.inf if inf.group(1) == "-" else math.inf
    if _NAN_RE.fullmatch(value):
        return math.nan
    raise _scalar_error(node, "a decimal number")


_Loader.yaml_implicit_resolvers = {}
for _tag, _regexp, _first in [
    ("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("int", rf"^{_INT_RE.pattern}$", "-+0123456789"),
    ("float", rf"^(?:{_FLOAT_RE.pattern}|{_INF_RE.pattern}|{_NAN_RE.pattern})$", "-+0123456789."),
    ("null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
    ("merge", r"^(?:<<)$", "<"),
]:
    _Loader.add_implicit_resolver(f"tag:yaml.org,2002:{_tag}", re.compile(_regexp), list(_first))
_Loader.yaml_constructors = {
    "tag:yaml.org,2002:null": yaml.SafeLoader.construct_yaml_null,
    "tag:yaml.org,2002:bool": _construct_bool,
    "tag:yaml.org,2002:int": _construct_int,
    "tag:yaml.org,2002:float": _construct_float,
    "tag:yaml.org,2002:str": yaml.SafeLoader.construct_yaml_str,
    "tag:yaml.org,2002:seq": yaml.SafeLoader.construct_yaml_seq,
    "tag:yaml.org,2002:map": yaml.SafeLoader.construct_yaml_map,
    None: yaml.SafeLoader.construct_undefined,  # any other tag (!!python/..., !!binary, !!set, !foo)
}


class _YamlProblem(Exception):
    """Why a YAML text cannot be read: the line (1-based) and a message."""

    def __init__(self, line: int, message: str, snippet: str | None = None):
        super().__init__(message)
        self.line, self.message, self.snippet = line, message, snippet


def _compose(text: str) -> yaml.Node | None:
    """Parse ``text`` into a checked node graph; raises :class:`_YamlProblem`."""
    lines = text.splitlines()

    def snippet(line: int) -> str:
        return lines[line - 1].strip() if 0 < line <= len(lines) else "<end of file>"

    try:
        loader = _Loader(text)  # the reader refuses control characters here
        try:
            root = loader.get_single_node()
        finally:
            loader.dispose()
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, max(exc.position, 0)) + 1
        char = exc.character if isinstance(exc.character, str) else chr(exc.character)
        raise _YamlProblem(line, f"malformed YAML: character U+{ord(char):04X} is not allowed in YAML text",
                           snippet(line)) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = "; ".join(str(p) for p in (exc.context, exc.problem) if p)
        raise _YamlProblem(line, f"malformed YAML: {problem}", snippet(line)) from None
    except yaml.YAMLError as exc:
        raise _YamlProblem(1, f"malformed YAML: {exc}") from None
    except RecursionError:  # not expected with MAX_DEPTH; never a traceback
        raise _YamlProblem(1, f"malformed YAML: nested more than {MAX_DEPTH} levels deep") from None
    return root


def _construct(root: yaml.Node | None, text: str) -> Any:
    """The Python value of a node graph from :func:`_compose`; raises :class:`_YamlProblem`."""
    if root is None:
        return None
    loader = _Loader("")
    try:
        return loader.construct_document(root)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = "; ".join(str(p) for p in (exc.context, exc.problem) if p)
        lines = text.splitlines()
        got = lines[line - 1].strip() if 0 < line <= len(lines) else "<end of file>"
        raise _YamlProblem(line, f"malformed YAML: {problem}", got) from None
    except (yaml.YAMLError, RecursionError, TypeError, ValueError) as exc:  # a safety net: never a traceback
        raise _YamlProblem(1, f"malformed YAML: {exc}") from None
    finally:
        loader.dispose()


def _yaml_value(text: str) -> Any:
    return _construct(_compose(text), text)


def load_yaml_text(text: str, source: str = "<text>") -> Any:
    """The value of one YAML document, read as scenario files are (types and caps as in the
    module docstring); a problem is an :class:`InputError` at ``source`` and the line."""
    try:
        return _yaml_value(text)
    except _YamlProblem as exc:
        raise InputError([InputIssue(source, exc.line, "<document>", exc.message, exc.snippet,
                                     exc.snippet is not None)]) from None


def _file_problem(path: Path) -> str | None:
    """Why ``path`` cannot be a scenario file, judged by ``os.stat`` without opening it; or None."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return "file not found" if os.path.isdir(os.path.dirname(os.path.abspath(path))) else \
            "file not found (its folder does not exist)"
    except NotADirectoryError:
        return "file not found (a folder in its path is a file)"
    except PermissionError:
        return "permission denied"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symlink loop (a link in its path points back to itself)"
        return f"cannot be read: {exc.strerror or exc}"
    except ValueError:  # e.g. an embedded NUL byte
        return "not a valid file name"
    return _kind_problem(st)


def _kind_problem(st: os.stat_result) -> str | None:
    if stat.S_ISDIR(st.st_mode):
        return "is a directory, not a scenario file"
    if not stat.S_ISREG(st.st_mode):
        kind = ("a named pipe (fifo)" if stat.S_ISFIFO(st.st_mode) else
                "a device" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode) else
                "a socket" if stat.S_ISSOCK(st.st_mode) else "not a regular file")
        return f"is {kind}, not a regular file"
    if st.st_size > MAX_FILE_BYTES:
        return f"file is too large ({st.st_size} bytes; at most {MAX_FILE_BYTES})"
    return None


def _read_text(path: Path, shown: str) -> str:
    """The text of a regular, UTF-8 file of at most :data:`MAX_FILE_BYTES`; anything else is a
    located :class:`InputError`. Nothing but a regular file is opened, and it is opened
    non-blocking, so a fifo swapped in after the check cannot hang the read."""
    def fail(message: str, line: int = 1, has_value: bool = True) -> InputError:
        return InputError([InputIssue(shown, line, "<file>", message, str(path), has_value)])

    problem = _file_problem(path)
    if problem:
        raise fail(problem)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except PermissionError:
        raise fail("permission denied") from None
    except OSError as exc:
        raise fail(_file_problem(path) or f"cannot be read: {exc.strerror or exc}") from None
    try:
        problem = _kind_problem(os.fstat(fd))
        if problem:
            raise fail(problem)
        chunks, size = [], 0
        while size <= MAX_FILE_BYTES:
            chunk = os.read(fd, MAX_FILE_BYTES + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise fail(f"cannot be read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > MAX_FILE_BYTES:
        raise fail(f"file is too large (more than {MAX_FILE_BYTES} bytes)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise fail(f"is not UTF-8 text (byte 0x{data[exc.start]:02X} at column {column})", line, False) from None


def _parse_yaml(path: Path, shown: str) -> Document:
    """Read one YAML file (a scenario or an experiment) into a located :class:`Document`."""
    text = _read_text(Path(path), shown)
    try:
        root = _compose(text)
        where: dict[Path_, tuple[str, int]] = {}
        duplicates: list[InputIssue] = []
        if root is not None:
            _node_lines(root, shown, (), where, duplicates)
        data = _construct(root, text)
    except _YamlProblem as exc:
        raise InputError([InputIssue(shown, exc.line, "<document>", exc.message, exc.snippet,
                                     exc.snippet is not None)]) from None
    if data is None:
        raise InputError([InputIssue(shown, 1, "<document>", "file is empty; expected a mapping of scenario keys",
                                     text.strip())])
    if not isinstance(data, dict):
        raise InputError([InputIssue(shown, 1, "<document>", "must be a mapping of scenario keys", data)])
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


def _resolve(path: Path) -> Path | None:
    """``path`` with every symlink resolved, or None when that fails (a symlink loop, a NUL byte)."""
    try:
        return path.resolve()
    except (OSError, RuntimeError, ValueError):
        return None


def _inside(path: Path, roots: tuple[Path, ...]) -> bool:
    """Whether ``path`` (already resolved) lies in one of ``roots`` (resolved here)."""
    for root in roots:
        try:
            if path.is_relative_to(Path(root).resolve()):
                return True
        except (OSError, RuntimeError, ValueError):  # a root that cannot be resolved admits nothing
            continue
    return False


def load_document(path: str | Path, _chain: tuple[Path, ...] = (), *,
                  allowed_roots: Sequence[Path] | None = None, _budget: list[int] | None = None,
                  _cache: dict[Path, Document] | None = None) -> Document:
    """Read a YAML file and resolve ``extends`` (relative to the file), recursively.

    ``extends`` names one file or a list of them (applied in order, later ones over earlier, then
    the file itself over all); a name that is not a file beside this one but a shipped preset's
    (``telling``) names that preset. At most :data:`MAX_EXTENDS` files are reached in all.

    With ``allowed_roots``, every file reached through ``extends`` must lie (after resolving
    symlinks) inside one of these folders; any other is an :class:`InputError` at the ``extends``
    line that echoes only the string written there, and that file is never opened. The file
    ``path`` itself is not checked (the caller chose it).

    ``_cache`` (used by :func:`load_hospital`) keeps every file reached, by resolved path, so that
    a file many units extend is read once and counts once against :data:`MAX_EXTENDS`. Its
    documents are shared: nothing may change them in place (:func:`_merge` never does).
    """
    path = Path(path)
    resolved = _resolve(path) or Path(os.path.abspath(path))  # a loop: _parse_yaml reports it
    shown = _shown_path(path) if not _chain else _shown_path(resolved)
    doc = _parse_yaml(path, shown)
    parent = doc.data.pop("extends", None)
    if parent is None:
        return doc
    line = doc.where.get(("extends",), (shown, 1))[1]
    if isinstance(parent, list):  # several bases, applied in order: later ones over earlier ones
        if not parent:
            raise InputError([InputIssue(shown, line, "extends", "must name at least one scenario file", parent)])
        items = [(item, doc.where.get(("extends", i), (shown, line))[1], f"extends[{i}]")
                 for i, item in enumerate(parent)]
    else:
        items = [(parent, line, "extends")]
    budget = _budget if _budget is not None else [0]
    base: Document | None = None
    for item, item_line, where in items:
        loaded = _load_base(item, item_line, where, shown, resolved, _chain, allowed_roots, budget, _cache)
        base = loaded if base is None else _merge(base, loaded)
    doc.where = {p: w for p, w in doc.where.items() if p and p[0] != "extends"}
    return _merge(base, doc)  # type: ignore[arg-type]


def _load_base(parent: Any, line: int, where: str, shown: str, resolved: Path, _chain: tuple[Path, ...],
               allowed_roots: Sequence[Path] | None, budget: list[int],
               cache: dict[Path, Document] | None = None) -> Document:
    """One file named by ``extends`` (``where`` is ``extends`` or ``extends[i]``), loaded with
    every guard: a path relative to the file, else a shipped preset's name (:func:`preset_path`)."""
    if not isinstance(parent, str) or not parent.strip():
        raise InputError([InputIssue(shown, line, where, "must be a path to a scenario file", parent)])
    written = resolved.parent / parent
    if not os.path.lexists(written):
        # a preset's name: among the allowed folders first (the app copies the presets beside an
        # upload), else where the shipped presets are
        beside = [Path(root) / f"{parent}.yaml" for root in allowed_roots or ()] \
            if _PRESET_RE.fullmatch(parent) else []
        preset = next((f for f in beside if f.is_file()), None) or preset_path(parent)
        if preset is not None:
            written = preset
    parent_path = _resolve(written)
    if allowed_roots is not None and (parent_path is None or not _inside(parent_path, tuple(allowed_roots))):
        raise InputError([InputIssue(shown, line, where, "extends may only name a shipped preset", parent)])
    if parent_path is None:
        problem = _file_problem(written) or "cannot be resolved"
        raise InputError([InputIssue(shown, line, where, f"{_shown_path(written)}: {problem}", parent)])
    chain = (*_chain, resolved)
    if parent_path in chain:
        cycle = " -> ".join(_shown_path(p) for p in (*chain, parent_path))
        raise InputError([InputIssue(shown, line, where, f"circular extends: {cycle}", parent)])
    if len(chain) > MAX_EXTENDS:
        raise InputError([InputIssue(shown, line, where,
                                     f"extends chain is longer than {MAX_EXTENDS} files", parent)])
    if cache is not None and parent_path in cache:  # read once for the whole hospital
        return cache[parent_path]
    budget[0] += 1
    if budget[0] > MAX_EXTENDS:  # lists of lists: bound every file reached, not only the depth
        raise InputError([InputIssue(shown, line, where,
                                     f"extends reaches more than {MAX_EXTENDS} files", parent)])
    problem = _file_problem(parent_path)
    if problem is not None:
        message = (f"file not found: {_shown_path(parent_path)}" if problem == "file not found"
                   else f"{_shown_path(parent_path)}: {problem}")
        raise InputError([InputIssue(shown, line, where, message, parent)])
    loaded = load_document(parent_path, chain, allowed_roots=allowed_roots, _budget=budget, _cache=cache)
    if cache is not None:
        cache[parent_path] = loaded
    return loaded


_PRESET_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


def installed_folders(name: str) -> list[Path]:
    """Where an installed wheel put the repository's folder ``name`` (``scenarios``,
    ``experiments``): ``share/careos-sim/NAME`` under the environment's prefix, or under the
    user's base for a ``pip install --user`` (pyproject.toml, ``data-files``)."""
    import site
    import sys

    bases = [Path(sys.prefix)]
    try:
        bases.append(Path(site.getuserbase()))
    except (AttributeError, TypeError, ValueError):  # an embedded interpreter without site's user base
        pass
    return [base / "share" / "careos-sim" / name for base in dict.fromkeys(bases)]


def preset_folders() -> list[Path]:
    """Where shipped presets are looked for, as the app looks: ``$CAREOS_SCENARIOS_DIR``, the
    repository's ``scenarios/`` beside the package (a checkout or an editable install),
    ``./scenarios``, and where an installed wheel put them (:func:`installed_folders`)."""
    folders = []
    if os.environ.get("CAREOS_SCENARIOS_DIR"):
        folders.append(Path(os.environ["CAREOS_SCENARIOS_DIR"]))
    folders.append(Path(__file__).resolve().parents[2] / "scenarios")
    folders.append(Path.cwd() / "scenarios")
    folders += installed_folders("scenarios")
    return folders


def preset_path(name: str) -> Path | None:
    """The file of the preset ``name`` (``default``, ``telling``, ``listening``: the stem of a
    ``.yaml`` in a :func:`preset_folders` folder, the first that has it), or None."""
    if not isinstance(name, str) or not _PRESET_RE.fullmatch(name):
        return None
    for folder in preset_folders():
        candidate = folder / f"{name}.yaml"
        try:
            if candidate.is_file():
                return candidate
        except (OSError, ValueError):
            continue
    return None


def scenario_argument(arg: str | Path) -> Path:
    """A scenario named on the command line: the path if it exists, else a preset of that name
    (``careos-sim run telling``), else the path as given (reading it then says what is wrong)."""
    path = Path(arg)
    if os.path.lexists(path):
        return path
    return preset_path(str(arg)) or path


def document_files(doc: Document) -> set[Path]:
    """The files a document's values came from: the file and every file of its ``extends`` chain."""
    return {Path(s) for s, _ in doc.where.values() if not s.startswith("--")}


def source_files(path: str | Path, *, allowed_roots: Sequence[Path] | None = None) -> list[Path]:
    """The scenario file and every file of its ``extends`` chain (for the manifests' hashes)."""
    return sorted(document_files(load_document(path, allowed_roots=allowed_roots)))


# --------------------------------------------------------------------------- overrides


def parse_set(item: str, option: str = "--set") -> tuple[Path_, Any]:
    """Parse one ``dotted.path=VALUE``; the value is read as YAML (``0.5``, ``true``, ``[1, 2]``),
    with the same types and caps as a scenario file (``yes`` and ``1:4`` stay strings). Problems
    are located at ``option`` (``--set``, or ``--set-a`` of ``compare``)."""
    issue = lambda msg, value=item: InputError([InputIssue(option, None, key or "<set>", msg, value)])  # noqa: E731
    key, sep, raw = item.partition("=")
    key = key.strip()
    if not sep or not key:
        raise issue("expected dotted.path=VALUE")
    parts = key.split(".")
    if any(not p for p in parts):
        raise issue("empty component in dotted path")
    try:
        value = _yaml_value(raw) if raw.strip() else None
    except _YamlProblem as exc:
        if exc.message.startswith("malformed YAML: while"):  # a syntax error: as before, no detail
            raise issue("value is not valid YAML", raw) from None
        raise issue(f"value is not valid YAML: {exc.message.removeprefix('malformed YAML: ')}", raw) from None
    return tuple(parts), value


Override = tuple[Path_, Any, str]  # (path, value, label shown in errors)


def overrides_from(overrides: Mapping[str, Any] | Iterable[str] | None, option: str = "--set") -> list[Override]:
    """Normalise overrides given as a mapping ``{"unit.beds": 20}`` or strings ``["unit.beds=20"]``;
    problems with them are located at ``option``."""
    if not overrides:
        return []
    if isinstance(overrides, str):  # one "path=value", not a sequence of one-letter items
        overrides = [overrides]
    if isinstance(overrides, Mapping):
        items = []
        for k, v in overrides.items():
            parts = tuple(str(k).split("."))
            if any(not p for p in parts):
                raise InputError([InputIssue(option, None, str(k) or "<set>", "empty component in dotted path",
                                             f"{k}={v}")])
            items.append((parts, v, f"{option} {k}={v}"))
        return items
    return [(*parse_set(s, option), f"{option} {s}") for s in overrides]


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
        field = _keyed_fields(cls).get(part)
        if field is None:
            return []
        cls = _model_in(field.annotation)
    return sorted(_keyed_fields(cls))


def _keyed_fields(cls: Any) -> dict[str, Any]:
    """A model's fields by the key a file writes (the alias where there is one, as ``from``)."""
    return {f.alias or name: f for name, f in getattr(cls, "model_fields", {}).items()}


def _model_in(annotation: Any) -> Any:
    """The model a field holds, directly or as the items of a list (a hospital's units); else the annotation."""
    kind, arg = _field_kind(annotation)
    if kind == "items" and not isinstance(arg, tuple):
        kind, arg = _field_kind(arg)
    return arg if kind == "model" else annotation


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


def _field_kind(annotation: Any) -> tuple[str, Any]:
    """What a field holds, for :func:`_type_issues`: ("number"/"integer"/"bool", None),
    ("model", cls), ("items", annotation or tuple of them), ("values", annotation) or ("other", None)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _field_kind(typing.get_args(annotation)[0])
    if origin is typing.Union or origin is types.UnionType:
        kinds = [_field_kind(a) for a in typing.get_args(annotation) if a is not type(None)]
        names = {k for k, _ in kinds}
        if len(kinds) == 1:
            return kinds[0]
        if names <= {"number", "integer"}:
            return ("number", None)
        return ("other", None)
    if annotation is bool:
        return ("bool", None)
    if annotation is int:
        return ("integer", None)
    if annotation is float:
        return ("number", None)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return ("model", annotation)
    if origin in (tuple, list, collections.abc.Sequence):
        args = typing.get_args(annotation)
        if origin is tuple and args and (len(args) != 2 or args[1] is not Ellipsis):
            return ("items", args)  # tuple[X, Y]: one annotation per position
        return ("items", args[0] if args else Any)
    if origin in (dict, collections.abc.Mapping):
        args = typing.get_args(annotation)
        return ("values", args[1] if len(args) == 2 else Any)
    return ("other", None)


def _type_issues(annotation: Any, value: Any, loc: Path_, out: dict[Path_, str]) -> None:
    """Values pydantic's lax mode would coerce although the file means something else: a
    true/false for a number (pydantic takes it as 1 or 0), a string for a number that is not
    written as a plain decimal (``"1_000"``, ``" 20"``, ``"inf"``), a non-finite number, and
    anything but true/false for a true/false field (pydantic takes ``"yes"``, ``"off"``, 1)."""
    kind, arg = _field_kind(annotation)
    if kind in ("number", "integer"):
        noun = "a number" if kind == "number" else "an integer"
        if isinstance(value, bool):
            out[loc] = f"must be {noun}, not true/false"
        elif isinstance(value, float) and not math.isfinite(value):
            out[loc] = "must be a finite number"
        elif isinstance(value, str) and not (_INT_RE.fullmatch(value) or _FLOAT_RE.fullmatch(value)):
            looks_numeric = re.fullmatch(r"[-+]?(?:0[xXoObB]?[0-9a-fA-F_]+|[0-9][0-9_:.]*[0-9_]?)", value.strip())
            if looks_numeric or value.strip().lower().lstrip("+-") in (".inf", "inf", "infinity", ".nan", "nan"):
                out[loc] = f"must be {noun} written in decimal"
            else:
                out[loc] = f"must be {noun}"
    elif kind == "bool":
        if not isinstance(value, bool) and value is not None:
            out[loc] = "must be true or false"
    elif kind == "model" and isinstance(value, dict):
        fields = arg.model_fields
        for key, item in value.items():
            field = fields.get(key) if isinstance(key, str) else None
            if field is not None:
                _type_issues(field.annotation, item, (*loc, key), out)
    elif kind == "items" and isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            if isinstance(arg, tuple):
                if i < len(arg):
                    _type_issues(arg[i], item, (*loc, i), out)
            else:
                _type_issues(arg, item, (*loc, i), out)
    elif kind == "values" and isinstance(value, dict):
        for key, item in value.items():
            _type_issues(arg, item, (*loc, key), out)


def validate_model(model: type[M], doc: Document) -> M:
    """Validate ``doc`` against ``model``; convert every error to a located :class:`InputIssue`.

    Besides pydantic's rules, a number field refuses true/false, non-finite numbers and strings
    not written as plain decimals, and a true/false field refuses anything else (see
    :func:`_type_issues`); these issues replace pydantic's at the same path."""
    strict: dict[Path_, str] = {}
    _type_issues(model, doc.data, (), strict)
    try:
        result = model.model_validate(doc.data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
    else:
        if not strict:
            return result
        errors = []
    issues = []
    for loc, message in strict.items():
        source, line = doc.locate(loc)
        issues.append(InputIssue(source, line, dotted(loc), message, _value_at(doc.data, loc)[1]))
    for err in errors:
        loc: Path_ = tuple(err["loc"])
        if any(loc[: len(k)] == k for k in strict):
            continue
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
) -> ScenarioSpec:
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
    return validate_model(ScenarioSpec, doc)


def scenario_json_schema() -> dict[str, Any]:
    """JSON Schema of scenario files (the model's schema plus ``extends``)."""
    schema = ScenarioSpec.model_json_schema()
    schema["properties"] = {
        "extends": {
            "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1}],
            "description": "Path (relative to this file) or preset name of a scenario to start from, or a list "
                           "of them applied in order (later over earlier, this file over all).",
        },
        **schema["properties"],
    }
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "careos-sim scenario"
    return schema


# --------------------------------------------------------------------------- hospitals


@dataclass
class _HospitalRead:
    """What the units of one hospital share while it is read: the hospital's document, the
    files already read (by resolved path), the distinct files reached (against
    :data:`MAX_EXTENDS`) and the values resolved so far (against :data:`MAX_NODES`)."""

    doc: Document
    path: Path
    allowed_roots: Sequence[Path] | None
    files: list[int]
    cache: dict[Path, Document] = dataclasses.field(default_factory=dict)
    values: int = 0

    def capped(self) -> bool:
        """Whether a hospital-wide cap is exceeded (every further unit would only repeat it)."""
        return self.files[0] > MAX_EXTENDS or self.values > MAX_NODES


def load_hospital(
    path: str | Path,
    overrides: Mapping[str, Any] | Iterable[str] | None = None,
    *,
    allowed_roots: Sequence[Path] | None = None,
) -> HospitalSpec:
    """Load, resolve and validate a hospital file (``kind: hospital``).

    Each unit is its ``extends`` (a preset name, or a file relative to the file that lists the
    unit), then its ``system``'s leadership block merged over it, then its ``set`` overrides,
    with the hospital's ``run`` block; it is validated as a unit scenario, and its problems are
    reported under ``units[i].``. Each rollout step's ``system`` (a preset or a file) gives the
    leadership block merged over each named unit's from its ``from_day``.

    ``overrides`` (a mapping ``{"float_pool.nurses": 12}`` or strings ``["run.horizon_days=30"]``)
    are dotted paths into the hospital file, applied before validation. Any path through mappings
    works (``run.*``, ``float_pool.*``, ``quality_team.*``, ``leadership.*``, ``flow.overflow``,
    ``flow.off_service_*``, ``demand.*``, ``departments.*``, ``name``), and a whole list can be
    replaced (``flow.transfers=[]``, ``demand.weekday=[...]``, ``rollout=[...]``, ``units=[...]``);
    a path through a list item (``units[2].set.unit.beds``) is not supported. ``allowed_roots``
    confines every file reached, as in :func:`load_document`. Raises :class:`InputError`.
    """
    files = [0]
    doc = load_document(path, allowed_roots=allowed_roots, _budget=files)
    return _hospital(doc, Path(path), overrides, allowed_roots, files)


def load_any(
    path: str | Path,
    overrides: Mapping[str, Any] | Iterable[str] | None = None,
    *,
    extra: Iterable[Override] = (),
    allowed_roots: Sequence[Path] | None = None,
) -> ScenarioSpec | HospitalSpec:
    """A hospital (:func:`load_hospital`) if the file says ``kind: hospital``, else a unit
    scenario, read exactly as :func:`load_scenario` reads it. The file is read once. ``extra``:
    (path, value, label) triples as :func:`load_scenario` takes them (``--horizon-days``)."""
    files = [0]
    doc = load_document(path, allowed_roots=allowed_roots, _budget=files)
    if is_hospital_document(doc.data):
        return _hospital(doc, Path(path), overrides, allowed_roots, files, extra)
    items = [*overrides_from(overrides), *extra]
    return validate_model(ScenarioSpec, apply_overrides(doc, items) if items else doc)


def validate_spec(doc: Document, path: str | Path) -> ScenarioSpec | HospitalSpec:
    """A read document (``path``: the file it came from, for a hospital's relative ``extends``)
    validated as what it is: a hospital (``kind: hospital``) or a unit scenario."""
    if is_hospital_document(doc.data):
        return _hospital(doc, Path(path), None, None, [0])
    return validate_model(ScenarioSpec, doc)


def hospital_json_schema() -> dict[str, Any]:
    """JSON Schema of hospital files (the model's schema plus ``extends``)."""
    schema = HospitalFileSpec.model_json_schema()
    schema["properties"] = {
        "extends": {
            "anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1}],
            "description": "Path (relative to this file) of a hospital file to start from, or a list of them "
                           "applied in order (later over earlier, this file over all); lists such as units are "
                           "replaced, not merged.",
        },
        **schema["properties"],
    }
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "careos-sim hospital"
    return schema


def _hospital(doc: Document, path: Path, overrides: Mapping[str, Any] | Iterable[str] | None,
              allowed_roots: Sequence[Path] | None, files: list[int], extra: Iterable[Override] = ()) -> HospitalSpec:
    """The hospital of a read document: kind, overrides, the file's rules, then units and rollout."""
    _check_kind(doc)
    items = [*overrides_from(overrides), *extra]
    if items:
        doc = apply_overrides(doc, items)
    read = _HospitalRead(doc, path, allowed_roots, files)
    _charge(read, doc.data, (), None)
    spec = validate_model(HospitalFileSpec, doc)
    scenarios = _resolve_units(read, spec)
    rollouts = _resolve_rollouts(read, spec, scenarios)
    units = tuple(HospitalUnitSpec(name=e.name, specialty=e.specialty, scenario=s, rollout=r)
                  for e, s, r in zip(spec.units, scenarios, rollouts))
    return HospitalSpec(name=spec.name, description=spec.description, units=units, departments=spec.departments,
                        float_pool=spec.float_pool, quality_team=spec.quality_team, leadership=spec.leadership,
                        flow=spec.flow, demand=spec.demand, run=spec.run)


def _check_kind(doc: Document) -> None:
    """One clear issue for a file that is not a hospital (rather than one per unknown key)."""
    if is_hospital_document(doc.data):
        return
    source, line = doc.locate(("kind",))
    if "kind" not in doc.data:
        raise InputError([InputIssue(source, line, "kind", "required key is missing: a hospital file says "
                                     "kind: hospital (a unit scenario is read by load_scenario)", has_value=False)])
    raise InputError([InputIssue(source, line, "kind", "must be 'hospital' in a hospital file", doc.data["kind"])])


def _count_values(data: Any, limit: int) -> int:
    """Values in ``data`` as the reader counts them (each mapping, list, key and scalar; an
    object reached twice counts twice), counting no further than just past ``limit``."""
    count, stack = 0, [data]
    while stack and count <= limit:
        item = stack.pop()
        count += 1
        if isinstance(item, dict):
            count += len(item)
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return count


def _charge(read: _HospitalRead, data: Any, loc: Path_, name: str | None) -> None:
    """Count ``data`` against the hospital's :data:`MAX_NODES`; past it, an issue at ``loc``."""
    read.values += _count_values(data, MAX_NODES - read.values)
    if read.values > MAX_NODES:
        source, line = read.doc.locate(loc)
        raise InputError([InputIssue(source, line, dotted(loc), f"the hospital holds more than {MAX_NODES} values "
                                     "in all (each unit counts every value of the files it extends)", name,
                                     name is not None)])


def _resolve_units(read: _HospitalRead, spec: HospitalFileSpec) -> list[ScenarioSpec]:
    """Every unit's scenario; the problems of all units at once (until a hospital-wide cap)."""
    scenarios: list[ScenarioSpec] = []
    issues: list[InputIssue] = []
    for i in range(len(spec.units)):
        try:
            scenarios.append(_unit_scenario(read, spec, i))
        except InputError as exc:
            issues.extend(_hospital_wide(exc.issues))
            if read.capped():
                break
    if issues:
        raise InputError(issues)
    return scenarios


def _hospital_wide(issues: Iterable[InputIssue]) -> list[InputIssue]:
    """The files cap says that it counts the whole hospital's distinct files, not one unit's."""
    prefix = f"extends reaches more than {MAX_EXTENDS} files"
    message = (f"the hospital's units reach more than {MAX_EXTENDS} distinct files through extends and system "
               "(each file counted once)")
    return [replace(i, message=message) if i.message == prefix else i for i in issues]


def _unit_scenario(read: _HospitalRead, spec: HospitalFileSpec, i: int) -> ScenarioSpec:
    """Unit ``i`` resolved and validated as a scenario; its issues' paths start ``units[i].``."""
    doc = _unit_document(read, spec, i)
    _charge(read, doc.data, ("units", i), spec.units[i].name)
    try:
        return validate_model(ScenarioSpec, doc)
    except InputError as exc:
        raise InputError([_prefixed(issue, f"units[{i}]") for issue in exc.issues]) from None


def _prefixed(issue: InputIssue, prefix: str) -> InputIssue:
    """``issue`` with its path under ``prefix`` (``units[3]``): whose value it is, in the hospital."""
    return replace(issue, path=prefix if issue.path == "<document>" else f"{prefix}.{issue.path}")


def _unit_document(read: _HospitalRead, spec: HospitalFileSpec, i: int) -> Document:
    """extends, then the system's leadership block, then set; the run is the hospital's. A value
    is located where it is written (a base file's line, or the hospital file's), anything else at
    the unit's entry."""
    entry = spec.units[i]
    doc = _merge(_bases(read, ("units", i, "extends"), entry.extends),
                 _leadership_of(read, ("units", i, "system"), entry.system))
    for key, value in entry.set.items():
        doc = _set_located(doc, tuple(key.split(".")), value, read.doc, ("units", i, "set", key))
    doc.data["run"] = spec.run.model_dump()
    doc.where = {p: w for p, w in doc.where.items() if p[:1] != ("run",)}
    doc.where[("run",)] = read.doc.locate(("run",))
    doc.where[()] = read.doc.locate(("units", i))
    doc.source = read.doc.locate(("units", i))[0]
    return doc


def _written_in(read: _HospitalRead, loc: Path_) -> tuple[str, int | None, Path]:
    """Where the value at ``loc`` of the hospital file is written: the file shown, the line, and
    the resolved file that relative names are read against (the hospital file for a ``--set``)."""
    source, line = read.doc.locate(loc)
    file = read.path if source.startswith("--") else Path(source)
    return source, line, _resolve(file) or Path(os.path.abspath(file))


def _bases(read: _HospitalRead, loc: Path_, extends: str | tuple[str, ...]) -> Document:
    """The unit scenario(s) a unit extends, merged in order, each read as a scenario's extends."""
    items = [(extends, loc)] if isinstance(extends, str) else [(e, (*loc, j)) for j, e in enumerate(extends)]
    base: Document | None = None
    for item, at in items:
        shown, line, resolved = _written_in(read, at)
        loaded = _load_base(item, line, dotted(at), shown, resolved, (), read.allowed_roots, read.files, read.cache)
        if is_hospital_document(loaded.data):
            raise InputError([InputIssue(shown, line, dotted(at), "names a hospital file, not a unit scenario", item)])
        base = loaded if base is None else _merge(base, loaded)
    return base  # type: ignore[return-value]


def _leadership_of(read: _HospitalRead, loc: Path_, name: str) -> Document:
    """The leadership block of a system (a preset or a file), as a document ``{leadership: ...}``."""
    shown, line, resolved = _written_in(read, loc)
    system = _load_base(name, line, dotted(loc), shown, resolved, (), read.allowed_roots, read.files, read.cache)
    block = system.data.get("leadership")
    if is_hospital_document(system.data) or not isinstance(block, dict):
        what = "a hospital file" if is_hospital_document(system.data) else "a file without a leadership block"
        raise InputError([InputIssue(shown, line, dotted(loc), f"names {what}; a system is a preset (telling, "
                                     "listening) or a file with a leadership block", name)])
    where = {p: w for p, w in system.where.items() if p[:1] == ("leadership",)}
    return Document({"leadership": block}, where, system.source)


def _set_located(doc: Document, path: Path_, value: Any, hospital: Document, loc: Path_) -> Document:
    """:func:`apply_overrides` for one ``set`` item, located at its line in the hospital file."""
    label = "--hospital-set"  # a placeholder source, replaced below by the item's place
    at = hospital.locate(loc)
    try:
        out = apply_overrides(_private_path(doc, path), [(path, value, label)])
    except InputError as exc:
        raise InputError([replace(i, source=at[0], line=at[1], path=dotted(loc), message=f"{i.path} {i.message}")
                          if i.source == label else i for i in exc.issues]) from None
    out.where = {p: (at if w[0] == label else w) for p, w in out.where.items()}
    return out


def _private_path(doc: Document, path: Path_) -> Document:
    """``doc`` with the mappings along ``path`` copied, so that :func:`apply_overrides` setting a
    value there changes no document they are shared with (the files read, the hospital file)."""
    data = node = dict(doc.data)
    for part in path[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            break
        node[part] = node = dict(child)
    return Document(data, doc.where, doc.source, doc.line_of_root)


def _resolve_rollouts(read: _HospitalRead, spec: HospitalFileSpec,
                      scenarios: list[ScenarioSpec]) -> list[tuple[tuple[float, LeadershipSpec], ...]]:
    """Per unit, its (from_day, leadership) switches in day order: each rollout step's system
    block merged over the unit's own leadership."""
    index = {e.name: i for i, e in enumerate(spec.units)}
    steps: list[list[tuple[float, LeadershipSpec]]] = [[] for _ in spec.units]
    issues: list[InputIssue] = []
    for k, step in enumerate(spec.rollout):
        try:
            block = _rollout_block(read, k, step.system)
        except InputError as exc:
            issues.extend(_hospital_wide(exc.issues))
            if read.capped():
                break
            continue
        for name in (list(index) if step.units == "all" else step.units):
            i = index[name]
            steps[i].append((step.from_day, _laid_over(scenarios[i].leadership, block, k)))
    if issues:
        raise InputError(issues)
    return [tuple(sorted(s, key=lambda item: item[0])) for s in steps]


def _rollout_block(read: _HospitalRead, k: int, system: str) -> Document:
    """Rollout step ``k``'s leadership block, checked once on its own (its problems do not depend
    on the unit it is laid over); paths start ``rollout[k].leadership``."""
    doc = _leadership_of(read, ("rollout", k, "system"), system)
    block = Document(doc.data["leadership"], {p[1:]: w for p, w in doc.where.items()}, doc.source)
    _laid_over(LeadershipSpec(), block, k)
    return block


def _laid_over(base: LeadershipSpec, block: Document, k: int) -> LeadershipSpec:
    """``block`` merged over ``base`` and validated; problems located in the system's file."""
    merged = Document(deep_merge(base.model_dump(), block.data), block.where, block.source)
    try:
        return validate_model(LeadershipSpec, merged)
    except InputError as exc:
        raise InputError([_prefixed(issue, f"rollout[{k}].leadership") for issue in exc.issues]) from None
