"""Optimizers, schedulers and clipping against the published formulas (and torch.optim)."""
import math

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule import nn, optim
from chainrule.core.errors import ChainruleError

K = 12
RNG = np.random.default_rng(7)
A = RNG.normal(size=(6, 4))
B = RNG.normal(size=6)
W0 = RNG.normal(size=4)


def grad_fn(w):
    """∇ of ½‖Aw − b‖², written out: the gradient the references consume."""
    return A.T @ (A @ w - B)


def run_chainrule(make_opt, steps=K, w0=W0):
    """K optimizer steps with gradients from chainrule's backward pass."""
    w = cr.tensor(w0.copy(), requires_grad=True)
    opt = make_opt([w])
    for _ in range(steps):
        opt.zero_grad()
        r = cnp.matmul(A, w) - B
        (0.5 * cnp.sum(r * r)).backward()
        opt.step()
    return w.data


# ------------------------------------------------------------- references
def ref_sgd(lr, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0, steps=K):
    w, buf = W0.copy(), None
    for _ in range(steps):
        g = grad_fn(w) + weight_decay * w
        if momentum:
            buf = g.copy() if buf is None else momentum * buf + (1 - dampening) * g
            g = g + momentum * buf if nesterov else buf
        w = w - lr * g
    return w


def ref_adam(lr, b1=0.9, b2=0.999, eps=1e-8, weight_decay=0.0, decoupled=False, amsgrad=False):
    w, m, v, vmax = W0.copy(), 0.0, 0.0, 0.0
    for t in range(1, K + 1):
        g = grad_fn(w)
        if decoupled:
            w = w - lr * weight_decay * w
        else:
            g = g + weight_decay * w
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g ** 2
        m_hat = m / (1 - b1 ** t)
        vmax = np.maximum(vmax, v) if amsgrad else v
        v_hat = vmax / (1 - b2 ** t)
        w = w - lr * m_hat / (np.sqrt(v_hat) + eps)
    return w


def ref_rmsprop(lr, alpha=0.99, eps=1e-8, momentum=0.0, centered=False, weight_decay=0.0):
    w, s, a, buf = W0.copy(), 0.0, 0.0, 0.0
    for _ in range(K):
        g = grad_fn(w) + weight_decay * w
        s = alpha * s + (1 - alpha) * g ** 2
        if centered:
            a = alpha * a + (1 - alpha) * g
            d = np.sqrt(s - a ** 2) + eps
        else:
            d = np.sqrt(s) + eps
        if momentum:
            buf = momentum * buf + g / d
            w = w - lr * buf
        else:
            w = w - lr * g / d
    return w


SGD_CASES = [dict(lr=0.05), dict(lr=0.05, momentum=0.9), dict(lr=0.02, momentum=0.8, dampening=0.3),
             dict(lr=0.03, momentum=0.9, nesterov=True), dict(lr=0.05, weight_decay=0.1),
             dict(lr=0.02, momentum=0.5, nesterov=True, weight_decay=0.01)]
ADAM_CASES = [dict(lr=0.1), dict(lr=0.05, betas=(0.8, 0.99)), dict(lr=0.1, weight_decay=0.2),
              dict(lr=0.1, amsgrad=True), dict(lr=0.1, eps=1e-3)]
RMS_CASES = [dict(lr=0.01), dict(lr=0.01, alpha=0.9), dict(lr=0.01, centered=True),
             dict(lr=0.005, momentum=0.9), dict(lr=0.005, momentum=0.7, centered=True),
             dict(lr=0.01, weight_decay=0.1)]


@pytest.mark.parametrize("kw", SGD_CASES)
def test_sgd_matches_formula(kw):
    np.testing.assert_allclose(run_chainrule(lambda p: optim.SGD(p, **kw)), ref_sgd(**kw),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kw", ADAM_CASES)
def test_adam_matches_formula(kw):
    b1, b2 = kw.get("betas", (0.9, 0.999))
    ref = ref_adam(kw["lr"], b1, b2, kw.get("eps", 1e-8), kw.get("weight_decay", 0.0),
                   amsgrad=kw.get("amsgrad", False))
    np.testing.assert_allclose(run_chainrule(lambda p: optim.Adam(p, **kw)), ref, rtol=1e-11)


@pytest.mark.parametrize("wd", [0.0, 0.01, 0.5])
def test_adamw_decoupled_decay_matches_formula(wd):
    ref = ref_adam(0.1, weight_decay=wd, decoupled=True)
    got = run_chainrule(lambda p: optim.AdamW(p, lr=0.1, weight_decay=wd))
    np.testing.assert_allclose(got, ref, rtol=1e-11)
    if wd:   # coupled and decoupled decay really differ
        assert not np.allclose(got, run_chainrule(lambda p: optim.Adam(p, lr=0.1, weight_decay=wd)))


def test_adamw_default_decay_is_1e_2():
    w = cr.tensor([1.0], requires_grad=True)
    assert optim.AdamW([w]).param_groups[0]["weight_decay"] == 1e-2


@pytest.mark.parametrize("kw", RMS_CASES)
def test_rmsprop_matches_formula(kw):
    np.testing.assert_allclose(run_chainrule(lambda p: optim.RMSprop(p, **kw)),
                               ref_rmsprop(**kw), rtol=1e-11)


def test_gd_is_the_seed_rule_and_skips_params_without_grad():
    assert optim.GD is optim.SGD
    w = cr.tensor([1.0, -2.0], requires_grad=True)
    frozen = cr.tensor([5.0], requires_grad=True)
    opt = optim.GD([w, frozen], lr=0.25)
    w.grad = np.array([4.0, -8.0])
    opt.step()
    np.testing.assert_array_equal(w.data, [0.0, 0.0])    # w − η ∂E/∂w
    np.testing.assert_array_equal(frozen.data, [5.0])      # .grad is None: untouched


def test_zero_grad_and_in_place_update():
    w = cr.tensor(np.ones(3), requires_grad=True)
    buf = w.data
    opt = optim.SGD([w], lr=0.1, momentum=0.9)
    cnp.sum(w * w).backward()
    opt.step()
    assert w.data is buf                                  # updated in place
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(w.grad, 0.0)
    opt.zero_grad()
    assert w.grad is None


def test_float32_params_stay_float32():
    w = cr.tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    for make in (lambda p: optim.Adam(p), lambda p: optim.RMSprop(p, momentum=0.9, centered=True),
                 lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True)):
        opt = make([w])
        cnp.sum(w * w).backward()
        opt.step()
        assert w.data.dtype == np.float32


def test_param_groups_and_module_input():
    model = nn.Linear(3, 2, seed=0)
    opt = optim.SGD([{"params": [model.weight]}, {"params": [model.bias], "lr": 0.5}], lr=0.1)
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert len(optim.Adam(model).param_groups[0]["params"]) == 2


def test_bad_arguments_raise_clear_errors():
    w = cr.tensor([1.0], requires_grad=True)
    with pytest.raises(ChainruleError, match="empty"):
        optim.SGD([], lr=0.1)
    with pytest.raises(ChainruleError, match="lr >= 0"):
        optim.SGD([w], lr=-1)
    with pytest.raises(ChainruleError, match="Nesterov"):
        optim.SGD([w], lr=0.1, nesterov=True)
    with pytest.raises(ChainruleError, match="twice"):
        optim.SGD([w, w], lr=0.1)
    with pytest.raises(ChainruleError, match="leaf"):
        optim.SGD([w * 2], lr=0.1)
    with pytest.raises(ChainruleError, match="betas"):
        optim.Adam([w], betas=(1.0, 0.9))


@pytest.mark.parametrize("make", [lambda p: optim.Adam(p, lr=0.1, amsgrad=True),
                                  lambda p: optim.SGD(p, lr=0.05, momentum=0.9),
                                  lambda p: optim.RMSprop(p, momentum=0.5, centered=True)])
def test_state_dict_resume_continues_identically(make):
    """Stopping after 5 steps and resuming from state_dict() equals 12 uninterrupted steps."""
    full = run_chainrule(make)
    w = cr.tensor(W0.copy(), requires_grad=True)
    opt = make([w])
    for _ in range(5):
        opt.zero_grad()
        w.grad = grad_fn(w.data)
        opt.step()
    saved_w, saved = w.data.copy(), opt.state_dict()
    opt.step()                                 # saved state must be a copy, not a view
    w2 = cr.tensor(saved_w, requires_grad=True)
    opt2 = make([w2])
    opt2.load_state_dict(saved)
    for _ in range(K - 5):
        w2.grad = grad_fn(w2.data)
        opt2.step()
    np.testing.assert_allclose(w2.data, full, rtol=1e-12)


def test_load_state_dict_mismatch():
    a, b = cr.tensor([1.0], requires_grad=True), cr.tensor([1.0, 2.0], requires_grad=True)
    opt = optim.Adam([a, b])
    with pytest.raises(ChainruleError, match="group sizes"):
        optim.Adam([a]).load_state_dict(opt.state_dict())


# ------------------------------------------------------------- schedulers
def lrs(sched, n):
    out = [sched.get_last_lr()[0]]
    for _ in range(n):
        sched.optimizer.step()
        sched.step()
        out.append(sched.get_last_lr()[0])
    return out


def make_opt(lr=1.0):
    return optim.SGD([cr.tensor([0.0], requires_grad=True)], lr=lr)


def test_schedulers_match_formulas():
    n = 25
    np.testing.assert_allclose(lrs(optim.StepLR(make_opt(0.5), 4, gamma=0.3), n),
                               [0.5 * 0.3 ** (t // 4) for t in range(n + 1)])
    np.testing.assert_allclose(lrs(optim.ExponentialLR(make_opt(0.5), 0.9), n),
                               [0.5 * 0.9 ** t for t in range(n + 1)])
    np.testing.assert_allclose(
        lrs(optim.CosineAnnealingLR(make_opt(0.5), T_max=10, eta_min=0.01), n),
        [0.01 + 0.49 * (1 + math.cos(math.pi * t / 10)) / 2 for t in range(n + 1)])
    np.testing.assert_allclose(
        lrs(optim.LinearWarmup(make_opt(0.5), 5, start_factor=0.1), n),
        [0.5 * (0.1 + 0.9 * min(t, 5) / 5) for t in range(n + 1)])
    np.testing.assert_allclose(lrs(optim.MultiStepLR(make_opt(1.0), [3, 7], 0.5), 8),
                               [1, 1, 1, .5, .5, .5, .5, .25, .25])


def test_warmup_then_cosine_and_optimizer_sees_lr():
    opt = make_opt(0.2)
    sched = optim.LinearWarmup(opt, 4, start_factor=0.25, after=optim.CosineAnnealingLR(opt, 8))
    got = lrs(sched, 14)
    want = [0.2 * (0.25 + 0.75 * t / 4) for t in range(4)] + \
           [0.1 * (1 + math.cos(math.pi * t / 8)) for t in range(11)]
    np.testing.assert_allclose(got, want)
    assert opt.param_groups[0]["lr"] == got[-1]
    assert sched.lr_at(6)[0] == pytest.approx(want[6]) and sched.lr_at(2)[0] == pytest.approx(want[2])


def test_scheduler_state_dict_round_trip():
    opt = make_opt(1.0)
    s = optim.StepLR(opt, 2, 0.5)
    lrs(s, 5)
    s2 = optim.StepLR(make_opt(1.0), 2, 0.5)
    s2.load_state_dict(s.state_dict())
    s.step()
    s2.step()
    assert s.get_last_lr() == s2.get_last_lr() == [0.125]


# ------------------------------------------------------------- clipping
def test_clip_grad_norm_global_norm_and_scale():
    a, b = cr.tensor(np.zeros(2), requires_grad=True), cr.tensor(np.zeros(1), requires_grad=True)
    c = cr.tensor(np.zeros(1), requires_grad=True)      # no grad: ignored
    a.grad, b.grad = np.array([3.0, 0.0]), np.array([4.0])
    total = optim.clip_grad_norm_([a, b, c], max_norm=1.0)
    assert total == pytest.approx(5.0)
    np.testing.assert_allclose(np.concatenate([a.grad, b.grad]), np.array([3, 0, 4]) / (5 + 1e-6))
    a.grad, b.grad = np.array([0.3, 0.0]), np.array([0.4])
    assert optim.clip_grad_norm_([a, b], max_norm=1.0) == pytest.approx(0.5)
    np.testing.assert_array_equal(b.grad, [0.4])          # under the limit: untouched
    a.grad = np.array([-7.0, 2.0])
    assert optim.clip_grad_norm_([a], 1.0, norm_type=float("inf")) == 7.0
    np.testing.assert_allclose(a.grad, np.array([-7.0, 2.0]) / (7 + 1e-6))
    a.grad = np.array([-7.0, 0.25])
    optim.clip_grad_value_([a], 0.5)
    np.testing.assert_array_equal(a.grad, [-0.5, 0.25])


# ------------------------------------------------------------- torch parity
def _torch_run(torch, make_t, steps=K):
    w = torch.tensor(W0.copy(), requires_grad=True)
    At, Bt = torch.tensor(A), torch.tensor(B)
    opt = make_t([w])
    for _ in range(steps):
        opt.zero_grad()
        (0.5 * ((At @ w - Bt) ** 2).sum()).backward()
        opt.step()
    return w.detach().numpy()


@pytest.mark.parametrize("name,kw", [("SGD", c) for c in SGD_CASES] +
                         [("Adam", c) for c in ADAM_CASES] + [("RMSprop", c) for c in RMS_CASES] +
                         [("AdamW", dict(lr=0.1)), ("AdamW", dict(lr=0.05, weight_decay=0.3,
                                                                  amsgrad=True))])
def test_optimizers_match_torch(name, kw):
    torch = pytest.importorskip("torch")
    ours = run_chainrule(lambda p: getattr(optim, name)(p, **kw))
    theirs = _torch_run(torch, lambda p: getattr(torch.optim, name)(p, **kw))
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)


def test_schedulers_and_clipping_match_torch():
    torch = pytest.importorskip("torch")
    ts = torch.optim.lr_scheduler

    def torch_lrs(make, n=30):
        opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.5)
        s = make(opt)
        out = [s.get_last_lr()[0]]
        for _ in range(n):
            opt.step()
            s.step()
            out.append(s.get_last_lr()[0])
        return out

    cases = [(lambda o: optim.StepLR(o, 7, 0.5), lambda o: ts.StepLR(o, 7, 0.5)),
             (lambda o: optim.ExponentialLR(o, 0.95), lambda o: ts.ExponentialLR(o, 0.95)),
             (lambda o: optim.CosineAnnealingLR(o, 12, 0.05),
              lambda o: ts.CosineAnnealingLR(o, 12, 0.05)),
             (lambda o: optim.LinearWarmup(o, 6, 0.2),
              lambda o: ts.LinearLR(o, start_factor=0.2, total_iters=6)),
             (lambda o: optim.LinearWarmup(o, 5, 0.1, after=optim.CosineAnnealingLR(o, 20)),
              lambda o: ts.SequentialLR(o, [ts.LinearLR(o, 0.1, total_iters=5),
                                            ts.CosineAnnealingLR(o, 20)], milestones=[5]))]
    for ours, theirs in cases:
        np.testing.assert_allclose(lrs(ours(make_opt(0.5)), 30), torch_lrs(theirs), rtol=1e-10)

    g = RNG.normal(size=(3, 5)) * 4
    ws = [cr.tensor(np.zeros(5), requires_grad=True) for _ in range(3)]
    ts_ = [torch.zeros(5, dtype=torch.float64, requires_grad=True) for _ in range(3)]
    for w, t, gi in zip(ws, ts_, g):
        w.grad, t.grad = gi.copy(), torch.tensor(gi)
    n1 = optim.clip_grad_norm_(ws, 2.0)
    n2 = torch.nn.utils.clip_grad_norm_(ts_, 2.0)
    assert n1 == pytest.approx(float(n2))
    for w, t in zip(ws, ts_):
        np.testing.assert_allclose(w.grad, t.grad.numpy(), rtol=1e-12)


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, 0.5, math.inf, -math.inf, 0.0])
@pytest.mark.parametrize("seed", range(4))
def test_clip_grad_norm_matches_torch_for_every_norm_type(norm_type, seed):
    """torch's definition: the norm of the per-gradient norms (max for inf, min for −inf, a
    count of nonzero entries for 0), then a scale of at most 1; a NaN norm spreads NaN."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    grads = [rng.normal(size=3) * 3, rng.normal(size=(2, 2)) * 0.1, np.zeros(2)]
    grads[0][seed % 3] = 0.0
    mine = [cr.tensor(np.zeros_like(g), requires_grad=True) for g in grads]
    theirs = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for p, t, g in zip(mine, theirs, grads):
        p.grad, t.grad = g.copy(), torch.tensor(g)
    got = optim.clip_grad_norm_(mine, 1.0, norm_type=norm_type)
    want = float(torch.nn.utils.clip_grad_norm_(theirs, 1.0, norm_type=norm_type))
    assert got == pytest.approx(want, rel=1e-12)
    for p, t in zip(mine, theirs):
        np.testing.assert_allclose(p.grad, t.grad.numpy(), rtol=1e-12)


def test_clip_grad_norm_of_a_nan_gradient_makes_every_gradient_nan_as_torch():
    p = cr.tensor([0.0, 0.0], requires_grad=True)
    p.grad = np.array([np.nan, 1.0])
    assert math.isnan(optim.clip_grad_norm_([p], 1.0))
    assert np.isnan(p.grad).all()
