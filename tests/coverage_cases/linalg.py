"""Cases for the linalg family: products, decompositions, solvers, norms, vector products.

Matrices that a derivative needs invertible, of full rank or with distinct singular
values or eigenvalues are built from random orthogonal factors with well-separated
spectra (``_wellcond``, ``_spd``); functions of eigen- or singular vectors are made
sign-free (squares) since each vector's sign is arbitrary.
"""
import numpy as np
from hypothesis import strategies as st

import chainrule.numpy as cnp

from ._api import case, floats, shapes

la = cnp.linalg



def _rng(draw):
    return np.random.default_rng(draw(st.integers(0, 2 ** 31 - 1)))


def _orth(rng, *shape):
    return np.linalg.qr(rng.standard_normal(shape))[0]


def _wellcond(draw, *shape):
    """Singular values 1, 1.5, 2, ... (in random order of magnitude), random singular vectors."""
    rng = _rng(draw)
    m, n = shape[-2:]
    k = min(m, n)
    u, v = _orth(rng, *shape[:-2], m, k), _orth(rng, *shape[:-2], n, k)
    s = 1.0 + 0.5 * rng.permutation(k)
    return (u * s) @ np.swapaxes(v, -1, -2)


def _spd(draw, n, batch=()):
    """Symmetric positive definite, eigenvalues 1, 2, ..., n."""
    q = _orth(_rng(draw), *batch, n, n)
    return (q * np.arange(1.0, n + 1)) @ np.swapaxes(q, -1, -2)


def _batch(draw, max_dims=1):
    return draw(shapes(0, max_dims, 1, 2))


def _side(draw, lo=1, hi=3):
    return draw(st.integers(lo, hi))


# ------------------------------------------------------------------ products
@case("np.matmul", "np.linalg.matmul")
def _matmul(draw):
    m, k, n = _side(draw), _side(draw), _side(draw)
    ba, bb = _batch(draw, 2), _batch(draw, 1)
    sa = draw(st.sampled_from([(k,), ba + (m, k)]))
    sb = draw(st.sampled_from([(k,), bb + (k, n)]))
    f = cnp.matmul if draw(st.booleans()) else la.matmul
    return f, (floats(draw, sa), floats(draw, sb))


@case("np.dot")
def _dot(draw):
    m, k, n = _side(draw), _side(draw), _side(draw)
    sa = draw(st.sampled_from([(), (k,), (m, k), (2, m, k)]))
    sb = draw(shapes(0, 2)) if sa == () else draw(st.sampled_from([(), (k,), (k, n), (2, k, n)]))
    return cnp.dot, (floats(draw, sa), floats(draw, sb))


@case("np.vdot")
def _vdot(draw):
    shape = draw(shapes(1, 2))
    return cnp.vdot, (floats(draw, shape), floats(draw, shape[::-1]))


@case("np.inner")
def _inner(draw):
    k = _side(draw)
    a, b = draw(shapes(0, 1)) + (k,), draw(shapes(0, 2)) + (k,)
    return cnp.inner, (floats(draw, a), floats(draw, b))


@case("np.outer")
def _outer(draw):
    return cnp.outer, (floats(draw, draw(shapes(1, 2))), floats(draw, draw(shapes(1, 2))))


@case("np.linalg.outer")
def _linalg_outer(draw):
    return la.outer, (floats(draw, (_side(draw),)), floats(draw, (_side(draw),)))


@case("np.kron")
def _kron(draw):
    return cnp.kron, (floats(draw, draw(shapes(0, 2))), floats(draw, draw(shapes(0, 2))))


@case("np.tensordot", "np.linalg.tensordot")
def _tensordot(draw):
    a, b = _side(draw), _side(draw)
    axes, sa, sb = draw(st.sampled_from([
        (0, (a,), (b, 2)), (1, (2, a), (a, b)), (2, (2, a, b), (a, b)),
        (([0, 2], [1, 0]), (a, 2, b), (b, a))]))
    args = (floats(draw, sa), floats(draw, sb))
    if draw(st.booleans()):
        return (lambda x, y: cnp.tensordot(x, y, axes)), args
    return (lambda x, y: la.tensordot(x, y, axes=axes)), args


@case("np.einsum")
def _einsum(draw):
    i, j, k = _side(draw), _side(draw), _side(draw)
    spec, sh = draw(st.sampled_from([
        ("ij,jk->ik", ((i, j), (j, k))), ("ii->i", ((i, i),)), ("i,j", ((i,), (j,))),
        ("...ij,...j->...i", ((2, i, j), (j,))), ("ij->", ((i, j),)),
        ("ij,jk,k->i", ((i, j), (j, k), (k,)))]))
    opt = draw(st.booleans())
    return (lambda *ops: cnp.einsum(spec, *ops, optimize=opt)), tuple(floats(draw, s) for s in sh)


@case("np.linalg.multi_dot")
def _multi_dot(draw):
    n = draw(st.integers(2, 5))
    dims = [_side(draw) for _ in range(n + 1)]
    shapes_ = [(dims[k], dims[k + 1]) for k in range(n)]
    if draw(st.booleans()):
        shapes_[0] = shapes_[0][1:]                     # a row vector first
    if draw(st.booleans()):
        shapes_[-1] = shapes_[-1][:1]                   # a column vector last
    return (lambda *xs: la.multi_dot(list(xs))), tuple(floats(draw, s) for s in shapes_)


# ---------------------------------------------------------- vector products
@case("np.cross")
def _cross(draw):
    na, nb = draw(st.sampled_from([(3, 3), (2, 3), (3, 2), (2, 2)]))
    batch = _batch(draw, 2)
    a = floats(draw, batch + (na,))
    b = floats(draw, batch[draw(st.integers(0, len(batch))):] + (nb,))
    axisa, axisb = draw(st.integers(0, a.ndim - 1)), draw(st.integers(0, b.ndim - 1))
    a, b = np.moveaxis(a, -1, axisa), np.moveaxis(b, -1, axisb)
    out_nd = max(a.ndim, b.ndim) if 3 in (na, nb) else 1
    axisc = draw(st.integers(-out_nd, out_nd - 1))
    if draw(st.booleans()) and axisa == axisb and 3 in (na, nb) and a.ndim == b.ndim:
        return (lambda x, y: cnp.cross(x, y, axis=axisa)), (a, b)
    return (lambda x, y: cnp.cross(x, y, axisa, axisb, axisc)), (a, b)


@case("np.linalg.cross")
def _linalg_cross(draw):
    batch = _batch(draw, 2)
    axis = draw(st.integers(-1 - len(batch), -1))
    a = np.moveaxis(floats(draw, batch + (3,)), -1, axis)
    return (lambda x, y: la.cross(x, y, axis=axis)), (a, floats(draw, a.shape))


def _vec_pair(draw):
    k = _side(draw, 1, 4)
    ba = _batch(draw, 2)
    bb = ba[draw(st.integers(0, len(ba))):]
    return floats(draw, ba + (k,)), floats(draw, bb + (k,))


@case("np.vecdot", "np.linalg.vecdot")
def _vecdot(draw):
    a, b = _vec_pair(draw)
    style = draw(st.sampled_from(["plain", "axis", "keepdims", "axes", "linalg"]))
    if style == "linalg":
        return la.vecdot, (a, b)
    if style == "plain":
        return cnp.vecdot, (a, b)
    a, b = np.moveaxis(a, -1, 0), np.moveaxis(b, -1, 0)     # the core axis first
    if style == "axes":
        return (lambda x, y: cnp.vecdot(x, y, axes=[(0,), (0,)])), (a, b)
    keep = style == "keepdims"
    return (lambda x, y: cnp.vecdot(x, y, axis=0, keepdims=keep)), (a, b)


@case("np.matvec")
def _matvec(draw):
    m, n = _side(draw), _side(draw)
    a, v = floats(draw, _batch(draw, 2) + (m, n)), floats(draw, _batch(draw, 1) + (n,))
    if draw(st.booleans()):
        return cnp.matvec, (a, v)
    a = np.moveaxis(a, (-2, -1), (0, 1))
    return (lambda x, y: cnp.matvec(x, y, axes=[(0, 1), (-1,), (0,)])), (a, v)


@case("np.vecmat")
def _vecmat(draw):
    m, n = _side(draw), _side(draw)
    a, b = _batch(draw, 1) + (n,), _batch(draw, 2) + (n, m)
    return cnp.vecmat, (floats(draw, a), floats(draw, b))


# ------------------------------------------------------------ array API bits
@case("np.linalg.diagonal")
def _linalg_diagonal(draw):
    shape = draw(shapes(2, 3))
    offset = draw(st.integers(-shape[-2] + 1, shape[-1] - 1))
    return (lambda x: la.diagonal(x, offset=offset)), (floats(draw, shape),)


@case("np.linalg.trace")
def _linalg_trace(draw):
    shape = draw(shapes(2, 3))
    offset = draw(st.integers(-shape[-2] + 1, shape[-1] - 1))
    return (lambda x: la.trace(x, offset=offset)), (floats(draw, shape),)


@case("np.linalg.matrix_transpose")
def _matrix_transpose(draw):
    return la.matrix_transpose, (floats(draw, draw(shapes(2, 4))),)


# -------------------------------------------------------------------- norms
_VEC_ORDS = [None, 2, 1, 3, 0.5, np.inf, -np.inf, -1]


@case("np.linalg.norm")
def _norm(draw):
    shape = draw(shapes(1, 3))
    kind = draw(st.sampled_from(["all", "vec", "mat"] if len(shape) >= 2 else ["all", "vec"]))
    keep = draw(st.booleans())
    if kind == "all":
        return (lambda x: la.norm(x, keepdims=keep)), (floats(draw, shape),)
    if kind == "vec":
        ord_ = draw(st.sampled_from(_VEC_ORDS))
        axis = draw(st.integers(-len(shape), len(shape) - 1))
        return (lambda x: la.norm(x, ord_, axis, keep)), (floats(draw, shape),)
    ord_ = draw(st.sampled_from([None, "fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf]))
    x = _wellcond(draw, *shape[:-2], shape[-2] + 1, shape[-1] + 1)
    return (lambda a: la.norm(a, ord_, (-2, -1), keep)), (x,)


@case("np.linalg.vector_norm")
def _vector_norm(draw):
    shape = draw(shapes(0, 3))
    ord_ = draw(st.sampled_from([2, 1, 3, np.inf, -np.inf, 0.5]))
    nd = len(shape)
    axis = draw(st.sampled_from([None] + list(range(-nd, nd)) +
                                ([(0, nd - 1), (nd - 1, 0)] if nd >= 2 else [])))
    keep = draw(st.booleans())
    return (lambda x: la.vector_norm(x, axis=axis, keepdims=keep, ord=ord_)), (floats(draw, shape),)


@case("np.linalg.matrix_norm")
def _matrix_norm(draw):
    m, n = _side(draw), _side(draw)
    ord_ = draw(st.sampled_from(["fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf]))
    keep = draw(st.booleans())
    x = _wellcond(draw, *_batch(draw), m, n)
    return (lambda a: la.matrix_norm(a, keepdims=keep, ord=ord_)), (x,)


@case("np.linalg.cond")
def _cond(draw):
    p = draw(st.sampled_from([None, 2, -2, 1, -1, np.inf, -np.inf, "fro", "nuc"]))
    n = _side(draw, 2, 3)
    m = n if p not in (None, 2, -2) else _side(draw, 2, 3)
    return (lambda a: la.cond(a, p)), (_wellcond(draw, *_batch(draw), m, n),)


# ------------------------------------------------------------ decompositions
@case("np.linalg.inv")
def _inv(draw):
    n = _side(draw)
    return la.inv, (_wellcond(draw, *_batch(draw), n, n),)


@case("np.linalg.det")
def _det(draw):
    n = _side(draw)
    return la.det, (_wellcond(draw, *_batch(draw), n, n),)


@case("np.linalg.slogdet")
def _slogdet(draw):
    n = _side(draw)
    return (lambda a: la.slogdet(a)[1]), (_wellcond(draw, *_batch(draw), n, n),)


@case("np.linalg.solve")
def _solve(draw):
    n, k = _side(draw), _side(draw)
    batch = _batch(draw)
    b = floats(draw, draw(st.sampled_from([(n,), batch + (n, k)])))
    return la.solve, (_wellcond(draw, *batch, n, n), b)


@case("np.linalg.cholesky")
def _cholesky(draw):
    upper = draw(st.booleans())
    return (lambda a: la.cholesky(a, upper=upper)), (_spd(draw, _side(draw), _batch(draw)),)


@case("np.linalg.eigh", "np.linalg.eigvalsh")
def _eigh(draw):
    uplo = draw(st.sampled_from(["L", "U"]))
    a = _spd(draw, _side(draw), _batch(draw))
    if draw(st.booleans()):
        return (lambda x: la.eigvalsh(x, UPLO=uplo)), (a,)
    return (lambda x: (lambda w, v: (w, v * v))(*la.eigh(x, UPLO=uplo))), (a,)


@case("np.linalg.svd", "np.linalg.svdvals")
def _svd(draw):
    m, n = _side(draw), _side(draw)
    a = _wellcond(draw, *_batch(draw), m, n)
    which = draw(st.sampled_from(["s", "svdvals", "uv"]))
    if which == "s":
        return (lambda x: la.svd(x, compute_uv=False)), (a,)
    if which == "svdvals":
        return la.svdvals, (a,)
    return (lambda x: (lambda u, s, vh: (u * u, s, vh * vh))(*la.svd(x, full_matrices=False))), (a,)


@case("np.linalg.pinv")
def _pinv(draw):
    return la.pinv, (_wellcond(draw, _side(draw), _side(draw)),)


@case("np.linalg.qr")
def _qr(draw):
    a = _wellcond(draw, *_batch(draw), _side(draw), _side(draw))
    if draw(st.booleans()):
        return (lambda x: la.qr(x, mode="r")), (a,)
    return (lambda x: tuple(la.qr(x))), (a,)


# ------------------------------------------------------------------ solvers
@case("np.linalg.lstsq")
def _lstsq(draw):
    m, n, k = _side(draw, 1, 4), _side(draw, 1, 4), _side(draw)
    a = _wellcond(draw, m, n)
    b = floats(draw, draw(st.sampled_from([(m,), (m, k)])))
    part = draw(st.sampled_from(["x", "residuals", "s"] if m > n else ["x", "s"]))
    if part == "s":                                  # a function of a alone
        return (lambda x: la.lstsq(x, b)[3]), (a,)
    return (lambda x, y: la.lstsq(x, y)[0 if part == "x" else 1]), (a, b)


@case("np.linalg.matrix_power")
def _matrix_power(draw):
    n = draw(st.sampled_from([1, 2, 3, 4, 5, 6, -1, -2, -3]))
    k = _side(draw)
    a = _wellcond(draw, *_batch(draw), k, k) / 1.5
    return (lambda x: la.matrix_power(x, n)), (a,)


@case("np.linalg.tensorinv")
def _tensorinv(draw):
    left = draw(st.sampled_from([(2, 3), (6,), (3, 2)]))
    right = draw(st.sampled_from([(6,), (2, 3), (3, 2)]))
    ind = len(left)
    a = _wellcond(draw, 6, 6).reshape(left + right)
    return (lambda x: la.tensorinv(x, ind)), (a,)


@case("np.linalg.tensorsolve")
def _tensorsolve(draw):
    xshape = draw(st.sampled_from([(2, 3), (6,), (3, 2)]))
    bshape = draw(st.sampled_from([(6,), (2, 3)]))
    a = _wellcond(draw, 6, 6).reshape(bshape + xshape)
    b = floats(draw, bshape)
    if draw(st.booleans()):          # x's first axis moved to the front; axes= moves it back
        a = np.moveaxis(a, len(bshape), 0)
        return (lambda x, y: la.tensorsolve(x, y, axes=(0,))), (a, b)
    return la.tensorsolve, (a, b)
