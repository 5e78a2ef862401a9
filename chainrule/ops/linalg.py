"""Linear algebra and its derivatives.

matmul's rules multiply by transposed views (``swapaxes``), never copies.
"""
import numpy as np

from ..core.primitive import Primitive, defjvp, defvjp
from .shape import reshape, swapaxes

_ops = {}


def _T(a):
    return swapaxes(a, -1, -2)


def _matmul_vjp_a(g, ans, a, b):
    nb = np.ndim(b)
    if nb == 1:                                   # (..., n) @ (n,) -> (...)
        if np.ndim(a) == 1:
            return g * b
        return matmul(reshape(g, np.shape(g) + (1,)), reshape(b, (1, -1)))
    if np.ndim(a) == 1:                           # (n,) @ (..., n, m) -> (..., m)
        return matmul(reshape(g, np.shape(g)[:-1] + (1, np.shape(g)[-1])), _T(b))[..., 0, :] \
            if np.ndim(b) > 2 else matmul(b, g)
    return matmul(g, _T(b))


def _matmul_vjp_b(g, ans, a, b):
    na = np.ndim(a)
    if na == 1:
        if np.ndim(b) == 1:
            return g * a
        return matmul(reshape(a, (-1, 1)), reshape(g, np.shape(g)[:-1] + (1, np.shape(g)[-1])))
    if np.ndim(b) == 1:
        return matmul(_T(a), reshape(g, np.shape(g) + (1,)))[..., 0] if na > 2 else matmul(g, a)
    return matmul(_T(a), g)


matmul = _ops["matmul"] = Primitive("matmul", np.matmul)
defvjp(matmul, _matmul_vjp_a, _matmul_vjp_b, formulas={0: "g·Bᵀ", 1: "Aᵀ·g"})
defjvp(matmul, lambda t, ans, a, b: matmul(t, b), lambda t, ans, a, b: matmul(a, t))

globals().update(_ops)
__all__ = sorted(_ops)
