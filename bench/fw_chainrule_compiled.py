"""chainrule with cr.compile: the same loss functions as fw_chainrule, compiled once.

Each workload compiles what a user would compile: value_and_grad of the loss (the SGD update
stays plain NumPy, in place), the hvp function, the chain's value_and_grad, and for W4 the
whole 100-step gradient-descent loop (as jax.jit compiles it with a fori_loop).  The first
call traces and compiles (in the correctness check); ``notes()`` reports what that cost.
"""
import chainrule as cr
import chainrule.numpy as cnp

from . import workloads as W
from .fw_chainrule import mlp_loss, moons_loss

NAME = "chainrule-compiled"
_compiled = []


def version():
    return cr.__version__


def notes():
    """Compile time and program size of the (first) compiled function, for the report."""
    if not _compiled:
        return {}
    s = _compiled[0].stats
    return {"compile_ms": s.get("compile_ms"), "nodes": s.get("nodes"), "lines": s.get("lines")}


def _compile(fn, backend):
    fast = cr.compile(fn, backend=backend)
    _compiled.append(fast)
    return fast


def build(kind, p, backend="numpy"):
    if kind in ("mlp", "moons"):
        params = [a.copy() for a in p["params"]]
        step = _compile(cr.value_and_grad(mlp_loss if kind == "mlp" else moons_loss), backend)
        X, T, lr = p["X"], p["Y" if kind == "mlp" else "y"], p["lr"]

        def run():
            loss, grads = step(params, X, T)
            for q, g in zip(params, grads):
                q -= lr * g
            return loss, grads
        return run, lambda r: W.mlp_outputs(r[0], r[1], params)
    if kind == "hvp":
        params, V, X, Y = tuple(p["params"]), tuple(p["V"]), p["X"], p["Y"]
        hvp = _compile(lambda ps, vs, X, Y: cr.hvp(lambda *q: mlp_loss(q, X, Y), ps, vs), backend)
        return (lambda: hvp(params, V, X, Y)), \
            (lambda r: {f"hvp{i}": h for i, h in enumerate(r)})
    if kind == "chain":
        x0, ops = p["x"], p["ops"]
        vg = _compile(cr.value_and_grad(
            lambda x: cnp.sum(W.chain_forward(x, ops, cnp.tanh, cnp.exp, cnp.sin))), backend)
        return (lambda: vg(x0)), lambda r: {"value": r[0], "grad": r[1]}
    if kind == "logreg":
        X, s, w0, b0, lr, steps = p["X"], p["s"], p["w"], p["b"], p["lr"], p["steps"]
        vg = cr.value_and_grad(lambda w, b, X, neg_s: cnp.mean(cnp.log1p(cnp.exp(neg_s * (X @ w + b)))),
                               argnums=(0, 1))

        def fit(w, b, X, neg_s):
            loss = None
            for _ in range(steps):
                loss, (gw, gb) = vg(w, b, X, neg_s)
                w, b = w - lr * gw, b - lr * gb
            return loss, w, b
        fast = _compile(fit, backend)
        neg_s = -s
        return (lambda: fast(w0, b0, X, neg_s)), \
            (lambda r: {"loss": r[0], "w": r[1], "b": r[2]})
    raise NotImplementedError(kind)
