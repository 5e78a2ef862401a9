"""Reductions (sum, mean, prod, max, var, norm, ...) and their derivatives.

A reduction's gradient is the upstream gradient broadcast back over the
reduced axes (``_expand``) times a local derivative ``d``; its tangent is
``sum(t * d)`` over the same axes.  ``d`` is written with chainrule's own
primitives, so every order of derivative comes from the same line.

Primitives take NumPy's own signature, read from NumPy (``np.var(x, 0, None, None, 1)``
works, and so do ``where=``, ``initial=``, ``correction=`` and ``mean=``); rules read the
arguments back by name with ``_kw``.  A ``where=`` mask zeroes the slope of the entries it
leaves out; ``initial=`` counts as one more entry of max/min (a tie with it splits).  At a kink the rule
returns the minimum-norm subgradient, computed without dividing by zero: k tied
maxima get 1/k each, prod with a zero multiplies the other entries (never
``ans / x``), std of a constant and every norm at 0 give 0.
"""
import builtins
import inspect

import math

import numpy as np

from ..core.errors import ChainruleError
from ..core.batching import batch_leading, shift, shift_axes
from ..core.primitive import Primitive, _dtype, conj, defbatch, defjvp, defvjp
from ..core.tensor import Tensor
from .elementwise import abs as _abs
from .elementwise import exp, power, sign, where
from .indexing import getitem
from .linalg import matmul
from ..core.primitive import broadcast_to
from .shape import reshape, swapaxes, transpose

_ops = {}


# ----------------------------------------------------------------- helpers
def _val(x):
    """The plain array behind ``x``: masks and counts are constants, no gradient flows."""
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def _kw(params, a, k):
    """Arguments after ``x`` by name, whether they were passed by position or keyword."""
    d = dict(zip(params, a))
    d.update(k)
    return d


def _axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (int, np.integer)):
        axis = (axis,)
    return tuple(int(a) % ndim if ndim else int(a) for a in axis)


def _keep(a, shape, axes, keepdims):
    """A reduced value reshaped so it broadcasts against the input (keepdims form)."""
    if keepdims:
        return a
    kept = list(shape)
    for i in axes:
        kept[i] = 1
    return reshape(a, tuple(kept))


def _expand(g, shape, axes, keepdims):
    """A reduced gradient broadcast back over the reduced axes."""
    return broadcast_to(_keep(g, shape, axes, keepdims), shape)


def _count(shape, axis):
    return math.prod(shape[a] for a in _axes(axis, len(shape)))


def _ties(a, x, axes):
    """1/k on each of the k entries equal to the reduced value ``a``: the minimum-norm choice."""
    hit = _val(x) == _val(a)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (hit / np.sum(hit, axis=axes, keepdims=True)).astype(_val(x).dtype)


def _row(s):     # s as a row, scaling columns: M * _row(s) = M S;  _col(s): S M
    return reshape(s, s.shape[:-1] + (1, s.shape[-1]))


def _col(s):
    return reshape(s, s.shape + (1,))


def _flip(x, axis):
    return getitem(x, (slice(None),) * (axis % x.ndim) + (slice(None, None, -1),))


def _params(np_fn):
    """(positional names after the first, every name after the first) of NumPy's signature."""
    rest = list(inspect.signature(np_fn).parameters.values())[1:]
    return (tuple(p.name for p in rest if p.kind is p.POSITIONAL_OR_KEYWORD),
            frozenset(p.name for p in rest if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)))


_CONSTANT_KEYWORDS = ("where", "initial", "mean")     # no gradient flows into them


def _constant(name, key, v):
    if isinstance(v, Tensor):
        if v.requires_grad or v._fw is not None:
            raise ChainruleError(name, message=f"{key}= is a constant: no gradient flows into it",
                                 expected=f"{key}= as an array or number", actual="a Tensor that "
                                 "requires grad", fix=f"pass {key}=t.detach() if that is what you "
                                 f"mean" + (", or add it outside: cnp.%s(x) + initial" % name
                                            if key == "initial" else ""))
        return v.data
    return v


def _forward(name, np_fn):
    """NumPy's function with NumPy's signature, refusing ``out=`` and unwrapping the
    constant keyword arguments (``where``, ``initial``, ``mean``)."""
    params, known = _params(np_fn)

    def fn(x, *a, **k):
        if not a and not k:                 # the usual whole-array reduction
            return np_fn(x)
        if a:
            if len(a) > len(params):
                raise ChainruleError(name, message="too many positional arguments",
                                     expected=f"x and {', '.join(params)}", actual=f"{1 + len(a)}",
                                     fix="pass the optional arguments by keyword")
            k = _kw(params, a, k)
        if k and not known.issuperset(k):
            if {"dim", "keepdim"} & set(k) - known:
                raise ChainruleError(
                    name, message="dim= and keepdim= are PyTorch's names",
                    expected=f"NumPy's arguments: x and {', '.join(sorted(known))}",
                    actual=f"{sorted(k)}",
                    fix="use axis= and keepdims=, as in NumPy (std and var then use NumPy's "
                        "ddof=0, where PyTorch defaults to correction=1; max and min return "
                        "values only, argmax/argmin the indices)")
            raise ChainruleError(name, message=f"unsupported argument(s) {sorted(set(k) - known)}",
                                 expected=f"x and {', '.join(sorted(known))}", actual=f"{sorted(k)}",
                                 fix="drop them, or compute on t.data outside the graph")
        if "out" in k:
            if k["out"] is not None:
                raise ChainruleError(name, message="out= cannot be recorded for gradients",
                                     expected="out=None", actual="an output array",
                                     fix=f"assign the result instead: y = cnp.{name}(...)")
            k = {n: v for n, v in k.items() if n != "out"}
        if k:
            for key in _CONSTANT_KEYWORDS:
                if key in k:
                    k[key] = _constant(name, key, k[key])
        return np_fn(x, **k)
    fn.__name__ = name
    fn.__doc__ = np_fn.__doc__
    fn.__signature__ = inspect.signature(np_fn)
    fn.params = params
    return fn


def _mask(kw, x):
    """NumPy's ``where=`` as a boolean array shaped like x, or None when not given."""
    w = kw.get("where", True)
    if w is True or w is np._NoValue:
        return None
    return np.broadcast_to(np.asarray(_val(w), dtype=bool), np.shape(x))


def _initial(kw):
    v = kw.get("initial", np._NoValue)
    return None if v is np._NoValue or v is None else _val(v)


# ------------------------------------------------- exact products of "others"
def _others_fn(x):
    """Product of the other entries along the last axis: exclusive cumprods, no division."""
    one = np.ones_like(x[..., :1])
    left = np.cumprod(np.concatenate([one, x[..., :-1]], -1), -1)
    right = np.cumprod(np.concatenate([one, x[..., :0:-1]], -1), -1)[..., ::-1]
    return left * right


def _pairs(x):
    """M[j, i] = prod of x over k ∉ {i, j} (0 on the diagonal): the derivative of _others."""
    n = x.shape[-1]
    eye = np.eye(n, dtype=bool)
    z = where(eye, 1.0, reshape(x, x.shape[:-1] + (1, n)))        # row j: x with x_j := 1
    return where(eye, 0.0, _others(z))


_others = Primitive("prod_others", _others_fn)       # M is symmetric: both rules are M·v
defvjp(_others, lambda g, ans, x: sum(_pairs(x) * _row(g), axis=-1), formulas={0: "∏ over k∉{i,j}"})
defjvp(_others, lambda t, ans, x: sum(_pairs(x) * _row(t), axis=-1))


def _prod_others(x, axes):
    """For every entry, the product of the other entries of its reduced slice (exact with zeros)."""
    shape, nd = x.shape, x.ndim
    kept = [i for i in range(nd) if i not in axes]
    perm = kept + list(axes)
    xt = transpose(x, tuple(perm)) if perm != list(range(nd)) else x
    flat = reshape(xt, tuple(shape[i] for i in kept) + (_count(shape, axes),))
    po = reshape(_others(flat), xt.shape)
    return transpose(po, tuple(np.argsort(perm))) if perm != list(range(nd)) else po


# ------------------------------------------------------------ local slopes
def _ddof(kw):
    c = kw.get("correction", np._NoValue)
    return kw.get("ddof", 0) if c is np._NoValue else c


def _centered(x, axes, kw, mask):
    """(x − its mean over the reduced slice, n − ddof): NumPy's mean= when given, where= honoured."""
    if "mean" in kw and kw["mean"] is not np._NoValue:
        center = _val(kw["mean"])
    else:
        center = mean(x, axis=axes, keepdims=True, **({} if mask is None else {"where": mask}))
    n = _count(x.shape, axes) if mask is None else np.sum(mask, axis=axes, keepdims=True)
    return x - center, n - _ddof(kw)


def _masked(d, mask):
    return d if mask is None else d * mask


def _dsum(a, x, axes, kw):
    return _mask(kw, x)


def _dmean(a, x, axes, kw):
    mask = _mask(kw, x)
    if mask is None:
        return 1.0 / (_count(x.shape, axes) or 1)
    n = np.sum(mask, axis=axes, keepdims=True)
    return mask / np.where(n == 0, 1, n).astype(_val(x).dtype)


def _dprod(a, x, axes, kw):
    mask, init = _mask(kw, x), _initial(kw)
    d = _prod_others(x if mask is None else where(mask, x, 1.0), axes)
    d = _masked(d, mask)
    return d if init is None else d * init


def _dextreme(a, x, axes, kw):
    """1/k on the k entries equal to the max (min); initial= counts as one more entry."""
    mask, init = _mask(kw, x), _initial(kw)
    if mask is None and init is None:
        return _ties(a, x, axes)
    hit = _val(x) == _val(a)
    if mask is not None:
        hit = hit & mask
    k = np.sum(hit, axis=axes, keepdims=True)
    if init is not None:
        k = k + (np.asarray(init) == _val(a))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(hit, 1.0 / np.where(k == 0, 1, k), 0.0).astype(_val(x).dtype)


def _conj(x):
    """The conjugate for complex x (a real-valued function's derivative 2∂f/∂z), else x itself."""
    return conj(x) if _dtype(x).kind == "c" else x


def _dvar(a, x, axes, kw):
    mask = _mask(kw, x)
    c, n = _centered(x, axes, kw, mask)
    with np.errstate(divide="ignore"):
        scale = np.where(np.asarray(n) > 0, 2.0 / np.where(np.asarray(n) > 0, n, 1), np.nan)
    return _masked(_conj(c) * scale.astype(_val(x).dtype), mask)


def _constant_slice(xv, axes, mask=None):
    """Slices whose entries are all equal: their std is 0 up to rounding (np.std([.1] * 3) > 0)."""
    if mask is None:
        return np.max(xv, axis=axes, keepdims=True) == np.min(xv, axis=axes, keepdims=True)
    hi = np.max(xv, axis=axes, keepdims=True, where=mask, initial=-np.inf)
    return hi == np.min(xv, axis=axes, keepdims=True, where=mask, initial=np.inf)


def _dstd(a, x, axes, kw):
    xv = _val(x)
    if xv.size == 0:
        return 0.0
    mask = _mask(kw, x)
    c, n = _centered(x, axes, kw, mask)
    const = (_val(a) == 0)
    if "mean" not in kw:
        const = const | _constant_slice(xv, axes, mask)
    return _masked(where(const, 0.0, _conj(c) / (n * where(const, 1.0, a))), mask)


def _shift(x, axis):
    """The max over ``axis`` (kept), 0 where it is not finite: a constant that prevents overflow."""
    m = np.max(x, axis=axis, keepdims=True, initial=-np.inf)
    return np.where(np.isfinite(m), m, 0).astype(x.dtype)


def _dlogsumexp(a, x, axes, kw):
    """softmax(x) from the shifted exponentials: exact to rounding even at x = 1000 (exp(x − a)
    would inherit the rounding of a ≈ 1000); a slice of all −inf gets weight 0, not nan."""
    e = exp(x - _shift(_val(x), axes))
    s = sum(e, axis=axes, keepdims=True)
    return e / where(_val(s) == 0, 1.0, s)


def _logsumexp_fn(x, axis=None, keepdims=False):
    x = np.asarray(x)
    m = _shift(x, axis)
    with np.errstate(divide="ignore"):
        r = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return r if keepdims else np.squeeze(r, axis=axis)


# ------------------------------------------------------------------- table
# name: (numpy function, d(ans kept, x, axes, kw) or None for 1, formula).  Every one takes
# NumPy's arguments (where=, initial=, ddof/correction, mean= included); out= is refused.
REDUCTIONS = {
    "sum":  (np.sum,  _dsum,     "1"),
    "mean": (np.mean, _dmean,    "1/n"),
    "prod": (np.prod, _dprod,    "∏ of the others"),
    "max":  (np.max,  _dextreme, "1/k on the k maxima"),
    "min":  (np.min,  _dextreme, "1/k on the k minima"),
    "amax": (np.amax, _dextreme, "1/k on the k maxima"),
    "amin": (np.amin, _dextreme, "1/k on the k minima"),
    "var":  (np.var,  _dvar,     "2(x−mean)/(n−ddof)"),
    "std":  (np.std,  _dstd,     "(x−mean)/((n−ddof)σ)"),
    "logsumexp": (_logsumexp_fn, _dlogsumexp, "softmax(x)"),
}


def _reduction(name, np_fn, d, formula):
    fn = _forward(name, np_fn)
    params = fn.params
    op = Primitive(name, fn)
    fast = name in ("sum", "mean")

    def vjp(g, ans, x, *a, **k):
        kw = _kw(params, a, k)
        axes, keepdims = _axes(kw.get("axis"), x.ndim), kw.get("keepdims", False)
        if fast and isinstance(g, (np.ndarray, np.generic)) and len(axes) == x.ndim \
                and kw.get("where", True) is True:
            # a loss's sum/mean: one filled array, no reshape-broadcast-scale chain
            scale = 1.0 if name == "sum" else 1.0 / (x.size or 1)
            return np.full(x.shape, g.reshape(()) * scale, dtype=np.result_type(g, x))
        ge = _expand(g, x.shape, axes, keepdims)
        slope = d(_keep(ans, x.shape, axes, keepdims), x, axes, kw)
        return ge if slope is None else ge * slope

    def jvp(t, ans, x, *a, **k):
        kw = _kw(params, a, k)
        axes, keepdims = _axes(kw.get("axis"), x.ndim), kw.get("keepdims", False)
        slope = d(_keep(ans, x.shape, axes, keepdims), x, axes, kw)
        return sum(t if slope is None else t * slope, axis=axes, keepdims=keepdims)

    defvjp(op, vjp, formulas={0: formula})
    defjvp(op, jvp)
    return op


for _name, _spec in REDUCTIONS.items():
    _ops[_name] = _reduction(_name, *_spec)
sum, mean, prod, max, min = (_ops[n] for n in ("sum", "mean", "prod", "max", "min"))


def _max_kink(ans, x, *a, **k):
    """Entries tied (k ≥ 2) for the max/min of their slice."""
    kw = _kw(max.fn.params, a, k)
    xv = _val(x)
    axes = _axes(kw.get("axis"), xv.ndim)
    hit = xv == _val(_keep(_val(ans), xv.shape, axes, kw.get("keepdims", False)))
    return hit & (np.sum(hit, axis=axes, keepdims=True) > 1)


for _name in ("max", "min", "amax", "amin"):
    _ops[_name].kink = (_max_kink, "the simplex over the k tied entries", "1/k each")


def _std_kink(ans, x, *a, **k):
    """The whole slice whose entries are all equal."""
    xv = _val(x)
    if xv.size == 0:
        return np.zeros(xv.shape, bool)
    kw = _kw(_ops["std"].fn.params, a, k)
    return np.broadcast_to(_constant_slice(xv, _axes(kw.get("axis"), xv.ndim), _mask(kw, xv)),
                           xv.shape)


_ops["std"].kink = (_std_kink, "the scaled unit ball", "0")


# -------------------------------------------------------- cumulative sums
_CUM = _params(np.cumsum)[0]                         # axis, dtype, out


def _flat(x, axis):
    """numpy's axis=None means "flattened"."""
    return (reshape(x, (-1,)), 0) if axis is None else (x, axis % builtins.max(x.ndim, 1))


def _revcumsum(g, axis):
    return _flip(cumsum(_flip(g, axis), axis=axis), axis)


def _quotient_ok(ans, x):
    """Whether Σ ans/x is safe: first order only (its higher derivatives cancel badly near 0)
    and no zero or underflowed partial product."""
    return not isinstance(x, Tensor) and np.all(_val(ans) != 0)


def _cumprod_vjp(g, ans, x, *a, **k):
    kw = _kw(_CUM, a, k)
    xf, ax = _flat(x, kw.get("axis"))
    if _quotient_ok(ans, x):
        gx = _revcumsum(g * ans, ax) / xf
    else:       # exact with zeros: G_j = Σ_{i≥j} g_i ∏_{k≤i, k≠j} x_k
        xs, gs = swapaxes(xf, ax, -1), swapaxes(g, ax, -1)
        c, upper = _cum_pairs(xs)
        gx = swapaxes(sum(where(upper, c, 0.0) * _row(gs), axis=-1), ax, -1)
    return reshape(gx, x.shape)


def _cumprod_jvp(t, ans, x, *a, **k):
    kw = _kw(_CUM, a, k)
    xf, ax = _flat(x, kw.get("axis"))
    tf, _ = _flat(t, kw.get("axis"))
    if _quotient_ok(ans, x):
        return ans * cumsum(tf / xf, axis=ax)
    xs, ts = swapaxes(xf, ax, -1), swapaxes(tf, ax, -1)
    c, upper = _cum_pairs(xs)
    return swapaxes(sum(where(upper, c, 0.0) * _col(ts), axis=-2), ax, -1)


def _cum_pairs(x):
    """C[j, i] = ∏_{k≤i, k≠j} x_k along the last axis, and the mask i ≥ j where it is used."""
    n = x.shape[-1]
    eye = np.eye(n, dtype=bool)
    c = cumprod(where(eye, 1.0, reshape(x, x.shape[:-1] + (1, n))), axis=-1)
    return c, np.triu(np.ones((n, n), dtype=bool))


cumsum = _ops["cumsum"] = Primitive("cumsum", _forward("cumsum", np.cumsum))
defvjp(cumsum, lambda g, ans, x, *a, **k: reshape(
    _revcumsum(g, _flat(x, _kw(_CUM, a, k).get("axis"))[1]), x.shape), formulas={0: "reversed cumsum"})
defjvp(cumsum, lambda t, ans, x, *a, **k: cumsum(t, axis=_kw(_CUM, a, k).get("axis")))

cumprod = _ops["cumprod"] = Primitive("cumprod", _forward("cumprod", np.cumprod))
defvjp(cumprod, _cumprod_vjp, formulas={0: "Σ_{i≥j} g_i ∏_{k≤i,k≠j} x_k"})
defjvp(cumprod, _cumprod_jvp)


# ------------------------------------------------------------------ trace
_TRACE = _params(np.trace)[0]                        # offset, axis1, axis2, dtype, out


def _trace_vjp(g, ans, x, *a, **k):
    """g placed on the chosen diagonal of every (axis1, axis2) plane."""
    kw = _kw(_TRACE, a, k)
    a1, a2 = kw.get("axis1", 0) % x.ndim, kw.get("axis2", 1) % x.ndim
    eye = np.eye(x.shape[a1], x.shape[a2], k=kw.get("offset", 0), dtype=_val(x).dtype)
    eshape, gshape = [1] * x.ndim, list(x.shape)
    eshape[a1], eshape[a2] = x.shape[a1], x.shape[a2]
    gshape[a1] = gshape[a2] = 1
    return reshape(g, tuple(gshape)) * (eye if a1 < a2 else eye.T).reshape(eshape)


trace = _ops["trace"] = Primitive("trace", _forward("trace", np.trace))
defvjp(trace, _trace_vjp, formulas={0: "I on the diagonal"})
defjvp(trace, lambda t, ans, x, *a, **k: trace(t, **{n: v for n, v in _kw(_TRACE, a, k).items()
                                                     if n != "dtype"}))


def _mT(a):
    return swapaxes(a, -1, -2)


# ------------------------------------------------------------------- norm
_NORM = _params(np.linalg.norm)[0]                   # ord, axis, keepdims


def _norm_axes(ndim, ord, axis):
    """('vec' | 'mat', reduced axes), following np.linalg.norm's rules."""
    if axis is None:
        if ord is None:
            return "fro", tuple(range(ndim))          # any ndim: the 2-norm of the flattened x
        return ("vec", (0,)) if ndim == 1 else ("mat", (0, 1))
    axes = _axes(axis, ndim)
    return ("vec" if len(axes) == 1 else "mat"), axes


def _dnorm(a, x, ord, kind, axes):
    """d‖x‖/dx with ``a`` the norm in keepdims form; 0 wherever the norm is 0."""
    zero = _val(a) == 0
    if kind == "fro" or ord in (None, "fro") or kind == "vec" and ord == 2:
        return where(zero, 0.0, x / where(zero, 1.0, a))
    if kind == "vec":
        if ord == 1:
            return sign(x)
        if ord in (np.inf, -np.inf):
            return sign(x) * _ties(a, np.abs(_val(x)), axes)
        if ord == 0:
            return 0.0 * x
        xz = (_val(x) == 0) | zero
        base = where(xz, 1.0, _abs(x) / where(zero, 1.0, a))
        return where(xz, 0.0, sign(x) * power(base, ord - 1.0))
    r, c = axes
    xv = np.abs(_val(x))
    if ord in (1, -1):                    # max/min over columns of the column sums
        return sign(x) * _ties(a, np.sum(xv, axis=r, keepdims=True), (c,))
    if ord in (np.inf, -np.inf):          # max/min over rows of the row sums
        return sign(x) * _ties(a, np.sum(xv, axis=c, keepdims=True), (r,))
    if ord in (2, -2, "nuc"):
        return _dspectral(x, ord, r, c)
    raise ChainruleError("norm", message=f"invalid norm order {ord!r} for matrices",
                         expected="None, 'fro', 'nuc', 1, -1, 2, -2, inf, -inf", actual=repr(ord),
                         fix="pick one of those, or pass a single axis for a vector norm")


def _dspectral(x, ord, r, c):
    """U diag(w) Vᵀ: w = 1 on nonzero s (nuc), 1/k on the k largest / smallest s (±2)."""
    nd = x.ndim
    perm = [i for i in range(nd) if i not in (r, c)] + [r, c]
    moved = perm != list(range(nd))
    xm = transpose(x, tuple(perm)) if moved else x
    s = np.linalg.svd(_val(xm), compute_uv=False)
    top = s[..., :1] if s.shape[-1] else s
    tol = top * builtins.max(xm.shape[-2:]) * np.finfo(s.dtype).eps
    if ord == "nuc":
        w = (s > tol) * 1.0
    else:
        end = top if ord == 2 else s[..., -1:]
        w = (np.abs(s - end) <= tol) & (end > tol)
        with np.errstate(invalid="ignore"):
            w = np.nan_to_num(w / np.sum(w, axis=-1, keepdims=True))
    from .decompositions import _svd_u, _svd_vh   # linalg imports this module: import late
    d = matmul(_svd_u(xm) * _row(w.astype(s.dtype)), _svd_vh(xm))
    return transpose(d, tuple(np.argsort(perm))) if moved else d


def _norm_rule(v, ans, x, *a, reverse, **k):
    kw = _kw(_NORM, a, k)
    ord, keepdims = kw.get("ord"), kw.get("keepdims", False)
    kind, axes = _norm_axes(x.ndim, ord, kw.get("axis"))
    d = _conj(_dnorm(_keep(ans, x.shape, axes, keepdims), x, ord, kind, axes))
    if reverse:
        return _expand(v, x.shape, axes, keepdims) * d
    return sum(v * d, axis=axes, keepdims=keepdims)


def _norm_kink(ans, x, *a, **k):
    """The whole slice where its norm is 0; for ord=1 also each zero entry."""
    kw = _kw(_NORM, a, k)
    xv = _val(x)
    kind, axes = _norm_axes(xv.ndim, kw.get("ord"), kw.get("axis"))
    at0 = np.broadcast_to(_keep(_val(ans) == 0, xv.shape, axes, kw.get("keepdims", False)), xv.shape)
    return at0 | (xv == 0) if kind == "vec" and kw.get("ord") == 1 else at0


norm = _ops["norm"] = Primitive("norm", _forward("norm", np.linalg.norm))
defvjp(norm, lambda g, ans, x, *a, **k: _norm_rule(g, ans, x, *a, reverse=True, **k),
       formulas={0: "x/‖x‖ (2, fro); sign(x)|x/‖x‖|^(p−1); U diag(w) Vᵀ (nuc, ±2)"})
defjvp(norm, lambda t, ans, x, *a, **k: _norm_rule(t, ans, x, *a, reverse=False, **k))
norm.kink = (_norm_kink, "the unit ball of the dual norm", "0")

# ------------------------------------------------------------ no gradient
for _name in ("argmax", "argmin", "all", "any", "count_nonzero"):
    _ops[_name] = Primitive(_name, getattr(np, _name), differentiable=False)


for _name, _op in _ops.items():
    if _op.formula is None:
        _op.formula = {0: "none (integer/boolean result)"}

globals().update(_ops)
__all__ = sorted(_ops)


# ------------------------------------------------------- batching rules (vmap)
# One example's reduction over its axes is the batch's reduction over the same axes shifted
# by one (the batch axis stays in front).  "Flattening" ops (axis=None means the raveled
# example: cumsum, argmax) reshape each example to one row first.  Arguments are read by
# NumPy's own parameter names, so every form NumPy accepts is batched.
def _names(np_fn):
    import inspect
    return tuple(inspect.signature(np_fn).parameters)[1:]


def _batch_reduce(np_fn, flat=False):
    params = _names(np_fn)

    def rule(op, bdims, n, x, *a, **k):
        if builtins.any(d is not None for d in bdims[1:]):     # batched parameters: loop
            return NotImplemented
        kw = _kw(params, a, k)
        nd = len(x.shape) - 1
        if flat and kw.get("axis") is None:
            x = reshape(x, (n, math.prod(x.shape[1:])))
            kw["axis"] = 1
        else:
            kw["axis"] = shift_axes(kw.get("axis"), nd)
        return op(x, **kw)
    return rule


def _batch_trace(op, bdims, n, x, *a, **k):
    kw = _kw(_names(np.trace), a, k)
    nd = len(x.shape) - 1
    kw["axis1"], kw["axis2"] = shift(kw.get("axis1", 0), nd), shift(kw.get("axis2", 1), nd)
    return op(x, **kw)


def _batch_norm(op, bdims, n, x, *a, **k):
    kw = _kw(_names(np.linalg.norm), a, k)
    nd = len(x.shape) - 1
    if kw.get("axis") is None and kw.get("ord") is not None and nd > 2:
        return NotImplemented                 # NumPy's error, from the loop
    kind, axes = _norm_axes(nd, kw.get("ord"), kw.get("axis"))
    if kind == "fro" and kw.get("axis") is None and nd != 2:
        if kw.get("keepdims"):
            return NotImplemented
        x, axes = reshape(x, (n, math.prod(x.shape[1:]))), (0,)   # the 2-norm of the raveled example
    kw["axis"] = tuple(a + 1 for a in axes) if len(axes) > 1 else axes[0] + 1
    return op(x, **kw)


BATCH = {name: _batch_reduce(spec[0]) for name, spec in REDUCTIONS.items()}
BATCH.update(cumsum=_batch_reduce(np.cumsum, flat=True), cumprod=_batch_reduce(np.cumprod, flat=True),
             argmax=_batch_reduce(np.argmax, flat=True), argmin=_batch_reduce(np.argmin, flat=True),
             all=_batch_reduce(np.all), any=_batch_reduce(np.any),
             count_nonzero=_batch_reduce(np.count_nonzero), trace=_batch_trace, norm=_batch_norm)
for _name, _rule in BATCH.items():
    if isinstance(_ops.get(_name), Primitive):
        defbatch(_ops[_name], _rule)
defbatch(_others, batch_leading)


# ------------------------------------------------ compiled lowering (chainrule.compile)
# sum/mean/max/min/prod become one ufunc reduction over axes fixed at trace time (mean: the
# sum divided by the count, exactly as np.mean computes it); other reductions run through
# their Primitive.fn.  ``e`` is the recorded call (chainrule/compile/lower.py).
def _lower_reduction(name, ufunc):
    # NumPy's own positional order after x (np.sum(x, 0, None, None, True) works)
    params = tuple(p.name for p in list(inspect.signature(getattr(np, name)).parameters.values())[1:]
                   if p.kind is p.POSITIONAL_OR_KEYWORD)

    def lower(e):
        kw = e.params(params)
        dtype = e.dtype(0)
        if set(kw) - {"axis", "keepdims", "dtype", "out"} or kw.get("out") is not None \
                or kw.get("dtype") is not None or dtype.kind not in "fc" or dtype.itemsize < 4:
            return None
        ndim = len(e.shape(0))
        axes = _axes(kw.get("axis"), ndim)
        src = f"np.{ufunc}.reduce({e.arg(0)}, axis={axes!r}, keepdims={bool(kw.get('keepdims'))})"
        if name == "mean":
            src += f" / {_count(e.shape(0), axes)}"
        return src
    return lower


LOWER = {name: _lower_reduction(name, ufunc)
         for name, ufunc in (("sum", "add"), ("mean", "add"), ("max", "maximum"),
                             ("min", "minimum"), ("prod", "multiply"))}
