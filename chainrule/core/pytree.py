"""Pytrees: nested lists, tuples, namedtuples and dicts of arrays, flattened to leaves and back.

As in JAX, ``None`` is an empty node (a tree without leaves), containers keep their type
(a namedtuple comes back as the same namedtuple, an OrderedDict as an OrderedDict), and
anything else (arrays, Tensors, numbers) is a leaf.
"""
from __future__ import annotations

import collections

import numpy as np

from .tensor import Tensor


def flatten(tree):
    """Return (leaves, treedef); ``unflatten(treedef, leaves)`` rebuilds ``tree``."""
    if type(tree) is np.ndarray:            # the usual case, without the walk
        return [tree], None
    leaves = []
    return leaves, _flatten(tree, leaves)


def _flatten(tree, leaves):
    if isinstance(tree, dict):
        keys = list(tree)
        return (("dict", type(tree), getattr(tree, "default_factory", None)), keys,
                [_flatten(tree[k], leaves) for k in keys])
    if isinstance(tree, (list, tuple)) and not isinstance(tree, Tensor):
        kind = "list" if isinstance(tree, list) else ("tuple", type(tree))
        return (kind, None, [_flatten(t, leaves) for t in tree])
    if tree is None:
        return ("none", None, [])
    leaves.append(tree)
    return None


def unflatten(treedef, leaves):
    it = iter(leaves)
    return _unflatten(treedef, it)


def _unflatten(treedef, it):
    if treedef is None:
        return next(it)
    kind, keys, children = treedef
    if kind == "none":
        return None
    items = [_unflatten(c, it) for c in children]
    if kind == "list":
        return items
    if kind[0] == "dict":
        _, cls, factory = kind
        if cls is dict:
            return dict(zip(keys, items))
        if cls is collections.defaultdict:
            return collections.defaultdict(factory, zip(keys, items))
        return cls(zip(keys, items))
    cls = kind[1]
    return cls(*items) if hasattr(cls, "_fields") else cls(items)


def num_leaves(treedef):
    if treedef is None:
        return 1
    return sum(num_leaves(c) for c in treedef[2])


def tree_map(fn, tree, *rest):
    """``fn`` applied to each leaf (and the matching leaves of ``rest``), same structure
    (``jax.tree.map``).  Trees in ``rest`` must have ``tree``'s structure."""
    leaves, treedef = flatten(tree)
    others = []
    for k, r in enumerate(rest):
        more, rdef = flatten(r)
        if rdef != treedef:
            from .errors import ChainruleError
            raise ChainruleError("tree_map", message=f"tree {k + 1} of rest has another structure",
                                 expected=f"the first tree's structure ({len(leaves)} leaves)",
                                 actual=f"{len(more)} leaves, structured differently",
                                 fix="pass trees with the same containers and keys")
        others.append(more)
    return unflatten(treedef, [fn(x, *xs) for x, *xs in zip(leaves, *others)])


def broadcast_prefix(prefix, tree, what="in_axes"):
    """One entry of ``prefix`` per leaf of ``tree``: ``prefix`` matches the top of ``tree``'s
    structure and each of its leaves (None included) covers a whole subtree."""
    out = []
    _broadcast(prefix, tree, out, what)
    return out


def _broadcast(prefix, tree, out, what):
    if prefix is None or not isinstance(prefix, (list, tuple, dict)):
        out.extend([prefix] * len(flatten(tree)[0]))
        return
    from .errors import ChainruleError
    if isinstance(prefix, dict):
        if not isinstance(tree, dict) or set(prefix) != set(tree):
            raise ChainruleError(what, message="the axis specification does not match the "
                                 "arguments' structure", expected=f"a dict with keys "
                                 f"{sorted(tree) if isinstance(tree, dict) else '(none)'}",
                                 actual=f"keys {sorted(prefix)}",
                                 fix="give one entry per key, or one int/None for the whole dict")
        for k in tree:
            _broadcast(prefix[k], tree[k], out, what)
        return
    if not isinstance(tree, (list, tuple)) or isinstance(tree, Tensor) or len(tree) != len(prefix):
        n = len(tree) if isinstance(tree, (list, tuple)) and not isinstance(tree, Tensor) else None
        raise ChainruleError(what, message="the axis specification does not match the "
                             "arguments' structure",
                             expected=f"a sequence of {n} entries" if n is not None
                             else f"an int or None for a {type(tree).__name__}",
                             actual=f"{type(prefix).__name__} of {len(prefix)} entries",
                             fix="give one entry per element, or one int/None for all of them")
    for p, t in zip(prefix, tree):
        _broadcast(p, t, out, what)


# ------------------------------------------------------------------ ravel
def ravel_pytree(tree):
    """``(vector, unravel)``: every leaf flattened into one 1-D vector, and the inverse.

    For optimisers that want one flat vector (``scipy.optimize.minimize``): both directions
    are differentiable, so ``cr.value_and_grad(lambda v: loss(unravel(v)))(vector)`` is the
    gradient of the model's loss as one vector.  The vector has the leaves' common dtype;
    ``unravel`` gives each leaf back its own shape and dtype.
    """
    from ..ops.construction import concatenate
    from ..ops.shape import reshape
    from .primitive import astype
    leaves, treedef = flatten(tree)
    shapes = [np.shape(x) for x in leaves]
    dtypes = [_dtype_of(x) for x in leaves]
    sizes = [int(np.prod(s, dtype=np.int64)) for s in shapes]
    common = np.result_type(*dtypes) if dtypes else np.dtype(np.float64)
    pieces = [reshape(x, (-1,)) if isinstance(x, Tensor) else np.ravel(np.asarray(x))
              for x in leaves]
    if any(isinstance(p, Tensor) for p in pieces):
        flat = concatenate([astype(p, common) if p.dtype != common else p for p in pieces]) \
            if pieces else np.zeros(0, common)
    else:
        flat = np.concatenate([p.astype(common, copy=False) for p in pieces]) if pieces \
            else np.zeros(0, common)
    offsets = np.cumsum([0] + sizes)

    def unravel(vector):
        from .errors import ChainruleError, describe
        if np.shape(vector) != (int(offsets[-1]),):
            raise ChainruleError("unravel", message="the vector does not match the tree",
                                 expected=f"shape ({int(offsets[-1])},)",
                                 actual=describe(vector if hasattr(vector, "shape")
                                                 else np.asarray(vector)),
                                 fix="pass a vector like the one ravel_pytree returned")
        parts = []
        for k, (shape, dtype) in enumerate(zip(shapes, dtypes)):
            piece = vector[int(offsets[k]):int(offsets[k + 1])]
            if isinstance(piece, Tensor):
                piece = reshape(piece, shape)
                parts.append(piece if piece.dtype == dtype else astype(piece, dtype))
            else:
                parts.append(np.asarray(piece).reshape(shape).astype(dtype, copy=False))
        return unflatten(treedef, parts)
    return flat, unravel


def _dtype_of(x):
    if isinstance(x, Tensor):
        return x.dtype
    d = np.asarray(x).dtype
    return np.dtype(np.float64) if d.kind in "biu" else d
