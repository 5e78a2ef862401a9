"""numpy.linalg's NumPy 2 (array API) functions, differentiable.

Several share a name with a top-level NumPy function of different meaning
(``linalg.diagonal`` and ``linalg.trace`` read the last two axes, ``linalg.outer``
takes only vectors, ``linalg.cross`` only 3-vectors), so they are exported in
``chainrule.numpy.linalg`` alone.  Each one is NumPy's own steps written with
chainrule's differentiable functions: no new rules.  Norms keep the
subgradients of ``norm`` (docs/subgradients.md).

With no Tensor among the arguments each function is NumPy's own.
"""
import math

import numpy as np

from .assembly import matrix_transpose  # noqa: F401  (the same as np.matrix_transpose)
from .decompositions import svdvals as _svdvals
from .linalg import matmul as _matmul
from .linalg import outer as _outer
from .linalg import tensordot as _tensordot
from .reductions import norm, trace as _trace
from .shape import diagonal as _diagonal
from .shape import reshape, swapaxes, transpose
from .vectors import _array, _axis_index, _has_tensor
from .vectors import cross as _cross
from .vectors import vecdot as _vecdot

_la = np.linalg


def _axis_tuple(axis, ndim):
    axes = tuple(_axis_index(a, ndim, "axis") for a in axis)
    if len(set(axes)) != len(axes):
        raise ValueError("repeated axis")
    return axes


def vector_norm(x, /, *, axis=None, keepdims=False, ord=2):
    """The vector norm over ``axis`` (several axes are flattened into one vector)."""
    if not _has_tensor(x):
        return _la.vector_norm(x, axis=axis, keepdims=keepdims, ord=ord)
    x = _array(x)
    shape = list(x.shape)
    if axis is None:
        x, along = reshape(x, (-1,)), 0
    elif isinstance(axis, tuple):
        axes = _axis_tuple(axis, x.ndim)
        rest = tuple(i for i in range(x.ndim) if i not in axes)
        x = reshape(transpose(x, axes + rest),
                    (math.prod(shape[i] for i in axes),) + tuple(shape[i] for i in rest))
        along = 0
    else:
        along = axis
    r = norm(x, ord, along)
    if keepdims:
        for i in _axis_tuple(range(len(shape)) if axis is None else
                             axis if isinstance(axis, tuple) else (axis,), len(shape)):
            shape[i] = 1
        r = reshape(r, tuple(shape))
    return r


def matrix_norm(x, /, *, keepdims=False, ord="fro"):
    """The matrix norm of the last two axes."""
    if not _has_tensor(x):
        return _la.matrix_norm(x, keepdims=keepdims, ord=ord)
    return norm(_array(x), ord, (-2, -1), keepdims)


def svdvals(x, /):
    """The singular values (differentiable where they are distinct)."""
    return _svdvals(x)


def diagonal(x, /, *, offset=0):
    """Diagonal ``offset`` of the last two axes."""
    if not _has_tensor(x):
        return _la.diagonal(x, offset=offset)
    return _diagonal(_array(x), offset, -2, -1)


def trace(x, /, *, offset=0, dtype=None):
    """Trace of the last two axes."""
    if not _has_tensor(x):
        return _la.trace(x, offset=offset, dtype=dtype)
    return _trace(_array(x), offset, -2, -1, dtype)


def outer(x1, x2, /):
    """The outer product of two vectors (NumPy's linalg.outer refuses anything else)."""
    if not _has_tensor(x1, x2):
        return _la.outer(x1, x2)
    x1, x2 = _array(x1), _array(x2)
    if x1.ndim != 1 or x2.ndim != 1:
        raise ValueError("Input arrays must be one-dimensional, but they are "
                         f"x1.ndim={x1.ndim} and x2.ndim={x2.ndim}.")
    return _outer(x1, x2)


def matmul(x1, x2, /):
    return _matmul(x1, x2)


def tensordot(x1, x2, /, *, axes=2):
    return _tensordot(x1, x2, axes)


def vecdot(x1, x2, /, *, axis=-1):
    return _vecdot(x1, x2, axis=axis)


def cross(x1, x2, /, *, axis=-1):
    """The cross product of 3-vectors along ``axis``."""
    if not _has_tensor(x1, x2):
        return _la.cross(x1, x2, axis=axis)
    x1, x2 = _array(x1), _array(x2)
    if x1.shape[axis] != 3 or x2.shape[axis] != 3:
        raise ValueError("Both input arrays must be (arrays of) 3-dimensional vectors, but they "
                         f"are {x1.shape[axis]} and {x2.shape[axis]} dimensional instead.")
    return _cross(x1, x2, axis=axis)


for _f in (matmul, tensordot, vecdot):
    _f.__doc__ = f"``np.linalg.{_f.__name__}``: NumPy 2's positional-only form of " \
                 f"``np.{_f.__name__}``."

__all__ = [n for n in ("vector_norm", "matrix_norm", "svdvals", "diagonal", "trace", "outer",
                       "matmul", "tensordot", "matrix_transpose", "vecdot", "cross")
           if hasattr(_la, n)]
