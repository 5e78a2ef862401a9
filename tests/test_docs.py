"""Every Python block of README.md and docs/*.md runs as written, on its own.

Each block gets a fresh namespace and an empty working folder, exactly as a reader
who copies that one block would run it: a block that leans on an import or a
variable from an earlier block, or on state an earlier block left behind (a
``.grad`` that accumulates), fails here.  Blocks that are not meant to run are
fenced as ``text``, not ``python``.
"""
import re
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ["README.md"] + sorted(f"docs/{p.name}" for p in (ROOT / "docs").glob("*.md"))
OPTIONAL = {"sklearn", "matplotlib", "tqdm", "graphviz", "threadpoolctl"}   # pip extras


def python_blocks(path):
    """[(line number, code)] of the ```python blocks in ``path``."""
    text = (ROOT / path).read_text()
    return [(text[:m.start()].count("\n") + 2, m.group(1))
            for m in re.finditer(r"^```python\n(.*?)^```", text, flags=re.S | re.M)]


BLOCKS = [(path, line, code) for path in DOCS for line, code in python_blocks(path)]


def test_the_docs_have_python_blocks():
    assert {path for path, _, _ in BLOCKS} >= {"README.md", "docs/autodiff.md",
                                               "docs/training.md", "docs/learning.md"}


@pytest.mark.parametrize("path, line, code", BLOCKS,
                         ids=[f"{path}:{line}" for path, line, _ in BLOCKS])
def test_every_python_block_runs_on_its_own(path, line, code, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    try:
        # our own docs, not user input
        exec(compile(code, f"{path}:{line}", "exec"), {"__name__": "__doc_block__"})
    except ModuleNotFoundError as e:
        if e.name and e.name.split(".")[0] in OPTIONAL:
            pytest.skip(f"needs the optional {e.name}")
        raise


def test_readme_tour_values():
    ns = {}
    exec(compile(python_blocks("README.md")[0][1], "README.md", "exec"), ns)
    np.testing.assert_allclose(ns["w"].grad, [2.0, 4.0, 6.0])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")     # the trap block's 0 · inf, on purpose
def test_the_double_where_block_shows_what_it_says():
    """docs/subgradients.md: the fixed block gives [0, 0.25], alone or after the trap."""
    trap, fix = [code for _, code in python_blocks("docs/subgradients.md")][:2]
    ns = {}
    exec(compile(trap, "trap", "exec"), ns)
    assert np.isnan(ns["x"].grad[0])
    exec(compile(fix, "fix", "exec"), ns)
    np.testing.assert_allclose(ns["x"].grad, [0.0, 0.25])
