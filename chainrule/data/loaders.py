"""Loading data the user already has: scikit-learn's bundled sets, CSV, NPZ, MNIST IDX.

Nothing here downloads; every failure names the file/column and what to do.
"""
from __future__ import annotations

import csv
import gzip
import os
import zipfile

import numpy as np

from ..core.errors import ChainruleError
from .dataset import Dataset, check_features

BUNDLED = {"digits": "load_digits", "breast_cancer": "load_breast_cancer", "iris": "load_iris",
           "wine": "load_wine", "diabetes": "load_diabetes"}
_TASK = {"digits": "multiclass", "iris": "multiclass", "wine": "multiclass",
         "breast_cancer": "binary", "diabetes": "regression"}


def load_dataset(name):
    """One of scikit-learn's bundled datasets (shipped inside the package: no download)."""
    key = str(name).lower().replace("-", "_")
    if key not in BUNDLED:
        raise ChainruleError("load_dataset", message=f"unknown dataset {name!r}; choose one of "
                             f"{', '.join(BUNDLED)} or give a path to a .csv/.npz file")
    try:
        from sklearn import datasets
    except ImportError:
        raise ChainruleError("load_dataset", message=f"the {key} dataset comes with scikit-learn, "
                             "which is not installed; run: pip install \"chainrule[data]\"") \
            from None
    raw = getattr(datasets, BUNDLED[key])()
    task = _TASK[key]
    classes = None
    if task != "regression":
        names = getattr(raw, "target_names", None)
        classes = np.asarray(names) if names is not None else np.unique(raw.target)
    return Dataset(raw.data, raw.target, task=task, feature_names=list(raw.feature_names),
                   target_name="target", classes=classes, name=key)


def load(source, target=None, labels=None, x_key="X", y_key="y", task=None, header=None):
    """A dataset by name or path: bundled name, .csv/.tsv, .npz, or IDX images (+ ``labels``).

    ``header`` is for CSV files: None detects the header row (and refuses to guess when
    the first line looks like data), True/False say whether there is one."""
    src = str(source)
    if src.lower().replace("-", "_") in BUNDLED and not os.path.exists(src):
        return load_dataset(src)
    if not os.path.exists(src):
        raise ChainruleError("data", message=f"no dataset or file named {src!r}; use one of "
                             f"{', '.join(BUNDLED)} or a path to a .csv/.npz file")
    lower = src.lower()
    if lower.endswith(".npz"):
        return load_npz(src, x_key=x_key, y_key=y_key, task=task)
    if _is_idx(src):
        if labels is None:
            raise ChainruleError("data", message=f"{src} is an IDX image file; also give its "
                                 "labels file (--labels PATH / labels=PATH)")
        return load_idx(src, labels)
    return load_csv(src, target=target, task=task, header=header)


# ------------------------------------------------------------------------- CSV
def read_csv(path, delimiter=None, header=None):
    """(header, body) of a CSV; body is [(line number, fields)].

    ``header``: True (the first line names the columns), False (it is data; the columns
    are named x0, x1, ...) or None (decide from the file, see ``has_header``).
    """
    names, body, _ = read_table(path, delimiter, header)
    return names, body


def read_table(path, delimiter=None, header=None):
    """read_csv's (header, body), and whether the names came from the file."""
    with _open_text(path) as f:
        text = f.read()
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise ChainruleError("load_csv", message=f"{path} is empty; it needs a header row and data")
    if delimiter is None:
        delimiter = max(",;\t", key=lines[0].count) if any(c in lines[0] for c in ",;\t") else ","
    rows = [(i + 1, r) for i, r in enumerate(csv.reader(lines, delimiter=delimiter))
            if any(c.strip() for c in r)]
    if header is None:
        header = has_header(rows[0][1], [r for _, r in rows[1:]], path)
    if header:
        names = [h.strip() for h in rows[0][1]]
        body = rows[1:]
        if not body:
            raise ChainruleError("load_csv", message=f"{path} has a header but no data rows")
    else:
        names = [f"x{j}" for j in range(len(rows[0][1]))]
        body = rows
    for line, r in body:
        if len(r) != len(names):
            raise ChainruleError("load_csv", message=f"{path} line {line} has {len(r)} fields "
                                 f"but the {'header' if header else 'first line'} has {len(names)}")
    seen = {}
    for j, name in enumerate(names):
        if name in seen:
            raise ChainruleError("load_csv", message=f"{path} has two columns named {name!r} "
                                 f"(columns {seen[name]} and {j}); give every column its own name")
        seen[name] = j
    return names, body, bool(header)


_MISSING = ("", "na", "nan", "null", "none")


def _is_number(text):
    text = text.strip()
    if text.lower() in _MISSING:
        return False
    try:
        float(text)
    except ValueError:
        return False
    return True


def has_header(first, rest, path="the file", sample=200):
    """Whether ``first`` (a row of fields) names the columns of the rows in ``rest``.

    A header is certain when a column whose values are all numbers starts with text.
    When every such column starts with a number the first line is data and this raises,
    asking for header=False / --no-header (or True / --header) instead of dropping a row.
    Files with no numeric column keep the first line as the header.
    """
    rest = rest[:sample]
    numeric = [j for j in range(len(first))
               if rest and all(j < len(r) and (_is_number(r[j]) or r[j].strip().lower()
                                               in _MISSING) for r in rest)
               and any(j < len(r) and _is_number(r[j]) for r in rest)]
    if not rest and any(_is_number(v) for v in first):
        numeric = [j for j, v in enumerate(first) if _is_number(v)]   # a lone line with numbers
    elif not numeric:
        return True
    if any(not _is_number(first[j]) and first[j].strip().lower() not in _MISSING
           for j in numeric):
        return True
    shown = ", ".join(v.strip() for v in first[:6]) + (", ..." if len(first) > 6 else "")
    raise ChainruleError("load_csv", message=f"the first line of {path} ({shown}) looks like data, "
                         "not column names; if the file has no header row pass --no-header "
                         "(header=False; the columns are then named x0, x1, ...), or --header "
                         "(header=True) if that line does name the columns")


def csv_features(path, header, body, columns):
    """The chosen columns as a checked float matrix (errors name the column and lines)."""
    X = np.empty((len(body), len(columns)))
    for k, j in enumerate(columns):
        X[:, k] = _numeric_column(body, j, header[j], path)
    return check_features(X, [header[j] for j in columns], source=f"load_csv {path}",
                          row_base=[line for line, _ in body], row_word="line")


def load_csv(path, target=None, delimiter=None, task=None, header=None):
    """A CSV file; ``target`` names the label column or gives its index (default: the last
    column). ``header``: see read_csv (None detects it)."""
    header, body, named = read_table(path, delimiter, header)
    if len(header) < 2:
        raise ChainruleError("load_csv", message=f"{path} needs at least one feature column and "
                             f"a target column; found columns: {', '.join(header)}")
    t = column_index(header, target, path)
    features = [j for j in range(len(header)) if j != t]
    X = csv_features(path, header, body, features)
    raw_y = [r[t].strip() for _, r in body]
    try:
        y = np.array([float(v) if v.lower() not in _MISSING else np.nan for v in raw_y])
    except ValueError:
        y = np.array(raw_y)                           # text labels: classes
    if y.dtype.kind == "f":
        missing = np.flatnonzero(~np.isfinite(y))
        if len(missing):
            raise ChainruleError("load_csv", message=f"target column {header[t]!r} has missing "
                                 f"or non-finite values on lines {_lines(body, missing)} of "
                                 f"{path}; drop those rows")
    return Dataset(X, y, task=task, feature_names=[header[j] for j in features] if named else None,
                   target_name=header[t], name=os.path.basename(path))


def column_index(header, target, path):
    """Index of ``target`` (a column name, or a position) in ``header``; errors list the columns."""
    if target is None:
        return len(header) - 1
    if isinstance(target, str) and target in header:
        return header.index(target)
    try:
        j = int(target)
    except (TypeError, ValueError):
        j = None
    if j is not None and -len(header) <= j < len(header):
        return j % len(header)
    raise ChainruleError("load_csv", message=f"unknown target column {target!r} in {path}; "
                         f"available columns: {', '.join(header)} "
                         f"(or an index 0..{len(header) - 1})")


def _numeric_column(body, j, name, path):
    out = np.empty(len(body))
    for k, (line, r) in enumerate(body):
        v = r[j].strip()
        if v.lower() in _MISSING:
            out[k] = np.nan
            continue
        try:
            out[k] = float(v)
        except ValueError:
            raise ChainruleError("load_csv", message=f"column {name!r} is not numeric ({v!r} on "
                                 f"line {line} of {path}); encode it as numbers, drop it, or make "
                                 "it the target with --target") from None
    return out


def _lines(body, idx, limit=5):
    shown = ", ".join(str(body[i][0]) for i in idx[:limit])
    return shown + (f" and {len(idx) - limit} more" if len(idx) > limit else "")


# ------------------------------------------------------------------------- NPZ
def load_npz(path, x_key="X", y_key="y", task=None):
    """Arrays ``X`` and ``y`` (or the keys you name) from an ``np.savez`` file."""
    try:
        with open_npz(path) as z:
            keys = list(z.keys())
            for k in (x_key, y_key):
                if k not in keys:
                    raise ChainruleError("load_npz", message=f"{path} has no array {k!r}; it "
                                         f"holds {', '.join(keys) or 'nothing'} (in Python "
                                         "choose others with load(..., x_key=, y_key=); the "
                                         "command line reads arrays named X and y)")
            X, y = npz_array(z, x_key, path), npz_array(z, y_key, path)
    except ChainruleError:
        raise
    except NotAnArchive as e:
        raise ChainruleError("load_npz", message=str(e)) from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise ChainruleError("load_npz", message=f"cannot read {path} as .npz: "
                             f"{str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
    if X.ndim > 2:
        X = X.reshape(len(X), -1)
    return Dataset(X, y, task=task, name=os.path.basename(path))


class NotAnArchive(ValueError):
    """The file is not an .npz archive (text, a single .npy, a pickle...).

    ``what`` says what it is instead; ``advice`` how to load such a file as data.
    """

    def __init__(self, path, what, advice):
        self.what, self.advice = what, advice
        super().__init__(f"{path} is not an .npz archive: {what}" + (f"; {advice}" if advice
                                                                      else ""))


def open_npz(path):
    """``np.load`` for .npz archives only, never unpickling anything.

    Anything else (a CSV renamed .npz, a bare .npy, a pickle) raises NotAnArchive with
    a plain description, instead of NumPy's advice about pickles.
    """
    with open(path, "rb") as f:
        head = f.read(64)
    if not head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        raise NotAnArchive(path, *_describe(head))
    return np.load(path, allow_pickle=False)


def npz_array(archive, key, path):
    """One array of an open archive; Python objects inside are refused, not unpickled."""
    try:
        return archive[key]
    except ValueError as e:
        if "pickle" not in str(e):
            raise
        raise ChainruleError("load_npz", message=f"array {key!r} in {path} holds Python "
                             "objects, which chainrule never unpickles; save plain numeric "
                             "arrays, e.g. np.savez(path, X=X.astype(float), y=y)") from None


def _describe(head):
    """(what a file with these first bytes is, how to load it as data)."""
    if not head:
        return "it is empty", ""
    if head.startswith(b"\x93NUMPY"):
        return "it is a single .npy array", "save X and y together with np.savez(path, X=X, y=y)"
    if head[:1] == b"\x80":
        return "it looks like a Python pickle, which chainrule never loads", ""
    if head.startswith(b"\x1f\x8b"):
        return "it is gzip-compressed", "decompress it, or name it .csv.gz if it is a CSV"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None and all(c.isprintable() or c in "\r\n\t" for c in text):
        first = text.splitlines()[0][:40] if text.strip() else ""
        return f"it is a text file (starting {first!r})", "if it is a CSV, name it .csv"
    return f"it starts with the bytes {head[:8].hex()}", ""


# ------------------------------------------------------------------------- IDX
_IDX_DTYPES = {0x08: np.dtype("u1"), 0x09: np.dtype("i1"), 0x0B: np.dtype(">i2"),
               0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def _open_bytes(path):
    with open(path, "rb") as f:
        head = f.read(2)
    return gzip.open(path, "rb") if head == b"\x1f\x8b" else open(path, "rb")


def _open_text(path):
    try:
        with open(path, "rb") as f:
            gz = f.read(2) == b"\x1f\x8b"
        return gzip.open(path, "rt", newline="") if gz else open(path, newline="")
    except OSError as e:
        raise ChainruleError("data", message=f"cannot open {path}: {e.strerror}") from None


def _is_idx(path):
    try:
        with _open_bytes(path) as f:
            head = f.read(4)
    except OSError:
        return False
    return len(head) == 4 and head[:2] == b"\0\0" and head[2] in _IDX_DTYPES and 1 <= head[3] <= 4


def read_idx(path):
    """The array in an IDX file (MNIST's format), gzipped or not, in native byte order.

    Header: two zero bytes, a dtype code, the number of dimensions, then each
    dimension as a big-endian uint32; the data follows, big-endian.
    """
    try:
        with _open_bytes(path) as f:
            data = f.read()
    except (OSError, EOFError) as e:
        raise ChainruleError("read_idx", message=f"cannot read {path}: {e}") from None
    if len(data) < 4 or data[:2] != b"\0\0" or data[2] not in _IDX_DTYPES:
        raise ChainruleError("read_idx", message=f"{path} is not an IDX file (bad magic number "
                             f"{data[:4].hex() or 'empty'}; expected 0000 + type code "
                             "08/09/0b/0c/0d/0e + number of dimensions)")
    dtype, ndim = _IDX_DTYPES[data[2]], data[3]
    if len(data) < 4 + 4 * ndim:
        raise ChainruleError("read_idx", message=f"{path} is truncated inside its header")
    shape = tuple(int(d) for d in np.frombuffer(data, ">u4", count=ndim, offset=4))
    need = int(np.prod(shape)) * dtype.itemsize
    have = len(data) - 4 - 4 * ndim
    if have != need:
        raise ChainruleError("read_idx", message=f"{path} should hold {need} bytes of data for "
                             f"shape {shape} but holds {have}; the file is truncated or corrupt")
    arr = np.frombuffer(data, dtype, offset=4 + 4 * ndim).reshape(shape)
    return arr.astype(dtype.newbyteorder("="))


def load_idx(images, labels):
    """MNIST-style image and label IDX files as a Dataset (pixels scaled to [0, 1])."""
    X, y = read_idx(images), read_idx(labels)
    if len(X) != len(y):
        raise ChainruleError("load_idx", message=f"{images} has {len(X)} images but {labels} has "
                             f"{len(y)} labels")
    X = X.reshape(len(X), -1).astype(np.float64)
    if X.max(initial=0) > 1:
        X /= 255.0
    return Dataset(X, y, task="multiclass", name=os.path.basename(images))
