"""Tensor.backward(): seeding, accumulation, retain_grad, freeing, create_graph, no_grad, memory."""
import gc
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
import chainrule.numpy as cnp
from chainrule import ChainruleError


def test_scalar_output_is_seeded_with_one():
    # seed 000: "a gradient of 1 on ŷ" — d ŷ / d ŷ = 1, so the leaf gradient of ŷ = w is 1
    w = cr.tensor(3.0, requires_grad=True)
    w.backward()
    assert w.grad == 1.0
    y = w * 1.0
    y.retain_grad()
    y.backward()
    assert y.grad == 1.0


def test_non_scalar_output_needs_a_gradient():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    with pytest.raises(ChainruleError) as e:
        y.backward()
    msg = str(e.value)
    assert "backward" in msg and "(2,)" in msg and ".sum()" in msg
    y.backward(gradient=np.array([1.0, 10.0]))
    np.testing.assert_allclose(x.grad, [2.0, 20.0])


def test_gradient_of_wrong_shape_is_rejected():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ChainruleError, match=r"\(2,\)"):
        (x * 2).backward(gradient=np.ones(3))


def test_leaf_gradients_accumulate_like_pytorch():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    cnp.sum(x * x).backward()
    cnp.sum(x * x).backward()
    np.testing.assert_allclose(x.grad, 2 * 2 * x.data)
    x.zero_grad()
    assert x.grad is None
    cnp.sum(3 * x).backward()
    np.testing.assert_allclose(x.grad, [3.0, 3.0])
    x.grad = None
    cnp.sum(x).backward()
    np.testing.assert_allclose(x.grad, [1.0, 1.0])


def test_gradients_of_different_leaves_never_share_memory():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = cr.tensor([3.0, 4.0], requires_grad=True)
    cnp.sum(x + y).backward()
    x.grad += 100.0
    np.testing.assert_allclose(y.grad, [1.0, 1.0])


def test_retain_grad_gives_intermediate_gradients():
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    h = x * 2.0
    h.retain_grad()
    loss = cnp.sum(h ** 2)
    loss.backward()
    np.testing.assert_allclose(h.grad, 2 * h.data)
    np.testing.assert_allclose(x.grad, 2 * 2 * h.data)
    m = x * 1.0
    assert m.grad is None  # not retained


def test_second_backward_through_freed_graph_is_a_clear_error():
    x = cr.tensor(2.0, requires_grad=True)
    y = cnp.exp(x) * x
    y.backward()
    with pytest.raises(ChainruleError) as e:
        y.backward()
    assert "second time" in str(e.value) and "retain_graph=True" in str(e.value)


def test_retain_graph_allows_a_second_backward():
    x = cr.tensor(2.0, requires_grad=True)
    y = cnp.exp(x) * x
    y.backward(retain_graph=True)
    y.backward()
    assert np.isclose(x.grad, 2 * (np.exp(2.0) * 3.0))


def test_create_graph_builds_a_differentiable_backward():
    x = cr.tensor(1.5, requires_grad=True)
    y = x ** 3
    y.backward(create_graph=True)
    g = x.grad
    assert isinstance(g, cr.Tensor) and np.isclose(g.data, 3 * 1.5 ** 2)
    x.grad = None
    g.backward()
    assert np.isclose(x.grad, 6 * 1.5)


def test_backward_on_a_tensor_without_graph_explains():
    with pytest.raises(ChainruleError, match="requires_grad=True"):
        cr.tensor(1.0).backward()


def test_no_grad_stops_recording():
    x = cr.tensor(1.0, requires_grad=True)
    with cr.no_grad():
        y = x * 2
    assert not y.requires_grad
    assert cr.is_grad_enabled()

    @cr.no_grad()
    def f(a):
        return a * 3
    assert not f(x).requires_grad
    with cr.no_grad():
        with cr.enable_grad():
            assert (x * 2).requires_grad


def test_integer_and_bool_tensors_cannot_require_grad():
    with pytest.raises(ChainruleError, match="float"):
        cr.tensor([1, 2, 3], requires_grad=True)
    with pytest.raises(ChainruleError, match="float"):
        cr.tensor([True], requires_grad=True)
    t = cr.tensor([1, 2])
    assert t.dtype.kind == "i" and not t.requires_grad


def test_integer_results_do_not_require_grad():
    x = cr.tensor([1.5, 2.5], requires_grad=True)
    assert not getattr(cnp.argmax(x), "requires_grad", False)
    assert not cnp.floor_divide(x, 1.0).requires_grad
    assert not (x > 2).requires_grad


def test_million_op_chain_backprops_without_recursion():
    x = cr.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(1_000_000):
        y = y + 1e-7
    y.backward()
    assert x.grad == 1.0


def test_dropping_a_long_graph_without_backward_is_fine():
    x = cr.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(200_000):
        y = y * 1.0
    del y
    gc.collect()


def test_graph_is_released_after_backward():
    x = cr.tensor(np.ones(1000), requires_grad=True)
    y = cnp.exp(x) * 2.0
    loss = cnp.sum(y)
    loss.backward()
    assert y._args is None and loss._args is None  # saved inputs let go
    loss2 = cnp.sum(cnp.exp(x) * 2.0)
    loss2.backward(retain_graph=True)
    assert loss2._args is not None


def test_memory_stays_flat_over_ten_thousand_steps():
    rng = np.random.default_rng(0)
    w = cr.tensor(rng.standard_normal((8, 4)), requires_grad=True)
    b = cr.tensor(np.zeros(4), requires_grad=True)
    X = rng.standard_normal((16, 8))
    Y = rng.standard_normal((16, 4))

    def step():
        pred = cnp.tanh(X @ w + b)
        loss = cnp.mean((pred - Y) ** 2)
        loss.backward()
        w.data -= 0.01 * w.grad
        b.data -= 0.01 * b.grad
        w.grad = b.grad = None

    for _ in range(1000):
        step()
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    for _ in range(9000):
        step()
    gc.collect()
    grown = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    assert grown < 200_000, f"memory grew by {grown} bytes over 9000 steps"


def test_in_place_assignment_into_a_graph_tensor_is_refused():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match="in-place"):
        x[0] = 5.0
    c = cr.tensor([1.0, 2.0])
    c[0] = 5.0
    assert c.data[0] == 5.0


@pytest.mark.parametrize("observed", [False, True], ids=["tight loop", "with a tensor hook"])
@pytest.mark.parametrize("n", [5, 10_000], ids=["small", "large"])
@given(depth=st.integers(3, 12))
@settings(max_examples=10, deadline=None)
def test_visited_nodes_are_released_during_the_backward_pass(observed, n, depth):
    """Once the backward pass has used a node whose value is large, nothing of chainrule's
    keeps it alive: the activations of the layers already visited go while the lower layers
    are processed (the peak is then activations + gradients, not both in full).  Small values
    all go when the pass ends (reading the node list in place is quicker), and in both cases
    nothing of the graph is left afterwards."""
    import weakref
    alive_at_bottom = []
    refs = []

    @cr.custom_vjp
    def bottom(x):
        return x
    bottom.defvjp(lambda x: (x, None),
                  lambda res, g: (alive_at_bottom.append(sum(r() is not None for r in refs))
                                  or g,))
    x = cr.tensor(np.linspace(0.1, 1.0, n), requires_grad=True)
    if observed:
        x.register_hook(lambda g: g)

    def forward():
        h = bottom(x) * 1.0
        for _ in range(depth):
            h = cnp.tanh(h) * 1.1
            refs.append(weakref.ref(h))
        return cnp.sum(h)
    loss = forward()
    assert all(r() is not None for r in refs)       # alive: the graph holds them
    loss.backward()
    # when the gradient reached the bottom, every large intermediate above had been freed
    assert alive_at_bottom == ([0] if n > 5 else [depth])
    del loss
    assert all(r() is None for r in refs)           # and afterwards, every one
    expected = np.ones(n)
    h = np.linspace(0.1, 1.0, n)
    for _ in range(depth):                           # the chain rule by hand, for the value
        expected = expected * (1 - np.tanh(h) ** 2) * 1.1
        h = np.tanh(h) * 1.1
    np.testing.assert_allclose(x.grad, expected, rtol=1e-12)
