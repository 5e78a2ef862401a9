"""Batching: how ``vmap`` runs code written for one example on a whole batch in one pass.

Inside ``vmap`` a batched value is a ``BatchedTensor``: it stands for one example (its
``shape`` is an example's shape) while ``_inner`` holds the whole batch, the batch along
axis 0.  Each running ``vmap`` has a level (a number from the same counter as ``jvp``'s);
nested ``vmap`` calls nest their wrappers, lowest level innermost, so the innermost value
(an ndarray or an ordinary Tensor) carries every batch axis in front, in level order.

A ``before`` call hook (core/primitive.py) sees every primitive call while some thread runs
a ``vmap``.  A call with a batched argument is rewritten by the primitive's *batching rule*
(``defbatch``; the rules live beside the vjp/jvp rules in chainrule/ops) into an ordinary
call on the batched arrays, whose result is wrapped again.  The tape therefore records
ordinary operations on the batched arrays ("tape coordinates"), so the backward pass, the
forward-mode tangents and every rule compose with ``vmap`` unchanged; only the transforms'
boundaries translate between one example's view and the tape (``relayout``).  A primitive
without a batching rule runs once per example (a Python loop) with a one-time warning.

Tangents and cotangents may be batched at levels their primal is not (``jacfwd`` pushes a
batch of tangents through one unbatched forward pass; ``jacrev`` pulls a batch of
cotangents back through one backward pass): there the rules themselves, written with
primitives, are batched by the same hook.
"""
from __future__ import annotations

import functools
import math
import threading
import warnings

import numpy as np

from . import state
from .errors import ChainruleError, ChainruleTypeError, ChainruleWarning, TensorConversionError
from .primitive import Primitive, _dtype, _shape, add_call_hook, defjvp, defvjp, \
    remove_call_hook
from . import primitive as _primitive
from .primitive import apply as _apply
from .tensor import Tensor


# ------------------------------------------------------------- the batched value
class BatchedValueError(TensorConversionError):
    """A batched value was asked for its values (one array for every example)."""


def _no_values(self, *args, **kwargs):
    raise BatchedValueError(
        "vmap", message="inside vmap a value stands for every example of the batch at once, "
                        "so it has no single array or number",
        expected="chainrule / NumPy functions applied to it (they run on the whole batch)",
        actual=f"a batched value of per-example shape {self.shape}",
        fix="compute with chainrule.numpy functions; for a data-dependent choice use "
            "cnp.where instead of `if`; return the value from the function to get the batch")


class BatchedTensor(Tensor):
    """One example's view of a batch: ``_inner`` holds all examples along axis 0."""
    __slots__ = ("_level", "_inner")

    # the Tensor slots a graph node uses: a batched value is never itself a node
    grad = None
    _op = _args = _raw = _kw = _parents = _guard = _site = name = None
    _seq = 0
    _retain = False

    requires_grad = property(lambda self: getattr(core(self), "requires_grad", False))
    _fw = property(lambda self: getattr(core(self), "_fw", None))
    data = property(_no_values, doc="not available inside vmap (see BatchedTensor)")
    shape = property(lambda self: _shape(self._inner)[1:])
    dtype = property(lambda self: _dtype(self._inner))
    ndim = property(lambda self: len(self.shape))
    size = property(lambda self: math.prod(self.shape))
    flags = property(_no_values)
    item = tolist = numpy = __array__ = __dlpack__ = __buffer__ = _no_values
    __float__ = __complex__ = __int__ = __bool__ = __index__ = _no_values

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __len__(self):
        shape = self.shape
        if not shape:
            raise TypeError("len() of unsized object (a 0-d value inside vmap)")
        return shape[0]

    def __repr__(self):
        n = _shape(self._inner)[0]
        return f"<batched value inside vmap: {n} examples of shape {self.shape}, {self.dtype}>"

    def detach(self):
        return _wrap1(self._level, _detach(self._inner))

    def requires_grad_(self, flag=True):
        raise ChainruleError("requires_grad_", message="a batched value inside vmap is not a leaf",
                             fix="differentiate with cr.grad inside the vmapped function")

    def retain_grad(self):
        self.requires_grad_()

    def backward(self, *args, **kwargs):
        raise ChainruleError(
            "backward", message="Tensor.backward() of a batched value inside vmap would add "
                                "the examples' gradients into shared .grad attributes",
            expected="a function transform inside vmap",
            actual=f"a batched value of per-example shape {self.shape}",
            fix="use cr.grad (or cr.vjp) inside the vmapped function: "
                "cr.vmap(cr.grad(loss), in_axes=(None, 0, 0))(w, X, y) gives per-example gradients")

    def register_hook(self, fn):
        raise ChainruleError("register_hook", message="hooks on batched values inside vmap are "
                             "not supported", fix="register the hook outside vmap")

    def __setitem__(self, index, value):
        raise ChainruleTypeError(
            "Tensor.__setitem__", message="in-place assignment into a batched value inside vmap",
            expected="a new value", actual="assignment into a batched value",
            fix="build a new value, e.g. cnp.where(mask, value, x) or cnp.concatenate")


_new = object.__new__


def _wrap1(level, inner):
    b = _new(BatchedTensor)
    b._level = level
    b._inner = inner
    return b


def _detach(v):
    if type(v) is BatchedTensor:
        return v.detach()
    return Tensor(v.data) if isinstance(v, Tensor) else v


def core(v):
    """The innermost value behind ``v``: an ndarray or Tensor in tape coordinates."""
    while type(v) is BatchedTensor:
        v = v._inner
    return v


def unwrap(v):
    """(levels, innermost value): the levels ascending, as the innermost value's leading axes."""
    levels = []
    while type(v) is BatchedTensor:
        levels.append(v._level)
        v = v._inner
    levels.reverse()
    return tuple(levels), v


def wrap(u, levels):
    """Wrap ``u`` (leading axes = ``levels``, ascending) as one example's view."""
    for level in levels:
        u = _wrap1(level, u)
    return u


def levels_of(v):
    return unwrap(v)[0]


def is_batched(v):
    return type(v) is BatchedTensor


def values(x):
    """The values behind ``x`` for checks that look at every element (all examples at once
    inside vmap): NumPy's array, never a differentiable value."""
    x = core(x)
    return np.asarray(x.data if isinstance(x, Tensor) else x)


def map_core(fn, v):
    """``v`` with its innermost value replaced by ``fn(innermost)``, the levels kept."""
    levels, u = unwrap(v)
    return wrap(fn(u), levels) if levels else fn(u)


# --------------------------------------------------------------- per-thread levels
_sizes = {}                  # level -> batch size, while that vmap runs


def push_level(size, private=False):
    """Open a vmap level in this thread (``private``: only tangents/cotangents are batched)."""
    level = state.new_level_id()
    state.local.vmaps.append((level, size, private))
    _sizes[level] = size
    return level


def pop_level(level):
    vm = state.local.vmaps
    for i in range(len(vm) - 1, -1, -1):
        if vm[i][0] == level:
            del vm[i]
            break
    _sizes.pop(level, None)


def public_levels():
    """The levels of the user's vmaps running in this thread (outermost first)."""
    return tuple(level for level, _, private in state.local.vmaps if not private)


def open_levels():
    return tuple(level for level, _, _ in state.local.vmaps)


class known_sizes:
    """Batch sizes of levels whose vmap has returned, for a rule that re-batches user code in
    a later backward pass (custom_vjp's bwd under ``grad(... vmap ...)``)."""

    def __init__(self, sizes):
        self.sizes = sizes
        self.added = ()

    def __enter__(self):
        self.added = [k for k in self.sizes if k not in _sizes]
        for k in self.added:
            _sizes[k] = self.sizes[k]
        return self

    def __exit__(self, *exc):
        for k in self.added:
            _sizes.pop(k, None)
        return False


def size_of(level, sizes=None):
    if sizes is not None and level in sizes:
        return sizes[level]
    try:
        return _sizes[level]
    except KeyError:
        raise ChainruleError("vmap", message="a batched value outlived its vmap",
                             fix="return batched values from the vmapped function instead of "
                                 "storing them elsewhere") from None


# -------------------------------------------------------- moving between views
def _shape_ops():
    from ..ops import reductions, shape        # the ops import core: import on use
    return shape, reductions


def relayout(v, have=(), want=(), drop=(), sizes=None):
    """Move batch levels between ``v``'s marks and its leading (tape) axes.

    ``v``'s leading logical axes stand for the levels in ``have`` (in that order).  The
    result's leading logical axes stand for ``want``; levels in ``drop`` are summed away;
    every other level is a mark (a wrapper).  A level wanted but absent is broadcast; a
    level both marked and in ``have`` (a batch of tangents over a tape batched at the same
    level) keeps its diagonal, the only entries an example sees.
    """
    marks, u = unwrap(v)
    if not have and not want and not drop:
        return v
    if marks == () and tuple(have) == tuple(want) and not drop:
        return v
    shape_ops, red = _shape_ops()
    have, want, drop = tuple(have), tuple(want), tuple(drop)
    labels = list(marks) + list(have)
    nd = len(_shape(u))
    rest = nd - len(labels)
    if rest < 0:
        raise ChainruleError("vmap", message="internal: a value has fewer axes than batch levels")
    # a level both marked and on the tape: keep the diagonal
    for level in set(marks) & set(have):
        i, j = labels.index(level), len(marks) + have.index(level)
        u = shape_ops.diagonal(u, 0, i, j)                       # diagonal goes last
        u = shape_ops.moveaxis(u, -1, i)
        labels.pop(j)
    keep = sorted((set(labels) - set(want) - set(drop)))        # marks of the result
    order = [lv for lv in keep] + [lv for lv in want if lv in labels] + \
        [lv for lv in labels if lv in drop]
    perm = [labels.index(lv) for lv in order] + list(range(len(labels), len(labels) + rest))
    if perm != list(range(len(perm))):
        u = shape_ops.transpose(u, tuple(perm))
    n_drop = sum(1 for lv in labels if lv in drop)
    if n_drop:
        start = len(keep) + sum(1 for lv in want if lv in labels)
        u = red.sum(u, axis=tuple(range(start, start + n_drop)))
    missing = [lv for lv in want if lv not in labels]
    if missing:
        shp = list(_shape(u))
        present = [lv for lv in want if lv in labels]
        head, tail = shp[:len(keep)], shp[len(keep) + len(present):]
        mid_shape, full = [], []
        pos = len(keep)
        for lv in want:
            if lv in labels:
                mid_shape.append(shp[pos])
                full.append(shp[pos])
                pos += 1
            else:
                mid_shape.append(1)
                full.append(size_of(lv, sizes))
        u = shape_ops.broadcast_to(shape_ops.reshape(u, tuple(head + mid_shape + tail)),
                                   tuple(head + full + tail))
    return wrap(u, tuple(keep))


def _expand_fn(x, have, want, sizes):
    shape = np.shape(x)
    k = len(have)
    inserted = tuple(shape[have.index(lv)] if lv in have else 1 for lv in want)
    full = tuple(sizes)
    return np.broadcast_to(np.reshape(x, inserted + shape[k:]), full + shape[k:])


def _expand_vjp(g, ans, x, have, want, sizes):
    axes = tuple(i for i, lv in enumerate(want) if lv not in have)
    _, red = _shape_ops()
    return red.sum(g, axis=axes) if axes else g


# The materialised leaf of a transform run inside vmap: a value batched at the levels
# ``have`` broadcast over the levels ``want``.  Its tangent moves a batch of tangents at one
# of those levels into place instead of broadcasting it (relayout), so forward-over-reverse
# inside vmap never pays for a product of two batches.
expand_levels = Primitive("expand_levels", _expand_fn)
defvjp(expand_levels, _expand_vjp, formulas={0: "sum over the broadcast batch axes"})
defjvp(expand_levels, lambda t, ans, x, have, want, sizes: relayout(t, have, want))


def to_levels(v, want, sizes=None):
    """``v`` (one example's view) as a value whose leading axes are the levels ``want``
    (ascending): its own levels move onto those axes, missing ones are broadcast."""
    levels, u = unwrap(v)
    want = tuple(want)
    if levels == want:
        return u
    if set(levels) <= set(want):
        full = tuple(_shape(u)[levels.index(lv)] if lv in levels else size_of(lv, sizes)
                     for lv in want)
        return expand_levels(u, levels, want, full)
    return relayout(v, (), want, sizes=sizes)


# ------------------------------------------------------------- the call hook
_users = 0
_users_lock = threading.Lock()


class active:
    """Keep the batching hook installed while this block runs (vmap, or a rule that
    re-batches user code after its vmap returned)."""

    def __enter__(self):
        global _users
        with _users_lock:
            _users += 1
            if _users == 1:
                add_call_hook(_hook, before=True)
        return self

    def __exit__(self, *exc):
        global _users
        with _users_lock:
            _users -= 1
            if _users == 0:
                remove_call_hook(_hook)
        return False


def _seq_level(seq):
    level = 0
    for a in seq:
        if type(a) is BatchedTensor:
            if a._level > level:
                level = a._level
        elif type(a) in (list, tuple) and a:
            sub = _seq_level(a)
            if sub > level:
                level = sub
    return level


_INDEXED = frozenset(("getitem", "index_add"))      # a tuple argument is an index, not data


def _hook(op, args, kwargs):
    if op.batch is batch_elementwise and not kwargs:
        # the hottest case (the rules of a batched backward pass): one level, no sequences
        level, vals, dims, lower = 0, [], [], False
        for a in args:
            t = type(a)
            if t is BatchedTensor:
                if level and a._level != level:
                    break
                level = a._level
                v = a._inner
                lower = lower or type(v) is BatchedTensor
                vals.append(v)
                dims.append(0)
            elif t is list or t is tuple:
                break
            else:
                vals.append(a)
                dims.append(None)
        else:
            if not level:
                return NotImplemented
            b = _new(BatchedTensor)
            b._level = level
            b._inner = _elementwise_now(op, vals, dims, lower)
            return b
    level = 0
    seqs = False
    for a in args:
        if type(a) is BatchedTensor:
            if a._level > level:
                level = a._level
        elif type(a) in (list, tuple) and a:
            sub = _seq_level(a)
            if sub:
                seqs = True
                if sub > level:
                    level = sub
    if kwargs and _seq_level(kwargs.values()):
        raise ChainruleTypeError(
            op.name, message="a batched value was passed as a keyword argument inside vmap",
            expected="batched values as positional arguments",
            actual=f"keywords {sorted(kwargs)}", fix="pass it positionally")
    if not level:
        return NotImplemented
    if seqs:
        # a (nested) list holding batched values is an array argument: stack it first
        # (a tuple given to getitem is an index, whose parts the rule reads one by one)
        from .primitive import sequence_to_tensor
        indexed = op.name in _INDEXED
        new = tuple(sequence_to_tensor(a) if type(a) in (list, tuple) and _seq_level(a) and
                    not (indexed and type(a) is tuple) else a for a in args)
        if any(x is not y for x, y in zip(new, args)):
            return op(*new, **kwargs)
    return batch_call(op, level, args, kwargs)


def _reveal(a, level):
    if type(a) is BatchedTensor and a._level == level:
        return a._inner, 0
    if type(a) in (list, tuple) and _seq_level(a) == level:
        pairs = [_reveal(x, level) for x in a]
        return type(a)(p[0] for p in pairs), tuple(p[1] for p in pairs)
    return a, None


def batch_call(op, level, args, kwargs):
    """``op`` on arguments batched at ``level``: its batching rule, or a loop over examples."""
    vals, bdims = [], []
    n = None
    lower = False                       # batched values of outer vmaps remain among the args
    for a in args:
        if type(a) is BatchedTensor:
            if a._level == level:
                v = a._inner
                vals.append(v)
                bdims.append(0)
                if n is None:
                    n = v.shape[0] if type(v) is np.ndarray else _shape(v)[0]
                if type(v) is BatchedTensor:
                    lower = True
                continue
            lower = True
            vals.append(a)
            bdims.append(None)
        elif type(a) in (list, tuple):
            v, d = _reveal(a, level)
            vals.append(v)
            bdims.append(d)
            lower = True                # (the index rules look inside)
        else:
            vals.append(a)
            bdims.append(None)
    rule = op.batch
    if rule is batch_elementwise and not kwargs:
        out = _elementwise_now(op, vals, bdims, lower)
    else:
        if n is None:                   # batched only inside an index
            n = next(_shape(x)[0] for v, d in zip(vals, bdims) if type(d) is tuple
                     for x, e in zip(v, d) if e == 0)
        out = NotImplemented
        if rule is not None:
            out = rule(op, tuple(bdims), n, *vals, **kwargs)
        if out is NotImplemented:
            out = loop(op, tuple(bdims), n, vals, kwargs)
    if type(out) is not np.ndarray and not isinstance(out, Tensor):
        out = np.asarray(out)
    b = _new(BatchedTensor)
    b._level = level
    b._inner = out
    return b


def _elementwise_now(op, vals, bdims, lower):
    """batch_elementwise inlined for the hottest case (the rules of a batched backward pass)."""
    dims = [_ndim_of(v) - (d is not None) for v, d in zip(vals, bdims)]
    nd = max(dims)
    for k, d in zip(dims, bdims):
        if d is not None and k < nd:
            vals = [align(v, d, nd) for v, d in zip(vals, bdims)]
            break
    if lower or _primitive._after or len(_primitive._before) > 1:
        return op(*vals)        # other modes watch every call (compile's tracer, anomaly mode)
    return _apply(op, *vals)


_warned = set()
_warned_lock = threading.Lock()


def _warn_loop(name):
    with _warned_lock:
        if name in _warned:
            return
        _warned.add(name)
    warnings.warn(f"vmap: {name} has no batching rule, so it runs once per example (a Python "
                  f"loop); see docs/batching.md", ChainruleWarning, stacklevel=_stacklevel())


def _stacklevel():
    import sys
    f, level = sys._getframe(2), 2
    while f is not None and f.f_globals.get("__name__", "").startswith("chainrule"):
        f, level = f.f_back, level + 1
    return level


def _take(v, i):
    if type(v) is np.ndarray:
        return v[i]
    from ..ops.indexing import getitem
    return getitem(v, i)


def _batch_size(vals, bdims):
    """The batch size, from the first batched value (batched values may sit inside lists:
    ``block([[a, b]])``, ``select(conditions, choices)``)."""
    for v, d in zip(vals, bdims):
        if d == 0 and type(d) is int:
            return _shape(v)[0]
        if type(d) is tuple:
            n = _batch_size(v, d)
            if n is not None:
                return n
    return None


def _example(v, d, i):
    if d is None:
        return v
    if type(d) is tuple:
        return type(v)(_example(x, e, i) for x, e in zip(v, d))
    return _take(v, i)


def loop(op, bdims, n, vals, kwargs, name=None):
    """The fallback: call ``op`` once per example and stack the results (differentiable)."""
    _warn_loop(name or op.name)
    if n == 0:
        raise ChainruleError(
            name or op.name, message="has no batching rule, and with an empty batch the loop "
                                     "that replaces it cannot tell the result's shape",
            expected="a batch of at least one example", actual="axis size 0",
            fix="skip the call for an empty batch")
    outs = [op(*[_example(v, d, i) for v, d in zip(vals, bdims)], **kwargs) for i in range(n)]
    return stack_examples(outs, name or op.name)


def stack_examples(outs, name):
    first = outs[0]
    if isinstance(first, (tuple, list)):
        raise ChainruleError(name, message="returns several values, which the per-example "
                             "loop of vmap cannot stack", fix="vmap a function that returns "
                             "arrays of one shape per example")
    shapes = {_shape(o) for o in outs}
    if len(shapes) > 1:
        raise ChainruleError(name, message="gives results of different shapes for different "
                             "examples, so they cannot form a batch",
                             actual=f"shapes {sorted(shapes)[:4]}",
                             fix="vmap only functions whose output shape does not depend on "
                                 "the values (or pad the results to one shape)")
    if not any(isinstance(o, Tensor) for o in outs):
        return np.stack([np.asarray(o) for o in outs])
    from ..ops.construction import stack
    return stack(outs)


def numpy_function(func, args, kwargs):
    """A NumPy function with no chainrule version, called on batched values: the facts
    about shapes and dtypes from one example's shape, anything else once per example."""
    level = _seq_level(args)
    name = f"np.{func.__name__}"
    if func.__name__ in _FACTS:
        stand = [_stand_in(a) for a in args]
        return func(*stand, **kwargs)
    if _seq_level(kwargs.values()):
        raise ChainruleTypeError(name, message="a batched value was passed by keyword inside "
                                 "vmap", fix="pass it positionally")
    vals, bdims = zip(*[_reveal(a, level) for a in args]) if args else ((), ())
    n = _batch_size(vals, bdims)
    out = loop(func, bdims, n, list(vals), kwargs, name=name)
    return _wrap1(level, out)


def function_loop(fn, args, kwargs):
    """A chainrule.numpy function written in Python that needs its argument's values (an
    order statistic sorts them, ``unique`` counts them): inside vmap it runs once per example."""
    level = max(_seq_level(args), _seq_level(kwargs.values()))
    if not level:
        raise ChainruleError(fn.__name__, message="asked a value for its data outside vmap")
    if _seq_level(kwargs.values()):
        raise ChainruleTypeError(fn.__name__, message="a batched value was passed by keyword "
                                 "inside vmap", fix="pass it positionally")
    vals, bdims = zip(*[_reveal(a, level) for a in args]) if args else ((), ())
    n = _batch_size(vals, bdims)
    out = loop(fn, bdims, n, list(vals), kwargs, name=f"{fn.__module__.rsplit('.', 1)[-1]}."
                                                     f"{fn.__name__}")
    return _wrap1(level, out)


def looping_under_vmap(fn):
    """``fn``, falling back to a per-example loop when it meets a batched value's data."""
    @functools.wraps(fn)
    def run(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except BatchedValueError:
            return function_loop(fn, args, kwargs)
    return run


def _stand_in(a):
    if isinstance(a, Tensor):
        return np.broadcast_to(np.zeros((), dtype=a.dtype), a.shape)
    return a


_FACTS = frozenset((
    "shape", "ndim", "size", "result_type", "iscomplexobj", "isrealobj", "isscalar",
    "may_share_memory", "shares_memory", "isfortran", "iterable", "min_scalar_type",
    "can_cast", "common_type"))


# ------------------------------------------------------- helpers for the rules
def ndim(x):
    return len(_shape(x))


def per_example_ndim(x, d):
    return ndim(x) - (d is not None)


def align(x, d, n_dims):
    """A batched ``x`` (batch first) with size-1 axes after the batch axis, so that its
    per-example part has ``n_dims`` axes and broadcasts as it did for one example."""
    if d is None:
        return x
    s = _shape(x)
    k = len(s) - 1
    if k >= n_dims:
        return x
    from ..ops.shape import reshape
    return reshape(x, s[:1] + (1,) * (n_dims - k) + s[1:])


def materialize(x, d, n):
    """``x`` with the batch axis in front: an unbatched value broadcast over the batch."""
    if d is not None:
        return x
    from ..ops.shape import broadcast_to, reshape
    s = _shape(x)
    return broadcast_to(reshape(x, (1,) + s), (n,) + s)


def shift(axis, nd):
    """A per-example axis (negative allowed) as an axis of the batched array."""
    return int(axis) % nd + 1 if nd else int(axis) + 1


def shift_axes(axis, nd):
    """``axis`` (None, int or tuple) for an example of ``nd`` axes, in the batched array;
    None means every per-example axis."""
    if axis is None:
        return tuple(range(1, nd + 1))
    if isinstance(axis, (tuple, list)):
        return tuple(shift(a, nd) for a in axis)
    return shift(axis, nd)


def _ndim_of(a):
    t = type(a)
    if t is np.ndarray or t is Tensor:
        return a.ndim
    if a is None or t is float or t is int or t is bool or isinstance(a, (str, type)):
        return 0
    return len(_shape(a))


def batch_elementwise(op, bdims, n, *args, **kw):
    """Elementwise (broadcasting) ops: line the batch axes up in front, NumPy does the rest."""
    dims = [_ndim_of(a) - (d is not None) for a, d in zip(args, bdims)]
    nd = max(dims)
    if any(k < nd for k, d in zip(dims, bdims) if d is not None):
        args = [align(a, d, nd) for a, d in zip(args, bdims)]
    return op(*args, **kw)


def batch_leading(op, bdims, n, *args, **kw):
    """Ops that work on the trailing axes and treat leading ones as a stack (linalg on
    (..., n, n), prod_others on (..., n)): the batch is one more leading axis."""
    if len(args) != 1 and sum(d is not None for d in bdims) != len(args):
        args = [materialize(a, d, n) for a, d in zip(args, bdims)]
    return op(*args, **kw)
