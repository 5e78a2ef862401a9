"""taylor_step: a gradient step against its first- and second-order Taylor predictions."""
import math

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.core import jacobians as transforms

A = np.array([[3.0, 1.0, 0.0], [1.0, 2.0, 0.5], [0.0, 0.5, 1.0]])   # symmetric positive definite
B = np.array([1.0, -2.0, 0.5])
W0 = np.array([0.3, -0.7, 1.1])


def quad(w):
    return 0.5 * cnp.sum(w * cnp.matmul(A, w)) + cnp.sum(B * w)


def test_quadratic_is_exact():
    eps = 0.1
    r = cr.taylor_step(quad, W0, eps)
    g = A @ W0 + B
    assert r.gTg == pytest.approx(g @ g, rel=1e-12)
    assert r.gHg == pytest.approx(g @ A @ g, rel=1e-12)
    assert r.first_order == pytest.approx(-eps * g @ g, rel=1e-12)
    assert r.second_order == pytest.approx(0.5 * eps ** 2 * g @ A @ g, rel=1e-12)
    assert r.actual == pytest.approx(r.predicted, rel=1e-10, abs=1e-12)
    assert abs(r.remainder) < 1e-10                      # a quadratic has no higher-order terms
    assert r.max_lr == pytest.approx(2 * (g @ g) / (g @ A @ g), rel=1e-12)
    np.testing.assert_allclose(r.grads, g)
    np.testing.assert_allclose(r.new_params, W0 - eps * g)
    assert r.loss == pytest.approx(0.5 * W0 @ A @ W0 + B @ W0)


def test_max_lr_separates_decrease_from_increase_on_a_quadratic():
    lim = cr.taylor_step(quad, W0, 0.1).max_lr
    assert cr.taylor_step(quad, W0, 0.99 * lim).actual < 0
    assert cr.taylor_step(quad, W0, 1.01 * lim).actual > 0
    assert "beyond it" in str(cr.taylor_step(quad, W0, 1.01 * lim))


def test_uses_hvp_not_a_full_hessian(monkeypatch):
    calls = []
    real = transforms.hessian
    monkeypatch.setattr(transforms, "hessian", lambda *a, **k: calls.append(1) or real(*a, **k))
    cr.taylor_step(quad, W0, 0.1)
    assert calls == []


def test_negative_curvature_means_no_limit():
    r = cr.taylor_step(lambda w: -cnp.sum(w ** 2), np.ones(3), 0.5)
    assert math.isinf(r.max_lr) and r.gHg < 0
    assert "every ε" in str(r)


# ------------------------------------- Deep Learning Book §8.7: ŷ = x·w1·…·wl
def _chain(x):
    def f(*ws):
        y = x
        for w in ws:
            y = y * w
        return y
    return f


@pytest.mark.parametrize("depth", [1, 2, 3, 5, 8])
def test_deep_linear_chain_terms_are_exact(depth):
    # the cost puts a gradient of 1 on ŷ (L = ŷ); every wi = 1, so every gi = x = 1
    eps = 0.1
    r = cr.taylor_step(_chain(1.0), (1.0,) * depth, eps)
    assert r.first_order == pytest.approx(-eps * depth)                   # −ε gᵀg
    assert r.second_order == pytest.approx(eps ** 2 * depth * (depth - 1) / 2)
    assert r.actual == pytest.approx((1 - eps) ** depth - 1)              # ŷ = (1 − ε)^l
    higher = sum(math.comb(depth, k) * (-eps) ** k for k in range(3, depth + 1))
    assert r.remainder == pytest.approx(higher, abs=1e-12)
    assert isinstance(r.grads, tuple) and len(r.grads) == depth


def test_higher_order_terms_grow_with_depth():
    eps = 0.1
    rem = [abs(cr.taylor_step(_chain(1.0), (1.0,) * d, eps).remainder) for d in range(1, 9)]
    assert rem[0] < 1e-15 and rem[1] < 1e-15              # depth ≤ 2: ŷ is at most quadratic
    assert all(b > a for a, b in zip(rem[1:], rem[2:]))    # then strictly growing
    # and with the seed's MSE loss on random data, deeper chains leave the quadratic model behind
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=8), rng.normal(size=8)

    def mse(depth):
        return lambda *ws: cnp.mean((y - _chain(x)(*ws)) ** 2)
    rel = []
    for d in (1, 4, 8):
        r = cr.taylor_step(mse(d), [np.array(1.1)] * d, 0.05)
        rel.append(abs(r.remainder) / abs(r.actual))
    assert rel[0] < 1e-12 and rel[0] < rel[1] < rel[2]


def test_text_and_param_forms():
    def quad3(*w):      # the same quadratic, one scalar parameter per coordinate
        return sum(0.5 * A[i, j] * w[i] * w[j] for i in range(3) for j in range(3)) + \
            sum(B[i] * w[i] for i in range(3))
    r = cr.taylor_step(quad3, list(W0), 0.1)                          # a list: loss_fn(*params)
    assert isinstance(r.new_params, tuple) and len(r.new_params) == 3
    assert r.gHg == pytest.approx(cr.taylor_step(quad, W0, 0.1).gHg, rel=1e-12)
    text = str(cr.taylor_step(quad, W0, 0.1))
    for piece in ("ε = 0.1", "first order", "−ε gᵀg", "½ ε² gᵀHg", "actual change",
                  "higher orders", "2 gᵀg / gᵀHg"):
        assert piece in text
    with pytest.raises(cr.ChainruleError):
        cr.taylor_step(quad, (), 0.1)
