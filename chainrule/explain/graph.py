"""Graph pictures: the computation with values and gradients on the nodes.

A Tensor is its own graph node (``_op``, ``_args``), so drawing the graph is a
walk from the output back to the leaves.  From a Trace the picture also shows
the gradient sent along every edge, i.e. the chain rule in action, with the
gate patterns named (add distributes, multiply swaps, max routes, relu gates)
and kinks marked.  The picture is drawn in pure Python (``layout.py``,
``svg.py``); Graphviz is an option for PNG/PDF, never a requirement.

    g = cr.graph(loss)              # before backward (or with retain_graph=True)
    g = cr.graph(cr.trace(f, w))    # with gradients on nodes and edges
    g.save("chain.svg")             # pure Python; chain.dot / .png / .pdf too
    g                               # in Jupyter: the SVG
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..core.errors import ChainruleError
from ..core.tensor import Tensor
from . import formula, modules
from .trace import Summary, Trace, keep, local_text, show, trace

MAX_NODES = 2000      # larger graphs are drawn as a summary, not laid out
_INSTALL = ("install Graphviz's dot program (apt-get install graphviz, brew install graphviz, "
            "conda install graphviz), or save as .svg, which needs nothing; `pip install "
            "chainrule[graph]` adds the Python graphviz package, which needs the same program. "
            "The DOT text (Graph.source) works without it.")


class GraphvizNotFound(ChainruleError, RuntimeError):
    """Rendering PNG/PDF needs Graphviz's ``dot``; a ChainruleError that ``except RuntimeError``
    also catches."""


@dataclass
class Node:
    """One box of the picture: a Tensor, a constant, or (for models) a whole layer."""
    label: str                    # "w1", "v2", "L", "const", "0" (a layer's module path)
    kind: str                     # leaf | op | output | const | freed | layer
    op: str = ""                  # the primitive ("multiply"), or the layer's type ("Linear(2→3)")
    kw: str = ""
    shape: tuple = ()
    value: object = None          # kept value: a small array, or a Summary
    grad: object = None           # ∂L/∂node, kept likewise (None when unknown)
    kinks: int = 0                # elements at a non-differentiable point
    kink_note: str = ""           # "relu at 0: subdifferential [0, 1], chainrule used 0"
    kink_choice: str = ""         # "∂ ∈ [0, 1], used 0": the same, short, for the box
    rows: list = field(default_factory=list)   # trace rows (steps) this node stands for
    ops: list = field(default_factory=list)    # a layer's operations


@dataclass
class Edge:
    """Data flows src → dst; the gradient ``sent`` flows back along it."""
    src: int
    dst: int
    sent: object = None
    gate: str = ""                # "swaps", "distributes", "routes (won)", "gates (open)"
    local: str = ""               # the local derivative, as text
    row: int | None = None        # the trace row (step) that sent it


class Graph:
    """A computation graph: DOT text, a pure-Python SVG, and (with Graphviz) PNG/PDF."""

    def __init__(self, nodes, edges, rankdir="LR", max_elements=10, show_values=True,
                 show_grads=True, max_nodes=MAX_NODES, title=""):
        self.node_list, self.edge_list = nodes, edges
        self.rankdir, self.max_elements = rankdir, max_elements
        self.show_values, self.show_grads = show_values, show_grads
        self.max_nodes, self.title = max_nodes, title
        self._source = None

    # counts, as before the node lists existed
    nodes = property(lambda self: len(self.node_list))
    edges = property(lambda self: len(self.edge_list))

    @property
    def source(self):
        """The Graphviz DOT text (always available)."""
        if self._source is None:
            self._source = _dot(self)
        return self._source

    def __str__(self):
        return self.source

    def __repr__(self):
        return f"<Graph: {self.nodes} nodes, {self.edges} edges>"

    @property
    def summarised(self):
        """True when the graph is too large to lay out (more than ``max_nodes`` nodes)."""
        return self.nodes > self.max_nodes

    def svg(self, engine="python", id_prefix="cr"):
        """The picture as SVG text: laid out in pure Python, or by Graphviz (``engine="dot"``)."""
        if engine in ("dot", "graphviz"):
            return self.pipe("svg").decode("utf-8")
        if engine != "python":
            raise ChainruleError("graph.svg", expected="engine='python' or engine='dot'",
                                 actual=repr(engine), fix="use the default, engine='python'")
        from . import svg
        return svg.render(self, id_prefix=id_prefix)

    def pipe(self, format="svg"):
        """Bytes rendered by Graphviz (``dot -T<format>``); needs its ``dot`` on PATH."""
        exe = shutil.which("dot")
        if exe is None:
            raise GraphvizNotFound("graph", message=f"cannot render {format}: Graphviz's `dot` "
                                   "program is not on PATH", expected="the `dot` executable",
                                   actual="not found", fix=_INSTALL)
        done = subprocess.run([exe, f"-T{format}"], input=self.source.encode(),
                              capture_output=True, check=False)
        if done.returncode:
            raise ChainruleError("graph", message=f"dot failed: {done.stderr.decode()[:300]}",
                                 fix="report this DOT text as a chainrule bug")
        return done.stdout

    def save(self, path, format=None):
        """Write the picture; the format comes from the name (or ``format``).

        ``.svg`` is drawn in pure Python and ``.dot`` is the DOT text, both always work;
        ``.png`` and ``.pdf`` need Graphviz (the DOT text is written beside them first,
        so nothing is lost when it is missing).  The file is written atomically.
        """
        path = Path(path)
        fmt = (format or path.suffix.lstrip(".") or "dot").lower()
        if fmt == "svg":
            _write(path, self.svg().encode("utf-8"))
            return path
        if fmt == "dot":
            out = path if path.suffix else path.with_suffix(".dot")
            _write(out, self.source.encode("utf-8"))
            return out
        dot_path = path.with_suffix(".dot")
        _write(dot_path, self.source.encode("utf-8"))
        out = path if path.suffix else path.with_suffix("." + fmt)
        _write(out, self.pipe(fmt))
        return out

    def _repr_svg_(self):
        return self.svg(id_prefix=_fresh_prefix())

    def _repr_html_(self):
        return f"<div class='chainrule-graph'>{self._repr_svg_()}</div>"


_prefixes = iter(range(1, 1 << 62))


def _fresh_prefix():
    """Ids unique within one notebook, where several pictures share a page."""
    return f"cr{next(_prefixes)}"


def _default_mode():
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


_MODE = _default_mode()


def _write(path, data):
    """Write ``data`` to ``path`` atomically: a half-written picture never replaces a good one."""
    folder = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix=".chainrule-", dir=folder)
    except OSError as e:
        raise OSError(e.errno, f"cannot write {path}: {e.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, _MODE)             # mkstemp's 0600 would hide the file from others
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


# ----------------------------------------------------------------- building
def _const_value(a):
    if isinstance(a, Tensor):
        return a.data
    if isinstance(a, (np.ndarray, np.generic, int, float, complex)) and not isinstance(a, bool):
        return np.asarray(a)
    return None


def _kink_note(tr, op):
    c = tr.kinks.by_op.get(op)
    if c is None:
        return ""
    return f"{op} {c.where}: subdifferential {c.subdifferential}, chainrule used {c.chosen}"


def _kink_choice(tr, op):
    c = tr.kinks.by_op.get(op)
    return f"∂ ∈ {c.subdifferential}, used {c.chosen}" if c is not None else ""


def _from_trace(tr, which, m, layers):
    passes = sorted({r.backward_pass for r in tr.rows})
    if not passes:
        raise ChainruleError("graph", message="the trace is empty",
                             fix="run a backward pass inside `with cr.tracing():`")
    k = passes[which]
    rows = [r for r in tr.rows if r.backward_pass == k]
    root = next(r.node for r in rows if r.kind == "seed")
    nodes, edges, index = [], [], {}
    group = {}                          # layer path -> node index (models, per-layer view)
    for r in rows:
        if r.kind == "seed":
            continue
        path = tr.layer_of(r) if layers and r.kind == "op" else None
        if path is not None:
            if path not in group:
                group[path] = len(nodes)
                nodes.append(Node(path, "layer", tr.layers.kinds.get(path, ""), shape=r.shape,
                                  value=r.value, grad=r.upstream))
            g = nodes[group[path]]
            index[r.node] = group[path]
            g.rows.append(r.step)
            g.ops.append(r.op)
            if r.kinks:
                g.kinks += r.kinks
                g.kink_note = "; ".join(filter(None, [g.kink_note, _kink_note(tr, r.op)]))
            if r.node == root:
                g.kind = "layer output"
            continue
        kind = "leaf" if r.kind == "leaf" else "output" if r.node == root else "op"
        index[r.node] = len(nodes)
        nodes.append(Node(r.label, kind, "" if r.kind == "leaf" else r.op, r.kw, r.shape,
                          r.value, r.upstream, r.kinks, _kink_note(tr, r.op) if r.kinks else "",
                          _kink_choice(tr, r.op) if r.kinks else "", [r.step]))
    for r in rows:
        if r.kind != "op":
            continue
        dst = index[r.node]
        for i, inp in enumerate(r.inputs):
            if inp.node is None:
                if nodes[dst].kind.startswith("layer") and inp.shape == ():
                    continue                 # a layer's scalar constants stay inside its box
                nodes.append(Node("const", "const", shape=inp.shape, value=inp.value))
                edges.append(Edge(len(nodes) - 1, dst))
                continue
            src = index.get(inp.node)
            if src is None or src == dst:
                continue
            edges.append(Edge(src, dst, inp.sent, formula.gate(r, inp), local_text(r, inp, m),
                              r.step))
    return nodes, edges


def _from_tensor(out, m, names):
    nodes, edges, ids = [], [], {}
    stack = [out]
    pending = []
    while stack:                          # iterative: deep graphs must not hit the recursion limit
        t = stack.pop()
        if id(t) in ids:
            continue
        me = ids[id(t)] = len(nodes)
        op = t._op
        if op is None:
            label = names.get(id(t)) or t.name or ("leaf" if t.requires_grad else "constant")
            node = Node(label, "leaf")
        elif op.name == "freed":
            node = Node("(freed by backward)", "freed")
        else:
            node = Node(t.name or "", "op", op.name)
        if t is out and node.kind != "freed":
            node.kind = "output"
        node.shape, node.value = t.data.shape, keep(t.data, m)
        node.grad = keep(t.grad, m) if t.grad is not None else None
        nodes.append(node)
        for a in t._args or ():
            if isinstance(a, Tensor) and (a.requires_grad or a._op is not None):
                if id(a) not in ids:
                    stack.append(a)
                pending.append((a, me))
            else:
                v = _const_value(a)
                if v is not None:
                    nodes.append(Node("const", "const", shape=v.shape, value=keep(v, m)))
                    edges.append(Edge(len(nodes) - 1, me))
    edges.extend(Edge(ids[id(a)], me) for a, me in pending)
    return nodes, edges


def graph(obj, *args, show_values=True, show_grads=True, max_elements=10, rankdir="LR",
          backward_pass=-1, model=None, layers=True, max_nodes=MAX_NODES):
    """A Graph of a Tensor's computation, of a Trace (``backward_pass``), or of ``trace(obj, *args)``.

    Nodes show op, shape, the value and the gradient (whole when they have at most
    ``max_elements`` elements, else norm, min and max); a Trace also labels each edge
    with the gradient sent.  ``model=`` names a model's parameters by module path; from
    a trace that knows its model, each layer is one box (``layers=False``: one per op).
    Graphs with more than ``max_nodes`` nodes are drawn as a summary.
    """
    opts = dict(rankdir=rankdir, max_elements=max_elements, show_values=show_values,
                show_grads=show_grads, max_nodes=max_nodes)
    if isinstance(obj, Trace):
        return Graph(*_from_trace(obj, backward_pass, max_elements, layers), **opts)
    if isinstance(obj, Tensor):
        return Graph(*_from_tensor(obj, max_elements, modules.parameter_names(model)), **opts)
    if callable(obj) and not isinstance(obj, type):
        t = trace(obj, *args, max_elements=max_elements, model=model)
        return Graph(*_from_trace(t, -1, max_elements, layers), **opts)
    raise ChainruleError("graph", expected="a Tensor, a Trace, or a function and its arguments",
                         actual=type(obj).__name__,
                         fix="pass the loss Tensor (before backward, or after "
                             "backward(retain_graph=True)) or cr.trace(f, *args)")


# ---------------------------------------------------------------------- DOT
_STYLE = {
    "leaf": 'fillcolor="#dbeafe"',
    "op": 'fillcolor="#f3f4f6"',
    "output": 'fillcolor="#fde68a"',
    "layer": 'fillcolor="#ede9fe"',
    "layer output": 'fillcolor="#fde68a"',
    "const": 'fillcolor="#ffffff", style="rounded,dashed", fontcolor="#6b7280"',
    "freed": 'fillcolor="#e5e7eb", fontcolor="#6b7280"',
}


def _q(text):
    """A DOT string literal."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def head(node):
    """The first line of a node's box: 'w1', 'v1 = multiply', 'sum', '0: Linear(2→3)'."""
    if node.kind in ("leaf", "const", "freed"):
        return node.label
    if node.kind.startswith("layer"):
        return f"{node.label}: {node.op}" if node.op else node.label
    call = node.op + (f"({node.kw})" if node.kw else "")
    return f"{node.label} = {call}" if node.label else call


def brief(v, m):
    """A value in a few characters: '0.5', '[1, 2]', or 'norm 3.2 (min -1, max 2)'."""
    if isinstance(v, Summary):
        return f"norm {v.norm:.4g} (min {v.min:.3g}, max {v.max:.3g})"
    return show(v, m)


def _dot_label(node, g):
    m = g.max_elements
    lines = [head(node), f"shape {tuple(node.shape)}"]
    for flag, name, v in ((g.show_values, "value", node.value), (g.show_grads, "grad", node.grad)):
        if flag and v is not None and not isinstance(v, Summary) and np.size(v) <= m:
            lines.append(f"{name} {show(v, m)}")
    if node.kinks:
        lines.append(f"⚠ {node.kinks} element(s) at a kink")
    return "\n".join(lines)


def _dot(g):
    lines = ["digraph chainrule {", f"  rankdir={g.rankdir};",
             '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=10];',
             '  edge [fontname="Helvetica", fontsize=9];']
    for i, node in enumerate(g.node_list):
        style = _STYLE[node.kind]
        if node.kinks:
            style += ', color="#ea580c", penwidth=2'
        lines.append(f"  n{i} [label={_q(_dot_label(node, g))}, {style}];")
    for e in g.edge_list:
        sent = ""
        if g.show_grads and e.sent is not None and not isinstance(e.sent, Summary) and \
                np.size(e.sent) <= g.max_elements:
            sent = show(e.sent, g.max_elements)
        attrs = f' [label={_q("← " + sent)}, fontcolor="#b91c1c"]' if sent else ""
        lines.append(f"  n{e.src} -> n{e.dst}{attrs};")
    return "\n".join(lines + ["}"])
