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


# ------------------------------------------------------------- complex z (issue 10)
def test_complex_abs_sign_angle_at_zero_are_zero():
    z = np.array([0j, 1 + 1j])
    for f in (cnp.abs, cnp.sign, cnp.angle):
        g = cr.grad(lambda a: cnp.sum(cnp.real(f(a))))(z)
        assert g[0] == 0 and np.isfinite(g).all()
        _, t = cr.jvp(f, (z,), (np.array([1 + 1j, 0j]),))
        assert t[0] == 0
    assert np.isclose(cr.grad(lambda a: cnp.abs(a))(3 + 4j), (3 - 4j) / 5)   # z̄/|z| elsewhere

