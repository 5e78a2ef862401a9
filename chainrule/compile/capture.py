"""What a function reads besides its arguments: Python constants, random generators, models.

A trace reads closure variables and globals once; if one of them is a Python number (a
learning rate, a flag), a later call must not silently use the old value, so their values
become guards checked on every call (a change re-traces).  Random generators reachable from
the function (including NumPy's and Python's global ones, and a model's dropout generator)
must not be drawn from while tracing: the draws would be frozen into the program.  Tensors
that require grad and are reachable (a model's parameters) must be passed as arguments.

The walk follows closures, the globals a function's code names, ``functools.partial``,
bound methods, ``__wrapped__`` chains and chainrule Modules, with a bound on how much it visits.
"""
from __future__ import annotations

import functools
import random as _pyrandom
import threading
import types

import numpy as np

from ..core.tensor import Tensor

_SCALARS = (int, float, bool, complex, str, bytes, type(None), np.generic)
_LIMIT = 2000


def _is_scalar(v):
    if isinstance(v, _SCALARS):
        return True
    return type(v) is tuple and len(v) <= 16 and all(isinstance(x, _SCALARS) for x in v)


def _names(code):
    """Global names a code object (and the functions defined inside it) may read."""
    out = set(code.co_names)
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            out |= _names(c)
    return out


def _internal(obj):
    return (getattr(obj, "__module__", None) or "").startswith(("chainrule", "numpy"))


class Captured:
    """The outside state a function can read (see the module docstring)."""

    def __init__(self):
        self.guards = []       # (description, read(), value): re-trace when read() != value
        self.generators = []   # numpy Generators / RandomStates reachable from the function
        self.external = set()  # ids of reachable Tensors that require grad
        self.modules = []      # reachable chainrule Modules (their .training flags are guarded)
        self.arrays = []       # reachable arrays (and constant Tensors' data): held read-only


def scan(fn, also=()):
    """What ``fn`` (and the objects in ``also``, e.g. a model passed as an argument) reach."""
    from ..nn.module import Module
    cap, seen, stack = Captured(), set(), [fn, *also]
    while stack and len(seen) < _LIMIT:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, types.FunctionType):
            _function(obj, cap, stack)
        elif isinstance(obj, functools.partial):
            stack.append(obj.func)
            stack.extend(obj.args)
            stack.extend(obj.keywords.values())
        elif isinstance(obj, types.MethodType):
            stack.extend((obj.__func__, obj.__self__))
        elif isinstance(obj, Tensor):
            if obj.requires_grad:
                cap.external.add(id(obj))
            elif type(obj.data) is np.ndarray:
                cap.arrays.append(obj.data)
        elif isinstance(obj, (np.random.Generator, np.random.RandomState)):
            cap.generators.append(obj)
        elif isinstance(obj, Module):
            cap.modules.append(obj)
            cap.guards.append((f"{type(obj).__name__}.training",
                               functools.partial(getattr, obj, "training"), obj.training))
            _array_guards(obj.__dict__, f"attribute of {type(obj).__name__}", cap)
            stack.extend(obj.__dict__.values())
        elif isinstance(obj, (list, tuple, set, frozenset)) and len(obj) <= 256:
            stack.extend(obj)
        elif isinstance(obj, dict) and len(obj) <= 256:
            _array_guards(obj, "entry", cap)
            stack.extend(obj.values())
        elif type(obj) is np.ndarray:
            cap.arrays.append(obj)
        elif isinstance(obj, (types.ModuleType, type, np.ndarray)) or _is_scalar(obj):
            continue
        elif hasattr(obj, "__dict__") and callable(obj) and not _internal(type(obj)):
            _array_guards(vars(obj), f"attribute of {type(obj).__name__}", cap)
            stack.extend(vars(obj).values())          # a callable object: its attributes
        if hasattr(obj, "__wrapped__") and not isinstance(obj, type):
            stack.append(obj.__wrapped__)
    return cap


def _function(f, cap, stack):
    code, internal = f.__code__, _internal(f)
    for name, cell in zip(code.co_freevars, f.__closure__ or ()):
        try:
            v = cell.cell_contents
        except ValueError:            # not yet assigned
            continue
        if _is_scalar(v) or (type(v) is np.ndarray and not internal):
            if not internal:         # (an array: the same object, see _array_guards)
                cap.guards.append((f"closure variable {name!r} of {f.__qualname__}",
                                   _cell_reader(cell), v))
        if not _is_scalar(v):
            stack.append(v)
    if internal:
        return
    g = f.__globals__
    for name in sorted(_names(code)):
        if name in g:
            v = g[name]
            if _is_scalar(v) or type(v) is np.ndarray:
                cap.guards.append((f"global {name!r} (module {g.get('__name__')})",
                                   functools.partial(g.get, name, _MISSING), v))
            if not _is_scalar(v):
                stack.append(v)


_MISSING = object()


def _array_guards(d, what, cap):
    """Arrays a function reaches through ``d`` (a dict, an object's attributes) are guarded by
    identity: one replaced by another array traces again.  (Writes into them cannot happen
    while the program lives: the arrays are held read-only, see ``Captured.arrays``.)"""
    for k, v in list(d.items())[:256]:
        if type(v) is np.ndarray:
            cap.guards.append((f"{what} {k!r}", functools.partial(d.get, k, _MISSING), v))


def _cell_reader(cell):
    def read():
        try:
            return cell.cell_contents
        except ValueError:
            return _MISSING
    return read


def same(a, b):
    """Equality for guard values: the same object, or equal values of the same type."""
    if a is b:
        return True
    if type(a) is not type(b) or type(a) is np.ndarray:     # arrays: by identity
        return False
    try:
        return bool(a == b)
    except Exception:            # noqa: BLE001 - incomparable objects count as changed
        return False


# ---------------------------------------------------------------- random state
def random_states(cap):
    """Snapshot of every random state the function could draw from without saying so.

    The module-level functions are refused at their line while a thread traces (below); the
    global states are compared too, for functions imported before (``from numpy.random import
    rand``), but only while no other thread runs, since another thread may draw from them."""
    states = []
    if threading.active_count() == 1:
        states += [("NumPy's global generator (np.random.*)", np.random.mtrand._rand,
                    np.random.mtrand._rand.get_state(legacy=False)),
                   ("Python's random module", _pyrandom, _pyrandom.getstate())]
    for g in cap.generators:
        if isinstance(g, np.random.Generator):
            states.append((f"the Generator {g!r} captured by the function", g,
                           g.bit_generator.state))
        else:
            states.append((f"the RandomState {g!r} captured by the function", g,
                           g.get_state(legacy=False)))
    return states


def changed_random(states):
    """The description of the first random state that changed since ``random_states``."""
    for what, obj, before in states:
        if obj is _pyrandom:
            now = _pyrandom.getstate()
        elif isinstance(obj, np.random.Generator):
            now = obj.bit_generator.state
        else:
            now = obj.get_state(legacy=False)
        if not _equal_state(before, now):
            return what
    return None


def _equal_state(a, b):
    if type(a) is tuple and type(b) is tuple:
        try:
            return bool(a == b)
        except ValueError:          # arrays inside: compare element by element
            pass
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and \
            all(_equal_state(a[k], b[k]) for k in a)
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.array_equal(a, b)
    if isinstance(a, (tuple, list)):
        return type(a) is type(b) and len(a) == len(b) and \
            all(_equal_state(x, y) for x, y in zip(a, b))
    return a == b


# ------------------------------------------------ draws from global generators
# While a thread traces, NumPy's and Python's module-level random functions raise at the line
# that calls them (in other threads they behave as always): their numbers would be frozen.
_NP_DRAWS = ("rand", "randn", "random", "random_sample", "ranf", "sample", "normal", "uniform",
             "randint", "random_integers", "choice", "shuffle", "permutation", "binomial",
             "poisson", "exponential", "beta", "gamma", "standard_normal", "multivariate_normal",
             "laplace", "lognormal", "geometric", "dirichlet", "multinomial", "seed", "bytes",
             "standard_exponential", "standard_gamma", "standard_t", "triangular", "weibull")
_PY_DRAWS = ("random", "uniform", "gauss", "normalvariate", "randint", "choice", "choices",
             "shuffle", "sample", "randrange", "getrandbits", "betavariate", "expovariate",
             "triangular", "lognormvariate", "gammavariate", "paretovariate", "weibullvariate",
             "vonmisesvariate", "seed")
_patch_users = 0
_patch_lock = threading.Lock()
_originals = []


def _tracing():
    from .traced import active
    return active() is not None


def _refuse_draw(what):
    from .traced import refuse
    refuse(f"{what} draws random numbers from a global generator while the function is traced: "
           "they would be frozen into the program", expected="a numpy.random.Generator passed "
           "as an argument (each call then draws new numbers)",
           fix="pass rng = np.random.default_rng(seed) as an argument and draw from it, or "
               "compile with fallback='eager'")


def _guard_draw(module, label, name, original):
    @functools.wraps(original)
    def draw(*args, **kwargs):
        if _tracing():
            _refuse_draw(f"{label}.{name}")
        return original(*args, **kwargs)
    return draw


def _guard_default_rng(original):
    @functools.wraps(original)
    def default_rng(seed=None, *args, **kwargs):
        if seed is None and _tracing():
            from .traced import refuse
            refuse("np.random.default_rng() without a seed, inside a traced function, would "
                   "freeze its numbers into the program", expected="a generator passed as an "
                   "argument, or seeded from an argument", fix="create the generator outside "
                   "and pass it in (rng = np.random.default_rng(seed); f(x, rng))")
        return original(seed, *args, **kwargs)
    return default_rng


class hidden_random_refused:
    """``with hidden_random_refused():`` (the tracing thread) draws from global generators raise."""

    def __enter__(self):
        global _patch_users
        with _patch_lock:
            _patch_users += 1
            if _patch_users == 1:
                for module, label, names in ((np.random, "np.random", _NP_DRAWS),
                                             (_pyrandom, "random", _PY_DRAWS)):
                    for name in names:
                        original = getattr(module, name, None)
                        if original is not None:
                            _originals.append((module, name, original))
                            setattr(module, name, _guard_draw(module, label, name, original))
                _originals.append((np.random, "default_rng", np.random.default_rng))
                np.random.default_rng = _guard_default_rng(np.random.default_rng)
        return self

    def __exit__(self, *exc):
        global _patch_users
        with _patch_lock:
            _patch_users -= 1
            if _patch_users == 0:
                while _originals:
                    module, name, original = _originals.pop()
                    setattr(module, name, original)
        return False


def defined_at(fn):
    """(file, line, name) where the innermost user function behind ``fn`` is defined."""
    f = fn
    for _ in range(8):
        inner = getattr(f, "__wrapped__", None) or getattr(f, "func", None)
        if inner is None:
            break
        f = inner
    code = getattr(f, "__code__", None)
    if code is None:
        return None
    return code.co_filename, code.co_firstlineno, code.co_name
