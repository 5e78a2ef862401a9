"""Calculus and signal processing: finite differences, integrals, convolution, interpolation.

``gradient``, ``trapezoid``, ``ediff1d`` and the ``cumulative_*`` functions are
NumPy's own formulas written with chainrule's primitives (slices, arithmetic,
sums, concatenates), so their values are NumPy's and every argument that enters
the formula (the array, the spacings, the coordinates) gets derivatives of every
order.  ``convolve`` and ``correlate`` are slices of one primitive, the full
convolution, whose rules are convolutions again.  ``interp`` is the chosen
segment's line with the segment held constant; at a sample point it takes the
minimum-norm slope (docs/subgradients.md).  ``unwrap`` adds multiples of the
period that are constant between jumps: its derivative is 1.
"""
import numpy as np

from ..core.errors import ChainruleError
from ..core.primitive import Primitive, _shape, defjvp, defvjp, defvjp_argnum
from ..core.tensor import Tensor, needs_grad_now
from .construction import _along, _check_out, _data, _has_tensor, as_dtype, concatenate, diff
from .construction import as_input as _tensor
from .elementwise import mod, where
from .indexing import getitem
from .reductions import cumprod, cumsum
from .reductions import sum as _sum
from .shape import atleast_1d, flip, reshape

_ops = {}


def _at(f, axis, k):
    """Entry k along ``axis`` (negative k from the end), keeping the axis."""
    return getitem(f, _along(axis, f.ndim, slice(k, k + 1 if k != -1 else None)))


def _part(f, axis, start, stop):
    return getitem(f, _along(axis, f.ndim, slice(start, stop)))


# ---------------------------------------------------------------- gradient
def _spacings(f, varargs, axes):
    """One spacing per axis: a scalar, or the differences of the coordinates (NumPy's rules,
    including its reduction of evenly spaced plain coordinates to a scalar)."""
    n = len(varargs)
    if n == 0:
        return [1.0] * len(axes)
    if n == 1 and np.ndim(_data(varargs[0])) == 0:
        return [varargs[0]] * len(axes)
    if n != len(axes):
        raise TypeError("invalid number of arguments")
    out = []
    for i, d in enumerate(varargs):
        d = _tensor(d)
        if d.ndim == 0:
            out.append(d)
            continue
        if d.ndim != 1:
            raise ValueError("distances must be either scalars or 1d")
        if len(d) != f.shape[axes[i]]:
            raise ValueError("when 1d, distances must match the length of the corresponding "
                             "dimension")
        if d.dtype.kind in "iub":
            d = as_dtype(d, np.float64)
        dx = diff(d)
        if not isinstance(dx, Tensor) and (dx == dx[0]).all():
            dx = dx[0]
        out.append(dx)
    return out


def _central(f, ax, h):
    """The interior: second-order central differences (uneven spacing: NumPy's weights)."""
    if np.ndim(_data(h)) == 0:
        return (_part(f, ax, 2, None) - _part(f, ax, None, -2)) / (2. * h)
    dx1, dx2 = getitem(h, slice(0, -1)), getitem(h, slice(1, None))
    shape = [1] * f.ndim
    shape[ax] = -1
    a = reshape(-dx2 / (dx1 * (dx1 + dx2)), tuple(shape))
    b = reshape((dx2 - dx1) / (dx1 * dx2), tuple(shape))
    c = reshape(dx1 / (dx2 * (dx1 + dx2)), tuple(shape))
    return a * _part(f, ax, None, -2) + b * _part(f, ax, 1, -1) + c * _part(f, ax, 2, None)


def _edges(f, ax, h, edge_order):
    uniform = np.ndim(_data(h)) == 0
    if edge_order == 1:
        first = (_at(f, ax, 1) - _at(f, ax, 0)) / (h if uniform else getitem(h, 0))
        last = (_at(f, ax, -1) - _at(f, ax, -2)) / (h if uniform else getitem(h, -1))
        return first, last
    if uniform:
        a, b, c = -1.5 / h, 2. / h, -0.5 / h
    else:
        dx1, dx2 = getitem(h, 0), getitem(h, 1)
        a = -(2. * dx1 + dx2) / (dx1 * (dx1 + dx2))
        b = (dx1 + dx2) / (dx1 * dx2)
        c = - dx1 / (dx2 * (dx1 + dx2))
    first = a * _at(f, ax, 0) + b * _at(f, ax, 1) + c * _at(f, ax, 2)
    if uniform:
        a, b, c = 0.5 / h, -2. / h, 1.5 / h
    else:
        dx1, dx2 = getitem(h, -2), getitem(h, -1)
        a = dx2 / (dx1 * (dx1 + dx2))
        b = - (dx2 + dx1) / (dx1 * dx2)
        c = (2. * dx2 + dx1) / (dx2 * (dx1 + dx2))
    return first, a * _at(f, ax, -3) + b * _at(f, ax, -2) + c * _at(f, ax, -1)


def gradient(f, *varargs, axis=None, edge_order=1):
    """``np.gradient``: differentiable in ``f`` and in scalar spacings or coordinates."""
    if not (_has_tensor(f) or any(_has_tensor(v) for v in varargs)):
        return np.gradient(f, *varargs, axis=axis, edge_order=edge_order)
    f = _tensor(f)
    axes = tuple(range(f.ndim)) if axis is None else \
        np.lib.array_utils.normalize_axis_tuple(axis, f.ndim)
    spacings = _spacings(f, varargs, axes)
    if edge_order > 2:
        raise ValueError("'edge_order' greater than 2 not supported")
    otype = f.dtype if f.dtype.kind in "fc" else np.dtype(np.float64)
    f = as_dtype(f, otype)
    out = []
    for ax, h in zip(axes, spacings):
        if f.shape[ax] < edge_order + 1:
            raise ValueError("Shape of array too small to calculate a numerical gradient, at "
                             "least (edge_order + 1) elements are required.")
        first, last = _edges(f, ax, h, edge_order)
        parts = [as_dtype(p, otype) for p in (first, _central(f, ax, h), last)]
        out.append(concatenate(parts, axis=ax))
    return out[0] if len(out) == 1 else tuple(out)


# ------------------------------------------------------- sums and differences
def trapezoid(y, x=None, dx=1.0, axis=-1):
    """``np.trapezoid``: Σ d·(y[1:] + y[:-1])/2, differentiable in y, x and dx."""
    if not (_has_tensor(y) or _has_tensor(x) or _has_tensor(dx)):
        return np.trapezoid(y, x=x, dx=dx, axis=axis)
    y = _tensor(y)
    if x is None:
        d = _tensor(dx) if _has_tensor(dx) else dx
    else:
        x = _tensor(x)
        if x.ndim == 1:
            d = diff(x)
            shape = [1] * y.ndim
            shape[axis] = d.shape[0]
            d = reshape(d, tuple(shape))
        else:
            d = diff(x, axis=axis)
    return _sum(d * (_part(y, axis, 1, None) + _part(y, axis, None, -1)) / 2.0, axis=axis)


def ediff1d(ary, to_end=None, to_begin=None):
    """``np.ediff1d``: differences of the flattened input, with to_begin/to_end around them."""
    if not (_has_tensor(ary) or _has_tensor(to_end) or _has_tensor(to_begin)):
        return np.ediff1d(ary, to_end=to_end, to_begin=to_begin)
    ary = _tensor(ary)
    ary = reshape(ary, (-1,)) if isinstance(ary, Tensor) else ary.ravel()
    parts = [getitem(ary, slice(1, None)) - getitem(ary, slice(None, -1))]
    for name, extra in (("to_begin", to_begin), ("to_end", to_end)):
        if extra is None:
            continue
        extra = _tensor(extra)
        if not np.can_cast(extra.dtype, ary.dtype, casting="same_kind"):
            raise TypeError(f"dtype of `{name}` must be compatible with input `ary` under the "
                            "`same_kind` rule.")
        extra = as_dtype(reshape(extra, (-1,)) if isinstance(extra, Tensor) else extra.ravel(),
                      ary.dtype)
        parts.insert(0 if name == "to_begin" else len(parts), extra)
    return concatenate(parts)


def _cumulative(name, accumulate, identity):
    def fn(x, /, *, axis=None, dtype=None, out=None, include_initial=False):
        if not _has_tensor(x):
            return getattr(np, name)(x, axis=axis, dtype=dtype, out=out,
                                     include_initial=include_initial)
        _check_out(name, out)
        x = atleast_1d(_tensor(x))
        if axis is None:
            if x.ndim >= 2:
                raise ValueError("For arrays which have more than one dimension ``axis`` "
                                 "argument is required.")
            axis = 0
        res = accumulate(x, axis=axis, dtype=dtype)
        if include_initial:
            shape = list(res.shape)
            shape[axis] = 1
            res = concatenate([np.full(shape, identity, res.dtype), res], axis=axis)
        return res
    fn.__name__ = name
    fn.__doc__ = (f"``np.{name}``: {accumulate.name} along the axis, the identity "
                  f"({identity}) first with include_initial.")
    return fn


cumulative_sum = _cumulative("cumulative_sum", cumsum, 0)
cumulative_prod = _cumulative("cumulative_prod", cumprod, 1)


# ------------------------------------------------------------- convolution
def _convolve_vjp(i, g, ans, a, v):
    """The adjoint of full convolution with ``other``: correlate g with it (valid part)."""
    other = v if i == 0 else a
    n, m = _shape(a if i == 0 else v)[0], _shape(other)[0]
    return getitem(convolve_full(g, flip(other, 0)), slice(m - 1, m - 1 + n))


convolve_full = Primitive("convolve", lambda a, v: np.convolve(a, v, "full"))
defvjp_argnum(convolve_full, _convolve_vjp, formulas={0: "correlate(g, v)", 1: "correlate(g, a)"})
defjvp(convolve_full, lambda t, ans, a, v: convolve_full(t, v),
       lambda t, ans, a, v: convolve_full(a, t))


def _correlate_vjp(i, g, ans, a, v):
    n, m = _shape(a)[0], _shape(v)[0]
    if i == 0:
        return getitem(convolve_full(g, v), slice(m - 1, m - 1 + n))
    return flip(getitem(correlate_full(g, a), slice(n - 1, n - 1 + m)), 0)


# np.correlate's own loop (its sums run in another order than convolve's of v reversed)
correlate_full = Primitive("correlate", lambda a, v: np.correlate(a, v, "full"))
defvjp_argnum(correlate_full, _correlate_vjp, formulas={0: "convolve(g, v)",
                                                        1: "correlate(g, a) reversed"})
defjvp(correlate_full, lambda t, ans, a, v: correlate_full(t, v),
       lambda t, ans, a, v: correlate_full(a, t))


def _mode(mode):
    """0, 1, 2 for 'valid', 'same', 'full', checked as NumPy checks them."""
    if isinstance(mode, str):
        if mode not in ("valid", "same", "full"):
            raise ValueError("Use one of 'valid', 'same', or 'full' for convolve/correlate mode")
        return ("valid", "same", "full").index(mode)
    if mode not in (0, 1, 2):
        raise ValueError("integer convolve/correlate mode must be 0, 1, or 2")
    return int(mode)


def _signals(name, a, v):
    a, v = (atleast_1d(_tensor(s)) for s in (a, v))
    for s, which in ((a, "first"), (v, "second")):
        if s.ndim > 1:
            raise ValueError("object too deep for desired array")
        if s.dtype.kind == "c" and name == "correlate":
            raise ChainruleError(name, message="complex signals are not supported yet",
                                 expected="real arrays", actual=f"dtype {s.dtype}",
                                 fix="pass real arrays, or t.detach() for no gradient")
        if len(s) == 0:
            raise ValueError(f"{which} array argument cannot be empty" if name == "correlate"
                             else f"{'a' if which == 'first' else 'v'} cannot be empty")
    return a, v


def _cut(full, a, v, mode, same_start):
    """Mode 'valid' (0), 'same' (1) or 'full' (2) of a full convolution/correlation."""
    n, m = min(len(a), len(v)), max(len(a), len(v))
    if mode == 2:
        return full
    start, length = (same_start(n), m) if mode == 1 else (n - 1, m - n + 1)
    return getitem(full, slice(start, start + length))


def convolve(a, v, mode="full"):
    """``np.convolve``: a slice of the full convolution (a primitive: rules are
    correlations)."""
    if not (_has_tensor(a) or _has_tensor(v)):
        return np.convolve(a, v, mode)
    a, v = _signals("convolve", a, v)
    return _cut(convolve_full(a, v), a, v, _mode(mode), lambda n: (n - 1) - n // 2)


def correlate(a, v, mode="valid"):
    """``np.correlate``: a slice of the full correlation (a primitive whose rules are
    convolutions and correlations), cut as NumPy cuts it."""
    if not (_has_tensor(a) or _has_tensor(v)):
        return np.correlate(a, v, mode)
    a, v = _signals("correlate", a, v)
    # NumPy centres 'same' one place further right when a is the shorter one
    return _cut(correlate_full(a, v), a, v, _mode(mode),
                lambda n: n // 2 if len(a) < len(v) else (n - 1) - n // 2)


# ------------------------------------------------------------- interpolation
def _choose_slope(xv, xp, anchor, slopes_v):
    """Index into [0, s_0, ..., s_{n-2}, 0] of the slope each x takes: its segment's, or at a
    sample point the one-sided slope nearest 0 (0 when they differ in sign)."""
    right = anchor + 1
    on_point = xv == xp[anchor]
    s_left, s_right = slopes_v[anchor], slopes_v[right]
    pick = np.where(s_left * s_right <= 0, 0, np.where(np.abs(s_left) < np.abs(s_right),
                                                       anchor, right))
    return np.where(on_point, pick, right)


def interp(x, xp, fp, left=None, right=None, period=None):
    """``np.interp``: differentiable in x, fp, left and right (xp are constant sample points)."""
    if not any(_has_tensor(v) for v in (x, xp, fp, left, right)):
        return np.interp(x, xp, fp, left, right, period)
    if isinstance(xp, Tensor) and needs_grad_now(xp):
        raise ChainruleError("interp", message="the sample points xp are not differentiable",
                             expected="xp constant", actual="a Tensor that requires grad",
                             fix="pass xp.detach(), or differentiate with respect to x and fp")
    if np.iscomplexobj(_data(xp)) or np.iscomplexobj(_data(x)):
        raise ChainruleError("interp", message="x and xp must be real (as in NumPy)",
                             expected="real x and xp; fp, left and right may be complex",
                             actual="a complex x or xp", fix="interpolate at real points")
    if any(v is not None and np.iscomplexobj(_data(v)) for v in (fp, left, right)):
        # linear in fp, left and right: the real and the imaginary parts, each interpolated
        from .complex import imag, real
        part = (lambda f, v: None if v is None else f(_tensor(v)))
        return interp(x, xp, part(real, fp), part(real, left), part(real, right), period) + \
            1j * interp(x, xp, part(imag, fp), part(imag, left), part(imag, right), period)
    x, fp = (as_dtype(_tensor(v), np.float64) for v in (x, fp))
    xp = np.asarray(_data(xp), dtype=np.float64)
    exact = np.interp(_data(x), xp, _data(fp), _data(left), _data(right), period)  # NumPy's checks
    if period is not None:
        period = abs(period)
        left = right = None
        x = mod(x, period)
        xp = xp % period
        order = np.argsort(xp)
        xp = np.concatenate((xp[order][-1:] - period, xp[order], xp[order][:1] + period))
        fp = getitem(fp, np.concatenate((order[-1:], order, order[:1])))
    elif np.any(np.diff(xp) < 0):
        raise ChainruleError("interp", message="xp must be increasing",
                             expected="sorted sample points (NumPy does not check; its result "
                                      "is meaningless otherwise)",
                             actual="a decrease in xp", fix="sort xp and fp together: "
                             "order = np.argsort(xp); interp(x, xp[order], fp[order])")
    xv, n = _data(x), len(xp)
    anchor = np.clip(np.searchsorted(xp, xv, side="right") - 1, 0, n - 1)
    width = np.diff(xp)
    slopes = diff(fp) / np.where(width == 0, 1.0, width) * (width != 0)   # zero width: a jump
    slopes = concatenate([np.zeros(1), slopes, np.zeros(1)])
    slope = getitem(slopes, _choose_slope(xv, xp, anchor, _data(slopes)))
    y = getitem(fp, anchor) + slope * (x - xp[anchor])
    outside = (getitem(fp, 0) if left is None else left, getitem(fp, -1) if right is None
               else right)
    y = where(xv < xp[0], as_dtype(_tensor(outside[0]), np.float64),
              where(xv > xp[-1], as_dtype(_tensor(outside[1]), np.float64), y))
    y = where(np.isnan(xv), x, y)
    off = np.asarray(exact - _data(y))
    off[np.isnan(off)] = 0
    return y + off if off.any() else y


# ------------------------------------------------------------------ unwrap
_unwrap = Primitive("unwrap", lambda p, discont, axis, period: np.unwrap(p, discont, axis,
                                                                       period=period))
defvjp(_unwrap, lambda g, ans, p, *a: g, formulas={0: "1 (multiples of the period are constant "
                                                      "between jumps)"})
defjvp(_unwrap, lambda t, ans, p, *a: t)


def unwrap(p, discont=None, axis=-1, *, period=2 * np.pi):
    """``np.unwrap``: p plus multiples of the period, constant between jumps (derivative 1)."""
    if not _has_tensor(p):
        return np.unwrap(p, discont, axis, period=period)
    return _unwrap(_tensor(p), discont, axis, period)

_ops.update(gradient=gradient, trapezoid=trapezoid, ediff1d=ediff1d,
            cumulative_sum=cumulative_sum, cumulative_prod=cumulative_prod, convolve=convolve,
            correlate=correlate, interp=interp, unwrap=unwrap)
__all__ = sorted(_ops)
