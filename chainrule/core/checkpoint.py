"""``checkpoint`` (``remat``): trade compute for memory by recomputing a function's
intermediates in the backward pass instead of keeping them.

    layer = cr.checkpoint(lambda h, W, b: cr.functional.relu(h @ W + b))

The function runs once, recorded as usual; then its recorded operations (a small program of
ops and constants, no intermediate arrays) replace its part of the graph, and each output
becomes one node whose inputs are the Tensors the part depended on (arguments and closures
alike).  Its backward pass replays the program on those inputs, which rebuilds the
intermediates with their own graph, and backpropagates through it.  Replaying the recorded
operations (rather than calling the function again) gives the same values even if the
function draws random numbers or the caller changed an array meanwhile (the constants the
program needs stay read-only while it lives), and it works the same under vmap, jvp and
nested transforms, since the recorded operations are ordinary ones.
"""
from __future__ import annotations

import functools

import numpy as np

from . import state
from .backward import grad_of
from .batching import core, levels_of, wrap
from .custom import OneVisit, _last_active
from .primitive import Primitive, _next_seq
from .pytree import flatten, unflatten
from .tensor import Tensor


def checkpoint(fun):
    """``fun`` with its intermediates recomputed in the backward pass (``jax.checkpoint``)."""
    @functools.wraps(fun)
    def wrapped(*args, **kwargs):
        start = _next_seq()
        out = fun(*args, **kwargs)
        leaves, treedef = flatten(out)
        return unflatten(treedef, [_collapse(o, start) for o in leaves])
    return wrapped


remat = checkpoint


def _segment(node, start):
    """The nodes made after ``start`` that ``node`` depends on (inputs first), and the older
    Tensors they read: the part of the graph to replace, and its inputs."""
    seen, stack, inside, external = {node}, [node], [], []
    while stack:
        t = stack.pop()
        if t._op is None or t._seq < start:
            external.append(t)
            continue
        inside.append(t)
        for _, p in t._parents:
            if p not in seen:
                seen.add(p)
                stack.append(p)
    inside.sort(key=lambda t: t._seq)
    external.sort(key=lambda t: t._seq)
    return inside, external


def _collapse(o, start):
    node = core(o)
    if not isinstance(node, Tensor) or not node.requires_grad or node._op is None or \
            node._seq < start:
        return o
    inside, external = _segment(node, start)
    where = {t: ("seg", j) for j, t in enumerate(inside)}
    where.update({t: ("ext", k) for k, t in enumerate(external)})
    program, guards = [], []
    for t in inside:
        spec = [where.get(a, ("const", a)) if isinstance(a, Tensor) else ("const", a)
                for a in t._args]
        program.append((t._op, spec, t._kw))
        guard = getattr(t, "_guard", None)
        if guard is not None:
            guards.append(guard)        # large constants stay read-only while replayable
    out_index = len(program) - 1

    def replay(ext):
        vals = []
        for op, spec, kw in program:
            args = [x if kind == "const" else ext[x] if kind == "ext" else vals[x]
                    for kind, x in spec]
            vals.append(op(*args, **kw))
        return vals[out_index]

    def gradients(g):
        with state.enable_grad():
            again = replay(external)
            return grad_of(again, external, seed=g, create_graph=isinstance(g, Tensor),
                           op="checkpoint")
    visit = OneVisit(gradients, _last_active(external))

    op = Primitive("checkpoint", lambda *raw: replay(list(raw)))
    op.vjp = lambda i, g, ans, *a: visit(i, g)
    op.jvp = None
    op.formula = {k: "recomputed" for k in range(len(external))}
    t = Tensor.__new__(Tensor)
    t.data = node.data
    t.grad = None
    t._retain = False
    t.name = None
    t.requires_grad = True
    t._op = op
    t._args = tuple(external)
    t._raw = [e.data for e in external]
    t._kw = {}
    t._parents = [(k, e) for k, e in enumerate(external) if e.requires_grad]
    t._seq = _next_seq()
    t._fw = node._fw
    t._guard = guards or None
    return wrap(t, levels_of(o))
