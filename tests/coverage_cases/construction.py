"""Cases for the construction family (building arrays from pieces, padding, ranges).

These functions are linear (or piecewise linear) in their inputs, so each case is
checked through ``sin`` (``_sin``): the second-order check then differentiates the
rules themselves, with gradients that depend on the input.
"""
import warnings

import numpy as np
from hypothesis import strategies as st

import chainrule.numpy as cnp

from ._api import case, floats, positive, shapes  # noqa: F401



def through_sin(f):
    """``f`` followed by sin on each output (shape.py and signal.py use it too)."""
    return lambda *a: _sin(f(*a))


def _sin(y):
    return [cnp.sin(p) for p in y] if isinstance(y, (list, tuple)) else cnp.sin(y)


_through_sin = through_sin


def _axis(draw, ndim):
    return draw(st.integers(-ndim, ndim - 1))


def _with_side(shape, axis, n):
    s = list(shape)
    s[axis] = n
    return tuple(s)


# ------------------------------------------------------------- joining
@case("np.concatenate", "np.concat")
def _concatenate(draw):
    shape = draw(shapes())
    ax = _axis(draw, len(shape))
    other = _with_side(shape, ax, draw(st.integers(0, 3)))
    fn = draw(st.sampled_from([cnp.concatenate, cnp.concat]))
    return _through_sin(lambda a, b: fn([a, b, np.ones(other)], axis=ax)), \
        (floats(draw, shape), floats(draw, other))


@case("np.stack")
def _stack(draw):
    shape = draw(shapes(min_dims=0))
    ax = draw(st.integers(-len(shape) - 1, len(shape)))
    return _through_sin(lambda a, b: cnp.stack([a, b, a * b], axis=ax)), \
        (floats(draw, shape), floats(draw, shape))


@case("np.vstack", "np.hstack", "np.dstack", "np.column_stack", "np.row_stack")
def _joined(draw):
    name = draw(st.sampled_from(["vstack", "hstack", "dstack", "column_stack", "row_stack"]))
    shape = draw(shapes(max_dims=2))
    fn = getattr(cnp, name)

    def f(a, b):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)     # row_stack, as in NumPy
            return fn([a, b])
    return _through_sin(f), (floats(draw, shape), floats(draw, shape))


@case("np.append")
def _append(draw):
    shape = draw(shapes())
    if draw(st.booleans()):
        return _through_sin(lambda a, b: cnp.append(a, b)), \
            (floats(draw, shape), floats(draw, draw(shapes())))
    ax = _axis(draw, len(shape))
    other = _with_side(shape, ax, draw(st.integers(1, 3)))
    return _through_sin(lambda a, b: cnp.append(a, b, axis=ax)), \
        (floats(draw, shape), floats(draw, other))


@case("np.block")
def _block(draw):
    r, c, k = (draw(st.integers(1, 3)) for _ in range(3))
    if draw(st.booleans()):                    # a 2 x 2 block matrix
        shapes_ = [(r, c), (r, k), (2, c), (2, k)]
        return _through_sin(lambda a, b, d, e: cnp.block([[a, b], [d, e]])), \
            tuple(floats(draw, s) for s in shapes_)
    return _through_sin(lambda a, b: cnp.block([a, b, 0.5])), \
        (floats(draw, (r,)), floats(draw, ()))       # depth 1: hstack of 1-D and scalars


@case("np.array", "np.asarray", "np.asanyarray", "np.asarray_chkfinite")
def _array(draw):
    shape = draw(shapes(min_dims=0, max_dims=2))
    fn = draw(st.sampled_from([cnp.array, cnp.asarray, cnp.asanyarray, cnp.asarray_chkfinite]))
    return _through_sin(lambda a, b: fn([[a, b], [b * a, a]])), \
        (floats(draw, shape), floats(draw, shape))


@case("np.copy", "np.ascontiguousarray", "np.asfortranarray", "np.require")
def _layout(draw):
    shape = draw(shapes(min_dims=0))
    flags = draw(st.sampled_from(["C", "F", "FW", "O"]))
    fns = [cnp.copy, cnp.ascontiguousarray, cnp.asfortranarray,
           lambda a: cnp.require(a, requirements=flags)]
    fn = draw(st.sampled_from(fns))
    transposed = draw(st.booleans())          # a non-contiguous input
    return _through_sin(lambda a: fn(a.T if transposed else a)), (floats(draw, shape),)


@case("np.full", "np.full_like")
def _full(draw):
    shape = draw(shapes(min_dims=0))
    fill = shape[draw(st.integers(0, len(shape))):]          # broadcast into the shape
    if draw(st.booleans()):
        return _through_sin(lambda v: cnp.full(shape, v)), (floats(draw, fill),)
    like = np.zeros(shape)
    return _through_sin(lambda v: cnp.full_like(like, v)), (floats(draw, fill),)


# ------------------------------------------------------------- splitting
@case("np.split", "np.array_split")
def _split(draw):
    shape = draw(shapes())
    ax = _axis(draw, len(shape))
    if draw(st.booleans()):
        n = shape[ax]
        k = draw(st.sampled_from([d for d in range(1, n + 1) if n % d == 0]))
        return _through_sin(lambda a: cnp.split(a, k, axis=ax)), (floats(draw, shape),)
    k = draw(st.integers(1, 5))
    return _through_sin(lambda a: cnp.array_split(a, k, axis=ax)), (floats(draw, shape),)


@case("np.diff")
def _diff(draw):
    shape = draw(shapes())
    ax = _axis(draw, len(shape))
    n = draw(st.integers(0, 3))
    if draw(st.booleans()):
        return _through_sin(lambda a: cnp.diff(a, n, axis=ax)), (floats(draw, shape),)
    edge = _with_side(shape, ax, draw(st.integers(1, 2))) if draw(st.booleans()) else ()
    return _through_sin(lambda a, p, q: cnp.diff(a, n, axis=ax, prepend=p, append=q)), \
        (floats(draw, shape), floats(draw, edge), floats(draw, edge))


@case("np.delete")
def _delete(draw):
    shape = draw(shapes())
    if draw(st.booleans()):
        n = int(np.prod(shape))
        obj = draw(st.lists(st.integers(0, n - 1), max_size=n - 1, unique=True))
        return _through_sin(lambda a: cnp.delete(a, obj)), (floats(draw, shape),)
    ax = _axis(draw, len(shape))
    obj = draw(st.sampled_from([slice(None, None, 2), 0, -1, [0]]))
    return _through_sin(lambda a: cnp.delete(a, obj, axis=ax)), (floats(draw, shape),)


@case("np.insert")
def _insert(draw):
    shape = draw(shapes(max_dims=2))
    if draw(st.booleans()):
        n = int(np.prod(shape))
        obj = draw(st.lists(st.integers(0, n), min_size=1, max_size=3))
        return _through_sin(lambda a, v: cnp.insert(a, obj, v)), \
            (floats(draw, shape), floats(draw, draw(st.sampled_from([(), (len(obj),)]))))
    ax = _axis(draw, len(shape))
    obj = draw(st.integers(0, shape[ax]))
    others = shape[:ax % len(shape)] + shape[ax % len(shape) + 1:]
    return _through_sin(lambda a, v: cnp.insert(a, obj, v, axis=ax)), \
        (floats(draw, shape), floats(draw, draw(st.sampled_from([(), others]))))


@case("np.resize")
def _resize(draw):
    return _through_sin(lambda a, s=draw(shapes(min_dims=0)): cnp.resize(a, s)), \
        (floats(draw, draw(shapes())),)


@case("np.trim_zeros")
def _trim_zeros(draw):
    # exact zero borders come from padding a point with no zeros, so perturbing it keeps them
    shape = draw(shapes(max_dims=2))
    widths = [(draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in shape]
    trim = draw(st.sampled_from(["fb", "f", "b", "BF"]))
    axis = draw(st.sampled_from([None, -1, 0]))
    return _through_sin(lambda a: cnp.trim_zeros(cnp.pad(a, widths), trim, axis)), \
        (floats(draw, shape),)


# ------------------------------------------------------------- padding
_PAD_OPTIONS = {
    "constant": [{}, {"constant_values": 1.5}, {"constant_values": ((0.5, -1.0),)}],
    "edge": [{}], "wrap": [{}], "empty": [{}],
    "reflect": [{}, {"reflect_type": "odd"}], "symmetric": [{}, {"reflect_type": "odd"}],
    "linear_ramp": [{}, {"end_values": (2.0, -1.0)}],
    "mean": [{}, {"stat_length": 2}], "median": [{}, {"stat_length": (1, 2)}],
    "maximum": [{}, {"stat_length": 2}], "minimum": [{}, {"stat_length": 3}],
}


@case("np.pad")
def _pad(draw):
    shape = draw(shapes(max_dims=2))
    widths = [(draw(st.integers(0, 5)), draw(st.integers(0, 5))) for _ in shape]
    mode = draw(st.sampled_from(sorted(_PAD_OPTIONS)))
    kw = draw(st.sampled_from(_PAD_OPTIONS[mode]))
    x = floats(draw, shape)
    if mode == "empty":             # the border is uninitialised: check the kept part
        crop = tuple(slice(b, b + n) for (b, _), n in zip(widths, shape))
        return _through_sin(lambda a: cnp.pad(a, widths, mode)[crop]), (x,)
    if mode in ("constant", "linear_ramp") and draw(st.booleans()):     # Tensor constants
        key = "constant_values" if mode == "constant" else "end_values"
        cshape = draw(st.sampled_from([(), (2,), (len(shape), 2)]))
        return _through_sin(lambda a, c: cnp.pad(a, widths, mode, **{key: c})), \
            (x, floats(draw, cshape))
    return _through_sin(lambda a: cnp.pad(a, widths, mode, **kw)), (x,)


# ------------------------------------------------------------- ranges and grids
@case("np.linspace")
def _linspace(draw):
    shape = draw(shapes(min_dims=0, max_dims=2))
    num, endpoint = draw(st.integers(0, 6)), draw(st.booleans())
    axis = draw(st.integers(-len(shape) - 1, len(shape)))
    retstep = draw(st.booleans()) and num > 1
    f = (lambda a, b: cnp.linspace(a, b, num, endpoint, retstep=retstep, axis=axis))
    return _through_sin(f), (floats(draw, shape), floats(draw, shape[1:]))


@case("np.logspace")
def _logspace(draw):
    shape = draw(shapes(min_dims=0, max_dims=2))
    num, endpoint = draw(st.integers(1, 5)), draw(st.booleans())
    if draw(st.booleans()):
        return (lambda a, b, c: cnp.logspace(a, b, num, endpoint, base=c)), \
            (floats(draw, shape, -1, 1), floats(draw, shape, -1, 1), positive(draw, (), 1.5, 3))
    return (lambda a, b: cnp.logspace(a, b, num, endpoint, base=2.0, axis=-1)), \
        (floats(draw, shape, -1, 1), floats(draw, shape, -1, 1))


@case("np.geomspace")
def _geomspace(draw):
    shape = draw(shapes(min_dims=0, max_dims=2))
    sign = draw(st.sampled_from([1.0, -1.0]))
    num, endpoint = draw(st.integers(1, 5)), draw(st.booleans())
    return (lambda a, b: cnp.geomspace(a, b, num, endpoint, axis=0)), \
        (sign * positive(draw, shape, 0.5, 2), sign * positive(draw, shape, 0.5, 2))


@case("np.vander")
def _vander(draw):
    n = draw(st.integers(1, 4))
    N = draw(st.sampled_from([None, 0, 1, 3, 5]))
    increasing = draw(st.booleans())
    return (lambda a: cnp.vander(a, N, increasing)), (floats(draw, (n,), -1.5, 1.5),)


@case("np.meshgrid")
def _meshgrid(draw):
    k = draw(st.integers(1, 3))
    sparse, indexing = draw(st.booleans()), draw(st.sampled_from(["xy", "ij"]))
    copy = draw(st.booleans())
    args = tuple(floats(draw, (draw(st.integers(1, 3)),)) for _ in range(k))
    return _through_sin(lambda *xs: cnp.meshgrid(*xs, copy=copy, sparse=sparse,
                                                 indexing=indexing)), args


@case("np.diagflat")
def _diagflat(draw):
    k = draw(st.integers(-2, 2))
    return _through_sin(lambda a: cnp.diagflat(a, k)), (floats(draw, draw(shapes(max_dims=2))),)
