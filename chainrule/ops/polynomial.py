"""NumPy's polynomial functions (coefficients highest power first), differentiable.

Each follows NumPy's own steps with chainrule's differentiable functions, so no
new rules are needed and every order of derivative is exact: Horner's scheme for
polyval, coefficient products for polymul (a scatter-add of the outer product),
long division for polydiv, the Faddeev–LeVerrier recurrence for the
characteristic polynomial of a matrix in poly (its coefficients are polynomials
in the entries, differentiable everywhere, where NumPy goes through eigvals), and
least squares for polyfit (differentiable in x, y and w; in x where the
Vandermonde matrix keeps full rank, see linalg.lstsq).

With no Tensor among the arguments each function is NumPy's own.
"""
import operator
import warnings

import numpy as np

from ..core.errors import ChainruleError, describe
from ..core.primitive import _dtype, _shape, astype
from ..core.tensor import Tensor, needs_grad_now
from .construction import concatenate, stack
from .decompositions import inv
from .elementwise import add, divide, multiply, power, sqrt, subtract
from .indexing import getitem, index_add
from .linalg import _T, matmul, outer
from .reductions import sum, trace
from .shape import reshape
from .solvers import lstsq
from .vectors import _array, _has_tensor

_ops = {}


def _coeffs(p):
    """Coefficients as a Tensor or array, at least 1-D (poly1d objects give their coeffs)."""
    if isinstance(p, np.poly1d):
        p = p.coeffs
    p = _array(p)
    return reshape(p, (1,)) if p.ndim == 0 else p


def _shifted(p, k):
    """p with k zeros in front (a higher-degree form of the same polynomial)."""
    if k == 0:
        return p
    return concatenate([np.zeros(k, _dtype(p)), p])


def _order(m, name):
    m = operator.index(m)
    if m < 0:
        raise ValueError("Order of integral must be positive (see polyder)" if name == "polyint"
                         else "Order of derivative must be positive (see polyint)")
    return m


# ------------------------------------------------------------ evaluate, add
def polyval(p, x):
    """Horner's scheme, y = y·x + p[i], as NumPy evaluates it."""
    if not _has_tensor(p, x):
        return np.polyval(p, x)
    p = p.coeffs if isinstance(p, np.poly1d) else _array(p)
    x = _array(x)
    y = np.zeros_like(x.data if isinstance(x, Tensor) else x)
    for i in range(p.shape[0]):
        y = add(multiply(y, x), getitem(p, i))
    return y


def _polyaddsub(np_fn, op):
    def fn(a1, a2):
        if not _has_tensor(a1, a2):
            return np_fn(a1, a2)
        a1, a2 = _coeffs(a1), _coeffs(a2)
        n1, n2 = a1.shape[0], a2.shape[0]
        return op(_shifted(a1, max(n2 - n1, 0)), _shifted(a2, max(n1 - n2, 0)))
    fn.__name__ = np_fn.__name__
    fn.__doc__ = f"``np.{np_fn.__name__}``: the shorter polynomial padded with leading zeros."
    return fn


polyadd = _polyaddsub(np.polyadd, add)
polysub = _polyaddsub(np.polysub, subtract)


def _trimmed(p):
    """p without its leading zeros, as np.poly1d keeps it ([0.] if nothing is left)."""
    if p.ndim != 1:
        raise ValueError("Polynomial must be 1d only.")
    values = p.data if isinstance(p, Tensor) else p
    nonzero = np.flatnonzero(values)
    lead = int(nonzero[0]) if nonzero.size else values.shape[0]
    if lead == 0 and values.size:
        return p
    if values.size and isinstance(p, Tensor) and needs_grad_now(p):
        raise ChainruleError("polymul", message="NumPy drops leading zero coefficients here "
                             "(np.poly1d), so the result's length jumps when one moves off 0: "
                             "no derivative", expected="a nonzero leading coefficient",
                             actual=f"{lead} leading zero(s) in {describe(p)}",
                             fix="slice them off first (p[k:]), so the degree stays fixed")
    return getitem(p, slice(lead, None)) if lead < values.shape[0] else \
        np.zeros((1,), values.dtype)


def polymul(a1, a2):
    """c[k] = Σ_{i+j=k} a1[i]·a2[j]: the outer product, scatter-added along its anti-diagonals.
    Leading zeros are dropped first, as NumPy's polymul does (through np.poly1d)."""
    if not _has_tensor(a1, a2):
        return np.polymul(a1, a2)
    a1, a2 = _trimmed(_coeffs(a1)), _trimmed(_coeffs(a2))
    n1, n2 = a1.shape[0], a2.shape[0]
    k = np.add.outer(np.arange(n1), np.arange(n2)).reshape(-1)
    return index_add(reshape(outer(a1, a2), (-1,)), (k,), (n1 + n2 - 1,))


# --------------------------------------------------------- derivative, integral
def polyder(p, m=1):
    """p[:-1]·(n, n−1, ..., 1), m times."""
    if not _has_tensor(p):
        return np.polyder(p, m)
    m = _order(m, "polyder")
    p = _coeffs(p)
    for _ in range(m):
        n = p.shape[0] - 1
        p = multiply(getitem(p, slice(None, -1)), np.arange(n, 0, -1))
    return p


def polyint(p, m=1, k=None):
    """p/(n, ..., 1) followed by the constant of integration, m times; k may be a Tensor."""
    if not _has_tensor(p, k):
        return np.polyint(p, m, k)
    m = _order(m, "polyint")
    k = np.zeros(m, float) if k is None else _array(k)
    k = reshape(k, (1,)) if k.ndim == 0 else k
    if k.shape[0] == 1 and m > 1:
        k = multiply(getitem(k, 0), np.ones(m))
    if k.shape[0] < m:
        raise ValueError("k must be a scalar or a rank-1 array of length 1 or >m.")
    p = _coeffs(p)
    for j in range(m):
        n = p.shape[0]
        p = concatenate([divide(p, np.arange(n, 0, -1)), reshape(getitem(k, j), (1,))])
    return p


# ------------------------------------------------------------------ polydiv
def polydiv(u, v):
    """(quotient, remainder) by long division, as NumPy divides (leading remainder terms
    NumPy's ``allclose(r[0], 0)`` drops are dropped here too: they are zero)."""
    if not _has_tensor(u, v):
        return np.polydiv(u, v)
    u, v = _coeffs(u), _coeffs(v)
    u, v = add(u, 0.0), add(v, 0.0)
    dtype = np.result_type(u.dtype, v.dtype)
    r = u if u.dtype == dtype else astype(u, dtype)
    m, n = u.shape[0] - 1, v.shape[0] - 1
    scale = divide(1.0, getitem(v, 0))
    q = []
    for k in range(m - n + 1):
        d = multiply(scale, getitem(r, k))
        q.append(d)
        r = subtract(r, concatenate([np.zeros(k, dtype), multiply(d, v),
                                     np.zeros(m - n - k, dtype)]))
    q = stack(q) if q else np.zeros((1,), dtype)
    lead = 0
    rv = r.data if isinstance(r, Tensor) else r
    while lead < rv.shape[0] - 1 and np.allclose(rv[lead], 0, rtol=1e-14):
        lead += 1
    return q, getitem(r, slice(lead, None)) if lead else r


# --------------------------------------------------------------------- poly
def _charpoly(a):
    """Coefficients of det(λI − A) by the Faddeev–LeVerrier recurrence:
    M₁ = I, c₁ = −tr(A)/1;  Mₖ = A·Mₖ₋₁ + cₖ₋₁·I, cₖ = −tr(A·Mₖ)/k."""
    n = a.shape[-1]
    eye = np.eye(n, dtype=a.dtype)
    coeffs, am = [np.ones((), a.dtype)], a
    for k in range(1, n + 1):
        c = divide(trace(am), -float(k))
        coeffs.append(c)
        if k < n:
            am = matmul(a, add(am, multiply(c, eye)))
    return stack(coeffs)


def poly(seq_of_zeros):
    """``np.poly``: the monic polynomial with the given roots, or the characteristic
    polynomial of a square matrix."""
    if not _has_tensor(seq_of_zeros):
        return np.poly(seq_of_zeros)
    z = _array(seq_of_zeros)
    z = reshape(z, (1,)) if z.ndim == 0 else z
    if z.dtype.kind == "c":
        raise ChainruleError("poly", message="complex Tensors are not supported here yet",
                             expected="real roots or a real matrix", actual=describe(z),
                             fix="pass the real and imaginary parts' polynomial by hand")
    if z.ndim == 2 and z.shape[0] == z.shape[1] and z.shape[0] != 0:
        return _charpoly(z)
    if z.ndim != 1:
        raise ValueError("input must be 1d or non-empty square 2d array.")
    if z.shape[0] == 0:
        return 1.0
    a = np.ones((1,), z.dtype)
    for j in range(z.shape[0]):                 # a·(x − z_j): shift, subtract z_j·a
        zero = np.zeros((1,), z.dtype)
        a = subtract(concatenate([a, zero]), multiply(getitem(z, j), concatenate([zero, a])))
    return a


# ------------------------------------------------------------------ polyfit
def _vander(x, order):
    """Columns x^(order−1), ..., x, 1."""
    return stack([power(x, float(k)) if k else np.ones(_shape(x), _dtype(x))
                  for k in range(order - 1, -1, -1)], axis=1)


def polyfit(x, y, deg, rcond=None, full=False, w=None, cov=False):
    """NumPy's least-squares fit (scaled Vandermonde columns, then lstsq), differentiable in
    y and w, and in x where the fit has full rank (lstsq refuses otherwise)."""
    if not _has_tensor(x, y, w):
        return np.polyfit(x, y, deg, rcond=rcond, full=full, w=w, cov=cov)
    order = int(deg) + 1
    x, y = add(_array(x), 0.0), add(_array(y), 0.0)
    if deg < 0:
        raise ValueError("expected deg >= 0")
    if x.ndim != 1:
        raise TypeError("expected 1D vector for x")
    if x.size == 0:
        raise TypeError("expected non-empty vector for x")
    if y.ndim < 1 or y.ndim > 2:
        raise TypeError("expected 1D or 2D array for y")
    if x.shape[0] != y.shape[0]:
        raise TypeError("expected x and y to have same length")
    if rcond is None:
        rcond = len(x) * np.finfo(x.dtype).eps
    lhs, rhs = _vander(x, order), y
    if w is not None:
        w = add(_array(w), 0.0)
        if w.ndim != 1:
            raise TypeError("expected a 1-d array for weights")
        if w.shape[0] != y.shape[0]:
            raise TypeError("expected w and y to have the same length")
        wc = reshape(w, (-1, 1))
        lhs = multiply(lhs, wc)
        rhs = multiply(rhs, wc if rhs.ndim == 2 else w)
    scale = sqrt(sum(multiply(lhs, lhs), axis=0))
    lhs = divide(lhs, scale)
    c, resids, rank, s = lstsq(lhs, rhs, rcond)
    c = divide(c, scale if c.ndim == 1 else reshape(scale, (-1, 1)))
    if rank != order and not full:
        warnings.warn("Polyfit may be poorly conditioned", np.exceptions.RankWarning,
                      stacklevel=2)
    if full:
        return c, resids, rank, s, rcond
    if not cov:
        return c
    vbase = divide(inv(matmul(_T(lhs), lhs)), outer(scale, scale))
    if cov == "unscaled":
        fac = 1.0
    else:
        if len(x) <= order:
            raise ValueError("the number of data points must exceed order to scale the "
                             "covariance matrix")
        fac = divide(resids, float(len(x) - order))
    if y.ndim == 1:
        return c, multiply(vbase, fac)
    return c, multiply(reshape(vbase, _shape(vbase) + (1,)), fac)


_ops.update(polyval=polyval, polyadd=polyadd, polysub=polysub, polymul=polymul,
            polyder=polyder, polyint=polyint, polydiv=polydiv, poly=poly, polyfit=polyfit)
__all__ = sorted(_ops)
