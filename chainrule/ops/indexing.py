"""Indexing: reading entries (getitem) and its adjoint, adding into zeros (index_add).

The two are each other's adjoints, so each one's reverse rule is the other and
its forward rule is itself: derivatives of every order follow from this pair.
``take``, ``take_along_axis`` (and, in shape.py, ``sort``) are built on getitem
with constant integer indices, so they inherit the same rules.
"""
import operator

import numpy as np

from ..core.errors import ChainruleError
from ..core.primitive import Primitive, _shape, defbatch, defjvp, defvjp
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


def _indices(indices):
    """Constant integer indices (a batched index inside vmap stays as it is)."""
    if isinstance(indices, Tensor):
        return indices if hasattr(indices, "_level") else np.asarray(indices.data)
    return np.asarray(indices)


def take(a, indices, axis=None, out=None, mode="raise"):
    """``np.take`` as a getitem with an integer array, so repeats accumulate gradient;
    mode='wrap'/'clip' map the indices first, exactly as NumPy does."""
    indices = _indices(indices)
    if indices.dtype.kind not in "iu":
        raise ChainruleError("take", expected="integer indices", actual=f"dtype {indices.dtype}",
                             fix="convert them, e.g. indices.astype(int)")
    if not isinstance(a, Tensor) and not isinstance(indices, Tensor):
        return np.take(a, indices, axis=axis, out=out, mode=mode)
    if out is not None:
        raise ChainruleError("take", message="out= cannot be recorded for gradients",
                             expected="out=None", actual="an output array",
                             fix="assign the result instead: y = cnp.take(...)")
    from .shape import moveaxis, reshape
    a = a if isinstance(a, Tensor) else np.asarray(a)
    if axis is None:
        a, axis = reshape(a, (-1,)), 0
    ax = _axis(axis, a.ndim, "take")
    if mode in ("wrap", "clip"):
        n = a.shape[ax]
        indices = indices % n if mode == "wrap" else np.clip(indices, 0, n - 1)
    elif mode != "raise":
        raise ChainruleError("take", expected="mode 'raise', 'wrap' or 'clip'",
                             actual=repr(mode), fix="pick one of those")
    if isinstance(indices, Tensor):       # per-example indices: one advanced index in front
        out = getitem(moveaxis(a, ax, 0) if ax else a, indices)
        k = indices.ndim
        return moveaxis(out, tuple(range(k)), tuple(range(ax, ax + k))) if ax and k else out
    return getitem(a, (slice(None),) * ax + (indices,))


def take_along_axis(arr, indices, axis=-1):
    """``np.take_along_axis``: one fancy index per axis, broadcast against ``indices``."""
    indices = _indices(indices)
    if not isinstance(arr, Tensor) and not isinstance(indices, Tensor):
        return np.take_along_axis(arr, indices, axis=axis)
    arr = arr if isinstance(arr, Tensor) else np.asarray(arr)
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


# ------------------------------------------------------- batching rules (vmap)
def _advanced(index):
    """(adjacent, ndim of the advanced block) of a NumPy index, None for basic indexing, or
    False when it cannot be told without the values (a boolean mask that is batched).

    NumPy puts the dimensions of an advanced index where they were when its parts are next to
    each other, and in front otherwise; an int counts as advanced beside an array."""
    parts = index if isinstance(index, tuple) else (index,)
    arrays = [i for i, p in enumerate(parts) if isinstance(p, (list, np.ndarray, Tensor))]
    if not arrays:
        return None
    adv = [i for i, p in enumerate(parts) if i in arrays or
           isinstance(p, (int, np.integer)) and not isinstance(p, (bool, np.bool_))]
    shapes = []
    for i in arrays:
        p = parts[i]
        if isinstance(p, Tensor):
            if p.dtype == bool:
                return False
            shapes.append(p.shape)
            continue
        p = np.asarray(p)
        shapes.append((int(np.count_nonzero(p)),) if p.dtype == bool else p.shape)
    return adv == list(range(adv[0], adv[-1] + 1)), len(np.broadcast_shapes(*shapes))


def _front(index):
    return (slice(None),) + (index if isinstance(index, tuple) else (index,))


def _b_getitem(op, bdims, n, x, index):
    if bdims[1] is not None:
        return _b_gather(op, bdims, n, x, index)
    adv = _advanced(index)
    if adv is False:
        return NotImplemented
    out = op(x, _front(index))
    if adv is not None and not adv[0] and adv[1]:
        from .shape import moveaxis        # the advanced block went in front of the batch
        out = moveaxis(out, adv[1], 0)
    return out


def _b_gather(op, bdims, n, x, index):
    """Indices that differ per example (integer arrays and ints only): one advanced index."""
    from .shape import reshape
    parts, dims = (index, bdims[1]) if isinstance(index, tuple) else ((index,), (bdims[1],))
    parts = [np.asarray(p) if isinstance(p, list) else p for p in parts]
    if any(isinstance(p, (slice, type(None), type(Ellipsis))) or
           np.dtype(getattr(p, "dtype", np.int64)).kind not in "iu" for p in parts):
        return NotImplemented
    shapes = [_shape(p)[1:] if d is not None else _shape(p) for p, d in zip(parts, dims)]
    nd = len(np.broadcast_shapes(*shapes))
    lined = []
    for p, d, sh in zip(parts, dims, shapes):
        if d is not None:
            p = reshape(p, (n,) + (1,) * (nd - len(sh)) + sh)
        lined.append(p.data if type(p) is Tensor else p)
    if bdims[0] is not None:
        lined.insert(0, np.arange(n).reshape((n,) + (1,) * nd))
    return op(x, tuple(lined))


def _b_index_add(op, bdims, n, g, index, shape):
    if bdims[1] is not None:
        return NotImplemented
    adv = _advanced(index)
    if adv is False:
        return NotImplemented
    if adv is not None and not adv[0] and adv[1]:
        from .shape import moveaxis        # the gradient's example axes are advanced-first
        g = moveaxis(g, 0, adv[1])
    return op(g, _front(index), (n,) + tuple(shape))


defbatch(getitem, _b_getitem)
defbatch(index_add, _b_index_add)

_ops["take"], _ops["take_along_axis"] = take, take_along_axis
globals().update(_ops)
__all__ = sorted(_ops)


# ------------------------------------------------ compiled lowering (chainrule.compile)
# getitem is Python's own indexing with the recorded index (slices written as a:b:c);
# index_add runs through its Primitive.fn.  ``e`` is the recorded call.
LOWER = {"getitem": lambda e: f"{e.arg(0)}[{e.index(1)}]"}
