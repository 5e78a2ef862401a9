"""Loss objects, PyTorch style: ``loss_fn = CrossEntropyLoss(); loss = loss_fn(logits, y)``.

The math lives in chainrule.functional; these classes only hold the reduction
so a training loop can be configured with a loss *object* (and print it).
"""
from __future__ import annotations

from . import functional as F
from . import numpy as cnp
from .core.errors import ChainruleError
from .core.tensor import Tensor
from .nn.module import Module

_REDUCTIONS = ("mean", "sum", "none")


class Loss(Module):
    """Base class: ``loss(pred, target)`` -> a scalar Tensor (or per-element with 'none')."""

    function = None     # name of the chainrule.functional function the subclass delegates to

    def __init__(self, reduction="mean"):
        super().__init__()
        if reduction not in _REDUCTIONS:
            raise ChainruleError(type(self).__name__, message=f"unknown reduction {reduction!r}",
                                 expected="'mean', 'sum' or 'none'", actual=repr(reduction),
                                 fix="pass reduction='mean' (average over samples)")
        self.reduction = reduction

    def forward(self, pred, target):
        return getattr(F, self.function)(pred, target, reduction=self.reduction)

    def extra_repr(self):
        return f"reduction={self.reduction!r}"


class MSELoss(Loss):
    """Mean squared error (pred − target)²: regression."""
    function = "mse_loss"


class L1Loss(Loss):
    """Mean absolute error |pred − target|: regression that shrugs off outliers."""
    function = "l1_loss"


MAELoss = L1Loss


class BCELoss(Loss):
    """Binary cross-entropy on probabilities in [0, 1] (after a sigmoid)."""
    function = "binary_cross_entropy"


class BCEWithLogitsLoss(Loss):
    """Binary cross-entropy on raw scores: sigmoid fused in, exact and overflow-free."""
    function = "binary_cross_entropy_with_logits"


class _ClassScores(Loss):
    """Scores (N, C) or (C,).  Beyond two dimensions PyTorch's loss classes take the classes
    on axis 1 (N, C, d1, ...) and chainrule.functional on the last axis: a shape that fits
    both would give another number without a word, so these PyTorch-named classes refuse it."""

    def forward(self, pred, target):
        ndim = len(pred.shape) if hasattr(pred, "shape") else cnp.ndim(pred)
        if ndim > 2:
            raise ChainruleError(
                type(self).__name__, message="scores with more than two dimensions are "
                "ambiguous: PyTorch's classes lie on axis 1, chainrule.functional's on the last",
                expected="scores (N, C) or (C,)", actual=f"shape {tuple(pred.shape)}",
                fix=f"call chainrule.functional.{self.function}(scores, target) with the "
                    "classes on the last axis (cnp.moveaxis(scores, 1, -1) turns PyTorch's "
                    "layout into it), or reshape to (N·d, C)")
        return super().forward(pred, target)


class CrossEntropyLoss(_ClassScores):
    """Softmax + negative log-likelihood on logits (N, C); integer labels (N,) or one-hot (N, C)."""
    function = "cross_entropy"


class NLLLoss(_ClassScores):
    """Negative log-likelihood on log-probabilities (e.g. after LogSoftmax)."""
    function = "nll_loss"


class HingeLoss(Loss):
    """max(0, 1 − y·score) with labels y in {−1, +1}: the linear SVM loss."""
    function = "hinge_loss"


def l2_penalty(params, weight):
    """weight · Σ‖p‖², to add to a loss (its gradient is 2·weight·p).

    Note: optimizers' ``weight_decay=λ`` adds λ·p to the gradient, which equals
    ``l2_penalty(params, λ / 2)``.
    """
    if isinstance(params, Module):
        params = params.parameters()
    elif isinstance(params, Tensor):
        params = [params]
    total = None
    for p in params:
        term = cnp.sum(cnp.square(p))
        total = term if total is None else total + term
    if total is None:
        raise ChainruleError("l2_penalty", expected="at least one parameter",
                             actual="an empty list", fix="pass model.parameters()")
    return weight * total


__all__ = ["Loss", "MSELoss", "L1Loss", "MAELoss", "BCELoss", "BCEWithLogitsLoss",
           "CrossEntropyLoss", "NLLLoss", "HingeLoss", "l2_penalty"]
