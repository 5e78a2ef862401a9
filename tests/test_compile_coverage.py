"""cr.compile of value_and_grad of every differentiable NumPy function (the cases of
tests/coverage_cases) gives eager mode's numbers on new inputs, or refuses with a chainrule
error: no value of the trace frozen into the program."""
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import chainrule as cr

import coverage_cases  # tests/coverage_cases (tests/ is on sys.path)
from coverage_cases._sweep import float_case, leaves, scalar, values

CASES = coverage_cases.load()


def _against_eager(name, data, make, what):
    """Compile ``make(f, args)`` (a function of the arguments), trace it, then compare it with
    eager mode on new inputs: equal, or a chainrule error."""
    drawn = float_case(CASES[name], data)
    if drawn is None:
        return
    f, args = drawn
    fn = make(f, args)
    rng = np.random.default_rng(1)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            fn(*args)
        except Exception:                                 # noqa: BLE001 - not valid inputs
            return
        fast = cr.compile(fn)
        try:
            fast(*args)
            fast(*args)
        except cr.ChainruleError:
            return                                        # refused, loudly
        for _ in range(3):
            new = [a + 0.3 * rng.normal(size=a.shape) * max(np.abs(a).max(initial=0.0), 1.0)
                   for a in args]
            try:
                want = fn(*new)
            except Exception:                             # noqa: BLE001 - not valid inputs
                continue
            try:
                got = fast(*new)
            except cr.ChainruleError:
                return
            for g, w in zip(leaves(got), leaves(want)):
                np.testing.assert_allclose(values(g), values(w), rtol=1e-7, atol=1e-9,
                                           equal_nan=True, err_msg=f"{name} ({what})")


@pytest.mark.parametrize("name", sorted(CASES), ids=sorted(CASES))
@settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_compiled_equals_eager_on_new_inputs_or_refuses(name, data):
    _against_eager(name, data, lambda f, args: cr.value_and_grad(
        scalar(f, weighted=True), argnums=tuple(range(len(args)))), "value_and_grad")


@pytest.mark.parametrize("name", sorted(CASES), ids=sorted(CASES))
@settings(max_examples=2, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_compiled_forward_mode_equals_eager_on_new_inputs_or_refuses(name, data):
    def make(f, args):
        rng = np.random.default_rng(2)
        tangents = tuple(rng.normal(size=a.shape).astype(a.dtype) for a in args)
        return lambda *a: cr.jvp(scalar(f, weighted=True), a, tangents)
    _against_eager(name, data, make, "jvp")
