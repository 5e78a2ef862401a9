"""Models in explanations: parameters named by module path, operations grouped by layer.

A Parameter does not know where it lives; ``model.named_parameters()`` does, so a
trace or graph given ``model=`` labels its leaves ``0.weight`` rather than ``leaf1``.

To draw a model one layer per box, the forward pass is watched: while ``Layers``
is active, every module's ``forward`` is wrapped (on the instance, undone on exit)
to note the creation numbers (``Tensor._seq``) of the Tensors made inside it (by
the watching thread only: another thread calling the model meanwhile runs it as is).  An
operation then belongs to the innermost leaf module (one without sub-modules:
Linear, ReLU, a loss) whose call created it.
"""
from __future__ import annotations

import bisect
import threading

from ..core import primitive


def is_module(obj):
    from ..nn.module import Module      # explain must not import nn at import time
    return isinstance(obj, Module)


def parameter_names(model, prefix=""):
    """{id(parameter): dotted name} for a Module (empty for None)."""
    if model is None:
        return {}
    return {id(p): prefix + name for name, p in model.named_parameters()}


def describe(module):
    """'Linear(2→3)', 'ReLU', 'MSELoss': a short name for a layer box."""
    name = type(module).__name__
    a, b = getattr(module, "in_features", None), getattr(module, "out_features", None)
    if a is not None and b is not None:
        return f"{name}({a}→{b})"
    return name


class Layers:
    """Which leaf module made each Tensor: ``with Layers(model) as ly: out = f(...)``."""

    def __init__(self, model):
        self.model = model
        self.spans = []          # (start, end, path) of each call of a leaf module
        self.kinds = {}          # path -> describe(module)
        self._patched = []

    def __enter__(self):
        for path, m in self.model.named_modules():
            if next(m.named_children(), None) is not None:
                continue             # containers: their ops belong to their children
            self.kinds[path] = describe(m)
            m.__dict__["forward"] = self._watch(path, m.forward)
            self._patched.append(m)
        return self

    def __exit__(self, *exc):
        for m in self._patched:
            m.__dict__.pop("forward", None)
        self._patched = []
        self.spans.sort()
        self._starts = [s for s, _, _ in self.spans]
        return False

    def _watch(self, path, forward):
        me = threading.get_ident()

        def watched(*args, **kwargs):
            if threading.get_ident() != me:   # another thread using the model: not ours to note
                return forward(*args, **kwargs)
            start = primitive._next_seq()
            try:
                return forward(*args, **kwargs)
            finally:
                self.spans.append((start, primitive._next_seq(), path))
        return watched

    def owner(self, seq):
        """The module path whose call created the Tensor numbered ``seq``, or None."""
        if not seq or not self.spans:
            return None
        k = bisect.bisect_right(self._starts, seq) - 1
        if k >= 0:                     # leaf modules do not nest: the nearest start decides
            start, end, path = self.spans[k]
            if start < seq < end:
                return path
        return None
