"""Neural-network primitives: activations whose derivatives the seeds derive by hand.

Each forward function is written for numerical stability (never exponentiate a
large positive number); each rule is written with chainrule primitives and uses
``ans`` where the derivative is a function of the output (σ' = σ(1−σ)), so
every order of derivative comes from the same line.

At a kink the rule returns the minimum-norm subgradient: relu'(0) = 0 (seed 003),
leaky_relu'(0) = the point of [min(s, 1), max(s, 1)] nearest 0 (= s for 0 ≤ s < 1).
"""
import numpy as np

from ..core.batching import batch_elementwise, shift_axes
from ..core.errors import ChainruleError
from ..core.primitive import Primitive, defbatch, defjvp, defvjp
from ..core.tensor import Tensor
from .elementwise import clip, exp, maximum, minimum, where
from .reductions import _shift, sum
from .shape import reshape

_ops = {}


def _float(x):
    """``x`` as a floating array: activations of integers are real numbers."""
    a = np.asarray(x)
    return a if a.dtype.kind in "fc" else a.astype(np.float64)


def _value(x):
    return x.data if isinstance(x, Tensor) else x


# ------------------------------------------------------------------ forward
def _relu(x):
    x = _float(x)
    return np.maximum(x, 0.0).astype(x.dtype, copy=False)


def _leaky_relu(x, negative_slope=0.01):
    x = _float(x)
    return np.where(x > 0, x, x * negative_slope).astype(x.dtype, copy=False)


def _sigmoid(x):
    x = _float(x)
    e = np.exp(-np.abs(x))               # in (0, 1]: cannot overflow
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(x.dtype, copy=False)


def _softplus(x):
    x = _float(x)                        # log(1+eˣ) = max(x, 0) + log1p(e^−|x|)
    return (np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))).astype(x.dtype, copy=False)


def _log_softmax(x, axis=-1):
    x = _float(x)
    s = x - _shift(x, axis)
    with np.errstate(divide="ignore"):  # a row of -inf gives -inf, quietly
        return s - np.log(np.sum(np.exp(s), axis=axis, keepdims=True))


def _softmax(x, axis=-1):
    x = _float(x)
    e = np.exp(x - _shift(x, axis))
    return e / np.sum(e, axis=axis, keepdims=True)


# -------------------------------------------------------------- local slopes
def _step(x):
    """relu'(x): 1 for x > 0, else 0 (0 at the kink: the minimum-norm subgradient).

    A boolean mask, so ``g * _step(x)`` keeps g's dtype (no float64 detour for float32 nets).
    """
    return x > 0


def _leaky_slope(x, s):
    """leaky_relu'(x): 1 for x > 0, s for x < 0, and at 0 the element of [s, 1] nearest 0."""
    if isinstance(s, (int, float)):
        at_kink = min(max(0.0, min(s, 1.0)), max(s, 1.0))
    else:                  # a Tensor or array slope: computed with primitives, so it is traced
        at_kink = clip(0.0, minimum(s, 1.0), maximum(s, 1.0))
    return where(x > 0, 1.0, where(x < 0, s, at_kink))


# ------------------------------------------------------------------- table
relu = _ops["relu"] = Primitive("relu", _relu, doc="max(x, 0); relu'(0) = 0.")
defvjp(relu, lambda g, ans, x: g * _step(x), formulas={0: "[x>0]"})
defjvp(relu, lambda t, ans, x: t * _step(x))
relu.kink = (lambda ans, x: _value(x) == 0, "[0, 1]", "0")

leaky_relu = _ops["leaky_relu"] = Primitive(
    "leaky_relu", _leaky_relu, doc="x for x > 0, negative_slope·x otherwise (slope differentiable too).")
defvjp(leaky_relu,
       lambda g, ans, x, negative_slope=0.01: g * _leaky_slope(x, negative_slope),
       lambda g, ans, x, negative_slope=0.01: g * where(x > 0, 0.0, x),
       formulas={0: "1 if x>0 else slope", 1: "0 if x>0 else x"})
defjvp(leaky_relu,
       lambda t, ans, x, negative_slope=0.01: t * _leaky_slope(x, negative_slope),
       lambda t, ans, x, negative_slope=0.01: t * where(x > 0, 0.0, x))
leaky_relu.kink = (lambda ans, x, negative_slope=0.01: _value(x) == 0,
                   "[min(slope, 1), max(slope, 1)]", "slope (for 0 ≤ slope < 1; nearest 0 in general)")

sigmoid = _ops["sigmoid"] = Primitive("sigmoid", _sigmoid, doc="1/(1+e^−x), stable for large |x|.")
defvjp(sigmoid, lambda g, ans, x: g * (ans * (1.0 - ans)), formulas={0: "σ(x)(1−σ(x))"})
defjvp(sigmoid, lambda t, ans, x: t * (ans * (1.0 - ans)))

softplus = _ops["softplus"] = Primitive("softplus", _softplus, doc="log(1+eˣ), stable for large |x|.")
defvjp(softplus, lambda g, ans, x: g * sigmoid(x), formulas={0: "σ(x)"})
defjvp(softplus, lambda t, ans, x: t * sigmoid(x))

softmax = _ops["softmax"] = Primitive("softmax", _softmax, doc="e^x / Σe^x along axis, shifted by the max.")
defvjp(softmax, lambda g, ans, x, axis=-1: ans * (g - sum(g * ans, axis=axis, keepdims=True)),
       formulas={0: "diag(p) − p pᵀ"})
defjvp(softmax, lambda t, ans, x, axis=-1: ans * (t - sum(t * ans, axis=axis, keepdims=True)))

log_softmax = _ops["log_softmax"] = Primitive(
    "log_softmax", _log_softmax, doc="x − logsumexp(x) along axis, never forming e^x of a large x.")
defvjp(log_softmax, lambda g, ans, x, axis=-1: g - exp(ans) * sum(g, axis=axis, keepdims=True),
       formulas={0: "I − 1 softmax(x)ᵀ"})
defjvp(log_softmax, lambda t, ans, x, axis=-1: t - sum(exp(ans) * t, axis=axis, keepdims=True))



def _wide(z):
    """float16/float32 scores in float64: the loss of a confident prediction is a small
    difference of large numbers in float32; in float64 it costs the same on a 10-class axis."""
    return z.astype(np.float64) if z.dtype.kind == "f" and z.dtype.itemsize < 8 else z


def _xent_parts(z, t):
    """(T = Σt, shifted scores z − c, Σ t·(c − z) ≥ 0) per row, in float64 for narrow z.

    The shift c is the target-weighted score Σt·z/Σt when every score is moderate (no
    overflow possible, and no per-row max, which is slow on a short class axis); then
    Σ t·(c − z) = 0 and the loss T·log Σ e^(z−c) is one non-negative term: exactly 0 for a
    single class and for e_l·z with one logit, accurate to rounding for confident
    predictions.  Otherwise c is the row max, and the loss T·log Σ e^(z−c) + Σ t·(c − z)
    adds two non-negative terms: still no cancellation, and t = 0 ignores z = −inf.
    """
    moderate = _moderate(z)             # (on the narrow scores: the same answer, fewer bytes)
    z, t = _wide(z), _wide(_float(t))
    total = t.sum(axis=-1, keepdims=True)
    if moderate:
        with np.errstate(invalid="ignore", divide="ignore"):
            c = (t * z).sum(axis=-1, keepdims=True) / total
        if _moderate(c) or _moderate(c := np.where(total == 0, 0.0, c)):   # rows with Σt = 0
            return total, z - c, None
    c = _shift(z, -1)
    extra = np.where(t != 0, t * (c - np.where(np.isfinite(z), z, c)), 0.0).sum(axis=-1)
    return total, z - c, extra


def _softmax_xent(z, t):
    """Per row Σt·logsumexp(z) − Σ t·z, in the scores' dtype, computed without cancellation."""
    z = _float(z)
    total, s, extra = _xent_parts(z, t)
    with np.errstate(divide="ignore"):         # a row of −inf gives inf/nan as NumPy would
        loss = total[..., 0] * np.log(np.exp(s).sum(axis=-1))
    if extra is not None:
        loss += extra
    return loss.astype(z.dtype, copy=False)


def _xent_slope(z, t):
    """softmax(z)·Σt − t on plain arrays, from the same shifted scores (float64 for float32)."""
    z = _float(z)
    total, s, _ = _xent_parts(z, t)
    e = np.exp(s)
    return (e * (total / e.sum(axis=-1, keepdims=True)) - t).astype(z.dtype, copy=False)


def _one_hot(labels, n_classes, dtype):
    """Rows of zeros with a 1 at each label; labels are checked here, every time it runs."""
    labels = np.asarray(labels)
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        bad = labels[(labels < 0) | (labels >= n_classes)].reshape(-1)[0]
        raise ChainruleError("cross_entropy", message="class label out of range",
                             expected=f"labels in 0 .. {n_classes - 1} ({n_classes} classes)",
                             actual=f"label {bad}",
                             fix="check the labels, or give the model one output per class")
    out = np.zeros(labels.shape + (n_classes,), dtype=dtype)
    np.put_along_axis(out, labels[..., None], 1, axis=-1)
    return out


# integer labels as one-hot rows: a primitive, so a compiled program builds them from each
# call's labels (chainrule.compile) instead of freezing the first call's
one_hot = _ops["one_hot"] = Primitive("one_hot", _one_hot, differentiable=False)


def _rows(g, like):
    """A per-row gradient as a column, to scale whole rows of ``like``."""
    return reshape(g, np.shape(g) + (1,)) if np.ndim(like) else g


def _moderate(z):
    """All scores finite and small enough that e^(z − c) cannot overflow for |c| < 60.

    (A per-row max over a short class axis is slow in NumPy; two whole-array
    reductions are cheap.)"""
    hi, lo = z.max(initial=-np.inf), z.min(initial=np.inf)
    return bool(-60.0 < lo and hi < 60.0)


def _plain_pair(z, t):
    return type(z) is np.ndarray and type(t) is np.ndarray


def _xent_vjp_scores(g, ans, z, t):
    if _plain_pair(z, t) and isinstance(g, (np.ndarray, np.generic)):
        # first-order pass on plain arrays: the accurate formula straight in NumPy
        return np.asarray(g)[..., None] * _xent_slope(z, t)
    return _rows(g, z) * (softmax(z) * sum(t, axis=-1, keepdims=True) - t)


def _xent_jvp_scores(dz, ans, z, t):
    if _plain_pair(z, t) and type(dz) is np.ndarray:
        return np.sum(dz * _xent_slope(z, t), axis=-1)
    return sum(dz * (softmax(z) * sum(t, axis=-1, keepdims=True) - t), axis=-1)


# Softmax followed by cross-entropy, as one op (seed 004): the gradient with respect to the
# scores is softmax(z)·Σt − t, i.e. −(e_l − ŷ) for a one-hot target.
softmax_cross_entropy = _ops["softmax_cross_entropy"] = Primitive(
    "softmax_cross_entropy", _softmax_xent, doc="−Σ t·log_softmax(z) per row, fused and stable.")
defvjp(softmax_cross_entropy,
       _xent_vjp_scores,
       lambda g, ans, z, t: _rows(g, z) * -log_softmax(z),
       formulas={0: "softmax(z)·Σt − t", 1: "−log_softmax(z)"})
defjvp(softmax_cross_entropy,
       _xent_jvp_scores,
       lambda dt, ans, z, t: sum(dt * -log_softmax(z), axis=-1))


globals().update(_ops)
__all__ = sorted(_ops)


# ------------------------------------------------------- batching rules (vmap)
def _batch_along(op, bdims, n, x, axis=-1):
    """softmax / log_softmax of one example along ``axis``: the same axis of the batch."""
    return op(x, shift_axes(axis, len(x.shape) - 1))


BATCH = {
    "relu": batch_elementwise, "leaky_relu": batch_elementwise, "sigmoid": batch_elementwise,
    "softplus": batch_elementwise, "softmax": _batch_along, "log_softmax": _batch_along,
    # rows along the last axis, scores and targets broadcast: elementwise in the leading axes
    "softmax_cross_entropy": batch_elementwise,
}
for _name, _rule in BATCH.items():
    if _name in _ops:
        defbatch(_ops[_name], _rule)


# ------------------------------------------------ compiled lowering (chainrule.compile)
# relu of a float array is one np.maximum (the dtype is already right); the other
# activations and the fused softmax cross-entropy run through their Primitive.fn.
LOWER = {"relu": lambda e: f"np.maximum({e.arg(0)}, 0.0)" if e.dtype(0).kind == "f" else None}


def _xent_and_softmax(z, t, axis=-1):
    """softmax_cross_entropy(z, t) and softmax(z) from one exponential: what the backward pass
    of a loss needs beside its forward pass (NumPy's short-axis reductions are slow, and this
    halves them).  The loss is computed exactly as the primitive computes it (_xent_parts)."""
    zf = _float(z)
    if axis not in (-1, zf.ndim - 1):
        return _softmax_xent(z, t), _softmax(z, axis)
    total, shifted, extra = _xent_parts(zf, t)
    e = np.exp(shifted)
    s = e.sum(axis=-1, keepdims=True)
    with np.errstate(divide="ignore"):
        loss = total[..., 0] * np.log(s[..., 0])
    if extra is not None:
        loss += extra
    return loss.astype(zf.dtype, copy=False), (e / s).astype(zf.dtype, copy=False)


# (first op, second op): one function computing both when a program needs both of the same
# scores -- here the loss and the softmax its rule uses.
FUSE = {("softmax_cross_entropy", "softmax"): _xent_and_softmax}
