"""cr.compile of value_and_grad of every differentiable NumPy function (the cases of
tests/coverage_cases) gives eager mode's numbers on new inputs, or refuses with a chainrule
error: no value of the trace frozen into the program."""
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
        for k, v in enumerate(_leaves(f(*a))):
            if _arr(v).dtype.kind in "fc":
                v = cnp.real(v) if np.iscomplexobj(_arr(v)) else v
                total = total + cnp.sum(v * (1.0 + 0.1 * k))
        return total
    return g


@pytest.mark.parametrize("name", sorted(CASES), ids=sorted(CASES))
@settings(max_examples=3, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_compiled_equals_eager_on_new_inputs_or_refuses(name, data):
    builders = CASES[name]
    f, args = builders[data.draw(st.integers(0, len(builders) - 1))](data.draw)
    if not all(isinstance(a, np.ndarray) and a.dtype.kind in "fc" for a in args):
        return
    vg = cr.value_and_grad(_scalar(f), argnums=tuple(range(len(args))))
    rng = np.random.default_rng(1)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            vg(*args)
        except Exception:                                 # noqa: BLE001 - not valid inputs
            return
        fast = cr.compile(vg)
        try:
            fast(*args)
            fast(*args)
        except cr.ChainruleError:
            return                                        # refused, loudly
        for _ in range(3):
            new = [a + 0.3 * rng.normal(size=a.shape) * max(np.abs(a).max(initial=0.0), 1.0)
                   for a in args]
            try:
                want = vg(*new)
            except Exception:                             # noqa: BLE001 - not valid inputs
                continue
            try:
                got = fast(*new)
            except cr.ChainruleError:
                return
            for g, w in zip(_leaves(got), _leaves(want)):
                np.testing.assert_allclose(_arr(g), _arr(w), rtol=1e-7, atol=1e-9,
                                           equal_nan=True, err_msg=name)


@pytest.mark.parametrize("name", sorted(CASES), ids=sorted(CASES))
@settings(max_examples=2, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_compiled_forward_mode_equals_eager_on_new_inputs_or_refuses(name, data):
    builders = CASES[name]
    f, args = builders[data.draw(st.integers(0, len(builders) - 1))](data.draw)
    if not all(isinstance(a, np.ndarray) and a.dtype.kind in "fc" for a in args):
        return
    rng = np.random.default_rng(2)
    tangents = tuple(rng.normal(size=a.shape).astype(a.dtype) for a in args)

    def push(*a):
        return cr.jvp(_scalar(f), a, tangents)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        try:
            push(*args)
        except Exception:                                 # noqa: BLE001 - not valid inputs
            return
        fast = cr.compile(push)
        try:
            fast(*args)
            fast(*args)
        except cr.ChainruleError:
            return
        for _ in range(2):
            new = [a + 0.3 * rng.normal(size=a.shape) * max(np.abs(a).max(initial=0.0), 1.0)
                   for a in args]
            try:
                want = push(*new)
            except Exception:                             # noqa: BLE001
                continue
            try:
                got = fast(*new)
            except cr.ChainruleError:
                return
            for g, w in zip(_leaves(got), _leaves(want)):
                np.testing.assert_allclose(_arr(g), _arr(w), rtol=1e-7, atol=1e-9,
                                           equal_nan=True, err_msg=f"{name} (jvp)")
