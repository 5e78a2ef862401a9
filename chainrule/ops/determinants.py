"""det, slogdet and adjugate, with derivatives exact at singular matrices, at every order.

det is a polynomial in the entries of A, so every derivative exists everywhere; only the
usual formula d det = det·tr(A⁻¹dA) needs A⁻¹.  Instead, all of det's derivatives come from
one primitive, ``det_derivative(A, T1, ..., Tk)``: the gradient in X of the (k+1)-th
derivative D^(k+1)det(A)[T1, ..., Tk, X], an n×n matrix.  With no T it is the cofactor
matrix adj(A)ᵀ (det's gradient); it is symmetric and linear in the T's, so its own
derivatives are members of the same family: d/dA in direction T is det_derivative(A, T1, ...,
Tk, T), d/dTi is det_derivative with Ti replaced, and both reverse rules are
det_derivative with the cotangent as one more (or replacing) direction.  It vanishes from
k = n on (det has degree n).

Values are computed through the SVD A = U·diag(s)·Vᵀ: det(A + E) = c·det(S + UᵀEV) with
c = det(U)det(V) = ±1, and for diagonal S

    D^m det(S)[X1..Xm] = Σ over distinct rows i1..im, Σ over permutations π of m:
                         sgn(π) · Π_{j∉{i}} s_j · Π_k Xk[i_k, i_π(k)],

products of the *other* singular values, never a division: exact at zero and repeated
singular values (the gradient at diag(s) is diag(Π_{j≠i} s_j); the second derivative's
weights are Q_ij = Π_{m∉{i,j}} s_m).  The m-th member costs O(m!·n^m): orders beyond a few
for large matrices raise a clear error instead of exhausting memory.

slogdet's log|det A| has gradient A⁻ᵀ, which does not exist at a singular matrix: there its
value is −inf (as NumPy's) and differentiating it raises ChainruleLinAlgError.
"""
import itertools
import math

import numpy as np

from ..core.errors import ChainruleError, ChainruleLinAlgError, describe
from ..core.primitive import Primitive, defjvp_argnum, defjvp, defvjp, defvjp_argnum
from ..core.tensor import Tensor
from .decompositions import (SlogdetResult, _col, _complex, _i_imag, _plain, _square, _square_op,
                             _trace, inv, solve)
from .linalg import _T, _einsum

_ops = {}
_LETTERS = "abcdefghijklmnop"
MAX_ELEMENTS = 2 ** 24      # the weight tensor of one det_derivative call: n^m entries per matrix


# ------------------------------------------------------- the value, in NumPy
def _excluded_products(s, m):
    """W[..., i1..im] = Π_{j ∉ {i1..im}} s_j for distinct i's, 0 where two coincide.

    Built from the products of the others along the last axis (exclusive cumprods, no
    division), one index at a time: W_m(s)[.., i_m] = W_(m-1)(s with s_(i_m) := 1)."""
    if m == 1:
        from .reductions import _others_fn     # reductions imports linalg: import on use
        return _others_fn(s)
    n = s.shape[-1]
    eye = np.eye(n, dtype=bool)
    w = _excluded_products(np.where(eye, np.ones((), s.dtype), s[..., None, :]), m - 1)
    w = np.moveaxis(w, -m, -1)                      # (..., i1..i_(m-1), i_m)
    for k in range(m - 1):                          # i_m equal to an earlier index: 0
        shape = [1] * m
        shape[k] = shape[m - 1] = n
        w = np.where(eye.reshape(shape), np.zeros((), w.dtype), w)
    return w


def _sign(perm):
    inversions = sum(1 for i, j in itertools.combinations(range(len(perm)), 2) if perm[i] > perm[j])
    return -1.0 if inversions % 2 else 1.0


def _rotated_gradient(s, xs):
    """∇_X D^m det(diag(s))[X1..X_(m-1), X] for m = len(xs) + 1 (the formula above)."""
    m = len(xs) + 1
    w = _excluded_products(s, m)
    idx = _LETTERS[:m]
    n = s.shape[-1]
    out = 0.0
    for perm in itertools.permutations(range(m)):
        subs = ["..." + idx] + ["..." + idx[k] + idx[perm[k]] for k in range(m - 1)]
        last, to = idx[m - 1], idx[perm[m - 1]]
        diag = last == to
        spec = ",".join(subs) + "->..." + (last if diag else last + to)
        term = np.einsum(spec, w, *xs, optimize=m > 2)
        if diag:                                    # the output sits on the diagonal
            term = term[..., None] * np.eye(n, dtype=term.dtype)
        out = out + _sign(perm) * term
    return out


def _det_derivative_fn(a, *ts):
    a = np.asarray(a)
    if a.dtype.kind not in "fc":
        a = a.astype(np.float64)
    n, m = a.shape[-1], len(ts) + 1
    shape = np.broadcast_shapes(a.shape, *(np.shape(t) for t in ts))
    dtype = np.result_type(a, *ts)
    if m > n:                                       # det has degree n
        return np.zeros(shape, dtype)
    batch = math.prod(shape[:-2])
    if batch * n ** m > MAX_ELEMENTS:
        raise ChainruleError(
            "linalg.det", message=f"derivative of order {m} is too large to form",
            expected=f"at most {MAX_ELEMENTS} weights (n^order per matrix)",
            actual=f"{batch} matrices of size {n}×{n}: {batch * n ** m} weights",
            fix="take fewer derivatives of det, or use slogdet (A⁻¹-based) for invertible A")
    # A = U·S·Vᴴ and det(U(S + X)Vᴴ) = det(U)·det(Vᴴ)·det(S + X) with X = Uᴴ·T·V, so the
    # derivatives are those of det(diag(s)) rotated; the gradient pairs with T as Σ G∘T, hence
    # conj(U)·R·conj(Vᴴ) (for real A: U·R·Vᵀ) — det is holomorphic, so no other conjugation
    u, s, vh = np.linalg.svd(a)
    c = np.linalg.det(u) * np.linalg.det(vh)
    c = (np.sign(c) if a.dtype.kind != "c" else c)[..., None, None]
    left, right = (np.conj(u), np.conj(vh)) if a.dtype.kind == "c" else (u, vh)
    xs = [np.swapaxes(left, -1, -2) @ np.asarray(t) @ np.swapaxes(right, -1, -2) for t in ts]
    return (c * (left @ _rotated_gradient(s, xs) @ right)).astype(dtype, copy=False)


# ----------------------------------------------------------------- the family
def _check_square(a, *ts):
    _square("det", a)
    return _det_derivative_fn(a, *ts)


det_derivative = Primitive("det_derivative", _check_square, doc=(
    "∇_X D^(k+1)det(A)[T1..Tk, X]; with no T, the cofactor matrix (det's gradient)."))


def _det_derivative_vjp(i, g, ans, a, *ts):
    if i == 0:          # ∇_A <g, P(A; T..)> = P(A; T.., g)
        return det_derivative(a, *ts, g)
    return det_derivative(a, *ts[:i - 1], *ts[i:], g)


def _det_derivative_jvp(i, t, ans, a, *ts):
    if i == 0:
        return det_derivative(a, *ts, t)
    return det_derivative(a, *ts[:i - 1], t, *ts[i:])


defvjp_argnum(det_derivative, _det_derivative_vjp, formulas={
    0: "the next derivative, with g as one more direction", 1: "the same, g for Tᵢ"})
defjvp_argnum(det_derivative, _det_derivative_jvp)

# ------------------------------------------------------------------------ det
det = _ops["det"] = _square_op("det", np.linalg.det)
defvjp(det, lambda g, ans, a: _col(_col(g)) * det_derivative(a), formulas={0: "g·cof(A)"})
defjvp(det, lambda t, ans, a: _einsum("...ij,...ij->...", det_derivative(a), t))


def adjugate(a):
    """adj(A) = cof(A)ᵀ (A·adj(A) = det(A)·I), differentiable at every order, also where A
    is singular; for (..., n, n) stacks.  Not in NumPy: a chainrule extra."""
    return _T(det_derivative(a))


_ops["adjugate"] = adjugate


# -------------------------------------------------------------------- slogdet
def _nonsingular(ans, a):
    value = ans.data if isinstance(ans, Tensor) else np.asarray(ans)
    if np.any(np.isneginf(value)):
        raise ChainruleLinAlgError(
            "linalg.slogdet", message="log|det a| is -inf at a singular matrix and has no "
                                      "derivative there (its gradient would be a⁻ᵀ)",
            expected="a non-singular matrix", actual=describe(np.asarray(
                a.data if isinstance(a, Tensor) else a)) + " with det 0",
            fix="differentiate det(a) instead (its gradient, the cofactor matrix, exists at "
                "singular matrices), or regularise: a + εI")


def _logabsdet_vjp(g, ans, a):
    _nonsingular(ans, a)
    return _col(_col(g)) * _T(inv(a))


def _logabsdet_jvp(t, ans, a):
    _nonsingular(ans, a)
    return _trace(solve(a, t))


_slogdet_sign = _square_op("slogdet_sign", lambda a: np.linalg.slogdet(a)[0], differentiable=False)
_logabsdet = _square_op("slogdet_logabsdet", lambda a: np.linalg.slogdet(a)[1])
defvjp(_logabsdet, _logabsdet_vjp, formulas={0: "g·A⁻ᵀ"})
defjvp(_logabsdet, _logabsdet_jvp)


def _nonzero_sign(s, a):
    """The phase of det A, like log|det A|, has no derivative at a singular matrix (sign 0)."""
    value = s.data if isinstance(s, Tensor) else np.asarray(s)
    if np.any(value == 0):
        _nonsingular(np.array(-np.inf), a)


def _phase_vjp(g, s, a):
    """d sign = i·sign·Im tr(A⁻¹dA): transposed, Re(i g sign)·(−i)·A⁻ᵀ."""
    from .complex import real
    _nonzero_sign(s, a)
    return _col(_col(real(1j * g * s) * -1j)) * _T(inv(a))


def _phase_jvp(t, s, a):
    _nonzero_sign(s, a)
    return _i_imag(_trace(solve(a, t))) * s


_slogdet_phase = _square_op("slogdet_sign", lambda a: np.linalg.slogdet(a)[0])
defvjp(_slogdet_phase, _phase_vjp, formulas={0: "Re(i·g·sign)·(−i)·A⁻ᵀ"})
defjvp(_slogdet_phase, _phase_jvp)


def slogdet(a):
    """(sign, log|det a|).  A real sign is piecewise constant (no gradient); the sign of a
    complex matrix is the phase of its determinant, which has one."""
    if _plain(a):
        return np.linalg.slogdet(a)
    sign = _slogdet_phase(a) if _complex(a) else _slogdet_sign(a)
    return SlogdetResult(sign, _logabsdet(a))


_ops["slogdet"] = slogdet
__all__ = sorted(_ops)


# --------------------------------------------------------------- batching (vmap)
from ..core.batching import batch_leading  # noqa: E402
from ..core.primitive import defbatch  # noqa: E402

for _op in (det, det_derivative, _slogdet_sign, _logabsdet, _slogdet_phase):
    defbatch(_op, batch_leading)        # (..., n, n) stacks: the batch is one more leading axis
