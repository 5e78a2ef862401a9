"""Linear algebra: values match NumPy; derivatives match finite differences.

Every op goes through ``check_grad(order=2, modes=("fwd", "rev"))``: first
derivatives in both modes and all four second-order combinations.
Decompositions get well-conditioned inputs (SPD with distinct eigenvalues,
distinct singular values) and, for eigenvectors and singular vectors, test
functions that do not depend on the arbitrary sign of each vector.
"""
import functools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.core.errors import ChainruleError
from chainrule.explain.check import GradCheckError
from chainrule.ops.determinants import det_derivative

la = cnp.linalg


def rand(*shape, seed=0):
    return np.random.default_rng(seed + 17 * len(shape) + sum(shape)).standard_normal(shape)


def check(f, *args, order=2):
    return cr.check_grad(f, *args, order=order, modes=("fwd", "rev"))


def spd(n, batch=(), seed=0):
    """Symmetric positive definite with well-separated eigenvalues 1, 2, ..., n."""
    q = np.linalg.qr(rand(*batch, n, n, seed=seed))[0]
    return (q * np.arange(1.0, n + 1)[..., None, :]) @ np.swapaxes(q, -1, -2)


def wellcond(*shape, seed=0):
    """A matrix (or stack) with singular values 1, 1.5, 2, ...: far from rank deficiency."""
    m, n = shape[-2:]
    k = min(m, n)
    u = np.linalg.qr(rand(*shape[:-2], m, k, seed=seed))[0]
    v = np.linalg.qr(rand(*shape[:-2], n, k, seed=seed + 1))[0]
    return (u * (1.0 + 0.5 * np.arange(k))) @ np.swapaxes(v, -1, -2)


# ------------------------------------------------------------------ products
PRODUCTS = [
    ("matmul", cnp.matmul, np.matmul, [
        ((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)), ((5, 2, 3), (3,)),
        ((3,), (5, 3, 4)), ((5, 2, 3), (3, 4)), ((2, 3), (5, 3, 4)), ((5, 1, 2, 3), (4, 3, 2)),
        ((2, 2, 3), (1, 3, 4))]),
    ("dot", cnp.dot, np.dot, [
        ((), (2, 3)), ((2, 3), ()), ((3,), (3,)), ((2, 3), (3,)), ((2, 3, 4), (4,)),
        ((2, 3), (3, 4)), ((3,), (3, 4)), ((2, 3, 4), (4, 2)), ((2, 3, 4), (5, 4, 2)),
        ((3,), (2, 3, 4))]),
    ("vdot", cnp.vdot, np.vdot, [((4,), (4,)), ((2, 3), (3, 2))]),
    ("inner", cnp.inner, np.inner, [((), (2, 3)), ((3,), (3,)), ((2, 3), (4, 3)),
                                    ((2, 2, 3), (3,))]),
    ("outer", cnp.outer, np.outer, [((3,), (4,)), ((2, 3), (2, 2))]),
    ("kron", cnp.kron, np.kron, [((2, 3), (3, 2)), ((2,), (2, 3)), ((2, 2, 2), (3,)), ((), (2, 2))]),
]
for _axes, _shapes in [(0, ((2,), (3, 2))), (1, ((2, 3), (3, 4))), (2, ((2, 3, 4), (3, 4, 2))),
                       (([0, 2], [1, 0]), ((3, 2, 4), (4, 3, 2))), (([-1], [0]), ((2, 3), (3,)))]:
    PRODUCTS.append((f"tensordot{_axes}", functools.partial(cnp.tensordot, axes=_axes),
                     functools.partial(np.tensordot, axes=_axes), [_shapes]))

CASES = [(name, f, g, sa, sb) for name, f, g, shapes in PRODUCTS for sa, sb in shapes]


@pytest.mark.parametrize("name,f,npf,sa,sb", CASES, ids=[f"{c[0]}-{c[3]}-{c[4]}" for c in CASES])
def test_products(name, f, npf, sa, sb):
    a, b = rand(*sa), rand(*sb, seed=1)
    np.testing.assert_allclose(np.asarray(f(cr.tensor(a), b).data), npf(a, b), rtol=1e-12)
    check(f, a, b)


EINSUMS = [
    ("ij,jk->ik", (2, 3), (3, 4)), ("ij,jk", (2, 3), (3, 4)), ("i,i", (3,), (3,)),
    ("i,j->ij", (2,), (3,)), ("ba,ac", (2, 3), (3, 2)), ("ij->", (2, 3)), ("ijk->kji", (2, 3, 4)),
    ("ii->i", (3, 3)), ("ii", (3, 3)), ("iij->j", (2, 2, 3)), ("ii,i->i", (3, 3), (3,)),
    ("ij,j->j", (2, 3), (3,)), ("...ij,...jk->...ik", (2, 1, 3, 4), (5, 4, 2)),
    ("...i,...i->...", (3, 4), (2, 3, 4)), ("...ii->...i", (2, 3, 3)), ("i...->...", (3, 2, 2)),
    ("...ij,jk", (2, 2, 3), (3, 2)), ("bij,bjk,bkl->bil", (2, 2, 3), (2, 3, 2), (2, 2, 2)),
    ("i,i,i->", (3,), (3,), (3,)),
]


@pytest.mark.parametrize("spec", EINSUMS, ids=[e[0] for e in EINSUMS])
def test_einsum(spec):
    sub, shapes = spec[0], spec[1:]
    xs = [rand(*s, seed=k) for k, s in enumerate(shapes)]
    got = cnp.einsum(sub, *[cr.tensor(x) for x in xs])
    np.testing.assert_allclose(np.asarray(got.data), np.einsum(sub, *xs), rtol=1e-12)
    check(lambda *ops: cnp.einsum(sub, *ops), *xs)


def test_einsum_optimize_and_third_order():
    a, b, c = rand(2, 3), rand(3, 4, seed=1), rand(4, seed=2)
    f = functools.partial(cnp.einsum, "ij,jk,k->i", optimize=True)
    np.testing.assert_allclose(f(a, b, c), np.einsum("ij,jk,k->i", a, b, c))
    check(f, a, b, c, order=3)


def test_multi_dot():
    xs = [rand(3,), rand(3, 4, seed=1), rand(4, 2, seed=2)]
    np.testing.assert_allclose(la.multi_dot(xs), np.linalg.multi_dot(xs))
    check(lambda a, b, c: la.multi_dot([a, b, c]), *xs)


# ------------------------------------------------------ hypothesis: batching
@settings(max_examples=12, deadline=None)
@given(hnp.mutually_broadcastable_shapes(signature="(m?,n),(n,p?)->(m?,p?)", max_dims=4,
                                         max_side=3))
def test_matmul_broadcast_shapes(shapes):
    sa, sb = shapes.input_shapes
    a, b = rand(*sa), rand(*sb, seed=1)
    got = cnp.matmul(cr.tensor(a), cr.tensor(b))
    np.testing.assert_allclose(got.data, np.matmul(a, b), rtol=1e-12)
    assert got.shape == shapes.result_shape
    check(cnp.matmul, a, b)


@settings(max_examples=10, deadline=None)
@given(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3),
       st.sampled_from(["...ij,...jk->...ik", "...ij,...kj", "...ji,...jk->...ki"]))
def test_einsum_broadcast_shapes(shapes, sub):
    sa, sb = shapes.input_shapes
    core = {"...ij,...jk->...ik": ((2, 3), (3, 2)), "...ij,...kj": ((2, 3), (2, 3)),
            "...ji,...jk->...ki": ((3, 2), (3, 2))}[sub]
    a, b = rand(*sa, *core[0]), rand(*sb, *core[1], seed=1)
    np.testing.assert_allclose(cnp.einsum(sub, cr.tensor(a), b).data, np.einsum(sub, a, b),
                               rtol=1e-12)
    check(lambda x, y: cnp.einsum(sub, x, y), a, b)


# ----------------------------------------------------------- decompositions
def test_inv():
    for a in (wellcond(3, 3), wellcond(2, 3, 3)):
        np.testing.assert_allclose(la.inv(cr.tensor(a)).data, np.linalg.inv(a))
        check(la.inv, a)


# ------------------------------------------ det: exact at and near singular matrices
def _cofactors(a):
    """The cofactor matrix from minors (an oracle independent of chainrule's SVD route)."""
    n = a.shape[-1]
    out = np.empty_like(a)
    for i in range(n):
        for j in range(n):
            minor = np.delete(np.delete(a, i, axis=-2), j, axis=-1)
            out[..., i, j] = (-1) ** (i + j) * (np.linalg.det(minor) if n > 1 else 1.0)
    return out


@st.composite
def matrices_with_rank_defects(draw):
    """(..., n, n) stacks with repeated and zero singular values, or exactly singular entries."""
    n = draw(st.integers(1, 4))
    batch = draw(st.sampled_from([(), (2,)]))
    seed = draw(st.integers(0, 2**16))
    r = np.random.default_rng(seed)
    kind = draw(st.sampled_from(["repeated", "low rank", "zero", "generic", "integer"]))
    u = np.linalg.qr(r.standard_normal(batch + (n, n)))[0]
    v = np.linalg.qr(r.standard_normal(batch + (n, n)))[0]
    if kind == "integer":         # exactly singular in floating point: rows that repeat
        a = r.integers(-2, 3, batch + (n, n)).astype(float)
        if n > 1:
            a[..., -1, :] = a[..., 0, :]
        return a
    if kind == "generic":
        s = r.uniform(0.5, 2.0, n)
    elif kind == "repeated":
        s = np.full(n, r.uniform(0.5, 2.0))
        s[: n // 2] = 0.0 if draw(st.booleans()) else s[0]
    elif kind == "low rank":
        s = np.where(np.arange(n) < draw(st.integers(0, n - 1)), r.uniform(0.5, 2.0, n), 0.0)
    else:
        s = np.zeros(n)
    return (u * s[..., None, :]) @ np.swapaxes(v, -1, -2)


@settings(max_examples=30, deadline=None)
@given(matrices_with_rank_defects())
def test_det_is_exact_at_and_near_singular_matrices(a):
    got = la.det(cr.tensor(a))
    np.testing.assert_allclose(got.data, np.linalg.det(a), atol=1e-12)
    g = cr.grad(lambda m: cnp.sum(la.det(m)))(a)
    np.testing.assert_allclose(g, _cofactors(a), atol=1e-12)
    np.testing.assert_allclose(la.adjugate(a) @ a, np.linalg.det(a)[..., None, None] *
                               np.eye(a.shape[-1]), atol=1e-12)
    check(lambda m: la.det(m), a)                     # both modes, second order
    if a.ndim == 2 and a.shape[-1] <= 3:
        check(lambda m: la.det(m), a, order=3)


def test_det_examples_from_the_issue():
    a = np.array([[1.0, 2.0], [2.0, 4.0]])
    np.testing.assert_allclose(cr.grad(la.det)(a), [[4.0, -2.0], [-2.0, 1.0]], atol=1e-14)
    _, t = cr.jvp(la.det, (a,), (np.eye(2),))
    assert t == pytest.approx(5.0)                    # tr(adj(A)) = 4 + 1
    r = np.random.default_rng(0)
    for _ in range(5):                                # det(v vᵀ) = 0 for every 2×1 v
        v, d = r.standard_normal((2, 1)), r.standard_normal((2, 1))
        h = cr.hvp(lambda w: la.det(w @ w.T), (v,), (d,))
        np.testing.assert_allclose(h, 0.0, atol=1e-12)
    # the Hessian of det at 0 (2×2): det = ad − bc
    h = cr.hessian(la.det)(np.zeros((2, 2))).reshape(4, 4)
    np.testing.assert_array_equal(h, np.rot90(np.diag([1.0, -1.0, -1.0, 1.0])))


def test_det_higher_orders_vanish_and_large_ones_refuse_clearly():
    a = rand(2, 2)
    d3 = cr.jacobian(cr.hessian(la.det))(a)          # det of 2×2 is quadratic
    np.testing.assert_array_equal(d3, np.zeros((2, 2) * 3))
    big = np.eye(40)
    with pytest.raises(ChainruleError, match="order 6"):
        det_derivative(big, *[big] * 5)


def test_slogdet_at_a_singular_matrix():
    a = np.array([[1.0, 2.0], [2.0, 4.0]])
    sign, logabs = la.slogdet(cr.tensor(a, requires_grad=True))
    assert sign.data == 0.0 and logabs.data == -np.inf          # as NumPy
    for f in (lambda m: la.slogdet(m)[1], ):
        with pytest.raises(np.linalg.LinAlgError, match="singular") as e:
            cr.grad(f)(a)
        assert isinstance(e.value, ChainruleError) and "det(a)" in str(e.value)
        with pytest.raises(ChainruleError, match="singular"):
            cr.jvp(f, (a,), (np.eye(2),))


@pytest.mark.parametrize("sa,sb", [((3, 3), (3,)), ((3, 3), (3, 2)), ((2, 3, 3), (2, 3, 2)),
                                   ((2, 3, 3), (3,)), ((3, 3), (2, 3, 2))])
def test_solve(sa, sb):
    a, b = wellcond(*sa), rand(*sb, seed=1)
    np.testing.assert_allclose(la.solve(cr.tensor(a), b).data, np.linalg.solve(a, b))
    check(la.solve, a, b)


def test_det_and_slogdet():
    a = wellcond(3, 3)
    a[0] *= -1                                    # negative determinant
    for x in (a, wellcond(2, 3, 3)):
        np.testing.assert_allclose(la.det(cr.tensor(x)).data, np.linalg.det(x))
        check(la.det, x)
        check(lambda m: la.slogdet(m)[1], x)
    t = cr.tensor(a, requires_grad=True)
    sign, logabs = la.slogdet(t)
    assert sign.data == -1.0 and not sign.requires_grad      # the sign has no gradient
    np.testing.assert_allclose(logabs.data, np.linalg.slogdet(a)[1])
    logabs.backward()
    np.testing.assert_allclose(t.grad, np.linalg.inv(a).T, rtol=1e-10)   # d log|det A| = A⁻ᵀ


def test_cholesky():
    for a in (spd(3), spd(3, batch=(2,), seed=3)):
        np.testing.assert_allclose(la.cholesky(cr.tensor(a)).data, np.linalg.cholesky(a))
        check(la.cholesky, a)
    a = spd(3)
    np.testing.assert_allclose(la.cholesky(cr.tensor(a), upper=True).data,
                               np.linalg.cholesky(a).T)
    check(lambda m: la.cholesky(m, upper=True), a)


def test_cholesky_logdet_gradient_matches_slogdet():
    """2·Σ log diag(L) = log det A.  Like NumPy, cholesky reads only A's lower triangle, so
    the gradient is log det's A⁻¹ folded onto it: 2·A⁻¹ below the diagonal, A⁻¹ on it."""
    a = spd(4, seed=5)
    g = cr.grad(lambda m: 2 * cnp.sum(cnp.log(cnp.einsum("ii->i", la.cholesky(m)))))(a)
    inv = np.linalg.inv(a)
    np.testing.assert_allclose(g, np.tril(2 * inv, -1) + np.diag(np.diag(inv)), rtol=1e-10)
    gu = cr.grad(lambda m: 2 * cnp.sum(cnp.log(cnp.einsum("ii->i", la.cholesky(m, upper=True)))))(a)
    np.testing.assert_allclose(gu, np.triu(2 * inv, 1) + np.diag(np.diag(inv)), rtol=1e-10)


def test_eigh_and_cholesky_read_one_triangle_like_numpy():
    rng = np.random.default_rng(3)
    a = spd(4, seed=6) + np.triu(rng.standard_normal((4, 4)), 1)    # not symmetric
    for uplo in ("L", "U"):
        w, v = la.eigh(cr.tensor(a), UPLO=uplo)
        np.testing.assert_allclose(w.data, np.linalg.eigh(a, UPLO=uplo)[0])
        np.testing.assert_allclose(la.eigvalsh(cr.tensor(a), UPLO=uplo).data,
                                   np.linalg.eigvalsh(a, UPLO=uplo))
        check(lambda m: la.eigvalsh(m, UPLO=uplo) * rand(4), a)   # any direction, not only symmetric
    np.testing.assert_allclose(la.cholesky(cr.tensor(spd(4) + np.triu(np.ones((4, 4)), 1))).data,
                               np.linalg.cholesky(spd(4)))


def test_eigh():
    c1, c2 = rand(4), rand(4, 4, seed=1)
    for a in (spd(4), spd(4, batch=(2,), seed=2)):
        w, v = la.eigh(cr.tensor(a))
        w0, v0 = np.linalg.eigh(a)
        np.testing.assert_allclose(w.data, w0)
        np.testing.assert_allclose(np.abs(v.data), np.abs(v0))
        check(lambda m: la.eigh(m)[0] * c1, a)
        check(lambda m: cnp.sum(la.eigh(m)[1] ** 2 * c2), a)                # sign-free
        check(lambda m: (lambda w, v: cnp.sum(w * c1) + cnp.sum(v * v * c2))(*la.eigh(m)), a)
    check(la.eigvalsh, spd(3))


@pytest.mark.parametrize("shape", [(4, 3), (3, 4), (3, 3), (2, 4, 3)])
def test_svd(shape):
    a = wellcond(*shape)
    m, n = shape[-2:]
    u, s, vh = la.svd(cr.tensor(a), full_matrices=False)
    u0, s0, vh0 = np.linalg.svd(a, full_matrices=False)
    np.testing.assert_allclose(s.data, s0)
    np.testing.assert_allclose(np.abs(u.data), np.abs(u0), atol=1e-12)
    cu, cv = rand(m, min(m, n), seed=1), rand(min(m, n), n, seed=2)
    check(lambda x: la.svd(x, compute_uv=False), a)
    check(lambda x: cnp.sum(la.svd(x, full_matrices=False)[0] ** 2 * cu), a)
    check(lambda x: cnp.sum(la.svd(x, full_matrices=False)[2] ** 2 * cv), a)
    # U·diag(s)·Vh uses all three outputs; their contributions must add up to the identity map
    check(lambda x: (lambda u, s, vh: cnp.matmul(u * s[..., None, :], vh))(
        *la.svd(x, full_matrices=False)), a)


@pytest.mark.parametrize("shape", [(4, 3), (3, 4), (3, 3)])
def test_pinv(shape):
    a = wellcond(*shape)
    np.testing.assert_allclose(la.pinv(cr.tensor(a)).data, np.linalg.pinv(a), atol=1e-12)
    check(la.pinv, a)


@pytest.mark.parametrize("shape", [(4, 3), (3, 3), (3, 4), (2, 4, 3)])
def test_qr(shape):
    a = wellcond(*shape)
    q, r = la.qr(cr.tensor(a))
    q0, r0 = np.linalg.qr(a)
    np.testing.assert_allclose(q.data, q0)
    np.testing.assert_allclose(r.data, r0)
    cq, cr_ = rand(*q0.shape, seed=1), rand(*r0.shape, seed=2)
    check(lambda x: la.qr(x)[0] * cq, a)
    check(lambda x: la.qr(x)[1] * cr_, a)
    check(lambda x: cnp.sum(la.qr(x)[0] * cq) + cnp.sum(la.qr(x, mode="r") * cr_), a)


# -------------------------------------------------------------------- dtypes
FLOAT32 = [
    (cnp.matmul, ((2, 3), (3, 2))), (cnp.dot, ((2, 3), (3,))), (cnp.vdot, ((3,), (3,))),
    (cnp.inner, ((2, 3), (3,))), (cnp.outer, ((2,), (3,))), (cnp.kron, ((2,), (2, 2))),
    (functools.partial(cnp.tensordot, axes=1), ((2, 3), (3, 2))),
    (functools.partial(cnp.einsum, "ii,ij->j"), ((3, 3), (3, 2))),
    (la.inv, "w"), (la.det, "w"), (lambda a: la.slogdet(a)[1], "w"), (la.cholesky, "s"),
    (lambda a: la.eigh(a)[0], "s"), (lambda a: la.eigh(a)[1] ** 2, "s"),
    (lambda a: la.svd(a, full_matrices=False)[0] ** 2, "w"), (la.pinv, "w"),
    (lambda a: la.qr(a)[0], "w"), (lambda a: la.solve(a, np.ones(3, np.float32)), "w"),
]


@pytest.mark.parametrize("f,shapes", FLOAT32, ids=range(len(FLOAT32)))
def test_float32_stays_float32(f, shapes):
    if shapes == "w":
        args = (wellcond(3, 3).astype(np.float32),)
    elif shapes == "s":
        args = (spd(3).astype(np.float32),)
    else:
        args = tuple(rand(*s, seed=k).astype(np.float32) for k, s in enumerate(shapes))
    out = f(*args)
    assert out.dtype == np.float32
    grads = cr.grad(lambda *x: cnp.sum(f(*x) * 1.5), argnums=tuple(range(len(args))))(*args)
    assert all(g.dtype == np.float32 for g in grads)
    _, tangent = cr.jvp(f, args, tuple(np.ones_like(a) for a in args))
    assert tangent.dtype == np.float32


# -------------------------------------------------------------------- errors
@pytest.mark.parametrize("call,needle", [
    (lambda: cnp.matmul(cr.tensor(np.ones((2, 3))), np.ones((4, 2))), "(2, 3)"),
    (lambda: cnp.dot(np.ones((2, 3)), cr.tensor(np.ones((2, 3)))), "(2, 3)"),
    (lambda: la.solve(cr.tensor(np.eye(3)), np.ones((4, 2))), "(4, 2)"),
    (lambda: la.solve(cr.tensor(np.ones((2, 3))), np.ones(3)), "square"),
    (lambda: la.inv(cr.tensor(np.ones((2, 3)))), "(2, 3)"),
    (lambda: cnp.einsum("ij,jk", np.ones((2, 3)), cr.tensor(np.ones((2, 2)))), "einsum"),
    (lambda: la.svd(cr.tensor(np.ones((2, 3)), requires_grad=True)), "full_matrices=False"),
])
def test_clear_errors(call, needle):
    with pytest.raises(ChainruleError) as e:
        call()
    assert needle in str(e.value) and "Fix:" in str(e.value)


def test_plain_arrays_are_numpy():
    a = spd(3)
    assert isinstance(cnp.matmul(a, a), np.ndarray)
    w, v = la.eigh(a)
    np.testing.assert_allclose(w, np.linalg.eigh(a)[0])
    assert la.svd(a)[0].shape == (3, 3)
    assert isinstance(la.qr(a)[1], np.ndarray)


def test_first_order_rules_get_plain_arrays():
    """A first-order backward hands the rules plain arrays: they run at NumPy speed."""
    seen = []
    rule = cnp.matmul.vjp

    def spy(i, g, ans, a, b):
        seen.append(type(g))
        return rule(i, g, ans, a, b)
    cnp.matmul.vjp = spy
    try:
        cr.grad(lambda a, b: cnp.sum(cnp.matmul(a, b)), argnums=(0, 1))(rand(2, 3), rand(3, 4))
    finally:
        cnp.matmul.vjp = rule
    assert seen and all(t is np.ndarray for t in seen)


def test_wrong_rule_is_caught():
    """The checks above can fail: a matmul with a transposed-wrong gradient is rejected."""
    rule = cnp.matmul.vjp
    cnp.matmul.vjp = lambda i, g, ans, a, b: rule(i, g, ans, a, b) * 1.01
    try:
        with pytest.raises(GradCheckError):
            check(cnp.matmul, rand(3, 3), rand(3, 3, seed=1), order=1)
    finally:
        cnp.matmul.vjp = rule


# -------------------------------------- hypothesis: every product, size 0 included
def _product_case(data):
    """(name, chainrule function, NumPy function, shape of a, shape of b), sizes 0..3."""
    side = st.integers(0, 3)
    kind = data.draw(st.sampled_from(["matmul", "dot", "einsum", "tensordot", "inner", "outer"]))
    if kind == "matmul":
        shapes = data.draw(hnp.mutually_broadcastable_shapes(
            signature="(m?,n),(n,p?)->(m?,p?)", max_dims=4, min_side=0, max_side=3))
        return kind, cnp.matmul, np.matmul, *shapes.input_shapes
    if kind == "einsum":
        batch = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=2,
                                                            min_side=0, max_side=3))
        m, n, p = data.draw(side), data.draw(side), data.draw(side)
        sub = "...ij,...jk->...ik"
        return (kind, functools.partial(cnp.einsum, sub), functools.partial(np.einsum, sub),
                batch.input_shapes[0] + (m, n), batch.input_shapes[1] + (n, p))
    if kind == "outer":
        sa = data.draw(hnp.array_shapes(min_dims=0, max_dims=2, min_side=0, max_side=3))
        sb = data.draw(hnp.array_shapes(min_dims=0, max_dims=2, min_side=0, max_side=3))
        return kind, cnp.outer, np.outer, sa, sb
    n = data.draw(side)
    lead_a = data.draw(hnp.array_shapes(min_dims=0, max_dims=2, min_side=0, max_side=3))
    lead_b = data.draw(hnp.array_shapes(min_dims=0, max_dims=2, min_side=0, max_side=3))
    if kind == "inner":
        return kind, cnp.inner, np.inner, lead_a + (n,), lead_b + (n,)
    if kind == "dot":
        if data.draw(st.booleans()):            # (..., n)·(K..., n, m)
            return kind, cnp.dot, np.dot, lead_a + (n,), lead_b[:1] + (n, data.draw(side))
        return kind, cnp.dot, np.dot, lead_a + (n,), (n,)
    k = data.draw(st.integers(0, 2))             # tensordot over k trailing/leading axes
    core = tuple(data.draw(side) for _ in range(k))
    return (kind, functools.partial(cnp.tensordot, axes=k),
            functools.partial(np.tensordot, axes=k), lead_a + core, core + lead_b)


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_products_over_drawn_shapes_with_size_zero(data):
    name, f, npf, sa, sb = _product_case(data)
    a, b = rand(*sa), rand(*sb, seed=1)
    want = npf(a, b)
    got = f(cr.tensor(a), cr.tensor(b))
    assert got.shape == want.shape
    np.testing.assert_allclose(got.data, want, rtol=1e-12, atol=1e-12)
    w = rand(*want.shape, seed=2)
    ga, gb = cr.grad(lambda x, y: cnp.sum(f(x, y) * w), argnums=(0, 1))(a, b)
    assert ga.shape == sa and gb.shape == sb
    _, t = cr.jvp(f, (a, b), (np.ones(sa), np.ones(sb)))
    assert t.shape == want.shape
    check(f, a, b)
