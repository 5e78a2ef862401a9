"""The worked results of ../shared/seeds/, each computed by chainrule and compared with the
closed form the seed derives by hand (written out here in NumPy)."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.functional as F
import chainrule.numpy as cnp

rng = np.random.default_rng(2024)


def test_000_gradient_of_one_on_y_hat():
    # ŷ = x·w1·w2·w3, loss = mean((y − ŷ)²); backprop starts from ∂loss/∂loss = 1
    x, y = rng.standard_normal(5), rng.standard_normal(5)
    w = [cr.tensor(v, requires_grad=True) for v in (0.5, -1.5, 2.0)]
    y_hat = x * w[0] * w[1] * w[2]
    y_hat.retain_grad()
    loss = cnp.mean((y - y_hat) ** 2)
    loss.retain_grad()
    loss.backward()
    assert loss.grad == 1.0
    d_yhat = -2 * (y - y_hat.data) / len(x)
    np.testing.assert_allclose(y_hat.grad, d_yhat)
    prod = 0.5 * -1.5 * 2.0
    for wi in w:
        np.testing.assert_allclose(wi.grad, np.sum(d_yhat * x * prod / wi.data))


def test_001_gradient_descent_step_lowers_error_of_linear_neuron():
    X = rng.standard_normal((20, 2))
    t = X @ np.array([1.5, -0.7])
    E = lambda w: cnp.mean((X @ w - t) ** 2)  # noqa: E731
    w = np.array([-1.0, 1.0])
    eta = 0.1
    for _ in range(10):
        g = cr.grad(E)(w)
        np.testing.assert_allclose(g, 2 * X.T @ (X @ w - t) / len(t))
        w_new = w - eta * g                     # w ← w − η ∂E/∂w
        assert float(E(w_new)) < float(E(w))
        w = w_new


def test_002_sigmoid_derivative_and_logistic_regression_gradient():
    xs = np.linspace(-4, 4, 9)
    s = 1 / (1 + np.exp(-xs))
    np.testing.assert_allclose(cr.grad(lambda v: cnp.sum(F.sigmoid(v)))(xs), s * (1 - s))

    x, y = rng.standard_normal(4), 1.0
    W, b = rng.standard_normal(4), 0.3

    def E(W, b):
        y_hat = F.sigmoid(cnp.dot(W, x) + b)
        return -y * cnp.log(y_hat) - (1 - y) * cnp.log(1 - y_hat)
    gW, gb = cr.grad(E, argnums=(0, 1))(W, b)
    y_hat = 1 / (1 + np.exp(-(W @ x + b)))
    np.testing.assert_allclose(np.append(gW, gb), -(y - y_hat) * np.append(x, 1.0))
    alpha = 0.1  # the update w ← w + α(y − ŷ)x is the gradient step
    np.testing.assert_allclose(W - alpha * gW, W + alpha * (y - y_hat) * x)
    assert np.isclose(b - alpha * gb, b + alpha * (y - y_hat))


def test_003_gradients_norm_dot_and_linear_regression_mse():
    f = lambda x, y, z: x ** 2 + 2 * y ** 2 + 3 * z ** 2  # noqa: E731
    assert cr.grad(f, argnums=(0, 1, 2))(1.0, 2.0, 3.0) == (2.0, 8.0, 18.0)
    assert cr.grad(lambda v: v ** 2)(3.0) == 6.0
    assert cr.grad(lambda v: (v + 1) ** 2)(2.0) == 2 * (2.0 + 1)   # chain rule
    w, xv = rng.standard_normal(6), rng.standard_normal(6)
    np.testing.assert_allclose(cr.grad(lambda v: cnp.sum(v * v))(w), 2 * w)
    np.testing.assert_allclose(cr.grad(lambda v: cnp.sum(v * xv))(w), xv)
    X, t = rng.standard_normal((8, 3)), rng.standard_normal(8)
    wv, b = rng.standard_normal(3), 0.2
    L = lambda w, b: cnp.mean((X @ w + b - t) ** 2)  # noqa: E731
    gw, gb = cr.grad(L, argnums=(0, 1))(wv, b)
    r = X @ wv + b - t
    np.testing.assert_allclose(gw, 2 / len(t) * X.T @ r)
    assert np.isclose(gb, 2 / len(t) * r.sum())


@pytest.mark.parametrize("label", [0, 2])
def test_004_softmax_nll_output_layer(label):
    a = cr.tensor(rng.standard_normal(4), requires_grad=True)
    y_hat = F.softmax(a)
    y_hat.retain_grad()
    loss = -cnp.log(y_hat[label])
    loss.backward()
    e = np.eye(4)[label]
    yh = np.exp(a.data) / np.exp(a.data).sum()
    np.testing.assert_allclose(y_hat.grad, -e / yh[label])     # ∇_ŷ L = −e_l / ŷ_l
    np.testing.assert_allclose(a.grad, -(e - yh))              # ∇_a L = −(e_l − ŷ)
