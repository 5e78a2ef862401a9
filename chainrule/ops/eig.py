"""Eigenvalues and eigenvectors of general square matrices (linalg.eig, eigvals), and np.roots.

The eigenvalues of a real matrix may be complex, so these are complex functions even of
real input.  With A V = V diag(w) and M = V⁻¹·dA·V:

    dw = diag(M),      dV = V (F ∘ M) + V diag(α),    F[i, j] = 1/(w_j − w_i) (0 on the diagonal)

where α keeps NumPy's normalisation of each eigenvector: unit length, and its entry of
largest modulus (index k) real.  That gives the vectors themselves a derivative, not only
phase-invariant functions of them.  Reverse rules are the transposes in JAX's convention
(ops/complex.py).  The derivative exists only for distinct eigenvalues: a repeated one
raises a clear error.  ``roots`` is eigvals of the companion matrix, as NumPy computes it.
"""
from collections import namedtuple

import numpy as np

from ..core.errors import ChainruleError
from ..core.tensor import Tensor
from .linalg import matmul, solve  # noqa: I001 (before decompositions, which linalg loads)
from .complex import imag, is_complex, real
from .construction import concatenate
from .decompositions import _T, _c, _diag, _gaps, _plain, _row, _square, _square_op
from .elementwise import divide, negative
from .indexing import getitem, take_along_axis
from .reductions import sum as _sum
from .shape import reshape

EigResult = namedtuple("EigResult", "eigenvalues eigenvectors")


def _val(x):
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def _distinct(w, op):
    """The derivative needs distinct eigenvalues: refuse (numerically) repeated ones."""
    w = np.asarray(w)
    n = w.shape[-1]
    if n < 2:
        return
    gap = np.abs(w[..., :, None] - w[..., None, :]) + np.diag(np.full(n, np.inf))
    scale = np.maximum(1.0, np.max(np.abs(w), axis=-1))
    if np.any(np.min(gap, axis=(-2, -1)) <= 1e3 * n * np.finfo(w.dtype).eps * scale):
        raise ChainruleError(
            f"linalg.{op}", message="repeated eigenvalues have no derivative",
            expected="a matrix with distinct eigenvalues",
            actual=f"eigenvalues {np.round(w, 12).tolist()}",
            fix="perturb the matrix, or use linalg.eigh (symmetric/Hermitian matrices) for "
                "functions of the eigenvalues only")


def _vectors(w, a, op):
    """eig's V with its columns in the order of ``w`` (eigvals may order them differently
    from eig), after checking that the eigenvalues are distinct."""
    w_eig = np.linalg.eig(_val(a))[0]
    _distinct(w_eig, op)
    v = _eig_v(a)
    perm = np.argmin(np.abs(_val(w)[..., :, None] - w_eig[..., None, :]), axis=-1)
    if np.array_equal(perm, np.broadcast_to(np.arange(perm.shape[-1]), perm.shape)):
        return v
    return take_along_axis(v, np.broadcast_to(perm[..., None, :], _val(v).shape), -1)


def _eigenvalues(a):
    w = _eig_w(a)
    _distinct(_val(w), "eig")
    return w


def _w_vjp(g, w, a):
    v = _vectors(w, a, "eig")
    return solve(_T(v), _T(v * _row(g)))                  # V⁻ᵀ·diag(g)·Vᵀ


def _w_jvp(t, w, a):
    v = _vectors(w, a, "eig")
    return _diag(solve(v, matmul(t, v)))                  # diag(V⁻¹·dA·V)


def _largest(v):
    """One-hot mask of each column's entry of largest modulus (NumPy makes it real)."""
    vv = np.abs(_val(v))
    return np.argmax(vv, axis=-2)[..., None, :] == np.arange(vv.shape[-2])[:, None]


def _v_jvp(t, v, a):
    w = _eigenvalues(a)
    d = matmul(v, _gaps(w) * solve(v, matmul(t, v)))
    if not is_complex(d):
        return d - v * _row(_sum(v * d, axis=-2))         # keeps ‖vᵢ‖ = 1
    k = _largest(v)
    vk, dk = _sum(real(v) * k, axis=-2), _sum(d * k, axis=-2)
    alpha = -real(_sum(_c(v) * d, axis=-2)) - 1j * imag(dk) / vk
    return d + v * _row(alpha)


def _v_vjp(g, v, a):
    w = _eigenvalues(a)
    c = _sum(g * v, axis=-2)
    if is_complex(c) or is_complex(v):
        k = _largest(v)
        vk = _sum(real(v) * k, axis=-2)
        gd = g - _c(v) * _row(real(c)) - 1j * (k * _row(imag(c) / vk))
    else:
        gd = g - v * _row(c)
    x = _gaps(w) * matmul(_T(v), gd)
    return solve(_T(v), matmul(x, _T(v)))                 # V⁻ᵀ·(F ∘ Vᵀ·Ḡ)·Vᵀ


_eig_w = _square_op("eig_eigenvalues", lambda a: np.linalg.eig(a)[0])
_eig_v = _square_op("eig_eigenvectors", lambda a: np.linalg.eig(a)[1])
_eigvals = _square_op("eigvals", np.linalg.eigvals)
for _op in (_eig_w, _eigvals):
    _op.vjp = lambda i, g, ans, a: _w_vjp(g, ans, a)
    _op.jvp = lambda i, t, ans, a: _w_jvp(t, ans, a)
    _op.formula = {0: "V⁻ᵀ·diag(g)·Vᵀ"}
_eig_v.vjp = lambda i, g, ans, a: _v_vjp(g, ans, a)
_eig_v.jvp = lambda i, t, ans, a: _v_jvp(t, ans, a)
_eig_v.formula = {0: "V⁻ᵀ·(F∘VᵀḠ′)·Vᵀ, Ḡ′ = Ḡ less its normalisation part"}


def eig(a):
    """(w, V) with A V = V diag(w); differentiable for distinct eigenvalues."""
    if _plain(a):
        return np.linalg.eig(a)
    _square("eig", a)
    return EigResult(_eig_w(a), _eig_v(a))


def eigvals(a):
    """The eigenvalues of a general square matrix; differentiable where they are distinct."""
    if _plain(a):
        return np.linalg.eigvals(a)
    return _eigvals(a)


def roots(p):
    """``np.roots``: eigvals of the companion matrix; differentiable for distinct roots."""
    if not isinstance(p, Tensor):
        return np.roots(p)
    if p.ndim != 1:
        raise ValueError("Input must be a rank-1 array.")
    nz = np.nonzero(p.data)[0]
    if len(nz) == 0:
        return np.array([])
    if nz[0] > 0:
        raise ChainruleError("roots", message="a leading coefficient of 0 changes the degree "
                             "under any perturbation, so the roots have no derivative there",
                             expected="a nonzero first coefficient",
                             actual=f"{nz[0]} leading zero(s)",
                             fix=f"drop them: cnp.roots(p[{nz[0]}:])")
    n = len(p)
    if n < 2:
        return np.array([], dtype=p.dtype)
    # trailing zeros stay in: perturbing one moves its zero root and all the others
    first = reshape(negative(divide(p[1:], p[0])), (1, n - 1))
    a = concatenate([first, np.eye(n - 2, n - 1, dtype=p.dtype)]) if n > 2 else first
    r = eigvals(a)
    expected = np.roots(p.data)           # NumPy's order (its zero roots come last)
    perm = np.argmin(np.abs(expected[:, None] - r.data[None, :]), axis=-1)
    return getitem(r, perm)


__all__ = ["roots"]
