"""Indexing: reading entries (getitem) and its adjoint, adding into zeros (index_add).

The two are each other's adjoints, so each one's reverse rule is the other and
its forward rule is itself: derivatives of every order follow from this pair.
``take``, ``take_along_axis`` (and, in shape.py, ``sort``) are built on getitem
with constant integer indices, so they inherit the same rules.
"""
import operator

import numpy as np

from ..core.errors import ChainruleError
from ..core.primitive import Primitive, _shape, defjvp, defvjp
from ..core.tensor import Tensor, _plain_index

_ops = {}
_BASIC = (int, np.integer, slice, type(Ellipsis), type(None))


def _is_basic(index):
    """Basic indexing (ints, slices, ..., None) never selects an entry twice."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(isinstance(p, _BASIC) and not isinstance(p, (bool, np.bool_)) for p in parts)


def _getitem(x, index):
    return x[index]


def _index_add(g, index, shape):
    """Zeros of ``shape`` with ``g`` added at ``index``; repeated indices accumulate."""
    out = np.zeros(shape, dtype=np.result_type(g))
    if _is_basic(index):
        out[index] = g                  # no entry is hit twice: plain assignment is enough
    else:
        np.add.at(out, index, g)
    return out


getitem = _ops["getitem"] = Primitive("getitem", _getitem)
index_add = _ops["index_add"] = Primitive("index_add", _index_add)
# getitem  (x, index)        reverse: scatter-add back        forward: same selection of the tangent
# index_add(g, index, shape) reverse: gather the same entries forward: scatter the tangent
defvjp(getitem, lambda g, ans, x, index: index_add(g, _plain_index(index), _shape(x)),
       formulas={0: "scatter-add (repeated indices accumulate)"})
defjvp(getitem, lambda t, ans, x, index: getitem(t, _plain_index(index)))
defvjp(index_add, lambda g, ans, gin, index, shape: getitem(g, _plain_index(index)),
       formulas={0: "gather"})
defjvp(index_add, lambda t, ans, gin, index, shape: index_add(t, _plain_index(index), shape))


# ------------------------------------------------ built on getitem (constant indices)
def _axis(axis, ndim, op):
    try:
        axis = operator.index(axis)
    except TypeError:
        raise ChainruleError(op, expected="an integer axis", actual=repr(axis),
                             fix="pass one axis, e.g. axis=-1") from None
    if not -ndim <= axis < ndim:
        raise np.exceptions.AxisError(axis, ndim)
    return axis % ndim


def _data(x):
    return x.data if isinstance(x, Tensor) else x


def take(a, indices, axis=None):
    """``np.take`` as a getitem with an integer array, so repeats accumulate gradient."""
    indices = np.asarray(_data(indices))
    if indices.dtype.kind not in "iu":
        raise ChainruleError("take", expected="integer indices", actual=f"dtype {indices.dtype}",
                             fix="convert them, e.g. indices.astype(int)")
    if not isinstance(a, Tensor):
        return np.take(a, indices, axis=axis)
    if axis is None:
        from .shape import reshape
        return getitem(reshape(a, (-1,)), indices)
    ax = _axis(axis, a.ndim, "take")
    return getitem(a, (slice(None),) * ax + (indices,))


def take_along_axis(arr, indices, axis=-1):
    """``np.take_along_axis``: one fancy index per axis, broadcast against ``indices``."""
    indices = np.asarray(_data(indices))
    if not isinstance(arr, Tensor):
        return np.take_along_axis(arr, indices, axis=axis)
    if axis is None:
        from .shape import reshape
        arr, axis = reshape(arr, (-1,)), 0
    if indices.ndim != arr.ndim or indices.dtype.kind not in "iu":
        raise ChainruleError("take_along_axis",
                             expected=f"integer indices with {arr.ndim} dimensions (like arr)",
                             actual=f"shape {indices.shape} dtype {indices.dtype}",
                             fix="use the output of argsort/argmax(..., keepdims=True)")
    ax = _axis(axis, arr.ndim, "take_along_axis")
    index = []
    for d, n in enumerate(arr.shape):
        if d == ax:
            index.append(indices)
        else:
            shape = [1] * arr.ndim
            shape[d] = n
            index.append(np.arange(n).reshape(shape))
    return getitem(arr, tuple(index))


_ops["take"], _ops["take_along_axis"] = take, take_along_axis
globals().update(_ops)
__all__ = sorted(_ops)


# ------------------------------------------------ compiled lowering (chainrule.compile)
# getitem is Python's own indexing with the recorded index (slices written as a:b:c);
# index_add runs through its Primitive.fn.  ``e`` is the recorded call.
LOWER = {"getitem": lambda e: f"{e.arg(0)}[{e.index(1)}]"}
