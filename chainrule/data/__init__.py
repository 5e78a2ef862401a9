"""Data for training: loading, checking, splitting, scaling and minibatching.

    from chainrule.data import load, train_val_test_split, Standardizer, batches
    ds = load("digits")                              # or "my.csv", "arrays.npz"
    (Xtr, ytr), (Xva, yva), (Xte, yte) = train_val_test_split(ds.X, ds.y, seed=0)
    scaler = Standardizer().fit(Xtr)                 # training part only: no test leakage
    for xb, yb in batches(scaler.transform(Xtr), ytr, batch_size=32, seed=0): ...
"""
from .dataset import TASKS, Dataset, check_features, check_labels, encode_labels, infer_task
from .loaders import BUNDLED, load, load_csv, load_dataset, load_idx, load_npz, read_idx
from .split import DataLoader, Standardizer, batches, train_val_test_split

__all__ = ["Dataset", "TASKS", "check_features", "check_labels", "encode_labels", "infer_task",
           "BUNDLED", "load", "load_csv", "load_dataset", "load_idx", "load_npz", "read_idx",
           "DataLoader", "Standardizer", "batches", "train_val_test_split"]
