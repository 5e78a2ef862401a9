"""Metrics on raw model outputs: accuracy for classification, R² for regression.

Models output logits (one per sample for binary, one per class for multiclass)
or values (regression); these functions turn them into predictions themselves,
so the fit loop never needs to know about sigmoid or softmax.
"""
from __future__ import annotations

import numpy as np

from ..core.errors import ChainruleError


def _array(x):
    return np.asarray(getattr(x, "data", x))


def predicted_labels(out, task):
    """Class indices from logits: ``logit > 0`` for binary, argmax for multiclass."""
    out = _array(out)
    if task == "binary":
        if out.ndim == 2 and out.shape[1] == 2:      # two-logit binary models
            return out.argmax(axis=1)
        return (out.reshape(len(out)) > 0).astype(np.int64)
    if task == "multiclass":
        return out.argmax(axis=1) if out.ndim == 2 else np.rint(out).astype(np.int64)
    raise ChainruleError("predicted_labels", message=f"no class labels for task {task!r}")


def probabilities(out, task):
    """Class probabilities (n, C) from logits, computed stably."""
    out = _array(out).astype(np.float64)
    if task == "binary" and not (out.ndim == 2 and out.shape[1] == 2):
        z = out.reshape(len(out))
        p1 = np.where(z >= 0, 1 / (1 + np.exp(-np.abs(z))), 1 - 1 / (1 + np.exp(-np.abs(z))))
        return np.stack([1 - p1, p1], axis=1)
    z = out - out.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def accuracy(out, y, task="multiclass"):
    """Fraction of samples whose predicted class equals the label."""
    y = _array(y).reshape(-1)
    return float(np.mean(predicted_labels(out, task) == y)) if len(y) else float("nan")


def r2_score(out, y, task="regression"):
    """Coefficient of determination 1 − SS_res/SS_tot (1 is perfect, 0 is predicting the mean).

    NaN when the targets are all equal: SS_tot = 0 and R² says nothing (a perfect score
    for predicting a constant would claim what was not learnt)."""
    y = _array(y).astype(np.float64).reshape(-1)
    pred = _array(out).astype(np.float64).reshape(len(y), -1)[:, 0]
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    ss_res = float(np.sum((y - pred) ** 2))
    if ss_tot == 0:
        return float("nan")
    return 1.0 - ss_res / ss_tot


def mean_absolute_error(out, y, task="regression"):
    y = _array(y).astype(np.float64).reshape(-1)
    return float(np.mean(np.abs(_array(out).reshape(len(y), -1)[:, 0] - y)))


METRICS = {"accuracy": accuracy, "acc": accuracy, "r2": r2_score, "mae": mean_absolute_error}
SHORT = {"accuracy": "acc", "r2": "R²", "mae": "mae"}


def default_metric(task):
    return "r2" if task == "regression" else "accuracy"


def resolve_metrics(metrics, task):
    """[(name, fn(out, y, task))] from None ("the default for the task"), names or callables."""
    if metrics is None or metrics == "auto":
        metrics = [default_metric(task)]
    elif isinstance(metrics, str) or callable(metrics):
        metrics = [metrics]
    out = []
    for m in metrics:
        if callable(m):
            out.append((getattr(m, "__name__", "metric"), m))
            continue
        key = str(m).lower()
        if key not in METRICS:
            raise ChainruleError("fit", message=f"unknown metric {m!r}; choose from "
                                 f"{', '.join(sorted(METRICS))} or pass a function (out, y, task)")
        if key in ("accuracy", "acc") and task == "regression":
            raise ChainruleError("fit", message="accuracy needs a classification task; use "
                                 "metrics='r2' for regression")
        out.append(("accuracy" if key == "acc" else key, METRICS[key]))
    return out
