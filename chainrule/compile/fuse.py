"""The optional fusion backend: runs of elementwise ops become one numba kernel.

``cr.compile(fn, backend="numba")`` (with numba installed: ``pip install "chainrule[fast]"``).
In the recorded program, a set of elementwise values of one shape that only feed each other
(and whose outside inputs are arrays of that shape or scalars) is computed by one loop over
the elements instead of one NumPy pass per op: small arrays stop paying NumPy's per-call cost,
large ones stop going through memory once per op.  Values the rest of the program reads are
the kernel's outputs; the others never exist as arrays.

Each op's scalar formula is in ``SCALAR`` below, written to give NumPy's results (the dtype of
each value is the one NumPy gives it; NaN propagates through maximum and minimum as in NumPy;
division by zero gives inf, not an exception).  Transcendental functions come from the
platform's math library, so they may differ from NumPy's in the last bit; ``check=`` compares
within rounding.  Kernels are compiled on first use and cached on disk (``CHAINRULE_CACHE``,
default ``~/.cache/chainrule``), so a later process loads them instead of compiling again.
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import tempfile

import numpy as np

from . import lower as L
from .trace import Const, Node, Ref

# the backend is optional (the core needs NumPy only), and numba is imported only when a
# kernel is made: importing chainrule stays quick
AVAILABLE = importlib.util.find_spec("numba") is not None

_MIN_NODES = 3             # fewer ops than this are not worth a kernel call

# op name: scalar formula ({0}, {1}, {2}: the operands, already in the value's dtype)
SCALAR = {
    "add": "{0} + {1}", "subtract": "{0} - {1}", "multiply": "{0} * {1}",
    "divide": "{0} / {1}", "negative": "-{0}", "positive": "+{0}", "square": "{0} * {0}",
    "reciprocal": "1 / {0}", "power": "{0} ** {1}", "abs": "abs({0})",
    "maximum": "({0} if ({0} >= {1} or {0} != {0}) else {1})",
    "minimum": "({0} if ({0} <= {1} or {0} != {0}) else {1})",
    "greater": "{0} > {1}", "greater_equal": "{0} >= {1}", "less": "{0} < {1}",
    "less_equal": "{0} <= {1}", "equal": "{0} == {1}", "not_equal": "{0} != {1}",
    "logical_and": "({0} and {1})", "logical_or": "({0} or {1})", "logical_not": "(not {0})",
    "where": "({1} if {0} else {2})", "relu": "({0} if ({0} > 0 or {0} != {0}) else 0)",
}
for _name in ("exp", "log", "sin", "cos", "tan", "tanh", "sqrt", "sinh", "cosh", "arcsin",
              "arccos", "arctan", "arcsinh", "arccosh", "arctanh", "expm1", "log1p", "log2",
              "log10", "sign"):
    SCALAR[_name] = f"np.{_name}({{0}})"
_BOOL_RESULT = {"greater", "greater_equal", "less", "less_equal", "equal", "not_equal",
                "logical_and", "logical_or", "logical_not"}


def _cache_dir():
    base = os.environ.get("CHAINRULE_CACHE") or os.path.join(os.path.expanduser("~"), ".cache",
                                                             "chainrule")
    path = os.path.join(base, "kernels")
    try:
        os.makedirs(path, exist_ok=True)
        return path
    except OSError:               # not writable: a private temporary folder instead
        path = os.path.join(tempfile.gettempdir(), f"chainrule-kernels-{os.getuid()}")
        os.makedirs(path, exist_ok=True)
        return path


def _fusable(graph, i):
    node = graph.nodes[i]
    if node.kind != "call" or graph.kwargs[i] or i in graph.pairs or \
            getattr(node.op, "name", None) not in SCALAR or not node.shape or \
            node.dtype.kind not in "fb" or L.kind(node.op) != "ufunc":
        return False
    for a in graph.args[i]:
        if isinstance(a, Ref):
            s = graph.nodes[graph.find(a.i)]
            if s.shape not in (node.shape, ()) or s.dtype.kind not in "fbiu":
                return False
        elif isinstance(a, Const):
            v = graph.consts[a.j]
            if not isinstance(v, (np.ndarray, np.generic)) or np.shape(v) not in (node.shape, ()) \
                    or v.dtype.kind not in "fbiu":
                return False
        elif type(a) not in (int, float, bool):
            return False
    return True


def fuse(graph):
    """Replace each fusable component of ``graph.order`` by one kernel node (in place).

    The components are found once: replacing a convex set by one node keeps the others
    convex (the paths between other nodes do not change)."""
    if not AVAILABLE:
        return 0
    made = 0
    for members in _components(graph):
        if _convex(graph, members):
            _replace(graph, members)
            made += 1
    return made


def _components(graph):
    order = graph.order
    fusable = {i for i in order if _fusable(graph, i)}
    parent = {i: i for i in fusable}

    def root(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i
    for i in fusable:
        for r in graph.node_refs(i):
            if r in fusable and graph.nodes[r].shape == graph.nodes[i].shape:
                parent[root(r)] = root(i)
    groups = {}
    for i in order:
        if i in fusable:
            groups.setdefault(root(i), []).append(i)
    return [set(m) for m in groups.values() if len(m) >= _MIN_NODES]


def _convex(graph, members):
    """No path leaves the component and comes back (else one kernel could not compute it)."""
    below = set()                      # outside nodes that depend on the component
    for i in graph.order:
        if i in members:
            continue
        if any(r in members or r in below for r in graph.node_refs(i)):
            below.add(i)
    return not any(r in below for i in members for r in graph.node_refs(i))


def _replace(graph, members):
    order, nodes = graph.order, graph.nodes
    inside = [i for i in order if i in members]
    used_outside = set(graph.output_refs())
    for i in order:
        if i not in members:
            used_outside.update(graph.node_refs(i))
    outputs = [i for i in inside if i in used_outside]
    inputs, consts = [], []
    for i in inside:
        for a in graph.args[i]:
            if isinstance(a, Ref):
                r = graph.find(a.i)
                if r not in members and r not in inputs:
                    inputs.append(r)
            elif isinstance(a, Const) and np.shape(graph.consts[a.j]) and a.j not in consts:
                consts.append(a.j)
    fn, source = _kernel(graph, inside, inputs, consts, outputs)
    k = len(nodes)
    kernel = Node("kernel", op=fn, args=tuple(Ref(r) for r in inputs) +
                  tuple(Const(j) for j in consts))
    kernel.i, kernel.shape, kernel.dtype = k, None, None
    kernel.arg = (outputs, source, [nodes[r].shape == () for r in inputs])
    nodes.append(kernel)
    graph.args.append(kernel.args)
    graph.kwargs.append({})
    graph.same.append(k)
    for o in outputs:               # computed by the kernel: ordered after it, reading nothing
        nodes[o].kind = "kernel_out"
        graph.args[o], graph.kwargs[o] = (), {}
        graph._refs[o] = [k]
    graph._refs[k] = list(inputs)
    # a valid order: what does not depend on the kernel, the kernel, then what does
    depends, before, after = set(members), [], []
    for i in order:
        if i in members:
            continue
        if any(r in depends for r in graph.node_refs(i)):
            depends.add(i)
            after.append(i)
        else:
            before.append(i)
    graph.order = before + [k] + outputs + after


def _kernel(graph, inside, inputs, consts, outputs):
    """The numba kernel's source, written to the cache and imported: (function, source)."""
    nodes = graph.nodes
    shape = nodes[inside[0]].shape
    names = {r: f"x{n}" for n, r in enumerate(inputs)}
    scalar_inputs = {r for r in inputs if nodes[r].shape == ()}
    cnames = {j: f"c{n}" for n, j in enumerate(consts)}
    lines = []
    for r in inputs:
        if r not in scalar_inputs:
            lines.append(f"    a_{names[r]} = np.ascontiguousarray({names[r]}).ravel()")
    for j in consts:
        lines.append(f"    a_{cnames[j]} = np.ascontiguousarray({cnames[j]}).ravel()")
    size = int(np.prod(shape))
    lines.append(f"    n = {size}")
    for o in outputs:
        lines.append(f"    out_{o} = np.empty(n, dtype=np.{nodes[o].dtype.name})")
    lines.append("    for k in range(n):")
    for r in inputs:
        src = names[r] if r in scalar_inputs else f"a_{names[r]}[k]"
        lines.append(f"        e_{r} = {src}")
    for j in consts:
        lines.append(f"        e_c{j} = a_{cnames[j]}[k]")
    for i in inside:
        node = nodes[i]
        dt = node.dtype
        ops = []
        for a in graph.args[i]:
            if isinstance(a, Ref):
                ops.append(f"e_{graph.find(a.i)}")
            elif isinstance(a, Const):
                v = graph.consts[a.j]
                ops.append(f"e_c{a.j}" if np.shape(v) else _literal(v[()] if isinstance(
                    v, np.ndarray) else v))
            else:
                ops.append(_literal(a))
        if dt.kind == "f" and node.op.name not in _BOOL_RESULT and node.op.name != "where":
            ops = [f"np.{dt.name}({x})" for x in ops]
        expr = SCALAR[node.op.name].format(*ops)
        if dt.kind == "f":
            expr = f"np.{dt.name}({expr})"
        lines.append(f"        e_{i} = {expr}")
    for o in outputs:
        lines.append(f"        out_{o}[k] = e_{o}")
    rets = ", ".join(f"out_{o}.reshape({tuple(shape)!r})" for o in outputs)
    params = [names[r] for r in inputs] + [cnames[j] for j in consts]
    body = "\n".join(lines)
    source = (f"def kernel({', '.join(params)}):\n{body}\n    return ({rets},)\n")
    return _load(source), source


def _literal(v):
    if isinstance(v, (bool, np.bool_)):
        return repr(bool(v))
    if isinstance(v, (int, np.integer)):
        return repr(int(v))
    v = float(v)
    if v != v:
        return "np.nan"
    if v in (np.inf, -np.inf):
        return "np.inf" if v > 0 else "-np.inf"
    return repr(v)


_loaded = {}


def _load(source):
    """Compile (or load from the disk cache) the kernel with this source."""
    key = hashlib.sha1(source.encode()).hexdigest()[:20]
    fn = _loaded.get(key)
    if fn is not None:
        return fn
    path = os.path.join(_cache_dir(), f"k_{key}.py")
    text = ("# generated by chainrule.compile (backend='numba'); safe to delete\n"
            "import numpy as np\nfrom numba import njit\n\n\n"
            "@njit(cache=True, nogil=True, error_model='numpy')\n" + source)
    if not os.path.exists(path):
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, path)          # atomic: a concurrent process sees all or nothing
    name = f"chainrule_kernel_{key}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module           # numba's disk cache finds the kernel's module by name
    spec.loader.exec_module(module)
    fn = _loaded[key] = module.kernel
    return fn
