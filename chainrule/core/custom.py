"""User-supplied derivative rules: ``custom_vjp`` and ``custom_jvp`` (JAX's API).

    @cr.custom_vjp
    def clip_gradient(x):
        return x
    clip_gradient.defvjp(lambda x: (x, None), lambda res, g: (cnp.clip(g, -1, 1),))

    @cr.custom_jvp
    def log1pexp(x):
        return cnp.log1p(cnp.exp(x))
    @log1pexp.defjvp
    def _(primals, tangents):
        (x,), (t,) = primals, tangents
        return log1pexp(x), t * cr.functional.sigmoid(x)

Arguments and outputs may be pytrees.  ``nondiff_argnums`` (as in JAX) names arguments that
are passed through without derivatives (functions, settings, integer sizes): ``bwd`` gets them
first, ``bwd(*nondiff, residuals, g)``, and returns gradients for the other arguments only;
a jvp rule gets them first too, ``rule(*nondiff, primals, tangents)``.

Each output leaf becomes one node whose inputs are the differentiable argument leaves.  Under
``vmap`` the user's functions run on one example's view (batched by the hook) and the rules
translate between that view and the tape (core/batching.py).
"""
from __future__ import annotations

import functools
import numbers
import threading

import numpy as np

from . import batching
from .state import enable_grad
from .batching import core, levels_of, relayout, to_levels, unwrap, wrap
from .errors import ChainruleError, ChainruleTypeError
from .primitive import Primitive, _dtype, _shape
from .pytree import flatten, unflatten
from .tensor import Tensor, has_open_level, is_active

_in_fwd = threading.local()      # ids of the custom functions whose own rule is running here


def _active(x):
    return is_active(core(x))


def _forward_mode(leaves):
    return any(isinstance(core(a), Tensor) and has_open_level(core(a)) for a in leaves)


def _nondiff(argnums, nargs, name):
    nums = (argnums,) if isinstance(argnums, numbers.Integral) else tuple(argnums)
    for a in nums:
        if not -nargs <= a < nargs:
            raise ChainruleError(f"custom {name}", message=f"nondiff_argnums={argnums} is out "
                                 f"of range", expected=f"positions of the {nargs} arguments",
                                 actual=repr(argnums), fix="name existing positional arguments")
    return sorted({a % nargs for a in nums})


class _Call:
    """One call of a custom function: its differentiable leaves and how to rebuild the args."""

    def __init__(self, args, nondiff, name):
        self.args, self.nondiff = args, nondiff
        self.diff = [i for i in range(len(args)) if i not in nondiff]
        self.trees = [flatten(args[i]) for i in self.diff]
        self.leaves = [x for leaves, _ in self.trees for x in leaves]
        self.levels = [levels_of(x) for x in self.leaves]
        self.cores = [core(x) for x in self.leaves]
        self.name = name

    def rebuild(self, leaves):
        """The differentiable arguments as trees, from one value per leaf."""
        out, pos = [], 0
        for leaves_i, d in self.trees:
            out.append(unflatten(d, list(leaves[pos:pos + len(leaves_i)])))
            pos += len(leaves_i)
        return out

    def full_args(self, diff_args):
        a = list(self.args)
        for i, v in zip(self.diff, diff_args):
            a[i] = v
        return a

    def per_example(self, raw):
        """The node's arguments (tape coordinates) as one example's view."""
        return [wrap(r, lv) for r, lv in zip(raw, self.levels)]

    def flat_result(self, trees, what):
        if not isinstance(trees, (tuple, list)) or len(trees) != len(self.diff):
            raise ChainruleError(f"custom_vjp {self.name}", message=f"{what} returned the wrong "
                                 "number of gradients", expected=f"a tuple of {len(self.diff)} "
                                 "(one per differentiable argument)",
                                 actual=repr(type(trees).__name__) if not isinstance(
                                     trees, (tuple, list)) else f"{len(trees)} values",
                                 fix="return one gradient (or None) per argument not in "
                                     "nondiff_argnums")
        flat = []
        for t, (leaves_i, _) in zip(trees, self.trees):
            got = [None] * len(leaves_i) if t is None else flatten(t)[0]
            if len(got) != len(leaves_i):
                raise ChainruleError(f"custom_vjp {self.name}", message=f"{what} returned a "
                                     "gradient whose structure differs from its argument's",
                                     expected=f"{len(leaves_i)} leaves", actual=f"{len(got)}",
                                     fix="return gradients shaped like the arguments")
            flat.extend(got)
        return flat


def _to_tape(g, levels, out_levels, marks):
    """A per-example gradient for an input in its tape coordinates ``levels``: batch levels of
    the output the input does not have are summed over (the input is shared by those
    examples); the batch levels of the cotangent itself (``marks``) stay batched."""
    drop = (set(levels_of(g)) | set(out_levels)) - set(levels) - set(marks)
    return relayout(g, (), tuple(levels), drop=tuple(sorted(drop)))


class OneVisit:
    """A node's input gradients, all computed at the first vjp call of a backward visit
    (``compute(g, *extra)``), handed out one argument at a time, and dropped after the last
    input that needs one: kept longer, gradients built under create_graph would tie the node
    into a reference cycle (and keep the arrays its graph guards read-only)."""

    def __init__(self, compute, last):
        self.compute, self.last = compute, last
        self.key = self.value = None

    def __call__(self, i, g, *extra):
        if self.key is not g:
            self.value = self.compute(g, *extra)
            self.key = g
        value = self.value[i]
        if i >= self.last:
            self.key = self.value = None
        return value


def _last_active(values):
    return max((i for i, v in enumerate(values) if isinstance(v, Tensor) and v.requires_grad),
               default=0)


def _zeros(x):
    return np.zeros(_shape(x), _dtype(x) if _dtype(x).kind in "fc" else np.float64)


def _sizes(call, outs):
    sizes = {}
    for v in list(call.leaves) + list(outs):
        lv, u = unwrap(v)
        for k, level in enumerate(lv):
            sizes[level] = _shape(u)[k]
    return sizes


class custom_vjp:
    """Give a function your own reverse-mode rule: ``f.defvjp(fwd, bwd)``.

    ``fwd(*args) -> (output, residuals)``; ``bwd(*nondiff_args, residuals, g) -> tuple`` with
    one gradient (or None) per differentiable positional argument.
    """

    def __init__(self, fun, nondiff_argnums=()):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.nondiff_argnums = nondiff_argnums
        self.fwd = self.bwd = None

    def defvjp(self, fwd, bwd):
        self.fwd, self.bwd = fwd, bwd
        return self

    def __call__(self, *args):
        name = getattr(self.fun, "__name__", "f")
        if self.fwd is None:
            raise ChainruleError(f"custom_vjp {name}", message="no rule defined",
                                 fix="call f.defvjp(fwd, bwd) before using f")
        running = getattr(_in_fwd, "ids", None)
        if running is None:
            running = _in_fwd.ids = set()
        call = _Call(args, _nondiff(self.nondiff_argnums, len(args), "vjp"), name)
        if not any(_active(x) for x in call.leaves) or id(self) in running:
            # nothing to differentiate, or fwd computing f's value by calling f (the JAX idiom)
            return self.fun(*args)
        if _forward_mode(call.leaves):
            raise ChainruleTypeError(
                f"custom_vjp {name}",
                message="has only a reverse-mode rule, and forward mode (jvp, hvp, hessian, "
                        "jacfwd) would silently differentiate its implementation instead",
                expected="reverse mode: grad, vjp, jacrev (reverse over reverse works too)",
                actual="an argument carrying a forward-mode tangent",
                fix="define the function with chainrule.custom_jvp (its rule serves reverse mode "
                    "too), or use reverse mode, e.g. cr.jacrev(cr.grad(f)) for a Hessian")
        running.add(id(self))
        try:
            out, res = self.fwd(*args)
        finally:
            running.discard(id(self))
        out_leaves, out_def = flatten(out)
        nondiff = [args[i] for i in call.nondiff]
        bwd, sizes = self.bwd, _sizes(call, out_leaves)

        def gradients(g, k):
            """All inputs' gradients for the cotangent ``g`` of output leaf k (tape coords)."""
            out_lv = levels_of(out_leaves[k])
            marks = levels_of(g)
            with batching.active(), batching.known_sizes(sizes):
                gk = relayout(g, out_lv, (), sizes=sizes) if out_lv else g
                cts = [gk if j == k else _zeros(o) for j, o in enumerate(out_leaves)]
                r = res
                if not isinstance(core(g), Tensor):     # first-order pass: residuals as arrays
                    leaves, d = flatten(res)
                    r = unflatten(d, [x.data if type(x) is Tensor else x for x in leaves])
                flat = call.flat_result(bwd(*nondiff, r, unflatten(out_def, cts)), "bwd")
                return [np.zeros(_shape(c), _dtype(c)) if gi is None else
                        _to_tape(gi, lv, out_lv, marks) for gi, lv, c in
                        zip(flat, call.levels, call.cores)]

        results = []
        for k, o in enumerate(out_leaves):
            data = core(o)
            data = data.data if isinstance(data, Tensor) else np.asarray(data)
            op = Primitive(name, lambda *a, _d=data: _d)
            visit = OneVisit(gradients, _last_active(call.cores))
            op.vjp = (lambda k, visit: lambda i, g, ans, *a: visit(i, g, k))(k, visit)
            results.append(wrap(op(*call.cores), levels_of(o)))
        return unflatten(out_def, results)


class custom_jvp:
    """Give a function your own forward-mode rule: ``@f.defjvp`` on
    ``rule(*nondiff_args, primals, tangents) -> (primal_out, tangent_out)``.

    Reverse mode is derived from the rule by transposition (the rule is linear in the
    tangents), so ``grad`` of ``f`` uses your derivative too.
    """

    def __init__(self, fun, nondiff_argnums=()):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.nondiff_argnums = nondiff_argnums
        self.rule = None

    def defjvp(self, rule):
        self.rule = rule
        return rule

    def _tangents_out(self, call, nondiff, raw, tangents):
        """The rule's output tangents (leaves) for one example's primals and tangents."""
        primals = call.rebuild(call.per_example(raw))
        res = self.rule(*nondiff, tuple(primals), tuple(call.rebuild(tangents)))
        if not isinstance(res, (tuple, list)) or len(res) != 2:
            raise ChainruleError(f"custom_jvp {call.name}", message="the jvp rule must "
                                 "return (primal_out, tangent_out)", actual=type(res).__name__,
                                 fix="return a pair")
        return flatten(res[1])[0]

    def __call__(self, *args):
        name = getattr(self.fun, "__name__", "f")
        if self.rule is None:
            raise ChainruleError(f"custom_jvp {name}", message="no rule defined",
                                 fix="decorate a rule with @f.defjvp")
        call = _Call(args, _nondiff(self.nondiff_argnums, len(args), "jvp"), name)
        if not any(_active(x) for x in call.leaves):
            return self.fun(*args)
        plain = [batching.map_core(_detach, x) for x in call.leaves]
        out = self.fun(*call.full_args(call.rebuild(plain)))
        out_leaves, out_def = flatten(out)
        nondiff = [args[i] for i in call.nondiff]
        sizes = _sizes(call, out_leaves)
        me = self

        def jvp(k):
            def rule(i, t, ans, *a):
                with batching.active(), batching.known_sizes(sizes):
                    tans = [relayout(t, lv, (), sizes=sizes) if j == i and lv else t if j == i
                            else _zeros(x) for j, (x, lv) in enumerate(zip(call.leaves, call.levels))]
                    tk = me._tangents_out(call, nondiff, a, tans)[k]
                    out_lv = levels_of(out_leaves[k])
                    return to_levels(tk, out_lv, sizes) if out_lv else tk
            return rule

        def gradients(g, k, a):
            from .transforms import quiet_unused, vjp
            out_lv = levels_of(out_leaves[k])
            marks = levels_of(g)
            # (inside a backward pass that records nothing: this vjp must record its own graph)
            with batching.active(), batching.known_sizes(sizes), quiet_unused(), enable_grad():
                gk = relayout(g, out_lv, (), sizes=sizes) if out_lv else g
                zeros = [_zeros(x) for x in call.leaves]
                _, pull = vjp(lambda *ts: me._tangents_out(call, nondiff, a, ts)[k], *zeros)
                flat = pull(gk)
                return [_to_tape(gi, lv, out_lv, marks) for gi, lv in zip(flat, call.levels)]

        results = []
        for k, o in enumerate(out_leaves):
            data = core(o)
            data = data.data if isinstance(data, Tensor) else np.asarray(data)
            op = Primitive(name, lambda *p, _d=data: _d)
            op.jvp = jvp(k)
            visit = OneVisit(gradients, _last_active(call.cores))
            op.vjp = (lambda k, visit: lambda i, g, ans, *a: visit(i, g, k, a))(k, visit)
            results.append(wrap(op(*call.cores), levels_of(o)))
        return unflatten(out_def, results)


def _detach(u):
    return Tensor(u.data) if isinstance(u, Tensor) else u
