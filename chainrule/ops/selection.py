"""Selecting entries (select, choose, compress, extract), sets of values (unique, the *1d set
functions), and histograms (bin edges, weighted counts, bincount).

Every result here is made of entries of the inputs, or of sums of the weights: the rules
are those of reading entries (getitem, statistics.take_tied) and of adding into bins
(index_add).  A value that several entries share (a unique value, an element of a set)
spreads its gradient evenly over them: the minimum-norm choice (docs/subgradients.md).
Counts, indices and bin numbers have no derivative and come back as constant Tensors.
"""
import builtins
import functools
import operator

import numpy as np

from ..core.errors import ChainruleError
from ..core.primitive import astype
from ..core.tensor import Tensor, decided_by_values
from .construction import _has_tensor, concatenate, diff, stack
from .elementwise import where
from .indexing import getitem, index_add, take, take_along_axis
from .reductions import max as _max
from .reductions import min as _min
from .reductions import sum as _sum
from .shape import broadcast_to, moveaxis, ravel, reshape, transpose
from .statistics import _const, _data, _no_out, _tensor, _tied, value_groups

_ops = {}


def _raw(v):
    """A Tensor's values; anything else (a string bin rule, None, a list) as it is."""
    return v.data if isinstance(v, Tensor) else v


# --------------------------------------------------------------- selection
def select(condlist, choicelist, default=0):
    """``np.select``: the first true condition's choice, else default (each differentiable)."""
    if not _has_tensor(list(choicelist)) and not isinstance(default, Tensor):
        return np.select(condlist, choicelist, default)
    if len(condlist) != len(choicelist):
        raise ValueError("list of cases must be same length as list of conditions")
    if len(condlist) == 0:
        raise ValueError("select with an empty condition list is not possible")

    def keep(c):
        if isinstance(c, Tensor) or type(c) in (int, float, complex):
            return c
        return _tensor(c) if _has_tensor(c) else np.asarray(c)
    choices = [keep(c) for c in choicelist] + [keep(default)]
    dtype = np.result_type(*(c.data if isinstance(c, Tensor) else c for c in choices))
    conds = np.broadcast_arrays(*(_data(c) for c in condlist))
    for i, cond in enumerate(conds):
        if cond.dtype.type is not np.bool_:
            raise TypeError(f"invalid entry {i} in condlist: should be boolean ndarray")
    shape = np.broadcast_shapes(conds[0].shape, *(np.shape(_data(c)) for c in choices))
    out = choices[-1]
    for cond, choice in zip(conds[::-1], choices[-2::-1]):
        out = where(cond, choice, out)
    out = out if isinstance(out, Tensor) else np.asarray(out)
    if out.dtype != dtype:
        out = astype(out, dtype)
    return out if out.shape == shape else broadcast_to(out, shape)


def choose(a, choices, out=None, mode="raise"):
    """``np.choose``: entry i comes from choices[a[i]] (its gradient goes back there)."""
    if not isinstance(choices, Tensor) and not _has_tensor(list(choices)):
        return np.choose(a, choices, out=out, mode=mode)
    _no_out("choose", out)
    idx = np.asarray(_data(a))
    pieces = [getitem(choices, i) for i in range(len(choices))] \
        if isinstance(choices, Tensor) else list(choices)
    n = len(pieces)
    if mode == "raise":
        if idx.size and (idx.min() < 0 or idx.max() >= n):
            raise ValueError("invalid entry in choice array")
    elif mode == "wrap":
        idx = idx % n
    elif mode == "clip":
        idx = np.clip(idx, 0, n - 1)
    else:
        raise ValueError(f"mode must be one of 'raise', 'wrap' or 'clip' (got {mode!r})")
    shape = np.broadcast_shapes(idx.shape, *(np.shape(_data(p)) for p in pieces))
    full = stack([broadcast_to(p, shape) if np.shape(_data(p)) != shape else p for p in pieces])
    return getitem(take_along_axis(full, np.broadcast_to(idx, shape)[None], 0), 0)


def compress(condition, a, axis=None, out=None):
    """``np.compress``: the slices where condition is true (a read of those slices)."""
    x = _tensor(a)
    if x is None:
        return np.compress(condition, a, axis=axis, out=out)
    _no_out("compress", out)
    decided_by_values("compress", "the condition decides which slices are kept", condition)
    cond = np.asarray(_data(condition))
    np.compress(cond, x.data, axis=axis)                 # NumPy's checks
    if axis is None:
        x, axis = ravel(x), 0
    return take(x, np.flatnonzero(cond), axis=axis)


def extract(condition, arr):
    """``np.extract``: the entries where condition is true, flattened."""
    x = _tensor(arr)
    if x is None:
        return np.extract(condition, arr)
    decided_by_values("extract", "the condition decides which entries are kept", condition)
    return take(ravel(x), np.nonzero(np.ravel(_data(condition)))[0])


_ops.update(select=select, choose=choose, compress=compress, extract=extract)


# -------------------------------------------------------------- sets of values
def _values_of(x, values):
    """``values`` (entries of x) read out of x, each shared evenly by the entries equal to it."""
    decided_by_values("unique", "which entries are equal, and so how many values there are, "
                      "depends on the values", x)
    groups = value_groups(_data(x).ravel(), np.asarray(values).ravel())
    return reshape(_tied(ravel(x), groups), np.shape(values))


def _unique_rows(x, values, axis, equal_nan):
    """unique(axis=...): each unique slice is shared by the slices equal to it."""
    decided_by_values("unique", "which slices are equal depends on the values", x)
    ax = operator.index(axis) % max(x.ndim, 1)
    full = np.unique(x.data, return_index=True, return_inverse=True, return_counts=True,
                     axis=ax, equal_nan=equal_nan)
    if not np.array_equal(full[0], values, equal_nan=True):
        raise ChainruleError("unique", message="cannot match the unique slices to the input",
                             fix="report this as a bug in chainrule")
    first, inverse, counts = full[1], np.asarray(full[2]).reshape(-1), full[3]
    groups = (first, inverse, np.arange(len(first)), counts)
    return moveaxis(_tied(moveaxis(x, ax, 0), groups), 0, ax)


def unique(ar, return_index=False, return_inverse=False, return_counts=False, axis=None, *,
           equal_nan=True, sorted=True):
    """``np.unique``; the values are differentiable: a value held by k entries gives each 1/k
    of its gradient (the minimum-norm choice).  Indices, inverse and counts are constants."""
    x = _tensor(ar)
    kw = {} if sorted is True else {"sorted": sorted}
    if x is None:
        return np.unique(ar, return_index, return_inverse, return_counts, axis,
                         equal_nan=equal_nan, **kw)
    res = np.unique(x.data, return_index, return_inverse, return_counts, axis,
                    equal_nan=equal_nan, **kw)
    parts = list(res) if isinstance(res, tuple) else [res]
    parts[0] = _values_of(x, parts[0]) if axis is None else \
        _unique_rows(x, parts[0], axis, equal_nan)
    parts[1:] = [_const(p) for p in parts[1:]]
    return tuple(parts) if isinstance(res, tuple) else parts[0]


def _array_api_unique(np_fn):
    def fn(x):
        t = _tensor(x)
        if t is None:
            return np_fn(x)
        res = np_fn(t.data)
        if not isinstance(res, tuple):
            return _values_of(t, res)
        return type(res)(*(_values_of(t, v) if k == 0 else _const(v) for k, v in enumerate(res)))
    fn.__name__ = np_fn.__name__
    fn.__doc__ = f"``np.{np_fn.__name__}``: values as in unique (ties share their gradient)."
    return fn


for _fn in (np.unique_all, np.unique_counts, np.unique_inverse, np.unique_values) \
        if hasattr(np, "unique_all") else ():
    _ops[_fn.__name__] = _array_api_unique(_fn)


def _set_function(np_fn, sources):
    """A set function of two arrays: its values are read out of the ``sources`` arrays."""
    def fn(ar1, ar2, *args, **kwargs):
        t1, t2 = _tensor(ar1), _tensor(ar2)
        if t1 is None and t2 is None:
            return np_fn(ar1, ar2, *args, **kwargs)
        a1, a2 = (ar1 if t1 is None else t1), (ar2 if t2 is None else t2)
        res = np_fn(_data(a1), _data(a2), *args, **kwargs)
        values = res[0] if isinstance(res, tuple) else res
        pool = concatenate([ravel(a) for a in (a1, a2)[:sources]])
        v = _values_of(pool, values)
        return (v,) + tuple(_const(r) for r in res[1:]) if isinstance(res, tuple) else v
    functools.update_wrapper(fn, np_fn)              # NumPy's name and signature
    fn.__doc__ = (f"``np.{np_fn.__name__}``: each value gets its gradient from the entries "
                  "equal to it (shared evenly).")
    return fn


intersect1d = _set_function(np.intersect1d, 2)
union1d = _set_function(np.union1d, 2)
setxor1d = _set_function(np.setxor1d, 2)
setdiff1d = _set_function(np.setdiff1d, 1)
_ops.update(unique=unique, intersect1d=intersect1d, union1d=union1d, setxor1d=setxor1d,
            setdiff1d=setdiff1d)


# ------------------------------------------------------------------ histograms
def _range_edges(x, n, like):
    """np.linspace(min(x), max(x), n + 1) as NumPy builds bins from the data's range
    (widened by ½ each way when all entries are equal): differentiable in the extremes."""
    if x.size == 0:
        return _const(like)
    lo, hi = _min(x), _max(x)
    if lo.data == hi.data:
        lo, hi = lo - 0.5, hi + 0.5
    step = (hi - lo) / n
    inner = np.arange(n, dtype=lo.dtype) * step + lo
    return concatenate([inner, reshape(hi, (1,))])


def _edges(x, bins, range_, ref):
    """The bin edges as a Tensor: the bins given, or the data's range cut in equal bins."""
    if not isinstance(bins, str) and np.ndim(_raw(bins)) == 1:
        return bins if isinstance(bins, Tensor) else _const(ref)
    if range_ is not None or x is None:
        return _const(ref)
    edges = _range_edges(ravel(x), len(ref) - 1, ref)
    return edges if edges.dtype == ref.dtype else astype(edges, ref.dtype)


def _bins_of(values, edges):
    """Bin number of each value (the last bin holds its right edge); -1 outside the edges."""
    nb = len(edges) - 1
    j = np.searchsorted(edges, values, side="right") - 1
    j[values == edges[-1]] = nb - 1
    j[(values < edges[0]) | (values > edges[-1]) | np.isnan(values)] = -1
    return j


def _weighted_counts(w, bins, size):
    """Sum of the weights in each bin: a scatter-add of the weights (gradient: read back)."""
    w = ravel(w)
    keep = np.flatnonzero(bins >= 0)
    return index_add(getitem(w, keep), bins[keep], (size,))


def histogram_bin_edges(a, bins=10, range=None, weights=None):
    """``np.histogram_bin_edges``: edges from the data's range move with its min and max."""
    x = _tensor(a)
    if x is None and not isinstance(bins, Tensor):
        return np.histogram_bin_edges(a, bins, range, weights)
    ref = np.histogram_bin_edges(_raw(a), _raw(bins), range, _raw(weights))
    return _edges(x, bins, range, ref)


def histogram(a, bins=10, range=None, density=None, weights=None):
    """``np.histogram``: counts are constants in the data, sums of ``weights`` (differentiable)
    with them; edges follow the data's range; ``density`` divides by differentiable widths."""
    x, wt = _tensor(a), _tensor(weights)
    if x is None and wt is None and not isinstance(bins, Tensor):
        return np.histogram(a, bins, range, density, weights)
    ad = np.asarray(_raw(a) if x is None else x.data)
    counts_ref, edges_ref = np.histogram(ad, _raw(bins), range, None, _raw(weights))
    edges = _edges(x, bins, range, edges_ref)
    if wt is not None:
        counts = _weighted_counts(wt, _bins_of(ad.ravel(), edges_ref), len(counts_ref))
        if counts.dtype != counts_ref.dtype:
            counts = astype(counts, counts_ref.dtype)
    else:
        counts = _const(counts_ref)
    if density:
        widths = astype(diff(edges), np.dtype(float))
        counts = counts / widths / _sum(counts)
    return counts, edges


def _sample(sample):
    """histogramdd's sample as an (N, D) Tensor or array, as NumPy reads it: an array of
    shape (N, D) as it is, anything else (a list of coordinate arrays, 1-D) transposed."""
    if isinstance(sample, (Tensor, np.ndarray)) and sample.ndim == 2:
        return sample
    t = _tensor(sample)
    if t is None:
        return np.atleast_2d(sample).T
    return transpose(reshape(t, (1, -1)) if t.ndim < 2 else t)


def histogramdd(sample, bins=10, range=None, density=None, weights=None):
    """``np.histogramdd``: as histogram, along each of the D coordinates."""
    wt = _tensor(weights)
    if not isinstance(sample, Tensor) and not _has_tensor(sample) and wt is None and \
            not _has_tensor(bins):
        return np.histogramdd(sample, bins, range, density, weights)
    s = _sample(sample)
    sd = _data(s)
    N, D = sd.shape
    plain_bins = [_raw(b) for b in bins] if isinstance(bins, (list, tuple)) else _raw(bins)
    hist_ref, edges_ref = np.histogramdd(sd, plain_bins, range, None, _raw(weights))
    per_dim = [bins] * D if np.ndim(plain_bins) == 0 else list(bins)
    ranges = (None,) * D if range is None else range
    edges = [_edges(getitem(s, (slice(None), i)) if isinstance(s, Tensor) else None,
                    per_dim[i], ranges[i], edges_ref[i]) for i in builtins.range(D)]
    if wt is not None:
        cells = np.zeros(N, np.intp)
        inside = np.ones(N, bool)
        for i in builtins.range(D):
            j = _bins_of(sd[:, i], edges_ref[i])
            inside &= j >= 0
            cells = cells * hist_ref.shape[i] + np.maximum(j, 0)
        counts = _weighted_counts(wt, np.where(inside, cells, -1), hist_ref.size)
        counts = reshape(astype(counts, hist_ref.dtype), hist_ref.shape)
    else:
        counts = _const(hist_ref)
    if density:
        total = _sum(counts)
        for i in builtins.range(D):
            shape = [1] * D
            shape[i] = hist_ref.shape[i]
            counts = counts / reshape(diff(edges[i]), tuple(shape))
        counts = counts / total
    return counts, edges


def histogram2d(x, y, bins=10, range=None, density=None, weights=None):
    """``np.histogram2d``: histogramdd of the points (x, y)."""
    if not any(isinstance(v, Tensor) or _has_tensor(v) for v in (x, y, weights)):
        return np.histogram2d(x, y, bins, range, density, weights)
    try:
        n = len(bins)
    except TypeError:
        n = 1
    if n != 1 and n != 2:
        bins = [bins, bins]
    hist, edges = histogramdd([x, y], bins, range, density, weights)
    return hist, edges[0], edges[1]


def bincount(x, /, weights=None, minlength=0):
    """``np.bincount``: with weights, the sum of the weights of each value (differentiable)."""
    wt = _tensor(weights)
    xd = _data(x)
    if wt is None:
        return np.bincount(xd, None if weights is None else _data(weights), minlength)
    decided_by_values("bincount", "the values decide the bins and the length", x)
    ref = np.bincount(xd, wt.data, minlength)            # NumPy's checks and length
    out = index_add(ravel(wt), np.asarray(xd).ravel(), ref.shape)
    return out if out.dtype == ref.dtype else astype(out, ref.dtype)


_ops.update(histogram_bin_edges=histogram_bin_edges, histogram=histogram,
            histogramdd=histogramdd, histogram2d=histogram2d, bincount=bincount)
globals().update(_ops)
__all__ = sorted(_ops)
