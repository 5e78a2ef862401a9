"""``vmap``: a function written for one example, run on a batch in one pass (JAX's API).

    per_example_grads = cr.vmap(cr.grad(loss), in_axes=(None, 0, 0))(w, X, y)

Each argument is split along its ``in_axes`` entry (None: the same value for every example);
inside, each batched argument is a ``BatchedTensor`` that looks like one example, and every
primitive call on it is rewritten by the primitive's batching rule (core/batching.py).  The
results are stacked along ``out_axes``.  ``vmap`` nests, and composes with ``grad``, ``jvp``,
``vjp``, ``hessian`` in either order.
"""
from __future__ import annotations

import functools
import numbers

import numpy as np

from . import batching
from .backward import hand_over
from .batching import BatchedTensor
from .errors import ChainruleError, ChainruleTypeError, describe
from .primitive import _shape
from .pytree import broadcast_prefix, flatten, unflatten
from .tensor import Tensor


def vmap(fun, in_axes=0, out_axes=0, axis_size=None):
    """Vectorise ``fun`` over a batch axis of its arguments (``jax.vmap``).

    ``in_axes``: an int (every argument's axis), None (not batched), or a tuple with one
    entry per positional argument, each an int, None, or a tree matching that argument
    (dicts, lists, tuples); negative axes count from the end.  Keyword arguments are batched
    along axis 0.  ``out_axes``: where the batch axis goes in each output (same forms).
    ``axis_size``: the batch size, needed when no argument is batched.
    """
    _check_spec(in_axes, "in_axes")
    _check_spec(out_axes, "out_axes")
    if axis_size is not None and (not isinstance(axis_size, numbers.Integral) or axis_size < 0):
        raise ChainruleError("vmap", expected="axis_size a non-negative int or None",
                             actual=repr(axis_size), fix="pass the batch size, e.g. axis_size=8")

    @functools.wraps(fun)
    def batched(*args, **kwargs):
        return vmap_call(fun, args, kwargs, in_axes, out_axes, axis_size)
    return batched


def _check_spec(spec, what):
    leaves, _ = flatten(spec)
    for a in leaves:
        if not (isinstance(a, numbers.Integral) and not isinstance(a, bool)):
            raise ChainruleTypeError(
                "vmap", message=f"{what} entries must be ints or None",
                expected="an int (the batch axis), None (not batched), or a tuple/list/dict of "
                         "them matching the arguments", actual=repr(a),
                fix=f"e.g. {what}=(None, 0, 0)")


def vmap_call(fun, args, kwargs, in_axes, out_axes, axis_size, private=False):
    if isinstance(in_axes, list):
        in_axes = tuple(in_axes)
    if isinstance(in_axes, tuple):
        if len(in_axes) != len(args):
            raise ChainruleError(
                "vmap", message="in_axes has a different length than the positional arguments",
                expected=f"{len(args)} entries (one per argument)",
                actual=f"{len(in_axes)} entries", fix="give one entry per positional argument, "
                                                      "or one int/None for all of them")
        specs = broadcast_prefix(in_axes, args)
    else:
        specs = broadcast_prefix(in_axes, args)
    leaves, treedef = flatten(args)
    kw_leaves, kw_def = flatten(kwargs)
    leaves = leaves + kw_leaves
    specs = list(specs) + [0] * len(kw_leaves)
    n = _batch_size(leaves, specs, axis_size)
    level = batching.push_level(n, private)
    try:
        with batching.active():
            moved = [_split(x, a, level) for x, a in zip(leaves, specs)]
            nargs = len(moved) - len(kw_leaves)
            a = unflatten(treedef, moved[:nargs])
            kw = unflatten(kw_def, moved[nargs:])
            out = fun(*a, **kw)
            o_leaves, o_def = flatten(out)
            o_specs = broadcast_prefix(out_axes, out, "out_axes")
            result = [_join(o, ax, level, n) for o, ax in zip(o_leaves, o_specs)]
    finally:
        batching.pop_level(level)
    if private:                         # the Jacobians' own basis: they hand over the result
        return unflatten(o_def, result)
    plain = [x for x in leaves if type(x) is np.ndarray]
    return unflatten(o_def, hand_over(result, taken=plain))


def _batch_size(leaves, specs, axis_size):
    sizes = {}
    for x, a in zip(leaves, specs):
        if a is None:
            continue
        shape = _shape(x)
        nd = len(shape)
        if not -nd <= a < nd:
            raise ChainruleError(
                "vmap", message=f"cannot map over axis {a} of an argument with {nd} axes",
                expected=f"an axis in [{-nd}, {nd})" if nd else "an array with at least one axis",
                actual=_describe(x), fix="use in_axes=None for arguments that are the same for "
                                         "every example")
        sizes.setdefault(shape[a % nd], []).append(x)
    if axis_size is not None:
        if sizes and set(sizes) != {axis_size}:
            raise ChainruleError("vmap", message="axis_size differs from the arguments' batch size",
                                 expected=f"batch axes of size {axis_size}",
                                 actual=f"sizes {sorted(sizes)}", fix="drop axis_size or fix it")
        return axis_size
    if not sizes:
        raise ChainruleError("vmap", message="no argument is batched, so the batch size is unknown",
                             expected="at least one argument with an in_axes entry that is not None",
                             actual="every in_axes entry is None", fix="pass axis_size=N")
    if len(sizes) > 1:
        detail = "; ".join(f"size {k}: {', '.join(_describe(x) for x in v[:2])}"
                           for k, v in sorted(sizes.items()))
        raise ChainruleError("vmap", message="the batched arguments have different batch sizes",
                             expected="one size along every mapped axis", actual=detail,
                             fix="check in_axes (a batch axis per argument, None for shared ones)")
    return next(iter(sizes))


def _describe(x):
    return describe(x if hasattr(x, "shape") else np.asarray(x))


def _split(x, axis, level):
    if axis is None:
        return x
    if isinstance(x, Tensor):
        if axis % x.ndim:
            from ..ops.shape import moveaxis
            x = moveaxis(x, axis, 0)
    else:
        x = x if _traced(x) else np.asarray(x)      # (chainrule.compile's arrays stay traced)
        if axis % x.ndim:
            x = np.moveaxis(x, axis, 0)
    return batching._wrap1(level, x)


def _traced(x):
    return getattr(type(x), "_chainrule_traced", False)


def _join(o, axis, level, n):
    """An output leaf with the batch axis at ``axis``."""
    if type(o) is BatchedTensor and o._level > level:
        raise ChainruleError("vmap", message="a batched value of an inner vmap escaped it",
                             fix="return values from the inner vmapped function")
    batched = type(o) is BatchedTensor and o._level == level
    if axis is None:
        if batched:
            raise ChainruleError("vmap", message="out_axes=None for an output that differs "
                                 "between examples", expected="an output that does not depend on "
                                 "the batched arguments", actual=f"a batched output of per-example "
                                 f"shape {o.shape}", fix="give that output an out_axes entry (0)")
        return o
    if batched:
        u = o._inner
    else:
        if o is None:
            return None
        if _traced(o):
            o = Tensor(o)                           # so chainrule.compile records the copies
        elif not isinstance(o, Tensor):
            o = np.asarray(o)
        from ..ops.shape import broadcast_to, reshape
        s = _shape(o)
        u = broadcast_to(reshape(o, (1,) + s), (n,) + s) if isinstance(o, Tensor) else \
            np.broadcast_to(o, (n,) + s).copy()
    nd = len(_shape(u))
    if not -nd <= axis < nd:
        raise ChainruleError("vmap", message=f"out_axes={axis} is out of range",
                             expected=f"an axis in [{-nd}, {nd})", actual=repr(axis),
                             fix="count the batch axis among the output's axes")
    if axis % nd:
        from ..ops.shape import moveaxis
        u = moveaxis(u, 0, axis) if isinstance(u, Tensor) else np.moveaxis(u, 0, axis)
    return u
