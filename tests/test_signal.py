"""Calculus and signal functions on Tensors (chainrule/ops/signal.py): NumPy's values and
errors for every spacing form, mode and keyword, float32 kept, and interp's choice at the
sample points.  Finite-difference checks of each (both modes, second order) are in
tests/coverage_cases/signal.py."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.core.errors import ChainruleError

from test_assembly import assert_like_numpy, like_numpy

FAST = settings(max_examples=40, deadline=None)
RNG = np.random.default_rng(1)
X, V, W = RNG.standard_normal((4, 5)), RNG.standard_normal(6), RNG.standard_normal(3)
COORDS = np.cumsum(np.abs(RNG.standard_normal(5)) + 0.2)


VARIANTS = {
    "gradient": (lambda m, f: m.gradient(f), X),
    "gradient_scalar": (lambda m, f: m.gradient(f, 0.5, edge_order=2), X),
    "gradient_per_axis": (lambda m, f: m.gradient(f, 2.0, COORDS), X),
    "gradient_axis": (lambda m, f: m.gradient(f, COORDS, axis=-1, edge_order=2), X),
    "gradient_even_coords": (lambda m, f: m.gradient(f, np.arange(5.0) * 3, axis=1), X),
    "gradient_int_coords": (lambda m, f: m.gradient(f, np.arange(5) * 3, axis=1), X),
    "gradient_1d": (lambda m, f: m.gradient(f, edge_order=2), V),
    "gradient_tensor_coords": (lambda m, f, c: m.gradient(f, c, axis=1), X, COORDS),
    "trapezoid": (lambda m, y: m.trapezoid(y), X),
    "trapezoid_x": (lambda m, y, x: m.trapezoid(y, x), X, COORDS),
    "trapezoid_x_nd": (lambda m, y, x: m.trapezoid(y, x, axis=0), X, X * 0.3),
    "trapezoid_dx": (lambda m, y: m.trapezoid(y, dx=0.25, axis=0), X),
    "ediff1d": (lambda m, a: m.ediff1d(a), X),
    "ediff1d_ends": (lambda m, a, b: m.ediff1d(a, to_end=b, to_begin=[1.0, 2.0]), V, W),
    "cumulative_sum": (lambda m, a: m.cumulative_sum(a), V),
    "cumulative_sum_axis": (lambda m, a: m.cumulative_sum(a, axis=0, include_initial=True), X),
    "cumulative_prod": (lambda m, a: m.cumulative_prod(a, axis=-1, include_initial=True), X),
    "cumulative_prod_dtype": (lambda m, a: m.cumulative_prod(a, dtype=np.float32), V),
    "interp": (lambda m, x, f: m.interp(x, COORDS, f), np.linspace(-1, 7, 17), V[:5]),
    "interp_at_points": (lambda m, x, f: m.interp(x, COORDS, f), COORDS, V[:5]),
    "interp_lr": (lambda m, x, f: m.interp(x, COORDS, f, -3.0, 4.0), np.linspace(-1, 7, 9),
                  V[:5]),
    "interp_scalar": (lambda m, x, f: m.interp(x, COORDS, f), np.array(1.3), V[:5]),
    "interp_period": (lambda m, x, f: m.interp(x, [-170, 0, 10, 170], f, period=360),
                      np.linspace(-400, 400, 11), V[:4]),
    "interp_one_point": (lambda m, x, f: m.interp(x, [1.0], f), np.array([0.0, 1.0, 2.0]), V[:1]),
    "unwrap": (lambda m, p: m.unwrap(p), np.cumsum(V * 3)),
    "unwrap_options": (lambda m, p: m.unwrap(p, discont=4.0, axis=0, period=5.0), X * 4),
}


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_values_are_numpys(name):
    f, *arrays = VARIANTS[name]
    like_numpy(f, *arrays)


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_float32(name):
    f, *arrays = VARIANTS[name]
    like_numpy(f, *[a.astype(np.float32) for a in arrays])   # interp: float64, as NumPy's


@FAST
@given(st.integers(1, 7), st.integers(1, 7), st.sampled_from(["full", "same", "valid", 0, 1, 2]))
def test_convolve_and_correlate_slice_as_numpy_does(n, m, mode):
    a, v = RNG.standard_normal(n), RNG.standard_normal(m)
    like_numpy(lambda mod, p, q: mod.convolve(p, q, mode), a, v)
    like_numpy(lambda mod, p, q: mod.correlate(p, q, mode), a, v)


def test_convolve_gradients_in_both_arguments():
    a, v = RNG.standard_normal(5), RNG.standard_normal(3)
    ga, gv = cr.grad(lambda p, q: cnp.sum(cnp.convolve(p, q) * np.arange(7.0)),
                     argnums=(0, 1))(a, v)
    # d/da_i Σ_k k (a*v)_k = Σ_j (i + j) v_j, and symmetrically for v
    np.testing.assert_allclose(ga, [np.sum((i + np.arange(3)) * v) for i in range(5)])
    np.testing.assert_allclose(gv, [np.sum((j + np.arange(5)) * a) for j in range(3)])


def test_convolve_errors_like_numpy():
    t = cr.tensor(V, requires_grad=True)
    for f, msg in ((lambda: cnp.convolve(t, []), "cannot be empty"),
                   (lambda: cnp.correlate([], t), "cannot be empty"),
                   (lambda: cnp.convolve(cr.tensor(X, requires_grad=True), V), "too deep"),
                   (lambda: cnp.correlate(t, V, "middle"), "Use one of"),
                   (lambda: cnp.convolve(t, V, 3), "must be 0, 1, or 2")):
        with pytest.raises(ValueError, match=msg):
            f()


def test_gradient_errors_like_numpy():
    t = cr.tensor(X, requires_grad=True)
    for f, exc, msg in ((lambda: cnp.gradient(t, 1.0, 2.0, 3.0), TypeError, "invalid number"),
                        (lambda: cnp.gradient(t, X, X), ValueError, "scalars or 1d"),
                        (lambda: cnp.gradient(t, COORDS[:3], axis=1), ValueError, "match"),
                        (lambda: cnp.gradient(t, edge_order=3), ValueError, "edge_order"),
                        (lambda: cnp.gradient(t[:2], axis=0, edge_order=2), ValueError,
                         "too small")):
        with pytest.raises(exc, match=msg):
            f()


def test_gradient_with_respect_to_coordinates():
    # f = x² sampled at the coordinates: the interior estimate is exact for a parabola (2x),
    # and it changes with the coordinates as the formula says; check against differences
    c = COORDS.copy()
    cr.check_grad(lambda x: cnp.gradient(x ** 2, x), c, order=2)
    cr.check_grad(lambda f, h: cnp.gradient(f, h, edge_order=2), V, np.array(0.7), order=2)


def test_cumulative_checks_like_numpy():
    with pytest.raises(ValueError, match="axis"):
        cnp.cumulative_sum(cr.tensor(X, requires_grad=True))
    with pytest.raises(ChainruleError, match="out="):
        cnp.cumulative_sum(cr.tensor(V, requires_grad=True), out=np.zeros(6))
    assert_like_numpy(cnp.cumulative_sum(cr.tensor(2.0)), np.cumulative_sum(2.0))


def test_ediff1d_refuses_what_numpy_refuses():
    with pytest.raises(TypeError, match="same_kind"):
        cnp.ediff1d(cr.tensor(np.arange(3)), to_begin=cr.tensor([0.5], requires_grad=True))


# ------------------------------------------------------------------ interp
XP, FP = np.array([0.0, 1.0, 2.0, 4.0]), np.array([0.0, 2.0, 1.0, 1.5])   # slopes 2, -1, 0.25


def d_interp(x, fp=FP, **kw):
    return cr.grad(lambda a: cnp.sum(cnp.interp(a, XP, fp, **kw)))(np.asarray(x, float))


def test_interp_slope_inside_segments_and_zero_outside():
    np.testing.assert_allclose(d_interp([0.5, 1.5, 3.0]), [2.0, -1.0, 0.25])
    np.testing.assert_array_equal(d_interp([-1.0, 5.0]), [0.0, 0.0])
    np.testing.assert_array_equal(d_interp([-1.0, 5.0], left=3.0, right=-2.0), [0.0, 0.0])


def test_interp_at_sample_points_takes_the_minimum_norm_slope():
    # x = 1: slopes 2 and -1 differ in sign, so 0; x = 2: -1 and 0.25, same... no: differ, 0;
    # end points: the outside slope is 0, so 0
    np.testing.assert_array_equal(d_interp([0.0, 1.0, 2.0, 4.0]), [0.0, 0.0, 0.0, 0.0])
    fp = np.array([0.0, 2.0, 3.0, 7.0])             # slopes 2, 1, 2: same sign
    np.testing.assert_array_equal(d_interp([1.0, 2.0], fp=fp), [1.0, 1.0])   # the smaller


def test_interp_is_linear_in_fp_left_and_right():
    x = np.array([-1.0, 0.5, 3.0, 5.0])
    gf, gl, gr_ = cr.grad(lambda f, lo, hi: cnp.sum(cnp.interp(x, XP, f, lo, hi)),
                          argnums=(0, 1, 2))(FP, 3.0, -2.0)
    np.testing.assert_allclose(gf, [0.5, 0.5, 0.5, 0.5])     # weights of x = 0.5 and x = 3
    assert gl == 1.0 and gr_ == 1.0
    gf = cr.grad(lambda f: cnp.sum(cnp.interp(x, XP, f)))(FP)   # outside: the end values
    np.testing.assert_allclose(gf, [1.5, 0.5, 0.5, 1.5])


def test_interp_refuses_what_it_cannot_differentiate():
    with pytest.raises(ChainruleError, match="xp"):
        cnp.interp(0.5, cr.tensor(XP, requires_grad=True), FP)
    with pytest.raises(ChainruleError, match="increasing"):
        cnp.interp(cr.tensor(0.5, requires_grad=True), XP[::-1], FP)
    with pytest.raises(ValueError, match="same length"):
        cnp.interp(cr.tensor(0.5, requires_grad=True), XP, FP[:2])
    with pytest.raises(ValueError, match="period"):
        cnp.interp(cr.tensor(0.5, requires_grad=True), XP, FP, period=0)


def test_interp_nan_passes_through():
    y = cnp.interp(cr.tensor([np.nan, 0.5], requires_grad=True), XP, FP)
    assert np.isnan(y.data[0]) and y.data[1] == 1.0


def test_unwrap_has_derivative_one():
    p = np.array([0.0, 3.0, 6.5, 2.0, -4.0])
    np.testing.assert_array_equal(cr.grad(lambda a: cnp.sum(cnp.unwrap(a) * np.arange(5.0)))(p),
                                  np.arange(5.0))
