"""Modules: registration, state_dict, repr, modes, initialisation, and the models."""
import pickle

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule import models, nn, optim
from chainrule.core.errors import ChainruleError


class TwoLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(3, 4, seed=0), nn.Tanh())
        self.head = nn.Linear(4, 2, seed=1)
        self.scale = nn.Parameter(np.ones(2))
        self.note = "not a parameter"

    def forward(self, x):
        return self.head(self.body(x)) * self.scale


def test_parameter_is_a_float_leaf_tensor():
    p = nn.Parameter([1, 2, 3])
    assert isinstance(p, cr.Tensor) and p.requires_grad and p.is_leaf
    assert p.dtype == np.float64
    src = np.zeros(2)
    assert nn.Parameter(src).data is not src           # owns its memory
    assert type(p * 2) is cr.Tensor
    assert "Parameter containing" in repr(p)
    q = pickle.loads(pickle.dumps(p))
    assert isinstance(q, nn.Parameter) and np.array_equal(q.data, p.data)


def test_registration_and_named_parameters():
    m = TwoLayer()
    names = [n for n, _ in m.named_parameters()]
    assert names == ["scale", "body.0.weight", "body.0.bias", "head.weight", "head.bias"]
    assert len(list(m.parameters())) == 5
    assert [n for n, _ in m.named_modules()] == ["", "body", "body.0", "body.1", "head"]
    assert m.num_parameters() == 3 * 4 + 4 + 4 * 2 + 2 + 2
    m.head = nn.Identity()                  # replacing a sub-module re-registers it
    assert "head.weight" not in dict(m.named_parameters())
    shared = nn.Linear(2, 2)
    seq = nn.Sequential(shared, shared)
    assert len(list(seq.parameters())) == 2  # shared weights listed once
    with pytest.raises(ChainruleError, match="replace Parameter"):
        m.scale = np.ones(2)


def test_forgetting_super_init_is_explained():
    class Bad(nn.Module):
        def __init__(self):
            self.lin = nn.Linear(2, 2)

    with pytest.raises(ChainruleError, match="super"):
        Bad()


def test_backward_fills_parameter_grads_and_zero_grad():
    m = TwoLayer()
    x = np.random.default_rng(0).normal(size=(5, 3))
    cnp.sum(m(x) ** 2).backward()
    for name, p in m.named_parameters():
        assert p.grad is not None and p.grad.shape == p.shape, name
    m.zero_grad(set_to_none=False)
    assert all(np.all(p.grad == 0) for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())


def test_state_dict_round_trip_is_a_copy_and_in_place():
    a, b = TwoLayer(), TwoLayer()
    b.head.weight.data[...] = 9.0
    sd = a.state_dict()
    assert list(sd) == [n for n, _ in a.named_parameters()]
    sd["head.bias"][...] = 123.0                       # a copy: the model is not touched
    assert not np.any(a.head.bias.data == 123.0)
    w_before = b.head.weight
    buf = b.head.weight.data
    b.load_state_dict(a.state_dict())
    assert b.head.weight is w_before and b.head.weight.data is buf   # optimizers keep working
    x = np.ones((2, 3))
    np.testing.assert_array_equal(a(x).data, b(x).data)


def test_load_state_dict_errors_name_the_problem():
    m = TwoLayer()
    sd = m.state_dict()
    extra = dict(sd, **{"head.extra": np.zeros(1)})
    with pytest.raises(ChainruleError, match=r"unexpected keys \['head.extra'\]"):
        m.load_state_dict(extra)
    missing = {k: v for k, v in sd.items() if k != "scale"}
    with pytest.raises(ChainruleError, match=r"missing keys \['scale'\]"):
        m.load_state_dict(missing)
    res = m.load_state_dict(missing, strict=False)
    assert res.missing_keys == ["scale"]
    bad = dict(sd, **{"head.weight": np.zeros((3, 2))})
    with pytest.raises(ChainruleError) as e:
        m.load_state_dict(bad)
    msg = str(e.value)
    assert "head.weight" in msg and "(4, 2)" in msg and "(3, 2)" in msg and "Fix" in msg


def test_repr_has_layer_and_total_counts():
    r = repr(nn.MLP([64, 64, 10], seed=0))
    assert "(0): Linear(in_features=64, out_features=64, bias=True)  # 4,160 params" in r
    assert "(1): ReLU()" in r
    assert "# 650 params" in r
    assert r.endswith("Total parameters: 4,810")
    m = models.LinearRegression(3)
    m.linear.bias.requires_grad_(False)
    assert "Total parameters: 4 (trainable: 3)" in repr(m)


def test_train_eval_and_dropout():
    d = nn.Dropout(0.25, seed=0)
    m = nn.Sequential(nn.Identity(), d)
    x = np.ones((400, 50))
    y = m(x)
    kept = y != 0
    assert 0.7 < kept.mean() < 0.8
    np.testing.assert_allclose(np.asarray(y)[np.asarray(kept)], 1 / 0.75)   # inverted scaling
    assert m.eval() is m and not d.training
    assert m(x) is x                                   # identity in eval mode
    m.train()
    assert d.training
    t = cr.tensor(np.ones((3, 4)), requires_grad=True)
    out = nn.Dropout(0.5, seed=1)(t)
    cnp.sum(out).backward()
    np.testing.assert_array_equal(t.grad, out.data)     # gradient flows only through kept units
    np.testing.assert_array_equal(np.asarray(nn.Dropout(1.0)(x)), 0.0)
    with pytest.raises(ChainruleError):
        nn.Dropout(1.5)


def test_linear_convention_and_shape_errors():
    lin = nn.Linear(3, 2, seed=0)
    assert lin.weight.shape == (3, 2) and lin.bias.shape == (2,)
    x = np.arange(6.0).reshape(2, 3)
    np.testing.assert_allclose(lin(x).data, x @ lin.weight.data + lin.bias.data)
    assert lin(np.ones(3)).shape == (2,)
    assert nn.Linear(3, 2, bias=False).bias is None
    assert len(list(nn.Linear(3, 2, bias=False).parameters())) == 1
    with pytest.raises(ChainruleError, match=r"in_features=3"):
        lin(np.ones((2, 4)))


@pytest.mark.parametrize("init,var", [("glorot", lambda i, o: 2 / (i + o)),
                                      ("he", lambda i, o: 2 / i),
                                      ("glorot_normal", lambda i, o: 2 / (i + o)),
                                      ("he_uniform", lambda i, o: 2 / i)])
def test_init_variance(init, var):
    fi, fo = 300, 200
    w = nn.Linear(fi, fo, init=init, seed=3).weight.data
    assert abs(w.mean()) < 0.01 * np.sqrt(var(fi, fo)) * 10
    assert w.var() == pytest.approx(var(fi, fo), rel=0.03)
    if init == "glorot":
        assert np.abs(w).max() <= np.sqrt(6 / (fi + fo))


def test_seeded_init_is_deterministic():
    a, b = nn.Linear(5, 4, seed=42), nn.Linear(5, 4, seed=42)
    np.testing.assert_array_equal(a.weight.data, b.weight.data)
    assert not np.array_equal(a.weight.data, nn.Linear(5, 4, seed=43).weight.data)
    m1, m2 = nn.MLP([4, 8, 8, 2], seed=1), nn.MLP([4, 8, 8, 2], seed=1)
    for (n1, p1), (_, p2) in zip(m1.named_parameters(), m2.named_parameters()):
        np.testing.assert_array_equal(p1.data, p2.data, err_msg=n1)
    assert not np.array_equal(m1[0].weight.data[:, :8], m1[2].weight.data[:4])  # layers differ
    rng = np.random.default_rng(0)
    c = nn.Linear(5, 4, seed=rng)
    assert not np.array_equal(c.weight.data, nn.Linear(5, 4, seed=rng).weight.data)
    assert nn.Linear(2, 2, dtype="float32").weight.dtype == np.float32
    with pytest.raises(ChainruleError, match="init"):
        nn.Linear(2, 2, init="xavier")


def test_mlp_structure_and_activations():
    m = nn.MLP([4, 16, 8, 3], activation="tanh", seed=0)
    kinds = [type(l).__name__ for l in m]
    assert kinds == ["Linear", "Tanh", "Linear", "Tanh", "Linear"]
    assert m(np.ones((7, 4))).shape == (7, 3)
    leaky = nn.MLP([2, 3, 1], activation=nn.LeakyReLU(0.2))
    assert leaky[1].negative_slope == 0.2
    x = np.array([[-2.0, 0.5, 3.0]])
    np.testing.assert_allclose(nn.LeakyReLU(0.1)(x), [[-0.2, 0.5, 3.0]])
    np.testing.assert_allclose(nn.ReLU()(x), [[0.0, 0.5, 3.0]])
    np.testing.assert_allclose(nn.Sigmoid()(x), 1 / (1 + np.exp(-x)))
    np.testing.assert_allclose(nn.Tanh()(x), np.tanh(x))
    sm = np.asarray(nn.Softmax(axis=0)(np.array([[1.0, 2.0], [3.0, 4.0]])))
    np.testing.assert_allclose(sm.sum(axis=0), [1.0, 1.0])
    with pytest.raises(ChainruleError, match="activation"):
        nn.MLP([2, 2, 2], activation="swish")


def test_models_tasks_losses_and_shapes():
    x = np.random.default_rng(0).normal(size=(10, 3))
    reg = models.LinearRegression(3)
    assert reg.task == "regression" and reg(x).shape == (10,)
    assert type(reg.default_loss()).__name__ == "MSELoss"
    logit = models.LogisticRegression(3)
    assert logit.task == "binary" and logit(x).shape == (10,)
    assert type(logit.default_loss()).__name__ == "BCEWithLogitsLoss"
    np.testing.assert_allclose(logit.predict_proba(x), 0.5)      # zero-initialised
    soft = models.SoftmaxRegression(3, 4, init="glorot", seed=0)
    assert soft.task == "multiclass" and soft(x).shape == (10, 4)
    assert type(soft.default_loss()).__name__ == "CrossEntropyLoss"
    np.testing.assert_allclose(soft.predict_proba(x).sum(axis=1), 1.0)
    np.testing.assert_array_equal(soft.predict(x), np.argmax(soft(x).data, axis=1))
    assert models.MLP([3, 8, 5], seed=0).task == "multiclass"
    assert models.MLP([3, 8, 1], seed=0).task == "regression"
    binary = models.MLP([3, 8, 1], task="binary", seed=0)
    assert binary(x).shape == (10,) and set(np.unique(binary.predict(x))) <= {0, 1}
    assert isinstance(binary, nn.Module) and binary.metric == "accuracy"
    with pytest.raises(ChainruleError, match="one output"):
        models.MLP([3, 8, 2], task="binary")
    with pytest.raises(ChainruleError):
        reg.predict_proba(x)


def test_models_train_to_a_good_fit():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 2))
    y = (x[:, 0] - 2 * x[:, 1] > 0).astype(float)
    model = models.LogisticRegression(2)
    loss_fn = model.default_loss()
    opt = optim.SGD(model.parameters(), lr=0.5)
    for _ in range(100):
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()
    assert (model.predict(x) == y).mean() > 0.97
    assert loss_fn(model(x), y).item() < 0.2
