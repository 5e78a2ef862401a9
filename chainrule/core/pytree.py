"""Nested lists, tuples and dicts of arrays: flatten them to leaves and rebuild them."""
from __future__ import annotations

from .tensor import Tensor

_CONTAINERS = (list, tuple, dict)


def flatten(tree):
    """Return (leaves, treedef); ``unflatten(treedef, leaves)`` rebuilds ``tree``."""
    leaves = []
    return leaves, _flatten(tree, leaves)


def _flatten(tree, leaves):
    if isinstance(tree, dict):
        keys = list(tree)
        return ("dict", keys, [_flatten(tree[k], leaves) for k in keys])
    if isinstance(tree, (list, tuple)) and not isinstance(tree, Tensor):
        kind = "list" if isinstance(tree, list) else ("tuple", type(tree))
        return (kind, None, [_flatten(t, leaves) for t in tree])
    leaves.append(tree)
    return None


def unflatten(treedef, leaves):
    it = iter(leaves)
    return _unflatten(treedef, it)


def _unflatten(treedef, it):
    if treedef is None:
        return next(it)
    kind, keys, children = treedef
    items = [_unflatten(c, it) for c in children]
    if kind == "dict":
        return dict(zip(keys, items))
    if kind == "list":
        return items
    cls = kind[1]
    return cls(*items) if hasattr(cls, "_fields") else cls(items)


def tree_map(fn, tree):
    leaves, treedef = flatten(tree)
    return unflatten(treedef, [fn(x) for x in leaves])
