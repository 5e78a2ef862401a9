"""``Compiled``: the object ``cr.compile(fn)`` returns -- traces, cache, guards, checks.

A call is matched against the signature the program was traced for (argument structure,
array shapes and dtypes, the values of Python numbers among the arguments) and against the
trace's guards (closure variables and globals it read, constant Tensors' data, a model's
training flag, grad mode).  The match is generated code too, so a hit costs about a
microsecond plus the program.  A new signature traces again (up to ``max_traces`` programs
are kept, least recently used first out), or, with ``retrace=False``, raises.
"""
from __future__ import annotations

import functools
import itertools
import threading
import time
import warnings
from collections import OrderedDict

import numpy as np

from ..core import saved, state
from ..core.backward import hand_over
from ..core.errors import ChainruleError, ChainruleWarning, TensorConversionError, TraceError
from ..core.tensor import Tensor
from . import capture, codegen, fuse
from .graph import Graph
from .trace import Const, Out, Recording, Ref, Tracer, gc_paused
from .traced import current, refuse

MISS = object()
_eager = threading.local()      # .depth > 0: inside check='s own eager run (of an outer function)
_COPY_LIMIT = 1 << 14          # constants up to this size are copied, larger ones held read-only
_ids = itertools.count(1)


class CheckError(ChainruleError, AssertionError):
    """check=N found a compiled result that differs from the eager one."""


# ----------------------------------------------------------- arguments and keys
def _flatten(x, leaves):
    """A hashable structure of ``x`` (lists, tuples, namedtuples, dicts); leaves appended."""
    t = type(x)
    if t is list:
        return ("list", tuple(_flatten(v, leaves) for v in x))
    if t is tuple:
        return ("tuple", tuple(_flatten(v, leaves) for v in x))
    if t is dict:
        return ("dict", tuple(x), tuple(_flatten(v, leaves) for v in x.values()))
    if isinstance(x, tuple) and hasattr(t, "_fields"):
        return ("named", t, tuple(_flatten(v, leaves) for v in x))
    leaves.append(x)
    return None


def _rebuild(tree, it):
    if tree is None:
        return next(it)
    kind = tree[0]
    if kind == "list":
        return [_rebuild(c, it) for c in tree[1]]
    if kind == "tuple":
        return tuple(_rebuild(c, it) for c in tree[1])
    if kind == "dict":
        return dict(zip(tree[1], (_rebuild(c, it) for c in tree[2])))
    return tree[1](*(_rebuild(c, it) for c in tree[2]))


_STATIC = (bool, int, float, complex, str, bytes, type(None), np.generic)


def _spec(x):
    """What the program depends on about one argument leaf (None: a Tensor that needs a
    gradient, which a program cannot take)."""
    if type(x) is np.ndarray:
        return ("a", x.shape, x.dtype)
    if isinstance(x, Tensor):
        if x.requires_grad or x._fw is not None or hasattr(x, "_level"):    # (_level: vmap's)
            return None
        return ("T", x.shape, x.dtype)
    if isinstance(x, np.ndarray):
        return ("a", x.shape, x.dtype)
    if isinstance(x, np.random.Generator):
        return ("g",)
    if isinstance(x, _STATIC):
        try:
            hash(x)
            return ("s", type(x), x)
        except TypeError:
            return ("o", id(x))
    return ("o", id(x))


def _where(tree, n):
    """'argument 1[2]' style names of the leaves, in order."""
    out = []

    def walk(t, path):
        if t is None:
            out.append(path)
            return
        kind = t[0]
        keys = t[1] if kind == "dict" else range(len(t[-1]))
        for k, c in zip(keys, t[-1]):
            walk(c, f"{path}[{k!r}]")
    args, kwargs = tree[1]
    for i, c in enumerate(args[1]):
        walk(c, f"argument {i}")
    for k, c in zip(kwargs[1], kwargs[2]):
        walk(c, f"keyword {k}")
    return out if len(out) == n else [f"leaf {i}" for i in range(n)]


def _difference(old, new):
    """Text saying how a new signature differs from an old one."""
    (tree0, specs0, rec0), (tree1, specs1, rec1) = old, new
    if tree0 != tree1:
        return "the arguments' structure (lists, tuples, dicts, their lengths) changed"
    names = _where(tree1, len(specs1))
    for name, a, b in zip(names, specs0, specs1):
        if a != b:
            return f"{name}: {_show(a)} -> {_show(b)}"
    if rec0 != rec1:
        return "grad mode (no_grad) changed"
    return "a value the trace read changed"


def _show(spec):
    kind = spec[0]
    if kind in ("a", "T"):
        return f"{'Tensor ' if kind == 'T' else ''}shape {spec[1]} {spec[2]}"
    if kind == "s":
        return f"{spec[1].__name__} {spec[2]!r}"
    if kind == "g":
        return "a Generator"
    return "an object (compared by identity)"


# --------------------------------------------------------------------- entries
class Entry:
    """One traced program with its signature, guards and statistics."""

    def __init__(self, key, guards):
        self.key, self.guards = key, guards
        self.program = self.run = None
        self.source = ""
        self.eager = False
        self.held = None
        self.info = {}
        self.debug = None       # the debug program (all values), built on demand by check=
        self.graph = None
        self.checks_left = 0    # program runs still to compare with eager runs (check=)

    def guards_ok(self):
        return all(read() is value or capture.same(read(), value)
                   for _, read, value in self.guards)

    def changed_guard(self):
        for what, read, value in self.guards:
            if not (read() is value or capture.same(read(), value)):
                return f"{what} changed from {value!r} to {read()!r}"
        return None

    def release(self):
        if self.held is not None:
            self.held.release()
            self.held = None


def _entry_source(tree, specs, n_guards, n_tensors, positions):
    """Source of ``match(args, kwargs)``: the signature and guards, then the program."""
    lines, counter = [], itertools.count()
    leaves = iter(range(len(specs)))
    names = {}

    def unpack(t, expr):
        if t is None:
            k = next(leaves)
            names[k] = expr
            return
        kind = t[0]
        children = t[-1]
        if kind == "dict":
            lines.append(f"if type({expr}) is not dict or len({expr}) != {len(children)}: "
                         f"return MISS")
            for key, c in zip(t[1], children):
                sub = f"e{next(counter)}"
                lines.append(f"{sub} = {expr}.get({key!r}, MISS)")
                unpack(c, sub)
            return
        typ = {"list": "list", "tuple": "tuple"}.get(kind, f"_named{next(counter)}")
        if kind == "named":
            bound[typ] = t[1]
        lines.append(f"if type({expr}) is not {typ} or len({expr}) != {len(children)}: "
                     f"return MISS")
        subs = [f"e{next(counter)}" for _ in children]
        if subs:
            lines.append(f"{', '.join(subs)}, = {expr}")
        for sub, c in zip(subs, children):
            unpack(c, sub)

    bound = {}
    args_tree, kwargs_tree = tree[1]
    lines.append(f"if len(args) != {len(args_tree[1])}: return MISS")
    if kwargs_tree[1]:
        lines.append(f"if len(kwargs) != {len(kwargs_tree[1])}: return MISS")
        unpack(kwargs_tree, "kwargs")
    else:
        lines.append("if kwargs: return MISS")
    unpack(args_tree, "args")
    passed = {}
    for k, spec in enumerate(specs):
        e, kind = names[k], spec[0]
        if kind == "a":
            lines.append(f"if type({e}) is not ndarray or {e}.shape != {spec[1]!r} or "
                         f"({e}.dtype is not _d{k} and {e}.dtype != _d{k}): return MISS")
            bound[f"_d{k}"] = spec[2]
            passed[k] = e
        elif kind == "T":
            lines.append(f"if type({e}) is not Tensor or {e}.requires_grad or {e}._fw is not None"
                         f" or {e}.data.shape != {spec[1]!r} or {e}.data.dtype != _d{k}: "
                         f"return MISS")
            bound[f"_d{k}"] = spec[2]
            passed[k] = f"{e}.data"
        elif kind == "g":
            lines.append(f"if type({e}) is not Generator: return MISS")
            passed[k] = e
        elif kind == "s":
            lines.append(f"if {e} is not _s{k} and (type({e}) is not _t{k} or {e} != _s{k}): "
                         f"return MISS")
            bound[f"_s{k}"], bound[f"_t{k}"] = spec[2], spec[1]
        else:
            lines.append(f"if id({e}) != {spec[1]}: return MISS")
    for g in range(n_guards):
        lines.append(f"if _r{g}() is not _v{g} and not _same(_r{g}(), _v{g}): return MISS")
    for t in range(n_tensors):
        lines.append(f"if _T{t}.data is not _C{t}: return MISS")
    lines.append("if _grad_enabled() is not _recording or _state.anomaly: return MISS")
    call = ", ".join(passed[k] for k in positions)
    lines.append(f"return program({call})")
    return "def match(args, kwargs):\n" + "".join(f"    {s}\n" for s in lines), bound


def _compare(expected, got, path="output"):
    """The first difference between an eager and a compiled result, or None."""
    le, lg = [], []
    te, tg = _flatten(expected, le), _flatten(got, lg)
    if te != tg or len(le) != len(lg):
        return f"{path}: the structure differs"
    for k, (a, b) in enumerate(zip(le, lg)):
        a = a.data if isinstance(a, Tensor) else a
        b = b.data if isinstance(b, Tensor) else b
        if isinstance(a, (np.ndarray, np.generic, float, int)) and not isinstance(a, bool):
            a, b = np.asarray(a), np.asarray(b)
            if a.shape != b.shape or a.dtype != b.dtype:
                return f"{path} leaf {k}: shape/dtype {a.shape} {a.dtype} vs {b.shape} {b.dtype}"
            if not _close(a, b):
                return f"{path} leaf {k}: max |difference| {_gap(a, b):.3g}"
        elif not capture.same(a, b):
            return f"{path} leaf {k}: {a!r} vs {b!r}"
    return None


def _tolerance(dtype):
    return 1e-4 if dtype.kind in "fc" and dtype.itemsize <= 4 * (2 if dtype.kind == "c" else 1) \
        else 1e-9


def _close(a, b):
    if a.dtype.kind not in "fc":
        return np.array_equal(a, b)
    finite = np.abs(a[np.isfinite(a)])          # (NaN and inf entries set no scale)
    scale = float(finite.max()) if finite.size else 0.0
    tol = _tolerance(a.dtype) * max(scale, 1e-30)
    with np.errstate(invalid="ignore"):
        d = np.abs(a.astype(np.complex128 if a.dtype.kind == "c" else np.float64) - b)
        same = (a == b) | (np.isnan(a) & np.isnan(b)) | (d <= tol)     # infinities: equal
    return bool(np.all(same))


def _gap(a, b):
    with np.errstate(invalid="ignore"):
        d = np.abs(np.asarray(a, dtype=complex) - np.asarray(b, dtype=complex))
    return float(np.nanmax(d)) if d.size else 0.0


# ---------------------------------------------------------------------- compile
class Compiled:
    """A function recorded once per signature and replayed as generated NumPy code."""

    def __init__(self, fn, retrace=True, max_traces=8, fallback=None, check=1, backend="numpy"):
        if not callable(fn):
            raise ChainruleError("chainrule.compile", expected="a function",
                                 actual=type(fn).__name__, fix="cr.compile(f) or @cr.compile")
        if fallback not in (None, "eager"):
            raise ChainruleError("chainrule.compile", expected="fallback=None or 'eager'",
                                 actual=repr(fallback), fix="pass fallback='eager' to run what "
                                 "cannot be compiled as it is, with one warning")
        if int(max_traces) < 1 or int(check) < 0:
            raise ChainruleError("chainrule.compile", expected="max_traces >= 1, check >= 0",
                                 actual=f"max_traces={max_traces}, check={check}",
                                 fix="e.g. max_traces=8, check=3")
        if backend not in ("numpy", "numba"):
            raise ChainruleError("chainrule.compile", expected="backend='numpy' or 'numba'",
                                 actual=repr(backend), fix="'numba' fuses elementwise runs "
                                 "(pip install 'chainrule[fast]')")
        if backend == "numba" and not fuse.AVAILABLE:
            warnings.warn("chainrule.compile: backend='numba' needs numba (pip install "
                          "'chainrule[fast]'); the NumPy program is used", ChainruleWarning,
                          stacklevel=3)
            backend = "numpy"
        self.backend = backend
        functools.update_wrapper(self, fn)
        self.fn, self.retrace, self.max_traces = fn, bool(retrace), int(max_traces)
        self.fallback, self.check = fallback, int(check)
        self._cache = OrderedDict()
        self._lock = threading.RLock()
        self._hot = None
        self._hits = itertools.count()
        self._counts = {"traces": 0, "evictions": 0, "eager_calls": 0, "checks": 0}
        self._last = None
        self._first_key = None
        self._warned = set()
        self.quiet_fallback = False
        self._id = next(_ids)

    def __repr__(self):
        return f"<chainrule compiled {getattr(self.fn, '__qualname__', self.fn)!r}>"

    def __get__(self, obj, owner=None):            # @cr.compile on a method
        return self if obj is None else functools.partial(self, obj)

    # ------------------------------------------------------------------ calls
    def __call__(self, *args, **kwargs):
        hot = self._hot
        if hot is not None:
            out = hot(args, kwargs)
            if out is not MISS:
                next(self._hits)
                return out
        return self._slow(args, kwargs)

    def _slow(self, args, kwargs):
        if current() is not None or state.local.anomaly:
            self._count("eager_calls")       # inside another trace (inlined), or anomaly mode
            return self.fn(*args, **kwargs)
        leaves = []
        tree = _flatten((args, kwargs), leaves)
        specs = tuple(_spec(x) for x in leaves)
        if None in specs:           # differentiated from outside: only eager mode can do that
            if getattr(_eager, "depth", 0):
                self._count("eager_calls")
                return self.fn(*args, **kwargs)
            k = specs.index(None)
            bad = _where(tree, len(leaves))[k]
            if hasattr(leaves[k], "_level"):
                self._warn_eager(f"{bad} is batched by vmap (a program runs one signature's "
                                 "shapes; compile the vmapped function instead: "
                                 "cr.compile(cr.vmap(f)))")
            else:
                self._warn_eager(f"{bad} is a Tensor that needs a gradient (a compiled program "
                                 "cannot be differentiated from outside; compile the function "
                                 "that takes the gradient instead)")
            return self.fn(*args, **kwargs)
        key = (tree, specs, state.grad_enabled.get())
        with self._lock:
            entry = self._cache.get(key)
            reason = None
            if entry is not None:
                reason = entry.changed_guard()
                if reason is None:
                    self._cache.move_to_end(key)
                    if entry.eager:
                        self._count("eager_calls")
                        return self.fn(*args, **kwargs)
                    if entry.checks_left > 0:
                        return self._checked(entry, args, kwargs, leaves)
                    self._hot = entry.run
                    next(self._hits)
                    return entry.call(leaves)
            if self._first_key is not None and not self.retrace:
                why = reason or _difference(self._first_key, key)
                raise ChainruleError(
                    "chainrule.compile", message=f"{self.__name__} was compiled with "
                    f"retrace=False, and this call needs a new trace: {why}",
                    expected="calls with the traced signature (shapes, dtypes, structure, "
                             "Python values)", actual=why,
                    fix="call it as it was traced, or compile with retrace=True (the default) "
                        "to trace each new signature")
            return self._trace(key, tree, leaves, args, kwargs, reason)

    def _count(self, what, n=1):
        with self._lock:
            self._counts[what] += n

    def _warn_eager(self, why):
        self._count("eager_calls")
        if self.quiet_fallback:              # fit's default: eager is what was asked for
            return
        if why not in self._warned:
            self._warned.add(why)
            warnings.warn(f"chainrule.compile: {self.__name__} runs eagerly: {why}",
                          ChainruleWarning, stacklevel=4)

    # ------------------------------------------------------------------ trace
    def _trace(self, key, tree, leaves, args, kwargs, reason):
        with gc_paused():
            return self._trace_now(key, tree, leaves, args, kwargs, reason)

    def _trace_now(self, key, tree, leaves, args, kwargs, reason):
        started = time.perf_counter()
        specs = key[1]
        objects = [x for x, spec in zip(leaves, specs) if spec[0] == "o"]   # models passed in
        cap = capture.scan(self.fn, also=objects)
        randoms = capture.random_states(cap)
        tracer = Tracer(external=cap.external)
        new_leaves = []
        for pos, (x, spec) in enumerate(zip(leaves, specs)):
            kind = spec[0]
            if kind == "a":
                new_leaves.append(tracer.input(x, pos))
            elif kind == "T":
                new_leaves.append(Tensor(tracer.input(x.data, pos)))
            elif kind == "g":
                new_leaves.append(tracer.generator(x, pos))
            else:
                new_leaves.append(x)
        targs, tkwargs = _rebuild(tree, iter(new_leaves))
        try:
            with Recording(tracer), saved.scope(), capture.hidden_random_refused():
                result = self.fn(*targs, **tkwargs)
                outputs = tracer.output(result)
            drew = capture.changed_random(randoms)
            if drew is not None:
                refuse(f"{self.__name__} drew random numbers from {drew} while being traced: "
                       "the numbers would be frozen into the program",
                       site=capture.defined_at(self.fn),
                       expected="random numbers drawn from a numpy.random.Generator passed as "
                                "an argument (each call then draws new ones), or from a "
                                "generator seeded inside the function from an argument",
                       fix="pass the Generator as an argument (rng=np.random.default_rng(0); "
                           "f(x, rng)), or compile with fallback='eager'")
        except (TraceError, TensorConversionError) as e:
            if self.fallback != "eager":
                raise
            entry = Entry(key, [])
            entry.eager = True
            self._store(key, entry)
            self._warn_eager(str(e).splitlines()[0])
            return self.fn(*args, **kwargs)
        traced_at = time.perf_counter()
        entry = self._build(key, tracer, outputs, cap, specs)
        if self._first_key is None:
            self._first_key, reason = key, "first call"
        elif reason is None:
            last = next(reversed(self._cache), None)
            reason = _difference(last if last is not None else self._first_key, key)
        entry.info.update(trace_ms=1e3 * (traced_at - started),
                          compile_ms=1e3 * (time.perf_counter() - started), reason=reason)
        self._store(key, entry)
        entry.checks_left = 0 if tracer.draws else self.check   # each new program is checked
        self._hot = None if entry.checks_left else entry.run
        result = self._first_outputs(tracer, outputs)
        if self.check and not tracer.draws:
            self._probe(entry, tree, leaves, specs)
        return result

    def _probe(self, entry, tree, leaves, specs):
        """Run the new program and eager mode once more on other arguments of the same
        signature: the entries moved one place on (a new order, the same values), then also
        scaled (other values: other sets, counts and roundings).  A program that kept a value
        of its trace (an order, a pick, a shape that chainrule's own code computed from the
        values) gives itself away there, before any call returns its numbers.  Arguments
        that are not valid inputs for the function (eager mode raises) skip a probe."""
        for variant in (_rolled, _scaled):
            new, moved = [], False
            for x, spec in zip(leaves, specs):
                a = x.data if spec[0] == "T" else x
                if spec[0] in ("a", "T") and a.size > 1 and a.dtype.kind in "fciu":
                    a = variant(a)
                    moved = True
                    x = Tensor(a) if spec[0] == "T" else a
                new.append(x)
            if not moved:
                return
            diff = self._probe_with(entry, tree, new)
            if diff is not None:
                return self._probe_failed(entry, new, diff)

    def _probe_with(self, entry, tree, new):
        """How the program and eager mode differ on the leaves ``new`` (None: they agree, or
        eager mode rejects them)."""
        args, kwargs = _rebuild(tree, iter(new))
        _eager.depth = getattr(_eager, "depth", 0) + 1
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                expected = self.fn(*args, **kwargs)
        except Exception:        # noqa: BLE001 - not a valid input for the function: no probe
            return None
        finally:
            _eager.depth -= 1
        try:
            with np.errstate(all="ignore"):
                return _compare(expected, entry.call(new))
        except Exception as e:   # noqa: BLE001 - eager mode ran, the program did not
            return f"the program failed: {type(e).__name__}: {e}"

    def _probe_failed(self, entry, new, diff):
        try:
            where = "; " + self._first_difference(entry, new)
        except Exception:        # noqa: BLE001 - the diagnosis is a bonus
            where = ""
        why = (f"{self.__name__}'s program kept a value of its trace: on the arguments with "
               f"their entries moved (and scaled) it differs from eager mode ({diff}){where}")
        if self.fallback == "eager":
            entry.eager = True
            self._hot = None
            self._warn_eager(why)
            return
        self._cache.pop(entry.key, None)
        entry.release()
        raise CheckError("chainrule.compile", message=why,
                         fix="a function whose work depends on the values in a way a program "
                             "cannot replay (value-dependent picks, orders, shapes) must run "
                             "eagerly: compile with fallback='eager', or leave it uncompiled")

    def _store(self, key, entry):
        old = self._cache.pop(key, None)
        if old is not None:
            old.release()
        self._cache[key] = entry
        self._counts["traces"] += not entry.eager
        while len(self._cache) > self.max_traces:
            _, gone = self._cache.popitem(last=False)
            gone.release()
            self._counts["evictions"] += 1
            if "evict" not in self._warned:
                self._warned.add("evict")
                warnings.warn(
                    f"chainrule.compile: {self.__name__} has been traced "
                    f"{self._counts['traces']} times and keeps only the last "
                    f"{self.max_traces} programs (last change: {entry.info.get('reason')}); "
                    "a Python number that changes every call re-traces every call: pass it "
                    "as a 0-d array (np.asarray(value)) to make it an input instead",
                    ChainruleWarning, stacklevel=5)
        self._last = entry

    def _build(self, key, tracer, outputs, cap, specs):
        """Program and guards from a finished trace."""
        trace = _TraceData(tracer, outputs)
        graph = Graph(trace).run()
        if self.backend == "numba":
            fuse.fuse(graph)
        name = "".join(c if c.isalnum() or c == "_" else "_" for c in
                       getattr(self.fn, "__name__", "f")) or "f"
        if name[0].isdigit():
            name = "f_" + name
        source, bound, plan = codegen.build(graph, name)
        held = _own_constants(bound, cap.arrays)
        filename = f"<chainrule.compile {name} #{self._id}.{self._counts['traces'] + 1}>"
        program = codegen.make(source, bound, filename)
        entry = Entry(key, cap.guards)
        entry.program, entry.source, entry.graph, entry.held = program, source, graph, held
        entry.info.update(nodes=len(tracer.nodes), lines=source.count("\n") - 1,
                          draws=tracer.draws)
        positions = [n.arg for n in tracer.nodes if n.kind == "input"]
        entry.positions = positions
        tensors = list({id(t): (t, d) for t, d in tracer.const_tensors}.values())
        # (the slow path checks these too: a Tensor given new data traces again)
        entry.guards = list(entry.guards) + [
            (f"the data of a constant Tensor of shape {d.shape}",
             functools.partial(getattr, t, "data"), d) for t, d in tensors]
        src, ebound = _entry_source(key[0], specs, len(cap.guards), len(tensors), positions)
        ebound.update(MISS=MISS, program=program, ndarray=np.ndarray, Tensor=Tensor,
                      Generator=np.random.Generator, _same=capture.same,
                      _grad_enabled=state.grad_enabled.get, _recording=key[2],
                      _state=state.local)
        for g, (_, read, value) in enumerate(cap.guards):
            ebound[f"_r{g}"], ebound[f"_v{g}"] = read, value
        for t, (tensor, data) in enumerate(tensors):
            ebound[f"_T{t}"], ebound[f"_C{t}"] = tensor, data
        entry.run = codegen.make(src, ebound, filename + " match")
        entry.match_source = src

        def call(leaves, program=program, positions=positions):
            return program(*(_plain(leaves[k]) for k in positions))
        entry.call = call
        return entry

    def _first_outputs(self, tracer, outputs):
        """The traced run's own results (the first call is an eager run), owned by the caller."""
        values, tensors = [], []

        def collect(t):
            if isinstance(t, Out):
                v = t.value
                if isinstance(v, Ref):
                    node = tracer.nodes[v.i]
                    arr = tracer.plain[v.i]
                    if node.kind == "input":
                        arr = np.array(arr)
                    if node.shape == () and t.scalar:
                        values.append(arr[()])
                    else:
                        values.append(arr if node.shape != () else np.array(arr))
                elif isinstance(v, Const):
                    c = tracer.consts[v.j]
                    values.append(c.copy() if isinstance(c, np.ndarray) else c)
                else:
                    values.append(v)
                tensors.append(t.tensor)
                return len(values) - 1
            if type(t) in (list, tuple):
                return type(t)(collect(x) for x in t)
            if type(t) is dict:
                return {k: collect(x) for k, x in t.items()}
            if isinstance(t, tuple):
                return type(t)(*(collect(x) for x in t))
            values.append(t)
            tensors.append(False)
            return len(values) - 1
        shape = collect(outputs)
        values = hand_over(values)
        values = [Tensor(v) if tensor else v for v, tensor in zip(values, tensors)]

        def place(t):
            if type(t) is int:
                return values[t]
            if type(t) in (list, tuple):
                return type(t)(place(x) for x in t)
            if type(t) is dict:
                return {k: place(x) for k, x in t.items()}
            return type(t)(*(place(x) for x in t))
        return place(shape)

    # ------------------------------------------------------------------ check
    def _checked(self, entry, args, kwargs, leaves):
        """check=N: compare a program run with an eager run; name the first node that differs."""
        entry.checks_left -= 1
        self._count("checks")
        next(self._hits)
        _eager.depth = getattr(_eager, "depth", 0) + 1
        try:
            expected = self.fn(*args, **kwargs)
        finally:
            _eager.depth -= 1
        got = entry.call(leaves)
        diff = _compare(expected, got)
        if diff is not None:
            why = (f"check: the compiled {self.__name__} differs from eager mode ({diff}); "
                   + self._first_difference(entry, leaves))
            if self.fallback == "eager":
                entry.eager = True
                self._hot = None
                self._warn_eager(why)
                return expected
            raise CheckError("chainrule.compile", message=why,
                             fix="the usual cause is a value computed with plain NumPy from a "
                                 "copy of a traced value (np.asarray(x), np.array(x)), which the "
                                 "trace cannot follow: compute it with chainrule.numpy; or "
                                 "compile with fallback='eager'")
        if entry.checks_left <= 0:
            self._hot = entry.run
        return got

    def _first_difference(self, entry, leaves):
        graph = entry.graph
        if entry.debug is None:
            source, bound, _ = codegen.build(graph, "debug", debug=True)
            entry.debug = codegen.make(source, bound, f"<chainrule.compile debug #{self._id}>")
        mine = entry.debug(*(_plain(leaves[k]) for k in entry.positions))
        tracer = Tracer()
        specs = entry.key[1]
        new = [tracer.input(x.data if isinstance(x, Tensor) else x, p)
               if s[0] in ("a", "T") else x for p, (x, s) in enumerate(zip(leaves, specs))]
        new = [Tensor(v) if s[0] == "T" else v for v, s in zip(new, specs)]
        targs, tkwargs = _rebuild(entry.key[0], iter(new))
        with Recording(tracer), saved.scope():
            self.fn(*targs, **tkwargs)
        if len(tracer.nodes) != len(graph.nodes) or any(
                getattr(a.op, "name", a.op) != getattr(b.op, "name", b.op)
                for a, b in zip(tracer.nodes, graph.nodes)):
            return ("on these inputs the function records a different program: Python control "
                    "flow depends on a value the trace could not see")
        for i in graph.order:
            node = graph.nodes[i]
            if node.kind == "input" or i not in mine:
                continue
            a, b = np.asarray(tracer.plain[i]), np.asarray(mine[i])
            if a.shape != b.shape or a.dtype.kind in "fc" and not _close(a, b) or \
                    a.dtype.kind not in "fc" and not np.array_equal(a, b):
                what = getattr(node.op, "name", node.op)
                role = codegen._role(node)
                return (f"the first value that differs is node v{i} ({what}"
                        f"{', ' + role if role else ''}, shape {node.shape}), from "
                        f"{codegen._where(node.site) or 'an unknown line'}")
        return "every recorded value agrees: the difference is in how the outputs were returned"

    # ---------------------------------------------------------- introspection
    @property
    def source(self):
        """The generated program of the latest trace (None before the first call)."""
        entry = self._last
        if entry is None:
            return None
        if entry.eager:
            return f"# {self.__name__} runs eagerly (fallback='eager'): nothing was compiled\n"
        info = entry.info
        head = (f"# chainrule.compile: {self.__name__}, trace {self._counts['traces']} "
                f"({info.get('reason')}); {info.get('nodes')} values recorded, "
                f"{info.get('lines')} lines, compiled in {info.get('compile_ms', 0):.1f} ms\n"
                "# NumPy's functions are bound by name (tanh = np.tanh, add_reduce = "
                "np.add.reduce); f_<op> is a chainrule primitive's own function\n")
        return head + entry.source

    @property
    def stats(self):
        """Traces, cache hits, evictions, eager calls, checks, and the latest trace's sizes."""
        with self._lock:
            hits = int(repr(self._hits)[6:-1])
            out = dict(self._counts, hits=hits, cache_size=len(self._cache),
                       max_traces=self.max_traces)
            last = self._last
        if last is not None:
            out.update({k: last.info[k] for k in ("nodes", "lines", "trace_ms", "compile_ms")
                        if k in last.info})
        return out

    def clear(self):
        """Forget every program (the next call traces again)."""
        with self._lock:
            for entry in self._cache.values():
                entry.release()
            self._cache.clear()
            self._hot = self._last = None

    def __del__(self):
        try:
            for entry in self._cache.values():
                entry.release()
        except Exception:    # noqa: BLE001 - interpreter shutdown
            pass


def _plain(x):
    return x.data if isinstance(x, Tensor) else x


def _rolled(a):
    """Each entry moved one place on: a new order (never the old one, as a random shuffle of
    a few entries can be), the same values (so still a valid input)."""
    return np.roll(a.reshape(-1), 1).reshape(a.shape)


def _scaled(a):
    """Rolled, and other values of the same signs (integers one larger)."""
    b = _rolled(a)
    return b + 1 if b.dtype.kind in "iu" else (b * 1.375).astype(b.dtype, copy=False)


class _TraceData:
    """What the passes and the code generator read from a finished trace."""

    def __init__(self, tracer, outputs):
        self.nodes, self.consts, self.outputs = tracer.nodes, list(tracer.consts), outputs
        self.inputs = tracer.inputs
        self.const_ids = tracer.const_ids


def _own_constants(bound, reachable):
    """Hold what the program depends on read-only while it lives (as a graph holds what it
    saved): the large constant arrays it uses, and every array the function could read
    besides its arguments (closures, globals, models' attributes, constant Tensors' data).
    A caller's later write then fails loudly instead of leaving the program with a value
    frozen at its trace, even one NumPy derived from such an array while tracing
    (``big.sum()``).  Small constants of the function's own are copied instead."""
    held = list(reachable)
    for name, v in list(bound.items()):
        if type(v) is np.ndarray and v.flags.writeable:
            if v.nbytes <= _COPY_LIMIT:
                c = v.copy()
                c.setflags(write=False)
                bound[name] = c
            else:
                held.append(v)
    return saved.hold(held) if held else None

