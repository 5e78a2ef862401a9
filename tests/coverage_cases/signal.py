"""Cases for calculus and signal processing (gradient, trapezoid, convolution, interp, ...)."""
import numpy as np
from hypothesis import strategies as st

import chainrule.numpy as cnp

from ._api import case, floats, positive, shapes  # noqa: F401
from .construction import through_sin as _through_sin


def _coordinates(draw, n):
    """Increasing, unevenly spaced coordinates."""
    return np.cumsum(positive(draw, (n,), 0.3, 1.5)) - 1.0


@case("np.gradient")
def _gradient(draw):
    edge_order = draw(st.sampled_from([1, 2]))
    shape = draw(shapes(min_dims=1, max_dims=2, min_side=edge_order + 1, max_side=5))
    axis = draw(st.sampled_from([None, -1, 0]))
    axes = range(len(shape)) if axis is None else [axis % len(shape)]
    form = draw(st.sampled_from(["none", "scalar", "per axis"]))
    f = floats(draw, shape)
    if form == "none":
        return _through_sin(lambda a: cnp.gradient(a, axis=axis, edge_order=edge_order)), (f,)
    if form == "scalar":
        return _through_sin(lambda a, h: cnp.gradient(a, h, axis=axis, edge_order=edge_order)), \
            (f, positive(draw, (), 0.5, 2))
    spacing = [_coordinates(draw, shape[k]) if draw(st.booleans()) else positive(draw, (), 0.5, 2)
               for k in axes]                    # coordinates or a scalar, per axis
    return _through_sin(lambda a, *h: cnp.gradient(a, *h, axis=axis, edge_order=edge_order)), \
        (f, *spacing)


@case("np.trapezoid")
def _trapezoid(draw):
    shape = draw(shapes(max_dims=2, min_side=2))
    axis = draw(st.sampled_from([-1, 0]))
    form = draw(st.sampled_from(["dx", "x 1-D", "x full"]))
    y = floats(draw, shape)
    if form == "dx":
        return (lambda a, d: cnp.trapezoid(a, dx=d, axis=axis)), (y, positive(draw, ()))
    x = _coordinates(draw, shape[axis]) if form == "x 1-D" else floats(draw, shape)
    return (lambda a, b: cnp.sin(cnp.trapezoid(a, b, axis=axis))), (y, x)


@case("np.ediff1d")
def _ediff1d(draw):
    x = floats(draw, draw(shapes()))
    begin, end = (floats(draw, draw(shapes(min_dims=0, max_dims=1))) for _ in range(2))
    which = draw(st.sampled_from(["none", "begin", "end", "both"]))
    if which == "none":
        return _through_sin(cnp.ediff1d), (x,)
    if which == "both":
        return _through_sin(lambda a, b, e: cnp.ediff1d(a, to_end=e, to_begin=b)), (x, begin, end)
    key = "to_begin" if which == "begin" else "to_end"
    return _through_sin(lambda a, b: cnp.ediff1d(a, **{key: b})), (x, begin)


@case("np.cumulative_sum", "np.cumulative_prod")
def _cumulative(draw):
    fn = draw(st.sampled_from([cnp.cumulative_sum, cnp.cumulative_prod]))
    shape = draw(shapes(max_dims=2))
    axis = None if len(shape) == 1 and draw(st.booleans()) else \
        draw(st.integers(-len(shape), len(shape) - 1))
    initial = draw(st.booleans())
    return (lambda a: fn(a, axis=axis, include_initial=initial)), (floats(draw, shape),)


@case("np.convolve", "np.correlate")
def _convolve(draw):
    fn = draw(st.sampled_from([cnp.convolve, cnp.correlate]))
    mode = draw(st.sampled_from(["full", "same", "valid", 0, 1, 2]))
    a, v = (floats(draw, (draw(st.integers(1, 5)),)) for _ in range(2))
    return (lambda p, q: cnp.sin(fn(p, q, mode))), (a, v)


@case("np.interp")
def _interp(draw):
    n = draw(st.integers(1, 5))
    xp = _coordinates(draw, n)
    period = draw(st.sampled_from([None, None, xp[-1] - xp[0] + 0.7]))
    # points inside segments (never on a sample point) and outside on both sides
    k = draw(st.integers(1, 6))
    seg = np.concatenate(([xp[0] - 1.0], xp, [xp[-1] + 1.0]))
    pick = np.array(draw(st.lists(st.integers(0, n), min_size=k, max_size=k)))
    frac = np.array(draw(st.lists(st.floats(0.1, 0.9), min_size=k, max_size=k)))
    x = seg[pick] + frac * (seg[pick + 1] - seg[pick])
    fp = floats(draw, (n,))
    if period is None and draw(st.booleans()):
        return (lambda a, f, lo, hi: cnp.interp(a, xp, f, lo, hi)), \
            (x, fp, floats(draw, ()), floats(draw, ()))
    return (lambda a, f: cnp.sin(cnp.interp(a, xp, f, period=period))), (x, fp)


@case("np.unwrap")
def _unwrap(draw):
    shape = draw(shapes(max_dims=2))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    period = draw(st.sampled_from([2 * np.pi, 3.0]))
    return _through_sin(lambda p: cnp.unwrap(p, axis=axis, period=period)), \
        (floats(draw, shape, -6, 6),)
