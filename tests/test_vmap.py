"""vmap: every op family batched by its rule equals a loop over the examples (Hypothesis draws
shapes, axes, which arguments are batched and where their batch axis is), the fallback loop,
JAX's in_axes/out_axes semantics, pytrees, nesting, and the errors."""
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
import chainrule.numpy as cnp
from chainrule import ChainruleError, ChainruleWarning

F = cr.functional
SETTINGS = settings(max_examples=25, deadline=None)


def loop(f, args, in_axes):
    """The reference: f once per example, stacked."""
    n = next(np.shape(a)[ax] for a, ax in zip(args, in_axes) if ax is not None)
    outs = [f(*[a if ax is None else np.take(a, i, axis=ax) for a, ax in zip(args, in_axes)])
            for i in range(n)]
    return np.stack([np.asarray(o) for o in outs])


def same(f, *args, in_axes=None, atol=1e-10):
    in_axes = (0,) * len(args) if in_axes is None else in_axes
    with warnings.catch_warnings():
        warnings.simplefilter("error", ChainruleWarning)       # no silent loop fallback
        got = cr.vmap(f, in_axes=in_axes)(*args)
    want = loop(f, args, in_axes)
    assert np.shape(got) == want.shape
    np.testing.assert_allclose(got, want, atol=atol, rtol=1e-10)
    return got


def batch_of(rng, shape, n=3, axis=0):
    """``n`` examples of ``shape``, stacked along ``axis``."""
    return np.moveaxis(rng.standard_normal((n,) + tuple(shape)), 0, axis)


shapes = st.lists(st.integers(1, 3), min_size=0, max_size=3).map(tuple)
seeds = st.integers(0, 2 ** 16)


# ----------------------------------------------------------------- elementwise
@SETTINGS
@given(sa=shapes, drop=st.integers(0, 3), seed=seeds, which=st.sampled_from(["both", "a", "b"]),
       ax=st.integers(-1, 0), op=st.sampled_from(["add", "multiply", "maximum", "arctan2",
                                                    "where", "power"]))
def test_elementwise_broadcasting(sa, drop, seed, which, ax, op):
    rng = np.random.default_rng(seed)
    sb = sa[min(drop, len(sa)):]                          # a trailing part: broadcasts
    a = batch_of(rng, sa, axis=ax if sa or ax == 0 else 0)
    b = np.abs(batch_of(rng, sb)) + 0.5
    axes = (ax if sa else 0, 0)
    if which == "a":
        b, axes = b[0], (axes[0], None)
    elif which == "b":
        a, axes = np.take(a, 0, axis=axes[0]), (None, 0)
    fns = {"add": lambda x, y: x + y, "multiply": cnp.multiply, "maximum": cnp.maximum,
           "arctan2": cnp.arctan2, "power": lambda x, y: cnp.power(y, x),
           "where": lambda x, y: cnp.where(x > 0, x, y)}
    same(fns[op], a, b, in_axes=axes)


@SETTINGS
@given(s=shapes, seed=seeds, name=st.sampled_from(["sin", "exp", "tanh", "abs", "sqrt", "log1p",
                                                   "relu", "sigmoid", "softplus", "clip",
                                                   "round", "sign", "square", "copy"]))
def test_unary(s, seed, name):
    x = np.abs(batch_of(np.random.default_rng(seed), s)) + 0.1
    fn = {"relu": F.relu, "sigmoid": F.sigmoid, "softplus": F.softplus,
          "clip": lambda v: cnp.clip(v, 0.3, 0.9), "round": lambda v: cnp.round(v, 1)}.get(
        name, getattr(cnp, name, None))
    same(fn, x)


# ------------------------------------------------------------------ reductions
@SETTINGS
@given(s=shapes.filter(len), seed=seeds, data=st.data(),
       name=st.sampled_from(["sum", "mean", "prod", "max", "min", "var", "std", "logsumexp",
                             "cumsum", "cumprod", "argmax", "argmin", "all", "any",
                             "count_nonzero", "norm"]), keepdims=st.booleans())
def test_reductions(s, seed, data, name, keepdims):
    x = batch_of(np.random.default_rng(seed), s, n=2)
    axis = data.draw(st.sampled_from([None] + list(range(-len(s), len(s)))))
    fn = cnp.linalg.norm if name == "norm" else getattr(cnp, name)
    kw = {}
    if name not in ("cumsum", "cumprod", "argmax", "argmin", "count_nonzero") and axis is not None:
        kw["keepdims"] = keepdims
    if name in ("all", "any", "count_nonzero"):
        same(lambda v: fn(v > 0, axis=axis, **kw), x)
    elif name == "norm" and axis is None and len(s) > 2:
        same(lambda v: fn(v), x)
    else:
        same(lambda v: fn(v, axis=axis, **kw), x)


def test_reduction_special_forms():
    x = batch_of(np.random.default_rng(0), (3, 4))
    same(lambda v: cnp.var(v, 0, None, None, 1), x)                 # NumPy's positional order
    same(lambda v: cnp.sum(v, axis=(0, 1)), x)
    same(lambda v: cnp.trace(v, 1, 1, 0), batch_of(np.random.default_rng(1), (3, 4, 2)))
    for ord_ in (None, "fro", "nuc", 1, -1, 2, np.inf):
        same(lambda v: cnp.linalg.norm(v, ord_), x)
    same(lambda v: cnp.linalg.norm(v, 3, axis=1), x)
    same(lambda v: cnp.linalg.norm(v, axis=(1, 0), keepdims=True), x)


# ------------------------------------------------------------------- shape ops
@SETTINGS
@given(s=shapes.filter(lambda s: len(s) >= 2), seed=seeds, data=st.data())
def test_shape_ops(s, seed, data):
    x = batch_of(np.random.default_rng(seed), s, n=2)
    nd = len(s)
    ax = data.draw(st.integers(-nd, nd - 1))
    ax2 = data.draw(st.integers(-nd, nd - 1))
    perm = tuple(data.draw(st.permutations(range(nd))))
    for fn in (lambda v: cnp.reshape(v, (-1,)), lambda v: cnp.reshape(v, s[::-1]),
               lambda v: cnp.reshape(v, s[::-1], order="F"), lambda v: v.T,
               lambda v: cnp.transpose(v, perm), lambda v: cnp.swapaxes(v, ax, ax2),
               lambda v: cnp.moveaxis(v, ax, ax2), lambda v: cnp.expand_dims(v, ax),
               lambda v: cnp.squeeze(cnp.expand_dims(v, ax)), lambda v: cnp.repeat(v, 2),
               lambda v: cnp.repeat(v, [1] * (s[ax] - 1) + [3], axis=ax),
               lambda v: cnp.tile(v, (2,) * (nd + 1)), lambda v: cnp.roll(v, 2),
               lambda v: cnp.roll(v, -1, axis=ax), lambda v: cnp.flip(v),
               lambda v: cnp.flip(v, ax), lambda v: cnp.rot90(v, 1, (ax % nd, (ax + 1) % nd))
               if nd > 1 and ax % nd != (ax + 1) % nd else v,
               lambda v: cnp.diagonal(v, 0, 0, 1), lambda v: cnp.tril(v), lambda v: cnp.triu(v, 1),
               lambda v: cnp.broadcast_to(v, (2,) + s), lambda v: cnp.sort(v, axis=ax),
               lambda v: cnp.argsort(v, axis=ax), lambda v: cnp.ravel(v), lambda v: cnp.atleast_3d(v),
               lambda v: cnp.flipud(v), lambda v: cnp.diag(v[0]), lambda v: cnp.diag(v[..., 0, 0]
                                                                                   if nd > 2 else v)):
        same(fn, x)


def test_sum_to_and_unrepeat_the_adjoints():
    from chainrule.core.primitive import sum_to
    from chainrule.ops.shape import unrepeat
    x = batch_of(np.random.default_rng(0), (2, 3, 4))
    same(lambda v: sum_to(v, (1, 4)), x)
    same(lambda v: sum_to(v, (3, 1)), x)
    g = batch_of(np.random.default_rng(1), (2, 4, 4))
    same(lambda v: unrepeat(v, 2, 1, (2, 2, 4)), g)
    same(lambda v: unrepeat(cnp.reshape(v, (-1,)), 2, None, (2, 3, 2)), x)


# -------------------------------------------------------------------- indexing
INDEXES = [1, -1, slice(1, None), (slice(None), 0), (Ellipsis, 1), (None, 0), [0, 2, 2],
           ([0, 1], [1, 0]), (slice(None), [2, 0]), ([0, 1], slice(None), [1, 1]),
           (0, slice(None), [1, 0]), (np.array([[0], [1]]), np.array([0, 1])),
           (slice(None, None, -1), None, Ellipsis), np.array([True, False, True])]


@pytest.mark.parametrize("index", INDEXES, ids=repr)
def test_getitem_every_index_kind(index):
    x = batch_of(np.random.default_rng(0), (3, 3, 2), n=4)
    same(lambda v: v[index], x)
    # and its adjoint (the backward pass of indexing under a batch of cotangents)
    same(lambda v: cr.grad(lambda u: cnp.sum(u[index] ** 2))(v), x)


def test_per_example_indices():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((5, 4))
    idx = np.array([0, 4, 2])
    same(lambda i: cnp.take(x, i, axis=0), idx, in_axes=(0,))
    same(lambda v, i: v[i], x[:3], idx % 4, in_axes=(0, 0))
    same(lambda v, i: cnp.take(v, i), x[:3], idx[:, None] % 4, in_axes=(0, 0))
    same(lambda v, i: cnp.take_along_axis(v, i, 0), x[:3], (idx[:, None] % 4), in_axes=(0, 0))
    same(lambda i: cnp.getitem(cr.tensor(x), (i, 1)), idx, in_axes=(0,))


# ------------------------------------------------------------------- products
@SETTINGS
@given(p=st.integers(1, 3), k=st.integers(1, 3), q=st.integers(1, 3), seed=seeds,
       va=st.booleans(), vb=st.booleans(), which=st.sampled_from(["both", "a", "b"]),
       stack=st.integers(0, 2))
def test_matmul_and_dot(p, k, q, seed, va, vb, which, stack):
    rng = np.random.default_rng(seed)
    sa = (k,) if va else (stack,) * (stack > 0) + (p, k)
    sb = (k,) if vb else (k, q)
    a, b = batch_of(rng, sa), batch_of(rng, sb)
    axes = (0, 0)
    if which == "a":
        b, axes = b[0], (0, None)
    elif which == "b":
        a, axes = a[0], (None, 0)
    same(cnp.matmul, a, b, in_axes=axes)
    if len(sa) <= 2:
        same(cnp.dot, a, b, in_axes=axes)
    same(cnp.inner, a, np.swapaxes(b, -1, -2) if not vb else b, in_axes=axes)


def test_other_products():
    rng = np.random.default_rng(2)
    A, B, v = batch_of(rng, (2, 3, 4)), batch_of(rng, (4, 2)), batch_of(rng, (4,))
    same(cnp.dot, A, B)
    same(cnp.dot, A, v)
    same(cnp.dot, A, B[0], in_axes=(0, None))
    same(cnp.outer, v, v)
    same(cnp.vdot, A, A)
    same(lambda a, b: cnp.tensordot(a, b, axes=([2], [0])), A, B)
    same(lambda a, b: cnp.tensordot(a, b, 1), A, B[0], in_axes=(0, None))
    same(lambda a, b: cnp.einsum("ijk,kl->il", a, b), A, B)
    same(lambda a, b: cnp.einsum("...k,k", a, b), A, v[0], in_axes=(0, None))
    same(lambda a: cnp.einsum("ii->i", a), batch_of(rng, (3, 3)))
    same(cnp.kron, B, v)
    same(cnp.kron, B[0], v, in_axes=(None, 0))
    same(lambda a, b: cnp.linalg.multi_dot([a, b, b.T]), A[:, 0], B)


def test_linalg():
    rng = np.random.default_rng(3)
    M = batch_of(rng, (3, 3))
    S = M @ np.swapaxes(M, 1, 2) + 3 * np.eye(3)
    R = batch_of(rng, (4, 3))
    v = batch_of(rng, (3,))
    for fn in (cnp.linalg.inv, cnp.linalg.det, lambda a: cnp.linalg.slogdet(a)[1],
               cnp.linalg.cholesky, lambda a: cnp.linalg.eigh(a)[0],
               lambda a: cnp.abs(cnp.linalg.eigh(a)[1]), cnp.linalg.eigvalsh):
        same(fn, S)
    for fn in (lambda a: cnp.linalg.svd(a, compute_uv=False), cnp.linalg.pinv,
               lambda a: cnp.abs(cnp.linalg.qr(a)[1]), lambda a: cnp.abs(cnp.linalg.svd(
                   a, full_matrices=False)[0])):
        same(fn, R)
    same(cnp.linalg.solve, S, v)
    same(cnp.linalg.solve, S[0], v, in_axes=(None, 0))
    same(cnp.linalg.solve, S, v[0], in_axes=(0, None))
    same(cnp.linalg.solve, S, M)


# --------------------------------------------------------- construction, nn
def test_construction_and_nn():
    rng = np.random.default_rng(4)
    x, y = batch_of(rng, (2, 3)), batch_of(rng, (3,))
    same(lambda a, b: cnp.concatenate([a, b[None]]), x, y)
    same(lambda a, b: cnp.concatenate([a, b[None]], axis=None), x, y)
    same(lambda a, b: cnp.concatenate([a, b[None]]), x, y[0], in_axes=(0, None))
    same(lambda a, b: cnp.stack([a[0], b], axis=-1), x, y)
    same(lambda a, b: cnp.hstack([a[0], b]), x, y)
    same(lambda a, b: cnp.vstack([a, b]), x, y)
    same(lambda a: cnp.pad(a, ((1, 0), (2, 1)), constant_values=3.0), x)
    same(lambda a: cnp.diff(a, 2, axis=-1), x)
    same(lambda a: cnp.array([a[0], 2 * a[1]]), x)
    same(lambda a: cnp.mean([a, a + 2], axis=0), x)            # a list holding batched values
    same(lambda a: cnp.split(a, 3, axis=1)[2], x)
    same(lambda a: F.softmax(a, axis=0), x)
    same(F.log_softmax, x)
    same(lambda a: F.leaky_relu(a, 0.2), x)
    labels = np.array([[0, 2], [1, 1], [2, 0]])
    same(lambda z, t: F.cross_entropy(z, t), x, labels)
    same(lambda z: F.cross_entropy(z, np.array([0, 2])), x)
    same(lambda z, t: F.nll_loss(F.log_softmax(z), t), x, labels)
    same(lambda z, t: F.mse_loss(z, t), x, x * 2)
    same(lambda z: F.cross_entropy(z, np.eye(3)[[0, 2]]), x)


def test_numpy_functions_on_batched_values():
    x = batch_of(np.random.default_rng(5), (2, 3))
    same(lambda v: np.sum(np.exp(v)), x)                          # dispatch to chainrule
    same(lambda v: np.zeros(np.shape(v)) + v * np.ndim(v), x)     # shape facts: one example's
    with pytest.warns(ChainruleWarning, match="median"):          # reads the values: a loop
        got = cr.vmap(np.median)(x)
    np.testing.assert_allclose(got, np.median(x.reshape(3, -1), axis=1))
    same(lambda v: cr.stop_gradient(v) * 2, x)


# ---------------------------------------------------------- the fallback loop
def test_a_primitive_without_a_rule_loops_once_warned_and_stays_differentiable():
    from chainrule.core.primitive import Primitive, defjvp, defvjp
    cube = Primitive("cube_no_rule", lambda x: x ** 3)
    defvjp(cube, lambda g, ans, x: g * 3 * x ** 2)
    defjvp(cube, lambda t, ans, x: t * 3 * x ** 2)
    x = batch_of(np.random.default_rng(6), (2,))
    with pytest.warns(ChainruleWarning, match="cube_no_rule has no batching rule"):
        got = cr.vmap(cube)(x)
    np.testing.assert_allclose(got, x ** 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")                           # warned once only
        cr.vmap(cube)(x)
        g = cr.grad(lambda w: cnp.sum(cr.vmap(lambda v: cube(v * w))(x)))(np.ones(2))
        jac = cr.vmap(cr.jacrev(cube))(x)
    np.testing.assert_allclose(g, np.sum(3 * x ** 3, axis=0))
    np.testing.assert_allclose(jac, np.stack([np.diag(3 * v ** 2) for v in x]))


# ---------------------------------------------------------- vmap's own API
def test_in_axes_out_axes_like_jax():
    rng = np.random.default_rng(7)
    A, b = rng.standard_normal((3, 4, 5)), rng.standard_normal(4)
    out = cr.vmap(lambda a, c: a @ c, in_axes=(-1, None))(A, b)           # map over A's last axis
    np.testing.assert_allclose(out, np.stack([A[:, :, i] @ b for i in range(5)]))
    out = cr.vmap(lambda a: cnp.sum(a, 0), in_axes=1, out_axes=-1)(A)
    np.testing.assert_allclose(out, np.moveaxis(np.stack([A[:, i].sum(0) for i in range(4)]), 0, -1))
    out = cr.vmap(lambda a: (a * 2, 1.0), out_axes=(1, None))(A)
    np.testing.assert_allclose(out[0], np.swapaxes(A * 2, 0, 1))
    assert out[1] == 1.0
    out = cr.vmap(lambda: cnp.ones(2), axis_size=3)()                     # nothing batched
    np.testing.assert_allclose(out, np.ones((3, 2)))
    out = cr.vmap(lambda x, k: x * k, in_axes=(0, None))(A, 2.0)
    np.testing.assert_allclose(out, A * 2)
    out = cr.vmap(lambda x, scale=1.0: x * scale)(A, scale=np.arange(3.0))  # kwargs: axis 0
    np.testing.assert_allclose(out, A * np.arange(3.0)[:, None, None])


def test_pytrees_in_and_out():
    rng = np.random.default_rng(8)
    params = {"w": rng.standard_normal((4, 3)), "b": rng.standard_normal(4)}
    xs = rng.standard_normal((6, 3))
    out = cr.vmap(lambda p, x: {"y": p["w"] @ x + p["b"], "n": (cnp.sum(x),)},
                  in_axes=(None, 0))(params, xs)
    assert set(out) == {"y", "n"} and isinstance(out["n"], tuple)
    np.testing.assert_allclose(out["y"], xs @ params["w"].T + params["b"])
    stacked = {"w": np.stack([params["w"]] * 2), "b": np.stack([params["b"], 2 * params["b"]])}
    out = cr.vmap(lambda p, x: p["w"] @ x + p["b"], in_axes=({"w": 0, "b": 0}, None))(stacked, xs[0])
    np.testing.assert_allclose(out[1], params["w"] @ xs[0] + 2 * params["b"])


def test_nested_vmap_is_an_outer_product_of_loops():
    rng = np.random.default_rng(9)
    X, Y = rng.standard_normal((3, 4)), rng.standard_normal((5, 4))
    d = cr.vmap(cr.vmap(lambda x, y: cnp.sum((x - y) ** 2), in_axes=(None, 0)),
                in_axes=(0, None))(X, Y)
    np.testing.assert_allclose(d, ((X[:, None] - Y[None]) ** 2).sum(-1))
    Z = rng.standard_normal((3, 4, 2))                   # batch over axis 2, then over axis 0
    d = cr.vmap(cr.vmap(lambda z, y: z @ y, in_axes=(0, None)), in_axes=(2, None))(Z, Y[0])
    np.testing.assert_allclose(d, np.einsum("ijk,j->ki", Z, Y[0]))


def test_errors_name_the_problem():
    x = np.ones((3, 2))
    with pytest.raises(ChainruleError, match="different batch sizes"):
        cr.vmap(lambda a, b: a + b)(x, np.ones((4, 2)))
    with pytest.raises(ChainruleError, match="axis 2"):
        cr.vmap(lambda a: a, in_axes=2)(x)
    with pytest.raises(ChainruleError, match="in_axes"):
        cr.vmap(lambda a, b: a, in_axes=(0,))(x, x)
    with pytest.raises(ChainruleError, match="axis_size"):
        cr.vmap(lambda a: a, in_axes=None)(x)
    with pytest.raises(ChainruleError, match="out_axes=None"):
        cr.vmap(lambda a: a * 2, out_axes=None)(x)
    with pytest.raises(TypeError, match="ints or None"):
        cr.vmap(lambda a: a, in_axes="0")
    with pytest.raises(TypeError, match="cnp.where"):         # Python control flow on a batch
        cr.vmap(lambda a: a if cnp.sum(a) > 0 else -a)(x)
    with pytest.raises(TypeError, match="stands for every example"):
        cr.vmap(lambda a: float(cnp.sum(a)))(x)
    with pytest.raises(ChainruleError, match="backward"):
        cr.vmap(lambda a: cnp.sum(a * cr.tensor([1.0, 2.0], requires_grad=True)).backward())(x)
    leaked = []
    cr.vmap(lambda a: leaked.append(a) or a)(x)
    with pytest.raises((TypeError, ChainruleError)):
        cnp.sin(leaked[0]) + 1.0


def test_vmap_hands_back_fresh_arrays_and_leaves_inputs_alone():
    x = np.arange(6.0).reshape(3, 2)
    before = x.copy()
    y = cr.vmap(lambda a: a)(x)
    assert not np.shares_memory(x, y)
    y += 1
    np.testing.assert_array_equal(x, before)


def test_grad_and_check_grad_through_vmap_both_modes():
    rng = np.random.default_rng(10)
    X = rng.standard_normal((4, 3))
    f = cr.vmap(lambda w, x: cnp.tanh(cnp.dot(x, w)) * cnp.sum(w ** 2), in_axes=(None, 0))
    cr.check_grad(lambda w: f(w, X), rng.standard_normal(3), order=2, modes=("fwd", "rev"))
    g = cr.vmap(lambda x: cnp.sin(x) ** 2)
    cr.check_grad(g, X, order=2, modes=("fwd", "rev"))


def test_the_batching_coverage_page_is_current():
    import os
    import subprocess
    import sys
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    r = subprocess.run([sys.executable, os.path.join(root, "tools", "batching.py"), "--check"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_anomaly_mode_and_threads_under_vmap():
    import threading
    x = np.ones((2, 2))
    with cr.detect_anomaly():
        np.testing.assert_allclose(cr.vmap(cr.grad(lambda v: cnp.sum(cnp.sin(v))))(x), np.cos(x))
        np.testing.assert_allclose(cr.jacfwd(cnp.sin)(x[0]), np.diag(np.cos(x[0])))
        with pytest.raises(cr.AnomalyError):
            cr.vmap(cr.grad(lambda v: cnp.sum(cnp.sqrt(v))))(np.zeros((2, 2)))
    bad = []

    def work(k):
        rng = np.random.default_rng(k)
        for _ in range(30):
            w, X = rng.standard_normal(3), rng.standard_normal((4, 3))
            got = cr.vmap(cr.grad(lambda w, x: cnp.sum(cnp.tanh(x * w))), in_axes=(None, 0))(w, X)
            plain = cr.grad(lambda w: cnp.sum(cnp.tanh(X[0] * w)))(w)
            if not (np.allclose(got, (1 - np.tanh(X * w) ** 2) * X) and
                    np.allclose(plain, got[0])):
                bad.append(k)
    threads = [threading.Thread(target=work, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert bad == []
