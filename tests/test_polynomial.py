"""Polynomial functions and the functions that call the user's: NumPy's values, shapes and
outputs on Tensors (Hypothesis-drawn lengths and shapes), and what their derivatives may
and may not do.  Finite-difference checks of every function in both modes at second order
are in tests/coverage_cases/polynomial.py and user_functions.py."""
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.core.errors import ChainruleError, ChainruleLinAlgError

RNG = np.random.default_rng(5)


def active(x):
    return cr.tensor(x, requires_grad=True)


def same(got, expected, rtol=1e-10):
    got = got.data if isinstance(got, cr.Tensor) else got
    assert np.shape(got) == np.shape(expected)
    assert np.asarray(got).dtype == np.asarray(expected).dtype
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=1e-12)


def coeffs(draw, lo=0, hi=5, zeros=True):
    n = draw(st.integers(lo, hi))
    c = RNG.standard_normal(n)
    if zeros and n and draw(st.booleans()):
        c[: draw(st.integers(1, n))] = 0.0                  # leading zeros
    return c


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_polynomial_functions_match_numpy(data):
    p, q = coeffs(data.draw, 1), coeffs(data.draw, 1)
    x = RNG.standard_normal(data.draw(hnp.array_shapes(min_dims=0, max_dims=2, max_side=3)))
    same(cnp.polyval(active(p), x), np.polyval(p, x))
    same(cnp.polyval(p, active(x)), np.polyval(p, x))
    same(np.polyval(active(p), x), np.polyval(p, x))                # NumPy's, dispatched
    for f, g in [(cnp.polyadd, np.polyadd), (cnp.polysub, np.polysub)]:
        same(f(active(p), q), g(p, q))
    same(cnp.polymul(cr.tensor(p), q), np.polymul(p, q))           # no gradient: zeros allowed
    m = data.draw(st.integers(0, 3))
    same(cnp.polyder(active(p), m), np.polyder(p, m))
    k = data.draw(st.sampled_from([None, 0.5, list(RNG.standard_normal(max(m, 1)))]))
    same(cnp.polyint(active(p), m, k), np.polyint(p, m, k))
    v = coeffs(data.draw, 1, 3, zeros=False)
    v[0] += np.copysign(0.5, v[0])
    for got, expected in zip(cnp.polydiv(active(p), active(v)), np.polydiv(p, v)):
        same(got, expected, rtol=1e-8)
    roots = RNG.standard_normal(data.draw(st.integers(0, 4)))
    same(cnp.poly(active(roots)) if roots.size else cnp.poly(roots), np.poly(roots))


@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_poly_of_a_matrix_is_its_characteristic_polynomial(n):
    a = RNG.standard_normal((n, n))          # complex eigenvalues too: NumPy's result is real
    same(cnp.poly(active(a)), np.poly(a), rtol=1e-8)
    c = cnp.poly(active(a))
    np.testing.assert_allclose(c.data[-1], (-1) ** n * np.linalg.det(a), rtol=1e-8)
    g = cr.grad(lambda m: cnp.poly(m)[1])(a)                   # c₁ = −tr(A)
    np.testing.assert_allclose(g, -np.eye(n), atol=1e-12)


def test_polymul_leading_zeros():
    a, b = np.array([0.0, 1.0, 2.0]), np.array([3.0, 1.0])
    same(cnp.polymul(cr.tensor(a), b), np.polymul(a, b))       # NumPy drops the zero
    same(cnp.polymul(active(a[1:]), b), np.polymul(a, b))
    with pytest.raises(ChainruleError, match="leading zero"):
        cnp.polymul(active(a), b)                              # its length would jump


@pytest.mark.parametrize("deg", [0, 1, 2, 3])
@pytest.mark.parametrize("kw", [{}, {"full": True}, {"cov": True}, {"cov": "unscaled"},
                                {"w": True}, {"rcond": 1e-3}])
@pytest.mark.parametrize("ycols", [None, 2])
def test_polyfit_returns_what_numpy_returns(deg, kw, ycols):
    x = np.linspace(-1.0, 2.0, 7) + RNG.uniform(0, 0.1, 7)
    y = RNG.standard_normal(7 if ycols is None else (7, ycols))
    kw = dict(kw, w=RNG.uniform(0.5, 2, 7)) if kw.get("w") is True else kw
    expected = np.polyfit(x, y, deg, **kw)
    got = cnp.polyfit(active(x), active(y), deg, **kw)
    expected = expected if isinstance(expected, tuple) else (expected,)
    got = got if isinstance(got, tuple) else (got,)
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        if isinstance(e, np.ndarray):
            same(g, e, rtol=1e-8)
        else:
            assert g == e and type(g) is type(e)               # rank, rcond


def test_polyfit_rank_deficiency():
    x, y = np.array([0.0, 1.0, 2.0]), np.array([1.0, 3.0, 2.0])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        expected = np.polyfit(x, y, 4)
        got = cnp.polyfit(x, active(y), 4)        # y only: linear in y, differentiable
    same(got, expected, rtol=1e-8)
    assert sum(issubclass(w.category, np.exceptions.RankWarning) for w in caught) == 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # fewer points than coefficients: the minimum-norm fit, smooth in x and y alike
        cr.check_grad(lambda a, b: cnp.polyfit(a, b, 4), x, y, order=2, modes=("fwd", "rev"))
        twice = np.array([0.0, 0.0, 1.0, 1.0])     # two distinct points for three coefficients
        yy = np.array([1.0, 2.0, 0.0, 1.0])
        same(cnp.polyfit(twice, active(yy), 2), np.polyfit(twice, yy, 2), rtol=1e-8)
        cr.check_grad(lambda b: cnp.polyfit(twice, b, 2), yy, order=2, modes=("fwd", "rev"))
        with pytest.raises(ChainruleLinAlgError, match="rank"):
            cnp.polyfit(active(twice), yy, 2)      # the data x: the fit jumps with the rank


def test_polyfit_gradient_in_x_matches_a_hand_written_fit():
    """A straight line through (x, y): the least-squares slope's gradient by the formula."""
    x, y = np.array([0.0, 1.0, 2.5, 4.0]), np.array([1.0, 2.0, 2.0, 5.0])
    slope = lambda a, b: cnp.sum((a - cnp.mean(a)) * (b - cnp.mean(b))) / \
        cnp.sum((a - cnp.mean(a)) ** 2)
    gx, gy = cr.grad(lambda a, b: cnp.polyfit(a, b, 1)[0], argnums=(0, 1))(x, y)
    hx, hy = cr.grad(slope, argnums=(0, 1))(x, y)
    np.testing.assert_allclose(gx, hx, atol=1e-12)
    np.testing.assert_allclose(gy, hy, atol=1e-12)


def test_polynomial_dtypes_follow_numpy():
    p = RNG.standard_normal(4).astype(np.float32)
    half = np.float32(0.5)
    for f, g in [(lambda a: cnp.polyval(a, half), lambda a: np.polyval(a, half)),
                 (lambda a: cnp.polymul(a, a), lambda a: np.polymul(a, a)),
                 (cnp.polyder, np.polyder), (cnp.polyint, np.polyint), (cnp.poly, np.poly),
                 (lambda a: cnp.polydiv(a, a[:2])[0], lambda a: np.polydiv(a, a[:2])[0])]:
        out = f(active(p))
        assert out.dtype == g(p).dtype
        assert cr.grad(lambda a: cnp.sum(f(a)))(p).dtype == np.float32


# ------------------------------------------------- functions of the user's
@settings(max_examples=30, deadline=None)
@given(st.data())
def test_apply_along_axis_matches_numpy(data):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, max_side=3))
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    f = data.draw(st.sampled_from([lambda v: np.sum(v ** 2), lambda v: v[::-1] * 2,
                                   lambda v: np.outer(v, v), lambda v: v[:1]]))
    x = RNG.standard_normal(shape)
    same(cnp.apply_along_axis(f, axis, active(x)), np.apply_along_axis(f, axis, x))
    same(np.apply_along_axis(f, axis, active(x)), np.apply_along_axis(f, axis, x))
    axes = data.draw(st.lists(st.integers(-len(shape), len(shape) - 1), max_size=3))
    same(cnp.apply_over_axes(np.sum, active(x), axes), np.apply_over_axes(np.sum, x, axes))


def test_apply_along_axis_closures_extra_arguments_and_dtype():
    x, w = RNG.standard_normal((3, 4)), RNG.standard_normal(4)
    f = lambda v, scale, shift=0.0: cnp.sum(v * cr_w) * scale + shift     # noqa: E731
    cr_w = cr.tensor(w, requires_grad=True)
    out = cnp.apply_along_axis(f, 1, x, 2.0, shift=1.0)      # x plain: w gets the gradient
    cnp.sum(out).backward()
    np.testing.assert_allclose(cr_w.grad, 2.0 * x.sum(axis=0))
    first_int = lambda v: np.int64(1) if v[0] > 0 else v[0] * 2.5     # noqa: E731
    x = np.array([[1.0, 2.0], [-1.0, 3.0]])
    same(cnp.apply_along_axis(first_int, 1, active(x)), np.apply_along_axis(first_int, 1, x))
    with pytest.raises(ValueError, match="iteration dimensions"):
        cnp.apply_along_axis(cnp.sum, 1, active(np.zeros((0, 3))))


def test_piecewise_matches_numpy():
    x = RNG.standard_normal((3, 4))
    conds = [x < -0.3, x > 0.3, np.abs(x) > 1.0]      # overlapping: the last true one wins
    funcs = [lambda v: v ** 2, lambda v: np.sin(v), 7.0, lambda v: -v]
    same(cnp.piecewise(active(x), conds, funcs), np.piecewise(x, conds, funcs))
    t = active(x)
    pieces = [lambda v: v * 3, 1.5]
    same(np.piecewise(t, [t < 0], pieces), np.piecewise(x, [x < 0], pieces))
    same(cnp.piecewise(active(np.array(0.4)), [True, False], [lambda v: v * 2, 0.0]),
         np.piecewise(np.array(0.4), [True, False], [lambda v: v * 2, 0.0]))
    c = active(np.array(2.0))                                     # a Tensor piece is differentiable
    gx, gc = cr.grad(lambda a, k: cnp.sum(cnp.piecewise(a, [a < 0], [lambda v: v * k, k])),
                     argnums=(0, 1))(x, c.data)
    np.testing.assert_allclose(gx, np.where(x < 0, 2.0, 0.0))
    np.testing.assert_allclose(gc, np.sum(np.where(x < 0, x, 1.0)))
    with pytest.raises(ValueError):
        cnp.piecewise(active(x), [x < 0], [1.0, 2.0, 3.0])


def test_object_array_and_iterator_functions_refuse_tensors_that_need_gradients():
    t = active(RNG.standard_normal(3))
    with pytest.raises(ChainruleError):
        np.frompyfunc(lambda v: v * 2, 1, 1)(t)
    with pytest.raises(TypeError):
        np.nested_iters(t, [[0], []], op_flags=[["readonly"]])
