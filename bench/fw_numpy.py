"""The reference: hand-written forward + backward in plain NumPy (see workloads.py)."""
import numpy as np

from . import workloads as W

NAME = "numpy"


def version():
    return np.__version__


def build(kind, p):
    """(run, outputs): ``run()`` is the timed unit, ``outputs(run())`` the arrays to check."""
    if kind in ("mlp", "moons"):
        params = [a.copy() for a in p["params"]]
        step = W.mlp_step if kind == "mlp" else W.moons_step
        X, T, lr = p["X"], p["Y" if kind == "mlp" else "y"], p["lr"]
        return (lambda: step(params, X, T, lr)), (lambda r: W.mlp_outputs(r[0], r[1], params))
    if kind == "hvp":
        params, V, X, Y = p["params"], p["V"], p["X"], p["Y"]
        return (lambda: W.mlp_hvp(params, V, X, Y)), \
            (lambda r: {f"hvp{i}": h for i, h in enumerate(r)})
    if kind == "chain":
        x, ops = p["x"], p["ops"]
        return (lambda: W.chain_value_grad(x, ops)), (lambda r: {"value": r[0], "grad": r[1]})
    if kind == "logreg":
        args = p["X"], p["s"], p["w"], p["b"], p["lr"], p["steps"]
        return (lambda: W.logreg_fit(*args)), (lambda r: {"loss": r[0], "w": r[1], "b": r[2]})
    raise NotImplementedError(kind)
