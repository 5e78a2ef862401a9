"""``fit``'s compiled steps: each minibatch's loss, outputs and gradients from one program.

The step is compiled once per batch shape with ``chainrule.compile``: while it is traced, the
model's parameters hold the traced parameter arrays, so the program takes the parameters as
inputs (it never captures their values) and returns their gradients; the optimizer update
stays eager (it runs in place on the parameters).

``fit(compile=None)``, the default, compiles only what is known to replay exactly: models made
of chainrule's own layers and losses, whose forward passes keep no Python state.  A user's
Module may count calls, log, or update buffers in ``forward``; a program would do that once, at
its trace, so such models train eagerly unless ``compile=True`` asks otherwise.  Either way a
model that draws random numbers (dropout) or that a program cannot replay runs eagerly (after
one warning when compiling was asked for), and so does every step while a tensor hook is
registered (a program would call it only at its trace).

Every step's values come from the program, including the call that traces it (the trace itself
is an eager run whose last bits may differ), so a run's numbers do not depend on which step
happened to trace: a resumed run equals an uninterrupted one bit for bit.
"""
from __future__ import annotations

import warnings

from .. import compile as _compile
from .. import losses, models, nn
from ..core.backward import grad_of
from ..core.errors import ChainruleWarning
from ..core.hooks import registry as _tensor_hooks
from ..core.tensor import Tensor

# layers and losses whose forward passes are pure functions of their inputs and parameters
PURE_MODULES = frozenset((
    nn.Linear, nn.ReLU, nn.LeakyReLU, nn.Sigmoid, nn.Tanh, nn.Softplus, nn.Softmax,
    nn.LogSoftmax, nn.Sequential, nn.Identity, nn.MLP, models.LinearRegression,
    models.LogisticRegression, models.SoftmaxRegression, models.MLP))
PURE_LOSSES = frozenset((losses.MSELoss, losses.L1Loss, losses.BCELoss, losses.BCEWithLogitsLoss,
                         losses.CrossEntropyLoss, losses.NLLLoss, losses.HingeLoss))


def known_pure(model, loss_fn):
    """True when every module of ``model`` and the loss are chainrule's own, unmodified, and
    nothing in them draws random numbers (dropout with p > 0)."""
    if type(loss_fn) not in PURE_LOSSES or not hasattr(model, "modules"):
        return False
    return all(m.p == 0 if type(m) is nn.Dropout else type(m) in PURE_MODULES
               for m in model.modules())


class CompiledStep:
    """``step(xb, yb)``: sets every parameter's ``.grad``; returns (loss value, outputs), or
    None when this step must run eagerly (a tensor hook is registered)."""

    def __init__(self, model, loss_fn, task, target, quiet=False):
        self.params = params = list(model.parameters())
        self.quiet = quiet

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
        self.program.quiet_fallback = quiet
        self._hook_warned = False

    def __call__(self, xb, yb):
        if _tensor_hooks:
            if not self.quiet and not self._hook_warned:
                self._hook_warned = True
                warnings.warn("fit(compile=True): a tensor hook is registered, so the steps run "
                              "eagerly (a compiled program would call it only when it is "
                              "traced)", ChainruleWarning, stacklevel=3)
            return None
        arrays = [p.data for p in self.params]
        counts = self.program._counts
        before = counts["traces"]
        loss, out, grads = self.program(arrays, xb, yb)
        if counts["traces"] != before:      # this call traced: take the program's own values
            loss, out, grads = self.program(arrays, xb, yb)
        for p, g in zip(self.params, grads):
            p.grad = g if p.grad is None else p.grad + g
        return loss, out
