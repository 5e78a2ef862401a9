"""Splitting, scaling and minibatching: the parts of a training run that touch data.

Everything takes an explicit seed, so two runs with the same seed see the same
splits and the same batch order (and give the same history).
"""
from __future__ import annotations

import numpy as np

from ..core.errors import ChainruleError


def _check_xy(X, y):
    X = np.asarray(getattr(X, "data", X))
    if y is not None:
        y = np.asarray(getattr(y, "data", y))
        if len(y) != len(X):
            raise ChainruleError("data", message=f"features have {len(X)} rows but labels have "
                                 f"{len(y)}; they must match one to one")
    return X, y


def batches(X, y=None, batch_size=32, shuffle=True, seed=None, drop_last=False):
    """Yield (X_batch, y_batch) minibatches (or X_batch alone when ``y`` is None).

    With ``shuffle`` the order is a permutation drawn from ``seed`` (an int, a
    sequence of ints, or a numpy Generator); the last short batch is kept unless
    ``drop_last``.
    """
    X, y = _check_xy(X, y)
    if int(batch_size) < 1:
        raise ChainruleError("batches", message=f"batch_size must be at least 1, got {batch_size}")
    batch_size = int(batch_size)
    n = len(X)
    if shuffle:
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        order = rng.permutation(n)
    else:
        order = np.arange(n)
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        idx = order[start:start + batch_size]
        yield (X[idx], y[idx]) if y is not None else X[idx]


class DataLoader:
    """Re-iterable minibatches: each pass (epoch) draws a new order from its own seed.

    ``DataLoader(X, y, batch_size=32, seed=0)``; ``len(loader)`` is the number of
    batches; ``loader.epoch_batches(e)`` gives epoch ``e``'s order regardless of
    what ran before (this is what makes resuming a run reproducible).
    """

    def __init__(self, X, y=None, batch_size=32, shuffle=True, seed=0, drop_last=False):
        self.X, self.y = _check_xy(X, y)
        self.batch_size, self.shuffle, self.seed, self.drop_last = \
            int(batch_size), shuffle, seed, drop_last
        self._epoch = 0

    def __len__(self):
        n, b = len(self.X), self.batch_size
        return n // b if self.drop_last else -(-n // b)

    def epoch_batches(self, epoch):
        seed = None if self.seed is None else [int(self.seed), int(epoch)]
        return batches(self.X, self.y, self.batch_size, self.shuffle, seed, self.drop_last)

    def __iter__(self):
        self._epoch += 1
        return self.epoch_batches(self._epoch)


def train_val_test_split(X, y, val=0.15, test=0.15, seed=0, stratify=None):
    """Split into (X_train, y_train), (X_val, y_val), (X_test, y_test).

    ``val``/``test`` are fractions (or counts when ≥ 1). ``stratify=True`` (the
    labels) or an array keeps each class's share the same in every part; by default
    integer labels are stratified when every class has at least 3 samples.
    """
    X, y = _check_xy(X, y)
    n = len(X)
    n_val, n_test = (_count(f, n, name) for f, name in ((val, "val"), (test, "test")))
    if n - n_val - n_test < 1:
        raise ChainruleError("train_val_test_split", message=f"val={val} and test={test} leave "
                             f"no training samples out of {n}; use smaller fractions")
    rng = np.random.default_rng(seed)
    strata = _strata(y, stratify)
    if strata is None:
        order = rng.permutation(n)
        parts = order[n_val + n_test:], order[:n_val], order[n_val:n_val + n_test]
    else:
        parts = _stratified(strata, n_val, n_test, rng)
    return tuple((X[np.sort(p)], y[np.sort(p)]) for p in parts)


def _count(frac, n, name):
    if frac is None or frac == 0:
        return 0
    if frac < 0 or (frac >= 1 and frac != int(frac)):
        raise ChainruleError("train_val_test_split", message=f"{name}={frac} must be a fraction "
                             "in [0, 1) or a whole number of samples")
    return int(frac) if frac >= 1 else int(round(frac * n))


def _strata(y, stratify):
    if stratify is False:
        return None
    if stratify is None or stratify is True:
        if y.dtype.kind not in "iub" and not (stratify is True):
            return None
        _, counts = np.unique(y, return_counts=True)
        if stratify is None and counts.min() < 3:
            return None
        return y
    return np.asarray(stratify)


def _stratified(strata, n_val, n_test, rng):
    """Give each class its share of val/test (largest remainders fill up the exact counts)."""
    classes, inverse = np.unique(strata, return_inverse=True)
    members = [rng.permutation(np.flatnonzero(inverse == c)) for c in range(len(classes))]
    sizes = np.array([len(m) for m in members], dtype=float)
    take = []
    for total in (n_val, n_test):
        share = sizes * total / sizes.sum()
        k = np.floor(share).astype(int)
        short = total - k.sum()
        k[np.argsort(-(share - k), kind="stable")[:short]] += 1
        take.append(k)
    val, test, train = [], [], []
    for m, kv, kt in zip(members, *take):
        val.extend(m[:kv])
        test.extend(m[kv:kv + kt])
        train.extend(m[kv + kt:])
    return (np.array(train, dtype=int), np.array(val, dtype=int), np.array(test, dtype=int))


class Standardizer:
    """Scale each feature to mean 0, std 1 using statistics of the training part only.

    Fitting on all data would leak the test set into training. Constant columns
    get scale 1 (they become 0), so nothing is divided by zero.
    """

    def __init__(self):
        self.mean_ = None
        self.scale_ = None

    def fit(self, X):
        X = np.asarray(getattr(X, "data", X), dtype=np.float64)
        if X.ndim == 1:
            X = X[:, None]
        self.mean_ = X.mean(axis=0)
        std = X.std(axis=0)
        self.scale_ = np.where(std > 1e-12 * np.maximum(1.0, np.abs(self.mean_)), std, 1.0)
        return self

    def transform(self, X):
        if self.mean_ is None:
            raise ChainruleError("Standardizer.transform", message="call fit(X_train) first")
        X = np.asarray(getattr(X, "data", X), dtype=np.float64)
        if X.ndim == 1:
            X = X[:, None]
        if X.shape[1] != len(self.mean_):
            raise ChainruleError("Standardizer.transform", message=f"fitted on "
                                 f"{len(self.mean_)} features but got {X.shape[1]}")
        return (X - self.mean_) / self.scale_

    def fit_transform(self, X):
        return self.fit(X).transform(X)

    def inverse_transform(self, Z):
        return np.asarray(Z) * self.scale_ + self.mean_

    def state_dict(self):
        return {"mean": self.mean_.copy(), "scale": self.scale_.copy()}

    def load_state_dict(self, state):
        self.mean_ = np.asarray(state["mean"], dtype=np.float64)
        self.scale_ = np.asarray(state["scale"], dtype=np.float64)
        return self

    @classmethod
    def from_state(cls, state):
        return cls().load_state_dict(state)

    def __repr__(self):
        n = "unfitted" if self.mean_ is None else f"{len(self.mean_)} features"
        return f"Standardizer({n})"
