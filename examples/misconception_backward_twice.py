"""Misconceptions: calling backward twice, gradients that add up, and zero_grad.

* ``backward()`` frees the graph (its saved values) as it goes, so a second call
  raises; ``retain_graph=True`` keeps it.
* ``.grad`` *accumulates*: a second backward adds to it (PyTorch does the same).
  That is a feature — accumulating over micro-batches gives the full batch's
  gradient — and a trap: a training loop that forgets ``zero_grad()`` steps with
  the sum of every gradient so far and drifts away from gradient descent.

    python examples/misconception_backward_twice.py

Seed 001's rule w ← w − η ∂E/∂w is checked step by step against the closed form
∂E/∂w = (2/N) Xᵀ(Xw − y) of the mean squared error.
"""
from __future__ import annotations

import numpy as np

import _common
import chainrule as cr
import chainrule.numpy as cnp
from chainrule import optim

X = np.array([[1.0, 0.5], [1.0, -1.0], [1.0, 2.0], [1.0, 1.5], [1.0, -0.5], [1.0, 0.0],
              [1.0, 1.0], [1.0, -2.0]])
Y = np.array([1.2, -0.9, 3.1, 2.4, 0.1, 0.6, 1.9, -2.2])
W0 = np.array([0.0, 0.0])
LR, STEPS = 0.1, 8


def mse(w, X_=X, Y_=Y):
    return cnp.mean((X_ @ w - Y_) ** 2)


def exact_grad(w, X_=X, Y_=Y):
    return 2.0 / len(Y_) * X_.T @ (X_ @ w - Y_)


def train(zero_grad):
    """Plain SGD on the MSE; returns the weights after each step."""
    w = cr.tensor(W0, requires_grad=True)
    opt = optim.SGD([w], lr=LR)
    path = [w.data.copy()]
    for _ in range(STEPS):
        if zero_grad:
            opt.zero_grad()
        mse(w).backward()
        opt.step()
        path.append(w.data.copy())
    return np.array(path)


def main(out="examples-out"):
    r = {}
    _common.heading("1. backward twice: the graph was freed")
    w = cr.tensor(W0, requires_grad=True)
    loss = mse(w)
    loss.backward()
    try:
        loss.backward()
        r["second_backward_error"] = None
    except cr.ChainruleError as e:
        r["second_backward_error"] = str(e)
        print("  " + str(e).replace("\n", "\n  "))

    _common.heading("2. retain_graph=True: the second backward adds to .grad")
    w = cr.tensor(W0, requires_grad=True)
    loss = mse(w)
    loss.backward(retain_graph=True)
    r["grad_once"] = w.grad.copy()
    loss.backward()
    r["grad_twice"] = w.grad.copy()
    print(f"  after one backward:  w.grad = {r['grad_once']}")
    print(f"  after two:           w.grad = {r['grad_twice']}   (twice the gradient)")
    w.zero_grad()
    mse(w).backward()
    r["grad_after_zero"] = w.grad.copy()
    print(f"  zero_grad(), then one backward: w.grad = {r['grad_after_zero']}")

    _common.heading("3. accumulation on purpose: four micro-batches = one full batch")
    w = cr.tensor(W0 + 0.3, requires_grad=True)
    for part in np.array_split(np.arange(len(Y)), 4):
        (mse(w, X[part], Y[part]) / 4).backward()      # each a mean over its batch, ÷ 4
    r["accumulated"] = w.grad.copy()
    r["full_batch"] = exact_grad(w.data)
    print(f"  Σ of micro-batch gradients / 4 = {r['accumulated']}")
    print(f"  full-batch (2/N) Xᵀ(Xw − y)    = {r['full_batch']}")

    _common.heading(f"4. a training loop without zero_grad ({STEPS} SGD steps, η = {LR})")
    right, wrong = train(True), train(False)
    r["path_zero_grad"], r["path_no_zero_grad"] = right, wrong
    r["loss_zero_grad"] = float(np.mean((X @ right[-1] - Y) ** 2))
    r["loss_no_zero_grad"] = float(np.mean((X @ wrong[-1] - Y) ** 2))
    print("  step  with zero_grad        without")
    for k in range(STEPS + 1):
        print(f"  {k:>4}  {np.array2string(right[k], precision=4):<20}  "
              f"{np.array2string(wrong[k], precision=4)}")
    print(f"  final loss: {r['loss_zero_grad']:.4f} with zero_grad, "
          f"{r['loss_no_zero_grad']:.4f} without (every step used the sum of all gradients "
          "so far)")
    return r


if __name__ == "__main__":
    raise SystemExit(_common.cli(main, __doc__))
