"""Cases for the reductions family."""
import numpy as np
from hypothesis import strategies as st

import chainrule.numpy as cnp

from ._api import case, floats, positive, shapes


def axes(draw, ndim, tuples=True):
    """None, one axis (possibly negative), or (when tuples) a tuple of distinct axes."""
    kind = draw(st.sampled_from(["none", "one", "tuple"] if tuples and ndim > 1 else
                                ["none", "one"]))
    if kind == "none" or ndim == 0:
        return None
    if kind == "one":
        return draw(st.integers(-ndim, ndim - 1))
    picked = draw(st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True))
    return tuple(picked)


def _count(shape, axis):
    if axis is None:
        return int(np.prod(shape))
    axis = (axis,) if isinstance(axis, int) else axis
    return int(np.prod([shape[a] for a in axis]))


def _reduction(name, domain=floats, extra=lambda draw, shape, axis: {}):
    @case(f"np.{name}")
    def build(draw):
        shape = draw(shapes())
        axis = axes(draw, len(shape))
        kw = dict(axis=axis, keepdims=draw(st.booleans()), **extra(draw, shape, axis))
        return (lambda a: getattr(cnp, name)(a, **kw)), (domain(draw, shape),)


for _name in ("sum", "mean", "max", "min", "amax", "amin"):
    _reduction(_name)
_reduction("prod", lambda draw, shape: positive(draw, shape, 0.5, 1.5) *
           np.where(floats(draw, shape) > 0, 1.0, -1.0))


def _ddof(draw, shape, axis):
    return {"ddof": draw(st.integers(0, min(1, _count(shape, axis) - 1)))}


_reduction("var", extra=_ddof)
_reduction("std", extra=_ddof)


def cumulative(name, domain=lambda draw, shape: floats(draw, shape, 0.5, 1.5)):
    @case(f"np.{name}")
    def build(draw):
        shape = draw(shapes())
        axis = draw(st.sampled_from([None] + list(range(-len(shape), len(shape)))))
        return (lambda a: getattr(cnp, name)(a, axis=axis)), (domain(draw, shape),)


cumulative("cumsum")
cumulative("cumprod")


@case("np.trace")
def _trace(draw):
    shape = draw(shapes(min_dims=2))
    a1, a2 = draw(st.lists(st.integers(0, len(shape) - 1), min_size=2, max_size=2, unique=True))
    offset = draw(st.integers(-1, 1))
    return (lambda a: cnp.trace(a, offset=offset, axis1=a1, axis2=a2)), (floats(draw, shape),)


@case("np.sort")
def _sort(draw):
    shape = draw(shapes())
    axis = draw(st.sampled_from([None, -1] + list(range(len(shape)))))
    return (lambda a: cnp.sort(a, axis=axis)), (floats(draw, shape),)
