"""The workloads: their data, their sizes, and the hand-written NumPy forward + backward.

The hand-written functions are both the speed reference (run in the workload's
dtype) and, run in float64 on the same inputs, the correctness reference every
framework is checked against before it is timed.  They are written the way a
careful person would write them by hand: one pass forward, one pass back, no
autodiff machinery.
"""
from __future__ import annotations

import numpy as np

# ---------------------------------------------------------------- the specs
# kind: which builder a framework uses; sizes per mode (full, quick, tiny).
MLP_FULL = {"n": 128, "layers": (784, 256, 256, 10)}
MLP_TINY = {"n": 8, "layers": (12, 6, 5, 3)}
SPECS = {
    "W1": {"kind": "mlp", "dtype": "float32", "title": "MLP 784-256-256-10 SGD step, batch 128",
           "full": MLP_FULL, "quick": MLP_FULL, "tiny": MLP_TINY, "target": 1.10},
    "W1_f64": {"kind": "mlp", "dtype": "float64", "title": "W1 in float64",
               "full": MLP_FULL, "quick": MLP_FULL, "tiny": MLP_TINY, "target": 1.10},
    "W2": {"kind": "chain", "dtype": "float64", "title": "200 scalar-ish ops on 16 elements, fwd+bwd",
           "full": {"n": 16, "ops": 200}, "quick": {"n": 16, "ops": 200},
           "tiny": {"n": 4, "ops": 10}, "target_us_per_op": 3.0},
    "W3": {"kind": "moons", "dtype": "float64", "title": "2-16-16-1 ReLU MLP, hinge, 100 moons",
           "full": {"n": 100, "layers": (2, 16, 16, 1)}, "quick": {"n": 100, "layers": (2, 16, 16, 1)},
           "tiny": {"n": 12, "layers": (2, 4, 4, 1)}, "target": 2.0},
    "W4": {"kind": "logreg", "dtype": "float64", "title": "logistic regression 5000x50, 100 GD steps",
           "full": {"n": 5000, "d": 50, "steps": 100}, "quick": {"n": 5000, "d": 50, "steps": 100},
           "tiny": {"n": 40, "d": 3, "steps": 5}, "target": 1.15},
    "W5": {"kind": "hvp", "dtype": "float32", "title": "Hessian-vector product of W1's loss",
           "full": MLP_FULL, "quick": MLP_FULL, "tiny": MLP_TINY, "target": 1.5},
    "W6": {"kind": "mlp", "dtype": "float32", "title": "MLP 4096-4096-4096-10 SGD step, batch 512",
           "full": {"n": 512, "layers": (4096, 4096, 4096, 10)},
           "quick": {"n": 256, "layers": (1024, 1024, 1024, 10)}, "tiny": MLP_TINY,
           "target": 1.05, "heavy": True},
}
ORDER = list(SPECS)
RTOL = {"float32": 1e-4, "float64": 1e-8}
LR = 0.1
CHAIN_MUL, CHAIN_ADD = 0.9, 0.1
CHAIN_OPS = ("mul", "add", "tanh", "exp", "sin")
HINGE_L2 = 1e-4


def sizes(name, mode):
    return SPECS[name][mode]


# ------------------------------------------------------------------- data
def _mlp_params(rng, layers):
    params = []
    for fan_in, fan_out in zip(layers[:-1], layers[1:]):
        params.append(rng.standard_normal((fan_in, fan_out)) * np.sqrt(2.0 / fan_in))
        params.append(rng.standard_normal(fan_out) * 0.01)
    return params


def two_moons(n, rng, noise=0.1):
    """Two interleaved half circles, labels -1/+1 (our own generator, deterministic by rng)."""
    n1 = n // 2
    t1, t2 = np.linspace(0, np.pi, n1), np.linspace(0, np.pi, n - n1)
    X = np.concatenate([np.stack([np.cos(t1), np.sin(t1)], 1),
                        np.stack([1 - np.cos(t2), 0.5 - np.sin(t2)], 1)])
    X += rng.normal(0.0, noise, X.shape)
    y = np.concatenate([-np.ones(n1), np.ones(n - n1)])
    return X, y


KINK_MARGIN = 1e-4


def away_from_kinks(rng, params, n, d, dtype):
    """Inputs whose ReLU pre-activations all lie at least 1e-4·σ away from 0.

    At a pre-activation within float32 rounding of 0, float32 and float64 may
    take different sides of the kink and their gradients then differ by a
    whole term: that would test rounding at a kink, not the gradient.  Rows
    that come too close are redrawn (deterministically), so the check can stay
    strict everywhere else.
    """
    W1, b1, W2, b2 = params[:4]
    X = rng.standard_normal((n, d)).astype(dtype).astype(np.float64)
    rows = np.arange(n)
    for _ in range(200):
        z1 = X[rows] @ W1 + b1
        z2 = np.maximum(z1, 0) @ W2 + b2
        if rows.size == n:
            s1, s2 = z1.std(), z2.std()
        close = (np.abs(z1) < KINK_MARGIN * s1).any(1) | (np.abs(z2) < KINK_MARGIN * s2).any(1)
        rows = rows[close]
        if not rows.size:
            return X
        X[rows] = rng.standard_normal((rows.size, d)).astype(dtype)
    raise RuntimeError("could not draw inputs away from the ReLU kinks")


def problem(name, mode="full"):
    """The inputs of workload ``name`` as float64 arrays, rounded to its dtype's precision.

    Rounding first means the float64 reference sees exactly the numbers the
    float32 frameworks see.
    """
    spec, sz = SPECS[name], SPECS[name][mode]
    rng = np.random.default_rng(1234)
    kind = spec["kind"]
    if kind in ("mlp", "hvp"):
        layers = sz["layers"]
        params = [a.astype(spec["dtype"]).astype(np.float64) for a in _mlp_params(rng, layers)]
        X = away_from_kinks(rng, params, sz["n"], layers[0], spec["dtype"])
        Y = np.eye(layers[-1])[rng.integers(0, layers[-1], sz["n"])]
        p = {"params": params, "X": X, "Y": Y, "lr": LR}
        if kind == "hvp":
            p["V"] = [rng.standard_normal(w.shape) for w in p["params"]]
    elif kind == "chain":
        p = {"x": rng.uniform(-1, 1, sz["n"]), "ops": sz["ops"]}
    elif kind == "moons":
        X, y = two_moons(sz["n"], rng)
        p = {"params": _mlp_params(rng, sz["layers"]), "X": X, "y": y, "lr": LR}
    elif kind == "logreg":
        X = rng.standard_normal((sz["n"], sz["d"]))
        w_true = rng.standard_normal(sz["d"])
        s = np.sign(X @ w_true + 0.5 * rng.standard_normal(sz["n"]))
        s[s == 0] = 1.0
        p = {"X": X, "s": s, "w": np.zeros(sz["d"]), "b": np.zeros(()), "lr": 0.5,
             "steps": sz["steps"]}
    else:
        raise ValueError(kind)
    return _round(p, spec["dtype"])


def _round(p, dtype):
    def r(v):
        if isinstance(v, np.ndarray):
            return v.astype(dtype).astype(np.float64)
        if isinstance(v, list):
            return [r(a) for a in v]
        return v
    return {k: r(v) for k, v in p.items()}


def cast(p, dtype):
    """The problem with every array in ``dtype`` (what a framework builds from)."""
    def c(v):
        if isinstance(v, np.ndarray):
            return np.ascontiguousarray(v, dtype=dtype)
        if isinstance(v, list):
            return [c(a) for a in v]
        return v
    return {k: c(v) for k, v in p.items()}


# ------------------------------------------------- hand-written NumPy math
def mlp_loss_grad(params, X, Y):
    """Loss and gradients of relu-MLP + mean softmax cross-entropy (one-hot Y), by hand."""
    W1, b1, W2, b2, W3, b3 = params
    n = X.shape[0]
    z1 = X @ W1
    z1 += b1
    a1 = np.maximum(z1, 0)
    z2 = a1 @ W2
    z2 += b2
    a2 = np.maximum(z2, 0)
    z3 = a2 @ W3
    z3 += b3
    z3 -= z3.max(axis=1, keepdims=True)
    e = np.exp(z3)
    s = e.sum(axis=1, keepdims=True)
    loss = -(Y * (z3 - np.log(s))).sum() / n
    dz3 = (e / s - Y) / n                       # softmax − onehot
    gW3, gb3 = a2.T @ dz3, dz3.sum(0)
    dz2 = (dz3 @ W3.T) * (z2 > 0)               # relu'(0) = 0
    gW2, gb2 = a1.T @ dz2, dz2.sum(0)
    dz1 = (dz2 @ W2.T) * (z1 > 0)
    gW1, gb1 = X.T @ dz1, dz1.sum(0)
    return loss, [gW1, gb1, gW2, gb2, gW3, gb3]


def mlp_step(params, X, Y, lr):
    """One SGD step in place; returns the loss and the gradients at the old parameters."""
    loss, grads = mlp_loss_grad(params, X, Y)
    for p, g in zip(params, grads):
        p -= lr * g
    return loss, grads


def mlp_hvp(params, V, X, Y):
    """H·V of the MLP loss by the R-operator: forward-over-reverse, written out by hand.

    R{·} is the directional derivative along V; relu'' = 0 so masks pass R
    straight through, and R{softmax} = p ⊙ (Rz − Σ p Rz).
    """
    W1, b1, W2, b2, W3, b3 = params
    V1, c1, V2, c2, V3, c3 = V
    n = X.shape[0]
    z1 = X @ W1 + b1
    m1 = z1 > 0
    a1 = z1 * m1
    z2 = a1 @ W2 + b2
    m2 = z2 > 0
    a2 = z2 * m2
    z3 = a2 @ W3 + b3
    e = np.exp(z3 - z3.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    dz3 = (p - Y) / n
    # R pass, forward
    Ra1 = (X @ V1 + c1) * m1
    Ra2 = (Ra1 @ W2 + a1 @ V2 + c2) * m2
    Rz3 = Ra2 @ W3 + a2 @ V3 + c3
    Rdz3 = p * (Rz3 - (p * Rz3).sum(axis=1, keepdims=True)) / n
    # R pass, backward
    HW3, Hb3 = Ra2.T @ dz3 + a2.T @ Rdz3, Rdz3.sum(0)
    dz2 = (dz3 @ W3.T) * m2
    Rdz2 = (Rdz3 @ W3.T + dz3 @ V3.T) * m2
    HW2, Hb2 = Ra1.T @ dz2 + a1.T @ Rdz2, Rdz2.sum(0)
    Rdz1 = (Rdz2 @ W2.T + dz2 @ V2.T) * m1
    HW1, Hb1 = X.T @ Rdz1, Rdz1.sum(0)
    return [HW1, Hb1, HW2, Hb2, HW3, Hb3]


def backward_sgd_step(loss_fn, params, X, T, lr, clear_grad):
    """loss.backward(), then p.data -= lr·p.grad for Tensor libraries with that API.

    Returns the loss value and the gradients (for the correctness check)."""
    loss = loss_fn(params, X, T)
    loss.backward()
    grads = []
    for t in params:
        g = t.grad
        t.data -= lr * g
        if clear_grad:
            t.grad = None
        grads.append(g)
    return loss.data, grads


def chain_forward(x, ops, tanh, exp, sin):
    """f_ops(…f_1(x)) with f_i cycling ×c, +c, tanh, exp, sin, in one framework's functions.

    Every framework runs this same loop, so W2 compares the libraries, not the loops.
    """
    for i in range(ops):
        k = i % 5
        x = (x * CHAIN_MUL if k == 0 else x + CHAIN_ADD if k == 1 else
             tanh(x) if k == 2 else exp(x) if k == 3 else sin(x))
    return x


def chain_value_grad(x, ops):
    """sum(f_ops(…f_1(x))) with f_i cycling ×c, +c, tanh, exp, sin; value and gradient."""
    saved = []
    for i in range(ops):
        k = i % 5
        if k == 0:
            y = x * CHAIN_MUL
        elif k == 1:
            y = x + CHAIN_ADD
        elif k == 2:
            y = np.tanh(x)
        elif k == 3:
            y = np.exp(x)
        else:
            y = np.sin(x)
        saved.append((x, y))
        x = y
    g = np.ones_like(x)
    for i in range(ops - 1, -1, -1):
        inp, out = saved[i]
        k = i % 5
        if k == 0:
            g = g * CHAIN_MUL
        elif k == 2:
            g = g * (1 - out * out)
        elif k == 3:
            g = g * out
        elif k == 4:
            g = g * np.cos(inp)
    return x.sum(), g


def moons_loss_grad(params, X, y):
    """mean(relu(1 − y·score)) + 1e-4·Σp² for the 2-16-16-1 relu MLP, by hand."""
    W1, b1, W2, b2, W3, b3 = params
    n = X.shape[0]
    z1 = X @ W1 + b1
    a1 = np.maximum(z1, 0)
    z2 = a1 @ W2 + b2
    a2 = np.maximum(z2, 0)
    score = (a2 @ W3 + b3)[:, 0]
    margin = 1 - y * score
    loss = np.maximum(margin, 0).mean() + HINGE_L2 * sum((p * p).sum() for p in params)
    dscore = (-y * (margin > 0) / n)[:, None]
    gW3, gb3 = a2.T @ dscore, dscore.sum(0)
    dz2 = (dscore @ W3.T) * (z2 > 0)
    gW2, gb2 = a1.T @ dz2, dz2.sum(0)
    dz1 = (dz2 @ W2.T) * (z1 > 0)
    gW1, gb1 = X.T @ dz1, dz1.sum(0)
    grads = [gW1, gb1, gW2, gb2, gW3, gb3]
    return loss, [g + (2 * HINGE_L2) * p for g, p in zip(grads, params)]


def moons_step(params, X, y, lr):
    loss, grads = moons_loss_grad(params, X, y)
    for p, g in zip(params, grads):
        p -= lr * g
    return loss, grads


def logreg_fit(X, s, w, b, lr, steps):
    """``steps`` gradient-descent steps on mean(log(1 + exp(−s(Xw + b)))) from (w, b)."""
    w, b = w.copy(), b.copy()
    n = X.shape[0]
    loss = None
    for _ in range(steps):
        e = np.exp(-s * (X @ w + b))
        loss = np.log1p(e).mean()
        dz = -s * (e / (1 + e)) / n
        w -= lr * (X.T @ dz)
        b -= lr * dz.sum()
    return loss, w, b


# ------------------------------------------------ outputs and the check
def mlp_outputs(loss, grads, params):
    out = {"loss": np.asarray(loss)}
    out.update({f"grad{i}": np.asarray(g) for i, g in enumerate(grads)})
    out.update({f"param{i}": np.asarray(p) for i, p in enumerate(params)})
    return out


def reference(name, p):
    """The float64 hand-written outputs of workload ``name`` on problem ``p``."""
    kind = SPECS[name]["kind"]
    p = cast(p, np.float64)
    if kind == "mlp":
        loss, grads = mlp_step(p["params"], p["X"], p["Y"], p["lr"])
        return mlp_outputs(loss, grads, p["params"])
    if kind == "moons":
        loss, grads = moons_step(p["params"], p["X"], p["y"], p["lr"])
        return mlp_outputs(loss, grads, p["params"])
    if kind == "hvp":
        return {f"hvp{i}": h for i, h in enumerate(mlp_hvp(p["params"], p["V"], p["X"], p["Y"]))}
    if kind == "chain":
        v, g = chain_value_grad(p["x"], p["ops"])
        return {"value": np.asarray(v), "grad": g}
    if kind == "logreg":
        loss, w, b = logreg_fit(p["X"], p["s"], p["w"], p["b"], p["lr"], p["steps"])
        return {"loss": np.asarray(loss), "w": w, "b": np.asarray(b)}
    raise ValueError(kind)


def compare(out, ref, rtol):
    """(worst relative error, mismatches) of ``out`` against ``ref``; no mismatches = agreement.

    Each array must have the reference's shape, be finite, and satisfy
    max|out − ref| ≤ rtol · max|ref| (error relative to the array's scale, so
    entries that cancel to nearly 0 do not demand impossible digits).
    """
    bad, worst = [], 0.0
    for key, r in ref.items():
        if key not in out:
            bad.append(f"{key}: missing")
            continue
        o = np.asarray(out[key], dtype=np.float64)
        r = np.asarray(r, dtype=np.float64)
        if o.size == r.size and o.shape != r.shape:
            o = o.reshape(r.shape)          # () vs (1,) scalars
        if o.shape != r.shape:
            bad.append(f"{key}: shape {o.shape}, expected {r.shape}")
            continue
        if not np.all(np.isfinite(o)):
            bad.append(f"{key}: not finite")
            continue
        if not r.size:
            continue
        scale = float(np.max(np.abs(r)))
        err = float(np.max(np.abs(o - r)))
        rel = err / scale if scale else (0.0 if err == 0 else float("inf"))
        worst = max(worst, rel)
        if err > rtol * scale:
            bad.append(f"{key}: max error {err:.3g} = {rel:.3g} of max|ref| {scale:.3g} "
                       f"(allowed {rtol:g})")
    return worst, bad


def flops(name, mode):
    """Matrix-product FLOPs of one step (for GFLOP/s), or None where not meaningful."""
    spec, sz = SPECS[name], SPECS[name][mode]
    if spec["kind"] != "mlp":
        return None
    n, L = sz["n"], sz["layers"]
    fwd = sum(2 * n * a * b for a, b in zip(L[:-1], L[1:]))
    bwd_w = fwd                                       # one product per weight gradient
    bwd_x = sum(2 * n * a * b for a, b in zip(L[1:-1], L[2:]))   # no dX for the input layer
    return fwd + bwd_w + bwd_x
