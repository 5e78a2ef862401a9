"""``fit(..., compile=True)``: each minibatch's loss, outputs and gradients from one program.

The step is compiled once per batch shape with ``chainrule.compile``: while it is traced, the
model's parameters hold the traced parameter arrays, so the program takes the parameters as
inputs (it never captures their values) and returns their gradients; the optimizer update
stays eager (it runs in place on the parameters).  A model that draws random numbers (dropout)
or does something else a program cannot replay runs eagerly, after one warning.
"""
from __future__ import annotations

from .. import compile as _compile
from ..core.backward import grad_of
from ..core.tensor import Tensor


class CompiledStep:
    """``step(xb, yb)``: sets every parameter's ``.grad``; returns (loss value, outputs)."""

    def __init__(self, model, loss_fn, task, target):
        self.params = params = list(model.parameters())

        def train_step(arrays, xb, yb):
            kept = [p.data for p in params]
            for p, a in zip(params, arrays):
                p.data = a                 # traced while the program is recorded
            try:
                out = model(Tensor(xb))
                loss = loss_fn(out, target(yb, out, task, loss_fn))
                grads = grad_of(loss, params, create_graph=False, op="fit")
            finally:
                for p, a in zip(params, kept):
                    p.data = a
            return loss.data, out.data, grads
        self.program = _compile(train_step, fallback="eager", max_traces=4)

    def __call__(self, xb, yb):
        loss, out, grads = self.program([p.data for p in self.params], xb, yb)
        for p, g in zip(self.params, grads):
            p.grad = g if p.grad is None else p.grad + g
        return loss, out
