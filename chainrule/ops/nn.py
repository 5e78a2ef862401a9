"""Neural-network primitives: activations whose derivatives the seeds derive by hand.

Each forward function is written for numerical stability (never exponentiate a
large positive number); each rule is written with chainrule primitives and uses
``ans`` where the derivative is a function of the output (σ' = σ(1−σ)), so
every order of derivative comes from the same line.

At a kink the rule returns the minimum-norm subgradient: relu'(0) = 0 (seed 003),
leaky_relu'(0) = the point of [min(s, 1), max(s, 1)] nearest 0 (= s for 0 ≤ s < 1).
"""
import math

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
# (the mask read from the output, relu(x) > 0 ⟺ x > 0: a compiled program then computes relu
# in the input's buffer, which nothing else needs)
defvjp(relu, lambda g, ans, x: g * _step(ans), formulas={0: "[x>0]"})
defjvp(relu, lambda t, ans, x: t * _step(ans))
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

def _softmax_vjp(g, p, axis=-1):
    """(diag(p) − p pᵀ) g along ``axis``: softmax's Jacobian is symmetric, so also its jvp."""
    return p * (g - sum(g * p, axis=axis, keepdims=True))


softmax = _ops["softmax"] = Primitive("softmax", _softmax, doc="e^x / Σe^x along axis, shifted by the max.")
defvjp(softmax, lambda g, ans, x, axis=-1: _softmax_vjp(g, ans, axis), formulas={0: "diag(p) − p pᵀ"})
defjvp(softmax, lambda t, ans, x, axis=-1: _softmax_vjp(t, ans, axis))

log_softmax = _ops["log_softmax"] = Primitive(
    "log_softmax", _log_softmax, doc="x − logsumexp(x) along axis, never forming e^x of a large x.")
defvjp(log_softmax, lambda g, ans, x, axis=-1: g - exp(ans) * sum(g, axis=axis, keepdims=True),
       formulas={0: "I − 1 softmax(x)ᵀ"})
defjvp(log_softmax, lambda t, ans, x, axis=-1: t - sum(exp(ans) * t, axis=axis, keepdims=True))



_F64 = np.dtype(np.float64)


def _wide(dtype):
    """float16/float32 scores are computed in float64: the loss of a confident prediction is
    a small difference of large numbers in float32."""
    return _F64 if dtype.kind == "f" and dtype.itemsize < 8 else dtype


def _xent_inputs(z, t):
    """Scores and targets as float arrays (N, K) of one shape, and their broadcast shape."""
    z, t = _float(z), _float(t)
    if z.ndim == 0:
        raise ChainruleError("softmax_cross_entropy", expected="scores with a class axis (last)",
                             actual="a 0-d array", fix="give the scores as an array (..., C)")
    shape = np.broadcast_shapes(z.shape, t.shape)
    rows = (math.prod(shape[:-1]), shape[-1])
    return np.broadcast_to(z, shape).reshape(rows), np.broadcast_to(t, shape).reshape(rows), shape


def _xent_careful(zc, tc):
    """_xent_outputs' loss, e^(z − c), Σt and Σe for scores with an inf or nan: t = 0
    ignores z = −inf, t > 0 on z = −inf gives an infinite loss, and other infinite or nan
    scores give inf or nan."""
    c = np.maximum.reduce(zc, axis=0, initial=-np.inf)
    c = np.where(np.isfinite(c), c, 0.0)
    e = np.exp(zc - c)
    s = np.add.reduce(e, axis=0)
    total = np.add.reduce(tc, axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        extra = np.add.reduce(tc * (c - np.where(tc != 0, zc, c)), axis=0)
        return total * np.log(s) + extra, e, total, s


def _xent_outputs(z, t, loss=True, slope=False, probabilities=False):
    """The loss −Σ t·log_softmax(z) per example, its slope softmax(z)·Σt − t and softmax(z),
    as asked, from one exponential, in the scores' dtype: the one place computing any of them
    on arrays.  It runs in every training step, so the common case makes few NumPy calls.

    The work is done in columns, a (K, N) array with one row per class: NumPy reduces a short
    last axis with a loop per example, while a sum over K long rows is K − 1 vector additions.
    With c the example's max score, T = Σt and S = Σe^(z − c), the loss T·log S + Σ t·(c − z)
    adds two non-negative terms (for t ≥ 0): no cancellation, so a confident prediction's tiny
    loss keeps its digits, and it is exactly 0 for one class.  float16/float32 are computed in
    float64, for those digits.  The results are C arrays again: the matrix products that use
    a training step's slope are 5–10 % slower on a transposed one.
    """
    shape = np.shape(z)
    if not (type(z) is np.ndarray and type(t) is np.ndarray and len(shape) == 2 and
            t.shape == shape and z.dtype.kind == "f" and t.dtype.kind == "f"):
        z, t, shape = _xent_inputs(z, t)
    dtype = z.dtype
    real = dtype.kind == t.dtype.kind == "f"
    wide = _F64 if real and dtype.itemsize <= 8 and t.dtype.itemsize <= 8 else \
        np.result_type(_wide(dtype), _wide(t.dtype))
    zc, tc = z.T.astype(wide, order="C"), t.T.astype(wide, order="C")
    total_z = np.add.reduce(zc, axis=None)     # (inf or nan if a score is; or a rare overflow)
    if shape[-1] and (math.isfinite(total_z) if real else np.isfinite(total_z)):
        zc -= np.maximum.reduce(zc, axis=0)
        e = np.exp(zc)
        s = np.add.reduce(e, axis=0)
        total = np.add.reduce(tc, axis=0)
        value = total * np.log(s) - np.add.reduce(tc * zc, axis=0)
    else:
        value, e, total, s = _xent_careful(zc, tc)
    out = []
    if loss:
        value = value.astype(dtype, copy=False)
        out.append(value if len(shape) == 2 else value.reshape(shape[:-1]))
    if probabilities:
        p = (e / s).T.astype(dtype, order="C")
        out.append(p if len(shape) == 2 else p.reshape(shape))
    if slope:
        e *= total / s
        e -= tc
        g = e.T.astype(dtype, order="C")
        out.append(g if len(shape) == 2 else g.reshape(shape))
    return out[0] if len(out) == 1 else tuple(out)


def _softmax_xent(z, t):
    """Per row Σt·logsumexp(z) − Σ t·z, in the scores' dtype, computed without cancellation."""
    return _xent_outputs(z, t)


def _xent_slope(z, t):
    """softmax(z)·Σt − t: the loss's gradient with respect to the scores, per unit of loss."""
    return _xent_outputs(z, t, loss=False, slope=True)


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


def _plain_pair(z, t):
    return type(z) is np.ndarray and type(t) is np.ndarray


# The gradient of the loss with respect to the scores, as a primitive of its own, so that a
# compiled program computes it together with the loss (FUSE below) and higher orders
# differentiate it by its own rules.
softmax_cross_entropy_slope = _ops["softmax_cross_entropy_slope"] = Primitive(
    "softmax_cross_entropy_slope", _xent_slope,
    doc="softmax(z)·Σt − t per row: d softmax_cross_entropy / d z per unit of loss.")
defvjp(softmax_cross_entropy_slope,
       lambda g, ans, z, t: _softmax_vjp(g, softmax(z)) * sum(t, axis=-1, keepdims=True),
       lambda g, ans, z, t: sum(g * softmax(z), axis=-1, keepdims=True) - g,
       formulas={0: "Σt·(diag(p) − p pᵀ)", 1: "p 1ᵀ − I"})
defjvp(softmax_cross_entropy_slope,
       lambda dz, ans, z, t: _softmax_vjp(dz, softmax(z)) * sum(t, axis=-1, keepdims=True),
       lambda dt, ans, z, t: softmax(z) * sum(dt, axis=-1, keepdims=True) - dt)


def _xent_vjp_scores(g, ans, z, t):
    if _plain_pair(z, t) and isinstance(g, (np.ndarray, np.generic)):
        # first-order pass on plain arrays: straight in NumPy
        return np.asarray(g)[..., None] * _xent_slope(z, t)
    return _rows(g, z) * softmax_cross_entropy_slope(z, t)


def _xent_jvp_scores(dz, ans, z, t):
    if _plain_pair(z, t) and type(dz) is np.ndarray:
        return np.sum(dz * _xent_slope(z, t), axis=-1)
    return sum(dz * softmax_cross_entropy_slope(z, t), axis=-1)


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
    "softmax_cross_entropy": batch_elementwise, "softmax_cross_entropy_slope": batch_elementwise,
}
for _name, _rule in BATCH.items():
    if _name in _ops:
        defbatch(_ops[_name], _rule)


# ------------------------------------------------ compiled lowering (chainrule.compile)
# relu of a float array is one np.maximum (the dtype is already right); the other
# activations and the fused softmax cross-entropy run through their Primitive.fn.
LOWER = {"relu": lambda e: f"np.maximum({e.arg(0)}, 0.0)" if e.dtype(0).kind == "f" else None}


def _xent_and_softmax(z, t, axis=-1):
    """softmax_cross_entropy(z, t) and softmax(z) from one exponential: a program that needs
    both of the same scores (NumPy's short-axis reductions are slow, and this halves them)."""
    if axis not in (-1, np.ndim(z) - 1):
        return _softmax_xent(z, t), _softmax(z, axis)
    return _xent_outputs(z, t, probabilities=True)


def _xent_and_slope(z, t):
    """softmax_cross_entropy(z, t) and its slope: a training step's loss and its gradient."""
    return _xent_outputs(z, t, slope=True)


# (first op, second op): one function computing both when a program needs both of the same
# scores -- the loss and the softmax or slope its rule uses.  Each returns new arrays (the
# program may then update them in place).
FUSE = {("softmax_cross_entropy", "softmax"): _xent_and_softmax,
        ("softmax_cross_entropy", "softmax_cross_entropy_slope"): _xent_and_slope}
