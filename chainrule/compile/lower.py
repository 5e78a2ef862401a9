"""Lowering: the NumPy source a recorded call becomes.

Each op family keeps its own ``LOWER`` table beside its rules (``chainrule/ops/*.py``):
``name -> "np.tanh({0})"`` (``{i}`` are the arguments' sources) or ``name -> f(e)``, where
``e`` (an ``Emit``) describes the call: its arguments' sources, their static values, shapes
and dtypes, and the output's shape.  A function may return None when it cannot express a
particular call; then, as for every op without a row, the generated program calls the
primitive's own function.  Nothing here changes what an op computes.
"""
from __future__ import annotations

import re

import numpy as np

from ..core import primitive as _core
from ..ops import construction, elementwise, indexing, linalg, nn, reductions, shape
from .trace import Const, Ref

# module, what its lowered results are:
#   "ufunc": new arrays, elementwise in their arguments (may broadcast, may be done in place)
#   "new": new arrays;  "view": views of their first argument
_FAMILIES = ((elementwise, "ufunc"), (reductions, "new"), (linalg, "new"), (nn, "ufunc"),
             (construction, "new"), (shape, "view"), (indexing, "view"))

# the engine's own primitives (core/primitive.py): identity is the value itself
ENGINE = {"astype": lambda e: f"{e.arg(0)}.astype({e.arg(1)})"}


STALE = []       # rows naming no primitive (an op moved or renamed): tests fail on them


def _primitive(module, name):
    """The primitive a table row names: the module's own (by name, in its _ops, or private),
    or one of the engine's (broadcast_to, sum_to, ...) that the module uses."""
    ops = vars(module)
    found = (ops.get(name), ops.get("_ops", {}).get(name), ops.get("_" + name),
             ops.get(f"_{name}_op"), getattr(_core, name, None))
    return next((f for f in found if isinstance(f, _core.Primitive) and f.name == name), None)


def _tables():
    table, kinds = {}, {}
    for module, kind in _FAMILIES:
        for name, rule in getattr(module, "LOWER", {}).items():
            op = _primitive(module, name)
            if op is None:                   # the op then runs through its function: still right
                STALE.append(f"{module.__name__}.LOWER[{name!r}]")
                continue
            table[op] = rule
            kinds[op] = kind
    table[_core.astype] = ENGINE["astype"]
    kinds[_core.astype] = "new"
    return table, kinds


LOWER, KINDS = _tables()


def _fusions():
    """(op A, op B) -> fn(A's arguments..., B's extra arguments...) computing both."""
    out = {}
    for module, _ in _FAMILIES:
        for (a, b), fn in getattr(module, "FUSE", {}).items():
            pa, pb = _primitive(module, a), _primitive(module, b)
            if pa is None or pb is None:
                STALE.append(f"{module.__name__}.FUSE[{(a, b)!r}]")
                continue
            out[(pa, pb)] = fn
    return out


FUSE = _fusions()
IDENTITY = _core.identity
COMMUTATIVE = {elementwise.add, elementwise.multiply}
AUGMENTED = {elementwise.add: "+=", elementwise.subtract: "-=", elementwise.multiply: "*=",
             elementwise.divide: "/="}
BROADCAST = shape.broadcast_to
SUM_TO = shape.sum_to


class NotStatic(Exception):
    """A lowering asked for the static value of an argument that is traced."""


class Emit:
    """One recorded call as a lowering sees it."""

    def __init__(self, node, args, kwargs, render, graph):
        self.node, self.args, self.kwargs = node, args, kwargs
        self._render, self._graph = render, graph
        self.out_shape, self.out_dtype = node.shape, node.dtype

    def arg(self, i):
        return self._render(self.args[i])

    def value(self, i):
        return self._graph.static(self.args[i])

    def shape(self, i):
        return self._graph.shape_of(self.args[i])

    def dtype(self, i):
        return self._graph.dtype_of(self.args[i])

    def params(self, names):
        """Static values of the arguments after the first, by name (positional or keyword)."""
        out = {n: self._graph.static(a) for n, a in zip(names, self.args[1:])}
        if len(self.args) - 1 > len(names):
            raise NotStatic("more positional arguments than names")
        out.update((k, self._graph.static(v)) for k, v in self.kwargs.items())
        return out

    def index(self, i):
        """Argument ``i`` written as the inside of ``x[...]``."""
        idx = self.args[i]
        if type(idx) is tuple:
            if not idx:
                return "()"
            return ", ".join(self._index_part(p) for p in idx) + ("," if len(idx) == 1 else "")
        return self._index_part(idx)

    def _index_part(self, p):
        if type(p) is slice:
            parts = ["" if v is None else self._render(v) for v in (p.start, p.stop, p.step)]
            return f"{parts[0]}:{parts[1]}" + (f":{parts[2]}" if parts[2] else "")
        if p is Ellipsis:
            return "..."
        return self._render(p)


_PLACEHOLDER = re.compile(r"\{(\d+)\}")


def lower(node, args, kwargs, render, graph):
    """The source expression for a call node, or None (then its Primitive.fn is called)."""
    rule = LOWER.get(node.op)
    if rule is None:
        return None
    if isinstance(rule, str):
        wanted = {int(m) for m in _PLACEHOLDER.findall(rule)}
        if kwargs or wanted != set(range(len(args))):
            return None
        return rule.format(*(render(a) for a in args))
    try:
        return rule(Emit(node, args, kwargs, render, graph))
    except (NotStatic, IndexError, KeyError, TypeError, ValueError):
        return None


def kind(op):
    return KINDS.get(op)


def single_ufunc(expr):
    """The NumPy ufunc if the lowered source ``expr`` is one call of it, ``np.name(...)``."""
    m = _CALL.match(expr)
    if m is None:
        return None
    depth = 0
    for k in range(m.end() - 1, len(expr)):
        depth += {"(": 1, ")": -1}.get(expr[k], 0)
        if depth == 0:
            break
    f = getattr(np, m.group(1), None)
    return f if k == len(expr) - 1 and isinstance(f, np.ufunc) else None


_CALL = re.compile(r"np\.(\w+)\(")


def is_const(t):
    return isinstance(t, Const)


def is_ref(t):
    return isinstance(t, Ref)
