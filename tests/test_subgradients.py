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

