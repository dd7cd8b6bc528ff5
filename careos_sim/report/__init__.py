"""Reports leaders can read: ``careos-sim report DIR`` writes ``DIR/report.html`` and ``DIR/report.md``.

A report is built only from the files a results folder already holds (``compare --out`` or
``sweep --out``; see docs/results-store.md); nothing is re-run. ``report.html`` is one
self-contained file: its figures are embedded as PNG data URIs and its stylesheet is inline,
so it opens offline and makes no request to the network. ``report.md`` refers to the same
figures, saved as PNG files in ``DIR/figures/``. Every file is written to a temporary file
and renamed into place, the HTML last: a failure leaves the previous report, never half of one.

For the app and notebooks, the pieces of a comparison's report are available on their own:
:func:`scorecard_table`, :func:`brief` and :func:`comparison_figures`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from careos_sim.report.common import read_manifest, write_atomic
from careos_sim.report.comparison import brief, comparison_figures, load_compare, scorecard_table
from careos_sim.report.document import Document, Image

__all__ = ["write_report", "cli_report", "build_report", "comparison_figures", "scorecard_table", "brief"]


def build_report(folder: str | Path) -> Document:
    """The report of a results folder as a :class:`Document` (nothing written); InputError for a bad folder."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    kind = manifest["kind"]
    if kind == "compare":
        from careos_sim.report.comparison import comparison_blocks

        title, blocks = comparison_blocks(load_compare(folder, manifest))
    elif kind == "sweep":
        from careos_sim.report.sweeps import sweep_blocks

        title, blocks = sweep_blocks(folder, manifest)
    else:
        from careos_sim.report.runs import run_blocks

        title, blocks = run_blocks(folder, manifest)
    return Document(title, blocks)


def write_report(folder: str | Path) -> tuple[Path, Path]:
    """Write ``report.html`` and ``report.md`` (and the figures as ``figures/*.png``) in ``folder``.

    Returns the paths of the HTML and the Markdown. Raises :class:`~careos_sim.spec.loader.InputError`
    when ``folder`` is not a results folder.
    """
    folder = Path(folder)
    doc = build_report(folder)
    html, markdown = doc.html().encode("utf-8"), doc.markdown().encode("utf-8")
    images: list[Image] = doc.images
    if images:
        (folder / "figures").mkdir(exist_ok=True)
    for image in images:
        write_atomic(folder / "figures" / image.name, image.png)
    md_path, html_path = folder / "report.md", folder / "report.html"
    write_atomic(md_path, markdown)
    write_atomic(html_path, html)
    return html_path, md_path


def cli_report(args: argparse.Namespace) -> int:
    """``careos-sim report DIR``: write the report, print the two files written."""
    from careos_sim.text import for_terminal

    html, md = write_report(Path(args.dir))
    print(for_terminal(html, 1000))
    print(for_terminal(md, 1000))
    return 0
