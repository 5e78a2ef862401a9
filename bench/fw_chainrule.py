"""chainrule, written the way a user would: Tensors + backward(), cnp and functional ops."""
import chainrule as cr
import chainrule.functional as F
import chainrule.numpy as cnp

from . import workloads as W

NAME = "chainrule"


def version():
    return cr.__version__


def mlp_loss(params, X, Y):
    W1, b1, W2, b2, W3, b3 = params
    h = F.relu(X @ W1 + b1)
    h = F.relu(h @ W2 + b2)
    return F.cross_entropy(h @ W3 + b3, Y)


def moons_loss(params, X, y):
    W1, b1, W2, b2, W3, b3 = params
    h = F.relu(X @ W1 + b1)
    h = F.relu(h @ W2 + b2)
    score = (h @ W3 + b3)[:, 0]
    return cnp.mean(F.relu(1.0 - y * score)) + W.HINGE_L2 * sum(cnp.sum(p * p) for p in params)


def build(kind, p):
    if kind in ("mlp", "moons"):
        params = [cr.tensor(a, requires_grad=True) for a in p["params"]]
        loss_fn = mlp_loss if kind == "mlp" else moons_loss
        X, T, lr = p["X"], p["Y" if kind == "mlp" else "y"], p["lr"]

        def run():
            return W.backward_sgd_step(loss_fn, params, X, T, lr, clear_grad=True)
        return run, lambda r: W.mlp_outputs(r[0], r[1], [t.data for t in params])
    if kind == "hvp":
        params, V, X, Y = tuple(p["params"]), tuple(p["V"]), p["X"], p["Y"]

        def f(*ps):
            return mlp_loss(ps, X, Y)
        return (lambda: cr.hvp(f, params, V)), \
            (lambda r: {f"hvp{i}": h for i, h in enumerate(r)})
    if kind == "chain":
        x0, ops = p["x"], p["ops"]

        def run():
            x = cr.tensor(x0, requires_grad=True)
            v = cnp.sum(W.chain_forward(x, ops, cnp.tanh, cnp.exp, cnp.sin))
            v.backward()
            return v.data, x.grad
        return run, lambda r: {"value": r[0], "grad": r[1]}
    if kind == "logreg":
        X, s, w0, b0, lr, steps = p["X"], p["s"], p["w"], p["b"], p["lr"], p["steps"]
        neg_s = -s

        def run():
            w = cr.tensor(w0, requires_grad=True)
            b = cr.tensor(b0, requires_grad=True)
            for _ in range(steps):
                loss = cnp.mean(cnp.log1p(cnp.exp(neg_s * (X @ w + b))))
                loss.backward()
                w.data -= lr * w.grad
                b.data -= lr * b.grad
                w.grad = b.grad = None
            return loss.data, w.data, b.data
        return run, lambda r: {"loss": r[0], "w": r[1], "b": r[2]}
    raise NotImplementedError(kind)
