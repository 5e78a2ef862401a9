"""Cases for the shape family: ops that move entries around (checked through ``sin``, so the
second-order check differentiates the rules with input-dependent gradients)."""
import numpy as np
from hypothesis import strategies as st

import chainrule.numpy as cnp

from ._api import case, floats, positive, shapes  # noqa: F401
from .construction import through_sin as _through_sin



def _axis(draw, ndim):
    return draw(st.integers(-ndim, ndim - 1))


def _one(name, f, min_dims=1, max_dims=3):
    """A case for ``f(draw, shape) -> function of one array``."""
    @case(name)
    def build(draw):
        shape = draw(shapes(min_dims=min_dims, max_dims=max_dims))
        return _through_sin(f(draw, shape)), (floats(draw, shape),)
    return build


def _perm(draw, ndim):
    return tuple(draw(st.permutations(range(ndim))))


_one("np.reshape", lambda draw, s: lambda a, t=draw(st.sampled_from([(-1,), s[::-1], (1,) + s])),
     o=draw(st.sampled_from("CF")): cnp.reshape(a, t, order=o))
_one("np.ravel", lambda draw, s: lambda a, o=draw(st.sampled_from("CF")): cnp.ravel(a, order=o))
_one("np.transpose", lambda draw, s: lambda a, p=draw(st.sampled_from([None, _perm(draw, len(s))])):
     cnp.transpose(a, p))
_one("np.permute_dims", lambda draw, s: lambda a, p=_perm(draw, len(s)): cnp.permute_dims(a, p))
_one("np.swapaxes", lambda draw, s: lambda a, i=_axis(draw, len(s)), j=_axis(draw, len(s)):
     cnp.swapaxes(a, i, j))
_one("np.moveaxis", lambda draw, s: lambda a, i=_axis(draw, len(s)), j=_axis(draw, len(s)):
     cnp.moveaxis(a, i, j))
_one("np.rollaxis", lambda draw, s: lambda a, i=_axis(draw, len(s)),
     j=draw(st.integers(-len(s), len(s))): cnp.rollaxis(a, i, j))
_one("np.matrix_transpose", lambda draw, s: cnp.matrix_transpose, min_dims=2)
_one("np.expand_dims", lambda draw, s: lambda a, i=draw(st.integers(-len(s) - 1, len(s))):
     cnp.expand_dims(a, i))
_one("np.squeeze", lambda draw, s: lambda a, i=draw(st.sampled_from([None, 0])):
     cnp.squeeze(cnp.expand_dims(a, (0, -1)), axis=i))
_one("np.atleast_1d", lambda draw, s: cnp.atleast_1d, min_dims=0)
_one("np.atleast_2d", lambda draw, s: cnp.atleast_2d, min_dims=0)
_one("np.atleast_3d", lambda draw, s: cnp.atleast_3d, min_dims=0)
_one("np.flip", lambda draw, s: lambda a, i=draw(st.sampled_from([None, _axis(draw, len(s))])):
     cnp.flip(a, i))
_one("np.flipud", lambda draw, s: cnp.flipud)
_one("np.fliplr", lambda draw, s: cnp.fliplr, min_dims=2)
_one("np.roll", lambda draw, s: lambda a, k=draw(st.integers(-5, 5)),
     i=draw(st.sampled_from([None, _axis(draw, len(s))])): cnp.roll(a, k, i))
_one("np.rot90", lambda draw, s: lambda a, k=draw(st.integers(-3, 4)): cnp.rot90(a, k),
     min_dims=2)
_one("np.repeat", lambda draw, s: lambda a, r=draw(st.integers(0, 3)),
     i=draw(st.sampled_from([None, _axis(draw, len(s))])): cnp.repeat(a, r, i))
_one("np.tile", lambda draw, s: lambda a, r=tuple(draw(st.lists(st.integers(1, 2), min_size=1,
                                                                max_size=3))): cnp.tile(a, r))
_one("np.tril", lambda draw, s: lambda a, k=draw(st.integers(-2, 2)): cnp.tril(a, k), min_dims=2)
_one("np.triu", lambda draw, s: lambda a, k=draw(st.integers(-2, 2)): cnp.triu(a, k), min_dims=2)
_one("np.diagonal", lambda draw, s: lambda a, k=draw(st.integers(-1, 1)): cnp.diagonal(
    a, k, 0, -1), min_dims=2)
_one("np.diag", lambda draw, s: lambda a, k=draw(st.integers(-2, 2)): cnp.diag(a, k),
     max_dims=2)
_one("np.astype", lambda draw, s: lambda a: cnp.astype(cnp.astype(a, np.longdouble), np.float64),
     min_dims=0)        # a float32 round trip would lose the precision finite differences need
_one("np.unstack", lambda draw, s: lambda a, i=_axis(draw, len(s)): cnp.unstack(a, axis=i))
_one("np.vsplit", lambda draw, s: lambda a: cnp.vsplit(a, [1]), min_dims=2)
_one("np.hsplit", lambda draw, s: lambda a: cnp.hsplit(a, [1, 2]))
_one("np.dsplit", lambda draw, s: lambda a: cnp.dsplit(a, 1), min_dims=3)


@case("np.broadcast_to")
def _broadcast_to(draw):
    shape = draw(shapes(min_dims=0))
    small = tuple(1 if draw(st.booleans()) else n for n in shape[draw(st.integers(0, len(shape))):])
    return _through_sin(lambda a: cnp.broadcast_to(a, (2,) + shape)), (floats(draw, small),)


@case("np.broadcast_arrays")
def _broadcast_arrays(draw):
    shape = draw(shapes(min_dims=0))
    small = tuple(1 if draw(st.booleans()) else n for n in shape[draw(st.integers(0, len(shape))):])
    return _through_sin(lambda a, b: cnp.broadcast_arrays(a, b)), \
        (floats(draw, shape), floats(draw, small))


@case("np.take", "np.take_along_axis")
def _take(draw):
    shape = draw(shapes())
    ax = _axis(draw, len(shape))
    if draw(st.booleans()):
        idx = np.array(draw(st.lists(st.integers(0, shape[ax] - 1), min_size=1, max_size=4)))
        return _through_sin(lambda a: cnp.take(a, idx, axis=ax)), (floats(draw, shape),)
    x = floats(draw, shape)
    order = np.argsort(x, axis=ax)             # a permutation (and a repeat) along the axis
    return _through_sin(lambda a: cnp.take_along_axis(a, np.concatenate(
        [order, np.take(order, [0], axis=ax)], axis=ax), ax)), (x,)
