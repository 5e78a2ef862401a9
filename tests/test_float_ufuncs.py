"""The floating-point ufuncs added with issue 10 (frexp, modf, divmod, ldexp, copysign,
nextafter, fmod, float_power, i0, degrees/radians/fabs) and NumPy 2's aliases: NumPy's values
and dtypes, the derivative conventions, and the multi-output forms."""
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.ops.elementwise import i1

ALIASES = {"acos": "arccos", "acosh": "arccosh", "asin": "arcsin", "asinh": "arcsinh",
           "atan": "arctan", "atanh": "arctanh", "atan2": "arctan2", "pow": "power",
           "remainder": "mod"}


def d(f, x):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return cr.grad(f)(x)


@pytest.mark.parametrize("alias,name", ALIASES.items())
def test_numpy2_aliases_are_the_same_functions(alias, name):
    assert getattr(cnp, alias) is getattr(cnp, name)
    x = cr.tensor(0.5, requires_grad=True)
    args = (x, 0.7) if name in ("arctan2", "power", "mod") else (x + 1.0 if alias == "acosh"
                                                                  else x,)
    assert getattr(np, alias)(*args).requires_grad       # NumPy's own name dispatches here


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(x=st.lists(st.floats(-50, 50), min_size=1, max_size=5),
       dtype=st.sampled_from([np.float32, np.float64]))
def test_values_and_dtypes_are_numpys(x, dtype):
    x = np.array(x, dtype)
    t = cr.tensor(x, requires_grad=True)
    for name, args in [("degrees", ()), ("radians", ()), ("fabs", ()), ("i0", ()),
                       ("copysign", (-1.0,)), ("nextafter", (np.inf,)), ("fmod", (1.5,)),
                       ("float_power", (2.0,)), ("ldexp", (np.array(3),))]:
        with np.errstate(all="ignore"):
            want = getattr(np, name)(x, *args)
            got = getattr(cnp, name)(t, *args)
        assert got.dtype == want.dtype, name
        np.testing.assert_array_equal(got.data, want, err_msg=name)
    for name, nin in (("frexp", 1), ("modf", 1), ("divmod", 2)):
        args = (t, 0.75)[:nin]
        got, want = getattr(cnp, name)(*args), getattr(np, name)(*((x, 0.75)[:nin]))
        for g, w in zip(got, want):
            assert g.dtype == w.dtype
            np.testing.assert_array_equal(g.data, w)


def test_multi_output_parts_and_their_derivatives():
    x = np.array([3.0, -0.3, 0.0, 8.0])
    mant, expo = cnp.frexp(cr.tensor(x, requires_grad=True))
    assert mant.requires_grad and not expo.requires_grad
    # the mantissa is x / 2^e on each binade: slope 2^-e (1 at 0, where e = 0)
    np.testing.assert_array_equal(d(lambda a: cnp.sum(cnp.frexp(a)[0]), x), [0.25, 2, 1, 0.0625])
    frac, whole = cnp.modf(cr.tensor(x, requires_grad=True))
    assert d(lambda a: cnp.sum(cnp.modf(a)[0]), x).tolist() == [1, 1, 1, 1]
    assert d(lambda a: cnp.sum(cnp.modf(a)[1]), x).tolist() == [0, 0, 0, 0]
    q, r = cnp.divmod(cr.tensor(x, requires_grad=True), 0.7)
    assert not q.requires_grad and r.requires_grad
    with pytest.raises(cr.ChainruleError, match="ufunc arguments"):
        cnp.frexp(cr.tensor(x, requires_grad=True), out=(np.empty(4), np.empty(4, int)))
    assert cnp.frexp(x, where=x > 0, out=(np.zeros(4), np.zeros(4, np.int32)))[0][0] == 0.75


def test_binary_rules():
    x, y = np.array([1.5, -2.0, 0.0]), np.array([-1.0, 3.0, 2.0])
    gx, gy = cr.grad(lambda a, b: cnp.sum(cnp.copysign(a, b)), argnums=(0, 1))(x, y)
    assert gx.tolist() == [-1, -1, 0] and gy.tolist() == [0, 0, 0]     # 0 at x = 0 (abs's kink)
    gx, gy = cr.grad(lambda a, b: cnp.sum(cnp.fmod(a, b)), argnums=(0, 1))(x + 0.3, y)
    np.testing.assert_array_equal(gy, -np.trunc((x + 0.3) / y))
    gx, gy = cr.grad(lambda a, b: cnp.sum(cnp.nextafter(a, b)), argnums=(0, 1))(x, y)
    assert gx.tolist() == [1, 1, 1] and gy.tolist() == [0, 0, 0]
    g = cr.grad(lambda a: cnp.sum(cnp.ldexp(a, np.array([2, -1, 0]))))(x)
    assert g.tolist() == [4, 0.5, 1]
    g = cr.grad(lambda a: cnp.sum(cnp.float_power(a, 3.0)))(np.array([2.0, 0.5]))
    np.testing.assert_allclose(g, [12.0, 0.75])
    assert d(cnp.fabs, 0.0) == 0.0 and d(cnp.fabs, -2.0) == -1.0
    np.testing.assert_allclose(d(cnp.degrees, 1.0), 180 / np.pi)
    np.testing.assert_allclose(d(cnp.radians, 1.0), np.pi / 180)


def test_i0_derivatives_are_bessel_i1_and_its_derivative():
    x = np.array([-30.0, -3.0, -0.5, 0.0, 1e-5, 0.7, 2.0, 24.9, 25.1, 40.0, 300.0])
    g = cr.grad(lambda a: cnp.sum(cnp.i0(a)))(x)
    np.testing.assert_array_equal(g, i1(x))
    h = 1e-6 * np.maximum(1.0, np.abs(x))
    fd = (np.i0(x + h) - np.i0(x - h)) / (2 * h)
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-9)
    # I1 against its own finite differences: I1' = I0 - I1/x (1/2 at 0)
    gg = cr.grad(lambda a: cnp.sum(i1(a)))(x)
    fd2 = (i1(x + h) - i1(x - h)) / (2 * h)
    np.testing.assert_allclose(gg, fd2, rtol=1e-6, atol=1e-9)
    assert cr.grad(cr.grad(cnp.i0))(0.0) == 0.5
    assert i1(np.float32(2.0)).dtype == np.float32
    special = pytest.importorskip("scipy.special")
    np.testing.assert_allclose(i1(x), special.i1(x), rtol=1e-14)
