"""Optimizers: the update rules of torch.optim, applied in place to ``p.data``.

Each step reads ``p.grad`` (filled by ``loss.backward()``) and changes the
parameter's array directly: the update is not an operation anyone will
differentiate, so it is not recorded.  Parameters whose ``.grad`` is None are
skipped.  Hyper-parameters live in ``param_groups`` (a list of dicts) so a
scheduler can change ``group['lr']`` between steps.

A complex parameter is updated as its real and imaginary parts, two real numbers
each (torch's ``view_as_real``): ``.grad`` holds PyTorch's convention, so every
rule here descends on complex parameters unchanged (docs/autodiff.md).
"""
from __future__ import annotations

import copy
import math

import numpy as np

from ..core.errors import ChainruleError
from ..core.tensor import Tensor


def _grad(p):
    g = p.grad
    return g.data if isinstance(g, Tensor) else g


def as_real(a):
    """A complex array as a real view of shape (..., 2) (real, imaginary), sharing memory:
    an update written into it changes the complex array."""
    if a.dtype.kind != "c":
        return a
    return a[..., None].view(np.finfo(a.dtype).dtype)


def _state_shape(p):
    return p.data.shape + (2,) if p.data.dtype.kind == "c" else p.data.shape


class Optimizer:
    """Base class: holds param_groups and per-parameter state; subclasses define _update."""

    def __init__(self, params, defaults):
        self.defaults = dict(defaults)
        self.state = {}          # Parameter -> dict of arrays / step counts
        self.param_groups = []
        if hasattr(params, "parameters") and callable(params.parameters):
            params = params.parameters()         # a Module
        if isinstance(params, Tensor):
            params = [params]
        groups = list(params)
        if not groups:
            raise ChainruleError(type(self).__name__, message="got an empty parameter list",
                                 expected="the parameters to train",
                                 actual="nothing (a used-up generator?)",
                                 fix="pass model.parameters() freshly, or a list of Tensors")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for g in groups:
            self.add_param_group(g)

    def add_param_group(self, group):
        group = dict(group)
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        name = type(self).__name__
        for p in params:
            if not isinstance(p, Tensor):
                raise ChainruleError(name, expected="Tensors (Parameters) to optimize",
                                     actual=type(p).__name__,
                                     fix="pass model.parameters() or chainrule.tensor(..., "
                                         "requires_grad=True) leaves")
            if not p.is_leaf:
                raise ChainruleError(name, message="can only optimize leaf Tensors",
                                     expected="a leaf with requires_grad=True (a weight)",
                                     actual=f"a Tensor computed by {p.grad_fn}",
                                     fix="optimize the inputs it was computed from, created with "
                                         "chainrule.tensor(..., requires_grad=True) or "
                                         "nn.Parameter(...)")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params) or len({id(p) for p in params}) != len(params):
            raise ChainruleError(name, message="a parameter appears twice",
                                 expected="each parameter in one group, once",
                                 actual="a repeated parameter",
                                 fix="list every parameter once (model.parameters() does)")
        for k, v in self.defaults.items():
            group.setdefault(k, v)
        group["params"] = params
        self._check(group)
        self.param_groups.append(group)

    def _check(self, group):
        for key in ("lr", "weight_decay", "eps", "momentum"):
            if key in group and group[key] < 0:
                raise ChainruleError(type(self).__name__, message=f"invalid {key}",
                                     expected=f"{key} >= 0", actual=repr(group[key]),
                                     fix=f"pass a non-negative {key}")

    def zero_grad(self, set_to_none=True):
        """Forget the last gradients (backward() adds to .grad, so call this every step)."""
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none or p.grad is None:
                    p.grad = None
                else:
                    p.grad = np.zeros_like(p.data)

    def step(self, closure=None):
        """Apply one update to every parameter that has a gradient; returns closure()'s loss."""
        loss = None
        if closure is not None:
            from ..core.state import enable_grad
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                g = _grad(p)
                if g is None:
                    continue
                if g.shape != p.data.shape:
                    raise ChainruleError(type(self).__name__, message="gradient shape mismatch",
                                         expected=f"grad of shape {p.data.shape}",
                                         actual=f"shape {g.shape}",
                                         fix="do not assign .grad by hand with another shape")
                state = self.state.setdefault(p, {})
                self._update(as_real(p.data), as_real(np.asarray(g)), state, group)
        return loss

    def _update(self, w, g, state, group):
        raise NotImplementedError

    # ------------------------------------------------------- checkpointing
    def state_dict(self):
        """Plain data (numbers and array copies): parameters are referred to by position."""
        index, groups = {}, []
        for group in self.param_groups:
            g = {k: copy.deepcopy(v) for k, v in group.items() if k != "params"}
            g["params"] = []
            for p in group["params"]:
                index.setdefault(id(p), len(index))
                g["params"].append(index[id(p)])
            groups.append(g)
        state = {}
        for group in self.param_groups:
            for p in group["params"]:
                if p in self.state:
                    state[index[id(p)]] = copy.deepcopy(self.state[p])
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Resume from state_dict(): hyper-parameters and buffers (momentum, Adam moments...)."""
        name = type(self).__name__
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups) or any(
                len(a["params"]) != len(b["params"]) for a, b in zip(groups, self.param_groups)):
            raise ChainruleError(
                f"{name}.load_state_dict", message="the saved optimizer does not match",
                expected=f"group sizes {[len(g['params']) for g in self.param_groups]}",
                actual=f"group sizes {[len(g['params']) for g in groups]}",
                fix="build the optimizer over the same parameters, in the same order")
        params = {}
        for saved, group in zip(groups, self.param_groups):
            params.update(zip(saved["params"], group["params"]))
        new_state = {}
        for i, s in state_dict["state"].items():
            p = params[int(i)]
            s = copy.deepcopy(s)
            for k, v in s.items():
                if isinstance(v, np.ndarray) and v.shape != _state_shape(p):
                    raise ChainruleError(
                        f"{name}.load_state_dict", message=f"state {k!r} has the wrong shape",
                        expected=f"shape {_state_shape(p)}", actual=f"shape {v.shape}",
                        fix="load the optimizer state saved with this model")
            new_state[p] = s
        for saved, group in zip(groups, self.param_groups):
            for k, v in saved.items():
                if k != "params":
                    group[k] = copy.deepcopy(v)
        self.state = new_state

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, g in enumerate(self.param_groups):
            lines.append(f"  group {i}: {len(g['params'])} tensors, " + ", ".join(
                f"{k}={v}" for k, v in g.items() if k != "params"))
        return "\n".join(lines + [")"])


class SGD(Optimizer):
    """Stochastic gradient descent, torch.optim.SGD's update:

    g ← ∇ + λw;  b ← μb + (1−τ)g (b = g at the first step);
    g ← g + μb (Nesterov) or g ← b;  w ← w − η g.
    With momentum 0 this is the seeds' rule w ← w − η ∂E/∂w.
    """

    def __init__(self, params, lr, momentum=0.0, dampening=0.0, nesterov=False,
                 weight_decay=0.0):
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ChainruleError("SGD", message="Nesterov momentum needs momentum > 0 and no "
                                 "dampening", expected="momentum > 0, dampening = 0",
                                 actual=f"momentum={momentum}, dampening={dampening}",
                                 fix="e.g. SGD(params, lr=0.1, momentum=0.9, nesterov=True)")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      nesterov=nesterov, weight_decay=weight_decay))

    def _update(self, w, g, state, group):
        lr, mu, wd = group["lr"], group["momentum"], group["weight_decay"]
        if wd:
            g = g + wd * w
        if mu:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = np.array(g, copy=True)
            else:
                buf *= mu
                buf += (1.0 - group["dampening"]) * g
            g = g + mu * buf if group["nesterov"] else buf
        w -= lr * g


GD = SGD   # plain gradient descent: SGD(params, lr) on the full-batch loss


class Adam(Optimizer):
    """Adam (Kingma & Ba), torch.optim.Adam's update, with bias correction:

    m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²;  w ← w − η (m/(1−β₁ᵗ)) / (√(v/(1−β₂ᵗ)) + ε).
    ``weight_decay`` adds λw to g (L2); ``amsgrad`` uses the running maximum of v.
    """

    decoupled = False

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 amsgrad=False):
        if not all(0.0 <= b < 1.0 for b in betas):
            raise ChainruleError(type(self).__name__, message="invalid betas",
                                 expected="0 <= beta < 1 for both", actual=repr(betas),
                                 fix="the usual values are betas=(0.9, 0.999)")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad))

    def _update(self, w, g, state, group):
        lr, (b1, b2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(w)
            state["exp_avg_sq"] = np.zeros_like(w)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = np.zeros_like(w)
        if wd:
            if self.decoupled:
                w *= 1.0 - lr * wd
            else:
                g = g + wd * w
        state["step"] += 1
        t = state["step"]
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m *= b1
        m += (1.0 - b1) * g
        v *= b2
        v += (1.0 - b2) * (g * g)
        if group["amsgrad"]:
            vmax = state["max_exp_avg_sq"]
            np.maximum(vmax, v, out=vmax)
            v = vmax
        denom = np.sqrt(v) / math.sqrt(1.0 - b2 ** t) + eps
        w -= (lr / (1.0 - b1 ** t)) * (m / denom)


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), torch.optim.AdamW:

    w ← w(1 − ηλ) before the Adam step, so decay is not rescaled by the adaptive denominator.
    """

    decoupled = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad)


class RMSprop(Optimizer):
    """RMSprop (Hinton), torch.optim.RMSprop's update:

    s ← αs + (1−α)g²;  centered: a ← αa + (1−α)g, d = √(s − a²) + ε, else d = √s + ε;
    momentum μ: b ← μb + g/d, w ← w − ηb;  otherwise w ← w − η g/d.
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, momentum=0.0, centered=False,
                 weight_decay=0.0):
        if not 0.0 <= alpha <= 1.0:
            raise ChainruleError("RMSprop", expected="0 <= alpha <= 1", actual=repr(alpha),
                                 fix="the usual value is alpha=0.99")
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, momentum=momentum,
                                      centered=centered, weight_decay=weight_decay))

    def _update(self, w, g, state, group):
        lr, alpha, eps, mu = group["lr"], group["alpha"], group["eps"], group["momentum"]
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(w)
            if mu > 0:
                state["momentum_buffer"] = np.zeros_like(w)
            if group["centered"]:
                state["grad_avg"] = np.zeros_like(w)
        state["step"] += 1
        if group["weight_decay"]:
            g = g + group["weight_decay"] * w
        s = state["square_avg"]
        s *= alpha
        s += (1.0 - alpha) * (g * g)
        if group["centered"]:
            a = state["grad_avg"]
            a *= alpha
            a += (1.0 - alpha) * g
            denom = np.sqrt(s - a * a) + eps
        else:
            denom = np.sqrt(s) + eps
        if mu > 0:
            buf = state.setdefault("momentum_buffer", np.zeros_like(w))
            buf *= mu
            buf += g / denom
            w -= lr * buf
        else:
            w -= lr * (g / denom)
