"""Seed 001, "Deriving the Gradient Descent Rule": steepest descent on a 2-weight linear neuron.

The neuron is ŷ = w0·x0 + w1·x1 and the error E is the mean squared error.
At the starting weights both partial derivatives are negative, so (as the
seed's picture shows) the steepest-descent step Δw = −η ∇E increases both
weights.  The error surface, the path and the −∇E arrows are drawn.

    python examples/seed001_steepest_descent.py [--out DIR]
"""
from __future__ import annotations

import numpy as np

import _common
import chainrule as cr
import chainrule.functional as F
from chainrule.explain.plots import descent_path, error_surface

# six training points (x0, x1) with targets near 1.5·x0 + 2·x1
X = np.array([[1.0, 0.5], [0.3, 1.2], [0.8, 0.9], [1.5, 0.2], [0.6, 0.6], [1.1, 1.4]])
Y = np.array([2.55, 2.8, 3.05, 2.6, 2.05, 4.5])
START = {"w0": -1.0, "w1": -0.5}
ETA = 0.25                                   # the learning rate η
STEPS = 25


def error(p):
    """E(w0, w1) = mean over the data of (w0·x0 + w1·x1 − y)²."""
    y_hat = p["w0"] * X[:, 0] + p["w1"] * X[:, 1]
    return F.mse_loss(y_hat, Y)


def main(out="examples-out"):
    r = {}
    _common.heading("the error and its gradient at the starting weights")
    E0, (g0, g1) = cr.value_and_grad(lambda a, b: error({"w0": a, "w1": b}), argnums=(0, 1))(
        START["w0"], START["w1"])
    r["E0"], r["grad0"] = float(E0), np.array([g0, g1], dtype=float)
    print(f"  w = ({START['w0']:g}, {START['w1']:g}):  E = {r['E0']:.6g}")
    print(f"  ∂E/∂w0 = {r['grad0'][0]:.6g},  ∂E/∂w1 = {r['grad0'][1]:.6g}")
    for k, g in enumerate(r["grad0"]):
        print(f"  ∂E/∂w{k} {'<' if g < 0 else '>'} 0: steepest ascent would "
              f"{'decrease' if g < 0 else 'increase'} w{k}, so descent {'increases' if g < 0 else 'decreases'} it")

    _common.heading(f"the gradient-descent rule Δw = −η ∇E, η = {ETA:g}")
    run = descent_path(error, START, ("w0", "w1"), steps=STEPS, lr=ETA)
    r["path"], r["losses"] = run["points"], run["losses"]
    r["step1"] = r["path"][1]
    print(f"  Δw = −{ETA:g}·({r['grad0'][0]:.4g}, {r['grad0'][1]:.4g}) = "
          f"({-ETA * r['grad0'][0]:.4g}, {-ETA * r['grad0'][1]:.4g})")
    print(f"  step 1: w = ({r['step1'][0]:.6g}, {r['step1'][1]:.6g}), E = {r['losses'][1]:.6g}")
    for k in (5, 10, STEPS):
        print(f"  step {k:>2}: w = ({r['path'][k][0]:.6f}, {r['path'][k][1]:.6f}), "
              f"E = {r['losses'][k]:.6g}")
    r["least_squares"] = np.linalg.lstsq(X, Y, rcond=None)[0]
    print(f"  the bottom of the surface (least squares): w = {np.round(r['least_squares'], 6)}")

    _common.heading("pictures")
    _common.picture(out, "seed001_error_surface.png", error_surface, error, START, ("w0", "w1"),
                    steps=STEPS, lr=ETA, title=f"error surface E(w0, w1) and {STEPS} steps of "
                    f"Δw = −η∇E (η = {ETA:g})")
    _common.picture(out, "seed001_error_surface_3d.png", error_surface, error, START,
                    ("w0", "w1"), kind="3d", steps=STEPS, lr=ETA)
    return r


if __name__ == "__main__":
    raise SystemExit(_common.cli(main, __doc__))
