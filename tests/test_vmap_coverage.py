"""vmap of every differentiable NumPy function (the cases of tests/coverage_cases) equals the
loop over examples, values and per-example gradients, or raises a chainrule error: never a
wrong number, never a crash from inside the machinery."""
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import chainrule as cr
import chainrule.numpy as cnp

import coverage_cases  # tests/coverage_cases (tests/ is on sys.path)

CASES = coverage_cases.load()


def _leaves(o):
    if isinstance(o, (tuple, list)):
        for x in o:
            yield from _leaves(x)
    elif isinstance(o, dict):
        for x in o.values():
            yield from _leaves(x)
    else:
        yield o


def _arr(v):
    return np.asarray(getattr(v, "data", v))


def _scalar(f):
    def g(*a):
        total = 0.0
        for v in _leaves(f(*a)):
            if _arr(v).dtype.kind in "fc":
                total = total + cnp.sum(cnp.real(v) if np.iscomplexobj(_arr(v)) else v)
        return total
    return g


@pytest.mark.parametrize("name", sorted(CASES), ids=sorted(CASES))
@settings(max_examples=1, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_vmap_equals_the_loop_or_refuses(name, data):
    builders = CASES[name]
    f, args = builders[data.draw(st.integers(0, len(builders) - 1))](data.draw)
    if not all(isinstance(a, np.ndarray) and a.dtype.kind in "fc" for a in args):
        return
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
        got = [_arr(v) for v in _leaves(got)]
        for k, want in enumerate(loop):
            want = [_arr(v) for v in _leaves(want)]
            assert len(got) == len(want), name
            for g, w in zip(got, want):
                np.testing.assert_allclose(g[k], w, rtol=1e-8, atol=1e-10, equal_nan=True,
                                           err_msg=name)
        grad = cr.grad(_scalar(f), argnums=tuple(range(len(args))))
        try:
            per = cr.vmap(grad)(*batch)
        except cr.ChainruleError:
            return
        for k, ex in enumerate(examples):
            for g, w in zip(per, grad(*ex)):
                np.testing.assert_allclose(_arr(g)[k], _arr(w), rtol=1e-7, atol=1e-9,
                                           equal_nan=True, err_msg=f"{name} (gradient)")
