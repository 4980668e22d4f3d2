"""Execute notebooks in place, top to bottom, so their committed outputs are fresh.

Usage: .venv/bin/python scripts/execute_notebooks.py book/*.ipynb   (or: make notebooks)

Each notebook runs with its own folder as the working directory, as Jupyter Book and
nbval run it, in the kernel of the Python that runs this script.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from traitlets.config import Config

#: The kernel and this script talk over ZeroMQ sockets on the loopback interface. By default
#: jupyter_client (8.10) gives the kernel no keys, and ipykernel then warns on every start
#: that the connection is not encrypted. With "auto" the kernel manager provisions CurveZMQ
#: keys whenever the kernelspec says the kernel supports them (ipykernel's does): the
#: connection is encrypted and there is nothing to warn about.
KERNEL_CONFIG = Config({"KernelManager": {"transport_encryption": "auto"}})


def merge_streams(outputs: list) -> list:
    """Join consecutive prints to the same stream into one output.

    How a kernel splits printed text into messages depends on timing; merged, the committed
    outputs do not change from one run to the next.
    """
    merged: list = []
    for output in outputs:
        previous = merged[-1] if merged else None
        if (
            previous is not None
            and output.get("output_type") == "stream"
            and previous.get("output_type") == "stream"
            and previous.get("name") == output.get("name")
        ):
            previous["text"] += output["text"]
        else:
            merged.append(output)
    return merged


def execute(path: Path, timeout: int = 600) -> float:
    """Run every cell of the notebook at ``path`` and write the outputs back; return seconds."""
    notebook = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    client = NotebookClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        record_timing=False,  # no timestamps in the committed cells' metadata
        resources={"metadata": {"path": str(path.parent)}},
        config=KERNEL_CONFIG,
    )
    client.execute()
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = merge_streams(cell.outputs)
    nbformat.write(notebook, path)
    # An exception raised while an output is rendered (a bad mathtext label, say) is saved
    # as an error output without stopping the run: treat it as the failure it is.
    for index, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                raise RuntimeError(
                    f"{path}: cell {index} produced an error output "
                    f"({output.get('ename')}: {output.get('evalue')}); fix it and run again."
                )
    return time.perf_counter() - start


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    for name in argv:
        seconds = execute(Path(name))
        print(f"{name}: executed in {seconds:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
