"""Gradient clipping: bound the step when a batch produces an exploding gradient."""
from __future__ import annotations

import math

import numpy as np

from ..core.errors import ChainruleError
from ..core.tensor import Tensor
from .optimizers import as_real


def _grads(params):
    if hasattr(params, "parameters") and callable(params.parameters):
        params = params.parameters()
    if isinstance(params, Tensor):
        params = [params]
    out = []
    for p in params:
        g = p.grad
        if g is not None:
            out.append(g.data if isinstance(g, Tensor) else g)
    return out


def clip_grad_norm_(params, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """Scale all gradients together so their global norm is at most ``max_norm``.

    The norm is taken over all gradients as one long vector (torch semantics); the
    scale is max_norm / (norm + 1e-6) when that is below 1, so directions are kept.
    Returns the total norm *before* clipping (a float), handy for logging.
    """
    if max_norm < 0:
        raise ChainruleError("clip_grad_norm_", expected="max_norm >= 0", actual=repr(max_norm),
                             fix="e.g. clip_grad_norm_(model.parameters(), max_norm=1.0)")
    grads = _grads(params)
    if not grads:
        return 0.0
    norm_type = float(norm_type)
    # torch's definition: the norm of the per-gradient norms (for p-norms, ±inf and 0 alike)
    total = _vector_norm([_vector_norm(g, norm_type) for g in grads], norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise ChainruleError("clip_grad_norm_", message="the gradient norm is not finite",
                             expected="finite gradients", actual=f"total norm {total}",
                             fix="lower the learning rate, or look for log(0) / division by 0 "
                                 "in the loss (chainrule.explain can trace where it appears)")
    coef = max_norm / (total + 1e-6)
    if not coef >= 1.0:                 # (a NaN norm makes every gradient NaN, as in torch)
        for g in grads:
            g *= coef
    return total


def _vector_norm(v, order):
    """``torch.linalg.vector_norm`` of the entries of ``v``: p-norms, max (inf), min (−inf)
    and the count of nonzero entries (0)."""
    a = np.abs(np.asarray(v, dtype=np.result_type(np.asarray(v).dtype, np.float64)).ravel())
    if order == math.inf:
        return float(a.max(initial=0.0))
    if order == -math.inf:
        return float(a.min()) if a.size else math.inf
    if order == 0:
        return float(np.count_nonzero(a))
    return float(np.sum(a ** order)) ** (1.0 / order)


def clip_grad_value_(params, clip_value):
    """Clamp every gradient element to [−clip_value, clip_value] in place."""
    for g in _grads(params):
        g = as_real(g)                  # complex: real and imaginary parts each (as torch)
        np.clip(g, -clip_value, clip_value, out=g)


__all__ = ["clip_grad_norm_", "clip_grad_value_"]
