"""Order statistics, NaN-skipping reductions, averages, covariances, sets and histograms:
NumPy's values and dtypes exactly, the documented gradients at ties and NaN, and the keyword
variants.  Finite-difference checks of every function are in tests/coverage_cases."""
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import chainrule as cr
import chainrule.numpy as cnp

METHODS = ("inverted_cdf", "averaged_inverted_cdf", "closest_observation",
           "interpolated_inverted_cdf", "hazen", "weibull", "linear", "median_unbiased",
           "normal_unbiased", "lower", "higher", "midpoint", "nearest")
QUANTILES = ("quantile", "nanquantile", "percentile", "nanpercentile", "median", "nanmedian")


def grad(f, *args, argnums=0):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return cr.grad(f, argnums=argnums)(*args)


@st.composite
def samples(draw):
    """Arrays with ties (small integers), NaNs, float32 or float64, and an axis for them."""
    shape = tuple(draw(st.lists(st.integers(1, 5), min_size=1, max_size=3)))
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 31 - 1)))
    dtype = draw(st.sampled_from([np.float64, np.float32]))
    x = (rng.integers(-3, 4, shape) if draw(st.booleans()) else rng.standard_normal(shape))
    x = x.astype(dtype)
    if draw(st.booleans()):
        x[rng.random(shape) < 0.3] = np.nan
    axis = draw(st.sampled_from([None, 0, -1, tuple(range(len(shape)))]))
    return x, axis


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(sample=samples(), name=st.sampled_from(QUANTILES), method=st.sampled_from(METHODS),
       qkind=st.sampled_from(["float", "array", "numpy scalar"]), keepdims=st.booleans(),
       q=st.floats(0, 1))
def test_values_and_dtypes_are_numpys(sample, name, method, qkind, keepdims, q):
    x, axis = sample
    q = {"float": q, "array": np.array([q, 1 - q, 0.5]), "numpy scalar": np.float64(q)}[qkind]
    args = () if "median" in name else (q * 100 if "percentile" in name else q,)
    kw = {} if "median" in name else {"method": method}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        want = np.asarray(getattr(np, name)(x, *args, axis=axis, keepdims=keepdims, **kw))
        got = getattr(cnp, name)(cr.tensor(x, requires_grad=True), *args, axis=axis,
                                 keepdims=keepdims, **kw)
    assert got.shape == want.shape and got.dtype == want.dtype
    np.testing.assert_array_equal(got.data, want)


def test_ties_share_the_gradient_evenly():
    assert list(grad(cnp.median, np.array([1.0, 2.0, 2.0]))) == [0.0, 0.5, 0.5]
    assert list(grad(cnp.median, np.array([1.0, 2.0, 2.0, 5.0]))) == [0.0, 0.5, 0.5, 0.0]
    g = grad(lambda x: cnp.quantile(x, 0.5, method="lower"), np.array([3.0, 1.0, 3.0, 3.0]))
    np.testing.assert_allclose(g, [1 / 3, 0.0, 1 / 3, 1 / 3])
    g = grad(lambda x: cnp.sum(cnp.partition(x, 1) * np.array([0.0, 1.0, 0.0])),
             np.array([2.0, 2.0, 0.0]))
    np.testing.assert_allclose(g, [0.5, 0.5, 0.0])
    # along an axis, per slice
    g = grad(lambda x: cnp.sum(cnp.median(x, axis=1)), np.array([[1.0, 1.0, 0.0], [4, 5, 6]]))
    np.testing.assert_allclose(g, [[0.5, 0.5, 0], [0, 1, 0]])


def test_nan_entries_of_nan_functions_get_zero_gradient():
    x = np.array([[1.0, np.nan, 3.0, 2.0], [np.nan] * 4])
    for f in (lambda a: cnp.nansum(a), lambda a: cnp.nanmean(a, axis=1),
              lambda a: cnp.nanmax(a, axis=1), lambda a: cnp.nanmedian(a, axis=1),
              lambda a: cnp.nanvar(a, axis=1), lambda a: cnp.nanstd(a, axis=1),
              lambda a: cnp.nanpercentile(a, 40, axis=1), lambda a: cnp.nanprod(a, axis=1),
              lambda a: cnp.nancumsum(a, axis=1), lambda a: cnp.nancumprod(a)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            y = f(cr.tensor(x))
            w = np.where(np.isnan(y.data), 0.0, 1.0)
            g = cr.grad(lambda a: cnp.sum(cnp.where(w > 0, f(a), 0.0) * w))(x)
        assert np.all(g[np.isnan(x)] == 0) and np.all(np.isfinite(g))
    g = grad(lambda a: cnp.nanmean(a), x)
    np.testing.assert_allclose(g[0], [1 / 3, 0, 1 / 3, 1 / 3])


@pytest.mark.parametrize("name,message", [("nanmax", "All-NaN slice"), ("nanmin", "All-NaN"),
                                          ("nanmean", "Mean of empty slice"),
                                          ("nanvar", "Degrees of freedom"),
                                          ("nanmedian", "All-NaN slice")])
def test_all_nan_slices_give_nan_and_numpys_warning(name, message):
    x = np.array([[1.0, 2.0], [np.nan, np.nan]])
    with pytest.warns(RuntimeWarning, match=message):
        got = getattr(cnp, name)(cr.tensor(x, requires_grad=True), axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.testing.assert_array_equal(got.data, getattr(np, name)(x, axis=1))
    assert np.isnan(got.data[1])


def test_a_nan_in_a_plain_order_statistic_takes_the_gradient():
    # NumPy's median of a slice holding NaN is that NaN: it is the entry that gets the gradient
    g = grad(lambda a: cnp.sum(cnp.median(a, axis=1)), np.array([[1.0, np.nan, 2], [1, 2, 3]]))
    np.testing.assert_array_equal(g, [[0, 1, 0], [0, 1, 0]])


def test_quantile_with_respect_to_q_and_its_kinks():
    x = np.array([0.0, 1.0, 5.0, 6.0])
    assert grad(lambda q: cnp.quantile(x, q), 0.4) == pytest.approx(4.0 * 3)
    # at a whole virtual index (q = 1/3, n = 4): the smaller neighbouring gap
    assert grad(lambda q: cnp.quantile(x, q), 1 / 3) == pytest.approx(1.0 * 3)
    assert grad(lambda q: cnp.quantile(x, q), 2 / 3) == pytest.approx(1.0 * 3)
    # discontinuous methods are piecewise constant in q
    assert grad(lambda q: cnp.quantile(x, q, method="nearest"), 0.4) == 0.0
    cr.check_grad(lambda a, q: cnp.percentile(a, q, method="hazen"), x + 0.1,
                  np.array([23.0, 71.0]), order=2, warn_on_kink=False)


def test_weighted_quantile_picks_an_entry_and_weights_have_zero_gradient():
    x, w = np.array([1.0, 3.0, 2.0, 5.0]), np.array([0.1, 2.0, 1.0, 0.5])
    got = cnp.quantile(cr.tensor(x), 0.5, method="inverted_cdf", weights=cr.tensor(w))
    assert got.data == np.quantile(x, 0.5, method="inverted_cdf", weights=w)
    gx, gw = grad(lambda a, b: cnp.quantile(a, 0.5, method="inverted_cdf", weights=b), x, w,
                  argnums=(0, 1))
    np.testing.assert_array_equal(gx, x == got.data)
    np.testing.assert_array_equal(gw, 0.0)
    with pytest.raises(ValueError, match="inverted_cdf"):
        cnp.quantile(cr.tensor(x, requires_grad=True), 0.5, weights=w)


def test_float32_stays_float32():
    x32 = np.array([[3.0, 1.0, 2.0], [0.5, 0.25, 4.0]], np.float32)
    for f in (lambda a: cnp.median(a, axis=1), lambda a: cnp.quantile(a, 0.3),
              lambda a: cnp.nanstd(a), lambda a: cnp.nanmean(a, axis=0), lambda a: cnp.ptp(a),
              lambda a: cnp.average(a, axis=1, weights=np.ones(3, np.float32)),
              lambda a: cnp.unique(a), lambda a: cnp.partition(a, 1)):
        y = f(cr.tensor(x32))
        assert y.dtype == np.float32
        assert grad(lambda a: cnp.sum(f(a)), x32).dtype == np.float32


def test_empty_and_zero_size_inputs_follow_numpy():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        e = np.zeros((0, 3))
        for name in ("median", "nanmedian"):
            got = getattr(cnp, name)(cr.tensor(e, requires_grad=True), axis=0)
            np.testing.assert_array_equal(got.data, getattr(np, name)(e, axis=0))
        assert cnp.median(cr.tensor(e), axis=1).shape == (0,)


def test_nan_reduction_keywords():
    x = np.array([[1.0, np.nan, 3.0], [4.0, 5.0, np.nan]])
    where = np.array([[True, True, False], [True, True, True]])
    t = cr.tensor(x, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for name, kw in [("nansum", dict(where=where, initial=2.0, keepdims=True)),
                         ("nanprod", dict(axis=1, initial=3.0)),
                         ("nanmax", dict(axis=0, initial=4.5)),
                         ("nanmin", dict(axis=1, where=where, initial=9.0)),
                         ("nanmean", dict(axis=1, where=where)),
                         ("nanvar", dict(axis=1, correction=1)),
                         ("nanstd", dict(axis=0, ddof=0, keepdims=True)),
                         ("nanvar", dict(axis=1, mean=np.array([[1.0], [4.5]])))]:
            np.testing.assert_allclose(getattr(cnp, name)(t, **kw).data,
                                       getattr(np, name)(x, **kw), rtol=1e-15)
    with pytest.raises(ValueError, match="simultaneously"):
        cnp.nanvar(t, ddof=1, correction=1)
    with pytest.raises(cr.ChainruleError, match="out="):
        cnp.nansum(t, out=np.zeros(()))
    # a tie with initial: the constant wins, the entry gets 0
    assert grad(lambda a: cnp.nanmax(a, initial=3.0), np.array([1.0, 3.0])).tolist() == [0, 0]


def test_nanstd_of_a_constant_slice_is_zero():
    g = grad(lambda a: cnp.sum(cnp.nanstd(a, axis=1)), np.array([[0.1, 0.1, np.nan, 0.1]]))
    np.testing.assert_array_equal(g, 0.0)


def test_average_weights_and_returned():
    x, w = np.array([[1.0, 2.0, 4.0], [3.0, 0.5, 1.0]]), np.array([0.2, 0.3, 0.5])
    avg, scl = cnp.average(cr.tensor(x), axis=1, weights=cr.tensor(w), returned=True)
    ref = np.average(x, axis=1, weights=w, returned=True)
    np.testing.assert_array_equal(avg.data, ref[0])
    np.testing.assert_array_equal(scl.data, ref[1])
    gw = grad(lambda b: cnp.sum(cnp.average(x, axis=1, weights=b)), w)
    np.testing.assert_allclose(gw, np.sum((x - ref[0][:, None]) / w.sum(), axis=0))
    with pytest.raises(ZeroDivisionError):
        cnp.average(cr.tensor(x), axis=1, weights=np.zeros(3))
    with pytest.raises(TypeError, match="Axis must be specified"):
        cnp.average(cr.tensor(x), weights=w)


@pytest.mark.parametrize("kw", [{}, {"rowvar": False}, {"bias": True}, {"ddof": 2},
                                {"fweights": np.array([1, 2, 1, 3])},
                                {"aweights": np.array([0.5, 1.0, 2.0, 1.5])},
                                {"fweights": np.array([1, 2, 1, 3]), "ddof": 1,
                                 "aweights": np.array([0.5, 1.0, 2.0, 1.5])}])
def test_cov_and_corrcoef_keywords_match_numpy(kw):
    m = np.array([[1.0, 2.5, 0.3, 4.0], [2.0, -1.0, 0.5, 1.5], [0.1, 0.2, 0.9, -0.4]])
    if kw.get("rowvar") is False:
        m = m.T.copy()
    np.testing.assert_allclose(cnp.cov(cr.tensor(m), **kw).data, np.cov(m, **kw), rtol=1e-14)
    np.testing.assert_allclose(cnp.corrcoef(cr.tensor(m), rowvar=kw.get("rowvar", True)).data,
                               np.corrcoef(m, rowvar=kw.get("rowvar", True)), rtol=1e-14)
    if "aweights" in kw:
        w = kw.pop("aweights")
        cr.check_grad(lambda a, b: cnp.cov(a, aweights=b, **kw), m, w, order=2,
                      warn_on_kink=False)


def test_cov_edge_cases():
    with pytest.warns(RuntimeWarning, match="Degrees of freedom"):
        c = cnp.cov(cr.tensor([1.0, 2.0], requires_grad=True), ddof=2)
    assert np.isinf(c.data) or np.isnan(c.data)
    one = cnp.corrcoef(cr.tensor([1.0, 2.0, 4.0], requires_grad=True))
    assert one.data == 1.0
    assert grad(lambda a: cnp.corrcoef(a), np.array([1.0, 2.0, 4.0])).tolist() == [0, 0, 0]
    # perfectly correlated: the correlation is at its maximum, gradient 0
    x = np.array([1.0, 2.0, 4.0])
    g = grad(lambda a: cnp.corrcoef(a, 2.0 * x + 1.0)[0, 1], x)
    np.testing.assert_allclose(g, 0.0, atol=1e-12)


def test_unique_returns_numpys_extras_as_constants():
    x = np.array([3.0, 1.0, 3.0, np.nan, 1.0, np.nan])
    got = cnp.unique(cr.tensor(x, requires_grad=True), True, True, True)
    for g, w in zip(got, np.unique(x, True, True, True)):
        np.testing.assert_array_equal(g.data, w)
    assert got[0].requires_grad and not any(g.requires_grad for g in got[1:])
    g = grad(lambda a: cnp.sum(cnp.unique(a) * np.array([1.0, 10.0, 100.0])), x)
    np.testing.assert_allclose(g, [5, 0.5, 5, 50, 0.5, 50])
    res = cnp.unique_all(cr.tensor(x))
    assert type(res).__name__ == "UniqueAllResult"
    for a, b in zip(res, np.unique_all(x)):
        np.testing.assert_array_equal(a.data, b)


def test_set_functions_give_each_value_the_gradient_of_its_entries():
    a, b = np.array([1.0, 2.0, 2.0, 5.0]), np.array([2.0, 7.0, 1.0])
    ga, gb = grad(lambda x, y: cnp.sum(cnp.intersect1d(x, y) * np.array([1.0, 10.0])), a, b,
                  argnums=(0, 1))
    np.testing.assert_allclose(ga, [0.5, 10 / 3, 10 / 3, 0])
    np.testing.assert_allclose(gb, [10 / 3, 0, 0.5])
    ga, gb = grad(lambda x, y: cnp.sum(cnp.setdiff1d(x, y)), a, b, argnums=(0, 1))
    assert ga.tolist() == [0, 0, 0, 1] and gb.tolist() == [0, 0, 0]
    for name in ("union1d", "setxor1d", "intersect1d", "setdiff1d"):
        np.testing.assert_array_equal(getattr(cnp, name)(cr.tensor(a), b).data,
                                      getattr(np, name)(a, b))


def test_histogram_counts_weights_and_edges():
    x = np.array([0.1, 0.4, 0.45, 0.9, 0.3])
    w = np.array([1.0, 2.0, 0.5, 1.5, 1.0])
    counts, edges = cnp.histogram(cr.tensor(x, requires_grad=True), bins=3)
    assert not counts.requires_grad and edges.requires_grad
    np.testing.assert_array_equal(counts.data, np.histogram(x, 3)[0])
    # the edges move with the min and the max of the data
    g = grad(lambda a: cnp.sum(cnp.histogram(a, 3)[1]), x)
    np.testing.assert_allclose(g, [2, 0, 0, 2, 0])
    # weighted counts: the weight of each entry goes to its bin
    gw = grad(lambda v: cnp.sum(cnp.histogram(x, 3, weights=v)[0] * np.array([1.0, 2, 3])), w)
    np.testing.assert_allclose(gw, [1, 2, 2, 3, 1])
    dens = cnp.histogram(cr.tensor(x), 3, weights=w, density=True)[0]
    np.testing.assert_allclose(dens.data, np.histogram(x, 3, weights=w, density=True)[0])
    h, xe, ye = cnp.histogram2d(cr.tensor(x), x[::-1], bins=2, weights=w)
    for a, b in zip((h, xe, ye), np.histogram2d(x, x[::-1], bins=2, weights=w)):
        np.testing.assert_allclose(a.data, b)
    np.testing.assert_allclose(cnp.bincount([0, 2, 2], cr.tensor([1.0, 2.0, 3.0])).data,
                               np.bincount([0, 2, 2], [1.0, 2.0, 3.0]))


def test_selection_functions_match_numpy():
    x = np.array([[1.0, -2.0, 3.0], [0.5, 4.0, -1.0]])
    t = cr.tensor(x, requires_grad=True)
    np.testing.assert_array_equal(cnp.select([x > 0, x < -1.5], [t, 2 * t], 7).data,
                                  np.select([x > 0, x < -1.5], [x, 2 * x], 7))
    idx = np.array([[0, 1, 2], [2, 1, 0]])
    np.testing.assert_array_equal(cnp.choose(idx, [t, -t, 3 * t]).data,
                                  np.choose(idx, [x, -x, 3 * x]))
    np.testing.assert_array_equal(cnp.choose(idx + 1, [t, -t], mode="wrap").data,
                                  np.choose(idx + 1, [x, -x], mode="wrap"))
    np.testing.assert_array_equal(cnp.compress([True, False, True], t, axis=1).data,
                                  np.compress([True, False, True], x, axis=1))
    np.testing.assert_array_equal(cnp.extract(x > 0, t).data, np.extract(x > 0, x))
    with pytest.raises(ValueError, match="invalid entry"):
        cnp.choose(idx + 5, [t, -t])
    with pytest.raises(TypeError, match="boolean"):
        cnp.select([np.ones(3)], [t[0]])


def test_inspection_functions_work_on_tensors():
    t = cr.tensor([1.0, 2.0], requires_grad=True)
    assert np.iscomplexobj(t) is False and np.isrealobj(t)
    np.testing.assert_array_equal(np.isreal(t), [True, True])
    np.testing.assert_array_equal(np.iscomplex(t), [False, False])


def test_numpy_functions_dispatch_here():
    t = cr.tensor([3.0, 1.0, 2.0], requires_grad=True)
    np.sum(np.median(t) + np.percentile(t, 30) + np.nanmax(t) + np.ptp(t)).backward()
    np.testing.assert_allclose(t.grad, [2.0, -0.6, 1.6])


TIED = {
    "median": lambda a: cnp.median(a),
    "nanmedian": lambda a: cnp.nanmedian(a),
    "quantile linear": lambda a: cnp.quantile(a, np.array([0.3, 0.8])),
    "quantile hazen": lambda a: cnp.quantile(a, 0.45, method="hazen"),
    "quantile lower": lambda a: cnp.quantile(a, 0.45, method="lower"),
    "quantile midpoint": lambda a: cnp.quantile(a, 0.6, method="midpoint"),
    "percentile averaged": lambda a: cnp.percentile(a, 40, method="averaged_inverted_cdf"),
    "nanquantile weibull": lambda a: cnp.nanquantile(a, 0.7, method="weibull"),
    "partition": lambda a: cnp.partition(a, 1),
    "ptp": lambda a: cnp.ptp(a),
}


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(name=st.sampled_from(sorted(TIED)), values=st.lists(st.integers(0, 2), min_size=2,
                                                           max_size=5))
def test_a_tie_gets_the_average_over_every_way_of_breaking_it(name, values):
    """The minimum-norm subgradient of an order statistic at a tie is the centroid of the
    gradients on its sides: the mean over all orders in which the tied entries could fall."""
    import itertools
    f = TIED[name]
    x = np.array(values, float)
    w = np.random.default_rng(len(values)).standard_normal(np.shape(f(cr.tensor(x)).data))

    def loss(a):
        return cnp.sum(f(a) * w)
    sides = [grad(loss, x + 1e-7 * np.array(p)) for p in itertools.permutations(range(x.size))]
    np.testing.assert_allclose(grad(loss, x), np.mean(sides, axis=0), atol=1e-12)
