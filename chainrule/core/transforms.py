"""Function transformations in JAX's style: grad, value_and_grad, vjp, jvp, jacobian, hessian, hvp.

Each transform wraps its inputs in Tensors, runs the function, and reads the
derivative off the result.  Inputs may be Python floats, ndarrays, Tensors,
or lists/tuples/dicts of them; derivatives come back in the same structure,
as ndarrays for ndarray inputs (Tensors when an outer transform is still
differentiating through them).  Transforms nest to any order.
"""
from __future__ import annotations

import functools
import numbers
import warnings

import numpy as np

from . import saved, state
from .backward import check_scalar_output, grad_of, hand_over, toposort
from .errors import ChainruleError, ChainruleTypeError, ChainruleWarning, describe
from .primitive import alias, strip_levels
from .pytree import flatten, tree_map, unflatten
from .tensor import Tensor, has_open_level, is_active


# ------------------------------------------------------------------- helpers
def _array(x, dtype=None):
    """np.asarray, except that an array chainrule.compile is tracing stays itself (a plain
    view of it would hide the value from the trace)."""
    if getattr(type(x), "_chainrule_traced", False) and (dtype is None or x.dtype == dtype):
        return x
    return np.asarray(x, dtype=dtype)


def _as_float_array(x, op):
    """``x`` as something to differentiate with respect to: only floating point (as in JAX)."""
    if isinstance(x, Tensor):
        arr = x.data
    elif isinstance(x, (bool, np.bool_, numbers.Integral)):
        raise ChainruleTypeError(
            op, message="inputs to differentiate must be floating point",
            expected="a float value (integers and bools have no derivative)",
            actual=f"{type(x).__name__} {x!r}",
            fix=f"pass a float, e.g. {float(x)!r} instead of {x!r}")
    else:
        arr = _array(x)
    if arr.dtype.kind not in "fc":
        raise ChainruleTypeError(
            op, message="inputs to differentiate must be floating point",
            expected="float16/32/64 (or complex) values", actual=describe(arr),
            fix="convert it, e.g. x.astype(float) or np.asarray(x, dtype=float) (3.0, not 3)")
    return x if isinstance(x, Tensor) else arr


def _wrap_leaf(x, op):
    """A fresh Tensor to differentiate with respect to, linked to ``x`` if ``x`` is itself traced."""
    x = _as_float_array(x, op)
    if isinstance(x, Tensor):
        if is_active(x):
            t = alias(x, x._fw)
            if not t.requires_grad:
                t.requires_grad = True      # a new leaf that still carries x's tangents
            return t
        x = x.data
    t = Tensor(x)
    t.requires_grad = True
    return t


def _unwrap(value, like):
    """Give a result back as the kind of thing the user passed in."""
    if isinstance(value, Tensor):
        if _live(value) or isinstance(like, Tensor):
            return value
        value = value.data
    if isinstance(like, Tensor):
        return Tensor(value)
    if isinstance(like, (numbers.Number, np.generic)) and np.ndim(value) == 0:
        return np.asarray(value)[()]
    return value


def _live(t):
    """Whether an outer derivative can still flow through ``t``.

    A Tensor may carry a stale requires_grad from a transform that has already
    returned (its inputs were released by ``_release``); only live leaves and
    open jvp levels count.
    """
    if has_open_level(t):
        return True
    if not t.requires_grad:
        return False
    for node in toposort(t):
        if node._op is None and node.requires_grad or has_open_level(node):
            return True
    return False


def _release(leaves):
    """The transform is done with its inputs: later walks must not count them as live."""
    for t in leaves:
        if t._op is None:
            t.requires_grad = False


def _out_value(out):
    if isinstance(out, Tensor):
        return out
    return Tensor(np.asarray(out))


def _plain_aux(aux):
    """Auxiliary outputs as plain values once nothing differentiates through them any more."""
    return tree_map(lambda v: _unwrap(v, None) if isinstance(v, Tensor) else v, aux)


def _hold_inputs(leaves):
    """Keep the caller's input arrays read-only while a graph built from them lives."""
    return saved.hold([x for x in leaves if type(x) is np.ndarray])


class quiet_unused:
    """Inside this block (this thread), grad and vjp do not warn about unused inputs: for tools
    like check_grad and jacobian, whose inner calls meet zero derivatives as a matter of course."""

    def __enter__(self):
        state.local.quiet += 1
        return self

    def __exit__(self, *exc):
        state.local.quiet -= 1
        return False


def _warn_unused(op, missing, owners):
    """Say which arguments the output did not depend on (their derivative is zero)."""
    args = sorted({owners[k] for k in missing})
    if not args or state.local.quiet:
        return
    which = ", ".join(f"argument {a}" for a in args)
    warnings.warn(f"{op}: the output does not depend on {which}, so its gradient is zero "
                  f"(check argnums, or whether the input is used)", ChainruleWarning,
                  stacklevel=_user_stacklevel())


def _user_stacklevel():
    """The warnings stacklevel of the first caller outside chainrule's engine."""
    import sys
    f, level = sys._getframe(2), 2
    while f is not None and f.f_globals.get("__name__", "").startswith("chainrule.core"):
        f, level = f.f_back, level + 1
    return level


def _argnums_tuple(argnums, nargs, op):
    single = isinstance(argnums, int)
    nums = (argnums,) if single else tuple(argnums)
    for a in nums:
        if not -nargs <= a < nargs:
            raise ChainruleError(op, message=f"argnums={argnums} is out of range",
                                 expected=f"indices of the {nargs} positional argument(s)",
                                 actual=f"argnums={argnums}", fix="pick existing positional arguments")
    return single, tuple(a % nargs for a in nums)


# --------------------------------------------------------------------- grad
def value_and_grad(fun, argnums=0, has_aux=False):
    """Return f(x) and its gradient with respect to the ``argnums`` arguments."""
    @functools.wraps(fun)
    def wrapped(*args, **kwargs):
        single, nums = _argnums_tuple(argnums, len(args), "grad")
        args = list(args)
        leaves_per_arg, defs, originals = {}, {}, {}
        flat_inputs, owners, plain = [], [], []
        for n in nums:
            leaves, treedef = flatten(args[n])
            wrapped_leaves = [_wrap_leaf(x, "grad") for x in leaves]
            leaves_per_arg[n], defs[n], originals[n] = wrapped_leaves, treedef, leaves
            flat_inputs.extend(wrapped_leaves)
            owners.extend([n] * len(leaves))
            plain.extend(leaves)
            args[n] = unflatten(treedef, wrapped_leaves)
        with saved.scope(_hold_inputs(plain)):      # inputs read-only while the graph lives
            result = fun(*args, **kwargs)
            if has_aux:
                if not (isinstance(result, (tuple, list)) and len(result) == 2):
                    raise ChainruleTypeError(
                        "grad", message="has_aux=True needs fun to return a pair",
                        expected="(output, aux)", actual=f"{type(result).__name__}",
                        fix="return (loss, aux) or drop has_aux")
                out, aux = result
            else:
                out, aux = result, None
            check_scalar_output(out, "grad")
            out_t = _out_value(out)
            missing = []
            grads = grad_of(out_t, flat_inputs, op="grad", missing=missing)
        _warn_unused("grad", missing, owners)
        _release(flat_inputs)
        value = _unwrap(out_t.reshape(()) if out_t.ndim else out_t, _first_plain(originals, nums))
        value, *flat = hand_over([value] + [_unwrap(g, o) for g, o in zip(grads, plain)],
                                 taken=plain)
        per_arg, pos = [], 0
        for n in nums:
            k = len(leaves_per_arg[n])
            per_arg.append(unflatten(defs[n], flat[pos:pos + k]))
            pos += k
        g = per_arg[0] if single else tuple(per_arg)
        if has_aux:
            return (value, _plain_aux(aux)), g
        return value, g
    return wrapped


def _first_plain(originals, nums):
    leaves = originals[nums[0]]
    return leaves[0] if leaves else 0.0


def grad(fun, argnums=0, has_aux=False):
    """The gradient of a scalar function, as a function (``jax.grad``)."""
    vg = value_and_grad(fun, argnums, has_aux)

    @functools.wraps(fun)
    def wrapped(*args, **kwargs):
        (value_aux, g) = vg(*args, **kwargs)
        if has_aux:
            return g, value_aux[1]
        return g
    return wrapped


# ----------------------------------------------------------------------- vjp
def vjp(fun, *primals, has_aux=False):
    """Return ``(fun(*primals), pullback)``; ``pullback(cotangent)`` gives one gradient per primal."""
    flat, treedefs, originals, args, owners = [], [], [], [], []
    for n, p in enumerate(primals):
        leaves, treedef = flatten(p)
        w = [_wrap_leaf(x, "vjp") for x in leaves]
        flat.extend(w)
        owners.extend([n] * len(w))
        treedefs.append((treedef, len(w)))
        originals.append(leaves)
        args.append(unflatten(treedef, w))
    plain = [x for leaves in originals for x in leaves]
    held = _hold_inputs(plain)          # released with the pullback
    try:
        with saved.scope():
            result = fun(*args)
    except BaseException:
        if held is not None:
            held.release()
        raise
    out, aux = (result if has_aux else (result, None))
    out_leaves, out_def = flatten(out)
    out_ts = [_out_value(o) for o in out_leaves]

    def pullback(cotangent):
        ct_leaves, ct_def = flatten(cotangent)
        if len(ct_leaves) != len(out_ts):
            raise ChainruleError("vjp pullback", expected=f"{len(out_ts)} cotangent array(s) "
                                 "matching the output's structure",
                                 actual=f"{len(ct_leaves)}", fix="pass one array per output")
        total, unreached = None, set(range(len(flat)))
        for o, c in zip(out_ts, ct_leaves):
            c = c if isinstance(c, Tensor) else _array(c, dtype=o.dtype)
            if np.shape(c) != o.shape:
                raise ChainruleError("vjp pullback", message="cotangent has the wrong shape",
                                     expected=f"shape {o.shape} (the output's)",
                                     actual=describe(c), fix="pass a cotangent shaped like the output")
            missing = []
            gs = grad_of(o, flat, seed=c, op="vjp", missing=missing)
            unreached.intersection_update(missing)
            total = gs if total is None else [a + b for a, b in zip(total, gs)]
        _warn_unused("vjp", unreached if out_ts else (), owners)
        total = hand_over([_unwrap(g, x) for g, x in zip(total, plain)],
                          taken=plain + [c for c in ct_leaves if isinstance(c, np.ndarray)])
        res, pos = [], 0
        for (treedef, k) in treedefs:
            res.append(unflatten(treedef, total[pos:pos + k]))
            pos += k
        return tuple(res)

    pullback.held = held     # the inputs stay read-only while the pullback can still be called
    like = originals[0][0] if originals and originals[0] else 0.0
    out_plain = unflatten(out_def, hand_over([_unwrap(o, like) for o in out_ts], taken=plain))
    if has_aux:
        return out_plain, pullback, _plain_aux(aux)
    return out_plain, pullback


# ----------------------------------------------------------------------- jvp
def jvp(fun, primals, tangents, has_aux=False):
    """Forward mode: ``(fun(*primals), J·tangents)`` in about the cost of one extra forward pass."""
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise ChainruleTypeError("jvp", expected="primals and tangents as tuples, like jax.jvp",
                                 actual=f"{type(primals).__name__} and {type(tangents).__name__}",
                                 fix="write jvp(f, (x,), (v,))")
    if len(primals) != len(tangents):
        raise ChainruleError("jvp", expected="one tangent per primal",
                             actual=f"{len(primals)} primals, {len(tangents)} tangents",
                             fix="pass matching tuples")
    level = state.push_level()
    given = []
    try:
        args, originals = [], []
        for p, tan in zip(primals, tangents):
            leaves, treedef = flatten(p)
            tleaves, tdef = flatten(tan)
            if len(leaves) != len(tleaves):
                raise ChainruleError("jvp", message="tangent structure differs from primal structure",
                                     expected=f"{len(leaves)} leaves", actual=f"{len(tleaves)}",
                                     fix="give each primal a tangent of the same structure")
            wrapped = []
            for x, v in zip(leaves, tleaves):
                x = _as_float_array(x, "jvp")
                xv = x.data if isinstance(x, Tensor) else _array(x)
                if np.shape(v) != xv.shape:
                    raise ChainruleError("jvp", message="tangent shape differs from primal shape",
                                         expected=f"shape {xv.shape}", actual=describe(np.asarray(v)
                                         if not isinstance(v, Tensor) else v),
                                         fix="give each primal a tangent of its own shape")
                if not isinstance(v, Tensor):
                    given.append(v)
                    v = _array(v, dtype=xv.dtype)
                fw = dict(x._fw) if isinstance(x, Tensor) and x._fw else {}
                fw[level] = v
                base = x if isinstance(x, Tensor) else Tensor(xv)
                wrapped.append(alias(base, fw))
            args.append(unflatten(treedef, wrapped))
            originals.append(leaves)
        result = fun(*args)
        out, aux = (result if has_aux else (result, None))
        out_leaves, out_def = flatten(out)
        pairs = []
        for o in out_leaves:
            o = _out_value(o)
            t = (o._fw or {}).get(level)
            if t is None:
                t = np.zeros_like(o.data)
            pairs.append((strip_levels(o, level), t if isinstance(t, Tensor) else Tensor(t)))
    finally:
        state.pop_level(level)
    # unwrap only after the level is closed, so its own tangents no longer count as live
    like = originals[0][0] if originals and originals[0] else 0.0
    plain = [x for leaves in originals for x in leaves]
    values = hand_over([_unwrap(o, like) for o, _ in pairs] + [_unwrap(t, like) for _, t in pairs],
                       taken=plain + given)
    res = unflatten(out_def, values[:len(pairs)]), unflatten(out_def, values[len(pairs):])
    return res + (_plain_aux(aux),) if has_aux else res


# ------------------------------------------------------------ jacobians etc.
def _single_array_fun(fun, args, argnum, op):
    x = args[argnum]
    x = _as_float_array(x, op)
    xv = x.data if isinstance(x, Tensor) else x

    def f(z):
        a = list(args)
        a[argnum] = z
        return fun(*a)
    return f, x, xv


def jacobian(fun, argnums=0, mode="rev"):
    """The Jacobian d fun / d x, shaped ``out.shape + x.shape``; ``mode`` 'rev' (jacrev) or 'fwd' (jacfwd)."""
    if mode not in ("rev", "fwd"):
        raise ChainruleError("jacobian", expected="mode='rev' or mode='fwd'", actual=repr(mode),
                             fix="rev is cheaper for few outputs, fwd for few inputs")

    @functools.wraps(fun)
    def wrapped(*args):
        if not isinstance(argnums, int):
            return tuple(jacobian(fun, a, mode)(*args) for a in argnums)
        with quiet_unused():            # a zero row or column is an ordinary Jacobian entry
            return _jacobian(fun, args, argnums, mode)
    return wrapped


def _jacobian(fun, args, argnum, mode):
    """One argument's Jacobian: a jvp per input element (fwd) or a pullback per output element."""
    f, x, xv = _single_array_fun(fun, args, argnum, "jacobian")
    n = xv.size
    if mode == "fwd":
        cols = []
        out = None
        for j in range(n):
            e = np.zeros(n, dtype=xv.dtype)
            e[j] = 1
            out, t = jvp(f, (x,), (e.reshape(xv.shape),))
            cols.append(t)
        if out is None:
            out = f(x)
        oshape = np.shape(out.data if isinstance(out, Tensor) else out)
        return _stack_last(cols, oshape, xv.shape)
    out, pull = vjp(f, x)
    o = out.data if isinstance(out, Tensor) else np.asarray(out)
    rows = []
    for i in range(o.size):
        e = np.zeros(o.size, dtype=o.dtype)
        e[i] = 1
        rows.append(pull(e.reshape(o.shape))[0])
    return _stack_first(rows, o.shape, xv.shape)


def _stack_first(rows, oshape, xshape):
    from .. import numpy as cnp
    if not rows:
        return np.zeros(oshape + xshape)
    if any(isinstance(r, Tensor) for r in rows):
        return cnp.reshape(cnp.stack(rows), oshape + xshape)
    return np.stack(rows).reshape(oshape + xshape)


def _stack_last(cols, oshape, xshape):
    from .. import numpy as cnp
    if not cols:
        return np.zeros(oshape + xshape)
    if any(isinstance(c, Tensor) for c in cols):
        st = cnp.stack([cnp.reshape(c, (-1,)) for c in cols], axis=-1)
        return cnp.reshape(st, oshape + xshape)
    st = np.stack([np.reshape(c, (-1,)) for c in cols], axis=-1)
    return st.reshape(oshape + xshape)


jacrev = functools.partial(jacobian, mode="rev")
jacfwd = functools.partial(jacobian, mode="fwd")


def hessian(fun, argnums=0):
    """The Hessian of a scalar function: forward-over-reverse (jacfwd of grad)."""
    return jacobian(grad(fun, argnums), argnums, mode="fwd")


def hvp(fun, primals, tangents):
    """Hessian-vector product H·v by forward-over-reverse (jvp of grad); never forms H."""
    argnums = tuple(range(len(primals))) if len(primals) > 1 else 0
    return jvp(grad(fun, argnums=argnums), tuple(primals), tuple(tangents))[1]
