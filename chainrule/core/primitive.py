"""Primitives: NumPy functions that know their derivatives.

A primitive wraps one NumPy function.  Calling it on plain values calls NumPy
directly (this is what makes the gradient rules cheap: they are written with
the same primitives, and in a first-order backward pass they receive plain
arrays).  Calling it on Tensors also records the call on the output Tensor
(reverse mode) and pushes tangents through it (forward mode).

Gradient rules live in ``chainrule/ops``, one table per op family:

* ``vjp(argnum, g, ans, *args, **kw)`` -> the gradient for argument ``argnum``
  given the upstream gradient ``g`` and the output ``ans``;
* ``jvp(argnum, t, ans, *args, **kw)`` -> the output tangent caused by the
  tangent ``t`` of argument ``argnum``.

Both may return a result shaped like the broadcast output; the engine sums
or broadcasts it to the right shape and casts it to the right dtype.
"""
from __future__ import annotations

import itertools
import threading

import numpy as np

from . import saved, state
from .errors import ChainruleError, TensorConversionError, op_error
from .tensor import Tensor, has_open_level, needs_grad_now

_ndarray = np.ndarray


class Primitive:
    __slots__ = ("name", "fn", "vjp", "vjps", "jvp", "batch", "differentiable", "formula", "kink",
                 "expects", "bind", "__doc__", "__name__", "__wrapped__")

    def __init__(self, name, fn, differentiable=True, doc=None, expects=None):
        self.name = name
        self.__name__ = name
        self.fn = fn
        self.vjp = None     # vjp(argnum, g, ans, *args, **kw): the rule for any argument
        self.vjps = None    # per-argument rules rule(g, ans, *args, **kw), when defined that way
        self.jvp = None
        self.batch = None   # batch(op, bdims, n, *args, **kw): the call on a batch (core/batching.py)
        self.differentiable = differentiable
        self.formula = None   # argnum -> text of the local derivative, for explain/trace
        self.kink = None      # (args -> mask, subdifferential text, chosen text), for kink reports
        self.expects = expects  # (what valid arguments look like, how to fix them), for errors
        self.bind = None        # (args, kwargs) -> (args, kwargs): NumPy's keyword spellings
        self.__doc__ = doc or getattr(fn, "__doc__", None)
        self.__wrapped__ = fn

    def __setattr__(self, name, value):
        # assigning a whole-op rule replaces any per-argument rules set earlier
        if name == "vjp":
            object.__setattr__(self, "vjps", None)
        object.__setattr__(self, name, value)

    def __repr__(self):
        return f"<chainrule primitive {self.name}>"


def primitive(fn=None, *, name=None, differentiable=True):
    """Decorator: make a NumPy-level function a primitive (rules are attached afterwards)."""
    def wrap(f):
        return Primitive(name or f.__name__, f, differentiable=differentiable)
    return wrap(fn) if fn is not None else wrap


def defvjp(op, *rules, formulas=None):
    """Attach one reverse rule per argument: ``rule(g, ans, *args, **kw)``; None = not differentiable."""
    def vjp(i, g, ans, *args, **kw):
        rule = rules[i] if i < len(rules) else None
        if rule is None:
            raise ChainruleError(op.name, message=f"argument {i} is not differentiable",
                                 fix="pass it as a constant (array or .detach())")
        return rule(g, ans, *args, **kw)
    op.vjp = vjp
    op.vjps = tuple(rules)
    if formulas:
        op.formula = formulas


def defvjp_argnum(op, rule, formulas=None):
    """Attach one reverse rule for all arguments: ``rule(argnum, g, ans, *args, **kw)``."""
    op.vjp = rule
    op.vjps = None
    if formulas:
        op.formula = formulas


def defjvp(op, *rules):
    """Attach one forward rule per argument: ``rule(t, ans, *args, **kw)``."""
    def jvp(i, t, ans, *args, **kw):
        return rules[i](t, ans, *args, **kw)
    op.jvp = jvp


def defjvp_argnum(op, rule):
    op.jvp = rule


def defbatch(op, rule):
    """Attach the batching rule vmap uses: ``rule(op, bdims, n, *args, **kw)`` -> the result for
    the whole batch (batch along axis 0), or NotImplemented for the per-example loop.
    ``bdims[i]`` is 0 for an argument batched along axis 0, None for one that is not (a tuple
    of those for an index).  Helpers for whole families are in core/batching.py."""
    op.batch = rule


# --------------------------------------------------------------------- dispatch
_next_seq = itertools.count(1).__next__
_state = state.local
_recording = state.grad_enabled.get
sequence_to_tensor = None   # set by ops/construction.py: a (nested) list holding Tensors -> Tensor


def apply(op, *args, **kwargs):
    """Call ``op`` on ``args``; record it if any argument is a Tensor that needs gradients.

    This is ``Primitive.__call__``, the hottest function in chainrule: keep it lean.
    """
    if kwargs and op.bind is not None:       # arrays passed by keyword become positional
        args, kwargs = op.bind(args, kwargs)
    raw = None
    parents = None
    forward = False
    i = 0
    for a in args:
        if isinstance(a, Tensor):
            if raw is None:
                raw = list(args)
            raw[i] = a.data
            if a.requires_grad:
                if parents is None:
                    parents = [(i, a)]
                else:
                    parents.append((i, a))
            if a._fw is not None:
                forward = True
        i += 1
    if raw is None:                          # plain NumPy call: the fast path rules rely on
        try:
            return op.fn(*args, **kwargs)
        except TensorConversionError:        # a list holding Tensors reached NumPy
            return _through_sequences(op, args, kwargs)
    try:
        out = op.fn(*raw, **kwargs)
    except TensorConversionError:
        return _through_sequences(op, args, kwargs)
    except (ValueError, TypeError, IndexError) as e:
        raise op_error(op, raw, e) from None
    if type(out) is not _ndarray:
        out = np.asarray(out)
    t = _new(Tensor)
    t.data = out
    t.grad = None
    t._fw = None
    t._retain = False
    t.name = None
    if parents is not None and _recording() and op.differentiable and out.dtype.kind in "fc":
        t.requires_grad = True
        t._op = op
        t._args = args
        t._raw = raw
        t._kw = kwargs
        t._parents = parents
        t._seq = _next_seq()
        n = len(parents)
        if n != i:                          # constants among the arguments: any arrays?
            if i == 2 and n == 1:           # x (op) c, the usual case: inlined
                k = 1 - parents[0][0]
                c = args[k]
                if type(c) is _ndarray and c.nbytes <= _COPY_LIMIT:
                    raw[k] = c = c.copy()   # a small constant: the graph keeps its own copy
                    t._args = (args[0], c) if k else (c, args[1])
                elif type(c) is _ndarray or isinstance(c, Tensor):
                    _protect_constants(t, args)
            else:
                for a in args:
                    if type(a) is _ndarray or isinstance(a, Tensor) and not a.requires_grad:
                        _protect_constants(t, args)
                        break
    else:
        t.requires_grad = False
        t._op = t._args = t._raw = t._kw = t._parents = t._guard = None
        t._seq = 0
    if forward and op.differentiable and out.dtype.kind in "fc":
        _push_tangents(t, op, args, kwargs)
    return t


_new = Tensor.__new__
Primitive.__call__ = apply


# ------------------------------------------------------------ call observers
# Modes that must see every primitive call register hooks here:
#   before(op, args, kwargs) -> result, or NotImplemented to let the call proceed
#       (a mode that computes the call another way, e.g. batching under vmap);
#   after(op, args, kwargs, out) -> out   (anomaly detection's checks, a tracer's record).
# While none is registered, Primitive.__call__ is the plain apply above, so the modes cost
# nothing when no thread uses them.  Each hook checks its own per-thread state.
_before, _after = (), ()
_hooks_lock = threading.Lock()


def _observed_apply(op, *args, **kwargs):
    for hook in _before:
        out = hook(op, args, kwargs)
        if out is not NotImplemented:
            return out
    out = apply(op, *args, **kwargs)
    for hook in _after:
        out = hook(op, args, kwargs, out)
    return out


def add_call_hook(hook, before=False):
    """Register ``hook`` for every primitive call (in every thread: it filters by itself)."""
    global _before, _after
    with _hooks_lock:
        if before:
            _before = _before + (hook,)         # replaced, never mutated: calls iterate a copy
        else:
            _after = _after + (hook,)
        Primitive.__call__ = _observed_apply


def remove_call_hook(hook):
    global _before, _after
    with _hooks_lock:
        _before = tuple(h for h in _before if h is not hook)
        _after = tuple(h for h in _after if h is not hook)
        Primitive.__call__ = _observed_apply if _before or _after else apply


_COPY_LIMIT = 1 << 14       # bytes: smaller constants are copied, larger ones held read-only


def _protect_constants(t, args):
    """Keep the constants a new node saved safe from the caller's later writes.

    The backward pass reads them again, so ``c[0] = 100`` between ``y = x * c`` and
    ``y.backward()`` must not change the gradient.  A small array is copied (cheaper than
    tracking it); a large one, or a constant Tensor's data, is made read-only until the node
    is freed (core/saved.py), so the write fails loudly instead.
    """
    held, copied = None, None
    for k, a in enumerate(args):
        if type(a) is _ndarray:
            if a.nbytes <= _COPY_LIMIT:
                if copied is None:
                    copied = list(args)
                copied[k] = t._raw[k] = a.copy()
                continue
        elif isinstance(a, Tensor) and not a.requires_grad:
            a = a.data
        else:
            continue
        if held is None:
            held = [a]
        else:
            held.append(a)
    if copied is not None:
        t._args = tuple(copied)
    t._guard = None if held is None else saved.hold(held)


def _holds_active(obj):
    if isinstance(obj, Tensor):
        return needs_grad_now(obj)
    return isinstance(obj, (list, tuple)) and any(_holds_active(o) for o in obj)


def _through_sequences(op, args, kwargs):
    """Retry ``op`` with each (nested) list or tuple holding Tensors stacked into one Tensor.

    NumPy would have turned the list into a plain array, dropping the gradients of the
    Tensors inside; stacked first, they stay on the tape.  Only reached when that
    conversion was refused, so it costs nothing on the usual path.
    """
    new = [sequence_to_tensor(a) if type(a) in (list, tuple) and _holds_active(a) else a
           for a in args]
    if any(n is not a for n, a in zip(new, args)):
        return op(*new, **kwargs)           # through the call hooks: vmap may batch it
    where = next((f"keyword argument {k}=" for k, v in kwargs.items() if _holds_active(v)), None)
    raise TensorConversionError(
        op.name, message="a Tensor that needs gradients reached NumPy where chainrule cannot "
                         "follow it" + (f" (as {where})" if where else ""),
        expected="Tensors as positional arguments (alone, or in lists of arrays)",
        actual=where or "a Tensor hidden inside another kind of object",
        fix="pass the Tensor positionally (the chainrule.numpy function takes NumPy's names "
            "positionally too), or pass t.detach() if it should be a constant")


# ------------------------------------------------------------------ forward mode
def _push_tangents(out, op, args, kwargs):
    """Give ``out`` a tangent for every jvp level found on the arguments.

    The tangent at level k is computed from arguments stripped of levels >= k,
    so inner levels never leak into outer tangents (no perturbation confusion),
    while lower levels and the reverse-mode tape flow through the rule itself.
    """
    levels = set()
    for a in args:
        if isinstance(a, Tensor) and a._fw is not None:
            levels.update(a._fw)
    levels.intersection_update(_state.levels)   # tangents of finished (or other threads') jvps are inert
    if not levels:
        return
    if op.jvp is None:
        raise ChainruleError(op.name, message="has no forward-mode (jvp) rule",
                             fix="use reverse mode (grad/vjp) for this operation")
    tangents = {}
    for k in sorted(levels):
        sargs = [strip_levels(a, k) for a in args]
        if any(isinstance(a, Tensor) and (a.requires_grad or has_open_level(a)) for a in sargs):
            # the output as seen below level k: the same value and tape link, with the
            # tangents of the outer levels computed so far (no recomputation of the op)
            ans = alias(out, {j: tangents[j] for j in tangents if j < k} or None)
        else:
            ans = out.data
            sargs = [a.data if isinstance(a, Tensor) else a for a in sargs]
        tan = None
        for i, a in enumerate(args):
            if isinstance(a, Tensor) and a._fw is not None and k in a._fw:
                term = op.jvp(i, a._fw[k], ans, *sargs, **kwargs)
                tan = term if tan is None else tan + term
        if tan is not None:
            tangents[k] = fit_tangent(tan, out)
    out._fw = tangents or None


def strip_levels(a, k):
    """``a`` without the tangents of levels >= k (an alias that stays on the tape)."""
    if not isinstance(a, Tensor) or a._fw is None or max(a._fw) < k:
        return a
    kept = {j: t for j, t in a._fw.items() if j < k}
    return alias(a, kept or None)


def alias(a, fw):
    """A new Tensor with ``a``'s value, linked to ``a`` on the tape, carrying tangents ``fw``."""
    t = Tensor.__new__(Tensor)
    t.data = a.data
    t.grad = None
    t._retain = False
    t.name = a.name
    t._fw = fw
    t._guard = None
    if a.requires_grad and _recording():
        t.requires_grad = True
        t._op = identity
        t._args = (a,)
        t._raw = [a.data]
        t._kw = {}
        t._parents = [(0, a)]
        t._seq = _next_seq()
    else:
        t.requires_grad = False
        t._op = t._args = t._raw = t._kw = t._parents = None
        t._seq = 0
    return t


def fit_tangent(tan, out):
    shape = out.data.shape
    if _shape(tan) != shape:
        tan = broadcast_to(tan, shape)
    if _dtype(tan) != out.data.dtype:
        tan = astype(tan, out.data.dtype)
    return tan


def fit_grad(g, a):
    """Sum a broadcast gradient back to ``a``'s shape and give it ``a``'s dtype."""
    shape = a.data.shape
    if _shape(g) != shape:
        g = sum_to(g, shape)
    if _dtype(g) != a.data.dtype:
        g = astype(g, a.data.dtype)
    return g


def _shape(x):
    return x.shape if isinstance(x, (_ndarray, Tensor)) else np.shape(x)


def _dtype(x):
    return x.dtype if isinstance(x, (_ndarray, Tensor)) else np.asarray(x).dtype


# ------------------------------------- the primitives the engine itself needs
def _astype(x, dtype):
    """A cast; complex to real keeps the real part (as a real input's cotangent is), silently."""
    x = np.asarray(x)
    if x.dtype.kind == "c" and np.dtype(dtype).kind != "c":
        x = x.real
    return x.astype(dtype)


def _sum_to(x, shape):
    """Sum ``x`` over the axes that broadcasting added or stretched, giving ``shape``."""
    x = np.asarray(x)
    if x.shape == shape:
        return x
    lead = x.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        i + lead for i, n in enumerate(shape) if n == 1 and x.shape[i + lead] != 1)
    r = x.sum(axis=axes, keepdims=True) if axes else x
    if lead:
        r = r.reshape(r.shape[lead:])
    return r.reshape(shape)


identity = Primitive("identity", lambda x: x)
sum_to = Primitive("sum_to", _sum_to)
broadcast_to = Primitive("broadcast_to", lambda x, shape: np.broadcast_to(x, shape))
astype = Primitive("astype", lambda x, dtype: _astype(x, dtype))
# complex conjugation: the engine hands Tensor.backward()'s gradients over in PyTorch's
# convention (the conjugate of the JAX-convention cotangent the rules compute; docs/autodiff.md)
conj = Primitive("conjugate", np.conjugate)

defvjp(identity, lambda g, ans, x: g)
defjvp(identity, lambda t, ans, x: t)
defvjp(sum_to, lambda g, ans, x, shape: broadcast_to(g, _shape(x)))
defjvp(sum_to, lambda t, ans, x, shape: sum_to(t, shape))
defvjp(broadcast_to, lambda g, ans, x, shape: sum_to(g, _shape(x)))
defjvp(broadcast_to, lambda t, ans, x, shape: broadcast_to(t, shape))
defvjp(astype, lambda g, ans, x, dtype: astype(g, _dtype(x)))
defjvp(astype, lambda t, ans, x, dtype: astype(t, dtype))
defvjp(conj, lambda g, ans, x, **kw: conj(g))   # conj is R-linear: its transpose is itself
defjvp(conj, lambda t, ans, x, **kw: conj(t))
