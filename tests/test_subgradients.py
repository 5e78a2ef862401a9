"""Every row of docs/subgradients.md: the minimum-norm subgradient at each kink, and the
special values (sqrt'(0) = inf, x**0, 0**y, the where trap)."""
import re
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
import chainrule.functional as F
import chainrule.numpy as cnp

DOC = Path(__file__).resolve().parents[1] / "docs" / "subgradients.md"


def d(f, x):
    return cr.grad(f)(x)


def test_relu_at_zero_is_zero():
    assert d(F.relu, 0.0) == 0.0
    assert d(F.relu, 1e-300) == 1.0 and d(F.relu, -1e-300) == 0.0


def test_abs_at_zero_is_zero():
    assert d(cnp.abs, 0.0) == 0.0
    assert d(cnp.abs, -0.0) == 0.0
    assert d(cnp.abs, 2.0) == 1.0 and d(cnp.abs, -2.0) == -1.0


@pytest.mark.parametrize("slope", [0.01, 0.2])
def test_leaky_relu_at_zero_is_its_slope(slope):
    assert np.isclose(d(lambda x: F.leaky_relu(x, slope), 0.0), slope)


@pytest.mark.parametrize("op", [cnp.maximum, cnp.minimum, cnp.fmax, cnp.fmin])
def test_binary_max_min_ties_split_half_half(op):
    gx, gy = cr.grad(op, argnums=(0, 1))(1.5, 1.5)
    assert (gx, gy) == (0.5, 0.5)
    assert d(lambda x: op(x, x), 1.5) == 1.0


@pytest.mark.parametrize("name", ["max", "min", "amax", "amin"])
def test_reduction_ties_split_evenly(name):
    x = np.array([3.0, 1.0, 3.0, 3.0]) if "max" in name else np.array([1.0, 3.0, 1.0, 1.0])
    g = cr.grad(lambda a: getattr(cnp, name)(a))(x)
    tied = (x == x.max()) if "max" in name else (x == x.min())
    np.testing.assert_allclose(g, tied / tied.sum())


@pytest.mark.parametrize("x", [-1.0, 1.0])
def test_clip_at_a_bound_is_zero(x):
    assert d(lambda a: cnp.clip(a, -1.0, 1.0), x) == 0.0
    assert d(lambda a: cnp.clip(a, -1.0, 1.0), 0.5) == 1.0
    # the bound that is hit takes the 1; a None bound takes no part
    assert cr.grad(cnp.clip, argnums=(0, 1, 2))(x, -1.0, 1.0) == \
        ((0.0, 1.0, 0.0) if x < 0 else (0.0, 0.0, 1.0))
    assert d(lambda a: cnp.clip(a, None, 1.0), x) == (1.0 if x < 0 else 0.0)


def test_norm_at_zero_is_zero():
    g = cr.grad(lambda w: cnp.linalg.norm(w))(np.zeros(3))
    np.testing.assert_array_equal(g, np.zeros(3))


def test_std_of_constant_is_zero():
    g = cr.grad(lambda w: cnp.std(w))(np.full(4, 2.0))
    np.testing.assert_array_equal(g, np.zeros(4))


def test_hypot_and_arctan2_at_origin_are_zero():
    assert cr.grad(cnp.hypot, argnums=(0, 1))(0.0, 0.0) == (0.0, 0.0)
    assert cr.grad(cnp.arctan2, argnums=(0, 1))(0.0, 0.0) == (0.0, 0.0)


@pytest.mark.parametrize("name", ["sign", "floor", "ceil", "rint", "trunc"])
def test_piecewise_constant_at_jump_is_zero(name):
    x = 0.0 if name == "sign" else 1.0
    assert d(getattr(cnp, name), x) == 0.0


def test_comparisons_give_no_gradient():
    x = cr.tensor([1.0, -1.0], requires_grad=True)
    for cmp in (x > 0, x < 0, x == 1.0, x >= 0, x <= 0, x != 1.0):
        assert not cmp.requires_grad and cmp.dtype == bool


def test_sqrt_at_zero_is_inf():
    with np.errstate(divide="ignore"):
        assert d(cnp.sqrt, 0.0) == np.inf


def test_power_special_values():
    assert d(lambda x: x ** 0, 0.0) == 0.0
    assert cr.grad(cr.grad(lambda x: x ** 0))(0.0) == 0.0
    assert cr.grad(lambda y: 0.0 ** y)(2.0) == 0.0
    assert cr.grad(lambda x, y: x ** y, argnums=1)(0.0, 0.5) == 0.0
    h = cr.hessian(lambda x, y: x ** y, argnums=(0, 1))(2.0, 0.0)
    assert h[0][1] == h[1][0] == 0.5                       # 1/x at y = 0


def test_det_at_a_singular_matrix_is_the_cofactor_matrix():
    a = np.array([[1.0, 2.0], [2.0, 4.0]])
    np.testing.assert_allclose(cr.grad(cnp.linalg.det)(a), [[4.0, -2.0], [-2.0, 1.0]], atol=1e-14)
    h = cr.hessian(cnp.linalg.det)(a).reshape(4, 4)      # det = ad − bc: constant Hessian
    np.testing.assert_allclose(h, np.rot90(np.diag([1.0, -1.0, -1.0, 1.0])), atol=1e-14)


def test_slogdet_at_a_singular_matrix_is_minus_inf_and_refuses_a_derivative():
    a = np.array([[1.0, 2.0], [2.0, 4.0]])
    assert cnp.linalg.slogdet(cr.tensor(a))[1].data == -np.inf
    with pytest.raises(cr.ChainruleError, match="singular"):
        cr.grad(lambda m: cnp.linalg.slogdet(m)[1])(a)


def test_where_trap_documented_behaviour_and_fix():
    x = cr.tensor([0.0, 4.0], requires_grad=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        cnp.sum(cnp.where(x > 0, cnp.sqrt(x), 0.0)).backward()
    assert np.isnan(x.grad[0]) and x.grad[1] == 0.25
    x = cr.tensor([0.0, 4.0], requires_grad=True)
    safe = cnp.where(x > 0, x, 1.0)
    cnp.sum(cnp.where(x > 0, cnp.sqrt(safe), 0.0)).backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.25])


def test_every_table_row_has_a_test():
    """The doc's kink table and this file must not drift apart."""
    rows = [line for line in DOC.read_text().splitlines() if line.startswith("| `")]
    names = set(re.findall(r"`([a-z_0-9.]+)", " ".join(r.split("|")[1] for r in rows)))
    source = Path(__file__).read_text()
    missing = [n for n in names if n.split(".")[-1] not in source]
    assert not missing, f"rows without a test: {missing}"


# ------------------------------------------- padding, interpolation, other selections
def test_pad_maximum_minimum_ties_split_evenly():
    x = np.array([3.0, 1.0, 3.0, 1.0])
    for mode, tied in (("maximum", x == 3.0), ("minimum", x == 1.0)):
        g = cr.grad(lambda a: cnp.sum(cnp.pad(a, (2, 0), mode=mode)))(x)
        np.testing.assert_allclose(g, 1.0 + 2.0 * tied / tied.sum())   # 2 border copies


def test_pad_median_ties_spread_over_the_tied_entries():
    g = cr.grad(lambda a: cnp.sum(cnp.pad(a, (1, 0), mode="median")))(np.array([1.0, 2, 2, 9]))
    np.testing.assert_allclose(g, [1.0, 1.5, 1.5, 1.0])       # both middle statistics are 2
    g = cr.grad(lambda a: cnp.sum(cnp.pad(a, (1, 0), mode="median")))(np.array([5.0, 5, 1]))
    np.testing.assert_allclose(g, [1.5, 1.5, 1.0])             # odd: one statistic, 2 tied


def test_interp_at_sample_points_takes_the_slope_nearest_zero():
    xp, fp = np.array([0.0, 1.0, 2.0, 3.0]), np.array([0.0, 2.0, 3.0, 1.0])  # slopes 2, 1, -2
    g = cr.grad(lambda x: cnp.sum(cnp.interp(x, xp, fp)))(xp.copy())
    np.testing.assert_array_equal(g, [0.0, 1.0, 0.0, 0.0])    # ends 0; same sign: 1; signs differ: 0


def test_interp_at_a_repeated_sample_point_is_zero():
    xp, fp = np.array([0.0, 1.0, 1.0, 2.0]), np.array([0.0, 1.0, 5.0, 6.0])
    assert cr.grad(lambda x: cnp.interp(x, xp, fp))(1.0) == 0.0


def test_unwrap_at_a_jump_is_one():
    p = np.array([0.0, np.pi, 0.5])          # the first difference is exactly the threshold
    np.testing.assert_array_equal(cr.grad(lambda a: cnp.sum(cnp.unwrap(a)))(p), [1.0, 1.0, 1.0])


def test_trim_zeros_kept_entries_one_trimmed_zero():
    g = cr.grad(lambda a: cnp.sum(cnp.trim_zeros(a)))(np.array([0.0, 2.0, 0.0, 3.0, 0.0]))
    np.testing.assert_array_equal(g, [0.0, 1.0, 1.0, 1.0, 0.0])
# ------------------------------------ linear algebra, polynomials, the user's functions
def test_vector_and_matrix_norms_follow_norm():
    la = cnp.linalg
    np.testing.assert_array_equal(cr.grad(la.vector_norm)(np.zeros(3)), np.zeros(3))
    np.testing.assert_array_equal(cr.grad(la.matrix_norm)(np.zeros((2, 2))), np.zeros((2, 2)))
    g = cr.grad(lambda x: la.vector_norm(x, ord=np.inf))(np.array([2.0, -2.0, 1.0]))
    np.testing.assert_allclose(g, [0.5, -0.5, 0.0])
    g = cr.grad(lambda x: la.matrix_norm(x, ord=2))(np.diag([3.0, 3.0]))
    np.testing.assert_allclose(g, np.eye(2) / 2, atol=1e-12)


def test_cond_at_tied_singular_values_splits_evenly():
    g = cr.grad(cnp.linalg.cond)(np.diag([2.0, 2.0, 1.0]))
    # d(s_max/s_min) = ∂s_max/s_min − s_max·∂s_min/s_min², each tie split 1/k
    np.testing.assert_allclose(g, np.diag([0.5, 0.5, -2.0]), atol=1e-12)
    with pytest.raises(cr.ChainruleError, match="infinite"):
        cr.grad(cnp.linalg.cond)(np.diag([1.0, 0.0]))


def test_lstsq_and_polyfit_at_rank_deficiency():
    a, b = np.array([[1.0, 2.0], [2.0, 4.0], [0.0, 0.0]]), np.array([1.0, 2.0, 3.0])
    with pytest.raises(cr.ChainruleError, match="rank"):
        cr.grad(lambda m: cnp.sum(cnp.linalg.lstsq(m, b)[0]))(a)
    g = cr.grad(lambda y: cnp.sum(cnp.linalg.lstsq(a, y)[0]))(b)
    np.testing.assert_allclose(g, np.linalg.pinv(a).T @ np.ones(2), atol=1e-12)
    x, y = np.array([0.0, 0.0, 1.0, 1.0]), np.array([1.0, 2.0, 0.0, 1.0])
    with pytest.raises(cr.ChainruleError, match="rank"):
        cr.grad(lambda t: cnp.sum(cnp.polyfit(t, y, 2)))(x)
    with pytest.warns(np.exceptions.RankWarning):
        g = cr.grad(lambda t: cnp.sum(cnp.polyfit(x, t, 2)))(y)
    assert np.all(np.isfinite(g))


def test_polymul_refuses_a_leading_zero():
    with pytest.raises(cr.ChainruleError, match="leading zero"):
        cr.grad(lambda p: cnp.sum(cnp.polymul(p, np.array([1.0, 2.0]))))(np.array([0.0, 1.0]))


def test_piecewise_on_a_boundary_takes_the_selected_piece():
    absolute = lambda x: cnp.piecewise(x, [x < 0, x >= 0], [lambda v: -v, lambda v: v])
    assert d(absolute, 0.0) == 1.0                     # x >= 0 holds at 0: that piece's slope
    assert d(absolute, -1.0) == -1.0 and d(absolute, 2.0) == 1.0
    other = lambda x: cnp.piecewise(x, [x <= 0, x > 0], [lambda v: -v, lambda v: v])
    assert d(other, 0.0) == -1.0


# ------------------------------------------------------------- complex z (issue 10)
def test_complex_abs_sign_angle_at_zero_are_zero():
    z = np.array([0j, 1 + 1j])
    for f in (cnp.abs, cnp.sign, cnp.angle):
        g = cr.grad(lambda a: cnp.sum(cnp.real(f(a))))(z)
        assert g[0] == 0 and np.isfinite(g).all()
        _, t = cr.jvp(f, (z,), (np.array([1 + 1j, 0j]),))
        assert t[0] == 0
    assert np.isclose(cr.grad(lambda a: cnp.abs(a))(3 + 4j), (3 - 4j) / 5)   # z̄/|z| elsewhere


# --------------------------------------------- order statistics, sets, NaN (issue 10)
def _g(f, *args, argnums=0):
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return cr.grad(f, argnums=argnums)(*args)


@pytest.mark.parametrize("name", ["median", "percentile", "quantile", "nanmedian",
                                  "nanpercentile", "nanquantile", "partition"])
def test_order_statistic_ties_share_evenly(name):
    x = np.array([1.0, 2.0, 2.0, 2.0, 9.0])          # the middle value is held by 3 entries
    q = {"percentile": (50.0,), "nanpercentile": (50.0,), "quantile": (0.5,),
         "nanquantile": (0.5,), "partition": (2,)}.get(name, ())
    f = getattr(cnp, name)
    g = _g(lambda a: f(a, *q)[2] if name == "partition" else f(a, *q), x)
    np.testing.assert_allclose(g, [0, 1 / 3, 1 / 3, 1 / 3, 0])


def test_quantile_in_q_at_a_whole_virtual_index_takes_the_smaller_gap():
    x = np.array([0.0, 1.0, 5.0, 6.0])                 # n = 4: q = 1/3 sits on x[1]
    assert _g(lambda q: cnp.quantile(x, q), 1 / 3) == pytest.approx(3.0)
    assert _g(lambda q: cnp.quantile(x, q, method="hazen"), 0.375) == pytest.approx(4.0)


@pytest.mark.parametrize("method", ["inverted_cdf", "closest_observation", "lower", "higher",
                                    "nearest", "midpoint", "averaged_inverted_cdf"])
def test_discontinuous_quantile_methods_are_constant_in_q(method):
    x = np.array([0.0, 1.0, 5.0, 6.0])
    assert _g(lambda q: cnp.quantile(x, q, method=method), 0.41) == 0.0
    w = np.array([1.0, 2.0, 1.0, 1.0])
    assert _g(lambda v: cnp.quantile(x, 0.41, method="inverted_cdf", weights=v),
              w).tolist() == [0, 0, 0, 0]


@pytest.mark.parametrize("name", ["unique", "unique_all", "unique_counts", "unique_inverse",
                                  "unique_values"])
def test_unique_value_held_by_k_entries_gives_each_1_over_k(name):
    x = np.array([2.0, 5.0, 2.0, 2.0])
    f = getattr(cnp, name)
    g = _g(lambda a: cnp.sum((f(a) if name in ("unique", "unique_values") else f(a).values)
                             * np.array([1.0, 0.0])), x)
    np.testing.assert_allclose(g, [1 / 3, 0, 1 / 3, 1 / 3])


@pytest.mark.parametrize("name", ["union1d", "intersect1d", "setxor1d", "setdiff1d"])
def test_set_values_share_among_equal_entries(name):
    a, b = np.array([2.0, 2.0, 7.0]), np.array([2.0, 3.0])
    def f(x, y):                        # the gradient of the output entry equal to 2
        out = getattr(cnp, name)(x, y)
        return cnp.sum(cnp.where(out.data == 2.0, out, 0.0))
    ga, gb = _g(f, a, b, argnums=(0, 1))
    share = {"union1d": 1 / 3, "intersect1d": 1 / 3, "setxor1d": 0.0, "setdiff1d": 0.0}[name]
    np.testing.assert_allclose(ga[:2], [share, share])
    np.testing.assert_allclose(gb[:1], [share if name != "setdiff1d" else 0.0])


def test_ptp_ties_split():
    np.testing.assert_allclose(_g(cnp.ptp, np.array([3.0, 1.0, 3.0])), [0.5, -1, 0.5])


@pytest.mark.parametrize("name", ["nanmax", "nanmin"])
def test_nanmax_nanmin_tie_with_initial_is_zero_and_nan_entries_zero(name):
    x = np.array([np.nan, 3.0, 1.0]) if name == "nanmax" else np.array([np.nan, 1.0, 3.0])
    g = _g(lambda a: getattr(cnp, name)(a, initial=x[1]), x)
    assert g.tolist() == [0, 0, 0]
    assert _g(lambda a: getattr(cnp, name)(a), x).tolist() == [0, 1, 0]


def test_nanstd_of_equal_entries_is_zero():
    np.testing.assert_array_equal(_g(cnp.nanstd, np.array([0.1, np.nan, 0.1, 0.1])), 0.0)


@pytest.mark.parametrize("name", ["fabs", "copysign"])
def test_fabs_copysign_at_zero_are_zero(name):
    f = cnp.fabs if name == "fabs" else (lambda a: cnp.copysign(a, -1.0))
    assert _g(f, 0.0) == 0.0 and _g(f, 2.0) == (1.0 if name == "fabs" else -1.0)


def test_frexp_mantissa_takes_the_slope_of_its_binade():
    # at 4 = 0.5·2^3 the mantissa jumps from 1 to 0.5; 4 lies in [4, 8): slope 2^-3
    assert _g(lambda a: cnp.frexp(a)[0], 4.0) == 0.125
    assert _g(lambda a: cnp.frexp(a)[0], 3.999) == 0.25


@pytest.mark.parametrize("name", ["modf", "fmod", "divmod", "nextafter"])
def test_jumping_remainders_have_slope_one(name):
    f = {"modf": lambda a: cnp.modf(a)[0], "fmod": lambda a: cnp.fmod(a, 0.5),
         "divmod": lambda a: cnp.divmod(a, 0.5)[1],
         "nextafter": lambda a: cnp.nextafter(a, 2.0)}[name]
    assert _g(f, 1.0) == 1.0                              # 1.0 is a jump of the first three


@pytest.mark.parametrize("name", ["histogram", "histogram2d", "histogramdd", "bincount"])
def test_histogram_counts_have_no_gradient_in_the_data_and_sum_the_weights(name):
    x, w = np.array([0.1, 0.5, 0.9]), np.array([1.0, 2.0, 3.0])
    f = {"histogram": lambda a, v: cnp.histogram(a, 2, weights=v)[0],
         "histogram2d": lambda a, v: cnp.histogram2d(a, a, 2, weights=v)[0],
         "histogramdd": lambda a, v: cnp.histogramdd(a, 2, weights=v)[0],
         "bincount": lambda a, v: cnp.bincount(np.array([0, 1, 1]), v) + 0.0 * cnp.sum(a)}[name]
    gx, gw = _g(lambda a, v: cnp.sum(f(a, v)), x, w, argnums=(0, 1))
    assert gx.tolist() == [0, 0, 0] and gw.tolist() == [1, 1, 1]


@pytest.mark.parametrize("name", ["nansum", "nanmean", "nanmax", "nanmedian"])
def test_nan_entries_get_zero_and_all_nan_slices_give_nan(name):
    f = getattr(cnp, name)
    x = np.array([[1.0, np.nan, 3.0], [np.nan, np.nan, np.nan]])
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        y = f(cr.tensor(x), axis=1)
        g = _g(lambda a: f(a, axis=1)[0], x)
    assert g[0, 1] == 0 and (np.isnan(y.data[1]) or name == "nansum")
    assert _g(lambda a: cnp.sum(cnp.where(np.isnan(y.data), 0.0, f(a, axis=1))), x)[1].tolist() \
        == [0, 0, 0]


def test_plain_median_quantile_percentile_give_the_gradient_to_the_nan():
    x = np.array([1.0, np.nan, 2.0])
    for f in (cnp.median, lambda a: cnp.quantile(a, 0.3), lambda a: cnp.percentile(a, 30)):
        assert _g(f, x).tolist() == [0, 1, 0]


def test_histogram_bin_edges_move_with_the_data_range():
    g = _g(lambda a: cnp.histogram_bin_edges(a, 4)[1], np.array([0.0, 2.0, 1.0]))
    np.testing.assert_allclose(g, [0.75, 0.25, 0])


def test_corrcoef_at_perfect_correlation_is_zero():
    x = np.array([1.0, 2.0, 4.0])
    np.testing.assert_allclose(_g(lambda a: cnp.corrcoef(a, 3.0 * x)[0, 1], x), 0.0, atol=1e-12)
