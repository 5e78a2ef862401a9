"""Loss objects against NumPy closed forms, and the seeds' training rules end to end."""
import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule import losses, models, nn, optim
from chainrule.core.errors import ChainruleError

RNG = np.random.default_rng(3)
N, C = 8, 4


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def log_softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def value(loss_obj, pred, target):
    out = loss_obj(cr.tensor(pred), target)
    return np.asarray(out.data if isinstance(out, cr.Tensor) else out)


PRED, TARGET = RNG.normal(size=N), RNG.normal(size=N)
PROBS, BITS = RNG.uniform(0.05, 0.95, size=N), RNG.integers(0, 2, size=N).astype(float)
LOGITS, LABELS = RNG.normal(size=(N, C)), RNG.integers(0, C, size=N)
SIGNS = np.where(BITS > 0, 1.0, -1.0)

CASES = [
    (losses.MSELoss, PRED, TARGET, (PRED - TARGET) ** 2),
    (losses.L1Loss, PRED, TARGET, np.abs(PRED - TARGET)),
    (losses.BCELoss, PROBS, BITS, -(BITS * np.log(PROBS) + (1 - BITS) * np.log(1 - PROBS))),
    (losses.BCEWithLogitsLoss, PRED, BITS,
     -(BITS * np.log(sigmoid(PRED)) + (1 - BITS) * np.log(1 - sigmoid(PRED)))),
    (losses.CrossEntropyLoss, LOGITS, LABELS, -log_softmax(LOGITS)[np.arange(N), LABELS]),
    (losses.CrossEntropyLoss, LOGITS, np.eye(C)[LABELS], -log_softmax(LOGITS)[np.arange(N), LABELS]),
    (losses.NLLLoss, log_softmax(LOGITS), LABELS, -log_softmax(LOGITS)[np.arange(N), LABELS]),
    (losses.HingeLoss, PRED, SIGNS, np.maximum(0, 1 - SIGNS * PRED)),
]


@pytest.mark.parametrize("cls,pred,target,per", CASES, ids=lambda c: getattr(c, "__name__", ""))
def test_losses_match_closed_forms(cls, pred, target, per):
    np.testing.assert_allclose(value(cls(), pred, target), per.mean(), rtol=1e-12)
    np.testing.assert_allclose(value(cls(reduction="sum"), pred, target), per.sum(), rtol=1e-12)
    np.testing.assert_allclose(value(cls(reduction="none"), pred, target), per, rtol=1e-12)


def test_loss_gradients_match_closed_forms():
    z = cr.tensor(LOGITS, requires_grad=True)
    losses.CrossEntropyLoss()(z, LABELS).backward()
    p = np.exp(log_softmax(LOGITS))
    np.testing.assert_allclose(z.grad, (p - np.eye(C)[LABELS]) / N, rtol=1e-12)
    s = cr.tensor(PRED, requires_grad=True)
    losses.BCEWithLogitsLoss(reduction="sum")(s, BITS).backward()
    np.testing.assert_allclose(s.grad, sigmoid(PRED) - BITS, rtol=1e-12)
    s = cr.tensor(PRED, requires_grad=True)
    losses.MSELoss()(s, TARGET).backward()
    np.testing.assert_allclose(s.grad, 2 * (PRED - TARGET) / N, rtol=1e-12)


def test_loss_objects_are_modules_with_reduction():
    assert repr(losses.MSELoss()) == "MSELoss(reduction='mean')"
    assert losses.MAELoss is losses.L1Loss
    assert isinstance(losses.CrossEntropyLoss(), nn.Module)
    with pytest.raises(ChainruleError, match="reduction"):
        losses.MSELoss(reduction="avg")
    with pytest.raises(ChainruleError, match="shape"):
        losses.MSELoss()(cr.tensor(np.ones((3, 1))), np.ones(3))   # (N,1) vs (N,) is refused


def test_l2_penalty():
    a = cr.tensor([1.0, -2.0], requires_grad=True)
    b = cr.tensor([[3.0]], requires_grad=True)
    pen = losses.l2_penalty([a, b], 0.1)
    assert pen.item() == pytest.approx(0.1 * (1 + 4 + 9))
    pen.backward()
    np.testing.assert_allclose(a.grad, 0.2 * a.data)
    lin = nn.Linear(3, 2, seed=0)
    want = 0.5 * sum(np.sum(p.data ** 2) for p in lin.parameters())
    assert losses.l2_penalty(lin, 0.5).item() == pytest.approx(want)
    with pytest.raises(ChainruleError):
        losses.l2_penalty([], 1.0)


def test_l2_penalty_equals_sgd_weight_decay():
    """weight_decay=λ adds λw to the gradient, i.e. the gradient of (λ/2)‖w‖²."""
    w1 = cr.tensor([1.0, 2.0], requires_grad=True)
    w2 = cr.tensor([1.0, 2.0], requires_grad=True)
    (cnp.sum(w1 ** 3) + losses.l2_penalty([w1], 0.05)).backward()
    optim.SGD([w1], lr=0.1).step()
    cnp.sum(w2 ** 3).backward()
    optim.SGD([w2], lr=0.1, weight_decay=0.1).step()
    np.testing.assert_allclose(w1.data, w2.data, rtol=1e-14)


# --------------------------------------------------------------- the seeds
def test_seed001_linear_neuron_gd_decreases_the_error_every_step():
    """Seed 001: y = w0·x0 + w1·x1 with MSE; w ← w − η ∂E/∂w lowers E at every step."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=(30, 2))
    y = x @ np.array([2.0, -3.0])
    neuron = nn.Linear(2, 1, bias=False, seed=0)
    loss_fn, opt = losses.MSELoss(), optim.GD(neuron.parameters(), lr=0.1)
    history = []
    for _ in range(80):
        opt.zero_grad()
        w_before = neuron.weight.data.copy()
        loss = loss_fn(neuron(x)[:, 0], y)
        loss.backward()
        dE_dw = 2 * x.T @ (x @ w_before[:, 0] - y) / len(y)        # derived by hand
        np.testing.assert_allclose(neuron.weight.grad[:, 0], dE_dw, rtol=1e-12)
        opt.step()
        np.testing.assert_allclose(neuron.weight.data[:, 0], w_before[:, 0] - 0.1 * dE_dw)
        history.append(loss.item())
    assert all(b < a for a, b in zip(history, history[1:]))
    assert history[-1] < 1e-3 * history[0]
    np.testing.assert_allclose(neuron.weight.data[:, 0], [2.0, -3.0], atol=1e-2)


@pytest.mark.parametrize("y", [0.0, 1.0])
def test_seed002_logistic_step_is_one_sgd_step_on_cross_entropy(y):
    """Seed 002: w ← w + α(y − ŷ)x, b ← b + α(y − ŷ) is SGD(lr=α) on −y ln ŷ − (1−y) ln(1−ŷ)."""
    alpha = 0.3
    x = np.array([0.5, -1.2, 2.0])
    model = models.LogisticRegression(3, init="glorot", seed=2)
    model.linear.bias.data[...] = 0.4
    w, b = model.linear.weight.data[:, 0].copy(), model.linear.bias.data[0]
    y_hat = sigmoid(x @ w + b)

    opt = optim.SGD(model.parameters(), lr=alpha)
    probs = cnp.reshape(nn.Sigmoid()(model(x[None, :])), (1,))
    losses.BCELoss()(probs, np.array([y])).backward()     # per-point cross-entropy
    opt.step()
    np.testing.assert_allclose(model.linear.weight.data[:, 0], w + alpha * (y - y_hat) * x,
                               rtol=1e-12)
    np.testing.assert_allclose(model.linear.bias.data[0], b + alpha * (y - y_hat), rtol=1e-12)

    # the same step from logits with the fused loss
    model2 = models.LogisticRegression(3, init="glorot", seed=2)
    model2.linear.bias.data[...] = 0.4
    opt2 = optim.SGD(model2.parameters(), lr=alpha)
    model2.default_loss()(model2(x[None, :]), np.array([y])).backward()
    opt2.step()
    np.testing.assert_allclose(model2.linear.weight.data, model.linear.weight.data, rtol=1e-12)
