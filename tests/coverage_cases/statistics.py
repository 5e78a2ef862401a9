"""Cases for order statistics, NaN-skipping reductions, averages and covariances."""
import numpy as np
from hypothesis import strategies as st

import chainrule.numpy as cnp

from ._api import case, floats, positive, shapes
from .reductions import axes, cumulative

METHODS = ("inverted_cdf", "averaged_inverted_cdf", "closest_observation",
           "interpolated_inverted_cdf", "hazen", "weibull", "linear", "median_unbiased",
           "normal_unbiased", "lower", "higher", "midpoint", "nearest")
INTERPOLATING = ("interpolated_inverted_cdf", "hazen", "weibull", "linear", "median_unbiased",
                 "normal_unbiased")


def with_nans(draw, x, axis):
    """Some entries NaN, never a whole reduced slice (the first entry of each stays)."""
    mask = np.random.default_rng(draw(st.integers(0, 2 ** 31 - 1))).random(x.shape) < 0.3
    if x.ndim:
        reduced = range(x.ndim) if axis is None else \
            [a % x.ndim for a in ((axis,) if isinstance(axis, int) else axis)]
        first = tuple(0 if i in reduced else slice(None) for i in range(x.ndim))
        mask[first] = False
    else:
        mask = np.zeros((), bool)
    return np.where(mask, np.nan, x)


def _order_statistic(name, nan):
    @case(f"np.{name}")
    def build(draw):
        shape = draw(shapes())
        axis = axes(draw, len(shape))
        x = floats(draw, shape)
        x = with_nans(draw, x, axis) if nan else x
        kw = dict(axis=axis, keepdims=draw(st.booleans()))
        if "median" in name:
            return (lambda a: getattr(cnp, name)(a, **kw)), (x,)
        scale = 100.0 if "percentile" in name else 1.0
        # an irrational offset keeps q off the kinks at whole virtual indices (and off the
        # jumps of the discontinuous methods), which simple shrunk values like ½ would hit
        q = np.asarray(draw(st.lists(st.floats(0.02, 0.97), min_size=1, max_size=3)))
        q = (q + 0.001 * np.sqrt(2.0)) * scale
        if draw(st.booleans()):
            q = q[0]
        method = draw(st.sampled_from(METHODS))
        if method in INTERPOLATING and draw(st.booleans()):   # differentiable in q too
            return (lambda a, p: getattr(cnp, name)(a, p, method=method, **kw)), (x, q)
        return (lambda a: getattr(cnp, name)(a, q, method=method, **kw)), (x,)


for _name in ("median", "quantile", "percentile"):
    _order_statistic(_name, nan=False)
    _order_statistic("nan" + _name, nan=True)


def _weighted(name, q):
    @case(f"np.{name}")
    def build(draw):
        shape = draw(shapes())
        axis = draw(st.sampled_from([None] + list(range(len(shape)))))
        x = floats(draw, shape)
        w = positive(draw, shape)
        return (lambda a: getattr(cnp, name)(a, q, axis=axis, method="inverted_cdf",
                                             weights=w)), (x,)


_weighted("quantile", 0.4)
_weighted("percentile", 40.0)
_weighted("nanquantile", 0.4)


@case("np.partition")
def _partition(draw):
    shape = draw(shapes())
    axis = draw(st.sampled_from([None, -1] + list(range(len(shape)))))
    n = int(np.prod(shape)) if axis is None else shape[axis]
    kth = draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=2, unique=True))
    return (lambda a: cnp.partition(a, kth, axis=axis)), (floats(draw, shape),)


@case("np.ptp")
def _ptp(draw):
    shape = draw(shapes())
    axis = axes(draw, len(shape))
    keepdims = draw(st.booleans())
    return (lambda a: cnp.ptp(a, axis=axis, keepdims=keepdims)), (floats(draw, shape),)


def _nan_reduction(name, domain=floats, ddof=False):
    @case(f"np.{name}")
    def build(draw):
        shape = draw(shapes())
        axis = axes(draw, len(shape))
        x = with_nans(draw, domain(draw, shape), axis)
        kw = dict(axis=axis, keepdims=draw(st.booleans()))
        if ddof:
            kw["ddof"] = 0
        return (lambda a: getattr(cnp, name)(a, **kw)), (x,)


for _name in ("nansum", "nanmean", "nanmax", "nanmin"):
    _nan_reduction(_name)
_nan_reduction("nanprod", lambda draw, shape: positive(draw, shape, 0.5, 1.5))
_nan_reduction("nanvar", ddof=True)
_nan_reduction("nanstd", ddof=True)


for _name in ("nancumsum", "nancumprod"):
    cumulative(_name, lambda draw, shape: with_nans(draw, positive(draw, shape, 0.5, 1.5), None))


@case("np.average")
def _average(draw):
    shape = draw(shapes())
    axis = axes(draw, len(shape))
    x = floats(draw, shape)
    if draw(st.booleans()):
        return (lambda a: cnp.average(a, axis=axis)), (x,)
    along = draw(st.booleans()) and axis is not None
    if along:
        picked = (axis,) if isinstance(axis, int) else axis
        w = positive(draw, tuple(shape[a] for a in picked))
    else:
        w = positive(draw, shape)
    returned = draw(st.booleans())

    def f(a, b):
        r = cnp.average(a, axis=axis, weights=b, returned=returned)
        return r[0] * 2.0 + r[1] if returned else r
    return f, (x, w)


def _observations(draw):
    p, n = draw(st.integers(1, 3)), draw(st.integers(3, 5))
    return floats(draw, (p, n))


@case("np.cov")
def _cov(draw):
    m = _observations(draw)
    rowvar = draw(st.booleans())
    kw = dict(rowvar=rowvar, bias=draw(st.booleans()))
    if draw(st.booleans()):
        kw["ddof"] = draw(st.integers(0, 2))
    n = m.shape[1]
    fw = np.array(draw(st.lists(st.integers(1, 3), min_size=n, max_size=n)))
    aw = positive(draw, (n,), 0.5, 2.0)
    use = draw(st.sampled_from(["none", "f", "a", "fa"]))
    kw["fweights"] = fw if "f" in use else None
    m = m if rowvar else m.T
    if "a" in use:
        return (lambda x, w: cnp.cov(x, aweights=w, **kw)), (m, aw)
    if draw(st.booleans()):
        y = floats(draw, m.shape[1:] if rowvar else m.shape[:1])
        return (lambda x, z: cnp.cov(x, z, **kw)), (m, y)
    return (lambda x: cnp.cov(x, **kw)), (m,)


@case("np.corrcoef")
def _corrcoef(draw):
    m = _observations(draw)
    rowvar = draw(st.booleans())
    m = m if rowvar else m.T
    if draw(st.booleans()):
        y = floats(draw, m.shape[1:] if rowvar else m.shape[:1])
        return (lambda x, z: cnp.corrcoef(x, z, rowvar=rowvar)), (m, y)
    return (lambda x: cnp.corrcoef(x, rowvar=rowvar)), (m,)
