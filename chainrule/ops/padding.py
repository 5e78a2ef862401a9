"""``np.pad`` in every mode NumPy offers, differentiable in the array and the constants.

NumPy pads one axis after another, and along each axis every mode but the three
statistics is *linear* in the array: a padded entry is a copy of an entry
(edge, wrap, even reflect/symmetric), a combination of entries (odd
reflect/symmetric, mean, linear_ramp) or a constant.  So:

* ``pad_linear`` is a primitive whose value is np.pad's own; its tangent is the
  same padding of the tangent with the constants set to 0, and its reverse rule
  is ``unpad``, the adjoint: per axis, copies are added back (``np.add.at``) and
  combinations are applied transposed, with the matrix np.pad itself builds from
  an identity.  The two are each other's adjoints, so every order follows.
* Tensor ``constant_values``/``end_values`` enter linearly: each (axis, side)
  constant times the border np.pad fills with it.
* maximum/minimum/median pick entries by value: composed per axis from slices,
  a weighted sum (the weights are the minimum-norm subgradient at ties, see
  docs/subgradients.md) and a concatenate.
"""
import numpy as np

from ..core.errors import ChainruleError
from ..core.primitive import Primitive, _shape, astype, broadcast_to, defjvp, defvjp
from ..core.tensor import Tensor, needs_grad_now
from .construction import _along, _copy, _has_tensor, concatenate
from .construction import as_input as _tensor
from .indexing import getitem
from .reductions import sum as _sum

_OPTIONS = {
    "constant": ("constant_values",), "edge": (), "linear_ramp": ("end_values",),
    "maximum": ("stat_length",), "mean": ("stat_length",), "median": ("stat_length",),
    "minimum": ("stat_length",), "reflect": ("reflect_type",), "symmetric": ("reflect_type",),
    "wrap": (), "empty": (),
}
_CONSTANT = {"constant": "constant_values", "linear_ramp": "end_values"}
_COPIES = {"edge", "wrap", "reflect", "symmetric"}      # entries are copies (reflect_type even)
_STATISTICS = {"maximum", "minimum", "median"}


def _pad_width(pad_width, ndim):
    pw = np.asarray(pad_width)
    if pw.dtype.kind not in "iu":
        raise ChainruleError("pad", expected="integer pad widths", actual=f"dtype {pw.dtype}",
                             fix="pass ints, e.g. pad_width=((1, 2), (0, 0))")
    try:
        pw = np.broadcast_to(pw, (ndim, 2))
    except ValueError:
        raise ChainruleError("pad", expected=f"pad_width broadcastable to ({ndim}, 2)",
                             actual=f"shape {pw.shape}",
                             fix="give one (before, after) pair per axis, or one pair for all") \
            from None
    if (pw < 0).any():
        raise ChainruleError("pad", expected="non-negative pad widths", actual=str(pw.tolist()),
                             fix="to crop, slice instead: x[1:-1]")
    return tuple((int(b), int(a)) for b, a in pw)


def _linear_part(mode, opts):
    """The mode and options of the padding's linear part: constants set to 0."""
    if mode == "empty":
        return "constant", {}
    if mode in _CONSTANT:
        return mode, {_CONSTANT[mode]: 0}
    return mode, opts


def _stat_lengths(opts, k, ndim, n):
    """The (before, after) window lengths of the statistic modes along axis k."""
    if opts.get("stat_length") is None:
        return n, n
    pairs = np.broadcast_to(np.asarray(opts["stat_length"]), (ndim, 2))
    return tuple(min(int(v), n) for v in pairs[k])


def _border_weights(n, b, a, mode, opts, k, ndim, dtype):
    """(b + a, n): how each border entry mixes the n entries along the axis (odd
    reflections, mean, linear_ramp).  Only the columns that can reach the border are run
    through np.pad, so a long axis never builds an n x n identity."""
    if mode == "mean":
        lb, la = _stat_lengths(opts, k, ndim, n)
        w = np.zeros((b + a, n), dtype)
        w[:b, :lb], w[b:, n - la:] = 1.0 / lb, 1.0 / la
        return w
    reach = min(n, max(b, a) + 1)        # reflections reach at most this far from each edge
    cols = np.unique(np.r_[0:reach, n - reach:n])
    units = np.zeros((n, len(cols)), dtype)
    units[cols, np.arange(len(cols))] = 1.0
    padded = np.pad(units, ((b, a), (0, 0)), mode=mode, **opts)
    w = np.zeros((b + a, n), dtype)
    w[:, cols] = padded[np.r_[0:b, b + n:b + n + a]]
    return w


def _unpad_impl(g, pw, shape, mode, **opts):
    """Adjoint of the linear padding: per axis, the interior plus what each border entry
    copied (copy modes) or mixed (the others) from it."""
    g = np.asarray(g)
    for k, (b, a) in enumerate(pw):
        if b == 0 and a == 0:
            continue
        n, moved = shape[k], np.moveaxis(g, k, 0)
        if mode == "constant":
            g = np.moveaxis(moved[b:b + n], 0, k)
            continue
        r = moved[b:b + n].copy()
        border = np.r_[0:b, b + n:b + n + a]
        if mode in _COPIES and opts.get("reflect_type", "even") == "even":
            np.add.at(r, np.pad(np.arange(n), (b, a), mode=mode)[border], moved[border])
        else:
            w = _border_weights(n, b, a, mode, opts, k, len(shape), g.dtype)
            r += np.tensordot(w.T, moved[border], axes=1)
        g = np.moveaxis(r, 0, k)
    return g


def _pad_vjp(g, ans, x, pw, mode, **opts):
    linear_mode, linear_opts = _linear_part(mode, opts)
    return unpad(g, pw, _shape(x), linear_mode, **linear_opts)


def _pad_jvp(t, ans, x, pw, mode, **opts):
    linear_mode, linear_opts = _linear_part(mode, opts)
    return pad_linear(t, pw, linear_mode, **linear_opts)


pad_linear = Primitive("pad", lambda x, pw, mode, **opts: np.pad(x, pw, mode=mode, **opts))
unpad = Primitive("unpad", _unpad_impl)
# pad_linear(x, pw, mode)   reverse: unpad (adjoint)   forward: the same padding of the tangent
# unpad(g, pw, shape, mode) reverse: pad_linear        forward: unpad of the tangent
defvjp(pad_linear, _pad_vjp, formulas={0: "adjoint of the padding (copies added back)"})
defjvp(pad_linear, _pad_jvp)
defvjp(unpad, lambda g, ans, gin, pw, shape, mode, **opts: pad_linear(g, pw, mode, **opts),
       formulas={0: "the padding"})
defjvp(unpad, lambda t, ans, gin, pw, shape, mode, **opts: unpad(t, pw, shape, mode, **opts))


# ------------------------------------------------------------- statistics
def _spread(w, v, axis):
    """1/k on each of the k entries of ``w`` equal to ``v`` (NaN matches NaN)."""
    hit = (w == v) | (np.isnan(w) & np.isnan(v))
    return (hit / np.maximum(hit.sum(axis=axis, keepdims=True), 1)).astype(w.dtype)


def _weights(w, axis, mode):
    """The statistic of window ``w`` as weights on its entries: the minimum-norm subgradient."""
    if mode == "median":                        # the middle order statistic(s), ½ each
        s, n = np.sort(w, axis=axis), w.shape[axis]
        lo, hi = (np.take(s, [i], axis=axis) for i in ((n - 1) // 2, n // 2))
        return 0.5 * _spread(w, lo, axis) + 0.5 * _spread(w, hi, axis)
    stat = np.max if mode == "maximum" else np.min
    return _spread(w, stat(w, axis=axis, keepdims=True), axis)


def _border(cur, k, window, width, mode):
    w = getitem(cur, _along(k, cur.ndim, window))
    s = _sum(w * _weights(w.data, k, mode), axis=k, keepdims=True)
    shape = list(cur.shape)
    shape[k] = width
    return broadcast_to(s, tuple(shape))


def _pad_statistic(x, pw, mode, stat_length):
    exact = np.pad(x.data, pw, mode=mode, stat_length=stat_length)    # NumPy's values, checks
    lengths = None if stat_length is None else \
        np.broadcast_to(np.asarray(stat_length), (x.ndim, 2)).astype(int)
    cur = x
    for k, (b, a) in enumerate(pw):
        if b == 0 and a == 0:
            continue
        n = cur.shape[k]
        lb, la = (n, n) if lengths is None else (min(int(v), n) for v in lengths[k])
        parts = [cur]
        if b:
            parts.insert(0, _border(cur, k, slice(0, lb), b, mode))
        if a:
            parts.append(_border(cur, k, slice(n - la, n), a, mode))
        cur = concatenate(parts, axis=k)
    return _copy(x) if cur is x else _exactly(cur, exact)


def _exactly(t, exact):
    """``t`` shifted by a constant to NumPy's ``exact`` values, where rounding made them differ
    (tied weights, constants added separately): the derivatives are unchanged."""
    off = exact - t.data
    off[np.isnan(off)] = 0
    return t + off if off.any() else t


# ------------------------------------------------------------- constants
def _constant_part(const, x, pw, mode):
    """Σ over (axis, side) of that constant times the border np.pad fills with it."""
    key, c = _CONSTANT[mode], const
    zeros = np.zeros(x.shape, x.dtype)
    if c.dtype != x.dtype:
        c = astype(c, x.dtype)
    if c.ndim == 0:
        return c * np.pad(zeros, pw, mode=mode, **{key: 1})
    c = broadcast_to(c, (x.ndim, 2))
    total = 0.0
    for k, pair in enumerate(pw):
        for side, width in enumerate(pair):
            if width:
                one = np.zeros((x.ndim, 2))
                one[k, side] = 1
                total = total + getitem(c, (k, side)) * np.pad(zeros, pw, mode=mode, **{key: one})
    return total


def pad(array, pad_width, mode="constant", **kwargs):
    """``np.pad`` in every named mode; Tensor constant_values/end_values get gradients too."""
    key = _CONSTANT.get(mode) if isinstance(mode, str) else None
    const = kwargs.get(key)
    if not _has_tensor(array) and not _has_tensor(const):
        return np.pad(array, pad_width, mode=mode, **kwargs)
    if callable(mode):
        if not needs_grad_now(array):
            return np.pad(array.data, pad_width, mode=mode, **kwargs)
        raise ChainruleError("pad", message="a callable mode writes into NumPy arrays in place, "
                                            "which chainrule cannot follow",
                             expected="one of NumPy's named modes", actual=f"mode={mode!r}",
                             fix="use a named mode, or build the border from slices with "
                                 "cnp.concatenate; pad x.detach() if no gradient is needed")
    if mode not in _OPTIONS:
        raise ValueError(f"mode '{mode}' is not supported")
    unknown = set(kwargs) - set(_OPTIONS[mode])
    if unknown:
        raise ValueError(f"unsupported keyword arguments for mode '{mode}': {unknown}")
    array = _tensor(array)
    pw = _pad_width(pad_width, array.ndim)
    if array.ndim == 0:                 # NumPy returns the value itself
        return _copy(array) if isinstance(array, Tensor) else np.pad(array, pw, mode, **kwargs)
    if mode in _STATISTICS:
        return _pad_statistic(array, pw, mode, kwargs.get("stat_length"))
    const = _tensor(const) if _has_tensor(const) else None
    if const is not None:
        if array.dtype.kind not in "fc":   # NumPy casts the constants to integers: no gradient
            kwargs[key] = const.data
            return np.pad(array.data if isinstance(array, Tensor) else array, pw, mode, **kwargs)
        kwargs[key] = 0
    out = pad_linear(array, pw, mode, **kwargs) if isinstance(array, Tensor) else \
        np.pad(array, pw, mode=mode, **kwargs)
    if const is None:
        return out
    kwargs[key] = const.data
    return _exactly(out + _constant_part(const, array, pw, mode),
                    np.pad(array.data if isinstance(array, Tensor) else array, pw, mode, **kwargs))


_ops = {"pad": pad}
__all__ = sorted(_ops)


# --------------------------------------------------------------- batching (vmap)
def _b_pad(op, bdims, n, x, pw, mode, **opts):
    """The batch axis gets no padding; options given per axis would need shifting: loop."""
    if bdims[0] != 0 or any(isinstance(v, (tuple, list, np.ndarray)) for v in opts.values()):
        return NotImplemented
    return op(x, ((0, 0),) + tuple(pw), mode, **opts)


def _b_unpad(op, bdims, n, g, pw, shape, mode, **opts):
    if bdims[0] != 0 or any(isinstance(v, (tuple, list, np.ndarray)) for v in opts.values()):
        return NotImplemented
    return op(g, ((0, 0),) + tuple(pw), (n,) + tuple(shape), mode, **opts)


from ..core.primitive import defbatch  # noqa: E402

defbatch(pad_linear, _b_pad)
defbatch(unpad, _b_unpad)
