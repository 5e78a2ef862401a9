"""The Tensor surface (PyTorch habits) and NumPy interoperability (__array_ufunc__/__array_function__)."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
import chainrule.numpy as cnp
from chainrule import ChainruleError


def test_attributes():
    t = cr.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], requires_grad=True)
    assert t.shape == (2, 3) and t.ndim == 2 and t.size == 6 and t.dtype == np.float64
    assert t.T.shape == (3, 2) and len(t) == 2
    assert isinstance(t.detach().numpy(), np.ndarray) and t.is_leaf and t.grad is None
    with pytest.raises(TypeError, match="detach"):       # PyTorch's rule: it would lose the grad
        t.numpy()
    assert cr.tensor(2.5).item() == 2.5 and float(cr.tensor(2.5)) == 2.5
    d = t.detach()
    assert not d.requires_grad and d.is_leaf
    assert (t * 2).grad_fn == "multiply" and t.grad_fn is None
    assert "grad_fn=multiply" in repr(t * 2) and "requires_grad=True" in repr(t)
    assert "float32" in repr(cr.tensor([1.0], dtype="float32"))


def test_tensor_copies_its_input_like_torch():
    a = np.array([1.0, 2.0])
    t = cr.tensor(a)
    a[0] = 99.0
    assert t.data[0] == 1.0


def test_tensor_of_tensors_points_to_stack():
    with pytest.raises(ChainruleError, match="stack"):
        cr.tensor([cr.tensor(1.0), cr.tensor(2.0)])


@pytest.mark.parametrize("op, expected", [
    (lambda a, b: a + b, lambda a, b: (np.ones(2), np.ones(2))),
    (lambda a, b: a - b, lambda a, b: (np.ones(2), -np.ones(2))),
    (lambda a, b: a * b, lambda a, b: (b, a)),
    (lambda a, b: a / b, lambda a, b: (1 / b, -a / b ** 2)),
    (lambda a, b: a ** b, lambda a, b: (b * a ** (b - 1), a ** b * np.log(a))),
    (lambda a, b: a @ b, lambda a, b: (b, a)),
    (lambda a, b: a % b, lambda a, b: (np.ones(2), -np.floor(a / b))),
])
def test_operators(op, expected):
    a0, b0 = np.array([1.5, 2.0]), np.array([0.7, 3.0])
    a = cr.tensor(a0, requires_grad=True)
    b = cr.tensor(b0, requires_grad=True)
    cnp.sum(op(a, b)).backward()
    ea, eb = expected(a0, b0)
    np.testing.assert_allclose(a.grad, ea)
    np.testing.assert_allclose(b.grad, eb)


def test_reflected_operators_with_scalars_and_arrays():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = 2.0 - x + 3.0 * x - 1.0 / x + 2.0 ** x + np.array([1.0, 1.0]) * x
    assert isinstance(y, cr.Tensor)
    cnp.sum(y).backward()
    np.testing.assert_allclose(x.grad, -1 + 3 + 1 / x.data ** 2 + np.log(2) * 2 ** x.data + 1)


def test_unary_operators():
    x = cr.tensor([-1.0, 2.0], requires_grad=True)
    cnp.sum(-x + abs(x) + (+x)).backward()
    np.testing.assert_allclose(x.grad, [-1 - 1 + 1, -1 + 1 + 1])


def test_ndarray_on_the_left_dispatches_to_chainrule():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    y = np.array([3.0, 4.0]) * x
    assert isinstance(y, cr.Tensor) and y.requires_grad
    z = np.array([[1.0, 0.0], [0.0, 2.0]]) @ x
    assert isinstance(z, cr.Tensor)
    cnp.sum(y + z).backward()
    np.testing.assert_allclose(x.grad, [3.0 + 1.0, 4.0 + 2.0])


def test_numpy_functions_dispatch_on_tensors():
    x = cr.tensor([0.5, 1.0], requires_grad=True)
    y = np.sum(np.exp(x) * np.sin(x))
    assert isinstance(y, cr.Tensor)
    y.backward()
    e, s, c = np.exp(x.data), np.sin(x.data), np.cos(x.data)
    np.testing.assert_allclose(x.grad, e * s + e * c)
    assert np.shape(x) == (2,) and np.ndim(x) == 1


def test_plain_numpy_code_runs_unchanged_on_tensors():
    def numpy_model(w, X):
        return np.mean(np.tanh(X @ w) ** 2)
    X = np.random.default_rng(0).standard_normal((5, 3))
    w = np.array([0.1, -0.2, 0.3])
    expected = numpy_model(w, X)
    wt = cr.tensor(w, requires_grad=True)
    out = numpy_model(wt, X)
    assert np.isclose(out.item(), expected)
    out.backward()
    t = np.tanh(X @ w)
    np.testing.assert_allclose(wt.grad, X.T @ (2 * t * (1 - t ** 2)) / 5)


def test_undifferentiable_numpy_function_gives_clear_error():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError) as e:
        np.fill_diagonal(x[None] * x[:, None], 0.0)      # writes in place: never recorded
    assert "np.fill_diagonal" in str(e.value) and "t.data" in str(e.value)
    with pytest.raises(TypeError, match="out="):
        np.exp(x, out=np.empty(2))


def test_comparisons_return_bool_tensors_usable_as_masks():
    x = cr.tensor([-1.0, 2.0, 3.0], requires_grad=True)
    m = x > 0
    assert m.dtype == bool
    y = cnp.sum(x[m] * 2.0)
    y.backward()
    np.testing.assert_allclose(x.grad, [0.0, 2.0, 2.0])


def test_indexing_accumulates_repeats():
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    cnp.sum(x[[0, 0, 2]] * np.array([1.0, 10.0, 100.0])).backward()
    np.testing.assert_allclose(x.grad, [11.0, 0.0, 100.0])


def test_methods_exist():
    x = cr.tensor(np.arange(6.0).reshape(2, 3) + 1, requires_grad=True)
    y = x.reshape(3, 2).T.sum() + x.exp().mean() + x.sum(axis=0).sum()
    y.backward()
    np.testing.assert_allclose(x.grad, 1 + np.exp(x.data) / 6 + 1)
    assert x.reshape((6,)).shape == (6,) and x.transpose().shape == (3, 2)
    assert x.flatten().shape == (6,) and x.astype("float32").dtype == np.float32


@settings(max_examples=25, deadline=None)
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3), data=st.data())
def test_pytorch_names_are_the_numpy_operations(shape, data):
    """pow, clamp, unsqueeze, dim and numel: PyTorch's names for exactly NumPy's operation,
    values and gradients alike."""
    x = np.random.default_rng(len(shape)).normal(size=shape)
    lo = data.draw(st.none() | st.floats(-1, 0))
    hi = data.draw(st.none() | st.floats(0.1, 1)) if lo is not None else data.draw(st.floats(0.1, 1))
    axis = data.draw(st.integers(-len(shape) - 1, len(shape)))
    pairs = [(lambda t: t.pow(3), lambda t: t ** 3),
             (lambda t: t.clamp(min=lo, max=hi), lambda t: cnp.clip(t, lo, hi)),
             (lambda t: t.unsqueeze(axis), lambda t: cnp.expand_dims(t, axis))]
    for torch_style, numpy_style in pairs:
        grads = []
        for f in (torch_style, numpy_style):
            t = cr.tensor(x, requires_grad=True)
            y = f(t)
            w = np.random.default_rng(1).normal(size=y.shape)     # the same for both forms
            cnp.sum(y * w).backward()
            grads.append((y.data, t.grad))
        np.testing.assert_array_equal(grads[0][0], grads[1][0])
        np.testing.assert_array_equal(grads[0][1], grads[1][1])
    t = cr.tensor(x)
    assert t.dim() == x.ndim and t.numel() == x.size


@pytest.mark.parametrize("method", ["sum", "mean", "std", "var", "max", "min", "prod"])
def test_pytorch_dim_argument_is_refused_with_numpys_name(method):
    t = cr.tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(cr.ChainruleError, match="axis= and keepdims="):
        getattr(t, method)(dim=1)


_IN_PLACE = {"+=": ("__iadd__", np.add), "-=": ("__isub__", np.subtract),
             "*=": ("__imul__", np.multiply), "/=": ("__itruediv__", np.divide),
             "**=": ("__ipow__", np.power)}


@settings(max_examples=40, deadline=None)
@given(op=st.sampled_from(sorted(_IN_PLACE)), shape=st.sampled_from([(), (3,), (2, 3)]),
       other_kind=st.sampled_from(["scalar", "array", "tensor"]),
       dtype=st.sampled_from([np.float64, np.float32]))
def test_in_place_operators_follow_pytorch(op, shape, other_kind, dtype):
    """``t op= v``: outside the graph (no_grad, or a Tensor needing no gradient) it writes into
    the same Tensor, as NumPy and PyTorch do; a leaf that requires grad is refused while
    recording; inside the graph it makes a new Tensor with the right gradient."""
    dunder, ufunc = _IN_PLACE[op]
    rng = np.random.default_rng(len(shape))
    base = rng.uniform(0.5, 2.0, shape).astype(dtype)
    other = {"scalar": 1.5, "array": rng.uniform(0.5, 2.0, shape),
             "tensor": cr.tensor(rng.uniform(0.5, 2.0, shape))}[other_kind]
    plain_other = other.data if isinstance(other, cr.Tensor) else other
    expected = base.copy()
    ufunc(expected, plain_other, out=expected, casting="same_kind")

    # a parameter update under no_grad: the same leaf, updated in place
    w = cr.tensor(base, requires_grad=True)
    same = w
    with cr.no_grad():
        w = getattr(w, dunder)(other)
    assert w is same and w.requires_grad and w.grad is None and w.data.dtype == dtype
    np.testing.assert_array_equal(w.data, expected)

    # a Tensor that needs no gradient: in place too
    t = cr.tensor(base)
    same = t
    t = getattr(t, dunder)(other)
    assert t is same
    np.testing.assert_array_equal(t.data, expected)

    # a leaf that requires grad, while recording: refused, unchanged
    w = cr.tensor(base, requires_grad=True)
    with pytest.raises(cr.ChainruleError, match="no_grad"):
        getattr(w, dunder)(other)
    np.testing.assert_array_equal(w.data, base)

    # an intermediate: a new Tensor, and the gradient of the out-of-place formula
    grads = []
    for in_place in (True, False):
        x = cr.tensor(base, requires_grad=True)
        h = x * 1.0
        before = h
        h = getattr(h, dunder)(other) if in_place else _OUT_OF_PLACE[op](h, other)
        if in_place:
            assert h is not before
        cnp.sum(h).backward()
        grads.append(x.grad)
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-12)


_OUT_OF_PLACE = {"+=": lambda a, b: a + b, "-=": lambda a, b: a - b, "*=": lambda a, b: a * b,
                 "/=": lambda a, b: a / b, "**=": lambda a, b: a ** b}


def test_in_place_into_values_a_graph_saved_is_a_clear_error():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    c = cr.tensor(np.ones(2))
    y = cnp.sum(x * c)                 # c's data is saved for the backward pass
    with pytest.raises(cr.ChainruleError, match="held read-only"):
        c += 1
    y.backward()
    c += 1                             # the graph is gone: c is free again
    np.testing.assert_array_equal(c.data, [2.0, 2.0])


def test_in_place_inside_the_graph_keeps_retain_grad_shape_and_dtype():
    x = cr.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    h.retain_grad()
    h += 1
    cnp.sum(h ** 2).backward()
    np.testing.assert_allclose(h.grad, [6.0, 10.0])          # as torch: d/dh of the new h
    np.testing.assert_allclose(x.grad, [12.0, 20.0])
    c = cr.tensor(np.zeros(2))
    with pytest.raises(ValueError, match="non-broadcastable output"):
        c += cr.tensor(np.ones((2, 2)), requires_grad=True)    # NumPy: the shape cannot change
    c32 = cr.tensor(np.ones(2, np.float32))
    c32 *= cr.tensor(np.ones(2), requires_grad=True)
    assert c32.dtype == np.float32 and c32.requires_grad       # the dtype neither
    i = cr.tensor(np.arange(2))
    with pytest.raises(TypeError, match="same_kind"):
        i += cr.tensor(np.ones(2), requires_grad=True)


@pytest.mark.parametrize("loss", ["CrossEntropyLoss", "NLLLoss"])
def test_pytorch_named_class_losses_refuse_ambiguous_class_axes(loss):
    from chainrule import losses
    z = cr.tensor(np.random.default_rng(0).normal(size=(2, 3, 3)))
    y = np.random.default_rng(1).integers(0, 3, (2, 3))
    with pytest.raises(cr.ChainruleError, match="axis 1"):
        getattr(losses, loss)()(z, y)
    f = getattr(cr.functional, "cross_entropy" if loss == "CrossEntropyLoss" else "nll_loss")
    f(z, y)                                                    # the functional form: last axis


def test_setitem_on_a_leaf_under_no_grad_writes_as_pytorch():
    x = cr.tensor([1.0, 2.0, 3.0], requires_grad=True)
    with pytest.raises(TypeError, match="in-place"):
        x[0] = 5.0                                      # recording: refused
    with cr.no_grad():
        x[0] = 7.0
        x[1:] += 5.0
    assert x.requires_grad and x._op is None
    np.testing.assert_array_equal(x.data, [7.0, 7.0, 8.0])
    big = cr.tensor(np.ones(3000), requires_grad=True)
    y = cnp.sum(big * big)                              # saves big for its backward pass
    with cr.no_grad():
        big[0] = 2.0
    with pytest.raises(cr.ChainruleError, match="modified in place"):
        y.backward()                                    # it would use the new value
    cnp.sum(big * big).backward()
    assert big.grad[0] == 4.0


@settings(max_examples=20, deadline=None)
@given(op=st.sampled_from(["-=", "+=", "*=", "/=", "setitem"]), retain=st.booleans())
def test_a_leaf_written_in_place_after_its_graph_was_recorded_is_caught(op, retain):
    """As PyTorch's version counters: an in-place write (under no_grad) into a leaf that a
    live graph saved makes that graph's backward() raise instead of using the new values;
    the usual order (forward, backward, update) is untouched."""
    def write(w):
        with cr.no_grad():
            if op == "setitem":
                w[0] = 3.0
            else:
                getattr(w, _IN_PLACE[op][0])(0.5)
    w = cr.tensor([1.0, 2.0], requires_grad=True)
    loss = cnp.sum(w * w)
    if retain:
        loss.backward(retain_graph=True)
    write(w)
    with pytest.raises(cr.ChainruleError, match="modified in place"):
        loss.backward()
    with pytest.raises(cr.ChainruleError, match="modified in place"):
        cr.autograd.grad(cnp.sum(w * w) * 0 + loss, [w])
    before = np.array([2.0, 4.0]) if retain else 0.0     # the first backward's, accumulated
    again = cnp.sum(w * w)                          # a graph recorded after the write: fine
    again.backward()
    np.testing.assert_allclose(w.grad, before + 2 * w.data)
