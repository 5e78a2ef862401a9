"""HIPS autograd: functional grad of plain autograd.numpy code (reverse-over-reverse for H·v)."""
import autograd
import autograd.numpy as anp
from autograd import grad, value_and_grad
from autograd.scipy.special import logsumexp

from . import workloads as W

NAME = "autograd"


def version():
    from importlib.metadata import version as dist_version
    return getattr(autograd, "__version__", None) or dist_version("autograd")


def _mlp_loss(params, X, Y):
    W1, b1, W2, b2, W3, b3 = params
    h = anp.maximum(anp.dot(X, W1) + b1, 0.0)
    h = anp.maximum(anp.dot(h, W2) + b2, 0.0)
    z = anp.dot(h, W3) + b3
    return -anp.sum(Y * (z - logsumexp(z, axis=1, keepdims=True))) / X.shape[0]


def _moons_loss(params, X, y):
    W1, b1, W2, b2, W3, b3 = params
    h = anp.maximum(anp.dot(X, W1) + b1, 0.0)
    h = anp.maximum(anp.dot(h, W2) + b2, 0.0)
    score = (anp.dot(h, W3) + b3)[:, 0]
    return anp.mean(anp.maximum(1.0 - y * score, 0.0)) + \
        W.HINGE_L2 * sum(anp.sum(q * q) for q in params)


def build(kind, p):
    if kind in ("mlp", "moons"):
        params = [a.copy() for a in p["params"]]
        vg = value_and_grad(_mlp_loss if kind == "mlp" else _moons_loss)
        X, T, lr = p["X"], p["Y" if kind == "mlp" else "y"], p["lr"]

        def run():
            loss, grads = vg(params, X, T)
            params[:] = [q - lr * g for q, g in zip(params, grads)]
            return loss, grads
        return run, lambda r: W.mlp_outputs(r[0], r[1], params)
    if kind == "hvp":
        params, V, X, Y = p["params"], p["V"], p["X"], p["Y"]
        g = grad(_mlp_loss)
        hvp = grad(lambda ps, vs: sum(anp.sum(a * v) for a, v in zip(g(ps, X, Y), vs)))
        return (lambda: hvp(params, V)), (lambda r: {f"hvp{i}": h for i, h in enumerate(r)})
    if kind == "chain":
        x0, ops = p["x"], p["ops"]

        def f(x):
            return anp.sum(W.chain_forward(x, ops, anp.tanh, anp.exp, anp.sin))
        vg = value_and_grad(f)
        return (lambda: vg(x0)), (lambda r: {"value": r[0], "grad": r[1]})
    if kind == "logreg":
        X, s, w0, b0, lr, steps = p["X"], p["s"], p["w"], p["b"], p["lr"], p["steps"]
        loss_fn = value_and_grad(
            lambda wb: anp.mean(anp.log1p(anp.exp(-s * (anp.dot(X, wb[0]) + wb[1])))))

        def run():
            w, b = w0.copy(), b0.copy()
            loss = None
            for _ in range(steps):
                loss, (gw, gb) = loss_fn((w, b))
                w, b = w - lr * gw, b - lr * gb
            return loss, w, b
        return run, lambda r: {"loss": r[0], "w": r[1], "b": r[2]}
    raise NotImplementedError(kind)
