"""Cases for NumPy functions that call the user's functions (differentiable when those are)."""
import numpy as np
from hypothesis import strategies as st

import chainrule.numpy as cnp

from ._api import case, floats, shapes

# functions of a 1-D slice: a scalar, a vector of the same length, a matrix
FUNC1D = [lambda v: cnp.sum(v ** 3), lambda v: cnp.cumsum(v) * cnp.sin(v),
          lambda v: cnp.outer(v, v[:2]), lambda v: np.sum(np.exp(v))]      # NumPy's, dispatched


@case("np.apply_along_axis")
def _apply_along_axis(draw):
    shape = draw(shapes(1, 3))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    f = draw(st.sampled_from(FUNC1D))
    scale = floats(draw, ())
    if draw(st.booleans()):          # an extra argument and a Tensor the function closes over
        return (lambda x, c: cnp.apply_along_axis(lambda v, k: f(v) * c + k, axis, x, 2.0)), \
            (floats(draw, shape), scale)
    return (lambda x: np.apply_along_axis(f, axis, x)), (floats(draw, shape),)


@case("np.apply_over_axes")
def _apply_over_axes(draw):
    shape = draw(shapes(1, 3))
    axes = draw(st.lists(st.integers(-len(shape), len(shape) - 1), min_size=1, max_size=3,
                         unique=True))
    f = draw(st.sampled_from([cnp.sum, np.mean, lambda a, axis: cnp.max(a, axis)]))
    return (lambda x: cnp.apply_over_axes(f, x, axes)), (floats(draw, shape),)


@case("np.piecewise")
def _piecewise(draw):
    shape = draw(shapes(0, 2))
    x = floats(draw, shape)
    lo, hi = sorted(floats(draw, (2,), -1.0, 1.0))
    conds = [x < lo, x > hi]               # fixed by the point: conditions are constants
    pieces = [lambda v: v ** 2, lambda v: cnp.sin(v) * 2.0, draw(st.sampled_from([0.25, None]))]
    if pieces[2] is None:
        pieces[2] = lambda v: -v
    return (lambda a: cnp.piecewise(a, conds, pieces)), (x,)
