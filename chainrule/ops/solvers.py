"""numpy.linalg's least squares, matrix powers, condition numbers and tensor solvers.

Only ``lstsq`` is a new primitive (its value is NumPy's own solution); its rules
call ``lstsq`` again, with Aᵀ or A, so they differentiate to every order.  The
others are compositions of differentiable primitives (matmul, inv, solve,
norm, reshape, transpose) that follow NumPy's own steps, so their values are
NumPy's and their derivatives exact wherever the steps are differentiable.

With no Tensor among the arguments each function is NumPy's own.
"""
import operator

import numpy as np

from ..core.errors import ChainruleLinAlgError, describe
from ..core.primitive import Primitive, _shape, defjvp, defvjp_argnum
from ..core.tensor import Tensor, needs_grad_now
from .decompositions import _col, _row, inv, solve, svdvals
from .complex import imag, real
from .elementwise import square
from .linalg import _T, matmul
from .reductions import norm, sum
from .shape import reshape, transpose
from .vectors import _array, _has_tensor

_ops = {}


def _active(x):
    return isinstance(x, Tensor) and needs_grad_now(x)


def _outer(u, v):
    """u·vᵀ for vectors (n,), (m,) or for matrices of columns (n, k), (m, k)."""
    return _col(u) * _row(v) if len(_shape(u)) == 1 else matmul(u, _T(v))


# -------------------------------------------------------------------- lstsq
def _lstsq_fn(a, b, rcond=None):
    return np.linalg.lstsq(a, b, rcond=rcond)[0]


def _lstsq_jvp(i, t, x, a, b, rcond=None):
    """dx = −A⁺·dA·x + A⁺A⁺ᵀ·dAᵀ·r + (I − A⁺A)·dAᵀ·A⁺ᵀx, with A⁺v = lstsq(A, v).

    For a full-rank A the second term lives only when M > N (a residual r = b − Ax),
    the third only when M < N (a null space): each is skipped where it is zero.
    """
    if i == 1:
        return _lstsq(a, t, rcond=rcond)                   # A⁺·db
    m, n = _shape(a)
    dx = -_lstsq(a, matmul(t, x), rcond=rcond)
    if m > n:
        r = b - matmul(a, x)
        dx = dx + _lstsq(a, _lstsq(_T(a), matmul(_T(t), r), rcond=rcond), rcond=rcond)
    elif m < n:
        u = matmul(_T(t), _lstsq(_T(a), x, rcond=rcond))
        dx = dx + u - _lstsq(a, matmul(a, u), rcond=rcond)
    return dx


def _lstsq_vjp(i, g, x, a, b, rcond=None):
    y = _lstsq(_T(a), g, rcond=rcond)                      # A⁺ᵀ·g
    if i == 1:
        return y
    m, n = _shape(a)
    ga = -_outer(y, x)
    if m > n:
        ga = ga + _outer(b - matmul(a, x), _lstsq(a, y, rcond=rcond))
    elif m < n:
        ga = ga + _outer(_lstsq(_T(a), x, rcond=rcond), g - _lstsq(a, matmul(a, g), rcond=rcond))
    return ga


_lstsq = Primitive("lstsq", _lstsq_fn, expects=(
    "a of shape (M, N) and b of shape (M,) or (M, K)",
    "give b one row per row of a; lstsq solves one 2-D system (no batch axes)"))
defvjp_argnum(_lstsq, _lstsq_vjp, formulas={
    0: "−A⁺ᵀg·xᵀ + r·(A⁺A⁺ᵀg)ᵀ + A⁺ᵀx·((I−A⁺A)g)ᵀ", 1: "A⁺ᵀ·g"})
defjvp(_lstsq, lambda t, x, a, b, rcond=None: _lstsq_jvp(0, t, x, a, b, rcond),
       lambda t, x, a, b, rcond=None: _lstsq_jvp(1, t, x, a, b, rcond))


def lstsq(a, b, rcond=None):
    """``np.linalg.lstsq``: (x, residuals, rank, s), as NumPy returns them.

    x is differentiable in b always (it is A⁺b, linear in b) and in a where a has full
    rank; there the minimum-norm solution is a smooth function of a.  At a rank-deficient
    a it jumps under perturbation, so a gradient with respect to a is refused.  The
    residuals (when NumPy returns them) are Σ(b − a·x)² per column, differentiable too;
    s are a's singular values (differentiable where distinct) and rank is an integer.
    """
    if not _has_tensor(a, b):
        return np.linalg.lstsq(a, b, rcond=rcond)
    a, b = _array(a), _array(b)
    _, res0, rank, s0 = np.linalg.lstsq(a.data if isinstance(a, Tensor) else a,
                                        b.data if isinstance(b, Tensor) else b, rcond=rcond)
    m, n = a.shape
    if rank < min(m, n) and _active(a):
        raise ChainruleLinAlgError(
            "linalg.lstsq", message="the solution has no derivative with respect to a "
                                    "rank-deficient a (it jumps when the rank changes)",
            expected=f"a of full rank {min(m, n)}", actual=f"rank {rank} for {describe(a)}",
            fix="regularise (ridge: solve(aᵀa + λI, aᵀb)), drop dependent columns, or pass "
                "a.detach() when only b needs a gradient")
    if m != n and _active(a) and np.iscomplexobj(a.data if isinstance(a, Tensor) else a):
        raise ChainruleLinAlgError(
            "linalg.lstsq", message="no derivative rule yet with respect to a complex "
                                    "rectangular a (its pseudo-inverse is not holomorphic)",
            expected="a real or square a, or a complex a that needs no gradient",
            actual=f"{describe(a)}", fix="for full column rank write the normal equations, "
            "x = solve(conj(a).T @ a, conj(a).T @ b), or pass a.detach() when only b needs a "
            "gradient")
    x = _lstsq(a, b, rcond=rcond)
    if np.size(res0):                          # full column rank and M > N
        r = b - matmul(a, x)
        res = sum(square(r) if r.dtype.kind != "c" else square(real(r)) + square(imag(r)),
                  axis=0)                      # |r|², real, as NumPy's
        res = reshape(res, (1,)) if b.ndim == 1 else res
    else:
        res = res0
    s = svdvals(a) if isinstance(a, Tensor) else s0
    return x, res, rank, s


# ------------------------------------------------------------- matrix_power
def matrix_power(a, n):
    """``np.linalg.matrix_power``: NumPy's chain of matmuls (and inv for n < 0)."""
    if not _has_tensor(a):
        return np.linalg.matrix_power(a, n)
    a = _array(a)
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ChainruleLinAlgError("linalg.matrix_power", message="needs square matrices",
                                   expected="an array of shape (..., n, n)", actual=describe(a),
                                   fix="pass a square matrix (or a stack of them)")
    try:
        n = operator.index(n)
    except TypeError:
        raise TypeError("exponent must be an integer") from None
    if n == 0:                                 # the identity: a constant
        return np.broadcast_to(np.eye(a.shape[-1], dtype=a.dtype), a.shape).copy()
    if n < 0:
        a, n = inv(a), -n
    if n <= 3:                                 # NumPy's special cases, in its order
        out = a
        for _ in range(n - 1):
            out = matmul(out, a)
        return out
    z = result = None                          # binary decomposition of n, as NumPy does
    while n > 0:
        z = a if z is None else matmul(z, z)
        n, bit = divmod(n, 2)
        if bit:
            result = z if result is None else matmul(result, z)
    return result


# --------------------------------------------------------------------- cond
def cond(x, p=None):
    """``np.linalg.cond``: ‖x‖·‖x⁻¹‖ from differentiable norms (for p = None, ±2 the ratio of
    extreme singular values, with norm's minimum-norm choice where they are tied).

    At a singular matrix the condition number is infinite and has no derivative: that is
    refused when x needs a gradient (NumPy's inf is returned otherwise).
    """
    if not _has_tensor(x):
        return np.linalg.cond(x, p)
    x = _array(x)
    try:
        value = np.linalg.cond(x.data, p)
    except np.linalg.LinAlgError:      # NumPy's 'nuc' norm of a singular matrix's nan inverse
        if not _active(x):
            raise
        value = np.inf
    if _active(x) and not np.all(np.isfinite(value)) and np.all(np.isfinite(x.data)):
        raise ChainruleLinAlgError("linalg.cond", message="the condition number of a singular "
                                   "matrix is infinite and has no derivative",
                                   expected="an invertible matrix", actual=describe(x),
                                   fix="regularise it (x + εI), or detach it")
    if not _active(x):
        return Tensor(value)
    both = (-2, -1)
    if p is None or p == 2:
        return norm(x, 2, both) / norm(x, -2, both)
    if p == -2:
        return norm(x, -2, both) / norm(x, 2, both)
    if x.ndim < 2 or x.shape[-1] != x.shape[-2]:
        raise ChainruleLinAlgError("linalg.cond", message=f"p={p!r} needs square matrices",
                                   expected="shape (..., n, n)", actual=describe(x),
                                   fix="use p=None or 2 for rectangular matrices")
    return norm(x, p, both) * norm(inv(x), p, both)


# --------------------------------------------------------- tensor inverse/solve
def tensorinv(a, ind=2):
    """``np.linalg.tensorinv``: a reshape, inv and reshape back."""
    if not _has_tensor(a):
        return np.linalg.tensorinv(a, ind)
    a = _array(a)
    if ind <= 0:
        raise ValueError("Invalid ind argument.")
    left, right = a.shape[:ind], a.shape[ind:]
    rows = int(np.prod(left, dtype=np.int64))
    if rows != int(np.prod(right, dtype=np.int64)):
        raise ChainruleLinAlgError("linalg.tensorinv", message="the tensor is not 'square'",
                                   expected=f"prod(a.shape[:{ind}]) == prod(a.shape[{ind}:])",
                                   actual=describe(a), fix="pick ind so both halves match")
    return reshape(inv(reshape(a, (rows, -1))), right + left)


def tensorsolve(a, b, axes=None):
    """``np.linalg.tensorsolve``: NumPy's transpose and reshape around one solve."""
    if not _has_tensor(a, b):
        return np.linalg.tensorsolve(a, b, axes)
    a, b = _array(a), _array(b)
    an = a.ndim
    if axes is not None:
        order = list(range(an))
        for k in axes:
            order.remove(k)
            order.insert(an, k)
        a = transpose(a, tuple(order))
    shape = a.shape[-(an - b.ndim):]
    n = int(np.prod(shape, dtype=np.int64))
    if a.size != n * n:
        raise ChainruleLinAlgError("linalg.tensorsolve",
                                   message="input arrays must satisfy prod(a.shape[b.ndim:]) "
                                           "== prod(a.shape[:b.ndim])",
                                   expected=f"a with {n * n} entries", actual=describe(a),
                                   fix="check b's shape (and axes) against a's")
    return reshape(solve(reshape(a, (n, n)), reshape(b, (-1,))), shape)


_ops.update(lstsq=lstsq, matrix_power=matrix_power, cond=cond, tensorinv=tensorinv,
            tensorsolve=tensorsolve)
__all__ = sorted(_ops)
