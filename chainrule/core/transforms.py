"""Function transformations in JAX's style: grad, value_and_grad, vjp, jvp, elementwise_grad,
linearize, stop_gradient (the Jacobians are in jacobians.py, vmap in vmap.py).

Each transform wraps its inputs in Tensors, runs the function, and reads the derivative off
the result.  Inputs may be Python floats, ndarrays, Tensors, or pytrees of them (dicts,
lists, tuples, namedtuples); derivatives come back in the same structure, as ndarrays for
ndarray inputs (Tensors when an outer transform is still differentiating through them).
``argnums`` follows JAX: an int gives one result, a tuple a tuple.  Transforms nest to any
order, and inside ``vmap`` they see one example (core/batching.py): a reverse transform
gives each example its own gradient by batching its inputs over the running vmaps.
"""
from __future__ import annotations

import functools
import numbers
import warnings
import weakref

import numpy as np

from . import batching, saved, state
from .backward import check_scalar_output, grad_of, hand_over, toposort
from .batching import BatchedTensor, core, levels_of, map_core, relayout, to_levels, unwrap, wrap
from .errors import ChainruleError, ChainruleTypeError, ChainruleWarning, describe
from .primitive import Primitive, _dtype, _shape, alias, defbatch, strip_levels
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
    if isinstance(x, (bool, np.bool_, numbers.Integral)):
        raise ChainruleTypeError(
            op, message="inputs to differentiate must be floating point",
            expected="a float value (integers and bools have no derivative)",
            actual=f"{type(x).__name__} {x!r}",
            fix=f"pass a float, e.g. {float(x)!r} instead of {x!r}")
    if isinstance(x, Tensor):
        dtype = x.dtype
    else:
        x = _array(x)
        dtype = x.dtype
    if dtype.kind not in "fc":
        raise ChainruleTypeError(
            op, message="inputs to differentiate must be floating point",
            expected="float16/32/64 (or complex) values",
            actual=f"shape {tuple(_shape(x))} {dtype}" + (" (an object array: Tensors inside "
                                                          "a list?)" if dtype == object else ""),
            fix="convert it, e.g. x.astype(float) or np.asarray(x, dtype=float) (3.0, not 3)")
    return x


def _leaf(x, op, levels=()):
    """A fresh leaf to differentiate with respect to, in tape coordinates for ``levels``;
    linked to ``x`` when ``x`` is itself traced.  Returns (leaf, the value the function sees)."""
    x = _as_float_array(x, op)
    u = to_levels(x, levels) if levels else x
    if isinstance(u, Tensor) and is_active(u):
        t = alias(u, u._fw)
        if not t.requires_grad:
            t.requires_grad = True      # a new leaf that still carries u's tangents
    else:
        u = u.data if isinstance(u, Tensor) else u
        if type(u) is np.ndarray and u.flags.writeable and not saved.restorable(u):
            u = u.copy()                # could not be held read-only: the graph keeps a copy
        t = Tensor(u)
        t.requires_grad = True
    return t, wrap(t, levels)


def _unwrap(value, like):
    """Give a result back as the kind of thing the user passed in."""
    if type(value) is BatchedTensor:
        like = core(like)
        return map_core(lambda u: _unwrap(u, like), value)
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
        if node._op is None and node.requires_grad and id(node) not in _pullback_inputs \
                or has_open_level(node):
            return True
    return False


# The leaves of a vjp stay differentiable while its pullback lives, but nothing outside it
# differentiates with respect to them: they do not make a result "live".
_pullback_inputs = weakref.WeakValueDictionary()


def _release(leaves):
    """The transform is done with its inputs: later walks must not count them as live."""
    for t in leaves:
        if t._op is None:
            t.requires_grad = False


def _node(out):
    """The tape value behind an output (one example's view): a Tensor."""
    out = core(out)
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


def argnums_tuple(argnums, nargs, op):
    """(single, normalised argnums) with JAX's meaning: an int gives one result, a tuple or
    list a tuple (also of length 1); negative numbers count from the end."""
    single = isinstance(argnums, numbers.Integral) and not isinstance(argnums, bool)
    if single:
        nums = (int(argnums),)
    elif isinstance(argnums, (tuple, list)) and all(
            isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in argnums):
        nums = tuple(int(a) for a in argnums)
    else:
        raise ChainruleTypeError(op, message="argnums must be an int or a tuple of ints",
                                 expected="e.g. argnums=0 or argnums=(0, 2)",
                                 actual=repr(argnums), fix="pass positions of arguments")
    for a in nums:
        if not -nargs <= a < nargs:
            raise ChainruleError(op, message=f"argnums={argnums} is out of range",
                                 expected=f"indices of the {nargs} positional argument(s)",
                                 actual=f"argnums={argnums}", fix="pick existing positional arguments")
    return single, tuple(a % nargs for a in nums)


def _split_aux(result, has_aux, op):
    if not has_aux:
        return result, None
    if not (isinstance(result, (tuple, list)) and len(result) == 2):
        raise ChainruleTypeError(
            op, message="has_aux=True needs fun to return a pair",
            expected="(output, aux)", actual=f"{type(result).__name__}",
            fix="return (loss, aux) or drop has_aux")
    return result[0], result[1]


# ------------------------------------------------------- complex dtypes (JAX's rules)
def _dtype_of(x):
    return _dtype(x) if isinstance(x, (Tensor, np.ndarray)) else np.asarray(x).dtype


def _shown(x):
    return describe(x if isinstance(x, (Tensor, np.ndarray)) else np.asarray(x))


def need_complex(op, what, x):
    """``holomorphic=True`` needs complex inputs and outputs, as in JAX."""
    if _dtype_of(x).kind != "c":
        raise ChainruleTypeError(
            op, message=f"with holomorphic=True the {what} must be complex",
            expected=f"complex {what}s (the derivative f'(z) of a holomorphic f)",
            actual=_shown(x), fix=f"pass complex values (e.g. x + 0j), or drop holomorphic=True"
                                  f"{' for a real output' if what == 'output' else ''}")


def refuse_complex(op, what, x, fix):
    """A complex value where only a real one has a meaning without holomorphic=True."""
    if _dtype_of(x).kind == "c":
        raise ChainruleTypeError(op, message=f"the {what} is complex", expected=f"a real {what}",
                                 actual=_shown(x), fix=fix)


def _holomorphic_seed(out, op):
    """The cotangent 1 of a complex scalar output: its vjp is f'(z) for a holomorphic f."""
    need_complex(op, "output", out)
    shape = _shape(out)
    if int(np.prod(shape)) != 1:
        check_scalar_output(np.zeros(shape), op)        # the usual "must return a scalar" error
    return shape


class _Leaves:
    """The inputs of a reverse transform: fresh leaves per pytree leaf of the chosen arguments,
    each batched over the vmaps running now (plus ``extra`` levels), so that every example
    gets its own gradient."""

    def __init__(self, args, nums, op, extra=()):
        self.args = list(args)
        self.nums = nums
        self.defs, self.nodes, self.levels, self.owners, self.plain = {}, [], [], [], []
        public = set(batching.public_levels()) | set(extra)
        for n in dict.fromkeys(nums):           # each argument once, even if repeated
            leaves, treedef = flatten(args[n])
            seen = []
            for x in leaves:
                lv = tuple(sorted(set(levels_of(x)) | public))
                node, view = _leaf(x, op, lv)
                self.nodes.append(node)
                self.levels.append(lv)
                self.owners.append(n)
                self.plain.append(x)
                seen.append(view)
            self.defs[n] = (treedef, len(seen))
            self.args[n] = unflatten(treedef, seen)

    def missing_levels(self, outs):
        """Levels an output is batched at that some input is not (its gradient would add up
        the examples): they are added and the function is run again."""
        found = set()
        for o in outs:
            lo = set(levels_of(o))
            for lv in self.levels:
                found |= lo - set(lv)
        return found

    def results(self, grads, taken=()):
        """The gradients, per chosen argument, as the user passed them (one example's view)."""
        given = [_unwrap(relayout(g, lv, ()) if lv else g, x)
                 for g, lv, x in zip(grads, self.levels, self.plain)]
        given = hand_over(given, taken=[x for x in self.plain if type(x) is np.ndarray] +
                          list(taken))
        per_arg, pos = {}, 0
        for n, (treedef, k) in self.defs.items():
            per_arg[n] = unflatten(treedef, given[pos:pos + k])
            pos += k
        return tuple(per_arg[n] for n in self.nums)


def _attempts(run):
    """Run ``run(extra_levels)`` once more if an output turned out batched at a level its
    inputs were not (only possible for batches the user's code cannot see directly)."""
    out = run(())
    if isinstance(out, _Retry):
        out = run(out.levels)
    return out


class _Retry:
    def __init__(self, levels):
        self.levels = tuple(sorted(levels))


# --------------------------------------------------------------------- grad
def value_and_grad(fun, argnums=0, has_aux=False, holomorphic=False):
    """Return f(x) and its gradient with respect to the ``argnums`` arguments.

    With ``holomorphic=True`` (complex inputs, a complex output) the gradient is f'(z).
    """
    @functools.wraps(fun)
    def wrapped(*args, **kwargs):
        single, nums = argnums_tuple(argnums, len(args), "grad")

        def run(extra):
            ins = _Leaves(args, nums, "grad", extra)
            if holomorphic:
                for x in ins.plain:
                    need_complex("grad", "input", x)
            with saved.scope(_hold_inputs(ins.plain)):      # inputs read-only while the graph lives
                result = fun(*ins.args, **kwargs)
                out, aux = _split_aux(result, has_aux, "grad")
                if holomorphic:
                    _holomorphic_seed(out, "grad")
                else:
                    check_scalar_output(out, "grad")
                more = ins.missing_levels([out])
                if more and not extra:
                    _release(ins.nodes)
                    return _Retry(more)
                node = _node(out)
                seed = np.ones(node.data.shape, node.dtype) if levels_of(out) or holomorphic \
                    else None
                missing = []
                grads = grad_of(node, ins.nodes, seed=seed, op="grad", missing=missing)
            if not getattr(fun, "_derivative", False):      # a derivative may well be constant
                _warn_unused("grad", missing, ins.owners)
            _release(ins.nodes)
            value = out.reshape(()) if isinstance(out, Tensor) and out.ndim else out
            value = _unwrap(value if isinstance(value, Tensor) else node.reshape(()),
                            ins.plain[0] if ins.plain else 0.0)
            [value] = hand_over([value], taken=[x for x in ins.plain if type(x) is np.ndarray])
            per_arg = ins.results(grads, taken=[value])
            g = per_arg[0] if single else per_arg
            return ((value, _plain_aux(aux)), g) if has_aux else (value, g)
        return _attempts(run)
    wrapped._derivative = True     # its output is a derivative of fun's
    return wrapped


def grad(fun, argnums=0, has_aux=False, holomorphic=False):
    """The gradient of a scalar function, as a function (``jax.grad``)."""
    vg = value_and_grad(fun, argnums, has_aux, holomorphic)

    @functools.wraps(fun)
    def wrapped(*args, **kwargs):
        (value_aux, g) = vg(*args, **kwargs)
        if has_aux:
            return g, value_aux[1]
        return g
    wrapped._derivative = True     # its output is a derivative of fun's
    return wrapped


# ----------------------------------------------------------------------- vjp
def vjp(fun, *primals, has_aux=False):
    """Return ``(fun(*primals), pullback)``; ``pullback(cotangent)`` gives one gradient per primal."""
    ins, out_leaves, out_def, nodes, pullback, aux = vjp_parts(fun, primals, has_aux)
    like = ins.plain[0] if ins.plain else 0.0
    out_plain = unflatten(out_def, hand_over(
        [_unwrap(o if isinstance(o, Tensor) else n, like) for o, n in zip(out_leaves, nodes)],
        taken=[x for x in ins.plain if type(x) is np.ndarray]))
    if has_aux:
        return out_plain, pullback, _plain_aux(aux)
    return out_plain, pullback


def vjp_parts(fun, primals, has_aux):
    """vjp's pieces: (inputs, output leaves as the function returned them, their treedef,
    their tape nodes, pullback, aux) — for the Jacobians, which need no output hand-over."""
    nums = tuple(range(len(primals)))

    def run(extra):
        ins = _Leaves(primals, nums, "vjp", extra)
        held = _hold_inputs(ins.plain)          # released with the pullback
        try:
            with saved.scope():
                result = fun(*ins.args)
        except BaseException:
            if held is not None:
                held.release()
            raise
        out, aux = _split_aux(result, has_aux, "vjp")
        out_leaves, out_def = flatten(out)
        more = ins.missing_levels(out_leaves)
        if more and not extra:
            if held is not None:
                held.release()
            _release(ins.nodes)
            return _Retry(more)
        return ins, held, out_leaves, out_def, aux

    got = _attempts(run)
    ins, held, out_leaves, out_def, aux = got
    for t in ins.nodes:
        _pullback_inputs[id(t)] = t
    nodes = [_node(o) for o in out_leaves]
    out_levels = [levels_of(o) for o in out_leaves]

    def pullback(cotangent):
        ct_leaves, ct_def = flatten(cotangent)
        if len(ct_leaves) != len(nodes):
            raise ChainruleError("vjp pullback", expected=f"{len(nodes)} cotangent array(s) "
                                 "matching the output's structure",
                                 actual=f"{len(ct_leaves)}", fix="pass one array per output")
        total, unreached, plain_cts = None, set(range(len(ins.nodes))), []
        for o, node, lv, c in zip(out_leaves, nodes, out_levels, ct_leaves):
            if node.dtype.kind != "c":
                refuse_complex("vjp pullback", "cotangent of a real output", c,
                               "pass a real cotangent (the imaginary part would be dropped)")
            if not isinstance(c, Tensor):
                c = _array(c, dtype=node.dtype)
                plain_cts.append(c)
            if _shape(c) != _shape(o):
                raise ChainruleError("vjp pullback", message="cotangent has the wrong shape",
                                     expected=f"shape {_shape(o)} (the output's)",
                                     actual=describe(c), fix="pass a cotangent shaped like the output")
            seed = to_levels(c, lv) if lv else c
            missing = []
            gs = grad_of(node, ins.nodes, seed=seed, op="vjp", missing=missing, also=(c,))
            unreached.intersection_update(missing)
            total = gs if total is None else [a + b for a, b in zip(total, gs)]
        if total is None:
            total = [np.zeros_like(t.data) for t in ins.nodes]
        if not getattr(fun, "_derivative", False):
            _warn_unused("vjp", unreached if nodes else (), ins.owners)
        return ins.results(total, taken=plain_cts)

    pullback.held = held     # the inputs stay read-only while the pullback can still be called
    return ins, out_leaves, out_def, nodes, pullback, aux


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
    given, plain = [], []
    try:
        args = []
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
                plain.append(x)
                if _shape(v) != _shape(x):
                    raise ChainruleError("jvp", message="tangent shape differs from primal shape",
                                         expected=f"shape {_shape(x)}",
                                         actual=describe(v if hasattr(v, "shape") else np.asarray(v)),
                                         fix="give each primal a tangent of its own shape")
                if _dtype(x).kind != "c":
                    refuse_complex("jvp", "tangent of a real primal", v,
                                   "pass a real tangent, or make the primal complex (x + 0j)")
                lv, u = unwrap(x)
                if not isinstance(v, Tensor):
                    v = _array(v, dtype=_dtype(x))
                    given.append(v)
                if lv:
                    v = to_levels(v, lv)        # the tangent in the primal's tape coordinates
                fw = dict(u._fw) if isinstance(u, Tensor) and u._fw else {}
                fw[level] = v
                base = u if isinstance(u, Tensor) else Tensor(u)
                wrapped.append(wrap(alias(base, fw), lv))
            args.append(unflatten(treedef, wrapped))
        result = fun(*args)
        out, aux = _split_aux(result, has_aux, "jvp")
        out_leaves, out_def = flatten(out)
        pairs = []
        for o in out_leaves:
            lv = levels_of(o)
            node = _node(o)
            t = (node._fw or {}).get(level)
            if t is None:
                t = np.zeros_like(node.data)
            t = t if isinstance(t, Tensor) else Tensor(t)
            pairs.append((wrap(strip_levels(node, level), lv), relayout(t, lv, ()) if lv else t))
    finally:
        state.pop_level(level)
    # unwrap only after the level is closed, so its own tangents no longer count as live
    like = plain[0] if plain else 0.0
    values = hand_over([_unwrap(o, like) for o, _ in pairs] + [_unwrap(t, like) for _, t in pairs],
                       taken=[x for x in plain if type(x) is np.ndarray] + given)
    res = unflatten(out_def, values[:len(pairs)]), unflatten(out_def, values[len(pairs):])
    return res + (_plain_aux(aux),) if has_aux else res


# ------------------------------------------------------------- derived ones
def elementwise_grad(fun, argnums=0):
    """autograd's ``elementwise_grad``: the vjp with a cotangent of ones, i.e. the sum of the
    Jacobian's rows; for an elementwise ``fun`` that is the derivative of each element."""
    @functools.wraps(fun)
    def wrapped(*args, **kwargs):
        single, nums = argnums_tuple(argnums, len(args), "elementwise_grad")

        def partial(*chosen):
            a = list(args)
            for n, v in zip(nums, chosen):
                a[n] = v
            return fun(*a, **kwargs)
        out, pull = vjp(partial, *[args[n] for n in nums])
        ones = tree_map(lambda o: np.ones(_shape(o), _dtype(o)), out)
        g = pull(ones)
        return g[0] if single else g
    return wrapped


def linearize(fun, *primals):
    """``(fun(*primals), f_jvp)`` with ``f_jvp(*tangents) = J·tangents`` (``jax.linearize``).

    The function runs once; each ``f_jvp`` call is the transpose of its recorded pullback (a
    backward pass through the backward pass), linear in the tangents and never re-running
    ``fun``.  ``f_jvp`` may be vmapped over a batch of tangents.
    """
    with quiet_unused():
        out, pull = vjp(fun, *primals)
        zeros = tree_map(lambda o: np.zeros(_shape(o), _dtype(o)), out)
        _, transposed = vjp(pull, zeros)

    def f_jvp(*tangents):
        if len(tangents) != len(primals):
            raise ChainruleError("linearize", expected=f"{len(primals)} tangent(s), one per primal",
                                 actual=f"{len(tangents)}", fix="pass one tangent per primal")
        with quiet_unused():
            return transposed(tuple(tangents))[0]
    return out, f_jvp


_stop = Primitive("stop_gradient", lambda x: x, differentiable=False)


def stop_gradient(x):
    """``x``'s value with a derivative of zero in every mode (``jax.lax.stop_gradient``);
    works on pytrees."""
    return tree_map(lambda v: _stop(v) if isinstance(v, Tensor) else v, x)


defbatch(_stop, batching.batch_elementwise)
