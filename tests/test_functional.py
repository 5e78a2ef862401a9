"""chainrule.functional: activations and losses.

Every rule is checked against finite differences to second order in both modes; the
seeds' hand-derived gradients are recomputed here in plain NumPy, independently of
chainrule, and compared with what backward() gives.
"""
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
import chainrule.functional as F
import chainrule.numpy as cnp
from chainrule.core.errors import ChainruleError
from chainrule.core.primitive import Primitive, defjvp, defvjp
from chainrule.explain.check import GradCheckError
from chainrule.ops import nn as nn_ops

FEW = settings(max_examples=12, deadline=None)
rng = np.random.default_rng(0)


def off_kink(shape, seed=0):
    """Random values kept away from 0, where relu-like rules have a kink."""
    x = np.random.default_rng(seed).standard_normal(shape)
    return np.where(np.abs(x) < 0.1, x + np.sign(x + 1e-9) * 0.2, x)


def np_sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def np_log_softmax(x, axis=-1):
    return x - np.log(np.sum(np.exp(x), axis=axis, keepdims=True))


def check(f, *args):
    cr.check_grad(f, *args, order=2, modes=("fwd", "rev"))


# ------------------------------------------------------- every primitive, order 2
PRIMITIVES = [
    # name,         function of x,                                 input
    ("relu",        F.relu,                                        off_kink((3, 4))),
    ("leaky_relu",  lambda x: F.leaky_relu(x, 0.2),                off_kink((3, 4), 1)),
    ("leaky_dflt",  F.leaky_relu,                                  off_kink((5,), 2)),
    ("sigmoid",     F.sigmoid,                                     3 * rng.standard_normal((3, 4))),
    ("softplus",    F.softplus,                                    3 * rng.standard_normal((3, 4))),
    ("tanh",        F.tanh,                                        rng.standard_normal((4,))),
    ("softmax",     F.softmax,                                     rng.standard_normal((3, 4))),
    ("softmax0",    lambda x: F.softmax(x, axis=0),                rng.standard_normal((3, 4))),
    ("log_softmax", F.log_softmax,                                 rng.standard_normal((3, 4))),
    ("logsumexp",   F.logsumexp,                                   rng.standard_normal((3, 4))),
    ("logsumexp1",  lambda x: F.logsumexp(x, axis=1),              rng.standard_normal((3, 4))),
    ("lse_keep",    lambda x: F.logsumexp(x, axis=0, keepdims=True), rng.standard_normal((3, 4))),
]


@pytest.mark.parametrize("name,f,x", PRIMITIVES, ids=[p[0] for p in PRIMITIVES])
def test_primitive_second_order(name, f, x):
    check(f, x)


def test_leaky_relu_slope_is_differentiable_too():
    check(lambda x, s: F.leaky_relu(x, s), off_kink((3, 4)), np.array(0.3))


def test_a_wrong_rule_is_caught():
    """The harness above can fail: σ' = σ (missing the 1−σ factor) is rejected."""
    bad = Primitive("bad_sigmoid", nn_ops._sigmoid)
    defvjp(bad, lambda g, ans, x: g * ans)
    defjvp(bad, lambda t, ans, x: t * ans)
    with pytest.raises(GradCheckError):
        check(bad, rng.standard_normal(4))


# ------------------------------------------------------- shapes and axes (Hypothesis)
shapes = st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple)


@FEW
@given(shape=shapes, data=st.data())
def test_softmax_family_any_axis(shape, data):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = np.random.default_rng(len(shape)).standard_normal(shape) * 3
    p = F.softmax(x, axis=axis)
    np.testing.assert_allclose(p.sum(axis=axis), 1.0)
    np.testing.assert_allclose(F.log_softmax(x, axis=axis), np_log_softmax(x, axis), atol=1e-12)
    np.testing.assert_allclose(F.logsumexp(x, axis=axis), np.log(np.exp(x).sum(axis=axis)))
    check(lambda v: F.softmax(v, axis=axis), x)
    check(lambda v: F.log_softmax(v, axis=axis), x)
    check(lambda v: F.logsumexp(v, axis=axis), x)


@FEW
@given(n=st.integers(1, 5), c=st.integers(2, 5), seed=st.integers(0, 100))
def test_cross_entropy_matches_numpy(n, c, seed):
    r = np.random.default_rng(seed)
    z, y = r.standard_normal((n, c)), r.integers(0, c, n)
    onehot = np.eye(c)[y]
    want = -np.mean(np_log_softmax(z)[np.arange(n), y])
    zt = cr.tensor(z, requires_grad=True)
    loss = F.cross_entropy(zt, y)
    loss.backward()
    np.testing.assert_allclose(loss.item(), want)
    np.testing.assert_allclose(zt.grad, (np.exp(np_log_softmax(z)) - onehot) / n, atol=1e-12)
    np.testing.assert_allclose(F.cross_entropy(z, onehot), want)
    np.testing.assert_allclose(F.nll_loss(F.log_softmax(z), y), want)
    check(lambda v: F.cross_entropy(v, y), z)
    check(lambda v, t: F.cross_entropy(v, t), z, r.dirichlet(np.ones(c), n))


def _xent_reference(z, t):
    """Loss and gradient from a max-shifted log_softmax in extended precision, as the oracle."""
    z, t = np.asarray(z, np.longdouble), np.asarray(t, np.longdouble)
    s = z - z.max(-1, keepdims=True)
    ls = s - np.log(np.exp(s).sum(-1, keepdims=True))
    return -(t * ls).sum(-1), np.exp(ls) * t.sum(-1, keepdims=True) - t


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 4), c=st.integers(1, 6), scale=st.sampled_from([0.1, 3.0, 20.0, 80.0]),
       soft=st.booleans(), seed=st.integers(0, 2**16))
def test_float32_softmax_cross_entropy_is_accurate(n, c, scale, soft, seed):
    """float32 scores give float32 results within float32 rounding of the exact value,
    even for confident predictions (tiny loss) and scores beyond the overflow-free range."""
    r = np.random.default_rng(seed)
    z = (r.standard_normal((n, c)) * scale).astype(np.float32)
    t = (r.dirichlet(np.ones(c), n) if soft else np.eye(c)[r.integers(0, c, n)]).astype(np.float32)
    want, want_g = _xent_reference(z, t)
    zt = cr.tensor(z, requires_grad=True)
    loss = nn_ops.softmax_cross_entropy(zt, t)
    assert loss.dtype == np.float32
    # float32 rounding of the exact value, plus float64-level absolute noise (the old float32
    # path was off by ~4e-7 absolute on a loss of 4.5e-5)
    np.testing.assert_allclose(loss.data, want, rtol=3e-7, atol=1e-14)
    cnp.sum(loss).backward()
    assert zt.grad.dtype == np.float32
    np.testing.assert_allclose(zt.grad, want_g, rtol=3e-7, atol=1e-14)
    _, tan = cr.jvp(lambda v: nn_ops.softmax_cross_entropy(v, t), (z,), (np.ones_like(z),))
    np.testing.assert_allclose(tan, want_g.sum(-1), rtol=1e-6, atol=1e-6)


def test_cross_entropy_examples_from_the_issue():
    z = np.array([10.0, 0.0], np.float32)
    assert F.cross_entropy(z, np.array(0)).item() == pytest.approx(np.log1p(np.exp(-10.0)),
                                                                    rel=1e-7)
    one = cr.tensor(np.array([[3.7]], np.float32), requires_grad=True)
    loss = F.cross_entropy(one, np.array([0]))
    loss.backward()
    assert loss.item() == 0.0 and one.grad[0, 0] == 0.0


@settings(max_examples=10, deadline=None)
@given(n=st.integers(1, 3), c=st.integers(1, 4), scale=st.sampled_from([1.0, 100.0]),
       seed=st.integers(0, 2**16))
def test_softmax_cross_entropy_second_order_both_paths(n, c, scale, seed):
    """Small and large scores, float64, order 2 (through the slope primitive's own rules)."""
    r = np.random.default_rng(seed)
    z = r.standard_normal((n, c)) * scale
    check(lambda v, t: nn_ops.softmax_cross_entropy(v, t), z, r.dirichlet(np.ones(c), n))


# ------------------------------------------------------- dtypes
F32_FUNCS = [F.relu, F.leaky_relu, F.sigmoid, F.softplus, F.tanh, F.softmax, F.log_softmax,
             F.logsumexp]


@pytest.mark.parametrize("f", F32_FUNCS, ids=lambda f: f.__name__)
def test_float32_stays_float32(f):
    x = cr.tensor(rng.standard_normal((2, 3)), dtype="float32", requires_grad=True)
    y = f(x)
    assert y.dtype == np.float32
    cnp.sum(y * y).backward()
    assert x.grad.dtype == np.float32
    assert cr.jvp(f, (x.data,), (np.ones((2, 3), np.float32),))[1].dtype == np.float32


LOSSES_F32 = [
    ("mse",     F.mse_loss,                          lambda p: rng.standard_normal(p.shape)),
    ("l1",      F.l1_loss,                           lambda p: rng.standard_normal(p.shape)),
    ("bce",     lambda p, t: F.binary_cross_entropy(F.sigmoid(p), t), lambda p: rng.random(p.shape)),
    ("bce_lg",  F.binary_cross_entropy_with_logits,  lambda p: rng.random(p.shape)),
    ("ce",      F.cross_entropy,                     lambda p: np.array([0, 2])),
    ("hinge",   F.hinge_loss,                        lambda p: np.sign(rng.standard_normal(p.shape))),
]


@pytest.mark.parametrize("name,loss,target", LOSSES_F32, ids=[r[0] for r in LOSSES_F32])
def test_losses_keep_float32(name, loss, target):
    p = cr.tensor(rng.standard_normal((2, 3)), dtype="float32", requires_grad=True)
    t = target(p)
    t = t.astype(np.float32) if t.dtype.kind == "f" else t
    out = loss(p, t)
    assert out.dtype == np.float32
    out.backward()
    assert p.grad.dtype == np.float32


# ------------------------------------------------------- subgradients at kinks
@pytest.mark.parametrize("f,slope", [
    (F.relu, 0.0),                                  # relu'(0) = 0            (seed 003)
    (lambda x: F.leaky_relu(x, 0.2), 0.2),          # leaky'(0) = slope, 0 < slope < 1
    (F.leaky_relu, 0.01),                           # default slope
    (lambda x: F.leaky_relu(x, 1.5), 1.0),          # [1, 1.5]: nearest 0 is 1
    (lambda x: F.leaky_relu(x, -0.5), 0.0),         # [-0.5, 1] holds 0
])
def test_derivative_at_zero_is_min_norm_subgradient(f, slope):
    x = np.zeros(3)
    np.testing.assert_array_equal(cr.grad(lambda v: cnp.sum(f(v)))(x), slope)
    np.testing.assert_array_equal(cr.jvp(f, (x,), (np.ones(3),))[1], slope)


def test_kink_and_formula_attributes():
    for op in (F.relu, F.leaky_relu):
        mask, subdiff, chosen = op.kink
        np.testing.assert_array_equal(mask(None, np.array([-1.0, 0.0, 2.0])), [False, True, False])
        assert subdiff and chosen
    assert F.sigmoid.formula[0] == "σ(x)(1−σ(x))"
    for op in (F.relu, F.leaky_relu, F.softplus, F.softmax, F.log_softmax, F.logsumexp):
        assert op.formula[0]


# ------------------------------------------------------- stability
def test_stable_logits_cross_entropy():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for z0, y in [([1000.0, 0.0, -1000.0], 2), ([[1000.0, 0.0, -1000.0]], np.array([2]))]:
            z = cr.tensor(z0, requires_grad=True)
            loss = F.cross_entropy(z, y)
            loss.backward()
            assert loss.item() == 2000.0
            np.testing.assert_array_equal(np.ravel(z.grad), [1.0, 0.0, -1.0])


def test_large_inputs_stay_finite():
    x = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_allclose(F.sigmoid(x), [0.0, np_sigmoid(-50.0), 0.5, 1.0, 1.0])
        np.testing.assert_allclose(F.softplus(x), [0.0, np.log1p(np.exp(-50.0)), np.log(2), 50, 1000])
        np.testing.assert_allclose(F.logsumexp(x), 1000.0)
        assert np.all(np.isfinite(F.log_softmax(x)))
        g = cr.grad(lambda v: cnp.sum(F.softplus(v) + F.sigmoid(v)))(x)
        assert np.all(np.isfinite(g))
        z, t = cr.tensor(x, requires_grad=True), np.array([1.0, 0.0, 1.0, 0.0, 1.0])
        F.binary_cross_entropy_with_logits(z, t, reduction="sum").backward()
    np.testing.assert_allclose(z.grad, [-1.0, np_sigmoid(-50.0), -0.5, 1.0, 0.0], atol=1e-15)


def test_masked_logits_give_no_nan():
    z = cr.tensor([2.0, -np.inf, 0.5], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = F.cross_entropy(z, np.array([0.3, 0.0, 0.7]))
        loss.backward()
    assert np.isfinite(loss.item()) and np.all(np.isfinite(z.grad))


def test_bce_at_zero_and_one_is_finite():
    p = cr.tensor([0.0, 1.0, 0.0, 1.0], requires_grad=True)
    y = np.array([1.0, 0.0, 0.0, 1.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = F.binary_cross_entropy(p, y, reduction="none")
        cnp.sum(loss).backward()
    np.testing.assert_allclose(loss.data, [-np.log(1e-12)] * 2 + [0.0, 0.0], atol=1e-9)
    assert np.all(np.isfinite(p.grad))


# ------------------------------------------------------- the seeds' closed forms
def test_seed_002_sigmoid_derivative():
    x = np.linspace(-6, 6, 25)
    s = np_sigmoid(x)
    np.testing.assert_allclose(cr.grad(lambda v: cnp.sum(F.sigmoid(v)))(x), s * (1 - s))
    np.testing.assert_allclose(cr.jvp(F.sigmoid, (x,), (np.ones_like(x),))[1], s * (1 - s))


@pytest.mark.parametrize("y", [0.0, 1.0])
def test_seed_002_logistic_regression_gradient(y):
    r = np.random.default_rng(int(y))
    x, w0, b0 = r.standard_normal(3), r.standard_normal(3), 0.3
    y_hat = np_sigmoid(w0 @ x + b0)
    want = -(y - y_hat) * np.append(x, 1.0)                  # −(y − ŷ)(x, 1)
    for loss in (lambda z: F.binary_cross_entropy(F.sigmoid(z), np.array(y)),
                 lambda z: F.binary_cross_entropy_with_logits(z, np.array(y))):
        w, b = cr.tensor(w0, requires_grad=True), cr.tensor(b0, requires_grad=True)
        E = loss(cnp.sum(w * x) + b)
        E.backward()
        np.testing.assert_allclose(E.item(), -y * np.log(y_hat) - (1 - y) * np.log(1 - y_hat))
        np.testing.assert_allclose(np.append(w.grad, b.grad), want, rtol=1e-10)


def test_seed_004_softmax_nll_gradients():
    a0, label = np.array([0.5, -1.0, 2.0, 0.1]), 1
    e = np.eye(4)[label]
    y_np = np.exp(a0) / np.exp(a0).sum()
    a = cr.tensor(a0, requires_grad=True)
    y_hat = F.softmax(a).retain_grad()
    loss = -cnp.log(y_hat[label])
    loss.backward()
    np.testing.assert_allclose(y_hat.grad, -e / y_np[label])     # ∇_ŷ = −e_l / ŷ_l
    np.testing.assert_allclose(a.grad, -(e - y_np))               # ∇_a = −(e_l − ŷ)
    a2 = cr.tensor(a0, requires_grad=True)
    F.cross_entropy(a2, label).backward()
    np.testing.assert_allclose(a2.grad, -(e - y_np))


def test_mse_gradient():
    p0, t = rng.standard_normal((4, 2)), rng.standard_normal((4, 2))
    for reduction, scale in [("mean", 2 / 8), ("sum", 2.0)]:
        p = cr.tensor(p0, requires_grad=True)
        F.mse_loss(p, t, reduction=reduction).backward()
        np.testing.assert_allclose(p.grad, scale * (p0 - t))


# ------------------------------------------------------- loss values and reductions
def np_losses(p, t):
    return {
        "mse_loss": (p - t) ** 2,
        "l1_loss": np.abs(p - t),
        "binary_cross_entropy_with_logits": -(t * np.log(np_sigmoid(p)) + (1 - t) * np.log(1 - np_sigmoid(p))),
        "hinge_loss": np.maximum(0.0, 1.0 - np.sign(t - 0.5) * p),
    }


@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "binary_cross_entropy_with_logits", "hinge_loss"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_loss_values_and_grads(name, reduction):
    r = np.random.default_rng(3)
    p, t = off_kink((3, 4), 3) * 2, r.random((3, 4)).round()
    target = np.sign(t - 0.5) if name == "hinge_loss" else t
    want = np_losses(p, t)[name]
    want = {"mean": want.mean(), "sum": want.sum(), "none": want}[reduction]
    f = getattr(F, name)
    np.testing.assert_allclose(f(p, target, reduction=reduction), want)      # on arrays
    np.testing.assert_allclose(f(cr.tensor(p), target, reduction=reduction).data, want)
    p = np.where(np.abs(1 - target * p) < 0.1, p + 0.3, p)                   # off hinge kinks
    check(lambda v: f(v, target, reduction=reduction), p)


def test_bce_values_and_grads():
    p, t = np.array([0.1, 0.5, 0.9, 0.3]), np.array([0.0, 1.0, 1.0, 0.4])
    want = -(t * np.log(p) + (1 - t) * np.log(1 - p))
    np.testing.assert_allclose(F.binary_cross_entropy(p, t, reduction="none"), want)
    check(lambda v, w: F.binary_cross_entropy(v, w), p, t)


def test_tensor_methods():
    x = cr.tensor(rng.standard_normal((2, 3)))
    np.testing.assert_allclose(x.softmax(0).data, F.softmax(x.data, axis=0))
    np.testing.assert_allclose(x.relu().data, np.maximum(x.data, 0))


# ------------------------------------------------------- errors that say how to fix them
def raises(fn, *words):
    with pytest.raises(ChainruleError) as info:
        fn()
    msg = str(info.value)
    for w in words:
        assert w in msg, msg


def test_error_messages():
    z = np.zeros((4, 3))
    raises(lambda: F.cross_entropy(z, np.array([0.0, 1.0, 2.0, 1.0])), "cross_entropy",
           "integer class labels of shape (N,)", "one-hot of shape (N, C)", "astype(int)")
    raises(lambda: F.cross_entropy(z, np.array([0, 1, 3, 1])), "cross_entropy", "out of range",
           "0 .. 2", "label 3")
    raises(lambda: F.cross_entropy(z, np.array([0, 1])), "cross_entropy", "(4,)", "(2,)")
    raises(lambda: F.nll_loss(z, np.array([-1, 0, 0, 0])), "nll_loss", "out of range")
    raises(lambda: F.cross_entropy(np.zeros(3), 5), "out of range")
    raises(lambda: F.mse_loss(np.zeros((4,)), np.zeros((4, 1))), "mse_loss", "(4,)", "(4, 1)",
           "reshape")
    raises(lambda: F.l1_loss(np.zeros(3), np.zeros(2)), "l1_loss")
    raises(lambda: F.binary_cross_entropy(np.array([0.5, 1.2]), np.ones(2)),
           "binary_cross_entropy", "[0, 1]", "with_logits")
    raises(lambda: F.hinge_loss(np.zeros(2), np.array([0.0, 1.0])), "hinge_loss", "2*y - 1")
    raises(lambda: F.mse_loss(z, z, reduction="avg"), "mse_loss", "'none'")


def test_fused_cross_entropy_rules_for_both_arguments():
    """The fused softmax-cross-entropy primitive: scores and (soft) targets, both orders."""
    rng = np.random.default_rng(11)
    z = rng.standard_normal((3, 4))
    t = rng.dirichlet(np.ones(4), size=3)
    cr.check_grad(lambda a, b: F.cross_entropy(a, b), z, t, order=2)
    cr.check_grad(lambda a, b: F.cross_entropy(a, b, reduction="none") ** 2, z, t * 2.0, order=2)
    # integer labels: the rule is exactly softmax(z) − e_label, averaged over rows
    labels = np.array([0, 3, 1])
    g = cr.grad(lambda a: F.cross_entropy(a, labels))(z)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(g, (p - np.eye(4)[labels]) / 3, rtol=1e-12)
