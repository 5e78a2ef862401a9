"""The passes between a trace and its program.

A trace is straight-line SSA: node i is computed from earlier nodes, constants and literals.
The passes only ever decide that a node's value *is* another node's value (``same``), rewrite
which value an argument reads, or drop what no output needs, so they cannot change a result:

* simplify: casts to the dtype a value already has, reshapes/broadcasts/sum_tos to the shape
  it already has, identity, multiplication by 1 -- the value itself;
* common subexpressions: the same op on the same arguments is computed once (random draws
  never merge);
* broadcasting decided once: ``broadcast_to(x, s)`` read only by elementwise ops whose other
  operands already give shape ``s`` is dropped, NumPy broadcasts ``x`` itself;
* dead code: what no output needs is not computed (random draws always are, so the
  generator advances exactly as in eager mode).

Then ``plan`` decides, per node, where its value lives: in place into an operand's buffer
when that buffer is the program's own, dies here, has no live view, and has the result's
shape and dtype (``z = X @ W; z += b``, gradient sums ``g += h``), and which names can be
released early (``del``) so peak memory stays that of the eager step.
"""
from __future__ import annotations

import math

import numpy as np

from . import lower as L
from .trace import Const, Out, Ref

_SAME_SHAPE_OPS = {"reshape", "squeeze", "expand_dims", "broadcast_to", "sum_to", "astype",
                   "copy_free"}


class Graph:
    def __init__(self, trace):
        self.trace = trace
        self.nodes = trace.nodes
        self.consts = trace.consts
        n = len(self.nodes)
        self.args = [node.args for node in self.nodes]
        self.kwargs = [node.kwargs for node in self.nodes]
        self.same = list(range(n))
        self.outputs = trace.outputs
        self._refs = None        # node -> nodes it reads, once the passes are done
        self.pairs = {}          # node -> (node it also computes, the function doing both)

    # ------------------------------------------------------------------ values
    def find(self, i):
        same = self.same
        while same[i] != i:
            same[i] = same[same[i]]
            i = same[i]
        return i

    def static(self, t):
        if isinstance(t, Ref):
            raise L.NotStatic(t)
        if isinstance(t, Const):
            return self.consts[t.j]
        if type(t) in (tuple, list):
            return type(t)(self.static(v) for v in t)
        if type(t) is dict:
            return {k: self.static(v) for k, v in t.items()}
        if type(t) is slice:
            return slice(self.static(t.start), self.static(t.stop), self.static(t.step))
        if isinstance(t, tuple):
            return type(t)(*(self.static(v) for v in t))
        return t

    def shape_of(self, t):
        if isinstance(t, Ref):
            return self.nodes[self.find(t.i)].shape
        return np.shape(self.static(t))

    def dtype_of(self, t):
        if isinstance(t, Ref):
            return self.nodes[self.find(t.i)].dtype
        v = self.static(t)
        return v.dtype if hasattr(v, "dtype") else np.result_type(v)

    def refs(self, t, out=None):
        """Indices (resolved) of the nodes a template reads."""
        out = [] if out is None else out
        if isinstance(t, Ref):
            out.append(self.find(t.i))
        elif isinstance(t, Out):
            self.refs(t.value, out)
        elif type(t) in (tuple, list) or isinstance(t, tuple):
            for v in t:
                self.refs(v, out)
        elif type(t) is dict:
            for v in t.values():
                self.refs(v, out)
        elif type(t) is slice:
            for v in (t.start, t.stop, t.step):
                self.refs(v, out)
        return out

    def node_refs(self, i):
        cache = self._refs
        if cache is not None:
            got = cache.get(i)
            if got is not None:
                return got
        out = []
        for a in self.args[i]:
            self.refs(a, out)
        for v in self.kwargs[i].values():
            self.refs(v, out)
        if cache is not None:
            cache[i] = out
        return out

    def output_refs(self):
        return self.refs(self.outputs)

    # ---------------------------------------------------------------- passes
    def run(self):
        self.simplify()
        self.merge_common()
        self.drop_broadcasts()
        self._refs = {}
        self.order = self.live()
        self.fuse_pairs()
        return self

    def fuse_pairs(self):
        """Two ops on the same first argument that one function computes together (the ops
        modules' FUSE tables): the second moves next to the first, which computes both."""
        self.pairs = {}
        if not L.FUSE:
            return
        first = {}
        for i in self.order:
            node = self.nodes[i]
            if node.kind == "call" and self.args[i] and isinstance(self.args[i][0], Ref):
                first.setdefault((node.op, self.find(self.args[i][0].i)), i)
        for (op_a, op_b), fn in L.FUSE.items():
            for i in self.order:
                node = self.nodes[i]
                if node.op is not op_b or not self.args[i] or \
                        not isinstance(self.args[i][0], Ref):
                    continue
                a = first.get((op_a, self.find(self.args[i][0].i)))
                if a is None or a in self.pairs or self.kwargs[a] or \
                        set(self.kwargs[i]) - {"axis"} or \
                        (len(self.args[i]) > 1 and not self._same_args(a, i)):
                    continue
                self.pairs[a] = (i, fn)
                self.order.remove(i)
                self.order.insert(self.order.index(a) + 1, i)
                break

    def _same_args(self, a, b):
        """Whether nodes a and b take the same arguments (the same values, or the same constants)."""
        def key(v):
            if isinstance(v, Ref):
                return "ref", self.find(v.i)
            return ("const", v.j) if isinstance(v, Const) else ("value", id(v))
        return [key(v) for v in self.args[a]] == [key(v) for v in self.args[b]]

    def simplify(self):
        for i, node in enumerate(self.nodes):
            if node.kind != "call" or self.same[i] != i:
                continue
            op, args = node.op, self.args[i]
            if op is L.IDENTITY and args and isinstance(args[0], Ref):
                self.same[i] = self.find(args[0].i)
                continue
            name = getattr(op, "name", "")
            if L.kind(op) == "ufunc" and isinstance(L.LOWER.get(op), str):
                args = self.args[i] = self._uniform_constants(i, args)
            if name == "multiply" and len(args) == 2 and not self.kwargs[i]:
                for a, b in ((args[0], args[1]), (args[1], args[0])):
                    if isinstance(a, Ref) and self._is_one(b):
                        s = self.nodes[self.find(a.i)]
                        if s.shape == node.shape and s.dtype == node.dtype:
                            self.same[i] = s.i
                            break
                continue
            first = args[0] if args else None
            if not isinstance(first, Ref):
                continue
            src = self.nodes[self.find(first.i)]
            unchanged = src.shape == node.shape and src.dtype == node.dtype
            if unchanged and (name in _SAME_SHAPE_OPS or name == "transpose" and
                              (len(node.shape) <= 1 or _identity_axes(self, i))):
                self.same[i] = src.i

    def _uniform_constants(self, i, args):
        """A constant array whose entries are all equal (a loss's broadcast 1/n) as one NumPy
        scalar of its dtype, when the other operands already give the result its shape."""
        out = list(args)
        for k, a in enumerate(args):
            if not isinstance(a, Const):
                continue
            v = self.consts[a.j]
            if type(v) is not np.ndarray or v.size < 2 or v.size > (1 << 22):
                continue
            first = v.flat[0]
            if not (np.all(v == first) or v.dtype.kind in "fc" and np.all(np.isnan(v))):
                continue
            others = [self.shape_of(b) for m, b in enumerate(out) if m != k]
            try:
                if np.broadcast_shapes(*others) != self.nodes[i].shape:
                    continue
            except ValueError:
                continue
            self.consts.append(v.dtype.type(first))
            out[k] = Const(len(self.consts) - 1)
        return tuple(out)

    def _is_one(self, t):
        """A literal 1 or a constant array of ones (the broadcast seed of a loss's sum)."""
        if type(t) in (int, float):
            return t == 1
        if isinstance(t, Const):
            v = self.consts[t.j]
            return isinstance(v, (np.ndarray, np.generic)) and v.dtype.kind in "fiub" and \
                np.size(v) <= (1 << 22) and bool(np.all(v == 1))
        return False

    def _key(self, t):
        if isinstance(t, Ref):
            return ("r", self.find(t.i))
        if isinstance(t, Const):
            return ("c", t.j)
        tt = type(t)
        if tt in (tuple, list) or isinstance(t, tuple):
            return (tt.__name__,) + tuple(self._key(v) for v in t)
        if tt is dict:
            return ("d",) + tuple((k, self._key(v)) for k, v in t.items())
        if tt is slice:
            return ("s", self._key(t.start), self._key(t.stop), self._key(t.step))
        return (tt.__name__, repr(t))

    def merge_common(self):
        seen = {}
        for i, node in enumerate(self.nodes):
            if node.kind != "call" or self.same[i] != i:
                continue
            key = (id(node.op), tuple(self._key(a) for a in self.args[i]),
                   tuple((k, self._key(v)) for k, v in self.kwargs[i].items()))
            j = seen.get(key)
            if j is None:
                seen[key] = i
            else:
                self.same[i] = j

    def uses(self):
        uses = {}
        for i, node in enumerate(self.nodes):
            if node.kind == "input" or self.same[i] != i:
                continue
            for r in set(self.node_refs(i)):
                uses.setdefault(r, []).append(i)
        return uses

    def drop_broadcasts(self):
        uses = self.uses()
        for b, node in enumerate(self.nodes):
            if node.op is not L.BROADCAST or self.same[b] != b or b not in uses:
                continue
            src = self.args[b][0]
            if not isinstance(src, Ref):
                continue
            x = self.find(src.i)
            for c in uses[b]:
                cn = self.nodes[c]
                if cn.kind != "call" or L.kind(cn.op) != "ufunc" or self.kwargs[c] or \
                        not isinstance(L.LOWER.get(cn.op), str):
                    continue
                new = tuple(Ref(x) if isinstance(a, Ref) and self.find(a.i) == b else a
                            for a in self.args[c])
                try:
                    shape = np.broadcast_shapes(*(self.shape_of(a) for a in new))
                except ValueError:
                    continue
                if shape == cn.shape and self.dtype_of(Ref(x)) == node.dtype:
                    self.args[c] = new

    def live(self):
        """The nodes the outputs need (and every random draw), in program order."""
        keep = set(self.output_refs())
        keep.update(i for i, n in enumerate(self.nodes) if n.kind == "draw")
        stack = list(keep)
        while stack:
            i = stack.pop()
            for r in self.node_refs(i):
                if r not in keep:
                    keep.add(r)
                    stack.append(r)
        return [i for i in sorted(keep) if self.same[i] == i]

    # ------------------------------------------------------------------ plan
    def plan(self, lowered, in_place=True):
        """Names, in-place updates and early releases for the live nodes.

        ``lowered``: node -> source expression (None: the primitive's function is called)."""
        self.lowered = lowered
        order = self.order
        pos = {i: p for p, i in enumerate(order)}
        last = {}
        for i in order:
            for r in self.node_refs(i):
                last[r] = pos[i]
        end = len(order)
        outs = self.output_refs()
        for r in outs:
            last[r] = end
        roots = {}
        fresh = {}
        second = {b for b, _ in self.pairs.values()}
        for i in order:
            node = self.nodes[i]
            kind = L.kind(node.op) if node.kind == "call" else None
            done = lowered.get(i) is not None
            if node.kind in ("draw", "kernel_out") or i in self.pairs or i in second:
                fresh[i], roots[i] = True, {i}        # (a FUSE function returns new arrays)
            elif node.kind == "input":
                fresh[i], roots[i] = False, {"input"}
            elif done and (kind in ("ufunc", "new") or node.op is L.SUM_TO):
                fresh[i], roots[i] = True, {i}
            else:
                fresh[i] = False
                r = set()
                for a in self.node_refs(i):
                    r |= roots[a]
                if any(isinstance(c, Const) for c in _consts(self.args[i])):
                    r.add("const")
                roots[i] = r or {i}
        viewers = {}
        for i in order:
            for r in roots[i]:
                if r != i:
                    viewers.setdefault(r, []).append(i)
        inplace = {}
        if in_place:
            for i in order:
                form = self._in_place_form(i, pos, last, fresh, viewers)
                if form is not None:
                    inplace[i] = form
                    fresh[i], roots[i] = True, {i}
                    viewers.setdefault(i, []).extend(viewers.get(form[0], ()))
        # names: a value's name is free again once its last reader has run, so a long program
        # keeps only its live values alive (as eager mode does); large dead arrays are
        # released at once with del
        names, free, releases = {}, [], {}
        for p, i in enumerate(order):
            node = self.nodes[i]
            if node.kind == "input":
                names[i] = f"x{node.arg}"
                continue
            if i in inplace:
                names[i] = names[inplace[i][0]]
            elif in_place and free:
                names[i] = free.pop()
            else:
                names[i] = f"v{i}"
            if not in_place:
                continue
            for r in sorted(set(self.node_refs(i))):
                if last.get(r) == p and self.nodes[r].kind != "input" and names[r] != names[i]:
                    if self.nodes[r].shape is not None and _nbytes(self.nodes[r]) >= (1 << 16):
                        releases.setdefault(i, []).append(names[r])
                    free.append(names[r])
        following = {}                 # a name the next statement rebinds needs no del
        for p, i in enumerate(order[:-1]):
            following[i] = names.get(order[p + 1])
        for i, dead in releases.items():
            releases[i] = [n for n in dead if n != following.get(i)]
        return {"names": names, "inplace": inplace, "releases": releases, "fresh": fresh,
                "roots": roots, "outputs": outs}

    def _in_place_form(self, i, pos, last, fresh, viewers):
        """(buffer node, statement kind) if node i can be computed into an operand's buffer."""
        node = self.nodes[i]
        if node.kind != "call" or not node.shape or L.kind(node.op) != "ufunc" or self.kwargs[i]:
            return None
        expr = self.lowered.get(i)
        if expr is None:
            return None
        aug = L.AUGMENTED.get(node.op) if isinstance(L.LOWER.get(node.op), str) else None
        ufunc = L.single_ufunc(expr)          # (out= is added to that one call)
        if aug is None and (ufunc is None or _size(node) < 4096 or ufunc.nout != 1):
            return None
        args = self.args[i]
        for k, a in enumerate(args):
            if not isinstance(a, Ref):
                continue
            b = self.find(a.i)
            bn = self.nodes[b]
            if not fresh.get(b) or last.get(b) != pos[i] or bn.shape != node.shape or \
                    bn.dtype != node.dtype or b in self.trace.inputs:
                continue
            if any(last.get(v, -1) >= pos[i] for v in viewers.get(b, ()) if v != i):
                continue
            if aug is not None:
                if k == 0 or (node.op in L.COMMUTATIVE and len(args) == 2):
                    return b, "aug", k
                continue
            return b, "out", k
        return None


def _identity_axes(graph, i):
    try:
        axes = graph.static(graph.args[i][1]) if len(graph.args[i]) > 1 else \
            graph.static(graph.kwargs[i].get("axes"))
    except L.NotStatic:
        return False
    return axes is None and len(graph.nodes[i].shape) <= 1 or \
        axes is not None and tuple(axes) == tuple(range(len(axes)))


def _consts(t, out=None):
    out = [] if out is None else out
    if isinstance(t, Const):
        out.append(t)
    elif type(t) in (tuple, list) or isinstance(t, tuple):
        for v in t:
            _consts(v, out)
    elif type(t) is dict:
        for v in t.values():
            _consts(v, out)
    return out


def _size(node):
    return math.prod(node.shape) if node.shape else 1


def _nbytes(node):
    return _size(node) * node.dtype.itemsize
