"""The values a trace runs on, and the refusals that name the user's line.

While ``chainrule.compile`` records a function, every value computed from its inputs is a
``TracedArray``: a real ndarray (so NumPy code runs and shapes are known) that remembers
which node of the program made it.  Operations on it outside chainrule's own primitives are
routed through ``chainrule.numpy`` (so ``x.data * 2`` or ``np.exp(x)`` are recorded too), and
everything that would turn it into a Python value (``bool``, ``float``, ``.item()``: control
flow the program could not replay) raises a ``TraceError`` naming the line that did it.

An array computed from a traced value by a NumPy path that bypasses these hooks carries no
node (an "orphan"); the tracer refuses it where it is used, instead of freezing its value.
"""
from __future__ import annotations

import linecache
import sys
import threading

import numpy as np

from ..core.errors import TraceError, TracedConversionError

_local = threading.local()          # .tracer: the Tracer recording in this thread, if any

# Frames of these modules are never "the user's line".
_INTERNAL = ("chainrule", "numpy", "contextlib", "functools", "threading", "concurrent")


def current():
    """The tracer recording in this thread, or None."""
    return getattr(_local, "tracer", None)


def active():
    """The tracer recording in this thread, unless it is inside a primitive's own NumPy code."""
    tr = getattr(_local, "tracer", None)
    return tr if tr is not None and not tr.depth else None


def user_site(depth=1):
    """(filename, line, function) of the innermost frame outside chainrule and NumPy."""
    f = sys._getframe(depth)
    while f is not None:
        mod = f.f_globals.get("__name__", "") or ""
        if not mod.startswith(_INTERNAL):
            return f.f_code.co_filename, f.f_lineno, f.f_code.co_name
        f = f.f_back
    return None


def describe_site(site):
    if site is None:
        return "an unknown line"
    file, line, func = site
    text = linecache.getline(file, line).strip()
    return f"{file}:{line} in {func}" + (f": {text}" if text else "")


def refuse(message, expected, fix, actual=None, op="chainrule.compile", cls=TraceError, site=None):
    """Raise ``cls`` naming the user's line (found now unless given)."""
    site = site or user_site(2)
    raise cls(op, message=f"{message} (at {describe_site(site)})", expected=expected,
              actual=actual, fix=fix)


_CONTROL_FIX = ("keep the decision inside the program with chainrule.numpy (cnp.where(cond, a, b), "
                "cnp.maximum, ...), pass the value that decides as a Python number (it becomes "
                "part of the trace's key), or compile with fallback='eager'")


def _describe(a):
    return f"a traced value of shape {a.shape} {a.dtype}"


def _plain(a):
    return np.ndarray.view(a, np.ndarray)


class TracedArray(np.ndarray):
    """An ndarray whose value chainrule.compile is recording (see the module docstring)."""

    _chainrule_traced = True      # read by core/tensor.py: conversions of such Tensors refuse
    _node = None                   # index of the program node that computes it (None: orphan)
    _scalar = False                # eager mode would have had a NumPy scalar here

    # ------------------------------------------------------------- NumPy's protocols
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        tr = active()
        if tr is None:
            return _plain_call(getattr(ufunc, method), inputs, kwargs)
        return tr.route_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        tr = active()
        if tr is None:
            return _plain_call(func, args, kwargs)
        if func in (np.array2string, np.array_repr, np.array_str):
            return repr(self)
        return tr.route_function(func, args, kwargs)

    # ------------------------------------------- values the program could not replay
    def _refuse_decision(self, op, why):
        """chainrule's ``op`` decides from this value's entries (``why``): refuse."""
        refuse(f"{op}: {why}, and a compiled program would replay the decision of the trace "
               "for every later input", expected="work whose shapes and picks do not depend "
               "on the traced values", actual=_describe(self),
               fix="run this function eagerly (leave it uncompiled, or compile with "
                   "fallback='eager'), or make the deciding values constants of the trace")

    def _refuse(self, op):
        """Raise the error for turning this traced value into a plain one (``op``: how)."""
        if op in ("bool", "float", "int", "complex", "index", "item", "tolist", "format"):
            what = {"bool": "bool(t) (an if/while on a traced value, or and/or/not)",
                    "float": "float(t)", "int": "int(t)", "complex": "complex(t)",
                    "index": "using a traced value as a Python index or size",
                    "item": "t.item()", "tolist": "t.tolist()",
                    "format": "formatting a traced value as a number"}[op]
            refuse(f"{what} needs the value, which is only known when the compiled program "
                   "runs: Python control flow on a traced value cannot be replayed",
                   expected="decisions made with chainrule operations, or on Python numbers",
                   actual=_describe(self), fix=_CONTROL_FIX, cls=TracedConversionError,
                   op=f"chainrule.compile ({op})")
        refuse("a traced value cannot become a plain NumPy array: its value would be frozen "
               "into the compiled program (the next call's inputs would be ignored)",
               expected="chainrule.numpy functions on traced values",
               actual=f"{op} of {_describe(self)}",
               fix="call the chainrule.numpy function instead (cnp.<name>), or compile with "
                   "fallback='eager' to run this function as it is",
               cls=TracedConversionError, op=f"chainrule.compile ({op})")

    def _watch(self, op, method, *args):
        if active() is None:
            return getattr(np.ndarray, method)(_plain(self), *args)
        self._refuse(op)

    def __bool__(self):
        return self._watch("bool", "__bool__")

    def __float__(self):
        return self._watch("float", "__float__")

    def __int__(self):
        return self._watch("int", "__int__")

    def __complex__(self):
        return self._watch("complex", "__complex__")

    def __index__(self):
        return self._watch("index", "__index__")

    def item(self, *args):
        return self._watch("item", "item", *args)

    def tolist(self):
        return self._watch("tolist", "tolist")

    def tobytes(self, order="C"):
        return self._watch("tobytes", "tobytes", order)

    def __format__(self, spec):
        if active() is None:
            return format(_plain(self), spec)
        if not spec:
            return repr(self)
        self._refuse("format")

    def __reduce_ex__(self, protocol):
        if active() is None:
            return _plain(self).__reduce_ex__(protocol)
        self._refuse("pickle")

    def __repr__(self):
        if current() is None:
            return repr(_plain(self))
        return f"traced(shape={self.shape}, dtype={self.dtype})"

    __str__ = __repr__

    # ---------------------------------------------------------------- in-place writes
    def __setitem__(self, index, value):
        tr = active()
        if tr is None:
            return np.ndarray.__setitem__(_plain(self), index, value)
        tr.assign(self, index, value)

    def _no_write(name):
        def method(self, *args, **kwargs):
            tr = active()
            if tr is None:
                return getattr(np.ndarray, name)(_plain(self), *args, **kwargs)
            tr.refuse_write(self, f"t.{name}(...)")
        method.__name__ = name
        return method

    fill, sort, put, partition, resize, itemset, setfield, byteswap = map(_no_write, (
        "fill", "sort", "put", "partition", "resize", "itemset", "setfield", "byteswap"))
    del _no_write

    # ------------------------------------------ methods, recorded through chainrule.numpy
    def _route(name, adapt=None):
        def method(self, *args, **kwargs):
            tr = active()
            if tr is None:
                return getattr(np.ndarray, name)(_plain(self), *args, **kwargs)
            if adapt is not None:
                args, kwargs = adapt(*args, **kwargs)
            return tr.route_method(name, self, args, kwargs)
        method.__name__ = name
        return method

    def _shape_args(*shape, order="C"):
        return ((shape[0] if len(shape) == 1 else shape),), ({"order": order} if order != "C" else {})

    def _axes_args(*axes):
        return ((axes[0] if len(axes) == 1 and not isinstance(axes[0], int) else axes) or None,), {}

    reshape = _route("reshape", _shape_args)
    transpose = _route("transpose", _axes_args)
    (swapaxes, sum, mean, prod, max, min, std, var, all, any, argmax, argmin, cumsum, cumprod,
     clip, round, dot, argsort, squeeze, repeat, trace, diagonal, nonzero, conj, conjugate,
     take, compress, searchsorted, ptp, choose) = map(_route, (
        "swapaxes", "sum", "mean", "prod", "max", "min", "std", "var", "all", "any", "argmax",
        "argmin", "cumsum", "cumprod", "clip", "round", "dot", "argsort", "squeeze", "repeat",
        "trace", "diagonal", "nonzero", "conj", "conjugate", "take", "compress", "searchsorted",
        "ptp", "choose"))
    ravel = flatten = _route("ravel", lambda order="C": ((), {}))
    astype = _route("astype", lambda dtype, order="K", casting="unsafe", subok=True, copy=True:
                    ((dtype,), {}))
    del _route, _shape_args, _axes_args

    def __getitem__(self, index):
        tr = active()
        if tr is None:
            return np.ndarray.__getitem__(_plain(self), index)
        return tr.route_method("getitem", self, (index,), {})

    def __iter__(self):
        if active() is None:
            yield from _plain(self)
            return
        if not self.ndim:
            raise TypeError("iteration over a 0-d array")
        for i in range(self.shape[0]):
            yield self[i]

    @property
    def T(self):
        tr = active()
        if tr is None:
            return _plain(self).T
        return tr.route_method("transpose", self, (), {})

    @property
    def mT(self):
        tr = active()
        if tr is None:
            return _plain(self).mT
        return tr.route_method("swapaxes", self, (-1, -2), {})

    def copy(self, order="K"):
        tr = active()
        if tr is None:
            return _plain(self).copy(order)
        return tr.same_value(self)          # values in a program never change: one node

    __copy__ = copy

    def __deepcopy__(self, memo):
        return self.copy()


def _plain_call(fn, args, kwargs):
    """``fn`` on the plain arrays behind any TracedArrays (inside a primitive, or after a trace)."""
    return fn(*unwrap(args), **unwrap(kwargs))


def unwrap(x):
    """``x`` with every TracedArray (inside lists, tuples, dicts too) as a plain ndarray view."""
    t = type(x)
    if t is TracedArray:
        return _plain(x)
    if t is tuple or t is list:
        if any(type(v) is TracedArray or type(v) in (tuple, list, dict) for v in x):
            return t(unwrap(v) for v in x)
        return x
    if t is dict:
        return {k: unwrap(v) for k, v in x.items()}
    return x


class TracedGenerator:
    """A ``numpy.random.Generator`` passed to the compiled function: each draw is a node of the
    program, made by the generator passed to that call (so new calls draw new numbers)."""

    _DRAWS = ("random", "standard_normal", "normal", "uniform", "integers", "binomial",
              "poisson", "exponential", "standard_exponential", "gamma", "beta", "choice",
              "permutation", "bernoulli", "laplace", "logistic", "lognormal", "multinomial",
              "standard_t", "standard_gamma", "triangular", "geometric", "dirichlet",
              "multivariate_normal", "chisquare", "standard_cauchy", "rayleigh", "weibull")

    def __init__(self, tracer, generator, node):
        self._tracer, self._generator, self._node = tracer, generator, node

    def __getattr__(self, name):
        if name in self._DRAWS:
            def draw(*args, **kwargs):
                return self._tracer.draw(self, name, args, kwargs)
            draw.__name__ = name
            return draw
        if name in ("shuffle", "permuted", "bit_generator", "spawn", "__getstate__"):
            refuse(f"Generator.{name} cannot be recorded", expected="draws that return new arrays "
                   "(random, normal, permutation, ...)", fix="draw with one of those, or compile "
                   "with fallback='eager'")
        raise AttributeError(name)

    def __repr__(self):
        return f"traced({self._generator!r})"
