"""What one gradient step really does: its Taylor expansion, term by term.

For the step w ← w − ε g with g = ∇f(w) (Deep Learning Book §4.3 and §8.7),

    f(w − εg) = f(w) − ε gᵀg + ½ ε² gᵀHg + (third and higher order terms)

The first-order term is the decrease the gradient promises; the second-order
term (curvature along g, from a Hessian-vector product, never the full
Hessian) eats into it and wins once ε > 2 gᵀg / gᵀHg.  In a deep product such
as ŷ = x·w1·…·wl the higher-order terms grow with depth: updating every layer
at once with gradients computed for one-layer-at-a-time changes is what §8.7
(and batch normalization's motivation) is about.

    r = cr.taylor_step(loss, (w1, w2, w3), lr=0.1)
    print(r)            # actual change vs. first- and second-order predictions
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..core.errors import ChainruleError
from ..core.tensor import Tensor
from ..core.jacobians import hvp
from ..core.transforms import value_and_grad


@dataclass
class TaylorStep:
    """One gradient step w ← w − ε g, compared with its Taylor expansion."""
    lr: float            # ε
    loss: float          # f(w)
    new_loss: float      # f(w − εg)
    actual: float        # f(w − εg) − f(w)
    first_order: float   # −ε gᵀg
    second_order: float  # ½ ε² gᵀHg
    gTg: float           # gᵀg, the squared gradient norm
    gHg: float           # gᵀHg, the curvature along the gradient (times ‖g‖²)
    max_lr: float        # largest ε for which the 2nd-order model still predicts a decrease
    grads: object        # g, shaped like the parameters
    new_params: object   # w − εg

    @property
    def predicted(self):
        """First plus second order: what a quadratic model of f expects."""
        return self.first_order + self.second_order

    @property
    def remainder(self):
        """Third and higher order terms: the part no quadratic model sees."""
        return self.actual - self.predicted

    def __str__(self):
        rows = [
            ("loss before", "f(w)", self.loss),
            ("loss after", "f(w − εg)", self.new_loss),
            ("actual change", "f(w − εg) − f(w)", self.actual),
            ("first order", "−ε gᵀg", self.first_order),
            ("second order", "½ ε² gᵀHg", self.second_order),
            ("predicted (1st + 2nd)", "", self.predicted),
            ("higher orders (actual − predicted)", "", self.remainder),
        ]
        wa = max(len(a) for a, _, _ in rows)
        wb = max(len(b) for _, b, _ in rows)
        lines = [f"gradient step w ← w − ε g with ε = {self.lr:g}  "
                 f"(gᵀg = {self.gTg:.6g}, gᵀHg = {self.gHg:.6g})"]
        lines += [f"  {a.ljust(wa)}  {b.ljust(wb)}  {v: .6g}" for a, b, v in rows]
        if math.isinf(self.max_lr):
            lines.append("  gᵀHg ≤ 0: the second-order model predicts a decrease for every ε")
        else:
            lines.append(f"  the second-order model predicts a decrease only for "
                         f"ε < 2 gᵀg / gᵀHg = {self.max_lr:.6g}"
                         + ("  (this step is beyond it)" if self.lr >= self.max_lr else ""))
        return "\n".join(lines)


def _as_array(p):
    a = p.data if isinstance(p, Tensor) else np.asarray(p)
    return a.astype(np.float64) if a.dtype.kind not in "fc" else a


def _vdot(a, b):
    return float(np.real(np.vdot(np.asarray(a), np.asarray(b))))


def taylor_step(loss_fn, params, lr):
    """Analyse one gradient-descent step of size ``lr`` on ``loss_fn`` at ``params``.

    ``params`` is one array (called as ``loss_fn(w)``) or a tuple/list of arrays
    (called as ``loss_fn(*params)``).  Returns a TaylorStep: the actual loss
    change, −ε gᵀg, ½ ε² gᵀHg (one Hessian-vector product), and 2 gᵀg / gᵀHg.
    """
    multi = isinstance(params, (tuple, list))
    ps = tuple(_as_array(p) for p in params) if multi else (_as_array(params),)
    if multi and not ps:
        raise ChainruleError("taylor_step", expected="at least one parameter array",
                             actual="an empty sequence", fix="pass the parameters to step")
    lr = float(lr)
    argnums = tuple(range(len(ps)))
    value, grads = value_and_grad(loss_fn, argnums=argnums)(*ps)
    gs = tuple(np.asarray(g) for g in grads)
    hg = hvp(lambda *w: loss_fn(*w), ps, gs)
    hg = hg if isinstance(hg, tuple) else (hg,)
    gTg = sum(_vdot(g, g) for g in gs)
    gHg = sum(_vdot(g, h) for g, h in zip(gs, hg))
    new = tuple(p - lr * g for p, g in zip(ps, gs))
    new_value = float(np.real(np.asarray(_plain(loss_fn(*new)))))
    value = float(np.real(np.asarray(value)))
    return TaylorStep(
        lr=lr, loss=value, new_loss=new_value, actual=new_value - value,
        first_order=-lr * gTg, second_order=0.5 * lr * lr * gHg, gTg=gTg, gHg=gHg,
        max_lr=2.0 * gTg / gHg if gHg > 0 else math.inf,
        grads=gs if multi else gs[0], new_params=new if multi else new[0])


def _plain(v):
    return v.data if isinstance(v, Tensor) else v
