"""Seed 003, "Understanding the Basics of Gradients": every worked result, recomputed by chainrule.

derivative of x² · gradients of x²+2y²+3z² and w²+x²+y²+z² · directional derivative ∇f·v ·
subgradients of |x| and ReLU at 0 · chain rule for (x+1)² · ∇‖w‖² = 2w · ∇_w(w·x) = x ·
the linear-regression MSE gradients.

    python examples/seed003_gradients_basics.py [--out DIR]
"""
from __future__ import annotations

import numpy as np

import _common
import chainrule as cr
import chainrule.functional as F
import chainrule.numpy as cnp
from chainrule.explain.plots import subdifferential, tangent_plot

POINT = (1.0, 2.0, 3.0)                      # the seed's (x, y, z)
W4 = np.array([1.0, -2.0, 0.5, 3.0])         # a point (w, x, y, z) for the 4-D example
V = np.array([1.0, 1.0, 1.0]) / np.sqrt(3)   # a unit direction
W = np.array([0.5, -1.0, 2.0])
X = np.array([3.0, 0.25, -1.0])
# a small regression problem: N = 5 observations of 3 features
XS = np.array([[1.0, 2.0, 0.5], [0.0, 1.0, -1.0], [2.0, -1.0, 1.0], [1.5, 0.5, 0.0],
               [-1.0, 1.0, 2.0]])
YS = np.array([3.0, -0.5, 2.0, 2.5, 1.0])
B = 0.3


def squares(x, y, z):
    return x ** 2 + 2 * y ** 2 + 3 * z ** 2


def norm4(v):
    return cnp.sum(v ** 2)


def mse(w, b):
    return F.mse_loss(cnp.matmul(XS, w) + b, YS)


def draw_tangents(path):
    from matplotlib.figure import Figure
    fig = Figure(figsize=(15, 4.3))
    axes = fig.subplots(1, 3)
    tangent_plot(lambda x: x ** 2, 1.0, ax=axes[0], title="f(x) = x² at x = 1: tangent slope 2x = 2")
    tangent_plot(cnp.abs, 0.0, ax=axes[1], title="|x| at 0: subgradients fill [−1, 1]")
    tangent_plot(F.relu, 0.0, ax=axes[2], title="ReLU at 0: subgradients fill [0, 1]")
    fig.savefig(path, dpi=110, bbox_inches="tight")


def main(out="examples-out"):
    r = {}
    _common.heading("1. f(x) = x²: f'(x) = 2x")
    d = cr.grad(lambda x: x ** 2)
    xs = [-1.5, 0.0, 1.0, 2.5]
    r["dx2"] = [float(d(x)) for x in xs]
    for x, g in zip(xs, r["dx2"]):
        print(f"  f'({x:g}) = {g:g}   (2x = {2 * x:g})")

    _common.heading("2. gradients")
    r["grad_squares"] = np.array(cr.grad(squares, argnums=(0, 1, 2))(*POINT), dtype=float)
    print(f"  ∇(x²+2y²+3z²) at (1, 2, 3) = {r['grad_squares']}   (2x, 4y, 6z)")
    r["grad_norm4"] = cr.grad(norm4)(W4)
    print(f"  ∇(w²+x²+y²+z²) at {W4} = {r['grad_norm4']}   (2w, 2x, 2y, 2z)")
    p = np.array(POINT)
    _, r["directional"] = cr.jvp(lambda q: squares(q[0], q[1], q[2]), (p,), (V,))
    r["directional"] = float(r["directional"])
    print(f"  rate of change along v = {np.round(V, 4)}: ∇f·v = "
          f"{float(r['grad_squares'] @ V):.6f}; forward mode (jvp) gives {r['directional']:.6f}")

    _common.heading("3. subgradients at the kink x = 0")
    r["subgrad_abs"] = subdifferential(cnp.abs, 0.0)
    r["subgrad_relu"] = subdifferential(F.relu, 0.0)
    for name, (lo, hi, chosen) in (("|x|", r["subgrad_abs"]), ("ReLU", r["subgrad_relu"])):
        print(f"  {name}: subdifferential [{lo:g}, {hi:g}]; chainrule returns {chosen:g} "
              "(the minimum-norm subgradient)")
    r["abs_away"] = [float(cr.grad(cnp.abs)(x)) for x in (-2.0, 2.0)]
    r["relu_away"] = [float(cr.grad(F.relu)(x)) for x in (-2.0, 2.0)]
    print(f"  away from 0: |x|' = {r['abs_away']} at x = -2, 2;  ReLU' = {r['relu_away']}")

    _common.heading("4. the chain rule: d/dx (x+1)² = 2(x+1)")
    x0 = 2.0
    r["chain"] = float(cr.grad(lambda x: (x + 1) ** 2)(x0))
    print(f"  at x = {x0:g}: {r['chain']:g}   (2(x+1) = {2 * (x0 + 1):g})")
    print(cr.trace(lambda x: (x + 1) ** 2, x0).to_text())

    _common.heading("5. ∇‖w‖² = 2w,  ∇_w (w·x) = x")
    r["grad_sqnorm"] = cr.grad(lambda w: cnp.sum(w * w))(W)
    r["grad_dot"] = cr.grad(lambda w: cnp.dot(w, X))(W)
    print(f"  w = {W}: ∇‖w‖² = {r['grad_sqnorm']}")
    print(f"  x = {X}: ∇_w (w·x) = {r['grad_dot']}")

    _common.heading("6. linear regression, L = (1/N) Σ (w·x_i + b − y_i)²")
    r["mse_grad_w"], r["mse_grad_b"] = cr.grad(mse, argnums=(0, 1))(W, B)
    r["mse_grad_b"] = float(r["mse_grad_b"])
    print(f"  ∂L/∂w = (2/N) Σ (w·x_i+b−y_i) x_i = {np.round(r['mse_grad_w'], 6)}")
    print(f"  ∂L/∂b = (2/N) Σ (w·x_i+b−y_i)     = {r['mse_grad_b']:.6f}")

    _common.heading("pictures")
    _common.picture(out, "seed003_tangents.png", draw_tangents)
    return r


if __name__ == "__main__":
    raise SystemExit(_common.cli(main, __doc__))
