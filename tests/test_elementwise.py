"""Every elementwise rule against central finite differences (float64), first and second order,
forward and reverse mode, with broadcasting and dtypes drawn by Hypothesis."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.ops.elementwise import BINARY, UNARY

# input domain per op: (low, high) where the function is smooth
DOMAIN = {
    "sqrt": (0.2, 3), "cbrt": (0.2, 3), "log": (0.2, 3), "log2": (0.2, 3), "log10": (0.2, 3),
    "log1p": (-0.5, 3), "arcsin": (-0.8, 0.8), "arccos": (-0.8, 0.8), "arctanh": (-0.8, 0.8),
    "arccosh": (1.2, 3), "reciprocal": (0.3, 3), "tan": (-1.2, 1.2), "abs": (0.1, 2),
    "sinc": (-2, 2),
}
PIECEWISE_CONSTANT = {"sign", "floor", "ceil", "trunc", "rint"}
SMOOTH_UNARY = sorted(n for n in UNARY if n not in PIECEWISE_CONSTANT)


def _sample(name, shape, rng):
    lo, hi = DOMAIN.get(name, (-2, 2))
    x = rng.uniform(lo, hi, size=shape)
    if name == "abs":
        x *= rng.choice([-1, 1], size=shape)
    if name == "sinc":
        x = np.where(np.abs(x) < 0.1, 0.3, x)
    return x


@pytest.mark.parametrize("name", SMOOTH_UNARY)
def test_unary_rules_match_finite_differences(name):
    rng = np.random.default_rng(abs(hash(name)) % 2**32)
    op = getattr(cnp, name)
    for shape in [(), (3,), (2, 3)]:
        x = _sample(name, shape, rng)
        cr.check_grad(lambda a: op(a) * 1.5, x, order=2)


@pytest.mark.parametrize("name", sorted(PIECEWISE_CONSTANT | {"round"}))
def test_piecewise_constant_ops_have_zero_gradient(name):
    x = cr.tensor([-1.7, -0.3, 0.4, 2.6], requires_grad=True)
    cnp.sum(getattr(cnp, name)(x) * x).backward()
    # d/dx [c(x) * x] = c(x) where c is locally constant
    np.testing.assert_allclose(x.grad, getattr(np, name)(x.data))


def test_round_with_decimals_matches_numpy_and_has_zero_gradient():
    x = cr.tensor([1.234, -5.678], requires_grad=True)
    y = cnp.round(x, 1)
    np.testing.assert_allclose(y.data, [1.2, -5.7])
    cnp.sum(y + x).backward()
    np.testing.assert_allclose(x.grad, [1.0, 1.0])
    assert np.round(x, 2).shape == (2,)        # NumPy's own round dispatches too


BINARY_DOMAIN = {
    "divide": ((-2, 2), (0.5, 2)), "power": ((0.3, 2), (-1.5, 2.5)), "mod": ((0.1, 5), (0.7, 1.3)),
    "arctan2": ((-2, 2), (0.3, 2)), "hypot": ((0.2, 2), (0.2, 2)),
    "float_power": ((0.3, 2), (-1.5, 2.5)), "fmod": ((-5, 5), (0.7, 1.3)),
}


def _pair(name, sx, sy, rng):
    (a, b), (c, d) = BINARY_DOMAIN.get(name, ((-2, 2), (-2, 2)))
    return rng.uniform(a, b, sx), rng.uniform(c, d, sy)


def _near_kink(name, x, y):
    """max/min ties and the jumps of mod are checked in test_subgradients.py, not here."""
    if name in ("maximum", "minimum", "fmax", "fmin"):
        return np.any(np.abs(np.subtract(x, y)) < 0.05)
    if name in ("mod", "fmod"):            # both jump where x is a multiple of y
        r = np.mod(x, y)
        return np.any((r < 0.05) | (np.abs(r - y) < 0.05))
    return False


@pytest.mark.parametrize("name", sorted(set(BINARY) | {"add", "subtract"}))
@settings(max_examples=12, deadline=None)
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3))
def test_binary_rules_with_broadcasting(name, shapes):
    rng = np.random.default_rng(1)
    sx, sy = shapes.input_shapes
    x, y = _pair(name, sx, sy, rng)
    if _near_kink(name, x, y):
        return
    op = getattr(cnp, name)
    cr.check_grad(lambda a, b: op(a, b), x, y, order=2)


@settings(max_examples=20, deadline=None)
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=4, max_side=4))
def test_broadcast_gradients_have_input_shapes(shapes):
    sx, sy = shapes.input_shapes
    x = cr.tensor(np.ones(sx), requires_grad=True)
    y = cr.tensor(np.full(sy, 2.0), requires_grad=True)
    cnp.sum(x * y).backward()
    out = np.broadcast_shapes(sx, sy)
    n_out = int(np.prod(out))
    assert x.grad.shape == sx and y.grad.shape == sy
    # each input element is used n_out / n_in times
    np.testing.assert_allclose(x.grad, np.full(sx, 2.0 * n_out / max(int(np.prod(sx)), 1)))
    np.testing.assert_allclose(y.grad, np.full(sy, 1.0 * n_out / max(int(np.prod(sy)), 1)))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_preserved_with_python_scalars(dtype):
    x = cr.tensor(np.array([0.5, 1.5], dtype=dtype), requires_grad=True)
    y = cnp.exp(x * 2.0 + 1.0) / 3.0 - x ** 2
    assert y.dtype == dtype
    cnp.sum(y).backward()
    assert x.grad.dtype == dtype
    expected = 2 * np.exp(2 * x.data.astype(np.float64) + 1) / 3 - 2 * x.data
    np.testing.assert_allclose(x.grad, expected, rtol=1e-5 if dtype == np.float32 else 1e-12)


def test_mixed_dtypes_give_each_input_its_own_dtype():
    a = cr.tensor(np.array([1.0, 2.0], dtype=np.float32), requires_grad=True)
    b = cr.tensor(np.array([3.0, 4.0]), requires_grad=True)
    out = a * b
    assert out.dtype == np.float64
    cnp.sum(out).backward()
    assert a.grad.dtype == np.float32 and b.grad.dtype == np.float64
    np.testing.assert_allclose(a.grad, [3.0, 4.0])


def test_where_routes_gradient_to_chosen_branch():
    x = cr.tensor([-1.0, 2.0, 3.0], requires_grad=True)
    y = cr.tensor([10.0, 20.0, 30.0], requires_grad=True)
    cnp.sum(cnp.where(x.data > 0, x * x, y)).backward()
    np.testing.assert_allclose(x.grad, [0.0, 4.0, 6.0])
    np.testing.assert_allclose(y.grad, [1.0, 0.0, 0.0])
    cr.check_grad(lambda a, b: cnp.where(np.array([True, False, True]), a * a, cnp.sin(b)),
                  np.array([0.5, 1.0, 2.0]), np.array([0.1, 0.2, 0.3]))


def test_clip_rules_inside_and_outside():
    cr.check_grad(lambda a: cnp.clip(a, -1.0, 1.0) ** 2, np.array([-2.0, -0.5, 0.3, 1.7]))
    cr.check_grad(lambda a, lo, hi: cnp.clip(a, lo, hi), np.array([-2.0, 0.3, 1.7]),
                  np.array(-1.0), np.array(1.0))


def test_nan_to_num_passes_gradient_only_where_finite():
    x = cr.tensor([1.0, np.nan, np.inf, -2.0], requires_grad=True)
    with np.errstate(over="ignore"):    # 3 × the largest float overflows; its gradient does not
        cnp.sum(cnp.nan_to_num(x) * 3.0).backward()
    np.testing.assert_allclose(x.grad, [3.0, 0.0, 0.0, 3.0])


@pytest.mark.parametrize("expr", [
    lambda x: x * x, lambda x: cnp.sin(x) + cnp.sin(x), lambda x: x / (x + 1.0) * x,
])
def test_fan_out_accumulates(expr):
    cr.check_grad(expr, np.array([0.3, 1.2, -0.7]))


def test_zero_size_and_scalar_inputs():
    e = cr.tensor(np.zeros((0, 3)), requires_grad=True)
    cnp.sum(cnp.exp(e)).backward()
    assert e.grad.shape == (0, 3)
    s = cr.tensor(2.0, requires_grad=True)
    (cnp.log(s) * s).backward()
    assert s.grad.shape == () and np.isclose(s.grad, np.log(2.0) + 1.0)


@pytest.mark.parametrize("x", [0.0, 1.0, 2.5])
def test_power_of_zero_exponent_has_zero_derivative_at_every_order(x):
    f = lambda a: a ** 0.0  # noqa: E731
    d1 = cr.grad(f)(x)
    d2 = cr.grad(cr.grad(f))(x)
    d3 = cr.grad(cr.grad(cr.grad(f)))(x)
    assert (d1, d2, d3) == (0.0, 0.0, 0.0)
    g = lambda a, b: a ** b  # noqa: E731 - tensor exponent path
    assert cr.grad(g)(x, 0.0) == 0.0
    assert cr.grad(cr.grad(g))(x, 0.0) == 0.0


def test_sinc_derivative_near_and_at_zero():
    for x in [1e-5, -3e-4, 0.0]:
        # series of sinc'(x) = -π²x/3 + O(x³)
        assert np.isclose(cr.grad(cnp.sinc)(x), -np.pi ** 2 * x / 3, atol=1e-9)
    assert np.isclose(cr.grad(cr.grad(cnp.sinc))(0.0), -np.pi ** 2 / 3)


# ------------------------------------------------------------------------ clip
@settings(max_examples=25, deadline=None)
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=3, max_dims=2, max_side=3),
       bounds=st.sampled_from(["lo", "hi", "both", "neither"]),
       seed=st.integers(0, 2**16), spelling=st.sampled_from(["pos", "a_min", "min"]))
def test_clip_every_bound_combination_at_second_order(shapes, bounds, seed, spelling):
    """Bounds may be None, constants or differentiable arrays; x stays off the bounds."""
    rng = np.random.default_rng(seed)
    sx, slo, shi = shapes.input_shapes
    lo = rng.uniform(-1.5, -0.5, slo) if bounds in ("lo", "both") else None
    hi = rng.uniform(0.5, 1.5, shi) if bounds in ("hi", "both") else None
    x = rng.uniform(-2.5, 2.5, sx)
    for b in (lo, hi):
        if b is not None and np.any(np.abs(np.broadcast_to(x, np.broadcast_shapes(sx, b.shape))
                                           - b) < 0.05):
            return
    names = {"pos": None, "a_min": ("a_min", "a_max"), "min": ("min", "max")}[spelling]

    def call(a, lo, hi):
        if names is None:
            return cnp.clip(a, lo, hi)
        kw = {n: v for n, v in zip(names, (lo, hi)) if v is not None}
        return cnp.clip(a, **kw)
    np.testing.assert_array_equal(call(cr.tensor(x), lo, hi).data,
                                  np.clip(x, lo, hi))
    cr.check_grad(lambda a: call(a, lo, hi) ** 3, x, order=2)
    given_ = [b for b in (lo, hi) if b is not None]
    if given_:          # the bounds themselves are differentiable too

        def f(a, *bs):
            it = iter(bs)
            return call(a, next(it) if lo is not None else None,
                        next(it) if hi is not None else None) ** 3
        cr.check_grad(f, x, *given_, order=2)


@pytest.mark.parametrize("lo,hi", [(-1.0, 1.0), (-1.0, None), (None, 1.0)])
def test_clip_derivatives_add_up_to_one_at_ties(lo, hi):
    """clip(x + t, lo + t, hi + t) = clip(x, lo, hi) + t: at a tie the bound takes the 1."""
    for x in [b for b in (lo, hi) if b is not None] + [0.0, -3.0, 3.0]:
        args = [x] + [b for b in (lo, hi) if b is not None]

        def f(a, *bs):
            it = iter(bs)
            return cnp.clip(a, next(it) if lo is not None else None,
                            next(it) if hi is not None else None)
        g = cr.grad(f, argnums=tuple(range(len(args))))(*args)
        assert sum(g) == 1.0 and g[0] == (1.0 if (lo is None or x > lo) and
                                          (hi is None or x < hi) else 0.0)
    assert cr.grad(lambda a: cnp.clip(a, a, 5.0))(1.0) == 1.0
    assert cr.grad(lambda a: cnp.clip(a, -5.0, a))(1.0) == 1.0


def test_clip_keywords_follow_numpy():
    x = np.arange(5.0)
    for kw in [dict(a_min=1, a_max=3), dict(min=1, max=3), dict(a_max=3), dict(min=1)]:
        want = np.clip(x, kw.get("a_min", kw.get("min")), kw.get("a_max", kw.get("max")))
        if "a_max" not in kw or "a_min" in kw:          # NumPy itself wants a_min with a_max
            np.testing.assert_array_equal(np.clip(x, **kw), want)
            np.testing.assert_array_equal(np.clip(cr.tensor(x), **kw).data, want)
        np.testing.assert_array_equal(cnp.clip(x, **kw), want)
        np.testing.assert_array_equal(cnp.clip(cr.tensor(x), **kw).data, want)
        method_kw = {k.replace("a_", ""): v for k, v in kw.items()}
        np.testing.assert_array_equal(cr.tensor(x).clip(**method_kw).data, want)
    with pytest.raises(TypeError, match="same bound"):
        cnp.clip(cr.tensor(x), a_min=1, min=2)
    with pytest.raises(TypeError, match="out="):
        cnp.clip(cr.tensor(x, requires_grad=True), 0, 1, out=np.empty(5))


# ----------------------------------------------------------------------- power
@settings(max_examples=30, deadline=None)
@given(x=st.floats(0.2, 3.0),
       y=st.one_of(st.sampled_from([0.0, 1.0, 2.0, 3.0, -1.0, -2.0]), st.floats(-2.0, 3.0)))
def test_power_hessian_is_symmetric_and_matches_differences(x, y):
    """x**y at y = 0 (and integer y): both mixed entries are 1/x there, the Hessian is symmetric."""
    h = np.array(cr.hessian(lambda a, b: a ** b, argnums=(0, 1))(x, y), dtype=float)
    assert h[0, 1] == pytest.approx(h[1, 0], rel=1e-12, abs=1e-12)
    assert h[0, 1] == pytest.approx(x ** (y - 1) * (1 + y * np.log(x)), rel=1e-10)
    cr.check_grad(lambda a, b: a ** b, np.array(x), np.array(y), order=2)


@pytest.mark.parametrize("name", ["logaddexp", "logaddexp2"])
@pytest.mark.parametrize("x, y, want", [(np.inf, 1.0, (1.0, 0.0)), (1.0, np.inf, (0.0, 1.0)),
                                        (-np.inf, 1.0, (0.0, 1.0)), (np.inf, np.inf, (0.5, 0.5)),
                                        (-np.inf, -np.inf, (0.5, 0.5)), (2.0, 2.0, (0.5, 0.5))])
def test_logaddexp_shares_at_infinities_are_their_limits(name, x, y, want):
    f = getattr(cnp, name)
    g = cr.grad(lambda a, b: f(a, b), argnums=(0, 1))(x, y)
    np.testing.assert_allclose([float(v) for v in g], want)
    t = cr.jvp(lambda a, b: f(a, b), (np.float64(x), np.float64(y)), (1.0, 0.0))[1]
    assert float(t) == want[0]
