"""Recording: run the function once, with a call hook that writes down every primitive call.

The function runs on ``TracedArray`` copies of its array inputs.  Every chainrule primitive
called with a traced value becomes a node ``(op, arguments)`` whose arguments are references
to earlier nodes (``Ref``), program constants (``Const``) or Python literals.  The backward
and forward passes are recorded the same way: while tracing, each primitive is called through
a *shadow* that shares its rules but hands them Tensors (as ``create_graph`` does), so every
operation inside a rule is itself a primitive call the hook sees.  Nothing about the rules is
written twice.  Calls whose arguments are all constants are not recorded: they run now and
their result is a constant of the program (constant folding for free).
"""
from __future__ import annotations

import gc
import sys
import threading

import numpy as np

from .. import numpy as cnp
from ..core.batching import BatchedTensor
from ..core.errors import TraceError
from ..core.primitive import Primitive, add_call_hook, apply, remove_call_hook
from ..core.tensor import Tensor, _plain_index
from ..numpy.dispatch import HANDLED_FUNCTIONS, UFUNCS
from .traced import TracedArray, TracedGenerator, _local, _plain, refuse, unwrap, user_site

ORPHAN = -1
_LITERALS = (int, float, bool, complex, str, bytes, type(None), type(Ellipsis))
_REDUCE = {"add": ("sum", 0), "multiply": ("prod", 1), "maximum": ("max", -np.inf),
           "minimum": ("min", np.inf)}
_INITIAL = {"max": -np.inf, "amax": -np.inf, "min": np.inf, "amin": np.inf, "sum": 0, "prod": 1}
_LOGICAL = {np.bitwise_or: cnp.logical_or, np.bitwise_and: cnp.logical_and,
            np.bitwise_xor: cnp.logical_xor, np.invert: cnp.logical_not}
# NumPy functions that read only shapes and dtypes: fine on traced values
_SHAPE_ONLY = {"shape", "ndim", "size", "result_type", "iscomplexobj", "isrealobj", "isfortran",
               "may_share_memory", "shares_memory", "zeros_like", "ones_like", "empty_like",
               "ndindex", "broadcast_shapes"}


class Ref:
    """A reference to node ``i``'s value in an argument template."""
    __slots__ = ("i",)

    def __init__(self, i):
        self.i = i

    def __repr__(self):
        return f"Ref({self.i})"


class Const:
    """A program constant (index into the trace's constant list)."""
    __slots__ = ("j",)

    def __init__(self, j):
        self.j = j

    def __repr__(self):
        return f"Const({self.j})"


class Out:
    """An output leaf in the output template: the function returned a Tensor (``tensor``) or
    a NumPy scalar (``scalar``) there, else an array."""
    __slots__ = ("value", "tensor", "scalar")

    def __init__(self, value, tensor=False, scalar=False):
        self.value, self.tensor, self.scalar = value, tensor, scalar


class Node:
    """One recorded value: an input, a primitive call, or a random draw."""
    __slots__ = ("i", "kind", "op", "args", "kwargs", "shape", "dtype", "scalar", "site", "role",
                 "arg", "alias")

    def __init__(self, kind, op=None, args=(), kwargs=None, site=None, role=None):
        self.i = None
        self.kind, self.op, self.args, self.kwargs = kind, op, args, kwargs or {}
        self.site, self.role = site, role
        self.shape = self.dtype = None
        self.scalar = False          # the call returned a NumPy scalar (kept as 0-d while tracing)
        self.arg = None              # inputs: position among the flattened arguments
        self.alias = False           # the call only handed back an existing value

    def __repr__(self):
        name = getattr(self.op, "name", self.op)
        return f"<node {self.i} {self.kind} {name} {self.shape} {self.dtype}>"


_INTERNAL = ("chainrule", "numpy", "contextlib", "functools", "threading", "concurrent")


def _caller():
    """(the user's line, the engine's role) of a call made outside any rule: the engine's own
    calls are gradient sums (backward) and the fitting of broadcast gradients or tangents."""
    f = sys._getframe(3)
    role = None
    while f is not None:
        mod = f.f_globals.get("__name__", "") or ""
        if not mod.startswith(_INTERNAL):
            return (None if role else (f.f_code.co_filename, f.f_lineno, f.f_code.co_name)), role
        if role is None:
            if mod == "chainrule.core.backward":
                role = ("sum", "gradients", None)
            elif mod == "chainrule.core.primitive" and f.f_code.co_name in ("fit_grad",
                                                                            "fit_tangent"):
                role = ("fit", f.f_code.co_name, None)
        f = f.f_back
    return None, role


def _geometry(a):
    """Where and how an array lies in memory: two arrays with equal geometry hold one value."""
    return a.__array_interface__["data"][0], a.shape, a.strides, a.dtype.str


# ------------------------------------------------------------------- the hook
_hook_users = 0
_hook_lock = threading.Lock()


def _hook(op, args, kwargs):
    tr = getattr(_local, "tracer", None)
    if tr is None or tr.depth:
        return NotImplemented
    return tr.call(op, args, kwargs)


def _use_hook(delta):
    global _hook_users
    with _hook_lock:
        _hook_users += delta
        if delta > 0 and _hook_users == 1:
            add_call_hook(_hook, before=True)
        elif _hook_users == 0:
            remove_call_hook(_hook)


class Tracer:
    """The record of one run of the function (one per trace, used by one thread)."""

    def __init__(self, external=()):
        self.nodes = []
        self.plain = []         # per node: the plain array op.fn returned (the value)
        self.traced = []        # per node: the TracedArray view handed to the function
        self.used = []          # per node: referenced by a later node (then never rebound)
        self.ids = {}           # id(object) -> node, for every object that holds a node's value
        self.geo = {}           # geometry -> node (stripped views such as np.asarray(t) find it)
        self._geo_done = 0
        self.keep = []          # objects whose ids are in the tables: kept alive while tracing
        self.consts, self.const_ids = [], {}
        self.const_tensors = []  # (Tensor, its data) for constant Tensors: guarded per call
        self.depth = 0          # > 0 inside a primitive's own NumPy code
        self.pending = []       # the call nodes being made, innermost last
        self.context = []       # (kind, op name, argnum, site) of the rules running
        self.shadows = {}
        self.inputs = set()
        self.external = set(external)   # ids of requires-grad Tensors reachable from outside
        self.draws = 0
        self.private = set()    # ids of copies made inside the function (assignable)
        self.routing = set()    # NumPy functions being run as their chainrule version now

    # ------------------------------------------------------------ values & lookups
    def _add(self, node, arr):
        k = len(self.nodes)
        node.i = k
        node.shape, node.dtype = arr.shape, arr.dtype
        tv = arr.view(TracedArray)
        tv._node = k
        self.nodes.append(node)
        self.plain.append(arr)
        self.traced.append(tv)
        self.used.append(False)
        self.ids[id(arr)] = self.ids[id(tv)] = k
        self.keep.append(tv)            # tv keeps arr alive too
        return k

    def _geometries(self):
        """Geometry -> node, brought up to date (only needed when a stripped view turns up)."""
        geo, plain = self.geo, self.plain
        for k in range(self._geo_done, len(plain)):
            if isinstance(plain[k], np.ndarray):
                geo.setdefault(_geometry(plain[k]), k)
        self._geo_done = len(plain)
        return geo

    def input(self, value, position):
        """A traced copy of an array argument (the caller's array itself is never touched)."""
        arr = np.array(value, copy=True)
        arr.setflags(write=False)       # writes through any view of it fail loudly
        node = Node("input", site=None, role=None)
        node.arg = position
        k = self._add(node, arr)
        self.inputs.add(k)
        return self.traced[k]

    def generator(self, gen, position):
        node = Node("input")
        node.arg = position
        k = len(self.nodes)
        node.i = k
        self.nodes.append(node)
        self.plain.append(gen)
        self.traced.append(gen)
        self.used.append(False)
        self.inputs.add(k)
        return TracedGenerator(self, gen, k)

    def lookup(self, x):
        """The node whose value the array ``x`` is, None for a constant, ORPHAN for an array
        computed from a traced value where chainrule could not see it."""
        k = self.ids.get(id(x))
        if k is not None:
            return k
        if type(x) is TracedArray:
            return ORPHAN if x._node is None else x._node
        if x.base is None:
            return None
        k = self._geometries().get(_geometry(x))
        if k is not None:
            return k
        b = x.base
        while isinstance(b, np.ndarray):
            if type(b) is TracedArray or id(b) in self.ids:
                return ORPHAN            # a view into a traced value, taken outside chainrule
            b = b.base
        return None

    def node_of(self, x):
        """The node behind a Tensor or array (healing a Tensor whose data lost the wrapper)."""
        if type(x) is BatchedTensor:             # vmap's view: its batch is traced by itself
            return None
        if isinstance(x, Tensor):
            k = self.lookup(x.data)
            if k is not None and k != ORPHAN and x.data is not self.traced[k]:
                x.data = self.traced[k]
            return k
        if isinstance(x, np.ndarray):
            return self.lookup(x)
        return None

    def tensorize(self, x):
        """Traced arrays as Tensors (so rules compute with primitives); the rest unchanged."""
        if type(x) is BatchedTensor:
            return x
        if isinstance(x, Tensor):
            self.node_of(x)
            return x
        if isinstance(x, np.ndarray):
            k = self.lookup(x)
            if k == ORPHAN:
                self.refuse_orphan(x)
            if k is not None:
                return Tensor(self.traced[k])
        return x

    def untensor(self, x):
        if isinstance(x, Tensor):
            return x.data
        if type(x) in (tuple, list):
            return type(x)(self.untensor(v) for v in x)
        if isinstance(x, tuple):                 # a namedtuple (SVDResult, ...)
            return type(x)(*(self.untensor(v) for v in x))
        return x

    def same_value(self, x):
        """``x.copy()``: the same value (no copy in the program), in memory of its own while
        tracing, so that an assignment into the copy can be recorded (``assign``)."""
        k = self.lookup(x)
        if k is None or k == ORPHAN:
            self.refuse_orphan(x)
        v = np.array(self.plain[k]).view(TracedArray)
        v._node = k
        self.ids[id(v)] = k
        self.keep.append(v)
        self.private.add(id(v))
        return v

    def assign(self, target, index, value):
        """``t[index] = value`` into a copy made inside the function: recorded as a new value
        (the copy with the entries replaced), which the same object then stands for."""
        if id(target) not in self.private:
            self.refuse_write(target, "assignment t[...] = value")
        mem = _plain(target)
        later = self.nodes[target._node].i if target._node is not None else 0
        for j in range(later, len(self.plain)):
            p = self.plain[j]
            if isinstance(p, np.ndarray) and p is not mem and np.may_share_memory(p, mem):
                self.refuse_write(target, "assignment into a copy that has views")
        new = _assign(target, _plain_index(index), value)
        np.ndarray.__setitem__(mem, unwrap(_plain_index(index)), unwrap(
            value.data if isinstance(value, Tensor) else value))
        target._node = new._node
        self.ids[id(target)] = new._node

    def const(self, x, tensor=None):
        j = self.const_ids.get(id(x))
        if j is None:
            j = self.const_ids[id(x)] = len(self.consts)
            self.consts.append(x)
        if tensor is not None:
            self.const_tensors.append((tensor, x))
        return Const(j)

    # ------------------------------------------------------------------ templates
    def template(self, x):
        """``x`` with traced values replaced by Refs and other objects by Consts/literals."""
        t = type(x)
        if t is TracedArray or t is np.ndarray:
            k = self.lookup(x)
            if k is None:
                return self.const(x)
            if k == ORPHAN:
                self.refuse_orphan(x)
            self._found = True
            self.used[k] = True
            return Ref(k)
        if t in _LITERALS:
            return x
        if isinstance(x, Tensor):
            k = self.node_of(x)
            if k is None:
                if x.requires_grad and id(x) in self.external:
                    self.refuse_external(x)
                return self.const(x.data, tensor=x)
            if k == ORPHAN:
                self.refuse_orphan(x.data)
            self._found = True
            self.used[k] = True
            return Ref(k)
        if t is tuple or t is list:
            return t(self.template(v) for v in x)
        if t is dict:
            return {k: self.template(v) for k, v in x.items()}
        if t is slice:
            return slice(self.template(x.start), self.template(x.stop), self.template(x.step))
        if isinstance(x, tuple):
            return type(x)(*(self.template(v) for v in x))
        if isinstance(x, TracedGenerator):
            self._found = True
            return Ref(x._node)
        if isinstance(x, np.ndarray):           # another ndarray subclass: a constant
            return self.const(x)
        return self.const(x)

    # ---------------------------------------------------------------- the call hook
    def call(self, op, args, kwargs):
        if any(type(a) is BatchedTensor for a in args) or \
                any(type(v) is BatchedTensor for v in kwargs.values()):
            return NotImplemented                # vmap rewrites it into a call on the batch
        self._found = False
        targs = tuple(self.template(a) for a in args)
        tkw = {k: self.template(v) for k, v in kwargs.items()} if kwargs else {}
        if not self._found:
            return NotImplemented                # constants only: computed now, folded
        if op.name in _VALUE_SHAPED and _traced_mask(targs[1:], self):
            refuse(f"{op.name} with a traced boolean mask: the result's shape depends on the "
                   "mask's values, which a program with fixed shapes cannot replay",
                   expected="masks that are constants, or selections with cnp.where",
                   fix="compute cnp.where(mask, x, 0) (or a weighted sum) instead of x[mask], "
                       "or compile with fallback='eager'")
        if op.name in _SHAPED_BY and _graph_refs(targs[_SHAPED_BY[op.name]:][:1]):
            refuse(f"{op.name} with traced {_SHAPED_BY_NAME[op.name]}: the result's shape "
                   "depends on their values, which a program with fixed shapes cannot replay",
                   expected=f"{_SHAPED_BY_NAME[op.name]} that are constants of the trace",
                   fix="pass them as Python numbers or constant arrays, or compile with "
                       "fallback='eager'")
        if any(isinstance(a, Tensor) for a in args):
            args = tuple(self.tensorize(a) for a in args)
        if self.context:
            kind, name, argnum, site = self.context[-1]
            node = Node("call", op, targs, tkw, site=site, role=(kind, name, argnum))
        else:
            site, role = _caller()
            node = Node("call", op, targs, tkw, site=site, role=role)
        self.pending.append(node)
        try:
            out = apply(self.shadow(op), *args, **kwargs)
        finally:
            self.pending.pop()
        tv = self.traced[node.i]
        if isinstance(out, Tensor):
            out.data = tv
            return out
        if node.scalar and not node.alias:        # NumPy gave a scalar: the function sees a
            tv = self.plain[node.i].view(TracedArray)   # 0-d traced array that remembers it
            tv._node, tv._scalar = node.i, True
            self.ids[id(tv)] = node.i
            self.keep.append(tv)
        return tv

    def produced(self, out):
        """Register what a shadow's op.fn returned as the value of the pending node."""
        node = self.pending[-1]
        if isinstance(out, np.ndarray):
            if type(out) is TracedArray and out._node is None:
                refuse(f"{node.op.name} returned a value computed from a traced value outside "
                       "chainrule (a custom rule's function written with plain NumPy?)",
                       expected="functions written with chainrule.numpy operations",
                       fix="write the function with cnp operations, or compile with "
                           "fallback='eager'", site=node.site)
            k = self.ids.get(id(out))
            if k is None and type(out) is TracedArray:
                k = out._node
            if k is None and out.base is not None:      # a view: the same value as a node?
                k = self._geometries().get(_geometry(out))
            if k is not None:                    # it handed back an existing value
                node.i, node.alias = k, True
                return self.plain[k]
            arr = out if type(out) is np.ndarray else np.asarray(out)
        else:
            arr = np.asarray(out)
            node.scalar = isinstance(out, np.generic)
        self._add(node, arr)
        return arr

    def shadow(self, op):
        """``op`` with the same rules, whose NumPy function runs on plain arrays and registers
        its result, and whose rules receive Tensors (so their operations are recorded)."""
        entry = self.shadows.get(id(op))
        if entry is not None:
            return entry[0]
        s = object.__new__(Primitive)
        for slot in Primitive.__slots__:
            if hasattr(op, slot):
                object.__setattr__(s, slot, getattr(op, slot))
        tr, fn = self, op.fn

        def run(*args, **kwargs):
            tr.depth += 1
            try:
                out = fn(*unwrap(args), **unwrap(kwargs))
            finally:
                tr.depth -= 1
            return tr.produced(out)
        object.__setattr__(s, "fn", run)
        if op.vjp is not None:
            object.__setattr__(s, "vjp", self._rule(op, op.vjp, "vjp", None))
        if op.vjps is not None:
            object.__setattr__(s, "vjps", tuple(None if r is None else self._rule(op, r, "vjp", i)
                                                for i, r in enumerate(op.vjps)))
        if op.jvp is not None:
            object.__setattr__(s, "jvp", self._rule(op, op.jvp, "jvp", None))
        self.shadows[id(op)] = (s, op)
        return s

    def _rule(self, op, rule, kind, argnum):
        tr, name = self, op.name

        def wrapped(*a, **kw):
            if argnum is None:                  # rule(i, v, ans, *args)
                i, v, ans, args = a[0], a[1], a[2], a[3:]
            else:                               # rule(v, ans, *args)
                i, v, ans, args = argnum, a[0], a[1], a[2:]
            v, ans = tr.tensorize(v), tr.tensorize(ans)
            args = [tr.tensorize(x) for x in args]
            k = tr.node_of(ans)
            site = tr.nodes[k].site if k is not None and k != ORPHAN else None
            tr.context.append((kind, name, i, site))
            try:
                if argnum is None:
                    return rule(i, v, ans, *args, **kw)
                return rule(v, ans, *args, **kw)
            finally:
                tr.context.pop()
        return wrapped

    # ------------------------------------------ NumPy on traced values, via chainrule
    def via_cnp(self, fn, args, kwargs):
        had_tensor = _has_tensor(args) or _has_tensor(kwargs)
        res = fn(*self._tensors(args), **self._tensors(kwargs))
        return res if had_tensor else self.untensor(res)

    def _tensors(self, x):
        t = type(x)
        if t is TracedArray or t is np.ndarray:
            return self.tensorize(x)
        if t is tuple or t is list:
            return t(self._tensors(v) for v in x)
        if t is dict:
            return {k: self._tensors(v) for k, v in x.items()}
        return x

    def route_ufunc(self, ufunc, method, inputs, kwargs):
        kwargs = dict(kwargs)
        out = kwargs.pop("out", None)
        if out is not None:
            return self._in_place(ufunc, method, inputs, kwargs, out)
        name = ufunc.__name__
        dtype = kwargs.pop("dtype", None)
        kwargs.pop("subok", None)
        if kwargs.get("casting") in ("same_kind", "unsafe"):
            kwargs.pop("casting")
        if method == "__call__" and not kwargs and ufunc in _LOGICAL and \
                all(np.result_type(x) == np.bool_ for x in inputs):
            res = self.via_cnp(_LOGICAL[ufunc], inputs, {})      # mask | mask, ~mask
        elif method == "__call__" and not kwargs and ufunc in UFUNCS:
            res = self.via_cnp(UFUNCS[ufunc], inputs, {})
        elif method == "reduce" and name in _REDUCE and len(inputs) == 1 \
                and kwargs.get("where", True) is True:
            red, identity = _REDUCE[name]
            x = inputs[0]
            axis, keepdims = kwargs.pop("axis", 0), kwargs.pop("keepdims", False)
            initial = kwargs.pop("initial", None)
            kwargs.pop("where", None)
            if initial is not None and not (initial == identity and _reduces_nonempty(x, axis)):
                return self._unsupported(f"np.{name}.reduce(..., initial={initial!r})")
            if kwargs:
                return self._unsupported(f"np.{name}.reduce with {sorted(kwargs)}")
            res = self.via_cnp(getattr(cnp, red), (x,), {"axis": axis, "keepdims": keepdims})
        elif method == "accumulate" and name in ("add", "multiply") and len(inputs) == 1 \
                and set(kwargs) <= {"axis"}:
            fn = cnp.cumsum if name == "add" else cnp.cumprod
            res = self.via_cnp(fn, inputs, {"axis": kwargs.get("axis", 0)})
        else:
            what = f"np.{name}" + ("" if method == "__call__" else f".{method}")
            return self._unsupported(what + (f" with {sorted(kwargs)}" if kwargs else ""))
        if dtype is not None:
            res = self.via_cnp(cnp.astype, (res, np.dtype(dtype)), {})
        return res

    def _in_place(self, ufunc, method, inputs, kwargs, out):
        target = out[0] if isinstance(out, tuple) else out
        if len(out if isinstance(out, tuple) else (out,)) != 1 or not isinstance(target, np.ndarray):
            return self._unsupported(f"np.{ufunc.__name__} with several outputs")
        k = self.lookup(target)
        if k is None or k == ORPHAN:
            refuse("a traced value would be written into a plain array (out=...): the array "
                   "would hold a value frozen at trace time", expected="results assigned to new "
                   "names (y = f(x))", fix="write y = f(x) instead of f(x, out=y)")
        if k in self.inputs or self.used[k] or self.nodes[k].alias:
            self.refuse_write(target, f"in-place np.{ufunc.__name__} (x += ... or out=x)")
        new = self.route_ufunc(ufunc, method, inputs, kwargs)
        new = new.data if isinstance(new, Tensor) else new
        if new.dtype != target.dtype:
            new = self.via_cnp(cnp.astype, (new, target.dtype), {})
        if new.shape != target.shape or not self.plain[k].flags.writeable:
            self.refuse_write(target, f"in-place np.{ufunc.__name__}")
        np.copyto(_plain(target), _plain(new))   # the trace's own value follows, as in eager
        j = new._node
        for obj in (target, self.plain[k], self.traced[k]):
            self.ids[id(obj)] = j
        self.geo[_geometry(self.plain[k])] = j
        if type(target) is TracedArray:
            target._node = j
        return target

    def route_function(self, func, args, kwargs):
        mine = HANDLED_FUNCTIONS.get(func)
        if mine is not None and id(func) in self.routing:
            # chainrule's version of func calls NumPy's own on the values (for its checks or
            # dtype): computed on the trace-time values, and marked, so that if such a value
            # flowed into the program it is refused there instead of frozen
            return _orphans(func(*unwrap(args), **unwrap(kwargs)))
        if mine is not None:
            if "initial" in kwargs and func.__name__ in _INITIAL:      # np.max(x, initial=-inf)
                if kwargs["initial"] != _INITIAL[func.__name__] or \
                        not _reduces_nonempty(args[0], kwargs.get("axis", args[1] if
                                                                    len(args) > 1 else None)):
                    return self._unsupported(f"np.{func.__name__}(..., initial=...)")
                kwargs = {k: v for k, v in kwargs.items() if k != "initial"}
            self.routing.add(id(func))
            try:
                return self.via_cnp(mine, args, kwargs)
            finally:
                self.routing.discard(id(func))
        if func.__name__ in _SHAPE_ONLY:
            return func(*unwrap(args), **unwrap(kwargs))
        return self._unsupported(f"np.{func.__name__}")

    def route_method(self, name, x, args, kwargs):
        t = self.tensorize(x)
        if name == "getitem":
            res = cnp.getitem(t, _plain_index(args[0]))
        elif name == "ravel":
            res = cnp.reshape(t, (-1,))
        else:
            fn = vars(cnp).get(name)
            if fn is None:
                return self._unsupported(f"the array method .{name}()")
            res = fn(t, *args, **kwargs)
        return self.untensor(res)

    def draw(self, gen, name, args, kwargs):
        self._found = False
        targs = tuple(self.template(a) for a in args)
        tkw = {k: self.template(v) for k, v in kwargs.items()}
        node = Node("draw", name, (Ref(gen._node),) + targs, tkw, site=user_site(3))
        out = getattr(gen._generator, name)(*unwrap(args), **unwrap(kwargs))
        self.pending.append(node)
        try:
            self.produced(np.asarray(out))
        finally:
            self.pending.pop()
        self.draws += 1
        if not isinstance(out, np.ndarray):      # a Python number: remembered, as for calls
            tv = self.plain[node.i].view(TracedArray)
            tv._node, tv._scalar = node.i, True
            self.ids[id(tv)] = node.i
            self.keep.append(tv)
            return tv
        return self.traced[node.i]

    def output(self, x):
        """The output template of the function's result (arrays, Tensors, containers)."""
        t = type(x)
        if t is TracedArray or t is np.ndarray:
            k = self.lookup(x)
            if k == ORPHAN:
                self.refuse_orphan(x)
            return Out(self.const(x) if k is None else Ref(k),
                       scalar=getattr(x, "_scalar", False))
        if isinstance(x, Tensor):
            k = self.node_of(x)
            if k == ORPHAN:
                self.refuse_orphan(x.data)
            return Out(self.const(x.data) if k is None else Ref(k), tensor=True)
        if t is list or t is tuple:
            return t(self.output(v) for v in x)
        if t is dict:
            return {k: self.output(v) for k, v in x.items()}
        if isinstance(x, tuple):
            return type(x)(*(self.output(v) for v in x))
        if isinstance(x, TracedGenerator):
            refuse("the compiled function returns a Generator it was given",
                   expected="arrays, Tensors, numbers and containers of them",
                   fix="return the values drawn from it instead")
        return x

    # ------------------------------------------------------------------- refusals
    def _unsupported(self, what):
        refuse(f"{what} on a traced value has no chainrule rule, so it cannot be recorded "
               "(running it on the trace-time values would freeze them into the program)",
               expected="chainrule.numpy operations on traced values",
               fix="use the chainrule.numpy function (cnp.<name>) if there is one, or compile "
                   "with fallback='eager'")

    def refuse_orphan(self, x):
        refuse("a value computed from a traced value outside chainrule (plain NumPy on t.data, "
               "np.asarray of a traced value, ...) reached a chainrule operation; its trace-time "
               "value would be frozen into the program",
               expected="values computed with chainrule.numpy operations",
               actual=f"an array of shape {np.shape(x)} that chainrule did not see being made",
               fix="compute it with cnp functions on the traced value, or compile with "
                   "fallback='eager'")

    def refuse_external(self, t):
        refuse("a Tensor that requires grad and comes from outside the compiled function (a "
               "closure or global, e.g. a model's parameter) is used inside it: its value and "
               "its .grad would be frozen at trace time",
               expected="values that change between calls passed as arguments",
               actual=f"a requires-grad Tensor of shape {t.shape}",
               fix="pass its array as an argument and differentiate with cr.grad / "
                   "cr.value_and_grad inside (chainrule.training.fit(compile=True) does this for "
                   "a model), or compile with fallback='eager'")

    def refuse_write(self, arr, what):
        k = self.lookup(arr)
        if k is not None and k in self.inputs:
            refuse(f"{what} writes into an input of the compiled function: the program cannot "
                   "replay it (and chainrule never writes into a caller's array)",
                   expected="inputs that are only read", fix="compute a new value instead, e.g. "
                   "x = x + 1 or cnp.where(mask, value, x)")
        refuse(f"{what} on a traced value that was already used cannot be replayed: the "
               "program keeps every value it computed", expected="new values (y = f(x))",
               fix="write the update as a new value: h = h + b, cnp.where(mask, v, h), "
                   "cnp.concatenate([...])")


_VALUE_SHAPED = {"getitem", "index_add"}       # a boolean index gives a value-dependent shape
_SHAPED_BY = {"repeat": 1}                      # primitives whose argument k decides the shape
_SHAPED_BY_NAME = {"repeat": "repeats"}


def _traced_mask(templates, tracer):
    for r in _graph_refs(templates):
        if tracer.nodes[r].dtype == np.bool_:
            return True
    return False


def _graph_refs(t, out=None):
    out = [] if out is None else out
    if isinstance(t, Ref):
        out.append(t.i)
    elif isinstance(t, (tuple, list)):
        for v in t:
            _graph_refs(v, out)
    return out


def _orphans(x):
    """Arrays computed outside the record, marked as such (TracedArrays without a node)."""
    if isinstance(x, (np.ndarray, np.generic)):
        return np.asarray(x).view(TracedArray)
    if type(x) in (tuple, list):
        return type(x)(_orphans(v) for v in x)
    return x


def _has_tensor(x):
    if isinstance(x, Tensor):
        return True
    if type(x) in (tuple, list):
        return any(_has_tensor(v) for v in x)
    if type(x) is dict:
        return any(_has_tensor(v) for v in x.values())
    return False


def _reduces_nonempty(x, axis):
    shape = np.shape(x)
    if axis is None:
        return int(np.prod(shape)) > 0
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    return all(shape[a] > 0 for a in axes)


def _assign_fn(x, index, value):
    out = np.array(x)
    out[index] = value
    return out


_assign = Primitive("assign", _assign_fn, differentiable=False,
                    doc="A copy of x with x[index] = value (t[...] = v into a copy, compiled).")


class Recording:
    """``with Recording(tracer):`` this thread's primitive calls go to ``tracer``."""

    def __init__(self, tracer):
        self.tracer = tracer

    def __enter__(self):
        if getattr(_local, "tracer", None) is not None:
            raise TraceError("chainrule.compile", message="a trace is already running in this "
                             "thread", fix="call compiled functions inside each other freely; "
                             "do not start a trace from inside a primitive")
        _use_hook(+1)
        _local.tracer = self.tracer
        return self.tracer

    def __exit__(self, *exc):
        _local.tracer = None
        _use_hook(-1)
        return False


# A trace keeps every value it made alive until it ends, so the cyclic garbage collector
# would scan a growing heap again and again (half the time of a large trace): it pauses while
# any thread traces and builds a program (``with gc_paused():``), and resumes as it was.
_gc_pauses, _gc_was_enabled = 0, False


class gc_paused:
    def __enter__(self):
        _pause_gc(+1)

    def __exit__(self, *exc):
        _pause_gc(-1)
        return False


def _pause_gc(delta):
    global _gc_pauses, _gc_was_enabled
    with _hook_lock:
        if delta > 0:
            if _gc_pauses == 0:
                _gc_was_enabled = gc.isenabled()
                gc.disable()
            _gc_pauses += 1
        else:
            _gc_pauses -= 1
            if _gc_pauses == 0 and _gc_was_enabled:
                gc.enable()
