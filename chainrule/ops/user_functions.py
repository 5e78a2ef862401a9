"""NumPy functions that call the user's Python functions: apply_along_axis,
apply_over_axes, piecewise.

chainrule runs NumPy's loop itself, handing the user's function slices that are
Tensors (getitem), and assembles the results with stack, where and index_add.
So the result is differentiable exactly when the user's function is (written
with chainrule.numpy, or with NumPy functions that dispatch to it), in the
array and in any Tensor the function closes over; no new rules are needed.

``piecewise``'s conditions select entries (constants, no gradient); each entry's
derivative is the derivative of the piece that its condition selects, the last
true condition winning as in NumPy.  At a boundary between pieces that is a
one-sided derivative: chainrule cannot see whether the user's pieces meet in a
kink (docs/subgradients.md).

``frompyfunc`` (object arrays) and ``nested_iters`` (iterators) are not array
functions with derivatives: see chainrule/numpy/coverage.py.
"""
import collections.abc

import numpy as np

from ..core.errors import ChainruleError
from ..core.primitive import _dtype, _shape, astype, broadcast_to
from ..core.tensor import Tensor, decided_by_values
from .construction import stack
from .elementwise import where
from .indexing import getitem, index_add
from .shape import expand_dims, reshape, transpose
from .vectors import _array, _axis_index

_ops = {}


def _values(x):
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def _cast(r, dtype):
    if _dtype(r) == dtype:
        return r
    return astype(r, dtype) if isinstance(r, Tensor) else np.asarray(r).astype(dtype)


# ---------------------------------------------------------- apply_along_axis
def apply_along_axis(func1d, axis, arr, *args, **kwargs):
    """``np.apply_along_axis``: func1d on every 1-D slice along ``axis``; the results' axes
    take the place of ``axis``.  Like NumPy, every result gets the first result's dtype."""
    arr = _array(arr)
    nd = arr.ndim
    axis = _axis_index(axis, nd, None)
    order = tuple(range(axis)) + tuple(range(axis + 1, nd)) + (axis,)
    view = transpose(arr, order) if order != tuple(range(nd)) else arr
    loop = _shape(view)[:-1]
    index = iter(np.ndindex(*loop))
    try:
        first = next(index)
    except StopIteration:
        raise ValueError("Cannot apply_along_axis when any iteration dimensions are 0") from None
    res = [_array(func1d(getitem(view, first + (Ellipsis,)), *args, **kwargs))]
    shape0 = _shape(res[0])
    for i in index:
        r = _array(func1d(getitem(view, i + (Ellipsis,)), *args, **kwargs))
        if _shape(r) != shape0:
            raise ChainruleError("apply_along_axis", message="func1d returned results of "
                                 "different shapes", expected=f"shape {shape0} for every slice",
                                 actual=f"shape {_shape(r)} at index {i}",
                                 fix="make func1d return arrays of one shape")
        res.append(r)
    out = _cast(stack(res), _dtype(res[0]))
    out = reshape(out, loop + shape0)
    k = len(shape0)
    dims = tuple(range(len(loop) + k))
    perm = dims[:axis] + dims[len(loop):] + dims[axis:len(loop)]
    return transpose(out, perm) if perm != dims else out


# ----------------------------------------------------------- apply_over_axes
def apply_over_axes(func, a, axes):
    """``np.apply_over_axes``: ``a = func(a, axis)`` for each axis, keeping the dimensions."""
    val = _array(a)
    n = val.ndim
    if np.ndim(axes) == 0:
        axes = (axes,)
    for axis in axes:
        axis = axis + n if axis < 0 else axis
        res = func(val, axis)
        if len(_shape(res)) != val.ndim:
            res = expand_dims(res, axis) if isinstance(res, Tensor) else \
                np.expand_dims(res, axis)
            if len(_shape(res)) != val.ndim:
                raise ValueError("function is not returning an array of the correct shape")
        val = res
    return val


# ----------------------------------------------------------------- piecewise
def piecewise(x, condlist, funclist, *args, **kw):
    """``np.piecewise``: each entry from the piece (a function or a value) whose condition
    holds, the last true condition winning; 0 where none holds."""
    x = _array(x)
    if isinstance(condlist, Tensor):
        condlist = condlist.data
    if np.isscalar(condlist) or (not isinstance(condlist[0], (list, np.ndarray, Tensor))
                                 and x.ndim != 0):
        condlist = [condlist]
    decided_by_values("piecewise", "the conditions decide which piece each entry takes",
                      *condlist)
    condlist = np.asarray([_values(c) for c in condlist], dtype=bool)
    n, n2 = len(condlist), len(funclist)
    if n == n2 - 1:                              # the "otherwise" piece
        condlist = np.concatenate([condlist, ~np.any(condlist, axis=0, keepdims=True)], axis=0)
        n += 1
    elif n != n2:
        raise ValueError(f"with {n} condition(s), either {n} or {n + 1} functions are expected")
    shape, dtype = _shape(x), _dtype(x)
    flat = reshape(x, (1,)) if x.ndim == 0 else x
    y = np.zeros(shape, dtype)
    for cond, func in zip(condlist, funclist):
        cond = np.broadcast_to(cond, shape)
        picked = np.nonzero(cond.reshape(_shape(flat)))
        if not isinstance(func, collections.abc.Callable):
            piece = broadcast_to(_cast(func, dtype), shape) if isinstance(func, Tensor) \
                else np.broadcast_to(np.asarray(func, dtype), shape)
        else:
            vals = getitem(flat, picked)
            if _shape(vals)[0] == 0:
                continue
            out = _array(func(vals, *args, **kw))
            if isinstance(out, Tensor) and _shape(out) != _shape(vals):
                out = broadcast_to(out, _shape(vals))
            out = _cast(out, dtype)
            piece = index_add(out, picked, _shape(flat)) if isinstance(out, Tensor) else \
                _plain_scatter(out, picked, _shape(flat), dtype)
            piece = reshape(piece, shape) if x.ndim == 0 else piece
        y = where(cond, piece, y)
    return y


def _plain_scatter(out, picked, shape, dtype):
    z = np.zeros(shape, dtype)
    z[picked] = out
    return z


_ops.update(apply_along_axis=apply_along_axis, apply_over_axes=apply_over_axes,
            piecewise=piecewise)
__all__ = sorted(_ops)
