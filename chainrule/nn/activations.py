"""Activation layers: Modules around chainrule.functional, so they can sit in a Sequential."""
from __future__ import annotations

from .. import functional as F
from .. import numpy as cnp
from ..core.errors import ChainruleError
from .module import Identity, Module


class ReLU(Module):
    """max(x, 0); its derivative at 0 is taken as 0 (the minimum-norm subgradient)."""

    def forward(self, x):
        return F.relu(x)


class LeakyReLU(Module):
    """x for x > 0, negative_slope·x otherwise: keeps a gradient for negative inputs."""

    def __init__(self, negative_slope=0.01):
        super().__init__()
        self.negative_slope = float(negative_slope)

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class Sigmoid(Module):
    """1 / (1 + e^-x), computed without overflow."""

    def forward(self, x):
        return F.sigmoid(x)


class Tanh(Module):
    def forward(self, x):
        return cnp.tanh(x)


class Softplus(Module):
    """log(1 + e^x): a smooth ReLU."""

    def forward(self, x):
        return F.softplus(x)


class Softmax(Module):
    """Probabilities along ``axis``; for training use raw logits with CrossEntropyLoss instead."""

    def __init__(self, axis=-1):
        super().__init__()
        self.axis = axis

    def forward(self, x):
        return F.softmax(x, axis=self.axis)

    def extra_repr(self):
        return f"axis={self.axis}"


class LogSoftmax(Softmax):
    def forward(self, x):
        return F.log_softmax(x, axis=self.axis)


ACTIVATIONS = ("relu", "leaky_relu", "sigmoid", "tanh", "softplus", "identity")  # by name
_BY_NAME = {"relu": ReLU, "leaky_relu": LeakyReLU, "leakyrelu": LeakyReLU, "sigmoid": Sigmoid,
            "tanh": Tanh, "softplus": Softplus, "identity": Identity, "linear": Identity,
            "none": Identity}


def get_activation(activation):
    """A fresh activation Module from a name ('relu'), a Module class, or a Module instance."""
    if activation is None:
        return Identity()
    if isinstance(activation, Module):
        return activation
    if isinstance(activation, type) and issubclass(activation, Module):
        return activation()
    if isinstance(activation, str) and activation.lower() in _BY_NAME:
        return _BY_NAME[activation.lower()]()
    raise ChainruleError("activation", expected=f"one of {sorted(set(_BY_NAME))} or a Module",
                         actual=repr(activation),
                         fix="e.g. MLP([4, 16, 1], activation='tanh')")
