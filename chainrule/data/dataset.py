"""A Dataset (features, labels, what kind of task) and the checks that guard training.

Bad data is the most common reason a training run fails late and obscurely (a NaN
loss at epoch 7); checking once, up front, turns it into a message naming the
column and rows.
"""
from __future__ import annotations

import numpy as np

from ..core.errors import ChainruleError

TASKS = ("regression", "binary", "multiclass")


class Dataset:
    """Features ``X`` (n, d) float64, labels ``y`` (n,), and what they mean.

    ``task`` is "regression", "binary" or "multiclass"; for classification ``y``
    holds class indices 0..C-1 and ``classes`` the original label values.
    """

    def __init__(self, X, y, task=None, feature_names=None, target_name=None, classes=None,
                 name=None):
        self.name = name or "data"
        self.X = check_features(X, feature_names, source=self.name)
        self.feature_names = list(feature_names) if feature_names is not None else \
            [f"x{j}" for j in range(self.X.shape[1])]
        self.named_features = feature_names is not None     # False: x0, x1, ... by position
        self.target_name = target_name
        if task is None:
            task, y, inferred = infer_task(y)
            classes = inferred if classes is None else classes
        elif task != "regression" and classes is None:
            y, classes = encode_labels(y)
        if task not in TASKS:
            raise ChainruleError("Dataset", message=f"unknown task {task!r}; use one of "
                                 f"{', '.join(TASKS)}")
        self.task = task
        self.y = check_labels(y, len(self.X), task, source=self.name)
        if task != "regression" and classes is None:
            classes = np.arange(int(self.y.max()) + 1 if len(self.y) else 0)
        self.classes = None if classes is None else np.asarray(classes)

    @property
    def n_features(self):
        return self.X.shape[1]

    @property
    def n_classes(self):
        """Number of classes (2 for binary); None for regression."""
        return None if self.classes is None else len(self.classes)

    def __len__(self):
        return len(self.X)

    def __iter__(self):  # so `X, y = dataset` works
        return iter((self.X, self.y))

    def __repr__(self):
        extra = f", {self.n_classes} classes" if self.classes is not None else ""
        return (f"Dataset({self.name!r}: {len(self)} samples, {self.n_features} features, "
                f"{self.task}{extra})")


def infer_task(y):
    """Guess the task from raw labels; returns (task, encoded y, classes or None).

    Text labels or a few integer values mean classification (binary for two
    values); anything else is regression.
    """
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        return "multiclass", y, None            # check_labels reports the shape
    _refuse_constant(y)
    if y.dtype.kind in "USO":
        classes, codes = np.unique(y.astype(str), return_inverse=True)
        return ("binary" if len(classes) == 2 else "multiclass"), codes, classes
    if y.dtype.kind == "b":
        return "binary", y.astype(np.int64), np.array([False, True])
    finite = y[np.isfinite(y)] if y.dtype.kind == "f" else y
    values = np.unique(finite)
    integral = y.dtype.kind in "iu" or bool(np.all(values == np.round(values)))
    if integral and len(finite) == len(y) and 2 <= len(values) <= max(2, min(20, len(y) // 5)):
        codes = np.searchsorted(values, y)
        return ("binary" if len(values) == 2 else "multiclass"), codes.astype(np.int64), values
    return "regression", y, None


def _refuse_constant(y):
    """One label value for every sample: no task can be guessed and nothing can be learnt
    (a regression would even score R² = 1 by predicting it)."""
    if len(y) < 2:
        return
    values = np.unique(y.astype(str)) if y.dtype.kind in "USO" else np.unique(y)
    if len(values) == 1:
        raise ChainruleError("data", message=f"every one of the {len(y)} labels is "
                             f"{values[0]!r}: there is nothing to learn from them; check that "
                             "the label column is the right one (--target / target=), or name "
                             "the task (--task / task=) to train on them anyway")


def encode_labels(y):
    """Map text or arbitrary whole-number labels to 0..C-1; returns (codes, classes or None).

    Labels that are already 0..C-1, fractional or oddly shaped are returned as they
    are (check_labels then accepts or explains them).
    """
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1 or len(y) == 0:
        return y, None
    if y.dtype.kind in "USO":
        classes, codes = np.unique(y.astype(str), return_inverse=True)
        return codes, classes
    if y.dtype.kind == "f" and (not np.all(np.isfinite(y)) or np.any(y != np.round(y))):
        return y, None
    values = np.unique(y)
    if np.array_equal(values, np.arange(len(values))):
        return y, None
    return np.searchsorted(values, y).astype(np.int64), values


def _rows(idx, base=0, limit=5):
    """'3, 7 and 2 more': row numbers are idx + base, or base[idx] when base lists them."""
    if np.ndim(base):
        shown = ", ".join(str(int(base[i])) for i in idx[:limit])
    else:
        shown = ", ".join(str(int(i) + base) for i in idx[:limit])
    return shown + (f" and {len(idx) - limit} more" if len(idx) > limit else "")


def check_features(X, names=None, source="data", row_base=0, row_word="row"):
    """X as a finite 2-D float64 array, or an error naming the bad column and rows.

    Rows are reported as index + ``row_base``, or as ``row_base[index]`` when it is a
    sequence (a file's line numbers)."""
    X = np.asarray(getattr(X, "data", X))
    if X.dtype.kind not in "biuf":
        raise ChainruleError(source, message=f"features must be numbers, got dtype {X.dtype}; "
                             "encode text columns as numbers or drop them")
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2:
        raise ChainruleError(source, message=f"features must be a 2-D array (samples, features), "
                             f"got shape {X.shape}; flatten each sample, e.g. "
                             "X.reshape(len(X), -1)")
    if X.shape[0] == 0:
        raise ChainruleError(source, message="the data has no rows",
                             expected="at least one sample (row)", actual=f"shape {X.shape}",
                             fix="check the file or the filter that produced it; a CSV needs "
                                 "rows below its header")
    X = X.astype(np.float64, copy=False)
    bad = ~np.isfinite(X)
    if bad.any():
        col = int(np.flatnonzero(bad.any(axis=0))[0])
        rows = np.flatnonzero(bad[:, col])
        label = repr(names[col]) if names is not None and col < len(names) else str(col)
        kind = "NaN" if np.isnan(X[rows[0], col]) else "Inf"
        more = int(bad.any(axis=0).sum()) - 1
        raise ChainruleError(
            source, message=f"column {label} has missing or non-finite values ({kind}) in "
            f"{row_word}{'s' if len(rows) > 1 else ''} {_rows(rows, row_base)}"
            + (f" (and {more} more columns)" if more else "")
            + "; drop those rows or fill them (e.g. with the column mean) before training")
    return X


def check_labels(y, n, task, source="data"):
    """Labels as a 1-D array fit for ``task``, or an error saying what shape/dtype is needed."""
    y = np.asarray(getattr(y, "data", y))
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        hint = ("; for one-hot labels pass y.argmax(axis=1)" if task != "regression" and y.ndim == 2
                else "")
        raise ChainruleError(source, message=f"labels must be 1-D with one value per sample, "
                             f"shape ({n},), got shape {y.shape}{hint}")
    if len(y) != n:
        raise ChainruleError(source, message=f"features have {n} rows but labels have {len(y)}; "
                             "they must match one to one")
    if y.dtype.kind not in "biuf":
        raise ChainruleError(source, message=f"labels must be numbers, got dtype {y.dtype}; "
                             "map class names to 0..C-1 (chainrule.data.infer_task does this)")
    if y.dtype.kind == "f":
        bad = np.flatnonzero(~np.isfinite(y))
        if len(bad):
            raise ChainruleError(source, message=f"labels have NaN/Inf in rows {_rows(bad)}; "
                                 "drop those rows before training")
    if task == "regression":
        return y.astype(np.float64, copy=False)
    if y.dtype.kind == "f" and np.any(y != np.round(y)):
        raise ChainruleError(source, message=f"{task} labels must be whole class indices "
                             f"0..C-1, got fractional values such as {y[y != np.round(y)][0]:g}; "
                             "for a numeric target use a regression model")
    y = y.astype(np.int64)
    if len(y) and y.min() < 0:
        raise ChainruleError(source, message=f"class labels must be 0..C-1, got {y.min()}; "
                             "remap them, e.g. np.unique(y, return_inverse=True)[1]")
    if task == "binary" and len(y) and y.max() > 1:
        raise ChainruleError(source, message=f"binary labels must be 0 or 1, got {y.max()}; "
                             "use a multiclass model for more than two classes")
    return y
