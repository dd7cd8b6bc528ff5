"""A report as a list of blocks, rendered twice: one self-contained HTML file and one Markdown file.

The HTML embeds every figure as a base64 PNG data URI and carries its own stylesheet, so it
opens offline and makes no request to the network. The Markdown refers to the same figures
as files in ``figures/`` beside it.

Text in blocks (and the title) may use two inline marks, ``**bold**`` and ```code```, and
Markdown's backslash escapes (``\\*`` is a literal star); everything else is escaped for HTML
(and ``|`` in Markdown table cells). Text a user wrote (a scenario's name, a file name, a value
from a file, an error message) goes in through :func:`literal` or :func:`code`, never as it is,
so that it can neither add marks, links, images or HTML to either rendering nor run long.
"""

from __future__ import annotations

import base64
import html
import io
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Sequence, Union

from careos_sim.text import ECHO_LIMIT, for_terminal

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["Heading", "Para", "Bullets", "Table", "Image", "Code", "Note", "Block", "Document", "png_bytes",
           "blocks_markdown", "literal", "code", "for_plot", "NAME_LIMIT"]

#: Longest scenario or experiment name shown in a report, in characters.
NAME_LIMIT = 80

# Characters that can start Markdown (CommonMark and GitHub's) or HTML inline: escaped with a
# backslash by literal(). "_" only where it can open or close emphasis (not inside snake_case).
_MD_SPECIAL = re.compile(r"[\\`*\[\]<>|~$&!#]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")


def literal(text: object, limit: int = ECHO_LIMIT) -> str:
    """Untrusted text as block text that both renderings show exactly as written: one line,
    control characters shown as ``\\xNN``, at most ``limit`` characters, and every Markdown or HTML
    metacharacter backslash-escaped (the HTML rendering turns the escapes back into the characters,
    then HTML-escapes them). Only inline marks are escaped: report text puts a user's text inside
    a sentence or a table cell, never at the start of a line, where it could start a list."""
    s = for_terminal(text, limit).replace("\r", " ").replace("\n", " ").replace("\t", " ")
    return _MD_SPECIAL.sub(lambda m: "\\" + m.group(), s)


def code(text: object, limit: int = ECHO_LIMIT) -> str:
    """Untrusted text as a code span (shown literally by both renderings); as :func:`literal` text
    where a code span cannot hold it (a backtick in it), and where it holds ``<`` or ``>`` (so that
    no renderer that is lax about code spans meets a tag)."""
    s = for_terminal(text, limit).replace("\r", " ").replace("\n", " ").replace("\t", " ")
    if not s.strip() or any(c in s for c in "`<>"):
        return literal(s, limit)
    return f"`{s}`"


def for_plot(text: object, limit: int = NAME_LIMIT) -> str:
    """Untrusted text for a figure's labels: one line, bounded, and ``$`` escaped so that matplotlib
    does not read it as mathematics (which fails on a name like ``$\\frac``)."""
    s = for_terminal(text, limit).replace("\r", " ").replace("\n", " ").replace("\t", " ")
    return s.replace("$", r"\$")


@dataclass
class Heading:
    level: int  # 1 to 4
    text: str
    anchor: str | None = None


@dataclass
class Para:
    text: str


@dataclass
class Bullets:
    items: list[str]


@dataclass
class Table:
    columns: list[str]
    rows: list[list[str]]
    #: per row, a CSS class for the row ("better-a", "better-b", "neither", "group") or None
    row_classes: list[str | None] | None = None
    #: columns aligned right (numbers)
    numeric: set[int] = field(default_factory=set)
    caption: str | None = None


@dataclass
class Image:
    name: str  # file name in figures/, e.g. "scorecard.png"
    png: bytes
    alt: str
    caption: str | None = None


@dataclass
class Code:
    text: str


@dataclass
class Note:
    """A boxed warning: what is missing, failed or cannot be estimated."""

    text: str


Block = Union[Heading, Para, Bullets, Table, Image, Code, Note]


def png_bytes(fig: Figure) -> bytes:
    """The figure as PNG bytes (drawn on its own Agg canvas)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


_BOLD = re.compile(r"\*\*(.+?)\*\*")
# left to right, as Markdown reads them: a backslash escape (of any ASCII punctuation), or a code span
_TOKEN = re.compile(r"\\([!-/:-@\[-`{-~])|`([^`]+)`")
_HELD = re.compile("\x00([0-9]+)\x00")


def _inline_html(text: str) -> str:
    """Block text as HTML: code spans and escaped characters literal, ``**bold**`` bold, the rest escaped."""
    text = text.replace("\x00", "\ufffd")  # the placeholder below cannot come from the text
    held: list[str] = []
    out, plain, last = [], [], 0

    def flush() -> None:
        escaped = html.escape("".join(plain))
        escaped = _BOLD.sub(lambda m: f"<strong>{m.group(1)}</strong>", escaped)
        out.append(_HELD.sub(lambda m: held[int(m.group(1))], escaped))
        plain.clear()

    for m in _TOKEN.finditer(text):
        plain.append(text[last:m.start()])
        last = m.end()
        if m.group(1) is not None:  # an escaped character: held aside, so it cannot make a mark
            held.append(html.escape(m.group(1)))
            plain.append(f"\x00{len(held) - 1}\x00")
        else:  # a code span ends the bold run before it, as before
            flush()
            out.append(f"<code>{html.escape(m.group(2))}</code>")
    plain.append(text[last:])
    flush()
    return "".join(out)


def _plain_text(text: str) -> str:
    """Block text as plain text (for the HTML ``<title>``): marks dropped, escapes resolved."""
    text = _TOKEN.sub(lambda m: m.group(1) if m.group(1) is not None else m.group(2), text.replace("**", ""))
    return text


_PIPE = re.compile(r"(?<!\\)((?:\\\\)*)\|")


def _cell_md(text: str) -> str:
    """A table cell: an unescaped ``|`` escaped (one already escaped by :func:`literal` stays as it is)."""
    return _PIPE.sub(lambda m: m.group(1) + "\\|", text).replace("\n", " ")


def _fence(text: str) -> str:
    """A code fence longer than any run of backticks in ``text``, so that the text cannot close it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


STYLE = """
:root { --a: #E69F00; --b: #0072B2; --grey: #999999; }
body { font-family: -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: #1a1a1a;
       line-height: 1.45; margin: 0; background: #fafafa; }
main { max-width: 1100px; margin: 0 auto; padding: 1.5rem 2rem 4rem; background: #fff; }
h1 { font-size: 1.7rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.35rem; border-bottom: 2px solid #ddd; padding-bottom: 0.2rem; margin-top: 2.2rem; }
h3 { font-size: 1.1rem; margin-top: 1.6rem; }
h4 { font-size: 1rem; margin-top: 1.2rem; }
table { border-collapse: collapse; margin: 0.8rem 0; font-size: 0.88rem; width: 100%; }
caption { text-align: left; font-size: 0.85rem; color: #444; padding-bottom: 0.3rem; caption-side: top; }
th, td { border: 1px solid #ddd; padding: 0.25rem 0.5rem; vertical-align: top; }
th { background: #f0f0f0; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.better-a td { background: #fbe6bd; }
tr.better-b td { background: #cfe4f2; }
tr.neither td { background: #ffffff; }
tr.group td { background: #eeeeee; font-weight: bold; }
figure { margin: 1rem 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: 0.85rem; color: #444; }
pre { background: #f4f4f4; padding: 0.6rem; overflow-x: auto; font-size: 0.85rem; }
code { font-family: "SFMono-Regular", Consolas, "Liberation Mono", monospace; font-size: 0.9em; }
.note { border-left: 4px solid var(--a); background: #fff7e6; padding: 0.5rem 0.8rem; margin: 0.8rem 0; }
.legend span { display: inline-block; padding: 0 0.4rem; margin-right: 0.5rem; border: 1px solid #ccc; }
nav ul { columns: 2; font-size: 0.9rem; }
"""


def blocks_markdown(blocks: Sequence[Block], figures_dir: str = "figures") -> str:
    """Blocks as Markdown; images refer to ``figures_dir/NAME``."""
    out: list[str] = []
    for block in blocks:
        if isinstance(block, Heading):
            out += [f"{'#' * block.level} {block.text}", ""]
        elif isinstance(block, Para):
            out += [block.text, ""]
        elif isinstance(block, Note):
            out += [f"> **Note.** {block.text}", ""]
        elif isinstance(block, Bullets):
            out += [f"* {item}" for item in block.items] + [""]
        elif isinstance(block, Code):
            fence = _fence(block.text)
            out += [fence, block.text, fence, ""]
        elif isinstance(block, Image):
            out += [f"![{block.alt}]({figures_dir}/{block.name})", ""]
            if block.caption:
                out += [f"*{block.caption}*", ""]
        elif isinstance(block, Table):
            if block.caption:
                out += [block.caption, ""]
            out.append("| " + " | ".join(_cell_md(c) for c in block.columns) + " |")
            out.append("|" + "|".join("---:" if i in block.numeric else "---"
                                      for i in range(len(block.columns))) + "|")
            out += ["| " + " | ".join(_cell_md(c) for c in row) + " |" for row in block.rows]
            out.append("")
    return "\n".join(out).rstrip() + "\n"


@dataclass
class Document:
    title: str
    blocks: list[Block] = field(default_factory=list)

    def add(self, *blocks: Block) -> None:
        self.blocks.extend(blocks)

    def extend(self, blocks: Sequence[Block]) -> None:
        self.blocks.extend(blocks)

    @property
    def images(self) -> list[Image]:
        return [b for b in self.blocks if isinstance(b, Image)]

    # ------------------------------------------------------------------ Markdown

    def markdown(self, figures_dir: str = "figures") -> str:
        return f"# {self.title}\n\n" + blocks_markdown(self.blocks, figures_dir)

    # ------------------------------------------------------------------ HTML

    def html(self) -> str:
        out = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
               '<meta name="viewport" content="width=device-width, initial-scale=1">',
               f"<title>{html.escape(_plain_text(self.title))}</title>", f"<style>{STYLE}</style>", "</head>",
               "<body>", "<main>", f"<h1>{_inline_html(self.title)}</h1>"]
        toc = [b for b in self.blocks if isinstance(b, Heading) and b.level == 2 and b.anchor]
        if toc:
            out.append('<nav><ul>' + "".join(f'<li><a href="#{html.escape(h.anchor)}">{_inline_html(h.text)}</a></li>'
                                              for h in toc) + "</ul></nav>")
        for block in self.blocks:
            out.append(self._block_html(block))
        out += ["</main>", "</body>", "</html>"]
        return "\n".join(out) + "\n"

    @staticmethod
    def _block_html(block: Block) -> str:
        if isinstance(block, Heading):
            anchor = f' id="{html.escape(block.anchor)}"' if block.anchor else ""
            return f"<h{block.level}{anchor}>{_inline_html(block.text)}</h{block.level}>"
        if isinstance(block, Para):
            return f"<p>{_inline_html(block.text)}</p>"
        if isinstance(block, Note):
            return f'<div class="note"><strong>Note.</strong> {_inline_html(block.text)}</div>'
        if isinstance(block, Bullets):
            return "<ul>" + "".join(f"<li>{_inline_html(i)}</li>" for i in block.items) + "</ul>"
        if isinstance(block, Code):
            return f"<pre><code>{html.escape(block.text)}</code></pre>"
        if isinstance(block, Image):
            data = base64.b64encode(block.png).decode("ascii")
            caption = f"<figcaption>{_inline_html(block.caption)}</figcaption>" if block.caption else ""
            return (f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(block.alt)}">'
                    f"{caption}</figure>")
        if isinstance(block, Table):
            parts = ["<table>"]
            if block.caption:
                parts.append(f"<caption>{_inline_html(block.caption)}</caption>")
            parts.append("<thead><tr>" + "".join(f"<th>{_inline_html(c)}</th>" for c in block.columns) + "</tr></thead>")
            parts.append("<tbody>")
            classes = block.row_classes or [None] * len(block.rows)
            for row, cls in zip(block.rows, classes):
                attr = f' class="{cls}"' if cls else ""
                cells = "".join(f'<td class="num">{_inline_html(c)}</td>' if i in block.numeric
                                else f"<td>{_inline_html(c)}</td>" for i, c in enumerate(row))
                parts.append(f"<tr{attr}>{cells}</tr>")
            parts.append("</tbody></table>")
            return "\n".join(parts)
        raise TypeError(f"not a report block: {block!r}")
