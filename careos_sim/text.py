"""Showing untrusted text: names, file names and values from user files, made safe for where
they are shown (a terminal, Markdown, HTML) and bounded in length.

Every place that echoes text a user wrote (a scenario's name, a file name, a value in an
error) passes it through one of these, so a hostile name can neither run escape sequences in
a terminal, inject Markdown or HTML into a report or page, nor flood the screen.
"""

from __future__ import annotations

import html
import re

__all__ = ["bounded", "for_terminal", "for_markdown", "for_html", "ECHO_LIMIT"]

#: Longest echo of a user's value in an error or a label, in characters.
ECHO_LIMIT = 200

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069]")
_MARKDOWN = re.compile(r"([\\`*_{}\[\]<>()#+\-.!|~$])")


def bounded(text: object, limit: int = ECHO_LIMIT) -> str:
    """``text`` as a string of at most ``limit`` characters (an ellipsis says it was cut)."""
    s = str(text)
    return s if len(s) <= limit else s[: max(0, limit - 1)] + "…"


def for_terminal(text: object, limit: int = ECHO_LIMIT) -> str:
    """Control characters (escape sequences, carriage returns, bidi overrides) shown as ``\\xNN``."""
    s = bounded(text, limit)
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), s)


def for_markdown(text: object, limit: int = ECHO_LIMIT) -> str:
    """Markdown and HTML metacharacters escaped; newlines become spaces (a name is one line)."""
    s = for_terminal(text, limit).replace("\n", " ").replace("\t", " ")
    return _MARKDOWN.sub(r"\\\1", s)


def for_html(text: object, limit: int = ECHO_LIMIT) -> str:
    """HTML-escaped (quotes included), control characters shown as ``\\xNN``."""
    return html.escape(for_terminal(text, limit), quote=True)
