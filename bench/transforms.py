"""``python -m bench --transforms``: what the vectorised transforms buy, measured side by side.

* Jacobians of an ℝ¹⁰⁰ → ℝ¹⁰⁰ function: ``cr.jacrev`` / ``cr.jacfwd`` (one batched pass
  through vmap) against the row loop chainrule used before (one pullback, or one jvp, per
  row), and a Hessian against the old loop of jvps of the gradient;
* per-example gradients: ``vmap(grad(loss))`` against a Python loop of ``grad``;
* ``checkpoint``: tracemalloc peak of a 20-layer MLP training step (W1's width,
  784-256-...-256-10) with every hidden layer checkpointed, against the plain step;
* SciPy: ``scipy.optimize.root`` on a 50-dimensional system with ``jac=cr.jacobian(F)``
  against SciPy's own finite-difference Jacobian.

Timings are medians of interleaved rounds (the machine is shared: compare ratios from one
run).  Every pair is checked for equal results before it is timed.
"""
from __future__ import annotations

import gc
import statistics
import time
import tracemalloc

import numpy as np


def _median_time(fn, seconds, min_reps=5):
    fn()
    times = []
    start = time.perf_counter()
    while len(times) < min_reps or time.perf_counter() - start < seconds:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def _race(fns, rounds, seconds):
    """{name: median seconds}, the functions timed in interleaved rounds."""
    samples = {k: [] for k in fns}
    for r in range(rounds):
        order = list(fns)[r % len(fns):] + list(fns)[:r % len(fns)]
        for k in order:
            samples[k] += _median_time(fns[k], seconds / rounds, min_reps=3)
    return {k: statistics.median(v) for k, v in samples.items()}


# ------------------------------------------------------------------ jacobians
def _jacobian_problem(n=100, seed=0):
    import chainrule.numpy as cnp
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, n)) / np.sqrt(n)
    b = rng.standard_normal(n)

    def f(x):
        h = cnp.tanh(A @ x + b)
        return h * cnp.sin(x) + cnp.exp(-x * x) * 0.5 + cnp.cumsum(h) / n
    return f, rng.standard_normal(n)


def _mlp_map(n=100, seed=4):
    import chainrule.numpy as cnp
    rng = np.random.default_rng(seed)
    W1, W2 = rng.standard_normal((2, n, n)) / np.sqrt(n)
    b = rng.standard_normal(n)
    return (lambda x: W2 @ cnp.tanh(W1 @ x + b)), rng.standard_normal(n)


def _row_loop_rev(f, x):
    """chainrule's jacobian(mode='rev') before vmap: one pullback per output element."""
    import chainrule as cr
    out, pull = cr.vjp(f, x)
    rows = []
    for i in range(out.size):
        e = np.zeros(out.size)
        e[i] = 1.0
        rows.append(pull(e)[0])
    return np.stack(rows)


def _row_loop_fwd(f, x):
    """... and mode='fwd': one jvp per input element."""
    import chainrule as cr
    cols = []
    for j in range(x.size):
        e = np.zeros(x.size)
        e[j] = 1.0
        cols.append(cr.jvp(f, (x,), (e,))[1])
    return np.stack(cols, axis=-1)


def jacobians(rounds, seconds):
    import chainrule as cr
    import chainrule.numpy as cnp
    f, x = _jacobian_problem()
    ref = _row_loop_rev(f, x)
    for got in (cr.jacrev(f)(x), cr.jacfwd(f)(x), _row_loop_fwd(f, x)):
        assert np.allclose(got, ref, atol=1e-10), "jacobians disagree"
    t = _race({"jacrev": lambda: cr.jacrev(f)(x), "jacfwd": lambda: cr.jacfwd(f)(x),
               "row loop rev": lambda: _row_loop_rev(f, x),
               "row loop fwd": lambda: _row_loop_fwd(f, x)}, rounds, seconds)
    rows = [("Jacobian ℝ¹⁰⁰→ℝ¹⁰⁰ (12 ops), jacrev (vmap)", t["jacrev"],
             t["row loop rev"] / t["jacrev"]),
            ("Jacobian ℝ¹⁰⁰→ℝ¹⁰⁰ (12 ops), jacfwd (vmap)", t["jacfwd"],
             t["row loop fwd"] / t["jacfwd"]),
            ("Jacobian ℝ¹⁰⁰→ℝ¹⁰⁰ (12 ops), row loop of pullbacks (before)", t["row loop rev"], 1.0),
            ("Jacobian ℝ¹⁰⁰→ℝ¹⁰⁰ (12 ops), row loop of jvps (before)", t["row loop fwd"], 1.0)]
    f, x = _mlp_map()
    assert np.allclose(cr.jacrev(f)(x), _row_loop_rev(f, x), atol=1e-10)
    t = _race({"jacrev": lambda: cr.jacrev(f)(x), "row loop rev": lambda: _row_loop_rev(f, x)},
              rounds, seconds)
    rows += [("Jacobian of a 100-100-100 tanh MLP, jacrev (vmap)", t["jacrev"],
              t["row loop rev"] / t["jacrev"]),
             ("Jacobian of a 100-100-100 tanh MLP, row loop of pullbacks (before)",
              t["row loop rev"], 1.0)]

    rng = np.random.default_rng(1)
    n = 50
    A = rng.standard_normal((n, n)) / np.sqrt(n)

    def g(x):
        return cnp.sum(cnp.log1p(cnp.exp(A @ x))) + cnp.sum(x ** 4) * 0.01
    x = rng.standard_normal(n)
    grad = cr.grad(g)

    def old_hessian():
        cols = []
        for j in range(n):
            e = np.zeros(n)
            e[j] = 1.0
            cols.append(cr.jvp(grad, (x,), (e,))[1])
        return np.stack(cols, axis=-1)
    assert np.allclose(cr.hessian(g)(x), old_hessian(), atol=1e-9), "hessians disagree"
    t = _race({"new": lambda: cr.hessian(g)(x), "old": old_hessian}, rounds, seconds)
    rows += [("Hessian ℝ⁵⁰, hessian (jacfwd of jacrev)", t["new"], t["old"] / t["new"]),
             ("Hessian ℝ⁵⁰, loop of jvp(grad) (before)", t["old"], 1.0)]
    return rows


def per_example(rounds, seconds):
    import chainrule as cr
    import chainrule.numpy as cnp
    rng = np.random.default_rng(2)
    B, d = 128, 50
    X, y, w = rng.standard_normal((B, d)), rng.integers(0, 2, B) * 2.0 - 1, rng.standard_normal(d)

    def loss(w, x, y):
        return cnp.log1p(cnp.exp(-y * cnp.dot(x, w))) + 1e-3 * cnp.sum(w * w)
    g = cr.grad(loss)
    batched = cr.vmap(g, in_axes=(None, 0, 0))

    def loop():
        return np.stack([g(w, X[i], y[i]) for i in range(B)])
    assert np.allclose(batched(w, X, y), loop(), atol=1e-12)
    t = _race({"vmap": lambda: batched(w, X, y), "loop": loop}, rounds, seconds)
    return [("per-example gradients, 128 × ℝ⁵⁰ logistic loss, vmap(grad)", t["vmap"],
             t["loop"] / t["vmap"]),
            ("per-example gradients, Python loop of grad (before)", t["loop"], 1.0)]


# ------------------------------------------------------------------ checkpoint
def _mlp_step(batch, use_checkpoint, seed=0):
    import chainrule as cr
    F = cr.functional
    rng = np.random.default_rng(seed)
    sizes = [784] + [256] * 19 + [10]
    params = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        params.append(cr.tensor((rng.standard_normal((a, b)) * np.sqrt(2 / a)).astype(np.float32),
                                requires_grad=True))
        params.append(cr.tensor(np.zeros(b, np.float32), requires_grad=True))
    X = rng.standard_normal((batch, 784)).astype(np.float32)
    Y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, batch)]

    def layer(h, W, b):
        return F.relu(h @ W + b)
    block = cr.checkpoint(layer) if use_checkpoint else layer
    def step():
        h = X
        for k in range(0, len(params) - 2, 2):
            h = block(h, params[k], params[k + 1])
        loss = F.cross_entropy(h @ params[-2] + params[-1], Y)
        loss.backward()
        with cr.no_grad():
            for p in params:
                p.data -= 0.01 * p.grad
                p.grad = None
        return loss.item()
    return step, params


def _peak(step):
    step()
    gc.collect()
    tracemalloc.start()
    step()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def checkpointing(rounds, seconds):
    s_plain, p_plain = _mlp_step(128, False)
    s_ck, p_ck = _mlp_step(128, True)
    # same gradients: one step each from equal parameters
    for a, b in zip(p_plain, p_ck):
        assert np.array_equal(a.data, b.data)
    s_plain(), s_ck()
    for a, b in zip(p_plain, p_ck):
        assert np.allclose(a.data, b.data, atol=1e-6), "checkpointed step differs"
    grads_bytes = sum(p.data.nbytes for p in p_plain)
    rows = []
    for batch in (128, 512):
        plain = _peak(_mlp_step(batch, False)[0])
        ck = _peak(_mlp_step(batch, True)[0])
        rows.append((f"20-layer MLP, batch {batch}: peak, plain", plain, None))
        rows.append((f"20-layer MLP, batch {batch}: peak, checkpoint", ck, ck / plain))
        if batch == 128:
            rows.append((f"20-layer MLP, batch {batch}: peak beyond the parameter gradients "
                         f"({grads_bytes / 2**20:.1f} MiB), checkpoint ÷ plain",
                         ck - grads_bytes, (ck - grads_bytes) / (plain - grads_bytes)))
    t = _race({"plain": _mlp_step(128, False)[0], "ck": _mlp_step(128, True)[0]},
              rounds, seconds)
    rows.append(("20-layer MLP, batch 128: step time, checkpoint ÷ plain", t["ck"],
                 t["ck"] / t["plain"]))
    return rows


# ----------------------------------------------------------------------- scipy
def _system(n=50, seed=3):
    """docs/autodiff.md's system: 50 equations, a few operations each."""
    import chainrule.numpy as cnp
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, n)) / np.sqrt(n)
    c = rng.standard_normal(n)

    def F(x):
        return x + 0.5 * cnp.tanh(A @ x) + 0.1 * x ** 3 - c
    return F, np.zeros(n)


def _deep_system(n=50, depth=10, seed=5):
    """50 equations through a nonlinear network: about 40 operations per evaluation."""
    import chainrule.numpy as cnp
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, n)) / np.sqrt(n)
    c = rng.standard_normal(n)

    def F(x):
        h = A @ x
        for _ in range(depth):
            h = cnp.tanh(h) + 0.1 * cnp.sin(h)
        return x - 0.5 * h - c
    return F, np.zeros(n)


def scipy_root(rounds, seconds):
    import scipy.optimize as so

    import chainrule as cr
    rows = []
    for label, (F, x0) in (("few ops", _system()), ("~40 ops", _deep_system())):
        J = cr.jacobian(F)
        CJ = cr.compile(cr.jacobian(F))          # traced once here, replayed in every solve
        for method in ("hybr", "lm"):
            ex = so.root(F, x0, jac=J, method=method)
            cx = so.root(F, x0, jac=CJ, method=method)
            fd = so.root(F, x0, method=method)
            assert fd.success and ex.success and np.allclose(fd.x, ex.x, atol=1e-7)
            assert cx.success and np.allclose(cx.x, ex.x, atol=1e-12)
            t = _race({"jac": lambda: so.root(F, x0, jac=J, method=method),
                       "compiled": lambda: so.root(F, x0, jac=CJ, method=method),
                       "fd": lambda: so.root(F, x0, method=method)}, rounds, seconds)
            rows.append((f"scipy.optimize.root, 50 equations ({label}), method={method!r}: "
                         f"jac=cr.jacobian(F), {ex.nfev} F calls", t["jac"], t["fd"] / t["jac"]))
            rows.append((f"  ... jac=cr.compile(cr.jacobian(F))", t["compiled"],
                         t["fd"] / t["compiled"]))
            rows.append((f"  ... SciPy's finite-difference Jacobian, {fd.nfev} F calls", t["fd"],
                         1.0))
    return rows


def _fmt(value, is_bytes):
    if is_bytes:
        return f"{value / 2**20:.2f} MiB"
    return f"{value * 1e3:.3f} ms" if value >= 1e-3 else f"{value * 1e6:.1f} µs"


def main(args=None):
    try:                                 # one BLAS thread, as the other benchmarks run
        from threadpoolctl import threadpool_limits
        limits = threadpool_limits(getattr(args, "threads", 1))
    except ImportError:
        limits = None
    try:
        return _main(args)
    finally:
        if limits is not None:
            limits.restore_original_limits()


def _main(args):
    quick = getattr(args, "mode", "full") != "full"
    rounds, seconds = (2, 1.0) if quick else (5, 3.0)
    if getattr(args, "mode", None) == "tiny":
        rounds, seconds = 1, 0.0
    sections = [("time", jacobians), ("time", per_example), ("bytes", checkpointing)]
    try:
        import scipy  # noqa: F401
        sections.append(("time", scipy_root))
    except ImportError:
        print("scipy not installed: the root-finding comparison is skipped")
    print(f"chainrule transforms ({'quick' if quick else 'full'}); ratio = before ÷ after "
          f"(speed-up), or checkpoint ÷ plain for memory")
    for kind, fn in sections:
        for name, value, ratio in fn(rounds, seconds):
            r = "" if ratio is None else f"{ratio:.2f}×"
            is_bytes = kind == "bytes" and "time" not in name
            print(f"  {name:<92} {_fmt(value, is_bytes):>12}  {r}")
    return 0


if __name__ == "__main__":
    import sys
    sys.exit(main())
