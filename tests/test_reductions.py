"""Reductions: every op's first and second derivatives (forward and reverse) against finite
differences over Hypothesis-drawn shapes, axes and keepdims; and the kinks (prod with zeros,
max ties, std of a constant, norm at 0) against values worked out by hand from the definitions."""
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.core.errors import ChainruleError

SET = settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
INF = np.inf


def check(f, x, order=2, **kw):
    cr.check_grad(f, x, order=order, modes=("fwd", "rev"), **kw)


# ----------------------------------------------------------- input makers
# Each keeps the point away from kinks by construction, so finite differences are meaningful.
def _normal(shape, rng):
    return rng.standard_normal(shape)


def _spread(shape, rng):
    """Distinct |x| at least 0.2 apart: no ties for max, min or the inf-norms."""
    n = int(np.prod(shape))
    mag = (rng.permutation(n) + 1) * 0.3 + rng.uniform(-0.05, 0.05, n)
    return (rng.choice([-1.0, 1.0], n) * mag).reshape(shape)


def _pow2(shape, rng):
    """±distinct powers of two: all sums of |x| over different subsets differ (matrix 1/inf norms)."""
    n = int(np.prod(shape))
    return (rng.choice([-1.0, 1.0], n) * 2.0 ** (rng.permutation(n) - n // 2)).reshape(shape)


def _unit(shape, rng):
    """|x| in [0.5, 1.5]: products stay of order 1."""
    n = int(np.prod(shape))
    return (rng.choice([-1.0, 1.0], n) * rng.uniform(0.5, 1.5, n)).reshape(shape)


@st.composite
def cases(draw, min_ndim=0, max_ndim=3, tuples=True):
    """(shape, axis, keepdims, seed) with axis None, an int (negative too) or a tuple."""
    ndim = draw(st.integers(min_ndim, max_ndim))
    shape = tuple(draw(st.integers(1, 3)) for _ in range(ndim))
    axis = draw(st.sampled_from([None] + list(range(-ndim, ndim))))
    if tuples and ndim and draw(st.booleans()):
        picked = draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
        axis = tuple(a - ndim if draw(st.booleans()) else a for a in picked)
    return shape, axis, draw(st.booleans()), draw(st.integers(0, 2 ** 16))


def _n(shape, axis):
    axes = range(len(shape)) if axis is None else np.atleast_1d(axis)
    return int(np.prod([shape[a] for a in axes]))


def _naive_logsumexp(x, axis=None, keepdims=False):
    return np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdims))


MAKERS = {"sum": _normal, "mean": _normal, "prod": _unit, "max": _spread, "min": _spread,
          "amax": _spread, "amin": _spread, "var": _normal, "std": _normal, "logsumexp": _normal}
REFERENCE = {"logsumexp": _naive_logsumexp}


# --------------------------------------------- derivatives vs finite differences
@pytest.mark.parametrize("name", list(MAKERS))
@SET
@given(case=cases(), ddof=st.integers(0, 1))
def test_reduction_first_and_second_order(name, case, ddof):
    shape, axis, keepdims, seed = case
    x = MAKERS[name](shape, np.random.default_rng(seed))
    kw = {"axis": axis, "keepdims": keepdims}
    if name in ("var", "std"):
        kw["ddof"] = ddof if _n(shape, axis) > ddof else 0
    f = lambda a: getattr(cnp, name)(a, **kw)  # noqa: E731
    expected = (REFERENCE[name] if name in REFERENCE else getattr(np, name))(x, **kw)
    np.testing.assert_allclose(f(x), expected, rtol=1e-12, atol=1e-12)
    check(f, x, warn_on_kink=_n(shape, axis) > 1)     # std of one entry: constant 0, a "kink"


@pytest.mark.parametrize("name", ["prod", "cumprod"])
@SET
@given(case=cases(min_ndim=1), zeros=st.integers(1, 3))
def test_products_at_zeros(name, case, zeros):
    """A product is a polynomial, smooth through 0: finite differences are valid exactly there."""
    shape, axis, keepdims, seed = case
    rng = np.random.default_rng(seed)
    x = _unit(shape, rng).reshape(-1)
    x[rng.choice(x.size, min(zeros, x.size), replace=False)] = 0.0
    x = x.reshape(shape)
    if name == "cumprod":
        kw = {"axis": axis[0] if isinstance(axis, tuple) else axis}
    else:
        kw = {"axis": axis, "keepdims": keepdims}
    check(lambda a: getattr(cnp, name)(a, **kw), x)


@pytest.mark.parametrize("name", ["cumsum", "cumprod"])
@SET
@given(case=cases(min_ndim=0, tuples=False))
def test_cumulative(name, case):
    shape, axis, _, seed = case
    if not shape:
        axis = None
    x = _unit(shape, np.random.default_rng(seed))
    f = lambda a: getattr(cnp, name)(a, axis=axis)  # noqa: E731
    np.testing.assert_allclose(f(x), getattr(np, name)(x, axis=axis), rtol=1e-13)
    check(f, x)


@SET
@given(case=cases(min_ndim=2, tuples=False), offset=st.integers(-2, 2), data=st.data())
def test_trace(case, offset, data):
    shape, _, _, seed = case
    nd = len(shape)
    a1 = data.draw(st.integers(-nd, nd - 1))
    a2 = data.draw(st.sampled_from([a for a in range(-nd, nd) if a % nd != a1 % nd]))
    x = _normal(shape, np.random.default_rng(seed))
    f = lambda a: cnp.trace(a, offset, a1, a2)  # noqa: E731
    np.testing.assert_allclose(f(x), np.trace(x, offset, a1, a2))
    check(f, x)


@pytest.mark.parametrize("ord", [None, 2, 1, INF, -INF, 3, 1.5, 0])
@SET
@given(case=cases(min_ndim=1, tuples=False))
def test_vector_norms(ord, case):
    shape, axis, keepdims, seed = case
    if axis is None and len(shape) > 1 and ord is not None:
        axis = -1
    x = _spread(shape, np.random.default_rng(seed))
    f = lambda a: cnp.linalg.norm(a, ord, axis, keepdims)  # noqa: E731
    np.testing.assert_allclose(f(x), np.linalg.norm(x, ord, axis, keepdims), rtol=1e-12)
    check(f, x)


@pytest.mark.parametrize("ord", [None, "fro", "nuc", 1, -1, 2, -2, INF, -INF])
@SET
@given(case=cases(min_ndim=2, tuples=False), data=st.data())
def test_matrix_norms(ord, case, data):
    shape, _, keepdims, seed = case
    nd = len(shape)
    r = data.draw(st.integers(-nd, nd - 1))
    c = data.draw(st.sampled_from([a for a in range(-nd, nd) if a % nd != r % nd]))
    make = _pow2 if ord in (1, -1, INF, -INF) else _normal
    x = make(shape, np.random.default_rng(seed))
    f = lambda a: cnp.linalg.norm(a, ord, (r, c), keepdims)  # noqa: E731
    np.testing.assert_allclose(f(x), np.linalg.norm(x, ord, (r, c), keepdims), rtol=1e-12)
    check(f, x)


def test_any_order():
    """Third derivatives: the rules' own rules are right too (exact paths included)."""
    rng = np.random.default_rng(3)
    xz = np.array([[2.0, 0.0, 3.0], [0.0, 0.0, 5.0], [1.0, 2.0, 3.0]])
    check(lambda a: cnp.prod(a, axis=1), xz, order=3)
    check(lambda a: cnp.cumprod(a, axis=0), xz, order=3)
    check(lambda a: cnp.std(a, axis=0, ddof=1), rng.standard_normal((3, 4)), order=3)
    check(lambda a: cnp.linalg.norm(a, "nuc"), rng.standard_normal((3, 4)), order=3)


# ------------------------------------------------- kinks, by hand from the definitions
def test_prod_with_zeros_is_the_product_of_the_others():
    g = cr.grad(cnp.prod)
    np.testing.assert_array_equal(g(np.array([2.0, 0.0, 3.0])), [0.0, 6.0, 0.0])
    np.testing.assert_array_equal(g(np.array([2.0, 0.0, 0.0, 3.0])), [0.0, 0.0, 0.0, 0.0])
    # ∂²/∂x_i∂x_j x0·x1·x2 = the remaining entry
    np.testing.assert_array_equal(cr.hessian(cnp.prod)(np.array([2.0, 0.0, 3.0])),
                                  [[0, 3, 0], [3, 0, 2], [0, 2, 0]])
    x = np.array([[2.0, 0.0], [0.0, 0.0], [4.0, 5.0]])
    np.testing.assert_array_equal(cr.grad(lambda a: cnp.sum(cnp.prod(a, axis=-1)))(x),
                                  [[0, 2], [0, 0], [5, 4]])


def test_cumprod_with_a_zero():
    # y = (x0, x0x1, x0x1x2); Σy' = (1 + x1 + x1x2, x0 + x0x2, x0x1) at (2, 0, 3)
    g = cr.grad(lambda a: cnp.sum(cnp.cumprod(a)))(np.array([2.0, 0.0, 3.0]))
    np.testing.assert_array_equal(g, [1.0, 8.0, 0.0])
    _, t = cr.jvp(cnp.cumprod, (np.array([2.0, 0.0, 3.0]),), (np.array([0.0, 1.0, 0.0]),))
    np.testing.assert_array_equal(t, [0.0, 2.0, 6.0])


@pytest.mark.parametrize("name", ["max", "min", "amax", "amin"])
def test_ties_split_evenly(name):
    x = np.array([[1.0, 5.0, 5.0], [2.0, 2.0, 2.0], [4.0, 0.0, 9.0]])
    if "min" in name:
        x = -x
    g = cr.grad(lambda a: cnp.sum(getattr(cnp, name)(a, axis=1)))(x)
    np.testing.assert_allclose(g, [[0, .5, .5], [1 / 3, 1 / 3, 1 / 3], [0, 0, 1]], rtol=1e-15)
    g = cr.grad(getattr(cnp, name))(np.array([3.0, 1.0, 3.0, 3.0]) * (-1 if "min" in name else 1))
    np.testing.assert_allclose(g, [1 / 3, 0, 1 / 3, 1 / 3], rtol=1e-15)
    _, t = cr.jvp(getattr(cnp, name), (x,), (np.ones_like(x),))
    assert t == 1.0                  # a uniform shift moves the max by exactly 1
    assert cr.hessian(getattr(cnp, name))(np.array([3.0, 3.0])).tolist() == [[0, 0], [0, 0]]


def test_std_of_a_constant_is_zero():
    x = np.array([[0.1, 0.1, 0.1], [1.0, 2.0, 3.0]])
    assert np.std(x[0]) != 0        # rounding: 0.1 is not exactly representable
    g = cr.grad(lambda a: cnp.sum(cnp.std(a, axis=1)))(x)
    # row 1: (x − 2) / (3·√(2/3))
    np.testing.assert_allclose(g, [[0, 0, 0], [-1 / np.sqrt(6), 0, 1 / np.sqrt(6)]], rtol=1e-14)
    np.testing.assert_array_equal(cr.grad(cnp.std)(np.full(4, 2.0)), np.zeros(4))
    assert not np.isnan(cr.hessian(cnp.std)(np.full(3, 2.0))).any()


def test_var_by_hand():
    g = cr.grad(cnp.var)(np.array([1.0, 2.0, 3.0]))                       # 2(x − 2)/3
    np.testing.assert_allclose(g, [-2 / 3, 0, 2 / 3], rtol=1e-15)
    g = cr.grad(lambda a: cnp.var(a, ddof=1))(np.array([1.0, 2.0, 3.0]))  # 2(x − 2)/2
    np.testing.assert_allclose(g, [-1, 0, 1], rtol=1e-15)


VECTOR_ORDS = [None, 2, 1, INF, -INF, 3, 1.5, 0.5, 0, -1]
MATRIX_ORDS = [None, "fro", "nuc", 1, -1, 2, -2, INF, -INF]


def test_norm_at_zero_is_zero():
    for ord in VECTOR_ORDS:
        with np.errstate(divide="ignore"):
            g = cr.grad(lambda a: cnp.linalg.norm(a, ord))(np.zeros(3))
        np.testing.assert_array_equal(g, np.zeros(3), err_msg=f"ord={ord}")
    for ord in MATRIX_ORDS:
        g = cr.grad(lambda a: cnp.linalg.norm(a, ord))(np.zeros((2, 3)))
        np.testing.assert_array_equal(g, np.zeros((2, 3)), err_msg=f"ord={ord}")
        _, t = cr.jvp(lambda a: cnp.linalg.norm(a, ord), (np.zeros((2, 3)),), (np.ones((2, 3)),))
        assert t == 0.0
    g = cr.grad(lambda a: cnp.sum(cnp.linalg.norm(a, axis=1)))(np.array([[0.0, 0.0], [3.0, 4.0]]))
    np.testing.assert_allclose(g, [[0, 0], [0.6, 0.8]], rtol=1e-15)
    assert np.isfinite(cr.hessian(cnp.linalg.norm)(np.zeros(3))).all()


def test_norms_by_hand():
    norm = cnp.linalg.norm
    np.testing.assert_allclose(cr.grad(norm)(np.array([3.0, 4.0])), [0.6, 0.8], rtol=1e-15)
    np.testing.assert_array_equal(cr.grad(lambda a: norm(a, 1))(np.array([2.0, 0.0, -1.0])), [1, 0, -1])
    np.testing.assert_array_equal(cr.grad(lambda a: norm(a, INF))(np.array([3.0, -3.0, 1.0])),
                                  [0.5, -0.5, 0])
    np.testing.assert_array_equal(cr.grad(lambda a: norm(a, -INF))(np.array([3.0, -1.0, 2.0])),
                                  [0, -1, 0])
    # matrix 1-norm: largest column sum of |x| (3, 3, 1: two tied columns share the gradient);
    # inf-norm: largest row sum (3.5, 3.5 tied, then 4.5 unique after scaling row 1)
    x = np.array([[1.0, -2.0, 0.5], [2.0, 1.0, 0.5]])
    np.testing.assert_array_equal(cr.grad(lambda a: norm(a, 1))(x), [[.5, -.5, 0], [.5, .5, 0]])
    np.testing.assert_array_equal(cr.grad(lambda a: norm(a, INF))(x), [[.5, -.5, .5], [.5, .5, .5]])
    x[0] *= -1.5
    np.testing.assert_array_equal(cr.grad(lambda a: norm(a, INF))(x), [[-1, 1, -1], [0, 0, 0]])
    np.testing.assert_array_equal(cr.grad(lambda a: norm(a, -INF))(x), [[0, 0, 0], [1, 1, 1]])
    d = np.diag([3.0, 1.0])
    np.testing.assert_allclose(cr.grad(lambda a: norm(a, 2))(d), [[1, 0], [0, 0]], atol=1e-15)
    np.testing.assert_allclose(cr.grad(lambda a: norm(a, -2))(d), [[0, 0], [0, 1]], atol=1e-15)
    np.testing.assert_allclose(cr.grad(lambda a: norm(a, "nuc"))(d), np.eye(2), atol=1e-15)
    # σ1 = σ2 = 3: the spectral norm's gradient is split, ½ I; nuc of rank 1 skips σ = 0
    np.testing.assert_allclose(cr.grad(lambda a: norm(a, 2))(3 * np.eye(2)), np.eye(2) / 2, atol=1e-15)
    np.testing.assert_allclose(cr.grad(lambda a: norm(a, "nuc"))(np.diag([2.0, 0.0])),
                               [[1, 0], [0, 0]], atol=1e-15)


def test_logsumexp_is_stable():
    x = np.array([1000.0, 1000.0])
    assert cnp.logsumexp(x) == 1000.0 + np.log(2.0)
    np.testing.assert_array_equal(cr.grad(cnp.logsumexp)(x), [0.5, 0.5])
    np.testing.assert_allclose(cr.hessian(cnp.logsumexp)(x), [[.25, -.25], [-.25, .25]])
    np.testing.assert_allclose(cr.grad(cnp.logsumexp)(np.array([-1000.0, -INF])), [1.0, 0.0])
    check(cnp.logsumexp, np.array([1000.0, 999.0, 1001.0]))


def test_trace_by_hand():
    g = cr.grad(lambda a: cnp.trace(a, 1))(np.zeros((3, 3)))
    np.testing.assert_array_equal(g, np.eye(3, k=1))
    g = cr.grad(lambda a: cnp.sum(cnp.trace(a, 0, 2, 0)))(np.zeros((2, 3, 2)))
    np.testing.assert_array_equal(g, np.broadcast_to(np.eye(2)[:, None, :], (2, 3, 2)))


# --------------------------------------------------- dtypes, degenerate shapes
DIFFERENTIABLE = ["sum", "mean", "prod", "max", "min", "amax", "amin", "var", "std", "logsumexp",
                  "cumsum", "cumprod", "trace", "norm"]


@pytest.mark.parametrize("name", DIFFERENTIABLE)
def test_float32_stays_float32(name):
    x = cr.tensor(np.arange(1.0, 7.0, dtype=np.float32).reshape(2, 3), requires_grad=True)
    y = getattr(cnp, name)(x)
    assert y.dtype == np.float32
    cnp.sum(y).backward()
    assert x.grad.dtype == np.float32
    g = cr.grad(lambda a: cnp.sum(getattr(cnp, name)(a)))(x.data)
    assert g.dtype == np.float32
    np.testing.assert_allclose(g, x.grad)


SCALAR_GRADS = {"sum": 1, "mean": 1, "prod": 1, "max": 1, "min": 1, "amax": 1, "amin": 1, "var": 0,
                "std": 0, "logsumexp": 1, "cumsum": 1, "cumprod": 1, "norm": -1}


@pytest.mark.parametrize("name", list(SCALAR_GRADS))
@pytest.mark.parametrize("shape", [(), (1,), (1, 1)])
def test_single_element(name, shape):
    x = np.full(shape, -2.5)
    g = cr.grad(lambda a: cnp.sum(getattr(cnp, name)(a)))(x)
    assert g.shape == shape and np.all(g == SCALAR_GRADS[name])


@pytest.mark.parametrize("name", ["sum", "mean", "prod", "cumsum", "cumprod", "logsumexp", "norm",
                                  "var"])
def test_empty(name):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        g = cr.grad(lambda a: cnp.sum(getattr(cnp, name)(a)))(np.zeros((0,)))
        assert g.shape == (0,)
        g = cr.grad(lambda a: cnp.sum(getattr(cnp, name)(a, axis=1)))(np.zeros((0, 3)))
        assert g.shape == (0, 3)
        g = cr.grad(lambda a: cnp.sum(cnp.sum(a, axis=0)))(np.zeros((0, 3)))
        assert g.shape == (0, 3)


# ------------------------------------------------------------ NumPy integration
def test_numpy_functions_and_methods_on_tensors():
    x = np.array([[1.0, 4.0, 2.0], [3.0, 0.5, 6.0]])
    t = cr.tensor(x, requires_grad=True)
    pairs = [(np.sum(t), x.sum()), (t.sum(axis=0), x.sum(axis=0)), (np.max(t), 6.0),
             (t.max(), 6.0), (np.amin(t, axis=1), [1.0, 0.5]), (t.min(1), [1.0, 0.5]),
             (np.linalg.norm(t), np.linalg.norm(x)), (t.norm(), np.linalg.norm(x)),
             (np.prod(t, 0), x.prod(0)), (t.mean(-1), x.mean(-1)),
             (np.var(t, 0, None, None, 1), x.var(0, ddof=1)), (t.std(), x.std()),
             (np.cumsum(t, 1), x.cumsum(1)), (t.cumprod(), x.cumprod()), (np.trace(t), 1.5),
             (t.trace(1), 10.0), (t.logsumexp(), _naive_logsumexp(x)), (np.add.reduce(t, 1), x.sum(1))]
    for got, want in pairs:
        assert got.requires_grad
        np.testing.assert_allclose(got.data, want, rtol=1e-14)
    np.linalg.norm(t, axis=0)[1].backward()
    np.testing.assert_allclose(t.grad, [[0, 4 / np.hypot(4, .5), 0], [0, .5 / np.hypot(4, .5), 0]])


@pytest.mark.parametrize("name", ["argmax", "argmin", "all", "any", "count_nonzero"])
def test_not_differentiable(name):
    x = np.array([[1.0, 0.0, 2.0], [3.0, 5.0, 0.0]])
    t = cr.tensor(x, requires_grad=True)
    for kw in ({}, {"axis": 1}):
        got = getattr(cnp, name)(t, **kw)
        assert not got.requires_grad
        np.testing.assert_array_equal(got.data, getattr(np, name)(x, **kw))
    assert getattr(cnp, name).differentiable is False


def test_clear_errors():
    t = cr.tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(ChainruleError, match="out="):
        cnp.sum(t, axis=0, out=np.zeros(3))
    with pytest.raises(ChainruleError, match="where"):
        cnp.max(t, where=np.ones((2, 3), bool))
    with pytest.raises(IndexError, match="axis 2"):      # NumPy's AxisError, or chainrule's
        cnp.sum(t, axis=2)
    with pytest.raises(ValueError, match="norm order"):
        cnp.linalg.norm(t, "bad")


# ------------------------------------------------------------ explain metadata
def test_kink_masks_and_formulas():
    x = np.array([[3.0, 1.0, 3.0], [0.0, 2.0, 1.0]])
    mask, sub, chosen = cnp.max.kink
    np.testing.assert_array_equal(mask(np.max(x, 1), x, 1), [[1, 0, 1], [0, 0, 0]])
    y = np.array([[3.0, 1.0, 3.0], [1.0, 2.0, 1.0]])
    np.testing.assert_array_equal(cnp.amin.kink[0](np.min(y), y), [[0, 1, 0], [1, 0, 1]])
    assert "1/k" in chosen and sub
    z = np.array([[0.0, 0.0], [3.0, 4.0]])
    mask = cnp.linalg.norm.kink[0]
    np.testing.assert_array_equal(mask(np.linalg.norm(z, axis=1), z, axis=1), [[1, 1], [0, 0]])
    np.testing.assert_array_equal(mask(np.linalg.norm(z), z), [[0, 0], [0, 0]])
    np.testing.assert_array_equal(cnp.std.kink[0](np.std(z, 1), z, 1), [[1, 1], [0, 0]])
    c = np.full((2, 3), 0.1)                            # std ≈ 1e-17, still a constant slice
    np.testing.assert_array_equal(cnp.std.kink[0](np.std(c, 0), c, axis=0), np.ones((2, 3)))
    for name in DIFFERENTIABLE + ["argmax", "argmin", "all", "any", "count_nonzero"]:
        assert isinstance(getattr(cnp, name).formula[0], str), name
