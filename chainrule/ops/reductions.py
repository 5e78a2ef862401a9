"""Reductions (sum, mean, max, ...) and their derivatives.

A reduction's gradient is the upstream gradient broadcast back over the
reduced axes (``_expand``), times the local derivative.
"""
import numpy as np

from ..core.primitive import Primitive, defjvp, defvjp
from .shape import broadcast_to, reshape

_ops = {}


def _axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, int):
        axis = (axis,)
    return tuple(a % ndim if ndim else a for a in axis)


def _expand(g, x_shape, axis, keepdims):
    """Reshape a reduced gradient so it broadcasts against the input again."""
    if not keepdims:
        shape = list(x_shape)
        for a in _axes(axis, len(x_shape)):
            shape[a] = 1
        g = reshape(g, tuple(shape))
    return broadcast_to(g, x_shape)


def _sum(x, axis=None, keepdims=False, dtype=None):
    return np.sum(x, axis=axis, keepdims=keepdims, dtype=dtype)


def _mean(x, axis=None, keepdims=False, dtype=None):
    return np.mean(x, axis=axis, keepdims=keepdims, dtype=dtype)


def _count(shape, axis):
    n = 1
    for a in _axes(axis, len(shape)):
        n *= shape[a]
    return n


sum = _ops["sum"] = Primitive("sum", _sum)
defvjp(sum, lambda g, ans, x, axis=None, keepdims=False, dtype=None:
       _expand(g, np.shape(x), axis, keepdims), formulas={0: "1"})
defjvp(sum, lambda t, ans, x, axis=None, keepdims=False, dtype=None:
       sum(t, axis=axis, keepdims=keepdims))

mean = _ops["mean"] = Primitive("mean", _mean)
defvjp(mean, lambda g, ans, x, axis=None, keepdims=False, dtype=None:
       _expand(g, np.shape(x), axis, keepdims) / (_count(np.shape(x), axis) or 1),
       formulas={0: "1/n"})
defjvp(mean, lambda t, ans, x, axis=None, keepdims=False, dtype=None:
       mean(t, axis=axis, keepdims=keepdims))

globals().update(_ops)
__all__ = sorted(_ops)
