"""MyGrad: NumPy-backed tensors with backward(); no higher-order derivatives (no W5)."""
import mygrad as mg
from mygrad.nnet import logsoftmax

from . import workloads as W

NAME = "mygrad"


def version():
    return mg.__version__


def _mlp_loss(params, X, Y):
    W1, b1, W2, b2, W3, b3 = params
    h = mg.maximum(mg.matmul(X, W1) + b1, 0.0)
    h = mg.maximum(mg.matmul(h, W2) + b2, 0.0)
    return -mg.sum(Y * logsoftmax(mg.matmul(h, W3) + b3, axis=1)) / X.shape[0]


def _moons_loss(params, X, y):
    W1, b1, W2, b2, W3, b3 = params
    h = mg.maximum(mg.matmul(X, W1) + b1, 0.0)
    h = mg.maximum(mg.matmul(h, W2) + b2, 0.0)
    score = (mg.matmul(h, W3) + b3)[:, 0]
    return mg.mean(mg.maximum(1.0 - y * score, 0.0)) + \
        W.HINGE_L2 * sum(mg.sum(q * q) for q in params)


def build(kind, p):
    if kind in ("mlp", "moons"):
        params = [mg.tensor(a) for a in p["params"]]
        loss_fn = _mlp_loss if kind == "mlp" else _moons_loss
        X, T, lr = p["X"], p["Y" if kind == "mlp" else "y"], p["lr"]

        def run():     # MyGrad replaces .grad on the next backward: nothing to clear
            return W.backward_sgd_step(loss_fn, params, X, T, lr, clear_grad=False)
        return run, lambda r: W.mlp_outputs(r[0], r[1], [t.data for t in params])
    if kind == "chain":
        x0, ops = p["x"], p["ops"]

        def run():
            x = mg.tensor(x0)
            v = mg.sum(W.chain_forward(x, ops, mg.tanh, mg.exp, mg.sin))
            v.backward()
            return v.data, x.grad
        return run, lambda r: {"value": r[0], "grad": r[1]}
    if kind == "logreg":
        X, s, w0, b0, lr, steps = p["X"], p["s"], p["w"], p["b"], p["lr"], p["steps"]

        def run():
            w, b = mg.tensor(w0), mg.tensor(b0)
            loss = None
            for _ in range(steps):
                loss = mg.mean(mg.log1p(mg.exp(-s * (mg.matmul(X, w) + b))))
                loss.backward()
                w.data -= lr * w.grad
                b.data -= lr * b.grad
            return loss.data, w.data, b.data
        return run, lambda r: {"loss": r[0], "w": r[1], "b": r[2]}
    raise NotImplementedError(f"{kind}: MyGrad has no higher-order derivatives")
