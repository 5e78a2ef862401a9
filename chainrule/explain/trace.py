"""Traces: the backward pass written out, one row per node, so the chain rule can be read.

The first row is the seed, ∂L/∂L = 1.  Every following row is one node taken in
reverse topological order: the gradient arriving at it (∂L/∂node), and for
each input the local derivative (the op's formula and its value) and the
gradient sent on, upstream × local.  Leaves come last with what ``backward``
stores in their ``.grad``.

    t = cr.trace(lambda w: cnp.mean((x * w - y) ** 2), 0.5)
    print(t)                           # plain-text table
    with cr.tracing() as t:            # or record any backward pass
        loss.backward()
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..core import backward as _backward
from ..core.errors import ChainruleError
from ..core.tensor import Tensor
from . import formula, modules
from .kinks import KinkReport

# nn activations that act element by element (the rest of nn, e.g. softmax, does not)
_NN_ELEMENTWISE = ("relu", "sigmoid", "tanh", "softplus", "leaky_relu", "elu", "selu", "gelu",
                   "silu", "swish", "softsign", "hardtanh", "relu6", "log_sigmoid", "logsigmoid",
                   "mish", "hard_sigmoid", "hardsigmoid")
_elementwise = None
_one_input = None


def _elementwise_ops():
    global _elementwise
    if _elementwise is None:
        from ..core import primitive
        from ..ops import elementwise, nn
        ops = set(elementwise._ops.values()) | {primitive.identity, primitive.astype}
        ops |= {getattr(nn, n) for n in _NN_ELEMENTWISE if hasattr(nn, n)}
        _elementwise = ops
    return _elementwise


def _one_input_ops():
    """Reductions and activations: their formulas call their (first) argument x."""
    global _one_input
    if _one_input is None:
        from ..ops import nn, reductions
        _one_input = set(reductions._ops.values()) | set(nn._ops.values())
    return _one_input


def _array(x):
    return x.data if isinstance(x, Tensor) else np.asarray(x)


@dataclass
class Input:
    """One argument of a node: where its gradient went, or a constant."""
    label: str                    # the input's node label ("w1", "v3"), or "const"
    node: int | None              # its node number in the trace (None for constants)
    shape: tuple
    role: str = ""                # the argument's name in the op's formula ("x", "y", "A")
    formula: str | None = None    # local derivative ∂node/∂input as text (op.formula)
    local: object = None          # its value (elementwise ops, scalar outputs), else None
    sent: object = None           # gradient sent to the input, ∂L/∂input along this edge
    value: object = None          # constants only: their value
    argnum: int | None = None     # which argument of the op it is


@dataclass
class Row:
    """One step of the backward pass (kind 'seed', 'op' or 'leaf')."""
    step: int
    kind: str
    label: str                    # "L", "v1", "w1"...: the node's name
    op: str                       # primitive name, "seed" or "leaf"
    node: int                     # node number (the seed row shares the output's)
    shape: tuple
    value: object                 # forward value (array if small, else a Summary)
    upstream: object              # ∂L/∂node: the gradient arriving (for the seed: the seed)
    inputs: list = field(default_factory=list)
    paths: int = 1                # gradient contributions summed into upstream
    kinks: int = 0                # elements at a non-differentiable point
    backward_pass: int = 0
    kw: str = ""                  # keyword arguments of the op, as text
    seq: int = 0                  # the Tensor's creation number (forward order; 0 for leaves)
    named: bool = False           # the user gave the node its label (tensor.name, names=)

    @property
    def grad(self):
        return self.upstream


class _Node:
    __slots__ = ("no", "tensor", "label", "total", "paths", "done")

    def __init__(self, no, tensor, label):
        self.no, self.tensor, self.label = no, tensor, label
        self.total, self.paths, self.done = None, 0, False


class _Pass:
    def __init__(self, index, start):
        self.index, self.start = index, start
        self.nodes = {}           # id(tensor) -> _Node; holds the tensor so ids are not reused


class Trace(_backward.Observer):
    """The record of one or more backward passes (a hook on ``core.backward``)."""

    def __init__(self, max_elements=10, keep_arrays=False, model=None):
        self.rows = []
        self.kinks = KinkReport()
        self.max_elements = max_elements
        self.keep_arrays = keep_arrays
        self.value = None         # trace(): the function's output
        self.grads = None         # trace(): one gradient per argument
        self.passes = 0
        self._names = {}          # id(tensor) -> name given by trace()
        self._pass = None
        self._count = 0
        self._inner = 0           # intermediate nodes named so far (v1, v2, ...)
        self.model = model        # a Module: parameters named by path, operations by layer
        self.layers = modules.Layers(model) if model is not None else None
        self._names.update(modules.parameter_names(model))

    # ------------------------------------------------------------- recording
    def __enter__(self):
        super().__enter__()
        if self.layers is not None:
            self.layers.__enter__()
        return self

    def __exit__(self, *exc):
        super().__exit__(*exc)
        if self.layers is not None:
            self.layers.__exit__(*exc)
        self._finish_pass()
        return False

    def layer_of(self, row):
        """The module path of the layer whose forward made ``row``'s node (None outside one)."""
        return self.layers.owner(row.seq) if self.layers is not None else None

    def _keep(self, x):
        return keep(_array(x), self.max_elements, self.keep_arrays)

    def _register(self, t, root=False):
        self._count += 1
        if root:
            label = self._names.get(id(t)) or t.name or "L"
        elif t._op is None:
            label = self._names.get(id(t)) or t.name      # None: named when the pass ends
        else:
            if not t.name:
                self._inner += 1
            label = t.name or f"v{self._inner}"
        n = self._pass.nodes[id(t)] = _Node(self._count - 1, t, label)
        return n

    def _start_pass(self, root, seed):
        self._finish_pass()
        self._pass = _Pass(self.passes, len(self.rows))
        self.passes += 1
        n = self._register(root, root=True)
        self.rows.append(Row(len(self.rows), "seed", n.label, "seed", n.no, root.data.shape,
                             self._keep(root.data), self._keep(seed),
                             backward_pass=self._pass.index))
        return n

    def _hook(self, t, g, sent):
        p = self._pass
        n = p.nodes.get(id(t)) if p is not None else None
        if n is None or n.done:          # not fed by the pass we were in: a new backward pass
            n = self._start_pass(t, g)
        n.done, n.total = True, None
        op = t._op
        garr = _array(g)
        row = Row(len(self.rows), "op", n.label, op.name, n.no, t.data.shape, self._keep(t.data),
                  self._keep(garr), paths=max(n.paths, 1), kinks=self.kinks.record(t),
                  backward_pass=self._pass.index, kw=_kw_text(t._kw), seq=t._seq,
                  named=bool(t.name))
        sent = list(sent)
        formulas = op.formula or {}
        roles = formula.roles(op, op in _elementwise_ops(), op in _one_input_ops())
        for i, a in enumerate(t._args):
            role = roles[i] if i < len(roles) else ""
            if isinstance(a, Tensor) and sent and sent[0][0] is a:
                pg = _array(sent.pop(0)[1])
                m = self._pass.nodes.get(id(a)) or self._register(a)
                m.paths += 1
                m.total = pg.copy() if m.total is None else m.total + pg
                row.inputs.append(Input(m.label, m.no, a.data.shape, role, formulas.get(i),
                                        self._local(op, i, t, garr, pg), self._keep(pg),
                                        argnum=i))
            elif not (isinstance(a, Tensor) and a.requires_grad):
                v = _array(a) if isinstance(a, (Tensor, np.ndarray, int, float, complex,
                                                np.generic)) else None
                if v is not None:
                    row.inputs.append(Input("const", None, v.shape, role, value=self._keep(v),
                                            argnum=i))
        self.rows.append(row)

    def _local(self, op, i, t, garr, pg):
        """∂node/∂input as a value: the rule applied to ones (elementwise), or sent/upstream."""
        if op in _elementwise_ops():
            try:
                d = _array(op.vjp(i, np.ones_like(garr), t.data, *t._raw, **(t._kw or {})))
                return self._keep(np.broadcast_to(d, t.data.shape))
            except Exception:
                pass
        if garr.size == 1 and garr.reshape(()) != 0:
            return self._keep(pg / garr.reshape(()))
        return None

    def _finish_pass(self):
        """Leaves (nodes fed but never expanded) get their rows once the pass is over."""
        p, self._pass = self._pass, None
        if p is None:
            return
        leaves = [n for n in p.nodes.values() if not n.done]
        order = {id_: k for k, id_ in enumerate(self._names)}
        leaves.sort(key=lambda n: (order.get(id(n.tensor), len(order)), n.no))
        unnamed = [n for n in leaves if n.label is None]
        for k, n in enumerate(unnamed):
            n.label = "leaf" if len(unnamed) == 1 else f"leaf{k + 1}"
        unnamed_labels = {n.label for n in unnamed}
        names = {n.no: n.label for n in leaves}
        for row in self.rows[p.start:]:
            for inp in row.inputs:
                if inp.node in names:
                    inp.label = names[inp.node]
        for n in leaves:
            self.rows.append(Row(len(self.rows), "leaf", n.label, "leaf", n.no,
                                 n.tensor.data.shape, self._keep(n.tensor.data),
                                 self._keep(n.total), paths=n.paths, backward_pass=p.index,
                                 named=n.label not in unnamed_labels))

    # --------------------------------------------------------------- reading
    def __len__(self):
        return len(self.rows)

    def __iter__(self):
        return iter(self.rows)

    def __getitem__(self, key):
        """A row by position, or the last non-seed row whose label is ``key`` ('w1', 'L')."""
        if isinstance(key, str):
            for row in reversed(self.rows):
                if row.label == key and row.kind != "seed":
                    return row
            raise KeyError(f"no node labelled {key!r}; labels: "
                           f"{sorted({r.label for r in self.rows})}")
        return self.rows[key]

    def to_text(self):
        """A plain-text table (also ``str(trace)``)."""
        return _text(self)

    def to_markdown(self):
        return _markdown(self)

    def to_html(self):
        return _html(self)

    _repr_html_ = to_html
    __str__ = to_text

    def __repr__(self):
        return f"<Trace: {len(self.rows)} rows, {self.passes} backward pass(es)>"


def _kw_text(kw):
    if not kw:
        return ""
    return ", ".join(f"{k}={v!r}" for k, v in kw.items() if v is not None)[:40]


def tracing(max_elements=10, keep_arrays=False, model=None):
    """Record every backward pass run inside a ``with`` block; yields the Trace.

    With ``model`` (a Module) its parameters are labelled by module path (``0.weight``)
    and the operations of a forward pass run inside the block are grouped by layer.
    """
    return Trace(max_elements, keep_arrays, model=model)


def trace(f, *args, gradient=None, names=None, max_elements=10, keep_arrays=False, model=None):
    """Run ``f(*args)`` on fresh Tensors, backpropagate from its output, and return the Trace.

    Arguments are named ``names[i]``, else their Tensor name, else ``x0, x1, ...``.
    ``gradient`` seeds a non-scalar output (the v of a vector-Jacobian product).
    A Module argument is passed as it is: its parameters are the leaves, labelled by
    module path (``0.weight``; ``names[i]`` becomes a prefix), and its gradient is a
    dict of theirs.  ``model=`` does the same for a model ``f`` uses from outside.
    The parameters' ``.grad`` are left as they were.
    """
    if names is not None and len(names) != len(args):
        raise ChainruleError("trace", expected=f"{len(args)} names, one per argument",
                             actual=f"{len(names)} names", fix="pass one name per argument")
    leaves = []
    models = [a for a in args if modules.is_module(a)]
    if model is not None:
        if not modules.is_module(model):
            raise ChainruleError("trace", expected="model= a chainrule.nn.Module",
                                 actual=type(model).__name__,
                                 fix="pass the model object whose parameters f uses")
        models.append(model)
    tr = Trace(max_elements, keep_arrays, model=models[0] if models else None)
    for i, a in enumerate(args):
        if modules.is_module(a):
            tr._names.update(modules.parameter_names(a, f"{names[i]}." if names else ""))
            leaves.append(a)
            continue
        arr = np.array(_array(a))
        if arr.dtype.kind not in "fc":
            arr = arr.astype(np.float64)
        t = Tensor(arr, requires_grad=True, name=getattr(a, "name", None))
        leaves.append(t)
        tr._names[id(t)] = names[i] if names else (t.name or f"x{i}")
    params = {id(p): p for m in models for p in m.parameters()}
    saved = {k: p.grad for k, p in params.items()}
    try:
        for p in params.values():
            p.grad = None
        with tr:
            out = f(*leaves)
            if not (isinstance(out, Tensor) and out.requires_grad):
                raise ChainruleError(
                    "trace", message="the output does not depend on the arguments",
                    expected="a Tensor computed from f's arguments",
                    actual=f"{type(out).__name__}",
                    fix="compute the result from the arguments with chainrule.numpy "
                        "(cnp.*) or Tensor operators")
            if tr.layers is not None:
                tr.layers.__exit__(None, None, None)    # the forward pass is over
            out.backward(gradient)
            if not tr.rows:                    # f returned an argument itself: no op to record
                n = tr._start_pass(out, gradient if gradient is not None
                                   else np.ones_like(out.data))
                n.total, n.paths = out.grad, 1
        tr.value = out.data.copy()
        tr.grads = tuple(_grad_of(t) for t in leaves)
    finally:
        for k, p in params.items():
            p.grad = saved[k]
    return tr


def _grad_of(leaf):
    if modules.is_module(leaf):
        return {name: _grad_of(p) for name, p in leaf.named_parameters()}
    return np.array(leaf.grad, copy=True) if leaf.grad is not None else np.zeros_like(leaf.data)


# ------------------------------------------------------------------- formatting
@dataclass
class Summary:
    """What is kept of an array too large to print: its shape, min / mean / max and norm."""
    shape: tuple
    min: float
    mean: float
    max: float
    norm: float = float("nan")    # the 2-norm of all its elements, ‖a‖

    def __str__(self):
        return f"min {self.min:.4g} / mean {self.mean:.4g} / max {self.max:.4g}"


def keep(a, max_elements=10, full=False):
    """A copy of ``a`` if small (or ``full``), else its Summary (traces must not hoard memory)."""
    a = np.asarray(a)
    if full or a.size <= max_elements:
        return np.array(a, copy=True)
    b = np.abs(a) if np.iscomplexobj(a) else a
    if a.size == 0:
        return Summary(a.shape, float("nan"), float("nan"), float("nan"), 0.0)
    return Summary(a.shape, float(b.min()), float(b.mean()), float(b.max()),
                   float(np.sqrt(np.sum(np.abs(a) ** 2))))


def _num(x):
    if isinstance(x, (float, np.floating)) and x == 0:
        return "0"                       # no "-0" for a zero that came out of a product with -1
    return f"{x:.4g}" if isinstance(x, (float, complex, np.floating, np.complexfloating)) else str(x)


def show(v, max_elements=10):
    """Short text for a kept value: '0.5', '[1, 2, 3]' or 'min .. / mean .. / max ..'."""
    if v is None:
        return ""
    if isinstance(v, Summary):
        return str(v)
    a = np.asarray(v)
    if a.size > max_elements:
        return str(keep(a, max_elements))
    if a.ndim == 0:
        return _num(a.item())
    s = np.array2string(a, separator=", ", formatter={"all": _num}, max_line_width=10 ** 9)
    return " ".join(part.strip() for part in s.split("\n"))


HEAD = ("#", "node", "op", "shape", "value", "∂L/∂node (arriving)", "input", "input shape",
         "local derivative ∂node/∂input", "sent on: ∂L/∂input")


def _cells(tr):
    """(pass title or None, [cells...]) lines shared by the three renderings."""
    out = []
    for row in tr.rows:
        if row.kind == "seed" and tr.passes > 1:
            out.append((f"backward pass {row.backward_pass + 1}", None))
        out.extend((None, c) for c in row_cells(row, tr.max_elements))
    return out


def row_cells(row, m=10):
    """The table lines of one row: the node's cells, then one line per input."""
    op = row.op + (f"({row.kw})" if row.kw else "")
    if row.kinks:
        op += f" ⚠ {row.kinks} at kink"
    arriving = show(row.upstream, m)
    if row.kind == "seed":
        arriving = f"∂{row.label}/∂{row.label} = {arriving}"
    elif row.paths > 1:
        arriving += f" (sum of {row.paths} paths)"
    base = [str(row.step), row.label, op, str(row.shape), show(row.value, m), arriving]
    if row.kind == "leaf":
        return [base + ["", "", f"→ {row.label}.grad", ""]]
    if not row.inputs:
        return [base + ["", "", "", ""]]
    out = []
    for k, inp in enumerate(row.inputs):
        if inp.node is None:
            v = show(inp.value, m)
            name = f"const {v}" if len(v) <= 12 else "const"
            rest = [name, str(inp.shape), "(no gradient)", ""]
        else:
            rest = [inp.label, str(inp.shape), local_text(row, inp, m), show(inp.sent, m)]
        out.append((base if k == 0 else [""] * len(base)) + rest)
    return out


def args_text(row, max_elements=10):
    """'v4, w2': the arguments of a row's op, constants by value when short."""
    parts = []
    for inp in sorted(row.inputs, key=lambda p: p.argnum if p.argnum is not None else 0):
        if inp.node is None:
            v = show(inp.value, max_elements)
            parts.append(v if len(v) <= 12 else f"const{tuple(inp.shape)}")
        else:
            parts.append(inp.label)
    return ", ".join(parts)


def local_text(row, inp, max_elements=10):
    """'x = 0.5': the local derivative ∂node/∂input in the inputs' own names, with its value."""
    text = formula.render(inp.formula, row, inp, lambda v: show(v, max_elements))
    if inp.local is not None:
        value = show(inp.local, max_elements)
        return f"{text} = {value}" if text and text != value else value
    return text


def _text(tr):
    lines = _cells(tr)
    cells = [c for _, c in lines if c is not None]
    widths = [max(len(c[i]) for c in [HEAD] + cells) for i in range(len(HEAD))]
    fmt_ = lambda c: "  ".join(v.ljust(w) for v, w in zip(c, widths)).rstrip()  # noqa: E731
    text = [fmt_(HEAD), fmt_(["─" * w for w in widths])]
    text += [f"── {title} ──" if c is None else fmt_(c) for title, c in lines]
    text.append("each input receives ∂L/∂input = ∂L/∂node × ∂node/∂input "
                "(summed over broadcast axes; summed over paths at a node)")
    if tr.kinks.by_op:
        text += ["", tr.kinks.report]
    return "\n".join(text)


def _markdown(tr):
    esc = lambda s: s.replace("|", "\\|")  # noqa: E731
    text = ["| " + " | ".join(HEAD) + " |", "|" + "---|" * len(HEAD)]
    for title, c in _cells(tr):
        text.append(f"| **{title}** |" + " |" * (len(HEAD) - 1) if c is None
                    else "| " + " | ".join(esc(v) for v in c) + " |")
    if tr.kinks.by_op:
        text += ["", "```", tr.kinks.report, "```"]
    return "\n".join(text)


def _html(tr):
    import html as h
    text = ["<table class='chainrule-trace'>",
            "<tr>" + "".join(f"<th>{h.escape(c)}</th>" for c in HEAD) + "</tr>"]
    for title, c in _cells(tr):
        if c is None:
            text.append(f"<tr><th colspan='{len(HEAD)}'>{h.escape(title)}</th></tr>")
        else:
            text.append("<tr>" + "".join(f"<td>{h.escape(v)}</td>" for v in c) + "</tr>")
    text.append("</table>")
    if tr.kinks.by_op:
        text.append(f"<pre>{h.escape(tr.kinks.report)}</pre>")
    return "\n".join(text)
