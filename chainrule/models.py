"""Ready-made models that know their task, so a training loop can pick the loss and metric.

Every model here is an nn.Module with

* ``task``: "regression", "binary" or "multiclass";
* ``default_loss()``: MSELoss, BCEWithLogitsLoss or CrossEntropyLoss to match;
* ``predict(x)`` (values, 0/1 labels or class indices) and, for classifiers, ``predict_proba(x)``,
  both returning NumPy arrays computed without recording a graph.

Shapes: models with a single output (regression with n_outputs=1, binary) return shape (N,),
one number per sample, so they line up with a target vector y of shape (N,).  Classifiers
return raw scores (logits); the losses apply the sigmoid/softmax themselves, exactly and stably.
"""
from __future__ import annotations

import numpy as np

from . import functional as F
from . import numpy as cnp
from .core.errors import ChainruleError
from .core.state import no_grad
from .core.tensor import Tensor
from .losses import BCEWithLogitsLoss, CrossEntropyLoss, MSELoss
from .nn import MLP as _MLP
from .nn import Linear, Module

TASKS = ("regression", "binary", "multiclass")
_LOSSES = {"regression": MSELoss, "binary": BCEWithLogitsLoss, "multiclass": CrossEntropyLoss}
METRICS = {"regression": "r2", "binary": "accuracy", "multiclass": "accuracy"}


def default_loss(task):
    """The usual loss object for a task name."""
    if task not in _LOSSES:
        raise ChainruleError("default_loss", expected=f"a task in {TASKS}", actual=repr(task),
                             fix="regression -> MSE, binary -> BCE with logits, "
                                 "multiclass -> cross-entropy")
    return _LOSSES[task]()


def _values(out):
    return out.data if isinstance(out, Tensor) else np.asarray(out)


class TaskModel(Module):
    """Mixin for models with a task: default_loss / predict / predict_proba."""

    task = None

    def default_loss(self):
        return default_loss(self.task)

    @property
    def metric(self):
        """Name of the usual metric: 'mse' for regression, 'accuracy' for classification."""
        return METRICS[self.task]

    def predict_proba(self, x):
        """P(y = 1) per sample (binary) or class probabilities (N, C) (multiclass)."""
        if self.task == "regression":
            raise ChainruleError(type(self).__name__, message="predict_proba needs a classifier",
                                 expected="task 'binary' or 'multiclass'", actual="'regression'",
                                 fix="use predict(x) for regression outputs")
        with no_grad():
            z = _values(self(x))
        return F.sigmoid(z) if self.task == "binary" else F.softmax(z, axis=-1)

    def predict(self, x):
        """Regression values, 0/1 labels (binary) or class indices (multiclass)."""
        if self.task == "regression":
            with no_grad():
                return _values(self(x))
        if self.task == "binary":
            with no_grad():
                return (_values(self(x)) > 0).astype(np.int64)   # σ(z) > ½ ⇔ z > 0
        with no_grad():
            return np.argmax(_values(self(x)), axis=-1)


def _squeeze_last(y):
    return cnp.reshape(y, np.shape(_values(y))[:-1])


class LinearRegression(TaskModel):
    """ŷ = x @ w + b, fitted with MSE. Output shape (N,) for n_outputs=1, else (N, n_outputs).

    Weights start at 0 (the problem is convex, so the start does not matter); pass init="glorot"
    and a seed for a random start.
    """

    task = "regression"

    def __init__(self, n_features, n_outputs=1, bias=True, init="zeros", seed=None):
        super().__init__()
        self.n_outputs = n_outputs
        self.linear = Linear(n_features, n_outputs, bias=bias, init=init, seed=seed)

    def forward(self, x):
        y = self.linear(x)
        return _squeeze_last(y) if self.n_outputs == 1 else y


class LogisticRegression(TaskModel):
    """Logit z = x @ w + b, one per sample (shape (N,)); P(y=1) = σ(z) via predict_proba.

    Trained with BCEWithLogitsLoss, one SGD step is the seed-002 update
    w ← w + α(y − ŷ)x, b ← b + α(y − ŷ).
    """

    task = "binary"

    def __init__(self, n_features, bias=True, init="zeros", seed=None):
        super().__init__()
        self.linear = Linear(n_features, 1, bias=bias, init=init, seed=seed)

    def forward(self, x):
        return _squeeze_last(self.linear(x))


class SoftmaxRegression(TaskModel):
    """Multinomial logistic regression: logits x @ W + b of shape (N, n_classes)."""

    task = "multiclass"

    def __init__(self, n_features, n_classes, bias=True, init="zeros", seed=None):
        super().__init__()
        if not isinstance(n_classes, (int, np.integer)) or n_classes < 2:
            raise ChainruleError("SoftmaxRegression", expected="n_classes >= 2",
                                 actual=repr(n_classes),
                                 fix="for two classes use LogisticRegression")
        self.n_classes = int(n_classes)
        self.linear = Linear(n_features, self.n_classes, bias=bias, init=init, seed=seed)

    def forward(self, x):
        return self.linear(x)


class MLP(_MLP, TaskModel):
    """nn.MLP that knows its task: MLP([n_features, 64, n_classes]) is a multiclass classifier.

    task=None infers it from the last size: 1 -> "regression", otherwise "multiclass"; pass
    task="binary" for a one-logit classifier.  With one output the result has shape (N,).
    """

    def __init__(self, sizes, activation="relu", task=None, seed=None, init=None, dropout=0.0):
        sizes = list(sizes)
        if task is None and sizes:
            task = "regression" if sizes[-1] == 1 else "multiclass"
        if task not in TASKS:
            raise ChainruleError("MLP", expected=f"task in {TASKS}", actual=repr(task),
                                 fix="e.g. MLP([4, 16, 3], task='multiclass')")
        if task == "binary" and sizes and sizes[-1] != 1:
            raise ChainruleError("MLP", message="a binary classifier has one output (the logit)",
                                 expected="sizes ending in 1", actual=repr(sizes),
                                 fix=f"MLP({sizes[:-1] + [1]}, task='binary'), or "
                                     "task='multiclass' for one output per class")
        super().__init__(sizes, activation=activation, seed=seed, init=init, dropout=dropout)
        self.task = task

    def forward(self, x):
        y = super().forward(x)
        return _squeeze_last(y) if self.sizes[-1] == 1 else y

    def extra_repr(self):
        return f"task={self.task!r}"


__all__ = ["LinearRegression", "LogisticRegression", "SoftmaxRegression", "MLP", "TaskModel",
           "default_loss", "TASKS", "METRICS"]
