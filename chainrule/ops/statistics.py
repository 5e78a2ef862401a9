"""Order statistics (partition, median, percentile, quantile), NaN-skipping reductions,
averages and covariances.

An order statistic is an entry of its input: its derivative is that entry's, and at a
tie (k entries share the value) the subdifferential is the simplex over the k entries,
whose minimum-norm element gives 1/k to each.  ``take_tied`` is the one primitive this
needs: it reads entries like ``getitem`` and spreads each output's gradient evenly over
the entries tied with it.  Everything else here is composed from existing primitives
(quantiles are ``(1−γ)·x₍ⱼ₎ + γ·x₍ⱼ₊₁₎`` written as NumPy writes it, so the values
are NumPy's), which is what makes every order of derivative exact.

NaN: the ``nan*`` functions give NaN entries gradient 0 and return NaN, with NumPy's
warning, for a slice that is all NaN.  The plain functions return NaN for a slice that
holds one, as NumPy does; that NaN is an entry of the input and takes the gradient.
"""
import math
import warnings

import numpy as np

from ..core.errors import ChainruleError
from ..core.primitive import Primitive, _dtype, _shape, astype, conj, defjvp, defvjp
from ..core.tensor import Tensor, decided_by_values
from .complex import real
from .construction import _has_tensor, asarray, concatenate
from .elementwise import multiply, sqrt
from .elementwise import where as _where
from .indexing import getitem, index_add
from .linalg import dot
from .reductions import cumprod as _cumprod
from .reductions import cumsum as _cumsum
from .reductions import max as _max
from .reductions import mean as _mean
from .reductions import min as _min
from .reductions import prod as _prod
from .reductions import sum as _sum
from .shape import diagonal, moveaxis, reshape, transpose

try:
    from numpy.lib.array_utils import normalize_axis_tuple
except ImportError:                                     # NumPy < 2
    from numpy.core.numeric import normalize_axis_tuple

_ops = {}
_NoValue = np._NoValue


# ----------------------------------------------------------------- helpers
def _data(x):
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def _tensor(a):
    """``a`` as a Tensor when it is one or a (nested) list holding one; else None."""
    if isinstance(a, Tensor):
        return a
    return asarray(a) if _has_tensor(a) else None


def _const(value):
    """A result that has no derivative (counts, indices, an empty reduction): a constant Tensor."""
    return Tensor(np.asarray(value))


def _no_out(name, out):
    if out is not None:
        raise ChainruleError(name, message="out= cannot be recorded for gradients",
                             expected="out=None", actual="an output array",
                             fix=f"assign the result instead: y = cnp.{name}(...)")


def _given(v):
    return v is not _NoValue


# ------------------------------------------- the primitive: entries, ties shared
def _take_tied_fn(x, rep, lab_in, lab_out, counts):
    return x[rep]


def _share(counts, labels, like, ndim):
    """1/k for each entry of a group of k tied entries, shaped to scale rows of ``like``."""
    w = (1.0 / counts)[labels].astype(_dtype(like))
    return w.reshape(w.shape + (1,) * (ndim - 1))


def _take_tied_vjp(g, ans, x, rep, lab_in, lab_out, counts):
    shape = _shape(x)
    per_group = index_add(g, lab_out, (len(counts),) + shape[1:])
    return getitem(per_group, lab_in) * _share(counts, lab_in, x, len(shape))


def _take_tied_jvp(t, ans, x, rep, lab_in, lab_out, counts):
    shape = _shape(x)
    per_group = index_add(t, lab_in, (len(counts),) + shape[1:])
    return getitem(per_group, lab_out) * _share(counts, lab_out, x, len(shape))


# take_tied(x, rep, lab_in, lab_out, counts) = x[rep] along axis 0, where entry (row) i of x
# is in group lab_in[i], output p shows a member of group lab_out[p], and counts[k] is the
# size of group k.  Its Jacobian J[p, i] = [lab_in[i] == lab_out[p]] / counts[lab_out[p]] is
# the minimum-norm one; both rules are sums and reads, so they differentiate again.
take_tied = Primitive("take_tied", _take_tied_fn)
defvjp(take_tied, _take_tied_vjp, formulas={0: "1/k on each of the k tied entries"})
defjvp(take_tied, _take_tied_jvp)


def _tied(x, groups):
    rep, lab_in, lab_out, counts = groups
    if counts.size == 0 or counts.max() <= 1:       # no ties: a plain read
        return getitem(x, rep)
    return take_tied(x, rep, lab_in, lab_out, counts)


def _equal(a, b):
    """a == b with NaN equal to NaN (NaNs are tied with each other)."""
    return (a == b) | (np.isnan(a) & np.isnan(b))


def value_groups(xv, vv, x_slice=None, v_slice=None):
    """Groups of equal entries for reading the values ``vv`` out of the entries ``xv``.

    Both are 1-D; entries only group with entries of the same slice id.  Returns
    (rep, lab_in, lab_out, counts) for take_tied: rep[p] is an entry equal to vv[p].
    """
    xv, vv = np.asarray(xv).ravel(), np.asarray(vv).ravel()
    n, k = xv.size, vv.size
    x_slice = np.zeros(n, np.intp) if x_slice is None else x_slice
    v_slice = np.zeros(k, np.intp) if v_slice is None else v_slice
    vals = np.concatenate([xv, vv.astype(xv.dtype, copy=False)])
    slices = np.concatenate([x_slice, v_slice])
    is_value = np.concatenate([np.zeros(n, bool), np.ones(k, bool)])
    order = np.lexsort((is_value, vals, slices))       # entries before values in each group
    sv, ss = vals[order], slices[order]
    new = np.ones(n + k, bool)
    new[1:] = ~_equal(sv[1:], sv[:-1]) | (ss[1:] != ss[:-1])
    labels = np.empty(n + k, np.intp)
    labels[order] = np.cumsum(new) - 1
    first = order[new]                                  # first member of each group
    lab_in, lab_out = labels[:n], labels[n:]
    rep = first[lab_out]
    if rep.size and rep.max() >= n:
        raise ChainruleError("take_tied", message="a value is not an entry of its slice",
                             fix="report this as a bug in chainrule")
    return rep, lab_in, lab_out, np.bincount(lab_in, minlength=first.size)


def row_groups(xrows, vrows):
    """Groups of equal rows (compared as NumPy's unique(axis=...) compares them)."""
    n = len(xrows)
    both = np.concatenate([xrows, vrows]).reshape(n + len(vrows), -1)
    _, first, inv = np.unique(both, axis=0, return_index=True, return_inverse=True)
    inv = inv.reshape(-1)
    lab_in, lab_out = inv[:n], inv[n:]
    rep = first[lab_out]          # np.unique's first occurrence: an entry of xrows (they lead)
    return rep, lab_in, lab_out, np.bincount(lab_in, minlength=first.size)


def pick(x2, values):
    """Read ``values`` (B, k) out of the rows of ``x2`` (B, n): the minimum-norm selection."""
    decided_by_values("quantile", "which entries are picked depends on the values", x2)
    B, n = _shape(x2)
    k = values.shape[1]
    groups = value_groups(_data(x2).ravel(), values.ravel(), np.repeat(np.arange(B), n),
                          np.repeat(np.arange(B), k))
    return reshape(_tied(reshape(x2, (-1,)), groups), (B, k))


def pick_sorted(x2, order, xs, pos):
    """Read the sorted positions ``pos`` (B, k) of the rows of ``x2`` (``order`` their argsort,
    ``xs`` the sorted rows): a plain read unless a picked entry is tied with a neighbour."""
    B, n = xs.shape
    rows = np.arange(B)[:, None]
    v = xs[rows, pos]
    tied = ((pos > 0) & _equal(xs[rows, np.maximum(pos - 1, 0)], v)) | \
        ((pos < n - 1) & _equal(xs[rows, np.minimum(pos + 1, n - 1)], v))
    if tied.any():
        return pick(x2, v)
    return reshape(getitem(reshape(x2, (-1,)), (rows * n + order[rows, pos]).reshape(-1)),
                   pos.shape)


def _sorted_rows(xd):
    decided_by_values("quantile", "which entries are picked depends on their order", xd)
    order = np.argsort(xd, axis=1, kind="stable")      # NaNs last, as np.sort puts them
    return order, np.take_along_axis(xd, order, axis=1)


# -------------------------------------------------------------- reduced layout
def _moved(x, axis):
    """``x`` as (B, n): the kept axes first, in order, and the reduced ones flattened last."""
    nd = x.ndim
    axes = tuple(range(nd)) if axis is None else normalize_axis_tuple(axis, nd)
    kept = [i for i in range(nd) if i not in axes]
    perm = kept + sorted(axes)
    xt = transpose(x, tuple(perm)) if perm != list(range(nd)) else x
    kshape = tuple(x.shape[i] for i in kept)
    return reshape(xt, (math.prod(kshape), math.prod(x.shape[i] for i in axes))), kshape, axes


def _placed(r, qshape, kshape, axes, shape, keepdims):
    """A (B, Q) result as NumPy lays it out: q's shape, then the kept (or keepdims) shape."""
    r = transpose(r, (1, 0))
    if keepdims is True:
        kshape = tuple(1 if i in axes else s for i, s in enumerate(shape))
    return reshape(r, tuple(qshape) + tuple(kshape))


# ----------------------------------------------------------------- partition
def partition(a, kth, axis=-1, kind="introselect", order=None):
    """``np.partition``: each output entry is an input entry (ties share their gradient)."""
    x = _tensor(a)
    if x is None:
        return np.partition(a, kth, axis=axis, kind=kind, order=order)
    if order is not None:
        raise ChainruleError("partition", expected="order=None", actual=f"order={order!r}",
                             fix="structured arrays have no gradient; partition plain floats")
    if axis is None:
        x, axis = reshape(x, (-1,)), -1
    ref = np.partition(x.data, kth, axis=axis, kind=kind)
    ax = normalize_axis_tuple(axis, x.ndim)[0]
    x2, kshape, _ = _moved(x, ax)
    r = pick(x2, np.moveaxis(ref, ax, -1).reshape(x2.shape))
    return moveaxis(reshape(r, kshape + (x.shape[ax],)), -1, ax)


# ------------------------------------------------------- median and quantiles
def _empty_result(fn, x, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return _const(fn(x.data, *args, **kwargs))


def _median(name, a, axis, out, keepdims, skipnan):
    x = _tensor(a)
    np_fn = np.nanmedian if skipnan else np.median
    if x is None:
        kw = {} if not _given(keepdims) else {"keepdims": keepdims}
        return np_fn(a, axis=axis, out=out, **kw)
    _no_out(name, out)
    keepdims = keepdims is True
    ref = np_fn(x.data, axis=axis, keepdims=keepdims)   # NumPy's checks, warnings, dtype
    x2, kshape, axes = _moved(x, axis)
    xd = x2.data
    if xd.size == 0:
        return _const(ref)
    order, xs = _sorted_rows(xd)
    B, n = xs.shape
    valid = n - np.isnan(xd).sum(axis=1)
    count = valid if skipnan else np.full(B, n)
    lo, hi = np.maximum(count - 1, 0) // 2, np.minimum(count // 2, n - 1)
    pos = np.stack([lo, hi], axis=1)
    if not skipnan:                           # NumPy: a slice holding NaN has median NaN
        pos[valid < n] = valid[valid < n, None]           # (the first NaN)
    ab = pick_sorted(x2, order, xs, pos)   # the middle entry twice (odd), or the middle two
    low = getitem(ab, (slice(None), slice(0, 1)))
    odd = (count % 2 == 1)[:, None]
    r = low if odd.all() else _where(odd, low, _mean(ab, axis=1, keepdims=True))
    if skipnan and (count == 0).any():
        r = _where((count == 0)[:, None], np.nan, r)
    r = _placed(r, (), kshape, axes, x.shape, keepdims)
    return r if r.dtype == np.asarray(ref).dtype else astype(r, np.asarray(ref).dtype)


def median(a, axis=None, out=None, overwrite_input=False, keepdims=False):
    """``np.median``: the middle entry, or the mean of the middle two (ties share)."""
    return _median("median", a, axis, out, keepdims, skipnan=False)


def nanmedian(a, axis=None, out=None, overwrite_input=False, keepdims=_NoValue):
    """``np.nanmedian``: the median of the entries that are not NaN (NaNs get gradient 0)."""
    return _median("nanmedian", a, axis, out, keepdims, skipnan=True)


# Hyndman & Fan's (alpha, beta): virtual index n·q + (alpha + q(1 − alpha − beta)) − 1
_PLOTTING = {"interpolated_inverted_cdf": (0, 1), "hazen": (0.5, 0.5), "weibull": (0, 0),
             "median_unbiased": (1 / 3.0, 1 / 3.0), "normal_unbiased": (3 / 8.0, 3 / 8.0)}
_CONTINUOUS = {"linear", "averaged_inverted_cdf", "midpoint", *_PLOTTING}
_DISCRETE = {"inverted_cdf", "closest_observation", "lower", "higher", "nearest"}


def _virtual_index(method, n, q):
    """Where quantile q sits in a sorted slice of n entries (a Tensor when q is one)."""
    qd = _data(q)
    if method == "linear":
        return (n - 1) * q
    if method == "averaged_inverted_cdf":
        return n * q - 1
    if method == "midpoint":                 # piecewise constant in q
        return 0.5 * (np.floor((n - 1) * qd) + np.ceil((n - 1) * qd))
    alpha, beta = _PLOTTING[method]
    return n * q + (alpha + q * (1 - alpha - beta)) - 1


def _interpolation(method, n, q):
    """(lower position, upper position, gamma) of the linear interpolation, as NumPy forms them."""
    v = _virtual_index(method, n, q)
    vd = _data(v)
    prev = np.floor(vd)
    nxt = prev + 1
    above, below = vd >= n - 1, vd < 0
    prev, nxt = np.where(above, -1, prev), np.where(above, -1, nxt)
    prev, nxt = np.where(below, 0, prev), np.where(below, 0, nxt)
    prev, nxt = prev.astype(np.intp), nxt.astype(np.intp)
    gamma = v - prev
    gd = np.asarray(_data(gamma), dtype=vd.dtype)
    if method == "averaged_inverted_cdf":
        gamma = np.where(gd == 0, 0.5, 1.0).astype(vd.dtype)
    elif method == "midpoint":
        gamma = np.where(vd % 1 == 0, 0.0, 0.5).astype(vd.dtype)
    elif isinstance(gamma, Tensor):
        gamma = astype(gamma, vd.dtype) if gamma.dtype != vd.dtype else gamma
    else:
        gamma = gd
    last = np.asarray(n).astype(np.intp) - 1
    return np.where(prev < 0, last, prev), np.where(nxt < 0, last, nxt), gamma


def _flatter_piece(xs, rows, lo, hi, gamma):
    """At a whole virtual index (γ = 0) the quantile has a kink in q: its slopes there are the
    gaps to the entries below and above.  Use the piece with the smaller gap, the minimum-norm
    subgradient (x₍ⱼ₋₁₎ + (x₍ⱼ₎ − x₍ⱼ₋₁₎)·1 is the same value, x₍ⱼ₎)."""
    kink = (_data(gamma) == 0) & (lo >= 1) & (hi == lo + 1)
    if not kink.any():
        return lo, hi, gamma
    below = lo - kink                                     # lo − 1 at the kinks
    with np.errstate(invalid="ignore"):
        left = kink & (xs[rows, lo] - xs[rows, below] < xs[rows, hi] - xs[rows, lo])
    return np.where(left, lo - 1, lo), np.where(left, lo, hi), gamma + left


def _lerp(a, b, gamma, weak, dtype):
    """NumPy's interpolation a + (b − a)·γ, or b − (b − a)(1 − γ) for γ ≥ ½, in its dtypes."""
    gd = _data(gamma)
    upper = gd >= 0.5
    if weak:                                 # a Python-number q: γ acts as a Python float
        t, omt = gd.astype(dtype), (1 - gd).astype(dtype)
    else:
        t, omt = gamma, 1 - gamma
    d = b - a
    return _where(upper, b - d * omt, a + d * t)


_QUANTILE_FNS = {(False, False): np.quantile, (False, True): np.percentile,
                 (True, False): np.nanquantile, (True, True): np.nanpercentile}


def _quantile(name, a, q, axis, out, method, keepdims, weights, skipnan, percent):
    np_fn = _QUANTILE_FNS[skipnan, percent]
    x, qt = _tensor(a), (q if isinstance(q, Tensor) else None)
    if x is None and qt is None and not isinstance(weights, Tensor):
        kw = {} if weights is None else {"weights": weights}
        if _given(keepdims):
            kw["keepdims"] = keepdims
        return np_fn(a, q, axis=axis, out=out, method=method, **kw)
    _no_out(name, out)
    x = x if x is not None else _const(np.asarray(a))
    keepdims = keepdims is True
    kw = {} if weights is None else {"weights": _data(weights)}
    # NumPy's result first: its checks, its warnings, its dtype, and the picks it made
    ref = np.asarray(np_fn(x.data, q if qt is None else q.data, axis=axis, method=method,
                           keepdims=keepdims, **kw))
    x2, kshape, axes = _moved(x, axis)
    if x2.size == 0:
        return _const(ref)
    qd = np.asarray(_data(q))
    qn = qd / 100 if percent else qd
    order, xs = _sorted_rows(x2.data)
    B, n = xs.shape
    count = n - np.isnan(x2.data).sum(axis=1) if skipnan else None
    empty = count == 0 if skipnan else np.zeros(B, bool)
    if weights is not None or method in _DISCRETE or qn.dtype.kind in "biu":
        vals = ref.reshape(qn.size, B).T.copy()    # NumPy's picks: entries of the slices
        vals[empty] = xs[empty, :1]
        r = pick(x2, vals)
    else:
        if qt is not None:
            qt = qt / 100 if percent else qt
        r = _interpolated(x2, order, xs, qn, qt, method, count,
                          type(q) in (int, float) and qt is None, skipnan)
    if empty.any():
        r = _where(empty[:, None], np.nan, r)
    r = _placed(r, qd.shape, kshape, axes, x.shape, keepdims)
    return r if r.dtype == ref.dtype else astype(r, ref.dtype)


def _interpolated(x2, order, xs, qn, qt, method, count, weak, skipnan):
    """(1 − γ)·x₍ⱼ₎ + γ·x₍ⱼ₊₁₎ for each slice (rows) and quantile (columns)."""
    B, n = xs.shape
    Q = qn.size
    q = reshape(qt, (1, Q)) if qt is not None else qn.reshape(1, Q)
    if skipnan:             # each slice has its own n; NumPy multiplies q by a Python int
        n = count[:, None].astype(qn.dtype) if qn.dtype.kind == "f" else count[:, None]
    lo, hi, gamma = _interpolation(method, n, q)
    lo, hi = np.broadcast_to(lo, (B, Q)), np.broadcast_to(hi, (B, Q))
    rows = np.arange(B)[:, None]
    if isinstance(gamma, Tensor):
        lo, hi, gamma = _flatter_piece(xs, rows, lo, hi, gamma)
    pos = np.concatenate([lo, hi], axis=1)
    if not skipnan:                           # NumPy: such a slice's quantiles are NaN
        valid = n - np.isnan(xs).sum(axis=1)
        pos[valid < n] = valid[valid < n, None]           # (the first NaN)
    ab = pick_sorted(x2, order, xs, pos)
    return _lerp(getitem(ab, (slice(None), slice(0, Q))),
                 getitem(ab, (slice(None), slice(Q, None))), gamma, weak, xs.dtype)


def quantile(a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False,
             *, weights=None):
    """``np.quantile``, every method; differentiable in ``a`` (and in ``q`` for the
    interpolating methods).  ``weights`` (inverted_cdf) only choose the entry: gradient 0."""
    return _quantile("quantile", a, q, axis, out, method, keepdims, weights, False, False)


def percentile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
               keepdims=False, *, weights=None):
    """``np.percentile``: quantile(a, q / 100)."""
    return _quantile("percentile", a, q, axis, out, method, keepdims, weights, False, True)


def nanquantile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
                keepdims=_NoValue, *, weights=None):
    """``np.nanquantile``: the quantiles of the entries that are not NaN."""
    return _quantile("nanquantile", a, q, axis, out, method, keepdims, weights, True, False)


def nanpercentile(a, q, axis=None, out=None, overwrite_input=False, method="linear",
                  keepdims=_NoValue, *, weights=None):
    """``np.nanpercentile``: nanquantile(a, q / 100)."""
    return _quantile("nanpercentile", a, q, axis, out, method, keepdims, weights, True, True)


def ptp(a, axis=None, out=None, keepdims=_NoValue):
    """``np.ptp``: max − min (k tied extremes share 1/k each, as in max and min)."""
    x = _tensor(a)
    kw = {} if not _given(keepdims) else {"keepdims": keepdims}
    if x is None:
        return np.ptp(a, axis=axis, out=out, **kw)
    _no_out("ptp", out)
    return _max(x, axis=axis, **kw) - _min(x, axis=axis, **kw)


_ops.update(partition=partition, median=median, nanmedian=nanmedian, quantile=quantile,
            percentile=percentile, nanquantile=nanquantile, nanpercentile=nanpercentile, ptp=ptp)


# ------------------------------------------------------ NaN-skipping reductions
def _skipped(x, where):
    """The entries a nan-function leaves out: NaNs, and those ``where=`` excludes."""
    m = np.isnan(x.data)
    return m | ~np.broadcast_to(_data(where), m.shape) if _given(where) else m


def _kw(keepdims=_NoValue, **kw):
    """Keyword arguments as NumPy received them (unset ones left out)."""
    out = {k: v for k, v in kw.items() if _given(v)}
    if _given(keepdims):
        out["keepdims"] = keepdims
    return out


def _by_count(total, count):
    """total / count in total's dtype (NumPy divides into the sum), with empty slices safe."""
    return total / np.where(count == 0, 1, count).astype(_dtype(total))


def _nan_fold(name, np_fn, fill, reduce, initial_op):
    def fn(a, axis=None, dtype=None, out=None, keepdims=_NoValue, initial=_NoValue,
           where=_NoValue):
        x = _tensor(a)
        if x is None:
            return np_fn(a, axis=axis, dtype=dtype, out=out,
                         **_kw(keepdims, initial=initial, where=where))
        _no_out(name, out)
        r = reduce(_where(_skipped(x, where), fill, x), axis=axis, dtype=dtype,
                   **_kw(keepdims))
        return initial_op(r, initial) if _given(initial) else r
    fn.__name__ = name
    fn.__doc__ = f"``np.{name}``: NaN entries count as {fill} and get gradient 0."
    return fn


nansum = _nan_fold("nansum", np.nansum, 0.0, _sum, lambda r, c: r + c)
nanprod = _nan_fold("nanprod", np.nanprod, 1.0, _prod, lambda r, c: r * c)


def _nan_scan(name, np_fn, fill, scan):
    def fn(a, axis=None, dtype=None, out=None):
        x = _tensor(a)
        if x is None:
            return np_fn(a, axis=axis, dtype=dtype, out=out)
        _no_out(name, out)
        return scan(_where(np.isnan(x.data), fill, x), axis=axis, dtype=dtype)
    fn.__name__ = name
    fn.__doc__ = f"``np.{name}``: NaN entries count as {fill} and get gradient 0."
    return fn


nancumsum = _nan_scan("nancumsum", np.nancumsum, 0.0, _cumsum)
nancumprod = _nan_scan("nancumprod", np.nancumprod, 1.0, _cumprod)


def _nan_extreme(name, np_fn, reduce, fill, beats):
    def fn(a, axis=None, out=None, keepdims=_NoValue, initial=_NoValue, where=_NoValue):
        x = _tensor(a)
        kw = _kw(keepdims, initial=initial, where=where)
        if x is None:
            return np_fn(a, axis=axis, out=out, **kw)
        _no_out(name, out)
        np_fn(x.data, axis=axis, **kw)                  # NumPy's errors and All-NaN warning
        kd = keepdims is True
        m = _skipped(x, where)
        r = reduce(_where(m, fill, x), axis=axis, keepdims=kd)
        every = np.all(m, axis=axis, keepdims=kd)
        if every.any():
            r = _where(every, np.nan, r)
        if _given(initial):          # a tie with the constant initial: it wins (gradient 0)
            r = _where(beats(r.data, initial), r, initial)
        return r
    fn.__name__ = name
    fn.__doc__ = (f"``np.{name}``: k tied extremes share 1/k; NaN entries get gradient 0; an "
                  "all-NaN slice gives NaN (and NumPy's warning).")
    return fn


nanmax = _nan_extreme("nanmax", np.nanmax, _max, -np.inf, lambda r, c: r > c)
nanmin = _nan_extreme("nanmin", np.nanmin, _min, np.inf, lambda r, c: r < c)


def nanmean(a, axis=None, dtype=None, out=None, keepdims=_NoValue, *, where=_NoValue):
    """``np.nanmean``: the mean of the entries that are not NaN (1/count each, NaNs 0)."""
    x = _tensor(a)
    if x is None:
        return np.nanmean(a, axis=axis, dtype=dtype, out=out, **_kw(keepdims, where=where))
    _no_out("nanmean", out)
    kd = keepdims is True
    m = _skipped(x, where)
    count = np.sum(~m, axis=axis, dtype=np.intp, keepdims=kd)
    total = _sum(_where(m, 0.0, x), axis=axis, dtype=dtype, keepdims=kd)
    empty = count == 0
    if not empty.any():
        return _by_count(total, count)
    warnings.warn("Mean of empty slice", RuntimeWarning, stacklevel=2)
    return _where(empty, np.nan, _by_count(total, count))


def _nanvar(name, a, axis, dtype, ddof, keepdims, where, mean, correction):
    """(variance, the entries left out, the count kept, the slices with ddof ≥ count)."""
    x = _tensor(a)
    if _given(correction):
        if ddof != 0:
            raise ValueError("ddof and correction can't be provided simultaneously.")
        ddof = correction
    kd = keepdims is True
    m = _skipped(x, where)
    count = np.sum(~m, axis=axis, dtype=np.intp, keepdims=True)
    arr = _where(m, 0.0, x)
    avg = mean if _given(mean) else _by_count(_sum(arr, axis=axis, dtype=dtype, keepdims=True),
                                              count)
    dev = arr - avg
    if dev.dtype != x.dtype:                     # NumPy subtracts into the array itself
        dev = astype(dev, x.dtype)
    dev = _where(m, 0.0, dev)
    # |dev|² (NumPy's nanvar: dev·conj(dev), real for complex input)
    sq = dev * dev if dev.dtype.kind != "c" else real(dev * conj(dev))
    var = _sum(sq, axis=axis, dtype=dtype, keepdims=kd)
    dof = (count if kd else count.reshape(np.shape(var.data))) - ddof
    bad = dof <= 0
    var = var / np.where(bad, 1, dof).astype(var.dtype)
    if bad.any():
        warnings.warn("Degrees of freedom <= 0 for slice.", RuntimeWarning, stacklevel=3)
        var = _where(bad, np.nan, var)
    return var, m, bad


def nanvar(a, axis=None, dtype=None, out=None, ddof=0, keepdims=_NoValue, *, where=_NoValue,
           mean=_NoValue, correction=_NoValue):
    """``np.nanvar``: 2(x − mean)/(count − ddof) on the entries that are not NaN, 0 on NaNs."""
    if _tensor(a) is None and not isinstance(mean, Tensor):
        return np.nanvar(a, axis=axis, dtype=dtype, out=out, ddof=ddof,
                         **_kw(keepdims, where=where, mean=mean, correction=correction))
    _no_out("nanvar", out)
    return _nanvar("nanvar", a, axis, dtype, ddof, keepdims, where, mean, correction)[0]


def nanstd(a, axis=None, dtype=None, out=None, ddof=0, keepdims=_NoValue, *, where=_NoValue,
           mean=_NoValue, correction=_NoValue):
    """``np.nanstd``: √nanvar; a slice whose kept entries are all equal gets gradient 0
    (the minimum-norm subgradient, as std)."""
    x = _tensor(a)
    if x is None and not isinstance(mean, Tensor):
        return np.nanstd(a, axis=axis, dtype=dtype, out=out, ddof=ddof,
                         **_kw(keepdims, where=where, mean=mean, correction=correction))
    _no_out("nanstd", out)
    var, m, bad = _nanvar("nanstd", a, axis, dtype, ddof, keepdims, where, mean, correction)
    vd = var.data
    flat = (vd == 0) | bad
    if not _given(mean):
        xd, kd = _tensor(a).data, keepdims is True
        hi = np.max(np.where(m, -np.inf, xd), axis=axis, keepdims=kd, initial=-np.inf)
        lo = np.min(np.where(m, np.inf, xd), axis=axis, keepdims=kd, initial=np.inf)
        flat = flat | (hi == lo)
    if not np.any(flat):
        return sqrt(var)
    with np.errstate(invalid="ignore"):
        return _where(flat, np.sqrt(vd), sqrt(_where(flat, 1.0, var)))


_ops.update(nansum=nansum, nanprod=nanprod, nancumsum=nancumsum, nancumprod=nancumprod,
            nanmax=nanmax, nanmin=nanmin, nanmean=nanmean, nanvar=nanvar, nanstd=nanstd)


# ------------------------------------------------- averages and covariances
def average(a, axis=None, weights=None, returned=False, *, keepdims=_NoValue):
    """``np.average``: differentiable in ``a`` and in ``weights`` (and the returned sum)."""
    x, w = _tensor(a), _tensor(weights)
    kw = _kw(keepdims)
    if x is None and w is None:
        return np.average(a, axis=axis, weights=weights, returned=returned, **kw)
    x = x if x is not None else np.asarray(a)
    w = w if w is not None else weights
    shape = np.shape(_data(x))
    axes = None if axis is None else normalize_axis_tuple(axis, len(shape))
    if w is None:
        avg = _mean(x, axis=axes, **kw)
        scl = _const(avg.dtype.type(math.prod(shape) / max(avg.size, 1)))
    else:
        wd = np.asarray(_data(w))
        if wd.shape != shape:
            if axes is None:
                raise TypeError("Axis must be specified when shapes of a and weights differ.")
            if wd.shape != tuple(shape[ax] for ax in axes):
                raise ValueError("Shape of weights must be consistent with shape of a along "
                                 "specified axis.")
            w = transpose(w, tuple(int(i) for i in np.argsort(axes)))
            w = reshape(w, tuple(s if ax in axes else 1 for ax, s in enumerate(shape)))
        dtype = np.result_type(_data(x).dtype, wd.dtype)
        if _data(x).dtype.kind in "biu":
            dtype = np.result_type(dtype, "f8")
        scl = _sum(w, axis=axes, dtype=dtype, **kw)
        if np.any(_data(scl) == 0.0):
            raise ZeroDivisionError("Weights sum to zero, can't be normalized")
        avg = _sum(multiply(x, w), axis=axes, dtype=dtype, **kw) / scl
    if not returned:
        return avg
    if scl.shape != avg.shape:
        from .shape import broadcast_to
        scl = broadcast_to(scl, avg.shape)
    return avg, scl


def _rows(v, dtype):
    """np.array(v, ndmin=2, dtype=dtype) for a Tensor or an array."""
    if not isinstance(v, Tensor):
        return np.array(v, ndmin=2, dtype=dtype)
    if v.dtype != dtype:
        v = astype(v, np.dtype(dtype))
    return v if v.ndim >= 2 else reshape(v, (1,) * (2 - v.ndim) + v.shape)


def _checked_weights(kind, w, n):
    """NumPy's checks of cov's fweights or aweights (one weight per observation, ≥ 0)."""
    wd = _data(w)
    if wd.ndim > 1:
        raise RuntimeError(f"cannot handle multidimensional {kind}")
    if wd.shape[0] != n:
        raise RuntimeError(f"incompatible numbers of samples and {kind}")
    if any(wd < 0):
        raise ValueError(f"{kind} cannot be negative")
    return w


def _sample_weights(fweights, aweights, n):
    """cov's weights: fweights are integer counts (no derivative), aweights differentiable."""
    w = aw = None
    if fweights is not None:
        w = np.asarray(_data(fweights), dtype=float)
        if not np.all(w == np.around(w)):
            raise TypeError("fweights must be integer")
        _checked_weights("fweights", w, n)
    if aweights is not None:
        aw = aweights if isinstance(aweights, Tensor) else np.asarray(aweights, dtype=float)
        if aw.dtype != np.float64:
            aw = astype(aw, np.dtype(float))
        _checked_weights("aweights", aw, n)
        w = aw if w is None else w * aw
    return w, aw


def cov(m, y=None, rowvar=True, bias=False, ddof=None, fweights=None, aweights=None, *,
        dtype=None):
    """``np.cov``, every argument; differentiable in m, y and aweights."""
    mt, yt, at = _tensor(m), _tensor(y), _tensor(aweights)
    if mt is None and yt is None and at is None:
        return np.cov(m, y, rowvar, bias, ddof, fweights, aweights, dtype=dtype)
    m, y, aweights = (t if t is not None else v for t, v in ((mt, m), (yt, y), (at, aweights)))
    if ddof is not None and ddof != int(ddof):
        raise ValueError("ddof must be integer")
    md = np.asarray(_data(m))
    if md.ndim > 2:
        raise ValueError("m has more than 2 dimensions")
    if y is not None and np.ndim(_data(y)) > 2:
        raise ValueError("y has more than 2 dimensions")
    if dtype is None:
        dtype = np.result_type(md, np.float64) if y is None else \
            np.result_type(md, np.asarray(_data(y)), np.float64)
    X = _rows(m, dtype)
    if not rowvar and md.ndim != 1:
        X = transpose(X) if isinstance(X, Tensor) else X.T
    if X.shape[0] == 0:
        return np.array([]).reshape(0, 0)
    if y is not None:
        Y = _rows(y, dtype)
        if not rowvar and Y.shape[0] != 1:
            Y = transpose(Y) if isinstance(Y, Tensor) else Y.T
        X = concatenate((X, Y), axis=0)
    if ddof is None:
        ddof = 1 if bias == 0 else 0
    w, aw = _sample_weights(fweights, aweights, X.shape[1])
    avg, w_sum = average(X, axis=1, weights=w, returned=True)
    w_sum = w_sum[0]
    if w is None:
        fact = X.shape[1] - ddof
    elif ddof == 0:
        fact = w_sum
    elif aw is None:
        fact = w_sum - ddof
    else:
        fact = w_sum - ddof * _sum(w * aw) / w_sum
    if _data(fact) <= 0:
        warnings.warn("Degrees of freedom <= 0 for slice", RuntimeWarning, stacklevel=2)
        fact = 0.0
    X = X - reshape(avg, (-1, 1))
    c = dot(X, conj(transpose(X if w is None else X * w)))      # (the conjugate transpose)
    c = c * (1.0 / fact if isinstance(fact, Tensor) else np.true_divide(1, fact))
    return reshape(c, tuple(s for s in c.shape if s != 1))


def corrcoef(x, y=None, rowvar=True, *, dtype=None):
    """``np.corrcoef``: cov / (σ σᵀ).  NumPy clips it to [−1, 1] against rounding; the clip
    moves the value by at most an ulp and is not differentiated (the correlation is smooth
    at ±1, its maximum and minimum: gradient 0 there, and an honest Hessian)."""
    if _tensor(x) is None and _tensor(y) is None:
        return np.corrcoef(x, y, rowvar, dtype=dtype)
    c = cov(x, y, rowvar, dtype=dtype)
    if not isinstance(c, Tensor) or c.ndim < 2:
        return c / c                     # NumPy: a single variable is perfectly correlated
    d = diagonal(c)
    sd = sqrt(real(d) if d.dtype.kind == "c" else d)
    c = c / reshape(sd, (-1, 1))
    c = c / reshape(sd, (1, -1))
    v = c.data                   # NumPy clips the real and imaginary parts to [-1, 1]
    clipped = np.clip(v.real, -1.0, 1.0) + 1j * np.clip(v.imag, -1.0, 1.0) \
        if v.dtype.kind == "c" else np.clip(v, -1.0, 1.0)
    return c + (clipped.astype(v.dtype) - v)


_ops.update(average=average, cov=cov, corrcoef=corrcoef)
globals().update(_ops)
__all__ = sorted(_ops)
