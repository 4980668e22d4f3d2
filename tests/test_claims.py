"""Claims are executable: a chapter whose prose no longer matches its numbers fails nbval.

CONTRIBUTING.md asks that every sentence reporting or comparing a computed result be backed
by an ``assert`` in the notebook, often in a hidden cell (tagged ``remove-cell`` or
``remove-input``). This test proves the mechanism the book relies on: it writes two small
chapters with nbformat, one whose claim holds and one whose claim is false, runs nbval on
them exactly as ``make test-notebooks`` runs the book, and checks that the first passes and
the second fails, in its hidden assert cell and with the assert's message.
"""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

ROOT = Path(__file__).resolve().parents[1]
SANITIZE = ROOT / "tests" / "nbval_sanitize.cfg"


def chapter(threshold: float) -> nbformat.NotebookNode:
    """A chapter that says "the mean is above {threshold}" and asserts it in a hidden cell.

    The data's mean is 0.5, so the claim holds for a threshold below 0.5 and is false
    above. No cell prints anything, so only the assert can make nbval fail.
    """
    claim = f"the mean is above {threshold}"
    return new_notebook(
        cells=[
            new_markdown_cell(f"The data below have a mean of 0.5: {claim}."),
            new_code_cell(
                "import numpy as np\n"
                "from myst_nb import glue\n"
                "data = np.array([0.25, 0.5, 0.75])\n"
                "mean = float(data.mean())\n"
                'glue("mean", round(mean, 6), display=False)'
            ),
            new_code_cell(
                f'assert mean > {threshold}, "the text says {claim}"',
                metadata={"tags": ["remove-cell"]},
            ),
        ],
        metadata={
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
    )


def test_a_false_claim_fails_nbval_and_a_true_one_passes(tmp_path: Path) -> None:
    nbformat.write(chapter(0.25), tmp_path / "claim_holds.ipynb")
    nbformat.write(chapter(0.9), tmp_path / "claim_is_false.ipynb")
    report = tmp_path / "report.xml"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--nbval",
            "--nbval-current-env",
            "--nbval-sanitize-with",
            str(SANITIZE),
            "-p",
            "no:randomly",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:xdist",
            f"--junitxml={report}",
            "-q",
            f"--rootdir={tmp_path}",
            "claim_holds.ipynb",
            "claim_is_false.ipynb",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr  # 1: some tests failed

    outcomes: dict[str, list[tuple[str, str]]] = {}
    for case in ElementTree.parse(report).iter("testcase"):
        failure = case.find("failure")
        message = "" if failure is None else (failure.text or "") + failure.get("message", "")
        outcomes.setdefault(case.get("classname", ""), []).append((case.get("name", ""), message))
    holds = next(cases for name, cases in outcomes.items() if "claim_holds" in name)
    false = next(cases for name, cases in outcomes.items() if "claim_is_false" in name)

    assert len(holds) == len(false) == 2  # the two code cells of each chapter
    assert all(message == "" for _, message in holds), holds
    assert false[0][1] == "", "the computing cell itself runs fine"
    assert "AssertionError" in false[1][1] and "the mean is above 0.9" in false[1][1], false
