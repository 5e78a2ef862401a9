"""PyTorch (CPU), eager mode, the idiomatic way: autograd tensors, backward(), no_grad updates."""
import torch
import torch.nn.functional as TF

from . import workloads as W

NAME = "torch"


def version():
    return torch.__version__


def _mlp_loss(params, X, Y):
    W1, b1, W2, b2, W3, b3 = params
    h = torch.relu(X @ W1 + b1)
    h = torch.relu(h @ W2 + b2)
    return TF.cross_entropy(h @ W3 + b3, Y)          # Y: class probabilities (one-hot)


def _moons_loss(params, X, y):
    W1, b1, W2, b2, W3, b3 = params
    h = torch.relu(X @ W1 + b1)
    h = torch.relu(h @ W2 + b2)
    score = (h @ W3 + b3)[:, 0]
    return torch.relu(1.0 - y * score).mean() + W.HINGE_L2 * sum((q * q).sum() for q in params)


def _np(t):
    return t.detach().numpy()


def build(kind, p):
    if kind in ("mlp", "moons"):
        params = [torch.tensor(a, requires_grad=True) for a in p["params"]]
        X = torch.from_numpy(p["X"])
        T = torch.from_numpy(p["Y" if kind == "mlp" else "y"])
        loss_fn, lr = (_mlp_loss if kind == "mlp" else _moons_loss), p["lr"]

        def run():
            loss = loss_fn(params, X, T)
            loss.backward()
            grads = []
            with torch.no_grad():
                for t in params:
                    g = t.grad
                    t -= lr * g
                    t.grad = None
                    grads.append(g)
            return loss, grads
        return run, lambda r: W.mlp_outputs(_np(r[0]), [_np(g) for g in r[1]],
                                            [_np(t) for t in params])
    if kind == "hvp":
        params = [torch.tensor(a, requires_grad=True) for a in p["params"]]
        V = [torch.from_numpy(v) for v in p["V"]]
        X, Y = torch.from_numpy(p["X"]), torch.from_numpy(p["Y"])

        def run():                                       # double backward
            gs = torch.autograd.grad(_mlp_loss(params, X, Y), params, create_graph=True)
            dot = sum((g * v).sum() for g, v in zip(gs, V))
            return torch.autograd.grad(dot, params)
        return run, lambda r: {f"hvp{i}": _np(h) for i, h in enumerate(r)}
    if kind == "chain":
        x0, ops = torch.from_numpy(p["x"]), p["ops"]

        def run():
            x = x0.clone().requires_grad_(True)
            v = W.chain_forward(x, ops, torch.tanh, torch.exp, torch.sin).sum()
            v.backward()
            return v, x.grad
        return run, lambda r: {"value": _np(r[0]), "grad": _np(r[1])}
    if kind == "logreg":
        X, s = torch.from_numpy(p["X"]), torch.from_numpy(p["s"])
        w0, b0, lr, steps = torch.from_numpy(p["w"]), torch.from_numpy(p["b"]), p["lr"], p["steps"]

        def run():
            w = w0.clone().requires_grad_(True)
            b = b0.clone().requires_grad_(True)
            for _ in range(steps):
                loss = torch.log1p(torch.exp(-s * (X @ w + b))).mean()
                loss.backward()
                with torch.no_grad():
                    w -= lr * w.grad
                    b -= lr * b.grad
                w.grad = b.grad = None
            return loss, w, b
        return run, lambda r: {"loss": _np(r[0]), "w": _np(r[1]), "b": _np(r[2])}
    raise NotImplementedError(kind)
