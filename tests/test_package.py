"""gmmlib as a package: what ``import gmmlib`` loads, the names it loads on first use, its one
version, and that the chapters use only its public names."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from IPython.core.inputtransformer2 import TransformerManager

import gmmlib

ROOT = Path(__file__).resolve().parent.parent

#: Loaded only by the parts that need them (pandas is left out: scikit-learn loads it).
OPTIONAL = ("matplotlib", "tqdm", "dask", "distributed")


#: The lazy names, in the order one interpreter touches them (plotting, the heaviest, last).
LAZY = ("select_model", "ModelSelection", "selection", "dask", "plotting")


@pytest.fixture(scope="module")
def loaded() -> dict[str, set[str]]:
    """In one fresh interpreter: the top-level modules (and gmmlib's own) loaded by ``import
    gmmlib`` (key ``"import"``), then by touching each of :data:`LAZY` in turn, cumulatively."""
    program = (
        "import json, sys\n"
        "def names():\n"
        "    return sorted({m if m.startswith('gmmlib.') else m.split('.')[0]\n"
        "                   for m in sys.modules})\n"
        "import gmmlib\n"
        "steps = {'import': names()}\n"
        f"for name in {LAZY!r}:\n"
        "    getattr(gmmlib, name)\n"
        "    steps[name] = names()\n"
        "print(json.dumps(steps))"
    )
    output = subprocess.run(
        [sys.executable, "-c", program], check=True, capture_output=True, text=True
    ).stdout
    return {step: set(names) for step, names in json.loads(output.splitlines()[-1]).items()}


def test_import_gmmlib_loads_no_optional_dependency(loaded):
    assert not set(OPTIONAL) & loaded["import"]
    assert not {"gmmlib.plotting", "gmmlib.selection", "gmmlib.dask"} & loaded["import"]
    assert {"gmmlib.mixture", "gmmlib.em", "numpy", "scipy", "sklearn"} <= loaded["import"]


@pytest.mark.parametrize(
    ("name", "module", "dependencies"),
    [
        ("select_model", "gmmlib.selection", set()),
        ("ModelSelection", "gmmlib.selection", set()),
        ("selection", "gmmlib.selection", set()),
        ("dask", "gmmlib.dask", set()),  # Dask itself is imported when a function needs it
        ("plotting", "gmmlib.plotting", {"matplotlib"}),
    ],
)
def test_the_lazy_names_load_on_first_access(loaded, name, module, dependencies):
    before = loaded[LAZY[LAZY.index(name) - 1]] if LAZY.index(name) else loaded["import"]
    new = loaded[name] - before
    assert module in loaded[name] and dependencies <= new
    # each loads what it needs and nothing the others need
    assert not (set(OPTIONAL) - dependencies) & new


def test_the_lazy_names_are_the_modules_objects():
    from gmmlib import plotting, selection

    assert gmmlib.select_model is selection.select_model
    assert gmmlib.ModelSelection is selection.ModelSelection
    assert gmmlib.plotting is plotting
    assert set(gmmlib.__all__) <= set(dir(gmmlib))
    with pytest.raises(AttributeError, match="no attribute 'plot_gmm'"):
        _ = gmmlib.plot_gmm


def test_the_version_is_the_one_in_pyproject():
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    project = text.split("[project]", 1)[1].split("\n[", 1)[0]
    (version,) = re.findall(r'^version\s*=\s*"([^"]+)"', project, flags=re.MULTILINE)
    assert gmmlib.__version__ == version


# ---------------------------------------------------------------- chapters use public names


def private_gmmlib_names(source: str) -> list[str]:
    """The private parts of gmmlib a piece of notebook code imports or reaches: a module or
    name with a leading underscore (``gmmlib._x``, ``from gmmlib import _x``, ``from
    gmmlib._x import y``, ``from gmmlib.em import _y``); dunder names such as
    ``__version__`` are public."""
    tree = ast.parse(TransformerManager().transform_cell(source))

    def private(dotted: str) -> bool:
        return any(part.startswith("_") and not part.startswith("__") for part in dotted.split("."))

    found, inner = [], set()
    for node in ast.walk(tree):  # outer nodes first: gmmlib._x.y before gmmlib._x
        if id(node) in inner:
            continue
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.startswith("gmmlib") and private(a.name)]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "gmmlib":
            found += [
                f"{node.module}.{a.name}" for a in node.names if private(f"{node.module}.{a.name}")
            ]
        elif isinstance(node, ast.Attribute):
            chain = []
            while isinstance(node, ast.Attribute):
                chain.append(node.attr)
                inner.add(id(node.value))
                node = node.value
            if isinstance(node, ast.Name) and node.id == "gmmlib":
                dotted = ".".join(["gmmlib", *reversed(chain)])
                found += [dotted] if private(dotted) else []
    return found


@pytest.mark.parametrize(
    ("source", "found"),
    [
        ("from gmmlib import _dask", ["gmmlib._dask"]),
        ("from gmmlib import em, _kernels as k", ["gmmlib._kernels"]),
        (
            "from gmmlib._covariance import COVARIANCE_TYPES",
            ["gmmlib._covariance.COVARIANCE_TYPES"],
        ),
        ("import gmmlib._parallel", ["gmmlib._parallel"]),
        ("import gmmlib\nx = gmmlib._validation.is_integer(3)", ["gmmlib._validation.is_integer"]),
        ("from gmmlib.mixture import _kept_run", ["gmmlib.mixture._kept_run"]),
        ("%matplotlib inline\nfrom gmmlib import _kernels", ["gmmlib._kernels"]),
        ("import gmmlib\nprint(gmmlib.__version__)\nfrom gmmlib import em, dask", []),
        ("from sklearn.utils import _safe_indexing", []),
    ],
)
def test_the_check_finds_private_names(source, found):
    assert sorted(set(private_gmmlib_names(source))) == sorted(found)


@pytest.mark.parametrize("notebook", sorted((ROOT / "book").glob("*.ipynb")), ids=lambda p: p.name)
def test_no_chapter_uses_a_private_gmmlib_name(notebook):
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    for number, cell in enumerate(cells):
        if cell["cell_type"] == "code":
            source = "".join(cell["source"])
            assert not private_gmmlib_names(source), f"{notebook.name}, cell {number}"
