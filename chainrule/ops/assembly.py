"""NumPy's construction and shape functions, composed from the rule tables' primitives.

None of these needs a rule of its own: each is a slice, a gather, a reshape, a
broadcast or a concatenation of its inputs (or, for ``vander`` and the
``linspace`` family, a few arithmetic ops), so its derivatives of every order
come from the primitives it is built of.  Where NumPy's index bookkeeping is
intricate (``insert``, ``delete``, ``resize``) NumPy itself is run on an array
of element ids, and the result gathers the inputs' elements by those ids: the
same quirks, by construction, and repeated elements accumulate their gradients.
The layout functions (``ascontiguousarray``, ``require``, ...) are primitives
whose gradient is 1.
"""
import operator
import warnings

import numpy as np

from ..core.errors import ChainruleError
from ..core.primitive import Primitive, _shape, astype, broadcast_to, defjvp, defvjp
from ..core.tensor import Tensor
from .construction import _along, _copy, _data, _has_tensor, _split, _weak, as_dtype, asarray, \
    concatenate, vstack
from .construction import as_input as _tensor
from .indexing import getitem
from .reductions import cumprod
from .shape import diag, flip, moveaxis, ravel, reshape, swapaxes, transpose

_ops = {}


def _gather(pieces, ids):
    """Entries of the flattened, concatenated ``pieces`` at integer ``ids`` (any shape)."""
    flat = [ravel(p) if isinstance(p, Tensor) else np.ravel(p) for p in pieces]
    src = flat[0] if len(flat) == 1 else concatenate(flat)
    return getitem(src, np.asarray(ids, dtype=np.intp))


def _ids(shape, start=0):
    return np.arange(start, start + int(np.prod(shape, dtype=np.int64))).reshape(shape)


# ------------------------------------------------------------- joining, splitting
def append(arr, values, axis=None):
    """``np.append``: a concatenate (of the flattened inputs when axis is None)."""
    if not (_has_tensor(arr) or _has_tensor(values)):
        return np.append(arr, values, axis=axis)
    arr, values = _tensor(arr), _tensor(values)
    if axis is None:
        arr = arr if np.ndim(arr) == 1 else ravel(arr)
        values = ravel(values) if isinstance(values, Tensor) else np.ravel(values)
        axis = arr.ndim - 1
    return concatenate([arr, values], axis=axis)


def _block_depth(arrays, index=()):
    """(depth of the nested lists, largest leaf ndim), checked as np.block checks them."""
    if isinstance(arrays, tuple):
        raise TypeError(f"arrays{''.join(f'[{i}]' for i in index)} is a tuple. Only lists can "
                        "be used to arrange blocks, and np.block does not allow implicit "
                        "conversion from tuple to ndarray.")
    if not isinstance(arrays, list):
        return 0, np.ndim(_data(arrays))
    if not arrays:
        raise ValueError("List at arrays" + "".join(f"[{i}]" for i in index) + " cannot be empty")
    found = [_block_depth(a, index + (i,)) for i, a in enumerate(arrays)]
    depths = {d for d, _ in found}
    if len(depths) > 1:
        raise ValueError(f"List depths are mismatched: depths {sorted(depths)} under arrays"
                         + "".join(f"[{i}]" for i in index))
    return found[0][0] + 1, max(n for _, n in found)


def block(arrays):
    """``np.block``: innermost lists join along the last axis, the next ones along the one
    before, ...; leaves get leading 1s up to the result's ndim.  One concatenate per list."""
    if not _has_tensor(arrays):
        return np.block(arrays)
    depth, leaf_ndim = _block_depth(arrays)
    ndim = max(depth, leaf_ndim)

    def build(obj, level):
        if not isinstance(obj, list):
            obj = _tensor(obj)
            return obj if obj.ndim == ndim else reshape(obj, (1,) * (ndim - obj.ndim) + obj.shape)
        parts = _weak([build(o, level + 1) for o in obj])
        return concatenate(parts, axis=level - depth)

    if depth == 0:
        return _copy(_tensor(arrays))
    return build(arrays, 0)


def concat(arrays, /, axis=0, out=None, *, dtype=None, casting="same_kind"):
    """``np.concat``: the Array API name of concatenate."""
    return concatenate(arrays, axis=axis, out=out, dtype=dtype, casting=casting)


def row_stack(tup, *, dtype=None, casting="same_kind"):
    """``np.row_stack``: NumPy's deprecated alias of vstack (it warns, as NumPy does)."""
    warnings.warn("`row_stack` alias is deprecated. Use `np.vstack` directly.",
                  DeprecationWarning, stacklevel=2)
    return vstack(tup, dtype=dtype, casting=casting)


def unstack(x, /, *, axis=0):
    """``np.unstack``: the entries along ``axis``, each its own getitem."""
    if not _has_tensor(x):
        return np.unstack(x, axis=axis)
    x = _tensor(x)
    if x.ndim == 0:
        raise ValueError("Input array must be at least 1-d.")
    ax = _axis(axis, x.ndim)
    return tuple(getitem(x, _along(ax, x.ndim, i)) for i in range(x.shape[ax]))


def _axis(axis, ndim):
    axis = operator.index(axis)
    if not -ndim <= axis < ndim:
        raise np.exceptions.AxisError(axis, ndim)
    return axis % ndim


def _split_along(name, ary, indices_or_sections, min_ndim, axis_of):
    if not _has_tensor(ary):
        return getattr(np, name)(ary, indices_or_sections)
    ary = _tensor(ary)
    if ary.ndim < min_ndim:
        raise ValueError(f"{name} only works on arrays of {min_ndim} or more dimensions")
    return _split(ary, indices_or_sections, axis_of(ary.ndim), True, np.split)


def vsplit(ary, indices_or_sections):
    """``np.vsplit``: split along axis 0 (at least 2-D)."""
    return _split_along("vsplit", ary, indices_or_sections, 2, lambda n: 0)


def hsplit(ary, indices_or_sections):
    """``np.hsplit``: split along axis 1 (axis 0 for 1-D)."""
    return _split_along("hsplit", ary, indices_or_sections, 1, lambda n: 1 if n > 1 else 0)


def dsplit(ary, indices_or_sections):
    """``np.dsplit``: split along axis 2 (at least 3-D)."""
    return _split_along("dsplit", ary, indices_or_sections, 3, lambda n: 2)


# ------------------------------------------------------------- rearranging
def broadcast_arrays(*args, subok=False):
    """``np.broadcast_arrays``: each argument broadcast to the common shape."""
    if not any(_has_tensor(a) for a in args):
        return np.broadcast_arrays(*args, subok=subok)
    args = [_tensor(a) for a in args]
    shape = np.broadcast_shapes(*(a.shape for a in args))
    return tuple((broadcast_to(a, shape) if isinstance(a, Tensor) else np.broadcast_to(a, shape))
                 if a.shape != shape else a for a in args)


def rollaxis(a, axis, start=0):
    """``np.rollaxis``: the transpose NumPy would make."""
    if not _has_tensor(a):
        return np.rollaxis(a, axis, start)
    a = _tensor(a)
    n = a.ndim
    np.rollaxis(np.empty((0,) * n), axis, start)        # NumPy's own argument checks
    axis, start = axis % n, start + n if start < 0 else start
    if axis < start:
        start -= 1
    if axis == start:
        return a
    axes = [i for i in range(n) if i != axis]
    axes.insert(start, axis)
    return transpose(a, tuple(axes))


def matrix_transpose(x, /):
    """``np.matrix_transpose``: swap the last two axes."""
    if not _has_tensor(x):
        return np.matrix_transpose(x)
    x = _tensor(x)
    if x.ndim < 2:
        raise ValueError(f"Input array must be at least 2-dimensional, but it is {x.ndim}")
    return swapaxes(x, -1, -2)


def permute_dims(a, axes=None):
    """``np.permute_dims``: the Array API name of transpose."""
    return transpose(_tensor(a), axes) if _has_tensor(a) else np.permute_dims(a, axes)


def diagflat(v, k=0):
    """``np.diagflat``: the flattened input on diagonal k of a square matrix."""
    return diag(ravel(_tensor(v)), k) if _has_tensor(v) else np.diagflat(v, k)


def meshgrid(*xi, copy=True, sparse=False, indexing="xy"):
    """``np.meshgrid``: each input reshaped along its own axis, then broadcast (unless sparse)."""
    if not any(_has_tensor(x) for x in xi):
        return np.meshgrid(*xi, copy=copy, sparse=sparse, indexing=indexing)
    if indexing not in ("xy", "ij"):
        raise ValueError("Valid values for `indexing` are 'xy' and 'ij'.")
    n = len(xi)
    shapes = [[1] * n for _ in xi]
    for i in range(n):
        shapes[i][i] = -1
    if indexing == "xy" and n > 1:
        shapes[0][:2], shapes[1][:2] = [1, -1], [-1, 1]
    out = [reshape(x, tuple(s)) if isinstance(x, Tensor) else np.reshape(x, s)
           for x, s in zip((_tensor(x) for x in xi), shapes)]
    if not sparse:
        out = broadcast_arrays(*out)
    if copy:
        out = tuple(_copy(x) if isinstance(x, Tensor) else x.copy() for x in out)
    return out              # a list when sparse without copy, as NumPy's


def trim_zeros(filt, trim="fb", axis=None):
    """``np.trim_zeros``: a slice of the input.  Which slice depends on the values (exact
    zeros at the borders), the slice's gradient does not: 1 on what is kept."""
    if not _has_tensor(filt):
        return np.trim_zeros(filt, trim, axis)
    filt = _tensor(filt)
    trim = trim.lower()
    if trim not in {"fb", "bf", "f", "b"}:
        raise ValueError(f"unexpected character(s) in `trim`: {trim!r}")
    nd = filt.ndim
    axes = tuple(range(nd)) if axis is None else \
        np.lib.array_utils.normalize_axis_tuple(axis, nd, argname="axis")
    if not axes:
        return filt
    nonzero = np.argwhere(filt.data)
    if nonzero.size == 0:
        start = stop = [0] * nd
    else:
        start = nonzero.min(axis=0) if "f" in trim else [None] * nd
        stop = nonzero.max(axis=0) + 1 if "b" in trim else [None] * nd
    index = tuple(slice(start[k], stop[k]) if k in axes else slice(None) for k in range(nd))
    return getitem(filt, index[0] if nd == 1 else index)


# -------------------------------------------------- NumPy's index bookkeeping on ids
def delete(arr, obj, axis=None):
    """``np.delete``: the kept entries, found by deleting from an array of ids."""
    if not _has_tensor(arr):
        return np.delete(arr, obj, axis=axis)
    arr = _tensor(arr)
    return _gather([arr], np.delete(_ids(arr.shape), _data(obj), axis=axis))


def insert(arr, obj, values, axis=None):
    """``np.insert``: NumPy inserts value ids among element ids; both inputs are gathered
    (values take arr's dtype, as in NumPy)."""
    if not (_has_tensor(arr) or _has_tensor(values)):
        return np.insert(arr, obj, values, axis=axis)
    arr, values = _tensor(arr), _tensor(values)
    if values.dtype != arr.dtype:
        values = astype(values, arr.dtype) if isinstance(values, Tensor) \
            else values.astype(arr.dtype)
    ids = np.insert(_ids(arr.shape), _data(obj), _ids(values.shape, arr.size), axis=axis)
    return _gather([arr, values], ids)


def resize(a, new_shape):
    """``np.resize``: the flattened input repeated to fill the new shape (repeats add up)."""
    if not _has_tensor(a):
        return np.resize(a, new_shape)
    a = _tensor(a)
    if a.size == 0:                     # NumPy fills with zeros: nothing depends on a
        return np.resize(a.data, new_shape)
    return _gather([a], np.resize(_ids(a.shape), new_shape))


# ------------------------------------------------------------- filled arrays
def _filled(fill_value, shape, dtype):
    fill = _tensor(fill_value)
    if dtype is not None and np.dtype(dtype) != fill.dtype:
        fill = astype(fill, np.dtype(dtype))
    shape = (operator.index(shape),) if np.ndim(shape) == 0 else tuple(shape)
    return _copy(broadcast_to(fill, shape))       # its own writeable buffer, like np.full's


def full(shape, fill_value, dtype=None, order="C", *, device=None, like=None):
    """``np.full``: a Tensor ``fill_value`` broadcast (its gradient sums over the copies)."""
    if not _has_tensor(fill_value):
        return np.full(shape, fill_value, dtype=dtype, order=order, device=device, like=like)
    return _filled(fill_value, shape, dtype)


def full_like(a, fill_value, dtype=None, order="K", subok=True, shape=None, *, device=None):
    """``np.full_like``: differentiable in ``fill_value``; ``a`` gives only shape and dtype."""
    if not _has_tensor(fill_value):
        return np.full_like(_data(a) if isinstance(a, Tensor) else a, fill_value, dtype=dtype,
                            order=order, subok=subok, shape=shape, device=device)
    a = np.asarray(_data(a)) if not _has_tensor(a) else _tensor(a).data
    return _filled(fill_value, a.shape if shape is None else shape,
                   a.dtype if dtype is None else dtype)


# ------------------------------------------------------------- memory layout
def _layout(name, fn):
    """A primitive that changes only how the values sit in memory: gradient 1."""
    op = Primitive(name, fn)
    defvjp(op, lambda g, ans, x, *a: reshape(g, _shape(x)), formulas={0: "1"})
    defjvp(op, lambda t, ans, x, *a: op(t, *a))
    return op


_contiguous = _layout("ascontiguousarray", np.ascontiguousarray)   # 0-d in, (1,) out
_fortran = _layout("asfortranarray", np.asfortranarray)
_require = _layout("require", lambda x, requirements: np.require(x, None, requirements))


def asanyarray(a, dtype=None, order=None, *, device=None, copy=None, like=None):
    """``np.asanyarray``: a Tensor comes back as it is (the same as asarray)."""
    if not _has_tensor(a):
        return np.asanyarray(a, dtype=dtype, order=order, device=device, copy=copy, like=like)
    return asarray(a, dtype=dtype, order=order, copy=copy)


def asarray_chkfinite(a, dtype=None, order=None):
    """``np.asarray_chkfinite``: asarray, refusing infinities and NaNs as NumPy does."""
    if not _has_tensor(a):
        return np.asarray_chkfinite(a, dtype=dtype, order=order)
    a = _tensor(a)
    if a.dtype.kind in "fc" and not np.isfinite(a.data).all():
        raise ValueError("array must not contain infs or NaNs")
    return as_dtype(a, dtype)


def ascontiguousarray(a, dtype=None, *, like=None):
    """``np.ascontiguousarray``: C-ordered values (at least 1-D, as NumPy makes them)."""
    if not _has_tensor(a):
        return np.ascontiguousarray(a, dtype=dtype, like=like)
    return _contiguous(as_dtype(_tensor(a), dtype))


def asfortranarray(a, dtype=None, *, like=None):
    """``np.asfortranarray``: Fortran-ordered values."""
    if not _has_tensor(a):
        return np.asfortranarray(a, dtype=dtype, like=like)
    return _fortran(as_dtype(_tensor(a), dtype))


def require(a, dtype=None, requirements=None, *, like=None):
    """``np.require``: the values with the requested flags (C, F, A, W, O, E)."""
    if not _has_tensor(a):
        return np.require(a, dtype=dtype, requirements=requirements, like=like)
    a = as_dtype(_tensor(a), dtype)
    return _require(a, requirements) if requirements else a


# --------------------------------------------------------------- sequences
def vander(x, N=None, increasing=False):
    """``np.vander``: columns x^k as running products (NumPy's own arithmetic, so equal
    values; cumprod's rule is exact at x = 0)."""
    if not _has_tensor(x):
        return np.vander(x, N, increasing)
    x = _tensor(x)
    if x.ndim != 1:
        raise ValueError("x must be a one-dimensional array or sequence.")
    n = len(x) if N is None else operator.index(N)
    x = as_dtype(x, np.promote_types(x.dtype, int))
    if n == 0:
        return np.empty((len(x), 0), x.dtype)
    ones = np.ones((len(x), 1), x.dtype)
    v = cumprod(concatenate([ones, broadcast_to(reshape(x, (-1, 1)), (len(x), n - 1))], axis=1),
                axis=1)
    return v if increasing else flip(v, 1)


def _inexact(*values):
    """The dtype linspace computes in: the arguments' (Python numbers are weak), made inexact."""
    return np.result_type(*(v.dtype if isinstance(v, (Tensor, np.ndarray, np.generic)) else v
                            for v in values), 1.0)


def linspace(start, stop, num=50, endpoint=True, retstep=False, dtype=None, axis=0, *,
             device=None):
    """``np.linspace`` with NumPy's arithmetic (k·step + start, the last point = stop), so
    the values agree and start/stop (Tensors of any broadcastable shapes) get gradients."""
    if not (_has_tensor(start) or _has_tensor(stop)):
        return np.linspace(start, stop, num, endpoint, retstep, dtype, axis, device=device)
    num = operator.index(num)
    if num < 0:
        raise ValueError(f"Number of samples, {num}, must be non-negative.")
    start, stop = _tensor(start), _tensor(stop)
    dt = _inexact(start, stop)
    start, stop = as_dtype(start, dt), as_dtype(stop, dt)
    div = num - 1 if endpoint else num
    delta = stop - start
    k = np.arange(num, dtype=dt).reshape((-1,) + (1,) * delta.ndim)
    if div > 0:
        step = delta / div
        y = k * step if not (_data(step) == 0).any() else k / div * delta
    else:
        step, y = np.nan, k * delta
    y = y + start
    if endpoint and num > 1:
        last = reshape(broadcast_to(stop, delta.shape), (1,) + delta.shape)
        y = concatenate([getitem(y, slice(None, -1)), as_dtype(last, y.dtype)])
    if axis != 0:
        y = moveaxis(y, 0, axis)
    if dtype is not None and np.issubdtype(dtype, np.integer):
        y = np.floor(y.data)             # integers: piecewise constant, no gradient
    y = as_dtype(y, dtype)
    return (y, step) if retstep else y


def logspace(start, stop, num=50, endpoint=True, base=10.0, dtype=None, axis=0):
    """``np.logspace``: base ** linspace(start, stop); a Tensor base gets a gradient too."""
    if not (_has_tensor(start) or _has_tensor(stop) or _has_tensor(base)):
        return np.logspace(start, stop, num, endpoint, base, dtype, axis)
    start, stop, base = _tensor(start), _tensor(stop), _tensor(base)
    if base.ndim:                       # as NumPy: broadcast together, base along the new axis
        nd = np.broadcast_shapes(start.shape, stop.shape, base.shape).__len__()
        start, stop, base = (reshape(v, (1,) * (nd - v.ndim) + v.shape)
                             if isinstance(v, Tensor) else v.reshape((1,) * (nd - v.ndim) + v.shape)
                             for v in (start, stop, base))
        base = reshape(base, _expanded(base.shape, axis)) if isinstance(base, Tensor) \
            else np.expand_dims(base, axis)
    y = linspace(start, stop, num=num, endpoint=endpoint, axis=axis)
    base = as_dtype(base, y.dtype) if isinstance(base, Tensor) and base.dtype.kind != "f" else base
    out = base ** y if isinstance(base, Tensor) else np.asarray(base, y.dtype) ** y
    return as_dtype(out, dtype)


def _expanded(shape, axis):
    return np.expand_dims(np.broadcast_to(np.empty((), bool), shape), axis).shape


def geomspace(start, stop, num=50, endpoint=True, dtype=None, axis=0):
    """``np.geomspace`` as NumPy computes it (sign taken out, logspace of the logs, exact end
    points), for real inputs."""
    if not (_has_tensor(start) or _has_tensor(stop)):
        return np.geomspace(start, stop, num, endpoint, dtype, axis)
    start, stop = _tensor(start), _tensor(stop)
    if (_data(start) == 0).any() or (_data(stop) == 0).any():
        raise ValueError("Geometric sequence cannot include zero")
    dt = np.result_type(_data(start), _data(stop), float(num), np.zeros((), dtype))
    if dt.kind == "c":
        raise ChainruleError("geomspace", message="complex end points are not supported yet",
                             expected="real start and stop", actual=f"dtype {dt}",
                             fix="pass real values, or t.detach() to compute without a gradient")
    start, stop = as_dtype(start, dt), as_dtype(stop, dt)
    sign = np.sign(_data(start)).astype(dt)
    start, stop = start / sign, stop / sign
    with np.errstate(invalid="ignore"):        # a negative stop/start: nan, as in NumPy
        from .elementwise import log10
        out = logspace(log10(start), log10(stop), num=num, endpoint=endpoint)
    if num > 0:
        shape = (1,) + out.shape[1:]
        ends = [reshape(broadcast_to(start, out.shape[1:]), shape)]
        middle = slice(1, -1) if num > 1 and endpoint else slice(1, None)
        ends.append(getitem(out, middle))
        if num > 1 and endpoint:
            ends.append(reshape(broadcast_to(stop, out.shape[1:]), shape))
        out = concatenate([as_dtype(e, out.dtype) for e in ends])
    out = out * sign
    if axis != 0:
        out = moveaxis(out, 0, axis)
    return as_dtype(out, dtype)


_ops.update(append=append, block=block, concat=concat, row_stack=row_stack, unstack=unstack,
            vsplit=vsplit, hsplit=hsplit, dsplit=dsplit, broadcast_arrays=broadcast_arrays,
            rollaxis=rollaxis, matrix_transpose=matrix_transpose, permute_dims=permute_dims,
            diagflat=diagflat, meshgrid=meshgrid, trim_zeros=trim_zeros, delete=delete,
            insert=insert, resize=resize, full=full, full_like=full_like, asanyarray=asanyarray,
            asarray_chkfinite=asarray_chkfinite, ascontiguousarray=ascontiguousarray,
            asfortranarray=asfortranarray, require=require, vander=vander, linspace=linspace,
            logspace=logspace, geomspace=geomspace)
__all__ = sorted(_ops)
