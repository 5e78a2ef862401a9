"""Graph pictures: the computation as Graphviz DOT, with values and gradients on the nodes.

A Tensor is its own graph node (``_op``, ``_args``), so drawing the graph is a
walk from the output back to the leaves.  From a Trace the picture also shows
the gradient sent along every edge, i.e. the chain rule in action.  The DOT
text is always available; rendering to SVG/PNG needs Graphviz's ``dot``.

    g = cr.graph(loss)              # before backward (or with retain_graph=True)
    g = cr.graph(cr.trace(f, w))    # with gradients on nodes and edges
    g.save("chain.svg")             # writes chain.dot and, with Graphviz, chain.svg
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np

from ..core.errors import ChainruleError
from ..core.tensor import Tensor
from .trace import Trace, show, trace

_STYLE = {
    "leaf": 'fillcolor="#dbeafe"',
    "op": 'fillcolor="#f3f4f6"',
    "output": 'fillcolor="#fde68a"',
    "const": 'fillcolor="#ffffff", style="rounded,dashed", fontcolor="#6b7280"',
    "freed": 'fillcolor="#e5e7eb", fontcolor="#6b7280"',
}
_INSTALL = ("install Graphviz's dot program (apt-get install graphviz, brew install graphviz, "
            "conda install graphviz); `pip install chainrule[graph]` adds the Python graphviz "
            "package, which needs the same program. The DOT text (Graph.source) works without it.")


class GraphvizNotFound(ChainruleError, RuntimeError):
    """Rendering needs Graphviz's ``dot``; a ChainruleError that ``except RuntimeError`` also catches."""


def _q(text):
    """A DOT string literal."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


class Graph:
    """DOT text of a computation graph, renderable when Graphviz is installed."""

    def __init__(self, source, nodes=0, edges=0):
        self.source = source
        self.nodes, self.edges = nodes, edges

    def __str__(self):
        return self.source

    def __repr__(self):
        return f"<Graph: {self.nodes} nodes, {self.edges} edges>"

    def pipe(self, format="svg"):
        """Rendered bytes (``dot -T<format>``); needs Graphviz's ``dot`` on PATH."""
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
        """Write ``<path>.dot``, and ``path`` itself rendered when it is .svg/.png/.pdf."""
        path = Path(path)
        fmt = (format or path.suffix.lstrip(".") or "dot").lower()
        dot_path = path.with_suffix(".dot")
        dot_path.write_text(self.source, encoding="utf-8")
        if fmt == "dot":
            return dot_path
        out = path if path.suffix else path.with_suffix("." + fmt)
        out.write_bytes(self.pipe(fmt))
        return out

    def _repr_svg_(self):
        if shutil.which("dot") is None:
            return None               # Jupyter falls back to the text repr
        try:
            return self.pipe("svg").decode("utf-8")
        except ChainruleError:
            return None


class _Dot:
    def __init__(self, rankdir):
        self.lines = ["digraph chainrule {", f"  rankdir={rankdir};",
                      '  node [shape=box, style="rounded,filled", fontname="Helvetica", '
                      'fontsize=10];', '  edge [fontname="Helvetica", fontsize=9];']
        self.nodes = self.edges = 0

    def node(self, name, label, kind, kinks=0):
        style = _STYLE[kind]
        if kinks:
            style += ', color="#ea580c", penwidth=2'
        self.lines.append(f"  {name} [label={_q(label)}, {style}];")
        self.nodes += 1

    def edge(self, a, b, label=""):
        attrs = f' [label={_q(label)}, fontcolor="#b91c1c"]' if label else ""
        self.lines.append(f"  {a} -> {b}{attrs};")
        self.edges += 1

    def done(self):
        return Graph("\n".join(self.lines + ["}"]), self.nodes, self.edges)


def _label(head, shape, value, grad, m, show_values, show_grads, kinks=0):
    lines = [head, f"shape {tuple(shape)}"]
    if show_values and value is not None and np.size(value) <= m and not _summary(value):
        lines.append(f"value {show(value, m)}")
    if show_grads and grad is not None and np.size(grad) <= m and not _summary(grad):
        lines.append(f"grad {show(grad, m)}")
    if kinks:
        lines.append(f"⚠ {kinks} element(s) at a kink")
    return "\n".join(lines)


def _summary(v):
    return not isinstance(v, (np.ndarray, np.generic, int, float, complex))


def _const_value(a):
    if isinstance(a, Tensor):
        return a.data
    if isinstance(a, (np.ndarray, np.generic, int, float, complex)) and not isinstance(a, bool):
        return np.asarray(a)
    return None


def _from_trace(tr, which, m, show_values, show_grads, rankdir):
    passes = sorted({r.backward_pass for r in tr.rows})
    if not passes:
        raise ChainruleError("graph", message="the trace is empty",
                             fix="run a backward pass inside `with cr.tracing():`")
    k = passes[which]
    rows = [r for r in tr.rows if r.backward_pass == k]
    root = next(r.node for r in rows if r.kind == "seed")
    d = _Dot(rankdir)
    for r in rows:
        if r.kind == "seed":
            continue
        kind = "leaf" if r.kind == "leaf" else "output" if r.node == root else "op"
        head = r.label if r.kind == "leaf" else f"{r.label} = {r.op}" + (f"({r.kw})" if r.kw else "")
        d.node(f"n{r.node}", _label(head, r.shape, r.value, r.upstream, m, show_values,
                                    show_grads, r.kinks), kind, r.kinks)
        for i, inp in enumerate(r.inputs):
            if inp.node is None:
                c = f"c{r.node}_{i}"
                d.node(c, _label("const", inp.shape, inp.value, None, m, show_values, False),
                       "const")
                d.edge(c, f"n{r.node}")
            else:
                sent = show(inp.sent, m) if show_grads and np.size(inp.sent) <= m and \
                    not _summary(inp.sent) else ""
                d.edge(f"n{inp.node}", f"n{r.node}", f"← {sent}" if sent else "")
    return d.done()


def _from_tensor(out, m, show_values, show_grads, rankdir):
    d = _Dot(rankdir)
    ids = {}
    stack = [out]
    while stack:                          # iterative: deep graphs must not hit the recursion limit
        t = stack.pop()
        if id(t) in ids:
            continue
        name = ids[id(t)] = f"n{len(ids)}"
        op = t._op
        if op is None:
            head, kind = t.name or ("leaf" if t.requires_grad else "constant"), "leaf"
        elif op.name == "freed":
            head, kind = "(freed by backward)", "freed"
        else:
            head, kind = (f"{t.name} = " if t.name else "") + op.name, "op"
        if t is out and kind != "freed":
            kind = "output"
        d.node(name, _label(head, t.data.shape, t.data, t.grad, m, show_values, show_grads),
               kind)
        for i, a in enumerate(t._args or ()):
            if isinstance(a, Tensor) and (a.requires_grad or a._op is not None):
                if id(a) not in ids:
                    stack.append(a)
                d.lines.append(("edge", a, name))
            else:
                v = _const_value(a)
                if v is not None:
                    c = f"{name}_c{i}"
                    d.node(c, _label("const", v.shape, v, None, m, show_values, False), "const")
                    d.edge(c, name)
    lines, d.lines = d.lines, []
    for item in lines:          # edges were queued until every tensor had a name
        if isinstance(item, tuple):
            d.edge(ids[id(item[1])], item[2])
        else:
            d.lines.append(item)
    return d.done()


def graph(obj, *args, show_values=True, show_grads=True, max_elements=10, rankdir="LR",
          backward_pass=-1):
    """A Graph of a Tensor's computation, of a Trace (``backward_pass``), or of ``trace(obj, *args)``.

    Nodes show op, shape, the value and the gradient when they have at most
    ``max_elements`` elements; a Trace also labels each edge with the gradient sent.
    """
    if isinstance(obj, Trace):
        return _from_trace(obj, backward_pass, max_elements, show_values, show_grads, rankdir)
    if isinstance(obj, Tensor):
        return _from_tensor(obj, max_elements, show_values, show_grads, rankdir)
    if callable(obj):
        return _from_trace(trace(obj, *args), -1, max_elements, show_values, show_grads, rankdir)
    raise ChainruleError("graph", expected="a Tensor, a Trace, or a function and its arguments",
                         actual=type(obj).__name__,
                         fix="pass the loss Tensor (before backward, or after "
                             "backward(retain_graph=True)) or cr.trace(f, *args)")
