"""Execute notebooks top to bottom in a fresh kernel and fail on the first cell that raises.

    python tools/run_notebook.py notebooks/tutorial.ipynb [--timeout 600] [--output executed.ipynb]

Each notebook runs with its own folder as the working directory, in the Python that runs this
script (the kernel is ipykernel's ``python3``). The notebook file is never changed: it is
stored without outputs; ``--output`` writes the executed copy elsewhere (one notebook only).
Exit status: 0 when every cell ran, 1 when a cell raised or timed out, 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError


def run_notebook(path: Path, timeout: int, output: Path | None = None) -> bool:
    """Execute ``path``; True when every cell ran without error."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.resolve().parent)}})
    started = time.perf_counter()
    try:
        client.execute()
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as exc:
        print(f"{path}: FAILED after {time.perf_counter() - started:.1f} s\n{exc}", file=sys.stderr)
        return False
    finally:
        if output is not None:
            nbformat.write(nb, output)
    cells = sum(1 for c in nb.cells if c.cell_type == "code")
    print(f"{path}: {cells} code cells ran in {time.perf_counter() - started:.1f} s")
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Execute notebooks; fail on any cell error.")
    parser.add_argument("notebooks", nargs="+", type=Path, help="notebook files (.ipynb)")
    parser.add_argument("--timeout", type=int, default=600, help="seconds one cell may take (default: 600)")
    parser.add_argument("--output", type=Path, help="write the executed notebook here (one notebook only)")
    args = parser.parse_args(argv)
    if args.output is not None and len(args.notebooks) != 1:
        parser.error("--output takes one notebook")
    missing = [str(p) for p in args.notebooks if not p.is_file()]
    if missing:
        parser.error(f"not a file: {', '.join(missing)}")
    ok = [run_notebook(p, args.timeout, args.output) for p in args.notebooks]
    return 0 if all(ok) else 1


if __name__ == "__main__":
    sys.exit(main())
