"""Misconception: "reverse mode (backprop) is always the cheap one".  It depends on the shape.

For f: Rⁿ → Rᵐ the full Jacobian costs n forward-mode passes (one JVP per input
direction) or m reverse-mode passes (one VJP per output, after one recorded
forward pass).  A loss has m = 1, so reverse mode wins by a factor of n — which is
why training uses backprop; a function of one input with many outputs is the
other way round.  Here the work is counted — every chainrule primitive evaluated
(values and tangents) plus every local rule a backward pass applies — for
f(x) = tanh(A x) with A of shape (m, n).

    python examples/misconception_forward_vs_reverse.py [--out DIR]
"""
from __future__ import annotations

from contextlib import contextmanager

import numpy as np

import _common
import chainrule as cr
import chainrule.numpy as cnp
from chainrule.core import backward, primitive

SIZES = (1, 2, 4, 8, 16, 32)


class _RuleCounter(backward.Observer):
    """Counts the local rules a backward pass applies: one per (node, input) edge."""

    def __init__(self, calls):
        self.calls = calls

    def _hook(self, node, upstream, sent):
        self.calls[0] += len(sent)


@contextmanager
def counting():
    """Count the work done inside the block: every primitive evaluated (the forward passes,
    values and tangents) plus every local rule applied by a backward pass."""
    calls = [0]

    def counted(op, args, kwargs, out):       # a call hook sees every primitive evaluated
        calls[0] += 1
        return out
    primitive.add_call_hook(counted)
    try:
        with _RuleCounter(calls):
            yield calls
    finally:
        primitive.remove_call_hook(counted)


def function(m, n, seed=0):
    A = np.random.default_rng(seed).normal(size=(m, n)) / np.sqrt(n)
    return (lambda x: cnp.tanh(cnp.matmul(A, x))), A


def cost(m, n):
    """(ops for the Jacobian by forward passes, ops by reverse passes), after checking both.

    The textbook way, one pass per column (a jvp along each input direction) or per row (a
    pullback of each output direction).  cr.jacfwd and cr.jacrev do the same passes as one
    batched pass (vmap), which hides the count but not the arithmetic."""
    f, A = function(m, n)
    x = np.linspace(-1.0, 1.0, n)
    with counting() as fwd:
        J_fwd = np.stack([cr.jvp(f, (x,), (e,))[1] for e in np.eye(n)], axis=-1)
    with counting() as rev:
        _, pull = cr.vjp(f, x)
        J_rev = np.stack([pull(u)[0] for u in np.eye(m)])
    exact = (1.0 - np.tanh(A @ x) ** 2)[:, None] * A
    np.testing.assert_allclose(J_fwd, exact, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(J_rev, exact, rtol=1e-10, atol=1e-12)
    return fwd[0], rev[0]


def draw(inputs, outputs, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    for ax, (label, rows) in zip(axes, (("n inputs (m = 1 output)", inputs),
                                        ("m outputs (n = 1 input)", outputs))):
        sizes = [s for s, _, _ in rows]
        ax.plot(sizes, [f for _, f, _ in rows], "o-", label="forward mode (a jvp per input)")
        ax.plot(sizes, [r for _, _, r in rows], "s-", label="reverse mode (a vjp per output)")
        ax.set_xlabel(label)
        ax.set_ylabel("operations (primitives + rules)")
        ax.set_xscale("log", base=2)
        ax.set_yscale("log", base=2)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("cost of the full Jacobian of tanh(A x), A: m × n", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(out="examples-out"):
    r = {"inputs": [], "outputs": []}
    _common.heading("a loss-like function: many inputs, one output (m = 1)")
    print("       n   forward ops   reverse ops   (ops: primitives evaluated + rules applied)")
    for n in SIZES:
        f, b = cost(1, n)
        r["inputs"].append((n, f, b))
        print(f"  {n:>6}   {f:>11}   {b:>11}")
    _common.heading("the other way round: one input, many outputs (n = 1)")
    print("       m   forward ops   reverse ops")
    for m in SIZES:
        f, b = cost(m, 1)
        r["outputs"].append((m, f, b))
        print(f"  {m:>6}   {f:>11}   {b:>11}")
    print("\n  forward mode pays per input, reverse mode per output: choose by the shape of "
          "the Jacobian.")
    _common.heading("picture")
    _common.picture(out, "forward_vs_reverse.png", draw, r["inputs"], r["outputs"])
    return r


if __name__ == "__main__":
    raise SystemExit(_common.cli(main, __doc__))
