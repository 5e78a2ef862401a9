"""Layers with weights: Linear, MLP, Dropout, and their seeded initialisation.

Convention: ``Linear`` computes ``y = x @ W + b`` with ``W`` of shape
(in_features, out_features), so a batch x of shape (N, in) maps to (N, out) with
no transpose, exactly as the formula is written on paper (row-vector inputs).
PyTorch stores the transpose, (out, in); transpose when porting weights.
"""
from __future__ import annotations

import copy
import math
import numbers

import numpy as np

from .. import numpy as cnp
from ..core.errors import ChainruleError
from ..core import batching
from ..core.tensor import Tensor
from .activations import get_activation
from .module import Module, Parameter, Sequential

INITS = ("glorot", "glorot_normal", "he", "he_uniform", "zeros")


def as_rng(seed):
    """None -> fresh randomness, int -> reproducible, Generator -> used (and advanced) as is."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or isinstance(seed, (numbers.Integral, np.random.SeedSequence)):
        return np.random.default_rng(seed)
    raise ChainruleError("seed", expected="None, an int or a numpy.random.Generator",
                         actual=type(seed).__name__, fix="e.g. seed=0")


def init_weight(shape, init="glorot", seed=None, dtype=np.float64):
    """A weight array of ``shape`` (fan_in, fan_out) drawn by a named scheme.

    glorot: U(−a, a), a = √(6/(fan_in+fan_out)), variance 2/(fan_in+fan_out) — keeps
    the activation variance constant through tanh/sigmoid layers (Glorot & Bengio 2010).
    he: N(0, 2/fan_in) — the same for ReLU, which zeroes half the inputs (He et al. 2015).
    glorot_normal / he_uniform: the same variances with the other distribution.
    """
    rng = as_rng(seed)
    fan_in, fan_out = shape[0], shape[-1] if len(shape) > 1 else 1
    if init == "glorot":
        a = math.sqrt(6.0 / (fan_in + fan_out))
        w = rng.uniform(-a, a, size=shape)
    elif init == "glorot_normal":
        w = rng.normal(0.0, math.sqrt(2.0 / (fan_in + fan_out)), size=shape)
    elif init == "he":
        w = rng.normal(0.0, math.sqrt(2.0 / fan_in), size=shape)
    elif init == "he_uniform":
        a = math.sqrt(6.0 / fan_in)
        w = rng.uniform(-a, a, size=shape)
    elif init == "zeros":
        w = np.zeros(shape)
    else:
        raise ChainruleError("init", expected=f"one of {INITS}", actual=repr(init),
                             fix="use 'glorot' for tanh/sigmoid layers and 'he' for ReLU layers")
    return w.astype(dtype)


def _float_dtype(dtype):
    """Weights must be floating point: integer weights would truncate every update to 0."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt is None or dt.kind != "f":
        raise ChainruleError("Linear", message="weights need a floating-point dtype",
                             expected="dtype float64 (default), float32 or float16",
                             actual=f"dtype={dtype!r}",
                             fix="pass dtype='float32' or leave the default float64")
    return dt


class Linear(Module):
    """y = x @ W + b, W of shape (in_features, out_features), b of shape (out_features,).

    Weights are drawn by ``init`` from ``seed`` (same seed, same weights); the bias starts at 0.
    """

    def __init__(self, in_features, out_features, bias=True, init="glorot", seed=None,
                 dtype="float64"):
        super().__init__()
        for name, v in (("in_features", in_features), ("out_features", out_features)):
            if not isinstance(v, numbers.Integral) or v < 1:
                raise ChainruleError("Linear", expected=f"{name} a positive integer",
                                     actual=repr(v), fix="e.g. Linear(3, 1) for 3 inputs, 1 output")
        self.in_features, self.out_features = int(in_features), int(out_features)
        dtype = _float_dtype(dtype)
        self.init = init
        self.weight = Parameter(init_weight((self.in_features, self.out_features), init, seed,
                                            dtype))
        if bias:
            self.bias = Parameter(np.zeros(self.out_features, dtype=dtype))
        else:
            self.register_parameter("bias", None)

    def forward(self, x):
        data = x.data if isinstance(x, Tensor) else np.asarray(x)
        if data.dtype.kind not in "biufc":
            raise ChainruleError(
                "Linear", message="the input must be numbers",
                expected=f"a numeric array of shape (..., {self.in_features})",
                actual=f"dtype {data.dtype} (shape {data.shape})",
                fix="convert the data to floats, e.g. np.asarray(x, dtype=float); encode text "
                    "columns as numbers first")
        shape = x.shape if isinstance(x, Tensor) else np.shape(x)     # one example's, in vmap
        if not shape or shape[-1] != self.in_features:
            raise ChainruleError(
                "Linear", message="input has the wrong number of features",
                expected=f"shape (..., {self.in_features}) (in_features={self.in_features})",
                actual=f"shape {shape}",
                fix="check the data's columns, or build Linear with in_features="
                    f"{shape[-1] if shape else 1}; a single sample needs shape "
                    f"({self.in_features},)")
        y = cnp.matmul(x, self.weight)
        return y if self.bias is None else y + self.bias

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Dropout(Module):
    """Inverted dropout: in training, zero each input with probability p and scale the rest by
    1/(1−p) so the expected output equals the input; in eval mode, the identity."""

    def __init__(self, p=0.5, seed=None):
        super().__init__()
        if not isinstance(p, numbers.Real) or not 0.0 <= p <= 1.0:
            raise ChainruleError("Dropout", expected="p (drop probability) in [0, 1]",
                                 actual=repr(p), fix="e.g. Dropout(0.5)")
        self.p = float(p)
        self.rng = as_rng(seed)      # the generator masks are drawn from; fit checkpoints its state

    def forward(self, x):
        if not self.training or self.p == 0.0:
            return x
        levels, data = batching.unwrap(x)         # inside vmap: a mask of its own per example
        data = data.data if isinstance(data, Tensor) else np.asarray(data)
        dtype = data.dtype if data.dtype.kind == "f" else np.float64
        if self.p == 1.0:
            return x * batching.wrap(np.zeros(data.shape, dtype=dtype), levels)
        keep = self.rng.random(data.shape) >= self.p
        return x * batching.wrap((keep / (1.0 - self.p)).astype(dtype), levels)

    def extra_repr(self):
        return f"p={self.p}"


class MLP(Sequential):
    """Linear layers of the given ``sizes`` with an activation between them (none after the last).

    ``MLP([64, 64, 10])`` is Linear(64, 64), ReLU, Linear(64, 10): it outputs raw scores (logits).
    ``init`` defaults to 'he' for relu-like activations and 'glorot' otherwise; one ``seed``
    fixes every layer's weights.
    """

    def __init__(self, sizes, activation="relu", seed=None, init=None, dropout=0.0, bias=True):
        sizes = list(sizes)
        if len(sizes) < 2 or not all(isinstance(s, numbers.Integral) and s > 0 for s in sizes):
            raise ChainruleError("MLP", expected="a list of at least 2 positive layer sizes",
                                 actual=repr(sizes),
                                 fix="e.g. MLP([n_inputs, 64, n_outputs])")
        rng = as_rng(seed)
        if init is None:
            name = type(get_activation(activation)).__name__
            init = "he" if name in ("ReLU", "LeakyReLU") else "glorot"
        layers = []
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(Linear(a, b, bias=bias, init=init, seed=rng))
            if i < len(sizes) - 2:
                layers.append(copy.deepcopy(activation) if isinstance(activation, Module)
                              else get_activation(activation))
                if dropout:
                    layers.append(Dropout(dropout, seed=rng))
        super().__init__(*layers)
        self.sizes = sizes
