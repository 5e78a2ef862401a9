"""Activations and the seeds' losses, differentiable (``import chainrule.functional as F``).

Every function takes Tensors or arrays.  On arrays it is plain NumPy; on Tensors it is
recorded, and since each loss is built from primitives with exact rules, its gradient
(and Hessian, ...) is exact.  Losses take ``reduction='mean' | 'sum' | 'none'``.

Losses check their inputs first: a silently broadcast (N,) vs (N, 1) target, or float
labels fed to cross_entropy, train a wrong model without any error, so they raise a
``ChainruleError`` naming the shapes and the fix instead.
"""
import numpy as np

from . import numpy as cnp
from .core import batching
from .core.errors import ChainruleError, describe
from .core.tensor import Tensor
from .ops import nn as _nn
from .ops import reductions as _reductions

relu, leaky_relu, sigmoid, softplus = _nn.relu, _nn.leaky_relu, _nn.sigmoid, _nn.softplus
softmax, log_softmax = _nn.softmax, _nn.log_softmax
tanh = cnp.tanh
logsumexp = _reductions.logsumexp

EPS = 1e-12   # binary_cross_entropy clamps p to [EPS, 1 − EPS] inside the logs

__all__ = ["relu", "leaky_relu", "sigmoid", "softplus", "tanh", "softmax", "log_softmax",
           "logsumexp", "mse_loss", "l1_loss", "binary_cross_entropy",
           "binary_cross_entropy_with_logits", "cross_entropy", "nll_loss", "hinge_loss"]


# ------------------------------------------------------------------ helpers
def _values(x):
    """Every value of ``x``, for checks (inside vmap: all examples at once)."""
    return batching.values(x)


def _shape(x):
    """One example's shape inside vmap."""
    return x.shape if isinstance(x, Tensor) else np.shape(x)


def _dtype(x):
    return x.dtype if isinstance(x, Tensor) else np.asarray(x).dtype


def _traced(x):
    """Whether chainrule.compile is tracing ``x`` (its values are then checked when the program
    runs, by the primitive that uses them, not now)."""
    x = batching.core(x)                     # (inside vmap: the batch's array)
    return getattr(type(x.data if isinstance(x, Tensor) else x), "_chainrule_traced", False)


def _reduce(losses, reduction, op):
    if reduction == "mean":
        return cnp.mean(losses)
    if reduction == "sum":
        return cnp.sum(losses)
    if reduction == "none":
        return losses
    raise ChainruleError(op, message=f"unknown reduction {reduction!r}",
                         expected="'mean', 'sum' or 'none'", actual=repr(reduction),
                         fix="pass reduction='mean' (average), 'sum' or 'none' (per element)")


def _same_shape(a, b, op, what=("pred", "target")):
    sa, sb = _shape(a), _shape(b)
    if sa != sb:
        raise ChainruleError(
            op, message=f"{what[0]} and {what[1]} have different shapes (broadcasting them "
                        "would silently compare every pair)",
            expected=f"{what[1]} of shape {sa} (the {what[0]}'s)", actual=f"shape {sb}",
            fix=f"reshape one of them, e.g. {what[1]}.reshape({sa})")


def _check_signs(target, op):
    y = _values(target)
    if not np.all((y == 1) | (y == -1)):
        raise ChainruleError(op, message="targets must be -1 or +1",
                             expected="labels in {-1, +1}", actual=f"values {np.unique(y)[:6]}",
                             fix="map 0/1 labels with 2*y - 1")


def _check_unit_interval(target, op, slack=1e-4):
    """BCE targets are probabilities of class 1: outside [0, 1] the loss can go negative and
    training pushes the model the wrong way, so such targets are refused.  ``slack`` lets a
    finite-difference check step a target of 0 or 1 slightly outside."""
    y = _values(target)
    bad = ~((y >= -slack) & (y <= 1 + slack))
    if np.any(bad):
        raise ChainruleError(op, message="targets must lie in [0, 1]",
                             expected="labels 0 or 1 (or probabilities in [0, 1])",
                             actual=f"{int(bad.sum())} value(s) outside, e.g. "
                                    f"{y[bad].reshape(-1)[0]!r}",
                             fix="for more than two classes use cross_entropy with integer "
                                 "labels; map ±1 labels with (y + 1) / 2")


# ------------------------------------------------------------- regression
def mse_loss(pred, target, reduction="mean"):
    """(pred − target)²; gradient 2(pred − target)/n for the mean."""
    _same_shape(pred, target, "mse_loss")
    return _reduce(cnp.square(pred - target), reduction, "mse_loss")


def l1_loss(pred, target, reduction="mean"):
    """|pred − target|; at a tie the gradient is 0 (the minimum-norm subgradient of |·|)."""
    _same_shape(pred, target, "l1_loss")
    return _reduce(cnp.abs(pred - target), reduction, "l1_loss")


def hinge_loss(scores, target, reduction="mean"):
    """max(0, 1 − y·s) with y in {−1, +1}; gradient −y where the margin is violated."""
    _same_shape(scores, target, "hinge_loss", ("scores", "target"))
    _check_signs(target, "hinge_loss")
    return _reduce(relu(1.0 - target * scores), reduction, "hinge_loss")


# ------------------------------------------------------------ binary labels
def binary_cross_entropy(probs, target, reduction="mean"):
    """−y ln p − (1−y) ln(1−p), the seed-002 loss, for probabilities p in [0, 1].

    p is clamped to [1e-12, 1 − 1e-12] inside each log, so p = 0 or 1 gives a finite loss
    (at most ≈ 27.6) and a finite gradient — exactly the gradient of the clamped loss,
    hence 0 beyond the clamp.  With a sigmoid in front, prefer
    ``binary_cross_entropy_with_logits``: it is exact and keeps its gradient σ(z) − y.
    """
    _same_shape(probs, target, "binary_cross_entropy", ("probs", "target"))
    _check_unit_interval(target, "binary_cross_entropy")
    p = _values(probs)
    if not np.all((p >= 0) & (p <= 1)):
        bad = p[~((p >= 0) & (p <= 1))]
        raise ChainruleError(
            "binary_cross_entropy", message="probs must lie in [0, 1]",
            expected="probabilities in [0, 1]",
            actual=f"{bad.size} value(s) outside, e.g. {bad.reshape(-1)[0]!r}",
            fix="apply sigmoid first, or pass raw scores to binary_cross_entropy_with_logits")
    log_p = cnp.log(cnp.maximum(probs, EPS))
    log_q = cnp.log(cnp.maximum(1.0 - probs, EPS))
    return _reduce(-(target * log_p + (1.0 - target) * log_q), reduction,
                   "binary_cross_entropy")


def binary_cross_entropy_with_logits(logits, target, reduction="mean"):
    """BCE of σ(z) computed from z: max(z,0) − z·y + log1p(e^−|z|) = softplus(z) − z·y.

    Written as softplus so that d/dz = σ(z) − y holds at every z, including z = 0,
    and every higher derivative is smooth.
    """
    _same_shape(logits, target, "binary_cross_entropy_with_logits", ("logits", "target"))
    _check_unit_interval(target, "binary_cross_entropy_with_logits")
    return _reduce(softplus(logits) - logits * target, reduction,
                   "binary_cross_entropy_with_logits")


# ------------------------------------------------------------ class labels
def _target_kind(scores, target, op):
    """Classify a classification target: ("labels", index tuple) or ("dense", floats).

    Classes lie along the last axis: scores (..., C) with labels of shape (...), or
    one-hot/probability targets shaped like the scores.
    """
    shape = _shape(scores)
    if len(shape) == 0:
        raise ChainruleError(op, message="needs a class axis",
                             expected="scores of shape (C,) or (N, C)", actual="a scalar",
                             fix="for two classes use binary_cross_entropy_with_logits")
    y, y_shape, y_dtype = _values(target), _shape(target), _dtype(target)
    lead, n_cls = shape[:-1], shape[-1]
    if len(lead) == 1:
        want = f"integer class labels of shape (N,) = {lead} or one-hot of shape (N, C) = {shape}"
    elif lead:
        want = f"integer class labels of shape {lead} or one-hot of shape {shape}"
    else:
        want = f"a scalar integer class label or one-hot of shape (C,) = {shape}"
    if y_dtype.kind in "iu" and y_shape == lead:
        if y.size and not _traced(target) and (y.min() < 0 or y.max() >= n_cls):
            bad = y[(y < 0) | (y >= n_cls)].reshape(-1)[0]
            raise ChainruleError(op, message="class label out of range",
                                 expected=f"labels in 0 .. {n_cls - 1} ({n_cls} classes)",
                                 actual=f"label {bad}",
                                 fix="check the labels, or give the model one output per class")
        if batching.is_batched(target):          # labels that differ per example (vmap)
            return "batched labels", target
        return "labels", (tuple(np.indices(lead, sparse=True)) + (y,) if lead else (int(y),))
    if y_dtype.kind in "fb" and y_shape == shape:
        t = target if y_dtype.kind == "f" else cnp.astype(target, np.result_type(_dtype(scores), 1.0))
        return "dense", t
    y = np.broadcast_to(np.zeros((), y_dtype), y_shape)
    fix = ("convert the labels: target.astype(int)" if y.dtype.kind == "f" and y.shape == lead
           else f"pass labels of shape {lead} (integers) or targets of shape {shape}")
    raise ChainruleError(op, message="target does not match the scores", expected=want,
                         actual=f"target of {describe(y)} for scores of shape {shape}", fix=fix)


def _nll(log_probs, target, op):
    """Per-sample −log p[label] (integer labels) or −Σ t·log p (one-hot/probability targets)."""
    kind, t = _target_kind(log_probs, target, op)
    if kind == "labels":
        return -cnp.getitem(log_probs, t)
    if kind == "batched labels":
        picked = cnp.take_along_axis(log_probs, cnp.expand_dims(t, -1), axis=-1)
        return -cnp.squeeze(picked, -1)
    # t = 0 must contribute 0 even where log p = -inf (masked logits): double where
    safe = cnp.where(cnp.not_equal(t, 0), log_probs, 0.0)
    return -cnp.sum(t * safe, axis=-1)


def cross_entropy(logits, target, reduction="mean"):
    """Softmax + negative log-likelihood, fused: −log_softmax(z)[label].

    log_softmax never forms e^z of a large z, so logits [1000, 0, −1000] with label 2 give
    loss 2000 and gradient softmax(z) − e_label = [1, 0, −1] with no inf, nan or warning.
    Targets: integer labels of shape logits.shape[:-1], or one-hot/probabilities shaped like
    the logits.
    """
    kind, t = _target_kind(logits, target, "cross_entropy")
    dtype = np.result_type(_dtype(logits), np.float32)
    if kind == "labels":        # as one-hot rows: the fused rule is then softmax(z) − e_label
        t = _nn.one_hot(target, _shape(logits)[-1], dtype)
    elif kind == "batched labels":
        t = cnp.astype(cnp.equal(cnp.expand_dims(t, -1), np.arange(_shape(logits)[-1])), dtype)
    return _reduce(_nn.softmax_cross_entropy(logits, t), reduction, "cross_entropy")


def nll_loss(log_probs, target, reduction="mean"):
    """−log p[label] given log-probabilities (e.g. from log_softmax); targets as cross_entropy."""
    return _reduce(_nll(log_probs, target, "nll_loss"), reduction, "nll_loss")
