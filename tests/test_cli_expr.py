"""Expressions on the command line: classes of input, not single examples.

Nesting depth is bounded, length is not (up to MAX_LENGTH); names are read with one
rule (NFKC) in the expression and in --at/--wrt; non-finite results are reported in
one clean line; every message points at what is wrong.
"""
import contextlib
import io
import json
import subprocess
import sys
import unicodedata

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from chainrule.cli import expr as E
from chainrule.cli.main import main


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def gradient_json(capsys, text, at, *extra):
    code, out, err = run(capsys, "grad", text, "--at", at, "--json", *extra)
    assert code == 0, err
    return json.loads(out)


# ------------------------------------------------------- depth, not length
@settings(max_examples=30, deadline=None)
@given(st.integers(1, 300), st.sampled_from(["+", "-", "*"]))
def test_flat_chains_of_any_length_are_accepted(n, op):
    text = op.join(["x"] * n)
    assert len(text) <= E.MAX_LENGTH
    tree = E.parse(text)
    value = float(np.asarray(E.evaluate(tree, {"x": 1.0})))
    assert value == {"+": n, "-": 2 - n, "*": 1}[op]


def test_a_degree_64_polynomial_and_a_sum_of_500_terms(capsys):
    poly = " + ".join(f"{k + 1}*x**{k}" for k in range(65))
    res = gradient_json(capsys, poly, "x=1")
    assert res["value"] == sum(range(1, 66)) and res["gradient"]["x"] == sum(
        (k + 1) * k for k in range(65))
    res = gradient_json(capsys, "+".join(["x"] * 500), "x=2")
    assert res["value"] == 1000 and res["gradient"]["x"] == 500


@settings(max_examples=40, deadline=None)
@given(st.one_of(st.integers(1, 2 * E.MAX_DEPTH),
                 st.integers(E.MAX_DEPTH - 2, E.MAX_DEPTH + 2)),
       st.sampled_from(["({}+1)", "sin({})", "[{}]", "-({})", "2*({})"]))
def test_nesting_is_refused_exactly_beyond_the_depth_limit(depth, wrap):
    text = "x"
    for _ in range(depth):
        text = wrap.format(text)
    if depth <= E.MAX_DEPTH:
        E.parse(text)
    else:
        with pytest.raises(E.ExprError, match="nested too deeply"):
            E.parse(text)


# ------------------------------------------------------ a leading minus
@pytest.mark.parametrize("argv", [
    ["grad", "-x**2", "--at", "x=1"],
    ["grad", "--at", "x=1", "-x**2"],
    ["grad", "--json", "-x**2", "--at", "x=1"],
    ["grad", "--at", "x=1", "--", "-x**2"],
])
def test_an_expression_may_start_with_a_minus(capsys, argv):
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    assert "-2" in out


def test_option_values_that_start_with_a_minus_stay_values(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    code, _, err = run(capsys, "surface", "-(x-1)**2 - y**2", "--at", "x=0,y=0", "--lr", "-0.1",
                       "--out", tmp_path / "s.png")
    assert code == 2 and "--lr must be a positive number" in err


# ------------------------------------------------------------- names
_VARIANTS = {c: [chr(0xFF41 + ord(c) - ord("a")),                     # full-width
                 chr(0x1D44E + ord(c) - ord("a")) if c != "h" else "\u210e"]   # math italic
             for c in "abcdefghijklmnopqrstuvwxyz"}
_VARIANTS["s"].append("\u017f")                                       # long s


@st.composite
def spellings(draw, name):
    return "".join(draw(st.sampled_from([c] + _VARIANTS.get(c, []))) for c in name)


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_names_are_read_with_one_rule_in_the_expression_and_in_at(data):
    a = data.draw(spellings("x"))
    b = data.draw(spellings("w"))
    sin = data.draw(spellings("sin"))
    text = f"{a}**2 + {sin}({b})*{a}"
    at = f"{data.draw(spellings('x'))}=1.5,{data.draw(spellings('w'))}=0.5"
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["grad", text, "--at", at, "--json"])
    out, err = out.getvalue(), err.getvalue()
    assert code == 0, err
    res = json.loads(out)
    assert res["value"] == pytest.approx(1.5 ** 2 + np.sin(0.5) * 1.5)
    assert res["gradient"]["x"] == pytest.approx(3 + np.sin(0.5))
    assert list(res["gradient"]) == ["x", "w"]
    written = {a, b, sin} | {p.split("=")[0] for p in at.split(",")}
    if any(unicodedata.normalize("NFKC", w) != w for w in written):
        assert "note: read" in err and "NFKC" in err
    else:
        assert err == ""


def test_wrt_names_are_normalised_too(capsys):
    res = gradient_json(capsys, "x*y", "x=2,y=3", "--wrt", "\uff59")       # ｙ
    assert res["gradient"] == {"y": 2.0}


@pytest.mark.parametrize("at, fragment", [
    ("x=1,x=2", "--at gives x twice"),
    ("x=1,\uff58=2", "'x' and 'ｘ' are the same name"),
])
def test_a_name_given_twice_is_refused(capsys, at, fragment):
    code, _, err = run(capsys, "grad", "x", "--at", at)
    assert code == 2 and fragment in err and len(err.strip().splitlines()) == 1


# ------------------------------------------------------- non-finite
@pytest.mark.parametrize("text, at, fragment", [
    ("log(x)", "x=0", "log(x) is -inf at x=0; ∂f/∂x is inf"),
    ("sqrt(x)", "x=0", "∂f/∂x is inf at x=0"),
    ("x*log(y) + 1", "x=1,y=0", "log(y) is -inf at x=1, y=0; f is -inf"),
    ("x/y", "x=0,y=0", "x/y is nan"),
])
def test_non_finite_results_are_one_clean_line_and_exit_1(text, at, fragment):
    proc = subprocess.run([sys.executable, "-m", "chainrule", "grad", text, "--at", at],
                          capture_output=True, text=True)
    assert proc.returncode == 1
    assert "RuntimeWarning" not in proc.stderr and ".py:" not in proc.stderr
    assert proc.stderr.strip().splitlines() == [f"chainrule grad: not finite: {fragment}"] \
        or fragment in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_json_stays_valid_json_for_non_finite_values(capsys):
    code, out, _ = run(capsys, "grad", "log(x) + sum(w/w)", "--at", "x=0,w=[0,1]", "--json")
    assert code == 1
    res = json.loads(out, parse_constant=lambda c: pytest.fail(f"non-standard JSON {c}"))
    assert res["value"] == "nan" and res["finite"] is False
    assert res["gradient"]["x"] == "inf" and res["gradient"]["w"] == ["nan", 0.0]


# -------------------------------------------------------------- messages
@pytest.mark.parametrize("text, fragment", [
    ("sum(x, 9)", "sum() takes 1 argument, got 2"),
    ("abs()", "abs() takes 1 argument, got 0"),
    ("dot(x)", "dot() takes 2 arguments, got 1"),
    ("max(x, x, x)", "max() takes 1 or 2 arguments, got 3"),
    ("x+", "ends too early (something is missing after 'x+', at column 3)"),
    ("x+*2", "at column 3, before '*2'"),
    ("x y", "at column 3, before 'y'"),
])
def test_messages_point_at_the_mistake(capsys, text, fragment):
    code, _, err = run(capsys, "grad", text, "--at", "x=1")
    assert code == 2 and fragment in err and "Traceback" not in err


def test_deep_regular_lists_are_not_called_ragged(capsys):
    deep = "[" * E.MAX_DIMS + "2" + "]" * E.MAX_DIMS
    res = gradient_json(capsys, "sum(w*w)", f"w={deep}")
    assert res["value"] == 4
    code, _, err = run(capsys, "grad", "sum(w)", "--at", "w=[" + deep + "]")
    assert code == 2 and "nested more than" in err and "ragged" not in err
    code, _, err = run(capsys, "grad", "sum(w)", "--at", "w=[[1,2],[[3,4]]]")
    assert code == 2 and "ragged" in err and "w[1] has shape (1, 2)" in err


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(1, 3), min_size=1, max_size=4), st.booleans())
def test_lists_are_ragged_exactly_when_a_row_differs(shape, break_it):
    arr = np.arange(int(np.prod(shape)), dtype=float).reshape(shape).tolist()
    if break_it:
        row = arr
        while isinstance(row[0], list):
            row = row[0]
        row.append(99.0)
    ragged = break_it and any(d > 1 for d in shape[:-1])   # the longer row has a sibling
    if ragged:
        with pytest.raises(E.ExprError, match="ragged"):
            E.parse_values(f"w={arr}")
    else:
        assert np.asarray(E.parse_values(f"w={arr}")["w"]).size == np.asarray(arr).size
