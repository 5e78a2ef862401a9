"""Collectives on NumPy buffers: all_reduce, broadcast, gathers, and cross-rank agreement.

Everything travels as raw array buffers (mpi4py's upper-case ``Allreduce``,
``Bcast``, ``Allgatherv``) or as JSON text; nothing is pickled, so no rank can
make another run code.  In a world of one every function returns what a
world of one would compute (a copy), without touching MPI.
"""
from __future__ import annotations

import hashlib
import json

import numpy as np

from ..core.errors import ChainruleError
from ..core.tensor import Tensor
from .world import DistributedError, comm, on_every_rank, world_size

OPS = ("sum", "mean", "max", "min", "prod")
_NUMERIC = "fiuc"


def _mpi_op(op):
    from mpi4py import MPI
    return {"sum": MPI.SUM, "mean": MPI.SUM, "max": MPI.MAX, "min": MPI.MIN,
            "prod": MPI.PROD}[op]


def _as_buffer(a, i):
    arr = np.asarray(a.data if isinstance(a, Tensor) else a)
    if arr.dtype.kind not in _NUMERIC:
        raise ChainruleError("all_reduce", message=f"array {i} cannot be reduced",
                             expected="numeric arrays (float, int or complex)",
                             actual=f"dtype {arr.dtype}",
                             fix="convert it first, e.g. a.astype(np.float64)")
    return arr


def all_reduce(arrays, op="sum"):
    """Combine arrays element-wise across all ranks; every rank gets the result.

    ``arrays``: one array or a list/tuple of them, with the same shapes and dtypes
    on every rank.  ``op``: "sum", "mean", "max", "min" or "prod".  Returns new
    arrays (the inputs are not modified), in the same structure.  The arrays
    are packed into one contiguous buffer per dtype, so a list costs one
    ``Allreduce`` per dtype, not one per array.
    """
    if op not in OPS:
        raise ChainruleError("all_reduce", message=f"unknown op {op!r}",
                             expected=", ".join(map(repr, OPS)), actual=repr(op),
                             fix="pass op='sum' (or 'mean', 'max', 'min', 'prod')")
    single = not isinstance(arrays, (list, tuple))
    items = [_as_buffer(a, i) for i, a in enumerate([arrays] if single else arrays)]
    if op == "mean" and any(a.dtype.kind not in "fc" for a in items):
        raise ChainruleError("all_reduce", message="op='mean' needs floating-point arrays",
                             expected="float arrays", actual=", ".join(str(a.dtype) for a in items),
                             fix="cast to float first, or use op='sum' and divide yourself")
    if world_size() == 1:
        out = [np.array(a, copy=True) for a in items]
    else:
        _check_same_layout(items)
        out = [None] * len(items)
        for dtype in dict.fromkeys(a.dtype for a in items):
            idx = [i for i, a in enumerate(items) if a.dtype == dtype]
            buf = np.concatenate([items[i].ravel() for i in idx])     # a copy: reduced in place
            comm().Allreduce(_in_place(), buf, op=_mpi_op(op))
            if op == "mean":
                buf /= world_size()
            offset = 0
            for i in idx:
                n = items[i].size
                out[i] = buf[offset:offset + n].reshape(items[i].shape).copy()
                offset += n
    if single:
        return out[0]
    return tuple(out) if isinstance(arrays, tuple) else out


def _in_place():
    from mpi4py import MPI
    return MPI.IN_PLACE


def _check_same_layout(items):
    """One tiny collective first, so mismatched shapes fail clearly instead of mis-reducing."""
    layout = json.dumps([[a.shape, a.dtype.str] for a in items])
    same, views = agree_text(layout)
    if not same:
        raise on_every_rank(DistributedError(
            "all_reduce", message="the ranks passed different arrays",
            expected="the same shapes and dtypes on every rank",
            actual="; ".join(f"rank {r}: {v}" for r, v in enumerate(views)),
            fix="call all_reduce with arrays of the same shapes and dtypes on all ranks"))


# ------------------------------------------------------------------- gathers
def allgather_bytes(payload):
    """[every rank's bytes], in rank order (lengths first, then one Allgatherv)."""
    data = np.frombuffer(bytes(payload), dtype=np.uint8)
    if world_size() == 1:
        return [data.tobytes()]
    sizes = np.zeros(world_size(), dtype=np.int64)
    comm().Allgather(np.array([data.size], dtype=np.int64), sizes)
    out = np.empty(int(sizes.sum()), dtype=np.uint8)
    comm().Allgatherv(data, [out, sizes.tolist()])
    bounds = np.concatenate([[0], np.cumsum(sizes)])
    return [out[bounds[r]:bounds[r + 1]].tobytes() for r in range(world_size())]


def agree_text(text):
    """(all ranks have the same text, [each rank's text])."""
    views = [b.decode() for b in allgather_bytes(text.encode())]
    return all(v == views[0] for v in views), views


def allgather_rows(local):
    """Every rank's rows stacked in rank order: (Σ rows, *trailing shape).

    A rank with no rows may pass any empty array; the others fix shape and dtype.
    """
    local = np.ascontiguousarray(local)
    if world_size() == 1:
        return local.copy()
    head = json.dumps([local.shape[0] if local.size else 0, list(local.shape[1:]),
                       local.dtype.str])
    heads = [json.loads(b) for b in allgather_bytes(head.encode())]
    shaped = [h for h in heads if h[0]]
    if not shaped:
        return local.reshape(0, *local.shape[1:]).copy()
    trailing, dtype = tuple(shaped[0][1]), np.dtype(shaped[0][2])
    if any(tuple(h[1]) != trailing or h[2] != dtype.str for h in shaped):
        raise on_every_rank(DistributedError(
            "allgather_rows", message="the ranks' rows differ in shape or dtype",
            expected=f"(rows, {trailing}) {dtype} everywhere",
            actual="; ".join(f"rank {r}: {h}" for r, h in enumerate(heads)),
            fix="every rank must produce outputs of the same shape per row"))
    width = int(np.prod(trailing, dtype=np.int64))
    counts = [h[0] * width for h in heads]
    send = local.astype(dtype, copy=False).reshape(-1) if local.size else \
        np.empty(0, dtype=dtype)
    out = np.empty(sum(counts), dtype=dtype)
    comm().Allgatherv(send, [out, counts])
    return out.reshape(-1, *trailing)


# ----------------------------------------------------------------- broadcast
def broadcast(tree, root=0):
    """Rank ``root``'s ``tree`` on every rank (the others' argument is ignored).

    ``tree``: nested dicts, lists and tuples of arrays, numbers, strings,
    booleans and None (a model's state_dict, an optimizer's, a checkpoint).
    The structure travels as JSON and each array as a raw buffer: nothing is
    pickled.  Every rank, the root too, gets fresh arrays that share no memory
    with ``tree``.
    """
    size = world_size()
    if not 0 <= int(root) < size:
        raise ChainruleError("broadcast", message=f"root {root} is not a rank",
                             expected=f"0 <= root < {size}", actual=repr(root),
                             fix="pass root=0 (the main rank)")
    me = comm().Get_rank() if size > 1 else 0
    arrays = []
    if me == root:
        try:
            skeleton = json.dumps(_encode(tree, arrays))
        except (ChainruleError, ValueError) as e:
            if size == 1:
                raise
            skeleton = json.dumps({"__error__": str(e)})    # tell everyone, so nobody waits
            arrays = []
        if size == 1:
            return _decode(json.loads(skeleton), [a.copy() for a in arrays])
    else:
        skeleton = None
    skeleton = _bcast_text(skeleton, root)
    meta = json.loads(skeleton)
    if isinstance(meta, dict) and "__error__" in meta:
        raise on_every_rank(ChainruleError("broadcast", message=meta["__error__"]))
    specs = []
    _collect_specs(meta, specs)
    received = []
    for i, (shape, dtype) in enumerate(specs):
        buf = np.ascontiguousarray(arrays[i]) if me == root else np.empty(shape, dtype=dtype)
        comm().Bcast(buf, root=root)
        received.append(buf.copy() if me == root else buf)
    return _decode(meta, received)


def _bcast_text(text, root):
    n = np.array([len(text.encode()) if text is not None else 0], dtype=np.int64)
    comm().Bcast(n, root=root)
    buf = np.frombuffer(text.encode(), dtype=np.uint8).copy() if text is not None else \
        np.empty(int(n[0]), dtype=np.uint8)
    comm().Bcast(buf, root=root)
    return buf.tobytes().decode()


def _encode(obj, arrays):
    if isinstance(obj, (np.ndarray, Tensor)):
        a = obj.data if isinstance(obj, Tensor) else obj
        if a.dtype.kind not in "biufc":
            raise ChainruleError("broadcast", message=f"cannot send an array of dtype {a.dtype}",
                                 expected="numeric or boolean arrays", actual=str(a.dtype),
                                 fix="convert it to numbers first")
        arrays.append(a)
        return {"a": len(arrays) - 1, "shape": list(a.shape), "dtype": a.dtype.str}
    if isinstance(obj, np.generic):
        return {"g": obj.dtype.str, "v": obj.item() if obj.dtype.kind != "c" else
                [obj.real.item(), obj.imag.item()]}
    if isinstance(obj, dict):
        for k in obj:
            if not isinstance(k, (str, int)) or isinstance(k, bool):
                raise ChainruleError("broadcast", message=f"cannot send a dict key {k!r}",
                                     expected="str or int keys", actual=type(k).__name__,
                                     fix="use string keys")
        return {"d": [[k, isinstance(k, int), _encode(v, arrays)] for k, v in obj.items()]}
    if isinstance(obj, (list, tuple)):
        return {"l" if isinstance(obj, list) else "t": [_encode(v, arrays) for v in obj]}
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise ChainruleError("broadcast", message=f"cannot send a {type(obj).__name__}",
                         expected="dicts, lists, tuples, arrays, numbers, strings, None",
                         actual=type(obj).__name__, fix="send its state_dict() or plain data")


def _collect_specs(meta, specs):
    if isinstance(meta, dict):
        if "a" in meta:
            specs.append((tuple(meta["shape"]), np.dtype(meta["dtype"])))
        elif "d" in meta:
            for _, _, v in meta["d"]:
                _collect_specs(v, specs)
        elif "l" in meta or "t" in meta:
            for v in meta.get("l", meta.get("t")):
                _collect_specs(v, specs)


def _decode(meta, arrays):
    if not isinstance(meta, dict):
        return meta
    if "a" in meta:
        return arrays[meta["a"]]
    if "g" in meta:
        v = meta["v"]
        return np.dtype(meta["g"]).type(complex(*v) if isinstance(v, list) else v)
    if "d" in meta:
        return {(int(k) if is_int else k): _decode(v, arrays) for k, is_int, v in meta["d"]}
    if "l" in meta:
        return [_decode(v, arrays) for v in meta["l"]]
    return tuple(_decode(v, arrays) for v in meta["t"])


# ------------------------------------------------------------------ checking
def fingerprint(arrays):
    """sha256 over the dtypes, shapes and bytes of ``arrays`` (hex)."""
    h = hashlib.sha256()
    for a in arrays:
        a = np.ascontiguousarray(getattr(a, "data", a))
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes() if a.dtype.kind != "O" else repr(a.tolist()).encode())
    return h.hexdigest()


def agree(facts, what="start-up"):
    """Check that every rank has the same ``facts`` (a JSON-able dict); raise on all ranks if not.

    The error lists each fact that differs with every rank's value.
    """
    same, views = agree_text(json.dumps(facts, sort_keys=True, default=str))
    if same:
        return
    seen = [json.loads(v) for v in views]
    keys = sorted({k for s in seen for k in s})
    diffs = [f"{k}: " + ", ".join(f"rank {r} has {_short(s.get(k))}" for r, s in enumerate(seen))
             for k in keys if any(s.get(k) != seen[0].get(k) for s in seen)]
    raise on_every_rank(DistributedError(
        "distributed", message=f"the {len(seen)} processes disagree at {what}",
        expected="every process started with the same data, arguments, seeds and versions",
        actual="; ".join(diffs),
        fix="launch every rank with the same command line, data files and chainrule "
            "installation (on a cluster: the same paths on every node)"))


def _short(v):
    text = json.dumps(v, default=str, ensure_ascii=False)
    return text if len(text) <= 60 else text[:28] + "…" + text[-28:]


class together:
    """A block every rank runs alike (checking arguments, reading the data): if it fails on
    any rank, it fails on every rank, with one message, marked :func:`on_every_rank` so that
    it is reported once and nobody is left waiting or aborted.

    ``errors``: the exception types that count as such failures; ``make(text)`` builds the
    exception the ranks that did not fail raise.  In a world of one the block runs as it is.
    """

    def __init__(self, errors=(ChainruleError,), make=None):
        self.errors, self.make = tuple(errors), make or (lambda text: DistributedError(
            "distributed", message=text))

    def __enter__(self):
        return self

    def __exit__(self, kind, exc, tb):
        if world_size() == 1:
            return False
        if exc is not None and not isinstance(exc, self.errors):
            return False                      # another failure: the usual abort handles it
        text = "" if exc is None else " ".join(
            line.strip() for line in str(exc).splitlines() if line.strip())
        texts = [b.decode() for b in allgather_bytes(text.encode())]
        first = next((t for t in texts if t), None)
        if first is None:
            return False
        raise on_every_rank(exc if exc is not None else self.make(first))
