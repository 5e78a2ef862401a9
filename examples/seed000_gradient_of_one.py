"""Seed 000, "a gradient of 1 on ŷ" (Deep Learning Book §8.7): ŷ = x·w1·w2·w3 with an MSE loss.

Yes: "the cost put a gradient of 1 on ŷ" means ∂loss/∂ŷ = 1 at the current
weights.  Here the target is chosen so that this holds exactly; chainrule's
backward pass shows the 1 arriving at ŷ (``retain_grad``) and flowing on to
g = ∇_w ŷ.  Then the step w ← w − εg is compared with its Taylor expansion:
first order −ε gᵀg (the book's εgᵀg decrease of ŷ), second order ½ε² gᵀHg,
and the higher orders that make simultaneous updates of deep products tricky.

    python examples/seed000_gradient_of_one.py [--out DIR]
"""
from __future__ import annotations

import os

import numpy as np

import _common
import chainrule as cr
import chainrule.functional as F
from chainrule.explain.plots import loss_curves

X = 1.5                                  # the single input x
W = np.array([0.8, 1.2, 0.5])            # w1, w2, w3
EPS = 0.1                                # ε, the learning rate
# one data point (n = 1) whose target makes ∂loss/∂ŷ = 2(ŷ − y)/n exactly 1
Y = np.array([X * np.prod(W) - 0.5])


def y_hat(w1, w2, w3):
    return X * w1 * w2 * w3


def mse(prediction):
    """MSE over the n data points: (1/n) Σ (y_i − ŷ_i)²."""
    return F.mse_loss(prediction * np.ones(len(Y)), Y)


def loss(w1, w2, w3):
    return mse(y_hat(w1, w2, w3))


def taylor_curves(eps_values, actual, first, second, path):
    loss_curves({"actual change of ŷ": actual, "first order −ε gᵀg": first,
                 "first + second order": np.add(first, second)}, path, x=eps_values,
                xlabel="step size ε", ylabel="change of ŷ", logy=False,
                title="ŷ(w − εg) − ŷ(w) against its Taylor expansion")


def main(out="examples-out"):
    r = {}
    w = [cr.tensor(v, requires_grad=True, name=f"w{i + 1}") for i, v in enumerate(W)]
    _common.heading(f"forward: ŷ = x·w1·w2·w3 with x = {X:g}, w = {W}")
    with cr.tracing() as t:
        out_hat = y_hat(*w)
        out_hat.retain_grad()
        out_hat.name = "ŷ"              # so the trace below labels the node
        L = mse(out_hat)
        L.backward()
    r["y_hat"], r["loss"] = float(out_hat.data), float(L.data)
    r["grad_on_y_hat"] = float(np.sum(out_hat.grad))
    r["g"] = np.array([float(p.grad) for p in w])
    print(f"  ŷ = {r['y_hat']:.6g}, target y = {Y[0]:.6g}, loss = {r['loss']:.6g}")
    _common.heading("backward: the gradient of 1 on ŷ")
    print(f"  ∂loss/∂ŷ = 2(ŷ − y)/n = {r['grad_on_y_hat']:.6g}   ← the '1 on ŷ'")
    print(f"  g = ∇_w loss = 1 · ∇_w ŷ = (x·w2·w3, x·w1·w3, x·w1·w2) = {r['g']}")
    print(t.to_text())
    w_again = [cr.tensor(v, requires_grad=True) for v in W]    # seeding ŷ itself with 1
    y_hat(*w_again).backward()                                  # gives the same g
    r["g_from_y_hat"] = np.array([float(p.grad) for p in w_again])
    print(f"  ŷ.backward() (seed ∂ŷ/∂ŷ = 1) gives the same g: {r['g_from_y_hat']}")

    _common.heading(f"the step w ← w − εg, ε = {EPS:g}: Taylor terms for ŷ")
    step = cr.taylor_step(y_hat, tuple(W), EPS)
    print(step)
    r["taylor"] = {"actual": step.actual, "first_order": step.first_order,
                   "second_order": step.second_order, "max_lr": step.max_lr}
    step_loss = cr.taylor_step(loss, tuple(W), EPS)
    print("  and for the loss itself:")
    print("  " + str(step_loss).replace("\n", "\n  "))
    r["taylor_loss"] = {"actual": step_loss.actual, "first_order": step_loss.first_order,
                        "second_order": step_loss.second_order}

    _common.heading("pictures")
    eps_values = np.linspace(0.0, 0.6, 31)
    steps = [cr.taylor_step(y_hat, tuple(W), e) for e in eps_values]
    _common.picture(out, "seed000_taylor.png", taylor_curves, eps_values,
                    [s.actual for s in steps], [s.first_order for s in steps],
                    [s.second_order for s in steps])
    path = os.path.join(out, "seed000_graph.dot")
    cr.graph(t).save(path)
    print(f"wrote {path}  (render with: dot -Tsvg {path} -o seed000_graph.svg)")
    return r


if __name__ == "__main__":
    raise SystemExit(_common.cli(main, __doc__))
