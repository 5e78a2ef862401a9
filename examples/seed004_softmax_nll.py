"""Seed 004, the gradient of L = −log ŷ_l at the output layer: −e_l/ŷ_l, then −(e_l − ŷ).

ŷ = softmax(a_L).  ``retain_grad()`` keeps the gradient that backward() passes
through ŷ, so both of the seed's results are read off one backward pass:
∇_ŷ L = −e_l / ŷ_l and ∇_{a_L} L = −(e_l − ŷ).

    python examples/seed004_softmax_nll.py [--out DIR]
"""
from __future__ import annotations

import numpy as np

import _common
import chainrule as cr
import chainrule.functional as F
import chainrule.numpy as cnp

A_L = np.array([2.0, 1.0, 0.1, -1.0])       # pre-activations of the k = 4 output neurons
LABEL = 1                                   # l, the true class (0-based)


def backward_through_softmax(a_values=A_L, label=LABEL):
    """(ŷ, ∇_ŷ L, ∇_a L, trace) from one backward pass with ŷ's gradient retained."""
    a = cr.tensor(a_values, requires_grad=True, name="a_L")
    y_hat = F.softmax(a)
    y_hat.retain_grad()
    loss = -cnp.log(y_hat[label])
    with cr.tracing() as t:
        loss.backward()
    return np.array(y_hat.data), np.array(y_hat.grad), np.array(a.grad), t


def draw_bars(y_hat, g_yhat, g_a, path):
    from matplotlib.figure import Figure
    fig = Figure(figsize=(12, 3.6))
    axes = fig.subplots(1, 3)
    k = np.arange(len(y_hat))
    names = [f"{i}{' = l' if i == LABEL else ''}" for i in k]
    for ax, values, title, color in (
            (axes[0], y_hat, r"$\hat y = \mathrm{softmax}(a_L)$", "#1f77b4"),
            (axes[1], g_yhat, r"$\nabla_{\hat y} L = -e_l / \hat y_l$", "#d62728"),
            (axes[2], g_a, r"$\nabla_{a_L} L = -(e_l - \hat y)$", "#2ca02c")):
        ax.bar(k, values, color=color)
        for i, v in zip(k, values):
            ax.annotate(f"{v + 0.0:.3f}", (i, v), ha="center", va="bottom" if v >= 0 else "top",
                        fontsize=8)
        ax.axhline(0, color="gray", lw=0.6)
        lo, hi = min(values.min(), 0.0), max(values.max(), 0.0)
        ax.set_ylim(lo - 0.15 * (hi - lo), hi + 0.15 * (hi - lo))
        ax.set_xticks(k, names)
        ax.set_xlabel("output neuron i")
        ax.set_title(title, fontsize=10)
    fig.savefig(path, dpi=110, bbox_inches="tight")


def main(out="examples-out"):
    import os
    r = {}
    y_hat, g_yhat, g_a, t = backward_through_softmax()
    r["y_hat"], r["grad_y_hat"], r["grad_a"] = y_hat, g_yhat, g_a
    e = np.eye(len(A_L))[LABEL]

    _common.heading(f"a_L = {A_L}, true class l = {LABEL}")
    print(f"  ŷ = softmax(a_L) = {np.round(y_hat, 6)};  L = −log ŷ_l = {-np.log(y_hat[LABEL]):.6f}")
    _common.heading("the gradient with respect to the output ŷ (retain_grad)")
    print(f"  chainrule ŷ.grad = {np.round(g_yhat, 6)}")
    print(f"  −e_l / ŷ_l       = {np.round(-e / y_hat[LABEL], 6) + 0.0}")
    _common.heading("the gradient with respect to the pre-activation a_L")
    print(f"  chainrule a.grad = {np.round(g_a, 6)}")
    print(f"  −(e_l − ŷ)       = {np.round(-(e - y_hat), 6)}")
    r["grad_a_cross_entropy"] = np.asarray(
        cr.grad(lambda a: F.cross_entropy(a[None], np.array([LABEL])))(A_L), dtype=float)
    print(f"  fused chainrule.functional.cross_entropy gives {np.round(r['grad_a_cross_entropy'], 6)}")
    _common.heading("the backward pass, step by step")
    print(t.to_text())

    _common.heading("pictures")
    _common.picture(out, "seed004_gradients.png", draw_bars, y_hat, g_yhat, g_a)
    graph = cr.graph(t)
    path = os.path.join(out, "seed004_graph.dot")
    graph.save(path)
    print(f"wrote {path}")
    return r


if __name__ == "__main__":
    raise SystemExit(_common.cli(main, __doc__))
