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
"""
from __future__ import annotations

import functools
import threading

import numpy as np

from .backward import grad_of
from .state import enable_grad
from .errors import ChainruleError, ChainruleTypeError
from .primitive import Primitive
from .pytree import flatten, unflatten
from .tensor import Tensor, has_open_level, is_active

_in_fwd = threading.local()      # ids of the custom_vjp functions whose fwd is running here


def _any_active(args):
    return any(is_active(a) for a in args)


def _forward_mode(args):
    return any(isinstance(a, Tensor) and has_open_level(a) for a in args)


class custom_vjp:
    """Give a function your own reverse-mode rule: ``f.defvjp(fwd, bwd)``.

    ``fwd(*args) -> (output, residuals)``; ``bwd(residuals, g) -> tuple`` with one
    gradient (or None) per positional argument.
    """

    def __init__(self, fun):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.fwd = self.bwd = None

    def defvjp(self, fwd, bwd):
        self.fwd, self.bwd = fwd, bwd
        return self

    def __call__(self, *args):
        if self.fwd is None:
            raise ChainruleError(f"custom_vjp {self.fun.__name__}", message="no rule defined",
                                 fix="call f.defvjp(fwd, bwd) before using f")
        running = getattr(_in_fwd, "ids", None)
        if running is None:
            running = _in_fwd.ids = set()
        if not _any_active(args) or id(self) in running:
            # nothing to differentiate, or fwd computing f's value by calling f (the JAX idiom)
            return self.fun(*args)
        if _forward_mode(args):
            raise ChainruleTypeError(
                f"custom_vjp {self.fun.__name__}",
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
        out_data = out.data if isinstance(out, Tensor) else np.asarray(out)
        bwd, name = self.bwd, self.fun.__name__

        def vjp(i, g, ans, *a):
            r = res
            if not isinstance(g, Tensor):     # first-order pass: residuals as plain arrays
                leaves, d = flatten(res)
                r = unflatten(d, [x.data if isinstance(x, Tensor) else x for x in leaves])
            grads = bwd(r, g)
            if not isinstance(grads, tuple) or len(grads) != len(args):
                raise ChainruleError(f"custom_vjp {name}", message="bwd returned the wrong number "
                                     "of gradients", expected=f"a tuple of {len(args)}",
                                     actual=repr(type(grads).__name__),
                                     fix="return one gradient (or None) per positional argument")
            gi = grads[i]
            return np.zeros_like(_data(args[i])) if gi is None else gi

        op = Primitive(name, lambda *a: out_data)
        op.vjp = vjp
        return op(*args)


class custom_jvp:
    """Give a function your own forward-mode rule: ``@f.defjvp`` on ``rule(primals, tangents)``.

    Reverse mode is derived from the rule by transposition (the rule is linear
    in the tangents), so ``grad`` of ``f`` uses your derivative too.
    """

    def __init__(self, fun):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.rule = None

    def defjvp(self, rule):
        self.rule = rule
        return rule

    def _tangent_out(self, args, i, t):
        tangents = tuple(t if j == i else _zeros(a) for j, a in enumerate(args))
        res = self.rule(tuple(args), tangents)
        if not isinstance(res, (tuple, list)) or len(res) != 2:
            raise ChainruleError(f"custom_jvp {self.fun.__name__}", message="the jvp rule must "
                                 "return (primal_out, tangent_out)", actual=type(res).__name__,
                                 fix="return a pair")
        return res[1]

    def __call__(self, *args):
        if self.rule is None:
            raise ChainruleError(f"custom_jvp {self.fun.__name__}", message="no rule defined",
                                 fix="decorate a rule with @f.defjvp")
        if not _any_active(args):
            return self.fun(*args)
        plain = [a.data if isinstance(a, Tensor) else a for a in args]
        out = self.fun(*plain)
        out_data = out.data if isinstance(out, Tensor) else np.asarray(out)
        me = self

        def jvp(i, t, ans, *a):
            return me._tangent_out(a, i, t)

        def vjp(i, g, ans, *a):
            # the tangent map is linear in t: its gradient with respect to t is the vjp
            from .. import numpy as cnp
            with enable_grad():     # we may be inside a backward pass that records nothing
                t = Tensor(np.zeros_like(_data(a[i])), requires_grad=True)
                tan = me._tangent_out(a, i, t)
                return grad_of(cnp.sum(tan * g), [t], create_graph=isinstance(g, Tensor)
                               or _any_active(a), op="custom_jvp")[0]

        op = Primitive(self.fun.__name__, lambda *p: out_data)
        op.jvp = jvp
        op.vjp = vjp
        return op(*args)


def _data(x):
    return x.data if isinstance(x, Tensor) else np.asarray(x)


def _zeros(x):
    return np.zeros_like(_data(x))
