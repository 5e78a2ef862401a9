"""Kink reports: which elements of a backward pass sat exactly on a non-differentiable point.

relu at 0, |x| at 0, a tie in maximum, x on a clip bound: there the derivative
does not exist and chainrule returns one chosen subgradient (the minimum-norm
one, docs/subgradients.md).  That is correct but worth knowing, because a
finite-difference check or a "why is this gradient 0?" question only makes
sense once you know you are on a kink.  Each primitive describes its kinks in
``op.kink = (mask_fn(ans, *args, **kw), subdifferential, chosen)``; this module
evaluates the masks on every node a backward pass visits.

    with cr.kinks() as k:
        loss.backward()
    print(k)            # or k.total, k.by_op["relu"].count
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core import backward as _backward
from ..core.pytree import flatten
from ..core.tensor import Tensor

# How to say "where" for the common kinks; anything else is "at a kink".
_WHERE = {
    "relu": "at 0", "abs": "at 0", "sqrt": "at 0", "sign": "at 0", "norm": "at 0",
    "leaky_relu": "at 0", "relu6": "at 0 or 6", "hardtanh": "at ±1",
    "maximum": "tied", "minimum": "tied", "fmax": "tied", "fmin": "tied",
    "max": "tied", "min": "tied", "amax": "tied", "amin": "tied", "sort": "tied",
    "clip": "on a bound", "hypot": "at the origin", "arctan2": "at the origin",
}


def kink_mask(node):
    """Boolean mask of the elements of ``node`` computed at a kink, or None if its op has none."""
    op = node._op
    kink = getattr(op, "kink", None) if op is not None else None
    if kink is None or node._raw is None:
        return None
    try:
        mask = kink[0](node.data, *node._raw, **(node._kw or {}))
    except Exception:      # a mask that cannot be evaluated must never break backward()
        return None
    return np.asarray(mask, dtype=bool)


@dataclass
class KinkCount:
    """Kinks of one operation, added up over every node of that operation."""
    op: str
    count: int            # elements exactly at a non-differentiable point
    elements: int         # elements of this operation examined
    nodes: int            # graph nodes of this operation that had at least one kink
    subdifferential: str  # the set of valid (sub)gradients there
    chosen: str           # the one chainrule returns
    where: str            # "at 0", "tied", ...

    def short(self):
        s = "" if self.count == 1 else "s"
        return f"{self.op}: {self.count} element{s} {self.where}"


class KinkReport(_backward.Observer):
    """Kinks met during backward passes, per operation; a context manager that watches them."""

    def __init__(self):
        self.by_op = {}       # op name -> KinkCount (only operations with a kink hit)
        self.checked = 0      # elements of kinked operations examined, kinks or not

    # ------------------------------------------------------------ recording
    def record(self, node):
        """Count the kinks of one node; returns how many of its elements were at a kink."""
        mask = kink_mask(node)
        if mask is None:
            return 0
        n = int(np.count_nonzero(mask))
        size = mask.size if mask.ndim else node.data.size
        self.checked += size
        if n:
            op = node._op
            c = self.by_op.get(op.name)
            if c is None:
                c = self.by_op[op.name] = KinkCount(op.name, 0, 0, 0, op.kink[1], op.kink[2],
                                                    _WHERE.get(op.name, "at a kink"))
            c.count += n
            c.elements += size
            c.nodes += 1
        return n

    def _hook(self, node, upstream, sent):
        self.record(node)

    # ------------------------------------------------------------- reading
    @property
    def total(self):
        return sum(c.count for c in self.by_op.values())

    def summary(self):
        """One line, '' when no kink was hit: 'relu: 2 elements at 0; maximum: 1 element tied'."""
        return "; ".join(c.short() for c in self.by_op.values())

    @property
    def report(self):
        """The full table as text."""
        if not self.by_op:
            return (f"no kinks: none of the {self.checked} elements of piecewise operations "
                    "sat on a non-differentiable point" if self.checked else
                    "no kinks: no piecewise (non-differentiable) operation was evaluated")
        head = ("op", "elements at kink", "where", "subdifferential", "subgradient used")
        body = [(c.op, f"{c.count} of {c.elements}", c.where, c.subdifferential, c.chosen)
                for c in self.by_op.values()]
        widths = [max(len(r[i]) for r in [head] + body) for i in range(len(head))]
        line = lambda r: "  ".join(v.ljust(w) for v, w in zip(r, widths)).rstrip()  # noqa: E731
        s = "" if self.total == 1 else "s"
        return "\n".join([f"{self.total} element{s} at a kink: the derivative does not exist there, "
                          "so chainrule used the subgradient shown", line(head)]
                         + [line(r) for r in body])

    def __str__(self):
        return self.report

    def __repr__(self):
        return f"<KinkReport total={self.total} {self.summary() or 'no kinks'}>"


def kinks():
    """Watch every backward pass in a ``with`` block: ``with cr.kinks() as k: loss.backward()``."""
    return KinkReport()


def kinks_at(f, args):
    """Short text naming the kinks of ``f`` at ``args`` ('' if none), for check_grad's warning."""
    leaves = [Tensor(np.array(a, dtype=np.result_type(np.asarray(a), np.float64)),
                     requires_grad=True) for a in args]
    try:
        with KinkReport() as k:
            outs = [o for o in flatten(f(*leaves))[0]
                    if isinstance(o, Tensor) and o.requires_grad]
            for o in outs:
                o.backward(np.ones_like(o.data), retain_graph=True)
    except Exception:    # f failing on Tensors is for check_grad itself to report
        return ""
    return k.summary()
