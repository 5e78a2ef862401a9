"""The PyTorch side: Tensor.register_hook, chainrule.autograd.grad/backward with PyTorch's
semantics and errors (checked against torch itself when it is installed), backward(inputs=),
set_grad_enabled and inference_mode, per thread."""
import threading

import numpy as np
import pytest

import chainrule as cr
import chainrule.numpy as cnp
from chainrule import ChainruleRuntimeError

try:
    import torch
except ImportError:        # the oracle is optional
    torch = None


def leaf(values):
    return cr.tensor(values, requires_grad=True)


# --------------------------------------------------------------------- hooks
def test_hook_on_a_leaf_sees_and_replaces_the_gradient():
    x = leaf([1.0, 2.0])
    seen = []
    h = x.register_hook(lambda g: seen.append(g.copy()) or g * 10)
    cnp.sum(x * x).backward()
    np.testing.assert_allclose(seen[0], [2.0, 4.0])
    np.testing.assert_allclose(x.grad, [20.0, 40.0])
    h.remove()
    h.remove()                                   # twice is harmless
    x.grad = None
    cnp.sum(x * x).backward()
    np.testing.assert_allclose(x.grad, [2.0, 4.0])


def test_hook_on_an_intermediate_changes_what_flows_on_and_what_retain_grad_keeps():
    x = leaf([1.0, 2.0, 3.0])
    m = x * 2.0
    m.register_hook(lambda g: g + 1.0)
    m.retain_grad()
    cnp.sum(m * m).backward()
    np.testing.assert_allclose(m.grad, 2 * m.data + 1.0)      # hooks run before retain_grad
    np.testing.assert_allclose(x.grad, 2.0 * (2 * m.data + 1.0))


def test_hooks_run_in_order_and_under_create_graph():
    x = leaf([1.0, 2.0])
    order = []
    x.register_hook(lambda g: order.append(1) or g * 2)
    x.register_hook(lambda g: order.append(2) or g + 1)
    y = cnp.sum(x ** 3)
    y.backward(create_graph=True)
    assert order == [1, 2]
    assert isinstance(x.grad, cr.Tensor) and x.grad.requires_grad
    np.testing.assert_allclose(x.grad.data, 2 * 3 * x.data ** 2 + 1)
    x.grad = None                       # (a graph-holding .grad points back at x: a cycle)


def test_hooks_fire_in_transforms_and_functional_grad():
    seen = []

    def f(w):
        h = w * 3.0
        h.register_hook(lambda g: seen.append(1) or g * 0.5)
        return cnp.sum(h ** 2)
    g = cr.grad(f)(np.array([1.0, 2.0]))
    np.testing.assert_allclose(g, 0.5 * 3 * 2 * 3 * np.array([1.0, 2.0]))
    assert seen == [1]


def test_hook_errors():
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        cr.tensor([1.0]).register_hook(lambda g: g)
    x = leaf([1.0, 2.0])
    x.register_hook(lambda g: np.ones(3))
    with pytest.raises(RuntimeError, match="changed the size"):
        cnp.sum(x * 1.0).backward()
    y = leaf([1.0, 2.0])
    y.register_hook(lambda g: g.__iadd__(1))             # the gradient may be shared: read-only
    with pytest.raises(ValueError, match="read-only"):
        cnp.sum(y + y).backward()


@pytest.mark.skipif(torch is None, reason="torch not installed")
def test_hooks_match_torch():
    v = np.array([0.5, -1.0, 2.0])
    x = leaf(v)
    m = cnp.sin(x) * x
    m.register_hook(lambda g: g * np.arange(3.0))
    x.register_hook(lambda g: g - 1.0)
    cnp.sum(m ** 2).backward()
    tx = torch.tensor(v, requires_grad=True)
    tm = torch.sin(tx) * tx
    tm.register_hook(lambda g: g * torch.arange(3.0, dtype=torch.float64))
    tx.register_hook(lambda g: g - 1.0)
    (tm ** 2).sum().backward()
    np.testing.assert_allclose(x.grad, tx.grad.numpy())


# ------------------------------------------------------------ autograd.grad
def test_functional_grad_semantics():
    x = leaf([1.0, 2.0])
    y = cnp.sum(x ** 3)
    (gx,) = cr.autograd.grad(y, x, create_graph=True)
    assert isinstance(gx, cr.Tensor) and gx.requires_grad and x.grad is None
    np.testing.assert_allclose(gx.data, 3 * x.data ** 2)
    (gxx,) = cr.autograd.grad(cnp.sum(gx), x)
    np.testing.assert_allclose(gxx.data, 6 * x.data)
    with pytest.raises(RuntimeError, match="second time"):       # freed by default
        cr.autograd.grad(cnp.sum(gx), x)
    z = cnp.sum(x * x)
    a = cr.autograd.grad(z, [x], retain_graph=True)
    b = cr.autograd.grad(z, (x,))
    np.testing.assert_allclose(a[0].data, b[0].data)
    assert not np.shares_memory(a[0].data, b[0].data)


def test_functional_grad_outputs_inputs_and_unused():
    x, u = leaf([1.0, 2.0]), leaf([5.0])
    m = x * 2.0
    y = m * m
    g_m, g_x = cr.autograd.grad(y, [m, x], grad_outputs=np.array([1.0, -1.0]), retain_graph=True)
    np.testing.assert_allclose(g_m.data, [4.0, -8.0])            # an intermediate as input
    np.testing.assert_allclose(g_x.data, [8.0, -16.0])
    gs = cr.autograd.grad([cnp.sum(x), cnp.sum(x * x)], x, retain_graph=True)
    np.testing.assert_allclose(gs[0].data, 1 + 2 * x.data)        # outputs summed
    with pytest.raises(RuntimeError, match="allow_unused=True"):
        cr.autograd.grad(cnp.sum(x), [x, u])
    gx, gu = cr.autograd.grad(cnp.sum(x), [x, u], allow_unused=True)
    assert gu is None
    gx, gu = cr.autograd.grad(cnp.sum(x), [x, u], materialize_grads=True)
    np.testing.assert_array_equal(gu.data, [0.0])
    with pytest.raises(RuntimeError, match="does not require grad"):
        cr.autograd.grad(cnp.sum(x), cr.tensor([1.0]))
    with pytest.raises(RuntimeError, match="element 0 of tensors does not require grad"):
        cr.autograd.grad(cr.tensor(1.0), x)
    with pytest.raises(RuntimeError, match="only for scalar outputs"):
        cr.autograd.grad(x * 2, x)
    with pytest.raises(RuntimeError, match="Mismatch in shape"):
        cr.autograd.grad(x * 2, x, grad_outputs=np.ones(3))
    assert x.grad is None and u.grad is None


def test_batched_grad_outputs_equal_a_loop():
    x = leaf([0.3, -1.2, 2.0])
    y = cnp.sin(x) * cnp.sum(x)
    V = np.random.default_rng(0).standard_normal((5, 3))
    (J,) = cr.autograd.grad(y, x, grad_outputs=V, is_grads_batched=True, retain_graph=True)
    want = np.stack([cr.autograd.grad(y, x, grad_outputs=v, retain_graph=True)[0].data for v in V])
    np.testing.assert_allclose(J.data, want)


@pytest.mark.skipif(torch is None, reason="torch not installed")
def test_functional_grad_matches_torch():
    v = np.array([0.5, -1.0, 2.0])
    x = leaf(v)
    y = cnp.sum(cnp.exp(x) * x ** 2)
    (g,) = cr.autograd.grad(y, x, create_graph=True)
    (h,) = cr.autograd.grad(cnp.sum(g * np.array([1.0, 2.0, 3.0])), x)
    tx = torch.tensor(v, requires_grad=True)
    ty = (torch.exp(tx) * tx ** 2).sum()
    (tg,) = torch.autograd.grad(ty, tx, create_graph=True)
    (th,) = torch.autograd.grad((tg * torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)).sum(), tx)
    np.testing.assert_allclose(g.data, tg.detach().numpy())
    np.testing.assert_allclose(h.data, th.numpy())


def test_autograd_backward_and_backward_inputs():
    x, w = leaf([1.0, 2.0]), leaf([3.0])
    cr.autograd.backward([cnp.sum(x * w), cnp.sum(x)], [None, np.array(2.0)])
    np.testing.assert_allclose(x.grad, [5.0, 5.0])
    np.testing.assert_allclose(w.grad, [3.0])
    x.grad = w.grad = None
    cnp.sum(x * w).backward(inputs=[w])                  # only w accumulates, as in PyTorch
    assert x.grad is None
    np.testing.assert_allclose(w.grad, [3.0])
    with pytest.raises(ChainruleRuntimeError):
        cr.autograd.backward(cr.tensor([1.0]))


# -------------------------------------------------------------- grad modes
def test_set_grad_enabled_as_function_block_and_decorator():
    x = leaf([1.0])
    cr.set_grad_enabled(False)
    try:
        assert not cr.is_grad_enabled() and not (x * 2).requires_grad
    finally:
        cr.set_grad_enabled(True)
    with cr.set_grad_enabled(False):
        assert not (x * 2).requires_grad
        with cr.set_grad_enabled(True):
            assert (x * 2).requires_grad
        assert not cr.is_grad_enabled()
    assert cr.is_grad_enabled()

    @cr.set_grad_enabled(False)
    def f():
        return (x * 2).requires_grad
    assert cr.is_grad_enabled()                          # decorating does not switch it
    assert f() is False and cr.is_grad_enabled()


def test_inference_mode():
    x = leaf([1.0])
    with cr.inference_mode():
        assert cr.is_inference_mode_enabled() and not (x * 2).requires_grad
        with cr.inference_mode(False):
            assert not cr.is_inference_mode_enabled()
    assert cr.is_grad_enabled() and not cr.is_inference_mode_enabled()

    @cr.inference_mode
    def g():
        return (x * 2).requires_grad

    @cr.inference_mode()
    def h():
        return (x * 2).requires_grad
    assert g() is False and h() is False and (x * 2).requires_grad


def test_grad_modes_are_per_thread():
    results = {}
    ready, done = threading.Event(), threading.Event()

    def other():
        ready.wait()
        results["other"] = cr.is_grad_enabled() and (leaf([1.0]) * 2).requires_grad
        with cr.inference_mode():
            results["inside"] = cr.is_grad_enabled()
        done.set()
    t = threading.Thread(target=other)
    t.start()
    cr.set_grad_enabled(False)
    try:
        ready.set()
        done.wait(10)
    finally:
        cr.set_grad_enabled(True)
    t.join()
    assert results == {"other": True, "inside": False}
