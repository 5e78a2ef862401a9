"""Layers and models with trainable weights, PyTorch style (``import chainrule.nn as nn``).

    model = nn.Sequential(nn.Linear(2, 8, seed=0), nn.ReLU(), nn.Linear(8, 1, seed=1))
    opt = chainrule.optim.SGD(model.parameters(), lr=0.1)

See docs/learning.md.
"""
from .activations import (LeakyReLU, LogSoftmax, ReLU, Sigmoid, Softmax, Softplus, Tanh,
                          get_activation)
from .layers import MLP, Dropout, Linear, as_rng, init_weight
from .module import Identity, Module, Parameter, Sequential

__all__ = ["Parameter", "Module", "Sequential", "Identity", "Linear", "MLP", "Dropout",
           "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "Softplus", "Softmax", "LogSoftmax",
           "get_activation", "init_weight", "as_rng"]
