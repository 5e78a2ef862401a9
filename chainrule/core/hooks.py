"""Tensor hooks (PyTorch's ``register_hook``): functions called with the gradient arriving at a
Tensor during a backward pass; a returned value replaces that gradient.

The registry is keyed by the Tensor's id and emptied when the Tensor dies, so a backward pass
tests one dict for emptiness and, while no hook exists anywhere, takes its fast loop unchanged.
"""
from __future__ import annotations

import itertools
import threading
import weakref

import numpy as np

from .errors import ChainruleError, ChainruleRuntimeError, describe

registry = {}                   # id(tensor) -> (weakref to it, {handle id: fn}) in order added
_ids = itertools.count(1)
_lock = threading.Lock()


class RemovableHandle:
    """Returned by ``register_hook``; ``remove()`` unregisters the hook (twice is harmless)."""

    def __init__(self, key, hid):
        self._key, self.id = key, hid

    def remove(self):
        with _lock:
            entry = registry.get(self._key)
            if entry is not None:
                entry[1].pop(self.id, None)
                if not entry[1]:
                    del registry[self._key]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
        return False


def register_hook(t, fn):
    """Call ``fn(grad)`` each time a gradient with respect to ``t`` is computed.

    ``grad`` is what ``t.grad`` would receive (an ndarray; a Tensor under create_graph=True),
    read-only; a returned value (same shape) replaces it for the rest of the backward pass
    and for ``.grad``.  Works on leaves and intermediates, in ``backward()``,
    ``chainrule.autograd.grad`` and the function transforms.
    """
    if not callable(fn):
        raise ChainruleError("register_hook", expected="a function of the gradient",
                             actual=type(fn).__name__, fix="pass e.g. lambda g: g * 2")
    if not t.requires_grad:
        raise ChainruleRuntimeError(
            "register_hook", message="cannot register a hook on a tensor that doesn't require "
                                     "gradient", expected="a Tensor that requires grad",
            actual="requires_grad=False", fix="create it with requires_grad=True first")
    key = id(t)
    with _lock:
        entry = registry.get(key)
        if entry is None or entry[0]() is not t:
            entry = registry[key] = (weakref.ref(t, lambda _r, k=key: _forget(k, _r)), {})
        hid = next(_ids)
        entry[1][hid] = fn
    return RemovableHandle(key, hid)


def _forget(key, ref):
    with _lock:
        entry = registry.get(key)
        if entry is not None and entry[0] is ref:
            del registry[key]


def run_hooks(t, g, create_graph):
    """``g`` after the hooks registered on ``t`` (in the order they were added)."""
    entry = registry.get(id(t))
    if entry is None or entry[0]() is not t:
        return g
    for fn in list(entry[1].values()):
        given = g
        if type(given) is np.ndarray:           # shared with other gradients: no writes
            given = given.view()
            given.flags.writeable = False
        r = fn(given)
        if r is None:
            continue
        from .tensor import Tensor
        if isinstance(r, Tensor) and not create_graph:
            r = r.data
        if not isinstance(r, Tensor):
            r = np.asarray(r, dtype=t.data.dtype)
        if r.shape != t.data.shape:
            raise ChainruleRuntimeError(
                "register_hook", message=f"hook {getattr(fn, '__name__', fn)!r} has changed "
                                         f"the size of the gradient",
                expected=f"shape {t.data.shape}", actual=describe(r),
                fix="return a gradient of the Tensor's shape, or None to keep it")
        g = r
    return g
