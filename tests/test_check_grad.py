"""check_grad judges derivatives fairly at any magnitude (1e-8 … 1e8), and still catches wrong ones.

Steps scale with each element's magnitude; a ladder of steps with an error estimate takes
over where the first step cannot resolve the function (sin at 1e8, x + 1 at 1e-8).  The
functions are well conditioned at every magnitude: what finite differences cannot resolve at
any magnitude (tanh deep in saturation, where 1 − tanh² keeps a few digits) is not tested.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.explain.check import GradCheckError
from chainrule.cli.main import main

FUNCTIONS = {
    "cube": lambda x, y: x ** 3 * y,
    "sin": lambda x, y: cnp.sin(x) + y,
    "offset": lambda x, y: x + 1.0 + y * 0.5,
    "quadratic": lambda x, y: cnp.sum(x * x) * y,
    "cos": lambda x, y: cnp.cos(x) * y,
    "reciprocal": lambda x, y: 1.0 / x + y * y,
    "rescaled tanh": lambda x, y: cnp.tanh(x / (cnp.abs(y) + 1e-30)),
    "log": lambda x, y: cnp.log(cnp.abs(x)) + cnp.log(cnp.abs(y)),
    "rescaled exp": lambda x, y: cnp.exp(x / (cnp.abs(y) + 1e-30)),
    "hypot": lambda x, y: cnp.sqrt(x * x + y * y),
}


@st.composite
def points(draw):
    """An array whose elements have their own magnitudes in 1e-8 … 1e8, and a scalar."""
    n = draw(st.integers(1, 3))
    exps = draw(st.lists(st.integers(-8, 8), min_size=n, max_size=n))
    mant = draw(st.lists(st.floats(1.0, 9.9), min_size=n, max_size=n))
    signs = draw(st.lists(st.sampled_from([-1.0, 1.0]), min_size=n, max_size=n))
    x = np.array([s * m * 10.0 ** e for s, m, e in zip(signs, mant, exps)])
    y = draw(st.floats(1.0, 9.9)) * 10.0 ** draw(st.integers(-8, 8))
    return x, np.array(y)


@settings(max_examples=40, deadline=None)
@given(name=st.sampled_from(sorted(FUNCTIONS)), xy=points())
def test_correct_derivatives_pass_at_any_magnitude(name, xy):
    x, y = xy
    f = FUNCTIONS[name]
    if name.startswith("rescaled") and np.max(np.abs(x)) / abs(y) > 5:
        # e^(x/y) overflows, tanh(x/y) saturates: 1 − tanh² then cancels to a few digits,
        # below what any finite difference can resolve (the same holds at any magnitude)
        return
    report = cr.check_grad(f, x, y, order=2, modes=("fwd", "rev"))
    assert report.passed and len(report.rows) == 2 * 2 + 2 * 2 * 2


def _wrong_cube(kind):
    """x ↦ x³ with a reverse rule that is wrong in the way ``kind`` says."""
    @cr.custom_vjp
    def cube(x):
        return x ** 3
    factor = {"1% off": 1.01, "sign": -1.0}[kind]
    cube.defvjp(lambda x: (x ** 3, x), lambda x, g: (factor * 3.0 * x * x * g,))
    return cube


def _wrong_cube_jvp(kind):
    """x ↦ x³ with a forward rule that is wrong, or right only at first order ('detached')."""
    @cr.custom_jvp
    def cube(x):
        return x ** 3

    @cube.defjvp
    def _(primals, tangents):
        (x,), (t,) = primals, tangents
        if kind == "detached":          # first order right, its derivative silently 0
            xv = x.data if isinstance(x, cr.Tensor) else x
            return cube(x), t * (3.0 * xv * xv)
        factor = {"1% off": 1.01, "sign": -1.0}[kind]
        return cube(x), factor * t * 3.0 * x * x
    return cube


@pytest.mark.parametrize("magnitude", [1e-8, 1e-3, 1.0, 1e4, 1e8])
@pytest.mark.parametrize("kind", ["1% off", "sign"])
def test_wrong_rules_fail_at_any_magnitude(magnitude, kind):
    x = np.array([1.3, -2.1]) * magnitude
    for f, modes in ((_wrong_cube(kind), ("rev",)), (_wrong_cube_jvp(kind), ("fwd",)),
                     (_wrong_cube_jvp(kind), ("rev",))):
        with pytest.raises(GradCheckError, match="argument 0"):
            cr.check_grad(f, x, order=1, modes=modes)


@pytest.mark.parametrize("magnitude", [1e-8, 1.0, 1e8])
def test_a_rule_wrong_only_at_second_order_fails_there(magnitude):
    x = np.array([1.3, -2.1]) * magnitude
    f = _wrong_cube_jvp("detached")
    assert cr.check_grad(f, x, order=1, modes=("fwd",)).passed
    report = cr.check_grad(f, x, order=2, modes=("fwd",), raise_on_fail=False)
    assert not report.passed
    assert all(ok for order, *_, ok in report.rows if order == 1)
    assert not any(ok for order, *_, ok in report.rows if order == 2)


def test_the_failing_element_is_named_cleanly():
    f = _wrong_cube("sign")
    with pytest.raises(GradCheckError) as e:
        cr.check_grad(f, np.array([0.5, 1.5, 2.5]), order=1, modes=("rev",))
    msg = str(e.value)
    assert "argument 0, element [2] = 2.5" in msg and "np.int64" not in msg
    with pytest.raises(GradCheckError) as e:
        cr.check_grad(f, np.array([[0.5, 1.5, 0.7], [0.2, 0.1, 3.0]]), order=1, modes=("rev",))
    assert "argument 0, element [1, 2] = 3" in str(e.value)
    with pytest.raises(GradCheckError) as e:
        cr.check_grad(lambda a, b: a * f(b), np.array(1.0), np.array(2.0), order=1,
                      modes=("rev",))
    assert "argument 1, the scalar = 2" in str(e.value)


def test_kinks_stay_inconclusive():
    with pytest.warns(UserWarning, match="kink"):
        report = cr.check_grad(cnp.abs, np.array(0.0), raise_on_fail=False)
    assert report.inconclusive and not report.passed


def test_cli_check_at_a_large_value(capfd):
    assert main(["check", "x**3", "--at", "x=1e8"]) == 0
    out = capfd.readouterr().out
    assert "ok: 6 checks agree" in out and "FAILED" not in out
    assert main(["check", "sin(x)*y", "--at", "x=1e8,y=1e-8"]) == 0
