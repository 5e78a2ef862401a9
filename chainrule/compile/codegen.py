"""Writing the program: one line per recorded value, as NumPy source.

The program is a plain Python function whose arguments are the traced inputs (``x0, x1,
...``) and whose locals are the values (``v12``).  NumPy functions and the constants are
bound once as free variables of the function (``tanh`` is ``np.tanh``, ``c3`` a constant
array), so each line costs what its NumPy call costs.  Each line carries a comment naming
the op, the value's shape and dtype, which rule made it (``d tanh/d arg0``: the chain rule,
one local derivative per line) and the user's line it came from.
"""
from __future__ import annotations

import linecache
import math
import os
import re

import numpy as np

from ..core.tensor import Tensor
from . import lower as L
from .trace import Const, Out, Ref

_TOKEN = re.compile("\x00(\\d+)\x00")
_NP_NAME = re.compile(r"\bnp\.((?:[A-Za-z_]\w*\.)*[A-Za-z_]\w*)")


def _scalar_out(v):
    """A result the function returned as a NumPy scalar, as a NumPy scalar again."""
    return v[()] if type(v) is np.ndarray else v


def _array_out(v):
    """A 0-d result the function returned as an array: a new array (the caller owns it)."""
    return np.array(v)


def _same_object(a, b):
    """Identity, or equality for bound methods (np.add.reduce is a new object each time)."""
    return a is b or type(a) is type(b) and callable(a) and a == b


class Source:
    """The names a program binds, and its lines."""

    def __init__(self, consts):
        self.consts = consts
        self.bound = {"inf": math.inf, "nan": math.nan, "Tensor": Tensor,
                      "_scalar_out": _scalar_out, "_array_out": _array_out}
        self.const_names = {}
        self.fn_names = {}

    # ---------------------------------------------------------------- names
    def const(self, j):
        name = self.const_names.get(j)
        if name is None:
            v = self.consts[j]
            if isinstance(v, np.dtype) and v.name.isidentifier():
                name = f"dtype_{v.name}"
            else:
                name = f"c{j}"
            if name in self.bound and self.bound[name] is not v:
                name = f"c{j}"
            self.bound[name] = v
            self.const_names[j] = name
        return name

    def numpy_names(self, src):
        """``np.add.reduce(...)`` -> ``add_reduce(...)`` with the name bound to the function."""
        def bind(m):
            obj = np
            for part in m.group(1).split("."):
                obj = getattr(obj, part)
            name = m.group(1).replace(".", "_")
            if name in self.bound and not _same_object(self.bound[name], obj):
                name = "np_" + name
            self.bound[name] = obj
            return name
        return _NP_NAME.sub(bind, src)

    def bind_function(self, fn, base=None):
        name = "f_" + re.sub(r"\W", "_", (base or fn.__name__).lstrip("_"))
        if self.bound.get(name, fn) is not fn:
            name = f"{name}_{len(self.bound)}"
        self.bound[name] = fn
        return name

    def function(self, op):
        key = id(op.fn)
        name = self.fn_names.get(key)
        if name is None:
            base = "f_" + re.sub(r"\W", "_", op.name)
            name, k = base, 1
            while name in self.bound:
                k += 1
                name = f"{base}_{k}"
            self.bound[name] = op.fn
            self.fn_names[key] = name
        return name

    # ------------------------------------------------------------- literals
    def render(self, t):
        """Source for an argument template; Refs as tokens filled in with names later."""
        if isinstance(t, Ref):
            return f"\x00{t.i}\x00"
        if isinstance(t, Const):
            return self.const(t.j)
        tt = type(t)
        if tt is tuple:
            inner = ", ".join(self.render(v) for v in t)
            return f"({inner},)" if len(t) == 1 else f"({inner})"
        if tt is list:
            return "[" + ", ".join(self.render(v) for v in t) + "]"
        if tt is dict:
            return "{" + ", ".join(f"{self.literal(k)}: {self.render(v)}" for k, v in t.items()) + "}"
        if tt is slice:
            return f"slice({self.render(t.start)}, {self.render(t.stop)}, {self.render(t.step)})"
        if isinstance(t, tuple):                      # a namedtuple
            return self.bind_object(type(t)) + "(" + ", ".join(self.render(v) for v in t) + ")"
        return self.literal(t)

    def literal(self, v):
        if v is None or v is Ellipsis or type(v) in (bool, int, str, bytes):
            return "..." if v is Ellipsis else repr(v)
        if type(v) is float:
            return repr(v) if math.isfinite(v) else ("nan" if math.isnan(v) else
                                                      ("inf" if v > 0 else "-inf"))
        if type(v) is complex and math.isfinite(v.real) and math.isfinite(v.imag):
            return repr(v)
        return self.bind_object(v)

    def bind_object(self, v):
        for name, obj in self.bound.items():
            if obj is v:
                return name
        name = f"k{len(self.bound)}"
        self.bound[name] = v
        return name


def _where(site):
    if site is None:
        return ""
    file, line, func = site
    return f"{os.path.basename(file)}:{line}"


_DTYPE_NAMES = {}


def _describe(node):
    shape = "()" if node.shape == () else str(tuple(node.shape))
    name = _DTYPE_NAMES.get(node.dtype)
    if name is None:
        name = _DTYPE_NAMES[node.dtype] = str(node.dtype)
    return f"{shape} {name}"


def _role(node):
    if node.role is None:
        return ""
    kind, name, argnum = node.role
    if kind == "sum":
        return "sum of gradients"
    if kind == "fit":
        return "unbroadcast" if name == "fit_grad" else "broadcast tangent"
    return f"d {name}/d arg{argnum}" if kind == "vjp" else f"tangent of {name} (arg{argnum})"


def build(graph, name="f", debug=False):
    """(source text, factory source, bound names, plan) of ``graph``'s program.

    ``debug``: no in-place updates or early releases, and return every value (for check=)."""
    src = Source(graph.consts)
    nodes = graph.nodes
    lowered = {}
    for i in graph.order:
        node = nodes[i]
        if node.kind == "call":
            lowered[i] = L.lower(node, graph.args[i], graph.kwargs[i], src.render, graph)
    plan = graph.plan(lowered, in_place=not debug)
    names = plan["names"]

    def fill(text):
        return _TOKEN.sub(lambda m: names[graph.find(int(m.group(1)))], text)

    params = sorted((nodes[i].arg, names[i]) for i in graph.order if nodes[i].kind == "input")
    all_params = [f"x{node.arg}" for node in nodes if node.kind == "input"]
    lines = []
    second = {b: a for a, (b, _) in graph.pairs.items()}
    for i in graph.order:
        node = nodes[i]
        if node.kind == "input":
            continue
        if node.kind == "kernel_out":    # computed by its kernel's line
            continue
        if node.kind == "kernel":
            outs, ksrc, scalar = node.arg
            args = [src.render(a) + ("[()]" if k < len(scalar) and scalar[k] else "")
                    for k, a in enumerate(graph.args[i])]
            fused = src.bind_function(node.op, "kernel")
            stmt = f"{', '.join(names[o] for o in outs)}, = {fused}({', '.join(args)})"
            n_ops = ksrc.count("        e_") - len(graph.args[i])
            lines.append((fill(stmt), f"numba kernel: {n_ops} elementwise ops in one loop · "
                                      f"{_describe(nodes[outs[0]])}"))
            if not debug:
                for r in plan["releases"].get(i, ()):
                    lines.append((f"del {r}", None))
            continue
        if i in second:                  # computed with its pair's line
            if not debug:
                for r in plan["releases"].get(i, ()):
                    lines.append((f"del {r}", None))
            continue
        if i in graph.pairs:
            b, fn = graph.pairs[i]
            args = [src.render(a) for a in graph.args[i]]
            args += [f"{k}={src.render(v)}" for k, v in graph.kwargs[b].items()]
            fused = src.bind_function(fn)
            stmt = f"{names[i]}, {names[b]} = {fused}({', '.join(args)})"
            notes = [f"{node.op.name} + {nodes[b].op.name}", _describe(node)]
            notes += [p for p in (_role(node), _where(node.site)) if p]
            lines.append((fill(stmt), " · ".join(notes)))
            if not debug:
                for r in plan["releases"].get(i, ()):
                    lines.append((f"del {r}", None))
            continue
        if node.kind == "draw":
            args = [src.render(a) for a in graph.args[i]]
            gen, rest = args[0], args[1:]
            rest += [f"{k}={src.render(v)}" for k, v in graph.kwargs[i].items()]
            expr = f"{gen}.{node.op}({', '.join(rest)})"
            what = f"draw {node.op}"
        else:
            what = node.op.name
            expr = lowered.get(i)
            if expr is None:
                args = [src.render(a) for a in graph.args[i]]
                args += [f"{k}={src.render(v)}" for k, v in graph.kwargs[i].items()]
                expr = f"{src.function(node.op)}({', '.join(args)})"
            else:
                expr = src.numpy_names(expr)
        form = plan["inplace"].get(i)
        target = names[i]
        if form is not None:
            buffer, how, k = form
            args = graph.args[i]
            if how == "aug":
                other = args[1 - k] if len(args) == 2 else None
                stmt = f"{target} {L.AUGMENTED[node.op]} {src.render(other)}"
            else:
                stmt = f"{target} = {expr[:-1]}, out={target})"
            what += ", in place"
        else:
            stmt = f"{target} = {expr}"
        notes = [what, _describe(node)]
        for part in (_role(node), _where(node.site)):
            if part:
                notes.append(part)
        lines.append((fill(stmt), " · ".join(notes)))
        if not debug:
            for r in plan["releases"].get(i, ()):
                lines.append((f"del {r}", None))
    ret = _outputs(graph, src, plan, fill) if not debug else \
        "{" + ", ".join(f"{i}: {names[i]}" for i in graph.order
                        if nodes[i].kind != "kernel") + "}"
    width = min(60, max((len(s) for s, c in lines if c), default=20) + 2)
    body = [f"def {name}({', '.join(all_params)}):"]
    for stmt, comment in lines:
        body.append(f"    {stmt}" + ("" if comment is None else
                                      " " * max(2, width - len(stmt)) + "# " + comment))
    body.append(f"    return {ret}")
    del params
    return "\n".join(body) + "\n", src.bound, plan


def _outputs(graph, src, plan, fill):
    """The return expression: the output structure, each array owned by the caller."""
    fresh, roots, names = plan["fresh"], plan["roots"], plan["names"]
    handed = set()
    nodes = graph.nodes

    def leaf(t, tensor=False, scalar=False):
        if isinstance(t, Ref):
            i = graph.find(t.i)
            node = nodes[i]
            name = names[i]
            own = fresh.get(i) and roots.get(i) == {i} and i not in handed and \
                node.kind != "input"
            handed.add(i)
            if node.shape == ():
                expr = f"_scalar_out({name})" if scalar else f"_array_out({name})"
            else:
                expr = name if own else f"{name}.copy()"
            return f"Tensor({expr})" if tensor else expr
        if isinstance(t, Const):
            v = graph.consts[t.j]
            name = src.const(t.j)
            return f"{name}.copy()" if isinstance(v, np.ndarray) else name
        return None

    def walk(t):
        if isinstance(t, Out):
            return leaf(t.value, t.tensor, t.scalar) or src.render(t.value)
        tt = type(t)
        if tt is tuple:
            inner = ", ".join(walk(v) for v in t)
            return f"({inner},)" if len(t) == 1 else f"({inner})"
        if tt is list:
            return "[" + ", ".join(walk(v) for v in t) + "]"
        if tt is dict:
            return "{" + ", ".join(f"{src.literal(k)}: {walk(v)}" for k, v in t.items()) + "}"
        if isinstance(t, tuple):
            return src.bind_object(type(t)) + "(" + ", ".join(walk(v) for v in t) + ")"
        return leaf(t) or src.render(t)
    return fill(walk(graph.outputs))


def make(source, bound, filename):
    """The program function from its source and bound names (free variables, not globals)."""
    free = list(bound)
    name = source.split("(", 1)[0][4:]
    factory = f"def _make({', '.join(free)}):\n" + \
        "".join("    " + line + "\n" for line in source.splitlines()) + f"    return {name}\n"
    linecache.cache[filename] = (len(factory), None, factory.splitlines(True), filename)
    ns = {}
    exec(compile(factory, filename, "exec"), ns)   # our own generated code, nothing from users
    return ns["_make"](*(bound[n] for n in free))
