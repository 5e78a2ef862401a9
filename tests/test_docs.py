"""The code in README.md and docs/autodiff.md runs as written (documentation that cannot rot)."""
import re
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def python_blocks(path):
    return re.findall(r"```python\n(.*?)```", (ROOT / path).read_text(), flags=re.S)


@pytest.mark.parametrize("path", ["README.md", "docs/autodiff.md", "docs/compile.md"])
def test_python_blocks_run(path):
    blocks = python_blocks(path)
    assert blocks, f"no python blocks found in {path}"
    namespace = {}
    for block in blocks:             # blocks build on each other, as a reader runs them
        exec(compile(block, str(path), "exec"), namespace)  # our own docs, not user input


def test_readme_tour_values():
    ns = {}
    exec(compile(python_blocks("README.md")[0], "README.md", "exec"), ns)
    np.testing.assert_allclose(ns["w"].grad, [2.0, 4.0, 6.0])
