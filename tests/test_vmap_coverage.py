"""vmap of every differentiable NumPy function (the cases of tests/coverage_cases) equals the
loop over examples, values and per-example gradients, or raises a chainrule error: never a
wrong number, never a crash from inside the machinery."""
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import chainrule as cr

import coverage_cases  # tests/coverage_cases (tests/ is on sys.path)
from coverage_cases._sweep import float_case, leaves, scalar, values

CASES = coverage_cases.load()


@pytest.mark.parametrize("name", sorted(CASES), ids=sorted(CASES))
@settings(max_examples=1, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_vmap_equals_the_loop_or_refuses(name, data):
    drawn = float_case(CASES[name], data)
    if drawn is None:
        return
    f, args = drawn
    rng = np.random.default_rng(0)
    batch = [np.stack([a, a + 0.05 * rng.normal(size=a.shape)]) for a in args]
    examples = [[b[k] for b in batch] for k in range(2)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            loop = [f(*ex) for ex in examples]
        except Exception:                                 # noqa: BLE001 - not valid inputs
            return
        try:
            got = cr.vmap(f)(*batch)
        except cr.ChainruleError:
            return                                        # refused, with a chainrule error
        got = [values(v) for v in leaves(got)]
        for k, want in enumerate(loop):
            want = [values(v) for v in leaves(want)]
            assert len(got) == len(want), name
            for g, w in zip(got, want):
                np.testing.assert_allclose(g[k], w, rtol=1e-8, atol=1e-10, equal_nan=True,
                                           err_msg=name)
        grad = cr.grad(scalar(f), argnums=tuple(range(len(args))))
        try:
            per = cr.vmap(grad)(*batch)
        except cr.ChainruleError:
            return
        for k, ex in enumerate(examples):
            for g, w in zip(per, grad(*ex)):
                np.testing.assert_allclose(values(g)[k], values(w), rtol=1e-7, atol=1e-9,
                                           equal_nan=True, err_msg=f"{name} (gradient)")
