"""The explain table writes local derivatives with the inputs' own labels, never the op's
argument names, so a user's x is never confused with an op's x."""
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.cli.main import main
from chainrule.explain.trace import local_text

POOL = ["x", "y", "A", "B", "g", "n", "p", "lo", "hi", "w", "ŷ"]
OPS = {"multiply": cnp.multiply, "divide": cnp.divide, "add": cnp.add,
       "subtract": cnp.subtract, "power": cnp.power, "maximum": cnp.maximum}


def _to_python(text, values):
    """A rendered formula as Python, its labels replaced by their values."""
    expr = text.replace("·", "*").replace("²", "**2").replace("^", "**")
    for label in sorted(values, key=len, reverse=True):
        expr = re.sub(rf"(?<![A-Za-z0-9_]){re.escape(label)}(?![A-Za-z0-9_])",
                      f"({values[label]!r})", expr)
    return expr


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(POOL), min_size=2, max_size=2, unique=True),
       st.sampled_from(sorted(OPS)), st.floats(0.5, 3.0), st.floats(0.5, 3.0))
def test_formulas_use_the_inputs_labels(names, op, a, b):
    t = cr.trace(lambda u, v: OPS[op](u, v), a, b, names=names)
    row = next(r for r in t.rows if r.op == op)
    labels = {inp.label for inp in row.inputs}
    assert labels == set(names)
    for inp in row.inputs:
        text = local_text(row, inp)
        formula = text.rsplit(" = ", 1)[0] if " = " in text else text
        plain = re.sub("[²³ᵀ⁻¹½]", " ", formula)
        words = set(re.findall(r"[^\W\d]\w*", plain)) - {"ln", "at", "ties"}
        assert words <= labels, (op, names, text)       # no op argument names left
        if op in ("multiply", "divide", "add", "subtract"):
            value = eval(_to_python(formula, dict(zip(names, (a, b)))))  # our own test text
            assert value == pytest.approx(float(inp.local)), (op, names, text)
    if op == "multiply":                                 # multiply swaps: ∂(uv)/∂u = v
        first, second = sorted(row.inputs, key=lambda i: i.argnum)
        assert local_text(row, first).startswith(f"{second.label} = ")
        assert local_text(row, second).startswith(f"{first.label} = ")


def test_readme_example_reads_right(capsys):
    assert main(["explain", "relu(w*x + b)", "--at", "w=2,x=0.5,b=-1"]) == 0
    out = capsys.readouterr().out
    assert "(as " not in out
    rows = [line.split() for line in out.splitlines() if line.strip()]
    mult = next(i for i, r in enumerate(rows) if "multiply" in r)
    text = "\n".join(" ".join(r) for r in rows[mult:mult + 2])
    assert "w () x = 0.5" in text and "x () w = 2" in text      # ∂(w·x)/∂x = w = 2
    assert "[v1>0] = 0" in out


def test_constants_mean_counts_and_upstream_are_written_out():
    t = cr.trace(lambda v: cnp.mean(v ** 2.0), np.array([1.0, 2.0, 3.0]), names=["n"])
    text = str(t)
    assert "1/3 = [0.3333, 0.3333, 0.3333]" in text            # n (the count) → 3, not "n"
    assert "2·n^(2-1)" in text                                  # the user's n, the constant 2
    A = np.ones((2, 2))
    t = cr.trace(lambda g: cnp.sum(cnp.matmul(A, g)), np.eye(2), names=["g"])
    row = next(r for r in t.rows if r.op == "matmul")
    assert local_text(row, row.inputs[1]) == "constᵀ·∂L/∂v1"    # g is the user's; ∂L/∂v1 upstream
