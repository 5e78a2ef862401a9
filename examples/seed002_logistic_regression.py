"""Seed 002, "Gradient Descent" for logistic regression: σ' = σ(1−σ), ∇E = −(y−ŷ)(x, 1).

For one point with prediction ŷ = σ(w·x + b) and error
E = −y ln ŷ − (1−y) ln(1−ŷ), chainrule's gradient is checked against the
seed's closed form, and one gradient-descent step against the seed's update
w ← w + α(y−ŷ)x, b ← b + α(y−ŷ) (also taken by ``chainrule.optim.SGD``).
Then the averaged error is minimised on a small data set.

    python examples/seed002_logistic_regression.py [--out DIR]
"""
from __future__ import annotations

import numpy as np

import _common
import chainrule as cr
import chainrule.functional as F
import chainrule.numpy as cnp
from chainrule.explain.plots import loss_curves, tangent_plot

SIGMOID_AT = np.array([-4.0, -1.0, 0.0, 0.5, 3.0])
XP = np.array([0.5, -1.2, 2.0])          # one point x = (x1, x2, x3)
YP = 1.0                                 # its label
W0 = np.array([0.3, 0.8, -0.4])
B0 = 0.1
ALPHA = 0.5                              # learning rate α
EPOCHS = 60


def point_error(w, b, x=XP, y=YP):
    """The seed's per-point error, written exactly as on the page."""
    y_hat = F.sigmoid(cnp.dot(w, x) + b)
    return -y * cnp.log(y_hat) - (1 - y) * cnp.log(1 - y_hat)


def dataset(m=40, seed=3):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(m, 2))
    y = (x @ np.array([1.5, -2.0]) + 0.5 + 0.6 * rng.normal(size=m) > 0).astype(float)
    return x, y


def mean_error(w, b, x, y):
    """E = −(1/m) Σ [y ln ŷ + (1−y) ln(1−ŷ)]."""
    return F.binary_cross_entropy(F.sigmoid(cnp.matmul(x, w) + b), y)


def main(out="examples-out"):
    r = {}
    _common.heading("σ'(x) = σ(x)(1 − σ(x))")
    r["dsigmoid"] = np.array([float(cr.grad(F.sigmoid)(x)) for x in SIGMOID_AT])
    s = 1 / (1 + np.exp(-SIGMOID_AT))
    for x, d, sx in zip(SIGMOID_AT, r["dsigmoid"], s):
        print(f"  x = {x:>4g}: chainrule σ'(x) = {d:.10f},  σ(1−σ) = {sx * (1 - sx):.10f}")

    _common.heading("one point: ∇E = −(y − ŷ)(x1, ..., xn, 1)")
    r["y_hat"] = float(F.sigmoid(W0 @ XP + B0))
    gw, gb = cr.grad(point_error, argnums=(0, 1))(W0, B0)
    r["grad_w"], r["grad_b"] = np.asarray(gw, dtype=float), float(gb)
    print(f"  x = {XP}, y = {YP:g}, w = {W0}, b = {B0:g}:  ŷ = {r['y_hat']:.6f}")
    print(f"  chainrule: ∂E/∂w = {np.round(r['grad_w'], 6)},  ∂E/∂b = {r['grad_b']:.6f}")
    print(f"  −(y−ŷ)(x, 1) = {np.round(-(YP - r['y_hat']) * np.append(XP, 1), 6)}")
    bce = cr.grad(lambda w, b: F.binary_cross_entropy(F.sigmoid(cnp.dot(w, XP) + b),
                                                       np.array(YP)), argnums=(0, 1))(W0, B0)
    r["grad_w_bce"] = np.asarray(bce[0], dtype=float)
    print(f"  same with chainrule.functional.binary_cross_entropy: {np.round(r['grad_w_bce'], 6)}")

    _common.heading(f"one gradient-descent step, α = {ALPHA:g}")
    r["w1"] = W0 - ALPHA * r["grad_w"]
    r["b1"] = B0 - ALPHA * r["grad_b"]
    print(f"  w ← w − α∇_wE = {np.round(r['w1'], 6)}   (the seed: w + α(y−ŷ)x = "
          f"{np.round(W0 + ALPHA * (YP - r['y_hat']) * XP, 6)})")
    print(f"  b ← b − α∂E/∂b = {r['b1']:.6f}   (the seed: b + α(y−ŷ) = "
          f"{B0 + ALPHA * (YP - r['y_hat']):.6f})")
    w, b = cr.tensor(W0, requires_grad=True), cr.tensor(B0, requires_grad=True)
    opt = cr.optim.SGD([w, b], lr=ALPHA)
    point_error(w, b).backward()
    opt.step()
    r["w1_sgd"], r["b1_sgd"] = np.array(w.data), float(b.data)
    print(f"  chainrule.optim.SGD takes the same step: w = {np.round(r['w1_sgd'], 6)}, "
          f"b = {r['b1_sgd']:.6f}")

    _common.heading("closer label and prediction, smaller gradient (the quiz)")
    r["quiz"] = []
    for b in (-3.0, -1.0, 1.0, 3.0):
        y_hat = float(F.sigmoid(W0 @ XP + b))
        gw, gb = cr.grad(point_error, argnums=(0, 1))(W0, b)
        norm = float(np.linalg.norm(np.append(gw, gb)))
        r["quiz"].append((abs(YP - y_hat), norm))
        print(f"  b = {b:>4g}: |y − ŷ| = {abs(YP - y_hat):.4f},  |∇E| = {norm:.4f}")

    _common.heading(f"gradient descent on m = 40 points, {EPOCHS} steps")
    x, y = dataset()
    w, b = np.zeros(2), 0.0
    history = []
    step = cr.value_and_grad(mean_error, argnums=(0, 1))
    for _ in range(EPOCHS):
        e, (gw, gb) = step(w, b, x, y)
        history.append(float(e))
        w, b = w - ALPHA * gw, b - ALPHA * float(gb)
    r["history"] = history
    r["accuracy"] = float(np.mean(((x @ w + b) > 0) == (y > 0.5)))
    print(f"  E: {history[0]:.4f} → {history[-1]:.4f};  w = {np.round(w, 4)}, b = {b:.4f}; "
          f"training accuracy {r['accuracy']:.0%}")

    _common.heading("pictures")
    _common.picture(out, "seed002_sigmoid_tangent.png", tangent_plot, F.sigmoid, 0.0,
                    xlim=(-6, 6), title="σ(x) at 0: slope σ(0)(1 − σ(0)) = 1/4")
    _common.picture(out, "seed002_loss.png", loss_curves, {"mean error E": history},
                    xlabel="gradient-descent step", ylabel="E",
                    title=f"logistic regression, α = {ALPHA:g}")
    return r


if __name__ == "__main__":
    raise SystemExit(_common.cli(main, __doc__))
