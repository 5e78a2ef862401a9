"""``chainrule grad "EXPR" --at x=1,y=2,z=3``: the value and gradient of an expression."""
from __future__ import annotations

import json

import numpy as np

from ..core.transforms import value_and_grad
from . import expr as E

ORDER = 10


def register(sub):
    p = sub.add_parser("grad", help="value and gradient of an expression at a point",
                       description="Print f and ∂f/∂v for each variable v. Example: "
                                   "chainrule grad \"x**2 + 2*y**2 + 3*z**2\" --at x=1,y=2,z=3")
    add_point_arguments(p, wrt="differentiate only with respect to these (comma-separated); "
                           "default: every variable")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=run)


def add_point_arguments(p, wrt=None):
    """EXPRESSION and --at (and --wrt when given its help): what ``prepare`` reads."""
    p.add_argument("expression", help="e.g. \"x**2 + 2*y**2\" or \"sum(w**2)\" (quote it)")
    p.add_argument("--at", required=True, metavar="VALUES",
                   help="the point: x=1,y=2 or w=[1,2,3]")
    if wrt:
        p.add_argument("--wrt", metavar="NAMES", help=wrt)


def prepare(args):
    """Parse the expression and point; return (tree, values, names to differentiate)."""
    tree = E.parse(args.expression)
    values = E.parse_values(args.at)
    used = E.names(tree)
    missing = [n for n in used if n not in values]
    if missing:
        raise E.ExprError(f"no value given for {', '.join(missing)}; add "
                          + ",".join(f"{n}=..." for n in missing) + " to --at")
    wrt = [w.strip() for w in args.wrt.split(",")] if getattr(args, "wrt", None) else used
    if not wrt:
        raise E.ExprError("the expression has no variables to differentiate; use a name like x "
                          "and give its value with --at x=1")
    for w in wrt:
        if w not in values:
            raise E.ExprError(f"--wrt names {w!r}, which has no value in --at")
    return tree, values, wrt


def gradient(tree, values, wrt):
    """f and its gradient with respect to ``wrt`` at ``values``."""
    def f(*xs):
        env = dict(values)
        env.update(zip(wrt, xs))
        out = E.evaluate(tree, env)
        if np.size(getattr(out, "data", out)) != 1:
            raise E.ExprError("the expression's value is not a scalar (shape "
                              f"{np.shape(getattr(out, 'data', out))}); wrap it, e.g. sum(...)")
        return out
    value, grads = value_and_grad(f, argnums=tuple(range(len(wrt))))(*[values[w] for w in wrt])
    return float(np.asarray(value)), [np.asarray(g, dtype=float) for g in grads]


def fmt(v):
    v = np.asarray(v)
    if v.ndim == 0:
        return f"{float(v):.10g}"
    return np.array2string(v, precision=10, separator=", ", floatmode="maxprec", suppress_small=False)


def run(args):
    tree, values, wrt = prepare(args)
    value, grads = gradient(tree, values, wrt)
    if args.json:
        print(json.dumps({"value": value, "gradient": {w: np.asarray(g).tolist()
                                                        for w, g in zip(wrt, grads)}}))
        return 0
    point = ", ".join(f"{k}={fmt(v)}" for k, v in values.items())
    print(f"f({point}) = {fmt(value)}")
    for w, g in zip(wrt, grads):
        print(f"∂f/∂{w} = {fmt(g)}")
    if all(np.ndim(g) == 0 for g in grads):
        print("gradient = (" + ", ".join(fmt(g) for g in grads) + ")")
    return 0
