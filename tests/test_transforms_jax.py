"""The transforms JAX and autograd users reach for: vmap composed with grad/jvp/vjp/hessian in
every nesting order (against explicit loops and finite differences), pytree Jacobians with
JAX's structure and argnums, elementwise_grad, linearize, stop_gradient, ravel_pytree,
custom rules with nondiff_argnums, and checkpoint."""
import functools
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import chainrule as cr
import chainrule.numpy as cnp
from chainrule import ChainruleError

RNG = np.random.default_rng(0)
W = RNG.standard_normal(3)
X = RNG.standard_normal((4, 3))
Y = RNG.standard_normal(4)


def loss(w, x, y):
    return (cnp.tanh(cnp.dot(x, w)) - y) ** 2 + 0.1 * cnp.sum(w ** 3)


def fd_grad(f, x, eps=1e-6):
    """Central differences of a scalar function, for every element of x."""
    x = np.asarray(x, float)
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        e = np.zeros_like(x)
        e[i] = eps
        g[i] = (float(np.asarray(f(x + e))) - float(np.asarray(f(x - e)))) / (2 * eps)
    return g


def stack(fn, *cols):
    return np.stack([np.asarray(fn(*c)) for c in zip(*cols)])


# --------------------------------------------------- vmap with the other transforms
def test_per_example_gradients_equal_a_loop_and_finite_differences():
    g = cr.grad(loss)
    got = cr.vmap(g, in_axes=(None, 0, 0))(W, X, Y)
    np.testing.assert_allclose(got, stack(lambda x, y: g(W, x, y), X, Y), atol=1e-12)
    np.testing.assert_allclose(got[2], fd_grad(lambda w: loss(w, X[2], Y[2]), W), atol=1e-7)
    both = cr.vmap(cr.grad(loss, argnums=(0, 1)), in_axes=(None, 0, 0))(W, X, Y)
    np.testing.assert_allclose(both[1], stack(lambda x, y: cr.grad(loss, 1)(W, x, y), X, Y))


def test_grad_of_a_vmapped_sum_equals_the_summed_gradients():
    f = lambda w: cnp.sum(cr.vmap(loss, in_axes=(None, 0, 0))(w, X, Y))  # noqa: E731
    np.testing.assert_allclose(cr.grad(f)(W), sum(cr.grad(loss)(W, x, y) for x, y in zip(X, Y)))
    np.testing.assert_allclose(cr.grad(f)(W), fd_grad(f, W), atol=1e-7)


NESTINGS = {
    "vmap(grad(grad))": (lambda: cr.vmap(cr.grad(cr.grad(lambda s: cnp.sin(s) * s ** 3)))(Y),
                         lambda: np.array([cr.grad(cr.grad(lambda s: cnp.sin(s) * s ** 3))(y)
                                           for y in Y])),
    "grad(vmap(grad))": (lambda: cr.grad(lambda w: cnp.sum(cr.vmap(cr.grad(loss), in_axes=(
        None, 0, 0))(w, X, Y) ** 2))(W), lambda: fd_grad(lambda w: sum(
            np.sum(cr.grad(loss)(w, x, y) ** 2) for x, y in zip(X, Y)), W)),
    "vmap(jvp)": (lambda: cr.vmap(lambda x: cr.jvp(lambda z: loss(W, z, 1.0), (x,), (W,))[1])(X),
                  lambda: np.array([cr.jvp(lambda z: loss(W, z, 1.0), (x,), (W,))[1] for x in X])),
    "vmap over tangents": (lambda: cr.vmap(lambda v: cr.jvp(lambda z: loss(W, z, 1.0), (X[0],),
                                                            (v,))[1])(X),
                           lambda: X @ cr.grad(loss, 1)(W, X[0], 1.0)),
    "jvp(vmap)": (lambda: cr.jvp(lambda w: cr.vmap(loss, in_axes=(None, 0, 0))(w, X, Y), (W,),
                                 (X[0],))[1],
                  lambda: stack(lambda x, y: cr.grad(loss)(W, x, y) @ X[0], X, Y)),
    "vmap(vjp)": (lambda: cr.vmap(lambda x, c: cr.vjp(lambda z: cnp.tanh(z) * W, x)[1](c)[0])(X, X),
                  lambda: (1 - np.tanh(X) ** 2) * W * X),
    "vmap(hessian)": (lambda: cr.vmap(cr.hessian(loss), in_axes=(None, 0, 0))(W, X, Y),
                      lambda: stack(lambda x, y: cr.hessian(loss)(W, x, y), X, Y)),
    "hessian(vmap)": (lambda: cr.hessian(lambda w: cnp.sum(cr.vmap(loss, in_axes=(None, 0, 0))(
        w, X, Y)))(W), lambda: sum(cr.hessian(loss)(W, x, y) for x, y in zip(X, Y))),
    "vmap(jacfwd) = vmap(jacrev)": (lambda: cr.vmap(cr.jacfwd(lambda z: cnp.tanh(z) * z[0]))(X),
                                    lambda: cr.vmap(cr.jacrev(lambda z: cnp.tanh(z) * z[0]))(X)),
    "jacrev(vmap)": (lambda: cr.jacrev(lambda w: cr.vmap(loss, in_axes=(None, 0, 0))(w, X, Y))(W),
                     lambda: stack(lambda x, y: cr.grad(loss)(W, x, y), X, Y)),
    "vmap(vmap(grad)) over a closure": (
        lambda: cr.vmap(lambda b: cr.vmap(lambda a: cr.grad(lambda w: cnp.sum(
            cnp.sin(w * a) * b))(W))(X[0]))(Y),
        lambda: np.array([[np.cos(W * a) * a * b for a in X[0]] for b in Y])),
    "vmap(vmap(hessian))": (
        lambda: cr.vmap(cr.vmap(cr.hessian(lambda w, a: cnp.sum(cnp.sin(w * a))),
                                in_axes=(None, 0)), in_axes=(None, 0))(W, X[:, :, None] * W),
        lambda: np.array([[np.diag(-np.sin(W * a) * a * a) for a in x] for x in X[:, :, None] * W])),
    "vmap(hvp)": (lambda: cr.vmap(lambda x: cr.hvp(lambda w: loss(w, x, 1.0), (W,), (X[0],)))(X),
                  lambda: stack(lambda x: cr.hessian(loss)(W, x, 1.0) @ X[0], X)),
}


@pytest.mark.parametrize("name", list(NESTINGS))
def test_nesting_orders(name):
    got, want = NESTINGS[name]
    np.testing.assert_allclose(got(), want(), atol=1e-7)


@settings(max_examples=15, deadline=None)
@given(n=st.integers(1, 4), d=st.integers(1, 3), seed=st.integers(0, 1000))
def test_per_example_hessians_of_random_problems(n, d, seed):
    rng = np.random.default_rng(seed)
    w, xs = rng.standard_normal(d), rng.standard_normal((n, d))
    f = lambda w, x: cnp.sum(cnp.sin(w * x) * cnp.exp(0.3 * w)) + cnp.sum(w) ** 2  # noqa: E731
    got = cr.vmap(cr.hessian(f), in_axes=(None, 0))(w, xs)
    for k in range(n):
        want = np.stack([fd_grad(lambda v: cr.grad(f)(v, xs[k])[i], w) for i in range(d)])
        np.testing.assert_allclose(got[k], want, atol=1e-6)


# ----------------------------------------------------------------- Jacobians
def test_jacobians_are_one_batched_pass():
    calls = []

    def f(a):
        calls.append(1)
        return cnp.stack([a[0] * a[1], cnp.sin(a[2]), a[0] + a[2] ** 2, a[1]])
    x = np.array([0.5, -1.0, 2.0])
    for jac in (cr.jacrev, cr.jacfwd):
        calls.clear()
        J = jac(f)(x)
        assert len(calls) == 1                      # not one call per row or column
        np.testing.assert_allclose(J, [[x[1], x[0], 0], [0, 0, np.cos(x[2])], [1, 0, 2 * x[2]],
                                       [0, 1, 0]])


def test_jacobian_structure_follows_jax():
    p = {"a": np.array([1.0, 2.0]), "b": (np.array(3.0),)}

    def f(p):
        return {"u": p["a"] * p["b"][0], "v": cnp.sum(p["a"] ** 2)}
    for jac in (cr.jacrev, cr.jacfwd):
        J = jac(f)(p)
        assert set(J) == {"u", "v"} and set(J["u"]) == {"a", "b"} and isinstance(J["u"]["b"], tuple)
        np.testing.assert_allclose(J["u"]["a"], 3.0 * np.eye(2))
        np.testing.assert_allclose(J["u"]["b"][0], [1.0, 2.0])
        np.testing.assert_allclose(J["v"]["a"], [2.0, 4.0])
        assert J["v"]["b"][0].shape == ()
    J = cr.jacrev(lambda a, b: a * b, argnums=(0, 1))(np.ones(2), np.arange(2.0))
    assert isinstance(J, tuple) and len(J) == 2
    np.testing.assert_allclose(J[1], np.eye(2))
    J, aux = cr.jacfwd(lambda a: (a ** 2, "aux"), has_aux=True)(np.ones(2))
    assert aux == "aux"


def test_hessian_argnums_gives_nested_tuples():
    a, b = RNG.standard_normal(2), RNG.standard_normal(3)
    f = lambda a, b: cnp.sum(a ** 2) * cnp.sum(cnp.sin(b))  # noqa: E731
    H = cr.hessian(f, argnums=(0, 1))(a, b)
    assert isinstance(H, tuple) and all(isinstance(h, tuple) and len(h) == 2 for h in H)
    assert [h.shape for row in H for h in row] == [(2, 2), (2, 3), (3, 2), (3, 3)]
    np.testing.assert_allclose(H[0][0], 2 * np.eye(2) * np.sum(np.sin(b)))
    np.testing.assert_allclose(H[0][1], np.outer(2 * a, np.cos(b)))
    np.testing.assert_allclose(H[1][0], H[0][1].T)
    np.testing.assert_allclose(H[1][1], -np.diag(np.sin(b)) * np.sum(a ** 2))
    H1 = cr.hessian(f, argnums=(1,))(a, b)
    assert isinstance(H1, tuple) and isinstance(H1[0], tuple) and H1[0][0].shape == (3, 3)
    Hd = cr.hessian(lambda p: cnp.sum(p["x"] ** 3) * p["y"])({"x": np.ones(2), "y": 2.0})
    np.testing.assert_allclose(Hd["x"]["x"], 12 * np.eye(2))
    np.testing.assert_allclose(Hd["x"]["y"], [3.0, 3.0])


def test_a_tuple_argument_is_a_pytree_not_stacked():
    t = (np.array([1.0, 2.0]), np.array(3.0))
    J = cr.jacobian(lambda t: t[0] * t[1])(t)
    assert isinstance(J, tuple) and J[0].shape == (2, 2) and J[1].shape == (2,)
    H = cr.hessian(lambda t: cnp.sum(t[0] ** 2) * t[1])(t)
    assert isinstance(H, tuple) and isinstance(H[0], tuple)
    np.testing.assert_allclose(H[0][1], [2.0, 4.0])
    with pytest.raises(TypeError, match="floating point"):
        cr.jacobian(lambda v: v * 2)(np.array([1, 2]))


def test_argnums_like_jax():
    f = lambda a, b, c: a * b + c ** 2  # noqa: E731
    assert cr.grad(f, argnums=(0,))(2.0, 3.0, 4.0) == (3.0,)          # a tuple of one
    assert cr.grad(f, argnums=(2, 0))(2.0, 3.0, 4.0) == (8.0, 3.0)    # in the order asked
    assert cr.grad(f, argnums=(0, 0))(2.0, 3.0, 4.0) == (3.0, 3.0)
    assert cr.grad(f, argnums=-1)(2.0, 3.0, 4.0) == 8.0
    with pytest.raises(TypeError, match="argnums"):
        cr.grad(f, argnums="0")(2.0, 3.0, 4.0)
    with pytest.raises(ChainruleError, match="out of range"):
        cr.jacfwd(f, argnums=3)(2.0, 3.0, 4.0)


def test_namedtuples_and_none_in_pytrees():
    import collections
    P = collections.namedtuple("P", "w b")
    g = cr.grad(lambda p, skip: cnp.sum(p.w ** 2) + p.b)(P(np.ones(2), 1.0), None)
    assert isinstance(g, P) and g.b == 1.0
    np.testing.assert_allclose(g.w, [2.0, 2.0])
    g = cr.grad(lambda p: cnp.sum(p["w"]) * 2)({"w": np.ones(2), "unused": None})
    assert g["unused"] is None


# ------------------------------------------------------- autograd / JAX extras
def test_elementwise_grad():
    x = RNG.standard_normal((2, 3))
    np.testing.assert_allclose(cr.elementwise_grad(cnp.tanh)(x), 1 - np.tanh(x) ** 2)
    np.testing.assert_allclose(cr.elementwise_grad(lambda a, b: a * b, argnums=1)(x, x), x)
    np.testing.assert_allclose(cr.elementwise_grad(cr.elementwise_grad(cnp.sin))(x), -np.sin(x))


def test_linearize_is_linear_and_never_reruns_the_function():
    calls = []

    def f(x):
        calls.append(1)
        return cnp.sin(x) * x
    x = RNG.standard_normal(3)
    y, f_jvp = cr.linearize(f, x)
    np.testing.assert_allclose(y, np.sin(x) * x)
    runs = len(calls)
    J = np.diag(np.cos(x) * x + np.sin(x))
    for v in RNG.standard_normal((3, 3)):
        np.testing.assert_allclose(f_jvp(v), J @ v)
    np.testing.assert_allclose(cr.vmap(f_jvp)(np.eye(3)), J.T)
    assert len(calls) == runs
    y2, g = cr.linearize(lambda a, b: a * b, 2.0, 3.0)
    assert y2 == 6.0 and g(1.0, 0.0) == 3.0 and g(0.0, 1.0) == 2.0


def test_stop_gradient_in_every_mode():
    f = lambda x: x * cr.stop_gradient(x)  # noqa: E731
    assert cr.grad(f)(3.0) == 3.0
    assert cr.jvp(f, (3.0,), (1.0,))[1] == 3.0
    assert cr.grad(cr.grad(lambda x: x ** 3 + cr.stop_gradient(x ** 3)))(2.0) == 12.0
    np.testing.assert_allclose(cr.vmap(cr.grad(f))(np.arange(3.0)), np.arange(3.0))
    tree = cr.stop_gradient({"a": cr.tensor([1.0], requires_grad=True), "b": 2.0})
    assert not tree["a"].requires_grad and tree["b"] == 2.0


def test_ravel_pytree_round_trip_and_gradient():
    tree = {"w": np.arange(6.0).reshape(2, 3), "b": (np.float32(2.0), [np.ones(2)])}
    flat, unravel = cr.ravel_pytree(tree)
    assert flat.shape == (9,) and flat.dtype == np.float64
    back = unravel(flat)
    np.testing.assert_array_equal(back["w"], tree["w"])
    assert back["b"][0].dtype == np.float32 and isinstance(back["b"][1], list)
    loss_tree = lambda t: cnp.sum(t["w"] ** 2) + t["b"][0] * cnp.sum(t["b"][1][0])  # noqa: E731
    g_flat = cr.grad(lambda v: loss_tree(unravel(v)))(flat)
    g_tree = cr.grad(loss_tree)(tree)
    np.testing.assert_allclose(g_flat, cr.ravel_pytree(g_tree)[0])
    with pytest.raises(ChainruleError, match="vector"):
        unravel(np.ones(3))


# ----------------------------------------------------------------- custom rules
def test_custom_vjp_nondiff_argnums_like_jax():
    @functools.partial(cr.custom_vjp, nondiff_argnums=(0,))
    def apply(fn, x):
        return fn(x)
    apply.defvjp(lambda fn, x: (fn(x), x), lambda fn, x, g: (g * 2.0,))
    np.testing.assert_allclose(cr.grad(lambda x: cnp.sum(apply(cnp.sin, x)))(np.ones(3)), 2.0)

    @functools.partial(cr.custom_jvp, nondiff_argnums=(1,))
    def power(x, n):
        return x ** n

    @power.defjvp
    def _(n, primals, tangents):
        return power(primals[0], n), n * primals[0] ** (n - 1) * tangents[0]
    assert cr.grad(lambda x: power(x, 3))(2.0) == 12.0
    assert cr.jvp(lambda x: power(x, 3), (2.0,), (1.0,))[1] == 12.0
    with pytest.raises(ChainruleError, match="gradients"):
        bad = cr.custom_vjp(lambda x, y: x * y)
        bad.defvjp(lambda x, y: (x * y, None), lambda r, g: (g,))
        cr.grad(bad)(1.0, 2.0)


def test_custom_rules_under_vmap_in_every_order():
    @cr.custom_vjp
    def f(x, w):
        return cnp.sin(x) * w
    f.defvjp(lambda x, w: (f(x, w), (x, w)), lambda r, g: (g * cnp.cos(r[0]) * r[1],
                                                          g * cnp.sin(r[0])))

    @cr.custom_jvp
    def s(x):
        return cnp.log1p(cnp.exp(x))

    @s.defjvp
    def _(p, t):
        return s(p[0]), t[0] / (1 + cnp.exp(-p[0]))
    sig = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    np.testing.assert_allclose(cr.vmap(cr.grad(lambda x, w: cnp.sum(f(x, w)), argnums=1),
                                       in_axes=(0, None))(X, W), np.sin(X))
    np.testing.assert_allclose(cr.grad(lambda w: cnp.sum(cr.vmap(f, in_axes=(0, None))(X, w)))(W),
                               np.sin(X).sum(0))
    np.testing.assert_allclose(cr.vmap(cr.jacrev(lambda x: f(x, W)))(X),
                               np.stack([np.diag(np.cos(x) * W) for x in X]))
    np.testing.assert_allclose(cr.vmap(cr.hessian(lambda x: cnp.sum(s(x))))(X),
                               np.stack([np.diag(sig(x) * (1 - sig(x))) for x in X]))
    np.testing.assert_allclose(cr.grad(lambda w: cnp.sum(cr.vmap(lambda x: s(x * w))(X)))(W),
                               (sig(X * W) * X).sum(0))


# ------------------------------------------------------------------ checkpoint
def _net(block, params, x):
    h = x
    for W_, b_ in params[:-1]:
        h = block(h, W_, b_)
    return cnp.sum((h @ params[-1][0] + params[-1][1]) ** 2)


def _layer(h, W_, b_):
    return cnp.tanh(h @ W_ + b_)


def test_checkpoint_gives_the_same_derivatives_at_every_order():
    rng = np.random.default_rng(1)
    params = [(rng.standard_normal((3, 3)), rng.standard_normal(3)) for _ in range(4)]
    x = rng.standard_normal((2, 3))
    ck = cr.checkpoint(_layer)
    plain = lambda p: _net(_layer, p, x)  # noqa: E731
    check = lambda p: _net(ck, p, x)  # noqa: E731
    g1, g2 = cr.grad(plain)(params), cr.grad(check)(params)
    for a, b in zip(cr.ravel_pytree(g1)[0], cr.ravel_pytree(g2)[0]):
        np.testing.assert_allclose(a, b, atol=1e-12)
    v = rng.standard_normal(3)
    h1 = cr.hvp(lambda b: _net(_layer, params[:1] + [(params[1][0], b)] + params[2:], x), (params[1][1],), (v,))
    h2 = cr.hvp(lambda b: _net(ck, params[:1] + [(params[1][0], b)] + params[2:], x), (params[1][1],), (v,))
    np.testing.assert_allclose(h1, h2, atol=1e-10)
    gg = lambda blk: cr.grad(lambda z: cnp.sum(cr.grad(lambda u: _net(blk, params, u))(z) ** 2))  # noqa
    np.testing.assert_allclose(gg(_layer)(x), gg(ck)(x), atol=1e-10)
    np.testing.assert_allclose(cr.vmap(cr.grad(lambda u: _net(ck, params, u)))(x[:, None]),
                               cr.vmap(cr.grad(lambda u: _net(_layer, params, u)))(x[:, None]))
    assert cr.remat is cr.checkpoint


def test_checkpoint_follows_closures_and_replays_what_it_recorded():
    rng = np.random.default_rng(2)
    W_ = cr.tensor(rng.standard_normal((3, 3)), requires_grad=True)
    masks = []

    @cr.checkpoint
    def noisy(h):                        # a closure over W_, and a fresh random mask per call
        m = (rng.random(h.shape) > 0.5) * 2.0
        masks.append(m)
        return cnp.tanh(h @ W_) * m
    x = cr.tensor(rng.standard_normal((2, 3)), requires_grad=True)
    c = np.ones(3)
    y = cnp.sum(noisy(x) * c)
    c[0] = 100.0                         # a small constant changed after the forward pass...
    y.backward()
    m = masks[0]
    t = np.tanh(x.data @ W_.data)
    np.testing.assert_allclose(x.grad, ((1 - t ** 2) * m) @ W_.data.T)      # ...changes nothing
    np.testing.assert_allclose(W_.grad, x.data.T @ ((1 - t ** 2) * m))
    assert len(masks) == 1               # replayed, not called again


def test_checkpoint_keeps_less_memory():
    rng = np.random.default_rng(3)
    width, depth, batch = 16, 24, 512
    params = [(cr.tensor(rng.standard_normal((width, width)) / 4, requires_grad=True),
               cr.tensor(np.zeros(width), requires_grad=True)) for _ in range(depth)]
    x = rng.standard_normal((batch, width))

    def peak(block):
        def step():
            h = x
            for W_, b_ in params:
                h = block(h, W_, b_)
            cnp.sum(h ** 2).backward()
            for W_, b_ in params:
                W_.grad = b_.grad = None
        step()
        tracemalloc.start()
        step()
        got = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return got
    assert peak(cr.checkpoint(_layer)) < 0.5 * peak(_layer)
