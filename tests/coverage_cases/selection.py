"""Cases for selection, sets of values and histograms."""
import numpy as np
from hypothesis import strategies as st

import chainrule.numpy as cnp

from ._api import case, floats, positive, shapes


def _mask(draw, shape):
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 31 - 1)))
    return rng.random(shape) < 0.5


@case("np.select")
def _select(draw):
    shape = draw(shapes())
    k = draw(st.integers(1, 3))
    conds = [_mask(draw, shape) for _ in range(k)]
    xs = tuple(floats(draw, shape) for _ in range(k))
    if draw(st.booleans()):          # a differentiable default too
        return (lambda *c: cnp.select(conds, list(c[:-1]), c[-1])), xs + (floats(draw, shape),)
    return (lambda *c: cnp.select(conds, list(c), 0.5)), xs


@case("np.choose")
def _choose(draw):
    shape = draw(shapes())
    k = draw(st.integers(1, 3))
    mode = draw(st.sampled_from(["raise", "wrap", "clip"]))
    hi = k if mode == "raise" else k + 2
    idx = np.random.default_rng(draw(st.integers(0, 99))).integers(0, hi, shape)
    return (lambda *c: cnp.choose(idx, list(c), mode=mode)), \
        tuple(floats(draw, shape[draw(st.integers(0, len(shape))):]) for _ in range(k))


@case("np.compress")
def _compress(draw):
    shape = draw(shapes())
    axis = draw(st.sampled_from([None] + list(range(len(shape)))))
    n = int(np.prod(shape)) if axis is None else shape[axis]
    cond = _mask(draw, (draw(st.integers(1, n)),))
    return (lambda a: cnp.compress(cond, a, axis=axis)), (floats(draw, shape),)


@case("np.extract")
def _extract(draw):
    shape = draw(shapes())
    cond = _mask(draw, shape)
    return (lambda a: cnp.extract(cond, a)), (floats(draw, shape),)


def _copies(draw, size):
    """Indices of entries to repeat: x followed by x[idx] has ties that stay ties when x moves
    (finite differences move the copies together; the gradient splits among them)."""
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 31 - 1)))
    return rng.integers(0, size, draw(st.integers(0, 4)))


def _with_copies(a, idx):
    return cnp.concatenate([cnp.ravel(a), cnp.ravel(a)[idx]])


@case("np.unique")
def _unique(draw):
    shape = draw(shapes())
    x = floats(draw, shape)
    flags = draw(st.lists(st.booleans(), min_size=3, max_size=3))
    if len(shape) > 1 and draw(st.booleans()):
        axis = draw(st.integers(0, len(shape) - 1))
        reps = np.random.default_rng(draw(st.integers(0, 99))).integers(1, 3, shape[axis])

        def rows(a):          # repeated slices along axis
            return cnp.unique(cnp.repeat(a, reps, axis=axis), *flags, axis=axis)
        return (lambda a: rows(a)[0] if any(flags) else rows(a)), (x,)
    idx = _copies(draw, x.size)

    def values(a):
        r = cnp.unique(_with_copies(a, idx), *flags)
        return r[0] if any(flags) else r
    return values, (x,)


for _name in ("unique_all", "unique_counts", "unique_inverse", "unique_values"):
    @case(f"np.{_name}")
    def _array_api(draw, name=_name):
        x = floats(draw, draw(shapes()))
        idx, f = _copies(draw, x.size), getattr(cnp, name)
        return (lambda a: f(_with_copies(a, idx)) if name == "unique_values" else
                f(_with_copies(a, idx)).values), (x,)


def _set_function(name):
    @case(f"np.{name}")
    def build(draw):
        a = floats(draw, draw(shapes(max_dims=2)), -2.0, 2.0)
        extra = floats(draw, (draw(st.integers(1, 3)),), 2.5, 4.0)
        k = draw(st.integers(0, a.size))
        kw = {"return_indices": draw(st.booleans())} if name == "intersect1d" else {}

        def f(x, y):             # y shares k of x's values: they stay equal when x moves
            r = getattr(cnp, name)(x, cnp.concatenate([cnp.ravel(x)[:k], y]), **kw)
            return r[0] if kw.get("return_indices") else r
        return f, (a, extra)


for _name in ("intersect1d", "union1d", "setxor1d", "setdiff1d"):
    _set_function(_name)


def _spread(x):
    """Entries in different bins of every grid used here, in each column (first row −1, last
    row 1): a density that lives in one bin is constant, its derivatives rounding noise."""
    x = x.copy()
    x[0], x[-1] = -1.0, 1.0
    return x


@case("np.histogram")
def _histogram(draw):
    x = _spread(floats(draw, (draw(st.integers(2, 8)),)))
    bins = draw(st.sampled_from([3, 5, "auto", "sturges", np.array([-2.0, -0.3, 0.4, 2.0])]))
    density = draw(st.booleans())
    if isinstance(bins, str):         # NumPy estimates bins from unweighted data only
        return (lambda a: cnp.histogram(a, bins, density=density)), (x,)
    w = positive(draw, x.shape)
    return (lambda a, b: cnp.histogram(a, bins, weights=b, density=density)), (x, w)


@case("np.histogram_bin_edges")
def _bin_edges(draw):
    x = floats(draw, draw(shapes(max_dims=2)))
    bins = draw(st.sampled_from([1, 4, "auto", "fd", "doane", "rice", "scott", "sqrt"]))
    return (lambda a: cnp.histogram_bin_edges(a, bins)), (x,)


@case("np.histogramdd")
def _histogramdd(draw):
    n, d = draw(st.integers(2, 6)), draw(st.integers(1, 3))
    bins = draw(st.sampled_from([2, 3, [np.array([-2.0, 0.1, 2.0])] * d]))
    density = draw(st.booleans())
    return (lambda s, w: cnp.histogramdd(s, bins, weights=w, density=density)), \
        (_spread(floats(draw, (n, d))), positive(draw, (n,)))


@case("np.histogram2d")
def _histogram2d(draw):
    n = draw(st.integers(2, 6))
    bins = draw(st.sampled_from([2, [2, 3]]))
    density = draw(st.booleans())
    return (lambda x, y, w: cnp.histogram2d(x, y, bins, weights=w, density=density)), \
        (_spread(floats(draw, (n,))), _spread(floats(draw, (n,))), positive(draw, (n,)))


@case("np.bincount")
def _bincount(draw):
    n = draw(st.integers(1, 6))
    idx = np.random.default_rng(draw(st.integers(0, 99))).integers(0, 4, n)
    minlength = draw(st.integers(0, 6))
    return (lambda w: cnp.bincount(idx, w, minlength=minlength)), (floats(draw, (n,)),)
