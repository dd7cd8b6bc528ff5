"""A Griffe extension that lets the documentation site render careos-sim's docstrings.

The docstrings are written in prose with a few reStructuredText habits, readable as plain text
in ``help()`` and an editor. The site renders docstrings as Markdown, so this extension rewrites
those habits as the site is built (the source is never changed):

* cross-reference roles (``:func:`run```, ``:class:`~careos_sim.spec.loader.InputError```) become
  links to the object's entry in the API reference where it has one, and code otherwise;
* a paragraph ending in ``::`` before an indented literal block ends in ``:`` (the indented
  block is a code block in Markdown too);
* a simple table (rows between ``====  ====`` rules) is shown as preformatted text;
* a title underlined with ``----`` becomes a bold line;
* an attribute without a docstring takes the ``#:`` comment lines above it, or the comment at
  the end of its line, as its docstring (dataclass fields are documented that way).

Used by ``mkdocs.yml`` (``plugins: mkdocstrings: handlers: python: options: extensions``).
"""

from __future__ import annotations

import html
import io
import re
import tokenize
from typing import Any

import griffe

ROLE = re.compile(r":(?:py:)?(?:func|class|meth|mod|data|attr|exc|obj|const):`(~?)([^`]+)`")
RULE = re.compile(r"^\s*=+(?: +=+)+\s*$")
UNDERLINE = re.compile(r"^\s*(?:-{3,}|~{3,}|\^{3,})\s*$")
TOOL_COMMENTS = ("type:", "noqa", "pragma", "fmt:", "pylint:")  # comments for tools, not readers


def _lookup(scope: griffe.Object | griffe.Alias, dotted: str) -> str | None:
    """The full path of ``dotted`` seen from ``scope`` and the scopes around it, if it exists."""
    first, *rest = dotted.split(".")
    while scope is not None:
        member = scope.members.get(first)
        if member is not None:
            path = member.target_path if member.is_alias else member.path
            return ".".join([path, *rest])
        scope = scope.parent
    return None


def _target(obj: griffe.Object, name: str) -> str | None:
    name = name.rstrip("()")
    if obj.package is not None and name.split(".")[0] == obj.package.name:
        return name
    scope = obj if obj.kind in (griffe.Kind.MODULE, griffe.Kind.CLASS) else obj.parent
    return _lookup(scope, name) if scope is not None else None


def _roles(obj: griffe.Object, text: str) -> str:
    def link(match: re.Match[str]) -> str:
        short, name = match.group(1), match.group(2)
        shown = name.rsplit(".", 1)[-1] if short else name
        code = f"<code>{html.escape(shown)}</code>"
        target = _target(obj, name)
        if target is None:
            return code
        # optional: a target that has no entry on the site is shown as code, without a warning
        return f'<autoref identifier="{html.escape(target)}" optional>{code}</autoref>'

    return ROLE.sub(link, text)


def _blocks(text: str) -> str:
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("    "):  # inside an indented literal block: as written
            out.append(line)
            i += 1
            continue
        if RULE.match(line):  # a simple table: from its first rule to its last
            rules = [j for j in range(i, len(lines)) if RULE.match(lines[j])][:3]  # top, under the header, bottom
            end = rules[-1]
            out += ["```text", *lines[i:end + 1], "```"]
            i = end + 1
            continue
        if i + 1 < len(lines) and line.strip() and UNDERLINE.match(lines[i + 1]) \
                and len(lines[i + 1].strip()) >= len(line.strip()):
            out.append(f"**{line.strip()}**")
            i += 2
            continue
        if line.rstrip().endswith("::") and not line.strip() == "::":
            line = line.rstrip()[:-1]
        out.append(line)
        i += 1
    return "\n".join(out)


def markdown(obj: griffe.Object, text: str) -> str:
    """``text`` (a docstring of ``obj``) with its reStructuredText habits written as Markdown."""
    return _blocks(_roles(obj, text))


def _comment(obj: griffe.Object) -> str | None:
    """The ``#:`` lines above an attribute, or the comment closing its line."""
    if obj.lineno is None or obj.filepath is None or isinstance(obj.filepath, list):
        return None
    lines = obj.lines_collection[obj.filepath] if obj.filepath in obj.lines_collection else []
    above, i = [], obj.lineno - 2
    while 0 <= i < len(lines) and lines[i].lstrip().startswith("#:"):
        above.insert(0, lines[i].lstrip()[2:].strip())
        i -= 1
    if above:
        return "\n".join(above)
    source = "\n".join(lines[obj.lineno - 1:obj.endlineno or obj.lineno]) + "\n"
    try:
        comments = [t.string for t in tokenize.generate_tokens(io.StringIO(source).readline)
                    if t.type == tokenize.COMMENT]
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return None
    text = comments[-1].lstrip("#").strip() if comments else ""
    return None if not text or text.startswith(TOOL_COMMENTS) else text


class RstToMarkdown(griffe.Extension):
    """Rewrite every docstring of a package once the whole package is loaded (names resolve)."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        seen: set[int] = set()

        def visit(obj: griffe.Object) -> None:
            if id(obj) in seen:
                return
            seen.add(id(obj))
            if obj.docstring is None and obj.kind is griffe.Kind.ATTRIBUTE:
                text = _comment(obj)
                if text:
                    parent = obj.parent.docstring if obj.parent is not None else None
                    obj.docstring = griffe.Docstring(text, lineno=obj.lineno, parent=obj,
                                                     parser=parent.parser if parent else None,
                                                     parser_options=parent.parser_options if parent else None)
            if obj.docstring is not None:
                obj.docstring.value = markdown(obj, obj.docstring.value)
            for member in obj.members.values():
                if not member.is_alias:
                    visit(member)

        visit(pkg)
