"""JAX on CPU, jit-compiled (compilation happens in the warm-up, outside the timing)."""
import jax
import jax.numpy as jnp

from . import workloads as W

jax.config.update("jax_enable_x64", True)     # float64 workloads must stay float64
NAME = "jax"


def version():
    return jax.__version__


def _mlp_loss(params, X, Y):
    W1, b1, W2, b2, W3, b3 = params
    h = jax.nn.relu(X @ W1 + b1)
    h = jax.nn.relu(h @ W2 + b2)
    return -jnp.sum(Y * jax.nn.log_softmax(h @ W3 + b3, axis=1)) / X.shape[0]


def _moons_loss(params, X, y):
    W1, b1, W2, b2, W3, b3 = params
    h = jax.nn.relu(X @ W1 + b1)
    h = jax.nn.relu(h @ W2 + b2)
    score = (h @ W3 + b3)[:, 0]
    return jnp.mean(jax.nn.relu(1.0 - y * score)) + W.HINGE_L2 * sum(jnp.sum(q * q) for q in params)


def _np(a):
    import numpy as np
    return np.asarray(a)


def build(kind, p):
    if kind in ("mlp", "moons"):
        loss_fn = _mlp_loss if kind == "mlp" else _moons_loss
        lr = p["lr"]

        @jax.jit
        def step(params, X, T):
            loss, grads = jax.value_and_grad(loss_fn)(params, X, T)
            return loss, grads, [q - lr * g for q, g in zip(params, grads)]
        state = [[jnp.asarray(a) for a in p["params"]]]
        X, T = jnp.asarray(p["X"]), jnp.asarray(p["Y" if kind == "mlp" else "y"])

        def run():
            loss, grads, state[0] = jax.block_until_ready(step(state[0], X, T))
            return loss, grads
        return run, lambda r: W.mlp_outputs(_np(r[0]), [_np(g) for g in r[1]],
                                            [_np(q) for q in state[0]])
    if kind == "hvp":
        params = [jnp.asarray(a) for a in p["params"]]
        V = [jnp.asarray(v) for v in p["V"]]
        X, Y = jnp.asarray(p["X"]), jnp.asarray(p["Y"])
        hvp = jax.jit(lambda ps, vs, X, Y: jax.jvp(lambda q: jax.grad(_mlp_loss)(q, X, Y),
                                                   (ps,), (vs,))[1])
        return (lambda: jax.block_until_ready(hvp(params, V, X, Y))), \
            (lambda r: {f"hvp{i}": _np(h) for i, h in enumerate(r)})
    if kind == "chain":
        ops = p["ops"]

        def f(x):
            return jnp.sum(W.chain_forward(x, ops, jnp.tanh, jnp.exp, jnp.sin))
        vg = jax.jit(jax.value_and_grad(f))
        x0 = jnp.asarray(p["x"])
        return (lambda: jax.block_until_ready(vg(x0))), \
            (lambda r: {"value": _np(r[0]), "grad": _np(r[1])})
    if kind == "logreg":
        X, s = jnp.asarray(p["X"]), jnp.asarray(p["s"])
        lr, steps = p["lr"], p["steps"]
        vg = jax.value_and_grad(
            lambda w, b, X, s: jnp.mean(jnp.log1p(jnp.exp(-s * (X @ w + b)))), argnums=(0, 1))

        @jax.jit
        def fit(w, b, X, s):
            def body(_, c):
                loss, (gw, gb) = vg(c[1], c[2], X, s)
                return loss, c[1] - lr * gw, c[2] - lr * gb
            return jax.lax.fori_loop(0, steps, body, (jnp.zeros((), w.dtype), w, b))
        w0, b0 = jnp.asarray(p["w"]), jnp.asarray(p["b"])
        return (lambda: jax.block_until_ready(fit(w0, b0, X, s))), \
            (lambda r: {"loss": _np(r[0]), "w": _np(r[1]), "b": _np(r[2])})
    raise NotImplementedError(kind)
