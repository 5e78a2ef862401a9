"""numpy.linalg's solvers, powers, condition numbers, NumPy 2 functions and vector products.

Values, shapes and output types are compared with NumPy's own on Hypothesis-drawn
shapes, axes and keywords; derivatives are checked against finite differences in
tests/coverage_cases/linalg.py (both modes, second order).  Here: what those cases
cannot see (the outputs NumPy returns, errors, rank deficiency, the dot order of
multi_dot, dtypes, signatures).
"""
import inspect
import itertools
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.core.errors import ChainruleError, ChainruleLinAlgError

la = cnp.linalg
RNG = np.random.default_rng(11)


def active(x):
    return cr.tensor(x, requires_grad=True)


def values(x):
    return x.data if isinstance(x, cr.Tensor) else x


def same(got, expected, rtol=1e-10):
    got = values(got)
    assert np.shape(got) == np.shape(expected)
    assert np.asarray(got).dtype == np.asarray(expected).dtype
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=1e-12)


def check(f, *args):
    cr.check_grad(f, *args, order=2, modes=("fwd", "rev"), warn_on_kink=False)


def wellcond(m, n, seed=0):
    rng = np.random.default_rng(seed)
    u = np.linalg.qr(rng.standard_normal((m, min(m, n))))[0]
    v = np.linalg.qr(rng.standard_normal((n, min(m, n))))[0]
    return (u * (1.0 + 0.5 * np.arange(min(m, n)))) @ v.T


# ------------------------------------------------------------------- lstsq
@pytest.mark.parametrize("m,n,k", [(5, 3, None), (5, 3, 2), (3, 3, None), (2, 4, None),
                                   (2, 4, 3), (4, 1, 1)])
def test_lstsq_returns_what_numpy_returns(m, n, k):
    a, b = wellcond(m, n), RNG.standard_normal((m,) if k is None else (m, k))
    expected = np.linalg.lstsq(a, b)
    got = la.lstsq(active(a), active(b))
    assert isinstance(got, tuple) and len(got) == 4
    for g, e in zip(got, expected):
        same(g, e)
    assert got[2] == expected[2] and type(got[2]) is type(expected[2])     # the rank, an integer
    assert got[0].requires_grad and got[3].requires_grad
    assert isinstance(got[1], cr.Tensor) == (m > n)     # residuals exist only for tall full rank


def test_lstsq_rank_deficient_a_is_refused_but_b_is_differentiable():
    a = np.array([[1.0, 2.0], [2.0, 4.0], [3.0, 6.0]])              # rank 1
    b = np.array([1.0, 0.5, -1.0])
    with pytest.raises(ChainruleLinAlgError) as e:
        la.lstsq(active(a), b)
    assert "rank 1" in str(e.value) and "Fix:" in str(e.value)
    x, res, rank, s = la.lstsq(a, active(b))                       # linear in b: fine
    assert rank == 1 and res.size == 0
    same(x, np.linalg.lstsq(a, b)[0])
    check(lambda y: la.lstsq(a, y)[0], b)
    g = cr.grad(lambda y: cnp.sum(la.lstsq(a, y)[0] * np.array([1.0, -2.0])))(b)
    np.testing.assert_allclose(g, np.linalg.pinv(a).T @ [1.0, -2.0], atol=1e-12)   # A⁺ᵀ·g
    # with a cutoff that hides a's small singular value, the rank drops: refused too
    with pytest.raises(ChainruleLinAlgError):
        la.lstsq(active(np.diag([1.0, 1e-3])), np.ones(2), rcond=1e-2)
    x = la.lstsq(cr.tensor(a), b)[0]                                # a Tensor that needs no grad
    same(x, np.linalg.lstsq(a, b)[0])


def test_lstsq_tall_gradient_is_the_normal_equations():
    """For full column rank, x = (AᵀA)⁻¹Aᵀb: the gradient must equal that formula's."""
    a, b, w = wellcond(6, 3, seed=3), RNG.standard_normal(6), RNG.standard_normal(3)
    ga, gb = cr.grad(lambda p, q: cnp.sum(la.lstsq(p, q)[0] * w), argnums=(0, 1))(a, b)
    ha, hb = cr.grad(lambda p, q: cnp.sum(la.solve(p.T @ p, p.T @ q) * w), argnums=(0, 1))(a, b)
    np.testing.assert_allclose(ga, ha, atol=1e-10)
    np.testing.assert_allclose(gb, hb, atol=1e-10)


# ------------------------------------------------------------- matrix_power
def test_matrix_power_values_and_edges():
    a = wellcond(3, 3, seed=1)
    for n in range(-4, 9):
        same(la.matrix_power(active(a), n), np.linalg.matrix_power(a, n), rtol=1e-9)
    z = la.matrix_power(active(np.stack([a, a])), 0)                 # the identity: a constant
    assert not isinstance(z, cr.Tensor) and np.array_equal(z, np.broadcast_to(np.eye(3), (2, 3, 3)))
    with pytest.raises(TypeError, match="integer"):
        la.matrix_power(active(a), 2.0)
    with pytest.raises(np.linalg.LinAlgError):
        la.matrix_power(active(np.ones((2, 3))), 2)
    check(lambda x: la.matrix_power(x, -3), a)


# --------------------------------------------------------------------- cond
@pytest.mark.parametrize("p", [None, 2, -2, 1, -1, np.inf, -np.inf, "fro", "nuc"])
def test_cond_values_and_singular_matrices(p):
    a = RNG.standard_normal((2, 3, 3))
    same(la.cond(active(a), p), np.linalg.cond(a, p), rtol=1e-9)
    singular = np.diag([1.0, 0.0])
    try:
        expected = np.linalg.cond(singular, p)
    except np.linalg.LinAlgError:                                   # NumPy's nuc norm of nan
        expected = None
    if expected is not None and np.isfinite(expected):             # p = -2: 0, smooth enough
        same(la.cond(active(singular), p), expected)
        return
    with pytest.raises(ChainruleLinAlgError, match="infinite"):
        la.cond(active(singular), p)
    if expected is not None:
        same(la.cond(cr.tensor(singular), p), expected)             # no gradient needed: NumPy's


# ---------------------------------------------------------------- multi_dot
def _brute_cost(shapes):
    """The cheapest cost of the chain over every parenthesisation."""
    if len(shapes) == 1:
        return 0
    return min(_brute_cost(shapes[:k]) + _brute_cost(shapes[k:]) +
               shapes[0][0] * shapes[k - 1][1] * shapes[-1][1] for k in range(1, len(shapes)))


def _order_cost(split, shapes, i, j):
    if i == j:
        return 0
    k = split[i][j]
    return (_order_cost(split, shapes, i, k) + _order_cost(split, shapes, k + 1, j) +
            shapes[i][0] * shapes[k][1] * shapes[j][1])


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(1, 9), min_size=4, max_size=7), st.booleans(), st.booleans())
def test_multi_dot_takes_numpys_order(dims, row, col):
    from chainrule.ops.linalg import _chain_order
    shapes = [(dims[k], dims[k + 1]) for k in range(len(dims) - 1)]
    if len(shapes) > 3:              # (three matrices: NumPy compares the two costs directly)
        assert _order_cost(_chain_order(shapes), shapes, 0, len(shapes) - 1) == \
            _brute_cost(shapes)
    rng = np.random.default_rng(sum(dims))
    arrays = [rng.standard_normal(s) for s in shapes]
    if row:
        arrays[0] = arrays[0][0]
    if col:
        arrays[-1] = arrays[-1][:, 0].copy()      # contiguous, as a Tensor's data is
    got = la.multi_dot([cr.tensor(x) for x in arrays])
    # the same dots in the same order round the same way: equal to the last bit
    assert np.array_equal(values(got), np.linalg.multi_dot(arrays))


def test_multi_dot_refuses_out_and_bad_shapes():
    a = active(np.ones((2, 2)))
    with pytest.raises(ChainruleError, match="out="):
        la.multi_dot([a, a, a], out=np.empty((2, 2)))
    with pytest.raises(np.linalg.LinAlgError):
        la.multi_dot([a, active(np.ones((2, 2, 2))), a])
    with pytest.raises(ValueError):
        la.multi_dot([a])


# --------------------------------------------------------- tensor inv/solve
def test_tensorinv_and_tensorsolve_match_numpy():
    a = wellcond(6, 6, seed=2)
    for shape, ind in [((2, 3, 6), 2), ((6, 2, 3), 1), ((3, 2, 3, 2), 2)]:
        t = a.reshape(shape)
        same(la.tensorinv(active(t), ind), np.linalg.tensorinv(t, ind))
    b = RNG.standard_normal((2, 3))
    a4 = a.reshape(2, 3, 3, 2)
    for axes in (None, (0,), (1, 0), (3, 1), (2,), (0, 1)):
        try:
            expected = np.linalg.tensorsolve(a4, b, axes)
        except np.linalg.LinAlgError:
            with pytest.raises(np.linalg.LinAlgError):
                la.tensorsolve(active(a4), b, axes)
            continue
        same(la.tensorsolve(active(a4), b, axes), expected)
    with pytest.raises(np.linalg.LinAlgError):
        la.tensorinv(active(np.ones((2, 3, 2))))
    with pytest.raises(ValueError):
        la.tensorinv(active(np.eye(2)), 0)


# ------------------------------------------------------- NumPy 2's functions
@settings(max_examples=30, deadline=None)
@given(st.data())
def test_vector_and_matrix_norms_match_numpy(data):
    shape = data.draw(hnp.array_shapes(min_dims=0, max_dims=3, max_side=3))
    x = RNG.standard_normal(shape)
    nd = len(shape)
    axis = data.draw(st.sampled_from([None] + list(range(-nd, nd)) + list(
        itertools.permutations(range(nd), 2)) + ([tuple(range(nd))] if nd else [])))
    ord_ = data.draw(st.sampled_from([2, 1, 0, 3, np.inf, -np.inf, -1, 0.5]))
    keep = data.draw(st.booleans())
    same(la.vector_norm(active(x), axis=axis, keepdims=keep, ord=ord_),
         np.linalg.vector_norm(x, axis=axis, keepdims=keep, ord=ord_))
    if nd >= 2:
        ord_ = data.draw(st.sampled_from(["fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf]))
        same(la.matrix_norm(active(x), keepdims=keep, ord=ord_),
             np.linalg.matrix_norm(x, keepdims=keep, ord=ord_))


def test_linalg_namespace_functions_match_numpy():
    x, v, w = RNG.standard_normal((2, 3, 4)), RNG.standard_normal(3), RNG.standard_normal(4)
    for off in (-2, 0, 1):
        same(la.diagonal(active(x), offset=off), np.linalg.diagonal(x, offset=off))
        same(la.trace(active(x), offset=off), np.linalg.trace(x, offset=off))
    same(la.trace(active(x), dtype=np.float32), np.linalg.trace(x, dtype=np.float32))
    same(la.matrix_transpose(active(x)), np.linalg.matrix_transpose(x))
    same(la.outer(active(v), w), np.linalg.outer(v, w))
    same(la.matmul(active(x), w), np.linalg.matmul(x, w))
    y = RNG.standard_normal((3, 4))
    same(la.tensordot(active(x), y, axes=2), np.linalg.tensordot(x, y, axes=2))
    same(la.svdvals(active(x)), np.linalg.svdvals(x))
    same(la.vecdot(active(x), w), np.linalg.vecdot(x, w))
    same(la.vecdot(active(x), v[:, None], axis=-2), np.linalg.vecdot(x, v[:, None], axis=-2))
    c = RNG.standard_normal((2, 3))
    same(la.cross(active(c), v), np.linalg.cross(c, v))
    for bad in (lambda: la.outer(active(x), w), lambda: la.cross(active(x[..., :2]), v[:2]),
                lambda: la.matrix_transpose(active(v))):
        with pytest.raises(ValueError):
            bad()


# ---------------------------------------------------------- vector products
@settings(max_examples=40, deadline=None)
@given(st.data())
def test_cross_matches_numpy(data):
    na, nb = data.draw(st.sampled_from([(3, 3), (2, 3), (3, 2), (2, 2)]))
    shapes = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=2, max_side=3))
    a = RNG.standard_normal(shapes.input_shapes[0] + (na,))
    b = RNG.standard_normal(shapes.input_shapes[1] + (nb,))
    axisa, axisb = data.draw(st.integers(0, a.ndim - 1)), data.draw(st.integers(0, b.ndim - 1))
    a, b = np.moveaxis(a, -1, axisa), np.moveaxis(b, -1, axisb)
    out_nd = len(shapes.result_shape) + 1
    axisc = data.draw(st.integers(-out_nd, out_nd - 1))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        expected = np.cross(a, b, axisa, axisb, axisc)
        got = cnp.cross(active(a), b, axisa, axisb, axisc)
        via_numpy = np.cross(a, cr.tensor(b), axisa=axisa, axisb=axisb, axisc=axisc)
    same(got, expected)
    same(via_numpy, expected)
    deprecations = [w for w in caught if issubclass(w.category, DeprecationWarning)]
    assert len(deprecations) == (3 if 2 in (na, nb) and np.__version__ >= "2" else 0)


GUFUNC_CASES = [   # (name, shape of x1, shape of x2, keywords)
    ("vecdot", (2, 3, 4), (3, 4), {}), ("vecdot", (2, 3, 4), (3, 1), {"axis": -2}),
    ("vecdot", (2, 3, 4), (3, 4), {"axis": -2, "keepdims": True}),
    ("vecdot", (2, 3, 4), (3, 4), {"keepdims": True}),
    ("vecdot", (2, 3, 4), (3, 4), {"axes": [(1,), (0,)]}),
    ("vecdot", (2, 3, 4), (3, 4), {"axes": [1, 0, ()]}),
    ("vecdot", (3,), (3,), {"dtype": np.float32}),
    ("matvec", (2, 5, 3), (3,), {}), ("matvec", (5, 3, 2), (3,), {"axes": [(0, 1), (0,), (0,)]}),
    ("matvec", (1, 4, 3), (2, 3), {}),
    ("vecmat", (3,), (2, 3, 5), {}), ("vecmat", (2, 3), (2, 3, 5), {"axes": [(-1,), (1, 2), (0,)]}),
]


@pytest.mark.parametrize("name,sa,sb,kw", GUFUNC_CASES)
def test_gufuncs_match_numpy(name, sa, sb, kw):
    a, b = RNG.standard_normal(sa), RNG.standard_normal(sb)
    expected = getattr(np, name)(a, b, **kw)
    same(getattr(cnp, name)(active(a), b, **kw), expected, rtol=1e-6)
    same(getattr(np, name)(a, active(b), **kw), expected, rtol=1e-6)   # NumPy's ufunc, dispatched
    if "dtype" not in kw:
        check(lambda x, y: getattr(cnp, name)(x, y, **kw), a, b)


def test_gufunc_errors():
    a = active(np.ones((2, 3)))
    with pytest.raises(ChainruleError, match="core axes"):
        cnp.vecdot(a, np.ones(4))
    with pytest.raises(ChainruleError, match="casting"):
        cnp.vecdot(a, np.ones(3), casting="unsafe")
    with pytest.raises(TypeError):
        cnp.vecdot(a, np.ones(3), axis=0, axes=[(0,), (0,)])
    with pytest.raises(TypeError, match="axis"):
        cnp.matvec(a, np.ones(3), axis=0)
    with pytest.raises(ChainruleError, match="out="):
        cnp.vecdot(a, np.ones(3), out=np.empty(2))


# ---------------------------------------------------------- dtypes, signatures
F32 = [
    lambda a: la.lstsq(a, np.ones(3, np.float32))[0], lambda a: la.matrix_power(a, -2),
    la.cond, lambda a: la.cond(a, 1), lambda a: la.tensorinv(a, 1),
    lambda a: la.tensorsolve(a, np.ones(3, np.float32)), la.vector_norm, la.matrix_norm,
    lambda a: cnp.cross(a, a[::-1]), lambda a: cnp.vecdot(a, a), lambda a: cnp.matvec(a, a[0]),
    lambda a: cnp.vecmat(a[0], a), lambda a: la.multi_dot([a, a, a]), la.diagonal,
    la.trace, la.matrix_transpose, lambda a: la.outer(a[0], a[1]),
]


@pytest.mark.parametrize("f", F32, ids=range(len(F32)))
def test_float32_stays_float32(f):
    x = (wellcond(3, 3, seed=4) + 2 * np.eye(3)).astype(np.float32)
    assert f(cr.tensor(x, requires_grad=True)).dtype == np.float32
    assert cr.grad(lambda a: cnp.sum(f(a)))(x).dtype == np.float32
    assert cr.jvp(f, (x,), (np.ones_like(x),))[1].dtype == np.float32


LINALG_NAMES = ["lstsq", "matrix_power", "cond", "multi_dot", "tensorinv", "tensorsolve",
                "vector_norm", "matrix_norm", "svdvals", "diagonal", "trace", "outer", "vecdot",
                "matmul", "matrix_transpose", "cross", "tensordot"]
TOP_NAMES = ["cross", "vecdot", "matvec", "vecmat"]


def _params(f):
    return [(p.name, p.kind, repr(p.default)) for p in inspect.signature(f).parameters.values()]


@pytest.mark.parametrize("space,mine,name", [(np.linalg, la, n) for n in LINALG_NAMES] +
                         [(np, cnp, n) for n in TOP_NAMES])
def test_signatures_are_numpys(space, mine, name):
    if not hasattr(space, name):
        pytest.skip(f"this NumPy has no {name}")
    assert _params(getattr(mine, name)) == _params(getattr(space, name))
