"""``chainrule grad "EXPR" --at x=1,y=2,z=3``: the value and gradient of an expression."""
from __future__ import annotations

import json
import sys

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
    from .main import EXPRESSION_COMMANDS
    EXPRESSION_COMMANDS[p.prog.split()[-1]] = p
    p.add_argument("expression", help="e.g. \"x**2 + 2*y**2\" or \"sum(w**2)\" (quote it; "
                   "it may start with '-')")
    p.add_argument("--at", required=True, metavar="VALUES",
                   help="the point: x=1,y=2 or w=[1,2,3]")
    if wrt:
        p.add_argument("--wrt", metavar="NAMES", help=wrt)
    add_anomaly_argument(p)


def add_anomaly_argument(p):
    p.add_argument("--detect-anomaly", action="store_true",
                   help="stop at the first NaN/Inf in a value or gradient and name the "
                        "operation that made it (slower; also CHAINRULE_DETECT_ANOMALY=1)")


def prepare(args):
    """Parse the expression and point; return (tree, values, names to differentiate).

    Names in --at and --wrt are read like the expression's (NFKC, see expr.user_name);
    a note on stderr says when that changed how a name was written.
    """
    tree = E.parse(args.expression)
    values = E.parse_values(args.at)
    used = E.names(tree)
    missing = [n for n in used if n not in values]
    if missing:
        raise E.ExprError(f"no value given for {', '.join(missing)}; add "
                          + ",".join(f"{n}=..." for n in missing) + " to --at")
    wrt = [E.user_name(w) for w in args.wrt.split(",")] if getattr(args, "wrt", None) else used
    if not wrt:
        raise E.ExprError("the expression has no variables to differentiate; use a name like x "
                          "and give its value with --at x=1")
    for w in wrt:
        if w not in values:
            raise E.ExprError(f"--wrt names {w!r}, which has no value in --at")
    written = E.renamed(tree) + [(a.strip(), E.user_name(a)) for a in _at_names(args.at)
                                 if a.strip() != E.user_name(a)]
    if written:
        shown = ", ".join(f"{a} as {b}" for a, b in dict.fromkeys(written))
        print(f"note: read {shown} (names are compared after Unicode NFKC normalisation, "
              "as Python does)", file=sys.stderr)
    return tree, values, wrt


def _at_names(text):
    return [part.partition("=")[0] for part in E._split_top(text or "") if "=" in part]


def gradient(tree, values, wrt, origins=None):
    """f and its gradient with respect to ``wrt`` at ``values``.

    ``origins`` (a list) receives where a non-finite value first appeared; NumPy's
    floating-point warnings are silenced here: the caller reports non-finite results.
    """
    def f(*xs):
        env = dict(values)
        env.update(zip(wrt, xs))
        out = E.evaluate(tree, env, origins)
        if np.size(getattr(out, "data", out)) != 1:
            raise E.ExprError("the expression's value is not a scalar (shape "
                              f"{np.shape(getattr(out, 'data', out))}); wrap it, e.g. sum(...)")
        return out
    with np.errstate(all="ignore"):
        value, grads = value_and_grad(f, argnums=tuple(range(len(wrt))))(
            *[values[w] for w in wrt])
    return float(np.asarray(value)), [np.asarray(g, dtype=float) for g in grads]


def fmt(v):
    v = np.asarray(v)
    if v.ndim == 0:
        return f"{float(v):.10g}"
    return np.array2string(v, precision=10, separator=", ", floatmode="maxprec", suppress_small=False)


def not_finite(value, grads, wrt, values, origins, tree=None):
    """One line saying which results are not finite and where that came from, or None."""
    bad = [f"∂f/∂{w} is {_kind(g)}" for w, g in zip(wrt, grads) if not np.all(np.isfinite(g))]
    if np.isfinite(value) and not bad:
        return None
    point = ", ".join(f"{k}={fmt(v)}" for k, v in values.items())
    parts = []
    if origins:
        parts.append(f"{origins[0][0]} is {_kind(origins[0][1])} at {point}")
    whole = getattr(tree, "chainrule_source", None)
    if not np.isfinite(value) and not (origins and origins[0][0] == whole):
        parts.append(f"f is {_kind(value)}")
    return "; ".join(parts + bad) + ("" if origins else f" at {point}")


def _kind(v):
    v = np.asarray(getattr(v, "data", v), dtype=float)
    bad = v[~np.isfinite(v)]
    if not bad.size:
        return "finite"
    if np.isnan(bad).any():
        return "nan"
    return "inf" if bad.reshape(-1)[0] > 0 else "-inf"


def _json_safe(v):
    """JSON has no inf or nan: write them as the strings "inf", "-inf", "nan"."""
    if isinstance(v, list):
        return [_json_safe(x) for x in v]
    if isinstance(v, float) and not np.isfinite(v):
        return "nan" if np.isnan(v) else ("inf" if v > 0 else "-inf")
    return v


def run(args):
    tree, values, wrt = prepare(args)
    origins = []
    value, grads = gradient(tree, values, wrt, origins)
    problem = not_finite(value, grads, wrt, values, origins, tree)
    if args.json:
        print(json.dumps({"value": _json_safe(value),
                          "gradient": {w: _json_safe(np.asarray(g).tolist())
                                       for w, g in zip(wrt, grads)},
                          "finite": problem is None,
                          **({"note": problem} if problem else {})},
                         allow_nan=False, ensure_ascii=False))
    else:
        point = ", ".join(f"{k}={fmt(v)}" for k, v in values.items())
        print(f"f({point}) = {fmt(value)}")
        for w, g in zip(wrt, grads):
            print(f"∂f/∂{w} = {fmt(g)}")
        if len(grads) > 1 and all(np.ndim(g) == 0 for g in grads):
            print("gradient = (" + ", ".join(fmt(g) for g in grads) + ")")
    if problem:
        print(f"chainrule grad: not finite: {problem}", file=sys.stderr)
        return 1
    return 0
